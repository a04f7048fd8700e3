"""`migrate status`'s text: where a migration stands (flows/status.py StatusReport), in words a
user knows, tables within 80 columns; and the older journal-figures view (journal.status.StatusView)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from migrator.domain.errors import AccountLocked, LoginError, MigratorError, SourceError, StateLocked, UsageError
from migrator.domain.i18n import N_, _, ngettext
from migrator.domain.models import LastRun, StatusReport
from migrator.domain.units import count, human_bytes
from migrator.journal.status import JOURNAL_STATUSES, StatusView
from migrator.render.stores import narrow_table

OUTCOME_WORDS = {
    "finished": N_("finished"),
    "interrupted": N_("interrupted (stopped by Ctrl-C or the system); nothing is lost"),
    "over quota": N_("stopped: the mailbox on the server is full (over quota)"),
    "failed": N_("failed"),
    "running": N_("still running"),
    "stopped": N_("did not finish: it was killed, or the computer stopped; nothing is lost"),
}


def _when(iso: str | None) -> str:
    """'2026-11-30 12:34' from an ISO 8601 local time."""
    return iso[:16].replace("T", " ") if iso else "?"


def _messages(n: int) -> str:
    return ngettext("{n} message", "{n} messages", n).format(n=count(n))


def last_run_line(last: LastRun) -> str:
    """One line on the latest run: when (local time) and how it ended."""
    words = _(OUTCOME_WORDS[last.outcome]) if last.outcome in OUTCOME_WORDS else last.outcome
    if last.outcome == "failed" and last.error:
        words = _("failed: {error}").format(error=last.error)
    if last.finished:
        line = _("Last run: started {start}, ended {end} (local time): {how}").format(
            start=_when(last.started), end=_when(last.finished), how=words)
    else:
        line = _("Last run: started {start} (local time): {how}").format(start=_when(last.started), how=words)
    if last.outcome not in ("running", "stopped"):
        line += _("; it uploaded {n} ({size})").format(n=count(last.uploaded), size=human_bytes(last.uploaded_bytes))
    return line + "."


def render_report(r: StatusReport) -> str:
    """`migrate status`: the pair, the journal, one line per folder (migrated, already there, failed,
    left), the totals, the last run and what to do next."""
    out = [_("Migration of {sources}").format(sources=", ".join(r.sources) or "?"),
           _("          to {target}").format(target=r.target), _("journal: {path}").format(path=r.state), ""]
    rows = [[f.folder, f.target, count(f.migrated), count(f.already), count(f.failed),
             "?" if f.left is None else count(f.left)] for f in r.folders]
    rows.append([_("total"), "", count(r.migrated), count(r.already), count(r.failed),
                 "?" if r.left is None else count(r.left)])
    out += narrow_table([_("FOLDER"), _("TO"), _("MIGRATED"), _("ALREADY THERE"), _("FAILED"), _("LEFT")], rows,
                        {2, 3, 4, 5}, (0, 1))
    out.append("")
    out.append(_("Migrated: {messages} ({size}); already on the server: {already}.").format(
        messages=_messages(r.migrated), size=human_bytes(r.migrated_bytes), already=count(r.already)))
    if r.last_run is not None:
        out.append(last_run_line(r.last_run))
    if r.failed:
        out.append(_("Failed: {n}: kept with the reason beside the journal (quarantine, failures.log); the next "
                     "run tries them again.").format(n=count(r.failed)))
    last = r.last_run
    if last is not None and last.over_quota:
        out.append(_("not uploaded: over quota: {n} message(s), {size} left after the last run (which uploaded "
                     "{uploaded}, {uploaded_size}); raise the quota and run again, or see `migrate plan` for a "
                     "--since that fits").format(n=count(last.over_quota), size=human_bytes(last.over_quota_bytes),
                                                 uploaded=count(last.uploaded),
                                                 uploaded_size=human_bytes(last.uploaded_bytes)))
    if r.unsettled:
        out.append(_("Not confirmed yet: {n} sent as the run stopped; the next run checks them on the server "
                     "(never uploaded twice).").format(n=count(r.unsettled)))
    if r.missing:
        out.append(_("Missing: {n} that verify did not find on the server; the next run uploads them "
                     "again.").format(n=count(r.missing)))
    if r.changed:
        out.append(_("stored changed by the server: {n} (NUL bytes the server returns as 0x80)").format(
            n=count(r.changed)))
    out += _next_steps(r)
    return "\n".join(out)


def _next_steps(r: StatusReport) -> list[str]:
    if r.done:
        return [_("Nothing is left: every message is on the server. Prove it with `migrate verify` "
                  "(same arguments as run).")]
    out = []
    if r.left is None:
        unknown = sum(1 for f in r.folders if f.left is None)
        out.append(ngettext("Left: not known for {n} folder the last run did not read to the end; give the source "
                            "to count it: migrate status SOURCE... --target URL",
                            "Left: not known for {n} folders the last run did not read to the end; give the source "
                            "to count it: migrate status SOURCE... --target URL", unknown).format(n=count(unknown)))
        if r.next:
            out.append(_("To carry on: {command}").format(command=r.next))
        return out
    left = _("Left: {messages} (counted in the source now).") if r.counted else _("Left: {messages}.")
    out.append(left.format(messages=_messages(r.left)))
    if r.next:
        out.append(_("To finish: {command}").format(command=r.next))
    return out


def render_status(view: StatusView) -> str:
    """target, source, one line per journal status, then what is stored changed and what the
    last run left over quota (the journal's own figures)."""
    out = [_("target: {target}").format(target=view.target),
           _("source: {source}").format(source=view.source.replace(chr(10), ", "))]
    out += [f"{k}: {view.by_status.get(k, 0):,}" for k in JOURNAL_STATUSES]
    if view.changed:
        out.append(_("stored changed by the server: {n} (of done: NUL bytes the server returns as 0x80)").format(
            n=count(view.changed)))
    last = view.last_run
    if last is not None and last.over_quota:
        out.append(_("not uploaded: over quota: {n} message(s), {size} left after the last run (which uploaded "
                     "{uploaded}, {uploaded_size}); raise the quota and run again, or see `migrate plan` for a "
                     "--since that fits").format(n=count(last.over_quota), size=human_bytes(last.over_quota_bytes),
                                                 uploaded=count(last.uploaded),
                                                 uploaded_size=human_bytes(last.uploaded_bytes)))
    return "\n".join(out)


@contextmanager
def where_it_stands(command: str, journal: Path) -> Iterator[None]:
    """Around `run`: when it is interrupted, one line on stderr with the `migrate status` command
    that shows where the migration stands; when it fails after its journal exists, that command
    is added to the error's hint (not for errors before a run starts: usage, source, login, locks)."""
    try:
        yield
    except KeyboardInterrupt:
        print("migrate: " + _("where it stands: {command}").format(command=command), file=sys.stderr, flush=True)
        raise
    except MigratorError as exc:
        if not isinstance(exc, (UsageError, SourceError, LoginError, StateLocked, AccountLocked)) and journal.exists():
            exc.hint = (exc.hint + " " if exc.hint else "") + _("Where it stands: {command}").format(command=command)
        raise
