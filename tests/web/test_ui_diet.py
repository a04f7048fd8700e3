"""The diet through the app: the mail does not fit the account's quota, the plan sets the date
picker to the day from which it fits, moving it changes the numbers, and the copy takes exactly
the mail from that day on (the server read back); the rest stays on the PC."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from playwright.sync_api import expect

from tests.dovecot.test_e2e import read_server
from tests.support.corpus import Item, msg, write_maildir_message
from tests.web.conftest import shot, wait_state
from tests.web.test_ui_wizard import add_source, fill_other_server


def _figure(page) -> int:
    text = page.get_by_test_id("plan-summary").locator("ul.figures li").first.inner_text()
    return int(re.search(r"[\d,]+", text).group(0).replace(",", ""))


def test_diet_through_the_date_picker(ui, page, make_imap_user, tmp_path):
    user = make_imap_user(quota_kb=40)
    root = tmp_path / "Maildir"
    delivered = {}
    n = 0
    for year in range(2015, 2025):
        for month in (2, 6, 10):
            n += 1
            t = int(datetime(year, month, 1, 12, tzinfo=timezone.utc).timestamp())
            raw = msg(f"{year}-{month:02d}", "x" * 1800 + "\n", date=None, n=n)
            write_maildir_message(root, Item(raw), n, t)
            delivered[raw] = t
    app = ui(lang="en", cafile=user.cafile)
    page.goto(app.url)
    add_source(page, root)
    page.get_by_test_id("next").click()
    fill_other_server(page, user)
    page.get_by_test_id("check-button").click()
    assert wait_state(page, "check-result", ("ok", "error")) == "ok"
    page.get_by_test_id("next").click()

    page.get_by_test_id("plan-button").click()
    expect(page.get_by_test_id("diet-note")).to_be_visible()
    since = page.get_by_test_id("since").input_value()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", since), "the picker starts at the suggested --since"
    first = _figure(page)
    assert 0 < first < 30
    shot(page, "en-3-plan-diet")

    later = f"{int(since[:4]) + 2}{since[4:]}"
    page.get_by_test_id("since").fill(later)
    expect(page.get_by_test_id("since")).to_have_value(later)
    page.wait_for_function(f"() => !document.querySelector('[data-testid=plan-summary] ul.figures li').innerText.startsWith('{first} ')")
    fewer = _figure(page)
    assert fewer == first - 6, "two years fewer: six messages fewer"
    shot(page, "en-3-plan-diet-moved")
    # what stays on the PC, kept apart: `migrate archive` of the mail dated before the picker's day
    page.get_by_test_id("archive-path").fill(str(tmp_path / "old-mail"))
    page.get_by_test_id("archive-button").click()
    expect(page.get_by_test_id("archive-result")).to_contain_text(f"{30 - fewer} ")
    archived = b"".join(p.read_bytes() for p in (tmp_path / "old-mail").rglob("*") if p.is_file())
    assert archived.count(b"\nFrom ") + archived.startswith(b"From ") == 30 - fewer
    page.get_by_test_id("next").click()

    page.get_by_test_id("run-button").click()
    try:
        assert wait_state(page, "progress", ("done", "failed", "paused"), timeout=20) == "done"
    finally:
        shot(page, "en-4-copy-diet")
    cut = datetime.fromisoformat(later).replace(tzinfo=timezone.utc).timestamp()
    want = sorted(t for t in delivered.values() if t >= cut)
    _delim, server = read_server(user)
    assert list(server) == ["INBOX"]
    got = sorted(int(d.timestamp()) for _raw, _f, d in server["INBOX"])
    assert got == want and len(got) == fewer
    assert {raw.replace(b"\r\n", b"\n") for raw, _f, _d in server["INBOX"]} == {r for r, t in delivered.items() if t >= cut}
    page.get_by_test_id("next").click()
    page.get_by_test_id("verify-button").click()
    assert wait_state(page, "verdict", ("verified", "not-verified")) == "verified"
