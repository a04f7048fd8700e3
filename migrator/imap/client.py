"""The IMAP target: the only module that imports imapclient.

Everything the flows need from the server: connect + TLS + login with diagnoses, folder list and
special-use roles, CREATE (only when absent), STATUS, quota, pipelined APPEND / MULTIAPPEND with
APPENDUID parsing (imapclient does not parse it), and read-only lookups (EXAMINE + BODY.PEEK)
for resume and verify. It never sends STORE, EXPUNGE, DELETE, MOVE or RENAME: the target only grows.
"""

from __future__ import annotations

import imaplib
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from imapclient import exceptions as imap_exc

from migrator.domain.config import TargetConfig
from migrator.domain.errors import FolderRefused
from migrator.domain.headers import message_id as parse_message_id
from migrator.domain.i18n import _
from migrator.imap.append import PipelinedAppend, server_words, translated
from migrator.imap.connection import ImapConnection
from migrator.imap.wire import (  # noqa: F401 - re-exported: the flows' names for the wire records
    AppendItem,
    AppendOutcome,
    CrashPoint,
    FolderStatus,
    PendingAppend,
    Quota,
    ServerMessage,
    fetched_flags_date,
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

class ImapTarget(ImapConnection, PipelinedAppend):
    """One authenticated connection to the target (connect, TLS, login: imap/connection.py). Use as a
    context manager."""

    def __init__(self, cfg: TargetConfig, on_plaintext: Callable[[str], None] | None = None) -> None:
        """`on_plaintext(line)` is called before a password or token is sent without TLS (only
        ever with --insecure: imap:// to a server that offers no STARTTLS)."""
        super().__init__(cfg, on_plaintext)
        self._tagn = 0
        self._known: set[str] | None = None
        self._crash = CrashPoint.from_env()
        self._stash: dict[bytes, tuple[bytes, bytes, bytes]] = {}
        self._flag_lists: dict[frozenset[str], bytes] = {}  # a handful of distinct flag sets per run

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
                    raise FolderRefused(_("the server refuses to create folder {name!r}: {words}").format(
                                            name=name, words=words),
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
                flags, date = fetched_flags_date(item)
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
