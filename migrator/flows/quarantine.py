"""Messages the server refused are kept as .eml files next to the state, with the reason."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from migrator.domain import safefile
from migrator.domain.errors import StateUnwritable
from migrator.domain.i18n import _
from migrator.domain.models import Failure
from migrator.domain.records import MessageRecord


@contextmanager
def _writable(directory: Path) -> Iterator[None]:
    """A quarantine that cannot be written (a read-only or full file system, no permission: it
    lives next to the state) is StateUnwritable (exit 5, one line), never a traceback."""
    try:
        yield
    except OSError as exc:
        raise StateUnwritable(_("cannot write the quarantine {path}: {reason}").format(
                                  path=directory, reason=exc.strerror or exc),
                              hint=_("Free space there, or put the state (and so the quarantine) on a writable "
                                   "disk with --state PATH, then run the same command again: nothing is sent "
                                   "twice.")) from exc


class Quarantine:
    """The quarantine directory (0700, next to the state): refused messages as `.eml` files and
    one tab-separated line per failure in `failures.log` (file, target folder, locator, reason)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def keep(self, rec: MessageRecord, target: str, reason: str) -> str | None:
        """Write the message as read from the source (even an empty one); returns the file path.

        Never through a symbolic link: a linked quarantine directory, folder, `.eml` or failures.log
        is refused with UnsafePath (exit 5), the file it points to untouched (see safefile)."""
        folder = self.directory / re.sub(r"[^\w.\-]+", "_", target)
        with _writable(self.directory):
            safefile.private_dir(self.directory)
            safefile.private_dir(folder)
            safefile.check_path(self.directory / "failures.log")  # refused before anything is written
            name = re.sub(r"[^\w.\-]+", "_", rec.stable_id)[-120:] + ".eml"
            path = folder / name
            safefile.write_bytes(path, rec.raw)
            safefile.append_text(self.directory / "failures.log", f"{path}\t{target}\t{rec.locator}\t{reason}\n")
        return str(path)

    def log_unreadable(self, rec: MessageRecord, target: str, reason: str) -> None:
        """A source item that could not be read: no .eml to keep, one line in failures.log
        (no file, the target folder, where it is in the source: folder and item, the reason)."""
        with _writable(self.directory):
            safefile.private_dir(self.directory)  # never through a planted link (UnsafePath)
            safefile.append_text(self.directory / "failures.log",
                                 f"(unreadable, no .eml)\t{target}\t{rec.locator}\t{' '.join(reason.split())}\n")

    @staticmethod
    def failure(rec: MessageRecord, target: str, reason: str, path: str | None) -> Failure:
        """The Failure record (for the run's result) of `rec` refused or unreadable: its folder, target
        folder, locator, reason and quarantined .eml path (None when none was written)."""
        return Failure(folder=rec.folder.display, target=target, locator=rec.locator, reason=reason,
                       quarantine=path)
