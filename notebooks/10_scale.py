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
# per scoring and in memory as the data grow; and how long and how much memory do the
# baselines need end to end on data of the real development set's size?
#
# Nothing is computed here: the page reads stored runs of the scripts in `benchmarks/`
# (each one's command and data are listed at the end of the page). `bench_features.py` measures side by
# side, on the same clips: the per-clip front end the chapters use
# (`features.clip_logmels`, torchaudio, one process), the memory-mapped store
# (`logmel_store` of `benchmarks/featurestore.py`, a benchmark's store, not the library's: worker processes write every clip's frames straight
# into one `.npy` file; read back memory-mapped; float32 or float16; a second run reuses it)
# and, when installed, librosa's implementation of the same official features (the one the
# official baseline uses). `bench_ae_official.py`, `bench_systems.py` and
# `full_baselines.py` are introduced with their sections. Every number on this page comes
# from generated (SYNTHETIC) data; the times from this book's 2-core machine.

# %% [markdown]
# ## What we found
#
# All numbers on this page are from stored benchmark runs on SYNTHETIC data, timed on this
# book's 2-core machine. At {glue:text}`largest` clips, counting its start-up, the float16
# log-mel store with its worker processes computes {glue:text}`store16_rate:.0f` clips/s, so
# it is {glue:text}`store_verdict` the per-clip front end on one core
# ({glue:text}`per_clip_rate:.0f` clips/s; ratio {glue:text}`store_speedup:.2f`), with a peak
# of {glue:text}`store16_peak_mb:.0f` MB for the whole process tree; float16 rounds the log-mels
# by at most {glue:text}`f16_max_db:.3f` dB and moves the reference detectors' official scores
# by at most {glue:text}`f16_max_score_diff:.3f` points. Our AE baseline trains the
# {glue:text}`ae_types` measured machine types {glue:text}`ae_speedup_train:.1f`x faster than
# the official code on the same machine, with AUCs within {glue:text}`ae_max_gap:.1f` points
# of it. End to end on the `full` generated data ({glue:text}`full_clips` clips,
# {glue:text}`full_hours:.1f` h of audio, {glue:text}`full_epochs` epochs) the two baselines
# take {glue:text}`full_wall_min:.1f` min with a peak memory of {glue:text}`full_peak_gb:.1f` GB.

# %% tags=["parameters"]
profile: str = "ci"  # the book's profile: its stored runs are read when they exist, else the demo ones
benchmark: str = ""  # which stored runs (bench_features_<benchmark>.json, ...); empty: see profile

# %% tags=["hide-input"]
import json
import re

import pandas as pd
import plotly.express as px
from IPython.display import Markdown, display
from myst_nb import glue

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


sources = []  # (stored run, command, data): listed at the end of the page


def stored(name: str, make: str) -> dict | None:
    """A stored benchmark result (``benchmarks/results/<name>``), its command and data noted in
    ``sources``; None (and the command that makes it noted) when there is none."""
    path = RESULTS / name
    if not path.is_file():
        sources.append((name, make, "not stored: make it with this command"))
        return None
    result = json.loads(path.read_text())
    command = re.sub(r"(?<![\w.])/[^\s'\"]+", lambda m: book.shown(m.group()), result["command"])  # no machine paths
    data = re.sub(r"(?<![\w.])/[^\s'\",]+", lambda m: book.shown(m.group()), result["data"])
    sources.append((str(path.relative_to(REPO_ROOT)), command, data))
    return result


benchmark = benchmark or (profile if (RESULTS / f"bench_features_{profile}.json").is_file() else "demo")
bench = stored(f"bench_features_{benchmark}.json", f"python benchmarks/bench_features.py --profile {benchmark}")
if bench is not None:
    rows = pd.DataFrame(bench["rows"])

# %% [markdown]
# ## Throughput and memory, as the number of clips grows
#
# Each row is one measurement from scratch (an empty cache folder) except `reuse`, which
# opens the store the row above built. Peak memory is the resident memory of the benchmark
# process and all its worker processes together, sampled every 20 ms.

# %% tags=["hide-input"]
if bench is not None:
    display(rows.set_index(["method", "clips"]))  # noqa: F821 (IPython)

# %% tags=["hide-input"]
if bench is not None:
    built = rows[~rows.method.str.contains("reuse")]
    fig = px.line(built, x="clips", y="clips_per_s", color="method", markers=True, height=380,
                  title=f"Log-mel throughput ({bench['data']}, {bench['clip_seconds']:g}-s clips)")
    fig.update_yaxes(title="clips per second", rangemode="tozero")
    fig.update_xaxes(title="clips")
    fig.show()
    fig = px.line(built, x="clips", y="peak_rss_mb", color="method", markers=True, height=380,
                  title="Peak resident memory of the process tree, by number of clips")
    fig.update_yaxes(title="peak memory (MB)", rangemode="tozero")
    fig.update_xaxes(title="clips")
    fig.show()

# %% [markdown]
# ## float16
#
# A log-mel in dB lies between about −100 and +40; float16 keeps 11 significant bits, so it
# rounds such values by at most a few hundredths of a dB. The stored run gives the largest
# rounding over every clip, and the official score of the two clip-mean reference detectors
# of chapter 00 computed from the float32 and from the float16 store.

# %% tags=["hide-input"]
if bench is not None:
    half = bench["float16"]
    scores = pd.DataFrame({"float32": half["reference_official_float32"],
                           "float16": half["reference_official_float16"]})
    scores["difference"] = scores["float16"] - scores["float32"]
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

# %% tags=["hide-input"]
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
    display(timing.set_index("machine_type").rename(columns={  # noqa: F821 (IPython): headers that fit the page
        "train_clips": "clips", "official_threads": "official threads", "official_train_s": "official s",
        "ours_threads": "our threads", "ours_train_s": "our s", "speedup_train_per_type": "speed-up"}))
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

# %% tags=["hide-input"]
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
        fig.update_yaxes(title="seconds" if y == "epoch_s" else "MB")
        fig.show()

# %% [markdown]
# ## The baselines end to end on data of the real development set's size
#
# `benchmarks/full_baselines.py` runs chapter 02 as a reader would, on the `full` generated
# data (7 types x 1 200 clips of 10 s, the real development set's counts): every clip's
# log-mels, one autoencoder per type on every training vector, both scores, the chapter's
# tables and figures. Training is shortened to the epochs printed (time grows linearly with
# epochs, memory does not), two machine types at a time.

# %% tags=["hide-input"]
full_run = stored("full_baselines.json", "python benchmarks/full_baselines.py")
if full_run is not None:
    display(pd.DataFrame(full_run["per_type"]).set_index("machine_type")  # noqa: F821 (IPython)
            [["epochs", "vectors", "trained_on", "features_s", "train_s", "AE-MSE score_s", "AE-MAHALA score_s"]])
    full_scores = pd.DataFrame(full_run["metrics"])
    display(full_scores.pivot(index="machine_type", columns="system",  # noqa: F821 (IPython)
                              values=["AUC-s", "AUC-t", "pAUC"]).round(1))

# %% [markdown]
# ## Details
#
# The numbers of "What we found" and the rest of the readings, from the stored runs above.

# %% tags=["remove-cell"]
values = {k: float("nan") for k in ["largest", "per_clip_rate", "store16_rate", "store_speedup", "store16_peak_mb",
                                    "reuse16_s", "marginal_rate", "audio_rate", "startup_s", "n_full",
                                    "full_dev_s", "full_dev_mb", "f16_max_db", "f16_max_score_diff",
                                    "ae_types", "ae_speedup_train", "ae_speedup_total", "ae_max_gap",
                                    "ae_official_train_s", "ae_ours_train_s", "ae_official_total_s", "ae_ours_total_s",
                                    "full_clips", "full_hours", "full_epochs", "full_wall_min", "full_peak_gb",
                                    "full_train_min", "full_official_epochs", "full_train_h_official"]}
phrases = {"measured_full_phrase": "No stored front-end run on data of the real development set's size.",
           "librosa_phrase": "librosa was not installed for the stored run; its row is missing.",
           "peaks_phrase": "", "full_scores_phrase": "", "ae_threads_phrase": ""}
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
    frames = 1 + int(full["clip_seconds"] * logmel.sample_rate) // logmel.hop_length
    values.update(largest=largest, per_clip_rate=per_clip.clips_per_s, store16_rate=store16.clips_per_s,
                  store_speedup=store16.clips_per_s / per_clip.clips_per_s, store16_peak_mb=store16.peak_rss_mb,
                  reuse16_s=reuse16.seconds, marginal_rate=marginal, audio_rate=audio_rate, startup_s=startup,
                  n_full=n_full, full_dev_s=startup + n_full * full["clip_seconds"] / audio_rate,
                  full_dev_mb=n_full * frames * logmel.n_mels * 2 / 2**20,  # float16: 2 bytes a value
                  f16_max_db=half["max_abs_diff_db"], f16_max_score_diff=scores["difference"].abs().max())
    peaks = built[built.method.str.startswith("store float16 (")].set_index("clips").peak_rss_mb
    phrases["peaks_phrase"] = ", ".join(f"{n} clips {mb:.0f} MB" for n, mb in peaks.items())
    full_path_f = RESULTS / "bench_features_full.json"
    if full_path_f.is_file() and benchmark != "full":
        fb = json.loads(full_path_f.read_text())
        fr = pd.DataFrame(fb["rows"])
        fr = fr[fr.clips == fr.clips.max()].set_index("method")
        f16 = fr.loc[[m for m in fr.index if m.startswith("store float16 (")][0]]
        f1 = fr.loc[[m for m in fr.index if m.startswith("per-clip")][0]]
        phrases["measured_full_phrase"] = (
            f"Measured on {fb['data']} ({int(f16.clips):,} clips of {fb['clip_seconds']:g} s, `{full_path_f.name}`): "
            f"the float16 store takes {f16.seconds:.0f} s ({f16.clips_per_s:.0f} clips/s), peak "
            f"{f16.peak_rss_mb:.0f} MB for the process tree, {f16.store_mb:.0f} MB on disk; the per-clip front end on "
            f"one core {f1.seconds:.0f} s.")
    lib = bench.get("librosa", {})
    if lib.get("version"):
        lr = at.loc[[m for m in at.index if m.startswith("librosa")][0]]
        phrases["librosa_phrase"] = (f"librosa {lib['version']} (one core, after a first call of "
                                     f"{lib['first_call_s']:.1f} s) computes {lr.clips_per_s:.0f} clips/s; its largest "
                                     f"difference to ours is {lr.max_abs_diff_db:.1e} dB.")
if ae is not None:
    gaps = [abs(r["official_metrics"][sc][k] - r["ours_metrics"][sc][k]) for r in ae["rows"]
            for sc in ("MSE", "MAHALA") for k in ("AUC-s", "AUC-t", "pAUC")]
    a = ae["all_types"]
    values.update(ae_types=a["types"], ae_speedup_train=a["speedup_train"], ae_speedup_total=a["speedup_total"],
                  ae_max_gap=max(gaps), ae_official_train_s=a["official_train_s"], ae_ours_train_s=a["ours_train_wall_s"],
                  ae_official_total_s=a["official_total_s"], ae_ours_total_s=a["ours_total_s"])
    phrases["ae_threads_phrase"] = f"{a['ours_workers']} types at once"
if full_run is not None:
    values.update(full_clips=full_run["clips"], full_hours=full_run["audio_hours"], full_epochs=full_run["epochs"],
                  full_wall_min=full_run["wall_s"] / 60, full_peak_gb=full_run["peak_rss_mb"] / 1024,
                  full_train_min=full_run["train_s_sum"] / 60, full_official_epochs=full_run["official_epochs"],
                  full_train_h_official=full_run["train_s_at_100_epochs_estimate"] / 3600)
    total = full_scores[full_scores.machine_type == "Total"].set_index("system").official
    published_total = report.published_official(list(total.index))
    phrases["full_scores_phrase"] = ("Their official scores there: " + ", ".join(f"{k} {v:.1f}" for k, v in total.items())
                                     + "; the published ones on the real development set: "
                                     + ", ".join(f"{k} {v:.1f}" for k, v in published_total.items()) + ".")
for key, value in values.items():
    glue(key, int(value) if float(value).is_integer() else float(value), display=False)
phrases["store_verdict"] = ("faster than" if values["store_speedup"] > 1 else
                            "not faster than" if values["store_speedup"] <= 1 else "not compared with")
for key, value in phrases.items():
    glue(key, value, display=False)

# %% [markdown]
# **The front end.** Once started, the float16 store computes {glue:text}`marginal_rate:.0f`
# clips/s ({glue:text}`audio_rate:.0f` s of audio per second; start-up
# {glue:text}`startup_s:.1f` s: Python, the clip list and the workers' imports), and opening a
# built store again takes {glue:text}`reuse16_s:.2f` s. At these rates the real development set
# ({glue:text}`n_full` clips) would take about {glue:text}`full_dev_s:.0f` s and
# {glue:text}`full_dev_mb:.0f` MB of float16 on disk (an estimate). Peak memory of the float16
# store by clip count: {glue:text}`peaks_phrase` (bounded by the chunk a worker holds, not by
# the number of clips). {glue:text}`measured_full_phrase` {glue:text}`librosa_phrase`
#
# **The AE baseline against the official code.** All {glue:text}`ae_types` measured types on
# the whole machine: the official code trains them in {glue:text}`ae_official_train_s:.0f` s,
# ours ({glue:text}`ae_threads_phrase`) in {glue:text}`ae_ours_train_s:.0f` s
# ({glue:text}`ae_speedup_train:.1f`x); with scoring {glue:text}`ae_official_total_s:.0f` s
# against {glue:text}`ae_ours_total_s:.0f` s ({glue:text}`ae_speedup_total:.1f`x). The AUCs of
# the two differ by at most {glue:text}`ae_max_gap:.1f` points (two trainings from different
# random streams).
#
# **The baselines end to end on the full data.** {glue:text}`full_wall_min:.1f` min, peak
# memory {glue:text}`full_peak_gb:.1f` GB; training took {glue:text}`full_train_min:.1f` min of
# one core summed over the types, and the official {glue:text}`full_official_epochs` epochs
# would take about {glue:text}`full_train_h_official:.1f` h of one core at the same rate.
# {glue:text}`full_scores_phrase`
#
# **Every system at full size**, one machine type, from the smallest to the largest training
# set measured (the kNN: its whole fit instead of an epoch); the last column estimates the
# `full` profile's epochs over all development types at that rate on this CPU:

# %% tags=["hide-input"]
if systems_bench is not None:
    n_types = len(ARCHIVES["dev"]["files"])
    full_epochs = {"AE": AutoencoderConfig.for_profile("full").epochs,
                   "System-1": ClassifierSystemConfig.for_profile("full").epochs,
                   "System-2": ClassifierSystemConfig.for_profile("full").epochs,
                   "System-3": SSLSystemConfig.for_profile("full").epochs}
    full_cost = cost[cost.profile == "full"].sort_values("train_clips")
    small, large = full_cost.train_clips.min(), full_cost.train_clips.max()
    growth_rows = []
    for system, g in full_cost.groupby("system", sort=False):
        a, b = g.iloc[0], g.iloc[-1]
        per_epoch = pd.notna(b.epoch_s)
        t_a, t_b = (a.epoch_s, b.epoch_s) if per_epoch else (a.fit_s, b.fit_s)
        growth_rows.append({
            "system": system, "timed": "epoch" if per_epoch else "fit",
            f"s at {small} clips": t_a, f"s at {large} clips": t_b, "time ratio": t_b / t_a,
            f"MB at {small}": a.peak_rss_mb, f"MB at {large}": b.peak_rss_mb,
            "test clips": b.test_clips, "score s": b.score_s,
            "full profile, h": (n_types * b.epoch_s * full_epochs[system] / 3600
                                if system in full_epochs and per_epoch else float("nan"))})
    display(pd.DataFrame(growth_rows).set_index("system").style.format(precision=1, na_rep="–"))

# %% [markdown]
# ## Where the numbers come from

# %% tags=["hide-input"]
display(Markdown("\n".join(f"* `{name}`: `{command}`; data: {data}" for name, command, data in sources)))
