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

_READ_CHUNK = 1 << 20  # bytes read at once
_BLANK = re.compile(rb"(?:[ \t\r]*\n)*")  # blank lines between messages
_NONBLANK = re.compile(rb"[^ \t\r\n]")
_HEADER_END = re.compile(rb"\n\r?\n")
_INCLUDE_LINE = re.compile(rb"(?mi)^X-Becky-Include[ \t]*:[ \t]*([^\r\n]*?)[ \t]*(?:\r?\n|\Z)")
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


def split_bmf(fh: IO[bytes], resolve: Resolver) -> Iterator[Entry]:
    """The messages of an open .bmf, in file order. Blank space between messages is passed over.
    The last message may lack its `.` line (Entry.terminated False: the file ended first).

    Read in blocks (`_READ_CHUNK`), one message held at a time: a message ends at the first line
    that is a lone `.` (found by one search over the block, so a long line is never cut in pieces)."""
    buf = _Buffer(fh)
    while True:
        start = buf.skip_blank()
        if start is None:
            return
        while len(buf.data) - buf.pos < 3 and buf.more():
            pass  # enough to tell a lone `.` line
        start, data = buf.pos, buf.data
        if data.startswith((b".\r\n", b".\n"), start) or (buf.eof and bytes(data[start:]) in (b".", b".\r")):
            newline = data.find(b"\n", start)  # a `.` line with no message before it: an empty entry
            end_msg, after, terminated = start, newline + 1 if newline >= 0 else len(data), True
        else:
            end_msg, after, terminated = buf.find_end(start)
            start, data = buf.pos, buf.data  # find_end may have moved what was read to the front
        entry = Entry(buf.base + start, buf.base + after, b"", terminated)
        entry.raw = _expand(_unstuff(bytes(data[start:end_msg])), entry, resolve)
        buf.pos = after
        yield entry


class _Buffer:
    """What was read of a .bmf and not handed on yet: data[pos:] starts at file offset base + pos."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.data = bytearray()
        self.pos = 0
        self.base = 0
        self.eof = False

    def more(self) -> bool:
        """Read one more block (moving what is left to the front first); False at the end."""
        if self.eof:
            return False
        block = self.fh.read(_READ_CHUNK)
        if not block:
            self.eof = True
            return False
        if self.pos:
            del self.data[:self.pos]
            self.base += self.pos
            self.pos = 0
        self.data += block
        return True

    def skip_blank(self) -> int | None:
        """Where the next message starts (blank lines passed over; self.pos moves there); None at the end."""
        while True:
            m = _BLANK.match(self.data, self.pos)
            assert m is not None  # the pattern matches the empty string
            self.pos = m.end()
            if self.pos < len(self.data) and (self.eof or _NONBLANK.search(self.data, self.pos)):
                return self.pos  # (not a blank line cut in two by the end of a block)
            if not self.more():  # only blank space is left
                return None

    def find_end(self, start: int) -> tuple[int, int, bool]:
        """(end of the message, end of its `.` line, whether there was one) for the message at
        self.pos (== start), reading on as needed; positions in self.data as it is on return."""
        search_from = start
        while True:
            end = _find_end(self.data, search_from)
            if end is not None:
                return end
            before = len(self.data) - self.pos
            if not self.more():
                tail = self.data[self.pos:]
                if tail.endswith((b"\n.", b"\n.\r")):  # a last `.` line without its line end
                    return len(self.data) - (2 if tail.endswith(b"\r") else 1), len(self.data), True
                return len(self.data), len(self.data), False
            search_from = self.pos + max(0, before - 3)


def _find_end(data: bytearray, start: int) -> tuple[int, int, bool] | None:
    """The first lone `.` line after `start` (a line break, `.`, CRLF or LF): (where the message
    ends, where the `.` line ends, True); None when `data` holds none (yet). bytes.find, not a
    regular expression: it runs at memory speed over a message of many megabytes."""
    at = data.find(b"\n.", start)
    while at >= 0:
        nxt = data[at + 2:at + 4]
        if nxt[:1] == b"\n":
            return at + 1, at + 3, True
        if nxt == b"\r\n":
            return at + 1, at + 4, True
        at = data.find(b"\n.", at + 2)
    return None


def _unstuff(raw: bytes) -> bytes:
    """`..` at the start of a line stands for `.` (RFC 5321 section 4.5.2): one dot removed."""
    if b"\n.." in raw:
        raw = raw.replace(b"\n..", b"\n.")
    return raw[1:] if raw.startswith(b"..") else raw


def _expand(raw: bytes, entry: Entry, resolve: Resolver) -> bytes:
    """`raw` with every `X-Becky-Include` line of its body replaced by the file's bytes (a file that
    cannot be had leaves the line as stored and adds its reason to entry.problems)."""
    head = _HEADER_END.search(raw)
    body = head.end() if head is not None else len(raw)
    if not any(raw.find(word, body) >= 0 for word in (b"-Include", b"-include", b"-INCLUDE")) \
            or _INCLUDE_LINE.search(raw, body) is None:
        return raw  # (the quick test first: most messages hold no include)
    out = [raw[:body]]
    pos = body
    for m in _INCLUDE_LINE.finditer(raw, body):
        out.append(raw[pos:m.start()])
        name = m.group(1).decode("cp932", "replace").strip()
        entry.includes.append(name)
        data, why = resolve(name)
        if data is None:
            entry.problems.append(why)
            out.append(m.group(0))  # kept as stored: the quarantined .eml shows what was missing
        else:
            out.append(data)
        pos = m.end()
    out.append(raw[pos:])
    return b"".join(out)


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
