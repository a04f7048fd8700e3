"""find_stores/render_stores in fake homes laid out as on Linux (plain, Flatpak, Snap), macOS, Windows."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.domain.errors import SourceError
from migrator.render.stores import render_stores
from migrator.sources.discovery import candidate_dirs, find_stores
from migrator.sources.thunderbird.profile import parse_prefs, pick_profile, read_profiles_ini
from tests.tbprofile import IMAP, LOCAL, POP_COM, POP_JP, POP_MAILDIR, RSS, Manifest, build_profiles

LAYOUTS = {
    "linux": (".thunderbird", {}),
    "flatpak": (".var/app/org.mozilla.Thunderbird/.thunderbird", {}),
    "snap": ("snap/thunderbird/common/.thunderbird", {}),
    "macos": ("Library/Thunderbird", {}),
    "windows": ("AppData/Roaming/Thunderbird", {"APPDATA": "{home}/AppData/Roaming"}),
    "windows-no-env": ("AppData/Roaming/Thunderbird", {}),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_finds_profiles_in_each_standard_place(tmp_path: Path, layout: str) -> None:
    rel, env = LAYOUTS[layout]
    home = tmp_path / "home"
    man = build_profiles(home / rel)
    env = {k: v.format(home=home) for k, v in env.items()}
    stores = find_stores(home=home, env=env)
    assert [s.path for s in stores] == [man.profile, man.other_profile]
    main, other = stores
    assert main.default and not other.default  # installs.ini wins over Default=1
    assert main.name == "default-release" and other.name == "other"
    assert main.profiles_ini == man.base / "profiles.ini"


def test_accounts_counts_and_reasons(tmp_path: Path) -> None:
    home = tmp_path / "home"
    man = build_profiles(home / ".thunderbird")
    (main, _other) = find_stores(home=home, env={})
    accts = {a.name: a for a in main.accounts}
    assert list(accts) == [POP_JP, POP_COM, POP_MAILDIR, IMAP, RSS, LOCAL]  # prefs.js order
    assert {n for n, a in accts.items() if a.migrated_by_default} == {POP_JP, POP_COM, POP_MAILDIR, LOCAL}
    assert accts[IMAP].type == "imap" and "IMAP" in accts[IMAP].reason and "--account" in accts[IMAP].reason
    assert accts[RSS].type == "rss" and not accts[RSS].migrated_by_default
    assert accts[POP_JP].host == "pop.example.jp" and accts[POP_JP].user == "taro"
    assert accts[POP_MAILDIR].store == "maildir" and accts[LOCAL].store == "mbox"
    assert accts[LOCAL].directory == man.profile / "Mail" / LOCAL
    for name, a in accts.items():
        msgs = [m for m in man.messages if m.account == name]
        assert a.messages == sum(m.live for m in msgs), name
        assert a.deleted == sum(not m.live for m in msgs), name
        assert a.bytes == sum(len(m.raw) for m in msgs if m.live), name
    assert main.messages == sum(len(v) for v in man.expected().values())
    assert main.bytes == sum(len(m.raw) for v in man.expected().values() for m in v)


def test_count_false_is_a_quick_listing(tmp_path: Path) -> None:
    build_profiles(tmp_path / ".thunderbird")
    (main, _) = find_stores(home=tmp_path, env={}, count=False)
    assert main.accounts and all(a.messages == 0 and a.bytes == 0 for a in main.accounts)


def test_render_lists_profiles_accounts_and_imap_note(tmp_path: Path) -> None:
    man = build_profiles(tmp_path / ".thunderbird")
    text = render_stores(find_stores(home=tmp_path, env={}))
    assert "Thunderbird profile 'default-release' (default)" in text
    assert str(man.profile) in text and "'other'" in text
    for name in (POP_JP, POP_COM, POP_MAILDIR, IMAP, LOCAL):
        assert name in text
    imap_line = next(line for line in text.splitlines() if IMAP in line)
    assert "no: IMAP" in imap_line and "still on imap.example.net" in imap_line
    local_line = next(line for line in text.splitlines() if line.strip().startswith(LOCAL))
    assert "yes" in local_line and "(+2 deleted)" in local_line
    assert "migrate run" in text


def test_render_nothing_found(tmp_path: Path) -> None:
    assert find_stores(home=tmp_path, env={}) == []
    text = render_stores([])
    assert "No Thunderbird profile found" in text and "migrate sources PATH" in text


def test_same_profile_in_two_places_listed_once(tmp_path: Path) -> None:
    man = build_profiles(tmp_path / ".thunderbird")
    (tmp_path / "Library").mkdir()
    (tmp_path / "Library" / "Thunderbird").symlink_to(man.base)
    assert len(find_stores(home=tmp_path, env={}, count=False)) == 2


def test_missing_profile_directory_and_notes(tmp_path: Path) -> None:
    man = build_profiles(tmp_path / ".thunderbird")
    with (man.base / "profiles.ini").open("a", encoding="utf-8") as fh:
        fh.write("\n[Profile2]\nName=gone\nIsRelative=0\nPath=/nonexistent/zzz.gone\n")
    (man.profile / "compatibility.ini").write_text("[Compatibility]\nLastVersion=999.1_1/1\n", encoding="utf-8")
    stores = {s.name: s for s in find_stores(home=tmp_path, env={}, count=False)}
    assert not stores["gone"].exists and "does not exist" in stores["gone"].notes[0]
    assert any("999.1" in n for n in stores["default-release"].notes)
    assert "note:" in render_stores(list(stores.values()))


def test_profiles_ini_parsing(tmp_path: Path) -> None:
    ini = tmp_path / "profiles.ini"
    ini.write_text("[General]\nVersion=2\n\n[Profile0]\nName=win\nIsRelative=1\nPath=Profiles\\abc.default\n"
                   "Default=1\n\n[Profile1]\nName=abs\nIsRelative=0\nPath=/srv/tb/p\n", encoding="utf-8")
    (main, absolute) = read_profiles_ini(ini)
    assert main.path == tmp_path / "Profiles" / "abc.default" and main.default and not main.install_default
    assert absolute.path == Path("/srv/tb/p") and not absolute.default
    (tmp_path / "Profiles" / "abc.default").mkdir(parents=True)
    assert pick_profile(ini) == tmp_path / "Profiles" / "abc.default"  # the only one that exists


def test_pick_profile_ambiguous(tmp_path: Path) -> None:
    for n in ("a", "b"):
        (tmp_path / n).mkdir()
    ini = tmp_path / "profiles.ini"
    ini.write_text("[Profile0]\nName=a\nPath=a\n\n[Profile1]\nName=b\nPath=b\n", encoding="utf-8")
    with pytest.raises(SourceError) as exc:
        pick_profile(ini)
    assert "a:" in exc.value.message and "b:" in exc.value.message


def test_parse_prefs_values_and_escapes() -> None:
    prefs = parse_prefs(
        '# comment\nuser_pref("a.b", "C:\\\\Users\\\\taro \\"x\\"");\nuser_pref("n", 42);\n'
        'user_pref("t", true);\nuser_pref("u", "\\u65e5\\u672c");\nnot a pref\nuser_pref("broken", );\n')
    assert prefs == {"a.b": 'C:\\Users\\taro "x"', "n": 42, "t": True, "u": "日本"}


def test_candidate_dirs_cover_all_platforms(tmp_path: Path) -> None:
    dirs = candidate_dirs(tmp_path, {"APPDATA": "/w/AppData/Roaming"})
    assert tmp_path / ".thunderbird" in dirs
    assert tmp_path / ".var/app/org.mozilla.Thunderbird/.thunderbird" in dirs
    assert tmp_path / "snap/thunderbird/common/.thunderbird" in dirs
    assert tmp_path / "Library/Thunderbird" in dirs
    assert Path("/w/AppData/Roaming/Thunderbird") in dirs


def test_account_matching(tmp_path: Path) -> None:
    man: Manifest = build_profiles(tmp_path / ".thunderbird")
    (main, _) = find_stores(home=tmp_path, env={}, count=False)
    jp = next(a for a in main.accounts if a.name == POP_JP)
    for name in ("taro@example.jp", "TARO@example.jp", "pop.example.jp", "account2", "server2", "taro"):
        assert jp.matches(name), name
    assert not jp.matches("example.jp")
    assert man.profile.is_dir()


def test_describe_path_for_a_profile_or_profiles_ini(tmp_path: Path) -> None:
    from migrator.sources.discovery import describe_path

    man = build_profiles(tmp_path / "tb")
    (one,) = describe_path(man.profile)
    assert one.path == man.profile and one.messages == sum(len(v) for v in man.expected().values())
    assert [s.path for s in describe_path(man.base / "profiles.ini", count=False)] == [man.profile, man.other_profile]
    assert [s.path for s in describe_path(man.base, count=False)] == [man.profile, man.other_profile]
    with pytest.raises(SourceError):
        describe_path(tmp_path)
