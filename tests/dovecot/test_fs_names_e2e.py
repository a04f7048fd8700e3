"""A tree whose file names are Shift_JIS bytes (a zip made on Japanese Windows, unpacked on Linux)
migrates through the real Dovecot: folders named in Japanese, the journal, failures.log and the
output (a strict UTF-8 stdout) never end in a traceback; a second run uploads nothing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.dovecot.test_e2e import crlf, read_server, run

pytestmark = [pytest.mark.dovecot,
              pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="file names are always Unicode there")]

MSG = b"From: a@example.jp\nSubject: s%d\nDate: Tue, 02 Jan 2024 09:00:00 +0000\nMessage-ID: <sj%d@example.jp>\n\nhi\n"


def test_shift_jis_file_names(tmp_path: Path, imap_user, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8")  # strict: an unencodable name would raise
    root = os.fsencode(tmp_path / "mail")
    os.mkdir(root)
    try:
        os.mkdir(root + b"/" + "受信".encode("cp932"))
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    with open(root + b"/" + "取引先".encode("cp932"), "wb") as fh:
        fh.write(b"From a@b Tue Jan  2 09:00:00 2024\n" + MSG % (1, 1))
    with open(root + b"/" + "受信".encode("cp932") + b"/Inbox", "wb") as fh:
        fh.write(b"From a@b Tue Jan  2 09:00:00 2024\n" + MSG % (2, 2))
    os.mkfifo(root + b"/" + "壊れ".encode("cp932"))
    src = Path(os.fsdecode(root))
    r = run(["run", str(src)], imap_user, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    assert "In scope: 3 = uploaded 2 + already on target 0 + duplicates 0 + failed 1" in r.stdout, r.stdout
    _delim, server = read_server(imap_user)
    assert server["取引先"][0][0] == crlf(MSG % (1, 1))
    assert [m[0] for m in server["INBOX/Inbox"]] == [crlf(MSG % (2, 2))]
    log = (tmp_path / "s.quarantine" / "failures.log").read_text(encoding="utf-8")
    assert "壊れ" in log and "FIFO" in log, log
    r = run(["run", str(src)], imap_user, tmp_path)
    assert "uploaded 0 + already on target 2" in r.stdout, r.stdout + r.stderr
    r = run(["verify", str(src), "--deep", "--list"], imap_user, tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert "present 2 + missing 0 + different 0" in r.stdout, r.stdout
