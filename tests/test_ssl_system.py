"""System-3 as a detector: a short training on planted anomalies, labels, text at test time, checkpoints."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from asdlib.systems.labels import AttributeOrPseudoLabelSource
from asdlib.systems.embedding import run_system
from asdlib.systems.ssl import SSLSystem, SSLSystemConfig

pytestmark = pytest.mark.training  # trains networks or runs notebooks: left out of `make check`


def _tiny(**kw) -> SSLSystemConfig:
    return SSLSystemConfig.for_profile("ci", **{"epochs": 6, "batch_size": 8, "network_n_samples": 9600,
                                               "n_centres": 4, **kw})


@pytest.fixture(scope="module")
def fitted(two_type_tones, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ssl")
    det = SSLSystem(_tiny(), checkpoint_dir=folder / "weights", progress=False)
    runs = run_system(det, two_type_tones, folder / "run")
    return det, runs, folder


def test_paper_profile_keeps_the_reports_settings():
    cfg = SSLSystemConfig.for_profile("paper")
    assert cfg.sample_rate == 19200  # report §3.1: upsampled
    assert (cfg.network.n_subclusters, cfg.batch_size, cfg.epochs, cfg.n_centres) == (16, 64, 10, 16)
    assert cfg.network.frequency_attention and cfg.use_text and cfg.featex and cfg.backend == "kmeans"
    small = SSLSystemConfig.for_profile("demo")
    assert small.network.width < 1 and small.profile == "demo"
    with pytest.raises(ValueError, match="test_text"):
        SSLSystemConfig(test_text="maybe")


def test_short_training_ranks_planted_anomalies_above_normals(fitted):
    det, runs, _ = fitted
    hist = det.history_
    assert len(hist) == 6 and hist.main_loss.iloc[-1] < hist.main_loss.iloc[0]  # it learnt
    assert hist.featex_loss.gt(0).all()  # FeatEx's head trained too
    for backend in ("kmeans", "knn"):
        m = runs[backend].metrics
        assert m.loc["Total", "AUC-s"] > 0.8 and m.loc["Total", "AUC-t"] > 0.8, backend
        scores = runs[backend].scores
        gap = scores[scores.is_anomaly == 1].score.median() - scores[scores.is_anomaly == 0].score.median()
        assert gap > 0  # a margin, not a tie


def test_labels_are_attributes_or_domain_by_cluster(fitted, two_type_tones):
    det, _, _ = fitted
    assert isinstance(det.label_source_, AttributeOrPseudoLabelSource)
    train = two_type_tones[two_type_tones.split == "train"]
    labels = det.label_source_.labels(train)
    a = labels[train.machine_type == "toneA"]
    b = labels[train.machine_type == "toneB"]
    assert set(a) == {"spd_1", "spd_2", "spd_3"}  # visible attributes as they are
    assert all(v.startswith(("source_c", "target_c")) for v in b)  # hidden: domain x cluster
    assert set(v.split("_")[0] for v in b[train.domain == "target"]) == {"target"}
    sentences = det.sentences(train.head(3))
    assert all(s.startswith("a recording of a tone A with speed") for s in sentences)


def _hand_made_clips() -> tuple[pd.DataFrame, dict]:
    """fan shows its attributes, valve hides them; valve's statistical clusters given by hand."""
    rows = [("fan", "source", {"spd": "24", "mic": "2"}), ("fan", "target", {"spd": "24", "mic": "2"}),
            ("fan", "source", {"spd": "26", "mic": "2", "extra": "x"}),
            ("valve", "source", {}), ("valve", "target", {}), ("valve", "source", {})]
    clips = pd.DataFrame([{"path": f"/{t}/{i}.wav", "machine_type": t, "domain": d, "attributes": a,
                           "has_attributes": t == "fan", "split": "train", "label": "normal"}
                          for i, (t, d, a) in enumerate(rows)])
    return clips, {"/valve/3.wav": "c00", "/valve/4.wav": "c01", "/valve/5.wav": "c01"}


@pytest.mark.parametrize("label_domain,fan_labels,n_classes", [
    (False, ["spd_24_mic_2", "spd_24_mic_2", "spd_26_mic_2"], 5),  # ours: the attributes alone
    (True, ["source_spd_24_mic_2", "target_spd_24_mic_2", "source_spd_26_mic_2"], 6)])  # Wilkinghoff's
def test_label_domain_splits_attribute_classes_by_domain(label_domain, fan_labels, n_classes):
    clips, clusters = _hand_made_clips()
    config = SSLSystemConfig.for_profile("ci", label_domain=label_domain)
    source = config.make_label_source(precomputed=clusters).fit(clips)
    labels = source.labels(clips)
    assert labels.tolist() == fan_labels + ["source_c00", "target_c01", "source_c01"]  # hidden: domain x cluster
    assert len(source.classes_) == n_classes
    assert ("fan|target_spd_24_mic_2" in source.classes_) == label_domain
    assert source.summary().loc["fan", "label_kind"] == ("domain x attribute" if label_domain else "attribute")
    assert source.pseudo_labels(clips).tolist() == [None] * 3 + ["c00", "c01", "c01"]  # what label text names
    with pytest.raises(ValueError, match="label_domain=True adds the domain"):
        SSLSystemConfig(label_source="pseudo", label_domain=True)


def test_test_text_known_changes_embeddings_but_not_the_network(fitted, two_type_tones):
    det, _, _ = fitted
    train = two_type_tones[two_type_tones.split == "train"].reset_index(drop=True)
    test = two_type_tones[two_type_tones.split == "test"].reset_index(drop=True)
    known = det.with_test_text("known", train)
    assert known.model_ is det.model_ and det.config.test_text == "none"
    np.testing.assert_allclose(known.audio_embedding(test), det.embed(test))
    assert not np.allclose(known.embed(test), det.embed(test))
    assert np.isfinite(known.score(test)).all()


def test_attention_weights_one_gain_per_bin_and_type(fitted, two_type_tones):
    det, _, _ = fitted
    gains = det.attention_weights(two_type_tones[two_type_tones.split == "train"], max_clips=4)
    n_bins = det.config.network.n_fft // 2 + 1
    assert gains.groupby("machine_type").size().tolist() == [n_bins, n_bins]
    assert gains.gain.between(0, 2).all() and gains.frequency_hz.max() == pytest.approx(9600)
    off = SSLSystem(dataclasses.replace(_tiny(epochs=1), network=dataclasses.replace(
        _tiny().network, frequency_attention=False)), progress=False)
    off.fit(two_type_tones[two_type_tones.split == "train"])
    assert off.attention_weights(two_type_tones).empty


def test_finished_run_is_loaded_not_retrained(fitted, two_type_tones):
    det, _, folder = fitted
    train = two_type_tones[two_type_tones.split == "train"]
    again = SSLSystem(_tiny(), checkpoint_dir=folder / "weights", progress=False).fit(train)
    assert again.resumed_from_epoch_ == 6
    test = two_type_tones[two_type_tones.split == "test"]
    np.testing.assert_allclose(again.score(test), det.score(test), rtol=1e-5)


def test_resampled_audio_is_served_from_the_cache(two_type_tones):
    from asdlib.features import crops as audio
    from asdlib.data.layout import load_audio

    path = two_type_tones.path.iloc[0]
    first = audio.clip_audio(path, 19200)
    # equal up to float rounding: the module's training may have resampled (and cached) the clip
    # under one thread, this call resamples under the default thread count
    np.testing.assert_allclose(first, load_audio(path, sr=19200), rtol=0, atol=1e-6)
    assert audio.clip_audio(path, 19200) is first and not first.flags.writeable  # read once, shared
    native = audio.clip_audio(path, 16000)  # the file's own rate: read again, nothing kept
    assert audio.clip_audio(path, 16000) is not native


@pytest.mark.parametrize("switch", ["no_text", "no_featex"])
def test_each_part_can_be_switched_off_and_still_trains(two_type_tones, switch):
    """The ablations the seed study runs (chapter 05 with ablations=True), one epoch each: the
    switched-off part is absent from the network and its loss, the rest trains and scores."""
    cfg = _tiny(epochs=1, **({"use_text": False} if switch == "no_text" else {"featex": False}))
    det = SSLSystem(cfg, progress=False).fit(two_type_tones[two_type_tones.split == "train"])
    if switch == "no_text":
        assert det.model_.fusion is None
    else:
        assert det.model_.featex_head is None and not det.history_.featex_loss.gt(0).any()
    assert det.model_.head is not None and np.isfinite(det.history_.main_loss).all()
    test = two_type_tones[two_type_tones.split == "test"]
    assert np.isfinite(det.score(test)).all()
