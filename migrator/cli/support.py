"""The command line's helpers that are not commands: the account lock, the quarantine's place,
writing a report file, and the Ctrl-C / SIGTERM handling of long commands (`StopFlag`)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from migrator.domain.config import TargetConfig
from migrator.domain.errors import ExitCode, UsageError
from migrator.domain.i18n import _

__all__ = ["StopFlag", "account_lock", "quarantine_dir", "write_report_file"]


def account_lock(target: TargetConfig) -> Any:
    """Take the lock of the IMAP account `target` writes to (locks.AccountLock); exit 5 when another
    migrate on this machine holds it."""
    from migrator.journal.locks import AccountLock, account_key

    key = account_key(target.host, target.port, target.user, target.scheme)
    return AccountLock(key).acquire(target.user, target.host, target.port)


def quarantine_dir(state_path: Path) -> Path:
    """Where refused messages are kept: beside the state database."""
    return state_path.with_name(state_path.stem + ".quarantine")


def write_report_file(write: Callable[[Any, Path], None], model: Any, path: Path) -> None:
    """Write an HTML report; a path that cannot be written is a usage error, not a crash."""
    try:
        write(model, path.expanduser())
    except OSError as exc:
        raise UsageError(_("cannot write the report {path}: {reason}").format(path=path, reason=exc.strerror or exc),
                         hint=_("Pick a writable place for --report.")) from exc


class StopFlag:
    """Ctrl-C (SIGINT) and SIGTERM during a long command: the flow's cooperative stop.

    First: `is_set()` turns True; the flow stops cleanly (run: what was sent is settled in the
    journal) and returns what it did, which is printed with what is left (exit 130). Second:
    KeyboardInterrupt is raised into the flow, which stops at once and still returns its
    accounting (open intents are settled by the next run). Third: exit 130 at once, without the
    summary (the journal is safe at any instant: invariant 4)."""

    def __init__(self, what: str | None = None) -> None:
        self.signals = 0
        self.what = what  # when the first signal stops the flow (default: after the current batch)
        self.live = False  # a flow is running (see `running`): only then a second signal raises

    def is_set(self) -> bool:
        """True once the first Ctrl-C / SIGTERM arrived (the flow stops at its next check)."""
        return self.signals > 0

    def _handler(self, signum: int, frame: object) -> None:
        self.signals += 1
        if self.signals == 1:
            what = self.what or _("after the current batch")
            click.echo("\nmigrate: " + _("stopping {what} (Ctrl-C again to stop at once)...").format(what=what),
                       err=True)
        elif self.signals == 2:
            click.echo("\nmigrate: " + _("stopping now (Ctrl-C again to quit without the summary)..."), err=True)
            if self.live:
                raise KeyboardInterrupt
        else:
            click.echo("\nmigrate: " + _("stopped; run the same command again to carry on"), err=True)
            os._exit(int(ExitCode.INTERRUPTED))

    @contextmanager
    def running(self) -> Iterator[None]:
        """The block runs the flow: a second signal raises KeyboardInterrupt into it (outside, the
        accounting it returned is being printed: that is left to finish)."""
        self.live = True
        try:
            yield
        finally:
            self.live = False

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Install the handler for SIGINT and SIGTERM for the block; the previous ones come back after it."""
        old = {s: signal.signal(s, self._handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)
