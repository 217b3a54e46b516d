"""Training-scale study: AUC against training steps, to ask "would more compute change the ranking?".

Each system is trained once per seed up to the largest epoch count; at every epoch count of
its grid it is evaluated (official metrics on the test clips, Total = harmonic mean over
types). One training serves the whole curve: the training loop's checkpoint is continued
from one grid point to the next (``asdlib.systems.training``: the learning rate is constant and every
epoch draws its own random stream, so "10 epochs, then 10 more" equals "20 epochs").

    .venv/bin/python benchmarks/scale_study.py [--profile demo] [--seeds 0 1] [--systems ae s2 s3] [--additional]

Parts run side by side (one process per system, ``--out`` a file each) are joined into one
result with ``--join PART.csv [PART.csv ...]`` (rows concatenated, commands and grids listed).

``--additional``: Systems 1-3 train on the development and the additional training set (the
report's setting, as the book's chapters do); the autoencoders are per type and do not use it.

Writes ``benchmarks/results/scale_<profile>.csv`` (system, seed, epochs, backend, AUC-s, AUC-t, pAUC, official, seconds) and a JSON beside it with the command, the
git commit and the dataset; chapter pages plot the CSV.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GRIDS = {  # epochs at which each system is evaluated (the book's demo schedule is in the middle)
    "ae": [5, 10, 20, 50, 100],
    "s1": [2, 5, 10, 20, 40],
    "s2": [2, 5, 10, 20, 40],
    "s3": [2, 4, 6, 12, 24],
}
NAMES = {"ae": "AE", "s1": "System-1", "s2": "System-2", "s3": "System-3"}


def _totals(run_metrics: pd.DataFrame) -> dict:
    m = run_metrics.loc["Total"]
    return {k: round(100 * float(m[k]), 2) for k in ("AUC-s", "AUC-t", "pAUC", "official")}


def study(system: str, seed: int, clips: pd.DataFrame, profile: str, work: Path,
          extra_train: pd.DataFrame | None = None, max_epochs: int | None = None) -> list[dict]:
    from asdlib.systems.detect import run_detector
    from asdlib.models import AutoencoderConfig
    from asdlib.systems import baselines
    from asdlib.systems.classifier import ClassifierSystem, ClassifierSystemConfig
    from asdlib.systems.embedding import run_system
    from asdlib.systems.ssl import SSLSystem, SSLSystemConfig

    rows, t_start = [], time.perf_counter()
    train = clips[clips.split == "train"]
    for epochs in [e for e in GRIDS[system] if max_epochs is None or e <= max_epochs]:
        if system == "ae":
            cfg = AutoencoderConfig.for_profile(profile, epochs=epochs, seed=13711 + seed)
            dets = baselines.fit_baselines(train, cfg, work / "ae", progress=False)
            runs = {name: run_detector(det, clips, fit=False) for name, det in dets.items()}
        else:
            if system == "s3":
                det = SSLSystem(SSLSystemConfig.for_profile(profile, epochs=epochs, seed=seed),
                                checkpoint_dir=work / system, progress=False)
            else:
                label = "pseudo" if system == "s1" else "attribute"
                det = ClassifierSystem(ClassifierSystemConfig.for_profile(profile, label_source=label, epochs=epochs,
                                                                          seed=seed),
                                       checkpoint_dir=work / system, progress=False)
            runs = run_system(det, clips, extra_train=extra_train)
        for backend, run in runs.items():
            rows.append({"system": NAMES[system] if system != "ae" else backend, "seed": seed, "epochs": epochs,
                         "training data": "dev" if system == "ae" or extra_train is None else "dev + additional",
                         "backend": backend, **_totals(run.metrics),
                         "seconds": round(time.perf_counter() - t_start, 1)})
        print(rows[-1], flush=True)
    return rows


def join(parts: list[Path], out: Path) -> None:
    """Concatenate the CSVs of parts run side by side into ``out`` (+ JSON naming every command)."""
    import re

    frames, infos = [], []
    for part in parts:
        frames.append(pd.read_csv(part))
        infos.append(json.loads(part.with_suffix(".json").read_text()))
    if len({i["data_fingerprint"] for i in infos}) != 1:
        raise SystemExit(f"--join: the parts were measured on different data: {[i['data'] for i in infos]}")
    pd.concat(frames, ignore_index=True).to_csv(out, index=False)
    info = dict(infos[0], command="; ".join(re.sub(r" --out \S+", "", i["command"]) for i in infos),
                commits=sorted({i["commit"] for i in infos}), csv=out.name,
                additional=next((i["additional"] for i in infos if i.get("additional")), None),
                grids={k: v for i in infos for k, v in i["grids"].items()})
    out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"written {out}: {sum(len(f) for f in frames)} rows from {len(parts)} parts")


def main(argv=None) -> int:
    from asdlib.book import runner as experiment

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--systems", nargs="+", default=list(GRIDS), choices=list(GRIDS))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--max-epochs", type=int, default=None, help="stop each grid at this many epochs")
    ap.add_argument("--join", type=Path, nargs="+", default=None, metavar="PART.csv",
                    help="join parts run side by side into --out (default scale_<profile>.csv) and stop")
    ap.add_argument("--additional", action="store_true",
                    help="Systems 1-3 train on dev + additional (the report's setting)")
    args = ap.parse_args(argv)
    out = args.out or Path(__file__).parent / "results" / f"scale_{args.profile}.csv"
    if args.join:
        join(args.join, out)
        return 0
    chapter = experiment.chapter_data(args.profile)
    extra = chapter.additional if args.additional and len(chapter.additional) else None
    rows = []
    for seed in args.seeds:
        for system in args.systems:
            with tempfile.TemporaryDirectory() as tmp:
                rows += study(system, seed, chapter.clips, args.profile, Path(tmp), extra, args.max_epochs)
            pd.DataFrame(rows).to_csv(out, index=False)  # after every system: a long run is never lost
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    out.with_suffix(".json").write_text(json.dumps({
        "command": " ".join(["benchmarks/scale_study.py", *sys.argv[1:]]), "commit": commit,
        "profile": args.profile, "data": chapter.label, "data_fingerprint": chapter.fingerprint,
        "additional": chapter.additional_key() if extra is not None else None,
        "grids": {s: [e for e in GRIDS[s] if args.max_epochs is None or e <= args.max_epochs] for s in args.systems},
        "csv": out.name}, indent=2) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
