"""Seed studies: the job list, finding each job's run folders, the tidy table and Table 1 across seeds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asdlib.book import evidence
from asdlib.book import results
from asdlib.book import runs
from asdlib.book import study
from asdlib.paths import REPO_ROOT


def test_plan_seeds_grid_and_self_contained_commands(tmp_path):
    nbs = [REPO_ROOT / "notebooks" / "02_baselines.py", REPO_ROOT / "notebooks" / "03_system1.py"]
    folder, jobs = study.plan("ci", [0, 2], nbs, {"03_system1": {"contrastive_weight": [0, 1]}}, runs_root=tmp_path)
    assert folder == tmp_path / "ci" / "study" / "seeds0-2"
    assert [j.name for j in jobs] == ["02_baselines-seed0", "02_baselines-seed2",
                                      "03_system1-seed0-contrastive_weight0", "03_system1-seed0-contrastive_weight1",
                                      "03_system1-seed2-contrastive_weight0", "03_system1-seed2-contrastive_weight1"]
    # seed s runs a chapter with its own default seed + s: seed 0 is the book's run
    assert [j.parameters["seed"] for j in jobs[:2]] == [13711, 13713]
    assert jobs[4].parameters == {"profile": "ci", "seed": 2, "contrastive_weight": 0}
    cmd = jobs[4].command()
    assert cmd[1:5] == ["-m", "asdlib", "run", "notebooks/03_system1.py"]
    assert cmd[cmd.index("-o") + 1].endswith("03_system1-seed2-contrastive_weight0.ipynb")
    assert jobs[4].shell().startswith(f"{runs.RUN_LOG_ENV}=")
    assert len({j.output for j in jobs}) == len(jobs) and len({j.run_log for j in jobs}) == len(jobs)


def test_dry_run_prints_every_job_and_runs_nothing(tmp_path):
    out = subprocess.run([sys.executable, "-m", "asdlib", "study", "--profile", "ci", "--seeds", "0", "1",
                          "--only", "02", "--dry-run", "--results-dir", str(tmp_path)],
                         cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    lines = [x for x in out.splitlines() if "asdlib.book.runner run" in x]
    assert len(lines) == 2 and "-p seed 13711" in lines[0] and "-p seed 13712" in lines[1]
    assert not list(tmp_path.iterdir())  # nothing written
    bad = subprocess.run([sys.executable, "-m", "asdlib", "study", "--profile", "ci", "--only", "02",
                          "--grid", "02_baselines:no_such=1,2", "--dry-run"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert bad.returncode != 0 and "['no_such'] are not in its parameters cell" in bad.stderr


def _fake_run(root: Path, folder: str, backend: str, totals: dict, fingerprint="fp"):
    d = root / folder / backend if backend else root / folder
    d.mkdir(parents=True, exist_ok=True)
    m = pd.DataFrame({"AUC-s": [totals["s"], totals["s"]], "AUC-t": [totals["t"], totals["t"]],
                      "pAUC": [totals["p"], totals["p"]], "official": [np.nan, totals["o"]]},
                     index=pd.Index(["synFan", "Total"], name="machine_type"))
    m.to_csv(d / "metrics.csv")
    (root / "config.json").write_text(json.dumps({"data_fingerprint": fingerprint}))


def test_run_log_names_the_folders_a_job_opened(tmp_path, monkeypatch):
    log = tmp_path / "log.jsonl"
    monkeypatch.setenv(runs.RUN_LOG_ENV, str(log))
    data = type("D", (), {"root": tmp_path / "data", "fingerprint": "abcdef0123456789", "label": "x"})()
    a = runs.RunFolder.open("03_system1", "ci", data, {"seed": 1}, runs_root=tmp_path / "runs")
    b = runs.RunFolder.open("03_system1", "ci", data, {"seed": 2}, runs_root=tmp_path / "runs")
    a.finish(); b.finish()
    logged = [json.loads(x)["root"] for x in log.read_text().splitlines()]
    assert logged == [str(a.root), str(b.root)] and a.root != b.root
    # find_run filters by seed: the members of one seed of a study
    assert runs.find_run("03_system1", "ci", data, runs_root=tmp_path / "runs", seed=1).root == a.root
    assert runs.find_run("03_system1", "ci", data, runs_root=tmp_path / "runs", seed=2).root == b.root
    assert runs.find_run("03_system1", "ci", data, runs_root=tmp_path / "runs", seed=3, quiet=True) is None


def test_aggregate_table1_rows_and_ordering(tmp_path):
    jobs = []
    values = {  # official per seed: AE-MSE 50, 52; System-1 60, 62 (knn); System-1's probability backend ignored
        0: {"ae": 0.50, "s1": 0.60}, 1: {"ae": 0.52, "s1": 0.62}}
    for s, v in values.items():
        ae, s1 = tmp_path / f"ae{s}", tmp_path / f"s1{s}"
        _fake_run(ae, "AE-MSE", "", dict(s=v["ae"], t=v["ae"], p=v["ae"], o=v["ae"]))
        _fake_run(s1, "system1_additional", "knn", dict(s=v["s1"], t=v["s1"], p=v["s1"], o=v["s1"]))
        _fake_run(s1, "system1_additional", "probability", dict(s=0.1, t=0.1, p=0.1, o=0.1))
        _fake_run(s1, "real-sensiml-fan", "knn", dict(s=1.0, t=1.0, p=1.0, o=1.0))  # never aggregated
        jobs += [study.StudyJob(REPO_ROOT / "notebooks/02_baselines.py", s, {"profile": "ci", "seed": 13711 + s},
                                Path(), Path(), run_folders=[str(ae)]),
                 study.StudyJob(REPO_ROOT / "notebooks/03_system1.py", s, {"profile": "ci", "seed": s},
                                Path(), Path(), run_folders=[str(s1)])]
    tidy = study.aggregate(jobs)
    assert "real-sensiml-fan" not in set(tidy.folder)
    assert len(tidy) == 2 * (2 + 2 * 2)  # per seed: AE 2 rows, System-1 two backends x 2 rows
    assert tidy.loc[(tidy.folder == "AE-MSE") & (tidy.machine_type == "Total"), "official"].tolist() == \
        pytest.approx([50.0, 52.0])
    per_seed = results.table1_rows(tidy)
    assert set(per_seed.index) == {("AE-MSE", 0), ("AE-MSE", 1), ("System-1", 0), ("System-1", 1)}
    mean, std, n = results.mean_std(per_seed)
    assert mean.loc["System-1", ("official", "")] == pytest.approx(61.0)
    assert std.loc["System-1", ("official", "")] == pytest.approx(np.sqrt(2.0))  # ddof 1 of 60, 62
    assert mean.loc["AE-MSE", ("synFan", "AUC-t")] == pytest.approx(51.0) and n.tolist() == [2, 2]
    words = results.ordering_in_words(per_seed, pd.Series({"AE-MSE": 55.4, "System-1": 57.3}), "test data")
    assert words[0].startswith("Ours (test data, mean over 2–2 seeds): System-1 61.0 > AE-MSE 51.0")
    assert "1 are ordered as in the report and 0 are not" in words[2]
    # difference 10, 2 SE = 2 * sqrt(2/2 + 2/2) = 2.83: outside the noise
    assert words[3] == "System-1 vs AE-MSE: +10.0 points (2 standard errors 2.8): outside the seed noise."


def test_variants_across_seeds_without_a_study_is_empty():
    table, words = results.variants_across_seeds(pd.DataFrame(), "03_system1", {"a": "system1"}, "knn", "a")
    assert table.empty and words == []


def test_study_ablation_reads_the_rows_of_the_same_data(tmp_path):
    rows = pd.DataFrame({"chapter": "03_system1", "seed": [0, 1, 0, 1], "machine_type": "Total", "backend": "knn",
                         "folder": ["a", "a", "b", "b"], "AUC-s": 60.0, "AUC-t": 50.0, "pAUC": 55.0,
                         "official": [56.0, 58.0, 55.0, 55.0], "data_fingerprint": "fp"})
    csv = tmp_path / "study_ci.csv"
    rows.to_csv(csv, index=False)
    data = type("D", (), {"fingerprint": "fp", "label": "x"})()
    got, source = results.study_rows("ci", data, csv)
    assert len(got) == 4 and source.startswith("seed study")
    other = type("D", (), {"fingerprint": "other", "label": "x"})()
    assert results.study_rows("ci", other, csv)[0].empty
    source, table, words = results.study_ablation("ci", data, "03_system1", {"A": "a", "B": "b"}, "knn", "A", csv)
    assert table.loc["A"][("mean", "official")] == pytest.approx(57.0)
    assert words[0].startswith("A minus B: +2.0 official-score points over 2 seeds")


def test_beside_study_and_additional_effect_read_the_study_of_the_same_data(tmp_path, monkeypatch):
    # a study with AE-MSE (official 50, 52) and System-1 dev only (55, 55) / dev + additional (58, 60)
    rows = []
    for seed, (ae, dev, add) in enumerate([(50.0, 55.0, 58.0), (52.0, 55.0, 60.0)]):
        for chapter, folder, backend, v in [("02_baselines", "AE-MSE", "", ae), ("03_system1", "system1", "knn", dev),
                                            ("03_system1", "system1_additional", "knn", add)]:
            rows.append({"chapter": chapter, "seed": seed, "machine_type": "Total", "backend": backend,
                         "folder": folder, "AUC-s": v, "AUC-t": v - 10, "pAUC": v - 5, "official": v,
                         "data_fingerprint": "fp"})
    csv = tmp_path / "study_ci.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    data = type("D", (), {"fingerprint": "fp", "label": "test data"})()
    ours = pd.Series({"AUC-s": 61.0, "AUC-t": 51.0, "pAUC": 56.0, "official": 58.5})
    table, source = results.beside_study(ours, "System-1", ["AE-MSE", "AE-MAHALA"], "ci", data, csv)
    assert source.startswith("seed study")
    assert list(table.index) == ["System-1 (this run)", "System-1 (seed study)", "AE-MSE (seed study)"]  # no AE-MAHALA rows
    assert table.loc["AE-MSE (seed study)", "official"] == pytest.approx(51.0)
    assert table.loc["AE-MSE (seed study)", "official sd"] == pytest.approx(np.sqrt(2.0))
    assert table.loc["System-1 (seed study)", "AUC-t"] == pytest.approx(49.0)  # the dev + additional folder
    assert table.loc["System-1 (this run)", "official"] == 58.5 and table.seeds.tolist() == [1, 2, 2]
    # without a study of these data: this run's row alone, and the command that makes one
    other = type("D", (), {"fingerprint": "other", "label": "test data"})()
    alone, source = results.beside_study(ours, "System-1", ["AE-MSE"], "ci", other, tmp_path / "none.csv")
    assert len(alone) == 1 and "make study" in source
    # the additional set's effect from the study (nothing trained dev-only here): +4.0 over 2 seeds
    monkeypatch.setattr(evidence, "BENCHMARK_RESULTS", tmp_path)  # where study_ci.csv is looked for
    effect, words = results.additional_effect("03_system1", "system1", "S1", "knn", "ci", data, None, {})
    assert effect.loc["S1 + additional"][("mean", "official")] == pytest.approx(59.0)
    assert words[0].startswith("seed study") and words[1].startswith("S1 + additional minus S1: +4.0 official")
    # no additional training data: says so, no table
    none, words = results.additional_effect("03_system1", "system1", "S1", "knn", "ci", data, None, None)
    assert none is None and "no additional training data" in words[0]
    # a run told not to use the additional set (the book's build): trained dev-only here, both
    # variants from the study, and a like-for-like study row beside this run
    effect, words = results.additional_effect("03_system1", "system1", "S1", "knn", "ci", data, {}, None, asked=False)
    assert "development set alone" in words[0] and words[1].startswith("seed study")
    assert effect.loc["S1"][("mean", "official")] == pytest.approx(55.0)
    table, _ = results.beside_study(ours, "System-1", ["AE-MSE"], "ci", data, csv,
                                    own=("03_system1", "system1", "knn", "System-1, dev only"))
    assert list(table.index) == ["System-1 (this run)", "System-1, dev only (seed study)", "System-1 (seed study)",
                                 "AE-MSE (seed study)"]
    assert table.loc["System-1, dev only (seed study)", "official"] == pytest.approx(55.0)
    assert table.loc["System-1, dev only (seed study)", "seeds"] == 2
    # the Table-1 variant itself adds no second row
    same, _ = results.beside_study(ours, "System-1", [], "ci", data, csv,
                                   own=("03_system1", "system1_additional", "knn", "System-1, dev only"))
    assert list(same.index) == ["System-1 (this run)", "System-1 (seed study)"]


def test_run_study_waits_for_the_prerequisite_chapters_of_the_same_seed(monkeypatch):
    """06 reads 03-05 (``scheduler.READS_RUNS_OF``): its job of seed s starts once the jobs of
    those chapters with seed s ended, without waiting for the other seeds or for 02."""
    import threading
    import time

    nbs = [REPO_ROOT / "notebooks" / f"{n}.py" for n in ("02_baselines", "03_system1", "04_system2", "06_ensemble")]
    jobs = [study.StudyJob(nb, s, {"profile": "ci", "seed": s}, Path(), Path()) for nb in nbs for s in (0, 1)]
    events, lock = [], threading.Lock()

    def fake_run(job, log):
        with lock:
            events.append(("start", job.name))
        time.sleep(0.3 if job.notebook.stem == "02_baselines" else 0.05)
        with lock:
            events.append(("end", job.name))
        job.status = "failed" if job.name == "03_system1-seed1" else "ok"  # a failure does not stop the study
        return job

    monkeypatch.setattr(study, "_run_job", fake_run)
    study.run_study(jobs, workers=2, log=lambda *_: None)
    at = {e: i for i, e in enumerate(events)}
    assert len(events) == 2 * len(jobs)
    for s in (0, 1):
        start = at[("start", f"06_ensemble-seed{s}")]
        assert all(at[("end", f"{c}-seed{s}")] < start for c in ("03_system1", "04_system2"))
    assert at[("start", "06_ensemble-seed0")] < at[("end", "02_baselines-seed1")]  # 02 is not waited for


def test_scale_study_words_give_the_book_schedule_and_the_longest(tmp_path):
    rows = pd.DataFrame([
        {"system": "AE-MAHALA", "seed": s, "epochs": e, "backend": "AE-MAHALA", "official": v}
        for s, vals in ((0, {20: 54.0, 100: 58.0}), (1, {20: 52.0, 100: 57.0})) for e, v in vals.items()] + [
        {"system": "System-2", "seed": 0, "epochs": e, "backend": b, "official": v}
        for e, b, v in ((10, "knn", 57.5), (20, "knn", 58.5), (10, "probability", 50.0))])
    csv = tmp_path / "scale_demo.csv"
    rows.to_csv(csv, index=False)
    csv.with_suffix(".json").write_text(json.dumps({"command": "scale_study.py --seeds 0 1", "commit": "abcdef0",
                                                     "data": "test data", "data_fingerprint": "fp"}))
    data = type("D", (), {"fingerprint": "fp", "label": "test data"})()
    got, source, same = results.scale_study("demo", data, csv)
    assert same and len(got) == len(rows) and source.startswith("scale_demo.csv: scale_study.py --seeds 0 1")
    assert not results.scale_study("demo", type("D", (), {"fingerprint": "x", "label": "y"})(), csv)[2]
    words = results.scale_in_words(got, "demo")  # demo: AE 20 epochs, Systems 1-2 10
    assert words == ["AE-MAHALA: official 53.0 at the book's 20 epochs, 57.5 at 100 epochs (mean over 2 seed(s))",
                     "System-2 / knn: official 57.5 at the book's 10 epochs, 58.5 at 20 epochs (mean over 1 seed(s))"]
    assert results.scale_study("demo", data, tmp_path / "none.csv")[0].empty


def test_versus_trained_longer_pairs_seeds_with_the_longest_baseline():
    idx = pd.MultiIndex.from_tuples([("System-2", 0), ("System-2", 1), ("System-2", 2), ("AE-MAHALA", 0)],
                                    names=["system", "seed"])
    per_seed = pd.DataFrame({("official", ""): [58.0, 57.0, 59.0, 53.0]}, index=idx)
    scale = pd.DataFrame([{"system": "AE-MAHALA", "backend": "AE-MAHALA", "seed": s, "epochs": e, "official": v}
                          for s, (a, b) in enumerate([(53.0, 57.0), (52.0, 57.0), (54.0, 57.0)])
                          for e, v in ((20, a), (100, b))])
    words = results.versus_trained_longer(per_seed, scale)
    # differences +1, 0, +2: mean +1.0, sd 1, 2 SE = 2/sqrt(3) = 1.15 -> level
    assert words == ["System-2 (its study schedule) minus AE-MAHALA trained 100 epochs: +1.0 official points over "
                     "3 seeds (per seed +1.0, +0.0, +2.0; 2 standard errors 1.2): level with it"]
    assert results.versus_trained_longer(per_seed, pd.DataFrame()) == []
