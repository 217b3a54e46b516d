"""Official DCASE 2024 Task 2 metrics, submission files and evaluation against ground truth.

Definitions follow the official evaluator (nttcslab/dcase2024_task2_evaluator), with
anomaly as the positive class:

- AUC-source: ROC-AUC over the **source normals plus all anomalies of both domains**;
- AUC-target: the same with the target normals (a common mistake is to use target clips only);
- pAUC: ``roc_auc_score(y, s, max_fpr=0.1)`` over **all** test clips (McClish-standardised
  by scikit-learn, so 0.5 is chance);
- official score: harmonic mean of every AUC-s, AUC-t and pAUC of every machine type
  together, each floored at a tiny eps;
- the seed report's Table 1 "Total": harmonic mean over machine types, column by column.
"""

from __future__ import annotations

import csv
import sys
import warnings
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

EPS = sys.float_info.epsilon
MAX_FPR = 0.1
METRIC_COLUMNS = ["AUC-s", "AUC-t", "pAUC"]


def _arrays(is_anomaly, domain, score):
    y = np.asarray(is_anomaly).astype(int)
    d = np.asarray(domain).astype(str)
    s = np.asarray(score, dtype=float)
    if not (len(y) == len(d) == len(s)):
        raise ValueError(f"length mismatch: labels {len(y)}, domains {len(d)}, scores {len(s)}")
    if not set(np.unique(y)) <= {0, 1}:
        raise ValueError("is_anomaly must be 0 (normal) or 1 (anomaly); unlabelled clips cannot be scored")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{int((~np.isfinite(s)).sum())} scores are NaN/inf")
    return y, d, s


def _auc_domain(is_anomaly, domain, score, which: str) -> float:
    y, d, s = _arrays(is_anomaly, domain, score)
    keep = (d == which) | (y == 1)
    if y[keep].min() == y[keep].max():
        raise ValueError(f"AUC-{which[0]} needs both {which} normals and anomalies")
    return float(roc_auc_score(y[keep], s[keep]))


def auc_source(is_anomaly, domain, score) -> float:
    """ROC-AUC over source normals + all anomalies (official definition)."""
    return _auc_domain(is_anomaly, domain, score, "source")


def auc_target(is_anomaly, domain, score) -> float:
    """ROC-AUC over target normals + all anomalies (official definition)."""
    return _auc_domain(is_anomaly, domain, score, "target")


def pauc(is_anomaly, score, max_fpr: float = MAX_FPR) -> float:
    """Partial AUC for FPR in [0, max_fpr] over all clips, McClish-standardised (sklearn)."""
    y = np.asarray(is_anomaly).astype(int)
    return float(roc_auc_score(y, np.asarray(score, dtype=float), max_fpr=max_fpr))


def harmonic_mean(values: Iterable[float], eps: float = EPS) -> float:
    """Harmonic mean with every value floored at ``eps`` (as the evaluator does)."""
    v = np.maximum(np.asarray(list(values), dtype=float), eps)
    if v.size == 0:
        return float("nan")
    return float(len(v) / np.sum(1.0 / v))


def _f1(y: np.ndarray, dec: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of decisions (the evaluator's: 0 where a count is empty)."""
    tp = int(((dec == 1) & (y == 1)).sum())
    fp = int(((dec == 1) & (y == 0)).sum())
    fn = int(((dec == 0) & (y == 1)).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


def type_metrics(is_anomaly, domain, score, decision=None) -> dict[str, float]:
    """AUC-s, AUC-t, pAUC for one machine type; with decisions also precision, recall and F1
    **per domain** as the official evaluator computes them: over the clips of that domain
    only (its normals and its own anomalies), not over all clips."""
    y, d, s = _arrays(is_anomaly, domain, score)
    out = {
        "AUC-s": auc_source(y, d, s),
        "AUC-t": auc_target(y, d, s),
        "pAUC": pauc(y, s),
    }
    if decision is not None:
        dec = np.asarray(decision).astype(int)
        for dom, tag in (("source", "s"), ("target", "t")):
            sel = d == dom
            prec, rec, f1 = _f1(y[sel], dec[sel]) if sel.any() else (np.nan, np.nan, np.nan)
            out.update({f"precision-{tag}": prec, f"recall-{tag}": rec, f"F1-{tag}": f1})
    return out


def evaluate(scores: pd.DataFrame, machine_types: Iterable[str] | None = None) -> pd.DataFrame:
    """Per-type metrics from a table with ``machine_type, is_anomaly, domain, score`` [``decision``].

    Returns one row per machine type plus a ``Total`` row (harmonic mean over types, column
    by column, as in the seed report's Table 1) and an ``official`` column on the total
    (harmonic mean over all AUC-s, AUC-t and pAUC values together).

    A type whose metrics the clips cannot define (no anomalies, no normals of a domain) or,
    among ``machine_types`` (the types that were trained), one without test clips gets a row
    of NaN and is left out of the Total and the official score; a warning then names it and
    the types the Total covers, and ``table.attrs["not_evaluated"]`` maps it to the reason.
    """
    from asdlib.data.layout import metric_gaps

    need = {"machine_type", "is_anomaly", "domain", "score"}
    if not need <= set(scores.columns):
        raise ValueError(f"scores table lacks columns {sorted(need - set(scores.columns))}")
    rows, not_evaluated = {}, {}
    for mtype in sorted(set(machine_types or ()) - set(scores.machine_type)):
        not_evaluated[mtype] = "no labelled test clips (no test/ folder?)"
    for mtype, sub in scores.groupby("machine_type", sort=True):
        gaps = metric_gaps(sub)
        if gaps:
            not_evaluated[mtype] = "; ".join(gaps)
            continue
        rows[mtype] = type_metrics(sub.is_anomaly, sub.domain, sub.score,
                                   sub["decision"] if "decision" in sub else None)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=None if rows else METRIC_COLUMNS)
    evaluated = list(table.index)
    table = table.reindex(sorted(evaluated + list(not_evaluated)))
    table.loc["Total"] = {c: harmonic_mean(table.loc[evaluated, c]) for c in table.columns}
    table["official"] = np.nan
    table.loc["Total", "official"] = official_score(table.loc[evaluated]) if evaluated else np.nan
    table.index.name = "machine_type"
    table.attrs["not_evaluated"] = not_evaluated
    if not_evaluated:
        covers = f"{', '.join(evaluated) or 'no type'} ({len(evaluated)} of {len(table) - 1} types)"
        warnings.warn("; ".join(f"{t}: {why}" for t, why in not_evaluated.items())
                      + f" -- left out of the Total and the official score, which cover {covers}",
                      stacklevel=2)
    return table


def _roc_areas(is_anomaly, score, counts: np.ndarray, max_fpr: float | None = None) -> np.ndarray:
    """ROC-AUC of ``(is_anomaly, score)`` once per row of ``counts`` (how often each clip is
    drawn: a bootstrap replicate), all replicates at once. With ``max_fpr`` the partial AUC,
    McClish-standardised as ``pauc`` (scikit-learn) computes it. Equal to ``roc_auc_score``
    on the clips repeated ``counts`` times (``tests/test_ensemble.py`` checks it)."""
    y = np.asarray(is_anomaly).astype(float)
    order = np.argsort(-np.asarray(score, dtype=float), kind="mergesort")
    s = np.asarray(score, dtype=float)[order]
    c = np.asarray(counts, dtype=float)[:, order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # one ROC point per distinct score
    tps = np.cumsum(c * y[order], axis=1)[:, last_of_tie]
    fps = np.cumsum(c * (1 - y[order]), axis=1)[:, last_of_tie]
    zero = np.zeros((len(c), 1))
    tpr, fpr = np.hstack([zero, tps / tps[:, -1:]]), np.hstack([zero, fps / fps[:, -1:]])
    x0, x1, y0, y1 = fpr[:, :-1], fpr[:, 1:], tpr[:, :-1], tpr[:, 1:]
    if max_fpr is None:
        return ((x1 - x0) * (y0 + y1) / 2).sum(axis=1)
    right = np.minimum(x1, max_fpr)  # each ROC segment cut at max_fpr, its end interpolated
    width = np.clip(right - x0, 0, None)
    slope = np.divide(y1 - y0, x1 - x0, out=np.zeros_like(x0), where=x1 > x0)
    partial = (width * (2 * y0 + slope * width) / 2).sum(axis=1)
    min_area, max_area = 0.5 * max_fpr ** 2, max_fpr
    return 0.5 * (1 + (partial - min_area) / (max_area - min_area))


def bootstrap_ci(scores: pd.DataFrame, n: int = 1000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Bootstrap confidence intervals of every number ``evaluate`` reports.

    Test clips are resampled with replacement within each (machine type, domain, normal /
    anomaly) stratum, so every replicate keeps the design of the test set (and AUC-s and
    AUC-t stay defined); per-type AUC-s, AUC-t, pAUC, their ``Total`` (harmonic means) and
    the official score are recomputed ``n`` times. Percentile intervals at ``level``.

    Returns one row per (machine_type, metric), ``Total`` last with ``official``; columns
    ``value`` (on the test set as it is), ``low`` and ``high`` (fractions, like ``evaluate``).
    """
    need = ["machine_type", "is_anomaly", "domain", "score"]
    if not set(need) <= set(scores.columns):
        raise ValueError(f"scores table lacks columns {sorted(set(need) - set(scores.columns))}")
    if n < 1 or not 0 < level < 1:
        raise ValueError(f"bootstrap_ci needs n >= 1 and 0 < level < 1, got n={n}, level={level}")
    rng = np.random.default_rng(seed)
    types = sorted(scores.machine_type.unique())
    reps = np.empty((n, len(types), len(METRIC_COLUMNS)))
    for t, mtype in enumerate(types):
        sub = scores[scores.machine_type == mtype]
        y, d, s = _arrays(sub.is_anomaly, sub.domain, sub.score)
        counts = np.zeros((n, len(y)))
        for dom in np.unique(d):
            for lab in (0, 1):
                stratum = np.flatnonzero((d == dom) & (y == lab))
                if stratum.size:
                    counts[:, stratum] = rng.multinomial(stratum.size, np.full(stratum.size, 1 / stratum.size), n)
        for j, which in enumerate(("source", "target")):
            keep = (d == which) | (y == 1)
            reps[:, t, j] = _roc_areas(y[keep], s[keep], counts[:, keep])
        reps[:, t, 2] = _roc_areas(y, s, counts, MAX_FPR)
    floored = np.maximum(reps, EPS)
    totals = len(types) / np.sum(1.0 / floored, axis=1)  # harmonic mean over types, per metric
    official = floored[0].size / np.sum(1.0 / floored, axis=(1, 2))
    point = evaluate(scores[need])
    rows, alpha = [], (1 - level) / 2
    for label, values, metric_names in ([(mtype, reps[:, t], METRIC_COLUMNS) for t, mtype in enumerate(types)]
                                        + [("Total", np.column_stack([totals, official]),
                                            [*METRIC_COLUMNS, "official"])]):
        for j, metric in enumerate(metric_names):
            low, high = np.quantile(values[:, j], [alpha, 1 - alpha])
            rows.append({"machine_type": label, "metric": metric, "value": point.loc[label, metric],
                         "low": low, "high": high})
    return pd.DataFrame(rows).set_index(["machine_type", "metric"])


def domain_diagnostics(scores: pd.DataFrame) -> pd.DataFrame:
    """Where a detector's AUC-t is lost: per machine type (percent, ``Total`` = mean)

    - ``within source``: AUC of source normals against source anomalies only;
    - ``within target``: AUC of target normals against target anomalies only;
    - ``target above source``: how often a target normal scores above a source normal
      (AUC of target normals against source normals; 50 = the two domains' normals are on
      one scale). The official AUC-t mixes target normals with the anomalies of *both*
      domains, so a system can detect well within each domain and still lose AUC-t when
      this number is far above 50.
    """
    rows = {}
    for mtype, sub in scores.groupby("machine_type", sort=True):
        y, d, s = _arrays(sub.is_anomaly, sub.domain, sub.score)
        out = {}
        for name, keep in (("within source", d == "source"), ("within target", d == "target")):
            out[name] = 100 * roc_auc_score(y[keep], s[keep]) if len(set(y[keep])) == 2 else np.nan
        normals = y == 0
        both = normals & np.isin(d, ["source", "target"])
        dn = d[both]
        out["target above source"] = (100 * roc_auc_score(dn == "target", s[both]) if len(set(dn)) == 2
                                      else np.nan)
        rows[mtype] = out
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.loc["Total"] = table.mean()
    table.index.name = "machine_type"
    return table


def official_score(per_type: pd.DataFrame) -> float:
    """Harmonic mean of all AUC-s, AUC-t and pAUC values of all types together."""
    per_type = per_type.drop(index="Total", errors="ignore")
    return harmonic_mean(per_type[METRIC_COLUMNS].to_numpy().ravel())


def table1(results: Mapping[str, pd.DataFrame], scale: float = 100.0) -> pd.DataFrame:
    """Lay out several systems' ``evaluate`` tables like the seed report's Table 1.

    Rows: systems; columns: (machine type, metric) with ``Total`` last; values in percent.
    """
    parts = {}
    for system, table in results.items():
        t = table[METRIC_COLUMNS] * scale
        parts[system] = t.stack()
    wide = pd.DataFrame(parts).T
    types = [t for t in wide.columns.get_level_values(0).unique() if t != "Total"] + ["Total"]
    wide = wide.reindex(columns=pd.MultiIndex.from_product([types, METRIC_COLUMNS]))
    return wide.round(1)


def one_domain_summary(is_anomaly, score, decision) -> dict:
    """Sanity-check metrics for a set with one domain only (e.g. the real fan recordings).

    AUC-t needs target normals, so only the AUC over all clips (= AUC-s there) and the pAUC
    are defined; plus how many normals and anomalies the thresholds flag. Values in percent.
    """
    y = np.asarray(is_anomaly).astype(int)
    s = np.asarray(score, dtype=float)
    d = np.asarray(decision).astype(int)
    return {"AUC (all clips)": 100 * float(roc_auc_score(y, s)),
            "pAUC (all clips)": 100 * pauc(y, s),
            "normals flagged": f"{d[y == 0].sum()} / {(y == 0).sum()}",
            "anomalies flagged": f"{d[y == 1].sum()} / {(y == 1).sum()}"}


# --------------------------------------------------------------------------- submission files
def submission_names(machine_type: str, section: str = "00") -> tuple[str, str]:
    return (f"anomaly_score_{machine_type}_section_{section}_test.csv",
            f"decision_result_{machine_type}_section_{section}_test.csv")


def write_submission(out_dir: str | Path, machine_type: str, file_names, scores, decisions,
                     section: str = "00") -> tuple[Path, Path]:
    """Write the official ``anomaly_score_...`` and ``decision_result_...`` CSVs (no header)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    score_name, decision_name = submission_names(machine_type, section)
    names = [Path(f).name for f in file_names]
    pd.DataFrame({"f": names, "s": np.asarray(scores, dtype=float)}).to_csv(
        out_dir / score_name, header=False, index=False)
    pd.DataFrame({"f": names, "d": np.asarray(decisions).astype(int)}).to_csv(
        out_dir / decision_name, header=False, index=False)
    return out_dir / score_name, out_dir / decision_name


def write_submissions(out_dir: str | Path, table: pd.DataFrame) -> list[Path]:
    """A system's whole submission: ``write_submission`` for every machine type and section
    of a per-clip table (``machine_type, section, file_name, score, decision``)."""
    paths: list[Path] = []
    for (mtype, section), sub in table.groupby(["machine_type", "section"]):
        paths += write_submission(out_dir, mtype, sub.file_name, sub.score, sub.decision, section=section)
    return paths


class SubmissionError(ValueError):
    """A submission file that cannot be evaluated (the message names the file and the fix)."""


def _read_submission_file(path: Path, column: str) -> pd.DataFrame:
    """One official submission CSV (``file name,<column>`` rows, no header), every row checked:
    two fields, a number (finite; 0 or 1 for decisions), each clip once."""
    wanted = f"write one 'file name,{column}' row per test clip, without a header"
    with path.open(newline="") as fh:
        rows = [(i, row) for i, row in enumerate(csv.reader(fh), start=1) if any(c.strip() for c in row)]
    names, values = [], []
    for i, row in rows:
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise SubmissionError(f"{path}: row {i} {row} is not 'file name,{column}'; {wanted}")
        name, text = row[0].strip(), row[1].strip()
        try:
            value = float(text)
        except ValueError:
            raise SubmissionError(f"{path}: row {i} ({name}): {column} {text!r} is not a number; {wanted}") from None
        if not np.isfinite(value) or (column == "decision" and value not in (0, 1)):
            need = "0 or 1" if column == "decision" else "a finite number"
            raise SubmissionError(f"{path}: row {i} ({name}): {column} is {text}; every clip needs {need}")
        names.append(name)
        values.append(value)
    if not names:
        raise SubmissionError(f"{path} holds no rows; {wanted}")
    table = pd.DataFrame({"file_name": names, column: values})
    repeated = table.file_name[table.file_name.duplicated()].unique().tolist()
    if repeated:
        raise SubmissionError(f"{path}: {len(repeated)} clips appear more than once, e.g. {repeated[:3]}; "
                              "keep one row per clip")
    return table.astype({column: int}) if column == "decision" else table


def _clip_difference(path: Path, names, reference, what: str, fix: str) -> None:
    """Raise naming ``path`` when ``names`` lacks clips of ``reference`` or has others."""
    names, reference = set(names), set(reference)
    missing, extra = sorted(reference - names), sorted(names - reference)
    if missing:
        raise SubmissionError(f"{path}: {len(missing)} clips of {what} are missing, e.g. {missing[:3]}; {fix}")
    if extra:
        raise SubmissionError(f"{path}: {len(extra)} clips are not in {what}, e.g. {extra[:3]}; remove them, "
                              "or check the machine type and section")


def read_submission(sub_dir: str | Path, machine_type: str, section: str = "00",
                    ground_truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read a type's submission CSVs back: ``file_name, score[, decision]``.

    Raises ``SubmissionError`` naming the file for a malformed row, a score that is not a
    finite number, a decision other than 0/1, a clip listed twice, scores that do not cover
    exactly the clips of ``ground_truth`` (when given, ``asdlib.data.layout.read_ground_truth``) and
    decisions that do not cover exactly the scored clips."""
    sub_dir = Path(sub_dir)
    score_name, decision_name = submission_names(machine_type, section)
    path = sub_dir / score_name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run the system or check the submission folder")
    table = _read_submission_file(path, "score")
    if ground_truth is not None:
        _clip_difference(path, table.file_name, ground_truth.file_name,
                         f"the {machine_type} ground truth ({len(ground_truth)} test clips)", "score every test clip")
    if (sub_dir / decision_name).is_file():
        dec = _read_submission_file(sub_dir / decision_name, "decision")
        _clip_difference(sub_dir / decision_name, dec.file_name, table.file_name, score_name,
                         "write a decision for every scored clip")
        table = table.merge(dec, on="file_name", how="left", validate="one_to_one")
    return table


def evaluate_submission(sub_dir: str | Path, gt_root: str | Path,
                        machine_types: Iterable[str], section: str = "00") -> pd.DataFrame:
    """Score a submission folder against the official ground-truth files (evaluation set).

    Every test clip of the ground truth must be scored, and no other clip (``SubmissionError``
    naming the file, ``read_submission``); a type without ground truth raises
    ``asdlib.data.layout.DataError``."""
    from asdlib.data.layout import read_ground_truth

    frames = []
    for mtype in machine_types:
        gt = read_ground_truth(gt_root, mtype, section)
        merged = gt.merge(read_submission(sub_dir, mtype, section, ground_truth=gt), on="file_name", how="left")
        merged["machine_type"] = mtype
        frames.append(merged)
    return evaluate(pd.concat(frames, ignore_index=True))
