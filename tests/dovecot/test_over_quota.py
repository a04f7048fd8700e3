"""Issue 16 kind 5 against a real Dovecot with the quota plugin: the server runs out of room
mid-run. A MULTIAPPEND refused with NO [OVERQUOTA] stores nothing (RFC 3502): its messages are
sent again one by one so that what fits goes up; the rest is accounted "not uploaded: over quota"
(exit 4) and a run after the quota grows sends exactly the rest. `--ignore-quota` uploads the
newest mail first (what the diet's --since keeps). Expectations come from the corpus."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from migrator.domain.events import PhaseStarted
from tests.dovecot.test_quota_diet import (
    db_rows,
    diet_corpus,
    expected,
    half_quota_setup,
    migrate,
    nonempty,
    server,
    server_quota,
)

pytestmark = pytest.mark.dovecot


def _no_duplicates(contents: dict[str, Counter[str]]) -> None:
    for folder, digests in contents.items():
        assert all(n == 1 for n in digests.values()), f"a message twice in {folder}"


def test_batch_refused_over_quota_is_sent_one_by_one(tmp_path: Path, make_imap_user, dovecot, monkeypatch):
    """The quota shrinks between the plan and the upload (another client filled the account, an
    admin lowered it): batches of 12 meet NO [OVERQUOTA]; singles put up what fits."""
    from pydantic import SecretStr

    from migrator.domain.config import parse_target
    from migrator.domain.filters import Scope
    from migrator.flows.run import RunOptions, execute
    from migrator.imap.client import ImapTarget
    from migrator.journal.state import State
    from migrator.sources import open_source

    src = tmp_path / "mail"
    mails = diet_corpus(src)
    total = sum(len(m.wire) for m in mails)
    user = make_imap_user()  # no quota at plan time: the run does not pre-read
    monkeypatch.setenv("SSL_CERT_FILE", user.env["SSL_CERT_FILE"])
    cfg = parse_target(user.url_imaps).model_copy(update={"password": SecretStr(user.password)})
    limit_kb = total // 1024 // 2

    def run_once(on_event=None):
        source = open_source(src)
        try:
            with State.open(tmp_path / "s.db", source_id="s", target_id="t") as state:
                return execute([source], lambda: ImapTarget(cfg).connect(), state, Scope(),
                               RunOptions(connections=2, batch_count=12, on_event=on_event), tmp_path / "q")
        finally:
            source.close()

    stats = run_once(on_event=lambda e: dovecot.set_quota(user.user, limit_kb)  # between plan and upload
                     if isinstance(e, PhaseStarted) and e.phase == "uploading" else None)
    assert 0 < stats.uploaded < len(mails) and stats.over_quota > 0
    assert stats.uploaded + stats.over_quota == len(mails) and stats.adds_up
    assert stats.failed == 0 and not stats.failures  # nothing quarantined for a full mailbox
    assert stats.over_quota_bytes == total - stats.uploaded_bytes
    assert sum(f.over_quota for f in stats.folders) == stats.over_quota
    on_server = nonempty(server(user))
    _no_duplicates(on_server)
    assert sum(sum(c.values()) for c in on_server.values()) == stats.uploaded
    want = expected(mails)
    assert all(on_server[f] <= want[f] for f in on_server)  # only our messages, each once
    used, limit = server_quota(user)
    assert used <= limit * 1.1  # Dovecot's quota_grace (10%) lets the last message pass
    # more than one message of a refused batch went up: the batch was split, not dropped whole
    assert stats.uploaded > 12 or stats.uploaded % 12
    assert db_rows(tmp_path / "s.db", "SELECT COUNT(*) FROM messages WHERE status = 'intent'") == [(0,)]
    assert db_rows(tmp_path / "s.db", "SELECT COUNT(*) FROM messages WHERE status = 'done'") == [(stats.uploaded,)]

    dovecot.set_quota(user.user, total * 3 // 1024)
    again = run_once()
    assert again.over_quota == 0 and again.uploaded == stats.over_quota and again.already == stats.uploaded
    assert nonempty(server(user)) == want  # every message exactly once


def test_ignore_quota_uploads_the_newest_first(tmp_path: Path, make_imap_user, dovecot):
    src, mails, total, user, state = half_quota_setup(tmp_path, make_imap_user)
    r = migrate(["plan", str(src), "--json"], user, state)
    assert r.returncode == 4
    since = json.loads(r.stdout)["quota"]["suggested_since"]
    recent = [m for m in mails if m.day >= since]
    old = [m for m in mails if m.day < since]

    r = migrate(["run", str(src), "--ignore-quota", "--json"], user, state)
    assert r.returncode == 4, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    stats = json.loads(r.stdout)
    assert nonempty(server(user)) == expected(recent)  # what the diet keeps: the newest mail
    assert (stats["uploaded"], stats["over_quota"]) == (len(recent), len(old))
    assert stats["over_quota_bytes"] == sum(len(m.wire) for m in old)
    assert stats["in_scope"] == stats["uploaded"] + stats["already"] + stats["duplicates"] + stats["failed"] \
        + stats["over_quota"]
    err = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert err[0].startswith("migrate: error: not uploaded: over quota:"), r.stderr
    assert re.match(r"hint: Run with --since \d{4}-\d{2}-\d{2}", err[1]), r.stderr

    # again: the newest of what is left that still fits the margin (maybe none), nothing twice
    text = migrate(["run", str(src), "--ignore-quota"], user, state)
    assert text.returncode == 4 and "Not uploaded: over quota:" in text.stdout
    assert "not uploaded (over quota)" in text.stdout
    _no_duplicates(server(user))
    done = db_rows(state, "SELECT COUNT(*) FROM messages WHERE status = 'done'")[0][0]
    on_server = nonempty(server(user))
    assert sum(sum(c.values()) for c in on_server.values()) == done
    newest_left = max(m.date for m in mails if expected([m])[m.folder] - on_server.get(m.folder, Counter()))
    assert all(m.date >= newest_left for m in mails if not expected([m])[m.folder] - on_server.get(m.folder, Counter()))
    st = subprocess.run([sys.executable, "-m", "migrator", "status", "--state", str(state)],
                        capture_output=True, text=True, timeout=60)
    assert st.returncode == 0 and f"not uploaded: over quota: {len(mails) - done} message(s)" in st.stdout, st.stdout

    dovecot.set_quota(user.user, total * 3 // 1024)
    r = migrate(["run", str(src), "--json"], user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["uploaded"] == len(mails) - done
    assert nonempty(server(user)) == expected(mails)  # exactly once
    st = subprocess.run([sys.executable, "-m", "migrator", "status", "--state", str(state)],
                        capture_output=True, text=True, timeout=60)
    assert "over quota" not in st.stdout


def test_refusal_hint_leads_with_since(tmp_path: Path, make_imap_user):
    src, mails, total, user, state = half_quota_setup(tmp_path, make_imap_user)
    r = migrate(["run", str(src)], user, state)
    assert r.returncode == 4
    hint = next(ln for ln in r.stderr.splitlines() if ln.startswith("hint: "))
    assert re.match(r"hint: Run with --since \d{4}-\d{2}-\d{2}: ", hint), hint
    assert "--ignore-quota" in hint
