"""flows/status.py over journals that real `execute` runs left (in-memory server): how each run
ended (finished, interrupted, over quota, failed), per-folder migrated / already / failed / left,
with and without the source; render_report in 80 columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator.domain.errors import LoginError, NotStarted
from migrator.domain.filters import Scope
from migrator.domain.models import StatusReport
from migrator.flows.run import RunOptions, execute
from migrator.flows.status import migration_status
from migrator.journal.state import State
from migrator.render.status import render_report
from migrator.render.width import text_width
from migrator.sources import open_source
from tests.support.corpus import Item, msg, write_maildirpp
from tests.support.memory_server import Account

USAGE = Path(__file__).resolve().parents[2] / "docs" / "usage.md"


def _store(root: Path) -> Path:
    write_maildirpp(root, {("Inbox",): [Item(msg(f"m{i}", f"hello {i}\n" + "x" * (40 * i), n=i)) for i in range(8)],
                           ("取引先", "とても長い名前の取引先のフォルダ"): [Item(msg(f"t{i}", n=50 + i)) for i in range(3)],
                           ("Sent",): [Item(msg("s", n=99))]})
    return root


def _run(tmp: Path, src: Path, account: Account, **kw: object) -> object:
    opts = RunOptions(backoff=lambda a: 0.0, settle_delay=0.05, **kw)  # type: ignore[arg-type]
    with State.open(tmp / "state.db", source_id="src", target_id="memory") as state:
        source = open_source(src)
        try:
            return execute([source], account.connect, state, Scope(), opts, tmp / "quarantine")
        finally:
            source.close()


def _status(tmp: Path, src: Path | None) -> StatusReport:
    if src is None:
        return migration_status(tmp / "state.db", next_command="migrate run X --target Y")
    source = open_source(src)
    try:
        return migration_status(tmp / "state.db", sources=[source], next_command="migrate run X --target Y")
    finally:
        source.close()


def _adds_up(r: StatusReport) -> None:
    assert r.left is not None and r.in_source is not None
    assert r.migrated + r.already + r.failed + r.left == r.in_source
    for f in r.folders:
        assert f.left is not None and f.migrated + f.already + f.failed + f.left == f.in_source, f


def test_finished_then_nothing_left(tmp_path: Path) -> None:
    src = _store(tmp_path / "src")
    _run(tmp_path, src, Account(), connections=1)
    for given in (src, None):
        r = _status(tmp_path, given)
        _adds_up(r)
        assert r.migrated == 12 and r.left == 0 and r.done and r.next == "" and r.counted == (given is not None)
        assert r.last_run is not None and r.last_run.outcome == "finished" and r.last_run.uploaded == 12
    text = render_report(r)
    assert "Nothing is left" in text and "finished" in text
    for line in text.splitlines():
        if line.startswith("  "):
            assert text_width(line) <= 80, line


def test_interrupted_run_leaves_some(tmp_path: Path) -> None:
    src = _store(tmp_path / "src")
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 4

    stats = _run(tmp_path, src, Account(), connections=1, batch_count=2, stop_requested=stop)
    assert stats.interrupted  # type: ignore[attr-defined]
    r = _status(tmp_path, src)
    _adds_up(r)
    assert r.last_run is not None and r.last_run.outcome == "interrupted" and r.last_run.finished
    assert r.left and r.left > 0 and r.migrated > 0 and not r.done and r.next == "migrate run X --target Y"
    assert r.in_source == 12
    alone = _status(tmp_path, None)
    assert alone.migrated == r.migrated and alone.left is None  # folders it did not reach: not known
    assert any(f.left is None for f in alone.folders)
    text = render_report(alone)
    assert "interrupted" in text and "Left: not known" in text and "To carry on: migrate run X" in text
    _run(tmp_path, src, Account(), connections=1)  # (another server: all goes up there) the journal is the same
    assert _status(tmp_path, src).left == 0


def test_already_on_the_server_is_not_migrated(tmp_path: Path) -> None:
    src = _store(tmp_path / "src")
    acc = Account()
    _run(tmp_path, src, acc, connections=1)
    (tmp_path / "state.db").unlink()  # a lost journal: the next run finds every message there
    _run(tmp_path, src, acc, connections=1)
    r = _status(tmp_path, src)
    _adds_up(r)
    assert r.migrated == 0 and r.already == 12 and r.left == 0 and r.done


def test_over_quota_run(tmp_path: Path) -> None:
    src = _store(tmp_path / "src")
    acc = Account(quota_limit=2500)
    stats = _run(tmp_path, src, acc, batch_count=4, connections=1, ignore_quota=True, exact_plan=False)
    assert stats.over_quota > 0  # type: ignore[attr-defined]
    alone = _status(tmp_path, None)
    assert alone.last_run is not None and alone.last_run.outcome == "over quota"
    assert alone.left == alone.over_quota == stats.over_quota  # type: ignore[attr-defined]
    _adds_up(alone)
    assert "not uploaded: over quota:" in render_report(alone)


def test_failed_run_says_why(tmp_path: Path) -> None:
    src = _store(tmp_path / "src")
    acc = Account(drop_after=2)
    real_connect = acc.connect

    def connect():  # type: ignore[no-untyped-def]
        if acc.connects >= 2:
            acc.login_refused = True
        return real_connect()

    acc.connect = connect  # type: ignore[method-assign]
    with pytest.raises(LoginError):
        _run(tmp_path, src, acc, batch_count=3, connections=1)
    r = _status(tmp_path, src)
    assert r.last_run is not None and r.last_run.outcome == "failed" and r.last_run.error
    assert "failed" in render_report(r) and r.left and not r.done


def test_no_journal_and_an_old_journal(tmp_path: Path) -> None:
    with pytest.raises(NotStarted) as exc:
        migration_status(tmp_path / "none.db", what="/mail to imaps://u@h", next_command="migrate run /mail --target u")
    assert exc.value.message.startswith("no migration of /mail to imaps://u@h has started yet")
    assert exc.value.hint == "Start it with: migrate run /mail --target u" and exc.value.exit_code == 2
    with State.open(tmp_path / "old.db", source_id="s", target_id="t") as state:  # no run notes: an older version
        state.record_unreadable("INBOX", "sid", "Inbox", "f @ 0", "broken")
        state.set_last_run({"uploaded": 3, "uploaded_bytes": 300, "over_quota": 0, "over_quota_bytes": 0,
                            "finished": 1.0e9})
    r = migration_status(tmp_path / "old.db")
    assert r.failed == 1 and r.last_run is not None and r.last_run.outcome == "finished"
    assert r.last_run.finished is not None and r.last_run.finished.startswith("2001-09-")


def test_json_schema_is_documented(tmp_path: Path) -> None:
    src = _store(tmp_path / "src")
    _run(tmp_path, src, Account(), connections=1)
    doc = json.loads(_status(tmp_path, src).model_dump_json())
    StatusReport.model_validate(doc)
    documented = USAGE.read_text(encoding="utf-8")
    from migrator.domain.models import FolderStatus, LastRun

    for name in set(StatusReport.model_fields) | set(FolderStatus.model_fields) | set(LastRun.model_fields):
        assert f"`{name}`" in documented, f"{name} is not documented in docs/usage.md"
