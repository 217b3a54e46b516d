"""System-4: member scores normalised with training clips only, combined, thresholded, written;
weights selected leaving one machine type out or on the test clips; bootstrap confidence
intervals; members and embeddings read back from run folders."""

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
from asdlib.systems.ensemble import (ScoreEnsemble, WeightSelection, combine, concatenate_embeddings, normalise,
                                     select_weights, weight_grid)

pytestmark = pytest.mark.training  # trains networks or runs notebooks: left out of `make check`


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


# --------------------------------------------------------------------------- choosing the weights
def test_weight_grid_holds_every_simplex_point_of_the_step():
    grid = weight_grid(["s1", "s2", "s3"])  # multiples of 1/12
    assert len(grid) == 91 and np.allclose(grid.sum(axis=1), 1.0)
    assert ((grid - 1 / 3).abs().max(axis=1) < 1e-12).any()  # the report's equal weights are a candidate
    assert ((grid == 1.0).sum(axis=1) == 1).sum() == 3  # and every member alone
    assert len(weight_grid(["s1", "s2", "s3"], divisions=10)) == 66
    assert weight_grid(["m1", "m2"], divisions=2).to_numpy().tolist() == [[0, 1], [0.5, 0.5], [1, 0]]


def test_per_type_weights_replace_the_common_set_on_their_type(hand_made):
    clips, members = hand_made
    test = clips[clips.split == "test"].reset_index(drop=True)
    ens = ScoreEnsemble(members, "zscore", weights_by_type={"a": {"m1": 1, "m2": 0}}).fit(clips[clips.split == "train"])
    # first clip of a: m1 alone -> 2; first of b: equal weights -> (2 + 2) / 2
    assert ens.score(test)[[0, 4]] == pytest.approx([2.0, 2.0])
    assert ens.weights_of("b") == {"m1": 1.0, "m2": 1.0}
    with pytest.raises(ValueError, match=r"weights of a must be non-negative"):
        ScoreEnsemble(members, weights_by_type={"a": {"m1": -1, "m2": 2}})
    with pytest.raises(ValueError, match=r"weights of a name \['m1'\]"):
        ScoreEnsemble(members, weights_by_type={"a": {"m1": 1}})


PERFECT, INVERTED = [2, 2, 0, 0], [0, 0, 2, 2]  # test clips: source anomaly, target anomaly, source/target normal


def _three_types(m1, m2) -> tuple[pd.DataFrame, dict]:
    """Types a, b, c; each member's training scores [-1, 1, -1, 1] (mean 0, std 1), so z-scores
    are the raw test scores; ``m1``/``m2``: each member's four test scores per type."""
    clips = pd.concat([part for t in "abc" for part in (_clip_rows(t, "train", 4), _clip_rows(t, "test", 4, 2))],
                      ignore_index=True)
    members = {name: _member(clips, [v for t in "abc" for v in scores[t]], [-1, 1] * 6)
               for name, scores in (("m1", m1), ("m2", m2))}
    return clips, members


def _selection(clips, members) -> WeightSelection:
    ens = ScoreEnsemble(members, "zscore").fit(clips[clips.split == "train"])
    return select_weights(ens, clips[clips.split == "test"], weight_grid(list(members), divisions=2))


def test_weights_selected_by_hand():
    """Grid (m1, m2): set 0 = (0, 1), set 1 = (1/2, 1/2), set 2 = (1, 0). m1 ranks every type
    perfectly, m2 inverts every type. Per type: m1 alone -> AUC-s = AUC-t = pAUC = 1; half and
    half -> every clip scores 1, ties: 0.5 each; m2 alone -> AUCs 0 and the McClish pAUC
    0.5 (1 + (0 - 0.005) / (0.1 - 0.005)) = 9/19."""
    clips, members = _three_types({t: PERFECT for t in "abc"}, {t: INVERTED for t in "abc"})
    sel = _selection(clips, members)
    assert sel.per_set_.loc[(2, "a")].tolist() == pytest.approx([1, 1, 1])
    assert sel.per_set_.loc[(1, "a")].tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert sel.per_set_.loc[(0, "a")].tolist() == pytest.approx([0, 0, 9 / 19])
    assert sel.official_by_set(["a", "b"]).tolist() == pytest.approx([0, 0.5, 1], abs=1e-12)
    assert sel.on_test_ == 2 and sel.without_ == {"a": 2, "b": 2, "c": 2}
    assert sel.leave_one_type_out_weights()["c"] == {"m1": 1.0, "m2": 0.0}
    assert sel.leave_one_type_out_weights(types=["d"])["d"] == {"m1": 1.0, "m2": 0.0}  # not scored: all others
    assert sel.selected().loc["all types (on test)", "official on the selecting types"] == pytest.approx(1.0)


def test_a_held_out_types_scores_never_reach_its_own_weights():
    """Turn c around (m1 inverts it, m2 ranks it perfectly): what was selected *for* c stays
    m1 alone (a and b chose it), while the selections that read c move to half and half: the
    official score of either member alone now has a 0 among its AUCs (floored at eps)."""
    clips, members = _three_types({t: PERFECT for t in "abc"}, {t: INVERTED for t in "abc"})
    before = _selection(clips, members)
    clips, turned = _three_types({"a": PERFECT, "b": PERFECT, "c": INVERTED}, {"a": INVERTED, "b": INVERTED,
                                                                                "c": PERFECT})
    after = _selection(clips, turned)
    assert before.without_["c"] == after.without_["c"] == 2
    assert (before.on_test_, after.on_test_) == (2, 1) and (before.without_["a"], after.without_["a"]) == (2, 1)
    # scored with their selected weights: c by m1 alone (inverted), a and b by half and half (ties)
    run = detect.run_detector(ScoreEnsemble(turned, "zscore", weights_by_type=after.leave_one_type_out_weights()),
                              clips)
    assert run.metrics.loc["c", ["AUC-s", "AUC-t", "pAUC"]].tolist() == pytest.approx([0, 0, 9 / 19])
    assert run.metrics.loc["a", ["AUC-s", "AUC-t", "pAUC"]].tolist() == pytest.approx([0.5, 0.5, 0.5])


def test_leave_one_type_out_equals_a_selection_that_never_saw_the_type():
    """Random members on four types: each type's selection is the on-test selection of the other
    types' clips alone, and stays put whatever the held-out type's test scores become."""
    rng = np.random.default_rng(7)
    clips = pd.concat([part for t in "abcd" for part in (_clip_rows(t, "train", 10), _clip_rows(t, "test", 12, 6))],
                      ignore_index=True)
    test_rows = clips[clips.split == "test"].reset_index(drop=True)
    signal = test_rows.is_anomaly.to_numpy()

    def members_with(test_scores):  # fresh training scores: only the test tables are kept below
        return {n: _member(clips, test_scores[n], rng.normal(size=40)) for n in ("s1", "s2", "s3")}

    base = {n: rng.normal(size=len(test_rows)) + w * signal for n, w in (("s1", 1.0), ("s2", 0.5), ("s3", 0.0))}
    members = members_with(base)
    sel = select_weights(ScoreEnsemble(members).fit(clips[clips.split == "train"]), test_rows,
                                       weight_grid(list(members), divisions=4))
    for held in "abcd":
        others = clips[clips.machine_type != held]
        alone = select_weights(ScoreEnsemble({n: tuple(t[t.machine_type != held] for t in m)
                                              for n, m in members.items()}).fit(others[others.split == "train"]),
                               others[others.split == "test"], weight_grid(list(members), divisions=4))
        assert sel.without_[held] == alone.on_test_, held
        rows = (test_rows.machine_type == held).to_numpy()
        for _ in range(3):
            changed = {n: np.where(rows, rng.normal(size=len(rows)) * 10 - 3 * signal, v) for n, v in base.items()}
            moved = {n: (changed_m[0], members[n][1]) for n, changed_m in members_with(changed).items()}
            again = select_weights(ScoreEnsemble(moved).fit(clips[clips.split == "train"]), test_rows,
                                   weight_grid(list(members), divisions=4))
            assert again.without_[held] == sel.without_[held], held


def test_every_weight_set_is_scored_as_evaluate_scores_the_ensemble():
    """The selection's per-type metrics and official scores are ``metrics.evaluate``'s of the
    ensemble scored with that set, ties included (scores on a 0.1 lattice tie often)."""
    rng = np.random.default_rng(2)
    test = pd.concat([_clip_rows(t, "test", 16, 8) for t in "abc"], ignore_index=True)
    Z = pd.DataFrame(np.round(rng.normal(size=(len(test), 3)) + test.is_anomaly.to_numpy()[:, None] * [1, 0.5, 0],
                              1), columns=["s1", "s2", "s3"])
    sel = WeightSelection(divisions=6).fit(Z, test)
    for k, w in sel.grid_.iterrows():
        per_clip = np.tile(w.to_numpy(), (len(test), 1))  # ScoreEnsemble.score: one weight row per clip
        scores = combine(Z.to_numpy(), per_clip)
        np.testing.assert_array_equal(scores, combine(Z.to_numpy(), w.to_numpy()))  # bit for bit
        want = metrics.evaluate(test.assign(score=scores))
        got = sel.per_set_.xs(k, level="weight_set")
        assert got.to_numpy() == pytest.approx(want.drop(index="Total")[metrics.METRIC_COLUMNS].to_numpy(), abs=1e-12)
        assert sel.official_by_set("abc")[k] == pytest.approx(want.loc["Total", "official"], abs=1e-12)


def test_ties_go_to_the_set_nearest_equal_weights():
    clips, members = _three_types({t: PERFECT for t in "abc"}, {t: PERFECT for t in "abc"})  # two equal members
    sel = _selection(clips, members)
    assert sel.official_by_set(["a", "b", "c"]).tolist() == pytest.approx([1, 1, 1])
    assert sel.on_test_ == 1 and set(sel.without_.values()) == {1}


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


def test_system4_takes_the_members_that_exist_and_says_why_one_is_missing(hand_made, tmp_path):
    """A user's one machine at one setting: System-2 has one class and cannot train, so its
    chapter leaves no complete run; System-4 combines Systems 1 and 3 and names the gap."""
    clips, members = hand_made
    data = SimpleNamespace(root=tmp_path / "mine", fingerprint="f" * 16, label="ours, external data (mine)",
                           synthetic=False)
    for chapter, folder in (("03_system1", "system1"), ("05_system3", "system3")):
        run = RunFolder.open(chapter, "ci", data, {"classifier": {"backend": "knn"}}, runs_root=tmp_path)
        detect.run_detector(ScoreEnsemble(members), clips, run.root / folder / "knn")
        run.finish()
    RunFolder.open("04_system2", "ci", data, {"classifier": {"backend": "knn"}}, runs_root=tmp_path)  # it stopped
    found, missing = results.available_members("ci", data, runs_root=tmp_path)
    assert sorted(found) == ["System-1", "System-3"] and list(missing) == ["System-2"]
    assert missing["System-2"].startswith("no complete run of chapter 04_system2 on these data (ours, external data")
    assert f"-p data_root {data.root}" in missing["System-2"]
    loaded, sources = results.load_members("ci", data, runs_root=tmp_path,
                                           members={s: results.MEMBER_RUNS[s] for s in found})
    assert list(loaded) == ["System-1", "System-3"] and set(sources.folder) == {"system1", "system3"}


def test_one_attribute_value_is_clustered_like_a_hidden_type():
    from asdlib.systems.labels import AttributeOrPseudoLabelSource

    n = 6
    train = pd.DataFrame({"machine_type": "fan", "domain": "source", "split": "train", "label": "normal",
                          "has_attributes": True, "attributes": [{"state": "ON"}] * n,
                          "path": [f"fan/train/c{i}.wav" for i in range(n)]})
    clusters = {p: f"c0{i % 2}" for i, p in enumerate(train.path)}  # the clustering's answer, given
    source = AttributeOrPseudoLabelSource(seed=0, precomputed=clusters).fit(train)
    assert source.kinds_ == {"fan": "domain x pseudo"}  # one value ("ON") names no condition to tell apart
    assert sorted(source.labels(train).unique()) == ["source_c00", "source_c01"]
    two = train.assign(attributes=[{"state": "ON"}, {"state": "OFF"}] * (n // 2))
    assert AttributeOrPseudoLabelSource(seed=0, precomputed=clusters).fit(two).kinds_ == {"fan": "attribute"}


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
