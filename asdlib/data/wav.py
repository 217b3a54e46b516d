"""Reading one WAV file: float32 mono at the rate asked for, checked, with errors that name
the file. ``scan_dataset`` and every loader read through the same checked reading
(``read_mono`` for the loader, ``inspect_audio`` for the scan: one function underneath), so
a clip the scan passes also loads, and a clip the loader refuses is excluded by the scan
for the same reason. The scan refuses constant signals besides, and reports what deserves
only a warning.
Re-exported by ``asdlib.data.layout``.

What the reading refuses (``AudioError``, the clip is excluded) and what the scan only
reports (a warning, the clip is kept) is decided by properties of the data, with the
thresholds below; each threshold says why it has its value.
"""

from __future__ import annotations

import hashlib
import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

#: One step of 16-bit audio (full scale is +-1): the resolution of nearly every recording.
STEP_16 = 2.0 ** -15

# --------------------------------------------------------------------------- thresholds
#: A clip whose samples vary by less than one 16-bit step (standard deviation, -90 dBFS) is a
#: constant: nothing but an offset and quantisation noise, no machine sound (error). The quietest
#: real clip here (a DCASE ToyTrain) varies 170 times more (std 5e-3).
FLAT_STD = STEP_16
#: A clip whose variation is more than 60 dB below its DC offset (std < 0.001 x |mean|) is a
#: constant with a trace of noise, e.g. a dead microphone on a DC-coupled input (error). Real
#: and generated clips have offsets far below their variation (|mean|/std <= 0.016 here).
FLAT_DC_RATIO = 1e-3
#: Length of the stretches in which a clip is checked for dropouts (seconds): 0.1 s, shorter
#: than any machine cycle a detector learns, longer than the gaps between impulsive sounds.
DROPOUT_FRAME = 0.1
#: A clip whose 0.1-s stretches are flat (within two 16-bit steps: digital silence or a stuck
#: value) for more than 5 % of its length has a dropout or gap (warning, the clip is kept): no
#: real or generated clip here has a single flat stretch, while half a second lost from a
#: 10-s clip already shifts its clip-level features.
DROPOUT_SHARE = 0.05
#: Float samples beyond full scale (+-1) by more than this factor are reported (warning):
#: 1.001 (0.01 dB) so that float rounding of audio normalised to exactly +-1 is not.
FULL_SCALE_TOLERANCE = 1.001
#: Float samples beyond 8 x full scale (+18 dB) are an error: no recording chain produces
#: that by missing headroom; such a file holds integer units written as float (peaks in the
#: thousands) or garbage, and its level is off by tens of dB from every other clip.
FLOAT_RANGE_LIMIT = 8.0
#: How near full scale a plateau must be to count as saturation: 0.9 (-0.9 dBFS), because
#: some converters and limiters stop just below full scale (the SensiML fan recorder clips
#: at 32760/32768). Below it, a flat top is a property of the sound, not of the recorder.
SATURATION_LEVEL = 0.9
#: A clip with more than 0.1 % of its samples pinned at its own peak (near full scale) was
#: clipped (warning, kept: its level and spectrum are distorted). 0.1 % is 160 samples of a
#: 10-s clip at 16 kHz; unclipped clips reach their peak in a handful of samples (at most
#: 0.006 % in the generated sets and the DCASE samples); the clipped SensiML blade-fault
#: recordings sit there for 1-9 % of their samples.
SATURATION_SHARE = 0.001


class AudioError(ValueError):
    """One clip cannot be used (the message names the file and the reason; ``reason`` is the
    message without the file)."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason if reason is not None else message

    def __reduce__(self):  # keep ``reason`` across processes (worker pools)
        return self.__class__, (str(self), self.reason)


def _fail(path: Path, reason: str) -> AudioError:
    return AudioError(f"{path}: {reason}", reason)


# --------------------------------------------------------------------------- header vs data
def _riff_data_extent(path: Path) -> tuple[int, int, int] | None:
    """``(frames the header promises, frames the file holds, sample rate)`` of a RIFF/WAVE
    file, from its ``fmt `` and ``data`` chunks and the file size; None for other formats,
    for a data size a streaming writer left unset (0 or 0xFFFFFFFF) or a header it cannot read.

    libsndfile (``sf.info``) silently counts only the frames present, so a copy cut short
    reads as a shorter clip: the header's own count is the only witness.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX"):
                return None
            endian = "<" if head[:4] == b"RIFF" else ">"
            size = os.fstat(fh.fileno()).st_size
            pos, block_align, rate = 12, 0, 0
            for _ in range(64):  # a WAV has a handful of chunks before its data
                if pos + 8 > size:
                    return None
                fh.seek(pos)
                chunk = fh.read(8)
                cid, csize = chunk[:4], struct.unpack(endian + "I", chunk[4:8])[0]
                if cid == b"fmt ":
                    fmt = fh.read(16)
                    if len(fmt) < 16:
                        return None
                    rate = struct.unpack(endian + "I", fmt[4:8])[0]
                    block_align = struct.unpack(endian + "H", fmt[12:14])[0]
                elif cid == b"data":
                    if not block_align or csize in (0, 0xFFFFFFFF):
                        return None
                    present = max(size - (pos + 8), 0)
                    return csize // block_align, min(csize, present) // block_align, rate
                pos += 8 + csize + (csize & 1)
    except OSError:
        return None
    return None


def truncation_reason(path: str | Path) -> str | None:
    """Why a WAV file disagrees with itself (its header promises more samples than it holds:
    a copy cut short), or None. Reads the header and the file size only."""
    extent = _riff_data_extent(Path(path))
    if extent is None:
        return None
    promised, held, rate = extent
    if held >= promised:
        return None
    secs = (lambda n: f" ({n / rate:.3f} s)") if rate else (lambda n: "")
    missing = promised - held
    return (f"truncated: the WAV header promises {promised} samples{secs(promised)} but the file holds only "
            f"{held}{secs(held)}: the last {missing} are missing ({100 * missing / promised:.3g} %), a copy cut "
            "short; copy the file again from its source (or download it again)")


# --------------------------------------------------------------------------- the checked reading
@dataclass
class _Read:
    x: np.ndarray  # samples as read, frames x channels
    mono: np.ndarray  # folded to mono
    sample_rate: int
    subtype: str
    peak: float  # largest magnitude over all channels
    mono_range: tuple[float, float]  # (min, max) of the mono fold


def _read_checked(path: Path) -> _Read:
    """One clip read and checked, or ``AudioError`` for a clip that cannot be used. The one
    reading behind ``read_mono`` (the loader) and ``inspect_audio`` (the scan)."""
    reason = truncation_reason(path)
    if reason:
        raise _fail(path, reason)
    try:
        with sf.SoundFile(str(path)) as fh:
            file_sr, subtype = fh.samplerate, fh.subtype
            if subtype == "PCM_16":  # the same float32 values as libsndfile's, read about 3 x faster
                x = fh.read(dtype="int16", always_2d=True).astype(np.float32)
                x *= STEP_16
            else:
                x = fh.read(dtype="float32", always_2d=True)
    except Exception as exc:
        raise _fail(path, f"cannot read audio ({exc}); re-export it as WAV or remove it") from exc
    if x.shape[0] == 0:
        raise _fail(path, "empty audio (0 samples); remove or replace the file")
    hi, lo = float(x.max()), float(x.min())  # NaN and inf propagate: no extra pass to find them
    if not (np.isfinite(hi) and np.isfinite(lo)):
        raise _fail(path, "audio holds NaN/inf samples; re-export it")
    if x.shape[1] == 1:
        mono, mhi, mlo = x[:, 0], hi, lo
    else:
        mono = x.mean(axis=1)
        mhi, mlo = float(mono.max()), float(mono.min())
    if max(mhi, -mlo) < 1e-6:
        what = "silent after folding its channels to mono (they cancel: opposite phase?)" if x.shape[1] > 1 \
            else "silent (peak below 1e-6)"
        raise _fail(path, f"{what}; check the recording, remove it")
    peak = max(hi, -lo)
    if peak > FLOAT_RANGE_LIMIT:
        raise _fail(path, f"samples reach {peak:.4g}, more than {FLOAT_RANGE_LIMIT:g} x full scale (float audio "
                          "lies within +-1): integer units written as float? its level is off by "
                          f"{20 * np.log10(peak):.0f} dB; rescale it (divide by 32768 if it holds 16-bit "
                          "units, else by its peak) and write it again, or remove it")
    return _Read(x, mono, file_sr, subtype, peak, (mlo, mhi))


def _flat_reason(mono: np.ndarray, lo: float, hi: float) -> str | None:
    """Why a (mono) clip is constant or near-constant (``FLAT_STD``, ``FLAT_DC_RATIO``), or None."""
    # the standard deviation is at least ptp / sqrt(2n): most clips need no further pass
    if (hi - lo) / np.sqrt(2 * len(mono)) >= max(FLAT_STD, FLAT_DC_RATIO * max(hi, -lo)):
        return None
    mean, std = float(mono.mean(dtype=np.float64)), float(mono.std(dtype=np.float64))
    if std < FLAT_STD:
        return (f"constant signal: it varies by less than one 16-bit step around {mean:+.4f} (std {std:.1e}), "
                "no machine sound is left (a dead microphone or a stuck converter?); check the recording, "
                "remove it")
    if std < FLAT_DC_RATIO * abs(mean):
        return (f"near-constant signal: a DC offset of {mean:+.4f} with a variation "
                f"{20 * np.log10(abs(mean) / std):.0f} dB below it (std {std:.1e}), no machine sound is left "
                "(a dead microphone on a DC-coupled input?); check the recording, remove it")
    return None


def read_mono(path: str | Path) -> tuple[np.ndarray, int, int]:
    """``(samples folded to mono, sample rate, channels)`` of one clip, checked: the one
    reading that ``scan_dataset`` and ``load_audio`` share, so a clip the scan passes loads.

    Raises ``AudioError`` naming the file for a truncated copy (header vs data), unreadable,
    empty, NaN/inf or silent audio and float samples far beyond full scale (``FLOAT_RANGE_LIMIT``).
    Silence is checked **after** folding to mono (two channels in opposite phase cancel).
    Constant signals load (a detector can score them); the scan excludes them (``inspect_audio``).
    """
    read = _read_checked(Path(path))
    return read.mono, read.sample_rate, read.x.shape[1]


@dataclass
class AudioCheck:
    """What the scan learns from its one reading of a clip that can be used."""

    sample_rate: int
    channels: int
    frames: int
    digest: str  # sha1 of the decoded samples: the same audio under any name or encoding
    warnings: list[str] = field(default_factory=list)


def inspect_audio(path: str | Path) -> AudioCheck:
    """The scan's reading of one clip: ``read_mono``'s checks (raising the same
    ``AudioError``) and, also an ``AudioError``, a constant or near-constant signal (after
    folding to mono: ``FLAT_STD``, ``FLAT_DC_RATIO``); then what only deserves a warning:
    saturation (``SATURATION_SHARE`` of the samples pinned at a peak above
    ``SATURATION_LEVEL``), float samples beyond full scale (``FULL_SCALE_TOLERANCE``) and
    flat stretches (``DROPOUT_SHARE``); and a hash of the decoded samples, with which
    ``scan_dataset`` finds the same audio under two names (whatever the names or the
    encoding: a 16-bit file and its float copy hash alike)."""
    path = Path(path)
    read = _read_checked(path)
    x, mono, file_sr, peak = read.x, read.mono, read.sample_rate, read.peak
    flat = _flat_reason(mono, *read.mono_range)
    if flat:
        raise _fail(path, flat)
    found = []
    if peak > FULL_SCALE_TOLERANCE:
        found.append(f"float samples reach {peak:.3f}, beyond full scale (+-1): kept as they are, but any "
                     "conversion to 16-bit PCM clips them, and the clip is louder than it should be; "
                     "normalise it (divide by its peak)")
    if peak >= SATURATION_LEVEL:
        step = 2.0 ** -7 if read.subtype in ("PCM_U8", "PCM_S8") else STEP_16  # +32767 and -32768 are one step apart
        share = np.count_nonzero(np.abs(x) >= peak - 1.01 * step) / x.size
        if share > SATURATION_SHARE:
            found.append(f"clipped: {100 * share:.2f} % of its samples sit at its peak ({peak:.4f} of full scale), "
                         f"more than {100 * SATURATION_SHARE:g} %: the recording was saturated and its loudest "
                         "parts are cut off (level and spectrum distorted); kept, but record it again with less "
                         "gain or remove it if it matters")
    frame = int(round(DROPOUT_FRAME * file_sr))
    n_frames = len(mono) // frame if frame > 0 else 0
    if n_frames >= 2:
        stretches = mono[: n_frames * frame].reshape(n_frames, frame)
        share = float(np.mean(stretches.max(axis=1) - stretches.min(axis=1) <= 2 * STEP_16))
        if share > DROPOUT_SHARE:
            found.append(f"flat for {100 * share:.0f} % of its length (0.1-s stretches of digital silence or a "
                         f"stuck value, more than {100 * DROPOUT_SHARE:g} %): a dropout or a gap in the "
                         "recording; kept, but listen to it and cut the gap or replace the clip")
    h = hashlib.sha1(f"{x.shape[1]}:".encode())
    h.update(memoryview(np.ascontiguousarray(x)).cast("B"))
    return AudioCheck(sample_rate=file_sr, channels=x.shape[1], frames=x.shape[0], digest=h.hexdigest(),
                      warnings=found)


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
    Raises ``AudioError`` naming the file for what ``read_mono`` refuses (truncated,
    unreadable, empty, NaN/inf, silent, far beyond full scale).
    """
    x, file_sr, channels = read_mono(path)
    if channels > 1:
        warnings.warn(f"{path}: {channels} channels folded to mono", stacklevel=2)
    if file_sr != sr:
        import torch
        import torchaudio.functional as AF

        x = AF.resample(torch.from_numpy(np.ascontiguousarray(x)), file_sr, sr).numpy()
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
