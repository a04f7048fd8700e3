"""The command line's own text in the user's language: click help translated when it is shown.

click builds its commands when the module is imported, before `--lang` or the locale is known, so
help texts are written `help=N_("...")` (extracted into the catalog, kept in English on the object:
the man page, tools/manpage.py, reads them so) and translated here at the moment `--help` formats
them. `Command`/`Group` are the classes every `migrate` command uses (`Group.command_class`), and
each command takes `--lang ja|en` (before or after its name: `migrate --lang ja plan ...`,
`migrate plan --lang ja ...`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from migrator.domain.i18n import LANGUAGES, N_, _, set_language

__all__ = ["Command", "Group", "lang_argument", "lang_option", "translated_help", "wide_option"]


def _set_lang(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        set_language(value)


def lang_option() -> click.Option:
    """`--lang ja|en`: the language of this command's messages, reports and help; wins over LC_ALL,
    LC_MESSAGES and LANG. Eager, so it is in force before any other option is checked."""
    return click.Option(["--lang"], type=click.Choice(LANGUAGES), metavar="ja|en", expose_value=False,
                        is_eager=True, callback=_set_lang,
                        help=N_("Language of messages and reports: ja or en (default: from LC_ALL, LC_MESSAGES, "
                                "LANG)."))


def _set_wide(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    from migrator.render.width import set_wide

    set_wide(bool(value))


def wide_option() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The `--wide` option as a decorator, for the commands that print tables: they then show every
    column and whole folder names (default: they fit 80 columns; render/width.py)."""
    return click.option("--wide", is_flag=True, expose_value=False, is_eager=True, callback=_set_wide,
                        help=N_("Show every table column and whole folder names (default: tables fit 80 "
                                "columns)."))


def lang_argument(argv: list[str]) -> str | None:
    """The value of the last `--lang X` / `--lang=X` before `--` (wherever it stands, so that even
    click's own errors about the other arguments come in that language); None when absent."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith("--lang="):
            found = arg.partition("=")[2]
    return found if found in LANGUAGES else None


@contextmanager
def translated_help(commands: list[click.Command]) -> Iterator[None]:
    """For the block, the help texts of `commands` and of their options are in the current language;
    the English originals come back after it."""
    saved: list[tuple[Any, str, str]] = []
    for cmd in commands:
        items: list[tuple[Any, str]] = [(cmd, "help"), (cmd, "short_help"), (cmd, "epilog")]
        items += [(p, "help") for p in cmd.params]
        for obj, attr in items:
            text = getattr(obj, attr, None)
            if isinstance(text, str) and text:
                saved.append((obj, attr, text))
                setattr(obj, attr, _(text))
    try:
        yield
    finally:
        for obj, attr, text in reversed(saved):
            setattr(obj, attr, text)


class Command(click.Command):
    """A click command whose help is shown in the user's language and that takes `--lang`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any(p.name == "lang" for p in self.params):
            self.params.append(lang_option())

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's help page, with our texts translated (click's own words are click's)."""
        with translated_help([self]):
            super().format_help(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        """The one-line summary in `migrate --help`'s command list: the first sentence (click cuts
        English at the first ". "; a Japanese sentence ends with "。", which click does not know)."""
        text = super().get_short_help_str(limit)
        head, stop, _rest = text.partition("。")
        return head + stop if stop else text


class Group(click.Group):
    """The `migrate` group: its help and its commands' one-line summaries in the user's language;
    its commands are `Command`s."""

    command_class = Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any(p.name == "lang" for p in self.params):
            self.params.append(lang_option())

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's help page, with the group's and the commands' texts translated."""
        with translated_help([self, *self.commands.values()]):
            super().format_help(ctx, formatter)
