"""The queue: Huey, embedded (SqliteHuey under the batch folder) or across machines (RedisHuey).

One Huey task, `run_mailbox(row)`, carries one manifest row (paths, target, the secret's
*reference*, scope: never a secret) to a worker, which runs batch/job.run_job under the
board's rules. Huey is the transport and the consumer (threads, delayed retries); the job
states, leases and limits are the board's (batch/board.py), so a message delivered twice or a
worker that died never runs a mailbox twice at once.

- Embedded: the queue is `DIR/queue.db` (Huey's own SQLite storage: the library's business),
  the board `DIR/board.db` (journal/board.py), the journals `DIR/mailbox-*.db`.
- Broker `redis://host:port/db`: queue and board in Redis, journals on each worker's own disk.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.batch.board import Board
from migrator.batch.job import Busy, Context, run_job
from migrator.batch.manifest import Row
from migrator.domain.errors import UsageError
from migrator.domain.i18n import _

QUEUE_NAME = "migrate-batch"
TASK_NAME = "run_mailbox"


@dataclass(frozen=True)
class Where:
    """Where a batch lives: `dir` (the embedded queue + board, and this machine's journals) and
    `broker` (a redis:// URL: queue and board there instead)."""

    dir: Path
    broker: str | None = None

    @classmethod
    def default(cls, manifest: Path | None, broker: str | None = None) -> Where:
        """The batch folder by default: `office.csv` -> `office.batch/` beside the manifest; without a
        manifest (a worker of a broker batch) the user data folder's `batch/`."""
        if manifest is not None:
            return cls(dir=manifest.expanduser().with_suffix(".batch").resolve(), broker=broker)
        from migrator.domain.config import data_dir

        return cls(dir=(data_dir() / "batch").resolve(), broker=broker)

    def has_run(self) -> bool:
        """Whether an embedded batch has a board in `dir` (a broker's board is always there to ask)."""
        return bool(self.broker) or (self.dir / "board.db").exists()

    def board(self) -> Board:
        """The board of this batch (SQLite under `dir`, or Redis)."""
        if self.broker:
            from migrator.batch.redisdocs import RedisDocs

            return Board(RedisDocs(self.broker))
        from migrator.journal.board import SqliteDocs

        return Board(SqliteDocs(self.dir / "board.db"))


def _huey_module() -> Any:
    try:
        import huey
    except ImportError as exc:
        raise UsageError(_("`migrate batch` needs the huey package"),
                         hint=_("Install it: pip install 'pop-migrate[batch]'.")) from exc
    return huey


def make_huey(where: Where) -> Any:
    """The Huey instance of `where` (results off: the board holds the outcomes)."""
    huey = _huey_module()
    if where.broker:
        from migrator.batch.redisdocs import redis_client

        redis_client(where.broker)  # a clear error (exit 2/3) before Huey's own
        return huey.RedisHuey(QUEUE_NAME, url=where.broker, results=False)
    from migrator.domain import safefile

    try:
        safefile.private_dir(where.dir)
    except OSError as exc:
        raise UsageError(_("cannot create the batch folder {dir}: {reason}").format(
            dir=where.dir, reason=exc.strerror or exc), hint=_("Pick a writable place with --dir.")) from exc
    return huey.SqliteHuey(QUEUE_NAME, filename=str(where.dir / "queue.db"), results=False,
                           timeout=60)  # seconds waiting for a busy SQLite (many workers on a loaded machine)


class Engine:
    """The Huey instance with the `run_mailbox` task registered; `ctx` only in workers."""

    def __init__(self, where: Where, ctx: Context | None = None) -> None:
        self.where = where
        self.huey = make_huey(where)
        self.ctx = ctx
        exceptions = _huey_module().exceptions

        def run_mailbox(row: dict[str, Any]) -> None:
            if self.ctx is None:  # only a worker's Engine executes tasks
                raise RuntimeError("run_mailbox executed outside a worker")
            try:
                run_job(row, self.ctx)
            except Busy as busy:
                raise exceptions.RetryTask(delay=busy.delay) from None

        self.task = self.huey.task(name=TASK_NAME)(run_mailbox)

    def enqueue(self, row: Row) -> None:
        """Put the row's job on the queue (the caller marked it queued on the board first)."""
        self.task(row.model_dump())

    def reenqueue(self, data: dict[str, Any]) -> None:
        """Put a job back on the queue from its row's dump."""
        self.task(data)

    def consume(self, workers: int, stop: threading.Event | None = None, parent: int | None = None) -> None:
        """Run a Huey consumer with `workers` threads until SIGINT/SIGTERM; a reaper thread puts
        the jobs of dead workers back in the queue (lease expired). `parent`: the pid of the
        `batch run` that started this worker: when it is gone (killed), the worker stops too,
        gracefully (the job in hand is finished), so no orphan consumes the queue for ever."""
        logging.getLogger("huey").setLevel(logging.WARNING)
        assert self.ctx is not None
        stop = stop or threading.Event()
        reaper = threading.Thread(target=reap_loop, args=(self, stop), name="reaper", daemon=True)
        reaper.start()
        consumer = self.huey.create_consumer(workers=workers, worker_type="thread", periodic=False,
                                             initial_delay=0.1, backoff=1.15, max_delay=1.0,
                                             check_worker_health=True)
        if parent is not None:
            threading.Thread(target=_watch_parent, args=(parent, consumer, stop), name="parent", daemon=True).start()
        try:
            consumer.run()
        finally:
            stop.set()


def _watch_parent(parent: int, consumer: Any, stop: threading.Event) -> None:
    """Stop `consumer` gracefully once this process's parent is no longer `parent` (it died)."""
    import os
    import signal

    while not stop.wait(1.0):
        if os.getppid() != parent:
            if os.name == "posix":
                os.kill(os.getpid(), signal.SIGINT)  # Huey's graceful stop: the job in hand ends first
            else:
                consumer.stop_flag.set()
            return


def reap_loop(engine: Engine, stop: threading.Event, rows: dict[str, dict[str, Any]] | None = None) -> None:
    """Every lease/4 seconds: re-queue the jobs whose lease expired (their worker died). `rows`
    (job id -> row dump) when the caller knows the manifest; else the row comes from the board's
    own copy."""
    from migrator.batch.job import lease_seconds

    period = lease_seconds() / 4
    board = engine.where.board()
    while not stop.wait(period):
        try:
            reap_once(engine, board, rows)
        except Exception:  # noqa: BLE001 - a broker hiccup: try at the next period
            continue


def reap_once(engine: Engine, board: Board, rows: dict[str, dict[str, Any]] | None = None) -> int:
    """Re-queue every job whose lease expired; how many."""
    n = 0
    for job in board.reap():
        data = (rows or {}).get(job.job) or job_row(board, job.job)
        if data is not None:
            engine.reenqueue(data)
            n += 1
    return n


def job_row(board: Board, job_id: str) -> dict[str, Any] | None:
    """The row dump stored with a job (so any worker can re-queue it)."""
    doc = board.docs.get(f"row:{job_id}")
    return doc or None
