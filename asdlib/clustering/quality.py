"""How good statistical clusters are: against the true attribute groups, between designs, per
statistic group (the statistical-clustering chapter's measurements; ``asdlib.clustering.statistical`` fits).

ARI / NMI against the truth (visible attributes from file names, hidden ones from the
organisers' correspondence files), a comparison of clustering configurations, and an
ablation of the statistic groups.
"""

from __future__ import annotations

import warnings
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from asdlib.data.layout import attribute_groups
from asdlib.features.statistics import DEFAULT_GROUPS, check_groups, group_columns
from asdlib.clustering.statistical import FAILED, StatisticalClusters


# --------------------------------------------------------------------------- quality vs truth
def cluster_quality(pred, truth) -> dict:
    """ARI and NMI of predicted clusters against true groups; entries without truth (None/NaN)
    or without a prediction (-1/None) are left out (and counted in ``n_clips``)."""
    pred = pd.Series(list(pred), dtype=object)
    truth = pd.Series(list(truth), dtype=object)
    if len(pred) != len(truth):
        raise ValueError(f"pred has {len(pred)} entries, truth {len(truth)}")
    keep = truth.notna() & pred.notna() & (pred.astype(str) != str(FAILED))
    p, t = pred[keep].astype(str), truth[keep].astype(str)
    if len(p) < 2:
        return {"ARI": np.nan, "NMI": np.nan, "n_pred": int(p.nunique()), "n_true": int(t.nunique()),
                "n_clips": int(len(p))}
    return {"ARI": float(adjusted_rand_score(t, p)), "NMI": float(normalized_mutual_info_score(t, p)),
            "n_pred": int(p.nunique()), "n_true": int(t.nunique()), "n_clips": int(len(p))}


def evaluate_against_truth(clips: pd.DataFrame, labels, search_roots: Iterable = ()) -> pd.DataFrame:
    """ARI/NMI per machine type of ``labels`` (index aligned with ``clips``) against the true
    operating-condition groups: visible attributes from the names, hidden ones from the
    correspondence CSVs found under ``search_roots`` (``data.attribute_groups``).

    ``ARI_domain_only`` is the reference a source/target labelling (System-2's choice for
    hidden types) reaches. Types without any truth get NaN and ``truth='none'``.
    """
    labels = pd.Series(labels, index=clips.index) if not isinstance(labels, pd.Series) else labels
    truth = attribute_groups(clips, list(search_roots))
    rows = []
    for mtype, sub in clips.groupby("machine_type", sort=True):
        q = cluster_quality(labels.loc[sub.index], truth.loc[sub.index])
        dom = cluster_quality(sub["domain"], truth.loc[sub.index]) if "domain" in sub else {"ARI": np.nan}
        hidden = not bool(sub["has_attributes"].all()) if "has_attributes" in sub else False
        has_truth = truth.loc[sub.index].notna().any()
        rows.append({"machine_type": mtype,
                     "attributes": "hidden" if hidden else "visible",
                     "truth": ("correspondence CSV" if hidden else "file names") if has_truth else "none",
                     **q, "ARI_domain_only": dom["ARI"]})
    return pd.DataFrame(rows).set_index("machine_type")


def true_attributes(clips: pd.DataFrame, search_roots: Iterable = ()) -> pd.DataFrame:
    """One column per attribute key (``pro``, ``wt``, ...; index aligned with ``clips``):
    visible attributes from the clip table, hidden ones from the correspondence CSVs."""
    from asdlib.data.layout import read_hidden_attributes

    out = pd.Series([{}] * len(clips), index=clips.index, dtype=object)
    for mtype, sub in clips.groupby("machine_type", sort=True):
        if "has_attributes" in sub and not sub["has_attributes"].all():
            truth = read_hidden_attributes(list(search_roots), mtype)
            if truth is not None:
                lut = dict(zip(truth.file_name, truth.true_attributes))
                out.loc[sub.index] = sub["file_name"].map(lambda n: lut.get(n, {})).to_numpy()
            continue
        out.loc[sub.index] = sub["attributes"].map(lambda a: {k: v for k, v in a.items() if k != "extra"}).to_numpy()
    return pd.DataFrame(list(out), index=clips.index)


def evaluate_per_attribute(clips: pd.DataFrame, labels, search_roots: Iterable = ()) -> pd.DataFrame:
    """ARI/NMI of ``labels`` against each attribute key on its own (e.g. gearbox ``pro`` and
    ``wt`` separately): which operating factor do the clusters follow? One row per
    (machine type, attribute); keys constant within a type are skipped."""
    labels = pd.Series(labels, index=clips.index) if not isinstance(labels, pd.Series) else labels
    attrs = true_attributes(clips, search_roots)
    rows = []
    for mtype, sub in clips.groupby("machine_type", sort=True):
        a = attrs.loc[sub.index].dropna(axis=1, how="all")
        for key in a.columns:
            if a[key].nunique() < 2:
                continue
            q = cluster_quality(labels.loc[sub.index], a[key])
            rows.append({"machine_type": mtype, "attribute": key, "n_values": q["n_true"],
                         "ARI": q["ARI"], "NMI": q["NMI"], "n_pred": q["n_pred"]})
    return pd.DataFrame(rows, columns=["machine_type", "attribute", "n_values", "ARI", "NMI", "n_pred"])


def compare_configurations(clips: pd.DataFrame, stats: pd.DataFrame, configurations: dict[str, dict],
                           search_roots: Iterable = (), seeds: Sequence[int] = (0,),
                           base: StatisticalClusters | None = None) -> pd.DataFrame:
    """ARI/NMI and chosen k per machine type for several estimator settings and seeds.

    ``configurations`` maps a name to keyword overrides of ``base`` (default
    ``StatisticalClusters()``), e.g. ``{"k-means": {"method": "kmeans"}}``. One row per
    (configuration, seed, machine type): the evidence behind the default design.
    """
    base = base if base is not None else StatisticalClusters()
    truth = attribute_groups(clips, list(search_roots))
    rows = []
    for name, overrides in configurations.items():
        for seed in seeds:
            est = clone(base).set_params(**{**overrides, "seed": seed})
            for mtype, sub in clips.groupby("machine_type", sort=True):
                model = est.fit(sub, stats)
                q = cluster_quality(model.labels_, truth.loc[sub.index])
                rows.append({"configuration": name, "seed": seed, "machine_type": mtype,
                             "hidden": not bool(sub["has_attributes"].all()) if "has_attributes" in sub else False,
                             "n_clusters": model.n_clusters_, "ARI": q["ARI"], "NMI": q["NMI"]})
    return pd.DataFrame(rows)


#: The statistical-clustering chapter's design comparison: each setting changes one choice of
#: the default estimator (``StatisticalClusters()``); ``benchmarks/cluster_designs.py`` runs
#: the same settings over several seeds for the book to read.
DESIGN_SETTINGS = {"default (tied GMM, PCA 8, equal groups)": {}, "GMM full covariance": {"covariance_type": "full"},
                   "GMM diagonal covariance": {"covariance_type": "diag"}, "k-means": {"method": "kmeans"},
                   "no group weighting": {"group_weighting": "none"}, "PCA 16": {"n_components": 16}}


def summarise_designs(design: pd.DataFrame) -> pd.DataFrame:
    """``compare_configurations`` rows -> one row per configuration: mean ARI over all types
    and over the hidden-attribute types, the spread of a type's ARI between seeds (mean over
    types of the per-type std; NaN with one seed) and the mean chosen k."""
    return design.groupby("configuration", sort=False).apply(lambda d: pd.Series({
        "ARI all types": d.ARI.mean(), "ARI hidden types": d.ARI[d.hidden].mean(),
        "ARI sd over seeds": d.groupby("machine_type").ARI.std().mean(), "mean k": d.n_clusters.mean(),
        "seeds": d.seed.nunique()}))


# --------------------------------------------------------------------------- which groups matter
def _loo_knn_accuracy(X: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-NN accuracy: how well the statistics alone predict the true group,
    whatever a clustering makes of them. Columns are standardised over all rows first (a
    negligible leak next to re-fitting the scaler 200 times); ties go to the nearer class."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if len(np.unique(y)) < 2 or len(y) <= k:
        return np.nan
    std = X.std(axis=0)
    Xs = (X - X.mean(axis=0)) / np.where(std > 1e-12, std, 1.0)
    sq = (Xs ** 2).sum(axis=1)
    D = sq[:, None] + sq[None, :] - 2.0 * Xs @ Xs.T
    np.fill_diagonal(D, np.inf)  # leave the clip itself out
    nn = np.argsort(D, axis=1, kind="stable")[:, :k]
    classes, yi = np.unique(y, return_inverse=True)
    correct = 0
    for i, row in enumerate(nn):
        votes = np.bincount(yi[row], minlength=len(classes)).astype(float)
        votes[yi[row]] += 1e-3 / (1 + np.arange(k))  # tie-break by rank
        correct += int(np.argmax(votes) == yi[i])
    return correct / len(y)


def group_ablation(clips: pd.DataFrame, truth: pd.Series, stats: pd.DataFrame,
                   groups: Sequence[str] = DEFAULT_GROUPS, estimator: StatisticalClusters | None = None,
                   variants: Sequence[str] = ("only", "without"), n_clusters: int | str = "same",
                   knn: bool = True) -> pd.DataFrame:
    """Which statistic groups carry the attribute information?

    For every machine type (fitted on its ``clips``, normally the normal train clips) and
    every variant -- all groups, each group alone (``only``), all but one (``without``) --
    fit the clusters and score them against ``truth`` (ARI, NMI). ``n_clusters="same"``
    (default) keeps the number of clusters the all-groups fit chose, so variants differ only
    in their statistics (and it is 15x faster than re-selecting); ``"auto"`` re-selects; an
    integer fixes it for every variant.
    With ``knn=True`` also the leave-one-out 5-NN accuracy of predicting the true group of
    the *source* clips from those statistics (``knn_acc``; chance ``knn_chance`` = the
    majority share): information present whether or not a clustering finds it.
    """
    groups = check_groups(groups)
    est = estimator if estimator is not None else StatisticalClusters()
    configs: list[tuple[str, tuple[str, ...]]] = [("all", groups)]
    if "only" in variants:
        configs += [(f"only {g}", (g,)) for g in groups]
    if "without" in variants and len(groups) > 1:
        configs += [(f"without {g}", tuple(x for x in groups if x != g)) for g in groups]
    rows = []
    no_truth = [m for m, sub in clips.groupby("machine_type", sort=True) if truth.loc[sub.index].isna().all()]
    if no_truth:
        warnings.warn(f"group_ablation: no attribute truth for {no_truth}; these types are left out "
                      "(pass the dataset root / ground-truth folder as search roots)", stacklevel=2)
    for mtype, sub in clips.groupby("machine_type", sort=True):
        t = truth.loc[sub.index]
        if t.isna().all():
            continue
        src = (sub["domain"] != "target").to_numpy() & t.notna().to_numpy()
        k = None if n_clusters in ("same", "auto") else int(n_clusters)
        for name, gs in configs:
            params = {"groups": gs}
            if k is not None:
                params["n_clusters"] = k
            model = clone(est).set_params(**params).fit(sub, stats)
            if name == "all" and n_clusters == "same":
                k = model.n_source_clusters_
            row = {"machine_type": mtype, "variant": name, "n_clusters": model.n_clusters_,
                   **{q: v for q, v in cluster_quality(model.labels_, t).items() if q in ("ARI", "NMI")}}
            if knn:
                X = stats.loc[sub.index[src], group_columns(stats.columns, gs)].to_numpy()
                y = t[src].astype(str).to_numpy()
                row["knn_acc"] = _loo_knn_accuracy(X, y)
                row["knn_chance"] = float(pd.Series(y).value_counts(normalize=True).max())
            rows.append(row)
    return pd.DataFrame(rows)
