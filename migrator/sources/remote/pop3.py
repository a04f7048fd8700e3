"""`pop3s://USER@HOST` as a SOURCE: the one POP3 maildrop, read-only (imap/pop3.py).

- One folder: the maildrop goes to the target's INBOX, or to the folder the user names
  (--pop3-folder NAME). POP3 has no folders and no flags: every message arrives unread.
- Stable ids from UIDL (RFC 1939 section 7). Where UIDL is missing, repeated or longer than 70
  characters (the RFC's limit), the id is a SHA-256 of the `TOP n 0` header block and the LIST
  size, with a warning (the same message keeps the same id while its headers do).
- Dates by the one policy from the headers (newest plausible Received:, else Date:): POP3 keeps no
  delivery time.
- `preview=True` (plan): LIST sizes and `TOP n 0` headers only, no RETR. With it the source also
  tries IMAP on the same host (993, 143) with the same login, and when that works says so: the IMAP
  source brings every folder with its flags.
- Never DELE or RSET; every session ends with QUIT, also after an error.
"""

from __future__ import annotations

import hashlib
import poplib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from migrator.domain.config import TargetConfig
from migrator.domain.dates import internaldate
from migrator.domain.errors import ConnectionLost, MigratorError
from migrator.domain.i18n import N_, _
from migrator.domain.records import ROLE_INBOX, Folder, MessageRecord
from migrator.domain.remote import RemoteSource
from migrator.imap.pop3 import Pop3Reader
from migrator.imap.source import ImapReader
from migrator.sources.base import Capabilities, Estimate, Known, SourceBase

MAX_UIDL = 70  # RFC 1939 section 7: a unique-id is 1 to 70 characters
IMAP_PORTS: tuple[tuple[str, int], ...] = (("imaps", 993), ("imap", 143))
PROBE_TIMEOUT = 5.0  # seconds per IMAP port tried by the plan's suggestion
RECONNECTS = 3  # a dropped POP3 session is opened again this often per read


def header_hash(headers: bytes, size: int) -> str:
    """The fallback id of a message without a usable UIDL: SHA-256 (hex, 40 digits) of its LIST size
    in octets and its header block as `TOP n 0` gives it, line ends made CRLF and the block cut at the
    first empty line (so the same headers from TOP or from RETR give the same id)."""
    text = headers.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    end = text.find(b"\r\n\r\n")
    block = text[: end + 2] if end >= 0 else (text if text.endswith(b"\r\n") else text + b"\r\n")
    return hashlib.sha256(str(size).encode("ascii") + b"\0" + block).hexdigest()[:40]


def identify(uidls: dict[int, str] | None, sizes: dict[int, int],
             head: Callable[[int], bytes]) -> tuple[list[tuple[int, str, int]], list[str]]:
    """The stable id of each message of one session: ([(number, id, size)] in maildrop order, warnings).

    uidls: UIDL's {number: unique-id}, None without UIDL. sizes: LIST's {number: octets}.
    head(n): the header block of message n (TOP n 0), asked only for messages without a usable UIDL.
    A usable UIDL (present, unique in the maildrop, 1..70 characters) gives `u:UIDL`; any other
    message `h:` + header_hash(headers, size), `#2`, `#3`... added when two have equal headers and size.
    """
    numbers = sorted(sizes)
    counts: dict[str, int] = {}
    for n in numbers:
        u = (uidls or {}).get(n)
        if u:
            counts[u] = counts.get(u, 0) + 1
    out: list[tuple[int, str, int]] = []
    hashed: dict[str, int] = {}
    missing = repeated = too_long = 0
    for n in numbers:
        u = (uidls or {}).get(n) if uidls is not None else None
        if u and counts[u] == 1 and len(u) <= MAX_UIDL:
            out.append((n, f"u:{u}", sizes[n]))
            continue
        if uidls is not None:
            if not u:
                missing += 1
            elif counts[u] > 1:
                repeated += 1
            else:
                too_long += 1
        sid = "h:" + header_hash(head(n), sizes[n])
        hashed[sid] = hashed.get(sid, 0) + 1
        out.append((n, sid if hashed[sid] == 1 else f"{sid}#{hashed[sid]}", sizes[n]))
    warnings: list[str] = []
    if uidls is None and numbers:
        warnings.append(_("the POP3 server has no UIDL: messages are known by a hash of their headers and size; a "
                          "message whose headers the server changes would be read again (and found already copied)"))
    for count, text in ((missing, N_("{n} message(s) on the POP3 server have no UIDL: they are known by a hash of "
                                     "their headers and size instead")),
                        (repeated, N_("{n} message(s) on the POP3 server have a UIDL another message also has: they "
                                      "are known by a hash of their headers and size instead")),
                        (too_long, N_("{n} message(s) on the POP3 server have a UIDL longer than {max} characters: "
                                      "they are known by a hash of their headers and size instead"))):
        if count:
            warnings.append(_(text).format(n=count, max=MAX_UIDL))
    return out, warnings


class Pop3Source(SourceBase):
    """A POP3 maildrop as a read-only Source (see the module docstring)."""

    kind = "pop3"
    capabilities = Capabilities(change_token=True, skip_known=True, reload=True)

    def __init__(self, src: RemoteSource, *, folder: str | None = None, preview: bool = False,
                 imap_ports: Sequence[tuple[str, int]] = IMAP_PORTS) -> None:
        self.src = src
        self.root = Path(src.url)
        self.preview = preview
        self._reader = Pop3Reader(src.imap_config(), implicit_tls=src.implicit_tls)
        name = (folder or "INBOX").strip("/") or "INBOX"
        is_inbox = name.upper() == "INBOX"
        self._folder = Folder(path=("INBOX",) if is_inbox else tuple(p for p in name.split("/") if p),
                              origin=src.url, key="maildrop", role=ROLE_INBOX if is_inbox else None)
        self._warnings: list[str] = []
        with self._reader.session() as pop:  # log in now: a wrong password is exit 3 before anything else
            self.count, self.octets = pop.stat()
            self._top = "TOP" in pop.capabilities or not pop.capabilities
        if preview:
            self._suggest_imap(imap_ports)

    @property
    def warnings(self) -> list[str]:
        """UIDL fallbacks, the IMAP suggestion: each once."""
        return list(dict.fromkeys(self._warnings))

    def folders(self) -> list[Folder]:
        """The one maildrop (INBOX, or the folder named with --pop3-folder)."""
        return [self._folder]

    def estimate(self, folder: Folder) -> Estimate | None:
        """STAT: the maildrop's messages (exact) and octets (as LIST counts them, CRLF lines); None
        when the server does not answer."""
        try:
            with self._reader.session() as pop:
                count, octets = pop.stat()
        except (MigratorError, OSError):
            return None
        return Estimate(count, octets, messages_exact=True)

    def token(self, folder: Folder) -> str | None:
        """STAT and the UIDL list: unchanged while no message arrives or goes."""
        with self._reader.session() as pop:
            count, octets = pop.stat()
            uidls = pop.uidl()
        listing = "\n".join(f"{n} {u}" for n, u in sorted((uidls or {}).items()))
        return f"pop3:{count}:{octets}:" + hashlib.sha256(listing.encode("utf-8", "replace")).hexdigest()[:16]

    def _head(self, pop: Pop3Reader, n: int) -> bytes:
        head = pop.top(n) if self._top else None
        if head is None:  # no TOP: the headers of the whole message
            raw = pop.retr(n)
            end = raw.find(b"\r\n\r\n")
            head = raw[: end + 4] if end >= 0 else raw
        return head

    def _identify(self, pop: Pop3Reader) -> list[tuple[int, str, int]]:
        ids, warnings = identify(pop.uidl(), pop.sizes(), lambda n: self._head(pop, n))
        self._warnings.extend(warnings)
        return ids

    def messages(self, folder: Folder, *, resume: int = 0, known: Known | None = None) -> Iterator[MessageRecord]:
        """The maildrop in server order, one RETR at a time (`TOP n 0` only in preview); messages
        `known` (id, LIST size) to be settled come without bytes. A dropped session is opened again
        (RECONNECTS times) and reading goes on from the next id."""
        done: set[str] = set()
        for attempt in range(RECONNECTS + 1):
            try:
                with self._reader.session() as pop:
                    for n, sid, size in self._identify(pop):
                        if sid in done:
                            continue
                        rec = self._read(pop, folder, n, sid, size, known)
                        done.add(sid)
                        yield rec
                return
            except ConnectionLost:
                if attempt == RECONNECTS:
                    raise

    def _read(self, pop: Pop3Reader, folder: Folder, n: int, sid: str, size: int,
              known: Known | None) -> MessageRecord:
        locator = f"{self.src.url} message {n} ({sid[2:]})"
        if known is not None and known(sid, size):
            head = self._head(pop, n) if self.preview else b""
            date, source = internaldate(head)
            return MessageRecord(folder=folder, stable_id=sid, raw=b"", date=date, date_source=source,
                                 locator=locator, extra={"known": "1", "size": str(size)})
        try:
            raw = self._head(pop, n) if self.preview else pop.retr(n)
        except poplib.error_proto as exc:
            return MessageRecord(folder=folder, stable_id=sid, raw=b"", date=internaldate(b"")[0], locator=locator,
                                 error=_("the POP3 server refused to send it: {reason}").format(reason=_text(exc)))
        date, source = internaldate(raw)
        extra = {"source_size": str(size)}
        if self.preview:
            extra.update(preview="1", size=str(size))
        elif len(raw) + 2 < size:  # LIST counts CRLF line ends; a few octets of difference are normal
            extra["warning"] = _("RETR gave {got} bytes, LIST said {size}: the server may have cut it").format(
                got=len(raw), size=size)
        return MessageRecord(folder=folder, stable_id=sid, raw=raw, date=date, date_source=source,
                             locator=locator, extra=extra)

    def reload(self, rec: MessageRecord) -> MessageRecord:
        """Read a message passed over as known after all (a new session, found by its id)."""
        with self._reader.session() as pop:
            for n, sid, size in self._identify(pop):
                if sid == rec.stable_id:
                    return self._read(pop, rec.folder, n, sid, size, None)
        return MessageRecord(folder=rec.folder, stable_id=rec.stable_id, raw=b"", date=rec.date, locator=rec.locator,
                             error=_("no longer on the POP3 server"))

    def _suggest_imap(self, ports: Sequence[tuple[str, int]]) -> None:
        """Say so when the host also serves IMAP to the same login (the better source)."""
        src = self.src
        for scheme, port in ports:
            cfg = TargetConfig(scheme=scheme, user=src.user, host=src.host, port=port, insecure=src.insecure,
                               timeout=min(src.timeout, PROBE_TIMEOUT), password=src.password)
            try:
                with ImapReader(cfg):
                    pass
            except (MigratorError, OSError):
                continue
            url = f"{scheme}://{src.user}@{src.host}" + ("" if port == (993 if scheme == "imaps" else 143)
                                                         else f":{port}")
            self._warnings.append(_("{host} also answers IMAP with the same login: as the SOURCE, {url} copies every "
                                    "folder with its flags and dates (POP3 reaches only the inbox, all unread)").format(
                host=src.host, url=url))
            return


def _text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
