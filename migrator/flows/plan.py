"""The plan: what goes where. `migrate plan` prints it; `migrate run` builds the same plan first,
then walks the same scan again to upload (sqlite-utils' "show me first" on one code path).

Writes nothing: the target is only read (LIST, STATUS, EXAMINE, GETQUOTAROOT), the state is
opened read-only by the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from migrator.domain.dates import FALLBACK_SOURCE
from migrator.domain.events import (
    Done,
    EventSink,
    FolderDone,
    FolderStarted,
    MessageSettled,
    PhaseStarted,
    Warning,
    emit,
)
from migrator.domain.filters import Scope
from migrator.domain.folders import TargetLayout, folder_role, map_stores
from migrator.domain.headers import Headers, message_id
from migrator.domain.i18n import _
from migrator.domain.identity import as_read_back, at_risk, fingerprint, to_crlf
from migrator.domain.models import FolderPlan, Plan, QuotaInfo, Totals
from migrator.domain.records import ROLE_JUNK, ROLE_TRASH, Folder, MessageRecord
from migrator.domain.units import human_bytes
from migrator.flows import quota as diet
from migrator.flows.candidates import Candidates as _Acc
from migrator.flows.candidates import utc_day as _day
from migrator.flows.progress import READ_OUTCOMES, Meter, estimate_of, part
from migrator.flows.retry import retrying
from migrator.flows.server import Server
from migrator.flows.server_index import ServerIndex, build_index  # noqa: F401 - re-exported
from migrator.journal.state import Row, State
from migrator.sources.base import Source

QUOTA_MARGIN = 0.05  # keep 5% of the quota free: servers count a little more than the raw bytes
HASH_CHUNK = 20  # server bodies fetched per round trip when matching by content (memory: 20 messages)
SCAN_RECONNECTS = 3  # a dropped connection re-opened this often per lookup (run only)
T = TypeVar("T")
MAX_QUOTA_LOOKUPS = 50  # GETQUOTAROOT round trips per plan; further folders are taken to share INBOX's root

UPLOAD, ALREADY, DUPLICATE, SKIPPED, FILTERED, UNREADABLE = (
    "upload", "already", "duplicate", "skipped", "filtered", "unreadable")


@dataclass
class Entry:
    """A source folder with its target."""

    source: Source
    folder: Folder
    target: str
    excluded: bool = False
    why: str = ""  # why the target name is not the source's own (folders.map_stores), "" when it is

    @cached_property  # made once: read for every message
    def key(self) -> str:
        """The source folder's key in the journal: `kind:root:folder key` (made once: read per message)."""
        return f"{self.source.kind}:{self.source.root}:{self.folder.key}"

    @cached_property
    def settled_prefix(self) -> str:
        """Of its messages' keys in the settled table (see settled_key)."""
        return f"{self.source.kind}:{self.source.root}|"


@dataclass(frozen=True)
class Work:
    token: str | None
    summary: dict[str, object] | None  # a settled earlier run: these messages are on the target
    start: int | None  # None: nothing to read; 0: read all; N: read from byte N (appended mail)


def settled_key(entry: Entry, stable_id: str) -> str:
    """A message's key in the settled table: its stable id is unique only within its own store."""
    return entry.settled_prefix + stable_id


@dataclass
class Scanned:
    entry: Entry
    record: MessageRecord
    fate: str
    wire: bytes = b""
    fingerprint: str = ""
    message_id: str | None = None
    reason: str | None = None
    nbytes: int = 0  # size as uploaded, for a message not read again (see Scanner._known)
    subject: str | None = None  # for the journal, read with the Message-ID (None: not read yet)

    @property
    def size(self) -> int:
        """The message's size in bytes: the wire bytes when held, else the size recorded when they were
        let go, else the size as read from the store."""
        return len(self.wire) if self.wire else (self.nbytes or self.record.size)

    def release(self) -> None:
        """Drop the message's bytes (the wire form and the record's raw) once nobody needs them:
        sent and settled, quarantined, or counted without an upload. `size` stays right. Called by
        `run` so that a big message is not still in memory while the next one is read."""
        if self.wire or self.record.raw:
            self.nbytes = self.size
            self.wire = b""
            self.record.raw = b""


class Scanner:
    """Classifies every source message once per pass; shared by plan, run and verify."""

    def __init__(self, sources: list[Source], layout: TargetLayout, scope: Scope, state: State,
                 target: Server | None, use_settled: bool = False,
                 reconnect: Callable[[], Server] | None = None) -> None:
        self.sources = sources
        self.layout = layout
        self.scope = scope
        self.state = state
        self.target = target
        self.use_settled = use_settled  # skip reading messages known to be on the target (run, plan)
        self.reconnect = reconnect  # after a dropped connection (run); plan and verify just fail
        self._indexes: dict[str, ServerIndex] = {}
        self.warnings: list[str] = []  # what the sources said about messages they read
        self._seen_pass = state.new_seen()
        # What the state held when this pass first looked (a fresh migration skips the lookups).
        # Rows this pass adds are for contents it has already seen, which _first catches first.
        self._has_rows: dict[str, bool] = {}
        self._has_settled: dict[int, bool] = {}

    def entries(self) -> list[Entry]:
        """Every source folder with its target folder name (domain/folders.py mapping over all sources
        at once, so that names never collide) and whether the scope leaves it out."""
        out: list[Entry] = []
        stores = [source.folders() for source in self.sources]
        for source, folders, names in zip(self.sources, stores, map_stores(stores, self.layout), strict=True):
            for f in folders:
                m = names[f.key]
                out.append(Entry(source, f, m.target, excluded=not self.scope.folder_in_scope(f.display, m.target),
                                 why=m.why))
        for w in self.scope.unmatched_warnings((e.folder.display, e.target) for e in out):
            if w not in self.warnings:
                self.warnings.append(w)
        return out

    def token(self, entry: Entry) -> str | None:
        """Changes whenever the folder's content (or the scope) may have changed; None: unknown."""
        base = entry.source.token(entry.folder) if entry.source.capabilities.change_token else None
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
        info = summary.get("resume")
        if entry.source.capabilities.resume_offset and isinstance(info, dict):
            start = entry.source.resume_offset(entry.folder, info)
            if start:
                return Work(tok, summary, start)
        return Work(tok, None, 0)

    def records(self, entry: Entry, start: int) -> Iterator[MessageRecord]:
        """The folder's records: from byte `start` (Work.start) when the source resumes, passing
        over messages an earlier run settled when the source can skip them (its capabilities)."""
        caps = entry.source.capabilities
        if start and caps.resume_offset:
            return entry.source.messages(entry.folder, resume=start)
        if self.use_settled and caps.skip_known and caps.reload and self._settled_any(entry):
            return entry.source.messages(entry.folder,
                                         known=lambda sid, size: self.state.settled(
                                             settled_key(entry, sid), size) is not None)
        return entry.source.messages(entry.folder)

    def _settled_any(self, entry: Entry) -> bool:
        """Whether an earlier run settled anything of this store (else nothing can be known)."""
        key = id(entry.source)
        if key not in self._has_settled:
            self._has_settled[key] = self.state.has_settled(settled_key(entry, ""))
        return self._has_settled[key]

    def _lookup(self, target: str, fp: str) -> Row | None:
        if target not in self._has_rows:
            self._has_rows[target] = self.state.has_rows(target)
        return self.state.lookup(target, fp) if self._has_rows[target] else None

    def summary(self, entry: Entry, fp: FolderPlan, years: dict[str, list[int]]) -> dict[str, object]:
        """What to remember of a settled folder, for the next run's shortcut."""
        out: dict[str, object] = {**fp.model_dump(exclude={"source", "origin", "unchanged"}), "by_year": years,
                                  "target": entry.target}
        info = entry.source.resume_info(entry.folder) if entry.source.capabilities.resume_offset else None
        if info:
            out["resume"] = info
        return out

    def all_warnings(self) -> list[str]:
        """Warnings from the stores (e.g. a newer Thunderbird) and from single messages, once each."""
        out: list[str] = []
        for source in self.sources:
            out.extend(source.warnings)
        out.extend(self.warnings)
        return list(dict.fromkeys(out))

    def server_index(self, folder: str) -> ServerIndex:
        """The ServerIndex of target `folder` (built once per scan, on a fresh connection after a drop
        when the run allows it); empty when there is no server."""
        if folder not in self._indexes:
            self._indexes[folder] = self.on_server(
                lambda t: build_index(t, folder, self.state) if t is not None else ServerIndex())
        return self._indexes[folder]

    def on_server(self, fn: Callable[[Server | None], T]) -> T:
        """`fn(self.target)`, on a fresh connection after a drop when the run gave a `reconnect`
        (flows/retry.py: at most SCAN_RECONNECTS times); plan and verify raise ConnectionLost."""
        def again() -> None:
            assert self.reconnect is not None
            self.target = self.reconnect()
        return retrying(fn, lambda: self.target, again if self.reconnect is not None else None, SCAN_RECONNECTS)

    def _hash_server(self, folder: str, uids: list[int]) -> list[tuple[int, str]]:
        """(uid, fingerprint) of server messages of `folder` (BODY.PEEK[], a few at a time: only
        the hashes are kept). Reconnects like server_index when the connection drops."""
        out: list[tuple[int, str]] = []
        for i in range(0, len(uids), HASH_CHUNK):
            part = uids[i:i + HASH_CHUNK]
            out.extend(self.on_server(lambda t: _hashes(t, folder, part)))  # noqa: B023 - called at once
        return out

    def found_on_server(self, target: str, mid: str | None, fp: str, size: int, read_back: str | None = None) -> bool:
        """The server already holds this message (not from our journal): by Message-ID and size,
        else by content among its messages without a Message-ID of the same size (a lost journal)."""
        idx = self.server_index(target)
        if idx.take(mid, size):
            return True
        return idx.take_content(fp, size, lambda uids: self._hash_server(target, uids), also=read_back)

    def forget_index(self, folder: str) -> None:
        """Drop the ServerIndex of target `folder` (it is built again when next asked)."""
        self._indexes.pop(folder, None)

    def _first(self, target: str, fp: str) -> bool:
        """True the first time this pass meets a content in a target folder."""
        return self.state.seen_add(self._seen_pass, target, bytes.fromhex(fp[:24]))

    def _known(self, entry: Entry, rec: MessageRecord, fp: str) -> Scanned:
        """A message settled by an earlier run, not read again (its folder changed around it)."""
        row = self.state.lookup(entry.target, fp)
        fate = ALREADY if self._first(entry.target, fp) else DUPLICATE
        return Scanned(entry, rec, fate, fingerprint=fp, message_id=row.message_id if row else None,
                       reason="uploaded earlier", nbytes=row.size if row else _known_size(rec))

    def scan(self, entry: Entry, records: Iterator[MessageRecord] | None = None) -> Iterator[Scanned]:
        """The fate of each message of the folder (UPLOAD, ALREADY, DUPLICATE, SKIPPED, FILTERED,
        UNREADABLE) as a Scanned, one at a time; `records` (default: the source's messages) lets a
        caller resume a folder. Holds one message at a time."""
        for rec in records if records is not None else entry.source.messages(entry.folder):
            yield self._scan_one(entry, rec)
            del rec  # hold no message while the next one is read (a big one would count twice)

    def _scan_one(self, entry: Entry, rec: MessageRecord) -> Scanned:
        """The fate of one message; its locals (the wire bytes) end with the call."""
        if rec.extra.get("warning"):
            self.warnings.append(f"{rec.locator}: {rec.extra['warning']}")
        if rec.error:
            return Scanned(entry, rec, UNREADABLE, reason=rec.error)
        if rec.skip_reason:
            return Scanned(entry, rec, SKIPPED, reason=rec.skip_reason)
        if rec.date_source == FALLBACK_SOURCE and not rec.extra.get("known"):
            self.warnings.append(_("{where}: no plausible date in the store or the headers: its date on the server "
                                   "is {day} (docs/concepts.md, Dates and flags)").format(
                where=rec.locator, day=rec.date.date().isoformat()))
        if rec.extra.get("known") and not entry.excluded:
            settled = self.state.settled(settled_key(entry, rec.stable_id), int(rec.extra["size"]))
            if settled is not None and settled[0] == entry.target:
                return self._known(entry, rec, settled[1])
            rec = entry.source.reload(rec)  # not settled after all: read it (capabilities.reload)
        if rec.extra.get("preview"):
            return self._preview(entry, rec)
        wire = to_crlf(rec.raw)
        if entry.excluded:
            return Scanned(entry, rec, FILTERED, wire=wire, reason="folder excluded")
        reason = self.scope.message_reason(rec.date, len(wire))
        fp = fingerprint(wire)
        headers = Headers(rec.raw)
        mid = message_id(headers)
        if reason:
            return Scanned(entry, rec, FILTERED, wire=wire, fingerprint=fp, message_id=mid, reason=reason)
        if not self._first(entry.target, fp):
            return Scanned(entry, rec, DUPLICATE, wire=wire, fingerprint=fp, message_id=mid)
        row = self._lookup(entry.target, fp)
        if row is not None and row.status == "done":
            return Scanned(entry, rec, ALREADY, wire=wire, fingerprint=fp, message_id=mid, reason="uploaded earlier")
        elif self.found_on_server(entry.target, mid, fp, len(wire),
                                  fingerprint(as_read_back(wire)) if at_risk(wire) else None):
            return Scanned(entry, rec, ALREADY, wire=wire, fingerprint=fp, message_id=mid,
                           reason="found on the server")
        else:
            return Scanned(entry, rec, UPLOAD, wire=wire, fingerprint=fp, message_id=mid,
                           subject=(headers.first("Subject") or "")[:200])


    def _preview(self, entry: Entry, rec: MessageRecord) -> Scanned:
        """A message a server source only previewed for `plan` (its header block in `raw`, its size in
        extra["size"]; no body downloaded): scoped by date and size, found on the server by Message-ID
        and size, counted by its size. Copies with other headers are found by `run`, which reads it all."""
        size = int(rec.extra.get("size", "0"))
        headers = Headers(rec.raw)
        mid = message_id(headers)
        fp = fingerprint(to_crlf(rec.raw))  # of the header block: tells this pass's copies apart
        if entry.excluded:
            return Scanned(entry, rec, FILTERED, nbytes=size, reason="folder excluded")
        reason = self.scope.message_reason(rec.date, size)
        if reason:
            return Scanned(entry, rec, FILTERED, fingerprint=fp, message_id=mid, reason=reason, nbytes=size)
        if not self._first(entry.target, fp):
            return Scanned(entry, rec, DUPLICATE, fingerprint=fp, message_id=mid, nbytes=size)
        if self.server_index(entry.target).take(mid, size):
            return Scanned(entry, rec, ALREADY, fingerprint=fp, message_id=mid, reason="found on the server",
                           nbytes=size)
        return Scanned(entry, rec, UPLOAD, fingerprint=fp, message_id=mid, nbytes=size,
                       subject=(headers.first("Subject") or "")[:200])


def _known_size(rec: MessageRecord) -> int:
    return int(rec.extra.get("size", "0"))


def account(fp: FolderPlan, s: Scanned, acc: _Acc | None, by_year: dict[str, list[int]]) -> None:
    """Add one scanned message to its folder's plan (and to the pass's quota/diet totals, when
    there are any: `run` counts folders only)."""
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
        fp.filtered_reasons[s.reason or "filtered"] = fp.filtered_reasons.get(s.reason or "filtered", 0) + 1
        if acc is not None and s.reason != "folder excluded":
            acc.keep(fp.source, s)
        return
    size = s.size
    fp.messages += 1
    fp.bytes += size
    d = _day(rec.date)
    if not fp.oldest or d < fp.oldest:  # assigned only when it changes: pydantic fields cost a call
        fp.oldest = d
    if not fp.newest or d > fp.newest:
        fp.newest = d
    year = by_year.setdefault(d[:4], [0, 0])
    year[0] += 1
    year[1] += size
    if s.fate == DUPLICATE:
        fp.duplicates += 1
        if acc is not None:
            acc.copy_seen(s)
    elif s.fate == ALREADY:
        fp.already += 1
    else:
        fp.to_upload += 1
        fp.upload_bytes += size
        if acc is None:
            return
        if acc.max_bytes is not None and size > acc.max_bytes:
            fp.too_big += 1
            acc.big(s)
        else:
            acc.candidate(s)
            if s.wire and at_risk(s.wire):
                acc.risky(s)


def folder_plan(entry: Entry) -> FolderPlan:
    """An empty FolderPlan for a folder (its source name, key, origin, target and why it was renamed)."""
    return FolderPlan(source=entry.folder.display, source_key=entry.key, origin=entry.folder.origin,
                      target=entry.target, renamed=entry.why)


def from_summary(entry: Entry, summary: dict[str, object], unchanged: bool = True) -> FolderPlan:
    """A settled folder's counts: everything that was to upload then is on the target now."""
    fields = {k: v for k, v in summary.items() if k in FolderPlan.model_fields}
    fp = FolderPlan.model_validate({**fields, "source": entry.folder.display, "source_key": entry.key,
                                    "origin": entry.folder.origin, "target": entry.target,
                                    "renamed": entry.why})
    fp.already += fp.to_upload
    fp.to_upload = fp.upload_bytes = 0
    fp.unchanged = unchanged
    return fp


def suggest_since(acc: _Acc, free: int, select: Iterable[int] | None = None) -> str | None:
    """The earliest day D such that every upload candidate dated D or later fits into `free` bytes.

    None when everything fits, or when not even the newest day fits.
    """
    return diet.since_that_fits(acc.dates, acc.sizes, free, select)


def _junk_targets(scanner: Scanner) -> tuple[str, ...]:
    """Target names of the Trash and Junk folders (their children follow them)."""
    names = (scanner.layout.role_folder(ROLE_TRASH), scanner.layout.role_folder(ROLE_JUNK))
    return tuple(n for n in names if n)


def _is_junk(entry: Entry, junk: tuple[str, ...], delimiter: str) -> bool:
    return folder_role(entry.folder) in (ROLE_TRASH, ROLE_JUNK) or any(
        entry.target == n or entry.target.startswith(n + delimiter) for n in junk)


class PlanStopped(Exception):
    """`build_plan`'s `stop_requested()` said stop (a run stopped while it read everything first)."""


def build_plan(scanner: Scanner, *, target_label: str, on_event: EventSink | None = None,
               limits: diet.Limits | None = None, stop_requested: Callable[[], bool] | None = None) -> Plan:
    """The dry run: every folder scanned (or its remembered summary), totals, quota verdict and diets.

    Emits PhaseStarted("reading"), Totals (messages and bytes read of the sources' cheap counts),
    per folder FolderStarted, MessageSettled("read", bytes read) and FolderDone, then Warning per
    note and Done (domain/events.py) to `on_event`. Writes nothing to the server.
    stop_requested: checked before each message is counted; PlanStopped once it says stop."""
    plan = Plan(target=target_label)
    on_event = Meter(on_event, "reading", [part(e.folder.display, estimate_of(e.source, e.folder))
                                           for e in scanner.entries()], READ_OUTCOMES)
    emit(on_event, PhaseStarted("reading"))
    acc = _Acc()
    append_limit = scanner.target.append_limit() if scanner.target is not None else None
    acc.max_bytes = plan.max_message_bytes = diet.message_limit(append_limit, limits)
    junk = _junk_targets(scanner)
    ledger: dict[str, list[tuple[int, str, str]]] | None = None
    for entry in scanner.entries():
        acc.enter(entry, _is_junk(entry, junk, scanner.layout.delimiter))
        work = scanner.work(entry)
        if work.summary:  # not read again (or only its tail): what stayed local is in the ledger
            if ledger is None:
                ledger = {}
                for _sid, key, _t, _fp, size, when, why in scanner.state.ledger():
                    ledger.setdefault(key, []).append((size, when[:10], why))
            for size, day, why in ledger.get(entry.key, []):
                acc.kept_one(entry.folder.display, size, day, why)
        fp = from_summary(entry, work.summary, work.start is None) if work.summary else folder_plan(entry)
        folder_years: dict[str, list[int]] = {
            y: list(v) for y, v in dict(work.summary.get("by_year", {})).items()  # type: ignore[call-overload]  # by_year: {year: [n, bytes]}
        } if work.summary else {}
        emit(on_event, FolderStarted(entry.folder.display, entry.target))
        if work.start is not None:
            for s in scanner.scan(entry, scanner.records(entry, work.start)):
                if stop_requested is not None and stop_requested():
                    raise PlanStopped
                account(fp, s, acc, folder_years)
                emit(on_event, MessageSettled(entry.folder.display, "read", s.size))
        emit(on_event, FolderDone(entry.folder.display))
        for y, (n, b) in folder_years.items():
            year = plan.by_year.setdefault(y, [0, 0])
            year[0] += n
            year[1] += b
        plan.folders.append(fp)
    acc.settle_copies()
    plan.totals = totals(plan.folders)
    plan.by_year = dict(sorted(plan.by_year.items()))
    if acc.kept:
        plan.kept_local = {
            "messages": sum(int(k["messages"]) for k in acc.kept.values()),  # type: ignore[call-overload]
            "bytes": sum(int(k["bytes"]) for k in acc.kept.values()),  # type: ignore[call-overload]
            "folders": acc.kept,
        }
    for ts, size in zip(acc.dates, acc.sizes, strict=True):
        year = plan.upload_by_year.setdefault(diet.day_of(ts)[:4], [0, 0])
        year[0] += 1
        year[1] += size
    plan.upload_by_year = dict(sorted(plan.upload_by_year.items()))
    plan.too_big = acc.too_big
    needed = plan.totals.upload_bytes - acc.too_big_bytes
    plan.quota = scanner.on_server(lambda target: quota_verdict(target, needed, acc, limits))
    if plan.max_message_bytes:
        n = sum(f.too_big for f in plan.folders)
        source = "APPENDLIMIT" if plan.max_message_bytes == append_limit else _("the provider's limit")
        plan.warnings.append(
            _("the server accepts messages up to {size} ({source})").format(
                size=human_bytes(plan.max_message_bytes), source=source)
            + (": " + _("{n} message(s) are larger and would be refused; keep them local with --max-size "
                        "{flag}").format(n=n, flag=diet.size_flag(plan.max_message_bytes)) if n else ""))
    if acc.at_risk:
        plan.at_risk, plan.at_risk_messages = acc.at_risk, acc.at_risk_messages
        plan.at_risk_binary = scanner.target.has("BINARY") if scanner.target is not None else None
    plan.warnings.extend(scanner.all_warnings())
    for w in plan.warnings:
        emit(on_event, Warning(w))
    emit(on_event, Done())
    return plan


def totals(folders: list[FolderPlan]) -> Totals:
    """The plan's Totals: the sum of its folders' counts and bytes."""
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


def _hashes(target: Server | None, folder: str, uids: list[int]) -> list[tuple[int, str]]:
    """(uid, identity.fingerprint) of these server messages of `folder` (EXAMINEd again: the
    connection may have selected another folder since)."""
    assert target is not None
    target.examine(folder)
    return [(uid, fingerprint(to_crlf(raw)))
            for uid, raw, _f, _d, _s in target.fetch_messages(uids, body=True, chunk=len(uids))]


def quota_verdict(target: Server | None, needed: int, acc: _Acc, limits: diet.Limits | None = None) -> QuotaInfo:
    """Does the upload fit? Per quota root: limit minus QUOTA_MARGIN minus used, against the
    candidates whose target folder lies under it (see diet.verdict)."""
    return diet.verdict(target, needed, acc, limits, margin=QUOTA_MARGIN, max_lookups=MAX_QUOTA_LOOKUPS)
