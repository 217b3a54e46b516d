"""Wall time of the official baselines per machine type: training + scoring (AE-MSE, AE-MAHALA).

Trains from scratch (fresh temporary run folder) at a profile's AutoencoderConfig on the
generated dataset of that profile and prints one row per machine type::

    .venv/bin/python benchmarks/bench_baselines.py                 # demo profile, all types
    .venv/bin/python benchmarks/bench_baselines.py --profile ci --types synFan synValve
    .venv/bin/python benchmarks/bench_baselines.py --cold-features # log-mels recomputed too
    .venv/bin/python benchmarks/bench_baselines.py --threads 2     # torch threads (default 1)

Columns (seconds): ``features`` log-mel + stacking of train and test clips (from the disk
cache unless ``--cold-features``), ``train`` the autoencoder, ``fit MSE`` / ``fit MAHALA``
residuals + covariances + training scores for the thresholds, ``score MSE`` /
``score MAHALA`` the test clips, ``total`` all of it. The machine's load average is
printed too: on 2 cores another busy process changes these numbers a lot.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="demo", choices=["ci", "demo", "full", "paper"])
    ap.add_argument("--types", nargs="+", default=None, help="machine types (default: all)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--epochs", type=int, default=None, help="override the profile's epochs")
    ap.add_argument("--cold-features", action="store_true", help="use an empty log-mel cache")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_baselines_") as tmp:
        if args.cold_features:
            os.environ["ASD_CACHE_DIR"] = str(Path(tmp) / "cache")
        import torch

        from asdlib import data, synth
        from asdlib.systems import baselines
        from asdlib.models import AutoencoderConfig
        from asdlib.runtime import default_device

        root = synth.ensure_dataset({"paper": "full"}.get(args.profile, args.profile))
        clips = data.clip_table(root, args.types)
        config = AutoencoderConfig.for_profile(args.profile, epochs=args.epochs)
        print(config.describe())
        print(f"data {root}; device {default_device()}; torch threads for training {args.threads} "
              f"(of {torch.get_num_threads()}); load average before {os.getloadavg()[0]:.1f}")
        t0 = time.perf_counter()
        res = baselines.run_baselines(clips, config, Path(tmp) / "run", progress=False,
                                      num_threads=args.threads)
        wall = time.perf_counter() - t0

    t = res.timings
    steps = (t.trained_on + config.batch_size - 1) // config.batch_size * t.epochs
    table = pd.DataFrame({
        "machine_type": t.machine_type,
        "vectors": t.vectors,
        "trained_on": t.trained_on,
        "epochs": t.epochs,
        "steps": steps,
        "features": t.features_s,
        "train": t.train_s,
        "ms/step": 1000 * t.train_s / steps,
        "fit MSE": t["AE-MSE fit_backend_s"],
        "fit MAHALA": t["AE-MAHALA fit_backend_s"],
        "score MSE": t["AE-MSE score_s"],
        "score MAHALA": t["AE-MAHALA score_s"],
    })
    table["total"] = table[["features", "train", "fit MSE", "fit MAHALA", "score MSE", "score MAHALA"]].sum(axis=1)
    sums = table.drop(columns=["machine_type", "ms/step"]).sum()
    table.loc[len(table)] = {"machine_type": "all types", **sums, "ms/step": 1000 * sums["train"] / sums["steps"]}
    pd.set_option("display.width", 200)
    print(table.round(2).to_string(index=False))
    print(f"wall time of run_baselines: {wall:.1f} s; load average after {os.getloadavg()[0]:.1f}")
    print("AUC (percent):")
    print(res.table1().round(1).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
