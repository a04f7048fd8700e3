"""`migrate archive`: what a diet leaves local, as a standalone mbox tree (Thunderbird Local
Folders) or Maildir++, read back with Python's `mailbox` module (an independent reader). With
a real diet run against Dovecot: archive + server = the whole source, ledger = archive."""

from __future__ import annotations

import hashlib
import json
import mailbox
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from migrator.imap import utf7
from tests.dovecot.test_quota_diet import (
    crlf,
    db_rows,
    expected,
    half_quota_setup,
    migrate,
    nonempty,
    server,
)

SOURCE_DIR = {"INBOX": ("Inbox",), "Sent": ("Sent",), "Trash": ("Trash",), "取引先/Ａ社": ("取引先", "Ａ社")}


def archive(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MIGRATE_PASSWORD"}
    return subprocess.run([sys.executable, "-m", "migrator", "archive", *args, "-q"], env=env,
                          capture_output=True, text=True, timeout=120)


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root: content hash and mtime (the source must stay untouched)."""
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def unquote_mboxrd(raw: bytes) -> bytes:
    return re.sub(rb"(?m)^>(>*From )", rb"\1", raw)


def strip_mozilla_status(raw: bytes) -> tuple[bytes, int | None]:
    m = re.match(rb"X-Mozilla-Status: ([0-9a-f]{4})\r?\nX-Mozilla-Status2: 0{8}\r?\n", raw)
    return (raw[m.end():], int(m.group(1), 16)) if m else (raw, None)


def read_mbox_tree(root: Path) -> dict[str, list[tuple[bytes, int | None]]]:
    """Folder path ("取引先/Ａ社") -> [(message bytes, X-Mozilla-Status)] from `Name` files and `Name.sbd/`."""
    out: dict[str, list[tuple[bytes, int | None]]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).parts
        name = "/".join(p[:-4] if p.endswith(".sbd") else p for p in rel)
        box = mailbox.mbox(path, create=False)
        msgs = []
        for key in box.keys():  # noqa: SIM118 - a Mailbox iterates messages, not keys
            raw = box.get_bytes(key)
            msgs.append(strip_mozilla_status(unquote_mboxrd(raw)))
        box.close()
        if msgs:
            out[name] = msgs
    return out


def digest(raw: bytes) -> str:
    return hashlib.sha256(crlf(raw)).hexdigest()


def test_archive_holds_exactly_what_the_diet_left_local(tmp_path: Path, make_imap_user):
    src, mails, total, user, state = half_quota_setup(tmp_path, make_imap_user)
    since = json.loads(migrate(["plan", str(src), "--json"], user, state).stdout)["quota"]["suggested_since"]
    assert migrate(["run", str(src), "--since", since], user, state).returncode == 0
    old = [m for m in mails if m.day < since]
    before = snapshot(src)

    r = archive([str(src), "--until", since, "--to", str(tmp_path / "arch"), "--json"])
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["messages"] == len(old) and report["in_upload_range"] == len(mails) - len(old)
    assert snapshot(src) == before  # the source is only read

    tree = read_mbox_tree(tmp_path / "arch")
    got = {target: Counter(digest(raw) for raw, _s in tree.get("/".join(parts), []))
           for target, parts in SOURCE_DIR.items()}
    assert nonempty(got) == expected(old)  # exactly the left-out mail, nothing else
    assert (tmp_path / "arch" / "取引先").is_file() and (tmp_path / "arch" / "取引先.sbd" / "Ａ社").is_file()

    ledger = db_rows(state, "SELECT target, fingerprint, size FROM ledger")
    archived = Counter((t, hashlib.sha256(crlf(raw)).hexdigest(), len(crlf(raw)))
                       for t, parts in SOURCE_DIR.items() for raw, _s in tree.get("/".join(parts), []))
    assert Counter(ledger) == archived  # the ledger and the archive account for the same messages

    on_server = nonempty(server(user))
    for folder, want in expected(mails).items():  # server + archive = everything, each once
        assert on_server.get(folder, Counter()) + got.get(folder, Counter()) == want
        assert not set(on_server.get(folder, Counter())) & set(got.get(folder, Counter()))


def mbox_items(n: int = 6):
    from tests.support.corpus import Item, msg

    body = "Look:\nFrom here on it is quoted\n>From also this\n>>From and this\n"
    return [Item(msg(f"m{i}", body + f"number {i}\n", n=i, date=f"Mon, 0{i + 1} Jan 2018 10:00:00 +0000"),
                 frozenset({"\\Seen", "\\Flagged"}) if i % 2 else frozenset(),
                 from_line_date=f"Mon Jan  {i + 1} 10:00:00 2018") for i in range(n)]


def test_mbox_archive_quotes_from_lines_and_keeps_flags(tmp_path: Path):
    from tests.support.corpus import mbox_bytes_as_uploaded, write_mbox_tree

    items = mbox_items()
    write_mbox_tree(tmp_path / "src", {("Inbox",): items, ("Work & Play",): items[:2]})
    r = archive([str(tmp_path / "src"), "--until", "2018-01-04", "--to", str(tmp_path / "a")])
    assert r.returncode == 0, r.stderr
    assert "Archived 5 messages" in r.stdout
    tree = read_mbox_tree(tmp_path / "a")
    assert sorted(tree) == ["Inbox", "Work & Play"]
    assert [raw for raw, _s in tree["Inbox"]] == [mbox_bytes_as_uploaded(it) for it in items[:3]]
    assert [s for _r, s in tree["Inbox"]] == [0, 5, 0]  # read + marked, as Thunderbird writes it
    raw = (tmp_path / "a" / "Inbox").read_bytes()
    assert b"\n>From here on" in raw and b"\n>>From also this" in raw and b"\n>>>From and this" in raw
    assert raw.startswith(b"From - Mon Jan  1 10:00:00 2018\n")

    again = archive([str(tmp_path / "src"), "--until", "2018-01-04", "--to", str(tmp_path / "a")])
    assert again.returncode == 2 and "not an empty directory" in again.stderr  # never writes into mail


def test_maildir_archive_reads_back(tmp_path: Path):
    from tests.support.corpus import mbox_bytes_as_uploaded, write_mbox_tree

    items = mbox_items()
    write_mbox_tree(tmp_path / "src", {("Inbox",): items, ("取引先", "Ａ社"): items[:4], ("a.b",): items[:1]})
    r = archive([str(tmp_path / "src"), "--until", "2018-01-03", "--to", str(tmp_path / "md"),
                 "--format", "maildir", "--json"])
    assert r.returncode == 0, r.stderr
    root = mailbox.Maildir(tmp_path / "md", factory=None, create=False)
    sub_name = utf7.encode("取引先") + "." + utf7.encode("Ａ社")
    assert sorted(root.list_folders()) == sorted([sub_name, "a_b"])
    inbox = sorted((root.get_message(k).get_date(), root.get_bytes(k), root.get_message(k).get_flags())
                   for k in root.keys())  # noqa: SIM118 - a Mailbox iterates messages
    assert [b for _d, b, _f in inbox] == [mbox_bytes_as_uploaded(it) for it in items[:2]]
    assert [f for _d, _b, f in inbox] == ["", "FS"]
    sub = root.get_folder(sub_name)
    assert len(sub) == 2
    assert sorted(p.stat().st_mtime for p in (tmp_path / "md" / "cur").iterdir()) == [
        1514800800.0, 1514887200.0]  # the date, as Dovecot and mutt expect it
    assert not any(p.name.startswith(".md") for p in tmp_path.iterdir())  # no leftover staging directory
