"""Every detector of the book, each a ``Detector`` (``fit`` / ``score`` / ``decide``):

- ``reference``: yardsticks on clip-mean log-mel (they calibrate the generator);
- ``baselines``: the official AE-MSE and AE-MAHALA;
- ``embedding``: the base of every learned system (embed -> backend -> threshold) and
  ``run_system`` (fit once, evaluate every backend);
- ``classifier``: Systems 1 and 2 (one detector, two label sources);
- ``ssl``: System-3 (Wilkinghoff's backbone, frequency attention, label text).
"""
