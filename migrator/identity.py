"""(pure) Message identity: the content fingerprint and the bytes as they go on the wire."""

from __future__ import annotations

import hashlib
import re

_EOL = re.compile(rb"\r?\n")
_BARE_LF = re.compile(rb"(?<!\r)\n")


def to_crlf(raw: bytes) -> bytes:
    """IMAP wants CRLF line ends; stores hold LF (mbox, Maildir) or CRLF (PST exports).

    Already-CRLF bytes are returned as they are (no copy)."""
    if _BARE_LF.search(raw) is None:
        return raw
    return _EOL.sub(b"\r\n", raw)


def fingerprint(wire: bytes) -> str:
    """Content identity of a message as uploaded (CRLF). Same bytes, same fingerprint."""
    return hashlib.sha256(wire).hexdigest()
