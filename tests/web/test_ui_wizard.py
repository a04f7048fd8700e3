"""`migrate ui` end to end in a real browser (Debian's chromium driven by Playwright): the five
steps in Japanese, a Maildir with Japanese folder names into the sandbox Dovecot, the server read
back with a separate client. A screenshot of every step is kept under test-artifacts/web/."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from playwright.sync_api import expect

from tests.dovecot.test_e2e import TARGET_OF, assert_server_holds, read_server
from tests.support.corpus import sample_items, write_maildirpp
from tests.web.conftest import shot, wait_state


def fill_other_server(page, user, *, password: str | None = None) -> None:
    """Step 2 for the sandbox: "other server", TLS from the start, the user's login."""
    page.get_by_test_id("provider").select_option("other")
    page.get_by_test_id("address").fill(f"{user.user}@example.jp")
    page.get_by_test_id("host").fill(user.host)
    page.get_by_test_id("port").fill(str(user.imaps_port))
    page.get_by_test_id("security").select_option("tls")
    page.get_by_test_id("login").fill(user.user)
    page.get_by_test_id("password").fill(password or user.password)


def add_source(page, path: Path) -> None:
    page.get_by_test_id("source-path").fill(str(path))
    page.get_by_test_id("source-add").click()
    expect(page.get_by_test_id("source-list")).to_contain_text(str(path))


def test_whole_migration_in_japanese(ui, page, imap_user, tmp_path):
    items = sample_items()
    times = write_maildirpp(tmp_path / "Maildir", items)
    app = ui(lang="ja", cafile=imap_user.cafile)
    page.goto(app.url)
    assert "token" not in page.url, "the token leaves the address bar"
    assert page.locator("html").get_attribute("lang") == "ja"
    expect(page.locator("h1")).to_have_text("あなたのメール")
    shot(page, "ja-1-your-mail-empty")

    add_source(page, tmp_path / "Maildir")
    expect(page.get_by_test_id("source-list")).to_contain_text("9")
    shot(page, "ja-1-your-mail")
    page.get_by_test_id("next").click()

    expect(page.get_by_test_id("provider")).to_be_visible()
    page.get_by_test_id("provider").select_option("icloud")
    page.get_by_test_id("address").fill("taro.yamada@icloud.com")
    expect(page.get_by_test_id("login")).to_have_value("taro.yamada")  # iCloud: the name without the domain
    expect(page.get_by_test_id("host")).to_have_value("imap.mail.me.com")
    expect(page.get_by_test_id("host")).to_be_hidden()
    expect(page.locator("#password-word")).to_have_text("App 用パスワード")
    fill_other_server(page, imap_user)
    shot(page, "ja-2-where-it-goes")
    expect(page.get_by_test_id("host")).to_be_visible()
    page.get_by_test_id("check-button").click()
    assert wait_state(page, "check-result", ("ok", "error")) == "ok", page.get_by_test_id("check-result").inner_text()
    shot(page, "ja-2-check-ok")
    page.get_by_test_id("next").click()

    page.get_by_test_id("plan-button").click()
    expect(page.get_by_test_id("plan-table")).to_contain_text("取引先")
    shot(page, "ja-3-plan")
    page.get_by_test_id("next").click()

    page.get_by_test_id("run-button").click()
    assert wait_state(page, "progress", ("done", "failed", "paused")) == "done"
    expect(page.get_by_test_id("next")).to_be_visible()
    shot(page, "ja-4-copy-done")
    page.get_by_test_id("next").click()

    page.get_by_test_id("verify-button").click()
    assert wait_state(page, "verdict", ("verified", "not-verified")) == "verified"
    expect(page.get_by_test_id("verdict")).to_have_text("すべて届きました")
    shot(page, "ja-5-proof")
    report = page.request.get(app.base + page.get_by_test_id("report-download").get_attribute("href"))
    assert report.ok and "attachment" in report.headers["content-disposition"]
    assert imap_user.user in report.text()
    assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors

    expected = {k: [(it.raw, it.flags, datetime.fromtimestamp(t, timezone.utc))
                    for it, t in zip(v, times[k], strict=True) if not it.deleted] for k, v in items.items()}
    delim, server = read_server(imap_user)
    assert_server_holds(server, {TARGET_OF[k].format(d=delim): v for k, v in expected.items() if v})
