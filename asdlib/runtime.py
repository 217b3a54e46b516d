"""Device choice, seeding, progress bars and provenance (the commit), shared by every trainer and
every record."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
from pathlib import Path

import numpy as np

from asdlib.paths import REPO_ROOT

#: Environment variable that switches every progress bar of asdlib off: ``ASD_PROGRESS=0``
#: (also ``false``, ``no``, ``off``). The book's build (``make book``) sets it, so executed
#: chapters keep no bar in their outputs; unset, bars show as their callers ask.
PROGRESS_ENV = "ASD_PROGRESS"
_OFF = {"0", "false", "no", "off"}


def progress_enabled(requested: bool = True) -> bool:
    """Whether to draw a progress bar: ``requested`` (the caller's own ``progress`` argument),
    unless the environment says ``ASD_PROGRESS=0``.

    The one place that reads :data:`PROGRESS_ENV`; every ``tqdm(...)`` of asdlib passes
    ``disable=not progress_enabled(...)``. The variable can only switch bars off, never on
    where a caller asked for none (e.g. training in worker processes). Read at each call, so
    a kernel or test that sets it takes effect at once.
    """
    value = os.environ.get(PROGRESS_ENV, "").strip().lower()
    return bool(requested) and value not in _OFF


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
