"""The official DCASE 2024 Task 2 baseline autoencoder, its config and its training.

Source: nttcslab/dcase2023_task2_baseline_ae (the 2024 task uses the same code), files
``networks/dcase2023t2_ae/network.py``, ``networks/dcase2023t2_ae/dcase2023t2_ae.py`` and
``baseline.yaml``. The network is a dense autoencoder on 640-d vectors (5 consecutive
128-band log-mel frames)::

    640 -> 128 -> 128 -> 128 -> 128 -> 8 -> 128 -> 128 -> 128 -> 128 -> 640

every layer but the last being Linear + BatchNorm1d(momentum 0.01, eps 1e-3) + ReLU (the
8-d bottleneck included). Training: Adam (lr 1e-3), batch 256, 100 epochs, mean squared
reconstruction error, 10 % of the vectors held out for a validation loss, seed 13711, one
model per machine type.

``train_autoencoder`` runs the book's one training loop (``asdlib.training``): a checkpoint
after every epoch, resumed when called again; the shuffling generator's state is part of
the checkpoint, so an interrupted and resumed run ends with exactly the weights of an
uninterrupted one, and a finished 10-epoch run extended to 20 equals a fresh 20-epoch run.
``epoch_order`` replays that generator: AE-MAHALA's official covariance pass visits the
training vectors in the order of one extra epoch (``asdlib.systems.baselines``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import profiles
from ..features import LogMelConfig

# AE-MAHALA's residual covariance (asdlib.systems.baselines): "official" = the official code's
# per-mini-batch-centred scatter / (training vectors - 1); "pooled" = np.cov of all frames
COVARIANCES = ("official", "pooled")


@dataclass(frozen=True)
class AutoencoderConfig:
    """Hyper-parameters of the baseline autoencoder; defaults are the official values."""

    # front end: asdlib.features' official log-mel, 5 frames stacked
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

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


def build_autoencoder(config: AutoencoderConfig) -> DenseAutoencoder:
    """A freshly initialised model, seeded by ``config.seed`` without touching global RNGs."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return DenseAutoencoder(config)


# --------------------------------------------------------------------------- data split
def select_training_vectors(n_vectors: int, config: AutoencoderConfig) -> np.ndarray:
    """Indices of the vectors used for training: all, or a seeded random subset (sorted)."""
    if config.max_train_vectors is None or n_vectors <= config.max_train_vectors:
        return np.arange(n_vectors)
    rng = np.random.default_rng([config.seed, 1])
    return np.sort(rng.choice(n_vectors, size=config.max_train_vectors, replace=False))


def split_train_val(n_vectors: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random hold-out (the official code uses ``train_test_split(test_size=0.1)``)."""
    perm = np.random.default_rng([seed, 2]).permutation(n_vectors)
    n_val = int(round(val_fraction * n_vectors))
    if n_vectors - n_val < 2:
        raise ValueError(f"only {n_vectors} vectors: too few to train (BatchNorm needs batches of 2+)")
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def epoch_order(n_train: int, config: AutoencoderConfig, epoch: int) -> np.ndarray:
    """The order in which ``train_autoencoder`` visits its ``n_train`` training vectors in epoch
    ``epoch`` (1-based): positions into ``vectors[train_index]``.

    ``train_autoencoder`` draws one ``torch.randperm`` per epoch from a generator seeded with
    ``config.seed``; this replays it. Epoch ``config.epochs + 1`` is the pass the official code
    makes after training (its train loader, shuffled once more) to accumulate AE-MAHALA's
    covariances.
    """
    if epoch < 1:
        raise ValueError(f"epochs are counted from 1, got {epoch}")
    g = torch.Generator().manual_seed(config.seed)
    for _ in range(epoch):
        order = torch.randperm(n_train, generator=g)
    return order.numpy()


# --------------------------------------------------------------------------- training
@dataclass
class TrainedAutoencoder:
    """What ``train_autoencoder`` returns."""

    model: DenseAutoencoder
    history: list[dict] = field(default_factory=list)  # per epoch: epoch, train_loss, val_loss, seconds
    train_index: np.ndarray = field(default_factory=lambda: np.zeros(0, int))  # into the input vectors
    val_index: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    epochs_done: int = 0
    resumed_from: int = 0  # epochs found in the checkpoint at the start of this call
    seconds: float = 0.0  # training time spent in this call

    @property
    def complete(self) -> bool:
        return self.epochs_done >= self.model.config.epochs


def fingerprint(vectors: np.ndarray, config: AutoencoderConfig) -> dict:
    """What must match for a checkpoint to be continued: the data and every setting but epochs."""
    # covariance only changes how AE-MAHALA scores, never the weights
    cfg = {k: v for k, v in dataclasses.asdict(config).items() if k not in ("epochs", "profile", "covariance")}
    # the digest of the array's own buffer: ``tobytes()`` would copy it (800 MB for a real type's vectors)
    data = memoryview(np.ascontiguousarray(vectors)).cast("B")
    return {"data_sha1": hashlib.sha1(data).hexdigest(), "shape": list(vectors.shape),
            "config": cfg}


@torch.no_grad()
def mean_squared_error(model: nn.Module, x: torch.Tensor, batch_size: int = 8192) -> float:
    """MSE over all elements of ``x`` (eval mode; BatchNorm uses its running statistics)."""
    if len(x) == 0:
        return float("nan")
    model.eval()
    total = 0.0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        total += float(F.mse_loss(model(xb), xb, reduction="sum"))
    return total / x.numel()


def train_autoencoder(
    vectors: np.ndarray,
    config: AutoencoderConfig = AutoencoderConfig(),
    checkpoint: str | Path | None = None,
    device=None,
    progress: bool = True,
    desc: str = "autoencoder",
    max_epochs_this_call: int | None = None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
    num_threads: int | None = 1,
    resume: bool = True,
) -> TrainedAutoencoder:
    """Train (or resume training) the baseline autoencoder on ``vectors`` ``(N, 640)``.

    - the vectors used are ``select_training_vectors`` (all of them in the official setting),
      split by ``split_train_val`` into training and validation vectors;
    - mini-batches of ``batch_size`` in an order drawn each epoch from a seeded generator; a
      last batch of a single vector is skipped (BatchNorm needs two; the official code does
      the same);
    - after every epoch: validation MSE (eval mode), history entry, checkpoint (when given);
    - ``num_threads``: CPU threads while training (``cpu_threads``; None leaves them). The
      model is small: on 2 cores one thread ran a step in ~14 ms, two threads took
      60-700 ms whenever another process was busy (measured), so 1 it is.

    Checkpoints follow ``asdlib.training``'s one rule (continued when data and settings
    match, otherwise moved aside with a warning; ``resume=False`` starts afresh).
    """
    from ..runtime import cpu_threads, default_device
    from ..training import train

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != config.input_dim:
        raise ValueError(f"vectors must have shape (N, {config.input_dim}), got {vectors.shape}")
    if not np.all(np.isfinite(vectors)):
        raise ValueError("training vectors hold NaN/inf values")
    device = torch.device(device) if device is not None else default_device()

    used = select_training_vectors(len(vectors), config)
    tr, va = split_train_val(len(used), config.val_fraction, config.seed)
    train_index, val_index = used[tr], used[va]
    model = build_autoencoder(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    shuffler = torch.Generator().manual_seed(config.seed)
    # batches are gathered from all the vectors through the training rows' indices: a copy of
    # the training rows would hold 90 % of them twice (700 MB for a real machine type)
    x_all = torch.from_numpy(vectors).to(device)
    rows = torch.from_numpy(train_index).to(device)
    x_val = torch.from_numpy(vectors[val_index]).to(device)
    n_train = len(train_index)
    steps = sum(1 for i in range(0, n_train, config.batch_size) if n_train - i >= 2)

    def one_epoch(epoch: int, tick) -> dict:
        order = torch.randperm(n_train, generator=shuffler).to(device)
        loss_sum, n_batches = 0.0, 0
        for i in range(0, len(order), config.batch_size):
            idx = order[i:i + config.batch_size]
            if len(idx) < 2:
                continue
            xb = x_all[rows[idx]]
            optimizer.zero_grad(set_to_none=True)
            loss = F.mse_loss(model(xb), xb)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item()
            n_batches += 1
            tick()
        return {"train_loss": loss_sum / max(n_batches, 1), "val_loss": mean_squared_error(model, x_val)}

    with cpu_threads(num_threads, device):
        result = train(model, optimizer, config.epochs, one_epoch, fingerprint=fingerprint(vectors, config),
                       checkpoint=checkpoint, resume=resume, generator=shuffler, steps_per_epoch=steps,
                       progress=progress, desc=desc, on_epoch_end=on_epoch_end,
                       max_epochs_this_call=max_epochs_this_call)
    return TrainedAutoencoder(model=model, history=result.history, train_index=train_index, val_index=val_index,
                              epochs_done=result.epochs_done, resumed_from=result.resumed_from,
                              seconds=result.seconds)
