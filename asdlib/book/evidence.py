"""Evidence across runs: the seed study and the training-scale study read back, Table 1 across seeds.

What chapters 03-07 and 09 say about several seeds or schedules, computed once here from the
result files of ``benchmarks/results/`` (``study_<profile>.csv`` from ``asd
study``, ``scale_<profile>.csv`` from ``benchmarks/scale_study.py``,
the generator's calibration records): Table-1 rows per seed, mean and spread, orderings and
paired differences in words. ``asdlib.book.results`` re-exports every name, so chapters call them
as ``results.<name>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from asdlib.book.chapters import TABLE1_SOURCES
from asdlib.paths import REPO_ROOT

BENCHMARK_RESULTS = REPO_ROOT / "benchmarks" / "results"


def scale_study(profile: str, data: Any, path: str | Path | None = None) -> tuple[pd.DataFrame, str, bool]:
    """The training-scale study (``benchmarks/scale_study.py`` ->
    ``benchmarks/results/scale_<profile>.csv``): ``(rows, a sentence naming the command,
    commit and data, whether it was measured on exactly these data)``; empty rows and the
    command to run when there is none."""
    import json

    csv = Path(path) if path else BENCHMARK_RESULTS / f"scale_{profile}.csv"
    if not csv.is_file():
        return pd.DataFrame(), (f"no scale study for profile {profile!r}; produce it with "
                                f"`.venv/bin/python benchmarks/scale_study.py --profile {profile}`"), False
    info = json.loads(csv.with_suffix(".json").read_text()) if csv.with_suffix(".json").is_file() else {}
    same = info.get("data_fingerprint") == data.fingerprint
    source = (f"{csv.name}: {info.get('command', '?')} at commit {str(info.get('commit', '?'))[:7]}, data "
              f"{info.get('data', '?')}" + ("" if same else f" (OTHER data than {data.label})"))
    return pd.read_csv(csv), source, same


def profile_epochs(profile: str) -> dict[str, int]:
    """Training epochs of every system at ``profile`` (the AE rows are named by backend)."""
    from asdlib.models import AutoencoderConfig
    from asdlib.systems.classifier import ClassifierSystemConfig
    from asdlib.systems.ssl import SSLSystemConfig

    ae, cls, ssl = (AutoencoderConfig.for_profile(profile).epochs, ClassifierSystemConfig.for_profile(profile).epochs,
                    SSLSystemConfig.for_profile(profile).epochs)
    return {"AE-MSE": ae, "AE-MAHALA": ae, "System-1": cls, "System-2": cls, "System-3": ssl}


def scale_in_words(rows: pd.DataFrame, profile: str) -> list[str]:
    """One sentence per system and backend of a scale study: official score (mean over seeds)
    at ``profile``'s schedule (the book's, for ``demo``) and at the most epochs measured."""
    lines = []
    if rows.empty:
        return lines
    book_epochs = profile_epochs(profile)
    keep = rows[rows.backend.isin(["knn", "kmeans", "AE-MSE", "AE-MAHALA"])]
    for (system, backend), g in keep.groupby(["system", "backend"], sort=False):
        curve = g.groupby("epochs").official.agg(["mean", "count"])
        top = curve.index.max()
        book = book_epochs.get(system)
        at_book = f"{curve.loc[book, 'mean']:.1f} at the book's {book} epochs, " if book in curve.index else ""
        name = system if system == backend else f"{system} / {backend}"
        lines.append(f"{name}: official {at_book}{curve.loc[top, 'mean']:.1f} at {top} epochs "
                     f"(mean over {int(curve.loc[top, 'count'])} seed(s))")
    return lines


def calibration_record(part: str, version: int, profile: str, seed: int = 0) -> dict | None:
    """The stored result of ``benchmarks/calibrate_synth.py`` for one generator part, version,
    profile and seed (reference detectors' per-type metrics, official scores, the command and
    commit that made it), or None when that run was never stored."""
    import json

    path = BENCHMARK_RESULTS / f"calibrate_synth_{part}_v{version}_{profile}_seed{seed}.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    record["path"] = str(path.relative_to(BENCHMARK_RESULTS.parent.parent))
    return record


# --------------------------------------------------------------------------- Table 1 across seeds
METRICS = ["AUC-s", "AUC-t", "pAUC"]


def run_metrics(root: str | Path) -> pd.DataFrame:
    """Every ``metrics.csv`` under a run folder as tidy rows: folder, backend, machine_type,
    AUC-s, AUC-t, pAUC, official (percent). The real-fan sanity check is left out."""
    root = Path(root)
    rows = []
    for path in sorted(root.rglob("metrics.csv")):
        rel = path.parent.relative_to(root).parts
        if "real-sensiml-fan" in rel:
            continue
        m = pd.read_csv(path, index_col=0)
        if not set(METRICS) <= set(m.columns):
            continue
        folder, backend = (rel[0], "/".join(rel[1:])) if rel else ("", "")
        for mtype, r in m.iterrows():
            rows.append({"folder": folder, "backend": backend, "machine_type": mtype,
                         **{c: 100 * float(r[c]) if c in r and pd.notna(r[c]) else np.nan
                            for c in METRICS + ["official"]}})
    return pd.DataFrame(rows, columns=["folder", "backend", "machine_type", *METRICS, "official"])


def table1_rows(tidy: pd.DataFrame, sources: dict = TABLE1_SOURCES) -> pd.DataFrame:
    """Tidy study rows (``run_metrics`` + chapter, seed) -> one row per (system, seed) in the
    Table-1 layout (machine type x metric, percent) with the official score."""
    parts = {}
    for system, (chapter, folder, backend) in sources.items():
        sel = tidy[(tidy.chapter == chapter) & (tidy.folder == folder) & (tidy.backend.fillna("") == backend)]
        if sel.empty and folder.endswith("_additional"):  # runs without the additional training set
            folder = folder.removesuffix("_additional")
            sel = tidy[(tidy.chapter == chapter) & (tidy.folder == folder) & (tidy.backend.fillna("") == backend)]
        for seed, sub in sel.groupby("seed"):
            wide = sub.set_index("machine_type")[METRICS].stack()
            row = wide.copy()
            row[("official", "")] = float(sub.loc[sub.machine_type == "Total", "official"].iloc[0])
            parts[(system, int(seed))] = row
    if not parts:
        return pd.DataFrame()
    out = pd.DataFrame(parts).T
    out.index.names = ["system", "seed"]
    return out


def mean_std(per_seed: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """``(mean, std, n seeds)`` per system of a ``table1_rows`` table (std with ddof 1)."""
    g = per_seed.groupby(level="system", sort=False)
    return g.mean(), g.std(ddof=1), g.size()


def ordering_in_words(per_seed: pd.DataFrame, published: pd.Series, dataset_label: str) -> list[str]:
    """Sentences comparing our ordering by official score (mean over seeds) with the
    published one, and which adjacent differences are inside the seed noise (|difference
    of means| < 2 standard errors of that difference)."""
    mean, std, n = mean_std(per_seed)
    off = mean[("official", "")].sort_values(ascending=False)
    sd = std[("official", "")].fillna(0)
    lines = [f"Ours ({dataset_label}, mean over {n.min()}–{n.max()} seeds): "
             + " > ".join(f"{s} {v:.1f}" for s, v in off.items()) + ".",
             "Published (real DCASE 2024 dev set): "
             + " > ".join(f"{s} {v:.1f}" for s, v in published.sort_values(ascending=False).items()) + "."]
    common = [s for s in off.index if s in published.index]
    agree = disagree = 0
    for i, a in enumerate(common):
        for b in common[i + 1:]:
            same = (off[a] - off[b]) * (published[a] - published[b]) > 0
            agree += same
            disagree += not same
    lines.append(f"Of the {agree + disagree} pairs of systems, {agree} are ordered as in the report and {disagree} "
                 "are not.")
    for a, b in zip(off.index[:-1], off.index[1:]):
        d = off[a] - off[b]
        if min(n[a], n[b]) < 2:
            lines.append(f"{a} vs {b}: {d:+.1f} points (one seed: no spread to judge the difference by).")
            continue
        se = float(np.sqrt(sd[a] ** 2 / n[a] + sd[b] ** 2 / n[b]))
        verdict = "inside the seed noise" if abs(d) < 2 * se else "outside the seed noise"
        lines.append(f"{a} vs {b}: {d:+.1f} points (2 standard errors {2 * se:.1f}): {verdict}.")
    return lines


def study_rows(profile: str, data: Any, study_csv: str | Path | None = None) -> tuple[pd.DataFrame, str]:
    """The rows of the seed study (``benchmarks/results/study_<profile>.csv``) measured on
    exactly these data (same fingerprint), and a sentence naming the file, command and commit;
    an empty table and the command to run when there is none."""
    import json

    path = Path(study_csv) if study_csv else BENCHMARK_RESULTS / f"study_{profile}.csv"
    if path.is_file():
        rows = pd.read_csv(path)
        rows = rows[rows.data_fingerprint == data.fingerprint]
        if len(rows):
            info_path = path.with_suffix(".json")
            info = json.loads(info_path.read_text()) if info_path.is_file() else {}
            where = path.relative_to(BENCHMARK_RESULTS.parent.parent) if path.is_relative_to(
                BENCHMARK_RESULTS.parent.parent) else path
            return rows, (f"seed study {where} ({info.get('command', '?')}, commit {str(info.get('commit'))[:7]}, "
                          f"seeds {sorted(int(s) for s in rows.seed.unique())})")
    return pd.DataFrame(), (f"no seed study of these data ({data.label}); produce it with "
                            f"`make study` or `asd study --profile {profile}`")


def variants_across_seeds(rows: pd.DataFrame, chapter: str, folders: dict[str, str], backend: str,
                          reference: str) -> tuple[pd.DataFrame, list[str]]:
    """Variants of one chapter (``{name: run-folder sub-folder}``) across the study's seeds:
    Total AUC-s / AUC-t / pAUC / official as mean and std, and one sentence per variant: its
    official score minus ``reference``'s (paired by seed), and whether that difference is
    larger than twice its standard error over seeds."""
    if rows.empty:
        return pd.DataFrame(), []
    sel = rows[(rows.chapter == chapter) & (rows.machine_type == "Total") & (rows.backend.fillna("") == backend)]
    per = {name: sel[sel.folder == f].set_index("seed")[METRICS + ["official"]] for name, f in folders.items()}
    per = {k: v for k, v in per.items() if len(v)}
    if not per:
        return pd.DataFrame(), []
    table = pd.concat({k: pd.concat({"mean": v.mean(), "std": v.std(ddof=1)}) for k, v in per.items()}, axis=1).T
    table["seeds"] = [len(v) for v in per.values()]
    words = []
    if reference in per:
        ref = per[reference]["official"]
        for name, v in per.items():
            if name == reference:
                continue
            d = (ref - v["official"]).dropna()
            if len(d) < 2:
                words.append(f"{reference} minus {name}: {d.mean():+.1f} official-score points (one seed: no spread)")
                continue
            se = d.std(ddof=1) / np.sqrt(len(d))
            verdict = "larger than" if abs(d.mean()) > 2 * se else "within"
            words.append(f"{reference} minus {name}: {d.mean():+.1f} official-score points over {len(d)} seeds "
                         f"(per seed {', '.join(f'{x:+.1f}' for x in d)}), {verdict} twice its standard error "
                         f"({2 * se:.1f})")
    return table, words


#: System-4's members: (chapter, folder) of Systems 1-3 as Table 1 takes them.


def versus_in_words(per_seed: pd.DataFrame, reference: str, dataset_label: str) -> list[str]:
    """One sentence per system of a ``table1_rows`` table: its official score against
    ``reference``'s (means over seeds), and whether the difference exceeds twice its standard
    error (seeds of the two systems taken as independent samples)."""
    mean, std, n = mean_std(per_seed)
    off, sd = mean[("official", "")], std[("official", "")].fillna(0)
    if reference not in off.index:
        return [f"{reference} has no rows on {dataset_label}"]
    lines = []
    for system in off.index:
        if system == reference:
            continue
        d = off[system] - off[reference]
        se = float(np.sqrt(sd[system] ** 2 / n[system] + sd[reference] ** 2 / n[reference]))
        if n[system] < 2 or n[reference] < 2:
            verdict = "one seed: no spread to judge it by"
        else:
            verdict = ("it beats" if d > 2 * se else "it loses to" if d < -2 * se else "inside the seed noise of") \
                + f" {reference} (2 standard errors {2 * se:.1f})"
        lines.append(f"{system}: official {off[system]:.1f} ± {sd[system]:.1f} vs {reference} {off[reference]:.1f} ± "
                     f"{sd[reference]:.1f} ({d:+.1f} points; {verdict}; {dataset_label}, {n[system]} seeds)")
    return lines


def versus_trained_longer(per_seed: pd.DataFrame, scale: pd.DataFrame,
                          baselines: Iterable[str] = ("AE-MSE", "AE-MAHALA")) -> list[str]:
    """Each learned system of a ``table1_rows`` table (its schedule in the study) against each
    baseline trained for the most epochs of the scale study, paired by seed index (both use
    the chapter's default seed + the index), with a verdict against twice the standard error
    of the paired differences. One sentence per pair."""
    lines = []
    if per_seed.empty or scale.empty:
        return lines
    official = per_seed[("official", "")]
    for base in baselines:
        rows = scale[(scale.system == base) & (scale.backend == base)]
        if rows.empty:
            continue
        top = int(rows.epochs.max())
        ref = rows[rows.epochs == top].set_index("seed").official
        for system in official.index.get_level_values("system").unique():
            if system in baselines:
                continue
            own = official.xs(system, level="system")
            d = (own - ref).dropna()
            if len(d) < 2:
                continue
            se = d.std(ddof=1) / np.sqrt(len(d))
            verdict = ("ahead of" if d.mean() > 2 * se else "behind" if d.mean() < -2 * se else "level with")
            lines.append(f"{system} (its study schedule) minus {base} trained {top} epochs: {d.mean():+.1f} official "
                         f"points over {len(d)} seeds (per seed {', '.join(f'{x:+.1f}' for x in d)}; 2 standard "
                         f"errors {2 * se:.1f}): {verdict} it")
    return lines


def beside_study(ours: pd.Series, system: str, others: Iterable[str], profile: str, data: Any,
                 study_csv: str | Path | None = None, own: tuple[str, str, str, str] | None = None
                 ) -> tuple[pd.DataFrame, str]:
    """One run's Total row (``ours``: AUC-s, AUC-t, pAUC, official in percent) beside the seed
    study's Table-1 rows of the same data (mean and std over seeds) for ``system`` itself and
    for ``others``: ``(table, where the study rows come from)``. A chapter compares itself
    with other chapters' systems this way without reading (or waiting for) their runs.

    ``own = (chapter, run sub-folder, backend, name)``: this run's own variant when it is not
    the one Table 1 reads (e.g. trained on the development set alone): the study's rows of
    that variant are added as ``<name> (seed study)``, so this run has a like-for-like row."""
    cols = METRICS + ["official"]
    out = {f"{system} (this run)": {**{c: float(ours[c]) for c in cols}, "official sd": np.nan, "seeds": 1}}
    rows, source = study_rows(profile, data, study_csv)
    per_seed = table1_rows(rows) if len(rows) else pd.DataFrame()
    if own is not None and len(rows):
        chapter, folder, backend, name = own
        sel = rows[(rows.chapter == chapter) & (rows.machine_type == "Total") & (rows.folder == folder)
                   & (rows.backend.fillna("") == backend)]
        if len(sel) and folder != TABLE1_SOURCES.get(system, ("", "", ""))[1]:
            out[f"{name} (seed study)"] = {**{c: float(sel[c].mean()) for c in cols},
                                           "official sd": float(sel["official"].std()), "seeds": len(sel)}
    if len(per_seed):
        mean, std, n = mean_std(per_seed)
        for name in [system, *others]:
            if name in mean.index:
                out[f"{name} (seed study)"] = {**{m: mean.loc[name, ("Total", m)] for m in METRICS},
                                                "official": mean.loc[name, ("official", "")],
                                                "official sd": std.loc[name, ("official", "")], "seeds": int(n[name])}
    table = pd.DataFrame(out).T.astype({"seeds": int})
    return table.rename_axis(f"Total, percent ({data.label})"), source


def design_study(profile: str, data: Any, base_params: dict, path: str | Path | None = None
                 ) -> tuple[pd.DataFrame, str]:
    """The statistical-clustering design comparison stored by ``benchmarks/cluster_designs.py``
    (``compare_configurations`` rows over several seeds) when it was measured on exactly these
    data (same fingerprint) with this base estimator (same parameters but the seed): ``(rows,
    a sentence naming the file, command and commit)``; an empty table and why otherwise."""
    import json

    path = Path(path) if path else BENCHMARK_RESULTS / f"cluster_designs_{profile}.csv"
    info_path = path.with_suffix(".json")
    if not (path.is_file() and info_path.is_file()):
        return pd.DataFrame(), f"no stored design comparison ({path.name}); make one with benchmarks/cluster_designs.py"
    info = json.loads(info_path.read_text())
    strip = lambda p: {k: v for k, v in json.loads(json.dumps(p, default=str)).items() if k != "seed"}  # noqa: E731
    if info.get("data_fingerprint") != data.fingerprint:
        return pd.DataFrame(), f"the stored design comparison ({path.name}) was measured on other data"
    if strip(info.get("base_params", {})) != strip(base_params):
        return pd.DataFrame(), f"the stored design comparison ({path.name}) used another base estimator"
    rows = pd.read_csv(path)
    where = path.relative_to(BENCHMARK_RESULTS.parent.parent) if path.is_relative_to(
        BENCHMARK_RESULTS.parent.parent) else path
    return rows, (f"stored design comparison {where} ({info.get('command', '?')}, commit "
                  f"{str(info.get('commit'))[:7]}, seeds {sorted(int(s) for s in rows.seed.unique())}, "
                  f"{info.get('seconds', 0):.0f} s)")


def study_ablation(profile: str, data: Any, chapter: str, folders: dict[str, str], backend: str,
                   reference: str, study_csv: str | Path | None = None) -> tuple[str, pd.DataFrame, list[str]]:
    """A chapter's ablation read from the seed study instead of retrained:
    ``(where the rows come from, variants_across_seeds table, sentences)``."""
    rows, source = study_rows(profile, data, study_csv)
    table, words = variants_across_seeds(rows, chapter, folders, backend, reference)
    return source, table, words
