"""Where things live: repository root, the generated datasets, the real recordings.

Real recordings are never copied into the repository: their folder is found through the
``ASD_REAL_DATA`` environment variable, defaulting to ``../shared/data/real`` beside the
checkout when that exists.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_root(profile: str = "demo") -> Path:
    """Folder of the generated (synthetic) dataset for a profile.

    ``ASD_DATA_DIR`` overrides the parent folder (default ``<repo>/data/synthetic``).
    """
    parent = Path(os.environ.get("ASD_DATA_DIR", REPO_ROOT / "data" / "synthetic"))
    return parent / profile


def real_data_root(required: bool = False) -> Path | None:
    """Folder of the real recordings, or None when it is absent.

    ``ASD_REAL_DATA`` wins; otherwise ``<repo>/../shared/data/real``. With ``required=True``
    (or in CI, ``CI=true``) a missing folder raises with the fix spelled out.
    """
    env = os.environ.get("ASD_REAL_DATA")
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "real"
    if candidate.is_dir():
        return candidate
    # In CI the real recordings must be there: a chapter must not skip its real-audio
    # section and still pass nbval.
    if required or os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        raise FileNotFoundError(
            f"Real recordings not found at {candidate}. Set ASD_REAL_DATA to the folder "
            "that holds dcase2023-dev-samples/ and sensiml-fan/."
        )
    return None


def ground_truth_root() -> Path | None:
    """Official DCASE 2024 ground-truth CSVs (``ASD_GROUND_TRUTH`` or ../shared/data/...)."""
    env = os.environ.get("ASD_GROUND_TRUTH")
    candidate = (
        Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "dcase2024-ground-truth"
    )
    return candidate if candidate.is_dir() else None


def cache_root() -> Path:
    """Feature cache folder (``ASD_CACHE_DIR`` or ``<repo>/.cache/asdlib``)."""
    return Path(os.environ.get("ASD_CACHE_DIR", REPO_ROOT / ".cache" / "asdlib"))


#: Cache folders found unwritable in this process (warned about once each).
_UNWRITABLE_CACHES: set[Path] = set()


def save_to_cache(path: str | Path, array, cache_dir: str | Path) -> bool:
    """Write ``array`` to ``path`` (``.npy``, atomically) inside the cache ``cache_dir``.

    The cache only saves time: when it cannot be written (read-only folder, full disk) the
    run goes on without it, with one warning per cache folder. Returns whether it was written.
    """
    import numpy as np

    path, cache_dir = Path(path), Path(cache_dir)
    if cache_dir in _UNWRITABLE_CACHES:
        return False
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:  # written aside, then renamed: readers never see half a file
            np.save(fh, array)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        _UNWRITABLE_CACHES.add(cache_dir)
        warnings.warn(f"cache folder {cache_dir} cannot be written ({exc.strerror or exc}); going on without "
                      "caching (slower). Set ASD_CACHE_DIR to a writable folder to cache.", stacklevel=3)
        return False
    return True
