"""The progress bar of a phase on the terminal: percent, messages and bytes done of their totals,
rate and time left, every size from the one formatter (domain/units.py: binary MB, the same
figure as the summary) and every count with thousands separators.

    uploading:  42%|####      | 1,234/2,915 messages, 7.2 MB/17.1 MB, 302.0 KB/s, 00:24 left

A total that is an estimate (an mbox's messages, before the pass counted them) shows as "~2,915".
Before any total is known (a reader with no cheap count) the bar shows what is done and the rate.
The bar advances by bytes (the time an upload takes follows its bytes); tqdm keeps the rate
(smoothed over this phase's progress only: what an earlier run did is the bar's start).
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from migrator.domain.i18n import _, ngettext
from migrator.domain.units import count, human_bytes

WITH_TOTAL = "{desc}: {percentage:3.0f}%|{bar}| {p_messages}, {p_sizes}, {p_speed}, {p_left}"
WITHOUT_TOTAL = "{desc}: {p_messages}, {p_sizes}, {p_speed}"


def messages_text(done: int, total: int | None, exact: bool = True) -> str:
    """"1,234/2,915 messages" ("~2,915" when the total is an estimate, "1,234 messages" without one)."""
    if total is None:
        return ngettext("{n} message", "{n} messages", done).format(n=count(done))
    shown = count(total) if exact else "~" + count(total)
    return ngettext("{done}/{total} message", "{done}/{total} messages", total).format(done=count(done), total=shown)


def sizes_text(done: int, total: int | None) -> str:
    """"7.2 MB/17.1 MB" in the units of domain/units.py ("7.2 MB" without a total)."""
    return human_bytes(done) if total is None else f"{human_bytes(done)}/{human_bytes(total)}"


def speed_text(rate: float | None) -> str:
    """Bytes per second for people: "302.0 KB/s" ("? B/s" before there is a rate)."""
    return _("{size}/s").format(size="? B" if rate is None else human_bytes(rate))


def left_text(seconds: float | None) -> str:
    """Time left: "00:24 left", "1:02:03 left" ("? left" before there is a rate)."""
    return _("{time} left").format(time="?" if seconds is None else tqdm.format_interval(seconds))


def phase_label(phase: str) -> str:
    """A phase's name as the bar shows it, in the user's language."""
    labels = {"reading": _("reading"), "uploading": _("uploading"), "checking": _("checking"),
              "archiving": _("archiving")}
    return labels.get(phase, phase)


class SizedBar(tqdm):  # type: ignore[type-arg]
    """A tqdm bar counting bytes whose text comes from domain/units.py (see the module docstring);
    `messages`, `messages_total` and `exact` are set by the caller with the bytes."""

    def __init__(self, *args: Any, messages: int = 0, messages_total: int | None = None, exact: bool = True,
                 **kwargs: Any) -> None:
        self.messages, self.messages_total, self.exact = messages, messages_total, exact  # before the first draw
        super().__init__(*args, **kwargs)

    @property
    def format_dict(self) -> Any:
        """tqdm's fields plus the p_* ones the bar formats use."""
        d: Any = super().format_dict
        if self.disable:
            return d
        n, total, rate = d["n"], d["total"], d["rate"]
        elapsed = d["elapsed"] or 0
        if rate is None and elapsed > 0 and n > d["initial"]:
            rate = (n - d["initial"]) / elapsed
        left = (total - n) / rate if rate and total is not None else None
        d.update(p_messages=messages_text(self.messages, self.messages_total, self.exact),
                 p_sizes=sizes_text(int(n), total), p_speed=speed_text(rate),
                 p_left=left_text(max(0.0, left) if left is not None else None))
        return d


def open_bar(desc: str, total_bytes: int | None = None, done_bytes: int = 0, quiet: bool = False,
             done_messages: int = 0, total_messages: int | None = None, exact: bool = True) -> SizedBar:
    """A SizedBar on stderr, silent when stderr is not a terminal (or when quiet), starting at
    `done_bytes` / `done_messages` (done before this phase: not part of its rate)."""
    if total_bytes is not None:
        total_bytes = max(total_bytes, done_bytes)
    return SizedBar(total=total_bytes, initial=done_bytes, desc=phase_label(desc), unit="B", file=sys.stderr,
                    disable=True if quiet else None, leave=False, dynamic_ncols=True,
                    bar_format=WITH_TOTAL if total_bytes is not None else WITHOUT_TOTAL,
                    messages=done_messages, messages_total=total_messages, exact=exact)


def show(bar: SizedBar, done_messages: int, done_bytes: int, total_messages: int | None,
         total_bytes: int | None, exact: bool) -> None:
    """Set the bar to these figures (totals may change: estimates corrected as the pass goes)."""
    bar.messages, bar.messages_total, bar.exact = done_messages, total_messages, exact
    if total_bytes is not None:
        total_bytes = max(total_bytes, done_bytes)
    if total_bytes != bar.total:
        bar.total = total_bytes
        bar.bar_format = WITH_TOTAL if total_bytes is not None else WITHOUT_TOTAL
    step = done_bytes - bar.n
    if step > 0:
        bar.update(step)  # tqdm's rate follows updates (and draws at most every 0.1 s)
        if total_bytes is not None and done_bytes >= total_bytes:
            bar.refresh()  # the last figures are drawn, whenever they come
    else:
        bar.n = done_bytes
        bar.refresh()
