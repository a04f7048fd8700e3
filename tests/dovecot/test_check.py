"""Issue 6 against a real Dovecot: `migrate check` shows the checklist on a healthy server, and every
connection/TLS/login failure gives a one-line cause, the next step and exit 3 (never a traceback)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from tests.support.corpus import Item, msg, write_mbox

pytestmark = pytest.mark.dovecot


def migrate(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def check(url: str, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return migrate(["check", "--target", url, *extra], env)


def failed(r: subprocess.CompletedProcess[str], *needles: str) -> str:
    out = r.stdout + r.stderr
    assert r.returncode == 3, out
    assert "Traceback" not in out, out
    for n in needles:
        assert n in out, f"{n!r} not in:\n{out}"
    return out


def without_ca(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- healthy server --------------------------------------------------------------------------
def test_healthy_server_checklist(make_imap_user):
    user = make_imap_user(quota_kb=5000)
    with user.client() as c:  # something in the mailbox so the quota is not zero
        c.append("INBOX", msg("quota filler", "x" * 20000).replace(b"\n", b"\r\n"))
    r = check(user.url_imaps, user.env)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    for needle in ("✓ connect", "Dovecot", "✓ tls", "TLSv1.", "TLS from the start", "✓ certificate", "CN=localhost",
                   "throwaway CA", "(verified)", "✓ login", "LOGIN (password)", "✓ UIDPLUS", "✓ MULTIAPPEND",
                   "✓ LITERAL+", "✓ SPECIAL-USE", "✓ QUOTA", "· APPENDLIMIT", "sent=Sent", "trash=Trash",
                   "of 4.9 MB", "Ready: a migration can start"):
        assert needle in out, f"{needle!r} not in:\n{out}"
    rj = check(user.url_imaps, user.env, "--json")
    assert rj.returncode == 0
    doc = json.loads(rj.stdout)
    assert doc["ready"] is True and doc["certificate_verified"] is True and doc["tls_version"].startswith("TLSv1.")
    assert doc["capabilities"]["UIDPLUS"] and doc["capabilities"]["QUOTA"] and not doc["capabilities"]["APPENDLIMIT"]
    assert doc["special_use"] == {"sent": "Sent", "drafts": "Drafts", "trash": "Trash", "junk": "Junk",
                                  "archive": "Archive"}
    assert doc["quota_limit"] == 5000 * 1024 and 20000 < doc["quota_used"] < 40000
    assert doc["server"].startswith("Dovecot") and doc["login_user"] == user.user
    assert "localhost" in doc["certificate"]["names"] and doc["certificate"]["not_after"]


def test_starttls(imap_user):
    r = check(imap_user.url_imap, imap_user.env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "STARTTLS" in r.stdout and "(verified)" in r.stdout and "Ready" in r.stdout


def test_largest_message_from_appendlimit(make_dovecot, make_imap_user):
    user = make_imap_user(sandbox=make_dovecot(appendlimit=2_000_000))
    doc = json.loads(check(user.url_imaps, user.env, "--json").stdout)
    assert doc["max_message_size"] == 2_000_000 and doc["max_message_size_source"] == "APPENDLIMIT"


# -- login -----------------------------------------------------------------------------------
def test_wrong_password(imap_user):
    env = {**imap_user.env, "MIGRATE_PASSWORD": "not-the-password"}
    out = failed(check(imap_user.url_imaps, env), "✗ login", "rejected the login", "[AUTHENTICATIONFAILED]",
                 "password is wrong", "app password")
    assert "not-the-password" not in out


def test_password_with_non_ascii_characters(make_imap_user):
    """LOGIN cannot carry UTF-8 (imaplib sends ASCII): such a password goes by SASL PLAIN instead of crashing."""
    user = make_imap_user(password="pässwörd-秘密-" + os.urandom(3).hex())
    r = check(user.url_imaps, user.env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "AUTHENTICATE PLAIN (password)" in r.stdout
    failed(check(user.url_imaps, {**user.env, "MIGRATE_PASSWORD": "pässwörd-wrong"}), "rejected the login")


def test_wrong_password_in_other_commands_too(imap_user, tmp_path):
    write_mbox(tmp_path / "Inbox", [Item(msg("one"))])
    env = {**imap_user.env, "MIGRATE_PASSWORD": "not-the-password"}
    for cmd in ("plan", "run", "verify"):
        r = migrate([cmd, str(tmp_path / "Inbox"), "--target", imap_user.url_imaps, "--state",
                     str(tmp_path / "s.db"), "-q"], env)
        out = failed(r, "migrate: error:", "rejected the login", "hint:", "password is wrong")
        assert len([ln for ln in r.stderr.splitlines() if ln.startswith("migrate: error:")]) == 1, out


def test_provider_that_needs_oauth2(imap_user):
    env = {**imap_user.env, "MIGRATE_PASSWORD": "an-old-password"}
    failed(check(imap_user.url_imaps, env, "--provider", "office365"),
           "(Microsoft 365 / Exchange Online)", "rejected the login", "--oauth2", "basic authentication")


def test_icloud_user_name_forms(imap_user):
    """iCloud wants the part before @ (or the full address): the other form is tried, and check says which."""
    url = f"imaps://{imap_user.user}@icloud.com@{imap_user.host}:{imap_user.imaps_port}"
    r = check(url, imap_user.env, "--provider", "icloud")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"accepted the user name '{imap_user.user}', not '{imap_user.user}@icloud.com'" in r.stdout
    env = {**imap_user.env, "MIGRATE_PASSWORD": "wrong"}
    failed(check(url, env, "--provider", "icloud"), f"also tried the user name '{imap_user.user}'",
           "app-specific password")


# -- connection and TLS ----------------------------------------------------------------------
def test_closed_port(imap_user):
    failed(check(f"imaps://{imap_user.user}@127.0.0.1:{free_port()}", imap_user.env),
           "✗ connect", "refused the connection", "993", "143")


def test_unknown_host(imap_user):
    failed(check(f"imaps://{imap_user.user}@no-such-host.invalid", imap_user.env, "--timeout", "10"),
           "not found", "server name")


def test_tls_to_the_starttls_port(imap_user):
    url = f"imaps://{imap_user.user}@{imap_user.host}:{imap_user.imap_port}"
    failed(check(url, imap_user.env), "plain-text IMAP port, not TLS",
           f"imap://{imap_user.user}@{imap_user.host}:{imap_user.imap_port}")


def test_plain_text_to_the_tls_port(imap_user):
    url = f"imap://{imap_user.user}@{imap_user.host}:{imap_user.imaps_port}"
    failed(check(url, imap_user.env, "--timeout", "3"), "expects TLS from the start",
           f"imaps://{imap_user.user}@{imap_user.host}:{imap_user.imaps_port}")


def test_untrusted_self_signed_ca(imap_user):
    out = failed(check(imap_user.url_imaps, without_ca(imap_user.env)), "✗ tls",
                 "not signed by an authority this computer trusts", "dovecot-sandbox throwaway CA",
                 "SSL_CERT_FILE", "clock", "proxy", "--insecure")
    assert "✓ login" not in out
    r = check(imap_user.url_imap, without_ca(imap_user.env))  # the same through STARTTLS
    failed(r, "not signed by an authority")
    r = check(imap_user.url_imaps, without_ca(imap_user.env), "--insecure")  # an explicit choice only
    assert r.returncode == 0, r.stdout + r.stderr
    assert "NOT verified (--insecure)" in r.stdout and "identity is not checked" in r.stderr


def test_name_mismatch(imap_user):
    try:
        socket.getaddrinfo("127.1", imap_user.imaps_port)
    except OSError:
        pytest.skip("this resolver does not take 127.1")
    failed(check(f"imaps://{imap_user.user}@127.1:{imap_user.imaps_port}", imap_user.env),
           "name mismatch", "the certificate is for localhost, 127.0.0.1", "not 127.1")


def test_expired_certificate(make_dovecot, make_imap_user):
    user = make_imap_user(sandbox=make_dovecot(expired_cert=True))
    failed(check(user.url_imaps, user.env), "the certificate expired on", "clock says", "wrong clock")


def test_starttls_missing_refuses_clear_text(make_dovecot, make_imap_user):
    user = make_imap_user(sandbox=make_dovecot(starttls=False))
    r = check(user.url_imap, user.env, "--debug")
    out = failed(r, "offers no STARTTLS: refusing to send the password in clear", "imaps://")
    assert " LOGIN " not in out and user.password not in out  # nothing was sent


# -- OAuth2 (Dovecot passdb with a static token per user) -----------------------------------------
def test_xoauth2_with_a_token_command(make_imap_user, tmp_path):
    user = make_imap_user(token="tok-" + os.urandom(6).hex())
    env = {k: v for k, v in user.env.items() if k != "MIGRATE_PASSWORD"}
    cmd = f"{sys.executable} -c \"print('{user.token}')\""
    r = check(user.url_imaps, env, "--oauth2-token-command", cmd)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "AUTHENTICATE XOAUTH2 (OAuth2 access token from --oauth2-token-command)" in r.stdout
    r = check(user.url_imaps, {**env, "MIGRATE_PASSWORD": user.token}, "--oauth2")  # the token like a password
    assert r.returncode == 0 and "AUTHENTICATE XOAUTH2" in r.stdout
    r = check(user.url_imaps, env, "--oauth2-token-command", "echo expired-token")
    failed(r, "rejected the OAuth2 login (XOAUTH2)", "status 401", "expired")
    failed(check(user.url_imaps, env, "--oauth2-token-command", "exit 3"), "--oauth2-token-command failed")


def test_oauthbearer_and_a_fresh_token_per_connection(make_imap_user, tmp_path, monkeypatch):
    """In-process: OAUTHBEARER works too, and every connection runs the token command again."""
    from migrator.domain.config import parse_target
    from migrator.imap import auth
    from migrator.imap.client import ImapTarget

    user = make_imap_user(token="tok-" + os.urandom(6).hex())
    monkeypatch.setenv("SSL_CERT_FILE", user.cafile)
    monkeypatch.setattr(auth, "MECHANISMS", ("OAUTHBEARER",))
    calls = tmp_path / "calls"
    cmd = f"echo x >> {calls}; echo {user.token}"
    cfg = parse_target(user.url_imaps).model_copy(update={"oauth2": True, "oauth2_token_command": cmd})
    for _ in range(3):
        with ImapTarget(cfg).connect() as t:
            assert t.login_method.startswith("AUTHENTICATE OAUTHBEARER")
            assert "INBOX" in t.folders()
    assert calls.read_text().count("x") == 3


def test_debug_trace_of_check_is_redacted(imap_user):
    r = check(imap_user.url_imaps, imap_user.env, "--debug")
    assert r.returncode == 0
    assert " LOGIN [redacted]" in r.stderr and "C: " in r.stderr and "S: " in r.stderr
    assert imap_user.password not in r.stderr + r.stdout
