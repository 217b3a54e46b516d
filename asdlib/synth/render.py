"""A clip's waveform: a type's sound model drawn into a take and recorded (``recording``).

Deterministic: each clip is rendered from its own seed derived from (seed, type, split,
domain, label, index), so the same seed gives byte-identical files in any order or process.
``render_spec`` renders a planned clip (int16, as written); ``render_clip`` any take (float,
for plots and tests), optionally with what its recording drew.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from asdlib.synth.dsp import _grid, _rng
from asdlib.synth.machines import MachineModel, get_model, kind_gains
from asdlib.synth.plan import SAMPLE_RATE, ClipSpec
from asdlib.synth.recording import _check_version, _Ctx
from asdlib.synth.scenario import DEFAULT_SCENARIO, Scenario


def _render(model: MachineModel, attrs: Mapping[str, str], domain: str, anomaly: str | None,
            sev: float, n: int, sr: int, rng: np.random.Generator, arng: np.random.Generator,
            version: int = 1, nrng: np.random.Generator | None = None, parts: bool = False,
            scenario: Scenario = DEFAULT_SCENARIO) -> _Ctx:
    """Render one take; the returned context holds the samples (``x``) and ``info``."""
    if anomaly is not None and anomaly not in model.anomalies:
        raise ValueError(f"{model.name}: unknown anomaly {anomaly!r}; kinds: {list(model.anomalies)}")
    ctx = _Ctx(_grid(n, sr), rng, arng, dict(attrs), domain, anomaly, float(sev), model,
               kind_gains(model.name, version), version, nrng, parts, scenario)
    ctx.x = model.render(ctx)
    if not np.all(np.isfinite(ctx.x)):
        raise FloatingPointError(f"{model.name}: non-finite samples (anomaly {anomaly!r}, severity {sev:g}); "
                                 "the severity is probably far beyond the model's range")
    return ctx


def render_clip(machine_type: str, attributes: Mapping[str, str] | None = None, *, domain: str = "source",
                anomaly: str | None = None, severity: float = 1.0, seconds: float = 2.0, seed: int = 0,
                sample_rate: int = SAMPLE_RATE, version: int | None = None, info: bool = False,
                scenario: Scenario = DEFAULT_SCENARIO):
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
    ``scenario``: a variation of the recording (``asdlib.synth.scenario``; version 2 only).
    """
    version = _check_version(version)
    scenario.check_version(version)
    model = get_model(machine_type)
    attrs = dict(attributes) if attributes is not None else dict(zip(model.attributes, model.source_groups[0]))
    key = (seed, machine_type, "clip")
    n = int(round(seconds * sample_rate))
    ctx = _render(model, attrs, domain, anomaly, severity if anomaly else 0.0, n, sample_rate,
                  _rng(*key), _rng(*key, "anomaly"), version, _rng(*key, "recording"), parts=info, scenario=scenario)
    return (ctx.x, ctx.info) if info else ctx.x


def render_spec(spec: ClipSpec, seed: int, clip_seconds: float, sample_rate: int = SAMPLE_RATE,
                version: int | None = None, info: bool = False, scenario: Scenario = DEFAULT_SCENARIO):
    """The int16 samples of one planned clip (deterministic from seed, version, scenario and the
    clip's identity).

    With ``info=True`` returns ``(samples, info)`` (see ``render_clip``).
    """
    version = _check_version(version)
    scenario.check_version(version)
    model = get_model(spec.machine_type)
    key = (seed, spec.machine_type, spec.split, spec.domain, spec.label, spec.index)
    n = int(round(clip_seconds * sample_rate))
    ctx = _render(model, dict(spec.attrs), spec.domain, spec.anomaly, spec.severity, n, sample_rate,
                  _rng(*key), _rng(*key, "anomaly"), version, _rng(*key, "recording"), parts=info, scenario=scenario)
    x = np.round(np.clip(ctx.x, -1.0, 1.0) * 32767.0).astype(np.int16)
    return (x, ctx.info) if info else x
