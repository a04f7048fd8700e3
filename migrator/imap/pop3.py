"""A POP3 maildrop, read-only: the protocol side of `pop3s://USER@HOST` as a SOURCE (RFC 1939).

`Pop3Reader` sends only CAPA, STLS (RFC 2595), USER/PASS, STAT, LIST, UIDL, TOP and RETR, and
QUIT at the end of every session, also after an error (`session()` closes in a `finally`). It has
no method that could send DELE or RSET: nothing it does marks a message for deletion, so the QUIT
(the UPDATE state, RFC 1939 section 6) removes nothing. (Dovecot may set \\Seen on RETR unless
`pop3_no_flag_updates = yes`; other servers keep no flags for POP3 at all.)

TLS is the target's: the same context (the system's trust store, SSL_CERT_FILE / SSL_CERT_DIR; not
checked only with --source-insecure) and the same certificate diagnosis (exit 3).
"""

from __future__ import annotations

import poplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from migrator.domain.config import TargetConfig
from migrator.domain.errors import ConnectionLost, LoginError, MigratorError, TargetError, TlsError
from migrator.domain.i18n import _
from migrator.imap import diagnose
from migrator.imap.source import for_source

MAX_LINE = 8 * 1024 * 1024  # bytes: poplib's own limit (2048) fails real mail with long lines


def _poplib_classes() -> tuple[type[Any], type[Any]]:
    """POP3 and POP3_SSL whose line reader accepts lines up to MAX_LINE bytes (not poplib's 2048)."""

    class _LongLines:
        def _getline(self) -> tuple[bytes, int]:
            line = self.file.readline(MAX_LINE + 1)  # type: ignore[attr-defined]
            if len(line) > MAX_LINE:
                raise poplib.error_proto("line too long")
            if not line:
                raise poplib.error_proto("-ERR EOF")
            octets = len(line)
            if line[-2:] == b"\r\n":
                return line[:-2], octets
            if line[:1] == b"\r":
                return line[1:-1], octets
            return line[:-1], octets

    class Plain(_LongLines, poplib.POP3):
        pass

    class Tls(_LongLines, poplib.POP3_SSL):
        pass

    return Plain, Tls


def ssl_context(cfg: TargetConfig) -> ssl.SSLContext:
    """The target's TLS rule for the source too: the system's CA store (or SSL_CERT_FILE /
    SSL_CERT_DIR), host name checked; nothing checked only with --source-insecure (cfg.insecure)."""
    ctx = ssl.create_default_context()
    if cfg.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _connect_error(exc: BaseException, cfg: TargetConfig, *, stls: bool) -> MigratorError:
    """The diagnosis of a failure to reach the POP3 server or negotiate TLS (exit 3); a refused
    certificate gets the target's diagnosis (imap/diagnose.py cert_error)."""
    where = f"{cfg.host}:{cfg.port}"
    ports = _("Usual ports: 995 for pop3s://, 110 for pop3:// with STLS.")
    if isinstance(exc, ssl.SSLCertVerificationError):
        err: MigratorError = diagnose.cert_error(cfg, exc, starttls=False) if not stls else TlsError(
            _("TLS certificate of {host} not accepted: {cause}").format(
                host=cfg.host, cause=diagnose.describe_cert_error(exc, None, cfg.host)), hint=diagnose.TLS_HINT)
        return err
    if isinstance(exc, ssl.SSLError):
        return TlsError(_("TLS handshake with {where} failed: {reason}").format(where=where, reason=exc.reason or exc),
                        hint=ports + " " + diagnose.TLS_HINT)
    if isinstance(exc, socket.gaierror):
        return TargetError(_("host {host} not found (the name does not resolve)").format(host=repr(cfg.host)),
                           hint=_("Check the server name against your provider's POP settings."))
    if isinstance(exc, ConnectionRefusedError):
        return TargetError(_("{where} refused the connection (nothing listens on port {port})").format(
            where=where, port=cfg.port), hint=_("Wrong port or host, or the server is down.") + " " + ports)
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return TargetError(_("no answer from {where} (timed out)").format(where=where),
                           hint=_("A firewall may block the port, or the host or port is wrong.") + " " + ports)
    return TargetError(_("cannot talk POP3 with {where}: {reason}").format(where=where, reason=exc), hint=ports)


class Pop3Reader:
    """One POP3 session, read-only (see the module docstring): `with Pop3Reader(cfg).session() as pop:`
    logs in and always ends with QUIT."""

    def __init__(self, cfg: TargetConfig, implicit_tls: bool) -> None:
        self._cfg = cfg
        self._implicit_tls = implicit_tls
        self._pop: Any = None
        self.capabilities: dict[str, list[str]] = {}
        self.greeting = ""

    @contextmanager
    def session(self) -> Iterator[Pop3Reader]:
        """Connect, TLS (implicit or STLS), CAPA, USER/PASS; QUIT when the block ends, however it ends.
        TargetError / TlsError / LoginError naming the source (exit 3) when that fails."""
        self._open()
        try:
            yield self
        finally:
            self._quit()

    def _open(self) -> None:
        cfg = self._cfg
        plain_cls, tls_cls = _poplib_classes()
        try:
            if self._implicit_tls:
                pop = tls_cls(cfg.host, cfg.port, timeout=cfg.timeout, context=ssl_context(cfg))
            else:
                pop = plain_cls(cfg.host, cfg.port, timeout=cfg.timeout)
        except (OSError, poplib.error_proto) as exc:
            raise for_source(_connect_error(exc, cfg, stls=False)) from exc
        self._pop = pop
        try:
            self.greeting = pop.getwelcome().decode("utf-8", "replace")
            self.capabilities = self._capa()
            if not self._implicit_tls:
                self._stls()
            self._login()
        except BaseException:
            self._quit()
            raise

    def _capa(self) -> dict[str, list[str]]:
        try:
            caps = self._pop.capa()
        except (poplib.error_proto, OSError):
            return {}  # CAPA is optional (RFC 2449): a server without it still serves USER/PASS/LIST/RETR
        return {k.upper(): v for k, v in caps.items()}

    def _stls(self) -> None:
        cfg = self._cfg
        if "STLS" not in self.capabilities:
            if cfg.insecure:
                return
            raise for_source(TlsError(
                _("{host}:{port} offers no STLS: refusing to send the password in clear text").format(
                    host=cfg.host, port=cfg.port),
                hint=_("Use {url} (port 995, TLS from the start); --source-insecure allows plain text (only on a "
                       "network you trust).").format(url=f"pop3s://{cfg.user}@{cfg.host}")))
        try:
            self._pop.stls(ssl_context(cfg))
        except (OSError, poplib.error_proto) as exc:
            raise for_source(_connect_error(exc, cfg, stls=True)) from exc
        self.capabilities = self._capa() or self.capabilities

    def _login(self) -> None:
        cfg = self._cfg
        try:
            self._pop.user(cfg.user)
            self._pop.pass_(cfg.password.get_secret_value())
        except poplib.error_proto as exc:
            text = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            code = "AUTHENTICATIONFAILED" if "AUTH" in text.upper() or "PASS" in text.upper() else None
            if "[IN-USE]" in text.upper():
                code = "INUSE"
            raise for_source(LoginError(_("{host} rejected the POP3 login as {user}: {reason}").format(
                host=cfg.host, user=repr(cfg.user), reason=text), code=code)) from exc
        except OSError as exc:
            raise ConnectionLost(_("source: {where} dropped the connection during login: {reason}").format(
                where=f"{cfg.host}:{cfg.port}", reason=exc)) from exc

    def _quit(self) -> None:
        pop, self._pop = self._pop, None
        if pop is None:
            return
        try:
            pop.quit()
        except (OSError, poplib.error_proto):
            try:
                pop.close()
            except OSError:
                pass

    def _call(self, fn: str, *args: object) -> Any:
        if self._pop is None:
            raise ConnectionLost(_("source: POP3 session closed"))
        try:
            return getattr(self._pop, fn)(*args)
        except (OSError, EOFError) as exc:
            raise ConnectionLost(_("source: POP3 connection lost: {reason}").format(reason=exc)) from exc

    def stat(self) -> tuple[int, int]:
        """STAT: (messages, octets) of the maildrop."""
        count, size = self._call("stat")
        return int(count), int(size)

    def sizes(self) -> dict[int, int]:
        """LIST: {message number: size in octets} (the size of the message as RETR sends it, CRLF lines)."""
        _resp, lines, _octets = self._call("list")
        out: dict[int, int] = {}
        for line in lines:
            parts = line.split()
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                out[int(parts[0])] = int(parts[1])
        return out

    def uidl(self) -> dict[int, str] | None:
        """UIDL: {message number: unique id} (RFC 1939 section 7; optional), None when the server
        has no UIDL."""
        if self.capabilities and "UIDL" not in self.capabilities:
            return None
        try:
            _resp, lines, _octets = self._call("uidl")
        except poplib.error_proto:
            return None
        out: dict[int, str] = {}
        for line in lines:
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0].isdigit():
                out[int(parts[0])] = parts[1].strip().decode("ascii", "replace")
        return out

    def top(self, number: int) -> bytes | None:
        """TOP n 0: the header block of message `number` (CRLF lines, ending with the empty line), or
        None when the server has no TOP (optional in RFC 1939)."""
        try:
            _resp, lines, _octets = self._call("top", number, 0)
        except poplib.error_proto:
            return None
        return b"\r\n".join(lines) + b"\r\n"

    def retr(self, number: int) -> bytes:
        """RETR n: the whole message (byte-stuffing undone, CRLF lines). poplib.error_proto when the
        server refuses it (the message is then reported, not the run)."""
        _resp, lines, _octets = self._call("retr", number)
        return b"\r\n".join(lines) + b"\r\n"
