"""Issue 18 items 1 and 4 against the sandbox Dovecot, under a pseudo-terminal (as a person sees it):
the upload and verify bars have totals (messages and bytes), a percent and the time left, in the
one MB of the summary; Ctrl-C stops cleanly with the accounting and what is left (exit 130), a
second Ctrl-C still prints it, a re-run completes exactly; an over-quota refusal says what is left.

A fault proxy with latency slows the server so that a run lasts long enough to be interrupted;
the stores are small (a few dozen messages)."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

pty = pytest.importorskip("pty", reason="pseudo-terminals are POSIX")

pytestmark = pytest.mark.dovecot

BAR = re.compile(r"(?P<phase>uploading|checking): +(?P<pct>\d+)%\|[^|\n]*\| (?P<done>[\d,]+)/(?P<approx>~?)"
                 r"(?P<total>[\d,]+) messages, (?P<sdone>[\d.,]+) (?P<udone>B|KB|MB)/(?P<stotal>[\d.,]+) "
                 r"(?P<utotal>B|KB|MB), [^,\n]+/s, (?P<left>(?:\d+:)?\d\d:\d\d) left")


def write_store(root: Path, folders: dict[str, int], size: int = 24 * 1024) -> dict[str, list[str]]:
    """A Maildir++ (INBOX = root, ".Name" sub-folders) of messages of about `size` bytes with CRLF
    line ends (so the bytes stored are the bytes sent: the bar's total is the summary's figure);
    returns each folder's Message-IDs."""
    ids: dict[str, list[str]] = {}
    t0 = 1654084800
    n = 0
    for folder, count in folders.items():
        base = root if folder == "INBOX" else root / f".{folder}"
        for sub in ("cur", "new", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            n += 1
            mid = f"<m{n}.{folder}@progress.test>"
            head = (f"From: a{n}@example.jp\r\nTo: b@example.jp\r\nSubject: {folder} {i}\r\n"
                    f"Date: Wed, 01 Jun 2022 12:{i % 60:02d}:00 +0000\r\nMessage-ID: {mid}\r\n\r\n")
            line = f"line of message {n} in {folder} ".ljust(70, ".") + "\r\n"
            body = line * max(1, (size - len(head)) // len(line))
            (base / "cur" / f"{t0 + n}.M{n}P1.host:2,S").write_bytes((head + body).encode())
            ids.setdefault(folder, []).append(mid)
    return ids


class Tty:
    """A command on a pseudo-terminal (stdin, stdout and stderr), 120 columns wide."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        import fcntl
        import struct
        import termios

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.fd = master
        self.raw = b""

    @property
    def text(self) -> str:
        """Everything written so far, carriage returns as line ends (each bar frame on its line)."""
        return self.raw.decode("utf-8", "replace").replace("\r", "\n")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the other side is closed
            return False
        self.raw += data
        return bool(data)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 60) -> re.Match[str]:
        """Read until `pattern` is in the text (AssertionError with the text after `timeout` s)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = pattern.search(self.text)
            if m:
                return m
            if not self._read(0.2) and self.proc.poll() is not None:
                break
        m = pattern.search(self.text)
        assert m, f"{pattern.pattern!r} not shown; output:\n{self.text[-3000:]}"
        return m

    def finish(self, timeout: float = 120) -> int:
        """Read to the end; the exit code."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and self._read(0.2):
            pass
        try:
            return self.proc.wait(timeout=max(1.0, end - time.monotonic()))
        finally:
            os.close(self.fd)

    def interrupt(self) -> None:
        """Ctrl-C (SIGINT to the process, as the terminal sends it)."""
        self.proc.send_signal(signal.SIGINT)


def _cmd(command: str, src: Path, url: str, state: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "migrator", command, str(src), "--target", url, "--state", str(state), *extra]


def _env(user) -> dict[str, str]:
    return {**os.environ, **user.env, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def _server_ids(user) -> Counter[str]:
    """Message-IDs on the server, over every folder (read back with BODY.PEEK)."""
    got: Counter[str] = Counter()
    with user.client() as c:
        for _flags, _d, name in c.list_folders():
            if not c.select_folder(name, readonly=True)[b"EXISTS"]:
                continue
            for d in c.fetch(c.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]).values():
                raw = next(v for k, v in d.items() if k.startswith(b"BODY"))
                got[raw.decode().split(":", 1)[1].strip()] += 1
    return got


def _quiet_run(src: Path, user, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_cmd("run", src, user.url_imaps, state, "-q"), env=_env(user), capture_output=True,
                          text=True, timeout=300)


def _assert_exactly(user, ids: dict[str, list[str]]) -> None:
    got = _server_ids(user)
    want = Counter(m for ms in ids.values() for m in ms)
    assert got == want, "every message exactly once on the server"


def test_upload_bar_has_totals_percent_and_time_left_in_the_summarys_mb(tmp_path: Path, imap_user, faultproxy):
    ids = write_store(tmp_path / "Maildir", {"INBOX": 30, "Work": 20}, size=24 * 1024)
    slow = imap_user.via(faultproxy(latency_ms=15))
    tty = Tty(_cmd("run", tmp_path / "Maildir", slow.url_imaps, tmp_path / "s.db", "--batch", "2",
                   "--connections", "1"), _env(imap_user))
    bar = tty.wait_for(BAR)
    rc = tty.finish()
    out = tty.text
    assert rc == 0, out[-3000:]
    assert bar["total"] == "50" and not bar["approx"], "a Maildir's listing is an exact count"
    frames = list(BAR.finditer(out))
    last = frames[-1]
    assert int(last["pct"]) >= 90, out[-2000:]
    summary = re.search(r"Uploaded ([\d.,]+) (MB|KB) in", out)
    assert summary, out[-2000:]
    # the bar's total (what the store holds: CRLF files, so what is sent) in the summary's unit
    assert (last["stotal"], last["utotal"]) == summary.groups(), (last.group(0), summary.group(0))
    assert "1.2 MB" in summary.group(0) or summary[2] == "MB"
    _assert_exactly(imap_user, ids)


def test_ctrl_c_stops_with_the_accounting_and_what_is_left_then_a_rerun_completes(tmp_path: Path, imap_user,
                                                                                    faultproxy):
    ids = write_store(tmp_path / "Maildir", {"INBOX": 40, "Old": 20}, size=4 * 1024)
    proxy = faultproxy(latency_ms=40)
    slow = imap_user.via(proxy)
    state = tmp_path / "s.db"
    tty = Tty(_cmd("run", tmp_path / "Maildir", slow.url_imaps, state, "--batch", "1", "--connections", "1"),
              _env(imap_user))
    tty.wait_for(re.compile(r"\| [1-9]\d*/60 messages"))  # some went up
    tty.interrupt()
    rc = tty.finish()
    out = tty.text
    assert rc == 130, out[-3000:]
    assert "Traceback" not in out
    m = re.search(r"Interrupted: ([\d,]+) messages? \([\d.,]+ (?:B|KB|MB)\) left: run the same command again", out)
    assert m, out[-3000:]
    uploaded = int(re.search(r"In scope: [\d,]+ = uploaded ([\d,]+)", out)[1].replace(",", ""))
    left = int(m[1].replace(",", ""))
    assert uploaded > 0 and left > 0 and uploaded + left == 60, out[-1500:]
    assert sum(_server_ids(imap_user).values()) == uploaded, "what the accounting says went up is on the server"

    proxy.set_latency(0)
    tty = Tty(_cmd("run", tmp_path / "Maildir", slow.url_imaps, state), _env(imap_user))  # the same command
    first = tty.wait_for(re.compile(r"uploading: +(\d+)%\|[^|\n]*\| ([\d,]+)/60 messages"))
    assert int(first[2]) == uploaded and int(first[1]) > 0, "what the journal holds is done from the start"
    assert tty.finish() == 0, tty.text[-3000:]
    assert re.search(rf"In scope: 60 = uploaded {left} \+ already on target {uploaded} ", tty.text), tty.text[-2000:]
    _assert_exactly(imap_user, ids)


def test_a_second_ctrl_c_stops_at_once_and_still_prints_the_accounting(tmp_path: Path, imap_user, faultproxy):
    ids = write_store(tmp_path / "Maildir", {"INBOX": 40}, size=4 * 1024)
    proxy = faultproxy(latency_ms=30)
    slow = imap_user.via(proxy)
    state = tmp_path / "s.db"
    tty = Tty(_cmd("run", tmp_path / "Maildir", slow.url_imaps, state, "--batch", "1", "--connections", "1"),
              _env(imap_user))
    tty.wait_for(re.compile(r"\| [1-9]\d*/40 messages"))
    proxy.stall()  # the answers stop coming: the clean stop waits for them...
    tty.interrupt()
    tty.wait_for(re.compile(r"stopping after the current batch"))
    time.sleep(0.5)
    tty.interrupt()  # ...and a second Ctrl-C stops at once
    rc = tty.finish(timeout=60)
    out = tty.text
    assert rc == 130, out[-3000:]
    assert "Traceback" not in out
    assert re.search(r"In scope: [\d,]+ = uploaded [\d,]+", out), out[-3000:]
    assert re.search(r"Interrupted: [\d,]+ messages? .*left: run the same command again", out), out[-3000:]
    proxy.unstall()
    proxy.set_latency(0)
    again = _quiet_run(tmp_path / "Maildir", slow, state)  # the open intents are settled: exactly once
    assert again.returncode == 0, again.stdout + again.stderr
    _assert_exactly(imap_user, ids)


def test_ctrl_c_during_verify_shows_what_was_checked_and_what_is_left(tmp_path: Path, imap_user, faultproxy):
    # 15 folders of 2: verify checks folder by folder, and a Ctrl-C is honoured between folders, so
    # many small folders with a slow link leave seconds of work after the first ones (under load too)
    write_store(tmp_path / "Maildir", {"INBOX": 2, **{f"F{i:02d}": 2 for i in range(14)}}, size=2 * 1024)
    state = tmp_path / "s.db"
    proxy = faultproxy()
    slow = imap_user.via(proxy)
    assert _quiet_run(tmp_path / "Maildir", slow, state).returncode == 0
    proxy.set_latency(300)
    tty = Tty(_cmd("verify", tmp_path / "Maildir", slow.url_imaps, state), _env(imap_user))
    tty.wait_for(re.compile(r"checking: +\d+%\|[^|\n]*\| (?:[5-9]|[12]\d)/30 messages"))  # a folder or more
    tty.interrupt()
    rc = tty.finish()
    out = tty.text
    assert rc == 130, out[-3000:]
    assert "Traceback" not in out and "VERIFIED" not in out
    m = re.search(r"Interrupted: checked ([\d,]+) message\(s\) in (\d+) folder\(s\) so far .*; ([\d,]+) messages? "
                  r"\([\d.,]+ (?:B|KB|MB)\) left: run the same command again", out)
    assert m, out[-3000:]
    assert int(m[2]) >= 1, "the folders checked before the Ctrl-C are in the accounting"
    assert int(m[1]) + int(m[3]) == 30 and int(m[3]) > 0, m.group(0)


def test_over_quota_refusal_says_what_is_left(tmp_path: Path, make_imap_user):
    write_store(tmp_path / "Maildir", {"INBOX": 30}, size=20 * 1024)
    user = make_imap_user(quota_kb=300)
    r = subprocess.run(_cmd("run", tmp_path / "Maildir", user.url_imaps, tmp_path / "s.db", "-q"), env=_env(user),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 4, r.stdout + r.stderr
    assert re.search(r"migrate: error: .*nothing was uploaded: 30 message\(s\), [\d.]+ KB left", r.stderr), r.stderr
    assert re.search(r"hint: .*(--since|free space)", r.stderr), r.stderr


def test_an_over_quota_stop_mid_run_shows_the_accounting_and_what_is_left(tmp_path: Path, make_imap_user):
    """--ignore-quota on an account too small: the newest mail goes up until the server refuses, the
    rest is counted "over quota": the summary's accounting, what is left, the hint, exit 4."""
    ids = write_store(tmp_path / "Maildir", {"INBOX": 30}, size=20 * 1024)
    user = make_imap_user(quota_kb=300)
    r = subprocess.run(_cmd("run", tmp_path / "Maildir", user.url_imaps, tmp_path / "s.db", "-q", "--ignore-quota"),
                       env=_env(user), capture_output=True, text=True, timeout=300)
    assert r.returncode == 4, r.stdout + r.stderr
    acc = re.search(r"In scope: 30 = uploaded ([\d,]+) \+ already on target 0 \+ duplicates 0 \+ failed 0 "
                    r"\+ not uploaded \(over quota\) ([\d,]+)", r.stdout)
    assert acc, r.stdout
    uploaded, left = int(acc[1]), int(acc[2])
    assert uploaded > 0 and left > 0
    assert re.search(rf"Not done: the server is over quota \(see the hint below\): {left} messages \([\d.]+ KB\) "
                     r"left; run the same command again once there is room\.", r.stdout), r.stdout
    assert re.search(r"hint: .*(--since|free space)", r.stderr), r.stderr
    got = _server_ids(user)
    assert sum(got.values()) == uploaded and set(got) <= set(ids["INBOX"]) and max(got.values()) == 1
