"""Systems 1 and 2: losses by hand, kNN banks by brute force, label sources, a short training."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from asdlib import data
from asdlib.evaluation import metrics
from asdlib.systems.backends import KnnBackend, ProbabilityBackend
from asdlib.features.crops import covering_crops
from asdlib.book.results import load_embeddings, transfer_check
from asdlib.systems.classifier import ClassifierSystem, ClassifierSystemConfig
from asdlib.systems.embedding import run_system
from asdlib.systems.labels import AttributeLabelSource, DomainLabelSource, PseudoLabelSource, make_label_source
from asdlib.models.losses import ArcMarginHead, supervised_contrastive_loss
from asdlib.models.stgram import EncoderConfig, STgramEncoder

pytestmark = pytest.mark.training  # trains networks or runs notebooks: left out of `make check`



# --------------------------------------------------------------------------- losses
def test_supcon_equals_hand_computed_value():
    # z0 = (1, 0), z1 = (0, 1), z2 = (-1, 0) after normalisation; labels 0, 0, 1; tau = 1.
    # similarities: s01 = 0, s02 = -1, s12 = 0.
    # anchor 0 (positive 1): -log(e^0 / (e^0 + e^-1)) = log(1 + e^-1)
    # anchor 1 (positive 0): -log(e^0 / (e^0 + e^0))  = log 2
    # anchor 2: no positive -> left out.  L = (log(1 + e^-1) + log 2) / 2
    emb = torch.tensor([[2.0, 0.0], [0.0, 0.5], [-3.0, 0.0]])
    labels = torch.tensor([0, 0, 1])
    expected = (math.log(1 + math.exp(-1)) + math.log(2)) / 2
    assert supervised_contrastive_loss(emb, labels, temperature=1.0).item() == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(0.5032044, abs=1e-6)
    # temperature 0.5 doubles every similarity: anchor 0 -> log(1 + e^-2), anchor 1 -> log 2
    expected_half = (math.log(1 + math.exp(-2)) + math.log(2)) / 2
    assert supervised_contrastive_loss(emb, labels, temperature=0.5).item() == pytest.approx(expected_half, abs=1e-6)


def test_supcon_without_positives_is_zero_and_keeps_gradient():
    emb = torch.randn(4, 3, requires_grad=True)
    loss = supervised_contrastive_loss(emb, torch.arange(4), 0.1)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.all(emb.grad == 0)


def test_arcface_adds_the_margin_to_the_true_class_only():
    head = ArcMarginHead(2, 3, margin=0.7, scale=30.0)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
    theta = 0.3
    emb = torch.tensor([[math.cos(theta), math.sin(theta)]])
    free = head.logits(emb)[0]
    assert free.tolist() == pytest.approx([30 * math.cos(theta), 30 * math.sin(theta), -30 * math.cos(theta)], abs=1e-4)
    with_margin = head(emb, torch.tensor([0]))[0]
    assert with_margin[0].item() == pytest.approx(30 * math.cos(theta + 0.7), abs=1e-4)
    assert with_margin[1:].tolist() == pytest.approx(free[1:].tolist(), abs=1e-5)


def test_encoder_shapes_and_length_independence():
    enc = STgramEncoder(EncoderConfig.of_size("compact", embedding_dim=16)).eval()
    with torch.no_grad():
        for n in (8000, 16000, 40000):
            assert enc(torch.randn(2, n)).shape == (2, 16)
        spec = enc.spectrograms(torch.randn(1, 16000))
    assert spec.shape == (1, 2, 128, 1 + 16000 // 512)  # log-mel and Tgram on one frame grid


def test_covering_crops_cover_the_whole_clip():
    x = np.arange(10.0)
    crops = covering_crops(x, 4)
    assert crops.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [6, 7, 8, 9]]
    assert covering_crops(np.arange(3.0), 4).tolist() == [[0, 1, 2, 0]]  # short clip repeated


# --------------------------------------------------------------------------- backends
def _bank_table(rng, n_per=(7, 3), types=("a", "b")):
    rows = []
    for t in types:
        for d, n in zip(("source", "target"), n_per):
            rows += [{"machine_type": t, "domain": d}] * n
    return pd.DataFrame(rows)


def _cos_dist(u, v):
    return 1.0 - float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))


@pytest.mark.parametrize("k", [1, 2])
def test_knn_min_over_banks_equals_brute_force(k):
    rng = np.random.default_rng(0)
    train = _bank_table(rng)
    X = rng.normal(size=(len(train), 5))
    test = pd.DataFrame({"machine_type": ["a", "b", "a", "b", "a"],
                         "domain": ["source", "target", "target", "source", "source"]})
    Y = rng.normal(size=(len(test), 5))
    backend = KnnBackend(k=k).fit(X, train)
    got = backend.score(Y, test)
    for i, row in test.iterrows():
        per_bank = []
        for d in ("source", "target"):
            members = np.flatnonzero((train.machine_type == row.machine_type) & (train.domain == d))
            dists = sorted(_cos_dist(Y[i], X[j]) for j in members)
            per_bank.append(np.mean(dists[:k]))
        assert got[i] == pytest.approx(min(per_bank), abs=1e-12)
    # leave-one-out train scores: a clip is never its own neighbour
    loo = backend.train_scores()
    for i, row in train.iterrows():
        per_bank = []
        for d in ("source", "target"):
            same = np.flatnonzero((train.machine_type == row.machine_type) & (train.domain == d))
            members = [j for j in same if j != i]
            dists = sorted(_cos_dist(X[i], X[j]) for j in members)
            per_bank.append(np.mean(dists[:k]))
        assert loo[i] == pytest.approx(min(per_bank), abs=1e-12)


def test_knn_type_without_target_bank_and_unknown_type():
    train = pd.DataFrame({"machine_type": ["a"] * 4, "domain": ["source"] * 4})
    X = np.eye(4)
    backend = KnnBackend().fit(X, train)
    assert set(backend.banks_["a"]) == {"source"}
    assert backend.score(np.array([[1.0, 0, 0, 0]]), train.iloc[:1]).tolist() == pytest.approx([0.0])
    with pytest.raises(KeyError, match="no memory bank"):
        backend.score(X[:1], pd.DataFrame({"machine_type": ["zz"], "domain": ["source"]}))


def test_probability_backend_is_minus_log_probability_of_own_type():
    classes = ["a", "a", "b"]  # two classes of type a, one of b
    logits = np.array([[1.0, 2.0, 0.5], [0.0, 0.0, 3.0]])
    clips = pd.DataFrame({"machine_type": ["a", "b"], "domain": ["source", "source"]})
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = [-np.log(p[0, 0] + p[0, 1]), -np.log(p[1, 2])]
    got = ProbabilityBackend(classes).fit(logits, clips).score(logits, clips)
    assert got.tolist() == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------- label sources
def _clip_rows():
    rows = []
    for i, (attrs, dom) in enumerate([({"spd": "1", "mic": "1"}, "source"), ({"spd": "2", "mic": "1"}, "source"),
                                      ({"spd": "3", "mic": "1"}, "target")]):
        rows.append({"path": f"/x/A_{i}.wav", "machine_type": "typeA", "domain": dom, "split": "train",
                     "label": "normal", "attributes": attrs, "has_attributes": True,
                     "attr_string": "_".join(f"{k}_{v}" for k, v in attrs.items())})
    for i, dom in enumerate(["source", "source", "target"]):
        rows.append({"path": f"/x/B_{i}.wav", "machine_type": "typeB", "domain": dom, "split": "train",
                     "label": "normal", "attributes": {}, "has_attributes": False, "attr_string": "noAttribute"})
    return pd.DataFrame(rows)


def test_attribute_source_uses_attributes_or_domain():
    clips = _clip_rows()
    src = AttributeLabelSource().fit(clips)
    assert src.classes(clips).tolist() == ["typeA|spd_1_mic_1", "typeA|spd_2_mic_1", "typeA|spd_3_mic_1",
                                           "typeB|source", "typeB|source", "typeB|target"]
    assert src.classes_ == sorted(set(src.classes(clips)))
    assert src.summary().loc["typeB", "label_kind"] == "domain"
    assert src.summary().loc["typeA", "n_classes"] == 3
    # an anomaly's fault tag ('extra') is not an operating condition
    test = clips.iloc[:1].assign(attributes=[{"spd": "1", "mic": "1", "extra": "damage1"}])
    assert src.classes(test).tolist() == ["typeA|spd_1_mic_1"]


def test_domain_and_precomputed_pseudo_sources():
    clips = _clip_rows()
    assert DomainLabelSource().fit(clips).classes_ == ["typeA|source", "typeA|target", "typeB|source", "typeB|target"]
    pseudo = pd.Series(["c00", "c01", "c00", "c01", "c01", "t00"], index=clips.path)
    src = PseudoLabelSource(precomputed=pseudo).fit(clips)
    assert src.classes(clips).tolist() == ["typeA|c00", "typeA|c01", "typeA|c00", "typeB|c01", "typeB|c01", "typeB|t00"]
    assert src.class_index(clips).tolist() == [0, 1, 0, 2, 2, 3]
    with pytest.raises(KeyError, match="no precomputed label"):
        PseudoLabelSource(precomputed=pseudo.iloc[:3]).fit(clips)
    with pytest.raises(ValueError, match="unknown label source"):
        make_label_source("speed")


def test_attribute_source_on_real_file_names(real_data):
    clips = data.clip_table(real_data / "dcase2023-dev-samples", ["fan", "bearing"])
    train = clips[clips.split == "train"]
    classes = AttributeLabelSource().fit(train).classes(train)
    assert set(classes[train.machine_type == "fan"]) == {"fan|m-n_X"}
    assert all(c.startswith("bearing|vel_") and "_loc_" in c for c in classes[train.machine_type == "bearing"])


def test_system1_and_system2_are_one_class_with_two_label_sources():
    s1, s2 = ClassifierSystem.system1(profile="ci"), ClassifierSystem.system2(profile="ci")
    assert type(s1) is type(s2)
    assert (s1.config.label_source, s2.config.label_source) == ("pseudo", "attribute")
    assert ClassifierSystemConfig().learning_rate == 1e-4 and ClassifierSystemConfig().sample_rate == 16000
    with pytest.raises(ValueError, match="unknown profile"):
        ClassifierSystemConfig.for_profile("huge")


# --------------------------------------------------------------------------- a short training
@pytest.fixture(scope="module")
def tone_clips(two_type_tones):
    return two_type_tones


def _tiny_config(**kw):
    settings = dict(label_source="attribute", crop_seconds=0.5, batch_size=8, epochs=6, embedding_dim=32,
                    num_threads=1)
    return ClassifierSystemConfig.for_profile("ci", **{**settings, **kw})


def test_short_training_beats_chance_on_planted_anomalies(tone_clips, tmp_path):
    det = ClassifierSystem(_tiny_config(), checkpoint_dir=tmp_path / "weights", progress=False)
    runs = run_system(det, tone_clips, tmp_path / "run")
    hist = det.history_
    assert len(hist) == 6 and hist.margin_loss.iloc[-1] < hist.margin_loss.iloc[0]  # it learnt
    assert hist.contrastive_loss.gt(0).all()
    knn = runs["knn"].metrics
    assert knn.loc["Total", "AUC-s"] > 0.8 and knn.loc["Total", "AUC-t"] > 0.8
    # the probability backend is only checked for well-formed scores here: after a few steps
    # on two tone types its class centres are not settled (its value is measured in the book)
    prob = runs["probability"].scores.score
    assert np.isfinite(prob).all() and (prob >= 0).all()
    # official submission files for both backends
    for b in ("knn", "probability"):
        sub = metrics.read_submission(tmp_path / "run" / b / "submission", "toneB")
        assert len(sub) == 24 and set(sub.decision) <= {0, 1}
    # one embeddings.npz per system (not per backend): the network's clip embeddings, rows by file
    frame, emb = load_embeddings(tmp_path, "run")
    assert frame.file_name.tolist() == tone_clips.file_name.tolist() and np.allclose(emb, det.embed(tone_clips))
    # a finished run is loaded from its checkpoint, not retrained, and scores identically
    again = ClassifierSystem(_tiny_config(), checkpoint_dir=tmp_path / "weights", progress=False)
    train = tone_clips[tone_clips.split == "train"]
    again.fit(train)
    assert again.resumed_from_epoch_ == 6
    test = tone_clips[tone_clips.split == "test"]
    assert np.allclose(again.score(test), det.score(test))
    pd.testing.assert_frame_equal(again.history_, det.history_)


def test_resume_continues_an_interrupted_run(tone_clips, tmp_path):
    train = tone_clips[tone_clips.split == "train"]
    straight = ClassifierSystem(_tiny_config(epochs=3), progress=False).fit(train)
    ClassifierSystem(_tiny_config(epochs=2), checkpoint_dir=tmp_path, progress=False).fit(train)  # "interrupted"
    resumed = ClassifierSystem(_tiny_config(epochs=3), checkpoint_dir=tmp_path, progress=False).fit(train)
    assert resumed.resumed_from_epoch_ == 2 and len(resumed.history_) == 3
    # same per-epoch random streams and restored optimizer state: the same network
    assert np.allclose(resumed.embed(train), straight.embed(train), atol=1e-5)
    # one rule for checkpoints that cannot be continued: a longer one, or resume=False, is
    # moved aside with a warning (never overwritten in silence) and training starts afresh
    with pytest.warns(UserWarning, match="more than the 2 asked.*checkpoint.stale.pt"):
        shorter = ClassifierSystem(_tiny_config(epochs=2), checkpoint_dir=tmp_path, progress=False).fit(train)
    assert shorter.resumed_from_epoch_ == 0 and (tmp_path / "checkpoint.stale.pt").is_file()
    with pytest.warns(UserWarning, match="resume=False.*checkpoint.stale-2.pt"):
        ClassifierSystem(_tiny_config(epochs=2), checkpoint_dir=tmp_path, progress=False, resume=False).fit(train)
    with pytest.raises(RuntimeError, match="not fitted"):
        ClassifierSystem(_tiny_config()).score(train)


def test_pseudo_label_source_clusters_each_type(tone_clips):
    train = tone_clips[tone_clips.split == "train"]
    src = PseudoLabelSource(seed=0, k_range=(2, 3)).fit(train)
    classes = src.classes(train)
    assert classes.notna().all()
    assert set(c.split("|")[0] for c in src.classes_) == {"toneA", "toneB"}
    assert all(c.split("|")[1].startswith(("c", "t")) for c in src.classes_)
    # every type gets its own clusters (2 or 3 here), learnt without reading any attribute
    assert src.summary()["n_classes"].between(2, 3).all()
    test = tone_clips[tone_clips.split == "test"]
    assert src.labels(test).notna().all()  # new clips are assigned to the fitted clusters


def test_additional_labels_split_clusters_by_domain(tone_clips):
    train = tone_clips[tone_clips.split == "train"]
    plain = PseudoLabelSource(seed=0, k_range=(2, 3)).fit(train)
    extra = make_label_source("pseudo_domain", seed=0, k_range=(2, 3)).fit(train)
    expected = train.domain + "_" + plain.labels(train)
    assert (extra.labels(train) == expected).all()
    assert set(extra.summary()["label_kind"]) == {"domain x pseudo"}


def test_contrastive_positives_can_be_the_statistical_clusters(tone_clips):
    """System-2 classifies attributes / domains but may contrast by statistical cluster."""
    train = tone_clips[tone_clips.split == "train"].reset_index(drop=True)
    det = ClassifierSystem(_tiny_config(epochs=1, contrastive_labels="statistics"), progress=False).fit(train)
    clusters = det.contrastive_source_.classes(train)
    assert det.contrastive_source_.name == "pseudo"
    # positives follow the clusters, not the classification classes
    same_cluster = clusters.to_numpy()[:, None] == clusters.to_numpy()[None, :]
    same_pos = det.contrastive_labels_[:, None] == det.contrastive_labels_[None, :]
    assert (same_cluster == same_pos).all()
    assert det.history_.contrastive_loss.gt(0).all()
    as_class = ClassifierSystem(_tiny_config(epochs=1), progress=False).fit(train)
    np.testing.assert_array_equal(as_class.contrastive_labels_, as_class.train_labels_)
    with pytest.raises(ValueError, match="contrastive_labels"):
        _tiny_config(contrastive_labels="cluster")


def test_frozen_encoder_on_real_fan_recordings(tone_clips, real_data, tmp_path):
    det = ClassifierSystem(_tiny_config(), progress=False).fit(tone_clips[tone_clips.split == "train"])
    table, scores = transfer_check(det, data.clip_table(real_data / "sensiml-fan", ["fan"]))
    assert len(scores) == 55
    # a sanity check, not a benchmark: every working system separates these almost perfectly
    assert table["AUC (all clips)"].iloc[0] > 90


def test_extra_train_clips_train_the_network_but_are_never_scored(tone_clips, tmp_path):
    """Training on several data roots: toneB's train clips act as the "additional set" of a
    toneA-only evaluation. They add classes to the network; backends, thresholds and the
    evaluation cover toneA only; a type in both tables is refused."""
    main = tone_clips[tone_clips.machine_type == "toneA"]
    extra = tone_clips[(tone_clips.machine_type == "toneB") & (tone_clips.split == "train")]
    alone = ClassifierSystem(_tiny_config(epochs=2), progress=False).fit(main[main.split == "train"])
    det = ClassifierSystem(_tiny_config(epochs=2), checkpoint_dir=tmp_path / "w", progress=False)
    runs = run_system(det, main, tmp_path / "run", extra_train=extra)
    assert det.extra_types_ == ["toneB"]
    assert {c.split("|")[0] for c in det.classes_} == {"toneA", "toneB"}  # toneB's classes were learnt
    assert {c.split("|")[0] for c in alone.classes_} == {"toneA"}
    assert set(det.thresholds_) == {"toneA"}  # backends and thresholds: the evaluated type only
    assert list(runs["knn"].metrics.index) == ["toneA", "Total"]
    assert len(pd.read_csv(tmp_path / "run" / "knn" / "train_scores.csv")) == int((main.split == "train").sum())
    # the extra clips change what is learnt (and so the checkpoint's fingerprint)
    assert det.training_fingerprint(pd.concat([main[main.split == "train"], extra]))["data"] != \
        alone.training_fingerprint(main[main.split == "train"])["data"]
    # the saved system of a chapter scores the extra type too (e.g. the evaluation set of the
    # additional types): backends refitted on both types' train clips, per type, so the
    # evaluated type's scores and threshold are exactly those of the evaluation above
    both = det.transfer(pd.concat([main[main.split == "train"], extra]))
    test_a = main[main.split == "test"]
    np.testing.assert_allclose(both.score(test_a), det.score(test_a))
    assert both.thresholds_["toneA"] == det.thresholds_["toneA"] and set(both.thresholds_) == {"toneA", "toneB"}
    test_b = tone_clips[(tone_clips.machine_type == "toneB") & (tone_clips.split == "test")]
    assert np.isfinite(both.score(test_b)).all()
    with pytest.raises(ValueError, match=r"machine types \['toneA'\] are in both train and extra_train"):
        ClassifierSystem(_tiny_config(epochs=1), progress=False).fit(
            main[main.split == "train"], extra_train=main[main.split == "train"])
    with pytest.raises(ValueError, match="anomalous clips in extra_train"):
        ClassifierSystem(_tiny_config(epochs=1), progress=False).fit(
            main[main.split == "train"], extra_train=tone_clips[(tone_clips.machine_type == "toneB")
                                                                & (tone_clips.label == "anomaly")].assign(split="train"))


def test_target_clips_can_be_oversampled_per_epoch(tone_clips):
    from asdlib.systems.classifier import epoch_pool

    train = tone_clips[tone_clips.split == "train"].reset_index(drop=True)
    n_target = int((train.domain == "target").sum())
    assert n_target > 0
    assert epoch_pool(train, 1).tolist() == list(range(len(train)))  # plain shuffling, as before
    pool = epoch_pool(train, 4)
    assert len(pool) == len(train) + 3 * n_target
    counts = np.bincount(pool, minlength=len(train))
    assert (counts[train.domain == "target"] == 4).all() and (counts[train.domain == "source"] == 1).all()
    with pytest.raises(ValueError, match="target_repeats must be >= 1"):
        _tiny_config(target_repeats=0)
    det = ClassifierSystem(_tiny_config(epochs=1, target_repeats=4), progress=False).fit(train)
    assert len(det.history_) == 1 and np.isfinite(det.history_.loss).all()


def test_without_the_contrastive_loss_training_is_arcface_alone(tone_clips):
    """lambda = 0, the ablation the seed study runs (chapters 03-04 with ablations=True): the loss
    is the margin loss to the last digit, and the same seed with lambda = 1 trains other weights."""
    train = tone_clips[tone_clips.split == "train"].reset_index(drop=True)
    off = ClassifierSystem(_tiny_config(epochs=1, contrastive_weight=0.0), progress=False).fit(train)
    np.testing.assert_allclose(off.history_["loss"], off.history_["margin_loss"], rtol=0, atol=1e-12)
    on = ClassifierSystem(_tiny_config(epochs=1), progress=False).fit(train)
    assert (on.history_["loss"] > on.history_["margin_loss"]).all()
    test = tone_clips[tone_clips.split == "test"]
    assert not np.allclose(off.embed(test), on.embed(test))
