"""The detector interface every system follows, its decision threshold, and one evaluation path.

A detector is an estimator in scikit-learn's spirit::

    det = SomeDetector(config).fit(train_clips)    # clip table rows of the train split
    scores = det.score(test_clips)                  # one float per row, higher = more anomalous
    decisions = det.decide(test_clips, scores)      # 0/1 per row, from training-score thresholds

Clip tables may hold several machine types; a detector that keeps one model per type (the
baselines) loops inside. ``run_detector`` fits, scores, decides, writes the official
submission CSVs and returns the metrics, so every chapter evaluates the same way.

A fitted detector is saved with ``save_detector(det, path)`` (``det.save(path)``; chapters
02-05 keep theirs as ``<run>/fitted/<system>.pt``) and read back with
``load_detector(path)``, which scores exactly as the detector did when it was saved. The
file is weights-only (safetensors: arrays, plus JSON for everything else; no pickle), so
loading a file someone shared runs no code from it.
"""

from __future__ import annotations

import datetime as _dt
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats

from asdlib.evaluation import metrics


def gamma_threshold(train_scores, quantile: float = 0.9) -> float:
    """The baseline's decision threshold: a gamma fitted to training scores, its 0.9 quantile."""
    s = np.asarray(train_scores, dtype=float)
    if s.size < 3:
        raise ValueError(f"gamma threshold needs at least 3 training scores, got {s.size}")
    params = scipy.stats.gamma.fit(s)
    return float(scipy.stats.gamma.ppf(quantile, *params))


class Detector:
    """Base class: subclasses implement ``fit`` and ``score``; thresholds come for free.

    ``fit`` implementations must call ``self._set_thresholds(train, train_scores)``: it keeps
    ``train_scores_`` (one float per row of the table given to ``fit``, in its order: the same
    shape for every detector) and one threshold per machine type in ``thresholds_``, by
    default the gamma 0.9-quantile of the training scores (the official baseline's rule),
    and the sample rates and lengths of the training clips in ``fitted_on_`` (``clip_formats``).
    """

    threshold_rule: str = "gamma"  # "gamma" | "percentile"
    threshold_quantile: float = 0.9
    #: attributes ``save_detector`` leaves out (caches, callbacks, helpers rebuilt on demand; it
    #: refuses anything else its walk cannot write, ``asdlib.systems.state``), restored by ``_after_load``
    unsaved_attributes: tuple[str, ...] = ()

    def fit(self, train: pd.DataFrame) -> "Detector":  # pragma: no cover - interface
        raise NotImplementedError

    def score(self, clips: pd.DataFrame) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def _set_thresholds(self, train: pd.DataFrame, train_scores) -> None:
        train_scores = np.asarray(train_scores, dtype=float)
        if train_scores.shape != (len(train),):
            raise ValueError(f"{len(train)} train clips but training scores of shape {train_scores.shape}")
        self.train_scores_ = train_scores
        self.fitted_on_ = clip_formats(train)
        self.thresholds_ = {}
        for mtype in train.machine_type.unique():
            s = train_scores[(train.machine_type == mtype).to_numpy()]
            if self.threshold_rule == "gamma":
                self.thresholds_[mtype] = gamma_threshold(s, self.threshold_quantile)
            else:
                self.thresholds_[mtype] = float(np.quantile(s, self.threshold_quantile))

    def save(self, path: str | Path) -> Path:
        """``save_detector(self, path)``."""
        return save_detector(self, path)

    def _after_load(self, device) -> None:
        """Restore what ``unsaved_attributes`` left out; the detector now runs on ``device``."""

    def decide(self, clips: pd.DataFrame, scores) -> np.ndarray:
        """1 (anomaly) where the score exceeds the machine type's training threshold."""
        if not hasattr(self, "thresholds_"):
            raise RuntimeError(f"{type(self).__name__}.decide called before fit")
        thr = clips.machine_type.map(self.thresholds_)
        if thr.isna().any():
            raise KeyError(f"no threshold for machine types {sorted(clips.machine_type[thr.isna()].unique())}")
        return (np.asarray(scores, dtype=float) > thr.to_numpy()).astype(int)


def clip_formats(train: pd.DataFrame) -> dict[str, dict]:
    """Per machine type, the sample rates and the shortest / longest clip (seconds) of a
    clip table (``asdlib.data.layout.scan_dataset``'s ``sample_rate`` and ``duration``): what a
    detector was fitted on, so clips of another format can be refused. Empty without them."""
    if not {"sample_rate", "duration"} <= set(train.columns):
        return {}
    return {mtype: {"sample_rates": sorted(int(r) for r in sub.sample_rate.unique()),
                    "seconds": [float(sub.duration.min()), float(sub.duration.max())]}
            for mtype, sub in train.groupby("machine_type", sort=True)}


# --------------------------------------------------------------------------- saving
#: Layout version of the files ``save_detector`` writes: 2, a safetensors file (the arrays)
#: whose metadata holds the rest as JSON. Format 1 (asdlib before it) pickled the whole
#: object; ``load_detector`` refuses such files without opening them.
SAVED_FORMAT = 2
#: The ``kind`` entry of a saved detector's metadata.
SAVED_KIND = "asdlib-detector"
#: What to do about a file ``load_detector`` refuses (``asdlib.book.score`` names the chapter instead).
REFIT = ("fit the detector again and save it with this asdlib (a run folder's fitted/<system>.pt: re-run the "
         "chapter that wrote it, asd run notebooks/NN_<chapter>.py)")
_PICKLED = ("was written by an older asdlib (a pickled object) or is a pickle not written by asdlib: it is not "
            "a weights-only file, and it is not opened, since unpickling a file runs whatever code it holds")


class SavedFileError(ValueError):
    """A file ``load_detector`` refuses: ``path`` ``what`` (what it is), then ``fix``."""

    def __init__(self, path: str | Path, what: str, fix: str = REFIT):
        self.path, self.what, self.fix = Path(path), what, fix
        super().__init__(f"{path} {what}; {fix}")


def save_detector(detector: Detector, path: str | Path) -> Path:
    """Save a fitted detector in a file that cannot run code when it is loaded.

    The file is a safetensors file: every numeric array and tensor of the detector (network
    weights, kNN banks, k-means centres, covariances, training scores, ...) is an entry of
    its own, and its metadata holds, as JSON, ``format`` (``SAVED_FORMAT``), ``info`` (what
    it was fitted on: class, machine types, thresholds, backend, sample rates and clip
    lengths, the asdlib version and git commit, when) and ``detector``: the detector's
    attributes (but its ``unsaved_attributes``) as the walk of ``asdlib.systems.state``
    writes them (settings, class lists, label sources, scikit-learn estimators, networks as
    their constructor arguments + ``state_dict``). An attribute the walk cannot write (a
    callback, an object of a class outside asdlib and scikit-learn) is refused with its
    name. ``load_detector`` reads it back."""
    import json

    from safetensors.torch import save_file

    from asdlib import __version__
    from asdlib.runtime import git_commit
    from asdlib.systems import state

    if not hasattr(detector, "thresholds_"):
        raise RuntimeError(f"{type(detector).__name__} is not fitted: call fit(train_clips) before saving it")
    attributes = dict(vars(detector))  # the detector itself keeps its caches
    for name in type(detector).unsaved_attributes:
        if name in attributes:
            attributes[name] = None
    encoder = state.Encoder()
    try:
        tree = encoder.encode_object(detector, attributes)
    except state.StateError as exc:
        raise ValueError(f"cannot save {type(detector).__name__}: {exc}") from None
    info = {"class": f"{type(detector).__module__}.{type(detector).__qualname__}",
            "name": getattr(detector, "name", type(detector).__name__),
            "backend": getattr(detector, "backend_name", None),
            "machine_types": sorted(detector.thresholds_),
            "thresholds": {str(k): float(v) for k, v in detector.thresholds_.items()},
            "clips": getattr(detector, "fitted_on_", {}),
            "asdlib_version": __version__, "git_commit": git_commit(),
            "saved": _dt.datetime.now().astimezone().isoformat(timespec="seconds")}
    metadata = {"kind": SAVED_KIND, "format": str(SAVED_FORMAT), "info": json.dumps(info),
                "detector": json.dumps(tree, allow_nan=False)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(encoder.arrays, tmp, metadata=metadata)
    tmp.replace(path)  # written aside, then renamed: a reader never sees half a file
    return path


def _read_saved(path: Path) -> tuple[dict, dict]:
    """The metadata and the arrays of a file ``save_detector`` wrote; anything else raises
    ``SavedFileError`` before a byte of it is interpreted (a pickle is recognised by its
    first bytes and never opened)."""
    from safetensors import safe_open

    with path.open("rb") as fh:
        head = fh.read(9)
    # safetensors: the header's length (8 bytes, little-endian), then the header, a JSON object
    safetensors = len(head) == 9 and head[8:9] == b"{" and 8 + int.from_bytes(head[:8], "little") <= path.stat().st_size
    if not safetensors and (head[:4] == b"PK\x03\x04" or head[:1] == b"\x80"):  # torch.save's zip, a pickle
        raise SavedFileError(path, _PICKLED)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            metadata = fh.metadata() or {}
            if metadata.get("kind") != SAVED_KIND:
                raise SavedFileError(path, "is a safetensors file, but not a detector saved by "
                                           "asdlib.systems.detect.save_detector")
            if metadata.get("format") != str(SAVED_FORMAT):
                raise SavedFileError(path, f"holds a detector of format {metadata.get('format')}; this asdlib "
                                           f"reads format {SAVED_FORMAT}")
            arrays = {name: fh.get_tensor(name) for name in fh.keys()}
    except SavedFileError:
        raise
    except Exception as exc:  # safetensors raises its own errors, and OSError, for what it cannot parse
        raise SavedFileError(path, "is not a detector saved by asdlib.systems.detect.save_detector (not a "
                                   f"weights-only safetensors file: {exc})") from None
    return metadata, arrays


def saved_info(path: str | Path) -> dict:
    """What a saved detector was fitted on (its ``saved_info_``), read without rebuilding it."""
    import json

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: save a fitted detector there with asdlib.systems.detect.save_detector")
    return json.loads(_read_saved(path)[0]["info"])


def load_detector(path: str | Path, device: str = "cpu") -> Detector:
    """The detector ``save_detector`` wrote to ``path``, on ``device``, ready to ``score`` and
    ``decide``; what it was fitted on is in its ``saved_info_``.

    Nothing in the file runs: arrays are read by safetensors, the rest is JSON, and objects
    are rebuilt only for classes of asdlib and scikit-learn estimators
    (``asdlib.systems.state``). A file of another format (a pickled detector of an older
    asdlib, any pickle, a file not written by ``save_detector``) raises ``SavedFileError``
    (a ``ValueError``) saying what it is and what to do, without being opened."""
    import json

    import torch

    from asdlib.systems import state

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: save a fitted detector there with asdlib.systems.detect.save_detector")
    metadata, arrays = _read_saved(path)
    try:
        detector = state.Decoder(arrays, device).decode(json.loads(metadata["detector"]))
        info = json.loads(metadata["info"])
    except (state.StateError, KeyError, ValueError) as exc:
        raise SavedFileError(path, f"cannot be rebuilt by this asdlib ({exc})") from None
    if not isinstance(detector, Detector):
        raise SavedFileError(path, f"holds a {type(detector).__name__}, not a detector")
    detector._after_load(torch.device(device))
    detector.saved_info_ = info
    return detector


@dataclass
class DetectorRun:
    """What ``run_detector`` returns: per-clip scores, the metrics table and timings."""

    scores: pd.DataFrame
    metrics: pd.DataFrame
    seconds: dict = field(default_factory=dict)


def run_detector(detector: Detector, clips: pd.DataFrame, out_dir: str | Path | None = None,
                 fit: bool = True) -> DetectorRun:
    """Fit on the train rows, score the test rows, decide, write submission CSVs, evaluate.

    With ``out_dir`` the official ``anomaly_score_*``/``decision_result_*`` files go to
    ``out_dir/submission/``, the per-clip scores and metrics to ``out_dir`` as CSV, and the
    training clips' scores to ``train_scores.csv`` (what an ensemble normalises with).
    Scores are written before the evaluation, so an evaluation error never loses them.
    Test clips without labels (evaluation set) are scored and written but not evaluated.
    Files an earlier call left in ``out_dir`` (submission CSVs of other types, an old
    ``metrics.csv``) are removed first: the folder holds one run's results.
    A trained type without labelled test clips, or whose metrics are undefined, is named
    in a warning and left out of the Total (``metrics.evaluate``).
    """
    train = clips[clips.split == "train"].reset_index(drop=True)
    test = clips[clips.split == "test"].reset_index(drop=True)
    if train.empty or test.empty:
        raise ValueError("run_detector needs train and test clips")
    seconds = {}
    if fit:
        t0 = time.perf_counter()
        detector.fit(train)
        seconds["fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = detector.score(test)
    seconds["score"] = time.perf_counter() - t0
    dec = detector.decide(test, s)
    keep = [c for c in ("file_name", "machine_type", "section", "domain", "label", "is_anomaly",
                        "attr_string") if c in test.columns]
    table = test[keep].copy()
    table["score"] = np.asarray(s, dtype=float)
    table["decision"] = dec
    labelled = table[table.is_anomaly >= 0]
    if len(labelled) < len(table):
        unlabelled = table[table.is_anomaly < 0]
        warnings.warn(f"{len(unlabelled)} test clips without labels (types "
                      f"{sorted(unlabelled.machine_type.unique())}) are scored and written but not "
                      "evaluated; attach ground truth with asdlib.data.layout.attach_ground_truth to score them",
                      stacklevel=2)
    if out_dir is not None:
        out_dir = Path(out_dir)
        _remove_earlier_results(out_dir)
        metrics.write_submissions(out_dir / "submission", table)
        table.to_csv(out_dir / "scores.csv", index=False)
        train_scores = getattr(detector, "train_scores_", None)
        if train_scores is not None and len(train_scores) == len(train):
            train[[c for c in ("file_name", "machine_type", "domain") if c in train.columns]].assign(
                score=np.asarray(train_scores, dtype=float)).to_csv(out_dir / "train_scores.csv", index=False)
    trained = sorted(set(train.machine_type))
    result = metrics.evaluate(labelled, trained) if len(labelled) else pd.DataFrame()
    if out_dir is not None and len(result):
        result.to_csv(out_dir / "metrics.csv")
    return DetectorRun(scores=table, metrics=result, seconds=seconds)


#: What ``run_detector`` writes into its ``out_dir`` (and so removes from an earlier call).
_RESULT_FILES = ("scores.csv", "train_scores.csv", "metrics.csv",
                 "submission/anomaly_score_*.csv", "submission/decision_result_*.csv")


def _remove_earlier_results(out_dir: Path) -> None:
    for pattern in _RESULT_FILES:
        for path in out_dir.glob(pattern):
            path.unlink()
