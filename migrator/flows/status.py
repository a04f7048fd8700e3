"""Where a migration stands (`migrate status`), from its journal and, when given, the source.

Never connects to the server; opens the journal read-only. Per source folder: migrated (uploaded by
this migration, confirmed by the server: the journal's done rows over all runs), already there
(what the last run found on the server that this migration did not upload), failed (refused or
unreadable, kept in quarantine), left (still to upload); the totals; the latest run (when, how it
ended); and the command that finishes the job.

"left" needs the number of messages of each folder: counted from the source when it is given
(read-only, with the run's --since/--until/--max-size and folder globs), else what the last run
read of the folder (a folder it read to the end), else the plan it made before uploading; when
none of these is known, `left` is None and the report says to give the source.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

from migrator.domain.config import TargetConfig, default_state_path, parse_target, source_ident
from migrator.domain.errors import MigratorError, NotStarted, QuotaError, UsageError
from migrator.domain.filters import Scope, scope_from
from migrator.domain.folders import TargetLayout, map_stores
from migrator.domain.i18n import _
from migrator.domain.models import FolderInventory, FolderStatus, LastRun, RunStats, StatusReport
from migrator.flows.inventory import count_folder, open_paths, shell_quote
from migrator.journal.runlog import RunLog, journal_tally, read_runlog
from migrator.journal.state import State
from migrator.sources.base import Source

RUN, STATUS = "run", "status"  # the verbs of command_line


def command_line(verb: str, params: dict[str, Any]) -> str:
    """`migrate VERB SOURCE... --target URL` with the options of `params` (click's names of run's
    parameters: sources, target_url, provider, state_path, since, until, max_size, include, exclude,
    accounts, account_prefix) that decide the migration: what to type to carry on (`run`) or to
    see where it stands (`status`). Words are quoted for the shell (inventory.shell_quote)."""
    words = ["migrate", verb, *[shell_quote(str(p)) for p in params.get("sources") or ()]]
    if params.get("target_url"):
        words += ["--target", shell_quote(str(params["target_url"]))]
    for flag, name in (("--provider", "provider"), ("--state", "state_path"), ("--since", "since"),
                       ("--until", "until"), ("--max-size", "max_size"), ("--include", "include"),
                       ("--exclude", "exclude"), ("--account", "accounts")):
        value = params.get(name)
        for v in (value if isinstance(value, (tuple, list)) else [value]):
            if v:
                words += [flag, shell_quote(str(v))]
    if params.get("account_prefix"):
        words.append("--account-prefix")
    return " ".join(words)


def target_url_of(ident: str) -> str:
    """A --target URL for a journal's `user@host:port` (imap:// on port 143, else imaps://)."""
    return ("imap://" if ident.endswith(":143") else "imaps://") + ident


RUN_PARAMS = ("sources", "target_url", "provider", "state_path", "since", "until", "max_size", "include",
              "exclude", "accounts", "account_prefix")  # click's names of run's parameters that status reads


def status_from_args(kw: dict[str, Any]) -> StatusReport:
    """`migrate status` from its command-line values (click's names, RUN_PARAMS; others ignored):
    UsageError (exit 2) without SOURCE and --target or --state; then status_of."""
    params = {k: kw.get(k) for k in RUN_PARAMS}
    sources, target_url = tuple(params["sources"] or ()), params["target_url"]
    if not params["state_path"] and not (sources and target_url):
        raise UsageError(_("status needs the SOURCE... and --target of the migration (as given to run), "
                           "or --state PATH"),
                         hint=_("Example: migrate status ~/mail --target imaps://me@example.com"))
    target = parse_target(target_url, provider=params["provider"]) if target_url else None
    scope = scope_from(params["since"], params["until"], params["max_size"], tuple(params["include"] or ()),
                       tuple(params["exclude"] or ()))
    paths = [p.expanduser() if isinstance(p, Path) else p for p in sources]  # a server URL stays as written
    return status_of(paths, target, params["state_path"], scope, params)


def status_of(paths: list[Any], target: TargetConfig | None, state_path: Path | None, scope: Scope,
              params: dict[str, Any]) -> StatusReport:
    """`migrate status` from run's own arguments: the journal at `state_path`, else the default one
    of the pair (config.default_state_path: the one `run` uses); the sources at `paths` opened
    read-only to count what is left (when there is a journal); `params` are run's parameters by
    click's names (command_line), for the messages and the command that carries on. Raises
    NotStarted (exit 2) without a journal, StateError (exit 5) for another pair's or a damaged one."""
    path = state_path.expanduser() if state_path else default_state_path(paths, target)  # type: ignore[arg-type]
    pair = bool(paths and target)
    what = _("{sources} to {target}").format(sources=", ".join(str(p) for p in params.get("sources") or paths),
                                             target=target.url) if pair and target else ""
    options: dict[str, Any] = {"accounts": list(params["accounts"])} if params.get("accounts") else {}
    if params.get("account_prefix"):
        options["account_prefix"] = True
    with ExitStack() as stack:
        opened = stack.enter_context(open_paths(paths, options)) if paths and path.exists() else None
        report = migration_status(path, sources=opened, scope=scope, what=what,
                                  next_command=command_line(RUN, params) if pair else "",
                                  source_id=source_ident(paths) if pair else None,
                                  target_id=target.ident if target else None)
    if not report.done and not pair:  # --state alone: the pair as the journal knows it
        params = {**params, "sources": params.get("sources") or tuple(report.sources),
                  "target_url": params.get("target_url") or target_url_of(report.target)}
        report.next = command_line(RUN, params)
    return report


def run_summary(stats: RunStats, error: BaseException | None = None) -> dict[str, object]:
    """What a run leaves in its journal for `migrate status` (journal/runlog.py record_end): how it
    ended (finished, interrupted, over quota, failed, with the error's one line) and its counts per
    folder; every folder is complete but the one a stopped run was reading."""
    if error is None:
        outcome = "interrupted" if stats.interrupted else "over quota" if stats.over_quota else "finished"
    elif isinstance(error, KeyboardInterrupt):
        outcome = "interrupted"
    elif isinstance(error, QuotaError):
        outcome = "over quota"
    else:
        outcome = "failed"
    message = None
    if error is not None and not isinstance(error, KeyboardInterrupt):
        message = error.message if isinstance(error, MigratorError) else f"{type(error).__name__}: {error}"
    stopped = outcome in ("interrupted", "failed")
    folders = []
    for i, f in enumerate(stats.folders):
        folders.append({"key": f.source_key, "source": f.source, "target": f.target, "uploaded": f.uploaded,
                        "uploaded_bytes": f.uploaded_bytes, "already": f.already, "duplicates": f.duplicates,
                        "failed": f.failed, "over_quota": f.over_quota, "in_scope": f.scanned,
                        "complete": not (stopped and i == len(stats.folders) - 1)})
    return {"uploaded": stats.uploaded, "uploaded_bytes": stats.uploaded_bytes, "failed": stats.failed,
            "over_quota": stats.over_quota, "over_quota_bytes": stats.over_quota_bytes,
            "over_quota_since": stats.over_quota_since, "outcome": outcome, "error": message, "folders": folders}


def local_time(epoch: float | None) -> str | None:
    """Epoch seconds as local time, ISO 8601 with the offset ("2026-11-30T12:34:56+09:00")."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(float(epoch)).astimezone().isoformat(timespec="seconds")


def last_run(log: RunLog) -> LastRun | None:
    """The latest run as the journal knows it; None before any run."""
    if log.ended and log.last is not None:
        last = log.last
        return LastRun(started=local_time(last.get("started")), finished=local_time(last.get("finished")),
                       outcome=str(last.get("outcome") or "finished"), error=last.get("error"),
                       uploaded=int(last.get("uploaded") or 0), uploaded_bytes=int(last.get("uploaded_bytes") or 0),
                       failed=int(last.get("failed") or 0), over_quota=int(last.get("over_quota") or 0),
                       over_quota_bytes=int(last.get("over_quota_bytes") or 0))
    if log.started is not None:
        return LastRun(started=local_time(log.started), outcome="running" if log.running else "stopped")
    return None


class _Rows:
    """The folders of the report, in order, found by journal key."""

    def __init__(self) -> None:
        self.by_key: dict[str, FolderStatus] = {}
        self.planned: dict[str, int | None] = {}

    def add(self, key: str, folder: str, target: str, planned: int | None = None) -> FolderStatus:
        row = self.by_key.get(key)
        if row is None:
            row = self.by_key[key] = FolderStatus(folder=folder, target=target, reached=False)
        if planned is not None:
            self.planned[key] = planned
        return row


def migration_status(state_path: Path, *, sources: list[Source] | None = None, scope: Scope | None = None,
                     what: str = "", next_command: str = "", source_id: str | None = None,
                     target_id: str | None = None) -> StatusReport:
    """The status of the migration whose journal is `state_path` (see the module docstring).

    sources: the opened source stores (to count what is left), else None. what: "SOURCE to TARGET"
    for the message when there is no journal. next_command: the command that carries on.
    source_id/target_id: the pair the journal must belong to (StateError, exit 5, otherwise).
    Raises NotStarted (exit 2) when there is no journal, StateError (exit 5) when it is damaged."""
    path = state_path.expanduser()
    if not path.exists():
        raise NotStarted(_("no migration of {what} has started yet (no journal at {path})").format(what=what, path=path)
                         if what else _("no journal at {path}: no migration has started with it yet").format(path=path),
                         hint=_("Start it with: {command}").format(command=next_command) if next_command else None)
    if source_id is not None and target_id is not None:
        opened = State.open(path, source_id=source_id, target_id=target_id, create=False)
    else:
        opened = State.inspect(path)
    with opened as state:
        log = read_runlog(state)
        tally = journal_tally(state)
        counts = state.counts()
        report = StatusReport(state=str(path), sources=(state.meta("source") or "").splitlines(),
                              target=state.meta("target") or "", counted=sources is not None,
                              changed=state.changed_count(), last_run=last_run(log),
                              unsettled=int(counts.get("intent", 0)), missing=int(counts.get("missing", 0)))
    rows = _Rows()
    for f in log.folders:
        rows.add(str(f.get("key")), str(f.get("source")), str(f.get("target")), f.get("messages"))
    last = {str(f.get("key")): f for f in (log.last or {}).get("folders", []) if isinstance(f, dict)}
    for key, f in last.items():
        rows.add(key, str(f.get("source")), str(f.get("target")))
    counted: dict[str, int] = {}
    if sources is not None:
        counted = _count_sources(sources, scope or Scope(), rows)
    else:
        displays = {r.folder for r in rows.by_key.values()}
        for key in tally:
            if key not in rows.by_key and key not in displays:  # a journal of an earlier version
                rows.add(key, key, "")
    for key, row in rows.by_key.items():
        _settle(row, key, tally, last.get(key), counted.get(key), rows.planned.get(key), log.ended)
    _totals(report, list(rows.by_key.values()))
    report.done = report.left == 0 and report.failed == 0 and report.unsettled == 0
    report.next = "" if report.done else next_command
    return report


def _count_sources(sources: list[Source], scope: Scope, rows: _Rows) -> dict[str, int]:
    """Count every in-scope folder of the sources (read-only); their rows come first, in store order."""
    folder_lists = [src.folders() for src in sources]
    names = map_stores(folder_lists, TargetLayout())
    counted: dict[str, int] = {}
    ordered: dict[str, FolderStatus] = {}
    for src, folders, mapped in zip(sources, folder_lists, names, strict=True):
        for f in folders:
            key = f"{src.kind}:{src.root}:{f.key}"  # flows/plan.py Entry.key
            known = rows.by_key.get(key)
            target = known.target if known is not None else mapped[f.key].target
            if not scope.folder_in_scope(f.display, target):
                continue
            fi = FolderInventory(folder=f.display, target=target)
            count_folder(src, f, fi, {}, scope)
            counted[key] = fi.messages or 0
            ordered[key] = rows.add(key, f.display, target)
    rows.by_key = {**ordered, **{k: v for k, v in rows.by_key.items() if k not in ordered}}
    return counted


def _settle(row: FolderStatus, key: str, tally: dict[str, dict[str, int]], last: dict[str, Any] | None,
            counted: int | None, planned: int | None, ended: bool) -> None:
    t = tally.get(key, {})
    by_name = tally.get(row.folder, {}) if row.folder != key else {}  # unreadable rows: by display name
    row.migrated = int(t.get("done", 0))
    row.migrated_bytes = int(t.get("done_bytes", 0))
    row.failed = int(t.get("failed", 0)) + int(by_name.get("failed", 0))
    if last is not None:
        on_server = int(last.get("uploaded") or 0) + int(last.get("already") or 0) + int(last.get("duplicates") or 0)
        row.already = max(0, on_server - row.migrated)
        row.over_quota = int(last.get("over_quota") or 0)
        row.reached = bool(last.get("complete")) and ended
        if row.reached and counted is None:
            counted = int(last.get("in_scope") or 0)
    total = counted if counted is not None else planned
    row.in_source = total
    row.left = None if total is None else max(0, total - row.migrated - row.already - row.failed)


def _totals(report: StatusReport, rows: list[FolderStatus]) -> None:
    report.folders = rows
    for name in ("migrated", "migrated_bytes", "already", "failed", "over_quota"):
        setattr(report, name, sum(getattr(r, name) for r in rows))
    if not rows:  # no folder: nothing to do after a finished run (an empty source), else not known
        finished = report.counted or (report.last_run is not None and report.last_run.outcome == "finished")
        report.left = report.in_source = 0 if finished else None
        return
    lefts = [r.left for r in rows]
    report.left = None if any(v is None for v in lefts) else sum(v or 0 for v in lefts)
    ins = [r.in_source for r in rows]
    report.in_source = None if any(v is None for v in ins) else sum(v or 0 for v in ins)
