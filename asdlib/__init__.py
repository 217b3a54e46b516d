"""asdlib: the thin library behind the anomalous-sound-detection book.

The book's chapters teach; this package computes. Its packages follow the data, and a
package imports only those before it in ``PIPELINE`` (``tests/test_layers.py`` checks that,
and that no two modules import each other in a circle):

    paths, runtime, profiles   where things live; device, seeds, provenance; every profile size
    data        the DCASE layout: names, WAV reading, scan = load, ground truth, import, download
    synth       the embedded synthetic data set (the book's benchmark)
    features    log-mel front end and its cache, waveform crops, per-clip statistics
    clustering  statistical pseudo-labels, their quality, UMAP/PCA maps
    evaluation  official metrics, submission files, the published Table 1
    models      one network per file (and the losses); no training schedules
    systems     every detector (fit / score / decide): training, labels, back ends, Systems 1-4
    viz         draws only
    book        the only package that knows chapters, run folders, studies and the runner

``asd`` (``asdlib/__main__.py``) is the one command.
"""

__version__ = "0.1.0"

#: The packages in data-flow order: each imports only itself and those before it.
PIPELINE = ("paths", "runtime", "profiles", "data", "synth", "features", "clustering", "evaluation", "models",
            "systems", "viz", "book")
