"""Issue 8: `verify --report FILE.html` renders in headless Chromium, offline: the totals are in the DOM
and on the screenshot (a PNG that is not blank)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.support.corpus import sample_items, write_mbox_tree

pytestmark = pytest.mark.dovecot

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        reason = "chromium is not installed (Debian package `chromium`; scripts/install-deps.sh installs it)"
        if os.environ.get("MIGRATE_REQUIRE_DOVECOT") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return exe


def browse(exe: str, tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG (enough to tell a blank page)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def migrate(args: list[str], user, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args, "--target", user.url_imaps, "--state", str(state),
                           "-q"], env={**os.environ, **user.env}, capture_output=True, text=True, timeout=180, check=False)


def test_html_report_renders_offline_in_headless_chromium(tmp_path: Path, imap_user):
    exe = chromium()
    src = tmp_path / "mail"
    write_mbox_tree(src, sample_items())
    state = tmp_path / "s.db"
    assert migrate(["run", str(src)], imap_user, state).returncode == 0
    with imap_user.client() as c:  # the test removes one message, so the report has a problem to show
        c.select_folder("INBOX")
        data = c.fetch(c.search("ALL"), ["BODY.PEEK[]"])
        c.delete_messages([uid for uid, d in data.items() if b"Hi there" in d[b"BODY[]"]])
        c.expunge()
    page = tmp_path / "verify.html"
    r = migrate(["verify", str(src), "--report", str(page)], imap_user, state)
    assert r.returncode == 1, r.stderr + r.stdout
    assert f"Report written to {page}" in r.stdout
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"<script|<link|<img|src=|@import|url\(", html, re.IGNORECASE), "self-contained"

    dom = browse(exe, tmp_path, page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = re.sub(r"<[^>]+>", " ", dom.stdout)
    text = re.sub(r"\s+", " ", text)
    assert "NOT VERIFIED" in text
    for label, n in (("expected", 9), ("present", 8), ("missing", 1), ("skipped", 1)):
        assert re.search(rf'data-total="{label}"><div class="n">{n}</div>', dom.stdout), (label, n)
    assert "Welcome" in text and "uploaded earlier, now missing on the server" in text
    assert str(src / "Inbox") in text, "the problem line says where the message is in the source"

    shot = tmp_path / "out.png"
    r = browse(exe, tmp_path, page, f"--screenshot={shot}", "--window-size=1200,900")
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    width, height, pixels = png_pixels(shot)
    assert (width, height) == (1200, 900)
    assert len(set(pixels)) > 16, "the screenshot is blank"
    assert pixels.count(255) < 0.97 * len(pixels), "the screenshot is (nearly) all white"

    migrate(["run", str(src)], imap_user, state)
    ok_page = tmp_path / "ok.html"
    assert migrate(["verify", str(src), "--deep", "--report", str(ok_page)], imap_user, state).returncode == 0
    dom = browse(exe, tmp_path, ok_page, "--dump-dom")
    assert "VERIFIED: every message in scope is on the server" in dom.stdout
    assert re.search(r'data-total="compared byte for byte"><div class="n">9</div>', dom.stdout)
    assert "remove the POP account" in dom.stdout
