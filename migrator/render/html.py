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
from migrator.render.svg import quota_bar
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
    meta = [(_("source"), ", ".join(r.sources) or _("(not recorded)")), (_("target"), r.target), (_("checked"), mode),
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
        "verify.html", title=_("Mail migration verification: {target}").format(target=r.target),
        meta=meta, ok=r.ok, head_text=head_text, totals=_totals(r),
        segments=[(attr, _(label), css) for attr, label, css in SEGMENTS], folders=[_folder(f) for f in r.folders],
        problems=problems, others=others[:OK_ROWS_CAP], others_more=len(others) > OK_ROWS_CAP,
        others_cap=OK_ROWS_CAP, signs={sign: _(text) for sign, text in SIGNS.items()}, row_class=_ROW_CLASS,
        steps=verify_steps(r),
        quota_svg=Markup(quota_bar(r.quota_used, 0, r.quota_limit)) if r.quota_limit else "")  # noqa: S704 - escaped


def _when(iso: str) -> str:
    """The verification's time (ISO 8601, as stored) for people: local zone, named, the language's way."""
    try:
        return format_datetime(datetime.fromisoformat(iso))
    except ValueError:
        return iso


def verify_steps(r: VerifyReport) -> list[dict[str, str]]:
    """The verify report's next steps, in order, each {"text": ..., "command": ...}: once VERIFIED the
    parallel-run cutover (keep the POP account and its server copies, use IMAP for some days, copy and
    verify again, only then remove POP); otherwise what to fix (the terminal verdict's points), then
    run and verify again."""
    if r.ok:
        steps = [
            {"text": _("Keep the POP account in your mail program for now, but stop it from downloading new mail."),
             "command": ""},
            {"text": _("Make sure it keeps the copies on its server: \"leave a copy of messages on the server\" on, "
                       "no \"remove from server after N days\"."), "command": ""},
            {"text": _("Use the new IMAP account for some days next to the old one."), "command": ""},
            {"text": _("Copy again, then verify again, with the same arguments: they bring over what arrived "
                       "meanwhile and prove it."), "command": ""},
            {"text": _("Only then remove the POP account. Keep the backup (the .pst export or a copy of the "
                       "profile)."), "command": ""},
        ]
        if r.kept_local:
            steps.append({"text": _("{n} message(s) were left on this computer on purpose (--since/--max-size): "
                                    "they are only in that backup.").format(n=f"{r.kept_local:,}"), "command": ""})
        return steps
    fixes = [line.strip()[2:] if line.strip().startswith("- ") else line.strip()
             for line in verdict(r).splitlines()[1:] if line.strip()]
    run_again = [] if fixes else [{"text": _("Run the same migrate run command again: it uploads what is missing."),
                                   "command": _("migrate run (the same arguments)")}]
    return [{"text": text, "command": ""} for text in fixes] + run_again + [
        {"text": _("Verify again; remove nothing from the old account until it says VERIFIED."),
         "command": _("migrate verify (the same arguments) --report verify.html")},
    ]


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
