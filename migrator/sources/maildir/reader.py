"""Maildir and Maildir++ stores (Dovecot, Courier, mutt, Thunderbird's maildir store).

The root is INBOX; Maildir++ subfolders are `.A.B` directories whose names are IMAP modified
UTF-7; plain nested directories holding `cur/` are folders too (found by tree.discover, which
also reads any mbox file kept inside). Files are only read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

from migrator.domain.dates import FILE_NAME, internaldate, timestamp_date
from migrator.domain.errors import SourceError
from migrator.domain.headers import read_file
from migrator.domain.i18n import N_, _
from migrator.domain.records import ANSWERED, DRAFT, FLAGGED, SEEN, Folder, MessageRecord
from migrator.sources.tree import TreeSource, is_maildir
from migrator.sources.walk import list_message_files

# Maildir info flag letters (cr.yp.to/proto/maildir.html; Dovecot's man page): P is "passed"
# (resent/forwarded), T "trashed" (deleted: the message is skipped, never uploaded).
_INFO_FLAGS = {"S": SEEN, "R": ANSWERED, "F": FLAGGED, "D": DRAFT, "P": "$Forwarded"}
# The info: "2," then the flags, at the end of the name. The separator is ':' on POSIX, ';' where
# ':' is not allowed in file names (mbsync on Windows: InfoDelimiter), '!' (OfflineIMAP on Windows).
# Fields such as ",S=<size>", ",W=<size>" (Dovecot), ",U=<uid>" (mbsync, OfflineIMAP) come before
# the info and stay part of the unique name; they are never read as flags.
_INFO = re.compile(r"[:;!]2,([A-Za-z]*)(?:,[^:;!/\\]*)?$")
_DELIVERY_TIME = re.compile(r"^(\d{9,11})(?:\.|_)")
KEYWORDS_FILE = "dovecot-keywords"  # "<index> <keyword>" lines: letter a is index 0 ... z is 25


def detect(path: Path) -> bool:
    """A Maildir, or a Maildir++ root holding only `.Name` subfolders (the root is then INBOX)."""
    if is_maildir(path):
        return True
    if not path.is_dir():
        return False
    try:
        with os.scandir(path) as it:
            return any(e.name.startswith(".") and is_maildir(e.path) for e in it)
    except OSError:
        return False


def parse_name(name: str, keywords: Sequence[str | None] = ()) -> tuple[str, frozenset[str], bool]:
    """(unique part, IMAP flags, deleted) from a Maildir file name `unique<sep>2,FLAGS`.

    sep is ':' (POSIX), ';' (mbsync on Windows) or '!' (OfflineIMAP on Windows). Only the file
    NAME is parsed: given a path, the directories are dropped (a parent named "x:2,S" gives no
    flags). The unique part (the stable id) never includes the info, so a message re-flagged
    between runs keeps its id; fields before the info (",S=1234", ",W=1260", ",U=17") stay in it.
    Upper-case letters: D draft, F flagged, P passed ($Forwarded), R replied, S seen, T trashed
    (deleted=True); other letters are ignored. Lower-case letters a..z are Dovecot keywords:
    keywords[i] is the keyword of letter chr(ord('a') + i) (from the folder's dovecot-keywords
    file, see `read_keywords`); a letter with no keyword is ignored.
    """
    for sep in ("/", os.sep, os.altsep):
        if sep and sep in name:
            name = name.rsplit(sep, 1)[1]
    m = _INFO.search(name)
    if m is None:
        return name, frozenset(), False
    info = m.group(1)
    flags = {_INFO_FLAGS[c] for c in info if c in _INFO_FLAGS}
    for c in info:
        i = ord(c) - ord("a")
        if 0 <= i < 26 and i < len(keywords) and keywords[i]:
            flags.add(keywords[i])  # type: ignore[arg-type]
    return name[: m.start()], frozenset(flags), "T" in info


def read_keywords(folder: str | Path) -> list[str | None]:
    """The Dovecot keyword table of a Maildir folder (its `dovecot-keywords` file): index i is
    the keyword of letter a+i; [] when the file is absent or unreadable (keywords are then lost,
    the message is not)."""
    try:
        text = read_file(os.path.join(folder, KEYWORDS_FILE)).decode("utf-8", "replace")
    except OSError:
        return []
    table: list[str | None] = [None] * 26
    for line in text.splitlines():
        idx, _, word = line.strip().partition(" ")
        word = word.strip()
        if idx.isdigit() and int(idx) < 26 and word and not any(ch in word for ch in ' ()[]{}%*"\\'):
            table[int(idx)] = word
    return table


def name_time(unique: str) -> datetime | None:
    """The delivery time in a Maildir unique name: its leading seconds since the epoch (UTC), or
    None when the name does not start with one."""
    m = _DELIVERY_TIME.match(unique)
    return timestamp_date(int(m.group(1))) if m else None


def _mtime(path: str) -> Callable[[], float | None]:
    def stat() -> float | None:
        try:
            return os.stat(path).st_mtime
        except OSError:
            return None
    return stat


class MaildirSource(TreeSource):
    """A Maildir or Maildir++ root (INBOX), its subfolders, and any other store found inside."""

    kind = "maildir"

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise SourceError(_("{path}: not a directory").format(path=root))
        super().__init__(root)
        if not self._found.folders:
            raise SourceError(_("{path}: no Maildir found (a Maildir has cur/, new/ and tmp/ directories)").format(
                path=root))


def read_folder(folder: Folder, known: Callable[[str, int], bool] | None = None,
                tree_dirs: frozenset[str] = frozenset(), notes: list[str] | None = None) -> Iterator[MessageRecord]:
    """Stream a Maildir folder's cur/ and new/ in delivery order.

    A message `known(stable_id, size)` to be settled already is not read: it comes with empty
    bytes and extra["known"] (its stored size in extra["size"]). Entries that are not message
    files (dangling links, FIFOs, sockets, devices, directories) come as records with `error`.
    A message file that is a link to a message of a Maildir folder in `tree_dirs` (real paths of
    the folders this source reads) is read there and skipped here with a reason (read once).
    """
    base = Path(folder.origin)
    # "NAME\0cur": plain strings, sorted as they are (a key function would double the peak):
    # the unique name starts with the delivery time, so this is delivery order
    names: list[str] = []
    links: set[str] = set()
    for sub in ("new", "cur"):
        d = base / sub
        try:
            files, problems = list_message_files(str(d))
        except FileNotFoundError:
            continue
        except OSError as exc:
            yield MessageRecord(
                folder=folder, stable_id=f"maildir:{folder.key}:{sub}", raw=b"",
                date=datetime(1980, 1, 1, tzinfo=timezone.utc), locator=str(d),
                error=f"cannot list {d}: {exc.strerror}",
            )
            continue
        for node in sorted(problems, key=lambda n: n.name):
            yield MessageRecord(
                folder=folder, stable_id=f"maildir:{folder.key}:{parse_name(node.name)[0]}", raw=b"",
                date=datetime(1980, 1, 1, tzinfo=timezone.utc), locator=node.path,
                error=node.reason,
            )
        for node in files:
            names.append(f"{node.name}\0{sub}")
            if node.link:
                links.add(node.path)
    names.sort()
    base_s = str(base)
    keywords = read_keywords(base_s)
    for entry in names:
        name, _, sub = entry.partition("\0")
        path = os.path.join(base_s, sub, name)  # strings, not Path objects: this is the hot loop
        unique, flags, deleted = parse_name(name, keywords)
        if path in links:
            target = os.path.realpath(path)
            owner = os.path.dirname(os.path.dirname(target))
            if owner in tree_dirs and os.path.basename(os.path.dirname(target)) in ("cur", "new"):
                date, source = internaldate(b"", store_times=((FILE_NAME, name_time(unique)),), mtime=_mtime(path))
                yield MessageRecord(
                    folder=folder, stable_id=f"maildir:{folder.key}:{unique}", raw=b"", date=date,
                    date_source=source, locator=path, flags=flags,
                    skip_reason=f"a link to {target}, which is read there (read once)",
                )
                continue
        if known is not None:
            try:
                size = os.stat(path).st_size
            except OSError:
                size = -1
            if size >= 0 and known(f"maildir:{folder.key}:{unique}", size):
                date, source = internaldate(b"", store_times=((FILE_NAME, name_time(unique)),),
                                            mtime=_mtime(path))
                yield MessageRecord(
                    folder=folder, stable_id=f"maildir:{folder.key}:{unique}", raw=b"",
                    date=date, date_source=source, flags=flags, locator=path, extra={"known": "1", "size": str(size)},
                    skip_reason=N_("marked deleted in the source") if deleted else None,
                )
                continue
        yield _record(folder, unique, flags, deleted, path)


def _record(folder: Folder, unique: str, flags: frozenset[str], deleted: bool, path: str) -> MessageRecord:
    stable_id = f"maildir:{folder.key}:{unique}"
    try:
        raw = read_file(path)
    except OSError as exc:
        return MessageRecord(
            folder=folder, stable_id=stable_id, raw=b"",
            date=datetime(1980, 1, 1, tzinfo=timezone.utc), locator=path,
            error=f"cannot read {path}: {exc.strerror}",
        )
    date, source = internaldate(raw, store_times=((FILE_NAME, name_time(unique)),), mtime=_mtime(path))
    return MessageRecord(
        folder=folder,
        stable_id=stable_id,
        raw=raw,
        date=date,
        date_source=source,
        flags=flags,
        locator=path,
        skip_reason=N_("marked deleted in the source") if deleted else None,
    )


def reload(rec: MessageRecord) -> MessageRecord:
    """Read a message that was passed over as known."""
    unique, flags, deleted = parse_name(os.path.basename(rec.locator), read_keywords(rec.folder.origin))
    return _record(rec.folder, unique, flags, deleted, rec.locator)


def token(folder: Folder) -> str | None:
    """Cheap change detector: a delivery, a flag change or a removal touches cur/ or new/."""
    parts = []
    for sub in ("cur", "new"):
        try:
            st = (Path(folder.origin) / sub).stat()
        except FileNotFoundError:
            parts.append("-")
            continue
        except OSError:
            return None
        parts.append(f"{st.st_mtime_ns}:{st.st_nlink}")
    return "maildir:" + "/".join(parts)
