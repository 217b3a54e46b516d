"""Front ends: the official baseline's log-mel spectrogram, frame stacking, a feature cache.

The official DCASE 2024 baseline computes, at the native 16 kHz, a mel power spectrogram
(n_fft 1024, hop 512, 128 mels, power 2) with librosa and takes ``10*log10(max(mel, eps))``.
We compute the same with torchaudio: librosa's Slaney mel scale and area normalisation,
centred frames with zero padding (librosa >= 0.10's default).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

from asdlib.data.layout import AudioError, load_audio
from asdlib.paths import cache_root, save_to_cache
from asdlib.runtime import progress_enabled

EPS = sys.float_info.epsilon  # the baseline's floor before the log


@dataclass(frozen=True)
class LogMelConfig:
    """Log-mel parameters; defaults are the official baseline's."""

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 128
    power: float = 2.0
    duration: float | None = None  # seconds; None keeps each clip's own length

    def key(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


class LogMel(torch.nn.Module):
    """Waveform batch ``(B, T)`` -> log-mel ``(B, n_mels, frames)`` in dB-like units."""

    def __init__(self, config: LogMelConfig = LogMelConfig()):
        super().__init__()
        import torchaudio

        self.config = config
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=config.sample_rate, n_fft=config.n_fft, hop_length=config.hop_length,
            n_mels=config.n_mels, power=config.power, center=True, pad_mode="constant",
            mel_scale="slaney", norm="slaney",
        )

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        mel = self.mel(wave)
        return 20.0 / self.config.power * torch.log10(torch.clamp(mel, min=EPS))


def stack_frames(logmel: np.ndarray, n_frames: int = 5) -> np.ndarray:
    """``(n_mels, T)`` -> ``(T - n_frames + 1, n_frames * n_mels)``: the baseline's input vectors.

    Each row concatenates ``n_frames`` consecutive frames, frame by frame (frame t's 128
    values, then frame t+1's, ...), as the official baseline does.
    """
    n_mels, t = logmel.shape
    if t < n_frames:
        raise ValueError(f"clip has {t} frames, fewer than n_frames={n_frames}")
    n_vec = t - n_frames + 1
    return np.concatenate([logmel[:, i:i + n_vec].T for i in range(n_frames)], axis=1)


def cache_file(path: str, folder: str, root: Path) -> Path:
    """Where a per-clip array computed from audio file ``path`` is cached: keyed by the file
    (absolute path, size, modification time) inside ``root/folder`` (``folder`` names what
    is cached and every setting it depends on), so a changed file is never served stale."""
    st = os.stat(path)
    key = hashlib.sha1(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    return root / folder / key[:2] / f"{key}.npy"


def _cache_file(path: str, config: LogMelConfig, root: Path) -> Path:
    return cache_file(path, f"logmel-{config.key()}", root)


def clip_logmels(
    paths: Iterable[str | Path],
    config: LogMelConfig = LogMelConfig(),
    cache: bool = True,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    progress: bool = False,
) -> list[np.ndarray]:
    """Log-mel ``(n_mels, frames)`` of every clip, in order, float32.

    Results are cached on disk, keyed by the file (path, size, modification time) and the
    parameters, so a changed file or setting is never served stale. Equal-length clips are
    transformed in batches. A clip that cannot be read does not stop the others: all bad
    clips are listed by name in one ``AudioError`` at the end.
    """
    paths = [str(p) for p in paths]
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    out: list[np.ndarray | None] = [None] * len(paths)
    todo: list[int] = []
    for i, p in enumerate(paths):
        f = _cache_file(p, config, root) if cache else None
        if f is not None and f.is_file():
            out[i] = np.load(f)
        else:
            todo.append(i)
    front = LogMel(config)
    errors: list[str] = []
    iterator: Sequence[int] | Iterable[int] = todo
    if todo:
        from tqdm.auto import tqdm

        iterator = tqdm(todo, desc="log-mel", leave=False, disable=not progress_enabled(progress))
    batch_idx: list[int] = []
    batch_wav: list[np.ndarray] = []

    def flush() -> None:
        if not batch_idx:
            return
        with torch.no_grad():
            feats = front(torch.from_numpy(np.stack(batch_wav))).numpy().astype(np.float32)
        for j, k in enumerate(batch_idx):
            out[k] = feats[j]
            if cache:
                save_to_cache(_cache_file(paths[k], config, root), feats[j], root)
        batch_idx.clear()
        batch_wav.clear()

    for i in iterator:
        try:
            wav = load_audio(paths[i], sr=config.sample_rate, duration=config.duration)
        except AudioError as exc:
            errors.append(str(exc))
            continue
        if batch_wav and (len(wav) != len(batch_wav[0]) or len(batch_wav) >= batch_size):
            flush()
        batch_idx.append(i)
        batch_wav.append(wav)
    flush()
    if errors:
        raise AudioError(f"{len(errors)} clip(s) could not be used:\n  " + "\n  ".join(errors))
    return out  # type: ignore[return-value]


def clip_mean_logmel(logmels: Sequence[np.ndarray]) -> np.ndarray:
    """``(n_clips, n_mels)``: each clip's temporal mean log-mel (a simple clip embedding)."""
    return np.stack([m.mean(axis=1) for m in logmels])


def band_profiles(clips, logmels: Sequence[np.ndarray], group) -> "pd.DataFrame":
    """Per machine type and group: mean and spread over clips of the clip-mean log-mel.

    ``group`` is a column name or a Series aligned with ``clips`` (e.g. "source normal",
    "target normal", "anomaly"). Returns long-form rows machine_type, group, mel, mean, std.
    """
    import pandas as pd

    X = clip_mean_logmel(logmels)
    g = clips[group] if isinstance(group, str) else group
    rows = []
    for (mtype, name), idx in clips.groupby([clips.machine_type, g.rename("_g")]).indices.items():
        sub = X[idx]
        for mel in range(X.shape[1]):
            rows.append((mtype, name, mel, float(sub[:, mel].mean()), float(sub[:, mel].std())))
    return pd.DataFrame(rows, columns=["machine_type", "group", "mel", "mean", "std"])
