"""Outlook .pst / .ost reader built on libpff-python (`pypff`), imported lazily.

Only the IPM subtree (the user's folders, found through the store's PR_IPM_SUBTREE_ENTRYID, not
by its localized name) is listed; search folders, views and folder-associated items are left out.
Outlook's default folders get their role from the store's entry-id properties whatever the
language, with localized names only as a fallback. Mail items are rebuilt as MIME by
`pst_mime.build_message()`; calendar, contact, task, note... items are yielded as skipped with a
reason; items libpff cannot read are yielded with `error` set. One item at a time is in memory.

Embedded messages (attach method 5): the Python bindings have no accessor for them, but the
libpff C library inside the same extension module has `libpff_attachment_get_item()`; we call it
through ctypes and wrap the result with the module's own `pypff_item_create()`, so an embedded
message is read by libpff like any other (bodies, recipients, its own attachments). The pointer
taken from the attachment object is checked against libpff's own identifier call before use.
Where the symbols are not exported (some Windows builds), the embedded message is kept as a
binary attachment and the record says so in `extra["warning"]`.
"""

from __future__ import annotations

import ctypes
import struct
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from migrator.errors import SourceError
from migrator.sources import base
from migrator.sources.base import Folder, MessageRecord
from migrator.sources.common import EPOCH_FALLBACK, choose_date
from migrator.sources.pst_mime import Attachment, MapiMessage, Recipient, build_message
from migrator.sources.rtf import python_codec

PST_MAGIC = b"!BDN"
REINSTALL_HINT = "pip install --force-reinstall libpff-python"

# Property tags (PR_*), without their type.
PR_MESSAGE_CLASS, PR_SUBJECT, PR_IMPORTANCE = 0x001A, 0x0037, 0x0017
PR_CLIENT_SUBMIT_TIME, PR_SENT_REPRESENTING_NAME = 0x0039, 0x0042
PR_SENT_REPRESENTING_ADDRTYPE, PR_SENT_REPRESENTING_EMAIL = 0x0064, 0x0065
PR_TRANSPORT_MESSAGE_HEADERS = 0x007D
PR_SENDER_NAME, PR_SENDER_ADDRTYPE, PR_SENDER_EMAIL = 0x0C1A, 0x0C1E, 0x0C1F
PR_DISPLAY_BCC, PR_DISPLAY_CC, PR_DISPLAY_TO = 0x0E02, 0x0E03, 0x0E04
PR_MESSAGE_DELIVERY_TIME, PR_MESSAGE_FLAGS = 0x0E06, 0x0E07
PR_BODY, PR_HTML = 0x1000, 0x1013
PR_INTERNET_MESSAGE_ID, PR_INTERNET_REFERENCES, PR_IN_REPLY_TO_ID = 0x1035, 0x1039, 0x1042
PR_ICON_INDEX, PR_LAST_VERB_EXECUTED, PR_FLAG_STATUS = 0x1080, 0x1081, 0x1090
PR_DISPLAY_NAME, PR_CREATION_TIME, PR_LAST_MODIFICATION_TIME, PR_SEARCH_KEY = 0x3001, 0x3007, 0x3008, 0x300B
PR_ADDRTYPE, PR_EMAIL_ADDRESS, PR_SMTP_ADDRESS, PR_RECIPIENT_TYPE = 0x3002, 0x3003, 0x39FE, 0x0C15
PR_ATTACH_DATA, PR_ATTACH_EXTENSION, PR_ATTACH_FILENAME = 0x3701, 0x3703, 0x3704
PR_ATTACH_METHOD, PR_ATTACH_LONG_FILENAME, PR_ATTACH_PATHNAME = 0x3705, 0x3707, 0x3708
PR_ATTACH_LONG_PATHNAME, PR_ATTACH_MIME_TAG, PR_ATTACH_CONTENT_ID = 0x370D, 0x370E, 0x3712
PR_FOLDER_TYPE, PR_INTERNET_CPID, PR_MESSAGE_CODEPAGE = 0x3601, 0x3FDE, 0x3FFD
PR_SENDER_SMTP_ADDRESS, PR_SENT_REPRESENTING_SMTP_ADDRESS = 0x5D01, 0x5D02
PR_IPM_SUBTREE_ENTRYID, PR_IPM_OUTBOX_ENTRYID = 0x35E0, 0x35E2
PR_IPM_WASTEBASKET_ENTRYID, PR_IPM_SENTMAIL_ENTRYID = 0x35E3, 0x35E4
PR_IPM_APPOINTMENT_ENTRYID, PR_IPM_CONTACT_ENTRYID = 0x36D0, 0x36D1
PR_IPM_DRAFTS_ENTRYID, PR_ADDITIONAL_REN_ENTRYIDS = 0x36D7, 0x36D8
PR_PST_PASSWORD = 0x67FF

MSGFLAG_READ, MSGFLAG_UNSENT = 0x01, 0x08
NID_TYPE_SEARCH_FOLDER = 0x03
PSETID_COMMON = uuid.UUID("00062008-0000-0000-c000-000000000046")
PIDLID_INTERNET_ACCOUNT_NAME = 0x8580
MAX_EMBED_DEPTH = 8

# Localized names of Outlook's default folders: used only when the store lacks the entry ids.
_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    base.ROLE_INBOX: ("inbox", "受信トレイ", "boîte de réception", "posteingang", "posta in arrivo",
                      "bandeja de entrada", "caixa de entrada", "postvak in", "收件箱", "收件匣",
                      "받은 편지함", "входящие", "innboks", "inkorgen", "indbakke", "saapuneet"),
    base.ROLE_SENT: ("sent items", "送信済みアイテム", "éléments envoyés", "gesendete elemente",
                     "gesendete objekte", "posta inviata", "elementos enviados", "itens enviados",
                     "verzonden items", "已发送邮件", "寄件備份", "보낸 편지함", "отправленные"),
    base.ROLE_DRAFTS: ("drafts", "下書き", "brouillons", "entwürfe", "bozze", "borradores", "rascunhos",
                       "concepten", "草稿", "임시 보관함", "черновики"),
    base.ROLE_TRASH: ("deleted items", "削除済みアイテム", "éléments supprimés", "gelöschte elemente",
                      "gelöschte objekte", "posta eliminata", "elementos eliminados", "itens excluídos",
                      "verwijderde items", "已删除邮件", "刪除的郵件", "지운 편지함", "удаленные"),
    base.ROLE_JUNK: ("junk e-mail", "junk email", "迷惑メール", "courrier indésirable", "junk-e-mail",
                     "posta indesiderata", "correo no deseado", "lixo eletrônico", "ongewenste e-mail",
                     "垃圾邮件", "垃圾郵件", "정크 메일", "нежелательная почта"),
    base.ROLE_OUTBOX: ("outbox", "送信トレイ", "boîte d'envoi", "postausgang", "posta in uscita",
                       "bandeja de salida", "caixa de saída", "postvak uit", "发件箱", "寄件匣",
                       "보낼 편지함", "исходящие"),
}
_TOP_NAMES = ("top of personal folders", "top of outlook data file", "top of information store",
              "outlook データ ファイルのトップ", "個人用フォルダのトップ", "début du fichier de données outlook")
# Non-mail item classes -> skip reason. Matched on the class or its "prefix." (IPM.Contact.Custom).
_SKIPPED_CLASSES = (
    ("ipm.appointment", "calendar item"), ("ipm.contact", "contact"), ("ipm.distlist", "distribution list"),
    ("ipm.task", "task"), ("ipm.taskrequest", "task request"), ("ipm.stickynote", "note"),
    ("ipm.activity", "journal entry"), ("ipm.post", "post item"), ("ipm.document", "document item"),
    ("ipm.microsoft.schedules", "free/busy data"), ("ipm.microsoft.scheduledata", "free/busy data"),
    ("ipm.configuration", "configuration item"), ("ipm.microsoft.folderdesign", "view item"),
    ("ipm.recall", "recall request"), ("ipm.outlook.recall", "recall request"),
)
_MAIL_CLASSES = ("ipm.note", "ipm.schedule.meeting", "report.ipm.note", "report.ipm.schedule",
                 "ipm.notification", "ipm.outlook.recall")


def detect(path: Path) -> bool:
    """True for a file that starts like a PST/OST (the "!BDN" magic)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == PST_MAGIC
    except OSError:
        return False


def skip_reason_for(message_class: str) -> str | None:
    """None for mail (IPM.Note and its variants), else why the item is not migrated."""
    cls = message_class.strip().lower()
    if cls in ("", "ipm") or any(cls == m or cls.startswith(m + ".") for m in _MAIL_CLASSES):
        return None
    for prefix, reason in _SKIPPED_CLASSES:
        if cls == prefix or cls.startswith(prefix + "."):
            return reason
    return f"not an e-mail ({message_class.strip()})"


def flags_for(message_flags: int, flag_status: int, last_verb: int, icon_index: int) -> frozenset[str]:
    """IMAP flags from PR_MESSAGE_FLAGS, PR_FLAG_STATUS, PR_LAST_VERB_EXECUTED and PR_ICON_INDEX."""
    flags: set[str] = set()
    if message_flags & MSGFLAG_READ:
        flags.add(base.SEEN)
    if message_flags & MSGFLAG_UNSENT:
        flags.add(base.DRAFT)
    if flag_status == 2:
        flags.add(base.FLAGGED)
    if last_verb in (102, 103) or icon_index == 0x105:
        flags.add(base.ANSWERED)
    if last_verb == 104 or icon_index == 0x106:
        flags.add("$Forwarded")
    return frozenset(flags)


def nid_from_entry_id(entry_id: bytes | None) -> int | None:
    """The node id in a PST entry id (4 flag bytes, 16-byte provider UID, 4-byte NID)."""
    if not entry_id or len(entry_id) < 24:
        return None
    return struct.unpack_from("<I", entry_id, 20)[0]


def multi_binary(data: bytes | None) -> list[bytes]:
    """Values of a PT_MV_BINARY property as libpff returns it (count, offsets, data)."""
    if not data or len(data) < 4:
        return []
    count = struct.unpack_from("<I", data, 0)[0]
    if count > 1024 or len(data) < 4 + 4 * count:
        return []
    offsets = list(struct.unpack_from(f"<{count}I", data, 4)) + [len(data)]
    return [data[offsets[i]:offsets[i + 1]] for i in range(count)]


def filetime(data: bytes | None) -> datetime | None:
    """A FILETIME as an aware UTC datetime; None when unset or absurd."""
    if not data or len(data) < 8:
        return None
    ticks = struct.unpack_from("<Q", data, 0)[0]
    if ticks == 0:
        return None
    try:
        dt = datetime(1601, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None
    return dt if 1970 <= dt.year <= 2100 else None


class Props:
    """The properties of one libpff item, decoded on demand (bodies are read only when asked)."""

    def __init__(self, item: Any, codepage: int | None = None) -> None:
        self.entries: dict[int, Any] = {}
        for i in range(item.number_of_record_sets):
            record_set = item.get_record_set(i)
            for j in range(record_set.number_of_entries):
                entry = record_set.get_entry(j)
                self.entries.setdefault(entry.entry_type, entry)
        self.codepage = codepage

    def raw(self, tag: int) -> tuple[int, bytes] | None:
        entry = self.entries.get(tag)
        if entry is None:
            return None
        data = entry.data
        return (entry.value_type, data) if data is not None else None

    def str(self, tag: int) -> str:
        got = self.raw(tag)
        if got is None:
            return ""
        vtype, data = got
        if vtype == 0x001F:
            text = data.decode("utf-16-le", "replace")
        elif vtype == 0x001E:
            text = decode_ansi(data, self.codepage)
        else:
            return ""
        return text.rstrip("\x00")

    def int(self, tag: int, default: int = 0) -> int:
        got = self.raw(tag)
        if got is None or got[0] not in (0x0002, 0x0003, 0x0014, 0x000B) or not got[1]:
            return default
        return int.from_bytes(got[1][:8], "little", signed=got[0] != 0x000B)

    def bytes(self, tag: int) -> bytes | None:
        got = self.raw(tag)
        return got[1] if got is not None else None

    def time(self, tag: int) -> datetime | None:
        got = self.raw(tag)
        return filetime(got[1]) if got is not None and got[0] == 0x0040 else None


def decode_ansi(data: bytes, codepage: int | None) -> str:
    """An 8-bit MAPI string: the item's code page first, then cp932, UTF-8, cp1252."""
    data = data.rstrip(b"\x00")
    for codec in (python_codec(codepage), "cp932", "utf-8", "cp1252"):
        if codec:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                continue
    return data.decode("cp1252", "replace")


def ansi_codepage_for(message_cpid: int, internet_cpid: int, default: int | None) -> int | None:
    """The Windows ANSI code page 8-bit strings of an item are in."""
    if message_cpid and message_cpid not in (1200, 1201, 65000, 65001):
        return message_cpid
    if default:
        return default
    derived = {50220: 932, 50221: 932, 50222: 932, 51932: 932, 20932: 932, 936: 936, 52936: 936,
               20936: 936, 54936: 936, 51949: 949, 50225: 949, 949: 949, 950: 950, 20866: 1251,
               21866: 1251, 28595: 1251}
    if internet_cpid in derived:
        return derived[internet_cpid]
    if 1250 <= internet_cpid <= 1258 or internet_cpid in (874, 932):
        return internet_cpid
    return None


class _EmbeddedOpener:
    """Opens an attach-method-5 attachment as a pypff.message through libpff's C API (see module doc)."""

    def __init__(self, pypff: Any) -> None:
        self.pypff = pypff
        self.lib: Any = None
        try:
            lib = ctypes.PyDLL(pypff.__file__)
            vp, err = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)
            lib.libpff_attachment_get_item.argtypes = [vp, ctypes.POINTER(vp), err]
            lib.libpff_attachment_get_item.restype = ctypes.c_int
            lib.libpff_item_get_identifier.argtypes = [vp, ctypes.POINTER(ctypes.c_uint32), err]
            lib.libpff_item_get_identifier.restype = ctypes.c_int
            lib.libpff_error_free.argtypes = [err]
            lib.libpff_error_free.restype = None
            lib.pypff_item_create.argtypes = [vp, ctypes.py_object]
            lib.pypff_item_create.restype = ctypes.py_object
        except (OSError, AttributeError, TypeError):
            return
        # pypff_item_t is {PyObject_HEAD; libpff_item_t *item; ...}: the pointer follows the header.
        if pypff.attachment.__basicsize__ < object.__basicsize__ + ctypes.sizeof(ctypes.c_void_p):
            return
        self.lib = lib

    def open(self, attachment: Any) -> Any:
        """The embedded message, or None when this build of pypff cannot give it."""
        if self.lib is None:
            return None
        lib = self.lib
        pointer = ctypes.c_void_p.from_address(id(attachment) + object.__basicsize__).value
        error = ctypes.c_void_p()
        ident = ctypes.c_uint32()
        if not pointer or lib.libpff_item_get_identifier(pointer, ctypes.byref(ident), ctypes.byref(error)) != 1:
            lib.libpff_error_free(ctypes.byref(error))
            return None
        if ident.value != attachment.identifier:
            return None  # not the layout we expect: do not touch it
        sub = ctypes.c_void_p()
        if lib.libpff_attachment_get_item(pointer, ctypes.byref(sub), ctypes.byref(error)) != 1 or not sub.value:
            lib.libpff_error_free(ctypes.byref(error))
            return None
        item = lib.pypff_item_create(sub, attachment)
        return item if isinstance(item, self.pypff.message) else None


class PstSource:
    """A read-only Outlook .pst/.ost file (see the module docstring)."""

    kind = "pst"

    def __init__(self, path: Path, ansi_codepage: int | None = None) -> None:
        self.root = Path(path)
        self.ansi_codepage = ansi_codepage  # for ANSI PSTs whose items carry no code page
        self.password_protected = False  # PR_PST_PASSWORD is set: a UI lock only, the data is readable
        try:
            import pypff  # noqa: PLC0415  (lazy: a broken binary only affects PST users)
        except ImportError as exc:
            raise SourceError(f"cannot read {self.root}: the PST reader libpff-python is missing or broken ({exc})",
                              hint=REINSTALL_HINT) from exc
        self._pypff: Any = pypff
        try:
            self._fh = open(self.root, "rb")  # noqa: SIM115  (closed in close())
        except OSError as exc:
            raise SourceError(f"cannot open {self.root}: {exc.strerror or exc}") from exc
        self._file: Any = pypff.file()
        try:
            self._file.open_file_object(self._fh)
            self._root_folder = self._file.root_folder
        except (OSError, IOError, Exception) as exc:  # libpff raises OSError; be safe with the rest
            self._fh.close()
            raise SourceError(
                f"{self.root} is not a readable Outlook data file (.pst/.ost): it may be truncated or corrupt "
                f"({str(exc).split('. ')[0]})",
                hint="Repair it with Outlook's Inbox Repair Tool (scanpst.exe) and try again.",
            ) from exc
        self._embedded = _EmbeddedOpener(pypff)
        self._folders: list[Folder] | None = None
        self._pff_folders: dict[str, Any] = {}
        self._account_tag: int | None = None

    # ------------------------------------------------------------------ folders

    def folders(self) -> list[Folder]:
        if self._folders is None:
            self._folders = self._walk_folders()
        return list(self._folders)

    def _walk_folders(self) -> list[Folder]:
        store = Props(self._file.message_store) if self._file.message_store is not None else None
        root_props = Props(self._root_folder)
        if store is not None:
            self.password_protected = store.int(PR_PST_PASSWORD) != 0
            self._account_tag = self._named_tag(PSETID_COMMON, PIDLID_INTERNET_ACCOUNT_NAME)
        top = self._find_ipm_subtree(store)
        roles = self._roles_by_entry_id(store, root_props)
        origin = str(self.root)
        out: list[Folder] = []
        if top is None:
            return out
        if top.number_of_sub_messages:
            name = (store.str(PR_DISPLAY_NAME) if store else "") or top.name or "Top of Personal Folders"
            folder = Folder(path=(name,), origin=origin, key=str(top.identifier), role=None)
            out.append(folder)
            self._pff_folders[folder.key] = top
        found: list[tuple[Any, tuple[str, ...]]] = []
        self._collect(top, (), found)
        by_role = {nid: role for role, nid in roles.items()}
        inbox_nid = roles.get(base.ROLE_INBOX)
        if inbox_nid is None:
            inbox_nid = next((f.identifier for f, p in found if self._looks_like_inbox(f)), None)
            if inbox_nid is not None:
                by_role[inbox_nid] = base.ROLE_INBOX
        missing = [r for r in _ROLE_NAMES if r not in by_role.values()]
        for pff, path in found:
            role = by_role.get(pff.identifier)
            if role is None and len(path) == 1:
                name = " ".join(path[0].split()).casefold()
                role = next((r for r in missing if name in _ROLE_NAMES[r]), None)
                if role is not None:
                    missing.remove(role)
            folder = Folder(path=path, origin=origin, key=str(pff.identifier), role=role)
            out.append(folder)
            self._pff_folders[folder.key] = pff
        return out

    def _collect(self, parent: Any, path: tuple[str, ...], out: list[tuple[Any, tuple[str, ...]]]) -> None:
        for i in range(parent.number_of_sub_folders):
            child = parent.get_sub_folder(i)
            if child.identifier & 0x1F == NID_TYPE_SEARCH_FOLDER or Props(child).int(PR_FOLDER_TYPE) == 2:
                continue
            name = (child.name or "").strip() or f"Folder {child.identifier}"
            out.append((child, path + (name,)))
            self._collect(child, path + (name,), out)

    def _find_ipm_subtree(self, store: Props | None) -> Any:
        want = nid_from_entry_id(store.bytes(PR_IPM_SUBTREE_ENTRYID)) if store else None
        children = [self._root_folder.get_sub_folder(i) for i in range(self._root_folder.number_of_sub_folders)]
        for test in (lambda f: f.identifier == want,
                     lambda f: " ".join((f.name or "").split()).casefold() in _TOP_NAMES,
                     lambda f: f.identifier == 0x8022):
            match = next((f for f in children if test(f)), None)
            if match is not None:
                return match
        return None

    @staticmethod
    def _looks_like_inbox(folder: Any) -> bool:
        """Outlook writes the default-folder entry ids on the root folder and on the Inbox only."""
        props = Props(folder)
        return any(props.raw(t) for t in (PR_IPM_APPOINTMENT_ENTRYID, PR_IPM_CONTACT_ENTRYID,
                                            PR_IPM_DRAFTS_ENTRYID, PR_ADDITIONAL_REN_ENTRYIDS))

    @staticmethod
    def _roles_by_entry_id(store: Props | None, root: Props) -> dict[str, int]:
        roles: dict[str, int] = {}
        candidates = [(base.ROLE_TRASH, store, PR_IPM_WASTEBASKET_ENTRYID),
                      (base.ROLE_SENT, store, PR_IPM_SENTMAIL_ENTRYID),
                      (base.ROLE_OUTBOX, store, PR_IPM_OUTBOX_ENTRYID),
                      (base.ROLE_DRAFTS, root, PR_IPM_DRAFTS_ENTRYID)]
        for role, props, tag in candidates:
            nid = nid_from_entry_id(props.bytes(tag)) if props is not None else None
            if nid:
                roles[role] = nid
        ren = multi_binary(root.bytes(PR_ADDITIONAL_REN_ENTRYIDS))
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
        guids, entries = props.bytes(0x0002) or b"", props.bytes(0x0003) or b""
        for off in range(0, len(entries) - 7, 8):
            ident, guid_and_kind, index = struct.unpack_from("<IHH", entries, off)
            if guid_and_kind & 1 or ident != lid:
                continue
            gi = guid_and_kind >> 1
            if gi >= 3 and len(guids) >= (gi - 2) * 16 and uuid.UUID(bytes_le=guids[(gi - 3) * 16:(gi - 2) * 16]) == guid:
                return 0x8000 + index
        return None

    # ------------------------------------------------------------------ messages

    def messages(self, folder: Folder) -> Iterator[MessageRecord]:
        if self._folders is None:
            self.folders()
        pff = self._pff_folders.get(folder.key)
        if pff is None:
            return
        try:
            count = pff.number_of_sub_messages
        except OSError as exc:
            yield self._failed(folder, f"pst:folder{folder.key}", f"folder cannot be listed: {exc}", "")
            return
        for index in range(count):
            try:
                item = pff.get_sub_message(index)
            except (OSError, IOError, Exception) as exc:  # noqa: BLE001  (one bad item must not stop the rest)
                yield self._failed(folder, f"pst:folder{folder.key}#{index}", str(exc), f"item #{index + 1}")
                continue
            nid = getattr(item, "identifier", None)
            try:
                yield self._record(folder, item)
            except Exception as exc:  # noqa: BLE001
                yield self._failed(folder, f"pst:{nid}", f"{type(exc).__name__}: {exc}", f"item nid {nid}")

    def _failed(self, folder: Folder, stable_id: str, why: str, where: str) -> MessageRecord:
        where = f", {where}" if where else ""
        message = f"{self.root}: folder {folder.display!r}{where}: cannot be read: {why.split('. ')[0]}"
        return MessageRecord(folder=folder, stable_id=stable_id, raw=b"", date=EPOCH_FALLBACK,
                             locator=f"{folder.display}{where}", error=message)

    def _record(self, folder: Folder, item: Any) -> MessageRecord:
        nid = item.identifier
        props = Props(item)
        props.codepage = ansi_codepage_for(props.int(PR_MESSAGE_CODEPAGE), props.int(PR_INTERNET_CPID),
                                           self.ansi_codepage)
        message_class = props.str(PR_MESSAGE_CLASS)
        if not message_class and not isinstance(item, self._pypff.message):
            message_class = "(unknown item type)"
        subject = _strip_subject_prefix(props.str(PR_SUBJECT))
        locator = f'{folder.display}, item nid {nid}, "{subject}"'
        delivery, submit = props.time(PR_MESSAGE_DELIVERY_TIME), props.time(PR_CLIENT_SUBMIT_TIME)
        flags = flags_for(props.int(PR_MESSAGE_FLAGS), props.int(PR_FLAG_STATUS),
                          props.int(PR_LAST_VERB_EXECUTED), props.int(PR_ICON_INDEX, -1))
        extra = {"message_class": message_class or "IPM.Note"}
        reason = skip_reason_for(message_class)
        if reason is None and not isinstance(item, self._pypff.message):
            reason = f"not an e-mail ({message_class})"
        if reason is not None:
            when = delivery or submit or props.time(PR_CREATION_TIME) or EPOCH_FALLBACK
            return MessageRecord(folder=folder, stable_id=f"pst:{nid}", raw=b"", date=when, flags=flags,
                                 locator=locator, skip_reason=reason, extra=extra)
        warnings: list[str] = []
        mapi = self._mapi(item, props, 0, warnings)
        raw = build_message(mapi)
        if warnings:
            extra["warning"] = "; ".join(warnings)
        return MessageRecord(folder=folder, stable_id=f"pst:{nid}", raw=raw, date=choose_date(raw, delivery, submit),
                             flags=flags, locator=locator, extra=extra)

    def _mapi(self, item: Any, props: Props, depth: int, warnings: list[str]) -> MapiMessage:
        """Copy what the MIME builder needs out of libpff."""
        p = props
        msg = MapiMessage(
            message_class=p.str(PR_MESSAGE_CLASS) or "IPM.Note",
            subject=_strip_subject_prefix(p.str(PR_SUBJECT)),
            transport_headers=p.str(PR_TRANSPORT_MESSAGE_HEADERS) or None,
            from_name=p.str(PR_SENT_REPRESENTING_NAME),
            from_address=_smtp(p, PR_SENT_REPRESENTING_SMTP_ADDRESS, PR_SENT_REPRESENTING_ADDRTYPE,
                               PR_SENT_REPRESENTING_EMAIL),
            sender_name=p.str(PR_SENDER_NAME),
            sender_address=_smtp(p, PR_SENDER_SMTP_ADDRESS, PR_SENDER_ADDRTYPE, PR_SENDER_EMAIL),
            account=p.str(self._account_tag) if self._account_tag else "",
            display_to=p.str(PR_DISPLAY_TO), display_cc=p.str(PR_DISPLAY_CC), display_bcc=p.str(PR_DISPLAY_BCC),
            submit_time=p.time(PR_CLIENT_SUBMIT_TIME), delivery_time=p.time(PR_MESSAGE_DELIVERY_TIME),
            creation_time=p.time(PR_CREATION_TIME),
            message_id=p.str(PR_INTERNET_MESSAGE_ID), in_reply_to=p.str(PR_IN_REPLY_TO_ID),
            references=p.str(PR_INTERNET_REFERENCES),
            importance=p.int(PR_IMPORTANCE, 1),
            internet_cpid=p.int(PR_INTERNET_CPID) or None, message_cpid=p.int(PR_MESSAGE_CODEPAGE) or None,
            search_key=p.bytes(PR_SEARCH_KEY) or b"",
        )
        body = p.raw(PR_BODY)
        if body is not None:
            msg.body_text = p.str(PR_BODY) if body[0] in (0x001E, 0x001F) else None
        html = p.raw(PR_HTML)
        if html is not None:
            if html[0] == 0x001F:
                msg.body_html = p.str(PR_HTML).encode("utf-8")
                msg.internet_cpid = 65001
            elif html[1]:
                msg.body_html = html[1]
        try:
            msg.body_rtf = item.rtf_body or None
        except (OSError, IOError):
            warnings.append("the RTF body could not be decompressed")
        msg.recipients = self._recipients(item, props.codepage)
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
            rp = Props(_OneRecordSet(record_set), codepage)
            kind = rp.int(PR_RECIPIENT_TYPE, 1) & 0x0F
            if kind not in (1, 2, 3):
                continue
            address = _smtp(rp, PR_SMTP_ADDRESS, PR_ADDRTYPE, PR_EMAIL_ADDRESS)
            out.append(Recipient(name=rp.str(PR_DISPLAY_NAME), address=address, kind=kind))
        return out

    def _attachments(self, item: Any, codepage: int | None, depth: int, warnings: list[str]) -> list[Attachment]:
        out: list[Attachment] = []
        for i in range(item.number_of_attachments):
            att = item.get_attachment(i)
            ap = Props(att, codepage)
            method = ap.int(PR_ATTACH_METHOD, 1)
            name = ap.str(PR_ATTACH_LONG_FILENAME) or ap.str(PR_ATTACH_FILENAME) or ap.str(PR_DISPLAY_NAME)
            if method == 5:
                out.append(self._embedded_attachment(att, ap, depth, warnings))
                continue
            if method in (2, 3, 4):  # by reference: only a path to a file on the sender's disk
                path = ap.str(PR_ATTACH_LONG_PATHNAME) or ap.str(PR_ATTACH_PATHNAME)
                note = f"This attachment was a link to a file, not a copy: {path}\r\n".encode("utf-8")
                out.append(Attachment(filename=(name or "attachment") + ".txt", data=note, mime_type="text/plain"))
                continue
            size = att.size or 0
            data = att.read_buffer(size) if size else b""
            if not name:
                name = f"attachment{i + 1}{ap.str(PR_ATTACH_EXTENSION)}"
            out.append(Attachment(filename=name, data=data, mime_type=ap.str(PR_ATTACH_MIME_TAG),
                                  content_id=ap.str(PR_ATTACH_CONTENT_ID)))
        return out

    def _embedded_attachment(self, att: Any, ap: Props, depth: int, warnings: list[str]) -> Attachment:
        sub = self._embedded.open(att) if depth < MAX_EMBED_DEPTH else None
        if sub is not None:
            sp = Props(sub)
            sp.codepage = ansi_codepage_for(sp.int(PR_MESSAGE_CODEPAGE), sp.int(PR_INTERNET_CPID), self.ansi_codepage)
            inner = self._mapi(sub, sp, depth + 1, warnings)
            return Attachment(embedded=inner)
        warnings.append("an attached message could not be decoded and is kept as a binary file")
        size = att.size or 0
        name = ap.str(PR_DISPLAY_NAME) or "attached message"
        return Attachment(filename=name + ".bin", data=att.read_buffer(size) if size else b"",
                          mime_type="application/octet-stream")

    def close(self) -> None:
        try:
            self._file.close()
        except (OSError, AttributeError):
            pass
        self._fh.close()

    def __enter__(self) -> PstSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _OneRecordSet:
    """Adapter so `Props` can read a single pypff record set (one recipient row)."""

    def __init__(self, record_set: Any) -> None:
        self.record_set = record_set
        self.number_of_record_sets = 1

    def get_record_set(self, _index: int) -> Any:
        return self.record_set


def _smtp(props: Props, smtp_tag: int, type_tag: int, address_tag: int) -> str:
    """An SMTP address: the explicit SMTP property, else the address when its type is SMTP."""
    smtp = props.str(smtp_tag).strip()
    if smtp:
        return smtp
    address = props.str(address_tag).strip()
    if props.str(type_tag).strip().upper() == "SMTP" or ("@" in address and not address.startswith("/")):
        return address
    return ""


def _strip_subject_prefix(subject: str) -> str:
    """PR_SUBJECT may start with \\x01 and a length char marking the prefix (\\x01\\x05"Re: ...")."""
    if subject[:1] == "\x01" and len(subject) >= 2:
        return subject[2:]
    return subject
