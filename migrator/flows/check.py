"""`migrate check`: connect, TLS, login, and a checklist of what the server offers.

`check_target` returns a CheckReport (never prints); migrator.render.check turns it into the checklist.
Ready (exit 0) means a migration can start: connected, TLS (or --insecure), logged in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

from migrator.domain import providers
from migrator.domain.config import TargetConfig
from migrator.domain.errors import LoginError, MigratorError, TlsError
from migrator.domain.i18n import N_, _
from migrator.domain.units import human_bytes
from migrator.imap.client import ImapTarget

# capability -> (what its absence means for a migration (translated where shown), worth a note when absent)
IMPORTANT = {
    "UIDPLUS": (N_("resuming after a crash finds messages by content instead of by UID (slower)"), True),
    "MULTIAPPEND": (N_("one APPEND per message (a little slower)"), False),
    "LITERAL+": (N_("one round trip more per message (a little slower)"), False),
    "SPECIAL-USE": (N_("Sent/Drafts/Trash are found by their names only"), True),
    "QUOTA": (N_("the plan cannot tell whether the mail fits"), True),
    "APPENDLIMIT": (N_("the largest accepted message is not stated"), False),
    "UTF8=ACCEPT": (N_("none (folder names go as modified UTF-7)"), False),
    "MOVE": (N_("none (migrate never moves messages)"), False),
}
QUOTA_WARN = 0.9

Status = Literal["ok", "warn", "fail", "info"]


class CheckItem(BaseModel):
    name: str
    status: Status
    detail: str


class CheckReport(BaseModel):
    target: str
    provider: str | None = None
    ready: bool = False
    items: list[CheckItem] = Field(default_factory=list)
    greeting: str = ""
    server: str = ""
    tls_version: str | None = None
    tls_cipher: str | None = None
    certificate: dict[str, str] = Field(default_factory=dict)
    certificate_verified: bool = False
    login: str = ""
    login_user: str | None = None
    capabilities: dict[str, bool] = Field(default_factory=dict)
    special_use: dict[str, str] = Field(default_factory=dict)
    delimiter: str | None = None
    quota_used: int | None = None
    quota_limit: int | None = None
    max_message_size: int | None = None
    max_message_size_source: str | None = None  # "APPENDLIMIT" or "provider"
    daily_upload_limit: int | None = None
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None
    hint: str | None = None

    def add(self, name: str, status: Status, detail: str) -> None:
        """Add one checklist line: what was checked (`name`), its status, and the detail to show."""
        self.items.append(CheckItem(name=name, status=status, detail=detail))


def software_from_greeting(greeting: str) -> str:
    """'Dovecot (Debian)' from '* OK [CAPABILITY ...] Dovecot (Debian) ready.' (best effort)."""
    text = re.sub(r"^\*\s+(OK|PREAUTH)\s+(\[[^\]]*\]\s*)?", "", greeting.strip(), flags=re.I)
    text = re.sub(r"\s*(is\s+)?ready\.?$", "", text, flags=re.I).strip()
    return text[:80]


def _server(target: ImapTarget) -> str:
    info = target.server_id()
    if info.get("name"):
        return " ".join(v for v in (info.get("name"), info.get("version"), f"({info['vendor']})"
                                    if info.get("vendor") else "") if v)
    return software_from_greeting(target.greeting) or _("unknown")


def _connected_part(report: CheckReport, target: ImapTarget, cfg: TargetConfig, *, logged_in: bool = True) -> None:
    """What is known once the TCP/TLS part worked (also after a failed TLS negotiation or login)."""
    report.greeting = target.greeting.strip()
    report.add("connect", "ok", _("{host}:{port} answered ({software})").format(
        host=cfg.host, port=cfg.port, software=software_from_greeting(report.greeting) or "IMAP"))
    report.tls_version, report.tls_cipher = target.tls_version, target.tls_cipher
    report.certificate, report.certificate_verified = target.peer_cert or {}, target.cert_verified
    if target.tls_version:
        mode = _("TLS from the start (imaps)") if cfg.implicit_tls else "STARTTLS"
        report.add("tls", "ok", f"{target.tls_version}, {target.tls_cipher or '?'}, {mode}")
    elif logged_in:
        report.add("tls", "warn", _("none: the connection is NOT encrypted (allowed by --insecure)"))
        report.warnings.append(_("TLS: none: the password and the mail went over the network unencrypted "
                                 "(allowed by --insecure); use imaps:// or a server with STARTTLS for a real "
                                 "migration"))
    if report.certificate:
        c = report.certificate
        how = _("verified") if target.cert_verified else _("NOT verified (--insecure)")
        report.add("certificate", "ok" if target.cert_verified else "warn",
                   _("{subject}; issuer {issuer}; names {names}; valid {start} to {end} ({how})").format(
                       subject=c.get("subject"), issuer=c.get("issuer"), names=c.get("names") or "-",
                       start=c.get("not_before", "")[:10], end=c.get("not_after", "")[:10], how=how))


def check_target(cfg: TargetConfig, on_plaintext: Callable[[str], None] | None = None) -> CheckReport:
    """Connect, log in and look (read-only). `on_plaintext(line)`: called before a password goes
    without TLS (--insecure with a server that offers no STARTTLS)."""
    preset = providers.get(cfg.provider) if cfg.provider else None
    report = CheckReport(target=cfg.url, provider=preset.title if preset else None)
    target = ImapTarget(cfg, on_plaintext=on_plaintext)
    try:
        target.connect()
    except MigratorError as exc:
        if target.greeting:
            _connected_part(report, target, cfg, logged_in=False)
        step = "login" if isinstance(exc, LoginError) else "tls" if isinstance(exc, TlsError) else "connect"
        report.add(step, "fail", exc.message)
        report.error, report.hint = exc.message, exc.hint
        return report
    with target:
        _connected_part(report, target, cfg)
        report.server = _server(target)
        report.add("server", "info", report.server)
        report.login, report.login_user = target.login_method, target.login_user
        report.add("login", "ok", _("{method} as {user!r}").format(method=target.login_method, user=target.login_user))
        if target.login_note:
            report.add("user name", "warn", target.login_note)
            report.warnings.append(target.login_note)
        _capabilities(report, target)
        _folders(report, target, preset)
        _quota(report, target, preset)
        _sizes(report, target, preset)
        report.ready = True
    return report


def _capabilities(report: CheckReport, target: ImapTarget) -> None:
    caps = target.capabilities
    report.capabilities = {k: (any(c.startswith("APPENDLIMIT") for c in caps) if k == "APPENDLIMIT" else k in caps)
                           for k in IMPORTANT}
    missing = [k for k, v in report.capabilities.items() if not v and IMPORTANT[k][1]]
    report.add("capabilities", "warn" if missing else "ok",
               "  ".join(f"{'✓' if v else '·'} {k}" for k, v in report.capabilities.items()))
    for k in missing:
        report.warnings.append(_("no {capability}: {meaning}").format(capability=k, meaning=_(IMPORTANT[k][0])))


def _folders(report: CheckReport, target: ImapTarget, preset: providers.Provider | None) -> None:
    folders = target.folders()
    report.special_use = target.special_use(folders)
    report.delimiter = target.delimiter
    found = ", ".join(f"{role}={name}" for role, name in report.special_use.items())
    detail = _("{n} folders, delimiter {delimiter!r}; special-use: {found}").format(
        n=f"{len(folders):,}", delimiter=target.delimiter, found=found or _("none marked"))
    if not report.special_use and preset and preset.folders:
        detail += "; " + _("usual names at {provider}: {names}").format(
            provider=preset.title, names=", ".join(f"{r}={n}" for r, n in preset.folders.items())) + (
            " " + _("(localized)") if preset.folders_localized else "")
    report.add("folders", "ok" if report.special_use else "info", detail)


def _quota(report: CheckReport, target: ImapTarget, preset: providers.Provider | None) -> None:
    q = target.quota("INBOX")
    if q is None:
        known = "; " + _("{provider} publishes {size}").format(
            provider=preset.title, size=human_bytes(preset.quota_bytes_default)) if (
            preset and preset.quota_bytes_default) else ""
        report.add("quota", "info", _("not reported by the server") + known)
        return
    report.quota_used, report.quota_limit = q.used, q.limit
    share = q.used / q.limit if q.limit else 0.0
    status: Status = "warn" if share >= QUOTA_WARN else "ok"
    report.add("quota", status, _("{used} used of {limit} ({share}), {free} free").format(
        used=human_bytes(q.used), limit=human_bytes(q.limit), share=f"{share:.0%}",
        free=human_bytes(max(0, q.limit - q.used))))
    if status == "warn":
        report.warnings.append(_("the mailbox is {share} full: `migrate plan` shows what fits").format(
            share=f"{share:.0%}"))


def _sizes(report: CheckReport, target: ImapTarget, preset: providers.Provider | None) -> None:
    limit = target.append_limit()
    if limit:
        report.max_message_size, report.max_message_size_source = limit, "APPENDLIMIT"
        report.add("message size", "ok", _("up to {size} per message (APPENDLIMIT)").format(size=human_bytes(limit)))
    elif preset and preset.max_message_bytes:
        report.max_message_size, report.max_message_size_source = preset.max_message_bytes, "provider"
        report.add("message size", "info",
                   _("up to {size} per message ({provider}'s published limit)").format(
                       size=human_bytes(preset.max_message_bytes), provider=preset.title))
    else:
        report.add("message size", "info", _("largest accepted message not stated (no APPENDLIMIT)"))
    if preset and preset.daily_upload_bytes:
        report.daily_upload_limit = preset.daily_upload_bytes
        report.add("upload per day", "info",
                   _("about {size} ({provider}): large migrations take days").format(
                       size=human_bytes(preset.daily_upload_bytes), provider=preset.title))
