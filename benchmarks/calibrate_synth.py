"""Calibrate the synthetic benchmark against simple reference detectors (never our systems).

Generates a synthetic dataset (default: the ``demo`` profile, seed 0) and scores every
machine type with the two deliberately simple detectors of ``asdlib.systems.reference`` on the
clip-mean official log-mel, both fitted on all train normals (source + target) of the type:

- ``maha``: Mahalanobis distance with a Ledoit-Wolf shrunk covariance;
- ``knn``: Euclidean distance to the nearest train normal (1-NN).

Metrics are ``asdlib.metrics`` (the official DCASE 2024 definitions: AUC-source = source
normals + all anomalies of both domains; AUC-target = target normals + all anomalies;
pAUC = ``roc_auc_score(max_fpr=0.1)`` over all test clips). Per-type values and harmonic
means are printed as a markdown table and written to ``--json``.

    python benchmarks/calibrate_synth.py [--out DIR] [--json results.json] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asdlib import data, synth  # noqa: E402
from asdlib.systems import reference  # noqa: E402
from asdlib.detect import run_detector  # noqa: E402

DETECTORS = {"maha": reference.ClipMeanMahalanobis, "knn": reference.ClipMeanNearestNeighbour}
COLUMNS = ("AUC-s", "AUC-t", "pAUC")


def evaluate(root: Path, types: list[str]) -> dict:
    """``{detector: metrics table}`` (rows: types + Total) on the dataset at ``root``."""
    clips = data.clip_table(root, types)
    return {name: run_detector(cls(), clips).metrics for name, cls in DETECTORS.items()}


def markdown(res: dict, types: list[str]) -> str:
    lines = ["| type | Maha AUC-s | Maha AUC-t | Maha pAUC | 1-NN AUC-s | 1-NN AUC-t | 1-NN pAUC |",
             "|---|---|---|---|---|---|---|"]
    for row in list(types) + ["Total"]:
        cells = [f"{res[d].loc[row, m]:.3f}" for d in DETECTORS for m in COLUMNS]
        name = "**harmonic mean**" if row == "Total" else row
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="dataset folder (default: a temporary folder)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--profile", default="demo", choices=sorted(synth.PROFILES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--severity", type=float, default=None)
    ap.add_argument("--types", nargs="+", default=list(synth.MACHINE_TYPES))
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="asd-calib-") as tmp:
        root = args.out if args.out is not None else Path(tmp) / args.profile
        t0 = time.perf_counter()
        synth.generate_dataset(root, args.profile, args.seed, args.types, args.severity)
        t_gen = time.perf_counter() - t0
        res = evaluate(root, args.types)
    table = markdown(res, args.types)
    print(f"SYNTHETIC {args.profile} (seed {args.seed}, generator {synth.GENERATOR_VERSION}), "
          f"generated in {t_gen:.1f} s\n")
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {"profile": args.profile, "seed": args.seed, "severity": args.severity,
               "generator_version": synth.GENERATOR_VERSION, "generation_seconds": round(t_gen, 1),
               "metrics": {d: t[list(COLUMNS)].round(4).to_dict(orient="index") for d, t in res.items()},
               "markdown": table}
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
