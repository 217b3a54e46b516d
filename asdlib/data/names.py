"""The DCASE 2024 Task 2 file-name rule, written once: ``clip_name`` writes what
``parse_clip_name`` reads.

    section_00_source_train_normal_0000_<attrs>.wav
    section_00_target_test_anomaly_0012_<attrs>.wav
    section_00_0001.wav                               (evaluation test clips: no labels)

``<attrs>`` is ``key_value`` pairs joined by ``_`` (``noAttribute`` for none). Re-exported by
``asdlib.data.layout``, where the rest of the data layer reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from asdlib.data.wav import AudioError

CLIP_RE = re.compile(
    r"^section_(?P<section>\d{2})_(?P<domain>source|target)_(?P<split>train|test)_"
    r"(?P<label>normal|anomaly)_(?P<index>\d{4})(?:_(?P<attrs>.+))?\.wav$"
)
EVAL_RE = re.compile(r"^section_(?P<section>\d{2})_(?P<index>\d{4})\.wav$")
NO_ATTRIBUTE = "noAttribute"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ClipName:
    section: str
    domain: str  # source | target | unknown (evaluation names)
    split: str  # train | test
    label: str  # normal | anomaly | unknown
    index: int
    attr_string: str
    attributes: dict = field(default_factory=dict, compare=False, hash=False)


def parse_attr_string(attr_string: str | None) -> dict[str, str]:
    """``'vel_8_loc_B'`` -> ``{'vel': '8', 'loc': 'B'}``.

    Values may hold dots and dashes (``ac_0.08``, ``m-n_X``) but not underscores. An odd
    trailing token (e.g. the damage tag in ``pro_A_wt_200_damage1``) is kept under
    ``'extra'``; a single free-form token (``BLADE-FAULT``) under ``'attr'``.
    """
    if not attr_string or attr_string == NO_ATTRIBUTE:
        return {}
    tokens = attr_string.split("_")
    if len(tokens) == 1:
        return {"attr": tokens[0]}
    attrs = {tokens[i]: tokens[i + 1] for i in range(0, len(tokens) - 1, 2)}
    if len(tokens) % 2:
        attrs["extra"] = tokens[-1]
    return attrs


#: What an attribute key or value may hold so that a name parses back (``parse_attr_string``
#: splits on ``_``; path separators and characters Windows forbids cannot be in a file name).
ATTR_TOKEN_RE = re.compile(r'^[^\s_/\\:*?"<>|;=,]+$')


def format_attr_string(attributes: dict[str, str] | None) -> str:
    """``{'vel': '8', 'loc': 'B'}`` -> ``'vel_8_loc_B'``, the inverse of ``parse_attr_string``
    (an ``'extra'`` value goes last, bare; no attributes give ``noAttribute``).

    Raises ``ValueError`` naming a key or value that would not parse back (an underscore,
    a space, a slash, ...).
    """
    if not attributes:
        return NO_ATTRIBUTE
    tokens = [str(t) for k, v in attributes.items() if k != "extra" for t in (k, v)]
    if "extra" in attributes:
        tokens.append(str(attributes["extra"]))
    bad = [t for t in tokens if t == NO_ATTRIBUTE or not ATTR_TOKEN_RE.match(t)]
    if bad:
        raise ValueError(f"attribute key or value {bad[0]!r} cannot be written into a file name (no '_', "
                         "spaces, '/', or any of :*?\"<>|;=,); write it with '-' or '.' instead")
    return "_".join(tokens)


def clip_name(domain: str, split: str, label: str, index: int,
              attributes: dict[str, str] | str | None = None, section: str = "00") -> str:
    """The DCASE 2024 file name of a development clip, the one that ``parse_clip_name`` reads:
    ``clip_name('source', 'train', 'normal', 3, {'vel': '8'})`` ->
    ``'section_00_source_train_normal_0003_vel_8.wav'``.

    ``attributes`` is a dict (``format_attr_string``) or an attribute string as it stands in
    a name (``'noAttribute'``). Raises ``ValueError`` for a name that would not parse back
    to the same fields (unknown domain/split/label, index beyond 9999, bad attribute).
    """
    attrs = attributes if isinstance(attributes, str) else format_attr_string(attributes)
    name = f"section_{section}_{domain}_{split}_{label}_{index:04d}_{attrs}.wav"
    m = CLIP_RE.match(name)
    if not m or (m["section"], m["domain"], m["split"], m["label"], int(m["index"]), m["attrs"]) != (
            section, domain, split, label, index, attrs):
        raise ValueError(f"{name!r} is not a DCASE clip name: domain must be source|target, split "
                         "train|test, label normal|anomaly, section two digits, index 0..9999")
    return name


def parse_clip_name(name: str, split: str | None = None) -> ClipName:
    """Parse a DCASE 2024 clip file name (development or evaluation style).

    Raises ``AudioError`` naming the file when it follows neither pattern; a name that
    follows one in all but letter case (``.WAV``, ``Section_00_...``) is told so, with the
    rename, not that it misses the pattern.
    """
    base = Path(name).name
    m = CLIP_RE.match(base)
    if m:
        attrs = m.group("attrs") or ""
        return ClipName(
            section=m.group("section"), domain=m.group("domain"), split=m.group("split"),
            label=m.group("label"), index=int(m.group("index")), attr_string=attrs,
            attributes=parse_attr_string(attrs),
        )
    m = EVAL_RE.match(base)
    if m:
        return ClipName(
            section=m.group("section"), domain=UNKNOWN, split=split or "test",
            label=UNKNOWN, index=int(m.group("index")), attr_string="", attributes={},
        )
    case = _letter_case_reason(base)
    if case:
        raise AudioError(f"{name}: {case}", case)
    reason = ("file name does not follow the DCASE pattern "
              "'section_SS_{source|target}_{train|test}_{normal|anomaly}_NNNN_<attrs>.wav' "
              "(or 'section_SS_NNNN.wav' for evaluation test clips); rename it or move it out "
              "of the dataset folder")
    raise AudioError(f"{name}: {reason}", reason)


def _letter_case_reason(base: str) -> str | None:
    """Why a name that follows the DCASE pattern in all but letter case is refused, with the
    rename (names are matched exactly: by the loader, the ground truth and the evaluator)."""
    stem, ext = (base[:-4], base[-4:]) if base.lower().endswith(".wav") else (base, "")
    if not ext:
        return None
    m = re.match(CLIP_RE.pattern[:-len(r"\.wav$")] + "$", stem, re.IGNORECASE)
    if m:
        fixed = (f"section_{m['section']}_{m['domain'].lower()}_{m['split'].lower()}_{m['label'].lower()}_{m['index']}"
                 + (f"_{m['attrs']}" if m["attrs"] else "") + ".wav")
    else:
        m = re.match(EVAL_RE.pattern[:-len(r"\.wav$")] + "$", stem, re.IGNORECASE)
        if not m:
            return None
        fixed = f"section_{m['section']}_{m['index']}.wav"
    if fixed == base:
        return None
    if fixed[:-4] == stem:
        which = "upper case" if ext == ext.upper() else "not lower case"
        return (f"the extension '{ext}' is {which}: DCASE names end in lower-case '.wav' and are matched "
                f"exactly; rename it to {fixed} (a whole folder: "
                f"for f in *{ext}; do mv \"$f\" \"${{f%{ext}}}.wav\"; done)")
    return (f"letter case: DCASE names are lower case up to the attributes "
            f"('section_SS_source_train_normal_NNNN_<attrs>.wav') and are matched exactly; rename it to {fixed}")
