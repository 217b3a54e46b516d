"""Pseudo-labels for machine types whose attributes are hidden.

- ``statistical``: ``StatisticalClusters``, a scikit-learn estimator over per-clip statistics;
- ``quality``: clusters against the (hidden) truth: ARI/NMI, designs compared, group ablation;
- ``projection``: UMAP / PCA maps (compute only; ``viz`` draws them).
"""

from asdlib.clustering.statistical import FAILED, StatisticalClusters, pseudo_labels
