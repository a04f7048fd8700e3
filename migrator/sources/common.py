"""Pure helpers shared by the readers: header lookup and date choice on raw bytes."""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timezone

_HEADER_END = re.compile(rb"\r?\n\r?\n")
# A date no real mail has: used only when a message carries no usable date at all and the
# store offers none either (never the upload time, which would put old mail at the top).
EPOCH_FALLBACK = datetime(1980, 1, 1, tzinfo=timezone.utc)


def header_block(raw: bytes) -> bytes:
    """The header section of a message (without the blank line)."""
    m = _HEADER_END.search(raw)
    return raw[: m.start()] if m else raw


def header_values(raw: bytes, name: str) -> list[str]:
    """Every unfolded value of header `name` (case-insensitive), decoded latin-1 (bytes preserved)."""
    want = name.lower().encode("ascii") + b":"
    out: list[str] = []
    current: bytearray | None = None
    for line in header_block(raw).splitlines():
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current += b" " + line.strip()
            continue
        if current is not None:
            out.append(current.decode("latin-1").strip())
            current = None
        if line.lower().startswith(want):
            current = bytearray(line[len(want):].strip())
    if current is not None:
        out.append(current.decode("latin-1").strip())
    return out


def header_value(raw: bytes, name: str) -> str | None:
    vals = header_values(raw, name)
    return vals[0] if vals else None


def message_id(raw: bytes) -> str | None:
    """The Message-ID, with angle brackets, or None."""
    v = header_value(raw, "Message-ID")
    if not v:
        return None
    m = re.search(r"<[^<>\s]+>", v)
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
        dt = dt.replace(tzinfo=timezone.utc)
    if not (1970 <= dt.year <= 2100):
        return None
    return dt


def header_date(raw: bytes) -> datetime | None:
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
    """INTERNALDATE for a message: the store's own date(s) first, then Date:, then Received:.

    Never the time of the upload: a message with no usable date at all gets EPOCH_FALLBACK.
    """
    for dt in store_dates:
        if dt is not None:
            return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    return header_date(raw) or received_date(raw) or EPOCH_FALLBACK
