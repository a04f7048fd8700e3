"""File names that are not valid UTF-8 (a Shift_JIS name from a zip made on Japanese Windows,
unpacked on Linux): Python keeps each bad byte as a lone surrogate (PEP 383), which no encoder
takes. Folder names are decoded (UTF-8, cp932, EUC-JP, latin-1), the journal keeps such ids as
they were read, and nothing a person reads ends in a traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from migrator.domain.records import Folder, fs_name_text
from migrator.journal.state import State

SJIS = "送信済み".encode("cp932")


def _escaped(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


@pytest.mark.parametrize(("raw", "want"), [
    ("送信済み".encode("cp932"), "送信済み"),
    ("受信トレイ".encode("euc_jp"), "受信トレイ"),
    (b"Caf\xe9", "Café"),
    ("取引先".encode(), "取引先"),
])
def test_names_are_decoded(raw: bytes, want: str) -> None:
    assert fs_name_text(_escaped(raw)) == want


def test_folder_paths_never_hold_surrogates() -> None:
    f = Folder(path=(_escaped(SJIS), "Inbox"), origin="/x/" + _escaped(SJIS), key=_escaped(SJIS) + "/Inbox")
    assert f.path == ("送信済み", "Inbox") and f.display == "送信済み/Inbox"
    assert f.key == _escaped(SJIS) + "/Inbox", "the key stays the name as read (journals of earlier runs)"
    plain = Folder(path=("取引先",), origin="/x", key="k")
    assert plain.path == ("取引先",)


def test_journal_keeps_a_surrogate_id_as_read(tmp_path: Path) -> None:
    """An id with lone surrogates goes in and comes out the same (lookups keep matching)."""
    state = State.open(tmp_path / "s.db", source_id="src", target_id="tgt")
    conn = state._conn  # the guarded connection every statement of State goes through
    conn.execute("CREATE TABLE t (a TEXT, b TEXT)")
    odd = "/mail/" + _escaped(SJIS) + " @ byte 0"
    conn.execute("INSERT INTO t VALUES (?, ?)", (odd, "plain 取引先"))
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(odd + "2", "x")])
    assert conn.execute("SELECT a, b FROM t WHERE a = ?", (odd,)).fetchall() == [(odd, "plain 取引先")]
    assert [r[0] for r in conn.execute("SELECT a FROM t ORDER BY a").fetchall()] == [odd, odd + "2"]
    state.close()


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="file names are always Unicode there")
def test_tree_with_shift_jis_names_reads(tmp_path: Path) -> None:
    from migrator.sources import open_source

    root = tmp_path / "mail"
    root.mkdir()
    try:
        with open(os.fsencode(root) + b"/" + SJIS, "wb") as fh:
            fh.write(b"From a@b Mon Jan  1 10:00:00 2024\nSubject: x\n\nhi\n")
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    src = open_source(root)
    (folder,) = src.folders()
    assert folder.path == ("送信済み",)
    assert [m.raw for m in src.messages(folder)] == [b"Subject: x\n\nhi\n"]
