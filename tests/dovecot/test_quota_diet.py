"""Issue 7 against a real Dovecot with the quota plugin: a mailbox larger than the quota gets
fits=false and a --since that works; `run` refuses without writing; `run --since` uploads exactly
the mail from that day on; a backfill after the quota grows uploads exactly the rest. The server
is read back with a separate client; expectations are derived here, from the corpus."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.corpus import Item, mbox_bytes_as_uploaded, msg, write_mbox_tree

pytestmark = pytest.mark.dovecot

MARGIN = 0.05  # docs/diet.md: 5% of the quota is kept free
TARGET = {("Inbox",): "INBOX", ("Sent",): "Sent", ("Trash",): "Trash", ("取引先", "Ａ社"): "取引先/Ａ社"}


@dataclass(frozen=True)
class Mail:
    folder: str  # target folder
    date: datetime
    wire: bytes  # the bytes the server must hold (CRLF)

    @property
    def day(self) -> str:
        return self.date.date().isoformat()

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.wire).hexdigest()


def crlf(b: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", b)


def diet_corpus(root: Path, n: int = 36) -> list[Mail]:
    """An mbox tree, 2016-2024, 4 folders, 3-9 KB messages; the date is the From line's."""
    items: dict[tuple[str, ...], list[Item]] = {k: [] for k in TARGET}
    out: list[Mail] = []
    start = datetime(2016, 2, 1, 8, 0, tzinfo=timezone.utc)
    for i in range(n):
        when = start + timedelta(days=i * 90 + (i % 5))
        parts = list(TARGET)[i % len(TARGET)]
        body = (f"message {i}\n" + "lorem ipsum dolor sit amet " * (110 + (i * 37) % 220)).rstrip() + "\n"
        it = Item(msg(f"diet {i}", body, date=when.strftime("%a, %d %b %Y %H:%M:%S +0000"), n=i),
                  frozenset({"\\Seen"}) if i % 3 else frozenset(),
                  from_line_date=f"{when:%a %b} {when.day:2d} {when:%H:%M:%S %Y}")
        items[parts].append(it)
        out.append(Mail(TARGET[parts], when, crlf(mbox_bytes_as_uploaded(it))))
    write_mbox_tree(root, items)
    return out


def migrate(args: list[str], user, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args, "--target", user.url_imaps, "--state", str(state),
                           "-q"], env={**os.environ, **user.env}, capture_output=True, text=True, timeout=180)


def server(user) -> dict[str, Counter[str]]:
    """Folder -> multiset of message digests, for every folder (empty ones too)."""
    out: dict[str, Counter[str]] = {}
    with user.client() as c:
        for flags, _delim, name in c.list_folders():
            if {f.lower() for f in flags} & {b"\\noselect", b"\\nonexistent"}:
                continue
            info = c.select_folder(name, readonly=True)
            uids = c.search("ALL") if info[b"EXISTS"] else []
            data = c.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            out[str(name)] = Counter(hashlib.sha256(crlf(d[b"BODY[]"])).hexdigest() for d in data.values())
    return out


def expected(mails: list[Mail]) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    for m in mails:
        out.setdefault(m.folder, Counter())[m.digest] += 1
    return out


def nonempty(contents: dict[str, Counter[str]]) -> dict[str, Counter[str]]:
    return {k: v for k, v in contents.items() if v}


def server_quota(user) -> tuple[int, int]:
    """(used, limit) in bytes as the server reports them (STORAGE is in KiB)."""
    with user.client() as c:
        _roots, quotas = c.get_quota_root("INBOX")
    q = next(q for q in quotas if q.resource.upper() == "STORAGE")
    return q.usage * 1024, q.limit * 1024


def cutoff_that_fits(mails: list[Mail], free: int) -> str:
    """Derived independently: whole days from the newest back, while the total stays within `free`."""
    per_day: Counter[str] = Counter()
    for m in mails:
        per_day[m.day] += len(m.wire)
    total, best = 0, None
    for day in sorted(per_day, reverse=True):
        if total + per_day[day] > free:
            break
        total += per_day[day]
        best = day
    assert best is not None
    return best


def db_rows(state: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def half_quota_setup(tmp_path: Path, make_imap_user):
    """The diet corpus and an account whose quota holds about half of it: (src, mails, total, user, state)."""
    src = tmp_path / "mail"
    mails = diet_corpus(src)
    total = sum(len(m.wire) for m in mails)
    user = make_imap_user(quota_kb=total // 1024 // 2)
    return src, mails, total, user, tmp_path / "s.db"


def set_quota(dovecot, user: str, kb: int) -> None:
    """More space for the same account (for new sessions)."""
    dovecot.set_quota(user, kb)


def test_plan_does_not_fit_and_run_writes_nothing(tmp_path: Path, make_imap_user):
    src, mails, total, user, state = half_quota_setup(tmp_path, make_imap_user)

    r = migrate(["plan", str(src), "--json"], user, state)
    assert r.returncode == 4, r.stderr
    plan = json.loads(r.stdout)
    q = plan["quota"]
    used, limit = server_quota(user)
    assert (q["used"], q["limit"], q["needed"], q["fits"]) == (used, limit, total, False)
    free = int(limit * (1 - MARGIN)) - used
    assert q["suggested_since"] == cutoff_that_fits(mails, free)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", q["suggested_since"])
    left = [m for m in mails if m.day < q["suggested_since"]]
    kept = q["suggested_kept_local"]
    assert (kept["messages"], kept["bytes"]) == (len(left), sum(len(m.wire) for m in left))
    assert sum(f["messages"] for f in kept["folders"].values()) == len(left)
    assert plan["kept_local"] == {}  # no filter yet
    assert any(o["flags"].startswith("--exclude Trash") for o in q["options"])
    assert not state.exists()  # plan writes nothing, not even a state file

    human = migrate(["plan", str(src)], user, state)
    assert human.returncode == 4 and "it does NOT fit" in human.stdout
    assert f"--since {q['suggested_since']}" in human.stdout

    before = server(user)
    r = migrate(["run", str(src)], user, state)
    assert r.returncode == 4, r.stderr
    assert "does not fit" in r.stderr and f"--since {q['suggested_since']}" in r.stderr
    assert "Traceback" not in r.stderr
    after = server(user)
    assert after == before and not nonempty(after)  # no folder created, no message appended
    for table in ("messages", "folders", "ledger"):
        assert db_rows(state, f"SELECT COUNT(*) FROM {table}") == [(0,)], table


def test_run_since_the_suggestion_then_backfill(tmp_path: Path, make_imap_user, dovecot):
    src, mails, total, user, state = half_quota_setup(tmp_path, make_imap_user)
    r = migrate(["plan", str(src), "--json"], user, state)
    assert r.returncode == 4, r.stderr
    since = json.loads(r.stdout)["quota"]["suggested_since"]
    recent = [m for m in mails if m.day >= since]
    old = [m for m in mails if m.day < since]
    assert recent and old

    r = migrate(["plan", str(src), "--since", since, "--json"], user, state)
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["quota"]["fits"] is True and plan["quota"]["needed"] == sum(len(m.wire) for m in recent)
    assert plan["kept_local"]["messages"] == len(old)

    r = migrate(["run", str(src), "--since", since], user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert nonempty(server(user)) == expected(recent)  # exactly the mail from that day on
    ledger = db_rows(state, "SELECT target, size, msg_date, reason FROM ledger")
    assert sorted((t, s) for t, s, _d, _r in ledger) == sorted((m.folder, len(m.wire)) for m in old)
    assert {r for *_x, r in ledger} == {"before --since"}
    assert all(d[:10] < since for _t, _s, d, _r in ledger)

    r = migrate(["run", str(src), "--since", since], user, state)  # again: nothing new, nothing twice
    assert r.returncode == 0 and nonempty(server(user)) == expected(recent)

    r = migrate(["run", str(src)], user, state)  # everything: still does not fit
    assert r.returncode == 4

    set_quota(dovecot, user.user, total * 2 // 1024)
    r = migrate(["run", str(src), "--until", since], user, state)  # the backfill
    assert r.returncode == 0, r.stdout + r.stderr
    assert nonempty(server(user)) == expected(mails)  # exactly the rest: every message once
    assert db_rows(state, "SELECT COUNT(*) FROM ledger") == [(0,)]  # nothing is only local any more

    r = migrate(["run", str(src)], user, state)
    assert r.returncode == 0 and nonempty(server(user)) == expected(mails)
    r = migrate(["plan", str(src), "--json"], user, state)
    assert r.returncode == 0 and json.loads(r.stdout)["quota"]["needed"] == 0


def test_plan_report_and_json_shape(tmp_path: Path, make_imap_user):
    src = tmp_path / "mail"
    diet_corpus(src, n=12)
    user = make_imap_user(quota_kb=20)
    report = tmp_path / "plan.html"
    r = migrate(["plan", str(src), "--report", str(report)], user, tmp_path / "s.db")
    assert r.returncode == 4
    assert "Mail by year" in r.stdout and "│" in r.stdout
    page = report.read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "<script" not in page and "https://" not in page  # quota, years, cut-off
    assert str(src) in page.split('id="meta"')[1].split("</table>")[0]  # the header names the source
    assert 'class="seg over"' in page and 'class="cut"' in page and '<ol class="steps"' in page
    r = migrate(["plan", str(src), "--json"], user, tmp_path / "s.db")
    q = json.loads(r.stdout)["quota"]
    for key in ("used", "limit", "needed", "fits", "suggested_since"):
        assert key in q
    unlimited = make_imap_user()
    r = migrate(["plan", str(src), "--json"], unlimited, tmp_path / "u.db")
    assert r.returncode == 0
    q = json.loads(r.stdout)["quota"]
    assert q["limit"] is None and q["fits"] is None and q["suggested_since"] is None


def test_daily_cap_paces_the_run_and_it_carries_on(tmp_path: Path, make_imap_user, monkeypatch):
    """The provider's daily cap, in process with a fake clock: the run waits for each next
    window (reconnecting after the idle hours) and still uploads every message exactly once."""
    from pydantic import SecretStr

    from migrator.domain.config import parse_target
    from migrator.domain.filters import Scope
    from migrator.flows.quota import DAY, DailyPacer
    from migrator.flows.run import RunOptions, execute
    from migrator.imap.client import ImapTarget
    from migrator.journal.state import State
    from migrator.sources import open_source

    src = tmp_path / "mail"
    mails = diet_corpus(src, n=12)
    total = sum(len(m.wire) for m in mails)
    user = make_imap_user()
    monkeypatch.setenv("SSL_CERT_FILE", user.env["SSL_CERT_FILE"])
    cfg = parse_target(user.url_imaps).model_copy(update={"password": SecretStr(user.password)})
    now = [1_000_000.0]
    waits: list[tuple[float, int]] = []
    source = open_source(src)
    with State.open(tmp_path / "s.db", source_id="s", target_id="t") as state:
        cap = total // 3 + 1
        pacer = DailyPacer(cap, state, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s),
                           on_wait=lambda until, sent: waits.append((until, sent)))
        stats = execute([source], lambda: ImapTarget(cfg).connect(), state, Scope(),
                        RunOptions(connections=2, batch_count=3, pacer=pacer), tmp_path / "q")
    source.close()
    assert stats.uploaded == len(mails) and not stats.failed and not stats.interrupted
    assert len(waits) >= 2  # at least three windows for three caps' worth
    assert all(b[0] - a[0] >= DAY for a, b in zip(waits, waits[1:], strict=False))
    assert all(0 < sent <= cap for _u, sent in waits) and sum(sent for _u, sent in waits) < total
    assert stats.reconnects >= 2
    assert nonempty(server(user)) == expected(mails)


def test_too_big_for_appendlimit_is_listed_before_any_upload(tmp_path: Path, make_dovecot, make_imap_user):
    sandbox = make_dovecot(appendlimit=20_000)
    user = make_imap_user(sandbox=sandbox)
    src = tmp_path / "mail"
    big = Item(msg("huge attachment", "y" * 30_000 + "\n", n=1), from_line_date="Mon Jan  1 10:00:00 2024")
    small = Item(msg("small", "z\n", n=2), from_line_date="Tue Jan  2 10:00:00 2024")
    write_mbox_tree(src, {("Inbox",): [big, small]})
    r = migrate(["plan", str(src), "--json"], user, tmp_path / "s.db")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["max_message_bytes"] == 20_000
    assert [(m["subject"], m["size"]) for m in plan["too_big"]] == [("huge attachment",
                                                                     len(crlf(mbox_bytes_as_uploaded(big))))]
    assert plan["quota"]["needed"] in (None, len(crlf(mbox_bytes_as_uploaded(small))))
    text = migrate(["plan", str(src)], user, tmp_path / "s.db").stdout
    assert "Too large for the server" in text and "--max-size" in text
