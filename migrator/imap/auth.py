"""OAuth2 for IMAP: the SASL XOAUTH2 / OAUTHBEARER payloads and the access token.

The token comes from `--oauth2-token-command CMD` (run again for every connection, so a long run
that reconnects gets a fresh token) or from the usual password sources (MIGRATE_PASSWORD,
--password-file, keyring, prompt). It is never put on a command line or written anywhere.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterable
from typing import TYPE_CHECKING

from migrator.domain.errors import LoginError
from migrator.domain.i18n import _

if TYPE_CHECKING:
    from migrator.domain.config import TargetConfig

MECHANISMS = ("XOAUTH2", "OAUTHBEARER")  # in order of preference (Microsoft offers only XOAUTH2)
TOKEN_COMMAND_TIMEOUT = 300.0  # a first run may wait for a browser sign-in


def xoauth2_payload(user: str, token: str) -> bytes:
    """Google's and Microsoft's XOAUTH2 initial response (before base64)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def oauthbearer_payload(user: str, token: str, host: str | None = None, port: int | None = None) -> bytes:
    """RFC 7628 OAUTHBEARER initial response: gs2 header, host, port, auth (before base64)."""
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    kv = (f"host={host}\x01" if host else "") + (f"port={port}\x01" if port else "") + f"auth=Bearer {token}\x01\x01"
    return f"n,a={authzid},\x01{kv}".encode()


def payload(mech: str, user: str, token: str, host: str | None = None, port: int | None = None) -> bytes:
    """The SASL initial response for `mech`: XOAUTH2 (Google/Microsoft) or OAUTHBEARER (RFC 7628), as
    bytes before base64; ValueError for another mechanism.
    """
    if mech == "XOAUTH2":
        return xoauth2_payload(user, token)
    if mech == "OAUTHBEARER":
        return oauthbearer_payload(user, token, host, port)
    raise ValueError(f"not an OAuth2 mechanism: {mech}")


def choose_mechanism(capabilities: Iterable[str], host: str) -> str:
    """XOAUTH2 if the server offers it, else OAUTHBEARER; LoginError when it offers neither."""
    caps = {c.upper() for c in capabilities}
    for mech in MECHANISMS:
        if f"AUTH={mech}" in caps:
            return mech
    raise LoginError(
        _("{host} offers no OAuth2 login (neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER)").format(host=host),
        hint=_("Log in with a password or app password instead (drop --oauth2)."),
    )


class SaslResponder:
    """imaplib authobject: the payload on the first challenge, then an empty answer to the error
    challenge servers send on failure (XOAUTH2/OAUTHBEARER), whose JSON is kept for the diagnosis."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._sent = False
        self.challenge = b""

    def __call__(self, challenge: bytes) -> bytes:
        if not self._sent:
            self._sent = True
            return self._data
        self.challenge = challenge
        return b""

    def error_detail(self) -> str:
        """'status 401, scope https://mail.google.com/' from the server's JSON error challenge."""
        if not self.challenge:
            return ""
        try:
            doc = json.loads(self.challenge.decode("utf-8", "replace"))
        except ValueError:
            return self.challenge.decode("utf-8", "replace")[:200]
        if not isinstance(doc, dict):
            return str(doc)[:200]
        return ", ".join(f"{k} {v}" for k, v in doc.items() if k in ("status", "scope", "schemes"))


def redactions(data: bytes) -> list[str]:
    """The forms in which a SASL payload could appear on the wire (for the protocol trace)."""
    return [base64.b64encode(data).decode("ascii")]


def parse_token_output(out: str) -> str:
    """The access token from a command's stdout: the bare token, or JSON with access_token/accessToken."""
    text = out.strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            for key in ("access_token", "accessToken", "token"):
                if isinstance(doc.get(key), str) and doc[key].strip():
                    return str(doc[key]).strip()
            return ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def token_from_command(command: str, timeout: float = TOKEN_COMMAND_TIMEOUT) -> str:
    """Run the token command through the shell (like mbsync's PassCmd); stdout is the token.

    Its stderr goes to the terminal (sign-in prompts); its stdout is never shown or logged.
    """
    hint = _("Run the command by hand: it must print a valid access token (or JSON with access_token) on stdout. "
             "See docs/providers.md for Google and Microsoft.")
    try:
        proc = subprocess.run(command, shell=True, stdout=subprocess.PIPE, timeout=timeout,  # noqa: S602 - the user's own command
                              check=False)
    except subprocess.TimeoutExpired as exc:
        raise LoginError(_("--oauth2-token-command did not finish within {seconds} s").format(
            seconds=f"{timeout:.0f}"), hint=hint) from exc
    except OSError as exc:
        raise LoginError(_("--oauth2-token-command could not be run: {reason}").format(reason=exc.strerror),
                         hint=hint) from exc
    if proc.returncode != 0:
        if proc.returncode == 127:
            raise LoginError(_("--oauth2-token-command not found"), hint=hint)
        raise LoginError(_("--oauth2-token-command failed (exit status {code})").format(code=proc.returncode),
                         hint=hint)
    token = parse_token_output(proc.stdout.decode("utf-8", "replace"))
    if not token or any(c.isspace() for c in token):
        raise LoginError(_("--oauth2-token-command printed no access token"), hint=hint)
    return token


def access_token(cfg: TargetConfig) -> str:
    """A fresh token from --oauth2-token-command, else the one given like a password."""
    token = (token_from_command(cfg.oauth2_token_command) if cfg.oauth2_token_command
             else cfg.password.get_secret_value().strip())
    if not token:
        raise LoginError(_("--oauth2: no access token"),
                         hint=_("Give --oauth2-token-command CMD, or the token in MIGRATE_PASSWORD / --password-file."))
    return token
