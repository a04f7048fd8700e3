"""mbox message boundaries (issue 15 kind 1): the From_ grammar, the one separator rule, CR-only
files, Content-Length, BOM and leading blank lines, sniffing by content, the X-IMAP pseudo-message,
resume from an offset; property tests against what Python's mailbox, mboxrd writers and
Thunderbird write."""

from __future__ import annotations

import io
import mailbox
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.domain.errors import SourceError
from migrator.sources import detect_kind, open_source
from migrator.sources.mbox.reader import (
    SKIP_EMPTY,
    SKIP_FOLDER_DATA,
    MboxSource,
    from_line_date,
    from_line_time,
    is_from_line,
    is_separator,
    iter_mbox,
    looks_like_mbox,
)

FROM_LINES = [
    b"From user@x Sat Jan  3 01:05:34 1996",
    b"From user@x Sat, 3 Jan 1996 01:05:34 +0000",
    b"From user@x Mon Jan 1 01:00:00 +0000 2024",
    b"From user@x Mon Jan  1 01:00:00 2024 +0000",
    b"From user@x 2024-01-01 10:00:00",
    b"From user@x 2024-01-01T10:00:00+09:00",
    b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011 remote from x",
    b"From - Mon Jan  1 00:00:00 2024",
    b"From ???@??? Mon Jan 01 00:00:00 2024",
    b"From Mon Jan  1 00:00:00 2024",
    b"From user@x Fri Dec 15 19:33:12 MET DST 1995",
    b"From user@x Mon Jan  1 00:00:00 JST 2024",
    b"From user@x Sat Jan  3 01:05:34 96",
    b'From "John Doe"@x Mon Jan  1 00:00:00 2024',
    b"From user@x Mon Jan 1 2024 10:00:00",
    b'From "John Doe" <john@x> Mon Jan  1 00:00:00 2024',
    b"From John Doe <john@x> Mon Jan  1 00:00:00 2024",
    "From 山田 太郎 <taro@x.jp> Mon Jan  1 00:00:00 2024".encode(),
    b"From <> Mon Jan  1 00:00:00 2024",
]
NOT_FROM_LINES = [
    b"From 10:00 to 12:30 on 3 March 2024 we meet in room 3",
    b"From the desk of the president",
    b"From me to you on Mon Jan 1 10:00:00 2024",
    b"From here",
    b"From x Jan 1 we met at 10:00 in 2024",
    b"from user@x Mon Jan  1 00:00:00 2024",
    b">From user@x Mon Jan  1 00:00:00 2024",
    b"From:user@x",
    b"From me <to you> on Mon Jan 1 we met",
]


@pytest.mark.parametrize("line", FROM_LINES)
def test_grammar_accepts_what_exporters_write(line: bytes):
    assert is_from_line(line)
    assert from_line_date(line) is not None


@pytest.mark.parametrize("line", NOT_FROM_LINES)
def test_grammar_rejects_prose(line: bytes):
    assert not is_from_line(line)


@pytest.mark.parametrize("line, want", [
    (b"From user@x Sat Jan  3 01:05:34 1996", datetime(1996, 1, 3, 1, 5, 34, tzinfo=timezone.utc)),
    (b"From user@x Mon Jan  1 09:00:00 2024 +0900", datetime(2024, 1, 1, 0, 0, tzinfo=timezone.utc)),
    (b"From user@x Mon Jan 1 09:00:00 +0900 2024", datetime(2024, 1, 1, 0, 0, tzinfo=timezone.utc)),
    (b"From user@x Mon Jan  1 09:00:00 JST 2024", datetime(2024, 1, 1, 0, 0, tzinfo=timezone.utc)),
    (b"From user@x Sat, 3 Jan 1996 01:05:34 +0100", datetime(1996, 1, 3, 0, 5, 34, tzinfo=timezone.utc)),
    (b"From user@x 2024-01-01T09:00:00+09:00", datetime(2024, 1, 1, 0, 0, tzinfo=timezone.utc)),
    (b"From user@x Sat Jan  3 01:05:34 96", datetime(1996, 1, 3, 1, 5, 34, tzinfo=timezone.utc)),
])
def test_from_line_dates(line: bytes, want: datetime):
    assert from_line_date(line) == want


def test_a_written_zone_is_kept_a_missing_one_left_to_the_date_policy(tmp_path: Path):
    assert from_line_time(b"From a@b Mon Jan  1 09:00:00 2024").tzinfo is None  # type: ignore[union-attr]
    assert from_line_time(b"From a@b Mon Jan  1 09:00:00 2024 +0900") == datetime(2024, 1, 1, tzinfo=timezone.utc)
    f = _write(tmp_path / "Inbox", b"From a@b Mon Jan  1 09:00:00 2024 +0900\n"
               b"Date: Mon, 1 Jan 2024 00:00:01 +0000\nSubject: x\n\nbody\n")
    src = MboxSource(f)
    [rec] = list(src.messages(src.folders()[0]))
    assert rec.date == datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_separator_rule():
    sep = b"From user@x Mon Jan  1 00:00:00 2024"
    assert is_separator(sep, b"Subject: x\n", after_blank=False)  # no blank line before: still one
    assert is_separator(sep, b"Return-Path: <a@b>\r\n", after_blank=True)
    assert is_separator(sep, b">From uucp Mon Jan  1 00:00:00 2024 remote from x\n", after_blank=False)
    assert is_separator(sep, None, after_blank=True)  # an empty entry at the end
    assert is_separator(sep, b"\n", after_blank=True)
    assert not is_separator(sep, b"\n", after_blank=False)
    assert not is_separator(sep, b"was when we met. Thanks\n", after_blank=True)  # prose follows
    assert not is_separator(sep, b"  folded\n", after_blank=True)
    assert not is_separator(b"From 10:00 to 12:30 on 3 March 2024", b"Subject: x\n", after_blank=True)


def _read(data: bytes) -> list[tuple[int, bytes, bytes]]:
    return list(iter_mbox(io.BytesIO(data)))


def test_separator_without_blank_line_before_it():
    data = (b"From a@b Mon Jan  1 10:00:00 2024\nSubject: one\n\nbody\n"
            b"From c@d Tue Jan  2 10:00:00 2024\nSubject: two\n\nx\n")
    msgs = _read(data)
    assert [m[2] for m in msgs] == [b"Subject: one\n\nbody\n", b"Subject: two\n\nx\n"]
    assert msgs[1][0] == data.index(b"From c@d")


def test_unescaped_from_in_body_stays_in_the_body():
    body = (b"Hi all,\n\nFrom 10:00 to 12:30 on 3 March 2024 we meet in room 3.\nBring slides.\n\n"
            b"From user@x Mon Jan  1 10:00:00 2024 was the old date,\nnot a header.\n")
    data = b"From a@b Mon Jan  1 10:00:00 2024\nSubject: meeting\n\n" + body
    assert _read(data) == [(0, b"From a@b Mon Jan  1 10:00:00 2024", b"Subject: meeting\n\n" + body)]


def test_cr_only_file_three_messages_crlf():
    msgs = [b"Subject: m%d\r\rline one\r\rline three\r" % i for i in range(3)]
    data = b"".join(b"From a@b Mon Jan  1 10:00:00 2024\r" + m + b"\r" for m in msgs)
    out = _read(data)
    assert len(out) == 3
    assert [m[2] for m in out] == [m.replace(b"\r", b"\r\n") for m in msgs]
    step = len(data) // 3
    assert [m[0] for m in out] == [0, step, 2 * step]


def test_cr_cr_lf_blank_lines_separate_and_end_messages():
    """A file whose lines end CR CR LF: its blank lines end the header block and the message
    (the blank line before a separator belongs to the mbox), exactly as LF blank lines do."""
    msgs = [b"Subject: m%d\r\r\n\r\r\nline one\r\r\n" % i for i in range(3)]
    data = b"".join(b"From a@b Mon Jan  1 10:00:00 2024\r\r\n" + m + b"\r\r\n" for m in msgs)
    assert [m[2] for m in _read(data)] == msgs
    empty = b"From a@b Mon Jan  1 10:00:00 2024\r\r\n" + msgs[0] + b"\r\r\nFrom a@b Mon Jan  1 10:00:00 2024\r\r\n"
    assert [m[2] for m in _read(empty)] == [msgs[0], b""]


def test_bom_and_blank_lines_before_the_first_separator():
    data = b"\xef\xbb\xbf\n\r\n\nFrom a@b Mon Jan  1 10:00:00 2024\nSubject: one\n\nbody\n"
    assert _read(data) == [(7, b"From a@b Mon Jan  1 10:00:00 2024", b"Subject: one\n\nbody\n")]


def test_not_an_mbox_raises():
    with pytest.raises(SourceError):
        _read(b"Subject: not an mbox\n\n")


def _cl_message(body: bytes, length: int | None = None) -> bytes:
    n = len(body) if length is None else length
    return b"From a@b Mon Jan  1 10:00:00 2024\nSubject: cl\nContent-Length: %d\n\n" % n + body


def test_content_length_honoured_when_consistent():
    body = b"body\n\nFrom x@y Mon Jan  1 10:00:00 2024\nA: b\n\nend\n"  # mboxcl2: From lines not quoted
    second = b"From c@d Tue Jan  2 10:00:00 2024\nSubject: two\n\nx\n"
    for tail in (b"\n" + second, second):  # with or without the blank line before the next one
        out = _read(_cl_message(body) + tail)
        assert [m[2].split(b"\n\n", 1)[1] for m in out] == [body, b"x\n"]
    out = _read(_cl_message(body) + b"\n")  # at the end of the file
    assert len(out) == 1 and out[0][2].endswith(body)
    out = _read(_cl_message(b"", 0) + b"\n" + second)  # an empty body
    assert len(out) == 2


@pytest.mark.parametrize("length", [3, 10, 5000])
def test_content_length_ignored_when_the_file_disagrees(length: int):
    body = b"body\n\nFrom x@y Mon Jan  1 10:00:00 2024\nA: b\n\nend\n"
    out = _read(_cl_message(body, length) + b"\n")
    assert [m[2].split(b"\n\n", 1)[-1] for m in out] == [b"body\n", b"end\n"]


def test_content_length_ending_inside_a_line_is_ignored():
    """A length that points into the middle of a line is never consistent, even when the rest of
    that line reads like a separator: the message is not cut there."""
    body = b"see: From x@y Mon Jan  1 10:00:00 2024\nSubject: inner\n\nend\n"
    second = b"From c@d Tue Jan  2 10:00:00 2024\nSubject: two\n\nx\n"
    out = _read(_cl_message(body, len(b"see: ")) + b"\n" + second)
    assert [m[2].split(b"\n\n", 1)[1] for m in out] == [body, b"x\n"]
    out = _read(_cl_message(b"no line end", 11))  # a body without a final line end, up to the end of the file
    assert [m[2].split(b"\n\n", 1)[1] for m in out] == [b"no line end"]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


MBOX = b"From a@b Mon Jan  1 10:00:00 2024\nSubject: one\n\nbody\n\nFrom c@d Tue Jan  2 10:00:00 2024\nSubject: 2\n\nx\n"


@pytest.mark.parametrize("name", ["Inbox", "export.txt", "mail.json", "Sent.mbox", "old.mbx", "x.eml"])
def test_detected_by_content_not_by_name(tmp_path: Path, name: str):
    f = _write(tmp_path / name, MBOX)
    assert looks_like_mbox(f)
    assert detect_kind(f) == "mbox"
    src = open_source(f)
    assert [len(list(src.messages(folder))) for folder in src.folders()] == [2]


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbf" + MBOX, b"\n\n" + MBOX, b"\r\n" + MBOX.replace(b"\n", b"\r\n"), MBOX.replace(b"\n", b"\r"),
])
def test_sniff_tolerates_bom_blank_lines_and_line_ends(tmp_path: Path, data: bytes):
    assert looks_like_mbox(_write(tmp_path / "box", data))
    src = MboxSource(tmp_path / "box")
    assert len(list(src.messages(src.folders()[0]))) == 2


@pytest.mark.parametrize("data", [
    b"From here to there, a journey.\nChapter 1\n",
    b"From a@b Mon Jan  1 10:00:00 2024\nwas the day we met.\n",
    b"Subject: x\n\nFrom a@b Mon Jan  1 10:00:00 2024\nSubject: y\n\n",
    b"{\"json\": true}\n", b"\x00\x01binary",
])
def test_sniff_rejects_what_is_not_an_mbox(tmp_path: Path, data: bytes):
    assert not looks_like_mbox(_write(tmp_path / "notes.txt", data))


def test_sniff_directory_and_missing(tmp_path: Path):
    assert not looks_like_mbox(tmp_path)
    assert not looks_like_mbox(tmp_path / "absent")
    assert looks_like_mbox(_write(tmp_path / "Empty", b""))  # an empty folder file
    assert not looks_like_mbox(_write(tmp_path / "empty.txt", b""))


PSEUDO = (b"From MAILER-DAEMON Mon Jan  1 10:00:00 2024\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
          b"From: Mail System Internal Data <MAILER-DAEMON@host>\n"
          b"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
          b"Message-ID: <1704103200@host>\nX-IMAP: 1704103200 0000000002\nStatus: RO\n\n"
          b"This text is part of the internal format of your mail folder, and is not\n"
          b"a real message.  It is created automatically by the mail system software.\n"
          b"If deleted, important folder data will be lost, and it will be re-created\n"
          b"with the data reset to initial values.\n\n")


def test_folder_internal_data_is_skipped_with_a_reason(tmp_path: Path):
    real = b"From a@b Mon Jan  1 10:00:00 2024\nX-IMAPbase: 1704103200 2\nSubject: real\nX-UID: 1\n\nhi\n\n"
    src = MboxSource(_write(tmp_path / "INBOX", PSEUDO + real + b"From c@d Mon Jan  1 10:00:00 2024\n\n"))
    recs = list(src.messages(src.folders()[0]))
    assert [r.skip_reason for r in recs] == [SKIP_FOLDER_DATA, None, SKIP_EMPTY]
    assert recs[1].raw.startswith(b"X-IMAPbase:")  # c-client's base header on real mail: mail


def test_resume_from_the_end_of_the_last_read(tmp_path: Path):
    f = _write(tmp_path / "Inbox", MBOX)
    src = MboxSource(f)
    folder = src.folders()[0]
    assert len(list(src.messages(folder))) == 2
    info = src.resume_info(folder)
    assert info and info["end"] == len(MBOX)
    appended = b"From e@f Wed Jan  3 10:00:00 2024\nSubject: 3\n\nnew\n"  # no blank line before it
    f.write_bytes(MBOX + appended)
    again = MboxSource(f)
    start = again.resume_offset(folder, info)
    assert start == len(MBOX)
    recs = list(again.messages(folder, resume=start))
    assert [(r.stable_id, r.raw) for r in recs] == [(f"mbox:Inbox:{len(MBOX)}", b"Subject: 3\n\nnew\n")]
    f.write_bytes(MBOX + b"From here on, prose\nonly\n")  # not a separator: read everything again
    assert MboxSource(f).resume_offset(folder, info) is None


def test_streaming_never_reads_the_whole_file():
    class NoSlurp(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            assert n is not None and 0 <= n <= 1 << 20, "whole-file read"
            return super().read(n)

        def readlines(self, hint: int = -1) -> list[bytes]:
            raise AssertionError("whole-file read")

    data = MBOX * 50
    assert len(list(iter_mbox(NoSlurp(data)))) == 100
    assert len(list(iter_mbox(NoSlurp(data.replace(b"\n", b"\r"))))) == 100


# ---------------------------------------------------------------- property tests

_WORD = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e, exclude_characters=":>"),
                min_size=1, max_size=8)
_TEXT_LINE = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40),
    st.sampled_from(["", "From here", "From 10:00 to 12:30 on 3 March 2024", ">From x", ">>From y Mon Jan 1",
                     "From user@x Mon Jan  1 00:00:00 2024", "Subject: looks like a header",
                     "From - Mon Jan  1 00:00:00 2024", "X-Mozilla-Status: 0001", " folded", "日本語の本文"]),
    st.builds(lambda w, d: f"From {w} {d}", _WORD, st.sampled_from(["Mon Jan  1 00:00:00 2024", "2024-01-01"])),
)
_HEADER = st.builds(lambda name, value: f"X-{name}: {value}", _WORD, st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=30))


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    headers = ["Subject: " + draw(_WORD)] + draw(st.lists(_HEADER, max_size=3))
    body = draw(st.lists(_TEXT_LINE, max_size=8))
    return ("\n".join(headers) + "\n\n" + "".join(line + "\n" for line in body)).encode("utf-8")


def _mboxo_unquoted(raw: bytes) -> bytes:
    """What an mboxo file reads back as (mboxo cannot tell a written `>From ` from a quoted
    `From `): the reader undoes one level of quoting on every `>+From ` line."""
    return b"\n".join(line[1:] if line.startswith(b">") and line.lstrip(b">").startswith(b"From ") else line
                      for line in raw.split(b"\n"))


def _mboxrd_quote(raw: bytes) -> bytes:
    return b"\n".join(b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in raw.split(b"\n"))


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(st.lists(messages(), min_size=1, max_size=6))
def test_python_mailbox_mboxo_reads_back(tmp_path: Path, msgs: list[bytes]):
    path = tmp_path / "py.mbox"
    path.unlink(missing_ok=True)
    box = mailbox.mbox(str(path))
    for m in msgs:
        box.add(m)
    box.close()
    with path.open("rb") as fh:
        out = [raw for _, _, raw in iter_mbox(fh)]
    assert out == [_mboxo_unquoted(m) for m in msgs]


@SETTINGS
@given(st.lists(messages(), min_size=1, max_size=6), st.sampled_from([b"\n", b"\r\n", b"\r", b"\r\r\n"]))
def test_mboxrd_reads_back_exactly(msgs: list[bytes], eol: bytes):
    """mboxrd with LF, CRLF, CR CR LF or (classic Mac OS) CR line ends; CR-only comes back CRLF,
    CR CR LF as stored (the upload makes it CRLF: identity.to_crlf)."""
    data = b"".join(b"From someone@example.com Mon Jan  1 00:00:00 2024\n" + _mboxrd_quote(m) + b"\n" for m in msgs)
    out = [raw for _, _, raw in iter_mbox(io.BytesIO(data.replace(b"\n", eol)))]
    assert out == [m.replace(b"\n", b"\r\n" if eol == b"\r" else eol) for m in msgs]


@SETTINGS
@given(st.lists(st.tuples(messages(), st.booleans()), min_size=1, max_size=6))
def test_thunderbird_style_reads_back(items: list[tuple[bytes, bool]]):
    """Thunderbird: `From - date`, X-Mozilla-Status headers, `From ` body lines escaped `>From `,
    and (older versions, some imports) no blank line between messages."""
    data = b""
    want = []
    for m, blank in items:
        if not blank and m.endswith(b"\n\n"):
            blank = True  # a message ending in a blank line is only delimited by one more
        tb = b"X-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\n" + m
        data += b"From - Mon Jan  1 00:00:00 2024\n" + b"\n".join(
            b">" + line if line.startswith(b"From ") else line for line in tb.split(b"\n")) + (b"\n" if blank else b"")
        want.append(_mboxo_unquoted(tb))
    out = [raw for _, _, raw in iter_mbox(io.BytesIO(data))]
    assert out == want
