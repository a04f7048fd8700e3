"""Rendering: tqdm bars on stderr, results on stdout (tables for people, `--json` for machines).

Flows never print; they return models and emit events (domain/events.py) that Progress renders.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime

from pydantic import BaseModel

from migrator.domain.events import Event, MessageSettled, Paused, PhaseStarted, Totals
from migrator.domain.i18n import N_, _, ngettext, pgettext
from migrator.domain.models import ArchiveReport, Plan, Problem, RunStats, VerifyReport
from migrator.domain.units import count, human_bytes
from migrator.render.bars import SizedBar, open_bar, show
from migrator.render.width import table


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
# TRANSLATORS: the end of a sentence built from pieces (Japanese: 。)
FULL_STOP = N_(".")


def paused_line(event: Paused) -> str:
    """The line `run` prints when the provider's daily upload cap makes it wait."""
    return "\nmigrate: " + _(
        "the provider's daily upload cap is reached ({size} in 24 hours); waiting until {until} to carry on. "
        "Ctrl-C stops; run the same command again later to continue.").format(
        size=human_bytes(event.sent), until=f"{datetime.fromtimestamp(event.until):%Y-%m-%d %H:%M}")


def render_plan(plan: Plan, unicode: bool | None = None) -> str:
    """Folders table, the picture by year, the quota verdict with what to do, what stays local."""
    from migrator.flows.quota import quota_lines
    from migrator.render.charts import year_chart

    if unicode is None:
        unicode = (getattr(sys.stdout, "encoding", "") or "").lower().replace("-", "").startswith("utf")
    rows = []
    for f in plan.folders:
        why = [f"{n:,} " + _(r) for r, n in f.skipped.items()]  # reasons: English keys (N_), shown translated
        why += [_("{n} filtered: {reason}").format(n=count(n), reason=_(r)) for r, n in f.filtered_reasons.items()]
        if f.unreadable:
            why.append(_("{n} unreadable").format(n=count(f.unreadable)))
        if f.too_big:
            why.append(_("{n} too big for the server").format(n=count(f.too_big)))
        if f.unchanged:
            why.append(_("unchanged since the last run"))
        rows.append([f.source, f.target, f"{f.messages:,}", human_bytes(f.bytes), f"{f.to_upload:,}",
                     f"{f.already:,}", f"{f.duplicates:,}", f"{f.filtered:,}", f"{sum(f.skipped.values()):,}",
                     "; ".join(why)])
    t = plan.totals
    rows.append([_("TOTAL"), "", f"{t.messages:,}", human_bytes(t.bytes), f"{t.to_upload:,}", f"{t.already:,}",
                 f"{t.duplicates:,}", f"{t.filtered:,}", f"{t.skipped:,}",
                 _("{n} unreadable").format(n=count(t.unreadable)) if t.unreadable else ""])
    from migrator.render.width import table_limit

    notes = [f"  {r[0]}: {r[9]}" for r in rows if r[9]] if table_limit() is not None else []
    heads = [_("source folder"), _("target folder"), pgettext("column", "messages"), _("size"), _("to upload"),
             _("already there"), _("duplicates"), _("filtered"), _("skipped"), _("why")]
    if notes:  # narrow: the reasons go under the table, whole, instead of a column cut to fit
        heads, rows = heads[:9], [r[:9] for r in rows]
    out = [_("Plan for {target} (dry run: nothing is written)").format(target=plan.target), "",
           table(heads, rows, right={2, 3, 4, 5, 6, 7, 8})]
    if notes:
        out += ["", _("Why:"), *notes]
    out.append("")
    out.append(_("To upload: {n} messages, {size}.").format(n=f"{t.to_upload:,}", size=human_bytes(t.upload_bytes)))
    renamed = [f for f in plan.folders if f.renamed]
    if renamed:
        out += ["", _("Folder names changed for the server (source -> target (why)):")]
        out += [f"  {f.source} -> {f.target} ({f.renamed})" for f in renamed]
    chart = year_chart(plan, unicode=unicode)
    if chart:
        out += ["", chart, ""]
    q = plan.quota
    out += quota_lines(q)
    if q.suggested_kept_local and q.fits is not True:
        folders: dict[str, dict[str, object]] = q.suggested_kept_local.get("folders", {})  # type: ignore[assignment]
        out += ["", _("With --since {day} these stay on this computer:").format(day=q.suggested_since),
                table([_("source folder"), pgettext("column", "messages"), _("size"), _("from"), _("to")],
                      [[name, f"{int(k['messages']):,}", human_bytes(int(k['bytes'])),  # type: ignore[call-overload]
                        str(k.get("oldest") or ""), str(k.get("newest") or "")] for name, k in folders.items()],
                      right={1, 2})]
    others = [o for o in q.options if not o.flags.startswith("--since")] if q.fits is not True else []
    if others:
        out += ["", _("Other diets:")]
        for o in others:
            verdict = _("fits") if o.fits else _("still too much")
            out.append("  " + _("{flags}: {what}; uploads {size} ({verdict}), {n} messages ({kept}) stay local").format(
                flags=o.flags, what=o.what, size=human_bytes(o.needed), verdict=verdict, n=f"{o.kept_messages:,}",
                kept=human_bytes(o.kept_bytes)))
    if plan.kept_local:
        out += ["", _("Kept local by the filters: {n} messages, {size} (`migrate run` records them in its ledger; "
                      "`migrate archive` writes them out).").format(
            n=f"{int(plan.kept_local['messages']):,}",  # type: ignore[call-overload]
            size=human_bytes(int(plan.kept_local['bytes'])))]  # type: ignore[call-overload]
    if plan.too_big:
        out += ["", _("Too large for the server ({size} at most): these would be refused:").format(
            size=human_bytes(plan.max_message_bytes))]
        for m in plan.too_big[:20]:
            out.append(f"  {m.folder}: {m.locator} {m.subject!r} {m.date} ({human_bytes(m.size)})")
        if len(plan.too_big) > 20:
            out.append("  " + _("... and {n} more (see --json or --report)").format(n=count(len(plan.too_big) - 20)))
    if plan.at_risk:
        how = {True: _("the server offers BINARY (RFC 3516): they go as literal8 and arrive exactly"),
               False: _("the server offers no BINARY (RFC 3516): it will store them changed (NUL returned as 0x80); "
                        "run and verify report them as \"stored changed by the server\", never as verified"),
               None: _("whether they arrive exactly depends on the server offering BINARY (RFC 3516)"),
               }[plan.at_risk_binary]
        out += ["", _("Holding NUL bytes, which a plain IMAP literal cannot carry: {n} message(s); {how}:").format(
            n=count(plan.at_risk), how=how)]
        for m in plan.at_risk_messages[:20]:
            out.append(f"  {m.folder}: {m.locator} {m.subject!r} {m.date} ({human_bytes(m.size)})")
        if plan.at_risk > 20:
            out.append("  " + _("... and {n} more (see --json or --report)").format(n=count(plan.at_risk - 20)))
    if plan.warnings:
        out.append("")
    for w in plan.warnings:
        out.append(_("Note: {text}").format(text=w))
    return "\n".join(out)


def render_archive(report: ArchiveReport) -> str:
    """`migrate archive`'s result for the terminal: per folder where it was written, messages, size
    and date range, then the totals."""
    rows = [[f.source, f.path, f"{f.messages:,}", human_bytes(f.bytes), f.oldest or "", f.newest or ""]
            for f in report.folders]
    out = [table([_("source folder"), _("written to"), pgettext("column", "messages"), _("size"), _("from"),
                  _("to")], rows, right={2, 3})] if rows else []
    span = " ".join(x for x in (_("from {day}").format(day=report.since) if report.since else "",
                                _("before {day}").format(day=report.until) if report.until else "") if x)
    out += ["", _("Archived {n} messages ({size}) dated {span} to {path} ({format}); the source was only read.").format(
                n=f"{report.messages:,}", size=human_bytes(report.bytes), span=span, path=report.to,
                format=report.format),
            _("Not archived: {n} in the upload range, {skipped} skipped (deleted in the source).").format(
                n=f"{report.in_upload_range:,}", skipped=f"{report.skipped:,}")]
    if report.unreadable:
        out.append(_("{n} message(s) could not be read and are NOT in the archive:").format(
            n=count(len(report.unreadable))))
        out += [f"  ! {u}" for u in report.unreadable[:50]]
    elif report.format == "mbox":
        out.append(_("Thunderbird: copy the folders into the Local Folders directory (or use the ImportExportTools "
                     "add-on) while Thunderbird is closed."))
    out += [_("Warning: {text}").format(text=w) for w in report.warnings]
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
    heads = ([_("source folder"), _("target folder"), _("in scope"), _("uploaded"), _("already there"),
              _("duplicates"), _("failed")] + ([_("over quota")] if quota else []) + [_("skipped"), _("filtered")])
    out = [table(heads, rows, right=set(range(2, len(heads))))] if rows else []
    out.append("")
    out.append(
        _("In scope: {n} = uploaded {uploaded} + already on target {already} + duplicates {duplicates} "
          "+ failed {failed}").format(
              n=count(stats.in_scope), uploaded=count(stats.uploaded), already=count(stats.already),
                                      duplicates=count(stats.duplicates), failed=count(stats.failed))
        + (" + " + _("not uploaded (over quota) {n}").format(n=count(stats.over_quota)) if quota else "")
        + ("" if stats.adds_up else "  " + _("(DOES NOT ADD UP: please report)"))
    )
    if quota:
        out.append(_("Not uploaded: over quota: {n} message(s), {size} left; {uploaded} message(s), {uploaded_size} "
                     "went up.").format(n=count(stats.over_quota), size=human_bytes(stats.over_quota_bytes),
                                        uploaded=count(stats.uploaded),
                                        uploaded_size=human_bytes(stats.uploaded_bytes)))
    if stats.changed:
        out.append(_("Stored changed by the server: {n} of the {uploaded} uploaded and {already} already on the "
                     "target (it offers no BINARY, RFC 3516: their NUL bytes come back as 0x80; a re-run would store "
                     "them the same way; the source keeps the original):").format(
            n=count(stats.changed), uploaded=count(stats.uploaded), already=count(stats.already)))
        out.extend(f"  * {m}" for m in stats.changed_messages[:20])
        if stats.changed > 20:
            out.append("  " + _("... and {n} more (`migrate verify --list`)").format(n=count(stats.changed - 20)))
    out.append(_("Not in scope: skipped {skipped}, filtered {filtered}.").format(skipped=count(stats.skipped),
                                                                                filtered=count(stats.filtered)))
    rate = stats.uploaded / stats.seconds if stats.seconds > 0 else 0.0
    out.append(_("Uploaded {size} in {seconds} s ({rate} messages/s).").format(
        size=human_bytes(stats.uploaded_bytes), seconds=f"{stats.seconds:,.1f}", rate=f"{rate:,.1f}"))
    for w in stats.warnings[:20]:
        out.append(_("Warning: {text}").format(text=w))
    if len(stats.warnings) > 20:
        out.append(_("... and {n} more warnings (see --json)").format(n=count(len(stats.warnings) - 20)))
    if stats.recovered_intents:
        out.append(_("Recovered {n} message(s) an interrupted run had already sent.").format(
            n=count(stats.recovered_intents)))
    if stats.reconnects:
        out.append(_("Recovered from {n} dropped connection(s): reconnected and carried on.").format(
            n=count(stats.reconnects)))
    if stats.failures:
        out.append("")
        out.append(_("{n} message(s) failed:").format(n=count(len(stats.failures))))
        for f in stats.failures[:50]:
            where = " " + _("(kept as {path})").format(path=f.quarantine) if f.quarantine else ""
            out.append(f"  ! {f.target}: {f.locator}: {f.reason}{where}")
        if len(stats.failures) > 50:
            out.append("  " + _("... and {n} more (see the quarantine folder's failures.log)").format(
                n=count(len(stats.failures) - 50)))
    if stats.interrupted:
        out.append(_("Interrupted: {left}.").format(left=left_text(stats.to_go, stats.left_bytes,
                                                                     stats.over_quota_bytes)))
    elif quota:
        out.append(_("Not done: the server is over quota (see the hint below): {left}; run the same command again "
                     "once there is room.").format(left=left_text(stats.to_go, stats.left_bytes, stats.over_quota_bytes,
                                                                  again=False)))
    elif not stats.failures:
        out.append(_("Done. Next: `migrate verify` with the same arguments."))
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
    what = what or _("(no subject)")
    return f"{p.sign} {p.target}: {what}{where} {p.detail}"


def render_verify(report: VerifyReport, list_mode: bool | None = None) -> str:
    """list_mode None: the problems; True: every message (= + ~ too); False: folders and totals only."""
    changed = bool(report.changed)  # its column only when there is something in it
    rows = [[f.source, f.target, count(f.expected), count(f.present), count(f.missing), count(f.different)]
            + ([count(f.changed)] if changed else [])
            + [count(f.new_in_source), count(f.failed_upload), count(f.kept_local), count(f.extra), count(f.filtered)]
            + ([_("checked earlier") if f.reused else ""] if report.reused_folders else []) for f in report.folders]
    how = (" " + _("(content compared)") if report.deep and report.sample is None else
           " " + _("(content of {percent}% compared)").format(percent=f"{report.sample:g}") if report.sample else "")
    out = [_("Verify {target}").format(target=report.target) + how, ""]
    out.append(table([_("source folder"), _("target folder"), _("expected"), _("present"), _("missing"),
                      _("different")]
                     + ([_("changed by the server")] if changed else [])
                     + [_("new in source"), _("failed"), _("kept local"), _("extra on server"), _("filtered")]
                     + ([""] if report.reused_folders else []), rows,
                     right=set(range(2, 11 + changed))))
    shown = [p for p in report.problems if list_mode or p.sign in PROBLEM_SIGNS or p.kind == "copy"] \
        if list_mode is not False else []
    if shown:
        out.append("")
        cap = len(shown) if list_mode else LIST_CAP
        out.extend(problem_line(p) for p in shown[:cap])
        if len(shown) > cap:
            out.append(_("... and {n} more (--json or --report FILE.html list them all)").format(
                n=count(len(shown) - cap)))
    r = report
    out.append("")
    out.append(_("Expected on the server: {n} = present {present} + missing {missing} + different {different}").format(
        n=count(r.expected), present=count(r.present), missing=count(r.missing), different=count(r.different))
        + (" + " + _("stored changed by the server {n}").format(n=count(r.changed)) if r.changed else "")
        + " + " + _("new in the source {n}").format(n=count(r.new_in_source))
        + " + " + _("failed {n}").format(n=count(r.failed_upload))
        + (" + " + _("left local on purpose {n}").format(n=count(r.kept_local)) if r.kept_local else "") + _(FULL_STOP))
    if r.changed:
        out.append(_("Stored changed by the server: {n} (on the server, not with the bytes sent: never counted as "
                     "verified).").format(n=count(r.changed)))
    out.append(_("Also on the server: {n} not from this migration").format(n=count(r.extra))
               + (", " + _("{n} uploaded earlier but no longer in the source").format(n=count(r.gone_from_source))
                  if r.gone_from_source else "")
               + (", " + _("{n} duplicate(s): second copies of migrated messages (a second writer or a lost "
                           "journal)").format(n=count(r.copies)) if r.copies else "")
               + _(FULL_STOP))
    out.append(_("Not in scope: filtered {filtered}, skipped {skipped}; exact duplicates uploaded once: "
                 "{duplicates}.").format(
                     filtered=count(r.filtered), skipped=count(r.skipped), duplicates=count(r.duplicates)))
    if r.deep:
        out.append(_("Compared byte for byte (with flags and date): {n} message(s).").format(n=count(r.deep_checked)))
    else:
        out.append(_("Checked by the UID recorded at upload, else Message-ID and size (--deep compares the content)."))
        if r.deep_checked:
            out.append(_("Content compared for {n} message(s) whose bytes are at risk (NUL bytes): always.").format(
                n=count(r.deep_checked)))
    if r.date_sources and (list_mode or r.date_sources.get("fallback") or r.date_sources.get("mtime")):
        out.append(_("Dates (INTERNALDATE) taken from: {sources} (docs/concepts.md, \"Dates and flags\").").format(
            sources=", ".join((source or _("unknown")) + f" {n}"
                              for source, n in sorted(r.date_sources.items(), key=lambda x: -x[1]))))
    if r.reused_folders:
        out.append(_("{n} folder(s) unchanged since an earlier verify proved them: not fetched again "
                     "(--fresh checks them anyway).").format(n=count(r.reused_folders)))
    out += [_("Warning: {text}").format(text=w) for w in r.warnings]
    out.append("")
    out.append(verdict(report))
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
        _("Next steps (the parallel run):"),
        *("  " + line for line in _(
            "1. Keep the POP account in your mail program, but stop it from downloading new mail, and make\n"
            "   sure it never deletes mail from the POP server (\"leave a copy on the server\", no \"remove after\n"
            "   N days\").\n"
            "2. Use the new IMAP account for some days next to the old one.\n"
            "3. Run `migrate run` and then `migrate verify` again, with the same arguments: they bring over what\n"
            "   arrived meanwhile and prove it.\n"
            "4. Only then remove the POP account. Keep the backup (the .pst export or a copy of the profile)."
        ).split("\n")),
    ]
    if report.kept_local:
        steps.append("  " + _("Note: {n} message(s) were left on this computer on purpose (--since/--max-size): "
                              "they are only in that backup.").format(n=count(report.kept_local)))
    return steps


def verdict(report: VerifyReport) -> str:
    """The verify verdict for the terminal: VERIFIED and the next steps of the cutover, or NOT VERIFIED
    with what is missing or different and what to do. An interrupted verify proved only part: it is
    never VERIFIED, it says what was checked and what is left (`verify_stopped`)."""
    r = report
    if r.interrupted:
        return verify_stopped(r)
    if r.ok:
        how = (" " + _("(content compared)") if r.deep and r.sample is None else
               " " + _("(content of {percent}% compared)").format(percent=f"{r.sample:g}") if r.sample else "")
        head = _("VERIFIED: all {n} message(s) in scope are on the server").format(
            n=count(r.expected)) + how + _(FULL_STOP)
        return "\n".join([head, *next_steps(report)])
    tips = [_("NOT VERIFIED: do not remove the POP account yet.")]
    full = bool(r.quota_limit and r.quota_used is not None and r.quota_used >= 0.95 * r.quota_limit)
    if r.new_in_source:
        tips.append("  - " + _("{n} new message(s) in the source not yet migrated (the old account kept receiving): "
                               "run `migrate run` again, then `migrate verify`.").format(n=count(r.new_in_source)))
    if r.missing:
        tips.append("  - " + _("{n} message(s) missing on the server: run `migrate run` again (it uploads exactly "
                               "those), then `migrate verify`.").format(n=count(r.missing)))
    if full and (r.missing or r.new_in_source or r.failed_upload):
        tips.append("  - " + _("The account is full ({used} of {limit}): raise the quota or free space on the "
                               "server, or keep older mail local with --since DATE (see `migrate plan`), then run "
                               "again.").format(used=human_bytes(r.quota_used), limit=human_bytes(r.quota_limit)))
    if r.changed:
        tips.append("  - " + _("{n} message(s) stored changed by the server (see the lines marked * \"stored "
                               "changed\"): it cannot keep some of their bytes (NUL, RFC 3516 BINARY not offered or "
                               "not kept), so running again would store them the same way. The source keeps the "
                               "originals: keep it as their exact copy.").format(n=count(r.changed)))
    if r.different:
        tips.append("  - " + _("{n} message(s) differ on the server (see the lines marked *): the source keeps the "
                               "original; delete the damaged copy in your mail program and run `migrate run` again, "
                               "or keep it if the difference is harmless (e.g. flags you changed in the new "
                               "account).").format(n=count(r.different)))
    refused = sum(1 for p in r.problems if p.kind == "failed")
    unreadable = sum(1 for p in r.problems if p.kind == "unreadable")
    if refused:
        where = " " + _("(kept as .eml files in {path})").format(path=r.quarantine) if r.quarantine else ""
        tips.append("  - " + _("{n} message(s) the server refused{where}: fix the cause shown (size limit, quota) "
                               "and run again, or import those .eml files by hand with your mail program.").format(
            n=count(refused), where=where))
    if unreadable:
        tips.append("  - " + _("{n} message(s) could not be read from the source: repair the store (Outlook: "
                               "scanpst.exe) and run again, or save them by hand from your mail program.").format(
            n=count(unreadable)))
    return "\n".join(tips)
