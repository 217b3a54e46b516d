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
