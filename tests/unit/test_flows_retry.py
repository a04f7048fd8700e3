"""The one reconnect/back-off policy (flows/retry.py) and the one IMAP error translation
(imap/append.translated), as pure logic."""

from __future__ import annotations

import imaplib
import ssl

import pytest

from migrator.domain.errors import ConnectionLost, LoginError, TargetError
from migrator.flows.retry import RetryPolicy, default_backoff, pushback_delay, retrying, transient
from migrator.imap.append import translated
from migrator.imap.wire import AppendOutcome


def test_default_backoff_gives_up_after_about_30_seconds():
    waits = [default_backoff(a) for a in range(RetryPolicy().attempts)]
    assert waits == [0.5, 1, 2, 4, 8, 16]
    assert 25 <= sum(waits) <= 35
    assert default_backoff(20) == 30.0


def test_reconnect_tries_with_backoff_then_gives_up():
    slept: list[float] = []
    calls = []

    def connect():
        calls.append(1)
        raise TargetError("unreachable")

    with pytest.raises(TargetError, match="could not reconnect"):
        RetryPolicy(attempts=4, sleep=slept.append).reconnect(connect)
    assert len(calls) == 4 and slept == [0.5, 1, 2, 4]


def test_reconnect_stops_at_once_on_a_refused_login():
    calls = []

    def connect():
        calls.append(1)
        raise LoginError("[AUTHENTICATIONFAILED] no", code="AUTHENTICATIONFAILED")

    with pytest.raises(LoginError):
        RetryPolicy(sleep=lambda s: None).reconnect(connect)
    assert len(calls) == 1


def test_a_busy_login_is_transient_a_refused_one_is_not():
    assert transient(ConnectionLost("x")) and transient(OSError("x")) and transient(TargetError("x"))
    assert transient(LoginError("busy", code="UNAVAILABLE"))
    assert not transient(LoginError("refused", code="AUTHENTICATIONFAILED"))
    assert not transient(ValueError("bug"))


def test_retrying_reconnects_a_bounded_number_of_times():
    conn = {"n": 0}
    reconnects = []

    def fn(c):
        if c < 2:
            raise ConnectionLost("drop")
        return "ok"

    def again():
        reconnects.append(1)
        conn["n"] += 1

    assert retrying(fn, lambda: conn["n"], again, 3) == "ok" and len(reconnects) == 2
    conn["n"] = -5
    with pytest.raises(ConnectionLost):
        retrying(fn, lambda: conn["n"], again, 1)
    with pytest.raises(ConnectionLost):  # no session to re-open (plan, verify): the first drop is raised
        retrying(fn, lambda: 0, None, 3)


def test_pushback_delay_reads_the_servers_hint_and_rfc5530_codes():
    busy = AppendOutcome(ok=False, code="UNAVAILABLE", text="NO [UNAVAILABLE] try later")
    assert pushback_delay([busy], 0) == 2.0 and pushback_delay([busy], 10) == 60.0
    hint = AppendOutcome(ok=False, text="NO rate limited, backoff time: 1500 ms")
    assert pushback_delay([AppendOutcome(ok=True), hint], 0) == 1.5
    assert pushback_delay([AppendOutcome(ok=False, code="OVERQUOTA", text="NO [OVERQUOTA]")], 0) is None


@pytest.mark.parametrize("exc", [OSError("reset"), TimeoutError("timed out"), ssl.SSLEOFError("eof"),
                                 imaplib.IMAP4.abort("socket error: EOF"), ConnectionResetError()])
def test_every_drop_becomes_connection_lost(exc):
    with pytest.raises(ConnectionLost) as info, translated("connection lost while sending"):
        raise exc
    assert info.value.message.startswith("connection lost while sending")
    assert info.value.__cause__ is exc


def test_a_refusal_passes_through_translation():
    with pytest.raises(imaplib.IMAP4.error), translated():
        raise imaplib.IMAP4.error("NO [CANNOT] refused")
    with pytest.raises(ConnectionLost), translated(also=(imaplib.IMAP4.error,)):
        raise imaplib.IMAP4.error("garbled line")
