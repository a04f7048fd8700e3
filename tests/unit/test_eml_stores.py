"""Unit tests of the .eml tree, Apple Mail and Outlook Express readers (issue 19 items 2-4): the
format rules one by one, on stores the tests build (tests/support/stores.py)."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from migrator.domain.errors import ExitCode, SourceError
from migrator.domain.folders import TargetLayout, map_folders
from migrator.domain.records import ANSWERED, DRAFT, FLAGGED, SEEN
from migrator.sources import detect_kind, open_source
from migrator.sources.applemail.emlx import EmlxError, flags_of, parse
from migrator.sources.dbx.reader import DbxSource
from tests.support.corpus import msg, sample_items, write_mbox
from tests.support.stores import (
    DBX_MAGIC,
    emlx_bytes,
    write_applemail,
    write_dbx_store,
    write_eml_folder,
    write_fake_undbx,
    write_wlm,
)

SPECIAL = TargetLayout(delimiter="/", special={"sent": "Sent", "drafts": "Drafts", "trash": "Trash", "junk": "Junk"})


def _read(path: Path) -> dict[str, list]:
    src = open_source(path)
    try:
        return {f.display: list(src.messages(f)) for f in src.folders()}
    finally:
        src.close()


# -- Apple Mail .emlx --------------------------------------------------------------------------


def test_emlx_flag_bits() -> None:
    """Bits 0 read, 1 deleted, 2 answered, 4 flagged, 6 draft, 8 forwarded (Thunderbird's
    EmlxMetadataMask); the others (encrypted, recent, attachment count...) give no flag."""
    assert flags_of(0b1) == (frozenset({SEEN}), False)
    assert flags_of(0b10) == (frozenset(), True)
    assert flags_of(0b100 | 0b10000 | 0b1000000 | 0b100000000) == (
        frozenset({ANSWERED, FLAGGED, DRAFT, "$Forwarded"}), False)
    assert flags_of(0b1000 | 0b100000 | (5 << 10)) == (frozenset(), False)


def test_emlx_parse_takes_exactly_the_counted_bytes() -> None:
    raw = b"Subject: x\n\nbody\n"
    parsed = parse(emlx_bytes(raw, 1 | 4, 1_700_000_000))
    assert parsed.message == raw and parsed.flags == {SEEN, ANSWERED} and not parsed.deleted
    assert parsed.received == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
    date_plist = b"%d\n" % len(raw) + raw + plistlib.dumps({"date-received": datetime(2020, 1, 2, 3, 4, 5)})
    assert parse(date_plist).received == datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_emlx_damaged_files() -> None:
    with pytest.raises(EmlxError, match="truncated"):
        parse(b"100\nSubject: x\n\nshort\n")
    with pytest.raises(EmlxError, match="length"):
        parse(b"Subject: x\n\nnot an emlx\n")
    no_plist = parse(b"12\nSubject: x\n\n")
    assert no_plist.message == b"Subject: x\n\n" and no_plist.flags == frozenset() and no_plist.plist_problem
    bad_plist = parse(b"12\nSubject: x\n\n<?xml version='1.0'?><plist><dict><key>flags")
    assert bad_plist.message == b"Subject: x\n\n" and "cannot be read" in bad_plist.plist_problem


def test_applemail_store_given_as_mail_v_or_mbox(tmp_path: Path) -> None:
    want = write_applemail(tmp_path / "Mail")
    for given in (tmp_path / "Mail", tmp_path / "Mail" / "V10"):
        assert detect_kind(given) == "applemail"
        read = _read(given)
        assert set(read) == {"INBOX", "Sent Messages", "Deleted Messages", "Work", "Work/Projects"}
        src = open_source(given)
        names = map_folders(src.folders(), SPECIAL)
        assert sorted(names.values()) == sorted(["INBOX", "Sent", "Trash", "Work", "Work/Projects"])
        assert any("V2" in w for w in src.warnings) == (given.name == "Mail"), "an older V<N> is named"
    read = _read(tmp_path / "Mail")
    inbox = read["INBOX"]
    assert [r.raw for r in inbox if r.error is None] == [m for m, _f, _d in want.folders["INBOX"]]
    assert [(r.flags, r.date) for r in inbox if r.error is None] == [(f, d) for _m, f, d in want.folders["INBOX"]]
    partial = [r for r in inbox if r.error]
    assert len(partial) == 1 and "partial" in partial[0].error and partial[0].raw == b""
    deleted = [r for r in read["Deleted Messages"] if r.skip_reason]
    assert len(deleted) == 1 and "deleted" in deleted[0].skip_reason
    one = _read(tmp_path / "Mail" / "V10" / "Mailboxes" / "Work.mbox")
    assert set(one) == {"Work", "Work/Projects"}, "one .mbox folder with its nested mailbox"


def test_applemail_export_mbox_is_not_apple_mail(tmp_path: Path) -> None:
    """Apple Mail's *export* (`Name.mbox/mbox`, an mbox file) is read as mbox, not as a store."""
    export = tmp_path / "Export" / "Work.mbox"
    write_mbox(export / "mbox", sample_items()[("Inbox",)])
    assert detect_kind(tmp_path / "Export") == "mbox"


# -- .eml trees --------------------------------------------------------------------------------


def test_wlm_account_level_and_roles(tmp_path: Path) -> None:
    write_wlm(tmp_path / "WLM")
    assert detect_kind(tmp_path / "WLM") == "eml"
    src = open_source(tmp_path / "WLM")
    names = map_folders(src.folders(), SPECIAL)
    assert sorted(set(names.values())) == ["Drafts", "INBOX", "Junk", "Sent", "Trash", "取引先/Ａ社"]
    assert not any("MSMessageStore" in w or "oeaccount" in w or "edb" in w for w in src.warnings), src.warnings
    assert any("notes.txt" in w for w in src.warnings), "a file that is not mail is named"
    inbox = _read(tmp_path / "WLM")["受信トレイ"]
    placeholder = [r for r in inbox if r.skip_reason]
    assert len(placeholder) == 1 and "0-byte placeholder" in placeholder[0].skip_reason
    assert all(r.flags == {SEEN} for r in inbox if not r.skip_reason), "flags default to read"


def test_eml_folder_and_envelope_line(tmp_path: Path) -> None:
    root = tmp_path / "saved"
    want = write_eml_folder(root)
    (root / "junk.eml").write_bytes(b"\x00\x01 binary, not a message")
    read = _read(root)
    assert set(read) == {"saved", "2019"}
    nested = read["2019"]
    assert [r.raw for r in nested] == [m for m, _f, _d in want.folders["2019"]], "the From_ line is dropped"
    assert nested[1].extra["source_size"] == str(os.path.getsize(root / "2019" / "d.eml"))
    bad = [r for r in read["saved"] if r.error]
    assert len(bad) == 1 and "header field" in bad[0].error


def test_mixed_tree_reads_eml_too(tmp_path: Path) -> None:
    """A tree with mbox files and .eml folders: one composite reader reads both (kind mbox)."""
    write_mbox(tmp_path / "mixed" / "Archive", sample_items()[("Inbox",)])
    write_eml_folder(tmp_path / "mixed" / "saved")
    assert detect_kind(tmp_path / "mixed") == "mbox"
    assert set(_read(tmp_path / "mixed")) == {"Archive", "saved", "saved/2019"}
    only_mbox = tmp_path / "only"
    write_mbox(only_mbox / "Inbox", sample_items()[("Inbox",)])
    assert detect_kind(only_mbox) == "mbox", "an mbox tree is not taken for .eml"


def test_eml_tree_lists_other_stores_it_does_not_read(tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / "x").mkdir(parents=True)
    (root / "x" / "a.eml").write_bytes(msg("a"))
    (root / "x" / "Inbox.dbx").write_bytes(DBX_MAGIC + b"...")
    (root / "x" / "1.emlx").write_bytes(emlx_bytes(msg("b")))
    (root / "x" / "news.nws").write_bytes(msg("c"))
    src = open_source(root)
    text = " ".join(src.warnings)
    assert "Outlook Express" in text and "Apple Mail" in text and "newsgroup" in text, src.warnings


# -- Outlook Express .dbx ----------------------------------------------------------------------


def test_dbx_without_undbx_is_exit_2_with_the_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dbx_store(tmp_path / "OE")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert detect_kind(tmp_path / "OE") == "dbx"
    with pytest.raises(SourceError) as err:
        open_source(tmp_path / "OE")
    assert err.value.exit_code == ExitCode.USAGE
    assert "apt install undbx" in (err.value.hint or "")
    r = subprocess.run([sys.executable, "-m", "migrator", "plan", str(tmp_path / "OE"), "--target",
                        "imaps://u@127.0.0.1:1", "--state", str(tmp_path / "s.db")],
                       env={**os.environ, "PATH": str(tmp_path / "empty"), "MIGRATE_PASSWORD": "x",
                            "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "undbx" in r.stderr and "apt install undbx" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_dbx_extracted_outside_the_source_and_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fake_undbx(tmp_path / "bin")
    want = write_dbx_store(tmp_path / "OE")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    before = sorted(p.name for p in (tmp_path / "OE").iterdir())
    src = open_source(tmp_path / "OE")
    assert isinstance(src, DbxSource)
    names = map_folders(src.folders(), SPECIAL)
    assert sorted(names.values()) == ["INBOX", "Sent"]
    assert [f.origin for f in src.folders()] == [str(tmp_path / "OE" / "Sent Items.dbx"),
                                                 str(tmp_path / "OE" / "受信トレイ.dbx")]
    recs = [r for f in src.folders() for r in src.messages(f)]
    assert sorted(r.raw for r in recs) == sorted(m for v in want.folders.values() for m, _f, _d in v)
    assert all(r.locator.startswith(str(tmp_path / "OE")) for r in recs), "located in the .dbx file"
    extract = tmp_path / "data" / "migrator" / "extract"
    assert len(list(extract.iterdir())) == 1
    src.close()
    assert list(extract.iterdir()) == [], "the extracted copy is removed"
    assert sorted(p.name for p in (tmp_path / "OE").iterdir()) == before, "nothing written beside the source"


@pytest.mark.skipif(shutil.which("undbx") is None, reason="undbx not installed (scripts/install-deps.sh)")
def test_real_undbx_on_a_file_without_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real undbx, on a file with the .dbx signature and no message tree: a clear SourceError."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "OE").mkdir()
    (tmp_path / "OE" / "Inbox.dbx").write_bytes(DBX_MAGIC + b"\x00" * 2000)
    with pytest.raises(SourceError, match="no messages"):
        open_source(tmp_path / "OE")
    assert list((tmp_path / "data" / "migrator" / "extract").iterdir()) == []


def test_windows_mail_local_folders(tmp_path: Path) -> None:
    """Vista's Windows Mail: `Local Folders` beside WindowsMail.MSMessageStore adds no level."""
    root = tmp_path / "Windows Mail"
    (root / "Local Folders" / "Inbox").mkdir(parents=True)
    (root / "WindowsMail.MSMessageStore").write_bytes(b"\x00" * 16)
    (root / "Local Folders" / "Inbox" / "{1}.eml").write_bytes(msg("vista"))
    (root / "Local Folders" / "Sent Items").mkdir()
    (root / "Local Folders" / "Sent Items" / "{2}.eml").write_bytes(msg("vista sent"))
    src = open_source(root)
    assert sorted(map_folders(src.folders(), SPECIAL).values()) == ["INBOX", "Sent"]
    assert src.warnings == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symbolic links")
def test_eml_link_to_a_message_of_the_tree_is_read_once(tmp_path: Path) -> None:
    root = tmp_path / "saved"
    write_eml_folder(root)
    os.symlink(root / "a.eml", root / "2019" / "link-to-a.eml")
    read = _read(root)
    linked = [r for r in read["2019"] if r.locator.endswith("link-to-a.eml")]
    assert len(linked) == 1 and linked[0].skip_reason and "read once" in linked[0].skip_reason
    assert sum(1 for rs in read.values() for r in rs if r.raw == (root / "a.eml").read_bytes()) == 1


def test_one_message_file_is_not_a_store_but_says_what_to_give(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(msg("one"))
    (tmp_path / "1.emlx").write_bytes(emlx_bytes(msg("two")))
    with pytest.raises(SourceError) as err:
        detect_kind(tmp_path / "a.eml")
    assert "folder that holds it" in (err.value.hint or "")
    with pytest.raises(SourceError) as err:
        detect_kind(tmp_path / "1.emlx")
    assert "Mail folder" in (err.value.hint or "")


def test_apple_mail_deep_inside_a_bigger_tree_is_not_taken_for_the_whole(tmp_path: Path) -> None:
    """A backup holding an mbox and, deep inside, an Apple Mail store: the tree reader reads the
    mbox and names the .emlx files in its notes; nothing is silently left out."""
    root = tmp_path / "backup"
    write_mbox(root / "Thunderbird" / "Inbox", sample_items()[("Inbox",)])
    write_applemail(root / "home" / "me" / "Library" / "Mail")
    assert detect_kind(root) == "mbox"
    src = open_source(root)
    assert any("Apple Mail" in w for w in src.warnings), src.warnings
    assert detect_kind(root / "home" / "me" / "Library" / "Mail") == "applemail"
