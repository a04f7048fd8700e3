"""The user's language and the translated text: gettext over Babel-built catalogs.

English is the msgid: the text written in the code is what an English reader sees, and
`migrator/locale/ja/LC_MESSAGES/migrate.po` holds its Japanese translation (docs/i18n.md: how to
add a string, `pybabel extract/update`, the test that fails on an untranslated one).

    from migrator.domain.i18n import _, ngettext
    raise SourceError(_("cannot read {path}").format(path=path))

The language of the current command: `--lang ja|en` (set with `using_language`/`set_language`),
else the first of `LC_ALL`, `LC_MESSAGES`, `LANG` that is set (`ja_JP.UTF-8`, `ja` -> ja; any
other, `C` included -> en), else on Windows the user's UI language. The current language lives
in a `ContextVar` (no module-level mutable state); a catalog is compiled once per process from the
committed `.po` (Babel `read_po` + `write_mo` into memory, cached), so an editable install, a wheel
and a fresh clone all read the same file and no compiled `.mo` can go stale.

Text for strings defined before a language is known (class-level hints, click help) is marked with
`N_()` (extracted, not translated) and translated where it is shown with `_()`.
"""

from __future__ import annotations

import contextvars
import functools
import gettext
import io
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import resources

__all__ = ["DOMAIN", "LANGUAGES", "N_", "_", "detect_language", "format_datetime", "language", "ngettext",
           "normalize_language", "pgettext", "set_language", "translations", "using_language"]

DOMAIN = "migrate"  # the catalog's name: migrator/locale/<lang>/LC_MESSAGES/migrate.po
LANGUAGES = ("en", "ja")  # en: the msgids themselves
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX precedence for messages

_CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("migrator_language", default=None)


def normalize_language(value: str) -> str:
    """A locale name or language tag as one of LANGUAGES: `ja`, `ja_JP.UTF-8`, `ja-JP`, `Japanese_Japan.932`
    -> "ja"; anything else (`C`, `POSIX`, `en_US.UTF-8`, `de_DE`) -> "en"."""
    name = value.strip().lower()
    return "ja" if name == "ja" or name.startswith(("ja_", "ja-", "ja.", "japanese")) else "en"


def _windows_ui_language() -> str:
    """The Windows user's display language (GetUserDefaultUILanguage: primary LANGID 0x11 is
    Japanese), else the user's locale (`Japanese_Japan`); "en" when neither says Japanese."""
    try:
        import ctypes

        windll = getattr(ctypes, "windll")  # noqa: B009 - absent on POSIX (mypy's platform too)
        langid = int(windll.kernel32.GetUserDefaultUILanguage())
        return "ja" if langid & 0x3FF == 0x11 else "en"
    except (AttributeError, OSError, ValueError):
        import locale

        name = locale.getlocale()[0] or ""
        return normalize_language(name)


def detect_language(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    """The language the environment asks for: the first of LC_ALL, LC_MESSAGES, LANG that is set
    and not empty decides (ja_* -> "ja", else "en"); when none is set, Windows' UI language
    (`platform` "win32"), else "en". `environ`/`platform`: os.environ/sys.platform by default."""
    env = os.environ if environ is None else environ
    for var in LOCALE_VARIABLES:
        value = env.get(var, "")
        if value:
            return normalize_language(value)
    if (platform or sys.platform) == "win32":
        return _windows_ui_language()
    return "en"


def language() -> str:
    """The current language ("en" or "ja"): the one set for this command (--lang), else the environment's."""
    return _CURRENT.get() or detect_language()


def set_language(lang: str | None) -> contextvars.Token[str | None]:
    """Make `lang` ("ja", "en", a locale name; None: follow the environment) the language of the
    current context; returns the token `_CURRENT.reset` takes (see `using_language`)."""
    return _CURRENT.set(normalize_language(lang) if lang else None)


@contextmanager
def using_language(lang: str | None) -> Iterator[str]:
    """Within the block, text is in `lang` (None: the environment's); yields the language in force."""
    token = set_language(lang)
    try:
        yield language()
    finally:
        _CURRENT.reset(token)


@functools.lru_cache(maxsize=8)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of `lang`, compiled once from the committed `migrator/locale/<lang>/LC_MESSAGES/migrate.po`
    (fuzzy entries left out, so a fuzzy msgstr reads as English); English (or a language without a
    catalog) is the identity. Raises babel's PoFileError only for a broken .po (caught by the test)."""
    po = resources.files("migrator") / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not po.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _(message: str) -> str:
    """`message` (an English msgid) in the current language. Placeholders are `str.format` names:
    `_("cannot read {path}").format(path=p)`, never an f-string (it could not be looked up). An
    empty message stays empty (gettext would answer the catalog's header)."""
    return translations(language()).gettext(message) if message else message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for the count `n`, in the current language (Japanese has one form)."""
    return translations(language()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` in the current language as meant in `context` (the same English word can need two
    translations: "messages" as a column header is メール数, after a number 通)."""
    return translations(language()).pgettext(context, message)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark for extraction only"
    """Mark `message` for extraction without translating it now (a class-level hint, click help):
    the place that shows it calls `_()` on it then."""
    return message


def format_datetime(moment: datetime, lang: str | None = None) -> str:
    """`moment` (aware; naive means UTC) in the local time zone, written for `lang` (default: the
    current language) with the zone named: "Nov 30, 2026, 11:46:39 AM JST" / "2026/11/30 11:46:39 JST".
    For people only: stored and JSON times stay UTC ISO 8601."""
    from babel.dates import format_datetime as babel_format

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone()
    zone = local.tzname() or ""
    if not zone or zone[0] in "+-" or len(zone) > 6:  # "+09", or Windows' "Tokyo Standard Time"
        offset = local.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        sign = "+" if minutes >= 0 else "-"
        zone = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{babel_format(local, format='medium', locale=lang or language())} {zone}"
