"""An in-memory `flows.server.Server` for UNIT tests of flow decisions only (batching, crash
points, accounting, quarantine, over quota, dedupe). Behaviour tests use the real Dovecot.

`Account` is the mailbox store shared by every connection of a run (the upload workers open
their own); `Account.connect()` is the connect factory the flows take. Faults are injected on
the account:
- `drop_before` / `drop_after`: the connection dies when the K-th message (1-based, counted
  over the whole account) is about to be stored / right after it is stored (the client never
  reads the answer: the journal must resolve it by content);
- `refuse(item) -> (code, text) | None`: the server says NO to that message (a MULTIAPPEND
  holding it is refused whole, RFC 3502, like ImapTarget's retry one by one);
- `quota_limit`: bytes; an APPEND that would pass it gets NO [OVERQUOTA];
- `login_refused` / `down`: connect() raises LoginError / TargetError.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from migrator.domain.errors import ConnectionLost, FolderRefused, LoginError, TargetError
from migrator.domain.headers import message_id
from migrator.imap.wire import AppendItem, AppendOutcome, FolderStatus, PendingAppend, Quota, ServerMessage


@dataclass
class Stored:
    uid: int
    raw: bytes
    flags: frozenset[str]
    date: datetime


@dataclass
class Mailbox:
    uidvalidity: int
    uidnext: int = 1
    messages: list[Stored] = field(default_factory=list)


@dataclass
class Account:
    """The server side: folders, messages, faults, and a log of what the clients sent."""

    capabilities: frozenset[str] = frozenset({"MULTIAPPEND", "LITERAL+", "QUOTA", "UIDPLUS"})
    special: dict[str, str] = field(default_factory=lambda: {"sent": "Sent", "trash": "Trash"})
    quota_limit: int | None = None
    refuse: Callable[[AppendItem], tuple[str, str] | None] | None = None
    refuse_create: Callable[[str], bool] | None = None
    drop_before: int | None = None
    drop_after: int | None = None
    login_refused: bool = False
    down: bool = False
    boxes: dict[str, Mailbox] = field(default_factory=dict)
    appended: int = 0  # messages stored, over all connections
    commands: list[tuple[str, str, int]] = field(default_factory=list)  # ("APPEND"|"MULTIAPPEND", folder, items)
    connects: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        for name in ("INBOX", *self.special.values()):
            self.boxes.setdefault(name, Mailbox(uidvalidity=1000 + len(self.boxes)))

    def connect(self) -> MemoryServer:
        """A new logged-in connection (the flows' connect factory)."""
        with self.lock:
            self.connects += 1
            if self.login_refused:
                raise LoginError("[AUTHENTICATIONFAILED] Authentication failed.", hint="Check the password.",
                                 code="AUTHENTICATIONFAILED")
            if self.down:
                raise TargetError("memory:993 is unreachable", hint="Try again later.")
        return MemoryServer(self)

    def used(self) -> int:
        return sum(len(m.raw) for box in self.boxes.values() for m in box.messages)

    def raws(self, folder: str) -> list[bytes]:
        return [m.raw for m in self.boxes[folder].messages]

    def all_raws(self) -> list[bytes]:
        return [m.raw for box in self.boxes.values() for m in box.messages]


class MemoryServer:
    """One connection to an Account; satisfies flows.server.Server structurally."""

    delimiter = "/"

    def __init__(self, account: Account) -> None:
        self.account = account
        self.dead = False
        self._selected: str | None = None
        self._known: set[str] | None = None
        self._answers: dict[int, list[AppendOutcome]] = {}
        self._dropping = False
        self._tags = 0

    @property
    def url(self) -> str:
        return "imaps://user@memory:993"

    def _alive(self) -> None:
        if self.dead:
            raise ConnectionLost("connection lost (memory server)")

    def has(self, capability: str) -> bool:
        return capability.upper() in self.account.capabilities

    def close(self) -> None:
        self.dead = True

    def noop(self) -> None:
        self._alive()

    def folders(self) -> dict[str, frozenset[str]]:
        self._alive()
        roles = {v: k for k, v in self.account.special.items()}
        with self.account.lock:
            return {n: frozenset({"\\" + roles[n].capitalize()} if n in roles else ()) for n in self.account.boxes}

    def known_folders(self) -> set[str]:
        if self._known is None:
            self._known = set(self.folders())
        return self._known

    def special_use(self, folders: dict[str, frozenset[str]] | None = None) -> dict[str, str]:
        self._alive()
        return dict(self.account.special)

    def create_folder(self, name: str) -> None:
        self._alive()
        if self.account.refuse_create is not None and self.account.refuse_create(name):
            raise FolderRefused(f"the server refuses to create folder {name!r}: [CANNOT] bad name",
                                server_words="[CANNOT] bad name")
        with self.account.lock:
            self.account.boxes.setdefault(name, Mailbox(uidvalidity=1000 + len(self.account.boxes)))
        self.known_folders().add(name)

    def status(self, name: str) -> FolderStatus:
        self._alive()
        box = self.account.boxes[name]
        return FolderStatus(box.uidvalidity, box.uidnext, len(box.messages))

    def examine(self, folder: str) -> FolderStatus:
        st = self.status(folder)
        self._selected = folder
        return st

    def quota(self, name: str = "INBOX") -> Quota | None:
        self._alive()
        if self.account.quota_limit is None:
            return None
        return Quota(root="", used=self.account.used(), limit=self.account.quota_limit)

    def append_limit(self) -> int | None:
        return None

    # -- APPEND --------------------------------------------------------------------------------
    def _store(self, folder: str, item: AppendItem) -> AppendOutcome:
        acc = self.account
        refusal = acc.refuse(item) if acc.refuse is not None else None
        if refusal is not None:
            return AppendOutcome(ok=False, code=refusal[0], text=f"NO [{refusal[0]}] {refusal[1]}")
        if acc.quota_limit is not None and acc.used() + len(item.raw) > acc.quota_limit:
            return AppendOutcome(ok=False, code="OVERQUOTA", text="NO [OVERQUOTA] Quota exceeded")
        if acc.drop_before is not None and acc.appended + 1 == acc.drop_before:
            acc.drop_before = None
            self._dropping = True
            raise _Drop()
        box = acc.boxes[folder]
        box.messages.append(Stored(box.uidnext, item.raw, item.flags, item.date))
        box.uidnext += 1
        acc.appended += 1
        if acc.drop_after is not None and acc.appended == acc.drop_after:
            acc.drop_after = None
            self._dropping = True
        return AppendOutcome(ok=True, uidvalidity=box.uidvalidity, uid=box.uidnext - 1)

    def send_append(self, folder: str, items: Sequence[AppendItem]) -> PendingAppend:
        self._alive()
        acc = self.account
        multi = len(items) > 1 and self.has("MULTIAPPEND")
        outcomes: list[AppendOutcome] = []
        with acc.lock:
            try:
                if multi:
                    acc.commands.append(("MULTIAPPEND", folder, len(items)))
                    refused = [acc.refuse(i) for i in items] if acc.refuse is not None else []
                    over = acc.quota_limit is not None and acc.used() + sum(len(i.raw) for i in items) > acc.quota_limit
                    if acc.drop_before is not None and acc.appended < acc.drop_before <= acc.appended + len(items):
                        acc.drop_before = None  # a MULTIAPPEND cut short stores none of its messages (RFC 3502)
                        self._dropping = True
                    elif over:  # atomic (RFC 3502): none stored
                        outcomes = [AppendOutcome(ok=False, code="OVERQUOTA", text="NO [OVERQUOTA] Quota exceeded")] * len(items)
                    elif any(refused):  # ImapTarget sends them again one by one
                        for item in items:
                            acc.commands.append(("APPEND", folder, 1))
                            outcomes.append(self._store(folder, item))
                    else:
                        outcomes = [self._store(folder, item) for item in items]
                else:
                    for item in items:
                        acc.commands.append(("APPEND", folder, 1))
                        outcomes.append(self._store(folder, item))
            except _Drop:
                pass
        self._tags += 1
        tag = self._tags
        self._answers[tag] = outcomes
        return PendingAppend(folder, list(items), [b"%d" % tag], multi=multi, early={})

    def collect_append(self, pending: PendingAppend) -> list[AppendOutcome]:
        self._alive()
        if self._dropping:  # the connection died before the answer was read
            self.dead = True
            raise ConnectionLost("connection lost while reading (injected)")
        return self._answers.pop(int(pending.tags[0]))

    def append_many(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        return self.collect_append(self.send_append(folder, items))

    # -- read-only lookups ---------------------------------------------------------------------
    def index(self, folder: str, min_uid: int = 1, chunk: int = 2000) -> Iterator[ServerMessage]:
        self.examine(folder)
        for m in list(self.account.boxes[folder].messages):
            if m.uid >= min_uid:
                yield ServerMessage(uid=m.uid, size=len(m.raw), message_id=message_id(m.raw.split(b"\r\n\r\n")[0]))

    def fetch_messages(self, uids: Sequence[int], *, body: bool = True,
                       chunk: int = 200) -> Iterator[tuple[int, bytes, frozenset[str], datetime | None, int]]:
        self._alive()
        assert self._selected is not None
        by_uid = {m.uid: m for m in self.account.boxes[self._selected].messages}
        for uid in uids:
            m = by_uid.get(uid)
            if m is not None:
                yield uid, m.raw if body else b"", m.flags, m.date, len(m.raw)

    def fetch_binary(self, uids: Sequence[int]) -> dict[int, bytes]:
        return {}


class _Drop(Exception):
    """The injected drop: nothing after it is stored on this connection."""
