"""mbox files and trees of mbox files (Thunderbird/Apple/Eudora exports, `Name` + `Name.sbd/`).

Streaming: one message in memory at a time. The file is opened read-only and never locked.
Separator: a `From ` line that follows a blank line (or starts the file) and carries a
timestamp; a `From ` line without one is body text. mboxrd/mboxo quoting (`>From `) is undone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from migrator.errors import SourceError
from migrator.sources.base import (
    ANSWERED,
    DRAFT,
    FLAGGED,
    SEEN,
    Folder,
    MessageRecord,
)
from migrator.sources.common import header_value, header_values, parse_date
from migrator.sources.dates import FROM_LINE, internaldate, wall_clock
from migrator.sources.tree import MBOX, Found, TreeSource, discover
from migrator.sources.walk import open_regular

# "From sender@example.com Mon Jan  1 10:00:00 2024", "From - Tue Mar 17 10:00:00 2020"
_FROM_LINE = re.compile(rb"^From \S* +(?P<date>.*?\d{1,2}:\d{2}(?::\d{2})?.*?\b(?:19|20)\d{2}\b.*?)\s*$")
_QUOTED_FROM = re.compile(rb"^>+From ")
MBOX_SUFFIXES = (".mbox", ".mbx", ".mbs")
# Files that sit beside mbox files in a profile or export and never hold mail.
IGNORED_SUFFIXES = (".msf", ".dat", ".html", ".htm", ".json", ".sqlite", ".log", ".ini", ".js", ".txt", ".toc")

MOZ_READ = 0x0001
MOZ_REPLIED = 0x0002
MOZ_MARKED = 0x0004
MOZ_EXPUNGED = 0x0008
MOZ_FORWARDED = 0x1000


def is_from_line(line: bytes) -> bool:
    return _FROM_LINE.match(line) is not None


def from_line_date(line: bytes) -> datetime | None:
    """The delivery date on a `From ` line (asctime, in local time by convention: taken as UTC)."""
    m = _FROM_LINE.match(line)
    if not m:
        return None
    text = m.group("date").decode("latin-1")
    parts = text.split()
    # asctime: "Mon Jan  1 10:00:00 2024" possibly followed by a zone; try it directly first.
    for candidate in (" ".join(parts[:5]), text):
        try:
            return datetime.strptime(candidate, "%a %b %d %H:%M:%S %Y").replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return parse_date(text)


def unquote_from(line: bytes) -> bytes:
    """mboxrd: `>From ` → `From `, `>>From ` → `>From ` (also right for mboxo's single level)."""
    return line[1:] if _QUOTED_FROM.match(line) else line


def status_flags(raw: bytes) -> tuple[frozenset[str], bool]:
    """IMAP flags and the deleted mark from mbox status headers.

    `Status:`/`X-Status:` (mutt, pine, Dovecot) and `X-Mozilla-Status`/`X-Mozilla-Keys` (Thunderbird).
    """
    flags: set[str] = set()
    deleted = False
    status = header_value(raw, "Status") or ""
    xstatus = header_value(raw, "X-Status") or ""
    if "R" in status:
        flags.add(SEEN)
    if "A" in xstatus:
        flags.add(ANSWERED)
    if "F" in xstatus:
        flags.add(FLAGGED)
    if "T" in xstatus:
        flags.add(DRAFT)
    if "D" in xstatus:
        deleted = True
    moz = header_value(raw, "X-Mozilla-Status")
    if moz:
        try:
            bits = int(moz.strip()[:4], 16)
        except ValueError:
            bits = 0
        if bits & MOZ_READ:
            flags.add(SEEN)
        if bits & MOZ_REPLIED:
            flags.add(ANSWERED)
        if bits & MOZ_MARKED:
            flags.add(FLAGGED)
        if bits & MOZ_FORWARDED:
            flags.add("$Forwarded")
        if bits & MOZ_EXPUNGED:
            deleted = True
    for keys in header_values(raw, "X-Mozilla-Keys"):
        for kw in keys.split():
            if re.fullmatch(r"[A-Za-z0-9$_.\-]+", kw) and not kw.startswith("\\"):
                flags.add(kw)
    return frozenset(flags), deleted


def iter_mbox(fh, start: int = 0) -> Iterator[tuple[int, bytes, bytes]]:
    """Yield (offset of the From line, the From line, message bytes) from a binary file object.

    `start` must be the offset of a From line (or 0). The blank line that separates messages
    belongs to the mbox, not to the message, and is removed.
    """
    fh.seek(start)
    offset = start
    prev_blank = True
    cur_off = -1
    cur_from = b""
    body: list[bytes] = []
    for line in fh:
        if prev_blank and line.startswith(b"From ") and is_from_line(line.rstrip(b"\r\n")):
            if cur_off >= 0:
                yield cur_off, cur_from, _finish(body)
            cur_off, cur_from, body = offset, line.rstrip(b"\r\n"), []
        elif cur_off >= 0:
            body.append(unquote_from(line))
        elif line.strip():
            raise SourceError(
                f"{getattr(fh, 'name', 'mbox')}: not an mbox file (no 'From ' line at byte {offset})"
            )
        prev_blank = line in (b"\n", b"\r\n")
        offset += len(line)
    if cur_off >= 0:
        yield cur_off, cur_from, _finish(body)


def _finish(lines: list[bytes]) -> bytes:
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]
    return b"".join(lines)


def looks_like_mbox(path: Path) -> bool:
    """A regular file that starts with a From line, or an empty file with an mbox-like name."""
    if not path.is_file() or path.name.lower().endswith(IGNORED_SUFFIXES) or path.name.startswith("."):
        return False
    try:
        with path.open("rb") as fh:
            head = fh.readline(4096)
    except OSError:
        return False
    if not head:
        return "." not in path.name or path.suffix.lower() in MBOX_SUFFIXES
    return head.startswith(b"From ") and is_from_line(head.rstrip(b"\r\n"))


def folder_name(path: Path | str) -> str:
    """The folder an mbox file is: its name without an .mbox/.mbx/.mbs suffix."""
    name = path if isinstance(path, str) else path.name
    for suffix in MBOX_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


class MboxSource(TreeSource):
    """One mbox file, or a directory tree of them (and of any Maildir kept inside: tree.discover)."""

    kind = "mbox"

    def __init__(self, root: Path) -> None:
        if not root.exists():
            raise SourceError(f"{root}: no such file or directory")
        super().__init__(root)
        if not self._found.folders:
            raise SourceError(f"{root}: no mbox files found in this directory")

    def _discover(self, root: Path) -> Found:
        if root.is_dir():
            return discover(root)
        if not looks_like_mbox(root):
            raise SourceError(f"{root}: not an mbox file (it does not start with a 'From ' line)")
        found = Found()
        found.add(MBOX, Folder(path=(folder_name(root.name),), origin=str(root), key=root.name))
        return found


def read_folder(folder: Folder, start: int = 0, ends: dict[str, int] | None = None) -> Iterator[MessageRecord]:
    """Stream one mbox file's messages from byte `start`; `ends[folder.key]` gets where a complete
    read ended (for resume_info)."""
    file = Path(folder.origin)
    try:
        fh = open_regular(str(file))
    except OSError as exc:
        yield MessageRecord(
            folder=folder, stable_id=f"mbox:{folder.key}:unreadable", raw=b"",
            date=datetime(1980, 1, 1, tzinfo=timezone.utc), locator=str(file),
            error=f"cannot open {file}: {exc.strerror}",
        )
        return
    with fh:
        try:
            for offset, from_line, raw in iter_mbox(fh, start):
                yield _record(folder, offset, from_line, raw)
            if ends is not None:
                ends[folder.key] = fh.tell()
        except SourceError as exc:
            yield MessageRecord(
                folder=folder, stable_id=f"mbox:{folder.key}:corrupt", raw=b"",
                date=datetime(1980, 1, 1, tzinfo=timezone.utc), locator=str(file), error=exc.message,
            )
        except OSError as exc:
            yield MessageRecord(
                folder=folder, stable_id=f"mbox:{folder.key}:ioerror", raw=b"",
                date=datetime(1980, 1, 1, tzinfo=timezone.utc), locator=str(file),
                error=f"read error in {file}: {exc}",
            )


def _record(folder: Folder, offset: int, from_line: bytes, raw: bytes) -> MessageRecord:
    flags, deleted = status_flags(raw)
    date, source = internaldate(raw, store_times=((FROM_LINE, wall_clock(from_line_date(from_line))),))
    return MessageRecord(
        folder=folder,
        stable_id=f"mbox:{folder.key}:{offset}",
        raw=raw,
        date=date,
        date_source=source,
        flags=flags,
        locator=f"{folder.origin} @ byte {offset}",
        skip_reason="marked deleted in the source" if deleted else None,
        extra={"offset": str(offset)},
    )


def token(folder: Folder) -> str | None:
    """Cheap change detector: size and mtime of the mbox file."""
    try:
        st = Path(folder.origin).stat()
    except OSError:
        return None
    return f"mbox:{st.st_size}:{st.st_mtime_ns}"


def resume_info(folder: Folder, ends: dict[str, int]) -> dict[str, object] | None:
    """Where the last complete read ended, to read only what a mail client appended since."""
    end = ends.get(folder.key)
    if end is None:
        return None
    return {"end": end, "tail": tail_hash(Path(folder.origin), end)}


def resume_offset(folder: Folder, info: dict[str, object]) -> int | None:
    """The offset to continue from when the file only grew since `info`; None otherwise."""
    try:
        end = int(info["end"])  # type: ignore[call-overload]
        size = Path(folder.origin).stat().st_size
    except (KeyError, TypeError, ValueError, OSError):
        return None
    if size <= end or tail_hash(Path(folder.origin), end) != info.get("tail"):
        return None
    with Path(folder.origin).open("rb") as fh:
        fh.seek(end)
        head = fh.readline()
    return end if head.startswith(b"From ") and is_from_line(head.rstrip(b"\r\n")) else None


def tail_hash(path: Path, end: int) -> str | None:
    """sha256 of the file's first 4 KiB and the 64 KiB before `end`: what must be unchanged for a
    file that was only appended to since a read that ended at `end`."""
    try:
        with path.open("rb") as fh:
            h = hashlib.sha256(fh.read(4096))
            fh.seek(max(0, end - 65536))
            h.update(fh.read(min(end, 65536)))
    except OSError:
        return None
    return h.hexdigest()
