"""(pure) Pictures of a plan: mail volume by year against the quota, in the terminal and in a
self-contained HTML report (inline CSS and SVG: it opens without network access, no scripts).

The picture answers "if I keep mail from year Y on, does it fit?": per year, newest first, a bar
as long as everything to upload from that year on, the free space as a line across the bars,
and the suggested `--since` cut-off marked on its year.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from migrator.domain import safefile
from migrator.domain.i18n import _, format_datetime, pgettext
from migrator.domain.models import Plan
from migrator.domain.units import human_bytes
from migrator.flows.quota import quota_lines
from migrator.render.pages import Markup, render_page
from migrator.render.terminal import FULL_STOP, pad_text, text_width

GLYPHS = {True: ("█", "░", "│", "✂"), False: ("#", ".", "|", "<")}


def _rows(plan: Plan) -> list[tuple[str, int, int, int, int]]:
    """(year, messages, bytes, upload bytes of the year, upload bytes from that year on), newest first."""
    years = sorted(set(plan.by_year) | set(plan.upload_by_year), reverse=True)
    out = []
    running = 0
    for y in years:
        n, b = (plan.by_year.get(y) or [0, 0])[:2]
        up = (plan.upload_by_year.get(y) or [0, 0])[1]
        running += up
        out.append((y, n, b, up, running))
    return out


def year_chart(plan: Plan, width: int | None = None, unicode: bool = True) -> str:
    """The terminal picture; empty when there is no mail to show. `width`: the bars' columns (None:
    at most 40, fewer so that each line fits the table limit, render/width.py: 80 unless --wide)."""
    from migrator.render.width import table_limit

    rows = _rows(plan)
    if not rows:
        return ""
    full, newer, line, cut = GLYPHS[unicode]
    q = plan.quota
    free = q.free if q.free is not None and q.free >= 0 else None
    total = rows[-1][4]
    cap = table_limit()
    heads = (_("year"), pgettext("column", "messages"), _("size"), _("to upload"))
    if width is None:
        labels = [heads] + [(y, f"{n:,}", human_bytes(b), human_bytes(u)) for y, n, b, u, _r in rows]
        label = 2 * 4 + sum(max(text_width(c[i]) for c in labels) for i in range(4))
        tail = len(f" {cut} --since {q.suggested_since}") + 1 if q.suggested_since and q.fits is not True else 1
        width = 40 if cap is None else max(10, min(40, cap - label - tail))
    scale = max(total, free or 0, 1) / width
    mark = round(free / scale) if free is not None else None
    cut_year = q.suggested_since[:4] if q.suggested_since and q.fits is not True else None
    table = [(*heads, "")]
    for y, n, b, up, running in rows:
        end = round(running / scale)
        start = round((running - up) / scale)
        cells = [newer if i < start else full for i in range(end)]
        if mark is not None:
            cells += [" "] * (mark + 1 - len(cells))
            cells[mark] = line
        bar = "".join(cells).rstrip()
        if cut_year == y:
            bar += f" {cut} --since {q.suggested_since}"
        table.append((y, f"{n:,}", human_bytes(b), human_bytes(up), bar))
    widths = [max(text_width(r[i]) for r in table) for i in range(4)]
    lines = []
    legend = _("Mail by year, newest first. Bar: what goes up if you keep mail from that year on "
               "({full} that year, {newer} newer years)").format(full=full, newer=newer)
    if free is not None:
        legend += "; " + _("{line} the free space ({size})").format(line=line, size=human_bytes(free))
    from migrator.render.terminal import wrap_text

    lines += wrap_text(legend + _(FULL_STOP), cap) if cap is not None else [legend + _(FULL_STOP)]
    for r in table:
        lines.append("  ".join([pad_text(r[0], widths[0])] + [pad_text(r[i], widths[i], right=True) for i in (1, 2, 3)]
                               + [r[4]]).rstrip())
    return "\n".join(lines)


# -- HTML -----------------------------------------------------------------------------------
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans CJK JP",sans-serif;
margin:2em auto;max-width:1100px;color:#1d2330;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #dde}
.meta{color:#667}.verdict{padding:.8em 1em;border-radius:6px;margin:1em 0}
.fits{background:#e8f6ec;border:1px solid #8c8}.nofit{background:#fdecea;border:1px solid #d88}
.unknown{background:#f3f4f7;border:1px solid #ccd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .6em;border-bottom:1px solid #eef;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:600;border-top:2px solid #ccd}
svg{max-width:100%;height:auto}svg text{font:12px system-ui,sans-serif;fill:#334}
.legend span{display:inline-block;width:.9em;height:.9em;vertical-align:middle;margin:0 .3em 0 1em}
code{background:#f3f4f7;padding:0 .3em;border-radius:3px}
"""
C_UP, C_SCOPE, C_NEWER, C_QUOTA, C_CUT = "#3b6fd8", "#c9d3e6", "#9fb6e8", "#d33", "#e08a00"


def _svg_years(plan: Plan) -> str:
    """Bars per year (chronological): bytes in scope, the part to upload in front."""
    years = sorted(set(plan.by_year) | set(plan.upload_by_year))
    if not years:
        return ""
    w, h, left, bottom, top = 900, 260, 70, 30, 20
    bw = (w - left - 10) / len(years)
    peak = max(max((plan.by_year.get(y) or [0, 0])[1], (plan.upload_by_year.get(y) or [0, 0])[1]) for y in years) or 1
    ys = (h - bottom - top) / peak
    label = escape(_("mail volume by year"))
    parts = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="{label}">']
    parts.append(_gridlines(peak, ys, w, h, left, bottom))
    for i, yr in enumerate(years):
        n, b = (plan.by_year.get(yr) or [0, 0])[:2]
        un, ub = (plan.upload_by_year.get(yr) or [0, 0])[:2]
        x = left + i * bw + bw * 0.1
        bwid = bw * 0.8
        tip = escape(_("{year}: {n} messages, {size} in scope; {up_n} messages, {up_size} to upload").format(
            year=yr, n=f"{n:,}", size=human_bytes(b), up_n=f"{un:,}", up_size=human_bytes(ub)))
        parts.append(f'<g><title>{tip}</title>'
                     f'<rect x="{x:.1f}" y="{h - bottom - b * ys:.1f}" width="{bwid:.1f}" height="{b * ys:.1f}" '
                     f'fill="{C_SCOPE}"/>'
                     f'<rect x="{x:.1f}" y="{h - bottom - ub * ys:.1f}" width="{bwid:.1f}" height="{ub * ys:.1f}" '
                     f'fill="{C_UP}"/></g>')
        if len(years) <= 30 or i % max(1, len(years) // 15) == 0:
            parts.append(f'<text x="{x + bwid / 2:.1f}" y="{h - bottom + 16}" text-anchor="middle">{escape(yr)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _gridlines(peak: float, ys: float, w: int, h: int, left: int, bottom: int) -> str:
    """Five horizontal lines with their byte values, shared by both charts."""
    out = []
    for i in range(5):
        v = peak * i / 4
        y = h - bottom - v * ys
        out.append(f'<line x1="{left}" x2="{w - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(human_bytes(int(v)))}</text>')
    return "".join(out)


def _svg_cutoff(plan: Plan) -> str:
    """Upload needed when keeping mail from each year on (newest on the left), the free space as
    a horizontal line, the suggested cut-off as a marker."""
    rows = _rows(plan)
    if not rows:
        return ""
    q = plan.quota
    free = q.free if q.free is not None and q.free >= 0 else None
    w, h, left, bottom, top = 900, 260, 70, 30, 24
    bw = (w - left - 10) / len(rows)
    peak = max([r[4] for r in rows] + [free or 0, 1])
    ys = (h - bottom - top) / peak
    label = escape(_("upload needed by cut-off year"))
    parts = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="{label}">']
    parts.append(_gridlines(peak, ys, w, h, left, bottom))
    cut_year = q.suggested_since[:4] if q.suggested_since and q.fits is not True else None
    for i, (yr, _n, _b, up, running) in enumerate(rows):
        x = left + i * bw + bw * 0.1
        bwid = bw * 0.8
        over = free is not None and running > free
        tip = escape(_("keep mail from {year} on: {size} to upload").format(year=yr, size=human_bytes(running))
                     + (" " + _("(does not fit)") if over else ""))
        parts.append(f'<g><title>{tip}</title>'
                     f'<rect x="{x:.1f}" y="{h - bottom - running * ys:.1f}" width="{bwid:.1f}" '
                     f'height="{(running - up) * ys:.1f}" fill="{C_NEWER}"/>'
                     f'<rect x="{x:.1f}" y="{h - bottom - up * ys:.1f}" width="{bwid:.1f}" height="{up * ys:.1f}" '
                     f'fill="{C_UP}"/></g>')
        if len(rows) <= 30 or i % max(1, len(rows) // 15) == 0:
            parts.append(f'<text x="{x + bwid / 2:.1f}" y="{h - bottom + 16}" text-anchor="middle">{escape(yr)}</text>')
        if yr == cut_year:
            parts.append(f'<line x1="{x + bwid + bw * 0.1:.1f}" x2="{x + bwid + bw * 0.1:.1f}" y1="{top - 10}" '
                         f'y2="{h - bottom}" stroke="{C_CUT}" stroke-width="2"/>'
                         f'<text x="{x + bwid + bw * 0.1 - 4:.1f}" y="{top - 12}" text-anchor="end" '
                         f'style="fill:{C_CUT}">--since {escape(q.suggested_since or "")}</text>')
    if free is not None:
        y = h - bottom - free * ys
        free_label = escape(_("free space {size}").format(size=human_bytes(free)))
        parts.append(f'<line x1="{left}" x2="{w - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="{C_QUOTA}" '
                     f'stroke-width="2" stroke-dasharray="6 4"/>'
                     f'<text x="{left + 6}" y="{y - 5:.1f}" style="fill:{C_QUOTA}">'
                     f'{free_label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def cutoff_svg(plan: Plan) -> str:
    """The plan report's cut-off chart as SVG markup ("" without years): upload needed per cut-off
    year against the free space (for `migrate ui`'s plan step)."""
    return _svg_cutoff(plan)


def _kept_rows(kept: dict[str, object]) -> list[list[str]]:
    folders: dict[str, dict[str, Any]] = kept.get("folders") or {}  # type: ignore[assignment]
    return [[name, f"{int(k.get('messages', 0)):,}", human_bytes(int(k.get('bytes', 0))),
             str(k.get("oldest") or ""), str(k.get("newest") or "")]
            for name, k in folders.items()]


def html_report(plan: Plan, generated: datetime | None = None) -> str:
    """The plan as one self-contained page (templates/plan.html on the shared base.html)."""
    when = format_datetime(generated or datetime.now(timezone.utc))  # local zone, named; the language's way
    q = plan.quota
    has_years = bool(plan.by_year or plan.upload_by_year)
    options = [[o.flags, o.what, human_bytes(o.needed), _("yes") if o.fits else _("no") if o.fits is False else "?",
                f"{o.kept_messages:,}", human_bytes(o.kept_bytes)] for o in q.options]
    t = plan.totals
    folders = [[f.source, f.target, f"{f.messages:,}", human_bytes(f.bytes), f"{f.to_upload:,}",
                human_bytes(f.upload_bytes), f"{f.already:,}", f"{f.duplicates:,}", f"{f.filtered:,}",
                ", ".join(f"{n} " + _(why) for why, n in f.skipped.items())
                + (" " + _("{n} unreadable").format(n=f.unreadable) if f.unreadable else "")]
               for f in plan.folders]
    folders.append([_("total"), "", f"{t.messages:,}", human_bytes(t.bytes), f"{t.to_upload:,}",
                    human_bytes(t.upload_bytes), f"{t.already:,}", f"{t.duplicates:,}", f"{t.filtered:,}",
                    _("{n} skipped").format(n=f"{t.skipped:,}")])
    return render_page(
        "plan.html", title=_("Migration plan: {target}").format(target=plan.target), css=Markup(CSS),
        target=plan.target, when=when,
        verdict_class="fits" if q.fits else "nofit" if q.fits is False else "unknown", quota_lines=quota_lines(q),
        years_svg=Markup(_svg_years(plan)) if has_years else "",  # noqa: S704 - built here, its text escaped
        cutoff_svg=Markup(_svg_cutoff(plan)) if has_years else "",  # noqa: S704 - built here, its text escaped
        colors={"scope": C_SCOPE, "up": C_UP, "newer": C_NEWER, "quota": C_QUOTA, "cut": C_CUT},
        show_free=q.free is not None, show_cut=bool(q.suggested_since), options=options,
        suggested_kept=_kept_rows(q.suggested_kept_local) if q.suggested_kept_local else [],
        suggested_since=q.suggested_since or "", folders=folders,
        kept_local=_kept_rows(plan.kept_local) if plan.kept_local else [],
        too_big=[[m.folder, m.locator, m.subject, m.date, human_bytes(m.size)] for m in plan.too_big],
        max_message=human_bytes(plan.max_message_bytes), warnings=plan.warnings)


def write_report(plan: Plan, path: Path) -> None:
    """Write the report next to its final name, then rename: never a half-written file."""
    tmp = path.with_name(path.name + ".part")
    fd = safefile.open_fd(tmp)  # private (it names folders and senders); never through a planted link
    with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
        fh.write(html_report(plan))
    tmp.replace(path)
