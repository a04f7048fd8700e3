"""(pure) Message identity: the bytes as they go on the wire, the content fingerprint, and which
bytes a server cannot keep ("at risk").

The byte policy (docs/concepts.md, "Bytes on the way") lives here and nowhere else: `to_crlf`
makes the only changes the upload makes; everything else travels byte for byte.
"""

from __future__ import annotations

import hashlib
import re

_LINE_END = re.compile(rb"\r*\n|\r+\Z")  # LF with any CRs before it; CRs that end the data
NUL = b"\x00"
NUL_READ_BACK = b"\x80"  # what Dovecot returns for a stored NUL in BODY[] (RFC 3501 literals cannot hold NUL)


def to_crlf(raw: bytes) -> bytes:
    """The bytes that go on the wire (RFC 3501/9051 APPEND literal, RFC 5322 line ends).

    The only changes, each to the CRLF line end of RFC 5322 section 2.3:
      1. a bare LF (LF without CR before it) becomes CRLF (mbox and Maildir store LF);
      2. CR CR LF (any run of CRs before an LF) becomes CRLF: servers store lines, and Dovecot
         keeps no CR of such a line end (it returns CRLF), so uploading it unchanged could never
         verify; the extra CR carries no text (seen in Japanese bounce mail);
      3. CRs at the very end of the data (a line end cut after its CR) become one CRLF.
    Everything else is kept byte for byte: a CR inside a line, a missing final line end, NUL and
    other control bytes, 8-bit bytes (ISO-2022-JP escapes, Shift_JIS, raw UTF-8), long lines.
    Bytes already in that form are returned as they are (no copy). Idempotent."""
    if b"\r" not in raw:  # the common case: LF only (mbox, Maildir)
        return raw.replace(b"\n", b"\r\n")
    if raw.count(b"\n") == raw.count(b"\r\n") and b"\r\r\n" not in raw and not raw.endswith(b"\r"):
        return raw  # CRLF already (PST exports, .eml): memchr speed, no copy
    return _LINE_END.sub(b"\r\n", raw)


def fingerprint(wire: bytes) -> str:
    """Content identity of a message as uploaded (to_crlf bytes): SHA-256, hex. Same bytes, same
    fingerprint; LF and CRLF mail keep the fingerprints of earlier runs' journals."""
    return hashlib.sha256(wire).hexdigest()


def at_risk(wire: bytes) -> str | None:
    """Why a server may not keep these wire bytes in a plain literal, or None when it will.

    A NUL byte cannot travel in an RFC 3501/9051 literal (CHAR8 is %x01-ff); only a literal8 of
    BINARY (RFC 3516 section 4.4) carries it. Measured on Dovecot 2.3: it keeps the NUL but
    returns it as 0x80 to BODY[] (BINARY[] returns it intact); it keeps bare CRs inside lines,
    8-bit headers, control bytes and 20,000-byte lines unchanged, so those are not at risk."""
    if NUL in wire:
        n = wire.count(NUL)
        return f"{n} NUL byte{'s' if n != 1 else ''}"
    return None


def as_read_back(wire: bytes) -> bytes:
    """The wire bytes as a server that stored them with their NULs returns them to BODY[] (NUL as
    0x80, measured on Dovecot 2.3). Equal to `wire` when it holds no NUL."""
    return wire.replace(NUL, NUL_READ_BACK) if NUL in wire else wire


def describe_change(sent: bytes, got: bytes) -> str:
    """What the server changed, in one phrase ("2 NUL bytes returned as 0x80")."""
    if len(sent) == len(got):
        diff = [i for i in range(len(sent)) if sent[i] != got[i]]
        if diff and all(sent[i] == 0 and got[i] == NUL_READ_BACK[0] for i in diff):
            return f"{len(diff)} NUL byte{'s' if len(diff) != 1 else ''} returned as 0x80"
        if diff:
            return f"{len(diff)} byte(s) changed, the first at offset {diff[0]}"
        return "the same bytes"
    first = next((i for i in range(min(len(sent), len(got))) if sent[i] != got[i]), min(len(sent), len(got)))
    return f"{len(got)} bytes instead of {len(sent)}, the first difference at offset {first}"
