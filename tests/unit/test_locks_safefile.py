"""Issue 16 kinds 2, 3 and 8, pure parts: account keys and locks, the refusal predicate, the
content index of a lost journal, and files that are never written through a planted link."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.domain import safefile
from migrator.domain.errors import (
    AccountLocked,
    ConnectionLost,
    ExitCode,
    LoginError,
    StateLocked,
    TargetError,
    UnsafePath,
    login_refused,
)
from migrator.domain.identity import fingerprint
from migrator.flows.server_index import ServerIndex
from migrator.journal.locks import AccountLock, account_key, state_lock

symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="needs symlinks")


# -- kind 3: one predicate ------------------------------------------------------------------------
def test_login_refused_predicate():
    assert login_refused(LoginError("no", code="AUTHENTICATIONFAILED"))
    assert login_refused(LoginError("no"))  # no code: a refusal all the same
    assert login_refused(LoginError("no", code="AUTHORIZATIONFAILED"))
    assert not login_refused(LoginError("busy", code="UNAVAILABLE"))  # RFC 5530: try again later
    assert not login_refused(ConnectionLost("reset"))
    assert not login_refused(TargetError("dropped during login"))
    assert not login_refused(OSError("x"))
    assert LoginError("x").exit_code == ExitCode.TARGET


# -- kind 2: the account lock -----------------------------------------------------------------------
def test_account_key_normalised():
    a = account_key("IMAP.Example.COM.", 993, "me@Example.com", "imaps")
    assert a == account_key("imap.example.com", None, "me@example.com", "imaps")
    assert a == "me@example.com@imap.example.com:993"
    assert account_key("h", None, "u", "imap").endswith(":143")
    assert account_key("h", 993, "u") != account_key("h", 143, "u")
    assert account_key("h", 993, "u") != account_key("h", 993, "v")


def test_account_key_one_login_whatever_its_spelling():
    """Servers look logins up case-insensitively (Dovecot opens one mailbox for Alice and alice),
    and localhost, 127.0.0.1 and ::1 reach one server: one account, one lock."""
    assert account_key("h", 993, "Alice") == account_key("h", 993, "alice") == account_key("h", 993, "ALICE")
    assert account_key("h", 993, "Me@Example.com") == account_key("h", 993, "me@example.com")
    assert account_key("localhost", 993, "u") == account_key("127.0.0.1", 993, "u") == account_key("[::1]", 993, "u")
    assert account_key("127.0.0.2", 993, "u") != account_key("127.0.0.1", 993, "u")


HOLD = """
import sys, time
from pathlib import Path
from migrator.journal.locks import AccountLock
held = AccountLock(sys.argv[1], Path(sys.argv[2])).acquire("me@example.com", "imap.example.com", 993)
print("held", flush=True)
time.sleep(60)
"""


def test_account_lock_second_process_refused(tmp_path: Path):
    key = account_key("imap.example.com", 993, "me@example.com")
    p = subprocess.Popen([sys.executable, "-c", HOLD, key, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        with pytest.raises(AccountLocked) as err:
            AccountLock(key, tmp_path).acquire("me@example.com", "imap.example.com", 993)
        assert err.value.exit_code == ExitCode.STATE
        assert err.value.message.startswith(
            f"another migrate is writing to me@example.com on imap.example.com:993 (pid {p.pid}, since ")
        assert err.value.hint
        other = AccountLock(account_key("imap.example.com", 993, "you@example.com"), tmp_path)
        other.acquire("you@example.com", "imap.example.com", 993).release()  # another account: free
    finally:
        p.kill()
        p.wait()
    lock = AccountLock(key, tmp_path).acquire("me@example.com", "imap.example.com", 993)  # released by the OS
    lock.release()


def test_state_lock_is_exclusive_per_process(tmp_path: Path):
    code = ("import sys, time\nfrom pathlib import Path\nfrom migrator.journal.locks import state_lock\n"
            "held = state_lock(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "s.db")], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        with pytest.raises(StateLocked, match=r"in use by another `migrate run` \(pid \d+"):
            state_lock(tmp_path / "s.db")
    finally:
        p.kill()
        p.wait()
    state_lock(tmp_path / "s.db").release()


# -- kind 2: content dedupe of a lost journal ----------------------------------------------------------
def test_server_index_by_content_fetches_only_same_size():
    bodies = {1: b"a" * 10, 2: b"b" * 10, 3: b"c" * 7, 4: b"b" * 10}
    idx = ServerIndex()
    for uid, raw in bodies.items():
        idx.by_size.setdefault(len(raw), []).append(uid)
    asked: list[list[int]] = []

    def hash_uids(uids: list[int]):
        asked.append(sorted(uids))
        return [(u, fingerprint(bodies[u])) for u in uids]

    assert not idx.take_content(fingerprint(b"z" * 5), 5, hash_uids)  # no server message of that size
    assert asked == []
    assert idx.take_content(fingerprint(b"b" * 10), 10, hash_uids)
    assert idx.take_content(fingerprint(b"b" * 10), 10, hash_uids)  # two copies on the server: both taken
    assert not idx.take_content(fingerprint(b"b" * 10), 10, hash_uids)  # a third is not there
    assert not idx.take_content(fingerprint(b"d" * 10), 10, hash_uids)  # same size, other bytes
    assert idx.take_content(fingerprint(b"a" * 10), 10, hash_uids)
    assert asked == [[1, 2, 4]]  # each size fetched once; size 7 never


# -- kind 8: never through a planted link --------------------------------------------------------------
@symlinks
@pytest.mark.parametrize("writer", ["write", "append", "fd"])
def test_safefile_refuses_a_planted_link(tmp_path: Path, writer: str):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "out"
    link.symlink_to(victim)
    with pytest.raises(UnsafePath, match="is a symbolic link"):
        if writer == "write":
            safefile.write_bytes(link, b"x")
        elif writer == "append":
            safefile.append_text(link, "x")
        else:
            safefile.open_fd(link)
    assert victim.read_bytes() == b"precious"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(UnsafePath):
        safefile.write_bytes(dangling, b"x")
    assert not (tmp_path / "nowhere").exists()


def test_safefile_creates_private_and_rewrites(tmp_path: Path):
    p = tmp_path / "f"
    safefile.write_bytes(p, b"one")
    safefile.write_bytes(p, b"2")
    assert p.read_bytes() == b"2"
    safefile.append_text(p, "3")
    assert p.read_bytes() == b"23"
    if os.name == "posix":
        assert p.stat().st_mode & 0o777 == 0o600


@symlinks
def test_safefile_dirs_and_sqlite(tmp_path: Path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "q").symlink_to(real, target_is_directory=True)
    with pytest.raises(UnsafePath):
        safefile.private_dir(tmp_path / "q")
    assert safefile.private_dir(tmp_path / "new" / "q").is_dir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        with pytest.raises(UnsafePath, match="not a regular file"):
            safefile.write_bytes(tmp_path / "fifo", b"x")
    db = tmp_path / "s.db"
    (tmp_path / "s.db-wal").symlink_to(tmp_path / "victim-wal")
    with pytest.raises(UnsafePath, match="s.db-wal"):
        safefile.check_sqlite(db)


@symlinks
def test_state_and_quarantine_refuse_links(tmp_path: Path):
    from datetime import datetime, timezone

    from migrator.domain.records import Folder, MessageRecord
    from migrator.flows.quarantine import Quarantine
    from migrator.journal.state import State

    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "s.db").symlink_to(victim)
    with pytest.raises(UnsafePath):
        State.open(tmp_path / "s.db", source_id="s", target_id="t")
    with pytest.raises(UnsafePath):
        State.open(tmp_path / "s.db", source_id="s", target_id="t", create=False)
    st = State.open(tmp_path / "t.db", source_id="s", target_id="t")
    (tmp_path / "t.db.lock").symlink_to(victim)
    with pytest.raises(UnsafePath):
        st.lock()
    st.close()
    assert victim.read_bytes() == b"precious"

    rec = MessageRecord(folder=Folder(path=("Inbox",), origin=str(tmp_path), key="Inbox"), stable_id="m1",
                        locator="Inbox#1", raw=b"Subject: x\n\nbody\n", date=datetime.now(timezone.utc),
                        flags=frozenset())
    qdir = tmp_path / "q"
    qdir.mkdir()
    (qdir / "failures.log").symlink_to(victim)
    with pytest.raises(UnsafePath):
        Quarantine(qdir).keep(rec, "INBOX", "refused")
    (qdir / "failures.log").unlink()
    assert not (qdir / "INBOX" / "m1.eml").exists()  # nothing written before the refusal
    (qdir / "INBOX" / "m1.eml").symlink_to(victim)
    with pytest.raises(UnsafePath):
        Quarantine(qdir).keep(rec, "INBOX", "refused")
    (tmp_path / "qlink").symlink_to(qdir, target_is_directory=True)
    with pytest.raises(UnsafePath):
        Quarantine(tmp_path / "qlink").keep(rec, "INBOX", "refused")
    assert victim.read_bytes() == b"precious"


@symlinks
def test_trace_refuses_a_link(tmp_path: Path):
    from migrator.imap.trace import ProtocolTrace

    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "trace.log").symlink_to(victim)
    with pytest.raises(UnsafePath):
        ProtocolTrace.open(str(tmp_path / "trace.log"))
    assert victim.read_bytes() == b"precious"


@symlinks
def test_unreadable_log_refuses_a_link(tmp_path: Path):
    from datetime import datetime, timezone

    from migrator.domain.records import Folder, MessageRecord
    from migrator.flows.quarantine import Quarantine

    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    qdir = tmp_path / "q"
    qdir.mkdir()
    (qdir / "failures.log").symlink_to(victim)
    rec = MessageRecord(folder=Folder(path=("Inbox",), origin=str(tmp_path), key="Inbox"), stable_id="m1",
                        locator="Inbox#1", raw=b"", date=datetime.now(timezone.utc), error="unreadable")
    with pytest.raises(UnsafePath):
        Quarantine(qdir).log_unreadable(rec, "INBOX", "damaged")
    assert victim.read_bytes() == b"precious"
    (qdir / "failures.log").unlink()
    Quarantine(qdir).log_unreadable(rec, "INBOX", "damaged")
    assert "damaged" in (qdir / "failures.log").read_text()


def test_server_index_matches_a_nul_message_as_read_back():
    from migrator.domain.identity import as_read_back

    wire = b"Subject: nul\r\n\r\na\x00b\r\n"
    idx = ServerIndex(by_size={len(wire): [7]})
    served = as_read_back(wire)  # what Dovecot returns to BODY[] for a stored NUL
    assert idx.take_content(fingerprint(wire), len(wire), lambda uids: [(7, fingerprint(served))],
                            also=fingerprint(served))


def test_quarantine_on_a_full_disk_is_one_line_exit_5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A quarantine write the file system refuses (full, read-only) is StateUnwritable (exit 5),
    never an OSError traceback (exit 70)."""
    import errno
    from datetime import datetime, timezone

    from migrator.domain import safefile as sf
    from migrator.domain.errors import ExitCode, StateUnwritable
    from migrator.domain.records import Folder, MessageRecord
    from migrator.flows.quarantine import Quarantine

    def full(*_a: object, **_k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sf, "write_bytes", full)
    rec = MessageRecord(folder=Folder(path=("Inbox",), origin="x", key="k"), stable_id="a:1", raw=b"x\r\n",
                        date=datetime(2024, 1, 1, tzinfo=timezone.utc))
    with pytest.raises(StateUnwritable) as info:
        Quarantine(tmp_path / "q").keep(rec, "INBOX", "refused")
    assert info.value.exit_code == ExitCode.STATE
    assert "No space left on device" in info.value.message
