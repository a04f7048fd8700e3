"""Progress with totals (issue 18 items 1 and 4): the cheap counts of the stores, the Meter that
turns a flow's events into Totals (corrected as the pass goes, the journal's credit done from the
start), the bar's text in the one unit formatter, and what an interrupted run says is left."""

from __future__ import annotations

from pathlib import Path

from migrator.domain.counts import Counts
from migrator.domain.events import Done, FolderDone, FolderStarted, MessageSettled, PhaseStarted, Totals
from migrator.domain.models import FolderRun, RunStats
from migrator.domain.units import human_bytes
from migrator.flows.progress import READ_OUTCOMES, Meter, Part, part, summed
from migrator.render.bars import left_text, messages_text, sizes_text, speed_text
from migrator.render.terminal import Progress, render_run
from migrator.sources.base import Estimate
from migrator.sources.estimate import maildir_estimate, mbox_estimate


def _meter(parts: list[Part], **kw: object) -> tuple[Meter, list[object]]:
    got: list[object] = []
    clock = iter(range(10**6))
    return Meter(got.append, "uploading", parts, clock=lambda: float(next(clock)), **kw), got  # type: ignore[arg-type]


def _totals(got: list[object]) -> list[Totals]:
    return [e for e in got if isinstance(e, Totals)]


# -- the stores' cheap counts -------------------------------------------------------------------


def test_maildir_estimate_counts_the_listing_and_takes_sizes_from_names_or_stat(tmp_path: Path):
    for sub in ("cur", "new", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "cur" / "1.M1.host,S=5000:2,S").write_bytes(b"x" * 10)  # the name's size is taken as is
    (tmp_path / "new" / "2.M2.host").write_bytes(b"y" * 300)
    (tmp_path / "tmp" / "3.M3.host").write_bytes(b"z" * 7)  # a delivery not finished: not a message
    (tmp_path / "cur" / ".hidden").write_bytes(b"h")
    est = maildir_estimate(str(tmp_path))
    assert est == Estimate(2, 5300, messages_exact=True, bytes_exact=True)


def test_mbox_estimate_samples_separators_and_takes_the_file_size(tmp_path: Path, monkeypatch):
    msg = b"From a@x Mon Jan  1 10:00:00 2024\nFrom: a@x\nSubject: s\n\nFrom 10:00 to 12:00 we meet.\n\n"
    f = tmp_path / "box"
    f.write_bytes(msg * 100)
    est = mbox_estimate(str(f))
    assert est is not None and est.messages == 100 and est.bytes == len(msg) * 100 and not est.exact
    monkeypatch.setattr("migrator.sources.estimate.SAMPLE", len(msg) * 10)  # a sample of a tenth: scaled
    est = mbox_estimate(str(f))
    assert est is not None and est.messages == 100
    (tmp_path / "empty").write_bytes(b"")
    assert mbox_estimate(str(tmp_path / "empty")) == Estimate(0, 0, True, True)
    assert mbox_estimate(str(tmp_path / "absent")) is None


def test_estimates_of_a_folder_group_add_up_or_are_unknown():
    assert summed([Estimate(2, 10, True, True), Estimate(3, 5, False, True)]) == Estimate(5, 15, False, True)
    assert summed([Estimate(2, 10, True, True), None]) is None


# -- the Meter ----------------------------------------------------------------------------------


def test_totals_from_estimates_with_the_journals_credit_done_from_the_start():
    meter, got = _meter([part("Inbox", Estimate(10, 1000, True, True), credit=(4, 400)),
                         part("Sent", Estimate(5, 500, True, True))])
    meter(PhaseStarted("uploading"))
    first = _totals(got)[0]
    assert (first.done_messages, first.done_bytes, first.total_messages, first.total_bytes) == (4, 400, 15, 1500)
    assert first.exact and first.left_messages == 11 and first.left_bytes == 1100
    meter(FolderStarted("Inbox"))
    for _ in range(4):  # settled by the earlier run: counted already
        meter(MessageSettled("Inbox", "already", 100, earlier=True))
    for _ in range(6):
        meter(MessageSettled("Inbox", "uploaded", 100))
    meter(FolderDone("Inbox", Counts(uploaded=6, already=4)))
    meter(FolderStarted("Sent"))
    meter(MessageSettled("Sent", "uploaded", 100))
    meter(MessageSettled("Sent", "skipped", 100))
    t = meter.totals()
    assert (t.done_messages, t.done_bytes, t.total_messages, t.total_bytes) == (12, 1200, 15, 1500)
    meter(FolderDone("Sent", Counts(uploaded=4, skipped=1)))  # it held what it said: 5
    meter(Done())
    last = _totals(got)[-1]
    assert last.done_messages == last.total_messages == 15 and last.left_messages == 0
    assert isinstance(got[-1], Done), "Done is forwarded after the last Totals"


def test_an_mbox_count_is_corrected_as_the_pass_goes():
    meter, _got = _meter([part("big", Estimate(100, 100_000)), part("next", Estimate(50, 50_000))])
    meter(PhaseStarted("uploading"))
    assert meter.totals().total_messages == 150 and not meter.totals().exact
    meter(FolderStarted("big"))
    for _ in range(20):  # 2,000 bytes a message, not 1,000: half as many as sampled
        meter(MessageSettled("big", "uploaded", 2000))
    t = meter.totals()
    assert t.done_messages == 20 and 40 <= t.total_messages - 50 <= 60, t  # "big" now ~50, "next" still 50
    for _ in range(30):
        meter(MessageSettled("big", "uploaded", 2000))
    meter(FolderDone("big", Counts(uploaded=50)))
    t = meter.totals()  # the next mbox is corrected by what the done one held against its estimate
    assert t.total_messages == 50 + 25 and t.total_bytes == 100_000 + 50_000


def test_done_never_exceeds_the_total_and_unknown_stays_unknown():
    meter, _ = _meter([part("x", Estimate(2, 100, True, True)), part("y", None)])
    meter(FolderStarted("x"))
    for _ in range(3):
        meter(MessageSettled("x", "uploaded", 80))
    t = meter.totals()
    assert t.total_messages is None and t.total_bytes is None and not t.exact  # "y" has no cheap count
    meter(FolderDone("x"))
    meter(FolderStarted("y"))
    meter(MessageSettled("y", "uploaded", 10))
    meter(FolderDone("y"))
    t = meter.totals()
    assert (t.done_messages, t.total_messages, t.done_bytes, t.total_bytes) == (4, 4, 250, 250)


def test_a_folder_not_read_again_counts_its_estimate_done():
    meter, _ = _meter([part("same", Estimate(7, 700, True, True), credit=(7, 720)), part("new", Estimate(1, 10))])
    assert meter.totals().done_messages == 7
    meter(FolderStarted("same"))
    meter(FolderDone("same", Counts(already=7)))  # unchanged since a settled run: not read
    meter(FolderStarted("new"))
    t = meter.totals()
    assert t.done_messages == 7 and t.total_messages == 8


def test_verify_counts_reads_only_and_a_half_read_folder_is_not_done():
    meter, _ = _meter([part("a", Estimate(3, 30, True, True)), part("b", Estimate(3, 30, True, True))],
                      counted=READ_OUTCOMES)
    meter(FolderStarted("a"))
    for _ in range(3):
        meter(MessageSettled("a", "read", 10))
        meter(MessageSettled("a", "checked", 10))  # the deep compare of the same message: not progress
    meter(FolderDone("a"))
    meter(FolderStarted("b"))
    meter(MessageSettled("b", "read", 10))
    assert meter.totals().done_messages == 4
    stopped = meter.totals(partial=False)
    assert stopped.done_messages == 3 and stopped.left_messages == 3


def test_totals_are_throttled_while_a_folder_is_read():
    meter, got = _meter([part("a", Estimate(100, 100, True, True))], interval=1000)
    meter(PhaseStarted("uploading"))
    meter(FolderStarted("a"))
    for _ in range(50):
        meter(MessageSettled("a", "uploaded", 1))
    assert len(_totals(got)) == 1, "the clock did not move past the interval"
    assert sum(isinstance(e, MessageSettled) for e in got) == 50, "every event is forwarded"


# -- the bar's text -----------------------------------------------------------------------------


def test_bar_text_uses_the_one_unit_formatter_and_thousands_separators():
    assert messages_text(1234, 2915) == "1,234/2,915 messages"
    assert messages_text(1234, 2915, exact=False) == "1,234/~2,915 messages"
    assert messages_text(12345, None) == "12,345 messages"
    assert sizes_text(7_500_000, 18_000_000) == f"{human_bytes(7_500_000)}/{human_bytes(18_000_000)}"
    assert sizes_text(7_500_000, 18_000_000) == "7.2 MB/17.2 MB"  # binary MB, as every summary
    assert speed_text(309_248) == "302.0 KB/s" and speed_text(None) == "? B/s"
    assert left_text(24) == "00:24 left" and left_text(3723) == "1:02:03 left" and left_text(None) == "? left"


def test_terminal_progress_draws_from_totals_quietly():
    p = Progress(quiet=True)
    p(PhaseStarted("uploading"))
    p(Totals("uploading", 5, 500, 10, 1000, True))
    p(MessageSettled("Inbox", "uploaded", 100))  # a metered phase: the Totals draw the bar
    p(Totals("uploading", 6, 600, 10, 1200, False))
    p(Totals("checking", 1, 1, 1, 1, True))  # another phase's: ignored
    p(PhaseStarted("archiving"))  # no Totals: advanced by the messages settled
    p(MessageSettled("x", "archived", 10))
    p.close()


# -- what an interrupted or refused run says ----------------------------------------------------


def _stats(**kw: object) -> RunStats:
    stats = RunStats(target="imaps://u@h", state="s.db", folders=[FolderRun(source="Inbox", target="INBOX",
                                                                            uploaded=1585, scanned=1585,
                                                                            uploaded_bytes=9_000_000)])
    for k, v in kw.items():
        setattr(stats, k, v)
    return stats.tally()


def test_an_interrupted_run_prints_the_accounting_and_what_is_left():
    out = render_run(_stats(interrupted=True, left=2415, left_bytes=12_900_000))
    assert "In scope: 1,585 = uploaded 1,585 + already on target 0" in out
    assert any("1,585" in line for line in out.split("\n")[:5]), "thousands separators in the table"
    assert "Interrupted: 2,415 messages (12.3 MB) left: run the same command again." in out


def test_an_interrupted_run_without_totals_still_says_how_to_carry_on():
    out = render_run(_stats(interrupted=True))
    assert "Interrupted: run the same command again to carry on." in out


def test_an_over_quota_stop_says_what_is_left():
    stats = _stats(left=0, left_bytes=0)
    stats.folders[0].over_quota, stats.folders[0].over_quota_bytes = 1200, 2_000_000
    stats.tally()
    out = render_run(stats)
    assert "Not done: the server is over quota (see the hint below): 1,200 messages (1.9 MB) left; " \
           "run the same command again once there is room." in out
