"""A big message is read with one extra copy at most (issue 15 kind 8): tracemalloc peaks of the
pure steps, measured in allocations, not in time or RSS (the machine is shared)."""

from __future__ import annotations

import io
import tracemalloc

from migrator.domain.identity import fingerprint, to_crlf
from migrator.sources.mbox.reader import iter_mbox

MB = 1 << 20


def big_body(size: int) -> bytes:
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\n"
    return line * (size // len(line))


def peak_of(fn) -> tuple[object, int]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_mbox_reader_holds_one_buffer_not_a_list_of_lines() -> None:
    body = big_body(20 * MB)
    data = (b"From a@example.jp Mon Jan  1 10:00:00 2018\nSubject: big\n\n" + body
            + b"\nFrom b@example.jp Mon Jan  1 10:00:00 2018\nSubject: small\n\nhi\n")
    fh = io.BytesIO(data)
    del data

    def read_first() -> bytes:
        it = iter_mbox(fh)
        return next(it)[2]

    raw, peak = peak_of(read_first)
    assert raw == b"Subject: big\n\n" + body
    assert peak < 2.3 * len(body), f"{peak / len(body):.2f}x the message"  # a list of lines + join: ~2.6x


def test_mbox_reader_keeps_the_boundaries() -> None:
    data = (b"From a Mon Jan  1 10:00:00 2018\r\nA: 1\r\n\r\nx\r\n\r\n"
            b"From b Mon Jan  1 10:00:00 2018\nB: 2\n\ny\n\n\n"
            b"From c Mon Jan  1 10:00:00 2018\nC: 3\n\nz")
    got = [raw for _off, _from, raw in iter_mbox(io.BytesIO(data))]
    assert got == [b"A: 1\r\n\r\nx\r\n", b"B: 2\n\ny\n\n", b"C: 3\n\nz"]


def test_wire_form_and_fingerprint_copy_once() -> None:
    raw = big_body(20 * MB)
    wire, peak = peak_of(lambda: to_crlf(raw))
    assert peak < 1.2 * len(wire)  # the CRLF form itself, nothing more
    _fp, peak = peak_of(lambda: fingerprint(wire))
    assert peak < MB  # hashed in place


def test_pst_message_with_a_big_attachment_is_built_with_one_copy() -> None:
    from migrator.sources.pst.mime import Attachment, MapiMessage, build_message

    data = bytes(range(256)) * (20 * MB // 256)
    msg = MapiMessage(subject="big", body_text="see attached", attachments=[Attachment("a.bin", data)])
    raw, peak = peak_of(lambda: build_message(msg))
    assert len(raw) > 1.3 * len(data)  # base64
    # the encoded attachment, then the message joined once (encodebytes + replace + a join per
    # MIME level came to about 4x the message)
    assert peak < 2.3 * len(raw), f"{peak / len(raw):.2f}x the message"
