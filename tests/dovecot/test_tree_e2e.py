"""Issue 15 kinds 1 and 4 end to end: `migrate run` of a directory that mixes an mbox tree and a
Maildir++, with `self` symlink loops and FIFOs inside, against the real Dovecot. The server must
hold exactly what a clean copy of the same tree gives, each message once; the exit code and the
summary name the unreadable entries."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.dovecot.test_e2e import run
from tests.support.corpus import sample_items, write_maildirpp, write_mbox_tree

pytestmark = [pytest.mark.dovecot,
              pytest.mark.skipif(sys.platform == "win32" or not hasattr(os, "mkfifo"), reason="POSIX FIFOs")]


def _tree(root: Path) -> Path:
    write_mbox_tree(root / "mbox", sample_items())
    write_maildirpp(root / "Maildir", sample_items())
    return root


def _server(user) -> dict[str, list[bytes]]:
    """Every selectable folder's messages (bytes, sorted), read back with a separate client."""
    out: dict[str, list[bytes]] = {}
    with user.client() as c:
        for flags, _d, name in c.list_folders():
            if b"\\Noselect" in flags or not c.select_folder(name, readonly=True)[b"EXISTS"]:
                continue
            out[name] = sorted(d[b"BODY[]"] for d in c.fetch(c.search("ALL"), ["BODY.PEEK[]"]).values())
    return out


def test_mixed_tree_with_loops_and_fifos(tmp_path: Path, make_imap_user):
    clean = _tree(tmp_path / "clean")
    messy = tmp_path / "messy"
    shutil.copytree(clean, messy)
    (messy / "self").symlink_to(".")
    (messy / "Maildir" / "self").symlink_to(".")
    (messy / "Maildir" / ".Sent" / "up").symlink_to("..")
    os.mkfifo(messy / "mbox" / "Pipe")
    os.mkfifo(messy / "Maildir" / "cur" / "1654099999.Mpipe.host:2,S")
    (messy / "mbox" / "notes.pdf").write_bytes(b"%PDF-1.4 not mail")

    want_user, got_user = make_imap_user(), make_imap_user()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    r = run(["run", str(clean)], want_user, tmp_path / "a")
    assert r.returncode == 0, r.stdout + r.stderr
    want = _server(want_user)
    assert any("Maildir" in name for name in want), "the Maildir inside the tree is migrated"

    r = run(["run", str(messy)], got_user, tmp_path / "b")
    print(r.stdout)
    assert r.returncode == 1, "unreadable entries make the run incomplete\n" + r.stdout + r.stderr
    assert "Pipe" in r.stdout and "FIFO" in r.stdout, r.stdout
    assert "1654099999.Mpipe.host" in r.stdout, r.stdout
    assert "notes.pdf" in r.stdout, "a file that is not mail is listed"
    assert _server(got_user) == want, "each message exactly once, nothing from the loops"

    r = run(["run", str(messy), "--json"], got_user, tmp_path / "b")
    assert r.returncode == 1
    stats = json.loads(r.stdout)
    assert stats["uploaded"] == 0 and stats["failed"] == 2
    assert any("notes.pdf" in w for w in stats["warnings"])
    assert _server(got_user) == want, "a second run adds nothing"
