"""ThunderbirdSource on a generated profile: folders, roles, names, flags, skips, dates, accounts."""

from __future__ import annotations

import json
import os
import time
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from migrator.domain.errors import SourceError
from migrator.domain.records import ROLE_INBOX, ROLE_TRASH, MessageRecord
from migrator.sources import detect_kind, open_source
from migrator.sources.base import Source
from migrator.sources.thunderbird.profile import mork_folder_name
from migrator.sources.thunderbird.reader import SKIP_EXPUNGED, ThunderbirdSource, detect
from tests.tbprofile import (
    IMAP,
    LOCAL,
    POP_COM,
    POP_JP,
    Manifest,
    build_profiles,
    mork,
)


@pytest.fixture
def man(tmp_path: Path) -> Manifest:
    return build_profiles(tmp_path / ".thunderbird")


def read_all(src: ThunderbirdSource) -> dict[tuple[str, ...], list[MessageRecord]]:
    out: dict[tuple[str, ...], list[MessageRecord]] = {}
    for f in src.folders():
        out.setdefault(f.path, []).extend(src.messages(f))
    return out


def live(records: list[MessageRecord]) -> list[MessageRecord]:
    return [r for r in records if r.skip_reason is None and r.error is None]


def test_is_a_source_and_detected(man: Manifest) -> None:
    src = ThunderbirdSource(man.profile)
    assert isinstance(src, Source)
    assert src.kind == "thunderbird" and src.root == man.profile
    assert detect(man.profile) and detect(man.base) and detect(man.base / "profiles.ini")
    assert not detect(man.profile / "Mail" / LOCAL / "Inbox")
    assert detect_kind(man.profile) == "thunderbird"
    assert isinstance(open_source(man.profile), ThunderbirdSource)


def test_every_live_message_once_with_bytes_flags_and_date(man: Manifest) -> None:
    got = read_all(ThunderbirdSource(man.profile))
    expected = man.expected()
    assert {p for p, recs in got.items() if live(recs)} == set(expected)
    for path, msgs in expected.items():
        recs = live(got[path])
        assert Counter(r.raw for r in recs) == Counter(m.raw for m in msgs), path
        by_raw = {m.raw: m for m in msgs}
        for r in recs:
            assert r.flags == by_raw[r.raw].flags, (path, r.locator)
            assert r.date == by_raw[r.raw].date, (path, r.locator)
            assert r.date.tzinfo is not None


def test_expunged_messages_are_yielded_as_skipped(man: Manifest) -> None:
    got = read_all(ThunderbirdSource(man.profile))
    skipped = [r for recs in got.values() for r in recs if r.skip_reason]
    assert sorted(r.raw for r in skipped) == sorted(m.raw for m in man.expunged if m.migrated)
    assert {r.skip_reason for r in skipped} == {SKIP_EXPUNGED}
    assert not [r for recs in got.values() for r in recs if r.error]


def test_folders_roles_and_tree(man: Manifest) -> None:
    folders = ThunderbirdSource(man.profile).folders()
    paths = [f.path for f in folders]
    migrated = {p for acct, ps in man.folders.items() if acct not in (IMAP, "Blog feeds") for p in ps}
    assert set(paths) == migrated | {("取引先",)}  # 取引先 is a container (only 取引先.sbd/ on disk)
    for i, f in enumerate(folders):  # parents before children
        if len(f.path) > 1:
            assert f.path[:-1] in paths[:i], f.path
    keys = [f.key for f in folders]
    assert len(keys) == len(set(keys))
    roles = {f.path: f.role for f in folders if f.role}
    assert roles == man.roles
    assert roles[("Archives",)] == "archive" and roles[("Templates",)] == "templates"
    assert roles[("Unsent Messages",)] == "outbox"
    # children never carry the parent's role (the mapper makes them follow it)
    assert all(f.role is None for f in folders if len(f.path) > 1)
    # several accounts' inboxes all merge into Inbox
    inboxes = [f for f in folders if f.role == ROLE_INBOX]
    assert len(inboxes) == 4 and {f.path for f in inboxes} == {("Inbox",)}
    assert not any(k.startswith(("ImapMail/", "Mail/Feeds")) for k in keys)


def test_non_mail_files_and_tmp_are_ignored(man: Manifest) -> None:
    src = ThunderbirdSource(man.profile)
    origins = {f.origin for f in src.folders()}
    for p in man.non_mail_files:
        assert str(p) not in origins
    assert not any(o.endswith(".msf") for o in origins)
    recs = [r for f in src.folders() for r in src.messages(f)]
    assert recs and not any(Path(r.locator).parent.name == "tmp" for r in recs)


def test_compaction_work_files_are_not_folders(man: Manifest) -> None:
    d = man.profile / "Mail" / LOCAL
    inbox = (d / "Inbox").read_bytes()
    for name in ("nstmp", "nstmp-1", "Inbox.compacting", "Inbox.msf.compact-backup"):
        (d / name).write_bytes(inbox)
    (d / "nstmp.msf").write_bytes(mork("nstmp"))
    (d / ".temp-compact").mkdir()
    (d / ".temp-compact" / "Inbox.original").write_bytes(inbox)
    keys = {f.key for f in ThunderbirdSource(man.profile).folders()}
    assert not any("nstmp" in k or "compact" in k for k in keys)


def test_japanese_and_hashed_names_decoded(man: Manifest) -> None:
    by_path = {f.path: f for f in ThunderbirdSource(man.profile).folders()}
    assert ("取引先", "Ａ社") in by_path
    assert by_path[("取引先", "Ａ社")].key == "Mail/Local Folders/取引先.sbd/Ａ社"
    assert ("Re: 見積",) in by_path  # file name "Re<hash>", name from folderCache.json
    assert ("請求書|2024",) in by_path  # file name "<hash>", name only in the .msf
    assert Path(by_path[("Re: 見積",)].origin).name.startswith("Re")


def test_stable_ids_are_deterministic_and_unique(man: Manifest) -> None:
    ids1 = [r.stable_id for recs in read_all(ThunderbirdSource(man.profile)).values() for r in recs]
    ids2 = [r.stable_id for recs in read_all(ThunderbirdSource(man.profile)).values() for r in recs]
    assert ids1 == ids2 and len(ids1) == len(set(ids1))
    assert "tb:Mail/Local Folders/Inbox:0" in ids1
    assert any(i.startswith("tb:Mail/pop.maildir.example/Inbox:") and i.endswith(".eml") for i in ids1)


def test_windows_directory_pref_resolves_inside_the_profile(man: Manifest) -> None:
    src = ThunderbirdSource(man.profile)
    acct = next(a for a in src.accounts if a.name == POP_COM)
    assert acct.directory == man.profile / "Mail" / "pop.example.com"
    assert any(f.key.startswith("Mail/pop.example.com/") for f in src.folders())


def test_account_prefix_keeps_accounts_apart(man: Manifest) -> None:
    src = ThunderbirdSource(man.profile, account_prefix=True)
    folders = src.folders()
    by_path = {f.path: f for f in folders}
    assert by_path[("Inbox",)].role == ROLE_INBOX  # Local Folders stay on top with their roles
    assert by_path[("Trash",)].role == ROLE_TRASH
    assert by_path[(POP_JP,)].key == "Mail/pop.example.jp"  # the account's own top folder
    assert by_path[(POP_JP, "Inbox")].role is None
    assert by_path[(POP_COM, "Junk")].role is None
    got = read_all(src)
    expected = man.expected(account_prefix=True)
    assert {p for p, recs in got.items() if live(recs)} == set(expected)
    for path, msgs in expected.items():
        assert Counter(r.raw for r in live(got[path])) == Counter(m.raw for m in msgs)


def test_account_selection(man: Manifest) -> None:
    src = ThunderbirdSource(man.profile, accounts=["work@example.com"])
    assert {a.name for a in src.accounts} == {POP_COM}
    assert all(f.key.startswith("Mail/pop.example.com/") for f in src.folders())
    # an IMAP account's offline cache only when named
    imap = ThunderbirdSource(man.profile, accounts=["imap.example.net"])
    paths = {f.path for f in imap.folders()}
    assert paths == {("Inbox",), ("テスト",)}  # INBOX → Inbox, &MMYwuTDI- decoded
    recs = [r for f in imap.folders() for r in imap.messages(f)]
    assert sorted(r.raw for r in recs) == sorted(m.raw for m in man.not_migrated if m.account == IMAP)
    both = ThunderbirdSource(man.profile, accounts=["Local Folders", "taro@example.jp"])
    assert [a.name for a in both.accounts] == [POP_JP, LOCAL]  # profile order
    with pytest.raises(SourceError) as exc:
        ThunderbirdSource(man.profile, accounts=["nobody@nowhere"])
    assert "nobody@nowhere" in exc.value.message and POP_JP in exc.value.message


def test_profiles_ini_picks_the_install_default(man: Manifest) -> None:
    assert ThunderbirdSource(man.base / "profiles.ini").root == man.profile
    assert ThunderbirdSource(man.base).root == man.profile
    assert isinstance(open_source(man.base / "profiles.ini"), ThunderbirdSource)


def test_profiles_ini_with_no_clear_default_lists_profiles(man: Manifest) -> None:
    (man.base / "installs.ini").unlink()
    (man.base / "profiles.ini").write_text(
        "[Profile0]\nName=a\nIsRelative=1\nPath=Profiles/abcd1234.default-release\n\n"
        "[Profile1]\nName=b\nIsRelative=1\nPath=Profiles/efgh5678.other\n", encoding="utf-8")
    with pytest.raises(SourceError) as exc:
        ThunderbirdSource(man.base / "profiles.ini")
    assert "abcd1234.default-release" in exc.value.message and "efgh5678.other" in exc.value.message
    assert "profile directory" in exc.value.hint


def test_only_imap_accounts_is_a_clear_error(tmp_path: Path) -> None:
    prof = tmp_path / "p"
    (prof / "ImapMail" / "imap.x").mkdir(parents=True)
    (prof / "prefs.js").write_text(
        'user_pref("mail.accountmanager.accounts", "account1");\n'
        'user_pref("mail.account.account1.server", "server1");\n'
        'user_pref("mail.server.server1.type", "imap");\n'
        'user_pref("mail.server.server1.hostname", "imap.x");\n', encoding="utf-8")
    with pytest.raises(SourceError) as exc:
        ThunderbirdSource(prof)
    assert "IMAP" in exc.value.message and "--account" in exc.value.hint


def test_folder_flags_from_folder_cache_set_roles(man: Manifest) -> None:
    d = man.profile / "Mail" / LOCAL
    (d / "Papierkorb").write_bytes(b"")
    (d / "Papierkorb.msf").write_bytes(mork("Papierkorb"))
    cache = json.loads((man.profile / "folderCache.json").read_text(encoding="utf-8"))
    # a profile moved from Windows: keys are someone else's absolute paths
    cache["C:\\Users\\x\\Thunderbird\\Profiles\\p\\Mail\\Local Folders\\Papierkorb.msf"] = {"flags": 0x104}
    (man.profile / "folderCache.json").write_text(json.dumps(cache), encoding="utf-8")
    roles = {f.path: f.role for f in ThunderbirdSource(man.profile).folders()}
    assert roles[("Papierkorb",)] == ROLE_TRASH


def test_mork_name_literal_and_atom(tmp_path: Path) -> None:
    for as_atom in (False, True):
        p = tmp_path / f"x{as_atom}.msf"
        p.write_bytes(mork("請求書 (2024) $", as_atom=as_atom))
        assert mork_folder_name(p) == "請求書 (2024) $"
    (tmp_path / "junk.msf").write_bytes(b"\x00\x01 not mork")
    assert mork_folder_name(tmp_path / "junk.msf") is None
    assert mork_folder_name(tmp_path / "missing.msf") is None


def test_undecodable_and_decomposed_file_names(tmp_path: Path) -> None:
    prof = tmp_path / "p"
    d = prof / "Mail" / LOCAL
    d.mkdir(parents=True)
    data = b"From - Mon Jan  1 10:00:00 2024\nSubject: x\n\nbody\n"
    cp932 = os.fsdecode("取引先".encode("cp932"))
    try:
        (d / cp932).write_bytes(data)
    except (OSError, UnicodeEncodeError):
        pytest.skip("file system refuses non-UTF-8 names")
    (d / unicodedata.normalize("NFD", "がいぶ")).write_bytes(data)
    paths = {f.path for f in ThunderbirdSource(prof).folders()}
    assert paths == {("取引先",), ("がいぶ",)}


def test_thunderbird_from_line_without_blank_line_still_separates(tmp_path: Path) -> None:
    prof = tmp_path / "p"
    d = prof / "Mail" / LOCAL
    d.mkdir(parents=True)
    (d / "Inbox").write_bytes(
        b"From - Mon Jan  1 10:00:00 2024\nX-Mozilla-Status: 0001\nSubject: one\n\nno blank line after me"
        b"\nFrom - Tue Jan  2 10:00:00 2024\nX-Mozilla-Status: 0000\nSubject: two\n\nbody\n"
        b"From someone else here\n\nFrom - \n")
    (d / "Inbox.msf").write_bytes(b"")
    os.utime(d / "Inbox", (time.time() - 3600, time.time() - 3600))  # at rest, no final blank line
    src = ThunderbirdSource(prof)
    recs = list(src.messages(src.folders()[0]))
    assert [r.raw for r in recs] == [
        b"X-Mozilla-Status: 0001\nSubject: one\n\nno blank line after me\n",
        b"X-Mozilla-Status: 0000\nSubject: two\n\nbody\nFrom someone else here\n\nFrom - \n",
    ]
    assert recs[0].flags == frozenset({"\\Seen"}) and recs[1].flags == frozenset()


def test_status2_and_partial(tmp_path: Path) -> None:
    prof = tmp_path / "p"
    d = prof / "Mail" / LOCAL
    d.mkdir(parents=True)
    (d / "Inbox").write_bytes(
        b"From - Mon Jan  1 10:00:00 2024\nX-Mozilla-Status: 0401\nX-Mozilla-Status2: 04800000\n"
        b"X-Mozilla-Keys: $label3 NonJunk                    \nSubject: a\n\nx\n\n"
        b"From - Mon Jan  1 11:00:00 2024\nX-Mozilla-Status: 0001\nX-Mozilla-Status2: 00200000\nSubject: b\n\ny\n\n")
    src = ThunderbirdSource(prof)
    a, b = src.messages(src.folders()[0])
    assert a.flags == frozenset({"\\Seen", "$label2", "$label3", "NonJunk", "$MDNSent"})
    assert "partial" in a.extra["warning"] and a.skip_reason is None
    assert b.skip_reason and "IMAP" in b.skip_reason
