"""A run against the real Dovecot tells its progress as typed events that add up to its result."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.domain.events import Done, FolderDone, FolderStarted, MessageSettled, PhaseStarted
from tests.dovecot.test_quota_diet import diet_corpus

pytestmark = pytest.mark.dovecot


def test_run_events_add_up_to_the_result(tmp_path: Path, make_imap_user, monkeypatch):
    from pydantic import SecretStr

    from migrator.domain.config import parse_target
    from migrator.domain.filters import Scope
    from migrator.flows.run import RunOptions, execute
    from migrator.imap.client import ImapTarget
    from migrator.journal.state import State
    from migrator.sources import open_source

    src = tmp_path / "mail"
    mails = diet_corpus(src)
    user = make_imap_user()
    monkeypatch.setenv("SSL_CERT_FILE", user.env["SSL_CERT_FILE"])
    cfg = parse_target(user.url_imaps).model_copy(update={"password": SecretStr(user.password)})
    events: list[object] = []
    source = open_source(src)
    try:
        with State.open(tmp_path / "s.db", source_id="s", target_id="t") as state:
            stats = execute([source], lambda: ImapTarget(cfg).connect(), state, Scope(),
                            RunOptions(connections=2, batch_count=5, exact_plan=True, on_event=events.append),
                            tmp_path / "q")
    finally:
        source.close()
    assert stats.uploaded == len(mails) and stats.adds_up
    phases = [e.phase for e in events if isinstance(e, PhaseStarted)]
    assert phases == ["reading", "uploading"]
    up = next(e for e in events if isinstance(e, PhaseStarted) and e.phase == "uploading")
    assert up.total_bytes == stats.uploaded_bytes  # the plan's bytes to upload: the bar's length
    uploaded = [e for e in events if isinstance(e, MessageSettled) and e.outcome == "uploaded"]
    assert len(uploaded) == stats.uploaded and sum(e.bytes for e in uploaded) == stats.uploaded_bytes
    done = [e for e in events if isinstance(e, Done)]
    assert len(done) == 1 and events[-1] is done[0] and done[0].counts is stats
    started = [e.folder for e in events if isinstance(e, FolderStarted)]
    finished = [e for e in events if isinstance(e, FolderDone) and e.counts is not None]
    assert [f.folder for f in finished] == [f.source for f in stats.folders]
    assert set(started) >= {f.source for f in stats.folders}
    assert sum(f.counts.uploaded for f in finished) == stats.uploaded
