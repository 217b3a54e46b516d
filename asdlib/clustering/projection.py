"""2-D maps of high-dimensional points (embeddings, statistics): the book's one UMAP helper.

Computing only; ``asdlib.viz.figures`` draws the result.
"""

from __future__ import annotations

import numpy as np

#: Below this many points UMAP is not meaningful; ``embed_umap`` falls back to PCA.
MIN_UMAP_POINTS = 10
#: umap-learn computes exact neighbours below this size; precomputed distances make it fast.
UMAP_EXACT_LIMIT = 4096


_UMAP_CACHE_ENABLED = False


def _cache_umap_compilation() -> None:
    """Let numba keep umap-learn's compiled functions on disk.

    umap-learn compiles about a hundred numba functions in every new process (~10 s: every
    chapter kernel, every test worker) and asks numba to cache none of them. Enabling numba's
    own on-disk cache for them (``Dispatcher.enable_caching``, what ``cache=True`` does) makes
    every later process load the machine code instead (0.2 s). The code is the same, so are
    the results; numba keys the cache on the source files and its own version. Once per process."""
    global _UMAP_CACHE_ENABLED
    if _UMAP_CACHE_ENABLED:
        return
    _UMAP_CACHE_ENABLED = True
    import sys

    import numba

    for name, module in list(sys.modules.items()):
        if not name.startswith(("umap.", "pynndescent.")) or module is None:
            continue
        for fn in list(vars(module).values()):
            if isinstance(fn, numba.core.registry.CPUDispatcher):
                try:
                    fn.enable_caching()
                except Exception:  # a function numba cannot cache stays compiled per process
                    pass


def precompile() -> float:
    """Compile umap-learn's functions once into numba's disk cache (``make venv`` calls this
    after installing): every later process, chapter kernel or test, loads them instead of
    compiling. Returns the seconds it took."""
    import time

    t0 = time.perf_counter()
    X = np.random.default_rng(0).normal(size=(4 * MIN_UMAP_POINTS, 4))
    embed_umap(X, seed=0)
    embed_umap(X, seed=0, metric="cosine")
    return time.perf_counter() - t0


def _pca_2d(X: np.ndarray) -> np.ndarray:
    n, d = X.shape
    out = np.zeros((n, 2))
    if n < 2:
        return out
    from sklearn.decomposition import PCA

    k = min(2, n, d)
    out[:, :k] = PCA(n_components=k).fit_transform(X)
    return out


def embed_umap(
    X,
    seed: int = 0,
    n_neighbors: int = 15,
    metric: str = "euclidean",
    min_dist: float = 0.1,
) -> np.ndarray:
    """Embed the rows of ``X`` in 2-D with UMAP; returns an ``(n, 2)`` float array.

    The one UMAP helper of the book. Deterministic for a given ``seed`` (single-threaded
    UMAP). Below 4096 points the pairwise distances are computed once by scikit-learn and
    handed to UMAP as ``metric="precomputed"`` (umap-learn's own exact path is several
    times slower there). ``n_neighbors`` is capped at ``n - 1``. With fewer than
    ``MIN_UMAP_POINTS`` points UMAP is meaningless: the first two principal components
    are returned instead, and a note is printed.

    The first call on a machine pays numba's compilation (~10 s); later processes load the
    compiled code from numba's on-disk cache (:func:`_cache_umap_compilation`).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"embed_umap expects a 2-D array (n_points, n_features), got shape {X.shape}")
    n = X.shape[0]
    if n < MIN_UMAP_POINTS:
        print(f"embed_umap: only {n} points (< {MIN_UMAP_POINTS}); using PCA instead of UMAP.")
        return _pca_2d(X)

    import warnings

    from umap import UMAP

    _cache_umap_compilation()
    k = max(2, min(int(n_neighbors), n - 1))
    kwargs = dict(n_neighbors=k, n_components=2, min_dist=min_dist, random_state=seed, n_jobs=1)
    with warnings.catch_warnings():
        # "n_jobs value 1 overridden to 1 by setting random_state", precomputed-metric notes,
        # and spectral-initialisation fallbacks on tiny sets: expected, not actionable.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"umap")
        if n < UMAP_EXACT_LIMIT:
            from sklearn.metrics import pairwise_distances

            D = pairwise_distances(X, metric=metric)
            emb = UMAP(metric="precomputed", **kwargs).fit_transform(D)
        else:
            emb = UMAP(metric=metric, **kwargs).fit_transform(X)
    return np.asarray(emb, dtype=np.float64)
