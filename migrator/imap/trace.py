"""`--debug`: an IMAP protocol trace, one line per command or response, with secrets redacted.

Redacted: the arguments of LOGIN, everything the client sends during AUTHENTICATE (until the
server's tagged answer), any registered secret (password, token, SASL payload) wherever it
appears, and message contents (literals are shown as their size only). The trace goes to a file
created private to the user (0600), or to stderr.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

_LITERAL = re.compile(rb"\{(\d+)\+?\}$")
_AUTH_CMD = re.compile(rb"^(\S+) (LOGIN|AUTHENTICATE)\b ?(\S*)", re.I)
REDACTED = "[redacted]"


def open_private(path: Path) -> TextIO:
    """Append to `path`, creating it 0600 (the directory 0700 if it has to be made)."""
    from migrator.domain import safefile

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = safefile.open_fd(path, append=True)  # never through a link planted at the path (UnsafePath)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8", buffering=1)


class ProtocolTrace:
    """The trace of one connection. `attach(imap)` hooks an imaplib.IMAP4 object's send/readline/read."""

    def __init__(self, out: TextIO, label: str, *, owns: bool = False) -> None:
        self._out = out
        self._owns = owns
        self.label = label
        self._secrets: list[str] = []
        self._pending = b""  # client bytes of an unfinished line
        self._literal_left = 0  # client literal bytes still to come
        self._literal_size = 0
        self._auth_tag: bytes | None = None  # tag of a LOGIN/AUTHENTICATE in progress

    @classmethod
    def open(cls, where: str, label: str = "") -> ProtocolTrace:
        """`where` is a file path, or "-" for stderr."""
        label = label or secrets.token_hex(2)
        if where == "-":
            return cls(sys.stderr, label)
        return cls(open_private(Path(where).expanduser()), label, owns=True)

    def add_secret(self, value: str | bytes | None) -> None:
        """Redact `value` (password, token; 3 characters or more) wherever it appears in later lines."""
        if not value:
            return
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if len(text) >= 3 and text not in self._secrets:
            self._secrets.append(text)
            self._secrets.sort(key=len, reverse=True)

    def _scrub(self, text: str) -> str:
        for s in self._secrets:
            if s in text:
                text = text.replace(s, REDACTED)
        return text

    def _write(self, direction: str, text: str) -> None:
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
        try:
            self._out.write(f"{stamp} [{self.label}] {direction} {self._scrub(text)}\n")
        except (OSError, ValueError):
            pass  # a trace must never break the migration

    def note(self, text: str) -> None:
        """Write a line of our own (marked `*`): TLS version, certificate, a reconnect."""
        self._write("*", text)

    # -- client side ---------------------------------------------------------------------------
    def sent(self, data: bytes) -> None:
        """Trace bytes the client sends (any split): command lines as `C:`, literals as their size
        only (RFC 3501 4.3); LOGIN/AUTHENTICATE arguments and the authentication exchange redacted."""
        while data:
            if self._literal_left:
                take = min(self._literal_left, len(data))
                self._literal_left -= take
                data = data[take:]
                if not self._literal_left:
                    kind = "redacted literal" if self._auth_tag else "literal"
                    self._write("C:", f"[{kind}, {self._literal_size} bytes]")
                continue
            line, sep, rest = data.partition(b"\r\n")
            if not sep:
                self._pending += line
                return
            data = rest
            self._client_line(self._pending + line)
            self._pending = b""

    def _client_line(self, line: bytes) -> None:
        m = _AUTH_CMD.match(line)
        if m:
            self._auth_tag = m.group(1)
            shown = (m.group(1) + b" " + m.group(2).upper()).decode("utf-8", "replace")
            if m.group(2).upper() == b"AUTHENTICATE":  # keep the mechanism, hide an initial response
                rest = line[m.end():].strip()
                shown += " " + m.group(3).decode("utf-8", "replace") + (f" {REDACTED}" if rest else "")
            else:
                shown += f" {REDACTED}"
            self._write("C:", shown)
        elif self._auth_tag is not None:
            self._write("C:", f"[redacted authentication data, {len(line)} bytes]")
        else:
            self._write("C:", line.decode("utf-8", "replace"))
        lit = _LITERAL.search(line)
        if lit:
            self._literal_left = self._literal_size = int(lit.group(1))

    # -- server side ---------------------------------------------------------------------------
    def received_line(self, line: bytes) -> None:
        """Trace one server line (`S:`), without its CRLF."""
        text = line.rstrip(b"\r\n")
        if self._auth_tag is not None and text.startswith(self._auth_tag + b" "):
            self._auth_tag = None
        self._write("S:", text.decode("utf-8", "replace"))

    def received_literal(self, size: int) -> None:
        """Trace a server literal by its size in bytes only (message bodies never go in the trace)."""
        self._write("S:", f"[literal, {size} bytes]")

    # -- hooking -------------------------------------------------------------------------------
    def attach(self, imap: Any) -> None:
        """Wrap an imaplib.IMAP4's send/readline/read (STARTTLS keeps working: they use imap.sock)."""
        send: Callable[[bytes], None] = imap.send
        readline: Callable[[], bytes] = imap.readline
        read: Callable[[int], bytes] = imap.read

        def t_send(data: bytes) -> None:
            self.sent(bytes(data))
            send(data)

        def t_readline() -> bytes:
            line = readline()
            if line:
                self.received_line(line)
            return line

        def t_read(size: int) -> bytes:
            data = read(size)
            self.received_literal(len(data))
            return data

        imap.send, imap.readline, imap.read = t_send, t_readline, t_read

    def close(self) -> None:
        """Close the trace file if this trace opened it (never stderr)."""
        if self._owns:
            try:
                self._out.close()
            except OSError:
                pass
