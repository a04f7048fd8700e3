"""The layout stays the architecture (docs/architecture.md): checked from the source, not by convention.

- import direction: a module imports only its own layer or layers to its left,
  domain < imap < journal < sources < flows < batch < render < web < cli (module-level AND function-level imports);
- every module under migrator/ at most MAX_LINES lines;
- imapclient imported only under migrator/imap/, sqlite3 only under migrator/journal/;
- no POSIX-only (or Windows-only) module imported at module level: the package must import on
  Windows, macOS and Linux alike (import such a module inside the function that needs it, behind
  a platform check).

Known exceptions live in ALLOWED below, each with who removes it; it must end empty.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "migrator"
MAX_LINES = 600
LAYERS = ("domain", "imap", "journal", "sources", "flows", "batch", "render", "web", "cli")
# only these may import these third-party / stdlib modules (top-level module name -> layer folder)
OWNERS = {"imapclient": "imap", "sqlite3": "journal"}
# modules that exist only on POSIX or only on Windows (importing one at module level breaks the other)
PLATFORM_ONLY = frozenset({
    "fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "crypt", "spwd", "syslog",
    "nis", "ossaudiodev", "readline", "curses", "msvcrt", "winreg", "winsound", "_winapi", "nt",
})

# The one allow-list of known exceptions: (rule, module path relative to the repository). Each line
# names who removes it; the list must be empty when issue 17 is done.
ALLOWED: frozenset[tuple[str, str]] = frozenset({
})


@dataclass(frozen=True)
class Import:
    module: str  # absolute dotted name (relative imports resolved)
    line: int
    top_level: bool  # at module level (not inside a function); `if TYPE_CHECKING:` counts as not imported


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, dotted: str | None = None) -> list[Import]:
    """Every import statement in the module (dotted name `dotted`, by default from its path), with
    its absolute target and whether it runs at import time."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    dotted = dotted or _dotted(path)
    package = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
    out: list[Import] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                out.extend(Import(a.name, child.lineno, top) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                # `from migrator.flows import plan` imports migrator.flows.plan
                out.append(Import(mod, child.lineno, top))
                out.extend(Import(f"{mod}.{a.name}", child.lineno, top) for a in child.names if a.name != "*")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:  # annotations only: never imported at run time
                    visit(ast.Module(body=[stmt], type_ignores=[]), False)
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), top)
            else:
                visit(child, top)

    visit(tree, True)
    return out


def _layer(dotted: str) -> str | None:
    """The layer of a migrator module (`migrator.flows.plan` -> flows); None outside the layers
    (the package root `migrator` and its __init__, __main__)."""
    parts = dotted.split(".")
    if parts[0] != "migrator" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _violations() -> dict[str, list[tuple[str, str]]]:
    """rule -> [(module path, what)] over the whole package."""
    found: dict[str, list[tuple[str, str]]] = {"layer": [], "size": [], "owner": [], "platform": []}
    for path in _modules():
        rel = _rel(path)
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            found["size"].append((rel, f"{lines} lines > {MAX_LINES}"))
        own = _layer(_dotted(path))
        for imp in _imports(path):
            top = imp.module.split(".")[0]
            target = _layer(imp.module)
            if own is not None and target is not None and LAYERS.index(target) > LAYERS.index(own):
                found["layer"].append((rel, f"line {imp.line}: {own} imports {imp.module} ({target} is above it)"))
            if top in OWNERS and own != OWNERS[top]:
                found["owner"].append((rel, f"line {imp.line}: imports {top} (only migrator/{OWNERS[top]}/ may)"))
            if top in PLATFORM_ONLY and imp.top_level:
                found["platform"].append((rel, f"line {imp.line}: imports {top} at module level"))
    return found


@pytest.fixture(scope="module")
def violations() -> dict[str, list[tuple[str, str]]]:
    return _violations()


def _check(violations: dict[str, list[tuple[str, str]]], rule: str) -> None:
    bad = [f"{rel}: {what}" for rel, what in violations[rule] if (rule, rel) not in ALLOWED]
    assert not bad, "\n".join(bad)


def test_imports_go_left_only(violations: dict[str, list[tuple[str, str]]]) -> None:
    """domain < imap < journal < sources < flows < batch < render < web < cli: nothing imports a layer above it."""
    _check(violations, "layer")


def test_modules_stay_under_the_size_limit(violations: dict[str, list[tuple[str, str]]]) -> None:
    _check(violations, "size")


def test_imapclient_only_in_imap_and_sqlite_only_in_the_journal(violations: dict[str, list[tuple[str, str]]]) -> None:
    _check(violations, "owner")


def test_no_platform_only_module_at_module_level(violations: dict[str, list[tuple[str, str]]]) -> None:
    _check(violations, "platform")


def test_every_module_is_in_a_layer() -> None:
    """A new top-level module or folder must be placed in the layer order (or be the package root)."""
    stray = [_rel(p) for p in _modules()
             if _layer(_dotted(p)) is None and _dotted(p) not in ("migrator", "migrator.__main__")]
    assert not stray, f"outside the layers {LAYERS}: {stray}"


def test_allow_list_holds_only_live_exceptions(violations: dict[str, list[tuple[str, str]]]) -> None:
    """An exception that no longer happens is taken off the list (so the list can only shrink)."""
    live = {(rule, rel) for rule, found in violations.items() for rel, _ in found}
    stale = sorted(ALLOWED - live)
    assert not stale, f"remove from ALLOWED (fixed): {stale}"


# -- the checker itself, on made-up modules ---------------------------------------------------

def test_checker_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    src = tmp_path / "mod.py"
    src.write_text(
        "import os\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import fcntl\n"
        "def f():\n"
        "    import termios\n"
        "    from migrator.render import terminal\n"
        "    from ..journal import state\n"
        "    return termios, terminal, state\n",
        encoding="utf-8",
    )
    got = {(i.module, i.top_level) for i in _imports(src, "migrator.domain.mod")}
    assert ("os", True) in got
    assert ("fcntl", False) in got
    assert ("termios", False) in got
    assert ("migrator.render.terminal", False) in got
    assert ("migrator.journal.state", False) in got


def test_layer_of_a_dotted_name() -> None:
    assert _layer("migrator.domain.records") == "domain"
    assert _layer("migrator.cli") == "cli"
    assert _layer("migrator.cli.batch") == "cli"
    assert _layer("migrator.batch.board") == "batch"
    assert _layer("migrator") is None
    assert _layer("imapclient") is None
    assert LAYERS.index("imap") < LAYERS.index("journal") < LAYERS.index("sources")
