"""Screenshots of both HTML reports (plan: fits and does not fit; verify: verified and not) in English
and Japanese, taken in Debian's headless Chromium through Playwright (no browser download) and kept
under test-artifacts/reports/ (git-ignored) for people to look at; checked for the layout facts a
reader notices: no horizontal overflow at 1,024 px, the fits case's quota bar and year bars drawn
with a size, Japanese glyphs rendered (not tofu boxes), the next steps as a numbered list."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrator.domain.i18n import using_language
from migrator.domain.models import FolderPlan, FolderVerify, Plan, Problem, QuotaInfo, Totals, VerifyReport
from migrator.domain.units import GB, MB
from migrator.render.charts import html_report
from migrator.render.html import render_html
from tests.conftest import REPO, dovecot_required

CHROMIUM = os.environ.get("MIGRATE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "reports"
WIDTH = 1024  # px: a small laptop screen


def _plan(fits: bool) -> Plan:
    p = Plan(target="imaps://taro@example.jp")
    p.folders = [FolderPlan(source="受信トレイ", source_key="a", target="INBOX", messages=11000, bytes=3 * GB,
                            to_upload=11000, upload_bytes=3 * GB),
                 FolderPlan(source="送信済みアイテム", source_key="b", target="Sent", messages=1345, bytes=600 * MB,
                            to_upload=1345, upload_bytes=600 * MB)]
    p.totals = Totals(messages=12345, bytes=3 * GB + 600 * MB, to_upload=12345, upload_bytes=3 * GB + 600 * MB)
    p.by_year = {str(y): [700, (y - 2006) * 24 * MB] for y in range(2008, 2025)}
    p.upload_by_year = dict(p.by_year)
    need = sum(b for _n, b in p.upload_by_year.values())
    limit = 15 * GB if fits else 4 * GB
    p.quota = QuotaInfo(used=700 * MB, limit=limit, needed=need, fits=fits, margin=0.05,
                        free=int(limit * 0.95) - 700 * MB, suggested_since=None if fits else "2019-01-01")
    return p


def _verify(ok: bool) -> VerifyReport:
    folders = [FolderVerify(source="受信トレイ", target="INBOX", expected=11000, present=11000 if ok else 10998,
                            missing=0 if ok else 2),
               FolderVerify(source="送信済みアイテム", target="Sent", expected=1345, present=1345)]
    problems = [] if ok else [Problem(sign="-", kind="missing", folder="受信トレイ", target="INBOX", locator="0x2104",
                                      subject="見積書の件", date="2020-01-02T03:04:05+09:00")]
    return VerifyReport(target="imaps://taro@example.jp", sources=["C:\\Users\\taro\\Outlook.pst"], ok=ok,
                        expected=12345, present=12345 if ok else 12343, missing=0 if ok else 2, folders=folders,
                        problems=problems, quota_used=4 * GB, quota_limit=15 * GB,
                        generated="2026-11-30T04:00:00+00:00", seconds=12.5)


def _pages(lang: str) -> dict[str, str]:
    with using_language(lang):
        source = "C:\\Users\\taro\\Outlook.pst"
        return {"plan-fits": html_report(_plan(True), source=source),
                "plan-nofit": html_report(_plan(False), source=source),
                "verify-ok": render_html(_verify(True)), "verify-bad": render_html(_verify(False))}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright")
    if not Path(CHROMIUM).exists():
        _missing(CHROMIUM)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking"])
        yield b
        b.close()


def _missing(what: str) -> None:
    if dovecot_required():
        pytest.fail(f"the report screenshots need {what} (MIGRATE_REQUIRE_DOVECOT=1)", pytrace=False)
    pytest.skip(f"{what} not available: run scripts/install-deps.sh")


# Two different CJK characters drawn in the page's font: tofu (a missing glyph) draws the same box for both.
_GLYPHS_DIFFER = """(font) => {
  const draw = (ch) => { const c = document.createElement('canvas'); c.width = 40; c.height = 40;
    const x = c.getContext('2d'); x.font = '28px ' + font; x.fillText(ch, 4, 32); return c.toDataURL(); };
  return [draw('移') !== draw('行'), draw('移') !== draw(String.fromCodePoint(0x10FFFD))];
}"""


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_report_screenshots(browser: Any, lang: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": WIDTH, "height": 800})
    try:
        for name, html in _pages(lang).items():
            path = tmp_path / f"{name}-{lang}.html"
            path.write_text(html, encoding="utf-8")
            page.goto(path.as_uri())
            page.screenshot(path=str(ARTIFACTS / f"{name}-{lang}.png"), full_page=True)
            assert page.evaluate("document.documentElement.lang") == lang
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name}-{lang}: {overflow}px wider than {WIDTH}px"
            steps = page.locator("ol.steps > li")
            assert steps.count() >= 2 and page.evaluate(
                "getComputedStyle(document.querySelector('ol.steps > li'), '::before').content").startswith("counter")
            if name.startswith("plan") or name == "verify-ok":
                box = page.locator("#quota-chart svg").bounding_box()
                assert box and box["width"] > WIDTH * 0.6
            if name == "plan-fits":  # the mail to scale with the free space, not an empty box
                up = page.locator("#quota-chart rect.seg.upload").bounding_box()
                free = page.locator("#quota-chart rect.seg.free").bounding_box()
                assert up and free and up["width"] > 20 and free["width"] > up["width"]
                heights = [b["height"] for b in (r.bounding_box() for r in page.locator("#years-chart rect.up").all())
                           if b]
                assert len(heights) == 17 and min(heights) > 0
                years = page.locator("#years-chart g[data-year]").evaluate_all("gs => gs.map(g => g.dataset.year)")
                assert years == sorted(years)  # oldest first
            if lang == "ja":
                font = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
                assert page.evaluate(_GLYPHS_DIFFER, font) == [True, True], f"{name}: Japanese drawn as tofu"
    finally:
        page.close()
