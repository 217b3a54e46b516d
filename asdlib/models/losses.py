"""Training losses of the classifier systems: an ArcFace margin head and a supervised contrastive loss.

* :class:`ArcMarginHead` — ArcFace (Deng et al., CVPR 2019) as used by the seed group's
  STgram-MFN (margin 0.7, scale 30): class centres on the unit sphere, logits
  ``s * cos(theta_c)``, and for the true class ``s * cos(theta_y + m)``. The margin is a
  training device only; scoring uses the margin-free logits (:meth:`ArcMarginHead.logits`).
* :func:`supervised_contrastive_loss` — SupCon (Khosla et al., NeurIPS 2020, the
  ``L_out`` form) on L2-normalised embeddings: every clip in a batch is pulled towards the
  clips that share its label and pushed from the others,

      L = mean over anchors i with >= 1 positive of
          -1/|P(i)| * sum_{p in P(i)} log( exp(z_i.z_p / tau) / sum_{a != i} exp(z_i.z_a / tau) ).

  Anchors without a positive in the batch contribute nothing (their term is undefined).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ArcMarginHead(nn.Module):
    """ArcFace classification head: ``(B, dim)`` embeddings -> ``(B, n_classes)`` logits.

    ``forward(emb, labels)`` adds the angular margin ``m`` to each row's true class (for
    the loss); ``logits(emb)`` gives ``s * cos`` without any margin (for scoring). The
    usual ArcFace guard keeps the target logit monotonic when ``theta + m > pi``
    (``cos(theta + m)`` replaced by ``cos(theta) - m sin(m)`` there).
    """

    def __init__(self, embedding_dim: int, n_classes: int, margin: float = 0.7, scale: float = 30.0):
        super().__init__()
        if n_classes < 1:
            raise ValueError(f"ArcMarginHead needs at least one class, got {n_classes}")
        self.n_classes, self.margin, self.scale = int(n_classes), float(margin), float(scale)
        self.weight = nn.Parameter(torch.empty(n_classes, embedding_dim))
        nn.init.xavier_uniform_(self.weight)
        self._cos_m, self._sin_m = math.cos(margin), math.sin(margin)
        self._threshold = math.cos(math.pi - margin)
        self._mm = math.sin(math.pi - margin) * margin

    def cosine(self, emb: torch.Tensor) -> torch.Tensor:
        """``(B, n_classes)`` cosine between each embedding and each class centre."""
        return F.linear(F.normalize(emb, dim=1), F.normalize(self.weight, dim=1))

    def logits(self, emb: torch.Tensor) -> torch.Tensor:
        """Margin-free logits ``s * cos(theta)``: what scoring and accuracy use."""
        return self.scale * self.cosine(emb)

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = self.cosine(emb).clamp(-1.0, 1.0)
        sin = torch.sqrt((1.0 - cos * cos).clamp(min=1e-12))
        phi = cos * self._cos_m - sin * self._sin_m  # cos(theta + m)
        phi = torch.where(cos > self._threshold, phi, cos - self._mm)
        one_hot = F.one_hot(labels.long(), self.n_classes).to(cos.dtype)
        return self.scale * (one_hot * phi + (1.0 - one_hot) * cos)


def supervised_contrastive_loss(emb: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """SupCon loss of a batch (see module docstring); 0 when no clip has a positive.

    ``emb``: ``(B, dim)`` (normalised here); ``labels``: ``(B,)`` integer classes.
    """
    if emb.dim() != 2 or labels.dim() != 1 or emb.shape[0] != labels.shape[0]:
        raise ValueError(f"expected emb (B, dim) and labels (B,), got {tuple(emb.shape)} and {tuple(labels.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    n = emb.shape[0]
    z = F.normalize(emb, dim=1)
    sim = z @ z.T / temperature
    self_mask = torch.eye(n, dtype=torch.bool, device=emb.device)
    sim = sim.masked_fill(self_mask, float("-inf"))  # a clip is never its own contrast
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = positives.sum(dim=1)
    anchors = n_pos > 0
    if not anchors.any():
        return emb.sum() * 0.0  # keeps the graph: a batch of singletons adds no gradient
    pos_log_prob = log_prob.masked_fill(~positives, 0.0).sum(dim=1)
    return -(pos_log_prob[anchors] / n_pos[anchors]).mean()


# --------------------------------------------------------------------------- System-3 (Wilkinghoff's SSL)
# Sub-cluster AdaCos, mixup and feature exchange as in wilkinghoff/ssl4asd (ICASSP 2024),
# re-written in PyTorch. His training (main_statex+featex.py): mixup on the waveforms; one
# sub-cluster AdaCos head with fixed centres on the C original classes (mixup targets) and
# one with trainable centres on the classes feature exchange makes; loss weights 1 and 1.
# His script also applies statistics exchange (StatEx) to the spectrogram first, which
# triples the classes before FeatEx triples them again (9C); StatEx is not reproduced here.
# His 2024 code (wilkinghoff/dcase2024_task2) drops StatEx: FeatEx gives 3C classes there.


class SubClusterAdaCos(nn.Module):
    """Sub-cluster AdaCos loss: ``n_classes x n_subclusters`` centres and an adaptive scale.

    Follows ``SCAdaCos`` of ssl4asd's ``subcluster_adacos.py``:

    * ``C*K`` centres (Glorot-uniform start), compared with the embedding by cosine; row
      ``c*K + k`` is sub-cluster ``k`` of class ``c``. ``trainable=False`` (his head on the
      original classes) keeps them at their random start — a buffer, saved with the model,
      never seen by the optimiser; ``trainable=True`` (his feature-exchange head) learns them.
    * ``P(class c) = sum_k softmax(s * cos)_{c,k}`` over all ``C*K`` centres; the loss is the
      cross-entropy with the targets (class indices, or soft rows such as mixup's),
      ``-sum_c y_c log P_c``, averaged over the batch.
    * The scale starts at ``sqrt(2) * ln(C*K - 1)``. In training mode each batch first updates
      it (no gradient) and then uses the new value::

          B_avg   = mean_i sum_j exp(s cos_ij)                  (all C*K centres, target included)
          theta_i = nnz(y_i) * sum_{c,k} y_ic * theta_{i,c,k}    (theta = arccos(cos))
          s      <- ln(B_avg) / cos(min(pi/4, median_i theta_i)) + 1e-7

      This is his code, quirks included: ``theta_i`` *sums* the angles to the K sub-clusters
      of the target class (times the number of non-zero targets, to undo mixup's weights),
      so with K = 16 the median nearly always exceeds pi/4 and ``s ~ sqrt(2) ln(B_avg)``.

    Deviations: the median is ``torch.median`` (the lower middle value for an even batch;
    TensorFlow-Probability's ``percentile(50)`` picks the same one for batch sizes divisible
    by 4, such as his 64); log-probabilities are exact (log-sum-exp) where Keras clips the
    probabilities to ``[1e-7, 1 - 1e-7]``. ``logits(emb)`` gives the margin-free per-class
    logits ``ln sum_k exp(s cos_{c,k})`` for scoring (their log-softmax is ``ln P_c``).
    """

    def __init__(self, embedding_dim: int, n_classes: int, n_subclusters: int = 16, trainable: bool = False):
        super().__init__()
        if n_classes < 1 or n_subclusters < 1 or n_classes * n_subclusters < 3:
            raise ValueError(f"SubClusterAdaCos needs n_classes * n_subclusters >= 3 (the scale starts at "
                             f"sqrt(2) ln(C*K - 1)), got {n_classes} x {n_subclusters}")
        self.n_classes, self.n_subclusters = int(n_classes), int(n_subclusters)
        centres = nn.init.xavier_uniform_(torch.empty(n_classes * n_subclusters, embedding_dim))
        if trainable:
            self.centres = nn.Parameter(centres)
        else:
            self.register_buffer("centres", centres)
        self.register_buffer("scale", torch.tensor(math.sqrt(2.0) * math.log(n_classes * n_subclusters - 1)))

    def cosine(self, emb: torch.Tensor) -> torch.Tensor:
        """``(B, C, K)`` cosine between each embedding and each sub-cluster centre."""
        cos = F.normalize(emb, dim=1) @ F.normalize(self.centres, dim=1).T
        return cos.view(-1, self.n_classes, self.n_subclusters)

    def logits(self, emb: torch.Tensor) -> torch.Tensor:
        """Margin-free class logits ``(B, C)``: what scoring and accuracy use."""
        return torch.logsumexp(self.scale * self.cosine(emb), dim=2)

    def forward(self, emb: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if targets.dim() == 1:
            y = F.one_hot(targets.long(), self.n_classes).to(emb.dtype)
        elif targets.shape == (emb.shape[0], self.n_classes):
            y = targets.to(emb.dtype)
        else:
            raise ValueError(f"targets must be (B,) class indices or (B, {self.n_classes}) soft rows, "
                             f"got {tuple(targets.shape)} for {emb.shape[0]} embeddings")
        cos = self.cosine(emb)
        if self.training:
            self._update_scale(cos.detach(), y)
        class_logits = torch.logsumexp(self.scale * cos, dim=2)
        log_p = class_logits - torch.logsumexp(class_logits, dim=1, keepdim=True)
        return -(y * log_p).sum(dim=1).mean()

    @torch.no_grad()
    def _update_scale(self, cos: torch.Tensor, y: torch.Tensor) -> None:
        theta = torch.acos(cos.clamp(-1.0 + 1e-7, 1.0 - 1e-7))
        theta_class = (y.unsqueeze(-1) * theta).sum(dim=(1, 2)) * (y != 0).sum(dim=1)
        theta_med = theta_class.median().clamp(max=math.pi / 4)
        log_b_avg = torch.logsumexp((self.scale * cos).flatten(), dim=0) - math.log(cos.shape[0])
        self.scale.copy_(log_b_avg / torch.cos(theta_med) + 1e-7)


def mixup(x: torch.Tensor, y: torch.Tensor, p: float = 0.5,
          generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Wilkinghoff's mixup (``mixup_layer.py``): with probability ``p`` a clip becomes
    ``lam * x_i + (1 - lam) * x_j``, targets likewise, ``lam ~ U(0, 1)`` per clip.

    The partner ``j`` of clip ``i`` is ``B - 1 - i`` (the batch reversed), as in his code.
    ``x``: any ``(B, ...)`` batch (he mixes waveforms); ``y``: ``(B, C)`` one-hot or soft.
    """
    if y.dim() != 2 or y.shape[0] != x.shape[0]:
        raise ValueError(f"mixup expects x (B, ...) and one-hot/soft targets (B, C), "
                         f"got {tuple(x.shape)} and {tuple(y.shape)}")
    n = x.shape[0]
    lam = torch.rand(n, generator=generator, device=x.device, dtype=x.dtype)
    mixed = torch.rand(n, generator=generator, device=x.device) < p
    lam = torch.where(mixed, lam, torch.ones_like(lam))
    lx = lam.view(-1, *([1] * (x.dim() - 1)))
    ly = lam.view(-1, 1).to(y.dtype)
    return lx * x + (1 - lx) * x.flip(0), ly * y + (1 - ly) * y.flip(0)


def feature_exchange(fft_emb: torch.Tensor, spec_emb: torch.Tensor, targets: torch.Tensor, p: float = 0.5,
                     generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """FeatEx (Wilkinghoff, ssl4asd ``openl3_idea_aug_layer_classwise.py``): a clip keeps its
    FFT-branch embedding but, with probability ``p``, takes its partner's spectrogram-branch one.

    Returns the embedding ``[fft, spec]`` ``(B, d_fft + d_spec)`` and targets ``(B, 3C)``:
    a kept clip ``i`` is ``[y_i, 0, 0]``; an exchanged one ``[0, y_i / 2, y_j / 2]`` — half
    on "class of the FFT part" (block 2), half on "class of the spectrogram part" (block 3),
    so the label space grows from C to exactly 3C. The partner ``j`` is ``B - 1 - i`` as in
    his code (in an odd batch the middle clip is its own partner: its features stay, its
    targets still move to blocks 2 and 3). His ``prob`` is the chance to *keep*; ``p`` here
    is the chance to exchange (both 0.5). Training only: evaluation uses the plain embedding.
    """
    n = fft_emb.shape[0]
    if spec_emb.shape[0] != n or targets.dim() != 2 or targets.shape[0] != n:
        raise ValueError(f"feature_exchange expects (B, .) embeddings and (B, C) targets, got "
                         f"{tuple(fft_emb.shape)}, {tuple(spec_emb.shape)}, {tuple(targets.shape)}")
    swap = (torch.rand(n, generator=generator, device=fft_emb.device) < p).unsqueeze(1)
    spec = torch.where(swap, spec_emb.flip(0), spec_emb)
    zeros = torch.zeros_like(targets)
    kept = torch.cat([targets, zeros, zeros], dim=1)
    exchanged = torch.cat([zeros, 0.5 * targets, 0.5 * targets.flip(0)], dim=1)
    return torch.cat([fft_emb, spec], dim=1), torch.where(swap, exchanged, kept)
