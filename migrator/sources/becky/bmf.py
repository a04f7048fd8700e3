"""Becky! message files (`*.bmf`), attachment includes, `X-Becky-Status` and `Folder.idx`.

`.bmf` (Thunderbird's Becky! importer, comm-central mailnews/import/src/nsBeckyMail.cpp;
../shared/reference/store-formats.md): several messages one after another, each stored as on the
SMTP wire (RFC 5321 section 4.5.2): header, blank line, body, then a line holding only `.`; a line
of the message that begins with `.` is stored with one more `.` in front (`..`), removed again here
(only at the start of a line). There are no `From ` separators; lines end in CRLF.

`X-Becky-Include: NAME` (a line of the body) stands for the encoded body of an attachment Becky!
keeps outside the message, in a `#Attach` folder beside the .bmf or the mailbox's: the line (with
its line end) is replaced by that file's bytes; every other byte of the message stays as stored.
A file that is missing (or whose name leaves the store) fails that message with the reason.

Flags: `X-Becky-Status: <hex>,...` (the value before the first comma, in hex) and the status the
Becky! plug-in API gives (BeckyAPI MESSAGE_READ 0x1, MESSAGE_FORWARDED 0x2, MESSAGE_REPLIED 0x4;
the importer's BECKY_STATUS_* bits are the same): read -> \\Seen, forwarded -> $Forwarded, replied ->
\\Answered. `Folder.idx` (inferred from one published sample: lines of fields separated by byte 0x01,
the first line a header; field 0 the message's byte offset in its .bmf in hex, field 2 the .bmf's
name without `.bmf`, field 12 the status in hex) holds the status Becky! shows, which the header of
a message may not have kept: its row wins when there is one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from migrator.domain.headers import header_value
from migrator.domain.records import ANSWERED, SEEN
from migrator.sources.walk import open_regular

FORWARDED = "$Forwarded"
STATUS_READ = 0x1
STATUS_FORWARDED = 0x2
STATUS_REPLIED = 0x4

IDX_SEPARATOR = b"\x01"
IDX_OFFSET, IDX_FILE, IDX_STATUS = 0, 2, 12  # Folder.idx fields (inferred, see the module docstring)

_INCLUDE = re.compile(rb"^X-Becky-Include[ \t]*:[ \t]*(.*?)[ \t]*\r?\n?$", re.IGNORECASE | re.DOTALL)
_READ_CHUNK = 1 << 20  # the longest piece of a line read at once
_INDEX_LIMIT = 64 << 20  # a Folder.idx larger than this is not read (flags then come from headers)

# resolve(NAME) -> (the file's bytes, "") or (None, why it cannot be had)
Resolver = Callable[[str], tuple[bytes | None, str]]


@dataclass
class Entry:
    """One message of a .bmf: where it starts (`offset`, bytes from the start of the file) and ends
    (after its `.` line), its bytes with `..` undone and includes expanded, the include names it
    holds, and why it cannot be used as it is (`problems`: a missing attachment file)."""

    offset: int
    end: int
    raw: bytes
    terminated: bool
    includes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def is_terminator(line: bytes) -> bool:
    """The line that ends a message in a .bmf: a lone `.` (CRLF, LF or at the end of the file)."""
    return line in (b".\r\n", b".\n", b".")


def unstuff(line: bytes) -> bytes:
    """A stored line as the message has it: a leading `..` stands for `.` (RFC 5321 section 4.5.2)."""
    return line[1:] if line.startswith(b"..") else line


def include_name(line: bytes) -> str | None:
    """NAME of an `X-Becky-Include: NAME` line (CP932, as Becky! writes file names), else None."""
    m = _INCLUDE.match(line)
    if m is None:
        return None
    return m.group(1).decode("cp932", "replace").strip()


def split_bmf(fh: IO[bytes], resolve: Resolver) -> Iterator[Entry]:
    """The messages of an open .bmf, in file order. Blank space between messages is passed over.
    The last message may lack its `.` line (Entry.terminated False: the file ended first)."""
    pos = 0
    start = 0
    parts: list[bytes] = []
    in_header = True
    entry: Entry | None = None
    line_start = True  # whether `line` begins a line (a longer line is read in pieces)
    while True:
        line = fh.readline(_READ_CHUNK)
        if not line:
            break
        at, first = pos, line_start
        pos += len(line)
        line_start = line.endswith(b"\n")
        if entry is None:
            if not line.strip():
                continue  # blank lines between messages
            start, parts, in_header = at, [], True
            entry = Entry(start, start, b"", False)
        if not first:
            parts.append(line)  # the rest of a long line: nothing to undo in it
            continue
        if is_terminator(line):
            entry.raw, entry.end, entry.terminated = b"".join(parts), pos, True
            yield entry
            entry = None
            continue
        line = unstuff(line)
        if in_header:
            if line in (b"\r\n", b"\n"):
                in_header = False
            parts.append(line)
            continue
        name = include_name(line) if line[:1] in (b"X", b"x") else None
        if name is None:
            parts.append(line)
            continue
        entry.includes.append(name)
        data, why = resolve(name)
        if data is None:
            entry.problems.append(why)
            parts.append(line)  # kept as stored: the quarantined .eml shows what was missing
        else:
            parts.append(data)
    if entry is not None:
        entry.raw, entry.end = b"".join(parts), pos
        yield entry


def becky_status(raw: bytes) -> int | None:
    """The status bits of `X-Becky-Status: <hex>,...` (the value before the first comma), or None
    when the header is absent or not hex."""
    value = header_value(raw, "X-Becky-Status")
    if value is None:
        return None
    return _hex(value.split(",", 1)[0])


def _hex(text: str | bytes) -> int | None:
    try:
        return int(text.strip(), 16) if text.strip() else None
    except ValueError:
        return None


def status_flags(status: int) -> frozenset[str]:
    """IMAP flags of Becky! status bits: read -> \\Seen, replied -> \\Answered, forwarded -> $Forwarded."""
    flags = set()
    if status & STATUS_READ:
        flags.add(SEEN)
    if status & STATUS_REPLIED:
        flags.add(ANSWERED)
    if status & STATUS_FORWARDED:
        flags.add(FORWARDED)
    return frozenset(flags)


def read_index(path: Path) -> dict[tuple[str, int], int]:
    """{(.bmf name without `.bmf`, casefolded; byte offset): status bits} from a Folder.idx; {} when
    there is none or it cannot be read. Rows whose offset or status is not hex are left out (their
    messages take their flags from X-Becky-Status)."""
    try:
        with open_regular(str(path)) as fh:
            data = fh.read(_INDEX_LIMIT + 1)
    except OSError:
        return {}
    if len(data) > _INDEX_LIMIT:
        return {}
    out: dict[tuple[str, int], int] = {}
    for line in data.splitlines()[1:]:  # the first line is the file's header
        fields = line.split(IDX_SEPARATOR)
        if len(fields) <= IDX_STATUS:
            continue
        offset, status = _hex(fields[IDX_OFFSET]), _hex(fields[IDX_STATUS])
        stem = fields[IDX_FILE].strip().decode("cp932", "replace").casefold()
        if offset is None or status is None or not stem:
            continue
        out.setdefault((stem.removesuffix(".bmf"), offset), status)
    return out
