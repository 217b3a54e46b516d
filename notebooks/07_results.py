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
# with several seeds, aggregated into `benchmarks/results/study_<profile>.csv`),
# or, when no study of this dataset exists, the chapters' own single runs. Systems 1–3 are
# taken as the report trains them (development **and** additional training set) where the
# runs hold that variant, otherwise as trained on the development set alone (the chapters'
# default), each with its chapter's headline back end; System-4 is chapter 06's ensemble.
#
# Our numbers are measured on the book's **SYNTHETIC** data; the published ones on the
# real DCASE 2024 development set. The two can be compared in their *ordering*, never
# number by number.
#
# ## What we found
#
# On the book's data ({glue:text}`dataset_label`; rows from {glue:text}`found_rows`), our
# ordering puts {glue:text}`ord_first` first (official score {glue:text}`ord_first_official:.1f`)
# and {glue:text}`ord_last` last ({glue:text}`ord_last_official:.1f`); on the real development
# set the report puts {glue:text}`ord_published_first` first
# ({glue:text}`ord_published_first_official:.1f`) and {glue:text}`ord_published_last` last
# ({glue:text}`ord_published_last_official:.1f`). Of the {glue:text}`ord_pairs` pairs of
# systems both rank, {glue:text}`ord_agree` are ordered as in the report and
# {glue:text}`ord_disagree` the other way. {glue:text}`found_lead`. These rows train the autoencoders
# 20 epochs (the book's demo schedule). **Against the baselines trained their official 100
# epochs** (the sensitivity study, chapter 08, in the report's setting): {glue:text}`found_converged`.
# Training on the additional set:
# {glue:text}`found_add`. Our rows compare with the published ones in their ordering, never
# number by number, and only as fairly as the short CPU schedules behind them allow (the
# schedules section below).
#
# Computed by `asdlib.book.results` (Table-1 rows, mean ± std, the ordering's pairs and their seed noise),
# `asdlib.evaluation.metrics` (bootstrap intervals) and `asdlib.evaluation.published` (the published rows).

# %% tags=["parameters"]
profile: str = "ci"  # "ci" (tests), "demo" (the book), "full"
data_root: str = ""  # empty: the generated SYNTHETIC dataset of this profile
study_csv: str = ""  # empty: benchmarks/results/study_<profile>.csv
n_bootstrap: int = 1000  # bootstrap resamples of the test clips
seed: int = 0  # the study seed whose scores are bootstrapped

# %% tags=["hide-input"]
import time
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
from myst_nb import glue

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
glue("dataset_label", dataset_label, display=False)  # the readings below name the data they speak of
glue("profile_name", profile, display=False)

# %% [markdown]
# ## Where the rows come from
#
# The study file is used only when its rows were measured on exactly this dataset (same
# data fingerprint); otherwise the page falls back to the chapters' latest runs and says
# so.

# %% tags=["hide-input"]
tidy, source = results.study_rows(profile, chapter, study_csv or None)
from_study = not tidy.empty
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
glue("found_rows", f"the seed study, {n_seeds.min()}–{n_seeds.max()} seeds per system" if from_study
     else "the chapters' single runs, one seed each, as no seed study of these data exists", display=False)
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
for metric in ["AUC-s", "AUC-t", "pAUC"]:  # one table per metric, machine types as columns
    display(table.xs(metric, axis=1, level=1).style.format(precision=1)  # noqa: F821 (IPython)
            .set_caption(f"{metric}, percent (Total: harmonic mean over types)"))

# %%
official = pd.DataFrame({
    f"ours: mean ({dataset_label})": mean[("official", "")],
    "ours: std over seeds": std[("official", "")],
    "seeds": n_seeds,
    # the report prints per-type AUCs and their harmonic means, not this score: it is computed here
    # from the published per-type rows, the same way as ours
    f"official score computed from the published rows ({results.PUBLISHED_LABEL})":
        report.published_official(list(mean.index)),
})
official.round(1)

# %%
std.drop(columns=[("official", "")]).T.rename_axis(["machine type", "metric"]).rename_axis(
    f"std over seeds ({dataset_label})", axis=1).round(1)  # transposed: one column per system

# %%
bars = pd.concat([
    pd.DataFrame({"system": mean.index, "official": mean[("official", "")].values,
                  "std": std[("official", "")].fillna(0).values, "data": f"ours ({dataset_label})"}),
    pd.DataFrame({"system": mean.index, "official": report.published_official(list(mean.index)).values,
                  "std": 0.0, "data": results.PUBLISHED_LABEL}),
])
fig = px.bar(bars, x="system", y="official", color="data", barmode="group", error_y="std", height=400,
             title="Official score per system: ours (mean ± std over seeds) and computed from the published rows")
fig.add_hline(y=50, line_dash="dot", line_color="grey")
fig.show()

# %% [markdown]
# ## Against the baselines at their official schedule
#
# The rows above train both autoencoders 20 epochs, a fifth of the official baseline's 100.
# The sensitivity study (chapter 08, `asd sensitivity`) trains them the full 100 epochs beside
# Systems 1–4 on the same data, seed by seed (seed *s*: generator seed *s*, each chapter's
# seed + *s*). Its 16-type condition is the report's setting (Systems 1–3 also train on the
# additional types), the rows above are the same setting at 20 epochs. Both side by side
# (official score; the learned systems are the same settings in both, trained in another
# run), then every learned system minus the converged AE-MAHALA, paired by seed:

# %%
from asdlib.book import sensitivity

converged_totals, converged_info = sensitivity.load(sensitivity.stored_profile(profile))
converged = converged_totals[converged_totals.condition == "types-16"] if len(converged_totals) else converged_totals
if len(converged):
    at_100 = converged.groupby("system").official.agg(["mean", "std", "count"]).rename(columns={"count": "seeds"})
    # Table 1's official scores beside it: the book's seed study (autoencoders at 20 epochs)
    at_20 = pd.DataFrame({"mean": mean[("official", "")], "std": std[("official", "")], "seeds": n_seeds})
    from asdlib import profiles

    ae_epochs = profiles.sizes(profile, "autoencoder").get("epochs", 100)  # this page's rows: the profile's schedule
    display(pd.concat({f"{'seed study' if from_study else 'this page'}, AEs at {ae_epochs} epochs": at_20,  # noqa: F821
                       "sensitivity study, AEs at 100 epochs": at_100}, axis=1)
            .rename_axis("official score (SYNTHETIC demo data, report's setting)").round(1))
    versus_converged = sensitivity.versus(converged).query("factor == 'types' and system != 'AE-MSE'")
    display(versus_converged.set_index("system")[["official", "2 SE", "seeds", "verdict"]]  # noqa: F821
            .rename_axis("minus AE-MAHALA (100 epochs)"))
    glue("found_converged", "; ".join(
        f"{r.system} {sensitivity.standing(r)} ({r.official:+.1f} points, 2 SE {r['2 SE']:.1f}, {r.seeds} seeds)"
        if pd.notna(r["2 SE"]) else f"{r.system} {r.official:+.1f} points (one seed: no verdict yet)"
        for _, r in versus_converged.iterrows()), display=False)
else:
    print("the sensitivity study holds no run of the report's setting yet (asd sensitivity --factors types)")
    glue("found_converged", "not measured yet (the sensitivity study has no finished cell of this setting)",
         display=False)

# %% [markdown]
# ## How sure is one run? Bootstrap over the test clips
#
# Seeds measure how much training noise moves a number; the test set adds its own: with
# 25 clips per cell a few clips decide an AUC. Resampling the test clips (within machine
# type, domain and label) of one seed's scores gives a 95 % interval for each total. The
# runs are the chapters' own (the book's build trains Systems 1–3 on the development set
# alone, so their rows say "dev only").

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
# The rows above come from the {glue:text}`profile_name` profile's CPU schedules; in the
# book's build (`demo`) the autoencoders train 20 epochs (the official baseline: 100),
# Systems 1–2 ten (the report gives none; STgram-MFN trained 300), System-3 six. A ranking is only as fair as its schedules, so the
# training-scale study (`benchmarks/scale_study.py`, chapter 09 plots it) says what each
# system reaches with more epochs:

# %%
scale, scale_source, scale_same = results.scale_study(profile, chapter)
print(scale_source)
scale_table = results.scale_effect(scale, profile)  # official score, mean over seeds
glue("scale_file", scale_source.split(":")[0], display=False)
glue("scale_data", "measured on this page's data" if scale_same else "OTHER data than this page's" if len(scale)
     else "nothing measured", display=False)
for system, (_, _, backend) in results.TABLE1_SOURCES.items():  # each system's headline backend
    results.glue_values(f"scale_{system}", results.table_row(scale_table, (system, backend or system)))
baselines = scale_table[scale_table.index.get_level_values("system").isin(["AE-MSE", "AE-MAHALA"])]
strongest = baselines["official at most epochs"].idxmax()[0] if len(baselines) else "no baseline"
glue("scale_strongest", strongest, display=False)
# each learned system's study rows minus the strongest baseline trained longest, paired by seed
longer = results.versus_longer_baselines(per_seed, scale if scale_same else pd.DataFrame())
why_not = ("not measured (no scale study of these data)" if scale.empty else
           "not measured (the scale study ran on other data)" if not scale_same else
           "not measured (fewer than two paired seeds)")
for system in ("System-1", "System-2", "System-3", "System-4"):
    results.glue_values(f"longer_{system}", results.paired_row(longer, (system, strongest), missing=why_not))
display(scale_table.round(1)) if len(scale_table) else print("no scale study rows")  # noqa: F821 (IPython)
longer.round(1) if len(longer) else print("no paired comparison with the baselines trained longer")

# %% [markdown]
# **Reading** ({glue:text}`scale_file`, {glue:text}`scale_data`; official score, mean over
# seeds, at the book's schedule and at the most epochs measured). AE-MAHALA:
# {glue:text}`scale_ae_mahala_official_at_book_epochs:.1f` at
# {glue:text}`scale_ae_mahala_book_epochs` epochs,
# {glue:text}`scale_ae_mahala_official_at_most_epochs:.1f` at
# {glue:text}`scale_ae_mahala_most_epochs`. AE-MSE:
# {glue:text}`scale_ae_mse_official_at_book_epochs:.1f` at
# {glue:text}`scale_ae_mse_book_epochs`, {glue:text}`scale_ae_mse_official_at_most_epochs:.1f`
# at {glue:text}`scale_ae_mse_most_epochs`. System-1 (knn):
# {glue:text}`scale_system_1_official_at_book_epochs:.1f` at
# {glue:text}`scale_system_1_book_epochs`, {glue:text}`scale_system_1_official_at_most_epochs:.1f`
# at {glue:text}`scale_system_1_most_epochs`. System-2 (knn):
# {glue:text}`scale_system_2_official_at_book_epochs:.1f` at
# {glue:text}`scale_system_2_book_epochs`, {glue:text}`scale_system_2_official_at_most_epochs:.1f`
# at {glue:text}`scale_system_2_most_epochs`. System-3 (kmeans):
# {glue:text}`scale_system_3_official_at_book_epochs:.1f` at
# {glue:text}`scale_system_3_book_epochs`, {glue:text}`scale_system_3_official_at_most_epochs:.1f`
# at {glue:text}`scale_system_3_most_epochs`.
#
# Each learned system (its schedule in the seed study) minus {glue:text}`scale_strongest`,
# the baseline with the higher score at its most epochs, trained that long, paired by seed:
# System-1 {glue:text}`longer_system_1_official:+.1f` points over
# {glue:text}`longer_system_1_seeds` seeds, {glue:text}`longer_system_1_verdict`; System-2
# {glue:text}`longer_system_2_official:+.1f` over {glue:text}`longer_system_2_seeds`,
# {glue:text}`longer_system_2_verdict`; System-3 {glue:text}`longer_system_3_official:+.1f`
# over {glue:text}`longer_system_3_seeds`, {glue:text}`longer_system_3_verdict`; System-4
# {glue:text}`longer_system_4_official:+.1f` over {glue:text}`longer_system_4_seeds`,
# {glue:text}`longer_system_4_verdict` (ahead of or behind it: the mean difference beyond
# twice its standard error; level with it: within).

# %% [markdown]
# ## The ordering and its seed noise
#
# Every pair of neighbours in our ordering (official score, mean over seeds): the
# difference, twice its standard error (the two systems' seeds taken as independent
# samples), the verdict, and what the report's published scores say of the same pair.

# %%
published = report.published_official(list(mean.index))
pairs = results.ordering(per_seed, published)
ranked, published_ranked = mean[("official", "")].sort_values(ascending=False), published.sort_values(ascending=False)
neighbours = pairs[pairs.adjacent]
judged = pairs["published agrees"].dropna()
lead = neighbours.iloc[0] if len(neighbours) else pd.Series({"difference": np.nan, "2 SE": np.nan, "verdict": "no pair"})
results.glue_values("ord", {
    "first": ranked.index[0], "first official": ranked.iloc[0], "second": ranked.index[min(1, len(ranked) - 1)],
    "last": ranked.index[-1], "last official": ranked.iloc[-1], "seeds min": n_seeds.min(), "seeds max": n_seeds.max(),
    "published first": published_ranked.index[0], "published first official": published_ranked.iloc[0],
    "published last": published_ranked.index[-1], "published last official": published_ranked.iloc[-1],
    "pairs": len(judged), "agree": int(judged.sum()), "disagree": int((~judged).sum()),
    "neighbours": len(neighbours), "outside": int((neighbours.verdict == "outside the seed noise").sum()),
    "lead difference": lead["difference"], "lead 2 SE": lead["2 SE"], "lead verdict": lead["verdict"]})
# the additional training set: dev + additional minus dev only, mean over seeds (the table above)
piv = (additional_table.pivot(index="system", columns="training data", values="mean") if len(additional_table)
       else pd.DataFrame())
diff = ((piv["dev + additional"] - piv["dev only"]).round(1) if {"dev + additional", "dev only"} <= set(piv.columns)
        else pd.Series(dtype=float))
results.glue_values("add", diff.reindex(["System-1", "System-2", "System-3"]).to_dict())
glue("found_add", "; ".join(f"{s} {d:+.1f} points" for s, d in diff.dropna().items())
     + " (dev + additional minus dev only, official score, mean over seeds)" if diff.notna().any()
     else "its effect is not measured on these data (the chapters' runs hold no pair of both variants)", display=False)
lead_text = (f"{ranked.index[0]}'s lead over {ranked.index[min(1, len(ranked) - 1)]} is {lead['difference']:+.1f} points"
             if len(neighbours) else "No pair of neighbours to judge")
lead_text += (f" (twice its standard error: {lead['2 SE']:.1f}): {lead['verdict']}" if pd.notna(lead["2 SE"])
              else f" ({lead['verdict']})")
glue("found_lead", lead_text, display=False)
neighbours.rename_axis([f"ahead ({dataset_label})", "behind"]).round(1)

# %% tags=["remove-cell"]
run = book.RunFolder.open("07_results", profile, chapter, config={"source": source, "n_bootstrap": n_bootstrap,
                                                                         "seed": seed})
run.save_table("table1_per_seed", per_seed.reset_index())
run.save_table("official", official.reset_index())
run.finish(seconds=round(time.perf_counter() - t_start, 1))
