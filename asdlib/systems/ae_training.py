"""Training the official baseline autoencoder: the official schedule on the book's one loop.

Which vectors train (``select_training_vectors``) and which are held out
(``split_train_val``), the order an epoch visits them (``epoch_order``: AE-MAHALA's official
covariance pass replays one extra epoch), and ``train_autoencoder``: Adam, mini-batches of
``batch_size`` from a seeded generator, validation MSE after every epoch, through
``asdlib.systems.training`` (a checkpoint after every epoch, resumed when called again; the
generator's state is part of it, so an interrupted and resumed run ends with the weights of an
uninterrupted one). The network itself is ``asdlib.models.autoencoder``; the detectors built
on it are ``asdlib.systems.baselines``.
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

from asdlib.models.autoencoder import AutoencoderConfig, DenseAutoencoder, build_autoencoder


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

    Checkpoints follow ``asdlib.systems.training``'s one rule (continued when data and settings
    match, otherwise moved aside with a warning; ``resume=False`` starts afresh).
    """
    from asdlib.runtime import cpu_threads, default_device
    from asdlib.systems.training import train

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
