"""Statistical clustering: pseudo-labels from per-clip statistics (seed report §1, §2.1).

For machine types whose attributes are hidden, the seed report computes statistics of
every normal clip, clusters them into a small number of clusters, and uses the cluster
index as a pseudo-label in place of the missing attributes. The report names neither the
statistics nor the algorithm; this module is our design:

1. **statistics** (``asdlib.features.statistics``): named groups computed from the cached log-mel;
2. **standardisation** on the train clips, then each group scaled to the same total
   variance (``group_weighting="equal"``) so a 128-band group does not drown a 6-number one;
3. **reduction**: PCA (default), UMAP (the book's one helper ``projection.embed_umap``) or none;
4. **clustering**: a Gaussian mixture (default) or k-means, the number of clusters chosen
   in ``k_range`` by BIC (default) or silhouette, or fixed by ``n_clusters=int``;
5. **the target domain** (10 train clips): ``target_report_`` says where every target
   clip landed and how far it lies from the source clusters; ``per_domain=True`` clusters
   source and target separately, target clusters numbered after the source ones.

``StatisticalClusters`` follows scikit-learn's estimator API, for ONE machine type::

    sc = StatisticalClusters(seed=0).fit(train_clips_of_one_type)
    sc.labels_, sc.n_clusters_, sc.selection_, sc.target_report_
    sc.predict(test_clips)          # cluster index per clip
    sc.pseudo_labels(test_clips)    # 'c03' / 't00' strings

``pseudo_labels(clips)`` fits one estimator per type on the normal train clips and labels
every clip; ``asdlib.clustering.quality`` scores labels against the true (visible or hidden)
attribute groups with the adjusted Rand index and normalised mutual information.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from asdlib.features.logmel import LogMelConfig
from asdlib.features.statistics import DEFAULT_GROUPS, STAT_GROUPS, check_groups, group_columns, group_of, statistics_table

__all__ = ["StatisticalClusters", "pseudo_labels", "statistics_table", "STAT_GROUPS", "DEFAULT_GROUPS"]

FAILED = -1  # label of a clip without statistics (on_error="skip")


# --------------------------------------------------------------------------- small helpers
def _kmeans_bic(Z: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> float:
    """BIC of a k-means partition seen as a spherical Gaussian mixture (Pelleg & Moore's
    X-means formula); lower is better, like ``GaussianMixture.bic``."""
    n, d = Z.shape
    k = centres.shape[0]
    sse = float(((Z - centres[labels]) ** 2).sum())
    var = max(sse / max(n - k, 1) / d, 1e-12)
    sizes = np.bincount(labels, minlength=k).astype(float)
    sizes = sizes[sizes > 0]
    loglik = float((sizes * np.log(sizes / n)).sum()) - n * d / 2 * np.log(2 * np.pi * var) - d * (n - k) / 2
    n_params = (k - 1) + k * d + 1
    return -2.0 * loglik + n_params * np.log(n)


def _canonical_order(labels: np.ndarray, k: int) -> np.ndarray:
    """Map raw cluster ids to 0..k-1 by decreasing size (ties: earliest first member), so
    that label 0 is always the largest cluster, whatever the solver's internal order."""
    sizes = np.bincount(labels, minlength=k)
    first = np.array([np.flatnonzero(labels == c)[0] if sizes[c] else len(labels) for c in range(k)])
    order = sorted(range(k), key=lambda c: (-sizes[c], first[c]))
    mapping = np.empty(k, dtype=int)
    mapping[order] = np.arange(k)
    return mapping


def _single_type(clips: pd.DataFrame, what: str) -> str:
    types = sorted(clips["machine_type"].unique()) if "machine_type" in clips.columns else []
    if len(types) > 1:
        raise ValueError(
            f"StatisticalClusters.{what} got clips of {len(types)} machine types {types}; it models ONE "
            "type. Use StatisticalClusters.fit_per_type(clips) or pseudo_labels(clips) for several.")
    return types[0] if types else ""


class StatisticalClusters(BaseEstimator):
    """Cluster the normal clips of one machine type by their statistics.

    Parameters
    ----------
    groups : statistic groups (``asdlib.features.statistics.STAT_GROUPS``), default all of them.
    reduction : ``"pca"`` (default), ``"umap"`` (2-D, ``projection.embed_umap``; new clips are then
        assigned by their nearest train clips) or ``None``.
    n_components : PCA dimensions (capped by the number of clips and features).
    method : ``"gmm"`` (Gaussian mixture, default) or ``"kmeans"``.
    n_clusters : ``"auto"`` (chosen in ``k_range``) or a fixed integer.
    k_range : inclusive range of cluster counts tried by ``"auto"``; the upper end is capped
        at ``n_clips // min_cluster_size`` so every cluster can have a few members.
    criterion : ``"bic"`` (lowest wins; the smallest k within ``bic_tolerance`` of the lowest
        BIC, since differences below 2 are no real evidence) or ``"silhouette"`` (highest wins).
    covariance_type : Gaussian-mixture covariance (``"full"``, ``"diag"``, ...).
    per_domain : cluster source and target train clips separately; the target clusters
        (``target_n_clusters`` of them, k-means) get indices after the source ones.
    group_weighting : ``"equal"`` (every selected group gets the same total variance after
        standardisation) or ``"none"`` (every column counts once).
    seed : makes everything deterministic (solver initialisation, UMAP).
    on_error : ``"raise"`` (default: a clip without statistics stops the fit, named) or
        ``"skip"`` (warn, leave it out, label it -1, list it in ``failed_``).
    """

    def __init__(self, groups: Sequence[str] = DEFAULT_GROUPS, reduction: str | None = "pca",
                 n_components: int = 8, method: str = "gmm", n_clusters: int | str = "auto",
                 k_range: tuple[int, int] = (2, 16), criterion: str = "bic",
                 covariance_type: str = "tied", per_domain: bool = False, target_n_clusters: int = 1,
                 bic_tolerance: float = 2.0, group_weighting: str = "equal", min_cluster_size: int = 5,
                 n_init: int = 4,
                 logmel_config: LogMelConfig = LogMelConfig(), seed: int = 0, on_error: str = "raise"):
        self.groups = groups
        self.reduction = reduction
        self.n_components = n_components
        self.method = method
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.criterion = criterion
        self.covariance_type = covariance_type
        self.per_domain = per_domain
        self.target_n_clusters = target_n_clusters
        self.bic_tolerance = bic_tolerance
        self.group_weighting = group_weighting
        self.min_cluster_size = min_cluster_size
        self.n_init = n_init
        self.logmel_config = logmel_config
        self.seed = seed
        self.on_error = on_error

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        check_groups(self.groups)
        if self.reduction not in ("pca", "umap", None):
            raise ValueError(f"reduction must be 'pca', 'umap' or None, got {self.reduction!r}")
        if self.method not in ("gmm", "kmeans"):
            raise ValueError(f"method must be 'gmm' or 'kmeans', got {self.method!r}")
        if self.criterion not in ("bic", "silhouette"):
            raise ValueError(f"criterion must be 'bic' or 'silhouette', got {self.criterion!r}")
        if self.group_weighting not in ("equal", "none"):
            raise ValueError(f"group_weighting must be 'equal' or 'none', got {self.group_weighting!r}")
        if self.on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {self.on_error!r}")
        if not (isinstance(self.n_clusters, (int, np.integer)) and self.n_clusters >= 1) and self.n_clusters != "auto":
            raise ValueError(f"n_clusters must be 'auto' or a positive integer, got {self.n_clusters!r}")
        lo, hi = self.k_range
        if not (1 <= lo <= hi):
            raise ValueError(f"k_range must be (low, high) with 1 <= low <= high, got {self.k_range!r}")
        if int(self.target_n_clusters) < 1:
            raise ValueError(f"target_n_clusters must be >= 1, got {self.target_n_clusters!r}")

    # ------------------------------------------------------------------ features
    def _statistics(self, clips: pd.DataFrame, stats: pd.DataFrame | None) -> pd.DataFrame:
        groups = check_groups(self.groups)
        if stats is None:
            on_error = "raise" if self.on_error == "raise" else "report"
            return statistics_table(clips, groups, self.logmel_config, on_error=on_error)
        missing = clips.index.difference(stats.index)
        if len(missing):
            raise KeyError(f"the statistics table has no row for {len(missing)} clip(s) (index {list(missing[:5])}); "
                           "compute it with statistics_table(clips) on the same clip table")
        cols = group_columns(stats.columns, groups)
        if set(group_of(c) for c in cols) != set(groups):
            raise KeyError(f"the statistics table lacks groups {sorted(set(groups) - set(group_of(c) for c in cols))}")
        sub = stats.loc[clips.index, cols]
        sub.attrs["failed"] = {p: "no statistics (NaN row in the given table)"
                               for p, bad in zip(clips.get("path", pd.Series(index=clips.index, dtype=str)),
                                                 sub.isna().any(axis=1)) if bad}
        return sub

    def _weighted(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.scale_ * self.weights_

    def _reduce_new(self, Xw: np.ndarray) -> np.ndarray:
        if self.reduction == "pca":
            return self.pca_.transform(Xw)
        return Xw  # None; UMAP has no transform here (new clips go through _assign_by_neighbours)

    # ------------------------------------------------------------------ clustering core
    def _fit_k(self, Z: np.ndarray, k: int):
        if self.method == "gmm":
            model = GaussianMixture(k, covariance_type=self.covariance_type, reg_covar=1e-3,
                                    n_init=self.n_init, random_state=self.seed, max_iter=300)
            model.fit(Z)
            labels = model.predict(Z)
            bic = model.bic(Z)
        else:
            model = KMeans(k, n_init=max(self.n_init, 3), random_state=self.seed)
            labels = model.fit_predict(Z)
            bic = _kmeans_bic(Z, labels, model.cluster_centers_)
        return model, labels, float(bic)

    def _select(self, Z: np.ndarray) -> tuple[int, pd.DataFrame]:
        n = len(Z)
        lo, hi = int(self.k_range[0]), int(self.k_range[1])
        cap = max(1, n // max(int(self.min_cluster_size), 1))
        hi_eff = max(min(hi, cap, n - 1), 1)
        lo_eff = min(lo, hi_eff)
        rows = []
        for k in range(lo_eff, hi_eff + 1):
            _, labels, bic = self._fit_k(Z, k)
            n_used = len(np.unique(labels))
            sil = float(silhouette_score(Z, labels)) if 2 <= n_used <= n - 1 else np.nan
            rows.append({"k": k, "bic": bic, "silhouette": sil, "n_nonempty": n_used})
        table = pd.DataFrame(rows)
        if self.criterion == "bic" or table["silhouette"].isna().all():
            # the smallest k within bic_tolerance of the minimum: a BIC difference below 2 is
            # "not worth more than a bare mention" (Kass & Raftery 1995), so take fewer clusters
            near = table["bic"] <= table["bic"].min() + float(self.bic_tolerance)
            best = int(table.loc[near, "k"].min())
        else:
            best = int(table.loc[table["silhouette"].idxmax(), "k"])
        table["chosen"] = table["k"] == best
        table.attrs["k_range_used"] = (lo_eff, hi_eff)
        return best, table

    # ------------------------------------------------------------------ fit
    def fit(self, clips: pd.DataFrame, stats: pd.DataFrame | None = None) -> "StatisticalClusters":
        """Fit on the normal train clips of ONE machine type (clip table rows).

        ``stats`` (optional) is a precomputed ``statistics_table`` covering these rows (it
        may hold more groups/rows); otherwise statistics are computed (log-mels cached).
        """
        self._check_params()
        self.machine_type_ = _single_type(clips, "fit")
        if len(clips) == 0:
            raise ValueError("StatisticalClusters.fit got no clips")
        table = self._statistics(clips, stats)
        # Small matrices: multi-threaded BLAS only adds overhead (measured 20x slower GMM
        # fits on 2 busy cores); one thread is also bit-for-bit reproducible.
        with threadpool_limits(1):
            return self._fit(clips, table)

    def _fit(self, clips: pd.DataFrame, table: pd.DataFrame) -> "StatisticalClusters":
        if "label" in clips.columns and (clips["label"] == "anomaly").any():
            warnings.warn(f"{self.machine_type_}: {(clips['label'] == 'anomaly').sum()} anomalous clips among "
                          "the fit clips; pseudo-labels are meant to be learnt from normal clips", stacklevel=3)
        failed = table.attrs.get("failed", {})
        ok = ~table.isna().any(axis=1).to_numpy()
        if failed and self.on_error == "raise":
            raise ValueError(f"{len(failed)} clip(s) have no statistics: {list(failed)[:5]}; "
                             "fix them or pass on_error='skip'")
        self.failed_ = pd.DataFrame({"path": list(failed), "reason": list(failed.values())})
        if not ok.all():
            warnings.warn(f"{self.machine_type_}: {int((~ok).sum())} clip(s) left out of the clustering "
                          f"(label {FAILED}); see failed_", stacklevel=2)
        self.feature_names_ = list(table.columns)
        X = table.to_numpy(dtype=np.float64)[ok]
        n = len(X)
        min_needed = 3 if self.n_clusters == "auto" else int(self.n_clusters)
        if n < min_needed:
            raise ValueError(f"{self.machine_type_}: {n} usable clip(s) are too few to cluster "
                             f"(need at least {min_needed}); pass a smaller n_clusters or more clips")
        domain = (clips["domain"].to_numpy()[ok] if "domain" in clips.columns else np.array(["source"] * n))
        is_target = domain == "target"

        # 2. standardise on these clips, then equalise the groups' total variance
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 1e-12, std, 1.0)
        col_groups = np.array([group_of(c) for c in self.feature_names_])
        if self.group_weighting == "equal":
            sizes = {g: int((col_groups == g).sum()) for g in set(col_groups)}
            self.weights_ = np.array([1.0 / np.sqrt(sizes[g]) for g in col_groups])
        else:
            self.weights_ = np.ones(len(col_groups))
        Xw = self._weighted(X)
        self.X_train_ = Xw

        # 3. reduction
        if self.reduction == "pca":
            nc = max(1, min(int(self.n_components), n - 1, Xw.shape[1]))
            self.pca_ = PCA(n_components=nc, svd_solver="full", random_state=self.seed).fit(Xw)
            Z = self.pca_.transform(Xw)
        elif self.reduction == "umap":
            from asdlib.clustering.projection import embed_umap  # the one UMAP helper of the book

            Z = embed_umap(Xw, seed=self.seed)
        else:
            Z = Xw
        self.embedding_ = Z

        # 4. clustering (source+target jointly, or per domain)
        fit_mask = ~is_target if self.per_domain else np.ones(n, bool)
        if self.per_domain and fit_mask.sum() < 2:
            raise ValueError(f"{self.machine_type_}: per_domain=True needs source train clips")
        Zs = Z[fit_mask]
        if self.n_clusters == "auto":
            k, self.selection_ = self._select(Zs)
        else:
            k = int(self.n_clusters)
            if k > len(Zs):
                raise ValueError(f"{self.machine_type_}: n_clusters={k} > {len(Zs)} clips")
            self.selection_ = pd.DataFrame({"k": [k], "bic": [np.nan], "silhouette": [np.nan],
                                            "n_nonempty": [k], "chosen": [True]})
        self.model_, raw, self.bic_ = self._fit_k(Zs, k)
        self.map_ = _canonical_order(raw, k)
        labels = np.full(n, FAILED, dtype=int)
        labels[fit_mask] = self.map_[raw]
        self.n_source_clusters_ = k
        self.centres_ = np.stack([Zs[labels[fit_mask] == c].mean(axis=0) if (labels[fit_mask] == c).any()
                                  else np.full(Z.shape[1], np.inf) for c in range(k)])
        self.target_centres_ = np.empty((0, Z.shape[1]))
        if self.per_domain:
            Zt = Z[is_target]
            kt = min(int(self.target_n_clusters), len(Zt))
            if kt >= 1:
                km = KMeans(kt, n_init=10, random_state=self.seed).fit(Zt)
                tmap = _canonical_order(km.labels_, kt)
                labels[is_target] = k + tmap[km.labels_]
                self.target_centres_ = np.stack([Zt[tmap[km.labels_] == j].mean(axis=0) for j in range(kt)])
            if not is_target.any():
                warnings.warn(f"{self.machine_type_}: per_domain=True but no target train clips; "
                              "target clips will be assigned to source clusters", stacklevel=2)
        self.n_target_clusters_ = len(self.target_centres_)
        self.n_clusters_ = self.n_source_clusters_ + self.n_target_clusters_

        full = np.full(len(clips), FAILED, dtype=int)
        full[ok] = labels
        self.labels_ = full
        self.train_clips_ = clips.loc[:, [c for c in ("file_name", "path", "domain") if c in clips.columns]][ok]
        self._train_index = clips.index
        self._train_domain = domain
        self._train_labels_ok = labels
        self._build_target_report(clips[ok], Z, labels, is_target)
        return self

    # ------------------------------------------------------------------ the target domain
    def _source_cluster_ids(self, labels: np.ndarray, is_target: np.ndarray) -> np.ndarray:
        if self.per_domain:
            return np.arange(self.n_source_clusters_)
        ids = [c for c in range(self.n_source_clusters_)
               if (labels == c).any() and (~is_target[labels == c]).mean() > 0.5]
        return np.array(ids, dtype=int)

    def _build_target_report(self, clips: pd.DataFrame, Z: np.ndarray, labels: np.ndarray,
                             is_target: np.ndarray) -> None:
        """Where each target train clip landed and how far it is from the source clusters."""
        src_ids = self._source_cluster_ids(labels, is_target)
        cols = ["file_name", "cluster", "pseudo_label", "cluster_size", "cluster_target_share",
                "nearest_source_cluster", "source_distance", "source_percentile"]
        if not is_target.any():
            self.target_report_ = pd.DataFrame(columns=cols)
            self.target_summary_ = {"n_target": 0, "note": "no target train clips"}
            return
        all_centres = np.vstack([self.centres_, self.target_centres_])
        C = all_centres[src_ids] if len(src_ids) else self.centres_
        D = np.sqrt(((Z[:, None, :] - C[None, :, :]) ** 2).sum(axis=2))  # (n, n_source_clusters)
        nearest = D.argmin(axis=1)
        dist = D.min(axis=1)
        ref = np.sort(dist[~is_target]) if (~is_target).any() else np.sort(dist)
        percentile = 100.0 * np.searchsorted(ref, dist, side="left") / max(len(ref), 1)
        sizes = np.bincount(labels[labels >= 0], minlength=self.n_clusters_)
        tshare = np.array([is_target[labels == c].mean() if sizes[c] else np.nan for c in range(self.n_clusters_)])
        names = clips["file_name"].to_numpy() if "file_name" in clips.columns else np.arange(len(clips)).astype(str)
        t = np.flatnonzero(is_target)
        rep = pd.DataFrame({
            "file_name": names[t],
            "cluster": labels[t],
            "pseudo_label": self._names(labels[t]),
            "cluster_size": sizes[labels[t]],
            "cluster_target_share": tshare[labels[t]].round(3),
            "nearest_source_cluster": (src_ids[nearest[t]] if len(src_ids) else nearest[t]),
            "source_distance": dist[t].round(3),
            "source_percentile": percentile[t].round(1),
        }, index=clips.index[t])
        self.target_report_ = rep
        target_clusters = sorted(c for c in range(self.n_clusters_) if sizes[c] and tshare[c] > 0.5)
        absorbed = int((tshare[labels[t]] <= 0.5).sum())
        self.target_summary_ = {
            "n_target": int(len(t)),
            "clusters_hit": sorted(set(int(c) for c in labels[t])),
            "own_cluster": bool(target_clusters),
            "target_clusters": target_clusters,
            "n_in_source_clusters": absorbed,
            "median_source_percentile": float(np.median(percentile[t])),
        }

    # ------------------------------------------------------------------ predict
    def _names(self, labels: np.ndarray) -> list:
        out = []
        for c in np.asarray(labels):
            if c == FAILED:
                out.append(None)
            elif c < self.n_source_clusters_:
                out.append(f"c{int(c):02d}")
            else:
                out.append(f"t{int(c) - self.n_source_clusters_:02d}")
        return out

    def _assign_by_neighbours(self, Xw: np.ndarray, candidates: np.ndarray, k_nn: int = 5) -> np.ndarray:
        """UMAP has no out-of-sample transform here: vote of the nearest train clips (in the
        standardised statistics space) among those whose label is in ``candidates``."""
        pool = np.isin(self._train_labels_ok, candidates)
        Xp, Lp = self.X_train_[pool], self._train_labels_ok[pool]
        d = ((Xw[:, None, :] - Xp[None, :, :]) ** 2).sum(axis=2)
        kk = min(k_nn, len(Xp))
        idx = np.argsort(d, axis=1, kind="stable")[:, :kk]
        out = np.empty(len(Xw), dtype=int)
        for i, row in enumerate(idx):
            votes = np.bincount(Lp[row], minlength=self.n_clusters_)
            out[i] = int(np.argmax(votes))
        return out

    def _assign(self, Xw: np.ndarray, domain: np.ndarray) -> np.ndarray:
        n = len(Xw)
        src = np.arange(self.n_source_clusters_)
        tgt = np.arange(self.n_source_clusters_, self.n_clusters_)
        if self.reduction == "umap":
            out = self._assign_by_neighbours(Xw, src)
            if len(tgt):
                t = domain == "target"
                if t.any():
                    out[t] = self._assign_by_neighbours(Xw[t], tgt)
                u = ~np.isin(domain, ("source", "target"))
                if u.any():
                    out[u] = self._assign_by_neighbours(Xw[u], np.arange(self.n_clusters_))
            return out
        Z = self._reduce_new(Xw)
        out = self.map_[self.model_.predict(Z)]
        if len(tgt):
            t = domain == "target"
            dt = ((Z[:, None, :] - self.target_centres_[None, :, :]) ** 2).sum(axis=2)
            out[t] = self.n_source_clusters_ + dt[t].argmin(axis=1)
            u = ~np.isin(domain, ("source", "target"))  # evaluation clips: nearest centre of all
            if u.any():
                ds = ((Z[:, None, :] - self.centres_[None, :, :]) ** 2).sum(axis=2)
                both = np.hstack([ds, dt])
                out[u] = both[u].argmin(axis=1)
        return out

    def predict(self, clips: pd.DataFrame, stats: pd.DataFrame | None = None) -> np.ndarray:
        """Cluster index of every clip (``-1`` for clips without statistics when ``on_error='skip'``).

        With ``per_domain=True`` the ``domain`` column routes a clip: source clips get a source
        cluster, target clips a target cluster, clips of unknown domain the nearest of all.
        """
        if not hasattr(self, "model_"):
            raise RuntimeError("StatisticalClusters.predict called before fit")
        mtype = _single_type(clips, "predict")
        if mtype and self.machine_type_ and mtype != self.machine_type_:
            raise ValueError(f"this model was fitted on {self.machine_type_!r}, got clips of {mtype!r}")
        table = self._statistics(clips, stats)
        ok = ~table.isna().any(axis=1).to_numpy()
        if not ok.all() and self.on_error == "raise":
            raise ValueError(f"{int((~ok).sum())} clip(s) have no statistics: {list(table.attrs.get('failed', {}))[:5]}")
        out = np.full(len(clips), FAILED, dtype=int)
        if ok.any():
            domain = clips["domain"].to_numpy()[ok] if "domain" in clips.columns else np.array(["source"] * ok.sum())
            with threadpool_limits(1):
                out[ok] = self._assign(self._weighted(table.to_numpy(dtype=np.float64)[ok]), domain)
        return out

    def fit_predict(self, clips: pd.DataFrame, stats: pd.DataFrame | None = None) -> np.ndarray:
        return self.fit(clips, stats).labels_

    def pseudo_labels(self, clips: pd.DataFrame, stats: pd.DataFrame | None = None) -> pd.Series:
        """``predict`` as strings: ``'c03'`` (source / joint cluster), ``'t00'`` (target cluster)."""
        return pd.Series(self._names(self.predict(clips, stats)), index=clips.index, dtype=object,
                         name="pseudo_label")

    def transform(self, clips: pd.DataFrame, stats: pd.DataFrame | None = None) -> np.ndarray:
        """Clips in the clustering space (PCA / standardised statistics; not available for UMAP)."""
        if self.reduction == "umap":
            raise NotImplementedError("UMAP reduction has no out-of-sample transform; use embedding_ for train clips")
        table = self._statistics(clips, stats)
        return self._reduce_new(self._weighted(table.to_numpy(dtype=np.float64)))

    # ------------------------------------------------------------------ several types
    def fit_per_type(self, clips: pd.DataFrame, stats: pd.DataFrame | None = None) -> dict[str, "StatisticalClusters"]:
        """One fitted copy of this estimator per machine type in ``clips`` (``{type: model}``)."""
        return {mtype: clone(self).fit(sub, stats) for mtype, sub in clips.groupby("machine_type", sort=True)}

    @property
    def pseudo_labels_(self) -> pd.Series:
        """The train clips' labels as strings (index of the fitted clip table; None = no statistics)."""
        return pd.Series(self._names(self.labels_), index=self._train_index, dtype=object, name="pseudo_label")

    def representatives(self, n: int = 1) -> pd.DataFrame:
        """The ``n`` train clips nearest to each cluster's centre (in the clustering space):
        the clips to listen to when asking what a cluster is."""
        if not hasattr(self, "embedding_"):
            raise RuntimeError("StatisticalClusters.representatives called before fit")
        centres = np.vstack([self.centres_, self.target_centres_])
        rows = []
        for c in range(self.n_clusters_):
            members = np.flatnonzero(self._train_labels_ok == c)
            if not len(members):
                continue
            d = np.sqrt(((self.embedding_[members] - centres[c]) ** 2).sum(axis=1))
            for j in np.argsort(d, kind="stable")[:n]:
                i = members[j]
                rows.append({"cluster": c, "pseudo_label": self._names([c])[0], "cluster_size": len(members),
                             "distance": float(d[j]), **self.train_clips_.iloc[i].to_dict()})
        return pd.DataFrame(rows)

    def describe(self) -> dict:
        """The fitted choices in one dictionary (for tables in the book)."""
        return {"machine_type": self.machine_type_, "n_clusters": self.n_clusters_,
                "n_source_clusters": self.n_source_clusters_, "n_target_clusters": self.n_target_clusters_,
                "k_range_used": self.selection_.attrs.get("k_range_used"),
                **{f"target_{k}": v for k, v in self.target_summary_.items() if k != "note"}}


# --------------------------------------------------------------------------- one call for a book
def pseudo_labels(clips: pd.DataFrame, estimator: StatisticalClusters | None = None,
                  stats: pd.DataFrame | None = None, **params) -> pd.Series:
    """Pseudo-label strings for every clip (index aligned), one estimator per machine type.

    Each type's estimator is fitted on its normal train clips (``split == 'train'``) and then
    labels all its clips (train and test). ``estimator`` is a configured (unfitted)
    ``StatisticalClusters``; or pass its parameters as keywords.
    """
    est = estimator if estimator is not None else StatisticalClusters(**params)
    out = pd.Series([None] * len(clips), index=clips.index, dtype=object, name="pseudo_label")
    for mtype, sub in clips.groupby("machine_type", sort=True):
        train = sub[(sub["split"] == "train") & (sub["label"] != "anomaly")]
        if train.empty:
            raise ValueError(f"{mtype}: no normal train clips to fit the clusters on")
        model = clone(est).fit(train, stats)
        out.loc[sub.index] = model.pseudo_labels(sub, stats).to_numpy()
    return out
