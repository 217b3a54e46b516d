"""``asd run``, ``asd run-all``, ``asd study`` and ``asd verify``: the runner's command line.

The runner (``book.runner``), the study (``book.study``) and the verifier (``book.verify``) do
the work; this module only parses their arguments.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from asdlib.book import runner
from asdlib.book.runner import (CHAPTERS_DIR, DEFAULT_CELL_TIMEOUT, NOTEBOOKS_DIR, NotebookFailed, _parse_overrides,
                                cli_parameters, declared_parameters, find_notebooks, run_all, run_notebook)
from asdlib.book.runs import RUNS_ROOT, _rel
from asdlib.paths import REPO_ROOT


def _resolve_notebook(arg: str) -> Path:
    p = Path(arg)
    if p.suffix == ".py" and p.is_file():
        return p
    matches = find_notebooks(NOTEBOOKS_DIR, [p.stem])
    if len(matches) != 1:
        raise SystemExit(f"{arg!r} matches {len(matches)} notebooks: {[m.stem for m in matches]}")
    return matches[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asd", description=runner.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p_all = sub.add_parser("run-all", help="execute every notebooks/NN_*.py into book/chapters/")
    p_all.add_argument("--profile", default="demo", help="dataset/training size: ci, demo, full (default demo)")
    p_all.add_argument("--only", nargs="+", metavar="NAME", help="run only these notebooks (stem or NN prefix)")
    p_all.add_argument("--set", action="append", default=[], metavar="NB:KEY=VALUE",
                       help="extra parameter for one notebook, e.g. 02_baselines:epochs=5 (repeatable)")
    p_all.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                       help="parameter for every notebook that declares it, e.g. -p data_root /data/dev_data")
    p_all.add_argument("--out-dir", type=Path, default=CHAPTERS_DIR)
    p_all.add_argument("--restart", action="store_true",
                       help="pass restart=True to notebooks that train (fresh models, no old checkpoints)")
    p_all.add_argument("--timeout", type=float, default=DEFAULT_CELL_TIMEOUT, help="per-cell seconds")
    p_all.add_argument("--quiet", action="store_true", help="no cell progress, no streamed cell output")
    p_all.add_argument("--workers", type=int, default=1,
                       help="notebooks at once, each a `run` process logging to runs/<profile>/logs/<name>.log; a "
                            "chapter waits for the chapters whose runs it reads (default 1: in order, in this process)")
    p_all.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="run the chapters on this Dask scheduler (e.g. tcp://head:8786; default: "
                            "$DASK_SCHEDULER_ADDRESS, else a local cluster of --workers processes when --workers > 1)")
    p_all.add_argument("--resume", action="store_true",
                       help="skip the chapters that ended ok in the previous run-all with the same parameters")

    p_one = sub.add_parser("run", help="execute one notebook with parameters")
    p_one.add_argument("notebook", help="notebooks/NN_name.py (or its stem / NN prefix)")
    p_one.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                       metavar=("NAME", "VALUE"), help="parameter (value read as a YAML scalar)")
    p_one.add_argument("-o", "--output", type=Path,
                       help="executed notebook (default runs/<profile>/notebooks/<name>.ipynb)")
    p_one.add_argument("--timeout", type=float, default=DEFAULT_CELL_TIMEOUT, help="per-cell seconds")
    p_one.add_argument("--log-output", action="store_true", help="also log rich outputs (tables) as text")
    p_one.add_argument("--cwd", type=Path, default=NOTEBOOKS_DIR,
                       help="folder the kernel starts in (default notebooks/)")
    p_one.add_argument("--quiet", action="store_true", help="no cell progress, no streamed cell output")

    p_study = sub.add_parser("study", help="chapters x seeds (x a grid) into separate run folders, one results table")
    p_study.add_argument("--profile", default="demo", help="dataset/training size (default demo)")
    p_study.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                         help="seed indices: a chapter runs with its default seed + each (default 0 1 2)")
    p_study.add_argument("--only", nargs="+", metavar="NAME", help="chapters (default 02 03 04 05 06)")
    p_study.add_argument("--grid", action="append", default=[], metavar="NB:KEY=V1,V2",
                         help="parameter grid for one chapter, e.g. 03_system1:contrastive_weight=0,1 (repeatable)")
    p_study.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                         help="parameter for every job whose chapter declares it, e.g. -p data_root /data/dev_data")
    p_study.add_argument("--workers", type=int, default=1, help="jobs at once on a local Dask cluster (default 1)")
    p_study.add_argument("--scheduler", metavar="ADDRESS", default=None,
                         help="run the jobs on this Dask scheduler instead (default: $DASK_SCHEDULER_ADDRESS, else local)")
    p_study.add_argument("--rerun", action="store_true",
                         help="run every job again, also those that ended ok with complete run folders")
    p_study.add_argument("--name", default=None, help="study folder name under runs/<profile>/study/")
    p_study.add_argument("--results-dir", default=str(REPO_ROOT / "benchmarks" / "results"),
                         help="where study_<profile>.csv/.json go (default benchmarks/results)")
    p_study.add_argument("--dry-run", action="store_true", help="print the jobs' commands and stop")

    p_verify = sub.add_parser("verify", help="re-execute a run from its recorded config and compare its metrics")
    p_verify.add_argument("run_folder", type=Path, help="a complete run folder (runs/<profile>/<chapter>/<name>)")
    p_verify.add_argument("--tolerance", type=float, default=1e-6,
                          help="largest absolute difference accepted per metric (default 1e-6: same seed, same machine)")
    p_verify.add_argument("--keep", action="store_true", help="keep the temporary folder of the re-execution")
    p_verify.add_argument("--notebooks-dir", type=Path, default=NOTEBOOKS_DIR,
                          help="where the chapter's notebook is, for a run without invocation.json")
    p_verify.add_argument("--quiet", action="store_true", help="no cell progress, no streamed cell output")

    args = parser.parse_args(argv)
    if args.command == "study":
        from asdlib.book import study

        return study.main(args, list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("papermill").setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        if args.command == "run-all":
            overrides = _parse_overrides(args.set)
            for src in find_notebooks(NOTEBOOKS_DIR, args.only):  # -p NAME VALUE: every notebook declaring NAME
                for name, value in args.parameter:
                    if name in declared_parameters(src):
                        overrides.setdefault(src.stem, {}).setdefault(name, cli_parameters([(name, value)])[name])
            run_all(args.profile, out_dir=args.out_dir, names=args.only,
                    overrides=overrides, timeout=args.timeout, restart=args.restart,
                    progress=not args.quiet, workers=args.workers,
                    scheduler=args.scheduler, resume=args.resume, log=lambda msg: print(msg, flush=True))
        elif args.command == "verify":
            from asdlib.book.verify import verify_run

            return 0 if verify_run(args.run_folder, tolerance=args.tolerance, keep=args.keep,
                                   progress=not args.quiet, notebooks_dir=args.notebooks_dir).ok else 1
        else:
            src = _resolve_notebook(args.notebook)
            params = cli_parameters(args.parameter)
            out = args.output or RUNS_ROOT / str(params.get("profile", "default")) / "notebooks" / f"{src.stem}.ipynb"
            print(f"running {_rel(src)} with {params} -> {_rel(out)}")
            t0 = time.perf_counter()
            run_notebook(src, out, params, cwd=args.cwd, timeout=args.timeout, log_output=args.log_output,
                         progress=not args.quiet)
            print(f"ok in {time.perf_counter() - t0:.1f} s: {_rel(out)}")
    except NotebookFailed as exc:
        print(f"\nERROR: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:  # unknown notebook, unwritable output path...
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "run-all":
            print("\nINTERRUPTED (Ctrl-C): run-all stopped. Add --resume to the same command to run only the "
                  "chapters that did not end ok; training continues from the last checkpoint.", file=sys.stderr)
            return 130
        print("\nINTERRUPTED (Ctrl-C): the run stopped. Run the same command again to resume: training "
              "continues from the last checkpoint (saved after every epoch), finished models are loaded. "
              "Its run folder stays marked incomplete until then.", file=sys.stderr)
        return 130
    return 0

