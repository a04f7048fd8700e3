"""The state file's own faults (part of the journal, migrator/state.py, which holds all the SQL).

A state file on a read-only or full file system, one without permission, or one that is damaged
(not SQLite, or PRAGMA quick_check fails) must end a command with one line and exit 5, never a
traceback: `state_fault` is the one rule that names such a fault, and `Guarded` applies it to
every statement the journal runs.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

from migrator.domain.errors import StateCorrupt, StateError, StateUnwritable
from migrator.domain.i18n import _

_FILE_FAULTS = ("full", "readonly", "read-only", "unable to open", "disk i/o", "malformed", "not a database",
                "encrypted", "integrity")


def is_file_fault(exc: sqlite3.Error) -> bool:
    """Whether an SQLite error is a fault of the file itself (full, read-only, unopenable,
    damaged), not of a statement (a constraint, a column an older file lacks)."""
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError)):
        return False
    low = str(exc).lower()
    return any(w in low for w in _FILE_FAULTS)


def state_fault(path: Path, exc: BaseException) -> StateError:
    """The one rule that turns a fault of the state file itself into a StateError (exit 5, one line).

    sqlite3.DatabaseError "malformed"/"not a database"/"encrypted" and a failed integrity check
    mean a damaged journal (StateCorrupt); SQLITE_FULL, SQLITE_READONLY, SQLITE_CANTOPEN, an
    I/O error or an OSError (EROFS, ENOSPC, EACCES) mean a file that cannot be written
    (StateUnwritable). Anything else is a bug and is returned as is by the callers' re-raise."""
    if isinstance(exc, StateError):
        return exc
    text = str(exc)
    low = text.lower()
    if isinstance(exc, OSError):
        why = exc.strerror or text
        return StateUnwritable(_("cannot write the state file {path}: {reason}").format(path=path, reason=why))
    if any(w in low for w in ("malformed", "not a database", "encrypted", "integrity")):
        return StateCorrupt(_("the state file {path} is damaged ({reason})").format(path=path, reason=text))
    if "full" in low:
        return StateUnwritable(_("the disk holding the state file {path} is full ({reason})").format(
            path=path, reason=text))
    return StateUnwritable(_("cannot write the state file {path} ({reason})").format(path=path, reason=text))


# A POSIX file name that is not valid UTF-8 (a Shift_JIS name from a zip) reaches Python with each
# bad byte as a lone surrogate U+DC80..U+DCFF (PEP 383), which SQLite's UTF-8 cannot hold. The
# journal stores such a character as U+F780..U+F7FF (private use; Windows' EUDC/gaiji range ends at
# U+E757) and gives it back as read, so locators and ids keep matching the files across runs.
_ESCAPED = re.compile("[\udc80-\udcff]")
_STORED = re.compile("[\uf780-\uf7ff]")
_STORED_UTF8 = re.compile(b"\xef[\x9e\x9f]")  # the UTF-8 lead bytes of U+F780..U+F7FF


def _to_db(value: object) -> object:
    if isinstance(value, str) and not value.isascii() and _ESCAPED.search(value):
        return _ESCAPED.sub(lambda m: chr(ord(m.group()) - 0xDC80 + 0xF780), value)
    return value


def _from_db(data: bytes) -> str:
    """sqlite3 text_factory: TEXT as stored, the characters `_to_db` mapped given back."""
    if data.isascii():  # nearly every value: the fast path
        return data.decode("ascii")
    text = data.decode("utf-8", "replace")
    if _STORED_UTF8.search(data):
        text = _STORED.sub(lambda m: chr(ord(m.group()) - 0xF780 + 0xDC80), text)
    return text


def _args(args: object) -> object:
    if isinstance(args, dict):
        return {k: _to_db(v) for k, v in args.items()}
    if isinstance(args, (list, tuple)):
        return tuple(_to_db(v) for v in args)
    return args


class Guarded:
    """A sqlite3.Connection whose faults (disk full, read-only, damaged file) become StateErrors.

    Every statement of State goes through here: one place for the rule, whatever the caller."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self._path = path
        self._conn = conn
        conn.text_factory = _from_db

    def _wrap(self, fn: Callable[..., sqlite3.Cursor], *args: object) -> sqlite3.Cursor:
        try:
            return fn(*args)
        except sqlite3.DatabaseError as exc:
            if not is_file_fault(exc):  # a constraint, "no such column" on an older file: the caller's
                raise
            raise state_fault(self._path, exc) from exc

    def execute(self, sql: str, args: Iterable[object] = ()) -> sqlite3.Cursor:
        """sqlite3 execute (arguments through the journal's text mapping); SQLite faults raised as
        StateError (see state_fault)."""
        return self._wrap(self._conn.execute, sql, _args(args))

    def executemany(self, sql: str, rows: Iterable[Iterable[object]]) -> sqlite3.Cursor:
        """sqlite3 executemany (arguments through the journal's text mapping); SQLite faults raised
        as StateError (see state_fault)."""
        return self._wrap(self._conn.executemany, sql, (_args(r) for r in rows))

    def executescript(self, sql: str) -> sqlite3.Cursor:
        """sqlite3 executescript; SQLite faults raised as StateError (see state_fault)."""
        return self._wrap(self._conn.executescript, sql)

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open on the connection."""
        return self._conn.in_transaction

    def close(self) -> None:
        """Close the connection."""
        try:
            self._conn.close()
        except sqlite3.Error:  # a checkpoint on a full disk: what is committed is in the WAL
            pass
