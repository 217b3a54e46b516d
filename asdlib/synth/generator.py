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

Two parts, each generated into its own root (``part=``, CLI ``--part``): ``dev`` (the 7 types
below, like the DCASE 2024 development set) and ``additional`` (9 further types, like the
additional training set of the DCASE 2024 evaluation types; their hidden types' files go to
``ground_truth_attributes_all/eval_data/``, as in the official ground truth).

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

Additional part (``ADDITIONAL_TYPES``; hidden ones marked): ``syn3DPrinter`` (X/Y stepper
sequences of a tool path, frame knocks at reversals, extruder, cooling fan), ``synAirCompressor``
(hidden; two-cylinder piston cycles, reed-valve clicks, tank thumps, outlet hiss),
``synScanner`` (page feed, slow scan pass, fast return), ``synToyCircuit`` (slot car passing
the mic once a lap: Doppler and distance), ``synHoveringDrone`` (hidden; four rotors'
blade-pass harmonics, swaying towards/away from the mic), ``synHairDryer`` (fast fan, jet
noise, heater hum), ``synToothBrush`` (hidden; soft-clipped ~250 Hz oscillation, handle
resonance, pulsing modes), ``synRoboticArm`` (servo joints following smooth velocity pulses,
PWM whine with the current), ``synBrushlessMotor`` (hidden; commutation ripple, cogging, PWM,
propeller).

The target domain shifts the operating values (other speeds, loads, flow, cars, mic) and
records in another place (different background noise); it has only 10 train clips (5 in
the ``ci`` profile). Anomalies (3 kinds per type, listed in ``anomaly_kinds.csv``
and the manifest, never in file names) are physical faults: impacts, detuning, modulation,
rattle/friction, missing strokes. A fault's strength is ``severity`` (1 = calibrated default)
x a per-kind gain (``kind_gains``) x a per-clip random factor in [0.5, 2] (from barely audible
to obvious). The gains were calibrated against two simple reference detectors only
(``benchmarks/calibrate_synth.py``: Mahalanobis and 1-NN on clip-mean log-mel), never
against the project's learned systems.

Generator versions (``version=``, CLI ``--version``, recorded in the manifest; default
``DEFAULT_VERSION``):

- **1** (``1.0.0``, frozen: byte-identical files for a seed): each machine with a soft
  background of its place at a fixed level, a small random colouring and level spread. Far
  too clean: the reference detectors score 0.72 (Maha) / 0.66 (1-NN) official score.
- **2** (``2.0.0``): the same sound models recorded the way real data are (``_record_v2``):
  a synthetic factory hall per domain (``Hall``: other machines' harmonics with their on/off
  and speed changes, mains hum 50/60 Hz + harmonics, clanks of struck objects, ventilation),
  a reverberant path (exponentially decaying noise tail, RT60 drawn per clip) for machine and
  background, a per-clip SNR (``NUISANCE.snr_db``, -6..+12 dB), and a microphone per type and
  domain (distance gain and direct/reverberant ratio, floor-reflection comb, spectral tilt,
  smooth EQ; the target domain's mic moved) that moves a little from take to take, plus a
  recorder gain spread. Faults have their own, recalibrated gains. Nothing is downloaded.

Deterministic: each clip is rendered from its own seed derived from (seed, type, split,
domain, label, index), so the same seed gives byte-identical files in any order or process.

CLI: ``asd synth --profile demo --seed 0 [--version 2] [--part dev|additional]
[--out PATH] [--types ...] [--overwrite]``.
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
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from asdlib import profiles as _profiles

#: Generator versions: 1 = the clean models mixed with a soft background (frozen, byte-identical
#: for a seed); 2 = the same models recorded in a synthetic factory hall (see "version 2" below).
GENERATOR_VERSIONS: dict[int, str] = {1: "1.0.0", 2: "2.0.0"}
#: The version ``generate_dataset``, ``render_clip`` and the CLI use unless told otherwise.
DEFAULT_VERSION = 2
#: The version string of ``DEFAULT_VERSION`` (what the manifest's ``version`` holds by default).
GENERATOR_VERSION = GENERATOR_VERSIONS[DEFAULT_VERSION]
#: Parts: ``dev`` (the 7 development types) and ``additional`` (types like the DCASE 2024
#: additional training set), each generated into its own root.
PARTS = ("dev", "additional")
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


# --------------------------------------------------------------------------- version 2: the recording chain
# Version 1 mixes every machine with a soft background at a fixed level: far cleaner than the
# real recordings. Version 2 records the same machine sounds (same models, same attributes,
# same faults) in a synthetic factory hall, everything rendered with numpy:
#
#   machine --(mic gain of the type, floor-reflection comb, reverberant hall path)--+
#   hall background: other machines, mains hum, clanks, ventilation --(diffuse path)--+--> mic --> level
#                                                                                 (at a drawn SNR)
#
# Every per-clip draw comes from the clip's own "nuisance" stream, separate from the machine's
# and the fault's streams, so a fault is still planted on the identical take.


@dataclass(frozen=True)
class Hall:
    """A synthetic factory hall of version 2: what else sounds there and how it reverberates.

    A hall's plant is fixed (drawn once from its name, ``_hall_plant``): the same machines,
    struck objects and ventilation in every take, as in a real factory. What varies from take
    to take: which machines run, their levels and exact speeds, when something is struck, the
    balance of the components, and the reverberation time.
    """

    name: str
    description: str
    mains_hz: float  # electrical hum (50 or 60 Hz) and its harmonics
    machines: int  # other machines installed
    machine_hz: tuple[float, float]  # range their shaft rates were drawn from
    p_on: float  # chance that each of them runs during a take
    impacts_per_s: float  # mean rate of clanks and knocks (per take: x0.3-1.7)
    vent_hz: tuple[float, float]  # range the ventilation hump's centre was drawn from
    rt60_s: tuple[float, float]  # reverberation time, drawn per take
    critical_m: float  # distance at which direct and reverberant machine sound are equally loud
    mix_db: tuple[float, float, float, float]  # power of machines, hum, clanks, ventilation (dB)


_HALLS: dict[str, Hall] = {h.name: h for h in [
    Hall("assembly", "assembly hall: conveyors and motors, occasional clanks, ventilation",
         50.0, 5, (12.0, 40.0), 0.8, 0.8, (300.0, 600.0), (0.6, 1.2), 1.2, (0.0, -8.0, -6.0, -3.0)),
    Hall("press_shop", "press shop: slow heavy machines, frequent loud impacts, long reverberation",
         50.0, 3, (4.0, 20.0), 0.85, 2.5, (150.0, 400.0), (1.0, 2.0), 0.8, (-2.0, -10.0, 0.0, -4.0)),
    Hall("pump_room", "small pump room: fast pumps, strong 60 Hz hum, short reverberation",
         60.0, 2, (25.0, 60.0), 0.9, 0.2, (400.0, 900.0), (0.3, 0.7), 1.6, (0.0, -3.0, -12.0, -6.0)),
    Hall("lab", "test lab: mostly ventilation, a distant machine now and then, dry",
         50.0, 2, (15.0, 50.0), 0.7, 0.3, (500.0, 1200.0), (0.3, 0.6), 2.0, (-6.0, -10.0, -10.0, 0.0)),
    Hall("warehouse", "warehouse: conveyors far away, forklift knocks, big reverberant space, 60 Hz mains",
         60.0, 4, (8.0, 30.0), 0.75, 1.0, (200.0, 500.0), (1.2, 2.2), 0.7, (-2.0, -8.0, -4.0, -2.0)),
]}


@functools.lru_cache(maxsize=None)
def _hall_plant(name: str) -> dict:
    """The fixed plant of a hall: its machines, struck objects, hum and ventilation (from its name)."""
    hall, rng = _HALLS[name], _rng("hall", name)
    machines = []
    for _ in range(hall.machines):
        f0 = rng.uniform(*hall.machine_hz)
        k = np.arange(1, int(min(40, 2500.0 / f0)) + 1)
        machines.append({
            "f0": f0, "orders": k, "amps": k ** -rng.uniform(0.5, 1.2) * _jdb(rng, 5.0, k.size),
            "teeth": int(rng.integers(8, 40)), "mesh_amps": 0.7 * _jdb(rng, 4.0, 3) / np.arange(1, 4),
            "noise_fc": float(np.exp(rng.uniform(np.log(200.0), np.log(3000.0)))), "noise_q": rng.uniform(0.5, 2.0),
            "noise_db": rng.uniform(-10.0, 0.0), "level_db": rng.normal(0.0, 3.0)})
    objects = [[(float(np.exp(rng.uniform(np.log(250.0), np.log(5000.0)))), rng.uniform(5.0, 60.0), _jdb(rng, 4.0))
                for _ in range(3)] + [(rng.uniform(80.0, 200.0), 50.0, 0.5)] for _ in range(3)]
    hum = np.array([0.5, 1.0, 0.5, 0.3, 0.35, 0.15, 0.25, 0.1, 0.15, 0.08, 0.1, 0.05]) * _jdb(rng, 4.0, 12)
    return {"machines": machines, "objects": objects, "hum": hum, "vent_hz": rng.uniform(*hall.vent_hz),
            "fan_hz": rng.uniform(10.0, 25.0) * int(rng.integers(5, 12))}


@dataclass(frozen=True)
class Nuisance:
    """Ranges of the version-2 recording chain (uniform draws unless said otherwise).

    The microphone of each type's source domain stands at a placement of its own (drawn once
    from the ranges marked *placement*, ``_placement``); the target domain was recorded with
    the mic moved (the *target move* settings); each take moves around its placement by the
    *per take* jitters.
    """

    snr_db: tuple[float, float] = (-6.0, 12.0)  # per take: reverberant machine vs reverberant background power
    mic_distance_m: tuple[float, float] = (0.5, 2.0)  # placement (log-uniform): 1/d gain, direct/reverberant ratio
    distance_jitter: float = 0.2  # per take: sd of log(distance)
    comb_delay_ms: tuple[float, float] = (0.3, 3.0)  # placement: floor reflection of the machine's direct sound
    comb_gain: tuple[float, float] = (0.1, 0.6)  # placement
    comb_jitter: float = 0.1  # per take: relative sd of the reflection delay
    tilt_db_per_octave: tuple[float, float] = (-1.5, 1.5)  # placement: mic/preamp response around 1 kHz
    tilt_jitter_db: float = 0.3  # per take, dB per octave
    eq_db: float = 1.5  # placement: smooth EQ curve (sd of its cosine terms)
    eq_jitter_db: float = 0.5  # per take, on top
    # the target move has a fixed size in a random direction, so every type shifts about as much
    target_distance: float = 1.2  # target move: distance x or / this
    target_comb: float = 1.2  # target move: reflection delay x or / this
    target_tilt_db: float = 0.4  # target move: tilt + or - this (dB per octave)
    target_eq_db: float = 0.5  # target move: a further smooth EQ of this rms (dB)
    gain_sd_db: float = 2.0  # per take: recorder gain, on top of the 1/d distance gain
    headroom_db: float = 6.0  # the recorder's gain leaves room for loud events (faults): rarely limited
    background_drr_db: tuple[float, float] = (-12.0, -4.0)  # per take: the background is mostly diffuse
    component_sd_db: float = 2.5  # per take: spread of each background component's level


#: The recording-chain settings of version 2 (recorded in the manifest).
NUISANCE = Nuisance()


@functools.lru_cache(maxsize=None)
def _placement(machine_type: str, domain: str, nu: Nuisance = NUISANCE) -> dict:
    """Where the mic of a type's domain stands (fixed: drawn from the type and domain only)."""
    k = np.arange(1, 6)
    if domain == "target":  # the source setup, moved
        src, rng = _placement(machine_type, "source", nu), _rng("placement", machine_type, "target")
        c, ph = src["eq"]
        c2, ph2 = rng.normal(0.0, 1.0 / np.sqrt(k)), rng.uniform(0, TWO_PI, k.size)
        c2 *= nu.target_eq_db * np.sqrt(2.0 / np.sum(c2 ** 2))  # rms of a cosine series: sqrt(sum c^2 / 2)
        # the sum of two cosine series of the same orders is one cosine series
        z = c * np.exp(1j * ph) + c2 * np.exp(1j * ph2)
        sign = rng.choice([-1.0, 1.0], 3) * get_model(machine_type).target_move
        c2 *= get_model(machine_type).target_move
        return {"distance_m": src["distance_m"] * nu.target_distance ** sign[0],
                "comb_delay_ms": src["comb_delay_ms"] * nu.target_comb ** sign[1], "comb_gain": src["comb_gain"],
                "tilt_db_per_octave": src["tilt_db_per_octave"] + sign[2] * nu.target_tilt_db,
                "eq": (np.abs(z), np.angle(z))}
    rng = _rng("placement", machine_type, domain)
    return {"distance_m": float(np.exp(rng.uniform(*np.log(nu.mic_distance_m)))),
            "comb_delay_ms": rng.uniform(*nu.comb_delay_ms), "comb_gain": rng.uniform(*nu.comb_gain),
            "tilt_db_per_octave": rng.uniform(*nu.tilt_db_per_octave),
            "eq": (rng.normal(0.0, nu.eq_db / np.sqrt(k)), rng.uniform(0, TWO_PI, k.size))}


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


@functools.lru_cache(maxsize=8)
def _hall_responses(name: str, n: int, sr: int) -> dict:
    """The fixed spectra of a hall's plant on one grid: machines' noise gains (unit power), objects' modes."""
    g, plant = _grid(n, sr), _hall_plant(name)
    gains = []
    for mc in plant["machines"]:
        gain = _band(g.f, mc["noise_fc"], mc["noise_q"]) * _highpass(g.f, 30)
        gains.append(gain / np.sqrt(2.0 * np.sum(gain ** 2) / n))  # white noise through it: unit power
    return {"machine_noise": gains, "objects": [_resonances(g, modes, cached=False) for modes in plant["objects"]]}


def _hall_background(g: _Grid, rng: np.random.Generator, hall: Hall, sd_db: float) -> np.ndarray:
    """Spectrum of one take of a hall's background (dry; the room is applied later).

    Four components, each of about unit power before the hall's mix (``Hall.mix_db``) and a
    per-take spread: the hall's other machines, the mains hum, clanks, the ventilation. All
    broadband parts share one white-noise draw (independent noises add in power).
    """
    f = g.f
    plant, fixed = _hall_plant(hall.name), _hall_responses(hall.name, g.n, g.sr)
    w = 10 ** ((np.asarray(hall.mix_db) + rng.normal(0, sd_db, 4)) / 20)
    tones_f, tones_a, tones_w = [], [], []
    noise_pow = np.zeros(g.m)  # power-spectrum gain of the summed broadband parts

    def tones(freqs, amps, scale, width):
        p = _line_power(g, freqs, amps)
        if p > 0:
            tones_f.append(freqs)
            tones_a.append(np.asarray(amps) * scale / np.sqrt(p))
            tones_w.append(np.full(np.size(freqs), width))

    def noise(gain, scale):
        nonlocal noise_pow
        noise_pow = noise_pow + scale ** 2 * gain ** 2 / (2.0 * np.sum(gain ** 2) / g.n)  # unit power

    # the hall's other machines (each on or off): shaft harmonics, a blade/mesh tone family, broadband noise
    for mc, noise_gain in zip(plant["machines"], fixed["machine_noise"]):
        on = rng.uniform() < hall.p_on
        f0 = mc["f0"] * (1 + rng.normal(0, 0.01))
        gain = 10 ** ((mc["level_db"] + rng.normal(0, 1.5)) / 20) * w[0]
        jit = _jdb(rng, 1.5, mc["orders"].size + 3)  # drawn for every machine: the stream stays aligned
        if on:
            tones(np.r_[f0 * mc["orders"], f0 * mc["teeth"] * np.arange(1, 4)],
                  np.r_[mc["amps"], mc["mesh_amps"]] * jit, gain, 0.003)
            noise_pow += (gain * 10 ** (mc["noise_db"] / 20)) ** 2 * noise_gain ** 2
    # mains hum: the 2nd harmonic (magnetostriction) strongest, odd ones from non-linear loads
    mains = hall.mains_hz * (1 + rng.normal(0, 0.0005))
    tones(mains * np.arange(1, 13), plant["hum"] * _jdb(rng, 1.5, 12), w[1], 0.0003)
    # ventilation: low rumble, a broad hump and the fan's blade-pass tones
    vfc = plant["vent_hz"] * (1 + rng.normal(0, 0.05))
    noise((_pink(f, 100) * _lowpass(f, 300) + _band(f, vfc, 0.7) * _jdb(rng, 2.0)) * _highpass(f, 25), w[3])
    tones(plant["fan_hz"] * (1 + rng.normal(0, 0.01)) * np.arange(1, 4), [1.0, 0.5, 0.25], 0.3 * _jdb(rng, 2.0) * w[3],
          0.002)
    out = _lines(g, rng, np.concatenate(tones_f), np.concatenate(tones_a), np.concatenate(tones_w))
    out += _white_spec(g, rng) * np.sqrt(noise_pow)
    # clanks and knocks: the hall's objects with long-ringing metal modes, struck at random times
    count = int(rng.poisson(hall.impacts_per_s * rng.uniform(0.3, 1.7) * g.dur))
    if count:
        times = rng.uniform(0, g.dur, count)
        amps = 10 ** (rng.uniform(-24, 0, count) / 20)
        obj = rng.integers(0, len(plant["objects"]), count)
        clanks = np.zeros(g.m, dtype=complex)
        for o, modes in enumerate(fixed["objects"]):
            if (obj == o).any():
                clanks += _impulse_spec(g, times[obj == o], amps[obj == o]) * modes
        # power grows with the number of clanks: 1 at the hall's mean rate
        out += _unit(clanks, g.n) * np.sqrt(count / max(hall.impacts_per_s * g.dur, 1e-9)) * w[2]
    return out


def _room(g: _Grid, rng: np.random.Generator, rt60: float, drr_db: float,
          direct: np.ndarray | float = 1.0) -> np.ndarray:
    """Response of one source-to-mic path: ``direct`` sound + an exponentially decaying noise tail.

    The tail (energy ``drr_db`` below the direct sound's) decays by 60 dB in ``rt60`` seconds,
    starts after a few ms and loses its highs (air absorption, absorbing surfaces). It is
    applied circularly on the clip's grid (the machines are stationary).
    """
    length = min(g.n, int(1.1 * rt60 * g.sr) + 1)
    t = np.arange(length) / g.sr
    pre = rng.uniform(0.003, 0.015)
    env = np.exp(-6.91 * t / rt60) * np.clip((t - pre) / 0.005, 0.0, 1.0)
    tail = np.fft.rfft(rng.standard_normal(length, dtype=np.float32) * env, g.n)
    tail *= _lowpass(g.f, rng.uniform(2500.0, 6000.0), 1)
    tail *= np.sqrt(10 ** (-drr_db / 10) / max(_spec_power(tail, g.n) * g.n, 1e-30))
    return direct + tail


def _record_v2(g: _Grid, rng: np.random.Generator, hall: Hall, place: Mapping, machine: np.ndarray,
               nu: Nuisance = NUISANCE, parts: bool = False) -> tuple[np.ndarray, dict]:
    """Record a dry machine spectrum in ``hall`` with the mic near ``place``: (samples, info).

    ``info`` says what was drawn; with ``parts`` it also holds ``machine`` and ``background``:
    the two signals at the mixing point (before the mic's response and the level), whose
    power ratio is ``snr_db``.
    """
    snr = rng.uniform(*nu.snr_db)
    dist = place["distance_m"] * float(np.exp(rng.normal(0, nu.distance_jitter)))
    rt60 = rng.uniform(*hall.rt60_s)
    tau = place["comb_delay_ms"] * (1 + rng.normal(0, nu.comb_jitter)) / 1000.0
    refl = place["comb_gain"]
    tilt = place["tilt_db_per_octave"] + rng.normal(0, nu.tilt_jitter_db)
    gain_db = -20 * np.log10(dist) + rng.normal(0, nu.gain_sd_db) - nu.headroom_db
    comb = 1.0 + refl * np.exp(-1j * TWO_PI * g.f * tau)
    drr = 20 * np.log10(hall.critical_m / dist)
    m = machine * _room(g, rng, rt60, drr, direct=comb)
    b = _hall_background(g, rng, hall, nu.component_sd_db) * _room(g, rng, rt60, rng.uniform(*nu.background_drr_db))
    m[0] = b[0] = 0.0
    p_m = _spec_power(m, g.n)
    b *= np.sqrt(p_m / max(_spec_power(b, g.n), 1e-30) / 10 ** (snr / 10))
    # the recordist sets the level by the whole mix: machine + background as loud as the machine alone
    level = 10 ** (gain_db / 20) / np.sqrt(1 + 10 ** (-snr / 10))
    mic = 10 ** (tilt * np.log2(np.clip(g.f, 50.0, 8000.0) / 1000.0) / 20) * _eq_curve(g, *place["eq"]) \
        * _colouring(g, rng, nu.eq_jitter_db)
    x = np.fft.irfft((m + b) * mic, g.n) * level
    peak = np.max(np.abs(x))
    limit = 0.95 / peak if peak > 0.95 else 1.0  # never clip: scale the rare loud take down
    info = {"hall": hall.name, "snr_db": float(snr), "mic_distance_m": dist, "drr_db": float(drr),
            "rt60_s": float(rt60), "comb_delay_ms": 1000 * tau, "comb_gain": float(refl),
            "tilt_db_per_octave": float(tilt), "gain_db": float(gain_db + 20 * np.log10(limit))}
    if parts:
        info.update(machine=np.fft.irfft(m, g.n), background=np.fft.irfft(b, g.n))
    return x * limit, info


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
    backgrounds: tuple[str, str]  # (source, target) background noise kind of version 1
    hidden: bool
    render: Callable = dataclasses.field(repr=False, compare=False)
    halls: tuple[str, str] = ("assembly", "warehouse")  # (source, target) hall of version 2
    target_move: float = 1.0  # version 2: how far the target's mic setup moves (x the NUISANCE target move)
    part: str = "dev"  # "dev" or "additional"


class _Ctx:
    """What one render call needs: grid, random streams, attributes, anomaly, severity, version.

    A sound model adds its machine sound to ``time`` (samples) and ``spec`` (rfft spectrum)
    and returns ``finish(...)``, which records it the way the generator version says. The
    streams: ``rng`` the normal machine, ``arng`` the fault, ``nrng`` the recording (v2).
    """

    def __init__(self, g, rng, arng, attrs, domain, anomaly, sev, model, version=1, nrng=None, parts=False):
        self.g, self.rng, self.arng = g, rng, arng
        self.a, self.domain, self.anomaly, self.sev = attrs, domain, anomaly, sev
        self.model = model
        self.version, self.nrng, self.parts = version, nrng, parts
        self.info: dict = {"version": version}
        self.time = np.zeros(g.n)
        self.spec = np.zeros(g.m, dtype=complex)

    def s(self, kind: str) -> float:
        """Severity of ``kind`` in this clip (0 when the clip is not that anomaly)."""
        return self.sev * kind_gains(self.model.name, self.version)[kind] if self.anomaly == kind else 0.0

    def finish(self, colour_db: float = 1.2, bg_level: float = 0.004, mic_gain: np.ndarray | float = 1.0,
               level_db: float = 1.0) -> np.ndarray:
        """Mix in the domain's background, colour the whole take (room + mic), set its level.

        Version 1: the type's background kind at ``bg_level``, a smooth colouring of ``colour_db``
        and a level spread of ``level_db``. Version 2 ignores those three: the take is recorded
        in the domain's hall (``_record_v2``); ``mic_gain`` (the type's mic attribute) applies in both.
        """
        if self.version == 2:
            machine = (np.fft.rfft(self.time) + self.spec) * mic_gain
            hall = _HALLS[self.model.halls[1 if self.domain == "target" else 0]]
            place = _placement(self.model.name, self.domain)
            x, info = _record_v2(self.g, self.nrng, hall, place, machine, parts=self.parts)
            self.info.update(info)
            return x
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


# Per-kind strength at severity 1 (version 1), calibrated with benchmarks/calibrate_synth.py so
# that each kind alone lands roughly at AUC 0.65-0.9 for the simple reference detectors (demo
# profile). Frozen with version 1.
_KIND_GAIN: dict[str, dict[str, float]] = {
    "synFan": {"imbalance": 0.71, "blade_rub": 1.8, "clogging": 0.85},
    "synGearbox": {"tooth_crack": 1.0, "wear": 0.7, "misalignment": 0.25},
    "synSlider": {"rail_scratch": 2.59, "missing_stroke": 0.65, "belt_slip": 1.96},
    "synValve": {"leak": 0.42, "bounce": 1.7, "contamination": 0.5},
    "synBearing": {"outer_race": 1.19, "inner_race": 1.09, "lubrication": 0.83},
    "synToyCar": {"gear_chip": 1.1, "bent_shaft": 2.1, "tire_damage": 0.65},
    "synToyTrain": {"flat_wheel": 2.37, "loose_part": 4.0, "motor_fault": 1.41},
}

# The same for version 2 and for the additional types (whose version-1 rendering uses these
# gains too, so it is easier): calibrated against the same two reference detectors on the
# recorded takes (demo profile, seeds 0-1 for the dev part): each kind alone near AUC 0.62
# against all test normals, the mean of Maha and 1-NN. Never against the learned systems.
_KIND_GAIN_V2: dict[str, dict[str, float]] = {
    "synFan": {"imbalance": 1.88, "blade_rub": 1.65, "clogging": 1.4},
    "synGearbox": {"tooth_crack": 0.71, "wear": 1.33, "misalignment": 1.14},
    "synSlider": {"rail_scratch": 0.95, "missing_stroke": 1.01, "belt_slip": 0.97},
    "synValve": {"leak": 0.75, "bounce": 1.9, "contamination": 0.27},
    "synBearing": {"outer_race": 1.2, "inner_race": 1.3, "lubrication": 1.28},
    "synToyCar": {"gear_chip": 1.26, "bent_shaft": 2.21, "tire_damage": 1.91},
    "synToyTrain": {"flat_wheel": 2, "loose_part": 0.9, "motor_fault": 0.7},
    # additional part
    "syn3DPrinter": {"belt_loose": 1.89, "extruder_skip": 1.17, "fan_fault": 0.44},
    "synAirCompressor": {"valve_leak": 1.66, "piston_knock": 0.45, "belt_slip": 1.76},
    "synScanner": {"roller_squeal": 0.99, "carriage_stall": 1.45, "gear_crack": 0.39},
    "synToyCircuit": {"loose_wheel": 0.96, "brush_spark": 1.06, "guide_scrape": 1.5},
    "synHoveringDrone": {"blade_chip": 0.6, "motor_bearing": 1.4, "prop_crack": 1.3},
    "synHairDryer": {"intake_blocked": 0.4, "bearing_wear": 0.94, "heater_buzz": 1.52},
    "synToothBrush": {"loose_head": 0.55, "battery_low": 0.3, "worn_motor": 0.5},
    "synRoboticArm": {"gear_backlash": 1, "joint_friction": 1.78, "servo_hunting": 1.2},
    "synBrushlessMotor": {"bearing_damage": 0.3, "rotor_imbalance": 0.3, "phase_loss": 0.55},
}


def kind_gains(machine_type: str, version: int | None = None) -> dict[str, float]:
    """Per-kind anomaly strength at severity 1 for a type and generator version."""
    version = _check_version(version)
    if version == 1 and machine_type in _KIND_GAIN:
        return _KIND_GAIN[machine_type]
    return _KIND_GAIN_V2[machine_type]


def _check_version(version: int | None) -> int:
    v = DEFAULT_VERSION if version is None else version
    if v not in GENERATOR_VERSIONS:
        raise ValueError(f"unknown generator version {version!r}; choose one of {sorted(GENERATOR_VERSIONS)}")
    return int(v)


# Take-to-take spread of the main running speed (relative sd): real machines never run at
# exactly the nominal value, and this spread is what makes nearby operating points overlap.
_SPEED_JITTER: dict[str, float] = {
    "synFan": 0.025, "synGearbox": 0.005, "synSlider": 0.02, "synValve": 0.01,
    "synBearing": 0.025, "synToyCar": 0.04, "synToyTrain": 0.06,
    "syn3DPrinter": 0.03, "synAirCompressor": 0.01, "synScanner": 0.02, "synToyCircuit": 0.04,
    "synHoveringDrone": 0.02, "synHairDryer": 0.02, "synToothBrush": 0.006, "synRoboticArm": 0.03,
    "synBrushlessMotor": 0.01,
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
    hump_fc = 35.0 * fr * max(1 - 0.25 * s_clog, 1e-3) * (1 + rng.normal(0, 0.03))  # (guard: s_clog > 4)
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
            ("quiet", "hvac"), False, _fan, halls=("assembly", "warehouse"), target_move=0.8),
        MachineModel(
            "synGearbox", "single-stage gearbox: gear-mesh harmonics with shaft-rate sidebands, load-dependent "
            "levels and slip, housing resonances, motor hum",
            ("pro", "wt"), _groups(pro=["A", "B"], wt=["0", "50", "100", "150", "200"]),
            _groups(pro=["A"], wt=["30", "80", "130", "180", "250"])
            + _groups(pro=["B"], wt=["20", "70", "120", "170", "250"]),
            {"tooth_crack": "impact once per shaft revolution ringing the housing",
             "wear": "stronger higher mesh harmonics, mesh phase noise, more broadband noise",
             "misalignment": "strong 2x shaft sidebands and 2x shaft tone"},
            ("quiet", "workshop"), True, _gearbox, halls=("assembly", "warehouse"), target_move=1.0),
        MachineModel(
            "synSlider", "linear stage: strokes with trapezoidal velocity (ramp set by the acceleration), "
            "stepper whine following the velocity, belt noise, end-stop clicks",
            ("ac",), _groups(ac=["0.03", "0.05", "0.07", "0.09", "0.11"]),
            _groups(ac=["0.01", "0.02", "0.04", "0.06", "0.08", "0.10", "0.12", "0.13"]),
            {"rail_scratch": "grinding while the carriage crosses a damaged stretch of rail",
             "missing_stroke": "some strokes stall: no motion, only a motor buzz",
             "belt_slip": "wavering whine and rattle of belt teeth while moving"},
            ("quiet", "workshop"), True, _slider, halls=("assembly", "warehouse"), target_move=0.5),
        MachineModel(
            "synValve", "solenoid valve: opening/closing clicks ringing the body, flow hiss while open "
            "(louder and brighter with more flow), pump hum and pipe noise in the background",
            ("seq", "flow"), _groups(seq=["A", "B", "C"], flow=["2"]), _groups(seq=["A", "D"], flow=["2.5"]),
            {"leak": "continuous thin hiss, also while closed",
             "bounce": "late opening and a chatter of small impacts after each stop",
             "contamination": "crackle of particles while open"},
            ("quiet", "workshop"), False, _valve, halls=("assembly", "warehouse"), target_move=1.0),
        MachineModel(
            "synBearing", "rolling bearing on a test rig: broadband rolling noise through structural "
            "resonances (weights depend on the mic position), shaft-rate and ball-pass modulation",
            ("rps", "mic"), _groups(rps=["8", "12", "16"], mic=["A", "B"]), _groups(rps=["10", "20"], mic=["A"]),
            {"outer_race": "impacts at the ball-pass frequency of the outer race",
             "inner_race": "impacts at the inner-race ball-pass frequency, modulated at shaft rate",
             "lubrication": "high-frequency friction noise and a faint squeal"},
            ("quiet", "hvac"), False, _bearing, halls=("lab", "assembly"), target_move=0.6),
        MachineModel(
            "synToyCar", "toy car on a roller: DC motor whine (commutator harmonics), brush noise, gear "
            "whine, road noise modulated at wheel rate",
            ("car", "spd", "mic"), _groups(car=["A", "B", "C"], spd=["3.0", "3.4"], mic=["1", "2"]),
            _groups(car=["A", "C"], spd=["2.8", "3.6"], mic=["2"]),
            {"gear_chip": "click once per gear turn",
             "bent_shaft": "motor load wobble at wheel rate",
             "tire_damage": "low thump per wheel turn with body rattle"},
            ("quiet", "street"), False, _toycar, halls=("lab", "assembly"), target_move=0.6),
        MachineModel(
            "synToyTrain", "toy train on a track: wheel-on-rail clicks at rail joints (4 axles; axle spacing "
            "and body resonance set by the car), motor whine and rolling noise set by the speed",
            ("car", "spd", "mic"), _groups(car=["B1", "B2", "C1", "C2"], spd=["7", "8", "10"], mic=["1"]),
            _groups(car=["A1", "A2", "E1", "E2"], spd=["7.5", "9"], mic=["2"]),
            {"flat_wheel": "thump once per wheel revolution",
             "loose_part": "rattle after every rail joint",
             "motor_fault": "motor speed hunting and brush sparking noise"},
            ("quiet", "workshop"), True, _toytrain, halls=("lab", "press_shop")),
    ]
}


# --------------------------------------------------------------------------- additional part
# Nine further types, like the DCASE 2024 additional training set (the types of its evaluation
# set), built from the same blocks but physically different: stepper sequences, piston cycles,
# scan cycles, a car passing the mic, rotors, a jet of air, a sonic oscillator, servo joints,
# an electronically commutated motor. Four have hidden attributes, as AirCompressor,
# BrushlessMotor, HoveringDrone and ToothBrush have in DCASE 2024.

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


_PRINTERS = {  # model -> (full steps per mm, frame resonances)
    "A": (5.0, ((2300.0, 250.0, 1.0), (4100.0, 400.0, 0.6), (700.0, 120.0, 0.5))),
    "B": (2.5, ((1700.0, 200.0, 1.0), (3300.0, 350.0, 0.7), (950.0, 150.0, 0.4))),
}
_PRINT_SPEED = {"1": 40.0, "2": 70.0, "3": 85.0}  # mm/s


def _printer(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    steps_mm, frame = _PRINTERS[c.a["mdl"]]
    vmax = _PRINT_SPEED[c.a["spd"]] * (1 + rng.normal(0, _SPEED_JITTER["syn3DPrinter"]))
    s_belt, s_skip, s_fan = c.s("belt_loose"), c.s("extruder_skip"), c.s("fan_fault")
    # the tool path: straight moves of random direction, length and speed (infill, perimeters)
    n_mv = int(g.dur / 0.06) + 2
    durs = rng.uniform(0.06, 0.4, n_mv)
    edges = np.cumsum(durs) - durs[0] - rng.uniform(0, durs[0])
    ang = rng.uniform(0, TWO_PI, n_mv)
    speed = vmax * rng.uniform(0.6, 1.0, n_mv)
    vx, vy = speed * np.cos(ang), speed * np.sin(ang)
    knock = _jdb(rng, 2.0, n_mv)
    tones = np.zeros(g.n)
    for v_axis, a0 in ((vx, 0.012), (vy, 0.010)):  # one stepper per axis: its step rate follows its speed
        v_t = _held(g, edges, np.abs(v_axis), 0.02)
        fs = v_t * steps_mm
        if s_belt:  # a loose belt: the carriage lags and overshoots, the whine wavers
            wobble = np.sin(TWO_PI * arng.uniform(8, 15) * g.t + arng.uniform(0, TWO_PI))
            fs = fs * (1 + 0.015 * min(s_belt, 3.0) * wobble)
        amps = a0 * np.array([1.0, 0.5, 0.35, 0.6]) * _jdb(rng, 2.0, 4)  # 4th: microstep resonance
        tones += _harmonics(_phase(g, fs), [1, 2, 3, 4], amps, rng) * np.sqrt(v_t / vmax)
    # direction reversals knock the frame
    rev = (np.sign(vx[1:]) != np.sign(vx[:-1])) | (np.sign(vy[1:]) != np.sign(vy[:-1]))
    t_rev, a_rev = edges[1:][rev], 0.03 * (vmax / 70.0) * knock[1:][rev]
    frame_res = _resonances(g, _jitter_modes(rng, list(frame)))
    c.spec += _impulse_spec(g, t_rev, a_rev) * frame_res
    if s_belt:  # backlash: a second knock after every reversal
        c.spec += _impulse_spec(g, t_rev + arng.uniform(0.008, 0.02), a_rev * 0.8 * s_belt) * frame_res
    # extruder stepper: slow, steady while printing
    fe = 0.45 * vmax * (1 + rng.normal(0, 0.02))
    extr = _harmonics(_phase(g, fe * (1 + _drift(g, rng, 0.01, 2.0))), [1, 2, 3, 4, 6],
                      np.array([0.004, 0.003, 0.002, 0.002, 0.001]) * _jdb(rng, 2.0, 5), rng)
    # part-cooling fan (7 blades); a failing one runs slower
    ffan = rng.uniform(85.0, 100.0) * (1 - 0.12 * min(s_fan, 2.5))
    ph_f = _phase(g, ffan * (1 + _drift(g, rng, 0.003)))
    fan = _harmonics(ph_f, [7, 14, 21], np.array([0.006, 0.002, 0.001]) * _jdb(rng, 2.0, 3), rng)
    fan_air = _noise(g, rng, _band(f, 2500, 0.5) * _highpass(f, 300)) * 0.006 * _jdb(rng, 1.5)
    drivers = _noise(g, rng, _band(f, 5800, 2.0)) * 0.0015 * _jdb(rng, 2.0)  # chopper drivers hiss
    c.time += tones + extr + fan + fan_air + drivers
    if s_fan:  # worn fan bearing: noise modulated at the fan's rate
        c.time += _noise(g, arng, _band(f, 4200, 1.0)) * 0.004 * s_fan * (1 + np.sin(ph_f))
    if s_skip:  # clogged nozzle: the extruder gear slips on the filament, a knock each slip
        times = _periodic_times(g, arng, arng.uniform(4, 9), 0.25)
        c.spec += _impulse_spec(g, times, 0.12 * s_skip * arng.uniform(0.5, 1.0, times.size)) * \
            _resonances(g, [(1200, 150, 1.0), (2600, 300, 0.6)])
        # and the gear grinds the filament
        c.time += _noise(g, arng, _band(f, arng.uniform(2800, 3600), 2.0)) * 0.006 * s_skip
    return c.finish(bg_level=0.003)


def _compressor(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    fl, nos = int(c.a["fl"]), int(c.a["nos"])
    s_leak, s_knock, s_slip = c.s("valve_leak"), c.s("piston_knock"), c.s("belt_slip")
    load = 1.0 - 0.3 * fl  # outlet closed: the tank is at full pressure, every stroke works harder
    fmot = 24.3 * (1 - 0.025 * load) * (1 + rng.normal(0, _SPEED_JITTER["synAirCompressor"]))
    fmot_t = fmot * (1 + _drift(g, rng, 0.002))
    # reed-valve click times follow the crank without the (anomalous) hunting: a tiny fault must
    # not move every click by a sample
    fclick_t = 2 * fmot_t / 2.6
    if s_slip:  # slipping belt: the crank hunts behind the motor
        fmot_t = fmot_t * (1 - 0.03 * min(s_slip, 2.5) * (0.5 + 0.5 * np.sin(
            TWO_PI * arng.uniform(1.5, 3.0) * g.t + arng.uniform(0, TWO_PI))))
    fcrank_t = fmot_t / 2.6  # belt ratio
    ph_c = _phase(g, fcrank_t)
    # two cylinders: compression pulses twice per crank turn, a pulsating low rumble
    k = np.arange(1, 17)
    amps = 0.02 * (0.6 + 0.4 * load) * k ** -0.8 * np.where(k % 2 == 0, 1.0, 0.35) * _jdb(rng, 2.0, k.size)
    pulse = _harmonics(ph_c, k, amps, rng)
    # reed valves: an intake and a discharge click per stroke, locked to the crank
    t_in = _crossings(g.t, _cycles(g, fclick_t, rng.uniform(0, 1)))
    # per-stroke jitters drawn for the most strokes a take can have, so that a slipping belt
    # (fewer strokes) does not shift the random stream of the normal sound
    most = int(2 * g.dur * fmot / 2.6 * 1.2) + 4
    jit, a_in, a_out = rng.normal(0, 0.001, most), _jdb(rng, 1.5, most), _jdb(rng, 1.5, most)
    t_in = t_in + jit[:t_in.size]
    t_out = t_in + 0.35 / (2 * fmot / 2.6) * (1 + 0.1 * load)
    reed = _resonances(g, _jitter_modes(rng, [(2800, 200, 1.0), (5200, 400, 0.5)]))
    disch = _resonances(g, _jitter_modes(rng, [(3500, 300, 1.0), (6100, 500, 0.4)]))
    thump = _resonances(g, [(110, 25, 1.0), (450, 80, 0.4)])  # tank and frame
    c.spec += _impulse_spec(g, t_in, 0.02 * a_in[:t_in.size]) * reed + \
        _impulse_spec(g, t_out, 0.03 * (0.6 + 0.4 * load) * a_out[:t_out.size]) * (disch + 0.5 * thump)
    hum = _harmonics(_phase(g, 100.0), [1, 2, 3], np.array([0.006, 0.003, 0.0015]) * _jdb(rng, 2.0, 3), rng)
    slot = _harmonics(_phase(g, fmot_t), [28], [0.003 * _jdb(rng, 2.0)], rng)  # rotor slot harmonic
    # outlet air: louder with the flow, brighter with the nozzle; intake whoosh at the stroke rate
    hiss = _noise(g, rng, _band(f, 1800 + 900 * nos, 0.6) * _highpass(f, 300)) * \
        (0.002 + 0.004 * fl) * (1 + 0.25 * nos) * _jdb(rng, 1.5)
    intake = _noise(g, rng, _band(f, 700, 0.7)) * 0.006 * _jdb(rng, 1.5) * (1 + 0.6 * np.sin(2 * ph_c))
    c.time += pulse + hum + slot + hiss + intake
    if s_leak:  # leaking discharge valve: a hiss burst in every compression stroke
        gate = np.clip(np.sin(2 * ph_c + arng.uniform(0, TWO_PI)), 0, None) ** 2
        c.time += _noise(g, arng, _band(f, arng.uniform(4000, 6000), 1.5)) * 0.02 * s_leak * gate
    if s_knock:  # worn piston pin: a knock once per crank turn
        tk = _crossings(g.t, _cycles(g, fcrank_t, arng.uniform(0, 1)))
        c.spec += _impulse_spec(g, tk, 0.06 * s_knock * arng.uniform(0.6, 1.0, tk.size)) * \
            _resonances(g, [(1800, 150, 1.0), (3900, 300, 0.7)])
    if s_slip:  # and squeals now and then
        env = np.clip(_drift(g, arng, 1.0, 1.0), 0, None)
        c.time += 0.006 * min(s_slip, 2.5) * env * np.sin(_phase(g, arng.uniform(2200, 3000)))
    return c.finish(bg_level=0.004)


_SCAN_RES = {"1": 1.0, "2": 0.5}  # carriage speed factor: a finer resolution scans slower
_SCAN_LEN = {"1": 0.45, "2": 0.7, "3": 1.0}  # scan pass at resolution 1 (s): the page length


def _scanner(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    res, plen = _SCAN_RES[c.a["res"]], _SCAN_LEN[c.a["len"]]
    s_sq, s_stall, s_gear = c.s("roller_squeal"), c.s("carriage_stall"), c.s("gear_crack")
    jit = 1 + rng.normal(0, _SPEED_JITTER["synScanner"])
    # one page: feed it in (rollers), scan (slow carriage), return (fast), pause
    t_feed, t_scan, t_ret = 0.25 * jit, plen / res * jit, 0.3
    cycle = t_feed + t_scan + t_ret + 0.2 * (1 + rng.normal(0, 0.1))
    starts = np.arange(-rng.uniform(0, cycle), g.dur, cycle)
    f_scan = 700.0 * res * (1 + rng.normal(0, 0.01))  # full-step rate of the carriage stepper
    f_ret = 2100.0
    edges = (starts[:, None] + np.array([0.0, t_feed, t_feed + t_scan, t_feed + t_scan + t_ret])).ravel()
    fstep = _held(g, edges, np.tile([0.0, f_scan, f_ret, 0.0], starts.size), 0.015)
    if s_stall:  # the carriage sticks on some pages: no motion for a moment, the motor buzzes
        stall = arng.uniform(0, 1, starts.size) < min(0.9, 0.45 * s_stall)
        st0 = starts[stall] + t_feed + arng.uniform(0.1, 0.7, stall.sum()) * t_scan
        st1 = st0 + arng.uniform(0.1, 0.25, st0.size)
        stall_env = _envelope(g, st0, st1, 0.005)
        fstep = fstep * (1 - stall_env)
    ph = _phase(g, fstep)
    carriage = _harmonics(ph, [1, 2, 3, 5], np.array([0.01, 0.005, 0.003, 0.002]) * _jdb(rng, 2.0, 4), rng)
    carriage *= np.sqrt(np.clip(fstep / f_scan, 0.0, 1.0))
    belt = _noise(g, rng, _band(f, 1500, 0.6) * _highpass(f, 200)) * 0.004 * _jdb(rng, 1.5) * np.sqrt(fstep / f_ret)
    feed_env = _envelope(g, starts, starts + t_feed, 0.02)
    rollers = _harmonics(_phase(g, 160.0 * (1 + rng.normal(0, 0.02))), [1, 2, 3],
                         np.array([0.006, 0.004, 0.002]) * _jdb(rng, 2.0, 3), rng) * feed_env
    rustle = _noise(g, rng, _highpass(f, 2000) * _lowpass(f, 7000)) * 0.006 * _jdb(rng, 1.5) * \
        feed_env * (1 + 0.8 * _drift(g, rng, 1.0, 20.0)).clip(0)
    lamp = 0.0008 * _jdb(rng, 2.0) * np.sin(_phase(g, 6200.0))  # LED driver whine
    c.time += carriage + belt + rollers + rustle + lamp
    # pick-up solenoid at each page, home-sensor stop at the end of the return
    body = _resonances(g, _jitter_modes(rng, [(1500, 200, 1.0), (3200, 300, 0.6)]))
    c.spec += _impulse_spec(g, starts, 0.04 * _jdb(rng, 1.0, starts.size)) * body
    c.spec += _impulse_spec(g, starts + t_feed + t_scan + t_ret, 0.015 * _jdb(rng, 1.0, starts.size)) * body
    if s_stall:
        c.time += 0.02 * min(s_stall, 2.5) * stall_env * _harmonics(_phase(g, 100.0), [1, 2, 3], [1, 0.6, 0.3], arng)
        c.spec += _impulse_spec(g, st0, 0.08 * s_stall) * body
    if s_sq:  # worn feed roller: a rising squeal while the page is pulled in
        prog = np.clip((g.t[None, :] - starts[:, None]) / t_feed, 0, 1).max(0)
        f_sq = arng.uniform(1500, 2000) * (1 + 0.3 * prog)
        c.time += 0.015 * s_sq * feed_env * np.sin(_phase(g, f_sq))
    if s_gear:  # cracked drive gear: a click once per gear turn while the carriage moves
        tg = _crossings(g.t, _cycles(g, fstep / 48.0, arng.uniform(0, 1)))
        c.spec += _impulse_spec(g, tg, 0.03 * s_gear * arng.uniform(0.6, 1.0, tg.size)) * \
            _resonances(g, [(2700, 250, 1.0), (5300, 500, 0.5)])
    return c.finish(bg_level=0.003)


_CIRCUIT_CARS = {"A1": (1.0, 3), "A2": (1.12, 3), "B1": (0.88, 5), "B2": (0.95, 5)}  # motor factor, commutator slots


def _circuit_geometry(s: np.ndarray, straight: float, r: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Position (x, y) on an oval track at arc length ``s`` and whether it is in a curve."""
    length = 2 * straight + TWO_PI * r
    s = np.mod(s, length)
    x, y = np.empty_like(s), np.empty_like(s)
    a = s < straight
    b = (s >= straight) & (s < straight + np.pi * r)
    cc = (s >= straight + np.pi * r) & (s < 2 * straight + np.pi * r)
    d = s >= 2 * straight + np.pi * r
    x[a], y[a] = s[a], 0.0
    th = (s[b] - straight) / r - np.pi / 2
    x[b], y[b] = straight + r * np.cos(th), r + r * np.sin(th)
    x[cc], y[cc] = straight - (s[cc] - straight - np.pi * r), 2 * r
    th = (s[d] - 2 * straight - np.pi * r) / r + np.pi / 2
    x[d], y[d] = r * np.cos(th), r + r * np.sin(th)
    return x, y, (b | d).astype(float)


def _toycircuit(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    kmot, slots = _CIRCUIT_CARS[c.a["id"]]
    spd = float(c.a["spd"])
    s_wheel, s_spark, s_scrape = c.s("loose_wheel"), c.s("brush_spark"), c.s("guide_scrape")
    straight, radius = 1.2, 0.35
    length = 2 * straight + TWO_PI * radius
    v = (0.8 + 0.35 * spd) * kmot * (1 + rng.normal(0, _SPEED_JITTER["synToyCircuit"]))  # m/s
    tc = g.t_coarse
    sc = rng.uniform(0, length) + v * (tc + 0.02 * np.interp(tc, g.t, _drift(g, rng, 1.0, 0.5)))
    x, y, curve = _circuit_geometry(sc, straight, radius)
    mic_x = straight / 2 + rng.uniform(-0.1, 0.1)
    dist = np.sqrt((x - mic_x) ** 2 + (y + 0.25) ** 2)  # the mic stands 0.25 m beside one straight
    vr = np.gradient(dist, tc)  # radial velocity: the whine drops as the car drives away
    amp = np.interp(g.t, tc, 0.3 / dist)
    dop = np.interp(g.t, tc, 1.0 / (1.0 + vr / 343.0))
    curve_t = np.interp(g.t, tc, curve)
    fm = 180.0 * v  # motor revolutions per second (geared to the wheels)
    ph = _phase(g, fm * dop)
    amps = 0.012 * np.arange(1, 9, dtype=float) ** -0.8 * _jdb(rng, 2.0, 8)
    amps[slots - 1] *= 2.0
    motor = _harmonics(ph, range(1, 9), amps, rng)
    braid = _noise(g, rng, _band(f, 3500, 0.7)) * 0.003 * _jdb(rng, 1.5)  # pick-up braids in the slot
    tyres = _noise(g, rng, _pink(f, 300) * _lowpass(f, 1500) * _highpass(f, 60)) * 0.006 * _jdb(rng, 1.5)
    scrub = _noise(g, rng, _band(f, 1800, 0.8)) * 0.006 * _jdb(rng, 1.5) * curve_t * (v / 1.5)
    c.time += (motor + braid + tyres + scrub) * amp
    # track joints every 0.3 m click under the wheels (louder near the mic)
    tj = _crossings(tc, sc / 0.3)
    aj = 0.02 * np.interp(tj, tc, 0.3 / dist) * _jdb(rng, 2.0, tj.size)
    track = _resonances(g, _jitter_modes(rng, [(900, 300, 1.0), (2100, 500, 0.6)]))
    c.spec += _impulse_spec(g, tj, aj) * track
    if s_wheel:  # a loose wheel rattles at the wheel rate
        tw = _crossings(tc, sc / 0.07)
        tw = tw[arng.uniform(0, 1, tw.size) < 0.6]
        c.spec += _impulse_spec(g, tw, 0.03 * s_wheel * np.interp(tw, tc, 0.3 / dist)) * \
            _resonances(g, [(4200, 300, 1.0), (2600, 250, 0.5)])
    if s_spark:  # worn brushes spark: crackle with the commutation
        c.time += _noise(g, arng, _band(f, 5500, 0.8)) * 0.006 * s_spark * amp * (1 + np.sin(slots * ph)) * \
            (0.5 + 0.5 * np.sign(_drift(g, arng, 1.0, 6.0)))
    if s_scrape:  # worn guide blade: it scrapes the slot, hardest in the curves
        scrape = _noise(g, arng, _band(f, arng.uniform(2500, 4000), 1.5))
        c.time += scrape * 0.006 * s_scrape * amp * (0.3 + curve_t) * (1 + 0.5 * _drift(g, arng, 1.0, 8.0))
    return c.finish(bg_level=0.004)


_DRONES = {  # id -> (blades per rotor, propeller size: a bigger one turns slower)
    "A1": (2, 1.0), "A2": (2, 1.15), "B1": (3, 0.9), "B2": (3, 1.05), "C1": (2, 1.08), "C2": (3, 0.98),
}
_DRONE_THRUST = {"1": 1.0, "2": 1.1, "3": 1.05}  # hover, climb, heavy


def _drone(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    blades, size = _DRONES[c.a["id"]]
    s_chip, s_brg, s_crack = c.s("blade_chip"), c.s("motor_bearing"), c.s("prop_crack")
    fr0 = 105.0 / size * _DRONE_THRUST[c.a["spd"]] * (1 + rng.normal(0, _SPEED_JITTER["synHoveringDrone"]))
    # hovering is never still: the drone sways towards and away from the mic -> level and pitch waver
    sway_f, sway_v, sway_p = rng.uniform(0.3, 1.2), rng.uniform(0.1, 0.4), rng.uniform(0, TWO_PI)
    vr = sway_v * np.sin(TWO_PI * sway_f * g.t + sway_p)
    dop = 1.0 / (1.0 + vr / 343.0)
    amp = 1.0 - (sway_v / (TWO_PI * sway_f)) / 1.5 * np.cos(TWO_PI * sway_f * g.t + sway_p)
    out = np.zeros(g.n)
    k = np.arange(1, 11)
    for i in range(4):  # four rotors, each corrected by the flight controller on its own
        fr = fr0 * (1 + rng.normal(0, 0.015)) * (1 + _drift(g, rng, 0.006, 4.0)) * dop
        ph = _phase(g, fr)
        rotor = _harmonics(ph, blades * k, 0.012 * k ** -1.2 * _jdb(rng, 2.0, k.size), rng)
        rotor += _harmonics(ph, [1, 2, 42], np.array([0.0015, 0.001, 0.0008]) * _jdb(rng, 2.0, 3), rng)
        if i == 0 and s_chip:  # chipped blade: imbalance -> 1x tone and once-per-turn wobble
            rotor = rotor * (1 + min(0.5, 0.2 * s_chip) * np.sin(ph))
            rotor += 0.01 * s_chip * np.sin(ph + arng.uniform(0, TWO_PI))
        if i == 1 and s_brg:  # worn motor bearing: high rough noise with the rotation
            rotor += _noise(g, arng, _band(f, arng.uniform(5000, 7000), 1.0)) * 0.005 * s_brg * (1 + 0.6 * np.sin(ph))
        if i == 2 and s_crack:  # cracked propeller: it flutters once per turn
            tcr = _crossings(g.t, _cycles(g, fr, arng.uniform(0, 1)))
            c.spec += _impulse_spec(g, tcr, 0.012 * s_crack) * _resonances(g, [(2500, 400, 1.0), (900, 200, 0.5)])
        if i == 0:
            ph0 = ph
        out += rotor
    air = _noise(g, rng, _band(f, 1800, 0.4) * _highpass(f, 100)) * 0.012 * _jdb(rng, 1.0)
    air *= 1 + 0.3 * np.sin(blades * ph0)
    c.time += (out + air) * amp
    mic_gain = 1.0 if c.a["mic"] == "1" else 0.9 * (0.7 + 0.3 * _lowpass(f, 2500, 1))  # farther, below the drone
    return c.finish(bg_level=0.004, mic_gain=mic_gain)


_DRYERS = {"A1": (11, 1.0), "A2": (13, 0.93), "A3": (11, 1.08), "A4": (12, 1.04)}  # fan blades, motor factor
_DRYER_SPEED = {"1": 0.75, "2": 1.0, "3": 1.2}


def _hairdryer(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    blades, kmot = _DRYERS[c.a["id"]]
    sp = _DRYER_SPEED[c.a["spd"]]
    s_blk, s_brg, s_buzz = c.s("intake_blocked"), c.s("bearing_wear"), c.s("heater_buzz")
    blk = min(s_blk, 2.5)
    # a blocked intake unloads the fan: it spins up and moves less air
    fr = 300.0 * kmot * sp * (1 + 0.07 * blk) * (1 + rng.normal(0, _SPEED_JITTER["synHairDryer"]))
    ph = _phase(g, fr * (1 + _drift(g, rng, 0.003, 2.0)))
    bpf = _harmonics(ph, [blades, 2 * blades], np.array([0.006, 0.002]) * _jdb(rng, 2.0, 2), rng)
    shaft = _harmonics(ph, [1, 2, 3, 12], np.array([0.004, 0.003, 0.002, 0.002]) * _jdb(rng, 2.0, 4), rng)
    brush = _noise(g, rng, _band(f, 6500, 0.8)) * 0.003 * _jdb(rng, 1.5) * (1 + 0.4 * np.sin(2 * ph))
    # the jet: broad turbulent noise, louder and brighter at the higher setting
    air_gain = (_band(f, 1700 * sp, 0.45 * (1 + 0.8 * blk)) + 0.3 * _pink(f, 1000)) * _highpass(f, 120)
    air = _noise(g, rng, air_gain) * 0.03 * sp ** 2 * (1 - 0.25 * min(blk, 2.0)) * _jdb(rng, 1.0)
    heater = _harmonics(_phase(g, 100.0), [1, 2, 3], np.array([0.002, 0.001, 0.0005]) * _jdb(rng, 2.0, 3), rng)
    sig = bpf + shaft + brush + air
    if c.a["spd"] != "3":  # lower settings run the motor on half-wave mains: a 50 Hz ripple
        sig = sig * (1 + 0.15 * np.sin(_phase(g, 50.0) + rng.uniform(0, TWO_PI)))
    c.time += sig + heater
    if s_blk:  # and the intake whistles
        c.time += 0.004 * s_blk * np.sin(_phase(g, arng.uniform(2500, 3500)))
    if s_brg:  # worn motor bearing: ball-pass impacts and a rattle at the shaft rate
        tb = _crossings(g.t, _cycles(g, np.full(g.n, 3.2 * fr), arng.uniform(0, 1)))
        c.spec += _impulse_spec(g, tb, 0.015 * s_brg * arng.uniform(0.5, 1.0, tb.size)) * \
            _resonances(g, [(4500, 500, 1.0)])
        c.time += 0.008 * s_brg * np.sin(ph + arng.uniform(0, TWO_PI))
    if s_buzz:  # a loose heater coil buzzes against its frame: a square-ish 100 Hz, on and off
        kk = np.arange(1, 26)
        gate = (0.5 + 0.5 * np.tanh(3 * _drift(g, arng, 1.0, 1.5)))
        c.time += _harmonics(_phase(g, 100.0), kk, 0.015 * s_buzz / kk, arng) * gate
    mic_gain = 1.0 if c.a["mic"] == "1" else 0.6 * (0.6 + 0.4 * _lowpass(f, 3000, 1))  # off the air stream
    return c.finish(bg_level=0.003, mic_gain=mic_gain)


_BRUSHES = {  # id -> (oscillation Hz, handle resonance Hz)
    "A1": (255.0, 1900.0), "A2": (262.0, 2300.0), "B1": (240.0, 1600.0), "B2": (248.0, 2600.0),
    "C1": (258.0, 2100.0), "C2": (244.0, 2400.0),
}
_BRUSH_MODES = {"1": (0.6, 0.0), "2": (0.8, 0.0), "3": (1.0, 0.0), "4": (1.0, 2.0), "5": (0.9, 6.0),
                "6": (1.1, 1.0)}  # mode -> (drive, pulse rate Hz; 0 = steady)


def _toothbrush(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    f0n, fh = _BRUSHES[c.a["id"]]
    drive, pulse = _BRUSH_MODES[c.a["spd"]]
    s_loose, s_batt, s_worn = c.s("loose_head"), c.s("battery_low"), c.s("worn_motor")
    batt = min(s_batt, 2.0)
    f0 = f0n * (1 - 0.05 * batt) * (1 + rng.normal(0, _SPEED_JITTER["synToothBrush"]))
    f0_t = f0 * (1 + _drift(g, rng, 0.002, 1.0))
    if s_worn:  # worn drive: the oscillation frequency jitters
        f0_t = f0_t * (1 + 0.01 * s_worn * _noise(g, arng, _lowpass(f, 30, 1)) / 0.05)
    ph = _phase(g, f0_t)
    # the head hits the ends of its travel: a soft-clipped sine, richer with more drive
    kdrv = 1.2 + 2.0 * drive * (1 - 0.3 * batt)
    osc = np.tanh(kdrv * np.sin(ph + rng.uniform(0, TWO_PI))) / np.tanh(kdrv)
    pp = rng.uniform(0, TWO_PI)
    env = 0.55 + 0.45 * (0.5 + 0.5 * np.tanh(4 * np.sin(TWO_PI * pulse * g.t + pp))) if pulse else np.ones(g.n)
    if s_batt:  # a weak battery: the level sags and wavers
        env = env * (1 - 0.15 * batt * (0.5 + 0.5 * np.sin(TWO_PI * 0.7 * g.t + arng.uniform(0, TWO_PI))))
    sig = osc * 0.03 * drive * _jdb(rng, 1.0) * env
    handle = _resonances(g, _jitter_modes(rng, [(fh, 250, 1.0), (2.3 * fh, 500, 0.5)]))
    bristles = _noise(g, rng, _band(f, 4500, 0.6) * _highpass(f, 1000)) * 0.004 * drive * _jdb(rng, 1.5)
    c.time += 0.3 * sig + bristles * (1 + 0.5 * np.sin(2 * ph)) * env
    c.spec += np.fft.rfft(sig) * handle * 0.15  # the handle rings with the motion
    if s_loose:  # loose brush head: it rattles on most strokes
        tl = _crossings(g.t, _cycles(g, f0_t, arng.uniform(0, 1)))
        tl = tl[arng.uniform(0, 1, tl.size) < 0.6]
        al = 0.008 * s_loose * np.interp(tl, g.t, env)
        c.spec += _impulse_spec(g, tl, al) * _resonances(g, [(4000, 300, 1.0), (1200, 200, 0.4)])
    if s_worn:  # and a sub-harmonic appears
        c.time += 0.012 * s_worn * np.sin(ph / 2 + arng.uniform(0, TWO_PI)) * env
    mic_gain = 1.0 if c.a["mic"] == "1" else 0.7 * (0.5 + 0.5 * _lowpass(f, 2000, 1))
    return c.finish(bg_level=0.003, mic_gain=mic_gain)


_ARM_PROGRAMS = {  # program -> moves (joint, angle rad, duration s), each followed by a hold
    "A": ((0, 1.2, 0.6), (1, 0.8, 0.5), (2, 1.5, 0.4), (0, -1.2, 0.6), (1, -0.8, 0.5), (2, -1.5, 0.4)),
    "B": ((0, 0.6, 0.3), (2, 2.0, 0.5), (1, 1.0, 0.7), (2, -2.0, 0.5), (1, -1.0, 0.7), (0, -0.6, 0.3)),
}
_ARM_JOINTS = ((100.0, 1.0), (80.0, 1.6), (160.0, 0.6))  # motor Hz per rad/s (gear ratio), gravity load


def _roboticarm(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    moves = _ARM_PROGRAMS[c.a["prg"]]
    load = float(c.a["wt"]) / 4.0
    s_bl, s_fr, s_hunt = c.s("gear_backlash"), c.s("joint_friction"), c.s("servo_hunting")
    slow = (1 - 0.08 * load) * (1 + rng.normal(0, _SPEED_JITTER["synRoboticArm"]))  # payload: gentler moves
    hold = 0.15 * (1 + rng.normal(0, 0.1))
    cycle = sum(d / slow + hold for _, _, d in moves)
    v = np.zeros((3, g.n))
    starts, stops = [], []
    t0 = -rng.uniform(0, cycle)
    while t0 < g.dur:
        for j, angle, d in moves:  # each move: a smooth (1 - cos) velocity pulse of one joint
            dur = d / slow
            i0, i1 = max(int(t0 * g.sr), 0), min(int((t0 + dur) * g.sr), g.n)
            if i1 > i0:
                tau = (np.arange(i0, i1) / g.sr - t0) / dur
                v[j, i0:i1] = angle / dur * (1 - np.cos(TWO_PI * tau))
            starts.append(t0)
            stops.append(t0 + dur)
            t0 += dur + hold
    starts, stops = np.array(starts), np.array(stops)
    tones = np.zeros(g.n)
    current = np.zeros(g.n)
    for j, (kf, grav) in enumerate(_ARM_JOINTS):  # servo gear whine follows the joint speed
        speed = np.abs(v[j])
        rel = speed / max(speed.max(), 1e-9)
        amps = 0.008 * np.array([1.0, 0.6, 0.3]) * (1 + 0.6 * load) * _jdb(rng, 2.0, 3)
        tones += _harmonics(_phase(g, speed * kf), [1, 2, 3], amps, rng) * np.sqrt(rel)
        acc = np.abs(np.gradient(v[j])) * g.sr
        current += grav * (0.2 + 0.6 * load) + 0.03 * acc * (1 + load)
    current /= 1.9  # ~1 while holding the heaviest payload
    hold_env = 1.0 - np.clip(np.abs(v).sum(0) / 0.5, 0, 1)
    pwm_am = 1.0
    if s_hunt:  # a badly tuned servo hunts while holding: the current (and the PWM whine) trembles
        fh = arng.uniform(8, 14)
        pwm_am = 1 + min(0.8, 0.4 * s_hunt) * hold_env * np.sin(TWO_PI * fh * g.t)
        c.time += 0.006 * s_hunt * hold_env * _harmonics(_phase(g, fh * 4), [1, 2, 3], [1.0, 0.6, 0.3], arng)
    pwm = 0.004 * _jdb(rng, 1.0) * np.sin(_phase(g, 5000.0)) * current * pwm_am
    hiss = _noise(g, rng, _band(f, 3000, 0.8)) * 0.002 * _jdb(rng, 1.5) * current
    c.time += tones + pwm + hiss
    body = _resonances(g, _jitter_modes(rng, [(2500, 300, 1.0), (900, 150, 0.5)]))
    c.spec += _impulse_spec(g, starts, 0.01 * _jdb(rng, 1.5, starts.size)) * body  # brake release
    if s_bl:  # gear backlash: a knock when a joint starts and when it stops
        tt = np.r_[starts, stops] + arng.uniform(0.005, 0.02, 2 * starts.size)
        c.spec += _impulse_spec(g, tt, 0.02 * s_bl * arng.uniform(0.5, 1.0, tt.size)) * \
            _resonances(g, [(1400, 150, 1.0), (3100, 300, 0.6)])
    if s_fr:  # dry joint: grinding while joint 2 turns
        rel1 = np.abs(v[1]) / max(np.abs(v[1]).max(), 1e-9)
        c.time += _noise(g, arng, _band(f, arng.uniform(2000, 3000), 1.2)) * 0.01 * s_fr * rel1 * \
            (1 + 0.5 * _drift(g, arng, 1.0, 10.0))
    return c.finish(bg_level=0.003)


def _brushless(c: _Ctx) -> np.ndarray:
    g, rng, arng = c.g, c.rng, c.arng
    f = g.f
    rpm = float(c.a["spd"])
    blades = {"A": 2, "B": 3}[c.a["ld"]]
    s_brg, s_imb, s_phase = c.s("bearing_damage"), c.s("rotor_imbalance"), c.s("phase_loss")
    fm = rpm / 60.0 * (1 + rng.normal(0, _SPEED_JITTER["synBrushlessMotor"]))
    fm_t = fm * (1 + _drift(g, rng, 0.002))
    ph = _phase(g, fm_t)
    rel = rpm / 1800.0
    pp = 7  # pole pairs
    # electronic commutation: torque ripple at 6x the electrical frequency, magnetic forces at 1x, 2x
    ripple = np.array([0.006, 0.003, 0.0015]) * rel * _jdb(rng, 2.0, 3)
    elec = _harmonics(ph, [6 * pp, 12 * pp, 18 * pp], ripple, rng)
    elec += _harmonics(ph, [pp, 2 * pp, 84], np.array([0.002, 0.0015, 0.002]) * _jdb(rng, 2.0, 3), rng)  # 84: cogging
    # PWM: a whine at the switching frequency, modulated at twice the electrical frequency
    pwm = 0.002 * _jdb(rng, 2.0) * np.sin(_phase(g, 6400.0)) * (1 + 0.5 * np.sin(2 * pp * ph))
    # the load: a propeller's blade-pass harmonics and its air noise
    k = np.arange(1, 7)
    prop = _harmonics(ph, blades * k, 0.012 * rel ** 2 * k ** -1.0 * _jdb(rng, 2.0, k.size), rng)
    air = _noise(g, rng, _band(f, 40 * fm, 0.5) * _highpass(f, 60)) * 0.01 * rel ** 2.5 * _jdb(rng, 1.0)
    brg = _noise(g, rng, _band(f, 3000, 0.7)) * 0.0015 * _jdb(rng, 2.0)
    sig = elec + pwm + prop + air + brg
    if s_imb:  # rotor imbalance: a 1x tone and once-per-turn wobble
        sig = sig * (1 + min(0.5, 0.2 * s_imb) * np.sin(ph + arng.uniform(0, TWO_PI)))
        sig += 0.02 * s_imb * rel * np.sin(ph + arng.uniform(0, TWO_PI))
    if s_phase:  # a lost phase: strong torque ripple at 2x the electrical frequency
        kk = np.arange(1, 6)
        sig += _harmonics(ph, 2 * pp * kk, 0.004 * s_phase * rel * kk ** -0.5, arng)
    c.time += sig
    if s_brg:  # outer-race damage: impacts at the ball-pass frequency
        tb = _crossings(g.t, _cycles(g, 3.05 * fm_t, arng.uniform(0, 1)))
        c.spec += _impulse_spec(g, tb, 0.02 * s_brg * arng.uniform(0.6, 1.0, tb.size)) * \
            _resonances(g, [(3000, 400, 1.0), (4500, 600, 0.6)])
    return c.finish(bg_level=0.003)


_MODELS.update({m.name: m for m in [
    MachineModel(
        "syn3DPrinter", "3D printer: X/Y steppers whose step rate follows each straight move of the tool "
        "path, frame knocks at direction reversals, extruder stepper, part-cooling fan",
        ("mdl", "spd"), (("A", "1"), ("A", "2"), ("B", "2")), (("B", "3"), ("A", "3")),
        {"belt_loose": "wavering step whine and a backlash knock after every reversal",
         "extruder_skip": "knocks of the extruder gear slipping on the filament",
         "fan_fault": "slower cooling fan, bearing noise modulated at its rate"},
        ("quiet", "hvac"), False, _printer, halls=("lab", "warehouse"), target_move=0.6, part="additional"),
    MachineModel(
        "synAirCompressor", "two-cylinder piston compressor: crank-rate pulsation, reed-valve clicks locked "
        "to the strokes, tank thumps, motor hum, outlet hiss (flow and nozzle)",
        ("fl", "nos"), _groups(fl=["0", "2"], nos=["0", "2", "3"]),
        _groups(fl=["1"], nos=["0", "2"]) + _groups(fl=["0", "2"], nos=["1"]),
        {"valve_leak": "hiss burst in every compression stroke",
         "piston_knock": "knock once per crank revolution",
         "belt_slip": "crank speed hunting and intermittent belt squeal"},
        ("workshop", "street"), True, _compressor, halls=("assembly", "warehouse"), part="additional"),
    MachineModel(
        "synScanner", "document scanner: page feed (rollers, paper rustle, pick-up click), slow scan pass "
        "(stepper rate set by the resolution, length by the page), fast return, LED whine",
        ("res", "len"), _groups(res=["1"], len=["1", "2", "3"]) + _groups(res=["2"], len=["1", "2"]),
        _groups(res=["2"], len=["3"]),
        {"roller_squeal": "rising squeal while a page is pulled in",
         "carriage_stall": "the carriage sticks for a moment: no whine, motor buzz and a knock",
         "gear_crack": "click once per drive-gear turn while the carriage moves"},
        ("quiet", "hvac"), False, _scanner, halls=("lab", "warehouse"), target_move=0.5, part="additional"),
    MachineModel(
        "synToyCircuit", "slot car on an oval track passing the mic once per lap: motor whine with "
        "Doppler shift and distance level, track-joint clicks, tyre and cornering noise",
        ("id", "spd", "mic"), _groups(id=["A1", "A2"], spd=["1", "2"], mic=["1"]),
        _groups(id=["B1", "B2"], spd=["2", "3"], mic=["1"]),
        {"loose_wheel": "rattle at the wheel rate", "brush_spark": "crackle with the commutation, in bursts",
         "guide_scrape": "the guide blade scrapes the slot, hardest in the curves"},
        ("quiet", "street"), False, _toycircuit, halls=("lab", "warehouse"), part="additional"),
    MachineModel(
        "synHoveringDrone", "quadcopter hovering: four rotors' blade-pass harmonics with independent speed "
        "corrections, sway towards/away from the mic (Doppler-ish pitch and level), air noise",
        ("id", "spd", "mic"), _groups(id=["A1", "A2", "B1", "B2"], spd=["1", "2"], mic=["1"]),
        _groups(id=["C1", "C2"], spd=["3"], mic=["2"]),
        {"blade_chip": "imbalance of one rotor: 1x tone and once-per-turn wobble",
         "motor_bearing": "rough high-frequency noise of one motor, modulated at its rate",
         "prop_crack": "flutter of one propeller, once per turn"},
        ("quiet", "hvac"), True, _drone, halls=("assembly", "warehouse"), target_move=0.3, part="additional"),
    MachineModel(
        "synHairDryer", "hair dryer: fast fan (blade-pass and shaft tones), universal-motor brushes, broad "
        "turbulent jet, heater coil hum, half-wave ripple at the low setting",
        ("id", "spd", "mic"), _groups(id=["A1", "A2"], spd=["2", "3"], mic=["1"]),
        _groups(id=["A3"], spd=["2", "3"], mic=["1"]) + (("A1", "2", "2"),),
        {"intake_blocked": "fan spins up, less and narrower air noise, intake whistle",
         "bearing_wear": "ball-pass impacts and a shaft-rate rattle",
         "heater_buzz": "loose heater coil buzzing (square-ish 100 Hz), on and off"},
        ("quiet", "workshop"), False, _hairdryer, halls=("lab", "warehouse"), target_move=0.4, part="additional"),
    MachineModel(
        "synToothBrush", "sonic toothbrush: soft-clipped oscillation near 250 Hz (richer with more drive), "
        "handle resonance, bristle noise, pulsing modes",
        ("id", "spd", "mic"), _groups(id=["A1", "A2", "B1", "B2"], spd=["2", "3", "4", "5"], mic=["1"]),
        _groups(id=["C1", "C2"], spd=["1", "6"], mic=["2"]),
        {"loose_head": "rattle of the brush head on most strokes",
         "battery_low": "lower frequency, less drive, sagging level",
         "worn_motor": "oscillation frequency jitter and a sub-harmonic"},
        ("quiet", "hvac"), True, _toothbrush, halls=("lab", "warehouse"), target_move=1.5, part="additional"),
    MachineModel(
        "synRoboticArm", "3-joint robot arm running a program: servo gear whine following each joint's "
        "smooth velocity pulses, PWM whine following the motor current (payload), brake clicks",
        ("wt", "prg"), _groups(wt=["00", "02"], prg=["A", "B"]), _groups(wt=["04", "06"], prg=["A"]),
        {"gear_backlash": "knock when a joint starts and stops",
         "joint_friction": "grinding while one joint turns",
         "servo_hunting": "trembling current and a low tremor while holding"},
        ("workshop", "quiet"), False, _roboticarm, halls=("assembly", "press_shop"), part="additional"),
    MachineModel(
        "synBrushlessMotor", "brushless DC motor (7 pole pairs) with a propeller: commutation torque ripple, "
        "cogging, PWM whine with sidebands, blade-pass harmonics and air noise",
        ("spd", "ld"), _groups(spd=["1000", "1400", "1800", "2400"], ld=["A", "B"]),
        _groups(spd=["1200", "2000", "2800"], ld=["A"]),
        {"bearing_damage": "impacts at the outer-race ball-pass frequency",
         "rotor_imbalance": "1x tone and once-per-turn wobble",
         "phase_loss": "strong torque ripple at twice the electrical frequency"},
        ("quiet", "workshop"), True, _brushless, halls=("pump_room", "lab"), target_move=0.4, part="additional"),
]})

#: The development types (the default part), and those with hidden attributes.
MACHINE_TYPES: tuple[str, ...] = tuple(n for n, m in _MODELS.items() if m.part == "dev")
HIDDEN_TYPES: tuple[str, ...] = tuple(n for n in MACHINE_TYPES if _MODELS[n].hidden)
#: The additional types (like the DCASE 2024 additional training set), and the hidden ones.
ADDITIONAL_TYPES: tuple[str, ...] = tuple(n for n, m in _MODELS.items() if m.part == "additional")
ADDITIONAL_HIDDEN_TYPES: tuple[str, ...] = tuple(n for n in ADDITIONAL_TYPES if _MODELS[n].hidden)
PART_TYPES: dict[str, tuple[str, ...]] = {"dev": MACHINE_TYPES, "additional": ADDITIONAL_TYPES}


def _check_models() -> None:
    """Names must survive the DCASE file-name grammar (no underscores inside values)."""
    for m in _MODELS.values():
        for grp in m.source_groups + m.target_groups:
            if len(grp) != len(m.attributes) or not all(v and "_" not in v for v in grp):
                raise RuntimeError(f"{m.name}: bad attribute values {grp}")
        if any("_" in a for a in m.attributes) or len(m.anomalies) < 2 or any(
                set(m.anomalies) != set(kind_gains(m.name, v)) for v in GENERATOR_VERSIONS):
            raise RuntimeError(f"{m.name}: bad attribute names or anomaly kinds")
        if m.part not in PARTS or not set(m.halls) <= set(_HALLS) or m.halls[0] == m.halls[1]:
            raise RuntimeError(f"{m.name}: bad part {m.part!r} or halls {m.halls}")


_check_models()


def get_model(machine_type: str) -> MachineModel:
    if machine_type not in _MODELS:
        raise ValueError(f"unknown synthetic machine type {machine_type!r}; choose from "
                         f"{MACHINE_TYPES} (part 'dev') or {ADDITIONAL_TYPES} (part 'additional')")
    return _MODELS[machine_type]


def _render(model: MachineModel, attrs: Mapping[str, str], domain: str, anomaly: str | None,
            sev: float, n: int, sr: int, rng: np.random.Generator, arng: np.random.Generator,
            version: int = 1, nrng: np.random.Generator | None = None, parts: bool = False) -> _Ctx:
    """Render one take; the returned context holds the samples (``x``) and ``info``."""
    if anomaly is not None and anomaly not in model.anomalies:
        raise ValueError(f"{model.name}: unknown anomaly {anomaly!r}; kinds: {list(model.anomalies)}")
    ctx = _Ctx(_grid(n, sr), rng, arng, dict(attrs), domain, anomaly, float(sev), model, version, nrng, parts)
    ctx.x = model.render(ctx)
    if not np.all(np.isfinite(ctx.x)):
        raise FloatingPointError(f"{model.name}: non-finite samples (anomaly {anomaly!r}, severity {sev:g}); "
                                 "the severity is probably far beyond the model's range")
    return ctx


def render_clip(machine_type: str, attributes: Mapping[str, str] | None = None, *, domain: str = "source",
                anomaly: str | None = None, severity: float = 1.0, seconds: float = 2.0, seed: int = 0,
                sample_rate: int = SAMPLE_RATE, version: int | None = None, info: bool = False):
    """One clip as float64 in [-1, 1] (for plots and tests).

    ``attributes`` defaults to the first source group of the type. ``severity`` is relative
    to the calibrated default (1.0). The normal part depends only on ``seed`` (not on the
    attributes or the anomaly), so ``anomaly=None`` vs ``anomaly='x'`` with the same seed
    isolates the planted fault, and two attribute values with the same seed isolate the
    attribute change; in version 2 the recording (hall, SNR, mic, room) is drawn from the
    seed too, so it is also the same take.
    ``version``: generator version (default ``DEFAULT_VERSION``). With ``info=True`` returns
    ``(x, info)``: for version 2 what the recording chain drew (``snr_db``, ``rt60_s``,
    ``mic_distance_m``, ...) and the ``machine`` and ``background`` signals at the mixing point.
    """
    version = _check_version(version)
    model = get_model(machine_type)
    attrs = dict(attributes) if attributes is not None else dict(zip(model.attributes, model.source_groups[0]))
    key = (seed, machine_type, "clip")
    n = int(round(seconds * sample_rate))
    ctx = _render(model, attrs, domain, anomaly, severity if anomaly else 0.0, n, sample_rate,
                  _rng(*key), _rng(*key, "anomaly"), version, _rng(*key, "recording"), parts=info)
    return (ctx.x, ctx.info) if info else ctx.x


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
        from asdlib.data.layout import clip_name  # the one DCASE naming rule, next to its parser

        return clip_name(self.domain, self.split, self.label, self.index,
                         NO_ATTRIBUTE if hidden else self.true_attr_string, SECTION)


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


def render_spec(spec: ClipSpec, seed: int, clip_seconds: float, sample_rate: int = SAMPLE_RATE,
                version: int | None = None, info: bool = False):
    """The int16 samples of one planned clip (deterministic from seed, version and the clip's identity).

    With ``info=True`` returns ``(samples, info)`` (see ``render_clip``).
    """
    version = _check_version(version)
    model = get_model(spec.machine_type)
    key = (seed, spec.machine_type, spec.split, spec.domain, spec.label, spec.index)
    n = int(round(clip_seconds * sample_rate))
    ctx = _render(model, dict(spec.attrs), spec.domain, spec.anomaly, spec.severity, n, sample_rate,
                  _rng(*key), _rng(*key, "anomaly"), version, _rng(*key, "recording"), parts=info)
    x = np.round(np.clip(ctx.x, -1.0, 1.0) * 32767.0).astype(np.int16)
    return (x, ctx.info) if info else x


def _write_specs(args) -> int:
    """Worker: render and write a batch of clips (top level so that spawn can pickle it)."""
    import soundfile as sf

    specs, seed, clip_seconds, sr, out_dir, version = args
    for spec in specs:
        hidden = get_model(spec.machine_type).hidden
        path = Path(out_dir) / spec.machine_type / spec.split / spec.name(hidden)
        sf.write(str(path), render_spec(spec, seed, clip_seconds, sr, version), sr, subtype="PCM_16", format="WAV")
    return len(specs)


# --------------------------------------------------------------------------- writing
def _write_csv(path: Path, header: Sequence[str] | None, rows: Iterable[Sequence]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        if header:
            w.writerow(header)
        w.writerows(rows)


def _gt_dir(model: MachineModel) -> str:
    """Where a hidden type's correspondence files go (relative to the root): as in the official
    ground truth, ``dev_data`` for the development types, ``eval_data`` for the additional ones."""
    kind = "dev_data" if model.part == "dev" else "eval_data"
    return f"ground_truth_attributes_all/{kind}/{model.name}"


def _write_tables(out: Path, model: MachineModel, specs: Sequence[ClipSpec]) -> None:
    t = model.name
    if model.hidden:
        header = ["file_name", "d1p", "d1v"]
        rows = [[f"{t}/{s.split}/{s.name(True)}", NO_ATTRIBUTE, ""] for s in specs]
        for split in ("train", "test"):
            gt_dir = out / _gt_dir(model)
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
              plans: Mapping[str, list[ClipSpec]], version: int = 1, part: str = "dev") -> dict:
    info = {
        "synthetic": True,
        "statement": "SYNTHETIC machine sounds generated by asdlib.synth.generator from physical sound models. "
                     "These are NOT recordings and NOT the DCASE data; only the layout and file naming "
                     "follow the DCASE 2024 Task 2 development set.",
        "generator": "asdlib.synth.generator",
        "version": GENERATOR_VERSIONS[version],
        "generator_version": version,
        "part": part,
        # Any edit of the sound models changes this, so a stale dataset is regenerated
        # even when nobody remembered to bump GENERATOR_VERSIONS.
        "code_sha1": _code_fingerprint(version),
        "profile": prof.name,
        "profile_settings": dataclasses.asdict(prof),
        "seed": int(seed),
        "severity": 1.0 if severity is None else float(severity),
        "types": list(types),
        "hidden_types": [t for t in types if _MODELS[t].hidden],
        "recording": (
            {"description": "version 2: each take is recorded in a synthetic factory hall (other machines, "
                            "mains hum, clanks, ventilation; exponentially decaying reverberation with a "
                            "per-clip RT60), mixed at a per-clip SNR, with per-clip mic distance, floor-"
                            "reflection comb, spectral tilt/EQ and recorder gain",
             "per_clip_ranges": dataclasses.asdict(NUISANCE),
             "halls": {h: {**dataclasses.asdict(_HALLS[h]),
                           "machine_rates_hz": [round(m["f0"], 2) for m in _hall_plant(h)["machines"]]}
                       for h in sorted({h for t in types for h in _MODELS[t].halls})}}
            if version == 2 else
            {"description": "version 1: the type's background kind at a fixed level, a smooth random "
                            "colouring and a small level spread per clip"}),
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
            "background": ({"source": m.halls[0], "target": m.halls[1]} if version == 2
                           else {"source": m.backgrounds[0], "target": m.backgrounds[1]}),
            "anomaly_kinds": dict(m.anomalies),
            "anomaly_kind_counts": kinds,
            "calibrated_kind_gain": dict(kind_gains(t, version)),
            "severity_used": 1.0 if severity is None else float(severity),
            "counts": counts,
            "anomaly_kinds_file": f"{t}/anomaly_kinds.csv",
            "correspondence_files": (
                [f"{_gt_dir(m)}/attributes_00_{s}_correspondence.csv"
                 for s in ("train", "test")]
                if m.hidden else []),
        }
    return info


def _code_fingerprint(version: int = 1) -> str:
    """SHA-1 of this module's source and the generator version: the dataset's true version."""
    return hashlib.sha1(Path(__file__).read_bytes() + f"\0version={version}".encode()).hexdigest()[:16]


def _key(info: Mapping) -> tuple:
    return (info.get("generator"), info.get("version"), info.get("generator_version"), info.get("part"),
            info.get("code_sha1"), info.get("profile_settings"), info.get("seed"), info.get("types"),
            info.get("severity"))


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
                     overwrite: bool = False, *, workers: int | None = None, verbose: bool = False,
                     version: int | None = None, part: str = "dev") -> Path:
    """Write a synthetic dataset in the DCASE 2024 development layout; return its root.

    ``profile`` is a name in ``PROFILES`` or a ``SynthProfile`` (e.g.
    ``PROFILES["ci"].with_counts(n_train_source=10)``). ``severity`` scales every anomaly
    relative to the calibrated default (None = 1.0; 0 makes anomalies identical to normals).
    ``version``: generator version (None = ``DEFAULT_VERSION``; 1 stays byte-identical for a
    seed). ``part``: ``"dev"`` (the 7 development types) or ``"additional"`` (the types of
    ``ADDITIONAL_TYPES``); ``machine_types`` (default: all of the part) must belong to it.
    Skipped when ``root`` already holds a manifest with the same generator version, part, profile
    settings, seed, types and severity (``overwrite=True`` regenerates). Files are written to
    a temporary sibling folder renamed into place at the end, so an interrupted run never
    leaves a half dataset behind. An existing *different* synthetic dataset at ``root`` is
    replaced; a folder that is not a synthetic dataset is never deleted (error).
    ``workers``: processes for rendering (default: 1 for small jobs, else the CPU count).
    """
    return _generate(root, profile, seed, machine_types, severity, overwrite, workers, verbose, version, part)[0]


def _generate(root, profile, seed, machine_types, severity, overwrite, workers, verbose,
              version=None, part="dev") -> tuple[Path, bool]:
    """``generate_dataset``; also says whether anything was written."""
    prof = _resolve_profile(profile)
    version = _check_version(version)
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of {PARTS}")
    types = list(machine_types) if machine_types is not None else list(PART_TYPES[part])
    for t in types:
        if get_model(t).part != part:
            raise ValueError(f"{t} belongs to part {get_model(t).part!r}, not {part!r}: generate it with "
                             f"part={get_model(t).part!r} (each part has its own root)")
    if len(set(types)) != len(types):
        raise ValueError(f"duplicate machine types in {types}")
    root = Path(root)
    plans = {t: plan_type(t, prof, seed, severity) for t in types}
    info = _manifest(prof, seed, types, severity, plans, version, part)
    old = read_manifest(root)
    if root.exists() and not overwrite and old is not None and _key(old) == _key(info):
        if verbose:
            print(f"{root}: already generated ({prof.name}, seed {seed}, version {version}, {part}); skipped")
        return root, False
    if root.exists() and any(root.iterdir()) and (old is None or old.get("generator") != "asdlib.synth.generator"):
        raise FileExistsError(f"{root} exists and is not a synthetic dataset made by asdlib.synth.generator; "
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
        jobs = [(all_specs[i:i + chunk], seed, prof.clip_seconds, prof.sample_rate, str(tmp), version)
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
        print(f"{root}: wrote {len(all_specs)} clips of {len(types)} types ({part}, version {version}, "
              f"{prof.name}, seed {seed}, {prof.clip_seconds:g} s) in {info['generation_seconds']:.1f} s")
    return root, True


def default_root(profile: str = "demo", seed: int = 0, part: str = "dev", version: int | None = None) -> Path:
    """``asdlib.paths.data_root(profile)`` for the dev part, seed 0 and the default version;
    otherwise its sibling ``<profile>[-additional][-v<V>][-seed<N>]`` (``-v<V>`` only for a
    version other than ``DEFAULT_VERSION``)."""
    from asdlib.paths import data_root

    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of {PARTS}")
    root = data_root(profile)
    name = root.name + ("" if part == "dev" else f"-{part}")
    if _check_version(version) != DEFAULT_VERSION:
        name += f"-v{version}"
    if seed:
        name += f"-seed{seed}"
    return root.with_name(name)


def ensure_dataset(profile: str | SynthProfile = "ci", seed: int = 0, root: str | Path | None = None, *,
                   part: str = "dev", version: int | None = None) -> Path:
    """The root of a generated dataset, generating it first when missing.

    ``root`` defaults to ``default_root(profile, seed, part, version)``, i.e.
    ``asdlib.paths.data_root(profile)`` for the dev part, seed 0 and the default version.
    """
    prof = _resolve_profile(profile)
    where = default_root(prof.name, seed, part, version) if root is None else root
    return generate_dataset(where, prof, seed, version=version, part=part)


# --------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="asd synth",
                                 description="Generate the SYNTHETIC DCASE-layout machine-sound dataset.")
    ap.add_argument("--profile", default="demo", choices=sorted(PROFILES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None,
                    help="dataset root (default: asdlib.paths.data_root(profile), with '-additional', '-vV' "
                         "(version other than the default) and '-seedN' (seed N > 0) appended)")
    ap.add_argument("--version", type=int, default=DEFAULT_VERSION, choices=sorted(GENERATOR_VERSIONS),
                    help=f"generator version (default {DEFAULT_VERSION}; 1 = clean, 2 = recorded in a factory hall)")
    ap.add_argument("--part", default="dev", choices=PARTS,
                    help="dev: the 7 development types; additional: the additional types (own root)")
    ap.add_argument("--types", nargs="+", default=None, choices=MACHINE_TYPES + ADDITIONAL_TYPES, metavar="TYPE",
                    help=f"machine types of the part (default: all; dev: {', '.join(MACHINE_TYPES)}; "
                         f"additional: {', '.join(ADDITIONAL_TYPES)})")
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
    out = args.out if args.out is not None else default_root(args.profile, args.seed, args.part, args.version)
    t0 = time.perf_counter()
    try:
        root, wrote = _generate(out, prof, args.seed, args.types, args.severity, args.overwrite, args.workers, False,
                                args.version, args.part)
    except ValueError as exc:
        ap.error(str(exc))
    dt = time.perf_counter() - t0
    info = read_manifest(root) or {}
    if wrote:
        print(f"{root}: wrote a SYNTHETIC dataset ({info.get('n_files')} wav files), part {args.part}, "
              f"generator version {args.version}, profile {prof.name}, seed {args.seed}, {prof.clip_seconds:g} s clips")
    else:
        print(f"{root}: already up to date (part {args.part}, version {args.version}, profile {prof.name}, "
              f"seed {args.seed}); nothing written")
    for t, d in info.get("machine_types", {}).items():
        c = d["counts"]
        print(f"  {t:12s} train {c.get('train_source_normal', 0)}+{c.get('train_target_normal', 0)}  "
              f"test {sum(v for k, v in c.items() if k.startswith('test'))}  "
              + ("hidden attributes (noAttribute)" if d["hidden_attributes"]
                 else "attributes " + ",".join(d["attributes"])))
    print(f"time: {dt:.1f} s")
    return 0

