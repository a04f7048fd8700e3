"""Pipelined APPEND / MULTIAPPEND on the raw wire, and the IMAP layer's one error translation.

imapclient neither pipelines APPEND nor parses APPENDUID, so commands go out through imaplib's
socket writer: non-synchronizing literals (RFC 7888) when offered, literal8 for bytes at risk
(RFC 3516), several messages in one MULTIAPPEND (RFC 3502), UIDs from APPENDUID (RFC 4315).

`translated()` is where every socket, TLS and imaplib failure of a connected session becomes a
domain error (ConnectionLost); ImapTarget and this module use it for every command they send.
"""

from __future__ import annotations

import imaplib
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from migrator.domain.errors import ConnectionLost
from migrator.domain.i18n import _
from migrator.domain.identity import at_risk
from migrator.imap.wire import (
    TAGGED,
    AppendItem,
    AppendOutcome,
    CrashPoint,
    PendingAppend,
    flag_list,
    internaldate,
    parse_uid_set,
    quote,
)

DROPPED: tuple[type[BaseException], ...] = (OSError, imaplib.IMAP4.abort)  # ssl errors and timeouts are OSErrors


@contextmanager
def translated(what: str = "", also: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Raise ConnectionLost (domain error, exit 3 when not recovered) for a socket, TLS or imaplib
    abort failure inside the block: the connection is gone and a reconnect may help.

    `what`: prefixed to the message ("connection lost while sending"); `also`: more exception
    types that mean the same here (e.g. imaplib.IMAP4.error while reading a raw line). Refusals
    the server states (NO/BAD) pass through unchanged: the caller decides what they mean."""
    try:
        yield
    except DROPPED + also as exc:
        raise ConnectionLost(f"{what}: {exc}" if what else str(exc)) from exc


class _Coalescer:
    """Joins small pieces of a command into writes of about `chunk` bytes; a large piece (a big
    message) is written as it is, not copied."""

    def __init__(self, send: Callable[[bytes], None], chunk: int = 1 << 20) -> None:
        self._send = send
        self._chunk = chunk
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, data: bytes) -> None:
        if len(data) >= self._chunk:
            self.flush()
            self._send(data)
            return
        self._parts.append(data)
        self._size += len(data)
        if self._size >= self._chunk:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self._send(b"".join(self._parts))
            self._parts.clear()
            self._size = 0



def server_words(error: str) -> str:
    """What the server said, from an imapclient error: "create failed: [CANNOT] Mailbox name too
    long (0.001 + 0.000 secs)." -> "[CANNOT] Mailbox name too long" (Dovecot's timing dropped)."""
    text = re.sub(r"^[a-z ]+ (?:failed|command error):\s*", "", error.strip())
    text = re.sub(r"^(?:BAD|NO)\s+", "", text)
    text = re.sub(r"\s*\(\d+\.\d+(?: \+ \d+\.\d+)* secs\)\.?$", "", text)
    return text.strip() or error



class PipelinedAppend:
    """APPEND / MULTIAPPEND sent without waiting for each answer; mixed into ImapTarget, which
    provides `client` (imapclient.IMAPClient, connected) and `has(capability)`."""

    _tagn: int
    _crash: CrashPoint | None
    _stash: dict[bytes, tuple[bytes, bytes, bytes]]
    _flag_lists: dict[frozenset[str], bytes]

    def has(self, capability: str) -> bool:  # provided by ImapTarget
        """Whether the server announced `capability` (ImapTarget provides it)."""
        raise NotImplementedError

    @property
    def client(self):  # type: ignore[no-untyped-def]  # provided by ImapTarget (imapclient.IMAPClient)
        """The connected imapclient.IMAPClient (ImapTarget provides it); ConnectionLost when none."""
        raise NotImplementedError

    def _tag(self) -> bytes:
        self._tagn += 1
        return b"M%05d" % self._tagn

    def _send(self, data: bytes) -> None:
        with translated(_("connection lost while sending")):
            self.client._imap.send(data)  # noqa: SLF001 - imaplib's socket writer

    def _readline(self) -> bytes:
        with translated(_("connection lost while reading"), also=(imaplib.IMAP4.error,)):
            line: bytes = self.client._imap.readline()  # noqa: SLF001
        if not line:
            raise ConnectionLost(_("the server closed the connection"))
        if line.startswith(b"* BYE"):
            words = line[5:].strip().decode("utf-8", "replace")
            raise ConnectionLost(_("server said BYE: {words}").format(words=words))
        return line.rstrip(b"\r\n")

    def _literal(self, size: int, binary: bool = False) -> tuple[bytes, bool]:
        """The literal prefix and whether it is non-synchronizing (RFC 7888). `binary`: a literal8
        (`~{n}`, RFC 3516 section 4.4; RFC 7888 section 4 allows `~{n+}` with LITERAL+)."""
        mark = b"~" if binary else b""
        if self.has("LITERAL+") or (self.has("LITERAL-") and size <= 4096):
            return mark + b"{%d+}\r\n" % size, True
        return mark + b"{%d}\r\n" % size, False

    def sends_literal8(self, wire: bytes) -> bool:
        """Whether this message goes as a literal8: its bytes are at risk in a plain literal
        (identity.at_risk: NUL) and the server offers BINARY (RFC 3516; MULTIAPPEND may mix
        both kinds, RFC 3502)."""
        return self.has("BINARY") and at_risk(wire) is not None

    def _await_continuation(self, tag: bytes) -> tuple[bytes, bytes, bytes] | None:
        while True:
            line = self._readline()
            if line.startswith(b"+"):
                return None
            m = TAGGED.match(line)
            if m and m.group("tag") == tag:
                return (m.group("status"), m.group("code") or b"", m.group("text"))

    def _await_tagged(self, tags: Sequence[bytes]) -> dict[bytes, tuple[bytes, bytes, bytes]]:
        """Read until every tag in `tags` is answered; answers to other pipelined commands are kept."""
        done = {t: self._stash.pop(t) for t in tags if t in self._stash}
        pending = set(tags) - set(done)
        while pending:
            line = self._readline()
            m = TAGGED.match(line)
            if m and m.group("tag").startswith(b"M"):
                reply = (m.group("status").upper(), m.group("code") or b"", m.group("text"))
                if self._crash:
                    self._crash.step("answered")
                if m.group("tag") in pending:
                    done[m.group("tag")] = reply
                    pending.discard(m.group("tag"))
                else:
                    self._stash[m.group("tag")] = reply
        return done

    def _append_command(self, tag: bytes, folder: str,
                        items: Sequence[AppendItem]) -> tuple[bytes, bytes, bytes] | None:
        """Send one APPEND (MULTIAPPEND when several items); returns an early tagged reply if refused.

        With non-synchronizing literals the whole command goes out in few large writes: each
        write is one TLS record run and one release of the GIL, so small writes per message
        would leave the sending thread queueing for the GIL behind the reader."""
        out = _Coalescer(self._send)
        out.add(tag + b" APPEND " + quote(folder))
        flag_lists = self._flag_lists
        for item in items:
            data = item.raw  # CRLF already (AppendItem's contract)
            prefix, plus = self._literal(len(data), self.sends_literal8(data))
            flags = flag_lists.get(item.flags)
            if flags is None:
                flags = flag_lists[item.flags] = flag_list(item.flags)
            out.add(b" %s %s %s" % (flags, internaldate(item.date), prefix))
            if not plus:
                out.flush()
                early = self._await_continuation(tag)
                if early is not None:
                    return early
            out.add(data)
        out.add(b"\r\n")
        out.flush()
        if self._crash:
            self._crash.step("sent")
        return None

    @staticmethod
    def _appenduid(code: str) -> tuple[int, list[int]] | None:
        """(UIDVALIDITY, UIDs) from an APPENDUID response code (RFC 4315), None when absent or garbled."""
        parts = code.split()
        if not parts or parts[0].upper() != "APPENDUID":
            return None
        try:
            return int(parts[1]), parse_uid_set(parts[2])
        except (IndexError, ValueError):
            return None

    @classmethod
    def _outcome(cls, reply: tuple[bytes, bytes, bytes], index: int = 0) -> AppendOutcome:
        return cls._outcomes(reply, index + 1)[index]

    @classmethod
    def _outcomes(cls, reply: tuple[bytes, bytes, bytes], n: int) -> list[AppendOutcome]:
        """The outcomes of the first `n` messages of an APPEND (a MULTIAPPEND answers for all of its
        messages at once): the APPENDUID set is read once, not once per message."""
        status, code, text = reply
        code_s = code.decode("ascii", "replace")
        text_s = text.decode("utf-8", "replace")
        if status != b"OK":
            failed = AppendOutcome(ok=False, code=code_s.split()[0].upper() if code_s else None,
                                   text=f"{status.decode()} {('[' + code_s + '] ') if code_s else ''}{text_s}")
            return [failed] * n
        uid = cls._appenduid(code_s)
        uids = uid[1] if uid else []
        return [AppendOutcome(ok=True, uidvalidity=uid[0], uid=uids[i]) if uid and i < len(uids)
                else AppendOutcome(ok=True, text=text_s) for i in range(n)]

    def append_many(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        """Append every item; one outcome per item, in order (see send_append)."""
        return self.collect_append(self.send_append(folder, items))

    def send_append(self, folder: str, items: Sequence[AppendItem]) -> PendingAppend:
        """Send the items without waiting for the answer, so that the next batch can follow at once
        (pipelining; needs LITERAL+ or LITERAL-, otherwise this waits for each continuation).

        Several items go as one MULTIAPPEND (RFC 3502) when the server offers it."""
        if len(items) > 1 and self.has("MULTIAPPEND"):
            tag = self._tag()
            early = self._append_command(tag, folder, items)
            return PendingAppend(folder, list(items), [tag], multi=True, early={tag: early} if early else {})
        return self._send_singles(folder, items)

    def _send_singles(self, folder: str, items: Sequence[AppendItem]) -> PendingAppend:
        """One APPEND per item, pipelined."""
        tags: list[bytes] = []
        early_replies: dict[bytes, tuple[bytes, bytes, bytes]] = {}
        for item in items:
            tag = self._tag()
            tags.append(tag)
            early = self._append_command(tag, folder, [item])
            if early is not None:
                early_replies[tag] = early
        return PendingAppend(folder, list(items), tags, multi=False, early=early_replies)

    def collect_append(self, pending: PendingAppend) -> list[AppendOutcome]:
        """The outcomes of a sent batch. A MULTIAPPEND is atomic: when it fails for any reason but
        quota, its items are appended again one by one, so that only the message the server really
        refuses is reported as failed."""
        if not pending.items:
            return []
        replies = dict(pending.early)
        replies.update(self._await_tagged([t for t in pending.tags if t not in replies]))
        if not pending.multi:
            return [self._outcome(replies[t]) for t in pending.tags]
        reply = replies[pending.tags[0]]
        if reply[0] == b"OK":
            return self._outcomes(reply, len(pending.items))
        first = self._outcome(reply)
        if first.code == "OVERQUOTA":
            return [first] * len(pending.items)
        return self._append_singles(pending.folder, pending.items)

    def _append_singles(self, folder: str, items: Sequence[AppendItem]) -> list[AppendOutcome]:
        return self.collect_append(self._send_singles(folder, items))
