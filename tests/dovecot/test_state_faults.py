"""Issue 16 kind 7: the state file's own faults, with `migrate` run as a user would, against a real
Dovecot. A read-only or full file system under --state gives one line and exit 5 (never a
traceback, never a message sent that the journal could not record); a damaged journal is refused
with exit 5 and the advice to move it aside; a --state path holding ?, # or % opens that file.
The read-only and full file systems are real mounts (tmpfs), so these tests need root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.dovecot.test_quota_diet import Mail, crlf, expected, nonempty, server
from tests.support.corpus import Item, mbox_bytes_as_uploaded, msg, write_mbox_tree

pytestmark = pytest.mark.dovecot

needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"),
                                reason="a real read-only / full file system needs `mount` as root "
                                       "(permission bits do not stop root)")


def corpus(root: Path, n: int) -> list[Mail]:
    from datetime import datetime, timezone

    items: list[Item] = []
    out: list[Mail] = []
    for i in range(n):
        it = Item(msg(f"state fault {i}", f"body {i}\n", n=i), from_line_date="Mon Jan  1 10:00:00 2024")
        items.append(it)
        out.append(Mail("INBOX", datetime(2024, 1, 1, tzinfo=timezone.utc), crlf(mbox_bytes_as_uploaded(it))))
    write_mbox_tree(root, {("Inbox",): items})
    return out


def migrate(args: list[str], user, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args, "--target", user.url_imaps, "--state", str(state),
                           "-q"], env={**os.environ, **user.env}, capture_output=True, text=True, timeout=180)


def one_line_exit_5(r: subprocess.CompletedProcess[str], *words: str) -> str:
    assert r.returncode == 5, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith(("migrate: warning",
                                                                                   "migrate: journal: "))]
    assert len(lines) == 2 and lines[0].startswith("migrate: error: ") and lines[1].startswith("hint: "), r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    return r.stderr


@pytest.fixture
def mount_point(tmp_path: Path):
    mounts: list[Path] = []

    def mount(name: str, *opts: str) -> Path:
        d = tmp_path / name
        d.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(opts) or "defaults", "tmpfs", str(d)], check=True)
        mounts.append(d)
        return d

    yield mount
    for d in reversed(mounts):
        subprocess.run(["umount", "-l", str(d)], check=False)


@needs_root
def test_read_only_file_system(tmp_path: Path, make_imap_user, mount_point):
    src = tmp_path / "mail"
    mails = corpus(src, 5)
    user = make_imap_user()
    ro = mount_point("ro", "ro", "size=1m")
    r = migrate(["run", str(src)], user, ro / "s.db")
    one_line_exit_5(r, "cannot write the state file", "Read-only file system")
    assert not nonempty(server(user))  # nothing sent that the journal could not record

    rw = mount_point("rw", "size=4m")
    r = migrate(["run", str(src)], user, rw / "s.db")
    assert r.returncode == 0, r.stdout + r.stderr
    subprocess.run(["mount", "-o", "remount,ro", str(rw)], check=True)
    r = migrate(["run", str(src)], user, rw / "s.db")  # an existing journal on a now read-only disk
    one_line_exit_5(r, "state file")
    assert nonempty(server(user)) == expected(mails)
    # reading it still works there: plan and status only read
    st = subprocess.run([sys.executable, "-m", "migrator", "status", "--state", str(rw / "s.db")],
                        capture_output=True, text=True, timeout=60)
    assert st.returncode == 0 and f"Migrated: {len(mails)} messages" in st.stdout, st.stdout + st.stderr
    r = migrate(["plan", str(src), "--json"], user, rw / "s.db")
    assert r.returncode == 0, r.stderr


@needs_root
def test_full_file_system_then_exactly_once_elsewhere(tmp_path: Path, make_imap_user, mount_point):
    src = tmp_path / "mail"
    mails = corpus(src, 600)
    user = make_imap_user()
    small = mount_point("small", "size=64k")
    r = migrate(["run", str(src), "--batch", "20"], user, small / "s.db")
    one_line_exit_5(r, "is full")
    partial = nonempty(server(user))
    assert all(n == 1 for c in partial.values() for n in c.values())
    # the journal moved to a disk with room: the run carries on, every message once
    roomy = tmp_path / "roomy"
    roomy.mkdir()
    for f in small.iterdir():
        if f.name.startswith("s.db") and not f.name.endswith(".lock"):
            shutil.copy2(f, roomy / f.name)
    r = migrate(["run", str(src)], user, roomy / "s.db")
    assert r.returncode == 0, r.stdout + r.stderr
    assert nonempty(server(user)) == expected(mails)


def test_damaged_journal_is_refused(tmp_path: Path, make_imap_user):
    src = tmp_path / "mail"
    mails = corpus(src, 40)
    user = make_imap_user()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database\n" * 400)
    for cmd in (["run", str(src)], ["plan", str(src)], ["verify", str(src)]):
        one_line_exit_5(migrate(cmd, user, garbage), "damaged", "Move the damaged file aside")
    st = subprocess.run([sys.executable, "-m", "migrator", "status", "--state", str(garbage)],
                        capture_output=True, text=True, timeout=60)
    one_line_exit_5(st, "damaged")

    state = tmp_path / "s.db"
    assert migrate(["run", str(src)], user, state).returncode == 0
    data = bytearray(state.read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    assert len(data) >= 3 * page
    for p in range(1, len(data) // page):  # every page after the header's: b-tree pages broken
        data[p * page: p * page + 16] = b"\xff" * 16
    state.write_bytes(bytes(data))
    one_line_exit_5(migrate(["run", str(src)], user, state), "damaged", "Move the damaged file aside")
    assert nonempty(server(user)) == expected(mails)  # untouched

    # moved aside, as the hint says: a fresh journal finds everything on the server, nothing twice
    state.rename(tmp_path / "s.db.broken")
    r = migrate(["run", str(src)], user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert nonempty(server(user)) == expected(mails)


@pytest.mark.parametrize("name", ["a?b.db", "a#b.db", "a%41b.db", "q?x#y%z.db"])
def test_state_path_with_uri_characters(tmp_path: Path, make_imap_user, name: str):
    src = tmp_path / "mail"
    mails = corpus(src, 3)
    user = make_imap_user()
    d = tmp_path / "st"
    d.mkdir()
    state = d / name
    assert migrate(["run", str(src)], user, state).returncode == 0
    before = sorted(p.name for p in d.iterdir())
    r = migrate(["plan", str(src), "--json"], user, state)
    assert r.returncode == 0, r.stderr
    assert '"to_upload": 0' in r.stdout.replace(" ", "").replace('"to_upload":0', '"to_upload": 0')
    st = subprocess.run([sys.executable, "-m", "migrator", "status", "--state", str(state)],
                        capture_output=True, text=True, timeout=60)
    assert st.returncode == 0 and f"Migrated: {len(mails)} messages" in st.stdout, st.stdout + st.stderr
    def files() -> set[str]:  # SQLite's own WAL companions of the same file do not count
        return {p.name.removesuffix("-wal").removesuffix("-shm") for p in d.iterdir()}

    assert files() == set(before)  # no other file opened or created
    assert Counter(nonempty(server(user))["INBOX"]) == expected(mails)["INBOX"]
