"""Interrupted, killed and concurrent runs, with real processes.

A driver process does what a chapter does: opens its run folder on a dataset, trains the
baseline autoencoder through ``asdlib.systems.training.train`` (checkpoint after every epoch) and
writes its results with ``run_detector``. It is stopped with SIGINT (Ctrl-C) or SIGKILL
mid-training, then started again with the same command: the metrics must be byte-identical
to an uninterrupted run's, and the folder must say ``incomplete`` in between.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from asdlib import synth
from asdlib.paths import REPO_ROOT
from asdlib.book.runs import RunFolder
from asdlib.systems.training import load_checkpoint

pytestmark = [pytest.mark.slow, pytest.mark.training]

TINY = synth.DATASET_SIZES["ci"].with_counts(n_train_source=8, n_train_target=2, n_test=2, clip_seconds=1.0)
EPOCHS = 4

DRIVER = """
import os, sys, time
from asdlib.systems import detect
from asdlib import book
from asdlib.models import AutoencoderConfig
from asdlib.systems import baselines

data_root = sys.argv[1]
chapter = book.chapter_data("ci", data_root)
config = AutoencoderConfig.for_profile("ci", epochs={epochs})
run = book.RunFolder.open("02_baselines", "ci", chapter, {{"autoencoder": config}})
print("OPENED", run.root, flush=True)

def slowly(mtype, epoch, entry):
    print("EPOCH", mtype, epoch, flush=True)
    time.sleep(0.4)  # room for the test to interrupt while training
    while os.path.exists(os.environ.get("HOLD_WHILE", "/nonexistent")):  # held by the test
        time.sleep(0.1)

detector = baselines.AEMSE(config, run.root, progress=False, on_epoch_end=slowly)
detect.run_detector(detector, chapter.clips, out_dir=run.root)
run.finish()
print("DONE", run.root, flush=True)
""".format(epochs=EPOCHS)


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> list[Path]:
    """Two tiny datasets (other seeds: other audio)."""
    base = tmp_path_factory.mktemp("interrupt")
    return [synth.generate_dataset(base / f"data{seed}", TINY, seed=seed, machine_types=["synFan", "synValve"],
                                   workers=1) for seed in (0, 1)]


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("driver") / "train_chapter.py"
    path.write_text(DRIVER)
    return path


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


def _start(driver: Path, data_root: Path, runs: Path, cache_dir: Path, **extra_env: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "ASD_RUNS_DIR": str(runs), "ASD_CACHE_DIR": str(cache_dir),
           **extra_env}
    return subprocess.Popen([sys.executable, str(driver), str(data_root)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            # as a terminal's Ctrl-C finds it, even when the tests run in the background
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(proc: subprocess.Popen, prefix: str) -> list[str]:
    """stdout lines up to and including the first starting with ``prefix``."""
    lines = []
    for line in proc.stdout:
        lines.append(line.strip())
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"the driver ended before printing {prefix!r}: {lines}\n{proc.stderr.read()}")


def _complete(driver, data_root, runs, cache_dir) -> Path:
    proc = _start(driver, data_root, runs, cache_dir)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return Path(out.split("DONE ", 1)[1].strip())


@pytest.fixture(scope="module")
def uninterrupted(driver, roots, cache_dir, tmp_path_factory) -> Path:
    return _complete(driver, roots[0], tmp_path_factory.mktemp("runs-uninterrupted"), cache_dir)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_a_run_stopped_mid_training_resumes_to_the_uninterrupted_metrics(sig, driver, roots, cache_dir,
                                                                         uninterrupted, tmp_path):
    runs = tmp_path / "runs"
    proc = _start(driver, roots[0], runs, cache_dir)
    _wait_for(proc, "EPOCH synFan 2")  # epoch 2 of the first type is checkpointed; synValve not started
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -sig if sig == signal.SIGKILL else proc.returncode != 0
    if sig == signal.SIGINT:
        assert "KeyboardInterrupt" in err
    folder = runs / "ci" / "02_baselines" / uninterrupted.name
    status = json.loads((folder / "status.json").read_text())
    # Ctrl-C lets the process mark its run incomplete; a killed one leaves "running" with a dead PID
    assert status["status"] == ("incomplete" if sig == signal.SIGINT else "running")
    assert RunFolder(folder).state == "incomplete"
    assert not (folder / "metrics.csv").exists()  # nothing of a half run looks like a result
    assert load_checkpoint(folder / "weights" / "synFan.pt")["epoch"] == 2
    assert not (folder / "weights" / "synValve.pt").exists()

    again = _complete(driver, roots[0], runs, cache_dir)  # the same command again
    assert again == folder and RunFolder(folder).state == "complete"
    for name in ("metrics.csv", "scores.csv", "train_scores.csv"):
        assert (folder / name).read_bytes() == (uninterrupted / name).read_bytes(), name


def test_a_second_process_on_the_same_run_folder_stops_with_the_first_ones_pid(driver, roots, cache_dir, tmp_path):
    runs, hold = tmp_path / "runs", tmp_path / "hold"
    hold.touch()
    first = _start(driver, roots[0], runs, cache_dir, HOLD_WHILE=str(hold))
    _wait_for(first, "EPOCH synFan 1")  # the first run is training (and waits for us)
    second = _start(driver, roots[0], runs, cache_dir)
    _, err = second.communicate(timeout=60)
    hold.unlink()
    folder = next((runs / "ci" / "02_baselines").iterdir())
    assert second.returncode == 1
    assert (f"RunFolderError: run folder {folder} is in use by PID {first.pid} (started "
            in err.strip().splitlines()[-1])
    assert err.strip().splitlines()[-1].endswith("; wait for that run to end, or stop it")
    out, err = first.communicate(timeout=120)  # the first run was not disturbed
    assert first.returncode == 0, err
    assert RunFolder(folder).state == "complete" and (folder / "metrics.csv").is_file()


def test_two_data_roots_at_once_give_two_complete_separate_run_folders(driver, roots, cache_dir, tmp_path):
    runs = tmp_path / "runs"
    procs = [_start(driver, root, runs, cache_dir) for root in roots]
    folders = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        folders.append(Path(out.split("DONE ", 1)[1].strip()))
    assert folders[0] != folders[1]
    assert sorted(p.name for p in (runs / "ci" / "02_baselines").iterdir()) == sorted(f.name for f in folders)
    for folder, root in zip(folders, roots):
        assert RunFolder(folder).state == "complete"
        assert json.loads((folder / "config.json").read_text())["data_root"] == str(root)
        submitted = sorted(p.name for p in (folder / "submission").iterdir())
        assert len(submitted) == 4  # 2 types x (scores, decisions): nothing of the other run
    assert (folders[0] / "scores.csv").read_bytes() != (folders[1] / "scores.csv").read_bytes()


SLEEPER = """# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
profile = "ci"

# %%
import time
print("STARTED", flush=True)
time.sleep(120)
"""


def test_ctrl_c_on_the_runner_prints_how_to_resume_not_a_traceback(tmp_path):
    (tmp_path / "00_sleep.py").write_text(SLEEPER)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "asdlib", "run", "00_sleep.py", "-o", "out/s.ipynb"],
                            cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _wait_for(proc, "STARTED")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.rstrip().endswith(
        "INTERRUPTED (Ctrl-C): the run stopped. Run the same command again to resume: training continues from "
        "the last checkpoint (saved after every epoch), finished models are loaded. Its run folder stays marked "
        "incomplete until then.")
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
