"""`migrate batch status`: where every mailbox of the manifest stands, from the board alone.

The numbers come from the runs' events (batch/job.Progress folds them into the board while a
job runs), never from parsing output. `--json` is `BatchStatus.model_dump()`:
`{"mailboxes": [{"line", "source", "target", "state", "uploaded", "left", "bytes", "eta_s"}],
"totals": {...}}`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from migrator.batch.board import Board, Job, JobStateName
from migrator.batch.manifest import Manifest, RowError

STATES: tuple[JobStateName, ...] = ("queued", "running", "done", "failed", "over_quota")


class MailboxStatus(BaseModel):
    """One mailbox: its manifest line, source, target, state; uploaded messages (all runs), messages
    left in the current run (None: not counted yet), bytes uploaded in the current run, seconds
    to go (None: unknown). `reason`: why it failed or waits (text output only, not in --json)."""

    line: int
    source: str
    target: str
    state: JobStateName
    uploaded: int
    left: int | None
    bytes: int
    eta_s: float | None
    reason: str | None = Field(default=None, exclude=True)


class Totals(BaseModel):
    """The whole batch: mailboxes per state, their sums, the longest ETA of those running (the
    batch ends with its slowest mailbox), and the manifest rows that cannot run."""

    mailboxes: int = 0
    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    over_quota: int = 0
    uploaded: int = 0
    left: int | None = 0
    bytes: int = 0
    eta_s: float | None = None
    bad_rows: int = 0


class BatchStatus(BaseModel):
    """`migrate batch status`'s result. `errors`: the bad rows (text output only)."""

    mailboxes: list[MailboxStatus]
    totals: Totals
    errors: list[RowError] = Field(default_factory=list, exclude=True)

    @property
    def all_done(self) -> bool:
        """Every mailbox done and no bad row."""
        return not self.errors and all(m.state == "done" for m in self.mailboxes)


def mailbox_status(job: Job | None, line: int, source: str, target: str) -> MailboxStatus:
    """A board record as a status line (a row never queued is `queued` with nothing done)."""
    if job is None:
        return MailboxStatus(line=line, source=source, target=target, state="queued", uploaded=0, left=None,
                             bytes=0, eta_s=None, reason="not queued yet")
    return MailboxStatus(line=line, source=source, target=target, state=job.state, uploaded=job.uploaded,
                         left=job.left, bytes=job.bytes, eta_s=job.eta_s, reason=job.reason)


def batch_status(board: Board, manifest: Manifest) -> BatchStatus:
    """The status of every good row of `manifest` on `board`, in manifest order, with totals."""
    jobs = board.jobs()
    boxes = [mailbox_status(jobs.get(r.job_id), r.line, r.source, r.target) for r in manifest.rows]
    totals = Totals(mailboxes=len(boxes), bad_rows=len(manifest.errors))
    for m in boxes:
        setattr(totals, m.state, getattr(totals, m.state) + 1)
        totals.uploaded += m.uploaded
        totals.bytes += m.bytes
    lefts = [m.left for m in boxes]
    totals.left = None if any(v is None for v in lefts) else sum(v for v in lefts if v is not None)
    etas = [m.eta_s for m in boxes if m.state == "running"]
    if totals.queued == 0 and totals.running == 0:
        totals.eta_s = 0.0
    elif etas and all(e is not None for e in etas) and totals.queued == 0:
        totals.eta_s = max(e for e in etas if e is not None)
    return BatchStatus(mailboxes=boxes, totals=totals, errors=manifest.errors)
