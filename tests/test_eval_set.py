"""``asd score RUN_FOLDER EVAL_ROOT --submission OUT_DIR``: an evaluation set
(clips named ``section_00_NNNN.wav``, no labels) scored into the official submission files,
which score as the detector does and evaluate as ``metrics.evaluate`` does on the labelled
originals; types the system cannot score are refused before anything is written."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from asdlib import data
from asdlib.evaluation import submission as evaluate
from asdlib.evaluation import metrics
from asdlib.book import score
from asdlib.models import AutoencoderConfig
from asdlib.book.runs import RunFolder
from asdlib.systems.baselines import AEMSE, AEMahala

pytestmark = pytest.mark.training  # trains networks or runs notebooks: left out of `make check`

GT_FOLDERS = ("ground_truth_data", "ground_truth_domain", "ground_truth_attributes")


@pytest.fixture(scope="module")
def fitted(two_type_tones, tmp_path_factory):
    """Chapter 02's way, on the shared tones (conftest): AE-MSE and AE-MAHALA trained one
    epoch on toneA only and kept in a run folder; toneB is the type they cannot score. (One
    epoch ranks these tones poorly, AUC-s 0 and 50 %: the tests check equality, not quality.)"""
    clips = two_type_tones
    tone_a = clips[clips.machine_type == "toneA"]
    train = tone_a[tone_a.split == "train"].reset_index(drop=True)
    test = tone_a[tone_a.split == "test"].reset_index(drop=True)
    chapter = SimpleNamespace(root=Path(train.path[0]).parents[2],
                              fingerprint=data.fingerprint(clips), label="tones")
    run = RunFolder.open("02_baselines", "ci", chapter, {"seed": 0}, runs_root=tmp_path_factory.mktemp("runs"))
    config = AutoencoderConfig.for_profile("ci", epochs=1)
    mse = AEMSE(config, progress=False).fit(train)
    mahala = AEMahala(config, progress=False, autoencoders=mse).fit(train)
    for det in (mse, mahala):
        run.save_fitted(det.name, det)
    run.finish()
    return run, {det.name: det for det in (mse, mahala)}, clips, test


def _evaluation_names(test: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The test clips in a shuffled order, named as the evaluation set names them."""
    order = np.random.default_rng(seed).permutation(len(test))
    renamed = test.iloc[order].reset_index(drop=True)
    return renamed.assign(eval_name=[f"section_00_{i + 1:04d}.wav" for i in range(len(renamed))])


def _write_eval_type(eval_root, test: pd.DataFrame) -> pd.DataFrame:
    renamed = _evaluation_names(test)
    folder = eval_root / test.machine_type.iloc[0] / "test"
    folder.mkdir(parents=True)
    for src, name in zip(renamed.path, renamed.eval_name):
        shutil.copy(src, folder / name)
    return renamed


def _write_ground_truth(gt_root, mtype: str, renamed: pd.DataFrame) -> None:
    """The official evaluator's layout: label (1 = anomaly), domain (1 = target), original name."""
    stem = f"ground_truth_{mtype}_section_00_test.csv"
    values = {"ground_truth_data": renamed.is_anomaly.astype(int),
              "ground_truth_domain": (renamed.domain == "target").astype(int),
              "ground_truth_attributes": renamed.file_name.str.removesuffix(".wav")}
    for folder in GT_FOLDERS:
        (gt_root / folder).mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"f": renamed.eval_name, "v": values[folder]}).to_csv(gt_root / folder / stem, header=False,
                                                                            index=False)


@pytest.fixture(scope="module")
def eval_set(fitted, tmp_path_factory):
    """toneA's labelled test clips renamed section_00_NNNN.wav in an evaluation root, and
    their ground truth in the official layout."""
    base = tmp_path_factory.mktemp("eval")
    renamed = _write_eval_type(base / "eval_data", fitted[3])
    _write_ground_truth(base / "ground_truth", "toneA", renamed)
    return base / "eval_data", base / "ground_truth", renamed


def _read(path, column):
    return pd.read_csv(path, header=None, names=["file_name", column])


def test_the_evaluation_set_becomes_official_submission_files(fitted, eval_set, cli, tmp_path):
    run, detectors, _, test = fitted
    eval_root, gt_root, renamed = eval_set
    out_dir = tmp_path / "submissions"
    code, out, err = cli(score, run.root, eval_root, "--submission", out_dir, "--ground-truth", gt_root)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["AE-MAHALA", "AE-MSE"]  # nothing else left beside them
    for name, det in detectors.items():
        folder = out_dir / name
        score_file, decision_file = metrics.submission_names("toneA", "00")
        assert sorted(p.name for p in folder.iterdir()) == sorted([score_file, decision_file])
        scores, decisions = _read(folder / score_file, "score"), _read(folder / decision_file, "decision")
        # one row per evaluation clip, in name order, the names the evaluator reads
        assert scores.file_name.tolist() == decisions.file_name.tolist() == sorted(renamed.eval_name)
        # the scores and decisions of the fitted detector on the same audio (the labelled originals)
        expected = renamed.assign(score=det.score(renamed), decision=lambda t: det.decide(renamed, t.score))
        merged = expected.merge(scores.merge(decisions, on="file_name"), left_on="eval_name", right_on="file_name",
                                suffixes=("", "_written"), validate="one_to_one")
        assert len(merged) == len(test) == 24
        np.testing.assert_allclose(merged.score_written, merged.score, rtol=1e-6, atol=0)
        assert (merged.decision_written == merged.decision).all()
        # evaluated against the ground truth: the official table of the labelled originals
        truth = metrics.evaluate(expected[["machine_type", "is_anomaly", "domain", "score", "decision"]])
        pd.testing.assert_frame_equal(evaluate.evaluate_folder(folder, gt_root), truth, check_like=True, rtol=1e-9)
        assert f"\n{name}\n{evaluate.report(folder, gt_root, '00', truth)}\n" in out
        assert f"{name}: 24 clips of toneA -> {folder}/ (2 files: " in out


def test_the_default_ground_truth_folder_is_used_when_it_holds_the_types(fitted, eval_set, cli, tmp_path,
                                                                          monkeypatch):
    run, _, _, _ = fitted
    eval_root, gt_root, _ = eval_set
    monkeypatch.setenv("ASD_GROUND_TRUTH", str(gt_root))
    code, out, _ = cli(score, run.root, eval_root, "--submission", tmp_path / "a", "--system", "AE-MSE")
    assert code == 0 and f"AE-MSE\nsubmission: {tmp_path / 'a' / 'AE-MSE'}\nground truth: {gt_root}" in out
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["AE-MSE"]
    monkeypatch.setenv("ASD_GROUND_TRUTH", str(tmp_path / "elsewhere"))  # absent: written, not evaluated
    code, out, _ = cli(score, run.root, eval_root, "--submission", tmp_path / "b", "--system", "AE-MSE")
    assert code == 0 and "official score" not in out
    assert out.splitlines()[-1] == "no ground-truth folder found (--ground-truth DIR or ASD_GROUND_TRUTH): not evaluated"
    assert len(list((tmp_path / "b" / "AE-MSE").iterdir())) == 2
    # an explicit folder without the scored types is refused before anything is scored
    other = tmp_path / "gt-other"
    (other / "ground_truth_data").mkdir(parents=True)
    assert cli.error(score, run.root, eval_root, "--submission", tmp_path / "c", "--ground-truth", other) == (
        f"error: {other} holds no ground truth of toneA (section 00); pass the --ground-truth folder holding "
        "ground_truth_data/ground_truth_<type>_section_00_test.csv of the scored types, or leave --ground-truth out")
    assert not (tmp_path / "c").exists()


def test_machine_types_the_system_was_not_trained_on_are_refused(fitted, eval_set, cli, tmp_path):
    run, _, clips, _ = fitted
    eval_root = tmp_path / "eval_data"
    eval_root.mkdir()
    (eval_root / "toneA").symlink_to(eval_set[0] / "toneA")
    _write_eval_type(eval_root, clips[(clips.machine_type == "toneB") & (clips.split == "test")].reset_index(drop=True))
    out_dir = tmp_path / "submissions"
    assert cli.error(score, run.root, eval_root, "--submission", out_dir) == (
        f"error: {eval_root}: AE-MAHALA cannot score machine type(s) toneB, it was trained only on toneA; score them "
        "with a run whose data_root holds their train clips (a type of additional_roots only trains the network, "
        "it gets no threshold), or pass --only toneA to score the others")
    assert not out_dir.exists()  # refused before anything was scored or written
    assert cli.error(score, run.root, eval_root, "--submission", out_dir, "--only", "toneB") == (
        f"error: {eval_root}: AE-MAHALA cannot score machine type(s) toneB, it was trained only on toneA; score them "
        "with a run whose data_root holds their train clips (a type of additional_roots only trains the network, "
        "it gets no threshold)")
    assert cli.error(score, run.root, eval_root, "--submission", out_dir, "--only", "toneC") == (
        f"error: {eval_root} has no test/ folder of machine type(s) toneC (it has toneA, toneB); pass --only with "
        "some of these")
    code, _, err = cli(score, run.root, eval_root, "--submission", out_dir, "--only", "toneA",
                          "--ground-truth", eval_set[1])
    assert code == 0, err
    assert sorted(p.name for p in (out_dir / "AE-MSE").iterdir()) == sorted(metrics.submission_names("toneA"))


def test_bad_evaluation_folders_and_arguments_are_named(fitted, eval_set, cli, tmp_path):
    run, _, _, _ = fitted
    eval_root = eval_set[0]
    sub = ["--submission", tmp_path / "out"]
    where = "the evaluation set's folder (e.g. /data/dcase2024/eval_data) holding <type>/test/section_00_NNNN.wav"
    assert cli.error(score, run.root, tmp_path / "none", *sub) == (
        f"error: evaluation folder {tmp_path / 'none'} does not exist; pass {where}")
    assert cli.error(score, run.root, eval_root / "toneA", *sub) == (
        f"error: {eval_root / 'toneA'} holds no <type>/test/ folder; pass {where}")
    odd = tmp_path / "odd" / "toneA" / "test"
    odd.mkdir(parents=True)
    shutil.copy(next((eval_root / "toneA" / "test").iterdir()), odd / "my clip.wav")
    assert cli.error(score, run.root, tmp_path / "odd", *sub).startswith(
        f"error: {odd / 'my clip.wav'}: file name does not follow the DCASE pattern")
    assert cli.error(score, run.root, eval_root, eval_root, *sub) == (
        "error: --submission scores one evaluation folder, got 2 arguments; pass EVAL_ROOT, the folder holding "
        "<type>/test/")
    assert cli.error(score, run.root, eval_root, *sub, "--machine-type", "toneA").startswith(
        "error: --machine-type does not go with --submission")
    assert cli.error(score, run.root, eval_root, "--only", "toneA") == (
        "error: --only and --ground-truth go with --submission OUT_DIR (scoring an evaluation set); add it, or "
        "leave them out")


def test_a_submission_folder_is_never_left_half_written(fitted, eval_set, cli, tmp_path, monkeypatch):
    run, _, _, _ = fitted
    eval_root, gt_root, _ = eval_set
    out_dir = tmp_path / "out"
    args = (run.root, eval_root, "--submission", out_dir, "--system", "AE-MSE", "--ground-truth", gt_root)
    assert cli(score, *args)[0] == 0
    before = {p.name: p.read_bytes() for p in (out_dir / "AE-MSE").iterdir()}

    def dies_half_way(folder, table):  # one of the two files written, then the process is stopped
        metrics.write_submission(folder, "toneA", table.file_name, table.score, table.decision)
        (folder / metrics.submission_names("toneA")[1]).unlink()
        raise KeyboardInterrupt

    monkeypatch.setattr(metrics, "write_submissions", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        cli(score, *args)
    # the earlier, complete submission is still there, whole, and nothing else
    assert {p.name: p.read_bytes() for p in (out_dir / "AE-MSE").iterdir()} == before
    assert [p.name for p in out_dir.iterdir()] == ["AE-MSE"]
    shutil.rmtree(out_dir)
    with pytest.raises(KeyboardInterrupt):
        cli(score, *args)
    assert list(out_dir.iterdir()) == []  # no folder that looks like a submission
    monkeypatch.undo()
    # an earlier submission is replaced; a folder holding anything else is not touched
    assert cli(score, *args)[0] == 0
    assert {p.name: p.read_bytes() for p in (out_dir / "AE-MSE").iterdir()} == before
    (out_dir / "AE-MSE" / "notes.txt").write_text("mine")
    assert cli.error(score, *args) == (
        f"error: {out_dir / 'AE-MSE'} holds other files than submission CSVs (notes.txt); pass another --submission "
        "folder, or empty this one")
    assert (out_dir / "AE-MSE" / "notes.txt").read_text() == "mine"


def test_a_linked_clip_takes_the_machine_type_of_its_own_folder(fitted, cli, tmp_path):
    """Imported datasets link to the user's files: the link's folder names the type, not the file's."""
    run, detectors, _, test = fitted
    recording = shutil.copy(test.path[0], tmp_path / "recording.wav")
    link = tmp_path / "data" / "toneA" / "test" / "section_00_0001.wav"
    link.parent.mkdir(parents=True)
    link.symlink_to(recording)
    code, out, err = cli(score, run.root, link, "--system", "AE-MSE")
    assert code == 0, err
    assert out.splitlines()[1].split()[:3] == [str(link), "AE-MSE", "toneA"]
