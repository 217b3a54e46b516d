"""Official metrics against hand-computed values and the real ground-truth files."""

import numpy as np
import pandas as pd
import pytest

from asdlib.evaluation import metrics

# source normals 0.1, 0.4; target normals 0.35, 0.8; anomalies: source 0.5, target 0.3
Y = [0, 0, 0, 0, 1, 1]
D = ["source", "source", "target", "target", "source", "target"]
S = [0.1, 0.4, 0.35, 0.8, 0.5, 0.3]


def test_auc_source_uses_all_anomalies():
    # pairs (anomaly > source normal): 0.5>0.1, 0.5>0.4, 0.3>0.1 ; 0.3<0.4 -> 3/4
    assert metrics.auc_source(Y, D, S) == pytest.approx(0.75)


def test_auc_target_uses_all_anomalies_not_target_only():
    # official: normals {0.35, 0.8} vs anomalies {0.5, 0.3}: only 0.5>0.35 -> 1/4
    assert metrics.auc_target(Y, D, S) == pytest.approx(0.25)
    # the common mistake (target clips only) would give 0/2 = 0.0
    assert metrics.auc_target(Y, D, S) != pytest.approx(0.0)


def test_pauc_hand_computed_mcclish():
    normals = np.arange(10) / 10.0  # 0.0 .. 0.9
    anomalies = [0.95, 0.85]
    y = [0] * 10 + [1, 1]
    s = list(normals) + anomalies
    # ROC: TPR 0.5 on FPR (0, 0.1] -> partial area 0.05; McClish with min 0.005, max 0.1
    expected = 0.5 * (1 + (0.05 - 0.005) / (0.1 - 0.005))
    assert metrics.pauc(y, s) == pytest.approx(expected)
    assert metrics.pauc(y, s) == pytest.approx(0.7368421, abs=1e-6)


def test_harmonic_mean_and_floor():
    assert metrics.harmonic_mean([0.5, 1.0]) == pytest.approx(2 / 3)
    # a zero is floored at eps instead of dividing by zero: the mean collapses towards 0
    assert 0 < metrics.harmonic_mean([0.0, 1.0]) < 1e-10


def test_evaluate_totals_and_official_score():
    rng = np.random.default_rng(0)
    frames = []
    for mtype, shift in [("a", 2.0), ("b", 0.5)]:
        n = 40
        y = np.r_[np.zeros(n), np.ones(n)].astype(int)
        d = np.tile(["source", "target"], n)
        s = rng.normal(size=2 * n) + shift * y
        frames.append(pd.DataFrame({"machine_type": mtype, "is_anomaly": y, "domain": d, "score": s}))
    scores = pd.concat(frames, ignore_index=True)
    table = metrics.evaluate(scores)
    assert list(table.index) == ["a", "b", "Total"]
    for col in metrics.METRIC_COLUMNS:
        assert table.loc["Total", col] == pytest.approx(metrics.harmonic_mean(table.loc[["a", "b"], col]))
    all_vals = table.loc[["a", "b"], metrics.METRIC_COLUMNS].to_numpy().ravel()
    assert table.loc["Total", "official"] == pytest.approx(len(all_vals) / np.sum(1 / all_vals))
    assert table.loc["a", "AUC-s"] > table.loc["b", "AUC-s"]  # the larger shift separates better


def test_table1_layout():
    t = pd.DataFrame({"AUC-s": [0.7, 0.6], "AUC-t": [0.5, 0.55], "pAUC": [0.52, 0.51]}, index=["fan", "Total"])
    wide = metrics.table1({"AE-MSE": t})
    assert wide.loc["AE-MSE", ("fan", "AUC-s")] == 70.0
    assert list(wide.columns.get_level_values(0).unique()) == ["fan", "Total"]


def test_submission_roundtrip(tmp_path):
    names = ["section_00_source_test_normal_0000_a_1.wav", "section_00_target_test_anomaly_0001_a_2.wav"]
    s_path, d_path = metrics.write_submission(tmp_path, "fan", names, [0.25, 3.5], [0, 1])
    assert s_path.name == "anomaly_score_fan_section_00_test.csv"
    assert d_path.name == "decision_result_fan_section_00_test.csv"
    assert s_path.read_text().splitlines()[0] == f"{names[0]},0.25"  # no header
    back = metrics.read_submission(tmp_path, "fan")
    assert back.score.tolist() == [0.25, 3.5] and back.decision.tolist() == [0, 1]


def test_evaluate_submission_on_official_ground_truth(gt_root, tmp_path):
    types = ["AirCompressor", "ToyCircuit"]
    expected = {}
    for mtype in types:
        gt = pd.read_csv(gt_root / "ground_truth_data" / f"ground_truth_{mtype}_section_00_test.csv",
                         header=None, names=["f", "y"])
        dom = pd.read_csv(gt_root / "ground_truth_domain" / f"ground_truth_{mtype}_section_00_test.csv",
                          header=None, names=["f", "t"])
        assert len(gt) == 200 and (gt.f == dom.f).all()
        # score = "is target": AUC-s = P(target anomaly) * 1 + P(source anomaly) * 0.5 (ties)
        p = dom.t[gt.y == 1].mean()
        expected[mtype] = p + (1 - p) / 2
        metrics.write_submission(tmp_path, mtype, gt.f, dom.t.astype(float), dom.t)
    table = metrics.evaluate_submission(tmp_path, gt_root, types)
    for mtype in types:
        assert table.loc[mtype, "AUC-s"] == pytest.approx(expected[mtype])
    # a perfect submission scores 1.0 everywhere
    for mtype in types:
        gt = pd.read_csv(gt_root / "ground_truth_data" / f"ground_truth_{mtype}_section_00_test.csv",
                         header=None, names=["f", "y"])
        metrics.write_submission(tmp_path, mtype, gt.f, gt.y.astype(float), gt.y)
    perfect = metrics.evaluate_submission(tmp_path, gt_root, types)
    assert perfect.loc["Total", "official"] == pytest.approx(1.0)
    assert perfect.loc["Total", "F1-s"] == pytest.approx(1.0) and perfect.loc["Total", "F1-t"] == pytest.approx(1.0)


def test_f1_is_per_domain_over_that_domains_clips_only():
    """As the official evaluator: precision/recall/F1 of the source domain use the source
    clips only (their normals and their own anomalies), not all clips."""
    y = [0, 0, 1, 1, 0, 0, 1, 1]
    dom = ["source"] * 4 + ["target"] * 4
    dec = [0, 1, 1, 1, 1, 1, 0, 1]
    m = metrics.type_metrics(y, dom, np.arange(8.0), dec)
    # source: tp 2, fp 1, fn 0 -> P 2/3, R 1, F1 0.8; target: tp 1, fp 2, fn 1 -> P 1/3, R 1/2, F1 0.4
    assert (m["precision-s"], m["recall-s"], m["F1-s"]) == pytest.approx((2 / 3, 1.0, 0.8))
    assert (m["precision-t"], m["recall-t"], m["F1-t"]) == pytest.approx((1 / 3, 0.5, 0.4))


def test_report_table1_totals_are_harmonic_means_of_types():
    """The published Total columns are harmonic means over types (checks our transcription)."""
    from asdlib.evaluation.published import table1 as published

    t = published()
    for system in t.index:
        for m in metrics.METRIC_COLUMNS:
            per_type = [t.loc[system, (ty, m)] for ty in t.columns.get_level_values(0).unique() if ty != "Total"]
            assert metrics.harmonic_mean(per_type) == pytest.approx(t.loc[system, ("Total", m)], abs=0.15)


def test_one_domain_summary_counts_and_auc():
    out = metrics.one_domain_summary([0, 0, 1, 1], [0.1, 0.6, 0.5, 0.9], [0, 1, 0, 1])
    assert out["AUC (all clips)"] == pytest.approx(75.0)  # 3 of 4 anomaly/normal pairs ordered
    assert out["normals flagged"] == "1 / 2" and out["anomalies flagged"] == "1 / 2"


def test_domain_diagnostics_separates_detection_from_domain_offset():
    """Perfect detection inside each domain, but every target clip scores 10 higher: AUC within
    each domain 100, target normals above source normals always, and AUC-t suffers."""
    y = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    dom = np.array(["source"] * 4 + ["target"] * 4)
    s = np.array([0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0])
    table = metrics.domain_diagnostics(pd.DataFrame({"machine_type": "m", "is_anomaly": y, "domain": dom, "score": s}))
    assert table.loc["m", "within source"] == 100 and table.loc["m", "within target"] == 100
    assert table.loc["m", "target above source"] == 100
    assert metrics.auc_target(y, dom, s) == pytest.approx(0.5)  # target normals beat the source anomalies
