"""Becky! Internet Mail's directory layout: the data folder, its `*.mb` mailboxes and their folders.

Layout (Thunderbird's Becky! importer, comm-central mailnews/import/src/nsBeckyMail.cpp and
nsBeckyUtils.cpp; ../shared/reference/store-formats.md "Becky!"):

- the data folder (`%USERPROFILE%\\Documents\\Becky\\`, `C:\\Becky!\\<user>\\`, where B2.ini is)
  holds one directory per mailbox (account), `xxxxxxxx.mb`, and a `Folder.lst` listing them, the
  default mailbox first;
- a mailbox holds `Mailbox.ini` (`[Account] Name=` is the mailbox's display name, CP932), its
  folders as directories (`!!!!Inbox`, `!!!!Outbox` = sent mail, `!!!!Unsent` = drafts, `!Trash`,
  user folders), `#Attach/` (attachments kept outside the messages) and a `Folder.lst` giving the
  folders' order (not written when there is only one);
- a folder's subfolders are directories inside it, ordered by its own `Folder.lst`; it holds its
  messages in `*.bmf` files with a `Folder.idx` summary (bmf.py reads both).

Names: `Folder.lst`, `Mailbox.ini` and folder directory names are CP932 (Japanese Windows). A store
unzipped on Linux keeps the CP932 bytes in its file names: Python gives them as lone surrogates
(PEP 383), which `disk_name` turns back into bytes (os.fsencode) and decodes as CP932; on Windows
(and on a copy whose names were converted) they are Unicode already. `Folder.lst` lines are matched
to directories by their decoded names, so both kinds of store read the same.

Every directory listing goes through walk.py (no symbolic link loop is followed twice, nothing
blocks on a FIFO). Nothing here writes.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from migrator.domain.i18n import _
from migrator.domain.records import ROLE_DRAFTS, ROLE_INBOX, ROLE_SENT, ROLE_TRASH, fs_name_text
from migrator.sources.walk import Node, Walk, list_dir, open_regular

MAILBOX_SUFFIX = ".mb"
ATTACH_DIR = "#Attach"
FOLDER_LIST = "Folder.lst"
MAILBOX_INI = "Mailbox.ini"
SETTINGS_FILE = "b2.ini"  # Becky! 2's settings, in the data folder (compared lowercased)

# Becky!'s own folders of a mailbox: directory name without its `!` sort keys (casefolded) ->
# (role, display name). `!!!!Outbox` keeps the mail Becky! sent; `!!!!Unsent` what waits to be sent.
SPECIAL_FOLDERS: dict[str, tuple[str, str]] = {
    "inbox": (ROLE_INBOX, "Inbox"),
    "outbox": (ROLE_SENT, "Sent"),
    "unsent": (ROLE_DRAFTS, "Drafts"),
    "trash": (ROLE_TRASH, "Trash"),
}

# Mailbox.ini [Account] keys that name an IMAP server (inferred: no public description of the
# file exists): a mailbox with one set to a host is the local cache of an IMAP account.
IMAP_KEYS = ("imap4server", "imapserver", "imap4host", "imaphost")
_IMAP_PROTOCOLS = ("imap", "imap4")
_READ_LIMIT = 1 << 20  # Folder.lst and Mailbox.ini are small text files


def disk_name(name: str) -> str:
    """A directory or file name as Unicode: a name with undecodable bytes (a CP932 name on a POSIX
    file system, given by Python as lone surrogates, PEP 383) is turned back into its bytes
    (os.fsencode) and decoded as CP932; a Unicode name (Windows, or a converted copy) is returned
    as it is. Bytes CP932 cannot decode fall back to domain.records.fs_name_text (EUC-JP, latin-1)."""
    if not any("\udc80" <= ch <= "\udcff" for ch in name):
        return name
    try:
        return os.fsencode(name).decode("cp932")
    except UnicodeDecodeError:
        return fs_name_text(name)


def shown(path: str | Path) -> str:
    """A path as text a person (and SQLite, and a cp932 console) can take: undecodable bytes in
    its names decoded as disk_name does."""
    return "/".join(disk_name(part) for part in str(path).replace(os.sep, "/").split("/"))


def _key(name: str) -> str:
    """How Becky! (on Windows: case-insensitive, any normalization) compares two names."""
    return unicodedata.normalize("NFC", name).casefold()


def read_text(path: Path) -> str | None:
    """A small CP932 text file (Folder.lst, Mailbox.ini) as Unicode (bad bytes replaced); None when
    absent or unreadable. A UTF-8 file (with or without a BOM) is read as UTF-8."""
    try:
        with open_regular(str(path)) as fh:
            data = fh.read(_READ_LIMIT)
    except OSError:
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp932", "replace")


def read_list(path: Path) -> list[str] | None:
    """The entries of a Folder.lst (one directory name a line, in order; blank lines skipped;
    `\\` separators as `/`); None when there is no Folder.lst."""
    text = read_text(path)
    if text is None:
        return None
    return [line.strip().replace("\\", "/").strip("/") for line in text.splitlines() if line.strip()]


def read_ini(path: Path) -> dict[str, dict[str, str]]:
    """A Windows .ini file as {section (casefolded): {key (casefolded): value}}; {} when unreadable.
    The first value of a repeated key wins; lines that are not `key=value` are ignored."""
    text = read_text(path)
    out: dict[str, dict[str, str]] = {}
    section = out.setdefault("", {})
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = out.setdefault(line[1:-1].strip().casefold(), {})
        elif "=" in line and not line.startswith((";", "#")):
            k, _, v = line.partition("=")
            section.setdefault(k.strip().casefold(), v.strip())
    return out


def is_imap_account(ini: dict[str, dict[str, str]]) -> bool:
    """Whether Mailbox.ini describes an IMAP account (whose folders are a local cache of the server):
    an [Account] IMAP server key set to a host, or a `Protocol`/`Type` naming IMAP. Inferred, and
    on purpose narrow: a POP mailbox taken for a cache would not be migrated."""
    account = ini.get("account", {})
    if any(account.get(k, "").strip() for k in IMAP_KEYS):
        return True
    return any(account.get(k, "").strip().casefold() in _IMAP_PROTOCOLS for k in ("protocol", "type"))


def is_mailbox_dir(path: Path) -> bool:
    """A Becky! mailbox directory: named `*.mb`, holding Mailbox.ini or an `!!!!Inbox` folder."""
    if not path.name.lower().endswith(MAILBOX_SUFFIX) or not path.is_dir():
        return False
    return (path / MAILBOX_INI).is_file() or (path / "!!!!Inbox").is_dir() or any(
        _key(disk_name(n.name)) in (_key(MAILBOX_INI), "!!!!inbox") for n in _listing(path))


def is_data_folder(path: Path) -> bool:
    """A Becky! data folder: a directory holding at least one mailbox directory (`*.mb`)."""
    if not path.is_dir():
        return False
    return any(n.kind == "dir" and is_mailbox_dir(Path(n.path)) for n in _listing(path)
               if n.name.lower().endswith(MAILBOX_SUFFIX))


def detect(path: Path) -> bool:
    """A Becky! data folder, or one of its `*.mb` mailbox directories."""
    try:
        return is_mailbox_dir(path) or is_data_folder(path)
    except OSError:
        return False


def _listing(directory: Path) -> list[Node]:
    try:
        return list_dir(str(directory))
    except OSError:
        return []


@dataclass
class Mailbox:
    """One `*.mb` directory: its display name (Mailbox.ini), whether it caches an IMAP account."""

    directory: Path
    dir_name: str  # the directory's name, decoded (a stable key: `4cbbef16.mb`)
    name: str
    imap: bool = False

    def matches(self, wanted: str) -> bool:
        """Whether `--account NAME` designates this mailbox: its name or its directory's name."""
        w = _key(wanted.strip())
        return w in (_key(self.name), _key(self.dir_name), _key(self.dir_name[: -len(MAILBOX_SUFFIX)]))


def read_mailbox(directory: Path) -> Mailbox:
    """The mailbox in `directory`: name from Mailbox.ini `[Account] Name=` (else the directory's
    name without `.mb`), IMAP or not (is_imap_account)."""
    dir_name = disk_name(directory.name)
    ini = read_ini(directory / MAILBOX_INI)
    name = ini.get("account", {}).get("name", "").strip() or dir_name[: -len(MAILBOX_SUFFIX)] or dir_name
    return Mailbox(directory, dir_name, name, is_imap_account(ini))


def find_mailboxes(root: Path) -> list[Mailbox]:
    """The mailboxes of a data folder in Becky!'s order (its Folder.lst, the default first, then
    the others by name), or the one mailbox `root` is."""
    if is_mailbox_dir(root) and not is_data_folder(root):
        return [read_mailbox(root)]
    dirs = [n for n in _listing(root) if n.kind == "dir" and n.name.lower().endswith(MAILBOX_SUFFIX)
            and is_mailbox_dir(Path(n.path))]
    ordered = _in_list_order(dirs, read_list(root / FOLDER_LIST))
    return [read_mailbox(Path(n.path)) for n in ordered]


def _in_list_order(nodes: list[Node], listed: list[str] | None, level: int = -1) -> list[Node]:
    """`nodes` in Folder.lst order, then those it does not name, by name. An entry is matched by
    its `level`-th `/`-separated part: the last for the data folder's list of mailboxes (a path to
    each), the first for a folder's list (a subfolder's own subfolders may be listed as `a/b`)."""
    by_key = {_key(disk_name(n.name)): n for n in nodes}
    out: list[Node] = []
    for entry in listed or []:
        node = by_key.pop(_key(entry.split("/")[level]), None)
        if node is not None:
            out.append(node)
    return out + sorted(by_key.values(), key=lambda n: _key(disk_name(n.name)))


@dataclass(frozen=True)
class FolderDir:
    """One folder of a mailbox: its directory, its path of decoded directory names below the mailbox
    (`rel`, the stable key), its display path and the role Becky! gives it."""

    directory: Path
    rel: tuple[str, ...]
    display: tuple[str, ...]
    role: str | None = None


def display_name(name: str) -> str:
    """A folder directory's name as Becky! shows it: without its leading `!` sort keys."""
    return name.lstrip("!") or name


@dataclass
class _FolderWalk:
    walk: Walk = field(default_factory=Walk)
    out: list[FolderDir] = field(default_factory=list)


def walk_folders(mailbox: Mailbox, warn: Callable[[str], None]) -> list[FolderDir]:
    """Every folder of a mailbox, parents before children, each level in its Folder.lst order then
    the directories it does not list (by name): a directory of mail is never left out. Directories
    starting with `#` (`#Attach`) are not folders. A Folder.lst entry with no directory is told."""
    state = _FolderWalk()
    root = Node(mailbox.directory.name, str(mailbox.directory), "dir")
    try:
        st = os.stat(mailbox.directory)
        state.walk.first_visit(root._replace(dev_ino=(st.st_dev, st.st_ino)))
    except OSError:
        pass
    _walk(mailbox.directory, (), (), state, warn, top=True)
    return state.out


def _walk(directory: Path, rel: tuple[str, ...], display: tuple[str, ...], state: _FolderWalk,
          warn: Callable[[str], None], top: bool, inherited: list[str] | None = None) -> None:
    """One level: its Folder.lst (else the entries its parent's list gave for it, `a/b` lines)."""
    try:
        nodes = list_dir(str(directory))
    except OSError as exc:
        warn(_("{path}: cannot be listed ({reason}); its subfolders are not read").format(
            path=shown(directory), reason=exc.strerror))
        return
    dirs = [n for n in nodes if n.kind == "dir" and not n.name.startswith("#")]
    own = read_list(directory / FOLDER_LIST)
    listed = own if own is not None else inherited
    names = {_key(disk_name(n.name)) for n in dirs}
    for entry in own or []:
        if _key(entry.split("/")[0]) not in names:
            warn(_("{path}: Folder.lst names {entry}, which is not there").format(path=shown(directory),
                                                                                 entry=repr(entry)))
    for n in nodes:
        if n.kind == "problem" and not n.name.startswith("#"):
            warn(_("{path}: {reason}; not read").format(path=shown(n.path), reason=n.reason))
    for node in _in_list_order(dirs, listed, level=0):
        name = disk_name(node.name)
        special = SPECIAL_FOLDERS.get(display_name(name).casefold()) if top and name.startswith("!") else None
        role, label = special if special else (None, display_name(name))
        child_rel, child_display = rel + (name,), display + (label,)
        path = Path(node.path)
        seen = state.walk.first_visit(node)
        if seen is not None:
            warn(_("{path}: the same directory as {other} (a link): read once").format(path=shown(path),
                                                                                      other=shown(seen)))
            continue
        state.out.append(FolderDir(path, child_rel, child_display, role))
        below = [e.split("/", 1)[1] for e in listed or [] if "/" in e and _key(e.split("/", 1)[0]) == _key(name)]
        _walk(path, child_rel, child_display, state, warn, top=False, inherited=below or None)
