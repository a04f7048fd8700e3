"""Both HTML reports sit on one Jinja2 base template, autoescaped, shipped as package data."""

import tomllib
from pathlib import Path

from migrator.domain.models import FolderVerify, Plan, Problem, VerifyReport
from migrator.render.charts import html_report
from migrator.render.html import render_html
from migrator.render.pages import environment

ROOT = Path(__file__).resolve().parents[2]


def test_templates_are_package_data_and_autoescaped():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "templates/*.html" in data["tool"]["setuptools"]["package-data"]["migrator.render"]
    assert any(d.lower().startswith("jinja2") for d in data["project"]["dependencies"])
    env = environment()
    assert env.autoescape is True
    for name in ("base.html", "plan.html", "verify.html"):
        env.get_template(name)


def test_both_reports_share_the_base_and_escape_mailbox_text():
    verify_page = render_html(VerifyReport(
        target="imaps://u@h", folders=[FolderVerify(source="<b>受信</b>", target="INBOX", expected=1, missing=1)],
        missing=1, expected=1,
        problems=[Problem(sign="-", kind="missing", folder="f", target="INBOX", locator="x", subject="<script>x")]))
    plan_page = html_report(Plan(target="imaps://u@h", warnings=["<img src=x>"]))
    for page in (verify_page, plan_page):
        assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</body></html>")
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "&lt;script&gt;x" in verify_page and "<script>" not in verify_page
    assert "&lt;b&gt;受信&lt;/b&gt;" in verify_page
    assert "&lt;img src=x&gt;" in plan_page and "<img" not in plan_page
