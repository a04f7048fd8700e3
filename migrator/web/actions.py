"""What the web app's buttons do: the same flows the CLI calls, with the same arguments.

No migration logic here: each function opens the sources and the journal the way `migrate plan`,
`run`, `verify`, `archive` and `check` do (the same default state file per source+target pair, so
the CLI and the app resume each other's work) and hands the flow an event sink and a stop flag.
Errors are the flows' MigratorErrors (shown on the page with their hint).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.domain.config import TargetConfig, default_state_path, source_ident
from migrator.domain.events import EventSink, Paused
from migrator.domain.filters import Scope
from migrator.domain.models import ArchiveReport, Plan, RunStats, VerifyReport
from migrator.flows.check import CheckReport

UI_BATCH = 10  # messages per APPEND batch: a pause takes effect within a few batches (the CLI default is 100)


@dataclass(frozen=True)
class Migration:
    """One migration as the app holds it: the sources, the target (with its secret, in memory only),
    the scope, and where its journal lives (None: the default file of the source+target pair)."""

    sources: tuple[Path, ...]
    target: TargetConfig
    scope: Scope = field(default_factory=Scope)
    state_path: Path | None = None

    @property
    def state(self) -> Path:
        """The journal of this source+target pair (the same file `migrate run` uses by default)."""
        return self.state_path or default_state_path(list(self.sources), self.target)

    @property
    def quarantine(self) -> Path:
        """Where refused messages are kept: beside the journal (as the CLI does)."""
        return self.state.with_name(self.state.stem + ".quarantine")


@contextmanager
def _opened(paths: tuple[Path, ...]) -> Iterator[list[Any]]:
    from migrator.sources import open_source

    opened: list[Any] = []
    try:
        for p in paths:
            opened.append(open_source(p))
        yield opened
    finally:
        for s in opened:
            s.close()


def _connector(cfg: TargetConfig) -> Callable[[], Any]:
    from migrator.imap.client import ImapTarget

    return lambda: ImapTarget(cfg).connect()


def check(cfg: TargetConfig) -> CheckReport:
    """`migrate check`: connect, TLS, login, capabilities, quota (flows/check.py); never raises for a
    refused login or an unverified certificate: the report says so with its diagnosis."""
    from migrator.flows.check import check_target

    return check_target(cfg)


def plan(job: Migration, sink: EventSink | None = None) -> Plan:
    """`migrate plan`: the dry run (flows/plan.py build_plan), reading the journal when there is one."""
    from migrator.flows.plan import Scanner, build_plan
    from migrator.flows.quota import limits_for
    from migrator.flows.run import layout_of
    from migrator.journal.state import State

    limits = limits_for(job.target.provider, job.target.host, job.target.user)
    with ExitStack() as stack:
        sources = stack.enter_context(_opened(job.sources))
        state = stack.enter_context(State.open(job.state, source_id=source_ident(list(job.sources)),
                                               target_id=job.target.ident, create=False))
        target = stack.enter_context(_connector(job.target)())
        return build_plan(Scanner(sources, layout_of(target), job.scope, state, target, use_settled=True),
                          target_label=job.target.url, on_event=sink, limits=limits)


def run(job: Migration, sink: EventSink, stop: threading.Event) -> RunStats:
    """`migrate run`: the resumable upload (flows/run.py execute) under the account lock; `stop` set:
    the flow stops after the current APPEND batch with the journal settled (stats.interrupted)."""
    from migrator.domain import providers
    from migrator.flows.quota import DailyPacer, limits_for
    from migrator.flows.run import RunOptions, execute
    from migrator.journal.locks import AccountLock, account_key
    from migrator.journal.state import State

    cfg = job.target
    limits = limits_for(cfg.provider, cfg.host, cfg.user)
    preset = providers.get(cfg.provider) if cfg.provider else None
    connections = min(4, preset.max_connections or 4) if preset is not None else 4
    job.state.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        lock = AccountLock(account_key(cfg.host, cfg.port, cfg.user, cfg.scheme)).acquire(cfg.user, cfg.host, cfg.port)
        stack.callback(lock.release)
        sources = stack.enter_context(_opened(job.sources))
        state = stack.enter_context(State.open(job.state, source_id=source_ident(list(job.sources)),
                                               target_id=cfg.ident))
        state.lock()
        opts = RunOptions(
            batch_count=UI_BATCH, connections=connections, stop_requested=stop.is_set, on_event=sink, limits=limits,
            pacer=DailyPacer(limits.daily_upload_bytes, state, on_wait=lambda until, sent: sink(Paused(until, sent)))
            if limits.daily_upload_bytes else None,
        )
        return execute(sources, _connector(cfg), state, job.scope, opts, job.quarantine)


def verify(job: Migration, sink: EventSink | None = None) -> VerifyReport:
    """`migrate verify`: read-only proof on both sides (flows/verify.py), resumable from the journal."""
    from migrator.flows.plan import Scanner
    from migrator.flows.run import layout_of
    from migrator.flows.verify import verify as do_verify
    from migrator.journal.state import State

    with ExitStack() as stack:
        sources = stack.enter_context(_opened(job.sources))
        state = stack.enter_context(State.open(job.state, source_id=source_ident(list(job.sources)),
                                               target_id=job.target.ident))
        state.lock()
        target = stack.enter_context(_connector(job.target)())
        return do_verify(Scanner(sources, layout_of(target), job.scope, state, None), target, state,
                         sources=[str(p) for p in job.sources], quarantine=str(job.quarantine), on_event=sink)


def archive(sources: tuple[Path, ...], scope: Scope, dest: Path, sink: EventSink | None = None) -> ArchiveReport:
    """`migrate archive`: write what a diet leaves local to a new mbox folder tree (flows/archive.py)."""
    from migrator.flows.archive import archive as do_archive

    with _opened(sources) as opened:
        return do_archive(opened, scope, dest, "mbox", on_event=sink)
