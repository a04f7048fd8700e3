"""Pure logic: folder mapping, filters, target URL parsing, APPENDUID parsing, quota suggestion."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from migrator.domain.config import parse_target
from migrator.domain.errors import UsageError
from migrator.domain.filters import Scope, parse_day, parse_size
from migrator.domain.folders import TargetLayout, map_folders
from migrator.domain.records import Folder
from migrator.flows.plan import _Acc, suggest_since
from migrator.imap.client import ImapTarget
from migrator.imap.wire import flag_list, internaldate, parse_uid_set, quote


def _f(*path: str, role: str | None = None) -> Folder:
    return Folder(path=path, origin="", key="/".join(path), role=role)


def test_folder_mapping_roles_and_children():
    layout = TargetLayout(delimiter="/", special={"sent": "Sent", "trash": "Trash", "junk": "Junk", "drafts": "Drafts"},
                          existing=frozenset({"INBOX", "Sent", "Trash", "Junk", "Drafts"}))
    folders = [_f("Inbox"), _f("Sent Items"), _f("Sent Items", "2019"), _f("送信済みアイテム"), _f("下書き"),
               _f("ごみ箱"), _f("迷惑メール"), _f("取引先", "Ａ社"), _f("Work & Play"), _f("Posteingang", role="inbox"),
               _f("Deleted Items"), _f("a/b")]
    m = map_folders(folders, layout)
    assert [m[f.key] for f in folders] == ["INBOX", "Sent", "Sent/2019", "Sent", "Drafts", "Trash", "Junk",
                                           "取引先/Ａ社", "Work & Play", "INBOX", "Trash", "a_b"]


def test_folder_mapping_without_special_use_uses_existing_names_and_delimiter():
    layout = TargetLayout(delimiter=".", special={}, existing=frozenset({"INBOX", "INBOX.Sent", "Sent Messages"}))
    m = map_folders([_f("Sent"), _f("Trash"), _f("取引先", "Ａ社")], layout)
    assert m == {"Sent": "Sent Messages", "Trash": "Trash", "取引先/Ａ社": "取引先.Ａ社"}


def test_scope():
    s = Scope(since=parse_day("2024-01-01", "--since"), max_size=parse_size("1K"), exclude=("Trash*",))
    assert s.message_reason(datetime(2023, 12, 31, tzinfo=timezone.utc), 10) == "before --since"
    assert s.message_reason(datetime(2024, 1, 1, tzinfo=timezone.utc), 10) is None
    assert s.message_reason(datetime(2024, 1, 1, tzinfo=timezone.utc), 2000) == "larger than --max-size"
    assert not s.folder_in_scope("Trash", "Trash")
    assert s.folder_in_scope("Inbox", "INBOX")
    with pytest.raises(UsageError):
        Scope(since=parse_day("2024-01-01", "x"), until=parse_day("2023-01-01", "y"))
    with pytest.raises(UsageError):
        parse_day("01/02/2024", "--since")
    assert parse_size("25M") == 25 * 1024 * 1024


def test_parse_target():
    t = parse_target("imaps://me@example.com@imap.example.com")
    assert (t.user, t.host, t.port, t.implicit_tls) == ("me@example.com", "imap.example.com", 993, True)
    t = parse_target("imap://bob@127.0.0.1:1143")
    assert (t.user, t.host, t.port, t.implicit_tls) == ("bob", "127.0.0.1", 1143, False)
    for bad in ("http://x@y", "imaps://host-only", "imaps://u:secret@host"):
        with pytest.raises(UsageError):
            parse_target(bad)
    assert "secret" not in repr(parse_target("imaps://u@h").model_copy(update={"password": "secret"}))


def test_wire_helpers():
    assert parse_uid_set("3955:3957,4000") == [3955, 3956, 3957, 4000]
    assert quote('a"b') == b'"a\\"b"'
    assert flag_list(frozenset({"\\Seen", "\\Deleted", "$label1", "bad word"})) == b"($label1 \\Seen)"
    assert internaldate(datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == b'"02-Jan-2024 03:04:05 +0000"'


def test_suggest_since():
    acc = _Acc()
    for day, size in [(1, 100), (2, 100), (3, 100), (4, 100)]:
        acc.dates.append(datetime(2024, 1, day, 12, tzinfo=timezone.utc).timestamp())
        acc.sizes.append(size)
    assert suggest_since(acc, 250) == "2024-01-03"
    assert suggest_since(acc, 1000) is None


def test_multiappend_outcomes_read_the_appenduid_set_once():
    ok = ImapTarget._outcomes  # noqa: SLF001 - pure: the answer to a MULTIAPPEND the server took
    assert [(o.uidvalidity, o.uid) for o in ok((b"OK", b"APPENDUID 7 10:12", b"done"), 3)] == [(7, 10), (7, 11), (7, 12)]
    assert [o.uid for o in ok((b"OK", b"APPENDUID 7 3,5:6", b""), 3)] == [3, 5, 6]
    assert [o.uid for o in ok((b"OK", b"APPENDUID 7 10:12", b""), 2)] == [10, 11]  # a short batch: as before
    assert [(o.ok, o.uid) for o in ok((b"OK", b"", b"APPEND completed"), 2)] == [(True, None), (True, None)]
