"""The INTERNALDATE policy: one rule, for every reader, for the date a message gets on the server.

RFC 3501 section 2.3.3 (RFC 9051 section 2.3.3): INTERNALDATE is "the date and time the message
was received", which IMAP clients show and sort by. A migrated message must keep the day it
arrived in the old mailbox, never the day of the copy. Every reader (mbox, Maildir, Thunderbird,
PST, and the readers to come: Becky!, .eml, .emlx, IMAP and POP sources) calls `internaldate`
with what its store knows, and keeps the answer and its source in `MessageRecord.date` and
`MessageRecord.date_source`.

Candidates, most trustworthy first (docs/concepts.md, "Dates and flags", gives the reasons):

1. the store's own delivery time, in the order the reader gives them: the mbox `From ` line,
   the Maildir file name's timestamp, PST PR_MESSAGE_DELIVERY_TIME then PR_CLIENT_SUBMIT_TIME;
2. the newest (topmost) `Received:` header with a plausible date (the final server's clock);
3. the `Date:` header (the sender's clock; the only date of sent mail and drafts);
4. the file's modification time, only when nothing above exists (copies rarely keep mtimes);
5. FALLBACK (1980-01-01T00:00:00Z), never the time of the upload.

A candidate is used only when it is plausible (`implausible` says why not): not before 1980
(this covers the Unix epoch, what a `From ` line placeholder or a zeroed clock gives), not git
format-patch's placeholder `Mon Sep 17 00:00:00 2001`, not more than a day in the future.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone

from migrator.domain.headers import EPOCH_FALLBACK, Headers, parse_date

# Where a message's INTERNALDATE came from (MessageRecord.date_source, journal messages.date_source).
FROM_LINE = "from-line"  # mbox / Thunderbird `From ` separator line (asctime, local wall clock)
FILE_NAME = "file-name"  # Maildir unique name's leading seconds since the epoch (delivery)
DELIVERY_TIME = "delivery-time"  # PST PR_MESSAGE_DELIVERY_TIME
SUBMIT_TIME = "submit-time"  # PST PR_CLIENT_SUBMIT_TIME
CREATION_TIME = "creation-time"  # PST PR_CREATION_TIME (items that are not mail)
SERVER_TIME = "internaldate"  # a server source's INTERNALDATE (IMAP source: RFC 3501 2.3.3)
RECEIVED = "received"  # the newest Received: header's date
DATE_HEADER = "date-header"  # the Date: header
MTIME = "mtime"  # the file's modification time
FALLBACK_SOURCE = "fallback"  # nothing plausible: FALLBACK
DATE_SOURCES = (FROM_LINE, FILE_NAME, DELIVERY_TIME, SUBMIT_TIME, CREATION_TIME, SERVER_TIME, RECEIVED, DATE_HEADER,
                MTIME, FALLBACK_SOURCE)

# The date of a message nothing dates (and of records that carry no message: errors, skips).
FALLBACK = EPOCH_FALLBACK  # 1980-01-01T00:00:00Z
EARLIEST = FALLBACK  # anything before is implausible (the epoch, 1970 placeholders, two-digit years)
FUTURE_SLACK = timedelta(days=1)  # clocks run fast; more than this ahead of now is implausible
# `git format-patch` writes this fixed date on its `From <sha>` line (a magic placeholder).
_FORMAT_PATCH = (2001, 9, 17, 0, 0, 0)

MtimeArg = float | datetime | Callable[[], float | datetime | None] | None


def implausible(dt: datetime, *, now: datetime | None = None) -> str | None:
    """Why `dt` cannot be a delivery time, or None when it can.

    dt: aware, or naive (then read as UTC). now: the reference for "future" (default: the clock).
    Reasons: "before 1980" (includes the epoch), "git format-patch placeholder", "in the future".
    """
    aware = dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)
    if aware < EARLIEST:
        return "the epoch" if (dt.year, dt.month, dt.day) == (1970, 1, 1) else "before 1980"
    if (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second) == _FORMAT_PATCH:
        return "git format-patch placeholder"
    if aware > (now or datetime.now(timezone.utc)) + FUTURE_SLACK:
        return "in the future"
    return None


def timestamp_date(ts: float | None) -> datetime | None:
    """Seconds since the epoch (UTC) as an aware datetime; None when absent or out of range."""
    if ts is None:
        return None
    try:
        return datetime.fromtimestamp(ts, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def wall_clock(dt: datetime | None) -> datetime | None:
    """A date read from a zone-less text (an mbox `From ` line's asctime is the delivering host's
    local time) marked as such for `internaldate`: naive, so that the policy gives it a zone."""
    return dt.replace(tzinfo=None) if dt is not None else None


def _wall_clock(naive: datetime, refs: Iterable[datetime | None]) -> datetime:
    """A zone-less wall-clock time made aware. Writers differ: procmail, sendmail and Thunderbird
    write a `From ` line in the local time of the host, Python's mailbox and many exporters in UTC.
    The zone taken is the one, of UTC and the zones of the newest Received: and the Date: header,
    that puts the time nearest to the first of those headers (the same event, seconds apart),
    within a day of it; UTC when there is no header date, when no zone comes within a day (the
    header dates another event: a Date: written years before) or on a tie."""
    ref = next((r for r in refs if r is not None), None)
    if ref is None:
        return naive.replace(tzinfo=timezone.utc)
    best = naive.replace(tzinfo=timezone.utc)
    for other in refs:
        if other is None or other.tzinfo is None:
            continue
        candidate = naive.replace(tzinfo=other.tzinfo)
        if abs(candidate - ref) < min(abs(best - ref), timedelta(days=1)):  # the same event, nearer
            best = candidate
    return best


def _received(headers: Headers) -> Iterator[datetime]:
    """The dates of the Received: headers, newest (topmost) first, parsed one by one as asked;
    unparsable ones left out (RFC 5322 section 3.6.7: the date follows the last ';')."""
    for value in headers.values("Received"):
        if ";" in value:
            dt = parse_date(value.rsplit(";", 1)[1])
            if dt is not None:
                yield dt


def received_dates(headers: Headers) -> list[datetime]:
    """The dates of the Received: headers, newest (topmost) first; unparsable ones left out."""
    return list(_received(headers))


def internaldate(raw: bytes | Headers, *, store_times: Iterable[tuple[str, datetime | None]] = (),
                 mtime: MtimeArg = None, now: datetime | None = None) -> tuple[datetime, str]:
    """The INTERNALDATE for a message and where it came from (one of DATE_SOURCES).

    raw: the message bytes (only the header block is read) or its parsed Headers; b"" when the
         reader has no bytes (a skipped item, a message passed over as known).
    store_times: the store's own delivery times, most trustworthy first, as (source, datetime):
         e.g. ((FROM_LINE, dt),) or ((DELIVERY_TIME, d), (SUBMIT_TIME, s)). None entries are
         ignored. A naive datetime is a wall-clock time with no zone (asctime on a `From ` line):
         it takes the zone of the Received:/Date: header describing the same moment, else UTC.
    mtime: the file's modification time (seconds since the epoch, a datetime, or a callable
         returning either, called only when no better candidate exists: a stat per message is
         saved); the last resort before FALLBACK.
    now: the reference for the "future" check (tests); default the current time.
    Returns (timezone-aware datetime, source). Never raises on bad input; never the time of reading.
    """
    now = now or datetime.now(timezone.utc)
    # headers are parsed only when needed: most messages are dated by their store (one read of
    # the header block costs more than the rest of the policy)
    parsed: list[Headers] = [raw] if isinstance(raw, Headers) else []

    def headers() -> Headers | None:
        if not parsed and raw:
            parsed.append(Headers(raw))  # type: ignore[arg-type]
        return parsed[0] if parsed else None

    def received_lazily() -> Iterator[datetime]:
        h = headers()
        if h is not None:
            yield from _received(h)

    received = received_lazily()
    seen: list[datetime] = []  # the Received: dates parsed so far, newest first
    date_header: list[datetime | None] = []  # [] until parsed

    def header_date() -> datetime | None:
        if not date_header:
            h = headers()
            date_header.append(parse_date(h.first("Date")) if h is not None else None)
        return date_header[0]

    for source, dt in store_times:
        if dt is None:
            continue
        if dt.tzinfo is None:
            if not seen:
                seen.extend(itertools.islice(received, 1))
            dt = _wall_clock(dt, [*seen[:1], header_date()])
        if implausible(dt, now=now) is None:
            return dt, source
    for dt in itertools.chain(seen, received):
        if implausible(dt, now=now) is None:
            return dt, RECEIVED
    date = header_date()
    if date is not None and implausible(date, now=now) is None:
        return date, DATE_HEADER
    when = mtime() if callable(mtime) else mtime
    dt = when if isinstance(when, datetime) else timestamp_date(when)
    if dt is not None:
        dt = dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)
        if implausible(dt, now=now) is None:
            return dt, MTIME
    return FALLBACK, FALLBACK_SOURCE
