"""The message catalog (issue 18 item 7; docs/i18n.md): every user-facing string is wrapped and translated.

(a) every msgid the code and the templates mark has a non-empty, non-fuzzy Japanese msgstr, and the
    committed .pot/.po are what `python3 tools/catalog.py` extracts from the code now;
(b) no user-facing literal is left unwrapped: what goes to click.echo/print, click `help=`, the
    MigratorError family's message and `hint=`, `default_hint`, warnings, and in the rendering
    modules (render/, cli/) every text literal in code;
(c) the placeholders (`{path}`, `%(n)s`) of each msgid and its msgstr are the same;
plus the language rules (`--lang` > LC_ALL > LC_MESSAGES > LANG) and the catalog loading.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

import catalog  # tools/catalog.py (tests/conftest.py puts tools/ on sys.path)
import pytest

from migrator.domain import i18n
from migrator.domain.i18n import _, detect_language, format_datetime, normalize_language, using_language

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "migrator"

# ---------------------------------------------------------------------------------------------- (a) (c)


@pytest.fixture(scope="module")
def extracted() -> catalog.Catalog:
    return catalog.extract()


def test_committed_template_and_catalog_are_not_stale(extracted: catalog.Catalog) -> None:
    code = {m.id for m in extracted if m.id}
    pot = {m.id for m in catalog.read(catalog.POT) if m.id}
    po = {m.id for m in catalog.read(catalog.po_path("ja"), "ja") if m.id}
    assert code == pot, ("migrator/locale/migrate.pot is stale: run python3 tools/catalog.py\n"
                         f"new: {sorted(map(str, code - pot))}\ngone: {sorted(map(str, pot - code))}")
    assert code == po, ("the ja .po is stale: run python3 tools/catalog.py and translate the new msgids\n"
                        f"new: {sorted(map(str, code - po))}\ngone: {sorted(map(str, po - code))}")


def test_every_message_has_a_japanese_translation() -> None:
    missing = catalog.untranslated(catalog.read(catalog.po_path("ja"), "ja"))
    assert not missing, ("untranslated (empty or fuzzy msgstr) in migrator/locale/ja/LC_MESSAGES/migrate.po:\n"
                         + "\n".join(map(repr, missing)))


def placeholders(text: str) -> list[str]:
    """The str.format fields (`{path}`, `{n:,}`, `{value!r}`) and %-style ones (`%(n)s`, `%s`) of `text`, sorted."""
    out = [m.group(0) for m in re.finditer(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifrx%]", text)]
    try:
        out += ["{" + (name or "") + ("!" + conv if conv else "") + (":" + spec if spec else "") + "}"
                for _lit, name, spec, conv in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        out.append(f"<unparsable: {exc}>")
    return sorted(out)


def test_placeholders_of_msgid_and_msgstr_match() -> None:
    bad = []
    for m in catalog.read(catalog.po_path("ja"), "ja"):
        if not m.id or not m.string:
            continue
        ids = m.id if isinstance(m.id, tuple | list) else (m.id,)
        strs = m.string if isinstance(m.string, tuple | list) else (m.string,)
        want = placeholders(ids[-1])
        for s in strs:
            if placeholders(s) != want and placeholders(s) != placeholders(ids[0]):
                bad.append(f"{ids[0]!r}: {want} vs {placeholders(s)} in {s!r}")
    assert not bad, "placeholders differ between msgid and msgstr:\n" + "\n".join(bad)


def test_placeholder_parser() -> None:
    assert placeholders("cannot read {path}: {reason!r} {n:,}") == ["{n:,}", "{path}", "{reason!r}"]
    assert placeholders("%(n)s of %(total)d, 5%") == ["%(n)s", "%(total)d"]
    assert placeholders("{a}") != placeholders("{b}")


# ---------------------------------------------------------------------------------------------- (b)

WRAPPERS = frozenset({"_", "N_", "ngettext", "gettext", "pgettext"})
# Modules whose every text literal in code is for people (docstrings, comparisons, keys exempt).
RENDERING = ("migrator/render/", "migrator/cli/")
# Literals that stay as they are: machine-greppable prefixes (docs/exit-codes.md) and protocol words.
ALLOWED_LITERALS = frozenset({
    "migrate: error:", "hint:", "migrate: warning:", "migrate:", "migrate: --debug:", "migrate: warning: --insecure:",
    "migrate: warning: --source-insecure:", "migrate: journal:",
    "help", "short_help", "epilog",  # click's attribute names (render/cli_help.py)
    "Windows", "macOS", "Linux",  # names of systems: the same in every language
    "migrate", "migrate-ascii", "utf-8", "migrate_wide_tables",  # the command's name, a codec error handler, an encoding (render/console.py)
})
_OPTION = re.compile(r"--?[a-z][a-z0-9-]*(=[A-Z]+)?")  # a command-line option's name: the same in every language
# Not yet converted (issue 18 item 7, engineer i18n): the whole-literal check skips these; must end empty.
PENDING: frozenset[str] = frozenset()
# Calls whose string arguments are not text for people (keys, encodings, formats, comparisons ...).
EXEMPT_METHODS = frozenset({
    "get", "pop", "setdefault", "startswith", "endswith", "split", "rsplit", "partition", "rpartition", "replace",
    "strip", "lstrip", "rstrip", "encode", "decode", "getattr", "hasattr", "setattr", "isinstance", "index",
    "find", "rfind", "count", "strftime", "strptime", "fromisoformat", "compile", "match", "search", "sub",
    "fullmatch", "finditer", "findall", "open", "with_suffix", "with_name", "joinpath", "glob", "rglob",
    "get_template", "render_page", "environ", "getenv", "reconfigure", "model_dump", "model_copy", "callback",
    "signal", "Path", "option", "argument", "Choice", "group", "command", "version_option", "Option",
    "format_datetime", "getLogger", "debug", "dumps", "loads", "lower", "upper", "title", "ljust", "rjust",
    "center", "zfill", "removeprefix", "removesuffix", "enter_context", "Environment", "PackageLoader",
    "add_extension", "Markup", "escape", "tqdm", "Bar", "limits_for", "set", "frozenset", "emit",
})
EXEMPT_KEYWORDS = frozenset({
    "metavar", "unit", "encoding", "errors", "mode", "sep", "end", "prog_name", "type", "name", "kind",
    "sign", "phase", "outcome", "fmt", "format", "newline", "role", "flags", "key", "path_type", "lang",
    "tz", "locale", "default", "dir_okay", "file_okay", "css", "cls",
})
_WORD = re.compile(r"[A-Za-z]{2,}")
_NOT_WORDS = re.compile(
    r"\{[^{}]*\}|%\([^)]*\)[sd]"      # placeholders
    r"|<[^>]*>"                        # markup (SVG, HTML tags)
    r"|(?<![\w-])--?[a-z][a-z0-9-]*"    # option names: the same in every language
    r"|#[0-9a-fA-F]{3,8}\b"            # colours
    r"|(?<![\w])\.[a-z0-9]+"            # file suffixes
    r"|\b[a-z][a-z0-9+]*://\S*")         # URLs
_TOKEN = re.compile(r"[a-z][a-z0-9_-]*")  # one lowercase token: a key, a CSS class, an attribute name


def has_words(text: str, loose: bool = False) -> bool:
    """True when `text` holds words for people: letters, once placeholders, markup, option names,
    colours and file suffixes are gone. `loose`: one lowercase token (`bad`, `new_in_source`) is a
    key, not text (used for the whole-module check of the rendering modules; sinks are strict)."""
    rest = _NOT_WORDS.sub(" ", text).strip()
    if text.strip() in ALLOWED_LITERALS or (loose and _TOKEN.fullmatch(text.strip())):
        return False
    return bool(_WORD.search(rest))


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def literals(node: ast.AST, loose: bool = False) -> Iterator[ast.expr]:
    """The text literals (str constants and f-strings with words) in `node` that are not wrapped in
    `_()`/`N_()`/`ngettext()` and are not in an exempt place (comparison, subscript, key, exempt call)."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str) and has_words(node.value, loose):
            yield node
        return
    if isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        if has_words(text, loose):
            yield node
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                if isinstance(v.value, ast.Call) and _name(v.value.func) in WRAPPERS:
                    yield v.value  # _() inside an f-string: Babel cannot extract it (Python < 3.12 tokens)
                else:
                    yield from literals(v.value, loose)
        return
    if isinstance(node, ast.Call):
        name = _name(node.func)
        if name in WRAPPERS:
            return
        if name in EXEMPT_METHODS:
            if isinstance(node.func, ast.Attribute):
                yield from literals(node.func.value, loose)
            return
        yield from literals(node.func, loose)
        for a in node.args:
            yield from literals(a, loose)
        for k in node.keywords:
            if k.arg not in EXEMPT_KEYWORDS:
                yield from literals(k.value, loose)
        return
    if isinstance(node, ast.Compare | ast.Subscript | ast.Import | ast.ImportFrom | ast.Global | ast.Nonlocal):
        if isinstance(node, ast.Subscript):
            yield from literals(node.value, loose)
        return
    if isinstance(node, ast.Dict):
        for v in node.values:
            yield from literals(v, loose)
        return
    if isinstance(node, ast.Assign | ast.AnnAssign) and any(
            isinstance(t, ast.Name) and (t.id == "__all__" or t.id.endswith("CSS"))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])):
        return  # names, style sheets
    for child in ast.iter_child_nodes(node):
        yield from literals(child, loose)


def _bodies(tree: ast.Module) -> Iterator[ast.AST]:
    """Every statement of the module, without docstrings (module, class, function)."""
    def strip(body: list[ast.stmt]) -> list[ast.stmt]:
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            return body[1:]
        return body

    def walk(body: list[ast.stmt]) -> Iterator[ast.AST]:
        for stmt in strip(body):
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield from stmt.decorator_list
                yield from walk(stmt.body)
            else:
                yield stmt

    yield from walk(tree.body)


def error_classes() -> set[str]:
    """Names of the MigratorError family (any class anywhere in migrator/ deriving from it), click's
    exceptions with a message for people, and the warning event."""
    bases: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(_name(b) for b in node.bases)
    family = {"MigratorError"}
    changed = True
    while changed:
        changed = False
        for cls, bs in bases.items():
            if cls not in family and bs & family:
                family.add(cls)
                changed = True
    return family | {"BadParameter", "UsageError", "ClickException", "BadOptionUsage", "Warning"}


SINK_CALLS = frozenset({"echo", "secho", "print", "warn", "on_plaintext", "append", "extend", "fail", "table"})


def sink_literals(tree: ast.Module, errors: set[str]) -> Iterator[ast.expr]:
    """Unwrapped literals given to the places text for people goes, in any module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            args: list[ast.expr] = []
            if name in errors:
                args = node.args[:1] + [k.value for k in node.keywords if k.arg in ("hint", "message", "text")]
            elif (name in SINK_CALLS and name not in ("append", "extend")) or (
                    name in ("append", "extend") and isinstance(node.func, ast.Attribute)
                    and _name(node.func.value) in ("warnings", "notes", "warn")):
                args = node.args[:1]
            args += [k.value for k in node.keywords if k.arg == "help"]
            for a in args:
                yield from literals(a)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "default_hint"
                                                  for t in node.targets):
            yield from literals(node.value)


def unwrapped(path: Path, errors: set[str]) -> list[str]:
    """`file:line: literal` for each user-facing literal of the module not wrapped for translation."""
    rel = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    found: dict[int, ast.expr] = {}
    for lit in sink_literals(tree, errors):
        found[id(lit)] = lit
    if rel.startswith(RENDERING) and not any(rel.startswith(p) for p in PENDING):
        for stmt in _bodies(tree):
            for lit in literals(stmt, loose=True):
                found[id(lit)] = lit
    return sorted(f"{rel}:{lit.lineno}: {ast.unparse(lit)[:100]}" for lit in found.values())


def test_user_facing_literals_are_wrapped_for_translation() -> None:
    errors = error_classes()
    bad: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if any(rel.startswith(p) for p in PENDING):
            continue
        bad += unwrapped(path, errors)
    assert not bad, ("user-facing text not wrapped in _() (N_() where it is defined before the language is "
                     "known; docs/i18n.md):\n" + "\n".join(bad))


def test_no_translation_inside_an_f_string() -> None:
    """`f"{_('x')}"` cannot be extracted (Python < 3.12 tokenizes an f-string as one string): the
    message would silently stay English."""
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                bad += [f"{path.relative_to(ROOT).as_posix()}:{c.lineno}: {ast.unparse(c)[:80]}"
                        for c in ast.walk(node) if isinstance(c, ast.Call) and _name(c.func) in WRAPPERS]
    assert not bad, "_() inside an f-string (compute it before the f-string):\n" + "\n".join(bad)


def test_the_literal_check_sees_what_it_should(tmp_path: Path) -> None:
    src = tmp_path / "probe.py"
    src.write_text(
        'import click\n'
        'from migrator.domain.i18n import _, N_\n'
        'class E(MigratorError):\n    default_hint = "Do this."\n'
        'def f(path, n):\n'
        '    click.echo(f"cannot read {path}")\n'                          # caught: f-string
        '    click.echo(_("cannot read {path}").format(path=path))\n'     # fine
        '    click.echo("migrate: error: " + _("bad"))\n'                 # fine: allowed prefix
        '    raise E("the message", hint="the hint")\n'                  # caught twice
        '    click.option("--x", help="Some help.")\n'                    # caught
        '    click.option("--y", help=N_("Some help."))\n'                # fine
        '    click.echo(f"{n:,}")\n'                                        # fine: no words
        '    click.echo(f"{n} {_(\'files\')}")\n',                         # caught: not extractable
        encoding="utf-8")
    tree = ast.parse(src.read_text(encoding="utf-8"))
    hits = sorted(lit.lineno for lit in sink_literals(tree, error_classes() | {"E"}))
    assert hits == [4, 6, 9, 9, 10, 13]


# ---------------------------------------------------------------------------------------------- language


@pytest.mark.parametrize(("env", "want"), [
    ({}, "en"),
    ({"LANG": "ja_JP.UTF-8"}, "ja"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C"}, "en"),
    ({"LANG": "ja_JP.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ja_JP.eucJP"}, "ja"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "en_US.UTF-8", "LC_ALL": "ja_JP.UTF-8"}, "ja"),
    ({"LANG": "ja_JP.UTF-8", "LC_ALL": "C.UTF-8"}, "en"),
    ({"LANG": "ja_JP.UTF-8", "LC_ALL": ""}, "ja"),  # empty means unset (POSIX)
])
def test_the_environment_decides_in_posix_order(env: dict[str, str], want: str) -> None:
    assert detect_language(env, platform="linux") == want


def test_names_of_japanese() -> None:
    for name in ("ja", "ja_JP", "ja_JP.UTF-8", "ja-JP", "Japanese_Japan.932", "JA_jp"):
        assert normalize_language(name) == "ja", name
    for name in ("en", "C", "POSIX", "de_DE.UTF-8", "jav", ""):
        assert normalize_language(name) == "en", name


def test_windows_without_locale_variables_asks_the_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "_windows_ui_language", lambda: "ja")
    assert detect_language({}, platform="win32") == "ja"
    assert detect_language({"LANG": "en_US"}, platform="win32") == "en"  # a set variable still wins
    assert detect_language({}, platform="linux") == "en"


def test_using_language_is_scoped_and_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert i18n.language() == "en"
    with using_language("ja"):
        assert i18n.language() == "ja"
        assert _("Password") == "パスワード"
        assert _("") == ""  # not the catalog's header
        with using_language("en"):
            assert _("Password") == "Password"
    assert i18n.language() == "en"
    assert _("Password") == "Password"


def test_catalogs_are_package_data() -> None:
    import tomllib
    from fnmatch import fnmatch

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["migrator"]
    files = [p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "locale").rglob("*") if p.is_file()]
    assert "locale/ja/LC_MESSAGES/migrate.po" in files
    assert all(any(fnmatch(f, pat) for pat in patterns) for f in files), (files, patterns)


def test_catalog_is_compiled_once_per_language() -> None:
    assert i18n.translations("ja") is i18n.translations("ja")
    assert i18n.translations("en").gettext("Password") == "Password"
    assert i18n.translations("xx").gettext("Password") == "Password"  # no catalog: English


def test_dates_for_people_are_local_with_the_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    from datetime import datetime, timezone

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        moment = datetime(2026, 11, 30, 2, 46, tzinfo=timezone.utc)
        ja = format_datetime(moment, "ja")
        en = format_datetime(moment, "en")
        assert "2026/11/30" in ja and "11:46" in ja and "JST" in ja
        assert "Nov 30, 2026" in en and "11:46" in en and "JST" in en
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
