"""`migrate batch`'s tables: the plan of a manifest, the status of a batch, the verify summary."""

from __future__ import annotations

from typing import Any

from migrator.batch.manifest import RowError
from migrator.batch.status import BatchStatus
from migrator.domain.i18n import N_, _, language, ngettext
from migrator.domain.units import count, human_bytes
from migrator.render.width import table


def _short(text: str, width: int = 34) -> str:
    """`text` cut to `width` characters from the left ("…" + its end: the end of a path tells most)."""
    return text if len(text) <= width else "…" + text[-(width - 1):]


def eta_text(seconds: float | None) -> str:
    """Seconds to go for people: "-" unknown, "12 s", "4 min", "2 h 05 min"."""
    if seconds is None:
        return "-"
    s = int(round(seconds))
    if s < 60:
        return _("{s} s").format(s=s)
    if s < 3600:
        return _("{m} min").format(m=s // 60)
    return _("{h} h {m} min").format(h=s // 3600, m=f"{s % 3600 // 60:02d}")


STATE_WORDS = {"queued": N_("queued"), "running": N_("running"), "done": N_("done"), "failed": N_("failed"),
               "over_quota": N_("over quota")}


def state_text(state: str) -> str:
    """A job state for people, in their language."""
    return _(STATE_WORDS.get(state, state))


def render_errors(errors: list[RowError]) -> list[str]:
    """One line per bad manifest row: `line N: why`."""
    return [_("line {line}: {reason}").format(line=e.line, reason=e.reason) for e in errors]


def render_batch_status(status: BatchStatus) -> str:
    """The per-mailbox table (line, state, uploaded, left, size, ETA, source -> target), the totals,
    the reasons of failed or waiting mailboxes and the bad rows."""
    rows = [[str(m.line), state_text(m.state), count(m.uploaded), "-" if m.left is None else count(m.left),
             human_bytes(m.bytes), eta_text(m.eta_s), _short(m.source), _short(m.target)] for m in status.mailboxes]
    out = [table([_("line"), _("state"), _("uploaded"), _("left"), _("size"), _("ETA"), _("source"), _("target")],
                 rows, right={0, 2, 3, 4})]
    t = status.totals
    out.append("")
    line = ngettext("{n} mailbox: done {done}, running {running}, queued {queued}, failed {failed}, over quota "
                    "{over}; uploaded {up}", "{n} mailboxes: done {done}, running {running}, queued {queued}, "
                    "failed {failed}, over quota {over}; uploaded {up}", t.mailboxes).format(
        n=t.mailboxes, done=t.done, running=t.running, queued=t.queued, failed=t.failed, over=t.over_quota,
        up=count(t.uploaded))
    if t.left is not None:
        line += _(", left {left}").format(left=count(t.left))
    if t.eta_s is not None and t.running:
        line += _(", ETA {eta}").format(eta=eta_text(t.eta_s))
    out.append(line)
    for m in status.mailboxes:
        if m.reason and m.state in ("failed", "over_quota"):
            out.append(_("line {line}: {state}: {reason}").format(line=m.line, state=state_text(m.state),
                                                                  reason=_(m.reason)))
    bad = render_errors(status.errors)
    if bad:
        out.append("")
        out.append(ngettext("{n} row of the manifest cannot run:", "{n} rows of the manifest cannot run:",
                            len(bad)).format(n=len(bad)))
        out += bad
    return "\n".join(out)


def render_batch_plan(lines: list[dict[str, Any]], errors: list[RowError]) -> str:
    """`batch plan`: one line per good row (line, kind, state, per-host limit, source -> target)
    and the bad rows."""
    rows = [[str(p["line"]), p["kind"], state_text(p["state"]) if p["state"] in STATE_WORDS else _("new"),
             p["limit"], _short(p["source"]), _short(p["target"])] for p in lines]
    out = [table([_("line"), _("kind"), _("state"), _("at once"), _("source"), _("target")], rows, right={0})]
    out.append("")
    out.append(ngettext("{n} mailbox ready.", "{n} mailboxes ready.", len(lines)).format(n=len(lines)))
    if errors:
        out.append(ngettext("{n} row cannot run:", "{n} rows cannot run:", len(errors)).format(n=len(errors)))
    out += render_errors(errors)
    return "\n".join(out)


def render_batch_verify(results: list[dict[str, Any]], errors: list[RowError]) -> str:
    """`batch verify`: one line per mailbox (line, verdict, messages found / in scope, target)."""
    rows = [[str(r["line"]), _("VERIFIED") if r["ok"] else _("NOT VERIFIED"),
             f"{count(r['found'])}/{count(r['in_scope'])}", _short(r["target"]), r.get("detail", "")]
            for r in results]
    out = [table([_("line"), _("verdict"), _("found"), _("target"), _("detail")], rows, right={0})]
    ok = sum(1 for r in results if r["ok"])
    out.append("")
    out.append(ngettext("{ok} of {n} mailbox verified.", "{ok} of {n} mailboxes verified.", len(results)).format(
        ok=ok, n=len(results)))
    out += render_errors(errors)
    return "\n".join(out)


def write_batch_report(results: list[dict[str, Any]], errors: list[RowError], path: Any, generated: str) -> None:
    """The batch verify report (`render/templates/batch.html`): one line per mailbox with a link to
    its own verify report (written beside it by the caller). Written atomically, private (0600)."""
    import os
    import tempfile
    from pathlib import Path

    from migrator.render.pages import Markup, render_page

    ok = sum(1 for r in results if r["ok"])
    all_ok = ok == len(results) and not errors
    verdict = (_("Every mailbox verified: every message in scope is on its server.") if all_ok
               else ngettext("{ok} of {n} mailbox verified; see the red lines.",
                             "{ok} of {n} mailboxes verified; see the red lines.", len(results)).format(
                   ok=ok, n=len(results)))
    page = render_page("batch.html", title=_("migrate batch verify"), css=Markup(""), results=results,
                       errors=errors, all_ok=all_ok, verdict=verdict, generated=generated, lang=language())
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
