"""Pure helpers that turn TLS and login failures into one-line causes and next steps."""

from __future__ import annotations

import ssl

# RFC 5530 response codes on a rejected LOGIN/AUTHENTICATE.
_CODE_HINTS = {
    "AUTHENTICATIONFAILED": "The user name or password is wrong.",
    "AUTHORIZATIONFAILED": "The credentials are right but this user may not use that mailbox.",
    "EXPIRED": "The password has expired: renew it at the provider, then try again.",
    "PRIVACYREQUIRED": "The server wants TLS before login: use imaps:// or imap:// with STARTTLS.",
    "UNAVAILABLE": "The server's login service is temporarily unavailable: try again later.",
    "CONTACTADMIN": "The server asks you to contact its administrator.",
    "LIMIT": "Too many connections or logins: close other mail programs and retry later.",
}

_PROVIDER_HINTS = (
    (("gmail.com", "googlemail.com"),
     "Gmail needs an app password when two-step verification is on, and IMAP must be enabled "
     "in Gmail's settings (Forwarding and POP/IMAP)."),
    (("mail.me.com", "icloud.com"),
     "iCloud needs an app-specific password (appleid.apple.com), and the user name is the part before @ "
     "or the full address."),
    (("outlook.office365.com", "outlook.com", "office365.com", "hotmail.com"),
     "Microsoft 365 and Outlook.com no longer accept passwords over IMAP: OAuth2 is required."),
    (("yahoo.com", "yahoo.co.jp"),
     "Yahoo needs an app password (or IMAP enabled in the account settings)."),
)


def login_hint(host: str, code: str | None) -> str:
    parts: list[str] = []
    if code and code.upper() in _CODE_HINTS:
        parts.append(_CODE_HINTS[code.upper()])
    host_l = host.lower()
    for domains, hint in _PROVIDER_HINTS:
        if any(host_l == d or host_l.endswith("." + d) for d in domains):
            parts.append(hint)
            break
    if not parts:
        parts.append("Check the user name and password; providers with two-step verification need an app password.")
    return " ".join(parts)


def describe_cert_error(exc: ssl.SSLCertVerificationError) -> str:
    """'certificate has expired', 'hostname mismatch', 'self-signed / unknown issuer'."""
    msg = (exc.verify_message or str(exc)).lower()
    if "expired" in msg:
        return "the certificate has expired (or this computer's clock is wrong)"
    if "not yet valid" in msg:
        return "the certificate is not valid yet (check this computer's clock)"
    if "hostname" in msg or "ip address mismatch" in msg or exc.verify_code == 62:
        return f"the certificate is for another name ({exc.verify_message})"
    if "self-signed" in msg or "self signed" in msg or "unable to get local issuer" in msg:
        return "the certificate is not signed by a trusted authority (self-signed or unknown issuer)"
    return exc.verify_message or str(exc)
