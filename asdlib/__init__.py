"""asdlib: the thin library behind the ASD research book.

The book's notebooks teach; this package computes. Layers (lower never import higher):
paths -> data -> features -> clustering / models / losses -> backends -> systems
-> metrics -> experiment; viz draws.
"""

__version__ = "0.1.0"
