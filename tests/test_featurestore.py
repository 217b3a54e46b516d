"""The memory-mapped log-mel store: same features as the per-clip front end, reused, never half-written."""

import sys

import numpy as np
import pytest
import soundfile as sf

from asdlib import features
from asdlib.data.layout import AudioError
from asdlib.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))  # the store is a benchmark's, not the library's
from featurestore import LogMelStore, logmel_store  # noqa: E402

pytestmark = pytest.mark.slow  # worker processes: not in make check


def _clips(folder, lengths, sr=16000, seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for i, n in enumerate(lengths):
        t = np.arange(n) / sr
        x = 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t) + 0.05 * rng.standard_normal(n)
        p = folder / f"clip_{i:02d}.wav"
        sf.write(p, x.astype(np.float32), sr, subtype="PCM_16")
        paths.append(str(p))
    return paths


@pytest.mark.parametrize("workers", [1, 2])
def test_store_holds_the_front_ends_log_mels_in_order(tmp_path, workers):
    # clips of unequal length (as ToyCar/ToyTrain next to 10-s types), more clips than one chunk
    paths = _clips(tmp_path, [16000, 24000, 16000, 8000, 20000, 16000, 12345])
    ref = features.clip_logmels(paths, cache=False)
    store = logmel_store(paths, dtype="float32", cache_dir=tmp_path / "cache", workers=workers, chunk=3)
    assert len(store) == len(paths) and store.paths == paths
    for i, r in enumerate(ref):
        assert store[i].shape == r.shape
        np.testing.assert_allclose(store[i], r, atol=1e-4)
    np.testing.assert_allclose(store.clip_means(chunk=2), features.clip_mean_logmel(ref), atol=1e-4)
    # float16: a rounding of the dB values, far below any level difference that matters
    half = logmel_store(paths, dtype="float16", cache_dir=tmp_path / "cache", workers=workers, chunk=3)
    assert half.folder != store.folder and half.data.dtype == np.float16
    worst = max(float(np.abs(half[i] - r).max()) for i, r in enumerate(ref))
    assert 0 < worst < 0.07


def test_store_is_reused_and_rebuilt_when_a_file_changes(tmp_path):
    paths = _clips(tmp_path, [16000, 16000, 16000])
    cache = tmp_path / "cache"
    first = logmel_store(paths, cache_dir=cache, workers=1)
    again = logmel_store(paths, cache_dir=cache, workers=1)
    assert again.folder == first.folder
    assert (again.folder / "data.npy").stat().st_mtime_ns == (first.folder / "data.npy").stat().st_mtime_ns
    # rewrite one clip (another signal, another length): a new store, never the stale one
    sf.write(paths[1], np.zeros(8000, dtype=np.float32) + 0.1, 16000, subtype="PCM_16")
    changed = logmel_store(paths, cache_dir=cache, workers=1)
    assert changed.folder != first.folder
    assert changed[1].shape[1] == 1 + 8000 // 512
    assert isinstance(LogMelStore(first.folder), LogMelStore)  # the old one is still a complete store


def test_a_bad_clip_names_the_file_and_leaves_no_store(tmp_path):
    paths = _clips(tmp_path, [16000, 16000])
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF0000WAVEnot really audio")
    cache = tmp_path / "cache"
    with pytest.raises(AudioError, match="broken.wav"):  # found in the headers, before any work
        logmel_store([*paths, str(bad)], cache_dir=cache, workers=1)
    # a readable header but unusable audio (silence): found by a worker while the store is written
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, dtype=np.float32), 16000, subtype="PCM_16")
    for workers in (1, 2):
        with pytest.raises(AudioError, match="silent.wav"):
            logmel_store([*paths, str(silent)], cache_dir=cache, workers=workers, chunk=1)
        assert not list((cache / "logmel-store").iterdir())  # nothing half-written that looks valid
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        logmel_store([*paths, str(tmp_path / "missing.wav")], cache_dir=cache)
    with pytest.raises(ValueError, match="dtype"):
        logmel_store(paths, dtype="int8", cache_dir=cache)
