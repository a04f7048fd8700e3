"""Output a console cannot encode degrades to ASCII glyphs, never an error.

A Japanese Windows console (and a file or pipe it redirects to) encodes cp932: Japanese text is
fine there, but check marks, bar blocks, arrows and dashes are not. Instead of a
`UnicodeEncodeError` (exit 70), stdout and stderr get one codec error handler, `migrate-ascii`:
each such glyph becomes its ASCII look-alike (`✓` -> `v`, `█` -> `#`, `→` -> `->`); anything else
unencodable (a Shift_JIS file name kept by Python as lone surrogates, PEP 383; an emoji) is
written escaped (`\\udc91`, `\\U0001f600`), as `backslashreplace` does.
"""

from __future__ import annotations

import codecs
import sys
from typing import TextIO

__all__ = ["ASCII_GLYPHS", "ERRORS", "ascii_glyph", "can_encode", "tolerant_output"]

ERRORS = "migrate-ascii"

#: The glyphs migrate prints (and the common ones in messages, folder names and translations)
#: with their ASCII stand-ins.
ASCII_GLYPHS: dict[str, str] = {
    "✓": "v", "✔": "v", "✗": "x", "✘": "x", "·": "-", "•": "*", "‣": ">",
    "→": "->", "←": "<-", "↑": "^", "↓": "v", "⇒": "=>", "↳": "->",
    "…": "...", "—": "--", "–": "-", "‐": "-", "−": "-",
    "█": "#", "▉": "#", "▊": "#", "▋": "#", "▌": "#", "▍": "#", "▎": "#", "▏": "#",
    "░": ".", "▒": ":", "▓": "#", "│": "|", "─": "-", "┃": "|", "━": "-",
    "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+", "┤": "+", "┬": "+", "┴": "+", "┼": "+",
    "✂": "<", "⚠": "!", "‘": "'", "’": "'", "“": '"', "”": '"', "«": "<<", "»": ">>",
    "×": "x", "≈": "~", "≤": "<=", "≥": ">=", "\u00a0": " ", "\u202f": " ",
}


def ascii_glyph(text: str) -> str:
    """`text` with every glyph of `ASCII_GLYPHS` replaced; other characters unchanged."""
    return "".join(ASCII_GLYPHS.get(ch, ch) for ch in text)


def _handler(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start:exc.end]
    out = []
    for ch in bad:
        sub = ASCII_GLYPHS.get(ch)
        if sub is None:
            code = ord(ch)
            sub = f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
        out.append(sub)
    return "".join(out), exc.end


def _register() -> None:
    try:
        codecs.lookup_error(ERRORS)
    except LookupError:
        codecs.register_error(ERRORS, _handler)


def tolerant_output(streams: tuple[TextIO, ...] | None = None) -> None:
    """Give `streams` (default stdout and stderr) the `migrate-ascii` error handler, whatever their
    encoding (cp932, ascii, UTF-8); a stream that cannot be reconfigured is left as it is."""
    _register()
    for stream in streams if streams is not None else (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:
            continue
        try:
            reconfigure(errors=ERRORS)
        except (ValueError, OSError):  # a stream already detached, or written to in a way that forbids it
            pass


def can_encode(text: str, stream: TextIO | None = None) -> bool:
    """True when `stream` (default stdout) encodes `text` as it is, without the handler."""
    encoding = getattr(stream if stream is not None else sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True
