"""How detectors are judged: the official metrics (AUC per domain, pAUC, harmonic means),
bootstrap intervals, submission files, and the seed report's published Table 1.

- ``metrics``: official scores and submission CSVs;
- ``published``: the report's Table 1 as published (real DCASE 2024 dev set);
- ``submission``: a submission folder scored against the ground truth (``asd evaluate``).
"""
