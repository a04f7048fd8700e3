"""Hand-made tricky messages and writers for mbox trees and Maildir++ stores (tests and examples)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from email import base64mime
from email.header import Header
from pathlib import Path

from migrator.imap import utf7


def jis(text: str) -> bytes:
    return text.encode("iso-2022-jp")


def msg(subject: str, body: str = "hello\n", *, mid: str | None = "auto", date: str | None = "Mon, 01 Jan 2024 10:00:00 +0900",
        sender: str = "Taro <taro@example.jp>", extra: str = "", n: int = 0) -> bytes:
    """A plain ASCII/UTF-8 message with LF line ends."""
    lines = [f"From: {sender}", "To: hanako@example.jp", f"Subject: {Header(subject, 'utf-8').encode()}"]
    if date:
        lines.append(f"Date: {date}")
    if mid == "auto":
        mid = f"<{hashlib.sha1((subject + body).encode()).hexdigest()[:12]}.{n}@example.jp>"
    if mid:
        lines.append(f"Message-ID: {mid}")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    if extra:
        lines.append(extra.rstrip("\n"))
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def iso2022jp_message(n: int = 0) -> bytes:
    """An ISO-2022-JP message (subject 見積書, sender 山田); every encoded word made by `email.header`."""
    body = jis("お世話になっております。\n見積書を送ります。\n")
    sender = Header("山田", "iso-2022-jp").encode()
    subject = Header("見積書", "iso-2022-jp").encode()
    return (f"From: {sender} <yamada@example.co.jp>\n".encode("ascii") +
            b"To: sato@example.co.jp\n" +
            f"Subject: {subject}\n".encode("ascii") +
            b"Date: Tue, 05 Mar 2019 09:15:00 +0900\n"
            b"Message-ID: <jis-%d@example.co.jp>\n" % n +
            b"MIME-Version: 1.0\nContent-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n"
            + body)


def sjis_message(n: int = 0) -> bytes:
    """A Shift_JIS message (subject 取引先への連絡) as old Windows clients wrote it, CRLF line ends.

    The subject's encoded word is in Shift_JIS itself (`email.header.Header` would re-encode it as
    ISO-2022-JP), made by `email.base64mime` from the bytes Python's shift_jis codec gives.
    """
    body = "取引先への連絡です。\r\n".encode("shift_jis")
    subject = base64mime.header_encode("取引先への連絡".encode("shift_jis"), "Shift_JIS")
    return (b"From: sales@example.co.jp\r\nTo: boss@example.co.jp\r\n" +
            f"Subject: {subject}\r\n".encode("ascii") +
            b"Date: Wed, 10 Jul 2013 18:00:00 +0900\r\nMessage-ID: <sjis-%d@example.co.jp>\r\n" % n +
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=Shift_JIS\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body)


@dataclass
class Item:
    raw: bytes
    flags: frozenset[str] = frozenset()
    deleted: bool = False
    from_line_date: str = "Mon Jan  1 01:00:00 2024"


def mbox_quote(raw: bytes) -> bytes:
    """mboxrd quoting: a line matching ^>*From  gets one more '>'."""
    out = []
    for line in raw.split(b"\n"):
        stripped = line.lstrip(b">")
        out.append(b">" + line if stripped.startswith(b"From ") else line)
    return b"\n".join(out)


def write_mbox(path: Path, items: list[Item]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        for it in items:
            data = mbox_bytes_as_uploaded(it)
            fh.write(b"From sender@example.com " + it.from_line_date.encode() + b"\n")
            fh.write(mbox_quote(data))
            fh.write(b"\n")


def mbox_bytes_as_uploaded(it: Item) -> bytes:
    """What the server must hold for an mbox item written by write_mbox (status headers included)."""
    raw = it.raw.replace(b"\r\n", b"\n")
    status = b""
    if "\\Seen" in it.flags:
        status += b"Status: RO\n"
    xs = ("A" if "\\Answered" in it.flags else "") + ("F" if "\\Flagged" in it.flags else "") + (
        "D" if it.deleted else "")
    if xs:
        status += b"X-Status: " + xs.encode() + b"\n"
    head, sep, body = raw.partition(b"\n\n")
    data = head + b"\n" + status + sep[1:] + body if status else raw
    return data if data.endswith(b"\n") else data + b"\n"


_FLAG_CHARS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S"}


def write_maildir_message(folder: Path, it: Item, n: int, delivered: int) -> Path:
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    info = "".join(sorted(_FLAG_CHARS[f] for f in it.flags if f in _FLAG_CHARS) + (["T"] if it.deleted else []))
    name = f"{delivered}.M{n}P1.testhost"
    path = folder / ("cur" if info or it.flags else "new") / (name + (f":2,{info}" if info or it.flags else ""))
    path.write_bytes(it.raw)
    os.utime(path, (delivered, delivered))
    return path


def maildirpp_folder(root: Path, parts: tuple[str, ...]) -> Path:
    if not parts:
        return root
    return root / ("." + ".".join(utf7.encode(p) for p in parts))


@dataclass
class Tree:
    """What a generated store holds: target folder -> list of items expected there."""

    folders: dict[tuple[str, ...], list[Item]] = field(default_factory=dict)


def sample_items() -> dict[tuple[str, ...], list[Item]]:
    return {
        ("Inbox",): [
            Item(msg("Welcome", "Hi there\n", n=1), frozenset({"\\Seen"})),
            Item(iso2022jp_message(1), frozenset({"\\Seen", "\\Answered"})),
            Item(msg("From line in body", "Look:\nFrom here on it is quoted\n>From also this\n", n=2)),
            Item(msg("No date", "no date header\n", date=None, n=3), frozenset({"\\Flagged"})),
            Item(msg("No message-id", "x\n", mid=None, n=4)),
            Item(msg("Deleted one", "bye\n", n=5), deleted=True),
        ],
        ("Sent",): [Item(msg("Re: Welcome", "thanks\n", n=6), frozenset({"\\Seen"}))],
        ("取引先",): [Item(sjis_message(1), frozenset({"\\Seen"}))],
        ("取引先", "Ａ社"): [Item(msg("見積もり", "よろしくお願いします\n", n=7), frozenset({"\\Seen", "\\Flagged"}))],
        ("Work & Play",): [Item(msg("Odd date", "x\n", date="2023/04/05 10:11:12", n=8))],
    }


def write_mbox_tree(root: Path, items: dict[tuple[str, ...], list[Item]]) -> None:
    """Thunderbird-style tree: `Name` files with `Name.sbd/` children."""
    for parts, its in items.items():
        d = root
        for p in parts[:-1]:
            d = d / (p + ".sbd")
        write_mbox(d / parts[-1], its)


def write_maildirpp(root: Path, items: dict[tuple[str, ...], list[Item]]) -> dict[tuple[str, ...], list[int]]:
    """Write a Maildir++; returns each folder's delivery times (the expected INTERNALDATEs)."""
    t0 = 1654084800  # 2022-06-01 12:00 UTC
    n = 0
    times: dict[tuple[str, ...], list[int]] = {}
    for parts, its in items.items():
        folder = maildirpp_folder(root, () if parts == ("Inbox",) else parts)
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        for it in its:
            n += 1
            write_maildir_message(folder, it, n, t0 + n * 60)
            times.setdefault(parts, []).append(t0 + n * 60)
    return times
