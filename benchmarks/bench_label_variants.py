"""Readings of the report's open points for Systems 1-2, measured side by side.

- **System-1's "additional labels"** (§2.1): classes "type x cluster" (today) against
  "type x domain x cluster" (``label_source="pseudo_domain"``, our reading).
- **Contrastive positives** (§2.1: contrastive learning ties clips to their *statistics*):
  positives = the classification class (today) against positives = the statistical cluster
  (``contrastive_labels="statistics"``), for System-2 (for System-1 both are the same).

Every variant trains on the same data with the same schedule and seeds; the Total AUC-s /
AUC-t / pAUC / official score of the kNN backend (percent) are printed and written with the
command and git commit::

    .venv/bin/python benchmarks/bench_label_variants.py [--profile demo] [--seeds 0 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VARIANTS = {
    "System-1 (classes: type x cluster)": dict(label_source="pseudo"),
    "System-1 (classes: type x domain x cluster)": dict(label_source="pseudo_domain"),
    "System-2 (positives = class)": dict(label_source="attribute"),
    "System-2 (positives = statistical cluster)": dict(label_source="attribute", contrastive_labels="statistics"),
}


def main(argv=None) -> int:
    from asdlib.book import runner as experiment
    from asdlib.systems.classifier import ClassifierSystem, ClassifierSystemConfig
    from asdlib.systems.embedding import run_system

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "label_variants.json")
    args = ap.parse_args(argv)
    chapter = experiment.chapter_data(args.profile)
    rows = []
    for seed in args.seeds:
        for name, kw in VARIANTS.items():
            t0 = time.perf_counter()
            det = ClassifierSystem(ClassifierSystemConfig.for_profile(args.profile, seed=seed, **kw), progress=False)
            m = run_system(det, chapter.clips, backends=["knn"])["knn"].metrics.loc["Total"]
            rows.append({"variant": name, "seed": seed, **{k: round(100 * float(m[k]), 1)
                                                           for k in ("AUC-s", "AUC-t", "pAUC", "official")},
                         "seconds": round(time.perf_counter() - t0, 1)})
            print(rows[-1], flush=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "commit": commit,
                                    "profile": args.profile, "data": chapter.label, "backend": "knn",
                                    "rows": rows}, indent=2) + "\n")
    print(f"\n| variant | seed | AUC-s | AUC-t | pAUC | official |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['seed']} | {r['AUC-s']} | {r['AUC-t']} | {r['pAUC']} | {r['official']} |")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
