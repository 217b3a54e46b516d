# The two commands of the README:  make book   |   make test
# Both start from a fresh machine: they create .venv and install the pinned project first.
#
#   make venv      .venv with Python 3.11 + `pip install -e .` (again only when pyproject.toml changes)
#   make data      asd synth: the synthetic data of PROFILE, parts DATA_PARTS (default dev; skipped when present)
#   make ipynb     pair notebooks/*.py -> notebooks/*.ipynb (jupytext --sync)
#   make run       asd run-all --profile PROFILE (RUN_FLAGS): every chapter at its defaults -> book/chapters/
#   make book      venv + data (dev) + run (demo, --restart --workers 2, no progress bars) + jupyter-book build -W
#                  + the check of the built pages (asdlib.book.html_check); prints index.html
#   make test      venv + unit + nbval (what .ci/run runs)
#   make unit      the unit tests (pytest tests)
#   make nbval     ipynb + every notebook at its defaults (profile ci) under nbval
#   make study     seed study: asd study, chapters 02-06 x SEEDS (0 1 2), WORKERS (2) at once, data dev + additional
#   make sensitivity  the sensitivity study (chapter 08): asd sensitivity, resumable, BUDGET minutes per call
#                  -> benchmarks/results/study_<PROFILE>.csv (PROFILE=demo)
#   make lab       JupyterLab on the repository (.py notebooks open as notebooks; chapters default to profile ci)
#   make clean     remove generated notebooks, the built book and caches (not .venv, data, runs)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PROFILE ?= demo
VENV    ?= .venv
# Python 3.11 to build the venv from: python3.11, else python3 if that is 3.11.
PYTHON  ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)

PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-pyproject
NB_PY    = $(sort $(wildcard notebooks/[0-9][0-9]_*.py))
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: help venv data ipynb run book study sensitivity test unit check nbval lab clean

help:
	@sed -n '/^[^#]/q; s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

# --------------------------------------------------------------------------- environment
$(PY):
	@if [ -z "$(PYTHON)" ] || ! "$(PYTHON)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then \
	  echo "error: Python 3.11 is required to create $(VENV) (found: '$(PYTHON)')." >&2; \
	  echo "       Install python3.11 (e.g. apt-get install python3.11 python3.11-venv, or pyenv install 3.11)" >&2; \
	  echo "       or point to it: make $(MAKECMDGOALS) PYTHON=/path/to/python3.11" >&2; \
	  exit 1; \
	fi
	"$(PYTHON)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Re-install only when pyproject.toml is newer than the stamp (pip honours the machine's
# constraint file; the pins are within it).
$(STAMP): pyproject.toml | $(PY)
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "error: $(VENV) is not a Python 3.11 environment: remove it (rm -rf $(VENV)) and run make again." >&2; exit 1; }
	@echo "installing the pinned project into $(VENV) (first time: a few minutes, ~5 GB with torch)"
	@# torch's CUDA wheels are ~3 GB from PyPI: a dropped connection is retried by pip
	@# (--resume-retries) and then by this loop; wheels already fetched come from pip's cache.
	@for attempt in 1 2 3 4; do \
	  if time $(PY) -m pip install --progress-bar off --resume-retries 10 -e .; then break; fi; \
	  if [ $$attempt = 4 ]; then echo "error: pip install failed 4 times; see its messages above (network?)" >&2; exit 1; fi; \
	  echo "pip install failed (attempt $$attempt of 4); retrying in 30 s" >&2; sleep 30; \
	done
	@# umap-learn's numba functions compiled once into numba's disk cache (~30 s), not in every kernel
	@$(PY) -W ignore -c 'from asdlib.clustering.projection import precompile; print(f"UMAP compiled into numba'"'"'s cache in {precompile():.0f} s")'
	@touch $@

venv: $(STAMP)

# --------------------------------------------------------------------------- pipeline
# DATA_PARTS: the generated parts (the chapters train on the development set; the study also on the additional part)
DATA_PARTS ?= dev
data: venv
	@for part in $(DATA_PARTS); do echo "$(BIN)/asd synth --profile $(PROFILE) --part $$part"; \
	  $(BIN)/asd synth --profile $(PROFILE) --part $$part || exit 1; done

ipynb: venv
	@[ -n "$(NB_PY)" ] || { echo "error: no notebooks/NN_*.py to pair" >&2; exit 1; }
	$(BIN)/jupytext --sync $(NB_PY)

# RUN_FLAGS: extra run-all options; the book trains every model afresh (--restart), so its
# numbers never come from checkpoints of an older dataset or code version.
RUN_FLAGS ?=
run: data
	$(BIN)/asd run-all --profile $(PROFILE) $(RUN_FLAGS)

_static/plotly.min.js: $(STAMP)
	@mkdir -p _static
	cp "$$($(PY) -c 'import pathlib, plotly; print(pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js")')" $@

# MathJax 3 served from the book itself, so formulas render without a network (_config.yml:
# mathjax_path): the combined TeX/MathML -> CommonHTML component, its fonts, and what it loads
# on demand (TeX extensions, the menu, accessibility, speech), with MathJax's licence, from the
# pinned django-static-mathjax package.
MATHJAX_PARTS := tex-mml-chtml.js input/tex/extensions output/chtml/fonts ui a11y sre
_static/mathjax/tex-mml-chtml.js: $(STAMP)
	@rm -rf _static/mathjax && mkdir -p _static/mathjax
	cd "$$($(PY) -c 'import pathlib, mathjax; print(pathlib.Path(mathjax.__file__).parent / "static" / "mathjax")')" && \
	  cp LICENSE "$(CURDIR)/_static/mathjax/LICENSE" && cd es5 && cp -r --parents $(MATHJAX_PARTS) "$(CURDIR)/_static/mathjax/"

book: PROFILE = demo
# The book's build: every chapter at its defaults (what nbval tests), two at a time (06, 07 and
# 09 wait for the runs they read), within 10 minutes on 2 CPU cores. Each system chapter trains
# one network, on the development set alone; the report's dev + additional setting, the
# ablations and the dev-only comparison come from the seed study (make study), which the
# chapters and Table 1 read. Only the development part of the data is generated.
BOOK_WORKERS ?= 2
# No progress bars in the executed chapters: ASD_PROGRESS=0 reaches asd run-all, its chapter
# processes and their kernels (asdlib.runtime.progress_enabled; interactive runs keep them).
# The check of the built pages fails the build on progress bars, PosixPath(...), paths of the
# building machine (/tmp/..., the checkout), tables wider than the content column and chapters
# without a "What we found" section; HTML_CHECK_STRICT=0 only reports the last two (a chapter
# of your own in progress).
HTML_CHECK_STRICT ?= 1
book: DATA_PARTS = dev
book: RUN_FLAGS = --restart --workers $(BOOK_WORKERS)
book: export ASD_PROGRESS = 0
book: run _static/plotly.min.js _static/mathjax/tex-mml-chtml.js
	$(BIN)/jupyter-book build . --all -W --keep-going
	@# figures must use the one _static/plotly.min.js, not embed the 4.8 MB bundle per page
	@if grep -rl --include='*.html' 'plotly.js v[0-9]' _build/html/book; then \
	  echo "error: the pages above embed plotly.js; call asdlib.viz.setup_plotly() and plain fig display" >&2; exit 1; fi
	@# math from the book's own MathJax, never a CDN
	@if grep -rlE --include='*.html' '<script[^>]*src="https?://[^"]*mathjax' _build/html; then \
	  echo "error: the pages above load MathJax from the network; _config.yml sets mathjax_path" >&2; exit 1; fi
	$(PY) -m asdlib.book.html_check _build/html $(if $(filter 1 yes true,$(HTML_CHECK_STRICT)),--strict,)
	@echo
	@echo "Book: $(CURDIR)/_build/html/index.html"

# The seed study that chapter 07 reads (mean +- std over seeds): every chapter that trains, per
# seed, in its own run folder (seed 0's dev-only networks are the book's runs). SEEDS / WORKERS override.
SEEDS   ?= 0 1 2
WORKERS ?= 2
study: DATA_PARTS = dev additional
study: data
	$(BIN)/asd study --profile $(PROFILE) --seeds $(SEEDS) --workers $(WORKERS)

# The sensitivity study that chapters 07 and 08 read (asdlib.book.sensitivity): 13 conditions x SEEDS,
# each job recorded, so a second call resumes where the first stopped; BUDGET (minutes) starts
# nothing new after that long. Run it from a clone of its own (the editable install serves one tree).
BUDGET ?=
sensitivity: venv
	$(BIN)/asd sensitivity --profile $(PROFILE) --seeds $(SEEDS) --workers $(WORKERS) $(if $(BUDGET),--budget-minutes $(BUDGET),)

# --------------------------------------------------------------------------- tests
# pytest's exit status is never masked: "no tests collected" (exit 5) fails the target.
# Both phases use both cores (pytest-xdist; --dist loadfile keeps a file's tests, and so its
# module-scoped trained fixtures and a notebook's cells, on one worker) with one BLAS/OpenMP
# thread per worker, and print the slowest tests. nbval runs the chapters that read no other
# chapter's run folders side by side, then those that read only them, then the rest side by side
# (book.CHAPTERS[...].reads: 06 reads 03-05; 07 and 09 read 02-06).
TEST_ENV   := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
TEST_FLAGS ?= -n 2 --dist loadfile --durations=10
NB_READERS  = $(shell $(PY) -c 'from asdlib.book.chapters import READS_RUNS_OF; print(" ".join(sorted(READS_RUNS_OF)))' 2>/dev/null)
# the chapters that train (book.FITTED_CHAPTERS, the longest) are handed out first: no worker idles at the end
NB_TRAINING = $(shell $(PY) -c 'from asdlib.book.chapters import FITTED_CHAPTERS; print(" ".join(sorted(FITTED_CHAPTERS, reverse=True)))' 2>/dev/null)
NB_ALL_FIRST = $(filter-out $(addprefix notebooks/,$(addsuffix .ipynb,$(NB_READERS))),$(NB_PY:.py=.ipynb))
NB_FIRST    = $(filter $(addprefix notebooks/,$(addsuffix .ipynb,$(NB_TRAINING))),$(NB_ALL_FIRST)) \
              $(filter-out $(addprefix notebooks/,$(addsuffix .ipynb,$(NB_TRAINING))),$(NB_ALL_FIRST))
NB_THEN     = $(filter $(addprefix notebooks/,$(addsuffix .ipynb,$(NB_READERS))),$(NB_PY:.py=.ipynb))
# readers of readers (they wait for the first readers): 07 and 09 read 06's runs
NB_LAST_STEMS = $(shell $(PY) -c 'from asdlib.book.chapters import READS_RUNS_OF as r; print(" ".join(sorted(s for s, reads in r.items() if set(reads) & set(r))))' 2>/dev/null)
NB_LAST     = $(filter $(addprefix notebooks/,$(addsuffix .ipynb,$(NB_LAST_STEMS))),$(NB_THEN))
NB_SECOND   = $(filter-out $(NB_LAST),$(NB_THEN))
test: unit nbval

unit: venv
	@start=$$SECONDS; $(TEST_ENV) $(PY) -m pytest $(TEST_FLAGS) tests; echo "make unit: $$((SECONDS - start)) s"

# make check: the fast inner loop (no training, no notebooks: tests not marked slow or training)
check: venv
	$(TEST_ENV) $(PY) -m pytest $(TEST_FLAGS) -m "not slow and not training" tests

nbval: ipynb
	@n=$$(ls notebooks/[0-9][0-9]_*.ipynb 2>/dev/null | wc -l); \
	 [ "$$n" -eq "$(words $(NB_PY))" ] || { echo "error: $(words $(NB_PY)) notebooks/*.py but $$n paired notebooks/NN_*.ipynb (delete stale .ipynb without a .py)" >&2; exit 1; }
	@start=$$SECONDS; \
	 $(TEST_ENV) $(PY) -m pytest $(TEST_FLAGS) --nbval-lax --nbval-current-env $(NB_FIRST); \
	 $(TEST_ENV) $(PY) -m pytest --durations=10 --nbval-lax --nbval-current-env $(NB_SECOND); \
	 $(TEST_ENV) $(PY) -m pytest $(TEST_FLAGS) --nbval-lax --nbval-current-env $(NB_LAST); \
	 echo "make nbval: $$((SECONDS - start)) s"

# --------------------------------------------------------------------------- interactive
# The jupytext setting below lives inside the venv (not in ~/.jupyter): double-clicking a
# paired .py opens it as a notebook.
lab: venv
	$(BIN)/jupytext-config --settings-file $(VENV)/etc/jupyter/labconfig/default_setting_overrides.json \
	  set-default-viewer python
	$(BIN)/jupyter lab --notebook-dir="$(CURDIR)" $(LAB_ROOT_FLAG)

clean:
	rm -rf _build book/chapters _static/plotly.min.js _static/mathjax .pytest_cache
	rm -f notebooks/[0-9][0-9]_*.ipynb
	rm -rf notebooks/.ipynb_checkpoints
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
