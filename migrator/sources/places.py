"""Where mail stores usually live on Windows, macOS and Linux, and which of those places hold one
(`migrate sources` without a PATH). Read-only: it lists directories and reads a few bytes.

A store is recognised by its marks (an Outlook `.pst`/`.ost` file, a Becky! data folder holding
`*.mb` mailbox folders, `.eml` files under a Windows Live Mail folder, `.emlx` files under
`~/Library/Mail/V*`, `.dbx` files of Outlook Express, an mbox file or a Maildir), not by opening
it with its reader: readers are tried afterwards (flows/inventory.py), so a store is listed even
before this version of migrate can read it. Thunderbird profiles are found by discovery.py.

Everything is driven by the `home`, `env` and `platform` given (tests build a fake home per
system); `root` stands for `/` (the Unix mail spool). Paths: ../shared/reference/store-formats.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from migrator.domain.i18n import _

PLATFORMS = ("windows", "macos", "linux")
WALK_LIMIT = 20000  # directory entries looked at per place, at most: the search stays quick


def this_platform() -> str:
    """'windows', 'macos' or 'linux' (any other Unix counts as linux) for the running system."""
    if sys.platform.startswith(("win", "cygwin", "msys")):
        return "windows"
    return "macos" if sys.platform == "darwin" else "linux"


@dataclass
class Found:
    """A store found by its marks: kind (pst, ost, becky, windows-live-mail, windows-mail, dbx,
    apple-mail, mbox, maildir, evolution), where it is, and the usual place it was found in."""

    kind: str
    path: Path
    place: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Place:
    """A usual place to look (`label` as the user's system writes it) and what lives there."""

    label: str
    path: Path
    look_for: str  # outlook, becky, eml-tree (with kind), apple-mail, dbx, unix (mbox or Maildir)
    kind: str = ""


def places(home: Path, env: Mapping[str, str], platform: str, root: Path) -> list[Place]:
    """The usual places of `platform`, in the order they are listed."""
    out: list[Place] = []
    if platform == "windows":
        local = Path(env["LOCALAPPDATA"]) if env.get("LOCALAPPDATA") else home / "AppData" / "Local"
        roaming = Path(env["APPDATA"]) if env.get("APPDATA") else home / "AppData" / "Roaming"
        drive = Path((env.get("SystemDrive") or "C:") + "/")
        onedrive = (home / "OneDrive" / "Documents", "OneDrive\\Documents")
        for docs, label in ((home / "Documents", "Documents"), onedrive):
            out.append(Place(f"{label}\\Outlook Files", docs / "Outlook Files", "outlook"))
            out.append(Place(f"{label}\\My Outlook Files", docs / "My Outlook Files", "outlook"))
        out.append(Place("%LOCALAPPDATA%\\Microsoft\\Outlook", local / "Microsoft" / "Outlook", "outlook"))
        out.append(Place("%APPDATA%\\RimArts\\B2", roaming / "RimArts" / "B2", "becky"))
        out.append(Place("Documents\\Becky", home / "Documents" / "Becky", "becky"))
        out.append(Place(f"{drive}Becky!".replace("/", "\\"), drive / "Becky!", "becky"))
        out.append(Place("%LOCALAPPDATA%\\Microsoft\\Windows Live Mail", local / "Microsoft" / "Windows Live Mail",
                         "eml-tree", "windows-live-mail"))
        out.append(Place("%LOCALAPPDATA%\\Microsoft\\Windows Mail", local / "Microsoft" / "Windows Mail",
                         "eml-tree", "windows-mail"))
        out.append(Place("%LOCALAPPDATA%\\Identities (Outlook Express)", local / "Identities", "dbx"))
        out.append(Place("Local Settings\\Application Data\\Identities (Outlook Express)",
                         home / "Local Settings" / "Application Data" / "Identities", "dbx"))
    elif platform == "macos":
        out.append(Place("~/Library/Mail", home / "Library" / "Mail", "apple-mail"))
        out += _unix_places(home, env, root)
    else:
        out += _unix_places(home, env, root)
        evo = home / ".local" / "share" / "evolution" / "mail" / "local"
        out.append(Place("~/.local/share/evolution/mail/local", evo, "unix", "evolution"))
    return out


def _unix_places(home: Path, env: Mapping[str, str], root: Path) -> list[Place]:
    user = env.get("USER") or env.get("LOGNAME") or home.name
    out = [Place(f"~/{name}", home / name, "unix") for name in ("Mail", "mail", "Maildir")]
    out.append(Place(f"/var/mail/{user}", root / "var" / "mail" / user, "unix"))
    out.append(Place(f"/var/spool/mail/{user}", root / "var" / "spool" / "mail" / user, "unix"))
    if env.get("MAIL"):
        out.insert(3, Place(f"$MAIL ({env['MAIL']})", Path(env["MAIL"]), "unix"))
    return out


def _entries(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return list(it)
    except OSError:
        return []


def _walk_files(path: Path, limit: int = WALK_LIMIT) -> Iterator[Path]:
    """Files under `path` (not following links), at most `limit` entries looked at."""
    seen = 0
    stack = [path]
    while stack and seen < limit:
        for e in _entries(stack.pop()):
            seen += 1
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(Path(e.path))
                elif e.is_file(follow_symlinks=False):
                    yield Path(e.path)
            except OSError:
                continue
            if seen >= limit:
                return


def disk_bytes(path: Path, suffixes: tuple[str, ...] = ()) -> int:
    """The size in bytes of the file at `path`, or of the files under it (those ending in one of
    `suffixes`, any case, when given); quick: at most WALK_LIMIT entries are looked at."""
    try:
        if path.is_file():
            return path.stat().st_size
    except OSError:
        return 0
    total = 0
    for f in _walk_files(path):
        if not suffixes or f.name.lower().endswith(suffixes):
            try:
                total += f.stat().st_size
            except OSError:
                continue
    return total


def is_becky_mailbox(path: Path) -> bool:
    """A Becky! mailbox folder: `NAME.mb` holding Mailbox.ini, Folder.lst or a `!!!!Inbox` folder."""
    return path.name.lower().endswith(".mb") and path.is_dir() and any(
        (path / mark).exists() for mark in ("Mailbox.ini", "Folder.lst", "!!!!Inbox"))


def is_becky_data_folder(path: Path) -> bool:
    """A Becky! data folder: it holds at least one mailbox folder (`*.mb`, see is_becky_mailbox)."""
    return path.is_dir() and any(e.is_dir() and is_becky_mailbox(Path(e.path)) for e in _entries(path))


def _outlook(place: Place) -> Iterator[Found]:
    for e in sorted(_entries(place.path), key=lambda e: e.name.lower()):
        name = e.name.lower()
        if e.is_file() and name.endswith((".pst", ".ost")):
            found = Found("ost" if name.endswith(".ost") else "pst", Path(e.path), place.label)
            if found.kind == "ost":
                found.notes.append(_("an .ost is Outlook's copy of mail that should still be on its server: "
                                     "if the account still exists, copying from the server is complete"))
            yield found


def _becky(place: Place) -> Iterator[Found]:
    candidates = [place.path] + [Path(e.path) for e in sorted(_entries(place.path), key=lambda e: e.name)
                                 if e.is_dir() and not e.name.lower().endswith(".mb")]
    for c in candidates:
        if is_becky_data_folder(c):
            yield Found("becky", c, place.label)


def _eml_tree(place: Place) -> Iterator[Found]:
    if not place.path.is_dir():
        return
    if any(f.name.lower().endswith((".eml", ".msmessagestore")) for f in _walk_files(place.path)):
        yield Found(place.kind, place.path, place.label)


def _apple_mail(place: Place) -> Iterator[Found]:
    versions = [Path(e.path) for e in _entries(place.path) if e.is_dir() and e.name[:1] == "V"
                and e.name[1:].isdigit()]
    for v in sorted(versions, key=lambda p: int(p.name[1:]), reverse=True):  # the newest first
        if any(f.name.lower().endswith(".emlx") for f in _walk_files(v)):
            yield Found("apple-mail", v, place.label)


def _dbx(place: Place) -> Iterator[Found]:
    for ident in sorted(_entries(place.path), key=lambda e: e.name):
        oe = Path(ident.path) / "Microsoft" / "Outlook Express"
        if any(e.name.lower().endswith(".dbx") for e in _entries(oe)):
            yield Found("dbx", oe, place.label)


def _unix(place: Place) -> Iterator[Found]:
    from migrator.domain.errors import SourceError
    from migrator.sources import detect_kind

    p = place.path
    try:
        if not p.exists() or (p.is_file() and p.stat().st_size == 0):
            return
        kind = detect_kind(p)
    except (SourceError, OSError):
        return
    yield Found(place.kind or kind, p, place.label)


_FINDERS = {"outlook": _outlook, "becky": _becky, "eml-tree": _eml_tree, "apple-mail": _apple_mail,
            "dbx": _dbx, "unix": _unix}


def find_places(home: Path | None = None, env: Mapping[str, str] | None = None, platform: str | None = None,
                root: Path | None = None) -> tuple[list[Found], list[Place]]:
    """(stores found, places looked in) for `platform` (default: this system), `home` (default: this
    user's), `env` (default: os.environ: APPDATA, LOCALAPPDATA, SystemDrive, USER, MAIL), `root`
    (default `/`). Each store once, even when two places lead to it (a link)."""
    home = home if home is not None else Path.home()
    env = env if env is not None else os.environ
    platform = platform or this_platform()
    root = root if root is not None else Path("/")
    looked = places(home, env, platform, root)
    out: list[Found] = []
    seen: set[str] = set()
    for place in looked:
        for f in _FINDERS[place.look_for](place):
            real = os.path.realpath(f.path)
            if real not in seen:
                seen.add(real)
                out.append(f)
    return out, looked
