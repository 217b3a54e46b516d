"""``asd``, the one command: every sub-command reaches its module; ``asd scan`` reports a data root."""

import subprocess
import sys

import numpy as np
import soundfile as sf

from asdlib.__main__ import COMMANDS, main

SR = 16000


def _wav(path, seed, amp=0.1):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, amp * np.random.default_rng(seed).standard_normal(SR).astype(np.float32), SR)


def _root(tmp_path):
    root = tmp_path / "ds"
    for i in range(3):
        _wav(root / "pump" / "train" / f"section_00_source_train_normal_{i:04d}_spd_{i}.wav", i)
    _wav(root / "pump" / "test" / "section_00_source_test_normal_0000_spd_1.wav", 10)
    _wav(root / "pump" / "test" / "section_00_source_test_anomaly_0000_spd_1.wav", 11)
    _wav(root / "pump" / "train" / "section_00_target_train_normal_0000_spd_9.wav", 12)
    _wav(root / "pump" / "test" / "section_00_target_test_normal_0000_spd_9.wav", 13)
    _wav(root / "pump" / "test" / "section_00_target_test_anomaly_0000_spd_9.wav", 14)
    return root


def test_every_subcommand_has_a_parser(capsys):
    """``asd SUB --help`` prints that sub-command's usage (argparse exits 0), for every sub-command."""
    for name in COMMANDS:
        try:
            main([name, "--help"])
        except SystemExit as exc:
            assert exc.code == 0, name
        out = capsys.readouterr().out
        assert out.startswith("usage: asd"), (name, out[:80])


def test_help_and_unknown_command(capsys):
    assert main(["--help"]) == 0 and "asd scan DATA_ROOT" in capsys.readouterr().out
    assert main([]) == 2
    assert main(["trian"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'trian'" in err and "synth, scan, import" in err  # names the real commands


def test_scan_summarises_a_clean_root_and_exits_0(tmp_path, capsys):
    assert main(["scan", str(_root(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "pump" in out and "8 clips, no problems" in out


def test_scan_names_an_unreadable_file_and_exits_1(tmp_path, capsys):
    root = _root(tmp_path)
    bad = root / "pump" / "test" / "section_00_source_test_normal_0001_spd_1.wav"
    bad.write_bytes(b"not a wav")
    assert main(["scan", str(root)]) == 1
    out = capsys.readouterr().out
    assert bad.name in out and "1 excluded" in out


def test_scan_of_a_missing_root_is_a_clear_error(tmp_path, capsys):
    assert main(["scan", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_python_dash_m_asdlib_is_the_same_command(tmp_path):
    out = subprocess.run([sys.executable, "-m", "asdlib", "scan", str(_root(tmp_path))], capture_output=True, text=True)
    assert out.returncode == 0 and "no problems" in out.stdout
