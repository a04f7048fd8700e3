"""Rendering: tqdm bars on stderr, results on stdout (tables for people, `--json` for machines).

Flows never print; they return models and emit events (domain/events.py) that Progress renders.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from datetime import datetime

from pydantic import BaseModel

from migrator.domain.events import Event, MessageSettled, Paused, PhaseStarted, Totals
from migrator.domain.i18n import _, ngettext
from migrator.domain.models import ArchiveReport, Plan, Problem, RunStats, VerifyReport
from migrator.domain.units import count, human_bytes
from migrator.render.bars import SizedBar, open_bar, show


def text_width(text: str) -> int:
    """Columns `text` takes in a terminal: East Asian wide and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad_text(text: str, width: int, right: bool = False) -> str:
    """`text` padded with spaces to `width` terminal columns (see `text_width`), on the left when `right`."""
    fill = " " * max(0, width - text_width(text))
    return fill + text if right else text + fill


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """A plain-text table: `headers` over `rows` (cells padded by display width: East Asian wide
    characters count 2), the columns in `right` right-aligned."""
    right = right or set()
    widths = [max([text_width(h)] + [text_width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(pad_text(h, widths[i], i in right) for i, h in enumerate(headers))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(pad_text(c, widths[i], i in right) for i, c in enumerate(r)))
    return "\n".join(lines)


def to_json(model: BaseModel) -> str:
    """A result model as JSON for --json, indented 2: text as is (UTF-8, Japanese in cp932) when
    stdout can encode it, else with `\\uXXXX` escapes (still valid JSON, never mangled by the
    console's error handler: render/console.py)."""
    from migrator.render.console import can_encode

    data = model.model_dump(mode="json")
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return text if can_encode(text) else json.dumps(data, ensure_ascii=True, indent=2)


class Progress:
    """The terminal's subscriber to a flow's events (domain/events.py): one bar per phase on stderr
    ("reading", "uploading", "checking", "archiving"; render/bars.py): percent, messages and bytes
    done of their totals, rate and time left, drawn from the phase's Totals; a phase without
    Totals advances by the bytes of each message settled. The daily-cap pause as a line. Warnings,
    folder and final counts are left to the result's rendering (render_run and friends), so
    nothing is printed twice.

    Use it as the flow's `on_event` and close it when the flow returns (or raises)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._bar: SizedBar | None = None
        self._phase: str | None = None
        self._total: int | None = None
        self._metered = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, PhaseStarted):
            self.close()
            self._phase, self._total, self._metered = event.phase, event.total_bytes, False
        elif isinstance(event, Totals):
            if event.phase != self._phase:
                return
            if self._bar is None:  # opened at the first Totals: what was done before is its start
                self._bar = open_bar(event.phase, event.total_bytes, event.done_bytes, quiet=self.quiet,
                                     done_messages=event.done_messages, total_messages=event.total_messages,
                                     exact=event.exact)
            self._metered = True
            show(self._bar, event.done_messages, event.done_bytes, event.total_messages, event.total_bytes,
                 event.exact)
        elif isinstance(event, MessageSettled):
            if self._metered or event.outcome not in _ADVANCES or self._phase is None:
                return
            if self._bar is None:
                self._bar = open_bar(self._phase, self._total, quiet=self.quiet)
            self._bar.messages += 1
            self._bar.update(event.bytes)
        elif isinstance(event, Paused):
            print(paused_line(event), file=sys.stderr, flush=True)

    def close(self) -> None:
        """Close the current bar (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


_ADVANCES = frozenset({"read", "uploaded", "checked", "archived"})  # outcomes that move a phase's bar


def paused_line(event: Paused) -> str:
    """The line `run` prints when the provider's daily upload cap makes it wait."""
    return (f"\nmigrate: the provider's daily upload cap is reached ({human_bytes(event.sent)} in 24 hours); "
            f"waiting until {datetime.fromtimestamp(event.until):%Y-%m-%d %H:%M} to carry on. Ctrl-C stops; run "
            "the same command again later to continue.")


def render_plan(plan: Plan, unicode: bool | None = None) -> str:
    """Folders table, the picture by year, the quota verdict with what to do, what stays local."""
    from migrator.flows.quota import quota_lines
    from migrator.render.charts import year_chart

    if unicode is None:
        unicode = (getattr(sys.stdout, "encoding", "") or "").lower().replace("-", "").startswith("utf")
    rows = []
    for f in plan.folders:
        why = [f"{n:,} {r}" for r, n in f.skipped.items()]
        why += [f"{n:,} filtered: {r}" for r, n in f.filtered_reasons.items()]
        if f.unreadable:
            why.append(f"{f.unreadable:,} unreadable")
        if f.too_big:
            why.append(f"{f.too_big:,} too big for the server")
        if f.unchanged:
            why.append("unchanged since the last run")
        rows.append([f.source, f.target, f"{f.messages:,}", human_bytes(f.bytes), f"{f.to_upload:,}",
                     f"{f.already:,}", f"{f.duplicates:,}", f"{f.filtered:,}", f"{sum(f.skipped.values()):,}",
                     "; ".join(why)])
    t = plan.totals
    rows.append(["TOTAL", "", f"{t.messages:,}", human_bytes(t.bytes), f"{t.to_upload:,}", f"{t.already:,}",
                 f"{t.duplicates:,}", f"{t.filtered:,}", f"{t.skipped:,}",
                 f"{t.unreadable:,} unreadable" if t.unreadable else ""])
    out = [f"Plan for {plan.target} (dry run: nothing is written)", "",
           table(["source folder", "target folder", "messages", "size", "to upload", "already there",
                  "duplicates", "filtered", "skipped", "why"], rows, right={2, 3, 4, 5, 6, 7, 8}), ""]
    out.append(f"To upload: {t.to_upload:,} messages, {human_bytes(t.upload_bytes)}.")
    renamed = [f for f in plan.folders if f.renamed]
    if renamed:
        out += ["", "Folder names changed for the server (source -> target (why)):"]
        out += [f"  {f.source} -> {f.target} ({f.renamed})" for f in renamed]
    chart = year_chart(plan, unicode=unicode)
    if chart:
        out += ["", chart, ""]
    q = plan.quota
    out += quota_lines(q)
    if q.suggested_kept_local and q.fits is not True:
        folders: dict[str, dict[str, object]] = q.suggested_kept_local.get("folders", {})  # type: ignore[assignment]
        out += ["", f"With --since {q.suggested_since} these stay on this computer:",
                table(["source folder", "messages", "size", "from", "to"],
                      [[name, f"{int(k['messages']):,}", human_bytes(int(k['bytes'])),  # type: ignore[call-overload]
                        str(k.get("oldest") or ""), str(k.get("newest") or "")] for name, k in folders.items()],
                      right={1, 2})]
    others = [o for o in q.options if not o.flags.startswith("--since")] if q.fits is not True else []
    if others:
        out += ["", "Other diets:"]
        for o in others:
            verdict = "fits" if o.fits else "still too much"
            out.append(f"  {o.flags}: {o.what}; uploads {human_bytes(o.needed)} ({verdict}), "
                       f"{o.kept_messages:,} messages ({human_bytes(o.kept_bytes)}) stay local")
    if plan.kept_local:
        out += ["", f"Kept local by the filters: {int(plan.kept_local['messages']):,} messages, "  # type: ignore[call-overload]
                f"{human_bytes(int(plan.kept_local['bytes']))} (`migrate run` records them in its ledger; "  # type: ignore[call-overload]
                "`migrate archive` writes them out)."]
    if plan.too_big:
        out += ["", f"Too large for the server ({human_bytes(plan.max_message_bytes)} at most): "
                    "these would be refused:"]
        for m in plan.too_big[:20]:
            out.append(f"  {m.folder}: {m.locator} {m.subject!r} {m.date} ({human_bytes(m.size)})")
        if len(plan.too_big) > 20:
            out.append(f"  ... and {len(plan.too_big) - 20:,} more (see --json or --report)")
    if plan.at_risk:
        how = {True: "the server offers BINARY (RFC 3516): they go as literal8 and arrive exactly",
               False: "the server offers no BINARY (RFC 3516): it will store them changed (NUL returned as 0x80); "
                      "run and verify report them as \"stored changed by the server\", never as verified",
               None: "whether they arrive exactly depends on the server offering BINARY (RFC 3516)",
               }[plan.at_risk_binary]
        out += ["", f"Holding NUL bytes, which a plain IMAP literal cannot carry: {plan.at_risk:,} message(s); {how}:"]
        for m in plan.at_risk_messages[:20]:
            out.append(f"  {m.folder}: {m.locator} {m.subject!r} {m.date} ({human_bytes(m.size)})")
        if plan.at_risk > 20:
            out.append(f"  ... and {plan.at_risk - 20:,} more (see --json or --report)")
    if plan.warnings:
        out.append("")
    for w in plan.warnings:
        out.append(f"Note: {w}")
    return "\n".join(out)


def render_archive(report: ArchiveReport) -> str:
    """`migrate archive`'s result for the terminal: per folder where it was written, messages, size
    and date range, then the totals."""
    rows = [[f.source, f.path, f"{f.messages:,}", human_bytes(f.bytes), f.oldest or "", f.newest or ""]
            for f in report.folders]
    out = [table(["source folder", "written to", "messages", "size", "from", "to"], rows, right={2, 3})] if rows else []
    span = " ".join(x for x in (f"from {report.since}" if report.since else "",
                                f"before {report.until}" if report.until else "") if x)
    out += ["", f"Archived {report.messages:,} messages ({human_bytes(report.bytes)}) dated {span} to {report.to} "
                f"({report.format}); the source was only read.",
            f"Not archived: {report.in_upload_range:,} in the upload range, {report.skipped:,} skipped "
            "(deleted in the source)."]
    if report.unreadable:
        out.append(f"{len(report.unreadable):,} message(s) could not be read and are NOT in the archive:")
        out += [f"  ! {u}" for u in report.unreadable[:50]]
    elif report.format == "mbox":
        out.append("Thunderbird: copy the folders into the Local Folders directory (or use the ImportExportTools "
                   "add-on) while Thunderbird is closed.")
    out += [f"Warning: {w}" for w in report.warnings]
    return "\n".join(out)


def render_run(stats: RunStats) -> str:
    """`migrate run`'s result for the terminal: one row per folder (in scope, uploaded, already there,
    duplicates, failed, over quota when any, skipped, filtered), the accounting line, changed
    messages, rate, warnings, recoveries and the failed messages with their quarantine files."""
    quota = bool(stats.over_quota)  # the "over quota" column only when the server refused some
    rows = [[f.source, f.target, count(f.in_scope), count(f.uploaded), count(f.already), count(f.duplicates),
             count(f.failed)] + ([count(f.over_quota)] if quota else []) + [count(f.skipped), count(f.filtered)]
            for f in stats.folders
            if f.in_scope or f.skipped or f.filtered]  # folders with nothing in them stay out of the table
    heads = (["source folder", "target folder", "in scope", "uploaded", "already there", "duplicates", "failed"]
             + (["over quota"] if quota else []) + ["skipped", "filtered"])
    out = [table(heads, rows, right=set(range(2, len(heads))))] if rows else []
    out.append("")
    out.append(
        f"In scope: {stats.in_scope:,} = uploaded {stats.uploaded:,} + already on target {stats.already:,} "
        f"+ duplicates {stats.duplicates:,} + failed {stats.failed:,}"
        + (f" + not uploaded (over quota) {stats.over_quota:,}" if quota else "")
        + ("" if stats.adds_up else "  (DOES NOT ADD UP: please report)")
    )
    if quota:
        out.append(f"Not uploaded: over quota: {stats.over_quota:,} message(s), {human_bytes(stats.over_quota_bytes)} "
                   f"left; {stats.uploaded:,} message(s), {human_bytes(stats.uploaded_bytes)} went up.")
    if stats.changed:
        out.append(f"Stored changed by the server: {stats.changed:,} of the {stats.uploaded:,} uploaded and "
                   f"{stats.already:,} already on the target "
                   "(it offers no BINARY, RFC 3516: their NUL bytes come back as 0x80; a re-run would store them "
                   "the same way; the source keeps the original):")
        out.extend(f"  * {m}" for m in stats.changed_messages[:20])
        if stats.changed > 20:
            out.append(f"  ... and {stats.changed - 20:,} more (`migrate verify --list`)")
    out.append(f"Not in scope: skipped {stats.skipped:,}, filtered {stats.filtered:,}.")
    rate = stats.uploaded / stats.seconds if stats.seconds > 0 else 0.0
    out.append(f"Uploaded {human_bytes(stats.uploaded_bytes)} in {stats.seconds:,.1f} s ({rate:,.1f} messages/s).")
    for w in stats.warnings[:20]:
        out.append(f"Warning: {w}")
    if len(stats.warnings) > 20:
        out.append(f"... and {len(stats.warnings) - 20:,} more warnings (see --json)")
    if stats.recovered_intents:
        out.append(f"Recovered {stats.recovered_intents:,} message(s) an interrupted run had already sent.")
    if stats.reconnects:
        out.append(f"Recovered from {stats.reconnects:,} dropped connection(s): reconnected and carried on.")
    if stats.failures:
        out.append("")
        out.append(f"{len(stats.failures):,} message(s) failed:")
        for f in stats.failures[:50]:
            where = f" (kept as {f.quarantine})" if f.quarantine else ""
            out.append(f"  ! {f.target}: {f.locator}: {f.reason}{where}")
        if len(stats.failures) > 50:
            out.append(f"  ... and {len(stats.failures) - 50:,} more (see the quarantine folder's failures.log)")
    if stats.interrupted:
        out.append(_("Interrupted: {left}.").format(left=left_text(stats.to_go, stats.left_bytes,
                                                                     stats.over_quota_bytes)))
    elif quota:
        out.append(_("Not done: the server is over quota (see the hint below): {left}; run the same command again "
                     "once there is room.").format(left=left_text(stats.to_go, stats.left_bytes, stats.over_quota_bytes,
                                                                  again=False)))
    elif not stats.failures:
        out.append("Done. Next: `migrate verify` with the same arguments.")
    return "\n".join(out)


def left_text(messages: int | None, nbytes: int | None, more_bytes: int = 0, again: bool = True) -> str:
    """What is left of an interrupted or refused run: "2,415 messages (12.3 MB) left: run the same
    command again"; without a known count, "run the same command again to carry on"."""
    if messages is None:
        return _("run the same command again to carry on") if again else _("some messages left")
    size = (nbytes or 0) + more_bytes
    n = f"{messages:,}"
    if again:
        return (ngettext("{n} message ({size}) left: run the same command again",
                         "{n} messages ({size}) left: run the same command again", messages) if size else
                ngettext("{n} message left: run the same command again",
                         "{n} messages left: run the same command again", messages)).format(n=n, size=human_bytes(size))
    return (ngettext("{n} message ({size}) left", "{n} messages ({size}) left", messages) if size else
            ngettext("{n} message left", "{n} messages left", messages)).format(n=n, size=human_bytes(size))


PROBLEM_SIGNS = "-*!"  # shown by default; '=' ok, '+' extra on server, '~' not in scope only with --list
LIST_CAP = 1000


def problem_line(p: Problem) -> str:
    """One message, rclone `check` style: sign, where it should be, what it is, where it is in the source."""
    when = f"{p.date[:10]} ({p.date_source})" if p.date and p.date_source else p.date[:10]
    what = " ".join(x for x in (json.dumps(p.subject, ensure_ascii=False) if p.subject else "",
                                when, p.message_id or "") if x)
    where = f" [{p.folder}: {p.locator}]" if p.folder else (f" [{p.locator}]" if p.locator else "")
    return f"{p.sign} {p.target}: {what or '(no subject)'}{where} {p.detail}"


def render_verify(report: VerifyReport, list_mode: bool | None = None) -> str:
    """list_mode None: the problems; True: every message (= + ~ too); False: folders and totals only."""
    changed = bool(report.changed)  # its column only when there is something in it
    rows = [[f.source, f.target, count(f.expected), count(f.present), count(f.missing), count(f.different)]
            + ([count(f.changed)] if changed else [])
            + [count(f.new_in_source), count(f.failed_upload), count(f.kept_local), count(f.extra), count(f.filtered)]
            + (["checked earlier" if f.reused else ""] if report.reused_folders else []) for f in report.folders]
    out = [f"Verify {report.target}" + (" (content compared)" if report.deep and report.sample is None else
                                        f" (content of {report.sample:g}% compared)" if report.sample else ""), ""]
    out.append(table(["source folder", "target folder", "expected", "present", "missing", "different"]
                     + (["changed by the server"] if changed else [])
                     + ["new in source", "failed", "kept local", "extra on server", "filtered"]
                     + ([""] if report.reused_folders else []), rows,
                     right=set(range(2, 11 + changed))))
    shown = [p for p in report.problems if list_mode or p.sign in PROBLEM_SIGNS or p.kind == "copy"] \
        if list_mode is not False else []
    if shown:
        out.append("")
        cap = len(shown) if list_mode else LIST_CAP
        out.extend(problem_line(p) for p in shown[:cap])
        if len(shown) > cap:
            out.append(f"... and {len(shown) - cap:,} more (--json or --report FILE.html list them all)")
    r = report
    out.append("")
    out.append(f"Expected on the server: {r.expected:,} = present {r.present:,} + missing {r.missing:,} + different "
               f"{r.different:,}" + (f" + stored changed by the server {r.changed:,}" if r.changed else "")
               + f" + new in the source {r.new_in_source:,} + failed {r.failed_upload:,}"
               + (f" + left local on purpose {r.kept_local:,}" if r.kept_local else "") + ".")
    if r.changed:
        out.append(f"Stored changed by the server: {r.changed:,} (on the server, not with the bytes sent: never "
                   "counted as verified).")
    out.append(f"Also on the server: {r.extra:,} not from this migration"
               + (f", {r.gone_from_source:,} uploaded earlier but no longer in the source"
                  if r.gone_from_source else "")
               + (f", {r.copies:,} duplicate(s): second copies of migrated messages (a second writer or a lost "
                  "journal)" if r.copies else "")
               + ".")
    out.append(f"Not in scope: filtered {r.filtered:,}, skipped {r.skipped:,}; exact duplicates uploaded once: "
               f"{r.duplicates:,}.")
    if r.deep:
        out.append(f"Compared byte for byte (with flags and date): {r.deep_checked:,} message(s).")
    else:
        out.append("Checked by the UID recorded at upload, else Message-ID and size (--deep compares the content).")
        if r.deep_checked:
            out.append(f"Content compared for {r.deep_checked:,} message(s) whose bytes are at risk (NUL bytes): "
                       "always.")
    if r.date_sources and (list_mode or r.date_sources.get("fallback") or r.date_sources.get("mtime")):
        out.append("Dates (INTERNALDATE) taken from: " + ", ".join(
            f"{source or 'unknown'} {n:,}" for source, n in sorted(r.date_sources.items(), key=lambda x: -x[1]))
            + " (docs/concepts.md, \"Dates and flags\").")
    if r.reused_folders:
        out.append(f"{r.reused_folders:,} folder(s) unchanged since an earlier verify proved them: not fetched again "
                   "(--fresh checks them anyway).")
    out += [f"Warning: {w}" for w in r.warnings]
    out.append("")
    out.append(verify_stopped(report) if report.interrupted else verdict(report))
    return "\n".join(out)


def verify_stopped(report: VerifyReport) -> str:
    """The end of an interrupted verify: what was checked so far and what is left."""
    return _("Interrupted: checked {n} message(s) in {folders} folder(s) so far (present {present}, missing "
             "{missing}, different {different}); {left} (the folders proven so far are not fetched again).").format(
        n=f"{report.expected:,}", folders=f"{len(report.folders):,}", present=f"{report.present:,}",
        missing=f"{report.missing:,}", different=f"{report.different:,}",
        left=left_text(report.left, report.left_bytes))


def next_steps(report: VerifyReport) -> list[str]:
    """The cutover steps of the parallel run, once verify passes."""
    steps = [
        "Next steps (the parallel run):",
        "  1. Keep the POP account in your mail program, but stop it from downloading new mail, and make",
        "     sure it never deletes mail from the POP server (\"leave a copy on the server\", no \"remove after",
        "     N days\").",
        "  2. Use the new IMAP account for some days next to the old one.",
        "  3. Run `migrate run` and then `migrate verify` again, with the same arguments: they bring over what",
        "     arrived meanwhile and prove it.",
        "  4. Only then remove the POP account. Keep the backup (the .pst export or a copy of the profile).",
    ]
    if report.kept_local:
        steps.append(f"  Note: {report.kept_local:,} message(s) were left on this computer on purpose "
                     "(--since/--max-size): they are only in that backup.")
    return steps


def verdict(report: VerifyReport) -> str:
    """The verify verdict for the terminal: VERIFIED and the next steps of the cutover, or NOT VERIFIED
    with what is missing or different and what to do."""
    r = report
    if r.ok:
        head = (f"VERIFIED: all {r.expected:,} message(s) in scope are on the server"
                + (" (content compared)." if r.deep and r.sample is None else
                   f" (content of {r.sample:g}% compared)." if r.sample else "."))
        return "\n".join([head, *next_steps(report)])
    tips = ["NOT VERIFIED: do not remove the POP account yet."]
    full = bool(r.quota_limit and r.quota_used is not None and r.quota_used >= 0.95 * r.quota_limit)
    if r.new_in_source:
        tips.append(f"  - {r.new_in_source:,} new message(s) in the source not yet migrated (the old account kept "
                    "receiving): run `migrate run` again, then `migrate verify`.")
    if r.missing:
        tips.append(f"  - {r.missing:,} message(s) missing on the server: run `migrate run` again (it uploads exactly "
                    "those), then `migrate verify`.")
    if full and (r.missing or r.new_in_source or r.failed_upload):
        tips.append(f"  - The account is full ({human_bytes(r.quota_used)} of {human_bytes(r.quota_limit)}): raise the "
                    "quota or free space on the server, or keep older mail local with --since DATE (see `migrate plan`)"
                    ", then run again.")
    if r.changed:
        tips.append(f"  - {r.changed:,} message(s) stored changed by the server (see the lines marked * \"stored "
                    "changed\"): it cannot keep some of their bytes (NUL, RFC 3516 BINARY not offered or not kept), "
                    "so running again would store them the same way. The source keeps the originals: keep it as "
                    "their exact copy.")
    if r.different:
        tips.append(f"  - {r.different:,} message(s) differ on the server (see the lines marked *): the source "
                    "keeps the original; delete the damaged copy in your mail program and run `migrate run` again, or "
                    "keep it if the difference is harmless (e.g. flags you changed in the new account).")
    refused = sum(1 for p in r.problems if p.kind == "failed")
    unreadable = sum(1 for p in r.problems if p.kind == "unreadable")
    if refused:
        where = f" (kept as .eml files in {r.quarantine})" if r.quarantine else ""
        tips.append(f"  - {refused:,} message(s) the server refused{where}: fix the cause shown (size limit, quota) "
                    "and run again, or import those .eml files by hand with your mail program.")
    if unreadable:
        tips.append(f"  - {unreadable:,} message(s) could not be read from the source: repair the store (Outlook: "
                    "scanpst.exe) and run again, or save them by hand from your mail program.")
    return "\n".join(tips)
