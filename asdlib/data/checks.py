"""The scan's checks of single clips and of clips against each other (``scan_dataset`` in
``asdlib.data.layout`` runs them): one file's header and content, two clips with one identity,
the same audio under two names or in train/ and test/. Each finding is a ``Problem`` naming
the file, the reason and the fix.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from asdlib.data.names import UNKNOWN
from asdlib.data.wav import AudioError, inspect_audio, truncation_reason

SPLITS = ("train", "test")
#: Set to 1 (or true/yes), it lets the same audio in train/ and test/ through as a warning in
#: every scan, for a user who knows why (the chapters call ``clip_table`` without arguments).
LEAKAGE_ENV = "ASD_ALLOW_LEAKAGE"


@dataclass
class Problem:
    path: str
    reason: str
    severity: str = "error"  # error: clip excluded; warning: clip kept

    def __str__(self) -> str:
        return f"[{self.severity}] {self.path}: {self.reason}"


def _check_audio_file(path: Path, expected_sr: int | None, min_duration: float,
                      check_content: bool) -> tuple[dict, list[Problem]]:
    """Header (and optionally content) checks of one wav: (info, problems).

    With ``check_content`` the clip is read once (``inspect_audio``, the loader's own checked
    reading): its errors exclude it, its warnings (saturation, beyond full scale, flat
    stretches) are reported, and ``info["digest"]`` is the hash of its decoded samples.
    """
    problems: list[Problem] = []
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises RuntimeError/LibsndfileError subclasses
        return {}, [Problem(str(path), f"unreadable or corrupt audio ({exc}); re-export it as WAV or remove it")]
    meta = {"duration": info.frames / info.samplerate if info.samplerate else 0.0,
            "sample_rate": info.samplerate, "channels": info.channels}
    truncated = truncation_reason(path)  # header vs file size: cheap, also without check_content
    if truncated:
        return meta, [Problem(str(path), truncated)]
    if info.frames == 0:
        return meta, [Problem(str(path), "empty audio (0 samples); remove or replace the file")]
    if meta["duration"] < min_duration:
        return meta, [Problem(str(path), f"too short ({meta['duration']:.3f} s < {min_duration} s); remove it or lower min_duration")]
    if expected_sr and info.samplerate != expected_sr:
        problems.append(Problem(str(path), f"sample rate {info.samplerate} Hz, expected {expected_sr} Hz; it will be resampled", "warning"))
    if info.channels > 1:
        problems.append(Problem(str(path), f"{info.channels} channels; it will be folded to mono", "warning"))
    if check_content:
        try:
            check = inspect_audio(path)  # the loader's own reading and checks: what passes here loads later
        except AudioError as exc:
            return meta, [Problem(str(path), exc.reason)]
        meta["digest"] = check.digest
        problems.extend(Problem(str(path), w, "warning") for w in check.warnings)
    return meta, problems


def _rel(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)


def _names(rows: list[dict], root: Path, limit: int = 3) -> str:
    names = [_rel(r["path"], root) for r in rows]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _identity_problems(rows: list[dict], root: Path) -> list[Problem]:
    """Two clips with one identity (type, section, domain, split, label, index) but different
    attribute strings: an error on each (which one is right cannot be told)."""
    groups, used = defaultdict(list), defaultdict(set)
    for r in rows:
        if r["label"] == UNKNOWN:  # evaluation names: the name is the identity, it cannot repeat
            continue
        key = (r["machine_type"], r["section"], r["domain"], r["split"], r["label"])
        groups[key + (r["clip_index"],)].append(r)
        used[key].add(r["clip_index"])
    problems = []
    for key, group in groups.items():
        if len(group) < 2:
            continue
        taken = used[key[:5]]
        free = max(taken) + 1 if max(taken) < 9999 else next(i for i in range(10000) if i not in taken)
        ident = f"section {key[1]}, {key[2]} {key[3]} {key[4]}, index {key[5]:04d}"
        for r in group:
            others = [o for o in group if o is not r]
            problems.append(Problem(r["path"], (
                f"identity collision: {_names(others, root)} has the same identity ({ident}) with other "
                f"attributes ('{others[0]['attr_string']}' there, '{r['attr_string']}' here): one index, two "
                "clips, so ground truth, scores and submissions cannot tell them apart; both are excluded. "
                f"If they are one recording keep one; if two, rename one to a free index (e.g. {free:04d})")))
    return problems


def _differences(a: dict, b: dict) -> str:
    fields = [("machine type", "machine_type"), ("domain", "domain"), ("label", "label"), ("attributes", "attr_string")]
    return ", ".join(f"{what} {a[col]!s} there and {b[col]!s} here" for what, col in fields if a[col] != b[col])


def _duplicate_problems(rows: list[dict], digests: dict[str, str], root: Path,
                        allow_leakage: bool) -> list[Problem]:
    """The same audio (equal hashes of the decoded samples) under several names.

    Within one machine type: in train/ and test/ -> leakage (error, or a warning when
    allowed); in one split under names that disagree (domain, label, attributes) -> error on
    each; under names that agree -> warning on each copy but the first (it counts twice).
    Across machine types -> warning (one type holds another machine's recording).
    """
    groups = defaultdict(list)
    for r in rows:
        if r["path"] in digests:
            groups[digests[r["path"]]].append(r)
    problems = []
    switch = f"allow_train_test_duplicates=True, `asd scan --allow-leakage` or {LEAKAGE_ENV}=1"
    for group in groups.values():
        if len(group) < 2:
            continue
        by_type = defaultdict(list)
        for r in group:
            by_type[r["machine_type"]].append(r)
        for same in by_type.values():
            split_rows = {sp: [r for r in same if r["split"] == sp] for sp in SPLITS}
            if split_rows["train"] and split_rows["test"]:
                for r in same:
                    other_split = "test" if r["split"] == "train" else "train"
                    others = _names(split_rows[other_split], root)
                    if allow_leakage:
                        problems.append(Problem(r["path"], (
                            "train/test leakage, allowed (allow_train_test_duplicates): the same audio "
                            f"is in {other_split}/ as {others}; the scores of such clips are optimistic"), "warning"))
                    else:
                        problems.append(Problem(r["path"], (
                            f"train/test leakage: the same audio is in {other_split}/ as {others}; a detector "
                            "trained on one copy is scored on the other, which inflates the AUC. Both are "
                            "excluded: remove the copy that does not belong (usually the train one). To go on "
                            f"knowingly: {switch}")))
            for members in split_rows.values():
                if len(members) < 2:
                    continue
                first = members[0]
                if first["label"] != UNKNOWN and len({(r["section"], r["domain"], r["label"], r["clip_index"])
                                                      for r in members}) == 1:
                    continue  # one identity, other attributes: an identity collision, reported as such
                if len({(r["domain"], r["label"], r["attr_string"]) for r in members}) > 1:
                    for r in members:
                        other = members[1] if r is first else first
                        problems.append(Problem(r["path"], (
                            f"the same audio as {_rel(other['path'], root)} under a name that disagrees "
                            f"({_differences(other, r)}): at most one name is right, both are excluded; "
                            "keep the right one, remove the other")))
                else:
                    for r in members[1:]:
                        problems.append(Problem(r["path"], (
                            f"the same audio as {_rel(first['path'], root)} (identical samples): it counts "
                            f"twice in {r['split']}/; kept, but remove one of the copies"), "warning"))
        if len(by_type) > 1:
            for mtype, same in by_type.items():
                others = [r for r in group if r["machine_type"] != mtype]
                for r in same:
                    problems.append(Problem(r["path"], (
                        f"the same audio as {_names(others, root)} under another machine type: one type holds "
                        "another machine's recording (or a copy); kept, but check where it came from and "
                        "remove the wrong copy"), "warning"))
    return problems
