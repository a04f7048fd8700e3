"""The journal's shortcuts: what a fresh migration may skip asking, and what it may not."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from migrator.domain.filters import Scope
from migrator.domain.folders import TargetLayout
from migrator.flows.plan import ALREADY, DUPLICATE, UPLOAD, Scanner, settled_key
from migrator.journal.state import Intent, State, _SeenFilter
from migrator.sources.maildir.reader import MaildirSource


def _intent(target: str, fp: str) -> Intent:
    return Intent(target, fp, "<m@x>", 10, "sid-" + fp, "src", "loc", "subject", "2020-01-01T00:00:00+00:00", 1)


def test_has_rows_is_per_target_folder(tmp_path: Path) -> None:
    with State.open(tmp_path / "s.db", source_id="s", target_id="t") as st:
        assert not st.has_rows("INBOX")
        st.record_intents([_intent("INBOX", "aa")])
        assert st.has_rows("INBOX") and not st.has_rows("INBOX/x") and not st.has_rows("Sent")


def test_record_intents_twice_counts_attempts_and_keeps_one_row(tmp_path: Path) -> None:
    with State.open(tmp_path / "s.db", source_id="s", target_id="t") as st:
        st.record_intents([_intent("INBOX", "aa"), _intent("INBOX", "bb")])
        st.mark_done([("INBOX", "aa", 7, 1)])
        st.record_intents([_intent("INBOX", "bb")])
        rows = {r.fingerprint: r for r in st.rows(target="INBOX")}
        assert set(rows) == {"aa", "bb"} and rows["aa"].status == "done" and rows["aa"].uid == 1
        assert rows["bb"].status == "intent" and rows["bb"].subject == "subject"
        assert st._conn.execute("SELECT attempts FROM messages WHERE fingerprint = 'bb'").fetchone() == (2,)  # noqa: SLF001


def test_has_settled_matches_a_whole_store_prefix_only(tmp_path: Path) -> None:
    with State.open(tmp_path / "s.db", source_id="s", target_id="t") as st:
        st.add_settled([("maildir:/a/b2|maildir:inbox:1", 5, "INBOX", "aa")])
        assert not st.has_settled("maildir:/a/b|")  # another store whose path only starts alike
        assert st.has_settled("maildir:/a/b2|")
        assert not st.has_settled("mbox:/a/b2|")


def _maildir(root: Path, n: int) -> None:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / "cur" / f"{1600000000 + i}.M{i}P1.host:2,S").write_bytes(
            b"Message-ID: <m%d@x>\nDate: Mon, 1 Jan 2018 10:00:00 +0000\n\nbody %d\n" % (i, i))


def test_a_rerun_still_finds_what_an_earlier_run_journalled(tmp_path: Path) -> None:
    """The first pass skips journal lookups for a target folder with no rows; a later pass,
    with rows, must find them (ALREADY), and copies within a pass stay DUPLICATE."""
    _maildir(tmp_path / "md", 3)
    (tmp_path / "md" / "cur" / "1600000009.M9P1.host:2,S").write_bytes(
        (tmp_path / "md" / "cur" / "1600000000.M0P1.host:2,S").read_bytes())  # an exact copy
    source = MaildirSource(tmp_path / "md")
    with State.open(tmp_path / "s.db", source_id="s", target_id="t") as st:
        scanner = Scanner([source], TargetLayout(), Scope(), st, None, use_settled=True)
        (entry,) = scanner.entries()
        first = list(scanner.scan(entry, scanner.records(entry, 0)))
        assert [s.fate for s in first].count(UPLOAD) == 3 and [s.fate for s in first].count(DUPLICATE) == 1
        ups = [s for s in first if s.fate == UPLOAD]
        st.record_intents([_intent(entry.target, s.fingerprint) for s in ups])
        st.mark_done([(entry.target, s.fingerprint, 1, i + 1) for i, s in enumerate(ups)])
        st.add_settled([(settled_key(entry, ups[0].record.stable_id), ups[0].record.size, entry.target,
                         ups[0].fingerprint)])
        again = Scanner([source], TargetLayout(), Scope(), st, None, use_settled=True)
        (entry,) = again.entries()
        second = list(again.scan(entry, again.records(entry, 0)))
        assert [s.fate for s in second].count(ALREADY) == 3 and [s.fate for s in second].count(DUPLICATE) == 1
        assert any(s.record.extra.get("known") for s in second)  # the settled one was not read again


@pytest.mark.parametrize("bits", [1 << 25, 1 << 6])  # the real size, and one so small nearly every key collides
def test_dedupe_set_is_exact_behind_its_filter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bits: int) -> None:
    """A pass's dedupe set answers exactly like a Python set, whatever the Bloom filter in front
    of it guesses; a new pass starts empty."""
    monkeypatch.setattr(_SeenFilter, "BITS", bits)
    rng = random.Random(3)
    keys = [(rng.choice(["INBOX", "Sent", "送信済み"]), rng.randbytes(12)) for _ in range(2500)]
    keys += rng.sample(keys, 800)  # repeats, some long after the first time
    rng.shuffle(keys)
    with State.open(tmp_path / "s.db", source_id="s", target_id="t") as st:
        seen_pass, reference = st.new_seen(), set()
        for target, fp in keys:
            assert st.seen_add(seen_pass, target, fp) == ((target, fp) not in reference)
            reference.add((target, fp))
        assert not st.seen_add(seen_pass, *keys[0])
        again = st.new_seen()
        assert all(st.seen_add(again, t, fp) for t, fp in dict.fromkeys(keys[:50]))
        with pytest.raises(ValueError):
            st.seen_add(seen_pass, "INBOX", b"x" * 12)  # an ended pass
