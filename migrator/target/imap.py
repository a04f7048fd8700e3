"""The IMAP target: the only module that imports imapclient.

Everything the flows need from the server: connect + TLS + login with diagnoses, folder list and
special-use roles, CREATE (only when absent), STATUS, quota, pipelined APPEND / MULTIAPPEND with
APPENDUID parsing (imapclient does not parse it), and read-only lookups (EXAMINE + BODY.PEEK)
for resume and verify. It never sends STORE, EXPUNGE, DELETE, MOVE or RENAME: the target only grows.
"""

from __future__ import annotations

import imaplib
import os
import re
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import imapclient
from imapclient import exceptions as imap_exc

from migrator import utf7
from migrator.config import TargetConfig
from migrator.identity import to_crlf
from migrator.errors import ConnectionLost, FolderRefused, LoginError, TargetError, TlsError
from migrator.sources.common import message_id as parse_message_id
from migrator.target.diagnose import describe_cert_error, login_hint

SPECIAL_USE = {  # RFC 6154 attribute (lower case) -> role
    "\\sent": "sent",
    "\\drafts": "drafts",
    "\\trash": "trash",
    "\\junk": "junk",
    "\\archive": "archive",
}
_TAGGED = re.compile(rb"^(?P<tag>\S+) (?P<status>OK|NO|BAD)(?: \[(?P<code>[^\]]*)\])? ?(?P<text>.*)$", re.I)
_KEYWORD = re.compile(r"^[!#$%&'+\-.0-9A-Z^_`a-z|~]+$")


@dataclass(frozen=True)
class AppendItem:
    raw: bytes
    flags: frozenset[str]
    date: datetime


@dataclass(frozen=True)
class AppendOutcome:
    ok: bool
    uidvalidity: int | None = None
    uid: int | None = None
    code: str | None = None  # RFC 5530 response code on failure (OVERQUOTA, TOOBIG, LIMIT...)
    text: str = ""


@dataclass(frozen=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int
    messages: int


@dataclass(frozen=True)
class ServerMessage:
    uid: int
    size: int
    message_id: str | None


@dataclass(frozen=True)
class Quota:
    root: str
    used: int  # bytes
    limit: int  # bytes


def quote(name: str) -> bytes:
    enc = utf7.encode(name)
    return b'"' + enc.replace("\\", "\\\\").replace('"', '\\"').encode("ascii") + b'"'


def internaldate(dt: datetime) -> bytes:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.strftime('"%d-%b-%Y %H:%M:%S %z"').encode("ascii")


def flag_list(flags: frozenset[str]) -> bytes:
    good = sorted(f for f in flags if f.startswith("\\") or _KEYWORD.match(f))
    good = [f for f in good if f.lower() != "\\deleted" and f.lower() != "\\recent"]
    return b"(" + " ".join(good).encode("ascii") + b")"


def parse_uid_set(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            out.extend(range(min(a, b), max(a, b) + 1))
        elif part:
            out.append(int(part))
    return out


class CrashPoint:
    """Test hook for crash-after-every-step tests (isync's discipline): with
    MIGRATE_TEST_CRASH=sent:K the process dies right after sending its K-th APPEND command,
    with answered:K right after the K-th answer arrives (before the journal records it)."""

    def __init__(self, where: str, k: int) -> None:
        self.where = where
        self.k = k
        self.count = {"sent": 0, "answered": 0}

    @classmethod
    def from_env(cls) -> CrashPoint | None:
        spec = os.environ.get("MIGRATE_TEST_CRASH", "")
        if ":" not in spec:
            return None
        where, _, k = spec.partition(":")
        return cls(where, int(k)) if where in ("sent", "answered") and k.isdigit() else None

    def step(self, where: str) -> None:
        self.count[where] += 1
        if where == self.where and self.count[where] == self.k:
            os._exit(137)


class ImapTarget:
    """One authenticated connection. Use as a context manager."""

    def __init__(self, cfg: TargetConfig) -> None:
        self.cfg = cfg
        self._client: imapclient.IMAPClient | None = None
        self.capabilities: frozenset[str] = frozenset()
        self.delimiter = "/"
        self.tls_version: str | None = None
        self.peer_cert: dict | None = None
        self.greeting = ""
        self._tagn = 0
        self._known: set[str] | None = None
        self._crash = CrashPoint.from_env()

    # -- connection -------------------------------------------------------------------
    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()  # honours SSL_CERT_FILE / SSL_CERT_DIR
        if self.cfg.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def connect(self) -> ImapTarget:
        cfg = self.cfg
        where = f"{cfg.host}:{cfg.port}"
        try:
            client = imapclient.IMAPClient(
                cfg.host, port=cfg.port, ssl=cfg.implicit_tls,
                ssl_context=self.ssl_context(), timeout=cfg.timeout,
            )
        except ssl.SSLCertVerificationError as exc:
            raise TlsError(f"TLS certificate of {cfg.host} not accepted: {describe_cert_error(exc)}") from exc
        except ssl.SSLError as exc:
            if "WRONG_VERSION_NUMBER" in str(exc) or "record layer" in str(exc):
                raise TlsError(
                    f"{where} does not speak TLS directly (it looks like a plaintext/STARTTLS port)",
                    hint=f"Use imap://{cfg.user}@{cfg.host}:{cfg.port} (STARTTLS), or imaps:// with port 993.",
                ) from exc
            raise TlsError(f"TLS handshake with {where} failed: {exc.reason or exc}") from exc
        except socket.gaierror as exc:
            raise TargetError(
                f"host {cfg.host!r} not found", hint="Check the server name (see your provider's IMAP settings)."
            ) from exc
        except ConnectionRefusedError as exc:
            raise TargetError(
                f"connection to {where} refused",
                hint="Wrong port, or the server is down: IMAP uses 993 (imaps://) or 143 (imap:// with STARTTLS).",
            ) from exc
        except (TimeoutError, socket.timeout) as exc:
            hint = "A firewall, VPN or proxy may block it; IMAP uses 993 (imaps://) or 143 (imap://)."
            if not cfg.implicit_tls:
                hint = f"If this port expects TLS from the start, use imaps://{cfg.user}@{cfg.host}:{cfg.port}. " + hint
            raise TargetError(f"no answer from {where} (timed out)", hint=hint) from exc
        except (OSError, imap_exc.IMAPClientError) as exc:
            raise TargetError(f"cannot connect to {where}: {exc}") from exc
        client.normalise_times = False  # keep INTERNALDATE's zone: aware datetimes
        self._client = client
        self.greeting = (client.welcome or b"").decode("utf-8", "replace")
        if not cfg.implicit_tls:
            self._starttls(client)
        sock = client.socket()
        if isinstance(sock, ssl.SSLSocket):
            self.tls_version = sock.version()
            self.peer_cert = sock.getpeercert() or None
        self._login(client)
        self.capabilities = frozenset(c.decode("ascii", "replace").upper() for c in client.capabilities())
        self.delimiter = self._find_delimiter()
        return self

    def _starttls(self, client: imapclient.IMAPClient) -> None:
        caps = {c.upper() for c in client.capabilities()}
        if b"STARTTLS" not in caps:
            if self.cfg.insecure:
                return
            raise TlsError(
                f"{self.cfg.host}:{self.cfg.port} offers no STARTTLS: refusing to send the password in clear",
                hint=f"Use imaps://{self.cfg.user}@{self.cfg.host} (port 993), or --insecure for a local test server.",
            )
        try:
            client.starttls(self.ssl_context())
        except ssl.SSLCertVerificationError as exc:
            raise TlsError(f"TLS certificate of {self.cfg.host} not accepted: {describe_cert_error(exc)}") from exc
        except (ssl.SSLError, OSError, imap_exc.IMAPClientError) as exc:
            raise TlsError(f"STARTTLS with {self.cfg.host}:{self.cfg.port} failed: {exc}") from exc

    def _login(self, client: imapclient.IMAPClient) -> None:
        try:
            client.login(self.cfg.user, self.cfg.password.get_secret_value())
        except imap_exc.LoginError as exc:
            text = str(exc)
            code = re.search(r"\[([A-Z-]+)", text)
            raise LoginError(
                f"login as {self.cfg.user!r} on {self.cfg.host} rejected"
                + (f" ({code.group(1)})" if code else ""),
                hint=login_hint(self.cfg.host, code.group(1) if code else None),
            ) from exc
        except (OSError, imap_exc.IMAPClientError) as exc:
            raise TargetError(f"login on {self.cfg.host} failed: {exc}") from exc

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
        if self._client is None:
            raise ConnectionLost("not connected")
        return self._client

    def close(self) -> None:
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

    def __enter__(self) -> ImapTarget:
        return self.connect() if self._client is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities

    # -- folders ----------------------------------------------------------------------
    def folders(self) -> dict[str, frozenset[str]]:
        """{name: LIST attributes} for every folder."""
        out: dict[str, frozenset[str]] = {}
        try:
            for flags, _delim, name in self.client.list_folders():
                out[str(name)] = frozenset(f.decode() if isinstance(f, bytes) else str(f) for f in flags)
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise ConnectionLost(str(exc)) from exc
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
        try:
            self.client.create_folder(name)
        except imap_exc.IMAPClientError as exc:
            if "ALREADYEXISTS" not in str(exc).upper():
                raise FolderRefused(f"the server refuses to create folder {name!r}: {exc}") from exc
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise ConnectionLost(str(exc)) from exc
        self.known_folders().add(name)
        try:
            self.client.subscribe_folder(name)
        except imap_exc.IMAPClientError:
            pass

    def status(self, name: str) -> FolderStatus:
        try:
            st = self.client.folder_status(name, [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES"])
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise ConnectionLost(str(exc)) from exc
        return FolderStatus(int(st[b"UIDVALIDITY"]), int(st[b"UIDNEXT"]), int(st[b"MESSAGES"]))

    def quota(self, name: str = "INBOX") -> Quota | None:
        """STORAGE of the quota root of `name` (RFC 9208; reported in KiB), or None when unlimited/unknown.

        Parsed here: imapclient's get_quota_root fails on a QUOTAROOT with no root (no limit set).
        """
        if not self.has("QUOTA"):
            return None
        imap = self.client._imap  # noqa: SLF001 - GETQUOTAROOT parsed by hand, see docstring
        try:
            typ, _data = imap._simple_command("GETQUOTAROOT", quote(name).decode("ascii"))  # noqa: SLF001
            _typ, quotas = imap._untagged_response(typ, [None], "QUOTA")  # noqa: SLF001
        except (imaplib.IMAP4.error, OSError) as exc:
            if isinstance(exc, (OSError, imaplib.IMAP4.abort)):
                raise ConnectionLost(str(exc)) from exc
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
        for cap in self.capabilities:
            if cap.startswith("APPENDLIMIT="):
                try:
                    return int(cap.split("=", 1)[1])
                except ValueError:
                    return None
        return None

    # -- APPEND (raw, pipelined) ------------------------------------------------------
    def _tag(self) -> bytes:
        self._tagn += 1
        return b"M%05d" % self._tagn

    def _send(self, data: bytes) -> None:
        try:
            self.client._imap.send(data)  # noqa: SLF001 - imaplib's socket writer
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise ConnectionLost(f"connection lost while sending: {exc}") from exc

    def _readline(self) -> bytes:
        try:
            line = self.client._imap.readline()  # noqa: SLF001
        except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error) as exc:
            raise ConnectionLost(f"connection lost while reading: {exc}") from exc
        if not line:
            raise ConnectionLost("the server closed the connection")
        if line.startswith(b"* BYE"):
            raise ConnectionLost("server said BYE: " + line[5:].strip().decode("utf-8", "replace"))
        return line.rstrip(b"\r\n")

    def _literal(self, size: int) -> tuple[bytes, bool]:
        """The literal prefix and whether it is non-synchronizing (RFC 7888)."""
        if self.has("LITERAL+") or (self.has("LITERAL-") and size <= 4096):
            return b"{%d+}\r\n" % size, True
        return b"{%d}\r\n" % size, False

    def _await_continuation(self, tag: bytes) -> tuple[bytes, ...] | None:
        while True:
            line = self._readline()
            if line.startswith(b"+"):
                return None
            m = _TAGGED.match(line)
            if m and m.group("tag") == tag:
                return (m.group("status"), m.group("code") or b"", m.group("text"))

    def _await_tagged(self, tags: Sequence[bytes]) -> dict[bytes, tuple[bytes, bytes, bytes]]:
        pending = set(tags)
        done: dict[bytes, tuple[bytes, bytes, bytes]] = {}
        while pending:
            line = self._readline()
            m = _TAGGED.match(line)
            if m and m.group("tag") in pending:
                done[m.group("tag")] = (m.group("status").upper(), m.group("code") or b"", m.group("text"))
                pending.discard(m.group("tag"))
                if self._crash:
                    self._crash.step("answered")
        return done

    def _append_command(self, tag: bytes, folder: str, items: Sequence[AppendItem]) -> tuple[bytes, ...] | None:
        """Send one APPEND (MULTIAPPEND when several items); returns an early tagged reply if refused."""
        head = tag + b" APPEND " + quote(folder)
        for i, item in enumerate(items):
            data = to_crlf(item.raw)
            prefix, plus = self._literal(len(data))
            self._send((head if i == 0 else b"") + b" " + flag_list(item.flags) + b" " +
                       internaldate(item.date) + b" " + prefix)
            if not plus:
                early = self._await_continuation(tag)
                if early is not None:
                    return early
            self._send(data)
        self._send(b"\r\n")
        if self._crash:
            self._crash.step("sent")
        return None

    @staticmethod
    def _outcome(reply: tuple[bytes, bytes, bytes], index: int = 0) -> AppendOutcome:
        status, code, text = reply
        code_s = code.decode("ascii", "replace")
        text_s = text.decode("utf-8", "replace")
        if status != b"OK":
            return AppendOutcome(ok=False, code=code_s.split()[0].upper() if code_s else None,
                                 text=f"{status.decode()} {('[' + code_s + '] ') if code_s else ''}{text_s}")
        if code_s.upper().startswith("APPENDUID"):
            parts = code_s.split()
            try:
                uids = parse_uid_set(parts[2])
                return AppendOutcome(ok=True, uidvalidity=int(parts[1]), uid=uids[index])
            except (IndexError, ValueError):
                pass
        return AppendOutcome(ok=True, text=text_s)

    def append_many(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        """Append every item, pipelined; one outcome per item, in order.

        Several items go as one MULTIAPPEND (RFC 3502) when the server offers it; if that atomic
        command fails for any reason but quota, the items are retried one by one so that only the
        message the server really refuses is reported.
        """
        if not items:
            return []
        if len(items) > 1 and self.has("MULTIAPPEND"):
            tag = self._tag()
            early = self._append_command(tag, folder, items)
            reply = early if early is not None else self._await_tagged([tag])[tag]
            if reply[0] == b"OK":
                return [self._outcome(reply, i) for i in range(len(items))]
            first = self._outcome(reply)
            if first.code == "OVERQUOTA":
                return [first] * len(items)
        return self._append_singles(folder, items)

    def _append_singles(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        tags: list[bytes] = []
        replies: dict[bytes, tuple[bytes, bytes, bytes]] = {}
        for item in items:
            tag = self._tag()
            tags.append(tag)
            early = self._append_command(tag, folder, [item])
            if early is not None:
                replies[tag] = early
        replies.update(self._await_tagged([t for t in tags if t not in replies]))
        return [self._outcome(replies[t]) for t in tags]

    # -- read-only lookups (EXAMINE, BODY.PEEK) ---------------------------------------------
    def examine(self, folder: str) -> FolderStatus:
        try:
            info = self.client.select_folder(folder, readonly=True)
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise ConnectionLost(str(exc)) from exc
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
            try:
                data = self.client.fetch(part, [b"RFC822.SIZE", b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            except (OSError, imaplib.IMAP4.abort) as exc:
                raise ConnectionLost(str(exc)) from exc
            for uid in part:
                item = data.get(uid)
                if item is None:
                    continue
                hdr = item.get(field) or b""
                yield ServerMessage(uid=uid, size=int(item.get(b"RFC822.SIZE", 0)), message_id=parse_message_id(hdr))

    def _search_uids(self, min_uid: int) -> list[int]:
        try:
            return list(self.client.search(["UID", f"{max(1, min_uid)}:*"]))
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise ConnectionLost(str(exc)) from exc

    def fetch_messages(
        self, uids: Sequence[int], *, body: bool = True, chunk: int = 200
    ) -> Iterator[tuple[int, bytes, frozenset[str], datetime | None, int]]:
        """(uid, raw, flags, internaldate, size) for UIDs of the folder last examined."""
        items = [b"FLAGS", b"INTERNALDATE", b"RFC822.SIZE"] + ([b"BODY.PEEK[]"] if body else [])
        for i in range(0, len(uids), chunk):
            part = list(uids[i : i + chunk])
            try:
                data = self.client.fetch(part, items)
            except (OSError, imaplib.IMAP4.abort) as exc:
                raise ConnectionLost(str(exc)) from exc
            for uid in part:
                item = data.get(uid)
                if item is None:
                    continue
                flags = frozenset(f.decode() if isinstance(f, bytes) else str(f) for f in item.get(b"FLAGS", ()))
                date = item.get(b"INTERNALDATE")
                if isinstance(date, datetime) and date.tzinfo is None:
                    date = date.replace(tzinfo=timezone.utc)
                yield uid, item.get(b"BODY[]", b""), flags, date, int(item.get(b"RFC822.SIZE", 0))

    def noop(self) -> None:
        try:
            self.client.noop()
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise ConnectionLost(str(exc)) from exc
