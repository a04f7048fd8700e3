"""`migrate ui`'s pure parts: the language choice, the provider rules of step 2, the progress fold."""

from __future__ import annotations

import threading

from pydantic import SecretStr

from migrator.domain.counts import Counts
from migrator.domain.events import Done, FolderDone, FolderStarted, MessageSettled, PhaseStarted, Totals
from migrator.web.jobs import Tracker
from migrator.web.lang import choose, negotiate
from migrator.web.security import Guard
from migrator.web.session import OFFERED, Account


def test_language_switch_beats_cli_beats_browser():
    assert negotiate("ja,en-US;q=0.9,en;q=0.8") == "ja"
    assert negotiate("en-US,en;q=0.9,ja;q=0.8") == "en"
    assert negotiate("fr-FR,fr;q=0.9,ja;q=0.5") == "ja"
    assert negotiate("de") == "en" and negotiate("") == "en"
    assert negotiate("ja;q=0, en") == "en"
    assert choose(None, None, "ja") == "ja"
    assert choose(None, "en", "ja") == "en", "--lang wins over Accept-Language"
    assert choose("ja", "en", "en") == "ja", "the page's switch wins over --lang"


def test_presets_fill_the_server_and_the_login():
    assert OFFERED[-1] == "other" and {"gmail", "icloud", "office365", "yahoo-japan", "ocn", "nifty", "docomo"} <= set(OFFERED)
    icloud = Account("icloud", "taro.yamada@icloud.com").resolved()
    assert (icloud.host, icloud.port, icloud.security, icloud.login) == ("imap.mail.me.com", 993, "tls", "taro.yamada")
    gmail = Account("gmail", "hanako@gmail.com", host="evil.example", port=1).resolved()
    assert (gmail.host, gmail.port, gmail.login) == ("imap.gmail.com", 993, "hanako@gmail.com"), "the preset wins"
    docomo = Account("docomo", "abc@docomo.ne.jp").resolved()
    assert docomo.host == "imap.spmode.ne.jp"
    outlook = Account("office365", "me@outlook.jp").target(SecretStr("t"))
    assert outlook.provider == "outlook" and outlook.oauth2, "Microsoft takes a token, not a password"
    other = Account("other", "me@example.com", host="mail.example.com", port=143, security="starttls").target(None)
    assert (other.scheme, other.host, other.port, other.user) == ("imap", "mail.example.com", 143, "me@example.com")


def test_tracker_folds_events_into_progress():
    clock = [100.0]
    t = Tracker(threading.Condition(), total_messages=4, clock=lambda: clock[0])
    t(PhaseStarted("reading"))
    t(MessageSettled("INBOX", "read", 999))  # the plan's scan before the upload is not the upload
    t(PhaseStarted("uploading", total_bytes=400))
    t(FolderStarted("INBOX", "INBOX", expected_messages=4, expected_bytes=400))
    t(MessageSettled("INBOX", "uploaded", 100))
    clock[0] += 2
    t(MessageSettled("INBOX", "already", 100))
    s = t.snapshot()
    assert (s.messages, s.bytes, s.total_bytes, s.percent) == (2, 200, 400, 50.0)
    assert s.rate == 100.0 and s.eta == 2.0
    assert s.folders[0].expected_messages == 4 and not s.folders[0].done
    t(MessageSettled("INBOX", "failed", 100))
    t(FolderDone("INBOX", Counts()))
    t(Done())
    s = t.snapshot()
    assert s.failed == 1 and s.folders[0].done


def test_guard_urls_and_sessions():
    g = Guard(port=8765)
    assert g.url().startswith("http://127.0.0.1:8765/?token=") and g.token in g.url()
    assert g.hosts == {"127.0.0.1:8765", "localhost:8765", "[::1]:8765"}
    assert g.token_ok(g.token) and not g.token_ok("") and not g.token_ok(g.token + "x")
    a, b = g.new_session(), g.new_session()
    assert a != b and g.csrf_of(a) != g.csrf_of(b) and g.csrf_of("nope") == ""


def test_tracker_takes_the_flows_totals_when_it_gives_them():
    clock = [0.0]
    t = Tracker(threading.Condition(), clock=lambda: clock[0])
    t(PhaseStarted("uploading"))
    t(Totals("uploading", done_messages=50, done_bytes=5000, total_messages=100, total_bytes=10000))  # resumed
    t(FolderStarted("INBOX", "INBOX"))
    clock[0] += 10
    t(MessageSettled("INBOX", "uploaded", 1000))
    t(Totals("uploading", done_messages=51, done_bytes=6000, total_messages=100, total_bytes=10000))
    s = t.snapshot()
    assert (s.messages, s.bytes, s.total_messages, s.percent) == (51, 6000, 100, 60.0)
    assert s.rate == 100.0 and s.eta == 40.0, "the rate of this run's own part"
    assert s.folders[0].messages == 1
