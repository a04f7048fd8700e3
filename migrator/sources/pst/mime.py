"""Build an RFC 5322 / MIME message from an Outlook item's MAPI properties (pure, no libpff).

`pst.py` copies what it needs out of libpff into the plain dataclasses below; `build_message()`
turns them into bytes:

- With transport headers (mail that arrived by POP/SMTP) the original header block is kept
  byte for byte, except the headers that described the original body structure
  (Content-Type, Content-Transfer-Encoding, MIME-Version, ...), which are replaced by ours.
- Without them (Sent Items, drafts, items written in Outlook) From/To/Cc/Subject/Date/
  Message-ID/In-Reply-To/References are synthesized from the MAPI properties, RFC 2047-encoded.
- Bodies: text and/or HTML (multipart/alternative), HTML recovered from `\\fromhtml1` RTF, inline
  images as multipart/related with their Content-ID, other RTF as readable text plus the RTF as a
  file. Attachments get RFC 2231 file names; embedded messages become message/rfc822 parts.

The output is deterministic (boundaries and synthesized ids derive from the content), with CRLF
line ends and no line over 998 octets outside attachments' original headers.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import email.utils
import hashlib
import mimetypes
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.header import Header

from migrator.domain.headers import EPOCH_FALLBACK
from migrator.sources.pst import rtf as rtflib

TO, CC, BCC = 1, 2, 3

# Transport headers that described the original body structure: replaced by ours.
_STRUCTURE_HEADERS = frozenset({
    "content-type", "content-transfer-encoding", "mime-version", "content-disposition",
    "content-length", "content-md5", "content-id", "content-description",
})
_MIME_NAMES = {
    "ascii": "us-ascii", "latin-1": "iso-8859-1", "utf-8": "utf-8", "iso2022_jp": "iso-2022-jp",
    "iso2022_jp_ext": "iso-2022-jp", "euc_jp": "euc-jp", "cp932": "shift_jis", "shift_jis": "shift_jis",
    "gbk": "gbk", "gb2312": "gb2312", "gb18030": "gb18030", "cp949": "ks_c_5601-1987", "euc_kr": "euc-kr",
    "cp950": "big5", "big5": "big5", "koi8-r": "koi8-r", "koi8-u": "koi8-u", "mac-roman": "macintosh",
    "iso2022_kr": "iso-2022-kr", "johab": "johab", "cp874": "windows-874", "hz": "hz-gb-2312",
}
_MIME_TYPE = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_LINE = re.compile(r"^[\x21-\x39\x3b-\x7e]+:")


@dataclass
class Recipient:
    name: str = ""
    address: str = ""  # SMTP address, "" when the store has none
    kind: int = TO  # TO, CC or BCC


@dataclass
class Attachment:
    filename: str = ""
    data: bytes = b""
    mime_type: str = ""  # PR_ATTACH_MIME_TAG
    content_id: str = ""  # PR_ATTACH_CONTENT_ID, without angle brackets
    embedded: MapiMessage | None = None  # attach method 5
    embedded_raw: bytes | None = None  # an embedded message already in RFC 5322 form


@dataclass
class MapiMessage:
    """The MAPI properties of one item that matter for mail, already decoded to Python types."""

    message_class: str = "IPM.Note"
    subject: str | None = None
    transport_headers: str | None = None  # PR_TRANSPORT_MESSAGE_HEADERS
    from_name: str = ""  # PR_SENT_REPRESENTING_NAME
    from_address: str = ""  # its SMTP address
    sender_name: str = ""  # PR_SENDER_NAME
    sender_address: str = ""
    account: str = ""  # PidLidInternetAccountName: the account an Outlook item belongs to
    recipients: list[Recipient] = field(default_factory=list)
    display_to: str = ""  # PR_DISPLAY_TO etc.: used only when the recipient table is missing
    display_cc: str = ""
    display_bcc: str = ""
    submit_time: datetime | None = None  # PR_CLIENT_SUBMIT_TIME
    delivery_time: datetime | None = None  # PR_MESSAGE_DELIVERY_TIME
    creation_time: datetime | None = None
    message_id: str = ""  # PR_INTERNET_MESSAGE_ID
    in_reply_to: str = ""
    references: str = ""
    importance: int | None = None  # 0 low, 1 normal, 2 high
    body_text: str | None = None  # PR_BODY
    body_html: bytes | None = None  # PR_HTML, bytes in the internet code page
    body_rtf: bytes | None = None  # decompressed PR_RTF_COMPRESSED
    internet_cpid: int | None = None  # PR_INTERNET_CPID
    message_cpid: int | None = None  # PR_MESSAGE_CODEPAGE
    search_key: bytes = b""  # PR_SEARCH_KEY: stable, used for a synthesized Message-ID
    attachments: list[Attachment] = field(default_factory=list)

    def header_date(self) -> datetime:
        """The date the item was written or sent: never the time of the conversion."""
        for dt in (self.submit_time, self.delivery_time, self.creation_time):
            if dt is not None:
                return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
        return EPOCH_FALLBACK


@dataclass
class _Part:
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | bytearray = b""  # bytearray: base64 of a big attachment, not copied again
    subtype: str = ""  # multipart subtype when it has children
    children: list[_Part] = field(default_factory=list)


# ----------------------------------------------------------------------------- entry point


def build_message(msg: MapiMessage, _depth: int = 0) -> bytes:
    """The message as RFC 5322 bytes with CRLF line ends."""
    root = _smime_part(msg) or _content_part(msg, _depth)
    if msg.transport_headers and msg.transport_headers.strip():
        head = _transport_header_block(msg)
    else:
        head = _synthesized_headers(msg)
    head.append(b"MIME-Version: 1.0")
    out: list[bytes | bytearray] = [b"\r\n".join(head), b"\r\n"]
    _serialize(root, out)
    return b"".join(out)  # the one copy of a big attachment's encoded bytes


# ----------------------------------------------------------------------------- headers


def _transport_header_block(msg: MapiMessage) -> list[bytes]:
    """The original headers minus those describing the old body, plus any required ones missing."""
    text = (msg.transport_headers or "").replace("\r\n", "\n").replace("\r", "\n")
    text = text.split("\n\n", 1)[0].strip("\n")
    kept: list[str] = []
    names: set[str] = set()
    drop = False
    for line in text.split("\n"):
        if line[:1] in (" ", "\t"):
            if kept and not drop:
                kept[-1] += "\r\n" + line
            continue
        if not _HEADER_LINE.match(line):
            drop = True  # not a header line (an mbox "From " line, garbage): leave it out
            continue
        name = line.split(":", 1)[0].strip().lower()
        drop = name in _STRUCTURE_HEADERS
        if not drop:
            kept.append(line)
            names.add(name)
    out = [_header_bytes(h) for h in kept]
    if "from" not in names:
        out.append(_ascii(f"From: {_from_value(msg)}"))
    if "date" not in names:
        out.append(_ascii(f"Date: {email.utils.format_datetime(_utc(msg.header_date()))}"))
    if "subject" not in names:
        out.append(_ascii(_encoded_header("Subject", msg.subject or "")))
    if "message-id" not in names and msg.message_id.strip():
        out.append(_ascii(f"Message-ID: {_angle(msg.message_id)}"))
    return out


def _synthesized_headers(msg: MapiMessage) -> list[bytes]:
    lines: list[str] = [f"From: {_from_value(msg)}"]
    sender = _mailbox(msg.sender_name, msg.sender_address)
    if msg.sender_address and msg.from_address and msg.sender_address.lower() != msg.from_address.lower():
        lines.append(f"Sender: {sender}")
    for kind, name in ((TO, "To"), (CC, "Cc"), (BCC, "Bcc")):
        addrs = _recipient_values(msg, kind)
        if addrs:
            lines.append(f"{name}: " + ",\r\n ".join(addrs))
    lines.append(_encoded_header("Subject", msg.subject or ""))
    lines.append(f"Date: {email.utils.format_datetime(_utc(msg.header_date()))}")
    lines.append(f"Message-ID: {_angle(msg.message_id) if msg.message_id.strip() else _synthetic_id(msg)}")
    if msg.in_reply_to.strip():
        lines.append(f"In-Reply-To: {_fold_ids(msg.in_reply_to)}")
    if msg.references.strip():
        lines.append(f"References: {_fold_ids(msg.references)}")
    if msg.importance == 2:
        lines += ["Importance: high", "X-Priority: 1"]
    elif msg.importance == 0:
        lines += ["Importance: low", "X-Priority: 5"]
    return [_ascii(line) for line in lines]


def _from_value(msg: MapiMessage) -> str:
    if msg.from_address:
        return _mailbox(msg.from_name or msg.sender_name, msg.from_address)
    if msg.sender_address:
        return _mailbox(msg.sender_name or msg.from_name, msg.sender_address)
    name = msg.from_name or msg.sender_name
    if _looks_like_address(name):
        return _mailbox("", name)
    if _looks_like_address(msg.account):
        return _mailbox(name, msg.account)
    # No address at all (an unsent Outlook item): an RFC 6854 group keeps the name visible.
    return _group(name or "undisclosed-sender")


def _recipient_values(msg: MapiMessage, kind: int) -> list[str]:
    if msg.recipients:
        return [_mailbox(r.name, r.address) if r.address else _name_only(r.name)
                for r in msg.recipients if r.kind == kind and (r.name or r.address)]
    display = {TO: msg.display_to, CC: msg.display_cc, BCC: msg.display_bcc}[kind]
    return [_name_only(part.strip()) for part in display.split(";") if part.strip()]


def _name_only(name: str) -> str:
    return _mailbox("", name) if _looks_like_address(name) else _group(name)


def _mailbox(name: str, address: str) -> str:
    name = " ".join(name.split())
    if name.strip("'\" ").lower() == address.lower():
        name = ""
    return email.utils.formataddr((name, address), charset="utf-8")


def _group(name: str) -> str:
    name = " ".join(name.split()) or "undisclosed-recipients"
    if name.isascii():
        phrase = name if re.fullmatch(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+", name) else _quote(name)
    else:
        phrase = Header(name, "utf-8").encode(linesep="\r\n")
    return f"{phrase}:;"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _looks_like_address(text: str) -> bool:
    return bool(re.fullmatch(r"[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\"]+", text.strip()))


def _encoded_header(name: str, value: str) -> str:
    value = value.replace("\r", " ").replace("\n", " ")
    if value.isascii() and len(value) + len(name) < 900:
        return f"{name}: {value}"
    return f"{name}: " + Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


def _angle(msgid: str) -> str:
    msgid = msgid.strip()
    return msgid if msgid.startswith("<") else f"<{msgid}>"


def _fold_ids(ids: str) -> str:
    found = re.findall(r"<[^<>]+>", ids) or [_angle(i) for i in ids.split()]
    return "\r\n ".join(found)


def _synthetic_id(msg: MapiMessage) -> str:
    seed = msg.search_key or repr((msg.subject, msg.from_address, msg.from_name, msg.header_date(),
                                   msg.body_text, msg.body_html)).encode("utf-8", "replace")
    return f"<{hashlib.sha256(seed).hexdigest()[:32]}@pst.migrator.invalid>"


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(timezone.utc) if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _header_bytes(header: str) -> bytes:
    """An original header line: ASCII as is; anything else as UTF-8 (RFC 6532) rather than lost."""
    return header.encode("ascii") if header.isascii() else header.encode("utf-8")


def _ascii(line: str) -> bytes:
    return line.encode("ascii", "replace") if not line.isascii() else line.encode("ascii")


# ----------------------------------------------------------------------------- bodies


def _content_part(msg: MapiMessage, depth: int) -> _Part:
    text, html, extra = _bodies(msg)
    inline: list[Attachment] = []
    regular: list[Attachment] = []
    html_lower = html[0].lower() if html else b""
    for att in msg.attachments:
        cid = att.content_id.strip("<> ")
        if html and cid and att.embedded is None and b"cid:" + cid.lower().encode("utf-8", "replace") in html_lower:
            inline.append(att)
        else:
            regular.append(att)
    html_part: _Part | None = None
    if html is not None:
        html_part = _leaf("text/html", html[0], html[1])
        if inline:
            related = [html_part] + [_attachment_part(a, depth, True) for a in inline]
            html_part = _Part(subtype="related", children=related)
    text_part = _leaf("text/plain", *_encode_text(text, msg)) if text is not None else None
    if text_part and html_part:
        body = _Part(subtype="alternative", children=[text_part, html_part])
    else:
        body = html_part or text_part or _leaf("text/plain", b"", "us-ascii")
    parts = [_attachment_part(a, depth, False) for a in regular] + extra
    if not parts:
        return body
    return _Part(subtype="mixed", children=[body] + parts)


def _bodies(msg: MapiMessage) -> tuple[str | None, tuple[bytes, str] | None, list[_Part]]:
    """(plain text, (html bytes, charset), extra parts such as the RTF body as a file)."""
    text = msg.body_text
    if text is not None and not text.strip("\r\n\x00 "):
        text = text if not (msg.body_html or msg.body_rtf) else None
    html: tuple[bytes, str] | None = None
    extra: list[_Part] = []
    if msg.body_html:
        html = (msg.body_html.rstrip(b"\x00"), _html_charset(msg.body_html, msg))
    elif msg.body_rtf:
        kind = rtflib.rtf_kind(msg.body_rtf)
        recovered = rtflib.html_from_rtf(msg.body_rtf) if kind == "html" else None
        if recovered is not None and not re.search(r"<[A-Za-z!/]", recovered):
            # Outlook also wraps plain text as "HTML" (a lone \htmltag64): it is text, keep its lines.
            text = text if text is not None else recovered
        elif recovered is not None:
            html = _encode_html(recovered, msg)
        else:
            if text is None:
                text = rtflib.text_from_rtf(msg.body_rtf)
            if kind == "rtf":
                rtf_file = Attachment(filename="body.rtf", data=msg.body_rtf.rstrip(b"\x00"),
                                      mime_type="application/rtf")
                extra.append(_attachment_part(rtf_file, 0, False))
    return text, html, extra


def _preferred_codec(msg: MapiMessage) -> str | None:
    """The message's own internet charset, when it is one MIME readers know."""
    codec = rtflib.python_codec(msg.internet_cpid) if msg.internet_cpid else None
    if codec is None or codec.startswith("utf-16") or codec == "utf-7":
        return None
    if codec in _MIME_NAMES or codec.startswith(("cp125", "iso8859")):
        return codec
    return None


def _mime_charset(codec: str) -> str:
    if codec in _MIME_NAMES:
        return _MIME_NAMES[codec]
    if codec.startswith("cp125"):
        return "windows-" + codec[2:]
    if codec.startswith("iso8859_"):
        return "iso-8859-" + codec[8:]
    return codec


def _encode_text(text: str | None, msg: MapiMessage) -> tuple[bytes, str]:
    """Text in the message's own charset when it fits exactly, else UTF-8."""
    text = (text or "").replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii():
        return text.encode("ascii"), "us-ascii"
    codec = _preferred_codec(msg)
    if codec and codec != "ascii":
        try:
            data = text.encode(codec)
            if data.decode(codec) == text:
                return data, _mime_charset(codec)
        except (UnicodeError, LookupError):
            pass
    return text.encode("utf-8"), "utf-8"


def _encode_html(html: str, msg: MapiMessage) -> tuple[bytes, str]:
    data, charset = _encode_text(html, msg)

    def fix(m: re.Match[bytes]) -> bytes:
        return m.group(0)[: m.start(1) - m.start(0)] + charset.encode("ascii")

    return _META_CHARSET.sub(fix, data), charset


def _html_charset(html: bytes, msg: MapiMessage) -> str:
    """The charset PR_HTML is written in: PR_INTERNET_CPID if the bytes agree, else the <meta>."""
    candidates: list[str] = []
    codec = rtflib.python_codec(msg.internet_cpid)
    if codec and not codec.startswith("utf-16"):
        candidates.append(codec)
    m = _META_CHARSET.search(html[:4096])
    if m:
        with contextlib.suppress(LookupError):
            candidates.append(codecs.lookup(m.group(1).decode("ascii")).name)
    candidates += ["utf-8", "cp1252"]
    for codec in candidates:
        try:
            html.decode(codec)
        except (UnicodeError, LookupError):
            continue
        if codec == "ascii" and not html.isascii():
            continue
        return _mime_charset(codec)
    return "utf-8"


def _leaf(content_type: str, data: bytes, charset: str) -> _Part:
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    cte, body = _encode_body(data)
    return _Part(headers=[("Content-Type", f'{content_type}; charset="{charset}"'),
                          ("Content-Transfer-Encoding", cte)], body=body)


def _encode_body(data: bytes) -> tuple[str, bytes | bytearray]:
    """Pick 7bit / quoted-printable / base64 for text (data has LF line ends)."""
    long_lines = any(len(line) > 900 for line in data.split(b"\n"))
    if data.isascii() and not long_lines:
        return "7bit", data.replace(b"\n", b"\r\n")
    if sum(1 for b in data if b > 127) * 5 < len(data):
        qp = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
        return "quoted-printable", qp.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return "base64", _b64(data)


def _b64(data: bytes) -> bytes | bytearray:
    """base64.encodebytes with CRLF line ends (76-character lines, RFC 2045 6.8), encoded block by
    block into one buffer of the exact size: a big attachment costs its encoded size once, not
    three times (encodebytes, then replace)."""
    full, rest = divmod(len(data), 57)  # 57 input bytes per line of 76 characters + CRLF
    out = bytearray(full * 78 + ((rest + 2) // 3 * 4 + 2 if rest else 0))
    step = 57 * 4096
    pos = 0
    with memoryview(data) as view:
        for i in range(0, len(data), step):
            block = base64.encodebytes(view[i : i + step]).replace(b"\n", b"\r\n")
            out[pos : pos + len(block)] = block
            pos += len(block)
    return out


# ----------------------------------------------------------------------------- attachments


def _attachment_part(att: Attachment, depth: int, inline: bool) -> _Part:
    if att.embedded is not None or att.embedded_raw is not None:
        if att.embedded_raw is not None:
            inner = att.embedded_raw
        else:
            assert att.embedded is not None
            inner = build_message(att.embedded, depth + 1) if depth < 16 else b""
        inner = re.sub(rb"\r?\n", b"\r\n", inner)
        subject = att.embedded.subject if att.embedded is not None else ""
        name = att.filename or _safe_filename(subject or "message") + ".eml"
        headers = [("Content-Type", "message/rfc822"),
                   ("Content-Transfer-Encoding", "7bit" if inner.isascii() else "8bit"),
                   ("Content-Disposition", "attachment" + _filename_param("filename", name))]
        return _Part(headers=headers, body=inner)
    filename = att.filename or "attachment"
    ctype = att.mime_type.strip().lower()
    if not _MIME_TYPE.match(ctype):
        ctype = mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"
    headers = [("Content-Type", ctype + _name_param(filename)),
               ("Content-Transfer-Encoding", "base64"),
               ("Content-Disposition", ("inline" if inline else "attachment") + _filename_param("filename", filename))]
    cid = att.content_id.strip("<> ")
    if cid:
        headers.append(("Content-ID", f"<{cid}>"))
    return _Part(headers=headers, body=_b64(att.data))


def _safe_filename(text: str) -> str:
    text = re.sub(r'[\x00-\x1f/\\:*?"<>|]+', "_", text).strip(" .")
    return text[:120] or "message"


def _name_param(filename: str) -> str:
    """Content-Type name= (RFC 2047 when needed: what older clients read)."""
    if filename.isascii():
        return f"; name={_quote(filename)}"
    return '; name="' + Header(filename, "utf-8").encode(linesep="\r\n\t") + '"'


def _filename_param(param: str, filename: str) -> str:
    """Content-Disposition filename: RFC 2231 (with continuations) when not plain ASCII."""
    filename = filename.replace("\r", " ").replace("\n", " ")
    if filename.isascii() and len(filename) < 200:
        return f";\r\n {param}={_quote(filename)}"
    encoded = urllib.parse.quote(filename, safe="!#$&+-.^_`|~")
    chunks: list[str] = []
    while encoded:
        cut = min(60, len(encoded))
        while cut < len(encoded) and "%" in encoded[cut - 2:cut]:
            cut -= 1  # never split a %XX triplet
        chunks.append(encoded[:cut])
        encoded = encoded[cut:]
    if len(chunks) == 1:
        return f";\r\n {param}*=utf-8''{chunks[0]}"
    return "".join(f";\r\n {param}*{i}*={'utf-8' + chr(39) * 2 if i == 0 else ''}{c}" for i, c in enumerate(chunks))


# ----------------------------------------------------------------------------- S/MIME


def _smime_part(msg: MapiMessage) -> _Part | None:
    """S/MIME items keep the signed/encrypted blob Outlook stored as their single attachment."""
    cls = msg.message_class.lower()
    if not cls.startswith("ipm.note.smime") or not msg.attachments:
        return None
    blob = next((a for a in msg.attachments if a.embedded is None and a.data), None)
    if blob is None:
        return None
    if cls.startswith("ipm.note.smime.multipartsigned"):
        data = re.sub(rb"\r?\n", b"\r\n", blob.data)
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep and re.search(rb"(?im)^content-type:\s*multipart/signed", head):
            headers = []
            for raw in re.split(rb"\r\n(?![ \t])", head):
                name, _, value = raw.decode("latin-1").partition(":")
                headers.append((name.strip(), value.strip()))
            return _Part(headers=headers, body=body)
        return None
    headers = [("Content-Type", 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"'),
               ("Content-Transfer-Encoding", "base64"),
               ("Content-Disposition", 'attachment; filename="smime.p7m"')]
    return _Part(headers=headers, body=_b64(blob.data))


# ----------------------------------------------------------------------------- serializing


def _serialize(part: _Part, out: list[bytes | bytearray]) -> None:
    """Append to `out` the headers of `part`, a blank line, then its body (children joined by a
    content-derived boundary). Pieces, not bytes joined at every level: a big attachment is
    copied once, by build_message's join."""
    if not part.children:
        out += [b"".join(f"{k}: {v}\r\n".encode("ascii", "replace") for k, v in part.headers), b"\r\n", part.body]
        return
    children: list[list[bytes | bytearray]] = []
    digest = hashlib.sha256()  # of the children joined by NUL bytes, hashed piece by piece
    for i, c in enumerate(part.children):
        pieces: list[bytes | bytearray] = []
        _serialize(c, pieces)
        if i:
            digest.update(b"\0")
        for piece in pieces:
            digest.update(piece)
        children.append(pieces)
    boundary = f"=_pst_{part.subtype}_{digest.hexdigest()[:28]}"
    out += [f'Content-Type: multipart/{part.subtype};\r\n boundary="{boundary}"\r\n'.encode("ascii"), b"\r\n"]
    for pieces in children:
        out.append(f"--{boundary}\r\n".encode("ascii"))
        out += pieces
        out.append(b"\r\n")
    out.append(f"--{boundary}--\r\n".encode("ascii"))
