"""Pure parts of issue 16 kinds 5 and 7: how state-file faults are classified, the read-only URI
of a path with ?, # and %, SQLITE_FULL mid-transaction, and the over-quota wording."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from migrator.domain.errors import ExitCode, StateCorrupt, StateUnwritable
from migrator.domain.models import RunStats
from migrator.journal.state import State
from migrator.journal.statefile import state_fault


def test_classification():
    p = Path("/x/s.db")
    assert isinstance(state_fault(p, sqlite3.OperationalError("database or disk is full")), StateUnwritable)
    assert "is full" in state_fault(p, sqlite3.OperationalError("database or disk is full")).message
    assert isinstance(state_fault(p, sqlite3.OperationalError("attempt to write a readonly database")),
                      StateUnwritable)
    assert isinstance(state_fault(p, sqlite3.DatabaseError("file is not a database")), StateCorrupt)
    assert isinstance(state_fault(p, sqlite3.DatabaseError("database disk image is malformed")), StateCorrupt)
    assert isinstance(state_fault(p, OSError(30, "Read-only file system")), StateUnwritable)
    for cls in (StateUnwritable, StateCorrupt):
        assert cls("x").exit_code == ExitCode.STATE and cls("x").hint


@pytest.mark.parametrize("name", ["a?b.db", "a#b.db", "a%20b.db", "日本語 ?#%.db"])
def test_readonly_uri_opens_that_file(tmp_path: Path, name: str):
    path = tmp_path / name
    with State.open(path, source_id="s", target_id="t") as st:
        st.set_meta("marker", name)
    before = {p.name for p in tmp_path.iterdir()}
    with State.open(path, source_id="s", target_id="t", create=False) as st:
        assert st.meta("marker") == name
    with State.inspect(path) as st:
        assert st.meta("marker") == name
    assert {p.name.removesuffix("-wal").removesuffix("-shm") for p in tmp_path.iterdir()} <= before | {name}


def test_sqlite_full_mid_run_is_a_state_error(tmp_path: Path):
    from migrator.journal.state import Intent

    st = State.open(tmp_path / "s.db", source_id="s", target_id="t")
    st._conn.execute("PRAGMA max_page_count = 40")
    rows = [Intent("INBOX", f"fp{i:06d}" + "x" * 200, None, 10, f"sid{i}" + "y" * 200, "k", "loc", "subj", "", 1)
            for i in range(2000)]
    with pytest.raises(StateUnwritable, match="is full"):
        st.record_intents(rows)
    assert st.counts() == {}  # nothing half-written
    st.close()


def test_corrupt_file_refused(tmp_path: Path):
    p = tmp_path / "s.db"
    p.write_bytes(b"garbage" * 1000)
    with pytest.raises(StateCorrupt):
        State.open(p, source_id="s", target_id="t")
    with pytest.raises(StateCorrupt):
        State.open(p, source_id="s", target_id="t", create=False)


def test_over_quota_wording():
    from migrator.flows.quota import over_quota_refusal

    stats = RunStats(target="t", state="s", in_scope=10, uploaded=6, uploaded_bytes=6000, over_quota=4,
                     over_quota_bytes=4000, over_quota_since="2024-03-01", over_quota_since_messages=1,
                     over_quota_since_bytes=1000)
    assert stats.adds_up
    message, hint = over_quota_refusal(stats)
    assert message.startswith("not uploaded: over quota: 4 message(s)")
    assert hint.startswith("Run with --since 2024-03-01: the rest from that day on fits (1 messages")
    assert "3 older messages" in hint
