"""Device choice, seeding and provenance (the commit), shared by every trainer and every record."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
from pathlib import Path

import numpy as np

from asdlib.paths import REPO_ROOT


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


@contextlib.contextmanager
def cpu_threads(n: int | None, device=None):
    """Temporarily limit torch and the BLAS/OpenMP pools to ``n`` CPU threads.

    No-op for None or a GPU device. On a 2-core machine with any other busy process, two
    threads ran the baseline autoencoder's steps 5-50x slower than one, and numpy's covariance 5-15x
    slower (measured), so the baselines default to one.
    """
    import torch

    if n is None or (device is not None and torch.device(device).type != "cpu"):
        yield
        return
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)


def git_commit(repo: Path = REPO_ROOT) -> str | None:
    """``HEAD`` of the checkout, with ``+dirty`` when tracked files are modified; None
    without git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=repo, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")
