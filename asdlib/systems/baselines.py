"""The two official DCASE 2024 Task 2 baselines: AE-MSE and AE-MAHALA.

Both use one trained autoencoder per machine type (``asdlib.models.autoencoder``; the
official code trains once and picks the score with ``--score MSE|MAHALA`` at test time) on
the official 640-d vectors (``asdlib.features.logmel``: log-mel, 5 frames stacked). They differ in
how a clip's reconstruction residuals ``r = x - x_hat`` become one anomaly score:

- **AE-MSE**: the mean of ``r**2`` over every element of every vector of the clip.
- **AE-MAHALA**: the residuals are cut into 128-d frames (each 640-d vector holds 5 of
  them). After training, two covariance matrices of the residual frames of the training
  vectors (those the autoencoder was trained on: all but the 10 % held out, or the short
  profiles' subset) are estimated, one from source clips and one from target clips (target
  falls back to source when there are no target clips). With ``r_bar`` the mean residual
  frame of the clip, the score is ``min(r_bar' S_source^-1 r_bar, r_bar' S_target^-1 r_bar)``.

  This is what the official code (nttcslab/dcase2023_task2_baseline_ae, used for 2024)
  computes, written in closed form: its ``networks/criterion/mahala.py`` forms
  ``delta @ inv_cov @ delta.T`` for *all* residual frames ``delta`` of a clip (an ``n x n``
  matrix, ``n`` = 5 x number of vectors; ``block_size`` is ``n_mels`` = 128) and
  ``networks/dcase2023t2_ae/dcase2023t2_ae.py`` averages that whole matrix
  (``mean(dim=1)``, then sum / n). The mean of ``d_i' P d_j`` over all pairs ``(i, j)``
  equals ``r_bar' P r_bar``. So the score is a squared Mahalanobis norm of the mean residual
  frame about zero (no mean subtracted, no square root), not a mean of per-frame distances.

The covariances are, by default (``AutoencoderConfig.covariance = "official"``), computed
exactly as the official code does (``dcase2023t2_ae.py``, ``train()`` with
``epoch == epochs + 1``; ``mahala.py``, ``loss_function_mahala(update_cov=True)``,
``cov_v_diff``, ``cov_v``). After the last training epoch it runs one more pass over its
*shuffled* train loader (``baseline.yaml``: ``--shuffle: True``, ``--batch_size: 256``; the
10 % validation vectors are not in it; a batch of a single vector is skipped), model in eval
mode. Each mini-batch is split into its source vectors and its target vectors ("target" in
the file name); each part is cut into 128-d frames, centred on **its own mean frame**, and
its scatter ``D' D`` is added to that domain's sum. Finally each sum is divided by (number
of that domain's *vectors* - 1), not frames; no target vector at all: target = source.
Because a batch of 256 shuffled vectors holds only a few target vectors (~1 % of the
training data), each target part is centred on the mean of very few frames, which removes
much of its variance: the target matrix is not a rescaled ``np.cov``, and the ``min`` over
the two domains can pick differently. We mirror the pass with batches of
``config.batch_size`` training vectors in the order of one more epoch of our own seeded
shuffling generator (``ae_training.epoch_order(n, config, epochs + 1)``),
which plays the role of the official loader's next shuffle. Sums are in float64 (the
official code accumulates in float32). ``covariance="pooled"`` keeps asdlib's earlier
choice: ``np.cov`` of all training residual frames (centred on their overall mean, divided
by frames - 1); its matrices are about 5 times smaller (so its scores ~5 times larger).

What still differs from the official code:

- batch order: the same construction (one more seeded shuffle of the training vectors), not
  the same random numbers; torch's global RNG in the official run also drew the weight
  initialisation and every earlier epoch's shuffle, so only a run of the official code can
  reproduce its batches. Any other seeded order is an equally valid draw of the same method.
- decision threshold: the gamma distribution is fitted to the **per-clip** scores of the
  training clips (the scores ``decide`` compares against). The official code fits it to the
  per-mini-batch losses of the last training epoch plus the validation batches. This moves
  decisions (F1), never AUC or pAUC.

Every detector follows ``asdlib.systems.detect.Detector``: ``fit(train)``, ``score(clips)``,
``decide(clips, scores)`` (per machine type, the 0.9 quantile of that gamma).
``run_baselines`` trains once, evaluates both systems and writes one run folder::

    <run_dir>/weights/<type>.pt                  checkpoint per machine type (resumable)
    <run_dir>/AE-MSE/submission/anomaly_score_<type>_section_00_test.csv   (+ decision_result_...)
    <run_dir>/AE-MSE/scores.csv, metrics.csv     (same for AE-MAHALA/)
    <run_dir>/metrics.csv                        both systems, per type + Total + official score
    <run_dir>/table1.csv                         the report's Table 1 layout (percent)
    <run_dir>/history.csv, thresholds.csv, timings.csv
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from asdlib.systems import detect
from asdlib.evaluation import metrics
from asdlib.models.autoencoder import AutoencoderConfig, DenseAutoencoder
from asdlib.systems.ae_residuals import (clip_vectors, inverse_covariance, mahala_clip_scores, mse_clip_scores,
                                         official_residual_covariances, reconstruction_residuals, residual_covariance)
from asdlib.systems.ae_training import epoch_order, train_autoencoder
from asdlib.runtime import cpu_threads


SYSTEMS = ("AE-MSE", "AE-MAHALA")
_NEED = ("path", "machine_type", "domain", "file_name")


# --------------------------------------------------------------------------- detectors
def _check_clips(clips: pd.DataFrame, where: str) -> None:
    missing = [c for c in _NEED if c not in clips.columns]
    if missing:
        raise ValueError(f"{where}: the clip table lacks columns {missing} (use asdlib.data.layout.clip_table)")
    if clips.empty:
        raise ValueError(f"{where}: no clips")


def _train_one_type(paths: list[str], config: AutoencoderConfig, checkpoint: str, num_threads: int | None,
                    resume: bool) -> tuple[float, float]:
    """One machine type's autoencoder, trained to ``checkpoint`` on the CPU (a worker process of
    ``AutoencoderDetector(workers=N)``): ``(seconds of its features, seconds of its training)``."""
    t0 = time.perf_counter()
    vectors, _ = clip_vectors(paths, config)
    features_s = time.perf_counter() - t0
    return features_s, train_autoencoder(vectors, config, checkpoint=checkpoint, device="cpu", progress=False,
                                         num_threads=num_threads, resume=resume).seconds


class AutoencoderDetector(detect.Detector):
    """One baseline autoencoder per machine type; subclasses turn residuals into scores.

    Parameters
    ----------
    config: hyper-parameters (official defaults; ``AutoencoderConfig.for_profile``).
    run_dir: when given, the checkpoint of type ``T`` is ``<run_dir>/weights/T.pt``: written
        every epoch, resumed when present (a finished one is simply loaded).
    autoencoders: another fitted ``AutoencoderDetector`` whose trained models are reused
        instead of training again (both baselines share one autoencoder, as officially).
    on_epoch_end: ``callback(machine_type, epoch, history_entry)`` after every epoch.
    num_threads: CPU threads (torch and BLAS) for training and scoring (``cpu_threads``).
    resume: False trains afresh (an existing checkpoint is moved aside, ``asdlib.systems.training``).
    workers: autoencoders trained at once on the CPU, one machine type per process, each with
        ``num_threads`` threads (2 on a free 2-core machine: the small network gains little
        from a second thread, a second type gains twice). They hand their models over
        through the checkpoints, so ``run_dir`` is needed; the weights are those of
        ``workers=1`` (the same function, seed and thread count). On a GPU: one at a time.
        ``on_epoch_end`` and the progress bars are not reached from the worker processes: a
        line per finished type is printed instead.

    After ``fit``: ``models_``, ``history_`` (per type, a DataFrame of train/val loss per
    epoch), ``thresholds_``, ``train_scores_`` (per train clip), ``timings_`` (seconds per
    type) and ``train_wall_s_`` (wall time of all the training; less than the sum of the
    types' ``train_s`` with ``workers > 1``).
    """

    name = "AE"
    unsaved_attributes = ("on_epoch_end", "autoencoders")  # training only

    def __init__(self, config: AutoencoderConfig | None = None, run_dir: str | Path | None = None,
                 device=None, progress: bool = True, autoencoders: "AutoencoderDetector | None" = None,
                 on_epoch_end: Callable[[str, int, dict], None] | None = None,
                 num_threads: int | None = 1, resume: bool = True, workers: int = 1):
        from asdlib.runtime import default_device

        self.config = config or AutoencoderConfig()
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.device = torch.device(device) if device is not None else default_device()
        self.progress = progress
        self.autoencoders = autoencoders
        self.on_epoch_end = on_epoch_end
        self.num_threads = num_threads
        self.resume = resume
        if workers < 1:
            raise ValueError(f"workers must be 1 or more, got {workers}")
        self.workers = workers
        self.threshold_quantile = self.config.threshold_quantile

    def _after_load(self, device) -> None:
        self.device = device

    def checkpoint_path(self, machine_type: str) -> Path | None:
        return None if self.run_dir is None else self.run_dir / "weights" / f"{machine_type}.pt"

    # -- hooks for the two scores
    def _reset_backend(self) -> None:
        pass

    def _fit_backend(self, mtype: str, residuals: np.ndarray, offsets: np.ndarray,
                     clips: pd.DataFrame, train_index: np.ndarray) -> None:
        pass

    def _scores(self, mtype: str, residuals: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- the estimator interface
    def fit(self, train: pd.DataFrame) -> "AutoencoderDetector":
        _check_clips(train, f"{type(self).__name__}.fit")
        if "split" in train.columns and (train.split != "train").any():
            raise ValueError(f"{type(self).__name__}.fit got {int((train.split != 'train').sum())} clips "
                             "that are not in the train split; pass only train clips")
        self.models_: dict[str, DenseAutoencoder] = {}
        self.history_: dict[str, pd.DataFrame] = {}
        self.timings_: dict[str, dict[str, float]] = {}
        self.train_vectors_: dict[str, int] = {}
        self._train_index: dict[str, np.ndarray] = {}
        self._reset_backend()
        self._trained_elsewhere: dict[str, tuple[float, float]] = {}  # type: (features s, training s)
        t_fit = time.perf_counter()
        if self.autoencoders is None and self.workers > 1 and self.device.type == "cpu":
            self._train_in_processes(train)
        self.train_wall_s_ = time.perf_counter() - t_fit  # wall time of all the training done in processes
        train_scores = np.empty(len(train))
        for mtype in sorted(train.machine_type.unique()):
            sel = (train.machine_type == mtype).to_numpy()
            sub = train[sel]
            t0 = time.perf_counter()
            vectors, offsets = clip_vectors(sub.path.tolist(), self.config)
            t1 = time.perf_counter()
            model, history, train_index = self._autoencoder(mtype, vectors)
            t2 = time.perf_counter()
            self.models_[mtype] = model
            self.history_[mtype] = pd.DataFrame(history, columns=["epoch", "train_loss", "val_loss", "seconds"])
            with cpu_threads(self.num_threads, self.device):
                residuals = reconstruction_residuals(model, vectors, self.device)
                self._fit_backend(mtype, residuals, offsets, sub, train_index)
                train_scores[sel] = self._scores(mtype, residuals, offsets)
            # trained in a worker process: its features and training, not reloading them here
            elsewhere_features_s, train_s = self._trained_elsewhere.get(mtype, (0.0, t2 - t1))
            self.timings_[mtype] = {"fit_features_s": elsewhere_features_s + t1 - t0, "train_s": train_s,
                                    "fit_backend_s": time.perf_counter() - t2}
            if mtype not in self._trained_elsewhere:
                self.train_wall_s_ += t2 - t1
        self._set_thresholds(train, train_scores)
        return self

    def _train_in_processes(self, train: pd.DataFrame) -> None:
        """Train every type's autoencoder to its checkpoint, ``workers`` types at once, each in
        a process of its own; ``_autoencoder`` then loads the finished checkpoints."""
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        if self.run_dir is None:
            raise ValueError(f"{type(self).__name__}(workers={self.workers}) needs a run_dir: the processes hand "
                             "their models over through its checkpoints (pass run_dir, or workers=1)")
        types = sorted(train.machine_type.unique())
        jobs = {t: (train.path[train.machine_type == t].tolist(), self.config, str(self.checkpoint_path(t)),
                    self.num_threads, self.resume) for t in types}
        # spawn: a forked child would inherit this process's torch thread pools
        with ProcessPoolExecutor(max_workers=min(self.workers, len(types)), mp_context=mp.get_context("spawn")) as pool:
            running = {pool.submit(_train_one_type, *job): t for t, job in jobs.items()}
            for future in as_completed(running):
                mtype = running[future]
                features_s, train_s = future.result()  # a worker's error is raised here
                self._trained_elsewhere[mtype] = (features_s, train_s)
                if self.progress:
                    print(f"{self.name} {mtype}: features {features_s:.0f} s, trained in {train_s:.0f} s "
                          f"(own process, {len(self._trained_elsewhere)}/{len(types)})", flush=True)

    def _autoencoder(self, mtype: str, vectors: np.ndarray):
        shared = self.autoencoders
        if shared is not None:
            if mtype not in getattr(shared, "models_", {}):
                raise ValueError(f"the shared autoencoders were not fitted on machine type {mtype!r}")
            # the covariance only changes AE-MAHALA's scores, so it may differ
            if dataclasses.replace(shared.config, covariance=self.config.covariance) != self.config:
                raise ValueError("the shared autoencoders were trained with another AutoencoderConfig")
            if shared.train_vectors_[mtype] != len(vectors):
                raise ValueError(f"{mtype}: the shared autoencoder was trained on other clips "
                                 f"({shared.train_vectors_[mtype]} vectors, here {len(vectors)})")
            self.train_vectors_[mtype] = len(vectors)
            self._train_index[mtype] = shared._train_index[mtype]
            return shared.models_[mtype], shared.history_[mtype].to_dict("records"), shared._train_index[mtype]
        callback = None
        if self.on_epoch_end is not None:
            def callback(epoch, entry, _m=mtype):
                self.on_epoch_end(_m, epoch, entry)
        elsewhere = mtype in self._trained_elsewhere  # its finished checkpoint is loaded, never moved aside
        result = train_autoencoder(vectors, self.config, checkpoint=self.checkpoint_path(mtype),
                                   device=self.device, progress=self.progress and not elsewhere,
                                   desc=f"{self.name} {mtype}", on_epoch_end=callback,
                                   num_threads=self.num_threads, resume=self.resume or elsewhere)
        self.train_vectors_[mtype] = len(vectors)
        self._train_index[mtype] = result.train_index
        return result.model, result.history, result.train_index

    def score(self, clips: pd.DataFrame) -> np.ndarray:
        _check_clips(clips, f"{type(self).__name__}.score")
        if not hasattr(self, "models_"):
            raise RuntimeError(f"{type(self).__name__}.score called before fit")
        unknown = sorted(set(clips.machine_type) - set(self.models_))
        if unknown:
            raise KeyError(f"no trained model for machine types {unknown}; fitted: {sorted(self.models_)}")
        out = np.empty(len(clips))
        for mtype in sorted(clips.machine_type.unique()):
            sel = (clips.machine_type == mtype).to_numpy()
            t0 = time.perf_counter()
            vectors, offsets = clip_vectors(clips.path[sel].tolist(), self.config)
            t1 = time.perf_counter()
            with cpu_threads(self.num_threads, self.device):
                residuals = reconstruction_residuals(self.models_[mtype], vectors, self.device)
                out[sel] = self._scores(mtype, residuals, offsets)
            self.timings_.setdefault(mtype, {}).update(
                score_features_s=t1 - t0, score_s=time.perf_counter() - t1, n_scored=int(sel.sum()))
        return out


class AEMSE(AutoencoderDetector):
    """AE-MSE: a clip's mean squared reconstruction error."""

    name = "AE-MSE"

    def _scores(self, mtype, residuals, offsets):
        return mse_clip_scores(residuals, offsets)


class AEMahala(AutoencoderDetector):
    """AE-MAHALA: min over source/target of the Mahalanobis form of the mean residual frame.

    The covariances follow ``config.covariance``: ``"official"`` (default, as the official
    code: ``official_residual_covariances`` over mini-batches in the order of one more
    training epoch) or ``"pooled"`` (``np.cov`` of all training residual frames).

    After ``fit``: ``covariances_[type] = {"source": S, "target": S}``, ``precisions_`` (their
    inverses) and ``target_fallback_[type]`` (True when there was no target train clip).
    """

    name = "AE-MAHALA"

    def _reset_backend(self):
        self.covariances_: dict[str, dict[str, np.ndarray]] = {}
        self.precisions_: dict[str, dict[str, np.ndarray]] = {}
        self.target_fallback_: dict[str, bool] = {}

    def _fit_backend(self, mtype, residuals, offsets, clips, train_index):
        n_mels = self.config.n_mels
        clip_of_vector = np.repeat(np.arange(len(clips)), np.diff(offsets))
        is_target = (clips.domain.to_numpy() == "target")[clip_of_vector]
        covs, precs = {}, {}
        # as officially: the training vectors, not the held-out ones
        if self.config.covariance == "official":
            order = train_index[epoch_order(len(train_index), self.config, self.config.epochs + 1)]
            official = official_residual_covariances(residuals, is_target, order, self.config.batch_size, n_mels)
            covs["source"], tgt_cov = official["source"], official["target"]
        else:  # "pooled"
            used = np.zeros(len(residuals), bool)
            used[train_index] = True
            covs["source"] = residual_covariance(residuals[used & ~is_target].reshape(-1, n_mels))
            tgt = residuals[used & is_target].reshape(-1, n_mels)
            tgt_cov = residual_covariance(tgt) if len(tgt) else None
        fallback = tgt_cov is None
        covs["target"] = covs["source"].copy() if fallback else tgt_cov
        for dom in ("source", "target"):
            precs[dom] = inverse_covariance(covs[dom], f"{mtype} {dom} residual covariance")
        self.covariances_[mtype] = covs
        self.precisions_[mtype] = precs
        self.target_fallback_[mtype] = fallback

    def _scores(self, mtype, residuals, offsets):
        p = self.precisions_[mtype]
        return mahala_clip_scores(residuals, offsets, p["source"], p["target"], self.config.n_mels)


# --------------------------------------------------------------------------- one run
def fit_baselines(train: pd.DataFrame, config: AutoencoderConfig | None = None,
                  run_dir: str | Path | None = None, device=None, progress: bool = True,
                  on_epoch_end: Callable[[str, int, dict], None] | None = None,
                  num_threads: int | None = 1, resume: bool = True, workers: int = 1) -> dict[str, AutoencoderDetector]:
    """Train one autoencoder per type once; return ``{"AE-MSE": ..., "AE-MAHALA": ...}`` fitted.
    ``workers``: types trained at once, each in its own process (``AutoencoderDetector``)."""
    mse = AEMSE(config, run_dir, device, progress, on_epoch_end=on_epoch_end, num_threads=num_threads,
                resume=resume, workers=workers).fit(train)
    mahala = AEMahala(config, run_dir, device, progress, autoencoders=mse, num_threads=num_threads).fit(train)
    return {"AE-MSE": mse, "AE-MAHALA": mahala}


@dataclass
class BaselineResults:
    """What ``run_baselines`` returns (everything is also written under ``run_dir``)."""

    run_dir: Path
    config: AutoencoderConfig
    detectors: dict[str, AutoencoderDetector]
    runs: dict[str, detect.DetectorRun]
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # machine_type, epoch, losses
    thresholds: pd.DataFrame = field(default_factory=pd.DataFrame)  # system, machine_type, threshold
    timings: pd.DataFrame = field(default_factory=pd.DataFrame)  # per type, seconds

    @property
    def metrics(self) -> pd.DataFrame:
        """Long table: system, machine_type, AUC-s, AUC-t, pAUC, ..., official (fractions)."""
        return pd.concat({k: r.metrics for k, r in self.runs.items()}, names=["system"]).reset_index()

    @property
    def scores(self) -> pd.DataFrame:
        """Per test clip and system: score, decision, domain, label."""
        return pd.concat([r.scores.assign(system=k) for k, r in self.runs.items()], ignore_index=True)

    def table1(self) -> pd.DataFrame:
        """Both systems in the report's Table 1 layout (percent)."""
        return metrics.table1({k: r.metrics for k, r in self.runs.items()})


def run_baselines(clips: pd.DataFrame, config: AutoencoderConfig | None = None,
                  run_dir: str | Path = "runs/baselines", device=None, progress: bool = True,
                  num_threads: int | None = 1, resume: bool = True, workers: int = 1) -> BaselineResults:
    """Fit both baselines on the train clips, score and evaluate the test clips, write the run.

    Needs labelled test clips of both domains for the metrics (DCASE development layout).
    ``resume=False`` trains afresh (checkpoints of an earlier run are moved aside);
    ``workers``: machine types trained at once, each in its own process.
    """
    config = config or AutoencoderConfig()
    run_dir = Path(run_dir)
    train = clips[clips.split == "train"].reset_index(drop=True)
    if train.empty or (clips.split == "test").sum() == 0:
        raise ValueError("run_baselines needs train and test clips")
    dets = fit_baselines(train, config, run_dir, device, progress, num_threads=num_threads, resume=resume,
                         workers=workers)
    runs = {name: detect.run_detector(det, clips, run_dir / name, fit=False) for name, det in dets.items()}

    mse = dets["AE-MSE"]
    history = pd.concat({t: h for t, h in mse.history_.items()}, names=["machine_type"]).reset_index(level=0)
    thresholds = pd.DataFrame([{"system": k, "machine_type": t, "threshold": v}
                               for k, d in dets.items() for t, v in d.thresholds_.items()])
    rows = []
    for mtype in sorted(mse.models_):
        m, h = mse.timings_[mtype], dets["AE-MAHALA"].timings_[mtype]
        rows.append({"machine_type": mtype, "epochs": len(mse.history_[mtype]),
                     "vectors": mse.train_vectors_[mtype], "trained_on": len(mse._train_index[mtype]),
                     "features_s": m["fit_features_s"] + m.get("score_features_s", 0.0),
                     "train_s": m["train_s"],
                     "AE-MSE fit_backend_s": m["fit_backend_s"],
                     "AE-MAHALA fit_backend_s": h["fit_backend_s"],
                     "AE-MSE score_s": m.get("score_s", np.nan),
                     "AE-MAHALA score_s": h.get("score_s", np.nan)})
    timings = pd.DataFrame(rows)
    results = BaselineResults(run_dir, config, dets, runs, history, thresholds, timings)
    history.to_csv(run_dir / "history.csv", index=False)
    thresholds.to_csv(run_dir / "thresholds.csv", index=False)
    timings.to_csv(run_dir / "timings.csv", index=False)
    if all(len(r.metrics) for r in runs.values()):
        results.metrics.to_csv(run_dir / "metrics.csv", index=False)
        results.table1().to_csv(run_dir / "table1.csv")
    return results


# --------------------------------------------------------------------------- reporting
