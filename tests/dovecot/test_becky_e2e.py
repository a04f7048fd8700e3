"""Issue 19 item 1's acceptance test: `migrate run BECKY_DATA_FOLDER` into a real Dovecot, read back by
another client. Expectations come from the store builder's manifest (tests/support/becky_store.py),
written from the format rules, not from the reader: bytes with `..` undone and attachment includes
expanded, flags from Folder.idx / X-Becky-Status, INTERNALDATE, folder names (CP932 on disk), roles
to INBOX and the special-use folders, a missing attachment failed and quarantined, nothing twice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.dovecot.test_e2e import assert_server_holds, read_server, run
from tests.dovecot.test_thunderbird_e2e import read_server as read_folders
from tests.support.becky_store import Manifest, build_store

pytestmark = pytest.mark.dovecot


def _store(tmp: Path) -> Manifest:
    try:
        os.mkdir(os.fsencode(tmp) + b"/" + "試".encode("cp932"))
        cp932 = True
    except OSError:
        cp932 = False  # a file system that refuses non-UTF-8 names: Unicode names, as on Windows
    return build_store(tmp / "Becky", cp932_names=cp932)


def _snapshot(root: Path) -> dict[bytes, tuple[bytes, int]]:
    out = {}
    for dirpath, _dirs, files in os.walk(os.fsencode(root)):
        for name in files:
            p = os.path.join(dirpath, name)
            with open(p, "rb") as fh:
                out[p] = (fh.read(), os.stat(p).st_mtime_ns)
    return out


def _want(man: Manifest, delim: str, apart: bool) -> dict[str, list[tuple[bytes, frozenset[str], object]]]:
    want: dict[str, list[tuple[bytes, frozenset[str], object]]] = {}
    for m in man.uploaded():
        want.setdefault(man.target(m, delim, apart), []).append((m.raw, m.flags, m.date))
    return want


def test_becky_data_folder_roundtrip(tmp_path: Path, imap_user) -> None:
    man = _store(tmp_path)
    before = _snapshot(man.root)
    n, failed = len(man.uploaded()), len(man.failed())

    plan = run(["plan", str(man.root)], imap_user, tmp_path)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "IMAPアカウント" in plan.stdout + plan.stderr and "not migrated" in plan.stdout + plan.stderr

    r = run(["run", str(man.root)], imap_user, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr  # one message failed: incomplete
    assert "Traceback" not in r.stderr
    assert f"In scope: {n + failed} = uploaded {n} + already on target 0 + duplicates 0 + failed {failed}" \
        in r.stdout, r.stdout
    delim, server = read_server(imap_user)
    assert_server_holds(server, _want(man, delim, apart=False))
    assert "Sent" in server and "送信済み" not in server  # !!!!Outbox went to the special-use Sent folder

    q = tmp_path / "s.quarantine"
    kept = [p.read_bytes() for p in q.rglob("*.eml")]
    assert kept == [m.raw for m in man.failed()], "the message with a missing attachment is kept as read"
    log = (q / "failures.log").read_text(encoding="utf-8")
    assert "なくした.pdf" in log and "missing" in log, log

    again = run(["run", str(man.root)], imap_user, tmp_path)
    assert again.returncode == 1, again.stdout + again.stderr
    assert f"uploaded 0 + already on target {n}" in again.stdout, again.stdout
    assert read_server(imap_user)[1] == server, "a second run uploads nothing"
    assert _snapshot(man.root) == before, "the Becky! store is untouched"

    verify = run(["verify", str(man.root)], imap_user, tmp_path)
    assert "Traceback" not in verify.stderr and f"present {n}" in verify.stdout, verify.stdout + verify.stderr


def test_becky_mailboxes_kept_apart(tmp_path: Path, imap_user) -> None:
    man = _store(tmp_path)
    r = run(["run", str(man.root), "--account-prefix"], imap_user, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    delim, _specials, held = read_folders(imap_user)  # skips levels that exist only in the hierarchy
    server = {name: [(raw, set(flags), date) for raw, flags, date in msgs] for name, msgs in held.items()}
    assert_server_holds(server, _want(man, delim, apart=True))
    assert f"仕事{delim}Inbox" in server and f"個人{delim}Inbox" in server
