"""The sound models of the 7 development types (the ``dev`` part), one renderer per type.

Each renderer draws one take of its machine into a ``_Ctx`` (``recording``) from the take's
attributes, its random streams and its fault, and returns ``c.finish(...)``; ``machines`` lists
each type's attributes, domains and faults next to its renderer. Each clip draws its own
jitter of speeds, levels, harmonic amplitudes, noise, phases and a random room/mic colouring,
so normals vary inside a group:

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
"""

from __future__ import annotations

import numpy as np

from asdlib.synth.dsp import (TWO_PI, _band, _drift, _envelope, _harmonics, _highpass, _impulse_spec, _jdb,
                              _jitter_modes, _lowpass, _noise, _periodic_times, _phase, _pink, _resonances, _white_spec)
from asdlib.synth.recording import _Ctx

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
