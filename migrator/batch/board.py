"""The batch board: every mailbox job's state, its lease, the per-host slots and back-off.

One set of rules over two stores of JSON documents (the `Docs` protocol): journal/board.py's
SQLite file for one machine, batch/redisdocs.py's Redis for many. Each change is one atomic
read-modify-write of one document, so:

- a job is claimed by exactly one worker (`claim`: queued -> running, or a running job whose
  lease expired); the worker renews the lease while it works (`renew`, from a heartbeat thread);
  a worker that died (SIGKILL, a lost machine) stops renewing, and `reap` puts its job back in
  the queue once the lease has expired;
- an IMAP account is written by one job at a time (`take_account`), whichever machine runs it;
- at most `limit` jobs at once write to one host (`take_slot`), each slot a lease too;
- a host that throttled (`throttled`) slows every job writing to it (`backoff_until`).

Times are seconds since the epoch (UTC). States: queued, running, done, failed, over_quota.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel

from migrator.domain.i18n import N_

T = TypeVar("T")
Doc = dict[str, Any]
JobStateName = Literal["queued", "running", "done", "failed", "over_quota"]
ENDED: frozenset[str] = frozenset({"done", "failed", "over_quota"})


class Docs(Protocol):
    """A store of JSON documents by key with atomic read-modify-write (SqliteDocs, RedisDocs)."""

    def update(self, key: str, fn: Callable[[Doc | None], tuple[Doc | None, T]]) -> T:
        """Atomically replace the document at `key` by fn(current)[0] (None: unchanged); fn(...)[1] returned."""
        ...

    def get(self, key: str) -> Doc | None:
        """The document at `key`, or None."""
        ...

    def scan(self, prefix: str) -> dict[str, Doc]:
        """Every document whose key starts with `prefix`."""
        ...

    def dump(self) -> str:
        """All documents as text."""
        ...


class Job(BaseModel):
    """One mailbox job as the board keeps it (no secret: the reference stays in the manifest).

    uploaded: messages uploaded by the runs of this job; settled: messages settled in the current
    run (uploaded, already there, duplicates, failed); expected: messages in scope (None until
    the run's plan counted them); bytes: bytes uploaded (wire form); total_bytes: bytes the run
    planned to upload; started/finished/beat: epoch seconds; eta_s: seconds left (None: unknown)."""

    job: str
    line: int
    source: str
    target: str
    host: str
    state: JobStateName = "queued"
    owner: str | None = None
    lease_until: float = 0.0
    attempts: int = 0
    uploaded: int = 0
    settled: int = 0
    expected: int | None = None
    bytes: int = 0
    total_bytes: int | None = None
    started: float | None = None
    finished: float | None = None
    reason: str | None = None
    stats: dict[str, Any] | None = None

    @property
    def left(self) -> int | None:
        """Messages still to settle in this run (0 once done), None when not known."""
        if self.state == "done":
            return 0
        if self.expected is None:
            return None
        return max(0, self.expected - self.settled)

    @property
    def eta_s(self) -> float | None:
        """Seconds to go by the rule of three over this run's pace (0 when done; None when unknown)."""
        if self.state == "done":
            return 0.0
        if self.state != "running" or self.started is None:
            return None
        elapsed = max(0.0, time.time() - self.started)
        if self.total_bytes and self.bytes:
            return round(elapsed * max(0, self.total_bytes - self.bytes) / self.bytes, 1)
        left = self.left
        if left is not None and self.settled:
            return round(elapsed * left / self.settled, 1)
        return None


class Board:
    """The rules of the batch over a `Docs` store (see the module docstring)."""

    def __init__(self, docs: Docs) -> None:
        self.docs = docs

    # -- jobs ------------------------------------------------------------------------------------

    def job(self, job_id: str) -> Job | None:
        """The job's state, None when it was never queued."""
        doc = self.docs.get(f"job:{job_id}")
        return Job.model_validate(doc) if doc else None

    def jobs(self) -> dict[str, Job]:
        """Every job on the board, by id."""
        return {k.removeprefix("job:"): Job.model_validate(v) for k, v in self.docs.scan("job:").items()}

    def queue(self, job: Job, *, again: bool = False) -> bool:
        """Mark `job` queued unless it is done (`again`: done too) or running under a live lease.
        True when the caller should enqueue it."""
        now = time.time()

        def fn(doc: Doc | None) -> tuple[Doc | None, bool]:
            cur = Job.model_validate(doc) if doc else None
            if cur is not None and cur.state == "running" and cur.lease_until > now:
                return None, False
            if cur is not None and cur.state == "done" and not again:
                return None, False
            keep = cur.model_dump() if cur is not None else {}
            new = job.model_copy(update={"state": "queued", "owner": None, "lease_until": 0.0,
                                         "attempts": keep.get("attempts", 0), "uploaded": keep.get("uploaded", 0),
                                         "reason": None}).model_dump()
            return new, True

        return self.docs.update(f"job:{job.job}", fn)

    def claim(self, job_id: str, owner: str, lease: float) -> bool:
        """queued (or running with an expired lease) -> running for `owner` until now + `lease` s.
        False when the job is done, ended, or another live worker holds it."""
        now = time.time()

        def fn(doc: Doc | None) -> tuple[Doc | None, bool]:
            if doc is None:
                return None, False
            cur = Job.model_validate(doc)
            if cur.state == "queued" or (cur.state == "running" and cur.lease_until <= now):
                new = cur.model_copy(update={"state": "running", "owner": owner, "lease_until": now + lease,
                                             "attempts": cur.attempts + 1, "started": now, "settled": 0,
                                             "bytes": 0, "expected": None, "total_bytes": None, "finished": None,
                                             "reason": None})
                return new.model_dump(), True
            return None, False

        return self.docs.update(f"job:{job_id}", fn)

    def renew(self, job_id: str, owner: str, lease: float, progress: dict[str, Any] | None = None) -> bool:
        """Extend `owner`'s lease to now + `lease` s and note its progress; False when the job is no
        longer `owner`'s (the worker must stop: another took it over)."""
        now = time.time()

        def fn(doc: Doc | None) -> tuple[Doc | None, bool]:
            if doc is None or doc.get("owner") != owner or doc.get("state") != "running":
                return None, False
            return {**doc, **(progress or {}), "lease_until": now + lease}, True

        return self.docs.update(f"job:{job_id}", fn)

    def finish(self, job_id: str, owner: str, state: JobStateName, **fields: Any) -> bool:
        """`owner` ends its run: the job becomes `state` (queued: back in the queue, e.g. stopped or
        waiting for a slot) with `fields`. False when the job was no longer `owner`'s."""
        now = time.time()

        def fn(doc: Doc | None) -> tuple[Doc | None, bool]:
            if doc is None or doc.get("owner") != owner:
                return None, False
            ended = {"finished": now} if state in ENDED else {}
            return {**doc, **fields, **ended, "state": state, "owner": None, "lease_until": 0.0}, True

        return self.docs.update(f"job:{job_id}", fn)

    def reap(self) -> list[Job]:
        """Put every running job whose lease expired back in the queue; the jobs to enqueue again."""
        now = time.time()
        out: list[Job] = []
        for key, doc in self.docs.scan("job:").items():
            if doc.get("state") != "running" or float(doc.get("lease_until", 0)) > now:
                continue

            def fn(cur: Doc | None) -> tuple[Doc | None, Job | None]:
                if cur is None or cur.get("state") != "running" or float(cur.get("lease_until", 0)) > now:
                    return None, None
                new = {**cur, "state": "queued", "owner": None, "lease_until": 0.0,
                       "reason": N_("its worker stopped answering: queued again")}
                return new, Job.model_validate(new)

            job = self.docs.update(key, fn)
            if job is not None:
                out.append(job)
        return out

    # -- leases on accounts and host slots --------------------------------------------------------

    def take_account(self, account: str, owner: str, lease: float) -> bool:
        """The right to write to `account` (locks.account_key) for `lease` s; False when another
        live job holds it."""
        now = time.time()

        def fn(doc: Doc | None) -> tuple[Doc | None, bool]:
            if doc and doc.get("owner") not in (None, owner) and float(doc.get("until", 0)) > now:
                return None, False
            return {"owner": owner, "until": now + lease}, True

        return self.docs.update(f"account:{account}", fn)

    def take_slot(self, host: str, owner: str, limit: int | None, lease: float) -> bool:
        """One of the `limit` slots of `host` for `lease` s (None: no limit); False when all are held."""
        if limit is None:
            return True
        now = time.time()

        def fn(doc: Doc | None) -> tuple[Doc | None, bool]:
            held = {o: u for o, u in (doc or {}).get("held", {}).items() if float(u) > now}
            if owner not in held and len(held) >= limit:
                return None, False
            held[owner] = now + lease
            return {"held": held}, True

        return self.docs.update(f"slots:{host}", fn)

    def renew_leases(self, account: str, host: str, owner: str, lease: float) -> None:
        """Extend `owner`'s account lease and host slot (if held) to now + `lease` s."""
        now = time.time()

        def acc(doc: Doc | None) -> tuple[Doc | None, None]:
            if doc and doc.get("owner") == owner:
                return {"owner": owner, "until": now + lease}, None
            return None, None

        def slot(doc: Doc | None) -> tuple[Doc | None, None]:
            if doc and owner in doc.get("held", {}):
                return {"held": {**doc["held"], owner: now + lease}}, None
            return None, None

        self.docs.update(f"account:{account}", acc)
        self.docs.update(f"slots:{host}", slot)

    def release(self, account: str, host: str, owner: str) -> None:
        """Give back `owner`'s account lease and host slot."""

        def acc(doc: Doc | None) -> tuple[Doc | None, None]:
            if doc and doc.get("owner") == owner:
                return {"owner": None, "until": 0.0}, None
            return None, None

        def slot(doc: Doc | None) -> tuple[Doc | None, None]:
            if doc and owner in doc.get("held", {}):
                return {"held": {o: u for o, u in doc["held"].items() if o != owner}}, None
            return None, None

        self.docs.update(f"account:{account}", acc)
        self.docs.update(f"slots:{host}", slot)

    # -- shared back-off ---------------------------------------------------------------------------

    def throttled(self, host: str, seconds: float) -> None:
        """`host` asked to slow down: every job writing to it waits until now + `seconds`."""
        until = time.time() + seconds

        def fn(doc: Doc | None) -> tuple[Doc | None, None]:
            if doc and float(doc.get("until", 0)) >= until:
                return None, None
            return {"until": until}, None

        self.docs.update(f"backoff:{host}", fn)

    def backoff_until(self, host: str) -> float:
        """Until when (epoch seconds) jobs must not send to `host`; 0 when they may."""
        doc = self.docs.get(f"backoff:{host}")
        return float(doc.get("until", 0)) if doc else 0.0
