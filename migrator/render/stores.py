"""The listing of `migrate sources`: Thunderbird profiles and their accounts, as text."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from migrator.sources.discovery import StoreInfo


def human_size(n: int) -> str:
    """A byte count for people: `512 B`, `1.5 KB`, `3.2 MB`, `1.1 GB` (binary units, 1 KB = 1024 bytes)."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


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
            counts = f"{a.messages}" + (f" (+{a.deleted} deleted)" if a.deleted else "")
            rows.append((a.name, a.type, server, a.store, counts, human_size(a.bytes),
                         ("yes: " if a.migrated_by_default else "no: ") + a.reason))
        if len(rows) > 1:
            widths = [max(_width(r[i]) for r in rows) for i in range(6)]
            for r in rows:
                out.append("  " + "  ".join(_pad(r[i], widths[i]) for i in range(6)) + "  " + r[6])
            out.append(f"  migrated by default: {s.messages} message{'' if s.messages == 1 else 's'}, "
                       f"{human_size(s.bytes)}"
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
