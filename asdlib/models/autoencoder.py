"""The official DCASE 2024 Task 2 baseline autoencoder, its config and its training loop.

Source: nttcslab/dcase2023_task2_baseline_ae (the 2024 task uses the same code), files
``networks/dcase2023t2_ae/network.py``, ``networks/dcase2023t2_ae/dcase2023t2_ae.py`` and
``baseline.yaml``. The network is a dense autoencoder on 640-d vectors (5 consecutive
128-band log-mel frames)::

    640 -> 128 -> 128 -> 128 -> 128 -> 8 -> 128 -> 128 -> 128 -> 128 -> 640

every layer but the last being Linear + BatchNorm1d(momentum 0.01, eps 1e-3) + ReLU (the
8-d bottleneck included). Training: Adam (lr 1e-3), batch 256, 100 epochs, mean squared
reconstruction error, 10 % of the vectors held out for a validation loss, seed 13711, one
model per machine type.

``train_autoencoder`` writes a checkpoint after every epoch (model, optimiser, epoch,
history, the shuffling generator's state, a fingerprint of data and config). Called again
with the same checkpoint it resumes, and because every random draw after initialisation
comes from that saved generator, an interrupted and resumed run ends with exactly the
weights of an uninterrupted one. ``epochs`` is not part of the fingerprint: a finished
10-epoch run can be extended to 20 and equals a fresh 20-epoch run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class AutoencoderConfig:
    """Hyper-parameters of the baseline autoencoder; defaults are the official values."""

    # front end (the features themselves are asdlib.features' official log-mel)
    n_mels: int = 128
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
    lr: float = 1e-3
    val_fraction: float = 0.1  # of the vectors, held out for the validation loss
    seed: int = 13711
    max_train_vectors: int | None = None  # None: every vector (official); else a seeded random subset
    # decision
    threshold_quantile: float = 0.9  # of the gamma fitted to training scores
    profile: str = "paper"  # which preset produced this config (recorded, not used)

    @property
    def input_dim(self) -> int:
        return self.n_mels * self.n_frames

    @classmethod
    def for_profile(cls, profile: str = "paper", **overrides) -> "AutoencoderConfig":
        """Preset sizes: ``paper``/``full`` = official; ``demo`` (the book) and ``ci`` (tests)
        shorten training only (fewer epochs, a subset of the vectors), never the method.

        ``overrides`` replace fields afterwards (``None`` values are ignored, so notebook
        parameters such as ``epochs=None`` keep the profile's value).
        """
        presets = {
            "paper": {},
            "full": {},
            # demo: ~580 optimiser steps per type (BatchNorm statistics settle); the whole 02
            # chapter ran in 92-156 s on 2 busy CPU cores
            "demo": {"epochs": 20, "max_train_vectors": 8192},
            # ci: seconds per machine type
            "ci": {"epochs": 10, "max_train_vectors": 2048},
        }
        if profile not in presets:
            raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(presets)}")
        values = {**presets[profile], **{k: v for k, v in overrides.items() if v is not None}}
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


def _fingerprint(vectors: np.ndarray, config: AutoencoderConfig) -> dict:
    """What must match for a checkpoint to be resumed: the data and every setting but epochs."""
    cfg = {k: v for k, v in dataclasses.asdict(config).items() if k not in ("epochs", "profile")}
    return {"data_sha1": hashlib.sha1(vectors.tobytes()).hexdigest(), "shape": list(vectors.shape),
            "config": cfg}


def _save_checkpoint(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: an interruption never leaves half a checkpoint


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by ``train_autoencoder`` (CPU tensors)."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise RuntimeError(f"{path}: cannot read the checkpoint ({exc}); delete it to train from scratch") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise RuntimeError(f"{path}: not an asdlib autoencoder checkpoint (format "
                           f"{state.get('format') if isinstance(state, dict) else '?'}); delete it")
    return state


def load_model(path: str | Path, device=None) -> DenseAutoencoder:
    """The trained model stored in a checkpoint, in eval mode."""
    state = load_checkpoint(path)
    model = DenseAutoencoder(AutoencoderConfig(**state["config"]))
    model.load_state_dict(state["model"])
    return model.to(device or "cpu").eval()


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
) -> TrainedAutoencoder:
    """Train (or resume training) the baseline autoencoder on ``vectors`` ``(N, 640)``.

    - the vectors used are ``select_training_vectors`` (all of them in the official setting),
      split by ``split_train_val`` into training and validation vectors;
    - mini-batches of ``batch_size`` in an order drawn each epoch from a seeded generator; a
      last batch of a single vector is skipped (BatchNorm needs two; the official code does
      the same);
    - after every epoch: validation MSE (eval mode), history entry, checkpoint (when given),
      ``on_epoch_end(epoch, entry)``;
    - ``max_epochs_this_call`` stops early (the checkpoint lets a later call resume);
    - ``num_threads``: CPU threads while training (``cpu_threads``; None leaves them). The
      model is small: on 2 cores one thread ran a step in ~14 ms, two threads took
      60-700 ms whenever another process was busy (measured), so 1 it is.

    A checkpoint made from other data or other settings is never resumed: it is moved aside
    to ``<name>.stale.pt`` with a warning naming both, and training starts from scratch. One
    with more epochs than ``config.epochs`` is refused with an error naming the file.
    """
    from ..runtime import cpu_threads, default_device

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != config.input_dim:
        raise ValueError(f"vectors must have shape (N, {config.input_dim}), got {vectors.shape}")
    if not np.all(np.isfinite(vectors)):
        raise ValueError("training vectors hold NaN/inf values")
    device = torch.device(device) if device is not None else default_device()
    checkpoint = Path(checkpoint) if checkpoint is not None else None

    used = select_training_vectors(len(vectors), config)
    tr, va = split_train_val(len(used), config.val_fraction, config.seed)
    train_index, val_index = used[tr], used[va]
    fingerprint = _fingerprint(vectors, config)

    model = build_autoencoder(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    shuffler = torch.Generator().manual_seed(config.seed)
    history: list[dict] = []
    start = 0
    state = None
    if checkpoint is not None and checkpoint.is_file():
        state = load_checkpoint(checkpoint)
        if state["fingerprint"] != fingerprint:
            old, new = state["fingerprint"], fingerprint
            what = [k for k in ("data_sha1", "shape") if old.get(k) != new.get(k)]
            what += [f"config.{k}" for k in new["config"] if old["config"].get(k) != new["config"][k]]
            # Never resume from it; keep it aside (a long run is not lost) and start afresh.
            stale = checkpoint.with_suffix(".stale.pt")
            os.replace(checkpoint, stale)
            warnings.warn(f"{checkpoint} was trained on other data or settings (differs: "
                          f"{', '.join(what) or '?'}); moved to {stale.name}, training from scratch",
                          stacklevel=2)
            state = None
    if checkpoint is not None and state is not None:
        if state["epoch"] > config.epochs:
            raise RuntimeError(f"{checkpoint} already holds {state['epoch']} epochs, more than the "
                               f"{config.epochs} asked for; delete it or ask for >= {state['epoch']} epochs")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        shuffler.set_state(state["shuffler"])
        history = list(state["history"])
        start = int(state["epoch"])

    x_train = torch.from_numpy(vectors[train_index]).to(device)
    x_val = torch.from_numpy(vectors[val_index]).to(device)
    stop = config.epochs if max_epochs_this_call is None else min(config.epochs, start + max_epochs_this_call)

    bar = None
    if progress and stop > start:
        with warnings.catch_warnings():  # "IProgress not found": falls back to a text bar
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm

        # a few refreshes per model, not one per epoch: executed notebooks keep every line
        bar = tqdm(total=config.epochs, initial=start, desc=desc, leave=False, unit="epoch", mininterval=2.0)
    t_call = time.perf_counter()
    try:
        with cpu_threads(num_threads, device):
            for epoch in range(start + 1, stop + 1):
                t0 = time.perf_counter()
                model.train()
                order = torch.randperm(len(x_train), generator=shuffler).to(device)
                loss_sum, n_batches = 0.0, 0
                for i in range(0, len(order), config.batch_size):
                    idx = order[i:i + config.batch_size]
                    if len(idx) < 2:
                        continue
                    xb = x_train[idx]
                    optimizer.zero_grad(set_to_none=True)
                    loss = F.mse_loss(model(xb), xb)
                    loss.backward()
                    optimizer.step()
                    loss_sum += loss.item()
                    n_batches += 1
                entry = {"epoch": epoch, "train_loss": loss_sum / max(n_batches, 1),
                         "val_loss": mean_squared_error(model, x_val),
                         "seconds": time.perf_counter() - t0}
                history.append(entry)
                if checkpoint is not None:
                    _save_checkpoint(checkpoint, {
                        "format": CHECKPOINT_FORMAT,
                        "config": dataclasses.asdict(config),
                        "fingerprint": fingerprint,
                        "epoch": epoch,
                        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                        "optimizer": optimizer.state_dict(),
                        "shuffler": shuffler.get_state(),
                        "history": history,
                    })
                if bar is not None:
                    bar.set_postfix(train=f"{entry['train_loss']:.2f}", val=f"{entry['val_loss']:.2f}",
                                    refresh=False)
                    bar.update(1)
                if on_epoch_end is not None:
                    on_epoch_end(epoch, entry)
    finally:
        if bar is not None:
            bar.close()
    model.eval()
    return TrainedAutoencoder(model=model, history=history, train_index=train_index, val_index=val_index,
                              epochs_done=len(history), resumed_from=start,
                              seconds=time.perf_counter() - t_call)


def describe_checkpoint(path: str | Path) -> str:
    """A one-line summary of a checkpoint (epochs, last losses, settings)."""
    state = load_checkpoint(path)
    last = state["history"][-1] if state["history"] else {}
    return (f"{path}: {state['epoch']} epochs, train loss {last.get('train_loss', float('nan')):.3f}, "
            f"val loss {last.get('val_loss', float('nan')):.3f}, config "
            f"{json.dumps({k: state['config'][k] for k in ('epochs', 'batch_size', 'lr', 'seed')})}")
