"""Issue 2's acceptance test: the installed `migrate` moves a Maildir++ tree and an mbox tree
with Japanese folder names; a separate client reads the server back. Expectations come from
the corpus definition, not from the project's code."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support.corpus import mbox_bytes_as_uploaded, sample_items, write_maildirpp, write_mbox_tree

pytestmark = pytest.mark.dovecot

TARGET_OF = {("Inbox",): "INBOX", ("Sent",): "Sent", ("取引先",): "取引先", ("取引先", "Ａ社"): "取引先{d}Ａ社",
             ("Work & Play",): "Work & Play"}
FROM_LINE_DATE = datetime(2024, 1, 1, 1, 0, tzinfo=timezone.utc)  # "Mon Jan  1 01:00:00 2024"


def migrate_cmd() -> list[str]:
    exe = shutil.which("migrate")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("the `migrate` console script is not installed (pip install -e .)")
        return [sys.executable, "-m", "migrator"]
    return [exe]


def crlf(b: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", b)


def read_server(user) -> tuple[str, dict[str, list[tuple[bytes, set[str], datetime]]]]:
    with user.client() as c:
        folders = c.list_folders()
        delim = folders[0][1].decode() if isinstance(folders[0][1], bytes) else folders[0][1]
        out = {}
        for _flags, _d, name in folders:
            info = c.select_folder(name, readonly=True)
            if not info[b"EXISTS"]:
                continue
            c.normalise_times = False
            data = c.fetch(c.search("ALL"), ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
            out[name] = [(d[b"BODY[]"], {f.decode() for f in d[b"FLAGS"] if f != b"\\Recent"},
                          d[b"INTERNALDATE"]) for _, d in sorted(data.items())]
    return delim, out


def check(user, expected: dict[tuple[str, ...], list[tuple[bytes, frozenset[str], datetime]]]) -> None:
    delim, server = read_server(user)
    assert_server_holds(server, {TARGET_OF[k].format(d=delim): v for k, v in expected.items() if v})


def assert_server_holds(server: dict[str, list[tuple[bytes, set[str], datetime]]],
                        want: dict[str, list[tuple[bytes, frozenset[str] | set[str], datetime]]]) -> None:
    """The server (as `read_server` reads it) holds exactly `want`: the same folders, and in each
    the same messages in order with their bytes (line ends as uploaded), flags and INTERNALDATE."""
    assert set(server) == set(want), "no folder missing, nothing extra"
    for name, msgs in want.items():
        got = server[name]
        assert len(got) == len(msgs), name
        for (raw, flags, date), (g_raw, g_flags, g_date) in zip(msgs, got, strict=True):
            assert g_raw == crlf(raw), f"{name}: bytes differ"
            assert g_flags == set(flags), f"{name}: flags"
            assert g_date.astimezone(timezone.utc) == date, f"{name}: INTERNALDATE"


def run(args, user, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(migrate_cmd() + args + ["--target", user.url_imaps, "--state", str(tmp / "s.db"), "-q"],
                          env={**os.environ, **user.env}, capture_output=True, text=True, timeout=120)


def test_maildirpp_roundtrip(tmp_path: Path, imap_user):
    items = sample_items()
    times = write_maildirpp(tmp_path / "Maildir", items)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (tmp_path / "Maildir").rglob("*") if p.is_file()}
    r = run(["plan", str(tmp_path / "Maildir")], imap_user, tmp_path)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "s.db").exists(), "plan writes no state"
    with imap_user.client() as c:
        assert "取引先" not in [f[2] for f in c.list_folders()], "plan creates no folder"
    r = run(["run", str(tmp_path / "Maildir")], imap_user, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "In scope: 9 = uploaded 9 + already on target 0 + duplicates 0 + failed 0" in r.stdout
    assert "skipped 1" in r.stdout
    expected = {k: [(it.raw, it.flags, datetime.fromtimestamp(t, timezone.utc))
                    for it, t in zip(v, times[k], strict=True) if not it.deleted] for k, v in items.items()}
    check(imap_user, expected)
    r = run(["verify", str(tmp_path / "Maildir")], imap_user, tmp_path)
    assert r.returncode == 0 and "VERIFIED" in r.stdout, r.stdout
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (tmp_path / "Maildir").rglob("*") if p.is_file()}
    assert before == after, "the source is untouched"


def test_mbox_tree_roundtrip(tmp_path: Path, imap_user):
    items = sample_items()
    write_mbox_tree(tmp_path / "mbox", items)
    r = run(["run", str(tmp_path / "mbox")], imap_user, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    expected = {}
    for k, v in items.items():
        expected[k] = []
        for it in v:
            if it.deleted:
                continue
            date = FROM_LINE_DATE
            expected[k].append((mbox_bytes_as_uploaded(it).removesuffix(b"\n") + b"\n", it.flags, date))
    check(imap_user, expected)
    r = run(["verify", str(tmp_path / "mbox"), "--deep"], imap_user, tmp_path)
    assert r.returncode == 0, r.stdout


def test_json_plan_shape(tmp_path: Path, imap_user):
    import json

    write_mbox_tree(tmp_path / "mbox", sample_items())
    r = run(["plan", str(tmp_path / "mbox"), "--json"], imap_user, tmp_path)
    doc = json.loads(r.stdout)
    assert {"folders", "totals"} <= set(doc)
    f = doc["folders"][0]
    assert {"source", "target", "messages", "bytes", "skipped"} <= set(f)
    assert doc["totals"]["messages"] == 9


def test_exit_codes(tmp_path: Path, imap_user):
    write_mbox_tree(tmp_path / "mbox", sample_items())
    env = {**os.environ, **imap_user.env, "MIGRATE_PASSWORD": "wrong"}
    r = subprocess.run(migrate_cmd() + ["plan", str(tmp_path / "mbox"), "--target", imap_user.url_imaps],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 3 and "Traceback" not in r.stderr and "hint:" in r.stderr
    r = subprocess.run(migrate_cmd() + ["plan", str(tmp_path / "nothing"), "--target", imap_user.url_imaps],
                       env={**os.environ, **imap_user.env}, capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = subprocess.run(migrate_cmd() + ["plan", str(tmp_path / "mbox"), "--target", "ftp://x"],
                       env={**os.environ, **imap_user.env}, capture_output=True, text=True)
    assert r.returncode == 2


def test_status_reads_the_state_without_connecting(tmp_path: Path, imap_user):
    write_mbox_tree(tmp_path / "mbox", sample_items())
    assert run(["run", str(tmp_path / "mbox")], imap_user, tmp_path).returncode == 0
    r = subprocess.run(migrate_cmd() + ["status", "--state", str(tmp_path / "s.db")],
                       capture_output=True, text=True, timeout=60, env={**os.environ, "MIGRATE_PASSWORD": ""})
    assert r.returncode == 0, r.stderr
    assert "Migrated: 9 messages" in r.stdout and "Nothing is left" in r.stdout and imap_user.user in r.stdout
