"""Data layer: DCASE names, clip tables, bad input reported by name, real clips and tables."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from asdlib import data

SR = 16000


def _wav(path, seconds=1.0, sr=SR, channels=1, amp=0.1, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    x = amp * rng.standard_normal((int(seconds * sr), channels)).astype(np.float32)
    sf.write(path, x if channels > 1 else x[:, 0], sr)
    return path


def test_parse_real_style_names():
    c = data.parse_clip_name("section_00_source_train_normal_0040_m-n_X.wav")
    assert (c.section, c.domain, c.split, c.label, c.index) == ("00", "source", "train", "normal", 40)
    assert c.attributes == {"m-n": "X"}
    c = data.parse_clip_name("section_00_target_test_normal_0013_vel_620_ac_0.08.wav")
    assert c.attributes == {"vel": "620", "ac": "0.08"} and c.domain == "target"
    c = data.parse_clip_name("section_00_source_test_anomaly_0001_pro_A_wt_200_damage1.wav")
    assert c.attributes == {"pro": "A", "wt": "200", "extra": "damage1"} and c.label == "anomaly"
    c = data.parse_clip_name("section_00_source_train_normal_0001_noAttribute.wav")
    assert c.attributes == {} and c.attr_string == "noAttribute"
    c = data.parse_clip_name("section_00_0007.wav")
    assert (c.domain, c.label, c.index) == ("unknown", "unknown", 7)
    with pytest.raises(data.AudioError, match="recording_12.wav.*DCASE pattern"):
        data.parse_clip_name("recording_12.wav")


def _toy_dataset(root):
    for i in range(3):
        _wav(root / "pump" / "train" / f"section_00_source_train_normal_{i:04d}_spd_{i}.wav", seed=i)
    _wav(root / "pump" / "train" / "section_00_target_train_normal_0000_spd_9.wav", seed=9)
    _wav(root / "pump" / "test" / "section_00_source_test_normal_0000_spd_1.wav", seed=10)
    _wav(root / "pump" / "test" / "section_00_source_test_anomaly_0000_spd_1.wav", seed=11)
    _wav(root / "pump" / "test" / "section_00_target_test_normal_0000_spd_9.wav", seed=12)
    return root


def test_scan_builds_tidy_table(tmp_path):
    root = _toy_dataset(tmp_path / "ds")
    scan = data.scan_dataset(root)
    assert scan.problems == []
    clips = scan.clips
    assert list(clips.columns) == data.CLIP_COLUMNS
    assert len(clips) == 7
    assert (clips.split == "train").sum() == 4
    assert set(clips.domain) == {"source", "target"}
    assert clips.loc[clips.label == "anomaly", "is_anomaly"].tolist() == [1]
    assert clips.duration.round(3).eq(1.0).all() and clips.has_attributes.all()
    assert clips.attributes.iloc[0] == {"spd": "0"}


def test_bad_files_are_reported_by_name_not_dropped_silently(tmp_path):
    root = _toy_dataset(tmp_path / "ds")
    train = root / "pump" / "train"
    (train / "section_00_source_train_normal_0010_spd_1.wav").write_bytes(b"RIFF....garbage")
    sf.write(train / "section_00_source_train_normal_0011_spd_1.wav", np.zeros((0,), np.float32), SR)
    sf.write(train / "section_00_source_train_normal_0012_spd_1.wav", np.zeros(SR, np.float32), SR)
    _wav(train / "section_00_source_train_normal_0013_spd_1.wav", seconds=0.1)
    _wav(train / "section_00_source_train_normal_0014_spd_1.wav", sr=22050)
    _wav(train / "section_00_source_train_normal_0015_spd_1.wav", channels=2)
    _wav(train / "badly_named.wav")
    scan = data.scan_dataset(root)
    reasons = {p.path.rsplit("/", 1)[1]: (p.severity, p.reason) for p in scan.problems}
    assert "corrupt" in reasons["section_00_source_train_normal_0010_spd_1.wav"][1]
    assert "empty" in reasons["section_00_source_train_normal_0011_spd_1.wav"][1]
    assert "silent" in reasons["section_00_source_train_normal_0012_spd_1.wav"][1]
    assert "too short" in reasons["section_00_source_train_normal_0013_spd_1.wav"][1]
    assert reasons["section_00_source_train_normal_0014_spd_1.wav"] [0] == "warning"
    assert "22050" in reasons["section_00_source_train_normal_0014_spd_1.wav"][1]
    assert "mono" in reasons["section_00_source_train_normal_0015_spd_1.wav"][1]
    assert "DCASE pattern" in reasons["badly_named.wav"][1]
    # every file is accounted for: usable clips + excluded problems = files on disk
    n_files = len(list((root / "pump").rglob("*.wav")))
    assert len(scan.clips) + len(scan.excluded) == n_files
    assert "section_00_source_train_normal_0014_spd_1.wav" in set(scan.clips.file_name)
    with pytest.warns(UserWarning, match="excluded"):
        data.clip_table(root)


def test_missing_folder_and_empty_train_fail_before_work(tmp_path):
    with pytest.raises(data.DataError, match="does not exist"):
        data.scan_dataset(tmp_path / "nowhere")
    root = _toy_dataset(tmp_path / "ds")
    with pytest.raises(data.DataError, match=r"\['valve'\] not found"):
        data.scan_dataset(root, ["valve"])
    for f in (root / "pump" / "train").iterdir():
        f.unlink()
    _wav(root / "pump" / "train" / "section_00_source_train_normal_0000_spd_1.wav", seconds=0.1)
    with pytest.raises(data.DataError, match="no usable train clip"):
        data.scan_dataset(root)


def test_load_audio_resample_fold_pad(tmp_path):
    p = _wav(tmp_path / "a.wav", seconds=1.0, sr=8000)
    x = data.load_audio(p, sr=16000)
    assert x.dtype == np.float32 and len(x) == 16000
    p2 = _wav(tmp_path / "b.wav", seconds=1.0, channels=2)
    with pytest.warns(UserWarning, match="folded to mono"):
        y = data.load_audio(p2)
    stereo, _ = sf.read(p2, dtype="float32")
    np.testing.assert_allclose(y, stereo.mean(axis=1), atol=1e-6)
    z = data.load_audio(_wav(tmp_path / "c.wav", seconds=1.0), duration=2.5)
    assert len(z) == 40000 and np.array_equal(z[16000:32000], z[:16000])  # wrap repeats
    z0 = data.load_audio(tmp_path / "c.wav", duration=2.5, pad_mode="constant")
    assert np.all(z0[16000:] == 0)
    assert len(data.load_audio(tmp_path / "c.wav", duration=0.5)) == 8000
    sf.write(tmp_path / "s.wav", np.zeros(SR, np.float32), SR)
    with pytest.raises(data.AudioError, match="s.wav: silent"):
        data.load_audio(tmp_path / "s.wav")


def test_real_dcase_clips_and_attribute_tables(real_data):
    root = real_data / "dcase2023-dev-samples"
    scan = data.scan_dataset(root)
    assert scan.excluded == []
    clips = scan.clips
    assert set(clips.machine_type) == {"ToyCar", "ToyTrain", "bearing", "fan", "gearbox", "slider", "valve"}
    assert len(clips) == 28 and (clips.split == "train").sum() == 14
    fan = clips[clips.machine_type == "fan"].set_index("file_name")
    assert fan.loc["section_00_source_train_normal_0040_m-n_X.wav", "attributes"] == {"m-n": "X"}
    slider = clips[clips.machine_type == "slider"].set_index("file_name")
    assert slider.loc["section_00_target_test_normal_0013_vel_620_ac_0.08.wav", "attributes"] == {"vel": "620", "ac": "0.08"}
    toycar = clips[clips.machine_type == "ToyCar"]
    assert toycar.duration.round(1).eq(12.0).all() and (clips.sample_rate == 16000).all()
    table = data.read_attributes_csv(root / "bearing" / "attributes_00.csv")
    assert len(table) == 1200
    assert table["section_00_source_train_normal_0000_vel_8_loc_B.wav"] == {"vel": "8", "loc": "B"}
    # the attributes CSV and the file names agree for every real bearing clip
    bearing = clips[clips.machine_type == "bearing"]
    for name, attrs in zip(bearing.file_name, bearing.attributes):
        assert table[name] == data.parse_clip_name(name).attributes == attrs


def test_sensiml_fan_one_domain(real_data):
    clips = data.scan_dataset(real_data / "sensiml-fan").clips
    assert (clips.split == "train").sum() == 45
    test = clips[clips.split == "test"]
    assert test.is_anomaly.sum() == 48 and (test.is_anomaly == 0).sum() == 7
    assert set(clips.domain) == {"source"}


def test_official_hidden_attributes_and_ground_truth(gt_root):
    gt = gt_root
    gearbox = data.read_hidden_attributes([gt], "gearbox")
    train = gearbox[gearbox.file_name.str.contains("_train_")]
    source = train[train.file_name.str.contains("_source_")]
    # source train: pro {A,B} x 5 weights = 10 groups; the 10 target clips add others
    assert len(train) == 1000 and source.true_attr_string.nunique() == 10
    assert gearbox.file_name.str.endswith("_noAttribute.wav").all()
    test = gearbox[gearbox.file_name.str.contains("_test_")]
    assert not test.true_attr_string.str.contains("damage").any()  # fault tags are not groups
    def source_groups(t):
        g = data.read_hidden_attributes([gt], t)
        return g[g.file_name.str.contains("_source_train_")].true_attr_string.nunique()

    assert source_groups("ToyTrain") == 18  # car x speed x mic, as counted in the official file
    assert source_groups("slider") == 5
    assert data.read_hidden_attributes([gt], "fan") is None
    truth = data.read_ground_truth(gt, "AirCompressor")
    assert len(truth) == 200 and set(truth.label) == {"normal", "anomaly"}
    assert set(truth.domain) == {"source", "target"}
    assert truth.original_name.iloc[0].endswith("fl_2_nos_3.wav")


def test_eval_names_get_ground_truth(tmp_path):
    gt = tmp_path / "gt"
    (gt / "ground_truth_data").mkdir(parents=True)
    (gt / "ground_truth_domain").mkdir()
    (gt / "ground_truth_data" / "ground_truth_pump_section_00_test.csv").write_text("section_00_0001.wav,1\nsection_00_0002.wav,0\n")
    (gt / "ground_truth_domain" / "ground_truth_pump_section_00_test.csv").write_text("section_00_0001.wav,1\nsection_00_0002.wav,0\n")
    root = tmp_path / "ds"
    _wav(root / "pump" / "train" / "section_00_source_train_normal_0000_noAttribute.wav")
    _wav(root / "pump" / "test" / "section_00_0001.wav", seed=1)
    _wav(root / "pump" / "test" / "section_00_0002.wav", seed=2)
    clips = data.scan_dataset(root).clips
    assert not clips.has_attributes.any()
    test = clips[clips.split == "test"]
    assert set(test.label) == {"unknown"}
    filled = data.attach_ground_truth(clips, gt).set_index("file_name")
    assert filled.loc["section_00_0001.wav", ["label", "domain", "is_anomaly"]].tolist() == ["anomaly", "target", 1]
    assert filled.loc["section_00_0002.wav", "label"] == "normal"


def test_summarise_counts(tmp_path):
    clips = data.scan_dataset(_toy_dataset(tmp_path / "ds")).clips
    s = data.summarise(clips).loc["pump"]
    assert (s["train source"], s["train target"], s["test source normal"], s["test source anomaly"]) == (3, 1, 1, 1)
    assert s["attributes visible"] and s["source attribute groups"] == 3
