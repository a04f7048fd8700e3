"""`migrate archive`: what a diet keeps local, written out as a standalone archive.

So that the POP program can be retired without losing the old mail: the messages dated before
`--until` (what `run --since` of the same day leaves local) go into
- mbox (default): Thunderbird's "Local Folders" layout, one mboxrd file per folder, `Name` files
  with `Name.sbd/` directories for children; or
- Maildir (`--format maildir`): Maildir++ (INBOX at the root, `.A.B` subfolders, names in
  modified UTF-7 as Dovecot writes them), flags in the file names, the date as mtime.

The source is only read. No server is needed. The archive is written under a temporary name next
to the destination and renamed into place when complete: an interrupted archive leaves no
half-archive behind (the next attempt clears its own leftover).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timezone
from pathlib import Path
from typing import IO

from migrator.domain.errors import UnsafePath, UsageError
from migrator.domain.events import Done, EventSink, FolderDone, FolderStarted, MessageSettled, PhaseStarted, emit
from migrator.domain.filters import Scope
from migrator.domain.i18n import _
from migrator.domain.models import ArchiveFolder, ArchiveReport
from migrator.domain.records import ANSWERED, DRAFT, FLAGGED, ROLE_INBOX, SEEN, Folder, MessageRecord
from migrator.flows.progress import ARCHIVE_OUTCOMES, Meter, estimate_of, part
from migrator.imap import utf7
from migrator.sources.base import Source

MARKER = ".migrate-archive-partial"
_QUOTE = re.compile(rb"^(>*From )", re.M)
_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]')
MOZ_BITS = {SEEN: 0x0001, ANSWERED: 0x0002, FLAGGED: 0x0004, "$Forwarded": 0x1000}
MAILDIR_INFO = {DRAFT: "D", FLAGGED: "F", ANSWERED: "R", SEEN: "S"}


def from_line(rec: MessageRecord) -> bytes:
    """The mbox `From ` separator line for `rec` (`From - Www Mmm dd hh:mm:ss yyyy`, its date in UTC),
    as Thunderbird writes it."""
    d = rec.date.astimezone(timezone.utc)
    return f"From - {d:%a %b} {d.day:2d} {d:%H:%M:%S %Y}\n".encode("ascii")


def _eol(raw: bytes) -> bytes:
    lf = raw.find(b"\n")
    return b"\r\n" if lf > 0 and raw[lf - 1:lf] == b"\r" else b"\n"


def mbox_entry(rec: MessageRecord) -> bytes:
    """One mboxrd entry: the `From ` line, the message (`>*From ` lines quoted once more), a blank line.

    A message without X-Mozilla-Status gets one (with its read/replied/flagged state), as
    Thunderbird itself writes it; nothing else of the message changes.
    """
    raw = rec.raw
    if not re.search(rb"^X-Mozilla-Status:", raw[: raw.find(b"\n\n") if b"\n\n" in raw else len(raw)], re.M | re.I):
        bits = sum(bit for flag, bit in MOZ_BITS.items() if flag in rec.flags)
        eol = _eol(raw)
        raw = b"X-Mozilla-Status: %04x" % bits + eol + b"X-Mozilla-Status2: 00000000" + eol + raw
    body = _QUOTE.sub(rb">\1", raw)
    if not body.endswith(b"\n"):
        body += b"\n"
    return from_line(rec) + body + b"\n"


def safe_component(name: str) -> str:
    """A folder name as a file name that Windows, macOS and Linux all accept."""
    name = _UNSAFE.sub("_", name).strip().rstrip(".") or "_"
    return name + "_" if name.lower().endswith((".sbd", ".msf")) else name


def folder_parts(folder: Folder, prefix: tuple[str, ...]) -> tuple[str, ...]:
    """Where a folder goes in the archive: `prefix` + its path, the inbox (by role or an INBOX name)
    as `Inbox`."""
    path = folder.path or ("Inbox",)
    if folder.role == ROLE_INBOX or (len(path) == 1 and path[0].upper() == "INBOX"):
        path = ("Inbox",) + tuple(path[1:])
    return prefix + path


class _Writer:
    """Writes one folder's messages; `close()` makes them durable."""

    def __init__(self, root: Path, fmt: str) -> None:
        self.root = root
        self.fmt = fmt
        self._fh: IO[bytes] | None = None
        self._dir = root
        self._n = 0

    def open(self, parts: tuple[str, ...]) -> str:
        if self.fmt == "mbox":
            d = self.root
            for p in parts[:-1]:
                parent = d / safe_component(p)
                parent.touch(exist_ok=True)  # Thunderbird shows a folder's children only under an mbox file
                d = d / (safe_component(p) + ".sbd")
            d.mkdir(parents=True, exist_ok=True)
            path = d / safe_component(parts[-1])
            self._fh = path.open("ab")
            return path.relative_to(self.root).as_posix()
        if parts == ("Inbox",):
            path = self.root
        else:  # Maildir++: '.' separates levels, so a '.' inside a name becomes '_'
            path = self.root / ("." + ".".join(utf7.encode(p.replace(".", "_")) for p in parts))
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        if path != self.root:
            (path / "maildirfolder").touch()
        self._dir = path
        return path.relative_to(self.root).as_posix() or "."

    def write(self, rec: MessageRecord) -> None:
        if self._fh is not None:
            self._fh.write(mbox_entry(rec))
            return
        self._n += 1
        ts = rec.date.timestamp()
        info = "".join(sorted(MAILDIR_INFO[f] for f in rec.flags if f in MAILDIR_INFO))
        path = self._dir / "cur" / f"{max(0, int(ts))}.M{self._n}P{os.getpid()}.migrate-archive:2,{info}"
        with path.open("xb") as fh:
            fh.write(rec.raw)
        os.utime(path, (ts, ts))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None


@contextmanager
def _staging(dest: Path) -> Iterator[Path]:
    """A fresh directory beside `dest`, renamed to `dest` when the block completes."""
    if dest.is_symlink():
        raise UnsafePath(_("{path} is a symbolic link: migrate archive does not write through it").format(path=dest))
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(_("{path} exists and is not an empty directory").format(path=dest),
                         hint=_("Give --to a new directory: migrate archive never writes into existing mail."))
    tmp = dest.with_name(f".{dest.name}.migrate-partial")
    if tmp.is_symlink():
        raise UnsafePath(_("{path} is a symbolic link: migrate archive does not write through it").format(path=tmp))
    if tmp.exists():
        if not (tmp / MARKER).exists():
            raise UsageError(_("{path} is in the way").format(path=tmp),
                             hint=_("Move it away; migrate archive uses that name while writing."))
        shutil.rmtree(tmp)  # the leftover of an interrupted archive of ours
    try:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(mode=0o700)  # private: the archive holds whole messages; what is inside is reached only through it
        os.chmod(tmp, 0o700)
        (tmp / MARKER).touch()
    except OSError as exc:
        raise UsageError(_("cannot write the archive to {path}: {reason}").format(
            path=dest, reason=exc.strerror or exc)) from exc
    yield tmp
    (tmp / MARKER).unlink()
    os.sync()
    if dest.exists():
        dest.rmdir()
    tmp.rename(dest)


def archive(sources: list[Source], scope: Scope, dest: Path, fmt: str = "mbox",
            on_event: EventSink | None = None) -> ArchiveReport:
    """Write the messages in `scope` (date range, folder globs; deleted ones are skipped) to `dest`.

    Emits PhaseStarted("archiving"), Totals (messages and bytes looked at of the folders' cheap
    counts), per folder FolderStarted, MessageSettled("archived", bytes read from the source: every
    message looked at), FolderDone and Done to `on_event`."""
    on_event = Meter(on_event, "archiving", [part(f.display, estimate_of(source, f)) for source in sources
                                             for f in source.folders() if scope.folder_in_scope(f.display, f.display)],
                     ARCHIVE_OUTCOMES)
    emit(on_event, PhaseStarted("archiving"))
    if fmt not in ("mbox", "maildir"):
        raise UsageError(_("--format {value!r}: mbox or maildir").format(value=fmt))
    report = ArchiveReport(to=str(dest), format=fmt, since=scope.since.date().isoformat() if scope.since else None,
                           until=scope.until.date().isoformat() if scope.until else None)
    with _staging(dest) as root:
        writer = _Writer(root, fmt)
        report.warnings = scope.unmatched_warnings((f.display, f.display) for s in sources for f in s.folders())
        for n, source in enumerate(sources):
            prefix = (safe_component(source.root.name or f"source{n + 1}"),) if len(sources) > 1 else ()
            for folder in source.folders():
                if not scope.folder_in_scope(folder.display, folder.display):
                    continue
                emit(on_event, FolderStarted(folder.display))
                af = _archive_folder(source, folder, folder_parts(folder, prefix), scope, writer, report, on_event)
                emit(on_event, FolderDone(folder.display))
                if af is not None:
                    report.folders.append(af)
    emit(on_event, Done())
    return report


def _archive_folder(source: Source, folder: Folder, parts: tuple[str, ...], scope: Scope, writer: _Writer,
                    report: ArchiveReport, on_event: EventSink | None) -> ArchiveFolder | None:
    af: ArchiveFolder | None = None
    try:
        for rec in source.messages(folder):
            emit(on_event, MessageSettled(folder.display, "archived", rec.size))
            if rec.error:
                report.unreadable.append(f"{folder.display}: {rec.locator}: {rec.error}")
                continue
            if rec.skip_reason:
                report.skipped += 1
                continue
            if scope.message_reason(rec.date, 0):
                report.in_upload_range += 1
                continue
            if af is None:
                af = ArchiveFolder(source=folder.display, path=writer.open(parts))
            writer.write(rec)
            day = rec.date.astimezone(timezone.utc).date().isoformat()
            af.messages += 1
            af.bytes += rec.size
            af.oldest = day if af.oldest is None or day < af.oldest else af.oldest
            af.newest = day if af.newest is None or day > af.newest else af.newest
            report.messages += 1
            report.bytes += rec.size
    finally:
        writer.close()
    return af
