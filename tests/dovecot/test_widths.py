"""Issue 18 item 6: the tables of plan, run, verify and archive fit 80 display columns by default
(East Asian wide characters count 2), with long Japanese folder names; `--wide` shows whole names
and every column."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.render.width import table, text_width
from tests.support.corpus import Item, msg, write_mbox

pytestmark = pytest.mark.dovecot

LONG = "株式会社サンプル商事との取引に関する見積書と請求書の控え二〇一九年度分"


def migrate(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([sys.executable, "-m", "migrator", *args], env={**env, "COLUMNS": "200"},
                       capture_output=True, text=True, timeout=180)
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r


def table_lines(out: str, *skip: str) -> list[str]:
    """The lines of `out`'s tables (a block around a `----  ----` rule, up to the blank lines around
    it) and of the year chart (rows starting with a year, its legend), not free text."""
    lines = out.splitlines()
    picked: set[int] = set()
    for i, line in enumerate(lines):
        if line.strip() and set(line.strip()) <= {"-", " "}:
            j = i - 1
            while j >= 0 and lines[j].strip():
                picked.add(j)
                j -= 1
            j = i
            while j < len(lines) and lines[j].strip():
                picked.add(j)
                j += 1
        if re.match(r"^(19|20)\d\d\s", line) or line.startswith(("Mail by year", "年ごと")):
            picked.add(i)
    return [lines[i] for i in sorted(picked) if not any(s in lines[i] for s in skip)]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "m"
    write_mbox(root / "受信トレイ" / LONG, [Item(msg("見積書", "a\n")), Item(msg("請求書", "b\n"))])
    write_mbox(root / "送信済みアイテム", [Item(msg("返信", "c\n"))])
    return root


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_tables_fit_80_columns_and_wide_shows_all(make_imap_user, store: Path, tmp_path: Path, lang: str):
    user = make_imap_user(quota_kb=50000)
    common = [str(store), "--target", user.url_imaps, "--state", str(tmp_path / "s.sqlite"), "--lang", lang]
    for cmd in (["plan"], ["run"], ["verify"], ["plan"]):
        r = migrate([*cmd, *common], user.env)
        assert r.returncode == 0, r.stdout + r.stderr
        for line in table_lines(r.stdout, str(tmp_path)):
            assert text_width(line) <= 80, f"{cmd}: {text_width(line)} columns:\n{line}\n\n{r.stdout}"
        assert not any(LONG in line for line in table_lines(r.stdout)), r.stdout  # cut in the middle to fit
        wide = migrate([*cmd, *common, "--wide"], user.env)
        assert LONG in wide.stdout, wide.stdout
    r = migrate(["archive", str(store), "--until", "2030-01-01", "--to", str(tmp_path / "a"), "--lang", lang],
                user.env)
    assert r.returncode == 0, r.stdout + r.stderr
    for line in table_lines(r.stdout, str(tmp_path)):
        assert text_width(line) <= 80, line


def test_table_fits_cuts_the_middle_and_names_what_it_leaves_out():
    rows = [[LONG, "INBOX/" + LONG, "1,234", "12.3 MB", "1,200", "34", "0", "0", "0", "too big for the server"]]
    heads = ["source folder", "target folder", "messages", "size", "to upload", "already there", "duplicates",
             "filtered", "skipped", "why"]
    out = table(heads, rows, right={2, 3, 4, 5, 6, 7, 8}, optional=[9, 1], limit=80)
    assert max(text_width(line) for line in out.splitlines()) <= 80, out
    assert "..." in out and LONG[:3] in out and LONG[-3:] in out  # both ends kept
    assert "--wide" in out and "duplicates" in out.splitlines()[-1] + out.splitlines()[-2]
    full = table(heads, rows, right={2, 3, 4, 5, 6, 7, 8}, optional=[9, 1], limit=None)
    assert LONG in full and "too big for the server" in full
