"""The dependency rules of docs/architecture.md, checked on the source: imports point down, and
one package reaches another only through names in that package's `__all__`."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GROUND = {"facility", "timeseries", "broker", "localservers", "notifications"}
EVERYTHING = GROUND | {"ingest", "analytics", "maintenance", "simulators", "dashboards", "api"}
MAY_IMPORT = {
    "facility": set(),
    **{adapter: {"facility"} for adapter in GROUND - {"facility"}},
    # analytics and maintenance never import each other: facmon wires them together.
    **dict.fromkeys(("ingest", "analytics", "maintenance", "simulators"), GROUND),
    "dashboards": GROUND,
    "api": EVERYTHING,
    "benchmarks": EVERYTHING,
    "facmon": EVERYTHING | {"benchmarks"},
}
# Packages whose imports of other packages go through `__all__` (api/ and maintenance/ are
# being restructured on their own; they join this list when they are done).
THROUGH_ALL = sorted(set(MAY_IMPORT) - {"api", "maintenance"})


def imports(package: str) -> Iterator[tuple[Path, ast.ImportFrom | ast.Import]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                yield path, node


def top_level(node: ast.ImportFrom | ast.Import) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module.split(".")[0]] if node.module and node.level == 0 else []
    return [alias.name.split(".")[0] for alias in node.names]


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_imports_point_down(package: str) -> None:
    ours = set(MAY_IMPORT)
    wrong = {
        f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
        for path, node in imports(package)
        for name in top_level(node)
        if name in ours and name != package and name not in MAY_IMPORT[package]
    }
    assert not wrong, sorted(wrong)


@pytest.mark.parametrize("package", THROUGH_ALL)
def test_other_packages_are_reached_through_their_all(package: str) -> None:
    wrong = []
    for path, node in imports(package):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        target = node.module.split(".")[0]
        if target == package or target not in MAY_IMPORT:
            continue
        public = set(importlib.import_module(target).__all__)
        names = {alias.name for alias in node.names}
        if node.module != target or not names <= public:
            wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module} {names}")
    assert not wrong, wrong
