"""Mail store readers behind one `Source` protocol, and auto-detection of a path's store type."""

from __future__ import annotations

from pathlib import Path

from migrator.domain.errors import SourceError
from migrator.domain.records import Folder, MessageRecord
from migrator.sources.base import Capabilities, Source

__all__ = ["Capabilities", "Folder", "MessageRecord", "Source", "open_source", "detect_kind"]


def detect_kind(path: Path) -> str:
    """'pst', 'thunderbird', 'maildir' or 'mbox'; SourceError when it is none of them.

    A directory that is a Maildir (or a Maildir++ root) is 'maildir'; any other directory that
    holds mbox files or Maildirs at any depth is 'mbox' (both read the whole tree: tree.py)."""
    from migrator.sources import tree
    from migrator.sources.maildir import reader as maildir
    from migrator.sources.mbox import reader as mbox
    from migrator.sources.thunderbird import reader as thunderbird

    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if path.is_file():
        try:
            with path.open("rb") as fh:
                head = fh.read(4)
        except OSError as exc:
            raise SourceError(f"{path}: cannot read ({exc.strerror})") from exc
        if head == b"!BDN":
            return "pst"
        if thunderbird.detect(path):
            return "thunderbird"
        if mbox.looks_like_mbox(path):
            return "mbox"
        raise SourceError(
            f"{path}: not a mail store migrate can read",
            hint="Give an mbox file, a Maildir, a directory of mbox files, a Thunderbird profile or a .pst file.",
        )
    if not path.is_dir():
        raise SourceError(f"{path}: not a file or a directory migrate can read (a FIFO, socket or device)")
    if thunderbird.detect(path):
        return "thunderbird"
    if maildir.detect(path):
        return "maildir"
    found = tree.discover(path)
    if found.folders:
        return "mbox"
    listing = "; ".join(found.notes[:3])
    raise SourceError(
        f"{path}: no mail found here (no mbox files, no Maildir)" + (f": {listing}" if listing else ""),
        hint="Give an mbox file, a Maildir, a directory of mbox files, a Thunderbird profile or a .pst file.",
    )


def open_source(path: Path, **options: object) -> Source:
    """Open `path` read-only as the store type it holds."""
    path = path.expanduser()
    kind = detect_kind(path)
    if kind == "pst":
        from migrator.sources.pst.reader import PstSource

        return PstSource(path)
    if kind == "thunderbird":
        from migrator.sources.thunderbird.reader import ThunderbirdSource

        return ThunderbirdSource(path, **options)  # type: ignore[arg-type]
    if kind == "maildir":
        from migrator.sources.maildir.reader import MaildirSource

        return MaildirSource(path)
    from migrator.sources.mbox.reader import MboxSource

    return MboxSource(path)
