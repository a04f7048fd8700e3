"""Who may write: one process per state file, and one per IMAP account on this machine.

Two `migrate run` into the same account with different state files (one with `--state`, one
without, or two source paths) would each find the other's uploads missing from their own
journal and upload them again. The account lock makes the second one stop before it writes
(exit 5, naming the pid and start time of the first). Read-only commands (plan, verify, status,
check) never take it.

Both locks are OS locks (filelock: flock on POSIX, LockFileEx on Windows): released by the OS
when the process ends, so a crash never leaves a stale lock behind. Who holds a lock is noted in
a small JSON file beside it (pid, since) for the message the next process shows.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from filelock import FileLock, Timeout

from migrator.domain import safefile
from migrator.domain.errors import AccountLocked, StateError, StateLocked, UnsafePath
from migrator.journal.statefile import state_fault

DEFAULT_PORTS = {"imaps": 993, "imap": 143}


# Names of this machine's own loopback interface: one server, whichever name reaches it.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "127.0.0.1", "::1"})


def account_key(host: str, port: int | None, user: str, scheme: str = "imaps") -> str:
    """The account's identity: `user@host:port`, host lower-cased (DNS names are case-insensitive),
    a trailing dot dropped, `localhost`/`127.0.0.1`/`::1` as one name, the port resolved from the
    scheme when absent. The user name is compared case-insensitively: IMAP servers look logins up
    without regard to case (Dovecot, Gmail, Microsoft 365, iCloud: `Me@x` and `me@x` open one
    mailbox), so two spellings of one login must not make two writers. On a rare server where
    they are two accounts, the cost is a second run that waits (exit 5), never a duplicate."""
    host_n = host.strip().rstrip(".").lower()
    if host_n.startswith("[") and host_n.endswith("]"):
        host_n = host_n[1:-1]
    if host_n in LOOPBACK_NAMES:
        host_n = "localhost"
    port_n = port if port else DEFAULT_PORTS.get(scheme, 993)
    user_n = user.strip().casefold()
    return f"{user_n}@{host_n}:{port_n}"


def lock_dir() -> Path:
    """`<user data dir>/locks` (platformdirs: ~/.local/share/migrate, %LOCALAPPDATA%\\migrate,
    ~/Library/Application Support/migrate); MIGRATE_LOCK_DIR overrides it (tests)."""
    override = os.environ.get("MIGRATE_LOCK_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("migrate", appauthor=False)) / "locks"


class _Held:
    """An acquired FileLock plus its owner note."""

    def __init__(self, lock: FileLock, note: Path) -> None:
        self._lock = lock
        self._note = note

    def release(self) -> None:
        try:
            os.unlink(self._note)
        except OSError:
            pass
        self._lock.release()


def _acquire(path: Path, busy: type[StateError], busy_message: str) -> _Held:
    """Take the OS lock at `path` (no wait) and note who holds it; `busy` raised when another
    process holds it, with `busy_message` + the holder's pid and start time."""
    note = Path(f"{path}.owner")
    safefile.check_path(path)
    safefile.check_path(note)
    lock = FileLock(str(path), timeout=0, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise busy(busy_message + _holder(note)) from None
    except OSError as exc:
        safefile.check_path(path)  # a link planted in between: say so
        raise state_fault(path, exc) from exc  # read-only or full file system: StateUnwritable (exit 5)
    try:
        tmp = Path(f"{note}.{os.getpid()}.tmp")
        safefile.write_bytes(tmp, json.dumps({"pid": os.getpid(), "since": time.time()}).encode())
        os.replace(tmp, note)  # replaces a link planted at `note` itself, never what it points to
    except (OSError, UnsafePath):
        pass  # the note is only for the message of a second process
    return _Held(lock, note)


def _holder(note: Path) -> str:
    try:
        safefile.check_path(note)
        with os.fdopen(safefile.open_fd(note, truncate=False, read=True), "r", encoding="utf-8") as fh:
            info = json.loads(fh.read() or "{}")
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info["since"])))
        return f" (pid {int(info['pid'])}, since {since})"
    except (OSError, ValueError, KeyError, TypeError, UnsafePath):
        return ""


class AccountLock:
    """Held for the whole of a command that writes to an account (`run`)."""

    def __init__(self, key: str, directory: Path | None = None) -> None:
        self.key = key
        self.directory = directory or lock_dir()
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:24]
        self.path = self.directory / f"account-{digest}.lock"
        self._held: _Held | None = None

    def acquire(self, user: str, host: str, port: int) -> AccountLock:
        """Raises AccountLocked (exit 5) when another process holds it; UnsafePath for a planted link."""
        try:
            safefile.private_dir(self.directory)
        except OSError as exc:
            raise state_fault(self.directory, exc) from exc
        self._held = _acquire(self.path, AccountLocked,
                              f"another migrate is writing to {user} on {host}:{port}")
        return self

    def release(self) -> None:
        """Release the account lock and remove its owner note."""
        if self._held is not None:
            self._held.release()
            self._held = None


def state_lock(state_path: Path) -> _Held:
    """The per-state-file lock (`<state>.lock`) for `run` and `verify`."""
    return _acquire(Path(f"{state_path}.lock"), StateLocked, f"{state_path} is in use by another `migrate run`")
