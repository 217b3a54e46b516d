"""``asd synth``: generate the SYNTHETIC DCASE-layout data set from the command line.

``asd synth --profile demo --seed 0 [--version 2] [--part dev|additional] [--out PATH]
[--types ...] [--overwrite]`` (``asd synth --help`` lists every option); ``main(argv)`` is what
``asdlib.__main__`` calls.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Sequence

from asdlib.synth.dataset import _generate, default_root, read_manifest
from asdlib.synth.machines import ADDITIONAL_TYPES, MACHINE_TYPES, PARTS
from asdlib.synth.plan import DATASET_SIZES
from asdlib.synth.recording import DEFAULT_VERSION, GENERATOR_VERSIONS
from asdlib.synth.scenario import DOMAIN_SHIFTS, FAULT_FAMILIES, Scenario


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="asd synth",
                                 description="Generate the SYNTHETIC DCASE-layout machine-sound dataset.")
    ap.add_argument("--profile", default="demo", choices=sorted(DATASET_SIZES))
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
    sc = ap.add_argument_group("scenario (asdlib.synth.scenario: the sensitivity study's variations; version 2 only)")
    sc.add_argument("--snr-shift-db", type=float, default=0.0, help="move every take's SNR range by this many dB")
    sc.add_argument("--impact-rate", type=float, default=1.0, help="x the halls' rate of clanks and knocks")
    sc.add_argument("--domain-shift", default="all", choices=DOMAIN_SHIFTS,
                    help="what the target domain changes (default: operating values, hall and mic together)")
    sc.add_argument("--fault-family", default="all", choices=FAULT_FAMILIES,
                    help="plant only this family of faults (types without one must be left out with --types)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    prof = DATASET_SIZES[args.profile]
    overrides = {k: getattr(args, k) for k in ("clip_seconds", "n_train_source", "n_train_target", "n_test")
                 if getattr(args, k) is not None}
    if overrides:
        prof = prof.with_counts(**overrides)
    out = args.out if args.out is not None else default_root(args.profile, args.seed, args.part, args.version)
    t0 = time.perf_counter()
    try:
        scenario = Scenario(args.snr_shift_db, args.impact_rate, args.domain_shift, args.fault_family)
        root, wrote = _generate(out, prof, args.seed, args.types, args.severity, args.overwrite, args.workers, False,
                                args.version, args.part, scenario)
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
