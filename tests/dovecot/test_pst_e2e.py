"""End to end: `migrate run <fixture>.pst` into a real Dovecot, then read the server back
independently (imapclient, not our target code) and compare with what the PST holds.

The expected mail comes from readpst (pst-utils) when it is installed, else from PstSource itself.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import os
import subprocess
import sys
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from migrator.domain import records as base
from migrator.sources.pst.reader import PstSource
from tests.support.pst_oracle import READPST, attachment_names, parse, readpst_export

pytestmark = [pytest.mark.dovecot, pytest.mark.pst]

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pst"
ALL = sorted(FIXTURES.glob("*.pst")) if FIXTURES.is_dir() else []
SYSTEM_FLAGS = {base.SEEN, base.ANSWERED, base.FLAGGED, base.DRAFT}


def params() -> list[Any]:
    if not ALL:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"PST fixtures not found in {FIXTURES}"))]
    return [pytest.param(p, id=p.stem) for p in ALL]


def readpst_expectation(pst: Path, out: Path) -> tuple[Counter[str], Counter[str]] | None:
    """(subjects, attachment names) of the mail readpst finds, or None without readpst."""
    if READPST is None:
        return None
    found = readpst_export(pst, out)
    return Counter(subject for subject, _ in found), Counter(n for _, names in found for n in names)


def server_messages(user: Any) -> list[tuple[str, EmailMessage, set[str], Any]]:
    """(folder, message, flags, internaldate) of everything on the server."""
    out: list[tuple[str, EmailMessage, set[str], Any]] = []
    with user.client() as c:
        c.normalise_times = False  # INTERNALDATE as an aware datetime, not local naive time
        for flags, _delim, name in c.list_folders():
            if b"\\Noselect" in flags or b"\\NoSelect" in flags:
                continue
            c.select_folder(name, readonly=True)
            uids = c.search("ALL")
            if not uids:
                continue
            for data in c.fetch(uids, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"]).values():
                got = {f.decode() if isinstance(f, bytes) else f for f in data[b"FLAGS"]}
                out.append((name, parse(data[b"BODY[]"]), got, data[b"INTERNALDATE"]))
    return out


def migrate(user: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args], env=os.environ | user.env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("pst", params())
def test_pst_arrives_complete_on_dovecot(pst: Path, tmp_path: Path, imap_user: Any) -> None:
    u = imap_user
    with PstSource(pst) as src:
        records = [r for f in src.folders() for r in src.messages(f)]
    mails = [r for r in records if not r.skip_reason and not r.error]
    assert not [r for r in records if r.error]

    state = tmp_path / "s.db"
    run = migrate(u, "run", str(pst), "--target", u.url_imaps, "--state", str(state))
    assert run.returncode == 0, run.stdout + run.stderr
    verify = migrate(u, "verify", str(pst), "--target", u.url_imaps, "--state", str(state))
    assert verify.returncode == 0, verify.stdout + verify.stderr

    on_server = server_messages(u)
    assert len(on_server) == len(mails)
    for folder, msg, _flags, _date in on_server:
        assert not msg.defects, (folder, msg.defects)
        assert msg["From"] and "MAILER-DAEMON" not in str(msg["From"]).upper(), folder
        assert msg["Subject"] is not None, folder
        assert email.utils.parsedate_to_datetime(msg["Date"]).year >= 1990, folder

    subjects = Counter(str(m["Subject"] or "") for _, m, _, _ in on_server)
    names = Counter(n for _, m, _, _ in on_server for n in attachment_names(m))
    expected = readpst_expectation(pst, tmp_path / "readpst")
    if expected is None:
        expected = (Counter(str(parse(r.raw)["Subject"] or "") for r in mails),
                    Counter(n for r in mails for n in attachment_names(parse(r.raw))))
    assert (subjects, names) == expected

    # Flags and INTERNALDATE survive: match each source mail to its server copy by Message-ID.
    by_id = {str(m["Message-ID"]): (flags, date) for _, m, flags, date in on_server}
    for rec in mails:
        flags, date = by_id[str(parse(rec.raw)["Message-ID"])]
        assert rec.flags & SYSTEM_FLAGS <= flags, rec.locator
        assert date.tzinfo is not None
        assert abs((date - rec.date).total_seconds()) < 1, rec.locator  # INTERNALDATE has whole seconds
