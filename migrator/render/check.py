"""`migrate check`'s checklist for people (the CheckReport from migrator.flows.check)."""

from __future__ import annotations

from migrator.flows.check import CheckReport

_MARK = {"ok": "✓", "warn": "!", "fail": "✗", "info": "·"}


def render_check(r: CheckReport) -> str:
    """One line per item (mark, name, detail), then the verdict: ready, or the cause and the hint."""
    head = f"Checking {r.target}" + (f" ({r.provider})" if r.provider else "")
    width = max([len(i.name) for i in r.items] + [8])
    lines = [head] + [f"{_MARK[i.status]} {i.name:<{width}}  {i.detail}" for i in r.items]
    if r.error:
        lines.append(f"  → {r.hint}" if r.hint else "")
        lines.append("Not ready: fix the problem above, then run `migrate check` again.")
        return "\n".join(x for x in lines if x)
    for w in r.warnings:
        lines.append(f"Note: {w}")
    lines.append("Ready: a migration can start. Next: `migrate plan` with the same --target.")
    return "\n".join(lines)
