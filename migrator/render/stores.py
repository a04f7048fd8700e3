"""The listing of `migrate sources`: Thunderbird profiles and their accounts, as text."""

from __future__ import annotations

import re
from pathlib import Path

from migrator.domain.units import human_bytes
from migrator.render.terminal import pad_text, text_width
from migrator.sources.discovery import StoreInfo


def render_stores(stores: list[StoreInfo]) -> str:
    """A human-readable listing of the profiles and their accounts, for `migrate sources`."""
    if not stores:
        return ("No Thunderbird profile found (looked in ~/.thunderbird, its Flatpak and Snap places, "
                "~/Library/Thunderbird and %APPDATA%\\Thunderbird).\n"
                "Give the path of a profile, an mbox file, a Maildir or a .pst file: migrate sources PATH")
    out: list[str] = []
    for s in stores:
        head = f"Thunderbird profile {s.name!r}{' (default)' if s.default else ''}: {s.path}"
        out.append(head)
        rows = [("ACCOUNT", "TYPE", "SERVER", "STORE", "MESSAGES", "SIZE", "MIGRATED")]
        for a in s.accounts:
            server = "-" if a.type in ("none", "rss") else (
                f"{a.user}@{a.host}" if a.user and a.host else (a.host or "-"))
            counts = f"{a.messages:,}" + (f" (+{a.deleted:,} deleted)" if a.deleted else "")
            rows.append((a.name, a.type, server, a.store, counts, human_bytes(a.bytes),
                         ("yes: " if a.migrated_by_default else "no: ") + a.reason))
        if len(rows) > 1:
            widths = [max(text_width(r[i]) for r in rows) for i in range(6)]
            for r in rows:
                out.append("  " + "  ".join(pad_text(r[i], widths[i]) for i in range(6)) + "  " + r[6])
            out.append(f"  migrated by default: {s.messages:,} message{'' if s.messages == 1 else 's'}, "
                       f"{human_bytes(s.bytes)}"
                       f"  →  migrate run {_quote(s.path)} --target …")
        elif s.exists:
            out.append("  no accounts found")
        for note in s.notes:
            out.append(f"  note: {note}")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _quote(path: Path) -> str:
    text = str(path)
    return f'"{text}"' if re.search(r"[\s'\"$`\\]", text) else text
