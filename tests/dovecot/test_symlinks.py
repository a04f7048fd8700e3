"""Issue 16 kind 8 end to end: a symbolic link planted where `migrate run` writes (state, its
-wal, the state lock, the account lock, the quarantine directory, a quarantined .eml,
failures.log, the --debug trace) is refused with one clear line and exit 5; the file the link
points to is untouched; no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.corpus import Item, msg, write_maildirpp

pytestmark = [pytest.mark.dovecot,
              pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs symlinks")]

PATHS = ["state", "wal", "shm", "state-lock", "account-lock", "quarantine-dir", "failures-log", "eml", "trace"]


def _source(src: Path) -> None:
    """Two good messages and an empty one (Dovecot refuses a zero-byte message: it is quarantined;
    an empty Maildir file carries one)."""
    write_maildirpp(src, {("Inbox",): [Item(msg(f"ok {i}", n=i)) for i in range(2)]})
    (src / "new" / "1700000000.M99P1.testhost").write_bytes(b"")


def _run(user, src: Path, state: Path, locks: Path, debug: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "migrator", "run", str(src), "--target", user.url_imaps, "--state", str(state),
         "-q", *(["--debug"] if debug else [])],
        env={**os.environ, **user.env, "MIGRATE_LOCK_DIR": str(locks)}, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("where", PATHS)
def test_planted_symlink_is_refused(tmp_path: Path, make_imap_user, where: str):
    user = make_imap_user()
    src = tmp_path / "src"
    _source(src)
    state = tmp_path / "st" / "s.db"
    state.parent.mkdir()
    locks = tmp_path / "locks"
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    quarantine = state.with_name("s.quarantine")
    if where in ("eml", "failures-log", "wal", "shm"):
        first = _run(user, src, state, locks)  # learn the names; the empty message is quarantined
        assert first.returncode == 1, first.stdout + first.stderr
    if where == "eml":
        eml = next(quarantine.rglob("*.eml"))
        eml.unlink()
        (quarantine / "failures.log").unlink()
        eml.symlink_to(victim)
    elif where == "failures-log":
        (quarantine / "failures.log").unlink()
        (quarantine / "failures.log").symlink_to(victim)
    elif where == "quarantine-dir":
        real = tmp_path / "elsewhere"
        real.mkdir()
        quarantine.symlink_to(real, target_is_directory=True)
    elif where in ("wal", "shm"):
        companion = Path(f"{state}-{where}")
        companion.unlink(missing_ok=True)
        companion.symlink_to(victim)
    elif where == "state":
        state.symlink_to(victim)
    elif where == "state-lock":
        Path(f"{state}.lock").symlink_to(victim)
    elif where == "account-lock":
        from migrator.domain.config import parse_target
        from migrator.journal.locks import AccountLock, account_key

        cfg = parse_target(user.url_imaps)
        lock = AccountLock(account_key(cfg.host, cfg.port, cfg.user, cfg.scheme), locks)
        locks.mkdir()
        lock.path.symlink_to(victim)
    elif where == "trace":
        Path(f"{state}.imap-trace.log").symlink_to(victim)
    r = _run(user, src, state, locks, debug=where == "trace")
    text = r.stdout + r.stderr
    assert r.returncode == 5, text
    assert "Traceback" not in text
    assert "symbolic link" in r.stderr and "migrate does not write through it" in r.stderr, text
    assert "hint:" in r.stderr
    assert victim.read_bytes() == b"precious\n"
    if where == "quarantine-dir":
        assert not any((tmp_path / "elsewhere").iterdir())
    shutil.rmtree(tmp_path / "elsewhere", ignore_errors=True)
