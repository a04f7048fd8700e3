"""The proof: every in-scope source message is on the server, folder by folder.

Read-only on the server (EXAMINE, FETCH with BODY.PEEK) and on the source. It writes to the
state only to note which uploaded messages have vanished from the server, so that the next
`run` uploads them again.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from migrator.identity import fingerprint, to_crlf
from migrator.models import FolderVerify, Problem, VerifyReport
from migrator.plan import DUPLICATE, FILTERED, SKIPPED, UNREADABLE, Scanner, subject_of
from migrator.state import State
from migrator.target.imap import ImapTarget


@dataclass
class Expected:
    fingerprint: str
    message_id: str | None
    size: int
    locator: str
    subject: str
    date: str
    flags: frozenset[str]
    source: str
    in_state: str | None  # status of its state row, None when never attempted


def _problem(sign: str, e: Expected, target: str, detail: str) -> Problem:
    return Problem(sign=sign, folder=e.source, target=target, locator=e.locator, message_id=e.message_id,
                   subject=e.subject, date=e.date, detail=detail)


def verify(scanner: Scanner, state: State, *, deep: bool = False, sample: float | None = None,
           on_message: Callable[[int], None] | None = None, seed: int = 0) -> VerifyReport:
    target = scanner.target
    assert target is not None
    report = VerifyReport(target=target.cfg.url, deep=deep or sample is not None)
    has_history = bool(state.counts())
    rng = random.Random(seed)
    expected_by_target: dict[str, list[Expected]] = defaultdict(list)
    fv_by_target: dict[str, FolderVerify] = {}
    for entry in scanner.entries():
        fv = fv_by_target.setdefault(entry.target, FolderVerify(source=entry.folder.display, target=entry.target))
        if entry.folder.display not in fv.source.split(", "):
            fv.source += ", " + entry.folder.display
        for s in scanner.scan(entry):
            if on_message:
                on_message(s.size)
            if s.fate == SKIPPED:
                fv.skipped += 1
                continue
            if s.fate == FILTERED:
                fv.filtered += 1
                continue
            if s.fate == DUPLICATE:
                fv.duplicates += 1
                continue
            rec = s.record
            if s.fate == UNREADABLE:
                fv.expected += 1
                fv.failed_upload += 1
                report.problems.append(Problem(sign="!", folder=rec.folder.display, target=entry.target,
                                               locator=rec.locator, detail=s.reason or "unreadable"))
                continue
            row = state.lookup(entry.target, s.fingerprint)
            expected_by_target[entry.target].append(Expected(
                s.fingerprint, s.message_id, len(s.wire), rec.locator, subject_of(rec), rec.date.isoformat(),
                rec.flags, rec.folder.display, row.status if row else None,
            ))
    missing_ids: list[int] = []
    for name, fv in fv_by_target.items():
        _check_folder(target, state, name, expected_by_target.get(name, []), fv, report, deep,
                      sample, rng, has_history, missing_ids)
        report.folders.append(fv)
    if missing_ids:
        state.mark_missing(missing_ids)
        state.forget_source_folders({f.target for f in report.folders if f.missing})
    for f in report.folders:
        for attr in ("expected", "present", "missing", "different", "extra", "new_in_source", "failed_upload",
                     "filtered", "skipped", "duplicates"):
            setattr(report, attr, getattr(report, attr) + getattr(f, attr))
    return report


def _check_folder(target: ImapTarget, state: State, name: str, expected: list[Expected], fv: FolderVerify,
                  report: VerifyReport, deep: bool, sample: float | None, rng: random.Random,
                  has_history: bool, missing_ids: list[int]) -> None:
    fv.expected += len(expected)
    if name not in target.known_folders():
        server: dict[int, tuple[str | None, int]] = {}
        uidvalidity = None
    else:
        st = target.examine(name)
        uidvalidity = st.uidvalidity
        server = {m.uid: (m.message_id, m.size) for m in target.index(name)}
    rows = {r.fingerprint: r for r in state.rows(target=name)}
    by_mid: dict[tuple[str, int], list[int]] = defaultdict(list)
    for uid, (mid, size) in server.items():
        if mid:
            by_mid[(mid, size)].append(uid)
    claimed: set[int] = set()
    matched: list[tuple[Expected, int]] = []
    unmatched: list[Expected] = []
    for e in expected:
        row = rows.get(e.fingerprint)
        uid = None
        if row is not None and row.uid is not None and row.uidvalidity == uidvalidity and row.uid in server \
                and row.uid not in claimed and server[row.uid][1] == e.size:
            uid = row.uid
        elif e.message_id:
            for cand in by_mid.get((e.message_id, e.size), []):
                if cand not in claimed:
                    uid = cand
                    break
        if uid is None:
            unmatched.append(e)
        else:
            claimed.add(uid)
            matched.append((e, uid))
    if unmatched and any(e.message_id is None for e in unmatched):
        pool = [u for u, (mid, _s) in server.items() if u not in claimed and mid is None]
        by_fp: dict[str, list[int]] = defaultdict(list)
        for uid, raw, _f, _d, _s in target.fetch_messages(pool, body=True, chunk=100):
            by_fp[fingerprint(to_crlf(raw))].append(uid)
        still = []
        for e in unmatched:
            uids = by_fp.get(e.fingerprint) if e.message_id is None else None
            if uids:
                uid = uids.pop(0)
                claimed.add(uid)
                matched.append((e, uid))
            else:
                still.append(e)
        unmatched = still
    fv.present = len(matched)
    for e in unmatched:
        row = rows.get(e.fingerprint)
        if row is not None and row.status == "failed":
            fv.failed_upload += 1
            report.problems.append(_problem("!", e, name, f"the server refused it: {row.error}"
                                            + (f" (kept in {row.quarantine})" if row.quarantine else "")))
        elif row is None and has_history:
            fv.new_in_source += 1
            report.problems.append(_problem("-", e, name, "new in the source since the last run: not migrated yet"))
        else:
            fv.missing += 1
            report.problems.append(_problem("-", e, name, "missing on the server"))
            if row is not None and row.status == "done":
                missing_ids.append(row.id)
    fv.extra = len(set(server) - claimed)
    if deep or sample is not None:
        chosen = [m for m in matched if sample is None or rng.random() * 100 < sample]
        _deep_check(target, name, chosen, fv, report)


def _deep_check(target: ImapTarget, name: str, matched: list[tuple[Expected, int]], fv: FolderVerify,
                report: VerifyReport) -> None:
    by_uid = {uid: e for e, uid in matched}
    for uid, raw, flags, date, _size in target.fetch_messages(sorted(by_uid), body=True, chunk=100):
        e = by_uid[uid]
        problems = []
        if fingerprint(to_crlf(raw)) != e.fingerprint:
            problems.append("content differs")
        want = {f.lower() for f in e.flags if f.startswith("\\")}
        have = {f.lower() for f in flags if f.startswith("\\") and f.lower() != "\\recent"}
        if not want <= have:
            problems.append(f"flags {sorted(have)} instead of {sorted(want)}")
        if date is not None and abs(date.timestamp() - _ts(e.date)) > 1:
            problems.append(f"INTERNALDATE {date.isoformat()} instead of {e.date}")
        if problems:
            fv.different += 1
            fv.present -= 1
            report.problems.append(_problem("*", e, name, "; ".join(problems)))


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
