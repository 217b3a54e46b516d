"""How long ``asd scan`` (``asdlib.data.layout.scan_dataset``) takes on a generated data root.

The scan reads every clip once (``asdlib.data.wav.inspect_audio``: the loader's checked
reading, the sample checks and a hash of the decoded samples for the duplicate search), on
``SCAN_THREADS`` threads. Timed here: the whole scan (best of ``--repeat`` runs, the first
run apart since it may read from disk rather than the page cache), and the scan without
reading the audio (``check_content=False``: names, headers, file sizes), which is the part
of the cost that grows with the number of files rather than with their length.

    python benchmarks/bench_scan.py --profile demo [--root DIR] [--repeat 3] [--threads N]

Extrapolation to the full-size development set (7 types x 1100 clips of 10 s at 16 kHz,
16-bit: 7700 files, 2.46 GB of audio), which is **not measured here** (it could not be
generated while this was written): time = per-file part x (7700 / files) + per-byte part x
(2.46 GB / bytes), the per-file part being the scan without content and the per-byte part the
rest. The requirement is < 30 s on 2 cores.

Measured 2026-12-08, 2 cores shared with another long computation (load average 3-4, so
the numbers move by +-30 % from run to run; threads gain little on such a loaded machine):

- demo profile (2100 files of 5 s, 336 MB), 2 threads: best full scan 1.9 s (~1100
  files/s, ~175 MB/s), first run 2.7-3.3 s, without content 0.46-0.51 s; extrapolated to
  the full-size set: 12.2-12.3 s (13.2 s with one thread);
- a check of the extrapolation with 10-s clips (700 files, 224 MB: demo train clips joined
  in pairs, ``--root``): best 0.84-1.18 s (590-840 files/s), i.e. 9-13 s for 7700 such files.

So the full-size scan should take ~10-13 s when its files are in the page cache; first runs
were up to 1.5 x slower (start-up, and the disk when the files are not cached), ~20 s.
Inside the 30 s, but an extrapolation, not a measurement of the full-size set (which could
not be generated here).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from asdlib import paths  # noqa: E402
from asdlib.data import layout  # noqa: E402

FULL_FILES = 7 * 1100
FULL_BYTES = FULL_FILES * 10 * 16000 * 2  # 10-s clips, 16 kHz, 16-bit mono


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="demo", help="generated data set (asd synth --profile P)")
    parser.add_argument("--root", type=Path, default=None, help="a DCASE-layout root (default: the profile's)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after the first")
    parser.add_argument("--threads", type=int, default=None, help=f"override SCAN_THREADS ({layout.SCAN_THREADS})")
    args = parser.parse_args(argv)
    root = args.root or paths.data_root(args.profile)
    if not root.is_dir():
        print(f"{root} not found: generate it first (asd synth --profile {args.profile})", file=sys.stderr)
        return 2
    if args.threads:
        layout.SCAN_THREADS = args.threads
    wavs = [p for p in root.rglob("*.wav") if p.parent.name in ("train", "test")]
    n_files, n_bytes = len(wavs), sum(p.stat().st_size for p in wavs)
    t0 = time.perf_counter()
    scan = layout.scan_dataset(root, require_train=False)  # the first run: may read from disk
    first = time.perf_counter() - t0
    best = min(_time(lambda: layout.scan_dataset(root, require_train=False)) for _ in range(max(args.repeat, 1)))
    names = min(_time(lambda: layout.scan_dataset(root, require_train=False, check_content=False))
                for _ in range(max(args.repeat, 1)))
    per_file, per_byte = names / n_files, max(best - names, 0.0) / n_bytes
    full = per_file * FULL_FILES + per_byte * FULL_BYTES
    print(f"root: {root} ({n_files} files, {n_bytes / 1e6:.0f} MB), {layout.SCAN_THREADS} threads; "
          f"{len(scan.clips)} clips, {len(scan.problems)} problems")
    print(f"scan (first run):              {first:6.2f} s")
    print(f"scan (best of {args.repeat}):             {best:6.2f} s  {n_files / best:7.0f} files/s  "
          f"{n_bytes / 1e6 / best:6.0f} MB/s")
    print(f"scan without content (best):   {names:6.2f} s  {n_files / names:7.0f} files/s")
    print(f"extrapolated to the full-size development set ({FULL_FILES} files, {FULL_BYTES / 1e9:.2f} GB; "
          f"not measured): {full:.1f} s (requirement: < 30 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
