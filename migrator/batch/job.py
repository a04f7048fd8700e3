"""One mailbox job: the run flow of `migrate run`, under a lease, the account lock and the host's limits.

A worker (any machine) runs `run_job(row, ctx)` for a manifest row taken from the queue:

1. claim the job on the board (batch/board.py): exactly one worker gets it; a heartbeat thread
   renews its lease (and the account lease and host slot) every `lease / 4` seconds and notes
   the progress the run's events tell (uploaded, settled, expected, bytes);
2. take a slot of the target host (at most the preset's `max_mailboxes` at once) and the account
   (on the board: across machines; and journal/locks.AccountLock: against a plain `migrate run`
   on this machine); when either is busy the job goes back to the queue for a few seconds;
3. resolve the secret (batch/secrets.py: in memory only) and run flows/run.execute into the
   mailbox's own journal `DIR/mailbox-<job id>.db` (a job resumed on a machine without that
   journal relies on the server-side content dedupe, flows/server_index.py, as a lost journal does);
4. end the job: done, failed (with the reason), over_quota, or queued again when it was stopped.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from migrator.batch.board import Board
from migrator.batch.manifest import Row
from migrator.batch.secrets import resolve
from migrator.domain.config import TargetConfig, source_ident
from migrator.domain.errors import AccountLocked, MigratorError, QuotaError, StateLocked
from migrator.domain.events import Event, FolderStarted, MessageSettled, PhaseStarted, Totals
from migrator.domain.i18n import N_, _
from migrator.flows.retry import pushback_delay
from migrator.flows.server import AppendOutcome, PendingAppend, Server

DEFAULT_LEASE = 30.0  # seconds a job stays claimed without a heartbeat (MIGRATE_BATCH_LEASE overrides)
BUSY_DELAY = 3.0  # seconds before a job whose host or account is busy is tried again


class Busy(Exception):
    """The job's host has no free slot or its account is being written: try again in `delay` s."""

    def __init__(self, delay: float) -> None:
        super().__init__(delay)
        self.delay = delay


@dataclass
class Context:
    """What a worker process knows: its board, where its journals go, the lease (seconds), a
    per-host limit that overrides the presets (None: the presets'), the connections per job."""

    board: Board
    journals: Path
    lease: float = DEFAULT_LEASE
    per_host: int | None = None
    connections: int = 2
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


def lease_seconds() -> float:
    """The lease: MIGRATE_BATCH_LEASE seconds when set (tests shorten it), else DEFAULT_LEASE."""
    try:
        return max(2.0, float(os.environ.get("MIGRATE_BATCH_LEASE", DEFAULT_LEASE)))
    except ValueError:
        return DEFAULT_LEASE


def journal_path(journals: Path, row: Row) -> Path:
    """The mailbox's journal: `<journals>/mailbox-<job id>.db` (its quarantine beside it)."""
    return journals / f"mailbox-{row.job_id}.db"


def host_limit(row: Row, per_host: int | None) -> int | None:
    """Mailboxes at once into the row's host: `per_host` when given, else the provider preset's
    max_mailboxes (by name or recognised from the host), else None (no limit)."""
    if per_host is not None:
        return per_host
    from migrator.domain import providers

    try:
        preset = providers.get(row.provider) if row.provider else providers.detect(row.host, None)
    except MigratorError:
        preset = None
    return preset.max_mailboxes if preset is not None else None


class Progress:
    """The run's events (domain/events.py) folded into the numbers the board shows. Called from the
    run's threads; `snapshot()` from the heartbeat."""

    def __init__(self, uploaded_before: int) -> None:
        self._lock = threading.Lock()
        self.before = uploaded_before
        self.uploaded = 0
        self.settled = 0
        self.bytes = 0
        self.expected: int | None = None
        self.total_bytes: int | None = None
        self._uploading = False

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, PhaseStarted):
                self._uploading = event.phase == "uploading"
                if self._uploading:
                    self.total_bytes = event.total_bytes
            elif isinstance(event, FolderStarted) and self._uploading and event.expected_messages is not None:
                self.expected = (self.expected or 0) + event.expected_messages
            elif isinstance(event, MessageSettled) and self._uploading:
                if event.earlier:
                    return  # settled by an earlier run: in the phase's totals already
                self.settled += 1
                if event.outcome == "uploaded":
                    self.uploaded += 1
                    self.bytes += event.bytes
            elif isinstance(event, Totals) and event.phase == "uploading":
                # where the phase stands (flows/progress.Meter: the sources' cheap counts, corrected
                # as it goes; an earlier run's credit counted done): it wins over the folders' plans
                if event.total_messages is not None:
                    self.expected = event.total_messages - event.done_messages + self.settled
                if event.total_bytes is not None:
                    self.total_bytes = event.total_bytes - event.done_bytes + self.bytes

    def snapshot(self) -> dict[str, Any]:
        """The board's progress fields now."""
        with self._lock:
            return {"uploaded": self.before + self.uploaded, "settled": self.settled, "bytes": self.bytes,
                    "expected": self.expected, "total_bytes": self.total_bytes}


class SharedBackoff:
    """A target connection whose APPENDs wait out the host's shared back-off, and whose throttle
    answers (flows/retry.pushback_delay: NO [UNAVAILABLE], "backoff time") slow every job on the host."""

    def __init__(self, inner: Server, board: Board, host: str, stop: Callable[[], bool]) -> None:
        self._inner = inner
        self._board = board
        self._host = host
        self._stop = stop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def send_append(self, folder: str, items: Sequence[Any]) -> PendingAppend:
        """Wait while the host is backed off (at most 60 s at a time), then send as the inner connection."""
        while not self._stop():
            wait = min(60.0, self._board.backoff_until(self._host) - time.time())
            if wait <= 0:
                break
            time.sleep(min(wait, 1.0))
        return self._inner.send_append(folder, items)

    def collect_append(self, pending: PendingAppend) -> list[AppendOutcome]:
        """The inner connection's answers; a throttle answer is noted on the board for the host."""
        outcomes = self._inner.collect_append(pending)
        delay = pushback_delay(outcomes, 0)
        if delay:
            self._board.throttled(self._host, delay)
        return outcomes


class Heartbeat:
    """A thread renewing the job's lease, account lease and host slot; `lost` once the board says
    another worker took the job over (the run then stops after its current batch)."""

    def __init__(self, ctx: Context, row: Row, owner: str, account: str, progress: Progress) -> None:
        self.ctx, self.row, self.owner, self.account, self.progress = ctx, row, owner, account, progress
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{row.job_id}", daemon=True)

    def start(self) -> Heartbeat:
        """Start renewing."""
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.ctx.lease / 4):
            try:
                if not self.ctx.board.renew(self.row.job_id, self.owner, self.ctx.lease, self.progress.snapshot()):
                    self.lost.set()
                    return
                self.ctx.board.renew_leases(self.account, self.row.host, self.owner, self.ctx.lease)
            except Exception:  # noqa: BLE001 - a board hiccup: try again at the next beat; the lease has slack
                continue

    def stop(self) -> None:
        """Stop renewing (the job's end is written by the caller)."""
        self._stop.set()
        self._thread.join(timeout=10)


def run_job(data: dict[str, Any], ctx: Context) -> str:
    """Run the mailbox `data` (a Row's dump) once; returns the state it ended in ("skipped" when
    another worker holds it or it is done). Raises Busy when its host or account is busy (the
    job is queued again first). Never raises for the mailbox's own failures: they end the job."""
    from migrator.journal.locks import AccountLock, account_key

    row = Row.model_validate(data)
    board = ctx.board
    owner = f"{ctx.worker}:{uuid.uuid4().hex[:8]}"
    if not board.claim(row.job_id, owner, ctx.lease):
        return "skipped"
    job = board.job(row.job_id)
    progress = Progress(job.uploaded if job is not None else 0)
    target = row.target_config()
    account = account_key(target.host, target.port, target.user, target.scheme)
    beat = Heartbeat(ctx, row, owner, account, progress).start()
    local: AccountLock | None = None
    state = "failed"
    fields: dict[str, Any] = {}
    try:
        if not board.take_slot(row.host, owner, host_limit(row, ctx.per_host), ctx.lease):
            raise Busy(BUSY_DELAY)
        if not board.take_account(account, owner, ctx.lease):
            raise Busy(BUSY_DELAY)
        try:
            local = AccountLock(account).acquire(target.user, target.host, target.port)
        except AccountLocked:
            raise Busy(BUSY_DELAY) from None
        target = target.model_copy(update={"password": resolve(row.secret, Path(row.base))})
        stats = _execute(row, target, ctx, progress, beat.lost.is_set)
        fields = {"stats": {"uploaded": stats.uploaded, "already": stats.already, "duplicates": stats.duplicates,
                            "failed": stats.failed, "over_quota": stats.over_quota, "bytes": stats.uploaded_bytes}}
        if stats.interrupted:
            state = "queued"
        elif stats.failed:
            state, fields["reason"] = "failed", N_("some messages failed: see the quarantine beside its journal")
        elif stats.over_quota:
            state, fields["reason"] = "over_quota", N_("some messages did not fit the quota")
        else:
            state = "done"
    except Busy:
        state, fields = "queued", {"reason": N_("waiting for its server or account")}
        raise
    except StateLocked:
        state, fields = "queued", {"reason": N_("its journal is in use on this machine")}
        raise Busy(BUSY_DELAY) from None
    except QuotaError as exc:
        state, fields = "over_quota", {"reason": exc.message}
    except MigratorError as exc:
        state, fields = "failed", {"reason": exc.message + (f" ({exc.hint})" if exc.hint else "")}
    except Exception as exc:  # noqa: BLE001 - one mailbox's bug must not stop the worker: recorded, exit 1
        state, fields = "failed", {"reason": _("internal error (please report it): {error}").format(
            error=f"{type(exc).__name__}: {exc}")}
    finally:
        beat.stop()
        snap = progress.snapshot()
        if state == "done":
            snap["settled"] = snap["expected"] = snap["settled"] if snap["expected"] is None else snap["expected"]
        board.finish(row.job_id, owner, cast(Any, state), **snap, **fields)
        board.release(account, row.host, owner)
        if local is not None:
            local.release()
    return state


def _execute(row: Row, target: TargetConfig, ctx: Context, progress: Progress, stop: Callable[[], bool]) -> Any:
    """flows/run.execute for the row, as `migrate run` does it (journal, lock, quarantine, pacing)."""
    from contextlib import ExitStack

    from migrator.flows.quota import DailyPacer, limits_for
    from migrator.flows.run import RunOptions, execute
    from migrator.imap.client import ImapTarget
    from migrator.journal.state import State

    limits = limits_for(row.provider, target.host, target.user)
    path = journal_path(ctx.journals, row)
    src = row.source_path()
    with ExitStack() as stack:
        source = open_row_source(row)
        stack.callback(source.close)
        state = stack.enter_context(State.open(path, source_id=source_ident([src]), target_id=target.ident))
        state.lock()
        pacer = DailyPacer(limits.daily_upload_bytes, state) if limits.daily_upload_bytes else None

        def connect() -> Server:
            return cast(Server, SharedBackoff(ImapTarget(target).connect(), ctx.board, row.host, stop))

        run_opts = RunOptions(connections=ctx.connections, stop_requested=stop,
                              on_event=progress, limits=limits, pacer=pacer)
        return execute([source], connect, state, row.scope(), run_opts, path.with_name(path.stem + ".quarantine"))


def open_row_source(row: Row) -> Any:
    """The row's source, opened read-only (sources.open_source; a Thunderbird profile with the
    row's account_prefix; a server URL, imaps:// or pop3s://, without a prompt: its password from
    the row's `source_secret` reference, else the source reader's own places). SourceError
    (exit 2) / TargetError (exit 3) when it cannot
    be opened."""
    from migrator.sources import detect_kind, open_source

    if "://" in row.source:
        from migrator.batch.secrets import resolve

        password = resolve(row.source_secret, Path(row.base)) if row.source_secret else None
        return open_source(row.source, interactive=False, password=password)
    src = row.source_path()
    opts: dict[str, Any] = {"account_prefix": True} if row.account_prefix else {}
    return open_source(src, **(opts if detect_kind(src) == "thunderbird" else {}))
