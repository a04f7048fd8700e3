"""The journal and dedupe index: the only module that touches SQLite.

One database per source+target pair. Per message the protocol is: record the intent (identity,
target folder, the folder's UIDNEXT) *before* the APPEND, record the result (UIDVALIDITY, UID)
*after* the server's OK. WAL with synchronous=NORMAL: a commit costs no fsync, and a killed
process loses nothing that was committed (only a power cut can lose the last commits, and the
resume step finds those messages on the server by content).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from migrator.domain import safefile
from migrator.domain.errors import StateCorrupt, StateError, StateUnwritable
from migrator.domain.i18n import _
from migrator.journal.rows import COLUMNS as _COLS
from migrator.journal.rows import Intent, Row
from migrator.journal.seen import SeenFilter as _SeenFilter
from migrator.journal.statefile import Guarded, state_fault

__all__ = ["SCHEMA_VERSION", "Intent", "Row", "State"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS folders (
    target TEXT PRIMARY KEY,
    uidvalidity INTEGER,
    uidnext INTEGER
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    message_id TEXT,
    size INTEGER NOT NULL,
    stable_id TEXT NOT NULL,
    source_folder TEXT NOT NULL DEFAULT '',
    locator TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    msg_date TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('intent', 'done', 'failed', 'missing')),
    uidvalidity INTEGER,
    uid INTEGER,
    uidnext_at_intent INTEGER,
    error TEXT,
    quarantine TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL,
    UNIQUE (target, fingerprint)
);
CREATE INDEX IF NOT EXISTS messages_status ON messages (status, target);
CREATE TABLE IF NOT EXISTS source_folders (
    source_key TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settled (
    stable_id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    target TEXT NOT NULL,
    fingerprint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    stable_id TEXT PRIMARY KEY,
    source_folder TEXT NOT NULL,
    target TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    size INTEGER NOT NULL,
    msg_date TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verified (
    target TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated REAL NOT NULL
);
"""

# Columns added after a table was first released: (table, column, declaration). Applied in order
# by `_init_schema` to a database that lacks them (ALTER TABLE ... ADD COLUMN), so an older state
# file opens and gains them. Add a new column here, never by editing `_SCHEMA` above; prefer a new
# column to a new `status` value (the CHECK constraint cannot be altered in place).
_ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # where msg_date (the INTERNALDATE given) came from: migrator.domain.dates.DATE_SOURCES
    ("messages", "date_source", "TEXT NOT NULL DEFAULT ''"),
    # bytes at risk (identity.at_risk): how they went ('literal8': RFC 3516, kept exactly;
    # 'changed': plain literal, the server stores them changed) and the fingerprint of the bytes a
    # BODY[] fetch returns for them (identity.as_read_back), so resolve and verify recognise them
    ("messages", "at_risk", "TEXT"),
    ("messages", "read_back", "TEXT"),
)


_SETTLED_SQL = ("SELECT s.target, s.fingerprint FROM settled s JOIN messages m"
                " ON m.target = s.target AND m.fingerprint = s.fingerprint AND m.status = 'done'"
                " WHERE s.stable_id = ? AND s.size = ?")


class State:
    """An open state database. `State.open(...)` checks the owner pair; `lock()` for writers."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = Guarded(path, conn)
        self._lock: Any = None  # locks._Held while this process holds `<state>.lock`
        self._seen_pass = 0
        self._seen_filter = _SeenFilter()
        self._seen_pending: list[tuple[int, str, bytes]] = []  # added, not yet in the table
        self._cols_sql: str | None = None  # see _message_cols

    # -- opening --------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, *, source_id: str, target_id: str, create: bool = True) -> State:
        """Open (or create) the journal for a source+target pair.

        Raises StateError (exit 5): StateUnwritable when the file cannot be created or written
        (read-only or full file system), StateCorrupt when it is not an intact SQLite database
        (PRAGMA quick_check), plain StateError when it belongs to another pair."""
        path = path.expanduser()
        if not create:
            return cls._open_readonly(path, source_id, target_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            safefile.check_sqlite(path)  # SQLite follows links: refuse one planted at the file or its -wal/-shm
            if not path.exists():
                os.close(safefile.open_fd(path, truncate=False))
            conn = sqlite3.connect(path, timeout=5.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise state_fault(path, exc) from exc
        state = cls(path, conn)
        try:
            state._integrity()
            state._conn.execute("PRAGMA journal_mode=WAL")
            state._conn.execute("PRAGMA synchronous=NORMAL")
            return state._init_schema(source_id, target_id)
        except BaseException:
            state._conn.close()
            raise

    def _integrity(self) -> None:
        """PRAGMA quick_check (a damaged journal is refused, never trusted): StateCorrupt."""
        try:
            rows = self._conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.DatabaseError as exc:  # raised while stepping the cursor
            raise state_fault(self.path, exc) from exc
        if [r[0] for r in rows] != ["ok"]:
            detail = "; ".join(str(r[0]) for r in rows[:3])
            raise StateCorrupt(_("the state file {path} is damaged (integrity check: {detail})").format(
                path=self.path, detail=detail))

    @staticmethod
    def _uri(path: Path, mode: str = "ro") -> str:
        """A `file:` URI for the path: ?, # and % in a file name are quoted (RFC 3986), so that
        SQLite opens that file and not another one."""
        return f"file:{urllib.request.pathname2url(str(path.absolute()))}?mode={mode}"

    @classmethod
    def _open_readonly(cls, path: Path, source_id: str, target_id: str) -> State:
        """For `plan` and `status`: never creates or changes a file."""
        safefile.check_sqlite(path)
        if not path.exists():
            return cls(path, sqlite3.connect(":memory:", isolation_level=None))._init_schema(source_id, target_id)
        state = cls.inspect(path)
        state._check_owner(dict(state._conn.execute("SELECT key, value FROM meta").fetchall()), source_id, target_id)
        return state

    @classmethod
    def inspect(cls, path: Path) -> State:
        """Open an existing journal read-only, whoever it belongs to (`migrate status`).

        A journal in WAL mode on a read-only file system cannot be opened plainly read-only
        (SQLite needs to create its -shm file): then it is opened immutable, which is safe there
        because nothing can write to it. StateCorrupt for a damaged file."""
        path = path.expanduser()
        last: StateError | None = None
        for uri in (cls._uri(path), cls._uri(path) + "&immutable=1"):
            try:
                conn = sqlite3.connect(uri, uri=True, timeout=5.0, isolation_level=None)
            except sqlite3.Error as exc:
                last = state_fault(path, exc)
                continue
            state = cls(path, conn)
            try:
                state._integrity()
                try:
                    state._conn.execute("SELECT 1 FROM meta LIMIT 1")
                except (StateUnwritable, sqlite3.OperationalError) as exc:  # no meta table: another SQLite file
                    raise StateCorrupt(_("{path} is not a migrate state database ({reason})").format(
                        path=path, reason=exc)) from exc
                return state
            except StateUnwritable as exc:
                state._conn.close()
                last = exc
            except BaseException:
                state._conn.close()
                raise
        assert last is not None
        raise StateUnwritable(_("cannot read the state file {path}: {message}").format(path=path, message=last.message),
                              hint=_("Check that the file is readable (permissions, the disk is mounted)."))

    def _init_schema(self, source_id: str, target_id: str) -> State:
        c = self._conn
        try:
            c.executescript(_SCHEMA)
            self._add_columns()
            rows = dict(c.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise StateCorrupt(_("{path}: not a migrate state database ({reason})").format(
                path=self.path, reason=exc)) from exc
        if not rows:
            with self.transaction():
                c.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema_version", str(SCHEMA_VERSION)), ("source", source_id), ("target", target_id),
                     ("created", str(time.time()))],
                )
            return self
        self._check_owner(rows, source_id, target_id)
        return self

    def _message_cols(self) -> str:
        """_COLS for this database: an older file opened read-only (plan, status) may lack a column
        of _ADDED_COLUMNS; its default stands in for it."""
        if self._cols_sql is not None:
            return self._cols_sql
        have = {r[1] for r in self._conn.execute("PRAGMA table_info(messages)")}
        added = {col: decl for table, col, decl in _ADDED_COLUMNS if table == "messages"}
        out = []
        for col in _COLS.split(", "):
            if col in have or col not in added:
                out.append(col)
            else:
                out.append(added[col].partition(" DEFAULT ")[2].strip() or "NULL")
        self._cols_sql = ", ".join(out)
        return self._cols_sql

    def _add_columns(self) -> None:
        """Bring an older database up to `_ADDED_COLUMNS` (idempotent)."""
        c = self._conn
        for table, column, decl in _ADDED_COLUMNS:
            have = {r[1] for r in c.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                c.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")

    def _check_owner(self, rows: dict[str, str], source_id: str, target_id: str) -> None:
        if int(rows.get("schema_version", "0")) > SCHEMA_VERSION:
            raise StateError(_("{path} was written by a newer migrate").format(
                path=self.path), hint=_("Upgrade migrate."))
        if rows.get("source") != source_id or rows.get("target") != target_id:
            raise StateError(
                _("{path} belongs to another migration ({target}, from {source})").format(
                    path=self.path, target=rows.get('target'), source=rows.get('source', '').replace(chr(10), ', ')),
                hint=_("Each source+target pair has its own state: drop --state to use the default, "
                     "or pick another file."),
            )

    # -- this pass's dedupe set (a temp table: memory stays flat however big the source) ----
    def new_seen(self) -> int:
        """Start a new dedupe set; returns its id."""
        self._conn.execute("CREATE TEMP TABLE IF NOT EXISTS seen (pass INTEGER, target TEXT, fp BLOB,"
                           " PRIMARY KEY (pass, target, fp)) WITHOUT ROWID")
        self._seen_pass += 1
        self._conn.execute("DELETE FROM temp.seen WHERE pass < ?", (self._seen_pass,))
        self._seen_filter = _SeenFilter()
        self._seen_pending.clear()
        return self._seen_pass

    def seen_add(self, seen_pass: int, target: str, fp: bytes) -> bool:
        """Add to the current set; False when it was there already (a duplicate). `fp`: random
        bytes (a slice of a content hash). Only when the filter cannot rule it out is the table
        asked; new contents go to it in groups."""
        if seen_pass != self._seen_pass:
            raise ValueError(f"dedupe set {seen_pass} is not the current one ({self._seen_pass})")
        if not self._seen_filter.add(target, fp):
            self._seen_pending.append((seen_pass, target, fp))
            if len(self._seen_pending) >= 1000:
                self._flush_seen()
            return True
        self._flush_seen()
        cur = self._conn.execute("INSERT OR IGNORE INTO temp.seen (pass, target, fp) VALUES (?, ?, ?)",
                                 (seen_pass, target, fp))
        return cur.rowcount == 1

    def _flush_seen(self) -> None:
        if self._seen_pending:
            self._conn.executemany("INSERT OR IGNORE INTO temp.seen (pass, target, fp) VALUES (?, ?, ?)",
                                   self._seen_pending)
            self._seen_pending.clear()

    def lock(self) -> None:
        """Exclusive per-database lock for `run` and `verify` (released by the OS if the process dies).
        Raises StateLocked when another process holds it, UnsafePath for a link planted at it,
        StateUnwritable when the lock file cannot be created (read-only or full file system)."""
        from migrator.journal.locks import state_lock

        if self._lock is None:
            self._lock = state_lock(self.path)

    def close(self) -> None:
        """Close the database and release the state lock (if this process took it)."""
        try:
            self._conn.close()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Guarded]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back when the block raises.
        Raises StateError (StateUnwritable, StateCorrupt) when SQLite cannot write or commit.
        """
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            if self._conn.in_transaction:  # SQLite may have rolled back already (SQLITE_FULL)
                try:
                    self._conn.execute("ROLLBACK")
                except StateError:
                    pass
            raise
        try:
            self._conn.execute("COMMIT")
        except StateError:
            if self._conn.in_transaction:
                try:
                    self._conn.execute("ROLLBACK")
                except StateError:
                    pass
            raise

    def meta(self, key: str) -> str | None:
        """The value stored under `key` in the meta table (source, target, schema, last_run), or None."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Store `value` under `key` in the meta table (replacing it)."""
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def last_run(self) -> dict[str, Any] | None:
        """What the last `run` left over ({"uploaded", "uploaded_bytes", "over_quota",
        "over_quota_bytes", "finished"}: counts, bytes, epoch seconds), None before any run."""
        raw = self.meta("last_run")
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def set_last_run(self, summary: dict[str, object]) -> None:
        """Keep what this run left over (see last_run) as JSON."""
        self.set_meta("last_run", json.dumps(summary))

    # -- folders --------------------------------------------------------------------
    def folder(self, target: str) -> tuple[int | None, int | None]:
        """(UIDVALIDITY, UIDNEXT) last recorded for the target folder (RFC 3501 2.3.1.1), or (None, None)."""
        row = self._conn.execute("SELECT uidvalidity, uidnext FROM folders WHERE target = ?", (target,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def set_folder(self, target: str, uidvalidity: int, uidnext: int) -> None:
        """Record the target folder's UIDVALIDITY and UIDNEXT as the server reported them."""
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO folders (target, uidvalidity, uidnext) VALUES (?, ?, ?)",
                      (target, uidvalidity, uidnext))

    # -- messages -------------------------------------------------------------------
    def lookup(self, target: str, fingerprint: str) -> Row | None:
        """The journal row of the content `fingerprint` in target folder `target`, or None."""
        row = self._conn.execute(
            f"SELECT {self._message_cols()} FROM messages WHERE target = ? AND fingerprint = ?", (target, fingerprint)
        ).fetchone()
        return Row(*row) if row else None

    def has_rows(self, target: str) -> bool:
        """Whether the journal holds anything for a target folder."""
        return self._conn.execute("SELECT 1 FROM messages WHERE target = ? LIMIT 1", (target,)).fetchone() is not None

    def record_intents(self, rows: Iterable[Intent]) -> None:
        """Journal the intent to append, before the APPEND is sent (one transaction)."""
        now = time.time()
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO messages (target, fingerprint, message_id, size, stable_id, source_folder, locator,"
                " subject, msg_date, uidnext_at_intent, date_source, status, updated, attempts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'intent', ?, 1)"
                " ON CONFLICT (target, fingerprint) DO UPDATE SET status = 'intent',"
                " uidnext_at_intent = excluded.uidnext_at_intent, stable_id = excluded.stable_id,"
                " locator = excluded.locator, msg_date = excluded.msg_date, date_source = excluded.date_source,"
                " attempts = attempts + 1, updated = excluded.updated, error = NULL",
                [(*r, now) for r in rows],
            )

    def mark_done(self, results: Iterable[tuple[str, str, int | None, int | None]]) -> None:
        """(target, fingerprint, uidvalidity, uid) after the server's OK."""
        now = time.time()
        with self.transaction() as c:
            c.executemany(
                "UPDATE messages SET status = 'done', uidvalidity = ?, uid = ?, error = NULL, updated = ?"
                " WHERE target = ? AND fingerprint = ?",
                [(uv, uid, now, t, fp) for t, fp, uv, uid in results],
            )

    def mark_failed(self, target: str, fingerprint: str, error: str, quarantine: str | None) -> None:
        """The message was refused: status 'failed' with the server's `error` and the path of its
        quarantined .eml (None when it could not be written).
        """
        with self.transaction() as c:
            c.execute(
                "UPDATE messages SET status = 'failed', error = ?, quarantine = ?, updated = ?"
                " WHERE target = ? AND fingerprint = ?",
                (error, quarantine, time.time(), target, fingerprint),
            )

    def record_unreadable(self, target: str, stable_id: str, source_folder: str, locator: str, error: str) -> None:
        """Journal a source item that could not be read as failed (`migrate status` counts it).

        It has no content, so its row is keyed by its stable id ("unreadable:" + SHA-1 of it) in the
        place of a fingerprint: a re-run that still cannot read it updates the same row.
        """
        key = "unreadable:" + hashlib.sha1(stable_id.encode("utf-8", "surrogateescape")).hexdigest()
        with self.transaction() as c:
            c.execute(
                "INSERT INTO messages (target, fingerprint, size, stable_id, source_folder, locator, status, error,"
                " updated) VALUES (?, ?, 0, ?, ?, ?, 'failed', ?, ?)"
                " ON CONFLICT (target, fingerprint) DO UPDATE SET status = 'failed', error = excluded.error,"
                " locator = excluded.locator, updated = excluded.updated",
                (target, key, stable_id, source_folder, locator, error, time.time()),
            )

    def requeue(self, target: str, fingerprints: Iterable[str]) -> None:
        """Forget intents that never reached the server (they will be appended again)."""
        with self.transaction() as c:
            c.executemany("DELETE FROM messages WHERE target = ? AND fingerprint = ? AND status = 'intent'",
                          [(target, fp) for fp in fingerprints])

    def mark_missing(self, ids: Iterable[int]) -> None:
        """verify found these done messages gone from the server: the next run uploads them again."""
        with self.transaction() as c:
            c.executemany("UPDATE messages SET status = 'missing', updated = ? WHERE id = ?",
                          [(time.time(), i) for i in ids])

    def rows(self, *, target: str | None = None, status: str | None = None) -> Iterator[Row]:
        """The journal rows, oldest first, optionally only of one target folder and/or one status
        ('intent', 'done', 'failed', 'missing'). A generator: memory stays flat.
        """
        sql = f"SELECT {self._message_cols()} FROM messages WHERE 1=1"
        args: list[object] = []
        if target is not None:
            sql += " AND target = ?"
            args.append(target)
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        for row in self._conn.execute(sql + " ORDER BY id", args):
            yield Row(*row)

    def mark_at_risk(self, target: str, items: Iterable[tuple[str, str, str]]) -> None:
        """(fingerprint, how, read_back fingerprint) of journalled messages whose bytes are at risk
        (identity.at_risk); how: 'literal8' (sent as RFC 3516 literal8) or 'changed' (the server
        offers no BINARY: it stores them changed)."""
        with self.transaction() as c:
            c.executemany("UPDATE messages SET at_risk = ?, read_back = ? WHERE target = ? AND fingerprint = ?",
                          [(how, rb, target, fp) for fp, how, rb in items])

    def at_risk(self, target: str | None = None) -> dict[tuple[str, str], tuple[str, str | None]]:
        """{(target, fingerprint): (how, read_back fingerprint)} of the messages marked at risk."""
        sql = "SELECT target, fingerprint, at_risk, read_back FROM messages WHERE at_risk IS NOT NULL"
        args: tuple[str, ...] = ()
        if target is not None:
            sql, args = sql + " AND target = ?", (target,)
        try:
            return {(t, fp): (how, rb) for t, fp, how, rb in self._conn.execute(sql, args)}
        except sqlite3.OperationalError:  # an older file opened read-only (plan): no such column, none marked
            return {}

    def changed_count(self, target: str | None = None) -> int:
        """Messages on the server stored changed by it (uploaded without literal8: see mark_at_risk),
        of one target folder or all."""
        sql = "SELECT COUNT(*) FROM messages WHERE status = 'done' AND at_risk = 'changed'"
        try:
            return int(self._conn.execute(sql + " AND target = ?", (target,)).fetchone()[0] if target is not None
                       else self._conn.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:  # an older file opened read-only (status): no such column, none marked
            return 0

    def intent_targets(self) -> list[str]:
        """Target folders that hold unsettled intents (a crash happened between intent and APPENDUID)."""
        return [r[0] for r in self._conn.execute("SELECT DISTINCT target FROM messages WHERE status = 'intent'")]

    def counts(self) -> dict[str, int]:
        """{status: number of messages} over the whole journal."""
        return dict(self._conn.execute("SELECT status, COUNT(*) FROM messages GROUP BY status").fetchall())

    # -- unchanged source folders (fast re-runs) -------------------------------------
    def source_folder(self, source_key: str) -> tuple[str, dict[str, object]] | None:
        """(change token, scan summary) recorded for a source folder, or None: a folder whose token
        is unchanged is not read again.
        """
        row = self._conn.execute("SELECT token, summary FROM source_folders WHERE source_key = ?",
                                 (source_key,)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def set_source_folder(self, source_key: str, token: str, summary: dict[str, object]) -> None:
        """Record a source folder's change token and its scan summary (JSON)."""
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO source_folders (source_key, token, summary) VALUES (?, ?, ?)",
                      (source_key, token, json.dumps(summary)))

    def forget_source_folders(self, targets: Iterable[str] | None = None) -> None:
        """Drop the recorded source folders (those mapped to `targets`, or all), so the next scan
        reads them again.
        """
        with self.transaction() as c:
            if targets is None:
                c.execute("DELETE FROM source_folders")
            else:
                for t in targets:
                    c.execute("DELETE FROM source_folders WHERE json_extract(summary, '$.target') = ?", (t,))

    # -- settled source messages: not read again when their folder changes -----------
    def settled(self, stable_id: str, size: int) -> tuple[str, str] | None:
        """(target, fingerprint) of a source message known to be on the target, when its stored
        size is still the same and its row is still done."""
        row = self._conn.execute(_SETTLED_SQL, (stable_id, size)).fetchone()
        return (row[0], row[1]) if row else None

    def has_settled(self, prefix: str) -> bool:
        """Whether any settled key starts with `prefix` (a store's own prefix)."""
        row = self._conn.execute("SELECT 1 FROM settled WHERE stable_id >= ? AND stable_id < ? LIMIT 1",
                                 (prefix, prefix + "\U0010ffff")).fetchone()
        return row is not None

    def add_settled(self, entries: Iterable[tuple[str, int, str, str]]) -> None:
        """(stable_id, stored size, target, fingerprint) for messages now on the target."""
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO settled (stable_id, size, target, fingerprint) VALUES (?, ?, ?, ?)",
                          entries)

    # -- the diet ledger: what stayed local ------------------------------------------
    def ledger_replace(self, source_folder: str, entries: Iterable[tuple[str, str, str, int, str, str]],
                       replace: bool = True) -> None:
        """Record what a diet left local in a source folder (all of it, or `replace=False`: more of it)."""
        with self.transaction() as c:
            if replace:
                c.execute("DELETE FROM ledger WHERE source_folder = ?", (source_folder,))
            c.executemany(
                "INSERT OR REPLACE INTO ledger (stable_id, source_folder, target, fingerprint, size, msg_date, reason)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(sid, source_folder, t, fp, size, d, reason) for sid, t, fp, size, d, reason in entries],
            )

    def ledger(self) -> list[tuple[str, str, str, str, int, str, str]]:
        """The diet ledger, in insertion order: (stable_id, source folder, target, fingerprint, size in
        bytes, message date, reason) of each message that stays local.
        """
        return self._conn.execute(
            "SELECT stable_id, source_folder, target, fingerprint, size, msg_date, reason FROM ledger ORDER BY rowid"
        ).fetchall()

    # -- verify: per target folder, what an earlier verify proved (to resume a long one) --------
    def verified(self, target: str) -> dict[str, object] | None:
        """What an earlier verify proved of target folder `target` (JSON object), or None."""
        row = self._conn.execute("SELECT data FROM verified WHERE target = ?", (target,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_verified(self, target: str, data: dict[str, object]) -> None:
        """Record what verify proved of target folder `target` (so an interrupted verify resumes)."""
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO verified (target, data, updated) VALUES (?, ?, ?)",
                      (target, json.dumps(data), time.time()))

    def forget_verified(self, target: str | None = None) -> None:
        """Drop what verify proved of `target` (or of every folder): it is checked again."""
        with self.transaction() as c:
            if target is None:
                c.execute("DELETE FROM verified")
            else:
                c.execute("DELETE FROM verified WHERE target = ?", (target,))
