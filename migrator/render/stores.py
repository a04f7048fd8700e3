"""`migrate sources`: what a store holds (Inventory) and what was found on this machine
(Discovery, and the older Thunderbird-only listing), as text that fits 80 columns."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from migrator.domain.i18n import N_, _, ngettext
from migrator.domain.models import Discovery, FolderInventory, Inventory, StoreInventory
from migrator.domain.units import count, human_bytes
from migrator.render.width import pad_text, text_width
from migrator.sources.discovery import StoreInfo

WIDTH = 80  # columns every table here fits in
KIND_NAMES = {
    "mbox": N_("mbox"), "maildir": N_("Maildir"), "thunderbird": N_("Thunderbird profile"),
    "pst": N_("Outlook data file (.pst)"), "ost": N_("Outlook offline file (.ost)"), "becky": N_("Becky! data folder"),
    "emltree": N_(".eml folder tree"), "eml": N_(".eml folder tree"),
    "windows-live-mail": N_("Windows Live Mail store"), "windows-mail": N_("Windows Mail store"),
    "apple-mail": N_("Apple Mail folder"), "emlx": N_("Apple Mail folder"), "dbx": N_("Outlook Express folder (.dbx)"),
    "imap": N_("IMAP server"), "pop3": N_("POP3 server"), "evolution": N_("Evolution mail folder"),
}

ROLE_NAMES = {"inbox": N_("inbox"), "sent": N_("sent"), "drafts": N_("drafts"), "trash": N_("trash"),
              "junk": N_("junk"), "outbox": N_("outbox"), "archive": N_("archive"), "templates": N_("templates")}


def role_name(role: str | None) -> str:
    """A folder role (records.ROLES) as a person reads it; "" for none."""
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else (role or "")


def kind_name(kind: str) -> str:
    """What a person calls a store of `kind` (Source.kind or a discovery kind); the kind itself when unknown."""
    return _(KIND_NAMES[kind]) if kind in KIND_NAMES else kind


def clip(text: str, width: int) -> str:
    """`text` cut to at most `width` terminal columns (wide characters count 2), ending in `...`."""
    if text_width(text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > width - 3:
            break
        out, used = out + ch, used + w
    return out + "..."


def years(oldest: int | None, newest: int | None) -> str:
    """"2019-2024", "2020" or "-" (no dated message)."""
    if oldest is None or newest is None:
        return "-"
    return str(oldest) if oldest == newest else f"{oldest}-{newest}"


def _num(n: int | None) -> str:
    return "-" if n is None else count(n)


def _deleted(n: int) -> str:
    """" (+2 deleted)": deleted in Thunderbird, not compacted yet (never migrated); "" for none."""
    return " " + _("(+{n} deleted)").format(n=count(n)) if n else ""


def _size(n: int | None) -> str:
    return "-" if n is None else human_bytes(n)


def _folder_rows(store: StoreInventory) -> list[list[str]]:
    rows = []
    for f in store.folders:
        approx = "~" if f.estimated else ""
        rows.append([f.folder, role_name(f.role), f.target, approx + _num(f.messages), approx + _size(f.bytes),
                     years(f.oldest_year, f.newest_year)])
    return rows


def narrow_table(headers: list[str], rows: list[list[str]], right: set[int], squeeze: tuple[int, ...],
                 width: int = WIDTH, indent: str = "  ") -> list[str]:
    """Rows under headers, cells padded by display width; the columns in `squeeze` are cut (longest
    first) until a line fits `width` columns."""
    widths = [max([text_width(h)] + [text_width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    budget = width - len(indent) - 2 * (len(headers) - 1)
    while sum(widths) > budget:
        i = max(squeeze, key=lambda k: widths[k])
        if widths[i] <= max(8, text_width(headers[i])):
            break
        widths[i] -= 1
    out = [indent + "  ".join(pad_text(h, widths[i], i in right) for i, h in enumerate(headers)).rstrip()]
    for r in rows:
        cells = [pad_text(clip(c, widths[i]), widths[i], i in right) for i, c in enumerate(r)]
        out.append(indent + "  ".join(cells).rstrip())
    return out


def render_inventory(inv: Inventory) -> str:
    """`migrate sources PATH...`: per store its kind and path, one line per folder (folder, role,
    target folder, messages, size, years), the store's totals and the command that migrates it."""
    out: list[str] = []
    for s in inv.stores:
        head = _("{kind}: {path}").format(kind=kind_name(s.kind), path=s.path)
        if s.root != s.path and s.kind == "thunderbird":
            head += " " + _("(profile {path})").format(path=s.root)
        out.append(head)
        rows = _folder_rows(s)
        if rows:
            out += narrow_table([_("FOLDER"), _("ROLE"), _("TO"), _("MESSAGES"), _("SIZE"), _("YEARS")], rows, {3, 4},
                                (0, 2))
        else:
            out.append("  " + _("no folders"))
        n = len(s.folders)
        folders = ngettext("{n} folder", "{n} folders", n).format(n=count(n))
        if s.counted:
            line = "  " + _("total: {folders}, {messages}, {size}, years {years}").format(
                folders=folders, messages=ngettext("{n} message", "{n} messages", s.messages or 0).format(
                    n=_num(s.messages)), size=_size(s.bytes), years=years(s.oldest_year, s.newest_year))
            extras = []
            if s.skipped:
                extras.append(_("{n} not migrated (deleted, not mail)").format(n=count(s.skipped)))
            if s.unreadable:
                extras.append(_("{n} unreadable").format(n=count(s.unreadable)))
            out.append(line + ("; " + ", ".join(extras) if extras else ""))
        elif s.estimated:
            out.append("  " + _("total: {folders}, about {messages}, {size} (a quick count: --no-count)").format(
                folders=folders, messages=ngettext("{n} message", "{n} messages", s.messages or 0).format(
                    n=_num(s.messages)), size=_size(s.bytes)))
        else:
            out.append("  " + _("total: {folders} (messages not counted: --no-count)").format(folders=folders))
        for w in s.warnings:
            out.append("  " + _("note: {text}").format(text=w))
        out.append("  " + _("to migrate it: {command}").format(command=s.command))
        out.append("")
    if len(inv.stores) > 1 and inv.counted:
        out.append(_("all stores: {messages}, {size}").format(
            messages=ngettext("{n} message", "{n} messages", inv.messages or 0).format(n=_num(inv.messages)),
            size=_size(inv.bytes)))
    return "\n".join(out).rstrip("\n") + "\n"


def render_discovery(found: Discovery) -> str:
    """`migrate sources` without a PATH: each store found (kind, path, messages and size when
    counted, notes) with the command that migrates it; where it looked when nothing was found."""
    out: list[str] = []
    if not found.stores:
        out.append(_("No mail store found in the usual places of this {system} computer.").format(
            system=_system(found.platform)))
        out.append(_("Looked in:"))
        out += ["  " + p for p in found.looked_in]
        out.append(_("Give a path: migrate sources PATH (an mbox file, a Maildir, a Thunderbird profile, "
                     "a .pst file, ...)"))
        return "\n".join(out) + "\n"
    out.append(_("Mail stores found on this computer ({n}):").format(n=len(found.stores)))
    out.append("")
    for s in found.stores:
        head = kind_name(s.kind) + (f" {s.name!r}" if s.name and s.kind == "thunderbird" else "")
        out.append(head + (" " + _("(default)") if s.default else "") + ": " + s.path)
        figures = []
        if s.messages is not None:
            figures.append(ngettext("{n} message", "{n} messages", s.messages).format(n=count(s.messages)))
        if s.bytes is not None:
            figures.append(human_bytes(s.bytes) if s.messages is not None
                           else _("{size} on disk").format(size=human_bytes(s.bytes)))
        if figures:
            out.append("  " + ", ".join(figures))
        if s.accounts:
            rows = [[a.name, a.type, a.server or "-", _num(a.messages) + _deleted(a.deleted), _size(a.bytes),
                     _("yes") if a.migrated else _("no")] for a in s.accounts]
            out += narrow_table([_("ACCOUNT"), _("TYPE"), _("SERVER"), _("MESSAGES"), _("SIZE"), _("MIGRATED")], rows,
                                {3, 4}, (0, 2))
            out += ["  " + _("not migrated: {account}: {reason}").format(account=a.name, reason=a.reason)
                    for a in s.accounts if not a.migrated]
        out += ["  " + _("note: {text}").format(text=n) for n in s.notes]
        out.append("  " + _("to migrate it: {command}").format(command=s.command))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _system(platform: str) -> str:
    return {"windows": "Windows", "macos": "macOS", "linux": "Linux"}.get(platform, platform)  # names: not translated


def render_folder(f: FolderInventory) -> str:
    """One folder as one line (for logs and the web app's plain text)."""
    return _("{folder} -> {target}: {messages}, {size}, {years}").format(
        folder=f.folder, target=f.target,
        messages=ngettext("{n} message", "{n} messages", f.messages or 0).format(n=_num(f.messages)),
        size=_size(f.bytes), years=years(f.oldest_year, f.newest_year))


def render_stores(stores: list[StoreInfo]) -> str:
    """A human-readable listing of the profiles and their accounts, for `migrate sources`."""
    if not stores:
        return (_("No Thunderbird profile found (looked in ~/.thunderbird, its Flatpak and Snap places, "
                  "~/Library/Thunderbird and %APPDATA%\\Thunderbird).") + "\n"
                + _("Give the path of a profile, an mbox file, a Maildir or a .pst file: migrate sources PATH"))
    out: list[str] = []
    for s in stores:
        head = _("Thunderbird profile {name}").format(name=repr(s.name)) + (" " + _("(default)") if s.default else "")
        out.append(head + ": " + str(s.path))
        out += account_lines(s)
        if not s.accounts and s.exists:
            out.append("  " + _("no accounts found"))
        if s.accounts:
            out.append("  " + _("migrated by default: {messages}, {size}  ->  migrate run {path} --target ...").format(
                messages=ngettext("{n} message", "{n} messages", s.messages).format(n=count(s.messages)),
                size=human_bytes(s.bytes), path=_quote(s.path)))
        for note in s.notes:
            out.append("  " + _("note: {text}").format(text=note))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def account_lines(s: StoreInfo) -> list[str]:
    """A Thunderbird profile's accounts as table lines (ACCOUNT, TYPE, SERVER, STORE, MESSAGES, SIZE,
    MIGRATED), within 80 columns; none when it has no accounts."""
    rows = []
    for a in s.accounts:
        server = "-" if a.type in ("none", "rss") else (
            f"{a.user}@{a.host}" if a.user and a.host else (a.host or "-"))
        counts = count(a.messages) + _deleted(a.deleted)
        rows.append([a.name, a.type, server, a.store, counts, human_bytes(a.bytes),
                     (_("yes: {reason}") if a.migrated_by_default else _("no: {reason}")).format(reason=a.reason)])
    if not rows:
        return []
    return narrow_table([_("ACCOUNT"), _("TYPE"), _("SERVER"), _("STORE"), _("MESSAGES"), _("SIZE"), _("MIGRATED")],
                        rows, {4, 5}, (6, 0, 2), width=200)


def _quote(path: Path) -> str:
    text = str(path)
    return f'"{text}"' if re.search(r"[\s'\"$`\\]", text) else text
