"""The plan: what goes where. `migrate plan` prints it; `migrate run` builds the same plan first,
then walks the same scan again to upload (sqlite-utils' "show me first" on one code path).

Writes nothing: the target is only read (LIST, STATUS, EXAMINE, GETQUOTAROOT), the state is
opened read-only by the caller.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from migrator.filters import Scope
from migrator.folders import TargetLayout, map_folders
from migrator.identity import fingerprint, to_crlf
from migrator.models import FolderPlan, Plan, QuotaInfo, Totals
from migrator.sources.base import Folder, MessageRecord, Source
from migrator.sources.common import header_value, message_id
from migrator.state import State
from migrator.target.imap import ImapTarget

QUOTA_MARGIN = 0.05  # keep 5% of the quota free: servers count a little more than the raw bytes

UPLOAD, ALREADY, DUPLICATE, SKIPPED, FILTERED, UNREADABLE = (
    "upload", "already", "duplicate", "skipped", "filtered", "unreadable")


@dataclass
class Entry:
    """A source folder with its target."""

    source: Source
    folder: Folder
    target: str
    excluded: bool = False

    @property
    def key(self) -> str:
        return f"{self.source.kind}:{self.source.root}:{self.folder.key}"


@dataclass(frozen=True)
class Work:
    token: str | None
    summary: dict[str, object] | None  # a settled earlier run: these messages are on the target
    start: int | None  # None: nothing to read; 0: read all; N: read from byte N (appended mail)


@dataclass
class Scanned:
    entry: Entry
    record: MessageRecord
    fate: str
    wire: bytes = b""
    fingerprint: str = ""
    message_id: str | None = None
    reason: str | None = None

    @property
    def size(self) -> int:
        return len(self.wire) if self.wire else self.record.size


@dataclass
class ServerIndex:
    """(Message-ID, size) of what a target folder already holds that our state does not explain."""

    counts: Counter[tuple[str, int]] = field(default_factory=Counter)

    def take(self, mid: str | None, size: int) -> bool:
        if mid is None or self.counts[(mid, size)] <= 0:
            return False
        self.counts[(mid, size)] -= 1
        return True


def build_index(target: ImapTarget, folder: str, state: State) -> ServerIndex:
    idx = ServerIndex()
    if folder not in target.known_folders():
        return idx
    ours_uid: set[int] = set()
    ours_nouid: Counter[tuple[str, int]] = Counter()
    uidvalidity, _ = state.folder(folder)
    for row in state.rows(target=folder, status="done"):
        if row.uid is not None and row.uidvalidity == uidvalidity:
            ours_uid.add(row.uid)
        elif row.message_id:
            ours_nouid[(row.message_id, row.size)] += 1
    for msg in target.index(folder):
        if msg.uid in ours_uid or msg.message_id is None:
            continue
        idx.counts[(msg.message_id, msg.size)] += 1
    idx.counts.subtract(ours_nouid)
    return idx


class Scanner:
    """Classifies every source message once per pass; shared by plan, run and verify."""

    def __init__(self, sources: list[Source], layout: TargetLayout, scope: Scope, state: State,
                 target: ImapTarget | None) -> None:
        self.sources = sources
        self.layout = layout
        self.scope = scope
        self.state = state
        self.target = target
        self._indexes: dict[str, ServerIndex] = {}
        self._seen: dict[str, set[bytes]] = {}

    def entries(self) -> list[Entry]:
        out: list[Entry] = []
        for source in self.sources:
            folders = source.folders()
            names = map_folders(folders, self.layout)
            for f in folders:
                target = names[f.key]
                out.append(Entry(source, f, target, excluded=not self.scope.folder_in_scope(f.display, target)))
        return out

    def token(self, entry: Entry) -> str | None:
        """Changes whenever the folder's content (or the scope) may have changed; None: unknown."""
        fn: Callable[[Folder], str | None] | None = getattr(entry.source, "token", None)
        base = fn(entry.folder) if fn else None
        if base is None:
            return None
        scope = repr((self.scope, entry.target)).encode()
        return base + "|" + hashlib.sha256(scope).hexdigest()[:16]

    def work(self, entry: Entry) -> Work:
        """What must be read of a folder: nothing (unchanged since a settled run), only what was
        appended (an mbox that grew), or everything. The token is taken *before* reading, so a
        message delivered during the scan makes the next run look again."""
        tok = self.token(entry)
        saved = self.state.source_folder(entry.key)
        if tok is None or saved is None:
            return Work(tok, None, 0)
        saved_token, summary = saved
        same_scope = saved_token.split("|")[-1] == tok.split("|")[-1] and summary.get("target") == entry.target
        if not same_scope:
            return Work(tok, None, 0)
        if saved_token == tok:
            return Work(tok, summary, None)
        resume_fn = getattr(entry.source, "resume_offset", None)
        info = summary.get("resume")
        if resume_fn is not None and isinstance(info, dict):
            start = resume_fn(entry.folder, info)
            if start:
                return Work(tok, summary, start)
        return Work(tok, None, 0)

    def records(self, entry: Entry, start: int) -> Iterator[MessageRecord]:
        if start:
            return entry.source.messages(entry.folder, start=start)  # type: ignore[call-arg]
        return entry.source.messages(entry.folder)

    def summary(self, entry: Entry, fp: FolderPlan, years: dict[str, list[int]]) -> dict[str, object]:
        """What to remember of a settled folder, for the next run's shortcut."""
        out: dict[str, object] = {**fp.model_dump(exclude={"source", "origin", "unchanged"}), "by_year": years,
                                  "target": entry.target}
        info_fn = getattr(entry.source, "resume_info", None)
        info = info_fn(entry.folder) if info_fn is not None else None
        if info:
            out["resume"] = info
        return out

    def server_index(self, folder: str) -> ServerIndex:
        if folder not in self._indexes:
            self._indexes[folder] = (
                build_index(self.target, folder, self.state) if self.target is not None else ServerIndex()
            )
        return self._indexes[folder]

    def forget_index(self, folder: str) -> None:
        self._indexes.pop(folder, None)

    def scan(self, entry: Entry, records: Iterator[MessageRecord] | None = None) -> Iterator[Scanned]:
        seen = self._seen.setdefault(entry.target, set())
        for rec in records if records is not None else entry.source.messages(entry.folder):
            if rec.error:
                yield Scanned(entry, rec, UNREADABLE, reason=rec.error)
                continue
            if rec.skip_reason:
                yield Scanned(entry, rec, SKIPPED, reason=rec.skip_reason)
                continue
            wire = to_crlf(rec.raw)
            if entry.excluded:
                yield Scanned(entry, rec, FILTERED, wire=wire, reason="folder excluded")
                continue
            reason = self.scope.message_reason(rec.date, len(wire))
            fp = fingerprint(wire)
            mid = message_id(rec.raw)
            if reason:
                yield Scanned(entry, rec, FILTERED, wire=wire, fingerprint=fp, message_id=mid, reason=reason)
                continue
            short = bytes.fromhex(fp[:24])
            if short in seen:
                yield Scanned(entry, rec, DUPLICATE, wire=wire, fingerprint=fp, message_id=mid)
                continue
            seen.add(short)
            row = self.state.lookup(entry.target, fp)
            if row is not None and row.status == "done":
                yield Scanned(entry, rec, ALREADY, wire=wire, fingerprint=fp, message_id=mid, reason="uploaded earlier")
            elif self.server_index(entry.target).take(mid, len(wire)):
                yield Scanned(entry, rec, ALREADY, wire=wire, fingerprint=fp, message_id=mid,
                              reason="found on the server")
            else:
                yield Scanned(entry, rec, UPLOAD, wire=wire, fingerprint=fp, message_id=mid)


def _day(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d")


@dataclass
class _Acc:
    """Running totals of one pass, for the quota and the diet."""

    dates: array = field(default_factory=lambda: array("d"))  # upload candidates: timestamp
    sizes: array = field(default_factory=lambda: array("q"))
    kept: dict[str, dict[str, object]] = field(default_factory=dict)


def subject_of(rec: MessageRecord) -> str:
    return (header_value(rec.raw, "Subject") or "")[:200]


def account(fp: FolderPlan, s: Scanned, acc: _Acc, by_year: dict[str, list[int]]) -> None:
    """Add one scanned message to its folder's plan."""
    rec = s.record
    if s.fate == UNREADABLE:
        fp.unreadable += 1
        fp.messages += 1
        return
    if s.fate == SKIPPED:
        fp.skipped[s.reason or "skipped"] = fp.skipped.get(s.reason or "skipped", 0) + 1
        return
    if s.fate == FILTERED:
        fp.filtered += 1
        fp.filtered_bytes += s.size
        if s.reason != "folder excluded":
            k = acc.kept.setdefault(fp.source, {"messages": 0, "bytes": 0, "oldest": None, "newest": None})
            k["messages"] = int(k["messages"]) + 1  # type: ignore[call-overload]
            k["bytes"] = int(k["bytes"]) + s.size  # type: ignore[call-overload]
            d = _day(rec.date)
            k["oldest"] = min(filter(None, [k["oldest"], d]))  # type: ignore[type-var]
            k["newest"] = max(filter(None, [k["newest"], d]))  # type: ignore[type-var]
        return
    fp.messages += 1
    fp.bytes += s.size
    d = _day(rec.date)
    fp.oldest = min(fp.oldest, d) if fp.oldest else d
    fp.newest = max(fp.newest, d) if fp.newest else d
    year = by_year.setdefault(d[:4], [0, 0])
    year[0] += 1
    year[1] += s.size
    if s.fate == DUPLICATE:
        fp.duplicates += 1
    elif s.fate == ALREADY:
        fp.already += 1
    else:
        fp.to_upload += 1
        fp.upload_bytes += s.size
        acc.dates.append(rec.date.timestamp())
        acc.sizes.append(s.size)


def folder_plan(entry: Entry) -> FolderPlan:
    return FolderPlan(source=entry.folder.display, source_key=entry.key, origin=entry.folder.origin,
                      target=entry.target)


def from_summary(entry: Entry, summary: dict[str, object], unchanged: bool = True) -> FolderPlan:
    """A settled folder's counts: everything that was to upload then is on the target now."""
    fields = {k: v for k, v in summary.items() if k in FolderPlan.model_fields}
    fp = FolderPlan.model_validate({**fields, "source": entry.folder.display, "source_key": entry.key,
                                    "origin": entry.folder.origin, "target": entry.target})
    fp.already += fp.to_upload
    fp.to_upload = fp.upload_bytes = 0
    fp.unchanged = unchanged
    return fp


def suggest_since(acc: _Acc, free: int) -> str | None:
    """The earliest day D such that every upload candidate dated D or later fits into `free` bytes.

    None when everything fits, or when not even the newest day fits.
    """
    per_day: dict[str, int] = {}
    for ts, size in zip(acc.dates, acc.sizes):
        day = datetime.fromtimestamp(ts, tz=timezone.utc).date().isoformat()
        per_day[day] = per_day.get(day, 0) + size
    total = 0
    best: str | None = None
    for day in sorted(per_day, reverse=True):
        if total + per_day[day] > free:
            return best
        total += per_day[day]
        best = day
    return None


def build_plan(scanner: Scanner, *, target_label: str, on_message: Callable[[int], None] | None = None) -> Plan:
    plan = Plan(target=target_label)
    acc = _Acc()
    for entry in scanner.entries():
        work = scanner.work(entry)
        fp = from_summary(entry, work.summary, work.start is None) if work.summary else folder_plan(entry)
        folder_years: dict[str, list[int]] = {
            y: list(v) for y, v in dict(work.summary.get("by_year", {})).items()  # type: ignore[union-attr]
        } if work.summary else {}
        if work.start is not None:
            for s in scanner.scan(entry, scanner.records(entry, work.start)):
                account(fp, s, acc, folder_years)
                if on_message:
                    on_message(s.size)
        for y, (n, b) in folder_years.items():
            year = plan.by_year.setdefault(y, [0, 0])
            year[0] += n
            year[1] += b
        plan.folders.append(fp)
    plan.totals = totals(plan.folders)
    plan.by_year = dict(sorted(plan.by_year.items()))
    if acc.kept:
        plan.kept_local = {
            "messages": sum(int(k["messages"]) for k in acc.kept.values()),  # type: ignore[call-overload]
            "bytes": sum(int(k["bytes"]) for k in acc.kept.values()),  # type: ignore[call-overload]
            "folders": acc.kept,
        }
    plan.quota = quota_verdict(scanner.target, plan.totals.upload_bytes, acc)
    limit = scanner.target.append_limit() if scanner.target is not None else None
    if limit:
        plan.warnings.append(f"the server accepts messages up to {limit} bytes (APPENDLIMIT)")
    return plan


def totals(folders: list[FolderPlan]) -> Totals:
    t = Totals(folders=len(folders))
    for f in folders:
        t.messages += f.messages
        t.bytes += f.bytes
        t.to_upload += f.to_upload
        t.upload_bytes += f.upload_bytes
        t.already += f.already
        t.duplicates += f.duplicates
        t.unreadable += f.unreadable
        t.skipped += sum(f.skipped.values())
        t.filtered += f.filtered
        t.filtered_bytes += f.filtered_bytes
    return t


def quota_verdict(target: ImapTarget | None, needed: int, acc: _Acc) -> QuotaInfo:
    q = target.quota("INBOX") if target is not None else None
    if q is None or q.limit <= 0:
        return QuotaInfo(needed=needed)
    usable = int(q.limit * (1 - QUOTA_MARGIN)) - q.used
    fits = needed <= usable
    return QuotaInfo(
        used=q.used, limit=q.limit, needed=needed, fits=fits, margin=QUOTA_MARGIN,
        suggested_since=None if fits else suggest_since(acc, max(usable, 0)),
    )
