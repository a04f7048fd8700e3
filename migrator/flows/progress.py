"""Progress with totals: a phase's events turned into `Totals` snapshots (domain/events.py).

A flow wraps its event sink in a `Meter` given one `Part` per folder it will walk, in order, each
with the source's cheap count (Source.estimate) and what an earlier run already settled there
(`credit`, from the journal). The meter forwards every event and, as messages are settled, emits
`Totals(done, total)`: at the phase's start (the credit already done), a few times a second at
most, after each folder and before `Done`. Whoever watches (the terminal's bar, the web app, the
batch runner) gets numbers, never text.

Totals are corrected as the pass goes, never trusted blindly:
- a folder once done counts what it really held (its FolderDone counts, the bytes settled);
- the bytes of folders still to come are scaled by what the done ones held against their
  estimate (the wire form's CRLF, an mbox's `From ` lines);
- an mbox's message count (a sample's estimate) is corrected by the messages per byte seen so far
  in the folder being read, and the folders to come by the ratio of the done ones;
- done never exceeds total.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from migrator.domain.events import (
    Done,
    Event,
    EventSink,
    FolderDone,
    FolderStarted,
    MessageSettled,
    Outcome,
    Phase,
    PhaseStarted,
    Totals,
)
from migrator.sources.base import Estimate, Source

PENDING, STARTED, FINISHED = 0, 1, 2
MIN_SAMPLE = 10  # messages of a folder seen before its own messages-per-byte corrects its count
INTERVAL = 0.2  # seconds between two Totals while a folder is read (a web page or a bar: enough)
# run: every message of the source has one of these (in scope or not); verify and plan read them
RUN_OUTCOMES: frozenset[Outcome] = frozenset(
    {"uploaded", "already", "duplicate", "failed", "over_quota", "skipped", "filtered"})
READ_OUTCOMES: frozenset[Outcome] = frozenset({"read"})
ARCHIVE_OUTCOMES: frozenset[Outcome] = frozenset({"archived"})


@dataclass
class Part:
    """One folder's share of a phase (messages; bytes). messages/bytes: its estimate (None: not
    known); credit_*: settled by an earlier run (done from the start); done_*: settled in this
    phase; final: (messages, bytes) it really held, once finished."""

    label: str
    messages: int | None = None
    bytes: int | None = None
    messages_exact: bool = False
    credit_messages: int = 0
    credit_bytes: int = 0
    done_messages: int = 0
    done_bytes: int = 0
    state: int = PENDING
    final: tuple[int, int] | None = None

    @property
    def known(self) -> bool:
        """Whether the folder's estimate says how many messages it holds."""
        return self.messages is not None


def part(label: str, estimate: Estimate | None, credit: tuple[int, int] = (0, 0)) -> Part:
    """A Part for a folder shown as `label`, from its estimate and its (messages, bytes) credit."""
    if estimate is None:
        return Part(label, credit_messages=credit[0], credit_bytes=credit[1])
    return Part(label, estimate.messages, estimate.bytes, estimate.messages_exact, credit[0], credit[1])


def estimate_of(source: Source, folder: object) -> Estimate | None:
    """`source.estimate(folder)`, None when it fails: a count for a bar never stops a flow."""
    try:
        return source.estimate(folder)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - a reader's bug in a cheap count must not stop the migration
        return None


def summed(estimates: Iterable[Estimate | None]) -> Estimate | None:
    """The estimates of several folders read as one (verify's target folder); None if one is unknown."""
    out = Estimate(0, 0, True, True)
    for e in estimates:
        if e is None or e.messages is None or e.bytes is None:
            return None
        out = Estimate((out.messages or 0) + e.messages, (out.bytes or 0) + e.bytes,
                       out.messages_exact and e.messages_exact, out.bytes_exact and e.bytes_exact)
    return out


@dataclass
class Meter:
    """The sink a flow emits to: forwards every event to `sink` and emits `Totals` for `phase`
    (see the module docstring). `counted`: the outcomes that are progress of this phase."""

    sink: EventSink | None
    phase: Phase
    parts: list[Part]
    counted: frozenset[Outcome] = RUN_OUTCOMES
    interval: float = INTERVAL
    clock: Callable[[], float] = time.monotonic
    _current: Part | None = None
    _next: int = 0  # index of the first part not started
    _last: float = field(default=-1e9)

    def __call__(self, event: Event) -> None:
        if isinstance(event, MessageSettled):
            if event.outcome in self.counted and not event.earlier:
                cur = self._current or self._start(event.folder)
                cur.done_messages += 1
                cur.done_bytes += event.bytes
            self._forward(event)
            if self.clock() - self._last >= self.interval:
                self.publish()
        elif isinstance(event, FolderStarted):
            self._start(event.folder)
            self._forward(event)
        elif isinstance(event, FolderDone):
            self._finish(event)
            self._forward(event)
            self.publish()
        elif isinstance(event, Done):
            self.publish()
            self._forward(event)
        else:
            self._forward(event)
            if isinstance(event, PhaseStarted) and event.phase == self.phase:
                self.publish()

    def _forward(self, event: Event) -> None:
        if self.sink is not None:
            self.sink(event)

    def _start(self, label: str) -> Part:
        for i in range(self._next, len(self.parts)):
            if self.parts[i].label == label and self.parts[i].state == PENDING:
                self._next = i + 1
                found = self.parts[i]
                break
        else:
            found = Part(label)  # a folder the estimates did not list: no total for it
            self.parts.append(found)
        if self._current is not None and self._current.state == STARTED:
            self._current.state = FINISHED  # left without its FolderDone (nothing was settled after)
            self._current.final = self._ended(self._current, None)
        found.state = STARTED
        self._current = found
        return found

    def _finish(self, event: FolderDone) -> None:
        cur = self._current
        if cur is None or cur.state != STARTED:
            return
        cur.state = FINISHED
        cur.final = self._ended(cur, event)

    @staticmethod
    def _ended(p: Part, event: FolderDone | None) -> tuple[int, int]:
        """What a finished folder held: its counts (run) or what was settled, else its estimate (a
        folder not read again: unchanged since a run or a verify that settled it)."""
        read = p.done_messages > 0
        messages = p.credit_messages + p.done_messages if read else max(p.messages or 0, p.credit_messages)
        c = event.counts if event is not None else None
        if c is not None:
            messages = c.in_scope + c.skipped + c.filtered
        nbytes = p.credit_bytes + p.done_bytes if read else max(p.bytes or 0, p.credit_bytes)
        return messages, nbytes

    def totals(self, partial: bool = True) -> Totals:
        """Where the phase stands now (see the module docstring for the corrections). partial=False:
        the folder being read counts nothing done (a stopped verify checks it again from the start)."""
        est_b = est_m = real_b = real_m = 0.0
        for p in self.parts:  # what the finished folders held against their estimates
            if p.state == FINISHED and p.final is not None and p.done_messages:
                if p.bytes:
                    est_b, real_b = est_b + p.bytes, real_b + p.final[1]
                if p.messages and not p.messages_exact:
                    est_m, real_m = est_m + p.messages, real_m + p.final[0]
        ratio_b = real_b / est_b if est_b else 1.0
        ratio_m = real_m / est_m if est_m else 1.0
        done_m = done_b = total_m = total_b = 0
        known_m = known_b = exact = True
        for p in self.parts:
            if p.state == FINISHED and p.final is not None:
                done_m, done_b = done_m + p.final[0], done_b + p.final[1]
                total_m, total_b = total_m + p.final[0], total_b + p.final[1]
                continue
            dm, db = p.credit_messages + p.done_messages, p.credit_bytes + p.done_bytes
            if not partial and p.state == STARTED:
                dm, db = p.credit_messages, p.credit_bytes
            done_m, done_b = done_m + dm, done_b + db
            tb = max(db, round(p.bytes * ratio_b)) if p.bytes is not None else db
            known_b = known_b and p.bytes is not None
            if p.messages is None:
                tm, known_m, exact = dm, False, False
            elif p.messages_exact:
                tm = max(dm, p.messages)
            else:
                exact = False
                tm = round(p.messages * ratio_m)
                if p.state == STARTED and p.done_messages >= MIN_SAMPLE and p.done_bytes:
                    tm = round(dm + max(0, tb - db) * p.done_messages / p.done_bytes)
                tm = max(dm, tm)
            total_m, total_b = total_m + tm, total_b + tb
        return Totals(self.phase, done_m, done_b, total_m if known_m else None, total_b if known_b else None,
                      exact=exact and known_m)

    def publish(self) -> Totals:
        """Emit the Totals now (and return them)."""
        self._last = self.clock()
        t = self.totals()
        self._forward(t)
        return t
