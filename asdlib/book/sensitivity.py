"""The sensitivity study: when do the learned systems beat the converged baselines?

One property of the generated data at a time is moved away from the book's default data
(demo profile, generator version 2, 7 development types, 190 + 10 train clips of 5 s per
type), every other setting kept: the systems run with the book's settings, unchanged
across the study, and the autoencoders at the official 100 epochs. ``CONDITIONS`` lists
the levels, each a ``Condition``; the default data are a level of every factor.

A cell is (condition, seed). Seed ``s`` draws the data with generator seed ``s`` and trains
every system with its chapter's seed + ``s``, so the noise verdicts cover both the data draw
and the training. A cell's jobs are the same commands a user runs by hand::

    asd synth --profile demo --seed 1 --out data/synthetic/sensitivity/demo-clips-100-seed1 --n-train-source 100
    ASD_RUNS_DIR=runs/sensitivity/clips-100 asd run notebooks/02_baselines.py -p profile demo \\
        -p seed 13712 -p data_root data/synthetic/sensitivity/demo-clips-100-seed1 -p epochs 100 ... --quiet

Each condition keeps its chapter runs under ``runs/sensitivity/<condition>/`` (so System-4
reads the members of its own condition), each job's record (command, status, seconds, run
folders) under ``runs/sensitivity/<profile>/jobs/``. A job whose record says ``ok`` is not
run again: the study resumes where a stopped session left it (``--budget-minutes`` starts
nothing new after that long). ``aggregate`` reads every finished cell into
``benchmarks/results/sensitivity_<profile>.csv`` (condition, seed, system, machine type,
AUC-s, AUC-t, pAUC, official), with a JSON beside it (conditions, jobs and their times,
commit); chapter 09 reads those.

Command line: ``asd sensitivity [--profile demo] [--seeds 0 1 2] [--factors clips nuisance]
[--workers 2] [--budget-minutes 120] [--dry-run] [--aggregate-only]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from asdlib.book import evidence
from asdlib.book.chapters import CHAPTERS
from asdlib.book.runs import RUN_LOG_ENV, _now, _rel, _write_json, opened_folders
from asdlib.paths import REPO_ROOT, data_root
from asdlib.runtime import git_commit

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
RUNS_DIR = REPO_ROOT / "runs" / "sensitivity"
NOTEBOOKS = REPO_ROOT / "notebooks"
AE_EPOCHS = 100  # the official baseline's schedule: the baselines the learned systems must beat
SYSTEMS = ("AE-MSE", "AE-MAHALA", "System-1", "System-2", "System-3", "System-4")
CHAPTER_ORDER = ("02_baselines", "03_system1", "04_system2", "05_system3", "06_ensemble")
DEV_TYPES = ("synFan", "synGearbox", "synSlider", "synValve", "synBearing", "synToyCar", "synToyTrain")
#: The 4-type level: two types with hidden attributes, two with attributes (as DCASE mixes them).
FOUR_TYPES = ("synFan", "synGearbox", "synSlider", "synBearing")


@dataclasses.dataclass(frozen=True)
class Condition:
    """One level of one factor: how its data are generated and how the systems train on them."""

    factor: str  # "types", "clips", "nuisance", "domain_shift", "fault"; "default" for the centre
    level: str  # the level's name, e.g. "100", "harsh", "microphone"
    axis: float  # where it sits on the factor's axis (order; numeric where the factor is a number)
    types: tuple[str, ...] | None = None  # development types (None: all 7)
    n_train_source: int | None = None  # source train clips per type (None: the profile's 190)
    version: int | None = None  # generator version (None: the default, 2)
    scenario: tuple[tuple[str, object], ...] = ()  # asdlib.synth.scenario knobs
    additional: bool = False  # Systems 1-3 also train on the 9 additional types' train clips (16 types)

    @property
    def name(self) -> str:
        return "default" if self.factor == "default" else f"{self.factor}-{self.level}"

    def data_key(self) -> str:
        """What the data depend on ('' for the default data): conditions that share it share data."""
        parts = []
        if self.types is not None:
            parts.append(f"{len(self.types)}types")
        if self.n_train_source is not None:
            parts.append(f"{self.n_train_source}clips")
        if self.version is not None:
            parts.append(f"v{self.version}")
        parts += [f"{k}-{v}" for k, v in self.scenario]
        return "_".join(parts)

    def synth_arguments(self) -> list[str]:
        args = []
        if self.types is not None:
            args += ["--types", *self.types]
        if self.n_train_source is not None:
            args += ["--n-train-source", str(self.n_train_source)]
        if self.version is not None:
            args += ["--version", str(self.version)]
        for k, v in self.scenario:
            args += ["--" + k.replace("_", "-"), str(v)]
        return args


def _fault(family: str, axis: float) -> Condition:
    from asdlib.synth.scenario import types_with_family

    return Condition("fault", family, axis, types=tuple(types_with_family(DEV_TYPES, family)),
                     scenario=(("fault_family", family),))


#: The study's levels, factor by factor (the default data are each factor's default level).
CONDITIONS: tuple[Condition, ...] = (
    Condition("default", "default", 0.0),
    Condition("types", "4", 4.0, types=FOUR_TYPES),
    Condition("types", "16", 16.0, additional=True),
    Condition("clips", "100", 100.0, n_train_source=100),
    Condition("clips", "400", 400.0, n_train_source=400),
    Condition("nuisance", "clean", 0.0, version=1),
    Condition("nuisance", "harsh", 2.0, scenario=(("snr_shift_db", -6.0), ("impact_rate", 3.0))),
    Condition("domain_shift", "operating", 1.0, scenario=(("domain_shift", "operating"),)),
    Condition("domain_shift", "microphone", 2.0, scenario=(("domain_shift", "microphone"),)),
    Condition("domain_shift", "background", 3.0, scenario=(("domain_shift", "background"),)),
    _fault("tonal", 1.0), _fault("broadband", 2.0), _fault("transient", 3.0),
)
#: Where the default data sit on each factor's axis, and what that level is called.
DEFAULT_LEVEL = {"types": ("7", 7.0), "clips": ("190", 190.0), "nuisance": ("default", 1.0),
                 "domain_shift": ("all", 0.0), "fault": ("all", 0.0)}
FACTORS = tuple(DEFAULT_LEVEL)
FACTOR_TITLES = {"types": "machine types the auxiliary task sees", "clips": "source train clips per type",
                 "nuisance": "nuisance (SNR, clanks)", "domain_shift": "what the domain shift changes",
                 "fault": "the family of the faults"}


def conditions(factors: Iterable[str] | None = None) -> list[Condition]:
    """The default data and the levels of ``factors`` (all by default)."""
    chosen = list(factors or FACTORS)
    unknown = set(chosen) - set(FACTORS)
    if unknown:
        raise SystemExit(f"unknown factors {sorted(unknown)}; choose from {list(FACTORS)}")
    return [c for c in CONDITIONS if c.factor == "default" or c.factor in chosen]


# --------------------------------------------------------------------------- jobs
@dataclasses.dataclass
class Job:
    """One command of the study: generate a data root, or run one chapter of one cell."""

    name: str
    command: list[str]
    env: dict
    needs: tuple[str, ...] = ()
    condition: str = ""
    seed: int = 0
    chapter: str = ""  # "" for a data job
    output: str = ""  # data root (data job)

    def shell(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        return (env + " " if env else "") + " ".join(shlex.quote(c) for c in self.command)


def data_folder(profile: str, cond: Condition, seed: int, part: str = "dev") -> Path:
    """The data root of a cell: the generated default root of its seed when the data are the
    default data, else a folder of its own under ``data/synthetic/sensitivity``."""
    from asdlib import synth

    if part == "additional" or not cond.data_key():
        return synth.default_root(profile, seed, part)
    return data_root(profile).parent / "sensitivity" / f"{profile}-{cond.data_key()}-seed{seed}"


def baseline_condition(cond: Condition, chosen: Sequence[Condition]) -> Condition:
    """The condition whose baselines ``cond`` shares: the autoencoders never see the additional
    types, so a condition that differs from another only by ``additional`` reuses its AEs."""
    for other in chosen:
        if other.data_key() == cond.data_key() and not other.additional:
            return other
    return cond


def plan(profile: str, seeds: Sequence[int], chosen: Sequence[Condition], folder: Path) -> list[Job]:
    """Every job of the study: per seed, the data roots, then per condition its five chapters."""
    from asdlib.book.runner import parameter_arguments
    from asdlib.book.study import default_seed

    py = [sys.executable, "-m", "asdlib"]
    jobs: dict[str, Job] = {}
    for s in seeds:
        for cond in chosen:
            root = data_folder(profile, cond, s)
            data_job = f"data-{cond.data_key() or 'default'}-seed{s}"
            if data_job not in jobs:
                jobs[data_job] = Job(data_job, py + ["synth", "--profile", profile, "--seed", str(s), "--out",
                                                    _rel(root), *cond.synth_arguments()], {}, seed=s, output=_rel(root))
            needs = [data_job]
            extra_roots = []
            if cond.additional:
                add_root = data_folder(profile, cond, s, "additional")
                add_job = f"data-additional-seed{s}"
                jobs.setdefault(add_job, Job(add_job, py + ["synth", "--profile", profile, "--seed", str(s), "--part",
                                                            "additional", "--out", _rel(add_root)], {}, seed=s,
                                             output=_rel(add_root)))
                needs.append(add_job)
                extra_roots = [str(add_root)]
            for chapter in CHAPTER_ORDER:
                if chapter == "02_baselines" and baseline_condition(cond, chosen) != cond:
                    continue  # the same autoencoders as another condition's
                nb = NOTEBOOKS / f"{chapter}.py"
                params = {"profile": profile, "seed": default_seed(nb) + s, "data_root": str(root)}  # run -p needs absolute paths
                if chapter == "02_baselines":
                    params.update(epochs=AE_EPOCHS, workers=1)
                elif chapter != "06_ensemble":
                    params.update(additional=cond.additional, compare_dev_only=False, ablations=False,
                                  additional_roots=extra_roots)
                name = f"{cond.name}-seed{s}-{chapter}"
                out = folder / "notebooks" / f"{name}.ipynb"
                chapter_needs = tuple(needs) + (tuple(f"{cond.name}-seed{s}-{c}" for c in CHAPTERS[chapter].reads
                                                      if c in CHAPTER_ORDER))
                jobs[name] = Job(name, py + ["run", _rel(nb), *parameter_arguments(params), "-o", _rel(out), "--quiet"],
                                 {"ASD_RUNS_DIR": _rel(RUNS_DIR / cond.name),
                                  RUN_LOG_ENV: _rel(folder / "run_logs" / f"{name}.jsonl")},
                                 chapter_needs, cond.name, s, chapter)
    return list(jobs.values())


def record_path(folder: Path, job: Job) -> Path:
    return folder / "jobs" / f"{job.name}.json"


def done(folder: Path, job: Job) -> bool:
    """A job whose last record says ok and whose results are still there (its run folders; for a
    data job, its data root)."""
    try:
        rec = json.loads(record_path(folder, job).read_text())
    except (OSError, ValueError):
        return False
    return (rec.get("status") == "ok" and all((REPO_ROOT / r).is_dir() for r in rec.get("run_folders", []))
            and (not job.output or (REPO_ROOT / job.output).is_dir()))


def _record(folder: Path, job: Job, outcome) -> None:
    """A job's record: status, time, worker and the run folders it opened (from its run log)."""
    run_log = job.env.get(RUN_LOG_ENV)
    folders = sorted({_rel(root) for root in opened_folders(REPO_ROOT / run_log)}) if run_log else []
    _write_json(record_path(folder, job), {"job": job.name, "command": job.shell(), "status": outcome.status,
                                           "seconds": outcome.seconds, "worker": outcome.worker,
                                           "condition": job.condition, "seed": job.seed, "chapter": job.chapter,
                                           "run_folders": folders, "finished": _now(), "commit": git_commit()})


def run(folder: Path, jobs: list[Job], workers: int = 2, budget_minutes: float | None = None, log=print,
        scheduler: str | None = None) -> dict:
    """Run the jobs not yet done on a Dask cluster (``asdlib.book.engine``: ``workers`` local
    processes, or ``scheduler``), in seed order (every condition's seed 0 first); a job waits
    for its data and, for System-4, its members. After ``budget_minutes`` nothing new starts
    (what runs ends normally). Returns ``{job name: Outcome}``."""
    from asdlib.book import engine

    todo = sorted((j for j in jobs if not done(folder, j)), key=lambda j: j.seed)  # stable: plan order within a seed
    by_name = {j.name: j for j in todo}
    specs = []
    for j in todo:
        run_log = j.env.get(RUN_LOG_ENV)
        if run_log:  # this job's folders only, never an earlier attempt's
            (REPO_ROOT / run_log).parent.mkdir(parents=True, exist_ok=True)
            (REPO_ROOT / run_log).unlink(missing_ok=True)
        specs.append(engine.Job(j.name, j.command, needs=tuple(n for n in j.needs if n in by_name),
                                log=folder / "logs" / f"{j.name}.log",
                                env={k: str(REPO_ROOT / v) for k, v in j.env.items()}))
    def ended(spec: engine.Job, out: engine.Outcome) -> None:
        if out.status != "not run":  # never started (the budget): no record, the next run picks it up
            _record(folder, by_name[spec.name], out)

    return engine.run_jobs(specs, workers, scheduler, log, budget_minutes=budget_minutes, on_end=ended)


# --------------------------------------------------------------------------- results
def aggregate(folder: Path, chosen: Sequence[Condition]) -> pd.DataFrame:
    """Tidy rows of every finished cell: condition, factor, level, axis, seed, system,
    machine_type, AUC-s, AUC-t, pAUC, official (percent); the ``Total`` rows carry the official score."""
    from asdlib.book.chapters import TABLE1_SOURCES

    out = []
    for cond in chosen:
        # every condition's rows, one system at a time (Table 1's sources: run sub-folder, back end)
        for system, (chapter, sub, backend) in TABLE1_SOURCES.items():
            if not cond.additional:
                sub = sub.removesuffix("_additional")
            source = baseline_condition(cond, chosen) if chapter == "02_baselines" else cond
            for rec_path in sorted((folder / "jobs").glob(f"{source.name}-seed*-{chapter}.json")):
                rec = json.loads(rec_path.read_text())
                if rec.get("status") != "ok":
                    continue
                rows = pd.concat([evidence.run_metrics(REPO_ROOT / r) for r in rec["run_folders"]], ignore_index=True)
                sel = rows[(rows.folder == sub) & (rows.backend.fillna("") == backend)]
                if sel.empty:
                    continue
                sel = sel.drop(columns=["folder", "backend"]).assign(
                    condition=cond.name, factor=cond.factor, level=cond.level, position=cond.axis,
                    seed=rec["seed"], system=system, seconds=rec.get("seconds"))
                out.append(sel)
    if not out:
        return pd.DataFrame()
    table = pd.concat(out, ignore_index=True)
    first = ["condition", "factor", "level", "position", "seed", "system", "machine_type"]
    return table[first + [c for c in table.columns if c not in first]]


def write_results(table: pd.DataFrame, folder: Path, jobs: list[Job], chosen: Sequence[Condition], profile: str,
                  argv: Sequence[str], out_dir: Path = RESULTS_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"sensitivity_{profile}.csv"
    table.to_csv(path, index=False)
    records = []
    for j in jobs:
        try:
            rec = json.loads(record_path(folder, j).read_text())
        except (OSError, ValueError):
            rec = {"job": j.name, "command": j.shell(), "status": "not run"}
        # the commands as a user types them in the repository: no machine's paths
        rec["command"] = rec.get("command", j.shell()).replace(sys.executable, "python").replace(f"{REPO_ROOT}/", "")
        records.append(rec)
    _write_json(path.with_suffix(".json"), {
        "command": "asd sensitivity " + " ".join(argv), "created": _now(), "commit": git_commit(),
        "profile": profile, "ae_epochs": AE_EPOCHS, "seeds": sorted({j.seed for j in jobs}),
        "conditions": [{**dataclasses.asdict(c), "name": c.name, "data_key": c.data_key()} for c in chosen],
        "default_level": DEFAULT_LEVEL, "jobs": records,
        "compute_seconds": round(sum(r.get("seconds") or 0 for r in records), 1), "csv": path.name})
    return path


# --------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="asd sensitivity", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--factors", nargs="+", default=None, choices=FACTORS)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", metavar="ADDRESS", default=None,
                    help="run the jobs on this Dask scheduler (default: $DASK_SCHEDULER_ADDRESS, else a local cluster "
                         "of --workers processes)")
    ap.add_argument("--budget-minutes", type=float, default=None, help="start nothing new after this long")
    ap.add_argument("--dry-run", action="store_true", help="print the jobs still to run and stop")
    ap.add_argument("--aggregate-only", action="store_true", help="only write the results of the finished cells")
    ap.add_argument("--results-dir", default=str(RESULTS_DIR))
    args = ap.parse_args(argv)
    chosen = conditions(args.factors)
    folder = RUNS_DIR / args.profile
    jobs = plan(args.profile, args.seeds, chosen, folder)
    todo = [j for j in jobs if not done(folder, j)]
    print(f"sensitivity study {_rel(folder)}: {len(chosen)} conditions x {len(args.seeds)} seeds, "
          f"{len(jobs)} jobs, {len(todo)} still to run, {args.workers} worker(s)")
    if args.dry_run:
        for j in todo:
            print(j.shell())
        return 0
    ok = True
    if not args.aggregate_only and todo:
        try:
            ended = run(folder, jobs, args.workers, args.budget_minutes, log=lambda msg: print(msg, flush=True),
                        scheduler=args.scheduler)
        except KeyboardInterrupt:
            print("\nINTERRUPTED (Ctrl-C): the study stopped. Run the same command again: finished jobs are not "
                  "rerun (their run folders are complete), the others start afresh or from their checkpoints.",
                  file=sys.stderr)
            return 130
        ok = all(o.status == "ok" for o in ended.values())
    table = aggregate(folder, chosen)
    path = write_results(table, folder, jobs, chosen, args.profile, argv, Path(args.results_dir))
    cells = table.groupby(["condition", "seed"]).ngroups if len(table) else 0
    print(f"{cells} cells with results -> {_rel(path)}; {sum(done(folder, j) for j in jobs)}/{len(jobs)} jobs done")
    return 0 if ok else 1


# --------------------------------------------------------------------------- reading (chapter 08)
def stored_profile(profile: str) -> str:
    """The profile whose stored study a chapter at ``profile`` reads: the study is never run at
    ``ci`` (the tests read the book's demo study), every other profile reads its own."""
    return "demo" if profile == "ci" else profile


def load(profile: str = "demo", path: str | Path | None = None) -> tuple[pd.DataFrame, dict]:
    """The stored study: its tidy table (``Total`` rows only) and its JSON (empty when absent)."""
    path = Path(path) if path else RESULTS_DIR / f"sensitivity_{profile}.csv"
    if not path.is_file():
        return pd.DataFrame(), {}
    table = pd.read_csv(path).rename(columns={"axis": "position"})  # (the first tables' name for it)
    info_path = path.with_suffix(".json")
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    return table[table.machine_type == "Total"].reset_index(drop=True), info


def by_factor(totals: pd.DataFrame) -> pd.DataFrame:
    """Each factor's levels with the default data placed on its axis: the default condition's
    rows repeated once per factor (``level`` and ``position`` from ``DEFAULT_LEVEL``)."""
    if totals.empty:
        return totals.assign(is_default=pd.Series(dtype=bool))
    parts = [totals[totals.factor != "default"].assign(is_default=False)]
    base = totals[totals.factor == "default"]
    for factor, (level, axis) in DEFAULT_LEVEL.items():
        parts.append(base.assign(factor=factor, level=level, position=axis, is_default=True))
    return pd.concat(parts, ignore_index=True).sort_values(["factor", "position", "system", "seed"], ignore_index=True)


def summary(totals: pd.DataFrame, metrics: Sequence[str] = ("official", "AUC-t")) -> pd.DataFrame:
    """Mean, std (ddof 1) and seed count per (factor, level, system), for each metric."""
    rows = by_factor(totals)
    if rows.empty:
        return pd.DataFrame()
    g = rows.groupby(["factor", "position", "level", "system"], sort=True)
    out = g[list(metrics)].agg(["mean", "std"])
    out.columns = [f"{m} {s}" for m, s in out.columns]
    out["seeds"] = g.size()
    return out.reset_index()


def versus(totals: pd.DataFrame, reference: str = "AE-MAHALA", metric: str = "official") -> pd.DataFrame:
    """Each system minus ``reference`` (the converged autoencoder) per (factor, level), paired
    by seed: mean, 2 SE, seeds, verdict (``evidence.paired_difference``: ahead / behind beyond
    twice the standard error, level within)."""
    rows = by_factor(totals)
    if rows.empty:
        return pd.DataFrame()
    out = []
    for (factor, position, level), cell in rows.groupby(["factor", "position", "level"], sort=True):
        wide = cell.pivot_table(index="seed", columns="system", values=metric)
        if reference not in wide:
            continue
        for system in wide.columns.drop(reference):
            d = (wide[system] - wide[reference]).dropna()
            if len(d):
                row = evidence.paired_difference(d, outside="outside the seed noise", inside="inside the seed noise")
                out.append({"factor": factor, "position": position, "level": level, "system": system,
                            "is_default": bool(cell.is_default.any()),
                            **{k: row[k] for k in evidence.PAIRED_COLUMNS}})
    return pd.DataFrame(out)


def standing(row: pd.Series | dict) -> str:
    """'ahead', 'behind', 'level' (inside the noise) or 'one seed' for one ``versus`` row."""
    if row["verdict"] == evidence.ONE_SEED:
        return "one seed"
    if row["verdict"] == "inside the seed noise":
        return "level"
    return "ahead" if row["official"] > 0 else "behind"


def trend(diffs: pd.DataFrame, factor: str, system: str) -> float:
    """Least-squares slope of ``system``'s difference to the reference along ``factor``'s
    levels (per level step, in the levels' order; NaN with fewer than two levels)."""
    sel = diffs[(diffs.factor == factor) & (diffs.system == system)].sort_values("position")
    if len(sel) < 2:
        return float("nan")
    import numpy as np

    return float(np.polyfit(np.arange(len(sel)), sel.official.to_numpy(), 1)[0])


LEVEL_NAMES = {"types": "{} types", "clips": "{} clips", "nuisance": "{} nuisance", "domain_shift": "shift: {}",
               "fault": "{} faults"}


def level_name(factor: str, level: str) -> str:
    """How a level is named in prose: '4 types', 'harsh nuisance', 'shift: microphone'."""
    return LEVEL_NAMES.get(factor, "{}").format(level)


def factor_phrase(diffs: pd.DataFrame, factor: str, system: str) -> str:
    """One system's standing against the reference at each level of a factor, e.g. 'ahead at
    4 types (+3.1, 2 SE 1.2), level at 7 types (+0.4, 2 SE 1.9)'."""
    sel = diffs[(diffs.factor == factor) & (diffs.system == system)].sort_values("position")
    if sel.empty:
        return "not measured yet"
    parts = []
    for _, r in sel.iterrows():
        if pd.isna(r["2 SE"]):
            parts.append(f"{level_name(factor, r.level)}: {r.official:+.1f} (one seed)")
        else:
            parts.append(f"{standing(r)} at {level_name(factor, r.level)} ({r.official:+.1f}, 2 SE {r['2 SE']:.1f})")
    return "; ".join(parts)


def conditions_phrase(diffs: pd.DataFrame, system: str) -> str:
    """Where ``system`` is ahead of and behind the reference beyond the seed noise, over every
    measured level (the default data once)."""
    sel = diffs[diffs.system == system]
    default = sel[sel.is_default].head(1)  # the default data are a level of every factor: named once
    sel = pd.concat([default, sel[~sel.is_default].sort_values(["factor", "position"])])
    groups = {"ahead": [], "behind": [], "level": [], "one seed": []}
    for _, r in sel.iterrows():
        groups[standing(r)].append("the default data" if r.is_default else level_name(r.factor, r.level))
    said = []
    for key, words in (("ahead", "ahead beyond the seed noise at"), ("behind", "behind beyond the seed noise at"),
                       ("level", "level with it (within the noise) at"), ("one seed", "measured with one seed only at")):
        if groups[key]:
            said.append(f"{words} {', '.join(dict.fromkeys(groups[key]))}")
    return "; ".join(said) if said else "not measured yet"


def cost(info: dict) -> dict:
    """What a cell cost, from the stored study's job records: minutes of jobs per finished cell
    (its chapter runs; a cell counts once its System-4 ran), their range, the autoencoders'
    share of the chapter-job time, and the whole study's hours of jobs at that rate."""
    jobs = pd.DataFrame(info.get("jobs", []))
    if jobs.empty or "chapter" not in jobs:
        return {}
    ok = jobs[(jobs.status == "ok") & (jobs.chapter != "")]
    done = ok[ok.chapter == "06_ensemble"][["condition", "seed"]]
    cells = ok.merge(done, on=["condition", "seed"]).groupby(["condition", "seed"]).seconds.sum() / 60
    if cells.empty:
        return {}
    planned = len(info.get("conditions", [])) * len(info.get("seeds", []))
    data = jobs[(jobs.status == "ok") & (jobs.chapter == "")].seconds.mean()
    n_data = len(jobs[jobs.chapter == ""])
    return {"cells": len(cells), "min": float(cells.min()), "max": float(cells.max()),
            "ae_share": float(ok[ok.chapter == "02_baselines"].seconds.sum() / ok.seconds.sum()),
            "study_hours": float((cells.mean() * planned + (data if pd.notna(data) else 0) * n_data / 60) / 60)}


def headline(diffs: pd.DataFrame, reference: str = "AE-MAHALA") -> str:
    """The book's headline in one sentence: Systems 3 and 4 against the converged reference on
    the default data and in the report's setting (16 types), with their verdicts."""
    if diffs.empty:
        return f"the sensitivity study has no finished cell yet, so the comparison with {reference} at 100 epochs is open"
    said = []
    for where, level in (("on the book's default data", "7"), ("in the report's setting (16 types)", "16")):
        sel = diffs[(diffs.factor == "types") & (diffs.level == level) & diffs.system.isin(["System-3", "System-4"])]
        if sel.empty:
            said.append(f"{where} not measured yet")
            continue
        words = {"ahead": "is ahead by {:.1f} points", "behind": "is behind by {:.1f} points",
                 "level": "is level with it ({:+.1f} points)", "one seed": "stands at {:+.1f} points"}
        parts = [f"{r.system} " + words[standing(r)].format(abs(r.official) if standing(r) in ("ahead", "behind")
                                                             else r.official)
                 + (f" (2 SE {r['2 SE']:.1f}, {r.seeds} seeds)" if pd.notna(r["2 SE"]) else " (one seed)")
                 for _, r in sel.sort_values("system", ascending=False).iterrows()]
        said.append(f"{where} " + " and ".join(parts))
    return f"against {reference} trained its official 100 epochs, " + "; ".join(said)
