"""System-4 of the seed report (§2.3): Systems 1-3 combined, one set of weights for all types.

The members are fitted systems that already scored every clip: their per-clip test and
training scores (``detect.run_detector`` writes them, ``results.load_scores`` reads them
back), so nothing is retrained. Members score on unrelated scales (a cosine distance of
one network is not a cosine distance of another), so each member's scores are normalised
per machine type with statistics of **that member's training clips of that type only**
(a test clip never moves another clip's normalised score), then averaged::

    members = {"System-1": (test, train), "System-2": (test, train), ...}   # results.load_scores
    ens = ScoreEnsemble(members, normalisation="zscore")                    # or "rank"
    run = detect.run_detector(ens, clips, out_dir)   # submission CSVs, scores, metrics

* ``zscore``: ``(score - mean) / std`` of the member's training scores of the type
  (population std; a type whose training scores are all equal is divided by 1);
* ``rank``: the empirical CDF of the member's training scores of the type at the score:
  the fraction of training scores below it, ties counted half (0.5 = the median normal).

The combination is the weighted mean (equal weights unless ``weights`` is given: one set
for every machine type, as the report chose, since evaluation types differ from
development types). The threshold per type is the baseline's gamma rule
(``detect.gamma_threshold``, 0.9 quantile) on the combined training scores.

What is the report's and what is ours: the report (§2.3) combines Systems 1-3 with one set
of weights for all machine types, "empirically selected", and gives neither the weights nor
how scores are put on one scale. The normalisation (z-score / rank on training clips), the
gamma threshold and equal weights as the default are ours. How a user could select weights
empirically is measured by ``WeightSelection`` (ours): every weight set of a grid on the
simplex (``weight_grid``) scored per machine type on the test clips, then

* **leave one machine type out**: a type is scored with the set that maximises the official
  score (``metrics.official_score``) over the *other* types only, as weights selected on
  development types would be used on unseen evaluation types;
* **selected on the test clips**: the one set with the best official score over all types,
  chosen on the very clips it is scored on (an optimistic bound, not a result).

Each type's normalised scores depend on that type's clips only, so the scores of a held-out
type never reach its own weights (``tests/test_ensemble.py`` perturbs them to check).
``ScoreEnsemble(..., weights_by_type=selection.leave_one_type_out_weights())`` scores with them.
"""

from __future__ import annotations

import itertools
from typing import Mapping

import numpy as np
import pandas as pd

from asdlib.evaluation import metrics
from asdlib.systems.detect import Detector

NORMALISATIONS = ("zscore", "rank")
#: How many missing file names an error message lists.
SHOWN_FILES = 5


def normalise(scores, reference, method: str) -> np.ndarray:
    """``scores`` placed on the scale of ``reference`` (one member's training scores of one
    machine type): ``zscore`` or ``rank`` (see the module docstring)."""
    x = np.asarray(scores, dtype=float)
    ref = np.sort(np.asarray(reference, dtype=float))
    if ref.size == 0:
        raise ValueError("normalising needs at least one training score")
    if method == "zscore":
        std = ref.std()
        return (x - ref.mean()) / (std if std > 0 else 1.0)
    if method == "rank":
        below = np.searchsorted(ref, x, side="left")
        tied = np.searchsorted(ref, x, side="right") - below
        return (below + 0.5 * tied) / ref.size
    raise ValueError(f"unknown normalisation {method!r}; choose one of {list(NORMALISATIONS)}")


def _file_sets(table: pd.DataFrame) -> dict[str, set[str]]:
    return {str(t): set(sub.file_name.astype(str)) for t, sub in table.groupby("machine_type")}


def check_same_clips(tables: Mapping[str, pd.DataFrame], what: str) -> None:
    """Raise a ValueError when the tables (``name -> table with machine_type, file_name``)
    do not hold the same clips per machine type, naming the member and the missing files."""
    names = list(tables)
    ref_name, ref = names[0], _file_sets(tables[names[0]])
    problems = []
    for name in names[1:]:
        sets = _file_sets(tables[name])
        for mtype in sorted(set(ref) | set(sets)):
            for lacking, has, files in ((name, ref_name, ref.get(mtype, set()) - sets.get(mtype, set())),
                                        (ref_name, name, sets.get(mtype, set()) - ref.get(mtype, set()))):
                if files:
                    shown = ", ".join(sorted(files)[:SHOWN_FILES]) + (", ..." if len(files) > SHOWN_FILES else "")
                    problems.append(f"{lacking} lacks {len(files)} {what} clips of {mtype} that {has} has ({shown})")
    if problems:
        raise ValueError("ensemble members scored different clips: " + "; ".join(problems)
                         + ". Members must come from runs on the same data and machine types: re-run the "
                           "chapter of the member that lacks clips on the full dataset.")


class ScoreEnsemble(Detector):
    """Normalise each member's scores per machine type (training clips only), average them.

    ``members``: ``{name: (test scores, train scores)}``, tables with ``file_name``,
    ``machine_type`` and ``score`` (``results.load_scores``). ``weights``: ``{name: weight}``
    for every member, one set for all machine types (default: equal). ``weights_by_type``:
    ``{machine type: {name: weight}}``, a set per type that replaces ``weights`` there (e.g.
    each type's leave-one-type-out selection, ``WeightSelection``). ``fit(train)`` and
    ``score(clips)`` take clip-table rows and look their members' scores up by machine type
    and file name, so ``detect.run_detector`` evaluates and writes the ensemble like any
    detector.
    """

    threshold_rule = "gamma"
    weights_by_type: dict = {}  # ensembles saved before per-type weights existed: one set

    def __init__(self, members: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]], normalisation: str = "zscore",
                 weights: Mapping[str, float] | None = None,
                 weights_by_type: Mapping[str, Mapping[str, float]] | None = None):
        if normalisation not in NORMALISATIONS:
            raise ValueError(f"unknown normalisation {normalisation!r}; choose one of {list(NORMALISATIONS)}")
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least two members, got {list(members)}")
        weights = {name: 1.0 for name in members} if weights is None else dict(weights)
        by_type = {str(t): {n: float(v) for n, v in w.items()} for t, w in (weights_by_type or {}).items()}
        for where, w in [("weights", weights)] + [(f"weights of {t}", w) for t, w in by_type.items()]:
            if set(w) != set(members):
                raise ValueError(f"{where} name {sorted(w)}, the members are {sorted(members)}: give one weight "
                                 "per member")
            if any(v < 0 for v in w.values()) or sum(w.values()) <= 0:
                raise ValueError(f"{where} must be non-negative with a positive sum, got {w}")
        check_same_clips({name: test for name, (test, _) in members.items()}, "test")
        check_same_clips({name: train for name, (_, train) in members.items()}, "train")
        self.members = dict(members)
        self.normalisation = normalisation
        self.weights = weights
        self.weights_by_type = by_type

    def weights_of(self, machine_type: str) -> dict[str, float]:
        """The weight set that combines the members on ``machine_type``."""
        return self.weights_by_type.get(str(machine_type), self.weights)

    def member_scores(self, clips: pd.DataFrame) -> pd.DataFrame:
        """Each member's raw score of every clip (rows in ``clips``' order, one column per member)."""
        keys = pd.MultiIndex.from_arrays([clips["machine_type"].astype(str), clips["file_name"].astype(str)])
        out = {}
        for name, (test, train) in self.members.items():
            both = pd.concat([test, train], ignore_index=True)
            found = pd.Series(both["score"].to_numpy(dtype=float), index=pd.MultiIndex.from_arrays(
                [both["machine_type"].astype(str), both["file_name"].astype(str)]))
            missing = keys[~keys.isin(found.index)]
            if len(missing):
                shown = ", ".join(f"{t}/{f}" for t, f in list(missing)[:SHOWN_FILES])
                raise KeyError(f"member {name} has no score for {len(missing)} clips ({shown}): it ran on other "
                               "data; re-run its chapter on this dataset")
            out[name] = found.reindex(keys).to_numpy()
        return pd.DataFrame(out, index=clips.index)

    def fit(self, train: pd.DataFrame) -> "ScoreEnsemble":
        """Keep each member's training scores per machine type (the normalisation's only
        statistics) and set the thresholds on the combined training scores."""
        self.reference_ = {name: {str(t): sub.score.to_numpy(dtype=float) for t, sub in tr.groupby("machine_type")}
                           for name, (_, tr) in self.members.items()}
        self._set_thresholds(train, self.score(train))
        return self

    def normalised(self, clips: pd.DataFrame) -> pd.DataFrame:
        """Each member's normalised score of every clip (one column per member)."""
        if not hasattr(self, "reference_"):
            raise RuntimeError("ScoreEnsemble.normalised called before fit")
        raw = self.member_scores(clips)
        out = pd.DataFrame(index=clips.index, columns=raw.columns, dtype=float)
        for mtype, rows in clips.groupby(clips["machine_type"].astype(str)).groups.items():
            for name in raw.columns:
                out.loc[rows, name] = normalise(raw.loc[rows, name], self.reference_[name][mtype], self.normalisation)
        return out

    def score(self, clips: pd.DataFrame) -> np.ndarray:
        """The weighted mean of the members' normalised scores (each type with its weights)."""
        z = self.normalised(clips)
        types = clips["machine_type"].astype(str).to_numpy()
        w = np.array([[self.weights_of(t)[name] for name in z.columns] for t in types], dtype=float).reshape(
            len(types), z.shape[1])
        return combine(z.to_numpy(dtype=float), w)


def combine(normalised: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of each row of ``normalised`` (clips x members) with ``weights`` (one set,
    or one row per clip). One formula for scoring and for selecting weights: a sum taken in
    another order rounds differently, and an exact tie broken by rounding moves an AUC."""
    w = np.broadcast_to(np.asarray(weights, dtype=float), normalised.shape)
    return (normalised * w).sum(axis=1) / w.sum(axis=1)


# --------------------------------------------------------------------------- choosing the weights
#: The grid's resolution: every weight a multiple of 1/12, 91 sets for three members. Of the
#: regular grids, the one with steps nearest the 0.1 a person would try (0.083) that holds
#: the report's equal weights (1/3 each; a grid of tenths, 66 sets, misses them); it also
#: holds every member alone and every pair at 1/2, so selection can always fall back on
#: either. A finer grid adds sets whose official scores differ by less than the test set's
#: sampling noise: more candidates to over-fit with, nothing to gain.
GRID_DIVISIONS = 12


def weight_grid(names, divisions: int = GRID_DIVISIONS) -> pd.DataFrame:
    """Every weight set on the simplex whose weights are multiples of ``1 / divisions``: one
    row per set (columns: the member names, rows summing to 1), in a fixed order."""
    names = list(names)
    if len(names) < 2 or int(divisions) < 1:
        raise ValueError(f"a weight grid needs two or more members and divisions >= 1, got {names}, {divisions}")
    rows = [parts for parts in itertools.product(range(int(divisions) + 1), repeat=len(names))
            if sum(parts) == int(divisions)]
    grid = pd.DataFrame(np.array(rows, dtype=float) / int(divisions), columns=names)
    return grid.rename_axis("weight_set")


def _type_metrics(y: np.ndarray, d: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """``metrics.type_metrics``' AUC-s, AUC-t and pAUC, by the vectorised ROC areas the bootstrap
    uses (equal to scikit-learn's, ``tests/test_ensemble.py``), ~100 times faster per call."""
    one = np.ones((1, len(y)))
    out = {}
    for name, which in (("AUC-s", "source"), ("AUC-t", "target")):
        keep = (d == which) | (y == 1)
        out[name] = float(metrics._roc_areas(y[keep], score[keep], one[:, keep])[0])
    out["pAUC"] = float(metrics._roc_areas(y, score, one, metrics.MAX_FPR)[0])
    return out


def _official(per_type: pd.DataFrame) -> float:
    """The official score (harmonic mean of every AUC-s, AUC-t and pAUC) of these type rows."""
    return metrics.official_score(per_type)


class WeightSelection:
    """Choose System-4's weights from a grid by the official score (estimator style).

    ``fit(normalised, test)``: ``normalised`` holds the members' normalised test scores (one
    column per member, rows aligned with ``test``: ``ScoreEnsemble.normalised``), ``test`` the
    clips' ``machine_type``, ``domain`` and ``is_anomaly``. Every weight set of ``grid``
    (default ``weight_grid``) is scored on every type: ``per_set_`` (index weight set x type;
    AUC-s, AUC-t, pAUC). Then

    * ``on_test_``: the set with the best official score over **all** types;
    * ``without_``: ``{type: set}``, the best official score over **the other** types.

    Ties go to the set nearest to equal weights (the report's choice), then the first in the
    grid. A type's row of ``per_set_`` depends on its own clips only, so ``without_[t]`` never
    reads type ``t``'s test scores.
    """

    def __init__(self, grid: pd.DataFrame | None = None, divisions: int = GRID_DIVISIONS):
        self.grid = grid
        self.divisions = int(divisions)

    def fit(self, normalised: pd.DataFrame, test: pd.DataFrame) -> "WeightSelection":
        need = {"machine_type", "domain", "is_anomaly"}
        if not need <= set(test.columns):
            raise ValueError(f"the test table lacks columns {sorted(need - set(test.columns))}")
        if len(normalised) != len(test):
            raise ValueError(f"{len(normalised)} rows of normalised scores for {len(test)} test clips")
        self.grid_ = (self.grid if self.grid is not None else weight_grid(normalised.columns, self.divisions))
        self.grid_ = self.grid_[list(normalised.columns)]
        from asdlib.data.layout import metric_gaps

        Z = normalised.to_numpy(dtype=float)
        types = test["machine_type"].astype(str).to_numpy()
        rows = {}
        # a type whose metrics its clips cannot define (no anomalies, ...) cannot select: left out, as evaluate does
        scorable = [t for t in sorted(set(types)) if not metric_gaps(test[types == t])]
        if len(scorable) < 2:
            raise ValueError(f"selecting weights leaving one type out needs two scorable machine types, got {scorable}")
        for t in scorable:
            sel = types == t
            y, d = test["is_anomaly"].to_numpy()[sel].astype(int), test["domain"].astype(str).to_numpy()[sel]
            for k, w in enumerate(self.grid_.to_numpy()):
                rows[(k, t)] = _type_metrics(y, d, combine(Z[sel], w))
        self.per_set_ = pd.DataFrame.from_dict(rows, orient="index")[metrics.METRIC_COLUMNS]
        self.per_set_.index = pd.MultiIndex.from_tuples(self.per_set_.index, names=["weight_set", "machine_type"])
        self.types_ = scorable
        self.on_test_ = self.select(self.types_)
        self.without_ = {t: self.select([u for u in self.types_ if u != t]) for t in self.types_}
        return self

    def official_by_set(self, types) -> pd.Series:
        """The official score of every weight set over ``types`` (one value per set)."""
        types = list(types)
        if not types:
            raise ValueError("selecting weights needs at least one machine type to score them on")
        part = self.per_set_[self.per_set_.index.get_level_values("machine_type").isin(types)]
        return part.groupby(level="weight_set").apply(_official).rename("official")

    def select(self, types) -> int:
        """The weight set (row of the grid) with the best official score over ``types``."""
        official = self.official_by_set(types)
        equal = np.full(self.grid_.shape[1], 1.0 / self.grid_.shape[1])
        distance = np.linalg.norm(self.grid_.to_numpy() - equal, axis=1)
        order = sorted(official.index, key=lambda k: (-official[k], distance[k], k))
        return int(order[0])

    def weights(self, weight_set: int) -> dict[str, float]:
        return {name: float(w) for name, w in self.grid_.loc[weight_set].items()}

    def on_test_weights(self) -> dict[str, float]:
        """The set selected on the test clips of every type (``ScoreEnsemble(weights=)``)."""
        return self.weights(self.on_test_)

    def leave_one_type_out_weights(self, types=()) -> dict[str, dict[str, float]]:
        """Each type's set, selected on the other types (``ScoreEnsemble(weights_by_type=)``);
        ``types`` the selection did not score (e.g. without labels) get the set selected on
        every scored type: all of those are other types to them."""
        out = {t: self.weights(k) for t, k in self.without_.items()}
        out.update({str(t): self.weights(self.on_test_) for t in types if str(t) not in out})
        return out

    def selected(self) -> pd.DataFrame:
        """One row per type (its leave-one-type-out set, the official score over the other
        types that selected it) and a row ``all types (on test)`` for ``on_test_``."""
        rows = []
        for t, k in self.without_.items():
            others = [u for u in self.types_ if u != t]
            rows.append({"selected for": t, "selected on": ", ".join(others), "weight_set": k, **self.weights(k),
                         "official on the selecting types": self.official_by_set(others)[k]})
        k = self.on_test_
        rows.append({"selected for": "all types (on test)", "selected on": "all types", "weight_set": k,
                     **self.weights(k), "official on the selecting types": self.official_by_set(self.types_)[k]})
        return pd.DataFrame(rows).set_index("selected for")


def select_weights(ensemble: ScoreEnsemble, test: pd.DataFrame, grid: pd.DataFrame | None = None,
                   divisions: int = GRID_DIVISIONS) -> WeightSelection:
    """``WeightSelection`` on a fitted ensemble's normalised scores of the test clips."""
    test = test.reset_index(drop=True)
    return WeightSelection(grid, divisions).fit(ensemble.normalised(test).reset_index(drop=True), test)


# --------------------------------------------------------------------------- System-3's training scores
def kmeans_member_scores(frame: pd.DataFrame, embedding: np.ndarray, clips: pd.DataFrame, n_clusters: int,
                         seed: int, n_folds: int = 10) -> dict[str, pd.DataFrame]:
    """System-3's k-means back end refitted on the clip embeddings its run saved
    (``results.load_embeddings``: ``frame`` with file_name, machine_type, split, and the matrix),
    fitted on the train rows of ``clips`` (for the domains) as its chapter fitted it, so no
    network is needed: ``{"test": test scores, "in_sample": training scores,
    "out_of_fold": training scores}``, tables of file_name, machine_type, score. The test
    scores are the same either way (``KMeansTargetBackend``); compare them with the member's
    saved ones to check the refit reproduces it."""
    from asdlib.systems.backends import KMeansTargetBackend

    order = pd.Series(np.arange(len(frame)), index=pd.MultiIndex.from_frame(
        frame[["machine_type", "file_name"]].astype(str)))
    out = {}
    backend = KMeansTargetBackend(n_clusters, seed=seed, n_folds=n_folds)
    for split in ("train", "test"):
        rows = clips[clips.split == split].reset_index(drop=True)
        keys = pd.MultiIndex.from_frame(rows[["machine_type", "file_name"]].astype(str))
        missing = ~keys.isin(order.index)
        if missing.any():
            raise KeyError(f"{int(missing.sum())} {split} clips have no saved embedding, e.g. "
                           f"{list(keys[missing])[:SHOWN_FILES]}: the embeddings come from a run on other data")
        X = np.asarray(embedding, dtype=float)[order.reindex(keys).to_numpy()]
        table = rows[["file_name", "machine_type"]].copy()
        if split == "train":
            backend.fit(X, rows)
            out["in_sample"] = table.assign(score=backend.train_scores_in_sample())
            out["out_of_fold"] = table.assign(score=backend.train_scores_out_of_fold())
        else:
            out["test"] = table.assign(score=backend.score(X, rows))
    return out


def concatenate_embeddings(embeddings: Mapping[str, tuple[pd.DataFrame, np.ndarray]]) -> tuple[pd.DataFrame, np.ndarray]:
    """The members' clip embeddings side by side, each L2-normalised first so that every
    member weighs the same in a cosine map. ``embeddings``: ``{name: (clips, matrix)}``
    (``results.load_embeddings``); rows follow the first member's clips."""
    names = list(embeddings)
    for split in ("train", "test"):
        check_same_clips({n: f[f["split"] == split] for n, (f, _) in embeddings.items()}, split)
    frame = embeddings[names[0]][0].reset_index(drop=True)
    keys = pd.MultiIndex.from_frame(frame[["machine_type", "file_name"]].astype(str))
    blocks = []
    for name in names:
        f, X = embeddings[name]
        order = pd.Series(np.arange(len(f)), index=pd.MultiIndex.from_frame(f[["machine_type", "file_name"]].astype(str)))
        block = np.asarray(X, dtype=float)[order.reindex(keys).to_numpy()]
        blocks.append(block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12))
    return frame, np.hstack(blocks)
