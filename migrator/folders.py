"""(pure) Source folder → target folder name: roles to special-use folders, paths joined with the
server's delimiter. Names are Unicode here; the target encodes them in modified UTF-7."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from migrator.sources.base import (
    ROLE_ARCHIVE,
    ROLE_DRAFTS,
    ROLE_INBOX,
    ROLE_JUNK,
    ROLE_SENT,
    ROLE_TRASH,
    Folder,
)

# Names a top-level folder has when it plays a role, in the languages our users' clients speak.
NAME_ROLES: dict[str, str] = {}
for _role, _names in {
    ROLE_INBOX: ["inbox", "受信トレイ", "受信箱", "受信", "boîte de réception", "posteingang", "posta in arrivo"],
    ROLE_SENT: ["sent", "sent items", "sent messages", "sent mail", "送信済みアイテム", "送信済み", "送信済みメール",
                "送信済", "éléments envoyés", "gesendete elemente", "posta inviata", "gesendet"],
    ROLE_DRAFTS: ["drafts", "draft", "下書き", "草稿", "brouillons", "entwürfe", "bozze"],
    ROLE_TRASH: ["trash", "deleted items", "deleted messages", "bin", "削除済みアイテム", "ごみ箱", "ゴミ箱",
                 "éléments supprimés", "gelöschte elemente", "posta eliminata", "papierkorb"],
    ROLE_JUNK: ["junk", "spam", "junk e-mail", "junk email", "bulk mail", "迷惑メール", "courrier indésirable",
                "junk-e-mail", "posta indesiderata"],
}.items():
    for _n in _names:
        NAME_ROLES[_n] = _role

# Folder names to look for on servers without SPECIAL-USE, and the name to create otherwise.
FALLBACK_NAMES = {
    ROLE_SENT: ["Sent", "Sent Items", "Sent Messages", "Sent Mail", "INBOX.Sent"],
    ROLE_DRAFTS: ["Drafts", "INBOX.Drafts"],
    ROLE_TRASH: ["Trash", "Deleted Items", "Deleted Messages", "INBOX.Trash"],
    ROLE_JUNK: ["Junk", "Spam", "Junk E-mail", "INBOX.Junk", "INBOX.Spam"],
}
MAPPED_ROLES = (ROLE_INBOX, ROLE_SENT, ROLE_DRAFTS, ROLE_TRASH, ROLE_JUNK, ROLE_ARCHIVE)


def _norm(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().lower()


def folder_role(folder: Folder) -> str | None:
    """The role the store gave the folder, else the one its top-level name suggests."""
    if folder.role:
        return folder.role
    if len(folder.path) == 1:
        return NAME_ROLES.get(_norm(folder.path[0]))
    return None


@dataclass
class TargetLayout:
    """What the mapper needs to know of the server."""

    delimiter: str = "/"
    special: dict[str, str] = field(default_factory=dict)  # role -> existing folder name
    existing: frozenset[str] = frozenset()

    def role_folder(self, role: str) -> str | None:
        if role == ROLE_INBOX:
            return "INBOX"
        if role in self.special:
            return self.special[role]
        if role == ROLE_ARCHIVE:
            return None  # no \Archive on the server: keep the source's own name
        lower = {name.lower(): name for name in self.existing}
        for candidate in FALLBACK_NAMES.get(role, []):
            if candidate.lower() in lower:
                return lower[candidate.lower()]
        names = FALLBACK_NAMES.get(role)
        return names[0] if names else None


def _clean(component: str, delimiter: str) -> str:
    component = component.strip() or "_"
    return component.replace(delimiter, "_") if delimiter else component


def map_folders(folders: list[Folder], layout: TargetLayout) -> dict[str, str]:
    """{folder.key: target name}. A child follows its parent: `Sent Items/2019` → `Sent/2019`."""
    roles_by_path: dict[tuple[str, ...], str] = {}
    for f in folders:
        role = folder_role(f)
        if role in MAPPED_ROLES:
            roles_by_path.setdefault(f.path, role)
    return {f.key: existing_spelling(_map(f, layout, roles_by_path), layout) for f in folders}


def map_folder(folder: Folder, layout: TargetLayout) -> str:
    """The target folder name for one source folder (see map_folders for a whole store)."""
    return map_folders([folder], layout)[folder.key]


def _map(folder: Folder, layout: TargetLayout, roles_by_path: dict[tuple[str, ...], str]) -> str:
    path = folder.path
    parts: list[str] = []
    rest = path
    # the longest prefix (the folder itself first) that plays a role
    for n in range(len(path), 0, -1):
        role = roles_by_path.get(path[:n])
        if role is None and n == 1:
            role = NAME_ROLES.get(_norm(path[0]))
        mapped = layout.role_folder(role) if role in MAPPED_ROLES else None
        if mapped is not None:
            parts, rest = [mapped], path[n:]
            break
    parts += [_clean(p, layout.delimiter) for p in rest]
    if not parts:
        return "INBOX"
    if parts[0].upper() == "INBOX":
        parts[0] = "INBOX"
    return layout.delimiter.join(parts)


def fallback_names(name: str, delimiter: str) -> list[str]:
    """Other spellings to try when the server refuses a folder name: characters some servers
    reserve ('.' under Maildir++ layouts, '/', '%', '*') replaced by '_' in each component."""
    parts = name.split(delimiter) if delimiter else [name]
    out = []
    for bad in (".", "./%*\\"):
        alt = delimiter.join("".join("_" if c in bad else c for c in p) for p in parts)
        if alt != name and alt not in out:
            out.append(alt)
    return out


def existing_spelling(name: str, layout: TargetLayout) -> str:
    """The name a refused folder was created under by an earlier run, if any."""
    if name in layout.existing:
        return name
    for alt in fallback_names(name, layout.delimiter):
        if alt in layout.existing:
            return alt
    return name
