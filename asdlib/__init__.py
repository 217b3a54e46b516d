"""asdlib: the thin library behind the ASD research book.

The book's notebooks teach; this package computes. Its modules sit in layers, lower ones
never importing higher ones (the table in CONTRIBUTING.md, enforced by tests/test_layers.py):
paths/runtime/profiles -> data/runs/synth -> audio/features/metrics -> training/losses/
backends -> models/clustering -> labels/detect -> systems -> results -> experiment; viz draws.
"""

__version__ = "0.1.0"
