"""Log-mel front end: tone placement, frame stacking order, cache correctness."""

import numpy as np
import pytest
import soundfile as sf
import torch

from asdlib import features
from asdlib.data.layout import AudioError

SR = 16000


def _tone(freq, seconds=1.0, amp=0.3):
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_baseline_shapes_and_tone_lands_in_right_band():
    front = features.LogMel()
    out = front(torch.from_numpy(np.stack([_tone(1000), _tone(4000)])))
    # centred frames: 1 + 16000 // 512 = 32 frames, 128 mels
    assert out.shape == (2, 128, 32)
    fb = front.mel.mel_scale.fb.numpy()  # (n_freqs, n_mels)
    bin_1k, bin_4k = round(1000 * 1024 / SR), round(4000 * 1024 / SR)
    peak = out.mean(dim=2).argmax(dim=1).tolist()
    assert peak[0] == int(fb[bin_1k].argmax()) and peak[1] == int(fb[bin_4k].argmax())
    assert peak[1] > peak[0]
    # power 2 in dB: doubling the amplitude adds 20*log10(2) ~ 6.02 dB at the peak band
    loud = front(torch.from_numpy(_tone(1000, amp=0.6))[None])
    gain = (loud.mean(dim=2) - out[:1].mean(dim=2))[0, peak[0]].item()
    assert gain == pytest.approx(6.02, abs=0.05)


def test_silence_floor_is_eps():
    out = features.LogMel()(torch.zeros(1, SR))
    assert torch.allclose(out, torch.full_like(out, 10 * np.log10(features.EPS)))


def test_stack_frames_matches_baseline_order():
    m = np.arange(3 * 7, dtype=np.float32).reshape(3, 7)  # 3 mels, 7 frames
    v = features.stack_frames(m, n_frames=5)
    assert v.shape == (3, 15)
    np.testing.assert_array_equal(v[0], np.concatenate([m[:, 0], m[:, 1], m[:, 2], m[:, 3], m[:, 4]]))
    np.testing.assert_array_equal(v[2, 3:6], m[:, 3])
    with pytest.raises(ValueError):
        features.stack_frames(m[:, :4])


def test_cache_hits_and_invalidates_on_change(tmp_path):
    p = tmp_path / "a.wav"
    sf.write(p, _tone(500), SR)
    cache = tmp_path / "cache"
    first = features.clip_logmels([p], cache_dir=cache)[0]
    files = list(cache.rglob("*.npy"))
    assert len(files) == 1
    again = features.clip_logmels([p], cache_dir=cache)[0]
    np.testing.assert_array_equal(first, again)
    import os, time
    time.sleep(0.01)
    sf.write(p, _tone(3000), SR)
    os.utime(p, ns=(time.time_ns(), time.time_ns()))
    changed = features.clip_logmels([p], cache_dir=cache)[0]
    assert changed.mean(axis=1).argmax() != first.mean(axis=1).argmax()
    # other parameters are cached separately
    other = features.clip_logmels([p], features.LogMelConfig(n_mels=64), cache_dir=cache)[0]
    assert other.shape[0] == 64


def test_batch_equals_single_and_bad_clips_listed(tmp_path):
    paths = []
    for i, f in enumerate([300, 700, 1500]):
        paths.append(tmp_path / f"c{i}.wav")
        sf.write(paths[-1], _tone(f, seconds=0.5 + 0.5 * (i == 2)), SR)
    batched = features.clip_logmels(paths, cache=False, batch_size=8)
    single = [features.clip_logmels([p], cache=False)[0] for p in paths]
    for a, b in zip(batched, single):
        np.testing.assert_allclose(a, b, atol=1e-4)
    sf.write(tmp_path / "silent.wav", np.zeros(SR, np.float32), SR)
    with pytest.raises(AudioError, match=r"(?s)1 clip.*silent.wav: silent"):
        features.clip_logmels(paths + [tmp_path / "silent.wav"], cache=False)


def test_real_clip_features(real_data):
    p = next((real_data / "dcase2023-dev-samples" / "fan" / "train").glob("*.wav"))
    m = features.clip_logmels([p], cache=False)[0]
    assert m.shape == (128, 1 + 160000 // 512)
    assert np.isfinite(m).all() and m.std() > 1.0
