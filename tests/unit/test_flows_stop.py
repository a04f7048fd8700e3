"""The run's cooperative stop (RunOptions.stop_requested: the CLI's Ctrl-C, the web app's pause) and
its Totals, against the in-memory server: stopped between messages, during the pre-read, or at once
(KeyboardInterrupt), the run returns its accounting and what is left; run again, each message once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from migrator.domain.events import Done, Totals
from tests.support.memory_server import Account
from tests.unit.test_flows_upload import _adds_up, _run, _store


class After:
    """stop_requested that says stop from its n-th call on."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls > self.n


def test_a_stop_settles_what_was_sent_and_says_what_is_left(tmp_path: Path):
    src = _store(tmp_path / "src", 20)
    acc = Account()
    events: list[object] = []
    stats = _run(tmp_path, src, acc, batch_count=2, connections=1, stop_requested=After(7), on_event=events.append)
    assert stats.interrupted and 0 < stats.uploaded < 20
    _adds_up(stats)
    assert stats.left == 20 - stats.uploaded and stats.to_go == stats.left
    assert len(Counter(acc.all_raws())) == stats.uploaded, "what the accounting says went up is on the server"
    totals = [e for e in events if isinstance(e, Totals) and e.phase == "uploading"]
    assert totals[0].total_messages == 20 and totals[0].exact and totals[0].done_messages == 0
    assert totals[-1].left_messages == stats.left
    done = [e for e in events if isinstance(e, Done)]
    assert done and done[-1].interrupted
    again = _run(tmp_path, src, acc, batch_count=2, connections=1, on_event=events.append)
    assert not again.interrupted and again.uploaded == stats.left and again.already == stats.uploaded
    assert again.left == 0
    assert all(n == 1 for n in Counter(acc.all_raws()).values()) and len(acc.all_raws()) == 20


def test_a_resumed_run_starts_from_what_the_journal_holds(tmp_path: Path):
    src = _store(tmp_path / "src", 12)
    acc = Account()
    first = _run(tmp_path, src, acc, batch_count=1, connections=1, stop_requested=After(5))
    events: list[object] = []
    _run(tmp_path, src, acc, batch_count=1, connections=1, on_event=events.append)
    start = next(e for e in events if isinstance(e, Totals) and e.phase == "uploading")
    assert start.done_messages == first.uploaded > 0 and start.total_messages == 12
    end = [e for e in events if isinstance(e, Totals)][-1]
    assert end.done_messages == end.total_messages == 12


def test_a_stop_during_the_pre_read_sends_nothing(tmp_path: Path):
    src = _store(tmp_path / "src", 10)
    acc = Account()
    stats = _run(tmp_path, src, acc, exact_plan=True, stop_requested=After(3))
    assert stats.interrupted and stats.uploaded == 0 and not acc.all_raws()
    assert stats.left == 10


def test_a_stop_at_once_still_returns_the_accounting(tmp_path: Path):
    src = _store(tmp_path / "src", 12)
    acc = Account()
    calls = {"n": 0}

    def interrupt() -> bool:  # the CLI's second Ctrl-C raises KeyboardInterrupt into the flow
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return False

    stats = _run(tmp_path, src, acc, batch_count=1, connections=1, stop_requested=interrupt)
    assert stats.interrupted and stats.left is not None and stats.left + stats.in_scope == 12
    _adds_up(stats)
    again = _run(tmp_path, src, acc, batch_count=1, connections=1)  # open intents resolved: each once
    assert not again.interrupted
    assert all(n == 1 for n in Counter(acc.all_raws()).values()) and len(acc.all_raws()) == 12
