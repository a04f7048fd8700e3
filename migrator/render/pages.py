"""The HTML reports' templates (Jinja2, package data under migrator/render/templates/).

One shared frame, `base.html`, for the plan report (render/charts.py) and the verify report
(render/html.py); autoescape is on, so every value from a mailbox (folder names, subjects) is
text, never markup. Pictures built in Python (the SVG charts) come in as `Markup` after escaping
their own text.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from migrator.domain.i18n import _, language, ngettext, pgettext
from migrator.domain.units import count

__all__ = ["Markup", "render_page"]


def environment() -> Environment:
    """A Jinja2 environment over the package's templates (autoescape on, unknown names fail), with
    `jinja2.ext.i18n` on the program's catalog: `{{ _("Folders") }}`, `{{ _("%(n)s messages", n=count) }}`
    (new-style gettext: values escaped, placeholders `%(name)s`), `{% trans %}`; `lang` is the page's
    language ("en"/"ja", for `<html lang>`); the filter `num` writes a count with thousands separators."""
    env = Environment(loader=PackageLoader("migrator.render", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(gettext=_, ngettext=ngettext, pgettext=pgettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["lang"] = language()
    env.filters["num"] = count  # 12345 -> "12,345"
    return env


def render_page(name: str, **context: Any) -> str:
    """Render template `name` (e.g. "verify.html") with `context`; returns the whole page as text.
    Raises jinja2.TemplateError for a template fault (a bug: exit 70)."""
    return environment().get_template(name).render(**context)
