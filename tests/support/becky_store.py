"""Becky! Internet Mail data folders built for tests (no public sample store exists).

`build_store(root, cp932_names=True)` writes a data folder with two POP mailboxes and one IMAP-cache
mailbox, and returns a `Manifest` of what a migration must give: every message's bytes as the server
must hold them (dot-stuffing undone, attachment includes expanded), its flags and INTERNALDATE, and
the folder it belongs to with mailboxes merged or kept apart. Expectations are written here from the
format rules (../shared/reference/store-formats.md, issue 19 item 1), never from the reader.

What it holds: CP932 folder and attachment names on disk (bytes, as a store unzipped on Linux keeps
them) or as Unicode (`cp932_names=False`); Folder.lst order and nesting (取引先/Ａ社); a dot-stuffed
line and a lone-dot terminator; `X-Becky-Include` lines whose file is in the folder's `#Attach`, in
the mailbox's, and missing; a Folder.idx whose rows win over X-Becky-Status, and messages with no
row (X-Becky-Status decides); a mailbox without Folder.lst; an IMAP-cache mailbox.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

SEEN, ANSWERED, FORWARDED = "\\Seen", "\\Answered", "$Forwarded"


@dataclass
class BMsg:
    """One message of the built store."""

    mailbox: str  # the mailbox's name (Mailbox.ini)
    folder: tuple[str, ...]  # its folder's display path below the mailbox ("Inbox",), ("取引先", "Ａ社")
    raw: bytes  # what the server must hold (CRLF)
    flags: frozenset[str]
    date: datetime  # the INTERNALDATE (UTC)
    stored: bytes = b""  # as written in the .bmf (dot-stuffed, include lines)
    error: str | None = None  # a part of the reason it fails with; None when it uploads


@dataclass
class Manifest:
    """What was built and what a migration of it must give."""

    root: Path
    messages: list[BMsg] = field(default_factory=list)
    imap_cache: list[bytes] = field(default_factory=list)  # messages of the IMAP-cache mailbox: never uploaded
    roles: dict[str, str] = field(default_factory=lambda: {"Inbox": "inbox", "Sent": "sent", "Drafts": "drafts",
                                                           "Trash": "trash"})

    def uploaded(self) -> list[BMsg]:
        """The messages that must reach the server."""
        return [m for m in self.messages if m.error is None]

    def failed(self) -> list[BMsg]:
        """The messages that must fail (and be quarantined)."""
        return [m for m in self.messages if m.error is not None]

    def target(self, m: BMsg, delim: str = "/", apart: bool = False) -> str:
        """The server folder `m` lands in: merged (roles to INBOX / special-use folders) or apart
        (under a folder named after its mailbox, names kept)."""
        if apart:
            return delim.join((m.mailbox, *m.folder))
        head = m.folder[0]
        role = self.roles.get(head)
        top = "INBOX" if role == "inbox" else head
        return delim.join((top, *m.folder[1:]))


def crlf(text: str, encoding: str = "utf-8") -> bytes:
    """`text` with CRLF line ends, encoded."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode(encoding)


def stuff(raw: bytes) -> bytes:
    """A message as a .bmf stores it: a line that begins with `.` gets one more (RFC 5321 4.5.2)."""
    return b"".join(b"." + line if line.startswith(b".") else line for line in raw.splitlines(keepends=True))


def _name(root: Path, *parts: str, cp932: bool) -> Path:
    """A path whose names below `root` are CP932 bytes (cp932) or Unicode."""
    if not cp932:
        return root.joinpath(*parts)
    return Path(os.fsdecode(os.fsencode(root) + b"".join(b"/" + p.encode("cp932") for p in parts)))


def _mkdir(path: Path) -> None:
    os.makedirs(path, exist_ok=True)


def _msg(subject: str, n: int, *, received: str | None, date: str, body: str, status: str | None,
         extra: str = "") -> bytes:
    lines = []
    if received:
        lines.append(f"Received: from mx.example.jp by pop.example.jp; {received}")
    lines += [f"From: sender{n}@example.jp", "To: becky@example.jp", f"Subject: {subject}", f"Date: {date}",
              f"Message-ID: <becky-{n}@example.jp>", "MIME-Version: 1.0"]
    if extra:
        lines.append(extra)
    else:
        lines.append("Content-Type: text/plain; charset=us-ascii")
    if status is not None:
        lines.append(f"X-Becky-Status: {status},000000,3,386d85bd,4d4d87b5,1b8673f4,ffffffff")
    return crlf("\n".join(lines) + "\n\n" + body)


def _utc(text: str) -> datetime:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(text).astimezone(timezone.utc)


def _write_bmf(path: Path, stored: list[bytes]) -> list[int]:
    """Write a .bmf of already-stuffed messages, each followed by a `.` line; their byte offsets."""
    offsets, data = [], b""
    for s in stored:
        offsets.append(len(data))
        data += s + b".\r\n"
    path.write_bytes(data)
    return offsets


def _write_index(path: Path, stem: str, rows: list[tuple[int, int]]) -> None:
    """A Folder.idx: a header line, then per message its fields separated by 0x01 (offset in hex,
    ?, .bmf name, subject, from, to, Message-ID, references, three times, size, status...)."""
    lines = [b"Becky! index 2.0"]
    for offset, status in rows:
        fields = [b"%x" % offset, b"5", stem.encode(), "件名".encode("cp932"), b"sender@example.jp",
                  b"becky@example.jp", b"<x@example.jp>", b"", b"3eb11b7a", b"3eb11b54", b"3eb19ca8", b"787",
                  b"%06x" % status, b"0", b"3", b"0", b"iso-2022-jp", b""]
        lines.append(b"\x01".join(fields))
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")


def _mailbox_ini(path: Path, name: str, extra: str = "") -> None:
    path.write_bytes(crlf(f"[Account]\nName={name}\nMailAddress=becky@example.jp\n{extra}", "cp932"))


ATTACHMENT = crlf("Content-Type: application/octet-stream; name=\"mitsumori.bin\"\n"
                  "Content-Transfer-Encoding: base64\n\nAAECAwQFBgcICQ==\n")
ATTACHMENT2 = crlf("Content-Type: text/plain; charset=us-ascii; name=\"memo.txt\"\n\nfolder-level attachment\n")


def _multipart(subject: str, n: int, include: str, *, received: str, status: str | None) -> tuple[bytes, bytes]:
    """(stored, expected): a multipart message whose attachment body is an X-Becky-Include line."""
    head = _msg(subject, n, received=received, date=received, body="", status=status,
                extra='Content-Type: multipart/mixed; boundary="b1"')
    before = crlf("--b1\nContent-Type: text/plain; charset=us-ascii\n\nsee attached\n.hidden dot line\n--b1\n")
    line = b"X-Becky-Include: " + include.encode("cp932") + b"\r\n"
    after = crlf("--b1--\n")
    return stuff(head + before) + line + stuff(after), head + before + b"%s" + after


def build_store(root: Path, cp932_names: bool = True) -> Manifest:
    """Write a Becky! data folder at `root` (see the module docstring); its Manifest."""
    man = Manifest(root)
    _mkdir(root)
    (root / "B2.ini").write_bytes(b"[Settings]\r\n")
    (root / "Folder.lst").write_bytes(b"4cbbef16.mb\r\n5a000001.mb\r\n6b000002.mb\r\n")

    # -- mailbox 1: 仕事, with Folder.lst, every Becky! folder, nested CP932 folders, includes
    mb = root / "4cbbef16.mb"
    _mkdir(mb)
    _mailbox_ini(mb / "Mailbox.ini", "仕事")
    (mb / "Folder.lst").write_bytes(crlf("!!!!Inbox\n!!!!Outbox\n!!!!Unsent\n!Trash\n取引先\n", "cp932"))
    for d in ("!!!!Inbox", "!!!!Outbox", "!!!!Unsent", "!Trash"):
        _mkdir(mb / d)
    _mkdir(_name(mb, "#Attach", cp932=cp932_names))
    _name(mb, "#Attach", "見積.bin", cp932=cp932_names).write_bytes(ATTACHMENT)

    r1, r2, r3 = ("Tue, 02 Jan 2024 10:00:00 +0900", "Wed, 03 Jan 2024 11:30:00 +0900",
                  "Thu, 04 Jan 2024 08:15:00 +0900")
    m1 = _msg("indexed: read and replied", 1, received=r1, date="Tue, 02 Jan 2024 09:59:00 +0900",
              body="first\n", status="0")  # Folder.idx says read+replied: the row wins
    m2 = _msg("dot stuffed", 2, received=r2, date="Wed, 03 Jan 2024 11:29:00 +0900",
              body="line one\n.leading dot\n..two dots\n.\nafter a lone dot line\n", status="00000003")
    m3_stored, m3_shape = _multipart("with attachment", 3, "見積.bin", received=r3, status="1")
    m3 = m3_shape.replace(b"%s", ATTACHMENT)
    inbox = mb / "!!!!Inbox"
    offsets = _write_bmf(inbox / "3eb70644.bmf", [stuff(m1), stuff(m2), m3_stored])
    _write_index(inbox / "Folder.idx", "3eb70644", [(offsets[0], 0x5), (offsets[2], 0x0)])
    man.messages += [
        BMsg("仕事", ("Inbox",), m1, frozenset({SEEN, ANSWERED}), _utc(r1)),
        BMsg("仕事", ("Inbox",), m2, frozenset({SEEN, FORWARDED}), _utc(r2)),  # no row: X-Becky-Status 3
        BMsg("仕事", ("Inbox",), m3, frozenset(), _utc(r3)),  # row status 0 wins over X-Becky-Status 1
    ]
    sent = _msg("sent by becky", 4, received=None, date="Fri, 05 Jan 2024 17:00:00 +0900", body="sent\n",
                status="1")
    _write_bmf(mb / "!!!!Outbox" / "3eb80000.bmf", [stuff(sent)])
    draft = _msg("not sent yet", 5, received=None, date="Sat, 06 Jan 2024 12:00:00 +0900", body="draft\n",
                 status=None)
    _write_bmf(mb / "!!!!Unsent" / "3eb80001.bmf", [stuff(draft)])
    trash = _msg("thrown away", 6, received="Sun, 07 Jan 2024 07:00:00 +0900",
                 date="Sun, 07 Jan 2024 06:59:00 +0900", body="trash\n", status="5")
    _write_bmf(mb / "!Trash" / "3eb80002.bmf", [stuff(trash)])
    man.messages += [
        BMsg("仕事", ("Sent",), sent, frozenset({SEEN}), _utc("Fri, 05 Jan 2024 17:00:00 +0900")),
        BMsg("仕事", ("Drafts",), draft, frozenset(), _utc("Sat, 06 Jan 2024 12:00:00 +0900")),
        BMsg("仕事", ("Trash",), trash, frozenset({SEEN, ANSWERED}), _utc("Sun, 07 Jan 2024 07:00:00 +0900")),
    ]

    client = _name(mb, "取引先", cp932=cp932_names)
    _mkdir(client)
    (client / "Folder.lst").write_bytes(crlf("Ａ社\nＢ社\n", "cp932"))  # listed, not in name order
    for sub in ("Ｂ社", "Ａ社"):
        _mkdir(_name(client, sub, cp932=cp932_names))
    _mkdir(_name(client, "#Attach", cp932=cp932_names))
    _name(client, "#Attach", "メモ.txt", cp932=cp932_names).write_bytes(ATTACHMENT2)
    r7 = "Mon, 08 Jan 2024 09:00:00 +0900"
    m7_stored, m7_shape = _multipart("folder attachment", 7, "メモ.txt", received=r7, status="1")
    _write_bmf(client / "3eb90000.bmf", [m7_stored])
    man.messages.append(BMsg("仕事", ("取引先",), m7_shape.replace(b"%s", ATTACHMENT2), frozenset({SEEN}),
                             _utc(r7)))
    r8 = "Tue, 09 Jan 2024 09:00:00 +0900"
    m8_stored, m8_shape = _multipart("attachment lost", 8, "なくした.pdf", received=r8, status="1")
    r9 = "Wed, 10 Jan 2024 09:00:00 +0900"
    m9 = _msg("Ａ社 kept", 9, received=r9, date=r9, body="fine\n", status="1")
    _write_bmf(_name(client, "Ａ社", cp932=cp932_names) / "3eba0000.bmf", [m8_stored, stuff(m9)])
    man.messages += [
        BMsg("仕事", ("取引先", "Ａ社"), m8_stored.replace(b"\r\n..hidden", b"\r\n.hidden"), frozenset(), _utc(r8),
             error="なくした.pdf"),
        BMsg("仕事", ("取引先", "Ａ社"), m9, frozenset({SEEN}), _utc(r9)),
    ]
    r10 = "Thu, 11 Jan 2024 09:00:00 +0900"
    m10 = _msg("Ｂ社 one", 10, received=r10, date=r10, body="b\n", status="0")
    _write_bmf(_name(client, "Ｂ社", cp932=cp932_names) / "3ebb0000.bmf", [stuff(m10)])
    man.messages.append(BMsg("仕事", ("取引先", "Ｂ社"), m10, frozenset(), _utc(r10)))

    # -- mailbox 2: 個人, no Folder.lst (only an inbox), one message
    mb2 = root / "5a000001.mb"
    _mkdir(mb2 / "!!!!Inbox")
    _mailbox_ini(mb2 / "Mailbox.ini", "個人")
    r11 = "Fri, 12 Jan 2024 21:00:00 +0900"
    m11 = _msg("personal", 11, received=r11, date=r11, body="hi\n", status="1")
    _write_bmf(mb2 / "!!!!Inbox" / "3ec00000.bmf", [stuff(m11)])
    man.messages.append(BMsg("個人", ("Inbox",), m11, frozenset({SEEN}), _utc(r11)))

    # -- mailbox 3: the local cache of an IMAP account: never migrated
    mb3 = root / "6b000002.mb"
    _mkdir(mb3 / "!!!!Inbox")
    _mailbox_ini(mb3 / "Mailbox.ini", "IMAPアカウント", "IMAP4Server=imap.example.jp\n")
    cached = _msg("cached from imap", 12, received=r11, date=r11, body="cache\n", status="1")
    _write_bmf(mb3 / "!!!!Inbox" / "3ec10000.bmf", [stuff(cached)])
    man.imap_cache.append(cached)
    for m in man.messages:
        m.stored = m.stored or stuff(m.raw)
    return man
