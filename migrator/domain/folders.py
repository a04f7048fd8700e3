"""(pure) Source folder → target folder name: roles to special-use folders, paths joined with the
server's delimiter. Names are Unicode here; the target encodes them in modified UTF-7."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from migrator.domain.records import (
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
        """The server folder for a role: INBOX for the inbox, the RFC 6154 special-use folder the
        server marks for it, else an existing folder with one of the role's usual names (any case),
        else the first usual name (FALLBACK_NAMES); None for the archive without \\Archive (it keeps
        the source's own name) and for a role with no usual name."""
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


# The longest folder name part we create, in bytes of its modified UTF-7 form (RFC 3501 5.1.3):
# Dovecot refuses a level over 255 bytes (a file name), Maildir++ a whole name over about 250
# (all levels are one directory name there); 200 leaves room for the suffixes added below.
MAX_NAME_BYTES = 200


@dataclass(frozen=True)
class Mapped:
    """Where one source folder goes. `why` says why the name differs from the source's own
    ("" when it does not, or when only a role decided it: `Sent Items` -> `Sent`)."""

    target: str
    why: str = ""


def clean_component(component: str, delimiter: str) -> tuple[str, list[str]]:
    """(name, reasons): one level of a source folder's path made into a name servers accept.

    Rules (each adds its reason): control characters (Unicode Cc) -> '_' (Dovecot: "Control
    characters not allowed"); spaces at both ends removed; an empty name -> '_'; the server's
    hierarchy delimiter -> '_'; '/' -> '_' on a '.'-delimited server (Maildir++, Courier); a level
    of only dots ('.', '..') -> '_' per dot; a leading '~' -> '_' (Dovecot: "Begins with '~'").
    Pure and deterministic: plan, run and verify compute the same name."""
    reasons: list[str] = []
    out = "".join("_" if unicodedata.category(c) == "Cc" else c for c in component)
    if out != component:
        reasons.append("control characters replaced")
    stripped = out.strip()
    if stripped != out and stripped:
        reasons.append("spaces at the ends removed")
    out = stripped
    if not out:
        reasons.append("empty name")
        out = "_"
    if delimiter and delimiter in out:
        reasons.append(f"{delimiter!r} is the server's hierarchy delimiter")
        out = out.replace(delimiter, "_")
    if delimiter == "." and "/" in out:
        reasons.append("'/' is not allowed in names on this server")
        out = out.replace("/", "_")
    if set(out) == {"."}:
        reasons.append(f"{out!r} is reserved")
        out = "_" * len(out)
    if out.startswith("~"):
        reasons.append("a leading '~' is reserved")
        out = "_" + out[1:]
    return out, reasons


def utf7_length(name: str) -> int:
    """Bytes of `name` in IMAP modified UTF-7 (RFC 3501 section 5.1.3), without encoding it (the
    domain layer does not import the IMAP layer's codec, migrator/imap/utf7.py): printable ASCII
    is 1 byte ("&" is "&-", 2); each run of other characters is "&", its UTF-16BE bytes in
    base64 without padding (4 characters per 3 bytes, rounded up), and "-"."""
    total = 0
    run = 0  # UTF-16BE bytes of the current run of non-ASCII characters
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            if run:
                total += 2 + (run * 4 + 2) // 3
                run = 0
            total += 2 if ch == "&" else 1
        else:
            run += 4 if ord(ch) > 0xFFFF else 2
    if run:
        total += 2 + (run * 4 + 2) // 3
    return total


def shorten(name: str, budget: int = MAX_NAME_BYTES) -> str:
    """`name` cut to at most `budget` bytes of modified UTF-7, ending in '~' and 6 hex digits of
    the SHA-1 of the whole name: readable, unique, the same on every run."""
    from hashlib import sha1

    if utf7_length(name) <= budget:
        return name
    tail = "~" + sha1(name.encode("utf-8")).hexdigest()[:6]
    keep = len(name)
    while keep > 0 and utf7_length(name[:keep].rstrip() + tail) > budget:
        keep -= max(1, (utf7_length(name[:keep] + tail) - budget) // 8)
    return name[:max(keep, 0)].rstrip() + tail


def _clean(component: str, delimiter: str) -> str:
    return clean_component(component, delimiter)[0]


def map_folders(folders: list[Folder], layout: TargetLayout) -> dict[str, str]:
    """{folder.key: target name}. A child follows its parent: `Sent Items/2019` → `Sent/2019`."""
    return {k: m.target for k, m in map_stores([folders], layout)[0].items()}


def map_folder(folder: Folder, layout: TargetLayout) -> str:
    """The target folder name for one source folder (see map_folders for a whole store)."""
    return map_folders([folder], layout)[folder.key]


@dataclass
class _Claim:
    store: int
    index: int
    folder: Folder
    target: str
    reasons: list[str]
    role: str  # "store": a role the store gave; "name": one its name suggests; "": none
    plain: str  # the name without any role mapping
    exact: bool  # the name is the source's own, unchanged


def collision_key(name: str) -> str:
    """Names that one server may take for the same folder: many (Exchange, Gmail, INBOX on every
    server) ignore case, and a name in NFC or NFD looks the same to the user."""
    return unicodedata.normalize("NFC", name).casefold()


def with_suffix(name: str, n: int, delimiter: str) -> str:
    """`Reports` -> `Reports (2)`; only the last level gets the suffix."""
    head, sep, last = name.rpartition(delimiter) if delimiter else ("", "", name)
    return f"{head}{sep}{shorten(last, MAX_NAME_BYTES - 8)} ({n})"


def map_stores(stores: list[list[Folder]], layout: TargetLayout) -> list[dict[str, Mapped]]:
    """For each store (a list of its folders), {folder.key: Mapped}: the target name of every folder,
    with no two folders landing silently in one target folder.

    Merges that are intended: folders playing the same role (Inbox, Sent, ...) land in that role's
    folder (a PST's Sent Items and a 送信済みアイテム mbox, Thunderbird's inboxes of several
    accounts), and so do their same-named subfolders; but not a folder whose own name is another's
    of the same store spelled differently (`Inbox` beside the real inbox, see _keepers). Any other two
    folders whose names a server may take as one (see collision_key: `Reports` and `Reports ` after
    trimming, `chess.com` and `chess_com` on a '.' server, `Work` and `work`, an `Inbox` folder beside
    the real inbox) are kept apart: the first (its name unchanged, then store order) keeps the name,
    the others get a visible suffix (`Reports (2)`). Deterministic: the same stores and server give the same names."""
    claims: list[_Claim] = []
    for si, folders in enumerate(stores):
        roles_by_path: dict[tuple[str, ...], str] = {}
        store_roles: set[tuple[str, ...]] = set()
        for f in folders:
            role = folder_role(f)
            if role in MAPPED_ROLES:
                roles_by_path.setdefault(f.path, role)
                if f.role:
                    store_roles.add(f.path)
        for fi, f in enumerate(folders):
            target, reasons, n = _map(f, layout, roles_by_path)
            plain, _r, _n = _map(f, layout, {}, roles=False)
            role = "" if n == 0 else ("store" if f.path[:n] in store_roles else "name")
            claims.append(_Claim(si, fi, f, target, reasons, role, plain,
                                 not reasons and plain == layout.delimiter.join(f.path)))
    finals: dict[int, str] = {}
    by_path = {(c.store, c.folder.path): i for i, c in enumerate(claims)}
    taken = {collision_key(c.target) for c in claims}
    d = layout.delimiter
    for depth in sorted({len(c.folder.path) for c in claims}):
        level = sorted((i for i, c in enumerate(claims) if len(c.folder.path) == depth),
                       key=lambda i: (claims[i].store, claims[i].folder.path, i))
        for i in level:  # a renamed parent takes its children along
            c = claims[i]
            parent = by_path.get((c.store, c.folder.path[:-1]))
            if parent is not None and parent in finals and finals[parent] != claims[parent].target \
                    and c.target.startswith(claims[parent].target + d):
                c.target = finals[parent] + c.target[len(claims[parent].target):]
                c.plain = c.target if not c.role else c.plain
                c.reasons.append(f"its parent goes to {finals[parent]!r}")
        earlier = {collision_key(name) for name in finals.values()}
        groups: dict[str, list[int]] = {}
        for i in level:
            if collision_key(claims[i].target) in earlier:  # a folder higher up has that name
                finals[i] = _rename(claims[i], None, taken, d)
            else:
                groups.setdefault(collision_key(claims[i].target), []).append(i)
        for members in groups.values():
            members.sort(key=lambda i: (not claims[i].exact, claims[i].role != "store", claims[i].store,
                                         claims[i].folder.path, claims[i].index))  # not the listing order
            keepers = _keepers([claims[i] for i in members])
            winner = next(c for c in (claims[i] for i in members) if id(c) in keepers)
            for i in members:
                c = claims[i]
                finals[i] = c.target if id(c) in keepers else _rename(c, winner, taken, d)
    out: list[dict[str, Mapped]] = [{} for _ in stores]
    claimed = {collision_key(name) for name in finals.values()}
    for i, c in enumerate(claims):
        name = existing_spelling(finals[i], layout)
        if name != finals[i] and collision_key(name) in claimed:  # that spelling is another folder's
            name = finals[i]
        out[c.store][c.folder.key] = Mapped(name, "; ".join(dict.fromkeys(c.reasons)))
    return out


def _keepers(members: list[_Claim]) -> set[int]:
    """ids of the claims (sorted, best first) that keep a contested name: the intended merges.

    Without a role, only the first. Folders that reach a role folder all keep it (Outlook's `Sent
    Items` and a `送信済みアイテム` both go to `Sent`), except a folder whose own name is another's
    of the same store spelled differently (an `Inbox` folder beside the store's real inbox): two
    folders with the store's role (Thunderbird's inboxes of several accounts) still merge."""
    roles = [c for c in members if c.role]
    if not roles:
        return {id(members[0])}
    keep: set[int] = set()
    for c in roles:
        if not any(k.store == c.store and collision_key(k.plain) == collision_key(c.plain)
                   and not (k.role == "store" and c.role == "store")
                   for k in (m for m in roles if id(m) in keep)):
            keep.add(id(c))
    return keep


def _rename(c: _Claim, winner: _Claim | None, taken: set[str], delimiter: str) -> str:
    """A distinct name for a claim that lost its name: its own name without a role when that is
    free, else the lowest free `name (N)`, N >= 2. Adds the reason."""
    base = c.plain if c.role else c.target
    other = f"source folder {winner.folder.display!r}" if winner is not None else "another source folder"
    if c.role and collision_key(base) not in taken:
        c.reasons.append(f"{c.target!r} is taken by {other}")
        taken.add(collision_key(base))
        return base
    n = 2
    while collision_key(with_suffix(base, n, delimiter)) in taken:
        n += 1
    name = with_suffix(base, n, delimiter)
    taken.add(collision_key(name))
    c.reasons.append(f"{c.target!r} is taken by {other}")
    return name


def _map(folder: Folder, layout: TargetLayout, roles_by_path: dict[tuple[str, ...], str],
         roles: bool = True) -> tuple[str, list[str], int]:
    """(target, reasons, n): n levels of the path were replaced by a role folder (0: none)."""
    path = folder.path
    parts: list[str] = []
    rest = path
    used = 0
    # the longest prefix (the folder itself first) that plays a role
    for n in range(len(path), 0, -1) if roles else ():
        role = roles_by_path.get(path[:n])
        if role is None and n == 1:
            role = NAME_ROLES.get(_norm(path[0]))
        mapped = layout.role_folder(role) if role in MAPPED_ROLES else None
        if mapped is not None:
            parts, rest, used = [mapped], path[n:], n
            break
    reasons: list[str] = []
    for p in rest:
        name, why = clean_component(p, layout.delimiter)
        short = shorten(name, MAX_NAME_BYTES)
        if short != name:
            why.append("name too long for the server: shortened")
        parts.append(short)
        reasons += why
    if not parts:
        return "INBOX", reasons, used
    if roles and parts[0].upper() == "INBOX":
        parts[0] = "INBOX"
    name = layout.delimiter.join(parts)
    if layout.delimiter == "." and utf7_length(name) > MAX_NAME_BYTES + 40:
        # Maildir++ keeps every level in one directory name: the whole name has a limit there
        head, _, last = name.rpartition(".")
        room = MAX_NAME_BYTES + 40 - utf7_length(head) - 1
        if room >= 16:
            name = f"{head}.{shorten(last, room)}" if head else shorten(last, room)
            reasons.append("name too long for the server: shortened")
    return name, reasons, used


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
