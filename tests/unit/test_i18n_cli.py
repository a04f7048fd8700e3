"""The command line in the user's language (issue 18 item 7): `--lang` over LC_ALL/LC_MESSAGES/LANG,
Japanese help, errors with the untranslated `migrate: error:`/`hint:` prefixes, the same exit codes.
(The commands' results in Japanese against a real server: tests/dovecot/test_i18n_e2e.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.cli import main
from migrator.domain import i18n

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def locale_env(monkeypatch: pytest.MonkeyPatch):
    def set_locale(lang: str) -> None:
        monkeypatch.delenv("LC_ALL", raising=False)
        monkeypatch.delenv("LC_MESSAGES", raising=False)
        monkeypatch.setenv("LANG", lang)
    return set_locale


@pytest.mark.parametrize(("lang", "argv", "japanese"), [
    ("ja_JP.UTF-8", ["--help"], True),
    ("en_US.UTF-8", ["--lang", "ja", "--help"], True),
    ("ja_JP.UTF-8", ["--lang", "en", "--help"], False),
    ("en_US.UTF-8", ["--help"], False),
    ("C.UTF-8", ["plan", "--lang", "ja", "--help"], True),   # after the command's name too
    ("ja_JP.UTF-8", ["plan", "--help", "--lang=en"], False),  # wherever it stands
])
def test_help_follows_lang_then_locale(lang, argv, japanese, locale_env, capsys) -> None:
    locale_env(lang)
    assert main(argv) == 0
    out = capsys.readouterr().out
    if argv[0] == "plan":
        assert ("予行演習" in out) is japanese
        assert ("GLOB に一致するフォルダーだけ" in out) is japanese  # the options' help too
        assert ("Dry run: what goes where" in out) is not japanese
    else:
        assert ("予行演習" in out) is japanese  # the commands' one-line descriptions
        assert ("安全な順序" in out) is japanese
        assert ("The safe order" in out) is not japanese
    assert "--lang" in out


def test_a_call_does_not_leave_its_language_behind(locale_env, capsys) -> None:
    locale_env("en_US.UTF-8")
    assert main(["--lang", "ja", "--help"]) == 0
    assert i18n.language() == "en"  # the next command (tests, the web app) starts from the environment
    assert main(["--help"]) == 0
    assert "The safe order" in capsys.readouterr().out.split("安全な順序")[-1]


def test_errors_keep_their_prefixes_and_exit_codes(tmp_path, locale_env, capsys) -> None:
    broken = tmp_path / "state.db"
    broken.write_bytes(b"not a journal at all\n" * 10)
    locale_env("ja_JP.UTF-8")
    assert main(["status", "--state", str(broken)]) == 5
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[0].startswith("migrate: error: ")
    assert lines[1].startswith("hint: ") and "同じコマンドをもう一度実行してください" in lines[1]
    assert main(["--lang", "en", "status", "--state", str(broken)]) == 5
    assert "hint: Move the damaged file aside" in capsys.readouterr().err


def test_the_installed_command_reads_lang_from_the_environment() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    env.update(LANG="ja_JP.UTF-8", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "migrator", "run", "--help"], env=env, capture_output=True,
                         text=True, encoding="utf-8", check=True).stdout
    assert "アップロードします" in out
    env["LC_ALL"] = "C.UTF-8"  # LC_ALL wins over LANG
    out = subprocess.run([sys.executable, "-m", "migrator", "run", "--help"], env=env, capture_output=True,
                         text=True, encoding="utf-8", check=True).stdout
    assert "Upload. Resumable" in out
