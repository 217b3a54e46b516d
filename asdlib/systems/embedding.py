"""The embedding detector shared by every learned system: embed -> backend -> threshold.

A learned system (Systems 1-3) trains a network that maps a clip to an embedding (and, for
a classifier, to class logits). Everything after the network is the same for all of them
and lives here, so a new system only brings its network, losses and labels:

* ``fit(train)``: checks the clips, calls the subclass's ``_fit_model(train)``, embeds
  the train clips and fits every backend on them;
* ``embed(clips)`` / ``logits(clips)``: the clip representations, cached per file;
* backends (``asdlib.systems.backends``): ``knn`` (source and target banks, min cosine distance)
  always; ``probability`` (``-log P(type)``) when the network has class logits and knows
  the clip's machine type; a subclass adds its own through ``_extra_backends``;
* thresholds per backend and type: the 90th percentile of the leave-one-out training
  scores (a train clip is never its own neighbour);
* ``with_backend(name)`` scores with another backend (network and cache shared);
  ``transfer(train)`` refits the backends on other clips with the network frozen (e.g. a
  machine the network never heard).

A subclass implements ``_fit_model(train)`` (setting ``model_`` and, for classifiers,
``classes_``) and ``_represent(paths)`` returning ``{path: (embedding, logits or None)}``.
Its ``config`` carries ``backend``, ``knn_k``, ``threshold_quantile`` and ``num_threads``.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from asdlib.evaluation import metrics
from asdlib.systems.backends import BACKENDS, KnnBackend, ProbabilityBackend, make_backend
from asdlib.systems.detect import Detector, DetectorRun, run_detector
from asdlib.systems.labels import CLASS_SEP
from asdlib.runtime import cpu_threads


class EmbeddingDetector(Detector):
    """Base class of the learned systems (see the module docstring)."""

    threshold_rule = "percentile"
    unsaved_attributes = ("_cache",)

    def _after_load(self, device) -> None:
        self._cache = {}
        self.device_ = device

    # ------------------------------------------------------------------ subclass hooks
    def _fit_model(self, train: pd.DataFrame) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _represent(self, paths: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:  # pragma: no cover
        raise NotImplementedError

    def _extra_backends(self, train: pd.DataFrame) -> dict[str, tuple[object, str]]:
        """More backends: ``{name: (unfitted backend, "embedding" | "logits")}``."""
        return {}

    # ------------------------------------------------------------------ fitting
    def fit(self, train: pd.DataFrame, extra_train: pd.DataFrame | None = None) -> "EmbeddingDetector":
        """Train the network (or resume / load it), then fit every backend on ``train``.

        ``extra_train``: normal train clips of further machine types (e.g. the additional
        training set, other data roots) that train the network only: more classes for the
        auxiliary task, as the report does; backends and thresholds are fitted on ``train``
        alone, the types that are scored.
        """
        name = type(self).__name__
        for what, table in (("train", train), ("extra_train", extra_train)):
            if table is None:
                continue
            if table.empty and what == "train":
                raise ValueError(f"{name}.fit got no clips")
            if "split" in table and (table["split"] != "train").any():
                raise ValueError(f"{name}.fit expects train clips only (split == 'train') in {what}")
            if "label" in table and (table["label"] == "anomaly").any():
                raise ValueError(f"{name}.fit got anomalous clips in {what}; train on normal clips only")
        train = train.reset_index(drop=True)
        model_train = train
        self.extra_types_ = []
        if extra_train is not None and len(extra_train):
            shared = sorted(set(train.machine_type) & set(extra_train.machine_type))
            if shared:
                raise ValueError(f"{name}.fit: machine types {shared} are in both train and extra_train; each "
                                 "type must come from one data root (rename or drop one of them)")
            self.extra_types_ = sorted(extra_train.machine_type.unique())
            model_train = pd.concat([train, extra_train], ignore_index=True)
        self._cache: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        self.backend_name = getattr(self, "backend_name", self.config.backend)
        self.threshold_quantile = self.config.threshold_quantile
        with cpu_threads(self.config.num_threads):
            self._fit_model(model_train)
        return self.fit_backends(train)

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(train_clips) first")

    # ------------------------------------------------------------------ representations
    def _lookup(self, clips: pd.DataFrame, which: int) -> list:
        self._check_fitted()
        paths = clips["path"].astype(str).tolist()
        todo = [p for p in dict.fromkeys(paths) if p not in self._cache]
        if todo:
            with cpu_threads(self.config.num_threads):
                self._cache.update(self._represent(todo))
        return [self._cache[p][which] for p in paths]

    def embed(self, clips: pd.DataFrame) -> np.ndarray:
        """``(n_clips, dim)`` clip embeddings, cached per file."""
        rows = self._lookup(clips, 0)
        return np.stack(rows) if rows else np.zeros((0, 0))

    def logits(self, clips: pd.DataFrame) -> np.ndarray | None:
        """``(n_clips, n_classes)`` margin-free class logits, or None for a network without."""
        rows = self._lookup(clips, 1)
        if rows and rows[0] is None:
            return None
        return np.stack(rows) if rows else np.zeros((0, len(getattr(self, "classes_", []))))

    # ------------------------------------------------------------------ backends
    def fit_backends(self, train: pd.DataFrame) -> "EmbeddingDetector":
        """(Re)fit the backends and their thresholds on these train clips (network frozen).

        The probability backend is kept only when every machine type of ``train`` is one of
        the network's classes (it cannot score a type it never learnt).
        """
        self._check_fitted()
        train = train.reset_index(drop=True)
        todo: dict[str, tuple[object, str]] = {"knn": (KnnBackend(self.config.knn_k), "embedding")}
        classes = getattr(self, "classes_", None)
        if classes is not None:
            class_types = [c.split(CLASS_SEP, 1)[0] for c in classes]
            if set(train["machine_type"]) <= set(class_types) and self.logits(train.head(1)) is not None:
                todo["probability"] = (ProbabilityBackend(class_types), "logits")
        todo.update(self._extra_backends(train))
        self.backends_, self.backend_inputs_ = {}, {}
        self.thresholds_by_backend_, self.train_scores_by_backend_ = {}, {}
        for name, (backend, reads) in todo.items():
            backend.fit(self._representation(reads, train), train)
            self.backends_[name], self.backend_inputs_[name] = backend, reads
            self._set_thresholds(train, backend.train_scores())
            self.thresholds_by_backend_[name] = dict(self.thresholds_)
            self.train_scores_by_backend_[name] = self.train_scores_
        return self.set_backend(self.backend_name if self.backend_name in self.backends_ else "knn")

    def _representation(self, reads: str, clips: pd.DataFrame) -> np.ndarray:
        return self.logits(clips) if reads == "logits" else self.embed(clips)

    def set_backend(self, name: str) -> "EmbeddingDetector":
        """Make ``name`` the backend of ``score``/``decide`` (in place)."""
        if hasattr(self, "backends_"):
            if name not in self.backends_:
                raise ValueError(f"backend {name!r} is not available here (fitted: {sorted(self.backends_)})")
            self.thresholds_ = self.thresholds_by_backend_[name]
            self.train_scores_ = self.train_scores_by_backend_[name]
        self.backend_name = name
        return self

    def with_backend(self, name: str) -> "EmbeddingDetector":
        """A shallow copy scoring with ``name``; it shares the network and the embedding cache."""
        return copy.copy(self).set_backend(name)

    def transfer(self, train: pd.DataFrame) -> "EmbeddingDetector":
        """A copy whose backends are fitted on ``train`` (the trained network is shared, frozen)."""
        return copy.copy(self).fit_backends(train)

    def score(self, clips: pd.DataFrame, backend: str | None = None) -> np.ndarray:
        """Anomaly score of every clip (higher = more anomalous) with the chosen backend."""
        self._check_fitted()
        name = backend or self.backend_name
        if name not in getattr(self, "backends_", {}):
            raise ValueError(f"backend {name!r} is not fitted (fitted: {sorted(getattr(self, 'backends_', {}))})")
        clips = clips.reset_index(drop=True)
        return self.backends_[name].score(self._representation(self.backend_inputs_[name], clips), clips)

    def compare_backends(self, clips: pd.DataFrame, names: Iterable[str] | dict | None = None) -> pd.DataFrame:
        """Every named backend (default: all of ``asdlib.systems.backends.BACKENDS`` that read
        embeddings, with their default settings) fitted on the train rows of ``clips`` and
        scored on the test rows, on this network's (cached) embeddings: no retraining.
        ``names`` may also map labels to unfitted backends, e.g. ``{"knn k=5": KnnBackend(5)}``.

        A long table, one row per backend and machine type (plus ``Total``): AUC-s, AUC-t,
        pAUC and, on ``Total``, the official score, in percent (``asdlib.evaluation.metrics.evaluate``),
        and where AUC-t is lost (``asdlib.evaluation.metrics.domain_diagnostics``: AUC within each
        domain, how often target normals score above source normals).
        """
        self._check_fitted()
        names = [n for n, cls in BACKENDS.items() if cls.reads == "embedding"] if names is None else names
        todo = dict(names) if isinstance(names, dict) else {n: make_backend(n) for n in names}
        clips = clips.reset_index(drop=True)
        train, test = clips[clips["split"] == "train"], clips[clips["split"] == "test"]
        X_train, X_test = self.embed(train), self.embed(test)
        tables = []
        for name, backend in todo.items():
            if backend.reads != "embedding":
                raise ValueError(f"backend {name!r} reads {backend.reads}, not embeddings")
            backend.fit(X_train, train)
            scored = test.assign(score=backend.score(X_test, test))
            table = 100 * metrics.evaluate(scored)[[*metrics.METRIC_COLUMNS, "official"]]
            table = table.join(metrics.domain_diagnostics(scored))
            tables.append(table.reset_index().assign(backend=name))
        diagnostics = ["within source", "within target", "target above source"]
        return pd.concat(tables, ignore_index=True)[["backend", "machine_type", *metrics.METRIC_COLUMNS, "official",
                                                     *diagnostics]]


# --------------------------------------------------------------------------- running
def run_system(detector: EmbeddingDetector, clips: pd.DataFrame, out_dir: str | Path | None = None,
               backends: Iterable[str] | None = None,
               extra_train: pd.DataFrame | None = None) -> dict[str, DetectorRun]:
    """Fit once (unless fitted) and evaluate with every backend (or those named).

    ``extra_train``: train clips of other types that train the network only (``fit``).

    With ``out_dir``: ``<out_dir>/<backend>/`` holds the official submission CSVs
    (``submission/``), ``scores.csv`` and ``metrics.csv`` (``detect.run_detector``),
    ``<out_dir>/history.csv`` the training curves and ``<out_dir>/embeddings.npz`` the
    network's clip embeddings (``save_embeddings``; one per system: backends share them).
    """
    seconds_fit = 0.0
    if not hasattr(detector, "model_"):
        t0 = time.perf_counter()
        detector.fit(clips[clips.split == "train"], extra_train=extra_train)
        seconds_fit = time.perf_counter() - t0
    runs = {}
    for name in detector.backends_ if backends is None else backends:
        if name not in detector.backends_:
            continue
        sub_dir = None if out_dir is None else Path(out_dir) / name
        run = run_detector(detector.with_backend(name), clips, sub_dir, fit=False)
        run.seconds["fit"] = seconds_fit
        runs[name] = run
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        detector.history_.to_csv(Path(out_dir) / "history.csv", index=False)
        save_embeddings(detector, clips, Path(out_dir) / EMBEDDINGS_FILE)
    return runs


#: The file ``run_system`` keeps a system's clip embeddings in (``results.load_embeddings``).
EMBEDDINGS_FILE = "embeddings.npz"


def save_embeddings(detector: EmbeddingDetector, clips: pd.DataFrame, path: str | Path) -> Path:
    """The network's embedding of every clip (train and test; cached, so no extra forward
    pass after scoring), with ``file_name``, ``machine_type`` and ``split`` per row: what an
    ensemble's map of concatenated member embeddings reads without reloading networks."""
    clips = clips.reset_index(drop=True)
    names = {c: np.asarray(clips[c].astype(str), dtype=str) for c in ("file_name", "machine_type", "split")}
    np.savez_compressed(path, **names, embedding=detector.embed(clips))
    return Path(path)


