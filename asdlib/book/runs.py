"""Run folders: the unit of reproducibility, one folder per (chapter, dataset, settings).

A chapter that computes results opens its run folder with the dataset it runs on and the
settings that change its results::

    run = RunFolder.open("03_system1", profile, chapter, config={"classifier": cfg, "seed": 0})
    run.path("system1", "weights")          # paths inside it
    run.save_table("metrics", df)           # <name>.csv
    run.save_fitted("System-1", detector)    # fitted/System-1.pt (asdlib.systems.detect.save_detector)
    run.finish()                            # marks it complete (earlier chapters are found by it)

The folder is ``runs/<profile>/<chapter>/<dataset>-<data fingerprint>-<settings key>/``: a run
on another dataset (``asdlib.data.layout.fingerprint``: file names, sizes and first samples) or
with other settings gets a folder of its own, so results of two runs are never mixed.
Opening an existing folder starts its results afresh: every file except the checkpoints
under ``weights/`` folders (which ``asdlib.systems.training`` continues only when data and settings
match) is removed first. ``status.json`` says ``running`` (with the PID) until ``finish()``
says ``complete``; a process that ends without ``finish()`` (an error, Ctrl-C) marks it
``incomplete``, and one killed outright leaves ``running`` with a PID that no longer exists
(``RunFolder.state`` reads both as ``incomplete``). So a folder holds one run's files, and
says whether that run completed: its results are never mixed with an earlier run's, and
only complete runs are ever found by ``find_run``. (Results are written in place rather
than in a temporary folder moved in at the end, so that checkpoints under ``weights/``
survive an interruption and the rerun resumes from them.)

**One process at a time.** Opening takes an exclusive lock (``flock`` on ``.lock``, released
by ``finish()`` or when the process ends, however it ends); a second process opening the
same folder meanwhile stops with "run folder ... is in use by PID ...". Two runs of the same
chapter, data and settings therefore never write into one folder; other data or settings
get a folder of their own anyway.

The runs root is ``<repo>/runs``, or ``ASD_RUNS_DIR`` when set. A folder that cannot be
written stops ``open`` with a message saying so, before any work starts.

``find_run(chapter, profile, data)`` is how a chapter finds an earlier chapter's complete
run on the same data (``asdlib.book.runner.find_run``).
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from asdlib.runtime import git_commit
from asdlib.paths import REPO_ROOT

RUNS_ROOT = Path(os.environ.get("ASD_RUNS_DIR") or REPO_ROOT / "runs")
#: Set by the papermill runner (``asdlib.book.runner.run_notebook``) for the kernel: the
#: notebook and parameters of the run, recorded in ``invocation.json`` (what ``verify`` reruns).
INVOCATION_ENV = "ASD_RUN_INVOCATION"
LOCK_FILE = ".lock"
#: Packages whose versions go into run_summary.json / environment.json.
VERSIONED_PACKAGES = ("torch", "torchaudio", "numpy", "scipy", "pandas", "scikit-learn",
                      "umap-learn", "plotly", "papermill", "jupytext", "asdlib")
#: Folders whose files survive re-opening a run folder: checkpoints, continued by fingerprint.
KEPT_FOLDERS = ("weights",)
#: Where a run keeps its fitted systems (``RunFolder.save_fitted``), one ``<system>.pt`` each.
FITTED_FOLDER = "fitted"


#: Environment variable naming a file to which every ``RunFolder.open`` appends the folder it
#: opened (one JSON line): how a study finds the run folders of the jobs it started.
RUN_LOG_ENV = "ASD_RUN_LOG"


def opened_folders(run_log: str | Path) -> list[str]:
    """The run folders named in a run log (``RUN_LOG_ENV``), sorted, each once; [] without a log."""
    path = Path(run_log)
    if not path.is_file():
        return []
    return sorted({json.loads(line)["root"] for line in path.read_text().splitlines() if line})


def _rel(path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def shown(path: Path | str) -> str:
    """A path as a page may show it: relative to the repository (``data/synthetic/demo``), or to
    it from beside it (``../shared/data/real``), else ``…/`` and its name: a rendered book never
    carries the machine's folders (checked by ``book.html_check``)."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        pass
    try:
        return str(Path("..") / path.relative_to(REPO_ROOT.parent))
    except ValueError:
        return f"…/{path.name}"


def package_versions(names: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str | None]:
    """Installed versions (from package metadata: nothing is imported)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    if out.get("asdlib") is None:
        from asdlib import __version__

        out["asdlib"] = __version__
    return out


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, paths, numpy scalars/arrays, tuples and sets turned into JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist") and type(obj).__module__ == "numpy":
        return obj.tolist()
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    return obj


def _write_json(path: Path, obj: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(to_jsonable(obj), indent=2, allow_nan=True) + "\n")
    tmp.replace(path)
    return path


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _with_suffix(name: str, suffix: str) -> str:
    return name if name.endswith(suffix) else name + suffix


def environment_info(seed: int | None = None, device: bool = True) -> dict[str, Any]:
    """Versions, platform, git commit, seed and (with ``device``) the torch device."""
    info: dict[str, Any] = {
        "created": _now(),
        "versions": package_versions(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
        "git_commit": git_commit(),
        "seed": seed,
    }
    if device:
        try:
            from asdlib.runtime import default_device

            info["device"] = str(default_device())
        except Exception as exc:  # torch missing or broken: record it, do not fail a run
            info["device"] = f"unknown ({type(exc).__name__}: {exc})"
    return info


def settings_key(config: Any) -> str:
    """A short hash of a run's settings (dataclasses and dicts, as JSON)."""
    text = json.dumps(to_jsonable(config), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


class RunFolderError(RuntimeError):
    """A run folder that cannot be used: in use by another process, or not writable."""


#: Run folders this process holds the lock of: resolved path -> file descriptor of ``.lock``.
_HELD_LOCKS: dict[Path, int] = {}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclasses.dataclass
class RunFolder:
    """One run's folder: ``config.json``, ``environment.json``, ``status.json`` and its results."""

    root: Path

    @classmethod
    def open(cls, chapter: str, profile: str, data: Any, config: Any = None,
             runs_root: str | Path | None = None, seed: int | None = None) -> "RunFolder":
        """The run folder of ``chapter`` at ``profile`` on ``data`` with settings ``config``.

        ``data``: the chapter's dataset (``asdlib.book.runner.ChapterData``: ``root``,
        ``fingerprint``, ``label``). ``config``: a dataclass or dict of every setting that
        changes the results (not display options). See the module docstring for what an
        existing folder keeps.
        """
        cfg = to_jsonable(config) if config is not None else {}
        if not isinstance(cfg, dict):
            raise TypeError(f"config must be a dataclass or a dict, got {type(config).__name__}")
        base = Path(runs_root) if runs_root is not None else RUNS_ROOT
        if not base.is_absolute():
            base = REPO_ROOT / base
        name = f"{Path(data.root).name}-{data.fingerprint[:8]}-{settings_key(cfg)}"
        run = cls(base / profile / chapter / name)
        try:
            run._claim()
            run._clear_results()
            seed = cfg.get("seed") if seed is None else seed
            run.save_json("config", {"chapter": chapter, "profile": profile, "data_root": str(data.root),
                                     "data_fingerprint": data.fingerprint, "dataset_label": data.label,
                                     "settings_key": settings_key(cfg), "run_seed": seed, **cfg})
            run.save_json("environment", environment_info(seed=seed))
            if getattr(data, "problems", None):  # what the data scan reported: kept beside the results
                run.save_json("data_problems", list(data.problems))
            if os.environ.get(INVOCATION_ENV):
                run.save_json("invocation", json.loads(os.environ[INVOCATION_ENV]))
        except OSError as exc:
            raise RunFolderError(
                f"run folder {run.root} cannot be written ({exc.strerror or exc}); make it writable, or set "
                "ASD_RUNS_DIR to a writable folder. Nothing has been computed yet.") from exc
        log = os.environ.get(RUN_LOG_ENV)
        if log:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a") as f:
                f.write(json.dumps({"chapter": chapter, "root": str(run.root)}) + "\n")
        return run

    def _claim(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock()
        status = self.status()
        pid = status.get("pid")
        if status.get("status") == "running" and pid not in (None, os.getpid()) and _pid_alive(int(pid)):
            self._unlock()
            raise RunFolderError(self._in_use(pid, status.get("started")))
        self.save_json("status", {"status": "running", "pid": os.getpid(), "started": _now()})
        atexit.register(self._mark_incomplete, os.getpid())

    def _in_use(self, pid, started=None) -> str:
        return (f"run folder {self.root} is in use by PID {pid}" + (f" (started {started})" if started else "")
                + "; wait for that run to end, or stop it")

    def _lock(self) -> None:
        """Hold ``.lock`` exclusively (``flock``: atomic, and released when the process ends)."""
        import fcntl

        key = self.root.resolve()
        if key in _HELD_LOCKS:
            return
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = b""
            for _ in range(20):  # the holder writes its PID right after locking
                holder = os.pread(fd, 32, 0).strip()
                if holder:
                    break
                time.sleep(0.05)
            os.close(fd)
            pid, status = holder.decode() or "?", self.status()
            started = status.get("started") if str(status.get("pid")) == pid else None
            raise RunFolderError(self._in_use(pid, started)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _HELD_LOCKS[key] = fd

    def _unlock(self) -> None:
        fd = _HELD_LOCKS.pop(self.root.resolve(), None)
        if fd is not None:
            os.close(fd)

    def _mark_incomplete(self, pid: int) -> None:
        """At exit: a run this process started and did not finish is marked ``incomplete``."""
        try:
            status = self.status()
            if status.get("status") == "running" and status.get("pid") == pid == os.getpid():
                self.save_json("status", {**status, "status": "incomplete", "ended": _now()})
        except (OSError, ValueError):
            pass

    def _clear_results(self) -> None:
        """Remove every file of an earlier run except checkpoints under ``weights/`` folders
        (half-written ``*.tmp`` files of a process killed while saving go too)."""
        for p in sorted(self.root.rglob("*"), reverse=True):
            rel = p.relative_to(self.root)
            kept = set(rel.parts[:-1]) & set(KEPT_FOLDERS) and not rel.name.endswith(".tmp")
            if p.is_file() and not kept and rel.name not in ("status.json", LOCK_FILE):
                p.unlink()
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()

    def finish(self, **summary: Any) -> None:
        """Mark the run complete (with optional summary values, e.g. seconds)."""
        status = self.status()
        status.update(status="complete", finished=_now(), **summary)
        self.save_json("status", status)
        self._unlock()

    def status(self) -> dict:
        path = self.root / "status.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    @property
    def state(self) -> str:
        """``complete``, ``running`` (its process is alive) or ``incomplete`` (the run ended
        without ``finish()``: an error, an interruption, a killed process), or ``empty``."""
        status = self.status()
        pid = status.get("pid")
        if status.get("status") == "running" and (pid is None or not _pid_alive(int(pid))):
            return "incomplete"
        return status.get("status", "empty")

    @property
    def complete(self) -> bool:
        return self.status().get("status") == "complete"

    def path(self, *parts: str) -> Path:
        """A path inside the run folder; its parent folders are created."""
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def save_json(self, name: str, obj: Any) -> Path:
        """Write ``<name>.json`` (dataclasses, numpy values and paths are converted)."""
        return _write_json(self.path(_with_suffix(name, ".json")), obj)

    def load_json(self, name: str) -> Any:
        return json.loads(self.path(_with_suffix(name, ".json")).read_text())

    def save_table(self, name: str, df, index: bool = False) -> Path:
        """Write a DataFrame (or anything ``pandas.DataFrame`` accepts) as ``<name>.csv``."""
        import pandas as pd

        if not isinstance(df, pd.DataFrame):
            df = pd.DataFrame(df)
        path = self.path(_with_suffix(name, ".csv"))
        df.to_csv(path, index=index)
        return path

    def load_table(self, name: str, **read_csv) -> "pd.DataFrame":  # noqa: F821
        import pandas as pd

        return pd.read_csv(self.root / _with_suffix(name, ".csv"), **read_csv)

    def fitted_path(self, system: str) -> Path:
        """``fitted/<system>.pt``: where the fitted system ``system`` is kept."""
        return self.path(FITTED_FOLDER, _with_suffix(system, ".pt"))

    def save_fitted(self, system: str, detector: Any) -> Path:
        """Keep a fitted detector as ``fitted/<system>.pt`` (``detector.save``, i.e.
        ``asdlib.systems.detect.save_detector``: a weights-only safetensors file with its
        settings as JSON, which loads without running code), for ``asd score``."""
        return detector.save(self.fitted_path(system))

    def fitted_systems(self) -> list[str]:
        """Names of the fitted systems the run kept (``save_fitted``)."""
        return sorted(p.stem for p in (self.root / FITTED_FOLDER).glob("*.pt"))

    def files(self, exclude: Iterable[str] = ("submission",)) -> list[str]:
        """The run's files (relative paths), leaving out folders named in ``exclude``."""
        return [str(p.relative_to(self.root)) for p in sorted(self.root.rglob("*"))
                if p.is_file() and p.name != LOCK_FILE and not set(p.relative_to(self.root).parts[:-1]) & set(exclude)]

    def __fspath__(self) -> str:
        return str(self.root)


def find_run(chapter: str, profile: str, data: Any, runs_root: str | Path | None = None,
             quiet: bool = False, seed: int | None = None) -> RunFolder | None:
    """The latest complete run folder of ``chapter`` at ``profile`` on the same data, or None.

    "The same data" is the same ``asdlib.data.layout.fingerprint``; a run of other data is never
    returned, so a table can never carry another dataset's numbers under this one's label.
    ``seed``: only runs opened with that seed (``RunFolder.open(..., seed=)``), e.g. the
    members of one seed of a study. Unless ``quiet``, a missing run is reported with the
    command that produces it.
    """
    base = Path(runs_root) if runs_root is not None else RUNS_ROOT
    found = []
    for cfg_path in (base / profile / chapter).glob("*/config.json"):
        try:
            cfg = json.loads(cfg_path.read_text())
        except (OSError, ValueError):
            continue
        run = RunFolder(cfg_path.parent)
        if seed is not None and cfg.get("run_seed") != seed:
            continue
        if cfg.get("data_fingerprint") == data.fingerprint and run.complete:
            found.append((run.status().get("finished", ""), run))
    if not found:
        if not quiet:
            print(f"NOTE: no complete run of {chapter} at profile {profile!r} on this data ({data.label}). "
                  f"Produce it with\n  asd run notebooks/{chapter}.py -p profile {profile}"
                  + (f" -p data_root {data.root}" if not getattr(data, "synthetic", True) else ""))
        return None
    return max(found, key=lambda item: item[0])[1]
