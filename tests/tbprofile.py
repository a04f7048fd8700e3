"""Writes realistic Thunderbird profiles for tests, and a manifest of what must arrive where.

`build_profiles(base)` lays out what ~/.thunderbird looks like:

    base/profiles.ini, base/installs.ini           (the install default is the first profile)
    base/Profiles/abcd1234.default-release/        the profile with everything (manifest.profile)
    base/Profiles/efgh5678.other/                  a small second profile (Default=1 in profiles.ini)

The main profile has prefs.js with Local Folders, two POP accounts (one with only an absolute
Windows `directory` pref, as in a profile copied from Windows), a maildir-store POP account, an
IMAP account with an ImapMail/ offline cache and an RSS account; nested .sbd trees, Japanese
folder names (stored verbatim, as Thunderbird does on Linux/macOS/modern Windows), two folders
whose file names are hashes (NS_MsgHashIfNecessary) with the real name in folderCache.json or in
the .msf, every X-Mozilla-Status bit that matters (read, replied, marked, forwarded, expunged),
Status2 labels, X-Mozilla-Keys tags, .msf files, filterlog.html, msgFilterRules.dat, popstate.dat.

The manifest lists every message with the folder it must reach, its exact bytes, flags and date
(the From line's date, as INTERNALDATE). Message bodies are the bytes a reader must yield: the
mbox From line removed and ">From " quoting undone.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.header import Header
from pathlib import Path
from typing import Any

SEEN, ANSWERED, FLAGGED = "\\Seen", "\\Answered", "\\Flagged"
READ, REPLIED, MARKED, EXPUNGED, FORWARDED, PARTIAL = 0x1, 0x2, 0x4, 0x8, 0x1000, 0x400
MAILDIR_STORE = "@mozilla.org/msgstore/maildirstore;1"
PROFILE_DIR = "abcd1234.default-release"
OTHER_DIR = "efgh5678.other"
LOCAL = "Local Folders"
POP_JP = "taro@example.jp"
POP_COM = "work@example.com"
POP_MAILDIR = "mdir@maildir.example"
IMAP = "hanako@example.net"
RSS = "Blog feeds"
Spec = dict[str, Any]  # one message to write: subject, status, status2, keys, body, charset, crlf


@dataclass(frozen=True)
class TbMessage:
    """One message written into the profile."""

    account: str  # the account's pretty name
    folder: tuple[str, ...]  # display path inside the account
    role: str | None  # role of that folder (top-level ones)
    raw: bytes  # what the reader must yield
    flags: frozenset[str]
    date: datetime  # expected INTERNALDATE
    live: bool  # False: expunged (must never be uploaded)
    migrated: bool  # the account is migrated by default


@dataclass
class Manifest:
    base: Path
    profile: Path
    other_profile: Path
    messages: list[TbMessage] = field(default_factory=list)
    folders: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # account → every folder path
    roles: dict[tuple[str, ...], str] = field(default_factory=dict)  # merged path → role
    non_mail_files: list[Path] = field(default_factory=list)

    def expected(self, account_prefix: bool = False) -> dict[tuple[str, ...], list[TbMessage]]:
        """Source folder path → the live messages that must arrive there, for a default run."""
        out: dict[tuple[str, ...], list[TbMessage]] = {}
        for m in self.messages:
            if m.live and m.migrated:
                out.setdefault(self.path_of(m, account_prefix), []).append(m)
        return out

    def path_of(self, m: TbMessage, account_prefix: bool = False) -> tuple[str, ...]:
        if account_prefix and m.account != LOCAL:
            return (m.account,) + m.folder
        return m.folder

    @property
    def expunged(self) -> list[TbMessage]:
        return [m for m in self.messages if not m.live]

    @property
    def not_migrated(self) -> list[TbMessage]:
        return [m for m in self.messages if not m.migrated]


def _moz_headers(status: int, status2: int = 0, keys: str = "") -> bytes:
    return (f"X-Mozilla-Status: {status:04x}\nX-Mozilla-Status2: {status2:08x}\n"
            f"X-Mozilla-Keys: {keys:<80}\n").encode("ascii")


def message(n: int, subject: str, *, body: bytes = b"", status: int | None = 0, status2: int = 0, keys: str = "",
            date: datetime, charset: str = "utf-8", crlf: bool = False, sender: str = "Sato <sato@example.jp>",
            subject_header: bytes | None = None) -> bytes:
    """A message as Thunderbird stores it: X-Mozilla-* first, then the original headers."""
    moz = _moz_headers(status, status2, keys) if status is not None else b""
    header_date = (date - timedelta(minutes=7)).astimezone(timezone(timedelta(hours=9)))
    subj = subject_header if subject_header is not None else subject.encode("utf-8")
    head = (moz + b"From: " + sender.encode() + b"\nTo: taro@example.jp\nSubject: " + subj + b"\n"
            + b"Date: " + header_date.strftime("%a, %d %b %Y %H:%M:%S +0900").encode() + b"\n"
            + f"Message-ID: <tb-{n}@example.jp>\nMIME-Version: 1.0\n".encode()
            + f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: "
              f"{'7bit' if charset.lower() == 'iso-2022-jp' else '8bit'}\n\n".encode())
    raw = head + (body or f"Body of message {n}: {subject}\n".encode())
    return raw.replace(b"\n", b"\r\n") if crlf else raw


def expected_flags(status: int | None, status2: int = 0, keys: str = "") -> frozenset[str]:
    flags: set[str] = set()
    s = status or 0
    for bit, flag in ((READ, SEEN), (REPLIED, ANSWERED), (MARKED, FLAGGED), (FORWARDED, "$Forwarded")):
        if s & bit:
            flags.add(flag)
    label = (status2 >> 25) & 7
    if label:
        flags.add(f"$label{label}")
    flags.update(keys.split())
    return frozenset(flags)


def from_line(date: datetime) -> bytes:
    return b"From - " + date.astimezone(timezone.utc).strftime("%a %b %d %H:%M:%S %Y").encode() + b"\n"


def mbox_escape(raw: bytes) -> bytes:
    """mboxrd quoting, as Thunderbird writes: one more '>' before every (>*)From line."""
    out = []
    for line in raw.splitlines(keepends=True):
        stripped = line.lstrip(b">")
        out.append(b">" + line if stripped.startswith(b"From ") else line)
    return b"".join(out)


def mork(name: str, as_atom: bool = False) -> bytes:
    """A small .msf (Mork) whose dbfolderinfo row records `name` as mailboxName."""
    def esc(text: str) -> str:
        out = []
        for b in text.encode("utf-8"):
            c = chr(b)
            out.append(f"${b:02X}" if b >= 0x80 or c in "$)\\" else c)
        return "".join(out)

    cell = "(^A2^90)" if as_atom else f"(^A2={esc(name)})"
    text = (
        "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n"
        "< <(a=c)> // (f=iso-8859-1)\n"
        "  (B8=Custom1)(80=ns:msg:db:row:scope:msgs:all)(81=subject)(82=sender)\n"
        "  (9D=ns:msg:db:row:scope:dbfolderinfo:all)(9E=ns:msg:db:table:kind:dbfolderinfo)\n"
        "  (A1=numMsgs)(A2=mailboxName)(A3=charSet)>\n\n"
        f"<(90={esc(name)})(91=UTF-8)>\n"
        "{1:^9D {(k^9E:c)(s=9)} [1:^9D(^A1=0)" + cell + "(^A3^91)]}\n"
    )
    return text.encode("latin-1")


class _Writer:
    def __init__(self, profile: Path, manifest: Manifest) -> None:
        self.profile = profile
        self.manifest = manifest
        self.n = 0
        self.clock = datetime(2019, 4, 1, 9, 0, 0, tzinfo=timezone.utc)
        self.folder_cache: dict[str, dict[str, object]] = {}

    def tick(self) -> datetime:
        self.clock += timedelta(days=3, hours=5, minutes=11, seconds=7)
        return self.clock

    def mbox(self, account: str, acct_dir: Path, rel: str, path: tuple[str, ...], role: str | None,
             specs: list[Spec], migrated: bool = True, msf_name: str | None = None,
             flags: int | None = None) -> Path:
        """Write mbox file `rel` (e.g. "Inbox.sbd/Work") with one message per spec."""
        file = acct_dir / rel
        file.parent.mkdir(parents=True, exist_ok=True)
        data = b""
        for spec in specs:
            raw, status, date = self._message(spec)
            data += from_line(date) + mbox_escape(raw) + (b"\r\n" if spec.get("crlf") else b"\n")
            self._record(account, path, role, raw, spec, status, date, migrated)
        file.write_bytes(data)
        if role and migrated:
            self.manifest.roles.setdefault(path, role)
        (acct_dir / (rel + ".msf")).write_bytes(mork(msf_name or path[-1], as_atom=msf_name is not None))
        if flags is not None:
            self.folder_cache[str(acct_dir / (rel + ".msf"))] = {"flags": flags, "totalMsgs": len(specs)}
        self.manifest.folders.setdefault(account, []).append(path)
        return file

    def maildir(self, account: str, acct_dir: Path, rel: str, path: tuple[str, ...], role: str | None,
                specs: list[Spec]) -> Path:
        folder = acct_dir / rel
        (folder / "cur").mkdir(parents=True, exist_ok=True)
        (folder / "tmp").mkdir(exist_ok=True)
        for spec in specs:
            raw, status, date = self._message(spec)
            name = f"{int(date.timestamp())}.M{self.n * 1000}P4242Q{self.n}.host.eml"
            (folder / "cur" / name).write_bytes(raw)
            self._record(account, path, role, raw, spec, status, date, True)
        if role:
            self.manifest.roles.setdefault(path, role)
        (acct_dir / (rel + ".msf")).write_bytes(mork(path[-1]))
        self.manifest.folders.setdefault(account, []).append(path)
        return folder

    def _message(self, spec: Spec) -> tuple[bytes, int | None, datetime]:
        self.n += 1
        date = self.tick()
        status = spec.get("status", READ)
        raw = message(self.n, str(spec.get("subject", f"Message {self.n}")), body=spec.get("body", b""),
                      status=status, status2=int(spec.get("status2", 0)),
                      keys=str(spec.get("keys", "")), date=date, charset=str(spec.get("charset", "utf-8")),
                      crlf=bool(spec.get("crlf", False)), subject_header=spec.get("subject_header"))
        return raw, status, date

    def _record(self, account: str, path: tuple[str, ...], role: str | None, raw: bytes,
                spec: Spec, status: int | None, date: datetime, migrated: bool) -> None:
        live = not ((status or 0) & EXPUNGED)
        flags = expected_flags(status, int(spec.get("status2", 0)), str(spec.get("keys", "")))
        self.manifest.messages.append(TbMessage(account, path, role, raw, flags, date, live, migrated))


def _prefs(profile: Path) -> str:
    win = "C:\\\\Users\\\\taro\\\\AppData\\\\Roaming\\\\Thunderbird\\\\Profiles\\\\" + PROFILE_DIR
    lines = [
        "// Mozilla User Preferences",
        "",
        "// DO NOT EDIT THIS FILE.",
        'user_pref("mail.accountmanager.accounts", "account2,account3,account5,account4,account6,account1");',
        'user_pref("mail.accountmanager.defaultaccount", "account2");',
        'user_pref("mail.accountmanager.localfoldersserver", "server1");',
        'user_pref("mail.serverDefaultStoreContractID", "@mozilla.org/msgstore/berkeleystore;1");',
        'user_pref("mail.rights.version", 1);',
        'user_pref("mailnews.database.global.indexer.enabled", false);',
    ]
    servers = [
        ("1", "none", None, "nobody", LOCAL, '"[ProfD]Mail/Local Folders"', None),
        ("2", "pop3", "pop.example.jp", "taro", POP_JP, '"[ProfD]Mail/pop.example.jp"', None),
        ("3", "pop3", "pop.example.com", "work", POP_COM, None, f'"{win}\\\\Mail\\\\pop.example.com"'),
        ("4", "imap", "imap.example.net", "hanako", IMAP, '"[ProfD]ImapMail/imap.example.net"', None),
        ("5", "pop3", "pop.maildir.example", "mdir", POP_MAILDIR, '"[ProfD]Mail/pop.maildir.example"', None),
        ("6", "rss", "Feeds", "nobody", RSS, '"[ProfD]Mail/Feeds"', None),
    ]
    for n, kind, host, user, name, rel, absolute in servers:
        lines.append(f'user_pref("mail.account.account{n}.server", "server{n}");')
        if n != "1":
            lines.append(f'user_pref("mail.account.account{n}.identities", "id{n}");')
        lines.append(f'user_pref("mail.server.server{n}.type", "{kind}");')
        if host:
            lines.append(f'user_pref("mail.server.server{n}.hostname", "{host}");')
        lines.append(f'user_pref("mail.server.server{n}.userName", "{user}");')
        lines.append(f'user_pref("mail.server.server{n}.name", "{name}");')
        if rel:
            lines.append(f'user_pref("mail.server.server{n}.directory-rel", {rel});')
        if absolute:
            lines.append(f'user_pref("mail.server.server{n}.directory", {absolute});')
        contract = MAILDIR_STORE if n == "5" else "@mozilla.org/msgstore/berkeleystore;1"
        lines.append(f'user_pref("mail.server.server{n}.storeContractID", "{contract}");')
    lines.append('user_pref("mail.server.server4.login_at_startup", true);')
    return "\n".join(lines) + "\n"


def build_profiles(base: Path, broken: bool = False) -> Manifest:
    """Write the profiles under `base` (created) and return the manifest of the main profile.

    broken=True adds an mbox with garbage before its first separator in Local Folders ("Broken"):
    its readable message is in the manifest; the garbage must be reported as an error.
    """
    profile = base / "Profiles" / PROFILE_DIR
    other = base / "Profiles" / OTHER_DIR
    man = Manifest(base=base, profile=profile, other_profile=other)
    base.mkdir(parents=True, exist_ok=True)
    (base / "profiles.ini").write_text(
        "[Install4F96D1932A9F858E]\nDefault=Profiles/abcd1234.default-release\nLocked=1\n\n"
        "[Profile1]\nName=other\nIsRelative=1\nPath=Profiles/efgh5678.other\nDefault=1\n\n"
        "[Profile0]\nName=default-release\nIsRelative=1\nPath=Profiles/abcd1234.default-release\n\n"
        "[General]\nStartWithLastProfile=1\nVersion=2\n", encoding="utf-8")
    (base / "installs.ini").write_text("[4F96D1932A9F858E]\nDefault=Profiles/abcd1234.default-release\nLocked=1\n",
                                       encoding="utf-8")
    profile.mkdir(parents=True)
    (profile / "prefs.js").write_text(_prefs(profile), encoding="utf-8")
    (profile / "compatibility.ini").write_text(
        "[Compatibility]\nLastVersion=128.5.0_20241119/20241119\nLastOSABI=Linux_x86_64-gcc3\n", encoding="utf-8")
    (profile / "times.json").write_text('{"created": 1554109200000}', encoding="utf-8")
    w = _Writer(profile, man)
    _local_folders(w, profile / "Mail" / LOCAL, broken)
    _pop_accounts(w, profile)
    _maildir_account(w, profile / "Mail" / "pop.maildir.example")
    _imap_and_feeds(w, profile)
    (profile / "folderCache.json").write_text(json.dumps(w.folder_cache, ensure_ascii=False), encoding="utf-8")
    _other_profile(other)
    return man


def _local_folders(w: _Writer, d: Path, broken: bool) -> None:
    a = LOCAL
    w.mbox(a, d, "Inbox", ("Inbox",), "inbox", [
        {"subject": "Welcome", "status": READ},
        {"subject": "Deleted, not compacted", "status": READ | EXPUNGED},
        {"subject": "Important, replied", "status": READ | REPLIED | MARKED, "keys": "$label1"},
        {"subject": "Quoting", "status": 0,
         "body": b"From the desk of Sato\n>From an earlier mail\n>>From deeper\nFrom - Tue Mar 10 12:00:00 2020\n"},
    ], flags=0x1004)
    w.mbox(a, d, "Inbox.sbd/Work", ("Inbox", "Work"), None, [
        {"subject": "Tagged", "status": READ, "keys": "$label1 work"},
        {"subject": "Old label", "status": READ | FORWARDED, "status2": 0x02000000},
    ])
    w.mbox(a, d, "Inbox.sbd/Work.sbd/Deep", ("Inbox", "Work", "Deep"), None, [{"subject": "Deep down"}])
    w.mbox(a, d, "Sent", ("Sent",), "sent", [{"subject": "I sent this", "status": READ}], flags=0x204)
    w.mbox(a, d, "Drafts", ("Drafts",), "drafts", [{"subject": "Unfinished", "status": READ}], flags=0x404)
    w.mbox(a, d, "Templates", ("Templates",), "templates", [{"subject": "Template", "status": READ}],
           flags=0x400004)
    w.mbox(a, d, "Trash", ("Trash",), "trash", [
        {"subject": "Thrown away", "status": READ},
        {"subject": "Emptied from trash", "status": READ | EXPUNGED},
    ], flags=0x104)
    w.mbox(a, d, "Junk", ("Junk",), "junk", [{"subject": "Spam", "status": 0, "keys": "junk"}],
           flags=0x40000004)
    w.mbox(a, d, "Archives", ("Archives",), "archive", [], flags=0x4004)
    w.mbox(a, d, "Archives.sbd/2023", ("Archives", "2023"), None, [{"subject": "Archived 2023"}])
    w.mbox(a, d, "Archives.sbd/2024", ("Archives", "2024"), None, [{"subject": "Archived 2024"}])
    w.mbox(a, d, "Unsent Messages", ("Unsent Messages",), "outbox", [], flags=0x804)
    # 取引先 exists only as a container (no mbox file of its own), Ａ社 (full-width A) inside.
    w.mbox(a, d, "取引先.sbd/Ａ社", ("取引先", "Ａ社"), None, [
        {"subject": "見積書", "charset": "ISO-2022-JP",
         "subject_header": Header("見積書", "iso-2022-jp").encode().encode("ascii"),
         "body": "お世話になっております。\n見積書を送ります。\n".encode("iso-2022-jp")},
        {"subject": "請求書の件", "body": "請求書を添付します。\n".encode()},
    ])
    # Hashed file names: the real name in folderCache.json, or only in the .msf (Mork).
    hashed1 = "Re" + f"{zlib.crc32('Re: 見積'.encode()):08x}"
    # (the .msf holds the hashed name, as Thunderbird's maildir store does; folderCache.json the real one)
    w.mbox(a, d, hashed1, ("Re: 見積",), None, [{"subject": "In a hashed folder"}], msf_name=hashed1)
    w.folder_cache[str(d / (hashed1 + ".msf"))] = {"flags": 0x4, "folderName": "Re: 見積"}
    hashed2 = f"{zlib.crc32('請求書|2024'.encode()):08x}"
    w.mbox(a, d, hashed2, ("請求書|2024",), None, [{"subject": "Name only in the msf"}], msf_name="請求書|2024")
    if broken:
        good = message(999, "After the garbage", status=READ, date=datetime(2020, 3, 10, 12, tzinfo=timezone.utc))
        (d / "Broken").write_bytes(b"this is not\nan mbox header\n\n" + from_line(
            datetime(2020, 3, 10, 12, tzinfo=timezone.utc)) + good + b"\n")
        (d / "Broken.msf").write_bytes(mork("Broken"))
        w.manifest.messages.append(TbMessage(a, ("Broken",), None, good, frozenset({SEEN}),
                                             datetime(2020, 3, 10, 12, tzinfo=timezone.utc), True, True))
    for name, data in (("filterlog.html", b"<html><body></body></html>"),
                       ("msgFilterRules.dat", b'version="9"\nlogging="no"\n')):
        (d / name).write_bytes(data)
        w.manifest.non_mail_files.append(d / name)


def _pop_accounts(w: _Writer, profile: Path) -> None:
    jp = profile / "Mail" / "pop.example.jp"
    w.mbox(POP_JP, jp, "Inbox", ("Inbox",), "inbox", [
        {"subject": "Windows line ends", "status": READ, "crlf": True},
        {"subject": "Forwarded", "status": READ | FORWARDED},
        {"subject": "Never opened", "status": None},
        {"subject": "Expunged in POP inbox", "status": EXPUNGED},
        {"subject": "Partial download", "status": READ | PARTIAL},
    ], flags=0x1004)
    w.mbox(POP_JP, jp, "Sent", ("Sent",), "sent", [{"subject": "Reply sent from POP", "status": READ}])
    w.mbox(POP_JP, jp, "Trash", ("Trash",), "trash", [])
    com = profile / "Mail" / "pop.example.com"
    w.mbox(POP_COM, com, "Inbox", ("Inbox",), "inbox", [
        {"subject": "Work inbox", "status": READ | REPLIED},
        {"subject": "Unread work", "status": 0},
    ])
    w.mbox(POP_COM, com, "Drafts", ("Drafts",), "drafts", [{"subject": "Work draft", "status": READ}])
    w.mbox(POP_COM, com, "Junk", ("Junk",), "junk", [{"subject": "Work spam", "status": READ, "keys": "junk"}])
    for d in (jp, com):
        for name, data in (("popstate.dat", b"# POP3 State File\n*pop.example 1 user\n"),
                           ("msgFilterRules.dat", b'version="9"\nlogging="yes"\n'),
                           ("filterlog.html", b"<html></html>")):
            (d / name).write_bytes(data)
            w.manifest.non_mail_files.append(d / name)


def _maildir_account(w: _Writer, d: Path) -> None:
    w.maildir(POP_MAILDIR, d, "Inbox", ("Inbox",), "inbox", [
        {"subject": "Maildir read+flagged", "status": READ | MARKED},
        {"subject": "Maildir expunged", "status": READ | EXPUNGED},
        {"subject": "Maildir tagged", "status": 0, "keys": "$label2"},
    ])
    (d / "Inbox" / "tmp" / "1700000000.M1P1Q1.host.eml").write_bytes(b"Subject: half writ")  # never read
    w.maildir(POP_MAILDIR, d, "Sent", ("Sent",), "sent", [{"subject": "Maildir sent", "status": READ}])
    w.maildir(POP_MAILDIR, d, "Inbox.sbd/Sub", ("Inbox", "Sub"), None, [{"subject": "Maildir child"}])


def _imap_and_feeds(w: _Writer, profile: Path) -> None:
    imap = profile / "ImapMail" / "imap.example.net"
    w.mbox(IMAP, imap, "INBOX", ("Inbox",), "inbox", [{"subject": "Still on the IMAP server"}], migrated=False)
    w.mbox(IMAP, imap, "&MMYwuTDI-", ("テスト",), None, [{"subject": "IMAP test folder"}], migrated=False)
    feeds = profile / "Mail" / "Feeds"
    w.mbox(RSS, feeds, "Blog", ("Blog",), None, [{"subject": "A feed item"}], migrated=False)
    (feeds / "feeds.json").write_text("[]", encoding="utf-8")


def _other_profile(other: Path) -> None:
    d = other / "Mail" / LOCAL
    d.mkdir(parents=True)
    (other / "prefs.js").write_text(
        'user_pref("mail.accountmanager.accounts", "account1");\n'
        'user_pref("mail.account.account1.server", "server1");\n'
        'user_pref("mail.server.server1.type", "none");\n'
        'user_pref("mail.server.server1.name", "Local Folders");\n'
        'user_pref("mail.server.server1.directory-rel", "[ProfD]Mail/Local Folders");\n', encoding="utf-8")
    date = datetime(2018, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    (d / "Inbox").write_bytes(from_line(date) + message(500, "Other profile", status=READ, date=date) + b"\n")
    (d / "Inbox.msf").write_bytes(mork("Inbox"))


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int] | str]:
    """Every path under root → (content, size, mtime_ns) for files, "dir:<mtime_ns>" for directories."""
    out: dict[str, tuple[bytes, int, int] | str] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        key = p.relative_to(root).as_posix()
        out[key] = f"dir:{st.st_mtime_ns}" if p.is_dir() else (p.read_bytes(), st.st_size, st.st_mtime_ns)
    return out


def make_profile(base: Path) -> Manifest:
    """The name the source conformance suite (tests/contract) looks for."""
    return build_profiles(base)
