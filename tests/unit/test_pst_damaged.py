"""Damaged PST structure and .ost files: PstSource on copies of the real fixtures, damaged here.

Each test damages one structure of a copy (tests/support/pst_corrupt.py finds it through the
file's node and block B-trees): a folder's contents table, one item's data, a list of sub-folders,
a folder's own properties. Every other folder must read exactly as from the intact file, and
what cannot be read must come back as records with `error` set (never an exception), counted
against the folder's PR_CONTENT_COUNT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from migrator.domain.records import MessageRecord
from migrator.sources.pst.damage import FolderCount, guard, is_ost
from migrator.sources.pst.reader import PstSource, detect
from tests.support.pst_corrupt import contents_table, damage_descriptor, damage_node, hierarchy_table, make_ost

pytestmark = pytest.mark.pst

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pst"
# gopst-support.pst: Drafts (nid 33058) holds 6 mails, Sent Messages (33346) 11; Recoverable Items
# (33410) has three sub-folders. aleph-testPST.pst keeps 6 mails at the top of the store (32802).
SUPPORT, ALEPH = "gopst-support.pst", "aleph-testPST.pst"
DRAFTS, SENT, RECOVERABLE, TOP = 33058, 33346, 33410, 32802


def fixture(name: str) -> Path:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"PST fixture {name} not found in {FIXTURES} (see NOTICE.md there)")
    return path


def read(path: Path) -> tuple[dict[str, list[MessageRecord]], list[str]]:
    """Records by folder path, and the source's warnings; never raises for damage."""
    with PstSource(path) as src:
        out = {f.display: list(src.messages(f)) for f in src.folders()}
        return out, src.warnings


def mails(records: list[MessageRecord]) -> list[bytes]:
    return [r.raw for r in records if not r.error and not r.skip_reason]


def errors(records: list[MessageRecord]) -> list[MessageRecord]:
    return [r for r in records if r.error]


def item_nid(path: Path, folder_nid: int, index: int) -> int:
    import pypff

    f = pypff.file()
    f.open(str(path))
    try:
        pending = [f.root_folder]
        while pending:
            folder = pending.pop()
            if folder.identifier == folder_nid:
                return int(folder.get_sub_message(index).identifier)
            pending += [folder.get_sub_folder(i) for i in range(folder.number_of_sub_folders)]
    finally:
        f.close()
    raise LookupError(folder_nid)


def test_damaged_contents_table_other_folders_read_exactly(tmp_path: Path) -> None:
    src = fixture(SUPPORT)
    intact, _ = read(src)
    damage_node(src, tmp_path / "d.pst", contents_table(DRAFTS))
    got, warnings = read(tmp_path / "d.pst")
    assert set(got) == set(intact)  # every folder is still listed
    for name in intact:
        if name != "Drafts":
            assert mails(got[name]) == mails(intact[name]) and not errors(got[name]), name
    bad = errors(got["Drafts"])
    assert len(bad) == len(mails(intact["Drafts"])) == 6 and not mails(got["Drafts"])
    assert [r.locator for r in bad] == [f"Drafts, item #{i}" for i in range(1, 7)]
    assert all("contents table" in (r.error or "") and "unsupported table signature" in (r.error or "") for r in bad)
    assert len({r.stable_id for r in bad}) == 6
    assert any("folder 'Drafts' is damaged: 6 of its 6 items could not be read" in w for w in warnings), warnings


def test_descriptor_of_a_folder_table_pointing_nowhere(tmp_path: Path) -> None:
    src = fixture(SUPPORT)
    intact, _ = read(src)
    damage_descriptor(src, tmp_path / "d.pst", contents_table(SENT))
    got, warnings = read(tmp_path / "d.pst")
    assert mails(got["Drafts"]) == mails(intact["Drafts"])
    assert len(errors(got["Sent Messages"])) == 11 and not mails(got["Sent Messages"])
    assert "offset index value" in (errors(got["Sent Messages"])[0].error or "")
    assert any("'Sent Messages' is damaged: 11 of its 11 items" in w for w in warnings)


def test_one_damaged_item_is_one_failure(tmp_path: Path) -> None:
    src = fixture(SUPPORT)
    intact, _ = read(src)
    damage_node(src, tmp_path / "d.pst", item_nid(src, SENT, 2))
    got, warnings = read(tmp_path / "d.pst")
    sent = got["Sent Messages"]
    assert len(mails(sent)) == 10 and len(errors(sent)) == 1
    assert set(mails(sent)) < set(mails(intact["Sent Messages"]))
    assert mails(got["Drafts"]) == mails(intact["Drafts"])
    assert any("folder 'Sent Messages' is damaged: 1 of its 11 items could not be read" in w for w in warnings)


def test_damaged_sub_folder_list_is_named_not_skipped(tmp_path: Path) -> None:
    src = fixture(SUPPORT)
    intact, _ = read(src)
    damage_node(src, tmp_path / "d.pst", hierarchy_table(RECOVERABLE))
    got, warnings = read(tmp_path / "d.pst")
    lost = "Recoverable Items/(sub-folders that cannot be listed)"
    assert lost in got
    assert [r.error for r in got[lost]] and "hierarchy table" in (got[lost][0].error or "")
    assert not [k for k in got if k.startswith("Recoverable Items/") and k != lost]
    assert mails(got["Sent Messages"]) == mails(intact["Sent Messages"])
    assert any(lost in w for w in warnings)


def test_damaged_top_level_folder_list(tmp_path: Path) -> None:
    src = fixture(SUPPORT)
    damage_node(src, tmp_path / "d.pst", hierarchy_table(TOP))
    got, _ = read(tmp_path / "d.pst")  # today: no folder at all, silently
    assert list(got) == ["(top-level folders that cannot be listed)"]
    assert [r.error for r in got["(top-level folders that cannot be listed)"]]


def test_damaged_folder_properties_keep_its_items(tmp_path: Path) -> None:
    src = fixture(SUPPORT)
    intact, _ = read(src)
    damage_node(src, tmp_path / "d.pst", DRAFTS)  # its property context: name and counts
    got, warnings = read(tmp_path / "d.pst")  # today: OSError, exit 70
    renamed = f"Folder {DRAFTS}"
    assert mails(got[renamed]) == mails(intact["Drafts"])
    assert any(renamed in w and "name is unknown" in w for w in warnings)


def test_mail_at_the_top_of_the_store_with_a_damaged_table(tmp_path: Path) -> None:
    src = fixture(ALEPH)
    intact, _ = read(src)
    top = [k for k, v in intact.items() if mails(v)]
    assert len(top) == 1
    damage_node(src, tmp_path / "d.pst", contents_table(TOP))
    got, _ = read(tmp_path / "d.pst")
    assert len(errors(got[top[0]])) == len(mails(intact[top[0]])) == 6


def test_folder_count_rule() -> None:
    assert FolderCount(expected=6, listed=6).unread == 0 and FolderCount(6, 6).note("A", ost=True) is None
    assert FolderCount(expected=None, listed=3).note("A", ost=False) is None
    gone = FolderCount(expected=6, listed=None, why="bad table")
    assert gone.not_listed == 6 and "contents table" in gone.missing_reason(ost=False)
    assert "6 of its 6 items" in (gone.note("A", ost=False) or "")
    partial = FolderCount(expected=10, listed=7)
    assert partial.not_listed == 3 and "not in this .ost cache" in partial.missing_reason(ost=True)
    assert "is incomplete in this .ost: 3 of its 10 items" in (partial.note("Inbox", ost=True) or "")
    assert "damaged" in partial.missing_reason(ost=False)
    assert "incomplete" in (FolderCount(expected=2, listed=5).note("A", ost=True) or "")
    unknown = FolderCount(expected=None, listed=None, why="x")
    assert unknown.not_listed == 0 and "its items could not be read" in (unknown.note("A", ost=False) or "")


def test_guard_keeps_the_reason() -> None:
    def boom() -> int:
        raise OSError("pypff_folder_get_number_of_sub_messages: unable to retrieve number of sub messages. "
                      "libpff_table_header_read_data: unsupported table signature: 0x8a. libpff_table_read: x.")

    assert guard(lambda: 3) == (3, "")
    assert guard(boom) == (None, "unable to retrieve number of sub messages (unsupported table signature: 0x8a)")


# ----------------------------------------------------------------------------- .ost


def test_ost_is_detected_and_read_like_a_pst(tmp_path: Path) -> None:
    src = fixture(SUPPORT)
    intact, plain = read(src)
    ost = tmp_path / "mailbox.bin"  # detected by the header, not the name
    make_ost(src, ost)
    assert detect(ost) and is_ost(ost, ost.read_bytes()[:12])
    assert not is_ost(src, src.read_bytes()[:12]) and is_ost(Path("x.OST"), b"")
    got, warnings = read(ost)
    assert {k: mails(v) for k, v in got.items()} == {k: mails(v) for k, v in intact.items()}
    assert not plain
    assert any("offline cache (.ost) of a server mailbox" in w and "only part" in w for w in warnings)


class _PartialCache:
    """A real pypff folder whose contents table lists fewer items than it counts, as a partial
    .ost cache does (the count property is the folder's own)."""

    def __init__(self, folder: Any, drop: int) -> None:
        self._folder, self.number_of_sub_messages = folder, folder.number_of_sub_messages - drop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._folder, name)


def test_ost_folder_with_fewer_items_than_it_counts_is_incomplete(tmp_path: Path) -> None:
    ost = tmp_path / "m.ost"
    make_ost(fixture(SUPPORT), ost)
    with PstSource(ost) as src:
        folder = next(f for f in src.folders() if f.display == "Sent Messages")
        src._pff_folders[folder.key] = _PartialCache(src._pff_folders[folder.key], drop=3)
        records = list(src.messages(folder))
        warnings = src.warnings
    assert len(mails(records)) == 8
    assert [r.locator for r in errors(records)] == ["Sent Messages, item #9", "Sent Messages, item #10",
                                                     "Sent Messages, item #11"]
    assert all("not in this .ost cache" in (r.error or "") for r in errors(records))
    assert any("'Sent Messages' is incomplete in this .ost: 3 of its 11 items" in w for w in warnings), warnings
