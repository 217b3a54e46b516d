"""`asd evaluate`: the official table of a submission folder, numbers checked by
hand, on the real ground truth (perfect / reversed), and one clear line per bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from asdlib.evaluation import submission as evaluate
from asdlib.evaluation import metrics

# One domain of the hand-made type "fan": 4 normals + 2 anomalies, chosen scores.
FAN = {  # domain: (normal scores, anomaly scores)
    "source": ([0.1, 0.2, 0.3, 0.6], [0.5, 0.9]),
    "target": ([0.4, 0.7, 0.8, 0.85], [0.65, 0.95]),
}
THRESHOLD = 0.55  # decisions: score > 0.55


def _write_type(gt_root, sub_dir, mtype, cells, threshold=THRESHOLD):
    """Ground truth and submission files of one type; clips named section_00_NNNN.wav."""
    rows = []
    for domain, (normals, anomalies) in cells.items():
        rows += [(domain, 0, s) for s in normals] + [(domain, 1, s) for s in anomalies]
    table = pd.DataFrame(rows, columns=["domain", "y", "score"])
    table["f"] = [f"section_00_{i:04d}.wav" for i in range(len(table))]
    stem = f"ground_truth_{mtype}_section_00_test.csv"
    for folder, column in (("ground_truth_data", table.y), ("ground_truth_domain", (table.domain == "target").astype(int))):
        (gt_root / folder).mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"f": table.f, "v": column}).to_csv(gt_root / folder / stem, header=False, index=False)
    metrics.write_submission(sub_dir, mtype, table.f, table.score, (table.score > threshold).astype(int))
    return table


@pytest.fixture
def folders(tmp_path):
    gt_root, sub_dir = tmp_path / "gt", tmp_path / "sub"
    _write_type(gt_root, sub_dir, "fan", FAN)
    # "pump": every anomaly above every normal, decisions perfect
    _write_type(gt_root, sub_dir, "pump", {"source": ([0.1, 0.2, 0.3, 0.4], [0.8, 0.9]),
                                           "target": ([0.1, 0.2, 0.3, 0.4], [0.7, 0.75])})
    return gt_root, sub_dir


def _run(capsys, *args):
    code = evaluate.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _rows(out: str) -> dict[str, list[str]]:
    """Printed table rows by their first cell (the machine type; 'harmonic mean' joined)."""
    rows = {}
    for line in out.splitlines():
        line = line.replace("harmonic mean", "harmonic-mean")
        cells = line.split()
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


def hm(*values):
    return len(values) / sum(1 / v for v in values)


def test_the_printed_table_matches_hand_computed_metrics(folders, capsys, tmp_path):
    gt_root, sub_dir = folders
    code, out, err = _run(capsys, sub_dir, "--ground-truth", gt_root, "--csv", tmp_path / "table.csv")
    assert code == 0 and err == ""
    # fan, by hand. AUC-s: the 4 anomalies (0.5, 0.9, 0.65, 0.95) against the 4 source normals
    # (0.1, 0.2, 0.3, 0.6): 3 + 4 + 4 + 4 = 15 of 16 pairs. AUC-t against the target normals
    # (0.4, 0.7, 0.8, 0.85): 1 + 4 + 1 + 4 = 10 of 16. pAUC (FPR <= 0.1 over all 12 clips): the
    # two top scores are anomalies, then a normal, so TPR = 0.5 on [0, 0.1]: area 0.05,
    # McClish-standardised 0.5 * (1 + (0.05 - 0.005) / (0.1 - 0.005)) = 14/19.
    auc_s, auc_t, pauc = 15 / 16, 10 / 16, 14 / 19
    # decisions (> 0.55). Source: normal 0.6 flagged, anomaly 0.5 missed, 0.9 caught:
    # precision 1/2, recall 1/2. Target: normals 0.7, 0.8, 0.85 flagged, both anomalies caught:
    # precision 2/5, recall 1, F1 4/7.
    fan = [auc_s, auc_t, pauc, 1 / 2, 1 / 2, 1 / 2, 2 / 5, 1, 4 / 7]
    rows = _rows(out)
    assert rows["machine"] == ["type", *evaluate.COLUMNS]
    assert rows["fan"] == [f"{100 * v:.2f}" for v in fan]
    assert rows["pump"] == ["100.00"] * 9
    assert rows["harmonic-mean"] == [f"{100 * hm(v, 1.0):.2f}" for v in fan]
    official = hm(auc_s, auc_t, pauc, 1, 1, 1)  # every AUC-s, AUC-t, pAUC of both types together
    assert f"official score (harmonic mean of every AUC-s, AUC-t and pAUC): {100 * official:.2f}" in out
    table = pd.read_csv(tmp_path / "table.csv", index_col=0)
    assert table.loc["fan", "AUC-t"] == pytest.approx(auc_t) and table.loc["fan", "pAUC"] == pytest.approx(pauc)
    assert table.loc["Total", "official"] == pytest.approx(official)


def test_real_ground_truth_perfect_and_reversed_submission(gt_root, tmp_path, capsys):
    gt = pd.read_csv(gt_root / "ground_truth_data" / "ground_truth_ToyCircuit_section_00_test.csv",
                     header=None, names=["f", "y"])
    # reversed: every normal above every anomaly. AUCs and decisions are 0; the pAUC is
    # McClish-standardised, so an area of 0 becomes 0.5 * (1 - 0.005 / 0.095) = 9/19, and the
    # official score (harmonic mean, zeros floored at eps) is 0
    expected = {"perfect": (["100.00"] * 9, "100.00"),
                "reversed": (["0.00", "0.00", f"{100 * 9 / 19:.2f}"] + ["0.00"] * 6, "0.00")}
    for name, score in (("perfect", gt.y), ("reversed", 1 - gt.y)):
        metrics.write_submission(tmp_path / name, "ToyCircuit", gt.f, score.astype(float), score)
        code, out, _ = _run(capsys, tmp_path / name, "--ground-truth", gt_root)
        row, official = expected[name]
        assert code == 0
        assert _rows(out)["ToyCircuit"] == row
        assert out.rstrip().endswith(f"official score (harmonic mean of every AUC-s, AUC-t and pAUC): {official}")


def _error(capsys, *args) -> str:
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == "" and err.count("\n") == 1, (code, out, err)
    return err.strip()


def _rewrite(path, edit):
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


def test_bad_folders_say_what_to_pass(folders, tmp_path, capsys):
    gt_root, sub_dir = folders
    assert _error(capsys, tmp_path / "nowhere", "--ground-truth", gt_root) == (
        f"error: submission folder {tmp_path / 'nowhere'} does not exist; pass the folder holding the "
        "anomaly_score_<type>_section_00_test.csv files")
    assert _error(capsys, sub_dir, "--ground-truth", tmp_path) == (
        f"error: {tmp_path} is not a ground-truth folder (no ground_truth_data/ inside); pass the official "
        "evaluator's folder, e.g. dcase2024-ground-truth/")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _error(capsys, empty, "--ground-truth", gt_root) == (
        f"error: {empty} holds no anomaly_score_<type>_section_00_test.csv file; pass the folder with the "
        "official submission files")
    assert _error(capsys, sub_dir, "--ground-truth", gt_root, "--section", "01") == (
        f"error: {sub_dir} holds no anomaly_score_<type>_section_01_test.csv file (it has section(s) 00: pass "
        "--section); pass the folder with the official submission files")


def test_a_type_without_ground_truth_is_named(folders, capsys):
    gt_root, sub_dir = folders
    metrics.write_submission(sub_dir, "valve", ["section_00_0000.wav"], [0.5], [1])
    assert _error(capsys, sub_dir, "--ground-truth", gt_root) == (
        f"error: {sub_dir / 'anomaly_score_valve_section_00_test.csv'}: no ground truth for machine type 'valve' "
        f"in {gt_root} (it has fan, pump); remove the file, or pass the --ground-truth folder that holds this type")
    (sub_dir / "anomaly_score_valve_section_00_test.csv").unlink()
    assert _error(capsys, sub_dir, "--ground-truth", gt_root) == (
        f"error: {sub_dir / 'decision_result_valve_section_00_test.csv'} has no "
        "anomaly_score_valve_section_00_test.csv beside it; add the scores, or remove the file")


SCORES = "anomaly_score_fan_section_00_test.csv"
DECISIONS = "decision_result_fan_section_00_test.csv"
BAD_FILES = {  # what is done to a file of "fan" -> the message after "error: <file>"
    "missing row": (SCORES, lambda rows: rows[:-1],
                    ": 1 clips of the fan ground truth (12 test clips) are missing, e.g. ['section_00_0011.wav']; "
                    "score every test clip"),
    "duplicate row": (SCORES, lambda rows: rows + rows[:1],
                      ": 1 clips appear more than once, e.g. ['section_00_0000.wav']; keep one row per clip"),
    "NaN score": (SCORES, lambda rows: ["section_00_0000.wav,nan"] + rows[1:],
                  ": row 1 (section_00_0000.wav): score is nan; every clip needs a finite number"),
    "non-numeric score": (SCORES, lambda rows: rows[:2] + ["section_00_0002.wav,high"] + rows[3:],
                          ": row 3 (section_00_0002.wav): score 'high' is not a number; write one 'file name,score' "
                          "row per test clip, without a header"),
    "header row": (SCORES, lambda rows: ["file_name,score"] + rows,
                   ": row 1 (file_name): score 'score' is not a number; write one 'file name,score' row per test "
                   "clip, without a header"),
    "row without score": (SCORES, lambda rows: ["section_00_0000.wav"] + rows[1:],
                          ": row 1 ['section_00_0000.wav'] is not 'file name,score'; write one 'file name,score' "
                          "row per test clip, without a header"),
    "clip not in the ground truth": (SCORES, lambda rows: rows + ["section_00_0099.wav,0.5"],
                                     ": 1 clips are not in the fan ground truth (12 test clips), e.g. "
                                     "['section_00_0099.wav']; remove them, or check the machine type and section"),
    "decision not 0/1": (DECISIONS, lambda rows: ["section_00_0000.wav,2"] + rows[1:],
                         ": row 1 (section_00_0000.wav): decision is 2; every clip needs 0 or 1"),
    "decision missing": (DECISIONS, lambda rows: rows[1:],
                         ": 1 clips of anomaly_score_fan_section_00_test.csv are missing, e.g. "
                         "['section_00_0000.wav']; write a decision for every scored clip"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_each_bad_submission_file_is_named_with_the_fix(folders, capsys, case):
    gt_root, sub_dir = folders
    name, edit, message = BAD_FILES[case]
    _rewrite(sub_dir / name, edit)
    assert _error(capsys, sub_dir, "--ground-truth", gt_root) == f"error: {sub_dir / name}{message}"
