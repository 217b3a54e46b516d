"""Scenarios: what the sensitivity study varies around the default data, one knob at a time.

``Scenario()`` (the default) changes nothing: every file stays byte-identical and the manifest
carries no ``scenario`` entry. Each knob moves one property of the data that the question
"when do the learned systems win?" (chapter 09) depends on:

- ``snr_shift_db`` and ``impact_rate``: the nuisance of the version-2 recording (every take's
  SNR range moved by this many dB; the halls' clanks and knocks this many times as frequent);
- ``domain_shift``: what differs between the source and the target domain. ``"all"`` (the
  default): the operating values (attributes), the hall (background, reverberation) and the
  microphone placement together; ``"operating"``: only the operating values; ``"microphone"``:
  only the mic placement; ``"background"``: only the hall. Where the operating values stay,
  the target clips take the source domain's attribute groups;
- ``fault_family``: which faults the test anomalies are. ``FAULT_FAMILY`` sorts each development
  type's three faults into ``tonal`` (a narrow-band line or its modulation), ``broadband``
  (noise: hiss, grinding, friction, turbulence) and ``transient`` (impacts, clicks, rattles,
  stalls). A family keeps only its faults (each at its calibrated strength, never re-tuned);
  a type with no fault of the family is left out of that data set (``types_with_family``).

The knobs act on the version-2 recording only; version 1 (the clean generator) accepts the
default scenario alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterable, Mapping

DOMAIN_SHIFTS = ("all", "operating", "microphone", "background")
FAULT_FAMILIES = ("all", "tonal", "broadband", "transient")

#: Each development type's faults by family (from the sound models' own descriptions,
#: ``machines.MachineModel.anomalies``).
FAULT_FAMILY: dict[str, dict[str, str]] = {
    "synFan": {"imbalance": "tonal", "blade_rub": "transient", "clogging": "broadband"},
    "synGearbox": {"tooth_crack": "transient", "wear": "broadband", "misalignment": "tonal"},
    "synSlider": {"rail_scratch": "broadband", "missing_stroke": "transient", "belt_slip": "tonal"},
    "synValve": {"leak": "broadband", "bounce": "transient", "contamination": "transient"},
    "synBearing": {"outer_race": "transient", "inner_race": "transient", "lubrication": "broadband"},
    "synToyCar": {"gear_chip": "transient", "bent_shaft": "tonal", "tire_damage": "transient"},
    "synToyTrain": {"flat_wheel": "transient", "loose_part": "transient", "motor_fault": "tonal"},
}


@dataclass(frozen=True)
class Scenario:
    """One variation of the generated data (the defaults change nothing)."""

    snr_shift_db: float = 0.0  # added to both ends of the per-take SNR range (recording.NUISANCE.snr_db)
    impact_rate: float = 1.0  # x the halls' rate of clanks and knocks
    domain_shift: str = "all"  # what the target domain changes: all | operating | microphone | background
    fault_family: str = "all"  # which faults: all | tonal | broadband | transient

    def __post_init__(self):
        if self.domain_shift not in DOMAIN_SHIFTS:
            raise ValueError(f"domain_shift {self.domain_shift!r}: choose one of {DOMAIN_SHIFTS}")
        if self.fault_family not in FAULT_FAMILIES:
            raise ValueError(f"fault_family {self.fault_family!r}: choose one of {FAULT_FAMILIES}")
        if not self.impact_rate >= 0:
            raise ValueError(f"impact_rate must be >= 0, got {self.impact_rate!r}")

    @property
    def is_default(self) -> bool:
        return self == DEFAULT_SCENARIO

    def changes(self) -> dict:
        """The knobs that differ from the default (what the manifest records)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if getattr(DEFAULT_SCENARIO, k) != v}

    def check_version(self, version: int) -> None:
        if version != 2 and not self.is_default:
            raise ValueError(f"scenario {self.changes()} needs the version-2 recording (got version {version}); "
                             "version 1 has no halls, SNR draws or mic placements to vary")

    # what the recording of a domain's take uses
    def hall_domain(self, domain: str) -> str:
        return domain if self.domain_shift in ("all", "background") else "source"

    def placement_domain(self, domain: str) -> str:
        return domain if self.domain_shift in ("all", "microphone") else "source"

    def target_keeps_source_values(self) -> bool:
        """True when the target domain runs at the source domain's operating values."""
        return self.domain_shift in ("microphone", "background")

    def fault_kinds(self, machine_type: str, kinds: Iterable[str]) -> list[str]:
        """The faults of ``machine_type`` this scenario plants (all of ``kinds`` by default)."""
        kinds = list(kinds)
        if self.fault_family == "all":
            return kinds
        table = FAULT_FAMILY.get(machine_type)
        if table is None:
            raise ValueError(f"{machine_type}: its faults are not sorted into families (scenario.FAULT_FAMILY "
                             "covers the development types); use fault_family='all'")
        chosen = [k for k in kinds if table[k] == self.fault_family]
        if not chosen:
            raise ValueError(f"{machine_type} has no {self.fault_family} fault (its faults: {table}); leave the "
                             "type out of this data set (scenario.types_with_family)")
        return chosen


DEFAULT_SCENARIO = Scenario()


def types_with_family(types: Iterable[str], family: str) -> list[str]:
    """The types of ``types`` that have at least one fault of ``family`` (all types for ``"all"``)."""
    if family == "all":
        return list(types)
    return [t for t in types if family in FAULT_FAMILY.get(t, {}).values()]


def from_mapping(values: Mapping | None) -> Scenario:
    """A scenario from a manifest's or a command line's ``{knob: value}`` (None: the default)."""
    values = dict(values or {})
    unknown = set(values) - {f.name for f in dataclasses.fields(Scenario)}
    if unknown:
        raise ValueError(f"unknown scenario knobs {sorted(unknown)}; known: {[f.name for f in dataclasses.fields(Scenario)]}")
    return Scenario(**values)
