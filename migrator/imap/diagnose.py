"""Diagnoses: turn connection, TLS and login failures into a one-line cause and the next step.

Pure mappings (exception / server response -> MigratorError with message and hint) plus three
small probes that look at a port again when the first failure is ambiguous: does it greet in
plain text, does it speak TLS, and which certificate does it present. Nothing here imports
imapclient; imap.py calls these helpers.
"""

from __future__ import annotations

import errno
import imaplib
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from migrator.domain.errors import LoginError, MigratorError, TargetError, TlsError

if TYPE_CHECKING:
    from migrator.domain.config import TargetConfig
    from migrator.domain.providers import Provider

PROBE_TIMEOUT = 5.0
USUAL_PORTS = "IMAP uses port 993 with TLS from the start (imaps://) or 143 with STARTTLS (imap://)"
TLS_HINT = ("A wrong clock (date/time) on this computer, or a proxy/antivirus/firewall that intercepts TLS, "
            "causes this too. --insecure skips the check: use it only for a server you trust "
            "(e.g. on your own network).")

# RFC 5530 response codes on a rejected LOGIN/AUTHENTICATE: (cause, next step)
_CODE_HINTS = {
    "AUTHENTICATIONFAILED": "the user name or password is wrong",
    "AUTHORIZATIONFAILED": "the credentials are right, but this user may not use the mailbox (ask its administrator)",
    "EXPIRED": "the password (or the account) has expired: renew it at the provider, then try again",
    "PRIVACYREQUIRED": "the server wants an encrypted connection before login: use imaps:// or imap:// (STARTTLS)",
    "UNAVAILABLE": "the provider's login service is temporarily unavailable: try again later",
    "CONTACTADMIN": "the server asks you to contact its administrator",
    "LIMIT": "too many connections or logins: close other mail programs, wait a while, or use fewer --connections",
    "WEBALERT": "the provider wants you to sign in once in a web browser (a security check): do that, then retry",
    "LOGINDISABLED": "the server refuses password logins on this connection: it wants TLS (imaps://) or OAuth2 "
                     "(--oauth2)",
}


# -- server responses -------------------------------------------------------------------------
def parse_response(text: str) -> tuple[str | None, str]:
    """('AUTHENTICATIONFAILED', 'Authentication failed.') from the text of a NO/BAD response.

    Accepts imaplib's and imapclient's wrappings ("b'[CODE] text'", "login failed: ...").
    """
    t = text.strip()
    m = re.fullmatch(r"b(['\"])(.*)\1", t, re.S)
    if m:
        t = m.group(2)
    t = re.sub(r"^(?:login|authenticate) failed: ", "", t, flags=re.I)
    m = re.match(r"\[([A-Za-z0-9-]+)[^\]]*\]\s*", t)
    if m:
        return m.group(1).upper(), t[m.end():].strip() or m.group(0).strip()
    return None, t


# -- certificates ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CertInfo:
    subject: str
    issuer: str
    names: tuple[str, ...]
    not_before: datetime | None
    not_after: datetime | None

    @property
    def self_signed(self) -> bool:
        """True when the certificate names itself as its issuer."""
        return self.subject == self.issuer

    def describe(self) -> str:
        """One line for a message: the names it is issued to (at most 6), the issuer, the validity days."""
        names = ", ".join(self.names[:6]) or self.subject
        return (f"issued to {names} by {self.issuer}, valid {_day(self.not_before)} to {_day(self.not_after)}")

    def as_dict(self) -> dict[str, str]:
        """The certificate's fields as strings (dates ISO 8601 UTC), for `check --json`."""
        return {"subject": self.subject, "issuer": self.issuer, "names": ", ".join(self.names),
                "not_before": _iso(self.not_before), "not_after": _iso(self.not_after)}


def _day(d: datetime | None) -> str:
    return d.strftime("%Y-%m-%d") if d else "?"


def _iso(d: datetime | None) -> str:
    return d.isoformat() if d else ""


def _rdns(name: object) -> str:
    """'CN=x, O=y' from the stdlib's ((('commonName', 'x'),), ...) form."""
    short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C"}
    try:
        return ", ".join(f"{short.get(k, k)}={v}" for rdn in name for k, v in rdn)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return str(name)


def _stdlib_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromtimestamp(ssl.cert_time_to_seconds(text), tz=timezone.utc)
    except ValueError:
        return None


def _ip(text: str) -> str:
    try:
        return ipaddress.ip_address(text.strip()).compressed
    except ValueError:
        return text


def cert_from_dict(cert: dict[str, Any]) -> CertInfo:
    """From ssl.SSLSocket.getpeercert() (a verified connection)."""
    names = tuple(_ip(v) if k == "IP Address" else v for k, v in cert.get("subjectAltName", ())
                  if k in ("DNS", "IP Address"))
    return CertInfo(_rdns(cert.get("subject", ())), _rdns(cert.get("issuer", ())), names,
                    _stdlib_date(cert.get("notBefore")), _stdlib_date(cert.get("notAfter")))


def cert_from_der(der: bytes | None) -> CertInfo | None:
    """Decode a certificate the TLS layer did not verify (cryptography if installed, else the stdlib)."""
    if not der:
        return None
    try:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(der)
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = tuple([str(n) for n in san.get_values_for_type(x509.DNSName)]
                          + [str(n) for n in san.get_values_for_type(x509.IPAddress)])
        except x509.ExtensionNotFound:
            names = ()
        return CertInfo(cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), names,
                        cert.not_valid_before_utc, cert.not_valid_after_utc)
    except ImportError:
        pass
    except ValueError:
        return None
    return _stdlib_decode(der)


def _stdlib_decode(der: bytes) -> CertInfo | None:
    import os
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(ssl.DER_cert_to_PEM_cert(der))
        decoded = ssl._ssl._test_decode_cert(path)  # type: ignore[attr-defined]  # noqa: SLF001
    except (AttributeError, ssl.SSLError, OSError):
        return None
    finally:
        os.unlink(path)
    return cert_from_dict(decoded)


def fetch_certificate(host: str, port: int, *, starttls: bool, timeout: float = PROBE_TIMEOUT) -> CertInfo | None:
    """The certificate the server presents, without verifying it (only to describe a failure)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            if starttls:
                f = raw.makefile("rb")
                f.readline()
                raw.sendall(b"T1 STARTTLS\r\n")
                while not (line := f.readline()).startswith(b"T1 "):
                    if not line:
                        return None
                if not line.startswith(b"T1 OK"):
                    return None
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                return cert_from_der(tls.getpeercert(binary_form=True))
    except (OSError, ValueError):
        return None


def describe_cert_error(exc: ssl.SSLCertVerificationError, cert: CertInfo | None = None,
                        host: str = "", now: datetime | None = None) -> str:
    """Which verification failed, with the certificate's names and dates when known."""
    msg = (exc.verify_message or str(exc)).lower()
    code = exc.verify_code
    now = now or datetime.now(timezone.utc)
    clock = f"this computer's clock says {now:%Y-%m-%d %H:%M} UTC"
    if code == 10 or "expired" in msg:
        when = f" on {_day(cert.not_after)}" if cert else ""
        return f"the certificate expired{when} ({clock}: if that is wrong, fix the clock)"
    if code == 9 or "not yet valid" in msg:
        when = f" before {_day(cert.not_before)}" if cert else ""
        return f"the certificate is not valid yet: not{when} ({clock}: check it)"
    if code == 62 or "hostname mismatch" in msg or "ip address mismatch" in msg:
        names = ", ".join(cert.names) if cert and cert.names else (cert.subject if cert else "another name")
        return f"name mismatch: the certificate is for {names}, not {host or 'this host'}"
    if code in (18, 19) or "self-signed" in msg or "self signed" in msg:
        return "the certificate is self-signed, so nothing vouches for it" + (f" ({cert.subject})" if cert else "")
    if code in (2, 20, 21) or "local issuer" in msg or "issuer certificate" in msg:
        who = f" ({cert.issuer})" if cert else ""
        return f"the certificate is not signed by an authority this computer trusts: unknown issuer{who}"
    return exc.verify_message or str(exc)


def cert_error(cfg: TargetConfig, exc: ssl.SSLCertVerificationError, *, starttls: bool) -> TlsError:
    """The TlsError (exit 3) for a certificate the handshake refused: fetches the certificate
    unverified to say why (expired, self-signed, another host's name, unknown issuer) and what to do.
    """
    cert = fetch_certificate(cfg.host, cfg.port, starttls=starttls, timeout=min(cfg.timeout, PROBE_TIMEOUT))
    cause = describe_cert_error(exc, cert, cfg.host)
    detail = f" [{cert.describe()}]" if cert else ""
    hint = TLS_HINT
    if exc.verify_code == 62 or "mismatch" in cause:
        hint = ("Use the exact server name your provider documents (the certificate lists the names it is valid for). "
                + TLS_HINT)
    elif "authority" in cause or "self-signed" in cause:
        hint = ("If this is your own server with a private CA, point SSL_CERT_FILE to that CA's PEM file. " + TLS_HINT)
    return TlsError(f"TLS certificate of {cfg.host} not accepted: {cause}{detail}", hint=hint)


# -- probes ------------------------------------------------------------------------------------
def plain_greeting(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bytes | None:
    """The first line a port sends in plain text, or None (nothing, or not within the timeout)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            return s.recv(200).split(b"\r\n", 1)[0] or None
    except OSError:
        return None


def speaks_tls(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """True when a TLS handshake succeeds on the port (the certificate is not checked here)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                ctx.wrap_socket(raw, server_hostname=host):
            return True
    except (OSError, ValueError):
        return False


# -- connecting --------------------------------------------------------------------------------
_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "record layer failure", "PACKET_LENGTH_TOO_LONG",
            "UNEXPECTED_RECORD", "HTTP_REQUEST", "wrong version number")


def tls_details(sock: object, insecure: bool) -> tuple[str | None, str | None, bool, CertInfo | None] | None:
    """(TLS version, cipher, certificate verified, certificate) of a connected socket; None if not TLS."""
    if not isinstance(sock, ssl.SSLSocket):
        return None
    cipher = sock.cipher()
    verified = sock.getpeercert()
    cert = cert_from_dict(verified) if verified else cert_from_der(sock.getpeercert(True))
    return sock.version(), cipher[0] if cipher else None, bool(verified) and not insecure, cert


def connect_error(exc: BaseException, cfg: TargetConfig, *, starttls: bool = False) -> MigratorError:
    """The diagnosis of a failure to connect, negotiate TLS or get a greeting."""
    where = f"{cfg.host}:{cfg.port}"
    imaps_url = f"imaps://{cfg.user}@{cfg.host}" + ("" if cfg.port == 143 else f":{cfg.port}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return cert_error(cfg, exc, starttls=starttls)
    if isinstance(exc, ssl.SSLError):
        text = f"{exc.reason or ''} {exc}"
        if not starttls and (any(k in text for k in _NOT_TLS) or isinstance(exc, ssl.SSLEOFError)):
            greeting = plain_greeting(cfg.host, cfg.port, min(cfg.timeout, PROBE_TIMEOUT))
            if greeting and greeting.startswith(b"* "):
                shown = greeting.decode("utf-8", "replace")[:80]
                return TlsError(
                    f"{where} is a plain-text IMAP port, not TLS (imaps://): it answered {shown!r}",
                    hint=f"Use imap://{cfg.user}@{cfg.host}:{cfg.port} (STARTTLS on this port), "
                         f"or imaps://{cfg.user}@{cfg.host} (port 993).",
                )
        return TlsError(f"TLS handshake with {where} failed: {exc.reason or exc}",
                        hint="The server may only offer old TLS versions or ciphers, or something on the way "
                             "interferes. " + TLS_HINT)
    if isinstance(exc, socket.gaierror):
        return TargetError(f"host {cfg.host!r} not found (the name does not resolve)",
                           hint="Check the server name against your provider's IMAP settings (e.g. imap.gmail.com), "
                                "and that this computer is online (VPN, proxy, DNS).")
    if isinstance(exc, ConnectionRefusedError):
        return TargetError(f"{where} refused the connection (nothing listens on port {cfg.port})",
                           hint=f"Wrong port or host, or the server is down. {USUAL_PORTS}.")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        if not cfg.implicit_tls and speaks_tls(cfg.host, cfg.port, min(cfg.timeout, PROBE_TIMEOUT)):
            return TlsError(f"{where} expects TLS from the start, but imap:// waits for a plain-text greeting",
                            hint=f"Use {imaps_url} (TLS from the start on this port).")
        return TargetError(f"no answer from {where} (timed out)",
                           hint="A firewall, VPN or proxy may block the port, or the host/port is wrong. "
                                f"{USUAL_PORTS}.")
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
        return TargetError(f"{where} is unreachable ({exc.strerror})",
                           hint="This computer has no route to the server: check the network connection, VPN or proxy.")
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, imaplib.IMAP4.abort)):
        hint = "The server or a firewall drops this client; try again later."
        if not cfg.implicit_tls:
            hint += f" If the port expects TLS from the start, use {imaps_url}."
        return TargetError(f"{where} closed the connection before the IMAP greeting ({exc})", hint=hint)
    if isinstance(exc, imaplib.IMAP4.error):
        _code, text = parse_response(str(exc))
        return TargetError(f"{where} refused the session: {text}",
                           hint="The server is busy or refuses this client (too many connections?): try again later, "
                                "or use fewer --connections.")
    return TargetError(f"cannot connect to {where}: {exc}", hint=USUAL_PORTS + ".")


def no_starttls(cfg: TargetConfig) -> TlsError:
    """The TlsError (exit 3) for an imap:// server that offers no STARTTLS (RFC 3501 6.2.1):
    the password is never sent in clear text.
    """
    return TlsError(
        f"{cfg.host}:{cfg.port} offers no STARTTLS: refusing to send the password in clear text",
        hint=f"Use imaps://{cfg.user}@{cfg.host} (port 993, TLS from the start); "
             "only for a local test server: --insecure.",
    )


# -- login -------------------------------------------------------------------------------------
def login_hint(host: str, code: str | None, text: str = "", provider: Provider | None = None,
               oauth2: bool = False) -> str:
    """The next step after a rejected login: from the server's words, the RFC 5530 code and the provider."""
    low = text.lower()
    parts: list[str] = []
    if "application-specific password" in low or "app password" in low or "apppassword" in low:
        parts.append("The account has two-step verification: create an app password and use it instead of the "
                     "normal password" + (f" ({provider.app_password_url})." if provider and provider.app_password_url
                                          else "."))
    elif "not enabled for imap" in low or ("imap" in low and ("disabled" in low or "not enabled" in low)):
        parts.append("IMAP access is switched off for this account: enable it in the mail settings"
                     + (" (Gmail: Settings → See all settings → Forwarding and POP/IMAP → Enable IMAP)."
                        if provider is not None and provider.name == "gmail" else "."))
    elif "web browser" in low or code == "WEBALERT":
        parts.append(_CODE_HINTS["WEBALERT"].capitalize() + ".")
    elif code in _CODE_HINTS and code != "AUTHENTICATIONFAILED":
        parts.append(_CODE_HINTS[code].capitalize() + ".")
    if provider is not None:
        if provider.oauth_only and not oauth2:
            parts.append(f"{provider.title} no longer accepts passwords over IMAP (basic authentication is retired): "
                         "log in with --oauth2 and --oauth2-token-command (see docs/providers.md).")
        elif provider.settings_hint and provider.settings_hint not in " ".join(parts):
            parts.append(provider.settings_hint)
        if provider.imap_must_be_enabled and not any("IMAP access" in p for p in parts) and provider.name != "gmail":
            parts.append("Also check that IMAP access is enabled for the account.")
        if provider.name == "gmail" and not any("IMAP access" in p for p in parts):
            parts.append("If the password is right, check that IMAP is enabled in Gmail's settings.")
    if not parts:
        base = _CODE_HINTS.get(code or "", "the user name or password is wrong")
        parts.append(base[0].upper() + base[1:] + ". Some servers want the full address as the user name; providers "
                     "with two-step verification (Gmail, iCloud, Yahoo) need an app password.")
    elif code == "AUTHENTICATIONFAILED" and provider is None:
        parts.insert(0, "The user name or password is wrong.")
    return " ".join(parts)


def login_error(cfg: TargetConfig, code: str | None, text: str, provider: Provider | None,
                tried: list[str]) -> LoginError:
    """The LoginError (exit 3) for a refused LOGIN/AUTHENTICATE: the server's text and RFC 5530
    response code, the other user names tried, and a hint for the code and the provider.
    """
    others = [u for u in tried if u != cfg.user]
    also = f" (also tried the user name {', '.join(repr(u) for u in others)})" if others else ""
    why = f"{text} [{code}]" if code and code not in text else text
    return LoginError(f"{cfg.host} rejected the login as {cfg.user!r}{also}: {why}",
                      hint=login_hint(cfg.host, code, text, provider), code=code)


def oauth_error(cfg: TargetConfig, mech: str, code: str | None, text: str, detail: str,
                provider: Provider | None) -> LoginError:
    """The LoginError (exit 3) for a refused XOAUTH2/OAUTHBEARER token (RFC 7628): the server's
    reason and error detail, with what to check (token expiry, account, scope; Office 365 consent).
    """
    why = f"{text} [{code}]" if code and code not in text else text
    extra = f" (server says: {detail})" if detail else ""
    scope = provider.oauth_scope if provider and provider.oauth_scope else None
    hint = ("The access token was refused: it may have expired, be for another account than "
            f"{cfg.user!r}, or lack the scope" + (f" {scope}" if scope else " the provider needs for IMAP") + ". "
            "Run the --oauth2-token-command by hand and check its output; see docs/providers.md.")
    if code and code in _CODE_HINTS and code != "AUTHENTICATIONFAILED":
        hint = _CODE_HINTS[code].capitalize() + ". " + hint
    if provider is not None and provider.name == "office365":
        hint += (" The tenant's administrator must also allow IMAP for the mailbox and consent to the app's "
                 "IMAP.AccessAsUser.All permission.")
    return LoginError(f"{cfg.host} rejected the OAuth2 login ({mech}) as {cfg.user!r}: {why}{extra}", hint=hint,
                      code=code)
