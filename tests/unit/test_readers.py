"""Parsers fed hand-made tricky messages: From lines in bodies, folded headers, 8-bit/ISO-2022-JP/
Shift_JIS content, missing Message-ID and Date, odd dates, equal Message-IDs."""

from __future__ import annotations

import io
import os
import random
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from migrator.domain.errors import SourceError
from migrator.domain.headers import (
    EPOCH_FALLBACK,
    choose_date,
    header_block,
    header_value,
    header_values,
    message_id,
    parse_date,
    read_file,
)
from migrator.imap import utf7
from migrator.sources import detect_kind, open_source
from migrator.sources.maildir.reader import MaildirSource, parse_name
from migrator.sources.mbox.reader import MboxSource, iter_mbox, status_flags
from tests.support.corpus import (
    Item,
    iso2022jp_message,
    mbox_bytes_as_uploaded,
    msg,
    sample_items,
    sjis_message,
    write_maildirpp,
    write_mbox,
    write_mbox_tree,
)


def test_iter_mbox_splits_only_on_real_from_lines_and_unquotes():
    data = (b"From a@b Mon Jan  1 10:00:00 2024\nSubject: one\n\nbody\n\nFrom the desk of me\n>From quoted\n"
            b">>From double\n\nFrom c@d Tue Jan  2 10:00:00 2024\nSubject: two\n\nx\n\n")
    msgs = list(iter_mbox(io.BytesIO(data)))
    assert len(msgs) == 2
    assert msgs[0][2] == b"Subject: one\n\nbody\n\nFrom the desk of me\nFrom quoted\n>From double\n"
    assert msgs[1][0] == data.index(b"From c@d")
    assert msgs[1][2] == b"Subject: two\n\nx\n"


def test_iter_mbox_rejects_non_mbox():
    with pytest.raises(SourceError):
        list(iter_mbox(io.BytesIO(b"Subject: not an mbox\n\n")))


def test_status_headers_to_flags():
    raw = b"Status: RO\nX-Status: AF\nSubject: x\n\n"
    flags, deleted = status_flags(raw)
    assert flags == {"\\Seen", "\\Answered", "\\Flagged"} and not deleted
    assert status_flags(b"X-Status: D\n\n")[1] is True
    flags, deleted = status_flags(b"X-Mozilla-Status: 0005\nX-Mozilla-Keys: $label1 work\n\n")
    assert flags == {"\\Seen", "\\Flagged", "$label1", "work"} and not deleted
    assert status_flags(b"X-Mozilla-Status: 0009\n\n")[1] is True


def test_folded_headers_and_message_id():
    raw = b"Subject: a\n  folded\nMessage-ID:\n <abc@x>\n\nbody"
    assert header_value(raw, "subject") == "a folded"
    assert message_id(raw) == "<abc@x>"
    assert message_id(b"Subject: none\n\n") is None


@pytest.mark.parametrize("text,expected", [
    ("Mon, 01 Jan 2024 10:00:00 +0900", datetime(2024, 1, 1, 1, 0, tzinfo=timezone.utc)),
    ("1 Jan 2024 10:00:00 GMT", datetime(2024, 1, 1, 10, 0, tzinfo=timezone.utc)),
    ("2023/04/05 10:11:12", datetime(2023, 4, 5, 10, 11, 12, tzinfo=timezone.utc)),
    ("garbage", None),
    ("", None),
    ("Thu, 01 Jan 1970 00:00:00 +0000", datetime(1970, 1, 1, tzinfo=timezone.utc)),
])
def test_parse_date(text, expected):
    got = parse_date(text)
    assert (got == expected) if expected else got is None


def test_choose_date_never_now():
    assert choose_date(b"Subject: x\n\n") == EPOCH_FALLBACK
    raw = b"Received: from x by y; Tue, 05 Mar 2019 09:15:00 +0900\nSubject: x\n\n"
    assert choose_date(raw).year == 2019


def test_utf7_roundtrip():
    for name in ["取引先", "Ａ社", "Work & Play", "送信済みアイテム", "plain", "a&b", "日本語 mixed &"]:
        assert utf7.decode(utf7.encode(name)) == name
    assert utf7.encode("Work & Play") == "Work &- Play"
    assert utf7.encode("取引先") == "&U9ZfFVFI-"  # as imapclient and Dovecot write it


def test_maildir_name_parsing():
    assert parse_name("123.M1.host:2,FRS") == ("123.M1.host", frozenset({"\\Flagged", "\\Answered", "\\Seen"}), False)
    assert parse_name("123.M1.host:2,ST")[2] is True
    assert parse_name("123.M1.host") == ("123.M1.host", frozenset(), False)


def test_mbox_tree_reader(tmp_path: Path):
    items = sample_items()
    write_mbox_tree(tmp_path, items)
    (tmp_path / "Inbox.msf").write_bytes(b"// mork")
    src = open_source(tmp_path)
    assert isinstance(src, MboxSource)
    folders = {f.path: f for f in src.folders()}
    assert set(folders) == set(items)
    recs = list(src.messages(folders[("Inbox",)]))
    assert len(recs) == len(items[("Inbox",)])
    for rec, it in zip(recs, items[("Inbox",)], strict=True):
        assert rec.raw == mbox_bytes_as_uploaded(it).rstrip(b"\n") + b"\n" or rec.raw == mbox_bytes_as_uploaded(it)
        assert (rec.skip_reason is not None) == it.deleted
        assert rec.flags == it.flags
        assert rec.date.year >= 2019
    # From-line date used as INTERNALDATE
    assert recs[0].date == datetime(2024, 1, 1, 1, 0, tzinfo=timezone.utc)


def test_mbox_single_file_with_sjis_and_jis(tmp_path: Path):
    f = tmp_path / "Inbox.mbox"
    write_mbox(f, [Item(iso2022jp_message()), Item(sjis_message())])
    assert detect_kind(f) == "mbox"
    src = open_source(f)
    (folder,) = src.folders()
    assert folder.path == ("Inbox",)
    recs = list(src.messages(folder))
    assert [message_id(r.raw) for r in recs] == ["<jis-0@example.co.jp>", "<sjis-0@example.co.jp>"]
    assert "取引先".encode("shift_jis") in recs[1].raw


def test_maildirpp_reader(tmp_path: Path):
    items = sample_items()
    write_maildirpp(tmp_path, items)
    src = open_source(tmp_path)
    assert isinstance(src, MaildirSource)
    folders = {f.path: f for f in src.folders()}
    assert set(folders) == {("INBOX",)} | {p for p in items if p != ("Inbox",)}
    recs = list(src.messages(folders[("INBOX",)]))
    assert [r.raw for r in recs] == [it.raw for it in items[("Inbox",)]]
    assert [r.flags for r in recs] == [it.flags for it in items[("Inbox",)]]
    assert [r.skip_reason is not None for r in recs] == [it.deleted for it in items[("Inbox",)]]
    # delivery time from the file name, not now
    assert all(r.date.year == 2022 for r in recs)


def test_same_message_id_two_messages(tmp_path: Path):
    a = msg("one", "first body\n", mid="<same@x>")
    b = msg("two", "second body\n", mid="<same@x>")
    write_mbox(tmp_path / "Inbox", [Item(a), Item(b)])
    src = open_source(tmp_path / "Inbox")
    recs = list(src.messages(src.folders()[0]))
    assert len(recs) == 2 and recs[0].raw != recs[1].raw


def test_source_untouched(tmp_path: Path):
    write_mbox_tree(tmp_path / "mb", sample_items())
    write_maildirpp(tmp_path / "md", sample_items())
    before = {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file()}
    dirs_before = {p: os.stat(p).st_mtime_ns for p in tmp_path.rglob("*") if p.is_dir()}
    for root in (tmp_path / "mb", tmp_path / "md"):
        src = open_source(root)
        for f in src.folders():
            list(src.messages(f))
    after = {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in tmp_path.rglob("*") if p.is_file()}
    assert before == after
    assert dirs_before == {p: os.stat(p).st_mtime_ns for p in tmp_path.rglob("*") if p.is_dir()}


def test_not_a_store(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SourceError):
        open_source(tmp_path / "notes.txt")
    with pytest.raises(SourceError):
        open_source(tmp_path / "missing")


def _header_values_line_by_line(raw: bytes, name: str) -> list[str]:
    """The plain reading of RFC 5322 header lookup that common.header_values must agree with:
    split at the first empty line, walk the lines, unfold continuations."""
    end = re.search(rb"\r?\n\r?\n", raw)
    block = raw[: end.start()] if end else raw
    want = name.lower().encode("ascii") + b":"
    out: list[str] = []
    current: bytearray | None = None
    for line in block.splitlines():
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current += b" " + line.strip()
            continue
        if current is not None:
            out.append(current.decode("latin-1").strip())
            current = None
        if line.lower().startswith(want):
            current = bytearray(line[len(want):].strip())
    if current is not None:
        out.append(current.decode("latin-1").strip())
    return out


def test_header_lookup_agrees_with_the_line_by_line_reading():
    """The fast lookup (one lowercase copy, bytes.find) against the plain loop, on the awkward
    cases (LF, CRLF, lone CR, folding, no blank line, a header name inside a value or the body)
    and on random mixes of them."""
    cases = [
        b"Subject: a\r\n b\rMessage-ID: <x@y>\r\n\r\nbody",
        b"message-id:<a@b>\n\n",
        b"X: 1\n Message-ID: no\nMessage-Id:  <q@w> \n\t(c)\n\nMessage-ID: <body@x>\n",
        b"Subject:\n\n", b"no header end Message-ID: <z>", b"\nMessage-ID: <a>\n\n",
        b"Subject: x\r\rMessage-ID: <r@r>\r\r", b"A: b\r\n\nMessage-ID: <c>", b"A: b\n\r\nMessage-ID: <c>",
        b"\n\r\n\n\t\n\n", b"Received: a;\n\tMon, 1 Jan 2024\nReceived: b\nSubject: s\n\nx",
    ]
    rng = random.Random(7)
    pieces = [b"\r", b"\n", b" ", b"\t", b"a", b":", b"Subject", b"SUBJECT:", b"subject: ", b"Message-ID: <x@y>",
              b"\r\n", b"\n\n"]
    cases += [b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 14))) for _ in range(20000)]
    for raw in cases:
        for name in ("Subject", "Message-ID", "Received"):
            assert header_values(raw, name) == _header_values_line_by_line(raw, name), (raw, name)
        assert header_block(raw) == (raw[: m.start()] if (m := re.search(rb"\r?\n\r?\n", raw)) else raw)


def test_read_file_reads_whole_files_of_any_size(tmp_path: Path):
    for size in (0, 1, 4096, 3 * 1024 * 1024 + 7):
        p = tmp_path / f"f{size}"
        data = os.urandom(size)
        p.write_bytes(data)
        assert read_file(str(p)) == data
