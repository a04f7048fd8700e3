"""The upload flow: resolve what a crash left, plan, then append with intent-before-write.

Guarantee: killed at any instant, run again, and every in-scope message is on the target once.
- An intent row is committed before each APPEND; the UID after the server's OK.
- On start (and after a reconnect) every intent is resolved against the server by content
  (fetch + hash of the messages above the UIDNEXT recorded with it), then marked done or re-queued.
- Messages already on the server (by Message-ID + size) are not appended again.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from migrator.domain.errors import (
    ConnectionLost,
    FolderRefused,
    LoginError,
    MigratorError,
    QuotaError,
    TargetError,
    login_refused,
)
from migrator.domain.events import (
    Done,
    EventSink,
    FolderDone,
    FolderStarted,
    MessageSettled,
    Outcome,
    PhaseStarted,
    Warning,
    emit,
)
from migrator.domain.filters import Scope
from migrator.domain.folders import TargetLayout, collision_key, fallback_names
from migrator.domain.i18n import _
from migrator.domain.models import FolderPlan, FolderRun, Plan, RunStats
from migrator.domain.units import human_bytes
from migrator.flows.plan import (
    ALREADY,
    DUPLICATE,
    FILTERED,
    QUOTA_MARGIN,
    SKIPPED,
    UNREADABLE,
    UPLOAD,
    Entry,
    PlanStopped,
    Scanner,
    account,
    build_plan,
    folder_plan,
    from_summary,
    settled_key,
)
from migrator.flows.progress import Meter, estimate_of, part
from migrator.flows.quarantine import Quarantine
from migrator.flows.quota import (
    DAY,
    DailyPacer,
    Limits,
    day_of,
    day_start,
    ledger_row,
    refusal,
    since_that_fits,
)
from migrator.flows.resolve import resolve_intents, revalidate_folder
from migrator.flows.retry import RetryPolicy, default_backoff, retrying
from migrator.flows.server import Server
from migrator.flows.status import run_summary
from migrator.flows.upload import Uploader
from migrator.journal import runlog
from migrator.journal.progress import done_by_source_folder
from migrator.journal.state import State
from migrator.sources.base import Source

T = TypeVar("T")


@dataclass
class RunOptions:
    batch_count: int = 100
    batch_bytes: int = 4 * 1024 * 1024
    connections: int = 4
    exact_plan: bool = False  # always read everything once before uploading (else only when quota is tight)
    ignore_quota: bool = False
    max_reconnects: int = 6  # with the backoff below: about 30 s of trying before giving up
    backoff: Callable[[int], float] = default_backoff  # seconds before reconnect attempt n (0-based)
    settle_delay: float = 2.0  # seconds after a drop before asking the server what arrived
    # The cooperative stop: checked before each message is queued (and while the daily cap waits).
    # Once it returns True the run sends what is queued, settles every answer in the journal and
    # returns its RunStats with interrupted=True (exit 130 in the CLI): the CLI's Ctrl-C sets it,
    # the web app and the batch runner pass a threading.Event's is_set. A KeyboardInterrupt raised
    # into the run (a second Ctrl-C) stops at once: nothing more is settled, the journal stays
    # consistent (open intents are resolved by the next run) and the RunStats still come back.
    stop_requested: Callable[[], bool] = lambda: False
    # progress (domain/events.py): the plan's reading phase (when it reads), then
    # PhaseStarted("uploading"), Totals (done/total messages and bytes, from the sources' cheap
    # counts, corrected as it goes), per folder FolderStarted, MessageSettled per message whatever
    # its outcome, FolderDone(counts), Done
    on_event: EventSink | None = None
    limits: Limits | None = None  # the provider's published limits (max message size, daily cap, size)
    pacer: DailyPacer | None = None  # the daily upload cap: waits for the next window when it is used up

    def policy(self) -> RetryPolicy:
        """The reconnect policy of this run (flows/retry.py): max_reconnects tries, `backoff` between."""
        return RetryPolicy(attempts=self.max_reconnects, backoff=self.backoff, settle=self.settle_delay)


class Stopped(Exception):
    """Raised inside the run when `stop_requested()` said stop, once what was sent is settled."""


class Session:
    """A target connection that can be re-established after a drop."""

    def __init__(self, connect: Callable[[], Server], opts: RunOptions, stats: RunStats) -> None:
        self._raw_connect = connect
        self.opts = opts
        self.stats = stats
        self._opening = threading.Lock()
        self._refused: MigratorError | None = None
        self.target = self._connect()

    def _connect(self) -> Server:
        """Every connection of the run (main and upload workers) is opened here, one at a time.

        Once the server has refused the credentials (errors.login_refused), no connection is
        attempted again: the refusal is raised at once, so the account sees exactly one failed
        login however many connections and reconnect loops want to carry on."""
        with self._opening:
            if self._refused is not None:
                raise self._refused
            try:
                return self._raw_connect()
            except MigratorError as exc:
                if not login_refused(exc):
                    raise
                if hasattr(self, "target"):  # accepted at the start of this run: changed or revoked since
                    exc = LoginError(exc.message + " " + _("(it was accepted when this run started: the password or "
                                                           "token was changed or revoked meanwhile)"),
                                     hint=exc.hint + " " + _("Nothing is lost: run the same command again with the new "
                                                             "password to carry on where this run stopped."),
                                     code=getattr(exc, "code", None))
                self._refused = exc
                raise exc from None

    def retry(self, fn: Callable[[Server], T]) -> T:
        """Run `fn` on the main connection, reconnecting when it drops (flows/retry.py's policy)."""
        return retrying(fn, lambda: self.target, self.reconnect, self.opts.max_reconnects)

    def connect_new(self) -> Server:
        """Another connection with the same settings (for upload workers)."""
        return self._connect()

    def reconnect(self) -> Server:
        """Replace the main connection (after a drop, or an idle wait): the policy's back-off
        between tries; a refused login is raised at once; TargetError (exit 3) after ~30 s."""
        try:
            self.target.close()
        except Exception:  # noqa: BLE001 - the old connection is gone anyway
            pass
        self.target = self.opts.policy().reconnect(self._connect)
        self.stats.reconnects += 1
        return self.target


def layout_of(target: Server) -> TargetLayout:
    """What the folder mapper needs to know of the server: its hierarchy delimiter, the RFC 6154
    special-use folders and the folders that exist (LIST)."""
    folders = target.folders()
    return TargetLayout(delimiter=target.delimiter, special=target.special_use(folders),
                        existing=frozenset(folders))


def execute(sources: list[Source], connect: Callable[[], Server], state: State, scope: Scope, opts: RunOptions,
            quarantine_dir: Path) -> RunStats:
    """The upload (`migrate run`): settle what a crash left (resolve_intents), plan, then append every
    message to upload with its intent journalled first, pacing and quota respected. Returns the
    run's RunStats (the accounting adds up); refused messages go to `quarantine_dir`. Raises
    TargetError/LoginError (exit 3), QuotaError (exit 4), StateError (exit 5). How the run starts
    and ends is noted in the journal for `migrate status` (journal/runlog.py)."""
    stats = RunStats(target="", state=str(state.path))
    runlog.record_start(state)
    try:
        _execute(sources, connect, state, scope, opts, quarantine_dir, stats)
    except BaseException as exc:
        runlog.record_end(state, run_summary(stats, exc))
        raise
    runlog.record_end(state, run_summary(stats))
    return stats


def _execute(sources: list[Source], connect: Callable[[], Server], state: State, scope: Scope, opts: RunOptions,
             quarantine_dir: Path, stats: RunStats) -> None:
    started = time.monotonic()
    session = Session(connect, opts, stats)
    stats.target = session.target.url
    quarantine = Quarantine(quarantine_dir)
    for folder in state.intent_targets():
        stats.recovered_intents += session.retry(lambda t: resolve_intents(t, state, folder))[0]  # noqa: B023
    scanner = Scanner(sources, session.retry(layout_of), scope, state, session.target, use_settled=True,
                      reconnect=session.reconnect)
    credit = done_by_source_folder(state)  # what earlier runs settled counts done from the start
    meter = Meter(opts.on_event, "uploading", [part(e.folder.display, estimate_of(e.source, e.folder),
                                                    credit.get(e.key, (0, 0))) for e in scanner.entries()])
    if opts.exact_plan or _may_not_fit(session, sources):
        try:
            plan = build_plan(scanner, target_label=stats.target, on_event=_plan_part(opts.on_event),
                              limits=opts.limits, stop_requested=opts.stop_requested)
        except PlanStopped:  # stopped while reading everything first: nothing is sent (the loop stops at once)
            plan = Plan(target=stats.target, estimated=True)
    else:  # it fits whatever is on the server: no need to read (and convert, for a PST) everything twice
        plan = Plan(target=stats.target, estimated=True)
    opts = dataclasses.replace(opts, on_event=meter)
    emit(opts.on_event, PhaseStarted("uploading", None if plan.estimated else plan.totals.upload_bytes))
    if plan.quota.fits is False and not opts.ignore_quota:  # before any CREATE or APPEND: nothing written
        message, hint = refusal(plan.quota)
        t = plan.totals
        raise QuotaError(message + "; " + _("nothing was uploaded: {n} message(s), {size} left").format(
            n=f"{t.to_upload:,}", size=human_bytes(t.upload_bytes)), hint=hint)
    scanner = Scanner(sources, scanner.layout, scope, state, session.target, use_settled=True,
                      reconnect=session.reconnect)  # fresh dedupe set
    uploader = Uploader(
        connect=session.connect_new, main=lambda: session.target, reconnect_main=session.reconnect, state=state,
        stats=stats, quarantine=quarantine, connections=opts.connections, batch_count=opts.batch_count,
        batch_bytes=opts.batch_bytes, policy=opts.policy(),
        on_event=opts.on_event, binary=session.target.has("BINARY"),
    )
    # --ignore-quota on a plan that does not fit: the newest mail first, by whole UTC days. The
    # plan's pass already holds every candidate's (date, size); the day from which on everything
    # fits (the diet's --since) is the cut: mail from it on is uploaded in the usual streaming
    # order, older mail is accounted "not uploaded: over quota" without being sent. One pass,
    # no per-message memory beyond the plan's.
    cut = day_start(plan.quota.fill_from) if opts.ignore_quota and plan.quota.fits is False \
        and plan.quota.fill_from else None
    hurry = False
    uploader.start()
    try:
        entries = scanner.entries()
        claimed = frozenset(collision_key(e.target) for e in entries)  # never fall back into another's folder
        planned = {f.source_key: f for f in plan.folders}
        runlog.record_folders(state, [
            {"key": e.key, "source": e.folder.display, "target": e.target,
             "messages": planned[e.key].messages if e.key in planned else None,
             "bytes": planned[e.key].bytes if e.key in planned else None} for e in entries if not e.excluded])
        for entry in entries:
            if opts.stop_requested():
                stats.interrupted = True
                break
            fp = planned.get(entry.key)
            emit(opts.on_event, FolderStarted(entry.folder.display, entry.target, fp.messages if fp else None,
                                              fp.bytes if fp else None))
            frun = _run_folder(entry, scanner, session, state, stats, quarantine, opts, uploader, claimed, cut)
            emit(opts.on_event, FolderDone(entry.folder.display, frun))
        uploader.finish()
        stats.tally()
        if stats.over_quota:
            _what_fits_now(stats, uploader, session)
    except Stopped:  # the cooperative stop: everything sent is settled
        stats.interrupted = True
    except KeyboardInterrupt:  # stop at once (a second Ctrl-C): what is in flight is settled by the next run
        stats.interrupted = True
        hurry = True
        for f in stats.folders:  # sent but not answered: not an outcome yet, counted as left (Totals)
            f.scanned = min(f.scanned, f.in_scope)
    finally:
        uploader.close(wait=not hurry)
        stats.tally()
        stats.warnings = scanner.all_warnings() + list(dict.fromkeys(uploader.warnings))
        stats.seconds = time.monotonic() - started
        for w in stats.warnings:
            emit(opts.on_event, Warning(w))
        left = meter.totals()
        stats.left, stats.left_bytes = left.left_messages, left.left_bytes
        emit(opts.on_event, Done(stats, stats.interrupted))
        try:
            if not hurry:  # stopping at once: no LOGOUT round trip (the socket closes with the process)
                session.target.close()
        except Exception:  # noqa: BLE001 - closing a dead connection
            pass


def _plan_part(sink: EventSink | None) -> EventSink | None:
    """The plan inside a run reports its reading phase only: its Done is not the run's, and the
    run's own Warnings (at its end) include the scan's."""
    if sink is None:
        return None
    return lambda event: None if isinstance(event, (Done, Warning)) else sink(event)


CRLF_SLACK = 1.1  # line ends become CRLF on the wire: +2-3% for real mail, 10% to be safe


def source_bytes(sources: list[Source]) -> int:
    """An upper bound of what the sources hold: the size of every file under their roots; for a
    source with no files (a server source: imaps://, pop3s://) its folders' cheap counts
    (Source.estimate: STATUS SIZE, POP3 STAT), a folder that cannot tell counting 0."""
    total = 0
    for source in sources:
        root = Path(source.root)
        if not root.exists():
            total += sum(est.bytes or 0 for est in (source.estimate(f) for f in source.folders()) if est is not None)
            continue
        if root.is_file():
            total += root.stat().st_size
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                try:
                    total += os.stat(os.path.join(dirpath, name)).st_size
                except OSError:
                    pass
    return total


def _may_not_fit(session: Session, sources: list[Source]) -> bool:
    """True when the quota might be too small for everything the sources hold: then the exact
    plan (after dedupe and filters) decides. A server without a quota, or with room for all of
    it, needs no pre-pass."""
    q = session.retry(lambda t: t.quota("INBOX"))
    if q is None or q.limit <= 0:
        return False
    return q.used + source_bytes(sources) * CRLF_SLACK > q.limit * (1 - QUOTA_MARGIN)


def _what_fits_now(stats: RunStats, uploader: Uploader, session: Session) -> None:
    """After messages were left over quota, the `--since` the hint leads with (whole UTC days,
    as `plan` computes it, the 5% margin kept free): the day from which on the rest fits the room
    the server reports now; when not even the newest day of the rest fits (or the server reports
    no quota), the day after the newest message left, under which everything in scope is on the
    server already. None when all that is left fits now (a plain re-run sends it)."""
    dates, sizes = uploader.left_dates, uploader.left_sizes
    if not dates:
        return
    try:
        q = session.retry(lambda t: t.quota("INBOX"))
    except (TargetError, ConnectionLost):
        q = None
    since: str | None = None
    if q is not None and q.limit > 0:
        free = max(0, int(q.limit * (1 - QUOTA_MARGIN)) - q.used)
        if sum(sizes) <= free:
            return
        since = since_that_fits(dates, sizes, free)
    if since is None:
        since = day_of(day_start(day_of(max(dates))) + DAY)
    cut = day_start(since)
    stats.over_quota_since = since
    stats.over_quota_since_messages = sum(1 for d in dates if d >= cut)
    stats.over_quota_since_bytes = sum(z for d, z in zip(dates, sizes, strict=True) if d >= cut)


def _run_folder(entry: Entry, scanner: Scanner, session: Session, state: State, stats: RunStats,
                quarantine: Quarantine, opts: RunOptions, uploader: Uploader,
                claimed: frozenset[str] = frozenset(), cut: float | None = None) -> FolderRun:
    frun = FolderRun(source=entry.folder.display, target=entry.target, source_key=entry.key)
    stats.folders.append(frun)  # at once: an interrupted folder's counts are in the totals too
    work = scanner.work(entry)
    if work.summary is not None:
        _count_unchanged(frun, from_summary(entry, work.summary), stats)
        # not read again: the journal says how many of its messages the server stored changed
        frun.changed = min(frun.already, state.changed_count(entry.target))
        if work.start is None:
            return frun
    session.retry(lambda t: _check_uidvalidity(entry.target, t, state, scanner))
    fp = from_summary(entry, work.summary, False) if work.summary else folder_plan(entry)
    years: dict[str, list[int]] = {
        y: list(v) for y, v in dict(work.summary.get("by_year", {})).items()  # type: ignore[call-overload]  # by_year: {year: [n, bytes]}
    } if work.summary else {}
    opened = False
    refused: str | None = None  # the server's refusal of CREATE: this folder's messages fail with it
    ledger: list[tuple[str, str, str, int, str, str]] = []
    settled: list[tuple[str, int, str, str]] = []
    ledger_written = False
    risky: dict[str, str] | None = None
    for s in scanner.scan(entry, scanner.records(entry, work.start or 0)):
        if opts.stop_requested():  # checked before each message is counted: it is read again next time
            uploader.finish()
            raise Stopped
        account(fp, s, None, years)
        if s.fate in (UPLOAD, ALREADY, DUPLICATE) and not s.record.extra.get("known"):
            stamp = int(s.record.extra.get("source_size", s.record.size))  # the source's change detector
            settled.append((settled_key(entry, s.record.stable_id), stamp, entry.target, s.fingerprint))
            if len(settled) >= 2000:  # written as we go: memory stays flat (a row counts once done)
                state.add_settled(settled)
                settled.clear()
        below_cut = s.fate == UPLOAD and cut is not None and s.record.date.timestamp() < cut
        if s.fate == UPLOAD and not below_cut and not opened and refused is None:
            try:
                entry.target = frun.target = session.retry(lambda t: _create_folder(entry.target, t, claimed))
                uploader.uidnext[entry.target] = session.retry(lambda t: _open_folder(entry.target, t, state))
                opened = True
            except FolderRefused as exc:  # this folder fails alone; the run goes on (exit 1)
                refused = _("folder could not be created: {words}").format(words=exc.server_words)
                uploader.warnings.append(f"{entry.folder.display}: {entry.target!r}: {refused}")
        if below_cut:  # older than what fits (--ignore-quota, newest first): never sent
            frun.scanned += 1
            uploader.count_over_quota(frun, [s])
        elif s.fate == UPLOAD and refused is not None:  # counted failed, not quarantined: the message is fine
            frun.scanned += 1
            frun.failed += 1
            stats.failures.append(quarantine.failure(s.record, entry.target, refused, None))
            _settled(opts, entry, "failed", s.size)
        elif s.fate == UPLOAD:
            _pace(opts, s.size, uploader, session)
            frun.scanned += 1
            uploader.add(s, entry.target, frun)
        elif s.fate in (ALREADY, DUPLICATE):
            frun.scanned += 1
            if s.fate == ALREADY:
                frun.already += 1
                if risky is None:  # the journal's at-risk marks of this folder, read once and only when needed
                    risky = {f: how for (_t, f), (how, _rb) in state.at_risk(entry.target).items()}
                uploader.count_changed_already(frun, s, risky.get(s.fingerprint or ""))
                # done in the journal: counted done when the run started (journal/progress.py)
                _settled(opts, entry, "already", s.size, earlier=s.reason == "uploaded earlier")
            else:
                frun.duplicates += 1
                _settled(opts, entry, "duplicate", s.size)
        elif s.fate == UNREADABLE:
            frun.scanned += 1
            frun.failed += 1
            reason = s.reason or "unreadable"
            # what could be read is kept (a Becky! message whose attachment file is missing); else a log line
            kept = quarantine.keep(s.record, entry.target, reason) if s.record.raw else None
            if kept is None:
                quarantine.log_unreadable(s.record, entry.target, reason)
            stats.failures.append(quarantine.failure(s.record, entry.target, reason, kept))
            state.record_unreadable(entry.target, s.record.stable_id, entry.folder.display, s.record.locator,
                                    reason)  # `migrate status` counts it as failed
            _settled(opts, entry, "failed", s.size)
        elif s.fate == SKIPPED:
            frun.skipped += 1
            _settled(opts, entry, "skipped", s.size)
        elif s.fate == FILTERED:
            frun.filtered += 1
            _settled(opts, entry, "filtered", s.size)
            row = ledger_row(s, entry.target, lambda t, f: getattr(state.lookup(t, f), "status", None) == "done")
            if row is not None:
                ledger.append(row)
                if len(ledger) >= 2000:
                    state.ledger_replace(entry.key, ledger, replace=not work.start and not ledger_written)
                    ledger.clear()
                    ledger_written = True
        if s.fate != UPLOAD or refused is not None:
            s.release()  # counted: its bytes go now (an upload's go once it is settled, see Uploader)
    uploader.finish()  # settle this folder before remembering it as settled
    state.add_settled(settled)  # only rows that are done count (see State.settled)
    state.ledger_replace(entry.key, ledger, replace=not work.start and not ledger_written)
    if work.token is not None and frun.failed == 0 and frun.over_quota == 0:
        state.set_source_folder(entry.key, work.token, scanner.summary(entry, fp, years))
    return frun


def _settled(opts: RunOptions, entry: Entry, outcome: Outcome, size: int, earlier: bool = False) -> None:
    """MessageSettled for a message this folder's scan settled without an upload (the uploads are
    the Uploader's)."""
    emit(opts.on_event, MessageSettled(entry.folder.display, outcome, size, earlier))


def _pace(opts: RunOptions, size: int, uploader: Uploader, session: Session) -> None:
    """The daily upload cap: when today's allowance is used up, settle what is in flight, wait
    for the next window (Ctrl-C stops cleanly), and reconnect (idle connections time out)."""
    pacer = opts.pacer
    if pacer is None:
        return
    until = pacer.wait_needed(size)
    if until:
        uploader.finish()
        if not pacer.wait(until, opts.stop_requested):
            raise Stopped
        session.reconnect()
    pacer.sent_bytes(size)


def _count_unchanged(frun: FolderRun, fp: FolderPlan, stats: RunStats) -> None:
    frun.scanned = fp.messages
    frun.already = fp.already
    frun.duplicates = fp.duplicates
    frun.skipped = sum(fp.skipped.values())
    frun.filtered = fp.filtered


def _create_folder(name: str, target: Server, claimed: frozenset[str] = frozenset()) -> str:
    """Create the folder when absent; when the server refuses the name, a safe spelling of it that
    is no other source folder's target (`claimed`: their folders.collision_key)."""
    if name in target.known_folders():
        return name
    try:
        target.create_folder(name)
        return name
    except FolderRefused as first:
        for alt in fallback_names(name, target.delimiter):
            if collision_key(alt) in claimed:
                continue
            if alt in target.known_folders():
                return alt
            try:
                target.create_folder(alt)
                return alt
            except FolderRefused:
                continue
        raise first


def _open_folder(name: str, target: Server, state: State) -> int:
    """The folder's UIDNEXT (noted with each intent); _create_folder made sure it exists."""
    st = target.status(name)
    state.set_folder(name, st.uidvalidity, st.uidnext)
    return st.uidnext


def _check_uidvalidity(name: str, target: Server, state: State, scanner: Scanner) -> None:
    """A folder recreated on the server (new UIDVALIDITY): re-establish what is there, by content."""
    known_uv, _ = state.folder(name)
    if known_uv is None or name not in target.known_folders():
        return
    st = target.status(name)
    if st.uidvalidity != known_uv:
        revalidate_folder(target, state, name, st.uidvalidity)
        state.set_folder(name, st.uidvalidity, st.uidnext)
        scanner.forget_index(name)
