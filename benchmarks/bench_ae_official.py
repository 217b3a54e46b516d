"""Our AE baseline against the official code, side by side on the same clips: time and AUC.

The official DCASE 2024 Task 2 baseline (nttcslab/dcase2023_task2_baseline_ae, branch
``2024t2/v3.x.x``) is run from a checkout the user provides (``--official DIR``; nothing of it
is copied into this repository), on the generated data of ``--profile``: each machine type's
folder is linked into the layout it reads (``DIR/data/dcase2024t2/dev_data/raw/<fan|...>``),
so both read the very same WAV files. Per type:

1. the official code's feature cache is built once by a 1-epoch run (not timed: ours is
   timed with its log-mel cache warm too);
2. official training (``train.py --train_only``, the official settings: 100 epochs, batch
   256, lr 1e-3, 10 % validation, with its covariance pass for AE-MAHALA) is timed, then its
   test runs for the MSE and the MAHALA score; their anomaly-score files are evaluated with
   our official metrics (``asdlib.evaluation.metrics``, checked against the official evaluator);
3. ours: one ``baselines.run_baselines`` over all the types with ``AutoencoderConfig(epochs=...)``
   (the official settings, every training vector), training time and metrics.

Both use the whole machine: the official code trains one type after another with
``--threads`` torch threads (default 2; it leaves torch's default, every core); ours trains
``--workers`` types at once (default 2), each in its own process with ``--our-threads``
threads (default 1; the network is too small to gain from a second thread). Per type, the
result compares training times (theirs on 2 threads, ours on 1); for all the types, the
wall time of training, and of everything (training and scoring), side by side.
The official code needs matplotlib < 3.11, seaborn and fasteners besides torch, librosa,
scipy and scikit-learn.

    git clone -b 2024t2/v3.x.x https://github.com/nttcslab/dcase2023_task2_baseline_ae /tmp/official
    python benchmarks/bench_ae_official.py --official /tmp/official --profile demo --types synFan synGearbox

Writes ``benchmarks/results/bench_ae_official_<profile>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from asdlib import data, synth
from asdlib.evaluation import metrics
from asdlib.models import AutoencoderConfig
from asdlib.runtime import git_commit
from asdlib.systems import baselines

#: The official code's names of the development types (its loader knows only these).
OFFICIAL_NAMES = {"synFan": "fan", "synGearbox": "gearbox", "synSlider": "slider", "synValve": "valve",
                  "synBearing": "bearing", "synToyCar": "ToyCar", "synToyTrain": "ToyTrain"}


def official(official_dir: Path, name: str, threads: int, *extra: str) -> float:
    """Run the official ``train.py`` for one type; its wall time in seconds."""
    cmd = [sys.executable, "train.py", f"--dataset=DCASE2024T2{name}", "-d", "-tag=id(0_)", "--use_ids", "0",
           "--use_cuda", "False", *extra]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=official_dir, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"official code failed ({' '.join(cmd)}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def official_metrics(official_dir: Path, name: str, score: str, clips: pd.DataFrame) -> dict:
    """Our official metrics of the official code's anomaly scores for one type."""
    path = (official_dir / "results" / "dev_data" / f"baseline_{score}" /
            f"anomaly_score_DCASE2024T2{name}_section_00_test_seed13711_id(0_).csv")
    scores = pd.read_csv(path, header=None, names=["file_name", "score"])
    test = clips[clips.split == "test"].set_index("file_name").loc[scores.file_name]
    m = metrics.type_metrics(test.is_anomaly.to_numpy(), test.domain.to_numpy(), scores.score.to_numpy())
    return {k: round(100 * m[k], 2) for k in ("AUC-s", "AUC-t", "pAUC")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--official", type=Path, required=True, help="checkout of the official baseline (2024t2 branch)")
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--types", nargs="+", default=["synFan"], choices=sorted(OFFICIAL_NAMES))
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2, help="torch threads of the official code (default: both cores)")
    ap.add_argument("--workers", type=int, default=2, help="our machine types trained at once, a process each")
    ap.add_argument("--our-threads", type=int, default=1, help="torch threads of each of our training processes")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if not (args.official / "train.py").is_file():
        ap.error(f"{args.official} has no train.py: give a checkout of nttcslab/dcase2023_task2_baseline_ae "
                 "(branch 2024t2/v3.x.x)")
    root = synth.ensure_dataset(args.profile)
    clips = data.clip_table(root, args.types)
    theirs, rows = {}, []
    for mtype in args.types:
        name = OFFICIAL_NAMES[mtype]
        raw = args.official / "data" / "dcase2024t2" / "dev_data" / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        link = raw / name
        if link.is_symlink() or link.exists():
            if not link.is_symlink() or link.resolve() != (root / mtype).resolve():
                ap.error(f"{link} exists and is not a link to {root / mtype}: remove it")
        else:
            link.symlink_to(root / mtype)
        official(args.official, name, args.threads, "--train_only", "--epochs", "1")  # its feature cache
        train_s = official(args.official, name, args.threads, "--train_only", "--epochs", str(args.epochs))
        test_s = {s: official(args.official, name, args.threads, "--test_only", "--score", s) for s in ("MSE", "MAHALA")}
        sub = clips[clips.machine_type == mtype]
        theirs[mtype] = {"train_s": train_s, "test_s": test_s,
                         "metrics": {s: official_metrics(args.official, name, s, sub) for s in ("MSE", "MAHALA")}}
        print(f"official {mtype}: train {train_s:.1f} s, test {sum(test_s.values()):.1f} s", flush=True)

    # ours: every type in one run, --workers types at once, each with --our-threads threads
    config = AutoencoderConfig(epochs=args.epochs)
    with tempfile.TemporaryDirectory() as tmp:
        baselines.run_baselines(clips, AutoencoderConfig(epochs=1), Path(tmp) / "run", progress=False,
                                num_threads=args.our_threads, workers=args.workers)  # warm our log-mel cache, as theirs is
        t0 = time.perf_counter()
        res = baselines.run_baselines(clips, config, Path(tmp) / "run", progress=False, resume=False,
                                      num_threads=args.our_threads, workers=args.workers)
        ours_wall = time.perf_counter() - t0
    ours_train_wall = res.detectors["AE-MSE"].train_wall_s_
    m = res.metrics.set_index(["system", "machine_type"])
    timings = res.timings.set_index("machine_type")
    for mtype in args.types:
        t, th = timings.loc[mtype], theirs[mtype]
        ours = {s: {k: round(100 * m.loc[(f"AE-{s}", mtype), k], 2) for k in ("AUC-s", "AUC-t", "pAUC")}
                for s in ("MSE", "MAHALA")}
        row = {"machine_type": mtype, "train_clips": int(((clips.split == "train") & (clips.machine_type == mtype)).sum()),
               "vectors": int(t.vectors), "epochs": args.epochs,
               "official_threads": args.threads, "ours_threads": args.our_threads,
               "official_train_s": round(th["train_s"], 1), "official_test_s": {k: round(v, 1) for k, v in th["test_s"].items()},
               "ours_train_s": round(float(t.train_s), 1),
               "speedup_train_per_type": round(th["train_s"] / float(t.train_s), 2),
               "official_metrics": th["metrics"], "ours_metrics": ours}
        print(json.dumps(row), flush=True)
        rows.append(row)
    official_train = sum(th["train_s"] for th in theirs.values())
    official_total = official_train + sum(sum(th["test_s"].values()) for th in theirs.values())
    summary = {"types": len(args.types), "official_train_s": round(official_train, 1),
               "official_total_s": round(official_total, 1), "ours_train_wall_s": round(ours_train_wall, 1),
               "ours_total_s": round(ours_wall, 1), "ours_workers": args.workers,
               "speedup_train": round(official_train / ours_train_wall, 2),
               "speedup_total": round(official_total / ours_wall, 2)}
    print(json.dumps(summary), flush=True)
    result = {"command": " ".join(["benchmarks/bench_ae_official.py", *sys.argv[1:]]), "commit": git_commit(),
              "official": "nttcslab/dcase2023_task2_baseline_ae, branch 2024t2/v3.x.x (run from the user's checkout)",
              "data": f"SYNTHETIC {args.profile} data, {root}", "rows": rows, "all_types": summary}
    out = args.out or Path(__file__).parent / "results" / f"bench_ae_official_{args.profile}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
