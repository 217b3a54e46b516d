"""Shared, generic fixtures. Topic-specific fixtures live in their own test modules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from asdlib.paths import REPO_ROOT, ground_truth_root, real_data_root


def running_in_ci() -> bool:
    """True when the CI runner set ``CI`` (``true``/``1``/``yes``)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Folder of the real recordings (``ASD_REAL_DATA``, default ``../shared/data/real``).

    Absent: the test is skipped on a workstation, but **fails** in CI (``CI=true``), where
    the folder must be there.
    """
    root = real_data_root()
    if root is None:
        default = REPO_ROOT.parent / "shared" / "data" / "real"
        msg = (
            f"real recordings not found (ASD_REAL_DATA={os.environ.get('ASD_REAL_DATA')!r}, "
            f"default {default}). Fix: export ASD_REAL_DATA=/path/to/real (the folder holding "
            "dcase2023-dev-samples/ and sensiml-fan/), or place it at the default."
        )
        if running_in_ci():
            pytest.fail(msg + " In CI this data is required.", pytrace=False)
        pytest.skip(msg)
    return root


@pytest.fixture(scope="session")
def gt_root() -> Path:
    """Official DCASE 2024 ground-truth CSVs (``ASD_GROUND_TRUTH``, default
    ``../shared/data/dcase2024-ground-truth``); skipped when absent, fails in CI."""
    root = ground_truth_root()
    if root is None:
        msg = ("official DCASE 2024 ground truth not found. Fix: export ASD_GROUND_TRUTH=/path/to/"
               "dcase2024-ground-truth (the folder holding ground_truth_data/).")
        if running_in_ci():
            pytest.fail(msg + " In CI this data is required.", pytrace=False)
        pytest.skip(msg)
    return root
