"""Write the man page docs/migrate.1 (troff, man(7) macros) from the click command group itself.

    python3 tools/manpage.py                 # (re)write docs/migrate.1
    python3 tools/manpage.py --check         # exit 1 when docs/migrate.1 is not what the CLI says
    man -l docs/migrate.1                    # read it

One page for the whole tool (`man migrate`): the group's help, then every visible command with its
usage line, help text, arguments and options (help, `[default: ...]`, `[required]` as click prints
them), the environment, exit status and shell completion. tests/unit/test_manpage.py regenerates it
and compares, so it cannot go stale.

Why not click-man (on the package index, works with click 8.x): it writes one page per command
(`migrate-plan.1`, ...), cuts the one-line summaries at 45 characters, omits arguments, stamps
today's date (so the output is never reproducible without SOURCE_DATE_EPOCH) and passes help text
to troff unescaped (a help line starting with `.` or `'` becomes a request, `\\` an escape). A page
a user reads with `man migrate` is ~100 lines of our own.

The page is written in English whatever the locale: run it with `LC_ALL=C.UTF-8` if the CLI's help
follows the locale (the test does).
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "migrate.1"
PROG = "migrate"

# What the tool reads from the environment, and what each exit status means (docs/exit-codes.md).
ENVIRONMENT = [
    ("MIGRATE_PASSWORD", "The IMAP password (an app password for Gmail, iCloud, Yahoo); never put it "
                         "on the command line. Else --password-file, the keyring, or a prompt."),
    ("_MIGRATE_COMPLETE", "Shell completion, see SHELL COMPLETION."),
    ("SSL_CERT_FILE", "A CA bundle to trust instead of the system's (a private or test server)."),
    ("XDG_DATA_HOME", "Where state databases go by default ($XDG_DATA_HOME/migrator, else "
                      "~/.local/share/migrator)."),
    ("MIGRATE_BATCH_LEASE", "migrate batch: seconds a job stays claimed without a heartbeat from its worker "
                            "(default 30); a dead worker's job is queued again after it."),
]
EXIT_STATUS = [
    (0, "Done: everything in scope is on the server (run), proven (verify), ready (check)."),
    (1, "Incomplete: run ended with failed messages (kept as .eml in quarantine), or verify found "
        "messages missing or different. Run migrate run again."),
    (2, "Usage: bad arguments, or the source cannot be read."),
    (3, "The server cannot be reached, TLS failed, or the login was refused."),
    (4, "Quota: the plan does not fit, or the server said OVERQUOTA (what fit went up)."),
    (5, "State: the state database is in use, belongs to another source/target, or cannot be written."),
    (70, "Internal error: a bug, please report it."),
    (130, "Interrupted (Ctrl-C, SIGTERM) after settling the journal: run the same command again to resume."),
]
COMPLETION = [
    ("bash", "eval \"$(_MIGRATE_COMPLETE=bash_source migrate)\"", "~/.bashrc"),
    ("zsh", "eval \"$(_MIGRATE_COMPLETE=zsh_source migrate)\"", "~/.zshrc"),
    ("fish", "_MIGRATE_COMPLETE=fish_source migrate | source", "~/.config/fish/completions/migrate.fish"),
]


def escape(text: str) -> str:
    """Text as troff reads it literally: backslashes, hyphens (as \\-), leading `.` and `'`."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.split("\n"):
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def paragraphs(help_text: str | None) -> str:
    """click help text (docstring) as troff paragraphs: blank line -> .PP, `\\b` markers dropped."""
    text = inspect.cleandoc(help_text or "").split("\f")[0]  # \f: click's "truncate help here"
    out: list[str] = []
    for block in text.split("\n\n"):
        lines = [ln.strip() for ln in block.split("\n") if ln.strip() != "\b"]
        if not any(lines):
            continue
        if out:
            out.append(".PP")
        out.append(escape(" ".join(ln for ln in lines if ln)))
    return "\n".join(out)


def _item(label: str, text: str) -> list[str]:
    return [".TP", label, escape(text) if text else "\\&"]


def _command(ctx: click.Context, name: str, cmd: click.Command) -> list[str]:
    sub = click.Context(cmd, info_name=name, parent=ctx)
    usage = " ".join(cmd.collect_usage_pieces(sub))
    out = [f'.SS "{PROG} {name}"', f"\\fB{PROG} {escape(name)}\\fR {escape(usage)}", ".PP", paragraphs(cmd.help)]
    args = [p for p in cmd.params if isinstance(p, click.Argument)]
    opts = [p for p in cmd.params if isinstance(p, click.Option) and not p.hidden]
    if args:
        out += [".PP", "Arguments:", ".RS"]
        for a in args:
            metavar = a.make_metavar(sub) if _takes_ctx(a) else a.make_metavar()  # type: ignore[call-arg]
            out += _item(f"\\fI{escape(metavar)}\\fR", getattr(a, "help", None) or "")
        out.append(".RE")
    if opts:
        out += [".PP", "Options:", ".RS"]
        for o in opts:
            record = o.get_help_record(sub)
            if record:
                out += _item(f"\\fB{escape(record[0])}\\fR", record[1])
        out.append(".RE")
    return out


def _takes_ctx(param: click.Parameter) -> bool:
    """click 8.2 added the ctx argument to make_metavar; earlier 8.x take none."""
    return "ctx" in inspect.signature(param.make_metavar).parameters


def render(group: click.Group, version: str) -> str:
    """The whole man page as troff source (str, LF line ends, ends with a newline).

    Deterministic: no date, commands in click's order, hidden commands and options left out.
    """
    ctx = click.Context(group, info_name=PROG)
    summary = inspect.cleandoc(group.help or "").split("\n")[0].rstrip(".")
    out = [
        f'.TH MIGRATE 1 "" "pop-migrate {escape(version)}" "User Commands"',
        ".SH NAME",
        f"{PROG} \\- {escape(summary[:1].lower() + summary[1:])}",
        ".SH SYNOPSIS",
        f"\\fB{PROG}\\fR \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR]...",
        ".br",
        f"\\fB{PROG} \\-\\-version\\fR | \\fB\\-\\-help\\fR",
        ".SH DESCRIPTION",
        paragraphs(group.help),
        ".SH COMMANDS",
    ]
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is not None and not cmd.hidden:
            out += _command(ctx, name, cmd)
            if isinstance(cmd, click.Group):  # a command group (`migrate batch`): each sub-command too
                sub = click.Context(cmd, info_name=name, parent=ctx)
                for sub_name in cmd.list_commands(sub):
                    sub_cmd = cmd.get_command(sub, sub_name)
                    if sub_cmd is not None and not sub_cmd.hidden:
                        out += _command(ctx, f"{name} {sub_name}", sub_cmd)
    out.append(".SH ENVIRONMENT")
    for var, text in ENVIRONMENT:
        out += _item(f"\\fB{escape(var)}\\fR", text)
    out.append(".SH EXIT STATUS")
    for code, text in EXIT_STATUS:
        out += _item(f"\\fB{code}\\fR", text)
    out += [".SH SHELL COMPLETION", "Add the line for your shell to its start-up file, then open a new shell:"]
    for shell, line, where in COMPLETION:
        out += [".TP", f"{shell} ({escape(where)})", f"\\f(CR{escape(line)}\\fR"]
    out += [".SH SEE ALSO",
            escape("README.md, docs/usage.md, docs/concepts.md, docs/exit-codes.md, "
                   "docs/troubleshooting.md, docs/batch.md in the source distribution.")]
    return "\n".join(line for line in out if line != "") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check compare) the man page; exit 0, or 1 when --check finds it stale."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write (default: docs/migrate.1)")
    ap.add_argument("--check", action="store_true", help="compare with --output instead of writing it")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import migrator  # noqa: PLC0415 - after sys.path: the tree this script lives in
    from migrator.cli import cli  # noqa: PLC0415

    text = render(cli, migrator.__version__)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python3 tools/manpage.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
