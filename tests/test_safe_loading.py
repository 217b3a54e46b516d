"""Loading a file runs no code: fitted detectors (``asdlib.systems.detect.save_detector``) are
safetensors files with JSON beside the arrays, training checkpoints are weights-only
(``asdlib.systems.training``).

* every kind of detector the chapters save (reference yardsticks, AE-MSE / AE-MAHALA, Systems
  1-3 with every back end, System-4's ensemble) scores every clip bit for bit as before saving,
  and comes back with every attribute it had (``asdlib.systems.state``'s walk);
* a pickled detector of an older asdlib, or a pickle planted to run code, is refused with what
  it is and what to do (``asd score`` names the chapter of its run folder), and the planted
  code never runs; so is a file naming a class outside the allowlist;
* a planted checkpoint is moved aside without running, and training starts afresh.
"""

from __future__ import annotations

import json
import os
import pickle
import shlex
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from asdlib import data
from asdlib.book import score
from asdlib.book.runs import RunFolder
from asdlib.models import AutoencoderConfig
from asdlib.systems import detect, state
from asdlib.systems.backends import BACKENDS, make_backend
from asdlib.systems.baselines import AEMSE, AEMahala
from asdlib.systems.classifier import ClassifierSystem, ClassifierSystemConfig
from asdlib.systems.ensemble import ScoreEnsemble
from asdlib.systems.labels import AttributeLabelSource
from asdlib.systems.reference import ClipMeanMahalanobis, ClipMeanNearestNeighbour
from asdlib.systems.ssl import SSLSystem, SSLSystemConfig
from asdlib.systems.training import load_checkpoint, train

pytestmark = pytest.mark.training  # trains networks or runs notebooks: left out of `make check`


@pytest.fixture(scope="module")
def tones(two_type_tones):
    clips = two_type_tones
    return (clips[clips.split == "train"].reset_index(drop=True),
            clips[clips.split == "test"].reset_index(drop=True))


# --------------------------------------------------------------------------- same state, same scores
def assert_same(a, b, where="detector"):
    """``b`` (rebuilt) holds what ``a`` held: same types, values bit for bit, dtypes, orders."""
    if isinstance(a, torch.nn.Module):
        assert type(b) is type(a), where
        sa, sb = a.state_dict(), b.state_dict()
        assert list(sa) == list(sb), where
        for key in sa:
            assert sa[key].dtype == sb[key].dtype and torch.equal(sa[key], sb[key]), f"{where}.{key}"
        assert [m.training for m in a.modules()] == [m.training for m in b.modules()], where
        for pa, pb in zip(a.parameters(), b.parameters()):
            assert type(pa) is type(pb) and pa.requires_grad == pb.requires_grad, where
    elif isinstance(a, np.ndarray):
        assert type(b) is np.ndarray and a.dtype == b.dtype and a.shape == b.shape, where
        assert a.flags.f_contiguous == b.flags.f_contiguous or a.ndim < 2, where
        if a.dtype.kind in "biuf":
            assert a.tobytes() == b.tobytes(), where
        else:
            assert len(a.ravel()) == len(b.ravel()), where
            for i, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
                assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert type(b) is type(a) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, pd.Index):
        pd.testing.assert_index_equal(a, b, exact=True, check_exact=True, obj=where)
    elif isinstance(a, (dict, list, tuple, set, frozenset)):
        assert type(b) is type(a) and len(a) == len(b), where
        if isinstance(a, dict):
            assert list(a) == list(b), where
            for k in a:
                assert_same(a[k], b[k], f"{where}.{k}")
        elif isinstance(a, (set, frozenset)):
            assert a == b, where
        else:
            for i, (x, y) in enumerate(zip(a, b)):
                assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert type(b) is type(a) and np.isnan(b), where
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        assert type(b) is type(a), where
        skip = set(getattr(type(a), "unsaved_attributes", ())) | {"saved_info_", "device_", "device"}
        assert set(vars(a)) - skip == set(vars(b)) - skip, where
        for k in vars(a):
            if k not in skip:
                assert_same(vars(a)[k], vars(b)[k], f"{where}.{k}")
    else:
        assert type(b) is type(a) and a == b, f"{where}: {a!r} != {b!r}"


def reloaded(det, tmp_path, name="det"):
    loaded = detect.load_detector(detect.save_detector(det, tmp_path / f"{name}.pt"))
    assert loaded is not det
    assert_same(det, loaded)
    return loaded


def assert_scores_as_before(det, loaded, test, backends=(None,)):
    """Every clip's score bit for bit, the decisions and thresholds, with each back end."""
    for backend in backends:
        before = det if backend is None else det.with_backend(backend)
        after = loaded if backend is None else loaded.with_backend(backend)
        expected = before.score(test)
        scores = after.score(test)
        assert np.ptp(scores) > 0, backend
        np.testing.assert_array_equal(scores, expected, err_msg=str(backend))
        assert after.thresholds_ == before.thresholds_
        np.testing.assert_array_equal(after.decide(test, scores), before.decide(test, expected))


def test_reference_yardsticks_score_the_same_after_loading(tones, tmp_path):
    train, test = tones
    for det in (ClipMeanMahalanobis().fit(train), ClipMeanNearestNeighbour().fit(train)):
        loaded = reloaded(det, tmp_path, type(det).__name__)
        assert_scores_as_before(det, loaded, test)
    assert type(loaded.banks_["toneA"]) is np.ndarray


def test_both_baselines_score_the_same_after_loading(tones, tmp_path):
    train, test = tones
    config = AutoencoderConfig.for_profile("ci", epochs=1)
    mse = AEMSE(config, progress=False).fit(train)
    mahala = AEMahala(config, progress=False, autoencoders=mse).fit(train)
    for det in (mse, mahala):
        loaded = reloaded(det, tmp_path, det.name)
        assert_scores_as_before(det, loaded, test)
        assert loaded.device == torch.device("cpu") and not loaded.models_["toneA"].training
    assert loaded.autoencoders is None and mahala.autoencoders is mse  # the shared models stay out
    assert loaded.covariances_["toneB"]["target"].dtype == np.float64


@pytest.fixture(scope="module")
def system1(tones):
    return ClassifierSystem.system1("ci", progress=False, epochs=1).fit(tones[0])


def test_systems_1_and_2_score_the_same_with_every_back_end(system1, tones, tmp_path):
    train, test = tones
    # as chapter 04 builds it: its own label source (kept twice: label_source, label_source_), extra types
    config = ClassifierSystemConfig.for_profile("ci", label_source="attribute", epochs=1)
    system2 = ClassifierSystem(config, label_source=AttributeLabelSource(), progress=False)
    system2.fit(train[train.machine_type == "toneA"], extra_train=train[train.machine_type == "toneB"])
    assert system2.extra_types_ == ["toneB"] and system2.label_source is system2.label_source_
    # every embedding back end of the registry, fitted on the network's embeddings
    for name in sorted(set(BACKENDS) - set(system1.backends_)):
        backend = make_backend(name).fit(system1.embed(train), train)
        system1.backends_[name], system1.backend_inputs_[name] = backend, "embedding"
        system1._set_thresholds(train, backend.train_scores())
        system1.thresholds_by_backend_[name] = dict(system1.thresholds_)
        system1.train_scores_by_backend_[name] = system1.train_scores_
    system1.set_backend("knn")
    assert set(system1.backends_) == set(BACKENDS) | {"probability"}
    for det, scored in ((system1, test), (system2, test[test.machine_type == "toneA"].reset_index(drop=True))):
        loaded = reloaded(det, tmp_path, det.config.label_source)
        assert loaded._cache == {} and det._cache  # the cache stays with the fitted detector
        assert_scores_as_before(det, loaded, scored, backends=sorted(det.backends_))
    assert loaded.label_source is loaded.label_source_  # one object, as it was
    # the pseudo-label source comes back with its clustering (scikit-learn estimators inside)
    before, after = system1.label_source_, reloaded(system1, tmp_path).label_source_
    assert (after.labels(test) == before.labels(test)).all()


def test_a_transferred_system_keeps_the_backends_of_its_transfer(system1, tones, tmp_path):
    """Chapters 03-05 save ``det.transfer(model_train).with_backend(...)``."""
    train, test = tones
    moved = system1.transfer(train[train.machine_type == "toneA"]).with_backend("probability")
    loaded = reloaded(moved, tmp_path)
    assert loaded.backend_name == "probability" and loaded.saved_info_["backend"] == "probability"
    tone_a = test[test.machine_type == "toneA"].reset_index(drop=True)
    assert_scores_as_before(moved, loaded, tone_a)


def test_system3_scores_the_same_with_every_back_end_and_test_text(tones, tmp_path):
    train, test = tones
    config = SSLSystemConfig.for_profile("ci", epochs=1, batch_size=8, network_n_samples=9600, n_centres=4)
    det = SSLSystem(config, progress=False).fit(train)
    assert det.config.use_text and det.model_.fusion is not None
    loaded = reloaded(det, tmp_path, "System-3")
    assert loaded.text_embedder is None  # MiniLM is loaded again when needed
    assert_scores_as_before(det, loaded, test, backends=("kmeans", "knn", "probability"))
    # "known" test text: sentences from the saved label source's clusters, fused by the saved network
    known = det.with_test_text("known", train)
    assert_scores_as_before(known, reloaded(known, tmp_path, "known"), test, backends=("kmeans", "knn"))


def test_the_ensemble_scores_the_same_after_loading(tones, tmp_path):
    train, test = tones
    members = {}
    for det in (ClipMeanMahalanobis().fit(train), ClipMeanNearestNeighbour().fit(train)):
        members[type(det).__name__] = tuple(t[["file_name", "machine_type"]].assign(score=det.score(t))
                                            for t in (test, train))
    for normalisation in ("zscore", "rank"):
        ens = ScoreEnsemble(members, normalisation).fit(train)
        assert_scores_as_before(ens, reloaded(ens, tmp_path, normalisation), test)


def test_loading_leaves_the_global_random_state_alone(system1, tmp_path):
    path = detect.save_detector(system1, tmp_path / "System-1.pt")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    detect.load_detector(path)  # builds the network before loading its weights
    assert torch.equal(torch.rand(3), expected)


# --------------------------------------------------------------------------- the walk
def test_the_walk_rebuilds_values_exactly_and_shares_what_was_shared():
    shared = np.arange(6.0).reshape(2, 3)
    value = {
        "floats": [0.1, float("nan"), float("inf"), -0.0, np.float32(1.1), np.int16(-3), np.bool_(True)],
        "arrays": (shared, shared, np.asfortranarray(shared), np.array(["a", "bc"]),
                   np.array([{"k": 1}, None], dtype=object), np.zeros((0, 4), np.float32), np.array(2.5),
                   np.arange(3, dtype=">i4")),
        "keys": {1: "one", ("a", 2): "tuple", "$": "tag"},
        "sets": ({"x", "y"}, frozenset({1})),
        "torch": (torch.arange(4, dtype=torch.float64), torch.nn.Parameter(torch.ones(2)), torch.device("cpu"),
                  torch.float16, np.dtype("int32")),
        "path": Path("/some/where"),
        "frame": pd.DataFrame({"x": [1.5, np.nan], "n": [1, 2], "s": ["a", None],
                               "o": pd.Series([{"k": "v"}, "b"], dtype=object),
                               "c": pd.Categorical(["u", "v"]), "i": pd.array([1, None], dtype="Int64")},
                              index=pd.Index(["r1", "r2"], name="row")),
        "series": pd.Series([3, 4], index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)]), name="s"),
        "range": pd.RangeIndex(2, 10, 3, name="r"),
    }
    encoder = state.Encoder()
    tree = encoder.encode(value, "value")
    json.dumps(tree, allow_nan=False)  # strict JSON
    assert all(isinstance(t, torch.Tensor) for t in encoder.arrays.values())
    back = state.Decoder(encoder.arrays).decode(json.loads(json.dumps(tree)))
    assert_same(value, back, "value")
    assert back["arrays"][0] is back["arrays"][1] and back["arrays"][2].flags.f_contiguous
    assert back["arrays"][7].dtype == np.dtype(">i4") and back["floats"][4].dtype == np.float32


def test_the_walk_refuses_what_it_cannot_write(tones, tmp_path):
    det = ClipMeanNearestNeighbour().fit(tones[0])
    det.callback_ = lambda: None
    with pytest.raises(ValueError, match=r"cannot save ClipMeanNearestNeighbour: callback_ is a builtins.function"):
        detect.save_detector(det, tmp_path / "x.pt")
    det.callback_ = {"inner": [pd.Timestamp("2024-01-01")]}
    with pytest.raises(ValueError, match=r"callback_.inner\[0\] is a pandas.*Timestamp, which cannot be saved"):
        detect.save_detector(det, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


# --------------------------------------------------------------------------- the file
def test_the_file_is_safetensors_with_json_and_no_pickle(tones, tmp_path):
    from safetensors import safe_open

    det = ClipMeanMahalanobis().fit(tones[0])
    path = detect.save_detector(det, tmp_path / "det.pt")
    head = path.read_bytes()[:8]
    assert not head.startswith(b"PK") and head[:1] != b"\x80"
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
        names = list(fh.keys())
    assert meta["kind"] == "asdlib-detector" and meta["format"] == str(detect.SAVED_FORMAT) == "2"
    info = json.loads(meta["info"])
    assert info["thresholds"] == det.thresholds_ and info["machine_types"] == ["toneA", "toneB"]
    assert detect.saved_info(path) == info
    tree = json.loads(meta["detector"])
    assert tree["class"] == "asdlib.systems.reference:ClipMeanMahalanobis"
    # the scikit-learn estimators are their attributes; their arrays are entries of the file
    assert tree["state"]["models_"]["toneA"]["class"] == "sklearn.covariance._shrunk_covariance:LedoitWolf"
    assert "models_.toneA.covariance_" in names and "train_scores_" in names


def test_a_safetensors_header_length_that_looks_like_a_pickle_is_still_read(tmp_path):
    """The first byte of a safetensors file is the low byte of its header's length: 0x80 there
    is no pickle (the refusal above looks at the structure first)."""
    from safetensors.torch import save_file

    path = tmp_path / "x.pt"
    for n in range(64):
        save_file({"a": torch.zeros(1)}, path, metadata={"kind": "other", "pad": "p" * n})
        if path.read_bytes()[:1] == b"\x80":
            break
    assert path.read_bytes()[:1] == b"\x80"
    with pytest.raises(detect.SavedFileError, match="is a safetensors file, but not a detector saved by"):
        detect.load_detector(path)


def _rewrite(path: Path, out: Path, old: str, new: str) -> Path:
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as fh:
        meta, arrays = fh.metadata(), {k: fh.get_tensor(k) for k in fh.keys()}
    assert old in meta["detector"]
    save_file(arrays, out, metadata={**meta, "detector": meta["detector"].replace(old, new)})
    return out


def test_a_file_naming_a_class_outside_the_allowlist_is_refused(tones, tmp_path):
    det = ClipMeanNearestNeighbour().fit(tones[0])
    path = detect.save_detector(det, tmp_path / "det.pt")
    name = '"asdlib.systems.reference:ClipMeanNearestNeighbour"'
    for other in ('"subprocess:Popen"', '"os:system"', '"builtins:eval"', '"asdlib.systems.detect:np.ndarray"',
                  '"asdlib.systems.detect:Path"', '"asdlib.systems.nowhere:Thing"'):
        bad = _rewrite(path, tmp_path / "bad.pt", name, other)
        with pytest.raises(detect.SavedFileError, match="cannot be rebuilt by this asdlib .*class"):
            detect.load_detector(bad)
    bad = _rewrite(path, tmp_path / "bad.pt", '"$": "ndarray"', '"$": "pickle"')
    with pytest.raises(detect.SavedFileError, match="unknown entry 'pickle'"):
        detect.load_detector(bad)


class _Planted:
    """Unpickled, it runs ``touch <marker>``: the kind of file someone could share."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def _planted_files(folder: Path, marker: Path) -> list[Path]:
    """A pickled detector as the old save_detector wrote it (torch.save, a zip) and a bare pickle."""
    folder.mkdir(parents=True, exist_ok=True)
    old = folder / "old.pt"
    torch.save({"format": 1, "info": {}, "detector": _Planted(marker)}, old)
    bare = folder / "bare.pt"
    bare.write_bytes(pickle.dumps(_Planted(marker)))
    return [old, bare]


def test_a_pickled_or_planted_detector_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "PWNED"
    for path in _planted_files(tmp_path / "files", marker):
        with pytest.raises(detect.SavedFileError) as err:
            detect.load_detector(path)
        message = str(err.value)
        assert message.startswith(f"{path} was written by an older asdlib (a pickled object)")
        assert "not a weights-only file" in message and "re-run the chapter that wrote it" in message
        with pytest.raises(detect.SavedFileError):
            detect.saved_info(path)
        assert not marker.exists()
    pickle.loads((tmp_path / "files" / "bare.pt").read_bytes())  # the payload is live: unpickling runs it
    assert marker.exists()


def test_asd_score_names_the_chapter_that_fits_an_old_file_again(tones, two_type_tones, cli, tmp_path):
    train, test = tones
    chapter = SimpleNamespace(root=Path(train.path[0]).parents[2], fingerprint=data.fingerprint(two_type_tones),
                              label="tones")
    run = RunFolder.open("03_system1", "ci", chapter, {"seed": 0}, runs_root=tmp_path / "runs")
    marker = tmp_path / "PWNED"
    old = _planted_files(tmp_path / "files", marker)[0]
    fitted = run.fitted_path("System-1")
    fitted.parent.mkdir(parents=True, exist_ok=True)
    fitted.write_bytes(old.read_bytes())
    fix = (f"re-run chapter 03_system1 to fit it again: asd run notebooks/03_system1.py -p profile ci "
           f"-p data_root {chapter.root}")
    for where in (run.root, fitted):  # the run folder, or its file
        message = cli.error(score, where, test.path[0])
        assert message.startswith(f"error: {fitted} was written by an older asdlib (a pickled object)")
        assert message.endswith(f"; {fix}")
    assert not marker.exists()


# --------------------------------------------------------------------------- training checkpoints
def _tiny_training(checkpoint: Path, epochs: int, **kw):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, generator=torch.Generator().manual_seed(1))

    def one_epoch(epoch, tick):
        order = torch.randperm(16, generator=generator)
        loss = model(x[order[:8]]).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": np.float64(loss.item()), "f32": np.float32(0.5), "n": np.int64(epoch), "nan": float("nan")}

    result = train(model, optimizer, epochs, one_epoch, fingerprint={"data": "x", "n": 16}, checkpoint=checkpoint,
                   generator=generator, progress=False, **kw)
    return model, result


def test_checkpoints_are_weights_only_and_resume_bit_for_bit(tmp_path):
    ckpt = tmp_path / "weights" / "model.pt"
    whole, _ = _tiny_training(tmp_path / "whole.pt", 3)
    _tiny_training(ckpt, 3, max_epochs_this_call=1)  # interrupted after one epoch
    raw = torch.load(ckpt, weights_only=True)  # plain tensors, numbers and strings
    assert raw["format"] == 3 and isinstance(raw["history"], str) and isinstance(raw["fingerprint"], str)
    assert load_checkpoint(ckpt)["fingerprint"] == {"data": "x", "n": 16}
    resumed, result = _tiny_training(ckpt, 3)
    assert result.resumed_from == 1 and len(result.history) == 3
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    history = load_checkpoint(ckpt)["history"]
    assert history[0]["f32"] == 0.5 and history[2]["n"] == 2 and np.isnan(history[1]["nan"])
    assert [h["loss"] for h in history] == [h["loss"] for h in load_checkpoint(tmp_path / "whole.pt")["history"]]


def test_a_planted_or_old_checkpoint_is_moved_aside_and_never_runs(tmp_path):
    marker = tmp_path / "PWNED"
    ckpt = tmp_path / "weights" / "model.pt"
    ckpt.parent.mkdir()
    for i, planted in enumerate(_planted_files(tmp_path / "files", marker)):
        ckpt.write_bytes(planted.read_bytes())
        with pytest.raises(RuntimeError, match="not a weights-only checkpoint .* not unpickled"):
            load_checkpoint(ckpt)
        with pytest.warns(UserWarning, match="not a weights-only checkpoint"):
            _, result = _tiny_training(ckpt, 2)
        assert result.resumed_from == 0 and result.epochs_done == 2  # trained afresh
        assert (tmp_path / "weights" / f"model.stale{'' if i == 0 else '-2'}.pt").is_file()
    # a checkpoint of the pickled format 2 that holds only plain values: read, then moved aside as older
    torch.save({"format": 2, "epoch": 1}, ckpt)
    with pytest.warns(UserWarning, match="not an asdlib checkpoint of format 3 \\(found 2\\)"):
        _tiny_training(ckpt, 1)
    assert not marker.exists()
