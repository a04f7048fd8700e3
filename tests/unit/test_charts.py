"""The plan's pictures: the terminal chart marks the free space and the cut-off; the HTML report
is one self-contained file (no network, no scripts) that escapes what it shows."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from migrator.domain.models import BigMessage, DietOption, FolderPlan, Plan, QuotaInfo
from migrator.render.charts import html_report, write_report, year_chart

KB = 1024
VOID = {"meta", "br", "rect", "line", "path", "circle", "img", "link", "input", "hr"}


def sample_plan(fits: bool | None = False) -> Plan:
    plan = Plan(target="imaps://ユーザー@example.jp")
    plan.folders = [FolderPlan(source="受信トレイ <&>", source_key="k", target="INBOX", messages=30, bytes=300 * KB,
                               to_upload=30, upload_bytes=300 * KB)]
    plan.by_year = {"2019": [10, 100 * KB], "2020": [10, 100 * KB], "2021": [10, 100 * KB]}
    plan.upload_by_year = dict(plan.by_year)
    plan.too_big = [BigMessage(folder="受信トレイ", target="INBOX", locator="cur/1:2,S", subject="<script>x</script>",
                               date="2020-01-01", size=40 * 1024 * KB)]
    plan.max_message_bytes = 35 * 1024 * KB
    if fits is not None:
        plan.quota = QuotaInfo(used=0, limit=200 * KB, needed=300 * KB, fits=fits, margin=0.05, free=190 * KB,
                               suggested_since=None if fits else "2020-06-01",
                               suggested_kept_local={"messages": 15, "bytes": 150 * KB,
                                                     "folders": {"受信トレイ <&>": {"messages": 15, "bytes": 150 * KB,
                                                                                   "oldest": "2019-01-01",
                                                                                   "newest": "2020-05-31"}}},
                               options=[DietOption(flags="--since 2020-06-01", what="keep mail local", needed=150 * KB,
                                                   fits=True, kept_messages=15, kept_bytes=150 * KB)])
    return plan


def test_terminal_chart_newest_first_with_line_and_cutoff():
    text = year_chart(sample_plan(), width=30)
    lines = text.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["year"])
    lines = lines[head - 1:]  # the legend wraps to fit 80 columns: its lines come before
    assert lines[1].split()[0] == "year"
    assert [ln.split()[0] for ln in lines[2:]] == ["2021", "2020", "2019"]
    assert all("│" in ln for ln in lines[2:])  # the free space crosses every bar
    assert "✂ --since 2020-06-01" in lines[3]  # on the cut-off's year
    bar_ends = [len(ln.rstrip().split("  ")[-1].split(" ✂")[0].rstrip()) for ln in lines[2:]]
    assert bar_ends == sorted(bar_ends)  # cumulative: longer as the cut-off goes back
    plain = year_chart(sample_plan(), width=30, unicode=False)
    assert plain.isascii() and "|" in plain and "< --since 2020-06-01" in plain


def test_terminal_chart_without_quota_or_mail():
    plan = sample_plan(fits=None)
    text = year_chart(plan)
    assert "│" not in text and "✂" not in text and "2019" in text
    assert year_chart(Plan(target="x")) == ""
    fits = year_chart(sample_plan(fits=True))
    assert "✂" not in fits


class Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_is_self_contained_and_escaped(tmp_path: Path):
    page = html_report(sample_plan())
    c = Checker()
    c.feed(page)
    c.close()
    assert not c.errors and not c.stack
    assert "script" not in c.tags and "img" not in c.tags and "link" not in c.tags
    assert c.tags.count("svg") == 3  # the quota to scale, mail by year, the cut-off
    for name, value in c.attrs:
        assert name not in ("src", "href"), (name, value)
        assert "url(" not in (value or "")
    assert not re.search(r"https?://|//[a-z]", page.split("<style>")[1].split("</style>")[0])  # no fonts/images
    assert "http" not in page.replace("imaps://", "").replace("http-equiv", "")
    text = "".join(c.text)
    assert "<script>x</script>" in text  # shown as text, not markup
    assert "受信トレイ <&>" in text and "--since 2020-06-01" in text and "free space" in text
    out = tmp_path / "plan.html"
    write_report(sample_plan(), out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not (tmp_path / "plan.html.part").exists()


def test_html_report_for_a_plan_that_fits_or_is_empty():
    page = html_report(sample_plan(fits=True))
    assert 'class="verdict fits"' in page and "suggested cut-off" not in page
    empty = html_report(Plan(target="x"))
    assert "<svg" not in empty and 'class="verdict unknown"' in empty
