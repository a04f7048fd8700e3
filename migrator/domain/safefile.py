"""Files migrate writes are its own: never written through a symbolic link planted at their path.

Every writer (the journal and its lock, the account lock, quarantined `.eml` files and
failures.log, the protocol trace, the HTML reports) opens its files through these helpers:

- a new file is created with O_CREAT|O_EXCL (it cannot be a link: the call fails if anything
  exists at the path) and O_NOFOLLOW where the platform has it;
- an existing file is opened without O_CREAT, with O_NOFOLLOW, after an `lstat` that refuses a
  symbolic link (on Windows, which has no O_NOFOLLOW, the `lstat` is the check) or anything but
  a regular file (a FIFO would block, a device would be written to);
- a directory migrate makes for itself (the quarantine) is refused when it is a symbolic link.

A refusal is an UnsafePath (exit 5, docs/exit-codes.md): one line naming the path, and the hint
to remove the link. The file the link points to is never opened, truncated or changed.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from migrator.domain.errors import UnsafePath
from migrator.domain.i18n import _

O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # POSIX; absent on Windows (lstat is the check there)
O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _refused(path: Path, what: str) -> UnsafePath:
    """`what`: "link", "not-dir" or "not-file"."""
    text = {"link": _("{path} is a symbolic link: migrate does not write through it"),
            "not-dir": _("{path} is not a directory: migrate does not write through it"),
            "not-file": _("{path} is not a regular file: migrate does not write through it")}[what]
    return UnsafePath(text.format(path=path))


def check_path(path: Path, *, kind: str = "file") -> bool:
    """Refuse a symbolic link (or another kind of entry) at `path`; True when something is there.

    `kind`: "file" (a regular file is fine) or "dir". Raises UnsafePath."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError:
        return False  # unreadable parent and the like: the open that follows reports it
    if stat.S_ISLNK(st.st_mode):
        raise _refused(path, "link")
    if kind == "dir" and not stat.S_ISDIR(st.st_mode):
        raise _refused(path, "not-dir")
    if kind == "file" and not stat.S_ISREG(st.st_mode):
        raise _refused(path, "not-file")
    return True


def open_fd(path: Path, *, append: bool = False, truncate: bool = True, mode: int = 0o600,
            read: bool = False) -> int:
    """An OS file descriptor for writing `path` (created `mode` when absent), never through a link.

    append: O_APPEND (logs); truncate: empty an existing file (ignored with append); read: O_RDWR.
    Raises UnsafePath for a link or a non-regular file, OSError for the rest (permissions, disk)."""
    access = (os.O_RDWR if read else os.O_WRONLY) | O_NOFOLLOW | O_BINARY | O_CLOEXEC
    extra = os.O_APPEND if append else (os.O_TRUNC if truncate else 0)
    try:
        return os.open(path, access | os.O_CREAT | os.O_EXCL | (os.O_APPEND if append else 0), mode)
    except FileExistsError:
        pass
    check_path(path)
    try:
        fd = os.open(path, access | extra)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # a link swapped in between: O_NOFOLLOW caught it
            raise _refused(path, "link") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _refused(path, "not-file")
    return fd


def write_bytes(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create or replace the content of `path` with `data` (see open_fd)."""
    with os.fdopen(open_fd(path, mode=mode), "wb") as fh:
        fh.write(data)


def append_text(path: Path, text: str, mode: int = 0o600) -> None:
    """Append `text` (UTF-8) to `path`, creating it `mode` (see open_fd). A lone surrogate (a
    file name that is not UTF-8, PEP 383) is written escaped (`\\udc91`), never an error."""
    with os.fdopen(open_fd(path, append=True, mode=mode), "a", encoding="utf-8", errors="backslashreplace") as fh:
        fh.write(text)


def private_dir(path: Path) -> Path:
    """Make `path` (and its parents) a directory private to the user (0700); refuse a symbolic
    link or a file at `path`. Returns `path`."""
    check_path(path, kind="dir")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    check_path(path, kind="dir")  # made by someone else in between
    try:
        os.chmod(path, 0o700)  # mkdir's mode is reduced by the umask
    except OSError:
        pass
    return path


def check_sqlite(path: Path) -> None:
    """SQLite opens the database and its companions itself (following links): refuse a symbolic
    link at the database's path and at its -wal, -shm and -journal files first."""
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        check_path(p)
