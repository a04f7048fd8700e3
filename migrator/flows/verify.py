"""The proof: every in-scope source message is on the server, folder by folder, message by message.

Read-only on the server (LIST, EXAMINE, FETCH with BODY.PEEK, GETQUOTAROOT) and on the source.
It writes only to the state: which uploaded messages have vanished from the server (so that the
next `run` uploads them again), and, per target folder, what it proved (so that an interrupted
long verify carries on where it stopped, and a folder unchanged since it was proven is not
fetched again).

A target folder's proof is reused only while nothing it rests on changed: the source folders'
change tokens (which include the scope), the server folder's UIDVALIDITY, UIDNEXT and message
count (an APPEND moves UIDNEXT, an EXPUNGE the count), and it was at least as deep.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.header import decode_header, make_header
from typing import Any

from migrator.domain.events import Done, EventSink, FolderDone, FolderStarted, MessageSettled, PhaseStarted, emit
from migrator.domain.headers import header_value, message_id
from migrator.domain.i18n import N_, _
from migrator.domain.identity import NUL, as_read_back, at_risk, describe_change, fingerprint, to_crlf
from migrator.domain.models import FolderVerify, Problem, VerifyReport
from migrator.flows.plan import DUPLICATE, FILTERED, SKIPPED, UNREADABLE, Entry, Scanned, Scanner
from migrator.flows.progress import READ_OUTCOMES, Meter, estimate_of, part, summed
from migrator.flows.server import Server
from migrator.journal.state import Row, State

SHALLOW, SAMPLE, DEEP = 0, 1, 2
FETCH_BYTES = 8 * 1024 * 1024  # bodies per FETCH: at most this many bytes...
FETCH_COUNT = 100  # ...or this many messages
FLAGS_COMPARED = {"\\seen", "\\answered", "\\flagged", "\\draft"}


@dataclass
class Expected:
    """An in-scope source message that must be on the server."""

    fingerprint: str
    message_id: str | None
    size: int
    locator: str
    subject: str
    date: str
    flags: frozenset[str]
    source: str  # source folder, display path
    settled: bool = False  # its source folder was completed by an earlier run
    source_changed: bool = False  # ... and has changed since
    date_source: str = ""  # where `date` came from (migrator.domain.dates.DATE_SOURCES)
    risk: str | None = None  # bytes at risk (identity.at_risk): 'literal8' or 'changed' (how they were sent)
    wire: bytes | None = None  # the bytes as uploaded, kept only for a message at risk


@dataclass
class Matching:
    matched: list[tuple[Expected, int]] = field(default_factory=list)
    resized: list[tuple[Expected, int, int]] = field(default_factory=list)  # (message, uid, size on server)
    unmatched: list[Expected] = field(default_factory=list)
    claimed: set[int] = field(default_factory=set)


def display_subject(value: str | None) -> str:
    """A Subject header as a person reads it (RFC 2047 decoded; raw 8-bit UTF-8 tolerated)."""
    if not value:
        return ""
    try:
        value = value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    try:
        text = str(make_header(decode_header(value)))
    except (LookupError, ValueError, UnicodeError, AssertionError):
        text = value
    return " ".join(text.split())[:200]


def match_messages(expected: Sequence[Expected], rows: dict[str, Row], server: dict[int, tuple[str | None, int]],
                   uidvalidity: int | None) -> Matching:
    """Pair source messages with server UIDs: first by the UID recorded at upload (same UIDVALIDITY),
    then by Message-ID + size. A recorded UID whose size is wrong is a difference, not a miss."""
    m = Matching()
    rest: list[Expected] = []
    for e in expected:
        row = rows.get(e.fingerprint)
        uid = row.uid if row is not None and row.status == "done" and row.uidvalidity == uidvalidity else None
        if uid is not None and uid in server and uid not in m.claimed:
            m.claimed.add(uid)
            size = server[uid][1]
            if size == e.size:
                m.matched.append((e, uid))
            else:
                m.resized.append((e, uid, size))
        else:
            rest.append(e)
    by_id: dict[tuple[str, int], list[int]] = defaultdict(list)
    for uid in sorted(server):
        mid, size = server[uid]
        if mid and uid not in m.claimed:
            by_id[(mid, size)].append(uid)
    for e in rest:
        cands = by_id.get((e.message_id, e.size)) if e.message_id else None
        while cands and cands[0] in m.claimed:
            cands.pop(0)
        if cands:
            uid = cands.pop(0)
            m.claimed.add(uid)
            m.matched.append((e, uid))
        else:
            m.unmatched.append(e)
    return m


CONTENT_DIFFERS = N_("content differs")  # compare()'s first problem when the bytes differ


def classify_missing(e: Expected, row: Row | None, kept_reason: str | None, has_history: bool) -> tuple[str, str, str]:
    """(sign, kind, detail) of a source message the server does not hold."""
    if row is not None and row.status == "failed":
        where = "; " + _("kept as {path}").format(path=row.quarantine) if row.quarantine else ""
        return "!", "failed", _("the server refused it: {reason}").format(
            reason=row.error or _("no reason given")) + where
    if kept_reason:
        return "~", "kept_local", _("left on this computer on purpose by the last run ({reason})").format(
            reason=kept_reason)
    if row is not None and row.status == "intent":
        return "-", "missing", _("an upload was interrupted: run `migrate run` again")
    if row is not None:
        return "-", "missing", _("uploaded earlier, now missing on the server: the next `migrate run` uploads it again")
    if e.settled and e.source_changed:
        return "-", "new", _("new in the source since the last run: not migrated yet")
    if e.settled:
        return "-", "missing", _("was on the server at the last run, now missing: the next `migrate run` uploads it "
                                 "again")
    if not has_history:
        return "-", "missing", _("not migrated yet: run `migrate run`")
    return "-", "missing", _("not uploaded yet (the last run did not finish this folder): run `migrate run` again")


def size_chunks(uids: Sequence[int], sizes: dict[int, int], max_bytes: int = FETCH_BYTES,
                max_count: int = FETCH_COUNT) -> Iterator[list[int]]:
    """UIDs in groups whose bodies together stay under max_bytes (a big message goes alone)."""
    group: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if group and (total + size > max_bytes or len(group) >= max_count):
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group


class _Stopped(Exception):
    """`stop_requested()` said stop: the folder being checked is left, the proven ones stay."""


def verify(scanner: Scanner, target: Server, state: State, *, deep: bool = False, sample: float | None = None,
           list_all: bool = False, fresh: bool = False, sources: Sequence[str] = (), quarantine: str = "",
           on_event: EventSink | None = None, seed: int | None = None,
           stop_requested: Callable[[], bool] = lambda: False) -> VerifyReport:
    """Check every in-scope source message against the server; see the module docstring.

    Emits PhaseStarted("checking"), Totals (source messages and bytes read of their totals: the
    sources' cheap counts), per target folder FolderStarted and FolderDone, and MessageSettled per
    message read from the source ("read", bytes as read) and per message fetched to compare
    ("checked", bytes as fetched), then Done, to `on_event` (domain/events.py).
    stop_requested: the cooperative stop (checked before each source message; a KeyboardInterrupt
    stops the same way): the report then holds the folders checked so far, `interrupted` and what
    is `left` (messages, bytes); the folders proven so far are not fetched again next time."""
    started = time.monotonic()
    groups: dict[str, list[Entry]] = {}
    for entry in scanner.entries():
        groups.setdefault(entry.target, []).append(entry)
    labels = {name: ", ".join(dict.fromkeys(e.folder.display for e in entries)) for name, entries in groups.items()}
    on_event = Meter(on_event, "checking", [part(labels[name], summed(estimate_of(e.source, e.folder) for e in entries))
                                            for name, entries in groups.items()], READ_OUTCOMES)
    emit(on_event, PhaseStarted("checking"))
    check = _Verifier(scanner, target, state, deep=deep, sample=sample, list_all=list_all, fresh=fresh,
                      on_event=on_event, rng=random.Random(seed), stop_requested=stop_requested)
    report = check.report
    report.warnings = scanner.all_warnings()
    report.sources = list(sources)
    report.state = str(state.path)
    report.quarantine = quarantine
    missing_targets: set[str] = set()
    try:
        for name, entries in groups.items():
            if stop_requested():
                raise _Stopped
            emit(on_event, FolderStarted(labels[name], name))
            fv = check.folder(name, entries)
            report.folders.append(fv)
            emit(on_event, FolderDone(fv.source))
            if fv.missing:
                missing_targets.add(name)
    except (_Stopped, KeyboardInterrupt):
        report.interrupted = True
    if check.missing_ids:
        state.mark_missing(check.missing_ids)
    if missing_targets:  # the next run must read these source folders again, however unchanged they are
        state.forget_source_folders(missing_targets)
    report.set_verify_counts(report.folders)
    for f in report.folders:
        for source, n in f.date_sources.items():
            report.date_sources[source] = report.date_sources.get(source, 0) + n
    report.reused_folders = sum(1 for f in report.folders if f.reused)
    q = target.quota("INBOX") if not report.interrupted else None  # stopping: no more round trips
    if q is not None:
        report.quota_used, report.quota_limit = q.used, q.limit
    report.generated = datetime.now().astimezone().isoformat(timespec="seconds")
    report.seconds = time.monotonic() - started
    totals = on_event.totals(partial=False)  # a folder stopped half-way is checked again from its start
    report.left, report.left_bytes = totals.left_messages, totals.left_bytes
    emit(on_event, Done(interrupted=report.interrupted))
    return report


class _Verifier:
    def __init__(self, scanner: Scanner, target: Server, state: State, *, deep: bool, sample: float | None,
                 list_all: bool, fresh: bool, on_event: EventSink | None, rng: random.Random,
                 stop_requested: Callable[[], bool] = lambda: False) -> None:
        self.scanner = scanner
        self.target = target
        self.state = state
        self.level = DEEP if deep else SAMPLE if sample is not None else SHALLOW
        self.sample = None if deep else sample
        self.list_all = list_all
        self.fresh = fresh
        self.on_event = on_event
        self.rng = rng
        self.stop_requested = stop_requested
        self.report = VerifyReport(target=target.url, deep=self.level > SHALLOW, sample=self.sample)
        self.has_history = bool(state.counts())
        self.kept = {(t, fp): reason for _sid, _sf, t, fp, _size, _d, reason in state.ledger()}
        self.missing_ids: list[int] = []
        self._unselectable: set[str] | None = None

    def unselectable(self) -> set[str]:
        """Folders the server lists but that hold no messages (RFC 3501 \\Noselect, RFC 5258
        \\NonExistent): a parent the server made for a child, e.g. a Thunderbird `X.sbd` without
        `X`. EXAMINE would fail on them; they are checked as empty. Listed once."""
        if self._unselectable is None:
            self._unselectable = {n for n, attrs in self.target.folders().items()
                                  if {a.lower() for a in attrs} & {"\\noselect", "\\nonexistent"}}
        return self._unselectable

    def _add(self, sign: str, kind: str, target: str, e: Expected | None = None, detail: str = "", **kw: Any) -> None:
        fields: dict[str, Any] = {"folder": "", "locator": ""}
        if e is not None:
            fields.update(folder=e.source, locator=e.locator, message_id=e.message_id, subject=e.subject, date=e.date,
                          date_source=e.date_source)
        fields.update(kw)
        self.report.problems.append(Problem(sign=sign, kind=kind, target=target, detail=detail, **fields))

    # -- one target folder ------------------------------------------------------------------------
    def folder(self, name: str, entries: list[Entry]) -> FolderVerify:
        fv = FolderVerify(source=", ".join(dict.fromkeys(e.folder.display for e in entries)), target=name)
        in_scope = any(not e.excluded for e in entries)
        exists = in_scope and name in self.target.known_folders() and name not in self.unselectable()
        st = self.target.examine(name) if exists else None
        tokens = {e.key: self.scanner.token(e) for e in entries}  # taken before reading: a change made
        key = {"sources": tokens, "uidvalidity": st.uidvalidity if st else None,  # meanwhile is seen next time
               "uidnext": st.uidnext if st else None, "messages": st.messages if st else None}
        prior: dict[str, Any] | None = self.state.verified(name)
        same = prior is not None and None not in tokens.values() and prior.get("key") == key
        saved = None if self.fresh else prior
        saved_level = int(saved.get("level", -1)) if saved is not None else -1
        reusable = saved is not None and same and saved_level >= self.level
        if reusable and not self.list_all:
            assert saved is not None
            fv = FolderVerify.model_validate(saved["folder"])
            fv.reused = True
            return fv
        expected = self._scan(entries, name, fv, tokens)
        if not in_scope:
            return fv
        server = {m.uid: (m.message_id, m.size) for m in self.target.index(name)} if exists else {}
        uidvalidity = st.uidvalidity if st else None
        rows = {r.fingerprint: r for r in self.state.rows(target=name)}
        self._mark_risk(name, expected)
        m = match_messages(expected, rows, server, uidvalidity)
        self._match_by_content(m, server)
        fv.present = len(m.matched)
        for e, uid, size in m.resized:
            fv.different += 1
            self._add("*", "different", name, e, f"{size} bytes on the server instead of {e.size} (UID {uid})", uid=uid)
        for e in m.unmatched:
            self._missing(name, e, rows.get(e.fingerprint), fv)
        self._extras(name, server, m.claimed, rows, uidvalidity, fv, expected)
        checked: set[int] = set()
        differ: set[int] = set()
        if reusable:
            assert saved is not None
            fv.deep_checked = int(saved["folder"].get("deep_checked", 0))
            fv.reused = True
            if saved_level == DEEP:
                checked = set(m.claimed)
        elif m.matched:
            chosen = m.matched if self.level > SHALLOW else []
            if self.sample is not None:
                chosen = [x for x in m.matched if self.rng.random() * 100 < self.sample] or [self.rng.choice(m.matched)]
            picked = {uid for _e, uid in chosen}  # messages at risk: their content is always compared
            chosen = chosen + [(e, uid) for e, uid in m.matched if e.risk and uid not in picked]
            if chosen:
                checked, differ = self._deep(name, chosen, {u: s for u, (_m, s) in server.items()}, fv)
        if self.list_all:
            for e, uid in m.matched:
                if uid not in differ:
                    self._add("=", "ok", name, e, (_("same bytes, flags and date") if uid in checked
                                                   else _("on the server")) + f" (UID {uid})", uid=uid)
        if fv.ok and None not in tokens.values():
            record = fv.model_dump(exclude={"reused"})
            level = self.level
            if same and prior is not None:  # nothing changed since a (maybe deeper) earlier proof: it still holds
                level = max(level, int(prior.get("level", SHALLOW)))
                record["deep_checked"] = max(fv.deep_checked, int(prior["folder"].get("deep_checked", 0)))
            self.state.set_verified(name, {"key": key, "level": level, "folder": record,
                                           "at": datetime.now().astimezone().isoformat()})
        elif not fv.ok:
            self.state.forget_verified(name)
        return fv

    def _scan(self, entries: list[Entry], name: str, fv: FolderVerify,
              tokens: dict[str, str | None]) -> list[Expected]:
        expected: list[Expected] = []
        for entry in entries:
            saved = self.state.source_folder(entry.key)
            settled = saved is not None
            changed = settled and (tokens[entry.key] is None or saved[0] != tokens[entry.key])  # type: ignore[index]
            for s in self.scanner.scan(entry):
                if self.stop_requested():
                    raise _Stopped
                emit(self.on_event, MessageSettled(entry.folder.display, "read", s.size))
                e = self._expected(s, settled, changed) if s.fate != UNREADABLE else None
                if s.fate == SKIPPED:
                    fv.skipped += 1
                    if self.list_all:
                        self._add("~", "skipped", name, e,
                                  _("skipped: {reason}").format(reason=_(s.reason) if s.reason else ""))
                elif s.fate == FILTERED:
                    fv.filtered += 1
                    if self.list_all:
                        self._add("~", "filtered", name, e,
                                  _("not in scope: {reason}").format(reason=_(s.reason) if s.reason else ""))
                elif s.fate == DUPLICATE:
                    fv.duplicates += 1
                    if self.list_all:
                        self._add("~", "duplicate", name, e, _("an exact copy of another message of this folder: "
                                                                "uploaded once"))
                elif s.fate == UNREADABLE:
                    fv.expected += 1
                    fv.failed_upload += 1
                    self._add("!", "unreadable", name,
                              detail=_("could not be read from the source: {reason}").format(reason=s.reason),
                              folder=s.record.folder.display, locator=s.record.locator)
                else:
                    assert e is not None
                    fv.expected += 1
                    fv.date_sources[e.date_source] = fv.date_sources.get(e.date_source, 0) + 1
                    expected.append(e)
        return expected

    @staticmethod
    def _expected(s: Scanned, settled: bool, changed: bool) -> Expected:
        rec = s.record
        risky = s.wire if s.wire and at_risk(s.wire) else None
        return Expected(s.fingerprint, s.message_id or message_id(rec.raw), len(s.wire), rec.locator,
                        display_subject(header_value(rec.raw, "Subject")), rec.date.isoformat(), rec.flags,
                        rec.folder.display, settled, changed, rec.date_source, wire=risky)

    def _mark_risk(self, name: str, expected: list[Expected]) -> None:
        """Mark the messages whose bytes are at risk: as the journal recorded their upload, else
        as this server would store them (literal8 with BINARY, changed without)."""
        journal = self.state.at_risk(name)
        binary = self.target.has("BINARY")
        for e in expected:
            how = journal.get((name, e.fingerprint), (None, None))[0]
            if e.wire is not None:
                e.risk = how or ("literal8" if binary else "changed")
            elif how is not None:
                e.risk = how

    def _missing(self, name: str, e: Expected, row: Row | None, fv: FolderVerify) -> None:
        sign, kind, detail = classify_missing(e, row, self.kept.get((name, e.fingerprint)), self.has_history)
        if kind == "failed":
            fv.failed_upload += 1
        elif kind == "kept_local":
            fv.kept_local += 1
            if not self.list_all:
                return
        elif kind == "new":
            fv.new_in_source += 1
        else:
            fv.missing += 1
            if row is not None and row.status == "done":
                self.missing_ids.append(row.id)
        self._add(sign, kind, name, e, detail, quarantine=row.quarantine if row is not None else None)

    def _match_by_content(self, m: Matching, server: dict[int, tuple[str | None, int]]) -> None:
        """Messages without a Message-ID and no recorded UID: look for the same bytes on the server."""
        wanted: dict[str, list[Expected]] = defaultdict(list)
        for e in m.unmatched:
            if e.message_id is None:
                wanted[e.fingerprint].append(e)
                if e.wire is not None:  # NULs read back as 0x80 through BODY[] (identity.as_read_back)
                    wanted[fingerprint(as_read_back(e.wire))].append(e)
        sizes = {e.size for es in wanted.values() for e in es}
        pool = [u for u in sorted(server) if u not in m.claimed and server[u][0] is None and server[u][1] in sizes]
        if not wanted or not pool:
            return
        found: set[int] = set()
        for group in size_chunks(pool, {u: s for u, (_m, s) in server.items()}):
            for uid, raw, _f, _d, _s in self.target.fetch_messages(group, body=True, chunk=len(group)):
                es = [x for x in wanted.get(fingerprint(to_crlf(raw)), ()) if id(x) not in found]
                if es:
                    e = es[0]
                    m.claimed.add(uid)
                    m.matched.append((e, uid))
                    found.add(id(e))
        m.unmatched = [e for e in m.unmatched if id(e) not in found]

    def _extras(self, name: str, server: dict[int, tuple[str | None, int]], claimed: set[int], rows: dict[str, Row],
                uidvalidity: int | None, fv: FolderVerify, expected: Sequence[Expected] = ()) -> None:
        ours = {r.uid: r for r in rows.values() if r.uid is not None and r.uidvalidity == uidvalidity}
        rest = sorted(set(server) - claimed)
        copies = self._copies(rest, ours, server, expected, rows)
        for uid in rest:
            mid, size = server[uid]
            row = ours.get(uid)
            if row is not None:
                fv.gone_from_source += 1
                if self.list_all:
                    self._add("+", "ours", name, detail=_("uploaded by this migration from {where}, no longer in the "
                                                          "source (deleted there, or now out of scope)").format(
                                  where=row.locator), message_id=mid, uid=uid,
                              subject=row.subject, date=row.msg_date, date_source=row.date_source or "",
                              locator=f"UID {uid}")
            elif uid in copies:
                fv.copies += 1  # always listed: the target should hold each message once
                self._add("+", "copy", name, detail=_("a second copy of {original} (same bytes, UID {uid}): uploaded "
                                                      "twice, by a second migrate writing to this account or after "
                                                      "the journal was lost").format(original=copies[uid], uid=uid),
                          message_id=mid, uid=uid, locator=f"UID {uid}")
            else:
                fv.extra += 1
                if self.list_all:
                    self._add("+", "extra", name,
                              detail=_("on the server, not from this migration ({n} bytes)").format(n=size),
                              message_id=mid, uid=uid, locator=f"UID {uid}")

    def _copies(self, uids: list[int], ours: dict[int, Row], server: dict[int, tuple[str | None, int]],
                expected: Sequence[Expected], rows: dict[str, Row]) -> dict[int, str]:
        """{uid: locator of the original} for unclaimed server messages with the very bytes of a
        message of this migration (by content: identity.fingerprint). Only server messages whose
        (Message-ID, size), or size when they have no Message-ID, match one of ours are fetched."""
        by_fp: dict[str, str] = {e.fingerprint: e.locator for e in expected}
        for r in rows.values():
            by_fp.setdefault(r.fingerprint, r.locator)
        mids = {(e.message_id, e.size) for e in expected if e.message_id}
        mids.update((r.message_id, r.size) for r in rows.values() if r.message_id)
        sizes = {e.size for e in expected} | {r.size for r in rows.values()}
        pool = [u for u in uids if u not in ours and ((server[u][0], server[u][1]) in mids
                                                        or (server[u][0] is None and server[u][1] in sizes))]
        found: dict[int, str] = {}
        if not pool:
            return found
        for group in size_chunks(pool, {u: s for u, (_m, s) in server.items()}):
            for uid, raw, _f, _d, _s in self.target.fetch_messages(group, body=True, chunk=len(group)):
                original = by_fp.get(fingerprint(to_crlf(raw)))
                if original is not None:
                    found[uid] = original
        return found

    def _deep(self, name: str, chosen: list[tuple[Expected, int]], sizes: dict[int, int],
              fv: FolderVerify) -> tuple[set[int], set[int]]:
        """Fetch each chosen message; compare bytes (line ends normalized), flags and INTERNALDATE."""
        by_uid = {uid: e for e, uid in chosen}
        seen: set[int] = set()
        differ: set[int] = set()
        for group in size_chunks(sorted(by_uid), sizes):
            binary = self.target.fetch_binary([u for u in group if by_uid[u].risk == "literal8"])
            for uid, raw, flags, date, _size in self.target.fetch_messages(group, body=True, chunk=len(group)):
                seen.add(uid)
                e = by_uid[uid]
                fv.deep_checked += 1
                emit(self.on_event, MessageSettled(e.source, "checked", len(raw)))
                problems = compare(e, raw, flags, date, binary.get(uid))
                if e.risk and problems and problems[0] == _(CONTENT_DIFFERS):
                    got = to_crlf(raw)
                    what = describe_change(e.wire, got) if e.wire is not None else _("{n} bytes returned").format(
                        n=len(got))
                    problems[0] = _("stored changed by the server: {what} (it cannot keep these bytes; a re-run would "
                                    "store them the same way; the source keeps the original)").format(what=what)
                    differ.add(uid)
                    fv.changed += 1
                    fv.present -= 1
                    self._add("*", "changed", name, e, "; ".join(problems) + f" (UID {uid})", uid=uid)
                elif problems:
                    differ.add(uid)
                    fv.different += 1
                    fv.present -= 1
                    self._add("*", "different", name, e, "; ".join(problems) + f" (UID {uid})", uid=uid)
        for uid in sorted(set(by_uid) - seen):
            differ.add(uid)
            fv.present -= 1
            fv.missing += 1
            self._add("-", "missing", name, by_uid[uid],
                      _("vanished from the server during the check (UID {uid})").format(uid=uid))
        return seen, differ


def same_content(e: Expected, raw: bytes, binary: bytes | None = None) -> bool:
    """Whether the server holds the bytes uploaded: its BODY[] (`raw`) or, for a message sent as
    literal8, its BINARY[] (RFC 3516) has the fingerprint. BINARY[] decodes encoded parts, so a
    literal8 message with such parts is the same when BODY[] is the upload with its NULs read back
    as 0x80 (identity.as_read_back) and BINARY[] shows them stored as NUL."""
    if fingerprint(to_crlf(raw)) == e.fingerprint:
        return True
    if binary is None:
        return False
    if fingerprint(to_crlf(binary)) == e.fingerprint:
        return True
    return e.wire is not None and NUL in binary and to_crlf(raw) == as_read_back(e.wire)


def compare(e: Expected, raw: bytes, flags: frozenset[str], date: datetime | None,
            binary: bytes | None = None) -> list[str]:
    """What differs between a source message and the server's copy (empty: the same); a content
    difference is always the first item (CONTENT_DIFFERS, in the user's language)."""
    problems = []
    if not same_content(e, raw, binary):
        problems.append(_(CONTENT_DIFFERS))
    want = {f.lower() for f in e.flags} & FLAGS_COMPARED
    have = {f.lower() for f in flags} & FLAGS_COMPARED
    if not want <= have:
        problems.append(_("flags {have} instead of {want}").format(have=" ".join(sorted(have)) or _("(none)"),
                                                                   want=" ".join(sorted(want))))
    if date is not None and abs(date.timestamp() - datetime.fromisoformat(e.date).timestamp()) > 1:
        problems.append(_("date on the server {date} instead of {expected}").format(date=date.isoformat(),
                                                                                    expected=e.date))
    return problems
