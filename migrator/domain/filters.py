"""(pure) The scope of a migration: folder globs, date range, size cap, built once into a predicate."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from migrator.domain.errors import UsageError
from migrator.domain.i18n import N_, _


def parse_day(text: str, flag: str) -> datetime:
    """`--since`/`--until` YYYY-MM-DD (ISO 8601) as 00:00 UTC of that day; UsageError naming `flag`
    otherwise.
    """
    try:
        d = date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(_("{flag} {text!r}: expected a date like 2024-01-31").format(flag=flag, text=text)) from exc
    return datetime.combine(d, time(0, 0), tzinfo=timezone.utc)


def parse_size(text: str) -> int:
    """`--max-size` as bytes: a number with an optional binary unit (B, K/KB/KiB, M/MB/MiB, G/GB/GiB:
    powers of 1024); UsageError otherwise.
    """
    units = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3, "GB": 1024**3}
    t = text.strip().upper().replace("IB", "B")
    num = t.rstrip("KMGB")
    unit = t[len(num):]
    try:
        return int(float(num) * units[unit])
    except (ValueError, KeyError) as exc:
        raise UsageError(_("--max-size {text!r}: expected a size like 25M or 500K").format(text=text)) from exc


@dataclass(frozen=True)
class Scope:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    max_size: int | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.since and self.until and self.since >= self.until:
            raise UsageError(_("--since must be before --until"))

    def folder_in_scope(self, display: str, target: str) -> bool:
        """Whether a folder is migrated: its source `display` name or its `target` name matches an
        --include glob (when any is given) and neither matches an --exclude glob (fnmatch, case-sensitive).
        """
        names = (display, target)
        if self.include and not any(fnmatch.fnmatchcase(n, g) for g in self.include for n in names):
            return False
        return not any(fnmatch.fnmatchcase(n, g) for g in self.exclude for n in names)

    def unmatched(self, names: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """The --include and --exclude globs that match none of the folders, as (option, glob) pairs
        in the order given: `names` are every folder's (source display name, target name), the
        names `folder_in_scope` matches against. A glob that matches nothing is almost always a
        typo (or a folder named in the other language), so flows warn about each one."""
        pairs = list(names)
        out = []
        for option, globs in (("--include", self.include), ("--exclude", self.exclude)):
            for g in dict.fromkeys(globs):
                if not any(fnmatch.fnmatchcase(n, g) for pair in pairs for n in pair):
                    out.append((option, g))
        return out

    def unmatched_warnings(self, names: Iterable[tuple[str, str]]) -> list[str]:
        """One warning per glob of `unmatched(names)`, naming it and a few of the folders there are."""
        pairs = list(names)
        shown = ", ".join(dict.fromkeys(d for d, _t in pairs[:6])) + (", ..." if len(pairs) > 6 else "")
        return [_("{option} {glob!r} matches no folder (the folders are: {folders}); globs are case-sensitive, "
                  "* matches any text").format(option=option, glob=g, folders=shown or "-")
                for option, g in self.unmatched(pairs)]

    def message_reason(self, when: datetime, size: int) -> str | None:
        """Why a message is filtered out, or None when it is in scope."""
        if self.since and when < self.since:
            return N_("before --since")
        if self.until and when >= self.until:
            return N_("from --until on")
        if self.max_size is not None and size > self.max_size:
            return N_("larger than --max-size")
        return None

    @property
    def is_diet(self) -> bool:
        """True when a date range or a size cap leaves some messages local (a diet)."""
        return bool(self.since or self.until or self.max_size)


def scope_from(since: str | None, until: str | None, max_size: str | None, include: tuple[str, ...] = (),
               exclude: tuple[str, ...] = ()) -> Scope:
    """The scope of the command-line options --since/--until (YYYY-MM-DD: 00:00 UTC), --max-size
    (bytes) and the folder globs; UsageError (exit 2) for a bad value."""
    return Scope(since=parse_day(since, "--since") if since else None,
                 until=parse_day(until, "--until") if until else None,
                 max_size=parse_size(max_size) if max_size else None, include=include, exclude=exclude)
