"""Simple reference detectors on clip-mean log-mel: the yardstick of the synthetic benchmark.

They learn nothing beyond a mean and a covariance (or a memory bank), so they say how hard a
dataset is before any learned system touches it. The generator's difficulty is calibrated
against these, never against the project's own systems.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.covariance import LedoitWolf

from asdlib.systems.detect import Detector
from asdlib.features.logmel import LogMelConfig, clip_logmels, clip_mean_logmel


def clip_mean_features(clips: pd.DataFrame, config: LogMelConfig = LogMelConfig()) -> np.ndarray:
    """``(n_clips, n_mels)`` clip-mean log-mel of every row (cached log-mels)."""
    return clip_mean_logmel(clip_logmels(clips.path, config))


class ClipMeanMahalanobis(Detector):
    """Mahalanobis distance of the clip-mean log-mel to all train normals of its type.

    One Gaussian per machine type over source and target train clips together (shrunk
    covariance: 128 dims from a few hundred clips). The 10 target clips barely move it, so
    target normals look unusual: the DCASE domain-shift problem in its simplest form.
    """

    threshold_rule = "percentile"

    def __init__(self, config: LogMelConfig = LogMelConfig()):
        self.config = config

    def fit(self, train: pd.DataFrame) -> "ClipMeanMahalanobis":
        X = clip_mean_features(train, self.config)
        self.models_ = {}
        for mtype in train.machine_type.unique():
            sel = (train.machine_type == mtype).to_numpy()
            self.models_[mtype] = LedoitWolf().fit(X[sel])
        self._set_thresholds(train, self._score_features(train, X))
        return self

    def _score_features(self, clips: pd.DataFrame, X: np.ndarray) -> np.ndarray:
        out = np.empty(len(clips))
        for mtype in clips.machine_type.unique():
            sel = (clips.machine_type == mtype).to_numpy()
            out[sel] = np.sqrt(self.models_[mtype].mahalanobis(X[sel]))
        return out

    def score(self, clips: pd.DataFrame) -> np.ndarray:
        return self._score_features(clips, clip_mean_features(clips, self.config))


def nearest_distance(queries: np.ndarray, bank: np.ndarray, leave_one_out: bool = False,
                     chunk: int = 256) -> np.ndarray:
    """Euclidean distance of each query row to its nearest ``bank`` row, ``chunk`` queries at a
    time (memory: chunk x bank x dims, not queries x bank x dims: 1 000 clips of a real
    type would need 1 GB at once). ``leave_one_out``: the queries are the bank, each row's
    own distance is skipped."""
    out = np.empty(len(queries))
    for i in range(0, len(queries), chunk):
        d = np.linalg.norm(queries[i:i + chunk, None, :] - bank[None], axis=-1)
        if leave_one_out:
            rows = np.arange(len(d))
            d[rows, i + rows] = np.inf
        out[i:i + chunk] = d.min(axis=1)
    return out


class ClipMeanNearestNeighbour(Detector):
    """Euclidean distance of the clip-mean log-mel to the nearest train clip of its type."""

    threshold_rule = "percentile"

    def __init__(self, config: LogMelConfig = LogMelConfig()):
        self.config = config

    def fit(self, train: pd.DataFrame) -> "ClipMeanNearestNeighbour":
        X = clip_mean_features(train, self.config)
        self.banks_ = {m: X[(train.machine_type == m).to_numpy()] for m in train.machine_type.unique()}
        # leave-one-out distances on train, so the threshold is not fitted on zeros
        scores = np.empty(len(train))
        for mtype, bank in self.banks_.items():
            sel = np.flatnonzero((train.machine_type == mtype).to_numpy())
            scores[sel] = nearest_distance(bank, bank, leave_one_out=True)
        self._set_thresholds(train, scores)
        return self

    def score(self, clips: pd.DataFrame) -> np.ndarray:
        X = clip_mean_features(clips, self.config)
        out = np.empty(len(clips))
        for mtype in clips.machine_type.unique():
            sel = (clips.machine_type == mtype).to_numpy()
            bank = self.banks_[mtype]
            out[sel] = nearest_distance(X[sel], bank)
        return out
