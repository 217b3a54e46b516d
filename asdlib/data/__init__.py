"""The DCASE layout: what a clip's name says, reading one WAV (checked), a data root scanned into
a clip table (the loader and the scan are one code path), ground truth and attributes.

- ``names``: the file-name rule (``clip_name`` writes what ``parse_clip_name`` reads);
- ``wav``: one WAV read as checked float32 mono (``read_mono``, ``load_audio``, ``AudioError``);
- ``checks``: the scan's checks of one clip and of clips against each other (``Problem``);
- ``layout``: ``scan_dataset`` -> clips + problems, ground truth, attributes, ``fingerprint``;
- ``importing``: a user's own recordings into this layout (``asd import``);
- ``download``: the real DCASE 2024 archives, resumed and checked (``asd download``).
"""

from asdlib.data.names import (ATTR_TOKEN_RE, CLIP_RE, EVAL_RE, NO_ATTRIBUTE, UNKNOWN, ClipName, clip_name,
                               format_attr_string, parse_attr_string, parse_clip_name)
from asdlib.data.wav import AudioError, load_audio, read_mono
from asdlib.data.layout import (CLIP_COLUMNS, SPLITS, DataError, DatasetScan, Problem, attach_ground_truth,
                                attribute_groups, clip_table, fingerprint, list_machine_types, metric_gaps,
                                read_attributes_csv, read_ground_truth, read_hidden_attributes, real_clips,
                                scan_dataset, summarise)
