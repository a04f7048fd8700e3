"""PstSource on the real Outlook files in shared/fixtures/pst (see NOTICE.md there).

readpst (Debian pst-utils), when installed, is the independent oracle: it must find the same mail
items, subjects and attachment names as we do.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from migrator.domain import records as base
from migrator.domain.errors import SourceError
from migrator.domain.records import Folder, MessageRecord
from migrator.sources.pst.reader import PstSource, detect
from tests.support.pst_oracle import READPST, attachment_names, parse, readpst_export

pytestmark = pytest.mark.pst

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pst"
ALL = sorted(FIXTURES.glob("*.pst")) if FIXTURES.is_dir() else []
NO_FIXTURES = pytest.mark.skip(reason=f"PST fixtures not found in {FIXTURES}")
# Parts readpst or we add for the RTF body: not attachments of the original message.

Records = list[tuple[Folder, MessageRecord]]
Reader = Callable[[Path], tuple[list[Folder], Records]]


def fixture_params() -> list[object]:
    if not ALL:
        return [pytest.param(None, marks=NO_FIXTURES)]
    return [pytest.param(p, id=p.stem) for p in ALL]


def fixture(name: str) -> Path:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"fixture {name} not found in {FIXTURES}")
    return path


@pytest.fixture(scope="module")
def read_all() -> Reader:
    """Folders and every record of a PST, read once per file for the whole module."""
    cache: dict[Path, tuple[list[Folder], Records]] = {}

    def read(path: Path) -> tuple[list[Folder], Records]:
        if path not in cache:
            with PstSource(path) as src:
                folders = src.folders()
                cache[path] = (folders, [(f, r) for f in folders for r in src.messages(f)])
        return cache[path]

    return read


def mails(records: Records) -> list[MessageRecord]:
    return [r for _, r in records if not r.skip_reason and not r.error]


# ----------------------------------------------------------------------------- every fixture


@pytest.mark.parametrize("pst", fixture_params())
def test_every_mail_parses_with_from_date_subject(pst: Path, read_all: Reader) -> None:
    folders, records = read_all(pst)
    assert detect(pst)
    now = datetime.now(timezone.utc)
    for folder, rec in records:
        assert rec.folder == folder
        assert rec.stable_id.startswith("pst:")
        assert rec.date.tzinfo is not None
        assert rec.date < now - timedelta(days=1), "INTERNALDATE must never be the time of reading"
        assert base.DELETED not in rec.flags
        assert "nid" in rec.locator
        assert not rec.error, rec.error
        if rec.skip_reason:
            assert rec.raw == b""
            continue
        msg = parse(rec.raw)
        assert not msg.defects, (rec.locator, msg.defects)
        assert msg["From"] and "MAILER-DAEMON" not in str(msg["From"]).upper(), rec.locator
        assert msg["Subject"] is not None, rec.locator
        date = email.utils.parsedate_to_datetime(msg["Date"])
        assert date.year >= 1990 and date < now - timedelta(days=1), rec.locator
        assert b"\r\n" in rec.raw and b"\n" not in rec.raw.replace(b"\r\n", b"")
    ids = [r.stable_id for _, r in records]
    assert len(ids) == len(set(ids))
    for folder in folders:
        assert folder.path and all(folder.path), folder
        assert folder.role in (None, *base.ROLES)
    paths = [f.path for f in folders]
    assert len(paths) == len(set(paths))
    roles = [f.role for f in folders if f.role]
    assert len(roles) == len(set(roles)), "one folder per role"


@pytest.mark.parametrize("pst", fixture_params())
@pytest.mark.skipif(READPST is None, reason="readpst (pst-utils) not installed: no independent oracle")
def test_same_mail_as_readpst(pst: Path, tmp_path: Path, read_all: Reader) -> None:
    _, records = read_all(pst)
    ours = [parse(r.raw) for r in mails(records)]
    theirs = readpst_export(pst, tmp_path)
    assert len(ours) == len(theirs)
    assert sorted(str(m["Subject"] or "") for m in ours) == sorted(s for s, _ in theirs)
    assert Counter(n for m in ours for n in attachment_names(m)) == Counter(n for _, ns in theirs for n in ns)


@pytest.mark.parametrize("pst", fixture_params())
def test_source_file_is_never_modified(pst: Path) -> None:
    before = (hashlib.sha256(pst.read_bytes()).hexdigest(), pst.stat().st_mtime_ns, pst.stat().st_size)
    with PstSource(pst) as src:
        for folder in src.folders():
            for _ in src.messages(folder):
                pass
    assert (hashlib.sha256(pst.read_bytes()).hexdigest(), pst.stat().st_mtime_ns, pst.stat().st_size) == before


@pytest.mark.parametrize("pst", fixture_params())
def test_reading_twice_gives_the_same_bytes(pst: Path, read_all: Reader) -> None:
    _, first = read_all(pst)
    with PstSource(pst) as src:
        second = [(f, r) for f in src.folders() for r in src.messages(f)]
    assert [(r.stable_id, r.raw, r.flags, r.date) for _, r in first] == \
        [(r.stable_id, r.raw, r.flags, r.date) for _, r in second]


# ----------------------------------------------------------------------------- folders and roles


def roles_of(folders: list[Folder]) -> dict[str, tuple[str, ...]]:
    return {f.role: f.path for f in folders if f.role}


def test_roles_from_store_entry_ids(read_all: Reader) -> None:
    folders, _ = read_all(fixture("javalibpst-dist-list.pst"))
    assert roles_of(folders) == {
        base.ROLE_INBOX: ("Inbox",), base.ROLE_SENT: ("Sent Items",), base.ROLE_DRAFTS: ("Drafts",),
        base.ROLE_TRASH: ("Deleted Items",), base.ROLE_JUNK: ("Junk E-mail",), base.ROLE_OUTBOX: ("Outbox",),
    }
    paths = {f.path for f in folders}
    # Only the IPM subtree, without its own name; no search folders, views or Freebusy data.
    assert ("Calendar",) in paths and ("Contacts",) in paths
    assert not paths & {("Top of Personal Folders",), ("Search Root",), ("IPM_VIEWS",), ("Freebusy Data",),
                        ("SPAM Search Folder 2",), ("Search Root", "All Messages")}


@pytest.mark.parametrize("name", ["rubymsg-200-recipients.pst", "rubymsg-attachAndInline.pst", "rubymsg-msgInMsg.pst"])
def test_japanese_outlook_deleted_items_is_trash(name: str, read_all: Reader) -> None:
    folders, records = read_all(fixture(name))
    assert roles_of(folders)[base.ROLE_TRASH] == ("削除済みアイテム",)
    assert all("Outlook データ ファイルのトップ" not in f.path for f in folders)
    assert all(r.folder.path != ("検索ルート",) for _, r in records)
    # The one message sits at the top of the store: its folder is named after the store.
    assert len(mails(records)) == 1


def test_french_and_italian_stores(read_all: Reader) -> None:
    folders, _ = read_all(fixture("aleph-testPST.pst"))
    assert roles_of(folders) == {base.ROLE_TRASH: ("Éléments supprimés",)}
    folders, _ = read_all(fixture("gopst-support.pst"))
    roles = roles_of(folders)
    assert roles[base.ROLE_TRASH] == ("Deleted Items",)  # PR_IPM_WASTEBASKET_ENTRYID wins over names
    assert roles[base.ROLE_INBOX] == ("Posta in arrivo",)  # no entry id in this store: the Italian name
    assert ("Recoverable Items", "Deletions") in {f.path for f in folders}


# ----------------------------------------------------------------------------- items


def test_non_mail_items_are_skipped_with_a_reason(read_all: Reader) -> None:
    _, records = read_all(fixture("javalibpst-dist-list.pst"))
    assert sorted((r.folder.display, r.skip_reason) for _, r in records) == [
        ("Calendar", "calendar item"), ("Contacts", "contact"), ("Contacts", "distribution list"),
    ]
    _, records = read_all(fixture("pstsdk-test_unicode.pst"))
    assert [r.skip_reason for _, r in records] == ["post item", "post item"]
    _, records = read_all(fixture("gopst-32-bit.pst"))
    assert [r.skip_reason for _, r in records] == ["calendar item"]


def test_passworded_pst_is_read_and_flagged(read_all: Reader) -> None:
    path = fixture("javalibpst-passworded.pst")
    with PstSource(path) as src:
        src.folders()
        assert src.password_protected  # PR_PST_PASSWORD is only Outlook's UI lock: the data is readable
    _, records = read_all(path)
    assert sorted(r.skip_reason or "" for _, r in records) == ["contact", "distribution list"]


def test_received_mail_keeps_its_headers(read_all: Reader) -> None:
    _, records = read_all(fixture("pstsdk-sample1.pst"))
    (rec,) = mails(records)
    msg = parse(rec.raw)
    assert msg["Message-ID"] == "<B2FDDB8BE384C94794441DB4A7F3D8B804AE624B@TK5EX14MBXC114.redmond.corp.microsoft.com>"
    assert msg["Date"] == "Mon, 15 Mar 2010 10:12:05 -0700"
    assert msg["Received"].startswith("from TK5EX14MBXC114")
    assert "ms-tnef" not in rec.raw.decode("ascii", "replace")  # the old body description is gone
    assert msg.get_content_type() == "multipart/mixed"
    assert msg.get_body(("plain",)).get_content().startswith("With a sample attachment. It’s my daughter")
    (jpg,) = [p for p in msg.walk() if p.get_filename() == "leah_thumper.jpg"]
    assert jpg.get_content_type() == "image/jpeg" and jpg.get_content()[:2] == b"\xff\xd8"
    assert rec.flags == {base.SEEN, base.FLAGGED}
    assert rec.date == datetime(2010, 3, 15, 17, 12, 7, 951519, tzinfo=timezone.utc)  # PR_MESSAGE_DELIVERY_TIME
    assert rec.stable_id == "pst:2097188"
    assert rec.locator == 'Sample1, item nid 2097188, "Here is a sample message"'


def test_outlook_draft_without_headers_is_synthesized(read_all: Reader) -> None:
    _, records = read_all(fixture("rubymsg-attachAndInline.pst"))
    (rec,) = mails(records)
    msg = parse(rec.raw)
    assert str(msg["From"]) == "xmailuser@xmailserver.test"  # the account: the item has no sender
    assert str(msg["To"]) == "xmailuser@xmailserver.test"
    assert msg["Subject"] == "Attach and inline"
    assert base.DRAFT in rec.flags and base.SEEN in rec.flags
    # HTML recovered from \fromhtml1 RTF, the inline image in multipart/related with its Content-ID.
    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    html, image = related.get_payload()
    assert 'src="cid:image001.png@01D78380.EF6DC500"' in html.get_content()
    assert image["Content-ID"] == "<image001.png@01D78380.EF6DC500>"
    assert [p.get_filename() for p in msg.walk() if p.get_content_disposition() == "attachment"] == ["attach.png"]


def test_embedded_messages_are_message_rfc822(read_all: Reader) -> None:
    _, records = read_all(fixture("rubymsg-msgInMsg.pst"))
    (rec,) = mails(records)
    assert "warning" not in rec.extra
    msg = parse(rec.raw)
    (part,) = [p for p in msg.walk() if p.get_content_type() == "message/rfc822"]
    inner = part.get_content()
    assert inner["Subject"] == "Microsoft Outlook テスト メッセージ"
    assert inner["Received"].startswith("from H270")
    assert "この電子メール メッセージは" in inner.get_body(("plain", "html")).get_content()
    _, records = read_all(fixture("pstsdk-submessage.pst"))
    (rec,) = mails(records)
    (part,) = [p for p in parse(rec.raw).walk() if p.get_content_type() == "message/rfc822"]
    assert part.get_content()["Subject"] == "This is an embedded message"


def test_two_hundred_recipients(read_all: Reader) -> None:
    _, records = read_all(fixture("rubymsg-200-recipients.pst"))
    (rec,) = mails(records)
    msg = parse(rec.raw)
    addresses = [a.addr_spec for name in ("To", "Cc") if msg[name] for a in msg[name].addresses]
    assert len(addresses) == 200
    assert all(len(line) <= 998 for line in rec.raw.split(b"\r\n"))


# ----------------------------------------------------------------------------- bad input


def test_not_a_pst_or_truncated_is_a_source_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pst"
    junk.write_bytes(b"this is not an Outlook file" * 100)
    with pytest.raises(SourceError) as err:
        PstSource(junk)
    assert str(junk) in err.value.message
    missing = tmp_path / "missing.pst"
    with pytest.raises(SourceError) as err:
        PstSource(missing)
    assert str(missing) in err.value.message
    truncated = tmp_path / "truncated.pst"
    truncated.write_bytes(fixture("aleph-testPST.pst").read_bytes()[:150_000])
    with pytest.raises(SourceError) as err:
        PstSource(truncated)
    assert str(truncated) in err.value.message and "truncated or corrupt" in err.value.message


def test_one_damaged_item_is_reported_and_the_others_are_read(tmp_path: Path) -> None:
    data = bytearray(fixture("aleph-testPST.pst").read_bytes())
    data[22528:22528 + 512] = b"\xff" * 512  # a block of the folder's contents table (found by trying)
    damaged = tmp_path / "damaged.pst"
    damaged.write_bytes(bytes(data))
    with PstSource(damaged) as src:
        records = [r for f in src.folders() for r in src.messages(f)]
    failed = [r for r in records if r.error]
    assert len(failed) == 1 and len(mails([(r.folder, r) for r in records])) == 5
    assert str(damaged) in failed[0].error and "hong-thai.nguyen" in failed[0].error
    assert failed[0].raw == b"" and failed[0].stable_id.startswith("pst:")


def test_missing_libpff_is_a_source_error_with_a_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import builtins

    real_import = builtins.__import__

    def broken(name: str, *args: object, **kwargs: object) -> object:
        if name == "pypff":
            raise ImportError("libpff.so: undefined symbol")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(SourceError) as err:
        PstSource(tmp_path / "any.pst")
    assert err.value.hint == "pip install --force-reinstall libpff-python"


def test_embedded_message_without_the_c_accessor_is_kept_as_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds of pypff that do not export libpff's symbols (Windows): no data is dropped silently."""
    from migrator.sources.pst import reader as pst

    monkeypatch.setattr(pst.EmbeddedOpener, "open", lambda self, attachment: None)
    with PstSource(fixture("pstsdk-submessage.pst")) as src:
        (rec,) = [r for f in src.folders() for r in src.messages(f) if not r.skip_reason]
    assert "attached message could not be decoded" in rec.extra["warning"]
    names = attachment_names(parse(rec.raw))
    assert names == ["This is an embedded message.bin"]


def test_messages_stream_one_at_a_time() -> None:
    import inspect

    with PstSource(fixture("gopst-support.pst")) as src:
        sent = next(f for f in src.folders() if f.path == ("Sent Messages",))
        stream = src.messages(sent)
        assert inspect.isgenerator(stream)
        first = next(stream)
        assert first.raw and first.stable_id == "pst:2097380"
        assert sum(1 for _ in stream) == 10


def test_items_settled_earlier_are_not_converted_again() -> None:
    """A re-run during the parallel run asks `known(stable id, modification time)` first: those
    items come back light (no MIME building); the others are converted as usual."""
    pst = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pst" / "gopst-support.pst"
    if not pst.exists():
        pytest.skip(f"{pst} not found (../shared is absent)")
    with PstSource(pst) as src:
        full = {r.stable_id: r for f in src.folders() for r in src.messages(f) if r.skip_reason is None}
        stamps = {sid: int(r.extra["source_size"]) for sid, r in full.items()}
        half = set(sorted(stamps)[: len(stamps) // 2])
        again = [r for f in src.folders()
                 for r in src.messages(f, known=lambda sid, st: sid in half and stamps.get(sid) == st)]
    light = [r for r in again if r.extra.get("known")]
    assert {r.stable_id for r in light} == half
    assert all(r.raw == b"" and r.extra["size"] == str(stamps[r.stable_id]) for r in light)
    assert all(r.date == full[r.stable_id].date for r in light), "same INTERNALDATE as the full read"
    assert [r.raw for r in again if not r.extra.get("known") and r.stable_id in full] == \
        [full[r.stable_id].raw for r in again if not r.extra.get("known") and r.stable_id in full]
