"""`verify --report FILE.html`: the verification as one self-contained page to keep as the record of the
migration. No script, no font, no image, no link to anything outside the file: it opens offline in
any browser, years later, and prints cleanly.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from migrator.domain.i18n import N_, _, format_datetime
from migrator.domain.models import FolderVerify, Problem, VerifyReport
from migrator.domain.units import human_bytes
from migrator.render.pages import Markup, render_page
from migrator.render.terminal import PROBLEM_SIGNS, verdict

OK_ROWS_CAP = 20000  # '=' lines (only with --list): beyond this the page gets unwieldy

# (attribute, label (translated where shown), css class) of the stacked bar segments, in order
SEGMENTS = (
    ("present", N_("present"), "present"),
    ("different", N_("different"), "different"),
    ("changed", N_("stored changed by the server"), "different"),
    ("missing", N_("missing"), "missing"),
    ("new_in_source", N_("new in the source"), "new"),
    ("failed_upload", N_("failed"), "failed"),
    ("kept_local", N_("left local on purpose"), "kept"),
)
SIGNS = {"=": N_("ok"), "-": N_("missing on the server"), "*": N_("differs"), "!": N_("error"),
         "+": N_("on the server only"), "~": N_("not in scope")}

CSS = """
:root { --ok:#2e7d32; --bad:#c62828; --diff:#ef6c00; --new:#1565c0; --fail:#6a1b1b; --kept:#9e9e9e;
        --ink:#1b1b1b; --muted:#5f6368; --line:#e0e0e0; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK JP", "Hiragino Sans",
       "Yu Gothic", sans-serif; color: var(--ink); margin: 0; padding: 24px 32px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.meta { color: var(--muted); margin: 0 0 16px; } .meta td { padding: 1px 12px 1px 0; vertical-align: top; }
.verdict { padding: 14px 18px; border-radius: 8px; font-size: 20px; font-weight: 700; color: #fff; }
.verdict.ok { background: var(--ok); } .verdict.bad { background: var(--bad); }
.totals { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; margin: 16px 0; }
.total { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.total .n { font-size: 26px; font-weight: 700; } .total .l { color: var(--muted); font-size: 13px; }
.total.bad .n { color: var(--bad); } .total.good .n { color: var(--ok); }
table.grid { border-collapse: collapse; width: 100%; font-size: 13px; }
table.grid th, table.grid td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left;
                               vertical-align: top; }
table.grid th { background: #f5f5f5; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.z { color: #bbb; } td.nz { color: var(--bad); font-weight: 700; }
.bar { display: flex; height: 14px; min-width: 180px; background: #f0f0f0; border-radius: 3px; overflow: hidden; }
.bar span { display: block; height: 100%; }
.present { background: var(--ok); } .different { background: var(--diff); } .missing { background: var(--bad); }
.new { background: var(--new); } .failed { background: var(--fail); } .kept { background: var(--kept); }
.legend span.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin: 0 4px 0 12px;
                  vertical-align: -1px; }
.sign { font: 700 14px ui-monospace, monospace; text-align: center; }
tr.s-minus .sign, tr.s-bang .sign { color: var(--bad); } tr.s-star .sign { color: var(--diff); }
tr.s-eq .sign { color: var(--ok); } tr.s-plus .sign, tr.s-tilde .sign { color: var(--muted); }
.loc { font: 12px ui-monospace, monospace; word-break: break-all; color: var(--muted); }
.note { font-size: 12px; color: var(--muted); white-space: nowrap; }
.advice { background: #fafafa; border-left: 4px solid var(--line); padding: 10px 14px; white-space: pre-wrap;
          font: 13px/1.5 ui-monospace, monospace; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@media print { body { padding: 0; } .verdict, .bar span, .total { -webkit-print-color-adjust: exact;
               print-color-adjust: exact; } tr { break-inside: avoid; } }
"""


_ROW_CLASS = {"=": "s-eq", "-": "s-minus", "*": "s-star", "!": "s-bang", "+": "s-plus", "~": "s-tilde"}


def _bar(f: FolderVerify) -> list[tuple[str, str, str]]:
    """The stacked bar's segments: (css class, width in percent, tooltip)."""
    total = sum(getattr(f, attr) for attr, _l, _c in SEGMENTS)
    return [(css, f"{100 * getattr(f, attr) / total:.3f}", _(label) + f": {getattr(f, attr)}")
            for attr, label, css in SEGMENTS if getattr(f, attr)] if total else []


def _bar_label(f: FolderVerify) -> str:
    return ", ".join(_(label) + f" {getattr(f, attr)}" for attr, label, _c in SEGMENTS if getattr(f, attr))


def _folder(f: FolderVerify) -> dict[str, object]:
    """One row of the folders table: names, the bar, and (number, shown as a problem when not 0)."""
    numbers = [(f.expected, False), (f.present, False), (f.missing, True), (f.different, True), (f.changed, True),
               (f.new_in_source, True), (f.failed_upload, True), (f.kept_local, False), (f.extra, False),
               (f.filtered, False), (f.skipped, False)]
    return {"source": f.source, "target": f.target, "reused": f.reused, "bar": _bar(f),
            "bar_total": sum(getattr(f, attr) for attr, _l, _c in SEGMENTS), "bar_label": _bar_label(f),
            "numbers": numbers}


def _totals(r: VerifyReport) -> list[tuple[str, int, str]]:
    """(label, number, css: good/bad/"") of the totals' boxes."""
    return [
        (_("expected"), r.expected, ""), (_("present"), r.present, "good" if r.ok else ""),
        (_("missing"), r.missing, "bad" if r.missing else ""),
        (_("different"), r.different, "bad" if r.different else ""),
        (_("stored changed by the server"), r.changed, "bad" if r.changed else ""),
        (_("new in the source"), r.new_in_source, "bad" if r.new_in_source else ""),
        (_("failed"), r.failed_upload, "bad" if r.failed_upload else ""),
        (_("left local on purpose"), r.kept_local, ""), (_("on the server, not from this migration"), r.extra, ""),
        (_("duplicates made by migrate (second copies)"), r.copies, "bad" if r.copies else ""),
        (_("uploaded, no longer in the source"), r.gone_from_source, ""),
        (_("filtered (not in scope)"), r.filtered, ""), (_("skipped"), r.skipped, ""),
        (_("exact duplicates (uploaded once)"), r.duplicates, ""), (_("compared byte for byte"), r.deep_checked, ""),
    ]


def render_html(r: VerifyReport) -> str:
    """The whole page (templates/verify.html on the shared base.html)."""
    mode = (_("every message fetched and compared byte for byte, with flags and date") if r.deep and r.sample is None
            else _("{percent}% of the messages fetched and compared byte for byte").format(percent=f"{r.sample:g}")
            if r.sample else _("by the UID recorded at upload, else Message-ID and size"))
    quota = (_("{used} used of {limit}").format(used=human_bytes(r.quota_used), limit=human_bytes(r.quota_limit))
             if r.quota_limit else _("not reported"))
    meta = [(_("target"), r.target), (_("source"), ", ".join(r.sources) or _("(not recorded)")), (_("checked"), mode),
            (_("when"), _("{time} ({seconds} s)").format(time=_when(r.generated), seconds=f"{r.seconds:.1f}")),
            (_("server quota"), quota), (_("state"), r.state)]
    if r.reused_folders:
        meta.append((_("reused"), _("{n} folder(s) proven by an earlier verify and unchanged since").format(
            n=r.reused_folders)))
    head_text = (_("VERIFIED: every message in scope is on the server") if r.ok
                 else _("NOT VERIFIED: do not remove the old account yet"))
    problems = [p for p in r.problems if p.sign in PROBLEM_SIGNS]
    others: list[Problem] = [p for p in r.problems if p.sign not in PROBLEM_SIGNS]
    return render_page(
        "verify.html", title=_("Mail migration verification: {target}").format(target=r.target), css=Markup(CSS),
        meta=meta, ok=r.ok, head_text=head_text, totals=_totals(r),
        segments=[(attr, _(label), css) for attr, label, css in SEGMENTS], folders=[_folder(f) for f in r.folders],
        problems=problems, others=others[:OK_ROWS_CAP], others_more=len(others) > OK_ROWS_CAP,
        others_cap=OK_ROWS_CAP, signs={sign: _(text) for sign, text in SIGNS.items()}, row_class=_ROW_CLASS,
        advice=verdict(r))


def _when(iso: str) -> str:
    """The verification's time (ISO 8601, as stored) for people: local zone, named, the language's way."""
    try:
        return format_datetime(datetime.fromisoformat(iso))
    except ValueError:
        return iso


def write_report(report: VerifyReport, path: Path) -> None:
    """Write atomically (a half-written record is worse than none), private: it lists subjects."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".verify-", suffix=".html", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(render_html(report))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
