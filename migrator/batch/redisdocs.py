"""The batch board across machines: the same JSON documents as journal/board.py, in Redis.

Keys are `migrate:board:<key>`. Every change is an optimistic transaction (WATCH the key, read,
MULTI/EXEC the new value; retried when another client changed the key in between), so two
workers on two machines can never both claim a job, both hold an account or both take the last
slot of a host. The broker URL is `redis://[:password@]host:port/db` (redis-py's URL form);
nothing secret of a mailbox is ever stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from migrator.domain.errors import TargetError, UsageError
from migrator.domain.i18n import _

T = TypeVar("T")
Doc = dict[str, Any]
PREFIX = "migrate:board:"


def redis_client(url: str) -> Any:
    """A redis-py client for `url`; UsageError (exit 2) when the package is missing or the URL is
    not redis://, rediss:// or unix://; TargetError (exit 3) when the broker does not answer."""
    try:
        import redis
    except ImportError as exc:
        raise UsageError(_("--broker needs the redis package"),
                         hint=_("Install it: pip install 'pop-migrate[batch]' (and a redis-server to point it at).")
                         ) from exc
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise UsageError(_("--broker {url}: expected redis://HOST:PORT/DB").format(url=_safe(url)),
                         hint=_("For example redis://10.0.0.5:6379/0."))
    try:
        client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
        client.ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        raise TargetError(_("the broker {url} does not answer: {reason}").format(url=_safe(url), reason=exc),
                          hint=_("Start redis-server there (or check the host, port and password).")) from exc
    return client


def _safe(url: str) -> str:
    """The broker URL without a password (`redis://:secret@host` -> `redis://***@host`)."""
    head, sep, tail = url.partition("@")
    if not sep:
        return url
    scheme = head.split("://", 1)[0]
    return f"{scheme}://***@{tail}"


class RedisDocs:
    """JSON documents by key in Redis, changed atomically (see journal/board.SqliteDocs)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = redis_client(url)

    def update(self, key: str, fn: Callable[[Doc | None], tuple[Doc | None, T]]) -> T:
        """Atomically replace the document at `key` by what `fn` returns."""
        import redis

        name = PREFIX + key
        while True:
            with self.client.pipeline() as pipe:
                try:
                    pipe.watch(name)
                    raw = pipe.get(name)
                    new, result = fn(json.loads(raw) if raw else None)
                    pipe.multi()
                    if new is not None:
                        pipe.set(name, json.dumps(new))
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def get(self, key: str) -> Doc | None:
        """The document at `key`, or None."""
        raw = self.client.get(PREFIX + key)
        return json.loads(raw) if raw else None

    def scan(self, prefix: str) -> dict[str, Doc]:
        """Every document whose key starts with `prefix`, by key."""
        out: dict[str, Doc] = {}
        names = list(self.client.scan_iter(match=PREFIX + prefix + "*", count=500))
        for name, raw in zip(names, self.client.mget(names) if names else [], strict=True):
            if raw:
                key = (name.decode() if isinstance(name, bytes) else str(name))[len(PREFIX):]
                out[key] = json.loads(raw)
        return out

    def dump(self) -> str:
        """Every key and document as text (tests look in it for what must never be stored)."""
        return json.dumps(self.scan(""), sort_keys=True)
