"""A source with no mail at all is said so (exit 2), not planned as "it fits" or run as "0 uploaded".

`/etc`, a folder of empty files, an empty mbox or an empty Maildir all open as stores (an empty
file is a valid, empty mbox; a directory may hold one), so the readers cannot refuse them. The rule
lives here, once, for the plain file and directory trees (a store of a known format, even empty,
is the user's real store and is planned as such): by each folder's cheap count (`Source.estimate`: a
listing, a file size, a PST folder's PR_CONTENT_COUNT), when every folder of every source holds
0 bytes of records, there is no mail. A folder whose reader cannot count cheaply (estimate None)
counts as possibly holding mail: the check never refuses a store it cannot see into.

Entries that could not be read (a dangling link, a FIFO: one 0-byte error record each) are not
mail (`migrate sources PATH` lists what a path holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from migrator.domain.errors import SourceError
from migrator.domain.i18n import _, ngettext
from migrator.sources.base import Source

__all__ = ["has_mail", "preflight", "require_mail"]

_TREE_KINDS = frozenset({"mbox", "maildir", "eml"})  # detect_kind's plain files and directory trees


def has_mail(source: Source) -> bool:
    """False only when `source` is a plain file or directory tree (mbox files, Maildirs, .eml
    folders: sources/tree.py) and every folder is known, by its cheap count, to hold 0 bytes of
    records (or there are no folders); True when any folder holds bytes or cannot be counted.
    A store of a known format (a .pst, a Thunderbird profile, a Becky! data folder, Apple Mail, a
    server) is a real store even when empty: it is planned as such (0 messages), not refused."""
    from migrator.sources.tree import TreeSource

    if not isinstance(source, TreeSource):
        return True
    for folder in source.folders():
        est = source.estimate(folder)
        if est is None or est.bytes is None or est.bytes > 0:
            return True
    return False


def require_mail(sources: Sequence[Source], names: Sequence[str]) -> None:
    """Raise SourceError (exit 2, "no mail found") when none of `sources` (opened from the paths
    `names`, in order) holds any mail by `has_mail`; return when at least one does."""
    if any(has_mail(s) for s in sources):
        return
    folders = sum(len(s.folders()) for s in sources)
    where = ", ".join(names)
    if folders:
        detail = ngettext("{n} folder, empty", "{n} folders, all empty", folders).format(n=f"{folders:,}")
    else:
        detail = _("nothing that looks like a mail folder")
    hint = _("Give the folder or file that holds your mail: an Outlook .pst, a Thunderbird profile, a Becky! "
             "data folder, a Windows Live Mail or Apple Mail folder, an mbox file or a Maildir "
             "(`migrate sources` lists what it finds on this PC).")
    raise SourceError(_("no mail found in {path} ({detail})").format(path=where, detail=detail), hint=hint)


def preflight(paths: Sequence[Path]) -> None:
    """Before anything asks for a password: each local path exists and is a store migrate reads
    (`detect_kind`), and a plain file or directory tree holds some mail (`require_mail`).
    SourceError (exit 2) otherwise. Stores of a known format are only detected here (opened once,
    later, by the command)."""
    from migrator.sources import detect_kind, open_source

    for path in paths:
        if detect_kind(path) not in _TREE_KINDS:
            continue
        source = open_source(path)
        try:
            require_mail([source], [str(path)])
        finally:
            source.close()

