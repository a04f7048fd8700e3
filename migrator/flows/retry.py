"""The one reconnect and back-off policy of every flow (run, upload workers, plan's scanner,
crash recovery after a drop).

- Transient: a dropped connection (domain.errors.ConnectionLost), a failed (re)connect
  (TargetError: unreachable, TLS handshake cut, BYE at login), a raw socket error. A new
  connection may cure these.
- Final at once: a refused login (errors.login_refused: the password or token was changed or
  revoked). Trying again would only lock the account, so it is raised on the first refusal.
- Back-off: 0.5, 1, 2, 4, 8, 16 s before the 1st..6th attempt (capped at 30 s): about 30 s of
  trying when the server is gone for good, then TargetError (exit 3, "nothing is lost").
- Throttling answers (NO [UNAVAILABLE] / [INUSE] / [SERVERBUG], RFC 5530, or a server's
  "backoff time" hint) are not drops: pushback_delay says how long to wait before re-sending.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from migrator.domain.errors import ConnectionLost, TargetError, login_refused
from migrator.domain.i18n import N_, _
from migrator.flows.server import AppendOutcome

S = TypeVar("S")
T = TypeVar("T")

DROPS: tuple[type[Exception], ...] = (ConnectionLost, TargetError, OSError)  # what a new connection may cure
TRANSIENT_CODES = frozenset({"UNAVAILABLE", "INUSE", "SERVERBUG"})  # RFC 5530: try again later
_BACKOFF_HINT = re.compile(r"backoff time[:\s]+(\d+)\s*(ms|milliseconds|s|seconds)?", re.I)
GIVE_UP_HINT = N_("Run the same command again when the server is reachable; nothing is lost.")


def default_backoff(attempt: int) -> float:
    """Seconds to wait before reconnect attempt `attempt` (0-based): 0.5 * 2**attempt, at most 30."""
    return min(30.0, 0.5 * 2.0**attempt)


def transient(exc: BaseException) -> bool:
    """Whether a new connection may cure `exc` (see the module docstring); a refused login never."""
    return isinstance(exc, DROPS) and not login_refused(exc)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a flow reconnects.

    `attempts`: connections tried after a drop before giving up (6 with the default back-off:
    about 30 s); `backoff(attempt)`: seconds before attempt `attempt` (0-based); `sleep`: the
    clock's sleep (tests pass a no-op); `settle`: seconds to let a server commit what it had
    read when the connection died, before asking it by content what arrived."""

    attempts: int = 6
    backoff: Callable[[int], float] = default_backoff
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    settle: float = 2.0  # seconds between a drop and asking the server what arrived (late commits)

    def pause(self, attempt: int) -> None:
        """Wait the back-off of attempt `attempt` (0-based), in seconds."""
        delay = self.backoff(attempt)
        if delay > 0:
            self.sleep(delay)

    def reconnect(self, connect: Callable[[], S]) -> S:
        """A new connection from `connect()`, tried `attempts` times with back-off before each.

        Raises the refusal at once when the login is refused (errors.login_refused), TargetError
        (exit 3) when every attempt failed."""
        last: Exception | None = None
        for attempt in range(self.attempts):
            self.pause(attempt)
            try:
                return connect()
            except (TargetError, ConnectionLost) as exc:
                if login_refused(exc):
                    raise  # the password was changed or revoked: trying again would only lock the account
                last = exc
        raise TargetError(_("lost the connection and could not reconnect: {reason}").format(reason=last),
                      hint=_(GIVE_UP_HINT))


def retrying(fn: Callable[[S], T], current: Callable[[], S], reconnect: Callable[[], object] | None,
             reconnects: int) -> T:
    """`fn(current())`; when it raises ConnectionLost, `reconnect()` (which re-points `current`)
    and call again, at most `reconnects` times. Without `reconnect` (plan, verify: no session to
    re-open) the first ConnectionLost is raised. `reconnect` raises when it cannot reconnect."""
    attempt = 0
    while True:
        try:
            return fn(current())
        except ConnectionLost:
            if reconnect is None or attempt >= reconnects:
                raise
            attempt += 1
            reconnect()


def pushback_delay(outcomes: Sequence[AppendOutcome], attempt: int) -> float | None:
    """Seconds to wait when the server throttles (NO [UNAVAILABLE], a suggested backoff time in
    the text: "backoff time: 500 ms"), else None. `attempt`: 0-based, doubles 2 s up to 60 s."""
    for out in outcomes:
        if out.ok:
            continue
        m = _BACKOFF_HINT.search(out.text)
        if m:
            value = float(m.group(1))
            return value / 1000 if (m.group(2) or "ms").lower().startswith("m") else value
        if out.code in TRANSIENT_CODES:
            return min(60.0, 2.0 * 2.0**attempt)
    return None
