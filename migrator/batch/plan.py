"""`migrate batch plan`: every row checked without connecting: its source, target and secret reference.

A row whose source cannot be found or recognised, or whose secret reference points nowhere on
this machine (an unset variable, a missing file), is named with its line number; the rest plan.
The secret itself is not read here beyond "is it there" (keyring entries are checked by the
worker when the job starts).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from migrator.batch.engine import Where
from migrator.batch.job import host_limit
from migrator.batch.manifest import Manifest, Row, RowError
from migrator.batch.secrets import check_reference
from migrator.domain.errors import MigratorError
from migrator.domain.i18n import _


def secret_problem(row: Row) -> str | None:
    """Why the row's secret reference cannot work on this machine, else None (nothing is read)."""
    scheme, rest = check_reference(row.secret)
    if scheme == "env" and not os.environ.get(rest):
        return _("the environment variable {name} (secret) is not set here").format(name=rest)
    if scheme == "file":
        path = Path(rest).expanduser()
        path = path if path.is_absolute() else Path(row.base) / path
        if not path.is_file() or not os.access(path, os.R_OK):
            return _("the secret file {path} is missing or unreadable").format(path=path)
    return None


def plan_rows(manifest: Manifest, where: Where, per_host: int | None) -> tuple[list[dict[str, Any]], list[RowError]]:
    """(one dict per good row: line, source, target, kind, state, limit; the bad rows, the
    manifest's and those found here, by line)."""
    from migrator.sources import detect_kind

    errors = list(manifest.errors)
    states: dict[str, str] = {}
    board_file = where.dir / "board.db"
    if where.broker or board_file.exists():
        states = {k: j.state for k, j in where.board().jobs().items()}
    lines: list[dict[str, Any]] = []
    for row in manifest.rows:
        if "://" in row.source:
            kind = row.source.split("://", 1)[0]
        else:
            try:
                kind = detect_kind(row.source_path())
            except MigratorError as exc:
                errors.append(RowError(line=row.line, reason=_("source: {reason}").format(reason=exc.message)))
                continue
        problem = secret_problem(row)
        if problem:
            errors.append(RowError(line=row.line, reason=problem))
            continue
        limit = host_limit(row, per_host)
        lines.append({"line": row.line, "source": row.source, "target": row.target, "kind": kind,
                      "state": states.get(row.job_id, "new"), "limit": "-" if limit is None else str(limit)})
    errors.sort(key=lambda e: e.line)
    return lines, errors
