"""The baselines end to end on the `full` generated data (DCASE sizes): time and peak memory.

Runs chapter 02 at ``profile=full`` as a reader would (``asd run
notebooks/02_baselines.py -p profile full ...``): the 8 400 clips' log-mels, one
autoencoder per machine type on every training vector, AE-MSE and AE-MAHALA scored and
evaluated, the chapter's tables and figures. Measured from outside: wall time and the peak
RSS of the whole process tree (runner, kernel, training processes), sampled every 20 ms,
from an empty feature cache (every clip's log-mels are computed, as on a first run) and
with ``restart`` (checkpoints of an earlier run are moved aside, never loaded).
Then it reads the run folder the chapter wrote (checked to be this run's: same data, same
epochs) for the per-type times and the scores.

``--epochs`` shortens training (official: 100; memory does not depend on it, time grows
linearly, and the result says what 100 epochs would take at the measured rate);
``--workers`` trains that many machine types at once, each in its own process.

    asd synth --profile full --part dev            # once, ~9 min, 2.6 GB
    python benchmarks/full_baselines.py --epochs 10 --workers 2

Writes ``benchmarks/results/full_baselines.json``; the book's appendix page on scale reads it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from measure import PeakMemory  # benchmarks/measure.py

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "full_baselines.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    import subprocess

    from asdlib import paths, synth
    from asdlib.book import runner as experiment
    from asdlib.runtime import git_commit

    root = paths.data_root("full")
    if not root.is_dir():
        raise SystemExit(f"{root}: the full data are not generated; run `asd synth --profile full "
                         "--part dev` first (about 9 minutes, 2.6 GB)")
    chapter_args = ["-m", "asdlib", "run", "notebooks/02_baselines.py", "-p", "profile", "full",
                    "-p", "epochs", str(args.epochs), "-p", "workers", str(args.workers), "-p", "restart", "true"]
    with tempfile.TemporaryDirectory(prefix="full_baselines_") as tmp:
        # an empty feature cache, as a first run has: every clip's log-mels are part of the time
        env = dict(os.environ, ASD_CACHE_DIR=str(Path(tmp) / "cache"))
        started = time.time()
        with PeakMemory(children_only=True) as mem:
            t0 = time.perf_counter()
            rc = subprocess.call([sys.executable, *chapter_args, "-o", str(Path(tmp) / "02.ipynb")], cwd=REPO, env=env)
            wall = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"chapter 02 failed (exit {rc}); nothing written")

    chapter = experiment.chapter_data("full", additional_roots=[])
    run = experiment.find_run("02_baselines", "full", chapter)
    config = json.loads((run.root / "config.json").read_text())
    epochs = config["autoencoder"]["epochs"]
    if epochs != args.epochs or (run.root / "status.json").stat().st_mtime < started:
        raise SystemExit(f"{run.root}: the latest run folder is not this run's (epochs {epochs}); nothing written")
    timings = pd.read_csv(run.root / "timings.csv")
    scores = pd.read_csv(run.root / "metrics.csv")[["system", "machine_type", "AUC-s", "AUC-t", "pAUC", "official"]]
    scores[["AUC-s", "AUC-t", "pAUC", "official"]] *= 100  # percent, as Table 1
    clips = chapter.clips
    train_s = float(timings.train_s.sum())
    out = {
        "command": "benchmarks/full_baselines.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "chapter_command": "python " + " ".join(chapter_args), "commit": git_commit(), "run_folder": str(run.root.relative_to(REPO)),
        "data": f"SYNTHETIC full data ({root.relative_to(REPO)}, generator {synth.GENERATOR_VERSION})",
        "clips": int(len(clips)), "train_clips": int((clips.split == "train").sum()),
        "audio_hours": round(float(clips.duration.sum()) / 3600, 2),
        "epochs": epochs, "official_epochs": 100, "workers": args.workers,
        "wall_s": round(wall, 1), "peak_rss_mb": round(mem.peak),
        "train_s_sum": round(train_s, 1),
        "train_s_at_100_epochs_estimate": round(train_s * 100 / epochs, 1),
        "per_type": timings.round(2).to_dict("records"),
        "metrics": scores.round(2).astype(object).where(scores.notna(), None).to_dict("records"),
    }
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k not in ("per_type", "metrics")}, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
