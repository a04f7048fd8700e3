"""What a mail store holds (`migrate sources PATH`): kind, folders with their role and target
name, messages, size and years, per folder and in total. Read-only; never connects.

Every store goes through `sources.open_source` and the `Source` contract only (folders(),
messages(), warnings, kind, root): a new reader is described the day it is registered in
`open_source`, with no code here. The model (domain/models.py `Inventory`) is what the CLI
renders (render/stores.py), dumps as `--json`, and what the web app and the batch runner show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from migrator.domain.errors import MigratorError
from migrator.domain.events import Done, EventSink, FolderDone, FolderStarted, MessageSettled, PhaseStarted, emit
from migrator.domain.filters import Scope
from migrator.domain.folders import TargetLayout, folder_role, map_stores
from migrator.domain.i18n import _
from migrator.domain.models import Discovery, FolderInventory, FoundStore, Inventory, StoreAccount, StoreInventory
from migrator.domain.records import Folder
from migrator.flows.progress import estimate_of
from migrator.sources import open_source
from migrator.sources.base import Source
from migrator.sources.discovery import StoreInfo, find_stores
from migrator.sources.places import Found, disk_bytes, find_places

RUN_TARGET_PLACEHOLDER = "imaps://USER@HOST"


def shell_quote(text: str) -> str:
    """`text` as one shell word that pastes on Windows (cmd, PowerShell) and POSIX shells alike:
    double quotes when it holds a space or a shell character, else as is."""
    if text and not any(ch in text for ch in " \t'\"$`\\&|;<>()*?!#%^"):
        return text
    return '"' + text.replace('"', '\\"') + '"'


def run_command(path: str, target: str = RUN_TARGET_PLACEHOLDER) -> str:
    """The command that migrates the store at `path`."""
    return f"migrate run {shell_quote(path)} --target {target}"


def count_folder(source: Source, folder: Folder, fi: FolderInventory, by_year: dict[str, list[int]],
                 scope: Scope | None = None, on_event: EventSink | None = None) -> None:
    """Read the folder's messages once and fill `fi`'s counts (messages, bytes as stored, skipped,
    unreadable, year range) and `by_year` ("YYYY" -> [messages, bytes]). With a `scope`, messages it
    filters out (--since/--until/--max-size) are counted as skipped. Keeps no message in memory."""
    messages = size = skipped = unreadable = 0
    years: list[int] = []
    for rec in source.messages(folder):
        if rec.error is not None:
            unreadable += 1
            continue
        if rec.skip_reason is not None or (scope is not None and scope.message_reason(rec.date, rec.size)):
            skipped += 1
            continue
        messages += 1
        n = rec.size
        size += n
        year = rec.date.year
        years.append(year)
        slot = by_year.setdefault(str(year), [0, 0])
        slot[0] += 1
        slot[1] += n
        emit(on_event, MessageSettled(folder.display, "read", n))
        rec.raw = b""
    fi.messages, fi.bytes, fi.skipped, fi.unreadable = messages, size, skipped, unreadable
    if years:
        fi.oldest_year, fi.newest_year = min(years), max(years)


def _total(store: StoreInventory) -> None:
    counted = [f for f in store.folders if f.messages is not None]
    if not store.counted:
        if store.folders and len(counted) == len(store.folders):  # every folder has a cheap count
            store.messages, store.estimated = sum(f.messages or 0 for f in counted), True
            store.bytes = None if any(f.bytes is None for f in counted) else sum(f.bytes or 0 for f in counted)
        return
    store.messages = sum(f.messages or 0 for f in counted)
    store.bytes = sum(f.bytes or 0 for f in counted)
    store.skipped = sum(f.skipped or 0 for f in counted)
    store.unreadable = sum(f.unreadable or 0 for f in counted)
    olds = [f.oldest_year for f in counted if f.oldest_year is not None]
    news = [f.newest_year for f in counted if f.newest_year is not None]
    store.oldest_year = min(olds) if olds else None
    store.newest_year = max(news) if news else None


def describe_sources(sources: list[tuple[str, Source]], *, count: bool = True, scope: Scope | None = None,
                     on_event: EventSink | None = None) -> Inventory:
    """The inventory of opened stores ((the path as given, its Source) pairs), in order. Target names
    come from domain/folders.py over all stores at once (as `run` maps them, for a server with no
    special-use folders yet: '/' delimiter). `count=False` lists folders without reading the mail.
    Emits a reading phase (FolderStarted, MessageSettled "read", FolderDone, Done) to `on_event`."""
    layout = TargetLayout()
    folder_lists = [src.folders() for _p, src in sources]
    names = map_stores(folder_lists, layout)
    inv = Inventory(counted=count)
    if count:
        emit(on_event, PhaseStarted("reading"))
    for (given, src), folders, mapped in zip(sources, folder_lists, names, strict=True):
        store = StoreInventory(path=given, kind=src.kind, root=str(src.root), counted=count,
                               command=run_command(given))
        for f in folders:
            fi = FolderInventory(folder=f.display, role=folder_role(f), target=mapped[f.key].target)
            if count:
                emit(on_event, FolderStarted(f.display, fi.target))
                count_folder(src, f, fi, store.by_year, scope, on_event)
                emit(on_event, FolderDone(f.display))
            else:
                est = estimate_of(src, f)
                if est is not None and est.messages is not None:
                    fi.messages, fi.bytes, fi.estimated = est.messages, est.bytes, True
            store.folders.append(fi)
        store.by_year = dict(sorted(store.by_year.items()))
        _total(store)
        store.warnings = list(dict.fromkeys(src.warnings))
        inv.stores.append(store)
    if count:
        inv.messages = sum(s.messages or 0 for s in inv.stores)
        inv.bytes = sum(s.bytes or 0 for s in inv.stores)
        emit(on_event, Done())
    return inv


def inventory(paths: list[str] | list[Path], *, count: bool = True, scope: Scope | None = None,
              on_event: EventSink | None = None, opener: Callable[[Any], Source] = open_source) -> Inventory:
    """`migrate sources PATH...`: open each store read-only (sources.open_source: any store migrate
    reads; a `scheme://` source such as an IMAP or POP3 URL is handed on as written, a path with `~`
    expanded), describe it (describe_sources), close it. SourceError (exit 2) for a path that is no store."""
    opened: list[tuple[str, Source]] = []
    try:
        for p in paths:
            text = str(p)
            opened.append((text, opener(text if "://" in text else Path(text).expanduser())))
        return describe_sources(opened, count=count, scope=scope, on_event=on_event)
    finally:
        for _p, src in opened:
            src.close()


# ---------------------------------------------------------------- `migrate sources` without a PATH


def _thunderbird(info: StoreInfo, count: bool) -> FoundStore:
    counted = count and bool(info.accounts)
    store = FoundStore(kind="thunderbird", name=info.name, path=str(info.path), default=info.default,
                       place=str(info.profiles_ini.parent) if info.profiles_ini else "",
                       messages=info.messages if counted else None, bytes=info.bytes if counted else None,
                       readable=info.exists and any(a.migrated_by_default for a in info.accounts),
                       command=run_command(str(info.path)), notes=list(info.notes))
    for a in info.accounts:
        server = "" if a.type in ("none", "rss") else (f"{a.user}@{a.host}" if a.user and a.host else a.host or "")
        store.accounts.append(StoreAccount(name=a.name, type=a.type, server=server, store=a.store,
                                           messages=a.messages if count else None, deleted=a.deleted,
                                           bytes=a.bytes if count else None, migrated=a.migrated_by_default,
                                           reason=a.reason))
    return store


def _found(f: Found, count: bool, opener: Callable[[Any], Source], on_event: EventSink | None = None) -> FoundStore:
    store = FoundStore(kind=f.kind, name="", path=str(f.path), place=f.place, notes=list(f.notes),
                       command=run_command(str(f.path)))
    try:
        src = opener(f.path)
    except MigratorError as exc:  # found by its marks; this version has no reader for it, or it is damaged
        store.readable = False
        store.notes.append(_("migrate cannot open it: {reason}").format(reason=exc.message))
        store.bytes = disk_bytes(f.path)
        return store
    try:
        inner = None if on_event is None else (  # discover's own phase: not one per store
            lambda e: None if isinstance(e, (PhaseStarted, Done)) else on_event(e))
        one = describe_sources([(str(f.path), src)], count=count, on_event=inner).stores[0]
        store.messages, store.bytes = one.messages, one.bytes  # without count: the reader's cheap count
        store.notes += one.warnings
        if store.bytes is None:
            store.bytes = disk_bytes(f.path)
    finally:
        src.close()
    return store


def discover(home: Path | None = None, env: Mapping[str, str] | None = None, platform: str | None = None,
             root: Path | None = None, *, count: bool = True, on_event: EventSink | None = None,
             opener: Callable[[Any], Source] = open_source) -> Discovery:
    """`migrate sources` without a PATH: the stores in the usual places of `platform` (windows, macos,
    linux; default this system) under `home` and `env` (default this user's; tests give a fake home),
    Outlook files first, then Thunderbird profiles, then the rest (sources/places.py). Each store
    found is opened with `opener` (sources.open_source): when it opens, its messages and size are
    counted (`count`; else the size on disk); when it does not, it is listed with the reason."""
    from migrator.sources.places import this_platform

    platform = platform or this_platform()
    home = home if home is not None else Path.home()
    found, looked = find_places(home, env, platform, root)
    out = Discovery(platform=platform, home=str(home), looked_in=[p.label for p in looked])
    out.looked_in.insert(sum(p.look_for == "outlook" for p in looked), "Thunderbird profiles (profiles.ini)")
    outlook = [f for f in found if f.kind in ("pst", "ost")]
    emit(on_event, PhaseStarted("reading"))
    out.stores += [_found(f, count, opener, on_event) for f in outlook]
    out.stores += [_thunderbird(info, count) for info in find_stores(home, env, count=count)]
    out.stores += [_found(f, count, opener, on_event) for f in found if f not in outlook]
    emit(on_event, Done())
    return out


@contextmanager
def open_paths(paths: list[Any], options: dict[str, Any]) -> Iterator[list[Source]]:
    """The stores at `paths` (a server URL as a string), opened read-only (sources.open_source, each
    kind taking the reader `options` it knows) for the block and closed after it, whatever happens.
    SourceError (exit 2) when one cannot be opened."""
    opened: list[Source] = []
    try:
        for p in paths:
            opened.append(open_source(p, **options))
        yield opened
    finally:
        for s in opened:
            s.close()
