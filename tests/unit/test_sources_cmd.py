"""`migrate sources`: PATHs described through the Source contract (flows/inventory.py), and the
stores found in the usual places of Windows, macOS and Linux (sources/places.py) in fake homes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.cli import cli
from migrator.domain.models import Discovery, FolderInventory, FoundStore, Inventory, StoreInventory
from migrator.flows.inventory import discover, inventory, run_command
from migrator.render.stores import render_discovery, render_inventory
from migrator.render.width import text_width
from migrator.sources.places import find_places
from tests.support.corpus import sample_items, write_maildirpp, write_mbox, write_mbox_tree
from tests.tbprofile import build_profiles

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SHARED_PST = REPO.parent / "shared" / "fixtures" / "pst"
PST = SHARED_PST / "pstsdk-sample1.pst"
USAGE = REPO / "docs" / "usage.md"


def _sources(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["sources", *args], catch_exceptions=False)
    return r.exit_code, r.output


def _fits(text: str, width: int = 80) -> None:
    for line in text.splitlines():
        if line.startswith("  ") and "  " in line.strip():  # table lines (prose may wrap in the terminal)
            assert text_width(line) <= width, line


# ---------------------------------------------------------------- PATHs


@pytest.mark.parametrize("name, kind, messages", [("mbox", "mbox", 9), ("Maildir", "maildir", 9)])
def test_examples_described(name: str, kind: str, messages: int) -> None:
    inv = inventory([EXAMPLES / name])
    (store,) = inv.stores
    assert store.kind == kind and store.messages == messages and store.skipped == 1
    roles = {f.folder: f.role for f in store.folders}
    assert roles.get("Inbox", roles.get("INBOX")) == "inbox" and roles["Sent"] == "sent"
    assert {f.target for f in store.folders} >= {"INBOX", "Sent", "取引先/Ａ社"}
    assert store.oldest_year == store.newest_year and store.oldest_year is not None
    text = render_inventory(inv)
    assert f"total: 5 folders, {messages} messages" in text and "取引先/Ａ社" in text
    assert "migrate run" in text and "--target" in text
    _fits(text)


def test_tree_of_mbox_and_maildir_and_years(tmp_path: Path) -> None:
    items = sample_items()
    write_mbox_tree(tmp_path / "tree" / "old", items)
    write_maildirpp(tmp_path / "tree" / "Maildir", items)
    inv = inventory([tmp_path / "tree"])
    (store,) = inv.stores
    assert store.kind == "mbox" and len(store.folders) == 2 * len(items)
    assert store.messages == 2 * sum(1 for v in items.values() for it in v if not it.deleted)
    assert sum(v[0] for v in store.by_year.values()) == store.messages
    assert store.oldest_year == min(int(y) for y in store.by_year)


def test_thunderbird_profile_and_profiles_ini(tmp_path: Path) -> None:
    man = build_profiles(tmp_path / "tb")
    for given in (man.profile, man.base, man.base / "profiles.ini"):
        (store,) = inventory([given]).stores
        assert store.kind == "thunderbird" and store.root == str(man.profile)
        assert store.messages == sum(len(v) for v in man.expected().values())


@pytest.mark.skipif(not PST.is_file(), reason=f"PST fixture {PST.name} not found in {SHARED_PST}")
def test_pst_fixture() -> None:
    (store,) = inventory([PST]).stores
    assert store.kind == "pst" and store.messages == 1 and store.oldest_year == 2010
    assert {f.role for f in store.folders} >= {"trash"}


def test_no_count_uses_the_readers_quick_count() -> None:
    (store,) = inventory([EXAMPLES / "Maildir"], count=False).stores
    assert not store.counted and store.estimated and all(f.estimated for f in store.folders)
    assert store.messages == 10 and store.oldest_year is None  # every entry, the deleted one too; no dates
    text = render_inventory(Inventory(stores=[store], counted=False))
    assert "about 10 messages" in text and "~6" in text
    store.folders[0].messages, store.messages, store.estimated = None, None, False  # a reader without one
    assert "not counted" in render_inventory(Inventory(stores=[store], counted=False))


def test_not_a_store_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    from migrator.cli import main

    assert main(["sources", str(tmp_path / "notes.txt")]) == 2
    assert main(["sources", str(tmp_path / "missing")]) == 2


def test_json_has_the_documented_schema(tmp_path: Path) -> None:
    code, out = _sources(str(EXAMPLES / "mbox"), str(EXAMPLES / "Maildir"), "--json", "-q")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == set(Inventory.model_fields)
    assert doc["messages"] == 18 and len(doc["stores"]) == 2
    assert set(doc["stores"][0]) == set(StoreInventory.model_fields)
    assert set(doc["stores"][0]["folders"][0]) == set(FolderInventory.model_fields)
    Inventory.model_validate(doc)
    documented = USAGE.read_text(encoding="utf-8")
    for name in (set(Inventory.model_fields) | set(StoreInventory.model_fields) | set(FolderInventory.model_fields)
                 | set(Discovery.model_fields) | set(FoundStore.model_fields)):
        assert re.search(rf"`{name}`", documented), f"{name} is not documented in docs/usage.md"


def test_command_line_quotes_paths() -> None:
    assert run_command("/mail/Inbox") == "migrate run /mail/Inbox --target imaps://USER@HOST"
    assert run_command("C:\\Users\\taro\\Documents\\Outlook Files\\a.pst").startswith('migrate run "C:\\')


# ---------------------------------------------------------------- discovery in fake homes


def _becky(data: Path, mailbox: str = "1a2b3c4d.mb") -> Path:
    mb = data / mailbox
    (mb / "!!!!Inbox").mkdir(parents=True)
    (mb / "Mailbox.ini").write_bytes("[Account]\r\nName=仕事\r\n".encode("cp932"))
    (mb / "!!!!Inbox" / "12345678.bmf").write_bytes(b"Subject: x\r\n\r\nbody\r\n.\r\n")
    (data / "Folder.lst").write_bytes(mailbox.encode() + b"\r\n")
    return data


def _mbox_file(path: Path) -> Path:
    items = sample_items()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_mbox(path, items[("Inbox",)])
    return path


def _windows_home(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, Path]]:
    home = tmp_path / "Users" / "taro"
    local, roaming, drive = home / "AppData" / "Local", home / "AppData" / "Roaming", tmp_path / "C"
    env = {"LOCALAPPDATA": str(local), "APPDATA": str(roaming), "SystemDrive": str(drive)}
    where = {
        "pst": home / "Documents" / "Outlook Files" / "taro@example.jp.pst",
        "old-pst": home / "Documents" / "My Outlook Files" / "Outlook.pst",
        "ost": local / "Microsoft" / "Outlook" / "taro@example.com.ost",
        "becky": _becky(roaming / "RimArts" / "B2"),
        "becky-xp": _becky(drive / "Becky!" / "taro", "5e6f7a8b.mb"),
        "windows-live-mail": local / "Microsoft" / "Windows Live Mail",
        "windows-mail": local / "Microsoft" / "Windows Mail",
        "dbx": local / "Identities" / "{1234-ABCD}" / "Microsoft" / "Outlook Express",
    }
    for key in ("pst", "old-pst", "ost"):
        where[key].parent.mkdir(parents=True, exist_ok=True)
        if PST.is_file() and key == "pst":
            shutil.copyfile(PST, where[key])
        else:
            where[key].write_bytes(b"!BDN" + b"\0" * 508)  # a header only: found, not readable
    for key, folder in (("windows-live-mail", "taro (pop.example.jp)/受信トレイ"), ("windows-mail", "Local Folders/Inbox")):
        (where[key] / folder).mkdir(parents=True)
        (where[key] / folder / "00294823-00000147.eml").write_bytes(b"Subject: hi\r\n\r\nbody\r\n")
    where["dbx"].mkdir(parents=True)
    (where["dbx"] / "Inbox.dbx").write_bytes(b"\xcf\xad\x12\xfe" + b"\0" * 60)
    build_profiles(roaming / "Thunderbird")
    return home, env, where


def test_windows_usual_places(tmp_path: Path) -> None:
    home, env, where = _windows_home(tmp_path)
    found, looked = find_places(home, env, "windows")
    by_path = {f.path: f.kind for f in found}
    assert by_path == {where["pst"]: "pst", where["old-pst"]: "pst", where["ost"]: "ost", where["becky"]: "becky",
                       where["becky-xp"]: "becky", where["windows-live-mail"]: "windows-live-mail",
                       where["windows-mail"]: "windows-mail", where["dbx"]: "dbx"}
    labels = [p.label for p in looked]
    assert "Documents\\Outlook Files" in labels and "%LOCALAPPDATA%\\Microsoft\\Outlook" in labels
    result = discover(home, env, "windows", count=True)
    kinds = [s.kind for s in result.stores]
    assert kinds[:3] == ["pst", "pst", "ost"] and "thunderbird" in kinds and "becky" in kinds
    pst = next(s for s in result.stores if s.path == str(where["pst"]))
    if PST.is_file():
        assert pst.readable and pst.messages == 1
    broken = next(s for s in result.stores if s.path == str(where["old-pst"]))
    assert not broken.readable and broken.messages is None and broken.bytes == 512
    assert any("cannot open" in n for n in broken.notes)
    tb = next(s for s in result.stores if s.kind == "thunderbird" and s.default)
    assert tb.messages and tb.accounts and any(not a.migrated for a in tb.accounts)
    for s in result.stores:
        assert s.command.startswith("migrate run ") and "--target" in s.command
    text = render_discovery(result)
    assert "Outlook data file (.pst)" in text and "Becky! data folder" in text and "Windows Live Mail" in text
    assert text.count("to migrate it: migrate run") == len(result.stores)
    _fits(text)
    assert find_places(home, env, "linux")[0] == [] and find_places(home, env, "macos")[0] == []


def test_windows_without_env_uses_the_home(tmp_path: Path) -> None:
    home = tmp_path / "taro"
    ost = home / "AppData" / "Local" / "Microsoft" / "Outlook" / "a.ost"
    ost.parent.mkdir(parents=True)
    ost.write_bytes(b"!BDN")
    becky = _becky(home / "Documents" / "Becky")
    found, _ = find_places(home, {}, "windows")
    assert [(f.kind, f.path) for f in found] == [("ost", ost), ("becky", becky)]
    assert "server" in found[0].notes[0]


def test_macos_usual_places(tmp_path: Path) -> None:
    home = tmp_path / "Users" / "hanako"
    v10 = home / "Library" / "Mail" / "V10"
    msgs = v10 / "4F1C-UUID" / "INBOX.mbox" / "9AB-UUID" / "Data" / "Messages"
    msgs.mkdir(parents=True)
    (msgs / "1.emlx").write_bytes(b"20\nSubject: hi\n\nbody\n<?xml version=\"1.0\"?><plist/>")
    (home / "Library" / "Mail" / "V2").mkdir()  # an old, empty version folder: not a store
    build_profiles(home / "Library" / "Thunderbird")
    mbox = _mbox_file(home / "Mail" / "Inbox")
    result = discover(home, {"USER": "hanako"}, "macos", root=tmp_path / "root")
    assert [(s.kind, s.path) for s in result.stores if s.kind != "thunderbird"] == [
        ("apple-mail", str(v10)), ("mbox", str(mbox.parent))]
    assert sum(s.kind == "thunderbird" for s in result.stores) == 2
    assert "~/Library/Mail" in result.looked_in
    box = next(s for s in result.stores if s.kind == "mbox")
    assert box.readable and box.messages == sum(1 for it in sample_items()[("Inbox",)] if not it.deleted)


def test_linux_usual_places(tmp_path: Path) -> None:
    home, root = tmp_path / "home" / "jiro", tmp_path / "root"
    write_maildirpp(home / "Maildir", sample_items())
    spool = _mbox_file(root / "var" / "mail" / "jiro")
    (root / "var" / "spool" / "mail").mkdir(parents=True)
    (root / "var" / "spool" / "mail" / "jiro").write_bytes(b"")  # empty spool: nothing to list
    evo = home / ".local" / "share" / "evolution" / "mail" / "local"
    write_maildirpp(evo, {("Inbox",): sample_items()[("Inbox",)]})
    man = build_profiles(home / ".thunderbird")
    result = discover(home, {"USER": "jiro"}, "linux", root=root)
    got = [(s.kind, s.path) for s in result.stores]
    assert got == [("thunderbird", str(man.profile)), ("thunderbird", str(man.other_profile)),
                   ("maildir", str(home / "Maildir")), ("mbox", str(spool)), ("evolution", str(evo))]
    assert all(s.readable and s.messages for s in result.stores)
    assert "/var/mail/jiro" in result.looked_in and "~/Maildir" in result.looked_in
    quick = discover(home, {"USER": "jiro"}, "linux", root=root, count=False)
    assert all(s.messages is None for s in quick.stores if s.kind == "thunderbird")
    assert all(s.messages and s.bytes for s in quick.stores if s.kind != "thunderbird")  # the readers' quick count


def test_mail_env_and_nothing_found(tmp_path: Path) -> None:
    mbox = _mbox_file(tmp_path / "spool" / "me")
    result = discover(tmp_path / "home", {"MAIL": str(mbox), "USER": "me"}, "linux", root=tmp_path / "r")
    assert [(s.kind, s.path) for s in result.stores] == [("mbox", str(mbox))]
    empty = discover(tmp_path / "nobody", {"USER": "nobody"}, "windows", root=tmp_path / "r")
    assert empty.stores == [] and empty.platform == "windows"
    text = render_discovery(empty)
    assert "No mail store found" in text and "Documents\\Outlook Files" in text and "migrate sources PATH" in text


def test_a_store_reached_twice_is_listed_once(tmp_path: Path) -> None:
    home = tmp_path / "h"
    _mbox_file(home / "Mail" / "Inbox")
    (home / "mail").symlink_to(home / "Mail")
    found, _ = find_places(home, {"USER": "x"}, "linux", tmp_path / "r")
    assert len(found) == 1


def test_discovery_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "h"
    _mbox_file(home / "Mail" / "Inbox")
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    monkeypatch.setenv("USER", "x")
    monkeypatch.delenv("MAIL", raising=False)
    code, out = _sources("--json", "-q")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == set(Discovery.model_fields)
    assert any(s["path"] == str(home / "Mail") and s["messages"] for s in doc["stores"])
    assert all(set(s) == set(FoundStore.model_fields) for s in doc["stores"])


def test_japanese_listing_and_status_words() -> None:
    from migrator.domain.i18n import using_language

    with using_language("ja"):
        text = render_inventory(inventory([EXAMPLES / "Maildir"]))
        found = render_discovery(Discovery(platform="windows", home="C:\\Users\\taro", looked_in=["Documents"]))
    assert "フォルダー" in text and "受信トレイ" in text and "移行するには: migrate run" in text
    _fits(text)
    assert "見つかりませんでした" in found and "migrate sources PATH" in found
