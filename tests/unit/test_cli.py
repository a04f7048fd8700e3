"""The CLI's contract without a server: exit codes pinned, docs match the code, no tracebacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migrator.cli import cli, main
from migrator.domain.errors import ALL_ERRORS, ExitCode

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_exit_codes_pinned():
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0, "INCOMPLETE": 1, "USAGE": 2, "TARGET": 3, "QUOTA": 4, "STATE": 5, "INTERNAL": 70, "INTERRUPTED": 130,
    }


def test_exit_codes_documented():
    text = (DOCS / "exit-codes.md").read_text()
    documented = {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d+) \| (\w+) \|", text, re.M)}
    assert documented == {int(c): c.name for c in ExitCode}
    for err in ALL_ERRORS:
        assert err.exit_code in ExitCode.__members__.values()


def test_every_command_documented_and_has_help():
    usage = (DOCS / "usage.md").read_text()
    for name, cmd in cli.commands.items():
        assert f"migrate {name}" in usage or f"## {name}" in usage, name
        assert cmd.help, name


def test_usage_errors_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MIGRATE_PASSWORD", "x")
    assert main(["plan"]) == 2
    assert main(["nosuchcommand"]) == 2
    assert main(["plan", str(tmp_path), "--target", "http://u@h"]) == 2
    assert main(["plan", str(tmp_path / "missing"), "--target", "imaps://u@127.0.0.1:1"]) in (2, 3)
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_no_password_non_interactive_is_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MIGRATE_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    (tmp_path / "Inbox").write_bytes(b"From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n")
    assert main(["plan", str(tmp_path / "Inbox"), "--target", "imaps://u@127.0.0.1:1"]) == 2
    assert "MIGRATE_PASSWORD" in capsys.readouterr().err


def test_unreachable_target_exit_3(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MIGRATE_PASSWORD", "x")
    (tmp_path / "Inbox").write_bytes(b"From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n")
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    assert main(["plan", str(tmp_path / "Inbox"), "--target", f"imaps://u@127.0.0.1:{port}", "--timeout", "3"]) == 3
    err = capsys.readouterr().err
    assert "refused" in err and "hint:" in err and "Traceback" not in err


def test_internal_error_is_70(monkeypatch, capsys):
    def boom(*a, **k):
        raise RuntimeError("bug")

    monkeypatch.setattr("migrator.cli.build_common", boom)
    monkeypatch.setenv("MIGRATE_PASSWORD", "x")
    assert main(["plan", ".", "--target", "imaps://u@h"]) == 70
    assert "internal error" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["--version"]])
def test_help_exits_0(argv, capsys):
    assert main(argv) == 0
