"""Server sources: a mailbox still on the old provider's server, read over IMAP or POP3.

A SOURCE argument that starts with `imaps://`, `imap://`, `pop3s://` or `pop3://` names a server
account instead of a path (`imaps://USER@HOST[:PORT]`). Anything else stays a path: a Windows
path such as `C:\\Mail\\x.pst` has a one-letter "scheme" and no `//`, so it is never a URL.

Credentials are the target's ways under the source's own names, kept apart: MIGRATE_SOURCE_PASSWORD,
--source-password-file, the keyring (service "migrator", account the source URL), a prompt. Never
argv: a password inside the URL is refused. The target's password is never read for the source.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from migrator.domain.config import TargetConfig, read_password
from migrator.domain.errors import UsageError
from migrator.domain.i18n import N_, _

SOURCE_PASSWORD_ENV = "MIGRATE_SOURCE_PASSWORD"
SOURCE_PASSWORD_FILE_OPTION = "--source-password-file"
DEFAULT_PORTS = {"imaps": 993, "imap": 143, "pop3s": 995, "pop3": 110}
_URL = re.compile(r"^(imaps?|pop3s?)://", re.IGNORECASE)
_HINT = N_("Write it as imaps://USER@HOST[:PORT] (IMAP over TLS), imap://USER@HOST (STARTTLS), "
           "pop3s://USER@HOST (POP3 over TLS) or pop3://USER@HOST (STLS).")


def is_remote(spec: object) -> bool:
    """True when a SOURCE argument names a server account (imaps://, imap://, pop3s://, pop3://)
    rather than a path; False for any path, `C:\\...` included."""
    return isinstance(spec, str) and _URL.match(spec) is not None


class RemoteSource(BaseModel):
    """A server source account: parsed from `scheme://USER@HOST[:PORT]` (no secret in it).

    scheme: imaps (TLS, 993), imap (STARTTLS, 143), pop3s (TLS, 995), pop3 (STLS, 110; RFC 2595).
    insecure: --source-insecure: the certificate is not checked, plaintext allowed.
    timeout: network timeout in seconds. password: from `source_password`, never from argv.
    """

    model_config = ConfigDict(frozen=True)

    scheme: str
    user: str
    host: str
    port: int
    insecure: bool = False
    timeout: float = 60.0
    password: SecretStr = Field(default=SecretStr(""), repr=False)

    @property
    def protocol(self) -> str:
        """The protocol: "imap" or "pop3"."""
        return "pop3" if self.scheme.startswith("pop3") else "imap"

    @property
    def implicit_tls(self) -> bool:
        """TLS from the first byte (imaps, pop3s); else STARTTLS / STLS before the login."""
        return self.scheme in ("imaps", "pop3s")

    @property
    def url(self) -> str:
        """`scheme://USER@HOST:PORT`, without secret: what the journal and the keyring know it by."""
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}"

    def imap_config(self) -> TargetConfig:
        """The same account as the IMAP layer's connection settings (connect, TLS, login and their
        diagnoses are the target's: imap/connection.py)."""
        scheme = {"pop3s": "imaps", "pop3": "imap"}.get(self.scheme, self.scheme)
        return TargetConfig(scheme=scheme, user=self.user, host=self.host, port=self.port, insecure=self.insecure,
                            timeout=self.timeout, password=self.password)


def parse_source_url(url: str, *, insecure: bool = False, timeout: float = 60.0) -> RemoteSource:
    """`imaps://USER@HOST[:PORT]` (and imap://, pop3s://, pop3://) into a RemoteSource without a password.

    USER may itself hold `@` (an e-mail address: split at the last `@`) or be percent-encoded.
    UsageError (exit 2) on another scheme, a missing user or host, a bad port, or a password in the
    URL (passwords never go on the command line)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UsageError(_("{url}: not a server source URL").format(url=repr(url)), hint=_(_HINT))
    netloc = parts.netloc
    if "@" not in netloc:
        raise UsageError(_("{url}: no user name").format(url=repr(url)), hint=_(_HINT))
    user, hostport = netloc.rsplit("@", 1)
    if ":" in user:
        raise UsageError(
            _("{url}: the URL must not contain a password").format(
                url=f"{scheme}://{user.split(':', 1)[0]}@{hostport}"),
            hint=_("Put the source's password in {env}, a {option} FILE or the keyring, or type it when asked.").format(
                env=SOURCE_PASSWORD_ENV, option=SOURCE_PASSWORD_FILE_OPTION))
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(_("{url}: a server source is the whole account (no path after the host)").format(
            url=repr(url)), hint=_(_HINT))
    host, port_s = hostport, ""
    if hostport.startswith("["):  # [IPv6]:port
        host, _sep, rest = hostport[1:].partition("]")
        port_s = rest[1:] if rest.startswith(":") else ""
    elif hostport.count(":") == 1:
        host, port_s = hostport.split(":")
    try:
        port = int(port_s) if port_s else DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise UsageError(_("{url}: the port must be a number").format(url=repr(url)), hint=_(_HINT)) from exc
    user = unquote(user)
    if not user or not host or not 0 < port < 65536:
        raise UsageError(_("{url}: user, host or port missing").format(url=repr(url)), hint=_(_HINT))
    return RemoteSource(scheme=scheme, user=user, host=host.lower(), port=port, insecure=insecure, timeout=timeout)


def source_password(src: RemoteSource, password_file: Path | None = None, *,
                    interactive: bool | None = None) -> SecretStr:
    """The source account's password: MIGRATE_SOURCE_PASSWORD, then `password_file`
    (--source-password-file), then the keyring (service "migrator", account the source URL
    `scheme://USER@HOST:PORT`), then a prompt when stdin is a terminal. Never the target's
    MIGRATE_PASSWORD or --password-file. UsageError (exit 2) when none gives one."""
    return read_password(password_file, prompt_user=src.url, interactive=interactive, what=_("Source password"),
                         env=SOURCE_PASSWORD_ENV, file_option=SOURCE_PASSWORD_FILE_OPTION, keyring_user=src.url)


def source_key(spec: Path | str) -> str:
    """A source as the journal knows it: a path resolved to an absolute path; a server source as
    `scheme://USER@HOST:PORT` (lower-case scheme and host, the default port written out; never a
    password). The same account always gives the same key."""
    if is_remote(spec):
        return parse_source_url(str(spec)).url
    return str(Path(spec).expanduser().resolve())
