"""Results: metric tables, the report's Table-1 layout, embedding maps, and what run folders hold.

What the chapters show about a fitted system, computed once here:

* ``metrics_table`` / ``results_long``: several runs (variants x backends) in one table;
* ``table1_beside_published``: our Table-1 rows under the seed report's published rows, every
  row labelled with the dataset it comes from;
* ``embedding_map``: a 2-D UMAP of clip embeddings with every column a figure colours by;
* ``transfer_check``: a trained network, frozen, on another machine's recordings (e.g. the
  real fan clips): backends refitted on its train clips, AUC and pAUC of its test clips;
* ``differences``, ``domain_shift``, ``fit_summary``, ``additional_effect``: the numbers a
  chapter's reading quotes (tables and dicts; the chapter writes the sentences in its markdown
  and inserts the numbers with ``glue_values`` / myst-nb ``glue``);
* ``load_scores``: the per-clip test and training scores a run wrote
  (``detect.run_detector``): what an ensemble combines without refitting anything;
  ``load_members``: Systems 1-3's scores from their chapters' runs (System-4's members);
  ``load_embeddings``: a learned system's clip embeddings (``embedding.run_system``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from asdlib.evaluation import metrics
from asdlib.evaluation import published as report
from asdlib.systems.detect import DetectorRun
from asdlib.book.chapters import SYSTEM_CHAPTERS
from asdlib.book.runs import RunFolder, find_run

# Across seeds and schedules (the seed and scale studies): computed in asdlib.book.evidence, re-exported
# here so that chapters read every result through one module.
from asdlib.book.evidence import (BENCHMARK_RESULTS, METRICS, ONE_SEED, PAIRED_COLUMNS, TABLE1_SOURCES,  # noqa: F401
                       beside_study, calibration_record, design_study, mean_std, ordering, paired_difference,
                       paired_row, profile_epochs, run_metrics, scale_effect, scale_study, study_ablation, study_rows,
                       table1_rows, variants_across_seeds, versus, versus_longer_baselines)

PUBLISHED_LABEL = "published, real DCASE 2024 dev set"


# --------------------------------------------------------------------------- numbers for the prose
def glue_key(*parts: Any) -> str:
    """A myst-nb glue name from its parts: lower case, every run of other characters than
    letters and digits one ``_`` (``glue_key("add", "2 SE")`` -> ``"add_2_se"``)."""
    import re

    return "_".join(re.sub(r"[^0-9a-z]+", "_", str(p).lower()).strip("_") for p in parts if str(p) != "")


def plain(value: Any) -> Any:
    """``value`` as a plain Python value for ``glue``: numpy scalars to int/float/bool, missing
    numbers (None, NA) to NaN, so ``{glue:text}`key:.1f``` formats every glued number."""
    if value is None or value is pd.NA:
        return np.nan
    if isinstance(value, np.generic):
        return value.item()
    return value


def table_row(table: pd.DataFrame, key: Any, missing: dict | None = None) -> dict:
    """Row ``key`` of ``table`` as ``{column: plain value}``, every value keeping its column's
    type (an epoch count stays an int). When the table has no such row: NaN in every column
    but those ``missing`` gives (e.g. ``{"verdict": "not measured"}``)."""
    if key not in table.index:
        return {c: np.nan for c in table.columns} | dict(missing or {})
    return {c: plain(table[c].loc[key]) for c in table.columns}


def glue_values(prefix: str, values: dict) -> None:
    """Glue (myst-nb, not displayed) every entry of ``values`` as ``glue_key(prefix, key)``, as a
    plain value, for the chapter's markdown to quote with ``{glue:text}``. Returns nothing, so
    a cell may end with it without displaying anything."""
    from myst_nb import glue

    for key, value in values.items():
        glue(glue_key(prefix, key), plain(value), display=False)


def effect_phrase(row: dict) -> str:
    """A paired difference (``paired_row``) as the words a chapter's opening glues: its change of
    the official score over the seeds with the verdict, or that it is not measured here (a page
    never reads "+nan points")."""
    if not row["seeds"]:
        return "is not measured on these data (see its section below)"
    return (f"changes the official score by {row['official']:+.1f} points over {row['seeds']} seed(s) "
            f"({row['verdict']})")


def glue_effect(prefix: str, table: pd.DataFrame, key: Any, missing: str) -> dict:
    """Row ``key`` of a paired table (``paired_row``) glued as ``<prefix>_official``,
    ``<prefix>_2_se``, ``<prefix>_seeds``, ``<prefix>_verdict`` and its words as
    ``<prefix>_phrase`` (``effect_phrase``); returns the row."""
    from myst_nb import glue

    row = paired_row(table, key, missing=missing)
    glue_values(prefix, row)
    glue(glue_key(prefix, "phrase"), effect_phrase(row), display=False)
    return row


def versus_study_phrase(beside: pd.DataFrame, official: float, names: Iterable[str] = ("AE-MSE", "AE-MAHALA")) -> str:
    """This run's official score against the seed-study means of ``names`` (rows ``"<name> (seed
    study)"`` of ``beside_study``) as the words a chapter's opening glues."""
    parts = [f"{abs(d):.1f} official points {'above' if d >= 0 else 'below'} {n}'s mean over "
             f"{int(beside.loc[f'{n} (seed study)', 'seeds'])} seed(s)"
             for n in names if f"{n} (seed study)" in beside.index
             for d in [official - beside.loc[f"{n} (seed study)", "official"]]]
    if not parts:
        return ("no comparison is possible here, because the seed study has not run on these data "
                "(chapter 07 puts every system side by side)")
    return "this run lies " + ", ".join(parts)


# --------------------------------------------------------------------------- tables
def metrics_table(runs: dict[str, DetectorRun], system: str = "") -> pd.DataFrame:
    """The runs' metrics side by side: rows (system, backend, machine type), AUC-s/AUC-t/pAUC."""
    parts = []
    for name, run in runs.items():
        m = run.metrics[["AUC-s", "AUC-t", "pAUC", "official"]].copy()
        m.insert(0, "backend", name)
        if system:
            m.insert(0, "system", system)
        parts.append(m.reset_index())
    keys = (["system"] if system else []) + ["backend", "machine_type"]
    return pd.concat(parts, ignore_index=True).set_index(keys)


def results_long(results: dict[str, dict[str, DetectorRun]]) -> pd.DataFrame:
    """Several variants' runs in one long table: variant, backend, machine_type, AUC-s, AUC-t, pAUC
    (percent) and the official score on the Total rows."""
    parts = [metrics_table(runs, system=variant) for variant, runs in results.items()]
    out = pd.concat(parts) * 100
    return out.rename_axis(["variant", "backend", "machine_type"])


def totals(long: pd.DataFrame) -> pd.DataFrame:
    """The Total rows of a ``results_long`` table: (variant, backend) x AUC-s, AUC-t, pAUC, official."""
    return long.xs("Total", level="machine_type")[["AUC-s", "AUC-t", "pAUC", "official"]]


def differences(long: pd.DataFrame, with_: str, without: str) -> pd.DataFrame:
    """Per backend (index), how much variant ``with_`` changes the Total AUC-s, AUC-t, pAUC and
    official score against ``without`` (``results_long`` table; points, rounded to 0.1): one
    run each, so ``seeds`` is 1, ``2 SE`` NaN and ``verdict`` ``ONE_SEED`` (the columns of a
    paired table, ``paired_row`` reads either)."""
    t = totals(long)
    delta = (t.loc[with_] - t.loc[without]).round(1)
    return delta.assign(**{"2 SE": np.nan, "seeds": 1, "verdict": ONE_SEED})


WITH_ADDITIONAL = " + additional"  # suffix of a variant trained on the dev and the additional set


def with_additional(dev_runs: dict[str, DetectorRun], additional_runs: dict[str, DetectorRun], variant: str,
                    run: RunFolder | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dev-only training against dev + additional training, evaluated on the same dev types:
    ``(results_long table of both variants, differences: dev + additional minus dev only per
    backend)``; with ``run`` the table is also saved there as ``metrics_additional.csv``."""
    both = results_long({variant: dev_runs, variant + WITH_ADDITIONAL: additional_runs})
    if run is not None:
        run.save_table("metrics_additional", both.reset_index())
    return both, differences(both, variant + WITH_ADDITIONAL, variant)


def network_names(folder: str, system: str, use_additional: bool) -> tuple[str, str]:
    """The run sub-folder and the fitted-system name of a chapter's network: ``system1`` /
    ``System-1`` trained on the development set alone, ``system1_additional`` /
    ``System-1-additional`` on dev + additional (the names Table 1 and ``asdlib.book.score`` read)."""
    return (folder + "_additional", system + "-additional") if use_additional else (folder, system)


def fit_summary(detector, seconds: float) -> dict:
    """What a learned system just fitted learnt: its ``classes``, the machine ``additional
    types`` among them (from the additional training set), the ``epochs`` trained, the epoch it
    ``resumed from`` (0: from scratch) and the ``seconds`` of fitting and scoring."""
    return {"classes": len(detector.classes_), "additional types": len(detector.extra_types_),
            "epochs": len(detector.history_), "resumed from": int(detector.resumed_from_epoch_),
            "seconds": float(seconds)}


def additional_effect(chapter_name: str, folder: str, variant: str, backend: str, profile: str, data: Any,
                      dev_runs: dict[str, DetectorRun] | None, additional_runs: dict[str, DetectorRun] | None,
                      run: RunFolder | None = None, asked: bool = True
                      ) -> tuple[pd.DataFrame | None, pd.DataFrame, str]:
    """What the additional training set adds to a chapter's system (``folder``: its dev-only
    run sub-folder, e.g. ``system1``; ``variant``: its dev-only name): ``(table, effect,
    source)``, ``effect`` indexed by backend with the columns of a paired table (``official``:
    dev + additional minus dev only, ``2 SE``, ``seeds``, ``verdict``), ``source`` where both
    variants come from.

    Both networks trained here (``dev_runs`` and ``additional_runs``): the two runs' totals
    side by side and ``differences`` per backend (one seed). One of them trained here (the
    dev + additional one, or, with ``asked=False``, the dev-only one of a run told not to use
    the additional set): the seed study's two variants across seeds (``study_ablation``), the
    paired difference at ``backend``. Asked for but no additional data: no table, an empty
    effect."""
    if additional_runs is None and asked:
        return (None, pd.DataFrame(columns=PAIRED_COLUMNS),
                "no additional training data (a data_root of your own: pass additional_roots=[...]); skipped")
    if dev_runs is not None and additional_runs is not None:
        both, effect = with_additional(dev_runs, additional_runs, variant, run)
        return totals(both), effect, "both variants trained in this run (one seed)"
    source, table, paired = study_ablation(profile, data, chapter_name,
                                           {variant + WITH_ADDITIONAL: folder + "_additional", variant: folder},
                                           backend, variant + WITH_ADDITIONAL)
    effect = paired.rename(index={variant: backend}).rename_axis("backend")
    return (table if len(table) else None), effect, source


def table1_beside_published(ours: dict[str, pd.DataFrame], systems: Iterable[str], data: Any) -> pd.DataFrame:
    """Our rows (``{row name: metrics table}``) in the report's Table 1 layout, under the
    published rows of ``systems``. Every row carries the dataset it comes from (other systems
    of the same data: ``beside_study``, and chapter 07's Table 1)."""
    return report.side_by_side(metrics.table1(ours), report.table1(list(systems)), ours_label=data.label,
                               published_label=PUBLISHED_LABEL)


# --------------------------------------------------------------------------- embeddings
def embedding_map(detector, clips: pd.DataFrame, pseudo_labels: pd.Series | None = None,
                  attribute_roots: Iterable[str | Path] = (), seed: int = 0) -> pd.DataFrame:
    """UMAP (``projection.embed_umap``, cosine) of a fitted embedding detector's clip
    embeddings, with everything a plot colours by.

    Columns: ``x``, ``y``, ``file_name``, ``machine_type``, ``split``, ``domain``,
    ``condition`` (normal / anomaly), ``trained_class`` (the label the network learnt, for
    train clips), ``pseudo_label`` (when given), ``attribute`` (the TRUE operating group:
    visible attributes, hidden ones from the correspondence files under ``attribute_roots``;
    pseudo-label systems never see these), ``score`` (the detector's current backend).
    """
    from asdlib.data.layout import attribute_groups
    from asdlib.clustering.projection import embed_umap

    clips = clips.reset_index(drop=True)
    xy = embed_umap(detector.embed(clips), seed=seed, metric="cosine")
    frame = clips[["file_name", "machine_type", "split", "domain"]].copy()
    frame["x"], frame["y"] = xy[:, 0], xy[:, 1]
    frame["condition"] = np.where(clips["is_anomaly"] == 1, "anomaly", "normal")
    is_train = clips.split == "train"
    trained = detector.label_source_.labels(clips[is_train])
    frame["trained_class"] = trained.reindex(clips.index).fillna("(test clip)")
    if pseudo_labels is not None:
        frame["pseudo_label"] = pd.Series(pseudo_labels).reset_index(drop=True).fillna("(none)").to_numpy()
    frame["attribute"] = attribute_groups(clips, list(attribute_roots)).fillna("(unknown)").to_numpy()
    frame["score"] = detector.score(clips)
    return frame


def transfer_check(detector, clips: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A trained embedding network on recordings of a machine it never saw (e.g. ``sensiml-fan``).

    The network stays frozen; only the kNN banks (and thresholds) are built from the train
    clips of ``clips`` (``transfer``). Such a set is one domain, so AUC-t does not exist:
    AUC over all clips (= AUC-s) and pAUC are returned, plus per-clip scores.
    """
    train = clips[clips.split == "train"].reset_index(drop=True)
    test = clips[clips.split == "test"].reset_index(drop=True)
    moved = detector.transfer(train).set_backend("knn")
    s = moved.score(test)
    decision = moved.decide(test, s)
    table = pd.DataFrame([{
        "backend": "knn (network frozen, banks from these train clips)",
        **metrics.one_domain_summary(test["is_anomaly"], s, decision),
    }]).set_index("backend")
    scores = test[["file_name", "label", "attr_string"]].assign(score=s, decision=decision)
    return table, scores


# --------------------------------------------------------------------------- run folders
def load_scores(run: RunFolder | str | Path, system: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(test scores, train scores)`` that ``run_detector`` wrote under ``<run>/<system>/``.

    Test scores: file_name, machine_type, domain, label, is_anomaly, score, decision; train
    scores: file_name, machine_type, domain, score (e.g. for normalising an ensemble member
    with statistics of its training clips only). A missing file raises, naming it and the
    chapter to run.
    """
    root = Path(run.root if isinstance(run, RunFolder) else run) / system
    paths = [root / "scores.csv", root / "train_scores.csv"]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p} does not exist: run the chapter that writes {system!r} "
                                    f"into {root.parent} first")
    return pd.read_csv(paths[0]), pd.read_csv(paths[1])


def load_embeddings(run: RunFolder | str | Path, system: str) -> tuple[pd.DataFrame, np.ndarray]:
    """``(clips, embeddings)`` that ``systems.embedding.run_system`` wrote to
    ``<run>/<system>/embeddings.npz``: a table of file_name, machine_type, split and the
    ``(n_clips, dim)`` matrix of the system's network, rows aligned."""
    from asdlib.systems.embedding import EMBEDDINGS_FILE

    path = Path(run.root if isinstance(run, RunFolder) else run) / system / EMBEDDINGS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: re-run the chapter that writes {system!r} into "
                                f"{path.parent.parent} (runs made before embeddings were saved lack it)")
    with np.load(path, allow_pickle=False) as npz:
        clips = pd.DataFrame({k: npz[k] for k in ("file_name", "machine_type", "split")})
        return clips, npz["embedding"]


#: System-4's members: the chapter whose run holds each system and its folder there.
def _member_runs() -> dict[str, tuple[str, str]]:
    """System-4's members as Table 1 takes them (``TABLE1_SOURCES``): (chapter, folder)."""
    return {s: TABLE1_SOURCES[s][:2] for s in ("System-1", "System-2", "System-3")}


#: System-4's members: (chapter, run sub-folder) of Systems 1-3, from Table 1's sources.
MEMBER_RUNS = _member_runs()


def member_folder(run: RunFolder, folder: str) -> str:
    """``folder`` when the run holds it, else the development-only variant (a run made without
    the additional training set, e.g. on a user's own data root)."""
    if (Path(run.root) / folder).is_dir() or not folder.endswith("_additional"):
        return folder
    return folder.removesuffix("_additional")


def _chapter_backend(run: RunFolder) -> str:
    """The backend a learned-system chapter decided with: ``backend`` of the first settings
    block of its ``config.json`` (the system's own config comes first in every chapter)."""
    blocks = [v for v in run.load_json("config").values() if isinstance(v, dict) and "backend" in v]
    if not blocks:
        raise ValueError(f"{run.root}/config.json names no backend; pass the member's backend explicitly")
    return blocks[0]["backend"]


def member_runs(profile: str, data: Any, members: dict[str, tuple[str, str]] | None = None,
                runs_root: str | Path | None = None, seed: int | None = None) -> dict[str, RunFolder]:
    """Each member's complete chapter run on ``data`` (with ``seed``: a run of that seed);
    a missing one raises, naming the chapter to run and the command."""
    found = {}
    for system, (chapter, _) in (members or MEMBER_RUNS).items():
        run = find_run(chapter, profile, data, runs_root, quiet=True, seed=seed)
        if run is None:
            raise FileNotFoundError(
                f"{system}: no complete run of chapter {chapter} at profile {profile!r} on this data "
                f"({data.label}). Run it first:\n  asd run notebooks/{chapter}.py "
                f"-p profile {profile}" + (f" -p data_root {data.root}" if not getattr(data, "synthetic", True) else ""))
        found[system] = run
    return found


def available_members(profile: str, data: Any, runs_root: str | Path | None = None, seed: int | None = None
                      ) -> tuple[dict[str, RunFolder], dict[str, str]]:
    """System-4's members that have a complete run on ``data`` (with ``seed``: of that seed),
    and for each missing one why: a chapter that cannot train on some data (System-2 on one
    machine at one setting has one class) leaves an incomplete run, and the ensemble combines
    the others."""
    found, missing = {}, {}
    for system, (chapter, _) in MEMBER_RUNS.items():
        run = find_run(chapter, profile, data, runs_root, quiet=True, seed=seed)
        if run is not None:
            found[system] = run
            continue
        missing[system] = (f"no complete run of chapter {chapter} on these data ({data.label}); "
                           f"`asd run notebooks/{chapter}.py -p profile {profile}"
                           + (f" -p data_root {data.root}" if not getattr(data, "synthetic", True) else "")
                           + "` trains it or says why it cannot")
    return found, missing


def load_members(profile: str, data: Any, backends: dict[str, str] | None = None,
                 members: dict[str, tuple[str, str]] | None = None, runs_root: str | Path | None = None,
                 seed: int | None = None) -> tuple[dict[str, tuple[pd.DataFrame, pd.DataFrame]], pd.DataFrame]:
    """System-4's members as ``ScoreEnsemble`` takes them, ``{system: (test, train scores)}``,
    read from their chapters' complete runs on ``data`` (never refitted), and a table saying
    where each came from (chapter, backend, run folder). A member's backend is the one its
    chapter decided with unless ``backends`` names another."""
    members = members or MEMBER_RUNS
    loaded, sources = {}, []
    for system, run in member_runs(profile, data, members, runs_root, seed).items():
        backend = (backends or {}).get(system) or _chapter_backend(run)
        folder = member_folder(run, members[system][1])
        loaded[system] = load_scores(run, f"{folder}/{backend}")
        sources.append({"system": system, "chapter": members[system][0], "folder": folder, "backend": backend,
                        "training data": "dev + additional" if folder.endswith("_additional") else "dev only",
                        "run folder": str(run.root)})
    return loaded, pd.DataFrame(sources).set_index("system")


def real_fan_check(detector, run: RunFolder) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``transfer_check`` on the real SensiML fan recordings, saved in ``<run>/real-sensiml-fan/``;
    None (with a note) when the real recordings are not there."""
    from asdlib.data.layout import real_clips

    fan = real_clips("sensiml-fan", ["fan"])
    if fan is None:
        return None
    table, scores = transfer_check(detector, fan)
    run.save_table("real-sensiml-fan/metrics", table, index=True)
    run.save_table("real-sensiml-fan/scores", scores)
    return table, scores


def backend_totals(table: pd.DataFrame) -> pd.DataFrame:
    """The Total rows of ``EmbeddingDetector.compare_backends``, one row per backend."""
    return table[table["machine_type"] == "Total"].set_index("backend").drop(columns="machine_type")


def domain_shift(table: pd.DataFrame, reference: str = "knn") -> pd.DataFrame:
    """Where each backend of a ``compare_backends`` table loses AUC-t, one row per backend: the
    AUC within the source and within the target domain, how often a target normal scores above
    a source normal (``target above source``, percent; 50 = one scale), its AUC-s and AUC-t,
    and its AUC-t, AUC-s, pAUC and official score minus ``reference``'s (``... vs <reference>``,
    points; 0 on the reference's row)."""
    t = backend_totals(table)
    ref = t.loc[reference]
    out = t[["within source", "within target", "target above source", "AUC-s", "AUC-t"]].copy()
    for m in ("AUC-t", "AUC-s", "pAUC", "official"):
        out[f"{m} vs {reference}"] = t[m] - ref[m]
    return out


def system_totals(profile: str, data: Any, runs_root: str | Path | None = None) -> pd.DataFrame:
    """Total AUC-s / AUC-t / pAUC / official (percent) of every system and backend found in
    the chapters' complete runs on ``data`` (rows: system, backend; chapters without a run
    are left out with a note), and the ``training data`` of each learned system's network
    (``dev + additional`` or ``dev only``; ``-`` for the baselines, per type on dev)."""
    rows = []
    for chap, system in SYSTEM_CHAPTERS.items():
        run = find_run(chap, profile, data, runs_root)
        if run is None:
            continue
        m = run.load_table("metrics")
        tot = m[m["machine_type"] == "Total"]
        if system is None:  # the baselines' table: fractions, one row per system
            for _, r in tot.iterrows():
                rows.append({"system": r["system"], "backend": "-", **{k: 100 * r[k] for k in
                                                                        ("AUC-s", "AUC-t", "pAUC", "official")},
                             "training data": "-"})
        else:  # learned systems: percent, one row per (variant, backend); the chapter's main variant
            main = tot[tot["variant"] == tot["variant"].iloc[0]]
            for _, r in main.iterrows():
                rows.append({"system": system, "backend": r["backend"],
                             **{k: r[k] for k in ("AUC-s", "AUC-t", "pAUC", "official")},
                             "training data": "dev + additional" if str(r["variant"]).endswith(WITH_ADDITIONAL)
                             else "dev only"})
    return pd.DataFrame(rows).set_index(["system", "backend"]) if rows else pd.DataFrame()


def diagnostics_by_system(profile: str, data: Any, backends: Iterable[str] = ("knn", "kmeans", "standardised"),
                          runs_root: str | Path | None = None) -> pd.DataFrame:
    """Where each system loses AUC-t (``metrics.domain_diagnostics`` Totals, percent): the
    baselines from their test scores, the learned systems from their ``backends.csv``."""
    rows = []
    for chap, system in SYSTEM_CHAPTERS.items():
        run = find_run(chap, profile, data, runs_root, quiet=True)
        if run is None:
            continue
        if system is None:
            for name in ("AE-MSE", "AE-MAHALA"):
                scores = run.load_table(f"{name}/scores")
                d = metrics.domain_diagnostics(scores).loc["Total"]
                rows.append({"system": name, "backend": "-", **d.to_dict()})
        elif (run.root / "backends.csv").is_file():
            table = backend_totals(run.load_table("backends"))
            for b in [b for b in backends if b in table.index]:
                rows.append({"system": system, "backend": b,
                             **table.loc[b, ["within source", "within target", "target above source"]].to_dict()})
    return pd.DataFrame(rows).set_index(["system", "backend"]) if rows else pd.DataFrame()
