"""System-3's backbone: Wilkinghoff's two-branch SSL network, frequency attention, text fusion.

Source: wilkinghoff/ssl4asd (ICASSP 2024), ``main_statex+featex.py`` (``model_emb_cnn``),
re-written in PyTorch. From a raw waveform ``(B, n_samples)``:

* **FFT branch** — magnitude of the whole-clip FFT (first ``n_samples // 2`` bins) ->
  3 x [Conv1D (128 ch; kernel/stride 256/64, 64/32, 16/4) -> ReLU -> squeeze-excitation]
  -> flatten -> 4 x [Dense 128 -> BN -> ReLU] -> Dense -> 128-d.
* **Spectrogram branch** — linear-magnitude STFT (``n_fft`` 1024, hop 512, periodic Hann,
  no padding; these are sample counts, whatever the sample rate) -> subtract each bin's
  temporal mean -> BatchNorm per frequency bin -> [System-3: :class:`FrequencyAttention`]
  -> ResNet: 7x7/2 conv, BN, ReLU, 3x3/2 max-pool, then stages of 16/32/64/128 channels,
  two residual units each with squeeze-excitation -> max over time -> flatten -> BN ->
  Dense -> 128-d.
* The embedding is ``[fft, spectrogram]``: 256-d. Convolutions and dense layers have no
  bias (``use_bias=False`` in his code); BatchNorm keeps its shift, as Keras' does.

Where this deviates from his code (at his 288 000 samples the flattened sizes stay his
2304 and 2048): "same" padding is symmetric ``k // 2``; every residual unit is
BN -> ReLU -> conv -> BN -> ReLU -> conv -> SE (his first unit has no input BN, one has
ReLU and BN swapped); the time pooling is a global max (his ``MaxPooling2D((18, 1))``
covers all 18 frames at that length), so any ``n_samples`` works.

``width`` multiplies every channel count and ``blocks_per_stage`` sets the residual units
per stage, so CPU profiles can shrink the network; the defaults are the full size.
Training hyper-parameters the training loop reads are in :class:`SSLConfig` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from asdlib.models.losses import SubClusterAdaCos

# Keras BatchNormalization defaults (momentum 0.99 in Keras' convention)
_BN = dict(momentum=0.01, eps=1e-3)
_FFT_CONVS = ((256, 64), (64, 32), (16, 4))  # (kernel, stride) of the FFT branch's Conv1D layers


@dataclass(frozen=True)
class SSLConfig:
    """Hyper-parameters of System-3's backbone; defaults are Wilkinghoff's (ssl4asd) values.

    ``frequency_attention=False`` gives his network unchanged; System-3 adds it. The seed
    report upsamples to 19.2 kHz for System-3 (``sample_rate=19200``); the STFT keeps its
    1024/512-sample frames, so the rate only sets the frequency axis (:meth:`SSLNet.frequencies`).
    """

    # input
    sample_rate: int = 16000
    n_samples: int = 288000  # his fixed clip length (clips are tiled to it): 18 s at 16 kHz
    n_fft: int = 1024
    hop_length: int = 512
    # network
    branch_dim: int = 128  # each branch's embedding; the network's is 2 x branch_dim
    width: float = 1.0  # channel multiplier (CPU profiles shrink it)
    spec_channels: tuple[int, ...] = (16, 32, 64, 128)  # one ResNet stage each
    blocks_per_stage: int = 2  # residual units per stage
    fft_channels: int = 128
    fft_dense_layers: int = 4
    se_ratio: int = 16
    frequency_attention: bool = True  # System-3's addition (Zhang et al., Interspeech 2023)
    attention_dim: int = 32
    attention_bands: int = 128  # tokens of the attention: bins averaged into this many bands (ours)
    # training (read by the training loop)
    n_subclusters: int = 16
    mixup_prob: float = 0.5
    featex_prob: float = 0.5
    batch_size: int = 64
    epochs: int = 10
    learning_rate: float = 1e-3  # Keras Adam's default
    # his Keras L2(1e-5) adds 1e-5 * w^2 to the loss, i.e. 2e-5 * w to the gradient of every
    # conv/dense kernel (not BN, not the AdaCos centres): torch's weight_decay=2e-5 on those
    weight_decay: float = 2e-5

    def channels(self, base: int) -> int:
        return max(1, round(base * self.width))


def _n_out(n: int, kernel: int, stride: int, pad: int) -> int:
    return (n + 2 * pad - kernel) // stride + 1


class SqueezeExcitation(nn.Module):
    """Channel gates from the global average (Hu et al.); works on 1-D and 2-D maps."""

    def __init__(self, channels: int, ratio: int = 16):
        super().__init__()
        hidden = max(1, channels // ratio)
        self.down = nn.Linear(channels, hidden, bias=False)
        self.up = nn.Linear(hidden, channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = x.flatten(2).mean(-1)
        g = torch.sigmoid(self.up(F.relu(self.down(g))))
        return x * g.view(*g.shape, *([1] * (x.dim() - 2)))


class ResidualUnit(nn.Module):
    """BN -> ReLU -> 3x3 conv (stride) -> BN -> ReLU -> 3x3 conv -> SE, plus the shortcut.

    A downsampling unit's shortcut is 2x2 max-pool + 1x1 conv, as in his code. The input BN
    is his BN between units; its output also feeds the shortcut.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, se_ratio: int):
        super().__init__()
        self.bn_in = nn.BatchNorm2d(c_in, **_BN)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out, **_BN)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.se = SqueezeExcitation(c_out, se_ratio)
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.MaxPool2d(stride, stride, ceil_mode=True),
                                          nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn_in(x)
        h = self.se(self.conv2(F.relu(self.bn(self.conv1(F.relu(x))))))
        return (x if self.shortcut is None else self.shortcut(x)) + h


class FrequencyAttention(nn.Module):
    """Self-attention over the frequency bins of a ``(B, F, T)`` spectrogram, one gain per bin.

    The report's idea, cited there as Zhang et al. (its ref. [18], Interspeech 2023,
    "self-attention-based frequency pattern analysis"): an attention module over frequency that
    "adaptively enhances the important frequency components"; the report gives no more. **The
    module's internals are ours**, not the report's nor [18]'s: each bin becomes a token (its mean absolute value and its
    maximum over time, embedded, plus a learnt position so the bin's identity counts); one
    self-attention layer lets bins look at each other; a linear read-out and a sigmoid give
    ``gain = 2 * sigmoid(score)`` in (0, 2) — 1 leaves a bin unchanged, so the module can both
    emphasise and suppress. The input is multiplied by the gains. ``last_weights`` keeps
    the gains of the last call ``(B, F)`` (detached) for plots.

    It sits after the per-bin BatchNorm (ours too): a per-bin gain before it would be normalised
    away. Ours as well: the mean/max descriptors, the learnt positions, one head, gains in (0, 2).

    ``n_bands`` (ours, for speed): the bins are averaged into that many equal bands, one
    token each, and the band gains are interpolated back to the bins. Attention costs the
    square of the token count: over all 513 bins it took two thirds of a training step on
    the CPU, over 128 bands a tenth as much (measured); ``n_bands >= n_freq`` keeps one
    token per bin.
    """

    def __init__(self, n_freq: int, dim: int = 32, n_bands: int | None = None):
        super().__init__()
        self.n_freq = n_freq
        self.n_bands = min(n_bands or n_freq, n_freq)
        self.embed = nn.Linear(2, dim, bias=False)
        self.position = nn.Parameter(0.02 * torch.randn(self.n_bands, dim))
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.score = nn.Linear(dim, 1, bias=False)
        self.last_weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        desc = torch.stack([x.abs().mean(-1), x.amax(-1)], dim=1)  # (B, 2, F)
        if self.n_bands < self.n_freq:
            desc = F.adaptive_avg_pool1d(desc, self.n_bands)
        h = self.embed(desc.transpose(1, 2)) + self.position  # (B, bands, dim)
        q, k, v = self.qkv(h).chunk(3, dim=-1)
        h = h + F.scaled_dot_product_attention(q, k, v)
        gains = 2.0 * torch.sigmoid(self.score(h).squeeze(-1))  # (B, bands)
        if self.n_bands < self.n_freq:
            gains = F.interpolate(gains.unsqueeze(1), size=self.n_freq, mode="linear", align_corners=True).squeeze(1)
        self.last_weights = gains.detach()
        return x * gains.unsqueeze(-1)


class SSLNet(nn.Module):
    """Waveform ``(B, n_samples)`` -> ``(B, 2 * branch_dim)`` embedding (see module docstring)."""

    def __init__(self, cfg: SSLConfig = SSLConfig()):
        super().__init__()
        self.cfg = cfg
        bn1d = partial(nn.BatchNorm1d, **_BN)

        # FFT branch
        c = cfg.channels(cfg.fft_channels)
        layers, n, c_in = [], cfg.n_samples // 2, 1
        for kernel, stride in _FFT_CONVS:
            layers += [nn.Conv1d(c_in, c, kernel, stride=stride, padding=kernel // 2, bias=False),
                       nn.ReLU(), SqueezeExcitation(c, cfg.se_ratio)]
            n, c_in = _n_out(n, kernel, stride, kernel // 2), c
        layers.append(nn.Flatten())
        d_in = c * n
        for _ in range(cfg.fft_dense_layers):
            layers += [nn.Linear(d_in, cfg.branch_dim, bias=False), bn1d(cfg.branch_dim), nn.ReLU()]
            d_in = cfg.branch_dim
        layers.append(nn.Linear(d_in, cfg.branch_dim, bias=False))
        self.fft_branch = nn.Sequential(*layers)

        # spectrogram branch
        n_freq = cfg.n_fft // 2 + 1
        n_frames = 1 + (cfg.n_samples - cfg.n_fft) // cfg.hop_length
        self.register_buffer("window", torch.hann_window(cfg.n_fft, periodic=True), persistent=False)
        self.input_norm = bn1d(n_freq)
        self.attention = (FrequencyAttention(n_freq, cfg.attention_dim, cfg.attention_bands)
                          if cfg.frequency_attention else None)
        chans = [cfg.channels(b) for b in cfg.spec_channels]
        units = [nn.Conv2d(1, chans[0], 7, stride=2, padding=3, bias=False),
                 nn.BatchNorm2d(chans[0], **_BN), nn.ReLU(), nn.MaxPool2d(3, 2)]
        f, t = (_n_out(_n_out(s, 7, 2, 3), 3, 2, 0) for s in (n_freq, n_frames))
        if min(f, t) < 1:
            raise ValueError(f"SSLNet: {cfg.n_samples} samples are too short for the spectrogram branch "
                             f"({n_frames} STFT frames of {cfg.n_fft}); use at least {cfg.n_fft + 4 * cfg.hop_length}")
        c_in = chans[0]
        for i, c in enumerate(chans):
            for j in range(cfg.blocks_per_stage):
                stride = 2 if (i > 0 and j == 0) else 1
                units.append(ResidualUnit(c_in, c, stride, cfg.se_ratio))
                f, c_in = _n_out(f, 3, stride, 1), c
        self.resnet = nn.Sequential(*units)
        self.spec_head = nn.Sequential(nn.Flatten(), bn1d(c_in * f), nn.Linear(c_in * f, cfg.branch_dim, bias=False))

    @property
    def embedding_dim(self) -> int:
        return 2 * self.cfg.branch_dim

    def frequencies(self) -> np.ndarray:
        """Centre frequency (Hz) of every STFT bin: the x axis of the attention's weights."""
        return np.fft.rfftfreq(self.cfg.n_fft, 1.0 / self.cfg.sample_rate)

    def spectrogram(self, wave: torch.Tensor) -> torch.Tensor:
        """``(B, F, T)`` linear magnitude, temporal mean removed, BatchNorm per bin."""
        spec = torch.stft(wave, self.cfg.n_fft, self.cfg.hop_length, window=self.window,
                          center=False, return_complex=True).abs()
        return self.input_norm(spec - spec.mean(-1, keepdim=True))

    def branches(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(fft, spectrogram)`` embeddings, each ``(B, branch_dim)``: what feature exchange swaps."""
        if wave.dim() != 2 or wave.shape[1] != self.cfg.n_samples:
            raise ValueError(f"SSLNet expects waveforms (B, {self.cfg.n_samples}), got {tuple(wave.shape)}")
        mag = torch.fft.rfft(wave).abs()[:, : self.cfg.n_samples // 2]
        fft_emb = self.fft_branch(mag.unsqueeze(1))
        spec = self.spectrogram(wave)
        if self.attention is not None:
            spec = self.attention(spec)
        h = self.resnet(spec.unsqueeze(1)).amax(dim=-1)  # (B, C, F'): max over time
        return fft_emb, self.spec_head(h)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.branches(wave), dim=1)


class TextFusion(nn.Module):
    """Adds a projected text embedding (e.g. 384-d MiniLM of the label sentence) to the audio one.

    ``fused = audio + W text`` (``W``: linear, no bias). System-3 feeds the label's sentence
    in during training only; at test time there is no text and ``forward(audio)`` returns
    the audio embedding unchanged. The text names the class, so the classifier could learn
    from the text path alone and the audio embedding (all that scoring sees) would learn
    less: ``p_drop`` leaves out the text of each training clip with that probability so
    the audio path must classify on its own too (no dropping in eval mode).
    """

    def __init__(self, text_dim: int = 384, audio_dim: int = 256, p_drop: float = 0.5):
        super().__init__()
        if not 0.0 <= p_drop <= 1.0:
            raise ValueError(f"p_drop must be in [0, 1], got {p_drop}")
        self.proj = nn.Linear(text_dim, audio_dim, bias=False)
        self.p_drop = float(p_drop)

    def forward(self, audio: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        if text is None:
            return audio
        add = self.proj(text.to(audio.dtype))
        if self.training and self.p_drop > 0:
            keep = (torch.rand(audio.shape[0], 1, device=audio.device) >= self.p_drop).to(audio.dtype)
            add = add * keep
        return audio + add


TEXT_DIM = 384  # all-MiniLM-L6-v2's sentence embedding (systems.label_text)


class SSLModel(nn.Module):
    """System-3's whole network: the backbone, the text fusion and the two sub-cluster AdaCos heads
    (the classes of the labels, and FeatEx's 3x classes of exchanged feature halves)."""

    def __init__(self, network: SSLConfig, n_classes: int, use_text: bool = True, text_drop: float = 0.0,
                 featex: bool = True):
        super().__init__()
        self.backbone = SSLNet(network)
        dim = self.backbone.embedding_dim
        self.fusion = TextFusion(TEXT_DIM, dim, text_drop) if use_text else None
        self.head = SubClusterAdaCos(dim, n_classes, network.n_subclusters, trainable=False)
        self.featex_head = (SubClusterAdaCos(dim, 3 * n_classes, network.n_subclusters, trainable=True)
                            if featex else None)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.backbone(wave)

    def constructor_arguments(self) -> dict:
        """What ``SSLModel(**...)`` rebuilds this network's layers from (a saved detector
        holds these and the ``state_dict``: ``asdlib.systems.state``)."""
        return {"network": self.backbone.cfg, "n_classes": self.head.n_classes, "use_text": self.fusion is not None,
                "text_drop": self.fusion.p_drop if self.fusion is not None else 0.0,
                "featex": self.featex_head is not None}

    def fuse(self, emb: torch.Tensor, text: torch.Tensor | None) -> torch.Tensor:
        return emb if self.fusion is None or text is None else self.fusion(emb, text)
