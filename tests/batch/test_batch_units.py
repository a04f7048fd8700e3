"""The batch's pure parts: the manifest (line numbers, refused passwords), secret references, the
board's rules (claim once, lease expiry, per-host slots, account leases, shared back-off), the
importers, the status shape and the exit code. No server."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from migrator.batch.board import Board, Job
from migrator.batch.importers import import_list, read_imapsync, read_migrationwiz
from migrator.batch.manifest import parse_manifest, read_manifest
from migrator.batch.runner import exit_code
from migrator.batch.secrets import check_reference, resolve
from migrator.batch.status import batch_status
from migrator.domain.errors import UsageError
from migrator.journal.board import SqliteDocs

T = "imaps://a@example.com@imap.example.com"


def _m(tmp: Path, text: str):
    return parse_manifest(text, tmp / "m.csv")


# -- manifest ----------------------------------------------------------------------------------

def test_manifest_rows_and_bad_rows_by_line(tmp_path: Path) -> None:
    text = ("\ufeffsource,target,secret,include,exclude,since,account_prefix\n"
            f"a.pst,{T},file:pw/a,Inbox|Sent,Junk*,2020-01-01,yes\n"
            "# a comment row\n"
            "\n"
            f"b.pst,{T.replace('a@', 'b@')},hunter2,,,,\n"
            f"c.pst,nothing-here,env:X,,,,\n"
            f"d.pst,{T.replace('a@', 'd@')},env:D,,,2020-13-01,\n"
            f"a.pst,{T},env:DUP,,,,\n"
            f"e.pst,{T.replace('a@', 'e@')},keyring:svc/e,,,,\n")
    m = _m(tmp_path, text)
    assert [r.line for r in m.rows] == [2, 9]
    r = m.rows[0]
    assert r.include == ("Inbox", "Sent") and r.exclude == ("Junk*",) and r.account_prefix is True
    assert r.source_path() == tmp_path.resolve() / "a.pst"
    assert r.scope().since is not None
    bad = {e.line: e.reason for e in m.errors}
    assert sorted(bad) == [5, 6, 7, 8]
    assert "not a reference" in bad[5] and "hunter2" not in bad[5]
    assert "same source and target as line 2" in bad[8]
    assert m.rows[0].job_id != m.rows[1].job_id and len(m.rows[0].job_id) == 16


@pytest.mark.parametrize("header", ["source,target,password", "source,target,secret,Password", "source,secret"])
def test_manifest_refuses_password_column_and_missing_columns(tmp_path: Path, header: str) -> None:
    with pytest.raises(UsageError) as err:
        _m(tmp_path, header + "\n")
    assert err.value.hint


def test_manifest_file_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        read_manifest(tmp_path / "missing.csv")
    (tmp_path / "sjis.csv").write_bytes("source,target,secret\n受信,x,y\n".encode("cp932"))
    with pytest.raises(UsageError):
        read_manifest(tmp_path / "sjis.csv")


# -- secrets -----------------------------------------------------------------------------------

def test_secret_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_PW", "s3cret")
    assert resolve("env:BATCH_PW", tmp_path).get_secret_value() == "s3cret"
    (tmp_path / "pw").mkdir()
    (tmp_path / "pw" / "a").write_text("file-secret\n", encoding="utf-8")
    assert resolve("file:pw/a", tmp_path).get_secret_value() == "file-secret"
    for bad in ("plain", "ftp:x", "env:", "keyring:nouser"):
        with pytest.raises(UsageError):
            check_reference(bad)
    with pytest.raises(UsageError):
        resolve("env:BATCH_UNSET_VARIABLE", tmp_path)
    with pytest.raises(UsageError):
        resolve("file:pw/missing", tmp_path)


# -- board ---------------------------------------------------------------------------------------

def _job(n: int = 1) -> Job:
    return Job(job=f"j{n}", line=n + 1, source="s", target="t", host="h")


def test_board_claims_once_and_reaps_expired_leases(tmp_path: Path) -> None:
    board = Board(SqliteDocs(tmp_path / "board.db"))
    assert board.queue(_job())
    won = []

    def claim(i: int) -> None:
        if board.claim("j1", f"w{i}", 0.5):
            won.append(i)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    owner = f"w{won[0]}"
    assert not board.queue(_job()), "a job under a live lease is not queued again"
    assert board.renew("j1", owner, 0.5, {"settled": 3})
    assert board.reap() == []
    time.sleep(0.6)
    reaped = board.reap()
    assert [j.job for j in reaped] == ["j1"] and board.job("j1").state == "queued"  # type: ignore[union-attr]
    assert not board.renew("j1", owner, 5), "the dead owner's lease is gone"
    assert not board.finish("j1", owner, "done")
    assert board.claim("j1", "w-new", 5) and board.job("j1").attempts == 2  # type: ignore[union-attr]
    assert board.finish("j1", "w-new", "done")
    assert not board.queue(_job()) and board.queue(_job(), again=True)


def test_board_slots_accounts_backoff(tmp_path: Path) -> None:
    board = Board(SqliteDocs(tmp_path / "board.db"))
    assert board.take_slot("h", "a", 2, 5) and board.take_slot("h", "b", 2, 5)
    assert not board.take_slot("h", "c", 2, 5)
    assert board.take_slot("other", "c", 2, 5) and board.take_slot("h", "c", None, 5)
    board.release("acct", "h", "a")
    assert board.take_slot("h", "c", 2, 5)
    assert board.take_account("acct", "a", 5) and not board.take_account("acct", "b", 5)
    board.release("acct", "h", "a")
    assert board.take_account("acct", "b", 0.1)
    time.sleep(0.15)
    assert board.take_account("acct", "c", 5), "an expired account lease is free"
    assert board.backoff_until("h") == 0
    board.throttled("h", 30)
    assert board.backoff_until("h") > time.time() + 25


def test_status_shape_and_exit_codes(tmp_path: Path) -> None:
    m = _m(tmp_path, f"source,target,secret\na,{T},env:A\nb,{T.replace('a@', 'b@')},env:B\nc,{T},oops\n")
    board = Board(SqliteDocs(tmp_path / "board.db"))
    first = m.rows[0]
    board.queue(Job(job=first.job_id, line=first.line, source=first.source, target=first.target, host=first.host))
    assert board.claim(first.job_id, "w", 30)
    board.renew(first.job_id, "w", 30, {"settled": 5, "expected": 10, "bytes": 100, "total_bytes": 200})
    st = batch_status(board, m)
    doc = json.loads(st.model_dump_json())
    assert set(doc) == {"mailboxes", "totals"}
    assert [set(x) for x in doc["mailboxes"]] == [{"line", "source", "target", "state", "uploaded", "left", "bytes",
                                                   "eta_s"}] * 2
    assert doc["mailboxes"][0]["state"] == "running" and doc["mailboxes"][0]["left"] == 5
    assert doc["mailboxes"][1]["state"] == "queued" and doc["totals"]["bad_rows"] == 1
    done, failed, quota = (Job(job=str(i), line=i, source="s", target="t", host="h", state=s)
                           for i, s in enumerate(("done", "failed", "over_quota")))
    assert exit_code([done]) == 0 and exit_code([done], bad_rows=1) == 1
    assert exit_code([done, quota]) == 4 and exit_code([done, quota, failed]) == 4
    assert exit_code([done, failed]) == 1


# -- importers -----------------------------------------------------------------------------------

def test_imapsync_import_moves_passwords_to_private_files(tmp_path: Path) -> None:
    lst = tmp_path / "file.txt"
    lst.write_text("# host1;user1;password1;host2;user2;password2;\n"
                   "old.example.jp;taro@old.example.jp;pw-one;imap.new.jp;taro@new.jp;pw-two;\r\n"
                   "old.example.jp;hanako;pw;imap.new.jp;hanako@new.jp;pw-four;--dry;\n"
                   "broken;line\n", encoding="utf-8")
    entries, notes = read_imapsync(lst.read_text(encoding="utf-8"))
    assert [e.target for e in entries] == ["imaps://taro@new.jp@imap.new.jp", "imaps://hanako@new.jp@imap.new.jp"]
    assert entries[0].source == "imaps://taro@old.example.jp@old.example.jp"
    assert any("line 4" in n for n in notes) and any("--dry" in n for n in notes)
    res = import_list("imapsync", lst, None, "file", None)
    text = res.manifest.read_text(encoding="utf-8")
    assert "pw-two" not in text and "pw-one" not in text
    m = read_manifest(res.manifest)
    assert len(m.rows) == 2 and not m.errors
    assert resolve(m.rows[0].secret, Path(m.rows[0].base)).get_secret_value() == "pw-two"
    assert m.rows[0].source_secret is not None  # the source's password: a reference too, never the text
    assert resolve(m.rows[0].source_secret, Path(m.rows[0].base)).get_secret_value() == "pw-one"
    assert res.secrets_dir is not None
    assert stat.S_IMODE(res.secrets_dir.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in res.secrets_dir.iterdir())
    with pytest.raises(UsageError):
        import_list("imapsync", lst, None, "file", None)  # never overwrites a manifest


def test_migrationwiz_import(tmp_path: Path) -> None:
    csv_text = ("Source Email,Source Login Name,Source Password,Destination Email,Destination Login Name,"
                "Destination Password,Flags\n"
                "taro@old.jp,,,taro@gmail.com,,app-pass-1,\n"
                "hanako@old.jp,,,hanako@gmail.com,,,\n")
    entries, notes = read_migrationwiz(csv_text, tmp_path / "exports")
    assert [e.target for e in entries] == ["taro@gmail.com"]
    assert entries[0].source == str(tmp_path / "exports" / "taro@old.jp")
    assert any("line 3" in n for n in notes)
    f = tmp_path / "bulk.csv"
    f.write_text(csv_text, encoding="utf-8")
    res = import_list("migrationwiz", f, tmp_path / "office.csv", "file", tmp_path / "exports")
    m = read_manifest(res.manifest)
    assert [r.target_config().host for r in m.rows] == ["imap.gmail.com"]
    assert "app-pass-1" not in res.manifest.read_text(encoding="utf-8")
    with pytest.raises(UsageError):
        read_migrationwiz("a,b\n1,2\n", None)


def test_private_files_are_not_world_readable_even_with_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        lst = tmp_path / "l.txt"
        lst.write_text("h1;u1;p1;h2;u2@x;p2;\n", encoding="utf-8")
        res = import_list("imapsync", lst, None, "file", None)
    finally:
        os.umask(old)
    assert res.secrets_dir is not None
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in res.secrets_dir.iterdir())


# -- limits: presets, shared back-off -------------------------------------------------------------

def test_host_limits_come_from_the_presets(tmp_path: Path) -> None:
    from migrator.batch.job import host_limit

    m = _m(tmp_path, "source,target,secret,provider\n"
                     "a,me@gmail.com,env:A,gmail\n"
                     "b,imaps://me@outlook.office365.com,env:B,\n"
                     f"c,{T},env:C,\n")
    gmail, m365, other = m.rows
    assert host_limit(gmail, None) == 10 and host_limit(m365, None) == 4
    assert host_limit(other, None) is None and host_limit(other, 2) == 2


class _Conn:
    """Just the two APPEND calls SharedBackoff wraps (a unit test of the wrapper's rule)."""

    def __init__(self, outcomes: list) -> None:
        self.outcomes = outcomes
        self.sent: list[float] = []
        self.url = "imaps://x@h"

    def send_append(self, folder: str, items: list) -> str:
        self.sent.append(time.time())
        return "pending"

    def collect_append(self, pending: str) -> list:
        return self.outcomes


def test_a_throttle_answer_slows_every_job_on_the_host(tmp_path: Path) -> None:
    from migrator.batch.job import SharedBackoff
    from migrator.imap.wire import AppendOutcome

    board = Board(SqliteDocs(tmp_path / "board.db"))
    told = SharedBackoff(_Conn([AppendOutcome(ok=False, code="UNAVAILABLE",  # type: ignore[arg-type]
                                              text="Request is throttled. Suggested Backoff Time: 800 milliseconds")]),
                         board, "h", lambda: False)
    other = _Conn([AppendOutcome(ok=True)])
    wrapped = SharedBackoff(other, board, "h", lambda: False)  # type: ignore[arg-type]
    assert told.url == "imaps://x@h"  # everything else is the inner connection's
    t0 = time.time()
    told.collect_append(told.send_append("INBOX", []))
    assert board.backoff_until("h") >= t0 + 0.7
    wrapped.send_append("INBOX", [])
    assert other.sent[0] >= t0 + 0.7, "the other job waited out the host's back-off"
    assert board.backoff_until("elsewhere") == 0


# -- the commands, without a server -----------------------------------------------------------------

def test_batch_commands_without_a_server(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from migrator.cli import main

    lst = tmp_path / "file.txt"
    lst.write_text("old.jp;taro;pw-1;new.jp;taro@new.jp;pw-secret-2;\n", encoding="utf-8")
    assert main(["batch", "import", "imapsync", str(lst), "--out", str(tmp_path / "office.csv")]) == 0
    out = capsys.readouterr()
    assert "pw-secret-2" not in out.out + out.err and "office.csv" in out.out
    manifest = tmp_path / "office.csv"
    assert main(["batch", "plan", str(manifest)]) == 0  # the IMAP source is a URL: planned, not opened
    assert main(["batch", "status", str(manifest)]) == 2  # no batch ran yet
    assert "no batch has run" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("source,target,password\nx,y,z\n", encoding="utf-8")
    assert main(["batch", "plan", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "passwords never go in the manifest" in err and "hint:" in err
    assert main(["batch", "worker"]) == 2
