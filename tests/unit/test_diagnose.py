"""Diagnoses, OAuth2 SASL strings, the token command and the redacted protocol trace (no server)."""

from __future__ import annotations

import base64
import errno
import imaplib
import os
import socket
import ssl
import stat
import sys
from datetime import datetime, timezone

import pytest

from migrator.domain import providers
from migrator.domain.config import parse_target
from migrator.domain.errors import ExitCode, LoginError, TargetError, TlsError
from migrator.flows.check import CheckReport, software_from_greeting
from migrator.imap import auth, diagnose
from migrator.imap.diagnose import CertInfo
from migrator.imap.trace import ProtocolTrace
from migrator.render.check import render_check

CFG = parse_target("imaps://alice@mail.example.com")
PLAIN = parse_target("imap://alice@mail.example.com")


# -- server responses and login hints ----------------------------------------------------------
@pytest.mark.parametrize("raw, code, text", [
    ("b'[AUTHENTICATIONFAILED] Authentication failed.'", "AUTHENTICATIONFAILED", "Authentication failed."),
    ("[ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)",
     "ALERT", "Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)"),
    ("login failed: [EXPIRED] Password expired", "EXPIRED", "Password expired"),
    ("LOGIN failed.", None, "LOGIN failed."),
])
def test_parse_response(raw, code, text):
    assert diagnose.parse_response(raw) == (code, text)


def test_login_hints_name_the_cause():
    gmail, icloud, outlook = providers.get("gmail"), providers.get("icloud"), providers.get("outlook")
    h = diagnose.login_hint("imap.gmail.com", "ALERT", "Application-specific password required: https://x", gmail)
    assert "app password" in h and "myaccount.google.com/apppasswords" in h
    h = diagnose.login_hint("imap.gmail.com", "ALERT", "Your account is not enabled for IMAP use.", gmail)
    assert "Enable IMAP" in h
    h = diagnose.login_hint("imap.gmail.com", "AUTHENTICATIONFAILED", "Invalid credentials (Failure)", gmail)
    assert "app password" in h and "IMAP is enabled" in h
    h = diagnose.login_hint("outlook.office365.com", None, "LOGIN failed.", outlook)
    assert "--oauth2" in h and "basic authentication" in h
    assert "app-specific password" in diagnose.login_hint("imap.mail.me.com", "AUTHENTICATIONFAILED", "x", icloud)
    assert "expired" in diagnose.login_hint("h", "EXPIRED", "x")
    assert "encrypted" in diagnose.login_hint("h", "PRIVACYREQUIRED", "x")
    assert "temporarily" in diagnose.login_hint("h", "UNAVAILABLE", "x")
    assert "may not use" in diagnose.login_hint("h", "AUTHORIZATIONFAILED", "x")
    generic = diagnose.login_hint("mail.example.com", "AUTHENTICATIONFAILED", "Authentication failed.")
    assert "password is wrong" in generic and "app password" in generic


def test_login_error_is_one_line_and_exit_3():
    err = diagnose.login_error(parse_target("imaps://john@icloud.com@imap.mail.me.com"), "AUTHENTICATIONFAILED",
                               "Authentication failed.", providers.get("icloud"), ["john@icloud.com", "john"])
    assert isinstance(err, LoginError) and err.exit_code == ExitCode.TARGET
    assert "\n" not in err.message and "also tried the user name 'john'" in err.message
    assert "app-specific password" in err.hint


def test_oauth_error_mentions_scope_and_server_detail():
    err = diagnose.oauth_error(parse_target("me@gmail.com"), "XOAUTH2", "AUTHENTICATIONFAILED", "Invalid credentials",
                               "status 401, scope https://mail.google.com/", providers.get("gmail"))
    assert "XOAUTH2" in err.message and "status 401" in err.message
    assert "https://mail.google.com/" in err.hint and "--oauth2-token-command" in err.hint


# -- certificates -----------------------------------------------------------------------------
def _verr(code: int, message: str) -> ssl.SSLCertVerificationError:
    e = ssl.SSLCertVerificationError(1, f"certificate verify failed: {message}")
    e.verify_code, e.verify_message = code, message
    return e


CERT = CertInfo("CN=mail.example.com", "CN=Example CA", ("mail.example.com", "example.com"),
                datetime(2020, 1, 1, tzinfo=timezone.utc), datetime(2021, 1, 1, tzinfo=timezone.utc))


def test_certificate_failures_are_told_apart():
    now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    s = diagnose.describe_cert_error(_verr(10, "certificate has expired"), CERT, "mail.example.com", now)
    assert "expired on 2021-01-01" in s and "clock says 2025-06-01" in s
    s = diagnose.describe_cert_error(_verr(9, "certificate is not yet valid"), CERT, "mail.example.com", now)
    assert "not valid yet" in s and "2020-01-01" in s and "clock" in s
    s = diagnose.describe_cert_error(
        _verr(62, "Hostname mismatch, certificate is not valid for 'imap.example.org'."), CERT, "imap.example.org")
    assert "mail.example.com, example.com" in s and "not imap.example.org" in s
    assert "self-signed" in diagnose.describe_cert_error(_verr(18, "self-signed certificate"))
    s = diagnose.describe_cert_error(_verr(20, "unable to get local issuer certificate"), CERT)
    assert "not signed by an authority" in s and "Example CA" in s
    assert "valid 2020-01-01 to 2021-01-01" in CERT.describe()


def test_cert_error_hint_names_clock_proxy_and_insecure(monkeypatch):
    monkeypatch.setattr(diagnose, "fetch_certificate", lambda *a, **k: CERT)
    err = diagnose.cert_error(CFG, _verr(10, "certificate has expired"), starttls=False)
    assert isinstance(err, TlsError) and err.exit_code == ExitCode.TARGET
    assert "expired" in err.message and "Example CA" in err.message
    assert "clock" in err.hint and "proxy" in err.hint and "--insecure" in err.hint


def test_cert_from_der_without_verification():
    cryptography = pytest.importorskip("cryptography")  # noqa: F841 - the sandbox's certificates need it anyway
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
    import tempfile
    from pathlib import Path

    from dovecot_sandbox import make_certs

    with tempfile.TemporaryDirectory() as d:
        _ca, certfile, _key = make_certs(Path(d), expired=True)
        der = ssl.PEM_cert_to_DER_cert(certfile.read_text())
    info = diagnose.cert_from_der(der)
    assert info is not None and "localhost" in info.names and "127.0.0.1" in info.names
    assert info.not_after < datetime.now(timezone.utc) and "throwaway CA" in info.issuer
    assert diagnose._stdlib_decode(der).names == info.names  # the fallback without cryptography agrees


# -- connecting ------------------------------------------------------------------------------
def test_connect_errors(monkeypatch):
    e = diagnose.connect_error(socket.gaierror(-2, "Name or service not known"), CFG)
    assert isinstance(e, TargetError) and "not found" in e.message
    e = diagnose.connect_error(ConnectionRefusedError(111, "Connection refused"), CFG)
    assert "refused" in e.message and "993" in e.hint and "143" in e.hint
    e = diagnose.connect_error(OSError(errno.ENETUNREACH, "Network is unreachable"), CFG)
    assert "unreachable" in e.message and "VPN" in e.hint
    e = diagnose.connect_error(imaplib.IMAP4.error("b'* BYE Too many connections'"), CFG)
    assert "refused the session" in e.message
    monkeypatch.setattr(diagnose, "speaks_tls", lambda *a, **k: False)
    e = diagnose.connect_error(TimeoutError("timed out"), PLAIN)
    assert "no answer" in e.message and "firewall" in e.hint
    monkeypatch.setattr(diagnose, "speaks_tls", lambda *a, **k: True)
    e = diagnose.connect_error(TimeoutError("timed out"), PLAIN)
    assert isinstance(e, TlsError) and "expects TLS from the start" in e.message
    assert "imaps://alice@mail.example.com" in e.hint


def test_tls_to_a_plain_port(monkeypatch):
    exc = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    exc.reason = "WRONG_VERSION_NUMBER"
    monkeypatch.setattr(diagnose, "plain_greeting", lambda *a, **k: b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready")
    e = diagnose.connect_error(exc, parse_target("imaps://alice@mail.example.com:143"))
    assert isinstance(e, TlsError) and "plain-text IMAP port" in e.message
    assert "imap://alice@mail.example.com:143" in e.hint
    monkeypatch.setattr(diagnose, "plain_greeting", lambda *a, **k: None)
    assert "handshake" in diagnose.connect_error(exc, CFG).message


def test_no_starttls_refuses_clear_text():
    e = diagnose.no_starttls(PLAIN)
    assert "refusing to send the password in clear" in e.message and "imaps://" in e.hint


# -- OAuth2 ----------------------------------------------------------------------------------
def test_sasl_strings():
    # RFC 7628 section 4.1 example and Google's XOAUTH2 format
    assert auth.oauthbearer_payload("user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
                                    "server.example.com", 143) == (
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
        b"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01")
    assert auth.xoauth2_payload("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg") == (
        b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01")
    assert base64.b64encode(auth.xoauth2_payload("someuser@example.com",
                                                  "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")) == (
        b"dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0"
        b"Q2cBAQ==")  # the example string of developers.google.com/gmail/imap/xoauth2-protocol
    assert auth.oauthbearer_payload("a,b=c", "t") == b"n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01"


def test_mechanism_choice():
    assert auth.choose_mechanism(["IMAP4REV1", "AUTH=OAUTHBEARER", "AUTH=XOAUTH2"], "h") == "XOAUTH2"
    assert auth.choose_mechanism(["AUTH=OAUTHBEARER"], "h") == "OAUTHBEARER"
    with pytest.raises(LoginError):
        auth.choose_mechanism(["AUTH=PLAIN"], "h")


def test_sasl_responder_answers_the_error_challenge_empty():
    r = auth.SaslResponder(b"payload")
    assert r(b"") == b"payload"
    assert r(b'{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}') == b""
    assert r.error_detail() == "status 401, schemes bearer, scope https://mail.google.com/"


def test_token_output_forms():
    assert auth.parse_token_output("ya29.abc\n") == "ya29.abc"
    assert auth.parse_token_output('{"access_token": "tok", "expires_in": 3599}') == "tok"
    assert auth.parse_token_output('{"accessToken": "tok2"}') == "tok2"
    assert auth.parse_token_output("note: cached\ntok3\n") == "tok3"
    assert auth.parse_token_output("") == ""


def test_token_command(tmp_path):
    assert auth.token_from_command(f"{sys.executable} -c \"print('tok-1')\"") == "tok-1"
    with pytest.raises(LoginError) as err:
        auth.token_from_command("exit 7")
    assert "exit status 7" in err.value.message and err.value.exit_code == ExitCode.TARGET
    with pytest.raises(LoginError) as err:
        auth.token_from_command("true")
    assert "no access token" in err.value.message
    with pytest.raises(LoginError) as err:
        auth.token_from_command("no-such-command-xyz 2>/dev/null")
    assert "not found" in err.value.message


# -- protocol trace --------------------------------------------------------------------------
def test_trace_redacts_login_auth_and_secrets(tmp_path):
    path = tmp_path / "sub" / "t.log"
    t = ProtocolTrace.open(str(path), "c1")
    t.add_secret("s3cr3t-pass")
    t.sent(b"A1 LOGIN alice \"s3cr3t-pass\"\r\n")
    t.received_line(b"A1 OK Logged in\r\n")
    t.sent(b"A2 AUTHENTICATE XOAUTH2\r\n")
    t.received_line(b"+ \r\n")
    t.sent(base64.b64encode(b"user=alice\x01auth=Bearer TOKEN123\x01\x01") + b"\r\n")
    t.received_line(b"A2 OK done\r\n")
    t.sent(b"A3 APPEND \"INBOX\" () {11+}\r\nhello s3cr3")
    t.sent(b"t\r\n")  # a literal split over two writes; the line after it ends the command
    t.sent(b"A4 SELECT INBOX\r\n")
    t.received_line(b"* 1 FETCH (BODY[] {5}\r\n")
    t.received_literal(5)
    t.note("the password s3cr3t-pass in a note")
    t.close()
    text = path.read_text()
    assert "s3cr3t-pass" not in text and "TOKEN123" not in text and "dXNlcj1" not in text
    assert "A1 LOGIN [redacted]" in text and "A2 AUTHENTICATE XOAUTH2" in text
    assert "[redacted authentication data" in text and "[literal, 11 bytes]" in text and "A4 SELECT INBOX" in text
    assert "hello" not in text and "S: [literal, 5 bytes]" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_trace_never_breaks_on_a_closed_file(tmp_path):
    t = ProtocolTrace.open(str(tmp_path / "t.log"))
    t.close()
    t.note("after close")  # no exception


# -- check rendering -------------------------------------------------------------------------
def test_software_from_greeting():
    assert software_from_greeting("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot (Debian) ready.") == "Dovecot (Debian)"
    assert software_from_greeting("* OK Gimap ready for requests from 1.2.3.4 x1mb") .startswith("Gimap")


def test_render_failed_check():
    r = CheckReport(target="imaps://a@h:993")
    r.add("connect", "ok", "h:993 answered")
    r.add("login", "fail", "h rejected the login as 'a'")
    r.error, r.hint = "h rejected the login as 'a'", "The user name or password is wrong."
    out = render_check(r)
    assert "✗ login" in out and "→ The user name or password is wrong." in out and "Not ready" in out
