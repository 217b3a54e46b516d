"""The official DCASE 2024 Task 2 baseline autoencoder and its config.

Source: nttcslab/dcase2023_task2_baseline_ae (the 2024 task uses the same code), files
``networks/dcase2023t2_ae/network.py``, ``networks/dcase2023t2_ae/dcase2023t2_ae.py`` and
``baseline.yaml``. The network is a dense autoencoder on 640-d vectors (5 consecutive
128-band log-mel frames)::

    640 -> 128 -> 128 -> 128 -> 128 -> 8 -> 128 -> 128 -> 128 -> 128 -> 640

every layer but the last being Linear + BatchNorm1d(momentum 0.01, eps 1e-3) + ReLU (the
8-d bottleneck included). Training: Adam (lr 1e-3), batch 256, 100 epochs, mean squared
reconstruction error, 10 % of the vectors held out for a validation loss, seed 13711, one
model per machine type.

Its training (``asdlib.systems.ae_training.train_autoencoder``) runs the book's one training loop (``asdlib.systems.training``): a checkpoint
after every epoch, resumed when called again; the shuffling generator's state is part of
the checkpoint, so an interrupted and resumed run ends with exactly the weights of an
uninterrupted one, and a finished 10-epoch run extended to 20 equals a fresh 20-epoch run.
``epoch_order`` replays that generator: AE-MAHALA's official covariance pass visits the
training vectors in the order of one extra epoch (``asdlib.systems.baselines``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from asdlib import profiles
from asdlib.features.logmel import LogMelConfig

# AE-MAHALA's residual covariance (asdlib.systems.baselines): "official" = the official code's
# per-mini-batch-centred scatter / (training vectors - 1); "pooled" = np.cov of all frames
COVARIANCES = ("official", "pooled")


@dataclass(frozen=True)
class AutoencoderConfig:
    """Hyper-parameters of the baseline autoencoder; defaults are the official values."""

    # front end: asdlib.features.logmel' official log-mel, 5 frames stacked
    logmel: LogMelConfig = LogMelConfig()
    n_frames: int = 5  # consecutive frames per input vector: 5 x 128 = 640 dims
    # network
    hidden: int = 128
    n_hidden_layers: int = 4  # Linear+BN+ReLU layers of width ``hidden`` on each side
    bottleneck: int = 8
    bn_momentum: float = 0.01  # PyTorch convention (Keras' 0.99)
    bn_eps: float = 1e-3
    # training
    epochs: int = 100
    batch_size: int = 256
    learning_rate: float = 1e-3
    val_fraction: float = 0.1  # of the vectors, held out for the validation loss
    seed: int = 13711
    max_train_vectors: int | None = None  # None: every vector (official); else a seeded random subset
    # AE-MAHALA's residual covariance (scoring only, the autoencoder does not depend on it):
    # "official" as the official code (mini-batches of ``batch_size`` training vectors in the
    # order of one more shuffled epoch; per batch, its source frames and its target frames each
    # centred on their own mean; scatter summed and divided by training vectors - 1);
    # "pooled": ``np.cov`` of all training residual frames (asdlib's earlier default; a deviation)
    covariance: str = "official"
    # decision
    threshold_quantile: float = 0.9  # of the gamma fitted to training scores
    profile: str = "paper"  # which preset produced this config (recorded, not used)

    def __post_init__(self):
        if self.covariance not in COVARIANCES:
            raise ValueError(f"AutoencoderConfig.covariance must be one of {COVARIANCES} "
                             f"('official': as the official code, 'pooled': np.cov), got {self.covariance!r}")

    @property
    def input_dim(self) -> int:
        return self.logmel.n_mels * self.n_frames

    @property
    def n_mels(self) -> int:
        return self.logmel.n_mels

    @classmethod
    def for_profile(cls, profile: str = "paper", **overrides) -> "AutoencoderConfig":
        """Sizes of ``profile`` (``asdlib.profiles``): ``paper``/``full`` = official; ``demo``
        (the book) and ``ci`` (tests) shorten training only (fewer epochs, a subset of the
        vectors), never the method.

        ``overrides`` replace fields afterwards (``None`` values are ignored, so notebook
        parameters such as ``epochs=None`` keep the profile's value).
        """
        values = {**profiles.sizes(profile, "autoencoder"), **{k: v for k, v in overrides.items() if v is not None}}
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"AutoencoderConfig has no field(s) {sorted(unknown)}")
        return cls(profile=profile, **values)

    def deviations(self) -> dict[str, tuple]:
        """Fields that differ from the official baseline: ``{name: (ours, official)}``."""
        official = AutoencoderConfig()
        return {f.name: (getattr(self, f.name), getattr(official, f.name))
                for f in dataclasses.fields(self)
                if f.name != "profile" and getattr(self, f.name) != getattr(official, f.name)}

    def describe(self) -> str:
        """One line saying whether this is the official setting, and what is shortened."""
        dev = self.deviations()
        if not dev:
            return f"profile {self.profile!r}: the official baseline settings (nothing shortened)"
        parts = []
        for name, (ours, official) in dev.items():
            if name == "max_train_vectors":
                parts.append(f"a random subset of {ours} training vectors per machine type "
                             "instead of all of them")
            elif name == "covariance":
                parts.append(f"AE-MAHALA covariance {ours!r} (np.cov of all training residual frames) "
                             "instead of the official per-mini-batch-centred one")
            else:
                parts.append(f"{name} {ours} instead of the official {official}")
        return f"profile {self.profile!r} deviates from the official baseline: " + "; ".join(parts)


class DenseAutoencoder(nn.Module):
    """The baseline's dense autoencoder: ``(B, 640) -> (B, 640)``."""

    def __init__(self, config: AutoencoderConfig = AutoencoderConfig()):
        super().__init__()
        self.config = config
        c = config

        def block(n_in: int, n_out: int) -> list[nn.Module]:
            return [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out, momentum=c.bn_momentum, eps=c.bn_eps),
                    nn.ReLU()]

        enc: list[nn.Module] = []
        width = c.input_dim
        for _ in range(c.n_hidden_layers):
            enc += block(width, c.hidden)
            width = c.hidden
        enc += block(width, c.bottleneck)
        dec: list[nn.Module] = block(c.bottleneck, c.hidden)
        for _ in range(c.n_hidden_layers - 1):
            dec += block(c.hidden, c.hidden)
        dec.append(nn.Linear(c.hidden, c.input_dim))  # linear output: log-mel values are unbounded
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def constructor_arguments(self) -> dict:
        """What ``DenseAutoencoder(**...)`` rebuilds this network's layers from (a saved
        detector holds these and the ``state_dict``: ``asdlib.systems.state``)."""
        return {"config": self.config}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


def build_autoencoder(config: AutoencoderConfig) -> DenseAutoencoder:
    """A freshly initialised model, seeded by ``config.seed`` without touching global RNGs."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return DenseAutoencoder(config)
