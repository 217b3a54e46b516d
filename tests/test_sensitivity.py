"""The sensitivity study: its data variations do what they say, its plan and its resumable
runner keep conditions apart, and its table takes each system's Table-1 rows."""

import json

import numpy as np
import pandas as pd
import pytest

from asdlib import synth
from asdlib.book import sensitivity
from asdlib.synth import scenario as sc


# --------------------------------------------------------------------------- the generator's knobs
def test_a_fault_family_plants_only_its_faults_and_names_a_type_without_one():
    specs = synth.plan_type("synGearbox", "ci", seed=0, scenario=synth.Scenario(fault_family="tonal"))
    kinds = {s.anomaly for s in specs if s.label == "anomaly"}
    assert kinds == {"misalignment"}
    default = {s.anomaly for s in synth.plan_type("synGearbox", "ci", seed=0) if s.label == "anomaly"}
    assert default == {"tooth_crack", "wear", "misalignment"}
    with pytest.raises(ValueError, match="synValve has no tonal fault"):
        synth.plan_type("synValve", "ci", scenario=synth.Scenario(fault_family="tonal"))
    assert "synValve" not in synth.types_with_family(sensitivity.DEV_TYPES, "tonal")
    assert synth.types_with_family(sensitivity.DEV_TYPES, "transient") == list(sensitivity.DEV_TYPES)


def test_every_development_fault_has_one_family():
    for name in synth.MACHINE_TYPES:
        assert set(sc.FAULT_FAMILY[name]) == set(synth.get_model(name).anomalies), name
        assert set(sc.FAULT_FAMILY[name].values()) <= set(sc.FAULT_FAMILIES) - {"all"}


def test_what_the_domain_shift_changes():
    take = dict(machine_type="synFan", attributes={"spd": "31.5", "mic": "1"}, seconds=0.5, seed=3, info=True)
    src, src_info = synth.render_clip(domain="source", **take)
    # "operating": the target take is recorded where the source was -> the same take exactly
    tgt, _ = synth.render_clip(domain="target", scenario=synth.Scenario(domain_shift="operating"), **take)
    np.testing.assert_array_equal(src, tgt)
    # by default the target changes the hall and the mic: another recording of the same sound
    tgt_all, all_info = synth.render_clip(domain="target", **take)
    assert all_info["hall"] != src_info["hall"]
    # "microphone": the same hall, the mic moved; "background": the other hall, the mic where it was
    _, mic_info = synth.render_clip(domain="target", scenario=synth.Scenario(domain_shift="microphone"), **take)
    _, bg_info = synth.render_clip(domain="target", scenario=synth.Scenario(domain_shift="background"), **take)
    assert mic_info["hall"] == src_info["hall"] and mic_info["mic_distance_m"] != src_info["mic_distance_m"]
    assert bg_info["hall"] == all_info["hall"] and bg_info["mic_distance_m"] == src_info["mic_distance_m"]
    # where only the recording changes, the target domain runs at the source's operating values
    specs = synth.plan_type("synFan", "ci", scenario=synth.Scenario(domain_shift="microphone"))
    model = synth.get_model("synFan")
    assert {tuple(v for _, v in s.attrs) for s in specs if s.domain == "target"} <= set(model.source_groups)


def test_the_snr_shift_moves_the_same_draw():
    take = dict(machine_type="synValve", seconds=0.5, seed=5, info=True)
    _, base = synth.render_clip(**take)
    _, harsh = synth.render_clip(scenario=synth.Scenario(snr_shift_db=-6.0), **take)
    assert harsh["snr_db"] == pytest.approx(base["snr_db"] - 6.0)


def test_the_default_scenario_is_the_default_data_and_others_are_recorded(tmp_path):
    plain = synth.generate_dataset(tmp_path / "a", "ci", machine_types=["synFan"])
    same = synth.generate_dataset(tmp_path / "b", "ci", machine_types=["synFan"], scenario=synth.Scenario())
    harsh = synth.generate_dataset(tmp_path / "c", "ci", machine_types=["synFan"],
                                   scenario=synth.Scenario(snr_shift_db=-6.0, impact_rate=3.0))
    name = sorted((plain / "synFan" / "train").glob("*.wav"))[0].name
    assert (plain / "synFan/train" / name).read_bytes() == (same / "synFan/train" / name).read_bytes()
    assert (plain / "synFan/train" / name).read_bytes() != (harsh / "synFan/train" / name).read_bytes()
    assert "scenario" not in synth.read_manifest(plain)
    assert synth.read_manifest(harsh)["scenario"] == {"snr_shift_db": -6.0, "impact_rate": 3.0}
    with pytest.raises(ValueError, match="needs the version-2 recording"):
        synth.generate_dataset(tmp_path / "d", "ci", machine_types=["synFan"], version=1,
                               scenario=synth.Scenario(domain_shift="operating"))
    with pytest.raises(ValueError, match="domain_shift 'mic'"):
        synth.Scenario(domain_shift="mic")


# --------------------------------------------------------------------------- the study's plan
def test_the_plan_keeps_conditions_apart_and_shares_only_identical_work(tmp_path):
    chosen = sensitivity.conditions(["types", "clips"])
    jobs = sensitivity.plan("ci", [0, 1], chosen, tmp_path)
    names = [j.name for j in jobs]
    assert len(names) == len(set(names))
    # each condition's chapters write into their own runs folder: System-4 reads its own members
    roots = {j.condition: j.env["ASD_RUNS_DIR"] for j in jobs if j.chapter}
    assert len(set(roots.values())) == len(roots) == 5
    # the 16-type condition trains Systems 1-3 on the additional types and reuses the default AEs
    assert "types-16-seed0-02_baselines" not in names and "default-seed0-02_baselines" in names
    s1 = next(j for j in jobs if j.name == "types-16-seed1-03_system1")
    assert "additional" in s1.command[s1.command.index("-p") + 1:] and "data-additional-seed1" in s1.needs
    # the AEs train the official 100 epochs; seed s draws data seed s and trains with chapter seed + s
    ae = next(j for j in jobs if j.name == "clips-100-seed1-02_baselines")
    cmd = " ".join(ae.command)
    assert "-p epochs 100" in cmd and "-p seed 13712" in cmd and "demo" not in cmd
    data = next(j for j in jobs if j.name == ae.needs[0])
    assert "--n-train-source 100" in " ".join(data.command) and "--seed 1" in " ".join(data.command)
    ens = next(j for j in jobs if j.name == "clips-100-seed1-06_ensemble")
    assert {"clips-100-seed1-03_system1", "clips-100-seed1-04_system2", "clips-100-seed1-05_system3"} <= set(ens.needs)


def _fake_run(root, folders):
    """A run folder with metrics.csv files: {sub-folder/backend: official score of Total}."""
    for sub, official in folders.items():
        p = root / sub
        p.mkdir(parents=True)
        pd.DataFrame({"AUC-s": [0.6, 0.6], "AUC-t": [0.5, 0.5], "pAUC": [0.55, 0.55], "official": [official, official]},
                     index=["synFan", "Total"]).to_csv(p / "metrics.csv")


def test_finished_jobs_are_not_rerun_and_the_table_takes_table_1s_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(sensitivity, "REPO_ROOT", tmp_path)
    chosen = [c for c in sensitivity.CONDITIONS if c.name in ("default", "types-16")]
    folder = tmp_path / "study"
    jobs = sensitivity.plan("ci", [0], chosen, folder)
    runs = {"default-seed0-02_baselines": {"AE-MSE": 0.50, "AE-MAHALA": 0.52},
            "default-seed0-03_system1": {"system1/knn": 0.60, "system1/probability": 0.10},
            "types-16-seed0-03_system1": {"system1_additional/knn": 0.65, "system1/knn": 0.11},
            "types-16-seed0-06_ensemble": {"system4/zscore": 0.70}}
    for name, folders in runs.items():
        _fake_run(tmp_path / "runs" / name, folders)
        job = next(j for j in jobs if j.name == name)
        sensitivity._write_json(sensitivity.record_path(folder, job), {
            "job": name, "status": "ok", "seconds": 1.0, "condition": job.condition, "seed": 0,
            "chapter": job.chapter, "run_folders": [f"runs/{name}"]})
    assert sensitivity.done(folder, next(j for j in jobs if j.name == "default-seed0-02_baselines"))
    assert not sensitivity.done(folder, next(j for j in jobs if j.name == "default-seed0-04_system2"))
    table = sensitivity.aggregate(folder, chosen)
    total = table[table.machine_type == "Total"].set_index(["condition", "system"]).official
    assert total[("default", "System-1")] == pytest.approx(60.0)  # the dev-only network, knn
    assert total[("types-16", "System-1")] == pytest.approx(65.0)  # the dev + additional network
    assert total[("types-16", "AE-MAHALA")] == pytest.approx(52.0)  # the default condition's AEs
    assert total[("types-16", "System-4")] == pytest.approx(70.0)
    assert ("default", "System-4") not in total.index  # a job that has not run gives no row
    path = sensitivity.write_results(table, folder, jobs, chosen, "ci", ["--seeds", "0"], out_dir=tmp_path / "res")
    info = json.loads(path.with_suffix(".json").read_text())
    assert info["compute_seconds"] == 4.0 and info["ae_epochs"] == 100
    assert sum(r["status"] == "not run" for r in info["jobs"]) == len(jobs) - 4


def test_paired_differences_and_their_words_by_hand():
    rows = []
    for cond, factor, level, pos, diffs in (("default", "default", "default", 0.0, (2.0, 4.0)),
                                            ("types-4", "types", "4", 4.0, (1.0, -1.0))):
        for seed, d in enumerate(diffs):
            rows += [{"condition": cond, "factor": factor, "level": level, "position": pos, "seed": seed,
                      "system": "AE-MAHALA", "machine_type": "Total", "official": 50.0, "AUC-t": 40.0},
                     {"condition": cond, "factor": factor, "level": level, "position": pos, "seed": seed,
                      "system": "System-4", "machine_type": "Total", "official": 50.0 + d, "AUC-t": 45.0}]
    totals = pd.DataFrame(rows)
    v = sensitivity.versus(totals)
    s4 = v[v.system == "System-4"].set_index(["factor", "level"])
    # default: diffs 2, 4 -> mean 3, sd sqrt(2), SE 1, 2 SE 2: ahead
    assert s4.loc[("types", "7"), "official"] == pytest.approx(3.0)
    assert s4.loc[("types", "7"), "2 SE"] == pytest.approx(2.0)
    assert sensitivity.standing(s4.loc[("types", "7")]) == "ahead"
    assert sensitivity.standing(s4.loc[("types", "4")]) == "level"  # 1, -1: mean 0
    # the default data sit on every factor's axis, named once in the summary of conditions
    assert set(s4.index.get_level_values("factor")) == set(sensitivity.FACTORS)
    assert sensitivity.conditions_phrase(v, "System-4") == (
        "ahead beyond the seed noise at the default data; level with it (within the noise) at 4 types")
    assert sensitivity.factor_phrase(v, "types", "System-4") == (
        "level at 4 types (+0.0, 2 SE 2.0); ahead at 7 types (+3.0, 2 SE 2.0)")
    assert sensitivity.trend(v, "types", "System-4") == pytest.approx(3.0)
    assert sensitivity.headline(v) == (
        "against AE-MAHALA trained its official 100 epochs, on the book's default data System-4 is ahead by 3.0 "
        "points (2 SE 2.0, 2 seeds); in the report's setting (16 types) not measured yet")
    means = sensitivity.summary(totals).set_index(["factor", "level", "system"])
    assert means.loc[("clips", "190", "System-4"), "official mean"] == pytest.approx(53.0)
    assert means.loc[("clips", "190", "System-4"), "seeds"] == 2
    assert sensitivity.versus(totals.iloc[:0]).empty and sensitivity.summary(totals.iloc[:0]).empty


@pytest.mark.slow  # a local Dask cluster
def test_the_study_runs_on_the_engine_records_every_job_and_resumes_only_what_did_not_end_ok(tmp_path, monkeypatch):
    """The jobs go through the Dask engine (a local cluster): each leaves a record with its
    status, worker and run folders; a second run starts only the job that failed; past the time
    budget nothing starts and the records stay as they were."""
    import sys

    monkeypatch.setattr(sensitivity, "REPO_ROOT", tmp_path)
    chosen = [c for c in sensitivity.CONDITIONS if c.name == "default"]
    folder = tmp_path / "study"
    jobs = sensitivity.plan("ci", [0], chosen, folder)
    for j in jobs:
        if not j.chapter:  # a data job: its data root appears
            code = f"import os; os.makedirs({str(tmp_path / j.output)!r}, exist_ok=True)"
        else:  # a chapter: one run folder, named in its run log (ASD_RUN_LOG, as RunFolder.open does)
            code = (f"import json, os, sys; root = {str(tmp_path / 'runs' / j.name)!r}; os.makedirs(root); "
                    "open(os.environ['ASD_RUN_LOG'], 'a').write(json.dumps({'root': root}) + '\\n'); "
                    f"sys.exit({2 if j.chapter == '04_system2' else 0})")
        j.command = [sys.executable, "-c", code]
    lines = []
    ended = sensitivity.run(folder, jobs, workers=2, log=lines.append)
    assert {n: o.status for n, o in ended.items()} == {
        j.name: "failed" if j.chapter == "04_system2" else "ok" for j in jobs}
    records = {j.name: json.loads(sensitivity.record_path(folder, j).read_text()) for j in jobs}
    assert all(r["worker"].startswith("tcp://127.0.0.1") for r in records.values())
    assert records["default-seed0-03_system1"]["run_folders"] == [str(tmp_path / "runs" / "default-seed0-03_system1")]
    assert records["default-seed0-04_system2"]["status"] == "failed"
    # 06 waits for 03-05 of its cell (failed or not), so it ended after all of them
    order = list(ended)
    assert all(order.index(f"default-seed0-{c}") < order.index("default-seed0-06_ensemble")
               for c in ("03_system1", "04_system2", "05_system3"))
    # resumed: the failed job only (its run folder from the first attempt is in the way: it fails again)
    again = sensitivity.run(folder, jobs, workers=1, log=lines.append)
    assert list(again) == ["default-seed0-04_system2"]
    # past the budget nothing starts and nothing is recorded
    failed = next(j for j in jobs if j.chapter == "04_system2")
    before = sensitivity.record_path(folder, failed).read_text()
    late = sensitivity.run(folder, jobs, workers=1, budget_minutes=0, log=lines.append)
    assert {n: o.status for n, o in late.items()} == {failed.name: "not run"}
    assert sensitivity.record_path(folder, failed).read_text() == before


def test_the_cost_of_a_cell_from_the_job_records_by_hand():
    job = lambda cond, seed, chapter, seconds, status="ok": {  # noqa: E731
        "condition": cond, "seed": seed, "chapter": chapter, "seconds": seconds, "status": status}
    info = {"conditions": ["a", "b"], "seeds": [0, 1], "jobs": [
        job("", 0, "", 60.0),  # a data job: one minute
        job("a", 0, "02_baselines", 120.0), job("a", 0, "03_system1", 60.0), job("a", 0, "06_ensemble", 60.0),
        job("b", 0, "02_baselines", 240.0), job("b", 0, "03_system1", 240.0), job("b", 0, "06_ensemble", 120.0),
        job("a", 1, "02_baselines", 600.0)]}  # a cell without System-4: not finished, not counted
    spent = sensitivity.cost(info)
    assert spent["cells"] == 2 and spent["min"] == pytest.approx(4.0) and spent["max"] == pytest.approx(10.0)
    assert spent["ae_share"] == pytest.approx(960 / 1440)
    assert spent["study_hours"] == pytest.approx((7.0 * 4 + 1.0) / 60)  # 4 cells at 7 min + one data job
    assert sensitivity.cost({}) == {}
