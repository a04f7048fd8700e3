"""`migrate`: parse, build config, call a flow, render, return the exit code.

`main()` is the one place that maps exceptions to exit codes (docs/exit-codes.md).
"""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from migrator import __version__

from migrator.config import TargetConfig, default_state_path, parse_target, read_password, source_ident
from migrator.errors import ExitCode, MigratorError, QuotaError, UsageError
from migrator.filters import Scope, parse_day, parse_size
from migrator.progress import Bar, render_plan, render_run, render_verify, to_json

SAFETY = "Nothing on the server is ever changed or deleted; the source is only read."


@dataclass
class Common:
    sources: list[Path]
    target: TargetConfig
    state_path: Path
    scope: Scope
    json: bool
    quiet: bool
    options: dict[str, Any] = field(default_factory=dict)


def _common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path)),
        click.option("--target", "target_url", required=True, metavar="URL",
                     help="imaps://USER@HOST[:PORT] (TLS) or imap://USER@HOST[:PORT] (STARTTLS)."),
        click.option("--state", "state_path", type=click.Path(path_type=Path), metavar="PATH",
                     help="State database (default: one per source+target under ~/.local/share/migrator)."),
        click.option("--password-file", type=click.Path(path_type=Path), metavar="FILE",
                     help="Read the password from FILE (else $MIGRATE_PASSWORD, the keyring, or a prompt)."),
        click.option("--insecure", is_flag=True, help="Allow unverified TLS or plaintext (local tests only)."),
        click.option("--timeout", type=float, default=60.0, show_default=True, help="Network timeout in seconds."),
        click.option("--since", metavar="DATE", help="Only messages dated on or after DATE (YYYY-MM-DD)."),
        click.option("--until", metavar="DATE", help="Only messages dated before DATE (YYYY-MM-DD)."),
        click.option("--max-size", metavar="SIZE", help="Leave out messages larger than SIZE (e.g. 25M)."),
        click.option("--include", multiple=True, metavar="GLOB", help="Only folders matching GLOB (repeatable)."),
        click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out folders matching GLOB (repeatable)."),
        click.option("--account", "accounts", multiple=True, metavar="NAME",
                     help="Thunderbird: only these accounts (default: POP accounts and Local Folders)."),
        click.option("--account-prefix", is_flag=True, help="Thunderbird: keep each account's folders apart."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def build_common(sources: tuple[Path, ...], target_url: str, state_path: Path | None, password_file: Path | None,
                 insecure: bool, timeout: float, since: str | None, until: str | None, max_size: str | None,
                 include: tuple[str, ...], exclude: tuple[str, ...], accounts: tuple[str, ...],
                 account_prefix: bool, as_json: bool, quiet: bool, need_password: bool = True) -> Common:
    target = parse_target(target_url, insecure=insecure, timeout=timeout)
    if insecure:
        click.echo("migrate: warning: --insecure: the server's identity is not checked", err=True)
    scope = Scope(
        since=parse_day(since, "--since") if since else None,
        until=parse_day(until, "--until") if until else None,
        max_size=parse_size(max_size) if max_size else None,
        include=include, exclude=exclude,
    )
    paths = [p.expanduser() for p in sources]
    if need_password:
        target = target.model_copy(update={"password": read_password(password_file, prompt_user=target.ident)})
    options: dict[str, Any] = {}
    if accounts:
        options["accounts"] = list(accounts)
    if account_prefix:
        options["account_prefix"] = True
    return Common(paths, target, state_path or default_state_path(paths, target), scope, as_json, quiet, options)


@contextmanager
def opened_sources(common: Common) -> Iterator[list[Any]]:
    from migrator.sources import detect_kind, open_source

    sources = []
    try:
        for p in common.sources:
            opts = common.options if detect_kind(p) == "thunderbird" else {}
            sources.append(open_source(p, **opts))
        yield sources
    finally:
        for s in sources:
            s.close()


def connector(cfg: TargetConfig) -> Callable[[], Any]:
    from migrator.target.imap import ImapTarget

    return lambda: ImapTarget(cfg).connect()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="migrate")
def cli() -> None:
    """Move POP-era local mail (Outlook .pst, Thunderbird, mbox, Maildir) into an IMAP account.

    The safe order: `migrate check`, `migrate plan`, `migrate run`, `migrate verify`.
    Nothing on the server is ever changed or deleted; the source is only read.
    """


@cli.command()
@_common_options
def plan(**kw: Any) -> int:
    """Dry run: what goes where, how much, and whether it fits the quota. Writes nothing."""
    from migrator.plan import Scanner, build_plan
    from migrator.run import layout_of
    from migrator.state import State

    c = build_common(**kw)
    with ExitStack() as stack:
        sources = stack.enter_context(opened_sources(c))
        state = stack.enter_context(State.open(c.state_path, source_id=source_ident(c.sources),
                                               target_id=c.target.ident, create=False))
        target = stack.enter_context(connector(c.target)())
        bar = Bar("reading", quiet=c.quiet)
        result = build_plan(Scanner(sources, layout_of(target), c.scope, state, target),
                            target_label=c.target.url, on_message=bar.callback())
        bar.close()
    click.echo(to_json(result) if c.json else render_plan(result))
    return int(ExitCode.QUOTA) if result.quota.fits is False else 0


@cli.command()
@_common_options
@click.option("--ignore-quota", is_flag=True, help="Start even when the plan says it does not fit.")
@click.option("--batch", type=click.IntRange(1, 1000), default=100, show_default=True,
              help="Messages per APPEND batch.")
@click.option("--connections", type=click.IntRange(1, 16), default=4, show_default=True,
              help="Parallel connections (some providers allow only a few).")
def run(ignore_quota: bool, batch: int, connections: int, **kw: Any) -> int:
    """Upload. Resumable: interrupt it at any moment and run it again; nothing is uploaded twice."""
    from migrator.run import RunOptions, execute
    from migrator.state import State

    c = build_common(**kw)
    stop = StopFlag()
    with ExitStack() as stack, stop.installed():
        sources = stack.enter_context(opened_sources(c))
        state = stack.enter_context(State.open(c.state_path, source_id=source_ident(c.sources),
                                               target_id=c.target.ident))
        state.lock()
        scan_bar = Bar("reading", quiet=c.quiet)
        bars: dict[str, Bar] = {}

        def on_plan(p: Any) -> None:
            scan_bar.close()
            bars["up"] = Bar("uploading", total=p.totals.upload_bytes, quiet=c.quiet)

        opts = RunOptions(
            batch_count=batch, connections=connections, ignore_quota=ignore_quota, stop_requested=stop.is_set, on_plan=on_plan,
            on_scan=scan_bar.callback(), on_upload=lambda n, b: bars["up"].update(b) if "up" in bars else None,
        )
        quarantine = c.state_path.with_name(c.state_path.stem + ".quarantine")
        try:
            stats = execute(sources, connector(c.target), state, c.scope, opts, quarantine)
        except QuotaError:
            raise
        finally:
            scan_bar.close()
            if "up" in bars:
                bars["up"].close()
    click.echo(to_json(stats) if c.json else render_run(stats))
    if stats.interrupted:
        return int(ExitCode.INTERRUPTED)
    return int(ExitCode.INCOMPLETE) if stats.failed else 0


@cli.command()
@_common_options
@click.option("--deep", is_flag=True, help="Fetch every message and compare its bytes, flags and date.")
@click.option("--sample", type=click.FloatRange(0.01, 100), metavar="PERCENT",
              help="Deep-check a random PERCENT of the messages.")
@click.option("--list/--no-list", "list_all", default=True, help="List each message problem.")
def verify(deep: bool, sample: float | None, list_all: bool, **kw: Any) -> int:
    """Proof, folder by folder, that every message in scope is on the server. Read-only."""
    from migrator.plan import Scanner
    from migrator.run import layout_of
    from migrator.state import State
    from migrator.verify import verify as do_verify

    c = build_common(**kw)
    with ExitStack() as stack:
        sources = stack.enter_context(opened_sources(c))
        state = stack.enter_context(State.open(c.state_path, source_id=source_ident(c.sources),
                                               target_id=c.target.ident))
        target = stack.enter_context(connector(c.target)())
        bar = Bar("checking", quiet=c.quiet)
        report = do_verify(Scanner(sources, layout_of(target), c.scope, state, target), state,
                           deep=deep, sample=sample, on_message=bar.callback())
        bar.close()
    click.echo(to_json(report) if c.json else render_verify(report, list_all))
    return 0 if report.ok else int(ExitCode.INCOMPLETE)


@cli.command()
@click.option("--target", "target_url", required=True, metavar="URL", help="imaps://USER@HOST[:PORT]")
@click.option("--password-file", type=click.Path(path_type=Path), metavar="FILE")
@click.option("--insecure", is_flag=True)
@click.option("--timeout", type=float, default=30.0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def check(target_url: str, password_file: Path | None, insecure: bool, timeout: float, as_json: bool) -> int:
    """Can we log in, is TLS right, what does the server offer, how full is it."""
    from migrator.check import check_target, render_check

    cfg = parse_target(target_url, insecure=insecure, timeout=timeout)
    cfg = cfg.model_copy(update={"password": read_password(password_file, prompt_user=cfg.ident)})
    report = check_target(cfg)
    click.echo(to_json(report) if as_json else render_check(report))
    return 0 if report.ready else int(ExitCode.TARGET)


@cli.command()
@click.option("--state", "state_path", type=click.Path(exists=True, path_type=Path), required=True, metavar="PATH")
def status(state_path: Path) -> int:
    """Progress recorded in a state database, without connecting."""
    import sqlite3

    conn = sqlite3.connect(f"file:{state_path}?mode=ro", uri=True)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        counts = dict(conn.execute("SELECT status, COUNT(*) FROM messages GROUP BY status").fetchall())
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{state_path}: not a migrate state database ({exc})") from exc
    finally:
        conn.close()
    click.echo(f"target: {meta.get('target')}\nsource: {meta.get('source', '').replace(chr(10), ', ')}")
    for k in ("done", "intent", "failed", "missing"):
        click.echo(f"{k}: {counts.get(k, 0)}")
    return 0


class StopFlag:
    """First Ctrl-C/SIGTERM: finish the current batch, settle the journal, stop. Second: stop now."""

    def __init__(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def _handler(self, signum: int, frame: object) -> None:
        if self._set:
            raise KeyboardInterrupt
        self._set = True
        click.echo("\nmigrate: stopping after the current batch (again to stop at once)...", err=True)

    @contextmanager
    def installed(self) -> Iterator[None]:
        old = {s: signal.signal(s, self._handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every outcome becomes one documented exit code."""
    try:
        rv = cli.main(args=argv, prog_name="migrate", standalone_mode=False)
        return int(rv or 0)
    except click.exceptions.Abort:
        click.echo("migrate: interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(ExitCode.USAGE)
    except MigratorError as exc:
        click.echo(f"migrate: error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("migrate: interrupted; run the same command again to resume", err=True)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return 0
    except Exception:  # noqa: BLE001 - the one place where an unexpected error becomes exit 70
        click.echo("migrate: internal error (please report it with the text below)", err=True)
        traceback.print_exc(file=sys.stderr)
        return int(ExitCode.INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
