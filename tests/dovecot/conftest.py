"""Fixtures for tests against a real, throwaway Dovecot (tools/dovecot_sandbox.py).

* ``dovecot`` (session): one sandbox server for the whole session.
* ``imap_user`` (function): a fresh unique user on it, as an :class:`ImapUser`.
* ``make_imap_user(quota_kb=None, ...)`` (function): factory for more users / quota users.
* ``make_dovecot(**kwargs)`` (function): private sandboxes (e.g. ``starttls=False``,
  ``expired_cert=True``) that are stopped at teardown; use this for ``restart()`` tests.
* ``faultproxy(target_port=None, latency_ms=0)`` (function): started FaultProxy factory,
  by default in front of the session server's imaps port; ``user.via(proxy)`` re-targets a user.

Every test collected here gets the ``dovecot`` marker.  Without Dovecot the tests skip,
or fail when MIGRATE_REQUIRE_DOVECOT=1.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import ssl
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dovecot_sandbox import DovecotSandbox, DovecotUnavailable
from faultproxy import FaultProxy

from tests.conftest import require_dovecot

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.dovecot)


@dataclasses.dataclass
class ImapUser:
    """A user on a sandbox Dovecot plus everything a test needs to reach it."""

    user: str
    password: str
    host: str
    imap_port: int
    imaps_port: int | None
    cafile: str
    sandbox: DovecotSandbox = dataclasses.field(repr=False)
    quota_kb: int | None = None
    token: str | None = None
    _clients: list[Any] = dataclasses.field(default_factory=list, repr=False)

    @property
    def url_imaps(self) -> str:
        return f"imaps://{self.user}@{self.host}:{self.imaps_port}"

    @property
    def url_imap(self) -> str:
        return f"imap://{self.user}@{self.host}:{self.imap_port}"

    @property
    def env(self) -> dict[str, str]:
        """What a subprocess needs on top of os.environ: ``env={**os.environ, **user.env}``."""
        return {"SSL_CERT_FILE": self.cafile, "MIGRATE_PASSWORD": self.password}

    @property
    def maildir(self) -> Path:
        return self.sandbox.maildir_of(self.user)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    def client(self, *, starttls: bool = False, login: bool = True, timeout: float = 30) -> Any:
        """A logged-in imapclient.IMAPClient (imaps, or STARTTLS on the plain port); logged out at teardown."""
        from imapclient import IMAPClient

        if starttls:
            c = IMAPClient(self.host, self.imap_port, ssl=False, timeout=timeout)
            c.starttls(self.ssl_context())
        else:
            c = IMAPClient(self.host, self.imaps_port, ssl=True, ssl_context=self.ssl_context(), timeout=timeout)
        if login:
            c.login(self.user, self.password)
        self._clients.append(c)
        return c

    def set_quota(self, quota_kb: int | None) -> None:
        """New storage limit (None: unlimited) for sessions opened from now on."""
        self.sandbox.set_quota(self.user, quota_kb)
        self.quota_kb = quota_kb

    def via(self, proxy: FaultProxy) -> ImapUser:
        """The same user, reached through *proxy* (which must front this user's imap or imaps port)."""
        port = proxy.target[1]
        if port == self.imaps_port:
            return dataclasses.replace(self, imaps_port=proxy.port, _clients=self._clients)
        if port == self.imap_port:
            return dataclasses.replace(self, imap_port=proxy.port, _clients=self._clients)
        raise ValueError(f"proxy targets port {port}, not {self.imap_port}/{self.imaps_port}")

    def close_clients(self) -> None:
        for c in self._clients:
            try:
                c.logout()
            except Exception:  # noqa: BLE001 - the server may be gone (restart tests)
                with contextlib.suppress(Exception):
                    c.shutdown()
        self._clients.clear()


def _new_sandbox(tmp_path_factory: pytest.TempPathFactory, name: str, **kwargs: Any) -> DovecotSandbox:
    # As root, Dovecot's own users (dovecot, dovenull) must traverse the base directory.
    # pytest's /tmp/pytest-of-root is 0700 and every pytest session that starts (another
    # developer run, an IDE) chmods it back to 0700, so as root the base lives directly in /tmp.
    if os.geteuid() == 0:
        base = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tempfile.gettempdir()))
    else:
        base = tmp_path_factory.mktemp(name)
    sandbox = DovecotSandbox(base, **kwargs)
    try:
        return sandbox.start()
    except DovecotUnavailable as exc:
        if os.geteuid() == 0:
            sandbox.cleanup()
        require_dovecot(exc.reason)
    except BaseException:
        _finish(sandbox, tmp_path_factory)  # keeps the log next to pytest's temp dirs
        raise


def _finish(sandbox: DovecotSandbox, tmp_path_factory: pytest.TempPathFactory) -> None:
    sandbox.stop()
    if os.geteuid() == 0:  # keep the log with pytest's temp dirs, drop the rest
        with contextlib.suppress(OSError):
            shutil.copy(sandbox.log, tmp_path_factory.getbasetemp() / f"{sandbox.base.name}.log")
        sandbox.cleanup()


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotSandbox]:
    """The session's Dovecot sandbox (imap + imaps on 127.0.0.1, separator '/', Maildir LAYOUT=fs)."""
    sandbox = _new_sandbox(tmp_path_factory, "dovecot")
    yield sandbox
    _finish(sandbox, tmp_path_factory)


@pytest.fixture
def make_dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., DovecotSandbox]]:
    """Factory for private sandboxes: ``make_dovecot(starttls=False)`` etc.; stopped at teardown."""
    started: list[DovecotSandbox] = []

    def factory(**kwargs: Any) -> DovecotSandbox:
        sandbox = _new_sandbox(tmp_path_factory, "dovecot-private", **kwargs)
        started.append(sandbox)
        return sandbox

    yield factory
    for sandbox in started:
        _finish(sandbox, tmp_path_factory)


def _unique_name(request: pytest.FixtureRequest) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:24]
    return f"{stem or 'user'}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_imap_user(dovecot: DovecotSandbox, request: pytest.FixtureRequest) -> Iterator[Callable[..., ImapUser]]:
    """``make_imap_user(quota_kb=None, *, password=None, token=None, sandbox=None) -> ImapUser``."""
    made: list[ImapUser] = []

    def factory(quota_kb: int | None = None, *, password: str | None = None, token: str | None = None,
                sandbox: DovecotSandbox | None = None) -> ImapUser:
        sb = sandbox or dovecot
        name = _unique_name(request)
        pw = password or f"pw-{uuid.uuid4().hex[:12]}"
        sb.add_user(name, pw, quota_kb, token=token)
        user = ImapUser(user=name, password=pw, host=sb.host, imap_port=sb.imap_port, imaps_port=sb.imaps_port,
                        cafile=str(sb.cafile), sandbox=sb, quota_kb=quota_kb, token=token)
        made.append(user)
        return user

    yield factory
    for user in made:
        user.close_clients()


@pytest.fixture
def imap_user(make_imap_user: Callable[..., ImapUser]) -> ImapUser:
    """A fresh user without quota on the session Dovecot."""
    return make_imap_user()


@pytest.fixture
def faultproxy(dovecot: DovecotSandbox) -> Iterator[Callable[..., FaultProxy]]:
    """``faultproxy(target_port=None, latency_ms=0, target_host=None) -> FaultProxy`` (started)."""
    proxies: list[FaultProxy] = []

    def factory(target_port: int | None = None, latency_ms: float = 0, target_host: str | None = None) -> FaultProxy:
        port = target_port or dovecot.imaps_port
        assert port, "no target port"
        proxy = FaultProxy(target_host or dovecot.host, port, latency_ms).start()
        proxies.append(proxy)
        return proxy

    yield factory
    for proxy in proxies:
        proxy.stop()
