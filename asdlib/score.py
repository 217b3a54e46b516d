"""Score clips with a fitted system of a run folder, from the command line::

    python -m asdlib.score RUN_FOLDER clip.wav [more.wav | folder ...] [--system NAME]
                           [--machine-type T] [--csv OUT.csv]

Chapters 02-05 keep the systems they fit in their run folder (``<run>/fitted/<system>.pt``,
``RunFolder.save_fitted``: AE-MSE and AE-MAHALA, System-1, System-2, System-3 with the
backend of the chapter's headline numbers). This loads them (``asdlib.detect.load_detector``;
every one of them unless ``--system``) and prints, per clip and system, the anomaly score,
the system's threshold for the clip's machine type and the decision (1 = anomaly: the score
is above the threshold), as a plain aligned table; ``--csv`` also writes it. A folder
argument scores every ``.wav`` inside it (not its subfolders). ``RUN_FOLDER`` may also be
one ``.pt`` file.

A clip's machine type comes from the DCASE layout, ``<type>/{train,test}/section_SS_...wav``;
``--machine-type`` gives it for clips named otherwise. A clip is refused (exit code 2, one
line naming it and the fix) when it cannot be read, when the system was not trained on its
machine type, or when its sample rate or length differs from that type's training clips.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import soundfile as sf

from .data import AudioError, DataError, parse_clip_name
from .detect import Detector, load_detector
from .evaluate import UsageError, text_table
from .results import SYSTEM_CHAPTERS as _ALL_SYSTEM_CHAPTERS
from .runs import FITTED_FOLDER, RunFolder

#: Chapters that save fitted systems (System-4, chapter 06, combines the others' scores: score
#: its members' run folders instead).
SYSTEM_CHAPTERS = [c for c in _ALL_SYSTEM_CHAPTERS if c != "06_ensemble"]

#: How far (seconds) a clip's length may lie outside its type's training clips' lengths.
LENGTH_TOLERANCE_S = 0.01


# --------------------------------------------------------------------------- systems
def load_systems(run_dir: str | Path, system: str | None = None) -> dict[str, Detector]:
    """The fitted systems a run folder kept (``{name: detector}``), or the one named."""
    run_dir = Path(run_dir)
    if run_dir.is_file() and run_dir.suffix == ".pt":
        return {run_dir.stem: load_detector(run_dir)}
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
    return {name: load_detector(run.fitted_path(name)) for name in names}


def _which_chapter(run_dir: Path) -> str:
    """The fix for a run folder without fitted systems: the chapter command that makes them."""
    config = run_dir / "config.json"
    if not config.is_file():
        return ("it is not a run folder (no config.json); pass a folder runs/<profile>/<chapter>/<run>/ made by "
                f"one of the chapters {', '.join(SYSTEM_CHAPTERS)}")
    cfg = RunFolder(run_dir).load_json("config")
    chapter, profile = cfg.get("chapter", "?"), cfg.get("profile", "ci")
    if chapter not in SYSTEM_CHAPTERS:
        return f"chapter {chapter} fits no system; run one of {', '.join(SYSTEM_CHAPTERS)} and pass its run folder"
    return (f"run chapter {chapter} again to save them: python -m asdlib.experiment "
            f"run notebooks/{chapter}.py -p profile {profile} -p data_root {cfg.get('data_root')}")


# --------------------------------------------------------------------------- clips
def machine_type_of(path: Path) -> str | None:
    """The machine type of a clip in the DCASE layout, ``<type>/{train,test}/section_SS_...wav``."""
    try:
        parse_clip_name(path.name)
    except AudioError:
        return None
    parent = path.resolve().parent
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
    """Per clip and system: machine type, score, the type's threshold and the decision."""
    frames = []
    for name, det in systems.items():
        check_clips(clips, name, det)
        scores = det.score(clips)
        frames.append(pd.DataFrame({"file": clips.file, "system": name, "machine_type": clips.machine_type,
                                    "score": scores, "threshold": clips.machine_type.map(det.thresholds_),
                                    "decision": det.decide(clips, scores)}))
    return pd.concat(frames, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asdlib.score", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_folder", type=Path, help="a run folder of chapters 02-05 (or one fitted/<system>.pt)")
    parser.add_argument("clips", nargs="+", help=".wav clips and folders of them")
    parser.add_argument("--system", default=None, help="score with this fitted system only (default: all)")
    parser.add_argument("--machine-type", default=None, help="machine type of every clip (default: from the path)")
    parser.add_argument("--csv", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    try:
        clips = clip_rows(args.clips, args.machine_type)
        table = score_clips(load_systems(args.run_folder, args.system), clips)
    except (UsageError, AudioError, DataError, ValueError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(text_table(table, float_format=lambda v: f"{v:.6g}"))
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
