"""Flow decisions of `run` against the in-memory server (tests/support/memory_server.py):
batching, crash points, accounting, quarantine, keywords, over quota, dedupe, reconnect policy.
Behaviour (bytes, flags, dates on a real server) is tested against Dovecot in tests/dovecot/."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from migrator.domain.errors import LoginError, TargetError
from migrator.domain.filters import Scope
from migrator.domain.identity import to_crlf
from migrator.flows.run import RunOptions, execute
from migrator.flows.server import Server
from migrator.journal.state import State
from migrator.sources import open_source
from tests.support.corpus import Item, msg, write_maildirpp
from tests.support.memory_server import Account, MemoryServer


def _store(root: Path, n: int = 12, *, body: str = "hello", extra: dict[tuple[str, ...], list[Item]] | None = None,
           flags: frozenset[str] = frozenset({"\\Seen"})) -> Path:
    items = {("Inbox",): [Item(msg(f"m{i}", f"{body} {i}\n" + "x" * (50 * i), n=i), flags) for i in range(n)]}
    items.update(extra or {})
    write_maildirpp(root, items)
    return root


def _run(tmp: Path, src: Path, account: Account, **kw: object):
    opts = RunOptions(backoff=lambda a: 0.0, settle_delay=0.05, **kw)  # type: ignore[arg-type]
    with State.open(tmp / "state.db", source_id="src", target_id="memory") as state:
        source = open_source(src)
        try:
            stats = execute([source], account.connect, state, Scope(), opts, tmp / "quarantine")
        finally:
            close = getattr(source, "close", None)
            if close:
                close()
    return stats


def _adds_up(stats) -> None:
    assert stats.in_scope == stats.uploaded + stats.already + stats.duplicates + stats.failed + stats.over_quota


def _once(account: Account, src_messages: int) -> None:
    got = Counter(account.all_raws())
    assert all(v == 1 for v in got.values()), "a message is on the server twice"
    assert len(got) == src_messages


def test_memory_server_satisfies_the_protocol():
    assert isinstance(MemoryServer(Account()), Server)


def test_batches_respect_count_and_bytes(tmp_path):
    src = _store(tmp_path / "src", 25)
    acc = Account()
    stats = _run(tmp_path, src, acc, batch_count=4, connections=1)
    _adds_up(stats)
    assert stats.uploaded == 25
    sizes = [n for kind, _f, n in acc.commands]
    assert max(sizes) <= 4 and sum(sizes) == 25
    acc2 = Account()
    _run(tmp_path / "b", src, acc2, batch_count=100, batch_bytes=1500, connections=1)
    assert len(acc2.commands) > 1  # bytes cap splits what the count cap would not
    assert max(n for *_x, n in acc2.commands) < 25


@pytest.mark.parametrize("k", [1, 3, 7, 12])
@pytest.mark.parametrize("when", ["drop_before", "drop_after"])
def test_a_drop_at_the_kth_append_loses_nothing_and_doubles_nothing(tmp_path, k, when):
    src = _store(tmp_path / "src", 12)
    acc = Account(**{when: k})
    stats = _run(tmp_path, src, acc, batch_count=3, connections=2)
    _adds_up(stats)
    assert stats.failed == 0 and stats.uploaded == 12
    _once(acc, 12)
    again = _run(tmp_path, src, acc, batch_count=3, connections=2)
    _adds_up(again)
    assert again.uploaded == 0
    _once(acc, 12)


def test_a_refused_message_goes_to_quarantine_and_the_rest_goes_up(tmp_path):
    src = _store(tmp_path / "src", 6)
    acc = Account(refuse=lambda item: ("PARSE", "bad message") if b"m3" in item.raw else None)
    stats = _run(tmp_path, src, acc, batch_count=10, connections=1)
    _adds_up(stats)
    assert (stats.uploaded, stats.failed) == (5, 1)
    assert len(list((tmp_path / "quarantine").rglob("*.eml"))) == 1
    assert not any(b"m3" in r for r in acc.all_raws())


def test_a_refused_keyword_is_resent_without_it(tmp_path):
    src = tmp_path / "src"
    write_maildirpp(src, {("Inbox",): [Item(msg("plain", n=1), frozenset({"\\Seen"})),
                                       Item(msg("tagged", n=2), frozenset({"\\Seen"}))]})
    (src / "dovecot-keywords").write_text("0 $Work\n")  # Dovecot keyword letter a
    tagged = next(p for p in (src / "cur").iterdir() if b"tagged" in p.read_bytes())
    tagged.rename(tagged.with_name(tagged.name + "a"))
    refused: list[bytes] = []

    def refuse(item):
        if "$Work" in item.flags:
            refused.append(item.raw)
            return ("CANNOT", "no keywords")
        return None

    acc = Account(refuse=refuse)
    stats = _run(tmp_path, src, acc, connections=1)
    assert len(refused) >= 1  # it was offered with its keyword first
    _adds_up(stats)
    assert (stats.uploaded, stats.failed) == (2, 0)
    assert all("$Work" not in m.flags for m in acc.boxes["INBOX"].messages)
    assert any("$Work" in w and "refused" in w for w in stats.warnings)


def test_over_quota_goes_message_by_message_and_counts_the_rest(tmp_path):
    src = _store(tmp_path / "src", 10)
    sizes = sorted(len(to_crlf(m)) for m in [msg(f"m{i}", f"hello {i}\n" + "x" * (50 * i), n=i) for i in range(10)])
    acc = Account(quota_limit=sum(sizes[:5]))
    stats = _run(tmp_path, src, acc, batch_count=4, connections=1, ignore_quota=True, exact_plan=False)
    _adds_up(stats)
    assert stats.over_quota > 0 and stats.uploaded > 0 and stats.failed == 0
    assert acc.used() <= acc.quota_limit
    assert ("APPEND", "INBOX", 1) in acc.commands  # after the refusal: one message per APPEND
    _once(acc, stats.uploaded)


def test_same_content_twice_is_a_duplicate_and_a_rerun_finds_it_already_there(tmp_path):
    src = tmp_path / "src"
    same = msg("twin", "same body\n", n=1)
    write_maildirpp(src, {("Inbox",): [Item(same), Item(same), Item(msg("other", n=2))],
                          ("Sent",): [Item(same)]})
    acc = Account()
    stats = _run(tmp_path, src, acc, connections=1)
    _adds_up(stats)
    assert stats.uploaded == 3 and stats.duplicates == 1  # once per target folder
    assert Counter(acc.raws("INBOX"))[to_crlf(same)] == 1
    # a lost journal: the server's copies are recognised, nothing is sent twice
    (tmp_path / "state.db").unlink()
    again = _run(tmp_path, src, acc, connections=1)
    _adds_up(again)
    assert again.uploaded == 0 and again.already + again.duplicates == 4


def test_a_refused_login_on_reconnect_stops_at_once(tmp_path):
    src = _store(tmp_path / "src", 9)
    acc = Account(drop_after=2)
    real_connect = acc.connect

    def connect():
        if acc.connects >= 2:  # the password was changed during the run
            acc.login_refused = True
        return real_connect()

    acc.connect = connect  # type: ignore[method-assign]
    with pytest.raises(LoginError):
        _run(tmp_path, src, acc, batch_count=3, connections=1)
    assert acc.connects <= 4  # one refusal, no retry loop hammering the account


def test_a_server_gone_for_good_gives_up_with_a_target_error(tmp_path):
    src = _store(tmp_path / "src", 9)
    acc = Account(drop_after=2)
    real_connect = acc.connect

    def connect():
        if acc.connects >= 2:
            acc.down = True
        return real_connect()

    acc.connect = connect  # type: ignore[method-assign]
    with pytest.raises(TargetError):
        _run(tmp_path, src, acc, batch_count=3, connections=1)
    assert Counter(acc.all_raws()).most_common(1)[0][1] == 1
