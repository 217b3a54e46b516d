"""Signal building blocks of the generator, rendered with numpy on one clip's grid.

Everything a sound model (``sounds_dev``, ``sounds_additional``) or a recording chain
(``recording``) is made of:

- seeding: ``_rng(*keys)``, an independent generator per tuple of keys (ints and strings, hashed
  stably), so every clip, fault and recording draws from its own stream;
- the grid: ``_grid(n, sr)``, the time, rfft-frequency and log-frequency axes of a clip length;
- noise and filters: ``_white_spec``, ``_noise``, ``_band``, ``_pink``, ``_lowpass``, ``_highpass``;
- bodies and impacts: ``_resonator``, ``_resonances``, ``_jitter_modes``, ``_impulse_spec``,
  ``_periodic_times``;
- tones and trajectories: ``_phase``, ``_harmonics``, ``_lines``, ``_drift``, ``_held``,
  ``_crossings``, ``_cycles``;
- gains and envelopes: ``_jdb``, ``_colouring``, ``_eq_curve``, ``_envelope``, ``_spec_power``,
  ``_line_power``, ``_unit``.

The names keep their leading underscore: they are the package's own vocabulary, not a public API.
"""

from __future__ import annotations

import functools
import zlib
from typing import Iterable, Sequence

import numpy as np

TWO_PI = 2.0 * np.pi


# --------------------------------------------------------------------------- seeding
def _rng(*keys) -> np.random.Generator:
    """Independent generator for a tuple of keys (ints and strings, hashed stably)."""
    ints = [k if isinstance(k, int) and k >= 0 else zlib.crc32(str(k).encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(ints))


# --------------------------------------------------------------------------- DSP blocks
class _Grid:
    """Time and rfft-frequency axes of one clip length."""

    def __init__(self, n: int, sr: int):
        self.n, self.sr = n, sr
        self.t = np.arange(n) / sr
        self.f = np.fft.rfftfreq(n, 1.0 / sr)
        self.m = len(self.f)
        self.dur = n / sr
        # log-frequency axis in [0, 1] between 40 Hz and Nyquist, for smooth colourings
        self.u = np.clip(np.log(np.maximum(self.f, 40.0) / 40.0) / np.log(sr / 2 / 40.0), 0.0, 1.0)
        self.z1 = np.exp(-1j * TWO_PI * self.f / sr)  # unit delay on the rfft grid (for resonators)
        self.z2 = self.z1 * self.z1
        self.t_coarse = np.arange(0.0, self.dur + 0.01, 0.005)  # 200 Hz grid for slow trajectories


@functools.lru_cache(maxsize=8)
def _grid(n: int, sr: int) -> _Grid:
    return _Grid(n, sr)


def _white_spec(g: _Grid, rng: np.random.Generator) -> np.ndarray:
    """Spectrum of unit-variance white noise (complex Gaussian bins)."""
    s = np.float32(np.sqrt(g.n / 2.0))
    z = rng.standard_normal(2 * g.m, dtype=np.float32).view(np.complex64)  # float32: twice as fast
    return z * s


def _noise(g: _Grid, rng: np.random.Generator, gain: np.ndarray) -> np.ndarray:
    """Time signal of white noise shaped by the magnitude curve ``gain(f)``."""
    return np.fft.irfft(_white_spec(g, rng) * gain, g.n)


def _band(f: np.ndarray, fc: float, q: float) -> np.ndarray:
    """Band-pass magnitude (second-order shape) centred on fc with quality q."""
    x = np.maximum(f, 1.0) / fc
    return 1.0 / np.sqrt(1.0 + q * q * (x - 1.0 / x) ** 2)


def _pink(f: np.ndarray, f0: float = 1000.0) -> np.ndarray:
    return np.sqrt(f0 / np.maximum(f, 20.0))


def _lowpass(f: np.ndarray, fc: float, order: int = 2) -> np.ndarray:
    return 1.0 / np.sqrt(1.0 + (f / fc) ** (2 * order))


def _highpass(f: np.ndarray, fc: float, order: int = 2) -> np.ndarray:
    x = (np.maximum(f, 1e-3) / fc) ** (2 * order)
    return np.sqrt(x / (1.0 + x))


@functools.lru_cache(maxsize=48)
def _resonator(n: int, sr: int, fc: float, bw: float) -> np.ndarray:
    """Complex response of a causal two-pole resonator (ringing peak ~1 per unit impulse)."""
    g = _grid(n, sr)
    r = np.exp(-np.pi * bw / sr)
    th = TWO_PI * fc / sr
    return np.sin(th) / (1.0 - 2.0 * r * np.cos(th) * g.z1 + r * r * g.z2)


def _resonances(g: _Grid, modes: Sequence[tuple[float, float, float]], cached: bool = True) -> np.ndarray:
    """Sum of resonators ``(fc, bandwidth, weight)``: the body that impacts excite.

    ``cached=False`` for one-off random modes (they would only evict the models' own ones).
    """
    res = _resonator if cached else _resonator.__wrapped__
    out = np.zeros(g.m, dtype=complex)
    for fc, bw, w in modes:
        out += w * res(g.n, g.sr, round(float(fc), 1), round(float(bw), 1))
    return out


def _jitter_modes(rng: np.random.Generator, modes, f_sd: float = 0.03, w_db: float = 2.0):
    """Each take's resonances sit a little differently (mounting, temperature, wear)."""
    return [(fc * (1 + rng.normal(0, f_sd)), bw * _jdb(rng, 2.0), w * _jdb(rng, w_db)) for fc, bw, w in modes]


def _impulse_spec(g: _Grid, times: np.ndarray, amps: np.ndarray | float) -> np.ndarray:
    """Spectrum of an impulse train (times in s, wrapped into the clip: stationary machine)."""
    x = np.zeros(g.n)
    times = np.asarray(times, dtype=float)
    if times.size:
        idx = np.mod(np.round(times * g.sr).astype(np.int64), g.n)
        np.add.at(x, idx, np.broadcast_to(amps, times.shape))
    return np.fft.rfft(x)


def _periodic_times(g: _Grid, rng: np.random.Generator, rate: float, jitter: float = 0.0) -> np.ndarray:
    """Event times at ``rate`` Hz with random start and relative timing jitter."""
    if rate <= 0:
        return np.zeros(0)
    period = 1.0 / rate
    t = rng.uniform(0, period) + np.arange(int(np.ceil(g.dur * rate)) + 1) * period
    if jitter:
        t = t + rng.normal(0.0, jitter * period, t.size)
    return t[(t >= 0) & (t < g.dur)]


def _drift(g: _Grid, rng: np.random.Generator, depth: float, fmax: float = 0.8) -> np.ndarray:
    """Smooth random trajectory (std ~ depth): slow speed wander of a real machine."""
    fr = rng.uniform(0.05, fmax, 3)
    ph = rng.uniform(0, TWO_PI, 3)
    tc = g.t_coarse  # slow: computed on a coarse grid, then interpolated
    coarse = np.sin(TWO_PI * fr[:, None] * tc[None, :] + ph[:, None]).sum(0)
    return depth * np.sqrt(2.0 / 3.0) * np.interp(g.t, tc, coarse)


def _phase(g: _Grid, freq) -> np.ndarray:
    """Running phase (wrapped to [0, 2pi)) of a constant or time-varying frequency."""
    if np.ndim(freq) == 0:
        return np.mod(TWO_PI * float(freq) * g.t, TWO_PI)
    return np.mod(TWO_PI * np.cumsum(freq) / g.sr, TWO_PI)


def _harmonics(phase: np.ndarray, orders: Iterable[int], amps: Iterable[float],
               rng: np.random.Generator) -> np.ndarray:
    """Sum of integer harmonics of a wrapped phase, random starting phases."""
    out = np.zeros(phase.shape, dtype=np.float32)
    ph32 = phase.astype(np.float32)
    for k, a in zip(orders, amps):
        p0 = rng.uniform(0, TWO_PI)
        if a != 0:
            # float32 sin is several times faster; the phase is wrapped so precision holds
            out += np.float32(a) * np.sin(np.float32(k) * ph32 + np.float32(p0))
    return out.astype(float)


def _jdb(rng: np.random.Generator, sd_db: float, size=None):
    """Random gain factor(s) with ``sd_db`` dB standard deviation."""
    return 10.0 ** (rng.normal(0.0, sd_db, size) / 20.0)


def _colouring(g: _Grid, rng: np.random.Generator, depth_db: float) -> np.ndarray:
    """Smooth random EQ over log-frequency: room and microphone colouring of one take."""
    k = np.arange(1, 6)
    c = rng.normal(0.0, depth_db / np.sqrt(k))
    ph = rng.uniform(0, TWO_PI, k.size)
    return _eq_curve(g, c, ph)


def _eq_curve(g: _Grid, c: np.ndarray, ph: np.ndarray) -> np.ndarray:
    """Gain of a sum of cosines over log-frequency (dB amplitudes ``c``, phases ``ph``)."""
    k = np.arange(1, c.size + 1)
    uc = np.linspace(0.0, 1.0, 257)  # smooth curve: evaluate coarsely, interpolate
    db = (c[:, None] * np.cos(np.pi * k[:, None] * uc[None, :] + ph[:, None])).sum(0)
    return 10.0 ** (np.interp(g.u, uc, db) / 20.0)


def _envelope(g: _Grid, starts: Sequence[float], stops: Sequence[float], ramp: float) -> np.ndarray:
    """0/1 gate (open intervals) with linear ramps of ``ramp`` seconds."""
    env = np.zeros(g.n)
    r = max(int(ramp * g.sr), 1)
    for a, b in zip(starts, stops):
        i0, i1 = int(a * g.sr), int(b * g.sr)
        if i1 <= 0 or i0 >= g.n or i1 <= i0:
            continue
        up = np.minimum(np.arange(i1 - i0) / r, 1.0)
        down = np.minimum(np.arange(i1 - i0)[::-1] / r, 1.0)
        seg = np.minimum(up, down)
        lo, hi = max(i0, 0), min(i1, g.n)
        env[lo:hi] = np.maximum(env[lo:hi], seg[lo - i0:hi - i0])
    return env


# --------------------------------------------------------------------------- spectra and tones
def _spec_power(spec: np.ndarray, n: int) -> float:
    """Mean power of the real length-``n`` signal whose rfft is ``spec`` (Parseval)."""
    a2 = np.abs(spec) ** 2
    p = 2.0 * a2.sum() - a2[0] - (a2[-1] if n % 2 == 0 else 0.0)
    return float(p) / float(n) ** 2


def _lines(g: _Grid, rng: np.random.Generator, freqs, amps, rel_width=0.002) -> np.ndarray:
    """Spectrum of slightly wavering tones (power ``a**2/2`` each): narrow random clusters of bins.

    Much cheaper than time-domain sines for the many stationary tones of a hall background.
    ``rel_width`` (scalar or one per tone): the spread of each tone, relative to its frequency.
    """
    df = g.sr / g.n
    f0, a, rw = np.broadcast_arrays(np.asarray(freqs, float), np.asarray(amps, float), np.asarray(rel_width, float))
    ok = (a != 0) & (f0 > 20.0) & (f0 < 0.97 * g.sr / 2)
    c, a = f0[ok] / df, a[ok]
    sd = np.maximum(rw[ok] * c, 0.5)
    lo = np.maximum((c - 3 * sd).astype(int), 1)
    size = np.minimum((c + 3 * sd).astype(int) + 2, g.m - 1) - lo
    line = np.repeat(np.arange(c.size), size)  # every bin of every cluster, in one go
    k = lo[line] + np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
    z = rng.standard_normal(k.size) + 1j * rng.standard_normal(k.size)
    z *= np.exp(-0.5 * ((k - c[line]) / sd[line]) ** 2)
    norm = np.sqrt(np.bincount(line, np.abs(z) ** 2, minlength=c.size))
    spec = np.zeros(g.m, dtype=complex)
    np.add.at(spec, k, z * (a * g.n / 2.0 / norm)[line])
    return spec


def _line_power(g: _Grid, freqs, amps) -> float:
    """Power of ``_lines(g, ..., freqs, amps)`` (the tones inside the band it renders)."""
    f0, a = np.broadcast_arrays(np.asarray(freqs, float), np.asarray(amps, float))
    ok = (f0 > 20.0) & (f0 < 0.97 * g.sr / 2)
    return float(np.sum(a[ok] ** 2) / 2)


def _unit(spec: np.ndarray, n: int) -> np.ndarray:
    p = _spec_power(spec, n)
    return spec / np.sqrt(p) if p > 0 else spec


# --------------------------------------------------------------------------- trajectories
def _held(g: _Grid, edges: Sequence[float], values: Sequence[float], ramp: float) -> np.ndarray:
    """Per-sample value of segments starting at ``edges`` (s), smoothed over ``ramp`` seconds."""
    tc = g.t_coarse
    idx = np.clip(np.searchsorted(np.asarray(edges, dtype=float), tc, side="right") - 1, 0, len(values) - 1)
    v = np.asarray(values, dtype=float)[idx]
    w = max(int(round(ramp / 0.005)), 1)
    if w > 1:
        v = np.convolve(np.pad(v, (w // 2, w - 1 - w // 2), mode="edge"), np.ones(w) / w, mode="valid")
    return np.interp(g.t, tc, v)


def _crossings(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Times at which the increasing ``y(t)`` passes an integer (linear interpolation).

    With ``y`` = cycles run so far, the events locked to a (wavering) rotation or a position.
    """
    i = np.flatnonzero(np.diff(np.floor(y)) > 0) + 1
    return t[i - 1] + (np.ceil(y[i - 1]) - y[i - 1]) / (y[i] - y[i - 1]) * (t[i] - t[i - 1])


def _cycles(g: _Grid, freq: np.ndarray, offset: float) -> np.ndarray:
    """Cycles run so far of a per-sample frequency, from a starting fraction ``offset``."""
    return offset + np.cumsum(freq) / g.sr
