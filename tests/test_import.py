"""``asd import``: a user's own recordings into the DCASE layout (asdlib.data.importing)."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from asdlib import data, synth
from asdlib.data import importing
from asdlib.paths import REPO_ROOT

SR = 16000


def _wav(path, seconds=0.2, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    x = 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SR)).astype(np.float32)
    sf.write(path, x, SR)
    return path


def _clips(folder, n, start=0, seconds=0.2):
    return [_wav(folder / f"rec{i:02d}.wav", seconds, seed=i) for i in range(start, start + n)]


def _scan(out):
    scan = data.scan_dataset(out, min_duration=0.1)
    assert scan.excluded == [], scan.report()
    return scan.clips


def _counts(clips):
    return clips.groupby(["machine_type", "split", "domain", "label"]).size().to_dict()


def _manifest(out):
    return pd.read_csv(out / importing.MANIFEST_NAME, dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------- names
@pytest.mark.parametrize("fields", [
    ("source", "train", "normal", 0, None),
    ("target", "test", "anomaly", 9999, {"vel": "8", "loc": "B"}),
    ("source", "test", "normal", 12, {"m-n": "X"}),
    ("target", "train", "normal", 3, {"ac": "0.08", "spd": "34V"}),
    ("source", "test", "anomaly", 1, {"pro": "A", "wt": "200", "extra": "damage1"}),
])
def test_clip_name_round_trips_through_the_parser(fields):
    domain, split, label, index, attributes = fields
    name = data.clip_name(domain, split, label, index, attributes)
    parsed = data.parse_clip_name(name)
    assert (parsed.section, parsed.domain, parsed.split, parsed.label, parsed.index) == ("00", domain, split,
                                                                                          label, index)
    assert parsed.attributes == (attributes or {})
    assert parsed.attr_string == (data.format_attr_string(attributes) if attributes else data.NO_ATTRIBUTE)


def test_clip_name_refuses_what_would_not_parse_back():
    assert data.clip_name("source", "train", "normal", 7, "vel_8") == "section_00_source_train_normal_0007_vel_8.wav"
    for bad in [("south", "train", "normal", 0), ("source", "dev", "normal", 0),
                ("source", "train", "abnormal", 0), ("source", "train", "normal", 10000)]:
        with pytest.raises(ValueError, match="not a DCASE clip name"):
            data.clip_name(*bad)
    for attrs in ({"speed": "12_00"}, {"load level": "high"}, {"room": "a/b"}):
        with pytest.raises(ValueError, match="cannot be written into a file name"):
            data.clip_name("source", "train", "normal", 0, attrs)


def test_synthetic_names_come_from_the_same_rule():
    spec = synth.ClipSpec("synFan", "test", "target", "anomaly", 4, (("spd", "31.5"), ("mic", "1")))
    assert spec.name(False) == "section_00_target_test_anomaly_0004_spd_31.5_mic_1.wav"
    assert spec.name(True) == "section_00_target_test_anomaly_0004_noAttribute.wav"


# --------------------------------------------------------------------------- input styles
def test_folder_of_normal_clips_nested_symlinked_by_default(tmp_path):
    src = tmp_path / "myfan"
    sources = _clips(src, 3) + _clips(src / "day2", 2, start=3)
    (src / "notes.txt").write_text("mic on the left")
    result = importing.import_recordings(src, tmp_path / "out")
    clips = _scan(tmp_path / "out")
    assert _counts(clips) == {("myfan", "train", "source", "normal"): 5}
    assert sorted(clips.clip_index) == [0, 1, 2, 3, 4]
    assert not clips.has_attributes.any() and set(clips.attr_string) == {data.NO_ATTRIBUTE}
    paths = [tmp_path / "out" / p for p in result.written.out_file]
    assert all(p.is_symlink() and os.path.isabs(os.readlink(p)) for p in paths)
    assert sorted(os.readlink(p) for p in paths) == sorted(str(s.absolute()) for s in sources)
    manifest = _manifest(tmp_path / "out")
    assert manifest.loc[manifest.source.str.endswith("notes.txt"), "status"].tolist() == ["ignored: not a .wav file"]
    assert set(manifest.loc[manifest.status == "written", "source"]) == {str(s.absolute()) for s in sources}
    attrs = data.read_attributes_csv(tmp_path / "out" / "myfan" / "attributes_00.csv")
    assert set(attrs) == set(clips.file_name) and not any(attrs.values())
    assert "notes.txt" in result.summary()


def test_mimii_folders_split_normals_deterministically(tmp_path):
    src = tmp_path / "valve"
    _clips(src / "normal", 10)
    _clips(src / "abnormal", 4, start=20)
    first = importing.import_recordings(src, tmp_path / "a")
    clips = _scan(tmp_path / "a")
    # auto: as many test normals as anomalies; every anomaly goes to test
    assert _counts(clips) == {("valve", "train", "source", "normal"): 6, ("valve", "test", "source", "normal"): 4,
                              ("valve", "test", "source", "anomaly"): 4}
    again = importing.import_recordings(src, tmp_path / "b")
    assert first.written.source.tolist() == again.written.source.tolist()
    other = importing.import_recordings(src, tmp_path / "c", seed=1)
    test_of = lambda r: set(r.written.source[(r.written.split == "test") & (r.written.label == "normal")])  # noqa: E731
    assert test_of(other) != test_of(first)
    assert len(test_of(importing.import_recordings(src, tmp_path / "d", test_normals=2))) == 2
    assert len(test_of(importing.import_recordings(src, tmp_path / "e", test_normals=0.3))) == 3
    with pytest.raises(data.DataError, match="leaving none to train on"):
        importing.plan_import(src, test_normals=10)


def test_several_types_and_a_train_test_layout(tmp_path):
    src = tmp_path / "plant"
    _clips(src / "fan" / "normal", 6)
    _clips(src / "fan" / "abnormal", 2, start=10)
    _clips(src / "pump" / "train", 3)
    _clips(src / "pump" / "test" / "normal", 2, start=10)
    _clips(src / "pump" / "test" / "abnormal", 1, start=20)
    importing.import_recordings(src, tmp_path / "out")
    clips = _scan(tmp_path / "out")
    assert _counts(clips) == {
        ("fan", "train", "source", "normal"): 4, ("fan", "test", "source", "normal"): 2,
        ("fan", "test", "source", "anomaly"): 2, ("pump", "train", "source", "normal"): 3,
        ("pump", "test", "source", "normal"): 2, ("pump", "test", "source", "anomaly"): 1}


def test_manifest_with_domains_attributes_and_types(tmp_path):
    rec = tmp_path / "recordings"
    for i in range(8):
        _wav(rec / f"take{i}.wav", seed=i)
    rows = [("take0.wav", "train", "normal", "", "speed=1200;load=low", ""),
            ("take1.wav", "train", "normal", "source", "speed=1200;load=high", ""),
            ("take2.wav", "train", "normal", "target", "speed=900;load=low", ""),
            ("take3.wav", "test", "normal", "source", "speed=1200;load=low", ""),
            ("take4.wav", "test", "abnormal", "target", "speed=900;load=low", ""),
            ("take5.wav", "test", "Anomaly", "source", "speed=1200;load=high", ""),
            ("take6.wav", "train", "normal", "", "", "pump"),
            ("take7.wav", "test", "normal", "", "", "pump")]
    manifest = tmp_path / "recordings" / "labels.csv"
    pd.DataFrame(rows, columns=["file", "split", "label", "domain", "attributes", "machine_type"]).to_csv(
        manifest, index=False)
    importing.import_recordings(out=tmp_path / "out", manifest=manifest, machine_type="press")
    clips = _scan(tmp_path / "out")
    assert _counts(clips) == {
        ("press", "train", "source", "normal"): 2, ("press", "train", "target", "normal"): 1,
        ("press", "test", "source", "normal"): 1, ("press", "test", "source", "anomaly"): 1,
        ("press", "test", "target", "anomaly"): 1, ("pump", "train", "source", "normal"): 1,
        ("pump", "test", "source", "normal"): 1}
    press = clips[clips.machine_type == "press"].set_index("file_name")
    assert press.has_attributes.all() and not clips[clips.machine_type == "pump"].has_attributes.any()
    assert press.loc["section_00_target_train_normal_0000_speed_900_load_low.wav", "attributes"] == {
        "speed": "900", "load": "low"}
    assert data.read_attributes_csv(tmp_path / "out" / "press" / "attributes_00.csv") == dict(press.attributes)
    written = _manifest(tmp_path / "out").set_index("source")
    assert written.loc[str((rec / "take4.wav").absolute()), "out_file"] == \
        "press/test/section_00_target_test_anomaly_0000_speed_900_load_low.wav"


# --------------------------------------------------------------------------- how clips are placed
def test_copy_and_hardlink_instead_of_symlinks(tmp_path):
    src = tmp_path / "fan"
    _clips(src, 2)
    copied = importing.import_recordings(src, tmp_path / "copy", how="copy")
    for rel, source in zip(copied.written.out_file, copied.written.source):
        path = tmp_path / "copy" / rel
        assert not path.is_symlink() and path.read_bytes() == open(source, "rb").read()
    linked = importing.import_recordings(src, tmp_path / "hard", how="hardlink")
    for rel, source in zip(linked.written.out_file, linked.written.source):
        assert os.path.samefile(tmp_path / "hard" / rel, source) and not (tmp_path / "hard" / rel).is_symlink()
    assert set(_manifest(tmp_path / "copy").how) == {"copy"}


def test_symlinks_that_fail_fall_back_to_copies_with_one_warning(tmp_path, monkeypatch):
    _clips(tmp_path / "fan", 3)

    def no_symlinks(*args, **kwargs):
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    with pytest.warns(UserWarning, match="copying the audio instead") as caught:
        result = importing.import_recordings(tmp_path / "fan", tmp_path / "out")
    assert len(caught) == 1 and result.how == "symlink failed, copied"
    assert not any((tmp_path / "out" / p).is_symlink() for p in result.written.out_file)
    assert len(_scan(tmp_path / "out")) == 3 and set(_manifest(tmp_path / "out").how) == {"copy"}


# --------------------------------------------------------------------------- bad input
def test_unreadable_wavs_are_listed_by_name_or_skipped(tmp_path):
    src = tmp_path / "fan"
    _clips(src, 3)
    (src / "broken.wav").write_bytes(b"RIFF not really audio")
    (src / "empty.wav").write_bytes(b"")
    with pytest.raises(data.DataError, match=r"2 file\(s\) are not readable audio") as err:
        importing.import_recordings(src, tmp_path / "out")
    assert "broken.wav" in str(err.value) and "empty.wav" in str(err.value) and "--skip-bad" in str(err.value)
    assert not (tmp_path / "out").exists()  # nothing written before every check passed
    result = importing.import_recordings(src, tmp_path / "out", skip_bad=True)
    assert len(_scan(tmp_path / "out")) == 3
    skipped = result.table[result.table.status.str.startswith("skipped")]
    assert sorted(os.path.basename(s) for s in skipped.source) == ["broken.wav", "empty.wav"]
    assert "broken.wav" in result.summary()


def test_manifest_errors_name_every_bad_row(tmp_path):
    _wav(tmp_path / "a.wav")
    _wav(tmp_path / "b.wav", seed=1)
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,split,label,attributes\n"
                        "a.wav,train,normal,speed=1\n"
                        "missing.wav,train,normal,\n"
                        "b.wav,validation,normal,\n"
                        "b.wav,test,broken,\n"
                        "b.wav,train,anomaly,\n"
                        "b.wav,test,normal,speed 1\n"
                        "a.wav,test,normal,\n")
    with pytest.raises(data.DataError, match=r"6 row\(s\) cannot be imported") as err:
        importing.import_recordings(out=tmp_path / "out", manifest=manifest)
    msg = str(err.value)
    for expected in ["line 3: file missing.wav not found", "line 4: split 'validation'", "line 5: label 'broken'",
                     "line 6: an anomaly in train", "line 7: attribute 'speed 1' is not key=value",
                     "line 8: a.wav is also on line 2"]:
        assert expected in msg, msg
    manifest.write_text("file,split,label,lable\na.wav,train,normal,x\n")
    with pytest.raises(data.DataError, match=r"unknown column\(s\) \['lable'\]"):
        importing.plan_import(manifest=manifest)


def test_out_dir_must_be_empty_and_overwrite_replaces_only_its_own_files(tmp_path):
    src = tmp_path / "fan"
    _clips(src, 4)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(data.DataError, match=r"is not empty \(it holds mine.txt\).*--overwrite"):
        importing.import_recordings(src, out)
    importing.import_recordings(src, out, overwrite=True)
    (src / "rec03.wav").unlink()  # the second import has one clip fewer: the old fourth must go
    result = importing.import_recordings(src, out, overwrite=True)
    assert (out / "mine.txt").read_text() == "keep me"
    assert len(_scan(out)) == 3 and len(result.written) == 3
    assert any("mine.txt" in n for n in result.notes)
    # a file no import wrote, where the new import would write, is never replaced
    _wav(src / "rec03.wav", seed=3)
    (out / "fan" / "train" / "section_00_source_train_normal_0003_noAttribute.wav").write_bytes(b"foreign")
    with pytest.raises(data.DataError, match="that no earlier import wrote would be replaced"):
        importing.import_recordings(src, out, overwrite=True)


def test_ambiguous_or_empty_inputs_say_what_to_do(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "clip.mp3").write_bytes(b"")
    with pytest.raises(data.DataError, match=r"no \.wav files found .*clip\.mp3.*ffmpeg"):
        importing.plan_import(tmp_path / "empty")
    mixed = tmp_path / "mixed"
    _clips(mixed / "fan" / "normal", 2)
    _clips(mixed / "pump" / "normal", 2)
    with pytest.raises(data.DataError, match="names one type, but .* holds 2 .fan, pump"):
        importing.plan_import(mixed, machine_type="fan")
    _wav(mixed / "stray.wav")
    with pytest.raises(data.DataError, match="stray.wav, beside the machine-type folder.* fan, pump"):
        importing.plan_import(mixed)
    both = tmp_path / "both"
    _clips(both / "normal", 2)
    _clips(both / "train", 2)
    with pytest.raises(data.DataError, match="both train/test and normal/abnormal"):
        importing.plan_import(both)
    unlabelled = tmp_path / "unlabelled"
    _clips(unlabelled / "train", 2)
    _clips(unlabelled / "test", 2)
    with pytest.raises(data.DataError, match="outside test/normal/ and test/abnormal/"):
        importing.plan_import(unlabelled)
    dcase = tmp_path / "dcase" / "fan"
    _wav(dcase / "train" / "section_00_source_train_normal_0000_a_1.wav")
    _wav(dcase / "test" / "section_00_source_test_anomaly_0000_a_1.wav")
    with pytest.raises(data.DataError, match="already named in the DCASE layout.*-p data_root"):
        importing.plan_import(tmp_path / "dcase")
    with pytest.raises(data.DataError, match="anomalies cannot be train clips"):
        _clips(tmp_path / "t" / "train" / "abnormal", 1)
        importing.plan_import(tmp_path / "t")
    with pytest.raises(data.DataError, match="is itself a normal/ folder: import the folder above it"):
        importing.plan_import(both / "normal")
    with pytest.raises(data.DataError, match="lies inside SRC"):
        importing.import_recordings(both, both / "out")


# --------------------------------------------------------------------------- command line
def test_cli_prints_counts_check_and_data_root(tmp_path, capsys):
    src = tmp_path / "fan"
    _clips(src / "normal", 4, seconds=0.6)
    _clips(src / "abnormal", 2, start=10, seconds=0.6)
    out = tmp_path / "out"
    assert importing.main([str(src), "--out", str(out), "--copy", "--test-normals", "2"]) == 0
    text = capsys.readouterr().out
    assert "Imported 6 clips" in text and "test source anomaly" in text
    assert f"{out}: 6 usable clips" in text and f"-p data_root {out}" in text
    assert importing.main([str(src), "--out", str(out)]) == 2
    assert "is not empty" in capsys.readouterr().err


def test_python_m_asdlib_data_import(tmp_path):
    _clips(tmp_path / "fan", 2)
    proc = subprocess.run([sys.executable, "-m", "asdlib", "import", str(tmp_path / "fan"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=REPO_ROOT,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert "Imported 2 clips" in proc.stdout, proc.stderr
    assert proc.returncode == 1 and "too short" in proc.stdout  # 0.2-s clips: the book's check says so
