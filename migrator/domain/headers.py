"""Pure helpers shared by the readers: header lookup and date choice on raw bytes."""

from __future__ import annotations

import email.utils
import errno
import os
import re
import stat
from datetime import datetime, timedelta, timezone

# a line end not followed by a folded continuation line (one starting with a space or a tab)
_UNFOLDED_EOL = re.compile(rb"\r\n(?![ \t])|\r(?![\n \t])|\n(?![ \t])")
# A date no real mail has: used only when a message carries no usable date at all and the
# store offers none either (never the upload time, which would put old mail at the top).
EPOCH_FALLBACK = datetime(1980, 1, 1, tzinfo=timezone.utc)
# Zone names seen in Date:/Received: headers and on mbox From_ lines, in hours east of UTC
# ("MET DST" adds one). RFC 5322 4.3 defines only UT, GMT and the US zones and asks to read any
# other name as -0000 (unknown), but Japanese mailers wrote `JST` alone for years: read as UTC,
# such a date would be nine hours off. One table for every date parser (headers and From_ lines).
ZONE_HOURS = {"UT": 0, "UTC": 0, "GMT": 0, "WET": 0, "BST": 1, "CET": 1, "MET": 1, "MEZ": 1, "CEST": 2,
              "MEST": 2, "EET": 2, "JST": 9, "KST": 9, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
              "MST": -7, "MDT": -6, "PST": -8, "PDT": -7}
_NAMED_ZONE = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?\s+([A-Za-z]{2,4})(\s+DST)?\b")
_ANGLED = re.compile(r"<[^<>\s]+>")
_READ_ONLY = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # binary on Windows
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO never blocks the read (absent on Windows)


def read_file(path: str) -> bytes:
    """A whole file, opened read-only and read in one piece: open, fstat, read, close (a buffered
    reader would add a seek, a terminal check and a second read for every message).

    Never blocks: opened with O_NONBLOCK where the platform has it, and anything but a regular
    file (a FIFO put in its place since it was listed) raises OSError."""
    fd = os.open(path, _READ_ONLY | _NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        size = st.st_size
        chunks = [os.read(fd, size + 1)]  # one byte more: a file that grew meanwhile shows it
        if len(chunks[0]) != size:  # grew, shrank or a short read: read on to the end
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def header_block(raw: bytes) -> bytes:
    """The header section of a message (without the blank line): up to the first empty line,
    whether lines end in LF or CRLF."""
    lf = raw.find(b"\n\n")
    crlf = raw.find(b"\n\r\n", 0, len(raw) if lf < 0 else lf + 2)  # one starting before the first LF LF
    end = crlf if crlf >= 0 else lf
    if end < 0:
        return raw
    return raw[: end - 1] if end > 0 and raw[end - 1] == 13 else raw[:end]  # CR LF ... : drop the CR


class Headers:
    """A message's header block, lowercased once, for several lookups (Message-ID, Subject...).

    Lines may end in LF, CRLF or a lone CR. The block is searched with bytes.find: this runs for
    every message, and a line-by-line loop in Python costs several times as much on real mail
    (its header blocks are long: Received, DKIM, ARC...)."""

    __slots__ = ("block", "_low", "_eols")

    def __init__(self, raw: bytes) -> None:
        self.block = header_block(raw)
        self._low = self.block.lower()
        # where a header line can start: after LF, and after a lone CR only if the block has one
        cr = self.block.count(b"\r") if b"\r" in self.block else 0
        self._eols = (b"\n", b"\r") if cr and cr != self.block.count(b"\r\n") else (b"\n",)

    def values(self, name: str) -> list[str]:
        """Every unfolded value of header `name` (case-insensitive), decoded latin-1 (bytes preserved)."""
        low, block = self._low, self.block
        want = name.lower().encode("ascii") + b":"
        starts = [len(want)] if low.startswith(want) else []
        for eol in self._eols:
            pattern = eol + want
            i = low.find(pattern)
            while i >= 0:
                starts.append(i + len(pattern))
                i = low.find(pattern, i + 1)
        if len(starts) > 1:
            starts.sort()  # in the order they appear (a lone-CR line end is rare)
        out: list[str] = []
        for start in starts:
            end = _UNFOLDED_EOL.search(block, start)  # the end of the line and of its continuations
            lines = block[start: end.start() if end else len(block)].splitlines()
            out.append(b" ".join([line.strip() for line in lines]).decode("latin-1").strip())
        return out

    def first(self, name: str) -> str | None:
        """The first unfolded value of header `name` (case-insensitive), or None."""
        vals = self.values(name)
        return vals[0] if vals else None


def header_values(raw: bytes, name: str) -> list[str]:
    """Every unfolded value of header `name` (case-insensitive), decoded latin-1 (bytes preserved)."""
    return Headers(raw).values(name)


def header_value(raw: bytes, name: str) -> str | None:
    """The first unfolded value of header `name` in the raw message's header block, or None."""
    return Headers(raw).first(name)


def message_id(raw: bytes | Headers) -> str | None:
    """The Message-ID, with angle brackets, or None."""
    v = (raw if isinstance(raw, Headers) else Headers(raw)).first("Message-ID")
    if not v:
        return None
    m = _ANGLED.search(v)
    if m:
        return m.group(0)
    v = v.strip()
    return f"<{v}>" if v and " " not in v else None


def parse_date(value: str | None) -> datetime | None:
    """Parse an RFC 5322 date leniently; None when it is missing or absurd."""
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        dt = None
    if dt is None:
        # Some clients write "2023/04/05 10:11:12" or ISO dates.
        m = re.search(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?", value)
        if not m:
            return None
        try:
            dt = datetime(
                int(m.group(1)), int(m.group(2)), int(m.group(3)),
                int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0),
            )
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_named_zone(value) or timezone.utc)
    if not (1970 <= dt.year <= 2100):
        return None
    return dt


def _named_zone(value: str) -> timezone | None:
    """The zone a date text names after its time (`10:00:00 JST`, `MET DST`), from ZONE_HOURS;
    None when it names none or one not in the table."""
    m = _NAMED_ZONE.search(value)
    hours = ZONE_HOURS.get(m.group(1).upper()) if m else None
    if m is None or hours is None:
        return None
    return timezone(timedelta(hours=hours + (1 if m.group(2) else 0)))


def header_date(raw: bytes) -> datetime | None:
    """The `Date:` header as a tz-aware datetime (RFC 5322 3.3; naive dates taken as UTC), or None
    when absent or unparseable.
    """
    return parse_date(header_value(raw, "Date"))


def received_date(raw: bytes) -> datetime | None:
    """The date of the newest Received: header (its part after the last ';')."""
    for value in header_values(raw, "Received"):
        if ";" in value:
            dt = parse_date(value.rsplit(";", 1)[1])
            if dt:
                return dt
    return None


def choose_date(raw: bytes, *store_dates: datetime | None) -> datetime:
    """INTERNALDATE for a message: kept for callers written before migrator.domain.dates; new code
    calls `dates.internaldate`, which also says where the date came from (the journal keeps it)."""
    from migrator.domain.dates import internaldate  # the policy module imports this one

    return internaldate(raw, store_times=[("store", d) for d in store_dates])[0]
