"""Issue 21 with issue 19's server sources: a manifest row whose source is an old IMAP account
(`imaps://user@host`) with its own `source_secret` reference runs like any other mailbox; the
source account is unchanged and the target holds each message once; a second `batch run` adds
nothing. A source secret that is a bare password is refused like `secret`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.dovecot.test_e2e import migrate_cmd
from tests.support.corpus import msg

pytestmark = pytest.mark.dovecot


def _env(user: Any, tmp: Path) -> dict[str, str]:
    env = {**os.environ, "SSL_CERT_FILE": user.cafile, "MIGRATE_LOCK_DIR": str(tmp / "locks"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for k in ("MIGRATE_PASSWORD", "MIGRATE_SOURCE_PASSWORD"):
        env.pop(k, None)
    return env


def _held(user: Any) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    with user.client() as c:
        for name in ("INBOX", "Sent"):
            if not c.folder_exists(name):
                continue
            c.select_folder(name, readonly=True)
            uids = c.search("ALL")
            data = c.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            out[name] = sorted(d[b"BODY[]"] for d in data.values())
    return out


def test_an_imap_source_row_with_its_own_secret(make_imap_user: Any, tmp_path: Path) -> None:
    source, target = make_imap_user(), make_imap_user()
    with source.client() as c:
        for i in range(3):
            c.append("INBOX", msg(f"old mail {i}", f"body {i}\n", n=i).replace(b"\n", b"\r\n"))
        c.append("Sent", msg("sent one", "s\n").replace(b"\n", b"\r\n"))
    before = _held(source)
    env = _env(target, tmp_path)
    env["TARGET_PW"], env["SOURCE_PW"] = target.password, source.password
    manifest = tmp_path / "office.csv"
    manifest.write_text("source,target,secret,source_secret\n"
                        f"{source.url_imaps},{target.url_imaps},env:TARGET_PW,env:SOURCE_PW\n", encoding="utf-8")
    r = subprocess.run(migrate_cmd() + ["batch", "run", str(manifest), "--workers", "1", "-q"], env=env,
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert source.password not in r.stdout + r.stderr and target.password not in r.stdout + r.stderr
    assert _held(source) == before  # the source is only read
    assert _held(target) == before  # each message once, in its folder
    r = subprocess.run(migrate_cmd() + ["batch", "run", str(manifest), "--workers", "1", "-q"], env=env,
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _held(target) == before  # a second run adds nothing
    manifest.write_text("source,target,secret,source_secret\n"
                        f"{source.url_imaps},{target.url_imaps},env:TARGET_PW,hunter2\n", encoding="utf-8")
    r = subprocess.run(migrate_cmd() + ["batch", "plan", str(manifest)], env=env, capture_output=True, text=True,
                       timeout=240)
    assert r.returncode != 0 and "line 2" in r.stdout + r.stderr and "hunter2" not in r.stdout + r.stderr
