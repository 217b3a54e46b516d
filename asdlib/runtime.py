"""Device choice and seeding, shared by every trainer."""

from __future__ import annotations

import os
import random

import numpy as np


def default_device(prefer: str | None = None):
    """A CUDA GPU when one exists (or ``prefer``/``ASD_DEVICE`` says so), else the CPU."""
    import torch

    name = prefer or os.environ.get("ASD_DEVICE")
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) for a reproducible run."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
