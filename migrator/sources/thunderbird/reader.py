"""Thunderbird profiles: every POP account and Local Folders, mbox or maildir store, read-only.

Thunderbird may be running. Nothing in the profile is ever written, locked or touched; an mbox
is read only up to the size it had when it was opened, and a last message that was still being
appended is left for the next run. Message state comes from the X-Mozilla-Status/-Status2/-Keys
headers (the .msf summaries are Mork files we do not parse, except to find a hashed folder's
display name). Messages Thunderbird marked expunged (deleted, folder not compacted yet) are
yielded with a skip reason and never uploaded. The bytes are uploaded as stored, X-Mozilla-*
headers included.

Folder paths: every account's folders are merged into one tree by default (each Inbox becomes
("Inbox",), role inbox). With `account_prefix=True`, Local Folders stay at the top and every
other account's folders go under a folder named after the account, without roles (so they keep
their names: "taro@example.jp/Sent" is not merged into the server's Sent folder).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from migrator.domain.dates import FILE_NAME, FROM_LINE, internaldate, timestamp_date
from migrator.domain.errors import SourceError
from migrator.domain.headers import EPOCH_FALLBACK, header_value
from migrator.domain.i18n import N_, _
from migrator.domain.records import Folder, MessageRecord
from migrator.sources.base import Capabilities, Estimate, Known, SourceBase
from migrator.sources.mbox.reader import (
    from_line_time,
    is_blank,
    is_from_line,
    is_separator,
    status_flags,
    tail_hash,
    unquote_from,
)
from migrator.sources.thunderbird.folders import _Walker
from migrator.sources.thunderbird.profile import (
    AccountInfo,
    pick_profile,
    profile_notes,
    read_accounts,
)
from migrator.sources.tree import unreadable_record
from migrator.sources.walk import list_message_files, open_regular

SKIP_EXPUNGED = N_("deleted in Thunderbird (not yet compacted)")
SKIP_IMAP_DELETED = "marked deleted on the IMAP server (not yet expunged)"
SKIP_EMPTY = N_("empty entry in the mbox (a separator line with no message)")

MOZ_PARTIAL = 0x0400
MOZ2_IMAP_DELETED = 0x00200000
MOZ2_MDN_SENT = 0x00800000
MOZ2_LABELS = 0x0E000000

# Separators: mbox.is_separator, the one rule for every mbox (Thunderbird's `From - date` included).
_NAME_TIME = re.compile(r"^(\d{9,11})\.")
_READ_CHUNK = 1 << 20  # longest piece of a line read at once
# An mbox untouched this long is at rest: its last message is complete even without a final blank line.
QUIET_SECONDS = 60


def detect(path: Path) -> bool:
    """A Thunderbird profile directory, a directory holding profiles.ini, or profiles.ini itself."""
    if path.is_file():
        return path.name.lower() == "profiles.ini"
    return path.is_dir() and (
        (path / "prefs.js").is_file() or (path / "profiles.ini").is_file()
        or (path / "Mail" / "Local Folders").is_dir()
    )


def resolve_profile(path: Path) -> Path:
    """The profile directory `path` designates (a profile, profiles.ini or the directory holding it)."""
    if not path.exists():
        raise SourceError(_("{path}: no such file or directory").format(path=path))
    if path.is_file():
        if path.name.lower() != "profiles.ini":
            raise SourceError(_("{path}: not a Thunderbird profile (give the profile directory or "
                                "profiles.ini)").format(
                path=path))
        return pick_profile(path)
    if (path / "prefs.js").is_file() or (path / "Mail").is_dir() or (path / "ImapMail").is_dir():
        return path
    if (path / "profiles.ini").is_file():
        return pick_profile(path / "profiles.ini")
    raise SourceError(_("{path}: not a Thunderbird profile (no prefs.js, no Mail/ directory)").format(path=path))


# ---------------------------------------------------------------- reading messages


@dataclass
class _ReadLog:
    """What reading left behind: remarks for the user, and where each mbox read ended cleanly."""

    warnings: list[str] = field(default_factory=list)
    ends: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Chunk:
    offset: int
    from_line: bytes | None  # None: bytes before the first separator (not a message)
    raw: bytes
    end: int


def _scan_mbox(fh: IO[bytes], start: int, limit: int) -> Iterator[_Chunk]:
    """Split [start, limit) of an mbox into entries. Never reads past `limit`."""
    fh.seek(start)
    pos = start
    at_line_start = prev_blank = True
    cur_off = start
    cur_from: bytes | None = None
    lines: list[bytes] = []
    while pos < limit:
        line = fh.readline(min(limit - pos, _READ_CHUNK))
        if not line:
            break
        stripped = line.rstrip(b"\r\n")
        is_sep = (
            at_line_start and line.endswith(b"\n") and line.startswith(b"From ")
            and is_separator(stripped, _peek_line(fh, limit), prev_blank)
        )
        if is_sep:
            if cur_from is not None or lines:
                yield _Chunk(cur_off, cur_from, _finish(lines), pos)
            cur_off, cur_from, lines = pos, stripped, []
        else:
            lines.append(unquote_from(line) if at_line_start and cur_from is not None else line)
        prev_blank = at_line_start and is_blank(line)
        at_line_start = line.endswith(b"\n")
        pos += len(line)
    if cur_from is not None or lines:
        yield _Chunk(cur_off, cur_from, _finish(lines), pos)


def _peek_line(fh: IO[bytes], limit: int) -> bytes | None:
    """The next line (its first 4 KiB at most) without moving on; None at `limit` or the end."""
    here = fh.tell()
    line = fh.readline(min(limit - here, 4096)) if here < limit else b""
    fh.seek(here)
    return line or None


def _finish(lines: list[bytes]) -> bytes:
    if lines and is_blank(lines[-1]):
        lines = lines[:-1]
    return b"".join(lines)


def _tail_complete(fh: IO[bytes], size: int) -> bool:
    """Whether the last entry of the file, as seen at open (`size` bytes), was complete.

    The file grew since: only if what follows is the next separator. It did not: if the entry ends
    with the blank line Thunderbird writes after every message, or the file has been left alone for
    a while (a file at rest that merely lacks the final blank line).
    """
    try:
        st = os.fstat(fh.fileno())
        if st.st_size > size:
            fh.seek(size)
            return fh.read(7).startswith((b"From ", b"\nFrom ", b"\r\nFrom "))
        fh.seek(max(0, size - 4))
        if fh.read(4).endswith((b"\n\n", b"\r\n\r\n")):
            return True
        return time.time() - st.st_mtime > QUIET_SECONDS
    except OSError:
        return True


def mozilla_state(raw: bytes) -> tuple[frozenset[str], str | None, dict[str, str]]:
    """(IMAP flags, skip reason, extra) from X-Mozilla-Status, -Status2 and -Keys."""
    base, deleted = status_flags(raw)
    flags = set(base)
    extra: dict[str, str] = {}
    skip = SKIP_EXPUNGED if deleted else None
    status2 = _hex(header_value(raw, "X-Mozilla-Status2"), 8)
    if status2 & MOZ2_IMAP_DELETED and skip is None:
        skip = SKIP_IMAP_DELETED
    label = (status2 & MOZ2_LABELS) >> 25
    if 1 <= label <= 5:
        flags.add(f"$label{label}")
    if status2 & MOZ2_MDN_SENT:
        flags.add("$MDNSent")
    if _hex(header_value(raw, "X-Mozilla-Status"), 4) & MOZ_PARTIAL:
        extra["warning"] = "only the first part was downloaded from the POP server (Thunderbird 'partial')"
    return frozenset(flags), skip, extra


def _hex(value: str | None, digits: int) -> int:
    try:
        return int(value.strip()[:digits], 16) if value else 0
    except ValueError:
        return 0


def _error(folder: Folder, sid: str, locator: str, message: str) -> MessageRecord:
    return MessageRecord(folder=folder, stable_id=sid, raw=b"", date=EPOCH_FALLBACK, locator=locator,
                         error=message)


def read_mbox(folder: Folder, path: Path, log: _ReadLog, start: int = 0) -> Iterator[MessageRecord]:
    """The messages of one Thunderbird mbox, as it was when opened; a half-written last one is left."""
    try:
        fh = open_regular(str(path))
    except OSError as exc:
        yield _error(folder, f"tb:{folder.key}:open", str(path), f"cannot open {path}: {exc.strerror}")
        return
    with fh:
        try:
            size = os.fstat(fh.fileno()).st_size
            start = start if 0 <= start <= size else 0
            pending: _Chunk | None = None
            for chunk in _scan_mbox(fh, start, size):
                if chunk.from_line is None and not chunk.raw.strip():
                    continue  # blank lines before the first separator
                if pending is not None:
                    yield _mbox_record(folder, path, pending)
                pending = chunk
            end = size
            if pending is not None:
                if pending.from_line is None or _tail_complete(fh, size):
                    yield _mbox_record(folder, path, pending)
                else:
                    end = pending.offset
                    log.warnings.append(_("{path}: the message at byte {offset} was still being written "
                                          "(Thunderbird is running); it is taken by the next run").format(
                        path=path, offset=pending.offset))
            log.ends[folder.key] = end
        except OSError as exc:
            yield _error(folder, f"tb:{folder.key}:ioerror", str(path), f"read error in {path}: {exc}")


def _mbox_record(folder: Folder, path: Path, chunk: _Chunk) -> MessageRecord:
    sid = f"tb:{folder.key}:{chunk.offset}"
    locator = f"{path} @ byte {chunk.offset}"
    if chunk.from_line is None:
        return _error(folder, sid, locator,
                      f"{path}: bytes {chunk.offset}-{chunk.end} are not a message (no 'From ' separator "
                      "line before them); the rest of the file was read")
    if not chunk.raw.strip():
        return MessageRecord(folder=folder, stable_id=sid, raw=chunk.raw, date=EPOCH_FALLBACK, locator=locator,
                             skip_reason=SKIP_EMPTY, extra={"offset": str(chunk.offset)})
    flags, skip, extra = mozilla_state(chunk.raw)
    date, source = internaldate(chunk.raw, store_times=((FROM_LINE, from_line_time(chunk.from_line)),))
    return MessageRecord(
        folder=folder, stable_id=sid, raw=chunk.raw, date=date, date_source=source,
        flags=flags, locator=locator, skip_reason=skip, extra={"offset": str(chunk.offset), **extra},
    )


def read_maildir(folder: Folder, path: Path) -> Iterator[MessageRecord]:
    """Thunderbird's maildir store: one file per message in cur/ (tmp/ holds unfinished writes)."""
    files: list[tuple[str, Path]] = []
    for sub in ("cur", "new"):
        try:
            regular, problems = list_message_files(str(path / sub))
        except FileNotFoundError:
            continue
        except OSError as exc:
            yield _error(folder, f"tb:{folder.key}:{sub}", str(path / sub),
                         f"cannot list {path / sub}: {exc.strerror}")
            continue
        files += [(n.name, Path(n.path)) for n in regular]
        for n in sorted(problems, key=lambda n: n.name):
            yield _error(folder, f"tb:{folder.key}:{n.name}", n.path, n.reason or "cannot be read")
    for name, file in sorted(files):
        sid = f"tb:{folder.key}:{name}"
        try:
            with open_regular(str(file)) as fh:
                raw = fh.read()
                mtime = os.fstat(fh.fileno()).st_mtime
        except FileNotFoundError:
            continue  # moved or deleted by Thunderbird since the listing: no longer in this folder
        except OSError as exc:
            yield _error(folder, sid, str(file), f"cannot read {file}: {exc.strerror}")
            continue
        from_date = None
        first, sep, rest = raw.partition(b"\n")
        if sep and first.startswith(b"From ") and is_from_line(first.rstrip(b"\r")):
            from_date, raw = from_line_time(first.rstrip(b"\r")), rest
        m = _NAME_TIME.match(name)  # "<seconds>.M<µs>P<pid>Q<n>.<host>.eml": when Thunderbird stored it
        name_date = timestamp_date(int(m.group(1))) if m else None
        date, source = internaldate(raw, store_times=((FROM_LINE, from_date), (FILE_NAME, name_date)), mtime=mtime)
        flags, skip, extra = mozilla_state(raw)
        yield MessageRecord(folder=folder, stable_id=sid, raw=raw, date=date, date_source=source, flags=flags,
                            locator=str(file), skip_reason=skip, extra=extra)


# ---------------------------------------------------------------- the source


class ThunderbirdSource(SourceBase):
    """A Thunderbird profile: the POP accounts and Local Folders (or the accounts named).

    mbox folders resume from an offset (what Thunderbird appended); none skips known messages."""

    kind = "thunderbird"
    capabilities = Capabilities(change_token=True, resume_offset=True)

    def __init__(self, path: Path, accounts: list[str] | None = None, account_prefix: bool = False) -> None:
        self.root = resolve_profile(Path(path).expanduser())
        self.account_prefix = account_prefix
        self._log = _ReadLog(warnings=profile_notes(self.root))
        self.all_accounts, notes = read_accounts(self.root)
        self._log.warnings.extend(notes)
        self.accounts = self._select(accounts)
        self._kinds: dict[str, str] = {}
        self._reasons: dict[str, str] = {}  # why an "unreadable" entry cannot be read
        self._folders = self._build()

    @property
    def warnings(self) -> list[str]:
        """Remarks for the user: newer Thunderbird, prefs.js unusable, a message still being written…"""
        return self._log.warnings

    def _select(self, wanted: list[str] | None) -> list[AccountInfo]:
        if not wanted:
            chosen = [a for a in self.all_accounts if a.migrated_by_default]
            if not chosen:
                listing = "; ".join(f"{a.name} ({a.type}): {a.reason}" for a in self.all_accounts) or "none"
                raise SourceError(_("{path}: no POP account or Local Folders to migrate (accounts: {listing})").format(
                    path=self.root, listing=listing),
                                  hint=_("Name an account with --account NAME to migrate it anyway."))
            return chosen
        chosen = []
        for name in wanted:
            hits = [a for a in self.all_accounts if a.matches(name)]
            if not hits:
                listing = ", ".join(f"{a.name!r} ({a.type})" for a in self.all_accounts) or "none"
                raise SourceError(_("{path}: no account named {name!r}; the profile has: {listing}").format(
                    path=self.root, name=name, listing=listing),
                                  hint=_("Pass --account with an account name, host, user@host or directory name."))
            chosen += [a for a in hits if a not in chosen]
        for a in chosen:
            if a.directory is None or not a.directory.is_dir():
                self._log.warnings.append(_("account {name!r}: {reason}").format(name=a.name, reason=a.reason))
        order = {id(a): i for i, a in enumerate(self.all_accounts)}
        return sorted(chosen, key=lambda a: order[id(a)])

    def _account_rel(self, a: AccountInfo) -> str:
        assert a.directory is not None
        try:
            return a.directory.relative_to(self.root).as_posix()
        except ValueError:
            return a.directory.as_posix()

    def _prefixes(self) -> dict[int, str]:
        """Account → top folder name when accounts are kept apart (Local Folders get none)."""
        out: dict[int, str] = {}
        used: set[str] = set()
        for a in self.accounts:
            if a.is_local_folders:
                continue
            name = a.name.strip() or a.key
            if name.casefold() in used:
                name = f"{name} ({a.host or a.key})"
            n, base = 2, name
            while name.casefold() in used:
                name, n = f"{base} {n}", n + 1
            used.add(name.casefold())
            out[id(a)] = name
        return out

    def _build(self) -> list[Folder]:
        walker = _Walker(self.root, self._log.warnings.append)
        prefixes = self._prefixes() if self.account_prefix else {}
        folders: list[Folder] = []
        seen: set[str] = set()
        for a in self.accounts:
            if a.directory is None or not a.directory.is_dir() or os.path.realpath(a.directory) in seen:
                continue  # missing, or the same directory as an account already read
            seen.add(os.path.realpath(a.directory))
            acct = self._account_rel(a)
            prefix = prefixes.get(id(a))
            if prefix is not None:
                folders.append(Folder(path=(prefix,), origin=str(a.directory), key=acct))
                self._kinds[acct] = "container"
            for e in walker.walk(a):
                key = f"{acct}/{e.rel}"
                if prefix is not None:
                    f = Folder(path=(prefix,) + e.path, origin=str(e.origin), key=key, role=None)
                else:
                    f = Folder(path=e.path, origin=str(e.origin), key=key, role=e.role)
                folders.append(f)
                self._kinds[key] = e.kind
                if e.reason:
                    self._reasons[key] = e.reason
        return folders

    def folders(self) -> list[Folder]:
        """Every folder of the migrated accounts (Source.folders), parents first: merged into one
        tree by default, or under a folder per account with `account_prefix` (see the module)."""
        return list(self._folders)

    def messages(self, folder: Folder, *, resume: int = 0, known: Known | None = None) -> Iterator[MessageRecord]:
        """The folder's messages (Source.messages); `resume` is a byte offset into an mbox folder
        from resume_offset; `known` is ignored (capabilities.skip_known is False)."""
        kind = self._kinds.get(folder.key)
        if kind == "unreadable":
            yield unreadable_record(folder, self._reasons.get(folder.key, "cannot be read"))
        elif kind == "mbox":
            yield from read_mbox(folder, Path(folder.origin), self._log, resume)
        elif kind == "maildir":
            yield from read_maildir(folder, Path(folder.origin))

    def estimate(self, folder: Folder) -> Estimate | None:
        """A cheap count (Source.estimate): an mbox file's size and sampled separators, a maildir
        folder's listing (its bytes not exact: a leading `From ` line is taken off), nothing in a
        container, one record for an entry that cannot be read."""
        from migrator.sources.estimate import maildir_estimate, mbox_estimate

        kind = self._kinds.get(folder.key)
        if kind == "mbox":
            return mbox_estimate(folder.origin)
        if kind == "maildir":
            return maildir_estimate(folder.origin, raw_is_file=False)
        if kind == "unreadable":
            return Estimate(1, 0, messages_exact=True, bytes_exact=True)
        return Estimate(0, 0, messages_exact=True, bytes_exact=True)

    def token(self, folder: Folder) -> str | None:
        """Cheap change detector (taken before reading): mbox size+mtime; maildir files' sizes+mtimes."""
        kind = self._kinds.get(folder.key)
        origin = Path(folder.origin)
        try:
            if kind == "mbox":
                st = origin.stat()
                return f"tb-mbox:{st.st_size}:{st.st_mtime_ns}"
            if kind == "maildir":
                # Thunderbird rewrites X-Mozilla-Status inside the files: the directory mtime is not enough.
                h = hashlib.sha256()
                for sub in ("cur", "new"):
                    if not (origin / sub).is_dir():
                        continue
                    with os.scandir(origin / sub) as it:
                        for e in sorted(it, key=lambda e: e.name):
                            st = e.stat()
                            h.update(f"{sub}/{e.name}:{st.st_size}:{st.st_mtime_ns}\n".encode("utf-8", "replace"))
                return "tb-maildir:" + h.hexdigest()[:32]
        except OSError:
            return None
        return "tb-container" if kind == "container" else None

    def resume_info(self, folder: Folder) -> dict[str, object] | None:
        """Where the last read of an mbox ended cleanly, to read only what Thunderbird appended since."""
        end = self._log.ends.get(folder.key)
        if end is None:
            return None
        return {"end": end, "tail": tail_hash(Path(folder.origin), end)}

    def resume_offset(self, folder: Folder, info: dict[str, object]) -> int | None:
        """The offset to continue from when the mbox only grew since `info`; None otherwise."""
        if self._kinds.get(folder.key) != "mbox":
            return None
        path = Path(folder.origin)
        try:
            end = int(info["end"])  # type: ignore[call-overload]
            size = path.stat().st_size
        except (KeyError, TypeError, ValueError, OSError):
            return None
        if end <= 0 or size <= end or tail_hash(path, end) != info.get("tail"):
            return None
        try:
            with path.open("rb") as fh:
                fh.seek(end)
                head = fh.readline(4096).rstrip(b"\r\n")
        except OSError:
            return None
        return end if head.startswith(b"From ") and is_from_line(head) else None

    def close(self) -> None:
        """Nothing is held open between messages."""
        return None


def count_account(account: AccountInfo, profile: Path) -> tuple[int, int, int]:
    """(live messages, deleted-not-compacted messages, bytes of the live ones) of one account."""
    log = _ReadLog()
    live = deleted = size = 0
    acct = account.directory.as_posix() if account.directory else ""
    for e in _Walker(profile, log.warnings.append).walk(account):
        folder = Folder(path=e.path, origin=str(e.origin), key=f"{acct}/{e.rel}", role=e.role)
        records = (read_mbox(folder, e.origin, log) if e.kind == "mbox"
                   else read_maildir(folder, e.origin) if e.kind == "maildir" else iter(()))
        for rec in records:
            if rec.error:
                continue
            if rec.skip_reason in (SKIP_EXPUNGED, SKIP_IMAP_DELETED):
                deleted += 1
            elif rec.skip_reason is None:
                live += 1
                size += len(rec.raw)
    return live, deleted, size
