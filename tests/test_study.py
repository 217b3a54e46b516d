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
    # the registry's study variants (dev + additional, ablations) ride along without naming the job
    assert jobs[4].parameters == {"profile": "ci", "seed": 2, "additional": True, "ablations": True,
                                  "compare_dev_only": True, "contrastive_weight": 0}
    assert jobs[0].parameters == {"profile": "ci", "seed": 13711}
    cmd = jobs[4].command()
    assert cmd[1:5] == ["-m", "asdlib", "run", "notebooks/03_system1.py"]
    assert cmd[cmd.index("-o") + 1].endswith("03_system1-seed2-contrastive_weight0.ipynb")
    assert jobs[4].shell().startswith(f"{runs.RUN_LOG_ENV}=")
    assert len({j.output for j in jobs}) == len(jobs) and len({j.run_log for j in jobs}) == len(jobs)


@pytest.mark.slow  # numba / processes: seconds; not in make check
def test_dry_run_prints_every_job_and_runs_nothing(tmp_path):
    out = subprocess.run([sys.executable, "-m", "asdlib", "study", "--profile", "ci", "--seeds", "0", "1",
                          "--only", "02", "--dry-run", "--results-dir", str(tmp_path)],
                         cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    lines = [x for x in out.splitlines() if "-m asdlib run" in x]
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
    pairs = results.ordering(per_seed, pd.Series({"AE-MSE": 55.4, "System-1": 57.3}))
    assert list(pairs.index) == [("System-1", "AE-MSE")]
    row = pairs.loc[("System-1", "AE-MSE")]
    # difference 61 - 51 = 10, 2 SE = 2 * sqrt(2/2 + 2/2) = 2.83: outside the noise; published 57.3 - 55.4 agrees
    assert row["difference"] == pytest.approx(10.0) and row["2 SE"] == pytest.approx(2 * np.sqrt(2.0))
    assert row["verdict"] == "outside the seed noise" and row["adjacent"]
    assert row["published difference"] == pytest.approx(1.9) and row["published agrees"]


def _per_seed(official: dict[str, list[float]]) -> pd.DataFrame:
    """A ``table1_rows``-like table holding only the official score: {system: one value per seed}."""
    idx = pd.MultiIndex.from_tuples([(s, i) for s, vals in official.items() for i in range(len(vals))],
                                    names=["system", "seed"])
    return pd.DataFrame({("official", ""): [v for vals in official.values() for v in vals]}, index=idx)


def test_ordering_every_pair_its_noise_and_the_published_order():
    # means A 60 (sd 2), B 59 (sd 1), C 50 (one seed); published: B 57 > A 56, C has none
    per_seed = _per_seed({"B": [58.0, 60.0], "A": [58.0, 60.0, 62.0], "C": [50.0]})
    pairs = results.ordering(per_seed, pd.Series({"A": 56.0, "B": 57.0}))
    assert list(pairs.index) == [("A", "B"), ("A", "C"), ("B", "C")]
    assert pairs["difference"].tolist() == pytest.approx([1.0, 10.0, 9.0])
    # A-B: sqrt(4/3 + 2/2) = 1.528, 2 SE 3.06 > 1: inside; pairs with C: one seed
    assert pairs.loc[("A", "B"), "2 SE"] == pytest.approx(2 * np.sqrt(4 / 3 + 1))
    assert pairs.verdict.tolist() == ["inside the seed noise", results.ONE_SEED, results.ONE_SEED]
    assert np.isnan(pairs.loc[("A", "C"), "2 SE"])
    assert pairs.adjacent.tolist() == [True, False, True]
    # the report puts B ahead of A: disagrees; C is not published: NA, left out of the count
    assert pairs.loc[("A", "B"), "published difference"] == pytest.approx(-1.0)
    assert not pairs.loc[("A", "B"), "published agrees"]
    assert pairs["published agrees"].isna().tolist() == [False, True, True]
    # a difference of exactly 2 SE counts as outside the noise (|d| < 2 SE is inside)
    tie = results.ordering(_per_seed({"A": [61.0, 59.0], "B": [58.0, 58.0]}), pd.Series(dtype=float))
    assert tie["2 SE"].iloc[0] == pytest.approx(2.0) and tie["difference"].iloc[0] == pytest.approx(2.0)
    assert tie.verdict.iloc[0] == "outside the seed noise"


def test_versus_a_reference_over_independent_seeds():
    per_seed = _per_seed({"AE": [50.0, 52.0], "S1": [60.0, 62.0], "S2": [51.0, 53.0], "S3": [40.0, 42.0], "S4": [70.0]})
    got = results.versus(per_seed, "AE")
    assert list(got.index) == ["S1", "S2", "S3", "S4"]
    # sd of every two-seed system sqrt(2): 2 SE = 2 * sqrt(2/2 + 2/2) = 2.83
    assert got.loc["S1", "difference"] == pytest.approx(10.0) and got.loc["S1", "2 SE"] == pytest.approx(2 * np.sqrt(2))
    assert got.loc["S1", "official"] == pytest.approx(61.0) and got.loc["S1", "reference official"] == pytest.approx(51.0)
    assert got.loc["S1", "official sd"] == pytest.approx(np.sqrt(2)) and got.loc["S1", "seeds"] == 2
    assert got.verdict.tolist() == ["beats", "is inside the seed noise of", "loses to",
                                    "cannot be judged (one seed) against"]
    assert got.loc["S2", "difference"] == pytest.approx(1.0) and got.loc["S3", "difference"] == pytest.approx(-10.0)
    assert got.loc["S4", "official sd"] == 0.0 and np.isnan(got.loc["S4", "2 SE"])  # one seed: sd counted 0
    assert results.versus(per_seed, "nobody").empty and results.versus(pd.DataFrame(), "AE").empty


def test_variants_across_seeds_without_a_study_is_empty():
    table, paired = results.variants_across_seeds(pd.DataFrame(), "03_system1", {"a": "system1"}, "knn", "a")
    assert table.empty and paired.empty and list(paired.columns) == results.PAIRED_COLUMNS
    assert results.paired_row(paired, "b", missing="no study") == {"official": pytest.approx(np.nan, nan_ok=True),
                                                                   "2 SE": pytest.approx(np.nan, nan_ok=True),
                                                                   "seeds": 0, "verdict": "no study"}


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
    source, table, paired = results.study_ablation("ci", data, "03_system1", {"A": "a", "B": "b"}, "knn", "A", csv)
    assert table.loc["A"][("mean", "official")] == pytest.approx(57.0)
    # A minus B per seed: 56 - 55 = +1, 58 - 55 = +3: mean 2, sd sqrt(2), 2 SE = 2 * sqrt(2) / sqrt(2) = 2
    # |2| > 2 is false: inside the noise
    assert list(paired.index) == ["B"]
    assert paired.loc["B", "official"] == pytest.approx(2.0) and paired.loc["B", "2 SE"] == pytest.approx(2.0)
    assert paired.loc["B", "seeds"] == 2 and paired.loc["B", "verdict"] == "inside the seed noise"
    assert [paired.loc["B", "seed 0"], paired.loc["B", "seed 1"]] == pytest.approx([1.0, 3.0])
    assert results.paired_row(paired, "B") == {"official": pytest.approx(2.0), "2 SE": pytest.approx(2.0), "seeds": 2,
                                               "verdict": "inside the seed noise"}


def test_paired_difference_rule_and_one_seed():
    # +1, +2, +3: mean 2, sd 1, 2 SE = 2 / sqrt(3) = 1.155 < 2: outside
    row = results.paired_difference(pd.Series([1.0, 2.0, 3.0, np.nan], index=[4, 5, 6, 7]))
    assert row["official"] == pytest.approx(2.0) and row["2 SE"] == pytest.approx(2 / np.sqrt(3))
    assert row["seeds"] == 3 and row["verdict"] == "outside the seed noise"
    assert [row["seed 4"], row["seed 5"], row["seed 6"]] == [1.0, 2.0, 3.0] and "seed 7" not in row
    one = results.paired_difference(pd.Series([-1.5], index=[0]))
    assert one["official"] == -1.5 and np.isnan(one["2 SE"]) and one["verdict"] == results.ONE_SEED


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
    table, effect, source = results.additional_effect("03_system1", "system1", "S1", "knn", "ci", data, None, {})
    assert table.loc["S1 + additional"][("mean", "official")] == pytest.approx(59.0)
    # dev + additional minus dev only per seed: 58 - 55 = +3, 60 - 55 = +5: mean 4, sd sqrt(2), 2 SE 2 < 4
    assert source.startswith("seed study") and list(effect.index) == ["knn"]
    assert results.paired_row(effect, "knn") == {"official": pytest.approx(4.0), "2 SE": pytest.approx(2.0),
                                                 "seeds": 2, "verdict": "outside the seed noise"}
    # no additional training data: says so, no table, an empty effect
    none, effect, source = results.additional_effect("03_system1", "system1", "S1", "knn", "ci", data, None, None)
    assert none is None and effect.empty and "no additional training data" in source
    # a run told not to use the additional set (the book's build): trained dev-only here, both
    # variants from the study, and a like-for-like study row beside this run
    table, effect, source = results.additional_effect("03_system1", "system1", "S1", "knn", "ci", data, {}, None,
                                                      asked=False)
    assert source.startswith("seed study") and effect.loc["knn", "official"] == pytest.approx(4.0)
    assert table.loc["S1"][("mean", "official")] == pytest.approx(55.0)
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


def test_run_study_waits_for_the_prerequisite_chapters_of_the_same_seed(tmp_path, monkeypatch):
    """06 reads 03-05 (``chapters.READS_RUNS_OF``): its job of seed s starts once the jobs of
    those chapters with seed s ended, without waiting for the other seeds or for 02; a failed
    job does not stop the study, and every job leaves a record with its status."""
    nbs = [REPO_ROOT / "notebooks" / f"{n}.py" for n in ("02_baselines", "03_system1", "04_system2", "06_ensemble")]
    jobs = [study.StudyJob(nb, s, {"profile": "ci", "seed": s}, Path(), Path()) for nb in nbs for s in (0, 1)]
    for job in jobs:
        job.run_log = tmp_path / "run_logs" / f"{job.name}.jsonl"
    events = tmp_path / "events.txt"

    def fake_command(job):  # each job stamps its start and end on the jobs' shared file
        stamp = (f"import time; f = open({str(events)!r}, 'a'); f.write('start {job.name} %r\\n' % time.time()); "
                 f"f.flush(); time.sleep({0.6 if job.notebook.stem == '02_baselines' else 0.1}); "
                 f"f.write('end {job.name} %r\\n' % time.time()); f.close(); "
                 f"raise SystemExit({1 if job.name == '03_system1-seed1' else 0})")
        return [sys.executable, "-c", stamp]

    monkeypatch.setattr(study.StudyJob, "command", fake_command)
    study.run_study(jobs, workers=2, log=lambda *_: None)
    at = {}
    for line in events.read_text().splitlines():
        what, name, t = line.split()
        at[(what, name)] = float(t)
    assert len(at) == 2 * len(jobs)
    for s in (0, 1):
        start = at[("start", f"06_ensemble-seed{s}")]
        assert all(at[("end", f"{c}-seed{s}")] <= start for c in ("03_system1", "04_system2"))
    assert at[("start", "06_ensemble-seed0")] < at[("end", "02_baselines-seed1")]  # 02 is not waited for
    status = {j.name: json.loads(j.run_log.with_suffix(".json").read_text())["status"] for j in jobs}
    assert status.pop("03_system1-seed1") == "failed" and set(status.values()) == {"ok"}
    assert (tmp_path / "run_logs" / "03_system1-seed1.log").read_text().startswith("$ ")  # its output, with its command


def test_scale_effect_gives_the_book_schedule_and_the_longest(tmp_path):
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
    effect = results.scale_effect(got, "demo")  # demo: AE 20 epochs, Systems 1-2 10; probability left out
    assert list(effect.index) == [("AE-MAHALA", "AE-MAHALA"), ("System-2", "knn")]
    # AE-MAHALA: mean of 54, 52 at 20 epochs = 53, of 58, 57 at 100 = 57.5, 2 seeds; System-2: one seed
    assert effect["book epochs"].tolist() == [20, 10] and effect["most epochs"].tolist() == [100, 20]
    assert effect["official at book epochs"].tolist() == pytest.approx([53.0, 57.5])
    assert effect["official at most epochs"].tolist() == pytest.approx([57.5, 58.5])
    assert effect["seeds"].tolist() == [2, 1]
    # a schedule the study did not measure: NaN at the book's epochs
    longer_only = results.scale_effect(got[got.epochs != 20], "demo")
    assert np.isnan(longer_only.loc[("AE-MAHALA", "AE-MAHALA"), "official at book epochs"])
    assert results.scale_effect(pd.DataFrame(), "demo").empty
    assert results.scale_study("demo", data, tmp_path / "none.csv")[0].empty


def test_versus_longer_baselines_pairs_seeds_with_the_longest_baseline():
    idx = pd.MultiIndex.from_tuples([("System-2", 0), ("System-2", 1), ("System-2", 2), ("AE-MAHALA", 0)],
                                    names=["system", "seed"])
    per_seed = pd.DataFrame({("official", ""): [58.0, 57.0, 59.0, 53.0]}, index=idx)
    scale = pd.DataFrame([{"system": "AE-MAHALA", "backend": "AE-MAHALA", "seed": s, "epochs": e, "official": v}
                          for s, (a, b) in enumerate([(53.0, 57.0), (52.0, 57.0), (54.0, 57.0)])
                          for e, v in ((20, a), (100, b))])
    got = results.versus_longer_baselines(per_seed, scale)
    # differences 58-57, 57-57, 59-57 = +1, 0, +2: mean +1.0, sd 1, 2 SE = 2/sqrt(3) = 1.15 -> level
    assert list(got.index) == [("System-2", "AE-MAHALA")]  # no AE-MSE in the scale study
    row = got.loc[("System-2", "AE-MAHALA")]
    assert row["baseline epochs"] == 100 and row["seeds"] == 3
    assert row["official"] == pytest.approx(1.0) and row["2 SE"] == pytest.approx(2 / np.sqrt(3))
    assert [row["seed 0"], row["seed 1"], row["seed 2"]] == pytest.approx([1.0, 0.0, 2.0])
    assert row["verdict"] == "level with it"
    # shifted by +1 and -2.5: mean 2.0 > 1.15 ahead of; mean -1.5 < -1.15 behind
    ahead = results.versus_longer_baselines(per_seed + 1.0, scale)
    behind = results.versus_longer_baselines(per_seed - 2.5, scale)
    assert ahead.verdict.tolist() == ["ahead of it"] and behind.verdict.tolist() == ["behind it"]
    assert behind["official"].tolist() == pytest.approx([-1.5])
    assert results.versus_longer_baselines(per_seed, pd.DataFrame()).empty
    # one seed of a system: no row (no spread to judge it by)
    assert results.versus_longer_baselines(per_seed.drop([("System-2", 1), ("System-2", 2)]), scale).empty


def _long(values: dict) -> pd.DataFrame:
    """A ``results_long``-like table of Total rows: {(variant, backend): (AUC-s, AUC-t, pAUC, official)}."""
    idx = pd.MultiIndex.from_tuples([(v, b, "Total") for v, b in values], names=["variant", "backend", "machine_type"])
    return pd.DataFrame(list(values.values()), index=idx, columns=["AUC-s", "AUC-t", "pAUC", "official"])


def test_differences_per_backend_one_run():
    long = _long({("with", "knn"): (60.0, 50.04, 55.0, 54.0), ("with", "probability"): (52.0, 48.0, 51.0, 50.0),
                  ("without", "knn"): (58.0, 51.0, 55.5, 53.96), ("without", "probability"): (52.0, 46.5, 50.0, 49.0)})
    got = results.differences(long, "with", "without")
    assert list(got.index) == ["knn", "probability"]
    # knn: +2.0, -0.96 -> -1.0, -0.5, +0.04 -> 0.0 (rounded to 0.1 as before)
    assert got.loc["knn", ["AUC-s", "AUC-t", "pAUC", "official"]].tolist() == pytest.approx([2.0, -1.0, -0.5, 0.0])
    assert got.loc["probability", ["AUC-s", "AUC-t", "pAUC", "official"]].tolist() == pytest.approx([0.0, 1.5, 1.0, 1.0])
    assert got.seeds.tolist() == [1, 1] and got.verdict.tolist() == [results.ONE_SEED] * 2
    assert results.paired_row(got, "probability") == {"official": pytest.approx(1.0), "2 SE": pytest.approx(np.nan, nan_ok=True),
                                                      "seeds": 1, "verdict": results.ONE_SEED}


def test_domain_shift_against_the_reference_backend():
    cols = ["AUC-s", "AUC-t", "pAUC", "official", "within source", "within target", "target above source"]
    table = pd.DataFrame([["knn", "synFan", 1, 1, 1, 1, 1, 1, 1],
                          ["knn", "Total", 70.0, 55.0, 60.0, 61.0, 80.0, 75.0, 85.0],
                          ["standardised", "Total", 66.0, 63.0, 61.5, 63.0, 79.0, 76.0, 52.0]],
                         columns=["backend", "machine_type", *cols])
    got = results.domain_shift(table)
    assert list(got.index) == ["knn", "standardised"]
    assert got.loc["knn", ["within source", "within target", "target above source", "AUC-s", "AUC-t"]].tolist() == \
        [80.0, 75.0, 85.0, 70.0, 55.0]
    # standardised minus knn: AUC-t +8, AUC-s -4, pAUC +1.5, official +2; the reference row 0
    assert got.loc["standardised", ["AUC-t vs knn", "AUC-s vs knn", "pAUC vs knn", "official vs knn"]].tolist() == \
        pytest.approx([8.0, -4.0, 1.5, 2.0])
    assert (got.loc["knn", ["AUC-t vs knn", "AUC-s vs knn", "pAUC vs knn", "official vs knn"]] == 0).all()
    assert results.domain_shift(table, reference="standardised").loc["knn", "official vs standardised"] == -2.0


def test_fit_summary_and_glue_values(monkeypatch):
    det = type("Det", (), {"classes_": ["a", "b", "c"], "extra_types_": ["x"], "history_": pd.DataFrame({"e": range(4)}),
                           "resumed_from_epoch_": 2})()
    assert results.fit_summary(det, 12.5) == {"classes": 3, "additional types": 1, "epochs": 4, "resumed from": 2,
                                              "seconds": 12.5}
    assert results.glue_key("add", "2 SE") == "add_2_se" and results.glue_key("s", "System-1 (knn)") == "s_system_1_knn"
    assert results.plain(np.float64(1.5)) == 1.5 and type(results.plain(np.float64(1.5))) is float
    assert type(results.plain(np.int64(3))) is int and np.isnan(results.plain(pd.NA)) and results.plain("x") == "x"
    import myst_nb

    glued = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: glued.append((name, value, display)))
    assert results.glue_values("fit", {"additional types": np.int64(1), "seconds": np.float64(12.5),
                                       "verdict": "x", "2 SE": None}) is None  # a cell may end with it
    assert glued[:3] == [("fit_additional_types", 1, False), ("fit_seconds", 12.5, False), ("fit_verdict", "x", False)]
    assert glued[3][0] == "fit_2_se" and np.isnan(glued[3][1]) and type(glued[1][1]) is float


def test_effect_and_versus_phrases_and_glue_effect(monkeypatch):
    """The words a chapter's opening glues: a measured effect with its verdict, an unmeasured one
    without "+nan", and this run against the seed study's baselines (hand-computed)."""
    paired = pd.DataFrame({"official": [1.25], "2 SE": [0.5], "seeds": [3], "verdict": ["outside the seed noise"]},
                          index=["knn"])
    assert results.effect_phrase(results.paired_row(paired, "knn")) == \
        "changes the official score by +1.2 points over 3 seed(s) (outside the seed noise)"
    missing = results.paired_row(paired, "kmeans", missing="not measured")
    assert results.effect_phrase(missing) == "is not measured on these data (see its section below)"
    beside = pd.DataFrame({"official": [52.0, 55.5], "seeds": [3, 2]},
                          index=["AE-MSE (seed study)", "AE-MAHALA (seed study)"])
    assert results.versus_study_phrase(beside, 54.0) == ("this run lies 2.0 official points above AE-MSE's mean over "
                                                         "3 seed(s), 1.5 official points below AE-MAHALA's mean over "
                                                         "2 seed(s)")
    assert results.versus_study_phrase(beside.iloc[:0], 54.0).startswith("no comparison is possible here")
    import myst_nb

    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: glued.update({name: value}))
    row = results.glue_effect("abl", paired, "knn", missing="not measured")
    assert row["official"] == 1.25 and glued["abl_official"] == 1.25 and glued["abl_seeds"] == 3
    assert glued["abl_phrase"] == results.effect_phrase(row) and glued["abl_verdict"] == "outside the seed noise"


def test_study_parameters_from_the_registry_and_dash_p_reach_every_job_but_not_its_name(tmp_path):
    """A studied chapter's jobs get the registry's variants (``CHAPTERS[stem].study``) and ``-p``
    values; the job names (and so their files) carry only the seed and the grid."""
    from asdlib.book.chapters import CHAPTERS
    from asdlib.book.runner import find_notebooks
    from asdlib.book.study import plan

    nb = find_notebooks(names=["03"])
    _, jobs = plan("ci", [0, 1], nb, grid={"03_system1": {"contrastive_weight": [0.0, 1.0]}}, runs_root=tmp_path,
                   common={"03_system1": {"data_root": "/data/dev"}})
    assert len(jobs) == 4
    for job in jobs:
        assert job.parameters["data_root"] == "/data/dev"
        assert all(job.parameters[k] == v for k, v in CHAPTERS["03_system1"].study.items())
        assert "/" not in job.name and "additional" not in job.name and "contrastive_weight" in job.name
    # a grid over a registry key wins over the registry's value and names the job
    _, jobs = plan("ci", [0], nb, grid={"03_system1": {"additional": [False]}}, runs_root=tmp_path)
    assert jobs[0].parameters["additional"] is False and "additionalFalse" in jobs[0].name


def test_additional_effect_of_two_runs_trained_here():
    def run(s, t, p, o):  # a DetectorRun-like object: metrics as fractions, Total row with the official score
        m = pd.DataFrame({"AUC-s": [s, s], "AUC-t": [t, t], "pAUC": [p, p], "official": [np.nan, o]},
                         index=pd.Index(["synFan", "Total"], name="machine_type"))
        return type("R", (), {"metrics": m})()
    dev = {"knn": run(0.60, 0.50, 0.55, 0.54), "probability": run(0.50, 0.50, 0.50, 0.50)}
    add = {"knn": run(0.63, 0.49, 0.56, 0.57), "probability": run(0.52, 0.47, 0.50, 0.495)}
    table, effect, source = results.additional_effect("03_system1", "system1", "S1", "knn", "ci", None, dev, add)
    assert "this run" in source and table.loc[("S1 + additional", "knn"), "official"] == pytest.approx(57.0)
    # dev + additional minus dev only, points: knn +3, -1, +1, +3; probability +2, -3, 0, -0.5
    assert effect.loc["knn", ["AUC-s", "AUC-t", "pAUC", "official"]].tolist() == pytest.approx([3.0, -1.0, 1.0, 3.0])
    assert effect.loc["probability", ["AUC-s", "AUC-t", "pAUC", "official"]].tolist() == \
        pytest.approx([2.0, -3.0, 0.0, -0.5])
    assert results.paired_row(effect, "knn") == {"official": pytest.approx(3.0), "2 SE": pytest.approx(np.nan, nan_ok=True),
                                                 "seeds": 1, "verdict": results.ONE_SEED}


def test_grid_and_set_items_of_another_form_stop_with_the_expected_form():
    from asdlib.book.runner import _parse_overrides

    with pytest.raises(SystemExit, match=r"--grid expects NOTEBOOK:KEY=V1,V2,\.\.\., got '03_system1'"):
        study.parse_grid(["03_system1"])
    with pytest.raises(SystemExit, match=r"--set expects NOTEBOOK:KEY=VALUE, got '02:epochs'"):
        _parse_overrides(["02:epochs"])
    assert study.parse_grid(["03_system1:contrastive_weight=0,1"]) == {"03_system1": {"contrastive_weight": [0, 1]}}


def test_a_job_that_ended_ok_with_complete_run_folders_is_not_rerun(tmp_path, monkeypatch):
    """Resuming a study: a job whose record says ok, with the same parameters and complete run
    folders, is skipped; one whose folder is incomplete, or with other parameters, runs again."""
    nb = REPO_ROOT / "notebooks" / "03_system1.py"
    jobs = [study.StudyJob(nb, s, {"profile": "ci", "seed": s}, Path(), tmp_path / "run_logs" / f"job{s}.jsonl")
            for s in (0, 1, 2)]
    for job, state in zip(jobs, ("complete", "incomplete", "complete")):
        folder = tmp_path / "runs" / job.name
        folder.mkdir(parents=True)
        (folder / "status.json").write_text(json.dumps({"status": state}))
        job.run_folders, job.status, job.seconds = [str(folder)], "ok", 1.0
        job.run_log.parent.mkdir(parents=True, exist_ok=True)
        job.run_log.with_suffix(".json").write_text(json.dumps(job.record()))
    jobs[2].parameters = {"profile": "ci", "seed": 2, "epochs": 3}  # other settings than its record's
    assert [study.finished(j) for j in jobs] == [True, False, False]
    submitted = []
    monkeypatch.setattr("asdlib.book.engine.run_jobs", lambda specs, *a, **k: submitted.extend(s.name for s in specs))
    study.run_study(jobs, log=lambda *_: None)
    assert submitted == [jobs[1].name, jobs[2].name]
    assert study.run_study(jobs, log=lambda *_: None, rerun=True) and submitted[2:] == [j.name for j in jobs]
