"""The folder naming rules (migrator/folders.py) and the flag rules (migrator/target/wire.py):
pure functions, no server."""

from __future__ import annotations

from migrator.domain.folders import (
    MAX_NAME_BYTES,
    TargetLayout,
    clean_component,
    map_folders,
    map_stores,
    shorten,
)
from migrator.domain.records import Folder
from migrator.imap import utf7
from migrator.imap.wire import fallback_flags, flag_list, invalid_flags, keywords, next_fallback, system_flags


def _f(*path: str, role: str | None = None, key: str | None = None) -> Folder:
    return Folder(path=path, origin="", key=key or "/".join(path), role=role)


SLASH = TargetLayout(delimiter="/", special={"sent": "Sent", "trash": "Trash"})
DOT = TargetLayout(delimiter=".", special={"sent": "Sent", "trash": "Trash"})


def test_clean_component_rules():
    assert clean_component("a\x01b\tc", "/") == ("a_b_c", ["control characters replaced"])
    assert clean_component("  ", "/")[0] == "_"
    assert clean_component("..", "/")[0] == "__"
    assert clean_component(".", "/")[0] == "_"
    assert clean_component("~home", "/")[0] == "_home"
    assert clean_component("a~b", "/") == ("a~b", [])
    assert clean_component("a/b", "/")[0] == "a_b"
    assert clean_component("a/b", ".")[0] == "a_b"  # Maildir++ refuses '/'
    assert clean_component("chess.com", ".")[0] == "chess_com"
    assert clean_component("chess.com", "/") == ("chess.com", [])
    assert clean_component("送信済みアイテム", "/") == ("送信済みアイテム", [])


def test_shorten_is_bounded_unique_and_stable():
    for name in ("x" * 300, "日本" * 120, "a" + "é" * 400):
        short = shorten(name)
        assert len(utf7.encode(short)) <= MAX_NAME_BYTES
        assert short == shorten(name), "deterministic"
        assert short[:5] == name[:5], "readable: keeps the start"
    assert shorten("x" * 300) != shorten("x" * 301), "unique"
    assert shorten("short") == "short"


def test_collisions_get_a_visible_suffix():
    folders = [_f("Reports"), _f("Reports "), _f("Reports ", "2019"), _f("Work"), _f("work"), _f("Work "),
               _f("a/b"), _f("a_b")]
    m = map_folders(folders, SLASH)
    assert m["Reports"] == "Reports" and m["Reports "] == "Reports (2)"
    assert m["Reports /2019"] == "Reports (2)/2019", "a renamed parent takes its children along"
    assert m["Work"] == "Work" and {m["work"], m["Work "]} == {"work (2)", "Work (3)"}
    assert m["a_b"] == "a_b" and m["a/b"] == "a_b (2)", "the folder whose name is its own keeps it"
    assert len(set(m.values())) == len(folders)
    assert map_folders(list(reversed(folders)), SLASH) == m, "the same names whatever the listing order"


def test_collisions_on_a_dot_server():
    m = map_folders([_f("chess.com"), _f("chess_com")], DOT)
    assert m == {"chess.com": "chess_com (2)", "chess_com": "chess_com"}


def test_intended_merges_stay_merged():
    one = [_f("INBOX", role="inbox", key="."), _f("Sent Items"), _f("送信済みアイテム"), _f("Sent Items", "2019"),
           _f("Deleted Items"), _f("ごみ箱")]
    m = map_folders(one, SLASH)
    assert m == {".": "INBOX", "Sent Items": "Sent", "送信済みアイテム": "Sent", "Sent Items/2019": "Sent/2019",
                 "Deleted Items": "Trash", "ごみ箱": "Trash"}
    # Thunderbird: the inboxes of several accounts, each with the store's role
    tb = [_f("Inbox", role="inbox", key="a1"), _f("Inbox", role="inbox", key="a2")]
    assert set(map_folders(tb, SLASH).values()) == {"INBOX"}
    # two stores: a PST's Sent Items and an mbox Sent both go to Sent
    two = map_stores([[_f("Sent Items", role="sent")], [_f("Sent")]], SLASH)
    assert two[0]["Sent Items"].target == two[1]["Sent"].target == "Sent"


def test_an_inbox_folder_beside_the_real_inbox_is_kept_apart():
    m = map_stores([[_f("INBOX", role="inbox", key="."), _f("Inbox"), _f("Inbox", "sub")]], SLASH)[0]
    assert m["."].target == "INBOX"
    assert m["Inbox"].target == "Inbox (2)" and "taken" in m["Inbox"].why
    assert m["Inbox/sub"].target == "Inbox (2)/sub"


def test_same_names_in_two_stores_are_kept_apart():
    two = map_stores([[_f("Projects")], [_f("Projects")]], SLASH)
    assert two[0]["Projects"].target == "Projects" and two[1]["Projects"].target == "Projects (2)"


def test_why_is_said():
    m = map_stores([[_f("a\x01b"), _f("x" * 300), _f("Plain")]], SLASH)[0]
    assert m["a\x01b"].why == "control characters replaced"
    assert "shortened" in m["x" * 300].why
    assert m["Plain"].why == ""


def test_keywords_on_the_wire():
    flags = frozenset({"\\Seen", "\\Deleted", "\\Bogus", "$ok", "bad]kw", "a b", "ü", "Junk"})
    assert invalid_flags(flags) == sorted(["\\Bogus", "bad]kw", "a b", "ü"])
    assert keywords(flags) == ["$ok", "Junk"]
    assert system_flags(flags) == frozenset({"\\Seen"})
    assert flag_list(flags) == b"($ok Junk \\Seen)"
    assert flag_list(system_flags(frozenset({"\\seen", "\\Flagged", "$x"}))) == b"(\\Flagged \\Seen)"


def test_refused_keywords_fall_back_in_two_steps():
    """A message refused for its keywords goes again without the over-long ones (Dovecot stores at
    most 50 bytes), then with the system flags only; a level that sends the same is skipped."""
    flags = frozenset({"\\Seen", "$Label1", "NonJunk", "k" * 60, "日本語", "\\Recent"})
    assert keywords(fallback_flags(flags, 0)) == ["$Label1", "NonJunk", "k" * 60]
    assert fallback_flags(flags, 1) == frozenset({"\\Seen", "$Label1", "NonJunk"})
    assert fallback_flags(flags, 2) == frozenset({"\\Seen"})
    assert next_fallback(flags, 0) == 1 and next_fallback(flags, 1) == 2 and next_fallback(flags, 2) is None
    only_long = frozenset({"\\Seen", "k" * 60})
    assert next_fallback(only_long, 0) == 1 and fallback_flags(only_long, 1) == frozenset({"\\Seen"})
    assert next_fallback(only_long, 1) is None  # level 2 would send the same again
    only_short = frozenset({"\\Flagged", "$Label1"})
    assert next_fallback(only_short, 0) == 2  # level 1 would send the same again
    assert next_fallback(frozenset({"\\Seen", "日本語", "\\Recent"}), 0) is None  # nothing to drop: no retry
