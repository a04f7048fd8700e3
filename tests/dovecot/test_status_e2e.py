"""`migrate status` against a real run: the journal found from run's own arguments (the default
state path), from --state, after a finished run and after a run that died half-way (left > 0),
and the missing journal; `run` says where its journal lives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.corpus import Item, msg, write_maildirpp

pytestmark = pytest.mark.dovecot


def _corpus(root: Path) -> int:
    items = {("Inbox",): [Item(msg(f"m{i}", f"body {i}\n", n=i)) for i in range(7)],
             ("取引先",): [Item(msg(f"t{i}", f"取引 {i}\n", n=100 + i)) for i in range(4)],
             ("Sent",): [Item(msg("s0", "sent\n", n=200))]}
    write_maildirpp(root, items)
    return sum(len(v) for v in items.values())


def _env(user: Any, tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, **user.env, "XDG_DATA_HOME": str(tmp / "data"), **(extra or {})}


def migrate(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _journal_line(stderr: str) -> Path:
    line = next(x for x in stderr.splitlines() if x.startswith("migrate: journal: "))
    return Path(line.removeprefix("migrate: journal: ").split(" (where it stands")[0])


def test_status_from_run_arguments_after_a_finished_run(tmp_path: Path, imap_user: Any) -> None:
    src = tmp_path / "Maildir"
    total = _corpus(src)
    env = _env(imap_user, tmp_path)
    pair = [str(src), "--target", imap_user.url_imaps]
    r = migrate(["run", *pair, "-q"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    journal = _journal_line(r.stderr)
    assert journal.is_file() and journal.is_relative_to(tmp_path / "data")
    assert f"migrate status {src} --target {imap_user.url_imaps}" in r.stderr
    again = migrate(["run", *pair, "-q", "--json"], env)
    assert json.loads(again.stdout)["state"] == str(journal) and "migrate: journal:" not in again.stderr

    st = migrate(["status", *pair], {**env, "MIGRATE_PASSWORD": ""})  # never connects: no password needed
    assert st.returncode == 0, st.stderr
    text = st.stdout
    assert str(journal) in text and "Nothing is left" in text and "finished" in text, text
    for line in text.splitlines():
        if "  " in line.strip():
            assert len(line) <= 80, line
    assert any(x.split()[:1] == ["取引先"] and x.split()[-4:] == ["4", "0", "0", "0"] for x in text.splitlines()), text
    doc = json.loads(migrate(["status", *pair, "--json"], env).stdout)
    assert doc["migrated"] == total and doc["left"] == 0 and doc["failed"] == 0 and doc["done"] and doc["counted"]
    assert doc["in_source"] == total and doc["state"] == str(journal) and doc["next"] == ""
    assert doc["last_run"]["outcome"] == "finished" and doc["last_run"]["uploaded"] == 0  # the second run's
    assert doc["already"] == 0  # what the first run uploaded is migrated, not "already there"
    assert doc["last_run"]["started"] and doc["last_run"]["finished"][-6] in "+-"  # local time with its offset
    assert {f["target"]: f["migrated"] for f in doc["folders"]} == {"INBOX": 7, "取引先": 4, "Sent": 1}

    alone = json.loads(migrate(["status", "--state", str(journal), "--json"], env).stdout)
    assert not alone["counted"] and alone["left"] == 0 and alone["migrated"] == total and alone["done"]
    assert alone["sources"] == [str(src)] and alone["last_run"]["uploaded"] == 0


def test_status_after_a_run_that_died(tmp_path: Path, make_imap_user: Any) -> None:
    src = tmp_path / "Maildir"
    total = _corpus(src)
    user = make_imap_user()
    env = _env(user, tmp_path)
    pair = [str(src), "--target", user.url_imaps]
    r = migrate(["run", *pair, "-q", "--connections", "1", "--batch", "2"], {**env, "MIGRATE_TEST_CRASH": "answered:3"})
    assert r.returncode == 137, r.stdout + r.stderr
    doc = json.loads(migrate(["status", *pair, "--json"], env).stdout)
    assert doc["last_run"]["outcome"] == "stopped" and doc["last_run"]["finished"] is None
    # the worker that got the answers may die before the main thread journals them done: they are
    # then unsettled (the next run finds them on the server), never lost and never counted twice
    assert doc["migrated"] < total and doc["left"] > 0 and doc["migrated"] + doc["unsettled"] > 0
    assert doc["migrated"] + doc["already"] + doc["failed"] + doc["left"] == doc["in_source"] == total
    assert not doc["done"] and doc["next"].startswith(f"migrate run {src} --target {user.url_imaps}")
    text = migrate(["status", *pair], env).stdout
    assert "did not finish" in text and f"Left: {doc['left']} messages" in text and "To finish: migrate run" in text

    journal = Path(doc["state"])
    alone = json.loads(migrate(["status", "--state", str(journal), "--json"], env).stdout)
    assert alone["migrated"] == doc["migrated"] and alone["left"] is None and not alone["done"]
    assert alone["unsettled"] == doc["unsettled"]
    assert "migrate run" in alone["next"] and f"--state {journal}" in alone["next"]
    text = migrate(["status", "--state", str(journal)], env).stdout
    assert "Left: not known" in text and "give the source" in text

    r = migrate(["run", *pair, "-q"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(migrate(["status", *pair, "--json"], env).stdout)
    assert doc["migrated"] == total and doc["left"] == 0 and doc["done"] and doc["unsettled"] == 0


def test_status_with_state_given_to_run(tmp_path: Path, imap_user: Any) -> None:
    src = tmp_path / "Maildir"
    total = _corpus(src)
    env = _env(imap_user, tmp_path)
    state = tmp_path / "my.db"
    r = migrate(["run", str(src), "--target", imap_user.url_imaps, "--state", str(state), "-q"], env)
    assert r.returncode == 0 and f"migrate: journal: {state}" in r.stderr, r.stderr
    assert f"--state {state}" in r.stderr
    doc = json.loads(migrate(["status", str(src), "--target", imap_user.url_imaps, "--state", str(state),
                              "--json"], env).stdout)
    assert doc["migrated"] == total and doc["left"] == 0
    other = migrate(["status", str(tmp_path), "--target", imap_user.url_imaps, "--state", str(state)], env)
    assert other.returncode == 5 and "belongs to another migration" in other.stderr  # the pair is checked


def test_status_before_any_run(tmp_path: Path, imap_user: Any) -> None:
    src = tmp_path / "Maildir"
    _corpus(src)
    env = _env(imap_user, tmp_path)
    r = migrate(["status", str(src), "--target", imap_user.url_imaps], env)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"migrate: error: no migration of {src} to {imap_user.url_imaps} has started yet")
    assert lines[1] == f"hint: Start it with: migrate run {src} --target {imap_user.url_imaps}"
    assert not (tmp_path / "data").exists()  # status creates nothing
    r = migrate(["status", "--state", str(tmp_path / "none.db")], env)
    assert r.returncode == 2 and "no journal at" in r.stderr and "Traceback" not in r.stderr
    r = migrate(["status"], env)
    assert r.returncode == 2 and "--state" in r.stderr
