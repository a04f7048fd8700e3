"""Background work of one web session: a flow in its own thread, its progress events gathered.

A `Job` runs one flow (plan, run, verify, archive) in a daemon thread; the flow's `on_event` sink
is the job's `Tracker`, which folds the typed events (domain/events.py) into a `Snapshot`: what the
page shows (messages and bytes done of the total, per folder, rate, ETA, warnings). The server-sent
events endpoint (web/app.py) waits on `Job.changed` and sends the snapshot rendered as HTML; it
never sees a flow. `stop()` asks the flow to stop cleanly (the run flow checks it between APPEND
batches, so the journal is left settled: docs/concepts.md "Resuming").
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from migrator.domain.errors import MigratorError
from migrator.domain.events import (
    Done,
    Event,
    FolderDone,
    FolderStarted,
    MessageSettled,
    Paused,
    PhaseStarted,
    Totals,
    Warning,
)

JobState = Literal["running", "paused", "done", "failed"]
# what counts as one message done, per phase (verify reads every source message; it fetches some too)
COUNTED = {"uploading": frozenset({"uploaded", "already", "duplicate", "failed", "over_quota"}),
           "checking": frozenset({"read"}), "archiving": frozenset({"archived"})}


@dataclass
class FolderProgress:
    """One folder's progress: messages and bytes settled of what its plan expected (None: unknown)."""

    name: str
    target: str = ""
    messages: int = 0
    bytes: int = 0
    failed: int = 0
    expected_messages: int | None = None
    expected_bytes: int | None = None
    done: bool = False


@dataclass
class Snapshot:
    """What the progress panel shows at one instant. Bytes as the flow counts them (domain/events.py);
    seconds since the job started; rate in bytes per second; eta in seconds (None: not known yet)."""

    phase: str = ""
    messages: int = 0
    bytes: int = 0
    total_messages: int | None = None
    total_bytes: int | None = None
    failed: int = 0
    seconds: float = 0.0
    rate: float | None = None
    eta: float | None = None
    folders: list[FolderProgress] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    waiting_until: float | None = None  # the provider's daily cap: the run waits until then (epoch, UTC)

    @property
    def percent(self) -> float | None:
        """Share done, 0-100, by bytes when the total is known, else by messages (None: unknown)."""
        if self.total_bytes:
            return min(100.0, 100.0 * self.bytes / self.total_bytes)
        if self.total_messages:
            return min(100.0, 100.0 * self.messages / self.total_messages)
        return None


class Tracker:
    """The event sink of a job (thread-safe: upload workers call it too): folds events into a Snapshot
    and wakes the watchers. `total_messages`: what the plan said is to be done (None: unknown)."""

    def __init__(self, changed: threading.Condition, total_messages: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._changed = changed
        self._clock = clock
        self._start = clock()
        self._snap = Snapshot(total_messages=total_messages)
        self._folders: dict[str, FolderProgress] = {}
        self._first_done: int | None = None  # bytes done at the phase's first Totals (an earlier run's part)
        self.version = 0

    def __call__(self, event: Event) -> None:
        """Take one event (domain/events.py); never raises."""
        with self._changed:
            s = self._snap
            if isinstance(event, PhaseStarted):
                s.phase = event.phase
                if event.phase != "reading":  # the plan's scan before a run: its own totals, not the upload's
                    s.total_bytes, s.messages, s.bytes, s.failed = event.total_bytes, 0, 0, 0
                    self._start, self._first_done = self._clock(), None
            elif isinstance(event, Totals) and event.phase == s.phase:
                # the flow's own account of where the phase stands (an earlier run's part counted done)
                if self._first_done is None:
                    self._first_done = event.done_bytes
                s.messages, s.bytes = event.done_messages, event.done_bytes
                s.total_messages, s.total_bytes = event.total_messages, event.total_bytes
            elif isinstance(event, FolderStarted):
                f = self._folders.get(event.folder)
                if f is None:
                    f = self._folders[event.folder] = FolderProgress(event.folder)
                    s.folders.append(f)
                f.target, f.expected_messages, f.expected_bytes = event.target, event.expected_messages, \
                    event.expected_bytes
            elif isinstance(event, MessageSettled) and event.outcome in COUNTED.get(s.phase, ()):
                f = self._folders.get(event.folder) or FolderProgress(event.folder)
                f.messages += 1
                f.bytes += event.bytes
                if self._first_done is None:  # no Totals from this flow: count the messages here
                    s.messages += 1
                    s.bytes += event.bytes
                if event.outcome in ("failed", "over_quota"):
                    f.failed += 1
                    s.failed += 1
            elif isinstance(event, FolderDone) and event.folder in self._folders:
                self._folders[event.folder].done = True
            elif isinstance(event, Warning):
                s.warnings.append(event.text)
            elif isinstance(event, Paused):
                s.waiting_until = event.until
            elif isinstance(event, Done):
                s.waiting_until = None
            self.version += 1
            self._changed.notify_all()

    def snapshot(self) -> Snapshot:
        """A copy of the progress now, with the elapsed time, rate and ETA worked out."""
        with self._changed:
            s = self._snap
            out = Snapshot(phase=s.phase, messages=s.messages, bytes=s.bytes, total_messages=s.total_messages,
                           total_bytes=s.total_bytes, failed=s.failed, folders=[FolderProgress(**vars(f))
                                                                                for f in s.folders],
                           warnings=list(s.warnings), waiting_until=s.waiting_until)
        out.seconds = max(0.0, self._clock() - self._start)
        moved = out.bytes - (self._first_done or 0)  # this run's part: the rate of what it did itself
        if out.seconds > 0.5 and moved > 0:
            out.rate = moved / out.seconds
            if out.total_bytes:
                out.eta = max(0.0, (out.total_bytes - out.bytes) / out.rate)
        return out


class Job:
    """One flow running in a background thread. `work(sink, stop)` does the flow's work and returns
    its result (a model); `state` is running, then done, paused (stopped on request: resumable) or
    failed (`error`: the MigratorError with its hint, or an internal error's text)."""

    def __init__(self, kind: str, work: Callable[[Tracker, threading.Event], Any],
                 total_messages: int | None = None,
                 is_interrupted: Callable[[Any], bool] = lambda result: False,
                 on_finish: Callable[[JobState], None] | None = None) -> None:
        self.kind = kind
        self.changed = threading.Condition()
        self.tracker = Tracker(self.changed, total_messages)
        self.stop_event = threading.Event()
        self.state: JobState = "running"
        self.result: Any = None
        self.error: MigratorError | None = None
        self.internal_error: str | None = None
        self._work = work
        self._is_interrupted = is_interrupted
        self._on_finish = on_finish
        context = contextvars.copy_context()  # the request's language holds in the flow's thread too
        self.thread = threading.Thread(target=context.run, args=(self._main,), name=f"migrate-ui-{kind}",
                                       daemon=True)

    def start(self) -> Job:
        """Start the thread; returns self."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Ask the flow to stop at its next clean point (the run: after the current APPEND batch)."""
        self.stop_event.set()

    @property
    def finished(self) -> bool:
        """Whether the flow has returned (or raised)."""
        return self.state != "running"

    def _main(self) -> None:
        state: JobState = "failed"
        try:
            self.result = self._work(self.tracker, self.stop_event)
            state = "paused" if self._is_interrupted(self.result) else "done"
        except MigratorError as exc:
            self.error = exc
        except Exception as exc:  # noqa: BLE001 - shown on the page (exit 70 in the CLI), never a hung page
            self.internal_error = f"{type(exc).__name__}: {exc}"
        finally:
            if self._on_finish is not None:
                try:
                    self._on_finish(state)
                except Exception:  # noqa: BLE001 - a note for the next start; the result stands anyway
                    pass
            with self.changed:
                self.state = state
                self.tracker.version += 1
                self.changed.notify_all()

    def wait_change(self, seen: int, timeout: float) -> int:
        """Block until the tracker's version differs from `seen`, the job ends, or `timeout` seconds
        pass; returns the version now."""
        with self.changed:
            if self.tracker.version == seen and not self.finished:
                self.changed.wait(timeout)
            return self.tracker.version
