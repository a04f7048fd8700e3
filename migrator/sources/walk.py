"""The one rule for walking a local store's directories, used by every tree reader (mbox trees,
Maildir, Thunderbird profiles).

- A directory is read once: directories are known by (st_dev, st_ino), so a symbolic link loop
  (`ln -s . self`), two links to one directory or a link to a sibling never read mail twice.
- Nothing blocks: an entry is classified with lstat/stat before anything opens it; FIFOs,
  sockets and devices are never opened, and files are opened with O_NONBLOCK where it exists.
- Nothing is left out without a word: dangling links, special files and unlistable directories
  come back as problems with a reason for the reader to count as unreadable.
- Files that only accompany a store (Thunderbird `.msf`, Dovecot and Courier indexes,
  `maildirfolder`, Finder's `.DS_Store`...) are known by name and pass silently.

Portable: only `os` and `stat`; O_NONBLOCK is used where the platform has it.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

# Files and directories that accompany a mail store and never hold mail (compared lowercased).
COMPANION_NAMES = frozenset({
    # Maildir / Maildir++ (Dovecot, Courier, qmail, mbsync, notmuch, mu)
    "maildirfolder", "maildirsize", "dovecot-uidlist", "dovecot-uidvalidity", "dovecot-keywords",
    "dovecot-acl", "dovecot-acl-list", "dovecot.mailbox.log", "dovecot.list.index.log",
    "subscriptions", "courierimapuiddb", "courierimapkeywords", "courierimaphieracl", "courierimapacl",
    "courierimapsubscribed", "courierpop3dsizelist", ".customflags", ".uidvalidity", ".mbsyncstate",
    ".isyncuidmap.db", ".notmuch", ".mu", ".mh_sequences", ".keep", ".gitkeep",
    # Thunderbird / Mozilla / Apple Mail / Eudora beside mbox files
    "popstate.dat", "msgfilterrules.dat", "rules.dat", "filterlog.html", "junklog.html",
    "virtualfolders.dat", "foldertree.json", "foldercache.json", "folders.json", "panacea.dat",
    "table_of_contents", "info.plist",
    # Windows Live Mail / Windows Mail (the ESE database of flags and folder names, its logs) and
    # Outlook Express (winmail.fol, folders.dbx is its folder tree)
    "mail.msmessagestore", "windowsmail.msmessagestore", "winmail.fol",
    # operating systems
    ".ds_store", "thumbs.db", "desktop.ini", ".directory", "icon\r",
})
COMPANION_PREFIXES = ("dovecot.index", "dovecot-uidvalidity.", "dovecot-uidlist", "dovecot-keywords",
                      "dovecot.list.index", ".mbsyncstate", "._", "courierimap")
COMPANION_SUFFIXES = (".msf", ".toc", ".mozmsgs",
                      # Windows Live Mail / Windows Mail beside the .eml tree: account settings, the
                      # ESE database (*.MSMessageStore, *.edb) and its logs, checkpoint, flush map
                      ".oeaccount", ".msmessagestore", ".edb", ".jfm", ".log", ".chk", ".jrs")

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # absent on Windows, where FIFOs do not appear in trees
_READ_ONLY = os.O_RDONLY | getattr(os, "O_BINARY", 0)


def is_companion(name: str) -> bool:
    """A file or directory that only accompanies a store (an index, a lock, a folder list)."""
    low = name.lower()
    return low in COMPANION_NAMES or low.startswith(COMPANION_PREFIXES) or low.endswith(COMPANION_SUFFIXES)


class Node(NamedTuple):
    """One directory entry, classified without opening it (a tuple: Maildirs list millions).

    kind: "dir", "file" (a regular file), or "problem" (reason says why it cannot be read).
    link: reached through a symbolic link. dev_ino: (st_dev, st_ino) of what it designates
    (directories and links; (0, 0) for a plain file, whose type came from the listing alone).
    """

    name: str
    path: str
    kind: str
    link: bool = False
    reason: str | None = None
    dev_ino: tuple[int, int] = (0, 0)


def special_reason(mode: int) -> str | None:
    """Why a file of this st_mode is not read (None for a regular file or a directory)."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a mail file: not opened"
    if stat.S_ISSOCK(mode):
        return "a socket, not a mail file: not opened"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file, not a mail file: not opened"
    return "not a regular file: not opened"


def classify(path: str, name: str | None = None) -> Node:
    """lstat, then stat through a link: what `path` is, never opening it."""
    name = name if name is not None else os.path.basename(path)
    try:
        lst = os.lstat(path)
    except OSError as exc:
        return Node(name, path, "problem", reason=f"cannot be examined ({exc.strerror})")
    link = stat.S_ISLNK(lst.st_mode)
    st = lst
    if link:
        try:
            st = os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return Node(name, path, "problem", True, "a symbolic link that loops onto itself")
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return Node(name, path, "problem", True,
                            f"a dangling symbolic link (to {_readlink(path)}, which does not exist)")
            return Node(name, path, "problem", True, f"a symbolic link that cannot be followed ({exc.strerror})")
    reason = special_reason(st.st_mode)
    if reason:
        return Node(name, path, "problem", link, reason, (st.st_dev, st.st_ino))
    kind = "dir" if stat.S_ISDIR(st.st_mode) else "file"
    return Node(name, path, kind, link, None, (st.st_dev, st.st_ino))


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def list_dir(directory: str, sort: bool = True) -> list[Node]:
    """The entries of a directory, classified (sorted by name unless `sort` is False).
    OSError when it cannot be listed.

    A plain file costs no system call beyond the listing (its type comes with it, d_type);
    directories, links and anything else are examined with classify()."""
    out: list[Node] = []
    with os.scandir(directory) as it:
        for e in it:
            try:
                plain_file = e.is_file(follow_symlinks=False)
            except OSError:
                plain_file = False
            out.append(Node(e.name, e.path, "file") if plain_file else classify(e.path, e.name))
    if sort:
        out.sort(key=_name)
    return out


def _name(node: Node) -> str:
    return node.name


@dataclass
class Walk:
    """One walk over a store: which directories were read (by device and inode), and where."""

    visited: dict[tuple[int, int], str] = field(default_factory=dict)

    def first_visit(self, node: Node) -> str | None:
        """None the first time this directory is reached; else the path it was first read at."""
        if node.dev_ino in self.visited:
            return self.visited[node.dev_ino]
        self.visited[node.dev_ino] = node.path
        return None


def list_message_files(directory: str) -> tuple[list[Node], list[Node]]:
    """A Maildir `cur/` or `new/`: (message files, problems), in listing order (callers sort).

    Names starting with "." are not messages (the Maildir convention) and are passed over.
    Directories, dangling links, FIFOs, sockets and devices are problems with a reason.
    Raises OSError (FileNotFoundError when absent) when the directory cannot be listed.
    """
    files: list[Node] = []
    problems: list[Node] = []
    for node in list_dir(directory, sort=False):
        if node.name.startswith("."):
            continue
        if node.kind == "file":
            files.append(node)
        elif node.kind == "dir":
            problems.append(Node(node.name, node.path, "problem", node.link,
                                 "a directory inside a Maildir's cur/ or new/, not a message: not read"))
        else:
            problems.append(node)
    return files, problems


def open_regular(path: str) -> BinaryIO:
    """Open a regular file read-only without ever blocking (a FIFO put in its place since it was
    listed is refused). OSError when it cannot be opened or is not a regular file."""
    fd = os.open(path, _READ_ONLY | _NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, special_reason(mode) or "not a regular file", path)
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
