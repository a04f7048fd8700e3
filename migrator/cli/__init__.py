"""`migrate`: parse, build config, call a flow, render, return the exit code.

`main()` is the one place that maps exceptions to exit codes (docs/exit-codes.md).
"""

from __future__ import annotations

import contextvars
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from migrator import __version__
from migrator.cli.support import StopFlag, account_lock, quarantine_dir
from migrator.cli.support import write_report_file as _write_report
from migrator.domain.config import TargetConfig, default_state_path, parse_target, read_password, source_ident
from migrator.domain.errors import ExitCode, MigratorError, QuotaError
from migrator.domain.events import Paused
from migrator.domain.filters import Scope, parse_day, scope_from
from migrator.domain.i18n import N_, _, set_language
from migrator.flows.nomail import preflight
from migrator.flows.nomail import require_mail as check_mail
from migrator.render.cli_help import Group, lang_argument, wide_option
from migrator.render.console import tolerant_output
from migrator.render.terminal import Progress, render_plan, render_run, render_verify, to_json
from migrator.render.usage_errors import describe as describe_usage_error

SAFETY = N_("Nothing on the server is ever changed or deleted; the source is only read.")


def source_args(ctx: click.Context | None, param: click.Parameter | None, values: Any) -> tuple[Path | str, ...]:
    """The SOURCE arguments: a server account URL (imaps://, imap://, pop3s://, pop3://) stays the
    string as given (domain/remote.py), anything else is a path (`C:\\Mail` included)."""
    from migrator.domain.remote import is_remote

    out: list[Path | str] = []
    for value in values or ():
        text = value if isinstance(value, Path) else str(value).strip()
        out.append(text if isinstance(text, str) and is_remote(text) else Path(value))
    return tuple(out)


@dataclass
class Common:
    sources: list[Path | str]
    target: TargetConfig
    state_path: Path
    scope: Scope
    json: bool
    quiet: bool
    options: dict[str, Any] = field(default_factory=dict)
    provider: str | None = None  # provider preset name (given or recognised from the host)


def _target_options(required: bool = True) -> list[Callable[..., Any]]:
    """How to reach and log in to the server (shared by check, plan, run, verify)."""
    return [
        click.option("--target", "target_url", required=required, metavar="URL",
                     help=N_("imaps://USER@HOST[:PORT] (TLS) or imap://USER@HOST[:PORT] (STARTTLS); "
                             "with --provider just USER.")),
        click.option("--provider", metavar="NAME",
                     help=N_("Provider preset: host, port, TLS, limits and login hints (gmail, icloud, outlook, "
                             "office365, yahoo, aol, yahoo-japan, docomo, ocn, nifty; see docs/providers.md).")),
        click.option("--password-file", type=click.Path(path_type=Path), metavar="FILE",
                     help=N_("Read the password from FILE (else $MIGRATE_PASSWORD, the keyring, or a prompt).")),
        click.option("--oauth2", is_flag=True,
                     help=N_("Log in with an OAuth2 access token (XOAUTH2/OAUTHBEARER): required by Microsoft 365 "
                             "and Outlook.com. The token comes from --oauth2-token-command or the password sources.")),
        click.option("--oauth2-token-command", metavar="CMD",
                     help=N_("Shell command printing a fresh access token; run for every connection "
                             "(implies --oauth2).")),
        click.option("--insecure", is_flag=True, help=N_("Allow unverified TLS or plaintext (local tests only).")),
        click.option("--debug", is_flag=True,
                     help=N_("Write an IMAP protocol trace (passwords and tokens redacted) next to the state file "
                             "(`check`: to stderr).")),
    ]


def _source_options() -> list[Callable[..., Any]]:
    """How to log in to a server SOURCE (imaps://USER@HOST, pop3s://USER@HOST): apart from the target's."""
    return [
        click.option("--source-password-file", type=click.Path(path_type=Path), metavar="FILE",
                     help=N_("Server source: read its password from FILE (else $MIGRATE_SOURCE_PASSWORD, the keyring "
                             "under the source URL, or a prompt). The target's password is never used for it.")),
        click.option("--source-insecure", is_flag=True,
                     help=N_("Server source: allow an unverified TLS certificate or plain text (local tests only).")),
        click.option("--pop3-folder", metavar="NAME",
                     help=N_("POP3 source: the target folder for its messages (default INBOX).")),
    ]


def _with(opts: list[Callable[..., Any]]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def apply(fn: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(opts):
            fn = opt(fn)
        return fn

    return apply


def _scope_options() -> list[Callable[..., Any]]:
    """What a migration covers and how the answer is printed (run, plan, verify, status)."""
    return [
        click.option("--since", metavar="DATE", help=N_("Only messages dated on or after DATE (YYYY-MM-DD).")),
        click.option("--until", metavar="DATE", help=N_("Only messages dated before DATE (YYYY-MM-DD).")),
        click.option("--max-size", metavar="SIZE", help=N_("Leave out messages larger than SIZE (e.g. 25M).")),
        click.option("--include", multiple=True, metavar="GLOB", help=N_("Only folders matching GLOB (repeatable).")),
        click.option("--exclude", multiple=True, metavar="GLOB",
                     help=N_("Leave out folders matching GLOB (repeatable).")),
        click.option("--account", "accounts", multiple=True, metavar="NAME",
                     help=N_("Thunderbird, Becky!: only these accounts (default: POP accounts and Local Folders).")),
        click.option("--account-prefix", is_flag=True,
                     help=N_("Thunderbird, Becky!: keep each account's folders apart.")),
        click.option("--json", "as_json", is_flag=True, help=N_("Print one JSON document on stdout.")),
    ]


STATE_OPTION = click.option("--state", "state_path", type=click.Path(path_type=Path), metavar="PATH",
                            help=N_("State database (default: one per source+target under ~/.local/share/migrator)."))


def _common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.argument("sources", nargs=-1, required=True, type=click.UNPROCESSED, callback=source_args),
        *_target_options(),
        *_source_options(),
        STATE_OPTION,
        click.option("--timeout", type=float, default=60.0, show_default=True, help=N_("Network timeout in seconds.")),
        *_scope_options(),
        click.option("--quiet", "-q", is_flag=True, help=N_("No progress bar.")),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def build_common(sources: tuple[Path | str, ...], target_url: str, state_path: Path | None,
                 password_file: Path | None, insecure: bool, timeout: float, since: str | None, until: str | None,
                 max_size: str | None, include: tuple[str, ...], exclude: tuple[str, ...], accounts: tuple[str, ...],
                 account_prefix: bool, as_json: bool, quiet: bool, need_password: bool = True,
                 provider: str | None = None, oauth2: bool = False, oauth2_token_command: str | None = None,
                 debug: bool = False, source_password_file: Path | None = None, source_insecure: bool = False,
                 pop3_folder: str | None = None, preview: bool = False) -> Common:
    """The options every command shares, checked and built once: the target (TargetConfig, with the
    password or token when `need_password`), the scope (--since/--until as UTC days, --max-size in
    bytes, folder globs), the state path and the reader options (a server source's login options,
    `preview` for plan: headers and sizes only). UsageError (exit 2) on a bad option."""
    scope = scope_from(since, until, max_size, include, exclude)  # before the password prompt: said at once
    preflight([p.expanduser() for p in sources if isinstance(p, Path)])  # a wrong path too: before the prompt
    target = build_target(target_url, provider=provider, password_file=password_file, insecure=insecure,
                          timeout=timeout, oauth2=oauth2, oauth2_token_command=oauth2_token_command,
                          need_password=need_password)
    paths = [p.expanduser() if isinstance(p, Path) else p for p in sources]
    options: dict[str, Any] = {"source_password_file": source_password_file, "source_insecure": source_insecure,
                               "timeout": timeout, "preview": preview, "pop3_folder": pop3_folder}
    if source_insecure and any(isinstance(p, str) for p in paths):
        click.echo("migrate: warning: --source-insecure: " + _("the source server's identity is not checked"), err=True)
        options["on_plaintext"] = plaintext_warning()
    if accounts:
        options["accounts"] = list(accounts)
    if account_prefix:
        options["account_prefix"] = True
    state = state_path or default_state_path(paths, target)
    if debug:
        trace = state.expanduser().with_name(state.expanduser().name + ".imap-trace.log")
        target = target.model_copy(update={"trace": str(trace)})
        click.echo("migrate: --debug: " + _("IMAP protocol trace in {path} (passwords and tokens redacted)").format(
            path=trace), err=True)
    return Common(paths, target, state, scope, as_json, quiet, options, provider=target.provider)


def build_target(target_url: str, *, provider: str | None, password_file: Path | None, insecure: bool,
                 timeout: float, oauth2: bool, oauth2_token_command: str | None,
                 need_password: bool = True) -> TargetConfig:
    """--target/--provider/credentials into a TargetConfig (the secret never comes from argv)."""
    target = parse_target(target_url, insecure=insecure, timeout=timeout, provider=provider)
    if insecure:
        click.echo("migrate: warning: --insecure: " + _("the server's identity is not checked"), err=True)
    oauth2 = oauth2 or bool(oauth2_token_command)
    target = target.model_copy(update={"oauth2": oauth2, "oauth2_token_command": oauth2_token_command or None})
    if need_password and not oauth2_token_command:
        what = _("OAuth2 access token") if oauth2 else _("Password")
        target = target.model_copy(update={"password": read_password(password_file, prompt_user=target.ident,
                                                                      what=what)})
    return target


@contextmanager
def opened_sources(common: Common) -> Iterator[list[Any]]:
    """The sources of `common`, opened (read-only) for the block and closed after it, whatever happens;
    SourceError (exit 2) when one cannot be opened. (A path with no mail was refused already, by
    build_common's preflight, before the password prompt.)"""
    from migrator.sources import open_source

    sources = []
    try:
        for p in common.sources:
            sources.append(open_source(p, **common.options))  # each kind takes its own options
        yield sources
    finally:
        for s in sources:
            s.close()


def plaintext_warning() -> Callable[[str], None]:
    """One explicit warning line on stderr, the first time a password (or token) goes without TLS."""
    said: list[str] = []

    def warn(what: str) -> None:
        if not said:
            said.append(what)
            click.echo(f"migrate: warning: {what}", err=True)

    return warn


def connector(cfg: TargetConfig) -> Callable[[], Any]:
    """A factory of connected, logged-in ImapTarget's for `cfg` (each call a new connection); the
    plain-text warning of imap:// without TLS shown once."""
    from migrator.imap.client import ImapTarget

    warn = plaintext_warning()
    return lambda: ImapTarget(cfg, on_plaintext=warn).connect()


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]}, help=N_(
    "Move POP-era local mail (Outlook .pst, Thunderbird, mbox, Maildir) into an IMAP account.\n\n"
    "The safe order: `migrate check`, `migrate plan`, `migrate run`, `migrate verify`. Nothing on "
    "the server is ever changed or deleted; the source is only read."))
@click.version_option(version=__version__, prog_name="migrate")
def cli() -> None:
    """The `migrate` group: the help text users read is the `help=` above (translated when shown)."""


@cli.command(help=N_(
    "Dry run: what goes where, how much, whether it fits the quota, and what to do if not. Writes "
    "nothing.\n\n"
    "Exit 4 when the upload does not fit (with the --since date that fits and other diets)."))
@_common_options
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.html",
              help=N_("Also write the plan as a self-contained HTML page (charts included, no network needed)."))
@wide_option()
def plan(report_path: Path | None, **kw: Any) -> int:
    """`migrate plan`: the help text users read is the `help=` above (translated when shown)."""
    from migrator.flows.plan import Scanner, build_plan
    from migrator.flows.quota import limits_for
    from migrator.flows.run import layout_of
    from migrator.journal.state import State

    c = build_common(**kw, preview=True)  # a server source sends headers and sizes only
    limits = limits_for(getattr(c, "provider", None), c.target.host, c.target.user)
    with ExitStack() as stack:
        sources = stack.enter_context(opened_sources(c))
        state = stack.enter_context(State.open(c.state_path, source_id=source_ident(c.sources),
                                               target_id=c.target.ident, create=False))
        target = stack.enter_context(connector(c.target)())
        progress = Progress(quiet=c.quiet)
        stack.callback(progress.close)
        result = build_plan(Scanner(sources, layout_of(target), c.scope, state, target, use_settled=True),
                            target_label=c.target.url, on_event=progress, limits=limits)
    if report_path is not None:
        from functools import partial

        from migrator.render.charts import write_report

        _write_report(partial(write_report, source=", ".join(str(p) for p in c.sources)), result, report_path)
    click.echo(to_json(result) if c.json else render_plan(result))
    if report_path is not None and not c.json:
        click.echo("\n" + _("Report written to {path}.").format(path=report_path))
    return int(ExitCode.QUOTA) if result.quota.fits is False else 0


@cli.command(help=N_(
    "Upload. Resumable: interrupt it at any moment and run it again; nothing is uploaded twice."))
@_common_options
@click.option("--ignore-quota", is_flag=True, help=N_("Start even when the plan says it does not fit."))
@click.option("--batch", type=click.IntRange(1, 1000), default=100, show_default=True,
              help=N_("Messages per APPEND batch."))
@click.option("--connections", type=click.IntRange(1, 16), default=None,
              help=N_("Parallel connections (default 4, fewer when the provider allows fewer)."))
@wide_option()
def run(ignore_quota: bool, batch: int, connections: int | None, **kw: Any) -> int:
    """Upload. Resumable: interrupt it at any moment and run it again; nothing is uploaded twice.

    Says where its journal is (stderr) and how to see where the migration stands: `migrate status`.
    """
    from migrator.flows.status import STATUS, command_line
    from migrator.render.status import where_it_stands

    c = build_common(**kw)
    where = command_line(STATUS, kw)
    with where_it_stands(where, c.state_path):
        return _run(c, where, ignore_quota, batch, connections)


def _run(c: Common, where: str, ignore_quota: bool, batch: int, connections: int | None) -> int:
    """`run` once its options are built (see run)."""
    from migrator.flows.quota import DailyPacer, limits_for
    from migrator.flows.run import RunOptions, execute
    from migrator.journal.state import State

    limits = limits_for(getattr(c, "provider", None), c.target.host, c.target.user)
    if connections is None:
        from migrator.domain import providers

        preset = providers.get(c.provider) if c.provider else None
        cap = preset.max_connections if preset is not None and preset.max_connections else 4
        connections = min(4, cap)
    stop = StopFlag()
    with ExitStack() as stack, stop.installed():
        stack.callback(account_lock(c.target).release)  # one writer per account, for the whole run
        sources = stack.enter_context(opened_sources(c))
        state = stack.enter_context(State.open(c.state_path, source_id=source_ident(c.sources),
                                               target_id=c.target.ident))
        state.lock()
        if not c.json:  # with --json it is the document's `state`
            click.echo("migrate: journal: " + _("{path} (where it stands: {command})").format(
                path=c.state_path, command=where), err=True)
        progress = Progress(quiet=c.quiet)
        stack.callback(progress.close)
        opts = RunOptions(
            batch_count=batch, connections=connections, ignore_quota=ignore_quota, stop_requested=stop.is_set,
            on_event=progress, limits=limits,
            pacer=DailyPacer(limits.daily_upload_bytes, state,
                             on_wait=lambda until, sent: progress(Paused(until, sent)))
            if limits.daily_upload_bytes else None,
        )
        quarantine = quarantine_dir(c.state_path)
        with stop.running():
            stats = execute(sources, connector(c.target), state, c.scope, opts, quarantine)
        progress.close()
        click.echo(to_json(stats) if c.json else render_run(stats))
        if stats.interrupted or stats.failed:
            click.echo("migrate: " + _("where it stands: {command}").format(command=where), err=True)
    if stats.interrupted:
        return int(ExitCode.INTERRUPTED)
    if stats.over_quota:
        from migrator.flows.quota import over_quota_refusal

        message, hint = over_quota_refusal(stats)
        raise QuotaError(message, hint=hint)
    return int(ExitCode.INCOMPLETE) if stats.failed else 0


@cli.command(help=N_(
    "Write the mail a diet keeps local (dated before --until) to a standalone archive. No server "
    "needed.\n\n"
    "The source is only read. Open the mbox archive in Thunderbird as Local Folders, or any mail "
    "program that reads mbox/Maildir, and the old POP program can go."))
@click.argument("sources", nargs=-1, required=True, type=click.UNPROCESSED, callback=source_args)
@click.option("--until", required=True, metavar="DATE",
              help=N_("Archive the messages dated before DATE (what `run --since DATE` leaves local)."))
@click.option("--since", metavar="DATE", help=N_("Only messages dated on or after DATE as well."))
@click.option("--to", "dest", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help=N_("A new directory for the archive."))
@click.option("--format", "fmt", type=click.Choice(["mbox", "maildir"]), default="mbox", show_default=True,
              help=N_("mbox: Thunderbird Local Folders (Name + Name.sbd/); maildir: Maildir++."))
@click.option("--include", multiple=True, metavar="GLOB", help=N_("Only folders matching GLOB (repeatable)."))
@click.option("--exclude", multiple=True, metavar="GLOB", help=N_("Leave out folders matching GLOB (repeatable)."))
@click.option("--account", "accounts", multiple=True, metavar="NAME",
              help=N_("Thunderbird, Becky!: only these accounts."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print one JSON document on stdout."))
@click.option("--quiet", "-q", is_flag=True, help=N_("No progress bar."))
@wide_option()
def archive(sources: tuple[Path | str, ...], until: str, since: str | None, dest: Path, fmt: str,
            include: tuple[str, ...], exclude: tuple[str, ...], accounts: tuple[str, ...], as_json: bool,
            quiet: bool) -> int:
    """`migrate archive`: the help text users read is the `help=` above (translated when shown)."""
    from migrator.flows.archive import archive as do_archive
    from migrator.render.terminal import render_archive
    from migrator.sources import ACCOUNT_KINDS, detect_kind, open_source

    scope = Scope(since=parse_day(since, "--since") if since else None, until=parse_day(until, "--until"),
                  include=include, exclude=exclude)
    with ExitStack() as stack:
        opened = []
        for p in sources:
            path = p.expanduser() if isinstance(p, Path) else p  # a server source stays its URL
            opts = {"accounts": list(accounts)} if accounts and detect_kind(path) in ACCOUNT_KINDS else {}
            src = open_source(path, **opts)
            stack.callback(src.close)
            opened.append(src)
        check_mail(opened, [str(p) for p in sources])
        progress = Progress(quiet=quiet)
        stack.callback(progress.close)
        report = do_archive(opened, scope, dest.expanduser(), fmt, on_event=progress)
    click.echo(to_json(report) if as_json else render_archive(report))
    return int(ExitCode.INCOMPLETE) if report.unreadable else 0


def _percent(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        pct = float(value.strip().rstrip("%"))
    except ValueError:
        raise click.BadParameter(_("{value!r} is not a percentage (e.g. 5 or 5%)").format(value=value)) from None
    if not 0 < pct <= 100:
        raise click.BadParameter(_("must be more than 0 and at most 100"))
    return pct


@cli.command(help=N_(
    "Proof, message by message, that everything in scope is on the server, before the old account "
    "goes.\n\n"
    "Read-only on the server and the source. Resumable: an interrupted verify carries on where it "
    "stopped. Exit 0 only when every message in scope is on the server; 1 otherwise, with what to "
    "do."))
@_common_options
@click.option("--deep", is_flag=True, help=N_("Fetch every message and compare its bytes, flags and date."))
@click.option("--sample", metavar="PERCENT", callback=_percent,
              help=N_("Deep-check a random PERCENT of the messages (e.g. 5%), for a quick check of a huge mailbox."))
@click.option("--list/--no-list", "list_mode", default=None,
              help=N_("--list: one line per message, those found (=) too; --no-list: folders and totals only. "
                      "Default: one line per problem."))
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.html",
              help=N_("Also write a self-contained HTML report to keep as the record of the migration."))
@click.option("--fresh", is_flag=True,
              help=N_("Check every folder again, even those an earlier (interrupted) verify proved and that did "
                      "not change."))
@wide_option()
def verify(deep: bool, sample: float | None, list_mode: bool | None, report_path: Path | None, fresh: bool,
           **kw: Any) -> int:
    """`migrate verify`: the help text users read is the `help=` above (translated when shown)."""
    from migrator.flows.plan import Scanner
    from migrator.flows.run import layout_of
    from migrator.flows.verify import verify as do_verify
    from migrator.journal.state import State
    from migrator.render.html import write_report

    c = build_common(**kw)
    stop = StopFlag(_("at the next message (the folders proven so far stay proven)"))
    with ExitStack() as stack, stop.installed():
        sources = stack.enter_context(opened_sources(c))
        state = stack.enter_context(State.open(c.state_path, source_id=source_ident(c.sources),
                                               target_id=c.target.ident))
        state.lock()  # it notes vanished messages for the next run: not while a run is going
        target = stack.enter_context(connector(c.target)())
        progress = Progress(quiet=c.quiet)
        stack.callback(progress.close)
        quarantine = quarantine_dir(c.state_path)
        with stop.running():
            report = do_verify(Scanner(sources, layout_of(target), c.scope, state, None), target, state,
                               deep=deep, sample=sample, list_all=bool(list_mode), fresh=fresh,
                               sources=[str(p) for p in c.sources], quarantine=str(quarantine),
                               on_event=progress, stop_requested=stop.is_set)
        progress.close()
    if report.interrupted:
        click.echo(to_json(report) if c.json else render_verify(report, list_mode))
        return int(ExitCode.INTERRUPTED)
    if report_path is not None:
        _write_report(write_report, report, report_path)
    click.echo(to_json(report) if c.json else render_verify(report, list_mode))
    if report_path is not None and not c.json:
        click.echo("\n" + _("Report written to {path}.").format(path=report_path))
    return 0 if report.ok else int(ExitCode.INCOMPLETE)


@cli.command(help=N_(
    "Can we log in, is TLS right, what does the server offer, how full is it. Changes nothing.\n\n"
    "Exit 0 when a migration can start, 3 otherwise (with the cause and the next step)."))
@_with(_target_options())
@click.option("--timeout", type=float, default=30.0, show_default=True, help=N_("Network timeout in seconds."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print one JSON document on stdout."))
@wide_option()
def check(target_url: str, provider: str | None, password_file: Path | None, oauth2: bool,
          oauth2_token_command: str | None, insecure: bool, debug: bool, timeout: float, as_json: bool) -> int:
    """`migrate check`: the help text users read is the `help=` above (translated when shown)."""
    from migrator.flows.check import check_target
    from migrator.render.check import render_check

    cfg = build_target(target_url, provider=provider, password_file=password_file, insecure=insecure,
                       timeout=timeout, oauth2=oauth2, oauth2_token_command=oauth2_token_command)
    if debug:
        cfg = cfg.model_copy(update={"trace": "-"})
    report = check_target(cfg, on_plaintext=plaintext_warning())
    click.echo(to_json(report) if as_json else render_check(report))
    return 0 if report.ready else int(ExitCode.TARGET)


@cli.command(help=N_(
    "Describe the mail stores at PATHs (folders, their target, messages, size, years), or, without a PATH, "
    "list the stores found in the usual places of this computer (Outlook, Thunderbird, Becky!, Windows Live "
    "Mail, Apple Mail, mbox, Maildir) with the command that migrates each. Read-only; no server needed."))
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--no-count", is_flag=True, help=N_("Do not read the mail to count messages (faster)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print one JSON document on stdout."))
@click.option("--quiet", "-q", is_flag=True, help=N_("No progress bar."))
@wide_option()
def sources(paths: tuple[str, ...], no_count: bool, as_json: bool, quiet: bool) -> int:
    """`migrate sources`: the help text users read is the `help=` above (translated when shown)."""
    from migrator.flows.inventory import discover, inventory
    from migrator.render.stores import render_discovery, render_inventory

    with closing(Progress(quiet=quiet)) as progress:
        result: Any = inventory(list(paths), count=not no_count, on_event=progress) if paths \
            else discover(count=not no_count, on_event=progress)
    text = render_inventory(result) if paths else render_discovery(result)
    click.echo(to_json(result) if as_json else text.rstrip("\n"))
    return 0


@cli.command(help=N_(
    "The guided migration in a browser: a local web app on 127.0.0.1 (Ctrl-C stops it).\n\n"
    "Opens the browser at an address holding an access token made at start. The same steps as the "
    "commands (sources, check, plan, run, verify), in Japanese or English; a stopped copy resumes."))
@click.option("--port", type=click.IntRange(0, 65535), default=0, help=N_("Port on 127.0.0.1 (0: a free one)."))
@click.option("--no-browser", is_flag=True, help=N_("Do not open a browser; the first line on stdout is the address."))
@click.option("--lang", type=click.Choice(["ja", "en"]), default=None,
              help=N_("Language of the pages (default: the browser's; the page has a switch)."))
def ui(port: int, no_browser: bool, lang: str | None) -> int:
    """`migrate ui`: the help text users read is the `help=` above (translated when shown)."""
    from migrator.web.server import serve

    return serve(port=port, open_browser=not no_browser, lang=lang)


@cli.command(help=N_(
    "Where a migration stands, without connecting: per folder what is migrated, already there, failed and "
    "left; the totals; the last run (when, how it ended) and the command that finishes the job. Give the "
    "same SOURCE... and --target as to run (its journal is found the same way), or --state PATH. With the "
    "source, what is left is counted in it (read-only). Exit 2 when no migration has started yet."))
@click.argument("sources", nargs=-1, type=click.UNPROCESSED, callback=source_args, metavar="[SOURCE]...")
@_with([*_target_options(required=False), *_source_options(), STATE_OPTION, *_scope_options()])
@_with([click.option(*names, hidden=True, is_flag=len(names) > 1 or names == ("--ignore-quota",), expose_value=False)
        for names in (("--timeout",), ("--ignore-quota",), ("--batch",), ("--connections",), ("--quiet", "-q"))])
@wide_option()
def status(as_json: bool, **kw: Any) -> int:
    """`migrate status` (run's other options are accepted and ignored: `run` in a command line can be
    replaced by `status`): the help text users read is the `help=` above (translated when shown)."""
    from migrator.flows.status import status_from_args
    from migrator.render.status import render_report

    report = status_from_args(kw)
    click.echo(to_json(report) if as_json else render_report(report))
    return 0


from migrator.cli.batch import batch as _batch  # noqa: E402 - `migrate batch ...`: its own module

cli.add_command(_batch)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every outcome becomes one documented exit code. The language (--lang, else the
    locale) is set for this call only: a copy of the context, so a second call in the same process
    (tests, the web app) starts from the environment again."""
    return contextvars.copy_context().run(_main, argv)


def _main(argv: list[str] | None) -> int:
    tolerant_output()
    set_language(lang_argument(sys.argv[1:] if argv is None else argv))
    try:
        rv = cli.main(args=argv, prog_name="migrate", standalone_mode=False)
        return int(rv or 0)
    except click.exceptions.Abort:
        click.echo("migrate: " + _("interrupted"), err=True)
        return int(ExitCode.INTERRUPTED)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        if exc.ctx is not None:
            click.echo(exc.ctx.get_help())
        return int(ExitCode.USAGE)
    except click.UsageError as exc:
        message, hint = describe_usage_error(exc, sys.argv[1:] if argv is None else argv, cli)
        click.echo(f"migrate: error: {message}", err=True)
        click.echo(f"hint: {hint}", err=True)
        return int(ExitCode.USAGE)
    except click.ClickException as exc:
        click.echo(f"migrate: error: {exc.format_message()}", err=True)
        return int(ExitCode.USAGE)
    except MigratorError as exc:
        click.echo(f"migrate: error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("migrate: " + _("interrupted; run the same command again to resume"), err=True)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return 0
    except Exception:  # noqa: BLE001 - the one place where an unexpected error becomes exit 70
        click.echo("migrate: " + _("internal error (please report it with the text below)"), err=True)
        traceback.print_exc(file=sys.stderr)
        return int(ExitCode.INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
