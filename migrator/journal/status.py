"""What `migrate status` shows, read from a journal without connecting: the one query API for it
(cli.py holds no SQL).

`StatusView.read(path)` opens the journal read-only (State.inspect: whoever it belongs to) and
returns the figures; migrator.render.status turns them into lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from migrator.domain.counts import Counts
from migrator.journal.state import State

JOURNAL_STATUSES = ("done", "intent", "failed", "missing")  # the messages table's status values, in order


@dataclass(frozen=True)
class StatusView:
    """A journal's progress. by_status: message rows per journal status (done, intent, failed,
    missing; 0 when none); changed: of done, stored changed by the server; last_run: the counts
    the last `run` left (uploaded, over_quota with bytes), None before any run finished."""

    source: str
    target: str
    by_status: dict[str, int] = field(default_factory=dict)
    changed: int = 0
    last_run: Counts | None = None

    @classmethod
    def read(cls, path: Path) -> StatusView:
        """Read `path` (a state database). Raises StateCorrupt (exit 5) for a damaged file,
        StateError when it cannot be opened."""
        with State.inspect(path) as state:
            counts = state.counts()
            last = state.last_run()
            return cls(
                source=state.meta("source") or "",
                target=state.meta("target") or "",
                by_status={k: int(counts.get(k, 0)) for k in JOURNAL_STATUSES},
                changed=state.changed_count(),
                last_run=Counts(uploaded=int(last.get("uploaded") or 0),
                                uploaded_bytes=int(last.get("uploaded_bytes") or 0),
                                over_quota=int(last.get("over_quota") or 0),
                                over_quota_bytes=int(last.get("over_quota_bytes") or 0))
                if last else None,
            )
