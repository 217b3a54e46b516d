"""The library's shape: packages in data-flow order (``asdlib.PIPELINE``), no package imports a
later one, no import cycle between modules, and ``ls asdlib`` stays short."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import asdlib
from asdlib.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "asdlib"
SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


def _module(path: Path) -> str:
    """``asdlib/data/layout.py`` -> ``asdlib.data.layout``; a package's ``__init__`` -> the package."""
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in SOURCES}


def _imports(path: Path) -> set[str]:
    return _imports_of(path.read_text(), _module(path), path.name == "__init__.py")


def _imports_of(source: str, me: str, is_package: bool) -> set[str]:
    """The asdlib modules a source imports, anywhere in the file (a lazy import is still a dependency).
    ``from asdlib.x import name`` counts as ``asdlib.x.name`` when that is a module, else ``asdlib.x``."""
    package = me if is_package else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith("asdlib"):
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in MODULES else module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("asdlib.")}
    return {m for m in found if m in MODULES and m != me}


def _package(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def test_the_pipeline_names_every_package_and_ls_stays_short():
    entries = sorted(p.name.removesuffix(".py") for p in PACKAGE.iterdir()
                     if p.name not in ("__init__.py", "__main__.py", "__pycache__"))
    assert sorted(asdlib.PIPELINE) == entries, "asdlib.PIPELINE must list every package and module of asdlib/"
    assert len(entries) <= 12, f"ls asdlib has {len(entries)} entries: keep the library thin"


@pytest.mark.parametrize("path", [p for p in SOURCES if p != PACKAGE / "__init__.py"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_later_package(path):
    order = {name: i for i, name in enumerate(asdlib.PIPELINE)}
    me = _package(_module(path))
    later = sorted(m for m in _imports(path) if _package(m) != "__init__" and order[_package(m)] > order[me])
    assert not later, (f"{path.relative_to(REPO_ROOT)} ({me}) imports {later}, later in asdlib.PIPELINE "
                       f"{asdlib.PIPELINE}; move the shared code down or the import up")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module -> modules it imports) as a closed path, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(m: str, path: list[str]) -> list[str] | None:
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                trail = path + [m]
                return trail[trail.index(n):] + [n]
            if n not in state and (cycle := visit(n, path + [m])):
                return cycle
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m, [])):
            return cycle
    return None


def test_no_import_cycles():
    cycle = find_cycle({m: _imports(p) for m, p in MODULES.items()})
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checks_see_a_planted_cycle_and_a_later_import():
    """The checks are not vacuous: a planted cycle and a planted upward import are found."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    found = _imports_of("def f():\n    from asdlib.book.runs import RunFolder\nfrom .names import clip_name\n",
                        "asdlib.data.layout", is_package=False)
    assert found == {"asdlib.book.runs", "asdlib.data.names"}
    order = {name: i for i, name in enumerate(asdlib.PIPELINE)}
    assert order["book"] > order["data"]
