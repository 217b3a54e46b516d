"""The sound models of the 9 additional types (the ``additional`` part), one renderer per type.

Nine further types, like the DCASE 2024 additional training set (the types of its evaluation
set), built from the same blocks but physically different: stepper sequences, piston cycles,
scan cycles, a car passing the mic, rotors, a jet of air, a sonic oscillator, servo joints,
an electronically commutated motor. Four have hidden attributes, as AirCompressor,
BrushlessMotor, HoveringDrone and ToothBrush have in DCASE 2024.

Same contract as ``sounds_dev``: each renderer draws one take into a ``_Ctx`` and returns
``c.finish(...)``. The types (``ADDITIONAL_TYPES``; hidden ones marked): ``syn3DPrinter`` (X/Y stepper
sequences of a tool path, frame knocks at reversals, extruder, cooling fan), ``synAirCompressor``
(hidden; two-cylinder piston cycles, reed-valve clicks, tank thumps, outlet hiss),
``synScanner`` (page feed, slow scan pass, fast return), ``synToyCircuit`` (slot car passing
the mic once a lap: Doppler and distance), ``synHoveringDrone`` (hidden; four rotors'
blade-pass harmonics, swaying towards/away from the mic), ``synHairDryer`` (fast fan, jet
noise, heater hum), ``synToothBrush`` (hidden; soft-clipped ~250 Hz oscillation, handle
resonance, pulsing modes), ``synRoboticArm`` (servo joints following smooth velocity pulses,
PWM whine with the current), ``synBrushlessMotor`` (hidden; commutation ripple, cogging, PWM,
propeller).
"""

from __future__ import annotations

import numpy as np

from asdlib.synth.dsp import (TWO_PI, _band, _crossings, _cycles, _drift, _envelope, _harmonics, _held, _highpass,
                              _impulse_spec, _jdb, _jitter_modes, _lowpass, _noise, _periodic_times, _phase, _pink,
                              _resonances)
from asdlib.synth.recording import _Ctx

# Take-to-take spread of the main running speed (relative sd): real machines never run at
# exactly the nominal value, and this spread is what makes nearby operating points overlap.
_SPEED_JITTER: dict[str, float] = {
    "syn3DPrinter": 0.03, "synAirCompressor": 0.01, "synScanner": 0.02, "synToyCircuit": 0.04,
    "synHoveringDrone": 0.02, "synHairDryer": 0.02, "synToothBrush": 0.006, "synRoboticArm": 0.03,
    "synBrushlessMotor": 0.01,
}


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
