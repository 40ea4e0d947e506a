"""api/ uses other packages only through the names their __init__ publishes (`__all__`)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"facility", "ingest", "analytics", "maintenance", "simulators", "benchmarks"}


def foreign_imports(source: Path) -> list[tuple[str, str]]:
    """(module, name) for every `from <other package>... import name` in a file."""
    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, "*") for a in node.names if a.name.split(".")[0] in PACKAGES]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top = node.module.split(".")[0]
            found += [(node.module, a.name) for a in node.names if top in PACKAGES]
    return found


def test_api_imports_only_public_names_of_other_packages() -> None:
    wrong = []
    for source in sorted((ROOT / "api").rglob("*.py")):
        for module, name in foreign_imports(source):
            public = getattr(importlib.import_module(module), "__all__", ())
            if "." in module or name not in public:
                wrong.append(f"{source.relative_to(ROOT)}: from {module} import {name}")
    assert not wrong, (
        "import these from the package's __init__ (add them to __all__):\n" + "\n".join(wrong)
    )


def test_api_does_not_import_facmon() -> None:
    for source in (ROOT / "api").rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "from facmon" not in text and "import facmon" not in text, source
