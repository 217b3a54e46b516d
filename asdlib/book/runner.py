"""Running the book: notebooks executed with papermill, and run folders for results.

Command line (from the repository root, inside the venv)::

    asd run-all --profile demo
    asd run-all --profile ci --only 00 02 --set 02_baselines:epochs=3
    asd run-all --profile demo --workers 2
    asd run notebooks/02_baselines.py -p profile demo -p epochs 5 [-o out.ipynb]
    asd verify runs/ci/02_baselines/<run folder>

Relative paths given as parameters (``-p data_root my_data``: every parameter named
``*_root``, ``*_roots``, ``*_dir`` or ``*_path``) are resolved from the directory the command
is typed in, like ``-o``, not from ``notebooks/`` where the kernel runs. Ctrl-C stops a run
with a one-line message; the same command then resumes from the last checkpoint. ``verify``
re-executes a run from its recorded notebook and parameters into a temporary folder and
compares every metric (``asdlib.book.verify``).

``run-all`` executes every ``notebooks/NN_*.py`` in order with ``profile=<profile>`` and
writes the executed notebooks to ``book/chapters/<name>.ipynb`` (what the book renders),
plus ``runs/<profile>/run_summary.json``. The paired ``notebooks/*.ipynb`` are never
written: papermill adds an "injected-parameters" cell that the next jupytext sync would
copy into the ``.py``.

``run`` and ``run-all`` stream progress while they work: the cell being executed (n of N)
and the training progress bars of that cell.

``run-all --workers N`` (or ``--scheduler ADDRESS``) runs the chapters as jobs on a Dask
cluster (``asdlib.book.engine``: a local cluster of N processes, or any running scheduler),
each its own ``run ... --quiet`` process with the same parameters and kernel folder as
in-process, its output in ``runs/<profile>/logs/<name>.log``. A chapter starts once the
chapters whose run folders it reads have ended (``READS_RUNS_OF``: 06 after 03-05, 07 and 09
after 02-06); among those ready, the one that took longest last time goes first. One line per
start and end (with its worker); at the first failure nothing new starts, the running
chapters finish, and the failed one's log tail is printed. ``--resume`` skips the chapters
that ended ok in the previous run with the same parameters. ``study`` and ``sensitivity``
use the same engine and wait by the same table.

Chapters get their dataset from ``chapter_data`` (generated on first use, scanned once,
fingerprinted) and find earlier chapters' results with ``find_run`` (``asdlib.book.runs``: run
folders keyed by chapter, data and settings).
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from asdlib.paths import REPO_ROOT
from asdlib.book.chapters import READS_RUNS_OF, ChapterData, chapter_data, prerequisites  # noqa: F401 (re-exported)
from asdlib.book.runs import (INVOCATION_ENV, RUNS_ROOT, RunFolder, _now, _rel, _write_json, find_run,
                              package_versions)
from asdlib.runtime import git_commit

__all__ = ["READS_RUNS_OF", "ChapterData", "RunFolder", "chapter_data", "find_run", "prerequisites", "run_all",
           "run_notebook"]  # READS_RUNS_OF and prerequisites live in asdlib.book.chapters

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
CHAPTERS_DIR = REPO_ROOT / "book" / "chapters"
NOTEBOOK_GLOB = "[0-9][0-9]_*.py"
#: Per-cell time limit (seconds) for papermill; a training cell at "full" size can be long.
DEFAULT_CELL_TIMEOUT = 4 * 3600


class NotebookFailed(RuntimeError):
    """A notebook raised (or timed out / lost its kernel) while papermill executed it."""

    def __init__(self, notebook: Path, output: Path, reason: str):
        self.notebook = Path(notebook)
        self.output = Path(output)
        self.reason = reason
        super().__init__(
            f"notebook {_rel(self.notebook)} failed: {reason}\n"
            f"  partial output (cells run so far, with the error): {_rel(self.output)}"
        )


# --------------------------------------------------------------------------- notebooks

def _check_kernel(kernel_name: str) -> None:
    """Fail early when the kernel named ``kernel_name`` would run another Python."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel as exc:
        raise RuntimeError(f"no Jupyter kernel named {kernel_name!r}; install ipykernel in "
                           f"this environment ({sys.prefix})") from exc
    exe = spec.argv[0] if spec.argv else ""
    if os.path.isabs(exe) and Path(exe).parent != Path(sys.executable).parent:
        raise RuntimeError(
            f"the {kernel_name!r} kernel runs {exe}, not this environment's Python "
            f"({sys.executable}); remove that kernelspec ({spec.resource_dir}) or run from "
            "the environment it belongs to"
        )


def run_notebook(
    src_py: str | Path,
    out_ipynb: str | Path,
    parameters: Mapping[str, Any] | None = None,
    cwd: str | Path = NOTEBOOKS_DIR,
    timeout: float | None = DEFAULT_CELL_TIMEOUT,
    kernel_name: str = "python3",
    log_output: bool = False,
    progress: bool = False,
) -> Path:
    """Execute a paired ``.py`` notebook with papermill and save the executed ``.ipynb``.

    The ``.py`` is read in memory by jupytext (no ``.ipynb`` twin is needed or touched);
    ``parameters`` are injected after the cell tagged ``parameters``; the kernel is this
    environment's ``python3`` and starts in ``cwd``. ``timeout`` is per cell (seconds).
    The output is saved after every cell, so on failure it holds everything up to the
    error; :class:`NotebookFailed` then names the notebook and that file.

    ``progress``: show the cell being executed (n of N) and stream what the cells print,
    training progress bars included, to this process's stdout/stderr while they run.
    The kernel process's own log (not cell output: its warnings, and its tracebacks when it
    is stopped mid-cell by Ctrl-C) goes to ``<output>.kernel.log``.
    ``log_output``: also log rich outputs (tables as text) through papermill's logger.
    """
    import jupytext
    import papermill as pm

    src_py, out_ipynb = Path(src_py), Path(out_ipynb)
    if not src_py.is_file():
        raise FileNotFoundError(f"no notebook at {src_py}")
    if out_ipynb.suffix != ".ipynb":
        raise ValueError(f"output must be an .ipynb file, got {out_ipynb}")
    paired = src_py.with_suffix(".ipynb")
    if out_ipynb.resolve() == paired.resolve() or out_ipynb.resolve() == src_py.resolve():
        raise ValueError(
            f"refusing to write the executed notebook over the paired {_rel(paired)}: the next "
            "jupytext sync would copy papermill's injected cell into the .py; choose another output"
        )
    _check_kernel(kernel_name)
    _check_writable(out_ipynb.parent, f"the executed notebook {out_ipynb}", "choose another output (-o)")

    nb = jupytext.read(src_py)
    # the kernel inherits the environment: its run folders record how they were started
    invocation = {"notebook": str(src_py.resolve()), "parameters": dict(parameters or {})}
    previous = os.environ.get(INVOCATION_ENV)
    os.environ[INVOCATION_ENV] = json.dumps(invocation, default=str)
    kernel_log = open(out_ipynb.with_suffix(".kernel.log"), "wb")
    try:
        pm.execute_notebook(
            nb,
            str(out_ipynb),
            parameters=dict(parameters or {}),
            kernel_name=kernel_name,
            language="python",
            cwd=str(cwd),
            execution_timeout=timeout,
            log_output=log_output,
            progress_bar=progress,
            stdout_file=sys.stdout if progress else None,
            stderr_file=sys.stderr if progress else None,
            request_save_on_cell_execute=True,
            kernel_manager_class=_kernel_logging_to(kernel_log),
        )
    except pm.PapermillExecutionError as exc:
        reason = f"cell {exc.exec_count} raised {exc.ename}: {exc.evalue}"
        raise NotebookFailed(src_py, out_ipynb, reason) from exc
    except Exception as exc:  # timeouts, dead kernels, bad parameters...
        raise NotebookFailed(src_py, out_ipynb, f"{type(exc).__name__}: {exc} (the kernel's own log: "
                             f"{_rel(kernel_log.name)})") from exc
    finally:
        kernel_log.close()
        if previous is None:
            os.environ.pop(INVOCATION_ENV, None)
        else:
            os.environ[INVOCATION_ENV] = previous
    _collapse_parameter_cells(out_ipynb)
    return out_ipynb


def _collapse_parameter_cells(path: Path) -> None:
    """The parameters cell and papermill's injected one stay in the executed notebook (a reader
    can see what the page ran with) but collapsed on the rendered page (``hide-input``)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "hide-input" not in tags:
            cell.metadata["tags"] = [*tags, "hide-input"]
    nbformat.write(nb, str(path))


def _kernel_logging_to(log_file) -> type:
    """A kernel manager whose kernel writes its process stderr to ``log_file``."""
    from jupyter_client.manager import AsyncKernelManager

    class KernelLoggingToFile(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            await super()._async_launch_kernel(kernel_cmd, **{**kw, "stderr": log_file})

    return KernelLoggingToFile


def _check_writable(folder: Path, what: str, fix: str) -> None:
    """Fail before any work when ``folder`` cannot be created or written."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise PermissionError(f"cannot write {what}: {folder} is not writable ({exc.strerror or exc}); {fix}") from exc


def find_notebooks(notebooks_dir: str | Path = NOTEBOOKS_DIR,
                   names: Iterable[str] | None = None) -> list[Path]:
    """The chapters ``NN_*.py`` in order; ``names`` keeps those whose stem equals or starts
    with one of the names (``"02"`` or ``"02_baselines"``). Unknown names are an error."""
    notebooks_dir = Path(notebooks_dir)
    found = sorted(notebooks_dir.glob(NOTEBOOK_GLOB))
    if not found:
        raise FileNotFoundError(f"no notebooks matching {NOTEBOOK_GLOB} in {notebooks_dir}")
    if names is None:
        return found
    names = [Path(n).stem for n in names]
    unknown = [n for n in names if not any(p.stem.startswith(n) for p in found)]
    if unknown:
        raise ValueError(f"no notebook matches {unknown}; known: {[p.stem for p in found]}")
    return [p for p in found if any(p.stem.startswith(n) for n in names)]


def declared_parameters(src_py: str | Path) -> set[str]:
    """Names assigned in a notebook's ``parameters`` cell (read from the paired .py)."""
    text = Path(src_py).read_text()
    m = re.search(r'^# %% tags=\["parameters"\]\n(.*?)(?=^# %%)', text, flags=re.S | re.M)
    if not m:
        return set()
    return set(re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=", m.group(1), flags=re.M))


def notebook_parameters(notebook: str | Path, profile: str, overrides: Mapping[str, Any] | None = None,
                        restart: bool = False) -> dict[str, Any]:
    """The parameters ``run_all`` gives a notebook, in this process or as a ``run`` command
    (``workers > 1``): ``profile``, ``restart=True`` when asked for and the notebook declares
    it, then ``overrides``."""
    return {"profile": profile, **({"restart": True} if restart and "restart" in declared_parameters(notebook) else {}),
            **dict(overrides or {})}


def run_all(
    profile: str,
    out_dir: str | Path = CHAPTERS_DIR,
    names: Iterable[str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    notebooks_dir: str | Path = NOTEBOOKS_DIR,
    runs_dir: str | Path = RUNS_ROOT,
    timeout: float | None = DEFAULT_CELL_TIMEOUT,
    log: Any = print,
    restart: bool = False,
    progress: bool = False,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Execute the chapters with ``{"profile": profile}`` (+ ``overrides[stem]``).

    ``restart=True`` also passes ``restart=True`` to every notebook that declares that
    parameter, so trained models are rebuilt from scratch (the book is built this way: its
    numbers never come from checkpoints of an older dataset or an earlier code version).

    ``workers=1`` and no scheduler: in this process, in order, streaming progress when ``progress``.
    ``workers > 1`` or ``scheduler`` (an address; ``DASK_SCHEDULER_ADDRESS`` too): each notebook
    is a job on a Dask cluster (``asdlib.book.engine``), an ``asd run ... --quiet`` process
    (:func:`run_command`: the same parameters, the kernel in the same ``notebooks_dir``); a
    notebook starts once the notebooks it reads (``READS_RUNS_OF``, :func:`prerequisites`)
    ended; among those ready, the longest first (its ``seconds`` in the previous summary, else
    the higher ``NN`` prefix). Each one's output goes to ``<runs_dir>/<profile>/logs/<stem>.log``
    (started afresh); one line per start and end is logged. Ctrl-C stops the running ones,
    marks the summary ``interrupted`` and re-raises.

    ``resume``: a notebook that ended ok in the previous summary with the same parameters, and
    whose executed notebook is still there, is not run again (its entry is kept, ``resumed``).

    Writes ``<out_dir>/<stem>.ipynb`` per notebook and ``<runs_dir>/<profile>/run_summary.json``
    (updated after every notebook: name, seconds, status, parameters, versions, git commit,
    workers). Stops at the first failure with :class:`NotebookFailed` (in parallel: nothing new
    starts, the running notebooks finish); the summary then marks that notebook ``failed`` and
    those that never started ``not run``.
    """
    from asdlib.book.engine import scheduler_address

    if workers < 1:
        raise ValueError(f"workers must be 1 or more, got {workers}")
    notebooks = find_notebooks(notebooks_dir, names)
    overrides = dict(overrides or {})
    unknown = set(overrides) - {p.stem for p in notebooks}
    if unknown:
        raise ValueError(f"overrides for notebooks that are not run: {sorted(unknown)}")
    out_dir = Path(out_dir)
    summary_path = Path(runs_dir) / profile / "run_summary.json"
    parameters = {p.stem: notebook_parameters(p, profile, overrides.get(p.stem), restart) for p in notebooks}
    on_cluster = workers > 1 or bool(scheduler_address(scheduler))
    # on a cluster, every command is built before anything runs: a parameter that cannot be passed fails here
    commands = {p.stem: run_command(p, parameters[p.stem], out_dir / f"{p.stem}.ipynb", notebooks_dir, timeout)
                for p in notebooks} if on_cluster else {}
    previous = _previous_entries(summary_path)  # read before this run's summary replaces it
    summary: dict[str, Any] = {
        "profile": profile,
        "started": _now(),
        "finished": None,
        "status": "running",
        "git_commit": git_commit(),
        "versions": package_versions(),
        "platform": platform.platform(),
        "workers": workers,
        "notebooks": [
            {"notebook": _rel(p), "output": _rel(out_dir / f"{p.stem}.ipynb"), "parameters": parameters[p.stem],
             "status": "not run", "seconds": None}
            for p in notebooks
        ],
    }
    if resume:
        for entry in summary["notebooks"]:
            old = previous.get(Path(entry["notebook"]).stem)
            if (old and old.get("status") == "ok" and old.get("parameters") == entry["parameters"]
                    and (REPO_ROOT / entry["output"]).is_file()):
                entry.update(status="ok", seconds=old.get("seconds"), resumed=True)
                log(f"{Path(entry['notebook']).stem}: ended ok in the previous run with the same parameters, not rerun")
    _write_json(summary_path, summary)
    t_all = time.perf_counter()
    todo = [(src, entry) for src, entry in zip(notebooks, summary["notebooks"]) if not entry.get("resumed")]
    if on_cluster:
        _run_on_cluster(todo, commands, summary, summary_path, Path(runs_dir) / profile / "logs", workers, scheduler,
                        previous, log)
    else:
        for i, (src, entry) in enumerate(todo, 1):
            log(f"[{i}/{len(todo)}] {src.stem}  parameters={entry['parameters']}")
            t0 = time.perf_counter()
            try:
                run_notebook(src, out_dir / f"{src.stem}.ipynb", entry["parameters"],
                             cwd=notebooks_dir, timeout=timeout, progress=progress)
            except NotebookFailed as exc:
                entry.update(status="failed", seconds=round(time.perf_counter() - t0, 1),
                             error=exc.reason)
                summary.update(status="failed", finished=_now(),
                               seconds=round(time.perf_counter() - t_all, 1))
                _write_json(summary_path, summary)
                log(f"[{i}/{len(todo)}] {src.stem}  FAILED after {entry['seconds']} s")
                raise
            entry.update(status="ok", seconds=round(time.perf_counter() - t0, 1))
            _write_json(summary_path, summary)
            log(f"[{i}/{len(todo)}] {src.stem}  ok in {entry['seconds']} s")
    summary.update(status="ok", finished=_now(), seconds=round(time.perf_counter() - t_all, 1))
    _write_json(summary_path, summary)
    log(f"all {len(notebooks)} notebooks ok in {summary['seconds']} s -> {_rel(out_dir)}/ "
        f"(summary: {_rel(summary_path)})")
    return summary


def _run_on_cluster(todo: list[tuple[Path, dict]], commands: Mapping[str, list[str]], summary: dict,
                    summary_path: Path, logs_dir: Path, workers: int, scheduler: str | None,
                    previous: Mapping[str, dict], log: Any) -> None:
    """The cluster part of :func:`run_all`: ``commands[stem]`` as engine jobs in dependency order;
    ``summary`` is updated in place and saved after every start and end. Raises
    :class:`NotebookFailed` for the first failure (after every log tail is printed) and
    re-raises Ctrl-C after marking the summary."""
    from asdlib.book import engine

    entries = {src.stem: entry for src, entry in todo}
    sources = {src.stem: src for src, _ in todo}
    needs = prerequisites(entries)
    timed = {stem: e["seconds"] for stem, e in previous.items() if e.get("status") == "ok" and e.get("seconds")}
    order = sorted(entries, key=_longest_first(timed))
    jobs = [engine.Job(stem, commands[stem], needs=needs[stem], log=logs_dir / f"{stem}.log") for stem in order]
    waits = "; ".join(f"{s} after {', '.join(p)}" for s, p in needs.items() if p)
    if waits:
        log(f"waits: {waits}")
    t_all = time.perf_counter()

    def end(status: str | None = None) -> None:
        if status:
            summary.update(status=status, finished=_now(), seconds=round(time.perf_counter() - t_all, 1))
        _write_json(summary_path, summary)

    def started(job: engine.Job, worker: str, attempt: int) -> None:
        entries[job.name].update(status="running", log=_rel(job.log), worker=worker, attempts=attempt)
        end()

    def ended(job: engine.Job, out: engine.Outcome) -> None:
        entry = entries[job.name]
        entry.update(status=out.status, seconds=out.seconds)
        if out.status == "failed":
            entry["error"] = (_failure_reason(job.log, out.returncode) if out.returncode is not None
                              else out.error)
        end()

    try:
        outcomes = engine.run_jobs(jobs, workers, scheduler, log, on_start=started, on_end=ended, stop_on_failure=True)
    except BaseException as exc:  # Ctrl-C, or a cluster that could not be reached
        for stem, entry in entries.items():
            if entry["status"] == "running":
                entry["status"] = "interrupted"
        end("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")
        if isinstance(exc, KeyboardInterrupt):
            log("interrupted: `asd run-all ... --resume` with the same options runs only the chapters that did "
                "not end ok; training continues from the last checkpoint")
        raise
    failures = [stem for stem in order if outcomes[stem].status == "failed"]
    if failures:
        end("failed")  # the engine printed each failure's log tail
        not_run = [s for s, e in entries.items() if e["status"] == "not run"]
        if not_run:
            log(f"not run: {', '.join(not_run)}")
        first = failures[0]
        raise NotebookFailed(sources[first], REPO_ROOT / entries[first]["output"], entries[first]["error"])


def _failure_reason(log_path: Path, returncode: int) -> str:
    """Why a ``run`` process failed, from the ``ERROR:`` line it printed, and where its log is."""
    try:
        text = Path(log_path).read_text(errors="replace")
    except OSError:
        text = ""
    m = re.search(r"^ERROR: notebook .*? failed: (.*)$", text, flags=re.M)
    return f"{m.group(1) if m else f'exited with status {returncode}'} (log: {_rel(log_path)})"


def _previous_entries(summary_path: Path) -> dict[str, dict]:
    """``{stem: entry}`` of an earlier ``run_summary.json`` (empty when there is none)."""
    try:
        old = json.loads(Path(summary_path).read_text())
    except (OSError, ValueError):
        return {}
    return {Path(e["notebook"]).stem: e for e in old.get("notebooks", [])}


def _longest_first(previous: Mapping[str, float]):
    """Sort key: notebooks never timed first (they may be long), higher ``NN`` prefix first; then
    the timed ones, longest first."""
    def key(stem: str) -> tuple:
        nn = -int(stem[:2]) if stem[:2].isdigit() else 0
        return (1, -previous[stem], nn) if stem in previous else (0, 0, nn)

    return key


def run_command(src: str | Path, parameters: Mapping[str, Any], output: str | Path,
                kernel_cwd: str | Path = NOTEBOOKS_DIR, timeout: float | None = DEFAULT_CELL_TIMEOUT) -> list[str]:
    """The ``asd run ... --quiet`` command (to start in the repository
    root) that executes ``src`` as ``run_notebook(src, output, parameters, cwd=kernel_cwd,
    timeout=timeout)`` would here: the same parameters (:func:`parameter_arguments`)."""
    cmd = [sys.executable, "-m", "asdlib", "run", _rel(src), *parameter_arguments(parameters),
           "-o", _rel(output)]
    if Path(kernel_cwd).resolve() != NOTEBOOKS_DIR.resolve():
        cmd += ["--cwd", _rel(kernel_cwd)]
    if timeout != DEFAULT_CELL_TIMEOUT:
        cmd += ["--timeout", str(timeout or 0)]  # 0: no limit, like None
    return cmd + ["--quiet"]


# --------------------------------------------------------------------------- command line

_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def parse_value(text: str) -> Any:
    """A command-line value as a YAML scalar (``5`` → 5, ``true`` → True, ``null`` → None,
    ``[1, 2]`` → list); ``1e-3`` (a string in YAML 1.1) is read as a float too."""
    import yaml

    value = yaml.safe_load(text) if text.strip() else text
    if isinstance(value, str) and _FLOAT_RE.match(value):
        return float(value)
    return value


def split_assignment(item: str, option: str, form: str) -> tuple[str, str, str]:
    """``NOTEBOOK:KEY=VALUE`` (``--set``, ``--grid``) -> ``(notebook, key, value text)``; anything
    else stops the command with ``option expects form``."""
    try:
        target, assignment = item.split(":", 1)
        key, value = assignment.split("=", 1)
    except ValueError:
        raise SystemExit(f"{option} expects {form}, got {item!r}") from None
    return target, key, value


def _parse_overrides(items: Iterable[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        target, key, value = split_assignment(item, "--set", "NOTEBOOK:KEY=VALUE")
        out.setdefault(Path(target).stem, {}).update(absolute_path_parameters({key: parse_value(value)}))
    return out


_PATH_PARAMETER = re.compile(r".+_(root|roots|dir|path)$")


def absolute_path_parameters(params: Mapping[str, Any], cwd: str | Path | None = None) -> dict[str, Any]:
    """``params`` with relative paths made absolute from ``cwd`` (default: the current
    directory) for every parameter named ``*_root``, ``*_roots``, ``*_dir`` or ``*_path``
    (a string or a list of strings; empty strings mean "default" and stay empty)."""
    base = Path(cwd) if cwd is not None else Path.cwd()

    def absolute(value):
        if not (isinstance(value, str) and value):
            return value
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())

    return {k: ([absolute(v) for v in value] if isinstance(value, list) else absolute(value))
            if _PATH_PARAMETER.match(k) else value for k, value in params.items()}


def cli_parameters(pairs: Iterable[tuple[str, str]], cwd: str | Path | None = None) -> dict[str, Any]:
    """The parameters ``run -p NAME VALUE ...`` gives its notebook: values read by
    :func:`parse_value`, relative paths made absolute from ``cwd`` (:func:`absolute_path_parameters`)."""
    return absolute_path_parameters({name: parse_value(value) for name, value in pairs}, cwd)


def parameter_arguments(parameters: Mapping[str, Any]) -> list[str]:
    """``-p NAME VALUE`` arguments from which ``run`` (started in the repository root) rebuilds
    exactly ``parameters``: a string as it is unless it would be read as something else
    (``"5"``, ``"true"``), any other value as JSON. A parameter that would not arrive unchanged
    (a relative path, which ``run`` resolves; a tuple; NaN) is a ValueError."""
    pairs = [(k, v if isinstance(v, str) and parse_value(v) == v else json.dumps(v, default=str))
             for k, v in parameters.items()]
    back = cli_parameters(pairs, cwd=REPO_ROOT)
    changed = {k: back[k] for k, v in parameters.items() if type(back[k]) is not type(v) or back[k] != v}
    if changed:
        raise ValueError(f"parameters would not reach the notebook unchanged through `run -p`: it would get "
                         f"{changed} instead of { {k: parameters[k] for k in changed} }; give absolute paths "
                         "and plain values (strings, numbers, booleans, lists)")
    return [arg for k, text in pairs for arg in ("-p", k, text)]
