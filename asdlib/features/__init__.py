"""From waveforms to what the models see: the official log-mel front end (one config, one
per-clip cache), crops of waveforms, and the per-clip statistics that statistical clustering
groups.

- ``logmel``: ``LogMelConfig`` (held whole by every config), ``LogMel``, frame stacking, the cache;
- ``crops``: random / covering crops of waveforms (Systems 1-3 train on crops);
- ``statistics``: per-clip statistics of normal audio (the input of ``clustering``).
"""

from asdlib.features.logmel import (EPS, LogMel, LogMelConfig, band_profiles, cache_file, clip_logmels,
                                    clip_mean_logmel, stack_frames)
