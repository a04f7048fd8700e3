"""`migrate batch ...`: the thin commands of a batch (a whole office at once); the work is in migrator/batch/.

plan|run|status|verify MANIFEST.csv [--dir DIR]; worker --broker URL [--workers N];
import imapsync|migrationwiz FILE. Exit codes as docs/exit-codes.md and docs/batch.md say.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from migrator.domain.errors import ExitCode, UsageError
from migrator.domain.i18n import N_, _
from migrator.render.cli_help import Group


def _where(manifest: Path | None, dir_: Path | None, broker: str | None) -> Any:
    from migrator.batch.engine import Where

    if dir_ is None:
        return Where.default(manifest, broker)
    return Where(dir=dir_.expanduser().resolve(), broker=broker)


def _manifest(path: Path) -> Any:
    from migrator.batch.manifest import read_manifest

    return read_manifest(path.expanduser())


_dir_option = click.option("--dir", "dir_", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                           help=N_("The batch folder: one journal per mailbox (default: MANIFEST.batch/ beside the "
                                "manifest; with --broker: this machine's journals)."))
_broker_option = click.option("--broker", metavar="URL",
                              help=N_("redis://HOST:PORT/DB: the queue and the job states in Redis, for workers on "
                                   "several machines (default: embedded, in DIR)."))
_per_host_option = click.option("--per-host", type=click.IntRange(1, 1000), default=None, metavar="N",
                                help=N_("At most N mailboxes at once into one server (default: the provider preset's "
                                     "figure; other servers: no limit beyond the workers)."))


@click.group(cls=Group, help=N_(
    "Many mailboxes at once, from a manifest (CSV: source,target,secret): plan, run, status, verify.\n\n"
    "Each mailbox is its own resumable job with its own journal; run again to resume. See docs/batch.md."))
def batch() -> None:
    """`migrate batch`: the help text users read is the `help=` above (translated when shown)."""


@batch.command("plan", help=N_(
    "Check the manifest: every row's source, target and secret reference. Connects to nothing.\n\n"
    "Bad rows are named with their line number; the rest still plan. Exit 2 when any row is bad."))
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@_dir_option
@_broker_option
@_per_host_option
@click.option("--json", "as_json", is_flag=True, help=N_("Print one JSON document on stdout."))
def batch_plan(manifest: Path, dir_: Path | None, broker: str | None, per_host: int | None, as_json: bool) -> int:
    """`migrate batch plan`: the help text is the `help=` above."""
    import json

    from migrator.batch.plan import plan_rows
    from migrator.render.batch import render_batch_plan

    m = _manifest(manifest)
    where = _where(manifest, dir_, broker)
    lines, errors = plan_rows(m, where, per_host)
    if as_json:
        click.echo(json.dumps({"mailboxes": lines, "errors": [e.model_dump() for e in errors]}, ensure_ascii=False,
                              indent=2))
    else:
        click.echo(render_batch_plan(lines, errors))
    return int(ExitCode.USAGE) if errors else 0


@batch.command("run", help=N_(
    "Queue every mailbox not yet done, run the workers, wait until every job has ended.\n\n"
    "Exit 0 when every mailbox is done, 4 when any is over quota, 1 when any failed (or a row is bad). "
    "Interrupted (Ctrl-C) or killed: run it again; every mailbox resumes where it stopped."))
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@_dir_option
@_broker_option
@_per_host_option
@click.option("--workers", type=click.IntRange(0, 64), default=None, metavar="N",
              help=N_("Local worker processes (default 2; with --broker 0: the machines' `batch worker`s do "
                      "the work)."))
@click.option("--delta", is_flag=True, help=N_("Run the mailboxes already done again too: copies what arrived since "
                                            "(the cutover). The journals make it quick."))
@click.option("--quiet", "-q", is_flag=True, help=N_("No progress line."))
def batch_run(manifest: Path, dir_: Path | None, broker: str | None, per_host: int | None, workers: int | None,
              delta: bool, quiet: bool) -> int:
    """`migrate batch run`: the help text is the `help=` above."""
    from migrator.batch.runner import run_batch
    from migrator.batch.status import batch_status
    from migrator.render.batch import render_batch_status, render_errors

    m = _manifest(manifest)
    where = _where(manifest, dir_, broker)
    for line in render_errors(m.errors):
        click.echo("migrate: warning: " + line, err=True)
    if workers is None:
        workers = 0 if broker else 2
    ticker = _ticker(quiet)
    code = run_batch(where, m, workers, again=delta, on_tick=ticker, per_host=per_host)
    if not quiet:
        click.echo("", err=True)
    click.echo(render_batch_status(batch_status(where.board(), m)))
    return code


def _ticker(quiet: bool) -> Any:
    """One progress line on stderr (a terminal only): mailboxes done / running / queued."""
    import sys

    if quiet or not sys.stderr.isatty():
        return None

    def tick(jobs: dict[str, Any]) -> None:
        states = [j.state for j in jobs.values()]
        up = sum(j.uploaded for j in jobs.values())
        click.echo("\r" + _("mailboxes: {done} done, {running} running, {queued} queued, {failed} failed; "
                             "{up} messages uploaded").format(
            done=states.count("done"), running=states.count("running"), queued=states.count("queued"),
            failed=states.count("failed"), up=f"{up:,}") + "  ", err=True, nl=False)

    return tick


@batch.command("status", help=N_(
    "Where every mailbox stands: queued, running, done, failed, over_quota; uploaded, left, size, ETA."))
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@_dir_option
@_broker_option
@click.option("--json", "as_json", is_flag=True, help=N_("Print one JSON document on stdout."))
def batch_status_cmd(manifest: Path, dir_: Path | None, broker: str | None, as_json: bool) -> int:
    """`migrate batch status`: the help text is the `help=` above."""
    from migrator.batch.status import batch_status
    from migrator.render.batch import render_batch_status
    from migrator.render.terminal import to_json

    m = _manifest(manifest)
    where = _where(manifest, dir_, broker)
    if not broker and not where.has_run():
        raise UsageError(_("no batch has run from {manifest} yet ({dir} does not exist)").format(
            manifest=manifest, dir=where.dir),
            hint=_("Start it with `migrate batch run MANIFEST`, or give its folder with --dir."))
    st = batch_status(where.board(), m)
    click.echo(to_json(st) if as_json else render_batch_status(st))
    return 0


@batch.command("verify", help=N_(
    "Verify every mailbox (read-only, N at once). Exit 0 only when every one is verified, else 1."))
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@_dir_option
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.html",
              help=N_("Also write an HTML report: one line per mailbox, each mailbox's own report beside it."))
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True, metavar="N",
              help=N_("Mailboxes verified at once."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print one JSON document on stdout."))
def batch_verify(manifest: Path, dir_: Path | None, report_path: Path | None, workers: int, as_json: bool) -> int:
    """`migrate batch verify`: the help text is the `help=` above."""
    import json
    from datetime import datetime, timezone

    from migrator.batch.verify import verify_all
    from migrator.render.batch import render_batch_verify, write_batch_report
    from migrator.render.html import write_report

    m = _manifest(manifest)
    where = _where(manifest, dir_, None)
    report_dir = report_path.expanduser().resolve().parent if report_path else None
    results = verify_all(m.rows, where.dir, report_dir=report_dir, write=write_report if report_path else None,
                         workers=workers)
    if report_path is not None:
        generated = datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M %Z")
        try:
            write_batch_report(results, m.errors, report_path.expanduser(), generated)
        except OSError as exc:
            raise UsageError(_("cannot write the report {path}: {reason}").format(
                path=report_path, reason=exc.strerror or exc), hint=_("Pick a writable place for --report.")) from exc
    if as_json:
        click.echo(json.dumps({"mailboxes": results, "errors": [e.model_dump() for e in m.errors]},
                              ensure_ascii=False, indent=2))
    else:
        click.echo(render_batch_verify(results, m.errors))
        if report_path is not None:
            click.echo("\n" + _("Report written to {path}.").format(path=report_path))
    ok = all(r["ok"] for r in results) and not m.errors
    return 0 if ok else int(ExitCode.INCOMPLETE)


@batch.command("worker", help=N_(
    "Run queued mailboxes until stopped (Ctrl-C): on each machine of a batch, with --broker.\n\n"
    "Journals go to --dir (default: the user data folder's batch/). A job this worker was running when "
    "it died goes back to the queue when its lease expires, for any worker to resume."))
@_broker_option
@_dir_option
@_per_host_option
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, metavar="N",
              help=N_("Mailboxes this machine runs at once (threads of one consumer)."))
@click.option("--parent-pid", type=int, default=None, hidden=True)  # set by `batch run` for its local workers
def batch_worker(broker: str | None, dir_: Path | None, per_host: int | None, workers: int,
                 parent_pid: int | None) -> int:
    """`migrate batch worker`: the help text is the `help=` above."""
    from migrator.batch.runner import work

    if broker is None and dir_ is None:
        raise UsageError(_("a worker needs --broker URL (or --dir DIR of an embedded batch)"),
                         hint=_("For example: migrate batch worker --broker redis://HOST:6379/0"))
    return work(_where(None, dir_, broker), workers, per_host=per_host, parent=parent_pid)


@batch.command("import", help=N_(
    "Turn an imapsync list (host1;user1;password1;host2;user2;password2;) or a MigrationWiz bulk CSV "
    "into a manifest; the passwords move to private files or the keyring, never into the manifest."))
@click.argument("kind", type=click.Choice(["imapsync", "migrationwiz"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), metavar="MANIFEST.csv",
              help=N_("The manifest to write (default: FILE's name with .manifest.csv). Never overwritten."))
@click.option("--secrets", "store", type=click.Choice(["file", "keyring"]), default="file", show_default=True,
              help=N_("Where the passwords go: private files (0600, one per mailbox, beside the manifest) or the "
                   "OS keyring."))
@click.option("--source-root", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help=N_("MigrationWiz: the folder holding each mailbox's export (DIR/<source email>), else the "
                   "source column is left for you to fill."))
def batch_import(kind: str, file: Path, out: Path | None, store: str, source_root: Path | None) -> int:
    """`migrate batch import`: the help text is the `help=` above."""
    from migrator.batch.importers import import_list

    result = import_list(kind, file.expanduser(), out.expanduser() if out else None, store, source_root)
    if result.secrets_dir:
        click.echo(_("Manifest written to {manifest} ({n} mailboxes); passwords in {dir} (0600).").format(
            manifest=result.manifest, n=result.rows, dir=result.secrets_dir))
    else:
        click.echo(_("Manifest written to {manifest} ({n} mailboxes); passwords in the keyring.").format(
            manifest=result.manifest, n=result.rows))
    for note in result.notes:
        click.echo("migrate: warning: " + note, err=True)
    click.echo(_("Delete {file} now: it holds the passwords in clear text.").format(file=file), err=True)
    return 0
