"""`verify --report FILE.html`: the verification as one self-contained page to keep as the record of the
migration. No script, no font, no image, no link to anything outside the file: it opens offline in
any browser, years later, and prints cleanly.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from migrator.domain.models import FolderVerify, Problem, VerifyReport
from migrator.domain.units import human_bytes
from migrator.render.pages import Markup, render_page
from migrator.render.terminal import PROBLEM_SIGNS, verdict

OK_ROWS_CAP = 20000  # '=' lines (only with --list): beyond this the page gets unwieldy

# (attribute, label, css class) of the stacked bar segments, in order
SEGMENTS = (
    ("present", "present", "present"),
    ("different", "different", "different"),
    ("changed", "stored changed by the server", "different"),
    ("missing", "missing", "missing"),
    ("new_in_source", "new in the source", "new"),
    ("failed_upload", "failed", "failed"),
    ("kept_local", "left local on purpose", "kept"),
)
SIGNS = {"=": "ok", "-": "missing on the server", "*": "differs", "!": "error", "+": "on the server only",
         "~": "not in scope"}

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
    return [(css, f"{100 * getattr(f, attr) / total:.3f}", f"{label}: {getattr(f, attr)}")
            for attr, label, css in SEGMENTS if getattr(f, attr)] if total else []


def _bar_label(f: FolderVerify) -> str:
    return ", ".join(f"{label} {getattr(f, attr)}" for attr, label, _c in SEGMENTS if getattr(f, attr))


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
        ("expected", r.expected, ""), ("present", r.present, "good" if r.ok else ""),
        ("missing", r.missing, "bad" if r.missing else ""), ("different", r.different, "bad" if r.different else ""),
        ("stored changed by the server", r.changed, "bad" if r.changed else ""),
        ("new in the source", r.new_in_source, "bad" if r.new_in_source else ""),
        ("failed", r.failed_upload, "bad" if r.failed_upload else ""),
        ("left local on purpose", r.kept_local, ""), ("on the server, not from this migration", r.extra, ""),
        ("duplicates made by migrate (second copies)", r.copies, "bad" if r.copies else ""),
        ("uploaded, no longer in the source", r.gone_from_source, ""),
        ("filtered (not in scope)", r.filtered, ""), ("skipped", r.skipped, ""),
        ("exact duplicates (uploaded once)", r.duplicates, ""), ("compared byte for byte", r.deep_checked, ""),
    ]


def render_html(r: VerifyReport) -> str:
    """The whole page (templates/verify.html on the shared base.html)."""
    mode = ("every message fetched and compared byte for byte, with flags and date" if r.deep and r.sample is None
            else f"{r.sample:g}% of the messages fetched and compared byte for byte" if r.sample
            else "by the UID recorded at upload, else Message-ID and size")
    quota = (f"{human_bytes(r.quota_used)} used of {human_bytes(r.quota_limit)}" if r.quota_limit else "not reported")
    meta = [("target", r.target), ("source", ", ".join(r.sources) or "(not recorded)"), ("checked", mode),
            ("when", f"{r.generated} ({r.seconds:.1f} s)"), ("server quota", quota), ("state", r.state)]
    if r.reused_folders:
        meta.append(("reused", f"{r.reused_folders} folder(s) proven by an earlier verify and unchanged since"))
    head_text = ("VERIFIED: every message in scope is on the server" if r.ok
                 else "NOT VERIFIED: do not remove the old account yet")
    problems = [p for p in r.problems if p.sign in PROBLEM_SIGNS]
    others: list[Problem] = [p for p in r.problems if p.sign not in PROBLEM_SIGNS]
    return render_page(
        "verify.html", title=f"Mail migration verification: {r.target}", css=Markup(CSS), meta=meta, ok=r.ok,
        head_text=head_text, totals=_totals(r), segments=SEGMENTS, folders=[_folder(f) for f in r.folders],
        problems=problems, others=others[:OK_ROWS_CAP], others_more=len(others) > OK_ROWS_CAP,
        others_cap=OK_ROWS_CAP, signs=SIGNS, row_class=_ROW_CLASS, advice=verdict(r))


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
