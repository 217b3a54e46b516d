"""The layer order of CONTRIBUTING.md holds: no module imports a module of a higher layer."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from asdlib.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "asdlib"


def _layers() -> dict[str, int]:
    """``{module: layer}`` from the table of CONTRIBUTING.md (rows ``| N | `a`, `b` | ...``)."""
    text = (REPO_ROOT / "CONTRIBUTING.md").read_text()
    out = {}
    for layer, modules in re.findall(r"^\| (\d+) \| ([^|]+) \|", text, flags=re.M):
        for name in re.findall(r"`(\w+)`", modules):
            out[name] = int(layer)
    return out


def _unit(path: Path) -> str:
    """The table name of a source file: its top-level module or sub-package under asdlib."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """Top-level asdlib modules / sub-packages that ``path`` imports (at any depth of the file)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = list(parts[:-1])[: len(parts) - node.level]
            full = base + (node.module.split(".") if node.module else [])
            found |= {full[0]} if full else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "asdlib":
            sub = node.module.split(".")[1:]
            found |= {sub[0]} if sub else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("asdlib.")}
    return {m for m in found if not m.startswith("__")}


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_the_table_parses_and_names_every_module():
    layers = _layers()
    assert layers["paths"] == 0 and layers["viz"] == max(layers.values())
    missing = sorted({_unit(p) for p in SOURCES} - set(layers))
    assert not missing, f"modules not in CONTRIBUTING.md's layer table: {missing}; add them to a layer"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    layers = _layers()
    me = _unit(path)
    higher = {m: layers.get(m) for m in _imports(path) - {me} if layers.get(m, -1) > layers[me]}
    assert not higher, (f"{path.relative_to(REPO_ROOT)} (layer {layers[me]}) imports higher layers {higher}; "
                        "move the shared code down or the import up (CONTRIBUTING.md)")
