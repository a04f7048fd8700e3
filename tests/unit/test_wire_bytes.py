"""The byte policy of the upload (docs/concepts.md "Bytes on the way"): identity.to_crlf is the one
normalisation; at_risk the one predicate for bytes a plain literal cannot carry."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.domain.identity import as_read_back, at_risk, describe_change, fingerprint, to_crlf


@pytest.mark.parametrize("raw,wire", [
    (b"a\nb\n", b"a\r\nb\r\n"),  # bare LF (mbox, Maildir)
    (b"a\r\nb\r\n", b"a\r\nb\r\n"),  # CRLF already
    (b"a\r\r\nb\r\r\n", b"a\r\nb\r\n"),  # CR CR LF (Japanese bounce mail): 2 bytes fewer
    (b"a\r\r\r\nb", b"a\r\nb"),  # any run of CRs before LF
    (b"a\rb\n", b"a\rb\r\n"),  # a CR inside a line stays
    (b"a\n\rb", b"a\r\n\rb"),  # LF CR: the CR starts the next line's text
    (b"abc", b"abc"),  # no final line end: kept
    (b"abc\r", b"abc\r\n"),  # a line end cut after its CR
    (b"abc\r\r", b"abc\r\n"),
    (b"a\x00b\x80\xff\x1b$B\n", b"a\x00b\x80\xff\x1b$B\r\n"),  # NUL, 8-bit, ISO-2022-JP escapes stay
    ("表\\示\n".encode("shift_jis"), "表\\示\r\n".encode("shift_jis")),
    (b"", b""),
])
def test_to_crlf_makes_exactly_the_documented_changes(raw: bytes, wire: bytes) -> None:
    assert to_crlf(raw) == wire
    assert to_crlf(wire) == wire  # idempotent


def test_fingerprints_of_lf_and_crlf_mail_are_those_of_earlier_journals() -> None:
    import hashlib

    lf = b"Subject: x\n\nbody\n"
    assert fingerprint(to_crlf(lf)) == hashlib.sha256(lf.replace(b"\n", b"\r\n")).hexdigest()
    crlf = lf.replace(b"\n", b"\r\n")
    assert to_crlf(crlf) is crlf  # no copy, same bytes, same fingerprint


@settings(max_examples=400)
@given(st.binary(max_size=300) | st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"\r\r\n", b"x", b"\x00",
                                                           b"\x80", b"\x1b$B"]), max_size=40).map(b"".join))
def test_normalised_form_differs_only_by_the_documented_changes(raw: bytes) -> None:
    wire = to_crlf(raw)
    # 1. only CRs are added or dropped; an LF is added only after CRs that end the data
    assert wire.replace(b"\r", b"") == raw.replace(b"\r", b"") + (b"\n" if raw.endswith(b"\r") else b"")
    # 2. the text between line ends (LF with the CRs before it, CRs at the very end) is byte for byte
    #    the same, and every line end is one CRLF
    texts = re.split(rb"\r*\n|\r+$", raw) if raw else [b""]
    if raw.endswith(b"\r") or raw.endswith(b"\n"):
        texts = texts[:-1] + [b""]
    assert wire.split(b"\r\n") == texts
    # 3. the form is final: no bare LF, no CR CR LF, no CR at the end; idempotent
    assert b"\n" not in wire.replace(b"\r\n", b"") and b"\r\r\n" not in wire and not wire.endswith(b"\r")
    assert to_crlf(wire) == wire


def test_at_risk_is_nul_only() -> None:
    assert at_risk(b"a\x00b\x00") == "2 NUL bytes"
    for safe in (b"a\rb\r\n", "件名".encode("shift_jis") * 3, b"\x1b$B$\"\x1b(B", b"x" * 20000, b"\x01\x7f\x80\xff"):
        assert at_risk(safe) is None


def test_read_back_and_the_change_described() -> None:
    wire = b"a\x00b\x00\r\n"
    assert as_read_back(wire) == b"a\x80b\x80\r\n"
    assert describe_change(wire, as_read_back(wire)) == "2 NUL bytes returned as 0x80"
    assert "instead of" in describe_change(wire, b"ab\r\n")


def test_the_journal_marks_messages_at_risk(tmp_path) -> None:
    from migrator.journal.state import Intent, State

    with State.open(tmp_path / "s.db", source_id="s", target_id="t") as st:
        rows = [Intent("INBOX", fp, None, 10, f"id{fp}", "src", "loc", "subj", "2024-01-01T00:00:00+00:00", 1)
                for fp in ("a", "b", "c")]
        st.record_intents(rows)
        st.mark_at_risk("INBOX", [("a", "changed", "ra"), ("b", "literal8", "rb")])
        assert st.at_risk("INBOX") == {("INBOX", "a"): ("changed", "ra"), ("INBOX", "b"): ("literal8", "rb")}
        assert st.changed_count() == 0  # not on the server yet
        st.mark_done([("INBOX", fp, 7, i) for i, fp in enumerate("abc", 1)])
        assert st.changed_count() == 1
