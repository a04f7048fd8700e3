"""`migrate status` reads its figures through journal.status.StatusView (no SQL in cli.py)."""

from pathlib import Path

from migrator.journal.state import State
from migrator.journal.status import StatusView
from migrator.render.status import render_status


def test_status_view_reads_counts_and_last_run(tmp_path: Path):
    path = tmp_path / "s.db"
    with State.open(path, source_id="src", target_id="tgt") as state:
        state.set_meta("source", "/mail/a\n/mail/b")
        state.set_meta("target", "imaps://u@h")
        state.record_unreadable("INBOX", "sid-1", "Inbox", "file @ 0", "broken")
        state.set_last_run({"uploaded": 3, "uploaded_bytes": 3072, "over_quota": 2, "over_quota_bytes": 2048,
                            "finished": 0})
    view = StatusView.read(path)
    assert view.target == "imaps://u@h" and view.by_status["failed"] == 1 and view.by_status["done"] == 0
    assert view.last_run is not None and view.last_run.over_quota == 2
    text = render_status(view)
    assert text.splitlines()[:2] == ["target: imaps://u@h", "source: /mail/a, /mail/b"]
    assert "failed: 1" in text
    assert "not uploaded: over quota: 2 message(s), 2.0 KB left after the last run (which uploaded 3, 3.0 KB)" in text
