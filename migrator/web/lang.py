"""The page's language: the switch on the page, else `--lang`, else the browser's Accept-Language.

Template text is written as `{{ _("...") }}`; `translator(lang)` gives that `_` (the message
catalog of domain/i18n.py when it is installed, else the English text unchanged).
"""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("ja", "en")


def negotiate(accept_language: str) -> str:
    """The first of LANGS the browser asks for (Accept-Language, RFC 9110 section 12.5.4, by q
    value); "en" when it asks for none of them."""
    best: tuple[float, str] | None = None
    for i, part in enumerate(accept_language.split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower().split("-")[0]
        q = 1.0
        for b in bits[1:]:
            k, _, v = b.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if tag in LANGS and q > 0 and (best is None or q > best[0]):
            best = (q - i * 1e-6, tag)
    return best[1] if best else "en"


def choose(switch: str | None, cli: str | None, accept_language: str) -> str:
    """The language of a page: the page's switch wins, then `--lang`, then the browser's."""
    for lang in (switch, cli):
        if lang in LANGS:
            return lang
    return negotiate(accept_language)


def translator(lang: str) -> Callable[[str], str]:
    """`_` for templates in `lang`: the project's message catalog when there is one."""
    try:
        from migrator.domain import i18n  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return lambda text: text
    make = getattr(i18n, "translation", None)
    if make is None:
        return lambda text: text
    tr = make(lang)
    gettext: Callable[[str], str] = tr.gettext
    return gettext
