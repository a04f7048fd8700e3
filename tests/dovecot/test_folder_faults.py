"""Issue 16 kinds 4 and 6 against the real Dovecot: folder names the server refuses or that
collide get distinct, stable names (shown in `plan`, used by `verify`); a folder the server still
refuses fails alone; a keyword the server refuses is dropped, never the message."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.dovecot.test_e2e import migrate_cmd
from tests.support.corpus import Item, msg, write_mbox_tree

pytestmark = pytest.mark.dovecot

LONG = "Projekt " + "x" * 230  # a file name Linux takes; a folder name Dovecot refuses (> 255 bytes with its prefix)


def _migrate(args: list[str], user, state: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(migrate_cmd() + args + ["--target", user.url_imaps, "--state", str(state), "-q", *extra],
                          env={**os.environ, **user.env}, capture_output=True, text=True, timeout=180)


def _server(user) -> dict[str, list[set[str]]]:
    """{folder: [flags of each message]} for every non-empty folder."""
    out: dict[str, list[set[str]]] = {}
    with user.client() as c:
        for _f, _d, name in c.list_folders():
            if b"\\Noselect" in _f:
                continue
            if not c.select_folder(name, readonly=True)[b"EXISTS"]:
                continue
            data = c.fetch(c.search("ALL"), ["FLAGS"])
            out[name] = [{f.decode() for f in d[b"FLAGS"] if f != b"\\Recent"} for _, d in sorted(data.items())]
    return out


def _tree(root: Path) -> dict[tuple[str, ...], int]:
    """An mbox tree whose names collide or are refused as they are; {path: messages}."""
    folders = {("Reports",): 2, ("Reports ",): 1, ("chess.com",): 1, ("chess_com",): 2, ("Work",): 1,
               ("work",): 1, ("Bad\x01Name",): 1, ("~home",): 1, (LONG,): 1, ("Inbox",): 1, ("INBOX",): 1}
    n = 0
    items = {}
    for path, count in folders.items():
        its = []
        for _ in range(count):
            n += 1
            its.append(Item(msg(f"message {n}", f"body {n}\n", n=n), frozenset({"\\Seen"})))
        items[path] = its
    write_mbox_tree(root, items)
    return folders


def _check_distinct(user, folders: dict[tuple[str, ...], int], plan_out: str, delimiter: str) -> None:
    server = _server(user)
    assert sum(len(v) for v in server.values()) == sum(folders.values()), server
    assert len(server) == len(folders), f"each source folder has its own target folder: {sorted(server)}"
    assert "Reports  -> Reports (2)" in plan_out or "Reports -> Reports (2)" in plan_out, plan_out
    assert len(server["Reports"]) == 2 and len(server["Reports (2)"]) == 1
    assert len(server["Work"]) == 1 and len(server["work (2)"]) == 1
    assert "Bad_Name" in server and "_home" in server and "Inbox (2)" in server
    long_name = next(n for n in server if n.startswith("Projekt "))
    assert len(long_name) <= 200 and "~" in long_name, long_name
    if delimiter == ".":
        assert len(server["chess_com"]) == 2 and len(server["chess_com (2)"]) == 1
    else:
        assert len(server["chess_com"]) == 2 and len(server["chess.com"]) == 1


@pytest.mark.parametrize("layout", ["fs", "maildir++"])
def test_colliding_and_refused_names_get_distinct_stable_names(tmp_path: Path, layout, make_dovecot,
                                                               make_imap_user):
    if layout == "fs":
        user = make_imap_user()
        delimiter = "/"
    else:
        user = make_imap_user(sandbox=make_dovecot(separator=".", layout="maildir++"))
        delimiter = "."
    folders = _tree(tmp_path / "mail")
    state = tmp_path / "s.db"
    plan = _migrate(["plan", str(tmp_path / "mail")], user, state)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "Folder names changed for the server" in plan.stdout
    assert "control characters replaced" in plan.stdout and "shortened" in plan.stdout
    r = _migrate(["run", str(tmp_path / "mail")], user, state)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    _check_distinct(user, folders, plan.stdout, delimiter)
    again = _migrate(["run", str(tmp_path / "mail")], user, state, "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["uploaded"] == 0, "a second run lands on the same names"
    fresh = _migrate(["run", str(tmp_path / "mail")], user, tmp_path / "other.db", "--json")
    assert fresh.returncode == 0 and json.loads(fresh.stdout)["uploaded"] == 0, fresh.stdout + fresh.stderr
    v = _migrate(["verify", str(tmp_path / "mail")], user, state)
    assert v.returncode == 0, v.stdout + v.stderr
    _check_distinct(user, folders, plan.stdout, delimiter)


ACL = "Locked owner lrwstipe\n"  # no 'k': nothing may be created under Locked


def test_folder_the_server_refuses_fails_alone(tmp_path: Path, make_dovecot, make_imap_user, request):
    # Dovecot's mail process must read it: not under pytest's private (0700) temp dir
    acl_dir = Path(tempfile.mkdtemp(prefix="migrate-acl-"))
    request.addfinalizer(lambda: shutil.rmtree(acl_dir, ignore_errors=True))
    acl_dir.chmod(0o755)
    acl = acl_dir / "global-acl"
    acl.write_text(ACL)
    acl.chmod(0o644)
    sandbox = make_dovecot(extra_config="protocol imap {\n  mail_plugins = $mail_plugins acl imap_acl\n}\n"
                                        f"plugin {{\n  acl = vfile:{acl}\n}}\n")
    user = make_imap_user(sandbox=sandbox)
    write_mbox_tree(tmp_path / "mail", {
        ("Fine",): [Item(msg("fine 1", n=1)), Item(msg("fine 2", n=2))],
        ("Locked", "child"): [Item(msg("locked 1", n=3)), Item(msg("locked 2", n=4)), Item(msg("locked 3", n=5))],
        ("Later",): [Item(msg("later 1", n=6))],
    })
    state = tmp_path / "s.db"
    r = _migrate(["run", str(tmp_path / "mail")], user, state, "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    stats = json.loads(r.stdout)
    assert stats["in_scope"] == 6 and stats["uploaded"] == 3 and stats["failed"] == 3
    assert stats["in_scope"] == stats["uploaded"] + stats["already"] + stats["duplicates"] + stats["failed"]
    reasons = {f["reason"] for f in stats["failures"]}
    assert reasons == {"folder could not be created: [NOPERM] Permission denied"}, reasons
    assert all(f["quarantine"] is None for f in stats["failures"])
    server = _server(user)
    assert len(server["Fine"]) == 2 and len(server["Later"]) == 1
    text = _migrate(["run", str(tmp_path / "mail")], user, state)
    assert text.returncode == 1 and "folder could not be created" in text.stdout + text.stderr
    assert "Traceback" not in text.stderr


def test_refused_keyword_is_dropped_not_the_message(tmp_path: Path, imap_user):
    long_kw = "k" * 60  # Dovecot: mail_max_keyword_length = 50 -> NO [CANNOT] Keyword length too long
    items = [Item(msg(f"tagged {i}", n=i, extra=f"X-Mozilla-Keys: $ok {long_kw if i % 2 else ''}"),
                  frozenset({"\\Seen"})) for i in range(1, 7)]
    write_mbox_tree(tmp_path / "mail", {("Tags",): items})
    state = tmp_path / "s.db"
    r = _migrate(["run", str(tmp_path / "mail")], imap_user, state, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    stats = json.loads(r.stdout)
    assert stats["uploaded"] == 6 and stats["failed"] == 0
    assert any("refused by the server" in w and long_kw in w and "uploaded without them" in w for w in stats["warnings"]), stats["warnings"]
    flags = _server(imap_user)["Tags"]
    assert len(flags) == 6
    assert all("\\Seen" in f for f in flags), "system flags are kept"
    assert all(long_kw not in f for f in flags)
    assert sum("$ok" in f for f in flags) == 6, "only the refused keyword is dropped: $ok stays on every message"
    assert not any("$ok" in w for w in stats["warnings"]), stats["warnings"]
    assert not list((tmp_path).rglob("*.eml")), "nothing is quarantined for a flag"
    v = _migrate(["verify", str(tmp_path / "mail")], imap_user, state)
    assert v.returncode == 0, v.stdout + v.stderr
