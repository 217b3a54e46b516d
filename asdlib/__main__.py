"""``asd``: the book's one command (also ``python -m asdlib``).

    asd synth --profile demo                      generate the embedded synthetic data set
    asd scan DATA_ROOT                            check a data root before training
    asd import SRC --out DIR                      your own recordings into the DCASE layout
    asd download dev|additional|eval [--out DIR]  the real DCASE 2024 archives
    asd run notebooks/02_baselines.py -p profile demo     one chapter, with parameters
    asd run-all --profile demo [--workers 2]      every chapter, into book/chapters/
    asd study --profile demo --seeds 0 1 2        chapters x seeds (x a grid) into one table
    asd sensitivity --seeds 0 1 2                 one property of the data at a time: when the learned systems win
    asd verify RUN_FOLDER                         re-execute a run and compare its metrics
    asd score RUN_FOLDER clip.wav ...             score clips with a run's fitted detectors
    asd evaluate SUBMISSION_DIR --ground-truth DIR    official metrics of a submission folder

``asd SUBCOMMAND --help`` gives each one's options.
"""

from __future__ import annotations

import importlib
import sys

#: sub-command -> (module, whether its ``main`` takes the sub-command name as its first argument)
COMMANDS = {
    "synth": ("asdlib.synth.cli", False),
    "scan": ("asdlib.data.layout", False),
    "import": ("asdlib.data.importing", False),
    "download": ("asdlib.data.download", False),
    "run": ("asdlib.book.cli", True),
    "run-all": ("asdlib.book.cli", True),
    "study": ("asdlib.book.cli", True),
    "verify": ("asdlib.book.cli", True),
    "sensitivity": ("asdlib.book.sensitivity", False),
    "score": ("asdlib.book.score", False),
    "evaluate": ("asdlib.evaluation.submission", False),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"asd: unknown command {name!r}; the commands are: {', '.join(COMMANDS)} (asd --help)",
              file=sys.stderr)
        return 2
    module, with_name = COMMANDS[name]
    return importlib.import_module(module).main([name, *rest] if with_name else rest) or 0


if __name__ == "__main__":
    sys.exit(main())
