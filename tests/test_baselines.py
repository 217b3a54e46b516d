"""The official baselines AE-MSE / AE-MAHALA: fidelity, ranking, closed forms, resumable training.

(The gamma threshold itself is checked against scipy in tests/test_detect.py; here only that
the detectors use it on their own training scores.)
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.spatial.distance
import soundfile as sf
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from asdlib.systems import detect
from asdlib.evaluation import metrics
from asdlib.evaluation import published as report
from asdlib.data.layout import scan_dataset
from asdlib.models import AutoencoderConfig, DenseAutoencoder
from asdlib.systems import ae_residuals
from asdlib.systems.ae_training import epoch_order, train_autoencoder
from asdlib.systems import baselines
from asdlib.systems.training import load_checkpoint

pytestmark = pytest.mark.training  # trains networks or runs notebooks: left out of `make check`

SR = 16000


# --------------------------------------------------------------------------- fixtures
def _tone(path, f0, rng, anomaly=False, seconds=1.0):
    t = np.arange(int(seconds * SR)) / SR
    x = 0.2 * np.sin(2 * np.pi * f0 * t + rng.uniform(0, 6.3)) + 0.05 * rng.standard_normal(len(t))
    if anomaly:  # a planted fault: an extra 3 kHz component the normals never have
        x += 0.2 * np.sin(2 * np.pi * 3000 * t)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x.astype(np.float32), SR)


@pytest.fixture(scope="module")
def tone_clips(tmp_path_factory):
    """A 1 kHz hum (source, 40 train clips) shifted to 1.1 kHz in the target (4 train clips)."""
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("tones")
    for i in range(40):
        _tone(root / "hum/train" / f"section_00_source_train_normal_{i:04d}_f_1.wav", 1000 + rng.normal(0, 20), rng)
    for i in range(4):
        _tone(root / "hum/train" / f"section_00_target_train_normal_{i:04d}_f_2.wav", 1100 + rng.normal(0, 20), rng)
    for i in range(8):
        for dom, f0 in (("source", 1000), ("target", 1100)):
            for label in ("normal", "anomaly"):
                _tone(root / "hum/test" / f"section_00_{dom}_test_{label}_{i:04d}_f_1.wav",
                      f0 + rng.normal(0, 20), rng, anomaly=label == "anomaly")
    return scan_dataset(root).clips


# The official method with a smaller batch: ~700 optimiser steps on this tiny set, enough for
# the BatchNorm running statistics (momentum 0.01) that eval mode uses to settle.
SMALL = AutoencoderConfig.for_profile("ci", epochs=20, batch_size=32)


@pytest.fixture(scope="module")
def trained(tone_clips, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    return baselines.run_baselines(tone_clips, SMALL, run_dir, progress=False)


# --------------------------------------------------------------------------- fidelity
def test_config_defaults_are_the_official_values():
    c = AutoencoderConfig()
    assert (c.epochs, c.batch_size, c.learning_rate, c.n_frames, c.n_mels, c.hidden, c.bottleneck, c.val_fraction,
            c.seed, c.bn_momentum, c.bn_eps, c.threshold_quantile) == (
        100, 256, 1e-3, 5, 128, 128, 8, 0.1, 13711, 0.01, 1e-3, 0.9)
    assert AutoencoderConfig.for_profile("paper").deviations() == {}
    assert AutoencoderConfig.for_profile("full").deviations() == {}
    for profile in ("ci", "demo"):  # the short profiles shorten training, never the method
        assert set(AutoencoderConfig.for_profile(profile).deviations()) <= {"epochs", "max_train_vectors"}
        assert "deviates from the official" in AutoencoderConfig.for_profile(profile).describe()
    assert AutoencoderConfig.for_profile("demo", epochs=None).epochs == AutoencoderConfig.for_profile("demo").epochs
    with pytest.raises(ValueError, match="unknown profile"):
        AutoencoderConfig.for_profile("huge")


def test_network_is_the_official_dense_autoencoder():
    model = DenseAutoencoder(AutoencoderConfig())
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == (
        [(640, 128)] + [(128, 128)] * 3 + [(128, 8), (8, 128)] + [(128, 128)] * 3 + [(128, 640)])
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(norms) == 9 and all(m.momentum == 0.01 and m.eps == 1e-3 for m in norms)
    assert isinstance(model.decoder[-1], nn.Linear)  # linear output layer, no BN/ReLU after it
    assert model(torch.zeros(4, 640)).shape == (4, 640)


# --------------------------------------------------------------------------- behaviour
@pytest.mark.parametrize("system", baselines.SYSTEMS)
def test_planted_anomalies_rank_above_unseen_normals(trained, system):
    scores = trained.runs[system].scores
    auc_all = roc_auc_score(scores.is_anomaly, scores.score)
    assert auc_all > 0.9, f"{system}: AUC {auc_all:.2f}"
    assert trained.runs[system].metrics.loc["hum", "AUC-s"] > 0.9
    # the decision uses the gamma 0.9 quantile of the detector's own per-clip training scores
    det = trained.detectors[system]
    assert det.thresholds_["hum"] == pytest.approx(detect.gamma_threshold(det.train_scores_, 0.9))
    dec = scores.decision.to_numpy()
    assert dec[scores.is_anomaly == 1].mean() > dec[scores.is_anomaly == 0].mean()


def test_run_folder_holds_submission_metrics_and_weights(trained):
    root = trained.run_dir
    for system in baselines.SYSTEMS:
        sub = metrics.read_submission(root / system / "submission", "hum")
        assert len(sub) == 32 and set(sub.decision) <= {0, 1}
    table = pd.read_csv(root / "metrics.csv")
    assert set(table.system) == set(baselines.SYSTEMS) and "official" in table
    assert (root / "table1.csv").is_file() and (root / "history.csv").is_file()
    state = load_checkpoint(root / "weights" / "hum.pt")
    assert state["epoch"] == SMALL.epochs and len(state["history"]) == SMALL.epochs
    # both systems share the one trained autoencoder (as the official code does)
    assert trained.detectors["AE-MAHALA"].models_["hum"] is trained.detectors["AE-MSE"].models_["hum"]
    # the validation loss is recorded per epoch and training lowered it
    h = trained.history
    assert list(h.epoch) == list(range(1, SMALL.epochs + 1))
    assert h.val_loss.iloc[-1] < h.val_loss.iloc[0]


def test_mahalanobis_on_handmade_residuals_is_the_closed_form():
    """Two clips of 4-d vectors (2 frames of 2 mels): our score vs the official n x n mean and scipy."""
    rng = np.random.default_rng(3)
    residuals = rng.normal(size=(7, 4)).astype(np.float32)
    offsets = np.array([0, 3, 7])
    cov_s = np.array([[2.0, 0.3], [0.3, 1.0]])
    cov_t = np.array([[0.5, 0.0], [0.0, 4.0]])
    p_s, p_t = np.linalg.inv(cov_s), np.linalg.inv(cov_t)
    ours = ae_residuals.mahala_clip_scores(residuals, offsets, p_s, p_t, n_mels=2)
    for k in range(2):
        frames = residuals[offsets[k]:offsets[k + 1]].reshape(-1, 2).astype(np.float64)
        # the official code: delta @ inv_cov @ delta.T over all frames, averaged over the whole matrix
        official = min((frames @ p @ frames.T).mean() for p in (p_s, p_t))
        rbar = frames.mean(axis=0)
        via_scipy = min(scipy.spatial.distance.mahalanobis(rbar, np.zeros(2), p) ** 2 for p in (p_s, p_t))
        assert ours[k] == pytest.approx(official, rel=1e-9)
        assert ours[k] == pytest.approx(via_scipy, rel=1e-9)
    # a value worked out by hand: mean frame (1, 0.5), precision diag(1, 4) -> 1 + 4 * 0.25 = 2
    hand = np.array([[1.0, 0.0, 1.0, 1.0]], dtype=np.float32)  # frames (1, 0) and (1, 1)
    p = np.diag([1.0, 4.0])
    assert ae_residuals.mahala_clip_scores(hand, np.array([0, 1]), p, 10 * p, 2)[0] == pytest.approx(2.0)
    # AE-MSE on the same vector: (1 + 0 + 1 + 1) / 4
    assert ae_residuals.mse_clip_scores(hand, np.array([0, 1]))[0] == pytest.approx(0.75)


def _train_residuals(det, tone_clips):
    train = tone_clips[tone_clips.split == "train"]
    vectors, offsets = ae_residuals.clip_vectors(train.path.tolist(), det.config)
    resid = ae_residuals.reconstruction_residuals(det.models_["hum"], vectors)
    is_target = np.repeat((train.domain == "target").to_numpy(), np.diff(offsets))
    return train, resid, is_target


def test_mahala_uses_the_official_covariance_by_default(trained, tone_clips):
    """Default: the official pass over the training vectors, in the order of one more epoch."""
    assert AutoencoderConfig().covariance == "official" and SMALL.covariance == "official"
    det = trained.detectors["AE-MAHALA"]
    train, resid, is_target = _train_residuals(det, tone_clips)
    train_index = det._train_index["hum"]
    # the batch order is the next draw of the very generator that shuffled training (its state
    # after the last epoch is in the checkpoint)
    g = torch.Generator()
    g.set_state(load_checkpoint(trained.run_dir / "weights" / "hum.pt")["generator"])
    next_epoch = torch.randperm(len(train_index), generator=g).numpy()
    np.testing.assert_array_equal(epoch_order(len(train_index), SMALL, SMALL.epochs + 1), next_epoch)
    expected = _official_torch_covariances(resid, is_target, train_index[next_epoch], SMALL.batch_size, 128)
    for dom in ("source", "target"):
        np.testing.assert_allclose(det.covariances_["hum"][dom], expected[dom], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(det.precisions_["hum"][dom] @ det.covariances_["hum"][dom], np.eye(128),
                                   atol=1e-6)
    assert det.target_fallback_["hum"] is False
    # ... which is not np.cov: per-batch centring of the few target vectors per batch shrinks S_target
    used = np.zeros(len(resid), bool)
    used[train_index] = True
    pooled_t = np.cov(resid[used & is_target].reshape(-1, 128), rowvar=False)
    assert not np.allclose(det.covariances_["hum"]["target"], 5 * pooled_t, rtol=0.05)


def test_pooled_covariance_is_np_cov_of_the_training_residual_frames(trained, tone_clips):
    frames = np.random.default_rng(1).normal(size=(50, 3))
    np.testing.assert_allclose(ae_residuals.residual_covariance(frames), np.cov(frames, rowvar=False), rtol=1e-12)
    mse = trained.detectors["AE-MSE"]
    pooled = dataclasses.replace(SMALL, covariance="pooled")
    det = baselines.AEMahala(pooled, autoencoders=mse, progress=False).fit(tone_clips[tone_clips.split == "train"])
    assert det.models_["hum"] is mse.models_["hum"]  # shared: the covariance is scoring only
    train, resid, is_target = _train_residuals(det, tone_clips)
    used = np.zeros(len(resid), bool)
    used[det._train_index["hum"]] = True
    for dom, mask in (("source", ~is_target), ("target", is_target)):
        expected = np.cov(resid[used & mask].reshape(-1, 128), rowvar=False)
        np.testing.assert_allclose(det.covariances_["hum"][dom], expected, rtol=1e-6, atol=1e-8)
    official = trained.detectors["AE-MAHALA"].covariances_["hum"]["source"]
    assert not np.allclose(det.covariances_["hum"]["source"], official)
    assert "covariance 'pooled'" in pooled.describe() and set(pooled.deviations()) >= {"covariance"}
    with pytest.raises(ValueError, match="another AutoencoderConfig"):  # other training settings: refused
        baselines.AEMahala(dataclasses.replace(pooled, seed=1), autoencoders=mse).fit(train)


def test_covariance_setting_is_validated():
    with pytest.raises(ValueError, match="covariance must be one of.*'official'.*'pooled'.*got 'np.cov'"):
        AutoencoderConfig(covariance="np.cov")
    assert AutoencoderConfig.for_profile("ci", covariance="pooled").covariance == "pooled"


def test_batch_centred_covariance_by_hand():
    """Residual vectors of 2 frames x 2 mels; two mini-batches of unequal size."""
    b1 = np.array([[1, 0, 3, 0], [1, 2, 3, 2]])  # frames (1,0) (3,0) (1,2) (3,2): mean (2,1)
    b2 = np.array([[0, 0, 2, 4]])  # frames (0,0) (2,4): mean (1,2)
    # scatter about each batch's own mean: b1 -> [[4,0],[0,4]], b2 -> [[2,4],[4,8]];
    # sum [[6,4],[4,12]] over (3 vectors - 1) = 2
    hand = np.array([[3.0, 2.0], [2.0, 6.0]])
    ours = ae_residuals.batch_centred_covariance([b1, b2], n_mels=2)
    np.testing.assert_allclose(ours, hand)
    # the same with an independent formula: biased per-batch covariance x frames, / (vectors - 1)
    indep = sum(np.cov(b.reshape(-1, 2), rowvar=False, bias=True) * b.size / 2 for b in (b1, b2)) / (3 - 1)
    np.testing.assert_allclose(ours, indep)
    # not the pooled np.cov, nor a multiple of it
    pooled = np.cov(np.vstack([b1, b2]).reshape(-1, 2), rowvar=False)
    assert not np.allclose(ours / ours[0, 0], pooled / pooled[0, 0])
    with pytest.raises(ValueError, match="2\\+ vectors"):
        ae_residuals.batch_centred_covariance([b2, b2[:0]], n_mels=2)


def test_official_covariances_split_each_batch_by_domain_by_hand():
    """batch_size 3, loader order [0, 2, 1, 3, 5]: batches {v0, v2, v1} and {v3, v5}."""
    resid = np.array([[1, 0, 3, 0],  # v0 source
                      [1, 2, 3, 2],  # v1 source
                      [0, 0, 2, 4],  # v2 target
                      [2, 2, 2, 2],  # v3 source
                      [9, 9, 9, 9],  # v4 source, never visited
                      [1, 1, 3, 3]], dtype=np.float32)  # v5 target
    is_target = np.array([0, 0, 1, 0, 0, 1], bool)
    covs = ae_residuals.official_residual_covariances(resid, is_target, np.array([0, 2, 1, 3, 5]), 3, n_mels=2)
    # source: batch 1 {v0, v1} -> [[4,0],[0,4]]; batch 2 {v3}: frames equal, 0; 3 vectors -> / 2
    np.testing.assert_allclose(covs["source"], [[2.0, 0.0], [0.0, 2.0]])
    # target: batch 1 {v2} -> [[2,4],[4,8]]; batch 2 {v5}: frames (1,1) (3,3) -> [[2,2],[2,2]]; / (2 - 1)
    np.testing.assert_allclose(covs["target"], [[4.0, 6.0], [6.0, 10.0]])
    # np.cov of the same 4 target frames is [[5/3, 2], [2, 10/3]]: 3 x it is [[5,6],[6,10]], not the above
    np.testing.assert_allclose(np.cov(resid[[2, 5]].reshape(-1, 2), rowvar=False), [[5 / 3, 2], [2, 10 / 3]])
    # a last batch of one vector is skipped (as officially); no target vector: None (caller falls back)
    covs = ae_residuals.official_residual_covariances(resid, is_target, np.array([0, 1, 4]), 2, n_mels=2)
    np.testing.assert_allclose(covs["source"], [[4.0, 0.0], [0.0, 4.0]])
    assert covs["target"] is None
    # random data against a line-by-line transcription of the official torch code
    rng = np.random.default_rng(5)
    resid = rng.normal(size=(203, 3 * 4))
    is_target = rng.random(203) < 0.05
    order = rng.permutation(203)[:201]  # 201 = 4 x 50 + 1: the last batch (one vector) is skipped
    ours = ae_residuals.official_residual_covariances(resid, is_target, order, 50, n_mels=4)
    theirs = _official_torch_covariances(resid, is_target, order, 50, 4)
    for dom in ("source", "target"):
        np.testing.assert_allclose(ours[dom], theirs[dom], rtol=1e-10)


def _official_torch_covariances(resid, is_target, order, batch_size, block_size):
    """nttcslab/dcase2023_task2_baseline_ae: dcase2023t2_ae.py train() at epoch == epochs + 1 with
    mahala.py's cov_v_diff / cov_v, transcribed (float64; the batches given as loader order)."""

    def cov_v_diff(in_v):
        mu = torch.mean(in_v.clone().t(), 1)
        return torch.sub(in_v, mu), mu

    def cov_v(diff, num):
        return torch.matmul(diff.t(), diff) / num

    cov_source = torch.zeros(block_size, block_size, dtype=torch.float64)
    cov_target = cov_source.clone()
    num_source = num_target = 0
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        data = torch.from_numpy(np.asarray(resid[idx], dtype=np.float64))  # residuals x - recon_x
        if data.shape[0] <= 1:
            continue
        is_target_list = is_target[idx].tolist()
        is_source_list = np.logical_not(is_target_list).tolist()
        diff_s, _ = cov_v_diff(data[is_source_list].view(-1, block_size))
        cov_source += cov_v(diff_s, 1)
        num_source += is_source_list.count(True)
        if is_target_list.count(True) > 0:
            diff_t, _ = cov_v_diff(data[is_target_list].view(-1, block_size))
            cov_target += cov_v(diff_t, 1)
            num_target += is_target_list.count(True)
    cov_source /= num_source - 1
    cov_target = cov_source.clone() if num_target == 0 else cov_target / (num_target - 1)
    return {"source": cov_source.numpy(), "target": cov_target.numpy()}


def test_target_covariance_falls_back_to_source_without_target_clips(tone_clips):
    train = tone_clips[(tone_clips.split == "train") & (tone_clips.domain == "source")]
    det = baselines.AEMahala(AutoencoderConfig.for_profile("ci", epochs=1), progress=False).fit(train)
    assert det.target_fallback_["hum"] is True
    np.testing.assert_array_equal(det.covariances_["hum"]["target"], det.covariances_["hum"]["source"])


def test_score_rejects_unknown_machine_types(trained, tone_clips):
    other = tone_clips.head(2).assign(machine_type="pump")
    with pytest.raises(KeyError, match="pump"):
        trained.detectors["AE-MSE"].score(other)


# --------------------------------------------------------------------------- resumable training
def _vectors(n=700, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(1, 640)) * 10
    return (base + rng.normal(size=(n, 640))).astype(np.float32)


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_after_interruption_gives_the_uninterrupted_weights(tmp_path):
    cfg = AutoencoderConfig.for_profile("ci", epochs=4)
    x = _vectors()
    full = train_autoencoder(x, cfg, checkpoint=tmp_path / "full.pt", progress=False)

    class Killed(Exception):
        pass

    def kill_after_two(epoch, entry):
        if epoch == 2:
            raise Killed  # like a Ctrl-C / lost kernel right after epoch 2's checkpoint

    ckpt = tmp_path / "weights" / "hum.pt"
    with pytest.raises(Killed):
        train_autoencoder(x, cfg, checkpoint=ckpt, progress=False, on_epoch_end=kill_after_two)
    assert load_checkpoint(ckpt)["epoch"] == 2
    resumed = train_autoencoder(x, cfg, checkpoint=ckpt, progress=False)
    assert resumed.resumed_from == 2 and resumed.complete
    assert _same_weights(full.model.state_dict(), resumed.model.state_dict())  # bit for bit
    drop = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h]  # noqa: E731
    assert drop(resumed.history) == drop(full.history)

    # stopping on purpose (max_epochs_this_call) and extending a finished run work the same way
    part = tmp_path / "part.pt"
    first = train_autoencoder(x, cfg, checkpoint=part, progress=False, max_epochs_this_call=1)
    assert first.epochs_done == 1 and not first.complete
    longer = dataclasses.replace(cfg, epochs=6)
    a = train_autoencoder(x, longer, checkpoint=part, progress=False)
    b = train_autoencoder(x, longer, progress=False)
    assert _same_weights(a.model.state_dict(), b.model.state_dict())


def test_checkpoint_of_other_data_or_settings_is_never_resumed(tmp_path):
    """A stale checkpoint is moved aside with a warning; the result equals a fresh training."""
    cfg = AutoencoderConfig.for_profile("ci", epochs=1)
    ckpt = tmp_path / "fan.pt"
    train_autoencoder(_vectors(), cfg, checkpoint=ckpt, progress=False)
    with pytest.warns(UserWarning, match="fan.pt.*other data.*data_sha1.*fan.stale.pt"):
        other = train_autoencoder(_vectors(seed=1), cfg, checkpoint=ckpt, progress=False)
    assert (tmp_path / "fan.stale.pt").is_file() and ckpt.is_file()
    fresh = train_autoencoder(_vectors(seed=1), cfg, checkpoint=None, progress=False)
    assert _same_weights(other.model.state_dict(), fresh.model.state_dict())
    with pytest.warns(UserWarning, match="config.learning_rate"):
        train_autoencoder(_vectors(seed=1), dataclasses.replace(cfg, learning_rate=1e-2), checkpoint=ckpt,
                          progress=False)
    assert (tmp_path / "fan.stale-2.pt").is_file()  # the earlier stale file is never overwritten


def test_detector_resumes_from_its_run_folder(tone_clips, tmp_path):
    """An interrupted fit leaves per-type checkpoints; a new detector on the same folder finishes."""
    train = tone_clips[tone_clips.split == "train"]
    cfg = AutoencoderConfig.for_profile("ci", epochs=3)

    def stop(mtype, epoch, entry):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        baselines.AEMSE(cfg, tmp_path, progress=False, on_epoch_end=stop).fit(train)
    assert load_checkpoint(tmp_path / "weights" / "hum.pt")["epoch"] == 1
    resumed = baselines.AEMSE(cfg, tmp_path, progress=False).fit(train)
    fresh = baselines.AEMSE(cfg, None, progress=False).fit(train)
    assert _same_weights(resumed.models_["hum"].state_dict(), fresh.models_["hum"].state_dict())
    test = tone_clips[tone_clips.split == "test"]
    np.testing.assert_array_equal(resumed.score(test), fresh.score(test))


# --------------------------------------------------------------------------- reporting
def test_side_by_side_labels_every_row_with_its_dataset():

    ours = pd.DataFrame([[70.0, 60.0, 55.0, 70.0, 60.0, 55.0]], index=["AE-MSE"],
                        columns=pd.MultiIndex.from_product([["synFan", "Total"], metrics.METRIC_COLUMNS]))
    table = report.side_by_side(ours, report.table1(["AE-MSE"]), "ours, SYNTHETIC", "published, real")
    assert list(table.index) == [("published, real", "AE-MSE"), ("ours, SYNTHETIC", "AE-MSE")]
    assert table.loc[("ours, SYNTHETIC", "AE-MSE"), ("fan", "AUC-s")] == 70.0  # synFan under fan
    assert table.loc[("published, real", "AE-MSE"), ("fan", "AUC-s")] == 67.7
    assert np.isnan(table.loc[("ours, SYNTHETIC", "AE-MSE"), ("valve", "AUC-s")])


def test_types_trained_in_worker_processes_get_the_weights_of_one_process(tmp_path):
    """``workers=2`` trains two types at once, each in its own process; the weights, scores and
    thresholds are those of ``workers=1`` bit for bit, and each type's training time is the worker's."""
    rng = np.random.default_rng(1)
    for mtype, f0 in (("hum", 1000), ("whine", 1500)):
        for i in range(12):
            _tone(tmp_path / "data" / mtype / "train" / f"section_00_source_train_normal_{i:04d}_f_1.wav",
                  f0 + rng.normal(0, 20), rng)
    train = scan_dataset(tmp_path / "data").clips
    cfg = AutoencoderConfig.for_profile("ci", epochs=2, batch_size=32)
    one = baselines.AEMSE(cfg, tmp_path / "one", progress=False).fit(train)
    two = baselines.AEMSE(cfg, tmp_path / "two", progress=False, workers=2).fit(train)
    for mtype in ("hum", "whine"):
        assert _same_weights(one.models_[mtype].state_dict(), two.models_[mtype].state_dict())
        assert two.timings_[mtype]["train_s"] > 0.05  # the worker's training, not loading its checkpoint
        assert len(two.history_[mtype]) == 2
    np.testing.assert_array_equal(one.train_scores_, two.train_scores_)
    assert one.thresholds_ == two.thresholds_
    with pytest.raises(ValueError, match="needs a run_dir"):
        baselines.AEMSE(cfg, None, progress=False, workers=2).fit(train)
