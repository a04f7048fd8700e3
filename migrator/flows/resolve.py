"""Crash recovery against the server: settle journalled intents, re-establish after UIDVALIDITY changes.

Only reads the server (EXAMINE, FETCH BODY.PEEK): never adds headers to find our messages.
"""

from __future__ import annotations

from collections import defaultdict

from migrator.domain.identity import NUL_READ_BACK, fingerprint, to_crlf
from migrator.flows.server import Server
from migrator.flows.verify import size_chunks
from migrator.journal.state import State


def _hash_candidates(target: Server, uids: list[int], sizes: dict[int, int]) -> dict[str, list[int]]:
    """{fingerprint: UIDs} of what the server holds (the folder last examined); bodies fetched in
    groups bounded in bytes (`sizes`: RFC822.SIZE by UID), so that a few big messages are not in
    memory at once. A message whose BODY[] shows 0x80 (where a stored NUL reads back,
    identity.as_read_back) is hashed through BINARY[] too when the server offers it, so a NUL
    message sent as literal8 is recognised by its own fingerprint; the journal's `read_back`
    fingerprint recognises it from BODY[] alone (no BINARY, or encoded parts)."""
    by_fp: dict[str, list[int]] = defaultdict(list)
    maybe_nul: list[int] = []
    for group in size_chunks(uids, sizes):
        for uid, raw, _flags, _date, _size in target.fetch_messages(group, body=True, chunk=len(group)):
            by_fp[fingerprint(to_crlf(raw))].append(uid)
            if NUL_READ_BACK in raw:
                maybe_nul.append(uid)
            del raw
    for group in size_chunks(maybe_nul, sizes):
        for uid, raw in target.fetch_binary(group).items():
            fp = fingerprint(to_crlf(raw))
            if uid not in by_fp[fp]:
                by_fp[fp].append(uid)
    return by_fp


def _take(by_fp: dict[str, list[int]], fps: tuple[str | None, ...], claimed: set[int]) -> int | None:
    """The first unclaimed UID holding one of these fingerprints; it is claimed (each UID answers
    for one message, even when listed under its BODY[] and its BINARY[] fingerprint)."""
    for fp in fps:
        uids = by_fp.get(fp) if fp else None
        while uids:
            uid = uids.pop(0)
            if uid not in claimed:
                claimed.add(uid)
                return uid
    return None


def resolve_intents(target: Server, state: State, folder: str,
                    only: set[str] | None = None) -> tuple[int, int]:
    """Mark intents whose message reached the server as done, re-queue the others.

    `only`: just these fingerprints (other intents of the folder may be in flight on other
    connections). Returns (found, requeued).
    """
    intents = [r for r in state.rows(target=folder, status="intent") if only is None or r.fingerprint in only]
    if not intents:
        return 0, 0
    if folder not in target.known_folders():
        state.requeue(folder, [r.fingerprint for r in intents])
        return 0, len(intents)
    st = target.examine(folder)
    known_uv, _ = state.folder(folder)
    low = 1
    if known_uv == st.uidvalidity:
        low = max(1, min((r.uidnext_at_intent or 1) for r in intents))
    taken = {r.uid for r in state.rows(target=folder, status="done") if r.uid is not None}
    sizes = {m.uid: m.size for m in target.index(folder, min_uid=low) if m.uid not in taken}
    by_fp = _hash_candidates(target, list(sizes), sizes)
    risky = state.at_risk(folder)
    claimed: set[int] = set()
    done: list[tuple[str, str, int | None, int | None]] = []
    requeue: list[str] = []
    for row in intents:
        uid = _take(by_fp, (row.fingerprint, risky.get((folder, row.fingerprint), ("", None))[1]), claimed)
        if uid is not None:
            done.append((folder, row.fingerprint, st.uidvalidity, uid))
        else:
            requeue.append(row.fingerprint)
    state.mark_done(done)
    state.requeue(folder, requeue)
    return len(done), len(requeue)


def revalidate_folder(target: Server, state: State, folder: str, uidvalidity: int) -> tuple[int, int]:
    """UIDVALIDITY changed: our UIDs mean nothing now. Find each done message again by
    Message-ID + size (by content when it has no Message-ID); mark the rest missing so the
    next pass uploads them. Returns (found, missing)."""
    by_mid: dict[tuple[str, int], list[int]] = defaultdict(list)
    no_mid: dict[int, int] = {}  # UID -> size
    for m in target.index(folder):
        if m.message_id:
            by_mid[(m.message_id, m.size)].append(m.uid)
        else:
            no_mid[m.uid] = m.size
    by_fp = _hash_candidates(target, list(no_mid), no_mid) if no_mid else {}
    risky = state.at_risk(folder)
    claimed: set[int] = set()
    found: list[tuple[str, str, int | None, int | None]] = []
    missing: list[int] = []
    for row in state.rows(target=folder, status="done"):
        uids = by_mid.get((row.message_id, row.size)) if row.message_id else None
        uid = uids.pop(0) if uids else None
        if uid is None and not row.message_id:
            uid = _take(by_fp, (row.fingerprint, risky.get((folder, row.fingerprint), ("", None))[1]), claimed)
        if uid is not None:
            found.append((folder, row.fingerprint, uidvalidity, uid))
        else:
            missing.append(row.id)
    state.mark_done(found)
    state.mark_missing(missing)
    state.forget_source_folders([folder])
    return len(found), len(missing)
