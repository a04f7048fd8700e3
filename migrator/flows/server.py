"""The `Server` the flows talk to: exactly the calls plan, run, upload, resolve, verify and the
quota pre-check make on an IMAP account, and nothing else.

imap/client.py's ImapTarget satisfies it structurally (the only implementation used by the
product; the CLI's connect factory constructs it). tests/support/memory_server.py is an in-memory
one for unit tests of flow decisions (batching, crash points, accounting); behaviour tests use the
real Dovecot. The flows never write anything but CREATE, SUBSCRIBE and APPEND (the target only
grows): there is no call here that could delete, expunge, move or re-flag.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from migrator.imap.wire import AppendItem, AppendOutcome, FolderStatus, PendingAppend, Quota, ServerMessage

__all__ = ["Server", "AppendItem", "AppendOutcome", "FolderStatus", "PendingAppend", "Quota", "ServerMessage"]


@runtime_checkable
class Server(Protocol):
    """One authenticated connection to the target account (IMAP4rev1, RFC 3501).

    Errors: a dropped connection (socket, TLS, BYE) raises domain.errors.ConnectionLost from any
    call (flows/retry.py decides whether to reconnect); a refused CREATE raises FolderRefused; a
    refused APPEND is not an exception but an AppendOutcome with ok=False and the RFC 5530 code.
    """

    delimiter: str  # the hierarchy delimiter of the personal namespace ("/" or ".")

    @property
    def url(self) -> str:
        """The target as the user named it, without secrets (imaps://user@host:993)."""
        ...

    def has(self, capability: str) -> bool:
        """Whether the server announced `capability` after login (case-insensitive: "BINARY")."""
        ...

    def close(self) -> None:
        """LOGOUT (or drop); never raises."""
        ...

    def noop(self) -> None:
        """NOOP (RFC 3501 6.1.2): keeps an idle connection alive; ConnectionLost if it is not."""
        ...

    # -- folders -------------------------------------------------------------------------------
    def folders(self) -> dict[str, frozenset[str]]:
        """{folder name (decoded): LIST attributes ("\\Sent", "\\HasNoChildren")} (RFC 3501 6.3.8)."""
        ...

    def known_folders(self) -> set[str]:
        """Folder names, listed once per connection and kept up to date by create_folder."""
        ...

    def special_use(self, folders: dict[str, frozenset[str]] | None = None) -> dict[str, str]:
        """{role ("sent", "drafts", "trash", "junk", "archive"): folder name} (RFC 6154)."""
        ...

    def create_folder(self, name: str) -> None:
        """CREATE + SUBSCRIBE of an absent folder; FolderRefused (with the server's words) when refused."""
        ...

    def status(self, name: str) -> FolderStatus:
        """STATUS (UIDVALIDITY UIDNEXT MESSAGES) of a folder (RFC 3501 6.3.10)."""
        ...

    def examine(self, folder: str) -> FolderStatus:
        """EXAMINE (read-only SELECT, RFC 3501 6.3.2); later fetches refer to this folder."""
        ...

    # -- limits --------------------------------------------------------------------------------
    def quota(self, name: str = "INBOX") -> Quota | None:
        """STORAGE of the quota root of `name` in bytes (RFC 9208), None when unlimited or unknown."""
        ...

    def append_limit(self) -> int | None:
        """The APPENDLIMIT capability in bytes (RFC 7889), None when not announced."""
        ...

    # -- APPEND --------------------------------------------------------------------------------
    def send_append(self, folder: str, items: Sequence[AppendItem]) -> PendingAppend:
        """Send a batch without waiting for the answer (MULTIAPPEND RFC 3502 when offered)."""
        ...

    def collect_append(self, pending: PendingAppend) -> list[AppendOutcome]:
        """The outcomes of a sent batch, one per item in order (UIDs from APPENDUID, RFC 4315)."""
        ...

    def append_many(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        """send_append + collect_append."""
        ...

    # -- read-only lookups ---------------------------------------------------------------------
    def index(self, folder: str, min_uid: int = 1, chunk: int = 2000) -> Iterator[ServerMessage]:
        """(UID, RFC822.SIZE, Message-ID) of every message with UID >= min_uid (EXAMINEs `folder`)."""
        ...

    def fetch_messages(self, uids: Sequence[int], *, body: bool = True,
                       chunk: int = 200) -> Iterator[tuple[int, bytes, frozenset[str], datetime | None, int]]:
        """(uid, BODY.PEEK[] bytes, FLAGS, INTERNALDATE (aware), RFC822.SIZE) of the folder examined."""
        ...

    def fetch_binary(self, uids: Sequence[int]) -> dict[int, bytes]:
        """{uid: BINARY.PEEK[] bytes} (RFC 3516) of the folder examined; {} without BINARY."""
        ...
