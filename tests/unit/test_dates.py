"""The INTERNALDATE policy (migrator/sources/dates.py) and Maildir info parsing (issue 15 kinds 2, 3)."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from migrator.domain.dates import (
    DATE_HEADER,
    DELIVERY_TIME,
    FALLBACK,
    FALLBACK_SOURCE,
    FILE_NAME,
    FROM_LINE,
    MTIME,
    RECEIVED,
    SUBMIT_TIME,
    implausible,
    internaldate,
    wall_clock,
)
from migrator.domain.headers import EPOCH_FALLBACK, Headers
from migrator.journal.state import Intent, State
from migrator.sources import open_source
from migrator.sources.maildir.reader import parse_name, read_keywords
from migrator.sources.mbox.reader import from_line_date

NOW = datetime(2026, 11, 30, tzinfo=timezone.utc)
UTC = timezone.utc
JST = timezone(timedelta(hours=9))


def _msg(*headers: str, body: str = "body\n") -> bytes:
    return ("\n".join(headers) + "\n\n" + body).encode()


RECV = "Received: from a by mx.example.jp; Tue, 02 Jan 2024 10:00:05 +0900"
RECV_OLD = "Received: from b by relay.example; Tue, 02 Jan 2024 00:59:00 +0000"
DATE = "Date: Mon, 01 Jan 2024 09:00:00 +0900"


# ---------------------------------------------------------------- implausible dates

@pytest.mark.parametrize("dt, why", [
    (datetime(1970, 1, 1, tzinfo=UTC), "the epoch"),
    (datetime(1979, 12, 31, 23, 59, 59, tzinfo=UTC), "before 1980"),
    (datetime(1980, 1, 1, 8, 0, tzinfo=JST), "before 1980"),  # 1979-12-31T23:00Z
    (datetime(2001, 9, 17, 0, 0, 0, tzinfo=UTC), "git format-patch placeholder"),
    (datetime(2001, 9, 17, 0, 0, 0), "git format-patch placeholder"),
    (NOW + timedelta(days=1, seconds=1), "in the future"),
    (datetime(4501, 1, 1, tzinfo=UTC), "in the future"),
])
def test_implausible_kinds(dt: datetime, why: str) -> None:
    assert implausible(dt, now=NOW) == why


@pytest.mark.parametrize("dt", [
    datetime(1980, 1, 1, tzinfo=UTC), datetime(2001, 9, 17, 0, 0, 1, tzinfo=UTC), NOW + timedelta(hours=23),
    datetime(1999, 12, 31, 23, 59, tzinfo=JST),
])
def test_plausible_dates(dt: datetime) -> None:
    assert implausible(dt, now=NOW) is None


# ---------------------------------------------------------------- the order of candidates

def test_store_time_first() -> None:
    raw = _msg(RECV, DATE)
    when = datetime(2024, 1, 2, 1, 0, 7, tzinfo=UTC)
    assert internaldate(raw, store_times=((FILE_NAME, when),), mtime=1.7e9, now=NOW) == (when, FILE_NAME)


@pytest.mark.parametrize("bad", [datetime(1970, 1, 1, tzinfo=UTC), datetime(2001, 9, 17, tzinfo=UTC),
                                 NOW + timedelta(days=400), None])
def test_implausible_store_time_then_newest_received(bad: datetime | None) -> None:
    raw = _msg(RECV, RECV_OLD, DATE)
    dt, source = internaldate(raw, store_times=((FROM_LINE, bad),), mtime=1.7e9, now=NOW)
    assert (dt, source) == (datetime(2024, 1, 2, 10, 0, 5, tzinfo=JST), RECEIVED)
    assert dt.utcoffset() == timedelta(hours=9), "the header's own zone is kept"


def test_second_store_time_when_first_is_implausible() -> None:
    submit = datetime(2010, 5, 1, tzinfo=UTC)
    got = internaldate(b"", store_times=((DELIVERY_TIME, datetime(1601, 1, 1, tzinfo=UTC)), (SUBMIT_TIME, submit)),
                       now=NOW)
    assert got == (submit, SUBMIT_TIME)


def test_implausible_received_skipped_for_the_next_one() -> None:
    raw = _msg("Received: by broken; Thu, 01 Jan 1970 00:00:00 +0000", RECV_OLD, DATE)
    assert internaldate(raw, now=NOW) == (datetime(2024, 1, 2, 0, 59, tzinfo=UTC), RECEIVED)


def test_date_header_when_no_received() -> None:
    raw = _msg("From: me@example.com", DATE)  # sent mail, a draft
    assert internaldate(raw, mtime=1.7e9, now=NOW) == (datetime(2024, 1, 1, 9, 0, tzinfo=JST), DATE_HEADER)


def test_received_without_date_part_then_date_header() -> None:
    raw = _msg("Received: from a by b (no date)", DATE)
    assert internaldate(raw, now=NOW)[1] == DATE_HEADER


def test_mtime_only_when_nothing_better() -> None:
    called = []

    def stat() -> float:
        called.append(1)
        return 1_500_000_000.0

    assert internaldate(_msg(DATE), mtime=stat, now=NOW)[1] == DATE_HEADER
    assert not called, "the file is not even stat'ed when a header dates the message"
    assert internaldate(_msg("Subject: x"), mtime=stat, now=NOW) == (
        datetime.fromtimestamp(1_500_000_000, tz=UTC), MTIME)


@pytest.mark.parametrize("mtime", [0.0, None, NOW.timestamp() + 3 * 86400, lambda: None])
def test_fallback_never_now(mtime: object) -> None:
    raw = _msg("Subject: x", "Date: Thu, 01 Jan 1970 00:00:00 +0000")
    assert internaldate(raw, store_times=((FROM_LINE, datetime(1970, 1, 1)),), mtime=mtime,  # type: ignore[arg-type]
                        now=NOW) == (FALLBACK, FALLBACK_SOURCE)
    assert FALLBACK == EPOCH_FALLBACK == datetime(1980, 1, 1, tzinfo=UTC)


def test_empty_and_garbage_input() -> None:
    assert internaldate(b"", now=NOW) == (FALLBACK, FALLBACK_SOURCE)
    assert internaldate(b"\xff\xfe\x00garbage", now=NOW) == (FALLBACK, FALLBACK_SOURCE)
    assert internaldate(_msg("Date: not a date at all"), now=NOW) == (FALLBACK, FALLBACK_SOURCE)


def test_headers_object_accepted() -> None:
    assert internaldate(Headers(_msg(DATE)), now=NOW)[1] == DATE_HEADER


def test_default_now_is_the_clock() -> None:
    tomorrow = datetime.now(UTC) + timedelta(days=3)
    assert internaldate(b"", store_times=((FILE_NAME, tomorrow),))[1] == FALLBACK_SOURCE


# ---------------------------------------------------------------- zones

def test_from_line_in_local_time_takes_the_received_zone() -> None:
    # procmail on a host in Japan: From line 10:00:06 local, Received 10:00:05 +0900
    line = wall_clock(from_line_date(b"From a@b Tue Jan  2 10:00:06 2024"))
    assert line is not None and line.tzinfo is None
    dt, source = internaldate(_msg(RECV, DATE), store_times=((FROM_LINE, line),), now=NOW)
    assert source == FROM_LINE and dt == datetime(2024, 1, 2, 10, 0, 6, tzinfo=JST)


def test_from_line_in_utc_stays_utc() -> None:
    # Python's mailbox writes the From line in UTC: 01:00:06Z is 10:00:06 +0900
    line = wall_clock(from_line_date(b"From a@b Tue Jan  2 01:00:06 2024"))
    dt, source = internaldate(_msg(RECV, DATE), store_times=((FROM_LINE, line),), now=NOW)
    assert (dt, source) == (datetime(2024, 1, 2, 1, 0, 6, tzinfo=UTC), FROM_LINE)


def test_from_line_far_from_the_header_date_stays_utc() -> None:
    # the Date: dates another event (written years before): its zone says nothing of the From line
    line = wall_clock(from_line_date(b"From a@b Mon Jan  1 01:00:00 2024"))
    raw = _msg("Date: Tue, 05 Mar 2019 09:15:00 +0900")
    assert internaldate(raw, store_times=((FROM_LINE, line),), now=NOW) == (
        datetime(2024, 1, 1, 1, 0, tzinfo=UTC), FROM_LINE)


def test_from_line_without_header_dates_is_utc() -> None:
    line = wall_clock(from_line_date(b"From a@b Tue Jan  2 10:00:06 2024"))
    assert internaldate(_msg("Subject: x"), store_times=((FROM_LINE, line),), now=NOW) == (
        datetime(2024, 1, 2, 10, 0, 6, tzinfo=UTC), FROM_LINE)


def test_from_line_placeholders_fall_through() -> None:
    for line in (b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970", b"From 1234abcd Mon Sep 17 00:00:00 2001"):
        dt, source = internaldate(_msg(DATE), store_times=((FROM_LINE, wall_clock(from_line_date(line))),), now=NOW)
        assert source == DATE_HEADER and dt == datetime(2024, 1, 1, 9, 0, tzinfo=JST), line


def test_naive_header_date_is_utc() -> None:
    dt, source = internaldate(_msg("Date: 2023/04/05 10:11:12"), now=NOW)
    assert source == DATE_HEADER and dt == datetime(2023, 4, 5, 10, 11, 12, tzinfo=UTC)


# ---------------------------------------------------------------- Maildir info

S, R, F, D = "\\Seen", "\\Answered", "\\Flagged", "\\Draft"


@pytest.mark.parametrize("name, unique, flags, deleted", [
    ("1700000000.M1P2.host:2,RS", "1700000000.M1P2.host", {R, S}, False),
    ("1700000000.M1P2.host;2,RS", "1700000000.M1P2.host", {R, S}, False),
    ("1700000000.M1P2.host!2,FS", "1700000000.M1P2.host", {F, S}, False),
    ("1700000000.M1P2.host,S=1234,W=1260:2,DS", "1700000000.M1P2.host,S=1234,W=1260", {D, S}, False),
    ("1700000000.M1P2.host,S=1234,W=1260;2,S", "1700000000.M1P2.host,S=1234,W=1260", {S}, False),
    ("1700000000_0.1.host,U=17,FMD5=abc!2,RS", "1700000000_0.1.host,U=17,FMD5=abc", {R, S}, False),
    ("1700000000.1.host,U=17:2,ST", "1700000000.1.host,U=17", {S}, True),
    ("1700000000.1.host,U=17:2,", "1700000000.1.host,U=17", set(), False),
    ("1700000000.1.host,S=99", "1700000000.1.host,S=99", set(), False),  # no info: fields are not flags
    ("1700000000.1.host", "1700000000.1.host", set(), False),
    ("1700000000.1.host:2,P", "1700000000.1.host", {"$Forwarded"}, False),
    ("1700000000.1.host:2,DFPRST", "1700000000.1.host", {D, F, "$Forwarded", R, S}, True),
    ("1700000000.1.host:1,experimental", "1700000000.1.host:1,experimental", set(), False),
    ("dir:2,S/1700000000.1.host", "1700000000.1.host", set(), False),  # a parent's name is not flags
    ("x;2,RS/sub!2,F/1700000000.1.host:2,D", "1700000000.1.host", {D}, False),
])
def test_parse_name(name: str, unique: str, flags: set[str], deleted: bool) -> None:
    assert parse_name(name) == (unique, frozenset(flags), deleted)


def test_reflagged_message_keeps_its_unique_part() -> None:
    names = ["1700000000.M1P2.host", "1700000000.M1P2.host:2,S", "1700000000.M1P2.host:2,RS",
             "1700000000.M1P2.host;2,FRS", "1700000000.M1P2.host!2,"]
    assert {parse_name(n)[0] for n in names} == {"1700000000.M1P2.host"}


def test_dovecot_keywords(tmp_path: Path) -> None:
    (tmp_path / "dovecot-keywords").write_text("0 $Label1\n1 Work\n3 $Junk\nbad line\n")
    kw = read_keywords(tmp_path)
    assert parse_name("1.h:2,Sabcd", kw) == ("1.h", frozenset({S, "$Label1", "Work", "$Junk"}), False)
    assert parse_name("1.h:2,Sab") == ("1.h", frozenset({S}), False), "no keyword file: letters ignored"
    assert read_keywords(tmp_path / "absent") == []


def _maildir(root: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def test_maildir_reader_copied_without_mtimes(tmp_path: Path) -> None:
    """A Maildir whose file names carry no timestamp and whose files were copied today: each
    message gets its Received/Date header date, not the day of the copy."""
    md = _maildir(tmp_path / "Maildir")
    (md / "cur" / "msgA;2,RS").write_bytes(_msg(RECV, DATE, "Subject: a"))
    (md / "cur" / "msgB!2,FS").write_bytes(_msg(DATE, "Subject: b"))
    (md / "cur" / "msgC:2,S").write_bytes(_msg("Subject: c"))  # nothing dates it: mtime
    os.utime(md / "cur" / "msgC:2,S", (1_600_000_000, 1_600_000_000))
    (md / "cur" / "1700000000.M1P1.host,S=40:2,T").write_bytes(_msg(DATE, "Subject: d"))
    (md / "dovecot-keywords").write_text("0 $Label1\n")
    (md / "new" / "1700000001.M2P1.host").write_bytes(_msg(DATE, "Subject: e"))
    src = open_source(md)
    recs = {r.locator.rsplit("/", 1)[1]: r for f in src.folders() for r in src.messages(f)}
    a, b, c = recs["msgA;2,RS"], recs["msgB!2,FS"], recs["msgC:2,S"]
    assert (a.flags, a.date_source, a.date) == (frozenset({R, S}), RECEIVED, datetime(2024, 1, 2, 10, 0, 5, tzinfo=JST))
    assert (b.flags, b.date_source, b.date) == (frozenset({F, S}), DATE_HEADER, datetime(2024, 1, 1, 9, tzinfo=JST))
    assert (c.date_source, c.date) == (MTIME, datetime.fromtimestamp(1_600_000_000, tz=UTC))
    d = recs["1700000000.M1P1.host,S=40:2,T"]
    assert d.skip_reason and d.stable_id.endswith(":1700000000.M1P1.host,S=40")
    e = recs["1700000001.M2P1.host"]
    assert (e.date_source, e.date) == (FILE_NAME, datetime.fromtimestamp(1_700_000_001, tz=UTC))
    assert a.stable_id.endswith(":msgA") and b.stable_id.endswith(":msgB")


def test_mbox_reader_1970_from_line_gets_header_date(tmp_path: Path) -> None:
    box = tmp_path / "Inbox.mbox"
    box.write_bytes(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + _msg(DATE, "Subject: a")
                    + b"\nFrom someone Tue Jan  2 01:00:06 2024\n" + _msg(RECV, DATE, "Subject: b"))
    src = open_source(box)
    recs = [r for f in src.folders() for r in src.messages(f)]
    assert [(r.date, r.date_source) for r in recs] == [
        (datetime(2024, 1, 1, 9, tzinfo=JST), DATE_HEADER), (datetime(2024, 1, 2, 1, 0, 6, tzinfo=UTC), FROM_LINE)]


# ---------------------------------------------------------------- the journal

def test_journal_keeps_the_date_source(tmp_path: Path) -> None:
    with State.open(tmp_path / "s.db", source_id="s", target_id="t") as st:
        st.record_intents([Intent("INBOX", "aa", None, 1, "sid", "src", "loc", "s", "2024-01-01T00:00:00+00:00",
                                  1, RECEIVED)])
        assert [r.date_source for r in st.rows()] == [RECEIVED]


def test_older_journal_gains_the_column_and_reads_read_only(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with State.open(path, source_id="s", target_id="t") as st:
        st.record_intents([Intent("INBOX", "aa", None, 1, "sid", "src", "loc", "s", "2024", 1)])
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE messages DROP COLUMN date_source")  # as written by an older migrate
    conn.commit()
    conn.close()
    with State.open(path, source_id="s", target_id="t", create=False) as ro:
        assert [r.date_source for r in ro.rows()] == [""]
    with State.open(path, source_id="s", target_id="t") as st:
        assert [r.date_source for r in st.rows()] == [""]


def test_plan_warns_about_a_message_nothing_dates(tmp_path: Path) -> None:
    from migrator.domain.filters import Scope
    from migrator.domain.folders import TargetLayout
    from migrator.flows.plan import Scanner

    box = tmp_path / "Inbox.mbox"
    box.write_bytes(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nSubject: undated\n\nbody\n")
    src = open_source(box)
    with State.open(tmp_path / "s.db", source_id="s", target_id="t") as st:
        scanner = Scanner([src], TargetLayout(), Scope(), st, None)
        for entry in scanner.entries():
            list(scanner.scan(entry))
    assert any("no plausible date" in w and "1980-01-01" in w for w in scanner.all_warnings())


@pytest.mark.parametrize(("text", "hours"), [
    ("Tue, 2 Jan 2024 10:00:00 JST", 9), ("Tue, 2 Jan 2024 10:00:00 jst (Japan)", 9),
    ("Tue, 2 Jan 2024 10:00:00 KST", 9), ("Tue, 2 Jan 2024 10:00:00 CET", 1),
    ("Tue, 2 Jan 2024 10:00:00 MET DST", 2), ("Tue, 2 Jan 2024 10:00:00 EST", -5),
    ("Tue, 2 Jan 2024 10:00:00 +0900 (JST)", 9), ("Tue, 2 Jan 2024 10:00:00 XYZ", 0),
    ("Tue, 2 Jan 2024 10:00:00 -0000", 0),
])
def test_header_zone_names_are_read(text: str, hours: int) -> None:
    """A zone NAME in Date:/Received: (old Japanese mailers write `JST` alone) is read from the
    same table as mbox From_ lines; an unknown name is UTC (RFC 5322 4.3: -0000)."""
    want = datetime(2024, 1, 2, 10, 0, tzinfo=timezone(timedelta(hours=hours)))
    dt, source = internaldate(_msg(f"Date: {text}"), now=NOW)
    assert (dt, dt.utcoffset(), source) == (want, want.utcoffset(), DATE_HEADER)
    dt, source = internaldate(_msg(f"Received: from a by b; {text}\nDate: Mon, 1 Jan 2024 00:00:00 +0000"), now=NOW)
    assert (dt, source) == (want, RECEIVED)
