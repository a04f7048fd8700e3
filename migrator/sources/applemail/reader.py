"""Apple Mail's store: `~/Library/Mail/V<N>/<account>/<Name>.mbox/.../Messages/<id>.emlx`.

Given the `Mail` folder (the newest `V<N>` holding mailboxes is read; older ones are named in
the warnings), a `V<N>` folder, an account folder, or one `<Name>.mbox` directory:

- every `<Name>.mbox` directory is a folder named `Name`; an account's level (its UUID folder,
  `Mailboxes` for "On My Mac") adds no level, so `INBOX.mbox` is INBOX, `Sent Messages.mbox`,
  `Drafts.mbox`, `Deleted Messages.mbox` and `Junk.mbox` reach their roles by name
  (domain/folders.py NAME_ROLES), `Mailboxes/Work.mbox` is `Work`; a `.mbox` inside a `.mbox` is
  a subfolder;
- a mailbox's messages are the `.emlx` files below it (`<UUID>/Data/<digits>/.../Messages/`,
  older `Messages/`), outside its sub-mailboxes and its `Attachments/` directories; `MailData/`
  (indexes) is not mail;
- flags and INTERNALDATE come from each file's property list (emlx.py): `date-received` is the
  store's own delivery time for the one date policy (domain/dates.py);
- a `.partial.emlx` holds the message without the attachments Apple Mail stored apart
  (`Attachments/<id>/<part>/<file>`); it is not reassembled here: it fails with the reason (kept
  in quarantine as read, never uploaded as if it were complete).

The stable id of a message is `emlx:<folder key>:<id>` (the id is the file name's number, the
same for `123.emlx` and `123.partial.emlx`, so a message Apple Mail completed later is the same
message); the change detector of `known` is the file size in bytes. Directories are walked with
the walker rule (walk.py): each directory once, nothing opened before it is classified.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path

from migrator.domain.dates import DELIVERY_TIME, FALLBACK, FALLBACK_SOURCE, internaldate
from migrator.domain.errors import SourceError
from migrator.domain.headers import read_file
from migrator.domain.i18n import N_, _
from migrator.domain.records import Folder, MessageRecord
from migrator.sources.applemail.emlx import EmlxError, parse
from migrator.sources.base import Capabilities, Estimate, Known, SourceBase
from migrator.sources.walk import Node, Walk, classify, is_companion, list_dir

_VERSION_DIR = re.compile(r"^V(\d+)$")
MAILBOX_SUFFIX = ".mbox"
PARTIAL_SUFFIX = ".partial.emlx"
EMLX_SUFFIX = ".emlx"
# Directories of a V<N> folder or a mailbox that hold no mail of their own.
_NOT_MAIL_DIRS = frozenset({"maildata", "attachments"})
PARTIAL_REASON = N_("a partial message (.partial.emlx): Apple Mail stored its attachments apart "
                  "(Attachments/{id}/) and they are not put back, so it is not uploaded incomplete; "
                  "open the message in Apple Mail until it is downloaded in full, or export the mailbox "
                  "(Mailbox > Export Mailbox) and migrate the export")
DELETED_REASON = N_("marked deleted in the source (Apple Mail's deleted flag)")
# How many directories detect() looks at before it gives up (a home folder is not walked).
_DETECT_BUDGET = 400
_DETECT_MAILBOXES = 50  # mailboxes detect() looks into


def _is_mailbox(node: Node) -> bool:
    return node.kind == "dir" and node.name.lower().endswith(MAILBOX_SUFFIX) and len(node.name) > len(MAILBOX_SUFFIX)


def _versions(path: Path) -> list[tuple[int, Path]]:
    """The `V<N>` folders of a `Mail` folder, newest first."""
    try:
        nodes = list_dir(str(path))
    except OSError:
        return []
    out = [(int(m.group(1)), Path(n.path)) for n in nodes if n.kind == "dir" and (m := _VERSION_DIR.match(n.name))]
    return sorted(out, reverse=True)


def _has_emlx(path: Path, budget: int = _DETECT_BUDGET) -> bool:
    """An `.emlx` file below `path` inside a `.mbox` directory (looks at most `budget` directories)."""
    walk = Walk()
    queue: list[tuple[Node, bool]] = [(classify(str(path)), path.name.lower().endswith(MAILBOX_SUFFIX))]
    while queue and budget > 0:
        node, inside = queue.pop(0)
        if node.kind != "dir" or walk.first_visit(node) is not None:
            continue
        budget -= 1
        try:
            nodes = list_dir(node.path, sort=False)
        except OSError:
            continue
        for n in nodes:
            if inside and n.kind == "file" and n.name.lower().endswith(EMLX_SUFFIX):
                return True
            if n.kind == "dir" and n.name.lower() not in _NOT_MAIL_DIRS:
                queue.append((n, inside or _is_mailbox(n)))
    return False


def _mailboxes_near(path: Path, depth: int = 0) -> Iterator[Path]:
    """The `.mbox` directories AppleMailSource reads from `path` (as `_container` finds them: at
    most three levels down, V<N>/account/Name.mbox), not below them."""
    try:
        nodes = list_dir(str(path))
    except OSError:
        return
    for n in nodes:
        if n.kind != "dir" or n.name.lower() in _NOT_MAIL_DIRS or n.name.startswith("."):
            continue
        if _is_mailbox(n):
            yield Path(n.path)
        elif depth < 2:
            yield from _mailboxes_near(Path(n.path), depth + 1)


def _store_here(path: Path) -> bool:
    """`path` is a `.mbox` directory, or holds one within the reader's reach, with an `.emlx` inside."""
    if _is_mailbox(classify(str(path))):
        return _has_emlx(path)
    return any(_has_emlx(box) for box in itertools.islice(_mailboxes_near(path), _DETECT_MAILBOXES))


def detect(path: Path) -> bool:
    """An Apple Mail store: a `Mail` folder with `V<N>` folders, a `V<N>` folder, an account
    folder or a `.mbox` directory, with `.emlx` messages inside `.mbox` directories where the
    reader looks (so a bigger tree holding an Apple Mail store deep inside is read by the tree
    reader, which names its `.emlx` files in the notes, never silently left out)."""
    if not path.is_dir():
        return False
    versions = _versions(path)
    if versions:
        return any(_store_here(v) for _n, v in versions)
    return _store_here(path)


class AppleMailSource(SourceBase):
    """An Apple Mail store (see the module docstring)."""

    kind = "applemail"
    capabilities = Capabilities(change_token=True, skip_known=True, reload=True)

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise SourceError(_("{path}: not a directory").format(path=root))
        self.root = root
        self._notes: list[str] = []
        self._noted: set[str] = set()  # files already named in the notes (a folder is read more than once)
        base = root
        versions = _versions(root)
        if versions:
            with_mail = [v for _key, v in versions if _has_emlx(v)]
            base = with_mail[0] if with_mail else versions[0][1]
            for _key, other in versions:
                if other != base:
                    self._notes.append(f"{other}: older Apple Mail data, not read (give it to migrate on its own "
                                       "to migrate it too)")
        self._base = base
        self._folders: list[Folder] = []
        self._walk = Walk()
        self._discover(base)
        if not self._folders:
            raise SourceError(_("{path}: no Apple Mail mailboxes (.mbox folders with .emlx messages) found "
                                "here").format(path=root))

    @property
    def warnings(self) -> list[str]:
        """Older V<N> folders not read, files in mailboxes that are not messages."""
        return list(self._notes)

    def _discover(self, base: Path) -> None:
        node = classify(str(base))
        self._walk.first_visit(node)
        if _is_mailbox(node):
            self._mailbox(node, ())
            return
        self._container(node, depth=0)

    def _container(self, node: Node, depth: int) -> None:
        """A V<N> folder, an account folder or `Mailboxes`: its `.mbox` directories are top-level folders."""
        try:
            nodes = list_dir(node.path)
        except OSError as exc:
            self._notes.append(f"{node.path}: cannot list directory ({exc.strerror}): not read")
            return
        for n in nodes:
            if n.kind != "dir" or n.name.lower() in _NOT_MAIL_DIRS or n.name.startswith("."):
                continue
            if self._walk.first_visit(n) is not None:
                continue
            if _is_mailbox(n):
                self._mailbox(n, ())
            elif depth < 2:
                self._container(n, depth + 1)

    def _mailbox(self, node: Node, parent: tuple[str, ...]) -> None:
        """One `.mbox` directory: a folder, then its sub-mailboxes (parents before children)."""
        path = parent + (node.name[:-len(MAILBOX_SUFFIX)],)
        key = os.path.relpath(node.path, self._base).replace(os.sep, "/") if node.path != str(self._base) else "."
        self._folders.append(Folder(path=path, origin=node.path, key=key))
        for sub in self._sub_mailboxes(node.path):
            if self._walk.first_visit(sub) is None:
                self._mailbox(sub, path)

    def _sub_mailboxes(self, directory: str) -> list[Node]:
        """The `.mbox` directories anywhere below a mailbox (not below another one)."""
        out: list[Node] = []
        walk = Walk()
        stack = [classify(directory)]
        while stack:
            node = stack.pop()
            if walk.first_visit(node) is not None:
                continue
            try:
                nodes = list_dir(node.path)
            except OSError:
                continue
            for n in nodes:
                if _is_mailbox(n):
                    out.append(n)
                elif n.kind == "dir" and n.name.lower() not in _NOT_MAIL_DIRS and not n.name.startswith("."):
                    stack.append(n)
        return sorted(out, key=lambda n: n.name)

    def folders(self) -> list[Folder]:
        """The mailboxes, parents before children, in the order found (names sorted)."""
        return list(self._folders)

    def messages(self, folder: Folder, *, resume: int = 0, known: Known | None = None) -> Iterator[MessageRecord]:
        """The mailbox's messages in id order (Source.messages); `resume` is not used."""
        files, problems = self._files(folder)
        for node in problems:
            where = os.path.relpath(node.path, folder.origin)
            yield MessageRecord(folder=folder, stable_id=f"emlx:{folder.key}:?{where}", raw=b"", date=FALLBACK,
                                locator=node.path, error=node.reason or "cannot be read")
        seen: set[str] = set()
        for ident, node in files:
            stable_id = f"emlx:{folder.key}:{ident}"
            if stable_id in seen:  # the same id twice (a copy in another Data/ directory): keep both
                stable_id = f"emlx:{folder.key}:{os.path.relpath(node.path, folder.origin)}"
            seen.add(stable_id)
            if known is not None:
                try:
                    size = os.stat(node.path).st_size
                except OSError:
                    size = -1
                if size > 0 and known(stable_id, size):
                    yield MessageRecord(folder=folder, stable_id=stable_id, raw=b"", date=FALLBACK,
                                        date_source=FALLBACK_SOURCE, locator=node.path,
                                        extra={"known": "1", "size": str(size)})
                    continue
            yield read_message(folder, stable_id, node.path)

    def _files(self, folder: Folder) -> tuple[list[tuple[str, Node]], list[Node]]:
        """((id, node) of every message file, sorted by id), (entries that cannot be read)."""
        files: list[tuple[str, Node]] = []
        problems: list[Node] = []
        walk = Walk()
        stack = [classify(folder.origin)]
        while stack:
            node = stack.pop()
            if node.kind != "dir" or walk.first_visit(node) is not None:
                continue
            try:
                nodes = list_dir(node.path)
            except OSError as exc:
                problems.append(Node(node.name, node.path, "problem", node.link,
                                     f"a directory that cannot be listed ({exc.strerror})"))
                continue
            for n in nodes:
                low = n.name.lower()
                if n.kind == "problem":
                    problems.append(n)
                elif n.kind == "dir":
                    if not _is_mailbox(n) and low not in _NOT_MAIL_DIRS and not n.name.startswith("."):
                        stack.append(n)
                elif low.endswith(EMLX_SUFFIX) and not n.name.startswith("."):
                    files.append((message_id(n.name), n))
                elif not is_companion(n.name) and not n.name.startswith(".") and n.path not in self._noted:
                    self._noted.add(n.path)
                    self._notes.append(f"{n.path}: not read (not an Apple Mail message)")
        files.sort(key=lambda f: (_number(f[0]), f[0], f[1].path))
        return files, problems

    def estimate(self, folder: Folder) -> Estimate | None:
        """A cheap count (Source.estimate): the mailbox's `.emlx` files (exact) and their sizes (an
        estimate: the message inside each file is a little smaller)."""
        from migrator.sources.estimate import files_estimate

        try:
            files, problems = self._files(folder)
        except OSError:
            return None
        return files_estimate((node for _ident, node in files), problems=len(problems))

    def token(self, folder: Folder) -> str | None:
        """Cheap change detector: the modification times of the mailbox's directories (a message
        added or removed changes its Messages directory's), not its files; None when one cannot
        be examined."""
        parts: list[str] = []
        walk = Walk()
        stack = [classify(folder.origin)]
        while stack:
            node = stack.pop()
            if node.kind != "dir" or walk.first_visit(node) is not None:
                continue
            try:
                parts.append(f"{os.path.relpath(node.path, folder.origin)}={os.stat(node.path).st_mtime_ns}")
                nodes = list_dir(node.path)
            except OSError:
                return None
            stack.extend(n for n in nodes if n.kind == "dir" and not _is_mailbox(n)
                         and n.name.lower() not in _NOT_MAIL_DIRS and not n.name.startswith("."))
        return "emlx:" + hashlib.sha1("\n".join(sorted(parts)).encode("utf-8", "surrogateescape")).hexdigest()

    def reload(self, rec: MessageRecord) -> MessageRecord:
        """Read a message that was passed over as known."""
        return read_message(rec.folder, rec.stable_id, rec.locator)


def message_id(name: str) -> str:
    """The id in a message file name: `123` for `123.emlx` and `123.partial.emlx`."""
    low = name.lower()
    cut = len(PARTIAL_SUFFIX) if low.endswith(PARTIAL_SUFFIX) else len(EMLX_SUFFIX)
    return name[:-cut]


def _number(ident: str) -> int:
    return int(ident) if ident.isdigit() else -1


def read_message(folder: Folder, stable_id: str, path: str) -> MessageRecord:
    """One `.emlx` / `.partial.emlx` file as a record: the message with its flags and date, a
    skip (deleted bit) or an error (not an .emlx, truncated, partial)."""
    try:
        data = read_file(path)
    except OSError as exc:
        return MessageRecord(folder=folder, stable_id=stable_id, raw=b"", date=FALLBACK, locator=path,
                             error=f"cannot read {path}: {exc.strerror}")
    try:
        parsed = parse(data)
    except EmlxError as exc:
        return MessageRecord(folder=folder, stable_id=stable_id, raw=b"", date=FALLBACK, locator=path, error=str(exc))
    raw = parsed.message
    date, source = internaldate(raw, store_times=((DELIVERY_TIME, parsed.received),), mtime=lambda: _mtime(path))
    extra = {"source_size": str(len(data))}  # the change detector `known` is asked with: the file's size
    if parsed.plist_problem:
        extra["warning"] = parsed.plist_problem
    if path.lower().endswith(PARTIAL_SUFFIX):
        return MessageRecord(folder=folder, stable_id=stable_id, raw=b"", date=date, date_source=source,
                             locator=path, flags=parsed.flags, error=PARTIAL_REASON.format(id=message_id(
                                 os.path.basename(path))), extra=extra)
    return MessageRecord(folder=folder, stable_id=stable_id, raw=raw, date=date, date_source=source,
                         flags=parsed.flags, locator=path, extra=extra,
                         skip_reason=DELETED_REASON if parsed.deleted else None)


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None
