"""One conformance suite for every Source (rclone's fstests idea): each store type must honour
the same contract, whatever its format."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from migrator.sources import Source, open_source
from migrator.domain.records import DELETED, ROLES
from migrator.domain.dates import DATE_HEADER, DATE_SOURCES, FALLBACK_SOURCE, implausible
from tests.support.corpus import sample_items, write_maildirpp, write_mbox_tree

# RFC 5322 field name and colon: what every message handed on for upload begins with (a reader that
# cut a message in two would hand on a header-less "message").
_HEADER_START = re.compile(rb"[!-9;-~]+[ \t]*:")
SHARED_PST = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pst"


def _mbox(tmp: Path) -> Path:
    write_mbox_tree(tmp / "mbox", sample_items())
    return tmp / "mbox"


def _mbox_tricky(tmp: Path) -> Path:
    """mbox shapes real exports have: a BOM, no blank line before a separator, unescaped `From `
    prose in a body, a `.txt` name, CR-only line ends, a UW-IMAP pseudo-message, an empty entry."""
    root = tmp / "tricky"
    root.mkdir()
    one = (b"From: a@x\nSubject: one\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\nHi\n\n"
           b"From 10:00 to 12:30 on 3 March 2024 we meet.\n")
    two = b"From: b@x\nSubject: two\nDate: Tue, 2 Jan 2024 10:00:00 +0000\n\nshort\n"
    (root / "export.txt").write_bytes(b"\xef\xbb\xbf\nFrom a@x Mon Jan  1 10:00:00 2024\n" + one
                                      + b"From b@x Tue Jan  2 10:00:00 2024\n" + two
                                      + b"\nFrom c@x Wed Jan  3 10:00:00 2024\n\n")
    (root / "Mac").write_bytes((b"From ???@??? Mon Jan  1 10:00:00 2024\n" + one + b"\n"
                                + b"From ???@??? Tue Jan  2 10:00:00 2024\n" + two).replace(b"\n", b"\r"))
    (root / "INBOX").write_bytes(
        b"From MAILER-DAEMON Mon Jan  1 10:00:00 2024\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL"
        b" DATA\nX-IMAP: 1704103200 0000000002\n\nnot a real message\n\nFrom b@x Tue Jan  2 10:00:00 2024\n" + two)
    return root


def _maildir(tmp: Path) -> Path:
    write_maildirpp(tmp / "Maildir", sample_items())
    return tmp / "Maildir"


def _thunderbird(tmp: Path) -> Path:
    gen = pytest.importorskip("tests.tbprofile", reason="Thunderbird profile generator not available")
    fn = getattr(gen, "make_profile", None) or getattr(gen, "write_profile", None)
    if fn is None:
        pytest.skip("tests/tbprofile.py has no make_profile/write_profile")
    out = fn(tmp / "tb")
    return Path(getattr(out, "profile", None) or getattr(out, "path", None) or (tmp / "tb"))


def _pst(tmp: Path) -> Path:
    f = SHARED_PST / "javalibpst-dist-list.pst"
    if not f.exists():
        pytest.skip(f"PST fixtures not found at {SHARED_PST} (../shared is absent)")
    pytest.importorskip("pypff", reason="libpff-python not installed")
    return f


def _pst2(tmp: Path) -> Path:
    f = SHARED_PST / "rubymsg-attachAndInline.pst"
    if not f.exists():
        pytest.skip(f"PST fixtures not found at {SHARED_PST} (../shared is absent)")
    pytest.importorskip("pypff", reason="libpff-python not installed")
    return f


MAKERS = {"mbox": _mbox, "mbox-tricky": _mbox_tricky, "maildir": _maildir, "thunderbird": _thunderbird, "pst": _pst, "pst-japanese": _pst2}


@pytest.fixture(params=sorted(MAKERS))
def store(request, tmp_path: Path) -> Path:
    return MAKERS[request.param](tmp_path)


def _snapshot(path: Path) -> dict[str, tuple[bytes, int]]:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return {str(p): (p.read_bytes(), os.stat(p).st_mtime_ns) for p in files}


def _read_all(src: Source):
    return [(f, list(src.messages(f))) for f in src.folders()]


def test_contract(store: Path):
    before = _snapshot(store)
    src = open_source(store)
    try:
        assert isinstance(src, Source)
        folders = src.folders()
        assert folders, "a store has at least one folder"
        assert len({f.key for f in folders}) == len(folders), "folder keys are unique"
        first = _read_all(src)
        second = _read_all(src)
    finally:
        src.close()
    now = datetime.now(timezone.utc)
    ids: set[str] = set()
    for folder, recs in first:
        assert folder.path and all(isinstance(p, str) and p for p in folder.path)
        assert folder.role is None or folder.role in ROLES
        for r in recs:
            assert r.folder == folder
            assert r.stable_id and r.stable_id not in ids, "stable ids are unique in the source"
            ids.add(r.stable_id)
            assert r.date.tzinfo is not None, "dates are timezone-aware"
            assert abs(now - r.date) > timedelta(minutes=5), "never the time of reading as the date"
            assert DELETED not in r.flags
            assert all(isinstance(f, str) for f in r.flags)
            if r.error is None and r.skip_reason is None:
                assert r.raw and b"\n" in r.raw, "a message has bytes"
                assert _HEADER_START.match(r.raw), "a message starts with a header field, never a body fragment"
                assert r.size == len(r.raw)
                assert r.locator
    # reading twice gives the same ids and bytes (stable across runs)
    assert [[(r.stable_id, r.raw) for r in recs] for _, recs in first] == \
        [[(r.stable_id, r.raw) for r in recs] for _, recs in second]
    assert _snapshot(store) == before, "the source is read-only (invariant 1)"


# -- the INTERNALDATE policy (migrator/sources/dates.py), for every reader ---------------------------------
# A message whose store date is implausible (the epoch, git format-patch's placeholder, far in the future)
# gets its Date: header's date, and every record says where its date came from.

_HEADER_DATE = datetime(2024, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=9)))


def _dated(n: int) -> bytes:
    return (f"From: a@example.com\nSubject: implausible-store-date {n}\nMessage-ID: <implausible{n}@example.com>\n"
            "Date: Mon, 01 Jan 2024 10:00:00 +0900\n\nbody\n").encode()


def _implausible_mbox(tmp: Path) -> Path:
    box = tmp / "Inbox.mbox"
    box.write_bytes(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + _dated(0)
                    + b"\nFrom 0123456789abcdef Mon Sep 17 00:00:00 2001\n" + _dated(1)
                    + b"\nFrom someone Sat Jan  1 00:00:00 2089\n" + _dated(2))
    return box


def _implausible_maildir(tmp: Path) -> Path:
    md = tmp / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    for n, name in enumerate(("100000000.M1P1.host:2,S", "9999999999.M2P1.host;2,S", "0000000000.M3P1.host!2,S")):
        (md / "cur" / name).write_bytes(_dated(n))
        os.utime(md / "cur" / name, (1_700_000_000, 1_700_000_000))  # a later copy: never before the header
    return md


def _implausible_thunderbird(tmp: Path) -> Path:
    store = _thunderbird(tmp)
    for inbox in (p for p in store.rglob("Inbox") if p.is_file()):  # first in the file: no tail check
        inbox.write_bytes(b"From - Thu Jan  1 00:00:00 1970\nX-Mozilla-Status: 0001\n" + _dated(0) + b"\n"
                          + inbox.read_bytes())
    return store


IMPLAUSIBLE_MAKERS = {"mbox": _implausible_mbox, "maildir": _implausible_maildir, "thunderbird": _implausible_thunderbird}


@pytest.mark.parametrize("kind", sorted(IMPLAUSIBLE_MAKERS))
def test_implausible_store_date_gets_the_header_date(kind: str, tmp_path: Path) -> None:
    src = open_source(IMPLAUSIBLE_MAKERS[kind](tmp_path))
    try:
        recs = [r for f in src.folders() for r in src.messages(f) if b"implausible-store-date" in r.raw]
    finally:
        src.close()
    assert recs, "the planted messages are read"
    for r in recs:
        assert (r.date, r.date_source) == (_HEADER_DATE, DATE_HEADER), r.locator


def test_every_record_says_where_its_date_came_from(store: Path) -> None:
    src = open_source(store)
    try:
        for folder in src.folders():
            for r in src.messages(folder):
                if r.error is None:
                    assert r.date_source in DATE_SOURCES, r.locator
                    assert implausible(r.date) is None or r.date_source == FALLBACK_SOURCE, r.locator
    finally:
        src.close()


# -- a directory tree: symlink loops and special files, for every reader of a tree ---------------


def _mail_dir(folder_origin: Path) -> Path:
    """The directory a folder's messages live in: a Maildir's cur/, an mbox file's directory."""
    if folder_origin.is_dir():
        return folder_origin / "cur" if (folder_origin / "cur").is_dir() else folder_origin
    return folder_origin.parent


def _tree_snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):  # links to directories are not followed
        for name in files:
            p = Path(dirpath) / name
            if p.is_file() and not p.is_symlink():
                out[str(p)] = (p.read_bytes(), os.stat(p).st_mtime_ns)
    return out


def _tally(src: Source) -> tuple[int, int]:
    recs = [r for _, rs in _read_all(src) for r in rs]
    return sum(1 for r in recs if r.error is None and r.skip_reason is None), sum(1 for r in recs if r.error)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="symlinks and FIFOs as on POSIX")
def test_tree_with_symlink_loops_and_special_files(store: Path):
    """Every reader of a directory tree: a symlink loop reads nothing twice, a FIFO is counted
    as unreadable with a reason and never blocks, and the tree stays unchanged."""
    if store.is_file():
        pytest.skip("a single-file store has no tree")
    src = open_source(store)
    try:
        clean = _tally(src)
        first = Path(src.folders()[0].origin)
        folder_dirs = {_mail_dir(Path(f.origin)) for f in src.folders() if Path(f.origin).exists()}
    finally:
        src.close()
    for d in sorted(folder_dirs)[:2]:
        loop_at = d.parent if d.name == "cur" else d
        for name in ("self", "self.sbd"):
            if not (loop_at / name).exists():
                (loop_at / name).symlink_to(".")
    pipe_dir = _mail_dir(first)
    os.mkfifo(pipe_dir / ("1654099999.Mpipe.host:2,S" if pipe_dir.name == "cur" else "Pipe"))
    before = _tree_snapshot(store)
    src = open_source(store)
    try:
        read, errors = _tally(src)
        reasons = [r.error for _, rs in _read_all(src) for r in rs if r.error]
    finally:
        src.close()
    assert read == clean[0], "a symlink loop reads no message twice"
    assert errors == clean[1] + 1 and any("FIFO" in e for e in reasons), "the FIFO is counted with a reason"
    assert _tree_snapshot(store) == before, "the source is read-only (invariant 1)"
