"""Server sources, the pure parts: SOURCE URLs vs paths, the source's own credentials, the journal
key without secret, the POP3 id fallback, and the read-only shape of the protocol clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.domain.config import default_state_path, parse_target, source_ident
from migrator.domain.errors import ExitCode, UsageError
from migrator.domain.remote import is_remote, parse_source_url, source_key, source_password
from migrator.imap.pop3 import Pop3Reader
from migrator.imap.source import ImapReader
from migrator.sources.remote.pop3 import MAX_UIDL, header_hash, identify


@pytest.mark.parametrize("spec", ["imaps://me@example.com@mail.example.jp", "IMAP://u@h:143", "pop3s://u@h",
                                  "pop3://u@h:110"])
def test_server_urls_are_remote(spec: str) -> None:
    assert is_remote(spec)


@pytest.mark.parametrize("spec", ["C:\\Mail\\Outlook.pst", "c:/Users/me/mail.mbox", "\\\\server\\share\\mail",
                                  "imaps:relative", "./imaps://x", "Inbox", "/var/mail/me", "https://example.com"])
def test_paths_stay_paths(spec: str) -> None:
    assert not is_remote(spec)
    assert not is_remote(Path("imaps://u@h"))  # a Path object is always a path


def test_the_cli_keeps_urls_as_strings_and_paths_as_paths() -> None:
    from migrator.cli import source_args

    assert source_args(None, None, ("imaps://u@h", "C:\\Mail\\x.pst")) == ("imaps://u@h", Path("C:\\Mail\\x.pst"))


def test_parse_source_url_defaults_and_forms() -> None:
    s = parse_source_url("imaps://me%40corp@MAIL.Example.jp")
    assert (s.scheme, s.user, s.host, s.port, s.protocol, s.implicit_tls) == (
        "imaps", "me@corp", "mail.example.jp", 993, "imap", True)
    assert parse_source_url("imap://u@h").port == 143 and not parse_source_url("imap://u@h").implicit_tls
    assert parse_source_url("pop3s://a@b@h").user == "a@b" and parse_source_url("pop3s://a@b@h").port == 995
    assert parse_source_url("pop3://u@h").port == 110 and parse_source_url("pop3://u@h").protocol == "pop3"
    assert parse_source_url("imaps://u@[::1]:1993").host == "::1"
    assert parse_source_url("pop3s://u@h:2995").url == "pop3s://u@h:2995"


@pytest.mark.parametrize("bad", ["imaps://host-only", "imaps://u@h:port", "imaps://u@h/INBOX", "ftp://u@h",
                                 "imaps://@h", "imaps://u@h:0"])
def test_bad_source_urls_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_source_url(bad)
    assert err.value.exit_code == ExitCode.USAGE


def test_a_password_in_the_url_is_refused_and_not_repeated() -> None:
    with pytest.raises(UsageError) as err:
        parse_source_url("imaps://me:hunter2@mail.example.jp")
    assert "hunter2" not in err.value.message + err.value.hint
    assert "MIGRATE_SOURCE_PASSWORD" in err.value.hint


def test_the_source_password_is_never_the_targets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = parse_source_url("imaps://u@h")
    monkeypatch.setenv("MIGRATE_PASSWORD", "the-targets")
    monkeypatch.delenv("MIGRATE_SOURCE_PASSWORD", raising=False)
    with pytest.raises(UsageError) as err:
        source_password(src, None, interactive=False)
    assert "MIGRATE_SOURCE_PASSWORD" in err.value.hint and "--source-password-file" in err.value.hint
    monkeypatch.setenv("MIGRATE_SOURCE_PASSWORD", "the-sources")
    assert source_password(src, None, interactive=False).get_secret_value() == "the-sources"
    monkeypatch.delenv("MIGRATE_SOURCE_PASSWORD")
    f = tmp_path / "pw"
    f.write_text("from-file\n", encoding="utf-8")
    assert source_password(src, f, interactive=False).get_secret_value() == "from-file"


def test_the_keyring_is_asked_under_the_source_url(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    asked: list[tuple[str, str]] = []
    fake = types.ModuleType("keyring")
    fake.get_password = lambda service, user: asked.append((service, user)) or "kept"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    monkeypatch.delenv("MIGRATE_SOURCE_PASSWORD", raising=False)
    src = parse_source_url("pop3s://u@h")
    assert source_password(src, None, interactive=False).get_secret_value() == "kept"
    assert asked == [("migrator", "pop3s://u@h:995")]


def test_the_journal_key_of_a_url_source_is_stable_and_has_no_secret(tmp_path: Path) -> None:
    target = parse_target("imaps://t@target.example")
    a = default_state_path(["IMAPS://Me@Mail.Example.jp"], target)
    b = default_state_path(["imaps://Me@mail.example.jp:993"], target)
    assert a == b, "the same account, however it is spelled"
    assert default_state_path(["imaps://other@mail.example.jp"], target) != a
    assert default_state_path(["pop3s://Me@mail.example.jp"], target) != a
    ident = source_ident(["imaps://Me@mail.example.jp", tmp_path])
    assert ident.splitlines() == sorted([str(tmp_path.resolve()), "imaps://Me@mail.example.jp:993"])
    assert source_key(tmp_path) == str(tmp_path.resolve())


READ_ONLY_FORBIDDEN = ("store", "expunge", "copy", "move", "create", "create_folder", "append", "subscribe",
                       "subscribe_folder", "delete", "delete_folder", "delete_messages", "rename", "rename_folder",
                       "add_flags", "set_flags", "remove_flags", "select_folder", "client", "dele", "rset")


def test_the_source_clients_have_no_way_to_write() -> None:
    """Structural: neither protocol client has a method that could change the source."""
    for cls in (ImapReader, Pop3Reader):
        names = {n.lower() for n in dir(cls)}
        assert not names & set(READ_ONLY_FORBIDDEN), (cls.__name__, names & set(READ_ONLY_FORBIDDEN))


def test_identify_uses_usable_uidls_and_hashes_the_rest() -> None:
    heads = {1: b"Subject: a\r\n\r\n", 2: b"Subject: b\r\n\r\n", 3: b"Subject: c\r\n\r\n", 4: b"Subject: c\r\n\r\n",
             5: b"Subject: d\r\n\r\n"}
    sizes = {1: 10, 2: 20, 3: 30, 4: 30, 5: 50}
    asked: list[int] = []

    def head(n: int) -> bytes:
        asked.append(n)
        return heads[n]

    uidls = {1: "ok-1", 2: "dup", 3: "dup", 4: "x" * (MAX_UIDL + 1)}  # 5 has none
    ids, warnings = identify(uidls, sizes, head)
    assert ids[0] == (1, "u:ok-1", 10)
    assert ids[1][1] == "h:" + header_hash(heads[2], 20)
    assert ids[2][1] == "h:" + header_hash(heads[3], 30)
    assert ids[3][1] == ids[2][1] + "#2", "equal headers and size: told apart by their order"
    assert ids[4][1] == "h:" + header_hash(heads[5], 50)
    assert asked == [2, 3, 4, 5], "TOP only for messages without a usable UIDL"
    assert len({i for _n, i, _s in ids}) == 5
    text = " ".join(warnings)
    assert "no UIDL" in text and "another message also has" in text and "longer than 70" in text
    again, _ = identify(uidls, sizes, lambda n: heads[n])
    assert again == ids, "the same maildrop gives the same ids"


def test_identify_without_uidl_at_all() -> None:
    ids, warnings = identify(None, {1: 5, 2: 6}, lambda n: b"Subject: %d\r\n\r\n" % n)
    assert all(i.startswith("h:") for _n, i, _s in ids)
    assert warnings and "has no UIDL" in warnings[0]


def test_header_hash_is_the_same_from_top_or_retr_and_any_line_ends() -> None:
    top = b"From: a@x\r\nSubject: s\r\n\r\n"
    assert header_hash(top, 100) == header_hash(b"From: a@x\nSubject: s\n\nthe body\n", 100)
    assert header_hash(top, 100) != header_hash(top, 101), "the size is part of it"
    assert len(header_hash(top, 1)) == 40


def test_gmail_like_listing_roles_virtual_folders_and_containers() -> None:
    from migrator.imap.source import ListedFolder
    from migrator.sources.remote.imap import account_folders

    listed = [ListedFolder("INBOX", "/", frozenset({"\\HasNoChildren"})),
              ListedFolder("[Gmail]", "/", frozenset({"\\Noselect", "\\HasChildren"})),
              ListedFolder("[Gmail]/All Mail", "/", frozenset({"\\All", "\\HasNoChildren"})),
              ListedFolder("[Gmail]/Starred", "/", frozenset({"\\Flagged"})),
              ListedFolder("[Gmail]/Important", "/", frozenset({"\\Important"})),
              ListedFolder("[Gmail]/Sent Mail", "/", frozenset({"\\Sent"})),
              ListedFolder("[Gmail]/Spam", "/", frozenset({"\\Junk"})),
              ListedFolder("取引先/Ａ社", "/", frozenset()),
              ListedFolder("取引先", "/", frozenset({"\\HasChildren"}))]
    folders, notes = account_folders(listed, "imaps://u@imap.gmail.com:993")
    assert [(f.display, f.role) for f in folders] == [
        ("INBOX", "inbox"), ("[Gmail]/Sent Mail", "sent"), ("[Gmail]/Spam", "junk"), ("取引先", None),
        ("取引先/Ａ社", None)]
    assert len(notes) == 3 and any(n.startswith("[Gmail]/All Mail: not copied") for n in notes)
