"""The test harness itself: tools/dovecot_sandbox.py is a real, usable IMAP server."""
from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from dovecot_sandbox import DovecotSandbox, _group_members, make_certs
from faultproxy import FaultProxy
from imapclient import IMAPClient, imap_utf7
from imapclient.exceptions import IMAPClientError, LoginError

from tests.dovecot.conftest import ImapUser

TOOLS = Path(__file__).resolve().parents[2] / "tools"
MSG = b"From: a@example.jp\r\nTo: b@example.jp\r\nSubject: hello\r\n\r\nbody\r\n"


def test_imaps_login_with_verified_certificate(imap_user: ImapUser, tmp_path: Path) -> None:
    c = imap_user.client()
    assert c.folder_exists("INBOX")
    # the certificate is really checked: with another CA the handshake fails
    other_ca, _, _ = make_certs(tmp_path / "other")
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(imap_user.host, imap_user.imaps_port, ssl_context=ssl.create_default_context(cafile=str(other_ca)),
                   timeout=10)


def test_starttls_on_the_plain_port(imap_user: ImapUser) -> None:
    plain = IMAPClient(imap_user.host, imap_user.imap_port, ssl=False, timeout=10)
    assert b"STARTTLS" in plain.capabilities()
    plain.shutdown()
    c = imap_user.client(starttls=True)
    assert c.folder_exists("INBOX")


def test_special_use_folders_and_separator(imap_user: ImapUser, dovecot: DovecotSandbox) -> None:
    c = imap_user.client()
    found = {name: flags for flags, delim, name in c.list_folders()}
    assert {d.decode() for _, d, _ in c.list_folders()} == {dovecot.separator} == {"/"}
    for name, flag in (("Sent", b"\\Sent"), ("Drafts", b"\\Drafts"), ("Trash", b"\\Trash"),
                       ("Junk", b"\\Junk"), ("Archive", b"\\Archive")):
        assert flag in found[name]
    special = {name for flags, _, name in c.list_folders() if set(flags) - {b"\\HasNoChildren", b"\\HasChildren"}}
    assert special == {"Sent", "Drafts", "Trash", "Junk", "Archive"}
    assert c.find_special_folder(b"\\Sent") == "Sent"


def test_quota_root_and_overquota(make_imap_user: Callable[..., ImapUser]) -> None:
    user = make_imap_user(quota_kb=20)
    c = user.client()
    _, quotas = c.get_quota_root("INBOX")
    assert [(q.resource, q.limit) for q in quotas] == [("STORAGE", 20)]
    c.append("INBOX", MSG)
    with pytest.raises(IMAPClientError, match="OVERQUOTA"):
        c.append("INBOX", MSG + b"x" * 40_000 + b"\r\n")
    assert c.select_folder("INBOX")[b"EXISTS"] == 1
    # no limit for a user without quota: Dovecot answers "OK No quota" without any QUOTAROOT
    # (imapclient's get_quota_root() then raises IndexError)
    free = make_imap_user()
    typ, data = free.client()._imap.getquotaroot("INBOX")
    assert typ == "OK" and data == [[None], [None]]
    assert "STORAGE" in (out := free.sandbox.doveadm("quota", "get", "-u", free.user).stdout)
    assert out.splitlines()[1].split()[4] == "-"
    # raised at runtime, for new sessions
    user.set_quota(200)
    assert [(q.resource, q.limit) for q in user.client().get_quota_root("INBOX")[1]] == [("STORAGE", 200)]
    out = user.sandbox.doveadm("quota", "get", "-u", user.user).stdout
    assert "STORAGE" in out and "200" in out


def test_japanese_folder_names_round_trip(imap_user: ImapUser) -> None:
    c = imap_user.client()
    c.create_folder("取引先/見積")
    c.create_folder("a.b")
    c.append("取引先/見積", MSG)
    names = [name for _, _, name in c.list_folders()]
    assert "取引先/見積" in names and "取引先" in names and "a.b" in names
    assert c.select_folder("取引先/見積")[b"EXISTS"] == 1
    # stored in modified UTF-7 below the user's Maildir (LAYOUT=fs)
    assert (imap_user.maildir / imap_utf7.encode("取引先").decode() / imap_utf7.encode("見積").decode()).is_dir()
    assert (imap_user.maildir / "&U9ZfFVFI-" / "&iYt6TQ-" / "cur").is_dir()


def test_users_are_visible_at_once(dovecot: DovecotSandbox, make_imap_user: Callable[..., ImapUser]) -> None:
    users = [make_imap_user() for _ in range(5)]
    for u in users:
        c = u.client()
        c.logout()
    with pytest.raises(LoginError):
        IMAPClient(dovecot.host, dovecot.imaps_port, ssl_context=users[0].ssl_context(),
                   timeout=10).login(users[0].user, "wrong")


def test_static_bearer_token(make_imap_user: Callable[..., ImapUser]) -> None:
    user = make_imap_user(token="tok-123")
    c = IMAPClient(user.host, user.imaps_port, ssl_context=user.ssl_context(), timeout=10)
    assert {b"AUTH=XOAUTH2", b"AUTH=OAUTHBEARER"} <= set(c.capabilities())
    c.oauth2_login(user.user, "tok-123")
    c.logout()
    c = IMAPClient(user.host, user.imaps_port, ssl_context=user.ssl_context(), timeout=10)
    c.oauthbearer_login(user.user, "tok-123")
    c.logout()
    c = IMAPClient(user.host, user.imaps_port, ssl_context=user.ssl_context(), timeout=10)
    with pytest.raises(LoginError):
        c.oauth2_login(user.user, "wrong")
    with pytest.raises(LoginError):  # the token is not a password
        IMAPClient(user.host, user.imaps_port, ssl_context=user.ssl_context(), timeout=10).login(user.user, "tok-123")


def test_doveadm_sees_what_imap_wrote(imap_user: ImapUser, dovecot: DovecotSandbox) -> None:
    c = imap_user.client()
    c.append("INBOX", MSG)
    c.append("INBOX", MSG)
    out = dovecot.doveadm("mailbox", "status", "-u", imap_user.user, "messages", "INBOX").stdout
    assert out.split() == ["INBOX", "messages=2"]
    dovecot.doveadm("expunge", "-u", imap_user.user, "mailbox", "INBOX", "all")
    assert c.select_folder("INBOX")[b"EXISTS"] == 0


def test_restart_keeps_ports_and_mail(make_dovecot: Callable[..., DovecotSandbox]) -> None:
    t0 = time.monotonic()
    sb = make_dovecot()
    assert time.monotonic() - t0 < 3.0
    sb.add_user("restart-user", "pw")
    ctx = ssl.create_default_context(cafile=str(sb.cafile))
    c = IMAPClient(sb.host, sb.imaps_port, ssl_context=ctx, timeout=10)
    c.login("restart-user", "pw")
    c.append("INBOX", MSG)
    ports, pid = (sb.imap_port, sb.imaps_port), sb.pid
    sb.restart()
    assert (sb.imap_port, sb.imaps_port) == ports and sb.pid != pid
    with pytest.raises((OSError, IMAPClientError)):
        c.noop()
    c = IMAPClient(sb.host, sb.imaps_port, ssl_context=ctx, timeout=10)
    c.login("restart-user", "pw")
    assert c.select_folder("INBOX")[b"EXISTS"] == 1
    c.logout()


def test_stop_leaves_no_processes(make_dovecot: Callable[..., DovecotSandbox]) -> None:
    sb = make_dovecot()
    sb.add_user("busy", "pw")
    c = IMAPClient(sb.host, sb.imaps_port, ssl_context=ssl.create_default_context(cafile=str(sb.cafile)), timeout=10)
    c.login("busy", "pw")
    c.select_folder("INBOX")
    pgid = sb.pid
    assert pgid is not None and len(_group_members(pgid)) >= 5
    t0 = time.monotonic()
    sb.stop()
    assert time.monotonic() - t0 < 3.0
    assert [pid for pid, st in _group_members(pgid).items() if st != "Z"] == []


def test_process_users(dovecot: DovecotSandbox, imap_user: ImapUser) -> None:
    """As root: login as dovenull, mail as dovecot, mail files owned by dovecot; else all as us."""
    import pwd

    c = imap_user.client()
    c.append("INBOX", MSG)
    owners = {}
    assert dovecot.pid is not None
    for pid in _group_members(dovecot.pid):
        try:
            name = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            owners[name.rsplit("/", 1)[-1]] = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
        except (OSError, KeyError):
            continue
    maildir_owner = pwd.getpwuid(imap_user.maildir.stat().st_uid).pw_name
    if os.geteuid() == 0:
        assert owners.get("imap-login") == "dovenull"
        assert owners.get("imap") == "dovecot"
        assert maildir_owner == "dovecot"
    else:
        me = pwd.getpwuid(os.getuid()).pw_name
        assert set(owners.values()) == {me}
        assert maildir_owner == me


def test_variants(make_dovecot: Callable[..., DovecotSandbox]) -> None:
    no_tls = make_dovecot(starttls=False)
    no_tls.add_user("plain", "pw")
    c = IMAPClient(no_tls.host, no_tls.imap_port, ssl=False, timeout=10)
    assert b"STARTTLS" not in c.capabilities() and no_tls.imaps_port is None
    c.login("plain", "pw")
    c.logout()

    strict = make_dovecot(disable_plaintext_auth=True)
    strict.add_user("strict", "pw")
    c = IMAPClient(strict.host, strict.imap_port, ssl=False, timeout=10)
    assert b"LOGINDISABLED" in c.capabilities()
    with pytest.raises(LoginError):
        c.login("strict", "pw")
    c = IMAPClient(strict.host, strict.imap_port, ssl=False, timeout=10)
    c.starttls(ssl.create_default_context(cafile=str(strict.cafile)))
    c.login("strict", "pw")
    c.logout()

    expired = make_dovecot(expired_cert=True)
    with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
        IMAPClient(expired.host, expired.imaps_port, ssl_context=ssl.create_default_context(cafile=str(expired.cafile)),
                   timeout=10)

    limited = make_dovecot(appendlimit=10_000)
    limited.add_user("lim", "pw")
    c = IMAPClient(limited.host, limited.imaps_port, ssl_context=ssl.create_default_context(cafile=str(limited.cafile)),
                   timeout=10)
    c.login("lim", "pw")
    assert b"APPENDLIMIT=10000" in c.capabilities()
    with pytest.raises(IMAPClientError, match="LIMIT"):
        c.append("INBOX", MSG + b"y" * 20_000)
    c.logout()


def test_faultproxy_in_front_of_dovecot(imap_user: ImapUser, faultproxy: Callable[..., FaultProxy]) -> None:
    proxy = faultproxy(latency_ms=25)
    slow = imap_user.via(proxy)
    assert slow.url_imaps.endswith(f":{proxy.port}")
    c = slow.client()
    t0 = time.monotonic()
    c.noop()
    assert time.monotonic() - t0 >= 0.045
    proxy.reset_all()
    with pytest.raises((OSError, IMAPClientError)):
        c.noop()
    assert slow.client().folder_exists("INBOX")
    assert proxy.connections_accepted == 2


def test_cli_start_and_stop(dovecot: DovecotSandbox) -> None:  # `dovecot`: skip/fail if absent
    base = Path(tempfile.mkdtemp(prefix="dovecot-cli-"))  # not below pytest's 0700 tmp root (see conftest)
    proc = subprocess.Popen([sys.executable, str(TOOLS / "dovecot_sandbox.py"), "start", "--dir", str(base),
                             "--user", "cli:secret:500"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["users"] == [{"user": "cli", "password": "secret", "quota_kb": 500}]
        assert info["start_seconds"] < 3
        c = IMAPClient(info["host"], info["imaps_port"], ssl_context=ssl.create_default_context(cafile=info["cafile"]),
                       timeout=10)
        c.login("cli", "secret")
        c.logout()
        stop = subprocess.run([sys.executable, str(TOOLS / "dovecot_sandbox.py"), "stop", "--dir", str(base)],
                              check=False, capture_output=True, text=True, timeout=30)
        assert stop.returncode == 0, stop.stderr
        assert proc.wait(10) == 0
        assert [p for p, st in _group_members(info["pid"]).items() if st != "Z"] == []
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(base, ignore_errors=True)
