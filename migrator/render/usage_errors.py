"""click's usage errors in the one documented shape: `migrate: error: ...` and `hint: ...`.

click reports a missing argument, an unknown option or command, or a bad value as a three to four
line block ("Usage: ... / Try ... / Error: ..."), in English. Every command of `migrate` (also
those added later: the `ui` and `batch` groups) goes through `main()`, which turns each
`click.UsageError` into two lines through `describe()`, in the user's language (docs/exit-codes.md:
exit 2).
"""

from __future__ import annotations

import click
from click import exceptions as cx

from migrator.domain.i18n import _

__all__ = ["describe"]


def _param_name(param: click.Parameter | None, fallback: str | None = None) -> str:
    """`--target` for an option, `SOURCES` for an argument."""
    if param is None:
        return fallback or "?"
    if isinstance(param, click.Option):
        longs = [o for o in param.opts if o.startswith("--")]
        return (longs or param.opts or [param.name or "?"])[0]
    return (param.human_readable_name or param.name or "?").rstrip(".").upper()


def _command_path(ctx: click.Context | None) -> str:
    return ctx.command_path if ctx is not None else "migrate"


def _message(exc: click.UsageError) -> str:
    """The first line's text (after `migrate: error: `)."""
    ctx = exc.ctx
    if isinstance(exc, cx.NoArgsIsHelpError):
        return _("{command} needs arguments").format(command=_command_path(ctx))
    if isinstance(exc, cx.MissingParameter):
        name = _param_name(exc.param)
        if exc.param is not None and not isinstance(exc.param, click.Option):
            return _("missing {name}: give it on the command line").format(name=name)
        return _("missing option {name}").format(name=name)
    if isinstance(exc, cx.NoSuchOption):
        text = _("no such option: {option}").format(option=exc.option_name)
        if exc.possibilities:
            text += " " + _("(did you mean {options}?)").format(options=", ".join(sorted(exc.possibilities)))
        return text
    if isinstance(exc, cx.NoSuchCommand):
        text = _("no such command: {name}").format(name=exc.command_name)
        if exc.possibilities:
            text += " " + _("(did you mean {names}?)").format(names=", ".join(exc.possibilities))
        return text
    if isinstance(exc, cx.BadOptionUsage):
        if "does not take a value" in exc.message:
            return _("{option} takes no value").format(option=exc.option_name)
        return _("{option} needs a value").format(option=exc.option_name)
    if isinstance(exc, cx.BadParameter):
        name = _param_name(exc.param, exc.param_hint if isinstance(exc.param_hint, str) else None)
        return _("invalid value for {name}: {reason}").format(name=name, reason=exc.message.rstrip("."))
    text = exc.message.rstrip(".")
    if text.startswith("Got unexpected extra argument"):
        extra = text.partition("(")[2].rstrip(")")
        return _("unexpected extra argument: {args}").format(args=extra)
    if text == "Missing command":
        return _("missing command")
    return text


def _command_in(argv: list[str], group: click.Group) -> str:
    """`migrate run` (or `migrate batch run`) from the words of `argv` naming commands, for an error
    click raised without a context (a value missing after the last option)."""
    path = ["migrate"]
    cmd: click.Command = group
    for word in argv:
        if word == "--":
            break
        if isinstance(cmd, click.Group) and word in cmd.commands:
            cmd = cmd.commands[word]
            path.append(word)
    return " ".join(path)


def describe(exc: click.UsageError, argv: list[str] | None = None,
             group: click.Group | None = None) -> tuple[str, str]:
    """`(message, hint)` for a usage error, both in the user's language: the message says what is
    wrong with which option or argument; the hint gives the command's usage line and where its
    help is (`migrate run --help`). `argv` and the top `group` name the command when click gave
    the error no context."""
    ctx = exc.ctx
    command = _command_path(ctx)
    if ctx is None and argv is not None and group is not None:
        command = _command_in(argv, group)
    if ctx is not None:
        pieces = ctx.command.collect_usage_pieces(ctx)
        usage = " ".join([command, *pieces])
        hint = _("usage: {usage}; see `{command} --help`").format(usage=usage, command=command)
    else:
        hint = _("see `{command} --help`").format(command=command)
    return _message(exc), hint
