"""What each `run` leaves in its journal for `migrate status`: when it started, the folders it was
to read (with the plan's counts), and how it ended (finished, interrupted, over quota, failed)
with its per-folder counts. Kept as JSON in the meta table (State.meta/set_meta), so no schema
change: a journal of an earlier version simply has none of it.

Keys: `run_started` {"started": epoch seconds, "pid"}; `run_folders` [{"key", "source", "target",
"messages", "bytes"}] (messages/bytes null when the run skipped the exact plan); `last_run`
{"uploaded", "uploaded_bytes", "over_quota", "over_quota_bytes", "over_quota_since", "finished"
(as before), "started", "outcome", "error", "folders": [{"key", "source", "target", counts...,
"in_scope", "complete"}]}.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from migrator.domain.errors import StateError
from migrator.journal.state import State

OUTCOMES = ("finished", "interrupted", "over quota", "failed")


def _json(state: State, key: str) -> Any:
    raw = state.meta(key)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def record_start(state: State, started: float | None = None) -> None:
    """Note that a run starts now (before it reads or uploads anything)."""
    state.set_meta("run_started", json.dumps({"started": started or time.time(), "pid": os.getpid()}))
    state.set_meta("run_folders", "[]")


def record_folders(state: State, folders: list[dict[str, object]]) -> None:
    """The folders this run is to read, in order: {"key", "source", "target", "messages", "bytes"}."""
    state.set_meta("run_folders", json.dumps(folders, ensure_ascii=False))


def record_end(state: State, summary: dict[str, object]) -> None:
    """How the run ended (see the module docstring for the keys); a journal that cannot be written
    any more (the reason the run failed, maybe) is left as it is: the start note then says the run
    did not record its end."""
    started = _json(state, "run_started") or {}
    summary = {"started": started.get("started"), "finished": time.time(), **summary}
    try:
        state.set_last_run(summary)
    except StateError:
        pass


@dataclass
class RunLog:
    """What the journal says about the runs (None/empty for a journal of an earlier version)."""

    started: float | None = None  # epoch seconds of the latest run's start
    pid: int | None = None
    folders: list[dict[str, Any]] = field(default_factory=list)  # run_folders
    last: dict[str, Any] | None = None  # last_run
    running: bool | None = None  # a run holds the journal's lock now (None: could not tell)

    @property
    def ended(self) -> bool:
        """The latest run recorded how it ended."""
        if self.last is None:
            return False
        end_started = self.last.get("started")
        return self.started is None or (end_started is not None and float(end_started) >= self.started)


def read_runlog(state: State) -> RunLog:
    """The runs' notes of an open journal, and whether a run holds it now (journal_busy)."""
    started = _json(state, "run_started") or {}
    folders = _json(state, "run_folders") or []
    return RunLog(started=started.get("started"), pid=started.get("pid"),
                  folders=folders if isinstance(folders, list) else [], last=state.last_run(),
                  running=journal_busy(state.path))


def journal_busy(path: Path) -> bool | None:
    """True while a `run` or `verify` holds the journal at `path` (its `<path>.lock`), False when
    none does, None when it cannot be told (a read-only disk). Takes the lock for an instant only
    when its file is there already: creates nothing."""
    lock_path = Path(f"{path}.lock")
    if not lock_path.exists():
        return False
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    except OSError:
        return None
    lock.release()
    return False


def journal_tally(state: State) -> dict[str, dict[str, int]]:
    """{source folder key: {"done", "done_bytes", "failed", "intent", "missing"}} over the journal's
    messages (bytes as uploaded)."""
    out: dict[str, dict[str, int]] = {}
    sql = ("SELECT source_folder, status, COUNT(*), COALESCE(SUM(size), 0) FROM messages"
           " GROUP BY source_folder, status")
    for key, status, n, size in state._conn.execute(sql):  # noqa: SLF001 - the journal package's own database
        slot = out.setdefault(key, {"done": 0, "done_bytes": 0, "failed": 0, "intent": 0, "missing": 0})
        slot[status] = slot.get(status, 0) + int(n)
        if status == "done":
            slot["done_bytes"] += int(size)
    return out
