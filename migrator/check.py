"""`migrate check`: connect, TLS, login, and a checklist of what the server offers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from migrator.config import TargetConfig
from migrator.errors import MigratorError
from migrator.progress import human_bytes
from migrator.target.imap import ImapTarget

IMPORTANT = ("UIDPLUS", "MULTIAPPEND", "LITERAL+", "SPECIAL-USE", "QUOTA", "APPENDLIMIT", "UTF8=ACCEPT", "MOVE")


class CheckReport(BaseModel):
    target: str
    ready: bool = False
    greeting: str = ""
    tls_version: str | None = None
    certificate: dict[str, str] = Field(default_factory=dict)
    login: str = ""
    capabilities: dict[str, bool] = Field(default_factory=dict)
    special_use: dict[str, str] = Field(default_factory=dict)
    delimiter: str | None = None
    quota_used: int | None = None
    quota_limit: int | None = None
    max_message_size: int | None = None
    error: str | None = None
    hint: str | None = None


def _name(parts: object) -> str:
    try:
        return ", ".join("=".join(str(x) for x in rdn[0]) for rdn in parts)  # type: ignore[union-attr]
    except (TypeError, IndexError):
        return str(parts)


def check_target(cfg: TargetConfig) -> CheckReport:
    report = CheckReport(target=cfg.url)
    target = ImapTarget(cfg)
    try:
        target.connect()
    except MigratorError as exc:
        report.error, report.hint = exc.message, exc.hint
        return report
    with target:
        report.greeting = target.greeting
        report.tls_version = target.tls_version
        if target.peer_cert:
            c = target.peer_cert
            report.certificate = {"subject": _name(c.get("subject", ())), "issuer": _name(c.get("issuer", ())),
                                  "not_after": str(c.get("notAfter", "")), "not_before": str(c.get("notBefore", ""))}
        report.login = "LOGIN (password)"
        caps = target.capabilities
        report.capabilities = {
            k: (any(c.startswith("APPENDLIMIT") for c in caps) if k == "APPENDLIMIT" else k in caps) for k in IMPORTANT
        }
        report.special_use = target.special_use()
        report.delimiter = target.delimiter
        q = target.quota("INBOX")
        if q:
            report.quota_used, report.quota_limit = q.used, q.limit
        report.max_message_size = target.append_limit()
        report.ready = True
    return report


def render_check(r: CheckReport) -> str:
    if r.error:
        return f"✗ {r.target}: {r.error}\n  hint: {r.hint}"
    ok = lambda b: "✓" if b else "·"  # noqa: E731
    lines = [f"✓ connected to {r.target}", f"  greeting: {r.greeting.strip()[:100]}"]
    lines.append(f"✓ TLS: {r.tls_version or 'none (plaintext!)'}")
    if r.certificate:
        lines.append(f"  certificate: {r.certificate.get('subject')} (issuer {r.certificate.get('issuer')}, "
                     f"valid until {r.certificate.get('not_after')})")
    lines.append(f"✓ login: {r.login}")
    lines.append("  capabilities: " + "  ".join(f"{ok(v)} {k}" for k, v in r.capabilities.items()))
    lines.append("  special-use folders: " + (", ".join(f"{k}={v}" for k, v in r.special_use.items()) or "none"))
    if r.quota_limit is not None:
        lines.append(f"  quota: {human_bytes(r.quota_used)} used of {human_bytes(r.quota_limit)}")
    else:
        lines.append("  quota: not reported")
    lines.append(f"  largest message accepted: {human_bytes(r.max_message_size) if r.max_message_size else 'not stated'}")
    lines.append("Ready: a migration can start.")
    return "\n".join(lines)
