"""Score clips, or the evaluation set, with a fitted system of a run folder, from the command line::

    asd score RUN_FOLDER clip.wav [more.wav | folder ...] [--system NAME]
                           [--machine-type T] [--csv OUT.csv]
    asd score RUN_FOLDER EVAL_ROOT --submission OUT_DIR [--system NAME]
                           [--only TYPE ...] [--ground-truth DIR] [--csv OUT.csv]

Chapters 02-05 keep the systems they fit in their run folder (``<run>/fitted/<system>.pt``,
``RunFolder.save_fitted``: AE-MSE and AE-MAHALA, System-1, System-2, System-3 with the
backend of the chapter's headline numbers). This loads them (``asdlib.systems.detect.load_detector``;
every one of them unless ``--system``; the files are weights-only, so loading one runs no
code from it, and a file of an older asdlib is refused with the chapter command that
writes it again) and prints, per clip and system, the anomaly score,
the system's threshold for the clip's machine type and the decision (1 = anomaly: the score
is above the threshold), as a plain aligned table; ``--csv`` also writes it. A folder
argument scores every ``.wav`` inside it (not its subfolders). ``RUN_FOLDER`` may also be
one ``.pt`` file.

A clip's machine type comes from the DCASE layout, ``<type>/{train,test}/section_SS_...wav``;
``--machine-type`` gives it for clips named otherwise. A clip is refused (exit code 2, one
line naming it and the fix) when it cannot be read, when the system was not trained on its
machine type, or when its sample rate or length differs from that type's training clips.

``--submission OUT_DIR`` scores an evaluation set instead (clips without labels in their
names, ``<EVAL_ROOT>/<type>/test/section_00_0001.wav``): every ``test/*.wav`` of every
machine type of ``EVAL_ROOT`` (``--only``: of these types), each system's official files
(``anomaly_score_<type>_section_00_test.csv``, ``decision_result_...``, as
``asdlib.evaluation.metrics.write_submissions`` writes them for every chapter) into
``OUT_DIR/<system>/``. A type the system was not trained on is refused before anything is
scored. Each folder is written aside and renamed into place, so it is never seen half
written; an earlier submission there is replaced (a folder holding other files is refused).
With ``--ground-truth DIR``, or the default ground-truth folder (``asdlib.paths.ground_truth_root``)
when it holds the scored types, each submission is evaluated (``asdlib.evaluation.submission.evaluate_folder``)
and the official table printed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import soundfile as sf

from asdlib.evaluation import metrics
from asdlib.data.layout import AudioError, DataError, parse_clip_name
from asdlib.systems.detect import Detector, SavedFileError, load_detector
from asdlib.evaluation.submission import UsageError, evaluate_folder, ground_truth_types, report, text_table
from asdlib.paths import ground_truth_root
from asdlib.book.chapters import FITTED_CHAPTERS as SYSTEM_CHAPTERS
from asdlib.book.runs import FITTED_FOLDER, RunFolder

#: How far (seconds) a clip's length may lie outside its type's training clips' lengths.
LENGTH_TOLERANCE_S = 0.01


# --------------------------------------------------------------------------- systems
def load_systems(run_dir: str | Path, system: str | None = None) -> dict[str, Detector]:
    """The fitted systems a run folder kept (``{name: detector}``), or the one named."""
    run_dir = Path(run_dir)
    if run_dir.is_file() and run_dir.suffix == ".pt":
        folder = run_dir.parent.parent if run_dir.parent.name == FITTED_FOLDER else None
        return {run_dir.stem: _load(run_dir, folder)}
    chapters = ", ".join(SYSTEM_CHAPTERS)
    if not run_dir.is_dir():
        raise UsageError(f"run folder {run_dir} does not exist; pass a folder runs/<profile>/<chapter>/<run>/ "
                         f"made by one of the chapters {chapters}")
    run = RunFolder(run_dir)
    names = run.fitted_systems()
    if not names:
        raise UsageError(f"{run_dir} has no fitted system ({FITTED_FOLDER}/*.pt); {_which_chapter(run_dir)}")
    if system is not None:
        if system not in names:
            raise UsageError(f"{run_dir} has no fitted system {system!r} (it has {', '.join(names)}); "
                             "pass one of these to --system")
        names = [system]
    return {name: _load(run.fitted_path(name), run_dir) for name in names}


def _load(path: Path, run_dir: Path | None) -> Detector:
    """``load_detector``; a file it refuses (an older asdlib's pickle, anything but a saved
    detector) is a usage error naming the chapter that writes it again, when the run folder
    tells it."""
    try:
        return load_detector(path)
    except SavedFileError as exc:
        command = _chapter_command(run_dir) if run_dir is not None else None
        fix = f"re-run chapter {command[0]} to fit it again: {command[1]}" if command else exc.fix
        raise UsageError(f"{exc.path} {exc.what}; {fix}") from None


def _chapter_command(run_dir: Path) -> tuple[str, str] | None:
    """``(chapter, the asd run command that makes this run folder again)`` from its config.json,
    or None when it is no run folder of a chapter that fits systems."""
    if not (run_dir / "config.json").is_file():
        return None
    try:
        cfg = RunFolder(run_dir).load_json("config")
    except (OSError, ValueError):
        return None
    chapter = cfg.get("chapter")
    if chapter not in SYSTEM_CHAPTERS:
        return None
    return chapter, (f"asd run notebooks/{chapter}.py -p profile {cfg.get('profile', 'ci')} "
                     f"-p data_root {cfg.get('data_root')}")


def _which_chapter(run_dir: Path) -> str:
    """The fix for a run folder without fitted systems: the chapter command that makes them."""
    config = run_dir / "config.json"
    if not config.is_file():
        return ("it is not a run folder (no config.json); pass a folder runs/<profile>/<chapter>/<run>/ made by "
                f"one of the chapters {', '.join(SYSTEM_CHAPTERS)}")
    command = _chapter_command(run_dir)
    if command is None:
        chapter = RunFolder(run_dir).load_json("config").get("chapter", "?")
        return f"chapter {chapter} fits no system; run one of {', '.join(SYSTEM_CHAPTERS)} and pass its run folder"
    return f"run chapter {command[0]} again to save them: {command[1]}"


# --------------------------------------------------------------------------- clips
def machine_type_of(path: Path) -> str | None:
    """The machine type of a clip in the DCASE layout, ``<type>/{train,test}/section_SS_...wav``."""
    try:
        parse_clip_name(path.name)
    except AudioError:
        return None
    parent = Path(os.path.abspath(path)).parent  # not resolve(): an imported clip links to a file elsewhere
    return parent.parent.name if parent.name in ("train", "test") and parent.parent.name else None


def clip_rows(args: list[str | Path], machine_type: str | None = None) -> pd.DataFrame:
    """A clip table of the named ``.wav`` files and every ``.wav`` of the named folders:
    machine type, domain and attributes from the name, sample rate and seconds from the header."""
    paths: list[Path] = []
    for arg in map(Path, args):
        if arg.is_dir():
            found = sorted(p for p in arg.iterdir() if p.is_file() and p.suffix.lower() == ".wav")
            if not found:
                raise UsageError(f"folder {arg} holds no .wav file; pass clips or folders of clips")
            paths += found
        elif arg.exists():
            paths.append(arg)
        else:
            raise UsageError(f"{arg} does not exist; pass .wav clips or folders holding them")
    rows = []
    for path in paths:
        try:
            info = sf.info(str(path))
        except Exception as exc:  # soundfile raises several types for unreadable files
            raise UsageError(f"{path}: cannot read audio ({' '.join(str(exc).split())}); pass a WAV file") from None
        mtype = machine_type or machine_type_of(path)
        if mtype is None:
            raise UsageError(f"{path}: cannot tell its machine type (not a DCASE clip "
                             "<type>/test/section_SS_....wav); pass --machine-type T")
        try:
            name = parse_clip_name(path.name)
        except AudioError:
            name = None
        attributes = dict(name.attributes) if name else {}
        rows.append({"file": str(path), "path": str(path), "file_name": path.name, "machine_type": mtype,
                     "section": name.section if name else "00", "domain": name.domain if name else "unknown",
                     "attr_string": name.attr_string if name else "", "attributes": attributes,
                     "has_attributes": bool(attributes), "sample_rate": info.samplerate,
                     "duration": info.frames / info.samplerate if info.samplerate else 0.0})
    return pd.DataFrame(rows)


def check_clips(clips: pd.DataFrame, system: str, detector: Detector) -> None:
    """Refuse clips the system cannot score as it was trained: another machine type, sample
    rate or length than its training clips of that type."""
    info = detector.saved_info_
    for clip in clips.itertuples(index=False):
        mtype = clip.machine_type
        if mtype not in info["machine_types"]:
            raise UsageError(f"{clip.file}: {system} was not trained on machine type {mtype!r} (only on "
                             f"{', '.join(info['machine_types'])}); score it with a run trained on {mtype}, or "
                             "pass --machine-type if the clip is named otherwise")
        trained = info["clips"].get(mtype)
        if not trained:
            continue
        rates = trained["sample_rates"]
        if clip.sample_rate not in rates:
            raise UsageError(f"{clip.file}: sample rate {clip.sample_rate} Hz, but {system} was trained on "
                             f"{'/'.join(map(str, rates))} Hz clips of {mtype}; resample it to {rates[0]} Hz")
        lo, hi = trained["seconds"]
        if not lo - LENGTH_TOLERANCE_S <= clip.duration <= hi + LENGTH_TOLERANCE_S:
            length = f"{lo:.2f} s" if hi - lo < LENGTH_TOLERANCE_S else f"{lo:.2f}-{hi:.2f} s"
            raise UsageError(f"{clip.file}: {clip.duration:.2f} s long, but {system} was trained on {length} "
                             f"clips of {mtype}; cut or pad it to {length}")


def score_clips(systems: dict[str, Detector], clips: pd.DataFrame) -> pd.DataFrame:
    """Per clip and system: machine type, score, the type's threshold and the decision
    (every system's clips checked before any is scored)."""
    for name, det in systems.items():
        check_clips(clips, name, det)
    frames = []
    for name, det in systems.items():
        scores = det.score(clips)
        frames.append(pd.DataFrame({"file": clips.file, "system": name, "machine_type": clips.machine_type,
                                    "score": scores, "threshold": clips.machine_type.map(det.thresholds_),
                                    "decision": det.decide(clips, scores)}))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- the evaluation set
#: The files a submission folder holds (``metrics.submission_names``); ``--submission``
#: replaces a folder holding nothing else.
SUBMISSION_FILE_RE = re.compile(r"^(anomaly_score|decision_result)_.+_section_\d+_test\.csv$")


def eval_clips(eval_root: str | Path, systems: dict[str, Detector], only: list[str] | None = None) -> pd.DataFrame:
    """The clip table of every ``<eval_root>/<type>/test/*.wav`` (of the types ``only``
    names), after checking that every clip has a DCASE name and every system was trained on
    every type (``UsageError`` naming the types and the fix)."""
    eval_root = Path(eval_root)
    where = "the evaluation set's folder (e.g. /data/dcase2024/eval_data) holding <type>/test/section_00_NNNN.wav"
    if not eval_root.is_dir():
        raise UsageError(f"evaluation folder {eval_root} does not exist; pass {where}")
    found = sorted(d.name for d in eval_root.iterdir() if not d.name.startswith(".") and (d / "test").is_dir())
    if not found:
        raise UsageError(f"{eval_root} holds no <type>/test/ folder; pass {where}")
    if only:
        missing = sorted(set(only) - set(found))
        if missing:
            raise UsageError(f"{eval_root} has no test/ folder of machine type(s) {', '.join(missing)} (it has "
                             f"{', '.join(found)}); pass --only with some of these")
        found = sorted(set(only))
    for name, det in systems.items():
        trained = det.saved_info_["machine_types"]
        unknown = [t for t in found if t not in trained]
        if unknown:
            scorable = [t for t in found if t in trained]
            others = f", or pass --only {' '.join(scorable)} to score the others" if scorable else ""
            raise UsageError(f"{eval_root}: {name} cannot score machine type(s) {', '.join(unknown)}, it was "
                             f"trained only on {', '.join(trained)}; score them with a run whose data_root holds their "
                             "train clips (a type of additional_roots only trains the network, it gets no threshold)"
                             + others)
    clips = pd.concat([clip_rows([eval_root / mtype / "test"], mtype) for mtype in found], ignore_index=True)
    for path in clips.file:
        try:
            parse_clip_name(path)
        except AudioError as exc:
            raise UsageError(str(exc)) from None
    return clips


def check_replaceable(folder: Path) -> None:
    """Refuse to write a submission over a file, or over a folder holding other files than
    submission CSVs."""
    if folder.is_dir():
        others = sorted(p.name for p in folder.iterdir() if not SUBMISSION_FILE_RE.match(p.name))
        if others:
            raise UsageError(f"{folder} holds other files than submission CSVs ({', '.join(others[:3])}); pass "
                             "another --submission folder, or empty this one")
    elif folder.exists() or folder.is_symlink():
        raise UsageError(f"{folder} exists and is not a folder; pass another --submission folder")


def write_submission_folder(folder: str | Path, table: pd.DataFrame) -> list[Path]:
    """``metrics.write_submissions`` of a per-clip table into ``folder`` as a whole: written
    into ``.<name>.partial-<pid>`` beside it, then renamed, so ``folder`` is absent, the
    earlier submission or the complete new one, never half written. An earlier submission
    there is replaced (``check_replaceable``). Returns the files written."""
    folder = Path(folder)
    check_replaceable(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(f".{folder.name}.partial-{os.getpid()}")
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    for leftover in (partial, old):
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        metrics.write_submissions(partial, table)
        if folder.exists():
            folder.rename(old)
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        if old.exists() and not folder.exists():
            old.rename(folder)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return sorted(folder.iterdir())


def evaluation_ground_truth(explicit: Path | None, clips: pd.DataFrame) -> tuple[Path | None, str | None]:
    """The ground-truth folder to evaluate the scored clips with, checked before scoring:
    ``(folder, None)``, or ``(None, why not)`` when the default folder is absent or lacks a
    type; an ``explicit`` folder that lacks one raises ``UsageError``."""
    gt_root = explicit or ground_truth_root()
    if gt_root is None:
        return None, "no ground-truth folder found (--ground-truth DIR or ASD_GROUND_TRUTH): not evaluated"
    problem = None
    if not (gt_root / "ground_truth_data").is_dir():
        problem = f"{gt_root} is not a ground-truth folder (no ground_truth_data/ inside)"
    else:
        pairs = clips[["machine_type", "section"]].drop_duplicates().itertuples(index=False)
        missing = [f"{t} (section {s})" for t, s in pairs if t not in ground_truth_types(gt_root, s)]
        if missing:
            problem = f"{gt_root} holds no ground truth of {', '.join(missing)}"
    if problem is None:
        return gt_root, None
    if explicit is not None:
        raise UsageError(f"{problem}; pass the --ground-truth folder holding ground_truth_data/ground_truth_<type>_"
                         "section_00_test.csv of the scored types, or leave --ground-truth out")
    return None, f"{problem}: not evaluated (pass --ground-truth DIR)"


def submit(run_folder: Path, eval_root: Path, out_dir: Path, system: str | None = None,
           only: list[str] | None = None, ground_truth: Path | None = None) -> pd.DataFrame:
    """``--submission``: score the evaluation set, write ``OUT_DIR/<system>/``, print what
    was written and, with ground truth, the official table of each system. Returns the
    per-clip table of every system (``score_clips`` with ``file_name`` and ``section``)."""
    systems = load_systems(run_folder, system)
    clips = eval_clips(eval_root, systems, only)
    for name in systems:
        check_replaceable(out_dir / name)
    gt_root, not_evaluated = evaluation_ground_truth(ground_truth, clips)
    table = score_clips(systems, clips).merge(clips[["file", "file_name", "section"]], on="file",
                                              validate="many_to_one")
    for name, sub in table.groupby("system", sort=False):
        files = write_submission_folder(out_dir / name, sub)
        print(f"{name}: {len(sub)} clips of {', '.join(sorted(sub.machine_type.unique()))} -> {out_dir / name}/ "
              f"({len(files)} files: {files[0].name}, ...)")
    if not_evaluated:
        print(not_evaluated)
        return table
    for name, sub in table.groupby("system", sort=False):
        for section in sorted(sub.section.unique()):
            try:
                evaluated = evaluate_folder(out_dir / name, gt_root, section)
            except (metrics.SubmissionError, DataError) as exc:
                raise UsageError(f"{exc} (the submission files are written; only the evaluation failed)") from None
            print(f"\n{name}\n{report(out_dir / name, gt_root, section, evaluated)}")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asd score", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_folder", type=Path, help="a run folder of chapters 02-05 (or one fitted/<system>.pt)")
    parser.add_argument("clips", nargs="+", help=".wav clips and folders of them; with --submission, EVAL_ROOT")
    parser.add_argument("--system", default=None, help="score with this fitted system only (default: all)")
    parser.add_argument("--machine-type", default=None, help="machine type of every clip (default: from the path)")
    parser.add_argument("--csv", type=Path, default=None, help="also write the per-clip table here")
    parser.add_argument("--submission", type=Path, default=None, metavar="OUT_DIR",
                        help="score the evaluation set EVAL_ROOT (<type>/test/*.wav) and write each system's "
                             "official submission files to OUT_DIR/<system>/")
    parser.add_argument("--only", nargs="+", default=None, metavar="TYPE",
                        help="with --submission: score these machine types of EVAL_ROOT only (default: all)")
    parser.add_argument("--ground-truth", type=Path, default=None,
                        help="with --submission: evaluate against this ground-truth folder (default: "
                             "ASD_GROUND_TRUTH or ../shared/data/dcase2024-ground-truth, when it holds the types)")
    args = parser.parse_args(argv)
    try:
        if args.submission is not None:
            if len(args.clips) != 1:
                raise UsageError(f"--submission scores one evaluation folder, got {len(args.clips)} arguments; pass "
                                 "EVAL_ROOT, the folder holding <type>/test/")
            if args.machine_type is not None:
                raise UsageError("--machine-type does not go with --submission: the machine types are EVAL_ROOT's "
                                 "folders (<type>/test/); pass --only to choose some")
            table = submit(args.run_folder, Path(args.clips[0]), args.submission, args.system, args.only,
                           args.ground_truth)
        else:
            if args.only is not None or args.ground_truth is not None:
                raise UsageError("--only and --ground-truth go with --submission OUT_DIR (scoring an evaluation set); "
                                 "add it, or leave them out")
            clips = clip_rows(args.clips, args.machine_type)
            table = score_clips(load_systems(args.run_folder, args.system), clips)
            print(text_table(table, float_format=lambda v: f"{v:.6g}"))
    except (UsageError, AudioError, DataError, ValueError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.csv, index=False)
    return 0

