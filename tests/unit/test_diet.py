"""The diet without a server: the --since that fits, what stays local, other diets, the verdict
per quota root, the daily pacer, the ledger rule, and a whole plan over a real Maildir."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from migrator.domain.filters import Scope
from migrator.domain.folders import TargetLayout
from migrator.domain.models import QuotaInfo
from migrator.domain.records import Folder, MessageRecord
from migrator.flows import quota as diet
from migrator.flows.plan import DUPLICATE, UPLOAD, Entry, Scanned, Scanner, _Acc, build_plan, quota_verdict
from migrator.imap.client import Quota
from migrator.journal.state import State
from migrator.sources.maildir.reader import MaildirSource
from tests.support.corpus import Item, maildirpp_folder, msg, write_maildir_message

KB = 1024


def ts(y: int, m: int = 1, d: int = 1) -> float:
    return datetime(y, m, d, 12, tzinfo=timezone.utc).timestamp()


def acc_of(rows: list[tuple[float, int, int]], names: list[str], junk: list[str | None] | None = None) -> _Acc:
    acc = _Acc()
    acc.names = list(names)
    acc.targets = list(names)
    acc.junk = junk or [None] * len(names)
    for when, size, where in rows:
        acc.dates.append(when)
        acc.sizes.append(size)
        acc.where.append(where)
    return acc


def test_since_that_fits_takes_whole_days_from_the_newest():
    acc = acc_of([(ts(2020, 1, 1), 100, 0), (ts(2021, 1, 1), 100, 0), (ts(2022, 1, 1), 100, 0),
                  (ts(2022, 1, 1) + 3600, 100, 0)], ["INBOX"])
    assert diet.since_that_fits(acc.dates, acc.sizes, 300) == "2021-01-01"
    assert diet.since_that_fits(acc.dates, acc.sizes, 250) == "2022-01-01"
    assert diet.since_that_fits(acc.dates, acc.sizes, 199) is None  # a day goes whole: not even the newest fits
    assert diet.since_that_fits(acc.dates, acc.sizes, 400) is None  # everything fits
    assert diet.since_that_fits(acc.dates, acc.sizes, 150, select=[0, 1]) == "2021-01-01"


def test_kept_before_per_folder():
    acc = acc_of([(ts(2019, 5, 1), 10, 0), (ts(2019, 6, 1), 20, 1), (ts(2020, 2, 3), 30, 0), (ts(2023), 40, 1)],
                 ["INBOX", "Sent"])
    kept = diet.kept_before(acc.dates, acc.sizes, acc.where, acc.names, "2021-01-01")
    assert kept["messages"] == 3 and kept["bytes"] == 60
    assert kept["folders"] == {
        "INBOX": {"messages": 2, "bytes": 40, "oldest": "2019-05-01", "newest": "2020-02-03"},
        "Sent": {"messages": 1, "bytes": 20, "oldest": "2019-06-01", "newest": "2019-06-01"},
    }


def test_fitting_cap():
    sizes = [1 * KB, 2 * KB, 3 * KB, 50 * KB]
    assert diet.fitting_cap(sizes, 100 * KB) is None  # fits anyway
    cap = diet.fitting_cap(sizes, 10 * KB)
    assert cap is not None and 3 * KB <= cap < 50 * KB
    assert sum(s for s in sizes if s <= cap) <= 10 * KB
    assert diet.fitting_cap(sizes, 512) is None  # not even the smallest
    big = [30 * 1024 * KB, 12 * 1024 * KB + 5, 1 * KB]
    cap = diet.fitting_cap(big, 13 * 1024 * KB)
    assert cap == 30 * 1024 * KB - 1024 * KB  # rounded down to whole MiB, still keeps the 12 MiB one
    assert diet.size_flag(cap) == "29M"


def test_options_trash_junk_and_size_cap():
    rows = [(ts(2024), 400 * KB, 0), (ts(2023), 300 * KB, 0), (ts(2022), 500 * KB, 1), (ts(2021), 200 * KB, 2),
            (ts(2020), 20 * 1024 * KB, 0)]
    acc = acc_of(rows, ["INBOX", "Trash", "Junk"], [None, "Trash", "Junk"])
    free = 1000 * KB
    since = diet.since_that_fits(acc.dates, acc.sizes, free)
    assert since == "2023-01-01"
    opts = {o.flags: o for o in diet.options(acc.dates, acc.sizes, acc.where, acc.names, acc.junk, free, since)}
    assert opts["--since 2023-01-01"].fits and opts["--since 2023-01-01"].kept_messages == 3
    junk = opts["--exclude Junk --exclude Trash"]
    assert junk.kept_bytes == 700 * KB and junk.fits is False
    both = next(o for o in opts.values() if o.flags.startswith("--exclude Junk --exclude Trash --since"))
    assert both.fits and both.needed <= free
    cap = next(o for o in opts.values() if o.flags.startswith("--max-size"))
    assert cap.kept_messages == 1 and cap.kept_bytes == 20 * 1024 * KB


class FakeTarget:
    """Just enough of ImapTarget for a plan: no folders, a quota per root."""

    def __init__(self, quotas: dict[str, Quota | None], append_limit: int | None = None) -> None:
        self.quotas = quotas
        self._limit = append_limit
        self.asked: list[str] = []

    def quota(self, name: str = "INBOX") -> Quota | None:
        self.asked.append(name)
        return self.quotas.get(name, self.quotas.get("*"))

    def append_limit(self) -> int | None:
        return self._limit

    def known_folders(self) -> set[str]:
        return set()


def test_quota_verdict_fits_and_does_not():
    acc = acc_of([(ts(2020), 400 * KB, 0), (ts(2024), 400 * KB, 0)], ["INBOX"])
    ok = quota_verdict(FakeTarget({"*": Quota("", used=0, limit=1000 * KB)}), 800 * KB, acc)  # type: ignore[arg-type]
    assert ok.fits is True and ok.free == 950 * KB and ok.suggested_since is None
    bad = quota_verdict(FakeTarget({"*": Quota("", used=300 * KB, limit=1000 * KB)}), 800 * KB, acc)  # type: ignore[arg-type]
    assert bad.fits is False and bad.free == 650 * KB and bad.suggested_since == "2024-01-01"
    assert bad.suggested_kept_local["messages"] == 1 and bad.options
    unknown = quota_verdict(FakeTarget({}), 800 * KB, acc)  # type: ignore[arg-type]
    assert unknown.limit is None and unknown.fits is None
    published = quota_verdict(FakeTarget({}), 800 * KB, acc, diet.Limits(quota_bytes=500 * KB))  # type: ignore[arg-type]
    assert published.fits is None and published.published == 500 * KB and published.suggested_since == "2024-01-01"
    paced = quota_verdict(None, 800 * KB, acc, diet.Limits(daily_upload_bytes=300 * KB))
    assert paced.days == 3 and paced.daily_upload_limit == 300 * KB


def test_quota_verdict_every_root_must_fit():
    acc = acc_of([(ts(2020), 400 * KB, 0), (ts(2024), 400 * KB, 0), (ts(2022), 300 * KB, 1), (ts(2023), 300 * KB, 1)],
                 ["INBOX", "Archive"])
    target = FakeTarget({"INBOX": Quota("user", 0, 10_000 * KB), "Archive": Quota("archive", 0, 500 * KB)})
    q = quota_verdict(target, 1400 * KB, acc)  # type: ignore[arg-type]
    assert q.fits is False and q.root == "archive" and q.needed == 600 * KB
    assert q.suggested_since == "2023-01-01"


def test_refusal_has_the_plans_numbers():
    q = QuotaInfo(used=300 * KB, limit=1000 * KB, needed=800 * KB, fits=False, margin=0.05, free=650 * KB,
                  suggested_since="2024-01-01", suggested_kept_local={"messages": 1, "bytes": 400 * KB})
    message, hint = diet.refusal(q)
    assert "does not fit" in message and "150.0 KB" in message  # the shortfall
    assert "--since 2024-01-01" in hint and "--ignore-quota" in hint
    assert diet.quota_lines(q)[0].startswith("Quota")


def scanned(target: str, raw: bytes, when: float, fate: str, fp: str) -> Scanned:
    folder = Folder(path=(target,), origin="", key=target)
    rec = MessageRecord(folder=folder, stable_id=f"{target}:{when}", raw=raw,
                        date=datetime.fromtimestamp(when, tz=timezone.utc))
    return Scanned(Entry(None, folder, target), rec, fate, wire=raw, fingerprint=fp)  # type: ignore[arg-type]


def test_a_newer_duplicate_moves_the_candidate_date():
    acc = _Acc()
    acc.enter(Entry(None, Folder(("INBOX",), "", "i"), "INBOX"), False)  # type: ignore[arg-type]
    acc.candidate(scanned("INBOX", b"x" * 10, ts(2019), UPLOAD, "ab" * 32))
    acc.copy_seen(scanned("INBOX", b"x" * 10, ts(2023), DUPLICATE, "ab" * 32))
    acc.copy_seen(scanned("Other", b"x" * 10, ts(2024), DUPLICATE, "ab" * 32))  # another folder: unrelated
    acc.copy_seen(scanned("INBOX", b"x" * 10, ts(2021), DUPLICATE, "ab" * 32))
    acc.settle_copies()
    assert list(acc.dates) == [ts(2023)]  # under --since 2022 the 2023 copy is uploaded: it counts


class FakeState:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def meta(self, key: str) -> str | None:
        return self.data.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self.data[key] = value


def test_daily_pacer_waits_for_the_next_window_and_remembers():
    now = [1000.0]
    waits: list[tuple[float, int]] = []
    state = FakeState()
    pacer = diet.DailyPacer(100, state, clock=lambda: now[0],
                            sleep=lambda s: now.__setitem__(0, now[0] + s), on_wait=lambda u, b: waits.append((u, b)))
    assert pacer.wait_needed(60) == 0
    pacer.sent_bytes(60)
    assert pacer.wait_needed(30) == 0
    pacer.sent_bytes(30)
    until = pacer.wait_needed(30)
    assert until == 1000.0 + diet.DAY
    again = diet.DailyPacer(100, state, clock=lambda: now[0])  # a new run the same day knows what was sent
    assert again.sent == 90 and again.wait_needed(30) == until
    assert pacer.wait(until, stop=lambda: False) is True
    assert now[0] >= until and waits == [(until, 90)]
    assert pacer.wait_needed(30) == 0 and json.loads(state.data[diet.PACE_META_KEY])["bytes"] == 0
    stopped = diet.DailyPacer(100, FakeState(), clock=lambda: now[0], sleep=lambda s: None)
    stopped.sent_bytes(100)
    assert stopped.wait(stopped.wait_needed(1), stop=lambda: True) is False
    lone = diet.DailyPacer(100, FakeState(), clock=lambda: now[0])
    assert lone.wait_needed(500) == 0  # a message larger than the cap goes alone


def test_ledger_lists_only_what_exists_only_here():
    s = scanned("INBOX", b"abc", ts(2019), "filtered", "cd" * 32)
    s.reason = "before --since"
    assert diet.ledger_row(s, "INBOX", lambda t, f: False) == (
        s.record.stable_id, "INBOX", "cd" * 32, 3, s.record.date.isoformat(), "before --since")
    assert diet.ledger_row(s, "INBOX", lambda t, f: True) is None  # uploaded earlier: not local-only
    s.reason = "folder excluded"
    assert diet.ledger_row(s, "INBOX", lambda t, f: False) is None


def test_message_limit_and_limits_without_preset():
    assert diet.message_limit(None, None) is None
    assert diet.message_limit(5000, diet.Limits(max_message_bytes=4000)) == 4000
    assert diet.message_limit(3000, diet.Limits(max_message_bytes=4000)) == 3000
    assert diet.limits_for(None, "127.0.0.1", "someone") == diet.Limits()


def years_corpus(root: Path) -> dict[int, list[Item]]:
    """Maildir++: INBOX with one 8 KiB message per half year 2016-2023, Trash with 4, one big one."""
    by_year: dict[int, list[Item]] = {}
    dated: list[tuple[datetime, Item, tuple[str, ...]]] = []
    for y in range(2016, 2024):
        for month in (3, 9):
            when = datetime(y, month, 10, 9, 30, tzinfo=timezone.utc)
            raw = msg(f"mail {y}-{month}", "x" * 8000 + "\n", date=when.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                      n=y * 100 + month)
            by_year.setdefault(y, []).append(Item(raw))
            dated.append((when, Item(raw), ()))
    for i in range(4):
        when = datetime(2023, 1, i + 1, 10, tzinfo=timezone.utc)
        dated.append((when, Item(msg(f"trash {i}", "t" * 8000 + "\n", n=900 + i)), ("Trash",)))
    dated.append((datetime(2023, 8, 1, 10, tzinfo=timezone.utc), Item(msg("big", "b" * 60_000 + "\n", n=999)), ()))
    for n, (when, item, parts) in enumerate(dated):  # Maildir: the delivery time in the name is the date
        write_maildir_message(maildirpp_folder(root, parts), item, n, int(when.timestamp()))
    return by_year


def test_build_plan_over_a_maildir(tmp_path: Path):
    years_corpus(tmp_path / "md")
    source = MaildirSource(tmp_path / "md")
    state = State.open(tmp_path / "none.db", source_id="s", target_id="t", create=False)
    target = FakeTarget({"*": Quota("", used=0, limit=100 * KB)}, append_limit=50_000)
    layout = TargetLayout(special={"trash": "Trash"})
    plan = build_plan(Scanner([source], layout, Scope(), state, target), target_label="t",  # type: ignore[arg-type]
                      limits=diet.Limits(daily_upload_bytes=40 * KB))
    q = plan.quota
    assert ["big" in m.subject for m in plan.too_big] == [True] and plan.max_message_bytes == 50_000
    assert q.needed == plan.totals.upload_bytes - plan.too_big[0].size
    assert q.fits is False and q.free == 95 * KB
    assert q.suggested_since is not None
    after = sum(s for y, (_n, s) in plan.upload_by_year.items() if y >= q.suggested_since[:4])
    assert after > 0
    flags = [o.flags for o in q.options]
    assert any(f.startswith("--exclude Trash") for f in flags)
    assert q.days is not None and q.days >= 3
    assert sum(n for n, _b in plan.upload_by_year.values()) == plan.totals.to_upload - 1
    # the suggestion really fits: plan again with it
    since = Scope(since=datetime.fromisoformat(q.suggested_since).replace(tzinfo=timezone.utc))
    again = build_plan(Scanner([MaildirSource(tmp_path / "md")], layout, since, state, target),  # type: ignore[arg-type]
                       target_label="t")
    assert again.quota.fits is True
    kept = again.kept_local
    assert kept["messages"] == q.suggested_kept_local["messages"] == again.totals.filtered
    assert kept["bytes"] == q.suggested_kept_local["bytes"]
    inbox = kept["folders"]["INBOX"]  # type: ignore[index]
    assert inbox["reasons"] == {"before --since": inbox["messages"]}
    assert inbox["newest"] < q.suggested_since


@pytest.mark.parametrize("unicode", [True, False])
def test_render_plan_tells_what_to_do(tmp_path: Path, unicode: bool):
    from migrator.render.terminal import render_plan

    years_corpus(tmp_path / "md")
    state = State.open(tmp_path / "none.db", source_id="s", target_id="t", create=False)
    target = FakeTarget({"*": Quota("", used=0, limit=100 * KB)}, append_limit=50_000)
    plan = build_plan(Scanner([MaildirSource(tmp_path / "md")], TargetLayout(special={"trash": "Trash"}), Scope(),
                              state, target), target_label="imaps://u@h")  # type: ignore[arg-type]
    text = render_plan(plan, unicode=unicode)
    assert "it does NOT fit" in text and f"--since {plan.quota.suggested_since}" in text
    assert "these stay on this computer" in text and "Other diets:" in text
    assert "Too large for the server" in text and "1 too big for the server" in text
    assert "2023" in text and "2016" in text  # the chart
    if not unicode:
        assert text.isascii() or all(ord(c) < 128 for c in text.split("Mail by year")[1].split("Quota")[0])
