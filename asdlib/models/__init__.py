"""The networks of the book, one readable module per network, hyper-parameters in one dataclass,
no training schedule in here (that is each system's, in ``asdlib.systems``).

- ``autoencoder``: the official DCASE 2024 Task 2 baseline autoencoder (AE-MSE / AE-MAHALA);
- ``stgram``: the STgram encoder of Systems 1 and 2; ``classifier``: it with an ArcFace head;
- ``ssl``: System-3's two-branch backbone, frequency attention, text fusion (``SSLModel``);
- ``losses``: ArcFace, supervised contrastive, sub-cluster AdaCos, mixup, FeatEx.
"""

from asdlib.models.autoencoder import AutoencoderConfig, DenseAutoencoder, build_autoencoder

__all__ = ["AutoencoderConfig", "DenseAutoencoder", "build_autoencoder"]
