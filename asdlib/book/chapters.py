"""The chapters: one registry of what each chapter is, and the dataset a chapter runs on.

``CHAPTERS`` is the one place that names chapters: the Table-1 rows each trains (run
sub-folder, headline back end), which chapters' run folders it reads (so it runs after them),
whether it keeps fitted detectors (``asd score``) and whether the seed study runs it. Every
other table (the scheduler's order, Table 1's sources, the study's chapters, what ``score``
accepts) is derived from it.

``chapter_data`` gives a chapter one evaluated root plus roots whose train clips only train; it locates (or generates) the data, scans it once and fingerprints it; every
chapter calls it through ``asdlib.book.runner`` (which re-exports it)::

    chapter = experiment.chapter_data(profile, data_root, machine_types, additional_roots=None)
    chapter.clips, chapter.label, chapter.training_clips(True)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Iterable

from asdlib import profiles
from asdlib.book.runs import _rel


@dataclasses.dataclass(frozen=True)
class Chapter:
    """One chapter of the book (``notebooks/<stem>.py``)."""

    stem: str
    #: Table-1 row -> (run sub-folder holding its metrics, headline back end; "" = none)
    table1: dict = dataclasses.field(default_factory=dict)
    reads: tuple[str, ...] = ()  # chapters whose run folders it reads: it runs after them
    fits: bool = False  # keeps fitted detectors in its run folder (``asd score`` loads them)
    studied: bool = False  # the seed study runs it once per seed ...
    study: dict = dataclasses.field(default_factory=dict)  # ... with these parameters beyond the book's defaults

    @property
    def system(self) -> str | None:
        """The one system this chapter trains (None: none, or several, as the baselines)."""
        return next(iter(self.table1)) if len(self.table1) == 1 else None


_TRAINED = ("02_baselines", "03_system1", "04_system2", "05_system3", "06_ensemble")
#: The seed study trains what a chapter reads from it: the report's setting (dev + additional
#: training set), the dev-only networks beside it and the ablations. The book trains one network
#: per system chapter (its defaults); the rest comes from the study.
_STUDIED = dict(additional=True, ablations=True, compare_dev_only=True)

#: Every chapter, in the book's order. Systems 1-3's Table-1 rows are the report's setting
#: (development + additional training set) with each chapter's headline back end; System-4
#: is their ensemble.
CHAPTERS: dict[str, Chapter] = {c.stem: c for c in (
    Chapter("00_dataset"),
    Chapter("01_statistical_clustering"),
    Chapter("02_baselines", {"AE-MSE": ("AE-MSE", ""), "AE-MAHALA": ("AE-MAHALA", "")}, fits=True, studied=True),
    Chapter("03_system1", {"System-1": ("system1_additional", "knn")}, fits=True, studied=True, study=_STUDIED),
    Chapter("04_system2", {"System-2": ("system2_additional", "knn")}, fits=True, studied=True, study=_STUDIED),
    Chapter("05_system3", {"System-3": ("system3_additional", "kmeans")}, fits=True, studied=True, study=_STUDIED),
    Chapter("06_ensemble", {"System-4": ("system4", "zscore")}, reads=_TRAINED[1:4], studied=True),
    Chapter("07_results", reads=_TRAINED),
    Chapter("08_sensitivity"),  # reads the stored sensitivity study (asd sensitivity), trains nothing
    Chapter("09_diagnostics", reads=_TRAINED),
    Chapter("10_scale"),
)}

#: Which chapters read which other chapters' run folders (a chapter runs after these).
READS_RUNS_OF: dict[str, tuple[str, ...]] = {c.stem: c.reads for c in CHAPTERS.values() if c.reads}


def prerequisites(notebooks: Iterable[str | Path]) -> dict[str, tuple[str, ...]]:
    """For each selected notebook (a path or a stem), the selected notebooks it must run after
    (``READS_RUNS_OF``), in the order selected. A prerequisite that is not selected is not
    waited for: the chapter then reads that chapter's latest complete run."""
    stems = [Path(n).stem for n in notebooks]
    return {s: tuple(p for p in stems if p in READS_RUNS_OF.get(s, ()) and p != s) for s in stems}

#: Where each row of the report's Table 1 comes from: row -> (chapter, run sub-folder, back end).
TABLE1_SOURCES: dict[str, tuple[str, str, str]] = {
    row: (c.stem, folder, backend) for c in CHAPTERS.values() for row, (folder, backend) in c.table1.items()}
#: The chapters that train systems, with the one system each holds (None: the two baselines).
SYSTEM_CHAPTERS: dict[str, str | None] = {c.stem: c.system for c in CHAPTERS.values() if c.table1}
#: The chapters whose run folders keep fitted detectors.
FITTED_CHAPTERS: tuple[str, ...] = tuple(c.stem for c in CHAPTERS.values() if c.fits)
#: The chapters a default seed study runs.
STUDY_CHAPTERS: tuple[str, ...] = tuple(c.stem for c in CHAPTERS.values() if c.studied)


@dataclasses.dataclass
class ChapterData:
    """The dataset a chapter runs on: its root, its clip table, its fingerprint, and how to
    label its numbers; plus the train clips of further data roots (``additional``) that may
    train a learned system's network, never scored."""

    root: Path
    clips: Any  # pandas.DataFrame (asdlib.data.layout.CLIP_COLUMNS)
    label: str  # e.g. "ours, SYNTHETIC demo data, generator 2.0.0": every table row of ours carries it
    synthetic: bool
    fingerprint: str  # asdlib.data.layout.fingerprint of the clips: run folders are keyed by it
    additional_roots: list = dataclasses.field(default_factory=list)
    additional: Any = None  # train clips of additional_roots (DataFrame; empty when none)
    additional_fingerprint: str = ""
    problems: list = dataclasses.field(default_factory=list)  # what the scan found (asdlib.data.layout.clip_table)

    @property
    def train(self):
        """The train clips of the evaluated types."""
        return self.clips[self.clips.split == "train"].reset_index(drop=True)

    def training_clips(self, additional: bool = True):
        """The clips a learned system's network trains on: the evaluated types' train clips,
        then (``additional``) the additional roots' train clips, in the order
        ``EmbeddingDetector.fit(train, extra_train=...)`` joins them (so a label source fitted
        on this table is not fitted again)."""
        import pandas as pd

        if not additional or self.additional is None or not len(self.additional):
            return self.train
        return pd.concat([self.train, self.additional], ignore_index=True)

    def additional_key(self) -> dict:
        """What identifies the additional training data (for a run folder's config)."""
        return {"roots": [_rel(r) for r in self.additional_roots], "fingerprint": self.additional_fingerprint,
                "types": sorted(self.additional.machine_type.unique()) if self.additional is not None
                and len(self.additional) else []}


def _additional_clips(main_clips, roots: list[Path]):
    """Train clips of ``roots``, checked: no type twice, none shared with the evaluated data."""
    import pandas as pd

    from asdlib import data

    tables, seen = [], {t: "the evaluated data root" for t in main_clips.machine_type.unique()}
    for r in roots:
        if not Path(r).is_dir():
            raise FileNotFoundError(f"additional data root {r} is not a folder: give DCASE-layout folders "
                                    "(<root>/<type>/train/*.wav) or an empty list")
        t = data.clip_table(r, splits=("train",))  # only its train clips are ever used
        for mtype in t.machine_type.unique():
            if mtype in seen:
                raise ValueError(f"machine type {mtype} is in {r} and in {seen[mtype]}: each type must come "
                                 "from one data root (drop the root or the type)")
            seen[mtype] = str(r)
        tables.append(t)
    if not tables:
        return pd.DataFrame(columns=main_clips.columns)
    return pd.concat(tables, ignore_index=True)


def chapter_data(profile: str, data_root: str | Path = "", machine_types: Iterable[str] | None = None,
                 data_seed: int = 0, additional_roots: Iterable[str | Path] | None = None) -> ChapterData:
    """Locate (or generate) a chapter's dataset and scan it, once for every chapter.

    Empty ``data_root``: the generated dataset of ``profile`` (``asdlib.profiles``: ``paper``
    uses the ``full`` data), made on first use. Otherwise a DCASE-layout folder; it counts
    as synthetic only when it carries the generator's manifest. Problems found while
    scanning are warned by name.

    ``additional_roots``: further DCASE-layout roots whose *train* clips may also train a
    learned system's network (the report trains on the development set plus the additional
    training set). None: the generated ``additional`` part of the same profile when the
    data are the generated default, none otherwise; ``[]``: none.
    """
    from asdlib import data, synth

    if data_root:
        root = Path(data_root)
        manifest = synth.read_manifest(root) if root.is_dir() else None
    else:
        root = synth.ensure_dataset(profiles.data_profile(profile), seed=data_seed)
        manifest = synth.read_manifest(root)
    synthetic = bool(manifest and manifest.get("synthetic"))
    label = (f"ours, SYNTHETIC {manifest['profile']} data, generator {manifest.get('version', '?')}" if synthetic
             else f"ours, external data ({root.name}, not generated)")
    clips = data.clip_table(root, list(machine_types) if machine_types else None)
    if additional_roots is None:
        additional_roots = ([synth.ensure_dataset(profiles.data_profile(profile), seed=data_seed, part="additional")]
                            if not data_root else [])
    extra_roots = [Path(r) for r in additional_roots]
    extra = _additional_clips(clips, extra_roots)
    return ChapterData(root=root, clips=clips, label=label, synthetic=synthetic, fingerprint=data.fingerprint(clips),
                       problems=list(clips.attrs.get("problems", [])),
                       additional_roots=extra_roots, additional=extra,
                       additional_fingerprint=data.fingerprint(extra) if len(extra) else "")
