"""Jobs on a Dask cluster: the one engine behind ``run-all --workers N``, ``study`` and ``sensitivity``.

A job is a command line (one ``asd run`` or ``asd synth``), the jobs it must wait for, and the
file its output goes to. :func:`run_jobs` submits every job to a Dask distributed scheduler, a
job after the jobs it needs, and reports one line per start and end (time, worker). The
scheduler is

- a ``LocalCluster`` of ``workers`` processes with one thread each (the default: one machine), or
- any running cluster, given by address (``--scheduler tcp://host:8786``, or the environment
  variable ``DASK_SCHEDULER_ADDRESS``): ``dask scheduler`` + ``dask worker`` by hand,
  dask-jobqueue on SLURM/PBS/SGE, dask-kubernetes. Provisioning it is outside this project
  (``book/cluster.md``).

Both are the same code. A job runs as a child process of a worker, in the repository root, with
the worker's environment plus the client's ``ASD_*`` settings and the job's own variables.
Before it starts, the worker checks that it sees the repository, the Python that runs the
command and every absolute path in the command: workers need them on a shared filesystem, and
a worker that cannot see one fails the job at once, naming the path and the worker.

A job that exits non-zero is ``failed`` (its log tail is returned; a deterministic failure is
not retried). A worker lost mid-job (killed, its node gone) is Dask's business: the scheduler
runs the job again on another worker, up to ``distributed.scheduler.allowed-failures`` times;
the child process dies with its worker (``PR_SET_PDEATHSIG``) and the rerun resumes from the
checkpoints of the run folder (``asdlib.book.runs``). Ctrl-C on the client stops the whole
graph: the running commands get SIGINT, then SIGTERM, then SIGKILL (``STOP_GRACE_SECONDS``),
nothing new starts, and the caller says how to resume (finished jobs are not rerun).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from asdlib.book.runs import _rel
from asdlib.paths import REPO_ROOT

__all__ = ["Job", "Outcome", "run_jobs", "scheduler_address", "STOP_GRACE_SECONDS", "LOG_TAIL_LINES"]

#: Ctrl-C: seconds a running command gets to end by itself (a terminal's Ctrl-C reaches it too),
#: then after our SIGINT, then after SIGTERM; then SIGKILL.
STOP_GRACE_SECONDS = (3.0, 10.0, 5.0)
#: Lines of a failed job's log returned to the client.
LOG_TAIL_LINES = 15
#: The environment variable Dask itself reads for a scheduler address.
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
#: How often a running job asks whether the client wants it stopped (seconds).
POLL_SECONDS = 0.5
#: How long the client tries to reach a scheduler given by address.
CONNECT_TIMEOUT = "20s"


@dataclass
class Job:
    """One command to run on a worker. ``needs``: names of jobs that must end first (ok or not);
    ``log``: the file its output goes to (written afresh); ``env``: variables of its own;
    ``paths``: paths it needs besides those in its command (checked on the worker)."""

    name: str
    command: list[str]
    needs: tuple[str, ...] = ()
    log: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    paths: tuple[str, ...] = ()


@dataclass
class Outcome:
    """What became of a job: ``ok``, ``failed``, ``interrupted`` (Ctrl-C) or ``not run`` (never
    started: stopped before, or past the time budget)."""

    name: str
    status: str
    seconds: float | None = None
    worker: str = ""
    returncode: int | None = None
    attempts: int = 0
    error: str = ""
    tail: str = ""


def scheduler_address(address: str | None = None) -> str | None:
    """The scheduler to use: ``address``, else ``DASK_SCHEDULER_ADDRESS``, else None (a LocalCluster)."""
    return address or os.environ.get(SCHEDULER_ENV) or None


# --------------------------------------------------------------------------- on the worker
def dask_setup(worker) -> None:
    """Dask's preload hook, run in every worker process of the local cluster: the worker leaves
    Ctrl-C to the client. A terminal's Ctrl-C reaches the whole process group; the client then
    stops the jobs through the abort event, and the jobs' commands get the Ctrl-C themselves
    (``_child_setup`` gives it back to them)."""
    with contextlib.suppress(ValueError):  # not in the main thread: nothing to do
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _child_setup() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The command answers Ctrl-C (its worker ignores it) and ends when its worker does (Linux:
    a lost worker leaves no orphan training)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _missing_paths(spec: Mapping[str, Any]) -> list[str]:
    wanted = [spec["cwd"], *spec["paths"]]
    wanted += [a for a in spec["command"] if isinstance(a, str) and a.startswith("/") and spec["exists"].get(a)]
    return [p for p in dict.fromkeys(wanted) if not os.path.exists(p)]


def _tail(path: str | None, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").rstrip().splitlines()[-lines:]) if path else ""
    except OSError:
        return ""


def _execute(spec: dict) -> dict:
    """Run one job's command on this worker (the Dask task)."""
    from distributed import Event, get_worker

    worker = get_worker()
    where = worker.address
    token, name = spec["token"], spec["name"]
    result = {"name": name, "worker": where, "seconds": None, "returncode": None, "error": "", "tail": ""}
    abort = Event(f"asd-abort-{token}")
    if abort.is_set():  # a retry after a lost worker, arriving after Ctrl-C
        return {**result, "status": "not run"}
    missing = _missing_paths(spec)
    if missing:
        return {**result, "status": "failed",
                "error": f"worker {where} cannot see {', '.join(missing)}: the workers need the repository, its "
                         "virtual environment and the data roots on a filesystem they share with the client "
                         "(book/cluster.md)"}
    worker.log_event(f"asd-jobs-{token}", {"job": name, "worker": where, "pid": os.getpid()})
    env = {**os.environ, **spec["env"]}
    log_path = spec["log"]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log_path or os.devnull, "wb") as out:  # this run's output only, never appended to an earlier one's
        out.write(f"$ {shlex.join(spec['command'])}\n".encode())
        out.flush()
        proc = subprocess.Popen(spec["command"], cwd=spec["cwd"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=_child_setup if os.name == "posix" else None)
        interrupted = False
        while True:
            try:
                rc = proc.wait(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                pass
            if not interrupted and abort.is_set():
                interrupted = True
                rc = _stop(proc, spec["grace"])
                break
    seconds = round(time.perf_counter() - t0, 1)
    status = "ok" if rc == 0 else "interrupted" if interrupted or rc in (130, -signal.SIGINT) else "failed"
    return {**result, "status": status, "seconds": seconds, "returncode": rc,
            "tail": _tail(log_path) if status == "failed" else ""}


def _stop(proc: subprocess.Popen, grace: Sequence[float]) -> int:
    """End ``proc``: a grace period, then SIGINT, then SIGTERM, then SIGKILL."""
    for sig, seconds in zip((None, signal.SIGINT, signal.SIGTERM), grace):
        if proc.poll() is None and sig is not None:
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            return proc.wait(timeout=seconds)
    proc.kill()
    return proc.wait()


# --------------------------------------------------------------------------- on the client
@contextlib.contextmanager
def _client(workers: int, address: str | None):
    from distributed import Client, LocalCluster

    # the engine prints one line per job; Dask's own INFO lines (connections, nannies) are noise
    # here, and its shutdown reports closed connections that a finished run no longer needs
    for name in ("distributed", "bokeh", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if address:
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            raise OSError(f"cannot reach the Dask scheduler at {address} ({exc}): start one (book/cluster.md), or "
                          f"leave out --scheduler and unset {SCHEDULER_ENV} to run on this machine") from None
        with client:
            yield client, f"the Dask scheduler at {address}"
        return
    import dask

    # a worker is handed its next job only when it is free, so a job that becomes ready later
    # with a higher priority (System-4 of seed 0 after its members) overtakes the queued ones
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                         memory_limit=0,  # the work runs in the jobs' own processes, not in the worker
                         preload=[__name__],  # dask_setup: the workers leave Ctrl-C to this client
                         silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client, f"a local Dask cluster of {workers} worker process(es)"


def _order(jobs: Sequence[Job]) -> list[Job]:
    """``jobs`` with every job after those it needs (the given order otherwise); a circle is an error."""
    by_name = {j.name: j for j in jobs}
    if len(by_name) != len(jobs):
        raise ValueError("two jobs have the same name")
    out, placed, visiting = [], set(), set()

    def place(job: Job) -> None:
        if job.name in placed:
            return
        if job.name in visiting:
            raise RuntimeError(f"circular prerequisites around {job.name}")
        visiting.add(job.name)
        for n in job.needs:
            if n in by_name:
                place(by_name[n])
        visiting.discard(job.name)
        placed.add(job.name)
        out.append(job)

    for j in jobs:
        place(j)
    return out


def run_jobs(jobs: Iterable[Job], workers: int = 1, scheduler: str | None = None, log: Callable[[str], None] = print,
             on_start: Callable[[Job, str, int], None] | None = None,
             on_end: Callable[[Job, Outcome], None] | None = None,
             stop_on_failure: bool = False, budget_minutes: float | None = None) -> dict[str, Outcome]:
    """Run ``jobs`` on a Dask cluster (a LocalCluster of ``workers`` processes, or ``scheduler``).

    A job starts once the jobs it ``needs`` have ended; among jobs ready at once, the earlier in
    ``jobs`` goes first. ``on_start(job, worker, attempt)`` and
    ``on_end(job, outcome)`` run on this thread (attempt 2 and more: Dask runs a job again after
    its worker was lost). ``stop_on_failure``: after the first failure nothing new starts (the
    running jobs end). ``budget_minutes``: nothing new starts after that long. Ctrl-C stops every
    running command, marks the rest ``not run`` and re-raises. Returns ``{name: Outcome}`` in
    the order the jobs ended, with every job (those never started: ``not run``).
    """
    from distributed import Event, wait

    jobs = _order(list(jobs))
    if not jobs:
        return {}
    by_name = {j.name: j for j in jobs}
    token = uuid.uuid4().hex[:12]
    address = scheduler_address(scheduler)
    not_after = time.time() + 60 * budget_minutes if budget_minutes is not None else None
    carried = {k: v for k, v in os.environ.items() if k.startswith("ASD_")}  # the client's settings travel
    t_all = time.perf_counter()
    say = lambda msg: log(f"[{time.perf_counter() - t_all:7.0f} s] {msg}")  # noqa: E731
    outcomes: dict[str, Outcome] = {}
    attempts: dict[str, int] = {}
    events: list[dict] = []

    def spec(job: Job) -> dict:
        exists = {a: os.path.exists(a) for a in job.command if isinstance(a, str) and a.startswith("/")}
        return {"token": token, "name": job.name, "command": [str(a) for a in job.command], "cwd": str(REPO_ROOT),
                "env": {**carried, "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in job.env.items()}},
                "log": str(job.log) if job.log else None, "paths": [str(p) for p in job.paths],
                "exists": exists, "grace": tuple(STOP_GRACE_SECONDS)}

    with _client(workers, address) as (client, where):
        log(f"{len(jobs)} job(s) on {where}")
        client.subscribe_topic(f"asd-jobs-{token}", lambda event: events.append(event[1]))
        abort = Event(f"asd-abort-{token}", client=client)
        pending, running = list(jobs), {}
        failed = False

        def submit_ready() -> None:
            """As many ready jobs as the cluster has free worker threads, the earliest first: the
            order stays ours (Dask would hand every ready job out at once), and a job that must
            not start (a failure, the budget, Ctrl-C) is simply never submitted."""
            if (stop_on_failure and failed) or (not_after is not None and time.time() > not_after):
                return
            free = max(1, sum(client.nthreads().values())) - len(running)
            for job in [j for j in pending if all(n in outcomes or n not in by_name for n in j.needs)][:max(0, free)]:
                pending.remove(job)
                running[job.name] = client.submit(_execute, spec(job), key=f"{job.name}-{token}", pure=False)

        def report_starts() -> None:
            while events:
                e = events.pop(0)
                if e["job"] in outcomes:  # a start heard after its end (the finish already reported it)
                    continue
                attempts[e["job"]] = attempts.get(e["job"], 0) + 1
                n = attempts[e["job"]]
                say(f"start {e['job']} on {e['worker']}" + (f" (attempt {n}: its worker was lost)" if n > 1 else ""))
                if on_start:
                    on_start(by_name[e["job"]], e["worker"], n)

        def finish(name: str, future) -> None:
            try:
                r = future.result()
                out = Outcome(**{k: r[k] for k in ("name", "status", "seconds", "worker", "returncode", "error", "tail")})
            except Exception as exc:  # the worker died too often (KilledWorker), or the task itself failed
                out = Outcome(name, "failed", error=f"{type(exc).__name__}: {exc}")
            if out.seconds is not None and name not in attempts:
                # the job ran, but its start event (sent before the command started) is still on
                # its way: wait a moment for it, so that every start is reported before its end
                deadline = time.monotonic() + 2.0
                while name not in attempts and time.monotonic() < deadline:
                    time.sleep(0.05)
                    report_starts()
                if name not in attempts:
                    events.append({"job": name, "worker": out.worker})
                    report_starts()
            out.attempts = attempts.get(name, 0)
            outcomes[name] = out
            if out.status == "ok":
                say(f"ok {name} in {out.seconds} s on {out.worker}")
            elif out.status == "failed":
                say(f"FAILED {name}" + (f" after {out.seconds} s" if out.seconds is not None else "")
                    + (f" on {out.worker}" if out.worker else "") + (f" (exit {out.returncode})" if out.returncode else "")
                    + (f": {out.error}" if out.error else "")
                    + (f"; last lines of {_rel(by_name[name].log)}:\n{out.tail}" if out.tail else ""))
                nonlocal failed
                failed = True
            elif out.status == "interrupted":
                say(f"interrupted {name} after {out.seconds} s")
            if on_end:
                on_end(by_name[name], out)

        try:
            submit_ready()
            while running:
                try:
                    # a timeout, so that this thread runs Python code every second: Ctrl-C is raised here
                    done, _ = wait(list(running.values()), timeout=1.0, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = set()
                report_starts()
                for name in [n for n, f in running.items() if f in done]:
                    finish(name, running.pop(name))
                submit_ready()
            report_starts()
        except KeyboardInterrupt:
            say("Ctrl-C: stopping every running job")
            pending.clear()
            with contextlib.suppress(BaseException):
                abort.set()
                with contextlib.suppress(TimeoutError):
                    wait(list(running.values()), timeout=sum(STOP_GRACE_SECONDS) + 10)
                report_starts()
                for name in [n for n, f in running.items() if f.done()]:
                    finish(name, running.pop(name))
                client.cancel(list(running.values()), force=True)
            for name in running:
                outcomes[name] = Outcome(name, "interrupted" if name in attempts else "not run",
                                         attempts=attempts.get(name, 0))
            raise
    for job in jobs:
        outcomes.setdefault(job.name, Outcome(job.name, "not run"))
    return outcomes
