"""Units shown to people: one definition of a kilobyte/megabyte for every report.

Sizes are binary (1 KB = 1,024 bytes, 1 MB = 1,048,576 bytes), as Outlook, Thunderbird and the
providers' quota pages show them; counts and large figures carry thousands separators.
Renderers and flows both use these, so `plan`, `run`, `verify`, `check`, `status` and the HTML
reports all print the same figure for the same number of bytes.
"""

from __future__ import annotations

import math

KB = 1024  # bytes
MB = 1024 * KB  # bytes
GB = 1024 * MB  # bytes
TB = 1024 * GB  # bytes
_UNITS = ("B", "KB", "MB", "GB", "TB")


def human_bytes(n: int | float | None) -> str:
    """A size in bytes for people: "512 B", "1.5 KB", "2.0 MB", "1,234.0 TB"; None -> "unknown".

    Binary units (KB = 1,024 bytes); one decimal from KB on; thousands separators; negative
    sizes (a shortfall) keep their sign.
    """
    if n is None:
        return "unknown"
    size = float(n)
    for unit in _UNITS:
        if abs(size) < 1024 or unit == _UNITS[-1]:
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n:,} B"  # not reached


def count(n: int) -> str:
    """A number of messages (or folders) with thousands separators: 12345 -> "12,345"."""
    return f"{n:,}"


def size_in(n: int | float, unit: int, decimals: int = 0) -> str:
    """`n` bytes written in a given binary unit (`unit`: 1, KB, MB, GB or TB), as a chart axis
    labels its ticks alike: size_in(512 * KB, MB, 1) -> "0.5 MB", size_in(2 * GB, GB) -> "2 GB"."""
    name = _UNITS[min(round(math.log(unit, 1024)), len(_UNITS) - 1)] if unit > 1 else "B"
    return f"{n / unit:,.{decimals}f} {name}"
