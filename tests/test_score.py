"""Fitted detectors saved and loaded (``asdlib.systems.detect.save_detector`` / ``load_detector``,
``RunFolder.save_fitted``) and ``asd score``: a loaded system scores exactly as
the fitted one did, and every clip it cannot score is refused with one line naming it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from asdlib import synth
from asdlib.systems import detect
from asdlib import book
from asdlib.book import score
from asdlib.models import AutoencoderConfig
from asdlib.paths import REPO_ROOT
from asdlib.book.runs import RunFolder
from asdlib.systems.baselines import AEMSE, AEMahala
from asdlib.systems.classifier import ClassifierSystem

pytestmark = pytest.mark.training  # trains networks or runs notebooks: left out of `make check`


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Generated ci data (2-s clips at 16 kHz): synFan to train on, synValve as a foreign type."""
    root = tmp_path_factory.mktemp("synth") / "ci"
    synth.generate_dataset(root, synth.DATASET_SIZES["ci"].with_counts(n_train_source=8, n_train_target=2, n_test=2),
                           seed=0, machine_types=["synFan", "synValve"], workers=1)
    return root


@pytest.fixture(scope="module")
def fan(dataset):
    chapter = book.chapter_data("ci", dataset, ["synFan"])
    clips = chapter.clips
    split = {s: clips[clips.split == s].reset_index(drop=True) for s in ("train", "test")}
    return chapter, split["train"], split["test"]


@pytest.fixture(scope="module")
def ae_run(fan, tmp_path_factory):
    """Chapter 02's way: AE-MSE fitted and kept in its run folder; its test scores as fitted."""
    chapter, train, test = fan
    run = RunFolder.open("02_baselines", "ci", chapter, {"seed": 0}, runs_root=tmp_path_factory.mktemp("runs"))
    det = AEMSE(AutoencoderConfig.for_profile("ci"), progress=False).fit(train)
    run.save_fitted("AE-MSE", det)
    run.finish()
    return run, det, test.assign(score=det.score(test), decision=lambda t: det.decide(test, t.score))


def test_a_saved_autoencoder_scores_the_same_in_a_fresh_process(ae_run, fan, tmp_path):
    run, det, expected = ae_run
    assert run.fitted_systems() == ["AE-MSE"] and run.fitted_path("AE-MSE").name == "AE-MSE.pt"
    test_folder = fan[0].root / "synFan" / "test"
    out = subprocess.run([sys.executable, "-m", "asdlib", "score", str(run.root), str(test_folder),
                          "--csv", str(tmp_path / "scores.csv")], cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    # a folder argument scores every .wav inside it: one table row per test clip
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["file", "system", "machine_type", "score", "threshold", "decision"]
    assert len(lines) == 1 + len(expected) == 1 + len(list(test_folder.glob("*.wav")))
    table = pd.read_csv(tmp_path / "scores.csv")
    merged = expected.merge(table, left_on="path", right_on="file", suffixes=("", "_cli"), validate="one_to_one")
    assert len(merged) == len(expected)
    np.testing.assert_allclose(merged.score_cli, merged.score, rtol=1e-6, atol=0)
    assert (merged.threshold == det.thresholds_["synFan"]).all()
    assert (merged.decision_cli == merged.decision).all() and merged.decision.nunique() == 2


def test_a_saved_ae_mahala_leaves_the_shared_autoencoders_out(ae_run, fan, tmp_path):
    """AE-MAHALA reuses AE-MSE's autoencoders while fitting; its file holds its own models only."""
    _, mse, expected = ae_run
    mahala = AEMahala(mse.config, progress=False, autoencoders=mse).fit(fan[1])
    loaded = detect.load_detector(mahala.save(tmp_path / "AE-MAHALA.pt"))
    assert mahala.autoencoders is mse and loaded.autoencoders is None
    np.testing.assert_allclose(loaded.score(expected), mahala.score(expected), rtol=1e-6, atol=0)
    assert loaded.saved_info_["thresholds"] == mahala.thresholds_


def test_a_saved_embedding_system_scores_the_same_after_loading(fan, tmp_path):
    """System-2 at the ci profile; the loaded object is a new one, without the embedding cache."""
    chapter, train, test = fan
    det = ClassifierSystem.system2("ci", progress=False).fit(train)
    expected = det.score(test)
    path = detect.save_detector(det, tmp_path / "System-2.pt")
    assert det._cache, "saving must not empty the fitted detector's own cache"
    loaded = detect.load_detector(path)
    assert loaded is not det and loaded._cache == {} and loaded.model_ is not det.model_
    scores = loaded.score(test)
    assert np.ptp(scores) > 0
    np.testing.assert_allclose(scores, expected, rtol=1e-6, atol=0)
    assert loaded.thresholds_ == det.thresholds_
    assert (loaded.decide(test, scores) == det.decide(test, expected)).all()
    info = loaded.saved_info_
    assert info["class"] == "asdlib.systems.classifier.ClassifierSystem" and info["backend"] == "knn"
    assert info["machine_types"] == ["synFan"]
    assert info["clips"] == {"synFan": {"sample_rates": [16000], "seconds": [2.0, 2.0]}}
    assert info["asdlib_version"] and "git_commit" in info


def test_saving_needs_a_fitted_detector_and_loading_a_saved_one(tmp_path):
    with pytest.raises(RuntimeError, match="AEMSE is not fitted: call fit"):
        detect.save_detector(AEMSE(), tmp_path / "x.pt")
    other = tmp_path / "other.pt"
    import torch

    torch.save({"weights": 1}, other)  # a pickle (torch.save's zip): never opened
    with pytest.raises(ValueError, match="is a pickle not written by asdlib: it is not a weights-only file"):
        detect.load_detector(other)
    other.write_text("some text")
    with pytest.raises(ValueError, match="is not a detector saved by asdlib.systems.detect.save_detector"):
        detect.load_detector(other)


# --------------------------------------------------------------------------- the command line
def _copy(src, dst, seconds=None, sample_rate=None):
    """A copy of a clip, optionally cut to ``seconds`` or written at another sample rate."""
    x, sr = sf.read(src)
    if seconds is not None:
        x = x[:int(seconds * sr)]
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(dst, x, sample_rate or sr)
    return dst


def test_a_clip_named_otherwise_needs_its_machine_type(ae_run, cli, tmp_path):
    run, _, expected = ae_run
    clip = shutil.copy(expected.path[0], tmp_path / "my recording.wav")
    assert cli.error(score, run.root, clip) == (
        f"error: {clip}: cannot tell its machine type (not a DCASE clip <type>/test/section_SS_....wav); "
        "pass --machine-type T")
    code, out, _ = cli(score, run.root, clip, "--machine-type", "synFan")
    assert code == 0
    row = out.splitlines()[1].rsplit(maxsplit=5)  # the file name holds a space
    assert row[0] == str(clip) and row[1:3] == ["AE-MSE", "synFan"]
    assert float(row[3]) == pytest.approx(expected.score[0], rel=1e-5)  # printed to 6 digits


def test_clips_the_system_cannot_score_are_refused(ae_run, dataset, cli, tmp_path):
    run, _, expected = ae_run
    valve = sorted((dataset / "synValve" / "test").glob("*.wav"))[0]
    assert cli.error(score, run.root, valve) == (
        f"error: {valve}: AE-MSE was not trained on machine type 'synValve' (only on synFan); score it with a run "
        "trained on synValve, or pass --machine-type if the clip is named otherwise")
    name = expected.file_name[0]
    resampled = _copy(expected.path[0], tmp_path / "rate" / "synFan" / "test" / name, sample_rate=8000)
    assert cli.error(score, run.root, resampled) == (
        f"error: {resampled}: sample rate 8000 Hz, but AE-MSE was trained on 16000 Hz clips of synFan; "
        "resample it to 16000 Hz")
    short = _copy(expected.path[0], tmp_path / "short" / "synFan" / "test" / name, seconds=1.0)
    assert cli.error(score, run.root, short) == (
        f"error: {short}: 1.00 s long, but AE-MSE was trained on 2.00 s clips of synFan; cut or pad it to 2.00 s")
    broken = tmp_path / "broken" / "synFan" / "test" / name
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not audio at all")
    err = cli.error(score, run.root, broken)
    assert err.startswith(f"error: {broken}: cannot read audio (") and err.endswith("); pass a WAV file")
    assert cli.error(score, run.root, tmp_path / "missing.wav") == (
        f"error: {tmp_path / 'missing.wav'} does not exist; pass .wav clips or folders holding them")
    assert cli.error(score, run.root, tmp_path / "broken") == (
        f"error: folder {tmp_path / 'broken'} holds no .wav file; pass clips or folders of clips")


def test_run_folders_without_fitted_systems_name_the_chapter_to_run(fan, ae_run, cli, tmp_path):
    chapter, _, test = fan
    clip = test.path[0]
    run = RunFolder.open("03_system1", "ci", chapter, {"seed": 0}, runs_root=tmp_path / "runs")
    assert cli.error(score, run.root, clip) == (
        f"error: {run.root} has no fitted system (fitted/*.pt); run chapter 03_system1 again to save them: "
        f"asd run notebooks/03_system1.py -p profile ci -p data_root {chapter.root}")
    other = RunFolder.open("00_dataset", "ci", chapter, {}, runs_root=tmp_path / "runs")
    assert cli.error(score, other.root, clip) == (
        f"error: {other.root} has no fitted system (fitted/*.pt); chapter 00_dataset fits no system; run one of "
        "02_baselines, 03_system1, 04_system2, 05_system3 and pass its run folder")
    assert cli.error(score, tmp_path, clip) == (
        f"error: {tmp_path} has no fitted system (fitted/*.pt); it is not a run folder (no config.json); pass a "
        "folder runs/<profile>/<chapter>/<run>/ made by one of the chapters 02_baselines, 03_system1, 04_system2, "
        "05_system3")
    assert cli.error(score, tmp_path / "nowhere", clip) == (
        f"error: run folder {tmp_path / 'nowhere'} does not exist; pass a folder runs/<profile>/<chapter>/<run>/ "
        "made by one of the chapters 02_baselines, 03_system1, 04_system2, 05_system3")
    assert cli.error(score, ae_run[0].root, clip, "--system", "AE-MAHALA") == (
        f"error: {ae_run[0].root} has no fitted system 'AE-MAHALA' (it has AE-MSE); pass one of these to --system")
