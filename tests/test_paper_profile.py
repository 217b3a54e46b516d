"""The ``paper`` profile cannot rot: every trainer builds its paper-sized network on the CPU,
runs a few optimisation steps, scores, and would run on a GPU when one is present.

Nothing of the networks is shrunk. Each trainer gets its ``paper`` configuration
(``asdlib.profiles``: the official autoencoder, Systems 1-2's MobileFaceNet on 10-s crops,
System-3's full-width two-branch network on 15-s inputs at 19.2 kHz with text fusion and
FeatEx) with only these overrides, checked below against the paper configuration itself:

- ``epochs``: 3 for the autoencoder (one step of its batch of 256 each), 2 for Systems 1-3
  (one full batch each: fewer clips than a batch);
- the number of clips: 4 train clips per machine type of the shared 1-s tones (conftest),
  tiled to the networks' 10-s / 15-s inputs as any short clip is; 2 test clips per type
  and label to score;
- ``num_threads=1`` for Systems 1-3 (a runtime setting, not the network: the paper's None
  leaves torch's default, which on a busy 2-core machine runs several times slower).

Measured on the 2-core machine with other jobs running: a paper-sized step takes ~1-3 s
(Systems 1-2 ~2-3 s on 8 10-s crops, System-3 ~2 s), the whole file ~26 s (+ ~7 s of
start-up), so nothing had to shrink further.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from asdlib.models import AutoencoderConfig
from asdlib.systems.baselines import AEMSE, AEMahala
from asdlib.systems.classifier import ClassifierSystem, ClassifierSystemConfig
from asdlib.systems.ssl import SSLSystem, SSLSystemConfig

pytestmark = pytest.mark.training  # trains networks or runs notebooks: left out of `make check`

CLIPS_PER_TYPE = 4
#: What the tests may change in a paper configuration (everything else must stay as the paper has it).
OVERRIDES = {"autoencoder": dict(epochs=3), "system1": dict(epochs=2, num_threads=1),
             "system2": dict(epochs=2, num_threads=1), "system3": dict(epochs=2, num_threads=1)}


def _configs():
    return {"autoencoder": AutoencoderConfig.for_profile("paper", **OVERRIDES["autoencoder"]),
            "system1": ClassifierSystemConfig.for_profile("paper", label_source="pseudo", **OVERRIDES["system1"]),
            "system2": ClassifierSystemConfig.for_profile("paper", label_source="attribute", **OVERRIDES["system2"]),
            "system3": SSLSystemConfig.for_profile("paper", **OVERRIDES["system3"])}


def _detector(name: str):
    cfg = _configs()[name]
    if name == "autoencoder":
        return AEMSE(cfg, progress=False)
    if name == "system3":
        return SSLSystem(cfg, progress=False)
    return ClassifierSystem(cfg, progress=False)


@pytest.fixture(scope="module")
def tiny(two_type_tones):
    clips = two_type_tones
    train = clips[clips.split == "train"].groupby("machine_type").head(CLIPS_PER_TYPE).reset_index(drop=True)
    test = clips[clips.split == "test"].groupby(["machine_type", "label"]).head(2).reset_index(drop=True)
    return train, test


@pytest.fixture(autouse=True)
def no_device_override(monkeypatch):
    monkeypatch.delenv("ASD_DEVICE", raising=False)


def test_the_overrides_change_only_epochs_and_threads():
    """The paper configurations are the defaults (the report's / official values), and the
    tests' configurations differ from them only in what the docstring lists."""
    paper = {"autoencoder": AutoencoderConfig(), "system1": ClassifierSystemConfig(label_source="pseudo"),
             "system2": ClassifierSystemConfig(label_source="attribute"), "system3": SSLSystemConfig()}
    for name, cfg in _configs().items():
        assert dataclasses.replace(cfg, **{k: getattr(paper[name], k) for k in OVERRIDES[name]}) == paper[name], name
        assert cfg.profile == "paper" and getattr(cfg, "device", None) is None, name  # None: default_device()
    assert AutoencoderConfig.for_profile("paper") == AutoencoderConfig()
    net = _configs()["system3"].network
    assert (net.sample_rate, net.n_samples, net.width, net.blocks_per_stage) == (19200, 288000, 1.0, 2)
    assert (_configs()["system1"].encoder_size, _configs()["system1"].crop_seconds) == ("mobilefacenet", 10.0)


@pytest.mark.parametrize("name", ["autoencoder", "system1", "system2", "system3"])
def test_the_paper_network_trains_and_scores_on_the_cpu(name, tiny, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    train, test = tiny
    det = _detector(name).fit(train)
    if name == "autoencoder":
        assert det.device.type == "cpu"
        history = pd.concat(det.history_.values())
        assert len(history) == 3 * train.machine_type.nunique()
        assert np.isfinite(history[["train_loss", "val_loss"]].to_numpy()).all()
        mahala = AEMahala(det.config, progress=False, autoencoders=det).fit(train)  # AE-MAHALA: the same networks
        assert np.isfinite(mahala.score(test)).all()
    else:
        assert det.device_.type == "cpu"
        assert len(det.history_) == 2 and np.isfinite(det.history_.loss).all()
    scores = det.score(test)
    assert scores.shape == (len(test),) and np.isfinite(scores).all() and np.ptp(scores) > 0
    assert set(det.decide(test, scores)) <= {0, 1}


class _SentToGPU(Exception):
    """Raised instead of moving a module to a GPU this machine may not have."""


@pytest.mark.parametrize("name", ["autoencoder", "system1", "system2", "system3"])
def test_each_trainer_picks_the_gpu_when_one_is_present(name, tiny, monkeypatch):
    """``asdlib.runtime.default_device``: with CUDA reported available, the trainer's network
    is sent to "cuda" (stopped there: nothing runs on it)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    to = torch.nn.Module.to

    def to_stopped_at_cuda(module, *args, **kwargs):
        device = args[0] if args else kwargs.get("device")
        if isinstance(device, (str, torch.device)) and torch.device(device).type == "cuda":
            raise _SentToGPU(type(module).__name__)
        return to(module, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "to", to_stopped_at_cuda)
    det = _detector(name)
    network = {"autoencoder": "DenseAutoencoder", "system3": "SSLModel"}.get(name, "ClassifierNet")
    with pytest.raises(_SentToGPU, match=f"^{network}$"):
        det.fit(tiny[0])
    assert str(det.device if name == "autoencoder" else det.device_) == "cuda"
