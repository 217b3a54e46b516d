"""A user's own recordings into the DCASE layout: ``asd import SRC --out DIR``.

Accepted inputs (``plan_import``):

1. a folder of normal clips, ``SRC/*.wav`` (or nested): all train, normal, source domain, one
   machine type (``--machine-type``, default the folder's name);
2. MIMII-style folders: ``SRC/normal/`` and ``SRC/abnormal/`` (or ``SRC/<type>/normal|abnormal``
   for several types), or ``SRC/train/`` + ``SRC/test/normal|abnormal/``. Without a train
   folder a seeded split sends some normals to test (``--test-normals``: a count, a fraction,
   or ``auto`` = as many as there are anomalies, at most half the normals); every abnormal
   clip goes to test;
3. a CSV manifest (``--manifest FILE``): columns ``file, split, label`` and optionally
   ``domain`` (default source), ``attributes`` (``key=value;key=value``) and
   ``machine_type``; paths relative to the manifest's folder.

The output, ``DIR/<type>/train|test/section_00_<domain>_<split>_<label>_<NNNN>_<attrs>.wav``
(names from ``asdlib.data.layout.clip_name``, the rule ``parse_clip_name`` reads back), an
``attributes_00.csv`` per type as DCASE writes it, and ``DIR/import_manifest.csv``: every
file seen, what it became (or why it was skipped or ignored). Clips are symbolic links to
the sources (absolute targets) unless ``--copy`` or ``--hardlink`` is given; where links
cannot be made the audio is copied, with one warning.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from asdlib.data.layout import (
    NO_ATTRIBUTE, CLIP_RE, DataError, _check_audio_file, clip_name, format_attr_string, scan_dataset,
)

MANIFEST_NAME = "import_manifest.csv"
MANIFEST_COLUMNS = ["out_file", "source", "status", "how", "machine_type", "split", "domain", "label",
                    "attributes", "origin"]
INPUT_COLUMNS = ("file", "split", "label", "domain", "attributes", "machine_type")
HOW = ("symlink", "hardlink", "copy")
SPLITS = ("train", "test")
DOMAINS = ("source", "target")
#: Folder or manifest words for a label (MIMII writes ``abnormal``, DCASE ``anomaly``).
LABELS = {"normal": "normal", "abnormal": "anomaly", "anomaly": "anomaly", "anomalous": "anomaly"}
SCHEME_DIRS = set(SPLITS) | set(LABELS)  # folder names that make a folder one machine type's
COUNT_COLUMNS = [f"{s} {d} {lab}" for s, d, lab in (
    ("train", "source", "normal"), ("train", "target", "normal"), ("test", "source", "normal"),
    ("test", "source", "anomaly"), ("test", "target", "normal"), ("test", "target", "anomaly"))]


@dataclass
class ImportPlan:
    """What an import will write: ``clips`` (one dict a clip: source, machine_type, split,
    domain, label, attributes, origin) and ``ignored`` files (path, reason), in a fixed order."""

    clips: list[dict]
    ignored: list[tuple[Path, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    """An import done: the output root, ``table`` (the rows of ``import_manifest.csv``: every
    file seen, written, skipped or ignored), how clips were placed, and notes for the user."""

    out: Path
    table: pd.DataFrame
    how: str
    notes: list[str]

    @property
    def written(self) -> pd.DataFrame:
        return self.table[self.table.status == "written"]

    def counts(self) -> pd.DataFrame:
        """Clips written per machine type: train/test x source/target x normal/anomaly."""
        w = self.written
        key = w.split + " " + w.domain + " " + w.label
        counts = pd.crosstab(w.machine_type, key).reindex(columns=COUNT_COLUMNS, fill_value=0)
        return counts.loc[:, (counts > 0).any()].rename_axis(index="machine type", columns=None)

    def summary(self) -> str:
        lines = [f"Imported {len(self.written)} clips into {self.out} ({self.how}; every file is listed in "
                 f"{self.out / MANIFEST_NAME}):", self.counts().to_string()]
        for status in ("skipped", "ignored"):
            rows = self.table[self.table.status.str.startswith(status)]
            if len(rows):
                lines.append(f"{status} ({len(rows)}):")
                lines += [f"  {src}: {st.split(': ', 1)[1]}" for src, st in zip(rows.source, rows.status)]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


# --------------------------------------------------------------------------- finding files
def _files(folder: Path, ignored: list[tuple[Path, str]], seen: set | None = None) -> list[Path]:
    """The files below ``folder`` (sorted, following folder links once); hidden ones and the
    inside of hidden folders go to ``ignored``."""
    seen = set() if seen is None else seen
    real = folder.resolve()
    if real in seen:
        return []
    seen.add(real)
    out = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            ignored.append((child, "hidden " + ("folder, not looked into" if child.is_dir() else "file")))
        elif child.is_dir():
            out += _files(child, ignored, seen)
        else:
            out.append(child)
    return out


def _by_type(src: Path, files: list[Path]) -> tuple[dict[Path, list[Path]], list[Path]]:
    """``{machine-type folder: its files}`` (a type folder is the one above the first
    normal/abnormal/train/test folder on a file's path) and the files outside any."""
    types: dict[Path, list[Path]] = {}
    loose = []
    for f in files:
        parts = f.relative_to(src).parts[:-1]
        i = next((i for i, part in enumerate(parts) if part.lower() in SCHEME_DIRS), None)
        if i is None:
            loose.append(f)
        else:
            types.setdefault(src.joinpath(*parts[:i]), []).append(f)
    return types, loose


# --------------------------------------------------------------------------- planning
def _clip(source: Path, mtype: str, split: str, label: str, origin: str, domain: str = "source",
          attributes: dict | None = None) -> dict:
    return {"source": Path(os.path.abspath(source)), "machine_type": mtype, "split": split, "domain": domain,
            "label": label, "attributes": dict(attributes or {}), "origin": origin}


def _n_test_normals(test_normals: int | float | None, n_normal: int, n_anomaly: int, where: Path) -> int:
    """How many normals of a normal/abnormal folder go to test (see ``plan_import``)."""
    if test_normals is None:
        return min(n_anomaly, n_normal // 2)
    if isinstance(test_normals, float) and 0 <= test_normals < 1:
        k = int(round(test_normals * n_normal))
    elif isinstance(test_normals, int) and test_normals >= 0:
        k = test_normals
    else:
        raise DataError(f"--test-normals {test_normals!r}: give a count (0, 1, 2, ...), a fraction below 1 "
                        "(0.2) or auto")
    if n_normal and k >= n_normal:
        raise DataError(f"{where}: --test-normals {test_normals} sends all {n_normal} normal clips to test, "
                        "leaving none to train on; give a smaller count or fraction")
    return k


def _plan_type(folder: Path, files: list[Path], mtype: str, test_normals, seed: int,
               ignored: list[tuple[Path, str]]) -> tuple[list[dict], str | None]:
    """The clips of one machine-type folder (normal/abnormal or train/test scheme) and, for a
    split made here, a note saying how."""
    ignored += [(f, "not a .wav file") for f in files if f.suffix.lower() != ".wav"]
    wavs = [f for f in files if f.suffix.lower() == ".wav"]
    place = {f: f.relative_to(folder).parts for f in wavs}  # (scheme folder, [label folder,] ..., name)
    top = {parts[0].lower() for parts in place.values()}
    if top & set(SPLITS) and top & set(LABELS):
        raise DataError(f"{folder} holds both train/test and normal/abnormal folders: the importer cannot "
                        "tell which scheme to follow; keep one (train/ + test/normal|abnormal/, or "
                        "normal/ + abnormal/)")
    if top & set(LABELS):
        normals = [f for f in wavs if LABELS[place[f][0].lower()] == "normal"]
        anomalies = [f for f in wavs if LABELS[place[f][0].lower()] == "anomaly"]
        k = _n_test_normals(test_normals, len(normals), len(anomalies), folder)
        to_test = set(np.random.default_rng(seed).permutation(len(normals))[:k].tolist())
        clips = [_clip(w, mtype, "test" if i in to_test else "train", "normal",
                       f"{place[w][0]}/, split seed {seed}" + (" -> test" if i in to_test else ""))
                 for i, w in enumerate(normals)]
        clips += [_clip(w, mtype, "test", "anomaly", f"{place[w][0]}/") for w in anomalies]
        return clips, (f"{mtype}: {k} of {len(normals)} normal clips sent to test (seed {seed}; "
                       f"--test-normals/--seed change it), {len(anomalies)} anomalies in test")
    clips, unlabelled = [], []
    for f in wavs:
        split, sub = place[f][0], place[f][1] if len(place[f]) > 2 else ""
        label = LABELS.get(sub.lower())
        if split.lower() == "train" and label == "anomaly":
            raise DataError(f"{folder / split / sub}: anomalies cannot be train clips (detectors learn normal "
                            f"sound only); move the folder to {folder / 'test' / 'abnormal'}")
        if split.lower() == "train" or label:
            clips.append(_clip(f, mtype, split.lower(), label or "normal", f"{split}/" + (f"{sub}/" if label else "")))
        else:
            unlabelled.append(f)
    if unlabelled and all(CLIP_RE.match(f.name) for f in unlabelled):
        raise DataError(f"{unlabelled[0].parent} holds clips already named in the DCASE layout "
                        f"(e.g. {unlabelled[0].name}): this folder needs no import; give the book the "
                        f"folder that holds the machine-type folders as it is: -p data_root {folder.parent}")
    if unlabelled:
        raise DataError(f"{len(unlabelled)} clip(s) in {folder / 'test'} sit outside test/normal/ and "
                        f"test/abnormal/ (e.g. {unlabelled[0]}), so their label is unknown: move them "
                        "into one of the two (or write a --manifest with a label per file)")
    return clips, None


def _plan_folder(src: Path, machine_type: str | None, test_normals, seed: int) -> ImportPlan:
    ignored: list[tuple[Path, str]] = []
    types, loose = _by_type(src, _files(src, ignored))
    loose_wavs = [f for f in loose if f.suffix.lower() == ".wav"]
    ignored += [(f, "not a .wav file") for f in loose if f.suffix.lower() != ".wav"]
    if not types:
        if not loose_wavs:
            others = f" ({len(loose)} other files, e.g. {loose[0].name})" if loose else ""
            raise DataError(f"no .wav files found in {src}{others}: point SRC at the folder of recordings, "
                            "or convert them to WAV first (e.g. `ffmpeg -i clip.mp3 clip.wav`)")
        if test_normals is not None:
            raise DataError(f"--test-normals splits normal/ folders, but {src} is one folder of normal clips "
                            "(all train); to test, add abnormal clips as SRC/normal/ + SRC/abnormal/")
        if not machine_type and src.resolve().name.lower() in SCHEME_DIRS:
            raise DataError(f"{src} is itself a {src.resolve().name}/ folder: import the folder above it (which "
                            "holds normal/ and abnormal/, or train/ and test/), or name the machine type with "
                            "--machine-type to import these clips as train normals")
        mtype = machine_type or src.resolve().name
        return ImportPlan([_clip(w, mtype, "train", "normal", "folder of normal clips") for w in loose_wavs],
                          ignored, [f"{mtype}: one folder of normal clips, all train (no test clips: the type "
                                    "can be trained on but not evaluated)"])
    names = [(machine_type or src.resolve().name) if t == src else "-".join(t.relative_to(src).parts)
             for t in types]
    if loose_wavs:
        raise DataError(f"{src} holds clips outside normal/abnormal (or train/test) folders, e.g. "
                        f"{loose_wavs[0]}, beside the machine-type folder(s) {', '.join(names)}: their type and "
                        "label are ambiguous; move them into a type's normal/ (or train/) folder, or out of SRC")
    if machine_type and len(types) > 1:
        raise DataError(f"--machine-type {machine_type} names one type, but {src} holds {len(types)} "
                        f"({', '.join(names)}): drop --machine-type (each type takes its folder's name) or "
                        "import one type folder at a time")
    if test_normals is not None and not any(f.relative_to(t).parts[0].lower() in LABELS
                                            for t, files in types.items() for f in files):
        raise DataError(f"--test-normals splits normal/ folders, but {src} has train/ and test/ folders: "
                        "its split is given; drop --test-normals")
    plan = ImportPlan([], ignored)
    for (folder, files), mtype in zip(types.items(), [machine_type] if machine_type else names):
        clips, note = _plan_type(folder, files, mtype, test_normals, seed, plan.ignored)
        plan.clips += clips
        plan.notes += [note] if note else []
    return plan


def _parse_attributes(text: str | None) -> dict[str, str]:
    """``'speed=1200;load=high'`` -> ``{'speed': '1200', 'load': 'high'}`` (raises ValueError)."""
    out: dict[str, str] = {}
    for item in (text or "").split(";"):
        item = item.strip()
        if not item or item == NO_ATTRIBUTE:
            continue
        key, sep, value = (s.strip() for s in item.partition("="))
        if not sep or not key or not value:
            raise ValueError(f"attribute {item!r} is not key=value (write e.g. speed=1200;load=high)")
        if key in out:
            raise ValueError(f"attribute {key!r} given twice")
        out[key] = value
    format_attr_string(out)  # raises for what cannot stand in a file name
    return out


def _plan_manifest(manifest: Path, machine_type: str | None) -> ImportPlan:
    if not manifest.is_file():
        raise DataError(f"manifest {manifest} not found; pass the CSV file (columns file,split,label"
                        "[,domain,attributes,machine_type])")
    with manifest.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
        header = [c.strip() for c in (rows[0].keys() if rows else [])]
    unknown = [c for c in header if c not in INPUT_COLUMNS]
    missing = [c for c in ("file", "split", "label") if c not in header]
    if not rows or unknown or missing:
        raise DataError(f"{manifest}: " + ("no rows" if not rows else
                        f"missing column(s) {missing}" if missing else f"unknown column(s) {unknown}")
                        + f"; the columns are {', '.join(INPUT_COLUMNS)} (the last three optional)")
    clips, errors, first_line = [], [], {}
    for line, raw in enumerate(rows, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            errors.append(f"line {line}: more fields than columns (a comma inside a value? quote it)")
            continue
        if not any(row.values()):
            continue
        path = Path(row["file"]) if Path(row["file"]).is_absolute() else manifest.parent / row["file"]
        split, label = row["split"].lower(), LABELS.get(row["label"].lower())
        domain = row.get("domain", "").lower() or "source"
        problem = (
            "no file given" if not row["file"]
            else f"file {row['file']} not found (looked at {path}); correct the path (relative to the "
                 "manifest's folder) or remove the row" if not path.is_file()
            else f"file {row['file']} is not a .wav file; convert it to WAV" if path.suffix.lower() != ".wav"
            else f"split {row['split']!r} is not train or test" if split not in SPLITS
            else f"label {row['label']!r} is not normal or anomaly (abnormal)" if label is None
            else f"domain {row['domain']!r} is not source or target" if domain not in DOMAINS
            else f"an anomaly in train ({row['file']}): detectors learn normal sound only; set split to test"
            if split == "train" and label == "anomaly"
            else f"{row['file']} is also on line {first_line[path.resolve()]}"
            if path.resolve() in first_line else None)
        if problem is None:
            try:
                attributes = _parse_attributes(row.get("attributes"))
            except ValueError as exc:
                problem = str(exc)
        if problem:
            errors.append(f"line {line}: {problem}")
            continue
        first_line[path.resolve()] = line
        mtype = row.get("machine_type") or machine_type or manifest.resolve().parent.name
        clips.append(_clip(path, mtype, split, label, f"manifest line {line}", domain, attributes))
    if errors:
        raise DataError(f"{manifest}: {len(errors)} row(s) cannot be imported:\n  " + "\n  ".join(errors))
    return ImportPlan(clips)


def plan_import(src: str | Path | None = None, *, manifest: str | Path | None = None,
                machine_type: str | None = None, test_normals: int | float | None = None,
                seed: int = 0) -> ImportPlan:
    """What importing ``src`` (a folder) or ``manifest`` (a CSV) would write, checked but not
    yet written (see the module docstring for the accepted layouts).

    ``test_normals`` (normal/abnormal folders only): an int is a count of normal clips sent
    to test, a float in [0, 1) a fraction, None as many as there are anomalies (at most half
    the normals); which ones is drawn with ``seed``. Raises ``DataError`` naming the file or
    folder and the fix.
    """
    if (src is None) == (manifest is None):
        raise DataError("give either a folder of recordings (SRC) or --manifest FILE")
    if manifest is not None:
        return _plan_manifest(Path(manifest), machine_type)
    src = Path(src)
    if src.is_file() and src.suffix.lower() == ".csv":
        return _plan_manifest(src, machine_type)
    if not src.is_dir():
        raise DataError(f"{src} is not a folder: pass the folder of recordings (or --manifest FILE.csv)")
    return _plan_folder(src, machine_type, test_normals, seed)


# --------------------------------------------------------------------------- writing
def _check_audio(plan: ImportPlan, skip_bad: bool) -> list[tuple[Path, str]]:
    """Drop (``skip_bad``) or refuse, listing them all, the sources that are not readable audio."""
    bad = []
    for clip in plan.clips:
        _, problems = _check_audio_file(clip["source"], None, 0.0, False)
        if any(p.severity == "error" for p in problems):
            bad.append((clip["source"], problems[0].reason))
    if bad and not skip_bad:
        raise DataError(f"{len(bad)} file(s) are not readable audio:\n" + "\n".join(f"  {p}: {r}" for p, r in bad)
                        + "\nre-export or remove them, or pass --skip-bad to import the rest (the skipped files "
                        f"are listed in the summary and in {MANIFEST_NAME})")
    dropped = {p for p, _ in bad}
    plan.clips = [c for c in plan.clips if c["source"] not in dropped]
    return bad


def _name_clips(plan: ImportPlan) -> None:
    """Give every clip its DCASE name and ``out_file``: indices count from 0000 within
    type x split x domain x label, in plan order."""
    counters: dict[tuple, int] = {}
    for clip in plan.clips:
        mtype = clip["machine_type"]
        if not mtype or mtype.startswith(".") or any(c in mtype for c in '/\\:*?"<>|'):
            raise DataError(f"{clip['source']}: machine type {mtype!r} cannot be a folder name; choose another "
                            "(--machine-type or the manifest's machine_type column)")
        key = (mtype, clip["split"], clip["domain"], clip["label"])
        index = counters[key] = counters.get(key, -1) + 1
        try:
            name = clip_name(clip["domain"], clip["split"], clip["label"], index, clip["attributes"])
        except ValueError as exc:
            raise DataError(f"{clip['source']}: {exc}") from exc
        clip["out_file"] = f"{mtype}/{clip['split']}/{name}"
    for mtype in sorted({c["machine_type"] for c in plan.clips}):
        mine = [c for c in plan.clips if c["machine_type"] == mtype]
        if not any(c["split"] == "train" for c in mine):
            raise DataError(f"machine type {mtype}: no clip goes to train (every type needs normal train clips): "
                            "add normal clips, or send fewer to test (--test-normals)")
        if len({bool(c["attributes"]) for c in mine}) > 1:
            plan.notes.append(f"{mtype}: some clips have attributes and some not; the book then treats the type "
                              "as having none (noAttribute), as DCASE does for hidden attributes")
    if not plan.clips:
        raise DataError("no clip left to import (every file was skipped)")


def _read_import_manifest(out: Path) -> tuple[list[Path], set[str]]:
    """The clips and machine types an earlier import wrote into ``out`` (from its manifest)."""
    path = out / MANIFEST_NAME
    if not path.is_file():
        return [], set()
    old = pd.read_csv(path, dtype=str, keep_default_na=False)
    rel = [Path(f) for f in old.get("out_file", []) if f]
    rel = [r for r in rel if not r.is_absolute() and ".." not in r.parts]
    return [out / r for r in rel], {r.parts[0] for r in rel}


def _prepare_out(out: Path, targets: list[Path], overwrite: bool) -> list[str]:
    """Refuse a non-empty ``out`` unless ``overwrite``; then remove what an earlier import wrote
    (never another file), after checking no new file would replace a foreign one."""
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file; give a folder (new or empty)")
    present = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if present and not overwrite:
        raise DataError(f"--out {out} is not empty (it holds {', '.join(present[:5])}"
                        f"{', ...' if len(present) > 5 else ''}): give a new folder, or pass --overwrite to "
                        f"replace what an earlier import wrote there (the files in its {MANIFEST_NAME}); "
                        "no other file is ever deleted")
    old_clips, old_types = _read_import_manifest(out)
    ours = set(old_clips) | {out / t / "attributes_00.csv" for t in old_types} | {out / MANIFEST_NAME}
    foreign = [t for t in targets if (t.exists() or t.is_symlink()) and t not in ours]
    if foreign:
        raise DataError(f"{len(foreign)} file(s) in {out} that no earlier import wrote would be replaced, e.g. "
                        f"{foreign[0]}: move them away or give a new folder")
    for path in sorted(ours):
        if path.is_symlink() or path.is_file():
            path.unlink()
    for t in sorted(old_types):  # folders the earlier import made and left empty
        for d in (out / t / "train", out / t / "test", out / t):
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
    rest = sorted(str(p.relative_to(out)) for p in out.rglob("*") if not p.is_dir()) if out.is_dir() else []
    return ([f"{out} also holds {len(rest)} file(s) no import wrote (e.g. {rest[0]}); they were left as they "
             "are (the book reads any in type folders too)"] if rest else [])


def _place(source: Path, target: Path, how: str) -> str:
    """Link or copy one clip; a link that cannot be made falls back to a copy (returned how)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if how != "copy":
        try:
            (os.symlink if how == "symlink" else os.link)(source, target)
            return how
        except OSError as exc:
            warnings.warn(f"{how}s cannot be made in {target.parent} ({exc}); copying the audio instead",
                          stacklevel=3)
    shutil.copy2(source, target)
    return "copy"


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_attributes(out: Path, clips: list[dict]) -> None:
    """``<type>/attributes_00.csv`` as DCASE writes it: ``file_name,d1p,d1v[,d2p,d2v...]``,
    file names relative to the root, ``noAttribute`` for clips without attributes."""
    for mtype in sorted({c["machine_type"] for c in clips}):
        mine = sorted((c for c in clips if c["machine_type"] == mtype), key=lambda c: c["out_file"])
        width = max(1, *(len(c["attributes"]) for c in mine))
        rows = [[c["out_file"]] + ([x for kv in c["attributes"].items() for x in kv] or [NO_ATTRIBUTE, ""])
                for c in mine]
        _write_csv(out / mtype / "attributes_00.csv",
                   ["file_name"] + [x for i in range(width) for x in (f"d{i + 1}p", f"d{i + 1}v")],
                   [r + [""] * (1 + 2 * width - len(r)) for r in rows])


def _manifest_table(clips: list[dict], skipped: list[tuple[Path, str]], ignored: list[tuple[Path, str]],
                    how: str) -> pd.DataFrame:
    rows = [{**c, "source": str(c["source"]), "status": "written", "how": how,
             "attributes": ";".join(f"{k}={v}" for k, v in c["attributes"].items())} for c in clips]
    rows += [{"source": str(p), "status": f"skipped: {reason}"} for p, reason in skipped]
    rows += [{"source": str(p), "status": f"ignored: {reason}"} for p, reason in ignored]
    return pd.DataFrame(rows, columns=MANIFEST_COLUMNS).fillna("")


def import_recordings(src: str | Path | None = None, out: str | Path = "", *, manifest: str | Path | None = None,
                      machine_type: str | None = None, test_normals: int | float | None = None, seed: int = 0,
                      how: str = "symlink", skip_bad: bool = False, overwrite: bool = False) -> ImportResult:
    """Import a folder of recordings or a manifest (``plan_import``) into the DCASE layout
    under ``out``: clips as ``how`` (symlink, hardlink or copy; a link that cannot be made is
    a copy, with one warning), ``attributes_00.csv`` per type, ``import_manifest.csv``.

    Every source is checked to be readable audio first: unreadable ones stop the import
    (all listed by name) unless ``skip_bad``. A non-empty ``out`` is refused unless
    ``overwrite``, which replaces only what an earlier import recorded in its manifest.
    Nothing is written before every check has passed.
    """
    if how not in HOW:
        raise ValueError(f"how must be one of {HOW}, got {how!r}")
    if not str(out):
        raise DataError("give the output folder (--out DIR)")
    out = Path(out).absolute()
    if src is not None and Path(src).is_dir() and out.is_relative_to(Path(src).absolute()):
        raise DataError(f"--out {out} lies inside SRC {src}: a later import would take its clips as new "
                        "recordings; choose a folder outside SRC")
    plan = plan_import(src, manifest=manifest, machine_type=machine_type, test_normals=test_normals, seed=seed)
    skipped = _check_audio(plan, skip_bad)
    _name_clips(plan)
    types = sorted({c["machine_type"] for c in plan.clips})
    targets = [out / c["out_file"] for c in plan.clips] + [out / t / "attributes_00.csv" for t in types]
    notes = _prepare_out(out, targets, overwrite) + plan.notes
    out.mkdir(parents=True, exist_ok=True)
    table = _manifest_table(plan.clips, skipped, plan.ignored, how)
    table.to_csv(out / MANIFEST_NAME, index=False)  # first, so that an interrupted import is still on record
    placed = how
    for clip in plan.clips:  # the first link that fails switches to copying: one warning
        placed = clip["how"] = _place(clip["source"], out / clip["out_file"], placed)
    _write_attributes(out, plan.clips)
    table["how"] = [c.get("how", "") for c in plan.clips] + [""] * (len(table) - len(plan.clips))
    table.to_csv(out / MANIFEST_NAME, index=False)
    if placed == "symlink":
        notes.append(f"the clips are links to the sources: moving or deleting them breaks {out}; "
                     "--copy makes a self-contained folder")
    return ImportResult(out=out, table=table, how=placed if placed == how else f"{how} failed, copied", notes=notes)


# --------------------------------------------------------------------------- command line
def _test_normals(text: str) -> int | float | None:
    if text == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: give a count, a fraction below 1, or auto") from None


def main(argv: list[str] | None = None) -> int:
    """``asd import ...`` (exit code 2 with one message for bad input)."""
    cmd = parser = argparse.ArgumentParser(prog="asd import", description=__doc__,
                                           formatter_class=argparse.RawDescriptionHelpFormatter)
    cmd.add_argument("src", nargs="?", type=Path, help="folder of recordings (or a manifest .csv)")
    cmd.add_argument("--manifest", type=Path, help="CSV: file,split,label[,domain,attributes,machine_type]")
    cmd.add_argument("--out", type=Path, required=True, help="output folder (new or empty): the data root")
    cmd.add_argument("--machine-type", help="machine type of a single-type input (default: the folder's name)")
    cmd.add_argument("--test-normals", type=_test_normals, default=None, metavar="N|FRACTION|auto",
                     help="normal/abnormal folders: normal clips sent to test (default auto: as many as "
                          "anomalies, at most half)")
    cmd.add_argument("--seed", type=int, default=0, help="seed of that split (default 0)")
    placing = cmd.add_mutually_exclusive_group()
    placing.add_argument("--copy", dest="how", action="store_const", const="copy", help="copy the audio")
    placing.add_argument("--hardlink", dest="how", action="store_const", const="hardlink", help="hard links")
    cmd.add_argument("--skip-bad", action="store_true", help="skip unreadable files (listed) instead of stopping")
    cmd.add_argument("--overwrite", action="store_true",
                     help="replace an earlier import in --out (only the files its manifest lists)")
    args = parser.parse_args(argv)
    try:
        result = import_recordings(args.src, args.out, manifest=args.manifest, machine_type=args.machine_type,
                                   test_normals=args.test_normals, seed=args.seed, how=args.how or "symlink",
                                   skip_bad=args.skip_bad, overwrite=args.overwrite)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    print("\nCheck, as the book reads it (asdlib.data.layout.scan_dataset):")
    code = 0
    try:
        report = scan_dataset(result.out).report().splitlines()
    except DataError as exc:
        code, report = 1, [f"error: {exc}"] + scan_dataset(result.out, require_train=False).report().splitlines()
    print("\n".join(report[:25] + ([f"  ... ({len(report) - 25} more lines: run scan_dataset for all)"]
                                   if len(report) > 25 else [])))
    if code:
        return code
    print(f"\nGive it to the book:  -p data_root {result.out}\n  e.g. asd run-all "
          f"--profile demo -p data_root {result.out}")
    return 0

