"""Run folders: one folder per (chapter, data, settings), never a mix of two runs."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from asdlib import data
from asdlib import book
from asdlib.book.runs import RunFolder, find_run


@dataclasses.dataclass
class _Config:
    epochs: int = 3
    learning_rate: float = 1e-4
    seed: int = 13711
    sizes: tuple = (1, 2)


def _data(root: Path, fingerprint: str):
    return SimpleNamespace(root=root, fingerprint=fingerprint, label=f"ours, {root.name}", synthetic=True)


def test_open_records_chapter_data_settings_and_environment(tmp_path):
    run = RunFolder.open("02_baselines", "ci", _data(tmp_path / "ci", "abcdef0123456789"), _Config(),
                         runs_root=tmp_path / "runs")
    assert run.root.parent == tmp_path / "runs" / "ci" / "02_baselines"
    assert run.root.name.startswith("ci-abcdef01-")
    config = run.load_json("config")
    assert config["data_fingerprint"] == "abcdef0123456789" and config["chapter"] == "02_baselines"
    assert {k: config[k] for k in ("epochs", "learning_rate", "seed", "sizes")} == {
        "epochs": 3, "learning_rate": 1e-4, "seed": 13711, "sizes": [1, 2]}
    env = run.load_json("environment")
    assert env["seed"] == 13711 and env["versions"]["python"].startswith("3.11")
    assert env["device"] in {"cpu", "cuda"} or env["device"].startswith("cuda")
    assert run.status()["status"] == "running" and not run.complete
    run.finish(seconds=1.5)
    assert run.complete and run.status()["seconds"] == 1.5


def test_two_datasets_or_two_settings_give_two_separate_folders(tmp_path):
    a = RunFolder.open("03_system1", "ci", _data(tmp_path / "ci", "1" * 16), {"seed": 0}, runs_root=tmp_path)
    b = RunFolder.open("03_system1", "ci", _data(tmp_path / "other", "2" * 16), {"seed": 0}, runs_root=tmp_path)
    c = RunFolder.open("03_system1", "ci", _data(tmp_path / "ci", "1" * 16), {"seed": 1}, runs_root=tmp_path)
    assert len({a.root, b.root, c.root}) == 3
    a.save_table("submission/anomaly_score_fan", {"x": [1]})
    assert not (b.root / "submission").exists()  # nothing of run a can end up in run b


def test_reopening_starts_results_afresh_but_keeps_checkpoints(tmp_path):
    d = _data(tmp_path / "ci", "3" * 16)
    run = RunFolder.open("02_baselines", "ci", d, {"seed": 0}, runs_root=tmp_path)
    run.save_table("AE-MSE/submission/anomaly_score_old", {"x": [1]})
    run.path("weights", "fan.pt").write_bytes(b"ckpt")
    run.path("real-sensiml-fan", "weights", "fan.pt").write_bytes(b"ckpt2")
    run.path("weights", "pump.pt.4242.tmp").write_bytes(b"half")  # a save cut short by a kill
    run.finish()
    again = RunFolder.open("02_baselines", "ci", d, {"seed": 0}, runs_root=tmp_path)
    assert again.root == run.root
    assert not (again.root / "AE-MSE").exists()  # an earlier run's results never stay
    assert (again.root / "weights" / "fan.pt").read_bytes() == b"ckpt"  # continued by fingerprint
    assert (again.root / "real-sensiml-fan" / "weights" / "fan.pt").is_file()
    assert not (again.root / "weights" / "pump.pt.4242.tmp").exists()
    assert again.status()["status"] == "running"  # no longer the earlier run's "complete"


def test_find_run_returns_the_complete_run_on_the_same_data_only(tmp_path, capsys):
    d1, d2 = _data(tmp_path / "ci", "4" * 16), _data(tmp_path / "ext", "5" * 16)
    assert find_run("02_baselines", "ci", d1, runs_root=tmp_path) is None
    assert "asd run notebooks/02_baselines.py -p profile ci" in capsys.readouterr().out
    unfinished = RunFolder.open("02_baselines", "ci", d1, {"seed": 0}, runs_root=tmp_path)
    assert find_run("02_baselines", "ci", d1, runs_root=tmp_path, quiet=True) is None  # not complete
    unfinished.finish()
    RunFolder.open("02_baselines", "ci", d2, {"seed": 0}, runs_root=tmp_path).finish()
    found = find_run("02_baselines", "ci", d1, runs_root=tmp_path)
    assert found is not None and found.root == unfinished.root
    assert find_run("02_baselines", "ci", _data(tmp_path / "ci", "6" * 16), runs_root=tmp_path, quiet=True) is None


def test_a_folder_in_use_by_another_live_process_is_refused(tmp_path):
    d = _data(tmp_path / "ci", "7" * 16)
    run = RunFolder.open("03_system1", "ci", d, {"seed": 0}, runs_root=tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        status = run.status()
        run.save_json("status", {**status, "pid": other.pid})  # as if that process had opened it
        with pytest.raises(RuntimeError, match=f"in use by PID {other.pid}"):
            RunFolder.open("03_system1", "ci", d, {"seed": 0}, runs_root=tmp_path)
    finally:
        other.kill()
        other.wait()
    # the process is gone: its stale "running" status no longer blocks
    assert RunFolder.open("03_system1", "ci", d, {"seed": 0}, runs_root=tmp_path).root == run.root


def test_run_folder_saves_json_tables_and_lists_files(tmp_path):
    run = RunFolder.open("x", "ci", _data(tmp_path, "8" * 16), {"seed": 1, "k": np.int64(4)}, runs_root=tmp_path)
    assert run.load_json("config")["k"] == 4
    p = run.save_json("metrics", {"auc": np.float32(0.75), "per_type": {"fan": np.array([0.5, 1.0])}})
    assert json.loads(p.read_text()) == {"auc": 0.75, "per_type": {"fan": [0.5, 1.0]}}
    df = pd.DataFrame({"file_name": ["a.wav", "b.wav"], "score": [0.1, 0.9]})
    pd.testing.assert_frame_equal(pd.read_csv(run.save_table("scores_fan", df)), df)
    run.save_table("sys/submission/anomaly_score_fan", df)
    assert "scores_fan.csv" in run.files() and not any("submission" in f for f in run.files())
    with pytest.raises(TypeError, match="dataclass or a dict"):
        RunFolder.open("bad", "ci", _data(tmp_path, "9" * 16), config=[1, 2], runs_root=tmp_path)


def test_fingerprint_tells_regenerated_audio_from_the_old_one(tmp_path):
    """Same names and sizes, other samples: a different dataset (size alone cannot tell)."""
    f = tmp_path / "fan" / "train" / "section_00_source_train_normal_0001_a_1.wav"
    f.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sf.write(f, rng.normal(size=16000).astype(np.float32) * 0.1, 16000)
    clips = data.scan_dataset(tmp_path).clips
    before = data.fingerprint(clips)
    assert data.fingerprint(clips) == before  # deterministic
    sf.write(f, rng.normal(size=16000).astype(np.float32) * 0.1, 16000)
    assert data.fingerprint(clips) != before


def test_chapter_data_on_two_roots_gives_two_complete_run_folders(tmp_path, monkeypatch):
    """The issue's acceptance test at the library level: one chapter, two data roots."""
    from asdlib import synth

    roots = []
    for seed in (0, 1):
        root = tmp_path / f"data{seed}"
        sizes = synth.DATASET_SIZES["ci"].with_counts(n_train_source=4, n_train_target=2, n_test=1)
        synth.generate_dataset(root, sizes, seed=seed, machine_types=["synFan"], workers=1)
        roots.append(root)
    runs = []
    for root in roots:
        chapter = book.chapter_data("ci", root)
        run = RunFolder.open("02_baselines", "ci", chapter, {"seed": 0}, runs_root=tmp_path / "runs")
        run.save_table("metrics", {"root": [str(root)]})
        run.finish()
        runs.append(run)
    assert runs[0].root != runs[1].root and all(r.complete for r in runs)
    assert [r.load_table("metrics")["root"][0] for r in runs] == [str(r) for r in roots]


def test_a_run_that_ended_without_finish_reads_incomplete(tmp_path):
    run = RunFolder.open("03_system1", "ci", _data(tmp_path / "ci", "a" * 16), {"seed": 0}, runs_root=tmp_path)
    assert run.state == "running"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run.save_json("status", {**run.status(), "pid": gone.pid})  # as if that process had been killed
    assert run.state == "incomplete" and not run.complete
    run._mark_incomplete(os.getpid())  # at exit: only a run of this process is marked
    assert run.status()["status"] == "running"
    run.save_json("status", {**run.status(), "pid": os.getpid()})
    run._mark_incomplete(os.getpid())
    assert run.status()["status"] == "incomplete" and "ended" in run.status()
    run.finish()
    assert run.state == "complete" and ".lock" not in run.files()
