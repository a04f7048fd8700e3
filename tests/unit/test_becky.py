"""Becky! Internet Mail reader (issue 19 item 1) on stores the tests build (tests/support/becky_store.py):
expectations come from the store's manifest, written from the format rules, not from the reader."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest

from migrator.domain.errors import SourceError
from migrator.domain.records import ROLE_DRAFTS, ROLE_INBOX, ROLE_SENT, ROLE_TRASH, MessageRecord
from migrator.sources import detect_kind, open_source
from migrator.sources.becky import BeckySource
from migrator.sources.becky.bmf import becky_status, read_index, split_bmf, status_flags
from migrator.sources.becky.layout import disk_name
from migrator.sources.mbox.reader import looks_like_mbox
from tests.support.becky_store import ANSWERED, FORWARDED, SEEN, Manifest, build_store, crlf, stuff
from tests.support.corpus import sample_items, write_maildirpp, write_mbox_tree


def _cp932_ok(tmp: Path) -> bool:
    try:
        os.mkdir(os.fsencode(tmp) + b"/" + "試".encode("cp932"))
    except OSError:
        return False
    return True


@pytest.fixture(params=["cp932-bytes", "unicode"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Manifest:
    cp932 = request.param == "cp932-bytes"
    if cp932 and not _cp932_ok(tmp_path):
        pytest.skip("this file system refuses names that are not UTF-8")
    return build_store(tmp_path / "Becky", cp932_names=cp932)


def _read(src: BeckySource) -> dict[tuple[str, ...], list[MessageRecord]]:
    out: dict[tuple[str, ...], list[MessageRecord]] = {}
    for f in src.folders():
        out.setdefault(f.path, []).extend(src.messages(f))  # merged: both mailboxes' inboxes
    return out


def test_merged_folders_order_roles_bytes_flags_dates(store: Manifest) -> None:
    assert detect_kind(store.root) == "becky"
    src = open_source(store.root)
    folders = src.folders()
    assert [f.path for f in folders] == [("Inbox",), ("Sent",), ("Drafts",), ("Trash",), ("取引先",),
                                         ("取引先", "Ａ社"), ("取引先", "Ｂ社"), ("Inbox",)]
    assert [f.role for f in folders][:4] == [ROLE_INBOX, ROLE_SENT, ROLE_DRAFTS, ROLE_TRASH]
    assert folders[-1].role == ROLE_INBOX, "the second mailbox's inbox merges into INBOX too"
    got = [r for f in folders for r in src.messages(f)]
    assert len(got) == len(store.messages)
    for want, rec in zip(store.messages, got, strict=True):
        assert rec.folder.path == (want.folder if want.folder[0] not in store.roles else want.folder)
        assert rec.raw == want.raw, rec.locator
        if want.error:
            assert rec.error and want.error in rec.error and "missing" in rec.error, rec.error
            continue
        assert rec.error is None and rec.skip_reason is None, rec.locator
        assert rec.flags == want.flags, rec.locator
        assert rec.date == want.date and rec.date_source in ("received", "date-header"), rec.locator
        assert b"X-Becky-Status" in rec.raw or b"draft" in rec.raw, "X-Becky-* headers stay"
    assert any("IMAPアカウント" in w and "not migrated" in w for w in src.warnings), src.warnings
    every = b"".join(r.raw for r in got)
    assert not any(c in every for c in store.imap_cache), "an IMAP cache is never read for upload"


def test_flags_index_row_wins_else_x_becky_status(store: Manifest) -> None:
    inbox = _read(BeckySource(store.root, accounts=["仕事"]))[("Inbox",)]
    assert [r.flags for r in inbox] == [frozenset({SEEN, ANSWERED}), frozenset({SEEN, FORWARDED}), frozenset()]
    assert becky_status(inbox[0].raw) == 0 and becky_status(inbox[2].raw) == 1  # the header said otherwise


def test_dot_stuffing_and_lone_dot_line(store: Manifest) -> None:
    inbox = _read(BeckySource(store.root))[("Inbox",)]
    body = inbox[1].raw.split(b"\r\n\r\n", 1)[1]
    assert body == b"line one\r\n.leading dot\r\n..two dots\r\n.\r\nafter a lone dot line\r\n"


def test_include_from_the_folder_and_from_the_mailbox(store: Manifest) -> None:
    read = _read(BeckySource(store.root))
    assert b"AAECAwQFBgcICQ==" in read[("Inbox",)][2].raw and b"X-Becky-Include" not in read[("Inbox",)][2].raw
    assert b"folder-level attachment" in read[("取引先",)][0].raw
    failed = read[("取引先", "Ａ社")][0]
    assert failed.error and "なくした.pdf" in failed.error
    assert b"X-Becky-Include: " + "なくした.pdf".encode("cp932") in failed.raw, "kept as stored for the quarantine"
    assert read[("取引先", "Ａ社")][1].error is None, "the next message of the same .bmf is read"


def test_account_prefix_keeps_mailboxes_apart(store: Manifest) -> None:
    src = open_source(store.root, account_prefix=True)
    paths = [f.path for f in src.folders()]
    assert paths == [("仕事",), ("仕事", "Inbox"), ("仕事", "Sent"), ("仕事", "Drafts"), ("仕事", "Trash"),
                     ("仕事", "取引先"), ("仕事", "取引先", "Ａ社"), ("仕事", "取引先", "Ｂ社"), ("個人",), ("個人", "Inbox")]
    assert all(f.role is None for f in src.folders())
    read = {f.path: list(src.messages(f)) for f in src.folders()}
    assert read[("仕事",)] == [] and len(read[("個人", "Inbox")]) == 1
    for m in store.messages:
        assert m.raw in [r.raw for r in read[(m.mailbox, *m.folder)]]


def test_accounts_pick_mailboxes_by_name_or_directory(store: Manifest) -> None:
    assert [f.key for f in BeckySource(store.root, accounts=["個人"]).folders()] == ["5a000001.mb/!!!!Inbox"]
    assert len(BeckySource(store.root, accounts=["4cbbef16.mb"]).folders()) == 7
    with pytest.raises(SourceError, match="no Becky! mailbox named 'nobody'"):
        BeckySource(store.root, accounts=["nobody"])


def test_one_mailbox_folder_as_source(store: Manifest) -> None:
    mb = store.root / "5a000001.mb"
    assert detect_kind(mb) == "becky"
    src = open_source(mb)
    assert [f.path for f in src.folders()] == [("Inbox",)]
    assert open_source(store.root / "6b000002.mb").folders() == []


def test_ids_bytes_and_tokens_stable_across_opens_and_token_follows_attachments(store: Manifest) -> None:
    def shape(src: BeckySource) -> list[tuple[object, ...]]:
        return [(f.key, r.stable_id, r.raw, r.flags, r.date) for f in src.folders() for r in src.messages(f)]

    a, b = BeckySource(store.root), BeckySource(store.root)
    assert shape(a) == shape(b)
    ids = [sid for _k, sid, *_ in shape(a)]
    assert len(set(ids)) == len(ids)
    tokens = {f.key: a.token(f) for f in a.folders()}
    assert tokens == {f.key: b.token(f) for f in b.folders()} and all(tokens.values())
    (store.root / "4cbbef16.mb" / "#Attach" / "new.bin").write_bytes(b"x")
    c = BeckySource(store.root)
    assert {f.key: c.token(f) for f in c.folders()}["4cbbef16.mb/!!!!Inbox"] != tokens["4cbbef16.mb/!!!!Inbox"]


def test_not_mbox_not_other_stores(tmp_path: Path) -> None:
    man = build_store(tmp_path / "Becky", cp932_names=False)
    bmf = man.root / "4cbbef16.mb" / "!!!!Inbox" / "3eb70644.bmf"
    fake = tmp_path / "x.bmf"
    fake.write_bytes(b"From a@b Mon Jan  1 10:00:00 2024\r\nFrom: a@b\r\n\r\nx\r\n.\r\n")
    assert not looks_like_mbox(fake) and not looks_like_mbox(bmf)
    with pytest.raises(SourceError, match="Becky!"):
        detect_kind(bmf)
    items = sample_items()
    write_mbox_tree(tmp_path / "mbox", items)
    write_maildirpp(tmp_path / "Maildir", items)
    assert detect_kind(tmp_path / "mbox") == "mbox" and detect_kind(tmp_path / "Maildir") == "maildir"
    (tmp_path / "odd.mb").mkdir()  # a directory named like a mailbox but holding nothing of one
    (tmp_path / "odd.mb" / "notes.txt").write_text("x")
    assert detect_kind(tmp_path / "mbox") == "mbox"
    with pytest.raises(SourceError):
        detect_kind(tmp_path / "odd.mb")


def test_unterminated_last_message_waits_while_becky_writes(tmp_path: Path) -> None:
    man = build_store(tmp_path / "Becky", cp932_names=False)
    f = man.root / "5a000001.mb" / "!!!!Inbox" / "3ec00000.bmf"
    f.write_bytes(f.read_bytes() + crlf("From: late@x\nSubject: half\n\nstill being wr"))
    src = BeckySource(man.root, accounts=["個人"])
    assert len(list(src.messages(src.folders()[0]))) == 1
    assert any("still being written" in w for w in src.warnings)
    old = time.time() - 3600
    os.utime(f, (old, old))
    src = BeckySource(man.root, accounts=["個人"])
    recs = list(src.messages(src.folders()[0]))
    assert len(recs) == 2 and recs[1].raw.endswith(b"still being wr") and "closing '.'" in recs[1].extra["warning"]


def test_folder_lst_entries_missing_and_unlisted_directories(tmp_path: Path) -> None:
    man = build_store(tmp_path / "Becky", cp932_names=False)
    mb = man.root / "4cbbef16.mb"
    (mb / "Folder.lst").write_bytes(crlf("!!!!Inbox\nGone\n", "cp932"))
    (mb / "Mailbox.ini").unlink()
    src = BeckySource(mb)
    paths = [f.path for f in src.folders()]
    assert paths[0] == ("Inbox",) and set(paths[1:]) >= {("Sent",), ("Trash",), ("取引先",)}, "unlisted: read too"
    assert any("'Gone'" in w for w in src.warnings)
    assert BeckySource(mb, account_prefix=True).folders()[0].path == ("4cbbef16",), "name from the directory"


def test_include_outside_the_store_is_refused(tmp_path: Path) -> None:
    man = build_store(tmp_path / "Becky", cp932_names=False)
    (tmp_path / "secret").write_bytes(b"secret")
    f = man.root / "5a000001.mb" / "!!!!Inbox" / "3ec00000.bmf"
    f.write_bytes(crlf("From: a@b\nSubject: s\n\nX-Becky-Include: ..\\..\\..\\secret\n.\n"))
    src = BeckySource(man.root, accounts=["個人"])
    (rec,) = list(src.messages(src.folders()[0]))
    assert rec.error and "not a file name inside the store" in rec.error and b"secret\r\n" in rec.raw


def test_split_bmf_pieces() -> None:
    long = b"A" * ((1 << 20) + 5) + b".\r\n"  # a line longer than one read: its tail is no terminator
    data = b"\r\nH: 1\r\n\r\n" + long + b"..x\r\n.\r\n\r\nH: 2\r\n\r\nX-Becky-Include: a\r\n.\r\nH: 3\r\n\r\nend"
    seen: list[str] = []

    def resolve(name: str) -> tuple[bytes | None, str]:
        seen.append(name)
        return b"INCLUDED", ""

    entries = list(split_bmf(io.BytesIO(data), resolve))
    assert [e.raw for e in entries] == [b"H: 1\r\n\r\n" + long + b".x\r\n", b"H: 2\r\n\r\nINCLUDED", b"H: 3\r\n\r\nend"]
    assert [e.offset for e in entries] == [2, data.index(b"H: 2"), data.index(b"H: 3")]
    assert [e.terminated for e in entries] == [True, True, False] and seen == ["a"]
    assert stuff(b".a\r\nb\r\n..c\r\n") == b"..a\r\nb\r\n...c\r\n"


def test_status_bits_and_index_rows(tmp_path: Path) -> None:
    assert status_flags(0x7) == frozenset({SEEN, ANSWERED, FORWARDED}) and status_flags(0x10008) == frozenset()
    assert becky_status(b"X-Becky-Status: 010005,000000,3\r\n\r\n") == 0x10005
    assert becky_status(b"X-Becky-Status: zz,1\r\n\r\n") is None and becky_status(b"Subject: x\r\n\r\n") is None
    idx = tmp_path / "Folder.idx"
    row = b"\x01".join([b"1fb4", b"5", b"3EB70644", b"s", b"f", b"t", b"<m>", b"", b"1", b"2", b"3", b"787", b"000001"])
    idx.write_bytes(b"header\r\n" + row + b"\r\nbroken\x01row\r\n" + row.replace(b"1fb4", b"zz") + b"\r\n")
    assert read_index(idx) == {("3eb70644", 0x1FB4): 1}
    assert read_index(tmp_path / "absent") == {}


def test_disk_names() -> None:
    assert disk_name(os.fsdecode("取引先".encode("cp932"))) == "取引先"
    assert disk_name("取引先") == "取引先" and disk_name("!!!!Inbox") == "!!!!Inbox"


def test_warnings_and_reasons_in_the_users_language(tmp_path: Path) -> None:
    from migrator.domain.i18n import using_language

    man = build_store(tmp_path / "Becky", cp932_names=False)
    with using_language("ja"):
        src = BeckySource(man.root)
        failed = [r for f in src.folders() for r in src.messages(f) if r.error]
    assert any("ローカルキャッシュ" in w for w in src.warnings), src.warnings
    assert failed and "添付ファイル" in (failed[0].error or "")


def test_folder_lst_with_paths_orders_the_levels_below(tmp_path: Path) -> None:
    """A mailbox's Folder.lst may list subfolders as `parent\\child`: they order that level (when it
    has no Folder.lst of its own) and are no missing folders."""
    man = build_store(tmp_path / "Becky", cp932_names=False)
    mb = man.root / "4cbbef16.mb"
    client = mb / "取引先"
    (client / "Folder.lst").unlink()  # its own list gone: Ａ社, Ｂ社 by name ... unless the parent's says
    (mb / "Folder.lst").write_bytes(crlf("!!!!Inbox\n取引先\n取引先\\Ｂ社\n取引先\\Ａ社\n!!!!Outbox\n", "cp932"))
    src = BeckySource(mb)
    paths = [f.path for f in src.folders()]
    assert paths[:5] == [("Inbox",), ("取引先",), ("取引先", "Ｂ社"), ("取引先", "Ａ社"), ("Sent",)], paths
    assert not any("Folder.lst names" in w for w in src.warnings), src.warnings


def _reference_split(data: bytes, resolve) -> list[tuple[int, int, bytes, bool]]:
    """The .bmf rules line by line (the slow, obvious way), to check the block reader against."""
    out: list[tuple[int, int, bytes, bool]] = []
    pos, cur, start, in_header = 0, None, 0, True
    for line in re.findall(rb"[^\n]*\n|[^\n]+$", data):  # lines end at LF only (CR is part of CRLF)
        at, pos = pos, pos + len(line)
        if cur is None:
            if not line.strip():
                continue
            cur, start, in_header = [], at, True
        if line in (b".\r\n", b".\n", b".", b".\r"):
            out.append((start, pos, b"".join(cur), True))
            cur = None
            continue
        line = line[1:] if line.startswith(b"..") else line
        if in_header:
            in_header = line not in (b"\r\n", b"\n")
            cur.append(line)
            continue
        m = re.match(rb"(?i)X-Becky-Include[ \t]*:[ \t]*([^\r\n]*?)[ \t]*(\r?\n)?$", line)
        cur.append(resolve(m.group(1).decode())[0] if m else line)
    if cur is not None:
        out.append((start, pos, b"".join(cur), False))
    return out


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
def test_split_bmf_matches_the_line_rules_across_block_boundaries(chunk: int, monkeypatch) -> None:
    import random

    from migrator.sources.becky import bmf

    monkeypatch.setattr(bmf, "_READ_CHUNK", chunk)
    rng = random.Random(chunk)
    pieces = [b"H: v", b"Subject: x", b"", b"", b".", b"..", b"...x", b".y", b"body", b"X-Becky-Include: a",
              b"x-becky-include:b ", b"  ", b"\r", b"From x"]
    for _ in range(150):
        eol = rng.choice([b"\r\n", b"\n"])
        lines = [rng.choice(pieces) for _ in range(rng.randint(1, 14))]
        data = eol.join(lines) + rng.choice([eol, b""])

        def resolve(name: str) -> tuple[bytes | None, str]:
            return b"<" + name.encode() + b">", ""

        got = [(e.offset, e.end, e.raw, e.terminated) for e in split_bmf(io.BytesIO(data), resolve)]
        assert got == _reference_split(data, resolve), data


def test_estimate_from_the_index_and_file_sizes(tmp_path: Path) -> None:
    man = build_store(tmp_path / "Becky", cp932_names=False)
    src = BeckySource(man.root, account_prefix=True)
    by_path = {f.path: f for f in src.folders()}
    inbox = src.estimate(by_path[("仕事", "Inbox")])
    bmf_size = (man.root / "4cbbef16.mb" / "!!!!Inbox" / "3eb70644.bmf").stat().st_size
    assert inbox is not None and (inbox.messages, inbox.bytes, inbox.exact) == (2, bmf_size, False)  # 2 rows
    sent = src.estimate(by_path[("仕事", "Sent")])
    assert sent is not None and (sent.messages or 0) >= 1 and sent.bytes and not sent.exact  # no Folder.idx: a guess
    top = src.estimate(by_path[("仕事",)])
    assert top is not None and (top.messages, top.bytes, top.exact) == (0, 0, True)


def test_b2_ini_designates_its_data_folder(tmp_path: Path) -> None:
    man = build_store(tmp_path / "Becky", cp932_names=False)
    assert detect_kind(man.root / "B2.ini") == "becky"
    assert [f.key for f in open_source(man.root / "B2.ini").folders()] == [f.key for f in open_source(man.root).folders()]
    (tmp_path / "B2.ini").write_text("[x]\n")  # a B2.ini with no mailbox beside it is nothing of Becky!'s
    with pytest.raises(SourceError):
        detect_kind(tmp_path / "B2.ini")
