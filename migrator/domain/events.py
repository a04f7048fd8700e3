"""Typed progress events: what a flow tells whoever watches it, while it works.

A flow (plan, run, verify, archive) takes one sink, `on_event: EventSink | None`, and calls it
with these frozen records, in order, from the thread that runs the flow or from an upload worker
(a sink must be cheap and must not raise). The terminal renders them as tqdm bars and lines
(migrator.render.terminal.Progress); the web app and the batch runner subscribe to the same
events. Flows never print.

Order of one flow: PhaseStarted, then for each folder FolderStarted, MessageSettled ...,
FolderDone; Totals (where the phase stands, with its totals) after PhaseStarted, as the phase
goes (a few times a second at most) and after each folder; Warning and Paused at any time; Done
last (also after an interruption).
Units: sizes in bytes (as read from the source, or as sent: CRLF wire form, said per field),
times in seconds since the epoch (UTC).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from migrator.domain.counts import Counts

Phase = Literal["reading", "uploading", "checking", "archiving"]
"""reading: the scan a plan makes (plan, and run before uploading); uploading: run's APPENDs;
checking: verify; archiving: archive writing the local copy."""

Outcome = Literal["read", "uploaded", "already", "duplicate", "failed", "over_quota", "skipped", "filtered",
                  "checked", "archived"]
"""What became of one message: `read` (a plan's scan, verify's read of the source), one of run's
outcomes (domain/counts.py; `skipped` and `filtered` are out of scope), `checked` (verify compared
its content), `archived` (archive wrote it)."""


@dataclass(frozen=True)
class PhaseStarted:
    """A phase begins. total_bytes: what the phase will process (the bar's length), None when not
    known in advance (e.g. a run that skipped the exact plan)."""

    phase: Phase
    total_bytes: int | None = None


@dataclass(frozen=True)
class FolderStarted:
    """One source folder begins. folder: its display path; target: the IMAP folder it goes to
    ("" when there is none, e.g. archive); expected_messages / expected_bytes: what its plan
    counted in scope (None when not counted beforehand)."""

    folder: str
    target: str = ""
    expected_messages: int | None = None
    expected_bytes: int | None = None


@dataclass(frozen=True)
class MessageSettled:
    """One message is done with in this phase. bytes: its size (read: as in the source; uploaded,
    over_quota: as sent; checked: as fetched or read)."""

    folder: str
    outcome: Outcome
    bytes: int
    earlier: bool = False  # settled by an earlier run: already counted done in the phase's first Totals


@dataclass(frozen=True)
class Totals:
    """Where a phase stands: `done_messages` / `done_bytes` of `total_messages` / `total_bytes`.

    The totals come from the sources' cheap counts (Source.estimate: a Maildir listing, an mbox's
    size, a PST folder's PR_CONTENT_COUNT) and are corrected as the phase goes (an mbox's messages
    counted, each folder's real figures once it is done); `exact`: total_messages is a count, not an
    estimate (total_bytes is the stores' size until the phase ends: what goes up is the CRLF wire
    form). Messages settled by an earlier run count as done from the first Totals on (a resumed run
    starts part-way), so a rate taken over this phase's progress gives the time left.
    Units: messages; bytes. None: not known (a reader without a cheap count, before any message)."""

    phase: Phase
    done_messages: int
    done_bytes: int
    total_messages: int | None
    total_bytes: int | None
    exact: bool = False

    @property
    def left_messages(self) -> int | None:
        """Messages still to go (None when the total is not known)."""
        return None if self.total_messages is None else max(0, self.total_messages - self.done_messages)

    @property
    def left_bytes(self) -> int | None:
        """Bytes still to go (None when the total is not known)."""
        return None if self.total_bytes is None else max(0, self.total_bytes - self.done_bytes)


@dataclass(frozen=True)
class FolderDone:
    """One source folder is finished (run: its counts, see domain/counts.py)."""

    folder: str
    counts: Counts | None = None


@dataclass(frozen=True)
class Warning:  # noqa: A001 - the event's name; Python's builtin Warning is not used here
    """Something the user should read, that does not stop the flow (one line, no trailing period
    needed)."""

    text: str


@dataclass(frozen=True)
class Paused:
    """The provider's daily upload cap is reached: the run waits until `until` (seconds since the
    epoch, UTC) after `sent` bytes in the last 24 hours."""

    until: float
    sent: int


@dataclass(frozen=True)
class Done:
    """The flow finished (or was interrupted): its counts when it has them (run)."""

    counts: Counts | None = None
    interrupted: bool = False


Event: TypeAlias = PhaseStarted | FolderStarted | MessageSettled | Totals | FolderDone | Warning | Paused | Done
EventSink: TypeAlias = Callable[[Event], None]


def emit(sink: EventSink | None, event: Event) -> None:
    """Give `event` to `sink` when there is one (flows call this, never the sink directly)."""
    if sink is not None:
        sink(event)
