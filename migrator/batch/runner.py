"""`migrate batch run` and `migrate batch worker`: enqueue, consume, wait, and the exit code.

`run_batch` marks every good row not yet done as queued on the board and puts it on the queue,
starts `workers` local consumer processes (`migrate batch worker`, one thread each: a SIGKILL of
one is a realistic lost worker), and waits until every row has ended (done, failed,
over_quota), re-queueing the jobs of dead workers when their lease expires and restarting a
local consumer that died. The outcome is the board's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from migrator.batch.board import ENDED, Job
from migrator.batch.engine import Engine, Where, reap_once
from migrator.batch.job import Context, lease_seconds
from migrator.batch.manifest import Manifest, Row
from migrator.domain.errors import ExitCode


def job_of(row: Row) -> Job:
    """The board's record of a row before it runs."""
    return Job(job=row.job_id, line=row.line, source=row.source, target=row.target, host=row.host)


def enqueue_all(engine: Engine, manifest: Manifest, *, again: bool = False) -> int:
    """Queue every row not done (`again`: done ones too, for the delta at cutover); how many."""
    board = engine.where.board()
    n = 0
    for row in manifest.rows:
        data = row.model_dump()
        board.docs.update(f"row:{row.job_id}", lambda _doc, data=data: (data, None))  # type: ignore[misc]
        if board.queue(job_of(row), again=again):
            engine.enqueue(row)
            n += 1
    return n


def worker_command(where: Where, workers: int, per_host: int | None = None) -> list[str]:
    """The argv of a local consumer process for `where`."""
    cmd = [sys.executable, "-m", "migrator", "batch", "worker", "--dir", str(where.dir), "--workers", str(workers)]
    if where.broker:
        cmd += ["--broker", where.broker]
    if per_host is not None:
        cmd += ["--per-host", str(per_host)]
    return cmd + ["--parent-pid", str(os.getpid())]


def spawn_worker(where: Where, per_host: int | None = None) -> subprocess.Popen[bytes]:
    """Start one local consumer process (stdout/stderr inherited: its warnings reach the user)."""
    return subprocess.Popen(worker_command(where, 1, per_host), stdin=subprocess.DEVNULL)


def run_batch(where: Where, manifest: Manifest, workers: int, *, again: bool = False,
              on_tick: Callable[[dict[str, Job]], None] | None = None, poll: float = 1.0,
              per_host: int | None = None) -> int:
    """Enqueue, run `workers` local consumers, wait until every good row ended; the exit code:
    0 every mailbox done (and no bad row), 4 any over quota, else 1 any failed or any bad row.
    KeyboardInterrupt propagates (exit 130; the jobs stay queued and resume on the next run)."""
    engine = Engine(where)
    board = where.board()
    enqueue_all(engine, manifest, again=again)
    ids = {r.job_id for r in manifest.rows}
    rows = {r.job_id: r.model_dump() for r in manifest.rows}
    procs = [spawn_worker(where, per_host) for _ in range(workers)]
    last_reap = 0.0
    try:
        while True:
            jobs = {k: v for k, v in board.jobs().items() if k in ids}
            if on_tick is not None:
                on_tick(jobs)
            if ids and all(j.state in ENDED for j in jobs.values()) and len(jobs) == len(ids):
                break
            if not ids:
                break
            if time.monotonic() - last_reap > lease_seconds() / 4:
                reap_once(engine, board, rows)
                last_reap = time.monotonic()
            for i, p in enumerate(procs):
                if p.poll() is not None:  # a local consumer died (killed): keep `workers` running
                    procs[i] = spawn_worker(where, per_host)
            time.sleep(poll)
    finally:
        stop_workers(procs)
    return exit_code(list(jobs.values()), bad_rows=len(manifest.errors))


def stop_workers(procs: list[subprocess.Popen[bytes]], timeout: float = 20.0) -> None:
    """Ask each local consumer to stop (SIGINT: Huey's graceful stop), then kill what lingers."""
    import signal

    for p in procs:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGINT if os.name != "nt" else signal.SIGTERM)
            except OSError:
                pass
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def exit_code(jobs: list[Job], bad_rows: int = 0) -> int:
    """0 when every job is done and no row was bad; 4 when any is over quota; else 1 when any
    failed, was left unfinished or a row was bad (the precedence of `migrate run`: over quota wins
    over failed messages, docs/exit-codes.md)."""
    if any(j.state == "over_quota" for j in jobs):
        return int(ExitCode.QUOTA)
    if bad_rows or any(j.state != "done" for j in jobs):
        return int(ExitCode.INCOMPLETE)
    return 0


def work(where: Where, workers: int, journals: Path | None = None, per_host: int | None = None,
         parent: int | None = None) -> int:
    """`migrate batch worker`: consume jobs with `workers` threads until interrupted (exit 0);
    `parent`: stop when that process (the `batch run` that started this worker) is gone."""
    board = where.board()
    ctx = Context(board=board, journals=journals or where.dir, lease=lease_seconds(), per_host=per_host)
    engine = Engine(where, ctx)
    engine.consume(workers, threading.Event(), parent=parent)
    return 0
