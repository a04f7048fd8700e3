"""One authenticated IMAP connection: connect, TLS (implicit or STARTTLS), login, and their diagnoses.

The one place that opens IMAP connections, for the target (imap/client.py `ImapTarget`) and for a
server source (imap/source.py `ImapReader`) alike: the same TLS context (the system's trust store,
SSL_CERT_FILE / SSL_CERT_DIR; nothing checked only with --insecure / --source-insecure), the same
login rules and the same diagnosed errors (exit 3). It has no mailbox command of its own.
"""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Callable
from typing import Self

import imapclient
from imapclient import exceptions as imap_exc

from migrator.domain import providers
from migrator.domain.config import TargetConfig
from migrator.domain.errors import ConnectionLost, MigratorError, TargetError
from migrator.domain.i18n import _
from migrator.imap import auth, diagnose
from migrator.imap.trace import ProtocolTrace


class ImapConnection:
    """One authenticated connection (`connect()` or use as a context manager); subclasses add the
    commands they may send."""

    def __init__(self, cfg: TargetConfig, on_plaintext: Callable[[str], None] | None = None) -> None:
        """`on_plaintext(line)` is called before a password or token is sent without TLS (only
        ever with --insecure: imap:// to a server that offers no STARTTLS)."""
        self.cfg = cfg
        self.on_plaintext = on_plaintext
        self.plaintext = False  # logged in over a connection without TLS
        self._client: imapclient.IMAPClient | None = None
        self.capabilities: frozenset[str] = frozenset()
        self.delimiter = "/"
        self.tls_version: str | None = None
        self.tls_cipher: str | None = None
        self.peer_cert: dict[str, str] | None = None  # subject, issuer, names, not_before, not_after
        self.cert_verified = False
        self.greeting = ""
        self.login_method = ""  # "LOGIN (password)", "AUTHENTICATE XOAUTH2 (OAuth2 token)"
        self.login_user = cfg.user  # the user name the server accepted
        self.login_note = ""  # e.g. which user-name form iCloud accepted
        self.trace: ProtocolTrace | None = None

    GREETING_WAIT = 15.0  # seconds to wait for TCP connect + TLS handshake + greeting

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context: the system's CA store (or SSL_CERT_FILE / SSL_CERT_DIR), host name checked;
        with --insecure (cfg.insecure) neither the certificate nor the name is checked.
        """
        ctx = ssl.create_default_context()  # honours SSL_CERT_FILE / SSL_CERT_DIR
        if self.cfg.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def connect(self) -> Self:
        """Connect, negotiate TLS, log in; every expected failure is a diagnosed TargetError (exit 3)."""
        cfg = self.cfg
        if cfg.trace and self.trace is None:
            self.trace = ProtocolTrace.open(cfg.trace)
            self.trace.add_secret(cfg.password.get_secret_value())
        token = auth.access_token(cfg) if cfg.oauth2 else None
        if self.trace:
            self.trace.add_secret(token)
        if self.trace:
            self.trace.note(f"connecting to {cfg.host}:{cfg.port} ({'TLS' if cfg.implicit_tls else 'STARTTLS'})")
        timeout = imapclient.SocketTimeout(connect=min(cfg.timeout, self.GREETING_WAIT), read=cfg.timeout)
        try:
            client = imapclient.IMAPClient(cfg.host, port=cfg.port, ssl=cfg.implicit_tls,
                                           ssl_context=self.ssl_context(), timeout=timeout)
        except (OSError, imaplib.IMAP4.error) as exc:  # ssl errors and timeouts are OSErrors
            raise self._traced(diagnose.connect_error(exc, cfg)) from exc
        client.normalise_times = False  # keep INTERNALDATE's zone: aware datetimes
        self._client = client
        self.greeting = (client.welcome or b"").decode("utf-8", "replace")
        if self.trace:
            self.trace.note(f"greeting: {self.greeting}")
            self.trace.attach(client._imap)  # noqa: SLF001 - the imaplib object carries the wire
        try:
            if not cfg.implicit_tls:
                self._starttls(client)
            self._tls_info(client)
            self._login(client, token)
            client._cached_capabilities = None  # noqa: SLF001 - pre-login list: ask again after login
            self.capabilities = frozenset(c.decode("ascii", "replace").upper() for c in client.capabilities())
        except MigratorError as exc:
            self._drop()
            raise self._traced(exc) from None
        except (OSError, imaplib.IMAP4.error) as exc:
            self._drop()
            raise self._traced(TargetError(
                _("{where} dropped the connection during login: {reason}").format(
                    where=f"{cfg.host}:{cfg.port}", reason=exc),
                hint=_("Try again later: the server may be limiting logins."))) from exc
        self.delimiter = self._find_delimiter()
        return self

    def _traced(self, exc: MigratorError) -> MigratorError:
        """Note a failure to connect in the trace (and close it: this connection is over)."""
        if self.trace:
            self.trace.note(f"error: {exc.message} | hint: {exc.hint}")
            self.trace.close()
            self.trace = None
        return exc

    def _drop(self) -> None:
        """Close a half-open connection after a failed TLS negotiation or login (keeps the findings)."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.shutdown()
            except Exception:  # noqa: BLE001 - already gone
                pass

    def _tls_info(self, client: imapclient.IMAPClient) -> None:
        tls = diagnose.tls_details(client.socket(), self.cfg.insecure)
        if tls is not None:
            self.tls_version, self.tls_cipher, self.cert_verified, cert = tls
            self.peer_cert = cert.as_dict() if cert else None
            if self.trace:
                described = cert.describe() if cert else "no certificate"
                self.trace.note(f"{self.tls_version} {self.tls_cipher}; {described}")

    def _starttls(self, client: imapclient.IMAPClient) -> None:
        if b"STARTTLS" not in {c.upper() for c in client.capabilities()}:
            if self.cfg.insecure:
                self.plaintext = True
                if self.on_plaintext is not None:
                    where = f"{self.cfg.host}:{self.cfg.port}"
                    self.on_plaintext(
                        _("{where} offers no STARTTLS: the OAuth2 token and the mail go over the network WITHOUT "
                          "encryption (TLS: none; allowed by --insecure)").format(where=where) if self.cfg.oauth2
                        else _("{where} offers no STARTTLS: the password and the mail go over the network WITHOUT "
                               "encryption (TLS: none; allowed by --insecure)").format(where=where))
                return
            raise diagnose.no_starttls(self.cfg)
        try:
            client.starttls(self.ssl_context())
        except ssl.SSLError as exc:
            raise diagnose.connect_error(exc, self.cfg, starttls=True) from exc
        except (OSError, imap_exc.IMAPClientError) as exc:
            raise TargetError(_("STARTTLS with {where} failed: {reason}").format(
                                  where=f"{self.cfg.host}:{self.cfg.port}", reason=exc),
                              hint=_("Try {url} (port 993).").format(url=f"imaps://{self.cfg.user}@{self.cfg.host}")
                              ) from exc

    def _login(self, client: imapclient.IMAPClient, token: str | None) -> None:
        cfg = self.cfg
        caps = {c.decode("ascii", "replace").upper() for c in client.capabilities()}
        if token is not None:
            self._login_oauth2(client, caps, token)
            return
        provider = providers.get(cfg.provider) if cfg.provider else None
        if "LOGINDISABLED" in caps:
            raise diagnose.login_error(cfg, "LOGINDISABLED", "password login refused here", provider, [cfg.user])
        tried = [cfg.user] + (provider.user_alternatives(cfg.user) if provider else [])
        password, failure = cfg.password.get_secret_value(), (None, "")  # type: tuple[str, tuple[str | None, str]]
        for i, user in enumerate(tried):
            plain = not (user + password).isascii()  # LOGIN goes as ASCII; SASL PLAIN carries UTF-8 (RFC 4616)
            try:
                client.plain_login(user, password) if plain else client.login(user, password)
            except imap_exc.LoginError as exc:
                # imapclient wraps everything LOGIN/AUTHENTICATE raise in LoginError, a connection
                # that died mid-command too ("socket error: EOF"): that is a network fault, retried
                # as one (connect() reports it), never a refused password that stops the run
                if isinstance(exc.__context__, (imaplib.IMAP4.abort, OSError)):
                    raise exc.__context__ from None
                code, text = diagnose.parse_response(str(exc))
                failure = failure if i else (code, text)
                if code in (None, "AUTHENTICATIONFAILED"):
                    continue
                tried = tried[: i + 1]
                break
            self.login_user, self.login_method = user, f"{'AUTHENTICATE PLAIN' if plain else 'LOGIN'} (password)"
            if user != cfg.user:
                self.login_note = (f"{provider.title if provider else cfg.host} accepted the user name {user!r}, "
                                   f"not {cfg.user!r}: use --target with {user!r}")
            return
        raise diagnose.login_error(cfg, failure[0], failure[1], provider, tried)

    def _login_oauth2(self, client: imapclient.IMAPClient, caps: set[str], token: str) -> None:
        cfg = self.cfg
        mech = auth.choose_mechanism(caps, cfg.host)
        data = auth.payload(mech, cfg.user, token, cfg.host, cfg.port)
        if self.trace:
            for form in auth.redactions(data):
                self.trace.add_secret(form)
        responder = auth.SaslResponder(data)
        try:  # not imapclient's oauth2_login: it answers the server's error challenge with the payload again
            client._imap.authenticate(mech, responder)  # noqa: SLF001
        except imaplib.IMAP4.abort:
            raise  # the connection dropped: connect() reports it
        except imaplib.IMAP4.error as exc:
            code, text = diagnose.parse_response(str(exc))
            provider = providers.get(cfg.provider) if cfg.provider else None
            raise diagnose.oauth_error(cfg, mech, code, text, responder.error_detail(), provider) from exc
        via = " from --oauth2-token-command" if cfg.oauth2_token_command else ""
        self.login_method = f"AUTHENTICATE {mech} (OAuth2 access token{via})"

    def server_id(self) -> dict[str, str]:
        """The server's ID response (RFC 2971): name, version, vendor... ({} when not offered)."""
        try:
            raw = self.client.id_({"name": "migrate"}) if self.has("ID") else None
        except (imap_exc.IMAPClientError, OSError):
            raw = None
        pairs = (raw.items() if isinstance(raw, dict) else raw) or ()
        return {bytes(k).decode("utf-8", "replace").lower(): bytes(v).decode("utf-8", "replace") for k, v in pairs if v}

    def _find_delimiter(self) -> str:
        try:
            for _flags, delim, _name in self.client.list_folders("", "INBOX"):
                if delim:
                    return delim.decode() if isinstance(delim, bytes) else str(delim)
        except imap_exc.IMAPClientError:
            pass
        return "/"

    @property
    def client(self) -> imapclient.IMAPClient:
        """The connected imapclient.IMAPClient; ConnectionLost when the connection was closed."""
        if self._client is None:
            raise ConnectionLost(_("not connected"))
        return self._client

    def close(self) -> None:
        """LOGOUT, or drop the socket when that fails; never raises. Closes the trace too."""
        if self._client is None:
            return
        try:
            self._client.logout()
        except Exception:  # noqa: BLE001 - connection already gone: nothing to clean up
            try:
                self._client.shutdown()
            except Exception:  # noqa: BLE001
                pass
        self._client = None
        if self.trace is not None:
            self.trace.close()
            self.trace = None

    def __enter__(self) -> Self:
        return self.connect() if self._client is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The target URL without secrets (imaps://user@host:993): flows.server.Server.url."""
        return self.cfg.url

    def has(self, capability: str) -> bool:
        """Whether the server announced `capability` after login (case-insensitive; RFC 3501 6.1.1)."""
        return capability.upper() in self.capabilities
