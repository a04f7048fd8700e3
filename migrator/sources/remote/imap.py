"""`imaps://USER@HOST` as a SOURCE: every folder of an IMAP account, read-only (imap/source.py).

- Folders from LIST, parents first; RFC 6154 special-use attributes give the role (\\Sent ->
  sent, ...; INBOX is the inbox). A \\Noselect container (Gmail's `[Gmail]`) holds no messages of its
  own and is not listed: its children keep its name in their path. Virtual folders that only show
  messages kept elsewhere (\\All: Gmail's "All Mail", \\Flagged: "Starred", Gmail's \\Important)
  are skipped with a note: copying them would upload every message a second time into another folder.
- Each message with its FLAGS (\\Recent dropped; \\Deleted: skipped with the reason, as in a local
  store) and INTERNALDATE, which is the store's own delivery time for the dates policy.
- Stable ids `imap:FOLDER:UIDVALIDITY:UID`: resume and verify work as for local stores. A
  UIDVALIDITY change (the server renumbered the folder) gives new ids and a warning; what is already
  on the target is then recognised by content, not uploaded twice.
- Streams: UIDs and sizes first, then BODY.PEEK[] a few messages (at most BODY_BATCH_BYTES) at a time.
- `preview=True` (plan): BODY.PEEK[HEADER] and RFC822.SIZE only, no bodies downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from migrator.domain.dates import SERVER_TIME, internaldate
from migrator.domain.errors import ConnectionLost, MigratorError, SourceError
from migrator.domain.i18n import N_, _
from migrator.domain.records import DELETED, ROLE_INBOX, Folder, MessageRecord
from migrator.domain.remote import RemoteSource
from migrator.imap.source import Examined, ImapReader, ListedFolder, MessageMeta
from migrator.sources.base import Capabilities, Estimate, Known, SourceBase

SPECIAL_USE_ROLES = {"\\sent": "sent", "\\drafts": "drafts", "\\trash": "trash", "\\junk": "junk",
                     "\\archive": "archive"}
VIRTUAL = {"\\all": N_("every message of the account (Gmail's All Mail)"), "\\flagged": N_("the flagged messages"),
           "\\important": N_("the messages Gmail marks important")}
BODY_BATCH = 20  # messages per BODY.PEEK[] fetch
BODY_BATCH_BYTES = 8 * 1024 * 1024  # and at most this many bytes (one big message goes alone)
RECONNECTS = 3  # a dropped source connection is opened again this often per folder
T = TypeVar("T")


def account_folders(listed: list[ListedFolder], url: str) -> tuple[list[Folder], list[str]]:
    """The folders to copy from a LIST answer, parents first, and the notes on those left out.

    Role: INBOX is the inbox; an RFC 6154 attribute (\\Sent, \\Drafts, \\Trash, \\Junk, \\Archive)
    gives its role. Left out: virtual folders (\\All, \\Flagged, Gmail's \\Important: a note each)
    and \\Noselect / \\NonExistent containers (no messages of their own). Path: the name split at its
    delimiter. Key: the mailbox name as the server lists it."""
    out: list[Folder] = []
    notes: list[str] = []
    for lf in listed:
        low = {a.lower() for a in lf.attributes}
        virtual = next((VIRTUAL[a] for a in sorted(low) if a in VIRTUAL), None)
        if virtual is not None:
            notes.append(_("{folder}: not copied: a virtual folder showing {what}, which the other folders hold "
                           "(copying it would upload them twice)").format(folder=lf.name, what=_(virtual)))
            continue
        if not lf.selectable:
            continue
        inbox = lf.name.upper() == "INBOX"
        path = ("INBOX",) if inbox else (tuple(p for p in lf.name.split(lf.delimiter) if p) if lf.delimiter
                                          else (lf.name,))
        role = ROLE_INBOX if inbox else next((SPECIAL_USE_ROLES[a] for a in sorted(low) if a in SPECIAL_USE_ROLES),
                                             None)
        out.append(Folder(path=path or (lf.name,), origin=f"{url}/{lf.name}", key=lf.name, role=role))
    out.sort(key=lambda f: f.path)  # parents before children
    return out, notes


class ImapSource(SourceBase):
    """An IMAP account as a read-only Source (see the module docstring)."""

    kind = "imap"
    capabilities = Capabilities(change_token=True, resume_offset=True, skip_known=True, reload=True)

    def __init__(self, src: RemoteSource, *, preview: bool = False,
                 on_plaintext: Callable[[str], None] | None = None) -> None:
        self.src = src
        self.root = Path(src.url)
        self.preview = preview
        self._reader = ImapReader(src.imap_config(), on_plaintext=on_plaintext)
        self._reader.connect()
        self._warnings: list[str] = []
        self._folders: list[Folder] | None = None
        self._listed: dict[str, ListedFolder] = {}
        self._ended: dict[str, tuple[int, int]] = {}  # folder key -> (UIDVALIDITY, next UID to read)

    @property
    def warnings(self) -> list[str]:
        """Skipped virtual folders, UIDVALIDITY changes: each once."""
        return list(dict.fromkeys(self._warnings))

    def close(self) -> None:
        """LOGOUT (nothing on the server changes)."""
        self._reader.close()

    def _again(self) -> None:
        self._reader.connect()

    def folders(self) -> list[Folder]:
        """Every folder but the virtual ones and containers, parents first; key = the server's mailbox name."""
        if self._folders is None:
            listed = self._retry(self._reader.list_folders)
            self._listed = {lf.name: lf for lf in listed}
            self._folders, notes = account_folders(listed, self.src.url)
            self._warnings.extend(notes)
        return self._folders

    def _retry(self, fn: Callable[[], T]) -> T:
        """`fn()`, on a new session after a dropped connection (at most RECONNECTS times)."""
        for attempt in range(RECONNECTS + 1):
            try:
                return fn()
            except ConnectionLost:
                if attempt == RECONNECTS:
                    raise
                self._again()
        raise AssertionError("not reached")

    def token(self, folder: Folder) -> str | None:
        """UIDVALIDITY, UIDNEXT, MESSAGES and HIGHESTMODSEQ (STATUS): unchanged strings mean an
        unchanged folder (any delivery, expunge or, with CONDSTORE, flag change moves them)."""
        if not self._selectable(folder):
            return "imap:noselect"
        st = self._retry(lambda: self._reader.status(folder.key))
        return "imap:" + ":".join(str(x) for x in st)

    def estimate(self, folder: Folder) -> Estimate | None:
        """STATUS MESSAGES (exact: one record per UID) and, where the server has STATUS=SIZE
        (RFC 8438), the bytes; None when the server does not answer."""
        if not self._selectable(folder):
            return Estimate(0, 0, messages_exact=True, bytes_exact=True)
        try:
            count, size = self._retry(lambda: self._reader.counts(folder.key))
        except (MigratorError, OSError):
            return None
        return Estimate(count, size, messages_exact=True)

    def _selectable(self, folder: Folder) -> bool:
        lf = self._listed.get(folder.key)
        return lf is None or lf.selectable

    def resume_info(self, folder: Folder) -> dict[str, object] | None:
        """After a complete read: {"uidvalidity", "uidnext"}: the next run reads only UIDs from there."""
        ended = self._ended.get(folder.key)
        return {"uidvalidity": ended[0], "uidnext": ended[1]} if ended else None

    def resume_offset(self, folder: Folder, info: dict[str, object]) -> int | None:
        """The first UID to read when the folder only got new mail since `info` (same UIDVALIDITY);
        None (read all) after a UIDVALIDITY change, with a warning."""
        if not self._selectable(folder):
            return None
        validity, _uidnext, _n, _modseq = self._retry(lambda: self._reader.status(folder.key))
        old = info.get("uidvalidity")
        if not isinstance(old, int) or not isinstance(info.get("uidnext"), int):
            return None
        if old != validity:
            self._warnings.append(self._validity_note(folder, old, validity))
            return None
        start = info["uidnext"]
        assert isinstance(start, int)
        return start if start > 1 else None

    @staticmethod
    def _validity_note(folder: Folder, old: int, new: int) -> str:
        return _("{folder}: the server renumbered this folder (UIDVALIDITY {old} -> {new}): its messages get new ids; "
                 "those already copied are recognised by content and not uploaded again").format(
            folder=folder.display, old=old, new=new)

    def _examine(self, folder: Folder) -> Examined:
        return self._retry(lambda: self._reader.examine(folder.key))

    def messages(self, folder: Folder, *, resume: int = 0, known: Known | None = None) -> Iterator[MessageRecord]:
        """The folder's messages in UID order, from UID `resume` on (resume_offset); those `known`
        (stable id, RFC822.SIZE) to be settled come without bytes (extra "known")."""
        if not self._selectable(folder):
            return
        try:
            ex = self._examine(folder)
        except SourceError as exc:  # deleted or renamed on the server since LIST: said, not lost silently
            yield MessageRecord(folder=folder, stable_id=f"imap:{folder.key}:examine", raw=b"",
                                date=internaldate(b"")[0], locator=f"{self.src.url}/{folder.key}", error=exc.message)
            return
        validity = ex.uidvalidity
        def listing() -> list[MessageMeta]:
            if self._reader.selected != folder.key:  # a new session after a drop
                self._reader.examine(folder.key)
            return list(self._reader.meta(self._reader.uids(max(1, resume))))

        metas = self._retry(listing)  # a few dozen bytes per message, bodies come in batches
        last = resume - 1 if resume > 1 else 0
        batch: list[MessageMeta] = []
        batch_bytes = 0
        for meta in metas:
            sid = self.stable_id(folder, validity, meta.uid)
            if known is not None and known(sid, meta.size):
                yield from self._flush(folder, validity, batch)
                batch, batch_bytes = [], 0
                yield self._known(folder, sid, meta)
                last = meta.uid
                continue
            if batch and (len(batch) >= BODY_BATCH or batch_bytes + meta.size > BODY_BATCH_BYTES):
                yield from self._flush(folder, validity, batch)
                batch, batch_bytes = [], 0
            batch.append(meta)
            batch_bytes += meta.size
            last = meta.uid
        yield from self._flush(folder, validity, batch)
        self._ended[folder.key] = (validity, max(last + 1, 1) if metas else max(ex.uidnext, resume, 1))

    @staticmethod
    def stable_id(folder: Folder, validity: int, uid: int) -> str:
        """`imap:FOLDER:UIDVALIDITY:UID`: unique in the account, the same while the server keeps the UID."""
        return f"imap:{folder.key}:{validity}:{uid}"

    def _fetch(self, folder: Folder, validity: int, uids: list[int]) -> dict[int, bytes]:
        """BODY.PEEK[] (or [HEADER] in preview) of `uids`; after a drop, on a new session, when the
        folder kept its UIDVALIDITY (else SourceError: run again to read it with its new ids)."""
        for attempt in range(RECONNECTS + 1):
            try:
                if self._reader.selected != folder.key:
                    ex = self._reader.examine(folder.key)
                    if ex.uidvalidity != validity:
                        self._warnings.append(self._validity_note(folder, validity, ex.uidvalidity))
                        raise SourceError(_("source: {folder} was renumbered while being read").format(
                            folder=folder.display), hint=_("Run the same command again: it reads the folder with its "
                                                           "new ids."))
                return self._reader.bodies(uids, headers_only=self.preview)
            except ConnectionLost:
                if attempt == RECONNECTS:
                    raise
                self._again()
        raise AssertionError("not reached")

    def _flush(self, folder: Folder, validity: int, batch: list[MessageMeta]) -> Iterator[MessageRecord]:
        if not batch:
            return
        bodies = self._fetch(folder, validity, [m.uid for m in batch])
        for meta in batch:
            raw = bodies.pop(meta.uid, None)
            yield self._record(folder, validity, meta, raw)

    def _record(self, folder: Folder, validity: int, meta: MessageMeta, raw: bytes | None) -> MessageRecord:
        sid = self.stable_id(folder, validity, meta.uid)
        locator = f"{self.src.url}/{folder.key} UID {meta.uid}"
        flags = frozenset(f for f in meta.flags if f.lower() not in ("\\recent", "\\deleted"))
        if raw is None:
            return MessageRecord(folder=folder, stable_id=sid, raw=b"", date=internaldate(b"")[0], locator=locator,
                                 error=_("the server returned no body for this UID (expunged while being read?)"))
        date, source = internaldate(raw, store_times=((SERVER_TIME, meta.internaldate),))
        extra = {"source_size": str(meta.size)}
        if self.preview:
            extra.update(preview="1", size=str(meta.size))
        return MessageRecord(folder=folder, stable_id=sid, raw=raw, date=date, date_source=source, flags=flags,
                             locator=locator, extra=extra,
                             skip_reason="marked deleted in the source" if any(
                                 f.lower() == DELETED.lower() for f in meta.flags) else None)

    def _known(self, folder: Folder, sid: str, meta: MessageMeta) -> MessageRecord:
        date, source = internaldate(b"", store_times=((SERVER_TIME, meta.internaldate),))
        flags = frozenset(f for f in meta.flags if f.lower() not in ("\\recent", "\\deleted"))
        return MessageRecord(folder=folder, stable_id=sid, raw=b"", date=date, date_source=source, flags=flags,
                             locator=f"{self.src.url}/{folder.key} UID {meta.uid}",
                             extra={"known": "1", "size": str(meta.size)})

    def reload(self, rec: MessageRecord) -> MessageRecord:
        """Read a message passed over as known after all (one UID FETCH)."""
        _kind, _sep, rest = rec.stable_id.partition(":")
        _name, validity_s, uid_s = rest.rsplit(":", 2)
        validity, uid = int(validity_s), int(uid_s)
        folder = rec.folder

        def one() -> list[MessageMeta]:
            if self._reader.selected != folder.key and self._reader.examine(folder.key).uidvalidity != validity:
                return []
            return list(self._reader.meta([uid]))

        metas = self._retry(one)
        if not metas:
            return MessageRecord(folder=folder, stable_id=rec.stable_id, raw=b"", date=rec.date, locator=rec.locator,
                                 error=_("expunged from the source while being read"))
        bodies = self._fetch(folder, validity, [uid])
        return self._record(folder, validity, metas[0], bodies.get(uid))
