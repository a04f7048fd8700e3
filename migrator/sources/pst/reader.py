"""Outlook .pst / .ost reader built on libpff-python (`pypff`), imported lazily.

Only the IPM subtree (the user's folders, found through the store's PR_IPM_SUBTREE_ENTRYID, not
by its localized name) is listed; search folders, views and folder-associated items are left out.
Outlook's default folders get their role from the store's entry-id properties whatever the
language, with localized names only as a fallback. Mail items are rebuilt as MIME by
`pst_mime.build_message()`; calendar, contact, task, note... items are yielded as skipped with a
reason; items libpff cannot read are yielded with `error` set, and so are the items a folder
counts (PR_CONTENT_COUNT) but whose damaged table does not list (see `pst_damage`): a damaged
folder or sub-folder list never ends the run and is never skipped silently. One item at a time
is in memory. An .ost (Outlook's offline cache) is read the same way; `warnings` says what it is.
Mail kept directly at the top of the store gets a folder named after the store (Outlook shows
the store's display name there). Property tags and their decoding live in `pst_mapi`.

Embedded messages (attach method 5) are opened through libpff's C API by pst/embedded.py (the
one ctypes user); where that is not possible the embedded message is kept as a binary attachment
and the record says so in `extra["warning"]`.
"""

from __future__ import annotations

import contextlib
import struct
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from migrator.domain import records as base
from migrator.domain.dates import CREATION_TIME, DELIVERY_TIME, SUBMIT_TIME, internaldate
from migrator.domain.errors import SourceError
from migrator.domain.headers import EPOCH_FALLBACK
from migrator.domain.i18n import _
from migrator.domain.records import Folder, MessageRecord
from migrator.sources.base import Capabilities, Estimate, Known, SourceBase
from migrator.sources.pst import mapi
from migrator.sources.pst.damage import PST_MAGIC, FolderCount, guard, is_ost, ost_note
from migrator.sources.pst.damage import first_sentence as _first_sentence
from migrator.sources.pst.embedded import EmbeddedOpener
from migrator.sources.pst.mapi import (
    OneRecordSet,
    Props,
    ansi_codepage_for,
    flags_for,
    multi_binary,
    nid_from_entry_id,
    skip_reason_for,
    smtp_address,
    strip_subject_prefix,
)
from migrator.sources.pst.mime import Attachment, MapiMessage, Recipient, build_message

REINSTALL_HINT = "pip install --force-reinstall libpff-python"

MAX_EMBED_DEPTH = 8


def detect(path: Path) -> bool:
    """True for a file that starts like a PST/OST (the "!BDN" magic; an .ost has "SO" at offset 8)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == PST_MAGIC
    except OSError:
        return False


class PstSource(SourceBase):
    """A read-only Outlook .pst/.ost file (see the module docstring).

    It skips known items (converting an item is the costly part) and reloads one on demand; it
    has no change token (a PST changes in place) and never resumes from an offset."""

    kind = "pst"
    capabilities = Capabilities(skip_known=True, reload=True)

    def __init__(self, path: Path, ansi_codepage: int | None = None) -> None:
        self.root = Path(path)
        self.ansi_codepage = ansi_codepage  # for ANSI PSTs whose items carry no code page
        self.password_protected = False  # PR_PST_PASSWORD is set: a UI lock only, the data is readable
        try:
            import pypff  # lazy: a broken binary only affects PST users
        except ImportError as exc:
            raise SourceError(_("cannot read {path}: the PST reader libpff-python is missing or broken "
                                "({reason})").format(
                path=self.root, reason=exc),
                              hint=REINSTALL_HINT) from exc
        self._pypff: Any = pypff
        try:
            self._fh = open(self.root, "rb")  # noqa: SIM115  (closed in close())
        except OSError as exc:
            raise SourceError(_("cannot open {path}: {reason}").format(
                path=self.root, reason=exc.strerror or exc)) from exc
        self._file: Any = pypff.file()
        try:
            # wVer 14/15: an ANSI (pre-2003) file, whose strings are in the writer's Windows code page.
            header = self._fh.read(12)
            self._ansi_file = header[10:12] in (b"\x0e\x00", b"\x0f\x00")
            self.is_ost = is_ost(self.root, header)  # Outlook's offline cache of a server mailbox
            self._fh.seek(0)
            self._file.open_file_object(self._fh)
            self._root_folder = self._file.root_folder
        except Exception as exc:  # libpff raises OSError; a broken binary may raise others
            self._fh.close()
            raise SourceError(
                _("{path} is not a readable Outlook data file (.pst/.ost): it may be truncated or corrupt "
                  "({reason})").format(
                    path=self.root, reason=_first_sentence(exc)),
                hint=_("Repair it with Outlook's Inbox Repair Tool (scanpst.exe) and try again."),
            ) from exc
        self._embedded = EmbeddedOpener(pypff)
        self._folders: list[Folder] | None = None
        self._pff_folders: dict[str, Any] = {}
        self._store_records: int | None = None  # records of every folder (Source.estimate's share of the size)
        self._account_tag: int | None = None
        self._store_codepage: int | None = ansi_codepage
        self._why: dict[str, str] = {}  # key of a folder libpff cannot open -> the reason
        self._notes: dict[str, str] = {}  # folder key -> what is damaged or incomplete in it
        self._ost_note = ost_note(self.root) if self.is_ost else ""

    @property
    def warnings(self) -> list[str]:
        """What the plan and the run say about this file: an .ost's nature, each damaged folder."""
        return ([self._ost_note] if self._ost_note else []) + list(self._notes.values())

    # ------------------------------------------------------------------ folders

    def folders(self) -> list[Folder]:
        """The PST's folders under the IPM subtree (Source.folders), parents first, read once;
        search folders are left out. SourceError when the folder list cannot be read at all."""
        if self._folders is None:
            self._folders = self._walk_folders()
        return list(self._folders)

    def _walk_folders(self) -> list[Folder]:
        try:
            store = Props(self._file.message_store) if self._file.message_store is not None else None
        except OSError:
            store = None  # damaged store properties: roles fall back to folder names
        root_props = Props.safe(self._root_folder)
        if store is not None:
            self.password_protected = store.integer(mapi.PR_PST_PASSWORD) != 0
            self._account_tag = self._named_tag(mapi.PSETID_COMMON, mapi.PIDLID_INTERNET_ACCOUNT_NAME)
        try:
            top = self._find_ipm_subtree(store)
        except OSError as exc:
            raise SourceError(_("{path}: the folder list cannot be read: {reason}").format(
                path=self.root, reason=_first_sentence(exc)),
                              hint=_("Repair it with Outlook's Inbox Repair Tool (scanpst.exe) and try "
                                     "again.")) from exc
        if self._ansi_file and self._store_codepage is None and top is not None:
            self._store_codepage = self._sample_codepage(top)
            if store is not None:
                store.codepage = self._store_codepage
        roles = self._roles_by_entry_id(store, root_props)
        origin = str(self.root)
        out: list[Folder] = []
        found: list[tuple[Any, tuple[str, ...], str]] = []
        if top is not None:
            self._collect(top, (), found)
        else:  # no IPM subtree: take every top-level folder that is not Outlook's own
            skip = {nid_from_entry_id(store.binary(t)) for t in (0x35E5, 0x35E6, 0x35E7)} if store else set()
            for child, path, why in self._children(self._root_folder, ()):
                if child is None or (child.identifier not in skip and path[0].casefold() not in mapi.SYSTEM_NAMES):
                    found.append((child, path, why))
                    if child is not None:
                        self._collect(child, path, found)
        if top is not None and _may_hold_items(top):
            # Mail kept at the top of the store itself: a folder named like the store, as Outlook shows it.
            name = (store.text(mapi.PR_DISPLAY_NAME) if store else "") or self._name_of(top) or "Personal Folders"
            if any(path == (name,) for _, path, _why in found):
                name += " (top)"
            out.append(self._register(Folder(path=(name,), origin=origin, key=str(top.identifier)), top))
        by_role = {nid: role for role, nid in roles.items()}
        if base.ROLE_INBOX not in roles:
            inbox = next((f for f, _, _why in found if f is not None and self._looks_like_inbox(f)), None)
            if inbox is not None:
                by_role[inbox.identifier] = base.ROLE_INBOX
        missing = [r for r in mapi.ROLE_NAMES if r not in by_role.values()]
        for index, (pff, path, why) in enumerate(found):
            if pff is None:  # a folder libpff cannot open: listed so that its failure is reported
                self._why[f"unreadable:{index}"] = why
                out.append(self._register(Folder(path=path, origin=origin, key=f"unreadable:{index}"), None))
                continue
            role = by_role.get(pff.identifier)
            if role is None and len(path) == 1:
                name = " ".join(path[0].split()).casefold()
                role = next((r for r in missing if name in mapi.ROLE_NAMES[r]), None)
                if role is not None:
                    missing.remove(role)
            out.append(self._register(Folder(path=path, origin=origin, key=str(pff.identifier), role=role), pff))
        return out

    def _name_of(self, folder: Any) -> str:
        """The folder's name; in an ANSI file decoded with the store's code page, not libpff's cp1252."""
        props = Props.safe(folder, self._store_codepage)
        return " ".join(props.text(mapi.PR_DISPLAY_NAME).split())

    def _sample_codepage(self, top: Any, limit: int = 20) -> int | None:
        """The code page most items of an ANSI file declare (PR_MESSAGE_CODEPAGE), for its folder names."""
        seen: list[int] = []
        pending = [top]
        while pending and len(seen) < limit:
            folder = pending.pop(0)
            with contextlib.suppress(OSError):
                for i in range(min(_count_messages(folder), 5)):
                    cp = Props.safe(folder.get_sub_message(i)).integer(mapi.PR_MESSAGE_CODEPAGE)
                    if cp and cp not in (1200, 1201, 65000, 65001):
                        seen.append(cp)
                pending += [folder.get_sub_folder(j) for j in range(folder.number_of_sub_folders)]
        return max(set(seen), key=seen.count) if seen else None

    def _register(self, folder: Folder, pff: Any) -> Folder:
        self._pff_folders[folder.key] = pff
        return folder

    def _children(self, parent: Any, path: tuple[str, ...]) -> Iterator[tuple[Any, tuple[str, ...], str]]:
        """(folder, path, "") of each sub-folder that is not a search folder; (None, path, why) for
        one libpff cannot open, and for a sub-folder list (hierarchy table) it cannot read."""
        count, why = guard(lambda: int(parent.number_of_sub_folders))
        if count is None:
            if Props.safe(parent).raw(mapi.PR_SUBFOLDERS) is None or Props.safe(parent).integer(mapi.PR_SUBFOLDERS):
                yield None, path + ("(sub-folders that cannot be listed)" if path else
                                    "(top-level folders that cannot be listed)",), (
                    f"the folder's list of sub-folders (hierarchy table) cannot be read: {why}")
            return
        for i in range(count):
            child, why = guard(lambda: parent.get_sub_folder(i))  # noqa: B023 - guard() calls it at once
            nid, why = guard(lambda: int(child.identifier)) if child is not None else (None, why)  # noqa: B023
            if child is None or nid is None:
                yield None, path + (f"(unreadable folder {i + 1})",), f"the folder cannot be opened: {why}"
                continue
            if nid & 0x1F == mapi.NID_TYPE_SEARCH_FOLDER or Props.safe(child).integer(mapi.PR_FOLDER_TYPE) == 2:
                continue
            name = self._name_of(child)
            if not name and guard(lambda: Props(child))[0] is None:  # noqa: B023 - called at once
                self._notes[f"name:{nid}"] = (f"a folder's properties cannot be read (damaged): its name is unknown, "
                                              f"it is migrated as 'Folder {nid}' under {'/'.join(path) or 'the top'}")
            yield child, path + (name or f"Folder {nid}",), ""

    def _collect(self, parent: Any, path: tuple[str, ...], out: list[tuple[Any, tuple[str, ...], str]]) -> None:
        for child, child_path, why in self._children(parent, path):
            out.append((child, child_path, why))
            if child is not None:
                self._collect(child, child_path, out)

    def _find_ipm_subtree(self, store: Props | None) -> Any:
        want = nid_from_entry_id(store.binary(mapi.PR_IPM_SUBTREE_ENTRYID)) if store else None
        children = [child for child, _path, _why in self._children(self._root_folder, ()) if child is not None]
        for test in (lambda f: f.identifier == want,
                     lambda f: " ".join(self._name_of(f).split()).casefold() in mapi.TOP_NAMES,
                     lambda f: f.identifier == 0x8022):
            match = next((f for f in children if test(f)), None)
            if match is not None:
                return match
        return None

    @staticmethod
    def _looks_like_inbox(folder: Any) -> bool:
        """Outlook writes the default-folder entry ids on the root folder and on the Inbox only."""
        props = Props.safe(folder)
        return any(props.raw(t) for t in (mapi.PR_IPM_APPOINTMENT_ENTRYID, mapi.PR_IPM_CONTACT_ENTRYID,
                                            mapi.PR_IPM_DRAFTS_ENTRYID, mapi.PR_ADDITIONAL_REN_ENTRYIDS))

    @staticmethod
    def _roles_by_entry_id(store: Props | None, root: Props) -> dict[str, int]:
        roles: dict[str, int] = {}
        candidates = [(base.ROLE_TRASH, store, mapi.PR_IPM_WASTEBASKET_ENTRYID),
                      (base.ROLE_SENT, store, mapi.PR_IPM_SENTMAIL_ENTRYID),
                      (base.ROLE_OUTBOX, store, mapi.PR_IPM_OUTBOX_ENTRYID),
                      (base.ROLE_DRAFTS, root, mapi.PR_IPM_DRAFTS_ENTRYID)]
        for role, props, tag in candidates:
            nid = nid_from_entry_id(props.binary(tag)) if props is not None else None
            if nid:
                roles[role] = nid
        ren = multi_binary(root.binary(mapi.PR_ADDITIONAL_REN_ENTRYIDS))
        junk = nid_from_entry_id(ren[4]) if len(ren) > 4 else None
        if junk:
            roles[base.ROLE_JUNK] = junk
        return roles

    def _named_tag(self, guid: uuid.UUID, lid: int) -> int | None:
        """The property tag a named property (GUID, LID) has in this file (from the name-to-id map)."""
        try:
            props = Props(self._file.name_to_id_map)
        except (OSError, AttributeError, TypeError):
            return None
        guids, entries = props.binary(0x0002) or b"", props.binary(0x0003) or b""
        for off in range(0, len(entries) - 7, 8):
            ident, guid_and_kind, index = struct.unpack_from("<IHH", entries, off)
            if guid_and_kind & 1 or ident != lid:
                continue
            gi = guid_and_kind >> 1
            stored = guids[(gi - 3) * 16:(gi - 2) * 16] if gi >= 3 else b""
            if len(stored) == 16 and uuid.UUID(bytes_le=stored) == guid:
                return 0x8000 + int(index)
        return None

    # ------------------------------------------------------------------ messages

    def messages(self, folder: Folder, *, resume: int = 0, known: Known | None = None) -> Iterator[MessageRecord]:
        """Stream the folder's items (Source.messages; `resume` is always 0 here). An item
        `known(stable_id, modification time)` to be on the target already is not converted again
        (that is the costly part of reading a PST): it comes with empty bytes and extra["known"];
        extra["size"] carries the change detector."""
        if self._folders is None:
            self.folders()
        if folder.key not in self._pff_folders:
            return
        pff = self._pff_folders[folder.key]
        if pff is None:  # a folder (or a list of sub-folders) libpff cannot open
            why = self._why.get(folder.key, "libpff cannot open this folder")
            self._notes[folder.key] = (f"folder {folder.display!r} cannot be read ({why}); "
                                       "every other folder is migrated")
            yield self._failed(folder, f"pst:folder:{folder.key}", why, "")
            return
        expected = Props.safe(pff).raw(mapi.PR_CONTENT_COUNT)
        listed, why = guard(lambda: int(pff.number_of_sub_messages))
        tally = FolderCount(Props.safe(pff).integer(mapi.PR_CONTENT_COUNT) if expected else None, listed, why=why)
        yield from self._items(folder, pff, tally, known)
        reason = tally.missing_reason(self.is_ost)
        start = tally.listed or 0
        for index in range(start, start + tally.not_listed):
            yield self._failed(folder, f"pst:folder:{folder.key}#{index}", reason, f"item #{index + 1}")
        if tally.listed is None and tally.expected is None:  # nothing says how many: one line for the folder
            yield self._failed(folder, f"pst:folder:{folder.key}", reason, "")
        note = tally.note(folder.display, self.is_ost)
        if note:
            self._notes[folder.key] = note

    def estimate(self, folder: Folder) -> Estimate | None:
        """A cheap count (Source.estimate): the records `messages` yields, from the folder's
        PR_CONTENT_COUNT and its contents table's row count by the same rule (exact), and bytes:
        the file's size shared out by those counts (an estimate: items are converted to MIME)."""
        if self._folders is None:
            self.folders()
        records = self._record_count(folder.key)
        if self._store_records is None:
            self._store_records = sum(self._record_count(k) for k in self._pff_folders)
        try:
            size = self.root.stat().st_size
        except OSError:
            size = 0
        share = size * records // self._store_records if self._store_records else 0
        return Estimate(records, share, messages_exact=True)

    def _record_count(self, key: str) -> int:
        """How many records `messages` yields for folder `key` (see FolderCount), without reading items."""
        if key not in self._pff_folders:
            return 0
        pff = self._pff_folders[key]
        if pff is None:
            return 1
        expected = Props.safe(pff).integer(mapi.PR_CONTENT_COUNT) if Props.safe(pff).raw(mapi.PR_CONTENT_COUNT) \
            else None
        listed, _why = guard(lambda: int(pff.number_of_sub_messages))
        tally = FolderCount(expected, listed)
        return (tally.listed or 0) + tally.not_listed + (1 if tally.listed is None and tally.expected is None else 0)

    def _items(self, folder: Folder, pff: Any, tally: FolderCount,
               known: Known | None) -> Iterator[MessageRecord]:
        """The items the folder's contents table lists; each one libpff cannot read is counted in tally."""
        for index in range(tally.listed or 0):
            item, why = guard(lambda: pff.get_sub_message(index))  # noqa: B023 - called at once
            if item is None:  # one bad item must not stop the rest
                tally.failed += 1
                tally.why = tally.why or why
                yield self._failed(folder, f"pst:folder:{folder.key}#{index}", why, f"item #{index + 1}")
                continue
            nid = getattr(item, "identifier", None)
            if known is not None and nid is not None:
                light = self._known_record(folder, item, nid, known)
                if light is not None:
                    yield light
                    continue
            try:
                record = self._record(folder, item)
                record.extra["source_size"] = str(self._change_detector(item))  # what `known` is asked with
            except Exception as exc:  # a bug or libpff surprise in one item: report it, go on
                record = self._failed(folder, f"pst:{nid}", f"{type(exc).__name__}: {exc}", f"item nid {nid}")
                tally.failed += 1
                tally.why = tally.why or _first_sentence(exc)
            yield record

    @staticmethod
    def _change_detector(item: Any) -> int:
        try:
            return int(item.get_modification_time_as_integer())
        except Exception:  # noqa: BLE001 - no modification time: never treated as known
            return -1

    def _known_record(self, folder: Folder, item: Any, nid: int,
                      known: Known) -> MessageRecord | None:
        stamp = self._change_detector(item)
        if stamp < 0 or not known(f"pst:{nid}", stamp):
            return None
        times: list[tuple[str, datetime | None]] = []
        for source, getter in ((DELIVERY_TIME, "get_delivery_time"), (SUBMIT_TIME, "get_client_submit_time")):
            try:
                when = getattr(item, getter)()
            except Exception:  # noqa: BLE001 - the other time, or the fallback
                when = None
            # libpff gives naive UTC (FILETIME is UTC): aware here, never read as a wall clock
            times.append((source, when.replace(tzinfo=timezone.utc) if when is not None and when.tzinfo is None
                          else when))
        date, date_source = internaldate(b"", store_times=times)
        return MessageRecord(folder=folder, stable_id=f"pst:{nid}", raw=b"", date=date, date_source=date_source,
                             locator=f"{folder.display}, item nid {nid}",
                             extra={"known": "1", "size": str(stamp)})

    def reload(self, rec: MessageRecord) -> MessageRecord:
        """Convert an item that was passed over as known after all."""
        for full in self.messages(rec.folder):
            if full.stable_id == rec.stable_id:
                return full
        return self._failed(rec.folder, rec.stable_id, "the item is gone from the file", rec.locator)

    def _failed(self, folder: Folder, stable_id: str, why: str, where: str) -> MessageRecord:
        where = f", {where}" if where else ""
        message = f"{self.root}: folder {folder.display!r}{where}: cannot be read: {_first_sentence(Exception(why))}"
        return MessageRecord(folder=folder, stable_id=stable_id, raw=b"", date=EPOCH_FALLBACK,
                             locator=f"{folder.display}{where}", error=message)

    def _record(self, folder: Folder, item: Any) -> MessageRecord:
        nid = item.identifier
        props = self._item_props(item)
        message_class = props.text(mapi.PR_MESSAGE_CLASS)
        if not message_class and not isinstance(item, self._pypff.message):
            message_class = "(unknown item type)"
        subject = strip_subject_prefix(props.text(mapi.PR_SUBJECT))
        locator = f'{folder.display}, item nid {nid}, "{subject}"'
        delivery, submit = props.time(mapi.PR_MESSAGE_DELIVERY_TIME), props.time(mapi.PR_CLIENT_SUBMIT_TIME)
        flags = flags_for(props.integer(mapi.PR_MESSAGE_FLAGS), props.integer(mapi.PR_FLAG_STATUS),
                          props.integer(mapi.PR_LAST_VERB_EXECUTED), props.integer(mapi.PR_ICON_INDEX, -1))
        extra = {"message_class": message_class or "IPM.Note"}
        reason = skip_reason_for(message_class)
        if reason is None and not isinstance(item, self._pypff.message):
            reason = f"not an e-mail ({message_class})"
        if reason is not None:
            when, source = internaldate(b"", store_times=((DELIVERY_TIME, delivery), (SUBMIT_TIME, submit),
                                                         (CREATION_TIME, props.time(mapi.PR_CREATION_TIME))))
            return MessageRecord(folder=folder, stable_id=f"pst:{nid}", raw=b"", date=when, date_source=source,
                                 flags=flags,
                                 locator=locator, skip_reason=reason, extra=extra)
        warnings: list[str] = []
        raw = build_message(self._mapi(item, props, 0, warnings))
        if warnings:
            extra["warning"] = "; ".join(warnings)
        date, source = internaldate(raw, store_times=((DELIVERY_TIME, delivery), (SUBMIT_TIME, submit)))
        return MessageRecord(folder=folder, stable_id=f"pst:{nid}", raw=raw, date=date, date_source=source,
                             flags=flags, locator=locator, extra=extra)

    def _item_props(self, item: Any) -> Props:
        props = Props(item)
        props.codepage = ansi_codepage_for(props.integer(mapi.PR_MESSAGE_CODEPAGE),
                                           props.integer(mapi.PR_INTERNET_CPID), self._store_codepage)
        return props

    def _mapi(self, item: Any, props: Props, depth: int, warnings: list[str]) -> MapiMessage:
        """Copy what the MIME builder needs out of libpff."""
        p = props
        msg = MapiMessage(
            message_class=p.text(mapi.PR_MESSAGE_CLASS) or "IPM.Note",
            subject=strip_subject_prefix(p.text(mapi.PR_SUBJECT)),
            transport_headers=p.text(mapi.PR_TRANSPORT_MESSAGE_HEADERS) or None,
            from_name=p.text(mapi.PR_SENT_REPRESENTING_NAME),
            from_address=smtp_address(p, mapi.PR_SENT_REPRESENTING_SMTP_ADDRESS, mapi.PR_SENT_REPRESENTING_ADDRTYPE,
                               mapi.PR_SENT_REPRESENTING_EMAIL),
            sender_name=p.text(mapi.PR_SENDER_NAME),
            sender_address=smtp_address(p, mapi.PR_SENDER_SMTP_ADDRESS, mapi.PR_SENDER_ADDRTYPE, mapi.PR_SENDER_EMAIL),
            account=p.text(self._account_tag) if self._account_tag else "",
            display_to=p.text(mapi.PR_DISPLAY_TO), display_cc=p.text(mapi.PR_DISPLAY_CC),
            display_bcc=p.text(mapi.PR_DISPLAY_BCC),
            submit_time=p.time(mapi.PR_CLIENT_SUBMIT_TIME), delivery_time=p.time(mapi.PR_MESSAGE_DELIVERY_TIME),
            creation_time=p.time(mapi.PR_CREATION_TIME),
            message_id=p.text(mapi.PR_INTERNET_MESSAGE_ID), in_reply_to=p.text(mapi.PR_IN_REPLY_TO_ID),
            references=p.text(mapi.PR_INTERNET_REFERENCES),
            importance=p.integer(mapi.PR_IMPORTANCE, 1),
            internet_cpid=p.integer(mapi.PR_INTERNET_CPID) or None,
            message_cpid=p.integer(mapi.PR_MESSAGE_CODEPAGE) or None,
            search_key=p.binary(mapi.PR_SEARCH_KEY) or b"",
        )
        body = p.raw(mapi.PR_BODY)
        if body is not None:
            msg.body_text = p.text(mapi.PR_BODY) if body[0] in (0x001E, 0x001F) else None
        html = p.raw(mapi.PR_HTML)
        if html is not None:
            if html[0] == 0x001F:
                msg.body_html = p.text(mapi.PR_HTML).encode("utf-8")
                msg.internet_cpid = 65001
            elif html[1]:
                msg.body_html = html[1]
        try:
            msg.body_rtf = item.rtf_body or None
        except OSError:
            warnings.append(_("the RTF body could not be decompressed"))
        try:
            msg.recipients = self._recipients(item, props.codepage)
        except OSError:  # the To/Cc headers then come from mapi.PR_DISPLAY_TO/CC (names only)
            warnings.append(_("the recipient table is damaged; recipients were taken from the display names"))
        msg.attachments = self._attachments(item, props.codepage, depth, warnings)
        return msg

    @staticmethod
    def _recipients(item: Any, codepage: int | None) -> list[Recipient]:
        table = item.recipients
        if table is None:
            return []
        out: list[Recipient] = []
        for i in range(table.number_of_record_sets):
            record_set = table.get_record_set(i)
            rp = Props(OneRecordSet(record_set), codepage)
            kind = rp.integer(mapi.PR_RECIPIENT_TYPE, 1) & 0x0F
            if kind not in (1, 2, 3):
                continue
            address = smtp_address(rp, mapi.PR_SMTP_ADDRESS, mapi.PR_ADDRTYPE, mapi.PR_EMAIL_ADDRESS)
            out.append(Recipient(name=rp.text(mapi.PR_DISPLAY_NAME), address=address, kind=kind))
        return out

    def _attachments(self, item: Any, codepage: int | None, depth: int, warnings: list[str]) -> list[Attachment]:
        out: list[Attachment] = []
        for i in range(item.number_of_attachments):
            att = item.get_attachment(i)
            ap = Props(att, codepage)
            method = ap.integer(mapi.PR_ATTACH_METHOD, 1)
            name = (ap.text(mapi.PR_ATTACH_LONG_FILENAME) or ap.text(mapi.PR_ATTACH_FILENAME)
                    or ap.text(mapi.PR_DISPLAY_NAME))
            if method == 5:
                out.append(self._embedded_attachment(att, ap, depth, warnings))
                continue
            if method in (2, 3, 4):  # by reference: only a path to a file on the sender's disk
                path = ap.text(mapi.PR_ATTACH_LONG_PATHNAME) or ap.text(mapi.PR_ATTACH_PATHNAME)
                note = f"This attachment was a link to a file, not a copy: {path}\r\n".encode()
                out.append(Attachment(filename=(name or "attachment") + ".txt", data=note, mime_type="text/plain"))
                continue
            size = att.size or 0
            data = att.read_buffer(size) if size else b""
            if not name:
                name = f"attachment{i + 1}{ap.text(mapi.PR_ATTACH_EXTENSION)}"
            out.append(Attachment(filename=name, data=data, mime_type=ap.text(mapi.PR_ATTACH_MIME_TAG),
                                  content_id=ap.text(mapi.PR_ATTACH_CONTENT_ID)))
        return out

    def _embedded_attachment(self, att: Any, ap: Props, depth: int, warnings: list[str]) -> Attachment:
        sub = self._embedded.open(att) if depth < MAX_EMBED_DEPTH else None
        if sub is not None:
            sp = self._item_props(sub)
            inner = self._mapi(sub, sp, depth + 1, warnings)
            return Attachment(embedded=inner)
        warnings.append(_("an attached message could not be decoded and is kept as a binary file"))
        size = att.size or 0
        name = ap.text(mapi.PR_DISPLAY_NAME) or "attached message"
        return Attachment(filename=name + ".bin", data=att.read_buffer(size) if size else b"",
                          mime_type="application/octet-stream")

    def close(self) -> None:
        """Close the libpff file and the file handle."""
        with contextlib.suppress(OSError, AttributeError):
            self._file.close()
        self._fh.close()

    def __enter__(self) -> PstSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _count_messages(folder: Any) -> int:
    count, _why = guard(lambda: int(folder.number_of_sub_messages))
    return count or 0


def _may_hold_items(folder: Any) -> bool:
    """Whether a folder lists items, or counts some (PR_CONTENT_COUNT) that a damaged table hides."""
    return bool(_count_messages(folder) or Props.safe(folder).integer(mapi.PR_CONTENT_COUNT))


