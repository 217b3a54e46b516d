"""The statistical-clustering chapter's design comparison over several seeds, stored for the book.

Chapter 01 compares its clustering design with settings that each change one choice
(``asdlib.clustering.quality.DESIGN_SETTINGS``). Every setting fits a model-selection sweep per
machine type, so the comparison costs minutes; the book's build reads this stored run
(``design_comparison=study``) instead of recomputing it, and says so. It is measured on the
chapter's exact inputs: the normal train clips of the generated dataset of ``--profile``,
their cached statistics and the default estimator.

    python benchmarks/cluster_designs.py --profile demo --seeds 0 1 2

Writes ``benchmarks/results/cluster_designs_<profile>.csv`` (one row per setting, seed and
machine type: chosen k, ARI, NMI) and a JSON beside it with the command, commit, data
fingerprint, base estimator and time (``asdlib.book.evidence.design_study`` checks the last two).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from asdlib import clustering, paths
from asdlib.clustering import quality as cluster_quality
from asdlib.book import runner as experiment
from asdlib.features import statistics
from asdlib.runtime import git_commit


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    out = args.out or Path(__file__).parent / "results" / f"cluster_designs_{args.profile}.csv"
    chapter = experiment.chapter_data(args.profile, additional_roots=[])
    clips = chapter.clips
    train = clips[(clips.split == "train") & (clips.label == "normal")].reset_index(drop=True)
    truth_roots = [chapter.root] + ([paths.ground_truth_root()] if paths.ground_truth_root() else [])
    base = clustering.StatisticalClusters()
    t0 = time.perf_counter()
    stats = statistics.statistics_table(train, base.groups)
    design = cluster_quality.compare_configurations(train, stats, cluster_quality.DESIGN_SETTINGS, truth_roots,
                                                    seeds=args.seeds, base=base)
    seconds = time.perf_counter() - t0
    design.to_csv(out, index=False)
    out.with_suffix(".json").write_text(json.dumps({
        "command": " ".join(["benchmarks/cluster_designs.py", *sys.argv[1:]]), "commit": git_commit(),
        "profile": args.profile, "data": chapter.label, "data_fingerprint": chapter.fingerprint,
        "base_params": json.loads(json.dumps(base.get_params(), default=str)), "seeds": args.seeds,
        "seconds": round(seconds, 1), "csv": out.name}, indent=2) + "\n")
    print(cluster_quality.summarise_designs(design).round(3).to_string())
    print(f"written {out} ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
