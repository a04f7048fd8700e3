"""mbox files and trees of mbox files (Thunderbird/Apple/Eudora exports, `Name` + `Name.sbd/`).

Streaming: one message in memory at a time. The file is opened read-only and never locked.
What a separator is: `is_separator` (the rule is stated in docs/concepts.md, "mbox boundaries").
mboxrd/mboxo quoting (`>From `) is undone; mboxcl/mboxcl2 `Content-Length:` is honoured when the
file agrees with it; CR-only files (classic Mac OS) are read with their line ends made CRLF.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

from migrator.domain.dates import FROM_LINE, internaldate
from migrator.domain.errors import SourceError
from migrator.domain.headers import ZONE_HOURS, header_value, header_values
from migrator.domain.i18n import N_, _
from migrator.domain.records import ANSWERED, DRAFT, FLAGGED, SEEN, Folder, MessageRecord
from migrator.sources.tree import MBOX, Found, TreeSource, discover
from migrator.sources.walk import open_regular

# ---------------------------------------------------------------- the From_ line grammar
# From_ = "From " [sender SP+] date [SP+ anything]   (sender: one word, "-", "???@???", or empty)
# date, one of:
#   asctime   [Www[,] ] Mmm DD HH:MM[:SS] [zone...] YYYY [zone]   mboxo/mboxrd, qmail, UW, Eudora, Thunderbird
#             [Www[,] ] Mmm DD YYYY HH:MM[:SS] [zone]            (year before the time)
#   RFC 5322  [Www[,] ] DD Mmm YYYY HH:MM[:SS] [zone]             some exporters
#   ISO 8601  YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][zone]              some exporters
# zone: +hhmm/-hhmm, Z, or a 1-5 letter name (UTC, GMT, JST, "MET DST"); a year may have 2 digits
# only in asctime (old UUCP mail). Anything may follow the date ("remote from host").
_DOW = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?"
_MON = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
_TIME = rb"\d{1,2}:\d{2}(?::\d{2})?"
_ZONE = rb"(?:[+-]\d{2}:?\d{2}|Z|[A-Za-z]{1,5}(?: DST)?)"
_DATE = (
    rb"(?:(?:" + _DOW + rb" +)?" + _MON + rb" +\d{1,2},? +" + _TIME + rb"(?: +" + _ZONE + rb"){0,2} +(?:\d{4}|\d{2})\b"
    rb"|(?:" + _DOW + rb" +)?" + _MON + rb" +\d{1,2},? +\d{4} +" + _TIME
    + rb"|(?:" + _DOW + rb" *)?\d{1,2} +" + _MON + rb" +\d{4} +" + _TIME
    + rb"|\d{4}-\d{2}-\d{2}(?:[ T]" + _TIME + rb"(?:\.\d+)?)?"
    rb")"
)
# a sender: one word, a quoted local part ("John Doe"@x), or a display name with an angle address
# ("John Doe" <john@x>, John Doe <john@x>: some Windows exporters write the From: header's form)
_SENDER = rb'(?:[^<>\r\n]{0,200}?<[^<>\s]*>|"[^"]*"\S*|[^\s"]\S*)'
_FROM_LINE = re.compile(rb"From +(?:(?P<sender>" + _SENDER + rb") +)?(?P<date>" + _DATE + rb")(?P<rest>.*)\Z")
# An RFC 5322 header field line: a name of printable ASCII but ':' (obsolete syntax allows blanks
# before the colon), or the UUCP ">From " line some exports keep right after the From_ line.
_FIELD_LINE = re.compile(rb"[!-9;-~]+[ \t]*:|>From ")
_QUOTED_FROM = re.compile(rb"^>+From ")
BOM = b"\xef\xbb\xbf"
MBOX_SUFFIXES = (".mbox", ".mbx", ".mbs")
# Files that sit beside mbox files in a profile or export and never hold mail (Thunderbird's list;
# looks_like_mbox itself goes by content, never by name).
IGNORED_SUFFIXES = (".msf", ".dat", ".html", ".htm", ".json", ".sqlite", ".log", ".ini", ".js", ".txt", ".toc")
# UW-IMAP/Pine (and Dovecot's mbox) keep the folder's UIDs in a first pseudo-message.
SKIP_FOLDER_DATA = "UW-IMAP/Pine folder internal data (X-IMAP pseudo-message), not mail"
SKIP_EMPTY = N_("empty entry in the mbox (a separator line with no message)")
_SNIFF = 65536  # bytes read to tell an mbox (and its line ends) by content

MOZ_READ = 0x0001
MOZ_REPLIED = 0x0002
MOZ_MARKED = 0x0004
MOZ_EXPUNGED = 0x0008
MOZ_FORWARDED = 0x1000


def is_from_line(line: bytes) -> bool:
    """Whether `line` (without its line end) is a From_ line per the grammar above.

    That alone does not make it a separator: see `is_separator`."""
    return line.startswith(b"From ") and _FROM_LINE.match(line) is not None


def is_field_line(line: bytes | None) -> bool:
    """Whether `line` can start a header block: an RFC 5322 field line (`Name: value`, RFC 5322
    3.6.8 / 4.5.3 obsolete blanks before the colon) or a UUCP `>From ` line."""
    return line is not None and _FIELD_LINE.match(line) is not None


def is_blank(line: bytes) -> bool:
    """Whether `line` (with its line end) holds no text: LF, CR LF, a lone CR (classic Mac OS),
    CR CR LF (any run of CRs before the LF: some Japanese bounce mail), or b"" (the end of file).
    The one test of a blank line for every mbox reader: the blank line that ends a header block
    and the one before a separator (which belongs to the mbox) are found by it."""
    return not line.strip(b"\r\n")


def is_separator(line: bytes, following: bytes | None, after_blank: bool) -> bool:
    """THE mbox boundary rule: whether `line` starts a new message.

    line: a line of the file without its line end; following: the next line (with or without its
    line end), None at the end of the file; after_blank: the line before was empty, or `line` is
    the first of the file (after a UTF-8 BOM and blank lines) or of the part read.
    A separator is a From_ line per the grammar (`is_from_line`) that is followed by a header
    field line (`is_field_line`), whether a blank line precedes it or not (exports often omit
    it); or, after a blank line, one followed by nothing or by a blank line (an empty entry).
    Any other `From ` line is body text: an unescaped "From 10:00 to 12:30 we meet" stays in the
    message. Sources: qmail mbox(5), RFC 4155, jwz "Content-Length: harmful"; Dovecot and mutt
    also check what follows a From_ line.
    """
    if not is_from_line(line):
        return False
    if following is None or is_blank(following):
        return after_blank
    return is_field_line(following)


def from_line_date(line: bytes) -> datetime | None:
    """The delivery date on a From_ line, timezone-aware (a time written without a zone taken as
    UTC); None when the line has no date of the grammar."""
    dt = from_line_time(line)
    return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt


def from_line_time(line: bytes) -> datetime | None:
    """The delivery time on a From_ line as written: aware (in UTC) when the line gives a zone
    (`+0900`, `Z`, `JST`, `MET DST`), naive when it does not (asctime is the delivering host's
    local time: sources.dates gives it a zone); None when the line has no date of the grammar."""
    m = _FROM_LINE.match(line)
    if not m:
        return None
    text = m.group("date").decode("latin-1")
    rest = m.group("rest").decode("latin-1")
    if re.match(r"\d{4}-", text):
        zoned = re.match(r"\s*(Z|[+-]\d{2}:?\d{2})\b", rest)
        try:
            dt = datetime.fromisoformat(text + (zoned.group(1) if zoned else ""))
        except ValueError:
            return None
        return dt.astimezone(timezone.utc) if dt.tzinfo else dt
    month = re.search(r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)", text)
    clock = re.search(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if not month or not clock:
        return None
    without_clock = text[: clock.start()] + " " + text[clock.end():]
    numbers = re.findall(r"(?<![\w+-])\d{1,4}\b", without_clock)
    years = [n for n in numbers if len(n) == 4] or [n for n in numbers[1:] if len(n) == 2]
    days = [n for n in numbers if len(n) <= 2 and n not in years[:1]]
    if not years or not days:
        return None
    year = int(years[0])
    if len(years[0]) == 2:  # old UUCP mail: 70-99 are 1970-1999
        year += 1900 if year >= 70 else 2000
    zone = re.search(r"(?<![\w:])([+-])(\d{2}):?(\d{2})\b", without_clock + " " + rest[:12])
    try:
        dt = datetime(year, ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                             "Dec"].index(month.group(1)) + 1, int(days[0]), int(clock.group(1)),
                      int(clock.group(2)), int(clock.group(3) or 0))
    except ValueError:
        return None
    if zone:
        offset = timedelta(hours=int(zone.group(2)), minutes=int(zone.group(3)))
        return (dt - (offset if zone.group(1) == "+" else -offset)).replace(tzinfo=timezone.utc)
    named = re.search(r"\b([A-Z]{2,4})( DST)?\b", without_clock.replace(month.group(1), "") + " " + rest[:12])
    if named and named.group(1) in ZONE_HOURS:
        dt -= timedelta(hours=ZONE_HOURS[named.group(1)] + (1 if named.group(2) else 0))
        return dt.replace(tzinfo=timezone.utc)
    return dt


def unquote_from(line: bytes) -> bytes:
    """mboxrd: `>From ` → `From `, `>>From ` → `>From ` (also right for mboxo's single level)."""
    return line[1:] if _QUOTED_FROM.match(line) else line


def is_folder_internal_data(raw: bytes) -> bool:
    """UW-IMAP c-client's (and Pine's, Dovecot's) pseudo-message holding the folder's UID state:
    an `X-IMAP:` or `X-IMAPbase:` header and the subject "DON'T DELETE THIS MESSAGE -- FOLDER
    INTERNAL DATA". (c-client may also put `X-IMAPbase:` on a real first message: that one is mail.)"""
    if b"X-IMAP" not in raw[:8192] and b"x-imap" not in raw[:8192].lower():
        return False
    if header_value(raw, "X-IMAP") is None and header_value(raw, "X-IMAPbase") is None:
        return False
    return "FOLDER INTERNAL DATA" in (header_value(raw, "Subject") or "").upper()


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


class _CROnly:
    """A binary file whose lines end in a lone CR (classic Mac OS), read line by line: readline()
    returns a line with its CR (or CR LF, should one occur), like a file's readline() does for LF."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self._buf = b""
        self._i = 0  # next unread byte of _buf
        self._pos = fh.tell()  # file offset of _buf[_i]

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int) -> None:
        self._fh.seek(pos)
        self._buf, self._i, self._pos = b"", 0, pos

    def readline(self) -> bytes:
        parts: list[bytes] = []
        while True:
            k = self._buf.find(b"\r", self._i)
            if k < 0:  # no line end in the buffer: keep what there is, read on
                parts.append(self._take(len(self._buf) - self._i))
                if not self._more():
                    return b"".join(parts)
                continue
            if k + 1 == len(self._buf):  # a CR last in the buffer: an LF may follow it
                parts.append(self._take(k + 1 - self._i))
                if self._more() and self._buf[:1] == b"\n":
                    parts.append(self._take(1))
                return b"".join(parts)
            end = k + 2 if self._buf[k + 1] == 0x0A else k + 1
            parts.append(self._take(end - self._i))
            return b"".join(parts)

    def read(self, n: int) -> bytes:
        out = self._take(min(n, len(self._buf) - self._i))
        if len(out) < n:  # the rest straight from the file (the buffer is empty now)
            rest = self._fh.read(n - len(out))
            self._pos += len(rest)
            out += rest
        return out

    def _more(self) -> bool:
        chunk = self._fh.read(_SNIFF)
        if chunk:
            self._buf, self._i = self._buf[self._i:] + chunk, 0
        return bool(chunk)

    def _take(self, n: int) -> bytes:
        out = self._buf[self._i: self._i + n]
        self._i += len(out)
        self._pos += len(out)
        return out


class _Lines:
    """Lines of an mbox from a byte offset, with one line of look-ahead and true file offsets.

    CR-only files are read through `_CROnly` and each lone CR line end is given as CR LF."""

    def __init__(self, fh: IO[bytes], start: int, cr_only: bool) -> None:
        fh.seek(start)
        self._src: _CROnly | IO[bytes] = _CROnly(fh) if cr_only else fh
        self.cr_only = cr_only
        self.pos = start  # offset of the next line to be returned
        self._ahead: bytes | None = None

    def readline(self) -> bytes:
        """The next line as stored (a lone CR made CR LF), b"" at the end of the file."""
        line = self._ahead
        if line is None:
            line = self._src.readline()
        else:
            self._ahead = None
        self.pos += len(line)
        if self.cr_only and line[-1:] == b"\r":
            return line + b"\n"
        return line

    def peek(self) -> bytes | None:
        """The line after the one last returned, without taking it; None at the end of the file."""
        if self._ahead is None:
            self._ahead = self._src.readline()
        return self._ahead or None

    def read(self, n: int) -> bytes:
        """Up to `n` bytes from the current position (a lone CR made CR LF)."""
        self.seek(self.pos)
        data = self._src.read(n)
        self.pos += len(data)
        return data.replace(b"\r\n", b"\r").replace(b"\r", b"\r\n") if self.cr_only else data

    def seek(self, pos: int) -> None:
        self._src.seek(pos)
        self.pos, self._ahead = pos, None

    def separator_at(self, pos: int) -> bool:
        """Whether the file ends at `pos` or a message starts there (after at most one blank
        line): what makes a Content-Length consistent. A `pos` inside a line (the byte before
        it is no line end) is never consistent, whatever text follows (a "From ..." quoted in
        the middle of a line is no separator). The position is left unchanged."""
        here = self.pos
        try:
            prev = b"\n"
            if pos > 0:
                self.seek(pos - 1)
                prev = self._src.read(1)
                if not prev:
                    return False  # past the end of the file
            self.seek(pos)
            line = self.readline()
            if line and prev not in (b"\n", b"\r"):
                return False  # inside a line
            after_blank = False
            if line and is_blank(line):
                line, after_blank = self.readline(), True
            if not line:
                return True
            return is_separator(line.rstrip(b"\r\n"), self.peek(), after_blank)
        finally:
            self.seek(here)


def line_ends_cr_only(head: bytes) -> bool:
    """Whether a file whose first bytes are `head` has classic Mac OS line ends (CR alone)."""
    return b"\n" not in head and b"\r" in head


def iter_mbox(fh: IO[bytes], start: int = 0) -> Iterator[tuple[int, bytes, bytes]]:
    """Yield (offset of the From_ line, the From_ line, message bytes) from a binary file object.

    `start` must be the offset of a separator (or 0). Streaming: one message in memory.
    Boundaries: `is_separator`. Before the first separator a UTF-8 BOM and blank lines are passed
    over; anything else there raises SourceError (not an mbox). The blank line that separates
    messages belongs to the mbox, not to the message, and is removed; `>From ` quoting is undone.
    A message whose `Content-Length:` (mboxcl/mboxcl2) ends exactly where the file ends or the
    next message starts is taken as that many body bytes, verbatim (mboxcl2 does not quote).
    Lines ending in a lone CR (classic Mac OS) are given with CR LF line ends.
    """
    fh.seek(0)
    head = fh.read(_SNIFF)
    if start == 0 and head.startswith(BOM):
        start = len(BOM)
    lines = _Lines(fh, start, line_ends_cr_only(head))
    after_blank = True
    cur_off = -1
    cur_from = b""
    parts: list[bytes] = []  # the header lines (Content-Length is looked up in them)
    body = bytearray()  # the rest in one buffer, not a list of lines: a 50 MB message costs ~2x, not ~3.5x
    last = b""  # the body line read last (a blank one separates messages: _finish)
    in_headers = False
    readline = lines.readline
    while True:
        offset = lines.pos
        line = readline()
        if not line:
            break
        if line[:5] == b"From " and is_separator(line.rstrip(b"\r\n"), lines.peek(), after_blank):
            if cur_off >= 0:
                yield cur_off, cur_from, _finish(parts, body, last)
            cur_off, cur_from, in_headers = offset, line.rstrip(b"\r\n"), True
            after_blank = False
            continue
        blank = is_blank(line)
        if cur_off < 0:
            if not blank:
                raise SourceError(
                    _("{path}: not an mbox file (no 'From ' line at byte {offset})").format(
                        path=getattr(fh, "name", "mbox"), offset=offset))
        elif in_headers:
            parts.append(unquote_from(line) if line[:1] == b">" else line)
            if blank:
                in_headers = False
                size = _content_length(parts)
                if size is not None and lines.separator_at(lines.pos + size):
                    parts.append(lines.read(size))
                    yield cur_off, cur_from, _finish(parts, body, b"", strip=False)
                    cur_off = -1
        else:
            body += unquote_from(line) if line[:1] == b">" else line
            last = line
        after_blank = blank
    if cur_off >= 0:
        yield cur_off, cur_from, _finish(parts, body, last)


def _content_length(header_lines: list[bytes]) -> int | None:
    """The Content-Length: of a header block (mboxcl/mboxcl2), None when absent or not a number."""
    value = None
    for line in header_lines:
        if line[:15].lower() == b"content-length:":
            value = line[15:].strip()
    return int(value) if value is not None and value.isdigit() else None


def _finish(parts: list[bytes], body: bytearray, last: bytes, strip: bool = True) -> bytes:
    """The message: its header lines and its body, without the blank line that ends it (the
    body's `last` line, or the last header line when there is no body; kept when not `strip`).
    Empties `parts` and `body`, so that nothing of this message stays in memory while the next
    one is read."""
    if not strip:
        pass
    elif body:
        if is_blank(last):
            del body[len(body) - len(last):]
    elif parts and is_blank(parts[-1]):
        parts.pop()
    data = b"".join(parts) + body if body else b"".join(parts)
    parts.clear()
    body.clear()
    return data


def looks_like_mbox(path: Path) -> bool:
    """Whether `path` is an mbox file, by content, whatever its name (`.txt`, `.json`, none).

    True when, after an optional UTF-8 BOM and blank lines, the first line is a separator per
    `is_separator` followed by a header field line; an empty file counts when its name has no
    extension or an mbox one (an empty folder). False for anything that is not a regular
    readable file, and for a Becky! `.bmf` (never an mbox, whatever its first line). Reads at most 64 KiB.
    """
    if path.suffix.lower() == ".bmf":
        return False  # Becky! message files: messages ended by a lone `.` line (sources/becky/bmf.py)
    try:
        if not path.is_file():
            return False
        with path.open("rb") as fh:
            head = fh.read(_SNIFF)
    except OSError:
        return False
    if not head:
        return "." not in path.name or path.suffix.lower() in MBOX_SUFFIXES
    head = head.removeprefix(BOM)
    eol = b"\r" if line_ends_cr_only(head) else b"\n"
    text = head.lstrip(b"\r\n")
    first, _, rest = text.partition(eol)
    second = rest.split(eol, 1)[0]
    return is_from_line(first.rstrip(b"\r")) and is_field_line(second)


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
            raise SourceError(_("{path}: no such file or directory").format(path=root))
        super().__init__(root)
        if not self._found.folders:
            raise SourceError(_("{path}: no mbox files found in this directory").format(path=root))

    def _discover(self, root: Path) -> Found:
        if root.is_dir():
            return discover(root)
        if not looks_like_mbox(root):
            raise SourceError(_("{path}: not an mbox file (it does not start with a 'From ' line followed by a "
                                "header)").format(
                path=root))
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
                del raw  # not held while the next message is read (see Scanned.release)
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
    date, source = internaldate(raw, store_times=((FROM_LINE, from_line_time(from_line)),))
    skip = N_("marked deleted in the source") if deleted else None
    if not raw.strip():
        skip = SKIP_EMPTY
    elif is_folder_internal_data(raw):
        skip = SKIP_FOLDER_DATA
    return MessageRecord(
        folder=folder,
        stable_id=f"mbox:{folder.key}:{offset}",
        raw=raw,
        date=date,
        date_source=source,
        flags=flags,
        locator=f"{folder.origin} @ byte {offset}",
        skip_reason=skip,
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
        head = fh.read(_SNIFF)
        lines = _Lines(fh, end, line_ends_cr_only(head))
        first = lines.readline()
        return end if is_separator(first.rstrip(b"\r\n"), lines.peek(), True) else None


def tail_hash(path: Path, end: int) -> str | None:
    """sha256 of the file's first 4 KiB (at most `end` bytes) and the 64 KiB before `end`: what must be unchanged for a
    file that was only appended to since a read that ended at `end`."""
    try:
        with path.open("rb") as fh:
            h = hashlib.sha256(fh.read(min(end, 4096)))
            fh.seek(max(0, end - 65536))
            h.update(fh.read(min(end, 65536)))
    except OSError:
        return None
    return h.hexdigest()
