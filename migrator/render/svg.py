"""(pure) The reports' pictures as server-side SVG (no script): the quota bar and the per-year charts.

One set of rules for every chart, so the plan report, the verify report and `migrate ui` draw alike:
- years run oldest first, left to right, in every per-year chart;
- value axes have round ticks: steps of 1, 2 or 5 x 10^n in the binary unit of the largest value
  (B, KB, MB, GB: 1 MB = 1,048,576 bytes, domain/units.py), labelled by `human_bytes`;
- sizes are drawn to scale: the quota bar is the whole quota, the used part, the mail to upload and
  what stays free, each as wide as its bytes.
Every text put into the markup is escaped here; the callers wrap the result in `Markup`.
"""

from __future__ import annotations

import math
import unicodedata
from html import escape

from migrator.domain.i18n import _
from migrator.domain.models import Plan
from migrator.domain.units import KB, human_bytes, size_in

C_USED, C_UP, C_SCOPE, C_NEWER, C_FREE, C_OVER, C_QUOTA, C_CUT = (
    "#8a94a6", "#3b6fd8", "#c9d3e6", "#9fb6e8", "#dff1e3", "#d33", "#d33", "#e08a00")
W = 900  # viewBox width of every chart (scaled to the page width by CSS)


def nice_ticks(peak: float, count: int = 5) -> tuple[list[int], int, int]:
    """Round axis ticks from 0 covering `peak` bytes: ([0, step, 2*step, ...], unit, decimals).

    The step is 1, 2 or 5 x 10^n in the binary unit (B, KB, MB, GB, TB: `unit` in bytes) of `peak`,
    chosen so that about `count` steps cover it: peak 7.3 MB -> 0, 2, 4, 6, 8 MB. `decimals` is how
    many decimals the labels need in that unit (0 for whole steps, 1 for 0.5 MB).
    Peak <= 0 -> ([0, 1], 1, 0).
    """
    unit = 1
    while peak >= 1024 * unit and unit < KB ** 4:
        unit *= 1024
    value = max(peak / unit, 1e-9)
    raw = value / max(count - 1, 1)
    exp = math.floor(math.log10(raw))
    step_u = next(m * 10.0 ** exp for m in (1, 2, 5, 10) if m * 10.0 ** exp >= raw * (1 - 1e-9))
    if unit == 1:
        step_u = max(1.0, round(step_u))  # whole bytes
    n = max(1, math.ceil(value / step_u - 1e-9))
    decimals = max(0, -math.floor(math.log10(step_u) + 1e-9))
    return [round(i * step_u * unit) for i in range(n + 1)], unit, decimals


def tick_label(n: int, unit: int, decimals: int) -> str:
    """An axis label in the axis' unit ("2 MB", "0.5 MB", "512 B"); the zero line is just "0"."""
    return "0" if n == 0 else size_in(n, unit, decimals)


def _axis(ticks: list[int], unit: int, decimals: int, ys: float, h: int, left: int, bottom: int) -> str:
    """Horizontal gridlines at the round ticks, labelled on the left."""
    out = []
    for v in ticks:
        y = h - bottom - v * ys
        text = escape(tick_label(v, unit, decimals))
        out.append(f'<line x1="{left}" x2="{W - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ee"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>')
    return "".join(out)


def _year_label(parts: list[str], i: int, n: int, x: float, h: int, bottom: int, year: str) -> None:
    if n <= 30 or i % max(1, n // 15) == 0:
        parts.append(f'<text x="{x:.1f}" y="{h - bottom + 16}" text-anchor="middle">{escape(year)}</text>')


def quota_bar(used: int | None, upload: int, limit: int | None, free: int | None = None) -> str:
    """The quota as one horizontal bar to scale: used now, the mail to upload, the space left free
    (or, when it does not fit, the part over the quota in red past the end). "" when the quota (or
    both limit and free space) is unknown. Sizes in bytes."""
    if limit is None and free is None:
        return ""
    used_b = max(used or 0, 0)
    total = limit if limit is not None else used_b + (free or 0)
    if total <= 0 and upload <= 0:
        return ""
    end = max(total, used_b + upload, 1)
    left, right, top, bh = 10, W - 10, 28, 34
    scale = (right - left) / end
    over = max(0, used_b + upload - total)
    left_free = max(0, total - used_b - upload)
    segs = [("used", used_b, C_USED, _("used now {size}")),
            ("upload", upload - over, C_UP, _("to upload {size}")),
            ("over", over, C_OVER, _("over the quota {size}")),
            ("free", left_free, C_FREE, _("free after the upload {size}") if upload > 0 else _("free {size}"))]
    label = escape(_("quota {size}: used now, to upload, free after").format(size=human_bytes(total)))
    parts = [f'<svg class="chart quota" viewBox="0 0 900 96" role="img" aria-label="{label}">']
    x = float(left)
    for key, size, color, text in segs:
        if size <= 0:
            continue
        wid = max(size * scale, 1.5)  # a sliver stays visible
        tip = escape(text.format(size=human_bytes(upload if key == "upload" else size)))
        parts.append(f'<rect class="seg {key}" data-bytes="{size}" x="{x:.1f}" y="{top}" width="{wid:.1f}" '
                     f'height="{bh}" fill="{color}"><title>{tip}</title></rect>')
        x += wid
    qx = left + total * scale
    parts.append(f'<rect x="{left}" y="{top}" width="{qx - left:.1f}" height="{bh}" fill="none" stroke="#556"/>')
    quota_text = escape(_("quota {size}").format(size=human_bytes(total)))
    parts.append(f'<text x="{left}" y="{top - 8}">0</text>'
                 f'<text x="{qx:.1f}" y="{top - 8}" text-anchor="end">{quota_text}</text>')
    # the labels under the bar, each part named with its size; a new line when one would not fit
    lx, ly = float(left), top + bh + 14
    for key, size, color, text in segs:
        if size <= 0:
            continue
        words = text.format(size=human_bytes(upload if key == "upload" else size))  # all of it, the over part too
        wid = 14 + _text_px(words) + 24
        if lx > left and lx + wid > right:
            lx, ly = float(left), ly + 20
        parts.append(f'<rect x="{lx:.1f}" y="{ly}" width="10" height="10" fill="{color}" stroke="#889"/>'
                     f'<text class="lbl {key}" x="{lx + 14:.1f}" y="{ly + 9}">{escape(words)}</text>')
        lx += wid
    parts.append("</svg>")
    parts[0] = parts[0].replace('viewBox="0 0 900 96"', f'viewBox="0 0 {W} {ly + 20}"')
    return "".join(parts)


def _text_px(text: str) -> float:
    """About how wide `text` is at the charts' 12px font: wide (CJK) characters count double."""
    return sum(12.5 if unicodedata.east_asian_width(c) in "WF" else 7.0 for c in text)


def _years(plan: Plan) -> list[str]:
    """The plan's years, oldest first (the one order of every per-year chart)."""
    return sorted(set(plan.by_year) | set(plan.upload_by_year))


def years_svg(plan: Plan) -> str:
    """Bars per year, oldest first: bytes in scope, the part to upload in front; round ticks."""
    years = _years(plan)
    if not years:
        return ""
    h, left, bottom, top = 260, 76, 30, 16
    bw = (W - left - 10) / len(years)
    peak = max(max((plan.by_year.get(y) or [0, 0])[1], (plan.upload_by_year.get(y) or [0, 0])[1]) for y in years)
    ticks, unit, decimals = nice_ticks(peak)
    ys = (h - bottom - top) / max(ticks[-1], 1)
    label = escape(_("mail volume by year"))
    parts = [f'<svg class="chart years" viewBox="0 0 {W} {h}" role="img" aria-label="{label}">',
             _axis(ticks, unit, decimals, ys, h, left, bottom)]
    for i, yr in enumerate(years):
        n, b = (plan.by_year.get(yr) or [0, 0])[:2]
        un, ub = (plan.upload_by_year.get(yr) or [0, 0])[:2]
        x, bwid = left + i * bw + bw * 0.1, bw * 0.8
        tip = escape(_("{year}: {n} messages, {size} in scope; {up_n} messages, {up_size} to upload").format(
            year=yr, n=f"{n:,}", size=human_bytes(b), up_n=f"{un:,}", up_size=human_bytes(ub)))
        parts.append(f'<g data-year="{escape(yr)}"><title>{tip}</title>'
                     f'<rect x="{x:.1f}" y="{h - bottom - b * ys:.1f}" width="{bwid:.1f}" height="{b * ys:.1f}" '
                     f'fill="{C_SCOPE}"/>'
                     f'<rect class="up" x="{x:.1f}" y="{h - bottom - ub * ys:.1f}" width="{bwid:.1f}" '
                     f'height="{ub * ys:.1f}" fill="{C_UP}"/></g>')
        _year_label(parts, i, len(years), x + bwid / 2, h, bottom, yr)
    parts.append("</svg>")
    return "".join(parts)


def cutoff_svg(plan: Plan) -> str:
    """Upload needed when keeping mail from each year on, oldest first (the bars shrink to the
    right), the free space as a dashed line, the suggested `--since` marked when it does not fit;
    round ticks. "" without years."""
    years = _years(plan)
    if not years:
        return ""
    q = plan.quota
    free = q.free if q.free is not None and q.free >= 0 else None
    ups = [(plan.upload_by_year.get(y) or [0, 0])[1] for y in years]
    running = [sum(ups[i:]) for i in range(len(ups))]  # from that year on
    h, left, bottom, top = 260, 76, 30, 26
    bw = (W - left - 10) / len(years)
    ticks, unit, decimals = nice_ticks(max(running + [free or 0]))
    ys = (h - bottom - top) / max(ticks[-1], 1)
    label = escape(_("upload needed by cut-off year"))
    parts = [f'<svg class="chart cutoff" viewBox="0 0 {W} {h}" role="img" aria-label="{label}">',
             _axis(ticks, unit, decimals, ys, h, left, bottom)]
    cut_year = q.suggested_since[:4] if q.suggested_since and q.fits is not True else None
    for i, yr in enumerate(years):
        up, total = ups[i], running[i]
        x, bwid = left + i * bw + bw * 0.1, bw * 0.8
        tip = escape(_("keep mail from {year} on: {size} to upload").format(year=yr, size=human_bytes(total))
                     + (" " + _("(does not fit)") if free is not None and total > free else ""))
        parts.append(f'<g data-year="{escape(yr)}"><title>{tip}</title>'
                     f'<rect x="{x:.1f}" y="{h - bottom - total * ys:.1f}" width="{bwid:.1f}" '
                     f'height="{(total - up) * ys:.1f}" fill="{C_NEWER}"/>'
                     f'<rect class="up" x="{x:.1f}" y="{h - bottom - up * ys:.1f}" width="{bwid:.1f}" '
                     f'height="{up * ys:.1f}" fill="{C_UP}"/></g>')
        _year_label(parts, i, len(years), x + bwid / 2, h, bottom, yr)
        if yr == cut_year:
            cx = x - bw * 0.1
            parts.append(f'<line class="cut" x1="{cx:.1f}" x2="{cx:.1f}" y1="{top - 12}" y2="{h - bottom}" '
                         f'stroke="{C_CUT}" stroke-width="2"/>'
                         f'<text x="{cx + 4:.1f}" y="{top - 14 + 10}" fill="{C_CUT}">'
                         f'--since {escape(q.suggested_since or "")}</text>')
    if free is not None:
        y = h - bottom - free * ys
        free_text = escape(_("free space {size}").format(size=human_bytes(free)))
        parts.append(f'<line class="free" x1="{left}" x2="{W - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="{C_QUOTA}" '
                     f'stroke-width="2" stroke-dasharray="6 4"/>'
                     f'<text x="{W - 14}" y="{y - 5:.1f}" text-anchor="end" fill="{C_QUOTA}">'
                     f'{free_text}</text>')
    parts.append("</svg>")
    return "".join(parts)
