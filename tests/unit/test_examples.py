"""The sample stores in examples/ read as the Japanese they were meant to say.

Issue 18 item 9: the demo's subjects once decoded to nonsense (後積作 for 見積書, 伺引先 for 取引先)
because their base64 had been typed by hand. Every message of every example store is parsed here
with Python's `email` package (policy=default): each header and each text part must decode without
a defect, without U+FFFD or a stray surrogate, must survive a round trip through its own charset,
and the subjects, senders and bodies must be the intended text. The committed stores must also be
exactly what examples/make_examples.py writes, so they cannot drift from tests/support/corpus.py.
"""

from __future__ import annotations

import base64
import email.charset
import email.header
import importlib.util
import mailbox
import quopri
import re
from collections import Counter
from email import policy
from email.errors import InvalidDateDefect
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# The intended subjects of each store (sample_items() in tests/support/corpus.py), as a multiset.
EXPECTED_SUBJECTS = Counter([
    "Welcome", "見積書", "From line in body", "No date", "No message-id", "Deleted one",
    "Re: Welcome", "取引先への連絡", "見積もり", "Odd date",
])
# Subject -> (display name of the sender, text the body must contain)
EXPECTED_JAPANESE = {
    "見積書": ("山田", "お世話になっております。\n見積書を送ります。\n"),
    "取引先への連絡": ("", "取引先への連絡です。"),
    "見積もり": ("Taro", "よろしくお願いします"),
}
ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=")


def _messages(store: str) -> list[tuple[str, bytes]]:
    """(where, raw bytes) of every message in examples/<store>."""
    root = EXAMPLES / store
    out: list[tuple[str, bytes]] = []
    if store == "Maildir":
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.parent.name in ("cur", "new") and not path.name.startswith("."):
                out.append((str(path.relative_to(EXAMPLES)), path.read_bytes()))
    else:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                box = mailbox.mbox(path, create=False)
                try:
                    out += [(f"{path.relative_to(EXAMPLES)}#{i}", box.get_bytes(key)) for i, key in enumerate(box.keys())]
                finally:
                    box.close()
    return out


def _all_messages() -> list[tuple[str, bytes]]:
    return _messages("Maildir") + _messages("mbox")


def _clean(text: str, where: str) -> None:
    assert "\ufffd" not in text, f"{where}: U+FFFD in {text!r}"
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text), f"{where}: undecodable bytes in {text!r}"


def _parse(raw: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return msg


def test_every_example_store_holds_the_intended_subjects() -> None:
    for store in ("Maildir", "mbox"):
        subjects = Counter(str(_parse(raw)["Subject"]) for _where, raw in _messages(store))
        assert subjects == EXPECTED_SUBJECTS, store


@pytest.mark.parametrize("where,raw", _all_messages(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_header_and_text_part_decodes_cleanly(where: str, raw: bytes) -> None:
    msg = _parse(raw)
    for name, value in msg.items():
        text = str(value)
        _clean(text, f"{where} {name}")
        defects = [d for d in getattr(value, "defects", ()) if not isinstance(d, InvalidDateDefect)]
        assert not defects, f"{where} {name}: {defects}"  # "Odd date" is odd on purpose
    for part in msg.walk():
        if part.get_content_maintype() != "text":
            continue
        charset = part.get_content_charset("us-ascii")
        text = part.get_content()
        _clean(text, f"{where} body")
        # the decoded text is what its own charset says: re-encoding it gives the same text back
        assert text.encode(charset).decode(charset) == text, where
        assert part.get_payload(decode=True).decode(charset) == text, where  # strict, not 'replace'


@pytest.mark.parametrize("where,raw", _all_messages(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_encoded_word_is_valid_in_its_charset_and_round_trips(where: str, raw: bytes) -> None:
    head = raw.replace(b"\r\n", b"\n").partition(b"\n\n")[0]
    for charset, enc, payload in ENCODED_WORD.findall(head):
        cs = charset.decode("ascii")
        data = base64.b64decode(payload, validate=True) if enc in b"Bb" else quopri.decodestring(payload, header=True)
        text = data.decode(cs)  # strict: a hand-typed byte that is not JIS/SJIS fails here
        _clean(text, where)
        assert text.encode(cs) == data, f"{where}: {charset!r} word does not round-trip"
        # and Python's own encoder in that charset reads back to the same text
        ours = email.charset.Charset(cs).header_encode(text)
        assert str(email.header.make_header(email.header.decode_header(ours))) == text, where


@pytest.mark.parametrize("store", ["Maildir", "mbox"])
def test_japanese_messages_say_what_was_meant(store: str) -> None:
    seen = set()
    for where, raw in _messages(store):
        msg = _parse(raw)
        subject = str(msg["Subject"])
        if subject not in EXPECTED_JAPANESE:
            continue
        name, body = EXPECTED_JAPANESE[subject]
        assert msg["From"].addresses[0].display_name == name, where
        assert body in msg.get_body(("plain",)).get_content().replace("\r\n", "\n"), where
        seen.add(subject)
    assert seen == set(EXPECTED_JAPANESE), store


def test_examples_are_what_make_examples_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_examples(tmp_path)

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and p.parts[len(root.parts)] in ("mbox", "Maildir")}

    assert files(tmp_path) == files(EXAMPLES), "examples/ is stale: run python3 examples/make_examples.py"
