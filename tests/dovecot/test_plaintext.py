"""Issue 16 kind 9: a password goes over a connection without TLS only when the user said so
(--insecure with imap:// to a server offering no STARTTLS), and then one explicit warning line
says so, for `check`, `plan`, `run` and `verify` (however many connections); `check` shows
"TLS: none". Against a real Dovecot whose imap listener has no TLS at all (ssl = no)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.corpus import Item, msg, write_mbox_tree

pytestmark = pytest.mark.dovecot

WARNING = "WITHOUT encryption"


def migrate(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=180)


def warnings(r: subprocess.CompletedProcess[str]) -> list[str]:
    return [ln for ln in r.stderr.splitlines() if WARNING in ln]


@pytest.fixture
def plain_user(make_dovecot, make_imap_user):
    return make_imap_user(sandbox=make_dovecot(starttls=False))


def test_check_says_tls_none_and_warns_once(plain_user):
    r = migrate(["check", "--target", plain_user.url_imap, "--insecure"], plain_user.env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "TLS: none" in r.stdout
    lines = warnings(r)
    assert len(lines) == 1 and lines[0].startswith("migrate: warning: ") and "password" in lines[0], r.stderr
    assert plain_user.password not in r.stdout + r.stderr
    # without --insecure: refused before any password is sent (no warning needed)
    r = migrate(["check", "--target", plain_user.url_imap], plain_user.env)
    assert r.returncode == 3 and not warnings(r)


def test_run_plan_verify_warn_once(plain_user, tmp_path: Path):
    src = tmp_path / "mail"
    write_mbox_tree(src, {("Inbox",): [Item(msg(f"plain {i}", f"body {i}\n", n=i),
                                            from_line_date="Mon Jan  1 10:00:00 2024") for i in range(30)]})
    state = tmp_path / "s.db"
    common = ["--target", plain_user.url_imap, "--insecure", "--state", str(state), "-q"]
    for cmd in (["plan", str(src)], ["run", str(src), "--batch", "3", "--connections", "4"], ["verify", str(src)]):
        r = migrate([*cmd, *common], plain_user.env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert len(warnings(r)) == 1, (cmd, r.stderr)
        assert "Traceback" not in r.stderr


def test_tls_connections_do_not_warn(imap_user):
    r = migrate(["check", "--target", imap_user.url_imap], imap_user.env)  # STARTTLS
    assert r.returncode == 0 and not warnings(r) and "TLS: none" not in r.stdout
    r = migrate(["check", "--target", imap_user.url_imaps, "--insecure"], imap_user.env)
    assert r.returncode == 0 and not warnings(r)
