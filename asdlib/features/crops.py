"""Waveform access for training and embedding: random crops of train clips, covering crops.

Learned systems train on random crops of the normal clips and embed a whole clip as the
mean over crops that cover it; both read audio through here (``asdlib.data.layout.load_audio``
resamples and folds channels, so a crop is always mono at the system's rate).

``clip_audio(path, sr)`` keeps resampled clips in memory (least recently used first out,
``ASD_AUDIO_CACHE_MB``, default 1024 MB): resampling to System-3's 19.2 kHz costs ~10 ms a
clip, and a chapter that trains four variants would otherwise resample every clip eight
times. Native-rate clips are not cached (reading them is as cheap as the cache).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Iterable

import numpy as np

from asdlib.data.layout import AudioError, load_audio

_CACHE: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
_CACHE_BYTES = 0


def clip_audio(path: str, sr: int) -> np.ndarray:
    """``load_audio(path, sr=sr)``, resampled clips served from an in-memory LRU cache keyed by
    the file (path, size, modification time) and the rate; the array is read-only."""
    global _CACHE_BYTES
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns, sr)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    import soundfile as sf

    x = load_audio(path, sr=sr)
    if sf.info(path).samplerate == sr:
        return x
    x.setflags(write=False)
    limit = float(os.environ.get("ASD_AUDIO_CACHE_MB", 1024)) * 2**20
    _CACHE[key] = x
    _CACHE_BYTES += x.nbytes
    while _CACHE_BYTES > limit and _CACHE:
        _CACHE_BYTES -= _CACHE.popitem(last=False)[1].nbytes
    return x


class ClipAudio:
    """Waveforms of a list of clips at 16 kHz, read as random training crops.

    Audio is kept in memory when it fits in ``preload_mb``; otherwise crops are read from
    disk (soundfile seeks; files at another rate are loaded whole and resampled).
    """

    def __init__(self, paths: Iterable[str], sample_rate: int = 16000, preload_mb: float = 1024.0):
        self.paths = [str(p) for p in paths]
        self.sr = sample_rate
        import soundfile as sf

        self.frames, self.native = [], []
        bad = []
        for p in self.paths:
            try:
                info = sf.info(p)
            except Exception as exc:  # unreadable header
                bad.append(f"{p}: {exc}")
                continue
            self.native.append(info.samplerate == sample_rate and info.channels == 1)
            self.frames.append(int(round(info.frames * sample_rate / info.samplerate)))
        if bad:
            raise AudioError(f"{len(bad)} clip(s) cannot be read:\n  " + "\n  ".join(bad))
        self.memory: list[np.ndarray] | None = None
        if sum(self.frames) * 4 / 2**20 <= preload_mb:
            self.memory = self._load_all()

    def _load_all(self) -> list[np.ndarray]:
        out, bad = [], []
        for p in self.paths:
            try:
                out.append(clip_audio(p, self.sr))
            except AudioError as exc:
                bad.append(str(exc))
        if bad:
            raise AudioError(f"{len(bad)} clip(s) cannot be used:\n  " + "\n  ".join(bad))
        self.frames = [len(x) for x in out]
        return out

    def __len__(self) -> int:
        return len(self.paths)

    def read(self, i: int, start: int, n: int) -> np.ndarray:
        """``n`` samples of clip ``i`` from ``start``; clips shorter than ``n`` are repeated."""
        if self.memory is not None:
            x = self.memory[i]
        elif self.native[i]:
            import soundfile as sf

            stop = min(start + n, self.frames[i])
            x, _ = sf.read(self.paths[i], start=start, stop=stop, dtype="float32")
            start = 0
        else:
            x = clip_audio(self.paths[i], self.sr)
        x = x[start:start + n]
        return np.resize(x, n) if len(x) < n else x  # np.resize repeats: stationary machine sound

    def random_crops(self, idx: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        starts = [int(rng.integers(0, max(self.frames[i] - n, 0) + 1)) for i in idx]
        return np.stack([self.read(i, s, n) for i, s in zip(idx, starts)])



def covering_crops(x: np.ndarray, n: int) -> np.ndarray:
    """``(n_crops, n)``: non-overlapping crops over the clip, the last one ending at the clip's
    end (so no audio is left out); a clip shorter than ``n`` is repeated to ``n``."""
    if len(x) <= n:
        return np.resize(x, n)[None]
    starts = list(range(0, len(x) - n + 1, n))
    if starts[-1] + n < len(x):
        starts.append(len(x) - n)
    return np.stack([x[s:s + n] for s in starts])
