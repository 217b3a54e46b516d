"""Systems 1 and 2 of the seed report (§2.1): classifier embeddings + contrastive learning.

One detector, two configurations. An STgram encoder (``asdlib.models.stgram``) learns an
audio embedding by classifying normal train clips into classes "machine type | label"
with an ArcFace margin loss, plus a supervised contrastive loss that pulls together clips
sharing a class::

    loss = ArcFace(margin 0.7, scale 30) + contrastive_weight * SupCon(tau = 0.1)

The labels come from a label source (``asdlib.systems.labels``):

* **System-1** (``label_source="pseudo"``): statistical-cluster pseudo-labels for every
  type; no attribute information at all.
* **System-2** (``label_source="attribute"``): attribute groups where a type has them,
  source/target where they are hidden.

One model is trained across all machine types (as the STgram systems do). Anomalies are
clips whose embedding lies far from the normal ones: two scoring backends
(``asdlib.systems.backends``) read the clip embedding, the kNN cosine distance with separate
source/target banks (default) and the classifier's own ``-log P(type)``.

Everything after the network (embedding cache, backends, thresholds, transfer to other
machines) is the shared ``asdlib.systems.embedding.EmbeddingDetector``; training runs the
book's one loop (``asdlib.systems.training``). Usage::

    det = ClassifierSystem.system1(profile="demo", seed=0, checkpoint_dir=run.path("weights"))
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

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from asdlib import profiles
from asdlib.features.crops import ClipAudio, covering_crops
from asdlib.data.layout import AudioError, fingerprint, load_audio
from asdlib.features.logmel import LogMelConfig
from asdlib.systems.labels import LabelSource, make_label_source
from asdlib.models.classifier import ClassifierNet
from asdlib.models.losses import supervised_contrastive_loss
from asdlib.models.stgram import ENCODER_SIZES, EncoderConfig
from asdlib.runtime import default_device, seed_everything
from asdlib.systems.training import train as train_loop
from asdlib.systems.embedding import EmbeddingDetector

BACKENDS = ("knn", "probability")
CHECKPOINT = "checkpoint.pt"


@dataclass
class ClassifierSystemConfig:
    """Hyper-parameters of Systems 1/2. Defaults: the report's (16 kHz, lr 1e-4) and, where it
    is silent, STgram-MFN's (ArcFace 0.7/30, MobileFaceNet, batch 128) or ours (marked)."""

    label_source: str = "pseudo"  # "pseudo" = System-1 ("pseudo_domain": + domain), "attribute" = System-2, "domain"
    # front end and encoder
    logmel: LogMelConfig = LogMelConfig()  # report: native 16 kHz; the official log-mel (Sgram branch)
    encoder_size: str = "mobilefacenet"  # "mobilefacenet" (STgram-MFN widths) | "compact"
    embedding_dim: int = 128  # STgram-MFN
    # losses
    margin: float = 0.7  # ArcFace margin (STgram-MFN)
    scale: float = 30.0  # ArcFace scale (STgram-MFN)
    contrastive_weight: float = 1.0  # ours: lambda; 0 = the ablation without contrastive loss
    temperature: float = 0.1  # SupCon tau (Khosla et al.'s best value)
    # which clips count as positives of the contrastive loss: "class" (the classification
    # label: System-1's clusters, System-2's attributes / domains) or "statistics" (the
    # statistical cluster, "machine type | cluster", whatever the classification label is:
    # the report ties its contrastive strategy to the statistics)
    contrastive_labels: str = "class"
    # training
    learning_rate: float = 1e-4  # report
    weight_decay: float = 0.0  # ours (report silent)
    batch_size: int = 128  # STgram-MFN
    epochs: int = 100  # ours (report silent)
    crop_seconds: float = 10.0  # training crop; 10 s = STgram-MFN's whole-clip input
    # ours (report silent): each target-domain train clip appears this many times per epoch;
    # 1 = plain shuffling (the 10 target clips are ~1-5 % of the batches)
    target_repeats: int = 1
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
        if self.label_source not in ("pseudo", "pseudo_domain", "attribute", "domain"):
            raise ValueError("label_source must be 'pseudo', 'pseudo_domain', 'attribute' or 'domain', "
                             f"got {self.label_source!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.encoder_size not in ENCODER_SIZES:
            raise ValueError(f"encoder_size must be one of {sorted(ENCODER_SIZES)}, got {self.encoder_size!r}")
        if self.contrastive_labels not in ("class", "statistics"):
            raise ValueError(f"contrastive_labels must be 'class' or 'statistics', got {self.contrastive_labels!r}")
        if self.target_repeats < 1:
            raise ValueError(f"target_repeats must be >= 1, got {self.target_repeats}")
        if self.contrastive_weight < 0:
            raise ValueError(f"contrastive_weight must be >= 0, got {self.contrastive_weight}")
        if self.crop_seconds <= 0 or self.epochs < 0 or self.batch_size < 2:
            raise ValueError("crop_seconds must be > 0, epochs >= 0 and batch_size >= 2")

    @classmethod
    def for_profile(cls, profile: str = "paper", **overrides) -> "ClassifierSystemConfig":
        """The defaults with the sizes of ``profile`` (``asdlib.profiles``) and ``overrides``.

        ``paper``: the defaults (MobileFaceNet, 10-s inputs, batch 128, 100 epochs; a GPU run);
        ``full``: 2-s crops, batch 64, 30 epochs; ``demo``/``ci``: the compact encoder on 1-s
        crops with lr 1e-3 and one torch thread (the book and the tests on 2 CPU cores).
        """
        return cls(**{**profiles.sizes(profile, "classifier"), "profile": profile, **overrides})

    @property
    def sample_rate(self) -> int:
        return self.logmel.sample_rate

    def encoder_config(self) -> EncoderConfig:
        return EncoderConfig.of_size(self.encoder_size, logmel=self.logmel, embedding_dim=self.embedding_dim)

    def training_key(self) -> dict:
        """The fields that change what training produces, except ``epochs`` (a run can be
        extended: the learning rate is constant and every epoch has its own random stream)."""
        skip = {"epochs", "backend", "knn_k", "threshold_quantile", "device", "num_threads", "preload_mb", "profile"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}


def epoch_pool(train: pd.DataFrame, target_repeats: int = 1) -> np.ndarray:
    """The clip indices one epoch draws from (then shuffled): every clip once, each
    target-domain clip ``target_repeats`` times."""
    pool = np.arange(len(train))
    if target_repeats > 1 and "domain" in train:
        target = np.flatnonzero(train["domain"].to_numpy() == "target")
        pool = np.concatenate([pool, np.repeat(target, target_repeats - 1)])
    return pool


class ClassifierSystem(EmbeddingDetector):
    """Systems 1/2 as a detector: ``fit(train)``, ``score(clips)``, ``decide(clips, scores)``.

    ``label_source`` overrides the one named in the config (e.g. a ``PseudoLabelSource``
    with precomputed labels). ``checkpoint_dir``: a checkpoint after every epoch; training
    resumes from it when config, classes and train files are unchanged (a finished run is
    loaded instead of retrained); ``resume=False`` trains afresh (the old checkpoint is moved
    aside, ``asdlib.systems.training``).
    """

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
    def system1(cls, profile: str = "demo", checkpoint_dir=None, progress: bool = True, resume: bool = True,
                **overrides) -> "ClassifierSystem":
        """System-1: pseudo-labels (statistical clusters) for every machine type."""
        cfg = ClassifierSystemConfig.for_profile(profile, **{**overrides, "label_source": "pseudo"})
        return cls(cfg, checkpoint_dir=checkpoint_dir, progress=progress, resume=resume)

    @classmethod
    def system2(cls, profile: str = "demo", checkpoint_dir=None, progress: bool = True, resume: bool = True,
                **overrides) -> "ClassifierSystem":
        """System-2: attributes where a type has them, source/target where it does not."""
        cfg = ClassifierSystemConfig.for_profile(profile, **{**overrides, "label_source": "attribute"})
        return cls(cfg, checkpoint_dir=checkpoint_dir, progress=progress, resume=resume)

    # ------------------------------------------------------------------ training
    def _fit_model(self, train: pd.DataFrame) -> None:
        """Learn labels, build the network and train it (or resume / load it)."""
        cfg = self.config
        self.device_ = default_device(cfg.device)
        self.timings_ = {}
        t0 = time.perf_counter()
        source = self.label_source or make_label_source(cfg.label_source, seed=cfg.seed, **(
            cfg.clustering if cfg.label_source.startswith("pseudo") else {}))
        self.label_source_ = source.fit(train)
        self.timings_["labels_s"] = time.perf_counter() - t0
        self.classes_ = list(source.classes_)
        if len(self.classes_) < 2:
            raise ValueError(f"only one class ({self.classes_}) among the train clips: a classifier needs at least "
                             "two (train several machine types together, or use more labels)")
        self.train_labels_ = source.class_index(train)
        self.contrastive_labels_ = self._contrastive_labels(train)
        seed_everything(cfg.seed)
        self.model_ = ClassifierNet(cfg.encoder_config(), len(self.classes_), cfg.margin, cfg.scale).to(self.device_)
        t0 = time.perf_counter()
        self._train(train)
        self.timings_["train_s"] = time.perf_counter() - t0

    def _contrastive_labels(self, train: pd.DataFrame) -> np.ndarray:
        """Integer positives' labels of the contrastive loss per train clip (see the config)."""
        cfg = self.config
        if cfg.contrastive_labels == "class" or cfg.contrastive_weight == 0:
            return np.asarray(self.train_labels_)
        if cfg.label_source == "pseudo" and not getattr(self.label_source_, "with_domain", False):
            stats = self.label_source_  # System-1's classes already are the statistical clusters
        else:
            stats = make_label_source("pseudo", seed=cfg.seed, **cfg.clustering).fit(train)
        self.contrastive_source_ = stats
        return np.asarray(stats.class_index(train))

    def training_fingerprint(self, train: pd.DataFrame) -> dict:
        """What a checkpoint must match to be continued: settings (but epochs), classes, labels, data."""
        return {"config": self.config.training_key(), "classes": self.classes_,
                "labels": hashlib.sha1(np.asarray(self.train_labels_).tobytes()).hexdigest()[:16],
                "data": fingerprint(train)}

    def _train(self, train: pd.DataFrame) -> None:
        cfg = self.config
        model, device = self.model_, self.device_
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        audio = None
        n = len(train)
        crop = int(round(cfg.crop_seconds * cfg.sample_rate))
        pool = epoch_pool(train, cfg.target_repeats)
        bs = min(cfg.batch_size, len(pool))
        n_steps = len(pool) // bs  # drop the last partial batch: BatchNorm and SupCon want full batches
        labels = torch.tensor(np.array(self.train_labels_), dtype=torch.long)
        positives = torch.tensor(np.array(self.contrastive_labels_), dtype=torch.long)

        def one_epoch(epoch: int, tick) -> dict:
            nonlocal audio
            if audio is None:  # read the audio only when an epoch is actually trained
                audio = ClipAudio(train["path"], cfg.sample_rate, cfg.preload_mb)
            rng = np.random.default_rng([cfg.seed, epoch])  # per epoch: resuming replays the same order
            order = rng.permutation(n) if len(pool) == n else pool[rng.permutation(len(pool))]
            sums = np.zeros(4)  # loss, margin, contrastive, correct
            for step in range(n_steps):
                idx = order[step * bs:(step + 1) * bs]
                wave = torch.from_numpy(audio.random_crops(idx, crop, rng)).to(device)
                y = labels[idx].to(device)
                emb = model(wave)
                margin_loss = torch.nn.functional.cross_entropy(model.head(emb, y), y)
                con_loss = (supervised_contrastive_loss(emb, positives[idx].to(device), cfg.temperature)
                            if cfg.contrastive_weight > 0 else torch.zeros((), device=device))
                loss = margin_loss + cfg.contrastive_weight * con_loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    correct = (model.head.logits(emb).argmax(1) == y).sum().item()
                sums += [loss.item(), margin_loss.item(), con_loss.item(), correct]
                tick(epoch=epoch + 1, loss=f"{loss.item():.3f}")
            return {"loss": sums[0] / n_steps, "margin_loss": sums[1] / n_steps,
                    "contrastive_loss": sums[2] / n_steps, "train_accuracy": sums[3] / (n_steps * bs)}

        checkpoint = self.checkpoint_dir / CHECKPOINT if self.checkpoint_dir is not None else None
        result = train_loop(model, optimizer, cfg.epochs, one_epoch, fingerprint=self.training_fingerprint(train),
                            checkpoint=checkpoint, resume=self.resume, steps_per_epoch=n_steps,
                            progress=self.progress, desc=f"training ({cfg.label_source} labels)")
        self.history_ = pd.DataFrame(result.history)
        self.resumed_from_epoch_ = result.resumed_from

    # ------------------------------------------------------------------ embeddings
    @torch.no_grad()
    def _represent(self, paths: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Embedding and logits of each clip: the mean embedding of covering crops."""
        cfg = self.config
        crop = int(round(cfg.crop_seconds * cfg.sample_rate))
        model = self.model_.eval()
        per_batch = max(cfg.batch_size, 16)
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        pending: list[tuple[str, np.ndarray]] = []

        def flush():
            if not pending:
                return
            waves = np.concatenate([w for _, w in pending])
            emb = torch.cat([model(torch.from_numpy(waves[j:j + per_batch]).to(self.device_))
                             for j in range(0, len(waves), per_batch)])
            k = 0
            for path, w in pending:
                e = emb[k:k + len(w)].mean(0, keepdim=True)
                k += len(w)
                out[path] = (e[0].cpu().numpy(), model.head.logits(e)[0].cpu().numpy())
            pending.clear()

        for path in paths:
            try:
                x = load_audio(path, sr=cfg.sample_rate)
            except AudioError as exc:
                raise AudioError(f"cannot embed: {exc}") from exc
            pending.append((path, covering_crops(x, crop)))
            if sum(len(w) for _, w in pending) >= per_batch:
                flush()
        flush()
        return out


def run_in_folder(run, folder: str, config: ClassifierSystemConfig, label_source: LabelSource, clips: pd.DataFrame,
                  resume: bool = True, progress: bool = True, extra_train: pd.DataFrame | None = None):
    """Fit (or resume / load) a classifier system in ``<run>/<folder>/`` and evaluate every
    backend there: ``(detector, {backend: DetectorRun})``. Checkpoints go to
    ``<folder>/weights/``; ``resume=False`` trains afresh; ``extra_train``: train clips of
    further types that train the network only (e.g. the additional training set)."""
    from asdlib.systems.embedding import run_system

    det = ClassifierSystem(config, label_source=label_source, checkpoint_dir=Path(run.root) / folder / "weights",
                           progress=progress, resume=resume)
    return det, run_system(det, clips, run.root / folder, extra_train=extra_train)
