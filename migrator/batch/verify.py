"""`migrate batch verify`: flows/verify.py for every mailbox of the manifest, a few at a time.

Read-only on both sides, as `migrate verify`. Each mailbox's secret is resolved here (this
process is its verifier) and kept in memory only. A mailbox counts as verified when its
verify report is `ok` (every message in scope found on the server with the bytes sent) and the
server holds no second copy of any of them (`copies == 0`: exactly once).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrator.batch.job import journal_path, open_row_source
from migrator.batch.manifest import Row
from migrator.batch.secrets import resolve
from migrator.domain.config import source_ident
from migrator.domain.errors import MigratorError
from migrator.domain.events import EventSink
from migrator.domain.i18n import _
from migrator.domain.models import VerifyReport


def verify_row(row: Row, journals: Path, on_event: EventSink | None = None) -> VerifyReport:
    """Verify one mailbox (its journal in `journals`, created when absent: verify proves by
    content). Raises MigratorError (the row's exit code) when it cannot start."""
    from contextlib import ExitStack

    from migrator.flows.plan import Scanner
    from migrator.flows.run import layout_of
    from migrator.flows.verify import verify
    from migrator.imap.client import ImapTarget
    from migrator.journal.state import State

    target = row.target_config().model_copy(update={"password": resolve(row.secret, Path(row.base))})
    path = journal_path(journals, row)
    src = row.source_path()
    with ExitStack() as stack:
        source = open_row_source(row)
        stack.callback(source.close)
        state = stack.enter_context(State.open(path, source_id=source_ident([src]), target_id=target.ident))
        state.lock()
        server = stack.enter_context(ImapTarget(target).connect())
        return verify(Scanner([source], layout_of(server), row.scope(), state, None), server, state,
                      sources=[str(src)], quarantine=str(path.with_name(path.stem + ".quarantine")),
                      on_event=on_event)


def verify_all(rows: list[Row], journals: Path, *, report_dir: Path | None = None,
               write: Callable[[VerifyReport, Path], None] | None = None, workers: int = 1) -> list[dict[str, Any]]:
    """Verify every row, `workers` at a time (threads: each with its own connection and journal);
    one result per row in manifest order: line, source, target, ok, verdict, found, in_scope,
    copies, detail (why it is not verified), report (file name of its HTML report, when written)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(row: Row) -> dict[str, Any]:
        return _verify_one(row, journals, report_dir, write)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, rows))


def _verify_one(row: Row, journals: Path, report_dir: Path | None,
                write: Callable[[VerifyReport, Path], None] | None) -> dict[str, Any]:
    res: dict[str, Any] = {"line": row.line, "source": row.source, "target": row.target, "ok": False,
                           "verdict": "NOT VERIFIED", "found": 0, "in_scope": 0, "copies": 0, "detail": "",
                           "report": None}
    try:
        report = verify_row(row, journals)
    except MigratorError as exc:
        res["detail"] = exc.message
        return res
    except Exception as exc:  # noqa: BLE001 - one mailbox's bug must not hide the others' verdicts
        res["detail"] = _("internal error (please report it): {error}").format(error=f"{type(exc).__name__}: {exc}")
        return res
    ok = report.ok and report.copies == 0
    res.update(ok=ok, verdict="VERIFIED" if ok else "NOT VERIFIED", found=report.present,
               in_scope=report.expected, copies=report.copies, detail=_detail(report))
    if report_dir is not None and write is not None:
        name = f"line-{row.line}-{row.job_id}.html"
        write(report, report_dir / name)
        res["report"] = name
    return res


def _detail(report: VerifyReport) -> str:
    """What keeps a mailbox from being verified, in a few words ("" when verified)."""
    parts = [what.format(n=n) for n, what in ((report.missing, _("{n} missing")),
                                              (report.different, _("{n} different")),
                                              (report.changed, _("{n} changed by the server")),
                                              (report.new_in_source, _("{n} new in the source")),
                                              (report.failed_upload, _("{n} failed")),
                                              (report.copies, _("{n} second copies")))
             if n]
    return ", ".join(parts)
