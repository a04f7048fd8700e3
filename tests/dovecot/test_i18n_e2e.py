"""The commands in Japanese against the real server (issue 18 item 7): the locale (LANG) or `--lang`
decides; tables, verdicts, hints and both HTML reports follow; the `migrate: error:`/`hint:`
prefixes and the exit codes do not change. One small mailbox, a few runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.corpus import sample_items, write_mbox_tree

pytestmark = pytest.mark.dovecot


def migrate(args: list[str], user, state: Path, lang: str, *, target: str | None = None,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    env.update(user.env, LANG=lang, **(extra_env or {}))
    return subprocess.run([sys.executable, "-m", "migrator", *args, "--target", target or user.url_imaps,
                           "--state", str(state), "-q"], env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=180, check=False)


@pytest.fixture
def mailbox(tmp_path: Path) -> Path:
    src = tmp_path / "mail"
    write_mbox_tree(src, sample_items())
    return src


def test_plan_and_its_report_follow_the_locale_and_lang(tmp_path: Path, mailbox: Path, imap_user) -> None:
    state = tmp_path / "s.db"
    ja_page, en_page = tmp_path / "ja.html", tmp_path / "en.html"
    ja = migrate(["plan", str(mailbox), "--report", str(ja_page)], imap_user, state, "ja_JP.UTF-8")
    assert ja.returncode == 0, ja.stderr
    for words in ("移行元フォルダー", "アップロード予定", "合計", "予行演習", f"レポートを {ja_page} に書き込みました"):
        assert words in ja.stdout, (words, ja.stdout)
    assert "source folder" not in ja.stdout
    html = ja_page.read_text(encoding="utf-8")
    assert '<html lang="ja">' in html and "移行計画" in html and "フォルダー" in html
    assert "Migration plan" not in html

    forced = migrate(["--lang", "ja", "plan", str(mailbox)], imap_user, state, "en_US.UTF-8")
    assert forced.returncode == 0 and "移行元フォルダー" in forced.stdout  # --lang ja wins over LANG=en_US

    en = migrate(["plan", str(mailbox), "--report", str(en_page), "--lang", "en"], imap_user, state, "ja_JP.UTF-8")
    assert en.returncode == 0, en.stderr
    assert "source folder" in en.stdout and "移行元" not in en.stdout  # --lang en wins over a ja LANG
    html = en_page.read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Migration plan" in html and "移行計画" not in html


def test_run_verify_and_the_verify_report_in_japanese(tmp_path: Path, mailbox: Path, imap_user) -> None:
    state = tmp_path / "s.db"
    run = migrate(["run", str(mailbox)], imap_user, state, "ja_JP.UTF-8")
    assert run.returncode == 0, run.stderr
    assert "対象:" in run.stdout and "完了しました" in run.stdout and "In scope" not in run.stdout
    page = tmp_path / "verify.html"
    verify = migrate(["verify", str(mailbox), "--report", str(page)], imap_user, state, "ja_JP.UTF-8")
    assert verify.returncode == 0, verify.stderr
    assert "確認済み: 対象のメール" in verify.stdout and "次の手順" in verify.stdout
    assert "VERIFIED" not in verify.stdout
    html = page.read_text(encoding="utf-8")
    assert '<html lang="ja">' in html and "メール移行の確認" in html and "フォルダーごと" in html
    assert "確認済み: 対象のメールはすべてサーバーにあります" in html
    assert "By folder" not in html

    en = migrate(["verify", str(mailbox), "--report", str(page)], imap_user, state, "C.UTF-8")
    assert en.returncode == 0 and "VERIFIED: all" in en.stdout
    html = page.read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "By folder" in html


def test_errors_and_check_in_japanese_keep_prefixes_and_exit_codes(tmp_path: Path, mailbox: Path,
                                                                   imap_user) -> None:
    wrong = migrate(["plan", str(mailbox)], imap_user, tmp_path / "s.db", "ja_JP.UTF-8",
                    extra_env={"MIGRATE_PASSWORD": "not-the-password"})
    assert wrong.returncode == 3, wrong.stderr
    lines = wrong.stderr.strip().splitlines()
    assert any(x.startswith("migrate: error: ") for x in lines), wrong.stderr
    assert any(x.startswith("hint: ") and "アプリ パスワード" in x for x in lines), wrong.stderr

    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    env.update(imap_user.env, LANG="ja_JP.UTF-8")
    check = subprocess.run([sys.executable, "-m", "migrator", "check", "--target", imap_user.url_imaps],
                           env=env, capture_output=True, text=True, encoding="utf-8", timeout=120, check=False)
    assert check.returncode == 0, check.stderr
    assert "準備ができました" in check.stdout and "ログイン" in check.stdout and "容量" in check.stdout
