"""Neural models of the book, one readable module per model.

- ``autoencoder``: the official DCASE 2024 Task 2 baseline autoencoder (AE-MSE / AE-MAHALA);
- ``stgram``: the STgram encoder of Systems 1 and 2;
- ``ssl``: the two-branch backbone of System-3.
"""

from .autoencoder import AutoencoderConfig, DenseAutoencoder, TrainedAutoencoder, build_autoencoder, train_autoencoder

__all__ = ["AutoencoderConfig", "DenseAutoencoder", "TrainedAutoencoder", "build_autoencoder", "train_autoencoder"]
