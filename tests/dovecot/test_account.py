"""Issue 16 kinds 2 and 3 against the real Dovecot: one writer per account, a lost journal
deduped by content, verify naming migrate's own second copies, and a refused login that stops
at once (exactly one failed LOGIN) and resumes with the new password."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.dovecot.test_resume import norm_hash, server_contents
from tests.support.corpus import Item, msg, write_mbox

pytestmark = pytest.mark.dovecot


def _corpus(src: Path, n: int, size: int = 3000, *, mid_every: int = 0) -> Counter[str]:
    """`n` messages; with mid_every=k every k-th has a Message-ID, the others none."""
    items = []
    for i in range(n):
        mid = "auto" if mid_every and i % mid_every == 0 else None
        items.append(Item(msg(f"acct {i}", (f"line {i} " * 10 + "\n") * (size // 90), mid=mid, n=i)))
    write_mbox(src / "Inbox", items)
    return Counter(norm_hash(it.raw) for it in items)


def _migrate(cmd: str, user, src: Path, state: Path | None, *, url: str | None = None, password: str | None = None,
             lock_dir: Path, extra: list[str] | None = None, timeout: float = 300) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "migrator", cmd, str(src), "--target", url or user.url_imaps, "-q",
            *(["--state", str(state)] if state is not None else []), *(extra or [])]
    env = {**os.environ, **user.env, "MIGRATE_LOCK_DIR": str(lock_dir),
           "XDG_DATA_HOME": str(lock_dir.parent / "xdg")}
    if password is not None:
        env["MIGRATE_PASSWORD"] = password
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _done(p: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str]:
    out, err = p.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    return p.returncode, out + err


def _count(user) -> int:
    with user.client() as c:
        return int(c.select_folder("INBOX", readonly=True)[b"EXISTS"])


def _wait_for(pred, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_second_run_into_the_same_account_exits_5(tmp_path: Path, make_imap_user, faultproxy, dovecot):
    """Two runs, different state files (one the default), same account: the second stops before
    writing (exit 5, naming the first's pid); the account ends with every message once."""
    want = _corpus(tmp_path / "src", 300)
    user = make_imap_user()
    proxy = faultproxy(dovecot.imaps_port, latency_ms=15)  # slow enough to overlap
    url = user.url_imaps.rsplit(":", 1)[0] + f":{proxy.port}"
    # the same account spelled differently (host case): the same lock
    url2 = url.replace("@" + user.host, "@" + user.host.upper()) if user.host[0].isalpha() else url
    locks = tmp_path / "locks"
    first = _migrate("run", user, tmp_path / "src", tmp_path / "a.db", url=url, lock_dir=locks,
                     extra=["--batch", "5", "--connections", "1"])
    try:
        assert _wait_for(lambda: _count(user) > 0 or first.poll() is not None)
        proxy.stall()  # hold the first run mid-upload (it keeps its lock)
        assert first.poll() is None, "the first run ended before the second started"
        second = _migrate("run", user, tmp_path / "src", None, url=url2, lock_dir=locks)
        rc, text = _done(second, 60)
        assert rc == 5, text
        assert re.search(rf"another migrate is writing to {re.escape(user.user)} on .*:{proxy.port} "
                         rf"\(pid {first.pid}, since ", text), text
        assert "hint:" in text
    finally:
        proxy.unstall()
        rc1, text1 = _done(first)
    assert rc1 == 0, text1
    assert server_contents(user, ["INBOX"]) == {"INBOX": want}


def test_one_login_spelled_two_ways_is_one_writer(tmp_path: Path, make_imap_user, faultproxy, dovecot):
    """Dovecot opens one mailbox for `alice` and `ALICE`, and localhost is 127.0.0.1: a second run
    with the login upper-cased and the host named `localhost` is the same account (exit 5)."""
    want = _corpus(tmp_path / "src", 200)
    user = make_imap_user()
    proxy = faultproxy(dovecot.imaps_port, latency_ms=15)
    url = f"imaps://{user.user}@127.0.0.1:{proxy.port}"
    url2 = f"imaps://{user.user.upper()}@localhost:{proxy.port}"
    locks = tmp_path / "locks"
    first = _migrate("run", user, tmp_path / "src", tmp_path / "a.db", url=url, lock_dir=locks,
                     extra=["--batch", "5", "--connections", "1"])
    try:
        assert _wait_for(lambda: _count(user) > 0 or first.poll() is not None)
        proxy.stall()
        assert first.poll() is None, "the first run ended before the second started"
        rc, text = _done(_migrate("run", user, tmp_path / "src", tmp_path / "b.db", url=url2, lock_dir=locks), 60)
        assert rc == 5 and "another migrate is writing to" in text, text
    finally:
        proxy.unstall()
        rc1, text1 = _done(first)
    assert rc1 == 0, text1
    assert server_contents(user, ["INBOX"]) == {"INBOX": want}


def test_read_only_commands_take_no_account_lock(tmp_path: Path, make_imap_user):
    from migrator.domain.config import parse_target
    from migrator.journal.locks import AccountLock, account_key

    _corpus(tmp_path / "src", 5)
    user = make_imap_user()
    locks = tmp_path / "locks"
    cfg = parse_target(user.url_imaps)
    held = AccountLock(account_key(cfg.host, cfg.port, cfg.user, cfg.scheme), locks).acquire(
        cfg.user, cfg.host, cfg.port)
    try:
        for cmd in ("plan", "verify"):
            rc, text = _done(_migrate(cmd, user, tmp_path / "src", tmp_path / "s.db", lock_dir=locks))
            assert rc in (0, 1), text  # verify: 1, nothing migrated yet
        rc, text = _done(_migrate("run", user, tmp_path / "src", tmp_path / "s.db", lock_dir=locks))
        assert rc == 5 and "another migrate is writing to" in text, text
    finally:
        held.release()
    assert _count(user) == 0


def test_lost_journal_dedupes_by_content(tmp_path: Path, make_imap_user):
    """A new state file against a filled account: messages without a Message-ID are found on the
    server by content (size, then hash) and not uploaded again; `verify` then names a second copy
    made by migrate a duplicate, not mail "not from this migration"."""
    want = _corpus(tmp_path / "src", 40, mid_every=4)
    user = make_imap_user()
    locks = tmp_path / "locks"
    rc, text = _done(_migrate("run", user, tmp_path / "src", tmp_path / "a.db", lock_dir=locks))
    assert rc == 0, text
    assert server_contents(user, ["INBOX"]) == {"INBOX": want}
    rc, text = _done(_migrate("run", user, tmp_path / "src", tmp_path / "lost.db", lock_dir=locks,
                              extra=["--json"]))
    assert rc == 0, text
    assert '"uploaded": 0' in text and '"already": 40' in text, text
    assert server_contents(user, ["INBOX"]) == {"INBOX": want}

    # a copy made behind the journal's back (what a second writer did before the lock existed)
    raw = (tmp_path / "src" / "Inbox").read_bytes().split(b"\nFrom ")[1]
    raw = raw.split(b"\n", 1)[1]  # drop the From_ line
    with user.client() as c:
        c.append("INBOX", raw.replace(b"\n", b"\r\n"))
    rc, text = _done(_migrate("verify", user, tmp_path / "src", tmp_path / "a.db", lock_dir=locks))
    assert rc == 0, text
    assert "1 duplicate(s): second copies of migrated messages" in text, text
    assert "a second copy of" in text
    assert "Also on the server: 0 not from this migration" in text, text


def _change_password(user, new: str) -> None:
    sb = user.sandbox
    path = sb.users_dir / user.user
    fields = path.read_text().rstrip("\n").split(":", 7)
    sb._write(path, fields[0] + ":{PLAIN}" + new + ":" + ":".join(fields[2:]) + "\n")  # noqa: SLF001


def _failed_logins(sandbox, user: str, since: int) -> int:
    text = sandbox.log.read_text(errors="replace")[since:]
    return sum(1 for line in text.splitlines() if "auth failed" in line and f"user=<{user}>" in line)


@pytest.mark.parametrize("connections", [2, 4])
def test_refused_login_after_reconnect_stops_at_once(tmp_path: Path, make_imap_user, faultproxy, dovecot,
                                                     connections: int):
    """The password changes mid-run and the connections drop: exactly one failed LOGIN, exit 3 with
    the login hint; the next run with the new password finishes, every message exactly once."""
    want = _corpus(tmp_path / "src", 400)
    user = make_imap_user()
    proxy = faultproxy(dovecot.imaps_port, latency_ms=10)
    url = user.url_imaps.rsplit(":", 1)[0] + f":{proxy.port}"
    locks = tmp_path / "locks"
    log_start = dovecot.log.stat().st_size
    run = _migrate("run", user, tmp_path / "src", tmp_path / "s.db", url=url, lock_dir=locks,
                   extra=["--batch", "5", "--connections", str(connections), "--timeout", "10"])
    new_password = "changed-" + user.password
    try:
        assert _wait_for(lambda: _count(user) >= 10 or run.poll() is not None)
        proxy.stall()  # hold the run where it is while the password changes
        assert run.poll() is None, "the run ended before the password changed"
        _change_password(user, new_password)
        time.sleep(1.5)  # Dovecot re-reads a changed passwd-file at most once a second
        proxy.reset_all()  # every connection drops: the run reconnects and meets the new password
        proxy.unstall()
    finally:
        rc, text = _done(run, 240)
    user = dataclasses.replace(user, password=new_password)
    assert rc == 3, text
    assert "rejected the login" in text and "hint:" in text, text
    assert "run the same command again" in text.lower()
    # Dovecot logs a failed login when that connection closes: close what the proxy still holds
    proxy.close_all()
    assert _wait_for(lambda: _failed_logins(dovecot, user.user, log_start) >= 1, 15), (text, dovecot.log_tail(40))
    time.sleep(1.0)
    assert _failed_logins(dovecot, user.user, log_start) == 1, dovecot.log_tail(40)
    assert _count(user) < 400
    rc, text = _done(_migrate("run", user, tmp_path / "src", tmp_path / "s.db", url=url, lock_dir=locks,
                              password=new_password))
    assert rc == 0, text
    assert server_contents(user, ["INBOX"]) == {"INBOX": want}


def test_reconnect_loops_stop_on_refusal_without_a_proxy(tmp_path: Path, make_imap_user, dovecot, monkeypatch):
    """Unit-sized check with the real server: Session's every connection path raises the first
    refusal and never logs in again."""
    from pydantic import SecretStr

    from migrator.domain.config import parse_target
    from migrator.domain.errors import LoginError
    from migrator.domain.models import RunStats
    from migrator.flows.run import RunOptions, Session
    from migrator.imap.client import ImapTarget

    user = make_imap_user()
    monkeypatch.setenv("SSL_CERT_FILE", user.cafile)
    cfg = parse_target(user.url_imaps).model_copy(update={"password": SecretStr(user.password)})
    attempts = []

    def connect() -> ImapTarget:
        attempts.append(1)
        return ImapTarget(cfg).connect()

    session = Session(connect, RunOptions(backoff=lambda a: 0.0), RunStats(target="", state=""))
    _change_password(user, "other-" + user.password)
    time.sleep(1.5)
    with pytest.raises(LoginError) as err:
        session.reconnect()
    assert "accepted when this run started" in err.value.message
    for again in (session.reconnect, session.connect_new):
        with pytest.raises(LoginError):
            again()
    assert len(attempts) == 2  # the first login, and the one refused


def test_connection_lost_during_login_is_not_a_refusal(make_imap_user, monkeypatch):
    """A connection that dies while LOGIN is on the way (imaplib: `socket error: EOF`, which
    imapclient wraps in its LoginError) is a network fault: retried, never 'rejected the login'."""
    import imaplib

    import imapclient
    from pydantic import SecretStr

    from migrator.domain.config import parse_target
    from migrator.domain.errors import LoginError, TargetError, login_refused
    from migrator.imap.client import ImapTarget

    user = make_imap_user()
    monkeypatch.setenv("SSL_CERT_FILE", user.cafile)
    cfg = parse_target(user.url_imaps).model_copy(update={"password": SecretStr(user.password)})
    real = imapclient.IMAPClient._command_and_check

    def dies_at_login(self, command, *args, **kwargs):
        if command in ("login", "authenticate"):
            self._imap.shutdown()  # the connection is gone, as after a reset mid-command
            raise imaplib.IMAP4.abort("socket error: EOF")
        return real(self, command, *args, **kwargs)

    monkeypatch.setattr(imapclient.IMAPClient, "_command_and_check", dies_at_login)
    with pytest.raises(TargetError) as err:
        ImapTarget(cfg).connect()
    assert not isinstance(err.value, LoginError) and not login_refused(err.value), err.value.message
    assert "dropped the connection during login" in err.value.message
    monkeypatch.setattr(imapclient.IMAPClient, "_command_and_check", real)
    ImapTarget(cfg).connect().close()  # and the next attempt logs in
