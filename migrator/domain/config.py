"""Typed configuration: the target URL, credentials and paths. No global state."""

from __future__ import annotations

import getpass
import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from migrator.domain.errors import UsageError
from migrator.domain.i18n import _

PASSWORD_ENV = "MIGRATE_PASSWORD"


class TargetConfig(BaseModel):
    """Where to upload: parsed from imaps://USER@HOST[:PORT] or imap://USER@HOST[:PORT] (or a provider preset)."""

    model_config = ConfigDict(frozen=True)

    scheme: str
    user: str
    host: str
    port: int
    insecure: bool = False
    timeout: float = 60.0
    password: SecretStr = Field(default=SecretStr(""), repr=False)
    provider: str | None = None  # preset name (migrator.domain.providers), given or recognised from the host
    oauth2: bool = False  # log in with SASL XOAUTH2/OAUTHBEARER; the password is the access token
    oauth2_token_command: str | None = Field(default=None, repr=False)  # run per connection for a fresh token
    trace: str | None = None  # --debug: protocol trace file, or "-" for stderr

    @property
    def implicit_tls(self) -> bool:
        """True for imaps:// (TLS from the first byte, port 993); False for imap:// (STARTTLS, RFC 3501 6.2.1)."""
        return self.scheme == "imaps"

    @property
    def ident(self) -> str:
        """Identifies the account in the state database (no secret in it)."""
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The target as a URL without secret: `imaps://USER@HOST:PORT`."""
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}"


def parse_target(url: str, *, insecure: bool = False, timeout: float = 60.0,
                 provider: str | None = None) -> TargetConfig:
    """imaps://USER@HOST[:PORT] or imap://USER@HOST[:PORT]; with a provider preset also USER or imaps://USER@
    (host, port and TLS from the preset; an explicit host or port wins)."""
    from migrator.domain import providers

    preset = providers.get(provider) if provider else None
    if preset is None and "://" not in url and "@" in url:
        preset = providers.detect(user=url)  # a bare address of a known provider: me@gmail.com
    if preset is not None and "://" not in url:
        url = f"{preset.scheme}://{url}@"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("imap", "imaps"):
        raise UsageError(
            _("--target {url!r}: the URL must start with imaps:// (TLS, port 993) or imap:// (STARTTLS, "
              "port 143)").format(
                url=url),
            hint=_("Example: --target imaps://me@example.com@imap.example.com, or --provider gmail --target "
                   "me@gmail.com"),
        )
    if parts.password:
        raise UsageError(
            _("--target must not contain a password"),
            hint=_("Put the password in the {variable} environment variable or a --password-file.").format(
                variable=PASSWORD_ENV),
        )
    # user names are often e-mail addresses: split at the last '@' of the netloc
    netloc = parts.netloc
    if "@" not in netloc:
        raise UsageError(_("--target {url!r}: no user name").format(url=url), hint=_("Write it as imaps://USER@HOST"))
    user, hostport = netloc.rsplit("@", 1)
    host, _colon, port_s = hostport.rpartition(":") if hostport.count(":") == 1 else (hostport, "", "")
    if not host:
        host, port_s = hostport, ""
    if not host and preset is not None:
        host = preset.host
        if not port_s and scheme == preset.scheme:
            port_s = str(preset.port)
    try:
        port = int(port_s) if port_s else (993 if scheme == "imaps" else 143)
    except ValueError as exc:
        raise UsageError(_("--target {url!r}: the port must be a number").format(url=url)) from exc
    if not host or not user:
        raise UsageError(_("--target {url!r}: host or user missing").format(url=url),
                         hint=_("Write it as imaps://USER@HOST[:PORT], or name the provider: "
                              "--provider NAME --target USER"))
    user, host = unquote(user), host.strip("[]")
    if preset is None:
        preset = providers.detect(host, user)
    return TargetConfig(
        scheme=scheme, user=user, host=host, port=port, insecure=insecure, timeout=timeout,
        provider=preset.name if preset is not None else None,
    )


KEYRING_SERVICE = "migrator"  # the keyring's service name; the account is the target's USER@HOST:PORT


def read_password(password_file: Path | None, *, prompt_user: str, interactive: bool | None = None,
                  what: str = "Password", env: str = PASSWORD_ENV, file_option: str = "--password-file",
                  keyring_user: str | None = None) -> SecretStr:
    """`env` (MIGRATE_PASSWORD), then the file of `file_option` (--password-file), then the keyring
    (service "migrator", account `keyring_user`, default `prompt_user`), then a prompt when stdin is
    a terminal. Never argv. UsageError (exit 2) when none gives one.

    With --oauth2 (and no token command) the same sources give the access token (`what`). The
    source's password (domain/remote.py) comes the same ways under its own names, never these.
    """
    value = os.environ.get(env)
    if value:
        return SecretStr(value)
    if password_file is not None:
        try:
            text = password_file.expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{file_option} {password_file}: {exc.strerror}") from exc
        return SecretStr(text.rstrip("\r\n"))
    try:
        import keyring  # optional dependency

        stored = keyring.get_password(KEYRING_SERVICE, keyring_user or prompt_user)
        if stored:
            return SecretStr(stored)
    except Exception:  # noqa: BLE001 - any keyring backend failure just means "no stored password"
        pass
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise UsageError(
            _("no password given for {account}").format(account=prompt_user),
            hint=_("Set {env}, use {option} FILE, or run in a terminal to be asked.").format(env=env,
                                                                                             option=file_option),
        )
    return SecretStr(getpass.getpass(_("{what} for {account}: ").format(what=what, account=prompt_user)))


APP_NAME = "migrator"  # the state folder's name (the lock folder is `migrate`: journal/locks.py)


def data_dir() -> Path:
    """The folder of the default state files: the user data directory (platformdirs):
    `$XDG_DATA_HOME/migrator` or `~/.local/share/migrator` on Linux, `%LOCALAPPDATA%\\migrator` on
    Windows, `~/Library/Application Support/migrator` on macOS. Not created here."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def legacy_data_dir() -> Path:
    """Where versions before platformdirs kept state files on every system: `$XDG_DATA_HOME/migrator`,
    else `~/.local/share/migrator` (the same as data_dir() on Linux; elsewhere a journal left there
    is still found, see default_state_path)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_NAME


def default_state_path(sources: Sequence[Path | str], target: TargetConfig) -> Path:
    """The state file of this source+target pair: `<data_dir>/state-<16 hex>.db`, the hex a SHA-256
    of the resolved source paths (sorted; a server source as its `scheme://USER@HOST:PORT`, never a
    password: domain/remote.py source_key) and the target's `user@host:port`. A state file already at
    the same name in legacy_data_dir() is used instead when none is in data_dir() yet, so a run
    started by an earlier version resumes from its journal (never a second journal: exactly once)."""
    key = source_ident(sources) + "\n" + target.ident
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    name = f"state-{digest}.db"
    path = data_dir() / name
    if not os.path.lexists(path):
        old = legacy_data_dir() / name
        if old != path and os.path.lexists(old):
            return old
    return path


def source_ident(sources: Sequence[Path | str]) -> str:
    """The sources as stored in the state's meta table: resolved absolute paths (a server source as
    its URL without secret), sorted, one per line."""
    from migrator.domain.remote import source_key

    return "\n".join(sorted(source_key(p) for p in sources))
