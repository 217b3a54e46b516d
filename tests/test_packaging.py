"""The pins, the environment and the book's wiring agree with each other."""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from asdlib.paths import REPO_ROOT

REQUIRED = {
    "torch", "torchaudio", "jupyter-book", "jupytext", "papermill", "nbval", "jupyterlab",
    "ipykernel", "plotly", "umap-learn", "scikit-learn", "scipy", "numpy", "pandas",
    "soundfile", "tqdm", "pyyaml", "pytest",
}
PIN_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;,]+)\s*$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(requirements: list[str], source: str) -> dict[str, str]:
    pins = {}
    for req in requirements:
        if req.startswith("-e") or req.strip() == ".":
            continue
        m = PIN_RE.match(req)
        assert m, f"{source}: {req!r} is not an exact pin (name==version)"
        name = _norm(m.group(1))
        assert name not in pins, f"{source}: {name} pinned twice"
        pins[name] = m.group(2)
    return pins


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def pyproject_pins(pyproject) -> dict[str, str]:
    return _pins(pyproject["project"]["dependencies"], "pyproject.toml")


@pytest.fixture(scope="module")
def conda_pins() -> dict[str, str]:
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps, "environment.yml must ask for python=3.11"
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: section"
    return _pins(pip_sections[0], "environment.yml")


def test_pyproject_is_python_311_and_asdlib_only(pyproject):
    project = pyproject["project"]
    assert project["name"] == "asdlib"
    assert project["requires-python"] == ">=3.11,<3.12"
    assert pyproject["tool"]["setuptools"]["packages"]["find"]["include"] == ["asdlib", "asdlib.*"]


def test_every_required_package_is_pinned(pyproject_pins):
    missing = REQUIRED - set(pyproject_pins)
    assert not missing, f"pyproject.toml does not pin {sorted(missing)}"


def test_pyproject_and_environment_yml_pin_the_same_versions(pyproject_pins, conda_pins):
    only_py = {k: v for k, v in pyproject_pins.items() if k not in conda_pins}
    only_conda = {k: v for k, v in conda_pins.items() if k not in pyproject_pins}
    differ = {k: (pyproject_pins[k], conda_pins[k]) for k in pyproject_pins.keys() & conda_pins.keys()
              if pyproject_pins[k] != conda_pins[k]}
    assert not (only_py or only_conda or differ), (
        f"pins disagree: only in pyproject.toml {only_py}, only in environment.yml {only_conda}, "
        f"different (pyproject, environment) {differ}"
    )


def test_torch_and_torchaudio_share_the_211_minor(pyproject_pins):
    minor = lambda v: tuple(v.split("+")[0].split(".")[:2])  # noqa: E731
    assert minor(pyproject_pins["torch"]) == minor(pyproject_pins["torchaudio"]) == ("2", "11")
    assert pyproject_pins["jupyter-book"] == "1.0.4.post1"


def test_running_environment_matches_the_pins(pyproject_pins):
    assert sys.version_info[:2] == (3, 11)
    wrong = {}
    for name, pinned in pyproject_pins.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        # a local build tag (2.11.0+cpu) is the same release
        if installed is None or installed.split("+")[0] != pinned:
            wrong[name] = (pinned, installed)
    assert not wrong, f"installed versions differ from the pins (pinned, installed): {wrong}; run `make venv`"


def test_asdlib_is_imported_from_this_checkout():
    import asdlib

    assert Path(asdlib.__file__).resolve().parent == REPO_ROOT / "asdlib"
    assert importlib.metadata.version("asdlib") == asdlib.__version__


# --------------------------------------------------------------------------- book wiring

def _notebooks() -> list[Path]:
    return sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def _toc_files(node) -> list[str]:
    out = []
    if isinstance(node, dict):
        if "file" in node:
            out.append(node["file"])
        for value in node.values():
            out += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            out += _toc_files(item)
    return out


def test_every_notebook_is_a_chapter_of_the_toc():
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    assert toc["format"] == "jb-book" and toc["root"] == "book/intro"
    chapters = [f for f in _toc_files(toc.get("chapters", toc.get("parts", []))) if f.startswith("book/chapters/")]
    expected = [f"book/chapters/{p.stem}" for p in _notebooks()]
    assert expected, "no notebooks/NN_*.py found"
    assert sorted(chapters) == expected, (
        f"_toc.yml chapters {chapters} != notebooks {expected}: add one line "
        "'- file: book/chapters/<name>' per notebook"
    )


def test_book_config_renders_prerun_notebooks_offline():
    cfg = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
    assert cfg["execute"]["execute_notebooks"] == "off"
    assert cfg["execute"]["timeout"] >= 600
    assert cfg["only_build_toc_files"] is True
    for pattern in (".venv", "_build", "tests", "asdlib", "notebooks", "runs", "data", "benchmarks"):
        assert pattern in cfg["exclude_patterns"], f"_config.yml does not exclude {pattern}"
    sphinx = cfg["sphinx"]["config"]
    assert "mystnb.unknown_mime_type" in sphinx["suppress_warnings"]
    assert sphinx["html_js_files"] == ["plotly.min.js"]
    assert "intersphinx_mapping" not in sphinx


def test_jupytext_pairing_and_filters():
    cfg = tomllib.loads((REPO_ROOT / "jupytext.toml").read_text())
    assert cfg["formats"] == "ipynb,py:percent"
    assert cfg["notebook_metadata_filter"].split(",")[:2] == ["-all", "kernelspec"]
    for key in ("-papermill", "-execution"):
        assert key in cfg["cell_metadata_filter"].split(",")


@pytest.mark.parametrize("nb", _notebooks(), ids=lambda p: p.stem)
def test_notebook_has_kernelspec_and_ci_sized_parameters(nb):
    import jupytext

    notebook = jupytext.read(nb)
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{nb.name}: the header must keep the python3 kernelspec (papermill needs it)")
    params = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{nb.name}: needs exactly one cell tagged parameters"
    assert re.search(r"""^profile(\s*:\s*str)?\s*=\s*["']ci["']""", params[0].source, re.M), (
        f"{nb.name}: the parameters cell must default to profile = \"ci\" (nbval runs the defaults)")


def test_generated_files_are_ignored_by_git_and_the_library_is_not():
    """What the build writes is ignored; no source file of the library is (a root-level ``data/``
    pattern once hid ``asdlib/data/__init__.py`` from git, and a fresh clone could not import it)."""
    import subprocess

    generated = ["notebooks/00_dataset.ipynb", "book/chapters/00_dataset.ipynb", "_static/plotly.min.js",
                 "_build/html/index.html", "runs/ci/x.json", "data/synthetic/demo/x.wav", ".venv/bin/python"]
    sources = [str(p.relative_to(REPO_ROOT)) for p in sorted((REPO_ROOT / "asdlib").rglob("*.py"))]
    out = subprocess.run(["git", "check-ignore", "--no-index", *generated, *sources], cwd=REPO_ROOT,
                         capture_output=True, text=True)
    ignored = set(out.stdout.split())
    assert set(generated) <= ignored, f"not ignored: {sorted(set(generated) - ignored)}"
    assert not ignored & set(sources), f"library sources ignored by .gitignore: {sorted(ignored & set(sources))}"


def test_makefile_offers_the_readme_targets():
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    assert {"venv", "data", "ipynb", "run", "book", "test", "lab", "clean"} <= targets
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
