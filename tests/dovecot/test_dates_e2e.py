"""Issue 15 kinds 2 and 3 against a real Dovecot: Maildir info separators (`;2,`, `!2,`), a Maildir
copied without its mtimes, an mbox with a 1970 `From ` line. The server's INTERNALDATE and FLAGS
are read back by a separate client; `verify --json` reports where each date came from.
Expectations are written out here, not computed by the project's code."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.dovecot.test_e2e import migrate_cmd

pytestmark = pytest.mark.dovecot

JST = timezone(timedelta(hours=9))


def _msg(subject: str, *headers: str) -> bytes:
    return (f"From: a@example.jp\nTo: b@example.jp\nSubject: {subject}\nMessage-ID: <{subject}@example.jp>\n"
            + "".join(h + "\n" for h in headers) + "\nbody of " + subject + "\n").encode()


def _run(args: list[str], user, state: Path):
    import subprocess

    return subprocess.run(migrate_cmd() + args + ["--target", user.url_imaps, "--state", str(state), "-q"],
                          env={**os.environ, **user.env}, capture_output=True, text=True, timeout=180)


def _server(user) -> dict[str, tuple[set[str], datetime]]:
    """Subject → (flags, INTERNALDATE as aware UTC) of every message in INBOX."""
    with user.client() as c:
        c.select_folder("INBOX", readonly=True)
        c.normalise_times = False
        out = {}
        for _uid, d in c.fetch(c.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]", "FLAGS", "INTERNALDATE"]).items():
            subject = d[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
            out[subject] = ({f.decode() for f in d[b"FLAGS"] if f != b"\\Recent"},
                            d[b"INTERNALDATE"].astimezone(timezone.utc))
        return out


def _verify_json(user, source: Path, state: Path) -> dict:
    r = _run(["verify", str(source), "--json", "--list"], user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def test_maildir_separators_and_copied_mtimes(tmp_path: Path, make_imap_user) -> None:
    user = make_imap_user()
    md = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    files = {
        "1700000000.M1P1.host;2,RS": _msg("mbsync-windows", "Date: Tue, 14 Nov 2023 07:00:00 +0900"),
        "1700000100.M2P1.host,U=7,FMD5=ab!2,FS": _msg("offlineimap-windows", "Date: Tue, 14 Nov 2023 07:00:00 +0900"),
        "1700000200.M3P1.host,S=300,W=310:2,PS": _msg("posix", "Date: Tue, 14 Nov 2023 07:00:00 +0900"),
        # copied by an exporter: no timestamp in the name, mtimes of today
        "copied-received;2,S": _msg("copied-received", "Received: from mx by mail.example.jp; "
                                    "Wed, 05 Jun 2019 12:34:56 +0900", "Date: Wed, 05 Jun 2019 12:30:00 +0900"),
        "copied-date!2,": _msg("copied-date", "Date: Sat, 01 Feb 2020 08:00:00 +0900"),
        "1700000300.M4P1.host;2,ST": _msg("trashed", "Date: Tue, 14 Nov 2023 07:00:00 +0900"),
    }
    for name, raw in files.items():
        (md / "cur" / name).write_bytes(raw)
    state = tmp_path / "s.db"
    r = _run(["run", str(md)], user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    got = _server(user)
    utc = timezone.utc
    assert got == {
        "mbsync-windows": ({"\\Seen", "\\Answered"}, datetime.fromtimestamp(1700000000, utc)),
        "offlineimap-windows": ({"\\Seen", "\\Flagged"}, datetime.fromtimestamp(1700000100, utc)),
        "posix": ({"\\Seen", "$Forwarded"}, datetime.fromtimestamp(1700000200, utc)),
        "copied-received": ({"\\Seen"}, datetime(2019, 6, 5, 12, 34, 56, tzinfo=JST).astimezone(utc)),
        "copied-date": (set(), datetime(2020, 2, 1, 8, 0, tzinfo=JST).astimezone(utc)),
    }, "the trashed message is skipped; flags and dates as the policy says"
    report = _verify_json(user, md, state)
    assert report["ok"] and report["date_sources"] == {"file-name": 3, "received": 1, "date-header": 1}
    by_subject = {p["subject"]: p["date_source"] for p in report["problems"] if p["sign"] == "="}
    assert by_subject == {"mbsync-windows": "file-name", "offlineimap-windows": "file-name", "posix": "file-name",
                          "copied-received": "received", "copied-date": "date-header"}
    r = _run(["verify", str(md), "--list"], user, state)
    assert r.returncode == 0 and "2019-06-05 (received)" in r.stdout, r.stdout
    # re-flagged in the source between runs (read on another PC): the same message, not uploaded again
    os.rename(md / "cur" / "copied-date!2,", md / "cur" / "copied-date!2,RS")
    r = _run(["run", str(md)], user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(_server(user)) == 5


def test_mbox_with_a_1970_from_line(tmp_path: Path, make_imap_user) -> None:
    user = make_imap_user()
    box = tmp_path / "Inbox.mbox"
    box.write_bytes(
        b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n"
        + _msg("epoch-from-line", "Status: RO", "Date: Mon, 01 Jan 2024 10:00:00 +0900") + b"\n"
        + b"From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
        + _msg("format-patch", "Date: Fri, 03 Mar 2023 09:15:00 +0100") + b"\n"
        + b"From someone@example.jp Tue Jan  2 10:00:06 2024\n"
        + _msg("good-from-line", "Status: RO", "Received: from mx by mail.example.jp; Tue, 02 Jan 2024 10:00:05 +0900",
               "Date: Tue, 02 Jan 2024 09:59:00 +0900"))
    state = tmp_path / "s.db"
    r = _run(["run", str(box)], user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    utc = timezone.utc
    assert _server(user) == {
        "epoch-from-line": ({"\\Seen"}, datetime(2024, 1, 1, 1, 0, tzinfo=utc)),
        "format-patch": (set(), datetime(2023, 3, 3, 8, 15, tzinfo=utc)),
        # procmail writes the From line in local time: it takes the zone of the Received: header
        "good-from-line": ({"\\Seen"}, datetime(2024, 1, 2, 1, 0, 6, tzinfo=utc)),
    }
    report = _verify_json(user, box, state)
    assert report["ok"] and report["date_sources"] == {"date-header": 2, "from-line": 1}
    r = _run(["verify", str(box), "--deep"], user, state)
    assert r.returncode == 0 and "VERIFIED" in r.stdout, r.stdout
