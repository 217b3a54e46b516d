"""Evaluate a submission folder against the official ground truth, from the command line::

    asd evaluate SUBMISSION_DIR --ground-truth DIR [--section 00] [--csv OUT.csv]

Any system's folder works (ours, ``<run>/<system>/submission/`` of a run on the DCASE 2024
evaluation set, or another team's): the
official ``anomaly_score_<type>_section_<SS>_test.csv`` files (and their
``decision_result_...`` files) are read, every machine type that has one is scored against
the evaluator's ground-truth layout (``ground_truth_data/``, ``ground_truth_domain/``) and
the official table is printed, in percent: per type AUC-source, AUC-target, pAUC and
precision / recall / F1 per domain, the harmonic mean over types, and the official score
(harmonic mean of every AUC-s, AUC-t and pAUC together). ``--csv`` writes the same table as
fractions (the layout of a run folder's ``metrics.csv``). The numbers come from
``asdlib.evaluation.metrics`` (``evaluate_submission``); this module only finds the files, checks them
and prints.

Bad input stops with exit code 2 and one line naming the file and the fix.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from asdlib.evaluation import metrics
from asdlib.data.layout import DataError
from asdlib.paths import ground_truth_root

#: The table's columns, in print order (``metrics.evaluate`` names).
COLUMNS = ["AUC-s", "AUC-t", "pAUC", "precision-s", "recall-s", "F1-s", "precision-t", "recall-t", "F1-t"]


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


def submission_types(sub_dir: Path, section: str) -> list[str]:
    """Machine types with an ``anomaly_score_<type>_section_<section>_test.csv`` in ``sub_dir``."""
    pattern = re.compile(rf"^anomaly_score_(.+)_section_{re.escape(section)}_test\.csv$")
    types = sorted(m.group(1) for p in sub_dir.iterdir() if (m := pattern.match(p.name)))
    if not types:
        sections = sorted({m.group(1) for p in sub_dir.iterdir()
                           if (m := re.match(r"^anomaly_score_.+_section_(\d+)_test\.csv$", p.name))})
        hint = f" (it has section(s) {', '.join(sections)}: pass --section)" if sections else ""
        raise UsageError(f"{sub_dir} holds no anomaly_score_<type>_section_{section}_test.csv file{hint}; "
                         "pass the folder with the official submission files")
    for p in sorted(sub_dir.glob(f"decision_result_*_section_{section}_test.csv")):
        mtype = p.name[len("decision_result_"):-len(f"_section_{section}_test.csv")]
        if mtype not in types:
            raise UsageError(f"{p} has no anomaly_score_{mtype}_section_{section}_test.csv beside it; "
                             "add the scores, or remove the file")
    return types


def ground_truth_types(gt_root: Path, section: str) -> list[str]:
    """Machine types the ground-truth folder holds labels for."""
    pattern = re.compile(rf"^ground_truth_(.+)_section_{re.escape(section)}_test\.csv$")
    return sorted(m.group(1) for p in (gt_root / "ground_truth_data").glob("*.csv") if (m := pattern.match(p.name)))


def evaluate_folder(sub_dir: str | Path, gt_root: str | Path, section: str = "00") -> pd.DataFrame:
    """``metrics.evaluate_submission`` for every machine type of a submission folder, after
    checking the folders (``UsageError`` naming the folder or file and the fix)."""
    sub_dir, gt_root = Path(sub_dir), Path(gt_root)
    if not sub_dir.is_dir():
        raise UsageError(f"submission folder {sub_dir} does not exist; pass the folder holding the "
                         f"anomaly_score_<type>_section_{section}_test.csv files")
    if not (gt_root / "ground_truth_data").is_dir():
        raise UsageError(f"{gt_root} is not a ground-truth folder (no ground_truth_data/ inside); pass the "
                         "official evaluator's folder, e.g. dcase2024-ground-truth/")
    types = submission_types(sub_dir, section)
    known = ground_truth_types(gt_root, section)
    for mtype in types:
        if mtype not in known:
            raise UsageError(f"{sub_dir / metrics.submission_names(mtype, section)[0]}: no ground truth for machine "
                             f"type {mtype!r} in {gt_root} (it has {', '.join(known) or 'none'}); remove the file, "
                             "or pass the --ground-truth folder that holds this type")
    return metrics.evaluate_submission(sub_dir, gt_root, types, section)


def text_table(frame: pd.DataFrame, float_format=lambda v: f"{v:.2f}") -> str:
    """A plain aligned table: text columns left-aligned, numbers right-aligned, NaN as ``-``."""
    def cell(v) -> str:
        if isinstance(v, float):
            return "-" if v != v else float_format(v)
        return str(v)

    rows = [list(map(str, frame.columns))] + [[cell(v) for v in row] for row in frame.itertuples(index=False)]
    left = [not pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    widths = [max(len(r[i]) for r in rows) for i in range(len(left))]
    return "\n".join("  ".join(c.ljust(w) if lft else c.rjust(w) for c, w, lft in zip(r, widths, left)).rstrip()
                     for r in rows)


def format_table(table: pd.DataFrame) -> str:
    """The official table in percent, the harmonic-mean row, and the official score."""
    shown = (100 * table.reindex(columns=COLUMNS)).rename(index={"Total": "harmonic mean"})
    lines = [text_table(shown.rename_axis("machine type").reset_index()),
             f"official score (harmonic mean of every AUC-s, AUC-t and pAUC): "
             f"{100 * table.loc['Total', 'official']:.2f}"]
    if "F1-s" not in table.columns:
        lines.append("(no decision_result files: precision, recall and F1 are not evaluated)")
    return "\n".join(lines)


def report(sub_dir: str | Path, gt_root: str | Path, section: str, table: pd.DataFrame) -> str:
    """What the command prints for one evaluated submission folder: the folders, then
    ``format_table``."""
    return (f"submission: {sub_dir}\nground truth: {gt_root} (section {section}); values in percent\n\n"
            + format_table(table))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asd evaluate", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission_dir", type=Path, help="folder with anomaly_score_*/decision_result_* CSVs")
    parser.add_argument("--ground-truth", type=Path, default=None,
                        help="the evaluator's ground-truth folder (default: ASD_GROUND_TRUTH or "
                             "../shared/data/dcase2024-ground-truth)")
    parser.add_argument("--section", default="00", help="section number of the files (default 00)")
    parser.add_argument("--csv", type=Path, default=None, help="also write the table here (fractions)")
    args = parser.parse_args(argv)
    try:
        gt_root = args.ground_truth or ground_truth_root()
        if gt_root is None:
            raise UsageError("no ground-truth folder found; pass --ground-truth DIR (the folder holding "
                             "ground_truth_data/) or set ASD_GROUND_TRUTH")
        table = evaluate_folder(args.submission_dir, gt_root, args.section)
    except (UsageError, metrics.SubmissionError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(args.submission_dir, gt_root, args.section, table))
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.csv)
        print(f"\ntable written to {args.csv}")
    return 0

