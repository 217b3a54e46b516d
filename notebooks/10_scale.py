# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Appendix: the book at the scale of the real data
#
# The book's chapters run on the small `demo` data: 2 100 clips of 5 s. The real DCASE 2024
# development set has 8 400 clips of 10 s (7 types x 1 200), the additional training set
# 9 x 1 000 more. A reader who points the book at them (chapter *Run it on the real DCASE
# 2024 data*) needs the front end to stream: compute the log-mels of every clip with both
# cores, in bounded memory, keep them on disk and reuse them; and needs to know what each
# system costs there.
#
# **Questions of this page:** how fast is the front end, how do its time and memory grow
# with the number of clips, does storing the log-mels as float16 change any result; how
# fast is our AE baseline against the official code; what does each system cost per epoch,
# per scoring and in memory as the data grow; and do the baselines run end to end on data
# of the real development set's size within 8 GB?
#
# Nothing is computed here: the page reads stored runs of the scripts in `benchmarks/`
# (each one's command, commit and data are printed). `bench_features.py` measures side by
# side, on the same clips: the per-clip front end the chapters use
# (`features.clip_logmels`, torchaudio, one process), the memory-mapped store
# (`logmel_store` of `benchmarks/featurestore.py`, a benchmark's store, not the library's: worker processes write every clip's frames straight
# into one `.npy` file; read back memory-mapped; float32 or float16; a second run reuses it)
# and, when installed, librosa's implementation of the same official features (the one the
# official baseline uses). `bench_ae_official.py`, `bench_systems.py` and
# `full_baselines.py` are introduced with their sections. Every number on this page comes
# from generated (SYNTHETIC) data; the times from this book's 2-core machine.

# %% tags=["parameters"]
profile: str = "ci"  # the book's profile: its stored runs are read when they exist, else the demo ones
benchmark: str = ""  # which stored runs (bench_features_<benchmark>.json, ...); empty: see profile

# %%
import json
import re

import pandas as pd
import plotly.express as px

from asdlib import book, profiles, viz
from asdlib.evaluation import published as report
from asdlib.data.download import ARCHIVES
from asdlib.features.logmel import LogMelConfig
from asdlib.models import AutoencoderConfig
from asdlib.systems.classifier import ClassifierSystemConfig
from asdlib.systems.ssl import SSLSystemConfig
from asdlib.paths import REPO_ROOT

viz.setup_plotly()
pd.set_option("display.width", 200)
RESULTS = REPO_ROOT / "benchmarks" / "results"


def stored(name: str, make: str) -> dict | None:
    """A stored benchmark result (``benchmarks/results/<name>``) with its command, commit and
    data printed; None, and the command that makes it, when there is none."""
    path = RESULTS / name
    if not path.is_file():
        print(f"no stored run {name}; make one with: {make}")
        return None
    result = json.loads(path.read_text())
    command = re.sub(r"(?<![\w.])/[^\s'\"]+", lambda m: book.shown(m.group()), result["command"])  # no machine paths
    print(f"{path.relative_to(REPO_ROOT)}: {command} (commit {str(result['commit'])[:7]}), {result['data']}")
    return result


benchmark = benchmark or (profile if (RESULTS / f"bench_features_{profile}.json").is_file() else "demo")
bench = stored(f"bench_features_{benchmark}.json", f"python benchmarks/bench_features.py --profile {benchmark}")
if bench is not None:
    print(f"{bench['clips']} clips of {bench['clip_seconds']:g} s, {bench['cpu_count']} CPU cores")
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
ae = stored(f"bench_ae_official_{benchmark}.json", "python benchmarks/bench_ae_official.py --official DIR")
if ae is not None:
    ae_rows = []
    for r in ae["rows"]:
        for score in ("MSE", "MAHALA"):
            ae_rows.append({"machine type": r["machine_type"], "score": f"AE-{score}",
                            **{f"official code {k}": v for k, v in r["official_metrics"][score].items()},
                            **{f"ours {k}": v for k, v in r["ours_metrics"][score].items()}})
    timing = pd.DataFrame([{k: r[k] for k in ("machine_type", "train_clips", "vectors", "epochs", "official_threads",
                                              "official_train_s", "ours_threads", "ours_train_s",
                                              "speedup_train_per_type")} for r in ae["rows"]])
    display(timing.set_index("machine_type"))  # noqa: F821 (IPython)
    display(pd.Series(ae["all_types"], name="all types, whole machine").to_frame())  # noqa: F821 (IPython)
    display(pd.DataFrame(ae_rows).set_index(["machine type", "score"]))  # noqa: F821 (IPython)

# %% [markdown]
# ## Every system's cost, and how it grows with the number of clips
#
# `benchmarks/bench_systems.py` measures each system on one machine type, each case in a
# process of its own with an empty feature cache: at the `demo` size (the book's data), and
# at the `full` size (10-s clips) with 250, 500 and 1 000 training clips, the largest being
# one type of the real development set. It runs two epochs of each network with the
# profile's network and input sizes and times the last one; `fit` is everything `fit(train)`
# does with the log-mels already computed (labels, two epochs, backends, thresholds), `score`
# the type's test clips; peak memory is the whole process tree's.

# %%
systems_bench = stored("bench_systems.json", "python benchmarks/bench_systems.py")
if systems_bench is not None:
    cost = pd.DataFrame(systems_bench["rows"])
    cost["size"] = cost.profile + ", " + cost.train_clips.astype(str) + " x " + cost.clip_seconds.map("{:g} s".format)
    display(cost.set_index(["system", "size"])[["epochs", "features_s", "epoch_s", "fit_s", "score_s",  # noqa: F821
                                                "wall_s", "peak_rss_mb"]])
    growth = cost[cost.profile == "full"]
    for y, title in (("epoch_s", "Seconds per training epoch (the kNN: its whole fit)"),
                     ("peak_rss_mb", "Peak resident memory of the process tree, MB")):
        shown = growth.assign(epoch_s=growth.epoch_s.fillna(growth.fit_s))
        fig = px.line(shown, x="train_clips", y=y, color="system", markers=True, height=380, log_y=y == "epoch_s",
                      title=f"{title}: full size (10-s clips), one machine type (SYNTHETIC)")
        fig.update_xaxes(title="training clips")
        fig.show()

# %% [markdown]
# ## The baselines end to end on data of the real development set's size
#
# `benchmarks/full_baselines.py` runs chapter 02 as a reader would, on the `full` generated
# data (7 types x 1 200 clips of 10 s, the real development set's counts): every clip's
# log-mels, one autoencoder per type on every training vector, both scores, the chapter's
# tables and figures. Training is shortened to the epochs printed (time grows linearly with
# epochs, memory does not), two machine types at a time.

# %%
full_run = stored("full_baselines.json", "python benchmarks/full_baselines.py")
if full_run is not None:
    print(f"the chapter ran as: {full_run['chapter_command']}")
    display(pd.DataFrame(full_run["per_type"]).set_index("machine_type")  # noqa: F821 (IPython)
            [["epochs", "vectors", "trained_on", "features_s", "train_s", "AE-MSE score_s", "AE-MAHALA score_s"]])
    full_scores = pd.DataFrame(full_run["metrics"])
    display(full_scores.pivot(index="machine_type", columns="system",  # noqa: F821 (IPython)
                              values=["AUC-s", "AUC-t", "pAUC"]).round(1))

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
        f"these rates).",
        f"float16 rounds the log-mels by at most {half['max_abs_diff_db']:.3f} dB and moves the reference "
        f"detectors' official scores by {scores['difference'].abs().max():.3f} points.",
    ]
    peaks = built[built.method.str.startswith("store float16 (")].set_index("clips").peak_rss_mb
    lines.append("Peak memory of the float16 store by clip count: "
                 + ", ".join(f"{n} clips {mb:.0f} MB" for n, mb in peaks.items())
                 + " (bounded by the chunk a worker holds, not by the number of clips).")
    # measured on data of the real development set's size (the `full` generated set), when stored
    full_path_f = RESULTS / "bench_features_full.json"
    if full_path_f.is_file() and benchmark != "full":
        fb = json.loads(full_path_f.read_text())
        fr = pd.DataFrame(fb["rows"])
        fr = fr[fr.clips == fr.clips.max()].set_index("method")
        f16 = fr.loc[[m for m in fr.index if m.startswith("store float16 (")][0]]
        f1 = fr.loc[[m for m in fr.index if m.startswith("per-clip")][0]]
        lines.append(f"Measured on {fb['data']} ({int(f16.clips):,} clips of {fb['clip_seconds']:g} s, "
                     f"`{full_path_f.name}`): the float16 store takes {f16.seconds:.0f} s ({f16.clips_per_s:.0f} clips/s, "
                     f"the goal is 15 s), peak {f16.peak_rss_mb:.0f} MB for the process tree (the goal: under 2 GB), "
                     f"{f16.store_mb:.0f} MB on disk; the per-clip front end on one core {f1.seconds:.0f} s.")
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
                         f"{r['epochs']} epochs): the official code trains in {r['official_train_s']:.0f} s on "
                         f"{r['official_threads']} threads, ours in {r['ours_train_s']:.0f} s on {r['ours_threads']} "
                         f"({r['speedup_train_per_type']:.1f}x); the AUCs differ by at most {max(gaps):.1f} points "
                         f"(two trainings from different random streams).")
        a = ae["all_types"]
        lines.append(f"All {a['types']} types on the whole machine: the official code trains them in "
                     f"{a['official_train_s']:.0f} s, ours ({a['ours_workers']} types at once) in "
                     f"{a['ours_train_wall_s']:.0f} s: {a['speedup_train']:.1f}x; with scoring "
                     f"{a['official_total_s']:.0f} s against {a['ours_total_s']:.0f} s ({a['speedup_total']:.1f}x).")
    if systems_bench is not None:
        n_types = len(ARCHIVES["dev"]["files"])
        full_epochs = {"AE": AutoencoderConfig.for_profile("full").epochs,
                       "System-1": ClassifierSystemConfig.for_profile("full").epochs,
                       "System-2": ClassifierSystemConfig.for_profile("full").epochs,
                       "System-3": SSLSystemConfig.for_profile("full").epochs}
        full_cost = cost[cost.profile == "full"].sort_values("train_clips")
        small, large = full_cost.train_clips.min(), full_cost.train_clips.max()
        for system, g in full_cost.groupby("system", sort=False):
            a, b = g.iloc[0], g.iloc[-1]
            t_a, t_b = (a.epoch_s, b.epoch_s) if pd.notna(b.epoch_s) else (a.fit_s, b.fit_s)
            what = "an epoch" if pd.notna(b.epoch_s) else "its fit"
            lines.append(f"{system} at full size: {what} takes {t_a:.1f} s with {small} training clips and "
                         f"{t_b:.1f} s with {large} ({t_b / t_a:.1f}x for {large / small:.0f}x the clips); peak memory "
                         f"{a.peak_rss_mb:.0f} MB -> {b.peak_rss_mb:.0f} MB; scoring {b.test_clips} test clips {b.score_s:.1f} s.")
            if system in full_epochs and pd.notna(b.epoch_s):
                # an epoch visits every training clip once: 7 types of 1 000 clips cost 7 times one type's epoch
                hours = n_types * b.epoch_s * full_epochs[system] / 3600
                lines.append(f"  At that rate the `full` profile's {full_epochs[system]} epochs over the "
                             f"{n_types} development types would take about {hours:.1f} h on this CPU.")
    if full_run is not None:
        lines.append(f"The baselines end to end on the full data ({full_run['clips']:,} clips, "
                     f"{full_run['audio_hours']:.1f} h of audio, {full_run['epochs']} epochs, {full_run['workers']} types "
                     f"at once): {full_run['wall_s'] / 60:.1f} min, peak memory {full_run['peak_rss_mb'] / 1024:.1f} GB "
                     f"(the goal: under 8 GB). Training took {full_run['train_s_sum'] / 60:.1f} min of one core "
                     f"summed over the types; the official {full_run['official_epochs']} epochs would take about "
                     f"{full_run['train_s_at_100_epochs_estimate'] / 3600:.1f} h of one core at the same rate.")
        total = full_scores[full_scores.machine_type == "Total"].set_index("system").official
        lines.append("Their official scores there (SYNTHETIC full data, " + f"{full_run['epochs']} epochs): "
                     + ", ".join(f"{k} {v:.1f}" for k, v in total.items())
                     + "; the published ones on the real development set are "
                     + ", ".join(f"{k} {v:.1f}" for k, v in report.published_official(list(total.index)).items()) + ".")
    print("\n".join(lines))
