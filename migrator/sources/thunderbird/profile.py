"""Thunderbird profiles read from disk: profiles.ini / installs.ini (which profiles exist, which
one is the default), prefs.js (the accounts: type, server, user, folder directory, store type),
compatibility.ini (which Thunderbird wrote the profile), and the folder names of the .msf (Mork)
summaries. Everything is read-only and never locks anything.

`ThunderbirdSource` (reader.py) and `migrate sources` (sources/discovery.py) use these parsers.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any

from migrator.domain.errors import SourceError
from migrator.domain.i18n import _
from migrator.imap import utf7

MAILDIR_STORE = "@mozilla.org/msgstore/maildirstore;1"
# Account types whose mail exists only in the profile: migrated unless --account says otherwise.
LOCAL_TYPES = ("pop3", "none", "movemail")
# The newest Thunderbird major version this reader was checked against; newer ones get a warning.
NEWEST_KNOWN_MAJOR = 150

_PREF_LINE = re.compile(r'^\s*user_pref\(\s*"((?:[^"\\]|\\.)*)"\s*,\s*(.*?)\s*\)\s*;\s*$')


@dataclass(frozen=True)
class ProfileEntry:
    """One `[ProfileN]` of profiles.ini."""

    name: str
    path: Path
    default: bool  # Default=1 in profiles.ini
    install_default: bool  # the profile an installation opens (installs.ini / [Install…] sections)


@dataclass
class AccountInfo:
    """One account of a profile, as prefs.js (or a scan of Mail/) describes it."""

    key: str  # "account1"; "Mail/<dir>" when found by scanning without prefs.js
    server: str  # "server1" ("" when found by scanning)
    type: str  # pop3 | none (Local Folders) | imap | movemail | rss | nntp | …
    name: str  # the account's pretty name, as Thunderbird shows it
    host: str | None
    user: str | None
    directory: Path | None  # where its folders are on disk
    store: str  # "mbox" or "maildir"
    migrated_by_default: bool
    reason: str  # why it is (or is not) migrated by default, for the listing
    deferred_to: str | None = None  # POP account delivering into another account (usually Local Folders)
    messages: int = 0  # live messages (deleted-but-not-compacted ones excluded)
    deleted: int = 0  # deleted in Thunderbird, not yet compacted: never migrated
    bytes: int = 0  # size of the live messages

    @property
    def is_local_folders(self) -> bool:
        """True for Local Folders (server type `none` in prefs.js): where POP accounts keep mail by default."""
        return self.type == "none"

    def matches(self, wanted: str) -> bool:
        """Whether `--account wanted` names this account (key, server, name, host, user@host, directory)."""
        w = unicodedata.normalize("NFC", wanted).strip().casefold()
        names = {self.key, self.server, self.name, self.host or "", self.directory.name if self.directory else ""}
        if self.user and self.host:
            names.add(f"{self.user}@{self.host}")
        if self.user:
            names.add(self.user)
        return w in {unicodedata.normalize("NFC", n).casefold() for n in names if n}


# ---------------------------------------------------------------- profiles.ini / installs.ini


def _ini(path: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            cp.read_file(fh)
    except (OSError, configparser.Error) as exc:
        raise SourceError(_("{path}: cannot be read ({reason})").format(path=path, reason=exc)) from exc
    return cp


def _resolve(base: Path, value: str, relative: bool) -> Path:
    if relative:
        return base.joinpath(*[p for p in re.split(r"[\\/]", value) if p])
    return Path(value)


def read_profiles_ini(ini: Path) -> list[ProfileEntry]:
    """The profiles listed in profiles.ini, with the install defaults from installs.ini applied."""
    base = ini.parent
    cp = _ini(ini)
    install_defaults: set[str] = set()
    sources = [cp]
    if (base / "installs.ini").is_file():
        try:
            sources.append(_ini(base / "installs.ini"))
        except SourceError:
            pass
    for src in sources:
        for section in src.sections():
            if src is cp and not section.startswith("Install"):
                continue
            value = src.get(section, "Default", fallback="").strip()
            if value:
                install_defaults.add(str(_resolve(base, value, not _is_absolute(value))))
    out: list[ProfileEntry] = []
    for section in cp.sections():
        if not section.startswith("Profile"):
            continue
        raw_path = cp.get(section, "Path", fallback="").strip()
        if not raw_path:
            continue
        relative = cp.get(section, "IsRelative", fallback="1").strip() != "0"
        path = _resolve(base, raw_path, relative)
        out.append(ProfileEntry(
            name=cp.get(section, "Name", fallback=path.name),
            path=path,
            default=cp.get(section, "Default", fallback="0").strip() == "1",
            install_default=str(path) in install_defaults,
        ))
    return out


def _is_absolute(value: str) -> bool:
    return value.startswith(("/", "\\")) or PureWindowsPath(value).is_absolute()


def pick_profile(ini: Path) -> Path:
    """The profile `migrate … profiles.ini` means: the only one, else the default Thunderbird opens.

    SourceError (listing the profiles) when that is ambiguous.
    """
    entries = [e for e in read_profiles_ini(ini) if e.path.is_dir()]
    if not entries:
        raise SourceError(_("{path}: lists no profile directory that exists").format(path=ini))
    if len(entries) == 1:
        return entries[0].path
    for chosen in ({e.path for e in entries if e.install_default}, {e.path for e in entries if e.default}):
        if len(chosen) == 1:
            return chosen.pop()
    listing = "\n".join(f"  {e.name}: {e.path}" for e in entries)
    raise SourceError(
        _("{path}: lists {n} profiles and none is clearly the default:\n{listing}").format(
            path=ini, n=len(entries), listing=listing),
        hint=_("Give one profile directory as SOURCE instead of profiles.ini."),
    )


# ---------------------------------------------------------------- prefs.js


def _js_value(text: str) -> str | int | bool | None:
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError:
            value = re.sub(r"\\(.)", r"\1", text[1:-1])
        return value if isinstance(value, str) else None
    try:
        return int(text)
    except ValueError:
        return None


def parse_prefs(text: str) -> dict[str, str | int | bool]:
    """`user_pref("key", value);` lines → {key: value}. Other lines are ignored."""
    prefs: dict[str, str | int | bool] = {}
    for line in text.splitlines():
        m = _PREF_LINE.match(line)
        if not m:
            continue
        value = _js_value(m.group(2))
        if value is not None:
            try:
                key = json.loads(f'"{m.group(1)}"')
            except ValueError:
                key = m.group(1)
            prefs[key] = value
    return prefs


def _str(prefs: Mapping[str, object], key: str) -> str | None:
    v = prefs.get(key)
    return v if isinstance(v, str) and v else None


def _account_dir(profile: Path, prefs: Mapping[str, object], server: str, kind: str, host: str | None) -> Path | None:
    rel = _str(prefs, f"mail.server.{server}.directory-rel")
    if rel and rel.startswith("[ProfD]"):
        return _resolve(profile, rel[len("[ProfD]"):], True)
    absolute = _str(prefs, f"mail.server.{server}.directory")
    parent = "ImapMail" if kind == "imap" else ("News" if kind == "nntp" else "Mail")
    if absolute:
        p = Path(absolute)
        if p.is_dir():
            return p
        # A profile copied from another machine: the same directory name inside this profile.
        name = PureWindowsPath(absolute).name if "\\" in absolute else Path(absolute).name
        return profile / parent / name
    if kind == "none":
        return profile / "Mail" / "Local Folders"
    return profile / parent / host if host else None


def _reason(a: AccountInfo, names: Mapping[str, str]) -> tuple[bool, str]:
    if a.directory is None or not a.directory.is_dir():
        return False, f"its folder directory is missing ({a.directory})" if a.directory else "no folder directory"
    if a.type == "none":
        return True, "Local Folders"
    if a.type in ("pop3", "movemail"):
        if a.deferred_to:
            return True, f"POP account (delivers into {names.get(a.deferred_to, a.deferred_to)}; own folders too)"
        return True, "POP account: its mail exists only here"
    if a.type == "imap":
        return False, (f"IMAP: ImapMail/ only caches mail that is still on {a.host or 'the server'}; "
                       "name it with --account to migrate the cache anyway")
    if a.type == "rss":
        return False, "RSS feeds, not mail; name it with --account to migrate it anyway"
    if a.type == "nntp":
        return False, "newsgroups, not mail"
    return False, f"account type {a.type!r}; name it with --account to migrate it anyway"


def read_accounts(profile: Path) -> tuple[list[AccountInfo], list[str]]:
    """The profile's accounts from prefs.js, in Thunderbird's order, and notes about problems.

    Without a usable prefs.js, the directories under Mail/ (and ImapMail/) are taken as accounts.
    """
    notes: list[str] = []
    prefs_path = profile / "prefs.js"
    prefs: dict[str, str | int | bool] = {}
    try:
        prefs = parse_prefs(prefs_path.read_bytes().decode("utf-8", errors="replace"))
        readable = True
    except FileNotFoundError:
        readable = False
        notes.append(_("{path}: missing; folders found by scanning Mail/ and ImapMail/").format(
            path=prefs_path))
    except OSError as exc:
        readable = False
        notes.append(_("{path}: cannot be read ({reason}); folders found by scanning Mail/").format(
            path=prefs_path, reason=exc.strerror))
    account_keys = [k.strip() for k in str(prefs.get("mail.accountmanager.accounts", "")).split(",") if k.strip()]
    if readable and not account_keys:
        notes.append(_("{path}: lists no accounts (broken?); folders found by scanning Mail/ and ImapMail/").format(
            path=prefs_path))
    if not account_keys:
        return _scan_accounts(profile), notes
    default_store = _str(prefs, "mail.serverDefaultStoreContractID") or ""
    server_to_account: dict[str, str] = {}
    accounts: list[AccountInfo] = []
    for key in account_keys:
        server = _str(prefs, f"mail.account.{key}.server")
        if not server:
            continue
        server_to_account[server] = key
        kind = str(prefs.get(f"mail.server.{server}.type", "unknown"))
        host = _str(prefs, f"mail.server.{server}.hostname") or _str(prefs, f"mail.server.{server}.realhostname")
        user = _str(prefs, f"mail.server.{server}.userName") or _str(prefs, f"mail.server.{server}.realuserName")
        name = _str(prefs, f"mail.server.{server}.name") or (
            "Local Folders" if kind == "none" else f"{user}@{host}" if user and host else host or key)
        contract = _str(prefs, f"mail.server.{server}.storeContractID") or default_store
        directory = _account_dir(profile, prefs, server, kind, host)
        store = "maildir" if contract == MAILDIR_STORE else "mbox"
        deferred = _str(prefs, f"mail.server.{server}.deferred_to_account")
        accounts.append(AccountInfo(key=key, server=server, type=kind, name=name, host=host, user=user,
                                    directory=directory, store=store, migrated_by_default=False, reason="",
                                    deferred_to=deferred))
    names = {a.key: a.name for a in accounts}
    seen_dirs: set[str] = set()
    for a in accounts:
        a.migrated_by_default, a.reason = _reason(a, names)
        if a.directory is not None:
            real = os.path.realpath(a.directory)
            if real in seen_dirs:  # two accounts on one directory: read it once
                a.migrated_by_default, a.reason = False, "shares its folder directory with another account"
            seen_dirs.add(real)
    return accounts, notes


def _scan_accounts(profile: Path) -> list[AccountInfo]:
    out: list[AccountInfo] = []
    for parent, kind in (("Mail", "pop3"), ("ImapMail", "imap")):
        try:
            dirs = sorted((d for d in (profile / parent).iterdir() if d.is_dir()), key=lambda d: d.name)
        except OSError:
            continue
        for d in dirs:
            k = "none" if d.name == "Local Folders" else kind
            if d.name in ("Feeds", "News") or d.name.startswith("."):
                continue
            a = AccountInfo(key=f"{parent}/{d.name}", server="", type=k, name=d.name,
                            host=None if k == "none" else d.name, user=None, directory=d,
                            store="maildir" if _has_maildir(d) else "mbox", migrated_by_default=False, reason="")
            a.migrated_by_default, a.reason = _reason(a, {})
            if a.migrated_by_default:
                a.reason += " (found by scanning: prefs.js unusable)"
            out.append(a)
    out.sort(key=lambda a: (a.type != "none", a.type == "imap"))
    return out


def _has_maildir(d: Path) -> bool:
    try:
        return any((c / "cur").is_dir() for c in d.iterdir() if c.is_dir())
    except OSError:
        return False


def profile_notes(profile: Path) -> list[str]:
    """Remarks about the profile itself: newer Thunderbird, Thunderbird running."""
    notes: list[str] = []
    compat = profile / "compatibility.ini"
    if compat.is_file():
        try:
            version = _ini(compat).get("Compatibility", "LastVersion", fallback="")
        except SourceError:
            version = ""
        m = re.match(r"(\d+)\.", version)
        if m and int(m.group(1)) > NEWEST_KNOWN_MAJOR:
            notes.append(
                _("{path}: last used by Thunderbird {version}, newer than the versions this reader was checked "
                  "with (up to {newest}); it is read the usual way, check the plan").format(
                    path=compat, version=version.split("_")[0], newest=NEWEST_KNOWN_MAJOR)
            )
    if (profile / "lock").is_symlink() or (profile / "lock").exists():
        notes.append(_("Thunderbird seems to be running: reading is safe; mail arriving now is taken by the next run"))
    return notes


# ---------------------------------------------------------------- folder names


class FolderInfo:
    """Display names and folder flags Thunderbird recorded: folderCache.json, then the .msf."""

    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self._cache: dict[str, dict[str, Any]] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._cache is None:
            self._cache = {}
            try:
                data = json.loads((self.profile / "folderCache.json").read_bytes())
            except (OSError, ValueError):
                data = {}
            if isinstance(data, dict):
                for key, value in data.items():
                    if not isinstance(value, dict):
                        continue
                    norm = str(key).replace("\\", "/")
                    self._cache[norm] = value
                    m = re.search(r"/((?:Mail|ImapMail)/.*)$", norm)
                    if m:  # the same profile copied elsewhere: match on the part inside the profile
                        self._cache.setdefault(m.group(1), value)
        return self._cache

    def entry(self, msf: Path) -> dict[str, Any]:
        """The folderCache.json row of the folder whose summary file is `msf` (by absolute path, else
        by its path inside the profile), or {} when none."""
        cache = self._load()
        if not cache:
            return {}
        hit = cache.get(str(msf).replace("\\", "/"))
        if hit is None:
            try:
                hit = cache.get(msf.relative_to(self.profile).as_posix())
            except ValueError:
                hit = None
        return hit or {}

    def flags(self, msf: Path) -> int | None:
        """The folder's Thunderbird flags (nsMsgFolderFlags bits: Inbox 0x1000, Sent 0x200, ...), or
        None when the cache does not say.
        """
        value = self.entry(msf).get("flags")
        return value if isinstance(value, int) else None

    def name(self, msf: Path) -> str | None:
        """The folder's name as Thunderbird shows it (folder cache folderName / prettyName / name),
        else the name its .msf (Mork) summary records, else None."""
        for key in ("folderName", "prettyName", "name"):
            value = self.entry(msf).get(key)
            if isinstance(value, str) and value.strip():
                return value
        return mork_folder_name(msf)


_MORK_DICT = re.compile(r"<((?:[^<>]|<[^<>]*>)*)>", re.DOTALL)
_MORK_ATOM = re.compile(r"\(([0-9A-Fa-f]+)\s*=((?:\\.|[^)\\])*)\)", re.DOTALL)
_MORK_CELL = re.compile(r"\(\^([0-9A-Fa-f]+)(?:=((?:\\.|[^)\\])*)|\^([0-9A-Fa-f]+))\)", re.DOTALL)


def _mork_text(value: str) -> str:
    out = bytearray()
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out += value[i + 1].encode("latin-1")
            i += 2
        elif c == "$" and re.fullmatch(r"[0-9A-Fa-f]{2}", value[i + 1:i + 3]):
            out.append(int(value[i + 1:i + 3], 16))
            i += 3
        else:
            out += c.encode("latin-1", errors="replace")
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return out.decode("latin-1")


def mork_folder_name(msf: Path) -> str | None:
    """The folder's name as its .msf (Mork) summary records it (`mailboxName`/`folderName`); best effort."""
    try:
        text = msf.read_bytes().decode("latin-1")
    except OSError:
        return None
    text = re.sub(r"\\\r?\n", "", text)
    columns: dict[str, str] = {}
    atoms: dict[str, str] = {}
    for d in _MORK_DICT.finditer(text):
        body = d.group(1)
        meta = re.match(r"\s*<\s*\(\s*a\s*=\s*c\s*\)\s*>", body)
        target = columns if meta else atoms
        for a in _MORK_ATOM.finditer(body[meta.end():] if meta else body):
            target[a.group(1).upper()] = a.group(2)
    wanted = {k for k, v in columns.items() if v in ("mailboxName", "folderName")}
    found: str | None = None
    for c in _MORK_CELL.finditer(text):
        if c.group(1).upper() in wanted:
            found = c.group(2) if c.group(2) is not None else atoms.get(c.group(3).upper())
    name = _mork_text(found).strip() if found else ""
    return name or None


def disk_name(name: str, imap: bool) -> str:
    """A file name as Unicode: undecodable bytes tried as CP932/EUC-JP, IMAP UTF-7 decoded, NFC."""
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        raw = os.fsencode(name)
        for enc in ("utf-8", "cp932", "euc-jp"):
            try:
                name = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            name = raw.decode("utf-8", errors="replace")
    if imap and re.search(r"&[A-Za-z0-9+,]*-", name):
        name = utf7.decode(name)
    return unicodedata.normalize("NFC", name)
