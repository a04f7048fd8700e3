"""IMAP modified UTF-7 (RFC 3501 section 5.1.3): folder names on the wire and in Maildir++ on
disk, through `imapclient.imap_utf7` (this wrapper is the only user outside the IMAP client).

Differences from imapclient, kept on purpose (tests/unit/test_utf7.py):
- both directions take and give `str` (imapclient encodes to bytes, and returns a `str` given to
  `decode` unchanged);
- `decode` returns a name that is not valid modified UTF-7 unchanged (a directory name that is
  plain UTF-8 or has a stray "&"), where imapclient raises or decodes a prefix; "valid" means
  the canonical form: decoding then encoding again gives the same text (RFC 3501: printable
  ASCII is never base64-encoded, and "&" is always "&-").
"""

from __future__ import annotations

from imapclient import imap_utf7


def encode(name: str) -> str:
    """The modified UTF-7 form of a Unicode folder name (ASCII text; "&" becomes "&-")."""
    encoded: bytes = imap_utf7.encode(name)
    return encoded.decode("ascii")


def decode(name: str) -> str:
    """The Unicode name of a modified UTF-7 one; `name` unchanged when it is not valid modified
    UTF-7 (not ASCII, an unterminated or bad base64 run, a non-canonical form). Never raises."""
    if "&" not in name:
        return name
    try:
        out = imap_utf7.decode(name.encode("ascii"))
    except (UnicodeError, ValueError):
        return name
    return out if encode(out) == name else name
