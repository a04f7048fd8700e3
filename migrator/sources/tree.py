"""A directory given as the source: any mix of mbox files, Maildirs (plain and Maildir++),
directories of `.eml` files (Windows Live Mail, Windows Mail, undbx output, "save as" exports)
and directories of all of them, at any depth. Every store inside is read, each folder with its path.

Design: one composite reader. `discover()` walks the tree once with the walker rule of walk.py
(each directory read once, nothing opened before it is classified) and finds four kinds of
folder: an mbox file (detected by content, `mbox.looks_like_mbox`), a Maildir (a directory with
`cur/` and `new/` or `tmp/`; its `.A.B` Maildir++ children), a directory holding `.eml` files
(sources/eml/reader.py reads them), and an entry that would be a folder
but cannot be read (a dangling link, a FIFO, a socket, a device, an unlistable directory): that
one yields a single MessageRecord with `error`, so it is counted as failed with its reason.

`.eml` folders: a directory's `.eml` files are one folder named by the directory's path below the
root (the root's own `.eml` files: a folder named after the root directory). A Windows Live Mail
account folder (it holds an `*.oeaccount` file) and the `Storage Folders` / `Local Folders` of a
Windows Live Mail / Windows Mail store (beside `*.MSMessageStore`) add no level of their own: their
subfolders (受信トレイ, Sent Items...) are top-level folders, so their names give them roles
(domain/folders.py NAME_ROLES).
Whatever else the tree holds (a file that is not mail) is listed in `warnings`; only files that
accompany a store (walk.is_companion) pass silently.

Folder keys are the entry's path relative to the root ("." for a root that is itself a Maildir,
the file name for a single mbox file): the same keys the mbox-tree and Maildir readers always
used, so journals of earlier runs keep matching. `TreeSource.kind` stays what earlier versions
called such a directory ("maildir" when the root is a Maildir or Maildir++ root, else "mbox"),
since it is part of every journal key.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from migrator.domain.errors import SourceError
from migrator.domain.headers import EPOCH_FALLBACK
from migrator.domain.i18n import N_, _
from migrator.domain.records import ROLE_INBOX, Folder, MessageRecord
from migrator.imap import utf7
from migrator.sources.base import Capabilities, Estimate, Known, SourceBase
from migrator.sources.walk import Node, Walk, classify, is_companion, list_dir, open_regular

MBOX, MAILDIR, EML, UNREADABLE = "mbox", "maildir", "eml", "unreadable"
# Directories of a Windows Live Mail / Windows Mail store root (beside *.MSMessageStore) that hold
# local folders and add no level of their own (compared casefolded).
_LOCAL_CONTAINERS = ("storage folders", "local folders")
# More entries of one kind in one directory than this are listed as one line with a count.
_LIST_AT_MOST = 3


def is_maildir(path: str | Path) -> bool:
    """A Maildir folder: `cur/` and `new/` or `tmp/` directories (links followed)."""
    p = str(path)
    return os.path.isdir(os.path.join(p, "cur")) and (
        os.path.isdir(os.path.join(p, "new")) or os.path.isdir(os.path.join(p, "tmp")))


@dataclass
class Found:
    """What `discover` found: folders with their kind and reason, and notes for the user."""

    folders: list[Folder] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # Folder.key -> MBOX | MAILDIR | EML | UNREADABLE
    reasons: dict[str, str] = field(default_factory=dict)  # Folder.key -> why it cannot be read
    notes: list[str] = field(default_factory=list)
    links: dict[str, bool] = field(default_factory=dict)  # Folder.key -> reached through a link

    def add(self, kind: str, folder: Folder, link: bool = False, reason: str | None = None) -> None:
        """Record a folder found in the tree, its kind (MBOX, MAILDIR, EML, UNREADABLE), whether it was
        reached through a symbolic link, and why it cannot be read (when it cannot).
        """
        self.folders.append(folder)
        self.kinds[folder.key] = kind
        self.links[folder.key] = link
        if reason:
            self.reasons[folder.key] = reason


class _Discovery:
    def __init__(self, root: Path, decode: bool, looks_like_mbox: Callable[[Path], bool]) -> None:
        self.root = root
        self.decode = decode  # plain directory names are IMAP modified UTF-7 (a Maildir's own tree)
        self.looks_like_mbox = looks_like_mbox
        self.walk = Walk()
        self.found = Found()
        self.later: list[tuple[Node, tuple[str, ...], str]] = []  # linked directories: after the real ones
        self.unread: dict[tuple[str, str], list[str]] = {}  # (directory, reason) -> names
        self.containers: set[str] = set()  # WLM / Windows Mail local-folder containers (paths)

    def run(self) -> Found:
        node = classify(str(self.root))
        if node.kind != "dir":
            raise SourceError(_("{path}: not a directory").format(path=self.root))
        self.walk.first_visit(node)
        self.directory(str(self.root), (), "", top=True)
        while self.later:  # links to directories, once the real tree is known (real paths win)
            node, prefix, rel = self.later.pop(0)
            first = self.walk.first_visit(node)
            if first is not None:
                self.found.notes.append(_("{path}: a link to {first}, which is read there (read once)").format(
                    path=node.path, first=first))
                continue
            self.directory(node.path, prefix, rel)
        self._dedupe_linked_files()
        for (directory, reason), names in self.unread.items():
            shown = ", ".join(names[:_LIST_AT_MOST]) + (f" and {len(names) - _LIST_AT_MOST} more"
                                                        if len(names) > _LIST_AT_MOST else "")
            self.found.notes.append(_("{path}: not read: {shown} ({reason})").format(
                path=directory, shown=shown, reason=reason))
        self.found.folders.sort(key=lambda f: (f.role != ROLE_INBOX, f.path, f.key))
        return self.found

    def directory(self, path: str, prefix: tuple[str, ...], rel: str, top: bool = False) -> None:
        """One directory: a Maildir itself (when it has cur/), and what it holds."""
        try:
            nodes = list_dir(path)
        except OSError as exc:
            if top:
                raise SourceError(_("{path}: cannot list directory ({reason})").format(
                    path=path, reason=exc.strerror)) from exc
            self.found.add(UNREADABLE, Folder(path=prefix or ("INBOX",), origin=path, key=rel.rstrip("/") or "."),
                           reason=f"a directory that cannot be listed ({exc.strerror})")
            return
        maildir = is_maildir(path)
        if maildir:
            key = rel.rstrip("/") or "."
            folder_path = prefix or ("INBOX",)
            self.found.add(MAILDIR, Folder(path=folder_path, origin=path, key=key,
                                           role=ROLE_INBOX if not prefix else None))
        if any(n.kind == "file" and is_eml_name(n.name) for n in nodes):
            key = rel.rstrip("/") or "."
            self.found.add(EML, Folder(path=prefix or (_root_name(self.root),), origin=path,
                                       key=key + "/*.eml" if maildir else key))
        if any(n.kind == "file" and n.name.lower().endswith(".msmessagestore") for n in nodes):
            self.containers.update(n.path for n in nodes if n.kind == "dir" and n.name.casefold() in _LOCAL_CONTAINERS)
        if prefix and (path in self.containers
                       or any(n.kind == "file" and n.name.lower().endswith(".oeaccount") for n in nodes)):
            prefix = prefix[:-1]  # a WLM account folder: its subfolders are top-level folders
        for node in nodes:
            self.entry(node, path, prefix, rel, maildir)

    def entry(self, node: Node, directory: str, prefix: tuple[str, ...], rel: str, maildir: bool) -> None:
        name = node.name
        if is_companion(name):
            return
        if maildir and name in ("cur", "new", "tmp"):
            return  # the Maildir's own: read by its folder (tmp/ holds deliveries not finished)
        if node.kind == "problem":
            self.found.add(UNREADABLE, Folder(path=prefix + (name,), origin=node.path, key=rel + name),
                           link=node.link, reason=node.reason)
            return
        if node.kind == "dir":
            if name.startswith("."):
                if is_maildir(node.path):  # Maildir++: ".A.B" is folder A/B under this one
                    parts = tuple(utf7.decode(p) for p in name[1:].split(".") if p)
                    if parts:
                        self.visit(node, prefix + parts[:-1], rel, name, parts[-1])
                        return
                self.unread.setdefault((directory, "hidden directories"), []).append(name)
                return
            shown = name[:-4] if name.endswith(".sbd") else name
            self.visit(node, prefix, rel, name, utf7.decode(shown) if self.decode else shown)
            return
        if name.startswith("."):
            self.unread.setdefault((directory, "hidden files"), []).append(name)
            return
        if is_eml_name(name):
            return  # a message of this directory's .eml folder
        if self.looks_like_mbox(Path(node.path)):
            from migrator.sources.mbox.reader import folder_name

            self.found.add(MBOX, Folder(path=prefix + (folder_name(name),), origin=node.path, key=rel + name),
                           link=node.link)
            return
        self.unread.setdefault((directory, not_read_reason(node.path)), []).append(name)

    def visit(self, node: Node, prefix: tuple[str, ...], rel: str, name: str, shown: str) -> None:
        """A subdirectory: now if it is a real one, after the real tree if reached through a link."""
        if node.link:
            self.later.append((node, prefix + (shown,), rel + name + "/"))
            return
        first = self.walk.first_visit(node)
        if first is not None:
            self.found.notes.append(_("{path}: the same directory as {first}, which is read there (read once)").format(
                path=node.path, first=first))
            return
        self.directory(node.path, prefix + (shown,), rel + name + "/")

    def _dedupe_linked_files(self) -> None:
        """An mbox file reached through a link and also at its own place (or twice through links)
        is read once: at its own place when the tree holds it, else at the first link."""
        by_file: dict[tuple[int, int], list[Folder]] = {}
        for f in self.found.folders:
            if self.found.kinds[f.key] == MBOX:
                try:
                    st = os.stat(f.origin)
                except OSError:
                    continue
                by_file.setdefault((st.st_dev, st.st_ino), []).append(f)
        drop: set[str] = set()
        for group in by_file.values():
            if len(group) < 2 or not any(self.found.links[f.key] for f in group):
                continue  # hard links: the store keeps the file in two folders on purpose
            keep = next((f for f in group if not self.found.links[f.key]), group[0])
            for f in group:
                if f is not keep:
                    drop.add(f.key)
                    self.found.notes.append(_("{path}: a link to {first}, which is read there (read once)").format(
                        path=f.origin, first=keep.origin))
        self.found.folders = [f for f in self.found.folders if f.key not in drop]


def discover(root: Path, decode: bool = False) -> Found:
    """Every store under directory `root`: its folders (parents before children) and notes.

    decode: plain directory names are IMAP modified UTF-7 (Dovecot LAYOUT=fs under a Maildir).
    Raises SourceError when the root itself cannot be listed.
    """
    # imported here: mbox.py and maildir.py build their sources on this module
    from migrator.sources.mbox.reader import looks_like_mbox

    return _Discovery(root, decode, looks_like_mbox).run()


def is_eml_name(name: str) -> bool:
    """A file holding one RFC 5322 message by its name: `*.eml`, any case, not hidden."""
    return name.lower().endswith(".eml") and not name.startswith(".")


def _root_name(root: Path) -> str:
    """The folder name of a root directory's own `.eml` files: the directory's name."""
    return os.path.basename(os.path.abspath(root)) or "INBOX"


_PST_HINT = N_("Outlook data files (.pst/.ost), not read inside a directory: give each to migrate on its own")
_BY_SUFFIX = {
    ".dbx": N_("Outlook Express folders (.dbx), not read inside a directory: give the Outlook Express folder to "
               "migrate on its own"),
    ".emlx": N_("Apple Mail messages (.emlx), not read inside a directory: give the Mail folder (~/Library/Mail) "
                "to migrate on its own"),
    ".nws": N_("newsgroup posts (.nws), not mail"),
}
_UTF16_HINT = N_("UTF-16 text (mail is stored as bytes, not UTF-16: an mbox saved as UTF-16 must be converted back)")


def not_read_reason(path: str) -> str:
    """Why a regular file in a tree is not read, for the note that lists it: an Outlook data file
    (header `!BDN`, [MS-PST] 2.2.2.6) is named as such, so that the user gives it to migrate on its
    own; UTF-16 text (a byte-order mark FF FE / FE FF) is named; anything else is "not a mail store
    migrate can read". Reads at most 4 bytes; never blocks."""
    try:
        with open_regular(path) as fh:
            head = fh.read(4)
    except OSError:
        head = b""
    if head == b"!BDN":
        return _(_PST_HINT)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _(_UTF16_HINT)
    return _(_BY_SUFFIX.get(os.path.splitext(path)[1].lower(), N_("not a mail store migrate can read")))


def unreadable_record(folder: Folder, reason: str) -> MessageRecord:
    """The one record of an entry that would be a folder but cannot be read: counted as failed."""
    return MessageRecord(folder=folder, stable_id=f"unreadable:{folder.key}", raw=b"", date=EPOCH_FALLBACK,
                         locator=folder.origin, error=reason)


class TreeSource(SourceBase):
    """A directory of mbox files, Maildirs and .eml folders, or one mbox file (see the module docstring).

    Its mbox folders resume from an offset; its Maildir and .eml folders skip known messages: each
    capability applies to the folders of its kind (the others get the defaults)."""

    kind = "mbox"
    capabilities = Capabilities(change_token=True, resume_offset=True, skip_known=True, reload=True)

    def __init__(self, root: Path) -> None:
        self.root = root
        self._notes: list[str] = []  # what reading found (a message file that is a link read elsewhere)
        self._ends: dict[str, int] = {}  # mbox folder key -> where its last complete read ended
        self._found = self._discover(root)

    def _discover(self, root: Path) -> Found:
        return discover(root, decode=self.kind == MAILDIR)

    @property
    def warnings(self) -> list[str]:
        """What the tree holds that is not read (not mail, hidden, a link read elsewhere)."""
        return self._found.notes + self._notes

    def folder_kind(self, folder: Folder) -> str:
        """MBOX, MAILDIR, EML or UNREADABLE for a folder of this tree (MBOX for an unknown one)."""
        return self._found.kinds.get(folder.key, MBOX)

    def folders(self) -> list[Folder]:
        """The tree's folders (Source.folders), parents first, as found when the tree was opened."""
        return list(self._found.folders)

    def messages(self, folder: Folder, *, resume: int = 0, known: Known | None = None) -> Iterator[MessageRecord]:
        """The folder's messages (Source.messages); `resume` (mbox: a byte offset from
        resume_offset) and `known` (Maildir, .eml: messages settled already are not read) apply to
        folders of their kind only."""
        kind = self.folder_kind(folder)
        if kind == UNREADABLE:
            yield unreadable_record(folder, self._found.reasons.get(folder.key, "cannot be read"))
        elif kind == EML:
            from migrator.sources.eml import reader as eml

            yield from eml.read_folder(folder, known, self._tree_dirs(EML))
        elif kind == MAILDIR:
            from migrator.sources.maildir import reader as maildir

            yield from maildir.read_folder(folder, known, self._tree_dirs(MAILDIR), self._notes)
        else:
            from migrator.sources.mbox import reader as mbox

            yield from mbox.read_folder(folder, resume, self._ends)

    def estimate(self, folder: Folder) -> Estimate | None:
        """A cheap count (Source.estimate): a Maildir folder's listing (exact), an mbox file's size
        and sampled separators, a directory's `.eml` files (sources/estimate.py); one record for an
        entry that cannot be read."""
        from migrator.sources.estimate import eml_estimate, maildir_estimate, mbox_estimate

        kind = self.folder_kind(folder)
        if kind == UNREADABLE:
            return Estimate(1, 0, messages_exact=True, bytes_exact=True)
        if kind == MAILDIR:
            return maildir_estimate(folder.origin)
        if kind == EML:
            return eml_estimate(folder.origin)
        return mbox_estimate(folder.origin)

    def _tree_dirs(self, kind: str) -> frozenset[str]:
        """Real paths of the Maildir (or .eml) folders read: a linked message file pointing into one
        is read there."""
        return frozenset(os.path.realpath(f.origin) for f in self._found.folders
                         if self._found.kinds[f.key] == kind and not self._found.links[f.key])

    def reload(self, rec: MessageRecord) -> MessageRecord:
        """Read a Maildir or .eml message that was passed over as known."""
        if self.folder_kind(rec.folder) == EML:
            from migrator.sources.eml import reader as eml

            return eml.reload(rec)
        from migrator.sources.maildir import reader as maildir

        return maildir.reload(rec)

    def token(self, folder: Folder) -> str | None:
        """Cheap change detector of a folder (see the per-format token functions)."""
        kind = self.folder_kind(folder)
        if kind == UNREADABLE:
            return None
        if kind == EML:
            from migrator.sources.eml import reader as eml

            return eml.token(folder)
        if kind == MAILDIR:
            from migrator.sources.maildir import reader as maildir

            return maildir.token(folder)
        from migrator.sources.mbox import reader as mbox

        return mbox.token(folder)

    def resume_info(self, folder: Folder) -> dict[str, object] | None:
        """Where the last complete read of an mbox folder ended (None for other kinds)."""
        if self.folder_kind(folder) != MBOX:
            return None
        from migrator.sources.mbox import reader as mbox

        return mbox.resume_info(folder, self._ends)

    def resume_offset(self, folder: Folder, info: dict[str, object]) -> int | None:
        """The offset to continue an mbox folder from when it only grew since `info`."""
        if self.folder_kind(folder) != MBOX:
            return None
        from migrator.sources.mbox import reader as mbox

        return mbox.resume_offset(folder, info)

    def close(self) -> None:
        """Nothing is held open between messages."""
        return None
