"""(mostly pure) The diet: what fits the server, what stays local, and how fast it may go up.

plan.py collects the upload candidates of a pass (date, size, source folder); the functions
here turn them into the quota verdict's suggestions: the `--since` day that fits, what stays
local under it, and the effect of other diets (Trash/Junk left out, a size cap). Also the
provider limits (a preset's maximum message size, published mailbox size and daily upload
cap), the daily pacer `run` uses, and the wording shared by `plan` and `run`'s refusal.
"""

from __future__ import annotations

import json
import math
import shlex
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import compress
from typing import Any

from migrator.domain.i18n import _
from migrator.domain.models import DietOption, QuotaInfo
from migrator.domain.units import human_bytes as human  # the one bytes formatter
from migrator.flows.server import Server

DAY = 86400.0
MIN_SIZE_CAP = 1024 * 1024  # a size cap below this keeps too much ordinary mail local: not offered
PACE_META_KEY = "daily_window"  # state meta: the pacer's 24-hour window, {"start": epoch, "bytes": n}


# -- provider limits ---------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """What a provider publishes (None: not known). The server's own answers take precedence."""

    name: str | None = None
    max_message_bytes: int | None = None
    daily_upload_bytes: int | None = None
    quota_bytes: int | None = None  # the mailbox size the provider advertises (for servers without QUOTA)


def limits_for(provider: str | None, host: str | None = None, user: str | None = None) -> Limits:
    """The preset's limits from migrator.domain.providers: by name, else detected from the host/address.

    No preset (or no providers module): no limits known, and the server's answers alone count.
    """
    try:
        from migrator.domain import providers
    except ImportError:
        return Limits()
    preset: Any = None
    try:
        if provider:
            preset = providers.get(provider)
        elif host or user:
            detect = getattr(providers, "detect", None)
            preset = detect(host, user) if callable(detect) else None
    except Exception:  # noqa: BLE001 - an unknown preset name is reported where --provider is parsed
        preset = None
    if preset is None:
        return Limits()

    def num(*names: str) -> int | None:
        for n in names:
            v = preset.get(n) if isinstance(preset, dict) else getattr(preset, n, None)
            if isinstance(v, (int, float)) and v > 0:
                return int(v)
        return None

    label = preset.get("title") if isinstance(preset, dict) else getattr(preset, "title", None)
    return Limits(name=str(label or provider or host), max_message_bytes=num("max_message_bytes"),
                  daily_upload_bytes=num("daily_upload_bytes"),
                  quota_bytes=num("quota_bytes_default", "quota_bytes"))


def message_limit(append_limit: int | None, limits: Limits | None) -> int | None:
    """The largest message the target takes: the server's APPENDLIMIT and the preset's, whichever is less."""
    values = [v for v in (append_limit, limits.max_message_bytes if limits else None) if v]
    return min(values) if values else None


# -- candidates: what would be uploaded, by day -------------------------------------------
def day_of(ts: float) -> str:
    """The UTC day of a POSIX timestamp (seconds), as YYYY-MM-DD."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).date().isoformat()


def day_start(day: str) -> float:
    """POSIX seconds of 00:00 UTC on `day` (YYYY-MM-DD)."""
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp()


def _day_name(dayno: int) -> str:
    return day_of(dayno * DAY)


def since_that_fits(dates: Sequence[float], sizes: Sequence[int], free: int,
                    select: Iterable[int] | None = None) -> str | None:
    """The earliest day D such that every candidate dated D or later fits into `free` bytes.

    None when everything fits, or when not even the newest day fits. (Days are counted as
    whole UTC days since the epoch: fast for millions of messages.)
    """
    if select is not None:
        dates, sizes = _subset(dates, sizes, select)
    per_day: dict[int, int] = {}
    get = per_day.get
    for ts, size in zip(dates, sizes, strict=True):
        day = int(ts // DAY)
        per_day[day] = get(day, 0) + size
    total = 0
    best: int | None = None
    for day in sorted(per_day, reverse=True):
        if total + per_day[day] > free:
            return None if best is None else _day_name(best)
        total += per_day[day]
        best = day
    return None


def _subset(*args: Any) -> tuple[list[Any], ...]:
    """The candidates at the indexes `args[-1]`, column by column."""
    *columns, select = args
    idx = select if isinstance(select, list) else list(select)
    return tuple([col[i] for i in idx] for col in columns)


def kept_before(dates: Sequence[float], sizes: Sequence[int], where: Sequence[int], names: Sequence[str],
                day: str, select: Iterable[int] | None = None) -> dict[str, object]:
    """What `--since day` leaves local of the candidates: count, bytes and date range per folder."""
    if select is not None:
        dates, sizes, where = _subset(dates, sizes, where, select)
    cut = day_start(day)
    acc: dict[int, list[float]] = {}  # folder index -> [messages, bytes, oldest, newest]
    for ts, size, w in zip(dates, sizes, where, strict=True):
        if ts >= cut:
            continue
        k = acc.get(w)
        if k is None:
            acc[w] = [1, size, ts, ts]
        else:
            k[0] += 1
            k[1] += size
            if ts < k[2]:
                k[2] = ts
            elif ts > k[3]:
                k[3] = ts
    folders: dict[str, dict[str, Any]] = {}
    for w, (n, total, oldest, newest) in sorted(acc.items()):
        name = names[w] if 0 <= w < len(names) else "?"
        f = folders.setdefault(name, {"messages": 0, "bytes": 0, "oldest": day_of(oldest), "newest": day_of(newest)})
        f["messages"] += int(n)
        f["bytes"] += int(total)
        f["oldest"] = min(f["oldest"], day_of(oldest))
        f["newest"] = max(f["newest"], day_of(newest))
    return {"messages": sum(f["messages"] for f in folders.values()),
            "bytes": sum(f["bytes"] for f in folders.values()), "folders": folders}


def fitting_cap(sizes: Iterable[int], free: int) -> int | None:
    """The largest `--max-size` (bytes, rounded down to a readable value) under which the rest fits.

    None when everything fits anyway, or when not even the smallest message fits.
    """
    ordered = sorted(sizes)
    if sum(ordered) <= free:
        return None
    total = 0
    for i, size in enumerate(ordered):
        if total + size > free:
            if i == 0:
                return None
            lo, hi = ordered[i - 1], size - 1  # any cap in [lo, hi] keeps exactly the first i messages
            return max(lo, readable_floor(hi))
        total += size
    return None


def readable_floor(n: int) -> int:
    """n rounded down to whole MiB (from 10 MiB) or KiB, so that it reads well as a --max-size."""
    unit = 1024 * 1024 if n >= 10 * 1024 * 1024 else 1024
    return (n // unit) * unit


def size_flag(n: int) -> str:
    """A byte count as the shortest exact --max-size value: `25M`, `500K` or plain bytes."""
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)}M"
    if n % 1024 == 0:
        return f"{n // 1024}K"
    return str(n)


def options(dates: Sequence[float], sizes: Sequence[int], where: Sequence[int], names: Sequence[str],
            trashy: Sequence[str | None], free: int, suggested: str | None,
            select: list[int] | None = None) -> list[DietOption]:
    """The diets a person can choose from when the upload does not fit `free` bytes.

    trashy[folder index]: the target name of a Trash/Junk folder (for --exclude), else None.
    """
    if select is not None:
        dates, sizes, where = _subset(dates, sizes, where, select)
    needed = sum(sizes)
    out: list[DietOption] = []
    if suggested:
        kept = kept_before(dates, sizes, where, names, suggested)
        out.append(DietOption(flags=f"--since {suggested}",
                              what=_("keep mail dated before {day} local").format(day=suggested),
                              needed=needed - int(kept["bytes"]), fits=True,  # type: ignore[call-overload]
                              kept_messages=int(kept["messages"]), kept_bytes=int(kept["bytes"])))  # type: ignore[call-overload]
    junk_targets = sorted({t for t in trashy if t})
    if junk_targets:
        keep = [not (w < len(trashy) and trashy[w]) for w in where]
        r_dates, r_sizes = list(compress(dates, keep)), list(compress(sizes, keep))
        r_where = list(compress(where, keep))
        saved = needed - sum(r_sizes)
        if saved:
            flags = " ".join(f"--exclude {shlex.quote(t)}" for t in junk_targets)
            label = _("leave {folders} out").format(folders=_(" and ").join(junk_targets))
            after = needed - saved
            fits = after <= free
            left_out = len(sizes) - len(r_sizes)
            out.append(DietOption(flags=flags, what=label, needed=after, fits=fits,
                                  kept_messages=left_out, kept_bytes=saved))
            if not fits:
                since = since_that_fits(r_dates, r_sizes, free)
                if since:
                    kept = kept_before(r_dates, r_sizes, r_where, names, since)
                    out.append(DietOption(
                        flags=f"{flags} --since {since}",
                        what=_("{diet}, and keep mail before {day} local").format(diet=label, day=since),
                        needed=after - int(kept["bytes"]), fits=True,  # type: ignore[call-overload]
                        kept_messages=left_out + int(kept["messages"]),  # type: ignore[call-overload]
                        kept_bytes=saved + int(kept["bytes"])))  # type: ignore[call-overload]
    cap = fitting_cap(sizes, free)
    if cap is None or cap < MIN_SIZE_CAP:
        cap = 10 * 1024 * 1024  # not a cure on its own: show what a common cap saves
    big = [s for s in sizes if s > cap]
    if big:
        after = needed - sum(big)
        out.append(DietOption(flags=f"--max-size {size_flag(cap)}",
                              what=_("keep messages larger than {size} local").format(size=f"{size_flag(cap)}B"),
                              needed=after, fits=after <= free, kept_messages=len(big), kept_bytes=sum(big)))
    return out


# -- the verdict: per quota root ------------------------------------------------------------
def quota_roots(target: Server, folders: set[str], max_lookups: int) -> dict[str, Any]:
    """The quota (root) of each target folder: GETQUOTAROOT per folder, INBOX's for the rest
    when there are very many (servers have one root per user, or per namespace)."""
    inbox = target.quota("INBOX")
    out: dict[str, Any] = {"INBOX": inbox}
    for name in sorted(folders - {"INBOX"}):
        out[name] = target.quota(name) if len(out) <= max_lookups else inbox
    return out


def verdict(target: Server | None, needed: int, acc: Any, limits: Limits | None, *, margin: float,
            max_lookups: int = 50) -> QuotaInfo:
    """The quota verdict for plan._Acc's candidates: the root with the least room is reported;
    when it does not fit, the `--since` that fits every root, what it keeps local, and other diets.
    Without QUOTA on the server, the provider's published size (if known) gives a hint, not a verdict."""
    daily = limits.daily_upload_bytes if limits else None
    base = QuotaInfo(needed=needed, daily_upload_limit=daily, days=days_needed(needed, daily))
    roots = quota_roots(target, set(acc.targets) | {"INBOX"}, max_lookups) if target is not None else {}
    groups: dict[str, tuple[Any, list[int]]] = {}
    by_folder = [roots.get(target) for target in acc.targets]
    for i, folder_index in enumerate(acc.where):
        q = by_folder[folder_index] if folder_index < len(by_folder) else roots.get("INBOX")
        if q is not None and q.limit > 0:
            groups.setdefault(q.root, (q, []))[1].append(i)
    inbox = roots.get("INBOX")
    if not groups and inbox is not None and inbox.limit > 0:
        groups[inbox.root] = (inbox, [])
    if not groups:
        published = limits.quota_bytes if limits else None
        if not published:
            return base
        free = int(published * (1 - margin))
        base = base.model_copy(update={"published": published, "free": free, "margin": margin})
        if needed > free:
            _suggest(base, acc, free, None)
        return base
    verdicts = []
    for root, (q, idx) in groups.items():
        free = int(q.limit * (1 - margin)) - q.used
        whole = len(idx) == len(acc.sizes)
        verdicts.append((free - (sum(acc.sizes) if whole else sum(acc.sizes[i] for i in idx)), root, q, free, idx))
    verdicts.sort(key=lambda v: v[0])
    slack, root, q, free, idx = verdicts[0]
    info = base.model_copy(update={
        "used": q.used, "limit": q.limit, "needed": free - slack, "fits": slack >= 0 or not idx, "margin": margin,
        "root": root or None, "free": free})
    if not info.fits:
        one = len(groups) == 1
        _suggest(info, acc, max(free, 0), None if len(idx) == len(acc.sizes) else idx)
        if not one:  # one --since for every root: the latest of their cut-off days
            days = [since_that_fits(acc.dates, acc.sizes, max(f, 0), i) for s, _r, _q, f, i in verdicts if s < 0]
            info.suggested_since = max(d for d in days if d) if all(days) else None
            info.suggested_kept_local = kept_before(
                acc.dates, acc.sizes, acc.where, acc.names, info.suggested_since) if info.suggested_since else {}
        newest = max(acc.dates) if len(acc.dates) else None
        info.fill_from = info.suggested_since or (day_of(newest) if newest is not None else None)
    return info


def _suggest(info: QuotaInfo, acc: Any, free: int, select: list[int] | None) -> None:
    info.suggested_since = since_that_fits(acc.dates, acc.sizes, free, select)
    if info.suggested_since:
        info.suggested_kept_local = kept_before(acc.dates, acc.sizes, acc.where, acc.names, info.suggested_since,
                                                select)
    info.options = options(acc.dates, acc.sizes, acc.where, acc.names, acc.junk, free, info.suggested_since, select)


# -- wording shared by `plan` and `run` ---------------------------------------------------
def quota_lines(q: QuotaInfo, suggestion: bool = True) -> list[str]:
    """The quota verdict in words, in the user's language: numbers, the shortfall, the suggestion
    (left out when not `suggestion`) and the daily pace."""
    out: list[str] = []
    margin = f"{(q.margin or 0):.0%}"
    if q.limit is None:
        line = _("Quota: unknown (the server does not report one)")
        if q.published:
            line += "; " + _("the provider's published mailbox size is {size}").format(size=human(q.published))
        # TRANSLATORS: the end of a sentence built from pieces (Japanese: 。)
        out.append(line + _(".") + " " + _("This migration uploads {size}.").format(size=human(q.needed)))
        if q.published and q.free is not None and (q.needed or 0) > q.free:
            out.append(_("That is more than the published size allows ({size} after the {margin} margin): it "
                         "probably does not fit.").format(size=human(q.free), margin=margin))
    else:
        out.append(_("Quota: {used} used of {limit}; {free} may be uploaded ({margin} of the quota is kept free); this "
                     "migration uploads {needed}:").format(used=human(q.used), limit=human(q.limit),
                                                          free=human(max(0, q.free or 0)), margin=margin,
                                                          needed=human(q.needed))
                   + " " + (_("it fits.") if q.fits else _("it does NOT fit, by {size}.").format(
                       size=human((q.needed or 0) - (q.free or 0)))))
    if suggestion and q.suggested_since and q.fits is not True:
        kept = q.suggested_kept_local
        out.append(_("Suggestion: upload mail from {day} on (--since {day}); {n} older messages ({size}) stay on this "
                     "computer (`migrate archive --until {day}` keeps them safe).").format(
            day=q.suggested_since, n=f"{int(kept.get('messages', 0)):,}",  # type: ignore[call-overload]
            size=human(int(kept.get("bytes", 0)))))  # type: ignore[call-overload]
    elif suggestion and q.fits is False:
        out.append(_("Suggestion: even the newest day's mail does not fit: raise the quota or free space on the "
                     "server."))
    if q.daily_upload_limit and q.days and q.days > 1:
        out.append(_("The provider accepts about {size} a day: about {days} days; `migrate run` paces itself and "
                     "carries on the next day.").format(size=human(q.daily_upload_limit), days=q.days))
    return out


def since_lead(day: str, kept_messages: int, kept_bytes: int, fits_what: str | None = None) -> str:
    """The first sentence of a quota hint: the `--since` that fits, and what it keeps local
    (`fits_what`, in the user's language: what fits then; default "mail from that day on fits")."""
    return _("Run with --since {day}: {fits}; {n} older messages ({size}) stay on this computer "
             "(`migrate archive --until {day}` keeps them safe).").format(
        day=day, fits=fits_what or _("mail from that day on fits"), n=f"{kept_messages:,}", size=human(kept_bytes))


def refusal(q: QuotaInfo) -> tuple[str, str]:
    """`run`'s message and hint when the plan does not fit (the same numbers as `plan`); the hint
    leads with the `--since` that fits."""
    lead: list[str] = []
    if q.suggested_since and q.fits is not True:
        kept = q.suggested_kept_local
        lead.append(since_lead(q.suggested_since, int(kept.get("messages", 0)),  # type: ignore[call-overload]
                               int(kept.get("bytes", 0))))  # type: ignore[call-overload]
    rest = quota_lines(q, suggestion=not lead)[1:]  # the --since suggestion is the lead
    alternatives = [f"{o.flags} ({o.what}: {human(o.needed)}, " + (_("fits") if o.fits else _("still too much")) + ")"
                    for o in q.options if not o.flags.startswith("--since")]
    hint = " ".join(lead + rest)
    if alternatives:
        hint += " " + _("Other diets:") + " " + "; ".join(alternatives) + _(".")
    hint += " " + _("Or pass --ignore-quota to upload the newest mail first until the quota is reached (the rest is "
                    "reported as not uploaded: over quota).")
    message = _("the upload does not fit the quota: {needed} to upload, {free} may be uploaded ({used} used of "
                "{limit}, {margin} kept free): {over} too much").format(
        needed=human(q.needed), free=human(max(0, q.free or 0)), used=human(q.used), limit=human(q.limit),
        margin=f"{(q.margin or 0):.0%}", over=human((q.needed or 0) - max(0, q.free or 0)))
    return message, hint.strip()


def over_quota_refusal(stats: Any) -> tuple[str, str]:
    """`run`'s line and hint when the server refused messages over quota mid-run (RunStats)."""
    message = _("not uploaded: over quota: {n} message(s), {size} left; {uploaded} message(s), {uploaded_size} went "
                "up").format(n=f"{stats.over_quota:,}", size=human(stats.over_quota_bytes),
                             uploaded=f"{stats.uploaded:,}", uploaded_size=human(stats.uploaded_bytes))
    if stats.over_quota_since:
        left = stats.over_quota - stats.over_quota_since_messages
        left_bytes = stats.over_quota_bytes - stats.over_quota_since_bytes
        fits = (_("the rest from that day on fits ({n} messages, {size})").format(
                    n=f"{stats.over_quota_since_messages:,}", size=human(stats.over_quota_since_bytes))
                if stats.over_quota_since_messages else _("everything from that day on is on the server already"))
        hint = since_lead(stats.over_quota_since, left, left_bytes, fits) + " " + _(
            "Or raise the quota (or free space on the server) and run the same command again: what is on the server "
            "is not sent twice.")
    else:
        hint = _("Even the newest day of what is left does not fit the free space: raise the quota (or free space on "
                 "the server) and run the same command again: what is on the server is not sent twice. Or keep older "
                 "mail local with --since DATE (`migrate plan` shows the day that fits).")
    return message, hint


# -- the daily upload cap ------------------------------------------------------------------
class DailyPacer:
    """Keeps a run under a daily upload cap (bytes per rolling 24 hours).

    The window (start, bytes sent) lives in the state's meta table, so a run started again the
    same day knows what was sent. It is written every 1% of the cap, and before waiting: a
    crash forgets at most that much. Called from the main thread only (it alone journals).
    """

    def __init__(self, cap: int, state: Any, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[float, int], None] | None = None) -> None:
        self.cap = cap
        self.state = state
        self.clock = clock
        self.sleep = sleep
        self.on_wait = on_wait  # (epoch when the upload carries on, bytes sent in this window)
        self.start, self.sent = self._load()
        self._unsaved = 0

    def _load(self) -> tuple[float, int]:
        try:
            saved = json.loads(self.state.meta(PACE_META_KEY) or "{}")
            return float(saved["start"]), int(saved["bytes"])
        except (ValueError, KeyError, TypeError):
            return self.clock(), 0

    def _save(self) -> None:
        self.state.set_meta(PACE_META_KEY, json.dumps({"start": self.start, "bytes": self.sent}))
        self._unsaved = 0

    def wait_needed(self, size: int) -> float:
        """0 when `size` more bytes may go now, else the epoch time the window reopens."""
        now = self.clock()
        if now - self.start >= DAY:
            self.start, self.sent = now, 0
        if self.sent and self.sent + size > self.cap:
            return self.start + DAY
        return 0.0

    def wait(self, until: float, stop: Callable[[], bool]) -> bool:
        """Sleep until the window reopens; False when asked to stop meanwhile."""
        self._save()
        if self.on_wait is not None:
            self.on_wait(until, self.sent)
        while self.clock() < until:
            if stop():
                return False
            self.sleep(min(1.0, max(0.0, until - self.clock())))
        self.start, self.sent = self.clock(), 0
        self._save()
        return True

    def sent_bytes(self, size: int) -> None:
        """Count `size` bytes as sent today; saved to the state file every 1% of the daily cap
        (so a killed run does not forget what it sent)."""
        self.sent += size
        self._unsaved += size
        if self._unsaved >= max(1, self.cap // 100):
            self._save()


def days_needed(needed: int | None, daily: int | None) -> int | None:
    """Days a daily upload cap of `daily` bytes needs for `needed` bytes (at least 1); None when
    either is unknown or zero."""
    if not needed or not daily:
        return None
    return max(1, math.ceil(needed / daily))


LedgerRow = tuple[str, str, str, int, str, str]  # stable_id, target, fingerprint, size, date, reason


def ledger_row(s: Any, target: str, on_target: Callable[[str, str], bool]) -> LedgerRow | None:
    """The ledger line of a message a diet filter left local, or None when it is not diet-filtered
    or its content is on the target already (uploaded earlier): the ledger lists what exists
    only on this computer, so that a backfill and `migrate archive` account for exactly that."""
    if s.reason == "folder excluded" or on_target(target, s.fingerprint):
        return None
    return (s.record.stable_id, target, s.fingerprint, len(s.wire), s.record.date.isoformat(), s.reason or "")
