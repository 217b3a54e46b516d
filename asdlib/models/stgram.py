"""STgram encoder: log-mel + learnable time-domain "Tgram" branch, then a compact MobileFaceNet.

The encoder of Systems 1 and 2, in the spirit of the seed group's STgram-MFN (Liu et al.,
ICASSP 2022, the seed report's reference [1]). A waveform batch ``(B, samples)`` goes
through two front ends that share one time grid (n_fft 1024, hop 512, centred frames):

* **Sgram**: the official baseline's log-mel spectrogram (``asdlib.features.logmel.LogMel``,
  128 mel bands, dB);
* **Tgram**: a strided ``Conv1d`` on the raw waveform (kernel = n_fft, stride = hop,
  128 output channels, i.e. a learnable filter bank), then a few
  ``InstanceNorm1d -> LeakyReLU -> Conv1d(3)`` layers.

They are stacked as 2 channels of ``(128, frames)``, normalised per channel (BatchNorm2d,
because dB values and learned Tgram values have unrelated scales) and fed to a
MobileFaceNet-like CNN: a stride-2 stem, a depthwise conv, inverted-residual bottlenecks
(1x1 expand, 3x3 depthwise, 1x1 project, PReLU, BatchNorm), a 1x1 conv, a **global
depthwise conv over frequency** (the mel axis has a fixed size) followed by an **average
over time** (so any clip length works), and a linear 1x1 conv to the embedding.

Differences from STgram-MFN, each for a reason:

* Tgram normalisation: STgram-MFN uses ``LayerNorm(313)`` over the time axis of each
  channel, which ties the network to 10-s inputs. ``InstanceNorm1d(affine=True)``
  normalises each channel over time the same way at any length.
* Pooling: MobileFaceNet's global depthwise conv spans the whole (freq x time) map, again
  fixing the input length; here it spans frequency only and time is averaged.
* Input normalisation: a ``BatchNorm2d`` over the two stacked channels before the CNN (not
  in STgram-MFN), because the dB log-mel and the learnt Tgram have unrelated scales.
* Width: ``EncoderConfig.of_size("compact")`` shrinks the bottlenecks so the book trains on
  2 CPU cores (the ``ci``/``demo`` profiles); ``"mobilefacenet"`` keeps MobileFaceNet's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from asdlib.features.logmel import LogMel, LogMelConfig

#: MobileFaceNet's bottleneck setting (expansion t, channels c, repeats n, stride s),
#: as used by STgram-MFN.
MOBILEFACENET_BOTTLENECKS: tuple[tuple[int, int, int, int], ...] = (
    (2, 64, 5, 2),
    (4, 128, 1, 2),
    (2, 128, 6, 1),
    (4, 128, 1, 2),
    (2, 128, 2, 1),
)
#: A compact variant for CPU profiles: the same overall stride (frequency 128 -> 8) with
#: fewer and narrower blocks at high resolution, where MobileFaceNet spends most of its time.
COMPACT_BOTTLENECKS: tuple[tuple[int, int, int, int], ...] = (
    (2, 32, 1, 2),
    (2, 64, 2, 2),
    (4, 128, 1, 2),
    (2, 128, 1, 1),
)
COMPACT_STEM_CHANNELS = 16
COMPACT_LAST_CHANNELS = 256


#: Encoder widths by name: MobileFaceNet's, and the compact CPU variant.
ENCODER_SIZES = {
    "mobilefacenet": {},
    "compact": dict(stem_channels=COMPACT_STEM_CHANNELS, bottlenecks=COMPACT_BOTTLENECKS,
                    last_channels=COMPACT_LAST_CHANNELS),
}


@dataclass(frozen=True)
class EncoderConfig:
    """STgram encoder hyper-parameters; defaults are STgram-MFN's (16 kHz, 1024/512, 128 mels)."""

    logmel: LogMelConfig = LogMelConfig()  # the Sgram branch; the Tgram shares its frame grid
    tgram_layers: int = 3  # Conv1d blocks after the strided filter bank (STgram-MFN: 3)
    stem_channels: int = 64  # MobileFaceNet stem
    bottlenecks: tuple[tuple[int, int, int, int], ...] = MOBILEFACENET_BOTTLENECKS
    last_channels: int = 512  # the 1x1 conv before pooling
    embedding_dim: int = 128

    @classmethod
    def of_size(cls, size: str, **overrides) -> "EncoderConfig":
        """``"mobilefacenet"`` (STgram-MFN's widths) or ``"compact"`` (CPU profiles)."""
        if size not in ENCODER_SIZES:
            raise ValueError(f"unknown encoder size {size!r}; choose one of {sorted(ENCODER_SIZES)}")
        return cls(**{**ENCODER_SIZES[size], **overrides})


class ConvBlock(nn.Module):
    """Conv2d (optionally depthwise) + BatchNorm (+ PReLU unless linear)."""

    def __init__(self, c_in: int, c_out: int, kernel, stride=1, padding=0, depthwise=False, linear=False):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=c_in if depthwise else 1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.act = nn.Identity() if linear else nn.PReLU(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    """MobileNetV2 inverted residual with PReLU, as in MobileFaceNet."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int):
        super().__init__()
        hidden = c_in * expansion
        self.residual = stride == 1 and c_in == c_out
        self.body = nn.Sequential(
            ConvBlock(c_in, hidden, 1),
            ConvBlock(hidden, hidden, 3, stride, 1, depthwise=True),
            ConvBlock(hidden, c_out, 1, linear=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class TgramNet(nn.Module):
    """Learnable time-domain front end: waveform ``(B, T)`` -> ``(B, n_mels, frames)``.

    The first conv has kernel n_fft, stride hop and padding n_fft/2, so its frames line up
    with the centred STFT frames of the log-mel branch (``1 + T // hop`` of them).
    """

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        mel = cfg.logmel
        self.filterbank = nn.Conv1d(1, mel.n_mels, mel.n_fft, mel.hop_length, mel.n_fft // 2, bias=False)
        self.layers = nn.Sequential(*[
            nn.Sequential(nn.InstanceNorm1d(mel.n_mels, affine=True), nn.LeakyReLU(0.2),
                          nn.Conv1d(mel.n_mels, mel.n_mels, 3, 1, 1, bias=False))
            for _ in range(cfg.tgram_layers)
        ])

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.layers(self.filterbank(wave.unsqueeze(1)))


class STgramEncoder(nn.Module):
    """Waveform batch ``(B, samples)`` at the log-mel's rate -> embedding ``(B, embedding_dim)``."""

    def __init__(self, cfg: EncoderConfig = EncoderConfig()):
        super().__init__()
        self.config = cfg
        self.logmel = LogMel(cfg.logmel)
        self.tgram = TgramNet(cfg)
        self.input_norm = nn.BatchNorm2d(2)
        layers: list[nn.Module] = [
            ConvBlock(2, cfg.stem_channels, 3, 2, 1),
            ConvBlock(cfg.stem_channels, cfg.stem_channels, 3, 1, 1, depthwise=True),
        ]
        c = cfg.stem_channels
        freq = _conv_out(cfg.logmel.n_mels, 2)
        for t, c_out, n, s in cfg.bottlenecks:
            for i in range(n):
                stride = s if i == 0 else 1
                layers.append(Bottleneck(c, c_out, stride, t))
                freq = _conv_out(freq, stride)
                c = c_out
        layers.append(ConvBlock(c, cfg.last_channels, 1))
        self.features = nn.Sequential(*layers)
        # global depthwise conv over the (fixed) frequency axis; time is averaged afterwards
        self.freq_pool = ConvBlock(cfg.last_channels, cfg.last_channels, (freq, 1), depthwise=True, linear=True)
        self.project = ConvBlock(cfg.last_channels, cfg.embedding_dim, 1, linear=True)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():  # MobileFaceNet's initialisation
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / n))

    def spectrograms(self, wave: torch.Tensor) -> torch.Tensor:
        """The 2-channel input of the CNN, ``(B, 2, n_mels, frames)``: [log-mel, Tgram]."""
        return torch.stack([self.logmel(wave), self.tgram(wave)], dim=1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.dim() != 2:
            raise ValueError(f"STgramEncoder expects a waveform batch (B, samples), got shape {tuple(wave.shape)}")
        x = self.features(self.input_norm(self.spectrograms(wave)))
        x = self.freq_pool(x).mean(dim=3, keepdim=True)  # (B, C, 1, 1)
        return self.project(x).flatten(1)


def _conv_out(size: int, stride: int) -> int:
    """Output length of a 3x3 (or 1x1) conv with padding 1 (or 0) and this stride."""
    return (size - 1) // stride + 1
