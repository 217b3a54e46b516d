"""Calibrate the synthetic benchmark against simple reference detectors (never our systems).

Generates a synthetic dataset (default: the ``demo`` profile, seed 0, the default generator
version, the ``dev`` part) and scores every machine type with the two deliberately simple
detectors of ``asdlib.systems.reference`` on the clip-mean official log-mel, both fitted on all train
normals (source + target) of the type:

- ``maha``: Mahalanobis distance with a Ledoit-Wolf shrunk covariance;
- ``knn``: Euclidean distance to the nearest train normal (1-NN).

Metrics are ``asdlib.evaluation.metrics`` (the official DCASE 2024 definitions: AUC-source = source
normals + all anomalies of both domains; AUC-target = target normals + all anomalies;
pAUC = ``roc_auc_score(max_fpr=0.1)`` over all test clips; official score = harmonic mean
of all AUC-s, AUC-t and pAUC values together). Per-type values, harmonic means and the
official score are printed as a markdown table and written to ``--json`` together with the
command, the git commit and the generation time.

    python benchmarks/calibrate_synth.py [--version 2] [--part dev|additional] [--profile demo]
                                         [--seed 0] [--out DIR] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from asdlib import data, synth  # noqa: E402
from asdlib.systems import reference  # noqa: E402
from asdlib.systems.detect import run_detector  # noqa: E402

DETECTORS = {"maha": reference.ClipMeanMahalanobis, "knn": reference.ClipMeanNearestNeighbour}
COLUMNS = ("AUC-s", "AUC-t", "pAUC")


def evaluate(root: Path, types: list[str]) -> dict:
    """``{detector: metrics table}`` (rows: types + Total; ``official`` on Total) on the dataset at ``root``."""
    clips = data.clip_table(root, types)
    return {name: run_detector(cls(), clips).metrics for name, cls in DETECTORS.items()}


def markdown(res: dict, types: list[str]) -> str:
    lines = ["| type | Maha AUC-s | Maha AUC-t | Maha pAUC | 1-NN AUC-s | 1-NN AUC-t | 1-NN pAUC |",
             "|---|---|---|---|---|---|---|"]
    for row in list(types) + ["Total"]:
        cells = [f"{res[d].loc[row, m]:.3f}" for d in DETECTORS for m in COLUMNS]
        name = "**harmonic mean**" if row == "Total" else row
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    # the official score: harmonic mean of all AUC-s, AUC-t and pAUC values together (one per detector)
    cells = [f"{res[d].loc['Total', 'official']:.3f}" if m == "AUC-s" else "" for d in DETECTORS for m in COLUMNS]
    lines.append("| **official score** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def git_commit() -> dict:
    """The checkout's commit and whether it had uncommitted changes (None outside git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
        return {"commit": head, "uncommitted_changes": bool(dirty)}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "uncommitted_changes": None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="dataset folder (default: a temporary folder)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--profile", default="demo", choices=sorted(synth.DATASET_SIZES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--severity", type=float, default=None)
    ap.add_argument("--version", type=int, default=synth.DEFAULT_VERSION, choices=sorted(synth.GENERATOR_VERSIONS),
                    help=f"generator version (default {synth.DEFAULT_VERSION})")
    ap.add_argument("--part", default="dev", choices=synth.PARTS)
    ap.add_argument("--types", nargs="+", default=None, help="machine types (default: all of the part)")
    ap.add_argument("--workers", type=int, default=1, help="processes for generation (default 1)")
    args = ap.parse_args(argv)
    types = args.types or list(synth.PART_TYPES[args.part])

    with tempfile.TemporaryDirectory(prefix="asd-calib-") as tmp:
        root = args.out if args.out is not None else Path(tmp) / f"{args.profile}-{args.part}-v{args.version}"
        if args.out is None:  # features of a throw-away dataset: keep them out of the shared cache
            os.environ.setdefault("ASD_CACHE_DIR", str(Path(tmp) / "cache"))
        t0 = time.perf_counter()
        synth.generate_dataset(root, args.profile, args.seed, types, args.severity, workers=args.workers,
                               version=args.version, part=args.part)
        t_gen = time.perf_counter() - t0
        manifest = synth.read_manifest(root) or {}
        t0 = time.perf_counter()
        res = evaluate(root, types)
        t_eval = time.perf_counter() - t0
    table = markdown(res, types)
    print(f"SYNTHETIC {args.part} part, generator version {args.version} "
          f"({synth.GENERATOR_VERSIONS[args.version]}), profile {args.profile}, seed {args.seed}: "
          f"generated in {t_gen:.1f} s ({manifest.get('n_files')} files), evaluated in {t_eval:.1f} s\n")
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {"command": "python benchmarks/calibrate_synth.py " + shlex.join(sys.argv[1:] if argv is None else argv),
               "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "git": git_commit(), "code_sha1": manifest.get("code_sha1"),
               "profile": args.profile, "profile_settings": manifest.get("profile_settings"),
               "seed": args.seed, "severity": args.severity, "part": args.part, "types": types,
               "generator_version": args.version, "generator_version_string": synth.GENERATOR_VERSIONS[args.version],
               "workers": args.workers, "generation_seconds": round(t_gen, 1), "n_files": manifest.get("n_files"),
               "evaluation_seconds": round(t_eval, 1),
               "official_score": {d: round(float(t.loc["Total", "official"]), 4) for d, t in res.items()},
               "metrics": {d: t[list(COLUMNS)].round(4).to_dict(orient="index") for d, t in res.items()},
               "markdown": table}
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
