"""Step 1's view of a mail store: what it holds (folders, messages, size, years), read-only.

The same inventory as `migrate sources` (flows/inventory.py): the stores found in the usual places
of this PC (`discover`, listed without reading the mail: fast), and a store chosen or typed
(`inventory`: opened with the reader `migrate run` would use and counted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from migrator.domain.errors import MigratorError


@dataclass
class StoreView:
    """One store as step 1 lists it. bytes: the messages' sizes as stored (a found store not yet
    counted: its size on disk); years: (oldest, newest) by the INTERNALDATE the migration gives them
    (None: no message, or not counted); error: why it cannot be read; readable: a reader of this
    migrate opens it (a found store may be known by its marks only)."""

    path: Path
    kind: str = ""
    name: str = ""
    folders: int = 0
    messages: int = 0
    bytes: int = 0
    years: tuple[int, int] | None = None
    error: str = ""
    hint: str = ""
    notes: list[str] = field(default_factory=list)
    place: str = ""
    readable: bool = True


def describe(path: Path) -> StoreView:
    """Open `path` read-only and count what it holds (flows/inventory.py `inventory`); never raises
    for a store it cannot read (the view carries the error and its hint)."""
    from migrator.flows.inventory import inventory

    view = StoreView(path=path, name=path.name or str(path))
    try:
        inv = inventory([path]).stores[0]
    except MigratorError as exc:
        view.error, view.hint = exc.message, exc.hint or ""
        return view
    except OSError as exc:
        view.error = f"{path}: {exc.strerror or exc}"
        return view
    view.kind, view.folders = inv.kind, len(inv.folders)
    view.messages, view.bytes = inv.messages or 0, inv.bytes or 0
    if inv.oldest_year is not None and inv.newest_year is not None:
        view.years = (inv.oldest_year, inv.newest_year)
    view.notes = list(inv.warnings)
    return view


def found_on_this_pc() -> list[StoreView]:
    """The stores `migrate sources` finds in the usual places of this PC (Outlook, Thunderbird,
    Becky!, Windows Live Mail, Apple Mail, ...), listed without reading their mail (fast)."""
    from migrator.flows.inventory import discover

    return [StoreView(path=Path(s.path), kind=s.kind, name=s.name, messages=s.messages or 0, bytes=s.bytes or 0,
                      notes=list(s.notes), place=s.place, readable=s.readable)
            for s in discover(count=False).stores]
