"""The batch board on one machine: small JSON documents in an SQLite file, changed atomically.

`migrate batch` keeps the state of every mailbox job (queued, running with a lease, done ...),
the per-host slots, the account leases and the shared back-off of a host as documents under keys
(`job:<id>`, `slots:<host>`, `account:<key>`, `backoff:<host>`). With a Redis broker the same
documents live in Redis (migrator/batch/redisdocs.py); here they live in `DIR/board.db`, beside
the per-mailbox journals, so that several local worker processes share them.

Every change is a read-modify-write inside one `BEGIN IMMEDIATE` transaction (SQLite's write
lock: one writer at a time, readers never see half a change), so two workers can never both
claim a job or both take the last slot. A SIGKILLed process leaves no lock behind (SQLite rolls
an unfinished transaction back on the next open). Nothing secret is ever stored here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from migrator.domain import safefile
from migrator.journal.statefile import state_fault

T = TypeVar("T")
Doc = dict[str, Any]


class SqliteDocs:
    """JSON documents by key in the SQLite file `path` (created 0600 when absent).

    `update(key, fn)`: fn(current document or None) -> (new document or None to leave it, result);
    the whole call is one transaction. StateUnwritable / StateCorrupt (exit 5) for a file fault."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            safefile.private_dir(path.parent)
            safefile.check_sqlite(path)
            with self._connect() as db:
                db.execute("CREATE TABLE IF NOT EXISTS docs (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        except (sqlite3.Error, OSError) as exc:
            raise state_fault(path, exc) from exc

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def update(self, key: str, fn: Callable[[Doc | None], tuple[Doc | None, T]]) -> T:
        """Atomically replace the document at `key` by what `fn` returns (see the class)."""
        try:
            db = self._connect()
            try:
                db.execute("BEGIN IMMEDIATE")
                row = db.execute("SELECT value FROM docs WHERE key = ?", (key,)).fetchone()
                new, result = fn(json.loads(row[0]) if row else None)
                if new is not None:
                    db.execute("INSERT OR REPLACE INTO docs (key, value) VALUES (?, ?)", (key, json.dumps(new)))
                db.execute("COMMIT")
                return result
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise state_fault(self.path, exc) from exc

    def get(self, key: str) -> Doc | None:
        """The document at `key`, or None."""
        return self.update(key, lambda doc: (None, doc))

    def scan(self, prefix: str) -> dict[str, Doc]:
        """Every document whose key starts with `prefix`, by key."""
        try:
            db = self._connect()
            try:
                rows = db.execute("SELECT key, value FROM docs WHERE substr(key, 1, ?) = ?",
                                  (len(prefix), prefix)).fetchall()
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise state_fault(self.path, exc) from exc
        return {k: json.loads(v) for k, v in rows}

    def dump(self) -> str:
        """Every key and document as text (tests look in it for what must never be stored)."""
        return json.dumps(self.scan(""), sort_keys=True)
