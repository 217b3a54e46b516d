"""Draws only: the plotly renderer, scatter and embedding maps, training curves, spectrograms."""

from asdlib.viz.figures import (BOOK_RENDERER, DEFAULT_RENDERER, SCORE_COLOURS, band_profile_figure, block_diagram,
                                embedding_maps, reference_levels, scatter_2d, score_histograms, setup_plotly,
                                spectrogram_explorer, training_curves)
