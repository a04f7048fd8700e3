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
from migrator.domain.i18n import N_, _

if TYPE_CHECKING:
    from migrator.domain.config import TargetConfig
    from migrator.domain.providers import Provider

PROBE_TIMEOUT = 5.0
# Texts for people are translated where they are used (`_()`); these are marked only (N_).
USUAL_PORTS = N_("IMAP uses port 993 with TLS from the start (imaps://) or 143 with STARTTLS (imap://)")
TLS_HINT = N_("A wrong clock (date/time) on this computer, or a proxy/antivirus/firewall that intercepts TLS, "
              "causes this too. --insecure skips the check: use it only for a server you trust "
              "(e.g. on your own network).")

# RFC 5530 response codes on a rejected LOGIN/AUTHENTICATE: the cause and next step, as a sentence
_CODE_HINTS = {
    "AUTHENTICATIONFAILED": N_("The user name or password is wrong."),
    "AUTHORIZATIONFAILED": N_("The credentials are right, but this user may not use the mailbox (ask its "
                              "administrator)."),
    "EXPIRED": N_("The password (or the account) has expired: renew it at the provider, then try again."),
    "PRIVACYREQUIRED": N_("The server wants an encrypted connection before login: use imaps:// or imap:// "
                          "(STARTTLS)."),
    "UNAVAILABLE": N_("The provider's login service is temporarily unavailable: try again later."),
    "CONTACTADMIN": N_("The server asks you to contact its administrator."),
    "LIMIT": N_("Too many connections or logins: close other mail programs, wait a while, or use fewer "
                "--connections."),
    "WEBALERT": N_("The provider wants you to sign in once in a web browser (a security check): do that, then "
                   "retry."),
    "LOGINDISABLED": N_("The server refuses password logins on this connection: it wants TLS (imaps://) or OAuth2 "
                        "(--oauth2)."),
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
        return _("issued to {names} by {issuer}, valid {start} to {end}").format(
            names=names, issuer=self.issuer, start=_day(self.not_before), end=_day(self.not_after))

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


def cert_problem(exc: ssl.SSLCertVerificationError) -> str:
    """What the verification refused (OpenSSL X509_V_ERR code, else its message): "expired",
    "not-yet-valid", "mismatch", "self-signed", "unknown-issuer" or "other"."""
    msg = (exc.verify_message or str(exc)).lower()
    code = exc.verify_code
    if code == 10 or "expired" in msg:
        return "expired"
    if code == 9 or "not yet valid" in msg:
        return "not-yet-valid"
    if code == 62 or "hostname mismatch" in msg or "ip address mismatch" in msg:
        return "mismatch"
    if code in (18, 19) or "self-signed" in msg or "self signed" in msg:
        return "self-signed"
    if code in (2, 20, 21) or "local issuer" in msg or "issuer certificate" in msg:
        return "unknown-issuer"
    return "other"


def describe_cert_error(exc: ssl.SSLCertVerificationError, cert: CertInfo | None = None,
                        host: str = "", now: datetime | None = None) -> str:
    """Which verification failed, with the certificate's names and dates when known."""
    now = now or datetime.now(timezone.utc)
    clock = _("this computer's clock says {time} UTC").format(time=f"{now:%Y-%m-%d %H:%M}")
    problem = cert_problem(exc)
    if problem == "expired":
        if cert:
            return _("the certificate expired on {day} ({clock}: if that is wrong, fix the clock)").format(
                day=_day(cert.not_after), clock=clock)
        return _("the certificate expired ({clock}: if that is wrong, fix the clock)").format(clock=clock)
    if problem == "not-yet-valid":
        if cert:
            return _("the certificate is not valid yet: not before {day} ({clock}: check it)").format(
                day=_day(cert.not_before), clock=clock)
        return _("the certificate is not valid yet ({clock}: check it)").format(clock=clock)
    if problem == "mismatch":
        names = ", ".join(cert.names) if cert and cert.names else (cert.subject if cert else _("another name"))
        return _("name mismatch: the certificate is for {names}, not {host}").format(
            names=names, host=host or _("this host"))
    if problem == "self-signed":
        return _("the certificate is self-signed, so nothing vouches for it") + (f" ({cert.subject})" if cert else "")
    if problem == "unknown-issuer":
        return _("the certificate is not signed by an authority this computer trusts: unknown issuer") + (
            f" ({cert.issuer})" if cert else "")
    return exc.verify_message or str(exc)


def cert_error(cfg: TargetConfig, exc: ssl.SSLCertVerificationError, *, starttls: bool) -> TlsError:
    """The TlsError (exit 3) for a certificate the handshake refused: fetches the certificate
    unverified to say why (expired, self-signed, another host's name, unknown issuer) and what to do.
    """
    cert = fetch_certificate(cfg.host, cfg.port, starttls=starttls, timeout=min(cfg.timeout, PROBE_TIMEOUT))
    cause = describe_cert_error(exc, cert, cfg.host)
    detail = f" [{cert.describe()}]" if cert else ""
    hint = _(TLS_HINT)
    problem = cert_problem(exc)
    if problem == "mismatch":
        hint = _("Use the exact server name your provider documents (the certificate lists the names it is valid "
                 "for).") + " " + hint
    elif problem in ("unknown-issuer", "self-signed"):
        hint = _("If this is your own server with a private CA, point SSL_CERT_FILE to that CA's PEM file.") \
            + " " + hint
    return TlsError(_("TLS certificate of {host} not accepted: {cause}").format(host=cfg.host, cause=cause) + detail,
                    hint=hint)


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
                    _("{where} is a plain-text IMAP port, not TLS (imaps://): it answered {greeting!r}").format(
                        where=where, greeting=shown),
                    hint=_("Use {imap_url} (STARTTLS on this port), or {imaps_url} (port 993).").format(
                        imap_url=f"imap://{cfg.user}@{cfg.host}:{cfg.port}", imaps_url=f"imaps://{cfg.user}@{cfg.host}"),
                )
        return TlsError(_("TLS handshake with {where} failed: {reason}").format(where=where, reason=exc.reason or exc),
                        hint=_("The server may only offer old TLS versions or ciphers, or something on the way "
                               "interferes.") + " " + _(TLS_HINT))
    if isinstance(exc, socket.gaierror):
        return TargetError(_("host {host!r} not found (the name does not resolve)").format(host=cfg.host),
                           hint=_("Check the server name against your provider's IMAP settings (e.g. imap.gmail.com), "
                                  "and that this computer is online (VPN, proxy, DNS)."))
    if isinstance(exc, ConnectionRefusedError):
        return TargetError(_("{where} refused the connection (nothing listens on port {port})").format(
                               where=where, port=cfg.port),
                           hint=_("Wrong port or host, or the server is down.") + " " + _(USUAL_PORTS) + ".")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        if not cfg.implicit_tls and speaks_tls(cfg.host, cfg.port, min(cfg.timeout, PROBE_TIMEOUT)):
            return TlsError(_("{where} expects TLS from the start, but imap:// waits for a plain-text greeting").format(
                                where=where),
                            hint=_("Use {url} (TLS from the start on this port).").format(url=imaps_url))
        return TargetError(_("no answer from {where} (timed out)").format(where=where),
                           hint=_("A firewall, VPN or proxy may block the port, or the host/port is wrong.") + " "
                           + _(USUAL_PORTS) + ".")
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN):
        return TargetError(_("{where} is unreachable ({reason})").format(where=where, reason=exc.strerror),
                           hint=_("This computer has no route to the server: check the network connection, VPN or "
                                  "proxy."))
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, imaplib.IMAP4.abort)):
        hint = _("The server or a firewall drops this client; try again later.")
        if not cfg.implicit_tls:
            hint += " " + _("If the port expects TLS from the start, use {url}.").format(url=imaps_url)
        return TargetError(_("{where} closed the connection before the IMAP greeting ({reason})").format(
            where=where, reason=exc), hint=hint)
    if isinstance(exc, imaplib.IMAP4.error):
        _code, text = parse_response(str(exc))
        return TargetError(_("{where} refused the session: {text}").format(where=where, text=text),
                           hint=_("The server is busy or refuses this client (too many connections?): try again "
                                  "later, or use fewer --connections."))
    return TargetError(_("cannot connect to {where}: {reason}").format(where=where, reason=exc),
                       hint=_(USUAL_PORTS) + ".")


def no_starttls(cfg: TargetConfig) -> TlsError:
    """The TlsError (exit 3) for an imap:// server that offers no STARTTLS (RFC 3501 6.2.1):
    the password is never sent in clear text.
    """
    return TlsError(
        _("{where} offers no STARTTLS: refusing to send the password in clear text").format(
            where=f"{cfg.host}:{cfg.port}"),
        hint=_("Use {url} (port 993, TLS from the start); only for a local test server: --insecure.").format(
            url=f"imaps://{cfg.user}@{cfg.host}"),
    )


# -- login -------------------------------------------------------------------------------------
def login_hint(host: str, code: str | None, text: str = "", provider: Provider | None = None,
               oauth2: bool = False) -> str:
    """The next step after a rejected login: from the server's words, the RFC 5530 code and the provider."""
    low = text.lower()
    parts: list[str] = []
    imap_access = False  # a sentence about IMAP access being switched off is already there
    if "application-specific password" in low or "app password" in low or "apppassword" in low:
        if provider and provider.app_password_url:
            parts.append(_("The account has two-step verification: create an app password and use it instead of the "
                           "normal password ({url}).").format(url=provider.app_password_url))
        else:
            parts.append(_("The account has two-step verification: create an app password and use it instead of the "
                           "normal password."))
    elif "not enabled for imap" in low or ("imap" in low and ("disabled" in low or "not enabled" in low)):
        imap_access = True
        if provider is not None and provider.name == "gmail":
            parts.append(_("IMAP access is switched off for this account: enable it in the mail settings (Gmail: "
                           "Settings → See all settings → Forwarding and POP/IMAP → Enable IMAP)."))
        else:
            parts.append(_("IMAP access is switched off for this account: enable it in the mail settings."))
    elif "web browser" in low or code == "WEBALERT":
        parts.append(_(_CODE_HINTS["WEBALERT"]))
    elif code in _CODE_HINTS and code != "AUTHENTICATIONFAILED":
        parts.append(_(_CODE_HINTS[code]))
    if provider is not None:
        if provider.oauth_only and not oauth2:
            parts.append(_("{provider} no longer accepts passwords over IMAP (basic authentication is retired): "
                           "log in with --oauth2 and --oauth2-token-command (see docs/providers.md).").format(
                provider=provider.title))
        elif provider.settings_hint and _(provider.settings_hint) not in " ".join(parts):
            parts.append(_(provider.settings_hint))
        if provider.imap_must_be_enabled and not imap_access and provider.name != "gmail":
            parts.append(_("Also check that IMAP access is enabled for the account."))
        if provider.name == "gmail" and not imap_access:
            parts.append(_("If the password is right, check that IMAP is enabled in Gmail's settings."))
    if not parts:
        base = _(_CODE_HINTS.get(code or "", _CODE_HINTS["AUTHENTICATIONFAILED"]))
        parts.append(base + " " + _("Some servers want the full address as the user name; providers with two-step "
                                    "verification (Gmail, iCloud, Yahoo) need an app password."))
    elif code == "AUTHENTICATIONFAILED" and provider is None:
        parts.insert(0, _(_CODE_HINTS["AUTHENTICATIONFAILED"]))
    return " ".join(parts)


def login_error(cfg: TargetConfig, code: str | None, text: str, provider: Provider | None,
                tried: list[str]) -> LoginError:
    """The LoginError (exit 3) for a refused LOGIN/AUTHENTICATE: the server's text and RFC 5530
    response code, the other user names tried, and a hint for the code and the provider.
    """
    others = [u for u in tried if u != cfg.user]
    also = " " + _("(also tried the user name {names})").format(names=", ".join(repr(u) for u in others)) \
        if others else ""
    why = f"{text} [{code}]" if code and code not in text else text
    return LoginError(_("{host} rejected the login as {user!r}{also}: {why}").format(
                          host=cfg.host, user=cfg.user, also=also, why=why),
                      hint=login_hint(cfg.host, code, text, provider), code=code)


def oauth_error(cfg: TargetConfig, mech: str, code: str | None, text: str, detail: str,
                provider: Provider | None) -> LoginError:
    """The LoginError (exit 3) for a refused XOAUTH2/OAUTHBEARER token (RFC 7628): the server's
    reason and error detail, with what to check (token expiry, account, scope; Office 365 consent).
    """
    why = f"{text} [{code}]" if code and code not in text else text
    extra = " " + _("(server says: {detail})").format(detail=detail) if detail else ""
    scope = provider.oauth_scope if provider and provider.oauth_scope else None
    if scope:
        hint = _("The access token was refused: it may have expired, be for another account than {user!r}, or lack "
                 "the scope {scope}.").format(user=cfg.user, scope=scope)
    else:
        hint = _("The access token was refused: it may have expired, be for another account than {user!r}, or lack "
                 "the scope the provider needs for IMAP.").format(user=cfg.user)
    hint += " " + _("Run the --oauth2-token-command by hand and check its output; see docs/providers.md.")
    if code and code in _CODE_HINTS and code != "AUTHENTICATIONFAILED":
        hint = _(_CODE_HINTS[code]) + " " + hint
    if provider is not None and provider.name == "office365":
        hint += " " + _("The tenant's administrator must also allow IMAP for the mailbox and consent to the app's "
                        "IMAP.AccessAsUser.All permission.")
    return LoginError(_("{host} rejected the OAuth2 login ({mechanism}) as {user!r}: {why}").format(
                          host=cfg.host, mechanism=mech, user=cfg.user, why=why) + extra, hint=hint, code=code)
