"""The IMAP target: the only module that imports imapclient.

Everything the flows need from the server: connect + TLS + login with diagnoses, folder list and
special-use roles, CREATE (only when absent), STATUS, quota, pipelined APPEND / MULTIAPPEND with
APPENDUID parsing (imapclient does not parse it), and read-only lookups (EXAMINE + BODY.PEEK)
for resume and verify. It never sends STORE, EXPUNGE, DELETE, MOVE or RENAME: the target only grows.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone

import imapclient
from imapclient import exceptions as imap_exc

from migrator.domain import providers
from migrator.domain.config import TargetConfig
from migrator.domain.errors import ConnectionLost, FolderRefused, MigratorError, TargetError
from migrator.domain.headers import message_id as parse_message_id
from migrator.imap import auth, diagnose
from migrator.imap.append import PipelinedAppend, server_words, translated
from migrator.imap.trace import ProtocolTrace
from migrator.imap.wire import (  # noqa: F401 - re-exported: the flows' names for the wire records
    AppendItem,
    AppendOutcome,
    CrashPoint,
    FolderStatus,
    PendingAppend,
    Quota,
    ServerMessage,
    quote,
)

__all__ = ["ImapTarget", "AppendItem", "AppendOutcome", "FolderStatus", "PendingAppend", "Quota",
           "ServerMessage", "server_words", "SPECIAL_USE"]

SPECIAL_USE = {  # RFC 6154 attribute (lower case) -> role
    "\\sent": "sent",
    "\\drafts": "drafts",
    "\\trash": "trash",
    "\\junk": "junk",
    "\\archive": "archive",
}

class ImapTarget(PipelinedAppend):
    """One authenticated connection. Use as a context manager."""

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
        self._tagn = 0
        self._known: set[str] | None = None
        self._crash = CrashPoint.from_env()
        self._stash: dict[bytes, tuple[bytes, bytes, bytes]] = {}
        self._flag_lists: dict[frozenset[str], bytes] = {}  # a handful of distinct flag sets per run

    # -- connection -------------------------------------------------------------------
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

    def connect(self) -> ImapTarget:
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
            raise self._traced(TargetError(f"{cfg.host}:{cfg.port} dropped the connection during login: {exc}",
                                           hint="Try again later: the server may be limiting logins.")) from exc
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
                    self.on_plaintext(f"{self.cfg.host}:{self.cfg.port} offers no STARTTLS: the "
                                      f"{'OAuth2 token' if self.cfg.oauth2 else 'password'} and the mail go over "
                                      "the network WITHOUT encryption (TLS: none; allowed by --insecure)")
                return
            raise diagnose.no_starttls(self.cfg)
        try:
            client.starttls(self.ssl_context())
        except ssl.SSLError as exc:
            raise diagnose.connect_error(exc, self.cfg, starttls=True) from exc
        except (OSError, imap_exc.IMAPClientError) as exc:
            raise TargetError(f"STARTTLS with {self.cfg.host}:{self.cfg.port} failed: {exc}",
                              hint=f"Try imaps://{self.cfg.user}@{self.cfg.host} (port 993).") from exc

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
            raise ConnectionLost("not connected")
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

    def __enter__(self) -> ImapTarget:
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

    # -- folders ----------------------------------------------------------------------
    def folders(self) -> dict[str, frozenset[str]]:
        """{name: LIST attributes} for every folder."""
        out: dict[str, frozenset[str]] = {}
        with translated():
            for flags, _delim, name in self.client.list_folders():
                out[str(name)] = frozenset(f.decode() if isinstance(f, bytes) else str(f) for f in flags)
        return out

    def known_folders(self) -> set[str]:
        """Folder names on the server (listed once per connection, kept up to date by create_folder)."""
        if self._known is None:
            self._known = set(self.folders())
        return self._known

    def special_use(self, folders: dict[str, frozenset[str]] | None = None) -> dict[str, str]:
        """{role: folder name} from RFC 6154 attributes."""
        out: dict[str, str] = {}
        for name, attrs in (folders if folders is not None else self.folders()).items():
            for attr in attrs:
                role = SPECIAL_USE.get(attr.lower())
                if role and role not in out:
                    out[role] = name
        return out

    def create_folder(self, name: str) -> None:
        """CREATE + SUBSCRIBE; the caller checked that the folder is absent."""
        with translated():
            try:
                self.client.create_folder(name)
            except imap_exc.IMAPClientAbortError:
                raise
            except imap_exc.IMAPClientError as exc:
                if "ALREADYEXISTS" not in str(exc).upper():
                    words = server_words(str(exc))
                    raise FolderRefused(f"the server refuses to create folder {name!r}: {words}",
                                        server_words=words) from exc
        self.known_folders().add(name)
        try:
            self.client.subscribe_folder(name)
        except imap_exc.IMAPClientError:
            pass

    def status(self, name: str) -> FolderStatus:
        """STATUS (UIDVALIDITY UIDNEXT MESSAGES), RFC 3501 6.3.10; ConnectionLost on a drop."""
        with translated():
            st = self.client.folder_status(name, [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES"])
        return FolderStatus(int(st[b"UIDVALIDITY"]), int(st[b"UIDNEXT"]), int(st[b"MESSAGES"]))

    def quota(self, name: str = "INBOX") -> Quota | None:
        """STORAGE of the quota root of `name` (RFC 9208; reported in KiB), or None when unlimited/unknown.

        Parsed here: imapclient's get_quota_root fails on a QUOTAROOT with no root (no limit set).
        """
        if not self.has("QUOTA"):
            return None
        imap = self.client._imap  # noqa: SLF001 - GETQUOTAROOT parsed by hand, see docstring
        try:
            with translated():
                typ, _data = imap._simple_command("GETQUOTAROOT", quote(name).decode("ascii"))  # noqa: SLF001
                _typ, quotas = imap._untagged_response(typ, [None], "QUOTA")  # noqa: SLF001
        except imaplib.IMAP4.error:  # NO/BAD: no quota to report
            return None
        if typ != "OK":
            return None
        for item in quotas or []:
            if not isinstance(item, bytes):
                continue
            m = re.match(rb'^\s*("(?:[^"\\]|\\.)*"|\S+)\s*\((.*)\)', item)
            if not m:
                continue
            root = m.group(1).strip(b'"').decode("utf-8", "replace")
            res = re.search(rb"STORAGE\s+(\d+)\s+(\d+)", m.group(2), re.I)
            if res:
                return Quota(root=root, used=int(res.group(1)) * 1024, limit=int(res.group(2)) * 1024)
        return None

    def append_limit(self) -> int | None:
        """The APPENDLIMIT=n capability in bytes (RFC 7889), None when absent or garbled."""
        for cap in self.capabilities:
            if cap.startswith("APPENDLIMIT="):
                try:
                    return int(cap.split("=", 1)[1])
                except ValueError:
                    return None
        return None

    # -- read-only lookups (EXAMINE, BODY.PEEK) ---------------------------------------------
    def examine(self, folder: str) -> FolderStatus:
        """EXAMINE (read-only SELECT, RFC 3501 6.3.2): UIDVALIDITY, UIDNEXT, EXISTS; ConnectionLost on a drop."""
        with translated():
            info = self.client.select_folder(folder, readonly=True)
        return FolderStatus(int(info[b"UIDVALIDITY"]), int(info.get(b"UIDNEXT", 0)), int(info[b"EXISTS"]))

    def index(self, folder: str, min_uid: int = 1, chunk: int = 2000) -> Iterator[ServerMessage]:
        """UID, size and Message-ID of every message (UID >= min_uid), in chunks (memory bounded)."""
        st = self.examine(folder)
        if st.messages == 0:
            return
        uids = sorted(u for u in self._search_uids(min_uid) if u >= min_uid)
        field = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
        for i in range(0, len(uids), chunk):
            part = uids[i : i + chunk]
            with translated():
                data = self.client.fetch(part, [b"RFC822.SIZE", b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            for uid in part:
                item = data.get(uid)
                if item is None:
                    continue
                hdr = item.get(field) or b""
                yield ServerMessage(uid=uid, size=int(item.get(b"RFC822.SIZE", 0)), message_id=parse_message_id(hdr))

    def _search_uids(self, min_uid: int) -> list[int]:
        with translated():
            return list(self.client.search(["UID", f"{max(1, min_uid)}:*"]))

    def fetch_messages(
        self, uids: Sequence[int], *, body: bool = True, chunk: int = 200
    ) -> Iterator[tuple[int, bytes, frozenset[str], datetime | None, int]]:
        """(uid, raw, flags, internaldate, size) for UIDs of the folder last examined."""
        items = [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"] + ([b"BODY.PEEK[]"] if body else [])
        for i in range(0, len(uids), chunk):
            part = list(uids[i : i + chunk])
            with translated():
                data = self.client.fetch(part, items)
            for uid in part:
                item = data.get(uid)
                if item is None:
                    continue
                flags = frozenset(f.decode() if isinstance(f, bytes) else str(f) for f in item.get(b"FLAGS", ()))
                date = item.get(b"INTERNALDATE")
                if isinstance(date, datetime) and date.tzinfo is None:
                    date = date.replace(tzinfo=timezone.utc)
                yield uid, item.get(b"BODY[]", b""), flags, date, int(item.get(b"RFC822.SIZE", 0))

    def fetch_binary(self, uids: Sequence[int]) -> dict[int, bytes]:
        """{uid: BINARY.PEEK[] bytes} (RFC 3516) for UIDs of the folder last examined ({} without
        BINARY). Through imaplib, whose literal reader takes `~{n}` (imapclient's parser does not).
        BINARY[] decodes encoded parts; a UID the server cannot decode ([PARSE]) is left out."""
        out: dict[int, bytes] = {}
        for uid in uids if self.has("BINARY") else ():  # one by one: a [PARSE] NO fails a whole FETCH
            try:
                with translated():
                    typ, data = self.client._imap.uid("FETCH", str(uid), "(BINARY.PEEK[])")  # noqa: SLF001
            except imaplib.IMAP4.error:  # NO [PARSE]: this one is left out
                continue
            for part in data if typ == "OK" else ():
                if isinstance(part, tuple) and re.search(rb"BINARY\[\] ~?\{\d+\}$", part[0]):  # one UID asked
                    out[uid] = part[1]
        return out

    def noop(self) -> None:
        """NOOP (RFC 3501 6.1.2); ConnectionLost when the connection is gone."""
        with translated():
            self.client.noop()
