"""Issue 18 item 2: every usage error of every command (also commands added later, found by walking
the click group) is two lines, `migrate: error: ...` and `hint: ...`, exit 2, in the user's
language; never click's "Usage: / Try / Error:" block, never a traceback."""

from __future__ import annotations

import click
import pytest

from migrator.cli import cli, main


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the CLI, subgroups included."""
    out = []
    for name, cmd in sorted(group.commands.items()):
        out.append((*path, name))
        if isinstance(cmd, click.Group):
            out += commands(cmd, (*path, name))
    return out


def two_lines(capsys: pytest.CaptureFixture[str], code: int) -> tuple[str, str]:
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("migrate: error: "), err
    assert lines[1].startswith("hint: "), err
    assert "Traceback" not in err and "Usage:" not in err and "Try '" not in err, err
    return lines[0], lines[1]


@pytest.mark.parametrize("path", commands())
def test_unknown_option_on_every_command(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    error, hint = two_lines(capsys, main([*path, "--no-such-option-xyz"]))
    assert "--no-such-option-xyz" in error
    assert f"migrate {' '.join(path)} --help" in hint


@pytest.mark.parametrize("argv, needle", [
    (["run"], "SOURCES"),
    (["run", "x"], "--target"),
    (["run", "x", "--target"], "--target"),
    (["frobnicate"], "frobnicate"),
    (["run", "x", "--target", "imaps://a@b", "--batch", "zz"], "--batch"),
    (["run", "x", "--target", "imaps://a@b", "--quiet=3"], "--quiet"),
    (["verify", "x", "--target", "imaps://a@b", "--sample", "300"], "--sample"),
    (["archive", "x", "--to", "d", "--until", "2020-01-01", "--format", "pdf"], "--format"),
])
def test_usage_errors_are_two_lines(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    error, hint = two_lines(capsys, main(argv))
    assert needle in error
    assert "--help" in hint


def test_usage_errors_in_japanese(capsys: pytest.CaptureFixture[str]) -> None:
    error, hint = two_lines(capsys, main(["--lang", "ja", "run", "x"]))
    assert "--target" in error and any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in error)
    error, hint = two_lines(capsys, main(["run", "--lang", "ja", "--nope"]))
    assert "--nope" in error and any("\u4e00" <= ch <= "\u9fff" or "\u3040" <= ch <= "\u30ff" for ch in error)
