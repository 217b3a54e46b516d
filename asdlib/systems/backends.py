"""Scoring backends: from clip embeddings (or class logits) to anomaly scores, per machine type.

A backend is fitted on the *train* clips' representations and scores any clips of the same
machine types; higher = more anomalous. All work on plain arrays plus the clip table (for
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

Back ends for the domain shift (few, widely spread target clips), on the same banks:

* :class:`LocalDensityKnnBackend` — the 1-NN distance divided by the nearest member's own
  1-NN distance in its bank (LOF-like), min over banks;
* :class:`DomainStandardisedKnnBackend` — the kNN distance to each bank standardised by the
  mean / std of that bank's leave-one-out train distances, min over banks;
* :class:`PooledKnnBackend` — one bank of source and target clips together (plain kNN).

``train_scores()`` scores the fitted clips out of sample, for decision thresholds and an
ensemble's normalisation: leave-one-out for the bank back ends (a train clip is never its own
neighbour); for ``kmeans``, target clips leave-one-out and source clips against k-means
centres fitted without their fold (``source_train_scores``; ``"in_sample"`` keeps the
centres they helped form, as Wilkinghoff's code does). ``probability`` is the exception:
its training scores come from the network that was trained on those clips. ``BACKENDS``
names the embedding backends and ``make_backend(name, **settings)`` builds one.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

DOMAINS = ("source", "target")


def l2_normalise(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norm, 1e-12)


def _train_domains(clips: pd.DataFrame, who: str) -> tuple[np.ndarray, np.ndarray]:
    """Machine types and domains of train clips, every domain checked to be source or target."""
    types = clips["machine_type"].to_numpy()
    doms = clips["domain"].astype(str).to_numpy()
    for mtype in pd.unique(types):
        unknown = sorted(set(doms[types == mtype]) - set(DOMAINS))
        if unknown:
            raise ValueError(f"{who}: {mtype} train clips with domain {unknown}; banks need source/target")
    return types, doms


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


class _BankBackend:
    """The loop every kNN-style backend shares: per machine type, banks of L2-normalised train
    embeddings (one per domain, or one pooled: ``_bank_keys``), each with statistics of its own
    members (``_bank_stats``); a backend turns the cosine-distance matrix of clips to one bank
    into one score per clip (``_bank_score``), and ``score = min`` over the type's banks.

    ``train_scores()`` is leave-one-out: a train clip is masked out of its own bank (its column
    is ``inf``) and ``_bank_score`` is told which member that was (``left_out``), so bank
    statistics can be taken without it too.
    """

    name = "bank"
    reads = "embedding"  # what the backend scores: clip embeddings (or "logits")
    bank_names: tuple[str, ...] = DOMAINS
    min_bank_size = 1  # fewer members: fit raises

    def __init__(self, k: int = 1):
        if int(k) < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = int(k)

    # hooks ------------------------------------------------------------------------------
    def _bank_keys(self, doms: np.ndarray) -> np.ndarray:
        """The bank each train clip joins, from its domain."""
        return doms

    def _bank_stats(self, bank: np.ndarray):
        """Statistics of one bank's members (normalised embeddings), kept for scoring."""
        return None

    def _bank_score(self, D: np.ndarray, stats, left_out: np.ndarray | None) -> np.ndarray:
        """One score per row of ``D`` (clips x bank members, cosine distances; ``inf`` = a
        left-out member). ``left_out[r]``: the member row ``r`` is (-1: none); None for test clips."""
        return _knn_distance(D, self.k)

    # the shared loop --------------------------------------------------------------------
    def fit(self, X: np.ndarray, clips: pd.DataFrame):
        X = l2_normalise(X)
        _check_rows(X, clips)
        cls = type(self).__name__
        types, doms = _train_domains(clips, cls)
        self.banks_: dict[str, dict[str, np.ndarray]] = {}
        self.stats_: dict[str, dict[str, object]] = {}
        self._train = (X, types, doms)
        for mtype in pd.unique(types):
            sel = types == mtype
            keys = self._bank_keys(doms[sel])
            self.banks_[mtype] = {b: X[sel][keys == b] for b in self.bank_names if (keys == b).any()}
            for b, bank in self.banks_[mtype].items():
                if len(bank) < self.min_bank_size:
                    raise ValueError(f"{cls}: the {b} bank of {mtype} has {len(bank)} clip(s); "
                                     f"it needs at least {self.min_bank_size}")
            self.stats_[mtype] = {b: self._bank_stats(bank) for b, bank in self.banks_[mtype].items()}
        return self

    def bank_scores(self, X: np.ndarray, clips: pd.DataFrame) -> pd.DataFrame:
        """Score of every clip against each bank of its type (one column per bank; NaN where a
        type has no such bank)."""
        X = l2_normalise(X)
        _check_rows(X, clips)
        out = pd.DataFrame(np.nan, index=clips.index, columns=list(self.bank_names))
        for mtype in pd.unique(clips["machine_type"]):
            if mtype not in self.banks_:
                raise KeyError(f"{type(self).__name__}: no memory bank for machine type {mtype!r} "
                               f"(fitted on {sorted(self.banks_)})")
            sel = (clips["machine_type"] == mtype).to_numpy()
            for b, bank in self.banks_[mtype].items():
                out.loc[sel, b] = self._bank_score(1.0 - X[sel] @ bank.T, self.stats_[mtype][b], None)
        return out

    def score(self, X: np.ndarray, clips: pd.DataFrame) -> np.ndarray:
        return self.bank_scores(X, clips).min(axis=1, skipna=True).to_numpy()

    def train_scores(self) -> np.ndarray:
        """Leave-one-out scores of the fitted clips: each clip is left out of its own bank."""
        X, types, doms = self._train
        out = np.empty(len(X))
        for mtype in pd.unique(types):
            idx = np.flatnonzero(types == mtype)
            keys = self._bank_keys(doms[idx])
            best = np.full(len(idx), np.inf)
            for b in self.bank_names:
                members = idx[keys == b]
                if not len(members):
                    continue
                D = 1.0 - X[idx] @ X[members].T
                own = idx[:, None] == members[None, :]
                D[own] = np.inf  # not its own neighbour
                left_out = np.where(own.any(axis=1), own.argmax(axis=1), -1)
                best = np.minimum(best, self._bank_score(D, self.stats_[mtype][b], left_out))
            if not np.all(np.isfinite(best)):
                raise ValueError(f"{type(self).__name__}: {mtype} has a train clip that no bank can score once it "
                                 "is left out of its own (a single train clip, or banks too small); "
                                 "leave-one-out scores need more")
            out[idx] = best
        return out


class KnnBackend(_BankBackend):
    """Per machine type: source and target banks of L2-normalised train embeddings.

    ``score = min(kNN cosine distance to the source bank, to the target bank)``.
    """

    name = "knn"

    def bank_distances(self, X: np.ndarray, clips: pd.DataFrame) -> pd.DataFrame:
        """kNN cosine distance of every clip to each bank of its type (``source``, ``target``
        columns; NaN where a type has no such bank)."""
        return self.bank_scores(X, clips)


class ProbabilityBackend:
    """``score = -log P(type)`` from the margin-free logits of a classifier over "type|label" classes."""

    name = "probability"
    reads = "logits"

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


#: How :class:`KMeansTargetBackend` scores its own source training clips (``source_train_scores``).
SOURCE_TRAIN_SCORES = ("out_of_fold", "in_sample")


def fold_of_each(n: int, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold number (0 .. ``min(n_folds, n) - 1``) of each of ``n`` items: a random order cut
    into folds whose sizes differ by at most one."""
    folds = np.empty(n, dtype=int)
    folds[rng.permutation(n)] = np.arange(n) % max(1, min(int(n_folds), n))
    return folds


class KMeansTargetBackend:
    """Wilkinghoff's backend (ssl4asd): per machine type, a bank of the k-means centres of the
    source train embeddings plus every target train embedding as it is.

    Embeddings are L2-normalised; k-means (``n_clusters``, seeded) runs on the normalised source
    embeddings (all of them when fewer than ``n_clusters``) and its centres are normalised in
    turn, so ``score = min cosine distance`` to the bank is a true cosine distance. Deviation:
    his code takes ``1 - x . c`` with the raw (shorter than unit) centres. Target clips enter
    one by one because the 10 target clips per type are too few to cluster.

    ``train_scores()`` (what thresholds and an ensemble's normalisation read) scores every train
    clip with a bank it did not help build:

    * a target train clip is left out of the bank (it would score 0); the centres never saw it;
    * a source train clip (``source_train_scores="out_of_fold"``, ours, the default): the type's
      source clips are cut into ``n_folds`` seeded folds and a clip is scored against the
      centres of k-means fitted **without its fold** (same ``n_clusters``, seed and ``n_init``)
      plus the target clips. With ``"in_sample"`` (Wilkinghoff's code, and ours before) it is
      scored against the centres it helped form: with 16 centres over a few hundred clips a
      centre sits close to each clip, so those scores are biased low, and so are the
      thresholds and an ensemble's z-scores built on them. Leave-one-out would refit k-means
      once per clip; ten folds cost ten fits per type. The test scores (``score``) use the
      centres of all source clips either way: only training scores depend on the setting.
    """

    name = "kmeans_target"
    reads = "embedding"
    # detectors saved before these settings existed scored their source train clips in-sample
    source_train_scores = "in_sample"
    n_folds = 10

    def __init__(self, n_clusters: int = 16, seed: int = 0, n_init: int = 10,
                 source_train_scores: str = "out_of_fold", n_folds: int = 10):
        if int(n_clusters) < 1:
            raise ValueError(f"n_clusters must be >= 1, got {n_clusters}")
        if source_train_scores not in SOURCE_TRAIN_SCORES:
            raise ValueError(f"source_train_scores must be one of {SOURCE_TRAIN_SCORES}, got {source_train_scores!r}")
        if int(n_folds) < 2:
            raise ValueError(f"n_folds must be >= 2, got {n_folds}")
        self.n_clusters, self.seed, self.n_init = int(n_clusters), int(seed), int(n_init)
        self.source_train_scores, self.n_folds = source_train_scores, int(n_folds)

    def _centres(self, source: np.ndarray) -> np.ndarray:
        """Normalised k-means centres of (normalised) source embeddings; none for no clips."""
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        if not len(source):
            return np.empty((0, source.shape[1]))
        k = min(self.n_clusters, len(source))
        with threadpool_limits(1):  # small problem: one thread is as fast and spares a busy machine
            km = KMeans(n_clusters=k, random_state=self.seed, n_init=self.n_init).fit(source)
        return l2_normalise(km.cluster_centers_)

    def fit(self, X: np.ndarray, clips: pd.DataFrame) -> "KMeansTargetBackend":
        X = l2_normalise(X)
        _check_rows(X, clips)
        types, doms = _train_domains(clips, "KMeansTargetBackend")
        self.banks_: dict[str, dict[str, np.ndarray]] = {}
        self._train = (X, types, doms)
        for mtype in pd.unique(types):
            sel = types == mtype
            self.banks_[mtype] = {"centres": self._centres(X[sel & (doms == "source")]),
                                  "target": X[sel & (doms == "target")]}
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
        """Scores of the fitted clips as ``source_train_scores`` says (see the class docstring)."""
        if self.source_train_scores == "in_sample":
            return self.train_scores_in_sample()
        return self.train_scores_out_of_fold()

    def train_scores_in_sample(self) -> np.ndarray:
        """Scores of the fitted clips against the bank of ``fit``, each target clip left out of
        its own bank entry; source clips against the centres they helped form."""
        X, types, doms = self._train
        out = np.empty(len(X))
        for mtype in pd.unique(types):
            idx = np.flatnonzero(types == mtype)
            out[idx] = self._min_distance(mtype, X[idx], idx, self.banks_[mtype]["centres"])
        return out

    def source_folds(self, mtype: str) -> np.ndarray:
        """The fold of each source train clip of ``mtype`` (in the order of the fitted clips):
        seeded by ``seed`` and the type's name, so a type's folds do not depend on the others."""
        _, types, doms = self._train
        n = int(((types == mtype) & (doms == "source")).sum())
        return fold_of_each(n, self.n_folds, np.random.default_rng([self.seed, zlib.crc32(str(mtype).encode())]))

    def train_scores_out_of_fold(self) -> np.ndarray:
        """Scores of the fitted clips, none against a bank entry it helped form: a source clip
        against the centres of its type's other folds (+ the target clips), a target clip
        against the centres (+ the other target clips)."""
        X, types, doms = self._train
        out = np.empty(len(X))
        for mtype in pd.unique(types):
            targets = np.flatnonzero((types == mtype) & (doms == "target"))
            out[targets] = self._min_distance(mtype, X[targets], targets, self.banks_[mtype]["centres"])
            source = np.flatnonzero((types == mtype) & (doms == "source"))
            folds = self.source_folds(mtype)
            for fold in np.unique(folds):
                held = source[folds == fold]
                centres = self._centres(X[source[folds != fold]])  # rows in fit's order: the same k-means as a refit
                out[held] = self._min_distance(mtype, X[held], held, centres)
        return out

    def _min_distance(self, mtype: str, Xq: np.ndarray, rows: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """Min cosine distance of fitted clips ``rows`` (embeddings ``Xq``) to ``centres`` plus
        the type's target train clips, each clip's own target entry left out."""
        X, types, doms = self._train
        targets = np.flatnonzero((types == mtype) & (doms == "target"))
        D_target = 1.0 - Xq @ X[targets].T
        D_target[rows[:, None] == targets[None, :]] = np.inf  # not its own bank entry
        best = np.hstack([1.0 - Xq @ centres.T, D_target]).min(axis=1, initial=np.inf)
        if not np.all(np.isfinite(best)):
            raise ValueError(f"KMeansTargetBackend: {mtype} has a train clip with no bank entry left once its own "
                             "is left out (a single target clip and no source clips, or a single source clip "
                             "and no target clips); out-of-sample training scores need a second clip")
        return best


# --------------------------------------------------------------------------- domain-shift backends
def _leave_one_out_knn(bank: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """In-bank kNN cosine distances of a bank's (normalised) members.

    ``delta[j]``: member ``j``'s kNN distance to the other members; ``loo[i, j]``: the same in
    the bank without member ``i`` (NaN on the diagonal, inf where no neighbour is left), so
    leave-one-out scores can use bank statistics that never saw the left-out clip.
    """
    n = len(bank)
    D = 1.0 - bank @ bank.T
    np.fill_diagonal(D, np.inf)
    delta = _knn_distance(D, k)
    loo = np.tile(delta, (n, 1))
    kk = min(k, n - 1)
    if kk >= 1:
        order = np.argsort(D, axis=1, kind="stable")[:, :kk + 1]
        S = np.take_along_axis(D, order, axis=1)
        top = S[:, :kk].sum(axis=1, keepdims=True)
        if kk < n - 1:  # the (k+1)-th neighbour moves up
            repl = (top - S[:, :kk] + S[:, kk:kk + 1]) / kk
        elif kk > 1:  # a bank smaller than k + 1: the mean of those left
            repl = (top - S[:, :kk]) / (kk - 1)
        else:  # a bank of two: no neighbour left
            repl = np.full((n, kk), np.inf)
        loo[order[:, :kk], np.arange(n)[:, None]] = repl  # loo[i, j] where i is one of j's k nearest
    np.fill_diagonal(loo, np.nan)
    return delta, loo


def _where_left_out(left_out: np.ndarray | None, plain, held_out):
    """Per row: ``held_out(i)`` where the row's clip is member ``i`` of the bank (left out of
    it), else ``plain``."""
    if left_out is None:
        return plain
    return np.where(left_out >= 0, held_out(np.maximum(left_out, 0)), plain)


class LocalDensityKnnBackend(_BankBackend):
    """Local-density (LOF-like) 1-NN ratio, per machine type and bank (source, target).

    Why: a bank's normals are not equally spread; the 10 target clips lie far from each other,
    so every target-domain clip is far from the target bank in absolute terms. Dividing by
    how far the nearest member is from its own nearest neighbour judges a clip by the local
    spread of the bank::

        j* = argmin_j d(x, b_j),   r_j = min_{l != j} d(b_j, b_l)   (same bank)
        s_bank(x) = max(d(x, b_j*), 0) / max(r_j*, eps),   score = min over banks

    with ``d`` the cosine distance of L2-normalised embeddings. ``train_scores()`` is
    leave-one-out in full: the clip leaves its bank *and* every ``r_j`` (a member whose nearest
    neighbour it was gets its second-nearest). A bank needs two clips; a clip whose own bank
    keeps one member after leaving out is scored by its other bank.
    """

    name = "density"
    min_bank_size = 2

    def __init__(self, eps: float = 1e-6):
        super().__init__(k=1)
        self.eps = float(eps)

    def _bank_stats(self, bank):
        return _leave_one_out_knn(bank, 1)  # (r, r without member i)

    def _bank_score(self, D, stats, left_out):
        r, r_loo = stats
        nearest = np.argmin(D, axis=1)
        d = D[np.arange(len(D)), nearest]
        radius = _where_left_out(left_out, r[nearest], lambda i: r_loo[i, nearest])
        ok = np.isfinite(d) & np.isfinite(radius)
        with np.errstate(invalid="ignore"):
            return np.where(ok, np.maximum(d, 0.0) / np.maximum(np.where(ok, radius, 1.0), self.eps), np.inf)


class DomainStandardisedKnnBackend(_BankBackend):
    """kNN distance standardised per machine type and bank by that bank's own spread.

    Why: the source bank is dense (hundreds of clips) and the target bank sparse (10), so a raw
    distance to the target bank is large even for a target normal. Each bank's distance is put
    on the scale of its own members' leave-one-out distances, estimated on TRAIN clips only::

        delta_j = kNN distance of member b_j to the bank without it
        mu_B, sigma_B = mean, std (ddof 0) of delta_j over the bank's members
        s_B(x) = (d_kNN(x, B) - mu_B) / max(sigma_B, eps),   score = min over banks

    ``train_scores()`` is leave-one-out in full: the clip leaves its bank and ``mu``/``sigma``
    are recomputed without it (every ``delta_j`` as well). A bank needs two clips; a clip whose
    own bank keeps one member after leaving out is scored by its other bank.
    """

    name = "standardised"
    min_bank_size = 2

    def __init__(self, k: int = 1, eps: float = 1e-6):
        super().__init__(k=k)
        self.eps = float(eps)

    def _bank_stats(self, bank):
        delta, loo = _leave_one_out_knn(bank, self.k)
        with np.errstate(invalid="ignore"):
            loo_mu, loo_sd = np.nanmean(loo, axis=1), np.nanstd(loo, axis=1)
        return delta.mean(), delta.std(), loo_mu, loo_sd

    def _bank_score(self, D, stats, left_out):
        mu, sd, loo_mu, loo_sd = stats
        d = _knn_distance(D, self.k)
        mu = _where_left_out(left_out, np.full(len(d), mu), lambda i: loo_mu[i])
        sd = _where_left_out(left_out, np.full(len(d), sd), lambda i: loo_sd[i])
        ok = np.isfinite(d) & np.isfinite(mu) & np.isfinite(sd)
        with np.errstate(invalid="ignore"):
            return np.where(ok, (d - mu) / np.maximum(np.where(ok, sd, 1.0), self.eps), np.inf)


class PooledKnnBackend(KnnBackend):
    """One bank per machine type with its source and target train clips together: plain kNN
    cosine distance, ``score = d_kNN(x, source ∪ target)``. The comparison point for the
    separate banks of :class:`KnnBackend`: equal to it when a type has one domain only, and
    for ``k = 1`` always (the min over two banks is the min over their union); they differ
    for ``k > 1``, where a pooled neighbourhood mixes source and target members."""

    name = "pooled"
    bank_names = ("pooled",)

    def _bank_keys(self, doms):
        return np.full(len(doms), "pooled")


#: The backends that score clip embeddings, by name (``make_backend``).
BACKENDS = {
    "knn": KnnBackend,
    "kmeans": KMeansTargetBackend,
    "density": LocalDensityKnnBackend,
    "standardised": DomainStandardisedKnnBackend,
    "pooled": PooledKnnBackend,
}


def make_backend(name: str, **kw):
    """An unfitted backend of the registry ``BACKENDS`` (``kw``: its settings, e.g. ``k=2``)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; known backends: {', '.join(BACKENDS)}")
    return BACKENDS[name](**kw)
