"""Running the book: notebooks executed with papermill, and run folders for results.

Command line (from the repository root, inside the venv)::

    python -m asdlib.experiment run-all --profile demo
    python -m asdlib.experiment run-all --profile ci --only 00 02 --set 02_baselines:epochs=3
    python -m asdlib.experiment run notebooks/02_baselines.py -p profile demo -p epochs 5 [-o out.ipynb]

``run-all`` executes every ``notebooks/NN_*.py`` in order with ``profile=<profile>`` and
writes the executed notebooks to ``book/chapters/<name>.ipynb`` (what the book renders),
plus ``runs/<profile>/run_summary.json``. The paired ``notebooks/*.ipynb`` are never
written: papermill adds an "injected-parameters" cell that the next jupytext sync would
copy into the ``.py``.

``RunFolder`` is the unit of reproducibility for results: ``runs/<...>/config.json``,
``environment.json`` and whatever the chapter saves there (weights, scores, metrics).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from asdlib.paths import REPO_ROOT

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
CHAPTERS_DIR = REPO_ROOT / "book" / "chapters"
RUNS_ROOT = REPO_ROOT / "runs"
NOTEBOOK_GLOB = "[0-9][0-9]_*.py"
#: Per-cell time limit (seconds) for papermill; a training cell at "full" size can be long.
DEFAULT_CELL_TIMEOUT = 4 * 3600

#: Packages whose versions go into run_summary.json / environment.json.
VERSIONED_PACKAGES = ("torch", "torchaudio", "numpy", "scipy", "pandas", "scikit-learn",
                      "umap-learn", "plotly", "papermill", "jupytext", "asdlib")


class NotebookFailed(RuntimeError):
    """A notebook raised (or timed out / lost its kernel) while papermill executed it."""

    def __init__(self, notebook: Path, output: Path, reason: str):
        self.notebook = Path(notebook)
        self.output = Path(output)
        self.reason = reason
        super().__init__(
            f"notebook {_rel(self.notebook)} failed: {reason}\n"
            f"  partial output (cells run so far, with the error): {_rel(self.output)}"
        )


# --------------------------------------------------------------------------- utilities

def _rel(path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def package_versions(names: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str | None]:
    """Installed versions (from package metadata: nothing is imported)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    if out.get("asdlib") is None:
        from asdlib import __version__

        out["asdlib"] = __version__
    return out


def git_commit(repo: Path = REPO_ROOT) -> str | None:
    """``HEAD`` of the checkout, with ``+dirty`` when tracked files are modified; None
    without git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=repo, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, paths, numpy scalars/arrays, tuples and sets turned into JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist") and type(obj).__module__ == "numpy":
        return obj.tolist()
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    return obj


def _write_json(path: Path, obj: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(to_jsonable(obj), indent=2, allow_nan=True) + "\n")
    tmp.replace(path)
    return path


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


# --------------------------------------------------------------------------- run folders

@dataclasses.dataclass
class RunFolder:
    """One experiment's folder: ``config.json``, ``environment.json`` and its results.

    >>> run = RunFolder.create("runs/demo", "02_baselines/ae_mse", config)   # doctest: +SKIP
    >>> torch.save(model.state_dict(), run.path("weights", "fan.pt"))     # doctest: +SKIP
    >>> run.save_table("scores_fan", scores_df)                           # doctest: +SKIP
    """

    root: Path

    @classmethod
    def create(cls, base: str | Path, name: str, config: Any = None,
               seed: int | None = None) -> "RunFolder":
        """Make ``<base>/<name>/`` and write ``config.json`` and ``environment.json``.

        A relative ``base`` is taken from the repository root (notebooks run with
        ``cwd=notebooks/``). ``config`` is a dataclass or a dict; ``seed`` defaults to
        its ``seed`` entry. Re-creating an existing folder rewrites both files (a re-run
        replaces the previous one) and keeps other files until they are overwritten.
        """
        base = Path(base)
        if not base.is_absolute():
            base = REPO_ROOT / base
        cfg = to_jsonable(config) if config is not None else {}
        if not isinstance(cfg, dict):
            raise TypeError(f"config must be a dataclass or a dict, got {type(config).__name__}")
        root = base / name
        root.mkdir(parents=True, exist_ok=True)
        if seed is None:
            seed = cfg.get("seed")
        run = cls(root)
        run.save_json("config", cfg)
        run.save_json("environment", environment_info(seed=seed))
        return run

    def path(self, *parts: str) -> Path:
        """A path inside the run folder; its parent folders are created."""
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def save_json(self, name: str, obj: Any) -> Path:
        """Write ``<name>.json`` (dataclasses, numpy values and paths are converted)."""
        return _write_json(self.path(_with_suffix(name, ".json")), obj)

    def load_json(self, name: str) -> Any:
        return json.loads(self.path(_with_suffix(name, ".json")).read_text())

    def save_table(self, name: str, df, index: bool = False) -> Path:
        """Write a DataFrame (or anything ``pandas.DataFrame`` accepts) as ``<name>.csv``."""
        import pandas as pd

        if not isinstance(df, pd.DataFrame):
            df = pd.DataFrame(df)
        path = self.path(_with_suffix(name, ".csv"))
        df.to_csv(path, index=index)
        return path

    def __fspath__(self) -> str:
        return str(self.root)


@dataclasses.dataclass
class ChapterData:
    """The dataset a chapter runs on: its root, its clip table, and how to label its numbers."""

    root: Path
    clips: Any  # pandas.DataFrame (asdlib.data.CLIP_COLUMNS)
    label: str  # e.g. "ours, SYNTHETIC demo data": every table row of ours carries it
    synthetic: bool


def chapter_data(profile: str, data_root: str | Path = "", machine_types: Iterable[str] | None = None,
                 data_seed: int = 0) -> ChapterData:
    """Locate (or generate) a chapter's dataset and scan it, once for every chapter.

    Empty ``data_root``: the generated dataset of ``profile`` (``paper`` uses ``full``),
    made on first use. Otherwise a DCASE-layout folder; it counts as synthetic only when it
    carries the generator's manifest. Problems found while scanning are warned by name.
    """
    from asdlib import data, synth

    if data_root:
        root = Path(data_root)
        manifest = synth.read_manifest(root) if root.is_dir() else None
    else:
        root = synth.ensure_dataset({"paper": "full"}.get(profile, profile), seed=data_seed)
        manifest = synth.read_manifest(root)
    synthetic = bool(manifest and manifest.get("synthetic"))
    label = (f"ours, SYNTHETIC {manifest['profile']} data" if synthetic
             else f"ours, external data ({root.name}, not generated)")
    clips = data.clip_table(root, list(machine_types) if machine_types else None)
    return ChapterData(root=root, clips=clips, label=label, synthetic=synthetic)


def _with_suffix(name: str, suffix: str) -> str:
    return name if name.endswith(suffix) else name + suffix


def environment_info(seed: int | None = None, device: bool = True) -> dict[str, Any]:
    """Versions, platform, git commit, seed and (with ``device``) the torch device."""
    info: dict[str, Any] = {
        "created": _now(),
        "versions": package_versions(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
        "git_commit": git_commit(),
        "seed": seed,
    }
    if device:
        try:
            from asdlib.runtime import default_device

            info["device"] = str(default_device())
        except Exception as exc:  # torch missing or broken: record it, do not fail a run
            info["device"] = f"unknown ({type(exc).__name__}: {exc})"
    return info


# --------------------------------------------------------------------------- notebooks

def _check_kernel(kernel_name: str) -> None:
    """Fail early when the kernel named ``kernel_name`` would run another Python."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel as exc:
        raise RuntimeError(f"no Jupyter kernel named {kernel_name!r}; install ipykernel in "
                           f"this environment ({sys.prefix})") from exc
    exe = spec.argv[0] if spec.argv else ""
    if os.path.isabs(exe) and Path(exe).parent != Path(sys.executable).parent:
        raise RuntimeError(
            f"the {kernel_name!r} kernel runs {exe}, not this environment's Python "
            f"({sys.executable}); remove that kernelspec ({spec.resource_dir}) or run from "
            "the environment it belongs to"
        )


def run_notebook(
    src_py: str | Path,
    out_ipynb: str | Path,
    parameters: Mapping[str, Any] | None = None,
    cwd: str | Path = NOTEBOOKS_DIR,
    timeout: float | None = DEFAULT_CELL_TIMEOUT,
    kernel_name: str = "python3",
    log_output: bool = False,
    progress_bar: bool = False,
) -> Path:
    """Execute a paired ``.py`` notebook with papermill and save the executed ``.ipynb``.

    The ``.py`` is read in memory by jupytext (no ``.ipynb`` twin is needed or touched);
    ``parameters`` are injected after the cell tagged ``parameters``; the kernel is this
    environment's ``python3`` and starts in ``cwd``. ``timeout`` is per cell (seconds).
    The output is saved after every cell, so on failure it holds everything up to the
    error; :class:`NotebookFailed` then names the notebook and that file.
    """
    import jupytext
    import papermill as pm

    src_py, out_ipynb = Path(src_py), Path(out_ipynb)
    if not src_py.is_file():
        raise FileNotFoundError(f"no notebook at {src_py}")
    if out_ipynb.suffix != ".ipynb":
        raise ValueError(f"output must be an .ipynb file, got {out_ipynb}")
    paired = src_py.with_suffix(".ipynb")
    if out_ipynb.resolve() == paired.resolve() or out_ipynb.resolve() == src_py.resolve():
        raise ValueError(
            f"refusing to write the executed notebook over the paired {_rel(paired)}: the next "
            "jupytext sync would copy papermill's injected cell into the .py; choose another output"
        )
    _check_kernel(kernel_name)
    out_ipynb.parent.mkdir(parents=True, exist_ok=True)

    nb = jupytext.read(src_py)
    try:
        pm.execute_notebook(
            nb,
            str(out_ipynb),
            parameters=dict(parameters or {}),
            kernel_name=kernel_name,
            language="python",
            cwd=str(cwd),
            execution_timeout=timeout,
            log_output=log_output,
            progress_bar=progress_bar,
            request_save_on_cell_execute=True,
        )
    except pm.PapermillExecutionError as exc:
        reason = f"cell {exc.exec_count} raised {exc.ename}: {exc.evalue}"
        raise NotebookFailed(src_py, out_ipynb, reason) from exc
    except Exception as exc:  # timeouts, dead kernels, bad parameters...
        raise NotebookFailed(src_py, out_ipynb, f"{type(exc).__name__}: {exc}") from exc
    return out_ipynb


def find_notebooks(notebooks_dir: str | Path = NOTEBOOKS_DIR,
                   names: Iterable[str] | None = None) -> list[Path]:
    """The chapters ``NN_*.py`` in order; ``names`` keeps those whose stem equals or starts
    with one of the names (``"02"`` or ``"02_baselines"``). Unknown names are an error."""
    notebooks_dir = Path(notebooks_dir)
    found = sorted(notebooks_dir.glob(NOTEBOOK_GLOB))
    if not found:
        raise FileNotFoundError(f"no notebooks matching {NOTEBOOK_GLOB} in {notebooks_dir}")
    if names is None:
        return found
    names = [Path(n).stem for n in names]
    unknown = [n for n in names if not any(p.stem.startswith(n) for p in found)]
    if unknown:
        raise ValueError(f"no notebook matches {unknown}; known: {[p.stem for p in found]}")
    return [p for p in found if any(p.stem.startswith(n) for n in names)]


def declared_parameters(src_py: str | Path) -> set[str]:
    """Names assigned in a notebook's ``parameters`` cell (read from the paired .py)."""
    text = Path(src_py).read_text()
    m = re.search(r'^# %% tags=\["parameters"\]\n(.*?)(?=^# %%)', text, flags=re.S | re.M)
    if not m:
        return set()
    return set(re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=", m.group(1), flags=re.M))


def run_all(
    profile: str,
    out_dir: str | Path = CHAPTERS_DIR,
    names: Iterable[str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    notebooks_dir: str | Path = NOTEBOOKS_DIR,
    runs_dir: str | Path = RUNS_ROOT,
    timeout: float | None = DEFAULT_CELL_TIMEOUT,
    log: Any = print,
    restart: bool = False,
) -> dict[str, Any]:
    """Execute the chapters in order with ``{"profile": profile}`` (+ ``overrides[stem]``).

    ``restart=True`` also passes ``restart=True`` to every notebook that declares that
    parameter, so trained models are rebuilt from scratch (the book is built this way: its
    numbers never come from checkpoints of an older dataset or an earlier code version).

    Writes ``<out_dir>/<stem>.ipynb`` per notebook and ``<runs_dir>/<profile>/run_summary.json``
    (updated after every notebook: name, seconds, status, parameters, versions, git commit).
    Stops at the first failure with :class:`NotebookFailed`; the summary then marks that
    notebook ``failed`` and the rest ``not run``.
    """
    notebooks = find_notebooks(notebooks_dir, names)
    overrides = dict(overrides or {})
    unknown = set(overrides) - {p.stem for p in notebooks}
    if unknown:
        raise ValueError(f"overrides for notebooks that are not run: {sorted(unknown)}")
    out_dir = Path(out_dir)
    summary_path = Path(runs_dir) / profile / "run_summary.json"
    summary: dict[str, Any] = {
        "profile": profile,
        "started": _now(),
        "finished": None,
        "status": "running",
        "git_commit": git_commit(),
        "versions": package_versions(),
        "platform": platform.platform(),
        "notebooks": [
            {"notebook": _rel(p), "output": _rel(out_dir / f"{p.stem}.ipynb"),
             "parameters": {"profile": profile,
                            **({"restart": True} if restart and "restart" in declared_parameters(p) else {}),
                            **overrides.get(p.stem, {})},
             "status": "not run", "seconds": None}
            for p in notebooks
        ],
    }
    _write_json(summary_path, summary)
    t_all = time.perf_counter()
    for i, (src, entry) in enumerate(zip(notebooks, summary["notebooks"]), 1):
        log(f"[{i}/{len(notebooks)}] {src.stem}  parameters={entry['parameters']}")
        t0 = time.perf_counter()
        try:
            run_notebook(src, out_dir / f"{src.stem}.ipynb", entry["parameters"],
                         cwd=notebooks_dir, timeout=timeout)
        except NotebookFailed as exc:
            entry.update(status="failed", seconds=round(time.perf_counter() - t0, 1),
                         error=exc.reason)
            summary.update(status="failed", finished=_now(),
                           seconds=round(time.perf_counter() - t_all, 1))
            _write_json(summary_path, summary)
            log(f"[{i}/{len(notebooks)}] {src.stem}  FAILED after {entry['seconds']} s")
            raise
        entry.update(status="ok", seconds=round(time.perf_counter() - t0, 1))
        _write_json(summary_path, summary)
        log(f"[{i}/{len(notebooks)}] {src.stem}  ok in {entry['seconds']} s")
    summary.update(status="ok", finished=_now(), seconds=round(time.perf_counter() - t_all, 1))
    _write_json(summary_path, summary)
    log(f"all {len(notebooks)} notebooks ok in {summary['seconds']} s -> {_rel(out_dir)}/ "
        f"(summary: {_rel(summary_path)})")
    return summary


# --------------------------------------------------------------------------- command line

_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def parse_value(text: str) -> Any:
    """A command-line value as a YAML scalar (``5`` → 5, ``true`` → True, ``null`` → None,
    ``[1, 2]`` → list); ``1e-3`` (a string in YAML 1.1) is read as a float too."""
    import yaml

    value = yaml.safe_load(text) if text.strip() else text
    if isinstance(value, str) and _FLOAT_RE.match(value):
        return float(value)
    return value


def _parse_overrides(items: Iterable[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        try:
            target, assignment = item.split(":", 1)
            key, value = assignment.split("=", 1)
        except ValueError:
            raise SystemExit(f"--set expects NOTEBOOK:KEY=VALUE, got {item!r}") from None
        out.setdefault(Path(target).stem, {})[key] = parse_value(value)
    return out


def _resolve_notebook(arg: str) -> Path:
    p = Path(arg)
    if p.suffix == ".py" and p.is_file():
        return p
    matches = find_notebooks(NOTEBOOKS_DIR, [p.stem])
    if len(matches) != 1:
        raise SystemExit(f"{arg!r} matches {len(matches)} notebooks: {[m.stem for m in matches]}")
    return matches[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asdlib.experiment", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p_all = sub.add_parser("run-all", help="execute every notebooks/NN_*.py into book/chapters/")
    p_all.add_argument("--profile", default="demo", help="dataset/training size: ci, demo, full (default demo)")
    p_all.add_argument("--only", nargs="+", metavar="NAME", help="run only these notebooks (stem or NN prefix)")
    p_all.add_argument("--set", action="append", default=[], metavar="NB:KEY=VALUE",
                       help="extra parameter for one notebook, e.g. 02_baselines:epochs=5 (repeatable)")
    p_all.add_argument("--out-dir", type=Path, default=CHAPTERS_DIR)
    p_all.add_argument("--restart", action="store_true",
                       help="pass restart=True to notebooks that train (fresh models, no old checkpoints)")
    p_all.add_argument("--timeout", type=float, default=DEFAULT_CELL_TIMEOUT, help="per-cell seconds")

    p_one = sub.add_parser("run", help="execute one notebook with parameters")
    p_one.add_argument("notebook", help="notebooks/NN_name.py (or its stem / NN prefix)")
    p_one.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                       metavar=("NAME", "VALUE"), help="parameter (value read as a YAML scalar)")
    p_one.add_argument("-o", "--output", type=Path,
                       help="executed notebook (default runs/<profile>/notebooks/<name>.ipynb)")
    p_one.add_argument("--timeout", type=float, default=DEFAULT_CELL_TIMEOUT, help="per-cell seconds")
    p_one.add_argument("--log-output", action="store_true", help="stream cell output to the terminal")

    args = parser.parse_args(argv)
    try:
        if args.command == "run-all":
            run_all(args.profile, out_dir=args.out_dir, names=args.only,
                    overrides=_parse_overrides(args.set), timeout=args.timeout, restart=args.restart)
        else:
            src = _resolve_notebook(args.notebook)
            params = {k: parse_value(v) for k, v in args.parameter}
            out = args.output or RUNS_ROOT / str(params.get("profile", "default")) / "notebooks" / f"{src.stem}.ipynb"
            print(f"running {_rel(src)} with {params} -> {_rel(out)}")
            t0 = time.perf_counter()
            run_notebook(src, out, params, timeout=args.timeout, log_output=args.log_output)
            print(f"ok in {time.perf_counter() - t0:.1f} s: {_rel(out)}")
    except NotebookFailed as exc:
        print(f"\nERROR: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as exc:  # unknown notebook, bad output path...
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
