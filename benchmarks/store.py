"""Where the benchmark's Dovecot servers keep their mail: a fresh, journalled ext4 file system on a
loop device (needs root), or a plain directory.

Why a file system of its own: file creation on ext4 *without* a journal (the root file system of
the machines this project is measured on) scans past every inode deleted in the last minutes
(ext4's `recently_deleted`, for no-journal mode). After a test run or an earlier benchmark has
deleted a few hundred thousand files, `doveadm import` spent over half its CPU there and its rate
swung from about 1,000 to 4,000 messages/s between runs of the same command. A real mail server
keeps its mail on a journalled file system, and a fresh one is the same for every run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def server_store(work: Path, mode: str, size_gb: int = 8) -> Iterator[tuple[Path, str]]:
    """Yield (directory for the servers, what it is). mode: "ext4", "here" or "auto" (ext4 when
    it can be made, else the work directory)."""
    here = work / "servers"
    if mode == "here" or (mode == "auto" and (os.geteuid() != 0 or shutil.which("mkfs.ext4") is None)):
        yield _directory(here)
        return
    image, mnt = work / "store.img", work / "store"
    try:
        with open(image, "wb") as fh:
            fh.truncate(size_gb << 30)  # sparse: only what is written takes disk space
        # inode tables and journal written now, not by a kernel thread during the timed runs
        subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", str(image)],
                       check=True, capture_output=True)
        mnt.mkdir()
        subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        if mode == "ext4":
            raise SystemExit(f"cannot make the ext4 store: {getattr(exc, 'stderr', b'') or exc}") from exc
        print(f"note: no ext4 store ({str(getattr(exc, 'stderr', b'') or exc).strip()[:200]}); "
              "the servers' mail goes to the work directory", file=sys.stderr)
        image.unlink(missing_ok=True)
        yield _directory(here)
        return
    try:
        os.chmod(mnt, 0o755)
        yield mnt, f"a fresh journalled ext4 file system on a loop device ({size_gb} GB, sparse)"
    finally:
        subprocess.run(["umount", str(mnt)], check=False, capture_output=True)
        image.unlink(missing_ok=True)


def _directory(here: Path) -> tuple[Path, str]:
    here.mkdir(exist_ok=True)
    os.chmod(here, 0o755)
    return here, f"a directory on the work directory's file system ({here})"
