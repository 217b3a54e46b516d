"""Detector plumbing: gamma threshold vs scipy, per-type decisions, run_detector outputs."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from asdlib.systems import detect


def test_gamma_threshold_matches_scipy_on_known_data():
    rng = np.random.default_rng(1)
    s = rng.gamma(shape=3.0, scale=2.0, size=5000)
    a, loc, scale = scipy.stats.gamma.fit(s)
    assert detect.gamma_threshold(s) == pytest.approx(scipy.stats.gamma.ppf(0.9, a, loc=loc, scale=scale))
    # with enough data the fitted 0.9 quantile approaches the true one
    assert detect.gamma_threshold(s) == pytest.approx(scipy.stats.gamma.ppf(0.9, 3.0, scale=2.0), rel=0.05)
    with pytest.raises(ValueError):
        detect.gamma_threshold([1.0, 2.0])


class MeanDetector(detect.Detector):
    """Scores a clip by a numeric column's distance from the train mean of its type."""

    threshold_rule = "percentile"

    def fit(self, train):
        self.mean_ = train.groupby("machine_type").x.mean().to_dict()
        self._set_thresholds(train, self.score(train))
        return self

    def score(self, clips):
        return np.abs(clips.x - clips.machine_type.map(self.mean_)).to_numpy()


def _clips():
    rows = []
    rng = np.random.default_rng(0)
    for mtype, center in [("a", 0.0), ("b", 10.0)]:
        for i in range(50):
            rows.append(dict(machine_type=mtype, section="00", split="train", domain="source", label="normal",
                             is_anomaly=0, file_name=f"section_00_source_train_normal_{i:04d}_x_1.wav",
                             x=center + rng.normal()))
        for i in range(20):
            anomalous = i % 2
            rows.append(dict(machine_type=mtype, section="00", split="test",
                             domain="source" if i < 10 else "target", label=["normal", "anomaly"][anomalous],
                             is_anomaly=anomalous, file_name=f"section_00_x_test_{i:04d}.wav",
                             x=center + rng.normal() + 4 * anomalous))
    return pd.DataFrame(rows)


def test_run_detector_writes_submission_and_metrics(tmp_path):
    run = detect.run_detector(MeanDetector(), _clips(), tmp_path)
    assert set(run.metrics.index) == {"a", "b", "Total"}
    assert run.metrics.loc["Total", "AUC-s"] > 0.9  # anomalies shifted by 4 sigma
    # per-type thresholds: type b's normals (around 10) are not all flagged
    test = run.scores
    assert test.loc[(test.machine_type == "b") & (test.is_anomaly == 0), "decision"].mean() < 0.5
    sub = pd.read_csv(tmp_path / "submission" / "anomaly_score_b_section_00_test.csv", header=None)
    assert len(sub) == 20
    assert (tmp_path / "metrics.csv").is_file() and (tmp_path / "scores.csv").is_file()


def test_decide_before_fit_fails_clearly():
    with pytest.raises(RuntimeError, match="before fit"):
        MeanDetector().decide(_clips(), np.zeros(140))
