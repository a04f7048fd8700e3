"""Issue 5's acceptance test: `migrate run PROFILE` moves a generated Thunderbird profile into a real
Dovecot; a separate client reads the server back. Expectations come from the profile generator's
manifest (tests/tbprofile.py), not from the reader."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.tbprofile import Manifest, TbMessage, build_profiles, snapshot

pytestmark = pytest.mark.dovecot

ROLE_NAMES = {"sent": "Sent", "drafts": "Drafts", "trash": "Trash", "junk": "Junk"}  # created when missing
SPECIAL_USE = {b"\\Sent": "sent", b"\\Drafts": "drafts", b"\\Trash": "trash", b"\\Junk": "junk",
               b"\\Archive": "archive"}

ServerMsg = tuple[bytes, frozenset[str], datetime]


def crlf(b: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", b)


def migrate(args: list[str], user, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args, "--target", user.url_imaps,
                           "--state", str(tmp / "s.db")],
                          env=os.environ | user.env, capture_output=True, text=True, timeout=600)


def read_server(user) -> tuple[str, dict[str, str], dict[str, list[ServerMsg]]]:
    """(delimiter, role → special-use folder, folder → messages) as another client sees them."""
    with user.client() as c:
        folders = c.list_folders()
        delim = folders[0][1].decode() if isinstance(folders[0][1], bytes) else folders[0][1]
        specials: dict[str, str] = {}
        for flags, _d, name in folders:
            for f in flags:
                if f in SPECIAL_USE:
                    specials.setdefault(SPECIAL_USE[f], name)
        c.normalise_times = False
        out: dict[str, list[ServerMsg]] = {}
        for flags, _d, name in folders:
            if {f.lower() for f in flags} & {b"\\noselect", b"\\nonexistent"}:
                continue  # a parent that exists only as a level of the hierarchy
            if not c.select_folder(name, readonly=True)[b"EXISTS"]:
                continue
            data = c.fetch(c.search("ALL"), ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
            out[name] = [(d[b"BODY[]"], frozenset(f.decode() for f in d[b"FLAGS"] if f != b"\\Recent"),
                          d[b"INTERNALDATE"]) for _, d in sorted(data.items())]
    return delim, specials, out


def target_of(path: tuple[str, ...], roles: dict[tuple[str, ...], str], delim: str,
              specials: dict[str, str]) -> str:
    """The lead's mapping: the longest role-playing prefix goes to its special folder, the rest follows."""
    for n in range(len(path), 0, -1):
        role = roles.get(path[:n])
        if role == "inbox":
            return delim.join(["INBOX", *path[n:]])
        if role in ROLE_NAMES or (role == "archive" and "archive" in specials):
            return delim.join([specials.get(role, ROLE_NAMES.get(role, "")), *path[n:]])
    return delim.join(path)


def expected_on_server(man: Manifest, delim: str, specials: dict[str, str],
                       account_prefix: bool = False) -> dict[str, list[TbMessage]]:
    # With --account-prefix, accounts other than Local Folders sit under their own top folder and
    # carry no roles; man.roles is keyed by unprefixed paths, so only Local Folders' roles apply.
    out: dict[str, list[TbMessage]] = {}
    for path, msgs in man.expected(account_prefix).items():
        out.setdefault(target_of(path, man.roles, delim, specials), []).extend(msgs)
    return out


def check(man: Manifest, user, account_prefix: bool = False) -> None:
    delim, specials, server = read_server(user)
    want = expected_on_server(man, delim, specials, account_prefix)
    assert set(server) == set(want), "every expected folder has mail, no other folder does"
    every = Counter(raw for msgs in server.values() for raw, _f, _d in msgs)
    for name, msgs in want.items():
        got = {raw: (flags, date) for raw, flags, date in server[name]}
        assert len(server[name]) == len(msgs), f"{name}: {len(server[name])} messages, want {len(msgs)}"
        for m in msgs:
            raw = crlf(m.raw)
            assert raw in got, f"{name}: a message is missing or its bytes differ"
            assert every[raw] == 1, f"{name}: uploaded more than once"
            flags, date = got[raw]
            assert flags == m.flags, f"{name}: flags {sorted(flags)} != {sorted(m.flags)}"
            assert date.astimezone(timezone.utc) == m.date, f"{name}: INTERNALDATE {date} != {m.date}"
    for m in man.expunged + man.not_migrated:
        assert crlf(m.raw) not in every, f"{m.folder}: expunged or IMAP-cached message came back"


def test_thunderbird_profile_roundtrip(tmp_path: Path, imap_user) -> None:
    man = build_profiles(tmp_path / "tb")
    before = snapshot(man.base)
    r = migrate(["run", str(man.profile)], imap_user, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    check(man, imap_user)
    assert snapshot(man.base) == before, "the profile was modified"
    # a second run uploads nothing new
    r = migrate(["run", str(man.profile)], imap_user, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    check(man, imap_user)


def test_profiles_ini_as_source_and_account_prefix(tmp_path: Path, imap_user) -> None:
    man = build_profiles(tmp_path / "tb")
    r = migrate(["run", str(man.base / "profiles.ini"), "--account-prefix"], imap_user, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    check(man, imap_user, account_prefix=True)
