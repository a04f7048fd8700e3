"""Public functions of migrator/ carry a docstring (shapes, units, errors raised, the spec they follow).

Public: a function or method whose name and enclosing classes' names do not start with `_`
(properties included; dunder methods and private helpers excluded).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "migrator"
MIN_COVERAGE = 1.0  # every public function (a new one without a docstring fails here)


def undocumented(path: Path, root: Path = ROOT) -> tuple[int, list[str]]:
    """(public functions in the module, `file:line qualname` of those without a docstring; file
    relative to `root`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    total = 0
    missing: list[str] = []

    def walk(node: ast.AST, prefix: str) -> None:
        nonlocal total
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                if child.name.startswith("_"):
                    continue
                total += 1
                if not ast.get_docstring(child):
                    missing.append(f"{path.relative_to(root).as_posix()}:{child.lineno} {prefix}{child.name}")
            elif isinstance(child, ast.ClassDef) and not child.name.startswith("_"):
                walk(child, f"{prefix}{child.name}.")

    walk(tree, "")
    return total, missing


def test_public_functions_have_docstrings() -> None:
    total, missing = 0, []
    for path in sorted(PACKAGE.rglob("*.py")):
        n, bad = undocumented(path)
        total += n
        missing += bad
    coverage = 1 - len(missing) / total
    assert coverage >= MIN_COVERAGE, (f"{len(missing)} of {total} public functions have no docstring "
                                      f"({coverage:.0%} < {MIN_COVERAGE:.0%}):\n" + "\n".join(missing))


def test_the_counter_sees_methods_and_skips_private(tmp_path: Path) -> None:
    src = tmp_path / "probe.py"
    src.write_text('def a():\n    """Doc."""\n\ndef b():\n    pass\n\ndef _c():\n    pass\n\n'
                   'class K:\n    def m(self):\n        pass\n\n    def __init__(self):\n        pass\n\n'
                   'class _P:\n    def m(self):\n        pass\n', encoding="utf-8")
    total, missing = undocumented(src, tmp_path)
    assert total == 3
    assert [m.split(" ")[1] for m in missing] == ["b", "K.m"]
