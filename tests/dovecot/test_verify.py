"""Issue 8: `migrate verify` against a real Dovecot. The server is changed only by the TEST, through its
own connection (never by migrate); what verify reports is checked against what the test did."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.corpus import (
    Item,
    msg,
    sample_items,
    write_maildirpp,
    write_mbox,
    write_mbox_tree,
)

pytestmark = pytest.mark.dovecot

IN_SCOPE = 9  # sample_items(): 10 messages, one of them deleted in the source (skipped)


def migrate(args: list[str], user, state: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args, "--target", user.url_imaps, "--state", str(state),
                           "-q"], env={**os.environ, **user.env}, capture_output=True, text=True, timeout=timeout, check=False)


def as_json(r: subprocess.CompletedProcess[str]) -> dict:
    assert r.stdout.strip(), r.stderr
    return json.loads(r.stdout)


def snapshot(root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every file's bytes and every file's and directory's mtime under root."""
    out: dict[str, tuple[bytes | None, int]] = {str(root): (None, root.stat().st_mtime_ns)}
    for dirpath, dirs, files in os.walk(root):
        for d in dirs:
            p = Path(dirpath, d)
            out[str(p)] = (None, p.stat().st_mtime_ns)
        for f in files:
            p = Path(dirpath, f)
            out[str(p)] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


def crlf(raw: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", raw)


def delete_on_server(user, folder: str, *needles: bytes) -> list[int]:
    """The test (not migrate) expunges the messages whose bytes contain each needle."""
    with user.client() as c:
        c.select_folder(folder)
        data = c.fetch(c.search("ALL"), ["BODY.PEEK[]"])
        uids = [uid for uid, d in data.items() if any(n in d[b"BODY[]"] for n in needles)]
        assert len(uids) == len(needles), (needles, uids)
        c.delete_messages(uids)
        c.expunge()
    return uids


def source(tmp_path: Path, kind: str) -> Path:
    root = tmp_path / kind
    (write_mbox_tree if kind == "mbox" else write_maildirpp)(root, sample_items())
    return root


@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_verify_proves_names_exactly_the_deleted_and_run_restores_them(tmp_path: Path, imap_user, kind: str):
    src = source(tmp_path, kind)
    before = snapshot(src)
    state = tmp_path / "s.db"
    r = migrate(["run", str(src)], imap_user, state)
    assert r.returncode == 0, r.stderr + r.stdout

    r = migrate(["verify", str(src)], imap_user, state)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "VERIFIED: all 9 message(s) in scope are on the server." in r.stdout
    for step in ("stop it from downloading", "never deletes mail", "for some days", "remove the POP account",
                 "Keep the backup"):
        assert step in r.stdout
    rep = as_json(migrate(["verify", str(src), "--json"], imap_user, state))
    assert rep["ok"] is True and rep["expected"] == rep["present"] == IN_SCOPE and rep["skipped"] == 1
    assert rep["missing"] == rep["extra"] == rep["different"] == 0

    # the test deletes two messages on the server: one with a Message-ID, one without
    delete_on_server(imap_user, "INBOX", b"Hi there", b"Subject: =?utf-8?q?No_message-id?=")
    r = migrate(["verify", str(src)], imap_user, state)
    assert r.returncode == 1, r.stderr + r.stdout
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("- ")]
    assert len(lines) == 2, r.stdout
    assert any('"Welcome"' in ln and "<" in ln for ln in lines)
    assert any('"No message-id"' in ln for ln in lines)
    assert all("INBOX" in ln and str(src) in ln and "missing on the server" in ln for ln in lines), lines
    assert "NOT VERIFIED" in r.stdout and "2 message(s) missing on the server: run `migrate run` again" in r.stdout
    rep = as_json(migrate(["verify", str(src), "--json"], imap_user, state))
    assert rep["ok"] is False and rep["missing"] == 2 and rep["present"] == IN_SCOPE - 2
    assert sorted(p["subject"] for p in rep["problems"] if p["sign"] == "-") == ["No message-id", "Welcome"]
    assert len({p["folder"] for p in rep["problems"]}) == 1 and all(p["locator"] for p in rep["problems"])

    stats = as_json(migrate(["run", str(src), "--json"], imap_user, state))
    assert stats["uploaded"] == 2 and stats["failed"] == 0, stats
    r = migrate(["verify", str(src)], imap_user, state)
    assert r.returncode == 0, r.stdout
    with imap_user.client() as c:
        assert c.select_folder("INBOX", readonly=True)[b"EXISTS"] == 5
    assert snapshot(src) == before, "verify and run never change the source"


def test_foreign_message_is_extra_not_an_error(tmp_path: Path, imap_user):
    src = source(tmp_path, "maildir")
    state = tmp_path / "s.db"
    assert migrate(["run", str(src)], imap_user, state).returncode == 0
    with imap_user.client() as c:
        c.append("INBOX", crlf(msg("Written in the new account", "hello\n", n=77)), [b"\\Seen"],
                 datetime(2024, 5, 1, tzinfo=UTC))
    r = migrate(["verify", str(src)], imap_user, state)
    assert r.returncode == 0, r.stdout
    assert "Also on the server: 1 not from this migration." in r.stdout and "\n+ " not in r.stdout
    rep = as_json(migrate(["verify", str(src), "--json", "--list"], imap_user, state))
    assert rep["ok"] is True and rep["extra"] == 1
    extra = [p for p in rep["problems"] if p["sign"] == "+"]
    assert len(extra) == 1 and extra[0]["kind"] == "extra" and extra[0]["target"] == "INBOX"
    assert sum(1 for p in rep["problems"] if p["sign"] == "=") == IN_SCOPE
    listed = migrate(["verify", str(src), "--list"], imap_user, state).stdout
    assert sum(1 for ln in listed.splitlines() if ln.startswith("= ")) == IN_SCOPE
    assert sum(1 for ln in listed.splitlines() if ln.startswith("~ ")) == 1  # the one deleted in the source


@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_source_grew_after_the_run(tmp_path: Path, imap_user, kind: str):
    src = source(tmp_path, kind)
    state = tmp_path / "s.db"
    assert migrate(["run", str(src)], imap_user, state).returncode == 0
    new = [Item(msg(f"arrived later {i}", f"the POP client kept receiving {i}\n", n=300 + i)) for i in range(2)]
    if kind == "mbox":
        extra = tmp_path / "more.mbox"
        write_mbox(extra, new)
        with (src / "Inbox").open("ab") as fh:
            fh.write(extra.read_bytes())
    else:
        for i, it in enumerate(new):
            (src / "new" / f"17000000{i}.M9P9.host").write_bytes(it.raw)
    r = migrate(["verify", str(src)], imap_user, state)
    assert r.returncode == 1, r.stdout
    assert "2 new message(s) in the source not yet migrated" in r.stdout
    assert "run `migrate run` again" in r.stdout
    rep = as_json(migrate(["verify", str(src), "--json"], imap_user, state))
    assert rep["new_in_source"] == 2 and rep["missing"] == 0 and rep["present"] == IN_SCOPE
    assert sorted(p["subject"] for p in rep["problems"]) == ["arrived later 0", "arrived later 1"]
    assert all(p["kind"] == "new" for p in rep["problems"])
    stats = as_json(migrate(["run", str(src), "--json"], imap_user, state))
    assert stats["uploaded"] == 2
    assert migrate(["verify", str(src)], imap_user, state).returncode == 0


def test_deep_finds_what_a_shallow_check_cannot_and_resumes(tmp_path: Path, imap_user):
    src = source(tmp_path, "mbox")
    state = tmp_path / "s.db"
    assert migrate(["run", str(src)], imap_user, state).returncode == 0
    rep = as_json(migrate(["verify", str(src), "--deep", "--json"], imap_user, state))
    assert rep["ok"] and rep["deep_checked"] == IN_SCOPE and rep["reused_folders"] == 0
    again = as_json(migrate(["verify", str(src), "--deep", "--json"], imap_user, state))
    assert again["ok"] and again["reused_folders"] == len(again["folders"]) and again["deep_checked"] == IN_SCOPE

    # the test replaces the message in "Work & Play" by one of the same size and Message-ID, other bytes,
    # and takes \Seen away from the one in Sent
    with imap_user.client() as c:
        c.select_folder("Work & Play")
        (uid, data), = c.fetch(c.search("ALL"), ["BODY.PEEK[]", "INTERNALDATE"]).items()
        c.delete_messages([uid])
        c.expunge()
        c.append("Work & Play", data[b"BODY[]"].replace(b"\r\nx\r\n", b"\r\ny\r\n"), [], data[b"INTERNALDATE"])
        c.select_folder("Sent")
        c.remove_flags(c.search("ALL"), [b"\\Seen"])
    shallow = migrate(["verify", str(src)], imap_user, state)
    assert shallow.returncode == 0, "same Message-ID and size: only a deep check can tell"
    r = migrate(["verify", str(src), "--deep"], imap_user, state)
    assert r.returncode == 1
    star = [ln for ln in r.stdout.splitlines() if ln.startswith("* ")]
    assert len(star) == 1 and "Work & Play" in star[0] and "content differs" in star[0], r.stdout
    # Sent did not gain or lose a message since it was proven: not fetched again (flags changed later
    # in the new account are the user's); --fresh checks everything
    r = migrate(["verify", str(src), "--deep", "--fresh", "--json"], imap_user, state)
    rep = as_json(r)
    assert r.returncode == 1 and rep["different"] == 2 and rep["reused_folders"] == 0
    details = {p["target"]: p["detail"] for p in rep["problems"] if p["sign"] == "*"}
    assert "content differs" in details["Work & Play"]
    assert details["Sent"].startswith("flags (none) instead of \\seen")

    sampled = as_json(migrate(["verify", str(src), "--sample", "50%", "--fresh", "--json"], imap_user, state))
    assert sampled["sample"] == 50 and 1 <= sampled["deep_checked"] <= IN_SCOPE


def test_interrupted_deep_verify_carries_on(tmp_path: Path, imap_user, monkeypatch: pytest.MonkeyPatch):
    src = tmp_path / "Maildir"
    items = {(name,): [Item(msg(f"{name} {i}", f"body {i}\n" * 20, n=i)) for i in range(15)]
             for name in ("Inbox", "Alpha", "Beta")}
    write_maildirpp(src, items)
    state = tmp_path / "s.db"
    assert migrate(["run", str(src)], imap_user, state).returncode == 0

    # Ctrl-C when the second folder starts: run the real CLI in this process to stop it at that point
    from migrator import cli
    from migrator.flows import verify

    real_scan = verify._Verifier._scan
    calls = []

    def scan_then_stop(self, *a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_scan(self, *a, **kw)

    monkeypatch.setattr(verify._Verifier, "_scan", scan_then_stop)
    for k, v in imap_user.env.items():
        monkeypatch.setenv(k, v)
    rc = cli.main(["verify", str(src), "--deep", "--target", imap_user.url_imaps, "--state", str(state), "-q"])
    assert rc == 130
    monkeypatch.setattr(verify._Verifier, "_scan", real_scan)
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT COUNT(*) FROM verified").fetchone()[0] == 1

    rep = as_json(migrate(["verify", str(src), "--deep", "--json"], imap_user, state))
    assert rep["ok"] and rep["reused_folders"] == 1 and rep["deep_checked"] == 45 and rep["present"] == 45
    delete_on_server(imap_user, "Beta", b"Subject: =?utf-8?q?Beta_3?=")
    rep = as_json(migrate(["verify", str(src), "--deep", "--json"], imap_user, state))
    assert not rep["ok"] and rep["reused_folders"] == 2 and rep["missing"] == 1
    assert [p["subject"] for p in rep["problems"]] == ["Beta 3"]
    assert as_json(migrate(["verify", str(src), "--deep", "--fresh", "--json"], imap_user, state))["reused_folders"] == 0


def test_full_account_says_raise_the_quota(tmp_path: Path, make_imap_user):
    user = make_imap_user(quota_kb=40)
    src = tmp_path / "Maildir"
    write_maildirpp(src, {("Inbox",): [Item(msg(f"m{i}", f"line {i} " * 120 + "\n", n=i)) for i in range(80)]})
    state = tmp_path / "s.db"
    r = migrate(["run", str(src), "--ignore-quota", "--batch", "1", "--connections", "1"], user, state)
    assert r.returncode == 4, r.stderr + r.stdout
    r = migrate(["verify", str(src)], user, state)
    assert r.returncode == 1
    assert "The account is full" in r.stdout and "raise the" in r.stdout
    rep = as_json(migrate(["verify", str(src), "--json"], user, state))
    assert rep["missing"] > 0 and rep["present"] > 0 and rep["present"] + rep["missing"] == 80


def test_what_a_diet_left_local_is_not_missing(tmp_path: Path, imap_user):
    src = tmp_path / "mail"
    write_mbox_tree(src, {("Inbox",): [Item(msg(f"old {i}", "from long ago\n", n=i), from_line_date="Mon Jan  1 01:00:00 2018")
                                       for i in range(3)] + [Item(msg(f"new {i}", "recent\n", n=10 + i)) for i in range(4)]})
    state = tmp_path / "s.db"
    stats = as_json(migrate(["run", str(src), "--since", "2023-06-01", "--json"], imap_user, state))
    assert stats["filtered"] == 3 and stats["uploaded"] == 4
    rep = as_json(migrate(["verify", str(src), "--since", "2023-06-01", "--json"], imap_user, state))
    assert rep["ok"] and rep["filtered"] == stats["filtered"] and rep["kept_local"] == 0
    # verified without the filter: what the diet left on this computer is listed as such, not as missing
    r = migrate(["verify", str(src)], imap_user, state)
    assert r.returncode == 0, r.stdout
    assert "left on this computer on purpose" in r.stdout and "VERIFIED: all 7" in r.stdout
    rep = as_json(migrate(["verify", str(src), "--json", "--list"], imap_user, state))
    assert rep["kept_local"] == stats["filtered"] and rep["missing"] == 0
    kept = [p for p in rep["problems"] if p["kind"] == "kept_local"]
    assert len(kept) == stats["filtered"] and all(p["sign"] == "~" and "--since" in p["detail"] for p in kept)


def test_verify_writes_nothing_to_the_server(tmp_path: Path, imap_user):
    src = source(tmp_path, "maildir")
    state = tmp_path / "s.db"
    assert migrate(["run", str(src)], imap_user, state).returncode == 0

    def server_state():
        with imap_user.client() as c:
            out = {}
            for _f, _d, name in c.list_folders():
                st = c.folder_status(name, [b"MESSAGES", b"UIDNEXT", b"UIDVALIDITY", b"UNSEEN"])
                c.select_folder(name, readonly=True)
                uids = c.search("ALL")
                out[name] = (st, sorted((u, tuple(sorted(d[b"FLAGS"]))) for u, d in
                                        (c.fetch(uids, ["FLAGS"]).items() if uids else [])))
            return out

    before = server_state()
    for args in (["--deep"], ["--list"], ["--sample", "30"]):
        migrate(["verify", str(src), *args], imap_user, state)
    assert server_state() == before
