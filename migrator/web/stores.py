"""Step 1's view of a mail store: what it holds (folders, messages, size, years), read-only.

The stores found on this PC come from the same discovery as `migrate sources`
(sources/discovery.py `find_stores`); a typed path is opened with the same reader `migrate run`
would use (sources `open_source`) and counted through the `Source` contract only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from migrator.domain.errors import MigratorError


@dataclass
class StoreView:
    """One store as step 1 lists it. bytes: the messages' sizes as stored; years: (oldest, newest)
    by the INTERNALDATE the migration gives them (None: no message); error: why it cannot be read."""

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


def describe(path: Path) -> StoreView:
    """Open `path` read-only and count what it holds; never raises for a store it cannot read (the
    view carries the error and its hint)."""
    from migrator.sources import detect_kind, open_source

    view = StoreView(path=path, name=path.name or str(path))
    try:
        view.kind = detect_kind(path)
        source = open_source(path)
    except MigratorError as exc:
        view.error, view.hint = exc.message, exc.hint or ""
        return view
    except OSError as exc:
        view.error = f"{path}: {exc.strerror or exc}"
        return view
    try:
        low, high = 9999, 0
        for folder in source.folders():
            view.folders += 1
            for rec in source.messages(folder):
                if rec.skip_reason or rec.error:
                    continue
                view.messages += 1
                view.bytes += rec.size
                low, high = min(low, rec.date.year), max(high, rec.date.year)
        view.years = (low, high) if high else None
    except MigratorError as exc:
        view.error, view.hint = exc.message, exc.hint or ""
    finally:
        source.close()
    return view


def found_on_this_pc() -> list[StoreView]:
    """The stores `migrate sources` finds in the usual places (Thunderbird profiles ...), counted."""
    from migrator.sources.discovery import find_stores

    out: list[StoreView] = []
    for s in find_stores(count=True):
        years = None
        out.append(StoreView(path=s.path, kind=s.kind, name=s.name, folders=sum(1 for a in s.accounts),
                             messages=s.messages, bytes=s.bytes, years=years, notes=list(s.notes)))
    return out
