"""Per-clip statistics: the numbers the statistical clustering groups clips by.

The seed report clusters "statistics of normal audio" without saying which ones. Ours are
computed from the official log-mel spectrogram (``features.clip_logmels``, cached on disk),
so one cheap pass over a clip gives every group below. Each group is named, has a short
description and can be selected on its own:

=================  =====  ==========================================================
group              size   what it measures
=================  =====  ==========================================================
``mel_mean``       128    per mel band: temporal mean of the log-mel (the average
                          spectrum, in dB)
``mel_std``        128    per mel band: temporal standard deviation (how much each
                          band fluctuates)
``mel_skew``       128    per mel band: skewness over time, ``asinh``-compressed
                          (bursts above the floor -> positive)
``mel_kurt``       128    per mel band: log of the (Pearson) kurtosis over time
                          (impulsiveness: clicks, impacts)
``level``          6      clip level: mean frame energy, energy of the mean spectrum,
                          frame-energy std, 10/50/90 % quantiles (dB)
``spectral_shape`` 8      spectral centroid, bandwidth, flatness, 85 % roll-off:
                          each its mean and std over frames
``modulation``     20     temporal modulation: power spectrum of the frame-energy
                          envelope in 4 mel regions x 5 modulation bands (log)
=================  =====  ==========================================================

Column names carry the group as a prefix, ``<group>__<feature>`` (e.g. ``mel_mean__b017``,
``level__p90_db``, ``modulation__r2_m1``), so a table can be split back into groups.

Caveats: level, spectral-shape and modulation descriptors are computed on the mel spectrum
(band centre frequencies; band energies = mel power x band width, which undoes the Slaney
area normalisation; flatness on the mel power itself, a density), an approximation of their
linear-frequency definitions. The
envelope is sampled at the frame rate (16 kHz / hop 512 = 31.25 Hz), so modulation is
seen up to ~15.6 Hz: rhythm (strokes, rail joints, slow wobble), not gear-mesh rates;
those show up as spectral lines in ``mel_mean`` instead.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from asdlib.data.layout import AudioError, load_audio
from asdlib.features.logmel import LogMelConfig, cache_file, clip_logmels
from asdlib.paths import cache_root, save_to_cache

#: Every statistic group, in table order, with a one-line description.
STAT_GROUPS: dict[str, str] = {
    "mel_mean": "per-band temporal mean of the log-mel (average spectrum, dB)",
    "mel_std": "per-band temporal standard deviation of the log-mel",
    "mel_skew": "per-band temporal skewness of the log-mel (asinh-compressed)",
    "mel_kurt": "per-band log Pearson kurtosis of the log-mel (impulsiveness)",
    "level": "clip level: frame-energy mean, std, quantiles; energy of the mean spectrum (dB)",
    "spectral_shape": "spectral centroid, bandwidth, flatness, roll-off (mean and std over frames)",
    "modulation": "frame-energy envelope power in 4 mel regions x 5 modulation bands (log)",
}
DEFAULT_GROUPS: tuple[str, ...] = tuple(STAT_GROUPS)

#: Modulation-frequency band edges (Hz) of the frame-energy envelope.
MODULATION_EDGES_HZ: tuple[float, ...] = (0.25, 1.0, 2.0, 4.0, 8.0, 16.0)
#: Number of mel regions (equal numbers of mel bands) whose envelopes are analysed.
MODULATION_REGIONS = 4
ROLLOFF = 0.85
SEP = "__"


def check_groups(groups: Iterable[str] | str) -> tuple[str, ...]:
    """Validate group names (a single name is allowed); unknown names raise with the list."""
    if isinstance(groups, str):
        groups = (groups,)
    groups = tuple(groups)
    unknown = [g for g in groups if g not in STAT_GROUPS]
    if unknown or not groups:
        raise ValueError(f"unknown statistic group(s) {unknown or '(none given)'}; "
                         f"choose from {list(STAT_GROUPS)}")
    return groups


def group_of(column: str) -> str:
    """``'mel_mean__b017'`` -> ``'mel_mean'``."""
    return column.split(SEP, 1)[0]


def group_columns(columns: Iterable[str], groups: Iterable[str]) -> list[str]:
    """The columns of a statistics table that belong to ``groups`` (table order kept)."""
    wanted = set(check_groups(groups))
    return [c for c in columns if group_of(c) in wanted]


# --------------------------------------------------------------------------- helpers
def _hz_to_mel_slaney(f):
    f = np.asarray(f, dtype=float)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    mel = f / f_sp
    return np.where(f >= min_log_hz, min_log_hz / f_sp + np.log(np.maximum(f, 1e-9) / min_log_hz) / logstep, mel)


def _mel_to_hz_slaney(m):
    m = np.asarray(m, dtype=float)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_band_centres(config: LogMelConfig = LogMelConfig()) -> np.ndarray:
    """Centre frequency (Hz) of every mel band (Slaney scale, 0 Hz .. Nyquist, as the front end)."""
    edges = np.linspace(_hz_to_mel_slaney(0.0), _hz_to_mel_slaney(config.sample_rate / 2), config.n_mels + 2)
    return _mel_to_hz_slaney(edges[1:-1])


def mel_band_widths(config: LogMelConfig = LogMelConfig()) -> np.ndarray:
    """Half the base width (Hz) of every mel triangle: the area the Slaney normalisation
    divided out. ``band power x width`` is the band's share of the spectrum's energy
    (un-normalised triangles sum to one across frequency), ``band power`` alone is a
    spectral density (white noise gives equal values in every band)."""
    edges = _mel_to_hz_slaney(np.linspace(_hz_to_mel_slaney(0.0), _hz_to_mel_slaney(config.sample_rate / 2),
                                          config.n_mels + 2))
    return (edges[2:] - edges[:-2]) / 2.0


def feature_names(groups: Sequence[str] = DEFAULT_GROUPS, config: LogMelConfig = LogMelConfig()) -> list[str]:
    """Column names of ``statistics_table`` for these groups, in order."""
    names: list[str] = []
    for g in check_groups(groups):
        if g.startswith("mel_"):
            names += [f"{g}{SEP}b{i:03d}" for i in range(config.n_mels)]
        elif g == "level":
            names += [f"level{SEP}{n}" for n in ("mean_db", "mean_spectrum_db", "std_db", "p10_db", "p50_db", "p90_db")]
        elif g == "spectral_shape":
            names += [f"spectral_shape{SEP}{d}_{s}" for d in ("centroid_hz", "bandwidth_hz", "flatness", "rolloff_hz")
                      for s in ("mean", "std")]
        elif g == "modulation":
            names += [f"modulation{SEP}r{r}_m{m}" for r in range(MODULATION_REGIONS)
                      for m in range(len(MODULATION_EDGES_HZ) - 1)]
    return names


def _moments(logmel: np.ndarray):
    mean = logmel.mean(axis=1)
    centred = logmel - mean[:, None]
    var = (centred ** 2).mean(axis=1)
    std = np.sqrt(var)
    flat = std < 1e-6  # a band stuck at the floor: skew/kurtosis undefined -> neutral values
    safe = np.where(flat, 1.0, std)
    skew = np.where(flat, 0.0, (centred ** 3).mean(axis=1) / safe ** 3)
    kurt = np.where(flat, 3.0, (centred ** 4).mean(axis=1) / safe ** 4)
    return mean, std, np.arcsinh(skew), np.log(np.maximum(kurt, 1e-6))


def clip_statistics(logmel: np.ndarray, groups: Sequence[str] = DEFAULT_GROUPS,
                    config: LogMelConfig = LogMelConfig()) -> np.ndarray:
    """The statistics vector of one clip's log-mel ``(n_mels, frames)``, in ``feature_names`` order."""
    groups = check_groups(groups)
    logmel = np.asarray(logmel, dtype=np.float64)
    n_mels, n_frames = logmel.shape
    if n_mels != config.n_mels:
        raise ValueError(f"log-mel has {n_mels} bands, the config says {config.n_mels}")
    if n_frames < 8:
        raise ValueError(f"clip has only {n_frames} frames; statistics need at least 8 (~0.25 s)")
    parts: list[np.ndarray] = []
    need_power = any(g in groups for g in ("level", "spectral_shape", "modulation"))
    if need_power:
        density = 10.0 ** (logmel / 10.0)  # back to mel power (the log was 10*log10): a density
        power = density * mel_band_widths(config)[:, None]  # energy per band (undo area normalisation)
        frame_power = power.sum(axis=0) + 1e-30
        frame_db = 10.0 * np.log10(frame_power)
    mom = _moments(logmel) if any(g.startswith("mel_") for g in groups) else None
    for g in groups:
        if g == "mel_mean":
            parts.append(mom[0])
        elif g == "mel_std":
            parts.append(mom[1])
        elif g == "mel_skew":
            parts.append(mom[2])
        elif g == "mel_kurt":
            parts.append(mom[3])
        elif g == "level":
            q10, q50, q90 = np.quantile(frame_db, [0.1, 0.5, 0.9])
            mean_spectrum_db = 10.0 * np.log10(power.mean(axis=1).sum() + 1e-30)
            parts.append(np.array([frame_db.mean(), mean_spectrum_db, frame_db.std(), q10, q50, q90]))
        elif g == "spectral_shape":
            f = mel_band_centres(config)[:, None]
            p = power / frame_power[None, :]
            centroid = (f * p).sum(axis=0)
            bandwidth = np.sqrt(np.maximum((((f - centroid[None, :]) ** 2) * p).sum(axis=0), 0.0))
            # flatness on the density: white noise -> 1, a pure tone -> ~0
            flatness = np.exp(np.log(density + 1e-30).mean(axis=0)) / (density.mean(axis=0) + 1e-30)
            cum = np.cumsum(p, axis=0)
            rolloff = f[np.minimum((cum < ROLLOFF).sum(axis=0), n_mels - 1), 0]
            parts.append(np.array([v for d in (centroid, bandwidth, flatness, rolloff) for v in (d.mean(), d.std())]))
        elif g == "modulation":
            frame_rate = config.sample_rate / config.hop_length
            freqs = np.fft.rfftfreq(n_frames, d=1.0 / frame_rate)
            window = np.hanning(n_frames)
            regions = np.array_split(np.arange(n_mels), MODULATION_REGIONS)
            out = []
            for idx in regions:
                env = 10.0 * np.log10(power[idx].sum(axis=0) + 1e-30)
                env = (env - env.mean()) * window
                # power spectral density (dB^2/Hz): independent of the clip length
                psd = np.abs(np.fft.rfft(env)) ** 2 / (frame_rate * (window ** 2).sum())
                for lo, hi in zip(MODULATION_EDGES_HZ[:-1], MODULATION_EDGES_HZ[1:]):
                    sel = (freqs >= lo) & (freqs < hi)
                    out.append(np.log10(psd[sel].mean() + 1e-12) if sel.any() else -12.0)
            parts.append(np.array(out))
    return np.concatenate(parts).astype(np.float64)


def statistics_table(
    clips: pd.DataFrame,
    groups: Iterable[str] | str = DEFAULT_GROUPS,
    config: LogMelConfig = LogMelConfig(),
    on_error: str = "raise",
    cache: bool = True,
) -> pd.DataFrame:
    """One row of statistics per clip (index aligned with ``clips``), named columns by group.

    Log-mels come from ``features.clip_logmels`` (disk cache). A clip that cannot be read is
    never dropped silently: ``on_error="raise"`` (default) raises one ``AudioError`` naming
    every bad file; ``on_error="report"`` keeps its row filled with NaN, warns with the list
    and records ``{path: reason}`` in ``table.attrs["failed"]``.
    """
    groups = check_groups(groups)
    if on_error not in ("raise", "report"):
        raise ValueError(f"on_error must be 'raise' or 'report', got {on_error!r}")
    if "path" not in clips.columns:
        raise KeyError("statistics_table needs a clip table with a 'path' column (asdlib.data.layout.clip_table)")
    names = feature_names(groups, config)
    paths = clips["path"].astype(str).tolist()
    values = np.full((len(paths), len(names)), np.nan)
    # per-clip statistics are cached too (every chapter that clusters needs them): keyed by
    # the file, the log-mel settings, the groups and this module's source, so editing the
    # statistics code is never answered from an older cache
    cached = _cached_statistics(paths, groups, config) if cache else {}
    for i, row in cached.items():
        values[i] = row
    todo = [i for i in range(len(paths)) if i not in cached]
    failed: dict[str, str] = {}
    computed = _compute_statistics([paths[i] for i in todo], groups, config, cache, failed)
    for i, row in zip(todo, computed):
        if row is not None:
            values[i] = row
            if cache:
                save_to_cache(_statistics_cache_file(paths[i], groups, config), row, cache_root())
    table = pd.DataFrame(values, index=clips.index, columns=names)
    if failed:
        message = f"{len(failed)} clip(s) have no statistics:\n  " + "\n  ".join(failed.values())
        if on_error == "raise":
            raise AudioError(message + "\nFix or remove these files (or pass on_error='report').")
        warnings.warn(message, stacklevel=2)
    table.attrs["failed"] = failed
    return table


@functools.lru_cache(maxsize=1)
def _source_key() -> str:
    return hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:12]


def _statistics_cache_file(path: str, groups: Sequence[str], config: LogMelConfig) -> Path:
    folder = f"stats-{_source_key()}-{config.key()}-{hashlib.sha1('|'.join(groups).encode()).hexdigest()[:8]}"
    return cache_file(path, folder, cache_root())


def _cached_statistics(paths: Sequence[str], groups: Sequence[str], config: LogMelConfig) -> dict[int, np.ndarray]:
    """``{index: statistics row}`` of the clips whose statistics are in the cache."""
    out = {}
    for i, p in enumerate(paths):
        try:
            f = _statistics_cache_file(p, groups, config)
        except OSError:  # a missing file: computed (and reported) below
            continue
        if f.is_file():
            out[i] = np.load(f)
    return out


def _compute_statistics(paths: list[str], groups: Sequence[str], config: LogMelConfig, cache: bool,
                        failed: dict[str, str]) -> list[np.ndarray | None]:
    """Statistics rows of ``paths`` (None for a clip that failed; its reason goes to ``failed``)."""
    if not paths:
        return []
    try:
        logmels: list = clip_logmels(paths, config, cache=cache)
    except AudioError:
        # find the culprits by reading each file (cheap), then take the good clips' log-mels
        # (cached by the first attempt)
        for p in paths:
            try:
                load_audio(p, sr=config.sample_rate, duration=config.duration)
            except AudioError as exc:
                failed[p] = str(exc)
        good = [p for p in paths if p not in failed]
        lut = dict(zip(good, clip_logmels(good, config, cache=cache))) if good else {}
        logmels = [lut.get(p) for p in paths]
    rows: list[np.ndarray | None] = []
    for p, m in zip(paths, logmels):
        row = None
        if m is not None:
            try:
                row = clip_statistics(m, groups, config)
            except ValueError as exc:
                failed[p] = f"{p}: {exc}"
        rows.append(row)
    return rows
