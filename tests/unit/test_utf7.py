"""migrator/imap/utf7.py (the wrapper of imapclient.imap_utf7) and domain.folders.utf7_length."""

from __future__ import annotations

import pytest
from imapclient import imap_utf7

from migrator.domain.folders import utf7_length
from migrator.imap import utf7

NAMES = ["INBOX", "取引先", "Ａ社", "送信済みアイテム", "受信トレイ/2024年", "Work & Play", "&", "&&", "a-b",
         "~peter/mail/台北/日本語", "😀 emoji", "é", "日本&語", "\t tab", ""]


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_and_same_bytes_as_imapclient(name: str) -> None:
    enc = utf7.encode(name)
    assert isinstance(enc, str) and enc.isascii()
    assert enc == imap_utf7.encode(name).decode("ascii")
    assert utf7.decode(enc) == name
    assert utf7_length(name) == len(enc)


def test_known_forms() -> None:
    """RFC 3501 section 5.1.3's own example and our usual names."""
    assert utf7.encode("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
    assert utf7.encode("Work & Play") == "Work &- Play"
    assert utf7.encode("取引先") == "&U9ZfFVFI-"
    assert utf7.decode("&U9Zf FVFI-") == "&U9Zf FVFI-"


@pytest.mark.parametrize("bad", ["&Jjo", "&abc", "&Jjo!-", "取引先", "plain&", "&!-", "&AGEAYgBj-"])
def test_a_name_that_is_not_modified_utf7_stays_as_it_is(bad: str) -> None:
    """A directory name that is plain UTF-8, has a stray '&', a bad base64 run, or the
    non-canonical form (printable ASCII inside base64, "&AGEAYgBj-" = "abc"): unchanged, never
    an exception. Note: the former own codec decoded the non-canonical form to "abc";
    imapclient does too; we keep it as it is, since RFC 3501 forbids that form and a
    server never writes it."""
    assert utf7.decode(bad) == bad
