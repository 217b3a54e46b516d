"""``asd verify RUN_FOLDER``: a run re-executed from its record, every metric compared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from asdlib import synth
from asdlib.book import verify
from asdlib.paths import REPO_ROOT

pytestmark = pytest.mark.training  # trains networks or runs notebooks: left out of `make check`

CHAPTER = """# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
profile = "ci"
data_root = ""
seed = 0
restart = False

# %%
from asdlib.systems import detect
from asdlib import book
from asdlib.systems import reference

chapter = book.chapter_data(profile, data_root)
run = book.RunFolder.open("00_tiny", profile, chapter, config={"seed": seed})
detect.run_detector(reference.ClipMeanMahalanobis(), chapter.clips, out_dir=run.root)
run.finish()
"""


def _cli(args, cwd: Path, runs: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "ASD_RUNS_DIR": str(runs)}
    return subprocess.run([sys.executable, "-m", "asdlib", *args, "--quiet"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_verify_reexecutes_a_run_and_reports_the_largest_difference_per_metric(tmp_path):
    synth.generate_dataset(tmp_path / "data", synth.DATASET_SIZES["ci"].with_counts(
        n_train_source=8, n_train_target=2, n_test=2, clip_seconds=1.0), seed=0, machine_types=["synFan"], workers=1)
    (tmp_path / "00_tiny.py").write_text(CHAPTER)
    runs = tmp_path / "runs"
    made = _cli(["run", "00_tiny.py", "-p", "data_root", "data", "-p", "seed", "3", "-o", "out/tiny.ipynb"],
                tmp_path, runs)
    assert made.returncode == 0, made.stderr
    (folder,) = (runs / "ci" / "00_tiny").iterdir()
    assert json.loads((folder / "invocation.json").read_text()) == {
        "notebook": str(tmp_path / "00_tiny.py"), "parameters": {"data_root": str(tmp_path / "data"), "seed": 3}}

    ok = _cli(["verify", str(folder)], tmp_path, runs)
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[0].startswith(f"verify {folder}: re-executing {tmp_path / '00_tiny.py'} with "
                               f"{{'data_root': '{tmp_path / 'data'}', 'seed': 3, 'restart': True}} into ")
    assert "largest absolute difference per metric over 1 metrics.csv file(s):" in lines[1]
    assert [line.split() for line in lines[2:5]] == [["AUC-s", "0"], ["AUC-t", "0"], ["pAUC", "0"]]
    assert lines[-1] == "VERIFIED: every metric within 1e-06 of the recorded run."


# --------------------------------------------------------------------------- without a kernel
def _recorded_run(folder: Path, invocation: bool = True, status: str = "complete") -> Path:
    (folder / "AE-MSE").mkdir(parents=True)
    table = pd.DataFrame({"machine_type": ["synFan", "Total"], "AUC-s": [0.9, 0.9], "AUC-t": [0.7, 0.7],
                          "official": [float("nan"), 0.8]})
    table.to_csv(folder / "metrics.csv", index=False)
    table.to_csv(folder / "AE-MSE" / "metrics.csv", index=False)
    (folder / "config.json").write_text(json.dumps({"chapter": "02_baselines", "profile": "ci",
                                                    "data_root": "/data/x"}))
    (folder / "status.json").write_text(json.dumps({"status": status, "pid": 1}))
    if invocation:
        (folder / "invocation.json").write_text(json.dumps({"notebook": "/gone/02_baselines.py",
                                                            "parameters": {"data_root": "/data/x", "epochs": 2}}))
    return folder


def test_metric_differences_match_rows_by_name_and_name_what_cannot_be_compared(tmp_path):
    original = _recorded_run(tmp_path / "original")
    rerun = _recorded_run(tmp_path / "rerun")
    table = pd.read_csv(rerun / "AE-MSE" / "metrics.csv")
    table.loc[0, "AUC-t"] += 1e-3
    table.iloc[::-1].to_csv(rerun / "AE-MSE" / "metrics.csv", index=False)  # row order does not matter
    differences, problems = verify.metric_differences(original, rerun)
    assert problems == []
    worst = differences.groupby("metric").max_abs_diff.max()
    assert worst["AUC-t"] == pytest.approx(1e-3) and worst["AUC-s"] == 0 and worst["official"] == 0  # NaN = NaN
    result = verify.Verification(original, rerun, 1e-4, differences)
    assert not result.ok and verify.Verification(original, rerun, 1e-2, differences).ok

    (rerun / "metrics.csv").unlink()
    table.assign(machine_type=["synFan", "synValve"]).to_csv(rerun / "AE-MSE" / "metrics.csv", index=False)
    assert verify.metric_differences(original, rerun)[1] == [
        "AE-MSE/metrics.csv: other rows (['Total', 'synFan'] recorded, ['synFan', 'synValve'] now)",
        "metrics.csv: not produced by the re-execution"]


def test_the_recorded_call_and_what_verify_refuses(tmp_path):
    from asdlib.book.runs import RunFolder

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "02_baselines.py").write_text(CHAPTER)
    said = []
    run = RunFolder(_recorded_run(tmp_path / "with"))
    # the recorded notebook moved: the chapter's notebook, with the recorded parameters (+ restart)
    assert verify._recorded_call(run, notebooks, said.append) == (
        notebooks / "02_baselines.py", {"data_root": "/data/x", "epochs": 2, "restart": True})
    assert said == []
    run = RunFolder(_recorded_run(tmp_path / "without", invocation=False))
    assert verify._recorded_call(run, notebooks, said.append)[1] == {
        "profile": "ci", "data_root": "/data/x", "restart": True}
    assert said == [f"NOTE: {run.root} was not made by the runner (no invocation.json): re-executing "
                    f"{notebooks / '02_baselines.py'} with its profile and data root only; other parameters take "
                    "their defaults"]
    with pytest.raises(FileNotFoundError, match="no notebook .*/elsewhere/02_baselines.py to re-execute"):
        verify._recorded_call(run, tmp_path / "elsewhere", said.append)
    stopped = _recorded_run(tmp_path / "stopped", status="incomplete")
    with pytest.raises(ValueError, match=f"^{stopped}: the run is incomplete, not complete; nothing to verify"):
        verify.verify_run(stopped)
    with pytest.raises(FileNotFoundError, match="is not a run folder \\(no config.json\\)"):
        verify.verify_run(tmp_path)
