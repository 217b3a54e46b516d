"""Neural models of the book, one readable module per model.

- ``autoencoder``: the official DCASE 2024 Task 2 baseline autoencoder (AE-MSE / AE-MAHALA).
"""

from .autoencoder import (
    AutoencoderConfig,
    DenseAutoencoder,
    TrainedAutoencoder,
    build_autoencoder,
    load_checkpoint,
    load_model,
    train_autoencoder,
)

__all__ = [
    "AutoencoderConfig",
    "DenseAutoencoder",
    "TrainedAutoencoder",
    "build_autoencoder",
    "load_checkpoint",
    "load_model",
    "train_autoencoder",
]
