"""Regenerate the sample stores in examples/ (a Thunderbird-style mbox tree and a Maildir++).

    python examples/make_examples.py

The messages come from tests/support/corpus.py: every encoded word there is made by Python's
`email` package and every body by Python's codecs (ISO-2022-JP, Shift_JIS, UTF-8), never typed by
hand, so the Japanese reads as intended (見積書, 取引先への連絡, 見積もり).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.support.corpus import sample_items, write_maildirpp, write_mbox_tree  # noqa: E402


def write_examples(out: Path = HERE) -> None:
    """Write `out/mbox` and `out/Maildir` afresh (tests/unit/test_examples.py compares them to examples/)."""
    for name in ("mbox", "Maildir"):
        shutil.rmtree(out / name, ignore_errors=True)
    write_mbox_tree(out / "mbox", sample_items())
    write_maildirpp(out / "Maildir", sample_items())
    for sub in ("cur", "new", "tmp"):  # git keeps no empty directories
        for d in (out / "Maildir").rglob(sub):
            (d / ".keep").touch()


def main() -> None:
    write_examples(HERE)
    print(f"wrote {HERE / 'mbox'} and {HERE / 'Maildir'}")


if __name__ == "__main__":
    main()
