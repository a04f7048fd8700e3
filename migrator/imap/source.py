"""A source IMAP account, read-only: the protocol side of `imaps://USER@HOST` as a SOURCE.

`ImapReader` sends only LIST, STATUS, EXAMINE (RFC 3501 6.3.2: a read-only SELECT), UID SEARCH
and UID FETCH of FLAGS, INTERNALDATE, RFC822.SIZE and BODY.PEEK[] / BODY.PEEK[HEADER] (6.4.5: the
.PEEK forms never set \\Seen), besides the connection's CAPABILITY, STARTTLS, LOGIN and LOGOUT.
The read-only rule is structural: the reader has no method that could STORE, EXPUNGE, COPY, MOVE,
CREATE, DELETE, RENAME, APPEND or SUBSCRIBE, and the connection (imap/connection.py) it holds is
private. Connect, TLS and login are the target's (the same trust store, the same diagnoses, exit 3);
errors name the source and point at --source-insecure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Self

import imapclient
from imapclient import exceptions as imap_exc

from migrator.domain.config import TargetConfig
from migrator.domain.errors import ConnectionLost, MigratorError, SourceError
from migrator.domain.i18n import _
from migrator.imap.append import translated
from migrator.imap.connection import ImapConnection
from migrator.imap.wire import fetched_flags_date

META_CHUNK = 500  # UIDs per FETCH of FLAGS/INTERNALDATE/RFC822.SIZE (a few dozen KB of answer)


@dataclass(frozen=True)
class ListedFolder:
    """One mailbox of the LIST answer: its name (decoded from modified UTF-7), hierarchy delimiter
    ("" when flat) and attributes as sent (`\\Noselect`, RFC 6154 `\\Sent`, `\\All`...)."""

    name: str
    delimiter: str
    attributes: frozenset[str]

    @property
    def selectable(self) -> bool:
        """False for `\\Noselect` / `\\NonExistent` (a container without messages of its own)."""
        low = {a.lower() for a in self.attributes}
        return not ({"\\noselect", "\\nonexistent"} & low)


@dataclass(frozen=True)
class Examined:
    """EXAMINE's answer: UIDVALIDITY, UIDNEXT (0 when not sent), EXISTS."""

    uidvalidity: int
    uidnext: int
    exists: int


@dataclass(frozen=True)
class MessageMeta:
    """FLAGS, INTERNALDATE (aware; None when absent) and RFC822.SIZE (bytes) of one UID."""

    uid: int
    flags: frozenset[str]
    internaldate: datetime | None
    size: int


def for_source(exc: MigratorError) -> MigratorError:
    """A connection's diagnosis (imap/diagnose.py), worded for the source: the same exit code, the
    message saying it is the source, the source's option names in the hint (--source-insecure)."""
    exc.message = _("source: {message}").format(message=exc.message)
    exc.args = (exc.message,)
    exc.hint = (exc.hint or "").replace("--insecure", "--source-insecure")
    return exc


class ImapReader:
    """A read-only session with a source IMAP account (see the module docstring). Use as a
    context manager or call `connect()` and `close()`."""

    def __init__(self, cfg: TargetConfig, on_plaintext: Callable[[str], None] | None = None) -> None:
        """`on_plaintext(line)`: called before the password goes without TLS (--source-insecure only)."""
        self._cfg = cfg
        self._on_plaintext = on_plaintext
        self._conn: ImapConnection | None = None
        self._selected: str | None = None

    def connect(self) -> Self:
        """Connect, TLS, log in (a diagnosed TargetError/TlsError/LoginError naming the source, exit 3)."""
        self.close()
        try:
            self._conn = ImapConnection(self._cfg, self._on_plaintext).connect()
        except MigratorError as exc:
            raise for_source(exc) from None
        return self

    def __enter__(self) -> Self:
        return self.connect() if self._conn is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """LOGOUT (never EXPUNGE: EXAMINE'd mailboxes are left as they are); never raises."""
        conn, self._conn, self._selected = self._conn, None, None
        if conn is not None:
            conn.close()

    @property
    def connected(self) -> bool:
        """Whether a session is open (it may still have dropped since)."""
        return self._conn is not None

    @property
    def capabilities(self) -> frozenset[str]:
        """What the server announced after login (upper case)."""
        return self._conn.capabilities if self._conn is not None else frozenset()

    def _client(self) -> imapclient.IMAPClient:  # kept private: the reader's commands are its methods
        if self._conn is None:
            raise ConnectionLost(_("source: not connected"))
        return self._conn.client

    def list_folders(self) -> list[ListedFolder]:
        """LIST "" "*": every mailbox with its delimiter and attributes, in the server's order."""
        out: list[ListedFolder] = []
        with translated("source"):
            listed = self._client().list_folders()
        for flags, delim, name in listed:
            d = delim.decode() if isinstance(delim, bytes) else (delim or "")
            out.append(ListedFolder(str(name), d,
                                    frozenset(f.decode() if isinstance(f, bytes) else str(f) for f in flags)))
        return out

    def status(self, name: str) -> tuple[int, int, int, int]:
        """STATUS (UIDVALIDITY UIDNEXT MESSAGES [HIGHESTMODSEQ]) without selecting: a cheap change
        detector (HIGHESTMODSEQ, RFC 7162, moves on any flag change; 0 without CONDSTORE)."""
        items = [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES"] + ([b"HIGHESTMODSEQ"] if "CONDSTORE" in self.capabilities
                                                                else [])
        with translated("source"):
            st = self._client().folder_status(name, items)
        return (int(st.get(b"UIDVALIDITY", 0)), int(st.get(b"UIDNEXT", 0)), int(st.get(b"MESSAGES", 0)),
                int(st.get(b"HIGHESTMODSEQ", 0)))

    def counts(self, name: str) -> tuple[int, int | None]:
        """STATUS (MESSAGES [SIZE]) without selecting: (messages, total RFC822.SIZE in bytes, or None
        when the server has no STATUS=SIZE, RFC 8438)."""
        sized = "STATUS=SIZE" in self.capabilities
        with translated("source"):
            st = self._client().folder_status(name, [b"MESSAGES"] + ([b"SIZE"] if sized else []))
        return int(st.get(b"MESSAGES", 0)), int(st[b"SIZE"]) if sized and b"SIZE" in st else None

    def examine(self, name: str) -> Examined:
        """EXAMINE `name` (read-only: nothing the reader does can change it; RFC 3501 6.3.2)."""
        try:
            with translated("source"):
                info = self._client().select_folder(name, readonly=True)
        except imap_exc.IMAPClientAbortError:
            raise
        except imap_exc.IMAPClientError as exc:
            raise SourceError(_("source: cannot open folder {name}: {reason}").format(name=repr(name), reason=exc),
                              hint=_("The folder may have been deleted or renamed on the server; run again.")) from exc
        self._selected = name
        return Examined(int(info.get(b"UIDVALIDITY", 0)), int(info.get(b"UIDNEXT", 0)), int(info.get(b"EXISTS", 0)))

    @property
    def selected(self) -> str | None:
        """The mailbox last EXAMINEd on this session (None after a reconnect)."""
        return self._selected

    def uids(self, min_uid: int = 1) -> list[int]:
        """UIDs of the examined mailbox, ascending, >= min_uid (UID SEARCH; `n:*` also matches the
        highest UID when all are below n, RFC 3501 6.4.8: filtered out here)."""
        with translated("source"):
            found = self._client().search(["UID", f"{max(1, min_uid)}:*"] if min_uid > 1 else ["ALL"])
        return sorted(u for u in found if u >= min_uid)

    def meta(self, uids: Sequence[int]) -> Iterator[MessageMeta]:
        """FLAGS, INTERNALDATE, RFC822.SIZE of `uids` (examined mailbox), META_CHUNK at a time; a UID
        expunged meanwhile is left out."""
        for i in range(0, len(uids), META_CHUNK):
            part = list(uids[i:i + META_CHUNK])
            with translated("source"):
                data = self._client().fetch(part, [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"])
            for uid in part:
                item = data.get(uid)
                if item is None:
                    continue
                flags, date = fetched_flags_date(item)
                yield MessageMeta(uid, flags, date, int(item.get(b"RFC822.SIZE", 0)))

    def bodies(self, uids: Sequence[int], *, headers_only: bool = False) -> dict[int, bytes]:
        """{uid: bytes} of BODY.PEEK[] (or BODY.PEEK[HEADER]: the header block only) for `uids` of
        the examined mailbox, in one UID FETCH: the caller keeps the batch small (memory)."""
        if not uids:
            return {}
        item, key = (b"BODY.PEEK[HEADER]", b"BODY[HEADER]") if headers_only else (b"BODY.PEEK[]", b"BODY[]")
        with translated("source"):
            data = self._client().fetch(list(uids), [item])
        return {uid: bytes(v.get(key) or b"") for uid, v in data.items()}
