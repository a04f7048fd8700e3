"""The message catalog's maintenance: extract the user-facing text, update the Japanese .po, check it.

    python3 tools/catalog.py            # extract into migrator/locale/migrate.pot, merge into ja .po
    python3 tools/catalog.py --check    # exit 1 when the .pot/.po are stale or a msgstr is missing

What `pybabel extract -F babel.cfg` + `pybabel update` do (same babel.cfg, same keywords), written so
that the files change only where a message changes: no source locations, sorted entries, no line
wrapping, and fixed header dates (pybabel stamps the current time, which would make every rebase
conflict). New messages arrive in the .po with an empty msgstr: translate them there (docs/i18n.md).
tests/unit/test_i18n.py uses `extract()` and `untranslated()` from here.
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "babel.cfg"
LOCALE = ROOT / "migrator" / "locale"
DOMAIN = "migrate"
POT = LOCALE / f"{DOMAIN}.pot"
LANGUAGES = ("ja",)  # English is the msgid itself
FIXED_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)  # header dates: constant, so files stay stable


def po_path(lang: str) -> Path:
    """migrator/locale/<lang>/LC_MESSAGES/migrate.po"""
    return LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract(root: Path = ROOT) -> Catalog:
    """Every message the code and the templates mark (`_`, `ngettext`, `N_`, ...; babel.cfg), as a template."""
    with CONFIG.open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, str(CONFIG))
    template = Catalog(project="migrator", domain=DOMAIN, creation_date=FIXED_DATE, revision_date=FIXED_DATE,
                       msgid_bugs_address="", charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            root, method_map, options_map, comment_tags=("TRANSLATORS:",), strip_comment_tags=True):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def _text(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, catalog, width=0, no_location=True, sort_output=True, ignore_obsolete=True, omit_header=False)
    return buf.getvalue()


def read(path: Path, lang: str | None = None) -> Catalog:
    """A .po/.pot file as a Catalog."""
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def updated(template: Catalog, lang: str) -> Catalog:
    """The `lang` catalog merged with `template`: new msgids empty, gone ones dropped, no fuzzy guesses."""
    path = po_path(lang)
    catalog = read(path, lang) if path.exists() else Catalog(locale=lang, domain=DOMAIN, project="migrator")
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.creation_date = catalog.revision_date = FIXED_DATE
    catalog.msgid_bugs_address = ""
    return catalog


def untranslated(catalog: Catalog) -> list[str]:
    """The msgids of `catalog` with an empty (or partly empty plural) or fuzzy msgstr."""
    out = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy or not all(strings):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the .pot and the .po files; report untranslated messages."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 when stale or untranslated")
    args = ap.parse_args(argv)
    template = extract()
    files = {POT: _text(template)}
    missing: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        catalog = updated(template, lang)
        files[po_path(lang)] = _text(catalog)
        missing[lang] = untranslated(catalog)
    stale = [p for p, data in files.items() if not p.exists() or p.read_bytes() != data]
    if not args.check:
        for p in stale:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(files[p])
            print(f"wrote {p.relative_to(ROOT)}")
    for lang, ids in missing.items():
        for msgid in ids:
            print(f"{po_path(lang).relative_to(ROOT)}: untranslated: {msgid!r}", file=sys.stderr)
    if args.check and stale:
        print("stale: " + ", ".join(str(p.relative_to(ROOT)) for p in stale) + " (run python3 tools/catalog.py)",
              file=sys.stderr)
    return 1 if (args.check and stale) or any(missing.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
