"""Just enough RTF for mail bodies: HTML/text de-encapsulation ([MS-OXRTFEX]) and plain text.

Outlook keeps the body of many messages only as (compressed) RTF. libpff hands us the
decompressed RTF; this module turns it back into something a mail client shows:

- `\\fromhtml1` RTF (HTML mail written by Outlook, common in Japanese Outlook): the original
  HTML is recovered exactly as [MS-OXRTFEX] 2.1.3.1 says: the content of `{\\*\\htmltag}` groups
  plus the text between them, minus everything inside `\\htmlrtf ... \\htmlrtf0`.
- `\\fromtext` RTF: the original plain text.
- any other RTF: readable plain text (formatting dropped; the caller keeps the RTF as a file).

`\\'xx` escapes are decoded with the code page of the current font (`\\fcharsetN` / `\\cpgN` in
the font table) or the document's `\\ansicpgN`, accumulating consecutive bytes so double-byte
code pages (cp932, cp936, cp949, cp950) decode correctly; `\\uN` (with `\\ucN` fallback
skipping) gives Unicode directly.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field, replace

# \fcharsetN -> Windows code page.
_CHARSET_CODEPAGE = {
    0: 1252, 77: 10000, 78: 10001, 128: 932, 129: 949, 130: 1361, 134: 936, 136: 950,
    161: 1253, 162: 1254, 163: 1258, 177: 1255, 178: 1256, 186: 1257, 204: 1251, 222: 874,
    238: 1250, 255: 437,
}
# Destinations whose text is never body text.
_SKIP_DESTINATIONS = frozenset({
    "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "objdata", "header", "footer",
    "headerl", "headerr", "headerf", "footerl", "footerr", "footerf", "listtable",
    "listoverridetable", "rsidtbl", "generator", "xmlnstbl", "themedata", "colorschememapping",
    "datastore", "latentstyles", "pgdsctbl", "filetbl", "revtbl", "fldinst", "pntext", "pntxta",
    "pntxtb", "mhtmltag", "author", "operator", "title", "subject", "keywords", "comment",
    "doccomm", "nonshppict", "shpinst", "bkmkstart", "bkmkend", "field_inst", "xe", "tc",
})
_SPECIAL_WORDS = {
    "par": "\n", "line": "\n", "tab": "\t", "emdash": "\u2014", "endash": "\u2013",
    "emspace": "\u2003", "enspace": "\u2002", "qmspace": "\u2005", "bullet": "\u2022",
    "lquote": "\u2018", "rquote": "\u2019", "ldblquote": "\u201c", "rdblquote": "\u201d",
    "zwj": "\u200d", "zwnj": "\u200c", "sect": "\n", "row": "\n", "cell": "\t",
}
_SPECIAL_SYMBOLS = {b"\\": "\\", b"{": "{", b"}": "}", b"~": "\u00a0", b"_": "\u2011",
                    b"\n": "\n", b"\r": "\n", b"\t": "\t"}
_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"  # 1, 2: control word and its parameter
    rb"|\\'([0-9a-fA-F]{2})"  # 3: hex-escaped byte
    rb"|\\(.)"  # 4: control symbol
    rb"|([{}])"  # 5: group
    rb"|([^\\{}\r\n]+)"  # 6: text
    rb"|[\r\n]+",  # bare line ends carry no meaning in RTF
    re.S,
)


def python_codec(codepage: int | None) -> str | None:
    """The Python codec for a Windows code page number, or None if unknown."""
    if codepage is None:
        return None
    name = {
        20127: "ascii", 28591: "latin-1", 65001: "utf-8", 65000: "utf-7", 1200: "utf-16-le",
        1201: "utf-16-be", 50220: "iso2022_jp", 50221: "iso2022_jp_ext", 50222: "iso2022_jp",
        51932: "euc_jp", 20932: "euc_jp", 52936: "hz", 54936: "gb18030", 936: "gbk",
        949: "cp949", 950: "cp950", 932: "cp932", 1361: "johab", 10000: "mac_roman",
        10001: "shift_jis", 20866: "koi8_r", 21866: "koi8_u", 51949: "euc_kr", 50225: "iso2022_kr",
        51936: "gb2312", 874: "cp874",
    }.get(codepage)
    if name is None and 28592 <= codepage <= 28606:
        name = f"iso8859_{codepage - 28590}"
    if name is None:
        name = f"cp{codepage}"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def rtf_kind(rtf: bytes) -> str:
    """"html" for HTML encapsulated in RTF, "text" for encapsulated text, else "rtf"."""
    head = rtf[:4096]
    if re.search(rb"\\fromhtml1?(?![a-zA-Z])", head):
        return "html"
    if re.search(rb"\\fromtext(?![a-zA-Z])", head):
        return "text"
    return "rtf"


def html_from_rtf(rtf: bytes) -> str | None:
    """The HTML encapsulated in `\\fromhtml1` RTF, or None when the RTF holds no HTML."""
    if rtf_kind(rtf) != "html":
        return None
    return _Reader(rtf, mode="html").run()


def text_from_rtf(rtf: bytes) -> str:
    """Readable plain text of any RTF (the original text for `\\fromtext` RTF)."""
    return _Reader(rtf, mode="text").run()


@dataclass
class _State:
    destination: str = "rtf"
    ignorable: bool = False  # inside a {\* ...} destination
    in_htmltag: bool = False
    htmlrtf: bool = False  # inside \htmlrtf ... \htmlrtf0 (RTF-only rendering)
    codepage: int | None = None  # of the current font
    uc: int = 1  # fallback characters after \uN
    first: bool = False  # the next control word starts the group
    star: bool = False  # saw \* at the start of this group


@dataclass
class _Reader:
    rtf: bytes
    mode: str  # "html" or "text"
    default_cp: int = 1252
    fonts: dict[int, int] = field(default_factory=dict)
    out: list[str] = field(default_factory=list)
    pending: bytearray = field(default_factory=bytearray)
    pending_cp: int | None = None
    skip: int = 0  # fallback characters still to skip after \uN
    font_being_defined: int | None = None

    def run(self) -> str:
        self.rtf = self.rtf.rstrip(b"\x00")
        m = re.search(rb"\\ansicpg(\d+)", self.rtf[:4096])
        if m:
            self.default_cp = int(m.group(1))
        state = _State()
        stack: list[_State] = []
        for tok in _TOKEN.finditer(self.rtf):
            word, param, hexbyte, symbol, group, text = tok.groups()
            if group is not None:
                self._flush()
                self.skip = 0
                if group == b"{":
                    stack.append(state)
                    state = replace(state, first=True, star=False)
                else:
                    if state.destination == "fonttbl":
                        self.font_being_defined = None
                    state = stack.pop() if stack else state
                continue
            if word is not None:
                state = self._control_word(state, word.decode("ascii"), None if param is None else int(param))
                continue
            was_first = state.first
            state.first = False
            if hexbyte is not None:
                if self.skip:
                    self.skip -= 1
                    continue
                self._add_bytes(state, bytes([int(hexbyte, 16)]))
            elif symbol is not None:
                if symbol == b"*":
                    state.star = True
                    state.first = was_first
                    continue
                if self.skip:
                    self.skip -= 1
                    continue
                char = _SPECIAL_SYMBOLS.get(symbol)
                if char is not None:
                    self._emit(state, char)
            elif text is not None:
                if self.skip:
                    n = min(self.skip, len(text))
                    self.skip -= n
                    text = text[n:]
                if text:
                    self._add_bytes(state, text)
        self._flush()
        return _fix_surrogates("".join(self.out)).replace("\x00", "")

    def _control_word(self, state: _State, word: str, param: int | None) -> _State:
        first = state.first
        state.first = False
        if first:
            # A destination: the group's first control word (after an optional \*).
            if word in ("htmltag",):
                state.destination = "htmltag"
                state.in_htmltag = True
                state.ignorable = False
                return state
            if state.star or word in _SKIP_DESTINATIONS:
                state.destination = word
                state.ignorable = True
                if word == "fonttbl":
                    self.font_being_defined = None
                return state
        if word == "u" and param is not None:
            self._flush()
            if self._visible(state):
                self.out.append(chr(param + 65536 if param < 0 else param))
            self.skip = state.uc
            return state
        self._flush()
        self.skip = 0
        if word == "htmlrtf":
            state.htmlrtf = param != 0
        elif word == "uc" and param is not None:
            state.uc = max(param, 0)
        elif word == "f" and param is not None:
            if state.destination == "fonttbl":
                self.font_being_defined = param
            else:
                state.codepage = self.fonts.get(param)
        elif word == "fcharset" and param is not None and self.font_being_defined is not None:
            cp = _CHARSET_CODEPAGE.get(param)
            if cp is not None and param != 0:
                self.fonts[self.font_being_defined] = cp
        elif word == "cpg" and param is not None and self.font_being_defined is not None:
            self.fonts[self.font_being_defined] = param
        elif word in _SPECIAL_WORDS:
            self._emit(state, _SPECIAL_WORDS[word])
        return state

    def _visible(self, state: _State) -> bool:
        if state.htmlrtf:
            return False
        if self.mode == "html" and state.in_htmltag:
            return True
        return not state.ignorable and state.destination not in _SKIP_DESTINATIONS

    def _add_bytes(self, state: _State, data: bytes) -> None:
        if not self._visible(state):
            return
        # Inside htmltag groups [MS-OXRTFEX] uses the document code page, elsewhere the font's.
        cp = self.default_cp if state.in_htmltag or state.codepage is None else state.codepage
        if self.pending and cp != self.pending_cp:
            self._flush()
        self.pending_cp = cp
        self.pending += data

    def _emit(self, state: _State, text: str) -> None:
        self._flush()
        if self._visible(state):
            self.out.append(text)

    def _flush(self) -> None:
        if not self.pending:
            return
        codec = python_codec(self.pending_cp) or "cp1252"
        self.out.append(bytes(self.pending).decode(codec, errors="replace"))
        self.pending.clear()


def _fix_surrogates(text: str) -> str:
    """Join UTF-16 surrogate pairs written as two \\uN escapes."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
