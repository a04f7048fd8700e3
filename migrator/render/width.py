"""How wide the terminal tables may be (80 columns by default, everything with `--wide`), and the
plain-text table that fits them.

The choice holds for one command (a `contextvars.ContextVar`, set by the `--wide` option of the
commands that print tables: render/cli_help.py `wide_option`), so a second command in the same
process (tests, the web app) starts from the default again. `table()` in render/terminal.py fits
its columns into `table_limit()`.
"""

from __future__ import annotations

import unicodedata
from contextvars import ContextVar

from migrator.domain.i18n import _

__all__ = ["DEFAULT_COLUMNS", "elide", "pad_text", "set_wide", "table", "table_limit", "text_width", "wrap_text"]

DEFAULT_COLUMNS = 80  # display columns (East Asian wide characters count 2)

_WIDE: ContextVar[bool] = ContextVar("migrate_wide_tables", default=False)


def set_wide(on: bool) -> None:
    """`--wide`: tables show every column and whole names, however wide (for this command)."""
    _WIDE.set(on)


def table_limit() -> int | None:
    """The most display columns a table may take: `DEFAULT_COLUMNS`, or None (no limit) with `--wide`."""
    return None if _WIDE.get() else DEFAULT_COLUMNS


def text_width(text: str) -> int:
    """Columns `text` takes in a terminal: East Asian wide and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad_text(text: str, width: int, right: bool = False) -> str:
    """`text` padded with spaces to `width` terminal columns (see `text_width`), on the left when `right`."""
    fill = " " * max(0, width - text_width(text))
    return fill + text if right else text + fill


def elide(text: str, width: int) -> str:
    """`text` cut to `width` display columns by dropping its middle (`Inbox/.../2019`): both ends of
    a folder path say the most. ASCII dots, so the width is the same on every console."""
    if text_width(text) <= width:
        return text
    if width <= 3:
        return "." * width
    keep = width - 3
    head, tail = "", ""
    chars = list(text)
    while chars and text_width(head) + text_width(tail) < keep:
        nxt_head = head + chars[0]
        if text_width(nxt_head) + text_width(tail) <= keep and (text_width(head) <= text_width(tail) or not chars[1:]):
            head = nxt_head
            chars.pop(0)
            continue
        nxt_tail = chars[-1] + tail
        if text_width(head) + text_width(nxt_tail) <= keep:
            tail = nxt_tail
            chars.pop()
            continue
        break
    return head + "..." + tail


_ROOMY_TEXT = 24  # text columns are cut to this before an optional column is left out
_MIN_TEXT = 16  # a text column is never cut narrower than this (nor than its header)


def _header_lines(header: str, width: int) -> list[str]:
    """`header` wrapped at spaces into lines of at most `width` columns (a word longer stays whole)."""
    lines: list[str] = []
    for word in header.split(" "):
        if lines and text_width(lines[-1]) + 1 + text_width(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _chunks(word: str, width: int) -> list[str]:
    """`word` cut into pieces of at most `width` display columns (a path or a Japanese phrase has
    no space to break at)."""
    pieces = [""]
    for ch in word:
        if pieces[-1] and text_width(pieces[-1] + ch) > width:
            pieces.append("")
        pieces[-1] += ch
    return pieces


def wrap_text(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` display columns, broken at spaces (East Asian wide
    characters count 2); a word wider than a line is cut (`_chunks`)."""
    width = max(width, 8)
    lines = [""]
    for word in text.split(" "):
        for piece in _chunks(word, width) if text_width(word) > width else [word]:
            if lines[-1] and text_width(lines[-1]) + 1 + text_width(piece) > width:
                lines.append(piece)
            else:
                lines[-1] = f"{lines[-1]} {piece}" if lines[-1] else piece
    return lines


def _blank(cell: str) -> bool:
    return cell.strip() in ("", "0", "-")


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None,
          optional: list[int] | None = None, limit: int | None | bool = True) -> str:
    """A plain-text table: `headers` over `rows` (cells padded by display width: East Asian wide
    characters count 2), the columns in `right` right-aligned (numbers).

    It fits `limit` display columns (True: render/width.py's limit, 80 unless `--wide`; None: no
    limit), in this order until it does: numbers' headers wrap at spaces; columns that hold
    nothing (every cell empty, 0 or -) are left out, from the right; text columns are cut in the
    middle (`elide`) down to 24 columns; the `optional` columns are left out in the given order;
    text columns are cut on down to 16 columns.
    A line under the table names what was left out and says `--wide` shows it."""
    right = right or set()
    cap = table_limit() if limit is True else limit if isinstance(limit, int) and limit is not False else None
    cols = list(range(len(headers)))
    natural = {i: max(([text_width(h) for h in headers[i].split(" ")] if i in right else [text_width(headers[i])])
                      + [text_width(r[i]) for r in rows]) for i in cols}  # numbers' headers may wrap
    full = {i: max([text_width(headers[i])] + [text_width(r[i]) for r in rows]) for i in cols}
    widths = dict(full)

    def total() -> int:
        return sum(widths[i] for i in cols) + 2 * (len(cols) - 1)

    hidden: list[int] = []
    if cap is not None and total() > cap:
        widths = dict(natural)  # headers may wrap
        for i in reversed(range(2, len(headers))):
            if total() <= cap:
                break
            if rows and all(_blank(r[i]) for r in rows):
                cols.remove(i)
                hidden.append(i)
        def shrink(least: int) -> None:
            while total() > cap:
                text_cols = [i for i in cols if i not in right]
                widest = max(text_cols, key=lambda i: widths[i], default=None)
                if widest is None:
                    return
                floor = max(least, text_width(headers[widest]))
                if widths[widest] <= floor:
                    return
                widths[widest] -= 1

        shrink(_ROOMY_TEXT)
        for i in optional or []:
            if total() <= cap:
                break
            if i in cols:
                cols.remove(i)
                hidden.append(i)
        shrink(_MIN_TEXT)
        while True:  # room left by a column left out goes back to the cut text columns
            cut = [i for i in cols if i not in right and widths[i] < natural[i]]
            if not cut or total() >= cap:
                break
            widths[min(cut, key=lambda i: widths[i])] += 1
    head_lines = {i: _header_lines(headers[i], widths[i]) for i in cols}
    depth = max((len(v) for v in head_lines.values()), default=1)
    lines = []
    for n in range(depth):
        cells = []
        for i in cols:
            parts = head_lines[i]
            text = parts[n - (depth - len(parts))] if n >= depth - len(parts) else ""  # bottom-aligned
            cells.append(pad_text(text, widths[i], i in right))
        lines.append("  ".join(cells).rstrip())
    lines.append("  ".join("-" * widths[i] for i in cols))
    for r in rows:
        lines.append("  ".join(pad_text(r[i] if i in right else elide(r[i], widths[i]), widths[i], i in right)
                               for i in cols).rstrip())
    if hidden:
        names = ", ".join(headers[i] for i in sorted(hidden))
        note = _("(not shown: {columns}; --wide shows every column)").format(columns=names)
        lines += wrap_text(note, cap) if cap is not None else [note]
    return "\n".join(lines)
