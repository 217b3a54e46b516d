"""asdlib.book.runner: papermill runs of paired .py notebooks, run summaries, run folders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from asdlib.book import cli
from asdlib.book import runner as ex
from asdlib.book import chapters, engine

pytestmark = pytest.mark.training  # trains networks or runs notebooks: left out of `make check`

HEADER = """# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---
"""

GOOD = HEADER + """
# %% tags=["parameters"]
profile = "ci"
epochs = 1

# %%
import os

print(f"RESULT profile={profile} epochs={epochs} cwd={os.path.basename(os.getcwd())}")
"""

BAD = HEADER + """
# %% tags=["parameters"]
profile = "ci"

# %%
print("first cell ran")

# %%
raise ValueError("boom in " + profile)
"""


def _stdout(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.fixture()
def nbdir(tmp_path):
    d = tmp_path / "notebooks"
    d.mkdir()
    (d / "00_first.py").write_text(GOOD)
    (d / "01_second.py").write_text(GOOD)
    (d / "helper.py").write_text("x = 1\n")  # not a chapter: never run
    return d


def test_run_notebook_injects_parameters_and_leaves_source_alone(nbdir, tmp_path):
    src = nbdir / "00_first.py"
    before = src.read_text()
    out = ex.run_notebook(src, tmp_path / "out" / "first.ipynb", {"profile": "demo", "epochs": 5}, cwd=nbdir)
    assert "RESULT profile=demo epochs=5 cwd=notebooks" in _stdout(out)
    nb = nbformat.read(out, as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert src.read_text() == before
    assert not (nbdir / "00_first.ipynb").exists()


def test_run_notebook_refuses_to_overwrite_the_paired_ipynb(nbdir):
    with pytest.raises(ValueError, match="paired"):
        ex.run_notebook(nbdir / "00_first.py", nbdir / "00_first.ipynb", {}, cwd=nbdir)


def test_failing_notebook_names_itself_and_keeps_partial_output(tmp_path):
    src = tmp_path / "03_bad.py"
    src.write_text(BAD)
    out = tmp_path / "chapters" / "03_bad.ipynb"
    with pytest.raises(ex.NotebookFailed) as info:
        ex.run_notebook(src, out, {"profile": "demo"}, cwd=tmp_path)
    message = str(info.value)
    assert "03_bad.py" in message and "ValueError" in message and "boom in demo" in message
    assert str(out.name) in message and out.is_file()
    assert "first cell ran" in _stdout(out)


def test_run_all_runs_chapters_in_order_and_writes_a_summary(nbdir, tmp_path):
    logs = []
    summary = ex.run_all("demo", out_dir=tmp_path / "chapters", notebooks_dir=nbdir,
                         runs_dir=tmp_path / "runs", overrides={"01_second": {"epochs": 3}},
                         log=logs.append)
    assert summary["status"] == "ok"
    assert [Path(e["notebook"]).name for e in summary["notebooks"]] == ["00_first.py", "01_second.py"]
    assert all(e["status"] == "ok" and e["seconds"] > 0 for e in summary["notebooks"])
    assert "epochs=3" in _stdout(tmp_path / "chapters" / "01_second.ipynb")
    assert "epochs=1" in _stdout(tmp_path / "chapters" / "00_first.ipynb")
    on_disk = json.loads((tmp_path / "runs" / "demo" / "run_summary.json").read_text())
    assert on_disk["notebooks"] == summary["notebooks"]
    for key in ("python", "torch", "numpy", "asdlib"):
        assert on_disk["versions"][key]
    assert "git_commit" in on_disk
    assert any("00_first" in line and "ok in" in line for line in logs)


def test_run_all_stops_at_a_failure_and_records_it(nbdir, tmp_path):
    (nbdir / "00_first.py").write_text(BAD)
    with pytest.raises(ex.NotebookFailed, match="00_first.py"):
        ex.run_all("ci", out_dir=tmp_path / "chapters", notebooks_dir=nbdir,
                   runs_dir=tmp_path / "runs", log=lambda *_: None)
    summary = json.loads((tmp_path / "runs" / "ci" / "run_summary.json").read_text())
    assert summary["status"] == "failed"
    assert [e["status"] for e in summary["notebooks"]] == ["failed", "not run"]
    assert "ValueError" in summary["notebooks"][0]["error"]


def test_find_notebooks_selects_by_prefix_and_rejects_unknown(nbdir):
    assert [p.stem for p in ex.find_notebooks(nbdir)] == ["00_first", "01_second"]
    assert [p.stem for p in ex.find_notebooks(nbdir, ["01"])] == ["01_second"]
    with pytest.raises(ValueError, match="07"):
        ex.find_notebooks(nbdir, ["07"])


@pytest.mark.parametrize("text, value", [
    ("5", 5), ("0.5", 0.5), ("1e-3", 1e-3), ("true", True), ("null", None),
    ("demo", "demo"), ("[1, 2]", [1, 2]), ("nan", "nan"),
])
def test_cli_values_are_yaml_scalars(text, value):
    assert ex.parse_value(text) == value


def test_cli_run_with_parameters(nbdir, tmp_path, capsys):
    out = tmp_path / "cli.ipynb"
    rc = cli.main(["run", str(nbdir / "00_first.py"), "-p", "profile", "demo", "-p", "epochs", "7", "-o", str(out)])
    assert rc == 0
    assert "RESULT profile=demo epochs=7" in _stdout(out)


def test_cli_run_streams_cell_progress_and_training_output(nbdir, tmp_path, capfd):
    """A long chapter does not run in silence: the cell counter and what a cell writes (a
    training progress bar goes to stderr) reach the terminal while it runs; --quiet mutes both."""
    (nbdir / "02_train.py").write_text(HEADER + """
# %% tags=["parameters"]
profile = "ci"

# %%
import sys
for step in range(3):
    print(f"training step {step + 1}/3", file=sys.stderr, flush=True)
""")
    assert cli.main(["run", str(nbdir / "02_train.py"), "-o", str(tmp_path / "a.ipynb")]) == 0
    err = capfd.readouterr().err
    assert "training step 3/3" in err and "Executing" in err
    assert cli.main(["run", str(nbdir / "02_train.py"), "-o", str(tmp_path / "b.ipynb"), "--quiet"]) == 0
    err = capfd.readouterr().err
    assert "training step" not in err and "Executing" not in err


def test_cli_failure_exits_nonzero_with_the_notebook_name(tmp_path, capsys):
    src = tmp_path / "05_bad.py"
    src.write_text(BAD)
    rc = cli.main(["run", str(src), "-o", str(tmp_path / "bad.ipynb")])
    assert rc == 1
    err = capsys.readouterr().err
    assert "05_bad.py" in err and "bad.ipynb" in err


def test_declared_parameters_reads_the_parameters_cell(tmp_path):
    from asdlib.book.runner import declared_parameters

    nb = tmp_path / "05_x.py"
    nb.write_text('# %%\nx = 1\n\n# %% tags=["parameters"]\nprofile: str = "ci"  # size\nrestart: bool = False\n'
                  'epochs = 3\n\n# %%\nlater = 2\n')
    assert declared_parameters(nb) == {"profile", "restart", "epochs"}


def test_restart_goes_only_to_notebooks_that_declare_it(repo_root):
    from asdlib.book.runner import declared_parameters

    trains = {p.stem for p in (repo_root / "notebooks").glob("[0-9][0-9]_*.py") if "restart" in declared_parameters(p)}
    assert {"02_baselines", "03_system1", "04_system2"} <= trains
    assert "00_dataset" not in trains


def test_chapter_data_takes_additional_roots(tmp_path):
    """Several data roots: the first is evaluated, the others bring train clips only; a type
    that appears twice is refused with both roots named."""
    from asdlib import synth
    from asdlib import book

    prof = synth.DATASET_SIZES["ci"].with_counts(n_train_source=3, n_train_target=1, n_test=1, clip_seconds=1.0)
    dev = synth.generate_dataset(tmp_path / "dev", prof, machine_types=["synFan", "synValve"], workers=1)
    add = synth.generate_dataset(tmp_path / "add", prof, machine_types=["syn3DPrinter", "synHairDryer"],
                                 part="additional", workers=1)
    chapter = book.chapter_data("ci", dev, additional_roots=[add])
    assert sorted(chapter.clips.machine_type.unique()) == ["synFan", "synValve"]
    assert sorted(chapter.additional.machine_type.unique()) == ["syn3DPrinter", "synHairDryer"]
    assert (chapter.additional.split == "train").all() and len(chapter.additional) == 2 * 4
    key = chapter.additional_key()
    assert key["types"] == ["syn3DPrinter", "synHairDryer"] and key["fingerprint"] == chapter.additional_fingerprint
    assert "generator 2.0.0" in chapter.label
    # a user's data root has no additional data unless given
    assert len(book.chapter_data("ci", dev).additional) == 0
    with pytest.raises(ValueError, match=r"synFan is in .*dev.* and in the evaluated data root"):
        book.chapter_data("ci", dev, additional_roots=[dev])
    with pytest.raises(FileNotFoundError, match="additional data root .*nowhere is not a folder"):
        book.chapter_data("ci", dev, additional_roots=[tmp_path / "nowhere"])


def test_run_all_parameter_reaches_every_notebook_that_declares_it(tmp_path, monkeypatch):
    """``run-all -p NAME VALUE``: passed to the notebooks whose parameters cell declares NAME
    (relative paths resolved from the caller's directory), never to the others."""
    seen = {}
    monkeypatch.setattr(cli, "run_all", lambda profile, **kw: seen.update(kw) or {})
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run-all", "--profile", "ci", "--only", "00", "09", "-p", "data_root", "mydata",
                    "-p", "no_such_parameter", "1", "--workers", "2"]) == 0
    assert seen["overrides"] == {"00_dataset": {"data_root": str(tmp_path / "mydata")},
                                 "09_diagnostics": {"data_root": str(tmp_path / "mydata")}}
    assert seen["workers"] == 2


# --------------------------------------------------------------------------- run-all --workers

TIMED = HEADER + """
# %% tags=["parameters"]
profile = "ci"
seconds = 1.5
meet = ""  # another notebook's pid file: wait (up to 60 s) until it runs too

# %%
import json, os, time
start = time.time()
with open("NAME.pid", "w") as f:
    f.write(str(os.getpid()))
deadline = time.time() + 60
while meet and not os.path.exists(meet) and time.time() < deadline:
    time.sleep(0.05)
time.sleep(seconds)
with open("NAME.times.json", "w") as f:
    json.dump({"start": start, "end": time.time(), "cwd": os.getcwd(), "profile": profile}, f)
"""


def _timed_notebooks(d: Path, *names: str, bad: str = "") -> Path:
    d.mkdir(exist_ok=True)
    for name in names:
        (d / f"{name}.py").write_text(BAD if name == bad else TIMED.replace("NAME", name))
    return d


def test_prerequisites_are_the_selected_chapters_a_chapter_reads(monkeypatch):
    assert chapters.prerequisites(["notebooks/02_baselines.py", "03_system1", "05_system3", "06_ensemble", "07_results"]) == {
        "02_baselines": (), "03_system1": (), "05_system3": (),
        "06_ensemble": ("03_system1", "05_system3"),  # 04 is not selected: not waited for
        "07_results": ("02_baselines", "03_system1", "05_system3", "06_ensemble")}
    monkeypatch.setattr(chapters, "READS_RUNS_OF", {"02_c": ("01_b", "00_a")})
    assert chapters.prerequisites(["00_a", "01_b", "02_c"])["02_c"] == ("00_a", "01_b")  # in the order selected
    # among the ready ones the longest first: untimed ones (higher NN first), then by the last run's seconds
    key = ex._longest_first({"00_a": 100.0, "02_c": 5.0})
    assert sorted(["00_a", "01_b", "02_c", "03_d"], key=key) == ["03_d", "01_b", "00_a", "02_c"]


def test_parameters_reach_a_run_process_unchanged():
    params = {"profile": "demo", "epochs": 3, "lr": 1e-5, "name": "5", "flag": True, "none": None,
              "roots": ["/abs/a"], "data_root": "", "label": "a: b"}
    args = ex.parameter_arguments(params)
    assert ex.cli_parameters(zip(args[1::3], args[2::3])) == params
    assert args[:3] == ["-p", "profile", "demo"]  # plain strings stay readable
    with pytest.raises(ValueError, match="data_root"):  # `run` would resolve it from the repository root
        ex.parameter_arguments({"data_root": "relative/folder"})


def test_run_all_in_parallel_overlaps_independent_notebooks_and_waits_for_prerequisites(tmp_path, monkeypatch):
    nbdir = _timed_notebooks(tmp_path / "notebooks", "00_a", "01_b", "02_c")
    monkeypatch.setattr(chapters, "READS_RUNS_OF", {"02_c": ("00_a", "01_b")})
    logs = []
    summary = ex.run_all("ci", out_dir=tmp_path / "chapters", notebooks_dir=nbdir, runs_dir=tmp_path / "runs",
                         overrides={"00_a": {"meet": "01_b.pid"}, "01_b": {"seconds": 2.0, "meet": "00_a.pid"}},
                         log=logs.append, workers=2)
    times = {n: json.loads((nbdir / f"{n}.times.json").read_text()) for n in ("00_a", "01_b", "02_c")}
    a, b, c = times["00_a"], times["01_b"], times["02_c"]
    assert a["start"] < b["end"] and b["start"] < a["end"]  # 00 and 01 ran at the same time
    assert c["start"] >= max(a["end"], b["end"])  # 02 reads both: it waited for them
    assert {t["cwd"] for t in times.values()} == {str(nbdir)}  # the kernel runs where it does in-process
    assert summary["status"] == "ok" and summary["workers"] == 2
    assert [e["status"] for e in summary["notebooks"]] == ["ok", "ok", "ok"]
    assert [e["parameters"] for e in summary["notebooks"]] == [
        {"profile": "ci", "meet": "01_b.pid"}, {"profile": "ci", "seconds": 2.0, "meet": "00_a.pid"}, {"profile": "ci"}]
    assert json.loads((tmp_path / "runs" / "ci" / "run_summary.json").read_text())["notebooks"] == summary["notebooks"]
    assert all((tmp_path / "runs" / "ci" / "logs" / f"{n}.log").is_file() for n in times)
    assert (tmp_path / "chapters" / "02_c.ipynb").is_file()
    assert any(re.match(r"\[ +\d+ s\] ok 01_b in \d", line) for line in logs)


def test_run_all_in_parallel_stops_at_a_failure(tmp_path, monkeypatch):
    nbdir = _timed_notebooks(tmp_path / "notebooks", "00_a", "01_b", "02_c", bad="00_a")
    monkeypatch.setattr(chapters, "READS_RUNS_OF", {"02_c": ("00_a",)})
    log_path = tmp_path / "runs" / "ci" / "logs" / "00_a.log"
    log_path.parent.mkdir(parents=True)
    log_path.write_text("OUTPUT OF AN EARLIER RUN\n")
    logs = []
    with pytest.raises(ex.NotebookFailed, match="00_a.py") as info:
        ex.run_all("ci", out_dir=tmp_path / "chapters", notebooks_dir=nbdir, runs_dir=tmp_path / "runs",
                   log=logs.append, workers=2)
    assert "boom in ci" in info.value.reason and "00_a.log" in info.value.reason
    summary = json.loads((tmp_path / "runs" / "ci" / "run_summary.json").read_text())
    assert summary["status"] == "failed"
    assert [e["status"] for e in summary["notebooks"]] == ["failed", "ok", "not run"]  # 01 ran beside 00
    assert "ValueError" in summary["notebooks"][0]["error"]
    text = log_path.read_text()
    assert "boom in ci" in text and "EARLIER RUN" not in text
    assert any("last lines of" in line and "boom in ci" in line for line in logs)
    # fixed, and resumed: only the chapters that did not end ok run again
    (nbdir / "00_a.py").write_text(TIMED.replace("NAME", "00_a"))
    before = (nbdir / "01_b.times.json").read_text()
    logs.clear()
    summary = ex.run_all("ci", out_dir=tmp_path / "chapters", notebooks_dir=nbdir, runs_dir=tmp_path / "runs",
                         log=logs.append, workers=2, resume=True)
    assert [e["status"] for e in summary["notebooks"]] == ["ok", "ok", "ok"]
    assert [bool(e.get("resumed")) for e in summary["notebooks"]] == [False, True, False]
    assert (nbdir / "01_b.times.json").read_text() == before  # not run again
    assert (nbdir / "02_c.times.json").is_file()


@pytest.fixture
def default_sigint():
    """A terminal's Ctrl-C as Python sees it by default, whatever SIGINT handler or signal mask an
    earlier test in this process (a library's kernel or worker machinery) left behind; restored after."""
    import signal

    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    yield
    signal.signal(signal.SIGINT, handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def test_ctrl_c_in_parallel_stops_every_notebook(tmp_path, monkeypatch, default_sigint):
    import os
    import signal
    import threading

    nbdir = _timed_notebooks(tmp_path / "notebooks", "00_a", "01_b")
    monkeypatch.setattr(engine, "STOP_GRACE_SECONDS", (0.5, 20.0, 5.0))
    pids = [nbdir / "00_a.pid", nbdir / "01_b.pid"]

    returned = threading.Event()

    def press_ctrl_c():  # once both kernels are inside their cell, and only while run_all runs
        while not all(p.is_file() and p.read_text() for p in pids) and not returned.wait(0.1):
            pass
        if not returned.is_set():
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            ex.run_all("ci", notebooks_dir=nbdir, out_dir=tmp_path / "chapters", runs_dir=tmp_path / "runs",
                       overrides={n: {"seconds": 300} for n in ("00_a", "01_b")}, log=lambda *_: None, workers=2)
    finally:
        returned.set()
    _assert_interrupted_and_kernels_gone(tmp_path / "runs" / "ci" / "run_summary.json", pids)


def _assert_interrupted_and_kernels_gone(summary_path: Path, pids: list[Path]) -> None:
    """Every notebook of the summary interrupted, and their kernels (pid files) ended within 10 s."""
    import time

    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "interrupted"
    assert [e["status"] for e in summary["notebooks"]] == ["interrupted", "interrupted"]
    kernels = [int(p.read_text()) for p in pids]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in kernels):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in kernels)


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_terminal_ctrl_c_reaches_the_whole_process_group_and_run_all_ends_cleanly(tmp_path):
    """What a user's Ctrl-C does: SIGINT to the client, the local cluster's worker processes and
    the chapters' processes at once. The workers leave it to the client (engine.dask_setup), the
    chapters stop, and run-all ends within seconds, its summary ``interrupted``, without a
    traceback from Dask's processes."""
    import os
    import signal
    import subprocess
    import sys
    import time

    nbdir = _timed_notebooks(tmp_path / "notebooks", "00_a", "01_b")
    script = tmp_path / "client.py"
    script.write_text(
        "import sys\nfrom asdlib.book import runner as ex\n"
        "if __name__ == '__main__':  # the local cluster's workers are spawned: they import this file\n"
        "  try:\n"
        f"    ex.run_all('ci', notebooks_dir={str(nbdir)!r}, out_dir={str(tmp_path / 'chapters')!r}, "
        f"runs_dir={str(tmp_path / 'runs')!r}, overrides={{n: {{'seconds': 300}} for n in ('00_a', '01_b')}}, "
        "workers=2, log=print)\n"
        "  except KeyboardInterrupt:\n    print('INTERRUPTED'); sys.exit(130)\n")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    pids = [nbdir / "00_a.pid", nbdir / "01_b.pid"]
    deadline = time.monotonic() + 120
    while not all(p.is_file() and p.read_text() for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # the terminal's Ctrl-C: every process of the group
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 130 and time.monotonic() - t0 < 40, out
    assert "INTERRUPTED" in out and "Traceback" not in out, out
    _assert_interrupted_and_kernels_gone(tmp_path / "runs" / "ci" / "run_summary.json", pids)
