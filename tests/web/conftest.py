"""Fixtures for `migrate ui` tests: the app as a real subprocess, Debian's chromium through Playwright.

* the Dovecot fixtures of tests/dovecot (``dovecot``, ``make_imap_user``, ``imap_user``, ``faultproxy``)
  are imported here, so the browser tests migrate into the same kind of sandbox server;
* ``ui`` (function): ``ui(lang="ja") -> UiApp``: `migrate ui --no-browser` started with its own data
  folder and HOME, trusting the sandbox CA through SSL_CERT_FILE like the CLI tests; stopped at teardown;
* ``page`` (function): a Playwright page of a headless /usr/bin/chromium (no browser download);
* ``shot(page, name)``: a screenshot kept under test-artifacts/web/ (git-ignored).

Without chromium or Playwright the browser tests skip, or fail when MIGRATE_REQUIRE_DOVECOT=1.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, dovecot_required
from tests.dovecot.conftest import ImapUser, dovecot, faultproxy, imap_user, make_imap_user  # noqa: F401

CHROMIUM = os.environ.get("MIGRATE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "web"
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-dev-shm-usage", "--no-sandbox"]


def _missing(reason: str) -> None:
    if dovecot_required():
        pytest.fail(f"browser tests need {reason} (MIGRATE_REQUIRE_DOVECOT=1)", pytrace=False)
    pytest.skip(f"{reason} not available: run scripts/install-deps.sh (Debian chromium, pip playwright)")


@dataclass
class UiApp:
    """A running `migrate ui`; `url` holds the token, `base` is http://127.0.0.1:PORT."""

    data: Path
    env: dict[str, str]
    lang: str | None = None
    proc: subprocess.Popen[str] | None = None
    url: str = ""
    log: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.url.split("/?", 1)[0]

    def start(self) -> UiApp:
        args = [sys.executable, "-m", "migrator", "ui", "--no-browser"] + (["--lang", self.lang] if self.lang else [])
        self.proc = subprocess.Popen(args, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=REPO)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:"), f"first line is the URL, got {line!r}; {self.proc.stderr.read() if self.proc.poll() is not None else ''}"
        self.url = line
        return self

    def stop(self) -> int:
        """SIGTERM (like closing the terminal's app), then wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if os.name != "nt" else signal.CTRL_C_EVENT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        rc = self.proc.returncode
        if self.proc.stderr and not self.proc.stderr.closed:
            self.log.append(self.proc.stderr.read())
            self.proc.stderr.close()
        if self.proc.stdout and not self.proc.stdout.closed:
            self.log.append(self.proc.stdout.read())
            self.proc.stdout.close()
        return rc


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[Callable[..., UiApp]]:
    """``ui(lang=None, cafile=None) -> UiApp`` started; every app stopped at teardown. All apps of one
    test share a data folder (so a restarted app finds the journal and the saved session)."""
    apps: list[UiApp] = []
    data = tmp_path / "xdg-data"
    home = tmp_path / "home"
    home.mkdir()

    def factory(lang: str | None = None, cafile: str | None = None) -> UiApp:
        env = {**os.environ, "XDG_DATA_HOME": str(data), "HOME": str(home), "PYTHONPATH": str(REPO),
               "PYTHONUNBUFFERED": "1"}
        env.pop("MIGRATE_PASSWORD", None)
        if cafile:
            env["SSL_CERT_FILE"] = cafile
        app = UiApp(data, env, lang).start()
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.stop()
        print("".join(app.log))  # shown when the test failed


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _missing(f"chromium ({CHROMIUM})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (pip)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1100, "height": 900}, locale="ja-JP")
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.console_errors = errors  # type: ignore[attr-defined]
    yield pg
    ctx.close()


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/web/NAME.png (looked at by a person)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_state(page: Any, testid: str, states: tuple[str, ...], timeout: float = 60) -> str:
    """Wait until the element `testid` carries one of `states` in data-state; returns it."""
    end = time.monotonic() + timeout
    loc = page.get_by_test_id(testid)
    while time.monotonic() < end:
        if loc.count():
            st = loc.first.get_attribute("data-state")
            if st in states:
                return st
        page.wait_for_timeout(100)
    shown = loc.first.get_attribute("data-state") if loc.count() else "absent"
    page.reload()  # what the server says now (tells a stuck page from a stuck flow)
    after = loc.first.get_attribute("data-state") if loc.count() else "absent"
    raise AssertionError(f"{testid} never reached {states}: {shown} (after a reload: {after})")


__all__ = ["ImapUser", "UiApp", "shot", "wait_state"]
