"""Secret references of the batch manifest: where a worker finds a mailbox's password.

A reference, never the secret: `env:NAME` (an environment variable of the worker),
`file:PATH` (a file, relative to the manifest's folder; its first line), `keyring:SERVICE/USER`
(the OS keyring, through the optional `keyring` package). The worker resolves it when the job
starts (`resolve`); the secret lives in that process's memory only, as a pydantic SecretStr,
and is never written to the queue, a journal or a log.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr

from migrator.domain.errors import UsageError
from migrator.domain.i18n import N_, _

SCHEMES = ("env", "file", "keyring")
HINT = N_("Give a reference, not the password: env:NAME (an environment variable), file:PATH (a file beside "
          "the manifest) or keyring:SERVICE/USER; `migrate batch import` moves the passwords of an imapsync or "
          "MigrationWiz list into files or the keyring.")


def check_reference(ref: str) -> tuple[str, str]:
    """(scheme, rest) of a well-formed reference; UsageError (exit 2) with HINT otherwise. The
    message never repeats the cell (it may be a password typed in the wrong place)."""
    scheme, sep, rest = ref.strip().partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES:
        raise UsageError(_("the secret is not a reference (env:, file: or keyring:)"), hint=_(HINT))
    rest = rest.strip()
    if not rest:
        raise UsageError(_("the secret reference {scheme}: names nothing").format(scheme=scheme), hint=_(HINT))
    if scheme == "keyring" and ("/" not in rest or not all(rest.split("/", 1))):
        raise UsageError(_("a keyring reference is keyring:SERVICE/USER"), hint=_(HINT))
    return scheme, rest


def resolve(ref: str, base: Path) -> SecretStr:
    """The secret `ref` points to (see the module docstring); `base`: the manifest's folder.

    Raises UsageError (exit 2) for a malformed reference, a missing variable, an unreadable or
    empty file, a missing keyring entry or no keyring package installed."""
    scheme, rest = check_reference(ref)
    if scheme == "env":
        value = os.environ.get(rest)
        if not value:
            raise UsageError(_("the environment variable {name} is not set on this worker").format(name=rest),
                             hint=_("Set it in the environment of `migrate batch run` / `migrate batch worker`."))
        return SecretStr(value)
    if scheme == "file":
        path = Path(rest).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(_("cannot read the secret file {path}: {reason}").format(
                path=path, reason=exc.strerror or exc),
                hint=_("The path is relative to the manifest's folder.")) from exc
        value = text.splitlines()[0] if text else ""
        if not value:
            raise UsageError(_("the secret file {path} is empty").format(path=path), hint=_(HINT))
        return SecretStr(value)
    service, user = rest.split("/", 1)
    try:
        import keyring  # optional: pip install 'pop-migrate[keyring]'
    except ImportError as exc:
        raise UsageError(_("keyring: references need the keyring package"),
                         hint=_("Install it: pip install 'pop-migrate[keyring]', or use file: references.")) from exc
    try:
        stored = keyring.get_password(service, user)
    except Exception as exc:  # noqa: BLE001 - any backend failure: the user must see which entry
        raise UsageError(_("the keyring could not be read for {entry}: {reason}").format(
            entry=f"{service}/{user}", reason=type(exc).__name__),
            hint=_("Unlock the keyring on this machine, or use file: references.")) from exc
    if not stored:
        raise UsageError(_("no keyring entry {entry} on this worker").format(entry=f"{service}/{user}"),
                         hint=_("Store it with `keyring set SERVICE USER` on every machine that runs workers."))
    return SecretStr(stored)
