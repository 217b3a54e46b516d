"""Reading one WAV file: float32 mono at the rate asked for, checked, with errors that name
the file. ``scan_dataset`` and every loader read through ``read_mono``, so a clip the scan
passes also loads. Re-exported by ``asdlib.data.layout``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import soundfile as sf


class AudioError(ValueError):
    """One clip cannot be used (the message names the file and the reason)."""


def read_mono(path: str | Path) -> tuple[np.ndarray, int, int]:
    """``(samples folded to mono, sample rate, channels)`` of one clip, checked: the one
    reading that ``scan_dataset`` and ``load_audio`` share, so a clip the scan passes loads.

    Silence and NaN/inf are checked **after** folding to mono (two channels in opposite
    phase cancel). Raises ``AudioError`` naming the file.
    """
    path = Path(path)
    try:
        x, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioError(f"{path}: cannot read audio ({exc}); re-export it as WAV or remove it") from exc
    if x.shape[0] == 0:
        raise AudioError(f"{path}: empty audio (0 samples); remove or replace the file")
    mono = x.mean(axis=1)
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{path}: audio holds NaN/inf samples; re-export it")
    if float(np.max(np.abs(mono))) < 1e-6:
        what = "silent after folding its channels to mono (they cancel: opposite phase?)" if x.shape[1] > 1 \
            else "silent (peak below 1e-6)"
        raise AudioError(f"{path}: {what}; check the recording, remove it")
    return mono, file_sr, x.shape[1]


def load_audio(
    path: str | Path,
    sr: int = 16000,
    duration: float | None = None,
    pad_mode: str = "wrap",
) -> np.ndarray:
    """Read one clip as float32 mono at ``sr`` Hz.

    - multichannel audio is averaged to mono (with a warning);
    - other sample rates are resampled with torchaudio;
    - ``duration`` (seconds) crops longer clips (from the start) and pads shorter ones,
      ``pad_mode='wrap'`` repeating the clip (stationary machine sound), ``'constant'`` with
      zeros. ``duration=None`` keeps the clip's own length.
    Raises ``AudioError`` naming the file for unreadable, empty or silent audio.
    """
    x, file_sr, channels = read_mono(path)
    if channels > 1:
        warnings.warn(f"{path}: {channels} channels folded to mono", stacklevel=2)
    if file_sr != sr:
        import torch
        import torchaudio.functional as AF

        x = AF.resample(torch.from_numpy(x), file_sr, sr).numpy()
    if duration is not None:
        n = int(round(duration * sr))
        if len(x) >= n:
            x = x[:n]
        elif pad_mode == "wrap":
            x = np.resize(x, n)  # np.resize repeats the signal cyclically
        elif pad_mode == "constant":
            x = np.pad(x, (0, n - len(x)))
        else:
            raise ValueError(f"pad_mode must be 'wrap' or 'constant', got {pad_mode!r}")
    return np.ascontiguousarray(x, dtype=np.float32)
