"""Wall time of Systems 1 and 2 (classifier embeddings + contrastive loss) and where it goes.

Three parts, each optional::

    .venv/bin/python benchmarks/bench_systems12.py                      # all parts, demo profile
    .venv/bin/python benchmarks/bench_systems12.py --parts steps        # encoder step times only
    .venv/bin/python benchmarks/bench_systems12.py --parts fit --systems system1 --profile ci
    .venv/bin/python benchmarks/bench_systems12.py --parts lr           # lr 1e-4 vs the profile's

* ``steps``: seconds per training step (forward + backward + Adam) and per scoring batch of
  the profile's encoder on random audio, with 1 and 2 torch threads. On a 2-core machine
  that other processes keep busy, 2 threads is often several times *slower* than 1.
* ``fit``: a fresh fit + scoring of each system on the profile's generated dataset:
  label source, training, embedding the train clips + fitting both backends, scoring the
  test clips, and the Total AUC-s / AUC-t / pAUC of both backends.
* ``lr``: the profile's schedule trained with the report's learning rate (1e-4) and with
  the profile's (1e-3 for ``ci``/``demo``): final ArcFace loss and training accuracy.
  Measured (demo, System-2 labels, 10 epochs, load ~3.5): lr 1e-4 ArcFace loss 25.3 ->
  14.2, accuracy 0.66; lr 1e-3 20.8 -> 5.3, accuracy 0.88.

The load average is printed before each part: CPU timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def bench_steps(profile: str, repeats: int = 4) -> pd.DataFrame:
    import torch

    from asdlib.runtime import cpu_threads
    from asdlib.systems.classifier import ClassifierNet, ClassifierSystemConfig
    from asdlib.models.losses import supervised_contrastive_loss

    cfg = ClassifierSystemConfig.for_profile(profile)
    n = int(cfg.crop_seconds * cfg.sample_rate)
    rows = []
    for threads in (1, 2):
        with cpu_threads(threads):
            torch.manual_seed(0)
            net = ClassifierNet(cfg, 20)
            opt = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate)
            x = torch.randn(cfg.batch_size, n)
            y = torch.randint(0, 20, (cfg.batch_size,))
            times = []
            for _ in range(repeats + 1):
                t0 = time.perf_counter()
                emb = net(x)
                loss = torch.nn.functional.cross_entropy(net.head(emb, y), y) + supervised_contrastive_loss(emb, y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                times.append(time.perf_counter() - t0)
            net.eval()
            with torch.no_grad():
                t0 = time.perf_counter()
                for _ in range(repeats):
                    net(x)
                eval_s = (time.perf_counter() - t0) / repeats
        rows.append({"threads": threads, "batch": cfg.batch_size, "crop_s": cfg.crop_seconds,
                     "train_step_s": float(np.median(times[1:])), "score_batch_s": eval_s,
                     "train_crops_per_s": cfg.batch_size / float(np.median(times[1:]))})
    return pd.DataFrame(rows)


def bench_fit(profile: str, systems: list[str], types=None, epochs=None) -> pd.DataFrame:
    from asdlib.systems import classifier as cs
    from asdlib.systems.embedding import run_system
    from asdlib import data, synth

    clips = data.clip_table(synth.ensure_dataset({"paper": "full"}.get(profile, profile)), types)
    rows = []
    for system in systems:
        with tempfile.TemporaryDirectory(prefix="bench_systems12_") as tmp:
            kw = {"epochs": epochs} if epochs else {}
            det = getattr(cs.ClassifierSystem, system)(profile=profile, checkpoint_dir=Path(tmp), progress=False, **kw)
            print(f"  {system}: {_load()}", flush=True)
            t0 = time.perf_counter()
            runs = run_system(det, clips)
            wall = time.perf_counter() - t0
        row = {"system": system, "train clips": int((clips.split == "train").sum()),
               "test clips": int((clips.split == "test").sum()), "classes": len(det.classes_),
               "epochs": len(det.history_), **{k: round(v, 1) for k, v in det.timings_.items()},
               "score_test_s": round(runs["knn"].seconds["score"], 1), "total_s": round(wall, 1)}
        for b, r in runs.items():
            for m in ("AUC-s", "AUC-t", "pAUC"):
                row[f"{b} {m}"] = round(100 * r.metrics.loc["Total", m], 1)
        rows.append(row)
    return pd.DataFrame(rows).set_index("system")


def bench_lr(profile: str, types=None) -> pd.DataFrame:
    from asdlib.systems import classifier as cs
    from asdlib.systems.embedding import run_system
    from asdlib import data, synth

    clips = data.clip_table(synth.ensure_dataset({"paper": "full"}.get(profile, profile)), types)
    train = clips[clips.split == "train"]
    rows = []
    for lr in (1e-4, cs.ClassifierSystemConfig.for_profile(profile).learning_rate):
        det = cs.ClassifierSystem.system2(profile=profile, learning_rate=lr, progress=False).fit(train)
        last = det.history_.iloc[-1]
        rows.append({"learning_rate": f"{lr:g}", "epochs": len(det.history_),
                     "first margin_loss": det.history_.margin_loss.iloc[0],
                     "last margin_loss": last.margin_loss, "last train_accuracy": last.train_accuracy})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="demo", choices=["ci", "demo", "full", "paper"])
    ap.add_argument("--parts", nargs="+", default=["steps", "fit", "lr"], choices=["steps", "fit", "lr"])
    ap.add_argument("--systems", nargs="+", default=["system1", "system2"], choices=["system1", "system2"])
    ap.add_argument("--types", nargs="+", default=None, help="machine types (default: all)")
    ap.add_argument("--epochs", type=int, default=None, help="override the profile's epochs (fit part)")
    args = ap.parse_args(argv)
    pd.set_option("display.width", 200)
    if "steps" in args.parts:
        print(f"[steps] profile {args.profile}; {_load()}", flush=True)
        print(bench_steps(args.profile).round(3).to_string(index=False), flush=True)
    if "fit" in args.parts:
        print(f"[fit] profile {args.profile}; {_load()}", flush=True)
        print(bench_fit(args.profile, args.systems, args.types, args.epochs).T.to_string(), flush=True)
    if "lr" in args.parts:
        print(f"[lr] profile {args.profile} (System-2 labels); {_load()}", flush=True)
        print(bench_lr(args.profile, args.types).round(3).to_string(index=False), flush=True)
    print(f"done; {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
