"""What a target folder already holds that the journal does not explain (a lost journal, a
second writer, mail put there by hand): the "already on the server" index of plan and run.

Memory stays flat whatever the folder's size: the listing keeps (Message-ID, size) counts and
the UIDs of messages without a Message-ID by size; bodies are fetched only for a size a pending
source message has, streamed, and only their hashes kept (see ServerIndex.take_content).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from migrator.flows.server import Server
from migrator.journal.state import State


@dataclass
class ServerIndex:
    """What a target folder already holds that our state does not explain: (Message-ID, size)
    counts, and the UIDs of the messages without a Message-ID by RFC822.SIZE. The latter are
    matched by content: only when a source message of the same size asks are the bodies of that
    size fetched (streamed, a chunk at a time) and hashed; only the hashes are kept."""

    counts: Counter[tuple[str, int]] = field(default_factory=Counter)
    by_size: dict[int, list[int]] = field(default_factory=dict)  # no Message-ID: size -> UIDs not yet claimed
    hashed: dict[str, list[int]] = field(default_factory=dict)  # fingerprint -> UIDs (sizes already fetched)
    hashed_sizes: set[int] = field(default_factory=set)

    def take(self, mid: str | None, size: int) -> bool:
        """Claim one server copy with this Message-ID and RFC822.SIZE (bytes) not explained by the
        journal; False when there is none left (or `mid` is None)."""
        if mid is None or not self.counts or self.counts.get((mid, size), 0) <= 0:  # get: no __missing__ call
            return False
        self.counts[(mid, size)] -= 1
        return True

    def take_content(self, fp: str, size: int,
                     hash_uids: Callable[[list[int]], Iterable[tuple[int, str]]], also: str | None = None) -> bool:
        """Claim a server message with exactly these bytes (`fp`: identity.fingerprint of the wire
        form, `size` its length in bytes). `hash_uids(uids)` yields (uid, fingerprint) of the
        server's copies; it is called once per size, only for a size some server message has.
        `also`: the fingerprint of the bytes as the server returns them to BODY[] when that differs
        (identity.as_read_back of a message at risk: NUL read back as 0x80)."""
        if not self.by_size or size not in self.by_size:
            return False
        if size not in self.hashed_sizes:
            self.hashed_sizes.add(size)
            for uid, got in hash_uids(list(self.by_size[size])):
                self.hashed.setdefault(got, []).append(uid)
        uids = self.hashed.get(fp) or (self.hashed.get(also) if also else None)
        if not uids:
            return False
        uid = uids.pop(0)
        self.by_size[size].remove(uid)
        return True


def build_index(target: Server, folder: str, state: State) -> ServerIndex:
    """The ServerIndex of target `folder` (EXAMINE + UID FETCH of RFC822.SIZE and Message-ID, read-only):
    every server message minus those the journal records as ours (by UID under the same UIDVALIDITY,
    else by Message-ID + size). Empty when the folder does not exist yet."""
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
        if msg.uid in ours_uid:
            continue
        if msg.message_id is None:
            idx.by_size.setdefault(msg.size, []).append(msg.uid)
            continue
        idx.counts[(msg.message_id, msg.size)] += 1
    idx.counts.subtract(ours_nouid)
    return idx
