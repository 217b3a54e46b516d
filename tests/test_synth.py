"""The synthetic DCASE-layout generator: layout, names, audio, determinism, attributes, anomalies,
the generator versions (1 frozen byte for byte, 2 recorded in a factory hall) and the additional part."""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asdlib import data, synth
from asdlib.synth import cli as synth_cli, dataset as synth_dataset, recording

DCASE_RE = re.compile(r"^section_(\d\d)_(source|target)_(train|test)_(normal|anomaly)_(\d{4})_(.+)\.wav$")
CI = synth.DATASET_SIZES["ci"]


@pytest.fixture(scope="module")
def ci_root(tmp_path_factory) -> Path:
    return synth.generate_dataset(tmp_path_factory.mktemp("synth") / "ci", "ci", seed=0)


def _wavs(root: Path, mtype: str, split: str | None = None) -> list[Path]:
    splits = [split] if split else ["train", "test"]
    return sorted(p for s in splits for p in (root / mtype / s).glob("*.wav"))


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="") as fh:
        return list(csv.reader(fh))


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != synth.MANIFEST}


# --------------------------------------------------------------------------- layout
def test_public_api():
    assert len(synth.MACHINE_TYPES) == 7 and all(t.startswith("syn") for t in synth.MACHINE_TYPES)
    assert set(synth.HIDDEN_TYPES) == {"synGearbox", "synSlider", "synToyTrain"}
    assert set(synth.DATASET_SIZES) == {"ci", "demo", "full"}
    assert synth.DEFAULT_VERSION in (1, 2) and set(synth.GENERATOR_VERSIONS) == {1, 2}
    assert synth.GENERATOR_VERSION == synth.GENERATOR_VERSIONS[synth.DEFAULT_VERSION]
    assert synth.PARTS == ("dev", "additional") and synth.PART_TYPES["dev"] == synth.MACHINE_TYPES
    with pytest.raises(ValueError):
        synth.render_clip("synFan", version=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        CI.n_test = 3  # type: ignore[misc]


def test_layout_and_names(ci_root):
    assert sorted(d.name for d in ci_root.iterdir() if d.is_dir()) == sorted(
        list(synth.MACHINE_TYPES) + ["ground_truth_attributes_all"])
    for t in synth.MACHINE_TYPES:
        model = synth.get_model(t)
        cells: dict[tuple, list[int]] = {}
        for split in ("train", "test"):
            for p in _wavs(ci_root, t, split):
                m = DCASE_RE.match(p.name)
                assert m, p.name
                section, domain, fsplit, label, index, attrs = m.groups()
                assert section == "00" and fsplit == split
                assert not (split == "train" and label == "anomaly")
                if model.hidden:
                    assert attrs == "noAttribute"
                else:
                    tokens = attrs.split("_")
                    assert len(tokens) == 2 * len(model.attributes)
                    assert tokens[0::2] == list(model.attributes)
                    values = tuple(tokens[1::2])
                    groups = model.source_groups if domain == "source" else model.target_groups
                    assert values in groups, (p.name, values)
                cells.setdefault((split, domain, label), []).append(int(index))
        # numbered from 0001, separately for split x domain x label, without gaps
        for key, idx in cells.items():
            assert sorted(idx) == list(range(1, len(idx) + 1)), (t, key)


def test_counts_per_profile(ci_root):
    for t in synth.MACHINE_TYPES:
        names = [p.name for p in _wavs(ci_root, t)]
        count = lambda s: sum(s in n for n in names)  # noqa: E731
        assert count("_source_train_normal_") == CI.n_train_source == 30
        assert count("_target_train_normal_") == CI.n_train_target == 5
        for cell in ("source_test_normal", "source_test_anomaly", "target_test_normal", "target_test_anomaly"):
            assert count(cell) == CI.n_test == 6
    # the bigger profiles, from the plan alone (no audio rendered)
    for name, (src, tgt, test, secs) in {"demo": (190, 10, 25, 5.0), "full": (990, 10, 50, 10.0)}.items():
        prof = synth.DATASET_SIZES[name]
        assert prof.clip_seconds == secs
        plan = synth.plan_type("synFan", name)
        cnt = lambda sp, d, lab: sum(s.split == sp and s.domain == d and s.label == lab for s in plan)  # noqa: E731
        assert (cnt("train", "source", "normal"), cnt("train", "target", "normal")) == (src, tgt)
        assert all(cnt("test", d, lab) == test for d in ("source", "target") for lab in ("normal", "anomaly"))
    # counts can be overridden
    small = CI.with_counts(n_train_source=4, n_test=2)
    plan = synth.plan_type("synValve", small)
    assert len(plan) == 4 + 5 + 4 * 2


def test_audio_format(ci_root):
    for t in synth.MACHINE_TYPES:
        files = _wavs(ci_root, t)
        for p in files[::7] + [f for f in files if "_anomaly_" in f.name]:
            info = sf.info(str(p))
            assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "WAV")
            assert info.frames == int(CI.clip_seconds * 16000)
            x, _ = sf.read(str(p), dtype="int16")
            assert np.abs(x.astype(int)).max() < 32000, f"{p.name} is (nearly) clipping"
            rms = np.sqrt(np.mean((x / 32768.0) ** 2))
            assert 1e-3 < rms < 0.3, f"{p.name}: rms {rms}"


def test_attribute_csvs(ci_root):
    for t in synth.MACHINE_TYPES:
        model = synth.get_model(t)
        rows = _read_csv(ci_root / t / "attributes_00.csv")
        header, body = rows[0], rows[1:]
        n = len(model.attributes)
        if model.hidden:
            assert header == ["file_name", "d1p", "d1v"]
            assert all(r[1:] == ["noAttribute", ""] for r in body)
        else:
            assert header == ["file_name"] + [f"d{i}{c}" for i in range(1, n + 1) for c in "pv"]
        listed = {r[0] for r in body}
        on_disk = {f"{t}/{p.parent.name}/{p.name}" for p in _wavs(ci_root, t)}
        assert listed == on_disk and len(body) == len(on_disk)
        for r in body:
            if not model.hidden:
                attrs = "_".join(r[1:])
                assert r[0].endswith(f"_{attrs}.wav")


def test_hidden_type_correspondence(ci_root):
    expected_groups = {"synGearbox": 10, "synToyTrain": 12, "synSlider": 5}
    for t in synth.MACHINE_TYPES:
        gt_dir = ci_root / "ground_truth_attributes_all" / "dev_data" / t
        if t not in synth.HIDDEN_TYPES:
            assert not gt_dir.exists()
            continue
        model = synth.get_model(t)
        source_groups = set()
        for split in ("train", "test"):
            rows = _read_csv(gt_dir / f"attributes_00_{split}_correspondence.csv")
            assert rows[0] == ["source_file_name", "target_file_name"]
            published = [r[1] for r in rows[1:]]
            true = [r[0] for r in rows[1:]]
            assert sorted(published) == [p.name for p in _wavs(ci_root, t, split)]  # every file, once
            assert len(set(true)) == len(true)  # one-to-one
            for s, p in zip(true, published):
                ms, mp = DCASE_RE.match(s), DCASE_RE.match(p)
                assert ms and mp and mp.group(6) == "noAttribute"
                assert ms.groups()[:5] == mp.groups()[:5]  # same domain, split, label, index
                tokens = ms.group(6).split("_")
                values = tuple(tokens[1::2])
                assert tokens[0::2] == list(model.attributes)
                assert values in (model.source_groups if ms.group(2) == "source" else model.target_groups)
                if split == "train" and ms.group(2) == "source":
                    source_groups.add(values)
        assert len(source_groups) == len(model.source_groups) == expected_groups[t]


def test_manifest_and_anomaly_kinds(ci_root):
    info = json.loads((ci_root / synth.MANIFEST).read_text())
    assert info["synthetic"] is True and "SYNTHETIC" in info["statement"] and "NOT recordings" in info["statement"]
    assert (info["version"], info["profile"], info["seed"]) == (synth.GENERATOR_VERSION, "ci", 0)
    assert (info["generator_version"], info["part"]) == (synth.DEFAULT_VERSION, "dev")
    assert info["types"] == list(synth.MACHINE_TYPES)
    assert info["hidden_types"] == list(synth.HIDDEN_TYPES)
    assert (info["sample_rate"], info["clip_seconds"]) == (16000, 2.0)
    for t, d in info["machine_types"].items():
        assert d["sound_model"] and len(d["anomaly_kinds"]) >= 2
        assert d["counts"]["train_source_normal"] == 30 and d["counts"]["test_target_anomaly"] == 6
        assert d["source_values"] and d["target_values"] and d["source_values"] != d["target_values"]
        rows = _read_csv(ci_root / t / "anomaly_kinds.csv")
        assert rows[0] == ["file_name", "kind", "severity"]
        anomalies = {f"{t}/test/{p.name}" for p in _wavs(ci_root, t, "test") if "_anomaly_" in p.name}
        assert {r[0] for r in rows[1:]} == anomalies  # exactly the anomalies, nothing else
        kinds = [r[1] for r in rows[1:]]
        assert set(kinds) <= set(d["anomaly_kinds"]) and len(set(kinds)) >= 2
        # spread: within a domain the kinds are balanced (counts differ by at most 1)
        for dom in ("source", "target"):
            ks = [r[1] for r in rows[1:] if f"_{dom}_test_" in r[0]]
            c = [ks.count(k) for k in d["anomaly_kinds"]]
            assert max(c) - min(c) <= 1
        assert all(float(r[2]) > 0 for r in rows[1:])
        assert sum(d["anomaly_kind_counts"].values()) == len(anomalies)
        # the kind never leaks into the file name
        assert not any(k in r[0] for r in rows[1:] for k in d["anomaly_kinds"])


# --------------------------------------------------------------------------- determinism
SMALL = CI.with_counts(n_train_source=3, n_train_target=2, n_test=2, clip_seconds=1.0)


def test_same_seed_identical_bytes_different_seed_differs(tmp_path):
    types = ["synValve", "synToyTrain"]
    a = synth.generate_dataset(tmp_path / "a", SMALL, seed=3, machine_types=types)
    b = synth.generate_dataset(tmp_path / "b", SMALL, seed=3, machine_types=types, workers=2)  # other order/process
    c = synth.generate_dataset(tmp_path / "c", SMALL, seed=4, machine_types=types)
    da, db, dc = _digest(a), _digest(b), _digest(c)
    assert da == db
    wavs = [k for k in da if k.endswith(".wav")]
    assert len(wavs) == 2 * (3 + 2 + 8)
    assert sum(da[k] != dc.get(k) for k in wavs) >= len(wavs) - 1  # (names match: same plan shape)
    # a clip does not depend on which other clips are generated
    alone = synth.generate_dataset(tmp_path / "d", SMALL, seed=3, machine_types=["synToyTrain"])
    for k, v in _digest(alone).items():
        if k.endswith(".wav"):
            assert da[k] == v


def test_render_spec_matches_file(ci_root):
    spec = next(s for s in synth.plan_type("synBearing", "ci", 0) if s.label == "anomaly")
    x, _ = sf.read(str(ci_root / "synBearing" / "test" / spec.name(False)), dtype="int16")
    assert np.array_equal(x, synth.render_spec(spec, 0, CI.clip_seconds))


# --------------------------------------------------------------------------- idempotence, safety
def test_idempotent_skip_overwrite_and_replace(tmp_path):
    root = tmp_path / "ds"
    synth.generate_dataset(root, SMALL, seed=0, machine_types=["synFan"])
    manifest = root / synth.MANIFEST
    wav = _wavs(root, "synFan")[0]
    stamp = (manifest.stat().st_mtime_ns, wav.stat().st_mtime_ns)
    synth.generate_dataset(root, SMALL, seed=0, machine_types=["synFan"])
    assert (manifest.stat().st_mtime_ns, wav.stat().st_mtime_ns) == stamp  # skipped
    synth.generate_dataset(root, SMALL, seed=0, machine_types=["synFan"], overwrite=True)
    assert manifest.stat().st_mtime_ns != stamp[0]  # regenerated
    # another seed replaces the old synthetic dataset entirely
    synth.generate_dataset(root, SMALL, seed=1, machine_types=["synValve"])
    assert json.loads(manifest.read_text())["seed"] == 1
    assert not (root / "synFan").exists()
    # no temporary folders left behind
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]
    # a folder that is not ours is never deleted
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        synth.generate_dataset(foreign, SMALL, seed=0, machine_types=["synFan"])
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = synth_dataset._write_specs

    def flaky(job):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("simulated interruption")
        return real(job)

    monkeypatch.setattr(synth_dataset, "_write_specs", flaky)
    with pytest.raises(KeyboardInterrupt):
        synth.generate_dataset(tmp_path / "ds", SMALL.with_counts(n_train_source=200), seed=0,
                               machine_types=["synFan"], workers=1)
    assert calls["n"] == 2
    assert list(tmp_path.iterdir()) == []  # neither the dataset nor its temp folder


def test_ensure_dataset_default_root(tmp_path, monkeypatch):
    monkeypatch.setenv("ASD_DATA_DIR", str(tmp_path / "synthetic"))
    monkeypatch.setitem(synth.DATASET_SIZES, "ci", SMALL.with_counts(name="ci"))
    root = synth.ensure_dataset("ci", seed=0)
    assert root == tmp_path / "synthetic" / "ci"
    assert (root / synth.MANIFEST).is_file() and len(_wavs(root, "synGearbox")) == 3 + 2 + 8
    assert synth.ensure_dataset("ci", seed=0) == root  # second call: already there
    assert synth.default_root("ci", 2) == tmp_path / "synthetic" / "ci-seed2"
    other = synth.ensure_dataset("ci", seed=0, root=tmp_path / "elsewhere")
    assert other == tmp_path / "elsewhere" and (other / synth.MANIFEST).is_file()


def test_cli(tmp_path, capsys):
    args = ["--profile", "ci", "--out", str(tmp_path / "cli"), "--types", "synSlider", "--n-train-source", "2",
            "--n-test", "1", "--clip-seconds", "1"]
    assert synth_cli.main(args) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "SYNTHETIC" in out and "time:" in out and "synSlider" in out
    assert len(_wavs(tmp_path / "cli", "synSlider")) == 2 + 5 + 4
    assert synth_cli.main(args) == 0
    assert "up to date" in capsys.readouterr().out


# --------------------------------------------------------------------------- generator versions
# Hashes of the int16 samples written by the generator BEFORE version 2 existed (computed with the
# unchanged code): version 1 must reproduce them byte for byte. Profile ci, seed 0, 2-s clips:
# the first source train normal and the first target test anomaly of every development type.
V1_CLIP_SHA1 = {
    ("synFan", "train", "source", "normal", 1): "f577db88326648ad9e52394f9d177902b419ddef",
    ("synFan", "test", "target", "anomaly", 1): "21518c745fe877dbb68e5fd01ea5dd33546ef937",
    ("synGearbox", "train", "source", "normal", 1): "6132fd703c015262673b7dd86f2d8a9b1522d931",
    ("synGearbox", "test", "target", "anomaly", 1): "51f57b7e59d20f8f4d57cfb9d2b8fa91130f0c14",
    ("synSlider", "train", "source", "normal", 1): "4aabe18331c039db4bf178492a3173bc58ad6050",
    ("synSlider", "test", "target", "anomaly", 1): "488a8ee2096e14996ec593e9ea0287fd83b156b5",
    ("synValve", "train", "source", "normal", 1): "116b7d0bc829fda8a6f3c193355781a9ad86dc4c",
    ("synValve", "test", "target", "anomaly", 1): "f33792b4aa2854d56548177b266934ac067fc1a4",
    ("synBearing", "train", "source", "normal", 1): "e11f4431687dd2d7b7bb538cdef376e325079deb",
    ("synBearing", "test", "target", "anomaly", 1): "f39ed61eac5718d8f348d3f42f288d76918cfcd2",
    ("synToyCar", "train", "source", "normal", 1): "a9836fbf22461c82a1210f62dfd24816cfd72892",
    ("synToyCar", "test", "target", "anomaly", 1): "7cae9964c8b35a09876e86024d5b8453755d3a6f",
    ("synToyTrain", "train", "source", "normal", 1): "4911565c16ba2cf3a9e1935237768eb80d69165b",
    ("synToyTrain", "test", "target", "anomaly", 1): "26000d4e6561545173c61bbbd8290d698cce7afd",
}
# every file (wav and csv, not the manifest) of all 7 types: 1-s clips, 3 + 2 train, 4 x 2 test, seed 5
V1_DATASET_SHA1 = "f798efbf8012cad9062be60302943afc6fbcf1f9"


def test_version_1_is_byte_identical_to_before_version_2(tmp_path):
    for t in synth.MACHINE_TYPES:
        plan = synth.plan_type(t, "ci", 0)
        for spec in (plan[0], next(s for s in plan if s.label == "anomaly" and s.domain == "target")):
            x = synth.render_spec(spec, 0, 2.0, version=1)
            key = (t, spec.split, spec.domain, spec.label, spec.index)
            assert hashlib.sha1(x.tobytes()).hexdigest() == V1_CLIP_SHA1[key], key
    prof = CI.with_counts(n_train_source=3, n_train_target=2, n_test=2, clip_seconds=1.0)
    root = synth.generate_dataset(tmp_path / "v1", prof, seed=5, version=1, workers=1)
    h = hashlib.sha1()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != synth.MANIFEST:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    assert h.hexdigest() == V1_DATASET_SHA1
    info = synth.read_manifest(root)
    assert (info["version"], info["generator_version"], info["part"]) == ("1.0.0", 1, "dev")


def test_version_2_deterministic_and_differs_from_version_1(tmp_path):
    types = ["synFan", "synValve"]
    a = synth.generate_dataset(tmp_path / "a", SMALL, seed=3, machine_types=types, version=2, workers=1)
    alone = synth.generate_dataset(tmp_path / "b", SMALL, seed=3, machine_types=["synValve"], version=2, workers=1)
    other = synth.generate_dataset(tmp_path / "c", SMALL, seed=4, machine_types=types, version=2, workers=1)
    v1 = synth.generate_dataset(tmp_path / "d", SMALL, seed=3, machine_types=types, version=1, workers=1)
    da, db, dc, d1 = _digest(a), _digest(alone), _digest(other), _digest(v1)
    wavs = [k for k in da if k.endswith(".wav")]
    assert len(wavs) == 2 * (3 + 2 + 8)
    assert all(da[k] == v for k, v in db.items())  # same clip, whatever else is generated
    assert sum(da[k] != dc.get(k) for k in wavs) >= len(wavs) - 1  # another seed, other takes
    assert all(da[k] != d1[k] for k in wavs)  # the recording chain changes every clip
    assert all(da[k] == d1[k] for k in da if not k.endswith(".wav"))  # same plan, names and tables
    spec = next(s for s in synth.plan_type("synFan", SMALL, 3) if s.label == "anomaly")
    x, _ = sf.read(str(a / "synFan" / "test" / spec.name(False)), dtype="int16")
    assert np.array_equal(x, synth.render_spec(spec, 3, SMALL.clip_seconds, version=2))
    assert np.array_equal(synth.render_clip("synGearbox", seed=7, version=2),
                          synth.render_clip("synGearbox", seed=7, version=2))


def test_version_2_snr_and_recording_vary_within_their_ranges():
    nu = synth.NUISANCE
    for t in ("synFan", "synToyTrain", "synHoveringDrone"):
        model = synth.get_model(t)
        infos = []
        for seed in range(12):
            domain = "target" if seed % 3 == 0 else "source"
            groups = model.target_groups if domain == "target" else model.source_groups
            x, info = synth.render_clip(t, dict(zip(model.attributes, groups[0])), domain=domain, seed=seed,
                                        seconds=1.0, version=2, info=True)
            # measured from the two parts rendered separately: their power ratio is the drawn SNR
            m, b = info["machine"], info["background"]
            assert 10 * np.log10(np.mean(m ** 2) / np.mean(b ** 2)) == pytest.approx(info["snr_db"], abs=0.01)
            assert np.corrcoef(x, m + b)[0, 1] > 0.5  # the clip is their mix (after mic response and level)
            hall = recording._HALLS[info["hall"]]
            assert info["hall"] == model.halls[domain == "target"]
            assert hall.rt60_s[0] <= info["rt60_s"] <= hall.rt60_s[1]
            assert nu.snr_db[0] <= info["snr_db"] <= nu.snr_db[1]
            infos.append(info)
        snr = np.array([i["snr_db"] for i in infos])
        assert snr.max() - snr.min() > 6.0 and snr.min() < 3.0, snr  # varies, and is often low
        assert np.ptp([i["rt60_s"] for i in infos]) > 0.05 and np.ptp([i["mic_distance_m"] for i in infos]) > 0
    # the target domain is recorded elsewhere: another hall and a moved microphone
    for t in synth.MACHINE_TYPES + synth.ADDITIONAL_TYPES:
        m = synth.get_model(t)
        assert m.halls[0] != m.halls[1] and set(m.halls) <= set(recording._HALLS)
        assert recording._placement(t, "source", m.target_move) != recording._placement(t, "target", m.target_move)


def test_manifest_records_version_and_part(tmp_path):
    tiny = SMALL.with_counts(n_train_source=2, n_train_target=1, n_test=1)
    a = synth.generate_dataset(tmp_path / "v2", tiny, machine_types=["synBearing"], version=2)
    b = synth.generate_dataset(tmp_path / "v1", tiny, machine_types=["synBearing"], version=1)
    ia, ib = synth.read_manifest(a), synth.read_manifest(b)
    assert (ia["generator_version"], ia["version"], ia["part"]) == (2, "2.0.0", "dev")
    assert (ib["generator_version"], ib["version"], ib["part"]) == (1, "1.0.0", "dev")
    assert ia["code_sha1"] != ib["code_sha1"] and synth_dataset._key(ia) != synth_dataset._key(ib)
    assert ia["recording"]["per_clip_ranges"]["snr_db"] == list(synth.NUISANCE.snr_db)
    assert ia["machine_types"]["synBearing"]["background"] == dict(zip(("source", "target"),
                                                                       synth.get_model("synBearing").halls))
    # another version at the same root replaces the dataset; the same one is skipped
    stamp = (a / synth.MANIFEST).stat().st_mtime_ns
    synth.generate_dataset(a, tiny, machine_types=["synBearing"], version=2)
    assert (a / synth.MANIFEST).stat().st_mtime_ns == stamp
    synth.generate_dataset(a, tiny, machine_types=["synBearing"], version=1)
    assert synth.read_manifest(a)["generator_version"] == 1
    # default roots keep parts and non-default versions apart
    assert synth.default_root("ci", 0, "additional").name == "ci-additional"
    other = 3 - synth.DEFAULT_VERSION  # the version that is not the default
    assert synth.default_root("ci", 2, "additional", version=other).name == f"ci-additional-v{other}-seed2"
    assert synth.default_root("ci", 0, "dev", version=synth.DEFAULT_VERSION).name == "ci"


def test_code_fingerprint_covers_every_source_file_of_the_package(tmp_path, monkeypatch):
    """A data root is stale when any module of the generator changed, not only one of them."""
    sources = synth_dataset._sources()
    package = Path(synth.__file__).parent
    assert [p.name for p in sources] == sorted(p.name for p in package.glob("*.py"))
    assert {"dsp.py", "recording.py", "machines.py", "plan.py", "render.py", "dataset.py"} <= {p.name for p in sources}
    copies = []
    for p in sources:
        (tmp_path / p.name).write_bytes(p.read_bytes())
        copies.append(tmp_path / p.name)
    monkeypatch.setattr(synth_dataset, "_sources", lambda: copies)
    base = synth_dataset._code_fingerprint(2)
    monkeypatch.undo()
    assert base == synth_dataset._code_fingerprint(2)  # the copies hash like the package itself
    monkeypatch.setattr(synth_dataset, "_sources", lambda: copies)
    seen = {base, synth_dataset._code_fingerprint(1)}
    for p in copies:
        original = p.read_bytes()
        p.write_bytes(original + b"\n# edited\n")
        seen.add(synth_dataset._code_fingerprint(2))
        p.write_bytes(original)
    assert len(seen) == 2 + len(copies)  # every edit of every file gives a fingerprint of its own
    assert synth_dataset._code_fingerprint(2) == base


# --------------------------------------------------------------------------- additional part
@pytest.fixture(scope="module")
def additional_root(tmp_path_factory) -> Path:
    prof = CI.with_counts(n_train_source=4, n_train_target=2, n_test=2, clip_seconds=1.0)
    return synth.generate_dataset(tmp_path_factory.mktemp("synth") / "ci-additional", prof, seed=0,
                                  part="additional", workers=1)


def test_additional_part_types_and_hidden_attributes(additional_root):
    types = synth.ADDITIONAL_TYPES
    assert len(types) >= 7 and all(t.startswith("syn") for t in types)
    assert not set(types) & set(synth.MACHINE_TYPES)
    assert len(synth.ADDITIONAL_HIDDEN_TYPES) == 4
    # physically distinct sound models, not renamed copies of the development ones
    dev_renders = {synth.get_model(t).render for t in synth.MACHINE_TYPES}
    renders = [synth.get_model(t).render for t in types]
    assert len(set(renders)) == len(types) and not set(renders) & dev_renders
    assert sorted(d.name for d in additional_root.iterdir() if d.is_dir()) == sorted(
        list(types) + ["ground_truth_attributes_all"])
    info = synth.read_manifest(additional_root)
    assert (info["part"], info["generator_version"], info["types"]) == ("additional", synth.DEFAULT_VERSION,
                                                                        list(types))
    assert info["hidden_types"] == list(synth.ADDITIONAL_HIDDEN_TYPES)
    gt = additional_root / "ground_truth_attributes_all"
    assert sorted(p.name for p in (gt / "eval_data").iterdir()) == sorted(synth.ADDITIONAL_HIDDEN_TYPES)
    assert not (gt / "dev_data").exists()
    for t in types:
        model = synth.get_model(t)
        for split in ("train", "test"):
            names = [p.name for p in _wavs(additional_root, t, split)]
            parsed = [data.parse_clip_name(n) for n in names]  # official grammar (raises otherwise)
            assert all(c.split == split for c in parsed)
            assert all((c.attr_string == "noAttribute") == model.hidden for c in parsed)
            corr = gt / "eval_data" / t / f"attributes_00_{split}_correspondence.csv"
            assert corr.is_file() == model.hidden
            if model.hidden:
                rows = _read_csv(corr)
                assert rows[0] == ["source_file_name", "target_file_name"]
                assert sorted(r[1] for r in rows[1:]) == sorted(names)
                for true_name, published in rows[1:]:
                    tc, pc = data.parse_clip_name(true_name), data.parse_clip_name(published)
                    assert (tc.domain, tc.split, tc.label, tc.index) == (pc.domain, pc.split, pc.label, pc.index)
                    assert list(tc.attributes) == list(model.attributes)
        if model.hidden:
            truth = data.read_hidden_attributes([additional_root], t)
            assert truth is not None and len(truth) == len(_wavs(additional_root, t))
            groups = {"_".join(f"{k}_{v}" for k, v in zip(model.attributes, grp))
                      for grp in model.source_groups + model.target_groups}
            assert set(truth.true_attr_string) <= groups and truth.true_attr_string.nunique() > 1


def test_additional_part_is_readable_by_the_data_layer(additional_root):
    clips = data.clip_table(additional_root)
    assert sorted(clips.machine_type.unique()) == sorted(synth.ADDITIONAL_TYPES)
    per_type = clips.groupby("machine_type").size()
    assert (per_type == 4 + 2 + 4 * 2).all()
    test = clips[clips.split == "test"]
    assert set(test.is_anomaly) == {0, 1} and set(test.domain) == {"source", "target"}
    visible = clips[~clips.machine_type.isin(synth.ADDITIONAL_HIDDEN_TYPES)]
    assert visible.has_attributes.all()
    # a part's types are generated into the part's own root only
    with pytest.raises(ValueError, match="part"):
        synth.generate_dataset(additional_root.parent / "mixed", SMALL, machine_types=["synFan"], part="additional")
    with pytest.raises(ValueError, match="part"):
        synth.generate_dataset(additional_root.parent / "mixed", SMALL, part="nope")


def test_cli_version_and_part(tmp_path, capsys):
    args = ["--profile", "ci", "--out", str(tmp_path / "cli"), "--part", "additional", "--types", "synScanner",
            "--version", "1", "--n-train-source", "2", "--n-test", "1", "--clip-seconds", "1"]
    assert synth_cli.main(args) == 0
    out = capsys.readouterr().out
    assert "part additional" in out and "generator version 1" in out and "synScanner" in out
    info = synth.read_manifest(tmp_path / "cli")
    assert (info["part"], info["generator_version"]) == ("additional", 1)
    with pytest.raises(SystemExit):
        synth_cli.main(["--profile", "ci", "--out", str(tmp_path / "x"), "--part", "additional", "--types", "synFan"])


# --------------------------------------------------------------------------- the sound itself
@pytest.fixture(scope="module")
def logmel():
    import torch
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=1024, hop_length=512, n_mels=128)

    def f(x: np.ndarray) -> np.ndarray:
        """(128 clip-mean, 128 clip-std) log-mel in dB."""
        m = 10 * torch.log10(torch.clamp(mel(torch.from_numpy(x.astype(np.float32))[None]), min=1e-10))[0]
        return np.concatenate([m.mean(-1).numpy(), m.std(-1).numpy()])

    return f


def _rms_db(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


ALL_TYPES = synth.MACHINE_TYPES + synth.ADDITIONAL_TYPES

ATTRIBUTE_PAIRS = {  # one operating-attribute change per type
    "synFan": ({"spd": "24", "mic": "1"}, {"spd": "30", "mic": "1"}),
    "synGearbox": ({"pro": "A", "wt": "0"}, {"pro": "A", "wt": "200"}),
    "synSlider": ({"ac": "0.03"}, {"ac": "0.11"}),
    "synValve": ({"seq": "A", "flow": "2"}, {"seq": "A", "flow": "3"}),
    "synBearing": ({"rps": "8", "mic": "A"}, {"rps": "16", "mic": "A"}),
    "synToyCar": ({"car": "A", "spd": "3.0", "mic": "1"}, {"car": "A", "spd": "3.4", "mic": "1"}),
    "synToyTrain": ({"car": "B1", "spd": "7", "mic": "1"}, {"car": "B1", "spd": "10", "mic": "1"}),
    "syn3DPrinter": ({"mdl": "A", "spd": "2"}, {"mdl": "B", "spd": "2"}),
    "synAirCompressor": ({"fl": "0", "nos": "0"}, {"fl": "2", "nos": "0"}),
    "synScanner": ({"res": "1", "len": "2"}, {"res": "2", "len": "2"}),
    "synToyCircuit": ({"id": "A1", "spd": "1", "mic": "1"}, {"id": "A1", "spd": "2", "mic": "1"}),
    "synHoveringDrone": ({"id": "A1", "spd": "1", "mic": "1"}, {"id": "B1", "spd": "1", "mic": "1"}),
    "synHairDryer": ({"id": "A1", "spd": "2", "mic": "1"}, {"id": "A1", "spd": "3", "mic": "1"}),
    "synToothBrush": ({"id": "A1", "spd": "2", "mic": "1"}, {"id": "B1", "spd": "2", "mic": "1"}),
    "synRoboticArm": ({"wt": "00", "prg": "A"}, {"wt": "04", "prg": "A"}),
    "synBrushlessMotor": ({"spd": "1000", "ld": "A"}, {"spd": "1800", "ld": "A"}),
}


def _separation(mtype, g0, g1, logmel, version):
    """(between/within distance ratio, leave-one-out nearest-centroid hits of 16) of two groups."""
    a = [logmel(synth.render_clip(mtype, g0, seed=s, version=version))[:128] for s in range(8)]
    b = [logmel(synth.render_clip(mtype, g1, seed=s, version=version))[:128] for s in range(8, 16)]
    within = np.mean([_rms_db(x, y) for grp in (a, b) for x, y in itertools.combinations(grp, 2)])
    between = np.mean([_rms_db(x, y) for x in a for y in b])
    x = np.array(a + b)
    y = np.r_[np.zeros(8), np.ones(8)]
    hits = 0
    for i in range(16):
        keep = np.arange(16) != i
        c0, c1 = x[keep & (y == 0)].mean(0), x[keep & (y == 1)].mean(0)
        hits += (np.linalg.norm(x[i] - c1) < np.linalg.norm(x[i] - c0)) == bool(y[i])
    return between / within, hits


@pytest.mark.parametrize("mtype", ALL_TYPES)
def test_attribute_change_changes_spectrum(mtype, logmel):
    """The sound models themselves (version 1: no hall around them)."""
    ratio, hits = _separation(mtype, *ATTRIBUTE_PAIRS[mtype], logmel, version=1)
    assert ratio > 1.05, ratio
    assert hits >= 12  # a nearest-centroid rule (leave one out) mostly tells the two values apart


def test_hidden_attribute_still_audible_in_version_2(logmel):
    """The hall masks much in version 2, but synGearbox's hidden ``pro`` (tooth count: it moves the
    mesh lines) stays recoverable: the clustering chapter recovers it without labels."""
    ratio, hits = _separation("synGearbox", {"pro": "A", "wt": "100"}, {"pro": "B", "wt": "100"}, logmel, 2)
    assert ratio > 1.2 and hits >= 14, (ratio, hits)


@pytest.mark.parametrize("version", [1, 2])
def test_normals_vary_within_a_group(logmel, version):
    for t in ALL_TYPES:
        f = [logmel(synth.render_clip(t, seed=s, version=version)) for s in range(3)]
        assert min(_rms_db(x, y) for x, y in itertools.combinations(f, 2)) > 0.5, t  # not copies


@pytest.mark.parametrize("mtype, version", [(t, 1) for t in synth.MACHINE_TYPES] + [(t, 2) for t in ALL_TYPES])
def test_planted_anomalies_are_measurable_and_grow_with_severity(mtype, version, logmel):
    model = synth.get_model(mtype)
    seeds = range(3 if version == 1 else 2)
    render = functools.partial(synth.render_clip, mtype, version=version)
    normals = {s: render(seed=s) for s in seeds}
    feats = {s: logmel(x) for s, x in normals.items()}
    for kind in model.anomalies:
        # severity 0 plants nothing: the clip equals the normal one with the same seed; a tiny
        # severity changes it only a little (the fault is added to the same normal take, and in
        # version 2 recorded in the same hall with the same mic, room and SNR)
        assert np.array_equal(render(seed=0, anomaly=kind, severity=0.0), normals[0])
        tiny = render(seed=0, anomaly=kind, severity=1e-4)
        assert np.max(np.abs(tiny - normals[0])) < 0.05 * np.max(np.abs(normals[0]))
        d = {}
        for sev in (1.0, 3.0):
            d[sev] = np.mean([_rms_db(logmel(render(seed=s, anomaly=kind, severity=sev)), feats[s]) for s in seeds])
        # default severity: a clear change of the spectrum or its dynamics (version 2 and the
        # additional types are calibrated subtler)
        assert d[1.0] > (0.4 if version == 1 and mtype in synth.MACHINE_TYPES else 0.2), (kind, d)
        assert d[3.0] > 1.2 * d[1.0], (kind, d)
    with pytest.raises(ValueError):
        render(anomaly="no_such_fault")
