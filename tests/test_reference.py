"""Reference detectors: closed-form Mahalanobis, leave-one-out NN, planted anomalies ranked high."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.covariance import LedoitWolf

from asdlib.evaluation import metrics
from asdlib.systems import reference
from asdlib.data.layout import scan_dataset

SR = 16000


def _clip(path, freq, rng, noise=0.05, seconds=0.5):
    t = np.arange(int(seconds * SR)) / SR
    x = 0.2 * np.sin(2 * np.pi * freq * t) + noise * rng.standard_normal(len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x.astype(np.float32), SR)


@pytest.fixture
def tone_dataset(tmp_path):
    """Normals: a 1 kHz tone with jitter; anomalies: an extra 3 kHz component."""
    rng = np.random.default_rng(0)
    root = tmp_path / "ds"
    for i in range(30):
        _clip(root / "hum/train" / f"section_00_source_train_normal_{i:04d}_x_1.wav", 1000 + rng.normal(0, 20), rng)
    for i in range(3):
        _clip(root / "hum/train" / f"section_00_target_train_normal_{i:04d}_x_2.wav", 1100 + rng.normal(0, 20), rng)
    for i in range(10):
        dom = "source" if i < 5 else "target"
        f0 = 1000 if dom == "source" else 1100
        _clip(root / "hum/test" / f"section_00_{dom}_test_normal_{i:04d}_x_1.wav", f0 + rng.normal(0, 20), rng)
        t = np.arange(SR // 2) / SR
        x = 0.2 * np.sin(2 * np.pi * f0 * t) + 0.1 * np.sin(2 * np.pi * 3000 * t) + 0.05 * rng.standard_normal(len(t))
        sf.write(root / "hum/test" / f"section_00_{dom}_test_anomaly_{i:04d}_x_1.wav", x.astype(np.float32), SR)
    return scan_dataset(root).clips


def test_mahalanobis_is_the_closed_form(tone_dataset):
    train = tone_dataset[tone_dataset.split == "train"]
    det = reference.ClipMeanMahalanobis().fit(train)
    X = reference.clip_mean_features(train)
    lw = LedoitWolf().fit(X)
    d = X[:3] - lw.location_
    expected = np.sqrt(np.einsum("ij,jk,ik->i", d, np.linalg.inv(lw.covariance_), d))
    np.testing.assert_allclose(det.score(train.iloc[:3]), expected, rtol=1e-4)


@pytest.mark.parametrize("cls", [reference.ClipMeanMahalanobis, reference.ClipMeanNearestNeighbour])
def test_planted_anomalies_rank_above_normals(tone_dataset, cls):
    test = tone_dataset[tone_dataset.split == "test"]
    det = cls().fit(tone_dataset[tone_dataset.split == "train"])
    s = det.score(test)
    assert metrics.auc_source(test.is_anomaly, test.domain, s) > 0.9
    assert det.decide(test, s)[test.is_anomaly.to_numpy() == 1].mean() > 0.8


def test_nearest_distance_in_chunks_is_the_full_matrix_by_hand():
    """Chunked kNN distances equal the whole distance matrix's minima bit for bit, with the
    diagonal skipped when the queries are the bank (leave-one-out)."""
    rng = np.random.default_rng(0)
    bank, queries = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    full = np.linalg.norm(queries[:, None] - bank[None], axis=-1).min(axis=1)
    np.testing.assert_array_equal(reference.nearest_distance(queries, bank, chunk=2), full)
    d = np.linalg.norm(bank[:, None] - bank[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    np.testing.assert_array_equal(reference.nearest_distance(bank, bank, leave_one_out=True, chunk=3), d.min(axis=1))
    assert reference.nearest_distance(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [6.0, 8.0]]))[0] == 5.0
