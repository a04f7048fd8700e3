"""Outlook MAPI properties as libpff exposes them: tags, decoding and their meaning (pure).

`Props` reads any object shaped like a libpff item (`number_of_record_sets`, `get_record_set(i)`
whose entries have `entry_type`, `value_type`, `data`), so everything here is testable without
libpff. 8-bit strings (PT_STRING8, in ANSI PSTs) are decoded with the item's code page.
"""

from __future__ import annotations

import struct
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from migrator.domain import records as base
from migrator.sources.pst.rtf import python_codec

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
PR_CONTENT_COUNT, PR_SUBFOLDERS = 0x3602, 0x360A  # a folder's item count; whether it has sub-folders
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

# Localized names of Outlook's default folders: used only when the store lacks the entry ids.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
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
SYSTEM_NAMES = frozenset({"search root", "spam search folder 2", "ipm_views", "ipm_common_views", "freebusy data",
                           "reminders", "to-do search", "itemprocsearch", "tracked mail processing", "finder",
                           "schedule", "shortcuts", "views", "common views"})
TOP_NAMES = ("top of personal folders", "top of outlook data file", "top of information store",
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
    nid: int = struct.unpack_from("<I", entry_id, 20)[0]
    return nid


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

    @classmethod
    def safe(cls, item: Any, codepage: int | None = None) -> Props:
        """Like Props(item), but an item whose properties cannot be read has none."""
        try:
            return cls(item, codepage)
        except OSError:
            return cls(NoRecordSets(), codepage)

    def raw(self, tag: int) -> tuple[int, bytes] | None:
        """(MAPI property type, value bytes) of property `tag` ([MS-OXCDATA] 2.11.1), or None when absent
        or its value cannot be read.
        """
        entry = self.entries.get(tag)
        if entry is None:
            return None
        data = entry.data
        return (entry.value_type, data) if data is not None else None

    def text(self, tag: int) -> str:
        """A string property: PT_UNICODE (0x001F, UTF-16LE) or PT_STRING8 (0x001E, in the item's code page);
        "" when absent or of another type. Trailing NULs dropped.
        """
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

    def integer(self, tag: int, default: int = 0) -> int:
        """An integer property: PT_SHORT, PT_LONG, PT_I8 (signed, little-endian) or PT_BOOLEAN;
        `default` when absent, empty or of another type.
        """
        got = self.raw(tag)
        if got is None or got[0] not in (0x0002, 0x0003, 0x0014, 0x000B) or not got[1]:
            return default
        return int.from_bytes(got[1][:8], "little", signed=got[0] != 0x000B)

    def binary(self, tag: int) -> bytes | None:
        """The raw bytes of property `tag` (PT_BINARY or any type), or None when absent."""
        got = self.raw(tag)
        return got[1] if got is not None else None

    def time(self, tag: int) -> datetime | None:
        """A PT_SYSTIME property (0x0040: FILETIME, 100 ns since 1601-01-01 UTC) as a tz-aware UTC
        datetime, or None.
        """
        got = self.raw(tag)
        return filetime(got[1]) if got is not None and got[0] == 0x0040 else None


def decode_ansi(data: bytes, codepage: int | None) -> str:
    """An 8-bit MAPI string: in `codepage` when known, else cp1252 or cp932, whichever it looks like."""
    data = data.rstrip(b"\x00")
    codec = python_codec(codepage)
    if codec:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    if data.isascii():
        return data.decode("ascii")
    return data.decode("cp932") if looks_like_cp932(data) else data.decode("cp1252", "replace")


def looks_like_cp932(data: bytes) -> bool:
    """True when 8-bit text is Japanese (cp932) rather than Western (cp1252).

    Japanese text decodes strictly as cp932 into kana/kanji, and read as cp1252 it either fails or
    is full of the rare 0x80-0x9F punctuation; Western text with an accent followed by a letter can
    also decode as cp932 ("père"), but gives a lone kanji and reads cleanly as cp1252.
    """
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        return False
    if any("\uff61" <= ch <= "\uff9f" or "\ue000" <= ch <= "\uf8ff" for ch in text):
        return False  # half-width katakana or user-defined characters: not real Japanese text
    japanese = sum(1 for ch in text if "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff"
                   or "\u3000" <= ch <= "\u303f" or "\uff01" <= ch <= "\uff5e")
    kana = any("\u3040" <= ch <= "\u30ff" for ch in text)
    if japanese == 0 or not (kana or japanese >= 2):
        return False
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return True
    return any(0x80 <= byte <= 0x9F for byte in data)


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


class NoRecordSets:
    number_of_record_sets = 0



class OneRecordSet:
    """Adapter so `Props` can read a single pypff record set (one recipient row)."""

    def __init__(self, record_set: Any) -> None:
        self.record_set = record_set
        self.number_of_record_sets = 1

    def get_record_set(self, _index: int) -> Any:
        """The one record set, whatever the index (pypff's record-set interface)."""
        return self.record_set


def smtp_address(props: Props, smtp_tag: int, type_tag: int, address_tag: int) -> str:
    """An SMTP address: the explicit SMTP property, else the address when its type is SMTP."""
    smtp = props.text(smtp_tag).strip()
    if smtp:
        return smtp
    address = props.text(address_tag).strip()
    if props.text(type_tag).strip().upper() == "SMTP" or ("@" in address and not address.startswith("/")):
        return address
    return ""


def strip_subject_prefix(subject: str) -> str:
    """PR_SUBJECT may start with \\x01 and a length char marking the prefix (\\x01\\x05"Re: ...")."""
    if subject[:1] == "\x01" and len(subject) >= 2:
        return subject[2:]
    return subject
