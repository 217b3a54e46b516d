"""Profiles: every size that depends on how big a run is, in one table.

A profile names one scale of the whole book: the generated dataset, the baselines'
training and the learned systems' training. Every config reads its sizes here (through
``sizes(profile, part)``) and nothing else hard-codes them:

- ``ci``: seconds per chapter, for the tests and nbval (the notebooks' default);
- ``demo``: the book on 2 CPU cores (``make book``);
- ``full``: DCASE sizes of data (990 + 10 train clips per type, 10-s clips), shortened
  training of the learned systems on CPU;
- ``paper``: the report's / official settings everywhere (a GPU run); its data are
  ``full``-sized.

A part that a profile does not list keeps its config's defaults (the official values).
"""

from __future__ import annotations

from typing import Any

PROFILES = ("ci", "demo", "full", "paper")

_SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "ci": {
        "data": dict(clip_seconds=2.0, n_train_source=30, n_train_target=5, n_test=6),
        # seconds per machine type
        "autoencoder": dict(epochs=10, max_train_vectors=2048),
        # lr 1e-3 and one torch thread: within a few hundred steps lr 1e-4 lowers the ArcFace
        # loss far more slowly (benchmarks/bench_systems12.py --parts lr); one thread is robust
        # on a shared 2-core machine and reproducible (the thread count changes last digits)
        "classifier": dict(encoder_size="compact", crop_seconds=1.0, batch_size=32, epochs=3,
                           learning_rate=1e-3, num_threads=1),
        # System-3: a quarter-width backbone, one residual unit per stage, 1-s inputs
        "ssl": dict(network_width=0.25, network_blocks_per_stage=1, network_n_samples=19200,
                    network_n_subclusters=4, batch_size=32, epochs=3, num_threads=1),
    },
    "demo": {
        "data": dict(clip_seconds=5.0, n_train_source=190, n_train_target=10, n_test=25),
        # ~580 optimiser steps per type (BatchNorm statistics settle)
        "autoencoder": dict(epochs=20, max_train_vectors=8192),
        "classifier": dict(encoder_size="compact", crop_seconds=1.0, batch_size=64, epochs=10,
                           learning_rate=1e-3, num_threads=1),
        # System-3: 1-s inputs at 19.2 kHz, a quarter-width backbone, 6 epochs (~130 steps)
        "ssl": dict(network_width=0.25, network_blocks_per_stage=1, network_n_samples=19200,
                    batch_size=64, epochs=6, num_threads=1),
    },
    "full": {
        "data": dict(clip_seconds=10.0, n_train_source=990, n_train_target=10, n_test=50),
        "autoencoder": {},
        "classifier": dict(crop_seconds=2.0, batch_size=64, epochs=30),
        "ssl": dict(network_width=0.5, network_n_samples=192000),
    },
    "paper": {
        "data": dict(clip_seconds=10.0, n_train_source=990, n_train_target=10, n_test=50),
        "autoencoder": {},
        "classifier": {},
        "ssl": {},
    },
}

#: The generated dataset each profile runs on (``paper`` uses the ``full``-sized data).
DATA_PROFILE = {"ci": "ci", "demo": "demo", "full": "full", "paper": "full"}


def check(profile: str) -> str:
    """``profile`` itself, or a ValueError naming the known ones."""
    if profile not in _SIZES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {list(PROFILES)}")
    return profile


def sizes(profile: str, part: str) -> dict[str, Any]:
    """The sizes ``part`` (``data``, ``autoencoder``, ``classifier``, ...) uses at ``profile``
    (a copy: the caller may add its overrides)."""
    table = _SIZES[check(profile)]
    if part not in table:
        raise KeyError(f"profiles list no sizes for {part!r}; known parts: {sorted(table)}")
    return dict(table[part])


def data_profile(profile: str) -> str:
    """The generated dataset a profile's chapters run on by default."""
    return DATA_PROFILE[check(profile)]
