"""(pure) The APPEND side of the IMAP wire: records, quoting, dates, flag lists, UID sets, and the
crash hook of the crash-after-every-step tests. No socket here: target/imap.py sends."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from migrator.imap import utf7

TAGGED = re.compile(rb"^(?P<tag>\S+) (?P<status>OK|NO|BAD)(?: \[(?P<code>[^\]]*)\])? ?(?P<text>.*)$", re.I)
_KEYWORD = re.compile(r"^[!#$%&'+\-.0-9A-Z^_`a-z|~]+$")


@dataclass(frozen=True)
class AppendItem:
    """One message to append: `raw` with CRLF line ends (identity.to_crlf), flags, INTERNALDATE."""

    raw: bytes
    flags: frozenset[str]
    date: datetime


@dataclass
class PendingAppend:
    """A batch sent but not yet answered (see ImapTarget.send_append)."""

    folder: str
    items: list[AppendItem]
    tags: list[bytes]
    multi: bool
    early: dict[bytes, tuple[bytes, bytes, bytes]]


@dataclass(frozen=True)
class AppendOutcome:
    ok: bool
    uidvalidity: int | None = None
    uid: int | None = None
    code: str | None = None  # RFC 5530 response code on failure (OVERQUOTA, TOOBIG, LIMIT...)
    text: str = ""


@dataclass(frozen=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int
    messages: int


@dataclass(frozen=True)
class ServerMessage:
    uid: int
    size: int
    message_id: str | None


@dataclass(frozen=True)
class Quota:
    root: str
    used: int  # bytes
    limit: int  # bytes


def quote(name: str) -> bytes:
    """A folder name as an IMAP quoted string: modified UTF-7 (RFC 3501 5.1.3), `\\` and `"` escaped."""
    enc = utf7.encode(name)
    return b'"' + enc.replace("\\", "\\\\").replace('"', '\\"').encode("ascii") + b'"'


def internaldate(dt: datetime) -> bytes:
    """An APPEND date-time (RFC 3501 9: `"DD-Mon-YYYY HH:MM:SS +zzzz"`), naive datetimes taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.strftime('"%d-%b-%Y %H:%M:%S %z"').encode("ascii")


# The system flags an APPEND carries (RFC 3501 2.3.2); \Deleted and \Recent never go up.
SYSTEM_FLAGS = {"\\seen": "\\Seen", "\\answered": "\\Answered", "\\flagged": "\\Flagged", "\\draft": "\\Draft"}


def keywords(flags: frozenset[str]) -> list[str]:
    """The keywords of `flags` that can be sent: RFC 3501 atoms (no atom-specials, ASCII), sorted."""
    return sorted(f for f in flags if not f.startswith("\\") and _KEYWORD.match(f))


def invalid_flags(flags: frozenset[str]) -> list[str]:
    """Flags that cannot be sent at all: keywords with atom-specials (RFC 3501 9: '(' ')' '{' ' '
    '%' '*' '"' '\\' ']', controls) or non-ASCII characters, and unknown system flags (\\Foo)."""
    return sorted(f for f in flags if (f.lower() not in SYSTEM_FLAGS and f.lower() not in ("\\deleted", "\\recent")
                                       if f.startswith("\\") else not _KEYWORD.match(f)))


def system_flags(flags: frozenset[str]) -> frozenset[str]:
    """Only the system flags (\\Seen \\Answered \\Flagged \\Draft): what a message refused for its
    keywords is sent again with."""
    return frozenset(SYSTEM_FLAGS[f.lower()] for f in flags if f.lower() in SYSTEM_FLAGS)


# Longest keyword (bytes) that common servers all store: Dovecot's mail_max_keyword_length is 50;
# RFC 3501 sets no limit. A message refused for its keywords is sent again with only these first.
SHORT_KEYWORD = 50


def fallback_flags(flags: frozenset[str], level: int) -> frozenset[str]:
    """What a message goes up with after the server refused its keywords `level` times: 0 every
    flag; 1 the system flags and the keywords of at most SHORT_KEYWORD characters (the refusal was
    most likely an over-long one); 2 and above the system flags only."""
    if level <= 0:
        return flags
    if level == 1:
        return system_flags(flags) | frozenset(k for k in keywords(flags) if len(k) <= SHORT_KEYWORD)
    return system_flags(flags)


def next_fallback(flags: frozenset[str], level: int) -> int | None:
    """The next level for a message refused at `level` (see fallback_flags), skipping a level that
    would send the same flags again; None when only the system flags are left to send."""
    sent = keywords(fallback_flags(flags, level))  # the system flags always go; what differs is keywords
    for nxt in (level + 1, level + 2):
        if nxt <= 2 and keywords(fallback_flags(flags, nxt)) != sent:
            return nxt
    return None


def flag_list(flags: frozenset[str]) -> bytes:
    """The APPEND flag list: system flags and valid keywords; what invalid_flags names is left out."""
    good = sorted(system_flags(flags) | frozenset(keywords(flags)))
    return b"(" + " ".join(good).encode("ascii") + b")"


def parse_uid_set(text: str) -> list[int]:
    """A uid-set (RFC 4315 APPENDUID / COPYUID: `5,7:9`) as the list of UIDs it names, in order
    (ranges ascending whichever end comes first); ValueError on a malformed set.
    """
    out: list[int] = []
    for part in text.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            out.extend(range(min(a, b), max(a, b) + 1))
        elif part:
            out.append(int(part))
    return out


class CrashPoint:
    """Test hook for crash-after-every-step tests (isync's discipline): with
    MIGRATE_TEST_CRASH=sent:K the process dies right after sending its K-th APPEND command,
    with answered:K right after the K-th answer arrives (before the journal records it)."""

    def __init__(self, where: str, k: int) -> None:
        self.where = where
        self.k = k
        self.count = {"sent": 0, "answered": 0}

    @classmethod
    def from_env(cls) -> CrashPoint | None:
        """The crash point MIGRATE_TEST_CRASH names (`sent:K` or `answered:K`), or None."""
        spec = os.environ.get("MIGRATE_TEST_CRASH", "")
        if ":" not in spec:
            return None
        where, _, k = spec.partition(":")
        return cls(where, int(k)) if where in ("sent", "answered") and k.isdigit() else None

    def step(self, where: str) -> None:
        """Count one `where` event; exit the process at once (status 137, as kill -9) at the K-th."""
        self.count[where] += 1
        if where == self.where and self.count[where] == self.k:
            os._exit(137)


def fetched_flags_date(item: dict[bytes, object]) -> tuple[frozenset[str], datetime | None]:
    """The FLAGS and INTERNALDATE of one message of a FETCH response (imapclient's dict per UID,
    RFC 3501 section 7.4.2): the flags as text, the date timezone-aware (UTC when the server gave
    no zone), None when the response had no INTERNALDATE."""
    raw_flags = item.get(b"FLAGS", ())
    flags = frozenset(f.decode() if isinstance(f, bytes) else str(f)
                      for f in (raw_flags if isinstance(raw_flags, (tuple, list)) else ()))
    date = item.get(b"INTERNALDATE")
    if not isinstance(date, datetime):
        return flags, None
    return flags, date if date.tzinfo is not None else date.replace(tzinfo=timezone.utc)

