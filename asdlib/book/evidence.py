"""Evidence across runs: the seed study and the training-scale study read back, Table 1 across seeds.

What chapters 03-07 and 09 say about several seeds or schedules, computed once here from the
result files of ``benchmarks/results/`` (``study_<profile>.csv`` from ``asd
study``, ``scale_<profile>.csv`` from ``benchmarks/scale_study.py``,
the generator's calibration records): Table-1 rows per seed, mean and spread, orderings and
paired differences. Every function returns numbers (tables, dicts) and verdict labels computed by
a stated rule; the chapters write the reading in their markdown and insert these numbers with
myst-nb ``glue``. ``asdlib.book.results`` re-exports every name, so chapters call them as
``results.<name>``.
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


SCALE_COLUMNS = ["book epochs", "official at book epochs", "most epochs", "official at most epochs", "seeds"]


def scale_effect(rows: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Per system and backend of a scale study (index ``system``, ``backend``): the official
    score (mean over seeds) at ``profile``'s schedule (``book epochs``, the book's for ``demo``;
    NaN when that schedule was not measured), at the most epochs measured (``most epochs``),
    and the number of seeds behind the latter. Only the headline backends (knn, kmeans and the
    baselines) are kept."""
    out = []
    if rows.empty:
        return pd.DataFrame(columns=["system", "backend", *SCALE_COLUMNS]).set_index(["system", "backend"])
    book_epochs = profile_epochs(profile)
    keep = rows[rows.backend.isin(["knn", "kmeans", "AE-MSE", "AE-MAHALA"])]
    for (system, backend), g in keep.groupby(["system", "backend"], sort=False):
        curve = g.groupby("epochs").official.agg(["mean", "count"])
        top = curve.index.max()
        book = book_epochs.get(system)
        out.append({"system": system, "backend": backend, "book epochs": book,
                    "official at book epochs": float(curve.loc[book, "mean"]) if book in curve.index else np.nan,
                    "most epochs": int(top), "official at most epochs": float(curve.loc[top, "mean"]),
                    "seeds": int(curve.loc[top, "count"])})
    table = pd.DataFrame(out, columns=["system", "backend", *SCALE_COLUMNS]).astype({"book epochs": "Int64"})
    return table.set_index(["system", "backend"])


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


ONE_SEED = "one seed: no spread"  # the verdict when a difference has no spread over seeds to be judged by


def ordering(per_seed: pd.DataFrame, published: pd.Series) -> pd.DataFrame:
    """Every pair of systems of a ``table1_rows`` table, ``ahead`` before ``behind`` in our
    ordering by official score (mean over seeds), one row each (index ``ahead``, ``behind``):

    * ``difference``: ours, ahead minus behind (points, >= 0);
    * ``2 SE``: twice the standard error of that difference (the two systems' seeds taken as
      independent samples; NaN when either has one seed);
    * ``verdict``: ``"inside the seed noise"`` when |difference| < 2 SE, else ``"outside the
      seed noise"``; ``ONE_SEED`` when either system has one seed;
    * ``adjacent``: whether the two are neighbours in our ordering;
    * ``published difference`` and ``published agrees``: the report's ahead minus behind, and
      whether it orders the pair as we do (a tie counts as not; NA when a system has no
      published score).
    """
    mean, std, n = mean_std(per_seed)
    off = mean[("official", "")].sort_values(ascending=False)
    sd = std[("official", "")].fillna(0)
    rows = []
    for i, a in enumerate(off.index):
        for j, b in enumerate(off.index[i + 1:], start=i + 1):
            d = float(off[a] - off[b])
            if min(n[a], n[b]) < 2:
                two_se, verdict = np.nan, ONE_SEED
            else:
                se = float(np.sqrt(sd[a] ** 2 / n[a] + sd[b] ** 2 / n[b]))
                two_se = 2 * se
                verdict = "inside the seed noise" if abs(d) < 2 * se else "outside the seed noise"
            both = a in published.index and b in published.index
            pub = float(published[a] - published[b]) if both else np.nan
            rows.append({"ahead": a, "behind": b, "difference": d, "2 SE": two_se, "verdict": verdict,
                         "adjacent": j == i + 1, "published difference": pub,
                         "published agrees": bool(d * pub > 0) if both else pd.NA})
    table = pd.DataFrame(rows, columns=["ahead", "behind", "difference", "2 SE", "verdict", "adjacent",
                                        "published difference", "published agrees"])
    return table.astype({"published agrees": "boolean"}).set_index(["ahead", "behind"])


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


PAIRED_COLUMNS = ["official", "2 SE", "seeds", "verdict"]


def paired_difference(d: pd.Series, outside: str = "outside the seed noise",
                      inside: str = "inside the seed noise") -> dict:
    """One paired difference of official scores over seeds (``d``: one value per seed, indexed
    by seed; NaN dropped): ``official`` (its mean, points), ``2 SE`` (twice its standard error,
    ddof 1; NaN with fewer than two seeds), ``seeds``, ``verdict`` (``outside`` when |mean| > 2 SE,
    else ``inside``; ``ONE_SEED`` with fewer than two seeds) and one ``seed <s>`` entry per seed."""
    d = d.dropna()
    row = {"official": float(d.mean()), "2 SE": np.nan, "seeds": len(d), "verdict": ONE_SEED}
    if len(d) >= 2:
        se = float(d.std(ddof=1) / np.sqrt(len(d)))
        row["2 SE"] = 2 * se
        row["verdict"] = outside if abs(d.mean()) > 2 * se else inside
    row.update({f"seed {s}": float(x) for s, x in d.items()})
    return row


def variants_across_seeds(rows: pd.DataFrame, chapter: str, folders: dict[str, str], backend: str,
                          reference: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Variants of one chapter (``{name: run-folder sub-folder}``) across the study's seeds:
    ``(table, paired)``. ``table``: Total AUC-s / AUC-t / pAUC / official as mean and std, and
    the seeds. ``paired``: one row per variant other than ``reference`` (``paired_difference``):
    ``reference``'s official score minus the variant's, paired by seed, and whether that
    difference is larger than twice its standard error (``"outside the seed noise"``) or not."""
    if rows.empty:
        return pd.DataFrame(), pd.DataFrame(columns=PAIRED_COLUMNS)
    sel = rows[(rows.chapter == chapter) & (rows.machine_type == "Total") & (rows.backend.fillna("") == backend)]
    per = {name: sel[sel.folder == f].set_index("seed")[METRICS + ["official"]] for name, f in folders.items()}
    per = {k: v for k, v in per.items() if len(v)}
    if not per:
        return pd.DataFrame(), pd.DataFrame(columns=PAIRED_COLUMNS)
    table = pd.concat({k: pd.concat({"mean": v.mean(), "std": v.std(ddof=1)}) for k, v in per.items()}, axis=1).T
    table[("seeds", "")] = [len(v) for v in per.values()]
    paired = {}
    if reference in per:
        ref = per[reference]["official"]
        for name, v in per.items():
            if name != reference:
                paired[name] = paired_difference(ref - v["official"])
    out = pd.DataFrame.from_dict(paired, orient="index")
    out = out.reindex(columns=[*PAIRED_COLUMNS, *[c for c in out.columns if c not in PAIRED_COLUMNS]])
    return table, out.rename_axis(f"{reference} minus")


def paired_row(table: pd.DataFrame, key: Any, missing: str = "not measured") -> dict:
    """The official-score difference, 2 SE, seeds and verdict of row ``key`` of a paired table
    (``variants_across_seeds``, ``versus_longer_baselines``, ``results.differences``) as plain
    Python values; when the table has no such row: NaN, 0 seeds and ``missing`` as the verdict."""
    if key not in table.index:
        return {"official": np.nan, "2 SE": np.nan, "seeds": 0, "verdict": missing}
    row = table.loc[key]
    return {"official": float(row["official"]), "2 SE": float(row["2 SE"]), "seeds": int(row["seeds"]),
            "verdict": str(row["verdict"])}


#: System-4's members: (chapter, folder) of Systems 1-3 as Table 1 takes them.


VERSUS_COLUMNS = ["official", "official sd", "seeds", "reference official", "reference sd", "reference seeds",
                  "difference", "2 SE", "verdict"]


def versus(per_seed: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Every system of a ``table1_rows`` table against ``reference`` (one row per other system):
    both official scores (mean and std over seeds, a single seed's std counted as 0), ``difference``
    (system minus reference, points), ``2 SE`` (twice the standard error of the difference, the
    two systems' seeds taken as independent samples; NaN when either has one seed) and
    ``verdict``: ``"beats"`` when the difference exceeds 2 SE, ``"loses to"`` when it is below
    -2 SE, ``"is inside the seed noise of"`` otherwise, ``"cannot be judged (one seed) against"``
    with a single seed. Empty when ``reference`` has no rows."""
    if per_seed.empty or reference not in per_seed.index.get_level_values("system"):
        return pd.DataFrame(columns=VERSUS_COLUMNS).rename_axis("system")
    mean, std, n = mean_std(per_seed)
    off, sd = mean[("official", "")], std[("official", "")].fillna(0)
    rows = {}
    for system in off.index:
        if system == reference:
            continue
        d = float(off[system] - off[reference])
        se = float(np.sqrt(sd[system] ** 2 / n[system] + sd[reference] ** 2 / n[reference]))
        if n[system] < 2 or n[reference] < 2:
            two_se, verdict = np.nan, "cannot be judged (one seed) against"
        else:
            two_se = 2 * se
            verdict = "beats" if d > 2 * se else "loses to" if d < -2 * se else "is inside the seed noise of"
        rows[system] = {"official": float(off[system]), "official sd": float(sd[system]), "seeds": int(n[system]),
                        "reference official": float(off[reference]), "reference sd": float(sd[reference]),
                        "reference seeds": int(n[reference]), "difference": d, "2 SE": two_se, "verdict": verdict}
    return pd.DataFrame.from_dict(rows, orient="index", columns=VERSUS_COLUMNS).rename_axis("system")


def versus_longer_baselines(per_seed: pd.DataFrame, scale: pd.DataFrame,
                            baselines: Iterable[str] = ("AE-MSE", "AE-MAHALA")) -> pd.DataFrame:
    """Each learned system of a ``table1_rows`` table (its schedule in the study) against each
    baseline trained for the most epochs of the scale study, paired by seed index (both use
    the chapter's default seed + the index): one row per (system, baseline) with at least two
    paired seeds, ``baseline epochs`` and the ``paired_difference`` (system minus baseline) with
    the verdict ``"ahead of it"`` (mean > 2 SE), ``"behind it"`` (mean < -2 SE) or ``"level with it"``."""
    rows = []
    columns = ["system", "baseline", "baseline epochs", *PAIRED_COLUMNS]
    if per_seed.empty or scale.empty:
        return pd.DataFrame(columns=columns).set_index(["system", "baseline"])
    official = per_seed[("official", "")]
    for base in baselines:
        sel = scale[(scale.system == base) & (scale.backend == base)]
        if sel.empty:
            continue
        top = int(sel.epochs.max())
        ref = sel[sel.epochs == top].set_index("seed").official
        for system in official.index.get_level_values("system").unique():
            if system in baselines:
                continue
            d = (official.xs(system, level="system") - ref).dropna()
            if len(d) < 2:
                continue
            row = paired_difference(d)
            se2 = row["2 SE"]
            row["verdict"] = "ahead of it" if d.mean() > se2 else "behind it" if d.mean() < -se2 else "level with it"
            rows.append({"system": system, "baseline": base, "baseline epochs": top, **row})
    out = pd.DataFrame(rows)
    out = out.reindex(columns=[*columns, *[c for c in out.columns if c not in columns]])
    return out.set_index(["system", "baseline"])


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
                   reference: str, study_csv: str | Path | None = None) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """A chapter's ablation read from the seed study instead of retrained:
    ``(where the rows come from, variants_across_seeds table, paired differences)``."""
    rows, source = study_rows(profile, data, study_csv)
    table, paired = variants_across_seeds(rows, chapter, folders, backend, reference)
    return source, table, paired
