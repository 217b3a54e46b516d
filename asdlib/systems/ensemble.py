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
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

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
    for every member, one set for all machine types (default: equal). ``fit(train)`` and
    ``score(clips)`` take clip-table rows and look their members' scores up by machine type
    and file name, so ``detect.run_detector`` evaluates and writes the ensemble like any
    detector.
    """

    threshold_rule = "gamma"

    def __init__(self, members: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]], normalisation: str = "zscore",
                 weights: Mapping[str, float] | None = None):
        if normalisation not in NORMALISATIONS:
            raise ValueError(f"unknown normalisation {normalisation!r}; choose one of {list(NORMALISATIONS)}")
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least two members, got {list(members)}")
        weights = {name: 1.0 for name in members} if weights is None else dict(weights)
        if set(weights) != set(members):
            raise ValueError(f"weights name {sorted(weights)}, the members are {sorted(members)}: give one weight "
                             "per member (one set for all machine types)")
        if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError(f"weights must be non-negative with a positive sum, got {weights}")
        check_same_clips({name: test for name, (test, _) in members.items()}, "test")
        check_same_clips({name: train for name, (_, train) in members.items()}, "train")
        self.members = dict(members)
        self.normalisation = normalisation
        self.weights = weights

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
        """The weighted mean of the members' normalised scores."""
        z = self.normalised(clips)
        w = np.array([self.weights[name] for name in z.columns], dtype=float)
        return z.to_numpy(dtype=float) @ w / w.sum()


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
