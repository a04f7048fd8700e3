"""`migrate status`'s lines (a journal.status.StatusView), without connecting."""

from __future__ import annotations

from migrator.domain.units import human_bytes
from migrator.journal.status import JOURNAL_STATUSES, StatusView


def render_status(view: StatusView) -> str:
    """target, source, one line per journal status, then what is stored changed and what the
    last run left over quota."""
    out = [f"target: {view.target}", f"source: {view.source.replace(chr(10), ', ')}"]
    out += [f"{k}: {view.by_status.get(k, 0):,}" for k in JOURNAL_STATUSES]
    if view.changed:
        out.append(f"stored changed by the server: {view.changed:,} (of done: NUL bytes the server returns as 0x80)")
    last = view.last_run
    if last is not None and last.over_quota:
        out.append(f"not uploaded: over quota: {last.over_quota:,} message(s), {human_bytes(last.over_quota_bytes)} "
                   f"left after the last run (which uploaded {last.uploaded:,}, {human_bytes(last.uploaded_bytes)}); "
                   "raise the quota and run again, or see `migrate plan` for a --since that fits")
    return "\n".join(out)
