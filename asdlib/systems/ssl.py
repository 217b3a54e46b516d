"""System-3 of the seed report (§2.2): a self-supervised classification backbone with
frequency attention, label text and clustering pseudo-labels.

The backbone is Wilkinghoff's two-branch network (``asdlib.models.ssl``: whole-clip FFT
magnitude + linear STFT ResNet, 256-d embedding) trained to classify normal clips with
**sub-cluster AdaCos** (16 sub-clusters per class), **mixup** of waveforms and **feature
exchange** (FeatEx: the spectrogram-branch embedding swapped with a partner's, classified
by a second head over 3C classes). The report adds three things, all here:

* **frequency attention** on the spectrogram branch (``SSLConfig.frequency_attention``);
* **label text**: each training clip's label as a sentence ("a recording of a synthetic fan
  with speed 24 and microphone 2, in the source domain"), embedded once by MiniLM
  (``asdlib.systems.label_text``) and added, projected, to the audio embedding that the main head
  classifies (``TextFusion``; each clip's text is dropped with probability 0.5 so the audio
  path must classify on its own). The report does not say what happens at test time, when a
  clip's label is unknown. **Our choice** (``test_text="none"``): scoring reads the audio
  embedding alone; the text shapes training only. The alternative (``test_text="known"``)
  adds the text of what is known of a test clip (its type, domain, attributes from the file
  name, or its statistical cluster) to train and test embeddings alike; chapter 05 compares
  both. Mixup mixes the texts with the same weights as the waveforms; FeatEx's head reads
  the audio embedding only.
* **labels**: attributes where a type has them, domain x statistical cluster where they are
  hidden (``labels.AttributeOrPseudoLabelSource``). The report says "attributes" and, for
  hidden types, "source/target" and clustering pseudo-labels; the combination is ours.
  Wilkinghoff's classes (the report's ref. [13]) also split the types with attributes by
  domain (type x section x attributes x domain): ``label_domain=True`` does that; the
  default (False) keeps the attributes alone, the book's setting.

Audio is upsampled to 19.2 kHz (§3.1). Scoring: the mean embedding of crops covering the
clip; backends ``kmeans`` (Wilkinghoff's: 16 k-means centres of the source train
embeddings + the target train embeddings, minimum cosine distance; the default), ``knn``
and ``probability`` (``asdlib.systems.embedding``). The k-means back end's training scores
(thresholds, System-4's normalisation) are out of fold (``kmeans_source_train_scores``,
ours: a source clip is scored against centres fitted without it); Wilkinghoff's code
scores them in-sample, which ``"in_sample"`` keeps reachable.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from asdlib import profiles
from asdlib.features.crops import ClipAudio, clip_audio, covering_crops
from asdlib.systems.backends import SOURCE_TRAIN_SCORES, KMeansTargetBackend
from asdlib.data.layout import AudioError, fingerprint
from asdlib.systems.labels import LabelSource, make_label_source
from asdlib.models.losses import feature_exchange, mixup
from asdlib.models.ssl import SSLConfig, SSLModel
from asdlib.runtime import default_device, seed_everything
from asdlib.systems.training import train as train_loop
from asdlib.systems.embedding import EmbeddingDetector

BACKENDS = ("kmeans", "knn", "probability")
CHECKPOINT = "checkpoint.pt"


@dataclass
class SSLSystemConfig:
    """Hyper-parameters of System-3. Defaults: the report's (19.2 kHz) and Wilkinghoff's
    (network, losses, batch 64, 10 epochs, k-means backend); ``for_profile`` shrinks them
    for the CPU profiles (``asdlib.profiles``), saying so in ``profile``."""

    network: SSLConfig = SSLConfig(sample_rate=19200, n_samples=288000)  # 15 s at 19.2 kHz
    label_source: str = "attribute_pseudo"  # attributes, else domain x statistical cluster
    # True: classes of types with attributes also split by domain, as Wilkinghoff's (type x section
    # x attributes x domain); False (ours, the book's): attributes alone. Hidden types: domain x cluster.
    label_domain: bool = False
    use_text: bool = True  # label text fused into the audio embedding while training
    text_drop: float = 0.5  # probability of leaving a clip's text out (ours; see module docstring)
    test_text: str = "none"  # "none": scoring reads audio only (ours); "known": text of what is known
    featex: bool = True
    # training
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 2e-5
    # scoring
    backend: str = "kmeans"
    n_centres: int = 16  # k-means centres of the source bank (Wilkinghoff)
    # how the k-means back end scores its source train clips (thresholds, System-4's normalisation):
    # "out_of_fold" (ours: centres fitted without the clip's fold) or "in_sample" (Wilkinghoff's code)
    kmeans_source_train_scores: str = "out_of_fold"
    kmeans_folds: int = 10
    knn_k: int = 1
    threshold_quantile: float = 0.9  # his: 90th percentile of training scores
    clustering: dict = dataclasses.field(default_factory=dict)  # StatisticalClusters keywords
    # runtime
    seed: int = 0
    device: str | None = None
    num_threads: int | None = None
    preload_mb: float = 1024.0
    profile: str = "paper"

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.kmeans_source_train_scores not in SOURCE_TRAIN_SCORES:
            raise ValueError(f"kmeans_source_train_scores must be one of {SOURCE_TRAIN_SCORES}, "
                             f"got {self.kmeans_source_train_scores!r}")
        if self.test_text not in ("none", "known"):
            raise ValueError(f"test_text must be 'none' or 'known', got {self.test_text!r}")
        if self.test_text == "known" and not self.use_text:
            raise ValueError("test_text='known' needs use_text=True")
        if self.label_domain and self.label_source not in ("attribute_pseudo", "attribute"):
            raise ValueError(f"label_domain=True adds the domain to attribute labels; label source "
                             f"{self.label_source!r} has none (use 'attribute_pseudo' or 'attribute')")

    @classmethod
    def for_profile(cls, profile: str = "paper", **overrides) -> "SSLSystemConfig":
        """The defaults with the sizes of ``profile`` and ``overrides``; keys ``network_*``
        set fields of the network config (e.g. ``network_frequency_attention=False``)."""
        values = {**profiles.sizes(profile, "ssl"), **overrides}
        net = {k[len("network_"):]: values.pop(k) for k in list(values) if k.startswith("network_")}
        network = dataclasses.replace(cls.network, **net) if net else cls.network
        return cls(network=network, profile=profile, **values)

    @property
    def sample_rate(self) -> int:
        return self.network.sample_rate

    def make_label_source(self, **params) -> LabelSource:
        """The unfitted label source of these settings: ``label_source`` seeded with ``seed``,
        split by domain when ``label_domain``, clustered with ``clustering`` (``params``: more
        keywords, e.g. ``precomputed`` clusters)."""
        with_domain = {"with_domain": True} if self.label_domain else {}
        return make_label_source(self.label_source, seed=self.seed, **with_domain, **{**self.clustering, **params})

    def training_key(self) -> dict:
        """What changes the trained weights, except ``epochs`` (a run can be extended)."""
        # label_domain is left out too: the classes and labels it forms are in ``training_fingerprint``,
        # so checkpoints of runs made before the setting existed (attributes alone) stay valid
        skip = {"epochs", "backend", "n_centres", "kmeans_source_train_scores", "kmeans_folds", "knn_k",
                "threshold_quantile", "test_text", "device", "num_threads", "preload_mb", "profile", "label_domain"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}


class SSLSystem(EmbeddingDetector):
    """System-3 as a detector (``fit`` / ``score`` / ``decide``; backends of the base class)."""

    unsaved_attributes = ("_cache", "text_embedder")  # MiniLM is loaded again when needed

    def __init__(self, config: SSLSystemConfig | None = None, label_source: LabelSource | None = None,
                 checkpoint_dir: str | Path | None = None, progress: bool = True, resume: bool = True,
                 text_embedder=None):
        self.config = config or SSLSystemConfig()
        self.label_source = label_source
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.progress = progress
        self.resume = resume
        self.text_embedder = text_embedder
        self.backend_name = self.config.backend
        self.threshold_quantile = self.config.threshold_quantile

    # ------------------------------------------------------------------ labels and text
    def sentences(self, clips: pd.DataFrame) -> pd.Series:
        """Each clip's label sentence: attributes from the clip table, else its statistical
        cluster (for hidden types), and its domain (``asdlib.systems.label_text``)."""
        from asdlib.systems.label_text import clip_sentences

        clusters = (self.label_source_.pseudo_labels(clips) if hasattr(self.label_source_, "pseudo_labels")
                    else None)
        return clip_sentences(clips, clusters)

    def text_vectors(self, clips: pd.DataFrame) -> np.ndarray:
        """``(n_clips, 384)`` MiniLM embeddings of the clips' sentences (cached per sentence)."""
        if self.text_embedder is None:
            from asdlib.systems.label_text import TextEmbedder

            self.text_embedder = TextEmbedder()
        return self.text_embedder.embed(self.sentences(clips).tolist())

    # ------------------------------------------------------------------ training
    def _fit_model(self, train: pd.DataFrame) -> None:
        cfg = self.config
        self.device_ = default_device(cfg.device)
        self.timings_ = {}
        t0 = time.perf_counter()
        source = self.label_source or cfg.make_label_source()
        self.label_source_ = source.fit(train)
        self.classes_ = list(source.classes_)
        if len(self.classes_) < 2:
            raise ValueError(f"only one class ({self.classes_}) among the train clips: System-3 needs at least two")
        self.train_labels_ = source.class_index(train)
        text = self.text_vectors(train) if cfg.use_text else None
        self.timings_["labels_and_text_s"] = time.perf_counter() - t0
        seed_everything(cfg.seed)
        self.model_ = SSLModel(cfg.network, len(self.classes_), use_text=cfg.use_text, text_drop=cfg.text_drop,
                               featex=cfg.featex).to(self.device_)
        t0 = time.perf_counter()
        self._train(train, text)
        self.timings_["train_s"] = time.perf_counter() - t0

    def training_fingerprint(self, train: pd.DataFrame) -> dict:
        return {"config": self.config.training_key(), "classes": self.classes_,
                "labels": hashlib.sha1(np.asarray(self.train_labels_).tobytes()).hexdigest()[:16],
                "data": fingerprint(train)}

    def _optimizer(self) -> torch.optim.Optimizer:
        """Adam; weight decay on conv / linear kernels only (Wilkinghoff's Keras L2), not on
        BatchNorm, attention positions or the AdaCos centres."""
        decay, plain = [], []
        for name, p in self.model_.named_parameters():
            is_kernel = p.dim() > 1 and "head" not in name and "position" not in name
            (decay if is_kernel else plain).append(p)
        return torch.optim.Adam([{"params": decay, "weight_decay": self.config.weight_decay},
                                 {"params": plain, "weight_decay": 0.0}], lr=self.config.learning_rate)

    def _train(self, train: pd.DataFrame, text: np.ndarray | None) -> None:
        cfg = self.config
        model, device = self.model_, self.device_
        optimizer = self._optimizer()
        n, n_samples = len(train), cfg.network.n_samples
        bs = min(cfg.batch_size, n)
        n_steps = n // bs  # full batches: BatchNorm and the AdaCos median want them
        n_classes = len(self.classes_)
        onehot = torch.nn.functional.one_hot(torch.as_tensor(np.array(self.train_labels_)), n_classes).float()
        text_t = torch.from_numpy(text) if text is not None else None
        audio = None

        def one_epoch(epoch: int, tick) -> dict:
            nonlocal audio
            if audio is None:  # read (and upsample) the audio only when an epoch is trained
                audio = ClipAudio(train["path"], cfg.sample_rate, cfg.preload_mb)
            rng = np.random.default_rng([cfg.seed, epoch])
            gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
            order = rng.permutation(n)
            sums = np.zeros(4)  # loss, main, featex, correct
            for step in range(n_steps):
                idx = order[step * bs:(step + 1) * bs]
                wave = torch.from_numpy(audio.random_crops(idx, n_samples, rng))
                y = onehot[idx]
                # mix texts with the waveforms' weights: mixup sees them as extra target columns
                yt = y if text_t is None else torch.cat([y, text_t[idx]], dim=1)
                wave, yt = mixup(wave, yt, cfg.network.mixup_prob, generator=gen)
                y_mix, t_mix = yt[:, :n_classes].to(device), (yt[:, n_classes:].to(device) if text_t is not None
                                                              else None)
                fft_e, spec_e = model.backbone.branches(wave.to(device))
                emb = torch.cat([fft_e, spec_e], dim=1)
                main = model.head(model.fuse(emb, t_mix), y_mix)
                ex = torch.zeros((), device=device)
                if model.featex_head is not None:
                    emb_x, y_x = feature_exchange(fft_e, spec_e, y_mix, cfg.network.featex_prob, generator=gen)
                    ex = model.featex_head(emb_x, y_x)
                loss = main + ex
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    correct = (model.head.logits(emb).argmax(1) == y_mix.argmax(1)).sum().item()
                sums += [loss.item(), main.item(), ex.item(), correct]
                tick(epoch=epoch + 1, loss=f"{loss.item():.3f}")
            return {"loss": sums[0] / n_steps, "main_loss": sums[1] / n_steps, "featex_loss": sums[2] / n_steps,
                    "train_accuracy": sums[3] / (n_steps * bs), "scale": float(model.head.scale)}

        checkpoint = self.checkpoint_dir / CHECKPOINT if self.checkpoint_dir is not None else None
        result = train_loop(model, optimizer, cfg.epochs, one_epoch, fingerprint=self.training_fingerprint(train),
                            checkpoint=checkpoint, resume=self.resume, steps_per_epoch=n_steps,
                            progress=self.progress, desc="training System-3")
        self.history_ = pd.DataFrame(result.history)
        self.resumed_from_epoch_ = result.resumed_from

    # ------------------------------------------------------------------ embeddings and backends
    @torch.no_grad()
    def _represent(self, paths: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Audio embedding (mean over covering crops) and main-head logits of each clip."""
        cfg = self.config
        model = self.model_.eval()
        out = {}
        for path in paths:
            try:
                x = clip_audio(path, cfg.sample_rate)
            except AudioError as exc:
                raise AudioError(f"cannot embed: {exc}") from exc
            crops = torch.from_numpy(covering_crops(x, cfg.network.n_samples)).to(self.device_)
            emb = torch.cat([model(crops[j:j + cfg.batch_size]) for j in range(0, len(crops), cfg.batch_size)])
            e = emb.mean(0, keepdim=True)
            out[path] = (e[0].cpu().numpy(), model.head.logits(e)[0].cpu().numpy())
        return out

    def embed(self, clips: pd.DataFrame) -> np.ndarray:
        """Clip embeddings as scored: audio only (``test_text="none"``), or audio + the projected
        text of what is known of each clip (``"known"``)."""
        emb = super().embed(clips)
        if self.config.test_text == "none" or len(clips) == 0:
            return emb
        with torch.no_grad():
            text = torch.from_numpy(self.text_vectors(clips.reset_index(drop=True)))
            fused = emb + self.model_.fusion.proj(text.to(self.device_)).cpu().numpy()
        return fused

    def with_test_text(self, mode: str, train: pd.DataFrame) -> "SSLSystem":
        """A copy that scores with ``test_text=mode`` (network and audio cache shared; the
        backends refitted on ``train``, whose embeddings change with the mode too)."""
        other = copy.copy(self)
        other.config = dataclasses.replace(self.config, test_text=mode)
        return other.fit_backends(train)

    def audio_embedding(self, clips: pd.DataFrame) -> np.ndarray:
        """The audio embedding alone, whatever ``test_text`` says (for maps)."""
        return super().embed(clips)

    def _extra_backends(self, train: pd.DataFrame) -> dict[str, tuple[object, str]]:
        cfg = self.config
        return {"kmeans": (KMeansTargetBackend(cfg.n_centres, seed=cfg.seed, n_folds=cfg.kmeans_folds,
                                               source_train_scores=cfg.kmeans_source_train_scores), "embedding")}

    def attention_weights(self, clips: pd.DataFrame, max_clips: int = 64) -> pd.DataFrame:
        """Mean frequency-attention gain per STFT bin and machine type (first crop of up to
        ``max_clips`` clips per type): what the attention learnt to emphasise (gain > 1) or
        suppress (< 1). Empty without frequency attention."""
        self._check_fitted()
        net = self.model_.backbone
        if net.attention is None:
            return pd.DataFrame(columns=["machine_type", "frequency_hz", "gain"])
        rows = []
        with torch.no_grad():
            net.eval()
            for mtype, sub in clips.groupby("machine_type"):
                waves = [covering_crops(clip_audio(p, self.config.sample_rate), self.config.network.n_samples)[0]
                         for p in sub["path"].head(max_clips)]
                net(torch.from_numpy(np.stack(waves)).to(self.device_))
                gains = net.attention.last_weights.mean(0).cpu().numpy()
                rows.append(pd.DataFrame({"machine_type": mtype, "frequency_hz": net.frequencies(), "gain": gains}))
        return pd.concat(rows, ignore_index=True)


def run_in_folder(run, folder: str, config: SSLSystemConfig, clips: pd.DataFrame, label_source=None,
                  resume: bool = True, progress: bool = True, extra_train: pd.DataFrame | None = None):
    """Fit (or resume / load) System-3 in ``<run>/<folder>/`` and evaluate every backend there;
    ``extra_train``: train clips of further types that train the network only."""
    from asdlib.systems.embedding import run_system

    det = SSLSystem(config, label_source=label_source, checkpoint_dir=Path(run.root) / folder / "weights",
                    progress=progress, resume=resume)
    return det, run_system(det, clips, run.root / folder, extra_train=extra_train)
