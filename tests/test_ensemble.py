"""System-4: member scores normalised with training clips only, combined, thresholded, written;
bootstrap confidence intervals; members and embeddings read back from run folders."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from asdlib.systems import detect
from asdlib.evaluation import metrics
from asdlib.book import results
from asdlib.book.runs import RunFolder
from asdlib.systems.embedding import save_embeddings
from asdlib.systems.ensemble import ScoreEnsemble, concatenate_embeddings, normalise


# --------------------------------------------------------------------------- normalisation
def test_zscore_uses_mean_and_population_std_of_the_reference():
    # reference [1, 3]: mean 2, std 1
    assert normalise([5.0, 0.0, 2.0], [1.0, 3.0], "zscore") == pytest.approx([3.0, -2.0, 0.0])
    # all reference scores equal: centred, not scaled
    assert normalise([4.0], [1.0, 1.0, 1.0], "zscore") == pytest.approx([3.0])


def test_rank_is_the_fraction_of_training_scores_below_with_ties_half():
    ref = [1.0, 2.0, 2.0, 4.0]
    assert normalise([0.0, 1.0, 2.0, 3.0, 5.0], ref, "rank") == pytest.approx([0, 0.125, 0.5, 0.75, 1.0])
    with pytest.raises(ValueError, match="unknown normalisation 'minmax'"):
        normalise([1.0], ref, "minmax")


# --------------------------------------------------------------------------- hand-made members
def _clip_rows(mtype: str, split: str, n: int, anomalies: int = 0) -> pd.DataFrame:
    return pd.DataFrame({
        "file_name": [f"section_00_source_{split}_{'anomaly' if i < anomalies else 'normal'}_{i:04d}.wav"
                      for i in range(n)],
        "machine_type": mtype, "section": "00", "split": split,
        "domain": ["source", "target"] * (n // 2) + ["source"] * (n % 2),
        "label": ["anomaly" if i < anomalies else "normal" for i in range(n)],
        "is_anomaly": [int(i < anomalies) for i in range(n)],
    })


def _member(clips: pd.DataFrame, test_scores, train_scores) -> tuple[pd.DataFrame, pd.DataFrame]:
    test = clips[clips.split == "test"].reset_index(drop=True).assign(score=np.asarray(test_scores, dtype=float))
    train = clips[clips.split == "train"].reset_index(drop=True).assign(score=np.asarray(train_scores, dtype=float))
    return test, train


@pytest.fixture
def hand_made():
    """Two types; train scores of m1: a [1, 3, 1, 3] (mean 2, std 1), b [0, 4, 0, 4] (mean 2, std 2);
    of m2: a [10, 30, 10, 30] (mean 20, std 10), b [100, 300, 100, 300] (mean 200, std 100)."""
    clips = pd.concat([_clip_rows("a", "train", 4), _clip_rows("a", "test", 4, anomalies=2),
                       _clip_rows("b", "train", 4), _clip_rows("b", "test", 4, anomalies=2)], ignore_index=True)
    m1 = _member(clips, [4, 2, 2, 1, 6, 2, 2, 0], [1, 3, 1, 3, 0, 4, 0, 4])
    m2 = _member(clips, [10, 20, 20, 30, 400, 200, 200, 100], [10, 30, 10, 30, 100, 300, 100, 300])
    return clips, {"m1": m1, "m2": m2}


def test_zscore_ensemble_on_hand_made_tables(hand_made):
    clips, members = hand_made
    test = clips[clips.split == "test"].reset_index(drop=True)
    ens = ScoreEnsemble(members, "zscore").fit(clips[clips.split == "train"])
    z = ens.normalised(test)
    # first clip of a: m1 (4-2)/1 = 2, m2 (10-20)/10 = -1; first of b: m1 (6-2)/2 = 2, m2 (400-200)/100 = 2
    assert z.loc[0].tolist() == pytest.approx([2.0, -1.0])
    assert z.loc[4].tolist() == pytest.approx([2.0, 2.0])
    assert ens.score(test)[[0, 4]] == pytest.approx([0.5, 2.0])
    # one set of weights for every type: (3 * 2 + 1 * (-1)) / 4
    weighted = ScoreEnsemble(members, "zscore", weights={"m1": 3, "m2": 1}).fit(clips[clips.split == "train"])
    assert weighted.score(test)[[0, 4]] == pytest.approx([1.25, 2.0])


def test_rank_ensemble_on_hand_made_tables(hand_made):
    clips, members = hand_made
    test = clips[clips.split == "test"].reset_index(drop=True)
    ens = ScoreEnsemble(members, "rank").fit(clips[clips.split == "train"])
    # first clip of a: m1 4 is above all of [1, 3, 1, 3] -> 1; m2 10 ties two of [10, 30, 10, 30] -> 0.25
    assert ens.normalised(test).loc[0].tolist() == pytest.approx([1.0, 0.25])
    assert ens.score(test)[0] == pytest.approx(0.625)
    # training clips are placed among their own type's training scores (ties half): 1 -> 0.25, 3 -> 0.75
    assert ens.train_scores_[:4] == pytest.approx([0.25, 0.75, 0.25, 0.75])


def test_test_clips_never_move_another_clips_normalised_score(hand_made):
    clips, members = hand_made
    test = clips[clips.split == "test"].reset_index(drop=True)
    m1_test, m1_train = members["m1"]
    changed = m1_test.copy()
    changed.loc[1:, "score"] = [1e6, -1e6, 7, 8e3, 0, -5, 3e4]  # every other test clip of m1
    for method in ("zscore", "rank"):
        before = ScoreEnsemble(members, method).fit(clips[clips.split == "train"]).normalised(test)
        after = ScoreEnsemble({"m1": (changed, m1_train), "m2": members["m2"]},
                              method).fit(clips[clips.split == "train"]).normalised(test)
        assert after.loc[0, "m1"] == before.loc[0, "m1"]


def test_run_detector_writes_the_ensemble_like_any_system(hand_made, tmp_path):
    clips, members = hand_made
    ens = ScoreEnsemble(members, "zscore")
    run = detect.run_detector(ens, clips, tmp_path)
    for name in ("scores.csv", "train_scores.csv", "metrics.csv", "submission/anomaly_score_a_section_00_test.csv",
                 "submission/decision_result_b_section_00_test.csv"):
        assert (tmp_path / name).is_file(), name
    # threshold per type: the baseline's gamma rule on the combined training scores
    train_a = ens.train_scores_[:4]
    assert ens.thresholds_["a"] == pytest.approx(detect.gamma_threshold(train_a))
    assert run.scores.decision.tolist() == list((run.scores.score > run.scores.machine_type.map(ens.thresholds_))
                                                .astype(int))
    assert pd.read_csv(tmp_path / "train_scores.csv").score.to_numpy() == pytest.approx(ens.train_scores_)


def test_perfect_plus_random_member_ranks_better_than_random():
    rng = np.random.default_rng(0)
    clips = pd.concat([_clip_rows("a", "train", 100), _clip_rows("a", "test", 200, anomalies=100)],
                      ignore_index=True)
    is_anomaly = clips[clips.split == "test"].is_anomaly.to_numpy()
    perfect = _member(clips, rng.uniform(0, 1, 200) + 2 * is_anomaly, rng.uniform(0, 1, 100))
    random = _member(clips, rng.normal(size=200), rng.normal(size=100))
    random_total = metrics.evaluate(random[0]).loc["Total"]
    runs = {method: detect.run_detector(ScoreEnsemble({"perfect": perfect, "random": random}, method), clips)
            for method in ("zscore", "rank")}
    for run in runs.values():
        assert (run.metrics.loc["Total", ["AUC-s", "AUC-t", "pAUC", "official"]] > random_total + 0.1).all()
    # z-scores keep how far above every normal the perfect member puts the anomalies...
    assert runs["zscore"].metrics.loc["Total", "official"] > 0.99
    # ...ranks cap it at 1 (above all training scores), so the random member still reorders
    # anomalies below normals: (u1 + u2) / 2 > (1 + u3) / 2 for 1/6 of the pairs
    assert runs["rank"].metrics.loc["Total", "AUC-t"] == pytest.approx(5 / 6, abs=0.05)


def test_members_with_different_clips_are_refused_by_name(hand_made):
    clips, members = hand_made
    m2_test, m2_train = members["m2"]
    lacking = m2_test.drop(index=[1, 2])
    missing = ", ".join(sorted(m2_test.file_name[[1, 2]]))
    with pytest.raises(ValueError, match=re.escape(f"m2 lacks 2 test clips of a that m1 has ({missing})")):
        ScoreEnsemble({"m1": members["m1"], "m2": (lacking, m2_train)})
    with pytest.raises(ValueError, match=re.escape("m1 lacks 4 train clips of b that m2 has")):
        ScoreEnsemble({"m1": (members["m1"][0], members["m1"][1].query("machine_type == 'a'")), "m2": members["m2"]})
    with pytest.raises(ValueError, match=r"weights name \['m1'\], the members are \['m1', 'm2'\]"):
        ScoreEnsemble(members, weights={"m1": 1.0})


# --------------------------------------------------------------------------- bootstrap
def _scored(score_of) -> pd.DataFrame:
    rows = []
    for mtype in ("a", "b"):
        for domain in ("source", "target"):
            for y in (0, 1):
                for i in range(8):
                    rows.append({"machine_type": mtype, "domain": domain, "is_anomaly": y, "score": score_of(y, i)})
    return pd.DataFrame(rows)


def test_bootstrap_ci_of_perfectly_separated_scores_is_one():
    ci = metrics.bootstrap_ci(_scored(lambda y, i: 10 * y + i), n=200)
    assert set(ci.index.get_level_values("machine_type")) == {"a", "b", "Total"}
    assert ("Total", "official") in ci.index
    assert ci[["value", "low", "high"]].to_numpy() == pytest.approx(np.ones((len(ci), 3)))


def test_bootstrap_ci_of_constant_scores_is_chance():
    ci = metrics.bootstrap_ci(_scored(lambda y, i: 1.0), n=200)
    assert ci[["value", "low", "high"]].to_numpy() == pytest.approx(np.full((len(ci), 3), 0.5))


def test_bootstrap_replicate_areas_equal_sklearn_on_repeated_clips():
    rng = np.random.default_rng(3)
    y = np.r_[0, 1, rng.integers(0, 2, 30)]
    s = rng.integers(0, 5, 32).astype(float)  # many ties
    counts = rng.integers(0, 3, (4, 32))
    counts[:, :2] += 1
    for max_fpr in (None, 0.1):
        got = metrics._roc_areas(y, s, counts, max_fpr)
        for b in range(4):
            idx = np.repeat(np.arange(32), counts[b])
            assert got[b] == pytest.approx(roc_auc_score(y[idx], s[idx], max_fpr=max_fpr), abs=1e-12)


def test_bootstrap_ci_brackets_the_value_and_is_reproducible():
    rng = np.random.default_rng(1)
    table = _scored(lambda y, i: y + rng.normal())
    ci = metrics.bootstrap_ci(table, n=300, seed=5)
    assert (ci.low <= ci.value + 1e-12).all() and (ci.value <= ci.high + 1e-12).all()
    assert (ci.high > ci.low).all()
    pd.testing.assert_frame_equal(ci, metrics.bootstrap_ci(table, n=300, seed=5))


# --------------------------------------------------------------------------- run folders
def test_load_members_names_the_chapter_to_run(hand_made, tmp_path):
    clips, members = hand_made
    data = SimpleNamespace(root=tmp_path / "ci", fingerprint="f" * 16, label="ours, SYNTHETIC ci data",
                           synthetic=True)
    run = RunFolder.open("03_system1", "ci", data, {"classifier": {"backend": "knn"}}, runs_root=tmp_path)
    detect.run_detector(ScoreEnsemble(members), clips, run.root / "system1" / "knn")
    run.finish()
    with pytest.raises(FileNotFoundError, match=re.escape(
            "System-2: no complete run of chapter 04_system2 at profile 'ci' on this data (ours, SYNTHETIC ci "
            "data). Run it first:\n  asd run notebooks/04_system2.py -p profile ci")):
        results.load_members("ci", data, runs_root=tmp_path)
    only_one = {"System-1": results.MEMBER_RUNS["System-1"]}
    loaded, sources = results.load_members("ci", data, members=only_one, runs_root=tmp_path)
    assert sources.loc["System-1", "backend"] == "knn"
    assert len(loaded["System-1"][0]) == 8 and len(loaded["System-1"][1]) == 8


def test_embeddings_round_trip_and_concatenate_aligned_by_file(tmp_path):
    clips = pd.concat([_clip_rows("a", "train", 4), _clip_rows("a", "test", 2)], ignore_index=True)
    vectors = np.arange(12, dtype=float).reshape(6, 2) + 1
    fake = SimpleNamespace(embed=lambda c: vectors[c.index.to_numpy()])
    (tmp_path / "s1").mkdir()
    save_embeddings(fake, clips, tmp_path / "s1" / "embeddings.npz")
    frame, X = results.load_embeddings(tmp_path, "s1")
    assert frame.file_name.tolist() == clips.file_name.tolist() and (X == vectors).all()
    shuffled = frame.iloc[::-1].reset_index(drop=True), 3 * X[::-1]
    both_frame, both = concatenate_embeddings({"s1": (frame, X), "s2": shuffled})
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    assert both == pytest.approx(np.hstack([unit, unit]))  # rows matched by file, each block unit length
    with pytest.raises(FileNotFoundError, match="s9/embeddings.npz does not exist: re-run the chapter"):
        results.load_embeddings(tmp_path, "s9")
