"""One training loop for every learned system: seeded, resumable, one checkpoint rule.

A system brings its model, its optimiser and a function that runs one epoch; this loop
does the rest, the same way for the baseline autoencoder, Systems 1-2 and System-3::

    result = train(model, optimizer, epochs=10, run_epoch=one_epoch,
                   checkpoint=run.path("weights", "model.pt"), fingerprint={...})
    result.history        # one dict per epoch: epoch, seconds, and what run_epoch returned

``run_epoch(epoch, tick)`` trains one epoch (``epoch`` counts from 0) and returns that
epoch's history entry (losses, accuracy, ...); it calls ``tick(**postfix)`` after every
optimiser step so the progress bar moves while a long epoch runs.

**Checkpoints.** After every epoch the loop writes (atomically) the model, the optimiser,
the history, the state of ``generator`` (the system's shuffling generator, if it keeps one)
and a **fingerprint**: every setting and data hash that must match for the checkpoint to be
continued (the system's config without ``epochs``, the training data, the classes).
A checkpoint is **weights-only**: ``torch.save`` of a dict of tensors, state dicts, numbers
and strings (the fingerprint and the history as JSON text), read with
``torch.load(weights_only=True)``, so reading one runs no code from it.
Called again, the loop resumes from it, so an interrupted run ends with the weights of an
uninterrupted one; a finished run is loaded, not retrained; a finished 10-epoch run can be
extended to 20. One rule for every checkpoint that cannot be continued (another
fingerprint, more epochs than asked, an unreadable or older-format file (a pickled
checkpoint of an older asdlib is not unpickled), or ``resume=False``):
it is **moved aside** to ``<name>.stale.pt`` (``.stale-2.pt``, ... when taken) with a warning
naming the reason, and training starts afresh. Nothing is silently overwritten.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from asdlib.runtime import progress_enabled

#: Version of the checkpoint layout; a file of another version is moved aside, never read.
#: 3: weights-only (fingerprint and history as JSON text); 2 and before pickled them.
CHECKPOINT_FORMAT = 3


@dataclass
class TrainingResult:
    """What ``train`` returns (the model and optimiser were trained in place)."""

    history: list[dict] = field(default_factory=list)
    epochs_done: int = 0
    resumed_from: int = 0  # epochs found in the checkpoint when this call started
    seconds: float = 0.0  # training time spent in this call


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def _json_number(value: Any) -> Any:
    """A numpy number (a history entry's loss) as the Python number of the same value."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    raise TypeError(f"a history entry holds a {type(value).__name__}, which a checkpoint cannot keep")


def differences(old: Mapping, new: Mapping, prefix: str = "") -> list[str]:
    """Dotted names of the entries in which two (nested) fingerprints differ."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}")
    return out


def move_aside(path: Path, reason: str) -> Path:
    """Rename a checkpoint that will not be continued to a free ``<stem>.stale[-n].pt`` and warn."""
    n = 1
    while True:
        stale = path.with_name(f"{path.stem}.stale{'' if n == 1 else f'-{n}'}{path.suffix}")
        if not stale.exists():
            break
        n += 1
    os.replace(path, stale)
    warnings.warn(f"{path}: {reason}; moved to {stale.name}, training from scratch", stacklevel=3)
    return stale


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """A checkpoint written by ``train``, read weights-only (``torch.load(weights_only=True)``:
    a file holding anything but tensors and plain values, e.g. a pickled checkpoint of an
    older asdlib or a planted object, is refused without running it), with its fingerprint
    and history decoded. Raises ``RuntimeError`` naming the file otherwise."""
    import pickle

    path = Path(path)
    try:
        with warnings.catch_warnings():  # torch's note on a pickle protocol it does not expect: refused below anyway
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise RuntimeError(f"{path}: not a weights-only checkpoint (written by an older asdlib, or not by asdlib); "
                           "it is not unpickled, since that could run code it holds") from None
    except Exception as exc:
        raise RuntimeError(f"{path}: cannot read the checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        found = state.get("format") if isinstance(state, dict) else "?"
        raise RuntimeError(f"{path}: not an asdlib checkpoint of format {CHECKPOINT_FORMAT} (found {found})")
    try:
        return {**state, "fingerprint": json.loads(state["fingerprint"]), "history": json.loads(state["history"])}
    except (KeyError, TypeError, ValueError) as exc:
        raise RuntimeError(f"{path}: a damaged checkpoint ({type(exc).__name__}: {exc})") from None


def _usable_checkpoint(path: Path | None, fingerprint: dict, epochs: int, resume: bool,
                       map_location) -> dict | None:
    """The checkpoint to continue, or None (after moving an unusable one aside)."""
    if path is None or not path.is_file():
        return None
    if not resume:
        move_aside(path, "resume=False (restart) was asked")
        return None
    try:
        state = load_checkpoint(path, map_location)
    except RuntimeError as exc:
        move_aside(path, str(exc).split(": ", 1)[-1])
        return None
    if state["fingerprint"] != fingerprint:
        what = differences(state["fingerprint"], fingerprint)
        move_aside(path, f"made with other data or settings (differs: {', '.join(what) or '?'})")
        return None
    if int(state["epoch"]) > epochs:
        move_aside(path, f"holds {state['epoch']} epochs, more than the {epochs} asked for")
        return None
    return state


def train(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    run_epoch: Callable[[int, Callable[..., None]], dict],
    *,
    fingerprint: Mapping[str, Any],
    checkpoint: str | Path | None = None,
    resume: bool = True,
    generator: torch.Generator | None = None,
    steps_per_epoch: int | None = None,
    progress: bool = True,
    desc: str = "training",
    on_epoch_end: Callable[[int, dict], None] | None = None,
    max_epochs_this_call: int | None = None,
) -> TrainingResult:
    """Train ``model`` for ``epochs`` epochs with ``run_epoch``, checkpointing after each.

    ``fingerprint``: JSON-able description of everything but ``epochs`` that the trained
    weights depend on. ``generator``: a torch generator whose state is saved and restored
    with the checkpoint (for systems that shuffle with one running generator; systems that
    derive each epoch's randomness from ``(seed, epoch)`` need none). ``steps_per_epoch``
    sizes the progress bar (optimiser steps; None: one tick per epoch).
    ``max_epochs_this_call`` stops early (a later call resumes). ``on_epoch_end(epoch,
    entry)`` is called after every epoch (1-based epoch).
    """
    fingerprint = _jsonable(dict(fingerprint))
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    device = next(model.parameters()).device
    state = _usable_checkpoint(checkpoint, fingerprint, epochs, resume, device)
    history: list[dict] = []
    start = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if generator is not None and state.get("generator") is not None:
            generator.set_state(state["generator"])
        history = list(state["history"])
        start = int(state["epoch"])
    stop = epochs if max_epochs_this_call is None else min(epochs, start + max_epochs_this_call)

    bar = None
    per_epoch = steps_per_epoch or 1
    if stop > start:
        from tqdm import tqdm  # plain text bar: readable in a terminal and in papermill's log

        # a refresh every few seconds, not every step: executed notebooks keep every line;
        # ASD_PROGRESS=0 (the book's build) draws none (asdlib.runtime.progress_enabled)
        bar = tqdm(total=epochs * per_epoch, initial=start * per_epoch, desc=desc, leave=False,
                   mininterval=3.0, unit="step" if steps_per_epoch else "epoch",
                   disable=not progress_enabled(progress))

    def tick(**postfix) -> None:
        if bar is not None and steps_per_epoch:
            bar.update(1)
            if postfix:
                bar.set_postfix(postfix, refresh=False)

    t_call = time.perf_counter()
    try:
        for epoch in range(start, stop):
            t0 = time.perf_counter()
            model.train()
            entry = {"epoch": epoch + 1, **run_epoch(epoch, tick), "seconds": time.perf_counter() - t0}
            history.append(entry)
            if checkpoint is not None:
                _save(checkpoint, {
                    "format": CHECKPOINT_FORMAT, "fingerprint": json.dumps(fingerprint), "epoch": epoch + 1,
                    "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                    "optimizer": optimizer.state_dict(),
                    "generator": generator.get_state() if generator is not None else None,
                    "history": json.dumps(history, default=_json_number),
                })
            if bar is not None and not steps_per_epoch:
                bar.update(1)
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, entry)
    finally:
        if bar is not None:
            bar.close()
    model.eval()
    return TrainingResult(history=history, epochs_done=len(history), resumed_from=start,
                          seconds=time.perf_counter() - t_call)


def _save(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: an interruption never leaves half a checkpoint
