"""Integrity checks of the scan and the loader (issue 26): recordings broken in ways a name
cannot show. Three families, each planted at several sizes into a tiny DCASE root written
here, plus clean data that must pass without a word:

1. the file disagrees with itself: a WAV header that promises more samples than the file holds;
2. samples no recording has: float samples beyond full scale, saturation, constant signals,
   flat stretches;
3. the same thing twice: the same audio under two names, in train/ and test/ (leakage), in
   two machine types, and two clips with one identity.

And: a ``.WAV`` extension is named as such, with the rename.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asdlib import data, synth
from asdlib.data import layout, wav

SR = 16000
ATTR = {"source": "spd_1", "target": "spd_2"}


def _noise(seed: int, seconds: float = 1.0, amp: float = 0.1) -> np.ndarray:
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def _write(path, x, subtype="PCM_16"):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, SR, subtype=subtype)
    return path


def _name(split, domain="source", label="normal", index=0, attrs=None):
    return f"section_00_{domain}_{split}_{label}_{index:04d}_{attrs or ATTR[domain]}.wav"


@pytest.fixture(scope="module")
def _clean_root(tmp_path_factory):
    """Two machine types of 1-s noise clips, every one different: 8 train, 8 test each (written once)."""
    root, seed = tmp_path_factory.mktemp("integrity") / "data", 0
    for mtype in ("pump", "fan"):
        for domain, n in (("source", 6), ("target", 2)):
            for i in range(n):
                _write(root / mtype / "train" / _name("train", domain, index=i), _noise(seed))
                seed += 1
        for domain in ("source", "target"):
            for label in ("normal", "anomaly"):
                for i in range(2):
                    _write(root / mtype / "test" / _name("test", domain, label, i), _noise(seed))
                    seed += 1
    return root


@pytest.fixture
def root(_clean_root, tmp_path):
    """A fresh copy of the clean root for each test to break."""
    return Path(shutil.copytree(_clean_root, tmp_path / "data"))


def _problems(root, **kwargs) -> dict[str, list[tuple[str, str]]]:
    """``{path under the root: [(severity, reason), ...]}`` of a scan."""
    out: dict[str, list[tuple[str, str]]] = {}
    for p in data.scan_dataset(root, **kwargs).problems:
        out.setdefault(_rel(p.path, root), []).append((p.severity, p.reason))
    return out


def _rel(path, root) -> str:
    return str(Path(path).relative_to(root))


def _k(path) -> str:
    """A clip's key in ``_problems`` and ``_kept``: ``<type>/<split>/<name>``."""
    return "/".join(Path(path).parts[-3:])


def _kept(root, **kwargs) -> set[str]:
    """Paths (under the root) of the clips the loader hands to training (``clip_table``)."""
    with pytest.warns(UserWarning) if _problems(root, **kwargs) else _no_warning():
        return {_rel(p, root) for p in data.clip_table(root, **kwargs).path}


class _no_warning:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def test_the_tiny_root_is_clean(root):
    scan = data.scan_dataset(root)
    assert scan.problems == [] and len(scan.clips) == 32


# --------------------------------------------------------------------------- 1. header vs data
def _cut(path, n_bytes):
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - n_bytes])


@pytest.mark.parametrize("subtype, cut_bytes, held", [
    ("PCM_16", 320, 15840),      # 1 % of the data chunk
    ("PCM_16", 16000, 8000),     # half of it
    ("PCM_16", 1, 15999),        # one byte: the last sample is incomplete
    ("FLOAT", 640, 15840),       # 1 % of a float file
    ("PCM_24", 47970, 10),       # almost all of it
])
def test_a_copy_cut_short_is_an_error_naming_what_is_missing(root, subtype, cut_bytes, held):
    path = _write(root / "pump" / "train" / _name("train", index=3), _noise(3), subtype)
    _cut(path, cut_bytes)
    missing = 16000 - held
    reason = (f"truncated: the WAV header promises 16000 samples (1.000 s) but the file holds only {held} "
              f"({held / SR:.3f} s): the last {missing} are missing ({100 * missing / 16000:.3g} %), a copy cut "
              "short; copy the file again from its source (or download it again)")
    assert _problems(root) == {_k(path): [("error", reason)]}
    assert _k(path) not in _kept(root)
    # the header check needs no audio reading: also with --no-content
    assert _problems(root, check_content=False) == {_k(path): [("error", reason)]}
    # the loader refuses it for the same reason, naming the file
    with pytest.raises(data.AudioError, match="^" + re.escape(f"{path}: {reason}")):
        data.load_audio(path)


def test_chunks_after_the_data_and_metadata_are_not_truncation(root):
    """A LIST chunk after the data (tags) makes the file longer than its data: not a problem."""
    tagged = root / "pump" / "train" / _name("train", index=1)
    with sf.SoundFile(tagged, "w", SR, 1, "PCM_16") as fh:
        fh.title, fh.artist = "pump take 1", "someone"
        fh.write(_noise(101))
    trailing = root / "pump" / "train" / _name("train", index=2)
    raw = bytearray(trailing.read_bytes())
    payload = b"INFOICMT" + struct.pack("<I", 6) + b"hello\x00"
    raw += b"LIST" + struct.pack("<I", len(payload)) + payload
    raw[4:8] = struct.pack("<I", len(raw) - 8)
    trailing.write_bytes(bytes(raw))
    assert len(sf.read(trailing)[0]) == SR  # a valid file
    assert _problems(root) == {}


# --------------------------------------------------------------------------- 2. samples no recording has
@pytest.mark.parametrize("peak", [1.5, 3.0])
def test_float_samples_beyond_full_scale_are_a_warning(root, peak):
    path = root / "pump" / "train" / _name("train", index=0)
    x = _noise(0)
    _write(path, x * (peak / np.abs(x).max()), "FLOAT")
    assert _problems(root) == {_k(path): [("warning", (
        f"float samples reach {peak:.3f}, beyond full scale (+-1): kept as they are, but any conversion to "
        "16-bit PCM clips them, and the clip is louder than it should be; normalise it (divide by its peak)"))]}
    assert _k(path) in _kept(root)
    assert np.abs(data.load_audio(path)).max() == pytest.approx(peak)


@pytest.mark.parametrize("peak", [100.0, 32767.0])
def test_float_samples_far_beyond_full_scale_are_an_error(root, peak):
    path = root / "fan" / "test" / _name("test", "target", "anomaly", 1)
    x = _noise(7)
    _write(path, x * (peak / np.abs(x).max()), "FLOAT")
    reason = (f"samples reach {peak:.4g}, more than 8 x full scale (float audio lies within +-1): integer units "
              f"written as float? its level is off by {20 * np.log10(peak):.0f} dB; rescale it (divide by 32768 "
              "if it holds 16-bit units, else by its peak) and write it again, or remove it")
    assert _problems(root) == {_k(path): [("error", reason)]}
    assert _k(path) not in _kept(root)
    with pytest.raises(data.AudioError, match=re.escape(reason)):
        data.load_audio(path)


def test_float_audio_within_full_scale_and_loud_pcm_are_fine(root):
    x = _noise(0)
    _write(root / "pump" / "train" / _name("train", index=0), 0.99 * x / np.abs(x).max(), "FLOAT")
    _write(root / "pump" / "train" / _name("train", index=1), 0.99 * x / np.abs(x).max())  # PCM, peak -0.1 dBFS
    assert _problems(root) == {}


def _clip_at_full_scale(x, share, seed=0):
    """``x`` with ``share`` of its samples set to +-1 (a saturated converter)."""
    y = x.copy()
    idx = np.random.default_rng(seed).choice(len(y), int(round(share * len(y))), replace=False)
    y[idx] = np.where(y[idx] >= 0, 1.0, -1.0)
    return y


@pytest.mark.parametrize("share, subtype", [(0.002, "PCM_16"), (0.05, "PCM_16"), (0.3, "PCM_16"), (0.05, "FLOAT")])
def test_saturated_clips_are_a_warning_with_their_share(root, share, subtype):
    path = root / "fan" / "train" / _name("train", index=2)
    _write(path, _clip_at_full_scale(_noise(2), share), subtype)
    assert _problems(root) == {_k(path): [("warning", (
        f"clipped: {100 * share:.2f} % of its samples sit at its peak (1.0000 of full scale), more than 0.1 %: "
        "the recording was saturated and its loudest parts are cut off (level and spectrum distorted); kept, but "
        "record it again with less gain or remove it if it matters"))]}
    assert _k(path) in _kept(root)


def test_saturation_below_full_scale_counts_too(root):
    """A converter that stops short of full scale (here at 32000/32768) clips all the same."""
    path = root / "fan" / "train" / _name("train", index=2)
    y = np.clip(_noise(2, amp=0.5), -32000 / 32768, 32000 / 32768)
    _write(path, y)
    share = np.mean(np.abs(sf.read(path, dtype="int16")[0]) >= 32000)
    assert share > 0.01
    assert _problems(root)[_k(path)] == [("warning", (
        f"clipped: {100 * share:.2f} % of its samples sit at its peak (0.9766 of full scale), more than 0.1 %: "
        "the recording was saturated and its loudest parts are cut off (level and spectrum distorted); kept, but "
        "record it again with less gain or remove it if it matters"))]


@pytest.mark.parametrize("share", [0.0005, 0.001])
def test_a_few_samples_at_full_scale_are_not_saturation(root, share):
    """Up to 0.1 % of the samples at full scale: a loud peak or a normalised clip, not clipping."""
    _write(root / "fan" / "train" / _name("train", index=2), _clip_at_full_scale(_noise(2), share))
    _write(root / "fan" / "train" / _name("train", index=3), _noise(3) / np.abs(_noise(3)).max())  # peak-normalised
    assert _problems(root) == {}


def test_a_loud_tone_below_the_saturation_level_is_fine(root):
    t = np.arange(SR) / SR
    _write(root / "pump" / "train" / _name("train", index=4), (0.85 * np.sin(2 * np.pi * 50 * t)).astype(np.float32))
    assert _problems(root) == {}


@pytest.mark.parametrize("dc, noise, subtype", [
    (0.5, 0.0, "PCM_16"),     # a constant
    (-0.25, 0.0, "FLOAT"),
    (0.3, 1e-5, "FLOAT"),     # a constant with noise below one 16-bit step
])
def test_a_constant_signal_is_an_error(root, dc, noise, subtype):
    path = root / "pump" / "test" / _name("test", "source", "normal", 1)
    _write(path, (dc + noise * np.random.default_rng(0).standard_normal(SR)).astype(np.float32), subtype)
    x = sf.read(path, dtype="float32")[0].astype(np.float64)
    reason = (f"constant signal: it varies by less than one 16-bit step around {x.mean():+.4f} (std {x.std():.1e}), "
              "no machine sound is left (a dead microphone or a stuck converter?); check the recording, remove it")
    assert _problems(root) == {_k(path): [("error", reason)]}
    assert _k(path) not in _kept(root)


@pytest.mark.parametrize("dc, noise", [(0.5, 2e-4), (-0.8, 5e-4)])
def test_a_near_constant_signal_is_an_error(root, dc, noise):
    path = root / "pump" / "test" / _name("test", "source", "normal", 1)
    _write(path, (dc + noise * np.random.default_rng(0).standard_normal(SR)).astype(np.float32))
    x = sf.read(path, dtype="float32")[0].astype(np.float64)
    reason = (f"near-constant signal: a DC offset of {x.mean():+.4f} with a variation "
              f"{20 * np.log10(abs(x.mean()) / x.std()):.0f} dB below it (std {x.std():.1e}), no machine sound is "
              "left (a dead microphone on a DC-coupled input?); check the recording, remove it")
    assert _problems(root) == {_k(path): [("error", reason)]}
    assert _k(path) not in _kept(root)


def test_quiet_clips_and_clips_with_an_offset_are_fine(root):
    _write(root / "pump" / "train" / _name("train", index=0), _noise(0, amp=1e-3))          # -60 dBFS
    _write(root / "pump" / "train" / _name("train", index=1), 0.2 + _noise(1, amp=0.05))    # offset 4x the signal
    _write(root / "pump" / "train" / _name("train", index=2), _noise(2, amp=2e-4))          # ~7 steps of 16 bits
    assert _problems(root) == {}


@pytest.mark.parametrize("gap_seconds, warned", [(0.1, False), (0.4, True), (1.0, True)])
def test_flat_stretches_are_a_warning_above_five_percent(root, gap_seconds, warned):
    path = root / "fan" / "test" / _name("test", "source", "anomaly", 0)
    x = _noise(5, seconds=2.0)
    x[int(0.5 * SR): int((0.5 + gap_seconds) * SR)] = 0.0  # a dropout in 0.1-s steps from 0.5 s
    _write(path, x)
    share = gap_seconds / 2.0
    expected = {_k(path): [("warning", (
        f"flat for {100 * share:.0f} % of its length (0.1-s stretches of digital silence or a stuck value, more "
        "than 5 %): a dropout or a gap in the recording; kept, but listen to it and cut the gap or replace the "
        "clip"))]} if warned else {}
    assert _problems(root) == expected
    assert _k(path) in _kept(root)


# --------------------------------------------------------------------------- 3. the same thing twice
def test_the_same_audio_twice_in_test_is_a_warning_naming_both(root):
    original = root / "pump" / "test" / _name("test", "source", "normal", 0)
    copy = shutil.copy(original, original.with_name(_name("test", "source", "normal", 7)))
    assert _problems(root) == {_k(copy): [("warning", (
        f"the same audio as pump/test/{original.name} (identical samples): it counts twice in test/; kept, but "
        "remove one of the copies"))]}
    assert {_k(original), _k(copy)} <= _kept(root)


def test_every_extra_copy_is_named_and_a_re_encoded_copy_is_the_same_audio(root):
    original = root / "fan" / "train" / _name("train", index=0)
    x = sf.read(original, dtype="float32")[0]
    copies = [shutil.copy(original, original.with_name(_name("train", index=i))) for i in (10, 11)]
    copies.append(_write(original.with_name(_name("train", index=12)), x, "FLOAT"))  # same samples, float
    found = _problems(root)
    assert sorted(found) == sorted(_k(c) for c in copies)
    for c in copies:
        assert found[_k(c)] == [("warning", f"the same audio as fan/train/{original.name} (identical samples): it "
                                             "counts twice in train/; kept, but remove one of the copies")]


def test_one_changed_sample_or_a_gain_is_another_recording(root):
    original = root / "fan" / "train" / _name("train", index=0)
    x = sf.read(original, dtype="float32")[0]
    y = x.copy()
    y[1234] += 2 ** -15
    _write(original.with_name(_name("train", index=10)), y)
    _write(original.with_name(_name("train", index=11)), 0.5 * x)
    assert _problems(root) == {}


def test_the_same_audio_under_names_that_disagree_is_an_error_on_both(root):
    normal = root / "pump" / "test" / _name("test", "source", "normal", 1)
    as_anomaly = shutil.copy(normal, normal.with_name(_name("test", "source", "anomaly", 5)))
    found = _problems(root)
    assert found == {
        _k(normal): [("error", f"the same audio as pump/test/{as_anomaly.name} under a name that disagrees (label "
                                "anomaly there and normal here): at most one name is right, both are excluded; "
                                "keep the right one, remove the other")],
        _k(as_anomaly): [("error", f"the same audio as pump/test/{normal.name} under a name that disagrees (label "
                                    "normal there and anomaly here): at most one name is right, both are excluded; "
                                    "keep the right one, remove the other")],
    }
    assert not {_k(normal), _k(as_anomaly)} & _kept(root)


def _leak(root, n):
    """Copy ``n`` pump train clips into pump/test as test normals: the leakage of the issue."""
    pairs = []
    for i in range(n):
        train = root / "pump" / "train" / _name("train", index=i)
        pairs.append((train, shutil.copy(train, root / "pump" / "test" / _name("test", "source", "normal", 10 + i))))
    return pairs


def _leak_reason(other_split, other):
    return (f"train/test leakage: the same audio is in {other_split}/ as pump/{other_split}/{other.name}; a detector "
            "trained on one copy is scored on the other, which inflates the AUC. Both are excluded: remove the copy "
            "that does not belong (usually the train one). To go on knowingly: allow_train_test_duplicates=True, "
            "`asd scan --allow-leakage` or ASD_ALLOW_LEAKAGE=1")


@pytest.mark.parametrize("n", [1, 4])
def test_train_test_leakage_is_an_error_on_both_copies(root, n):
    pairs = _leak(root, n)
    found = _problems(root)
    assert len(found) == 2 * n
    for train, test in pairs:
        assert found[_k(train)] == [("error", _leak_reason("test", test))]
        assert found[_k(test)] == [("error", _leak_reason("train", train))]
    kept = _kept(root)
    assert not {_k(p) for pair in pairs for p in pair} & kept and len(kept) == 32 - n


def test_leakage_can_be_allowed_knowingly_by_argument_or_environment(root, monkeypatch, capsys):
    (train, test), = _leak(root, 1)
    allowed = {_k(train): [("warning", "train/test leakage, allowed (allow_train_test_duplicates): the same audio "
                                        f"is in test/ as pump/test/{test.name}; the scores of such clips are "
                                        "optimistic")],
               _k(test): [("warning", "train/test leakage, allowed (allow_train_test_duplicates): the same audio "
                                       f"is in train/ as pump/train/{train.name}; the scores of such clips are "
                                       "optimistic")]}
    assert _problems(root, allow_train_test_duplicates=True) == allowed
    assert {_k(train), _k(test)} <= _kept(root, allow_train_test_duplicates=True)
    monkeypatch.setenv("ASD_ALLOW_LEAKAGE", "1")
    assert _problems(root) == allowed
    assert _problems(root, allow_train_test_duplicates=False)[_k(test)][0][0] == "error"  # the argument wins
    monkeypatch.delenv("ASD_ALLOW_LEAKAGE")
    # asd scan: an error by default (exit 1), a warning with --allow-leakage (exit 0)
    assert layout.main([str(root)]) == 1
    out = capsys.readouterr().out
    assert f"[error] {test}: train/test leakage: the same audio is in train/ as pump/train/{train.name}" in out
    assert "31 usable clips; 2 excluded, 0 warnings:" in out
    assert layout.main([str(root), "--allow-leakage"]) == 0
    assert f"[warning] {test}: train/test leakage, allowed" in capsys.readouterr().out


def test_the_same_audio_in_two_machine_types_is_a_warning_on_both(root):
    pump = root / "pump" / "train" / _name("train", index=5)
    fan = shutil.copy(pump, root / "fan" / "train" / _name("train", index=9))
    reason = ("the same audio as {} under another machine type: one type holds another machine's recording (or a "
              "copy); kept, but check where it came from and remove the wrong copy")
    assert _problems(root) == {_k(fan): [("warning", reason.format(f"pump/train/{pump.name}"))],
                               _k(pump): [("warning", reason.format(f"fan/train/{fan.name}"))]}


@pytest.mark.parametrize("split, domain, label", [("train", "source", "normal"), ("test", "target", "anomaly")])
def test_two_clips_with_one_identity_are_an_error_on_both(root, split, domain, label):
    first = root / "fan" / split / _name(split, domain, label, 1)
    second = _write(root / "fan" / split / _name(split, domain, label, 1, attrs="spd_9"), _noise(999))
    free = 6 if (split, domain) == ("train", "source") else 2
    ident = f"section 00, {domain} {split} {label}, index 0001"

    def reason(other, attrs_there, attrs_here):
        return (f"identity collision: fan/{split}/{other.name} has the same identity ({ident}) with other attributes "
                f"('{attrs_there}' there, '{attrs_here}' here): one index, two clips, so ground truth, scores and "
                f"submissions cannot tell them apart; both are excluded. If they are one recording keep one; if two, "
                f"rename one to a free index (e.g. {free:04d})")

    assert _problems(root) == {_k(first): [("error", reason(second, "spd_9", ATTR[domain]))],
                               _k(second): [("error", reason(first, ATTR[domain], "spd_9"))]}
    assert not {_k(first), _k(second)} & _kept(root)


def test_a_copy_with_renamed_attributes_is_reported_once_as_an_identity_collision(root):
    first = root / "pump" / "train" / _name("train", index=4)
    renamed = shutil.copy(first, first.with_name(_name("train", index=4, attrs="spd_1.0")))
    found = _problems(root)
    assert sorted(found) == sorted([_k(first), _k(renamed)])
    assert all(len(v) == 1 and v[0][0] == "error" and v[0][1].startswith("identity collision: ")
               for v in found.values())


# --------------------------------------------------------------------------- names: the real reason
@pytest.mark.parametrize("ext, which", [(".WAV", "upper case"), (".Wav", "not lower case")])
def test_an_upper_case_extension_is_named_with_the_rename(root, ext, which):
    path = root / "pump" / "train" / _name("train", index=2)
    renamed = path.rename(path.with_name(path.stem + ext))
    assert _problems(root) == {_k(renamed): [("error", (
        f"the extension '{ext}' is {which}: DCASE names end in lower-case '.wav' and are matched exactly; rename "
        f"it to {path.name} (a whole folder: for f in *{ext}; do mv \"$f\" \"${{f%{ext}}}.wav\"; done)"))]}
    with pytest.raises(data.AudioError, match="does not follow the DCASE pattern"):
        data.parse_clip_name("recording_12.WAV")  # not a DCASE name in any case: the pattern is the reason


def test_other_letter_case_in_a_name_is_named_with_the_rename(root):
    path = root / "pump" / "test" / _name("test", "source", "anomaly", 0)
    renamed = path.rename(path.with_name(path.name.replace("section_00_source", "Section_00_Source")))
    assert _problems(root) == {_k(renamed): [("error", (
        "letter case: DCASE names are lower case up to the attributes ('section_SS_source_train_normal_NNNN_"
        f"<attrs>.wav') and are matched exactly; rename it to {path.name}"))]}


# --------------------------------------------------------------------------- the scan as a whole
def test_asd_scan_exit_codes_and_report(root, capsys):
    assert layout.main([str(root)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"{root}: 32 clips, no problems.")
    _cut(root / "fan" / "test" / _name("test", "target", "normal", 0), 5000)
    _write(root / "fan" / "train" / _name("train", index=0), _clip_at_full_scale(_noise(0), 0.01))
    assert layout.main([str(root)]) == 1
    out = capsys.readouterr().out
    assert "31 usable clips; 1 excluded, 1 warnings:" in out
    assert f"[error] {root}/fan/test/{_name('test', 'target', 'normal', 0)}: truncated:" in out
    assert f"[warning] {root}/fan/train/{_name('train', index=0)}: clipped: 1.00 %" in out
    # warnings alone do not fail the scan
    (root / "fan" / "test" / _name("test", "target", "normal", 0)).unlink()
    assert layout.main([str(root)]) == 0


def test_threads_do_not_change_the_report(root, monkeypatch):
    _leak(root, 2)
    _write(root / "fan" / "train" / _name("train", index=1), _clip_at_full_scale(_noise(1), 0.02))
    _cut(root / "fan" / "test" / _name("test", "source", "anomaly", 1), 100)
    monkeypatch.setattr(layout, "SCAN_THREADS", 1)
    one = data.scan_dataset(root)
    monkeypatch.setattr(layout, "SCAN_THREADS", 4)
    four = data.scan_dataset(root)
    assert one.problems == four.problems and one.clips.equals(four.clips)


# --------------------------------------------------------------------------- clean data: no false alarm
def test_generated_data_passes_without_a_word(tmp_path):
    root = synth.generate_dataset(tmp_path / "g", "ci", machine_types=["synFan", "synValve"], workers=1)
    scan = data.scan_dataset(root)
    assert scan.problems == [] and len(scan.clips) == 2 * (30 + 5 + 4 * 6)


def test_real_dcase_clips_pass_the_integrity_checks(real_data):
    scan = data.scan_dataset(real_data / "dcase2023-dev-samples")
    assert len(scan.clips) == 28
    # only the known metric gaps of this small sample (per type folder), nothing about any clip
    assert all(p.severity == "warning" and p.path.endswith("/test") and "cannot be computed" in p.reason
               for p in scan.problems)


def test_real_fan_recordings_warn_only_about_their_clipped_anomalies(real_data):
    """The SensiML blade-fault and some tapping recordings are clipped at 32760/32768: true
    warnings, checked here sample by sample; nothing else is said about any clip."""
    root = real_data / "sensiml-fan"
    scan = data.scan_dataset(root)
    assert len(scan.clips) == 100 and not scan.excluded
    about_clips = {p.path: p.reason for p in scan.problems if p.path.endswith(".wav")}
    for path in scan.clips.path:
        x = sf.read(path, dtype="int16")[0].astype(np.int32)
        peak = np.abs(x).max()
        share = np.mean(np.abs(x) >= peak - 1) if peak >= 0.9 * 32768 else 0.0
        if share > wav.SATURATION_SHARE:
            assert about_clips.pop(path).startswith(f"clipped: {100 * share:.2f} % of its samples sit at its peak")
            assert "_anomaly_" in path
    assert about_clips == {}
    flagged = [p for p in scan.problems if p.reason.startswith("clipped")]
    assert len(flagged) >= 18 and all(p.severity == "warning" for p in flagged)


def test_a_chapter_run_folder_keeps_what_the_scan_found(root, tmp_path):
    """Warnings print once; the run folder of every chapter on these data records them."""
    from asdlib.book import chapter_data
    from asdlib.book.runs import RunFolder

    _leak(root, 1)
    with pytest.warns(UserWarning, match="train/test leakage"):
        chapter = chapter_data("ci", root, additional_roots=[])
    assert len(chapter.problems) == 2 and {p["severity"] for p in chapter.problems} == {"error"}
    run = RunFolder.open("02_baselines", "ci", chapter, {"seed": 0}, runs_root=tmp_path / "runs")
    kept = json.loads((run.root / "data_problems.json").read_text())
    assert [p["reason"].split(":")[0] for p in kept] == ["train/test leakage"] * 2
    assert not (chapter.clips.path.str.contains("_test_normal_0010_")).any()  # excluded before any training
