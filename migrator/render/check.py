"""`migrate check`'s checklist for people (the CheckReport from migrator.flows.check)."""

from __future__ import annotations

from migrator.domain.i18n import N_, _
from migrator.flows.check import CheckReport
from migrator.render.width import pad_text, text_width

_MARK = {"ok": "✓", "warn": "!", "fail": "✗", "info": "·"}
# the checklist's item names (flows/check.py CheckItem.name, kept in English in --json) as shown
ITEM_NAMES = {name: name for name in (
    N_("connect"), N_("tls"), N_("certificate"), N_("server"), N_("login"), N_("user name"), N_("capabilities"),
    N_("folders"), N_("quota"), N_("message size"), N_("upload per day"))}


def render_check(r: CheckReport) -> str:
    """One line per item (mark, name, detail), then the verdict: ready, or the cause and the hint."""
    head = _("Checking {target}").format(target=r.target) + (f" ({r.provider})" if r.provider else "")
    names = [_(ITEM_NAMES.get(i.name, i.name)) for i in r.items]
    width = max([text_width(n) for n in names] + [8])
    lines = [head] + [f"{_MARK[i.status]} {pad_text(n, width)}  {i.detail}"
                      for i, n in zip(r.items, names, strict=True)]
    if r.error:
        lines.append(f"  → {r.hint}" if r.hint else "")
        lines.append(_("Not ready: fix the problem above, then run `migrate check` again."))
        return "\n".join(x for x in lines if x)
    for w in r.warnings:
        lines.append(_("Note: {text}").format(text=w))
    lines.append(_("Ready: a migration can start. Next: `migrate plan` with the same --target."))
    return "\n".join(lines)
