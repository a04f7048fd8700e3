"""(pure) Pictures of a plan: mail volume by year against the quota, in the terminal and in a
self-contained HTML report (inline CSS and SVG: it opens without network access, no scripts).

The picture answers "if I keep mail from year Y on, does it fit?": per year a bar as long as
everything to upload from that year on, the free space as a line across the bars, and the
suggested `--since` cut-off marked on its year. The terminal lists the newest year first (the
table reads down to the cut-off); the HTML report's charts (render/svg.py) run oldest first, left to
right, like every per-year chart of the reports, with the quota drawn to scale above them.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from migrator.domain import safefile
from migrator.domain.i18n import _, format_datetime, pgettext
from migrator.domain.models import Plan
from migrator.domain.units import human_bytes
from migrator.flows.quota import quota_lines
from migrator.render import svg
from migrator.render.pages import Markup, render_page
from migrator.render.terminal import FULL_STOP
from migrator.render.width import pad_text, text_width

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
    from migrator.render.width import wrap_text

    lines += wrap_text(legend + _(FULL_STOP), cap) if cap is not None else [legend + _(FULL_STOP)]
    for r in table:
        lines.append("  ".join([pad_text(r[0], widths[0])] + [pad_text(r[i], widths[i], right=True) for i in (1, 2, 3)]
                               + [r[4]]).rstrip())
    return "\n".join(lines)


# -- HTML: the pictures are render/svg.py's, the page is templates/plan.html -------------------
C_UP, C_SCOPE, C_NEWER, C_QUOTA, C_CUT = svg.C_UP, svg.C_SCOPE, svg.C_NEWER, svg.C_QUOTA, svg.C_CUT


def cutoff_svg(plan: Plan) -> str:
    """The plan report's cut-off chart as SVG markup ("" without years): upload needed per cut-off
    year against the free space, oldest year first (for `migrate ui`'s plan step)."""
    return svg.cutoff_svg(plan)


def quota_svg(plan: Plan) -> str:
    """The quota to scale (used, to upload, free after, or over), "" when the quota is not known."""
    q = plan.quota
    upload = q.needed if q.needed is not None else plan.totals.upload_bytes
    return svg.quota_bar(q.used, upload, q.limit, q.free)


def plan_steps(plan: Plan) -> list[dict[str, str]]:
    """The plan report's next steps, in order: make it fit (when it does not), run, run again if
    stopped, verify; each {"text": ..., "command": ...}."""
    q = plan.quota
    steps = []
    if q.fits is False:
        if q.suggested_since:
            steps.append({"text": _("Make it fit first: add --since {day} to the command (older mail stays on this "
                                    "computer), or free space on the server.").format(day=q.suggested_since),
                          "command": ""})
        else:
            steps.append({"text": _("Make it fit first: free space on the server, or choose one of the ways above."),
                          "command": ""})
    steps += [
        {"text": _("Copy the mail: run the same command with run in place of plan (the same source, target and "
                   "options)."), "command": _("migrate run SOURCE {target}").format(target=plan.target)},
        {"text": _("If it stops (Ctrl-C, a lost connection, a full account), run the same command again: it goes on "
                   "where it stopped and never uploads a message twice."), "command": ""},
        {"text": _("Check the result with verify and keep its report; remove nothing from the old account until it "
                   "says VERIFIED."),
         "command": _("migrate verify SOURCE {target} --report verify.html").format(target=plan.target)},
    ]
    return steps


def _kept_rows(kept: dict[str, object]) -> list[list[str]]:
    folders: dict[str, dict[str, Any]] = kept.get("folders") or {}  # type: ignore[assignment]
    return [[name, f"{int(k.get('messages', 0)):,}", human_bytes(int(k.get('bytes', 0))),
             str(k.get("oldest") or ""), str(k.get("newest") or "")]
            for name, k in folders.items()]


def html_report(plan: Plan, generated: datetime | None = None, source: str = "") -> str:
    """The plan as one self-contained page (templates/plan.html on the shared base.html): the
    header, the verdict, the quota bar and the per-year charts to scale, the tables, the next steps."""
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
    meta = ([(_("source"), source)] if source else []) + [
        (_("target"), plan.target), (_("when"), when), (_("what"), _("a dry run: nothing was written"))]
    legend_cutoff = [(C_UP, _("that year")), (C_NEWER, _("newer years"))]
    if q.free is not None:
        legend_cutoff.append((C_QUOTA, _("free space")))
    if q.suggested_since and q.fits is not True:
        legend_cutoff.append((C_CUT, _("suggested cut-off")))
    return render_page(
        "plan.html", title=_("Migration plan: {target}").format(target=plan.target), meta=meta,
        verdict_class="fits" if q.fits else "nofit" if q.fits is False else "unknown", quota_lines=quota_lines(q),
        quota_svg=Markup(quota_svg(plan)),  # noqa: S704 - built in render/svg.py, its text escaped
        years_svg=Markup(svg.years_svg(plan)) if has_years else "",  # noqa: S704 - as above
        cutoff_svg=Markup(svg.cutoff_svg(plan)) if has_years else "",  # noqa: S704 - as above
        colors={"scope": C_SCOPE, "up": C_UP, "newer": C_NEWER, "quota": C_QUOTA, "cut": C_CUT},
        legend_cutoff=legend_cutoff, options=options,
        suggested_kept=_kept_rows(q.suggested_kept_local) if q.suggested_kept_local else [],
        suggested_since=q.suggested_since or "", folders=folders,
        kept_local=_kept_rows(plan.kept_local) if plan.kept_local else [],
        too_big=[[m.folder, m.locator, m.subject, m.date, human_bytes(m.size)] for m in plan.too_big],
        max_message=human_bytes(plan.max_message_bytes), warnings=plan.warnings, steps=plan_steps(plan))


def write_report(plan: Plan, path: Path, source: str = "") -> None:
    """Write the report next to its final name, then rename: never a half-written file. `source`
    (the SOURCE arguments, as given) goes into the page's header."""
    tmp = path.with_name(path.name + ".part")
    fd = safefile.open_fd(tmp)  # private (it names folders and senders); never through a planted link
    with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
        fh.write(html_report(plan, source=source))
    tmp.replace(path)
