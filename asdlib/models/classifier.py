"""The network of Systems 1 and 2: the STgram encoder and an ArcFace head.

The encoder maps a waveform to an embedding (``models.stgram``); the head (``ArcMarginHead``,
``models.losses``) scores it against one centre per class during training only. Which classes
(pseudo-labels, attributes, domains) is the label source's business (``systems.labels``).
"""

from __future__ import annotations

import torch

from asdlib.models.losses import ArcMarginHead
from asdlib.models.stgram import EncoderConfig, STgramEncoder


class ClassifierNet(torch.nn.Module):
    """STgram encoder + ArcFace head: ``forward(wave)`` is the embedding; ``head`` the training logits."""

    def __init__(self, encoder: EncoderConfig, n_classes: int, margin: float, scale: float):
        super().__init__()
        self.encoder = STgramEncoder(encoder)
        self.head = ArcMarginHead(encoder.embedding_dim, n_classes, margin, scale)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.encoder(wave)

    def constructor_arguments(self) -> dict:
        """What ``ClassifierNet(**...)`` rebuilds this network's layers from (a saved
        detector holds these and the ``state_dict``: ``asdlib.systems.state``)."""
        return {"encoder": self.encoder.config, "n_classes": self.head.n_classes, "margin": self.head.margin,
                "scale": self.head.scale}
