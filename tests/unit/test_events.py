"""Progress events: typed, frozen, one sink; the terminal renders them."""

import dataclasses

import pytest

from migrator.domain.counts import Counts
from migrator.domain.events import Done, FolderDone, FolderStarted, MessageSettled, Paused, PhaseStarted, emit
from migrator.flows.run import _plan_part
from migrator.render.terminal import Progress, paused_line


def test_events_are_frozen_and_emit_tolerates_no_sink():
    e = MessageSettled("Inbox", "uploaded", 1234)
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.bytes = 1  # type: ignore[misc]
    emit(None, e)  # nobody listening: nothing happens
    got = []
    emit(got.append, e)
    assert got == [e]


def test_the_plan_inside_a_run_reports_its_reading_only():
    got = []
    sink = _plan_part(got.append)
    for e in (PhaseStarted("reading"), FolderStarted("Inbox", "INBOX", 2, 20), MessageSettled("Inbox", "read", 10),
              FolderDone("Inbox"), Done()):
        sink(e)
    assert [type(e).__name__ for e in got] == ["PhaseStarted", "FolderStarted", "MessageSettled", "FolderDone"]
    assert _plan_part(None) is None


def test_terminal_progress_follows_phases_quietly():
    p = Progress(quiet=True)
    p(PhaseStarted("reading"))
    p(MessageSettled("Inbox", "read", 100))
    p(PhaseStarted("uploading", 500))  # closes the reading bar, opens the upload bar
    p(MessageSettled("Inbox", "uploaded", 100))
    p(FolderDone("Inbox", Counts(uploaded=1, scanned=1)))
    p(Done(Counts(uploaded=1, scanned=1)))
    p.close()
    p.close()  # idempotent


def test_paused_line_names_the_cap_and_the_time():
    line = paused_line(Paused(until=0.0, sent=3 * 1024 ** 3))
    assert "daily upload cap is reached (3.0 GB in 24 hours)" in line and "run the same command again" in line
