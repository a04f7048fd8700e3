"""The page's language: the switch on the page, else `--lang`, else the browser's Accept-Language.

Template text is written as `{{ _("...") }}` (with values: `{{ _("%(n)s messages", n=count) }}`,
jinja2.ext.i18n's newstyle gettext) and looked up in the project's message catalog
(domain/i18n.py, migrator/locale/); each request sets its language in its own context
(`domain.i18n.set_language`), so texts from Python (errors, hints) follow it too.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

from migrator.domain.i18n import _, ngettext

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
            k, _sep, v = b.strip().partition("=")
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


def environment() -> Environment:
    """The pages' Jinja2 environment: package templates, autoescape on, unknown names fail, and
    `_`/`ngettext` from the message catalog in the current context's language (newstyle)."""
    env = Environment(loader=PackageLoader("migrator.web", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(gettext=_, ngettext=ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env
