"""Big messages (issue 15 kind 8) go up byte for byte through the real Dovecot, among small ones,
two of them in a row: the memory work (one copy at a time, a big batch settled before the next
message is read) changes no byte and loses no message. The memory figure itself is a benchmark:
benchmarks/memory.py --big-message."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.dovecot.test_e2e import migrate_cmd

pytestmark = pytest.mark.dovecot

MB = 1 << 20


def big(i: int, size: int, eol: bytes = b"\n") -> bytes:
    """A message of about `size` bytes: one base64 attachment, 76-character lines."""
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx%04d" % i + eol
    head = (f"From: big@example.jp\nTo: me@example.jp\nSubject: big {i}\nMessage-ID: <big-{i}@example.jp>\n"
            f"Date: Mon, 1 Jan 2018 10:00:00 +0000\nMIME-Version: 1.0\n"
            f"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n").encode()
    return head.replace(b"\n", eol) + line * (size // len(line))


def small(i: int) -> bytes:
    return (f"From: a@example.jp\nTo: me@example.jp\nSubject: small {i}\nMessage-ID: <small-{i}@example.jp>\n"
            f"Date: Mon, 1 Jan 2018 10:00:00 +0000\n\nhello {i}\n").encode()


def crlf(b: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", b)


def server_bodies(user) -> list[bytes]:
    """Every INBOX message's bytes, fetched one at a time."""
    with user.client(timeout=120) as c:
        c.select_folder("INBOX", readonly=True)
        return [c.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"] for uid in sorted(c.search("ALL"))]


def same_bytes(sent: list[bytes], got: list[bytes]) -> None:
    """Each message once, byte for byte (in any order: several connections upload at once)."""
    assert sorted(len(g) for g in got) == sorted(len(crlf(m)) for m in sent)
    assert sorted(got) == sorted(crlf(m) for m in sent)


def migrate(src: Path, user, tmp: Path) -> None:
    r = subprocess.run(migrate_cmd() + ["run", str(src), "--target", user.url_imaps, "--state", str(tmp / "s.db"),
                                        "-q"], env={**os.environ, **user.env}, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_big_messages_in_an_mbox_arrive_exactly(tmp_path: Path, imap_user) -> None:
    msgs = [small(0), big(1, 30 * MB), big(2, 12 * MB, b"\r\n"), small(3), big(4, 6 * MB), small(5)]
    src = tmp_path / "mail"
    src.mkdir()
    with (src / "Inbox").open("wb") as fh:
        for m in msgs:
            fh.write(b"From a@example.jp Mon Jan  1 10:00:00 2018\n" + m + b"\n")
    migrate(src, imap_user, tmp_path)
    same_bytes(msgs, server_bodies(imap_user))


def test_a_big_message_in_a_maildir_arrives_exactly(tmp_path: Path, imap_user) -> None:
    msgs = [small(0), big(1, 30 * MB), big(2, 20 * MB, b"\r\n"), small(3)]
    src = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (src / sub).mkdir(parents=True)
    for i, m in enumerate(msgs):
        (src / "cur" / f"{1500000000 + i}.M{i}P1.host:2,S").write_bytes(m)
    migrate(src, imap_user, tmp_path)
    same_bytes(msgs, server_bodies(imap_user))
