"""Bad input, as a new user brings it: every case is caught by name, with the fix, before training.

Each test copies a tiny generated dataset (two types, 1-s clips), breaks one thing and
checks the exact message the user sees, through the scan, a detector's ``fit``/``score``,
``run_detector``, the evaluator of submission files and the papermill runner.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from asdlib import data, synth
from asdlib.systems import detect
from asdlib.evaluation import metrics
from asdlib.paths import REPO_ROOT
from asdlib.systems import reference

SR = 16000
TINY = synth.DATASET_SIZES["ci"].with_counts(n_train_source=8, n_train_target=2, n_test=2, clip_seconds=1.0)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny") / "data"
    return synth.generate_dataset(root, TINY, seed=0, machine_types=["synFan", "synValve"], workers=1)


@pytest.fixture()
def root(tiny_root, tmp_path) -> Path:
    """A fresh copy of the tiny dataset, to break."""
    return Path(shutil.copytree(tiny_root, tmp_path / "data"))


def _first(folder: Path, pattern: str = "*.wav") -> Path:
    return sorted(folder.glob(pattern))[0]


def _problems(root: Path) -> dict[str, tuple[str, str]]:
    """``{file or folder name: (severity, reason)}`` of a scan."""
    return {Path(p.path).name: (p.severity, p.reason) for p in data.scan_dataset(root).problems}


# --------------------------------------------------------------------------- audio files
def test_corrupt_empty_silent_nan_and_short_files_are_excluded_by_name(root):
    train = root / "synFan" / "train"
    corrupt, empty, silent, nan, short = sorted(train.glob("section_00_source_*.wav"))[:5]
    corrupt.write_bytes(b"RIFF....garbage")
    sf.write(empty, np.zeros(0, np.float32), SR)
    sf.write(silent, np.zeros(SR, np.float32), SR)
    x = np.full(SR, 0.1, np.float32)
    x[100] = np.nan
    sf.write(nan, x, SR, subtype="FLOAT")
    sf.write(short, 0.1 * np.ones(SR // 10, np.float32), SR)
    found = _problems(root)
    assert found[corrupt.name][0] == "error" and found[corrupt.name][1].startswith("unreadable or corrupt audio (")
    assert found[corrupt.name][1].endswith("re-export it as WAV or remove it")
    assert found[empty.name] == ("error", "empty audio (0 samples); remove or replace the file")
    assert found[silent.name] == ("error", "silent (peak below 1e-6); check the recording, remove it")
    assert found[nan.name] == ("error", "audio holds NaN/inf samples; re-export it")
    assert found[short.name] == ("error", "too short (0.100 s < 0.5 s); remove it or lower min_duration")
    clips = data.scan_dataset(root).clips
    assert not {corrupt.name, empty.name, silent.name, nan.name, short.name} & set(clips.file_name)
    # the loader says the same about each, naming the file
    for path, reason in [(empty, "empty audio"), (silent, "silent"), (nan, "audio holds NaN/inf")]:
        with pytest.raises(data.AudioError, match=f"^{path}: {reason}"):
            data.load_audio(path)


def test_odd_sample_rate_and_multichannel_are_kept_with_a_warning(root):
    train = root / "synFan" / "train"
    odd, stereo = sorted(train.glob("section_00_source_*.wav"))[:2]
    x, _ = sf.read(odd, dtype="float32")
    sf.write(odd, x, 22050)  # the same samples declared at 22.05 kHz: 0.73 s
    y, _ = sf.read(stereo, dtype="float32")
    sf.write(stereo, np.stack([y, 0.5 * y], axis=1), SR)
    found = _problems(root)
    assert found[odd.name] == ("warning", "sample rate 22050 Hz, expected 16000 Hz; it will be resampled")
    assert found[stereo.name] == ("warning", "2 channels; it will be folded to mono")
    assert {odd.name, stereo.name} <= set(data.scan_dataset(root).clips.file_name)
    assert len(data.load_audio(odd, sr=SR)) == pytest.approx(len(x) * SR / 22050, abs=2)
    with pytest.warns(UserWarning, match=f"{stereo}: 2 channels folded to mono"):
        np.testing.assert_allclose(data.load_audio(stereo), 0.75 * y, atol=1e-4)  # 16-bit PCM


def test_opposite_phase_stereo_is_silent_in_the_scan_as_in_the_loader(root):
    """Scan and loader read through one function: silence is checked after folding to mono."""
    path = _first(root / "synFan" / "train")
    x, _ = sf.read(path, dtype="float32")
    sf.write(path, np.stack([x, -x], axis=1), SR)
    message = "silent after folding its channels to mono (they cancel: opposite phase?); check the recording, remove it"
    assert _problems(root)[path.name] == ("error", message)
    with pytest.raises(data.AudioError, match="^" + re.escape(f"{path}: {message}")):
        data.load_audio(path)


def test_bad_names_other_files_and_misplaced_clips_are_reported(root):
    train = root / "synFan" / "train"
    shutil.copy(_first(train), train / "recording_12.wav")
    (train / "notes.txt").write_text("hello")
    test_clip = _first(root / "synFan" / "test")
    shutil.copy(test_clip, train / test_clip.name)
    found = _problems(root)
    assert found["recording_12.wav"][0] == "error"
    assert found["recording_12.wav"][1].startswith("file name does not follow the DCASE pattern")
    assert found["recording_12.wav"][1].endswith("rename it or move it out of the dataset folder")
    assert found["notes.txt"] == ("warning", "not a .wav file; ignored")
    assert found[test_clip.name] == ("error", "a 'test' clip inside the 'train/' folder; move it")


def test_anomaly_clips_inside_train_are_excluded_and_named(root):
    anomaly = _first(root / "synFan" / "test", "*source_test_anomaly*")
    planted = root / "synFan" / "train" / anomaly.name.replace("_test_anomaly_", "_train_anomaly_")
    shutil.copy(anomaly, planted)
    assert _problems(root)[planted.name] == (
        "error", "an anomaly clip inside train/: excluded (detectors train on normal clips only); move it to test/")
    clips = data.scan_dataset(root).clips
    assert set(clips[clips.split == "train"].label) == {"normal"}


# --------------------------------------------------------------------------- folders
def test_missing_or_wrong_root_is_named_with_the_fix(root):
    with pytest.raises(data.DataError, match=f"^Dataset folder {root / 'nowhere'} does not exist"):
        data.scan_dataset(root / "nowhere")
    manifest = root / "dataset_info.json"
    with pytest.raises(data.DataError, match=f"^{manifest} is a file, not a dataset folder: point the data root "
                                             "at the folder that holds the machine-type folders"):
        data.scan_dataset(manifest)
    with pytest.raises(data.DataError, match=r"machine type folder\(s\) \['synPump'\] not found; available: "
                                             r"\['synFan', 'synValve'\]"):
        data.scan_dataset(root, ["synPump"])
    empty = root.parent / "empty"
    empty.mkdir()
    with pytest.raises(data.DataError, match="no machine-type folders"):
        data.scan_dataset(empty)


def test_missing_train_folder_or_no_usable_train_clip_fails_before_work(root):
    shutil.rmtree(root / "synValve" / "train")
    with pytest.raises(data.DataError, match=f"^{root / 'synValve' / 'train'} is missing: every machine type "
                                             "needs normal train clips"):
        data.scan_dataset(root)
    shutil.rmtree(root / "synValve")
    for f in (root / "synFan" / "train").iterdir():
        sf.write(f, np.zeros(SR, np.float32), SR)
    with pytest.raises(data.DataError, match=f"{root / 'synFan' / 'train'}: no usable train clip .* "
                                             "Every machine type needs normal train clips"):
        data.scan_dataset(root)


@pytest.mark.parametrize("folder", ["Train", "Test", "TEST"])
def test_capitalised_split_folders_are_named_not_skipped(root, folder):
    (root / "synValve" / folder.lower()).rename(root / "synValve" / folder)
    with pytest.raises(data.DataError, match=f"^{root / 'synValve' / folder}: folder names are case-sensitive; "
                                             f"rename it to '{folder.lower()}'"):
        data.scan_dataset(root)


def test_both_split_folders_capitalised_do_not_make_the_type_vanish(root):
    for name in ("train", "test"):
        (root / "synValve" / name).rename(root / "synValve" / name.capitalize())
    with pytest.raises(data.DataError, match="synValve/(Train|Test): folder names are case-sensitive"):
        data.scan_dataset(root)


# --------------------------------------------------------------------------- undefined metrics
def _detector_run(root: Path, out_dir: Path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = detect.run_detector(reference.ClipMeanMahalanobis(), data.scan_dataset(root).clips, out_dir)
    return run, [str(w.message) for w in caught]


def test_a_type_without_test_folder_is_warned_up_front_and_left_out_of_the_total_by_name(root, tmp_path):
    shutil.rmtree(root / "synValve" / "test")
    assert _problems(root)["test"] == (
        "warning", "synValve: no test/ folder; the type will be trained but not evaluated, and left out of "
        "the Total and the official score")
    run, said = _detector_run(root, tmp_path / "out")
    assert ("synValve: no labelled test clips (no test/ folder?) -- left out of the Total and the official "
            "score, which cover synFan (1 of 2 types)") in said
    assert run.metrics["AUC-s"].loc["synValve"] != run.metrics["AUC-s"].loc["synValve"]  # NaN row, not absent
    assert run.metrics.loc["Total", "official"] == pytest.approx(
        metrics.official_score(run.metrics.loc[["synFan"]]))
    assert run.metrics.attrs["not_evaluated"] == {"synValve": "no labelled test clips (no test/ folder?)"}


@pytest.mark.parametrize("remove, gap", [
    ("*anomaly*", "no anomalies in test/, AUC cannot be computed"),
    ("*normal*", "no normals in test/, AUC cannot be computed"),
    ("*target_test_normal*", "no target normals in test/, AUC-t cannot be computed"),
    ("*source_test_normal*", "no source normals in test/, AUC-s cannot be computed"),
])
def test_undefined_metrics_are_reported_per_type_before_training_and_lose_no_work(root, tmp_path, remove, gap):
    for f in (root / "synValve" / "test").glob(remove):
        f.unlink()
    # up front, by the scan (chapter_data warns it before any training)
    assert _problems(root)["test"] == (
        "warning", f"synValve: {gap}; the type is trained and scored but left out of the Total and the "
        "official score")
    with pytest.warns(UserWarning, match=f"synValve: {gap}"):
        data.clip_table(root)
    # after scoring: every score written, the other type evaluated, the gap named again
    run, said = _detector_run(root, tmp_path / "out")
    assert f"synValve: {gap} -- left out of the Total and the official score, which cover synFan (1 of 2 types)" in said
    written = pd.read_csv(tmp_path / "out" / "scores.csv")
    assert set(written.machine_type) == {"synFan", "synValve"} and written.score.notna().all()
    assert (tmp_path / "out" / "submission" / "anomaly_score_synValve_section_00_test.csv").is_file()
    table = pd.read_csv(tmp_path / "out" / "metrics.csv", index_col=0)
    assert table.loc["synValve"].isna().all() and table.loc["synFan", "AUC-s"] > 0.5


def test_unlabelled_test_clips_are_scored_and_written_but_not_evaluated(root, tmp_path):
    for i, f in enumerate(sorted((root / "synValve" / "test").iterdir())):
        f.rename(f.with_name(f"section_00_{i:04d}.wav"))  # evaluation-set names: no labels
    run, said = _detector_run(root, tmp_path / "out")
    assert any(m.startswith("8 test clips without labels (types ['synValve']) are scored and written but not "
                            "evaluated; attach ground truth with asdlib.data.layout.attach_ground_truth") for m in said)
    assert len(pd.read_csv(tmp_path / "out" / "submission" / "anomaly_score_synValve_section_00_test.csv",
                           header=None)) == 8


# --------------------------------------------------------------------------- attributes CSV
def test_attributes_csv_in_another_encoding_names_the_file(root):
    csv_path = root / "synFan" / "attributes_00.csv"
    csv_path.write_bytes(csv_path.read_text().replace("spd,30", "spd,30é", 1).encode("latin-1"))
    with pytest.raises(data.DataError, match=f"^{csv_path}: not UTF-8 text \\(invalid continuation byte at byte "
                                             "\\d+\\); save it as UTF-8"):
        data.scan_dataset(root)


def test_attributes_csv_value_contradicting_the_file_name_names_file_column_and_values(root):
    csv_path = root / "synFan" / "attributes_00.csv"
    lines = csv_path.read_text().splitlines()
    name = Path(lines[1].split(",")[0]).name
    value = data.parse_clip_name(name).attributes["spd"]
    lines[1] = lines[1].replace(f",spd,{value},", ",spd,99,")
    csv_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(data.DataError, match=f"^{csv_path}, line 2: column d1v says spd='99' but the file name "
                                             f"{name} says spd='{value}'; correct the CSV"):
        data.scan_dataset(root)


def test_attributes_csv_with_a_bad_header_or_a_byte_order_mark(root):
    csv_path = root / "synFan" / "attributes_00.csv"
    text = csv_path.read_text()
    csv_path.write_text("name,a,b\n" + text.split("\n", 1)[1])
    with pytest.raises(data.DataError, match=f"^{csv_path}: expected a header starting with 'file_name', got "
                                             r"\['name', 'a', 'b'\]"):
        data.scan_dataset(root)
    csv_path.write_bytes(b"\xef\xbb\xbf" + text.encode())  # UTF-8 as Excel writes it: fine
    assert len(data.scan_dataset(root).clips) == 36


# --------------------------------------------------------------------------- detectors
def test_a_clip_that_breaks_after_the_scan_is_named_by_fit_and_score(root):
    clips = data.scan_dataset(root).clips
    train, test = clips[clips.split == "train"], clips[clips.split == "test"]
    bad_train = Path(train.path.iloc[3])
    bad_train.write_bytes(b"RIFF....garbage")
    with pytest.raises(data.AudioError, match=f"1 clip\\(s\\) could not be used:\n  {bad_train}: cannot read audio"):
        reference.ClipMeanMahalanobis().fit(train)
    det = reference.ClipMeanMahalanobis().fit(train.drop(index=train.index[3]))
    bad_test = Path(test.path.iloc[0])
    sf.write(bad_test, np.zeros(SR, np.float32), SR)
    with pytest.raises(data.AudioError, match=f"{bad_test}: silent \\(peak below 1e-6\\)"):
        det.score(test)


def test_a_clip_too_short_for_the_baseline_is_named_by_fit(root):
    from asdlib.models import AutoencoderConfig
    from asdlib.systems import baselines

    train = data.scan_dataset(root).clips.query("split == 'train' and machine_type == 'synFan'")
    short = Path(train.path.iloc[0])
    sf.write(short, 0.1 * np.ones(SR // 10, np.float32), SR)  # 0.1 s: 4 frames, the baseline needs 5
    with pytest.raises(ValueError, match=f"^{short}: clip has 4 frames, fewer than n_frames=5; the clip is too "
                                         "short for the baseline's vectors"):
        baselines.AEMSE(AutoencoderConfig.for_profile("ci", epochs=1), progress=False).fit(train)


def test_run_detector_reusing_a_folder_keeps_only_this_runs_files(root, tmp_path):
    out = tmp_path / "out"
    _detector_run(root, out)
    shutil.rmtree(root / "synValve")
    _detector_run(root, out)
    assert sorted(p.name for p in (out / "submission").iterdir()) == [
        "anomaly_score_synFan_section_00_test.csv", "decision_result_synFan_section_00_test.csv"]
    assert list(pd.read_csv(out / "metrics.csv").machine_type) == ["synFan", "Total"]


# --------------------------------------------------------------------------- submission files
@pytest.fixture()
def ground_truth(tmp_path) -> Path:
    gt = tmp_path / "gt"
    (gt / "ground_truth_data").mkdir(parents=True)
    (gt / "ground_truth_domain").mkdir()
    names = [f"section_00_{i:04d}.wav" for i in range(8)]
    pd.DataFrame({"f": names, "y": [0, 1] * 4}).to_csv(
        gt / "ground_truth_data" / "ground_truth_synFan_section_00_test.csv", header=False, index=False)
    pd.DataFrame({"f": names, "t": [0, 0, 0, 0, 1, 1, 1, 1]}).to_csv(
        gt / "ground_truth_domain" / "ground_truth_synFan_section_00_test.csv", header=False, index=False)
    return gt


def _submit(folder: Path, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "anomaly_score_synFan_section_00_test.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_submission_with_missing_duplicate_nan_or_foreign_rows_is_refused_by_name(ground_truth, tmp_path):
    good = [f"section_00_{i:04d}.wav,{i % 2 + 0.1 * i}" for i in range(8)]
    assert metrics.evaluate_submission(_submit(tmp_path / "ok", good).parent, ground_truth,
                                       ["synFan"]).loc["synFan", "AUC-s"] == 1.0
    sub = tmp_path / "sub"
    path = _submit(sub, good[1:])
    with pytest.raises(ValueError, match=rf"^{path}: 1 clips of the synFan ground truth \(8 test clips\) are missing, "
                                         r"e.g. \['section_00_0000.wav'\]; score every test clip"):
        metrics.evaluate_submission(sub, ground_truth, ["synFan"])
    path = _submit(sub, good + [good[2]])
    with pytest.raises(ValueError, match=rf"^{path}: 1 clips appear more than once, e.g. \['section_00_0002.wav'\]; "
                                         "keep one row per clip"):
        metrics.evaluate_submission(sub, ground_truth, ["synFan"])
    path = _submit(sub, good[:3] + ["section_00_0003.wav,nan", "section_00_0004.wav,"] + good[5:])
    with pytest.raises(ValueError, match=rf"^{path}: row 4 \(section_00_0003.wav\): score is nan; every clip needs "
                                         "a finite number"):
        metrics.evaluate_submission(sub, ground_truth, ["synFan"])
    path = _submit(sub, good[:4] + ["section_00_0004.wav,"] + good[5:])
    with pytest.raises(ValueError, match=rf"^{path}: row 5 \['section_00_0004.wav', ''\] is not 'file name,score'"):
        metrics.evaluate_submission(sub, ground_truth, ["synFan"])
    path = _submit(sub, good + ["section_00_0099.wav,0.5"])
    with pytest.raises(ValueError, match=rf"^{path}: 1 clips are not in the synFan ground truth \(8 test clips\), "
                                         r"e.g. \['section_00_0099.wav'\]; remove them"):
        metrics.evaluate_submission(sub, ground_truth, ["synFan"])
    path.unlink()
    with pytest.raises(FileNotFoundError, match="anomaly_score_synFan_section_00_test.csv not found"):
        metrics.evaluate_submission(sub, ground_truth, ["synFan"])


# --------------------------------------------------------------------------- caches and output folders
@pytest.fixture()
def read_only_dir(tmp_path):
    """A folder nobody can write: chmod for a normal user; for root (who ignores modes) a
    read-only tmpfs mounted on it, or a skip when mounting is not allowed."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("running as root without permission to mount: no way to make a read-only folder")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_feature_cache_is_skipped_with_one_warning(root, read_only_dir, monkeypatch):
    from asdlib import paths

    monkeypatch.setenv("ASD_CACHE_DIR", str(read_only_dir))
    monkeypatch.setattr(paths, "_UNWRITABLE_CACHES", set())
    clips = data.scan_dataset(root).clips
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = detect.run_detector(reference.ClipMeanMahalanobis(), clips)
    said = [str(w.message) for w in caught if "cache" in str(w.message)]
    assert said == [f"cache folder {read_only_dir} cannot be written (Read-only file system); going on without "
                    "caching (slower). Set ASD_CACHE_DIR to a writable folder to cache."] or said == [
        f"cache folder {read_only_dir} cannot be written (Permission denied); going on without "
        "caching (slower). Set ASD_CACHE_DIR to a writable folder to cache."]
    assert run.metrics.loc["Total", "AUC-s"] > 0.5


def test_a_read_only_runs_folder_fails_at_open_before_any_work(root, read_only_dir):
    from asdlib import book
    from asdlib.book.runs import RunFolderError

    chapter = book.chapter_data("ci", root)
    with pytest.raises(RunFolderError, match=f"^run folder {read_only_dir}/ci/02_baselines/data-[0-9a-f]{{8}}-"
                                             "[0-9a-f]{8} cannot be written \\((Read-only file system|Permission "
                                             "denied)\\); make it writable, or set ASD_RUNS_DIR to a writable "
                                             "folder. Nothing has been computed yet."):
        book.RunFolder.open("02_baselines", "ci", chapter, {"seed": 0}, runs_root=read_only_dir)


# --------------------------------------------------------------------------- the papermill runner
CHAPTER = """# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
profile = "ci"
data_root = ""

# %%
from asdlib import book
chapter = book.chapter_data(profile, data_root)
print(f"SCANNED {len(chapter.clips)} clips from {chapter.root}")
"""


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "asdlib", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_runner_resolves_a_relative_data_root_from_where_it_is_typed_and_names_bad_roots(root, tmp_path):
    (tmp_path / "00_scan.py").write_text(CHAPTER)
    ok = _cli(["run", "00_scan.py", "-p", "data_root", "data", "-o", "out/scan.ipynb", "--quiet"], cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert f"with {{'data_root': '{root}'}}" in ok.stdout
    import nbformat

    printed = "".join(o.get("text", "") for c in nbformat.read(tmp_path / "out" / "scan.ipynb", 4).cells
                      for o in c.get("outputs", []))
    assert f"SCANNED 36 clips from {root}" in printed
    bad = _cli(["run", "00_scan.py", "-p", "data_root", "data/dataset_info.json", "-o", "out/bad.ipynb", "--quiet"],
               cwd=tmp_path)
    assert bad.returncode == 1
    assert (f"cell 3 raised DataError: {root}/dataset_info.json is a file, not a dataset folder: point the data "
            "root at the folder that holds the machine-type folders") in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_runner_refuses_a_read_only_output_before_starting(tmp_path, read_only_dir):
    (tmp_path / "00_scan.py").write_text(CHAPTER)
    out = _cli(["run", "00_scan.py", "-o", str(read_only_dir / "scan.ipynb"), "--quiet"], cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith(f"ERROR: cannot write the executed notebook {read_only_dir}/scan.ipynb: "
                                 f"{read_only_dir} is not writable (")
    assert out.stderr.rstrip().endswith("choose another output (-o)")
