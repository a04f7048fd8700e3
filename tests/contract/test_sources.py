"""One conformance suite for every Source (rclone's fstests idea): each store type must honour
the same contract (migrator/sources/base.py), whatever its format.

Every test below is one NAMED property, parametrized over every reader through `MAKERS`: a new
reader (Becky!, .eml, .emlx, IMAP, POP3) joins the whole suite by adding one maker there. A maker
builds a store in a temporary directory (or skips with a reason when its fixture is absent) and
returns the path `open_source` is given.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from migrator.domain.dates import DATE_HEADER, DATE_SOURCES, FALLBACK_SOURCE, implausible
from migrator.domain.records import DELETED, ROLES, Folder, MessageRecord
from migrator.sources import Capabilities, Source, open_source
from tests.support.becky_store import build_store
from tests.support.corpus import sample_items, write_maildir_message, write_maildirpp, write_mbox, write_mbox_tree
from tests.support.stores import write_applemail, write_dbx_store, write_eml_folder, write_fake_undbx, write_wlm

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


def _maildir_plain(tmp: Path) -> Path:
    """A plain Maildir (one folder, no Maildir++ children), messages in new/ and cur/."""
    root = tmp / "plain"
    for n, it in enumerate(sample_items()[("Inbox",)]):
        write_maildir_message(root, it, n + 1, 1654084800 + n * 60)
    return root


def _tree(tmp: Path) -> Path:
    """A directory holding a mix: an mbox file, a Maildir++ and a nested directory of mbox files."""
    root = tmp / "tree"
    items = sample_items()
    write_mbox(root / "Archive 2019.mbox", items[("Inbox",)])
    write_maildirpp(root / "Maildir", {("Inbox",): items[("Sent",)], ("取引先",): items[("取引先",)]})
    write_mbox_tree(root / "old" / "export", {("Work & Play",): items[("Work & Play",)]})
    return root


def _wlm(tmp: Path) -> Path:
    """A Windows Live Mail store: Japanese folder names, an account folder, a 0-byte placeholder."""
    write_wlm(tmp / "Windows Live Mail")
    return tmp / "Windows Live Mail"


def _eml_folder(tmp: Path) -> Path:
    write_eml_folder(tmp / "saved mail")
    return tmp / "saved mail"


def _applemail(tmp: Path) -> Path:
    """Apple Mail's Mail folder: V10 with nested mailboxes, plist flags, a partial, a deleted one."""
    write_applemail(tmp / "Mail")
    return tmp / "Mail"


def _dbx(tmp: Path) -> Path:
    """Outlook Express .dbx files, extracted by a stand-in for undbx put first on PATH (`store`
    puts tmp/bin there): no .dbx writer exists, nor a sample this repository may hold."""
    write_fake_undbx(tmp / "bin")
    write_dbx_store(tmp / "Outlook Express")
    return tmp / "Outlook Express"


def _mixed_with_eml(tmp: Path) -> Path:
    """A tree mixing an mbox file, a Maildir++ and a folder of .eml files: all are read."""
    root = tmp / "mixed"
    items = sample_items()
    write_mbox(root / "Archive 2019.mbox", items[("Inbox",)])
    write_maildirpp(root / "Maildir", {("Inbox",): items[("Sent",)]})
    write_eml_folder(root / "saved")
    return root


def _becky(tmp: Path) -> Path:
    """A Becky! data folder (tests/support/becky_store.py): two mailboxes, an IMAP cache, CP932 names
    as bytes on disk, dot-stuffing, attachment includes (one missing), a Folder.idx."""
    try:
        os.mkdir(os.fsencode(tmp) + b"/" + "試".encode("cp932"))
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    return build_store(tmp / "Becky", cp932_names=True).root


def _becky_unicode(tmp: Path) -> Path:
    """The same Becky! store with its names in Unicode (as on Windows), given as one .mb mailbox."""
    return build_store(tmp / "Becky", cp932_names=False).root / "4cbbef16.mb"


MAKERS: dict[str, Callable[[Path], Path]] = {
    "mbox": _mbox, "mbox-tricky": _mbox_tricky, "maildir": _maildir, "maildir-plain": _maildir_plain,
    "tree": _tree, "thunderbird": _thunderbird, "pst": _pst, "pst-japanese": _pst2,
    "wlm": _wlm, "eml-folder": _eml_folder, "tree-with-eml": _mixed_with_eml, "applemail": _applemail, "dbx": _dbx,
    "becky": _becky, "becky-mailbox": _becky_unicode,
}


@pytest.fixture(params=sorted(MAKERS))
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # a maker may put programs a reader runs (a stand-in for undbx) in tmp/bin
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    return MAKERS[request.param](tmp_path)


Read = list[tuple[Folder, list[MessageRecord]]]


def _snapshot(path: Path) -> dict[str, tuple[bytes, int]]:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return {str(p): (p.read_bytes(), os.stat(p).st_mtime_ns) for p in files}


def _read_all(src: Source) -> Read:
    return [(f, list(src.messages(f))) for f in src.folders()]


def _open_read(store: Path) -> tuple[Source, Read]:
    src = open_source(store)
    try:
        return src, _read_all(src)
    finally:
        src.close()


def _records(read: Read) -> list[MessageRecord]:
    return [r for _, recs in read for r in recs]


def _messages(read: Read) -> list[MessageRecord]:
    """The records handed on for upload (neither skipped nor failed)."""
    return [r for r in _records(read) if r.error is None and r.skip_reason is None]


# -- the store is left as it was ------------------------------------------------------------------


def test_read_only_bytes_and_mtimes(store: Path) -> None:
    """Invariant 1: opening and reading every folder twice changes no byte and no mtime."""
    before = _snapshot(store)
    src = open_source(store)
    try:
        _read_all(src)
        _read_all(src)
    finally:
        src.close()
    assert _snapshot(store) == before


# -- the declared contract ------------------------------------------------------------------------


def test_is_a_source_that_declares_its_capabilities(store: Path) -> None:
    src, _ = _open_read(store)
    assert isinstance(src, Source)
    assert isinstance(src.capabilities, Capabilities), "capabilities are declared, never sniffed"
    assert isinstance(src.kind, str) and src.kind
    assert isinstance(src.warnings, list) and all(isinstance(w, str) for w in src.warnings)
    if src.capabilities.skip_known:
        assert src.capabilities.reload, "a reader that passes messages over can read them again"


def test_one_messages_signature(store: Path) -> None:
    """messages(folder, *, resume=0, known=None) for every reader: the flows call no other form."""
    src, _ = _open_read(store)
    params = inspect.signature(src.messages).parameters
    assert list(params)[:1] == ["folder"]
    for name, default in (("resume", 0), ("known", None)):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY and params[name].default == default


# -- folders --------------------------------------------------------------------------------------


def test_folders_exist_with_unique_keys(store: Path) -> None:
    _, read = _open_read(store)
    keys = [f.key for f, _ in read]
    assert keys, "a store has at least one folder"
    assert len(set(keys)) == len(keys), "folder keys are unique"


def test_folder_paths_and_roles(store: Path) -> None:
    _, read = _open_read(store)
    for folder, _ in read:
        assert folder.path and all(isinstance(p, str) and p for p in folder.path), folder
        assert folder.role is None or folder.role in ROLES, folder


def test_sources_describes_it(store: Path) -> None:
    """`migrate sources PATH` describes the store through the contract alone (flows/inventory.py):
    its kind, every folder with a target, and exactly the messages a run would read from it."""
    from migrator.flows.inventory import inventory

    src, read = _open_read(store)
    inv = inventory([store])
    (desc,) = inv.stores
    assert desc.kind == src.kind and desc.root == str(src.root)
    assert [f.folder for f in desc.folders] == [f.display for f, _ in read]
    assert all(f.target for f in desc.folders)
    per_folder = [sum(1 for r in recs if r.error is None and r.skip_reason is None) for _, recs in read]
    assert [f.messages for f in desc.folders] == per_folder
    assert desc.messages == len(_messages(read)) == inv.messages
    assert desc.bytes == sum(r.size for r in _messages(read))
    assert desc.skipped == sum(1 for r in _records(read) if r.error is None and r.skip_reason is not None)
    assert desc.unreadable == sum(1 for r in _records(read) if r.error is not None)
    years = [r.date.year for r in _messages(read)]
    assert (desc.oldest_year, desc.newest_year) == ((min(years), max(years)) if years else (None, None))
    assert sum(n for n, _b in desc.by_year.values()) == desc.messages
    quick = inventory([store], count=False).stores[0]
    assert [f.folder for f in quick.folders] == [f.folder for f in desc.folders]
    assert quick.messages is None or quick.estimated  # only the reader's cheap count, never a read


def test_folders_parents_before_children(store: Path) -> None:
    """A folder listed with its parent comes after it (the target creates parents first)."""
    _, read = _open_read(store)
    paths = [f.path for f, _ in read]
    for i, path in enumerate(paths):
        for cut in range(1, len(path)):
            if path[:cut] in paths:
                assert paths.index(path[:cut]) < i, f"{'/'.join(path)} before its parent"


def test_folder_keys_stable_across_opens(store: Path) -> None:
    """Folder keys are part of every journal key: two opens give the same keys in the same order."""
    _, first = _open_read(store)
    _, second = _open_read(store)
    assert [(f.key, f.path) for f, _ in first] == [(f.key, f.path) for f, _ in second]


# -- records --------------------------------------------------------------------------------------


def test_records_belong_to_their_folder(store: Path) -> None:
    _, read = _open_read(store)
    for folder, recs in read:
        assert all(r.folder == folder for r in recs)


def test_stable_ids_unique(store: Path) -> None:
    _, read = _open_read(store)
    ids = [r.stable_id for r in _records(read)]
    assert all(ids), "every record has a stable id"
    assert len(set(ids)) == len(ids), "stable ids are unique in the source"


def test_stable_ids_and_bytes_stable_across_opens(store: Path) -> None:
    """Two opens (two runs) give the same ids, bytes, flags and dates, in the same order."""
    _, first = _open_read(store)
    _, second = _open_read(store)

    def shape(read: Read) -> list[list[tuple[object, ...]]]:
        return [[(r.stable_id, r.raw, r.flags, r.date, r.skip_reason, r.error) for r in recs] for _, recs in read]

    assert shape(first) == shape(second)


def test_dates_tz_aware_never_the_time_of_reading(store: Path) -> None:
    _, read = _open_read(store)
    now = datetime.now(timezone.utc)
    for r in _records(read):
        assert r.date.tzinfo is not None, r.locator
        assert abs(now - r.date) > timedelta(minutes=5), f"{r.locator}: the time of reading as the date"


def test_every_record_says_where_its_date_came_from(store: Path) -> None:
    _, read = _open_read(store)
    for r in _records(read):
        if r.error is None:
            assert r.date_source in DATE_SOURCES, r.locator
            assert implausible(r.date) is None or r.date_source == FALLBACK_SOURCE, r.locator


def test_no_deleted_flag(store: Path) -> None:
    """\\Deleted is never handed on: a message deleted in the store is skipped with a reason."""
    _, read = _open_read(store)
    for r in _records(read):
        assert DELETED not in r.flags, r.locator
        assert all(isinstance(f, str) and f for f in r.flags), r.locator


def test_a_message_starts_with_a_header_field(store: Path) -> None:
    _, read = _open_read(store)
    for r in _messages(read):
        assert r.raw and b"\n" in r.raw, r.locator
        assert _HEADER_START.match(r.raw), f"{r.locator}: a body fragment, not a message"
        assert r.size == len(r.raw)
        assert r.locator


def test_skipped_and_failed_records_carry_a_reason(store: Path) -> None:
    """Nothing is lost silently (invariant 3): a record not handed on says why, and where it is."""
    _, read = _open_read(store)
    for r in _records(read):
        for reason in (r.skip_reason, r.error):
            assert reason is None or (isinstance(reason, str) and reason.strip()), r
        if r.skip_reason is not None or r.error is not None:
            assert r.locator, r


# -- what a reader declares it can do -------------------------------------------------------------


def test_change_token_stable_while_unchanged(store: Path) -> None:
    src = open_source(store)
    try:
        if not src.capabilities.change_token:
            pytest.skip(f"{src.kind}: no change token declared")
        first = {f.key: src.token(f) for f in src.folders()}
        _read_all(src)
    finally:
        src.close()
    again = open_source(store)
    try:
        assert {f.key: again.token(f) for f in again.folders()} == first
    finally:
        again.close()


def test_an_exact_estimate_is_what_messages_yields(store: Path) -> None:
    """Source.estimate (the progress bar's totals): a figure it says is exact is exactly what
    `messages(folder)` yields (records; bytes of their `raw`); estimates are never negative."""
    src = open_source(store)
    try:
        folders = src.folders()
        estimates = {f.key: src.estimate(f) for f in folders}  # before reading, as a run takes them
        read = _read_all(src)
    finally:
        src.close()
    for folder, records in read:
        est = estimates[folder.key]
        if est is None:
            continue
        assert (est.messages or 0) >= 0 and (est.bytes or 0) >= 0, folder.key
        if est.messages_exact:
            assert est.messages == len(records), (folder.key, est)
        if est.bytes_exact:
            assert est.bytes == sum(len(r.raw) for r in records), (folder.key, est)


def test_known_messages_are_passed_over_and_reload_gives_them_back(store: Path) -> None:
    """skip_known: with known() saying yes to everything, a message comes without its bytes
    (extra["known"], extra["size"]) and reload() gives the record a full read gives."""
    src = open_source(store)
    try:
        if not src.capabilities.skip_known:
            pytest.skip(f"{src.kind}: does not skip known messages")
        full = {r.stable_id: r for r in _records(_read_all(src))}
        asked: list[tuple[str, int]] = []

        def known(sid: str, size: int) -> bool:
            asked.append((sid, size))
            return True

        light = [r for f in src.folders() for r in src.messages(f, known=known)]
        assert {r.stable_id for r in light} == set(full), "the same messages, read or not"
        passed = [r for r in light if r.extra.get("known")]
        if not passed:
            pytest.skip("no folder of this store passes messages over (e.g. a tree of mbox files)")
        for r in passed:
            assert r.raw == b"" and int(r.extra["size"]) >= 0 and r.date.tzinfo is not None
            back = src.reload(r)
            assert (back.stable_id, back.raw, back.flags) == (r.stable_id, full[r.stable_id].raw,
                                                              full[r.stable_id].flags)
    finally:
        src.close()


_APPENDED = b"From: late@example.com\nSubject: appended later\nDate: Tue, 02 Jan 2024 10:00:00 +0900\n\nnew\n"


def test_resume_gives_the_same_tail(store: Path) -> None:
    """resume_offset: after a complete read, a folder that only grew is read on from the offset
    its token gives, and that yields exactly what a full read yields after the old messages."""
    src = open_source(store)
    try:
        if not src.capabilities.resume_offset:
            pytest.skip(f"{src.kind}: does not resume from an offset")
        read = _read_all(src)
        infos = {f.key: src.resume_info(f) for f, _ in read}
    finally:
        src.close()
    grown = [(f, recs) for f, recs in read if infos[f.key] and Path(f.origin).is_file()]
    if not grown:
        pytest.skip("no folder the reader can resume")
    for f, _ in grown:
        path = Path(f.origin)
        data = path.read_bytes()
        eol = b"\n" if b"\n" in data else b"\r"  # a CR-only mbox grows with CR line ends
        lead = b"" if not data or data.endswith(eol) else eol
        with path.open("ab") as fh:  # as a mail client appends: a separator line, the message, a blank line
            fh.write(lead + (b"From late@example.com Tue Jan  2 01:00:00 2024\n" + _APPENDED + b"\n").replace(b"\n", eol))
        old = os.stat(path).st_mtime - 3600
        os.utime(path, (old, old))  # at rest: a reader of a live store reads the last message too
    again = open_source(store)
    try:
        for f, before in grown:
            info = infos[f.key]
            assert info is not None
            offset = again.resume_offset(f, info)
            full = list(again.messages(f))
            if not before and not offset:
                continue  # an empty folder that grew: reading it whole is the same thing
            assert offset, f"{f.display}: only grew, so it resumes"
            resumed = list(again.messages(f, resume=offset))
            assert [(r.stable_id, r.raw) for r in resumed] == [(r.stable_id, r.raw) for r in full[len(before):]]
            assert [r.stable_id for r in full[:len(before)]] == [r.stable_id for r in before], "old ids unchanged"
            assert any(b"appended later" in r.raw for r in resumed)
    finally:
        again.close()


def test_resume_refused_when_the_folder_was_rewritten(store: Path) -> None:
    """A folder whose old bytes changed (compacted, edited) is read whole: no offset."""
    src = open_source(store)
    try:
        if not src.capabilities.resume_offset:
            pytest.skip(f"{src.kind}: does not resume from an offset")
        read = _read_all(src)
        infos = {f.key: src.resume_info(f) for f, _ in read}
    finally:
        src.close()
    targets = [f for f, _ in read if infos[f.key] and Path(f.origin).is_file()]
    if not targets:
        pytest.skip("no folder the reader can resume")
    for f in targets:
        path = Path(f.origin)
        data = path.read_bytes()
        path.write_bytes(data.replace(b"Subject:", b"Subject: X", 1) + b"From x Tue Jan  2 01:00:00 2024\n" + _APPENDED)
    again = open_source(store)
    try:
        for f in targets:
            info = infos[f.key]
            assert info is not None
            assert again.resume_offset(f, info) is None, f.display
    finally:
        again.close()


# -- journals of earlier runs keep matching -------------------------------------------------------


def test_stable_ids_and_folder_keys_keep_their_form(tmp_path: Path) -> None:
    """The forms earlier journals hold (settled table, source_folder table): never change them."""
    _, read = _open_read(_mbox_tricky(tmp_path))
    assert sorted(f.key for f, _ in read) == ["INBOX", "Mac", "export.txt"]
    ids = {r.stable_id for r in _records(read)}
    assert "mbox:export.txt:4" in ids and all(re.fullmatch(r"mbox:[^:]+:\d+", i) for i in ids), ids
    _, read = _open_read(_maildir(tmp_path))
    keys = {f.key for f, _ in read}
    assert "." in keys and ".&U9ZfFVFI-.&,yF5Pg-" in keys, keys
    assert all(re.fullmatch(r"maildir:[^:]+:\d+\.M\d+P1\.testhost", r.stable_id) for r in _records(read))


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
