"""How wide the terminal tables may be: 80 columns by default, everything with `--wide`.

The choice holds for one command (a `contextvars.ContextVar`, set by the `--wide` option of the
commands that print tables: render/cli_help.py `wide_option`), so a second command in the same
process (tests, the web app) starts from the default again. `table()` in render/terminal.py fits
its columns into `table_limit()`.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["DEFAULT_COLUMNS", "set_wide", "table_limit"]

DEFAULT_COLUMNS = 80  # display columns (East Asian wide characters count 2)

_WIDE: ContextVar[bool] = ContextVar("migrate_wide_tables", default=False)


def set_wide(on: bool) -> None:
    """`--wide`: tables show every column and whole names, however wide (for this command)."""
    _WIDE.set(on)


def table_limit() -> int | None:
    """The most display columns a table may take: `DEFAULT_COLUMNS`, or None (no limit) with `--wide`."""
    return None if _WIDE.get() else DEFAULT_COLUMNS
