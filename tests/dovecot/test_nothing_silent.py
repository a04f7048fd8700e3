"""Issue 18 item 3: nothing passes in silence. A --include/--exclude glob that matches no folder is
named in a warning (plan, run, verify, archive; --json too); a path with no mail (`/etc`, a folder
of empty files, an empty mbox, an empty Maildir) is "no mail found", exit 2, before any
connection; a store whose mail a --since filter leaves out is not "no mail"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.corpus import Item, msg, write_mbox

pytestmark = pytest.mark.dovecot


def migrate(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([sys.executable, "-m", "migrator", *args], env=env, capture_output=True, text=True, timeout=180)
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "mail"
    write_mbox(root / "INBOX", [Item(msg("one", "a\n")), Item(msg("two", "b\n"))])
    write_mbox(root / "取引先", [Item(msg("three", "c\n"))])
    return root


def test_globs_matching_no_folder_are_named(make_imap_user, store: Path, tmp_path: Path):
    user = make_imap_user(quota_kb=50000)
    common = ["--target", user.url_imaps, "--state", str(tmp_path / "s.sqlite"),
              "--include", "Inbox", "--include", "INBOX", "--exclude", "Spam*"]
    for cmd in ("plan", "run", "verify"):
        r = migrate([cmd, str(store), *common], user.env)
        assert r.returncode == 0, r.stdout + r.stderr
        out = r.stdout + r.stderr
        assert "--include 'Inbox' matches no folder" in out, out
        assert "--exclude 'Spam*' matches no folder" in out, out
        assert "'INBOX' matches no folder" not in out, out
    r = migrate(["plan", str(store), *common, "--json"], user.env)
    warnings = json.loads(r.stdout)["warnings"]
    assert any("'Inbox'" in w for w in warnings) and any("'Spam*'" in w for w in warnings), warnings
    r = migrate(["archive", str(store), "--until", "2030-01-01", "--to", str(tmp_path / "arch"),
                 "--include", "Nope*"], user.env)
    assert r.returncode == 0 and "--include 'Nope*' matches no folder" in r.stdout + r.stderr, r.stdout + r.stderr


def _no_mail_paths(tmp_path: Path) -> list[Path]:
    empties = tmp_path / "empties"
    empties.mkdir()
    for name in ("a", "b", "Inbox"):
        (empties / name).touch()
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"):
        (maildir / sub).mkdir(parents=True)
    mbox = tmp_path / "empty.mbox"
    mbox.touch()
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    return [empties, maildir, mbox, nothing]


def test_no_mail_found_is_exit_2_before_connecting(tmp_path: Path):
    # a target that refuses connections: "no mail" must be said before any connection is tried
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MIGRATE_PASSWORD": "x", "HOME": str(tmp_path)}
    paths = _no_mail_paths(tmp_path)
    if Path("/etc").is_dir():
        paths.append(Path("/etc"))
    for p in paths:
        for cmd in ("plan", "run", "verify"):
            r = migrate([cmd, str(p), "--target", "imaps://me@127.0.0.1:1", "--state", str(tmp_path / "s.sqlite")],
                        env)
            out = r.stdout + r.stderr
            assert r.returncode == 2, (p, cmd, out)
            assert "no mail found" in out and "refused" not in out, (p, cmd, out)
    r = migrate(["archive", str(paths[0]), "--until", "2030-01-01", "--to", str(tmp_path / "arch")], env)
    assert r.returncode == 2 and "no mail found" in r.stderr, r.stderr


def test_no_mail_in_japanese(tmp_path: Path):
    env = {"PATH": "/usr/bin:/bin", "LANG": "ja_JP.UTF-8", "MIGRATE_PASSWORD": "x", "HOME": str(tmp_path)}
    p = _no_mail_paths(tmp_path)[0]
    r = migrate(["plan", str(p), "--target", "imaps://me@127.0.0.1:1"], env)
    assert r.returncode == 2 and "migrate: error:" in r.stderr and "メール" in r.stderr, r.stderr


def test_mail_filtered_out_by_since_is_not_no_mail(make_imap_user, store: Path, tmp_path: Path):
    user = make_imap_user(quota_kb=50000)
    r = migrate(["plan", str(store), "--target", user.url_imaps, "--state", str(tmp_path / "s.sqlite"),
                 "--since", "2099-01-01"], user.env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no mail found" not in r.stdout + r.stderr
