"""Outlook Express 5/6 stores: one `<Folder>.dbx` file per folder (`Inbox.dbx`, `Sent Items.dbx`,
the Japanese OE's `受信トレイ.dbx`, `送信済みアイテム.dbx`...) beside `Folders.dbx` (the tree).

The format is a proprietary binary B-tree; we do not parse it. UnDBX (Avi Rozen, GPL-3.0-or-later,
github.com/ZungBang/undbx; Debian's `undbx` package; a Windows binary) extracts each `.dbx` to a
directory of the same name holding one `.eml` file per message (names made of the From, To and
Subject headers and the two message times, so the same `.dbx` always gives the same names; the
file's mtime is the message's date). It is run as a separate program (calling a GPL tool is fine;
bundling it would not be).

- Where: a new private directory under `<data dir>/extract/` (beside the default state files,
  domain/config.py data_dir()), never beside the source, which stays read-only; removed by close().
- Then the extracted tree is read as an .eml tree (sources/eml/reader.py): folder names are the
  `.dbx` file names, so `Inbox.dbx` / `受信トレイ.dbx` reach INBOX and `Sent Items.dbx` /
  `送信済みアイテム.dbx` the Sent role by name (domain/folders.py NAME_ROLES); flags default to
  \\Seen (the extracted files carry none); dates by the one policy.
- What undbx reports (a file that holds no messages, messages it could not extract) comes back
  in `warnings`; `Folders.dbx`, `Offline.dbx` and `Pop3uidl.dbx` hold no mail and pass silently.
- Without undbx: SourceError (exit 2) with the install hint.

Stable ids are the .eml reader's (`eml:<folder>:<file name>`); locators name the `.dbx` file and
the message's file name; the change token of a folder is its `.dbx` file's size and mtime.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from migrator.domain.config import data_dir
from migrator.domain.errors import SourceError
from migrator.domain.i18n import N_, _
from migrator.domain.records import Folder, MessageRecord
from migrator.sources.base import Capabilities, Estimate, Known, SourceBase
from migrator.sources.eml import reader as eml
from migrator.sources.tree import EML, discover, not_read_reason, unreadable_record
from migrator.sources.walk import Node, is_companion, list_dir

DBX_MAGIC = b"\xcf\xad\x12\xfe"  # the first bytes of every .dbx file (UnDBX dbxread.h)
UNDBX_HINT = N_("Outlook Express .dbx files are read through UnDBX: install it (Debian/Ubuntu: sudo apt install undbx; "
              "Windows: download UnDBX from https://sourceforge.net/projects/undbx/ and put undbx.exe on the PATH), "
              "then run the same command again.")
# .dbx files of an Outlook Express store that hold no mail (the folder tree, offline and POP3 state).
NOT_MAIL = frozenset({"folders.dbx", "offline.dbx", "pop3uidl.dbx", "cleanup.dbx"})
_EXTRACTING = re.compile(r"Extracting (\d+) messages from (.+?) to ")
_SAVED = re.compile(r"(\d+) messages saved, (\d+) skipped, (\d+) errors")
_NO_MESSAGES = re.compile(r"DBX file (.+?) does not contain messages")
UNDBX_TIMEOUT = 6 * 3600  # seconds: a 2 GB folder on a slow disk takes minutes, never hours


def is_dbx_file(path: Path) -> bool:
    """A file named `*.dbx` that starts with the .dbx signature."""
    if not path.name.lower().endswith(".dbx") or not path.is_file():
        return False
    try:
        with path.open("rb") as fh:
            return fh.read(4) == DBX_MAGIC
    except OSError:
        return False


def dbx_files(directory: Path) -> list[Path]:
    """The `.dbx` files directly in `directory` (an Outlook Express store folder), sorted."""
    return [Path(n.path) for n in _entries(directory) if n.kind == "file" and n.name.lower().endswith(".dbx")]


def _entries(directory: Path) -> list[Node]:
    """The entries of a store folder, classified without opening them (walk.py); [] when unlistable."""
    try:
        return list_dir(str(directory))
    except OSError:
        return []


def detect(path: Path) -> bool:
    """A `.dbx` file, or a directory holding `.dbx` files (an Outlook Express store folder)."""
    if path.is_file():
        return is_dbx_file(path)
    return path.is_dir() and any(is_dbx_file(p) for p in dbx_files(path))


def extract_root() -> Path:
    """Where extractions go: `<data dir>/extract` (beside the default state files)."""
    return data_dir() / "extract"


class DbxSource(SourceBase):
    """An Outlook Express store folder or one `.dbx` file, read through undbx (see the module docstring)."""

    kind = "dbx"
    capabilities = Capabilities(change_token=True, skip_known=True, reload=True)

    def __init__(self, root: Path, *, undbx: str | None = None) -> None:
        self.root = root
        self._notes: list[str] = []
        tool = undbx or shutil.which("undbx")
        if tool is None:
            raise SourceError(_("{path}: Outlook Express .dbx files need the undbx program, which is not "
                                "installed").format(path=root), hint=_(UNDBX_HINT))
        files = [root] if root.is_file() else [p for p in dbx_files(root) if p.name.lower() not in NOT_MAIL]
        self._unreadable: list[tuple[Folder, str]] = []  # entries that cannot be read: counted as failed
        if root.is_dir():
            self._look_around(root)
        if not files:
            raise SourceError(_("{path}: no Outlook Express .dbx mail folders found here").format(path=root))
        self._dbx = {p.name[:-4]: p for p in files}  # folder (undbx's directory) name -> .dbx file
        try:
            extract_root().mkdir(parents=True, exist_ok=True)
            self._out = Path(tempfile.mkdtemp(prefix="dbx-", dir=extract_root()))
        except OSError as exc:
            raise SourceError(_("cannot make a directory to extract {path} into under {directory} ({reason})").format(
                path=root, directory=extract_root(), reason=exc.strerror),
                hint=_("Free some disk space, or check the permissions of {path}.").format(path=data_dir())) from exc
        try:
            self._extract(tool, files)
            self._inner = eml.EmlSource(self._out) if any(self._out.iterdir()) else None
        except BaseException:
            self.close()
            raise
        if self._inner is None or not any(k == EML for k in discover(self._out).kinds.values()):
            self.close()
            raise SourceError(_("{path}: undbx found no messages in the .dbx files").format(path=root)
                              + (f" ({'; '.join(self._notes[:3])})" if self._notes else ""),
                              hint=_("If Outlook Express shows mail in these folders, the files may be damaged: "
                                     "try `undbx --recover` on a copy and give migrate the folder it writes."))

    def _look_around(self, root: Path) -> None:
        """What else the store folder holds: a FIFO, a dangling link (failed with the reason), files
        that are not .dbx (named in the notes, but the companions of a store: walk.is_companion)."""
        other: list[str] = []
        for n in _entries(root):
            if n.kind == "problem":
                self._unreadable.append((Folder(path=(n.name,), origin=n.path, key=f"?{n.name}"),
                                         n.reason or "cannot be read"))
            elif n.kind == "file" and not n.name.lower().endswith(".dbx") and not is_companion(n.name) \
                    and not n.name.startswith("."):
                other.append(f"{n.name} ({not_read_reason(n.path)})")
        if other:
            self._notes.append(f"{root}: not read: " + ", ".join(other[:3])
                               + (f" and {len(other) - 3} more" if len(other) > 3 else ""))

    def _extract(self, tool: str, files: list[Path]) -> None:
        """Run undbx on each .dbx file into the extraction directory; its complaints become notes."""
        for dbx in files:
            try:
                done = subprocess.run([tool, str(dbx), str(self._out)], capture_output=True,
                                      stdin=subprocess.DEVNULL, timeout=UNDBX_TIMEOUT, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise SourceError(_("{path}: undbx could not be run ({reason})").format(
                    path=dbx, reason=exc), hint=_(UNDBX_HINT)) from exc
            out = done.stdout.decode("utf-8", "replace") + "\n" + done.stderr.decode("utf-8", "replace")
            if done.returncode != 0:
                self._notes.append(f"{dbx}: undbx ended with exit code {done.returncode}: "
                                   + " ".join(out.split())[-300:])
            if _NO_MESSAGES.search(out):
                self._notes.append(f"{dbx}: undbx found no messages in this file (not a mail folder, or damaged)")
            wanted = _EXTRACTING.search(out)
            saved = _SAVED.search(out)
            if saved and (int(saved.group(2)) or int(saved.group(3))):
                total = wanted.group(1) if wanted else "?"
                self._notes.append(f"{dbx}: undbx extracted {saved.group(1)} of {total} messages "
                                   f"({saved.group(2)} skipped, {saved.group(3)} errors): the rest are not migrated; "
                                   "try `undbx --recover` on a copy of the file")

    @property
    def warnings(self) -> list[str]:
        """What undbx reported, and what the extracted tree holds that is not read."""
        return self._notes + (self._inner.warnings if self._inner is not None else [])

    def folders(self) -> list[Folder]:
        """One folder per `.dbx` file that held messages, named after the file (its origin)."""
        inner = self._inner.folders() if self._inner is not None else []
        return [replace(f, origin=str(self._dbx_of(f) or f.origin)) for f in inner] + [f for f, _ in self._unreadable]

    def _dbx_of(self, folder: Folder) -> Path | None:
        return self._dbx.get(folder.key.split("/", 1)[0])

    def _extracted(self, folder: Folder) -> Folder | None:
        """The folder as the extraction holds it (its origin the extracted directory)."""
        inner = self._inner.folders() if self._inner is not None else []
        return next((f for f in inner if f.key == folder.key), None)

    def _as_read(self, folder: Folder, rec: MessageRecord) -> MessageRecord:
        """A record of the extraction as one of this folder: located in its `.dbx` file."""
        rec.folder = folder
        rec.locator = f"{folder.origin}: {os.path.basename(rec.locator)}"
        return rec

    def messages(self, folder: Folder, *, resume: int = 0, known: Known | None = None) -> Iterator[MessageRecord]:
        """The folder's messages as extracted (Source.messages), located in their `.dbx` file."""
        for bad, reason in self._unreadable:
            if bad.key == folder.key:
                yield unreadable_record(bad, reason)
                return
        inner = self._extracted(folder)
        if inner is None or self._inner is None:
            return
        for rec in self._inner.messages(inner, known=known):
            yield self._as_read(folder, rec)

    def estimate(self, folder: Folder) -> Estimate | None:
        """A cheap count (Source.estimate) of the extracted folder (sources/estimate.py eml_estimate)."""
        from migrator.sources.estimate import eml_estimate

        if any(bad.key == folder.key for bad, _reason in self._unreadable):
            return Estimate(1, 0, messages_exact=True, bytes_exact=True)
        inner = self._extracted(folder)
        return eml_estimate(inner.origin) if inner is not None else None

    def reload(self, rec: MessageRecord) -> MessageRecord:
        """Read again a message passed over as known (from the extraction)."""
        inner = self._extracted(rec.folder)
        name = rec.stable_id.rsplit(":", 1)[1]
        if inner is None:
            raise SourceError(_("{where}: not in the extracted folders").format(where=rec.locator))
        return self._as_read(rec.folder, eml.read_message(inner, rec.stable_id, os.path.join(inner.origin, name)))

    def token(self, folder: Folder) -> str | None:
        """The `.dbx` file's size and mtime: Outlook Express rewrites the file on any change."""
        dbx = self._dbx_of(folder)
        if dbx is None:
            return None
        try:
            st = dbx.stat()
        except OSError:
            return None
        return f"dbx:{st.st_size}:{st.st_mtime_ns}"

    def close(self) -> None:
        """Remove the extracted copy (the private mail it holds is not left behind)."""
        out = getattr(self, "_out", None)
        if out is not None:
            shutil.rmtree(out, ignore_errors=True)
            self._out = None  # type: ignore[assignment]
