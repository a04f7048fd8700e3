"""Directory sources that mix stores, symlinks and special files (issue 15 kinds 1 and 4):
every store inside is read once, nothing loops or blocks, nothing is left out without a word."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from migrator.sources import detect_kind, open_source
from migrator.sources.maildir.reader import MaildirSource
from migrator.sources.mbox.reader import MboxSource
from migrator.sources.walk import classify, list_message_files
from tests.support.corpus import Item, msg, sample_items, write_maildirpp, write_mbox, write_mbox_tree

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="symlinks, FIFOs and sockets as on POSIX")


def _read(src) -> dict[tuple[str, ...], list]:
    return {f.path: list(src.messages(f)) for f in src.folders()}


def _ok(recs: list) -> list:
    return [r for r in recs if r.error is None and r.skip_reason is None]


def _count(src) -> tuple[int, int]:
    """(messages read, records with an error)"""
    recs = [r for rs in _read(src).values() for r in rs]
    return sum(1 for r in recs if r.error is None and not r.skip_reason), sum(1 for r in recs if r.error)


def _maildir(root: Path, n: int, start: int = 0) -> None:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        (root / "cur" / f"{1654084800 + i}.M{i}P1.host:2,S").write_bytes(msg(f"m{i}", f"body {i}\n", mid=f"<m{i}@x>"))


def _mixed(tmp: Path) -> Path:
    root = tmp / "export"
    write_mbox_tree(root / "mbox", sample_items())
    write_maildirpp(root / "Maildir", sample_items())
    return root


def test_maildir_nested_in_an_mbox_tree_is_read(tmp_path: Path):
    root = _mixed(tmp_path)
    mbox_only = MboxSource(root / "mbox")
    md_only = MaildirSource(root / "Maildir")
    src = open_source(root)
    assert detect_kind(root) == "mbox" and src.kind == "mbox"
    got = _read(src)
    assert ("Maildir",) in got and ("Maildir", "Sent") in got and ("mbox", "Inbox") in got
    total = sum(len(_ok(r)) for r in got.values())
    assert total == _count(mbox_only)[0] + _count(md_only)[0]
    # keys of each kind keep the shape their own reader gives them (relative paths)
    keys = {f.key for f in src.folders()}
    assert {"mbox/" + f.key for f in mbox_only.folders()} <= keys
    assert {"Maildir/" + f.key for f in md_only.folders() if f.key != "."} <= keys
    assert "Maildir" in keys


def test_examples_directory_carries_the_maildir_too():
    examples = Path(__file__).resolve().parents[2] / "examples"
    src = open_source(examples)
    paths = {f.path for f in src.folders()}
    assert ("Maildir",) in paths and ("mbox", "Inbox") in paths
    assert any("make_examples.py" in w for w in src.warnings), "a file that is not mail is listed"


def test_keys_of_plain_stores_unchanged(tmp_path: Path):
    write_mbox_tree(tmp_path / "mb", sample_items())
    write_maildirpp(tmp_path / "md", sample_items())
    assert sorted(f.key for f in open_source(tmp_path / "mb").folders()) == sorted(
        ["Inbox", "Sent", "Work & Play", "取引先", "取引先.sbd/Ａ社"])
    md = open_source(tmp_path / "md")
    assert {f.key for f in md.folders()} >= {".", ".Sent"}
    inbox = next(f for f in md.folders() if f.key == ".")
    assert inbox.path == ("INBOX",) and all(r.stable_id.startswith("maildir:.:") for r in md.messages(inbox))


def test_junk_is_listed_and_companions_pass_silently(tmp_path: Path):
    write_mbox(tmp_path / "Inbox", [Item(msg("a", "x\n"))])
    (tmp_path / "Inbox.msf").write_bytes(b"// <!-- <mdb:mork:z v=\"1.4\"/> -->")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not mail")
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    _maildir(tmp_path / "md", 1)
    (tmp_path / "md" / "dovecot-uidlist").write_text("3 V1 N2\n")
    (tmp_path / "md" / "dovecot.index.log").write_bytes(b"\0")
    (tmp_path / "md" / "maildirfolder").write_bytes(b"")
    src = open_source(tmp_path)
    notes = " | ".join(src.warnings)
    assert "photo.jpg" in notes
    for quiet in ("Inbox.msf", ".DS_Store", "dovecot-uidlist", "dovecot.index.log", "maildirfolder"):
        assert quiet not in notes
    assert _count(src) == (2, 0)


def test_a_pst_or_a_utf16_file_in_a_tree_is_named_for_what_it_is(tmp_path: Path):
    """A .pst inside a directory is not read there: the note says it is an Outlook data file to
    give to migrate on its own (not "not a mail store"); a UTF-16 mbox is named as UTF-16."""
    write_mbox(tmp_path / "Inbox", [Item(msg("a", "x\n"))])
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "backup.pst").write_bytes(b"!BDN" + bytes(600))
    (tmp_path / "u16.mbox").write_bytes("From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nhi\n".encode("utf-16"))
    notes = " | ".join(open_source(tmp_path).warnings)
    assert "backup.pst (Outlook data files (.pst/.ost)" in notes and "on its own" in notes, notes
    assert "u16.mbox (UTF-16 text" in notes, notes


def test_mbox_named_txt_or_without_extension_is_found_by_content(tmp_path: Path):
    write_mbox(tmp_path / "old-mail.txt", [Item(msg("a", "x\n")), Item(msg("b", "y\n"))])
    write_mbox(tmp_path / "archive", [Item(msg("c", "z\n"))])
    src = open_source(tmp_path)
    assert _count(src) == (3, 0)
    assert not any("old-mail.txt" in w or "archive" in w for w in src.warnings)


@posix_only
def test_self_symlink_loop_reads_each_message_once(tmp_path: Path):
    md = tmp_path / "md"
    _maildir(md, 5)
    _maildir(md / ".Sent", 3, start=10)
    (md / "self").symlink_to(".")
    (md / ".Sent" / "loop").symlink_to("..")
    src = open_source(md)
    assert _count(src) == (8, 0)
    assert any("self" in w and "read once" in w for w in src.warnings)
    tree = tmp_path / "tree"
    write_mbox(tree / "Inbox", [Item(msg("a", "x\n"))])
    (tree / "sub").mkdir()
    write_mbox(tree / "sub" / "Old", [Item(msg("b", "y\n"))])
    (tree / "self").symlink_to(".")
    (tree / "sub" / "up").symlink_to("..")
    assert _count(open_source(tree)) == (2, 0)


@posix_only
def test_directory_reached_twice_is_read_once(tmp_path: Path):
    root = tmp_path / "t"
    write_mbox(root / "real" / "Inbox", [Item(msg("a", "x\n")), Item(msg("b", "y\n"))])
    (root / "a-link").symlink_to("real")
    (root / "b-link").symlink_to("real")
    _maildir(root / "md", 2)
    (root / "z-md-link").symlink_to("md")
    src = open_source(root)
    paths = {f.path for f in src.folders()}
    assert ("real", "Inbox") in paths and ("a-link", "Inbox") not in paths, "the real path wins"
    assert _count(src) == (4, 0)


@posix_only
def test_linked_mbox_file_and_linked_message_file_read_once(tmp_path: Path):
    root = tmp_path / "t"
    write_mbox(root / "Inbox", [Item(msg("a", "x\n"))])
    (root / "Copy").symlink_to("Inbox")
    _maildir(root / "md", 2)
    (root / "md" / "cur" / "9999999999.Mlink.host:2,S").symlink_to(next((root / "md" / "cur").iterdir()))
    src = open_source(root)
    assert _count(src) == (3, 0)
    recs = [r for rs in _read(src).values() for r in rs]
    assert any(r.skip_reason and "read there" in r.skip_reason for r in recs), "accounted, not dropped"


@posix_only
def test_dangling_links_fifos_and_sockets_are_unreadable_not_blocking(tmp_path: Path):
    root = tmp_path / "t"
    write_mbox(root / "Inbox", [Item(msg("a", "x\n"))])
    _maildir(root / "md", 2)
    os.mkfifo(root / "fifo-folder")
    os.mkfifo(root / "md" / "cur" / "1654099999.Mfifo.host:2,S")
    (root / "md" / "new" / "1654099998.Mgone.host").symlink_to(tmp_path / "nowhere")
    (root / "gone").symlink_to(tmp_path / "nowhere")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock_path = root / "md" / "cur" / "sock"
    try:
        sock.bind(str(sock_path))
    except OSError as exc:  # a path too long for AF_UNIX
        pytest.skip(f"cannot create a socket here: {exc}")
    try:
        src = open_source(root)
        read, errors = _count(src)
        assert read == 3
        assert errors == 5
        reasons = [r.error.replace(str(tmp_path), "") for rs in _read(src).values() for r in rs if r.error]
        assert sum("FIFO" in e for e in reasons) == 2
        assert sum("dangling" in e for e in reasons) == 2
        assert sum("socket" in e for e in reasons) == 1
    finally:
        sock.close()


@posix_only
def test_listing_rule(tmp_path: Path):
    d = tmp_path / "cur"
    d.mkdir()
    (d / "a").write_bytes(b"x")
    (d / ".hidden").write_bytes(b"x")
    (d / "sub").mkdir()
    os.mkfifo(d / "f")
    (d / "loop").symlink_to("loop")
    files, problems = list_message_files(str(d))
    assert [n.name for n in files] == ["a"]
    assert {n.name: n.reason for n in problems}.keys() == {"sub", "f", "loop"}
    assert classify(str(d / "loop")).kind == "problem"


@posix_only
def test_thunderbird_profile_with_loops_and_specials(tmp_path: Path):
    gen = pytest.importorskip("tests.tbprofile")
    man = gen.build_profiles(tmp_path / "home" / ".thunderbird")
    src0 = open_source(man.profile)
    before = _count(src0)
    local = next(p for p in man.profile.rglob("Local Folders") if p.is_dir())
    (local / "loop.sbd").symlink_to(".")
    os.mkfifo(local / "Pipe")
    src = open_source(man.profile)
    read, errors = _count(src)
    assert read == before[0]
    assert errors == before[1] + 1


def test_a_directory_with_no_mail_names_what_it_holds(tmp_path: Path):
    from migrator.domain.errors import SourceError

    (tmp_path / "readme.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(SourceError) as info:
        open_source(tmp_path)
    assert "readme.pdf" in info.value.message


@posix_only
def test_thunderbird_linked_mbox_file_read_once(tmp_path: Path):
    gen = pytest.importorskip("tests.tbprofile")
    man = gen.build_profiles(tmp_path / "home" / ".thunderbird")
    before = _count(open_source(man.profile))
    local = next(p for p in man.profile.rglob("Local Folders") if p.is_dir())
    target = next(p for p in sorted(local.iterdir()) if p.is_file() and (local / (p.name + ".msf")).exists()
                  and p.stat().st_size)
    (local / "Copy of it").symlink_to(target.name)
    src = open_source(man.profile)
    assert _count(src) == before
    assert any("Copy of it" in w and "read once" in w for w in src.warnings)
