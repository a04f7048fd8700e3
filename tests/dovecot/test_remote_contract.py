"""The IMAP and POP3 sources in the one conformance suite (tests/contract/test_sources.py).

Its makers build stores in a temporary directory; a server source needs the session Dovecot, which
only this directory's fixtures start. So its property tests are collected here again with a
`store` that is a seeded sandbox account (a URL string `open_source` takes, the password in
MIGRATE_SOURCE_PASSWORD), and the suite's read-only snapshot is the server-side one (UIDs, flags,
INTERNALDATE, bytes; POP3: STAT and UIDL) instead of file bytes and mtimes. The resume-from-offset
properties skip themselves here (they grow a file); the IMAP source's UID resume is tested in
test_remote_sources.py.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.contract import test_sources as contract
from tests.dovecot.conftest import ImapUser
from tests.support.corpus import sample_items
from tests.support.remote import pop3_url, seed_imap, snapshot_imap, snapshot_pop3

FILE_ONLY = {"test_tree_with_symlink_loops_and_special_files"}  # about directory trees on disk
for _name, _fn in vars(contract).copy().items():
    if (_name.startswith("test_") and _name not in FILE_ONLY and callable(_fn)
            and "store" in inspect.signature(_fn).parameters):
        globals()[_name] = _fn  # collected here with the `store` below


@pytest.fixture(scope="module")
def accounts(dovecot: Any) -> Iterator[dict[str, ImapUser]]:
    """Two accounts seeded once for the module (the properties only read them): "imap" with every
    folder of the sample corpus, "pop3" with all of it in INBOX."""
    made: dict[str, ImapUser] = {}
    for kind in ("imap", "pop3"):
        name, pw = f"contract-{kind}-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex[:12]}"
        dovecot.add_user(name, pw)
        user = ImapUser(user=name, password=pw, host=dovecot.host, imap_port=dovecot.imap_port,
                        imaps_port=dovecot.imaps_port, cafile=str(dovecot.cafile), sandbox=dovecot)
        seed_imap(user, sample_items(), one_folder="INBOX" if kind == "pop3" else None)
        user.close_clients()
        made[kind] = user
    yield made
    for user in made.values():
        user.close_clients()


@pytest.fixture(params=["imap", "pop3"])
def store(request: pytest.FixtureRequest, accounts: dict[str, ImapUser], monkeypatch: pytest.MonkeyPatch) -> str:
    """A sandbox account holding the suite's sample corpus, as the SOURCE URL."""
    user = accounts[request.param]
    if request.param == "pop3":
        if not user.sandbox.pop3s_port:
            pytest.skip("the sandbox Dovecot serves no POP3 (dovecot-pop3d not installed)")
        url = pop3_url(user)
        snap: Callable[[], object] = lambda: snapshot_pop3(user)  # noqa: E731
    else:
        url = user.url_imaps
        snap = lambda: snapshot_imap(user)  # noqa: E731
    monkeypatch.setenv("MIGRATE_SOURCE_PASSWORD", user.password)
    monkeypatch.setenv("SSL_CERT_FILE", user.cafile)
    files = contract._snapshot
    monkeypatch.setattr(contract, "_snapshot", lambda s: snap() if s == url else files(s))
    return url
