"""No secret is ever written: after check/plan/run/verify/status with --debug (and a refused message
so that the quarantine exists), every file the tool wrote and its stdout/stderr are searched for the
password or token in every form it takes on the wire. The files are private to the user."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.corpus import Item, msg, write_mbox

pytestmark = pytest.mark.dovecot


def migrate(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args], env=env, capture_output=True, text=True,
                          timeout=180)


def forms(secret: str, user: str) -> list[bytes]:
    """The secret as typed, as IMAP-quoted, and inside the base64 of SASL PLAIN / XOAUTH2 / OAUTHBEARER."""
    raw = secret.encode()
    sasl = [b"\0" + user.encode() + b"\0" + raw, f"user={user}\x01auth=Bearer {secret}\x01\x01".encode()]
    out = [raw, raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"'), base64.b64encode(raw)]
    return out + [base64.b64encode(s) for s in sasl]


def assert_clean(roots: list[Path], outputs: list[subprocess.CompletedProcess[str]], secrets: list[bytes]) -> list[Path]:
    files = [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]
    for p in files:
        data = p.read_bytes()
        for s in secrets:
            assert s not in data, f"a secret is in {p}"
    for r in outputs:
        for s in secrets:
            assert s.decode("latin-1") not in r.stdout + r.stderr and s.decode("utf-8", "replace") not in r.stderr
    return files


def assert_private(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        want = 0o700 if p.is_dir() else 0o600
        assert mode & 0o077 == 0, f"{p} is {oct(mode)}, want {oct(want)}"


def corpus(src: Path) -> None:
    items = [Item(msg(f"secret test {i}", "hello\n" * 20, n=i)) for i in range(8)]
    items.append(Item(msg("too big for the server", "y" * 120_000, n=99)))  # refused: goes to the quarantine
    write_mbox(src / "Inbox", items)


@pytest.fixture
def sandboxed_env(tmp_path: Path) -> dict[str, str]:
    """HOME and XDG_DATA_HOME inside tmp_path, so that stray writes are searched too."""
    return {"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "xdg"), "XDG_CONFIG_HOME":
            str(tmp_path / "xdgconfig"), "XDG_CACHE_HOME": str(tmp_path / "cache")}


def test_password_is_never_written(make_dovecot, make_imap_user, tmp_path, sandboxed_env):
    password = 'S3cr"et\\pw-' + os.urandom(6).hex()
    user = make_imap_user(password=password, sandbox=make_dovecot(appendlimit=100_000))
    corpus(tmp_path / "src")
    state = tmp_path / "state" / "s.db"
    env = {**user.env, **sandboxed_env}
    common = ["--target", user.url_imaps, "--state", str(state), "-q", "--debug"]
    outs = [migrate(["check", "--target", user.url_imaps, "--debug"], env)]
    assert outs[-1].returncode == 0, outs[-1].stdout + outs[-1].stderr
    outs.append(migrate(["plan", str(tmp_path / "src" / "Inbox"), *common], env))
    assert outs[-1].returncode == 0, outs[-1].stderr
    outs.append(migrate(["run", str(tmp_path / "src" / "Inbox"), *common], env))
    assert outs[-1].returncode == 1, outs[-1].stdout + outs[-1].stderr  # the big one was refused
    outs.append(migrate(["verify", str(tmp_path / "src" / "Inbox"), *common], env))
    outs.append(migrate(["status", "--state", str(state)], env))
    outs.append(migrate(["run", str(tmp_path / "src" / "Inbox"), *common], {**env, "MIGRATE_PASSWORD": "wrong-" + password}))
    assert outs[-1].returncode == 3
    trace = state.with_name("s.db.imap-trace.log")
    text = trace.read_text()
    assert " LOGIN [redacted]" in text and "APPEND" in text and "[literal, " in text
    assert "hello" not in text, "message contents are not traced"
    files = assert_clean([tmp_path / "state", tmp_path / "home", tmp_path / "xdg", tmp_path / "xdgconfig",
                          tmp_path / "cache"], outs, forms(password, user.user) + forms("wrong-" + password, user.user))
    names = {p.name for p in files}
    assert {"s.db", "s.db.imap-trace.log", "failures.log"} <= names and any(n.endswith(".eml") for n in names)
    assert_private(tmp_path / "state")


def test_password_file_and_non_ascii_password(make_imap_user, tmp_path, sandboxed_env):
    password = "pässwörd-秘密-" + os.urandom(4).hex()
    user = make_imap_user(password=password)
    secret_dir = tmp_path / "secret"
    secret_dir.mkdir()
    (secret_dir / "pw").write_text(password + "\n", encoding="utf-8")
    corpus(tmp_path / "src")
    env = {k: v for k, v in {**user.env, **sandboxed_env}.items() if k != "MIGRATE_PASSWORD"}
    r = migrate(["run", str(tmp_path / "src" / "Inbox"), "--target", user.url_imaps, "--state",
                 str(tmp_path / "state" / "s.db"), "-q", "--debug", "--password-file", str(secret_dir / "pw")], env)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    text = (tmp_path / "state" / "s.db.imap-trace.log").read_text()
    assert "C: " in text and " AUTHENTICATE PLAIN" in text and "[redacted authentication data" in text
    assert_clean([tmp_path / "state", tmp_path / "home", tmp_path / "xdg"], [r], forms(password, user.user))
    assert_private(tmp_path / "state")


def test_oauth2_token_is_never_written(make_imap_user, tmp_path, sandboxed_env):
    token = "ya29.tok-" + os.urandom(8).hex()
    user = make_imap_user(token=token)
    corpus(tmp_path / "src")
    env = {k: v for k, v in {**user.env, **sandboxed_env}.items() if k != "MIGRATE_PASSWORD"}
    cmd = f"{sys.executable} -c \"import json; print(json.dumps({{'access_token': '{token}'}}))\""
    outs = [migrate(["run", str(tmp_path / "src" / "Inbox"), "--target", user.url_imaps, "--state",
                     str(tmp_path / "state" / "s.db"), "-q", "--debug", "--oauth2-token-command", cmd,
                     "--connections", "2"], env)]
    assert outs[-1].returncode in (0, 1), outs[-1].stdout + outs[-1].stderr
    outs.append(migrate(["check", "--target", user.url_imaps, "--debug", "--oauth2-token-command", "echo " + token
                         + "-expired"], env))
    assert outs[-1].returncode == 3
    text = (tmp_path / "state" / "s.db.imap-trace.log").read_text()
    assert "AUTHENTICATE XOAUTH2" in text and "[redacted authentication data" in text
    assert_clean([tmp_path / "state", tmp_path / "home", tmp_path / "xdg"], outs,
                 forms(token, user.user) + forms(token + "-expired", user.user))
    assert_private(tmp_path / "state")
