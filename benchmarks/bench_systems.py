"""Every system's cost: training time per epoch, scoring time and peak memory, at the `demo`
and `full` sizes, and how they grow with the number of training clips.

One machine type (``--type``, default synFan) of a generated dataset, so the largest case
is one type of the real development set's size (1 000 training clips of 10 s, 200 test
clips). Each measurement is its own process (``--one``), measured from outside: wall time,
and the peak RSS of its process tree (sampled every 20 ms). Inside, it times

- ``features_s``: the log-mels of its train and test clips into the cache (cold: each
  measurement has its own empty cache folder), the front end every system reads;
- ``fit_s``: ``fit(train)`` with warm features: labels, network training, backends, thresholds;
- ``epoch_s``: the network's last epoch (``history_``'s seconds); ``epochs`` are run;
- ``score_s``: ``score(test)``.

Systems and their settings at a profile: AE (the baseline autoencoder; AE-MSE and
AE-MAHALA share it, both are fitted and scored), System-1, System-2, System-3 (their
profile's network and input sizes, ``--epochs`` epochs instead of the profile's), and the
clip-mean kNN yardstick (no network). ``--sizes`` lists the training clips of each
``full`` measurement (all 10 target clips, then source clips in name order); ``demo`` uses
its own training set whole.

    python benchmarks/bench_systems.py                       # needs data/synthetic/{demo,full}
    asd synth --profile full --part dev          # the full data, ~9 min
    python benchmarks/bench_systems.py --systems AE System-1 --sizes 250 1000

Writes ``benchmarks/results/bench_systems.json``; the book's appendix page on scale reads it.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from measure import PeakMemory  # noqa: E402  (benchmarks/measure.py)

SYSTEMS = ("AE", "System-1", "System-2", "System-3", "clip-mean kNN")
RESULTS = Path(__file__).resolve().parent / "results" / "bench_systems.json"


def build(system: str, profile: str, epochs: int, work: Path):
    """The detector(s) of ``system`` at ``profile``: ``[(name, detector)]`` fitted in order."""
    from asdlib.models import AutoencoderConfig
    from asdlib.systems import baselines, reference
    from asdlib.systems.classifier import ClassifierSystem
    from asdlib.systems.ssl import SSLSystem, SSLSystemConfig

    if system == "AE":
        cfg = AutoencoderConfig.for_profile(profile, epochs=epochs)
        mse = baselines.AEMSE(cfg, work / "ae", progress=False)
        return [("AE-MSE", mse), ("AE-MAHALA", baselines.AEMahala(cfg, work / "ae", progress=False, autoencoders=mse))]
    if system == "System-1":
        return [(system, ClassifierSystem.system1(profile, work / "s1", progress=False, epochs=epochs))]
    if system == "System-2":
        return [(system, ClassifierSystem.system2(profile, work / "s2", progress=False, epochs=epochs))]
    if system == "System-3":
        cfg = SSLSystemConfig.for_profile(profile, epochs=epochs)
        return [(system, SSLSystem(cfg, checkpoint_dir=work / "s3", progress=False))]
    if system == "clip-mean kNN":
        return [(system, reference.ClipMeanNearestNeighbour())]
    raise ValueError(f"unknown system {system!r}; choose from {SYSTEMS}")


def training_clips(train, n: int | None):
    """All target clips, then source clips in name order, ``n`` in all (None: every clip)."""
    if n is None or n >= len(train):
        return train
    ordered = train.sort_values(["domain", "file_name"], ascending=[False, True])  # target first
    return ordered.head(n).sort_index()


def one(spec: dict) -> dict:
    """One measurement, in this process (``--one``)."""
    import numpy as np

    from asdlib import data, features, paths, profiles

    root = paths.data_root(profiles.data_profile(spec["profile"]))
    if not root.is_dir():
        raise SystemExit(f"{root}: no generated data for profile {spec['profile']!r}; generate it with "
                         f"`asd synth --profile {profiles.data_profile(spec['profile'])} --part dev`")
    clips = data.clip_table(root, [spec["type"]])
    train = training_clips(clips[clips.split == "train"].reset_index(drop=True), spec["clips"])
    test = clips[clips.split == "test"].reset_index(drop=True)
    work = Path(spec["work"])
    t0 = time.perf_counter()
    features.clip_logmels(train.path.tolist() + test.path.tolist(), features.LogMelConfig(), progress=False)
    row = {**{k: spec[k] for k in ("system", "profile", "type", "epochs")}, "train_clips": len(train),
           "test_clips": len(test), "clip_seconds": float(train.duration.iloc[0]),
           "features_s": round(time.perf_counter() - t0, 2), "fit_s": 0.0, "score_s": 0.0}
    epoch_s = []
    for name, det in build(spec["system"], spec["profile"], spec["epochs"], work):
        t0 = time.perf_counter()
        det.fit(train)
        row["fit_s"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        scores = det.score(test)
        row["score_s"] += time.perf_counter() - t0
        if not np.all(np.isfinite(scores)):
            raise RuntimeError(f"{name}: non-finite scores")
        history = getattr(det, "history_", None)
        if isinstance(history, dict) and history:  # the autoencoders: one history per type
            history = next(iter(history.values()))
        if history is not None and len(history) and "seconds" in history and not epoch_s:
            epoch_s = list(history["seconds"])
    row.update(fit_s=round(row["fit_s"], 2), score_s=round(row["score_s"], 2),
               epoch_s=round(float(epoch_s[-1]), 2) if epoch_s else None)
    return row


def measure(spec: dict) -> dict:
    """``one(spec)`` in its own process, with a cold log-mel cache; wall time and peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bench_systems_") as tmp:
        spec = {**spec, "work": tmp}
        env = {**os.environ, "ASD_CACHE_DIR": str(Path(tmp) / "cache")}
        cmd = [sys.executable, __file__, "--one", json.dumps(spec)]
        with PeakMemory(children_only=True) as mem:
            t0 = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{spec['system']} at {spec['profile']} ({spec['clips']} clips) failed:\n"
                           f"{done.stderr[-3000:]}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row.update(wall_s=round(wall, 1), peak_rss_mb=round(mem.peak))
    print(row, flush=True)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    ap.add_argument("--type", default="synFan")
    ap.add_argument("--sizes", nargs="+", type=int, default=[250, 500, 1000],
                    help="training clips of the full-size measurements")
    ap.add_argument("--epochs", type=int, default=2, help="epochs per network (the last one is timed)")
    ap.add_argument("--no-demo", action="store_true", help="skip the demo-size measurements")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--update", action="store_true",
                    help="replace only the rows of --systems in an existing --out (the others are kept, their "
                         "command and commit recorded beside)")
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one(json.loads(args.one))))
        return 0

    import psutil

    from asdlib.runtime import git_commit

    specs = [] if args.no_demo else [dict(system=s, profile="demo", type=args.type, clips=None, epochs=args.epochs)
                                     for s in args.systems]
    specs += [dict(system=s, profile="full", type=args.type, clips=n, epochs=args.epochs)
              for n in sorted(args.sizes) for s in args.systems]
    print(f"{len(specs)} measurements, each in its own process; load average {os.getloadavg()[0]:.1f}", flush=True)
    rows = [measure(s) for s in specs]
    command = " ".join(["benchmarks/bench_systems.py", *(argv if argv is not None else sys.argv[1:])])
    for row in rows:
        row["commit"] = git_commit()
    if args.update and args.out.is_file():
        old = json.loads(args.out.read_text())
        kept = [r for r in old["rows"] if r["system"] not in args.systems]
        rows = kept + rows
    # one order whatever was measured when: demo first, then by clips, systems as in SYSTEMS
    rows.sort(key=lambda r: (r["profile"] != "demo", r["train_clips"], SYSTEMS.index(r["system"])))
        command = f"{old['command']}; then {command}"
    out = {"command": command, "commit": git_commit(), "data": "SYNTHETIC generated data (asdlib.synth), one machine type",
           "cpu_count": psutil.cpu_count(), "load_average_after": round(os.getloadavg()[0], 1), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
