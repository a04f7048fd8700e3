"""Thunderbird account directories: which entries are folders (mbox file, maildir directory,
`.sbd` container) and their display paths and roles, walked with the one walker rule of walk.py
(each directory once, special files and dangling links listed as unreadable, other non-mail
files listed in the warnings, Thunderbird's own companion files passed silently)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from migrator.domain.i18n import _
from migrator.domain.records import (
    ROLE_ARCHIVE,
    ROLE_DRAFTS,
    ROLE_INBOX,
    ROLE_JUNK,
    ROLE_OUTBOX,
    ROLE_SENT,
    ROLE_TEMPLATES,
    ROLE_TRASH,
)
from migrator.sources.mbox.reader import IGNORED_SUFFIXES, looks_like_mbox
from migrator.sources.thunderbird.profile import AccountInfo, FolderInfo, disk_name
from migrator.sources.walk import Node, Walk, classify, is_companion, list_dir

# The names Thunderbird gives its special folders on disk (top level of an account).
NAME_ROLES = {
    "inbox": ROLE_INBOX, "sent": ROLE_SENT, "drafts": ROLE_DRAFTS, "templates": ROLE_TEMPLATES,
    "trash": ROLE_TRASH, "junk": ROLE_JUNK, "archives": ROLE_ARCHIVE, "unsent messages": ROLE_OUTBOX,
}
# nsMsgFolderFlags bits, as folderCache.json records them.
FLAG_ROLES = (
    (0x1000, ROLE_INBOX), (0x200, ROLE_SENT), (0x400, ROLE_DRAFTS), (0x400000, ROLE_TEMPLATES),
    (0x100, ROLE_TRASH), (0x40000000, ROLE_JUNK), (0x4000, ROLE_ARCHIVE), (0x800, ROLE_OUTBOX),
)
# Files that sit in account directories and never hold mail (besides IGNORED_SUFFIXES).
NON_MAIL_NAMES = {"filterlog.html", "msgfilterrules.dat", "popstate.dat", "rules.dat", "junklog.html",
                  "virtualfolders.dat", "foldertree.json", "panacea.dat", "folders.json", "foldercache.json"}
NON_MAIL_SUFFIXES = IGNORED_SUFFIXES + (".msf", ".tmp", ".snm", ".bak", ".eml", ".mozmsgs", ".sqlite-journal")

# Compaction's work files: old Thunderbird wrote "nstmp" beside the folder, newer ones use a hidden
# .temp-compact/ directory with "<name>.compacting/.compacted/.original" (already skipped: hidden).
COMPACTION_SUFFIXES = (".compacting", ".compacted", ".original", ".compact-backup")
_COMPACT_TEMP = re.compile(r"nstmp(?:-\d+)?")
_HASHED = re.compile(r"[0-9a-f]{8}$")


@dataclass(frozen=True)
class _Entry:
    path: tuple[str, ...]  # display path inside the account
    role: str | None
    origin: Path  # mbox file, maildir directory, or .sbd directory of a container-only folder
    kind: str  # "mbox" | "maildir" | "container" | "unreadable" (a dangling link, a FIFO...: reason)
    rel: str  # the folder's file path relative to the account directory
    reason: str | None = None


class _Walker:
    def __init__(self, profile: Path, warn: Callable[[str], None]) -> None:
        self.info = FolderInfo(profile)
        self.warn = warn
        self.visits = Walk()  # each directory read once (walk.py): no symlink loop, no folder twice
        self.account_root = ""  # real path of the account directory being walked, with a final separator

    def walk(self, account: AccountInfo) -> list[_Entry]:
        out: list[_Entry] = []
        if account.directory is not None:
            self.account_root = os.path.realpath(account.directory) + os.sep
            self.visits.first_visit(classify(str(account.directory)))
            self._dir(account.directory, (), "", True, account.type == "imap", 0, out)
        return out

    def _dir(self, directory: Path, prefix: tuple[str, ...], rel: str, top: bool, imap: bool,
             depth: int, out: list[_Entry]) -> None:
        try:
            nodes = list_dir(str(directory))
        except OSError as exc:
            self.warn(_("{path}: cannot list directory ({reason})").format(
                path=directory, reason=exc.strerror))
            return
        names = {n.name for n in nodes}
        kinds: dict[str, str] = {}
        reasons: dict[str, str] = {}
        subdirs: set[str] = set()
        unread: list[str] = []
        for node in nodes:
            name = node.name
            if name.startswith("."):
                continue
            if node.kind == "problem":
                if not _companion(name):
                    kinds[name], reasons[name] = "unreadable", node.reason or "cannot be read"
            elif node.kind == "dir":
                if name.endswith(".sbd"):
                    if self._first(node):
                        subdirs.add(name[:-4])
                elif os.path.isdir(os.path.join(node.path, "cur")):
                    if self._first(node):
                        kinds[name] = "maildir"
                elif not _companion(name):
                    unread.append(name)
            elif node.link and _inside(real := os.path.realpath(node.path), self.account_root) \
                    and looks_like_mbox(Path(real)):
                self.warn(_("{path}: a link to {real}, which is read there (read once)").format(
                    path=node.path, real=real))
            elif _is_mbox(Path(node.path), names):
                kinds[name] = "mbox"
            elif not _companion(name) and node.name + ".msf" not in names:
                unread.append(name)
        if unread:
            shown = ", ".join(unread[:3]) + (f" and {len(unread) - 3} more" if len(unread) > 3 else "")
            self.warn(_("{path}: not read: {shown} (not a mail folder migrate can read)").format(
                path=directory, shown=shown))
        order = sorted(set(kinds) | subdirs, key=lambda n: (not (top and n.lower() in ("inbox",)), n.casefold()))
        for n in order:
            kind = kinds.get(n, "container")
            origin = directory / (n if kind != "container" else n + ".sbd")
            msf = directory / (n + ".msf")
            display = disk_name(n, imap)
            if _HASHED.search(n):
                recorded = self.info.name(msf)
                if recorded is None and len(n) == 8:
                    self.warn(_("{path}: a hashed file name and no recorded folder name; kept as {name!r}").format(
                        path=directory / n, name=n))
                display = recorded or display
            role = self._role(msf, display, top)
            path = ("Inbox",) if top and role == ROLE_INBOX else prefix + (display,)
            out.append(_Entry(path, role, origin, kind, rel + n, reasons.get(n)))
            if n in subdirs:
                if depth >= 64:
                    self.warn(_("{path}: folders nested too deep; deeper ones skipped").format(
                        path=directory / (n + ".sbd")))
                    continue
                self._dir(directory / (n + ".sbd"), path, rel + n + ".sbd/", False, imap, depth + 1, out)

    def _first(self, node: Node) -> bool:
        """The first time this directory is reached; else a note that it is read elsewhere."""
        first = self.visits.first_visit(node)
        if first is not None:
            self.warn(_("{path}: the same directory as {first}, which is read there (read once)").format(
                path=node.path, first=first))
        return first is None

    def _role(self, msf: Path, display: str, top: bool) -> str | None:
        flags = self.info.flags(msf)
        if flags:
            for bit, role in FLAG_ROLES:
                if flags & bit:
                    return role
        return NAME_ROLES.get(display.casefold()) if top else None


def _inside(path: str, root: str) -> bool:
    return path.startswith(root)


def _companion(name: str) -> bool:
    """A file Thunderbird (or the system) keeps beside the folders: never mail, passed silently."""
    low = name.lower()
    return (is_companion(name) or low in NON_MAIL_NAMES or low.endswith(NON_MAIL_SUFFIXES + COMPACTION_SUFFIXES)
            or _COMPACT_TEMP.fullmatch(low) is not None)


def _is_mbox(path: Path, siblings: set[str]) -> bool:
    """An mbox folder file: one with a .msf summary beside it, or a non-empty file starting with a From line."""
    name = path.name
    low = name.lower()
    if low.endswith((".msf",) + COMPACTION_SUFFIXES) or _COMPACT_TEMP.fullmatch(low):
        return False
    if name + ".msf" in siblings:
        return True
    if low in NON_MAIL_NAMES or low.endswith(NON_MAIL_SUFFIXES):
        return False
    try:
        if path.stat().st_size == 0:
            return False
    except OSError:
        return False
    return looks_like_mbox(path)
