"""Parallel, pipelined uploading with the journal's guarantees intact.

The main thread scans the source, journals intents and settles outcomes: it alone touches the
state. Worker threads, each with its own connection, only send batches (MULTIAPPEND when the
server has it) and hand back the server's answers. So reading the source never stalls the
network, several round trips are in flight at once, and memory is bounded by the queue.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from migrator.domain.errors import TargetError, login_refused
from migrator.domain.events import EventSink, MessageSettled, emit
from migrator.domain.i18n import _
from migrator.domain.identity import as_read_back, at_risk, fingerprint
from migrator.domain.models import FolderRun, RunStats
from migrator.flows.candidates import subject_of_scanned
from migrator.flows.plan import Scanned
from migrator.flows.quarantine import Quarantine
from migrator.flows.resolve import resolve_intents
from migrator.flows.retry import DROPS, GIVE_UP_HINT, RetryPolicy, pushback_delay, transient
from migrator.flows.server import AppendItem, AppendOutcome, PendingAppend, Server
from migrator.imap.wire import fallback_flags, invalid_flags, keywords, next_fallback
from migrator.journal.state import Intent, State


@dataclass
class Batch:
    folder: str
    items: list[Scanned]
    frun: FolderRun
    attempts: int = 0
    outcomes: list[AppendOutcome] | None = None
    error: Exception | None = None
    size: int = -1  # bytes of the items, kept up to date by add()
    failed_at: float = 0.0  # when its connection was seen to die
    bare: int = 0  # sent again with fewer keywords: the server refused them (wire.fallback_flags level)
    refusals: dict[str, str] = field(default_factory=dict)  # fingerprint -> the server's refusal with keywords

    def __post_init__(self) -> None:
        if self.size < 0:
            self.size = sum(len(s.wire) for s in self.items)

    def add(self, s: Scanned) -> None:
        """Add a scanned message to the batch (its wire bytes counted in `size`)."""
        self.items.append(s)
        self.size += len(s.wire)


class Throttle:
    """How many workers may send at once: halved when the server pushes back, grown back slowly."""

    def __init__(self, limit: int) -> None:
        self.max = limit
        self.limit = limit
        self.active = 0
        self._ok_streak = 0
        self._cond = threading.Condition()

    def acquire(self) -> None:
        """Wait for a send permit (at most `limit` batches in flight)."""
        with self._cond:
            while self.active >= self.limit:
                self._cond.wait(0.5)
            self.active += 1

    def try_acquire(self) -> bool:
        """Take a send permit when one is free; False at once otherwise."""
        with self._cond:
            if self.active >= self.limit:
                return False
            self.active += 1
            return True

    def give_back(self) -> None:
        """Return a permit that was not used."""
        with self._cond:
            self.active -= 1
            self._cond.notify_all()

    def release(self, pushed_back: bool) -> None:
        """Return a permit after an answer: a server push-back halves the limit (at least 1); 20
        answers in a row without one grow it back by one, up to the start value."""
        with self._cond:
            self.active -= 1
            if pushed_back:
                self.limit = max(1, self.limit // 2)
                self._ok_streak = 0
            else:
                self._ok_streak += 1
                if self._ok_streak >= 20 and self.limit < self.max:
                    self.limit += 1
                    self._ok_streak = 0
            self._cond.notify_all()


class Workers:
    """N sender threads, each with a connection of its own (opened lazily, re-opened after a drop)."""

    def __init__(self, connect: Callable[[], Server], n: int, policy: RetryPolicy, depth: int = 2) -> None:
        self._connect = connect
        self.depth = depth  # batches sent ahead of their answers, per connection
        self._policy = policy
        self.jobs: queue.Queue[Batch | None] = queue.Queue(maxsize=max(2, 2 * n))
        self.done: queue.Queue[Batch] = queue.Queue()
        self.throttle = Throttle(n * depth)  # batches in flight over all connections
        self.reconnects = 0
        self.drops = 0  # connections lost (or refused) and survived
        self._lock = threading.Lock()
        # each worker in a copy of the caller's context: the command's language (--lang) holds there too
        self._threads = [threading.Thread(target=contextvars.copy_context().run, args=(self._loop,),
                                          name=f"upload-{i}", daemon=True) for i in range(n)]
        for t in self._threads:
            t.start()

    def _loop(self) -> None:
        """Send a batch, and while its answer is on the way send the next one (up to `depth`)."""
        conn: Server | None = None
        failures = 0
        in_flight: deque[tuple[Batch, PendingAppend]] = deque()
        stopping = False
        while not (stopping and not in_flight):
            batch: Batch | None = None
            if not stopping and len(in_flight) < self.depth:
                # a permit first: never wait for one while answers are due on this connection
                if in_flight:
                    permit = self.throttle.try_acquire()
                else:
                    self.throttle.acquire()
                    permit = True
                if permit:
                    try:
                        batch = self.jobs.get() if not in_flight else self.jobs.get_nowait()
                        stopping = batch is None  # the stop sentinel
                    except queue.Empty:
                        batch = None
                    if batch is None:
                        self.throttle.give_back()
                if batch is None and not in_flight:
                    continue
            try:
                if batch is not None:
                    try:
                        if conn is None:
                            if failures:
                                self._policy.pause(failures - 1)
                            conn = self._connect()
                            if failures:
                                with self._lock:
                                    self.reconnects += 1
                        items = [AppendItem(raw=s.wire, date=s.record.date,
                                            flags=fallback_flags(s.record.flags, batch.bare))
                                 for s in batch.items]
                        in_flight.append((batch, conn.send_append(batch.folder, items)))
                        del items  # the batch holds the bytes; this thread keeps none once it is answered
                    except BaseException:
                        self.throttle.release(True)
                        raise
                    continue
                done, pending = in_flight[0]
                assert conn is not None
                pushed_back = True
                try:
                    done.outcomes = conn.collect_append(pending)
                    failures = 0
                    pushed_back = pushback_delay(done.outcomes, done.attempts) is not None
                finally:
                    if done.outcomes is not None:
                        in_flight.popleft()
                        self.throttle.release(pushed_back)
                self.done.put(done)
                del done, pending  # see `del items`
            except DROPS as exc:
                if transient(exc):  # a refused login is final: the main thread stops the run, no backoff
                    failures += 1
                with self._lock:
                    self.drops += 1
                self._fail_all(batch, in_flight, exc)
                if conn is not None:
                    conn.close()
                    conn = None
            except Exception as exc:  # noqa: BLE001 - handed to the main thread, which re-raises it
                self._fail_all(batch, in_flight, exc)
        if conn is not None:
            conn.close()

    def _fail_all(self, batch: Batch | None, in_flight: deque[tuple[Batch, PendingAppend]], exc: Exception) -> None:
        """Hand back every batch this connection held, answered or not: the main thread asks the
        server which of their messages arrived."""
        now = time.monotonic()
        if batch is not None and all(b is not batch for b, _ in in_flight):
            batch.error = exc
            batch.failed_at = now
            self.done.put(batch)
        while in_flight:
            lost, _ = in_flight.popleft()
            lost.error = exc
            lost.failed_at = now
            self.throttle.release(True)
            self.done.put(lost)

    def stop(self) -> None:
        """Stop the sender threads (each finishes its batch; at most 30 s each) and close their connections."""
        for _thread in self._threads:
            self.jobs.put(None)
        for t in self._threads:
            t.join(timeout=30)


@dataclass
class Uploader:
    """Main-thread side: batches per folder, journals intents, settles outcomes."""

    connect: Callable[[], Server]
    main: Callable[[], Server]  # the main thread's own connection (for resolving after a drop)
    reconnect_main: Callable[[], Server]
    state: State
    stats: RunStats
    quarantine: Quarantine
    connections: int = 1
    batch_count: int = 100
    batch_bytes: int = 4 * 1024 * 1024
    in_flight_budget: int = 24 * 1024 * 1024  # bytes queued or being sent: bounds memory
    policy: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=8))  # flows/retry.py
    on_event: EventSink | None = None  # MessageSettled per message settled (domain/events.py)
    binary: bool = False  # the server offers BINARY (RFC 3516): messages at risk go as literal8
    uidnext: dict[str, int] = field(default_factory=dict)
    # Over quota (RFC 9208 / RFC 5530 NO [OVERQUOTA]): once the server refuses, messages go one
    # APPEND each, so that what fits still goes up; `free` estimates the room left (bytes, from
    # GETQUOTAROOT, less what is sent since), `cap` is one byte less than the smallest message
    # refused alone (a larger one cannot fit either). What does not fit is counted, never sent.
    full: bool = False
    free: int | None = None
    cap: int | None = None
    left_dates: array[float] = field(default_factory=lambda: array("d"))  # epoch seconds of what was left
    left_sizes: array[int] = field(default_factory=lambda: array("q"))  # bytes of what was left
    _pending: dict[str, Batch] = field(default_factory=dict)
    _in_flight: int = 0
    _in_flight_bytes: int = 0
    _workers: Workers | None = None
    _fatal: Exception | None = None
    _drops_in_a_row: int = 0  # batches lost since the last answer: the server may be gone for good
    warnings: list[str] = field(default_factory=list)  # flags dropped, folders refused (for RunStats.warnings)

    def start(self) -> None:
        """Start the sender threads, each with its own connection."""
        self._workers = Workers(self.connect, self.connections, self.policy)

    def add(self, s: Scanned, folder: str, frun: FolderRun) -> None:
        """Queue one message to upload into target `folder`: batched per folder (count and bytes bounded),
        sent when a batch is full; answers settled as they come, in-flight bytes kept under budget."""
        bad = invalid_flags(s.record.flags)
        if bad:  # known to be refused: never sent (wire.flag_list leaves them out), said once here
            self.warnings.append(_("{where}: flag(s) {flags} not valid in IMAP (RFC 3501 atom): uploaded without "
                                   "them").format(where=s.record.locator, flags=" ".join(bad)))
        if self.full:  # over quota: one message per APPEND, and only what may still fit
            self._send_alone(folder, s, frun)
            self._collect(block=False)
            return
        b = self._pending.get(folder)
        if b is None or b.frun is not frun:
            if b is not None:
                self._submit(b)
            b = self._pending[folder] = Batch(folder, [], frun)
        b.add(s)
        if len(b.items) >= self.batch_count or b.size >= self.batch_bytes:
            self._submit(self._pending.pop(folder))
        self._collect(block=False)
        # Over the budget only with a big message in flight: it is settled (and its bytes let go)
        # before the next message is read, so that two big messages are never in memory at once.
        while self._in_flight and self._in_flight_bytes > self.in_flight_budget:
            self._collect(block=True)
            self._raise_fatal()

    def flush_folder(self, folder: str) -> None:
        """Send the folder's pending batch now (the folder is done)."""
        b = self._pending.pop(folder, None)
        if b is not None and b.items:
            self._submit(b)

    def finish(self) -> None:
        """Send what is pending and settle everything in flight."""
        for folder in list(self._pending):
            self.flush_folder(folder)
        while self._in_flight:
            self._collect(block=True)
        self._raise_fatal()

    def close(self, wait: bool = True) -> None:
        """Stop the sender threads and count their reconnects in the run's stats. wait=False (a
        stop at once): leave them without waiting (daemon threads: they end with the process; what
        they had in flight is journalled as intents, settled by the next run)."""
        if self._workers is not None:
            self.stats.reconnects += self._workers.drops
            if wait:
                self._workers.stop()
            self._workers = None

    # -- internals -----------------------------------------------------------------
    def _intent(self, folder: str, s: Scanned) -> Intent:
        rec = s.record
        return Intent(folder, s.fingerprint, s.message_id, len(s.wire), rec.stable_id, s.entry.key, rec.locator,
                      subject_of_scanned(s), rec.date.isoformat(), self.uidnext.get(folder, 1), rec.date_source)

    def _submit(self, batch: Batch) -> None:
        self._raise_fatal()
        assert self._workers is not None
        while self._in_flight and self._in_flight_bytes + batch.size > self.in_flight_budget:
            self._collect(block=True)
            self._raise_fatal()
        self.state.record_intents(self._intent(batch.folder, s) for s in batch.items)  # before the APPEND
        risky = [(s.fingerprint, "literal8" if self.binary else "changed", fingerprint(as_read_back(s.wire)))
                 for s in batch.items if at_risk(s.wire)]
        if risky:  # journalled with the intent: resolve recognises them by what BODY[] returns
            self.state.mark_at_risk(batch.folder, risky)
        while True:
            try:
                self._workers.jobs.put(batch, timeout=0.2)
                break
            except queue.Full:
                self._collect(block=False)
                self._raise_fatal()
        self._in_flight += 1
        self._in_flight_bytes += batch.size

    def _collect(self, block: bool) -> None:
        assert self._workers is not None
        while self._in_flight:
            try:
                batch = self._workers.done.get(timeout=0.5) if block else self._workers.done.get_nowait()
            except queue.Empty:
                if block:
                    continue
                return
            self._in_flight -= 1
            self._in_flight_bytes -= batch.size
            try:
                self._settle(batch)
            except Exception as exc:  # noqa: BLE001 - kept and raised once the queue is drained
                if self._fatal is None:
                    self._fatal = exc
            if block:
                return

    def _raise_fatal(self) -> None:
        if self._fatal is not None:
            exc, self._fatal = self._fatal, None
            raise exc

    def _settle(self, batch: Batch) -> None:
        if batch.error is not None and login_refused(batch.error):
            raise batch.error  # its intents stay journalled: the next run resolves them against the server
        if batch.error is not None:
            if not isinstance(batch.error, DROPS):
                raise batch.error
            self._after_drop(batch)
            return
        assert batch.outcomes is not None
        self._drops_in_a_row = 0
        delay = pushback_delay(batch.outcomes, batch.attempts)
        done, retry, over_quota = [], [], []
        bare: dict[int, list[Scanned]] = {}
        refusals: dict[str, str] = {}
        for s, out in zip(batch.items, batch.outcomes, strict=True):
            if out.ok and s.fingerprint in batch.refusals:  # went up without some keywords: say which
                dropped = sorted(set(keywords(s.record.flags)) - fallback_flags(s.record.flags, batch.bare))
                self.warnings.append(_("{where}: keyword(s) {keywords} refused by the server ({words}): uploaded "
                                       "without them").format(where=s.record.locator, keywords=" ".join(dropped),
                                                              words=batch.refusals[s.fingerprint]))
            if out.ok:
                done.append((batch.folder, s.fingerprint, out.uidvalidity, out.uid))
                if out.uid is not None:
                    self.uidnext[batch.folder] = max(self.uidnext.get(batch.folder, 1), out.uid + 1)
            elif out.code == "OVERQUOTA":
                over_quota.append(s)
            elif delay is not None and batch.attempts < self.policy.attempts:
                retry.append(s)
            elif out.code != "TOOBIG" and (level := next_fallback(s.record.flags, batch.bare)) is not None:
                # a refused keyword never costs the message: sent again without the long keywords,
                # then without any (the first refusal is the one reported)
                bare.setdefault(level, []).append(s)
                refusals[s.fingerprint] = batch.refusals.get(s.fingerprint, out.text)
            else:
                path = self.quarantine.keep(s.record, batch.folder, out.text)
                self.state.mark_failed(batch.folder, s.fingerprint, out.text, path)
                batch.frun.failed += 1
                emit(self.on_event, MessageSettled(batch.frun.source, "failed", s.size))
                self.stats.failures.append(self.quarantine.failure(s.record, batch.folder, out.text, path))
                s.release()
        self.state.mark_done(done)
        self._uploaded(batch.frun, [s for s, out in zip(batch.items, batch.outcomes, strict=True) if out.ok])
        for s, out in zip(batch.items, batch.outcomes, strict=True):
            if out.ok:
                s.release()  # settled: its bytes are not needed any more
        if over_quota:
            # A refused MULTIAPPEND stores none of its messages (RFC 3502), a refused APPEND
            # stores nothing: settle their intents first (exactly once), then try them alone.
            self.state.requeue(batch.folder, [s.fingerprint for s in over_quota])
            self._quota_refused(batch.folder)
            if len(batch.items) > 1 and not any(out.ok for out in batch.outcomes):
                for s in over_quota:
                    self._send_alone(batch.folder, s, batch.frun, batch)
            else:
                smallest = min(len(s.wire) for s in over_quota)
                self.cap = smallest - 1 if self.cap is None else min(self.cap, smallest - 1)
                self.count_over_quota(batch.frun, over_quota)
        for level, items in bare.items():
            self.state.requeue(batch.folder, [s.fingerprint for s in items])
            self._submit(Batch(batch.folder, items, batch.frun, attempts=batch.attempts, bare=level, refusals=refusals))
        if retry:
            self.state.requeue(batch.folder, [s.fingerprint for s in retry])
            time.sleep(delay or 0)
            self._submit(Batch(batch.folder, retry, batch.frun, attempts=batch.attempts + 1, bare=batch.bare,
                               refusals=batch.refusals))

    def _after_drop(self, batch: Batch) -> None:
        """The connection died mid-batch: some messages may be on the server. Ask it, by content."""
        self._drops_in_a_row += 1
        if batch.attempts >= self.policy.attempts or self._drops_in_a_row > 2 * self.policy.attempts:
            raise TargetError(_("lost the connection {n} times in a row: {reason}").format(
                n=batch.attempts, reason=batch.error), hint=_(GIVE_UP_HINT))
        # A batch sent in full may still be committed by the server after the client saw the
        # connection die (the server reads what is already in its socket buffer): give it time,
        # or asking now finds nothing, the batch is sent again, and the late commit duplicates it.
        wait = batch.failed_at + self.policy.settle - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            target = self.main()
            resolve_intents(target, self.state, batch.folder, only={s.fingerprint for s in batch.items})
        except DROPS:
            self.policy.pause(batch.attempts)
            target = self.reconnect_main()
            resolve_intents(target, self.state, batch.folder, only={s.fingerprint for s in batch.items})
        still: list[Scanned] = []
        arrived: list[Scanned] = []
        for s in batch.items:
            row = self.state.lookup(batch.folder, s.fingerprint)
            (arrived if row is not None and row.status == "done" else still).append(s)
        self._uploaded(batch.frun, arrived)
        for s in arrived:
            s.release()
        if still:
            self._submit(Batch(batch.folder, still, batch.frun, attempts=batch.attempts + 1, bare=batch.bare,
                               refusals=batch.refusals))

    def _quota_refused(self, folder: str) -> None:
        """The server said OVERQUOTA: from now on one message per APPEND; learn the room left."""
        self.full = True
        for pending in list(self._pending):  # batches still being filled go out one by one too
            b = self._pending.pop(pending, None)
            if b is None:
                continue
            for s in b.items:
                self._send_alone(b.folder, s, b.frun)
        try:
            q = self.main().quota(folder)
        except Exception:  # noqa: BLE001 - no estimate: each message is tried alone
            q = None
        if q is not None and q.limit > 0:
            self.free = max(0, q.limit - q.used)

    def may_fit(self, size: int) -> bool:
        """Whether a message of `size` bytes may still fit (always, before the server refused one)."""
        return (self.cap is None or size <= self.cap) and (self.free is None or size <= self.free)

    def _send_alone(self, folder: str, s: Scanned, frun: FolderRun, was: Batch | None = None) -> None:
        """Send one message in its own APPEND (keeping how its batch was sent: without keywords),
        or count it over quota when it cannot fit."""
        size = len(s.wire)
        if not self.may_fit(size):
            self.count_over_quota(frun, [s])
            return
        if self.free is not None:
            self.free -= size
        self._submit(Batch(folder, [s], frun, bare=was.bare if was else 0,
                           refusals={s.fingerprint: was.refusals[s.fingerprint]}
                           if was and s.fingerprint in was.refusals else {}))

    def count_over_quota(self, frun: FolderRun, items: list[Scanned]) -> None:
        """Account messages as "not uploaded: over quota" (no intent is left for them: the next
        run sends them). Their dates and sizes are kept (16 bytes each) for the `--since` hint."""
        for s in items:
            size = len(s.wire)
            frun.over_quota += 1
            frun.over_quota_bytes += size
            emit(self.on_event, MessageSettled(frun.source, "over_quota", size))
            self.left_dates.append(s.record.date.timestamp())
            self.left_sizes.append(size)

    def count_changed_already(self, frun: FolderRun, s: Scanned, how: str | None) -> None:
        """A message found on the target (an earlier run, the resume step, or by content after a lost
        journal) whose bytes the server stored changed is counted `changed` too (docs/concepts.md
        "Bytes on the way"): `how` is the journal's at-risk mark ('literal8' or 'changed', None when
        unmarked); unmarked, a message at risk (identity.at_risk) on a server without BINARY is, and
        the journal marks it so (`status` counts it): a message found on the server by content or
        Message-ID (a lost journal) gets its row, done, as if this run had uploaded it."""
        why = at_risk(s.wire) if s.wire else None
        if how != "changed" and (how is not None or why is None or self.binary):
            return
        if how is None and s.wire:
            if self.state.lookup(frun.target, s.fingerprint) is None:  # found on the server: no row yet
                self.state.record_intents([self._intent(frun.target, s)])
                self.state.mark_done([(frun.target, s.fingerprint, None, None)])
            self.state.mark_at_risk(frun.target, [(s.fingerprint, "changed", fingerprint(as_read_back(s.wire)))])
        frun.changed += 1
        if len(self.stats.changed_messages) < 200:
            self.stats.changed_messages.append(f"{frun.target}: {s.record.locator}: {why or 'NUL byte'} returned "
                                               "as 0x80 (already on the server)")

    def _uploaded(self, frun: FolderRun, items: list[Scanned]) -> None:
        """Count a batch's uploaded messages (once per batch: the counters are pydantic fields)."""
        if not items:
            return
        nbytes = sum(s.size for s in items)
        if not self.binary:  # a qualifier of uploaded: on the server, but not with these bytes
            for s in items:
                why = at_risk(s.wire)
                if why is None:
                    continue
                frun.changed += 1
                if len(self.stats.changed_messages) < 200:
                    self.stats.changed_messages.append(f"{frun.target}: {s.record.locator}: {why} returned as 0x80")
        frun.uploaded += len(items)
        frun.uploaded_bytes += nbytes
        for s in items:
            emit(self.on_event, MessageSettled(frun.source, "uploaded", s.size))
