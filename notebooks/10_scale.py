# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Appendix: features at the scale of the real data
#
# The book's chapters run on the small `demo` data: 2 100 clips of 5 s. The real DCASE 2024
# development set has 8 400 clips of 10 s (7 types x 1 200), the additional training set
# 9 x 1 000 more. A reader who points the book at them (chapter *Run it on the real DCASE
# 2024 data*) needs the front end to stream: compute the log-mels of every clip with both
# cores, in bounded memory, keep them on disk and reuse them.
#
# **Question of this page:** how fast is the front end, how does its time and memory grow
# with the number of clips, and does storing the log-mels as float16 change any result?
#
# Nothing is computed here: the page reads the stored run of
# `benchmarks/bench_features.py` (its command, commit and data are printed), which measures
# side by side, on the same clips: the per-clip front end the chapters use
# (`features.clip_logmels`, torchaudio, one process), the memory-mapped store
# (`asdlib.featurestore.logmel_store`: worker processes write every clip's frames straight
# into one `.npy` file; read back memory-mapped; float32 or float16; a second run reuses it)
# and, when installed, librosa's implementation of the same official features (the one the
# official baseline uses).

# %% tags=["parameters"]
profile: str = "ci"  # the book's profile: its stored runs are read when they exist, else the demo ones
benchmark: str = ""  # which stored runs (bench_features_<benchmark>.json, ...); empty: see profile

# %%
import json

import pandas as pd
import plotly.express as px

from asdlib import profiles, viz
from asdlib.download import ARCHIVES
from asdlib.features import LogMelConfig
from asdlib.paths import REPO_ROOT

viz.setup_plotly()
pd.set_option("display.width", 200)
RESULTS = REPO_ROOT / "benchmarks" / "results"
benchmark = benchmark or (profile if (RESULTS / f"bench_features_{profile}.json").is_file() else "demo")
path = RESULTS / f"bench_features_{benchmark}.json"
bench = json.loads(path.read_text()) if path.is_file() else None
if bench is None:
    print(f"no stored run {path.name}; make one with: python benchmarks/bench_features.py --profile {benchmark}")
else:
    print(f"{path.relative_to(REPO_ROOT)}: {bench['command']} (commit {str(bench['commit'])[:7]}), "
          f"{bench['data']}: {bench['clips']} clips of {bench['clip_seconds']:g} s, {bench['cpu_count']} CPU cores")
    rows = pd.DataFrame(bench["rows"])

# %% [markdown]
# ## Throughput and memory, as the number of clips grows
#
# Each row is one measurement from scratch (an empty cache folder) except `reuse`, which
# opens the store the row above built. Peak memory is the resident memory of the benchmark
# process and all its worker processes together, sampled every 20 ms.

# %%
if bench is not None:
    display(rows.set_index(["method", "clips"]))  # noqa: F821 (IPython)

# %%
if bench is not None:
    built = rows[~rows.method.str.contains("reuse")]
    fig = px.line(built, x="clips", y="clips_per_s", color="method", markers=True, height=380,
                  title=f"Log-mel throughput ({bench['data']}, {bench['clip_seconds']:g}-s clips)")
    fig.update_yaxes(title="clips per second", rangemode="tozero")
    fig.show()
    fig = px.line(built, x="clips", y="peak_rss_mb", color="method", markers=True, height=380,
                  title="Peak resident memory of the process tree")
    fig.update_yaxes(title="MB", rangemode="tozero")
    fig.show()

# %% [markdown]
# ## float16
#
# A log-mel in dB lies between about −100 and +40; float16 keeps 11 significant bits, so it
# rounds such values by at most a few hundredths of a dB. The stored run gives the largest
# rounding over every clip, and the official score of the two clip-mean reference detectors
# of chapter 00 computed from the float32 and from the float16 store.

# %%
if bench is not None:
    half = bench["float16"]
    scores = pd.DataFrame({"float32": half["reference_official_float32"],
                           "float16": half["reference_official_float16"]})
    scores["difference"] = scores["float16"] - scores["float32"]
    print(f"largest |float16 - float32| over all clips: {half['max_abs_diff_db']:.4f} dB")
    display(scores.rename_axis(f"official score, % ({bench['data']})"))  # noqa: F821 (IPython)

# %% [markdown]
# ## The AE baseline: ours against the official code
#
# The same clips, the official settings (100 epochs, batch 256, every training vector),
# the same number of torch threads: the official DCASE 2024 baseline code run from its own
# checkout (`benchmarks/bench_ae_official.py`; its scores evaluated with the book's official
# metrics) against `asdlib.systems.baselines`. Training time is the network's training; the
# official figure includes its start-up and the covariance pass AE-MAHALA needs, "total"
# adds the scoring of the test clips (two official test runs against our one run of both).

# %%
ae_path = RESULTS / f"bench_ae_official_{benchmark}.json"
ae = json.loads(ae_path.read_text()) if ae_path.is_file() else None
if ae is None:
    print(f"no stored run {ae_path.name}; make one with benchmarks/bench_ae_official.py --official DIR")
else:
    print(f"{ae_path.relative_to(REPO_ROOT)}: {ae['command']} (commit {str(ae['commit'])[:7]}), {ae['data']}")
    ae_rows = []
    for r in ae["rows"]:
        for score in ("MSE", "MAHALA"):
            ae_rows.append({"machine type": r["machine_type"], "score": f"AE-{score}",
                            **{f"official code {k}": v for k, v in r["official_metrics"][score].items()},
                            **{f"ours {k}": v for k, v in r["ours_metrics"][score].items()}})
    timing = pd.DataFrame([{k: r[k] for k in ("machine_type", "train_clips", "vectors", "epochs", "threads",
                                              "official_train_s", "ours_train_s", "speedup_train",
                                              "ours_total_s", "speedup_total")} for r in ae["rows"]])
    display(timing.set_index("machine_type"))  # noqa: F821 (IPython)
    display(pd.DataFrame(ae_rows).set_index(["machine type", "score"]))  # noqa: F821 (IPython)

# %% [markdown]
# ## What this page found

# %%
if bench is not None:
    largest = rows.clips.max()
    at = rows[rows.clips == largest].set_index("method")
    per_clip = at.loc[[m for m in at.index if m.startswith("per-clip")][0]]
    store16 = at.loc[[m for m in at.index if m.startswith("store float16 (")][0]]
    reuse16 = at.loc[[m for m in at.index if m.startswith("store float16, reuse")][0]]
    # the store's steady rate: the marginal rate between the two largest sizes; the rest of its time is start-up
    s16 = built[built.method.str.startswith("store float16 (")].sort_values("clips").tail(2)
    marginal = (s16.clips.iloc[1] - s16.clips.iloc[0]) / (s16.seconds.iloc[1] - s16.seconds.iloc[0])
    startup = store16.seconds - largest / marginal
    audio_rate = marginal * bench["clip_seconds"]  # seconds of audio per second, once started
    # the real development set's size: the `full` profile holds the DCASE counts (4 test cells per type)
    full = profiles.sizes("full", "data")
    logmel = LogMelConfig()
    n_full = len(ARCHIVES["dev"]["files"]) * (full["n_train_source"] + full["n_train_target"] + 4 * full["n_test"])
    full_dev_s = startup + n_full * full["clip_seconds"] / audio_rate
    frames = 1 + int(full["clip_seconds"] * logmel.sample_rate) // logmel.hop_length
    full_dev_mb = n_full * frames * logmel.n_mels * 2 / 2**20  # float16: 2 bytes a value
    lines = [
        f"At {largest} clips the per-clip front end (one core) computes {per_clip.clips_per_s:.0f} clips/s; the "
        f"float16 store with its worker processes {store16.clips_per_s:.0f} clips/s "
        f"({store16.clips_per_s / per_clip.clips_per_s:.1f}x), with a peak of {store16.peak_rss_mb:.0f} MB for the "
        f"whole process tree, and opening it again takes {reuse16.seconds:.2f} s.",
        f"Once started, the store computes {marginal:.0f} clips/s ({audio_rate:.0f} s of audio per second; start-up "
        f"{startup:.1f} s: Python, the clip list and the workers' imports). The real development set ({n_full:,} clips x "
        f"{full['clip_seconds']:.0f} s) would take about {full_dev_s:.0f} s and {full_dev_mb:.0f} MB of float16 on disk (an estimate from "
        f"these rates, not a measurement on the real set).",
        f"float16 rounds the log-mels by at most {half['max_abs_diff_db']:.3f} dB and moves the reference "
        f"detectors' official scores by {scores['difference'].abs().max():.3f} points.",
    ]
    peaks = built[built.method.str.startswith("store float16 (")].set_index("clips").peak_rss_mb
    lines.append("Peak memory of the float16 store by clip count: "
                 + ", ".join(f"{n} clips {mb:.0f} MB" for n, mb in peaks.items())
                 + " (bounded by the chunk a worker holds, not by the number of clips).")
    lib = bench.get("librosa", {})
    if lib.get("version"):
        lr = at.loc[[m for m in at.index if m.startswith("librosa")][0]]
        lines.append(f"librosa {lib['version']} (one core, after a first call of {lib['first_call_s']:.1f} s): "
                     f"{lr.clips_per_s:.0f} clips/s, largest difference to ours {lr.max_abs_diff_db:.1e} dB.")
    else:
        lines.append("librosa was not installed for this run; its row is missing.")
    if ae is not None:
        for r in ae["rows"]:
            gaps = [abs(r["official_metrics"][sc][k] - r["ours_metrics"][sc][k])
                    for sc in ("MSE", "MAHALA") for k in ("AUC-s", "AUC-t", "pAUC")]
            lines.append(f"AE baseline on {r['machine_type']} ({r['train_clips']} train clips, {r['vectors']} vectors, "
                         f"{r['epochs']} epochs, {r['threads']} threads): the official code trains in "
                         f"{r['official_train_s']:.0f} s, ours in {r['ours_train_s']:.0f} s ({r['speedup_train']:.1f}x; "
                         f"with scoring {r['speedup_total']:.1f}x); the AUCs differ by at most {max(gaps):.1f} points "
                         f"(two trainings from different random streams).")
    print("\n".join(lines))
