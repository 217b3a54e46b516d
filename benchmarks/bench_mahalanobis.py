"""AE-MAHALA with the official covariance vs the pooled ``np.cov``: how much do the scores move?

One autoencoder per machine type is trained once (``AEMSE``) at a profile's
``AutoencoderConfig`` on the generated dataset of that profile; ``AEMahala`` is then fitted
twice on it (``autoencoders=mse``, nothing retrained), with ``covariance="official"`` (the
official code's per-mini-batch-centred covariance, the default) and ``covariance="pooled"``
(``np.cov`` of all training residual frames). Per machine type it reports the Spearman rank
correlation between the two variants' test scores, how often the ``min`` over source/target
picks the target matrix, the trace ratio ``tr(S_official) / tr(S_pooled)`` per domain (about
5 = frames per vector when the per-batch centring removes nothing), and both variants' AUC-s /
AUC-t / pAUC; **Total** is the harmonic mean over types for the AUCs, the mean over types for
the rest. ``--second-seed N`` also trains a second autoencoder with seed N and reports the
seed-to-seed rank correlation of AE-MSE and of AE-MAHALA (official covariance): the noise
floor of any "same method, trained twice" comparison. Prints a markdown table and writes a
JSON::

    .venv/bin/python benchmarks/bench_mahalanobis.py                  # demo profile, all types
    .venv/bin/python benchmarks/bench_mahalanobis.py --second-seed 1  # + seed-to-seed correlations
    .venv/bin/python benchmarks/bench_mahalanobis.py --profile ci --types synFan
    .venv/bin/python benchmarks/bench_mahalanobis.py --json /tmp/m.json --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

VARIANTS = ("official", "pooled")


def _git_head() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE.parent, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=HERE.parent,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _target_share(det, test: pd.DataFrame) -> dict[str, float]:
    """Per type: fraction of test clips whose ``min`` is the target quadratic form."""
    from asdlib.systems import ae_residuals

    out = {}
    for mtype, sub in test.groupby("machine_type"):
        vectors, offsets = ae_residuals.clip_vectors(sub.path.tolist(), det.config)
        resid = ae_residuals.reconstruction_residuals(det.models_[mtype], vectors)
        rbar = ae_residuals.mean_residual_frames(resid, offsets, det.config.n_mels)
        p = det.precisions_[mtype]
        out[mtype] = float(np.mean(ae_residuals.quadratic_form(rbar, p["target"])
                                   < ae_residuals.quadratic_form(rbar, p["source"])))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="demo", choices=["ci", "demo", "full", "paper"])
    ap.add_argument("--types", nargs="+", default=None, help="machine types (default: all)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--second-seed", type=int, default=None,
                    help="also train with this seed and report seed-to-seed rank correlations")
    ap.add_argument("--json", default=str(HERE / "results" / "mahalanobis.json"), help="where to write the JSON")
    args = ap.parse_args(argv)

    import torch
    from scipy.stats import spearmanr

    from asdlib.systems import detect
    from asdlib.book import runner as experiment
    from asdlib.models import AutoencoderConfig
    from asdlib.systems import baselines

    torch.set_num_threads(args.threads)
    chapter = experiment.chapter_data(args.profile, machine_types=args.types)
    clips = chapter.clips
    train = clips[clips.split == "train"].reset_index(drop=True)
    test = clips[clips.split == "test"].reset_index(drop=True)
    config = AutoencoderConfig.for_profile(args.profile)
    print(config.describe())
    print(f"data {chapter.root} ({chapter.label}); {len(train)} train / {len(test)} test clips; "
          f"torch threads {args.threads}; load average before {os.getloadavg()[0]:.1f}")

    t0 = time.perf_counter()
    mse = baselines.AEMSE(config, None, progress=False, num_threads=args.threads).fit(train)
    t_train = time.perf_counter() - t0
    runs, shares, seconds, dets = {}, {}, {}, {}
    for variant in VARIANTS:
        t0 = time.perf_counter()
        det = baselines.AEMahala(dataclasses.replace(config, covariance=variant), None, progress=False,
                                 autoencoders=mse, num_threads=args.threads).fit(train)
        runs[variant] = detect.run_detector(det, clips, None, fit=False)
        shares[variant] = _target_share(det, test)
        seconds[variant] = time.perf_counter() - t0
        dets[variant] = det
    seed_rho = {}
    if args.second_seed is not None:  # the same method trained twice: how far apart are the rankings?
        cfg2 = dataclasses.replace(config, seed=args.second_seed)
        t0 = time.perf_counter()
        mse2 = baselines.AEMSE(cfg2, None, progress=False, num_threads=args.threads).fit(train)
        mah2 = baselines.AEMahala(cfg2, None, progress=False, autoencoders=mse2, num_threads=args.threads).fit(train)
        seconds["second_seed"] = time.perf_counter() - t0
        for name, d1, d2 in (("AE-MSE", mse, mse2), ("AE-MAHALA", dets["official"], mah2)):
            s1, s2 = d1.score(test), d2.score(test)
            seed_rho[name] = {t: float(spearmanr(s1[m], s2[m]).statistic)
                              for t in sorted(test.machine_type.unique())
                              for m in [(test.machine_type == t).to_numpy()]}

    a, b = (runs[v].scores for v in VARIANTS)  # the same test clips in the same order
    assert a[["machine_type", "file_name"]].equals(b[["machine_type", "file_name"]])
    rows = []
    types = sorted(test.machine_type.unique())
    for mtype in types + ["Total"]:
        row = {"machine_type": mtype}
        if mtype == "Total":  # scores of different types are on different scales: mean of the per-type values
            row["spearman"] = float(np.mean([r["spearman"] for r in rows]))
        else:
            m = (a.machine_type == mtype).to_numpy()
            row["spearman"] = float(spearmanr(a.score[m], b.score[m]).statistic)
        for v in VARIANTS:
            met = runs[v].metrics.loc[mtype]
            row.update({f"{v} AUC-s": float(met["AUC-s"]), f"{v} AUC-t": float(met["AUC-t"]),
                        f"{v} pAUC": float(met["pAUC"])})
            row[f"{v} min=target"] = (float(np.mean([shares[v][t] for t in types])) if mtype == "Total"
                                      else shares[v][mtype])
        for dom in ("source", "target"):
            row[f"S ratio {dom}"] = (float(np.mean([r[f"S ratio {dom}"] for r in rows])) if mtype == "Total" else
                                     float(np.trace(dets["official"].covariances_[mtype][dom])
                                           / np.trace(dets["pooled"].covariances_[mtype][dom])))
        for name, per_type in seed_rho.items():
            row[f"seed-to-seed {name}"] = (float(np.mean(list(per_type.values()))) if mtype == "Total"
                                           else per_type[mtype])
        rows.append(row)
    table = pd.DataFrame(rows)

    cols = ["machine_type", "spearman"] + [f"{v} {k}" for v in VARIANTS for k in ("AUC-s", "AUC-t", "pAUC")] + \
        [f"{v} min=target" for v in VARIANTS] + ["S ratio source", "S ratio target"] + \
        [f"seed-to-seed {name}" for name in seed_rho]
    print()
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        cells = [f"**{r['machine_type']}**" if r["machine_type"] == "Total" else r["machine_type"]]
        cells += [f"{r[c]:.3f}" for c in cols[1:]]
        print("| " + " | ".join(cells) + " |")
    print("\nspearman: rank correlation of the two variants' test scores of a type (Total row: mean over types); "
          "AUCs as fractions, Total = harmonic mean over types; min=target: share of test clips scored "
          "with the target matrix; S ratio: tr(S_official) / tr(S_pooled); seed-to-seed: rank correlation "
          f"of one system's test scores, seed {config.seed} vs seed {args.second_seed} (Total row: mean over types)")
    print(f"training {t_train:.0f} s; AE-MAHALA fit + score: "
          + ", ".join(f"{v} {s:.1f} s" for v, s in seconds.items()))

    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    command = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_mahalanobis.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    out.write_text(json.dumps({
        "command": command.strip(),
        "git_head": _git_head(),
        "profile": args.profile,
        "data": {"root": str(chapter.root), "label": chapter.label, "fingerprint": chapter.fingerprint,
                 "train_clips": len(train), "test_clips": len(test)},
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "logmel"},
        "threads": args.threads,
        "seconds": {"train": t_train, **{f"mahala_{v}": s for v, s in seconds.items()}},
        "rows": rows,
    }, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
