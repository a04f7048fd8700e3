"""Crash recovery against the server: settle journalled intents, re-establish after UIDVALIDITY changes.

Only reads the server (EXAMINE, FETCH BODY.PEEK): never adds headers to find our messages.
"""

from __future__ import annotations

from collections import defaultdict

from migrator.identity import fingerprint, to_crlf
from migrator.state import State
from migrator.target.imap import ImapTarget


def _hash_candidates(target: ImapTarget, uids: list[int]) -> dict[str, list[int]]:
    by_fp: dict[str, list[int]] = defaultdict(list)
    for uid, raw, _flags, _date, _size in target.fetch_messages(uids, body=True, chunk=100):
        by_fp[fingerprint(to_crlf(raw))].append(uid)
    return by_fp


def resolve_intents(target: ImapTarget, state: State, folder: str,
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
    candidates = [m.uid for m in target.index(folder, min_uid=low) if m.uid not in taken]
    by_fp = _hash_candidates(target, candidates)
    done: list[tuple[str, str, int | None, int | None]] = []
    requeue: list[str] = []
    for row in intents:
        uids = by_fp.get(row.fingerprint)
        if uids:
            done.append((folder, row.fingerprint, st.uidvalidity, uids.pop(0)))
        else:
            requeue.append(row.fingerprint)
    state.mark_done(done)
    state.requeue(folder, requeue)
    return len(done), len(requeue)


def revalidate_folder(target: ImapTarget, state: State, folder: str, uidvalidity: int) -> tuple[int, int]:
    """UIDVALIDITY changed: our UIDs mean nothing now. Find each done message again by
    Message-ID + size (by content when it has no Message-ID); mark the rest missing so the
    next pass uploads them. Returns (found, missing)."""
    by_mid: dict[tuple[str, int], list[int]] = defaultdict(list)
    no_mid: list[int] = []
    for m in target.index(folder):
        if m.message_id:
            by_mid[(m.message_id, m.size)].append(m.uid)
        else:
            no_mid.append(m.uid)
    by_fp = _hash_candidates(target, no_mid) if no_mid else {}
    found: list[tuple[str, str, int | None, int | None]] = []
    missing: list[int] = []
    for row in state.rows(target=folder, status="done"):
        uids = by_mid.get((row.message_id, row.size)) if row.message_id else by_fp.get(row.fingerprint)
        if uids:
            found.append((folder, row.fingerprint, uidvalidity, uids.pop(0)))
        else:
            missing.append(row.id)
    state.mark_done(found)
    state.mark_missing(missing)
    state.forget_source_folders([folder])
    return len(found), len(missing)
