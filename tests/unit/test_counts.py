"""The one counts model: in scope and adds-up are derived, totals are sums of parts."""

from migrator.domain.counts import Counts
from migrator.domain.models import FolderRun, RunStats
from migrator.domain.units import human_bytes


def test_in_scope_is_the_sum_of_outcomes_and_adds_up_compares_with_the_scan():
    c = Counts(uploaded=3, already=2, duplicates=1, failed=1, over_quota=2, skipped=5, filtered=4, scanned=9)
    assert c.in_scope == 9 and c.adds_up
    c.scanned = 10  # one message the scan put in scope has no outcome: reported, never hidden
    assert not c.adds_up


def test_run_totals_are_the_sum_of_the_folders_and_keep_their_json_keys():
    a = FolderRun(source="a", target="A", uploaded=2, uploaded_bytes=200, failed=1, scanned=3)
    b = FolderRun(source="b", target="B", already=4, over_quota=1, over_quota_bytes=50, changed=0, scanned=5)
    stats = RunStats(target="t", state="s", folders=[a, b]).tally()
    assert (stats.in_scope, stats.uploaded, stats.failed, stats.over_quota_bytes) == (8, 2, 1, 50)
    assert stats.adds_up
    dumped = stats.model_dump(mode="json")
    for key in ("in_scope", "uploaded", "uploaded_bytes", "already", "duplicates", "failed", "over_quota",
                "over_quota_bytes", "skipped", "filtered", "changed", "folders"):
        assert key in dumped
    assert dumped["folders"][0]["in_scope"] == 3
    assert "scanned" not in dumped
    back = RunStats.model_validate(dumped)  # a dump read back keeps what it said
    assert back.in_scope == 8 and back.adds_up


def test_one_bytes_formatter():
    assert human_bytes(None) == "unknown"
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KB"
    assert human_bytes(5 * 1024 * 1024) == "5.0 MB"
    assert human_bytes(1023.9 * 1024) == "1,023.9 KB"
    assert human_bytes(-2048) == "-2.0 KB"


def test_verify_totals_are_the_sum_of_the_folders_and_ok_is_derived():
    from migrator.domain.models import FolderVerify, VerifyReport

    a = FolderVerify(source="a", target="A", expected=3, present=2, kept_local=1)
    b = FolderVerify(source="b", target="B", expected=2, present=1, missing=1, extra=4)
    assert a.ok and a.adds_up and not b.ok and b.adds_up
    report = VerifyReport(target="t", folders=[a, b])
    report.set_verify_counts(report.folders)
    assert (report.expected, report.present, report.missing, report.extra) == (5, 3, 1, 4)
    assert report.adds_up and not report.ok
    assert report.model_dump(mode="json")["ok"] is False
