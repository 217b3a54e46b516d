"""Scoring backends for the domain shift, compared on the embeddings of one trained System-2.

Trains System-2 (``ClassifierSystem.system2``) once on a profile's generated dataset, then
fits every embedding backend of ``asdlib.systems.backends.BACKENDS`` on the same train embeddings
(``EmbeddingDetector.compare_backends``: no retraining) and prints the Total row (harmonic
mean over machine types) of AUC-s, AUC-t, pAUC and the official score, in percent. With
``k = 1`` (the registry's default) separate banks and a pooled bank give the same scores (the
min over banks is the min over their union), so the kNN-style backends also run with ``--k``
(default 5) nearest neighbours::

    .venv/bin/python benchmarks/bench_backends.py                       # demo profile
    .venv/bin/python benchmarks/bench_backends.py --profile ci --json /tmp/backends_ci.json
    .venv/bin/python benchmarks/bench_backends.py --data-root DIR --json benchmarks/results/backends_X.json

Writes the Total and per-type tables, the command, ``git rev-parse HEAD`` (and whether the
checkout had uncommitted changes) and timings to ``--json`` (default
``benchmarks/results/backends_<profile>.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

COLUMNS = ["AUC-s", "AUC-t", "pAUC", "official"]


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="demo", choices=["ci", "demo", "full", "paper"])
    ap.add_argument("--data-root", default="", help="a DCASE-layout dataset (default: the profile's generated data)")
    ap.add_argument("--k", type=int, default=5, help="also run knn / pooled / standardised with this k")
    ap.add_argument("--json", type=Path, default=None, help="output (default benchmarks/results/backends_<profile>.json)")
    args = ap.parse_args(argv)
    out = args.json or ROOT / "benchmarks" / "results" / f"backends_{args.profile}.json"

    from asdlib.systems.backends import BACKENDS, make_backend
    from asdlib.book.runner import chapter_data
    from asdlib.systems.classifier import ClassifierSystem

    t0 = time.perf_counter()
    data = chapter_data(args.profile, args.data_root)
    clips = data.clips
    seconds = {"data": time.perf_counter() - t0}
    print(f"data: {data.label}, {len(clips)} clips; load average {os.getloadavg()[0]:.1f}", flush=True)

    t0 = time.perf_counter()
    det = ClassifierSystem.system2(profile=args.profile, progress=False).fit(clips[clips.split == "train"])
    seconds["fit System-2"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    backends = {name: make_backend(name) for name in BACKENDS}
    if args.k > 1:
        backends |= {f"{name} k={args.k}": make_backend(name, k=args.k) for name in ("knn", "pooled", "standardised")}
    table = det.compare_backends(clips, backends)
    seconds["embed test + all backends"] = time.perf_counter() - t0

    total = table[table.machine_type == "Total"].set_index("backend")[COLUMNS].round(1)
    per_type = table[table.machine_type != "Total"].pivot(index="machine_type", columns="backend", values="AUC-t")
    per_type = per_type[list(backends)]
    pd.set_option("display.width", 200)
    print(f"\nTotal (harmonic mean over types), percent, System-2 {args.profile}:\n{total.to_string()}")
    print(f"\nAUC-t per machine type:\n{per_type.round(1).to_string()}")
    print("\nseconds: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()))

    out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "git_head": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "profile": args.profile, "data": data.label, "data_fingerprint": data.fingerprint,
        "system": "System-2 (ClassifierSystem.system2)", "epochs": len(det.history_),
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "total_percent": json.loads(total.reset_index().to_json(orient="records")),
        "per_type_percent": json.loads(table.round(2).to_json(orient="records")),  # NaN -> null
    }
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
