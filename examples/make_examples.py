"""Regenerate the sample stores in examples/ (a Thunderbird-style mbox tree and a Maildir++).

    python examples/make_examples.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.support.corpus import sample_items, write_maildirpp, write_mbox_tree  # noqa: E402


def main() -> None:
    for name in ("mbox", "Maildir"):
        shutil.rmtree(HERE / name, ignore_errors=True)
    write_mbox_tree(HERE / "mbox", sample_items())
    write_maildirpp(HERE / "Maildir", sample_items())
    for sub in ("cur", "new", "tmp"):  # git keeps no empty directories
        for d in (HERE / "Maildir").rglob(sub):
            (d / ".keep").touch()
    print(f"wrote {HERE / 'mbox'} and {HERE / 'Maildir'}")


if __name__ == "__main__":
    main()
