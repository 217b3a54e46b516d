"""The DCASE 2024 Task 2 data layer: clip tables, attributes, ground truth (file names from
``asdlib.data.names``, audio from ``asdlib.data.wav``, both re-exported here).

One loader serves the real dataset and the synthetic one (which is written in exactly the
same layout)::

    <root>/<machine_type>/train/section_00_source_train_normal_0000_<attrs>.wav
    <root>/<machine_type>/test/section_00_target_test_anomaly_0012_<attrs>.wav
    <root>/<machine_type>/test/section_00_0001.wav            (evaluation set: no labels)
    <root>/<machine_type>/attributes_00.csv                  (file_name,d1p,d1v,...)

``scan_dataset`` turns a root into one tidy table of clips (a pandas DataFrame, one row a
clip) and a list of problems. Bad files are never dropped silently: each one is listed by
name with the reason and the fix, and clips that cannot be used are excluded *and* reported.
Besides names and folders, it checks, by properties of the data (thresholds in
``asdlib.data.wav``, each with the reason for its value):

- a file that disagrees with itself: a WAV header promising more samples than the file
  holds (a copy cut short);
- samples no recording has: float samples far beyond full scale, saturation (a share of the
  samples pinned at full scale), constant or near-constant signals, flat stretches;
- the same thing twice: the same audio (a hash of the decoded samples) under two names in one
  split or in two machine types, in train/ *and* test/ (train/test leakage, an error unless
  ``allow_train_test_duplicates``), and two clips with one identity (section, domain, split,
  label, index) but different attributes.

Recordings in another layout (a folder of normal clips, MIMII-style ``normal/`` and
``abnormal/`` folders, or a CSV manifest) are brought into this one, named by ``clip_name``,
with ``asd import SRC --out DIR`` (``asdlib.data.importing``).
"""

from __future__ import annotations

import csv
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

# the file-name rule and the WAV reading live in their own modules; the data layer re-exports them
from asdlib.data.names import (ATTR_TOKEN_RE, CLIP_RE, EVAL_RE, NO_ATTRIBUTE, UNKNOWN, ClipName,  # noqa: F401
                    clip_name, format_attr_string, parse_attr_string, parse_clip_name)
from asdlib.data.wav import AudioError, inspect_audio, load_audio, read_mono, truncation_reason  # noqa: F401
# the checks of one clip and of clips against each other
from asdlib.data.checks import (LEAKAGE_ENV, SPLITS, Problem, _check_audio_file, _duplicate_problems,  # noqa: F401
                                _identity_problems)

CLIP_COLUMNS = [
    "path", "machine_type", "section", "split", "domain", "label", "is_anomaly",
    "clip_index", "file_name", "attr_string", "attributes", "has_attributes",
    "duration", "sample_rate", "channels",
]


class DataError(ValueError):
    """A dataset problem that stops a run before any work starts (message says the fix)."""


#: Threads that read clips during a scan: soundfile, numpy and hashlib release the GIL while
#: they decode, reduce and hash, so reading overlaps across cores; 4 at most, since beyond
#: that the disk and the scan's own bookkeeping are the limit.
SCAN_THREADS = max(1, min(4, os.cpu_count() or 1))


# --------------------------------------------------------------------------- tables
def read_attributes_csv(path: str | Path) -> dict[str, dict[str, str]]:
    """Read ``attributes_00.csv`` (``file_name,d1p,d1v[,d2p,d2v...]``), UTF-8.

    Returns ``{basename: {param: value}}``; ``noAttribute`` rows give ``{}``. Raises
    ``DataError`` naming the file for another encoding, and for a value that contradicts
    the attributes in the row's own file name (naming the column and both values): the
    file name is what the clip is, so a contradiction is a mistake to fix, not a tie to break.
    """
    path = Path(path)
    out: dict[str, dict[str, str]] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 "
                        "(e.g. `iconv -f latin1 -t utf-8`)") from exc
    header = rows[0] if rows else None
    if not header or header[0] != "file_name":
        raise DataError(f"{path}: expected a header starting with 'file_name', got {header!r}")
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        attrs = {}
        for col in range(1, len(row) - 1, 2):
            key, val = row[col].strip(), row[col + 1].strip()
            if key and key != NO_ATTRIBUTE:
                attrs[key] = val
                named = _name_attributes(row[0]).get(key)
                if named is not None and named != val:
                    column = header[col + 1] if col + 1 < len(header) else f"column {col + 2}"
                    raise DataError(
                        f"{path}, line {line}: column {column} says {key}={val!r} but the file name "
                        f"{Path(row[0]).name} says {key}={named!r}; correct the CSV (or rename the file)")
        out[Path(row[0]).name] = attrs
    return out


def _name_attributes(name: str) -> dict[str, str]:
    """The attributes a clip's file name carries (``{}`` for names that carry none)."""
    try:
        return parse_clip_name(name).attributes
    except AudioError:
        return {}


@dataclass
class DatasetScan:
    """Result of ``scan_dataset``: the usable clips and every problem found."""

    root: Path
    clips: pd.DataFrame
    problems: list[Problem]

    @property
    def excluded(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def report(self, root_label: str | None = None) -> str:
        """The scan in words; ``root_label`` names the root instead of its full path (a page)."""
        root = root_label or self.root
        if not self.problems:
            return f"{root}: {len(self.clips)} clips, no problems."
        lines = [
            f"{root}: {len(self.clips)} usable clips; {len(self.excluded)} excluded, "
            f"{len(self.problems) - len(self.excluded)} warnings:"
        ]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


def list_machine_types(root: str | Path) -> list[str]:
    """Machine-type folders under ``root``: those holding a train/ or test/ folder (in any
    letter case, so that ``Train/`` is reported by ``scan_dataset``, not ignored)."""
    root = Path(root)
    return sorted(
        d.name for d in root.iterdir()
        if d.is_dir() and not d.name.startswith(".")
        and any(c.is_dir() and c.name.lower() in SPLITS for c in d.iterdir())
    )


def _check_split_folders(tdir: Path) -> None:
    """A ``Train/`` or ``TEST/`` folder would be skipped: names are case-sensitive."""
    for child in sorted(tdir.iterdir()):
        if child.is_dir() and child.name.lower() in SPLITS and child.name not in SPLITS:
            raise DataError(f"{child}: folder names are case-sensitive; rename it to "
                            f"'{child.name.lower()}' (as it is, its clips would be left out)")


def metric_gaps(test: pd.DataFrame) -> list[str]:
    """Why the official metrics of one type cannot be computed from its test clips
    (``is_anomaly``, ``domain``), e.g. ``"no anomalies in test/, AUC cannot be computed"``;
    empty when they can, or when no clip is labelled (an evaluation set)."""
    labelled = test[test.is_anomaly >= 0]
    if labelled.empty:
        return []
    anomalies = labelled.is_anomaly == 1
    if not anomalies.any():
        return ["no anomalies in test/, AUC cannot be computed"]
    if anomalies.all():
        return ["no normals in test/, AUC cannot be computed"]
    return [f"no {domain} normals in test/, {metric} cannot be computed"
            for domain, metric in (("source", "AUC-s"), ("target", "AUC-t"))
            if not ((labelled.is_anomaly == 0) & (labelled.domain == domain)).any()]


def _check_all(paths: list[Path], expected_sr: int | None, min_duration: float,
               check_content: bool) -> list[tuple[dict, list[Problem]]]:
    """``_check_audio_file`` of every path, in order, on ``SCAN_THREADS`` threads."""
    check = lambda p: _check_audio_file(p, expected_sr, min_duration, check_content)  # noqa: E731
    if not check_content or SCAN_THREADS < 2 or len(paths) < 8:
        return [check(p) for p in paths]
    with ThreadPoolExecutor(SCAN_THREADS) as pool:
        return list(pool.map(check, paths, chunksize=16))


def scan_dataset(
    root: str | Path,
    machine_types: Iterable[str] | None = None,
    splits: Iterable[str] = ("train", "test"),
    expected_sr: int | None = 16000,
    min_duration: float = 0.5,
    check_content: bool = True,
    require_train: bool = True,
    allow_train_test_duplicates: bool | None = None,
) -> DatasetScan:
    """Scan a DCASE-layout root into a clip table, checking every file.

    Raises ``DataError`` before any work starts when the root or a machine-type folder is
    missing (or the root is a file), when a split folder is spelt in another letter case
    (``Train/``), when an attributes CSV is not UTF-8 or contradicts a file name, or when a
    machine type has no usable train clip (and ``require_train``).

    Every other problem is a ``Problem`` naming the file or folder, what is wrong and the fix:
    errors exclude a clip (unreadable, truncated (its header promises more samples than it
    holds), empty, silent after folding to mono, NaN/inf, constant or near-constant, float
    samples far beyond full scale, too short, badly named (a ``.WAV`` extension is named as
    such), in the wrong split folder, an anomaly inside train/, one identity for two clips,
    the same audio under names that disagree, the same audio in train/ and test/); warnings
    keep it (other sample rate, several channels, clipped, beyond full scale, flat stretches,
    the same audio twice in one split or in two machine types) or concern a type: no test/
    folder, or test clips from which the official metrics cannot be computed
    (``metric_gaps``), so that type is known, before any training, to be left out of the Total.

    The content checks and the duplicate search read every clip once (``check_content``;
    without it only names, headers and file sizes are checked, and duplicates are not looked
    for). The same audio in train/ and test/ of one machine type (train/test leakage) inflates
    every AUC, so both copies are excluded; ``allow_train_test_duplicates=True`` (default:
    the ``ASD_ALLOW_LEAKAGE`` environment variable) keeps them with a warning, for a user who
    knows why they must stay.
    """
    if allow_train_test_duplicates is None:
        allow_train_test_duplicates = os.environ.get(LEAKAGE_ENV, "").strip().lower() in {"1", "true", "yes"}
    root = Path(root)
    if root.is_file():
        raise DataError(f"{root} is a file, not a dataset folder: point the data root at the folder that "
                        "holds the machine-type folders (<root>/<type>/train/...)")
    if not root.is_dir():
        raise DataError(
            f"Dataset folder {root} does not exist. Generate the synthetic data "
            "(`asd synth --profile demo`) or point the data root at the DCASE data."
        )
    available = list_machine_types(root)
    types = list(machine_types) if machine_types is not None else available
    if not types:
        raise DataError(f"{root}: no machine-type folders (each needs train/ and/or test/ inside).")
    missing = [t for t in types if t not in available]
    if missing:
        raise DataError(f"{root}: machine type folder(s) {missing} not found; available: {available}")

    # every file's problems in folder order (slots); the audio of the named clips is read afterwards, in threads
    slots: list[list[Problem]] = []
    pending: list[tuple[int, Path, dict]] = []
    for mtype in types:
        tdir = root / mtype
        _check_split_folders(tdir)
        attr_csv = {}
        for csv_path in sorted(tdir.glob("attributes_*.csv")):
            attr_csv.update(read_attributes_csv(csv_path))
        for split in splits:
            sdir = tdir / split
            if not sdir.is_dir():
                if split == "train" and require_train:
                    raise DataError(f"{sdir} is missing: every machine type needs normal train clips.")
                if split == "test":
                    slots.append([Problem(str(sdir), f"{mtype}: no test/ folder; the type will be trained "
                                          "but not evaluated, and left out of the Total and the official "
                                          "score", "warning")])
                continue
            for path in sorted(sdir.iterdir()):
                if path.is_dir() or path.name.startswith("."):
                    continue
                if path.suffix.lower() != ".wav":
                    slots.append([Problem(str(path), "not a .wav file; ignored", "warning")])
                    continue
                try:
                    name = parse_clip_name(path.name, split=split)
                except AudioError as exc:
                    slots.append([Problem(str(path), exc.reason)])
                    continue
                if name.split != split:
                    slots.append([Problem(str(path), f"a '{name.split}' clip inside the '{split}/' folder; move it")])
                    continue
                if split == "train" and name.label == "anomaly":
                    slots.append([Problem(str(path), "an anomaly clip inside train/: excluded (detectors "
                                          "train on normal clips only); move it to test/")])
                    continue
                attrs = attr_csv.get(path.name) or name.attributes
                slots.append([])
                pending.append((len(slots) - 1, path, {
                    "path": str(path), "machine_type": mtype, "section": name.section,
                    "split": split, "domain": name.domain, "label": name.label,
                    "is_anomaly": {"normal": 0, "anomaly": 1}.get(name.label, -1),
                    "clip_index": name.index, "file_name": path.name,
                    "attr_string": name.attr_string, "attributes": dict(attrs),
                    "has_attributes": name.attr_string not in ("", NO_ATTRIBUTE) or bool(attrs),
                }))
    rows, digests = [], {}
    checked = _check_all([path for _, path, _ in pending], expected_sr, min_duration, check_content)
    for (slot, path, row), (meta, probs) in zip(pending, checked):
        slots[slot].extend(probs)
        if any(p.severity == "error" for p in probs):
            continue
        if "digest" in meta:
            digests[str(path)] = meta.pop("digest")
        rows.append({**row, **meta})
    problems = [p for slot in slots for p in slot]
    # the same thing twice: one identity for two clips, the same audio under two names
    repeats = _identity_problems(rows, root) + _duplicate_problems(rows, digests, root, allow_train_test_duplicates)
    problems += repeats
    dropped = {p.path for p in repeats if p.severity == "error"}
    rows = [r for r in rows if r["path"] not in dropped]
    clips = pd.DataFrame(rows, columns=CLIP_COLUMNS)
    if "test" in splits:
        for mtype in types:
            if (root / mtype / "test").is_dir():
                test = clips[(clips.machine_type == mtype) & (clips.split == "test")]
                problems.extend(Problem(str(root / mtype / "test"), f"{mtype}: {gap}; the type is trained "
                                        "and scored but left out of the Total and the official score", "warning")
                                for gap in metric_gaps(test))
    if require_train:
        for mtype in types:
            n = int(((clips.machine_type == mtype) & (clips.split == "train")).sum())
            if n == 0 and "train" in splits:
                raise DataError(
                    f"{root / mtype / 'train'}: no usable train clip"
                    + (f" ({sum(1 for p in problems if mtype in p.path)} files had problems: see report)" if problems else "")
                    + ". Every machine type needs normal train clips."
                )
    # type-level flag: a type with hidden attributes is noAttribute for every clip
    if len(clips):
        hidden = clips.groupby("machine_type")["attr_string"].agg(lambda s: (s == NO_ATTRIBUTE).any())
        clips["has_attributes"] = ~clips["machine_type"].map(hidden).astype(bool)
    return DatasetScan(root=root, clips=clips.reset_index(drop=True), problems=problems)


def clip_table(root: str | Path, machine_types: Iterable[str] | None = None, **kwargs) -> pd.DataFrame:
    """``scan_dataset(...).clips``, warning once with every problem listed by name.

    The clips the scan excludes (errors) never reach training; ``kwargs`` go to
    ``scan_dataset`` (e.g. ``allow_train_test_duplicates=True`` to keep the same audio in
    train/ and test/, for a user who knows why; the ``ASD_ALLOW_LEAKAGE=1`` environment
    variable does the same for every chapter).
    """
    scan = scan_dataset(root, machine_types, **kwargs)
    if scan.problems:
        warnings.warn(scan.report(), stacklevel=2)
    # the problems travel with the table: a chapter's run folder records them (data_problems.json)
    scan.clips.attrs["problems"] = [{"file": p.path, "severity": p.severity, "reason": p.reason} for p in scan.problems]
    return scan.clips


# --------------------------------------------------------------------------- ground truth
def fingerprint(clips: pd.DataFrame, n_bytes: int = 8192) -> str:
    """A short hash that identifies the clips of a table: each file's machine type, name,
    size and first ``n_bytes`` of audio (after the 44-byte WAV header), in table order.

    Size alone cannot tell a regenerated dataset from the old one (clips of one length have
    one size); the first samples can. Cheap: a few KB read per file. Run folders and
    checkpoints are keyed by it, so results of other data are never mixed in.
    """
    import hashlib
    import zlib

    h = hashlib.sha1()
    for mtype, path in zip(clips["machine_type"], clips["path"]):
        p = Path(path)
        with open(p, "rb") as f:
            f.seek(44)
            head = f.read(n_bytes)
        h.update(f"{mtype}/{p.name}|{p.stat().st_size}|{zlib.crc32(head):08x};".encode())
    return h.hexdigest()[:16]


def real_clips(name: str, machine_types: Iterable[str] | None = None) -> pd.DataFrame | None:
    """The clip table of a set of real recordings under ``asdlib.paths.real_data_root()``
    (e.g. ``"sensiml-fan"``), or None with a printed note when it is not there (outside CI;
    in CI a missing folder raises, so no chapter skips its real-audio section unnoticed)."""
    from asdlib.paths import real_data_root

    base = real_data_root()
    root = base / name if base is not None else None
    if root is None or not root.is_dir():
        print(f"NOTE: the real recordings {name!r} were not found: set ASD_REAL_DATA to the folder "
              f"holding {name}/. This section is skipped.")
        return None
    return clip_table(root, machine_types)


def read_ground_truth(gt_root: str | Path, machine_type: str, section: str = "00") -> pd.DataFrame:
    """Official ground truth of one evaluation type: file_name, label, domain (+ original name).

    Reads ``ground_truth_data/ground_truth_<T>_section_SS_test.csv`` (1 = anomaly) and
    ``ground_truth_domain/...`` (1 = target) from the evaluator's folder layout.
    """
    gt_root = Path(gt_root)
    stem = f"ground_truth_{machine_type}_section_{section}_test.csv"
    data_csv = gt_root / "ground_truth_data" / stem
    if not data_csv.is_file():
        raise DataError(f"{data_csv} not found: the ground-truth folder must hold ground_truth_data/{stem}")
    gt = pd.read_csv(data_csv, header=None, names=["file_name", "is_anomaly"])
    dom_csv = gt_root / "ground_truth_domain" / stem
    if dom_csv.is_file():
        dom = pd.read_csv(dom_csv, header=None, names=["file_name", "is_target"])
        gt = gt.merge(dom, on="file_name", how="left", validate="one_to_one")
        gt["domain"] = gt["is_target"].map({0: "source", 1: "target"}).fillna(UNKNOWN)
        gt = gt.drop(columns="is_target")
    else:
        gt["domain"] = UNKNOWN
    att_csv = gt_root / "ground_truth_attributes" / stem
    if att_csv.is_file():
        att = pd.read_csv(att_csv, header=None, names=["file_name", "published_stem", "original_name"])
        gt = gt.merge(att[["file_name", "original_name"]], on="file_name", how="left")
    gt["label"] = gt["is_anomaly"].map({0: "normal", 1: "anomaly"})
    return gt


def attach_ground_truth(clips: pd.DataFrame, gt_root: str | Path) -> pd.DataFrame:
    """Fill label/domain of evaluation clips (``section_00_0001.wav``) from official files."""
    clips = clips.copy()
    for mtype in clips.loc[clips.label == UNKNOWN, "machine_type"].unique():
        gt = read_ground_truth(gt_root, mtype).set_index("file_name")
        sel = (clips.machine_type == mtype) & (clips.label == UNKNOWN)
        names = clips.loc[sel, "file_name"]
        missing = sorted(set(names) - set(gt.index))
        if missing:
            raise DataError(f"{gt_root}: no ground truth for {len(missing)} {mtype} clips, e.g. {missing[:3]}")
        clips.loc[sel, "label"] = names.map(gt["label"]).values
        clips.loc[sel, "is_anomaly"] = names.map(gt["is_anomaly"]).astype(int).values
        clips.loc[sel, "domain"] = names.map(gt["domain"]).values
    return clips


def read_hidden_attributes(search_roots: Iterable[str | Path], machine_type: str) -> pd.DataFrame | None:
    """True attributes of a noAttribute type from ``attributes_00_*_correspondence.csv``.

    Looks in ``<r>/ground_truth_attributes_all/{dev_data,eval_data}/<type>/`` and in
    ``<r>/{dev_data,eval_data}/<type>/`` for every root ``r`` (a synthetic dataset root or
    the official ground-truth folder). Returns a table ``file_name`` (published name),
    ``true_name``, ``true_attr_string``, ``true_attributes``, or None when nothing is found.
    """
    for r in search_roots:
        r = Path(r)
        for base in (r / "ground_truth_attributes_all", r):
            for kind in ("dev_data", "eval_data"):
                tdir = base / kind / machine_type
                files = sorted(tdir.glob("attributes_*_correspondence.csv")) if tdir.is_dir() else []
                if not files:
                    continue
                table = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
                if not {"source_file_name", "target_file_name"} <= set(table.columns):
                    raise DataError(f"{files[0]}: expected columns source_file_name,target_file_name")
                true = table["source_file_name"].map(lambda n: parse_clip_name(n))
                # Anomaly tags (damage1, ...) describe the fault, not the operating group.
                group = true.map(lambda c: "_".join(f"{k}_{v}" for k, v in c.attributes.items() if k != "extra"))
                return pd.DataFrame({
                    "file_name": table["target_file_name"].map(lambda n: Path(n).name),
                    "true_name": table["source_file_name"],
                    "true_attr_string": group,
                    "true_attributes": true.map(lambda c: {k: v for k, v in c.attributes.items() if k != "extra"}),
                })
    return None


def attribute_groups(clips: pd.DataFrame, search_roots: Iterable[str | Path] = ()) -> pd.Series:
    """The operating-condition group string of every clip (index aligned with ``clips``).

    Visible attributes come from the names / attributes CSV; hidden ones from the
    correspondence files (``search_roots``). Clips with no known group get ``None``.
    """
    out = pd.Series([None] * len(clips), index=clips.index, dtype=object)
    for mtype, sub in clips.groupby("machine_type"):
        if sub["has_attributes"].all():
            out.loc[sub.index] = sub["attributes"].map(
                lambda a: "_".join(f"{k}_{v}" for k, v in a.items() if k != "extra") or None)
            continue
        truth = read_hidden_attributes(search_roots, mtype)
        if truth is not None:
            lut = dict(zip(truth.file_name, truth.true_attr_string))
            out.loc[sub.index] = sub["file_name"].map(lut).values
            missing = sorted(set(sub.file_name) - set(lut))
            if missing:
                warnings.warn(f"{mtype}: {len(missing)} clips are not in the correspondence files "
                              f"(e.g. {missing[:3]}); their true group is unknown", stacklevel=2)
    return out


def summarise(clips: pd.DataFrame) -> pd.DataFrame:
    """Clip counts per machine type: train source/target, test per domain and label.

    Also whether the type's attributes are visible and its distinct attribute strings in
    the source train split (``noAttribute`` types show 0).
    """
    key = clips.split + " " + clips.domain + (" " + clips.label).where(clips.split == "test", "")
    counts = pd.crosstab(clips.machine_type, key.rename("clips"))
    order = [c for c in ["train source", "train target", "test source normal", "test source anomaly",
                         "test target normal", "test target anomaly", "test unknown unknown"] if c in counts]
    counts = counts[order + [c for c in counts.columns if c not in order]]
    vis = clips.groupby("machine_type").has_attributes.all()
    src = clips[(clips.split == "train") & (clips.domain == "source") & clips.has_attributes]
    counts["attributes visible"] = vis
    counts["source attribute groups"] = src.groupby("machine_type").attr_string.nunique().reindex(counts.index).fillna(0).astype(int)
    counts["clip seconds"] = clips.groupby("machine_type").duration.median().round(2)
    return counts


def main(argv: list[str] | None = None) -> int:
    """``asd scan DATA_ROOT``: the data set's summary and every problem; exit 1 on errors
    (clips that would be excluded), 2 when the root cannot be scanned, 0 otherwise."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="asd scan", description="Check a DCASE-layout data root before training: "
                                     "clip counts per machine type, split, domain and label, and every problem.")
    parser.add_argument("root", type=Path, help="the data root (holds one folder per machine type)")
    parser.add_argument("--no-content", action="store_true", help="check names, headers and file sizes only: do not "
                        "read the audio (no sample checks, no duplicate search)")
    parser.add_argument("--allow-leakage", action="store_true", default=None,
                        help="report the same audio in train/ and test/ (train/test leakage, which inflates every AUC) "
                        f"as a warning and keep both copies, instead of an error; only if you know why they must "
                        f"stay (also: {LEAKAGE_ENV}=1)")
    args = parser.parse_args(argv)
    try:
        scan = scan_dataset(args.root, check_content=not args.no_content, require_train=False,
                            allow_train_test_duplicates=args.allow_leakage)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if len(scan.clips):
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(summarise(scan.clips).to_string())
        print()
    print(scan.report())
    return 1 if scan.excluded else 0
