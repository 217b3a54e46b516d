"""Synthetic machine sounds in the exact DCASE 2024 Task 2 development layout.

This is the book's embedded default dataset and benchmark. Every clip is SYNTHETIC: a small
physical sound model, rendered with numpy, never a recording. The type names carry a ``syn``
prefix so that nobody mistakes them for the real DCASE machines.

Layout (identical to the real development set; indices count from 0001 as in DCASE 2024,
separately for train/test and for each domain/label)::

    <root>/<type>/train/section_00_source_train_normal_0001_spd_24_mic_1.wav
    <root>/<type>/test/section_00_target_test_anomaly_0007_spd_31.5_mic_1.wav
    <root>/<type>/attributes_00.csv        file_name,d1p,d1v[,d2p,d2v,...]
    <root>/<type>/anomaly_kinds.csv        file_name,kind,severity (test anomalies only; synthetic extra)
    <root>/ground_truth_attributes_all/dev_data/<hidden type>/attributes_00_{train,test}_correspondence.csv
    <root>/dataset_info.json               the manifest (says SYNTHETIC, lists every choice)

Sound models (one per type; each clip draws its own jitter of speeds, levels, harmonic
amplitudes, noise, phases and a random room/mic colouring, so normals vary inside a group):

- ``synFan``: shaft harmonics, blade-pass (7 blades) harmonics, broadband aerodynamic noise
  with a speed-dependent hump and blade-pass modulation. Attributes ``spd`` (rev/s), ``mic``.
- ``synGearbox`` (hidden): gear-mesh harmonics (tooth count set by ``pro``) with shaft-rate
  sidebands, load-dependent levels (``wt``) and housing resonances.
- ``synSlider`` (hidden): periodic strokes of a linear stage with trapezoidal velocity
  (ramp set by the acceleration ``ac``): stepper whine that follows the velocity, belt
  noise and end-stop clicks.
- ``synValve``: solenoid clicks at opening/closing, flow hiss while open (dipole flow noise,
  power ~ flow^6), pump hum and pipe noise. Attributes ``seq`` (open/close pattern), ``flow``.
- ``synBearing``: rolling noise through structural resonances, modulated at shaft and
  ball-pass rates. Attributes ``rps`` (shaft speed) and ``mic`` (position: resonance weights).
- ``synToyCar``: DC-motor whine (commutator harmonics, brush noise), gear whine, road noise
  modulated at wheel rate. Attributes ``car``, ``spd`` (supply voltage), ``mic``.
- ``synToyTrain`` (hidden): rhythmic wheel-on-rail clicks at rail joints (axle spacing and
  body resonance set by ``car``), motor whine and rolling noise (``spd``), mic distance.

The target domain shifts the operating values (other speeds, loads, flow, cars, mic) and for
most types records in another place (different background noise); it has only 10 train
clips (5 in the ``ci`` profile). Anomalies (3 kinds per type, listed in ``anomaly_kinds.csv``
and the manifest, never in file names) are physical faults: impacts, detuning, modulation,
rattle/friction, missing strokes. A fault's strength is ``severity`` (1 = calibrated default)
x a per-kind gain ``_KIND_GAIN`` x a per-clip random factor in [0.5, 2] (from barely audible
to obvious). The gains were calibrated against two simple reference detectors only
(``benchmarks/calibrate_synth.py``: Mahalanobis and 1-NN on clip-mean log-mel), never
against the project's learned systems.

Deterministic: each clip is rendered from its own seed derived from (seed, type, split,
domain, label, index), so the same seed gives byte-identical files in any order or process.

CLI: ``python -m asdlib.synth --profile demo --seed 0 --out PATH [--types ...] [--overwrite]``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from . import profiles as _profiles

GENERATOR_VERSION = "1.0.0"
SAMPLE_RATE = 16000
SECTION = "00"
NO_ATTRIBUTE = "noAttribute"
MANIFEST = "dataset_info.json"
TWO_PI = 2.0 * np.pi


# --------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class SynthProfile:
    """Sizes of a generated dataset (per machine type)."""

    name: str
    clip_seconds: float
    n_train_source: int
    n_train_target: int
    n_test: int  # clips per test cell; 4 cells: source/target x normal/anomaly
    sample_rate: int = SAMPLE_RATE

    def with_counts(self, **overrides) -> "SynthProfile":
        """A copy with some fields replaced, e.g. ``PROFILES['ci'].with_counts(n_test=2)``."""
        return dataclasses.replace(self, **overrides)


#: The dataset sizes of the data profiles (``ci``, ``demo``, ``full``), read from ``asdlib.profiles``.
PROFILES: dict[str, SynthProfile] = {
    name: SynthProfile(name, **_profiles.sizes(name, "data")) for name in sorted(set(_profiles.DATA_PROFILE.values()))
}


def _resolve_profile(profile: str | SynthProfile) -> SynthProfile:
    if isinstance(profile, SynthProfile):
        return profile
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)} or pass a SynthProfile")
    return PROFILES[profile]


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


def _resonances(g: _Grid, modes: Sequence[tuple[float, float, float]]) -> np.ndarray:
    """Sum of resonators ``(fc, bandwidth, weight)``: the body that impacts excite."""
    out = np.zeros(g.m, dtype=complex)
    for fc, bw, w in modes:
        out += w * _resonator(g.n, g.sr, round(float(fc), 1), round(float(bw), 1))
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


def _background(g: _Grid, rng: np.random.Generator, kind: str, level: float):
    """Background noise of a recording place: (time part, spectral part)."""
    lvl = level * _jdb(rng, 2.0)  # the background level varies take to take
    f = g.f
    if kind == "quiet":  # a quiet lab: soft pink noise
        spec = _white_spec(g, rng) * _pink(f) * _highpass(f, 40) * 0.5
        return 0.0, lvl * spec
    if kind == "hvac":  # ventilation: low rumble, mid band hiss, 50 Hz hum family
        spec = _white_spec(g, rng) * (_pink(f, 200) * _lowpass(f, 400) + 0.5 * _band(f, 600, 0.8))
        hum = _harmonics(_phase(g, 50.0 * (1 + rng.normal(0, 0.002))), [1, 2, 3, 4],
                         [0.6, 0.4, 0.3, 0.15], rng)
        return lvl * hum, lvl * spec
    if kind == "workshop":  # pink noise plus distant knocks
        spec = _white_spec(g, rng) * _pink(f) * _highpass(f, 60)
        times = rng.uniform(0, g.dur, rng.poisson(1.5 * g.dur))
        knocks = _impulse_spec(g, times, rng.uniform(0.5, 2.0, times.size) * 6.0)
        spec = spec + knocks * _resonances(g, [(700, 200, 1.0), (1800, 400, 0.5)]) * _lowpass(f, 2500)
        return 0.0, lvl * spec
    if kind == "street":  # traffic rumble with slow swells
        x = _noise(g, rng, _pink(f, 100) ** 1.5 * _highpass(f, 30) * _lowpass(f, 1500))
        return lvl * x * (1.0 + 0.5 * _drift(g, rng, 1.0, 0.3)), 0.0
    raise ValueError(f"unknown background {kind!r}")


# --------------------------------------------------------------------------- machine models
@dataclass(frozen=True)
class MachineModel:
    """One synthetic machine type: attributes, domains, anomaly kinds and its renderer."""

    name: str
    description: str
    attributes: tuple[str, ...]
    source_groups: tuple[tuple[str, ...], ...]  # attribute values, in ``attributes`` order
    target_groups: tuple[tuple[str, ...], ...]
    anomalies: Mapping[str, str]  # kind -> description
    backgrounds: tuple[str, str]  # (source, target) background noise kind
    hidden: bool
    render: Callable = dataclasses.field(repr=False, compare=False)


class _Ctx:
    """What one render call needs: grid, random streams, attributes, anomaly, severity."""

    def __init__(self, g, rng, arng, attrs, domain, anomaly, sev, model):
        self.g, self.rng, self.arng = g, rng, arng
        self.a, self.domain, self.anomaly, self.sev = attrs, domain, anomaly, sev
        self.model = model
        self.time = np.zeros(g.n)
        self.spec = np.zeros(g.m, dtype=complex)

    def s(self, kind: str) -> float:
        """Severity of ``kind`` in this clip (0 when the clip is not that anomaly)."""
        return self.sev * _KIND_GAIN[self.model.name][kind] if self.anomaly == kind else 0.0

    def finish(self, colour_db: float = 1.2, bg_level: float = 0.004, mic_gain: np.ndarray | float = 1.0,
               level_db: float = 1.0) -> np.ndarray:
        """Mix in the domain's background, colour the whole take (room + mic), set its level."""
        g, rng = self.g, self.rng
        kind = self.model.backgrounds[1 if self.domain == "target" else 0]
        bt, bs = _background(g, rng, kind, bg_level)
        spec = (np.fft.rfft(self.time + bt) + self.spec + bs) * _colouring(g, rng, colour_db) * mic_gain
        x = np.fft.irfft(spec, g.n) * _jdb(rng, level_db)
        x -= x.mean()
        peak = np.max(np.abs(x))
        if peak > 0.95:  # never clip: scale the rare loud take down
            x *= 0.95 / peak
        return x


# Per-kind strength at severity 1, calibrated with benchmarks/calibrate_synth.py so that each
# kind alone lands roughly at AUC 0.65-0.9 for the simple reference detectors (demo profile).
_KIND_GAIN: dict[str, dict[str, float]] = {
    "synFan": {"imbalance": 0.71, "blade_rub": 1.8, "clogging": 0.85},
    "synGearbox": {"tooth_crack": 1.0, "wear": 0.7, "misalignment": 0.25},
    "synSlider": {"rail_scratch": 2.59, "missing_stroke": 0.65, "belt_slip": 1.96},
    "synValve": {"leak": 0.42, "bounce": 1.7, "contamination": 0.5},
    "synBearing": {"outer_race": 1.19, "inner_race": 1.09, "lubrication": 0.83},
    "synToyCar": {"gear_chip": 1.1, "bent_shaft": 2.1, "tire_damage": 0.65},
    "synToyTrain": {"flat_wheel": 2.37, "loose_part": 4.0, "motor_fault": 1.41},
}


# Take-to-take spread of the main running speed (relative sd): real machines never run at
# exactly the nominal value, and this spread is what makes nearby operating points overlap.
_SPEED_JITTER: dict[str, float] = {
    "synFan": 0.025, "synGearbox": 0.005, "synSlider": 0.02, "synValve": 0.01,
    "synBearing": 0.025, "synToyCar": 0.04, "synToyTrain": 0.06,
}


def _fan(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    spd = float(c.a["spd"])
    mic = c.a["mic"]
    s_imb, s_rub, s_clog = c.s("imbalance"), c.s("blade_rub"), c.s("clogging")
    # a clogged intake loads the motor: it runs slower
    fr = spd * (1 + rng.normal(0, _SPEED_JITTER["synFan"])) * (1 - 0.05 * s_clog)
    fr_t = fr * (1 + _drift(g, rng, 0.002))
    ph = _phase(g, fr_t)
    rel = spd / 27.0
    blades = 7
    orders = [blades * k for k in range(1, 11)]
    amps = 0.05 * rel ** 2 * np.arange(1, 11) ** -1.1 * _jdb(rng, 2.0, 10)
    bpf = _harmonics(ph, orders, amps, rng)
    shaft = _harmonics(ph, [1, 2, 3], np.array([0.006, 0.004, 0.002]) * _jdb(rng, 3.0, 3), rng)
    # aerodynamic broadband noise: hump near 35x shaft rate, modulated at blade passing
    hump_fc = 35.0 * fr * (1 - 0.25 * s_clog) * (1 + rng.normal(0, 0.03))
    aero_gain = (_band(f, hump_fc, 0.6) + 0.3 * _pink(f, hump_fc)) * _highpass(f, 50) * _lowpass(f, 6000, 1)
    aero = _noise(g, rng, aero_gain) * 0.03 * rel ** 2.5 * _jdb(rng, 1.0) * (1 + 0.5 * s_clog)
    aero *= 1.0 + 0.12 * np.sin(blades * ph)
    # electric motor hum (mains 50 Hz, doubled)
    hum = _harmonics(_phase(g, 100.0), [1, 2, 3], np.array([0.004, 0.002, 0.001]) * _jdb(rng, 2.0, 3), rng)
    tonal = bpf + shaft
    if s_imb:  # residual unbalance grows: strong 1x tone and once-per-rev wobble of everything
        tonal = tonal + 0.03 * s_imb * np.sin(ph + arng.uniform(0, TWO_PI))
        wob = 1.0 + min(0.6, 0.25 * s_imb) * np.sin(ph + arng.uniform(0, TWO_PI))
        tonal, aero = tonal * wob, aero * wob
    if s_clog:  # a whistle at the blocked intake
        tonal = tonal + 0.006 * s_clog * np.sin(_phase(g, arng.uniform(1500, 2200)))
    c.time += tonal + aero + hum
    if s_rub:  # a blade tip rubs the housing once per revolution
        times = np.arange(arng.uniform(0, 1 / fr), g.dur, 1 / fr)
        amps_r = 0.05 * s_rub * arng.uniform(0.4, 1.0, times.size)
        c.spec += _impulse_spec(g, times, amps_r) * _resonances(g, [(2600, 300, 1.0), (4700, 500, 0.7)])
    mic_gain = 1.0 if mic == "1" else 0.7 * (0.5 + 0.5 * _lowpass(f, 2500, 1))  # farther, duller
    return c.finish(bg_level=0.004, mic_gain=mic_gain)


def _gearbox(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    wt = float(c.a["wt"])
    teeth = {"A": 21, "B": 29}[c.a["pro"]]
    s_crack, s_wear, s_mis = c.s("tooth_crack"), c.s("wear"), c.s("misalignment")
    load = wt / 100.0
    fs = 22.0 * (1 - 0.01 * load) * (1 + rng.normal(0, _SPEED_JITTER["synGearbox"]))  # motor slip under load
    fs_t = fs * (1 + _drift(g, rng, 0.002))
    if s_wear:  # worn flanks: mesh timing error -> phase noise
        fs_t = fs_t * (1 + 0.004 * s_wear * _noise(g, arng, _lowpass(f, 80, 1)) / 0.07)
    ph = _phase(g, fs_t)
    m = np.arange(1, 6)
    amps = 0.035 * m ** -0.9 * (0.6 + 0.4 * load) * (1 + 0.25 * load * (m - 1)) * _jdb(rng, 2.0, 5)
    if s_wear:
        amps = amps * (1 + 0.8 * s_wear * (m >= 2))
    mesh = _harmonics(ph, teeth * m, amps, rng)
    d1 = (0.12 + 0.04 * load) * _jdb(rng, 2.0)
    d2 = 0.04 * _jdb(rng, 2.0) + 0.25 * s_mis
    mesh *= 1.0 + d1 * np.sin(ph + rng.uniform(0, TWO_PI)) + d2 * np.sin(2 * ph + rng.uniform(0, TWO_PI))
    shaft = _harmonics(ph, [1, 2, 3], np.array([0.008, 0.004 + 0.03 * s_mis, 0.002]) * _jdb(rng, 2.0, 3), rng)
    hum = _harmonics(_phase(g, 100.0), [1, 2, 3], np.array([0.005, 0.003, 0.0015]) * _jdb(rng, 2.0, 3), rng)
    c.time += mesh + shaft + hum
    housing = _resonances(g, [(1300, 250, 1.0), (2900, 400, 0.8), (4600, 600, 0.6)])
    noise_lvl = 0.25 * (0.5 + 0.5 * load) * _jdb(rng, 1.5) * (1 + 0.7 * s_wear)
    c.spec += _white_spec(g, rng) * (np.abs(housing) * 0.1 + 0.05 * _pink(f)) * _highpass(f, 60) * noise_lvl * 0.1
    if s_crack:  # a cracked tooth hits once per revolution and rings the housing
        times = np.arange(arng.uniform(0, 1 / fs), g.dur, 1 / fs)
        amps_c = 0.15 * s_crack * arng.uniform(0.6, 1.0, times.size)
        c.spec += _impulse_spec(g, times, amps_c) * housing
    return c.finish(bg_level=0.003)


def _slider(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    ac = float(c.a["ac"])
    s_scr, s_miss, s_slip = c.s("rail_scratch"), c.s("missing_stroke"), c.s("belt_slip")
    vmax = 0.4 * (1 + rng.normal(0, _SPEED_JITTER["synSlider"]))
    length = 0.2
    accel = ac * 50.0 * (1 + rng.normal(0, 0.03))
    pause = 0.2 * (1 + rng.normal(0, 0.05))
    if vmax * vmax / accel > length:  # cannot reach vmax: triangular velocity profile
        vpeak = np.sqrt(length * accel)
        t_ramp = vpeak / accel
        t_stroke = 2 * t_ramp
    else:
        vpeak, t_ramp = vmax, vmax / accel
        t_stroke = length / vmax + t_ramp
    cycle = t_stroke + pause
    starts = np.arange(-rng.uniform(0, cycle), g.dur, cycle)
    starts = starts + rng.normal(0, 0.004, starts.size)
    stalled = np.zeros(starts.size, bool)
    if s_miss:  # the stage stalls: some strokes never move, the motor only buzzes
        stalled = arng.uniform(0, 1, starts.size) < min(0.8, 0.3 * s_miss)
    v = np.zeros(g.n)
    # end-stop clicks: start and stop of each stroke; loudness drawn for every stroke, so that
    # stalled strokes (an anomaly) do not shift the random stream of the normal sound
    click_jit = _jdb(rng, 2.0, (starts.size, 2))
    pos_events = []  # (time, amplitude) of end-stop clicks
    scratch = []  # (start, stop) times of crossing the damaged stretch
    x_damage = arng.uniform(0.25, 0.75) * length
    w_damage = arng.uniform(0.02, 0.05)  # length of the damaged stretch (m)
    for i, t0 in enumerate(starts):
        i0 = int(np.floor(t0 * g.sr))
        k = np.arange(max(i0, 0), min(int((t0 + t_stroke) * g.sr) + 1, g.n))
        if k.size == 0 or stalled[i]:
            continue
        tau = k / g.sr - t0
        v[k] = vpeak * np.clip(np.minimum(tau, t_stroke - tau) / t_ramp, 0.0, 1.0)
        pos_events += [(t0, click_jit[i, 0]), (t0 + t_stroke, 1.3 * click_jit[i, 1])]
        if s_scr:  # where the damaged stretch lies on this stroke (forward / backward)
            xd = x_damage if i % 2 == 0 else length - x_damage - w_damage
            dist = np.cumsum(v[k]) / g.sr
            j0, j1 = np.searchsorted(dist, [xd, xd + w_damage])
            if j0 < k.size:
                scratch.append((k[j0] / g.sr, k[min(j1, k.size - 1)] / g.sr))
    direction_gain = np.where(np.floor((g.t - starts[0]) / cycle) % 2 == 0, 1.0, 0.85)
    rel = v / vmax
    fw = v * 2000.0  # stepper whine follows the velocity
    if s_slip:  # slipping belt: the whine wavers
        fw = fw * (1 + 0.03 * s_slip * np.sin(TWO_PI * 7.0 * g.t + arng.uniform(0, TWO_PI)))
    ph = _phase(g, fw)
    amps = 0.03 * np.arange(1, 7) ** -0.7 * _jdb(rng, 2.0, 6)
    whine = _harmonics(ph, range(1, 7), amps, rng) * np.sqrt(rel) * direction_gain
    belt = _noise(g, rng, _band(f, 1400, 0.5) * _highpass(f, 200)) * 0.012 * _jdb(rng, 1.5) * rel
    hold = 0.0015 * _jdb(rng, 2.0) * np.sin(_phase(g, 2400.0))  # stepper driver chopping
    c.time += whine + belt + hold
    if s_miss and stalled.any():
        buzz_env = _envelope(g, starts[stalled], starts[stalled] + t_stroke, 0.01)
        c.time += 0.012 * min(s_miss, 2.0) * buzz_env * _harmonics(_phase(g, 150.0), [1, 2, 3], [1, 0.5, 0.3], arng)
    body = _resonances(g, _jitter_modes(rng, [(2100, 250, 1.0), (4300, 450, 0.6), (900, 150, 0.4)]))
    if pos_events:
        t_ev = np.array([p[0] for p in pos_events])
        a_ev = np.array([p[1] for p in pos_events]) * 0.05 * (ac / 0.07) ** 0.7
        c.spec += _impulse_spec(g, t_ev, a_ev) * body
    if s_scr and scratch:  # grinding where the rail is damaged, a little everywhere
        env = _envelope(g, [a for a, _ in scratch], [b for _, b in scratch], 0.005)
        grind = _noise(g, arng, _band(f, 4500, 1.0) + 0.5 * _band(f, 2500, 2.0))
        c.time += grind * (0.03 * env + 0.004 * rel) * s_scr
    if s_slip:  # teeth jumping on the belt: rattle while moving
        rate = 30.0 * (1 + 0.2 * arng.standard_normal())
        times = _periodic_times(g, arng, rate, 0.2)
        times = times[rel[np.minimum((times * g.sr).astype(int), g.n - 1)] > 0.3]
        c.spec += _impulse_spec(g, times, 0.015 * s_slip) * _resonances(g, [(3300, 600, 1.0)])
    return c.finish(bg_level=0.003)


_VALVE_PATTERNS = {  # seq -> (period s, [(open time, open duration), ...])
    "A": (0.8, [(0.0, 0.25)]),
    "B": (1.2, [(0.0, 0.5)]),
    "C": (1.0, [(0.0, 0.12), (0.3, 0.12)]),
    "D": (0.6, [(0.0, 0.15)]),
}


def _valve(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    period, opens = _VALVE_PATTERNS[c.a["seq"]]
    flow = float(c.a["flow"])
    s_leak, s_bounce, s_cont = c.s("leak"), c.s("bounce"), c.s("contamination")
    period *= 1 + rng.normal(0, _SPEED_JITTER["synValve"])
    t_open, t_close = [], []
    for p0 in np.arange(-rng.uniform(0, period), g.dur, period):
        for off, dur in opens:
            a = p0 + off * (1 + rng.normal(0, 0.01)) + rng.normal(0, 0.004)
            t_open.append(a)
            t_close.append(a + dur * (1 + rng.normal(0, 0.02)))
    t_open, t_close = np.array(t_open), np.array(t_close)
    delay = 0.01 * min(s_bounce, 2.0)  # a sticky plunger opens late
    env = _envelope(g, t_open + delay, t_close, 0.01)
    hiss_fc = 1200 * (flow / 2) * (1 + rng.normal(0, 0.08))  # faster flow, higher-pitched hiss
    hiss_gain = (_band(f, hiss_fc, 0.5) + 0.25 * _jdb(rng, 2.0) * _band(f, 5000, 0.7)) * _highpass(f, 150)
    # dipole flow noise: power ~ U^6, so the amplitude goes with flow^3
    hiss = _noise(g, rng, hiss_gain) * 0.02 * (flow / 2) ** 3 * _jdb(rng, 1.0)
    c.time += env * hiss
    solenoid = _resonances(g, _jitter_modes(rng, [(1800, 150, 1.0), (3600, 300, 0.7), (6100, 500, 0.4)]))
    plunger = _resonances(g, _jitter_modes(rng, [(1500, 200, 0.8), (3900, 300, 0.8), (5600, 600, 0.3)]))
    hit = _jdb(rng, 0.5)  # this take's click loudness (open and close alike)
    a_open = 0.10 * np.sqrt(flow / 2) * hit * _jdb(rng, 1.0, t_open.size)  # pressure -> harder hits
    a_close = 0.07 * hit * _jdb(rng, 1.0, t_close.size)
    spec_open = _impulse_spec(g, t_open + delay, a_open)
    spec_close = _impulse_spec(g, t_close, a_close)
    c.spec += spec_open * solenoid + spec_close * plunger
    if s_bounce:  # the worn plunger chatters: a decaying train of small impacts after each stop
        for j, lag in enumerate(np.cumsum(arng.uniform(0.005, 0.012, 8))):
            r = 0.3 * s_bounce * 0.8 ** j
            c.spec += _impulse_spec(g, t_open + delay + lag, a_open * r) * plunger \
                + _impulse_spec(g, t_close + lag, a_close * r) * solenoid
    pump = _harmonics(_phase(g, 48.0 * (1 + rng.normal(0, 0.01))), [1, 2, 3, 4, 6],
                      np.array([0.01, 0.006, 0.004, 0.003, 0.002]) * _jdb(rng, 2.0, 5), rng)
    c.time += pump
    # water in the pipes: a steady broadband wash that fills the gaps between clicks
    c.spec += _white_spec(g, rng) * _pink(f, 2000) * _highpass(f, 100) * 0.002 * _jdb(rng, 2.0)
    if s_leak:  # seat leak: a thin hiss that never stops
        c.time += _noise(g, arng, _band(f, arng.uniform(3500, 6000), 1.5)) * 0.004 * s_leak
    if s_cont:  # particles in the flow: crackle while the valve is open
        times = arng.uniform(0, g.dur, arng.poisson(80 * g.dur))
        times = times[env[np.minimum((times * g.sr).astype(int), g.n - 1)] > 0.5]
        c.spec += _impulse_spec(g, times, 0.12 * s_cont * arng.uniform(0.3, 1.0, times.size)) * \
            (plunger + 0.5 * _resonances(g, [(5200, 1500, 1.0)]))
    # clicks dominate this sound, so a broad level/colour change would swamp everything else:
    # the take-to-take colouring and level spread are smaller than for the other types
    return c.finish(bg_level=0.003, colour_db=0.4, level_db=0.4)


_BEARING_MICS = {  # mic position -> weights of the structural resonances
    "A": (1.0, 0.6, 0.4, 0.2),
    "B": (0.4, 1.0, 0.3, 0.5),
}


def _bearing(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    rps = float(c.a["rps"])
    wts = _BEARING_MICS[c.a["mic"]]
    s_out, s_in, s_lub = c.s("outer_race"), c.s("inner_race"), c.s("lubrication")
    fr = rps * (1 + rng.normal(0, _SPEED_JITTER["synBearing"]))
    ph = _phase(g, fr * (1 + _drift(g, rng, 0.003)))
    rel = rps / 12.0
    modes = [(fc * (1 + rng.normal(0, 0.01)), bw, w * _jdb(rng, 1.5))
             for (fc, bw), w in zip([(1600, 300), (2800, 400), (4400, 600), (6300, 800)], wts)]
    struct = _resonances(g, modes)
    body = (np.abs(struct) * 0.3 + 0.15 * _pink(f)) * _highpass(f, 80)
    roll = _noise(g, rng, body) * 0.02 * rel ** 1.3 * _jdb(rng, 1.0)
    bpfo = 3.57 * fr  # ball-pass (outer race) of a 9-ball bearing
    roll *= 1.0 + 0.12 * np.sin(ph + rng.uniform(0, TWO_PI)) + 0.05 * np.sin(3.57 * ph)
    shaft = _harmonics(ph, [1, 2, 3, 4], np.array([0.01, 0.005, 0.003, 0.002]) * _jdb(rng, 2.0, 4), rng)
    belt = _harmonics(_phase(g, 37.0 * fr), [1, 2], np.array([0.0012, 0.0006]) * _jdb(rng, 3.0, 2), rng)
    c.time += roll + shaft + belt
    if s_out:  # spall on the outer race: impacts at ball-pass frequency
        times = _periodic_times(g, arng, bpfo, 0.02)
        c.spec += _impulse_spec(g, times, 0.25 * s_out * arng.uniform(0.6, 1.0, times.size)) * struct
    if s_in:  # inner-race defect: impacts at BPFI, stronger when the spall faces the load
        bpfi = 5.43 * fr
        times = _periodic_times(g, arng, bpfi, 0.02)
        am = 0.5 + 0.5 * np.cos(TWO_PI * fr * times + arng.uniform(0, TWO_PI))
        c.spec += _impulse_spec(g, times, 0.28 * s_in * am) * struct
    if s_lub:  # dry running: friction noise high up and a faint squeal
        fric = _noise(g, arng, _band(f, 6000, 0.7)) * 0.008 * s_lub
        c.time += fric * (1 + 0.6 * _drift(g, arng, 1.0, 3.0)) + \
            0.003 * s_lub * np.sin(_phase(g, arng.uniform(2800, 3400)))
    return c.finish(bg_level=0.003)


_TOYCAR = {"A": (1.0, 28.0), "B": (1.12, 32.0), "C": (0.9, 25.0)}  # car -> (motor factor, gear ratio)


def _toycar(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    kcar, ratio = _TOYCAR[c.a["car"]]
    spd = float(c.a["spd"])
    s_chip, s_bent, s_tire = c.s("gear_chip"), c.s("bent_shaft"), c.s("tire_damage")
    fm = 95.0 * spd * kcar * (1 + rng.normal(0, _SPEED_JITTER["synToyCar"]))
    fm_t = fm * (1 + _drift(g, rng, 0.004, 2.0))
    ph = _phase(g, fm_t)
    fw = fm / ratio  # wheel rotation rate
    ph_w = _phase(g, fm_t / ratio)
    orders = list(range(1, 9))
    amps = 0.02 * np.arange(1, 9, dtype=float) ** -0.8 * _jdb(rng, 2.5, 8)
    amps[2] *= 2.0  # 3-slot commutator
    amps[5] *= 1.5
    motor = _harmonics(ph, orders, amps, rng)
    gear = _harmonics(ph, [9, 18], np.array([0.006, 0.002]) * _jdb(rng, 2.0, 2), rng)
    if s_bent:  # a bent axle: motor load swings once per wheel turn, 1x wheel tone appears
        wob = 1.0 + min(0.9, 0.4 * s_bent) * np.sin(ph_w + arng.uniform(0, TWO_PI))
        motor, gear = motor * wob, gear * wob
        c.time += 0.02 * s_bent * np.sin(_phase(g, fm_t * 2.0) + arng.uniform(0, TWO_PI)) * (wob - 1.0)
    brush = _noise(g, rng, _band(f, 4500, 0.6)) * 0.006 * _jdb(rng, 2.0)
    brush *= 1.0 + 0.5 * np.sin(3 * ph)
    road = _noise(g, rng, _pink(f, 300) * _lowpass(f, 1500) * _highpass(f, 80)) * 0.015 * (spd / 3.2)
    road *= _jdb(rng, 1.5)
    road *= 1.0 + 0.2 * np.sin(ph_w + rng.uniform(0, TWO_PI))
    c.time += motor + gear + brush + road
    if s_chip:  # a chipped gear tooth clicks once per gear turn
        times = np.arange(arng.uniform(0, 1 / (fm / 6)), g.dur, 1 / (fm / 6))
        c.spec += _impulse_spec(g, times, 0.04 * s_chip * arng.uniform(0.5, 1.0, times.size)) * \
            _resonances(g, [(2300, 300, 1.0), (3700, 400, 0.6)])
    if s_tire:  # a flat spot on a tyre: a thump per wheel turn plus rattle of the body
        times = np.arange(arng.uniform(0, 1 / fw), g.dur, 1 / fw)
        c.spec += _impulse_spec(g, times, 0.08 * s_tire) * _resonances(g, [(220, 60, 1.0), (1100, 200, 0.4)])
        c.spec += _impulse_spec(g, times + 0.01, 0.015 * s_tire) * _resonances(g, [(3000, 700, 1.0)])
    mic_gain = 1.0 if c.a["mic"] == "1" else 0.7 * (0.4 + 0.6 * _lowpass(f, 3000, 1))
    return c.finish(bg_level=0.004, mic_gain=mic_gain)


_TRAIN_CARS = {  # letter -> (axle spacing m, body resonance Hz)
    "A": (0.05, 900.0), "B": (0.06, 1100.0), "C": (0.07, 1300.0), "D": (0.08, 1500.0), "E": (0.09, 1700.0),
}


def _toytrain(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    car = c.a["car"]
    axle, body_fc = _TRAIN_CARS[car[0]]
    heavy = car[1] == "2"
    spd = float(c.a["spd"])
    s_flat, s_loose, s_motor = c.s("flat_wheel"), c.s("loose_part"), c.s("motor_fault")
    v = spd * 0.05 * (1 + rng.normal(0, _SPEED_JITTER["synToyTrain"]))  # m/s
    joint = 0.17  # rail segment length
    # each rail joint is struck by 4 axles: two bogies 0.2 m apart
    offsets = np.array([0.0, axle, 0.2, 0.2 + axle]) / v
    t_joint = np.arange(-rng.uniform(0, joint / v), g.dur, joint / v)
    times = (t_joint[:, None] + offsets[None, :]).ravel() + rng.normal(0, 0.002, t_joint.size * 4)
    amps = 0.05 * (1.3 if heavy else 1.0) * (v / 0.4) * _jdb(rng, 1.5) * _jdb(rng, 1.5, times.size)
    rail_modes = [(2500, 300, 1.0), (4800, 500, 0.6), (body_fc, 200, 0.8 if heavy else 0.5)]
    rail = _resonances(g, _jitter_modes(rng, rail_modes))
    c.spec += _impulse_spec(g, times, amps) * rail
    fmot = 1100.0 * v * (1 + rng.normal(0, 0.01))  # the motor drives the wheels: whine follows speed
    fmot_t = fmot * (1 + _drift(g, rng, 0.004, 1.5))
    if s_motor:  # worn motor: speed hunting
        fmot_t = fmot_t * (1 + 0.01 * min(s_motor, 2.0) * np.sin(TWO_PI * 4.0 * g.t + arng.uniform(0, TWO_PI)))
    ph = _phase(g, fmot_t)
    amps_m = 0.012 * np.arange(1, 7) ** -0.7 * _jdb(rng, 2.0, 6)
    motor = _harmonics(ph, range(1, 7), amps_m, rng)
    motor += _harmonics(ph, [8], [0.003 * _jdb(rng, 2.0)], rng)
    roll = _noise(g, rng, _band(f, 1200, 0.4) * _highpass(f, 150)) * 0.01 * (v / 0.4) * (1.2 if heavy else 1.0)
    roll *= _jdb(rng, 1.5)
    c.time += motor + roll
    if s_motor:  # and sparking brushes
        c.time += _noise(g, arng, _band(f, 5500, 0.8)) * 0.008 * s_motor * (1 + np.sin(3 * ph))
    if s_flat:  # a flat wheel thumps once per wheel turn (wheel circumference 0.06 m)
        tf = np.arange(arng.uniform(0, 0.06 / v), g.dur, 0.06 / v)
        c.spec += _impulse_spec(g, tf, 0.04 * s_flat) * _resonances(g, [(400, 80, 1.0), (2000, 400, 0.5)])
    if s_loose:  # a loose part rattles after every joint
        tr = (t_joint[:, None] + arng.uniform(0.005, 0.08, (t_joint.size, 10))).ravel()
        c.spec += _impulse_spec(g, tr, 0.05 * s_loose * arng.uniform(0.3, 1.0, tr.size)) * \
            _resonances(g, [(3500, 150, 1.0), (6000, 250, 0.5)])
    mic_gain = 1.0 if c.a["mic"] == "1" else 0.8 * (0.6 + 0.4 * _lowpass(f, 3000, 1))
    return c.finish(bg_level=0.004, mic_gain=mic_gain)


def _groups(**axes: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """Cartesian product of attribute values, in keyword order."""
    out: list[tuple[str, ...]] = [()]
    for values in axes.values():
        out = [o + (v,) for o in out for v in values]
    return tuple(out)


_MODELS: dict[str, MachineModel] = {
    m.name: m for m in [
        MachineModel(
            "synFan", "7-blade axial fan: shaft and blade-pass harmonics, aerodynamic broadband noise "
            "with a speed-dependent hump, blade-pass modulation, motor hum",
            ("spd", "mic"), _groups(spd=["24", "27", "30"], mic=["1", "2"]),
            _groups(spd=["25.5", "31.5"], mic=["1"]),
            {"imbalance": "strong 1x shaft tone and once-per-revolution amplitude wobble",
             "blade_rub": "impacts once per revolution exciting housing resonances",
             "clogging": "slower rotation, lower and louder aerodynamic hump, intake whistle"},
            ("quiet", "hvac"), False, _fan),
        MachineModel(
            "synGearbox", "single-stage gearbox: gear-mesh harmonics with shaft-rate sidebands, load-dependent "
            "levels and slip, housing resonances, motor hum",
            ("pro", "wt"), _groups(pro=["A", "B"], wt=["0", "50", "100", "150", "200"]),
            _groups(pro=["A"], wt=["30", "80", "130", "180", "250"])
            + _groups(pro=["B"], wt=["20", "70", "120", "170", "250"]),
            {"tooth_crack": "impact once per shaft revolution ringing the housing",
             "wear": "stronger higher mesh harmonics, mesh phase noise, more broadband noise",
             "misalignment": "strong 2x shaft sidebands and 2x shaft tone"},
            ("quiet", "workshop"), True, _gearbox),
        MachineModel(
            "synSlider", "linear stage: strokes with trapezoidal velocity (ramp set by the acceleration), "
            "stepper whine following the velocity, belt noise, end-stop clicks",
            ("ac",), _groups(ac=["0.03", "0.05", "0.07", "0.09", "0.11"]),
            _groups(ac=["0.01", "0.02", "0.04", "0.06", "0.08", "0.10", "0.12", "0.13"]),
            {"rail_scratch": "grinding while the carriage crosses a damaged stretch of rail",
             "missing_stroke": "some strokes stall: no motion, only a motor buzz",
             "belt_slip": "wavering whine and rattle of belt teeth while moving"},
            ("quiet", "workshop"), True, _slider),
        MachineModel(
            "synValve", "solenoid valve: opening/closing clicks ringing the body, flow hiss while open "
            "(louder and brighter with more flow), pump hum and pipe noise in the background",
            ("seq", "flow"), _groups(seq=["A", "B", "C"], flow=["2"]), _groups(seq=["A", "D"], flow=["2.5"]),
            {"leak": "continuous thin hiss, also while closed",
             "bounce": "late opening and a chatter of small impacts after each stop",
             "contamination": "crackle of particles while open"},
            ("quiet", "workshop"), False, _valve),
        MachineModel(
            "synBearing", "rolling bearing on a test rig: broadband rolling noise through structural "
            "resonances (weights depend on the mic position), shaft-rate and ball-pass modulation",
            ("rps", "mic"), _groups(rps=["8", "12", "16"], mic=["A", "B"]), _groups(rps=["10", "20"], mic=["A"]),
            {"outer_race": "impacts at the ball-pass frequency of the outer race",
             "inner_race": "impacts at the inner-race ball-pass frequency, modulated at shaft rate",
             "lubrication": "high-frequency friction noise and a faint squeal"},
            ("quiet", "hvac"), False, _bearing),
        MachineModel(
            "synToyCar", "toy car on a roller: DC motor whine (commutator harmonics), brush noise, gear "
            "whine, road noise modulated at wheel rate",
            ("car", "spd", "mic"), _groups(car=["A", "B", "C"], spd=["3.0", "3.4"], mic=["1", "2"]),
            _groups(car=["A", "C"], spd=["2.8", "3.6"], mic=["2"]),
            {"gear_chip": "click once per gear turn",
             "bent_shaft": "motor load wobble at wheel rate",
             "tire_damage": "low thump per wheel turn with body rattle"},
            ("quiet", "street"), False, _toycar),
        MachineModel(
            "synToyTrain", "toy train on a track: wheel-on-rail clicks at rail joints (4 axles; axle spacing "
            "and body resonance set by the car), motor whine and rolling noise set by the speed",
            ("car", "spd", "mic"), _groups(car=["B1", "B2", "C1", "C2"], spd=["7", "8", "10"], mic=["1"]),
            _groups(car=["A1", "A2", "E1", "E2"], spd=["7.5", "9"], mic=["2"]),
            {"flat_wheel": "thump once per wheel revolution",
             "loose_part": "rattle after every rail joint",
             "motor_fault": "motor speed hunting and brush sparking noise"},
            ("quiet", "workshop"), True, _toytrain),
    ]
}

MACHINE_TYPES: tuple[str, ...] = tuple(_MODELS)
HIDDEN_TYPES: tuple[str, ...] = tuple(n for n, m in _MODELS.items() if m.hidden)


def _check_models() -> None:
    """Names must survive the DCASE file-name grammar (no underscores inside values)."""
    for m in _MODELS.values():
        for grp in m.source_groups + m.target_groups:
            if len(grp) != len(m.attributes) or not all(v and "_" not in v for v in grp):
                raise RuntimeError(f"{m.name}: bad attribute values {grp}")
        if any("_" in a for a in m.attributes) or len(m.anomalies) < 2 or set(m.anomalies) != set(_KIND_GAIN[m.name]):
            raise RuntimeError(f"{m.name}: bad attribute names or anomaly kinds")


_check_models()


def get_model(machine_type: str) -> MachineModel:
    if machine_type not in _MODELS:
        raise ValueError(f"unknown synthetic machine type {machine_type!r}; choose from {MACHINE_TYPES}")
    return _MODELS[machine_type]


def _render(model: MachineModel, attrs: Mapping[str, str], domain: str, anomaly: str | None,
            sev: float, n: int, sr: int, rng: np.random.Generator, arng: np.random.Generator) -> np.ndarray:
    if anomaly is not None and anomaly not in model.anomalies:
        raise ValueError(f"{model.name}: unknown anomaly {anomaly!r}; kinds: {list(model.anomalies)}")
    ctx = _Ctx(_grid(n, sr), rng, arng, dict(attrs), domain, anomaly, float(sev), model)
    return model.render(ctx)


def render_clip(machine_type: str, attributes: Mapping[str, str] | None = None, *, domain: str = "source",
                anomaly: str | None = None, severity: float = 1.0, seconds: float = 2.0, seed: int = 0,
                sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One clip as float64 in [-1, 1] (for plots and tests).

    ``attributes`` defaults to the first source group of the type. ``severity`` is relative
    to the calibrated default (1.0). The normal part depends only on ``seed`` (not on the
    attributes or the anomaly), so ``anomaly=None`` vs ``anomaly='x'`` with the same seed
    isolates the planted fault, and two attribute values with the same seed isolate the
    attribute change.
    """
    model = get_model(machine_type)
    attrs = dict(attributes) if attributes is not None else dict(zip(model.attributes, model.source_groups[0]))
    rng, arng = _rng(seed, machine_type, "clip"), _rng(seed, machine_type, "clip", "anomaly")
    n = int(round(seconds * sample_rate))
    return _render(model, attrs, domain, anomaly, severity if anomaly else 0.0,
                   n, sample_rate, rng, arng)


# --------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class ClipSpec:
    """One file to write."""

    machine_type: str
    split: str
    domain: str
    label: str
    index: int
    attrs: tuple[tuple[str, str], ...]
    anomaly: str | None = None
    severity: float = 0.0  # effective severity of an anomaly clip

    @property
    def true_attr_string(self) -> str:
        return "_".join(f"{k}_{v}" for k, v in self.attrs)

    def name(self, hidden: bool) -> str:
        attr = NO_ATTRIBUTE if hidden else self.true_attr_string
        return f"section_{SECTION}_{self.domain}_{self.split}_{self.label}_{self.index:04d}_{attr}.wav"


def _spread(items: Sequence, count: int, rng: np.random.Generator) -> list:
    """``count`` items cycling through ``items`` (balanced), in random order."""
    out = [items[i % len(items)] for i in range(count)]
    return [out[i] for i in rng.permutation(count)]


def plan_type(machine_type: str, profile: str | SynthProfile = "demo", seed: int = 0,
              severity: float | None = None) -> list[ClipSpec]:
    """Every clip of one type: split, domain, label, index, attributes, anomaly kind, severity."""
    prof = _resolve_profile(profile)
    model = get_model(machine_type)
    rng = _rng(seed, machine_type, "plan")
    sev = 1.0 if severity is None else float(severity)
    kinds = list(model.anomalies)
    specs: list[ClipSpec] = []
    cells = [("train", "source", "normal", prof.n_train_source), ("train", "target", "normal", prof.n_train_target),
             ("test", "source", "normal", prof.n_test), ("test", "source", "anomaly", prof.n_test),
             ("test", "target", "normal", prof.n_test), ("test", "target", "anomaly", prof.n_test)]
    for split, domain, label, count in cells:
        groups = model.source_groups if domain == "source" else model.target_groups
        assigned = _spread(groups, count, rng)
        if label == "anomaly":
            kind_list = _spread(kinds, count, rng)
            # each fault clip gets its own strength: from barely audible to obvious
            factors = np.exp(rng.uniform(np.log(0.5), np.log(2.0), count))
        for i, grp in enumerate(assigned):
            attrs = tuple(zip(model.attributes, grp))
            if label == "anomaly":
                specs.append(ClipSpec(machine_type, split, domain, label, i + 1, attrs, kind_list[i],
                                      round(float(sev * factors[i]), 4)))
            else:
                specs.append(ClipSpec(machine_type, split, domain, label, i + 1, attrs))
    return specs


def render_spec(spec: ClipSpec, seed: int, clip_seconds: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The int16 samples of one planned clip (deterministic from seed and the clip's identity)."""
    model = get_model(spec.machine_type)
    key = (seed, spec.machine_type, spec.split, spec.domain, spec.label, spec.index)
    n = int(round(clip_seconds * sample_rate))
    x = _render(model, dict(spec.attrs), spec.domain, spec.anomaly, spec.severity, n, sample_rate,
                _rng(*key), _rng(*key, "anomaly"))
    return np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)


def _write_specs(args) -> int:
    """Worker: render and write a batch of clips (top level so that spawn can pickle it)."""
    import soundfile as sf

    specs, seed, clip_seconds, sr, out_dir = args
    for spec in specs:
        hidden = get_model(spec.machine_type).hidden
        path = Path(out_dir) / spec.machine_type / spec.split / spec.name(hidden)
        sf.write(str(path), render_spec(spec, seed, clip_seconds, sr), sr, subtype="PCM_16", format="WAV")
    return len(specs)


# --------------------------------------------------------------------------- writing
def _write_csv(path: Path, header: Sequence[str] | None, rows: Iterable[Sequence]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        if header:
            w.writerow(header)
        w.writerows(rows)


def _write_tables(out: Path, model: MachineModel, specs: Sequence[ClipSpec]) -> None:
    t = model.name
    if model.hidden:
        header = ["file_name", "d1p", "d1v"]
        rows = [[f"{t}/{s.split}/{s.name(True)}", NO_ATTRIBUTE, ""] for s in specs]
        for split in ("train", "test"):
            gt_dir = out / "ground_truth_attributes_all" / "dev_data" / t
            _write_csv(gt_dir / f"attributes_00_{split}_correspondence.csv",
                       ["source_file_name", "target_file_name"],
                       [[s.name(False), s.name(True)] for s in specs if s.split == split])
    else:
        header = ["file_name"] + [x for i in range(len(model.attributes)) for x in (f"d{i + 1}p", f"d{i + 1}v")]
        rows = [[f"{t}/{s.split}/{s.name(False)}"] + [x for kv in s.attrs for x in kv] for s in specs]
    _write_csv(out / t / "attributes_00.csv", header, rows)
    _write_csv(out / t / "anomaly_kinds.csv", ["file_name", "kind", "severity"],
               [[f"{t}/test/{s.name(model.hidden)}", s.anomaly, f"{s.severity:.4f}"]
                for s in specs if s.label == "anomaly"])


def _manifest(prof: SynthProfile, seed: int, types: Sequence[str], severity: float | None,
              plans: Mapping[str, list[ClipSpec]]) -> dict:
    info = {
        "synthetic": True,
        "statement": "SYNTHETIC machine sounds generated by asdlib.synth from physical sound models. "
                     "These are NOT recordings and NOT the DCASE data; only the layout and file naming "
                     "follow the DCASE 2024 Task 2 development set.",
        "generator": "asdlib.synth",
        "version": GENERATOR_VERSION,
        # Any edit of the sound models changes this, so a stale dataset is regenerated
        # even when nobody remembered to bump GENERATOR_VERSION.
        "code_sha1": _code_fingerprint(),
        "profile": prof.name,
        "profile_settings": dataclasses.asdict(prof),
        "seed": int(seed),
        "severity": 1.0 if severity is None else float(severity),
        "types": list(types),
        "hidden_types": [t for t in types if _MODELS[t].hidden],
        "sample_rate": prof.sample_rate,
        "clip_seconds": prof.clip_seconds,
        "format": "wav, mono, 16-bit PCM",
        "section": SECTION,
        "machine_types": {},
    }
    for t in types:
        m, specs = _MODELS[t], plans[t]
        counts: dict[str, int] = {}
        for s in specs:
            k = f"{s.split}_{s.domain}_{s.label}"
            counts[k] = counts.get(k, 0) + 1
        kinds: dict[str, int] = {}
        for s in specs:
            if s.anomaly:
                kinds[s.anomaly] = kinds.get(s.anomaly, 0) + 1
        info["machine_types"][t] = {
            "sound_model": m.description,
            "hidden_attributes": m.hidden,
            "attributes": list(m.attributes),
            "source_values": [dict(zip(m.attributes, g)) for g in m.source_groups],
            "target_values": [dict(zip(m.attributes, g)) for g in m.target_groups],
            "background": {"source": m.backgrounds[0], "target": m.backgrounds[1]},
            "anomaly_kinds": dict(m.anomalies),
            "anomaly_kind_counts": kinds,
            "calibrated_kind_gain": dict(_KIND_GAIN[t]),
            "severity_used": 1.0 if severity is None else float(severity),
            "counts": counts,
            "anomaly_kinds_file": f"{t}/anomaly_kinds.csv",
            "correspondence_files": (
                [f"ground_truth_attributes_all/dev_data/{t}/attributes_00_{s}_correspondence.csv"
                 for s in ("train", "test")]
                if m.hidden else []),
        }
    return info


def _code_fingerprint() -> str:
    """SHA-1 of this module's source: the dataset's true version."""
    return hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:16]


def _key(info: Mapping) -> tuple:
    return (info.get("generator"), info.get("version"), info.get("code_sha1"), info.get("profile_settings"),
            info.get("seed"), info.get("types"), info.get("severity"))


def read_manifest(root: str | Path) -> dict | None:
    """The ``dataset_info.json`` of a generated root, or None."""
    p = Path(root) / MANIFEST
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def _default_workers(total_samples: int) -> int:
    if total_samples < 20_000_000:  # small jobs: process start-up costs more than it saves
        return 1
    try:
        ncpu = len(os.sched_getaffinity(0))
    except AttributeError:
        ncpu = os.cpu_count() or 1
    return max(1, min(ncpu, 8))


def _remove_stale_temps(root: Path) -> None:
    """Delete temp folders of earlier runs that were killed (their process is gone)."""
    for d in root.parent.glob(f".{root.name}.tmp-*"):
        try:
            pid = int(d.name.split(".tmp-")[1].split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (ValueError, IndexError, PermissionError, OSError):
            continue


def generate_dataset(root: str | Path, profile: str | SynthProfile = "demo", seed: int = 0,
                     machine_types: Sequence[str] | None = None, severity: float | None = None,
                     overwrite: bool = False, *, workers: int | None = None, verbose: bool = False) -> Path:
    """Write a synthetic dataset in the DCASE 2024 development layout; return its root.

    ``profile`` is a name in ``PROFILES`` or a ``SynthProfile`` (e.g.
    ``PROFILES["ci"].with_counts(n_train_source=10)``). ``severity`` scales every anomaly
    relative to the calibrated default (None = 1.0; 0 makes anomalies identical to normals).
    Skipped when ``root`` already holds a manifest with the same generator version, profile
    settings, seed, types and severity (``overwrite=True`` regenerates). Files are written to
    a temporary sibling folder renamed into place at the end, so an interrupted run never
    leaves a half dataset behind. An existing *different* synthetic dataset at ``root`` is
    replaced; a folder that is not a synthetic dataset is never deleted (error).
    ``workers``: processes for rendering (default: 1 for small jobs, else the CPU count).
    """
    return _generate(root, profile, seed, machine_types, severity, overwrite, workers, verbose)[0]


def _generate(root, profile, seed, machine_types, severity, overwrite, workers, verbose) -> tuple[Path, bool]:
    """``generate_dataset``; also says whether anything was written."""
    prof = _resolve_profile(profile)
    types = list(machine_types) if machine_types is not None else list(MACHINE_TYPES)
    for t in types:
        get_model(t)
    if len(set(types)) != len(types):
        raise ValueError(f"duplicate machine types in {types}")
    root = Path(root)
    plans = {t: plan_type(t, prof, seed, severity) for t in types}
    info = _manifest(prof, seed, types, severity, plans)
    old = read_manifest(root)
    if root.exists() and not overwrite and old is not None and _key(old) == _key(info):
        if verbose:
            print(f"{root}: already generated ({prof.name}, seed {seed}); skipped")
        return root, False
    if root.exists() and any(root.iterdir()) and (old is None or old.get("generator") != "asdlib.synth"):
        raise FileExistsError(f"{root} exists and is not a synthetic dataset made by asdlib.synth; "
                              "choose another folder or remove it yourself")

    t0 = time.perf_counter()
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(root)
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        for t in types:
            for split in ("train", "test"):
                (tmp / t / split).mkdir(parents=True, exist_ok=True)
        all_specs = [s for t in types for s in plans[t]]
        n_samples = len(all_specs) * int(prof.clip_seconds * prof.sample_rate)
        nw = workers if workers is not None else _default_workers(n_samples)
        chunk = max(1, min(64, len(all_specs) // (4 * nw) + 1))
        jobs = [(all_specs[i:i + chunk], seed, prof.clip_seconds, prof.sample_rate, str(tmp))
                for i in range(0, len(all_specs), chunk)]
        if nw <= 1:
            for j in jobs:
                _write_specs(j)
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: safe even when the caller has torch threads running
            with ProcessPoolExecutor(max_workers=nw, mp_context=mp.get_context("spawn")) as ex:
                for _ in ex.map(_write_specs, jobs):
                    pass
        for t in types:
            _write_tables(tmp, _MODELS[t], plans[t])
        info["generation_seconds"] = round(time.perf_counter() - t0, 2)
        info["n_files"] = len(all_specs)
        (tmp / MANIFEST).write_text(json.dumps(info, indent=2) + "\n")
        # swap into place: old dataset aside, new one in, old one removed
        trash = None
        if root.exists():
            now = read_manifest(root)
            if now is not None and not overwrite and _key(now) == _key(info):  # a concurrent run won
                shutil.rmtree(tmp, ignore_errors=True)
                return root, False
            trash = root.parent / f".{root.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(root, trash)
        os.replace(tmp, root)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if verbose:
        print(f"{root}: wrote {len(all_specs)} clips of {len(types)} types "
              f"({prof.name}, seed {seed}, {prof.clip_seconds:g} s) in {info['generation_seconds']:.1f} s")
    return root, True


def default_root(profile: str = "demo", seed: int = 0) -> Path:
    """``asdlib.paths.data_root(profile)`` for seed 0, its ``<profile>-seed<N>`` sibling otherwise."""
    from .paths import data_root

    root = data_root(profile)
    return root if seed == 0 else root.with_name(f"{root.name}-seed{seed}")


def ensure_dataset(profile: str | SynthProfile = "ci", seed: int = 0, root: str | Path | None = None) -> Path:
    """The root of a generated dataset, generating it first when missing.

    ``root`` defaults to ``default_root(profile, seed)``, i.e. ``asdlib.paths.data_root(profile)``
    for seed 0.
    """
    prof = _resolve_profile(profile)
    return generate_dataset(default_root(prof.name, seed) if root is None else root, prof, seed)


# --------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m asdlib.synth",
                                 description="Generate the SYNTHETIC DCASE-layout machine-sound dataset.")
    ap.add_argument("--profile", default="demo", choices=sorted(PROFILES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None,
                    help="dataset root (default: asdlib.paths.data_root(profile), '-seedN' appended for seed N > 0)")
    ap.add_argument("--types", nargs="+", default=None, choices=MACHINE_TYPES, metavar="TYPE",
                    help=f"machine types (default: all of {', '.join(MACHINE_TYPES)})")
    ap.add_argument("--severity", type=float, default=None, help="anomaly strength relative to the calibrated default")
    for field in ("clip_seconds", "n_train_source", "n_train_target", "n_test"):
        ap.add_argument("--" + field.replace("_", "-"), type=float if field == "clip_seconds" else int,
                        default=None, help=f"override the profile's {field}")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    prof = PROFILES[args.profile]
    overrides = {k: getattr(args, k) for k in ("clip_seconds", "n_train_source", "n_train_target", "n_test")
                 if getattr(args, k) is not None}
    if overrides:
        prof = prof.with_counts(**overrides)
    out = args.out if args.out is not None else default_root(args.profile, args.seed)
    t0 = time.perf_counter()
    root, wrote = _generate(out, prof, args.seed, args.types, args.severity, args.overwrite, args.workers, False)
    dt = time.perf_counter() - t0
    info = read_manifest(root) or {}
    if wrote:
        print(f"{root}: wrote a SYNTHETIC dataset ({info.get('n_files')} wav files), profile {prof.name}, "
              f"seed {args.seed}, {prof.clip_seconds:g} s clips")
    else:
        print(f"{root}: already up to date (profile {prof.name}, seed {args.seed}); nothing written")
    for t, d in info.get("machine_types", {}).items():
        c = d["counts"]
        print(f"  {t:12s} train {c.get('train_source_normal', 0)}+{c.get('train_target_normal', 0)}  "
              f"test {sum(v for k, v in c.items() if k.startswith('test'))}  "
              + ("hidden attributes (noAttribute)" if d["hidden_attributes"]
                 else "attributes " + ",".join(d["attributes"])))
    print(f"time: {dt:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
