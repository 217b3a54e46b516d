"""From a trained baseline autoencoder to clip scores: the official vectors of a clip, their
reconstruction residuals, and the two official scores (AE-MSE: mean squared residual;
AE-MAHALA: Mahalanobis distance of the clip's mean residual frame under the source or target
residual covariance, as the official code accumulates it). Plain functions over arrays, in
bounded memory; the detectors that call them are ``asdlib.systems.baselines``.
"""

from __future__ import annotations

import warnings
from typing import Iterable, Sequence

import numpy as np
import torch

from asdlib.features.logmel import clip_logmels, stack_frames
from asdlib.models.autoencoder import AutoencoderConfig, DenseAutoencoder


# --------------------------------------------------------------------------- features
def clip_vectors(paths: Sequence[str], config: AutoencoderConfig = AutoencoderConfig(),
                 progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The official input vectors of several clips: ``(vectors (N, 640), offsets (n_clips + 1))``.

    Clip ``i`` owns ``vectors[offsets[i]:offsets[i + 1]]``. Log-mels come from the cache of
    ``asdlib.features.logmel.clip_logmels``.
    """
    logmels = clip_logmels(list(paths), config.logmel, progress=progress)
    for p, m in zip(paths, logmels):
        if m.shape[1] < config.n_frames:
            raise ValueError(f"{p}: clip has {m.shape[1]} frames, fewer than n_frames={config.n_frames}; "
                             "the clip is too short for the baseline's vectors")
    offsets = np.concatenate([[0], np.cumsum([m.shape[1] - config.n_frames + 1 for m in logmels])]).astype(np.int64)
    # filled in place: a list of per-clip blocks joined afterwards would hold every vector twice
    vectors = np.empty((offsets[-1], config.input_dim), dtype=np.float32)
    for i, m in enumerate(logmels):
        vectors[offsets[i]:offsets[i + 1]] = stack_frames(m, config.n_frames)
    return vectors, offsets


@torch.no_grad()
def reconstruction_residuals(model: DenseAutoencoder, vectors: np.ndarray, device=None,
                             batch_size: int = 16384) -> np.ndarray:
    """``x - model(x)`` for every vector (eval mode), float32 ``(N, 640)``."""
    model.eval()
    device = next(model.parameters()).device if device is None else torch.device(device)
    out = np.empty_like(vectors, dtype=np.float32)
    for i in range(0, len(vectors), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(vectors[i:i + batch_size], dtype=np.float32)).to(device)
        out[i:i + batch_size] = (xb - model(xb)).cpu().numpy()
    return out


def _clip_means(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Mean of ``values`` rows per clip (float64)."""
    counts = np.diff(offsets)
    if np.any(counts == 0):
        raise ValueError("a clip has no vectors")
    sums = np.add.reduceat(values.astype(np.float64, copy=False), offsets[:-1], axis=0)
    return sums / counts.reshape((-1,) + (1,) * (values.ndim - 1))


# --------------------------------------------------------------------------- scores
#: Rows of residual vectors turned into per-vector values at once: a row's value never depends
#: on the others, and a real machine type's 309 000 vectors in float64 would take 1.6 GB at once.
ROW_CHUNK = 65536


def _per_row(residuals: np.ndarray, fn) -> np.ndarray:
    """``fn`` applied to ``residuals`` in chunks of ``ROW_CHUNK`` rows, concatenated."""
    return np.concatenate([fn(residuals[i:i + ROW_CHUNK]) for i in range(0, max(len(residuals), 1), ROW_CHUNK)])


def mse_clip_scores(residuals: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """AE-MSE: mean squared residual over all elements of each clip's vectors."""
    return _clip_means(_per_row(residuals, lambda r: np.square(r).mean(axis=1, dtype=np.float64)), offsets)


def mean_residual_frames(residuals: np.ndarray, offsets: np.ndarray, n_mels: int) -> np.ndarray:
    """``(n_clips, n_mels)``: each clip's mean residual frame (all 128-d frames of all vectors)."""
    per_vector = _per_row(residuals, lambda r: r.astype(np.float64).reshape(len(r), -1, n_mels).mean(axis=1))
    return _clip_means(per_vector, offsets)


def residual_covariance(frames: np.ndarray) -> np.ndarray:
    """``covariance="pooled"``: unbiased covariance (``np.cov``, float64) of residual frames ``(n, n_mels)``."""
    frames = np.asarray(frames, dtype=np.float64)
    if len(frames) < 2:
        raise ValueError(f"a covariance needs at least 2 residual frames, got {len(frames)}")
    return np.cov(frames, rowvar=False)


def batch_centred_covariance(batches: Iterable[np.ndarray], n_mels: int) -> np.ndarray:
    """The official code's covariance of residual frames, from mini-batches of residual vectors.

    ``batches``: arrays ``(n_vectors_b, n_frames * n_mels)`` (one domain's vectors of one
    mini-batch each). Every batch is cut into ``n_mels``-d frames and centred on its own mean
    frame; the scatter matrices are summed and divided by (total number of *vectors* - 1)::

        S = sum_b (F_b - mean(F_b))' (F_b - mean(F_b)) / (sum_b n_vectors_b - 1)

    (``mahala.py``: ``cov_v_diff`` then ``cov_v(diff, num=1)``; the division in
    ``dcase2023t2_ae.py``). Empty batches add nothing, as officially.
    """
    scatter = np.zeros((n_mels, n_mels))
    n_vectors = 0
    for b in batches:
        b = np.asarray(b, dtype=np.float64)
        if len(b) == 0:
            continue
        frames = b.reshape(-1, n_mels)
        d = frames - frames.mean(axis=0)
        scatter += d.T @ d
        n_vectors += len(b)
    if n_vectors < 2:
        raise ValueError(f"the official covariance divides by (vectors - 1): needs 2+ vectors, got {n_vectors}")
    return scatter / (n_vectors - 1)


def official_residual_covariances(residuals: np.ndarray, is_target: np.ndarray, order: np.ndarray,
                                  batch_size: int, n_mels: int) -> dict[str, np.ndarray | None]:
    """Source and target covariances as the official covariance pass computes them.

    ``order``: the rows of ``residuals`` (``(N, n_frames * n_mels)``) in loader order (the
    training vectors only); consecutive runs of ``batch_size`` are the mini-batches, a last
    batch of a single vector is skipped (``if data.shape[0] <= 1: continue``). Each batch is
    split by ``is_target`` (per row of ``residuals``) and each part goes to
    ``batch_centred_covariance`` of its domain. Returns ``{"source": S, "target": S or None}``
    (None when no target vector was visited; the caller falls back to the source matrix).
    """
    order = np.asarray(order)
    is_target = np.asarray(is_target, dtype=bool)
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    batches = [idx for idx in batches if len(idx) > 1]

    def domain(target: bool):  # one domain's part of every batch, gathered one batch at a time
        return (residuals[idx[is_target[idx] == target]] for idx in batches)

    out: dict[str, np.ndarray | None] = {"source": batch_centred_covariance(domain(False), n_mels)}
    has_target = any(is_target[idx].any() for idx in batches)
    out["target"] = batch_centred_covariance(domain(True), n_mels) if has_target else None
    return out


def inverse_covariance(cov: np.ndarray, what: str = "covariance") -> np.ndarray:
    """``inv(cov)``; a pseudo-inverse (with a warning) when ``cov`` is (nearly) singular."""
    cond = np.linalg.cond(cov)
    if not np.isfinite(cond) or cond > 1e12:
        warnings.warn(f"{what} is (nearly) singular (condition number {cond:.3g}): using the "
                      "pseudo-inverse; more training frames would fix this", stacklevel=2)
        return np.linalg.pinv(cov, hermitian=True)
    return np.linalg.inv(cov)


def quadratic_form(v: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """``v_i' P v_i`` for every row of ``v``: the squared Mahalanobis norm about zero."""
    v = np.asarray(v, dtype=np.float64)
    return np.einsum("ij,jk,ik->i", v, precision, v)


def mahala_clip_scores(residuals: np.ndarray, offsets: np.ndarray, precision_source: np.ndarray,
                       precision_target: np.ndarray, n_mels: int) -> np.ndarray:
    """AE-MAHALA: ``min`` over source/target of the quadratic form of the mean residual frame."""
    rbar = mean_residual_frames(residuals, offsets, n_mels)
    return np.minimum(quadratic_form(rbar, precision_source), quadratic_form(rbar, precision_target))
