"""Every detector of the book, each a ``Detector`` (``fit`` / ``score`` / ``decide``):

- ``reference``: yardsticks on clip-mean log-mel (they calibrate the generator);
- ``baselines``: the official AE-MSE and AE-MAHALA (their autoencoder trained by ``ae_training``,
  their clip scores from residuals in ``ae_residuals``);
- ``embedding``: the base of every learned system (embed -> backend -> threshold) and
  ``run_system`` (fit once, evaluate every backend);
- ``classifier``: Systems 1 and 2 (one detector, two label sources);
- ``ssl``: System-3 (Wilkinghoff's backbone, frequency attention, label text).

``detect`` holds the interface and ``save_detector`` / ``load_detector``: a fitted detector as a
weights-only file (safetensors arrays + JSON), written and rebuilt by ``state``'s walk, so
loading a file runs no code from it; ``training`` is the one training loop, whose
checkpoints are weights-only too.
"""
