"""Numbers published in the seed report (Tian et al., DCASE 2024 Task 2 technical report).

Table 1: development-set results on the REAL DCASE 2024 data, in percent. Kept here once so
every chapter places its own (usually synthetic) numbers next to the published ones and
says which dataset each number comes from.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

TABLE1_TYPES = ["ToyCar", "ToyTrain", "bearing", "fan", "gearbox", "slider", "valve", "Total"]
TABLE1_METRICS = ["AUC-s", "AUC-t", "pAUC"]

_ROWS = {
    "AE-MSE": [67.0, 33.8, 48.8, 76.6, 46.9, 48.0, 62.0, 61.4, 57.6, 67.7, 55.2, 57.5,
               70.4, 69.3, 55.7, 66.5, 56.0, 51.8, 51.1, 46.3, 52.4, 65.0, 50.3, 52.8],
    "AE-MAHALA": [63.0, 37.4, 51.0, 62.0, 40.0, 48.2, 54.4, 51.6, 58.8, 79.4, 42.7, 53.4,
                  81.8, 74.4, 55.7, 75.4, 68.1, 49.1, 55.7, 53.6, 51.3, 65.8, 49.5, 52.3],
    "System-1": [67.0, 38.7, 49.5, 71.4, 49.2, 48.5, 75.4, 67.3, 57.0, 76.8, 44.5, 57.7,
                 71.0, 66.4, 53.5, 68.0, 60.4, 59.4, 56.0, 67.1, 51.8, 68.7, 53.8, 53.6],
    "System-2": [70.1, 42.3, 49.2, 65.2, 37.2, 49.3, 71.9, 69.9, 59.3, 82.1, 43.0, 59.3,
                 57.7, 58.3, 51.5, 63.3, 57.9, 50.6, 63.2, 61.4, 57.1, 66.9, 50.4, 53.4],
    "System-3": [56.4, 48.0, 50.0, 80.3, 61.7, 52.4, 57.4, 67.4, 53.1, 69.3, 52.0, 55.5,
                 70.7, 69.5, 51.1, 92.1, 86.4, 76.3, 84.9, 79.7, 67.1, 70.8, 63.9, 56.7],
    "System-4": [58.2, 46.9, 49.6, 80.4, 60.6, 52.3, 58.8, 68.6, 53.8, 69.7, 51.9, 55.8,
                 70.5, 70.1, 51.4, 92.2, 86.2, 76.0, 82.9, 79.6, 65.6, 71.4, 63.6, 56.6],
}


def table1(systems: list[str] | None = None) -> pd.DataFrame:
    """The report's Table 1 (real DCASE 2024 dev set, percent) in ``metrics.table1`` layout."""
    cols = pd.MultiIndex.from_product([TABLE1_TYPES, TABLE1_METRICS])
    frame = pd.DataFrame.from_dict(_ROWS, orient="index", columns=cols)
    return frame.loc[systems] if systems else frame


def published_type(name: str, published: Sequence[str]) -> str | None:
    """The real type a synthetic one imitates (``synFan`` -> ``fan``), matched case-insensitively."""
    stem = name[3:] if name.startswith("syn") else name
    for p in published:
        if p.lower() == stem.lower():
            return p
    return None


def side_by_side(ours: pd.DataFrame, published: pd.DataFrame, ours_label: str,
                 published_label: str) -> pd.DataFrame:
    """Our Table-1-layout rows under the published ones, one table, each row labelled by dataset.

    Our machine types are placed under the column of the real type they imitate
    (``synFan`` under ``fan``); a type with no published counterpart keeps its own column.
    The row index is ``(dataset, system)``, so no number can be read without its dataset.
    """
    mapping = {t: published_type(t, published.columns.get_level_values(0).unique()) or t
               for t in ours.columns.get_level_values(0).unique()}
    renamed = ours.rename(columns=mapping, level=0)
    both = pd.concat({published_label: published, ours_label: renamed}, names=["dataset", "system"])
    order = list(published.columns.get_level_values(0).unique())
    extra = [t for t in renamed.columns.get_level_values(0).unique() if t not in order]
    types = [t for t in order if t != "Total"] + extra + (["Total"] if "Total" in order else [])
    cols = pd.MultiIndex.from_product([types, list(published.columns.get_level_values(1).unique())])
    return both.reindex(columns=cols)


def published_official(systems: list[str] | None = None) -> pd.Series:
    """The official score (harmonic mean of every type's AUC-s, AUC-t and pAUC together) of
    the published Table 1 rows, computed from those rows (percent)."""
    t = table1(systems).drop(columns="Total", level=0)
    return t.apply(lambda row: len(row) / (1.0 / row).sum(), axis=1).rename("official")


#: Published real-data levels that the generator is calibrated towards (official score,
#: percent, real DCASE 2024 development set). Only the reference detectors are compared with
#: them, never our learned systems.
REAL_DATA_REFERENCE = {
    "spectrogram kNN, no training": dict(
        official=54.0,
        source="a public ASD toolkit's re-run on the real DCASE 2024 dev set, as quoted in this "
               "project's issue 9 (not in the seed report; not re-checkable offline)"),
}


def real_data_reference() -> pd.DataFrame:
    """The reference levels above plus the AE baselines' official scores computed from the
    report's Table 1 (percent; real DCASE 2024 dev set)."""
    rows = {k: v for k, v in REAL_DATA_REFERENCE.items()}
    for system, value in published_official(["AE-MSE", "AE-MAHALA"]).items():
        rows[f"{system} (seed report, Table 1)"] = dict(official=round(float(value), 1),
                                                       source="seed report, Table 1")
    return pd.DataFrame.from_dict(rows, orient="index")
