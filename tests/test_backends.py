"""Back ends for the domain shift: brute-force definitions, leave-one-out, train-only statistics,
k-means training scores out of fold, the registry, and ``compare_backends`` on a tiny trained system."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from asdlib.systems.backends import (BACKENDS, DomainStandardisedKnnBackend, KMeansTargetBackend, KnnBackend,
                                     LocalDensityKnnBackend, PooledKnnBackend, fold_of_each, make_backend)

pytestmark = pytest.mark.training  # trains networks or runs notebooks: left out of `make check`

NEW = [LocalDensityKnnBackend, DomainStandardisedKnnBackend, PooledKnnBackend]


# --------------------------------------------------------------------------- brute-force definitions
def _d(u, v):
    return 1.0 - float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))


def _knn(x, bank, k):
    return float(np.mean(sorted(_d(x, b) for b in bank)[:k]))


def _density(x, bank):
    """d(x, b_j*) / min_{l != j*} d(b_j*, b_l), j* the nearest member."""
    j = int(np.argmin([_d(x, b) for b in bank]))
    radius = min(_d(bank[j], b) for l, b in enumerate(bank) if l != j)
    return max(_d(x, bank[j]), 0.0) / radius


def _standardised(x, bank, k):
    """(d_kNN(x, B) - mean_j delta_j) / std_j delta_j, delta_j = d_kNN(b_j, B without b_j)."""
    delta = [_knn(b, [c for l, c in enumerate(bank) if l != j], k) for j, b in enumerate(bank)]
    return (_knn(x, bank, k) - np.mean(delta)) / np.std(delta)


def _brute(kind, x, mtype, X, clips, k=1):
    """The score of embedding ``x`` of type ``mtype`` against the train clips ``(X, clips)``."""
    banks = {}
    for d in ("source", "target"):
        rows = np.flatnonzero((clips.machine_type == mtype) & (clips.domain == d))
        key = "pooled" if kind == "pooled" else d
        banks.setdefault(key, []).extend(X[r] for r in rows)
    per_bank = {"density": lambda b: _density(x, b), "standardised": lambda b: _standardised(x, b, k),
                "pooled": lambda b: _knn(x, b, k), "knn": lambda b: _knn(x, b, k)}[kind]
    return min(per_bank(b) for b in banks.values() if len(b))


def _shifted_banks(seed=0, n_source=12, n_target=5, dim=6):
    """Two types; per type a tight source cloud and a wide target cloud around other centres."""
    rng = np.random.default_rng(seed)
    X, rows = [], []
    for mtype in ("a", "b"):
        for domain, n, spread in (("source", n_source, 0.3), ("target", n_target, 1.5)):
            centre = rng.normal(size=dim) * 3
            X.append(centre + spread * rng.normal(size=(n, dim)))
            rows += [{"machine_type": mtype, "domain": domain}] * n
    return np.vstack(X), pd.DataFrame(rows)


def _test_clips(seed=1, n=12, dim=6):
    rng = np.random.default_rng(seed)
    clips = pd.DataFrame({"machine_type": rng.choice(["a", "b"], n), "domain": rng.choice(["source", "target"], n)})
    return rng.normal(size=(n, dim)) * 2, clips


def _backend(kind, k=1):
    return {"density": lambda: LocalDensityKnnBackend(), "standardised": lambda: DomainStandardisedKnnBackend(k=k),
            "pooled": lambda: PooledKnnBackend(k=k), "knn": lambda: KnnBackend(k=k)}[kind]()


CASES = [("density", 1), ("standardised", 1), ("standardised", 2), ("standardised", 4), ("pooled", 1), ("pooled", 2)]


# --------------------------------------------------------------------------- definitions
@pytest.mark.parametrize("kind,k", CASES)
def test_new_backends_equal_their_brute_force_definition(kind, k):
    X, clips = _shifted_banks()
    Y, test = _test_clips()
    backend = _backend(kind, k).fit(X, clips)
    got = backend.score(Y, test)
    want = [_brute(kind, Y[i], test.machine_type[i], X, clips, k) for i in range(len(test))]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert backend.name == kind


@pytest.mark.parametrize("kind,k", CASES + [("knn", 1), ("knn", 2)])
def test_train_scores_are_leave_one_out(kind, k):
    """A train clip's score = its score by the backend fitted without it (bank statistics included)."""
    X, clips = _shifted_banks(seed=2, n_source=9, n_target=4)
    loo = _backend(kind, k).fit(X, clips).train_scores()
    for i in range(len(clips)):
        keep = np.arange(len(clips)) != i
        rest_X, rest = X[keep], clips[keep].reset_index(drop=True)
        refit = _backend(kind, k).fit(rest_X, rest).score(X[i:i + 1], clips.iloc[[i]])[0]
        assert loo[i] == pytest.approx(refit, rel=1e-9, abs=1e-12), i
        assert loo[i] == pytest.approx(_brute(kind, X[i], clips.machine_type[i], rest_X, rest, k), rel=1e-9, abs=1e-12)
        # the clip itself would be its own nearest neighbour at distance 0
        assert loo[i] != pytest.approx(_backend(kind, k).fit(X, clips).score(X[i:i + 1], clips.iloc[[i]])[0])


def test_the_two_banks_really_differ_in_spread():
    """The test data are what the domain-shift backends are for: the target bank is wider."""
    X, clips = _shifted_banks()
    spread = {d: np.mean(DomainStandardisedKnnBackend().fit(X, clips).stats_["a"][d][0]) for d in ("source", "target")}
    assert spread["target"] > 2 * spread["source"]


@pytest.mark.parametrize("cls", [LocalDensityKnnBackend, DomainStandardisedKnnBackend])
def test_leave_one_out_with_a_bank_of_two_uses_the_other_bank(cls):
    X, clips = _shifted_banks(n_target=2)
    backend = cls().fit(X, clips)
    loo = backend.train_scores()
    target = np.flatnonzero(clips.domain == "target")
    for i in target:  # its target bank keeps one member: no spread, so the source bank scores it
        keep = np.arange(len(clips)) != i
        source_only = clips[keep & (clips.domain == "source").to_numpy()]
        assert loo[i] == pytest.approx(_brute(cls.name, X[i], clips.machine_type[i], X[source_only.index],
                                              source_only.reset_index(drop=True)))


@pytest.mark.parametrize("cls", [LocalDensityKnnBackend, DomainStandardisedKnnBackend])
def test_a_bank_of_one_clip_is_refused(cls):
    X, clips = _shifted_banks(n_target=1)
    with pytest.raises(ValueError, match="target bank of a has 1 clip"):
        cls().fit(X, clips)


def test_zero_distances_are_guarded():
    """Duplicate bank members: the own-neighbour distance is 0; the ratio stays finite."""
    X = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    clips = pd.DataFrame({"machine_type": "a", "domain": "source"}, index=range(4))
    b = LocalDensityKnnBackend(eps=1e-6).fit(X, clips)
    s = b.score(np.array([[1.0, 0, 0], [1.0, 1e-3, 0]]), clips.iloc[:2])
    assert s[0] == 0.0 and np.isfinite(s[1]) and s[1] > 0
    assert np.all(np.isfinite(b.train_scores()))
    same = DomainStandardisedKnnBackend().fit(np.ones((3, 2)), clips.iloc[:3])  # every delta 0: std 0
    assert np.all(np.isfinite(same.score(np.array([[1.0, 2.0]]), clips.iloc[:1])))


# --------------------------------------------------------------------------- train statistics only
@pytest.mark.parametrize("cls", NEW + [KnnBackend])
def test_scores_do_not_depend_on_the_other_test_clips(cls):
    X, clips = _shifted_banks()
    Y, test = _test_clips(n=20)
    backend = cls().fit(X, clips)
    with_first = backend.score(Y, test)[:8]
    other = np.r_[np.arange(8), np.arange(14, 20)]  # the same 8 clips beside other test clips
    with_other = backend.score(Y[other] * 1.0, test.iloc[other].reset_index(drop=True))[:8]
    np.testing.assert_allclose(with_first, with_other, rtol=1e-12, atol=1e-15)
    alone = np.array([backend.score(Y[i:i + 1], test.iloc[[i]])[0] for i in range(8)])
    np.testing.assert_allclose(with_first, alone, rtol=1e-12, atol=1e-15)


def test_standardised_backend_keeps_train_statistics_only():
    X, clips = _shifted_banks()
    backend = DomainStandardisedKnnBackend().fit(X, clips)
    before = {t: {b: (s[0], s[1]) for b, s in banks.items()} for t, banks in backend.stats_.items()}
    Y, test = _test_clips(n=30)
    backend.score(Y, test)
    assert {t: {b: (s[0], s[1]) for b, s in banks.items()} for t, banks in backend.stats_.items()} == before


# --------------------------------------------------------------------------- pooled vs separate banks
def test_pooled_with_one_domain_equals_knn():
    X, clips = _shifted_banks()
    source = (clips.domain == "source").to_numpy()
    X1, one = X[source], clips[source].reset_index(drop=True)
    Y, test = _test_clips()
    for k in (1, 3):
        pooled, knn = PooledKnnBackend(k).fit(X1, one), KnnBackend(k).fit(X1, one)
        np.testing.assert_array_equal(pooled.score(Y, test), knn.score(Y, test))
        np.testing.assert_array_equal(pooled.train_scores(), knn.train_scores())


def test_pooled_differs_from_separate_banks_only_through_k():
    """With k = 1 min over banks = min over the union; with k > 1 they differ."""
    X, clips = _shifted_banks()
    Y, test = _test_clips()
    np.testing.assert_allclose(PooledKnnBackend(1).fit(X, clips).score(Y, test),
                               KnnBackend(1).fit(X, clips).score(Y, test), rtol=1e-12)
    assert not np.allclose(PooledKnnBackend(3).fit(X, clips).score(Y, test),
                           KnnBackend(3).fit(X, clips).score(Y, test))


# --------------------------------------------------------------------------- k-means: training scores out of fold
def test_folds_are_a_balanced_seeded_partition():
    folds = fold_of_each(23, 10, np.random.default_rng(0))
    assert sorted(np.bincount(folds).tolist()) == [2] * 7 + [3] * 3  # 23 clips: sizes differ by at most one
    np.testing.assert_array_equal(folds, fold_of_each(23, 10, np.random.default_rng(0)))
    assert sorted(fold_of_each(3, 10, np.random.default_rng(0)).tolist()) == [0, 1, 2]  # fewer clips than folds


def test_kmeans_source_train_scores_out_of_fold_equal_a_refit_without_the_fold():
    """A source train clip's score = its score by the back end fitted without its fold's clips;
    a target train clip's = its score by the back end fitted without it (the centres are the same)."""
    X, clips = _shifted_banks(seed=3, n_source=15, n_target=4)
    backend = KMeansTargetBackend(n_clusters=4, seed=0, n_folds=5).fit(X, clips)
    oof = backend.train_scores()
    np.testing.assert_array_equal(oof, backend.train_scores_out_of_fold())  # the default
    for mtype in ("a", "b"):
        source = np.flatnonzero((clips.machine_type == mtype) & (clips.domain == "source"))
        folds = backend.source_folds(mtype)
        assert len(folds) == 15 and np.bincount(folds).tolist() == [3] * 5
        for fold in range(5):
            keep = ~np.isin(np.arange(len(clips)), source[folds == fold])
            refit = KMeansTargetBackend(n_clusters=4, seed=0).fit(X[keep], clips[keep].reset_index(drop=True))
            for i in source[folds == fold]:
                assert oof[i] == pytest.approx(refit.score(X[i:i + 1], clips.iloc[[i]])[0], rel=1e-12, abs=1e-14)
        for i in np.flatnonzero((clips.machine_type == mtype) & (clips.domain == "target")):
            keep = np.arange(len(clips)) != i
            refit = KMeansTargetBackend(n_clusters=4, seed=0).fit(X[keep], clips[keep].reset_index(drop=True))
            assert oof[i] == pytest.approx(refit.score(X[i:i + 1], clips.iloc[[i]])[0], rel=1e-12, abs=1e-14)


def test_kmeans_in_sample_scores_are_biased_low_and_test_scores_do_not_change():
    X, clips = _shifted_banks(seed=4, n_source=20, n_target=4)
    Y, test = _test_clips(n=20)
    oof = KMeansTargetBackend(n_clusters=16, seed=1).fit(X, clips)
    inside = KMeansTargetBackend(n_clusters=16, seed=1, source_train_scores="in_sample").fit(X, clips)
    np.testing.assert_array_equal(oof.score(Y, test), inside.score(Y, test))  # the same centres score test clips
    source = (clips.domain == "source").to_numpy()
    # 16 centres over 20 clips: most clips are a centre of their own, at distance ~0 in-sample
    assert np.median(inside.train_scores()[source]) < 1e-9 < np.median(oof.train_scores()[source])
    np.testing.assert_array_equal(inside.train_scores(), oof.train_scores_in_sample())
    target = ~source  # target clips: left out of their own entry either way
    np.testing.assert_array_equal(inside.train_scores()[target], oof.train_scores()[target])
    # seeded: the same settings give the same scores; folds of a type do not depend on the other types
    again = KMeansTargetBackend(n_clusters=16, seed=1).fit(X, clips)
    np.testing.assert_array_equal(again.train_scores(), oof.train_scores())
    a = (clips.machine_type == "a").to_numpy()
    alone = KMeansTargetBackend(n_clusters=16, seed=1).fit(X[a], clips[a].reset_index(drop=True))
    np.testing.assert_array_equal(alone.train_scores(), oof.train_scores()[a])


def test_kmeans_settings_are_checked_and_a_lone_source_clip_is_named():
    with pytest.raises(ValueError, match="source_train_scores must be one of"):
        KMeansTargetBackend(source_train_scores="loo")
    with pytest.raises(ValueError, match="n_folds must be >= 2"):
        KMeansTargetBackend(n_folds=1)
    X = np.eye(3)
    one = pd.DataFrame({"machine_type": ["a", "b", "b"], "domain": ["source", "source", "source"]})
    backend = KMeansTargetBackend(n_clusters=2).fit(X, one)
    with pytest.raises(ValueError, match="a has a train clip with no bank entry left"):
        backend.train_scores()
    assert backend.train_scores_in_sample()[0] == pytest.approx(0.0, abs=1e-12)  # its own centre


# --------------------------------------------------------------------------- registry
def test_registry_and_make_backend():
    assert set(BACKENDS) == {"knn", "kmeans", "density", "standardised", "pooled"}
    assert make_backend("knn", k=2).k == 2
    assert isinstance(make_backend("standardised"), DomainStandardisedKnnBackend)
    assert all(cls.reads == "embedding" for cls in BACKENDS.values())
    with pytest.raises(ValueError, match="unknown backend 'lof'.*knn, kmeans, density, standardised, pooled"):
        make_backend("lof")


# --------------------------------------------------------------------------- on a trained system
def test_compare_backends_on_a_tiny_trained_system(two_type_tones):
    from asdlib.evaluation import metrics
    from asdlib.systems.classifier import ClassifierSystem, ClassifierSystemConfig

    clips = two_type_tones
    cfg = ClassifierSystemConfig.for_profile("ci", label_source="attribute", crop_seconds=0.5, batch_size=8,
                                             epochs=3, embedding_dim=32, num_threads=1)
    det = ClassifierSystem(cfg, progress=False).fit(clips[clips.split == "train"])
    table = det.compare_backends(clips)
    assert list(table.columns) == ["backend", "machine_type", "AUC-s", "AUC-t", "pAUC", "official",
                                   "within source", "within target", "target above source"]
    types = sorted(clips.machine_type.unique()) + ["Total"]
    for name in BACKENDS:
        assert table[table.backend == name].machine_type.tolist() == types
    values = table[["AUC-s", "AUC-t", "pAUC", "official"]].to_numpy()
    finite = values[~np.isnan(values)]
    assert finite.size == len(table) * 3 + len(BACKENDS) and np.all((finite >= 0) & (finite <= 100))
    # the system's own knn backend, evaluated the usual way, gives the same numbers
    test = clips[clips.split == "test"].reset_index(drop=True)
    own = metrics.evaluate(test.assign(score=det.score(test, backend="knn")))
    knn = table[table.backend == "knn"].set_index("machine_type")
    np.testing.assert_allclose(knn[["AUC-s", "AUC-t", "pAUC"]].to_numpy(),
                               100 * own[["AUC-s", "AUC-t", "pAUC"]].to_numpy())
    # a subset, in the order asked; or labelled backends with other settings
    assert det.compare_backends(clips, ["pooled", "density"]).backend.unique().tolist() == ["pooled", "density"]
    assert det.compare_backends(clips, {"knn k=3": KnnBackend(3)}).backend.unique().tolist() == ["knn k=3"]
    with pytest.raises(ValueError, match="unknown backend"):
        det.compare_backends(clips, ["probability"])
