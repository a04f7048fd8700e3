"""MAPI-to-MIME building (pst_mime), RTF de-encapsulation (rtf) and the pure PST helpers, on
hand-made property sets: no libpff and no PST file needed."""

from __future__ import annotations

import email
import email.policy
import email.utils
import struct
from datetime import datetime, timezone
from email.message import EmailMessage

import pytest

from migrator.domain import records as base
from migrator.sources.pst.mapi import (
    ansi_codepage_for,
    decode_ansi,
    filetime,
    flags_for,
    multi_binary,
    nid_from_entry_id,
    skip_reason_for,
)
from migrator.sources.pst.mime import BCC, CC, TO, Attachment, MapiMessage, Recipient, build_message
from migrator.sources.pst.reader import detect
from migrator.sources.pst.rtf import html_from_rtf, rtf_kind, text_from_rtf

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001"
    "0d0a2db40000000049454e44ae426082"
)


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def assert_wellformed(raw: bytes) -> None:
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998
    msg = parse(raw)
    assert not msg.defects, msg.defects
    for part in msg.walk():
        assert not part.defects, (part.get_content_type(), part.defects)


# ----------------------------------------------------------------------------- received mail


ISO2022_HEADERS = (
    "Return-Path: <tanaka@example.jp>\r\n"
    "Received: from mx.example.jp (mx.example.jp [192.0.2.1])\r\n"
    "\tby pop.example.ne.jp with ESMTP id 1234; Tue, 12 May 2020 14:45:17 +0900\r\n"
    "Message-ID: <20200512144517.1234@example.jp>\r\n"
    "Date: Tue, 12 May 2020 14:45:17 +0900\r\n"
    "From: =?ISO-2022-JP?B?GyRCRURDZhsoQg==?= <tanaka@example.jp>\r\n"
    "To: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.ne.jp>\r\n"
    "Subject: =?ISO-2022-JP?B?GyRCMnE1RCROJDQwRkZiGyhC?=\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative;\r\n"
    '\tboundary="----=_NextPart_000_0001"\r\n'
    "Content-Transfer-Encoding: 7bit\r\n"
    "X-Mailer: Microsoft Outlook Express 6.00.2900.5512\r\n"
    "\r\n"
)


def test_received_iso2022jp_keeps_original_headers_and_replaces_structure() -> None:
    msg = MapiMessage(
        subject="会議のご案内",
        transport_headers=ISO2022_HEADERS,
        from_name="田中", from_address="tanaka@example.jp",
        delivery_time=datetime(2020, 5, 12, 5, 45, 20, tzinfo=timezone.utc),
        body_text="山田様\r\n\r\n来週の会議のご案内です。\r\n",
        internet_cpid=50220,
    )
    raw = build_message(msg)
    assert_wellformed(raw)
    head = header_block(raw)
    for line in ISO2022_HEADERS.split("\r\n"):
        if line and not line.startswith(("MIME-Version", "Content-", '\tboundary')):
            assert line.encode("ascii") in head, line
    assert head.count(b"Content-Type:") == 1
    assert head.count(b"MIME-Version:") == 1
    assert b"NextPart_000_0001" not in raw
    assert b"Content-Transfer-Encoding: 7bit" in head  # ours: ISO-2022-JP text is 7-bit
    parsed = parse(raw)
    assert parsed["Subject"] == "会議のご案内"
    assert parsed["Message-ID"] == "<20200512144517.1234@example.jp>"
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "iso-2022-jp"
    assert parsed.get_content().replace("\r\n", "\n") == "山田様\n\n来週の会議のご案内です。\n"
    assert raw.isascii()


def test_transport_headers_missing_required_fields_get_them_from_mapi() -> None:
    msg = MapiMessage(subject="draft", transport_headers="Subject: draft\r\nX-Apple-Auto-Saved: 1\r\n",
                      from_name="Me", from_address="me@example.com",
                      creation_time=datetime(2015, 3, 6, 16, 19, 13, tzinfo=timezone.utc), body_text="x")
    parsed = parse(build_message(msg))
    assert parsed["From"] == "Me <me@example.com>"
    assert email.utils.parsedate_to_datetime(parsed["Date"]) == datetime(2015, 3, 6, 16, 19, 13, tzinfo=timezone.utc)
    assert parsed["X-Apple-Auto-Saved"] == "1"


def test_transport_headers_non_header_lines_and_body_are_dropped() -> None:
    th = "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nFrom: a@example.com\nSubject: hi\n\nthis was a body\n"
    raw = build_message(MapiMessage(transport_headers=th, body_text="real body"))
    assert b"MAILER-DAEMON" not in raw
    assert b"this was a body" not in raw
    assert parse(raw).get_content().strip() == "real body"


# ----------------------------------------------------------------------------- Outlook items


def test_ansi_cp932_item_without_transport_headers() -> None:
    # An ANSI PST from Japanese Windows: 8-bit strings in cp932, the code page from the item.
    cp = ansi_codepage_for(0, 50220, None)
    assert cp == 932
    subject = decode_ansi("Re: 見積もりの件".encode("cp932") + b"\x00", cp)
    name = decode_ansi("佐藤 花子".encode("cp932"), cp)
    assert (subject, name) == ("Re: 見積もりの件", "佐藤 花子")
    msg = MapiMessage(
        subject=subject,
        from_name=name, from_address="hanako@example.co.jp",
        recipients=[Recipient("鈴木 一郎", "suzuki@example.jp", TO), Recipient("cc@example.jp", "cc@example.jp", CC),
                    Recipient("高橋", "", BCC)],
        submit_time=datetime(2008, 4, 1, 9, 30, tzinfo=timezone.utc),
        delivery_time=datetime(2008, 4, 1, 9, 31, tzinfo=timezone.utc),
        message_id="<001@example.co.jp>", in_reply_to="<000@example.jp>", references="<a@x> <000@example.jp>",
        body_text=decode_ansi("お世話になっております。\r\n①よろしくお願いします。".encode("cp932"), cp),
        internet_cpid=50220, message_cpid=932, importance=2,
    )
    raw = build_message(msg)
    assert_wellformed(raw)
    assert header_block(raw).isascii()  # RFC 2047 everywhere
    parsed = parse(raw)
    assert parsed["Subject"] == "Re: 見積もりの件"
    assert parsed["From"].addresses[0].display_name == "佐藤 花子"
    assert parsed["From"].addresses[0].addr_spec == "hanako@example.co.jp"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["suzuki@example.jp"]
    assert parsed["To"].addresses[0].display_name == "鈴木 一郎"
    assert parsed["Cc"].addresses[0].addr_spec == "cc@example.jp"
    assert parsed["Bcc"].groups[0].display_name == "高橋"  # no address: an RFC 6854 group keeps the name
    assert email.utils.parsedate_to_datetime(parsed["Date"]) == datetime(2008, 4, 1, 9, 30, tzinfo=timezone.utc)
    assert parsed["Message-ID"] == "<001@example.co.jp>"
    assert parsed["In-Reply-To"] == "<000@example.jp>"
    assert parsed["References"].split() == ["<a@x>", "<000@example.jp>"]
    assert parsed["Importance"] == "high"
    # "①" is not in ISO-2022-JP: the body falls back to UTF-8 rather than losing it.
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content() == "お世話になっております。\n①よろしくお願いします。"


def test_no_sender_never_mailer_daemon_and_date_is_not_now() -> None:
    delivery = datetime(2021, 7, 27, 22, 19, 50, tzinfo=timezone.utc)
    for msg, expect in (
        (MapiMessage(subject="s", account="me@example.com", delivery_time=delivery), "me@example.com"),
        (MapiMessage(subject="s", sender_name="Terry", delivery_time=delivery), "Terry:;"),
        (MapiMessage(subject="s", delivery_time=delivery), "undisclosed-sender:;"),
    ):
        raw = build_message(msg)
        assert b"MAILER-DAEMON" not in raw.upper()
        parsed = parse(raw)
        assert str(parsed["From"]) == expect
        assert email.utils.parsedate_to_datetime(parsed["Date"]) == delivery


def test_display_to_used_when_recipient_table_is_missing() -> None:
    msg = MapiMessage(subject="s", from_address="a@example.com", display_to="Bob; carol@example.com")
    parsed = parse(build_message(msg))
    assert [g.display_name for g in parsed["To"].groups] == ["Bob", None]
    assert parsed["To"].addresses[0].addr_spec == "carol@example.com"


def test_output_is_deterministic() -> None:
    msg = MapiMessage(subject="same", from_address="a@example.com", body_text="t", body_html=b"<p>t</p>",
                      attachments=[Attachment(filename="a.bin", data=b"\x00\x01")], search_key=b"k" * 16)
    assert build_message(msg) == build_message(msg)
    assert parse(build_message(msg))["Message-ID"].endswith("@pst.migrator.invalid>")


# ----------------------------------------------------------------------------- RTF


HTML_RTF = (
    rb"{\rtf1\ansi\ansicpg932\fromhtml1 \fbidis \deff0{\fonttbl"
    b"\r\n"
    rb"{\f0\fswiss MS PGothic;}{\f1\fmodern\fcharset128 MS Gothic;}}"
    rb"{\colortbl\red0\green0\blue0;}"
    b"\r\n"
    rb"\uc1\pard\plain\deftab360 \f0\fs24 {\*\htmltag19 <html>}{\*\htmltag34 <head>}"
    rb'{\*\htmltag161 <meta http-equiv=Content-Type content="text/html; charset=iso-2022-jp">}'
    rb"{\*\htmltag241 <style>p \{margin:0\}\par </style>}{\*\htmltag41 </head>}"
    rb"{\*\htmltag50 <body>}\htmlrtf {\htmlrtf0 {\*\htmltag64 <p>}\htmlrtf {\htmlrtf0 "
    rb"\'82\'b1\'82\'f1\'82\'c9\'82\'bf\'82\'cd \u8364?uro\htmlrtf\par\htmlrtf0 "
    rb'{\*\mhtmltag84 <img src="image001.png">}{\*\htmltag84 <img src="cid:image001.png@01D7">}'
    rb"{\*\htmltag72 </p>}\htmlrtf }\htmlrtf0 \htmlrtf }\htmlrtf0 {\*\htmltag58 </body>}{\*\htmltag27 </html>}}"
    b"\x00"
)


def test_html_recovered_from_rtf() -> None:
    assert rtf_kind(HTML_RTF) == "html"
    html = html_from_rtf(HTML_RTF)
    assert html == (
        '<html><head><meta http-equiv=Content-Type content="text/html; charset=iso-2022-jp">'
        "<style>p {margin:0}\n</style></head><body><p>こんにちは €uro"
        '<img src="cid:image001.png@01D7"></p></body></html>'
    )


def test_html_in_rtf_becomes_the_html_body() -> None:
    msg = MapiMessage(subject="s", from_address="a@example.com", body_rtf=HTML_RTF, internet_cpid=50220,
                      attachments=[Attachment(filename="image001.png", data=PNG, mime_type="image/png",
                                              content_id="image001.png@01D7")])
    raw = build_message(msg)
    assert_wellformed(raw)
    parsed = parse(raw)
    html_part = next(p for p in parsed.walk() if p.get_content_type() == "text/html")
    assert "こんにちは €uro" in html_part.get_content()
    # "€" is not ISO-2022-JP: UTF-8, and the <meta> says so too.
    assert html_part.get_content_charset() == "utf-8"
    assert "charset=utf-8" in html_part.get_content()
    assert not any(p.get_filename() == "body.rtf" for p in parsed.walk())


def test_text_from_plain_rtf_and_rtf_kept_as_file() -> None:
    rtf = (rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss\fcharset0 Arial;}{\f1\fcharset128 MS Mincho;}}"
           rb"{\*\generator Riched20;}\viewkind4\uc1\pard\f0\fs20 Caf\'e9 \b bold\b0\par"
           rb"{\f1 \'93\'fa\'96\'7b}\tab end\par}")
    assert rtf_kind(rtf) == "rtf"
    assert text_from_rtf(rtf) == "Café bold\n日本\tend\n"
    parsed = parse(build_message(MapiMessage(subject="s", from_address="a@example.com", body_rtf=rtf)))
    text = next(p for p in parsed.walk() if p.get_content_type() == "text/plain")
    assert text.get_content() == "Café bold\n日本\tend\n"
    rtf_part = next(p for p in parsed.walk() if p.get_filename() == "body.rtf")
    assert rtf_part.get_content_type() == "application/rtf"
    assert rtf_part.get_content() == rtf


def test_fromtext_rtf_gives_back_the_text() -> None:
    rtf = (rb"{\rtf1\ansi\ansicpg1252\fromtext \deff0{\fonttbl{\f0\fmodern Courier New;}}"
           rb"\f0 Hello\par world\htmlrtf ignored\htmlrtf0 !\par}")
    assert rtf_kind(rtf) == "text"
    assert text_from_rtf(rtf) == "Hello\nworld!\n"


def test_html_in_rtf_without_markup_is_treated_as_text() -> None:
    rtf = (rb"{\rtf1\ansi\ansicpg932\fromhtml1 \deff0{\fonttbl{\f0\fswiss\fcharset128 MS PGothic;}}"
           rb"\uc1\pard\plain\f0 {\*\htmltag64}\htmlrtf {\htmlrtf0 \'82\'b1\'82\'cc\par line2\htmlrtf\par}\htmlrtf0 }")
    parsed = parse(build_message(MapiMessage(subject="s", from_address="a@example.com", body_rtf=rtf)))
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content() == "この\nline2"


# ----------------------------------------------------------------------------- attachments


def test_inline_image_with_content_id_goes_in_multipart_related() -> None:
    msg = MapiMessage(
        subject="inline", from_address="a@example.com", body_text="see image",
        body_html=b'<html><body><img src="cid:image001.png@01D78380.EF6DC500"></body></html>', internet_cpid=20127,
        attachments=[
            Attachment(filename="image001.png", data=PNG, mime_type="image/png",
                       content_id="image001.png@01D78380.EF6DC500"),
            Attachment(filename="report.pdf", data=b"%PDF-1.4 fake", mime_type=""),
        ],
    )
    raw = build_message(msg)
    assert_wellformed(raw)
    parsed = parse(raw)
    assert parsed.get_content_type() == "multipart/mixed"
    alternative, pdf = parsed.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    text, related = alternative.get_payload()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert html.get_content_type() == "text/html"
    assert image["Content-ID"] == "<image001.png@01D78380.EF6DC500>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == PNG
    assert pdf.get_content_type() == "application/pdf"  # guessed from the name
    assert pdf.get_filename() == "report.pdf"
    assert pdf.get_content_disposition() == "attachment"


def test_unreferenced_content_id_stays_a_regular_attachment() -> None:
    msg = MapiMessage(subject="s", from_address="a@example.com", body_html=b"<p>no image</p>",
                      attachments=[Attachment(filename="a.png", data=PNG, content_id="x@y")])
    parsed = parse(build_message(msg))
    att = next(p for p in parsed.walk() if p.get_filename() == "a.png")
    assert att.get_content_disposition() == "attachment"
    assert att["Content-ID"] == "<x@y>"


@pytest.mark.parametrize("name", [
    "見積書_2024年度.pdf",
    "Ünïcödé résumé.docx",
    "とても長いファイル名" * 12 + ".xlsx",
    "plain name with spaces (1).txt",
])
def test_attachment_filenames_round_trip(name: str) -> None:
    msg = MapiMessage(subject="s", from_address="a@example.com", body_text="x",
                      attachments=[Attachment(filename=name, data=b"data")])
    raw = build_message(msg)
    assert_wellformed(raw)
    assert raw.isascii()
    parsed = parse(raw)
    att = next(p for p in parsed.walk() if p.get_content_disposition() == "attachment")
    assert att.get_filename() == name
    assert att.get_content() in (b"data", "data")
    if not name.isascii():
        assert b"filename*" in raw  # RFC 2231


def test_embedded_message_is_message_rfc822() -> None:
    inner2 = MapiMessage(subject="深い", from_address="c@example.com", body_text="level 2",
                         submit_time=datetime(2019, 1, 1, tzinfo=timezone.utc))
    inner = MapiMessage(subject="Microsoft Outlook テスト メッセージ", from_name="Microsoft Outlook",
                        from_address="b@example.com", body_text="この電子メールはテストです。",
                        submit_time=datetime(2020, 5, 12, 5, 45, 17, tzinfo=timezone.utc),
                        attachments=[Attachment(embedded=inner2)])
    outer = MapiMessage(subject="I have attachments!", from_address="a@example.com", body_text="outer",
                        attachments=[Attachment(embedded=inner), Attachment(filename="green.png", data=PNG)])
    raw = build_message(outer)
    assert_wellformed(raw)
    parsed = parse(raw)
    rfc822 = [p for p in parsed.walk() if p.get_content_type() == "message/rfc822"]
    assert len(rfc822) == 2
    first = rfc822[0].get_content()
    assert first["Subject"] == "Microsoft Outlook テスト メッセージ"
    assert first["From"].addresses[0].addr_spec == "b@example.com"
    assert first.get_body(("plain",)).get_content().strip() == "この電子メールはテストです。"
    assert rfc822[0].get_filename() == "Microsoft Outlook テスト メッセージ.eml"
    assert rfc822[1].get_content()["Subject"] == "深い"
    assert [p.get_filename() for p in parsed.walk() if p.get_content_type() == "image/png"] == ["green.png"]


def test_smime_signed_item_keeps_the_signed_entity() -> None:
    signed = (b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;\r\n'
              b' boundary="sig"\r\n\r\n--sig\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n'
              b"--sig\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--sig--\r\n")
    msg = MapiMessage(message_class="IPM.Note.SMIME.MultipartSigned", subject="signed",
                      transport_headers="From: a@example.com\r\nSubject: signed\r\n"
                                        "Date: Mon, 1 Jan 2018 00:00:00 +0000\r\n",
                      attachments=[Attachment(filename="smime.p7m", data=signed, mime_type="multipart/signed")])
    raw = build_message(msg)
    parsed = parse(raw)
    assert parsed.get_content_type() == "multipart/signed"
    assert raw.endswith(signed.split(b"\r\n\r\n", 1)[1])  # the signed bytes are untouched


def test_smime_encrypted_item_is_pkcs7_mime() -> None:
    msg = MapiMessage(message_class="IPM.Note.SMIME", subject="secret", from_address="a@example.com",
                      attachments=[Attachment(filename="smime.p7m", data=b"\x30\x82\x01\x00der")])
    parsed = parse(build_message(msg))
    assert parsed.get_content_type() == "application/pkcs7-mime"
    assert parsed.get_param("smime-type") == "enveloped-data"
    assert parsed.get_content() == b"\x30\x82\x01\x00der"


# ----------------------------------------------------------------------------- pure PST helpers


@pytest.mark.parametrize(("cls", "reason"), [
    ("IPM.Note", None), ("IPM.Note.SMIME", None), ("IPM.Note.SMIME.MultipartSigned", None),
    ("REPORT.IPM.Note.NDR", None), ("Report.IPM.Note.IPNRN", None), ("IPM.Schedule.Meeting.Request", None),
    ("ipm.note.rules.oofTemplate.Microsoft", None), ("IPM", None),
    ("IPM.Appointment", "calendar item"), ("IPM.Contact", "contact"), ("IPM.DistList", "distribution list"),
    ("IPM.Task", "task"), ("IPM.StickyNote", "note"), ("IPM.Activity", "journal entry"),
    ("IPM.Post", "post item"), ("IPM.Microsoft.ScheduleData.FreeBusy", "free/busy data"),
    ("IPM.NoteX", "not an e-mail (IPM.NoteX)"),
])
def test_skip_reason_for(cls: str, reason: str | None) -> None:
    assert skip_reason_for(cls) == reason


def test_flags_for() -> None:
    assert flags_for(0x01, 0, 0, -1) == {base.SEEN}
    assert flags_for(0x19, 0, 0, -1) == {base.SEEN, base.DRAFT}
    assert flags_for(0x00, 2, 0, -1) == {base.FLAGGED}
    assert flags_for(0x00, 1, 0, -1) == frozenset()  # follow-up completed: not flagged any more
    assert flags_for(0x01, 0, 102, -1) == {base.SEEN, base.ANSWERED}
    assert flags_for(0x01, 0, 0, 0x105) == {base.SEEN, base.ANSWERED}
    assert flags_for(0x01, 0, 104, -1) == {base.SEEN, "$Forwarded"}


def test_entry_ids_and_multi_binary() -> None:
    eid = b"\x00" * 4 + bytes(range(16)) + struct.pack("<I", 0x8062)
    assert nid_from_entry_id(eid) == 0x8062
    assert nid_from_entry_id(b"short") is None
    values = [b"", b"", b"", b"", eid, b"x"]
    offsets, pos = [], 4 + 4 * len(values)
    for v in values:
        offsets.append(pos)
        pos += len(v)
    blob = struct.pack("<I", len(values)) + struct.pack(f"<{len(values)}I", *offsets) + b"".join(values)
    assert multi_binary(blob) == values
    assert multi_binary(b"") == []


def test_filetime() -> None:
    ticks = (datetime(2010, 3, 15, 17, 12, 5, tzinfo=timezone.utc) - datetime(1601, 1, 1, tzinfo=timezone.utc))
    raw = struct.pack("<Q", int(ticks.total_seconds()) * 10_000_000)
    assert filetime(raw) == datetime(2010, 3, 15, 17, 12, 5, tzinfo=timezone.utc)
    assert filetime(b"\x00" * 8) is None
    assert filetime(struct.pack("<Q", 0x0CB34557A3DD4000)) is None  # 4501-01-01: "no date"


def test_decode_ansi_fallbacks() -> None:
    assert decode_ansi("Grüße".encode("cp1252"), 1252) == "Grüße"
    assert decode_ansi("受信トレイ".encode("cp932"), None) == "受信トレイ"
    assert ansi_codepage_for(1252, 50220, None) == 1252
    assert ansi_codepage_for(0, 65001, 932) == 932
    assert ansi_codepage_for(0, 65001, None) is None


def test_detect(tmp_path: pytest.TempPathFactory) -> None:
    pst = tmp_path / "a.pst"  # type: ignore[operator]
    pst.write_bytes(b"!BDN" + b"\x00" * 100)
    other = tmp_path / "a.mbox"  # type: ignore[operator]
    other.write_bytes(b"From x\n")
    assert detect(pst)
    assert not detect(other)
    assert not detect(tmp_path / "missing.pst")  # type: ignore[operator]


@pytest.mark.parametrize(("text", "codec"), [
    ("受信トレイ", "cp932"), ("削除済みアイテム", "cp932"), ("日本", "cp932"), ("お知らせ", "cp932"),
    ("père Noël", "cp1252"), ("Don’t", "cp1252"), ("Éléments supprimés", "cp1252"), ("Entwürfe", "cp1252"),
    ("Señor Müller’s “Entwürfe”", "cp1252"), ("€ 100", "cp1252"), ("plain ascii", "ascii"),
])
def test_decode_ansi_guesses_japanese_or_western_without_a_code_page(text: str, codec: str) -> None:
    assert decode_ansi(text.encode(codec), None) == text


class _Entry:
    def __init__(self, tag: int, vtype: int, data: bytes | None) -> None:
        self.entry_type, self.value_type, self.data = tag, vtype, data


class _RecordSet:
    def __init__(self, entries: list[_Entry]) -> None:
        self.entries = entries
        self.number_of_entries = len(entries)

    def get_entry(self, i: int) -> _Entry:
        return self.entries[i]


class _Item:
    """Shaped like a libpff item: one record set of (tag, type, data) entries."""

    def __init__(self, *entries: _Entry) -> None:
        self.number_of_record_sets = 1
        self.record_set = _RecordSet(list(entries))

    def get_record_set(self, _i: int) -> _RecordSet:
        return self.record_set


def test_props_decode_mapi_types() -> None:
    from migrator.sources.pst.mapi import Props, smtp_address, strip_subject_prefix

    when = datetime(2008, 4, 1, 9, 30, tzinfo=timezone.utc) - datetime(1601, 1, 1, tzinfo=timezone.utc)
    item = _Item(
        _Entry(0x0037, 0x001E, "\x01\x04Re: 見積".encode("cp932") + b"\x00"),  # PT_STRING8, cp932
        _Entry(0x0C1A, 0x001F, "佐藤".encode("utf-16-le") + b"\x00\x00"),  # PT_UNICODE
        _Entry(0x0C1E, 0x001F, "SMTP".encode("utf-16-le")),
        _Entry(0x0C1F, 0x001F, "sato@example.jp".encode("utf-16-le")),
        _Entry(0x0E07, 0x0003, struct.pack("<i", 0x19)),
        _Entry(0x1080, 0x0003, struct.pack("<i", -1)),
        _Entry(0x0039, 0x0040, struct.pack("<Q", int(when.total_seconds()) * 10_000_000)),
        _Entry(0x0E06, 0x0040, None),
    )
    props = Props(item, codepage=932)
    assert strip_subject_prefix(props.text(0x0037)) == "Re: 見積"
    assert props.text(0x0C1A) == "佐藤"
    assert smtp_address(props, 0x5D01, 0x0C1E, 0x0C1F) == "sato@example.jp"
    assert props.integer(0x0E07) == 0x19
    assert props.integer(0x1080, 0) == -1
    assert props.integer(0x9999, 7) == 7
    assert props.time(0x0039) == datetime(2008, 4, 1, 9, 30, tzinfo=timezone.utc)
    assert props.time(0x0E06) is None
    assert props.text(0x9999) == "" and props.binary(0x9999) is None
