"""One error hierarchy: every expected failure carries a message, a hint and an exit code.

`cli.main()` is the only place that turns these into process exit codes; flows raise them.
The list of codes is documented in docs/exit-codes.md and pinned by tests.

Messages and hints are for people, in their language: a raiser passes `_("...").format(...)`; a
class's `default_hint` is marked `N_()` (its class is built before the language is known) and
translated when the error is made.
"""

from __future__ import annotations

from enum import IntEnum

from migrator.domain.i18n import N_, _


class ExitCode(IntEnum):
    OK = 0
    INCOMPLETE = 1  # verify found messages missing, or run ended with failures
    USAGE = 2  # bad flags, or the source cannot be read
    TARGET = 3  # target unreachable, TLS or login failure
    QUOTA = 4  # the plan does not fit the quota, or the server is over quota
    STATE = 5  # state locked, or belongs to another source/target
    INTERNAL = 70  # a bug: please report
    INTERRUPTED = 130  # Ctrl-C / SIGTERM; run again to resume


class MigratorError(Exception):
    """Base of every expected failure. `str(err)` is the one-line message."""

    exit_code: ExitCode = ExitCode.INTERNAL
    default_hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else (_(self.default_hint) if self.default_hint else "")


class UsageError(MigratorError):
    """Bad arguments or configuration."""

    exit_code = ExitCode.USAGE
    default_hint = N_("See `migrate --help`.")


class SourceError(MigratorError):
    """The source store cannot be opened or read at all."""

    exit_code = ExitCode.USAGE
    default_hint = N_("Check the path; migrate reads mbox files, Maildir folders, Thunderbird profiles and .pst files.")


class NotStarted(UsageError):
    """`migrate status`: no journal for that source and target yet (nothing was ever run)."""

    default_hint = N_("Start it with `migrate run SOURCE... --target URL` (or give the journal with --state PATH).")


class TargetError(MigratorError):
    """The IMAP server cannot be reached, or refuses the connection."""

    exit_code = ExitCode.TARGET
    default_hint = N_("Check the host and port: 993 for imaps://, 143 for imap:// with STARTTLS.")


class FolderRefused(TargetError):
    """The server will not create a folder of that name (e.g. '.' under Dovecot's Maildir++ layout)."""

    default_hint = N_("Rename the folder in the source's mail program, or leave it out with --exclude.")

    def __init__(self, message: str, hint: str | None = None, server_words: str = "") -> None:
        super().__init__(message, hint)
        self.server_words = server_words or message  # the server's own answer, e.g. "[CANNOT] Mailbox name too long"


class TlsError(TargetError):
    """TLS negotiation or certificate verification failed."""

    default_hint = N_(
        "A wrong system clock or an intercepting proxy/antivirus often causes this; "
        "--insecure skips verification (only for a server you trust)."
    )


class LoginError(TargetError):
    """The server rejected the credentials. `code`: the RFC 5530 response code of the refusal
    (AUTHENTICATIONFAILED, UNAVAILABLE...), when the server gave one."""

    default_hint = N_(
        "Check the password; providers with two-step verification (Gmail, iCloud, Yahoo) need an app password."
    )

    def __init__(self, message: str, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message, hint)
        self.code = code


TRANSIENT_LOGIN_CODES = frozenset({"UNAVAILABLE", "INUSE"})  # RFC 5530: try again later, not a refusal


def login_refused(exc: BaseException) -> bool:
    """True when `exc` is the server refusing the credentials (a wrong, changed or revoked password
    or token), as opposed to a network fault or a server that is busy right now.

    The one rule every reconnect loop obeys: a refusal is never retried, since each further
    attempt is one more failed login, and providers lock an account after a handful of them
    (RFC 5530 AUTHENTICATIONFAILED and the like; UNAVAILABLE/INUSE are temporary, retried)."""
    return isinstance(exc, LoginError) and (exc.code or "").upper() not in TRANSIENT_LOGIN_CODES


class QuotaError(MigratorError):
    """The messages do not fit, or the server reported it is over quota."""

    exit_code = ExitCode.QUOTA
    default_hint = N_("Raise the quota, or keep older mail local with --since DATE (see `migrate plan`).")


class StateError(MigratorError):
    """The state database is locked or belongs to another source/target pair."""

    exit_code = ExitCode.STATE
    default_hint = N_("Use --state PATH to pick another state file.")


class StateLocked(StateError):
    default_hint = N_(
        "Another `migrate run` is using this state. If none is running (a crash), the lock is stale: "
        "it is released automatically when the owning process is gone; otherwise wait for it to finish."
    )


class StateUnwritable(StateError):
    """The state file (or its lock) cannot be created or written: a read-only or full file system,
    no permission. Nothing was sent after the journal could not record it (intent before write)."""

    default_hint = N_(
        "Free space there, or put the state on a writable disk with room (--state PATH; a new file starts over "
        "and finds what is already on the server), then run the same command again: nothing is sent twice."
    )


class StateCorrupt(StateError):
    """The state file is not an intact migrate journal (not SQLite, or PRAGMA quick_check fails)."""

    default_hint = N_(
        "Move the damaged file aside (rename it, e.g. add .broken) and run the same command again: a fresh "
        "journal starts, and messages already on the server are recognised there and not uploaded twice."
    )


class AccountLocked(StateError):
    """Another `migrate run` on this machine is writing to the same IMAP account."""

    default_hint = N_(
        "Two runs into one account would upload the same mail twice. Wait for the other run to finish "
        "(or stop it with Ctrl-C), then run again: the lock goes when that process ends, even after a crash."
    )


class UnsafePath(StateError):
    """A file or directory migrate writes (state, lock, quarantine, failures.log, trace, report) is a
    symbolic link or not a regular file: migrate never writes through it."""

    default_hint = N_(
        "Remove the link (or the thing at that path) and run again, or pick another place with --state; "
        "the file the link points to was not touched."
    )


class Interrupted(MigratorError):
    """Stopped by Ctrl-C or SIGTERM after settling the journal."""

    exit_code = ExitCode.INTERRUPTED
    default_hint = N_("Run the same command again to resume; nothing is uploaded twice.")


class Incomplete(MigratorError):
    """The flow finished but not everything in scope is on the server."""

    exit_code = ExitCode.INCOMPLETE
    default_hint = N_("Run `migrate run` again to retry; see the list above.")


class MessageRejected(Exception):
    """The server refused one message (NO/BAD on APPEND). Not fatal: the message is quarantined."""

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code  # RFC 5530 response code, e.g. "TOOBIG", "LIMIT", "OVERQUOTA"


class ConnectionLost(TargetError):
    """The connection dropped mid-command (reset, timeout, BYE). Callers reconnect and retry;
    when they cannot, it ends the run with exit 3 and the advice to run again."""

    default_hint = N_("The connection to the server was lost. Run the same command again to resume: nothing is lost.")


ALL_ERRORS: tuple[type[MigratorError], ...] = (
    UsageError,
    SourceError,
    TargetError,
    TlsError,
    LoginError,
    QuotaError,
    StateError,
    StateLocked,
    StateUnwritable,
    StateCorrupt,
    AccountLocked,
    UnsafePath,
    Interrupted,
    Incomplete,
)
