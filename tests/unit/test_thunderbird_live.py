"""ThunderbirdSource on a profile in use or in bad shape: read-only proof, appends while reading,
broken mbox separators, missing or broken prefs.js, a newer Thunderbird, resuming after growth."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from migrator.domain.records import MessageRecord
from migrator.render.stores import render_stores
from migrator.sources.discovery import find_stores
from migrator.sources.thunderbird.reader import ThunderbirdSource
from tests.tbprofile import IMAP, LOCAL, POP_COM, Manifest, build_profiles, from_line, message, snapshot


@pytest.fixture
def man(tmp_path: Path) -> Manifest:
    return build_profiles(tmp_path / "home" / ".thunderbird")


def everything(src: ThunderbirdSource) -> list[MessageRecord]:
    return [r for f in src.folders() for r in src.messages(f)]


def test_reading_never_writes_to_the_profile(man: Manifest, tmp_path: Path) -> None:
    before = snapshot(man.base)
    time.sleep(0.01)
    for kwargs in ({}, {"account_prefix": True}, {"accounts": ["imap.example.net", "Blog feeds"]}):
        src = ThunderbirdSource(man.profile, **kwargs)  # type: ignore[arg-type]
        for f in src.folders():
            src.token(f)
            list(src.messages(f))
            src.resume_info(f)
        src.close()
    ThunderbirdSource(man.base / "profiles.ini")
    render_stores(find_stores(home=tmp_path / "home", env={}))
    assert snapshot(man.base) == before  # same files, same bytes, same mtimes, nothing new


def test_append_while_reading_stops_at_the_last_complete_message(man: Manifest) -> None:
    src = ThunderbirdSource(man.profile, accounts=[LOCAL])
    inbox = next(f for f in src.folders() if f.key == "Mail/Local Folders/Inbox")
    path = Path(inbox.origin)
    size = path.stat().st_size
    it = src.messages(inbox)
    first = next(it)  # the file is open now: its size is fixed for this read
    new = message(900, "Arrived during the run", status=0, date=man.messages[0].date)
    with path.open("ab") as fh:
        fh.write(from_line(man.messages[0].date) + new + b"\n")
    rest = list(it)
    assert new not in [r.raw for r in [first, *rest]]
    assert len([first, *rest]) == 4  # what was there at open, all of it
    assert src.resume_info(inbox)["end"] == size  # type: ignore[index]
    # the next run starts where this one ended and gets only the new message
    again = ThunderbirdSource(man.profile, accounts=[LOCAL])
    start = again.resume_offset(inbox, src.resume_info(inbox))  # type: ignore[arg-type]
    assert start == size
    assert [r.raw for r in again.messages(inbox, resume=start)] == [new]


def test_half_written_last_message_is_left_for_the_next_run(man: Manifest) -> None:
    src = ThunderbirdSource(man.profile, accounts=[LOCAL])
    inbox = next(f for f in src.folders() if f.key == "Mail/Local Folders/Inbox")
    path = Path(inbox.origin)
    new = message(901, "Being downloaded", status=0, date=man.messages[0].date)
    with path.open("ab") as fh:  # Thunderbird has written half of a new message
        fh.write(from_line(man.messages[0].date) + new[:60])
    half_at = path.stat().st_size - len(from_line(man.messages[0].date)) - 60
    it = src.messages(inbox)
    first = next(it)
    with path.open("ab") as fh:  # ... and finishes it while we read
        fh.write(new[60:] + b"\n")
    raws = [r.raw for r in [first, *it]]
    assert len(raws) == 4 and not any(b"Being downloaded" in r for r in raws)
    assert any("still being written" in w for w in src.warnings)
    assert src.resume_info(inbox)["end"] == half_at  # type: ignore[index]
    again = list(ThunderbirdSource(man.profile, accounts=[LOCAL]).messages(inbox))
    assert again[-1].raw == new


def test_broken_separators_report_the_garbage_and_read_the_rest(tmp_path: Path) -> None:
    man = build_profiles(tmp_path / "tb", broken=True)
    src = ThunderbirdSource(man.profile)
    broken = next(f for f in src.folders() if f.path == ("Broken",))
    recs = list(src.messages(broken))
    assert len(recs) == 2
    assert recs[0].error and "Broken" in recs[0].error and "bytes 0-" in recs[0].error
    assert recs[1].error is None and recs[1].raw == man.expected()[("Broken",)][0].raw


def test_file_with_no_separator_at_all(tmp_path: Path) -> None:
    d = tmp_path / "p" / "Mail" / LOCAL
    d.mkdir(parents=True)
    (d / "Inbox").write_bytes(b"Subject: not an mbox\n\nbody\n")
    (d / "Inbox.msf").write_bytes(b"")
    (d / "notes.txt").write_bytes(b"not mail")  # no .msf, no From line: not a folder
    src = ThunderbirdSource(tmp_path / "p")
    assert [f.path for f in src.folders()] == [("Inbox",)]
    (rec,) = src.messages(src.folders()[0])
    assert rec.error and str(d / "Inbox") in rec.error


@pytest.mark.parametrize("prefs", [None, "this is {not prefs.js\n", ""])
def test_missing_or_broken_prefs_falls_back_to_scanning(man: Manifest, prefs: str | None) -> None:
    if prefs is None:
        (man.profile / "prefs.js").unlink()
    else:
        (man.profile / "prefs.js").write_text(prefs, encoding="utf-8")
    src = ThunderbirdSource(man.profile)
    assert any("prefs.js" in w for w in src.warnings)
    dirs = {a.directory.name for a in src.accounts if a.directory}
    assert dirs == {LOCAL, "pop.example.jp", "pop.example.com", "pop.maildir.example"}  # not ImapMail, not Feeds
    got = {r.raw for r in everything(src) if r.skip_reason is None and r.error is None}
    assert got == {m.raw for ms in man.expected().values() for m in ms}


def test_newer_thunderbird_is_read_with_a_warning(man: Manifest) -> None:
    (man.profile / "compatibility.ini").write_text("[Compatibility]\nLastVersion=999.0_20990101/20990101\n",
                                                    encoding="utf-8")
    src = ThunderbirdSource(man.profile)
    assert any("compatibility.ini" in w and "999.0" in w for w in src.warnings)
    assert everything(src)


def test_missing_account_directory_is_not_fatal(man: Manifest) -> None:
    import shutil

    shutil.rmtree(man.profile / "Mail" / "pop.example.com")
    src = ThunderbirdSource(man.profile)
    assert POP_COM not in {a.name for a in src.accounts}
    assert everything(src)
    named = ThunderbirdSource(man.profile, accounts=[POP_COM])
    assert named.folders() == [] and any("missing" in w for w in named.warnings)


def test_tokens_change_when_thunderbird_changes_a_folder(man: Manifest) -> None:
    src = ThunderbirdSource(man.profile)
    folders = {f.key: f for f in src.folders()}
    mbox = folders["Mail/Local Folders/Inbox"]
    mdir = folders["Mail/pop.maildir.example/Inbox"]
    t_mbox, t_mdir = src.token(mbox), src.token(mdir)
    assert t_mbox and t_mdir and src.token(mbox) == t_mbox and src.token(mdir) == t_mdir
    # Thunderbird marks a maildir message read by rewriting its header in place
    f = sorted((Path(mdir.origin) / "cur").iterdir())[-1]
    st = f.stat()
    f.write_bytes(f.read_bytes().replace(b"X-Mozilla-Status: 0000", b"X-Mozilla-Status: 0001"))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert src.token(mdir) != t_mdir
    with Path(mbox.origin).open("ab") as fh:
        fh.write(b"\n")
    assert src.token(mbox) != t_mbox
    assert src.token(folders["Mail/Local Folders/取引先"]) == "tb-container"


def test_resume_refused_after_compaction(man: Manifest) -> None:
    src = ThunderbirdSource(man.profile, accounts=[LOCAL])
    inbox = next(f for f in src.folders() if f.key == "Mail/Local Folders/Inbox")
    list(src.messages(inbox))
    info = src.resume_info(inbox)
    path = Path(inbox.origin)
    data = path.read_bytes()
    cut = data.index(b"From - ", 10)
    path.write_bytes(data[cut:] + data)  # rewritten (compacted) and grown: offsets are meaningless now
    assert src.resume_offset(inbox, info) is None  # type: ignore[arg-type]


def test_imap_cache_listed_but_not_read_by_default(man: Manifest) -> None:
    src = ThunderbirdSource(man.profile)
    imap = next(a for a in src.all_accounts if a.name == IMAP)
    assert not imap.migrated_by_default and "IMAP" in imap.reason
    assert not any(r.raw in {m.raw for m in man.not_migrated} for r in everything(src))


def test_half_written_message_in_a_file_that_does_not_grow_while_reading(man: Manifest) -> None:
    path = man.profile / "Mail" / LOCAL / "Inbox"
    new = message(902, "Slow download", status=0, date=man.messages[0].date)
    with path.open("ab") as fh:  # a POP download in progress: no final blank line yet
        fh.write(from_line(man.messages[0].date) + new[:80])
    src = ThunderbirdSource(man.profile, accounts=[LOCAL])
    inbox = next(f for f in src.folders() if f.key == "Mail/Local Folders/Inbox")
    assert len(list(src.messages(inbox))) == 4
    assert any("still being written" in w for w in src.warnings)
    old = time.time() - 3600  # the same file long at rest: its last entry is what there is
    os.utime(path, (old, old))
    recs = list(ThunderbirdSource(man.profile, accounts=[LOCAL]).messages(inbox))
    assert len(recs) == 5 and recs[-1].raw == new[:80]
