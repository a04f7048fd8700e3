"""Cheap counts of a folder (`Source.estimate`, sources/base.py `Estimate`), shared by the readers:
what a progress bar needs for its totals, without reading the mail.

- A Maildir folder: the listing of `cur/` and `new/` (one record per entry, as the reader yields
  them) and the sizes of the files: the `,S=<size>` field of a name when there is one (Dovecot,
  Courier: the file's size in bytes), else a stat. Exact.
- An mbox file: its size in bytes (the messages plus their `From ` lines and the blank lines
  between them: an estimate of the messages' bytes), and the separators (`mbox.is_separator`) in
  its first SAMPLE bytes scaled to the whole file: an estimate of the messages, which the progress
  corrects as the pass goes.
- A directory of `.eml` files, an Apple Mail mailbox: one message per file, the files' sizes.
- A Becky! folder: its `.bmf` files' sizes and its Folder.idx rows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from migrator.sources.base import Estimate
from migrator.sources.walk import Node, list_dir, list_message_files, open_regular

SAMPLE = 256 * 1024  # bytes of an mbox read to estimate how many messages it holds
GUESSED_MESSAGE_BYTES = 16 * 1024  # a message's size when nothing better is known (corrected as the pass goes)
_SIZE_FIELD = re.compile(r",S=(\d+)")  # Maildir name field: the file's size (Dovecot, Courier)


def maildir_estimate(origin: str, raw_is_file: bool = True) -> Estimate:
    """The records and bytes of a Maildir folder at `origin` (directory holding cur/ and new/).

    Records: every entry of cur/ and new/ the Maildir readers yield (message files and entries
    that are not, such as FIFOs, each one record), one for a sub-directory that cannot be listed.
    Bytes: the files' sizes; exact unless a file is a symbolic link (read where it points, maybe
    by another folder), a size cannot be had, or `raw_is_file` is False (a reader that takes
    something off the file, e.g. Thunderbird's `From ` line).
    """
    messages = size = 0
    exact = raw_is_file
    for sub in ("new", "cur"):
        try:
            files, problems = list_message_files(os.path.join(origin, sub))
        except FileNotFoundError:
            continue
        except OSError:
            messages += 1  # the reader yields one error record for it
            continue
        messages += len(files) + len(problems)
        for node in files:
            if node.link:
                exact = False
            field = _SIZE_FIELD.search(node.name.split(":", 1)[0])
            if field is not None:
                size += int(field.group(1))
                continue
            try:
                size += os.stat(node.path).st_size
            except OSError:
                exact = False
    return Estimate(messages, size, messages_exact=True, bytes_exact=exact)


def mbox_estimate(path: str) -> Estimate | None:
    """The bytes of the mbox file at `path` (its size: an estimate of the messages' bytes) and an
    estimate of its messages (the separators in its first SAMPLE bytes, scaled to its size).
    Estimate(0, 0, exact) for an empty file; None when it cannot be opened."""
    from migrator.sources.mbox.reader import BOM, is_separator

    try:
        with open_regular(path) as fh:
            total = os.fstat(fh.fileno()).st_size
            head = fh.read(SAMPLE)
    except OSError:
        return None
    if total == 0:
        return Estimate(0, 0, messages_exact=True, bytes_exact=True)
    if head.startswith(BOM):
        head = head[len(BOM):]
    lines = head.splitlines()
    found = 0
    after_blank = True
    for i, line in enumerate(lines):
        if line[:5] == b"From " and is_separator(line, lines[i + 1] if i + 1 < len(lines) else None, after_blank):
            found += 1
        after_blank = not line.strip()
    if len(head) < total and head:
        found = max(found, round(found * total / len(head)))
    return Estimate(max(found, 1), total)


def files_estimate(nodes: Iterable[Node], problems: int = 0, raw_is_file: bool = False) -> Estimate:
    """One message per file of `nodes` (plus `problems` records for entries that cannot be read),
    bytes from their sizes (exact only when `raw_is_file` and every size could be had): a
    directory of `.eml` files, an Apple Mail mailbox's `.emlx` files (their raw is the message
    inside the file)."""
    messages, size, exact = problems, 0, raw_is_file
    for node in nodes:
        messages += 1
        try:
            size += os.stat(node.path).st_size
        except OSError:
            exact = False
    return Estimate(messages, size, messages_exact=True, bytes_exact=exact)


def eml_estimate(origin: str) -> Estimate | None:
    """A directory of `.eml` files (sources/eml): the files named `.eml` and their sizes (the bytes
    an estimate: a leading mbox `From ` line is taken off); None when it cannot be listed."""
    from migrator.sources.tree import is_eml_name

    try:
        nodes = list_dir(origin)
    except OSError:
        return None
    return files_estimate(n for n in nodes if n.kind == "file" and is_eml_name(n.name))


def becky_estimate(directory: str, index_rows: int) -> Estimate | None:
    """A Becky! folder: its `.bmf` files' sizes (bytes, an estimate: X-Becky-Include attachments are
    expanded) and its Folder.idx rows (`index_rows`: messages, an estimate), else a guess from the
    size; one record per entry that cannot be read. None when it cannot be listed."""
    try:
        nodes = list_dir(directory)
    except OSError:
        return None
    size = problems = 0
    for n in nodes:
        if n.kind == "file" and n.name.lower().endswith(".bmf"):
            try:
                size += os.stat(n.path).st_size
            except OSError:
                pass
        elif n.kind == "problem":
            problems += 1
    messages = index_rows or (max(1, size // GUESSED_MESSAGE_BYTES) if size else 0)
    return Estimate(messages + problems, size)
