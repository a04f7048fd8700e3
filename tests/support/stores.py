"""Builders of the stores the new readers read (tests and examples): a Windows Live Mail tree with
Japanese folder names and a 0-byte placeholder, a plain folder of .eml files, an Apple Mail V10
tree (nested mailboxes, plist flags, date-received, a partial message), an Outlook Express folder
of .dbx files with a stand-in for undbx. Each returns what a reader must find, so tests compare
the server with the definition, not with the project's code."""

from __future__ import annotations

import os
import plistlib
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tests.support.corpus import iso2022jp_message, msg, sjis_message

SEEN_ONLY = frozenset({"\\Seen"})
# The modification time the .eml files get (a copy keeps it, or not: the date policy prefers headers).
EML_MTIME = 1_500_000_000  # 2017-07-14T02:40:00Z


@dataclass
class Expected:
    """What a built store must give: target folder (the server's name, '/'-delimited) -> messages
    as (raw bytes as uploaded before CRLF, flags, INTERNALDATE UTC); and the skips/failures."""

    folders: dict[str, list[tuple[bytes, frozenset[str], datetime]]] = field(default_factory=dict)
    skipped: int = 0
    failed: int = 0

    @property
    def uploaded(self) -> int:
        """How many messages go up."""
        return sum(len(v) for v in self.folders.values())


def _eml(path: Path, raw: bytes, mtime: int = EML_MTIME) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    os.utime(path, (mtime, mtime))


def _header_date(raw: bytes) -> datetime:
    from email.utils import parsedate_to_datetime

    for line in raw.replace(b"\r\n", b"\n").split(b"\n"):
        if line.lower().startswith(b"date:"):
            return parsedate_to_datetime(line[5:].decode().strip()).astimezone(timezone.utc)
        if not line:
            break
    return datetime.fromtimestamp(EML_MTIME, timezone.utc)


def write_wlm(root: Path) -> Expected:
    """A Windows Live Mail 2012 store: the ESE database and its logs at the top, one POP account
    folder (an .oeaccount file, Japanese folder names, a nested folder, a 0-byte placeholder) and
    Storage Folders with English names."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("Mail.MSMessageStore", "Mail.MSMessageStore.jfm", "edb.chk", "edb.log", "edb00001.log"):
        (root / name).write_bytes(b"\x00" * 64)
    acct = root / "pop.example.jp"
    acct.mkdir()
    (acct / "account{6B1C2D3E-0000-4A5B-9C8D-1234567890AB}.oeaccount").write_bytes(b"<?xml version='1.0'?><MessageAccount/>")
    inbox1, inbox2 = iso2022jp_message(11), msg("受信テスト", "本文\n", n=12)
    no_headers_date = msg("日付なし", "x\n", date=None, n=13)
    _eml(acct / "受信トレイ" / "00000001.eml", inbox1)
    _eml(acct / "受信トレイ" / "00000002.eml", b"")  # the placeholder of a message never downloaded
    _eml(acct / "受信トレイ" / "00000003.eml", inbox2)
    _eml(acct / "受信トレイ" / "00000004.eml", no_headers_date)
    sent = sjis_message(14)
    _eml(acct / "送信済みアイテム" / "00000005.eml", sent)
    draft = msg("下書きです", "draft\n", n=15)
    _eml(acct / "下書き" / "00000006.eml", draft)
    trash = msg("削除した", "gone\n", n=16)
    _eml(acct / "削除済みアイテム" / "00000007.eml", trash)
    junk = msg("迷惑", "spam\n", n=17)
    _eml(acct / "迷惑メール" / "00000008.eml", junk)
    nested = msg("Ａ社の件", "見積もり\n", n=18)
    _eml(acct / "取引先" / "Ａ社" / "00000009.eml", nested)
    local = root / "Storage Folders"
    local_sent = msg("Sent from Storage Folders", "local\n", n=19)
    _eml(local / "Sent Items" / "0000000A.eml", local_sent)
    (local / "Sent Items" / "notes.txt").write_text("not mail\n")
    when = datetime.fromtimestamp(EML_MTIME, timezone.utc)
    return Expected(folders={
        "INBOX": [(inbox1, SEEN_ONLY, _header_date(inbox1)), (inbox2, SEEN_ONLY, _header_date(inbox2)),
                  (no_headers_date, SEEN_ONLY, when)],
        # folders are read in path order: Storage Folders' "Sent Items" before "送信済みアイテム"
        "Sent": [(local_sent, SEEN_ONLY, _header_date(local_sent)), (sent, SEEN_ONLY, _header_date(sent))],
        "Drafts": [(draft, SEEN_ONLY, _header_date(draft))],
        "Trash": [(trash, SEEN_ONLY, _header_date(trash))],
        "Junk": [(junk, SEEN_ONLY, _header_date(junk))],
        "取引先/Ａ社": [(nested, SEEN_ONLY, _header_date(nested))],
    }, skipped=1)


def write_eml_folder(root: Path) -> Expected:
    """A plain folder of saved .eml files (its own messages go to a folder named after it) with a
    nested folder, CRLF and LF messages, and one whose first line is an mbox `From ` line."""
    a, b = msg("Saved one", "hello\n", n=21), sjis_message(22)
    c = msg("Nested", "deep\n", n=23)
    _eml(root / "a.eml", a)
    _eml(root / "b.EML", b)
    _eml(root / "2019" / "c.eml", c)
    d = msg("Envelope first", "x\n", n=24)
    _eml(root / "2019" / "d.eml", b"From someone@example.jp Mon Jan  1 10:00:00 2024\n" + d)
    return Expected(folders={
        root.name: [(a, SEEN_ONLY, _header_date(a)), (b, SEEN_ONLY, _header_date(b))],
        "2019": [(c, SEEN_ONLY, _header_date(c)), (d, SEEN_ONLY, _header_date(d))],
    })


# Apple Mail plist `flags` bits (sources/applemail/emlx.py).
READ, DELETED, ANSWERED, FLAGGED, DRAFT, FORWARDED = 1, 2, 4, 16, 64, 256


def emlx_bytes(raw: bytes, flags: int = 0, received: float | None = None) -> bytes:
    """An .emlx file: the byte count line, the message, the XML property list."""
    plist: dict[str, object] = {"flags": flags, "remote-id": "1"}
    if received is not None:
        plist["date-received"] = received
    return b"%d\n" % len(raw) + raw + plistlib.dumps(plist, fmt=plistlib.FMT_XML)


def write_applemail(mail: Path) -> Expected:
    """`~/Library/Mail` with a V10 store: an account with INBOX (flags, date-received, a partial
    message with its attachment apart), Sent Messages, Deleted Messages (one marked deleted),
    and On My Mac mailboxes `Work` with `Work/Projects` nested; MailData; an older V2."""
    v10 = mail / "V10"
    (v10 / "MailData").mkdir(parents=True)
    (v10 / "MailData" / "Envelope Index").write_bytes(b"SQLite format 3\x00")
    acct = v10 / "0A1B2C3D-1111-2222-3333-444455556666"
    box_uuid = "9F8E7D6C-AAAA-BBBB-CCCC-DDDDEEEEFFFF"

    def put(box: Path, name: str, data: bytes, fan: str = "Data/1") -> None:
        path = box / box_uuid / fan / "Messages" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (EML_MTIME, EML_MTIME))

    received1 = 1_700_000_000  # 2023-11-14T22:13:20Z
    in1, in2, in3 = msg("Apple one", "hi\n", n=31), iso2022jp_message(32), msg("Apple three", "x\n", date=None, n=33)
    inbox = acct / "INBOX.mbox"
    put(inbox, "101.emlx", emlx_bytes(in1, READ | ANSWERED, received1))
    put(inbox, "102.emlx", emlx_bytes(in2, FLAGGED | FORWARDED, received1 + 60), fan="Data/0/1")
    put(inbox, "103.emlx", emlx_bytes(in3, 0))  # no date-received: the policy's next candidates
    (inbox / "Info.plist").write_bytes(plistlib.dumps({"DisplayName": "INBOX"}))
    partial = (b"From: a@example.com\nSubject: with attachment\nDate: Mon, 01 Jan 2024 10:00:00 +0900\n"
               b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\n"
               b"Content-Type: text/plain\n\nsee attached\n--B\nContent-Type: application/pdf; name=\"a.pdf\"\n"
               b"Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"a.pdf\"\n"
               b"X-Apple-Content-Length: 12\n\n\n--B--\n")
    put(inbox, "104.partial.emlx", emlx_bytes(partial, READ, received1 + 120))
    att = inbox / box_uuid / "Data/1/Attachments/104/2/a.pdf"
    att.parent.mkdir(parents=True)
    att.write_bytes(b"%PDF-1.4 abc")
    sent = msg("Apple sent", "sent\n", n=34)
    put(acct / "Sent Messages.mbox", "201.emlx", emlx_bytes(sent, READ, received1 + 180))
    kept, gone = msg("Apple trash kept", "t\n", n=35), msg("Apple deleted", "d\n", n=36)
    put(acct / "Deleted Messages.mbox", "301.emlx", emlx_bytes(kept, READ, received1 + 240))
    put(acct / "Deleted Messages.mbox", "302.emlx", emlx_bytes(gone, READ | DELETED, received1 + 300))
    work = v10 / "Mailboxes" / "Work.mbox"
    w1 = msg("Work item", "w\n", n=37)
    put(work, "401.emlx", emlx_bytes(w1, READ | FLAGGED | DRAFT, received1 + 360))
    p1 = sjis_message(38)
    put(work / "Projects.mbox", "501.emlx", emlx_bytes(p1, READ, received1 + 420))
    old = mail / "V2" / "POP-old@example.jp" / "INBOX.mbox" / "Messages"
    old.mkdir(parents=True)
    (old / "1.emlx").write_bytes(emlx_bytes(msg("V2 message", "old\n", n=39), READ, received1))

    def at(t: float) -> datetime:
        return datetime.fromtimestamp(t, timezone.utc)

    return Expected(folders={
        "INBOX": [(in1, frozenset({"\\Seen", "\\Answered"}), at(received1)),
                  (in2, frozenset({"\\Flagged", "$Forwarded"}), at(received1 + 60)),
                  (in3, frozenset(), at(EML_MTIME))],
        "Sent": [(sent, SEEN_ONLY, at(received1 + 180))],
        "Trash": [(kept, SEEN_ONLY, at(received1 + 240))],
        "Work": [(w1, frozenset({"\\Seen", "\\Flagged", "\\Draft"}), at(received1 + 360))],
        "Work/Projects": [(p1, SEEN_ONLY, at(received1 + 420))],
    }, skipped=1, failed=1)


DBX_MAGIC = b"\xcf\xad\x12\xfe"

# A stand-in for undbx (no .dbx writer exists, and no sample .dbx with a licence fit for this
# repository was found): for each `<Name>.dbx` it writes `<out>/<Name>/*.eml` from the messages
# the test put in the .dbx file after the signature, separated by a NUL line, as undbx would.
FAKE_UNDBX = r'''#!/usr/bin/env python3
import os, sys
src, out = sys.argv[-2], sys.argv[-1]
files = [src] if src.lower().endswith(".dbx") else [os.path.join(src, n) for n in sorted(os.listdir(src)) if n.lower().endswith(".dbx")]
for path in files:
    data = open(path, "rb").read()
    if data[:4] != b"\xcf\xad\x12\xfe":
        sys.stderr.write("DBX file %s does not contain messages\n" % os.path.basename(path)); continue
    name = os.path.basename(path)[:-4]
    os.makedirs(os.path.join(out, name), exist_ok=True)
    msgs = [m for m in data[4:].split(b"\n\x00\n") if m]
    print("Extracting %d messages from %s to %s/%s:" % (len(msgs), os.path.basename(path), out, name))
    for i, m in enumerate(msgs):
        with open(os.path.join(out, name, "msg_%02d.eml" % i), "wb") as fh:
            fh.write(m)
    print("%d messages saved, 0 skipped, 0 errors, 0 files moved" % len(msgs))
'''


def write_fake_undbx(bindir: Path) -> Path:
    """The stand-in undbx (see FAKE_UNDBX) as an executable `undbx` in `bindir`."""
    bindir.mkdir(parents=True, exist_ok=True)
    tool = bindir / "undbx"
    tool.write_text(FAKE_UNDBX)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return tool


def write_dbx_store(root: Path) -> Expected:
    """An Outlook Express store folder: 受信トレイ.dbx, Sent Items.dbx and Folders.dbx (no mail),
    in the stand-in's format (see FAKE_UNDBX)."""
    root.mkdir(parents=True, exist_ok=True)
    a, b, c = iso2022jp_message(41), msg("OE inbox", "oe\n", n=42), msg("OE sent", "s\n", n=43)
    (root / "受信トレイ.dbx").write_bytes(DBX_MAGIC + a + b"\n\x00\n" + b)
    (root / "Sent Items.dbx").write_bytes(DBX_MAGIC + c)
    (root / "Folders.dbx").write_bytes(DBX_MAGIC + b"tree")
    return Expected(folders={"INBOX": [(a, SEEN_ONLY, _header_date(a)), (b, SEEN_ONLY, _header_date(b))],
                             "Sent": [(c, SEEN_ONLY, _header_date(c))]})
