"""Issue 15 kind 1 end to end: a tree of tricky mbox files (no blank line before a separator,
unescaped `From ` prose in bodies, a BOM, a `.txt` name, CR-only line ends, mboxcl2
Content-Length with unquoted From_ lines in the body, UW-IMAP's pseudo-message) migrates into the
real Dovecot, and a separate client finds exactly the expected messages, bytes, flags and dates.
Expectations are written out here, not computed by the project's code."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.dovecot.test_e2e import assert_server_holds, crlf, read_server, run

pytestmark = pytest.mark.dovecot


def _msg(n: int, date: str, extra: str = "", body: str = "hello\n") -> bytes:
    return (f"From: a{n}@example.jp\nTo: b@example.jp\nSubject: m{n}\nDate: {date}\n"
            f"Message-ID: <m{n}@example.jp>\n{extra}\n{body}").encode()


PSEUDO = (b"From MAILER-DAEMON Mon Jan  1 10:00:00 2024\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
          b"From: Mail System Internal Data <MAILER-DAEMON@host>\n"
          b"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
          b"Message-ID: <1704103200@host>\nX-IMAP: 1704103200 0000000002\nStatus: RO\n\n"
          b"This text is part of the internal format of your mail folder, and is not\n"
          b"a real message.  It is created automatically by the mail system software.\n\n")
PROSE = ("Dear all,\n\nFrom 10:00 to 12:30 on 3 March 2024 we meet in room 3.\nBring slides.\n\n"
         "From user@example.jp Mon Jan  1 10:00:00 2024 was the old date,\nnot a header.\n")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_tricky_mbox_tree(tmp_path: Path, imap_user):
    root = tmp_path / "mail"
    root.mkdir()
    want: dict[str, list[tuple[bytes, set[str], datetime]]] = {}

    # UW-IMAP INBOX: pseudo-message, then two messages with no blank line between them
    a = _msg(1, "Tue, 02 Jan 2024 09:00:00 +0000", "Status: RO\n", PROSE)
    b = _msg(2, "Wed, 03 Jan 2024 09:00:00 +0000", "Status: O\nX-Status: F\n", "short\n")
    (root / "Inbox").write_bytes(PSEUDO + b"From a1@example.jp Tue Jan  2 09:00:00 2024\n" + a
                                 + b"From a2@example.jp Wed Jan  3 09:00:00 2024\n" + b + b"\n")
    want["INBOX"] = [(a, {"\\Seen"}, utc(2024, 1, 2, 9)), (b, {"\\Flagged"}, utc(2024, 1, 3, 9))]

    # an export named .txt, with a BOM and blank lines first, and other From_ date forms
    c = _msg(3, "Sat, 03 Jan 1996 01:05:34 +0000")
    d = _msg(4, "Mon, 01 Jan 2024 10:00:00 +0900", body="line\n\n>From quoted\n")
    (root / "export.txt").write_bytes(
        b"\xef\xbb\xbf\n\nFrom c@example.jp Sat, 3 Jan 1996 01:05:34 +0000\n" + c
        + b"\nFrom d@example.jp 2024-01-01T10:00:00+09:00\n" + d.replace(b">From", b">>From") + b"\n")
    want["export.txt"] = [(c, set(), utc(1996, 1, 3, 1, 5, 34)), (d, set(), utc(2024, 1, 1, 1))]

    # classic Mac OS: CR-only line ends, three messages
    mac = [_msg(5 + i, f"Fri, 0{i + 1} Mar 2002 12:00:00 +0000", "Status: RO\n" if i == 1 else "") for i in range(3)]
    (root / "Mac").write_bytes(b"".join(
        f"From ???@??? Fri Mar  {i + 1} 12:00:00 2002\n".encode() + m + b"\n" for i, m in enumerate(mac)
    ).replace(b"\n", b"\r"))
    want["Mac"] = [(m, {"\\Seen"} if i == 1 else set(), utc(2002, 3, i + 1, 12)) for i, m in enumerate(mac)]

    # mboxcl2: Content-Length covers a body with an unquoted From_ line and a header-like line
    body = "forwarded below\n\nFrom x@example.jp Mon Jan  1 00:00:00 2024\nSubject: inner\n\ninner text\n"
    e = _msg(8, "Thu, 04 Jan 2024 08:00:00 +0000", f"Content-Length: {len(body)}\n", body)
    f = _msg(9, "Fri, 05 Jan 2024 08:00:00 +0000")
    (root / "cl2.mbox").write_bytes(b"From e@example.jp Thu Jan  4 08:00:00 2024\n" + e
                                    + b"\nFrom f@example.jp Fri Jan  5 08:00:00 2024\n" + f + b"\n")
    want["cl2"] = [(e, set(), utc(2024, 1, 4, 8)), (f, set(), utc(2024, 1, 5, 8))]

    before = {p: p.read_bytes() for p in root.iterdir()}
    r = run(["run", str(root)], imap_user, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "In scope: 9 = uploaded 9 + already on target 0 + duplicates 0 + failed 0" in r.stdout, r.stdout
    assert "skipped 1" in r.stdout, r.stdout
    _delim, server = read_server(imap_user)
    assert_server_holds(server, want)
    r = run(["verify", str(root), "--deep"], imap_user, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert {p: p.read_bytes() for p in root.iterdir()} == before, "the source is untouched"


def test_cr_cr_lf_mbox_zone_names_and_display_name_senders(tmp_path: Path, imap_user):
    """Found by trying to break issue 15: an mbox whose lines all end CR CR LF kept the blank line
    before each separator (one extra line per message on the server); a `Date: ... JST` (no
    offset) was read as UTC, nine hours off; `From John Doe <addr> date` was not a separator."""
    root = tmp_path / "mail"
    root.mkdir()
    a = _msg(1, "Tue, 02 Jan 2024 10:00:00 JST", body="bounce\n\nFrom 10:00 to 12:30 we meet\n")
    b = _msg(2, "Wed, 03 Jan 2024 09:00:00 +0000")
    (root / "Bounces").write_bytes((b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + a + b"\n"
                                    + b"From b@example.jp Wed Jan  3 09:00:00 2024\n" + b + b"\n").replace(b"\n", b"\r\r\n"))
    c = _msg(3, "Thu, 04 Jan 2024 09:00:00 +0000")
    d = _msg(4, "Fri, 05 Jan 2024 09:00:00 +0000")
    (root / "export").write_bytes(b'From "Taro Yamada" <c@example.jp> Thu Jan  4 09:00:00 2024\n' + c
                                  + b"From Taro Yamada <d@example.jp> Fri Jan  5 09:00:00 2024\n" + d)
    want = {"Bounces": [(a, utc(2024, 1, 2, 1)), (b, utc(2024, 1, 3, 9))],
            "export": [(c, utc(2024, 1, 4, 9)), (d, utc(2024, 1, 5, 9))]}
    r = run(["run", str(root)], imap_user, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "In scope: 4 = uploaded 4 + already on target 0 + duplicates 0 + failed 0" in r.stdout, r.stdout
    _delim, server = read_server(imap_user)
    assert set(server) == set(want)
    for name, msgs in want.items():
        got = server[name]
        assert [g[0] for g in got] == [crlf(m) for m, _ in msgs], f"{name}: bytes (CR CR LF made CRLF, nothing added)"
        assert [g[2].astimezone(timezone.utc) for g in got] == [d for _, d in msgs], f"{name}: INTERNALDATE"
    r = run(["verify", str(root), "--deep"], imap_user, tmp_path)
    assert r.returncode == 0 and "VERIFIED" in r.stdout, r.stdout + r.stderr
