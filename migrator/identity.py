"""(pure) Message identity: the content fingerprint and the bytes as they go on the wire."""

from __future__ import annotations

import hashlib


def to_crlf(raw: bytes) -> bytes:
    """IMAP wants CRLF line ends; stores hold LF (mbox, Maildir) or CRLF (PST exports).

    Already-CRLF bytes are returned as they are (no copy)."""
    if b"\r" not in raw:  # the common case: LF only (mbox, Maildir)
        return raw.replace(b"\n", b"\r\n")
    if raw.count(b"\n") == raw.count(b"\r\n"):
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # bytes.replace: memchr speed


def fingerprint(wire: bytes) -> str:
    """Content identity of a message as uploaded (CRLF). Same bytes, same fingerprint."""
    return hashlib.sha256(wire).hexdigest()
