"""docs/migrate.1 is generated from the click group (tools/manpage.py) and cannot go stale."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[2]
MANPAGE = ROOT / "docs" / "migrate.1"


def _english_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_MESSAGES", "LANG", "LC_ALL")}
    env.update(LC_ALL="C.UTF-8", LANG="C.UTF-8", PYTHONPATH=str(ROOT))
    return env


def test_committed_man_page_is_what_the_cli_says(tmp_path: Path) -> None:
    out = tmp_path / "migrate.1"
    subprocess.run([sys.executable, str(ROOT / "tools" / "manpage.py"), "--output", str(out)],
                   check=True, env=_english_env(), capture_output=True)
    assert MANPAGE.read_text(encoding="utf-8") == out.read_text(encoding="utf-8"), (
        "docs/migrate.1 is stale: run python3 tools/manpage.py")
    check = subprocess.run([sys.executable, str(ROOT / "tools" / "manpage.py"), "--check"],
                           env=_english_env(), capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_man_page_names_every_command_and_option() -> None:
    from migrator.cli import cli

    page = MANPAGE.read_text(encoding="utf-8").replace("\\-", "-")
    ctx = click.Context(cli, info_name="migrate")
    names = [n for n in cli.list_commands(ctx) if not cli.commands[n].hidden]
    assert len(names) >= 5
    for name in names:
        assert f'.SS "migrate {name}"' in page
        for param in cli.commands[name].params:
            if isinstance(param, click.Option) and not param.hidden:
                for opt in param.opts:
                    assert opt in page, f"{name} {opt} missing from docs/migrate.1"
    for code in ("0", "1", "2", "3", "4", "5", "70", "130"):
        assert f"\\fB{code}\\fR" in page
    assert "_MIGRATE_COMPLETE=bash_source" in page


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff not installed (Debian: groff-base)")
def test_man_page_is_clean_troff() -> None:
    res = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(MANPAGE)], capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr == "", res.stderr


def test_help_text_cannot_turn_into_troff_requests() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import manpage
    finally:
        sys.path.remove(str(ROOT / "tools"))
    text = manpage.paragraphs(".TH evil\n'br\nC:\\mail --flag\n\nsecond\n\b\nthird")
    assert text.splitlines()[0].startswith("\\&.TH")
    assert "C:\\email \\-\\-flag" in text
    assert ".PP" in text.splitlines()
    assert "\b" not in text
