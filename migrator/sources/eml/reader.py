"""`.eml` folders: one RFC 5322 message per file, as Windows Live Mail 2009-2012 and Windows
Mail (Vista) keep them (`<store>\\<account>\\<folder>\\*.eml`), as undbx extracts Outlook Express
`.dbx` files, and as any mail program's "save as" writes them.

What the files carry and what they do not (../shared/reference/store-formats.md, Windows Mail /
Windows Live Mail): the message bytes, nothing else. Read, flag and folder state lives in the
store's ESE database (`Mail.MSMessageStore`), which is not read: every message gets \\Seen (a
message kept in a store for years has been read; the user is told in docs/concepts.md).
INTERNALDATE comes from the one policy (domain/dates.py): the newest Received:, else Date:, else
the file's modification time.

A 0-byte `.eml` is a placeholder Windows Live Mail leaves for a message whose body it never
downloaded (thunderbird/import-export-tools-ng#370): there is no message, so it is skipped with
that reason (counted as skipped, not failed). A file that does not begin with a header field is
not a message: it fails with the reason (kept, never uploaded as mail); a first line `From ...`
(the mbox envelope line some exporters write) is dropped as mbox readers drop it.

The folders themselves are found by tree.discover (a directory holding `.eml` files is a folder;
Windows Live Mail account folders add no level). The stable id of a message is
`eml:<folder key>:<file name>`; the change detector of `known` is the file size in bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from migrator.domain.dates import FALLBACK, internaldate
from migrator.domain.errors import SourceError
from migrator.domain.headers import read_file
from migrator.domain.i18n import N_, _
from migrator.domain.records import SEEN, Folder, MessageRecord
from migrator.sources.base import Known
from migrator.sources.tree import EML, UNREADABLE, Found, TreeSource, discover, is_eml_name
from migrator.sources.walk import list_dir

# Every message of an .eml tree is read: the files carry no state (see the module docstring).
DEFAULT_FLAGS = frozenset({SEEN})
PLACEHOLDER = N_("a 0-byte placeholder: the message itself was never downloaded (Windows Live Mail keeps "
               "one for a message whose body it did not fetch)")
NOT_A_MESSAGE = "does not begin with a header field: not an RFC 5322 message"
# RFC 5322 section 2.2: a field name (printable ASCII but ':') and a colon, at the start.
_HEADER_START = re.compile(rb"[!-9;-~]+[ \t]*:")


def detect(path: Path) -> bool:
    """A directory whose tree holds `.eml` folders and no other kind of mail store (an mbox, a
    Maildir): the other stores' trees read their `.eml` folders too (tree.py)."""
    if not path.is_dir():
        return False
    try:
        found = discover(path)
    except SourceError:
        return False
    kinds = set(found.kinds.values())
    return EML in kinds and kinds <= {EML, UNREADABLE}


class EmlSource(TreeSource):
    """A directory tree of `.eml` folders (Windows Live Mail, Windows Mail, any saved messages)."""

    kind = "eml"

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise SourceError(_("{path}: not a directory").format(path=root))
        super().__init__(root)
        if not any(k == EML for k in self._found.kinds.values()):
            raise SourceError(_("{path}: no .eml files found in this directory").format(path=root))

    def _discover(self, root: Path) -> Found:
        return discover(root)


def _mtime(path: str) -> Callable[[], float | None]:
    def stat() -> float | None:
        try:
            return os.stat(path).st_mtime
        except OSError:
            return None
    return stat


def read_folder(folder: Folder, known: Known | None = None,
                tree_dirs: frozenset[str] = frozenset()) -> Iterator[MessageRecord]:
    """Stream the `.eml` files of one directory in name order (Windows Live Mail's names are
    hex counters, so this is also the order they arrived in).

    known(stable_id, size in bytes): a message settled already is not read (empty raw,
    extra["known"] = "1", extra["size"]). Entries named `.eml` that are not regular files were
    made unreadable folders by discovery; one that turned into something else since is a record
    with `error`. A file that is a link to an `.eml` file of a folder in `tree_dirs` (real paths
    of the .eml folders this source reads) is read there and skipped here with that reason (read
    once). Raises nothing.
    """
    try:
        nodes = list_dir(folder.origin)
    except OSError as exc:
        yield MessageRecord(folder=folder, stable_id=f"eml:{folder.key}:", raw=b"", date=FALLBACK,
                            locator=folder.origin, error=f"cannot list {folder.origin}: {exc.strerror}")
        return
    for node in nodes:
        if node.kind != "file" or not is_eml_name(node.name):
            continue
        stable_id = f"eml:{folder.key}:{node.name}"
        if node.link:
            target = os.path.realpath(node.path)
            if os.path.dirname(target) in tree_dirs and is_eml_name(os.path.basename(target)):
                date, source = internaldate(b"", mtime=_mtime(node.path))
                yield MessageRecord(folder=folder, stable_id=stable_id, raw=b"", date=date, date_source=source,
                                    locator=node.path, skip_reason=f"a link to {target}, which is read there "
                                                                   "(read once)")
                continue
        if known is not None:
            try:
                size = os.stat(node.path).st_size
            except OSError:
                size = -1
            if size > 0 and known(stable_id, size):
                date, source = internaldate(b"", mtime=_mtime(node.path))
                yield MessageRecord(folder=folder, stable_id=stable_id, raw=b"", date=date, date_source=source,
                                    flags=DEFAULT_FLAGS, locator=node.path,
                                    extra={"known": "1", "size": str(size)})
                continue
        yield read_message(folder, stable_id, node.path)


def read_message(folder: Folder, stable_id: str, path: str) -> MessageRecord:
    """One `.eml` file as a record: the message, a skip (0-byte placeholder) or an error."""
    try:
        raw = read_file(path)
    except OSError as exc:
        return MessageRecord(folder=folder, stable_id=stable_id, raw=b"", date=FALLBACK, locator=path,
                             error=f"cannot read {path}: {exc.strerror}")
    size = len(raw)
    date, source = internaldate(raw, mtime=_mtime(path))
    if not raw:
        return MessageRecord(folder=folder, stable_id=stable_id, raw=b"", date=date, date_source=source,
                             locator=path, skip_reason=PLACEHOLDER)
    if raw.startswith(b"From ") and b"\n" in raw:  # an mbox envelope line some exporters write first
        rest = raw[raw.index(b"\n") + 1:]
        if _HEADER_START.match(rest):
            raw = rest
    if not _HEADER_START.match(raw):
        return MessageRecord(folder=folder, stable_id=stable_id, raw=b"", date=date, date_source=source,
                             locator=path, error=NOT_A_MESSAGE)
    extra = {"source_size": str(size)} if len(raw) != size else {}  # what `known` is asked with
    return MessageRecord(folder=folder, stable_id=stable_id, raw=raw, date=date, date_source=source,
                         flags=DEFAULT_FLAGS, locator=path, extra=extra)


def reload(rec: MessageRecord) -> MessageRecord:
    """Read a message that was passed over as known."""
    return read_message(rec.folder, rec.stable_id, rec.locator)


def token(folder: Folder) -> str | None:
    """Cheap change detector: adding, removing or renaming a file changes the directory's mtime
    (an .eml file is never rewritten in place by the programs that keep these stores)."""
    try:
        st = os.stat(folder.origin)
    except OSError:
        return None
    return f"eml:{st.st_mtime_ns}:{st.st_nlink}"
