"""Each package's `__all__` is its public face, and other packages import only through it.

The dependency *directions* are import-linter's contracts (`[tool.importlinter]` in
pyproject.toml, run by scripts/test.sh); this test checks what import-linter cannot: that code in
one package names another package only as `from other import Name`, with `Name` listed in
`other.__all__`, and that every listed name exists. Tests may reach into modules; the packages may
not.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(
    path.parent.name
    for path in ROOT.glob("*/__init__.py")
    if path.parent.name not in {"tests", "deploy", "docs", "scripts"}
)

NOTHING_TO_IMPORT = {"facmon", "dashboards"}


@dataclass(frozen=True)
class CrossImport:
    """One import statement in `module` that names another package of the project."""

    module: str
    line: int
    target: str  # the module named in the statement, e.g. "maintenance" or "maintenance.sql"
    names: tuple[str, ...]  # the names taken from it; empty for `import x.y`

    def __str__(self) -> str:
        taken = f" import {', '.join(self.names)}" if self.names else ""
        return f"{self.module}:{self.line}: from {self.target}{taken}"


def declared_all(package: str) -> tuple[str, ...]:
    """The literal `__all__` of a package's `__init__.py`, without importing it."""
    tree = ast.parse((ROOT / package / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return tuple(ast.literal_eval(value))
    return ()


def cross_imports(package: str) -> list[CrossImport]:
    """Every import in `package`'s modules that names another project package."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            found.extend(_cross(module, package, node))
    return found


def _cross(module: str, package: str, node: ast.AST) -> list[CrossImport]:
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        names = tuple(alias.name for alias in node.names)
        statements = [(node.module, names)]
    elif isinstance(node, ast.Import):
        statements = [(alias.name, ()) for alias in node.names]
    else:
        return []
    return [
        CrossImport(module, node.lineno, target, names)
        for target, names in statements
        if target.split(".")[0] in PACKAGES and target.split(".")[0] != package
    ]


def test_the_project_has_packages_to_check() -> None:
    assert {"facility", "ingest", "analytics", "maintenance", "api", "facmon"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_names_its_public_face(package: str) -> None:
    public = declared_all(package)
    imported = importlib.import_module(package)
    # Nothing imports facmon (its face is the command line); dashboards holds only assets.
    assert public or package in NOTHING_TO_IMPORT, f"{package}/__init__.py declares no __all__"
    missing = [name for name in public if not hasattr(imported, name)]
    assert not missing, f"{package}.__all__ lists names it does not define: {missing}"


@pytest.mark.parametrize("package", PACKAGES)
def test_other_packages_are_imported_through_their_public_face(package: str) -> None:
    wrong = []
    for statement in cross_imports(package):
        target = statement.target
        if "." in target or not statement.names:
            wrong.append(f"{statement}  (reaches into a module)")
            continue
        hidden = set(statement.names) - set(declared_all(target))
        if hidden:
            wrong.append(f"{statement}  (not in {target}.__all__: {sorted(hidden)})")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_reach_into_a_module(tmp_path: Path) -> None:
    """The AST walk recognises the forms the rule forbids, so an empty result means something."""
    source = "from maintenance.sql import SqlStore\nimport ingest.codec\nfrom facility import X\n"
    found = [
        statement
        for node in ast.walk(ast.parse(source))
        for statement in _cross("api.example", "api", node)
    ]
    assert [s.target for s in found] == ["maintenance.sql", "ingest.codec", "facility"]
