"""The embedded default data set: a synthetic generator in the DCASE 2024 Task 2 layout.

It is the book's benchmark, calibrated against simple detectors only (``systems.reference``,
``benchmarks/calibrate_synth.py``); results on it are SYNTHETIC. ``asd synth --profile demo``
writes a data root; chapters get theirs from ``book.chapter_data``.

The generator's pipeline, one module per step:

- ``dsp``: signal building blocks (seeded streams, the clip grid, noise, filters, resonators,
  impulses, tones, trajectories, envelopes);
- ``recording``: the generator versions, the take a sound model draws into (``_Ctx``) and the
  recording chains (version 1: a place's background; version 2: factory halls, mic placements
  and their domain shift, reverberation, SNR, ``NUISANCE``);
- ``sounds_dev``, ``sounds_additional``: the sound models of the 7 development and the 9
  additional types;
- ``machines``: the machine types (attributes, domains, faults and their calibrated gains,
  halls), ``get_model`` and the type lists per part;
- ``plan``: which clips a dataset has (``DATASET_SIZES`` per profile, ``plan_type`` -> ``ClipSpec``);
- ``render``: a spec or any take to a waveform (``render_spec``, ``render_clip``);
- ``dataset``: writing a data root (WAVs, attribute CSVs, ground truth, manifest;
  ``generate_dataset``, ``ensure_dataset``, ``default_root``, ``read_manifest``);
- ``scenario``: the sensitivity study's variations of the data (SNR, clanks, what the domain
  shift changes, which family of faults); the default changes nothing;
- ``cli``: ``asd synth``.
"""

from asdlib.synth.dataset import MANIFEST, default_root, ensure_dataset, generate_dataset, read_manifest
from asdlib.synth.machines import (ADDITIONAL_HIDDEN_TYPES, ADDITIONAL_TYPES, HIDDEN_TYPES, MACHINE_TYPES, PART_TYPES,
                                   PARTS, MachineModel, get_model, kind_gains)
from asdlib.synth.plan import DATASET_SIZES, SAMPLE_RATE, SECTION, ClipSpec, SynthProfile, plan_type
from asdlib.synth.recording import DEFAULT_VERSION, GENERATOR_VERSION, GENERATOR_VERSIONS, NUISANCE, Hall, Nuisance
from asdlib.synth.render import render_clip, render_spec
from asdlib.synth.scenario import DEFAULT_SCENARIO, FAULT_FAMILY, Scenario, types_with_family

__all__ = [
    "ADDITIONAL_HIDDEN_TYPES", "ADDITIONAL_TYPES", "DATASET_SIZES", "DEFAULT_SCENARIO", "FAULT_FAMILY", "Scenario", "DEFAULT_VERSION", "GENERATOR_VERSION",
    "GENERATOR_VERSIONS", "HIDDEN_TYPES", "MACHINE_TYPES", "MANIFEST", "NUISANCE", "PART_TYPES", "PARTS",
    "SAMPLE_RATE", "SECTION", "ClipSpec", "Hall", "MachineModel", "Nuisance", "SynthProfile", "default_root",
    "ensure_dataset", "generate_dataset", "get_model", "kind_gains", "plan_type", "read_manifest", "render_clip",
    "render_spec", "types_with_family",
]
