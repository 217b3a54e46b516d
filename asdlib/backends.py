"""Scoring backends: from clip embeddings (or class logits) to anomaly scores, per machine type.

A backend is fitted on the *train* clips' representations and scores any clips of the same
machine types; higher = more anomalous. Both work on plain arrays plus the clip table (for
``machine_type`` and ``domain``), so any embedding model can use them:

* :class:`KnnBackend` — cosine distance to the nearest train embeddings, with **separate
  source and target memory banks** per machine type and ``score = min`` over the two
  banks (``asd-reference.md`` §5). Embeddings are L2-normalised one by one (no statistics
  are estimated, so nothing can leak from test clips). With ``k > 1`` the distance to a
  bank is the mean over its ``k`` nearest members (all of them when the bank is smaller).
  A type without target train clips has a source bank only.
* :class:`ProbabilityBackend` — the classifier's own view: ``-log P(clip's machine type)``,
  the negated log-sum-exp, over that type's classes, of the log-softmax of the margin-free
  logits. A normal clip is confidently one of its type's classes; an anomaly drifts
  towards other types' classes.

* :class:`KMeansTargetBackend` — Wilkinghoff's: k-means centres of the source clips plus every
  target clip, min cosine distance.

``train_scores()`` gives leave-one-out scores of the fitted clips (a train clip is never
its own neighbour), for decision thresholds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DOMAINS = ("source", "target")


def l2_normalise(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norm, 1e-12)


def _knn_distance(D: np.ndarray, k: int) -> np.ndarray:
    """Mean of the ``k`` smallest finite entries of each row (inf marks an excluded member;
    fewer than ``k`` finite entries: their mean; none: inf)."""
    if D.shape[1] == 0:
        return np.full(D.shape[0], np.inf)
    part = np.sort(D, axis=1)[:, :min(k, D.shape[1])]
    finite = np.isfinite(part)
    n = finite.sum(axis=1)
    total = np.where(finite, part, 0.0).sum(axis=1)
    return np.where(n > 0, total / np.maximum(n, 1), np.inf)


class KnnBackend:
    """Per machine type: source and target banks of L2-normalised train embeddings.

    ``score = min(kNN cosine distance to the source bank, to the target bank)``.
    """

    name = "knn"

    def __init__(self, k: int = 1):
        if int(k) < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = int(k)

    def fit(self, X: np.ndarray, clips: pd.DataFrame) -> "KnnBackend":
        X = l2_normalise(X)
        _check_rows(X, clips)
        self.banks_: dict[str, dict[str, np.ndarray]] = {}
        self._train = (X, clips["machine_type"].to_numpy(), clips["domain"].astype(str).to_numpy())
        for mtype in pd.unique(clips["machine_type"]):
            sel = (clips["machine_type"] == mtype).to_numpy()
            dom = clips["domain"].astype(str).to_numpy()[sel]
            unknown = sorted(set(dom) - set(DOMAINS))
            if unknown:
                raise ValueError(f"KnnBackend: {mtype} train clips with domain {unknown}; banks need source/target")
            self.banks_[mtype] = {d: X[sel][dom == d] for d in DOMAINS if (dom == d).any()}
        return self

    def bank_distances(self, X: np.ndarray, clips: pd.DataFrame) -> pd.DataFrame:
        """kNN cosine distance of every clip to each bank of its type (``source``, ``target``
        columns; NaN where a type has no such bank)."""
        X = l2_normalise(X)
        _check_rows(X, clips)
        out = pd.DataFrame(np.nan, index=clips.index, columns=list(DOMAINS))
        for mtype in pd.unique(clips["machine_type"]):
            if mtype not in self.banks_:
                raise KeyError(f"KnnBackend: no memory bank for machine type {mtype!r} "
                               f"(fitted on {sorted(self.banks_)})")
            sel = (clips["machine_type"] == mtype).to_numpy()
            for d, bank in self.banks_[mtype].items():
                out.loc[sel, d] = _knn_distance(1.0 - X[sel] @ bank.T, self.k)
        return out

    def score(self, X: np.ndarray, clips: pd.DataFrame) -> np.ndarray:
        return self.bank_distances(X, clips).min(axis=1, skipna=True).to_numpy()

    def train_scores(self) -> np.ndarray:
        """Leave-one-out scores of the fitted clips: each clip is left out of its own bank."""
        X, types, doms = self._train
        out = np.empty(len(X))
        for mtype in pd.unique(types):
            idx = np.flatnonzero(types == mtype)
            best = np.full(len(idx), np.inf)
            for d in DOMAINS:
                members = idx[doms[idx] == d]
                if not len(members):
                    continue
                D = 1.0 - X[idx] @ X[members].T
                D[idx[:, None] == members[None, :]] = np.inf  # not its own neighbour
                best = np.minimum(best, _knn_distance(D, self.k))
            if not np.all(np.isfinite(best)):
                raise ValueError(f"KnnBackend: {mtype} has a single train clip; leave-one-out scores need two")
            out[idx] = best
        return out


class ProbabilityBackend:
    """``score = -log P(type)`` from the margin-free logits of a classifier over "type|label" classes."""

    name = "probability"

    def __init__(self, class_types: list[str]):
        self.class_types = list(class_types)

    def fit(self, logits: np.ndarray, clips: pd.DataFrame) -> "ProbabilityBackend":
        logits = np.asarray(logits, dtype=np.float64)
        if logits.shape[1] != len(self.class_types):
            raise ValueError(f"logits have {logits.shape[1]} columns, the classifier {len(self.class_types)} classes")
        self._train_scores = self.score(logits, clips)
        return self

    def score(self, logits: np.ndarray, clips: pd.DataFrame) -> np.ndarray:
        from scipy.special import logsumexp

        logits = np.asarray(logits, dtype=np.float64)
        _check_rows(logits, clips)
        log_p = logits - logsumexp(logits, axis=1, keepdims=True)
        types = np.asarray(self.class_types)
        out = np.empty(len(clips))
        for mtype in pd.unique(clips["machine_type"]):
            cols = np.flatnonzero(types == mtype)
            if not len(cols):
                raise KeyError(f"ProbabilityBackend: the classifier has no class of machine type {mtype!r}; "
                               "it can only score the types it was trained on (use the kNN backend)")
            sel = (clips["machine_type"] == mtype).to_numpy()
            out[sel] = -logsumexp(log_p[sel][:, cols], axis=1)
        return np.maximum(out, 0.0)  # -log of a probability; clip float round-off below 0

    def train_scores(self) -> np.ndarray:
        return self._train_scores


def _check_rows(X: np.ndarray, clips: pd.DataFrame) -> None:
    if X.ndim != 2 or len(X) != len(clips):
        raise ValueError(f"expected one row per clip: array {X.shape}, {len(clips)} clips")
    need = {"machine_type", "domain"}
    if not need <= set(clips.columns):
        raise KeyError(f"the clip table lacks columns {sorted(need - set(clips.columns))}")


class KMeansTargetBackend:
    """Wilkinghoff's backend (ssl4asd): per machine type, a bank of the k-means centres of the
    source train embeddings plus every target train embedding as it is.

    Embeddings are L2-normalised; k-means (``n_clusters``, seeded) runs on the normalised source
    embeddings (all of them when fewer than ``n_clusters``) and its centres are normalised in
    turn, so ``score = min cosine distance`` to the bank is a true cosine distance. Deviation:
    his code takes ``1 - x . c`` with the raw (shorter than unit) centres. Target clips enter
    one by one because the 10 target clips per type are too few to cluster.

    ``train_scores()``: a target train clip is left out of the bank when it is scored (it
    would score 0); the k-means centres stay, although each train source clip helped form them.
    """

    name = "kmeans_target"
    reads = "embedding"

    def __init__(self, n_clusters: int = 16, seed: int = 0, n_init: int = 10):
        if int(n_clusters) < 1:
            raise ValueError(f"n_clusters must be >= 1, got {n_clusters}")
        self.n_clusters, self.seed, self.n_init = int(n_clusters), int(seed), int(n_init)

    def fit(self, X: np.ndarray, clips: pd.DataFrame) -> "KMeansTargetBackend":
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        X = l2_normalise(X)
        _check_rows(X, clips)
        types = clips["machine_type"].to_numpy()
        doms = clips["domain"].astype(str).to_numpy()
        self.banks_: dict[str, dict[str, np.ndarray]] = {}
        self._train = (X, types, doms)
        for mtype in pd.unique(types):
            sel = types == mtype
            unknown = sorted(set(doms[sel]) - set(DOMAINS))
            if unknown:
                raise ValueError(f"KMeansTargetBackend: {mtype} train clips with domain {unknown}; need source/target")
            source, target = X[sel & (doms == "source")], X[sel & (doms == "target")]
            centres = np.empty((0, X.shape[1]))
            if len(source):
                k = min(self.n_clusters, len(source))
                with threadpool_limits(1):  # small problem: one thread is as fast and spares a busy machine
                    km = KMeans(n_clusters=k, random_state=self.seed, n_init=self.n_init).fit(source)
                centres = l2_normalise(km.cluster_centers_)
            self.banks_[mtype] = {"centres": centres, "target": target}
        return self

    def score(self, X: np.ndarray, clips: pd.DataFrame) -> np.ndarray:
        X = l2_normalise(X)
        _check_rows(X, clips)
        out = np.empty(len(X))
        for mtype in pd.unique(clips["machine_type"]):
            if mtype not in self.banks_:
                raise KeyError(f"KMeansTargetBackend: no bank for machine type {mtype!r} "
                               f"(fitted on {sorted(self.banks_)})")
            sel = (clips["machine_type"] == mtype).to_numpy()
            bank = np.vstack([self.banks_[mtype]["centres"], self.banks_[mtype]["target"]])
            out[sel] = (1.0 - X[sel] @ bank.T).min(axis=1)
        return out

    def train_scores(self) -> np.ndarray:
        """Scores of the fitted clips, each target clip left out of its own bank."""
        X, types, doms = self._train
        out = np.empty(len(X))
        for mtype in pd.unique(types):
            idx = np.flatnonzero(types == mtype)
            targets = idx[doms[idx] == "target"]
            D_centres = 1.0 - X[idx] @ self.banks_[mtype]["centres"].T
            D_target = 1.0 - X[idx] @ X[targets].T
            D_target[idx[:, None] == targets[None, :]] = np.inf  # not its own bank entry
            best = np.hstack([D_centres, D_target]).min(axis=1, initial=np.inf)
            if not np.all(np.isfinite(best)):
                raise ValueError(f"KMeansTargetBackend: {mtype} has a single target train clip and no source "
                                 "clips; leave-one-out scores need a second bank entry")
            out[idx] = best
        return out


# --------------------------------------------------------------------------- domain-shift backends
