"""The embedded default data set: a synthetic generator in the DCASE 2024 Task 2 layout.

It is the book's benchmark, calibrated against simple detectors only (``systems.reference``,
``benchmarks/calibrate_synth.py``); results on it are SYNTHETIC. ``asd synth --profile demo``
writes a data root; chapters get theirs from ``book.chapter_data``.
"""

from asdlib.synth.generator import (ADDITIONAL_HIDDEN_TYPES, ADDITIONAL_TYPES, DEFAULT_VERSION, GENERATOR_VERSION,
                                    GENERATOR_VERSIONS, HIDDEN_TYPES, MACHINE_TYPES, MANIFEST, NUISANCE, PART_TYPES,
                                    PARTS, PROFILES, SAMPLE_RATE, SECTION, ClipSpec, Hall, MachineModel, Nuisance,
                                    SynthProfile, default_root, ensure_dataset, generate_dataset, get_model,
                                    kind_gains, plan_type, read_manifest, render_clip, render_spec)
