"""The journal's records: a message's row (`Row`) and what is journalled before its APPEND (`Intent`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Row:
    """One message of the journal (table `messages`): where it goes (`target` folder, `fingerprint`
    of its content), where it came from (`stable_id`, `source_folder`, `locator`), its `status`
    (intent, done, failed, missing) and, once done, the (`uidvalidity`, `uid`) from APPENDUID
    (RFC 4315); `size` in bytes; `msg_date` the INTERNALDATE given (RFC 3501 date-time)."""

    id: int
    target: str
    fingerprint: str
    message_id: str | None
    size: int
    stable_id: str
    source_folder: str
    locator: str
    subject: str
    msg_date: str
    status: str
    uidvalidity: int | None
    uid: int | None
    uidnext_at_intent: int | None
    error: str | None
    quarantine: str | None
    date_source: str = ""


class Intent(NamedTuple):
    """What is journalled before a message is appended."""

    target: str
    fingerprint: str
    message_id: str | None
    size: int
    stable_id: str
    source_folder: str
    locator: str
    subject: str
    msg_date: str
    uidnext: int
    date_source: str = ""  # migrator.domain.dates.DATE_SOURCES


COLUMNS = (  # the messages table's columns in Row's order
    "id, target, fingerprint, message_id, size, stable_id, source_folder, locator, subject, msg_date, "
    "status, uidvalidity, uid, uidnext_at_intent, error, quarantine, date_source"
)
