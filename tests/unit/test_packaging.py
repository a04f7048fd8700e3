"""Packaging: the distribution's own name on the package index, and shell completion.

The name `migrator` on the package index belongs to an unrelated 2015 project, so
`pip install migrator` installs the wrong thing: our distribution is `pop-migrate` (the command
stays `migrate`, the import package `migrator`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = "pop-migrate"


def test_distribution_name_is_ours_and_the_command_stays_migrate() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DIST
    assert project["scripts"] == {"migrate": "migrator.cli:main"}
    for doc in ("README.md", "README.ja.md", "docs/usage.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert DIST in text, doc
        # never told to install the unrelated `migrator` (warning about it in prose is fine)
        assert not re.search(r"^\s*(python3? -m )?pip install (-e )?['\"]?migrator\b", text, re.M), doc
        assert "pip install 'migrator[" not in text, doc


def _migrate(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **env_extra)
    return subprocess.run([sys.executable, "-m", "migrator"], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("shell,marker", [("bash", "complete -o nosort -F _migrate_completion migrate"),
                                          ("zsh", "#compdef migrate"),
                                          ("fish", "complete --no-files --command migrate")])
def test_completion_script_is_printed(shell: str, marker: str) -> None:
    res = _migrate({"_MIGRATE_COMPLETE": f"{shell}_source"})
    assert res.returncode == 0, res.stderr
    assert marker in res.stdout
    assert "_MIGRATE_COMPLETE" in res.stdout and res.stderr == ""


def test_completion_completes_commands_and_options() -> None:
    res = _migrate({"_MIGRATE_COMPLETE": "bash_complete", "COMP_WORDS": "migrate ver", "COMP_CWORD": "1"})
    assert res.returncode == 0, res.stderr
    assert "plain,verify" in res.stdout.splitlines()
    res = _migrate({"_MIGRATE_COMPLETE": "bash_complete", "COMP_WORDS": "migrate run --ignore", "COMP_CWORD": "2"})
    assert "plain,--ignore-quota" in res.stdout.splitlines()
