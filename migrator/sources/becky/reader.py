"""Becky! Internet Mail: a data folder of `*.mb` mailboxes, or one mailbox, read-only.

Folder paths (the same rule as Thunderbird's accounts, sources/thunderbird/reader.py): by default
every mailbox's folders are merged into one tree: each mailbox's `!!!!Inbox` is ("Inbox",) with the
inbox role (so all land in INBOX), `!!!!Outbox` (Becky!'s sent mail) ("Sent",) with the sent role,
`!!!!Unsent` ("Drafts",) drafts, `!Trash` ("Trash",) trash, user folders by their names (CP932 on
disk, see layout.py), subfolders under their parents in Folder.lst order. With `account_prefix=True`
every mailbox's folders go under a folder named after the mailbox (Mailbox.ini's name), without
roles, so that mailboxes stay apart. `accounts` picks mailboxes by name or directory name.

Mailboxes that cache an IMAP account are not migrated: they are listed in `warnings` (plan shows
them) and their folders are not read (the mail is on that IMAP server).

Messages (bmf.py): every `*.bmf` of a folder in name order, each message in file order; its bytes
as stored with `..` undone and `X-Becky-Include` lines replaced by their attachment files; flags
from the folder's Folder.idx row, else from X-Becky-Status; the INTERNALDATE from the one policy
(domain/dates.py: Received:, Date:, the .bmf's mtime). The stable id is the folder, the .bmf's name
and the message's byte offset in it (`becky:<mailbox>/<folder>/<file>.bmf:<offset>`): the same on
every open while Becky! has not rewritten the file (a rewritten file gives new ids; the content
fingerprint still finds what was uploaded). Capabilities: a change token per folder (its files'
names, sizes and modification times, and its attachment folders'); no resume from an offset and no
skipping of known messages (a folder is several files, and messages are found by reading them).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from migrator.domain.dates import internaldate
from migrator.domain.errors import SourceError
from migrator.domain.headers import EPOCH_FALLBACK
from migrator.domain.i18n import _
from migrator.domain.records import Folder, MessageRecord
from migrator.sources.base import Capabilities, Estimate, Known, SourceBase
from migrator.sources.becky.bmf import Entry, becky_status, read_index, split_bmf, status_flags
from migrator.sources.becky.layout import (
    ATTACH_DIR,
    SETTINGS_FILE,
    Mailbox,
    detect,
    disk_name,
    find_mailboxes,
    shown,
    walk_folders,
)
from migrator.sources.walk import list_dir, open_regular

BMF_SUFFIX = ".bmf"
INDEX_FILE = "Folder.idx"
# A .bmf untouched this long is at rest: a last message without its `.` line is complete as it is.
QUIET_SECONDS = 60


def _error(folder: Folder, sid: str, locator: str, reason: str, raw: bytes = b"") -> MessageRecord:
    return MessageRecord(folder=folder, stable_id=sid, raw=raw, date=EPOCH_FALLBACK, locator=locator, error=reason)


def _looks_like_header(raw: bytes) -> bool:
    first = raw.split(b"\n", 1)[0]
    name, colon, _ = first.partition(b":")
    return bool(colon) and bool(name.strip()) and all(33 <= c <= 126 for c in name.rstrip(b" \t"))


class BeckySource(SourceBase):
    """A Becky! data folder (every POP mailbox) or one `*.mb` mailbox; see the module docstring."""

    kind = "becky"
    capabilities = Capabilities(change_token=True)

    def __init__(self, path: Path, accounts: list[str] | None = None, account_prefix: bool = False) -> None:
        self.root = Path(path).expanduser()
        if self.root.name.lower() == SETTINGS_FILE and self.root.is_file():
            self.root = self.root.parent  # B2.ini given: the data folder it is in
        if not detect(self.root):
            raise SourceError(_("{path}: not a Becky! data folder or mailbox (no *.mb directory with a "
                                "Mailbox.ini)").format(path=shown(self.root)))
        self.account_prefix = account_prefix
        self._warnings: list[str] = []
        self.all_mailboxes = find_mailboxes(self.root)
        self.mailboxes = self._select(accounts)
        self._dirs: dict[str, tuple[Path, Mailbox] | None] = {}  # folder key -> (directory, mailbox); None: container
        self._folders = self._build()

    @property
    def warnings(self) -> list[str]:
        """Remarks for the user: IMAP-cache mailboxes not migrated, Folder.lst entries with no
        directory, messages still being written, unreadable files."""
        return list(dict.fromkeys(self._warnings))

    def _select(self, wanted: list[str] | None) -> list[Mailbox]:
        chosen = self.all_mailboxes
        if wanted:
            chosen = []
            for name in wanted:
                hits = [m for m in self.all_mailboxes if m.matches(name)]
                if not hits:
                    listing = ", ".join(repr(m.name) for m in self.all_mailboxes) or "none"
                    raise SourceError(_("{path}: no Becky! mailbox named {name}; there are: {listing}").format(
                        path=shown(self.root), name=repr(name), listing=listing),
                        hint=_("Pass --account with a mailbox name (Mailbox.ini) or its .mb directory."))
                chosen += [m for m in hits if m not in chosen]
            order = {id(m): i for i, m in enumerate(self.all_mailboxes)}
            chosen.sort(key=lambda m: order[id(m)])
        for m in chosen:
            if m.imap:
                self._warnings.append(_("Becky! mailbox {name} ({directory}) is the local cache of an IMAP account: "
                                        "not migrated (its mail is on that IMAP server; migrate the server itself "
                                        "if it is to move)").format(name=repr(m.name), directory=m.dir_name))
        return [m for m in chosen if not m.imap]

    def _prefixes(self) -> dict[int, str]:
        """Mailbox -> its top folder's name when mailboxes are kept apart (unique, any case)."""
        out: dict[int, str] = {}
        used: set[str] = set()
        for m in self.mailboxes:
            name = m.name.strip() or m.dir_name
            if name.casefold() in used:
                name = f"{name} ({m.dir_name})"
            n, base = 2, name
            while name.casefold() in used:
                name, n = f"{base} {n}", n + 1
            used.add(name.casefold())
            out[id(m)] = name
        return out

    def _build(self) -> list[Folder]:
        prefixes = self._prefixes() if self.account_prefix else {}
        folders: list[Folder] = []
        for m in self.mailboxes:
            prefix = prefixes.get(id(m))
            if prefix is not None:
                folders.append(Folder(path=(prefix,), origin=shown(m.directory), key=m.dir_name))
                self._dirs[m.dir_name] = None
            for fd in walk_folders(m, self._warnings.append):
                key = "/".join((m.dir_name, *fd.rel))
                if prefix is not None:
                    f = Folder(path=(prefix, *fd.display), origin=shown(fd.directory), key=key)
                else:
                    f = Folder(path=fd.display, origin=shown(fd.directory), key=key, role=fd.role)
                folders.append(f)
                self._dirs[key] = (fd.directory, m)
        return folders

    def folders(self) -> list[Folder]:
        """Every folder of the migrated mailboxes (Source.folders), parents first: merged into one tree
        by default, or under a folder per mailbox with `account_prefix` (see the module docstring)."""
        return list(self._folders)

    def messages(self, folder: Folder, *, resume: int = 0, known: Known | None = None) -> Iterator[MessageRecord]:
        """The folder's messages (Source.messages), every .bmf in name order and each in file order,
        then one failed record per entry that cannot be read (a FIFO, a dangling link: walk.py);
        `resume` and `known` are ignored (see the capabilities)."""
        where = self._dirs.get(folder.key)
        if where is None:
            return  # a mailbox's top folder (account_prefix) holds no mail of its own
        directory, mailbox = where
        try:
            nodes = list_dir(str(directory))
        except OSError as exc:
            yield _error(folder, f"becky:{folder.key}:list", folder.origin,
                         _("cannot list {path}: {reason}").format(path=folder.origin, reason=exc.strerror))
            return
        index = read_index(directory / INDEX_FILE)
        for n in nodes:
            if n.kind == "file" and n.name.lower().endswith(BMF_SUFFIX):
                yield from self._read_file(folder, directory, mailbox, disk_name(n.name), Path(n.path), index)
        for n in nodes:
            if n.kind == "problem":
                yield _error(folder, f"becky:{folder.key}/{disk_name(n.name)}", shown(n.path),
                             f"{shown(n.path)}: {n.reason}")

    def _read_file(self, folder: Folder, directory: Path, mailbox: Mailbox, name: str, path: Path,
                   index: dict[tuple[str, int], int]) -> Iterator[MessageRecord]:
        where = shown(path)
        try:
            fh = open_regular(str(path))
        except OSError as exc:
            yield _error(folder, f"becky:{folder.key}/{name}:open", where,
                         _("cannot open {path}: {reason}").format(path=where, reason=exc.strerror))
            return
        stem = name[: -len(BMF_SUFFIX)].casefold()
        with fh:
            try:
                st = os.fstat(fh.fileno())
                pending: Entry | None = None  # one message held back: the last one may be unfinished
                for entry in split_bmf(fh, lambda inc: self._include(inc, directory, mailbox)):
                    if pending is not None:
                        yield self._record(folder, name, where, pending, index.get((stem, pending.offset)),
                                           st.st_mtime)
                    pending = entry
            except OSError as exc:
                yield _error(folder, f"becky:{folder.key}/{name}:ioerror", where,
                             _("read error in {path}: {reason}").format(path=where, reason=exc))
                return
        if pending is None:
            return
        if not pending.terminated and time.time() - st.st_mtime < QUIET_SECONDS:
            self._warnings.append(_("{path}: the message at byte {offset} was still being written (Becky! is "
                                    "running); it is taken by the next run").format(path=where, offset=pending.offset))
            return
        yield self._record(folder, name, where, pending, index.get((stem, pending.offset)), st.st_mtime)

    def _record(self, folder: Folder, name: str, where: str, entry: Entry, indexed: int | None,
                mtime: float) -> MessageRecord:
        sid = f"becky:{folder.key}/{name}:{entry.offset}"
        locator = f"{where} @ byte {entry.offset}"
        if not _looks_like_header(entry.raw):
            return _error(folder, sid, locator, _("{path}: bytes {start}-{end}: not a message (no header field at "
                                                  "its start)").format(path=where, start=entry.offset, end=entry.end),
                          entry.raw)
        if entry.problems:
            return _error(folder, sid, locator, "; ".join(entry.problems), entry.raw)
        status = indexed if indexed is not None else becky_status(entry.raw)
        date, source = internaldate(entry.raw, mtime=mtime)
        extra = {"offset": str(entry.offset)}
        if not entry.terminated:
            extra["warning"] = _("{path}: the last message has no closing '.' line (taken as it is)").format(
                path=where)
        return MessageRecord(folder=folder, stable_id=sid, raw=entry.raw, date=date, date_source=source,
                             flags=status_flags(status or 0), locator=locator, extra=extra)

    def _include(self, name: str, directory: Path, mailbox: Mailbox) -> tuple[bytes | None, str]:
        """The bytes of attachment file NAME: in `#Attach` beside the .bmf, else in the mailbox's."""
        parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts or ".." in parts or ":" in parts[0]:
            return None, _("X-Becky-Include: {name} is not a file name inside the store: the attachment is not "
                           "read").format(name=repr(name))
        places = [directory / ATTACH_DIR, mailbox.directory / ATTACH_DIR]
        for place in dict.fromkeys(places):
            found = _find(place, parts)
            if found is None:
                continue
            try:
                with open_regular(str(found)) as fh:
                    return fh.read(), ""
            except OSError as exc:
                return None, _("attachment file {path} (X-Becky-Include) cannot be read: {reason}").format(
                    path=shown(found), reason=exc.strerror)
        looked = _(" or ").join(shown(p) for p in dict.fromkeys(places))
        return None, _("attachment file {name} (X-Becky-Include) is missing: not found in {places}").format(
            name=repr(name), places=looked)

    def estimate(self, folder: Folder) -> Estimate | None:
        """A cheap count (Source.estimate): the folder's .bmf sizes and Folder.idx rows (estimates)."""
        from migrator.sources.estimate import becky_estimate

        where = self._dirs.get(folder.key)
        if where is None:  # a mailbox's top folder holds no mail of its own
            return Estimate(0, 0, messages_exact=True, bytes_exact=True)
        return becky_estimate(str(where[0]), len(read_index(where[0] / INDEX_FILE)))

    def token(self, folder: Folder) -> str | None:
        """Cheap change detector (taken before reading): names, sizes and mtimes of the folder's
        files and of the attachment folders its messages read from."""
        where = self._dirs.get(folder.key)
        if where is None:
            return "becky-container"
        directory, mailbox = where
        h = hashlib.sha256()
        for place in (directory, directory / ATTACH_DIR, mailbox.directory / ATTACH_DIR):
            try:
                with os.scandir(place) as it:
                    for e in sorted(it, key=lambda e: e.name):
                        if e.is_file():
                            st = e.stat()
                            h.update(f"{place.name}/{e.name}:{st.st_size}:{st.st_mtime_ns}\n"
                                     .encode("utf-8", "surrogateescape"))
            except FileNotFoundError:
                h.update(f"{place.name}: none\n".encode("utf-8", "surrogateescape"))
            except OSError:
                return None
        return "becky:" + h.hexdigest()[:32]

    def close(self) -> None:
        """Nothing is held open between messages."""
        return None


def _find(directory: Path, parts: list[str]) -> Path | None:
    """The file `parts` (decoded names) below `directory`, matching names as Becky! on Windows does
    (any case; CP932 bytes or Unicode on disk); None when absent."""
    here = directory
    for i, part in enumerate(parts):
        candidate = here / part
        if candidate.exists() if i < len(parts) - 1 else candidate.is_file():
            here = candidate
            continue
        try:
            names = os.listdir(here)
        except OSError:
            return None
        hits = [n for n in names if disk_name(n).casefold() == part.casefold()]
        if not hits:
            return None
        here = here / sorted(hits)[0]
    return here if here.is_file() else None
