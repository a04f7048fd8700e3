"""End to end: a PST with one damaged folder table into a real Dovecot.

Every other folder arrives exactly as readpst (the independent oracle) reads it from the
undamaged file; the damaged folder is named with how many items could not be read; exit 1;
the unreadable items are failed in the journal (`migrate status`) and in failures.log; verify
does not say VERIFIED.
"""

from __future__ import annotations

import mailbox
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.pst_corrupt import contents_table, damage_node, make_ost
from tests.support.pst_oracle import READPST, parse

pytestmark = [pytest.mark.dovecot, pytest.mark.pst]

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pst"
SUPPORT = FIXTURES / "gopst-support.pst"  # Drafts: 6 mails, Sent Messages: 11 mails (see NOTICE.md)
DRAFTS_NID = 33058


def migrate(user: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args], env=os.environ | user.env,
                          capture_output=True, text=True, timeout=600)


def server_subjects(user: Any) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    with user.client() as c:
        for flags, _delim, name in c.list_folders():
            if b"\\Noselect" in flags or b"\\NoSelect" in flags:
                continue
            c.select_folder(name, readonly=True)
            uids = c.search("ALL")
            if uids:
                out[name] = Counter(str(parse(d[b"BODY[]"])["Subject"] or "")
                                    for d in c.fetch(uids, ["BODY.PEEK[]"]).values())
    return out


@pytest.mark.skipif(not SUPPORT.is_file(), reason=f"PST fixture gopst-support.pst not found in {FIXTURES}")
@pytest.mark.skipif(READPST is None, reason="readpst (pst-utils) is not installed: no oracle")
def test_damaged_folder_table_other_folders_arrive_exactly(tmp_path: Path, imap_user: Any) -> None:
    u = imap_user
    pst = tmp_path / "damaged.pst"
    damage_node(SUPPORT, pst, contents_table(DRAFTS_NID))
    oracle = tmp_path / "readpst"
    oracle.mkdir()
    subprocess.run([READPST or "readpst", "-q", "-o", str(oracle), str(SUPPORT)], check=True,
                   capture_output=True, timeout=300)
    expected = {p.name.split(".mbox")[0]: Counter(str(parse(m.as_bytes())["Subject"] or "")
                                                 for m in mailbox.mbox(str(p)))
                for p in oracle.rglob("*.mbox*") if p.is_file()}
    assert set(expected) == {"Drafts", "Sent Messages"}
    unread = sum(expected.pop("Drafts").values())

    state = tmp_path / "s.db"
    plan = migrate(u, "plan", str(pst), "--target", u.url_imaps, "--state", str(state))
    assert re.search(rf"folder 'Drafts' is damaged: {unread} of its {unread} items could not be read", plan.stdout), \
        plan.stdout + plan.stderr
    run = migrate(u, "run", str(pst), "--target", u.url_imaps, "--state", str(state))
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout + run.stderr
    assert "Traceback" not in out
    assert f"folder 'Drafts' is damaged: {unread} of its {unread} items could not be read" in out, out

    on_server = server_subjects(u)
    assert "Drafts" not in on_server
    assert sorted(on_server.values(), key=sorted) == sorted(expected.values(), key=sorted)  # "Sent Messages" -> Sent

    status = migrate(u, "status", "--state", str(state))
    assert f"Failed: {unread}:" in status.stdout, status.stdout
    log = (tmp_path / "s.quarantine" / "failures.log").read_text(encoding="utf-8").splitlines()
    drafts = [line for line in log if "Drafts, item #" in line]
    assert len(drafts) == unread and all("contents table" in line for line in drafts), log

    verify = migrate(u, "verify", str(pst), "--target", u.url_imaps, "--state", str(state))
    assert verify.returncode != 0, verify.stdout
    assert "VERIFIED" not in verify.stdout.replace("NOT VERIFIED", "")

    again = migrate(u, "run", str(pst), "--target", u.url_imaps, "--state", str(state))  # nothing twice
    assert again.returncode == 1
    assert server_subjects(u) == on_server
    assert f"Failed: {unread}:" in migrate(u, "status", "--state", str(state)).stdout
    shutil.rmtree(oracle)


@pytest.mark.skipif(not SUPPORT.is_file(), reason=f"PST fixture gopst-support.pst not found in {FIXTURES}")
def test_ost_plan_says_cache_and_a_short_folder_is_never_verified(tmp_path: Path, imap_user: Any) -> None:
    """An .ost (built from a PST fixture: no real one is small enough to keep) reads like a PST;
    plan says what it is; a folder that holds fewer items than it counts is not VERIFIED."""
    u = imap_user
    whole, ost = tmp_path / "whole.ost", tmp_path / "short.ost"
    make_ost(SUPPORT, whole)
    damage_node(whole, ost, contents_table(DRAFTS_NID))
    state = tmp_path / "s.db"
    plan = migrate(u, "plan", str(ost), "--target", u.url_imaps, "--state", str(state))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "offline cache (.ost) of a server mailbox" in plan.stdout and "only part" in plan.stdout
    run = migrate(u, "run", str(ost), "--target", u.url_imaps, "--state", str(state))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "'Drafts'" in run.stdout + run.stderr
    assert sum(sum(c.values()) for c in server_subjects(u).values()) == 11
    verify = migrate(u, "verify", str(ost), "--target", u.url_imaps, "--state", str(state))
    assert verify.returncode != 0 and "NOT VERIFIED" in verify.stdout, verify.stdout
