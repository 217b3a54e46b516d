"""asdlib.book.engine: jobs on a Dask cluster, a local one and a real one on the loopback interface."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asdlib.book import engine

pytestmark = pytest.mark.slow  # starts Dask clusters and worker processes

PY = sys.executable


def _job(name: str, code: str, out: Path, needs: tuple[str, ...] = (), **kw) -> engine.Job:
    """A job running ``code`` with ``OUT`` (its folder, an absolute path the worker must see) defined."""
    prog = f"import os, sys, time; from pathlib import Path; OUT = Path(sys.argv[1]); {code}"
    return engine.Job(name, [PY, "-c", prog, str(out)], needs=needs, log=out / "logs" / f"{name}.log", **kw)


def _grid(out: Path) -> list[engine.Job]:
    """A small grid: a dependency, a job that fails, and a slow one that a test may have killed."""
    out.mkdir(parents=True, exist_ok=True)
    slow = ("n = len((OUT / 'attempts.txt').read_text().splitlines()) if (OUT / 'attempts.txt').exists() else 0; "
            "open(OUT / 'attempts.txt', 'a').write('x\\n'); "
            "killed = (OUT / 'kill-me').exists() and n == 0; "
            "killed and (OUT / 'worker.pid').write_text(str(os.getppid())); "
            "killed and time.sleep(120); "
            "(OUT / 'slow.txt').write_text('slow result')")
    return [
        _job("prepare", "(OUT / 'prepared.txt').write_text('21')", out),
        _job("use", "(OUT / 'used.txt').write_text(str(2 * int((OUT / 'prepared.txt').read_text())))", out,
             needs=("prepare",)),
        _job("fails", "print('boom: bad input'); sys.exit(3)", out),
        _job("slow", slow, out),
    ]


def _results(out: Path) -> dict[str, str]:
    return {name: (out / name).read_text() for name in ("prepared.txt", "used.txt", "slow.txt")}


def test_a_local_grid_runs_in_dependency_order_and_reports_every_outcome(tmp_path, monkeypatch):
    monkeypatch.setenv("ASD_ENGINE_TEST", "carried")  # the client's ASD_* settings reach the jobs
    out = tmp_path / "local"
    jobs = _grid(out) + [
        _job("sleepy-a", "(OUT / 'a.time').write_text(f'{time.time()} '); time.sleep(1.0); "
                         "open(OUT / 'a.time', 'a').write(str(time.time()))", out),
        _job("sleepy-b", "(OUT / 'b.time').write_text(f'{time.time()} '); time.sleep(1.0); "
                         "open(OUT / 'b.time', 'a').write(str(time.time())); print(os.environ['ASD_ENGINE_TEST'])", out),
        _job("blind", "pass", out, paths=(str(tmp_path / "not-on-this-worker"),)),
    ]
    starts, ends, lines = [], [], []
    outcomes = engine.run_jobs(jobs, workers=2, log=lines.append,
                               on_start=lambda job, worker, n: starts.append((job.name, worker, n)),
                               on_end=lambda job, o: ends.append(job.name))
    status = {name: o.status for name, o in outcomes.items()}
    assert status == {"prepare": "ok", "use": "ok", "fails": "failed", "slow": "ok", "sleepy-a": "ok",
                      "sleepy-b": "ok", "blind": "failed"}
    assert _results(out) == {"prepared.txt": "21", "used.txt": "42", "slow.txt": "slow result"}
    assert ends.index("prepare") < [s[0] for s in starts].index("use")  # `use` started after `prepare` ended
    a0, a1 = map(float, (out / "a.time").read_text().split())
    b0, b1 = map(float, (out / "b.time").read_text().split())
    assert a0 < b1 and b0 < a1  # two workers: the independent jobs ran side by side
    fails = outcomes["fails"]
    assert fails.returncode == 3 and "boom: bad input" in fails.tail
    assert any("FAILED fails" in line and "boom: bad input" in line for line in lines)
    blind = outcomes["blind"]
    assert str(tmp_path / "not-on-this-worker") in blind.error and "tcp://127.0.0.1" in blind.error
    assert "filesystem they share" in blind.error and "blind" not in [s[0] for s in starts]  # failed before it started
    assert (out / "logs" / "sleepy-b.log").read_text().splitlines() == [
        "$ " + " ".join(__import__("shlex").quote(a) for a in jobs[5].command), "carried"]
    assert {o.attempts for n, o in outcomes.items() if n != "blind"} == {1}


def test_after_a_failure_or_past_the_budget_nothing_new_starts(tmp_path):
    out = tmp_path / "stop"
    out.mkdir()
    jobs = [_job("first", "sys.exit(1)", out), _job("second", "(OUT / 'second').touch()", out),
            _job("third", "(OUT / 'third').touch()", out, needs=("first",))]
    outcomes = engine.run_jobs(jobs, workers=1, log=lambda *_: None, stop_on_failure=True)
    assert [outcomes[n].status for n in ("first", "second", "third")] == ["failed", "not run", "not run"]
    assert not (out / "second").exists() and not (out / "third").exists()
    outcomes = engine.run_jobs(jobs[1:2], workers=1, log=lambda *_: None, budget_minutes=0)
    assert outcomes["second"].status == "not run" and not (out / "second").exists()


def test_a_job_that_waits_for_itself_is_refused():
    with pytest.raises(RuntimeError, match="circular"):
        engine._order([engine.Job("a", ["true"], needs=("b",)), engine.Job("b", ["true"], needs=("a",))])


@pytest.fixture
def loopback_cluster(tmp_path):
    """``dask scheduler`` and two ``dask worker`` processes (each under a nanny) on 127.0.0.1."""
    from distributed import Client

    dask_cli = str(Path(PY).parent / "dask")
    scheduler_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(scheduler_file)], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        for i in range(2):
            procs.append(subprocess.Popen([dask_cli, "worker", "--scheduler-file", str(scheduler_file), "--nthreads",
                                           "1", "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1",
                                           "--name", f"loopback-{i}"], start_new_session=True,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(scheduler_file=str(scheduler_file), timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            yield client.scheduler.address
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_a_loopback_cluster_survives_a_killed_worker_and_matches_the_local_run(tmp_path, loopback_cluster,
                                                                               monkeypatch):
    """A real multi-process cluster: scheduler and workers are separate processes talking TCP.
    The worker running ``slow`` is killed mid-job (SIGKILL); the scheduler runs the job again on
    a worker, and the results are those of the same grid run on a local cluster."""
    import threading

    monkeypatch.delenv(engine.SCHEDULER_ENV, raising=False)
    local = engine.run_jobs(_grid(tmp_path / "local"), workers=2, log=lambda *_: None)

    out = tmp_path / "cluster"
    jobs = _grid(out)
    (out / "kill-me").touch()
    killed = {}

    def kill_the_worker_running_slow():
        deadline = time.monotonic() + 60
        while not ((out / "worker.pid").is_file() and (out / "worker.pid").read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        pid = int((out / "worker.pid").read_text())
        killed["job"] = _child_of(pid)
        os.kill(pid, signal.SIGKILL)
        killed["worker"] = pid

    killer = threading.Thread(target=kill_the_worker_running_slow, daemon=True)
    killer.start()
    lines = []
    t0 = time.perf_counter()
    outcomes = engine.run_jobs(jobs, scheduler=loopback_cluster, log=lines.append)
    seconds = time.perf_counter() - t0
    killer.join(timeout=5)
    print("\n".join(lines))  # shown with -s: the jobs, their workers and times
    assert "worker" in killed and seconds < 100  # the killed attempt's 120 s sleep did not hold the run
    assert {n: o.status for n, o in outcomes.items()} == {n: o.status for n, o in local.items()} == {
        "prepare": "ok", "use": "ok", "fails": "failed", "slow": "ok"}
    assert _results(out) == _results(tmp_path / "local")
    assert outcomes["slow"].attempts == 2 and len((out / "attempts.txt").read_text().split()) == 2
    assert any("start slow" in line and "attempt 2" in line for line in lines)
    assert outcomes["fails"].returncode == 3 == local["fails"].returncode
    assert lines[0].endswith(f"on the Dask scheduler at {loopback_cluster}")
    assert len({o.worker for o in outcomes.values()}) >= 2  # the jobs were spread over the workers
    assert killed.get("job")  # the first attempt's command, a child of the killed worker ...
    deadline = time.monotonic() + 10
    while _alive(killed["job"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(killed["job"])  # ... died with it (PR_SET_PDEATHSIG), it did not sleep on


def _child_of(pid: int) -> int | None:
    """The first child process of ``pid`` (Linux /proc: each thread lists the children it
    started, and a worker starts its jobs from a thread of its pool), or None."""
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += (task / "children").read_text().split()
        except OSError:
            pass
    return int(children[0]) if children else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not yet reaped by its parent) counts as ended
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_an_unreachable_scheduler_is_named_with_the_fix(monkeypatch):
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT", "2s")
    with pytest.raises(OSError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9 .*DASK_SCHEDULER_ADDRESS"):
        engine.run_jobs([engine.Job("a", [PY, "-c", "pass"])], scheduler="tcp://127.0.0.1:9", log=lambda *_: None)
