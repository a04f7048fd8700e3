"""Finding the Thunderbird profiles on this machine and describing what they hold, for
`migrate sources` (its listing is rendered by render/stores.py). Read-only.

The parsers of a profile's files live in sources/thunderbird/profile.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from migrator.domain.errors import SourceError
from migrator.domain.i18n import _
from migrator.sources.thunderbird.profile import AccountInfo, profile_notes, read_accounts, read_profiles_ini


@dataclass
class StoreInfo:
    """One Thunderbird profile found on this machine (or given as a path)."""

    path: Path  # the profile directory
    name: str
    default: bool
    accounts: list[AccountInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings and remarks for the listing
    profiles_ini: Path | None = None
    kind: str = "thunderbird"

    @property
    def exists(self) -> bool:
        """Whether the profile directory is there."""
        return self.path.is_dir()

    @property
    def messages(self) -> int:
        """Messages that `migrate run PROFILE` migrates by default."""
        return sum(a.messages for a in self.accounts if a.migrated_by_default)

    @property
    def bytes(self) -> int:
        """Bytes of the mail that `migrate run PROFILE` migrates by default (sum over those accounts)."""
        return sum(a.bytes for a in self.accounts if a.migrated_by_default)


# ---------------------------------------------------------------- this machine


def candidate_dirs(home: Path | None = None, env: Mapping[str, str] | None = None) -> list[Path]:
    """Where profiles.ini is looked for: Linux (plain, Flatpak, Snap), macOS and Windows places."""
    home = home if home is not None else Path.home()
    env = env if env is not None else os.environ
    dirs = [
        home / ".thunderbird",
        home / ".var" / "app" / "org.mozilla.Thunderbird" / ".thunderbird",
        home / "snap" / "thunderbird" / "common" / ".thunderbird",
        home / "Library" / "Thunderbird",
    ]
    appdata = env.get("APPDATA")
    dirs.append(Path(appdata) / "Thunderbird" if appdata else home / "AppData" / "Roaming" / "Thunderbird")
    return dirs


def describe_profile(profile: Path, name: str | None = None, default: bool = False,
                     count: bool = True, profiles_ini: Path | None = None) -> StoreInfo:
    """One profile: its accounts (with message counts and sizes when `count`) and notes."""
    info = StoreInfo(path=profile, name=name or profile.name, default=default, profiles_ini=profiles_ini)
    if not profile.is_dir():
        info.notes.append(_("{path}: the profile directory does not exist").format(path=profile))
        return info
    info.accounts, notes = read_accounts(profile)
    info.notes += notes + profile_notes(profile)
    if count:
        from migrator.sources.thunderbird.reader import count_account

        for a in info.accounts:
            if a.directory is not None and a.directory.is_dir():
                a.messages, a.deleted, a.bytes = count_account(a, profile)
    return info


def find_stores(home: Path | None = None, env: Mapping[str, str] | None = None,
                count: bool = True) -> list[StoreInfo]:
    """Every Thunderbird profile found in the standard places (see candidate_dirs).

    `home`/`env` default to this user's; tests point them at a fake home. `count=False` skips
    reading the mail (fast listing without message counts).
    """
    stores: list[StoreInfo] = []
    seen: set[str] = set()
    for base in candidate_dirs(home, env):
        ini = base / "profiles.ini"
        if not ini.is_file():
            continue
        try:
            entries = read_profiles_ini(ini)
        except SourceError as exc:
            stores.append(StoreInfo(path=base, name=base.name, default=False, notes=[exc.message],
                                    profiles_ini=ini))
            continue
        for e in sorted(entries, key=lambda e: (not e.install_default, not e.default)):
            real = os.path.realpath(e.path)
            if real in seen:
                continue
            seen.add(real)
            is_default = e.install_default or (e.default and not any(x.install_default for x in entries))
            stores.append(describe_profile(e.path, e.name, is_default, count=count, profiles_ini=ini))
    return stores


def describe_path(path: Path, count: bool = True) -> list[StoreInfo]:
    """`migrate sources PATH` for a Thunderbird path: a profile, profiles.ini, or the directory holding it."""
    ini = path if path.is_file() else path / "profiles.ini"
    if path.is_dir() and ((path / "prefs.js").is_file() or (path / "Mail").is_dir()):
        return [describe_profile(path, count=count)]
    if not ini.is_file() or ini.name.lower() != "profiles.ini":
        raise SourceError(_("{path}: not a Thunderbird profile (no prefs.js, no Mail/, no profiles.ini)").format(
            path=path))
    entries = sorted(read_profiles_ini(ini), key=lambda e: (not e.install_default, not e.default))
    return [describe_profile(e.path, e.name, e.install_default or e.default, count=count, profiles_ini=ini)
            for e in entries]
