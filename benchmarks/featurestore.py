"""Log-mels of a whole dataset in one memory-mapped array, computed in bounded memory.

Not part of ``asdlib``: the book's detectors all read one log-mel cache, the per-clip cache of
``asdlib.features.logmel``. This store is what ``bench_features.py`` measures as the way to
the full DCASE set's size (its numbers are quoted by the appendix chapter ``10_scale``);
``python benchmarks/featurestore.py --help`` builds one from the command line.

``features.clip_logmels`` returns every clip's log-mel as an in-memory list: right for the
book's demo data, not for the full DCASE set (8 400 clips of 10 s: 1.35 GB of float32
log-mels, the additional set on top). ``logmel_store`` streams instead:

- the frames of every clip go one after the other into one ``.npy`` file on disk
  (``(total frames, n_mels)``), read back memory-mapped, so a reader touches only the
  clips it uses;
- the frame count of every clip is known from the file headers before any audio is read,
  so each worker process writes its clips straight to their place in the file
  (``os.pwrite``: nothing is mapped or gathered in memory), a chunk of clips at a time;
- ``workers`` processes (default: every core) share the clips; one torch thread each;
- ``float16`` by default: half the disk and page cache of float32; the difference is a
  rounding of at most ~0.03 dB at the levels log-mels take (``benchmarks/bench_features.py``
  measures it and shows the reference detectors' metrics unchanged);
- the store is keyed by every file (path, size, modification time), the log-mel settings
  and the dtype, built in a temporary folder and renamed into place only when complete:
  a second run reuses it, an interrupted or failed one never leaves a store that looks
  valid, and a changed file gives a new store.

Usage::

    store = logmel_store(clips.path, progress=True)    # built once, then reused
    store[i]                 # (n_mels, frames) float32 log-mel of clip i
    store.clip_means()       # (n_clips, n_mels), streamed
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from asdlib.data.layout import AudioError
from asdlib.features.logmel import LogMelConfig
from asdlib.paths import cache_root
from asdlib.runtime import progress_enabled

DTYPES = ("float16", "float32")
STORE_FORMAT = 1


def _frames(n_samples: int, config: LogMelConfig) -> int:
    """Frames of a centred STFT (``features.LogMel``) of ``n_samples`` samples."""
    return 1 + n_samples // config.hop_length


def expected_samples(path: str, config: LogMelConfig) -> int:
    """Samples ``data.load_audio`` returns for ``path`` at the config's rate, from the header alone."""
    import soundfile as sf

    if config.duration is not None:
        return int(round(config.duration * config.sample_rate))
    try:
        info = sf.info(path)
    except Exception as exc:  # noqa: BLE001 - soundfile raises several types
        raise AudioError(f"{path}: cannot read the audio header ({exc})") from exc
    if info.samplerate == config.sample_rate:
        return int(info.frames)
    return int(math.ceil(info.frames * config.sample_rate / info.samplerate))  # torchaudio's resampled length


def store_key(paths: Sequence[str], config: LogMelConfig, dtype: str) -> str:
    """What a store depends on: every file (absolute path, size, mtime), the settings, the dtype."""
    h = hashlib.sha1(json.dumps({"format": STORE_FORMAT, "config": asdict(config), "dtype": dtype}).encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"{os.path.abspath(p)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


class LogMelStore:
    """A finished store: ``len``, ``store[i]`` -> ``(n_mels, frames)`` float32, ``clip_means()``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        index = json.loads((self.folder / "index.json").read_text())
        self.paths: list[str] = index["paths"]
        self.offsets = np.asarray(index["offsets"], dtype=np.int64)
        self.config = LogMelConfig(**index["config"])
        self.dtype = index["dtype"]
        self.seconds = index.get("seconds")
        self.data = np.load(self.folder / "data.npy", mmap_mode="r")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> np.ndarray:
        return np.asarray(self.data[self.offsets[i]:self.offsets[i + 1]].T, dtype=np.float32)

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def clip_means(self, chunk: int = 256) -> np.ndarray:
        """``(n_clips, n_mels)`` temporal mean of every clip, read a chunk of clips at a time."""
        out = np.empty((len(self), self.data.shape[1]), dtype=np.float32)
        for start in range(0, len(self), chunk):
            stop = min(start + chunk, len(self))
            block = np.asarray(self.data[self.offsets[start]:self.offsets[stop]], dtype=np.float32)
            for i in range(start, stop):
                a, b = self.offsets[i] - self.offsets[start], self.offsets[i + 1] - self.offsets[start]
                out[i] = block[a:b].mean(axis=0)
        return out


def _write_chunk(args) -> list[str]:
    """Worker: log-mels of a chunk of clips written to their rows of ``data.npy`` (pwrite)."""
    import torch

    from asdlib.data.layout import load_audio
    from asdlib.features.logmel import LogMel

    data_file, header_bytes, items, config_dict, dtype, batch_size = args
    torch.set_num_threads(1)
    config = LogMelConfig(**config_dict)
    front = LogMel(config)
    row_bytes = config.n_mels * np.dtype(dtype).itemsize
    errors: list[str] = []
    fd = os.open(data_file, os.O_WRONLY)
    try:
        batch: list[tuple[str, int, int, np.ndarray]] = []

        def flush():
            if not batch:
                return
            with torch.no_grad():
                feats = front(torch.from_numpy(np.stack([w for *_, w in batch]))).numpy()
            for (path, start, n_frames, _), feat in zip(batch, feats):
                if feat.shape[1] != n_frames:
                    errors.append(f"{path}: {feat.shape[1]} frames, {n_frames} expected from its header")
                    continue
                os.pwrite(fd, np.ascontiguousarray(feat.T, dtype=dtype).tobytes(), header_bytes + start * row_bytes)
            batch.clear()

        for path, start, n_frames in items:
            try:
                wav = load_audio(path, sr=config.sample_rate, duration=config.duration)
            except AudioError as exc:
                errors.append(str(exc))
                continue
            if batch and (len(wav) != len(batch[0][3]) or len(batch) >= batch_size):
                flush()
            batch.append((path, start, n_frames, wav))
        flush()
    finally:
        os.close(fd)
    return errors


def logmel_store(paths: Iterable[str | Path], config: LogMelConfig = LogMelConfig(), dtype: str = "float16",
                 cache_dir: str | Path | None = None, workers: int | None = None, chunk: int = 64,
                 batch_size: int = 16, progress: bool = False) -> LogMelStore:
    """The log-mel store of ``paths`` (in order), built unless an identical one exists.

    ``dtype``: ``"float16"`` (default) or ``"float32"``. ``workers``: processes (default:
    the CPU count; 1 computes in this process). ``chunk``: clips per task (what a worker
    holds at once). Bad clips are all named in one ``AudioError`` and no store is left.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    paths = [str(p) for p in paths]
    if not paths:
        raise ValueError("logmel_store got no clips")
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(f"{len(missing)} clip(s) do not exist, e.g. {missing[:3]}")
    root = (Path(cache_dir) if cache_dir is not None else cache_root()) / "logmel-store"
    folder = root / store_key(paths, config, dtype)
    if (folder / "index.json").is_file():
        return LogMelStore(folder)

    t0 = time.perf_counter()
    frames = np.array([_frames(expected_samples(p, config), config) for p in paths], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(frames)])
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f"{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        data_file = tmp / "data.npy"
        arr = np.lib.format.open_memmap(data_file, mode="w+", dtype=dtype, shape=(int(offsets[-1]), config.n_mels))
        header_bytes = arr.offset
        del arr  # a sparse file of the right size; workers fill their rows
        items = [(p, int(offsets[i]), int(frames[i])) for i, p in enumerate(paths)]
        tasks = [(str(data_file), header_bytes, items[i:i + chunk], asdict(config), dtype, batch_size)
                 for i in range(0, len(items), chunk)]
        n_workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
        errors: list[str] = []
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(paths), desc="log-mel store", unit="clip", leave=False, mininterval=2.0,
                       disable=not progress_enabled(progress))
        if n_workers == 1:
            for task in tasks:
                errors += _write_chunk(task)
                if bar is not None:
                    bar.update(len(task[2]))
        else:
            import multiprocessing as mp

            with ProcessPoolExecutor(n_workers, mp_context=mp.get_context("spawn")) as pool:
                futures = {pool.submit(_write_chunk, task): len(task[2]) for task in tasks}
                for fut in as_completed(futures):
                    errors += fut.result()
                    if bar is not None:
                        bar.update(futures[fut])
        if bar is not None:
            bar.close()
        if errors:
            raise AudioError(f"{len(errors)} clip(s) could not be used (no store written):\n  " + "\n  ".join(errors))
        (tmp / "index.json").write_text(json.dumps({
            "format": STORE_FORMAT, "paths": paths, "offsets": offsets.tolist(), "config": asdict(config),
            "dtype": dtype, "seconds": round(time.perf_counter() - t0, 2), "workers": n_workers}))
        try:
            os.replace(tmp, folder)
        except OSError:  # a concurrent run finished the same store first
            if not (folder / "index.json").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return LogMelStore(folder)


def main(argv: Sequence[str] | None = None) -> int:
    """``python benchmarks/featurestore.py ROOT [ROOT ...]``: build (or find) the store of every clip."""
    import argparse
    import sys

    from asdlib.data.layout import clip_table

    ap = argparse.ArgumentParser(prog="python benchmarks/featurestore.py",
                                 description="Log-mels of every clip of DCASE-layout roots in one memory-mapped "
                                             "store (built once, reused; bounded memory).")
    ap.add_argument("roots", nargs="*", type=Path, help="DCASE-layout roots (<root>/<type>/<split>/*.wav)")
    ap.add_argument("--paths-from", type=Path, default=None, help="a text file of clip paths, one per line")
    ap.add_argument("--dtype", default="float16", choices=DTYPES)
    ap.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    ap.add_argument("--cache-dir", type=Path, default=None, help="default: ASD_CACHE_DIR or <repo>/.cache/asdlib")
    args = ap.parse_args(argv)
    paths: list[str] = []
    for root in args.roots:
        if not root.is_dir():
            ap.error(f"{root} is not a folder: give DCASE-layout roots (<root>/<type>/train/*.wav)")
        paths += clip_table(root).path.tolist()
    if args.paths_from is not None:
        paths += [line.strip() for line in args.paths_from.read_text().splitlines() if line.strip()]
    if not paths:
        ap.error("no clips: give DCASE-layout roots or --paths-from FILE")
    t0 = time.perf_counter()
    try:
        store = logmel_store(paths, dtype=args.dtype, cache_dir=args.cache_dir, workers=args.workers, progress=True)
    except (AudioError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{store.folder}: {len(store)} clips, {store.data.shape[0]} frames, {store.nbytes / 2**20:.0f} MB "
          f"{store.dtype}; {time.perf_counter() - t0:.1f} s (built in {store.seconds} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
