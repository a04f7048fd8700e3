"""Fixtures of the batch tests: the Dovecot sandbox fixtures of tests/dovecot, and a throwaway
redis-server (a free loopback port, a temp dir, no persistence: `--save ''`)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import dovecot_required
from tests.dovecot.conftest import dovecot, imap_user, make_imap_user  # noqa: F401 - fixtures re-used here


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`redis://127.0.0.1:PORT/0` of a redis-server started for the session (scripts/install-deps.sh
    installs it); skipped (failed with MIGRATE_REQUIRE_DOVECOT=1) when it is not installed."""
    exe = shutil.which("redis-server")
    if exe is None:
        if dovecot_required():
            pytest.fail("redis-server is required (scripts/install-deps.sh installs it)", pytrace=False)
        pytest.skip("redis-server not installed (scripts/install-deps.sh installs it)")
    work: Path = tmp_path_factory.mktemp("redis")
    port = _free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(work), "--protected-mode", "yes"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
