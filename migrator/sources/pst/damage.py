"""How the PST/OST reader meets a damaged file: one guard for libpff calls, one count rule.

libpff reads a folder through tables held in the file ([MS-PST] 2.4.4: the hierarchy table lists
its sub-folders, the contents table its items) and each item through its own property context.
A damaged block in any of them makes the pypff call that reads it raise. Every such call made
while walking folders or items goes through `guard()`, which keeps the reason instead of ending
the run; the reader then lists what could not be read, so nothing is left out silently.

The count rule (`FolderCount`): a folder's PR_CONTENT_COUNT (0x3602) says how many items it
holds. When libpff lists fewer (the contents table is damaged, or an .ost cache holds only part
of the server mailbox), the difference is reported as that many unreadable items, so that the
folder is named with its shortfall, counted as failed (exit 1), and never verified.

.ost files (Outlook's offline cache of an Exchange, Microsoft 365, Outlook.com or IMAP mailbox)
have the same layout as a .pst ([MS-PST] 2.2.2.6: wMagicClient "SO" instead of "SM"); Outlook
2013 and later write them with 4 KiB pages, which libpff reads (LIBPFF_FILE_TYPE_64BIT_4K_PAGE).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

PST_MAGIC = b"!BDN"
OST_CLIENT, PST_CLIENT = b"SO", b"SM"  # wMagicClient at offset 8 of the header


def first_sentence(exc: BaseException) -> str:
    """libpff errors chain every layer's message: the first one says what failed."""
    import re

    return re.sub(r"^(pypff|libpff)_\w+: ", "", str(exc).split(". ")[0])


def guard(call: Callable[[], T]) -> tuple[T | None, str]:
    """(call(), "") or (None, why) when libpff cannot read what the call asks for.

    libpff raises OSError for damaged data; a broken binary or an unexpected structure may raise
    others (MemoryError, ValueError, OverflowError...): every one is kept as the reason.
    """
    try:
        return call(), ""
    except Exception as exc:  # noqa: BLE001 - the boundary to a C library reading damaged data
        return None, libpff_reason(exc)


def libpff_reason(exc: BaseException) -> str:
    """What failed and, from libpff's chain of messages, the innermost cause:
    "unable to retrieve number of sub messages (unsupported table signature: 0x8a)"."""
    import re

    parts = [re.sub(r"^(pypff|libpff)_\w+: ", "", p).strip() for p in str(exc).split(". ") if p.strip()]
    if not parts:
        return type(exc).__name__
    return parts[0] if len(parts) == 1 else f"{parts[0]} ({parts[1].rstrip('.')})"


def is_ost(path: Path, header: bytes) -> bool:
    """True for an Outlook offline cache: the OST client signature, or a .ost file name."""
    return (header[:4] == PST_MAGIC and header[8:10] == OST_CLIENT) or path.suffix.lower() == ".ost"


def ost_note(path: Path) -> str:
    """What `plan` and `run` say about an .ost source."""
    return (f"{path.name} is an Outlook offline cache (.ost) of a server mailbox (Exchange, Microsoft 365, "
            "Outlook.com or IMAP), not a .pst: it may hold only part of that mailbox (Outlook keeps only what its "
            "sync window and settings download). A folder whose item count (PR_CONTENT_COUNT) differs from what "
            "the file holds is reported incomplete and is never verified. Where that server is still reachable, "
            "migrating from it is the complete copy.")


@dataclass
class FolderCount:
    """What one folder says it holds against what libpff could read of it.

    expected: PR_CONTENT_COUNT (None when the folder does not say); listed: rows of its contents
    table (None when the table cannot be read); failed: items listed but not readable;
    why: the first reason libpff gave.
    """

    expected: int | None
    listed: int | None
    failed: int = 0
    why: str = ""

    @property
    def not_listed(self) -> int:
        """Items the folder counts that its contents table does not list (0 when it does not say)."""
        if self.expected is None:
            return 0
        return max(self.expected - (self.listed or 0), 0)

    @property
    def unread(self) -> int:
        """Items of the folder that could not be read: listed but failed, plus expected but not listed."""
        return self.failed + self.not_listed

    def missing_reason(self, ost: bool) -> str:
        """Why each not-listed item is missing (one line, for the journal and failures.log)."""
        if self.listed is None:
            return f"the folder's list of items (contents table) cannot be read: {self.why}"
        if ost:
            return (f"not in this .ost cache: the folder counts {self.expected} items (PR_CONTENT_COUNT), the file "
                    f"holds {self.listed}; the server mailbox may have the rest")
        return (f"the folder counts {self.expected} items (PR_CONTENT_COUNT) but its contents table lists only "
                f"{self.listed}: the table is damaged")

    def note(self, folder: str, ost: bool) -> str | None:
        """The warning naming a damaged or incomplete folder, or None when everything was read."""
        if self.expected is not None and self.listed is not None and self.listed > self.expected and ost:
            return (f"folder {folder!r} is incomplete in this .ost: it counts {self.expected} items "
                    f"(PR_CONTENT_COUNT), the file holds {self.listed}")
        if not self.unread and self.listed is not None:
            return None
        total = self.expected if self.expected is not None else self.listed
        of = f" of its {total}" if total is not None else ""
        if ost and not self.failed and self.listed is not None:
            return (f"folder {folder!r} is incomplete in this .ost: {self.unread}{of} items are not in the file "
                    "(the server mailbox may hold them); they are counted as failed and listed in failures.log, "
                    "and the folder is never verified")
        what = "damaged"
        reason = f" ({self.why})" if self.why else ""
        count = f"{self.unread}{of} items could not be read" if total is not None else "its items could not be read"
        return (f"folder {folder!r} is {what}: {count}{reason}; they are counted as failed and listed in "
                "failures.log; every other folder is migrated")
