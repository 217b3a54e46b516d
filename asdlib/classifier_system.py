"""Systems 1 and 2 of the seed report (§2.1): classifier embeddings + contrastive learning.

One detector, two configurations. An STgram encoder (``asdlib.models.stgram``) learns an
audio embedding by classifying normal train clips into classes "machine type | label"
with an ArcFace margin loss, plus a supervised contrastive loss that pulls together clips
sharing a class::

    loss = ArcFace(margin 0.7, scale 30) + contrastive_weight * SupCon(tau = 0.1)

The labels come from a label source (``asdlib.labels``):

* **System-1** (``label_source="pseudo"``): statistical-cluster pseudo-labels for every
  type; no attribute information at all.
* **System-2** (``label_source="attribute"``): attribute groups where a type has them,
  source/target where they are hidden.

One model is trained across all machine types (as the STgram systems do). Anomalies are
clips whose embedding lies far from the normal ones: two scoring backends
(``asdlib.backends``) read the clip embedding, the kNN cosine distance with separate
source/target banks (default) and the classifier's own ``-log P(type)``.

Usage::

    det = ClassifierSystem.system1(profile="demo", seed=0)
    det.fit(train_clips)                     # trains (resumes from checkpoints), fits both backends
    det.score(test_clips)                    # default backend (config.backend)
    det.with_backend("probability").score(test_clips)
    runs = run_system(det, clips, out_dir)   # both backends: submission CSVs + metrics
    det.history_                             # per-epoch loss parts, for training curves
    det.embed(clips)                         # clip embeddings, e.g. for a UMAP

Choices the report leaves open, and ours (the full table is in chapter 03): ArcFace
0.7/30 and the MobileFaceNet widths of STgram-MFN; SupCon on the embedding itself (no
projection head), tau 0.1, lambda 1; training on random crops (whole 10-s clips in the
``paper`` profile, 1 s in ``demo``) and scoring on the mean embedding of non-overlapping
crops covering the whole clip; Adam, constant rate (lr 1e-4 as in the report; 1e-3 in the
short CPU profiles), no weight decay; shuffled batches, last partial batch dropped;
kNN with k = 1; thresholds at the 90th percentile of leave-one-out training scores.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import torch

from . import backends as _backends
from .data import AudioError, load_audio
from .detect import Detector, DetectorRun, run_detector
from .labels import CLASS_SEP, LabelSource, make_label_source
from .losses import ArcMarginHead, supervised_contrastive_loss
from .models.stgram import (COMPACT_BOTTLENECKS, COMPACT_LAST_CHANNELS, COMPACT_STEM_CHANNELS, EncoderConfig,
                            STgramEncoder)
from .runtime import cpu_threads, default_device, seed_everything

PROFILES = ("ci", "demo", "full", "paper")
BACKENDS = ("knn", "probability")
CHECKPOINT = "checkpoint.pt"


@dataclass
class ClassifierSystemConfig:
    """Hyper-parameters of Systems 1/2. Defaults: the report's (16 kHz, lr 1e-4) and, where it
    is silent, STgram-MFN's (ArcFace 0.7/30, MobileFaceNet, batch 128) or ours (marked)."""

    label_source: str = "pseudo"  # "pseudo" = System-1, "attribute" = System-2, "domain"
    # front end and encoder
    sample_rate: int = 16000  # report: native 16 kHz
    encoder_size: str = "mobilefacenet"  # "mobilefacenet" (STgram-MFN widths) | "compact"
    embedding_dim: int = 128  # STgram-MFN
    # losses
    margin: float = 0.7  # ArcFace margin (STgram-MFN)
    scale: float = 30.0  # ArcFace scale (STgram-MFN)
    contrastive_weight: float = 1.0  # ours: lambda; 0 = the ablation without contrastive loss
    temperature: float = 0.1  # SupCon tau (Khosla et al.'s best value)
    # training
    learning_rate: float = 1e-4  # report
    weight_decay: float = 0.0  # ours (report silent)
    batch_size: int = 128  # STgram-MFN
    epochs: int = 100  # ours (report silent)
    crop_seconds: float = 10.0  # training crop; 10 s = STgram-MFN's whole-clip input
    # scoring
    backend: str = "knn"  # default backend of score(): "knn" | "probability"
    knn_k: int = 1  # asd-reference §5: k = 1
    threshold_quantile: float = 0.9  # decision threshold: quantile of train scores
    # pseudo-label clustering (System-1): keyword arguments of clustering.StatisticalClusters
    clustering: dict = dataclasses.field(default_factory=dict)
    # runtime
    seed: int = 0
    device: str | None = None  # None: GPU when present, else CPU
    num_threads: int | None = None  # torch CPU threads; None: torch's default
    preload_mb: float = 1024.0  # keep train audio in memory up to this size, else read crops from disk
    profile: str = "paper"

    def __post_init__(self):
        if self.label_source not in ("pseudo", "attribute", "domain"):
            raise ValueError(f"label_source must be 'pseudo', 'attribute' or 'domain', got {self.label_source!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.encoder_size not in ("mobilefacenet", "compact"):
            raise ValueError(f"encoder_size must be 'mobilefacenet' or 'compact', got {self.encoder_size!r}")
        if self.contrastive_weight < 0:
            raise ValueError(f"contrastive_weight must be >= 0, got {self.contrastive_weight}")
        if self.crop_seconds <= 0 or self.epochs < 0 or self.batch_size < 2:
            raise ValueError("crop_seconds must be > 0, epochs >= 0 and batch_size >= 2")

    @classmethod
    def for_profile(cls, profile: str = "paper", **overrides) -> "ClassifierSystemConfig":
        """Sizes per profile; everything else keeps the defaults unless overridden.

        - ``paper``: the defaults (MobileFaceNet, 10-s inputs, batch 128, 100 epochs): a GPU run.
        - ``full``: MobileFaceNet on 2-s crops, batch 64, 30 epochs (the full synthetic set).
        - ``demo``: compact encoder, 1-s crops, batch 64, 10 epochs: the book on 2 CPU cores.
        - ``ci``: compact encoder, 1-s crops, batch 32, 3 epochs: seconds, for tests.

        ``ci`` and ``demo`` also use lr 1e-3 (within their few hundred steps lr 1e-4 lowers
        the ArcFace loss far more slowly: ``benchmarks/bench_systems12.py --parts lr``)
        and one torch thread (robust on a shared 2-core machine, and reproducible: the
        thread count changes the last digits of the results).
        """
        sizes = {
            "paper": {},
            "full": dict(crop_seconds=2.0, batch_size=64, epochs=30),
            "demo": dict(encoder_size="compact", crop_seconds=1.0, batch_size=64, epochs=10, learning_rate=1e-3,
                         num_threads=1),
            "ci": dict(encoder_size="compact", crop_seconds=1.0, batch_size=32, epochs=3, learning_rate=1e-3,
                       num_threads=1),
        }
        if profile not in sizes:
            raise ValueError(f"unknown profile {profile!r}; choose one of {PROFILES}")
        return cls(**{**sizes[profile], "profile": profile, **overrides})

    def encoder_config(self) -> EncoderConfig:
        base = EncoderConfig(sample_rate=self.sample_rate, embedding_dim=self.embedding_dim)
        if self.encoder_size == "compact":
            base = dataclasses.replace(base, stem_channels=COMPACT_STEM_CHANNELS, bottlenecks=COMPACT_BOTTLENECKS,
                                       last_channels=COMPACT_LAST_CHANNELS)
        return base

    def training_key(self) -> dict:
        """The fields that change what training produces, except ``epochs`` (a run can be
        extended: the learning rate is constant and every epoch has its own random stream)."""
        skip = {"epochs", "backend", "knn_k", "threshold_quantile", "device", "num_threads", "preload_mb", "profile"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}


# --------------------------------------------------------------------------- audio access
class ClipAudio:
    """Waveforms of a list of clips at 16 kHz, read as random training crops.

    Audio is kept in memory when it fits in ``preload_mb``; otherwise crops are read from
    disk (soundfile seeks; files at another rate are loaded whole and resampled).
    """

    def __init__(self, paths: Iterable[str], sample_rate: int = 16000, preload_mb: float = 1024.0):
        self.paths = [str(p) for p in paths]
        self.sr = sample_rate
        import soundfile as sf

        self.frames, self.native = [], []
        bad = []
        for p in self.paths:
            try:
                info = sf.info(p)
            except Exception as exc:  # unreadable header
                bad.append(f"{p}: {exc}")
                continue
            self.native.append(info.samplerate == sample_rate and info.channels == 1)
            self.frames.append(int(round(info.frames * sample_rate / info.samplerate)))
        if bad:
            raise AudioError(f"{len(bad)} clip(s) cannot be read:\n  " + "\n  ".join(bad))
        self.memory: list[np.ndarray] | None = None
        if sum(self.frames) * 4 / 2**20 <= preload_mb:
            self.memory = self._load_all()

    def _load_all(self) -> list[np.ndarray]:
        out, bad = [], []
        for p in self.paths:
            try:
                out.append(load_audio(p, sr=self.sr))
            except AudioError as exc:
                bad.append(str(exc))
        if bad:
            raise AudioError(f"{len(bad)} clip(s) cannot be used:\n  " + "\n  ".join(bad))
        self.frames = [len(x) for x in out]
        return out

    def __len__(self) -> int:
        return len(self.paths)

    def read(self, i: int, start: int, n: int) -> np.ndarray:
        """``n`` samples of clip ``i`` from ``start``; clips shorter than ``n`` are repeated."""
        if self.memory is not None:
            x = self.memory[i]
        elif self.native[i]:
            import soundfile as sf

            stop = min(start + n, self.frames[i])
            x, _ = sf.read(self.paths[i], start=start, stop=stop, dtype="float32")
            start = 0
        else:
            x = load_audio(self.paths[i], sr=self.sr)
        x = x[start:start + n]
        return np.resize(x, n) if len(x) < n else x  # np.resize repeats: stationary machine sound

    def random_crops(self, idx: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        starts = [int(rng.integers(0, max(self.frames[i] - n, 0) + 1)) for i in idx]
        return np.stack([self.read(i, s, n) for i, s in zip(idx, starts)])



def covering_crops(x: np.ndarray, n: int) -> np.ndarray:
    """``(n_crops, n)``: non-overlapping crops over the clip, the last one ending at the clip's
    end (so no audio is left out); a clip shorter than ``n`` is repeated to ``n``."""
    if len(x) <= n:
        return np.resize(x, n)[None]
    starts = list(range(0, len(x) - n + 1, n))
    if starts[-1] + n < len(x):
        starts.append(len(x) - n)
    return np.stack([x[s:s + n] for s in starts])


def data_fingerprint(clips: pd.DataFrame) -> str:
    """Hash of the train files (name, size, modification time) and their order."""
    h = hashlib.sha1()
    for p in clips["path"]:
        st = os.stat(p)
        h.update(f"{os.path.basename(p)}|{st.st_size}|{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- the network
class ClassifierNet(torch.nn.Module):
    """STgram encoder + ArcFace head."""

    def __init__(self, config: ClassifierSystemConfig, n_classes: int):
        super().__init__()
        self.encoder = STgramEncoder(config.encoder_config())
        self.head = ArcMarginHead(config.embedding_dim, n_classes, config.margin, config.scale)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.encoder(wave)


# --------------------------------------------------------------------------- the detector
class ClassifierSystem(Detector):
    """Systems 1/2 as a detector: ``fit(train)``, ``score(clips)``, ``decide(clips, scores)``.

    ``label_source`` overrides the one named in the config (e.g. a ``PseudoLabelSource``
    with precomputed labels). ``checkpoint_dir``: a checkpoint after every epoch, and
    training resumes from it when config, classes and train files are unchanged (a
    finished run is loaded instead of retrained).
    """

    threshold_rule = "percentile"

    def __init__(self, config: ClassifierSystemConfig | None = None, label_source: LabelSource | None = None,
                 checkpoint_dir: str | Path | None = None, progress: bool = True, resume: bool = True):
        self.config = config or ClassifierSystemConfig()
        self.label_source = label_source
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.progress = progress
        self.resume = resume
        self.backend_name = self.config.backend
        self.threshold_quantile = self.config.threshold_quantile

    @classmethod
    def system1(cls, profile: str = "demo", checkpoint_dir=None, progress: bool = True,
                **overrides) -> "ClassifierSystem":
        """System-1: pseudo-labels (statistical clusters) for every machine type."""
        cfg = ClassifierSystemConfig.for_profile(profile, **{**overrides, "label_source": "pseudo"})
        return cls(cfg, checkpoint_dir=checkpoint_dir, progress=progress)

    @classmethod
    def system2(cls, profile: str = "demo", checkpoint_dir=None, progress: bool = True,
                **overrides) -> "ClassifierSystem":
        """System-2: attributes where a type has them, source/target where it does not."""
        cfg = ClassifierSystemConfig.for_profile(profile, **{**overrides, "label_source": "attribute"})
        return cls(cfg, checkpoint_dir=checkpoint_dir, progress=progress)

    # ------------------------------------------------------------------ training
    def fit(self, train: pd.DataFrame) -> "ClassifierSystem":
        """Learn labels, train the network (or resume / load it), fit both backends."""
        cfg = self.config
        if train.empty:
            raise ValueError("ClassifierSystem.fit got no clips")
        if "split" in train and (train["split"] != "train").any():
            raise ValueError("ClassifierSystem.fit expects train clips only (split == 'train')")
        if "label" in train and (train["label"] == "anomaly").any():
            raise ValueError("ClassifierSystem.fit got anomalous clips; train on normal clips only")
        train = train.reset_index(drop=True)
        with cpu_threads(cfg.num_threads):
            return self._fit(train)

    def _fit(self, train: pd.DataFrame) -> "ClassifierSystem":
        cfg = self.config
        self.device_ = default_device(cfg.device)
        self.timings_ = {}
        t0 = time.perf_counter()
        source = self.label_source or make_label_source(cfg.label_source, seed=cfg.seed, **(
            cfg.clustering if cfg.label_source == "pseudo" else {}))
        self.label_source_ = source.fit(train)
        self.timings_["labels_s"] = time.perf_counter() - t0
        self.classes_ = list(source.classes_)
        if len(self.classes_) < 2:
            raise ValueError(f"only one class ({self.classes_}) among the train clips: a classifier needs at least "
                             "two (train several machine types together, or use more labels)")
        self.train_labels_ = source.class_index(train)
        seed_everything(cfg.seed)
        self.model_ = ClassifierNet(cfg, len(self.classes_)).to(self.device_)
        self.history_ = pd.DataFrame()
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        t0 = time.perf_counter()
        self._train_loop(train)
        self.timings_["train_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.fit_backends(train)
        self.timings_["embed_train_and_fit_backends_s"] = time.perf_counter() - t0
        return self

    def _train_key(self, train: pd.DataFrame) -> str:
        key = {"config": self.config.training_key(), "classes": self.classes_,
               "labels": hashlib.sha1(self.train_labels_.tobytes()).hexdigest()[:16],
               "data": data_fingerprint(train)}
        return hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def _load_checkpoint(self, key: str, optimizer) -> int:
        if self.checkpoint_dir is None or not self.resume:
            return 0
        path = self.checkpoint_dir / CHECKPOINT
        if not path.is_file():
            return 0
        state = torch.load(path, map_location=self.device_, weights_only=False)
        if state.get("key") != key:
            print(f"{path}: made with another config, label set or train data; training from scratch")
            return 0
        if int(state["epoch"]) > self.config.epochs:
            print(f"{path}: has {state['epoch']} epochs, more than the {self.config.epochs} asked; "
                  "training from scratch")
            return 0
        self.model_.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        self.history_ = pd.DataFrame(state["history"])
        return int(state["epoch"])

    def _save_checkpoint(self, key: str, epoch: int, optimizer) -> None:
        if self.checkpoint_dir is None:
            return
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = self.checkpoint_dir / CHECKPOINT
        tmp = path.with_suffix(".tmp")
        torch.save({"key": key, "epoch": epoch, "model": self.model_.state_dict(),
                    "optimizer": optimizer.state_dict(), "history": self.history_.to_dict("list"),
                    "classes": self.classes_, "config": dataclasses.asdict(self.config)}, tmp)
        os.replace(tmp, path)  # atomic: an interrupted save never corrupts the last checkpoint

    def _train_loop(self, train: pd.DataFrame) -> None:
        cfg = self.config
        model, device = self.model_, self.device_
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        key = self._train_key(train)
        start = self._load_checkpoint(key, optimizer)
        self.resumed_from_epoch_ = start
        if start >= cfg.epochs:
            return  # finished run loaded from the checkpoint
        audio = ClipAudio(train["path"], cfg.sample_rate, cfg.preload_mb)
        n = len(train)
        crop = int(round(cfg.crop_seconds * cfg.sample_rate))
        bs = min(cfg.batch_size, n)
        n_steps = n // bs  # drop the last partial batch: BatchNorm and SupCon want full batches
        labels = torch.tensor(np.array(self.train_labels_), dtype=torch.long)
        bar = None
        if self.progress:
            from tqdm import tqdm  # plain text bar: no widget dependency in notebooks

            bar = tqdm(total=(cfg.epochs - start) * n_steps, desc="training", leave=False, mininterval=2.0)
        rows = self.history_.to_dict("records")
        for epoch in range(start, cfg.epochs):
            t0 = time.perf_counter()
            rng = np.random.default_rng([cfg.seed, epoch])  # per epoch: resuming replays the same order
            order = rng.permutation(n)
            model.train()
            sums = np.zeros(4)  # loss, margin, contrastive, correct
            for step in range(n_steps):
                idx = order[step * bs:(step + 1) * bs]
                wave = torch.from_numpy(audio.random_crops(idx, crop, rng)).to(device)
                y = labels[idx].to(device)
                emb = model(wave)
                margin_loss = torch.nn.functional.cross_entropy(model.head(emb, y), y)
                con_loss = (supervised_contrastive_loss(emb, y, cfg.temperature)
                            if cfg.contrastive_weight > 0 else torch.zeros((), device=device))
                loss = margin_loss + cfg.contrastive_weight * con_loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    correct = (model.head.logits(emb).argmax(1) == y).sum().item()
                sums += [loss.item(), margin_loss.item(), con_loss.item(), correct]
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}", refresh=False)
            rows.append({"epoch": epoch + 1, "loss": sums[0] / n_steps, "margin_loss": sums[1] / n_steps,
                         "contrastive_loss": sums[2] / n_steps, "train_accuracy": sums[3] / (n_steps * bs),
                         "seconds": time.perf_counter() - t0})
            self.history_ = pd.DataFrame(rows)
            self._save_checkpoint(key, epoch + 1, optimizer)
        if bar is not None:
            bar.close()

    # ------------------------------------------------------------------ embeddings
    def _forward_clips(self, paths: list[str]) -> None:
        """Embed clips not in the cache: mean of the embeddings of covering crops."""
        with cpu_threads(self.config.num_threads), torch.no_grad():
            self._embed_new(paths)

    def _embed_new(self, paths: list[str]) -> None:
        cfg = self.config
        todo = [p for p in dict.fromkeys(paths) if p not in self._cache]
        if not todo:
            return
        crop = int(round(cfg.crop_seconds * cfg.sample_rate))
        model = self.model_.eval()
        per_batch = max(cfg.batch_size, 16)
        pending: list[tuple[int, np.ndarray]] = []

        def flush():
            if not pending:
                return
            waves = np.concatenate([w for _, w in pending])
            emb = torch.cat([model(torch.from_numpy(waves[j:j + per_batch]).to(self.device_))
                             for j in range(0, len(waves), per_batch)])
            k = 0
            for i, w in pending:
                e = emb[k:k + len(w)].mean(0, keepdim=True)
                k += len(w)
                self._cache[todo[i]] = (e[0].cpu().numpy(), model.head.logits(e)[0].cpu().numpy())
            pending.clear()

        for i, path in enumerate(todo):
            try:
                x = load_audio(path, sr=cfg.sample_rate)
            except AudioError as exc:
                raise AudioError(f"cannot embed: {exc}") from exc
            pending.append((i, covering_crops(x, crop)))
            if sum(len(w) for _, w in pending) >= per_batch:
                flush()
        flush()

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(train_clips) first")

    def embed(self, clips: pd.DataFrame) -> np.ndarray:
        """``(n_clips, embedding_dim)`` clip embeddings (mean over covering crops), cached per path."""
        self._check_fitted()
        paths = clips["path"].astype(str).tolist()
        self._forward_clips(paths)
        return np.stack([self._cache[p][0] for p in paths]) if paths else np.zeros((0, self.config.embedding_dim))

    def logits(self, clips: pd.DataFrame) -> np.ndarray:
        """``(n_clips, n_classes)`` margin-free logits ``s * cos`` of the clip embeddings."""
        self._check_fitted()
        paths = clips["path"].astype(str).tolist()
        self._forward_clips(paths)
        return np.stack([self._cache[p][1] for p in paths]) if paths else np.zeros((0, len(self.classes_)))

    def predict_class(self, clips: pd.DataFrame) -> pd.Series:
        """The classifier's most likely class of every clip (``"type|label"``)."""
        return pd.Series(np.asarray(self.classes_)[self.logits(clips).argmax(1)], index=clips.index, name="class")

    # ------------------------------------------------------------------ backends and scores
    def fit_backends(self, train: pd.DataFrame) -> "ClassifierSystem":
        """(Re)fit the scoring backends and their thresholds on these train clips.

        Called by ``fit``; call it directly to reuse the trained encoder on other machine
        types (e.g. real recordings): the kNN banks are rebuilt from ``train``; the
        probability backend is kept only when every type of ``train`` is a trained class.
        """
        self._check_fitted()
        train = train.reset_index(drop=True)
        emb = self.embed(train)
        knn = _backends.KnnBackend(self.config.knn_k).fit(emb, train)
        self.backends_ = {"knn": knn}
        self.thresholds_by_backend_ = {"knn": self._thresholds(train, knn.train_scores())}
        class_types = [c.split(CLASS_SEP, 1)[0] for c in self.classes_]
        if set(train["machine_type"]) <= set(class_types):
            prob = _backends.ProbabilityBackend(class_types).fit(self.logits(train), train)
            self.backends_["probability"] = prob
            self.thresholds_by_backend_["probability"] = self._thresholds(train, prob.train_scores())
        self.train_scores_ = {name: b.train_scores() for name, b in self.backends_.items()}
        return self.set_backend(self.backend_name if self.backend_name in self.backends_ else "knn")

    def _thresholds(self, train: pd.DataFrame, scores: np.ndarray) -> dict:
        self._set_thresholds(train, scores)
        return dict(self.thresholds_)

    def set_backend(self, name: str) -> "ClassifierSystem":
        """Make ``name`` the backend of ``score``/``decide`` (in place)."""
        if name not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
        if hasattr(self, "backends_"):
            if name not in self.backends_:
                raise ValueError(f"backend {name!r} is not available here (fitted: {sorted(self.backends_)})")
            self.thresholds_ = self.thresholds_by_backend_[name]
        self.backend_name = name
        return self

    def with_backend(self, name: str) -> "ClassifierSystem":
        """A shallow copy scoring with ``name``; it shares the network and the embedding cache."""
        return copy.copy(self).set_backend(name)

    def transfer(self, train: pd.DataFrame) -> "ClassifierSystem":
        """A copy whose backends are fitted on ``train`` (the trained encoder is shared, frozen)."""
        other = copy.copy(self)
        return other.fit_backends(train)

    def score(self, clips: pd.DataFrame, backend: str | None = None) -> np.ndarray:
        """Anomaly score of every clip (higher = more anomalous) with the chosen backend."""
        self._check_fitted()
        name = backend or self.backend_name
        if not hasattr(self, "backends_") or name not in self.backends_:
            raise ValueError(f"backend {name!r} is not fitted (fitted: {sorted(getattr(self, 'backends_', {}))})")
        clips = clips.reset_index(drop=True)
        if name == "knn":
            return self.backends_["knn"].score(self.embed(clips), clips)
        return self.backends_["probability"].score(self.logits(clips), clips)


# --------------------------------------------------------------------------- running and reporting
def run_system(detector: ClassifierSystem, clips: pd.DataFrame, out_dir: str | Path | None = None,
               backends: Iterable[str] = BACKENDS) -> dict[str, DetectorRun]:
    """Fit once (unless fitted) and evaluate with every backend.

    With ``out_dir``: ``<out_dir>/<backend>/`` holds the official submission CSVs
    (``submission/``), ``scores.csv`` and ``metrics.csv`` (``detect.run_detector``), and
    ``<out_dir>/history.csv`` the training curves.
    """
    seconds_fit = 0.0
    if not hasattr(detector, "model_"):
        t0 = time.perf_counter()
        detector.fit(clips[clips.split == "train"])
        seconds_fit = time.perf_counter() - t0
    runs = {}
    for name in backends:
        if name not in detector.backends_:
            continue
        sub_dir = None if out_dir is None else Path(out_dir) / name
        run = run_detector(detector.with_backend(name), clips, sub_dir, fit=False)
        run.seconds["fit"] = seconds_fit
        runs[name] = run
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        detector.history_.to_csv(Path(out_dir) / "history.csv", index=False)
    return runs


def metrics_table(runs: dict[str, DetectorRun], system: str = "") -> pd.DataFrame:
    """The runs' metrics side by side: rows (system, backend, machine type), AUC-s/AUC-t/pAUC."""
    parts = []
    for name, run in runs.items():
        m = run.metrics[["AUC-s", "AUC-t", "pAUC", "official"]].copy()
        m.insert(0, "backend", name)
        if system:
            m.insert(0, "system", system)
        parts.append(m.reset_index())
    keys = (["system"] if system else []) + ["backend", "machine_type"]
    return pd.concat(parts, ignore_index=True).set_index(keys)


def results_long(results: dict[str, dict[str, DetectorRun]]) -> pd.DataFrame:
    """Several variants' runs in one long table: variant, backend, machine_type, AUC-s, AUC-t, pAUC
    (percent) and the official score on the Total rows."""
    parts = [metrics_table(runs, system=variant) for variant, runs in results.items()]
    out = pd.concat(parts) * 100
    return out.rename_axis(["variant", "backend", "machine_type"])


def _chapter_run(profile: str, chapter: str, runs_root: str | Path | None,
                 data_root: str | Path | None) -> Path | None:
    """``runs/<profile>/<chapter>/`` if it exists and (given ``data_root``) was run on that data.

    A run on other data is refused with a printed note, so a table can never carry another
    dataset's label (e.g. synthetic baseline rows shown next to real-data rows).
    """
    from .paths import REPO_ROOT

    folder = Path(runs_root or REPO_ROOT / "runs") / profile / chapter
    if not folder.is_dir():
        return None
    if data_root is not None:
        cfg_path = folder / "config.json"
        ran_on = json.loads(cfg_path.read_text()).get("data_root") if cfg_path.is_file() else None
        if ran_on is None or Path(ran_on).resolve() != Path(data_root).resolve():
            print(f"NOTE: {folder} was run on {ran_on!r}, not on {str(data_root)!r}; its results are not used here.")
            return None
    return folder


def chapter_metrics(profile: str, chapter: str, name: str = "metrics",
                    runs_root: str | Path | None = None, data_root: str | Path | None = None) -> pd.DataFrame | None:
    """A table a chapter saved in its run folder (``runs/<profile>/<chapter>/<name>.csv``), or None
    (also None when that run used other data than ``data_root``)."""
    folder = _chapter_run(profile, chapter, runs_root, data_root)
    path = folder / f"{name}.csv" if folder else None
    return pd.read_csv(path) if path is not None and path.is_file() else None


def baseline_table1(profile: str, runs_root: str | Path | None = None,
                    data_root: str | Path | None = None) -> pd.DataFrame | None:
    """The baselines' Table-1-layout metrics of this profile's baseline chapter run, if it exists
    and ran on ``data_root``. Reads ``runs/<profile>/02_baselines/table1.csv`` (percent)."""
    folder = _chapter_run(profile, "02_baselines", runs_root, data_root)
    path = folder / "table1.csv" if folder else None
    if path is None or not path.is_file():
        return None
    return pd.read_csv(path, header=[0, 1], index_col=0)


def table1_with_baselines(runs: dict[str, DetectorRun], system: str, profile: str, data_root: str | Path,
                          dataset_label: str) -> pd.DataFrame:
    """A system's runs (one row per backend) under the published Table 1 rows, in its layout.

    The baselines' rows of the same profile are added when chapter 02 was run on the same
    ``data_root``; otherwise a note says how to produce them. Every row is labelled with the
    dataset it comes from (``dataset_label`` for ours, the real DCASE dev set for published).
    """
    from . import metrics as _metrics
    from . import report

    ours = _metrics.table1({f"{system} {b}": r.metrics for b, r in runs.items()})
    baselines = baseline_table1(profile, data_root=data_root)
    if baselines is None:
        print(f"NOTE: no baseline run for profile {profile!r} on this data (runs/{profile}/02_baselines/). "
              f"Produce it with\n  python -m asdlib.experiment run notebooks/02_baselines.py -p profile {profile}")
    else:
        ours = pd.concat([baselines, ours])
    return report.side_by_side(ours, report.table1(["AE-MSE", "AE-MAHALA", system]), ours_label=dataset_label,
                               published_label="published, real DCASE 2024 dev set")


def embedding_map(detector: ClassifierSystem, clips: pd.DataFrame, pseudo_labels: pd.Series | None = None,
                  attribute_roots: Iterable[str | Path] = (), seed: int = 0) -> pd.DataFrame:
    """UMAP (``viz.embed_umap``) of the clip embeddings, with everything a plot colours by.

    Columns: ``x``, ``y``, ``file_name``, ``machine_type``, ``split``, ``domain``,
    ``condition`` (normal / anomaly), ``trained_class`` (the label the network learnt,
    for train clips), ``pseudo_label`` (when given), ``attribute`` (the TRUE operating
    group: visible attributes, hidden ones from the correspondence files under
    ``attribute_roots``; System-1 never sees these), ``score`` (default backend).
    """
    from . import viz
    from .data import attribute_groups

    clips = clips.reset_index(drop=True)
    xy = viz.embed_umap(detector.embed(clips), seed=seed, metric="cosine")
    frame = clips[["file_name", "machine_type", "split", "domain"]].copy()
    frame["x"], frame["y"] = xy[:, 0], xy[:, 1]
    frame["condition"] = np.where(clips["is_anomaly"] == 1, "anomaly", "normal")
    is_train = clips.split == "train"
    trained = detector.label_source_.labels(clips[is_train])
    frame["trained_class"] = trained.reindex(clips.index).fillna("(test clip)")
    if pseudo_labels is not None:
        frame["pseudo_label"] = pd.Series(pseudo_labels).reset_index(drop=True).fillna("(none)").to_numpy()
    frame["attribute"] = attribute_groups(clips, list(attribute_roots)).fillna("(unknown)").to_numpy()
    frame["score"] = detector.score(clips)
    return frame


def real_fan_check(detector: ClassifierSystem, fan_clips: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trained encoder on real recordings of a machine it never saw (e.g. ``sensiml-fan``).

    The network stays frozen; only the kNN banks (and thresholds) are built from the real
    train clips (``transfer``). All clips of that set are one domain, so AUC-t does not
    exist: AUC over all clips (= AUC-s) and pAUC are returned, plus per-clip scores.
    The probability backend cannot score a machine type that is not one of its classes.
    """
    from . import metrics as _metrics

    train = fan_clips[fan_clips.split == "train"].reset_index(drop=True)
    test = fan_clips[fan_clips.split == "test"].reset_index(drop=True)
    fan_det = detector.transfer(train).set_backend("knn")
    s = fan_det.score(test)
    decision = fan_det.decide(test, s)
    table = pd.DataFrame([{
        "backend": "knn (encoder frozen, banks from the real train clips)",
        **_metrics.one_domain_summary(test["is_anomaly"], s, decision),
    }]).set_index("backend")
    scores = test[["file_name", "label", "attr_string"]].assign(score=s, decision=decision)
    return table, scores
