"""Chapters run side by side: which chapter waits for which, and the processes that run them.

``READS_RUNS_OF`` is the one table of which chapters read which other chapters' run folders;
``prerequisites`` turns a selection of chapters into what each must wait for, and
``run_in_dependency_order`` runs tasks in threads, a few at a time, each once its
prerequisites have ended (``study`` uses it for chapters x seeds). ``run_processes`` is
``run-all --workers N``: every chapter its own ``asd run`` process,
its output in a log file, the longest first among those ready, Ctrl-C passed on and, when
they do not end, escalated to SIGTERM and SIGKILL.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Mapping

from asdlib.paths import REPO_ROOT
from asdlib.book.chapters import READS_RUNS_OF
from asdlib.book.runs import _now, _rel, _write_json

__all__ = ["READS_RUNS_OF", "prerequisites", "run_in_dependency_order", "run_processes"]


def prerequisites(notebooks: Iterable[str | Path]) -> dict[str, tuple[str, ...]]:
    """For each selected notebook (a path or a stem), the selected notebooks it must run after
    (``READS_RUNS_OF``), in the order selected. A prerequisite that is not selected is not
    waited for: the chapter then reads that chapter's latest complete run."""
    stems = [Path(n).stem for n in notebooks]
    return {s: tuple(p for p in stems if p in READS_RUNS_OF.get(s, ()) and p != s) for s in stems}


def run_in_dependency_order(tasks: Iterable[Hashable], waits_for: Mapping[Hashable, Iterable[Hashable]],
                            run: Callable[[Any], bool], workers: int = 1, priority: Callable[[Any], Any] | None = None,
                            stop_on_failure: bool = False, on_abort: Callable[[], None] | None = None) -> dict:
    """Call ``run(task)`` (True: it went well) for every task in threads, ``workers`` at a time; a
    task starts once all of its ``waits_for[task]`` among ``tasks`` have ended. Among the tasks
    ready to start, the smallest ``priority(task)`` goes first (default: the order given).

    ``stop_on_failure``: after the first ``run`` that returned False nothing new starts (the
    running ones still end). ``on_abort`` is called when this thread is interrupted (Ctrl-C) or
    a ``run`` raised, before waiting for the running tasks: it must make them end.
    Returns ``{task: ok}`` of the tasks that ran, in the order they ended.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    tasks, workers = list(tasks), max(1, workers)
    order = {t: i for i, t in enumerate(tasks)}
    after = {t: set(waits_for.get(t, ())) & order.keys() for t in tasks}
    pending, running, ended = list(tasks), {}, {}
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        while True:
            stopped = stop_on_failure and not all(ended.values())
            if not stopped:
                ready = sorted((t for t in pending if after[t] <= ended.keys()), key=priority or order.__getitem__)
                for t in ready[:workers - len(running)]:
                    pending.remove(t)
                    running[pool.submit(run, t)] = t
            if not running:
                break
            # a timeout, so that this thread runs Python code every second: a Ctrl-C that the
            # kernel delivered to one of the pool's threads is only raised here, in the main
            # thread, when it next runs bytecode (a wait without timeout would sleep through it)
            done, _ = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in done:
                ended[running.pop(future)] = bool(future.result())
        if pending and not stopped:
            raise RuntimeError(f"circular prerequisites: {pending} wait for each other")
    except BaseException:
        if on_abort is not None:
            on_abort()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return ended


#: Ctrl-C during a parallel run-all: seconds the running notebooks get to end by themselves (a
#: terminal's Ctrl-C reaches them too), then after our SIGINT, then after SIGTERM; then SIGKILL.
STOP_GRACE_SECONDS = (3.0, 10.0, 5.0)
#: Lines of a failed notebook's log printed when a parallel run-all stops.
LOG_TAIL_LINES = 15


def run_processes(notebooks: list[Path], commands: Mapping[str, list[str]], summary: dict, summary_path: Path,
                  logs_dir: Path, workers: int, previous: Mapping[str, float], log: Any, t_all: float) -> list[str]:
    """The ``workers > 1`` part of ``experiment.run_all``: ``commands[stem]`` as processes, in
    dependency order; ``summary`` is updated in place and saved after every start and end.
    Returns the stems that failed (their log tails printed), empty when all went well."""
    entries = {p.stem: e for p, e in zip(notebooks, summary["notebooks"])}
    lock, stopping = threading.Lock(), threading.Event()
    procs: dict[str, subprocess.Popen] = {}
    failures: list[str] = []
    logs_dir.mkdir(parents=True, exist_ok=True)
    say = lambda msg: log(f"[{time.perf_counter() - t_all:7.0f} s] {msg}")  # noqa: E731

    def end(status: str | None = None) -> None:
        if status:
            summary.update(status=status, finished=_now(), seconds=round(time.perf_counter() - t_all, 1))
        _write_json(summary_path, summary)

    def run(stem: str) -> bool:
        entry, log_path = entries[stem], logs_dir / f"{stem}.log"
        with lock:
            if stopping.is_set():
                return False
            out = open(log_path, "wb")  # this run's output only, never appended to an earlier one's
            out.write(f"$ {shlex.join(commands[stem])}\n".encode())
            out.flush()
            t0 = time.perf_counter()
            try:
                procs[stem] = subprocess.Popen(commands[stem], cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
            except BaseException:
                out.close()
                raise
            entry.update(status="running", log=_rel(log_path))
            end()
            say(f"start {stem}  parameters={entry['parameters']}  (log: {_rel(log_path)})")
        with out:
            rc = procs[stem].wait()
        with lock:
            entry["seconds"] = round(time.perf_counter() - t0, 1)
            if rc == 0:
                entry["status"] = "ok"
                say(f"ok {stem} in {entry['seconds']} s")
            elif stopping.is_set() or rc in (130, -signal.SIGINT):
                entry["status"] = "interrupted"
                say(f"interrupted {stem} after {entry['seconds']} s")
            else:
                entry.update(status="failed", error=_failure_reason(log_path, rc))
                failures.append(stem)
                others = [s for s, p in procs.items() if p.poll() is None]
                say(f"FAILED {stem} after {entry['seconds']} s (exit {rc}): starting nothing new"
                    + (f"; waiting for {', '.join(others)}" if others else ""))
            end()
        return rc == 0

    def abort() -> None:
        stopping.set()
        with lock:
            alive = [p for p in procs.values() if p.poll() is None]
        _stop_processes(alive)

    needs = prerequisites(notebooks)
    waits = "; ".join(f"{s} after {', '.join(p)}" for s, p in needs.items() if p)
    log(f"{len(notebooks)} notebooks, {workers} at a time" + (f"; {waits}" if waits else ""))
    try:
        run_in_dependency_order(list(entries), needs, run, workers, priority=_longest_first(previous),
                                stop_on_failure=True, on_abort=abort)
    except BaseException as exc:  # Ctrl-C, or a notebook that could not be started
        end("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")
        raise
    if failures:
        end("failed")
        for stem in failures:
            log_path = logs_dir / f"{stem}.log"
            tail = log_path.read_text(errors="replace").rstrip().splitlines()[-LOG_TAIL_LINES:]
            log(f"--- last lines of {_rel(log_path)} ---\n" + "\n".join(tail))
        not_run = [s for s, e in entries.items() if e["status"] == "not run"]
        if not_run:
            log(f"not run: {', '.join(not_run)}")
    return failures


def _failure_reason(log_path: Path, returncode: int) -> str:
    """Why a ``run`` process failed, from the ``ERROR:`` line it printed, and where its log is."""
    m = re.search(r"^ERROR: notebook .*? failed: (.*)$", log_path.read_text(errors="replace"), flags=re.M)
    return f"{m.group(1) if m else f'exited with status {returncode}'} (log: {_rel(log_path)})"


def _stop_processes(procs: list[subprocess.Popen]) -> None:
    """End ``procs``: a grace period, then SIGINT, then SIGTERM (``STOP_GRACE_SECONDS``), then
    SIGKILL; a second Ctrl-C skips to SIGKILL. A notebook's kernel stops with its ``run``
    process (it polls its parent)."""
    try:
        for sig, grace in zip((None, signal.SIGINT, signal.SIGTERM), STOP_GRACE_SECONDS):
            alive = [p for p in procs if p.poll() is None]
            for p in alive if sig else []:
                p.send_signal(sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(p.poll() is None for p in alive):
                time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def _previous_seconds(summary_path: Path) -> dict[str, float]:
    """``{stem: seconds}`` of the notebooks that ran ok in an earlier ``run_summary.json``."""
    try:
        old = json.loads(Path(summary_path).read_text())
    except (OSError, ValueError):
        return {}
    return {Path(e["notebook"]).stem: e["seconds"] for e in old.get("notebooks", [])
            if e.get("status") == "ok" and e.get("seconds") is not None}


def _longest_first(previous: Mapping[str, float]) -> Callable[[str], tuple]:
    """Sort key: notebooks never timed first (they may be long), higher ``NN`` prefix first; then
    the timed ones, longest first."""
    def key(stem: str) -> tuple:
        nn = -int(stem[:2]) if stem[:2].isdigit() else 0
        return (1, -previous[stem], nn) if stem in previous else (0, 0, nn)

    return key
