"""The reports' pictures (render/svg.py) and page family: the quota drawn to scale in the common
"fits" case, every per-year chart oldest first, round axis ticks in binary MB/GB, the suggested
`--since` marked when it does not fit, next steps as a numbered checklist in both reports."""

from __future__ import annotations

import re

import pytest

from migrator.domain.i18n import using_language
from migrator.domain.models import FolderPlan, FolderVerify, Plan, QuotaInfo, VerifyReport
from migrator.domain.units import GB, KB, MB
from migrator.render.charts import html_report
from migrator.render.html import render_html
from migrator.render.svg import cutoff_svg, nice_ticks, quota_bar, tick_label, years_svg


def plan(fits: bool) -> Plan:
    p = Plan(target="imaps://taro@example.jp")
    p.folders = [FolderPlan(source="INBOX", source_key="k", target="INBOX", messages=12345, bytes=3 * GB,
                            to_upload=12345, upload_bytes=3 * GB)]
    p.by_year = {str(y): [700, (y - 2009) * 40 * MB] for y in (2024, 2010, 2017, 2013)}  # not in order
    p.upload_by_year = dict(p.by_year)
    need = sum(b for _n, b in p.upload_by_year.values())
    limit = 15 * GB if fits else 1536 * MB
    p.quota = QuotaInfo(used=700 * MB, limit=limit, needed=need, fits=fits, margin=0.05,
                        free=int(limit * 0.95) - 700 * MB, suggested_since=None if fits else "2017-01-01")
    return p


@pytest.mark.parametrize(("peak", "ticks"), [
    (7.3 * MB, ["0", "2 MB", "4 MB", "6 MB", "8 MB"]),
    (1.5 * MB, ["0", "0.5 MB", "1.0 MB", "1.5 MB"]),
    (13.6 * GB, ["0", "5 GB", "10 GB", "15 GB"]),
    (430 * MB, ["0", "200 MB", "400 MB", "600 MB"]),
    (900, ["0", "500 B", "1,000 B"]),
    (3, ["0", "1 B", "2 B", "3 B"]),
    (0, ["0", "1 B"]),
])
def test_axis_ticks_are_round_binary_units(peak: float, ticks: list[str]) -> None:
    values, unit, decimals = nice_ticks(peak)
    assert [tick_label(v, unit, decimals) for v in values] == ticks
    assert values[-1] >= peak and values[0] == 0
    step = values[1] - values[0]
    assert unit in (1, KB, MB, GB) and (peak < 1024 * unit or unit == GB)
    mantissa = step / unit
    while mantissa >= 10:
        mantissa /= 10
    while mantissa < 1:
        mantissa *= 10
    assert round(mantissa, 6) in (1, 2, 5)


def _segments(svg: str) -> dict[str, tuple[float, int]]:
    """class -> (drawn width, bytes) of the quota bar's parts."""
    return {m[0]: (float(m[2]), int(m[1])) for m in
            re.findall(r'<rect class="seg (\w+)" data-bytes="(\d+)" x="[\d.]+" y="\d+" width="([\d.]+)"', svg)}


def test_fits_case_draws_the_mail_to_scale_with_the_free_space() -> None:
    p = plan(fits=True)
    page = html_report(p)
    bar = page.split('id="quota-chart"')[1].split("</svg>")[0]
    seg = _segments(bar)
    assert set(seg) == {"used", "upload", "free"}
    assert seg["used"][1] + seg["upload"][1] + seg["free"][1] == 15 * GB  # the whole quota, nothing lost
    px_per_byte = seg["upload"][0] / seg["upload"][1]
    for width, size in seg.values():  # every part as wide as its bytes
        assert width == pytest.approx(size * px_per_byte, rel=0.01, abs=1.5)
    assert seg["upload"][0] > 50  # visible: the mail in scale with the free space, not an empty box
    labels = re.findall(r'<text class="lbl \w+"[^>]*>([^<]*)</text>', bar)
    assert any("700.0 MB" in t for t in labels) and any("GB" in t for t in labels)


def test_not_fits_case_shows_the_overflow_and_marks_the_cutoff() -> None:
    p = plan(fits=False)
    seg = _segments(html_report(p).split('id="quota-chart"')[1].split("</svg>")[0])
    assert "over" in seg and "free" not in seg
    cut = cutoff_svg(p)
    assert "--since 2017-01-01" in cut and 'class="cut"' in cut and 'class="free"' in cut
    assert "--since" not in cutoff_svg(plan(fits=True))
    for svg in (cut, years_svg(p), quota_bar(1, 2, 10)):  # no style attributes: `migrate ui`'s CSP forbids them
        assert "style=" not in svg


def test_every_per_year_chart_runs_oldest_first_with_round_ticks() -> None:
    p = plan(fits=False)
    for svg in (years_svg(p), cutoff_svg(p)):
        assert re.findall(r'data-year="(\d+)"', svg) == ["2010", "2013", "2017", "2024"]
        labels = re.findall(r'text-anchor="end">([^<]*)</text>', svg)
        assert labels[0] == "0"
        assert all(re.fullmatch(r"\d+(\.\d)? (B|KB|MB|GB)", t) for t in labels[1:] if "free" not in t)
    # the cut-off chart: what stays to upload shrinks going right (from that year on)
    heights = [float(h) for h in re.findall(r'<g data-year="\d+"><title>[^<]*</title><rect x="[\d.]+" y="[\d.]+" '
                                            r'width="[\d.]+" height="([\d.]+)"', cutoff_svg(p))]
    assert heights == sorted(heights, reverse=True)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_both_reports_share_the_family_and_number_their_next_steps(lang: str) -> None:
    ok = VerifyReport(target="imaps://u@h", sources=["/p.pst"], ok=True, expected=12345, present=12345,
                      quota_used=1 * GB, quota_limit=5 * GB,
                      folders=[FolderVerify(source="INBOX", target="INBOX", expected=12345, present=12345)])
    with using_language(lang):
        pages = {"plan": html_report(plan(fits=True)), "verify": render_html(ok)}
    for name, page in pages.items():
        assert f'<html lang="{lang}">' in page
        assert 'id="meta"' in page and 'id="quota-chart"' in page, name
        steps = page.split('<ol class="steps" id="next-steps">')[1].split("</ol>")[0]
        assert steps.count("<li>") >= 3, name
        assert 'class="advice"' not in page and "Content-Security-Policy" in page
    assert "12,345" in pages["verify"] and ">12345<" not in pages["verify"]
    cutover = pages["verify"].split('id="next-steps"')[1]
    if lang == "en":
        assert all(w in cutover for w in ("POP", "copy", "IMAP", "some days", "remove"))


def test_quota_bar_unknown_quota_and_an_empty_account() -> None:
    assert quota_bar(None, 10, None) == ""
    bar = quota_bar(0, 0, 1 * GB)
    assert set(_segments(bar)) == {"free"}


def test_plan_header_names_source_target_and_a_named_local_time(tmp_path) -> None:
    from datetime import datetime, timezone

    from migrator.render.charts import write_report

    out = tmp_path / "plan.html"
    write_report(plan(fits=True), out, source="/home/taro/.thunderbird/x.default")
    meta = out.read_text(encoding="utf-8").split('id="meta"')[1].split("</table>")[0]
    assert "/home/taro/.thunderbird/x.default" in meta and "imaps://taro@example.jp" in meta
    page = html_report(plan(fits=True), generated=datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc))
    when = page.split('id="meta"')[1].split("</table>")[0]
    assert "2026" in when and re.search(r"\b[A-Z]{2,5}\b|UTC[+-]\d\d:\d\d", when)  # the zone is named
