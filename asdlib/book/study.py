"""Studies: chapters x seeds (x a parameter grid) through papermill, aggregated into one table.

A study is a list of jobs; a job is one self-contained command, the same one a user (or a
cluster scheduler) can run by hand::

    asd run notebooks/03_system1.py -p profile demo -p seed 1 \\
        -o runs/demo/study/<name>/notebooks/03_system1-seed1.ipynb --quiet

Every job writes its results into the chapter's own run folder (``asdlib.book.runs``: keyed by
chapter, data and settings, the seed among them), so the seeds never share a folder. The
job's process is given ``ASD_RUN_LOG`` (``asdlib.book.runs``): each ``RunFolder.open`` appends
the folder it opened there, which is how the study finds a job's results without guessing.

``aggregate`` reads every ``metrics.csv`` of those folders into one tidy table (chapter,
seed, parameters, folder, backend, machine type, AUC-s, AUC-t, pAUC, official), written to
``benchmarks/results/study_<profile>.csv`` with a JSON beside it (command, commit, data
fingerprint, jobs and their times) that chapter 07 reads.

Command line: ``asd study --profile demo --seeds 0 1 2 --workers 2 [--scheduler ADDRESS]
[--only 02 03 ...] [--grid 03_system1:contrastive_weight=0,1] [--dry-run]``. The jobs run on
a Dask cluster (``asdlib.book.engine``): local processes by default, any running scheduler
with ``--scheduler``.
Seeds: seed ``s`` runs a chapter with ``seed = <its default seed> + s`` (chapter 02's
default is the official baseline's 13711), so seed 0 is exactly the book's run.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from asdlib import profiles
from asdlib.book import results
from asdlib.paths import REPO_ROOT
from asdlib.book.chapters import CHAPTERS, STUDY_CHAPTERS, prerequisites
from asdlib.book.runs import RUN_LOG_ENV, RUNS_ROOT, RunFolder, _now, _rel, _write_json, opened_folders
from asdlib.runtime import git_commit

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"


@dataclass
class StudyJob:
    """One chapter run with its parameters: what it runs, where it writes, how it went."""

    notebook: Path
    seed: int  # the study's seed index (0, 1, ...), not the chapter's seed value
    parameters: dict
    output: Path
    run_log: Path
    status: str = "planned"
    seconds: float | None = None
    run_folders: list = field(default_factory=list)
    fixed: tuple = ()  # parameters every job of the study gets (the registry's, -p): not in the name

    @property
    def name(self) -> str:
        extra = "".join(f"-{k}{v}" for k, v in self.parameters.items() if k not in ("profile", "seed", *self.fixed))
        return f"{self.notebook.stem}-seed{self.seed}{extra}"

    def command(self) -> list[str]:
        from asdlib.book.runner import run_command

        return run_command(self.notebook, self.parameters, self.output)

    def record(self) -> dict:
        return {"job": self.name, "notebook": _rel(self.notebook), "seed": self.seed, "parameters": self.parameters,
                "fixed": list(self.fixed),
                "command": self.shell(), "status": self.status, "seconds": self.seconds,
                "run_folders": self.run_folders, "finished": _now()}

    @classmethod
    def from_record(cls, rec: dict, folder: Path) -> "StudyJob":
        job = cls(REPO_ROOT / rec["notebook"], rec["seed"], rec["parameters"], output=Path(),
                  run_log=folder / "run_logs" / f"{rec['job']}.jsonl", status=rec["status"], seconds=rec["seconds"],
                  run_folders=rec["run_folders"], fixed=tuple(rec.get("fixed", ())))
        return job

    def shell(self) -> str:
        return f"{RUN_LOG_ENV}={shlex.quote(_rel(self.run_log))} " + " ".join(shlex.quote(c) for c in self.command())


def default_seed(notebook: Path) -> int:
    """The ``seed`` default in a chapter's parameters cell (0 when it has none)."""
    m = re.search(r"^seed:\s*int\s*=\s*(\d+)", notebook.read_text(), flags=re.M)
    return int(m.group(1)) if m else 0


def plan(profile: str, seeds: Iterable[int], notebooks: Iterable[Path], grid: Mapping[str, Mapping[str, list]] | None = None,
         name: str | None = None, runs_root: Path = RUNS_ROOT,
         common: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[Path, list[StudyJob]]:
    """The study folder and its jobs: every notebook x seed x the notebook's grid points. Every job
    of a notebook also gets the registry's study parameters (``CHAPTERS[stem].study``) and
    ``common[stem]`` (``-p NAME VALUE``); those are left out of the job names."""
    profiles.check(profile)
    seeds = list(seeds)
    name = name or f"seeds{'-'.join(map(str, seeds))}"
    folder = Path(runs_root) / profile / "study" / name
    jobs = []
    for nb in notebooks:
        nb_grid = dict((grid or {}).get(nb.stem, {}))
        keys = sorted(nb_grid)
        for s in seeds:
            for values in itertools.product(*(nb_grid[k] for k in keys)) if keys else [()]:
                fixed = {**(CHAPTERS[nb.stem].study if nb.stem in CHAPTERS else {}), **(common or {}).get(nb.stem, {})}
                fixed = {k: v for k, v in fixed.items() if k not in keys}  # a grid over a key wins
                params = {"profile": profile, "seed": default_seed(nb) + s, **fixed, **dict(zip(keys, values))}
                job = StudyJob(nb, s, params, output=Path(), run_log=Path(), fixed=tuple(fixed))
                job.output = folder / "notebooks" / f"{job.name}.ipynb"
                job.run_log = folder / "run_logs" / f"{job.name}.jsonl"
                jobs.append(job)
    return folder, jobs


def _record(job: StudyJob, outcome) -> StudyJob:
    """A job's record beside its run log: status, time and the run folders it opened."""
    job.seconds, job.status = outcome.seconds, outcome.status
    job.run_folders = opened_folders(job.run_log)
    _write_json(job.run_log.with_suffix(".json"), job.record())
    return job


def finished(job: StudyJob) -> bool:
    """The job ended ok earlier with the same parameters and every run folder it opened is
    still there and complete: running it again would redo the same work."""
    try:
        rec = json.loads(job.run_log.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return False
    folders = [Path(r) if Path(r).is_absolute() else REPO_ROOT / r for r in rec.get("run_folders", [])]
    complete = all(RunFolder(f).complete for f in folders)
    if rec.get("status") == "ok" and rec.get("parameters") == job.parameters and folders and complete:
        job.status, job.seconds, job.run_folders = "ok", rec.get("seconds"), rec["run_folders"]
        return True
    return False


def run_study(jobs: list[StudyJob], workers: int = 1, log=print, scheduler: str | None = None,
              rerun: bool = False) -> list[StudyJob]:
    """Run the jobs on a Dask cluster (``asdlib.book.engine``: ``workers`` local processes, or
    ``scheduler``), lower seeds first. A job of a chapter that reads other chapters' runs
    (``chapters.READS_RUNS_OF``: 06 reads 03-05) waits until the jobs of those chapters with the
    same seed have ended (ok or not). Each job's output goes to ``run_logs/<job>.log``. A job
    that :func:`finished` earlier is not run again unless ``rerun``."""
    from asdlib.book import engine

    needs = prerequisites(dict.fromkeys(j.notebook.stem for j in jobs))
    by_name = {j.name: j for j in jobs}
    skipped = [] if rerun else [j.name for j in jobs if finished(j)]
    if skipped:
        log(f"{len(skipped)} job(s) ended ok earlier with complete run folders, not rerun: {', '.join(skipped)}")
    specs = []
    for job in sorted((j for j in jobs if j.name not in skipped), key=lambda j: j.seed):
        job.run_log.parent.mkdir(parents=True, exist_ok=True)
        job.run_log.unlink(missing_ok=True)  # this job's folders only, never an earlier attempt's
        waits = tuple(o.name for o in jobs if o.seed == job.seed and o.notebook.stem in needs[job.notebook.stem])
        specs.append(engine.Job(job.name, job.command(), needs=waits, log=job.run_log.with_suffix(".log"),
                                env={RUN_LOG_ENV: str(job.run_log)}))
    engine.run_jobs(specs, workers, scheduler, log, on_end=lambda spec, out: _record(by_name[spec.name], out))
    return jobs


def recorded_jobs(folder: Path) -> list[StudyJob]:
    """Every job that ran in a study folder (its latest record), also those of earlier
    invocations: a study can be extended (another chapter, more seeds) and re-aggregated."""
    return [StudyJob.from_record(json.loads(p.read_text()), folder)
            for p in sorted((Path(folder) / "run_logs").glob("*.json"))]


def aggregate(jobs: list[StudyJob]) -> pd.DataFrame:
    """One tidy row per (job, system folder, backend, machine type) from the metrics files of
    every run folder the jobs opened (``results.run_metrics``); percent."""
    parts = []
    for job in jobs:
        for root in job.run_folders:
            config = json.loads((Path(root) / "config.json").read_text()) if (Path(root) / "config.json").is_file() else {}
            rows = results.run_metrics(root)
            if rows.empty:
                continue
            extra = {f"param_{k}": v for k, v in job.parameters.items() if k not in ("profile", "seed")}
            rows.insert(0, "chapter", job.notebook.stem)
            rows.insert(1, "seed", job.seed)
            rows.insert(2, "chapter_seed", job.parameters["seed"])
            for i, (k, v) in enumerate(extra.items()):
                rows.insert(3 + i, k, v)
            rows["data_fingerprint"] = config.get("data_fingerprint", "")
            rows["run_folder"] = _rel(root)
            parts.append(rows)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def write_results(table: pd.DataFrame, jobs: list[StudyJob], profile: str, argv: list[str],
                  out_dir: Path = RESULTS_DIR) -> Path:
    """``study_<profile>.csv`` + ``.json`` (command, commit, data, jobs with status and time)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"study_{profile}.csv"
    table.to_csv(csv_path, index=False)
    fingerprints = sorted(set(table.get("data_fingerprint", pd.Series(dtype=str)).dropna()))
    _write_json(csv_path.with_suffix(".json"), {
        "command": "asd " + " ".join(argv),
        "created": _now(), "commit": git_commit(), "profile": profile,
        "data_fingerprints": fingerprints,
        "jobs": [{"job": j.name, "command": j.shell(), "status": j.status, "seconds": j.seconds,
                  "run_folders": j.run_folders} for j in jobs],
        "csv": csv_path.name,
    })
    return csv_path


def parse_grid(items: Iterable[str]) -> dict[str, dict[str, list]]:
    """``NB:KEY=V1,V2`` items -> ``{notebook stem: {key: [values]}}`` (values as YAML scalars)."""
    from asdlib.book.runner import find_notebooks, parse_value, split_assignment

    out: dict[str, dict[str, list]] = {}
    for item in items:
        target, key, values = split_assignment(item, "--grid", "NOTEBOOK:KEY=V1,V2,...")
        matches = find_notebooks(names=[target])
        if len(matches) != 1:
            raise SystemExit(f"--grid {item!r}: {target!r} matches {len(matches)} notebooks")
        out.setdefault(matches[0].stem, {})[key] = [parse_value(v) for v in values.split(",")]
    return out


def main(args, argv: list[str]) -> int:
    """``asd study`` (arguments parsed by ``asdlib.book.runner``)."""
    from asdlib.book.runner import declared_parameters, find_notebooks

    notebooks = find_notebooks(names=args.only or list(STUDY_CHAPTERS))
    if not notebooks:
        raise SystemExit(f"no notebooks match {args.only}")
    grid = parse_grid(args.grid)
    for stem, keys in grid.items():
        nb = next((n for n in notebooks if n.stem == stem), None)
        unknown = set(keys) - declared_parameters(nb) if nb else set()
        if nb is None or unknown:
            raise SystemExit(f"--grid {stem}: " + (f"parameters {sorted(unknown)} are not in its parameters cell"
                                                   if nb else "that notebook is not part of this study"))
    from asdlib.book.runner import cli_parameters

    common = {nb.stem: {k: v for k, v in cli_parameters(args.parameter).items() if k in declared_parameters(nb)}
              for nb in notebooks}
    folder, jobs = plan(args.profile, args.seeds, notebooks, grid, args.name, common=common)
    print(f"study {_rel(folder)}: {len(jobs)} jobs ({len(notebooks)} chapters x {len(args.seeds)} seeds"
          + (f" x grid {grid}" if grid else "") + f"), {args.workers} worker(s)")
    if args.dry_run:
        for j in jobs:
            print(j.shell())
        return 0
    t0 = time.perf_counter()
    try:
        run_study(jobs, workers=args.workers, scheduler=args.scheduler, rerun=args.rerun,
                  log=lambda msg: print(msg, flush=True))
    except KeyboardInterrupt:
        print("\nINTERRUPTED (Ctrl-C): the study stopped. Run the same command again: the jobs that ended ok "
              "are not rerun, the others continue from their checkpoints.", file=sys.stderr)
        return 130
    everything = recorded_jobs(folder)  # this run's jobs and any earlier ones of the same study
    table = aggregate([j for j in everything if j.status == "ok"])
    failed = [j.name for j in jobs if j.status != "ok"]
    path = write_results(table, everything, args.profile, argv, Path(args.results_dir))
    print(f"{len(table)} rows from {sum(len(j.run_folders) for j in everything)} run folders of {len(everything)} "
          f"jobs -> {_rel(path)} "
          f"(+ {path.with_suffix('.json').name}); {len(jobs) - len(failed)}/{len(jobs)} jobs ok "
          f"in {time.perf_counter() - t0:.0f} s")
    if failed:
        print(f"FAILED jobs (their rows are missing; their logs are in {_rel(folder)}/run_logs/; the same command "
              f"reruns only them): {failed}", file=sys.stderr)
        return 1
    return 0
