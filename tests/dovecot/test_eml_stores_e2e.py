"""Issue 19 items 2-4 end to end: a Windows Live Mail store (Japanese folder names, a 0-byte
placeholder), a plain folder of .eml files, an Apple Mail V10 store (plist flags, date-received,
nested mailboxes, a partial message, a deleted one) and an Outlook Express folder of .dbx files
(through a stand-in for undbx: no .dbx writer exists) are migrated into the real Dovecot by the
installed `migrate`; a separate client reads the server back. Expectations come from the store
builders (tests/support/stores.py), not from the readers."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.dovecot.test_e2e import assert_server_holds, migrate_cmd
from tests.dovecot.test_thunderbird_e2e import read_server
from tests.support.stores import (
    Expected,
    write_applemail,
    write_dbx_store,
    write_eml_folder,
    write_fake_undbx,
    write_wlm,
)

pytestmark = pytest.mark.dovecot

ROLES = {"Sent": "sent", "Drafts": "drafts", "Trash": "trash", "Junk": "junk"}  # the sandbox's special-use folders


def _wlm(tmp: Path) -> tuple[Path, Expected]:
    return tmp / "Windows Live Mail", write_wlm(tmp / "Windows Live Mail")


def _eml(tmp: Path) -> tuple[Path, Expected]:
    return tmp / "saved", write_eml_folder(tmp / "saved")


def _apple(tmp: Path) -> tuple[Path, Expected]:
    return tmp / "Mail", write_applemail(tmp / "Mail")


def _dbx(tmp: Path) -> tuple[Path, Expected]:
    write_fake_undbx(tmp / "bin")
    return tmp / "Outlook Express", write_dbx_store(tmp / "Outlook Express")


STORES: dict[str, Callable[[Path], tuple[Path, Expected]]] = {"wlm": _wlm, "eml": _eml, "applemail": _apple,
                                                               "dbx": _dbx}


def _files(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("kind", sorted(STORES))
def test_store_migrates_exactly(kind: str, tmp_path: Path, make_imap_user) -> None:
    user = make_imap_user()
    source, want = STORES[kind](tmp_path / "store")
    before = _files(source)
    env = {**os.environ, **user.env, "PATH": f"{tmp_path / 'store' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
           "XDG_DATA_HOME": str(tmp_path / "data")}  # where undbx's extraction goes (beside default states)

    def migrate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(migrate_cmd() + list(args) + [str(source), "--target", user.url_imaps,
                                                             "--state", str(tmp_path / "s.db"), "-q", "--json"],
                              env=env, capture_output=True, text=True, timeout=300)

    r = migrate("run")
    assert r.returncode == (1 if want.failed else 0), r.stdout + r.stderr
    stats = json.loads(r.stdout)
    assert (stats["uploaded"], stats["skipped"], stats["failed"]) == (want.uploaded, want.skipped, want.failed), stats
    assert stats["in_scope"] == stats["uploaded"] + stats["already"] + stats["duplicates"] + stats["failed"]

    delim, specials, server = read_server(user)
    assert_server_holds({k: [(b, set(f), d) for b, f, d in v] for k, v in server.items()},
                        {name.replace("/", delim): msgs for name, msgs in want.folders.items()})
    for name in want.folders:
        if name in ROLES:
            assert specials[ROLES[name]] == name, f"{name}: the role's special-use folder"

    r = migrate("run")
    assert r.returncode == (1 if want.failed else 0), r.stdout + r.stderr
    again = json.loads(r.stdout)
    assert again["uploaded"] == 0 and again["already"] == want.uploaded, again
    assert read_server(user)[2] == server, "a second run adds nothing"
    assert _files(source) == before, "the source is read-only (invariant 1)"
    if kind == "dbx":
        extract = tmp_path / "data" / "migrator" / "extract"
        assert not extract.exists() or not any(extract.iterdir()), "the extraction is removed after the run"
