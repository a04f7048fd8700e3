"""One Apple Mail message file: `.emlx` / `.partial.emlx` (pure; no file access).

Layout (Thunderbird's nsEmlxHelperUtils, jwz's notes, ../shared/reference/store-formats.md):
the first line is the decimal length N of the message in bytes; then exactly N bytes of RFC 5322
message (LF line ends); then an XML property list (read with `plistlib`) whose `flags` integer
and `date-received` (seconds since the epoch, UTC) are what a migration needs.

`flags` bits (confirmed in Thunderbird's mailnews/import/applemail nsEmlxHelperUtils.h
EmlxMetadataMask, citing jwz): 0 read, 1 deleted, 2 answered, 3 encrypted, 4 flagged, 5 recent,
6 draft, 7 initial, 8 forwarded, 9 redirected, 10-15 attachment count, 16-22 priority, 23 signed,
24 junk, 25 not junk. Thunderbird maps read, answered, flagged and forwarded; we also map draft
to \\Draft. A message with the deleted bit is one Apple Mail marked deleted without removing it
(an IMAP account's message not yet expunged): skipped with that reason, as Maildir's T and
Thunderbird's Expunged are.
"""

from __future__ import annotations

import plistlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

from migrator.domain.dates import timestamp_date
from migrator.domain.records import ANSWERED, DRAFT, FLAGGED, SEEN

READ, DELETED_BIT, ANSWERED_BIT, FLAGGED_BIT, DRAFT_BIT, FORWARDED_BIT = 1 << 0, 1 << 1, 1 << 2, 1 << 4, 1 << 6, 1 << 8
_FLAG_BITS = ((READ, SEEN), (ANSWERED_BIT, ANSWERED), (FLAGGED_BIT, FLAGGED), (DRAFT_BIT, DRAFT),
              (FORWARDED_BIT, "$Forwarded"))
_LENGTH_DIGITS = 12  # a first line longer than this is not a byte count


class EmlxError(ValueError):
    """The file is not an .emlx message (the reason is the text)."""


@dataclass
class Emlx:
    """A parsed .emlx: the message bytes and what its property list says.

    flags: IMAP flags from the plist `flags` bits (never \\Deleted). deleted: bit 1 set.
    received: `date-received` (aware, UTC) or None. plist_problem: why the property list could
    not be read ("" when it could: then flags and received are known)."""

    message: bytes
    flags: frozenset[str] = frozenset()
    deleted: bool = False
    received: datetime | None = None
    plist: dict[str, object] = field(default_factory=dict)
    plist_problem: str = ""


def flags_of(bits: int) -> tuple[frozenset[str], bool]:
    """(IMAP flags, deleted) from the plist `flags` integer (see the module docstring)."""
    return frozenset(flag for bit, flag in _FLAG_BITS if bits & bit), bool(bits & DELETED_BIT)


def parse(data: bytes) -> Emlx:
    """Split an .emlx file's bytes into the message and its metadata.

    Raises EmlxError when the first line is not a byte count or the file holds fewer bytes than it
    says (a truncated copy: never uploaded as if complete). A missing or damaged property list
    is not an error: the message is whole; `plist_problem` says what was lost (its flags, its date)."""
    end = data.find(b"\n")
    count = data[:end].strip() if end >= 0 else b""
    if not count.isdigit() or len(count) > _LENGTH_DIGITS:
        raise EmlxError("does not start with the message's length in bytes: not an Apple Mail .emlx file")
    n = int(count)
    start = end + 1
    message = data[start:start + n]
    if len(message) < n:
        raise EmlxError(f"truncated: the file holds {len(message)} of the {n} message bytes its first line announces")
    rest = data[start + n:]
    out = Emlx(message=message)
    if not rest.strip():
        out.plist_problem = "no property list after the message (its flags and date received are unknown)"
        return out
    try:
        plist = plistlib.loads(rest.lstrip())
    except Exception as exc:  # noqa: BLE001 - plistlib raises several kinds on damaged XML
        out.plist_problem = f"the property list cannot be read ({type(exc).__name__}): its flags are unknown"
        return out
    if not isinstance(plist, dict):
        out.plist_problem = "the property list is not a dictionary: its flags are unknown"
        return out
    out.plist = plist
    bits = plist.get("flags")
    if isinstance(bits, int) and not isinstance(bits, bool):
        out.flags, out.deleted = flags_of(bits)
    received = plist.get("date-received")
    if isinstance(received, (int, float)) and not isinstance(received, bool):
        out.received = timestamp_date(float(received))
    elif isinstance(received, datetime):  # a plist <date> is UTC; plistlib gives it naive
        out.received = received if received.tzinfo else received.replace(tzinfo=timezone.utc)
    return out
