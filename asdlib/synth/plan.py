"""Which clips a dataset has: its sizes per profile and, per type, the plan of every clip.

``SynthProfile`` holds a dataset's sizes (clip length, train clips per domain, test clips per
cell); ``DATASET_SIZES`` the sizes of the data profiles (read from ``asdlib.profiles``).
``plan_type`` lists every clip of one type as a ``ClipSpec``: split, domain, label, index,
attributes (balanced over the domain's groups), fault kind (balanced over the type's faults)
and its strength (``severity`` x a per-clip factor in [0.5, 2]), all from the seed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from asdlib import profiles as _profiles
from asdlib.synth.dsp import _rng
from asdlib.synth.machines import get_model
from asdlib.synth.scenario import DEFAULT_SCENARIO, Scenario


SAMPLE_RATE = 16000
SECTION = "00"
NO_ATTRIBUTE = "noAttribute"


# --------------------------------------------------------------------------- dataset sizes
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
        """A copy with some fields replaced, e.g. ``DATASET_SIZES['ci'].with_counts(n_test=2)``."""
        return dataclasses.replace(self, **overrides)


#: The dataset sizes of the data profiles (``ci``, ``demo``, ``full``), read from ``asdlib.profiles``.
DATASET_SIZES: dict[str, SynthProfile] = {
    name: SynthProfile(name, **_profiles.sizes(name, "data")) for name in sorted(set(_profiles.DATA_PROFILE.values()))
}


def _resolve_profile(profile: str | SynthProfile) -> SynthProfile:
    if isinstance(profile, SynthProfile):
        return profile
    if profile not in DATASET_SIZES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(DATASET_SIZES)} or pass a SynthProfile")
    return DATASET_SIZES[profile]


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
              severity: float | None = None, scenario: Scenario = DEFAULT_SCENARIO) -> list[ClipSpec]:
    """Every clip of one type: split, domain, label, index, attributes, anomaly kind, severity.

    ``scenario`` may keep only one family of faults and the source domain's operating values in
    the target domain (``asdlib.synth.scenario``); the default changes nothing."""
    prof = _resolve_profile(profile)
    model = get_model(machine_type)
    rng = _rng(seed, machine_type, "plan")
    sev = 1.0 if severity is None else float(severity)
    kinds = scenario.fault_kinds(machine_type, model.anomalies)
    target_groups = model.source_groups if scenario.target_keeps_source_values() else model.target_groups
    specs: list[ClipSpec] = []
    cells = [("train", "source", "normal", prof.n_train_source), ("train", "target", "normal", prof.n_train_target),
             ("test", "source", "normal", prof.n_test), ("test", "source", "anomaly", prof.n_test),
             ("test", "target", "normal", prof.n_test), ("test", "target", "anomaly", prof.n_test)]
    for split, domain, label, count in cells:
        groups = model.source_groups if domain == "source" else target_groups
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
