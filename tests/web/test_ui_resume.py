"""Pause and resume in the app, then a copy interrupted by closing the page and stopping the app,
resumed from a new app: the new app offers "Resume" from the journal, asks for the password again
(it was not remembered), and the server ends holding every message exactly once."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from playwright.sync_api import expect

from tests.dovecot.test_e2e import read_server
from tests.support.corpus import Item, msg, write_maildir_message
from tests.web.conftest import shot, wait_state
from tests.web.test_ui_wizard import add_source, fill_other_server

COUNT = 360


def _server_count(user) -> int:
    with user.client() as c:
        return c.select_folder("INBOX", readonly=True)[b"EXISTS"]


def wait_started(page, above: int = 0) -> None:
    """Until the progress panel counts more than `above` messages done (the copy is under way)."""
    done = page.get_by_test_id("progress-messages")
    end = time.monotonic() + 60
    while time.monotonic() < end and int(done.inner_text().replace(",", "") or 0) <= above:
        page.wait_for_timeout(50)
    assert int(done.inner_text().replace(",", "")) > above, "the copy is under way"


def test_copy_paused_then_stopped_with_the_app_resumes(ui, browser, page, imap_user, faultproxy, tmp_path):
    root = tmp_path / "Maildir"
    raws = []
    t0 = int(datetime(2020, 1, 1, tzinfo=timezone.utc).timestamp())
    for n in range(COUNT):
        raw = msg(f"message {n}", f"body {n}\n", n=n)
        write_maildir_message(root, Item(raw), n, t0 + n * 3600)
        raws.append(raw)
    proxy = faultproxy()
    slow = imap_user.via(proxy)

    app = ui(lang="ja", cafile=imap_user.cafile)
    page.goto(app.url)
    add_source(page, root)
    page.get_by_test_id("next").click()
    fill_other_server(page, slow)
    page.get_by_test_id("check-button").click()
    assert wait_state(page, "check-result", ("ok", "error")) == "ok"
    page.get_by_test_id("next").click()
    page.get_by_test_id("plan-button").click()
    expect(page.get_by_test_id("plan-table")).to_be_visible()
    page.get_by_test_id("next").click()
    proxy.latency_ms = 100  # a slow line while copying: the copy takes a few seconds
    page.get_by_test_id("run-button").click()
    wait_started(page)
    shot(page, "ja-4-copy-running")
    page.get_by_test_id("pause-button").click()
    assert wait_state(page, "progress", ("done", "failed", "paused")) == "paused"
    expect(page.get_by_test_id("run-button")).to_have_text("再開")
    paused = _server_count(imap_user)
    assert 0 < paused < COUNT, f"paused part-way ({paused} of {COUNT})"
    shot(page, "ja-4-copy-paused")
    page.get_by_test_id("run-button").click()  # resume
    wait_started(page, above=paused)
    page.close()  # the page goes away: the copy goes on in the app
    assert app.stop() in (0, -15), app.log  # then the app stops (uvicorn re-raises SIGTERM after its clean shutdown)
    proxy.latency_ms = 0
    first = _server_count(imap_user)
    assert paused < first < COUNT, f"interrupted part-way ({first} of {COUNT})"

    again = ui(lang="ja", cafile=imap_user.cafile)
    page2 = browser.new_page()
    try:
        page2.goto(again.url)
        expect(page2.get_by_test_id("resume-note")).to_be_visible()
        expect(page2.get_by_test_id("run-button")).to_be_visible()
        page2.get_by_test_id("password").fill(imap_user.password)  # not remembered: asked again
        shot(page2, "ja-4-copy-resume")
        page2.get_by_test_id("run-button").click()
        assert wait_state(page2, "progress", ("done", "failed", "paused"), timeout=90) == "done"
        shot(page2, "ja-4-copy-resumed-done")
    finally:
        page2.close()
    _delim, server = read_server(imap_user)
    got = sorted(raw for raw, _f, _d in server["INBOX"])
    assert got == sorted(r.replace(b"\n", b"\r\n") for r in raws), "every message once"
