"""What a mail store reader yields: folders and message records (the `Source` contract that
yields them is migrator/sources/base.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Folder roles, mapped to RFC 6154 special-use folders on the target.
ROLE_INBOX = "inbox"
ROLE_SENT = "sent"
ROLE_DRAFTS = "drafts"
ROLE_TRASH = "trash"
ROLE_JUNK = "junk"
ROLE_OUTBOX = "outbox"
ROLE_ARCHIVE = "archive"
ROLE_TEMPLATES = "templates"
ROLES = (ROLE_INBOX, ROLE_SENT, ROLE_DRAFTS, ROLE_TRASH, ROLE_JUNK, ROLE_OUTBOX, ROLE_ARCHIVE, ROLE_TEMPLATES)

# IMAP system flags as plain strings (keywords are any other atom, e.g. "$label1").
SEEN = "\\Seen"
ANSWERED = "\\Answered"
FLAGGED = "\\Flagged"
DRAFT = "\\Draft"
DELETED = "\\Deleted"  # never sent to the server: a deleted message is skipped instead


# Names in these encodings, tried in order, when a file name is not valid UTF-8 (a Shift_JIS name
# from a zip made on Japanese Windows, an EUC-JP name from an old Unix box); latin-1 always decodes.
_FS_NAME_ENCODINGS = ("utf-8", "cp932", "euc_jp", "latin-1")


def _is_escaped(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def fs_name_text(name: str) -> str:
    """A file or directory name as text a person and an IMAP server can read.

    Python gives a POSIX name whose bytes are not valid in the file system encoding (UTF-8) with
    each bad byte as a lone surrogate (PEP 383 surrogateescape): such a string cannot be encoded
    (modified UTF-7, UTF-8, SQLite). The bytes are recovered and decoded as UTF-8, then cp932
    (Shift_JIS as Windows writes it), then EUC-JP, then latin-1 (which always succeeds). A name
    without such bytes is returned unchanged. Source: PEP 383; docs/concepts.md "Folder mapping"."""
    if not _is_escaped(name):
        return name
    raw = name.encode("utf-8", "surrogateescape")
    for encoding in _FS_NAME_ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")  # not reached: latin-1 decodes every byte


@dataclass(frozen=True)
class Folder:
    """One source folder.

    path: the folder's display path as components, decoded to Unicode (("取引先", "Ａ社")).
    role: one of ROLES when the store itself says what the folder is (Outlook's default folders,
          Thunderbird's flags); None lets the mapper guess from the name.
    origin: where it lives on disk (a file or directory), for messages to the user.
    key: a stable id for the folder inside this source (used as part of message locators).
    """

    path: tuple[str, ...]
    origin: str
    key: str
    role: str | None = None

    def __post_init__(self) -> None:
        if any(_is_escaped(part) for part in self.path):
            object.__setattr__(self, "path", tuple(fs_name_text(part) for part in self.path))

    @property
    def display(self) -> str:
        """The folder's path joined with `/` (for people: messages, reports, --include globs)."""
        return "/".join(self.path)


@dataclass
class MessageRecord:
    """One message as read from the store.

    raw: the RFC 5322 bytes as stored (LF or CRLF line ends; mbox quoting already undone).
    flags: IMAP flags (SEEN, ANSWERED, FLAGGED, DRAFT, keywords); never DELETED.
    date: the INTERNALDATE to give it: timezone-aware, never the time of reading; chosen by
          migrator.domain.dates.internaldate (the one policy), which also gives date_source.
    date_source: where `date` came from, one of dates.DATE_SOURCES ("from-line", "file-name",
          "delivery-time", "received", "date-header", "mtime", "fallback", ...); "" only on
          records that carry no message (errors).
    stable_id: unique within the source and stable across runs while the message is unchanged
               (mbox: file + offset; Maildir: unique name; PST: node id).
    locator: where a person finds it in the store ("Inbox.mbox @ byte 12345", "cur/1234.host:2,S").
    skip_reason: set when the message is not to be uploaded ("deleted in source", "calendar item");
                 it is then counted as skipped, never silently dropped.
    error: set when the message could not be read (raw may be empty); counted as failed.
    extra: reader-specific notes: "warning"; "known" + "size" for a message passed over because an
           earlier run settled it (see Scanner._known); "source_size" when the reader's change
           detector is not len(raw) (a PST item's modification time).
    """

    folder: Folder
    stable_id: str
    raw: bytes
    date: datetime
    flags: frozenset[str] = frozenset()
    locator: str = ""
    skip_reason: str | None = None
    error: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    date_source: str = ""

    @property
    def size(self) -> int:
        """Length of the raw bytes as read from the store, in bytes (0 for skip/error records)."""
        return len(self.raw)
