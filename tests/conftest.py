"""Shared, generic fixtures. Topic-specific fixtures live in their own test modules."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

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


# --------------------------------------------------------------------------- command lines
class CommandLine:
    """``python -m <module>`` run in-process through the module's ``main``, output captured."""

    def __init__(self, capsys):
        self.capsys = capsys

    def __call__(self, module, *args) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of ``module.main(args)``; arguments may be paths."""
        code = module.main([str(a) for a in args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def error(self, module, *args) -> str:
        """The one line a refused command prints: exit code 2, nothing on stdout."""
        code, out, err = self(module, *args)
        assert code == 2 and out == "" and err.count("\n") == 1, (code, out, err)
        return err.strip()


@pytest.fixture
def cli(capsys) -> CommandLine:
    """``cli(asdlib.book.score, *args)`` -> (code, out, err); ``cli.error(asdlib.book.score, *args)`` -> its error line."""
    return CommandLine(capsys)


# --------------------------------------------------------------------------- small audio datasets
SR = 16000


def _tone(rng, f0, n):
    t = np.arange(n) / SR
    x = sum(a * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6.3)) for k, a in [(1, 0.3), (2, 0.15), (3, 0.08)])
    return x + 0.01 * rng.normal(size=n)


def _write_dataset(root, rng):
    """Two machine types of harmonic tones; anomalies = strong broadband clicks + a 3 kHz whine."""
    n = SR  # 1-s clips
    groups = {"toneA": {"source": [("spd_1", 220.0), ("spd_2", 330.0)], "target": [("spd_3", 440.0)]},
              "toneB": {"source": [("noAttribute", 520.0)], "target": [("noAttribute", 610.0)]}}
    for mtype, doms in groups.items():
        for split in ("train", "test"):
            (root / mtype / split).mkdir(parents=True)
        for dom, opts in doms.items():
            n_train = 16 if dom == "source" else 4
            for i in range(n_train):
                attr, f0 = opts[i % len(opts)]
                x = _tone(rng, f0 * rng.uniform(0.99, 1.01), n)
                sf.write(root / mtype / "train" / f"section_00_{dom}_train_normal_{i:04d}_{attr}.wav", x, SR)
            for label in ("normal", "anomaly"):
                for i in range(6):
                    attr, f0 = opts[i % len(opts)]
                    x = _tone(rng, f0 * rng.uniform(0.99, 1.01), n)
                    if label == "anomaly":
                        clicks = np.zeros(n)
                        clicks[rng.integers(0, n, 12)] = 0.8
                        x = x + np.convolve(clicks, rng.normal(size=64) * 0.5, "same")
                        x = x + 0.1 * np.sin(2 * np.pi * 3000 * np.arange(n) / SR)
                    sf.write(root / mtype / "test" / f"section_00_{dom}_test_{label}_{i:04d}_{attr}.wav", x, SR)


@pytest.fixture(scope="session")
def two_type_tones(tmp_path_factory):
    """Two machine types of 1-s harmonic tones (toneA with attributes, toneB hidden), source
    and target domains, planted anomalies; the shared small dataset of the learned systems."""
    from asdlib import data

    root = tmp_path_factory.mktemp("tones")
    _write_dataset(root, np.random.default_rng(0))
    return data.clip_table(root)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts subprocesses or kernels (seconds to a minute); still part of make test")
    config.addinivalue_line("markers", "training: trains networks or runs notebooks; part of make test, not of make check")


#: The longest test files first: pytest-xdist hands whole files to the two workers in collection
#: order (--dist loadfile), so a long file collected last keeps one worker busy while the other
#: idles. (test_viz led while it held UMAP's 30-s numba compile; make venv now compiles it once.)
LONGEST_FILES_FIRST = ("test_interruption.py", "test_experiment.py", "test_verify.py", "test_baselines.py",
                       "test_engine.py", "test_viz.py")


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
