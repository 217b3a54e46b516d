"""Feature extraction at scale: throughput, memory, growth with clip count, float16, librosa.

Measured side by side in one run, on the train and test clips of a DCASE-layout root
(default: the generated dataset of ``--profile``), for growing numbers of clips:

- ``per-clip``: ``features.clip_logmels`` without its cache (the front end the chapters use:
  torchaudio, one process, clips batched);
- ``store float32`` / ``store float16``: ``python benchmarks/featurestore.py`` (memory-mapped,
  streamed, ``--workers`` processes) run as its own command, so its time includes starting
  Python and the workers and its memory is the store's alone; built from scratch in an
  empty cache folder, then run again (``reuse``: the second run finds the store);
- ``librosa``: the official baseline's implementation of the same features
  (``librosa.feature.melspectrogram`` + ``10 log10(max(mel, eps))``) when librosa is
  installed (``.venv/bin/pip install librosa``; not a dependency of the book), its first
  call (JIT compilation) timed apart; the largest absolute difference to ours in dB.

Each measurement reports clips/s and the peak resident memory of the process tree (the
benchmark process and its workers, sampled every 20 ms). Then float16 against float32:
the largest difference in dB, and the official score of the two clip-mean reference
detectors (``asdlib.systems.reference``) computed from either store.

    python benchmarks/bench_features.py --profile demo --sizes 500 1000 2100 --workers 2

Writes ``benchmarks/results/bench_features_<profile>.json``; the book's appendix page on
scale (``book/scale.md``) quotes it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from asdlib import data, features, synth
from asdlib.systems.detect import run_detector
from asdlib.runtime import git_commit
from asdlib.systems import reference
from featurestore import logmel_store  # benchmarks/featurestore.py (this script's folder is on sys.path)
from measure import PeakMemory  # benchmarks/measure.py


def measure(name, n, fn, children_only=False):
    with PeakMemory(children_only) as mem:
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
    row = {"method": name, "clips": n, "seconds": round(dt, 2), "clips_per_s": round(n / dt, 1),
           "peak_rss_mb": round(mem.peak)}
    print(row, flush=True)
    return row, out


def librosa_logmels(paths, config):
    import librosa

    out = []
    for p in paths:
        y = data.load_audio(p, sr=config.sample_rate)
        mel = librosa.feature.melspectrogram(y=y, sr=config.sample_rate, n_fft=config.n_fft,
                                             hop_length=config.hop_length, n_mels=config.n_mels, power=config.power)
        out.append(10.0 * np.log10(np.maximum(mel, features.EPS)))
    return out


def reference_scores(clips, means_by_path):
    """Official scores of the two clip-mean reference detectors on the given clip means."""
    original = reference.clip_mean_features
    reference.clip_mean_features = lambda c, config=None: np.stack([means_by_path[p] for p in c.path])
    try:
        return {name: round(100 * run_detector(det, clips).metrics.loc["Total", "official"], 3)
                for name, det in [("clip-mean 1-NN", reference.ClipMeanNearestNeighbour()),
                                  ("clip-mean Mahalanobis", reference.ClipMeanMahalanobis())]}
    finally:
        reference.clip_mean_features = original


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--root", type=Path, default=None, help="DCASE-layout root (default: the generated data)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2100])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)  # the in-process rows on one core, like each worker of the store
    threadpool_limits(1)
    root = args.root or synth.ensure_dataset(args.profile)
    clips = data.clip_table(root)
    config = features.LogMelConfig()
    order = np.random.default_rng(0).permutation(len(clips))  # every size mixes all types
    rows, librosa_info = [], {}
    try:
        import librosa

        warm = time.perf_counter()
        librosa_logmels(clips.path.iloc[:1], config)
        librosa_info = {"version": librosa.__version__, "first_call_s": round(time.perf_counter() - warm, 2)}
    except ImportError:
        librosa_info = {"version": None, "note": "librosa not installed: pip install librosa"}
    for n in sorted(set(min(s, len(clips)) for s in args.sizes)):
        paths = clips.path.iloc[order[:n]].tolist()
        row, ours = measure("per-clip (torchaudio, 1 core, in the benchmark process)", n,
                            lambda: features.clip_logmels(paths, config, cache=False))
        rows.append(row)
        for dtype in ("float32", "float16"):
            with tempfile.TemporaryDirectory() as tmp:
                # the command a user runs, in its own process: time and memory are the store's alone
                listing = Path(tmp) / "paths.txt"
                listing.write_text("\n".join(paths))
                cmd = [sys.executable, str(Path(__file__).parent / "featurestore.py"), "--paths-from", str(listing), "--dtype", dtype,
                       "--workers", str(args.workers), "--cache-dir", str(Path(tmp) / "cache")]
                row, _ = measure(f"store {dtype} ({args.workers} processes, command line)", n,
                                 lambda: subprocess.run(cmd, check=True, capture_output=True), children_only=True)
                store = logmel_store(paths, config, dtype, cache_dir=Path(tmp) / "cache")
                row["store_mb"] = round(store.nbytes / 2**20)
                rows.append(row)
                row, _ = measure(f"store {dtype}, reuse (command line)", n,
                                 lambda: subprocess.run(cmd, check=True, capture_output=True), children_only=True)
                rows.append(row)
        if librosa_info.get("version"):
            row, theirs = measure(f"librosa {librosa_info['version']} (1 core, in the benchmark process)", n,
                                  lambda: librosa_logmels(paths, config))
            row["max_abs_diff_db"] = float(max(np.abs(a - b).max() for a, b in zip(ours, theirs)))
            rows.append(row)
        del ours

    # float16 against float32 on every clip: the largest rounding, and the reference detectors' scores
    with tempfile.TemporaryDirectory() as tmp:
        s32 = logmel_store(clips.path, config, "float32", cache_dir=tmp, workers=args.workers)
        s16 = logmel_store(clips.path, config, "float16", cache_dir=tmp, workers=args.workers)
        worst = max(float(np.abs(s32[i] - s16[i]).max()) for i in range(len(clips)))
        half = {"max_abs_diff_db": round(worst, 4),
                "reference_official_float32": reference_scores(clips, dict(zip(clips.path, s32.clip_means()))),
                "reference_official_float16": reference_scores(clips, dict(zip(clips.path, s16.clip_means())))}
    print(half)
    manifest = synth.read_manifest(root) or {}
    first, first_sr, _ = data.read_mono(clips.path.iloc[0])
    result = {"command": " ".join(["benchmarks/bench_features.py", *sys.argv[1:]]), "commit": git_commit(),
              "root": str(root), "data": f"SYNTHETIC {manifest.get('profile')} data" if manifest else str(root),
              "clips": len(clips), "clip_seconds": first.size / first_sr,
              "cpu_count": psutil.cpu_count(), "librosa": librosa_info, "rows": rows, "float16": half}
    out = args.out or Path(__file__).parent / "results" / f"bench_features_{args.profile}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
