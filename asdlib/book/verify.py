"""Verify a run: re-execute it from what its folder records and compare every metric.

    asd verify runs/ci/02_baselines/<run folder> [--tolerance 1e-6]

A run folder records what made it: ``config.json`` (chapter, profile, data root and
fingerprint, settings) and, for runs started by the runner (``asd
run`` / ``run-all``), ``invocation.json`` (the notebook and its parameters). A run made
interactively has no ``invocation.json``; it is re-executed with its profile and data root
only, and the report says so.

The notebook is executed again with ``restart=True`` where it declares it (nothing is
resumed), its run folders written under a temporary runs root (``ASD_RUNS_DIR``) in which the
other chapters' folders are linked, so ``find_run`` still finds earlier chapters. Every
``metrics.csv`` of the original folder is then compared with the one at the same place in
the new folder: rows are matched by their text columns (system, machine type, ...), and
each numeric column gets its largest absolute difference. The run verifies when every one
is within ``tolerance``: by default 1e-6, for the same seed on the same machine (other
hardware, thread counts or library versions change the last digits of trained models).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from asdlib.book.runner import NOTEBOOKS_DIR, declared_parameters, run_notebook
from asdlib.book.runs import RunFolder, _rel

METRICS_FILE = "metrics.csv"
DEFAULT_TOLERANCE = 1e-6


@dataclass
class Verification:
    """What ``verify_run`` found: the largest difference of every metric, and any problem."""

    original: Path
    rerun: Path | None
    tolerance: float
    differences: pd.DataFrame  # file, metric, max_abs_diff (inf where only one side is NaN)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool((self.differences["max_abs_diff"] <= self.tolerance).all())

    def per_metric(self) -> pd.Series:
        """The largest absolute difference of each metric over every compared file."""
        return self.differences.groupby("metric", sort=False)["max_abs_diff"].max()


def metric_differences(original: Path, rerun: Path) -> tuple[pd.DataFrame, list[str]]:
    """Largest absolute difference per numeric column of every ``metrics.csv`` under
    ``original`` against the same file under ``rerun``; plus what could not be compared."""
    rows, problems = [], []
    files = sorted(original.rglob(METRICS_FILE))
    if not files:
        problems.append(f"{original} holds no {METRICS_FILE}: nothing to compare")
    for path in files:
        rel = path.relative_to(original)
        if not (rerun / rel).is_file():
            problems.append(f"{rel}: not produced by the re-execution")
            continue
        a, b = pd.read_csv(path), pd.read_csv(rerun / rel)
        keys = [c for c in a.columns if not pd.api.types.is_numeric_dtype(a[c])]
        if list(a.columns) != list(b.columns):
            problems.append(f"{rel}: other columns ({list(a.columns)} recorded, {list(b.columns)} now)")
            continue
        if keys:  # rows matched by name, whatever their order
            a, b = a.set_index(keys).sort_index(), b.set_index(keys).sort_index()
        if not a.index.equals(b.index):
            problems.append(f"{rel}: other rows ({list(a.index)} recorded, {list(b.index)} now)")
            continue
        for col in a.columns:
            x, y = a[col].to_numpy(dtype=float), b[col].to_numpy(dtype=float)
            diff = np.where(np.isnan(x) & np.isnan(y), 0.0, np.abs(x - y))
            rows.append({"file": str(rel), "metric": col, "max_abs_diff": float(np.nan_to_num(diff, nan=np.inf).max(initial=0.0))})
    return pd.DataFrame(rows, columns=["file", "metric", "max_abs_diff"]), problems


def _recorded_call(run: RunFolder, notebooks_dir: Path, log: Callable[[str], Any]) -> tuple[Path, dict]:
    """The notebook and parameters that made ``run`` (``invocation.json``, else the config)."""
    config = run.load_json("config")
    invocation = run.load_json("invocation") if (run.root / "invocation.json").is_file() else None
    recorded = Path(invocation["notebook"]) if invocation else None
    notebook = recorded if recorded is not None and recorded.is_file() else notebooks_dir / f"{config['chapter']}.py"
    if not notebook.is_file():
        raise FileNotFoundError(f"no notebook {notebook} to re-execute {run.root} with")
    if invocation:
        params = dict(invocation["parameters"])
    else:
        params = {"profile": config["profile"], "data_root": config["data_root"]}
        log(f"NOTE: {run.root} was not made by the runner (no invocation.json): re-executing "
            f"{_rel(notebook)} with its profile and data root only; other parameters take their defaults")
    if "restart" in declared_parameters(notebook):
        params["restart"] = True
    return notebook, params


def verify_run(run_folder: str | Path, tolerance: float = DEFAULT_TOLERANCE, keep: bool = False,
               progress: bool = True, notebooks_dir: str | Path = NOTEBOOKS_DIR,
               log: Callable[[str], Any] = print) -> Verification:
    """Re-execute the complete run in ``run_folder`` into a temporary folder and compare
    every metric of its ``metrics.csv`` files (see the module docstring). Prints the
    largest difference per metric and the verdict; the temporary folder is removed when the
    run verifies (unless ``keep``) and kept, with its path printed, when it does not."""
    run = RunFolder(Path(run_folder).resolve())
    if not (run.root / "config.json").is_file():
        raise FileNotFoundError(f"{run_folder} is not a run folder (no config.json)")
    if run.state != "complete":
        raise ValueError(f"{run_folder}: the run is {run.state}, not complete; nothing to verify "
                         "(rerun its command to complete it first)")
    chapter, profile = run.load_json("config")["chapter"], run.load_json("config")["profile"]
    notebook, params = _recorded_call(run, Path(notebooks_dir).resolve(), log)

    work = Path(tempfile.mkdtemp(prefix=f"verify-{chapter}-"))
    runs_root = work / "runs"
    (runs_root / profile).mkdir(parents=True)
    for other in (run.root.parents[1]).iterdir():  # earlier chapters, for find_run
        if other.is_dir() and other.name != chapter:
            (runs_root / profile / other.name).symlink_to(other)
    log(f"verify {_rel(run.root)}: re-executing {_rel(notebook)} with {params} into {work}")
    t0 = time.perf_counter()
    previous = os.environ.get("ASD_RUNS_DIR")
    os.environ["ASD_RUNS_DIR"] = str(runs_root)  # read by the kernel's asdlib.book.runs
    try:
        run_notebook(notebook, work / f"{notebook.stem}.ipynb", params, cwd=notebook.parent, progress=progress)
    finally:
        if previous is None:
            os.environ.pop("ASD_RUNS_DIR", None)
        else:
            os.environ["ASD_RUNS_DIR"] = previous
    seconds = time.perf_counter() - t0

    new_folders = sorted(p for p in (runs_root / profile / chapter).glob("*") if p.is_dir())
    rerun = runs_root / profile / chapter / run.root.name
    problems = []
    if not rerun.is_dir():
        problems.append(f"the re-execution wrote {[p.name for p in new_folders]}, not {run.root.name}: its data "
                        "or settings differ from the recorded ones (compare the config.json files)")
        rerun = new_folders[0] if len(new_folders) == 1 else None
    differences, found = metric_differences(run.root, rerun) if rerun is not None else (
        pd.DataFrame(columns=["file", "metric", "max_abs_diff"]), [])
    result = Verification(run.root, rerun, tolerance, differences, problems + found)

    n_files = differences["file"].nunique()
    log(f"re-executed in {seconds:.1f} s; largest absolute difference per metric over {n_files} {METRICS_FILE} file(s):")
    for metric, diff in result.per_metric().items():
        log(f"  {metric:<18} {diff:.3g}{'' if diff <= tolerance else '   > tolerance'}")
    for problem in result.problems:
        log(f"  PROBLEM: {problem}")
    if result.ok:
        log(f"VERIFIED: every metric within {tolerance:g} of the recorded run.")
    else:
        beyond = differences[differences.max_abs_diff > tolerance]
        where = ", ".join(f"{r.file}:{r.metric} ({r.max_abs_diff:.3g})" for r in beyond.itertuples())
        log(f"NOT VERIFIED (tolerance {tolerance:g})" + (f": {where}" if where else "")
            + f". The re-execution is kept in {work}")
    if result.ok and not keep:
        shutil.rmtree(work)
    return result
