"""One browser session of `migrate ui`: what the user chose so far, held in memory.

The password lives only here (a pydantic SecretStr in the TargetConfig), or in the OS keyring when
the user ticks "remember" (the same entry `migrate run` reads: service "migrator", user
`user@host:port`). What a restarted app needs to offer "resume the copy" is written to a small JSON
file beside the journals (`ui-session.json` in the data folder): the sources, the server and the
scope, never a secret.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from migrator.domain import providers
from migrator.domain.config import TargetConfig, data_dir
from migrator.domain.errors import UsageError
from migrator.domain.filters import Scope, parse_day
from migrator.domain.i18n import _
from migrator.domain.models import Plan, VerifyReport
from migrator.flows.check import CheckReport
from migrator.web.actions import Migration
from migrator.web.jobs import Job
from migrator.web.stores import StoreView

OTHER = "other"
# the providers step 2 offers, in this order ("other": any server, typed by hand)
OFFERED = ("gmail", "icloud", "office365", "yahoo-japan", "ocn", "nifty", "docomo", OTHER)
Security = Literal["tls", "starttls"]
SAVED_NAME = "ui-session.json"
KEYRING_SERVICE = "migrator"


@dataclass
class Account:
    """Step 2's answers: the provider preset (or "other"), the address and how to reach the server."""

    provider: str = "gmail"
    address: str = ""
    host: str = ""
    port: int = 993
    security: Security = "tls"
    login: str = ""

    def preset(self) -> providers.Provider | None:
        """The chosen preset; for Microsoft the personal one when the address is at outlook.com & co."""
        if self.provider == OTHER:
            return None
        if self.provider == "office365" and providers.get("outlook").matches_user(self.address):
            return providers.get("outlook")
        return providers.get(self.provider)

    def resolved(self) -> Account:
        """Host, port, security and login filled from the preset (for "other": as typed)."""
        p = self.preset()
        if p is None:
            return Account(OTHER, self.address.strip(), self.host.strip(), self.port, self.security,
                           (self.login or self.address).strip())
        return Account(self.provider, self.address.strip(), p.host, p.port,
                       "tls" if p.tls == "implicit" else "starttls", login_for(p, self.address.strip()))

    def target(self, password: SecretStr | None) -> TargetConfig:
        """The TargetConfig `migrate run --target ...` would build; UsageError for a missing field."""
        a = self.resolved()
        if not a.address and not a.login:
            raise UsageError(_("the address is missing"), hint=_("Type the e-mail address of the new account."))
        if not a.host:
            raise UsageError(_("the server name is missing"),
                             hint=_("Type the IMAP server's name (e.g. imap.example.com)."))
        if not 0 < a.port < 65536:
            raise UsageError(_("port {port} is not a port number").format(port=a.port),
                             hint=_("IMAP uses 993 (TLS) or 143 (STARTTLS)."))
        preset = a.preset() or providers.detect(a.host, a.login)
        return TargetConfig(scheme="imaps" if a.security == "tls" else "imap", user=a.login, host=a.host,
                            port=a.port, provider=preset.name if preset is not None else None,
                            password=password or SecretStr(""), oauth2=bool(preset and preset.oauth_only))


def login_for(preset: providers.Provider, address: str) -> str:
    """The user name the provider wants for `address`: the address itself, or the part before the @
    (iCloud: the name without the domain; docomo/Yahoo! JAPAN: their own ID, the part before @)."""
    if preset.user_form in ("local-part", "id") and "@" in address:
        return address.rsplit("@", 1)[0]
    return address


@dataclass
class WebSession:
    """Everything one browser session chose and got back, step by step (in memory only)."""

    lang: str | None = None  # chosen with the page's switch (wins over --lang and Accept-Language)
    stores: list[StoreView] = field(default_factory=list)  # step 1: the sources chosen, described
    account: Account = field(default_factory=Account)
    password: SecretStr | None = None
    remember: bool = False
    check: CheckReport | None = None
    plan: Plan | None = None
    full_plan: Plan | None = None  # the plan of all the mail, when it did not fit (the diet's starting point)
    since: str = ""  # YYYY-MM-DD: the diet's --since ("" for all the mail)
    job: Job | None = None  # the running / last copy
    verify_job: Job | None = None
    verify: VerifyReport | None = None
    resumed: bool = False  # filled from a saved session after a restart
    state_dir: Path | None = None

    @property
    def sources(self) -> tuple[Path, ...]:
        """The chosen stores' paths, in the order chosen."""
        return tuple(s.path for s in self.stores)

    def scope(self) -> Scope:
        """The scope of the migration: the diet's --since when one is chosen."""
        return Scope(since=parse_day(self.since, "since") if self.since else None)

    def migration(self) -> Migration:
        """The migration as the flows take it; UsageError when a step is not done yet."""
        if not self.stores:
            raise UsageError(_("no mail chosen yet"), hint=_("Step 1: choose where your mail is."))
        target = self.account.target(self.password)
        state = None
        if self.state_dir is not None:
            from migrator.domain.config import default_state_path

            state = self.state_dir / default_state_path(list(self.sources), target).name
        return Migration(self.sources, target, self.scope(), state)

    def remembered_password(self) -> SecretStr | None:
        """The password kept in the OS keyring for this account, if any (and a keyring is there)."""
        try:
            import keyring

            cfg = self.account.target(None)
            stored = keyring.get_password(KEYRING_SERVICE, cfg.ident)
        except Exception:  # noqa: BLE001 - no keyring backend, or no account yet: nothing remembered
            return None
        return SecretStr(stored) if stored else None

    def keep_password(self) -> bool:
        """Store the password in the OS keyring (ticked "remember"); False when there is no keyring."""
        if self.password is None:
            return False
        try:
            import keyring

            keyring.set_password(KEYRING_SERVICE, self.account.target(None).ident, self.password.get_secret_value())
            return True
        except Exception:  # noqa: BLE001 - no usable keyring: the password stays in memory only
            return False

    # -- the saved session (no secret) -----------------------------------------------------------

    def save(self, folder: Path, finished: bool = False) -> None:
        """Write what a restarted app needs to offer resuming (sources, account, scope; no password);
        `finished`: the last copy ran to its end (the next start offers the steps, not "resume")."""
        a = self.account
        data = {"sources": [str(p) for p in self.sources], "provider": a.provider, "address": a.address,
                "host": a.host, "port": a.port, "security": a.security, "login": a.login, "since": self.since,
                "finished": finished}
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (SAVED_NAME + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, folder / SAVED_NAME)

    @classmethod
    def saved(cls, folder: Path) -> dict[str, Any] | None:
        """The saved session in `folder`, or None (none, or unreadable)."""
        try:
            data = json.loads((folder / SAVED_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("sources") else None

    def restore(self, data: dict[str, Any], describe: Any) -> None:
        """Fill this session from a saved one (`describe(path)` gives each store's view)."""
        self.stores = [describe(Path(p)) for p in data.get("sources", [])]
        sec: Security = "starttls" if data.get("security") == "starttls" else "tls"
        self.account = Account(str(data.get("provider", OTHER)), str(data.get("address", "")),
                               str(data.get("host", "")), int(data.get("port", 993)), sec, str(data.get("login", "")))
        self.since = str(data.get("since", ""))
        self.resumed = not data.get("finished")
        self.password = self.remembered_password()


def saved_dir() -> Path:
    """Where the saved session lives: the data folder of the journals (domain/config.py data_dir)."""
    return data_dir()
