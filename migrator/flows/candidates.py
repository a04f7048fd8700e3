"""The upload candidates of one scan pass (plan.py's Scanner feeds them, the quota and the diet read
them): parallel arrays of date, size and source folder, kept flat in memory however big the source.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.header import decode_header, make_header
from typing import TYPE_CHECKING, Any

from migrator.domain.headers import header_value
from migrator.domain.models import BigMessage
from migrator.domain.records import MessageRecord

if TYPE_CHECKING:  # annotations only: plan.py imports this module
    from migrator.flows.plan import Entry, Scanned


def readable(header: str) -> str:
    """A header value for people: RFC 2047 encoded words decoded (as is when that fails)."""
    try:
        return str(make_header(decode_header(header)))
    except (ValueError, LookupError, UnicodeError):
        return header


def utc_day(dt: datetime) -> str:
    """The UTC day of a date, as YYYY-MM-DD (isoformat: a third of strftime's cost, per message)."""
    return (dt if dt.tzinfo is timezone.utc else dt.astimezone(timezone.utc)).date().isoformat()


@dataclass
class Candidates:
    """Running totals of one pass, for the quota and the diet.

    The upload candidates are kept as parallel arrays (about 28 bytes a message): date, size,
    source folder and a 60-bit key of (target folder, fingerprint). A byte-identical copy in the
    same target folder (a DUPLICATE) moves its candidate's date to the newest copy: under a
    `--since` cut that copy would be the one uploaded (`settle_copies`, after the pass).
    """

    dates: array[float] = field(default_factory=lambda: array("d"))  # upload candidates: timestamp
    sizes: array[int] = field(default_factory=lambda: array("q"))
    where: array[int] = field(default_factory=lambda: array("i"))  # candidate -> index into `names`
    names: list[str] = field(default_factory=list)  # source folders (display), by index
    targets: list[str] = field(default_factory=list)  # their target folders
    junk: list[str | None] = field(default_factory=list)  # the target name when it is a Trash/Junk folder
    current: int = 0
    keys: array[int] = field(default_factory=lambda: array("q"))  # candidate -> key of (target, fingerprint)
    copy_keys: array[int] = field(default_factory=lambda: array("q"))  # duplicates seen: key, date
    copy_dates: array[float] = field(default_factory=lambda: array("d"))
    kept: dict[str, dict[str, object]] = field(default_factory=dict)
    max_bytes: int | None = None  # larger messages are listed as too big, not counted as needed
    too_big: list[BigMessage] = field(default_factory=list)
    too_big_bytes: int = 0
    at_risk: int = 0
    at_risk_messages: list[BigMessage] = field(default_factory=list)

    def enter(self, entry: Entry, junk: bool) -> None:
        """Start counting a source folder's messages (`junk`: its target is a Trash or Junk folder)."""
        self.current = len(self.names)
        self.names.append(entry.folder.display)
        self.targets.append(entry.target)
        self.junk.append(entry.target if junk else None)

    @staticmethod
    def _key(target: str, fp: str) -> int:
        return int(fp[:15], 16) ^ (hash(target) & 0x0FFF_FFFF_FFFF_FFFF) if fp else -1

    def candidate(self, s: Scanned) -> None:
        """Note an upload candidate: its date (POSIX seconds), size (bytes), folder and content key."""
        self.dates.append(s.record.date.timestamp())
        self.sizes.append(s.size)
        self.where.append(self.current)
        self.keys.append(self._key(s.entry.target, s.fingerprint))

    def copy_seen(self, s: Scanned) -> None:
        """Note a byte-identical copy (a DUPLICATE) of a candidate and its date (see settle_copies)."""
        if s.fingerprint:
            self.copy_keys.append(self._key(s.entry.target, s.fingerprint))
            self.copy_dates.append(s.record.date.timestamp())

    def settle_copies(self) -> None:
        """Give each candidate the date of its newest copy (duplicates are few: one dict of them)."""
        newest: dict[int, float] = {}
        for k, d in zip(self.copy_keys, self.copy_dates, strict=True):
            newest[k] = max(newest.get(k, d), d)
        if newest:
            for i, k in enumerate(self.keys):
                latest = newest.get(k)
                if latest is not None and latest > self.dates[i]:
                    self.dates[i] = latest
        self.copy_keys, self.copy_dates = array("q"), array("d")

    def big(self, s: Scanned) -> None:
        """Note a message over --max-size: its bytes counted, the first 200 listed (BigMessage)."""
        self.too_big_bytes += s.size
        if len(self.too_big) < 200:
            self.too_big.append(BigMessage(folder=s.entry.folder.display, target=s.entry.target,
                                           locator=s.record.locator, subject=readable(subject_of_scanned(s)),
                                           date=utc_day(s.record.date), size=s.size))

    def risky(self, s: Scanned) -> None:
        """A message whose bytes a plain literal cannot carry (identity.at_risk): listed by plan."""
        self.at_risk += 1
        if len(self.at_risk_messages) < 200:
            self.at_risk_messages.append(BigMessage(folder=s.entry.folder.display, target=s.entry.target,
                                                    locator=s.record.locator, subject=readable(subject_of_scanned(s)),
                                                    date=utc_day(s.record.date), size=s.size))

    def keep(self, folder: str, s: Scanned) -> None:
        """Note a message the diet leaves local (`folder`'s ledger line: count, bytes, date range, reason)."""
        self.kept_one(folder, s.size, utc_day(s.record.date), s.reason or "filtered")

    def kept_one(self, folder: str, size: int, day: str, why: str) -> None:
        """Count one message left local in `folder`: `size` bytes, its UTC `day` (YYYY-MM-DD), `why`."""
        k: dict[str, Any] = self.kept.setdefault(
            folder, {"messages": 0, "bytes": 0, "oldest": None, "newest": None, "reasons": {}})
        k["messages"] += 1
        k["bytes"] += size
        k["oldest"] = day if k["oldest"] is None or day < k["oldest"] else k["oldest"]
        k["newest"] = day if k["newest"] is None or day > k["newest"] else k["newest"]
        k["reasons"][why] = k["reasons"].get(why, 0) + 1


def subject_of(rec: MessageRecord) -> str:
    """The message's Subject header as stored (undecoded, unfolded), at most 200 characters; "" when none."""
    return (header_value(rec.raw, "Subject") or "")[:200]


def subject_of_scanned(s: Scanned) -> str:
    """The Subject of a scanned message: the one noted at scan time, else read from its record."""
    return s.subject if s.subject is not None else subject_of(s.record)
