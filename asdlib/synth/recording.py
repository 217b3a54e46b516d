"""How a take is recorded: the generator versions, the take a sound model draws into, and the
recording chain of each version around it.

``_Ctx`` is one take: its grid, its three random streams (``rng`` the normal machine, ``arng``
the fault, ``nrng`` the recording), attributes, fault and severity. A sound model adds its
machine sound to it and returns ``finish(...)``, which records it the way the version says.

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

Version 1's places are ``_background`` kinds; version 2's halls are ``_HALLS`` (fixed plants,
``_hall_plant``), its per-type microphone placements ``_placement`` (the target domain's mic
moved) and its per-take ranges ``NUISANCE``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from asdlib.synth.dsp import (TWO_PI, _band, _colouring, _drift, _eq_curve, _Grid, _grid, _harmonics, _highpass,
                              _impulse_spec, _jdb, _line_power, _lines, _lowpass, _noise, _phase, _pink,
                              _resonances, _rng, _spec_power, _unit, _white_spec)
from asdlib.synth.scenario import DEFAULT_SCENARIO, Scenario


#: Generator versions: 1 = the clean models mixed with a soft background (frozen, byte-identical
#: for a seed); 2 = the same models recorded in a synthetic factory hall (see "version 2" below).
GENERATOR_VERSIONS: dict[int, str] = {1: "1.0.0", 2: "2.0.0"}
#: The version ``generate_dataset``, ``render_clip`` and the CLI use unless told otherwise.
DEFAULT_VERSION = 2
#: The version string of ``DEFAULT_VERSION`` (what the manifest's ``version`` holds by default).
GENERATOR_VERSION = GENERATOR_VERSIONS[DEFAULT_VERSION]


def _check_version(version: int | None) -> int:
    v = DEFAULT_VERSION if version is None else version
    if v not in GENERATOR_VERSIONS:
        raise ValueError(f"unknown generator version {version!r}; choose one of {sorted(GENERATOR_VERSIONS)}")
    return int(v)


# --------------------------------------------------------------------------- version 1: a place's background
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
def _placement(machine_type: str, domain: str, target_move: float, nu: Nuisance = NUISANCE) -> dict:
    """Where the mic of a type's domain stands (fixed: drawn from the type and domain only).

    ``target_move``: how far the type's target setup moves (``MachineModel.target_move``, x the
    ``nu`` target move); the source placement does not depend on it.
    """
    k = np.arange(1, 6)
    if domain == "target":  # the source setup, moved
        src, rng = _placement(machine_type, "source", target_move, nu), _rng("placement", machine_type, "target")
        c, ph = src["eq"]
        c2, ph2 = rng.normal(0.0, 1.0 / np.sqrt(k)), rng.uniform(0, TWO_PI, k.size)
        c2 *= nu.target_eq_db * np.sqrt(2.0 / np.sum(c2 ** 2))  # rms of a cosine series: sqrt(sum c^2 / 2)
        # the sum of two cosine series of the same orders is one cosine series
        z = c * np.exp(1j * ph) + c2 * np.exp(1j * ph2)
        sign = rng.choice([-1.0, 1.0], 3) * target_move
        c2 *= target_move
        return {"distance_m": src["distance_m"] * nu.target_distance ** sign[0],
                "comb_delay_ms": src["comb_delay_ms"] * nu.target_comb ** sign[1], "comb_gain": src["comb_gain"],
                "tilt_db_per_octave": src["tilt_db_per_octave"] + sign[2] * nu.target_tilt_db,
                "eq": (np.abs(z), np.angle(z))}
    rng = _rng("placement", machine_type, domain)
    return {"distance_m": float(np.exp(rng.uniform(*np.log(nu.mic_distance_m)))),
            "comb_delay_ms": rng.uniform(*nu.comb_delay_ms), "comb_gain": rng.uniform(*nu.comb_gain),
            "tilt_db_per_octave": rng.uniform(*nu.tilt_db_per_octave),
            "eq": (rng.normal(0.0, nu.eq_db / np.sqrt(k)), rng.uniform(0, TWO_PI, k.size))}


@functools.lru_cache(maxsize=8)
def _hall_responses(name: str, n: int, sr: int) -> dict:
    """The fixed spectra of a hall's plant on one grid: machines' noise gains (unit power), objects' modes."""
    g, plant = _grid(n, sr), _hall_plant(name)
    gains = []
    for mc in plant["machines"]:
        gain = _band(g.f, mc["noise_fc"], mc["noise_q"]) * _highpass(g.f, 30)
        gains.append(gain / np.sqrt(2.0 * np.sum(gain ** 2) / n))  # white noise through it: unit power
    return {"machine_noise": gains, "objects": [_resonances(g, modes, cached=False) for modes in plant["objects"]]}


def _hall_background(g: _Grid, rng: np.random.Generator, hall: Hall, sd_db: float,
                     impact_rate: float = 1.0) -> np.ndarray:
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
    count = int(rng.poisson(hall.impacts_per_s * impact_rate * rng.uniform(0.3, 1.7) * g.dur))
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
               nu: Nuisance = NUISANCE, parts: bool = False, scenario: Scenario = DEFAULT_SCENARIO
               ) -> tuple[np.ndarray, dict]:
    """Record a dry machine spectrum in ``hall`` with the mic near ``place``: (samples, info).

    ``info`` says what was drawn; with ``parts`` it also holds ``machine`` and ``background``:
    the two signals at the mixing point (before the mic's response and the level), whose
    power ratio is ``snr_db``.
    """
    snr = rng.uniform(nu.snr_db[0] + scenario.snr_shift_db, nu.snr_db[1] + scenario.snr_shift_db)
    dist = place["distance_m"] * float(np.exp(rng.normal(0, nu.distance_jitter)))
    rt60 = rng.uniform(*hall.rt60_s)
    tau = place["comb_delay_ms"] * (1 + rng.normal(0, nu.comb_jitter)) / 1000.0
    refl = place["comb_gain"]
    tilt = place["tilt_db_per_octave"] + rng.normal(0, nu.tilt_jitter_db)
    gain_db = -20 * np.log10(dist) + rng.normal(0, nu.gain_sd_db) - nu.headroom_db
    comb = 1.0 + refl * np.exp(-1j * TWO_PI * g.f * tau)
    drr = 20 * np.log10(hall.critical_m / dist)
    m = machine * _room(g, rng, rt60, drr, direct=comb)
    b = _hall_background(g, rng, hall, nu.component_sd_db, scenario.impact_rate) * _room(g, rng, rt60, rng.uniform(*nu.background_drr_db))
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


# --------------------------------------------------------------------------- the take
class _Ctx:
    """What one render call needs: grid, random streams, attributes, anomaly, severity, version.

    A sound model adds its machine sound to ``time`` (samples) and ``spec`` (rfft spectrum)
    and returns ``finish(...)``, which records it the way the generator version says. The
    streams: ``rng`` the normal machine, ``arng`` the fault, ``nrng`` the recording (v2).
    ``model`` is the type's ``MachineModel``; ``gains`` its faults' strengths at severity 1
    for this version (``machines.kind_gains``).
    """

    def __init__(self, g, rng, arng, attrs, domain, anomaly, sev, model, gains, version=1, nrng=None, parts=False,
                 scenario: Scenario = DEFAULT_SCENARIO):
        self.g, self.rng, self.arng = g, rng, arng
        self.scenario = scenario
        self.a, self.domain, self.anomaly, self.sev = attrs, domain, anomaly, sev
        self.model, self.gains = model, gains
        self.version, self.nrng, self.parts = version, nrng, parts
        self.info: dict = {"version": version}
        self.time = np.zeros(g.n)
        self.spec = np.zeros(g.m, dtype=complex)

    def s(self, kind: str) -> float:
        """Severity of ``kind`` in this clip (0 when the clip is not that anomaly)."""
        return self.sev * self.gains[kind] if self.anomaly == kind else 0.0

    def finish(self, colour_db: float = 1.2, bg_level: float = 0.004, mic_gain: np.ndarray | float = 1.0,
               level_db: float = 1.0) -> np.ndarray:
        """Mix in the domain's background, colour the whole take (room + mic), set its level.

        Version 1: the type's background kind at ``bg_level``, a smooth colouring of ``colour_db``
        and a level spread of ``level_db``. Version 2 ignores those three: the take is recorded
        in the domain's hall (``_record_v2``); ``mic_gain`` (the type's mic attribute) applies in both.
        """
        if self.version == 2:
            machine = (np.fft.rfft(self.time) + self.spec) * mic_gain
            sc = self.scenario  # which of hall and mic placement the target domain changes
            hall = _HALLS[self.model.halls[1 if sc.hall_domain(self.domain) == "target" else 0]]
            place = _placement(self.model.name, sc.placement_domain(self.domain), self.model.target_move)
            x, info = _record_v2(self.g, self.nrng, hall, place, machine, parts=self.parts, scenario=sc)
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
