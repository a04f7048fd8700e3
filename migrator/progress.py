"""Rendering: tqdm bars on stderr, results on stdout (tables for people, `--json` for machines).

Flows never print; they return models and call the callbacks made here.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable

from pydantic import BaseModel
from tqdm import tqdm

from migrator.models import Plan, RunStats, VerifyReport


def human_bytes(n: int | None) -> str:
    if n is None:
        return "unknown"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    right = right or set()
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(_pad(h, widths[i], i in right) for i, h in enumerate(headers))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(_pad(c, widths[i], i in right) for i, c in enumerate(r)))
    return "\n".join(lines)


def to_json(model: BaseModel) -> str:
    return json.dumps(model.model_dump(mode="json"), ensure_ascii=False, indent=2)


class Bar:
    """A tqdm bar on stderr that stays silent when stderr is not a terminal (or when quiet)."""

    def __init__(self, desc: str, total: int | None = None, unit: str = "B", quiet: bool = False) -> None:
        self._bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=True, unit_divisor=1024,
                         file=sys.stderr, disable=True if quiet else None, leave=False, dynamic_ncols=True)

    def update(self, n: int) -> None:
        self._bar.update(n)

    def callback(self) -> Callable[[int], None]:
        return self.update

    def close(self) -> None:
        self._bar.close()


def render_plan(plan: Plan) -> str:
    rows = []
    for f in plan.folders:
        skipped = ", ".join(f"{n} {why}" for why, n in f.skipped.items())
        rows.append([
            f.source, f.target, str(f.messages), human_bytes(f.bytes), str(f.to_upload), str(f.already),
            str(f.duplicates), str(f.filtered), skipped + (f"; {f.unreadable} unreadable" if f.unreadable else ""),
        ])
    t = plan.totals
    rows.append(["TOTAL", "", str(t.messages), human_bytes(t.bytes), str(t.to_upload), str(t.already),
                 str(t.duplicates), str(t.filtered), f"{t.skipped} skipped" + (
                     f", {t.unreadable} unreadable" if t.unreadable else "")])
    out = [f"Plan for {plan.target} (dry run: nothing is written)", "",
           table(["source folder", "target folder", "messages", "size", "to upload", "already there",
                  "duplicates", "filtered", "skipped"], rows, right={2, 3, 4, 5, 6, 7})]
    out.append("")
    out.append(f"To upload: {t.to_upload} messages, {human_bytes(t.upload_bytes)}.")
    q = plan.quota
    if q.limit is None:
        out.append("Quota: unknown (the server does not report one).")
    else:
        out.append(f"Quota: {human_bytes(q.used)} used of {human_bytes(q.limit)}; "
                   f"this migration needs {human_bytes(q.needed)}: " + ("it fits." if q.fits else "it does NOT fit."))
        if not q.fits:
            if q.suggested_since:
                out.append(f"Suggestion: upload mail from {q.suggested_since} on (--since {q.suggested_since}); "
                           "older mail stays on this computer.")
            else:
                out.append("Suggestion: raise the quota or free space on the server.")
    if plan.kept_local:
        out.append(f"Kept local by the filters: {plan.kept_local['messages']} messages, "
                   f"{human_bytes(int(plan.kept_local['bytes']))}.")  # type: ignore[call-overload]
    for w in plan.warnings:
        out.append(f"Note: {w}")
    return "\n".join(out)


def render_run(stats: RunStats) -> str:
    rows = [[f.source, f.target, str(f.in_scope), str(f.uploaded), str(f.already), str(f.duplicates),
             str(f.failed), str(f.skipped), str(f.filtered)] for f in stats.folders]
    out = [table(["source folder", "target folder", "in scope", "uploaded", "already there", "duplicates",
                  "failed", "skipped", "filtered"], rows, right={2, 3, 4, 5, 6, 7, 8})] if rows else []
    out.append("")
    out.append(
        f"In scope: {stats.in_scope} = uploaded {stats.uploaded} + already on target {stats.already} "
        f"+ duplicates {stats.duplicates} + failed {stats.failed}"
        + ("" if stats.adds_up else "  (DOES NOT ADD UP: please report)")
    )
    out.append(f"Not in scope: skipped {stats.skipped}, filtered {stats.filtered}.")
    rate = stats.uploaded / stats.seconds if stats.seconds > 0 else 0.0
    out.append(f"Uploaded {human_bytes(stats.uploaded_bytes)} in {stats.seconds:.1f} s ({rate:.1f} messages/s).")
    if stats.recovered_intents:
        out.append(f"Recovered {stats.recovered_intents} message(s) an interrupted run had already sent.")
    if stats.reconnects:
        out.append(f"Reconnected {stats.reconnects} time(s).")
    if stats.failures:
        out.append("")
        out.append(f"{len(stats.failures)} message(s) failed:")
        for f in stats.failures[:50]:
            where = f" (kept as {f.quarantine})" if f.quarantine else ""
            out.append(f"  ! {f.target}: {f.locator}: {f.reason}{where}")
        if len(stats.failures) > 50:
            out.append(f"  ... and {len(stats.failures) - 50} more (see the quarantine folder's failures.log)")
    if stats.interrupted:
        out.append("Interrupted: run the same command again to resume.")
    elif not stats.failures:
        out.append("Done. Next: `migrate verify` with the same arguments.")
    return "\n".join(out)


def render_verify(report: VerifyReport, list_all: bool = True) -> str:
    rows = [[f.source, f.target, str(f.expected), str(f.present), str(f.missing), str(f.different), str(f.extra),
             str(f.new_in_source), str(f.failed_upload), str(f.filtered)] for f in report.folders]
    out = [table(["source folder", "target folder", "expected", "present", "missing", "different",
                  "extra on server", "new in source", "failed", "filtered"], rows,
                 right={2, 3, 4, 5, 6, 7, 8, 9})]
    if list_all and report.problems:
        out.append("")
        for p in report.problems[:500]:
            mid = f" {p.message_id}" if p.message_id else ""
            out.append(f"{p.sign} {p.target}: {p.locator}{mid} {p.subject!r} {p.date[:10]}: {p.detail}")
        if len(report.problems) > 500:
            out.append(f"... and {len(report.problems) - 500} more (use --json for all)")
    out.append("")
    out.append(f"Expected {report.expected}: present {report.present}, missing {report.missing}, "
               f"different {report.different}, new in source {report.new_in_source}, failed {report.failed_upload}; "
               f"extra on server (not from this migration) {report.extra}; "
               f"not in scope: filtered {report.filtered}, skipped {report.skipped}, duplicates {report.duplicates}.")
    out.append(verdict(report))
    return "\n".join(out)


def verdict(report: VerifyReport) -> str:
    if report.ok:
        return "\n".join([
            "VERIFIED: every message in scope is on the server" + (" (content checked)." if report.deep else "."),
            "Next steps of the parallel run:",
            "  1. Keep the POP account, but stop it from downloading, and make sure it never deletes mail",
            "     from the POP server (\"leave a copy on the server\").",
            "  2. Use the IMAP account for some days next to the old one.",
            "  3. Run `migrate run` and `migrate verify` again to bring over what arrived meanwhile.",
            "  4. Only then remove the POP account. Keep the backup (the .pst export or a profile copy).",
        ])
    tips = []
    if report.new_in_source:
        tips.append(f"{report.new_in_source} new message(s) in the source not yet migrated: run `migrate run` again.")
    if report.missing:
        tips.append(f"{report.missing} message(s) missing on the server: run `migrate run` again to upload them.")
    if report.different:
        tips.append(f"{report.different} message(s) differ on the server: see the list above.")
    if report.failed_upload:
        tips.append(f"{report.failed_upload} message(s) the server refused or that could not be read: "
                    "import the quarantined .eml files by hand, or fix the cause (quota, size) and run again.")
    return "NOT VERIFIED. " + " ".join(tips)
