# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Results: the report's Table 1, regenerated
#
# **Question.** With every system of the report rebuilt, how do they rank, how much of
# that ranking survives a change of random seed, and how does it compare with the ranking
# the report publishes for the real DCASE 2024 development set?
#
# Nothing is trained here. The rows come from the run folders of chapters 02–06: either a
# **seed study** (`asd study`, or `make study`: every chapter run
# with several seeds through papermill, aggregated into `benchmarks/results/study_<profile>.csv`),
# or, when no study of this dataset exists, the chapters' own single runs. Systems 1–3 are
# taken as the report trains them (development **and** additional training set), each with
# its chapter's headline back end; System-4 is chapter 06's ensemble of those three.
#
# Our numbers are measured on the book's **SYNTHETIC** data; the published ones on the
# real DCASE 2024 development set. The two can be compared in their *ordering*, never
# number by number.
#
# Computed by `asdlib.book.results` (Table-1 rows, mean ± std, ordering in words),
# `asdlib.evaluation.metrics` (bootstrap intervals) and `asdlib.evaluation.published` (the published rows).

# %% tags=["parameters"]
profile: str = "ci"  # "ci" (tests), "demo" (the book), "full"
data_root: str = ""  # empty: the generated SYNTHETIC dataset of this profile
study_csv: str = ""  # empty: benchmarks/results/study_<profile>.csv
n_bootstrap: int = 1000  # bootstrap resamples of the test clips
seed: int = 0  # the study seed whose scores are bootstrapped

# %%
import time
from pathlib import Path

import pandas as pd
import plotly.express as px

from asdlib import viz
from asdlib import book
from asdlib.evaluation import metrics
from asdlib.evaluation import published as report
from asdlib.book import results

viz.setup_plotly()
pd.set_option("display.precision", 1)
pd.set_option("display.width", 200)
pd.set_option("display.max_columns", None)
t_start = time.perf_counter()
chapter = book.chapter_data(profile, data_root, additional_roots=[])
dataset_label = chapter.label
print(f"data: {chapter.root} ({dataset_label})")

# %% [markdown]
# ## Where the rows come from
#
# The study file is used only when its rows were measured on exactly this dataset (same
# data fingerprint); otherwise the page falls back to the chapters' latest runs and says
# so.

# %%
tidy, source = results.study_rows(profile, chapter, study_csv or None)
if tidy.empty:
    print(f"NOTE: {source}")
    parts = []
    for chapter_name in sorted({c for c, _, _ in results.TABLE1_SOURCES.values()}):
        run = book.find_run(chapter_name, profile, chapter)
        if run is not None:
            parts.append(results.run_metrics(run.root).assign(chapter=chapter_name, seed=0))
    tidy = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    source = ("the chapters' latest single runs (one seed: no spread; run `make study` for mean ± std over "
              "three seeds)")
print("rows from:", source)
per_seed = results.table1_rows(tidy) if len(tidy) else pd.DataFrame()
if per_seed.empty:
    raise RuntimeError("no results of chapters 02-06 on this dataset: run them first "
                       f"(asd run-all --profile {profile} --only 02 03 04 05 06)")
mean, std, n_seeds = results.mean_std(per_seed)
pd.DataFrame({"seeds": n_seeds, "chapter / folder / backend": [
    " / ".join(x for x in results.TABLE1_SOURCES[s] if x) for s in n_seeds.index]})

# %% [markdown]
# ## Table 1: ours beside the published rows
#
# Per machine type AUC-source, AUC-target and pAUC, the harmonic-mean totals and the
# official score (harmonic mean of every type's three numbers), in percent. Our rows are
# the mean over seeds; the next table gives their standard deviation. Our synthetic types
# sit under their real namesakes (`synFan` under `fan`).

# %%
ours_mean = mean.drop(columns=[("official", "")])
table = report.side_by_side(ours_mean, report.table1(list(ours_mean.index)), dataset_label + " (mean over seeds)",
                            results.PUBLISHED_LABEL)
table

# %%
official = pd.DataFrame({
    f"ours: mean ({dataset_label})": mean[("official", "")],
    "ours: std over seeds": std[("official", "")],
    "seeds": n_seeds,
    f"published ({results.PUBLISHED_LABEL})": report.published_official(list(mean.index)),
})
official.round(1)

# %%
std.drop(columns=[("official", "")]).rename_axis(f"std over seeds ({dataset_label})").round(1)

# %%
bars = pd.concat([
    pd.DataFrame({"system": mean.index, "official": mean[("official", "")].values,
                  "std": std[("official", "")].fillna(0).values, "data": f"ours ({dataset_label})"}),
    pd.DataFrame({"system": mean.index, "official": report.published_official(list(mean.index)).values,
                  "std": 0.0, "data": results.PUBLISHED_LABEL}),
])
fig = px.bar(bars, x="system", y="official", color="data", barmode="group", error_y="std", height=400,
             title="Official score per system: ours (mean ± std over seeds) and published")
fig.add_hline(y=50, line_dash="dot", line_color="grey")
fig.show()

# %% [markdown]
# ## How sure is one run? Bootstrap over the test clips
#
# Seeds measure how much training noise moves a number; the test set adds its own: with
# 25 clips per cell a few clips decide an AUC. Resampling the test clips (within machine
# type, domain and label) of one seed's scores gives a 95 % interval for each total. The
# runs are the chapters' own (the book's build trains Systems 1–3 on the development set
# alone, so their rows say "dev only" and sit below the study's dev + additional means).

# %%
boot_rows = {}
for system, (chapter_name, folder, backend) in results.TABLE1_SOURCES.items():
    run = book.find_run(chapter_name, profile, chapter, quiet=True, seed=seed) or \
        book.find_run(chapter_name, profile, chapter, quiet=True)
    if run is None or not Path(run.root, results.member_folder(run, folder), backend, "scores.csv").is_file():
        continue
    folder = results.member_folder(run, folder)  # dev-only when the run has no additional-set variant
    ci = 100 * metrics.bootstrap_ci(pd.read_csv(Path(run.root, folder, backend, "scores.csv")), n=n_bootstrap, seed=0)
    total = ci.xs("Total", level="machine_type")
    wanted = results.TABLE1_SOURCES[system][1]  # Systems 1-3: the dev + additional folder, when the run has it
    trained_on = "" if not wanted.endswith("_additional") else \
        " (dev + additional)" if folder.endswith("_additional") else " (dev only)"
    boot_rows[system + trained_on] = {f"{m} [95 % interval]": f"{total.loc[m, 'value']:.1f} [{total.loc[m, 'low']:.1f}, "
                                                  f"{total.loc[m, 'high']:.1f}]" for m in total.index}
boot = pd.DataFrame(boot_rows).T if boot_rows else pd.DataFrame()
boot.rename_axis(f"one run (seed {seed}), {n_bootstrap} resamples ({dataset_label})") if len(boot) else \
    print("no scores found")

# %% [markdown]
# ## Training on the additional set, across seeds
#
# The report trains Systems 1–3 on the development and the additional training set
# together; chapters 03–05 also train on the development set alone. Official scores of
# both, mean ± std over the seeds available:

# %%
pairs = []
for name, (chapter_name, folder, backend) in results.TABLE1_SOURCES.items():
    if not folder.endswith("_additional"):
        continue
    for variant, f in (("dev + additional", folder), ("dev only", folder.removesuffix("_additional"))):
        sel = tidy[(tidy.chapter == chapter_name) & (tidy.folder == f) & (tidy.backend.fillna("") == backend)
                   & (tidy.machine_type == "Total")]
        if len(sel):
            pairs.append({"system": name, "training data": variant, "mean": sel.official.mean(),
                          "std": sel.official.std(ddof=1), "seeds": len(sel)})
additional_table = pd.DataFrame(pairs)
additional_table.round(1) if len(additional_table) else print("no dev-only / dev + additional pairs found")

# %% [markdown]
# ## The schedules behind these rows
#
# Every row above comes from the `demo` profile's CPU schedules: the autoencoders train 20
# epochs (the official baseline: 100), Systems 1–2 ten (the report gives none; STgram-MFN
# trained 300), System-3 six. A ranking is only as fair as its schedules, so the
# training-scale study (`benchmarks/scale_study.py`, chapter 09 plots it) says what each
# system reaches with more epochs:

# %%
scale, scale_source, scale_same = results.scale_study(profile, chapter)
scale_words = results.scale_in_words(scale, profile)
print(scale_source)
print("\n".join(scale_words) if scale_words else "no scale study rows")
longer = results.versus_trained_longer(per_seed, scale) if scale_same else []
print("\n".join(longer))

# %% [markdown]
# ## What this chapter found

# %%
lines = results.ordering_in_words(per_seed, report.published_official(list(mean.index)), dataset_label)
if len(additional_table):
    piv = additional_table.pivot(index="system", columns="training data", values="mean")
    if {"dev + additional", "dev only"} <= set(piv.columns):
        diff = (piv["dev + additional"] - piv["dev only"]).round(1)
        lines.append("Adding the additional training set changes the official score by "
                     + ", ".join(f"{s} {d:+.1f}" for s, d in diff.items()) + " points (mean over seeds).")
lines.append(f"Rows from {source}.")
if scale_words:
    lines.append("With more training (" + scale_source.split(":")[0] + ("" if scale_same else ", OTHER data")
                 + "): " + "; ".join(scale_words) + ".")
    lines += longer
print("\n".join(lines))

# %%
run = book.RunFolder.open("07_results", profile, chapter, config={"source": source, "n_bootstrap": n_bootstrap,
                                                                         "seed": seed})
run.save_table("table1_per_seed", per_seed.reset_index())
run.save_table("official", official.reset_index())
run.finish(seconds=round(time.perf_counter() - t_start, 1))
print(f"run folder {run.root}: {run.files()}")
print(f"chapter run time: {time.perf_counter() - t_start:.0f} s (profile {profile!r})")
