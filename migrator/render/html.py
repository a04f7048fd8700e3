"""`verify --report FILE.html`: the verification as one self-contained page to keep as the record of the
migration. No script, no font, no image, no link to anything outside the file: it opens offline in
any browser, years later, and prints cleanly.
"""

from __future__ import annotations

import os
import tempfile
from html import escape
from pathlib import Path

from migrator.domain.models import FolderVerify, Problem, VerifyReport
from migrator.render.terminal import PROBLEM_SIGNS, human_bytes, verdict

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


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _bar(f: FolderVerify) -> str:
    total = sum(getattr(f, attr) for attr, _l, _c in SEGMENTS)
    if total == 0:
        return '<div class="bar" title="nothing in scope"></div>'
    parts = []
    for attr, label, css in SEGMENTS:
        n = getattr(f, attr)
        if n:
            parts.append(f'<span class="{css}" style="width:{100 * n / total:.3f}%" title="{_e(label)}: {n}"></span>')
    return f'<div class="bar" role="img" aria-label="{_e(_bar_label(f))}">{"".join(parts)}</div>'


def _bar_label(f: FolderVerify) -> str:
    return ", ".join(f"{label} {getattr(f, attr)}" for attr, label, _c in SEGMENTS if getattr(f, attr))


def _num(n: int, bad: bool = False) -> str:
    css = "n z" if n == 0 else ("n nz" if bad else "n")
    return f'<td class="{css}">{n}</td>'


def _totals(r: VerifyReport) -> str:
    items = [
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
    cells = [f'<div class="total {css}" data-total="{_e(label)}"><div class="n">{n}</div>'
             f'<div class="l">{_e(label)}</div></div>' for label, n, css in items]
    return f'<div class="totals" id="totals">{"".join(cells)}</div>'


def _folders(r: VerifyReport) -> str:
    head = ("<tr><th>source folder</th><th>target folder</th><th></th><th>expected</th><th>present</th>"
            "<th>missing</th><th>different</th><th>changed by the server</th><th>new</th><th>failed</th>"
            "<th>kept local</th><th>extra on server</th>"
            "<th>filtered</th><th>skipped</th></tr>")
    rows = []
    for f in r.folders:
        note = '<div class="note">checked earlier, unchanged</div>' if f.reused else ""
        rows.append(
            f"<tr><td>{_e(f.source)}</td><td>{_e(f.target)}{note}</td><td>{_bar(f)}</td>{_num(f.expected)}"
            f"{_num(f.present)}{_num(f.missing, True)}{_num(f.different, True)}{_num(f.changed, True)}"
            f"{_num(f.new_in_source, True)}"
            f"{_num(f.failed_upload, True)}{_num(f.kept_local)}{_num(f.extra)}{_num(f.filtered)}{_num(f.skipped)}</tr>")
    legend = "".join(f'<span class="sw {css}"></span>{_e(label)}' for _a, label, css in SEGMENTS)
    return (f'<p class="legend">{legend}</p><table class="grid" id="folders"><thead>{head}</thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


_ROW_CLASS = {"=": "s-eq", "-": "s-minus", "*": "s-star", "!": "s-bang", "+": "s-plus", "~": "s-tilde"}


def _problem_rows(problems: list[Problem]) -> str:
    rows = []
    for p in problems:
        quarantine = f'<div class="loc">kept as {_e(p.quarantine)}</div>' if p.quarantine else ""
        when_from = f'<div class="loc">{_e(p.date_source)}</div>' if p.date_source else ""  # docs/concepts.md
        rows.append(
            f'<tr class="{_ROW_CLASS.get(p.sign, "")}"><td class="sign" title="{_e(SIGNS.get(p.sign, ""))}">'
            f"{_e(p.sign)}</td><td>{_e(p.target)}</td><td>{_e(p.subject)}</td><td>{_e(p.date[:19])}{when_from}</td>"
            f'<td class="loc">{_e(p.message_id or "")}</td><td>{_e(p.folder)}<div class="loc">{_e(p.locator)}</div>'
            f"</td><td>{_e(p.detail)}{quarantine}</td></tr>")
    head = ("<tr><th></th><th>target folder</th><th>subject</th><th>date</th><th>Message-ID</th>"
            "<th>in the source</th><th>what</th></tr>")
    return f'<table class="grid"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _lists(r: VerifyReport) -> str:
    problems = [p for p in r.problems if p.sign in PROBLEM_SIGNS]
    others = [p for p in r.problems if p.sign not in PROBLEM_SIGNS]
    out = ['<h2 id="problems">Problems</h2>']
    if problems:
        out.append(f"<p>{len(problems)} message(s) need attention; each line says where to find it in the source."
                   "</p>" + _problem_rows(problems))
    else:
        out.append("<p>None: every message in scope was found on the server.</p>")
    if others:
        shown = others[:OK_ROWS_CAP]
        more = f" (the first {OK_ROWS_CAP}; `--json` lists all)" if len(others) > OK_ROWS_CAP else ""
        out.append(f'<h2 id="messages">Every message{more}</h2>')
        out.append('<p class="legend">' + " ".join(f"<b>{_e(s)}</b> {_e(t)}" for s, t in SIGNS.items()) + "</p>")
        out.append(_problem_rows(shown))
    return "".join(out)


def render_html(r: VerifyReport) -> str:
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
    return "".join([
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
        f"<title>Mail migration verification: {_e(r.target)}</title><style>{CSS}</style></head><body>",
        "<h1>Mail migration verification</h1>",
        '<table class="meta">', "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in meta), "</table>",
        f'<div class="verdict {"ok" if r.ok else "bad"}" id="verdict">{_e(head_text)}</div>',
        _totals(r),
        '<h2 id="by-folder">By folder</h2>', _folders(r),
        _lists(r),
        '<h2 id="next">What to do now</h2>', f'<div class="advice">{_e(verdict(r))}</div>',
        ("<footer>Written by <code>migrate verify</code>. Nothing on the server was changed or deleted; the source "
         "was only read.</footer></body></html>\n"),
    ])


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
