"""Provider presets: where the IMAP server is, how to log in, and the limits a plan must respect.

`get(name)` returns a `Provider`; `detect(host, user)` finds the preset for a server or an address.
The numbers change without notice; each preset names its sources (docs/providers.md has the table).
A preset fills the connection (host, port, TLS) and gives the hints for a rejected login; the
folder names are only a fallback for servers that do not mark special-use folders (RFC 6154).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from migrator.domain.errors import UsageError
from migrator.domain.i18n import _

MB = 1000 * 1000
GB = 1000 * MB


class Provider(BaseModel):
    """One provider's IMAP settings and published limits (None: not published / not verified)."""

    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    host: str
    port: int = 993
    tls: Literal["implicit", "starttls"] = "implicit"
    # how the provider wants the user name: the full address, or the part before @ (full address as fallback)
    user_form: Literal["address", "local-part", "id"] = "address"
    domains: tuple[str, ...] = ()  # address domains served by this preset (for detection)
    hosts: tuple[str, ...] = ()  # IMAP host names that identify the provider (besides `host`)
    max_message_bytes: int | None = None  # largest message the server accepts (APPEND)
    daily_upload_bytes: int | None = None  # upload cap per day (IMAP APPEND)
    quota_bytes_default: int | None = None  # the published mailbox size of a free/basic account
    max_connections: int | None = None  # simultaneous IMAP connections the provider tolerates
    # `migrate batch`: mailboxes migrated at once into this provider's host (None: no limit beyond
    # the workers). Cautious figures: each job opens a few connections and the providers throttle
    # (Google's per-account bandwidth, Microsoft's per-tenant EWS/IMAP throttling policy).
    max_mailboxes: int | None = None
    oauth_only: bool = False  # passwords (even app passwords) are refused: --oauth2 required
    oauth_scope: str | None = None  # the scope an access token for IMAP needs
    app_password_needed: bool = False  # with two-step verification on, a separate app password is needed
    imap_must_be_enabled: bool = False  # IMAP access is a setting the user must switch on first
    app_password_url: str | None = None
    settings_hint: str = ""  # what to check in the account's settings when the login is refused
    sent: str | None = None
    drafts: str | None = None
    trash: str | None = None
    junk: str | None = None
    archive: str | None = None
    all_mail: str | None = None
    folders_localized: bool = False  # the special folder names follow the account's language
    sources: tuple[str, ...] = ()
    # the provider's own words, as its help pages and settings screens say them (for people: `migrate ui`)
    login_word: str = "e-mail address"
    login_word_ja: str = "メールアドレス"
    password_word: str = "password"
    password_word_ja: str = "パスワード"

    @property
    def scheme(self) -> str:
        """`imaps` when the preset's server speaks TLS from the start, else `imap` (STARTTLS)."""
        return "imaps" if self.tls == "implicit" else "imap"

    @property
    def folders(self) -> dict[str, str]:
        """{role: usual folder name} for the special folders the preset knows."""
        roles = {"sent": self.sent, "drafts": self.drafts, "trash": self.trash, "junk": self.junk,
                 "archive": self.archive, "all": self.all_mail}
        return {k: v for k, v in roles.items() if v}

    def matches_host(self, host: str) -> bool:
        """Whether `host` (any case, trailing dot ignored) is this provider's IMAP host or an alias."""
        h = host.lower().rstrip(".")
        return h == self.host or h in self.hosts

    def matches_user(self, user: str) -> bool:
        """Whether the address `user` is at one of the provider's mail domains (or a subdomain)."""
        if "@" not in user:
            return False
        domain = user.rsplit("@", 1)[1].lower()
        return any(domain == d or domain.endswith("." + d) for d in self.domains)

    def user_alternatives(self, user: str) -> list[str]:
        """Other forms of the user name worth one more try after a rejected login (iCloud only)."""
        if self.user_form != "local-part":
            return []
        if "@" in user:
            local, domain = user.rsplit("@", 1)
            return [local] if local and domain.lower() in self.domains else []
        return [f"{user}@{self.domains[0]}"] if self.domains else []


PRESETS: tuple[Provider, ...] = (
    Provider(
        max_mailboxes=10,
        name="gmail", title="Gmail / Google Workspace", host="imap.gmail.com", domains=("gmail.com", "googlemail.com"),
        max_message_bytes=35_651_584, daily_upload_bytes=500 * MB, quota_bytes_default=15 * GB, max_connections=15,
        oauth_scope="https://mail.google.com/", app_password_needed=True, imap_must_be_enabled=True,
        app_password_url="https://myaccount.google.com/apppasswords",
        settings_hint=("Gmail: with two-step verification on, use an app password (https://myaccount.google.com/"
                       "apppasswords) or --oauth2; a Workspace admin may also have turned IMAP off."),
        sent="[Gmail]/Sent Mail", drafts="[Gmail]/Drafts", trash="[Gmail]/Trash", junk="[Gmail]/Spam",
        all_mail="[Gmail]/All Mail", folders_localized=True,
        sources=("https://support.google.com/a/answer/1071518", "https://developers.google.com/gmail/imap/xoauth2-protocol",
                 "APPENDLIMIT=35651584 in Gmail's CAPABILITY", "imapsync FAQ.Gmail"),
        login_word="Google Account address", login_word_ja="Google アカウントのメールアドレス",
        password_word="app password", password_word_ja="アプリ パスワード",
    ),
    Provider(
        max_mailboxes=3,
        name="icloud", title="iCloud Mail", host="imap.mail.me.com", user_form="local-part",
        domains=("icloud.com", "me.com", "mac.com"), max_message_bytes=20 * MB, quota_bytes_default=5 * GB,
        app_password_needed=True, app_password_url="https://appleid.apple.com",
        settings_hint=("iCloud needs an app-specific password (appleid.apple.com → Sign-In and Security → "
                       "App-Specific Passwords), never the Apple ID password."),
        sent="Sent Messages", drafts="Drafts", trash="Deleted Messages", junk="Junk", archive="Archive",
        sources=("https://support.apple.com/en-us/102525", "https://support.apple.com/en-ca/102198",
                 "imapsync FAQ.iCloud"),
        login_word="Apple Account name (the part before @icloud.com)",
        login_word_ja="Apple アカウントの名前 (@icloud.com の前の部分)",
        password_word="app-specific password", password_word_ja="App 用パスワード",
    ),
    Provider(
        max_mailboxes=4,
        name="outlook", title="Outlook.com / Hotmail (personal Microsoft account)", host="outlook.office365.com",
        hosts=("imap-mail.outlook.com",), domains=("outlook.com", "hotmail.com", "live.com", "msn.com",
                                                   "outlook.jp", "hotmail.co.jp", "live.jp"),
        max_message_bytes=35 * MB, quota_bytes_default=15 * GB, oauth_only=True,
        oauth_scope="https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
        settings_hint="Outlook.com stopped accepting passwords over IMAP in September 2024: use --oauth2.",
        sent="Sent", drafts="Drafts", trash="Deleted", junk="Junk", archive="Archive", folders_localized=True,
        sources=("https://learn.microsoft.com/exchange/client-developer/legacy-protocols/"
                 "how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth",),
        login_word="Microsoft account address", login_word_ja="Microsoft アカウントのメールアドレス",
        password_word="access token (Sign in with Microsoft)",
        password_word_ja="アクセス トークン (Microsoft でサインイン)",
    ),
    Provider(
        name="office365", max_mailboxes=4, title="Microsoft 365 / Exchange Online", host="outlook.office365.com",
        domains=("onmicrosoft.com",), max_message_bytes=35 * MB, oauth_only=True,
        oauth_scope="https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
        settings_hint=("Microsoft 365 turned basic authentication off for IMAP (October 2022): use --oauth2; "
                       "the tenant admin must also allow IMAP for the mailbox."),
        sent="Sent Items", drafts="Drafts", trash="Deleted Items", junk="Junk Email", archive="Archive",
        folders_localized=True,
        sources=("https://learn.microsoft.com/exchange/client-developer/legacy-protocols/"
                 "how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth",
                 "https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/"
                 "exchange-online-limits"),
        login_word="work or school account address", login_word_ja="職場または学校のアカウントのメールアドレス",
        password_word="access token (Sign in with Microsoft)",
        password_word_ja="アクセス トークン (Microsoft でサインイン)",
    ),
    Provider(
        max_mailboxes=3,
        name="yahoo", title="Yahoo Mail", host="imap.mail.yahoo.com", hosts=("export.imap.mail.yahoo.com",),
        domains=("yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.de", "yahoo.fr", "yahoo.it",
                 "yahoo.es"),
        max_message_bytes=25 * MB, app_password_needed=True,
        app_password_url="https://login.yahoo.com/account/security",
        settings_hint="Yahoo needs an app password (Account security → Generate app password).",
        sources=("https://help.yahoo.com/kb/SLN4075.html", "imapsync FAQ.Yahoo"),
        password_word="app password", password_word_ja="アプリ パスワード",
    ),
    Provider(
        max_mailboxes=3,
        name="aol", title="AOL Mail", host="imap.aol.com", domains=("aol.com", "aim.com"), app_password_needed=True,
        app_password_url="https://login.aol.com/account/security",
        settings_hint="AOL needs an app password (Account security → Generate app password).",
        sources=("Thunderbird ISPDB aol.com",),
        password_word="app password", password_word_ja="アプリ パスワード",
    ),
    # -- Japan ------------------------------------------------------------------------------------
    Provider(
        max_mailboxes=3,
        name="yahoo-japan", title="Yahoo!メール (Yahoo! JAPAN)", host="imap.mail.yahoo.co.jp",
        user_form="id", domains=("yahoo.co.jp", "ymail.ne.jp"), imap_must_be_enabled=True,
        settings_hint=("Yahoo!メール: IMAP access must be turned on in the mail settings (IMAP/POP/SMTP access), "
                       "including access from apps other than Yahoo! JAPAN's own."),
        sources=("settings published by Yahoo! JAPAN help (IMAP: imap.mail.yahoo.co.jp:993 SSL)",),
        login_word="Yahoo! JAPAN ID", login_word_ja="Yahoo! JAPAN ID",
        password_word="Yahoo! JAPAN ID password", password_word_ja="Yahoo! JAPAN ID のパスワード",
    ),
    Provider(
        max_mailboxes=2,
        name="docomo", title="ドコモメール (docomo)", host="imap.spmode.ne.jp", user_form="id",
        domains=("docomo.ne.jp",), app_password_needed=True,
        settings_hint=("ドコモメール needs its IMAP ID and IMAP専用パスワード (My docomo → メール設定 → "
                       "IMAP専用ID・パスワードの確認), not the d アカウント password."),
        sources=("https://www.docomo.ne.jp/service/docomo_mail/security/", "docomo mail IMAP interface spec 4.3"),
        login_word="IMAP ID (My docomo)", login_word_ja="IMAP専用ID",
        password_word="IMAP password (My docomo)", password_word_ja="IMAP専用パスワード",
    ),
    Provider(
        max_mailboxes=3,
        name="ocn", title="OCNメール", host="imap.ocn.ne.jp", domains=("ocn.ne.jp",),
        settings_hint="OCN: the user name is the full OCN address, the password the mail password.",
        sources=("https://support.ntt.com/ocn/ (OCNメール設定値)",),
        login_word="OCN mail address", login_word_ja="OCN メールアドレス",
        password_word="mail password", password_word_ja="メールパスワード",
    ),
    Provider(
        max_mailboxes=3,
        name="nifty", title="@nifty メール", host="imap.nifty.com", domains=("nifty.com",),
        imap_must_be_enabled=True,
        settings_hint="@nifty: IMAP is an option of the mail service; check that it is enabled for the address.",
        sources=("https://mail.nifty.com/info/manual/",),
        login_word="@nifty mail address", login_word_ja="@nifty メールアドレス",
        password_word="mail password", password_word_ja="メールパスワード",
    ),
)

_ALIASES = {
    "google": "gmail", "googlemail": "gmail", "workspace": "gmail", "gsuite": "gmail",
    "apple": "icloud", "me.com": "icloud", "mac.com": "icloud",
    "hotmail": "outlook", "outlook.com": "outlook", "live": "outlook", "msn": "outlook",
    "m365": "office365", "microsoft365": "office365", "microsoft": "office365", "exchange": "office365",
    "o365": "office365",
    "yahoo.co.jp": "yahoo-japan", "yahoojp": "yahoo-japan", "yahoo_japan": "yahoo-japan", "ymail.ne.jp": "yahoo-japan",
    "spmode": "docomo", "docomo-mail": "docomo", "@nifty": "nifty",
}


def names() -> list[str]:
    """The preset names, in the order of PRESETS (for --provider's choices and the docs)."""
    return [p.name for p in PRESETS]


def get(name: str) -> Provider:
    """The preset called `name` (or one of its aliases); UsageError for an unknown name."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    for p in PRESETS:
        if p.name == key:
            return p
    raise UsageError(_("--provider {name!r}: unknown provider").format(name=name),
                     hint=_("Known: {names}. Otherwise give the server: --target imaps://USER@HOST.").format(
                         names=", ".join(names())))


def detect(host: str | None = None, user: str | None = None) -> Provider | None:
    """The preset serving this IMAP host (the address's domain decides between Microsoft presets)."""
    by_user = next((p for p in PRESETS if user and p.matches_user(user)), None)
    if host:
        hits = [p for p in PRESETS if p.matches_host(host)]
        if not hits:
            return None
        if by_user is not None and by_user in hits:
            return by_user
        return hits[-1] if len(hits) > 1 and by_user is None else hits[0]
    return by_user
