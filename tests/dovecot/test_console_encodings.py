"""Issue 18 item 2: output a console cannot encode (cp932 on Japanese Windows, also redirected; plain
ASCII) degrades to ASCII glyphs, never a traceback or exit 70; Japanese stays Japanese in cp932.
Every command runs against the real Dovecot with stdout and stderr in that encoding."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.corpus import Item, msg, write_mbox

pytestmark = pytest.mark.dovecot

ENCODINGS = ("cp932", "ascii")


def migrate(args: list[str], env: dict[str, str], encoding: str) -> tuple[int, str]:
    """Run with stdout/stderr encoded as `encoding` (as a redirected Windows console is); the raw
    bytes must decode in that encoding (nothing written that the console could not show)."""
    env = {**env, "PYTHONIOENCODING": encoding}
    r = subprocess.run([sys.executable, "-m", "migrator", *args], env=env, capture_output=True, timeout=180)
    # cp932: every byte must be cp932 (raises otherwise). An "ascii" stream is one click itself
    # treats as misconfigured and writes UTF-8 to (click.utils._compat): it must not fail either.
    text_encoding = "utf-8" if encoding == "ascii" else encoding
    out = r.stdout.decode(text_encoding) + r.stderr.decode(text_encoding)
    assert "Traceback" not in out, out
    return r.returncode, out


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "mail"
    root.mkdir()
    write_mbox(root / "受信トレイ", [Item(msg("見積書", "ご確認ください")), Item(msg("取引先", "よろしく"))])
    return root


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_command_survives_the_console_encoding(make_imap_user, store: Path, tmp_path: Path, encoding: str):
    user = make_imap_user(quota_kb=50000)
    state = ["--state", str(tmp_path / f"state-{encoding}.sqlite")]
    target = ["--target", user.url_imaps]
    for args in (["check", *target], ["plan", str(store), *target, *state],
                 ["run", str(store), *target, *state], ["verify", str(store), *target, *state],
                 ["status", *state], ["plan", str(store), *target, *state, "--json"]):
        code, out = migrate(args, user.env, encoding)
        assert code == 0, (args, out)
        if encoding == "cp932" and args[0] == "plan" and "--json" not in args:
            assert "受信トレイ" in out, out  # Japanese is encodable in cp932 and stays Japanese
    code, out = migrate(["check", *target, "--lang", "ja"], user.env, encoding)
    assert code == 0, out
    if encoding == "cp932":
        assert sum(line.startswith("v ") for line in out.splitlines()) >= 4, out  # check marks as ASCII look-alikes


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_errors_and_usage_in_a_narrow_encoding(store: Path, encoding: str, tmp_path: Path):
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MIGRATE_PASSWORD": "x", "HOME": str(tmp_path)}
    code, out = migrate(["check", "--target", "imaps://me@127.0.0.1:1", "--lang", "ja"], env, encoding)
    assert code == 3, out
    code, out = migrate(["run", str(store), "--lang", "ja"], env, encoding)
    assert code == 2 and "migrate: error:" in out, out
