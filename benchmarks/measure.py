"""What the benchmarks share: the peak memory of a process tree while a block runs."""

from __future__ import annotations

import threading

import psutil


class PeakMemory:
    """Peak RSS (MB) of this process and all its children while the block runs (only the
    children with ``children_only``: a command run in its own process). Sampled every 20 ms,
    so a peak shorter than that can be missed."""

    def __init__(self, children_only: bool = False):
        self.children_only = children_only

    def __enter__(self):
        self.peak, self._stop = 0.0, threading.Event()
        me = psutil.Process()

        def sample():
            while not self._stop.is_set():
                total = 0
                for p in ([] if self.children_only else [me]) + me.children(recursive=True):
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total / 2**20)
                self._stop.wait(0.02)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main(argv=None) -> int:
    """``python benchmarks/measure.py [--json FILE] -- COMMAND ...``: run a command, print its
    wall time and the peak RSS of its whole process tree (kernels, worker processes)."""
    import argparse
    import json
    import subprocess
    import sys
    import time

    ap = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write {command, seconds, peak_rss_mb, returncode} here")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("give the command to measure after --")
    with PeakMemory(children_only=True) as mem:
        t0 = time.perf_counter()
        rc = subprocess.call(cmd)
        seconds = time.perf_counter() - t0
    row = {"command": " ".join(cmd), "seconds": round(seconds, 1), "peak_rss_mb": round(mem.peak),
           "returncode": rc}
    print(f"measure: {row['seconds']} s, peak RSS of the process tree {row['peak_rss_mb']} MB, exit {rc}",
          file=sys.stderr)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(row, fh, indent=2)
            fh.write("\n")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
