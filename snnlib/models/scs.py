r"""Spikformer V2's spiking convolutional stem (SCS), masked so that it can be pre-trained MAE-style.

Zhou et al., *Spikformer V2: Join the High Accuracy Club on ImageNet with an SNN Ticket* (arXiv
2401.02020).  No code was released: this is a reduced analogue built from the paper's description, and
every detail the paper leaves open is marked **book's choice** below.

What the paper says (its abstract and the reading notes): SCS replaces Spikformer's SPS; it has no
max-pooling; each block gets supplementary conv3×3 layers that expand the channels and restore them, as
an MLP does; for masked pre-training the stem uses sparse convolution and sparse BN (after MC-MAE and
SparK) so that masked patches do not leak into visible ones.

One SCS stage, on images ``[T, N, C, H, W]`` (:math:`SN` is Spikformer's LIF, :math:`s` the stride):

.. math::
    A = SN(BN(\mathrm{Conv}^{3\times3}_{s}(X))),\quad
    B = SN(BN(\mathrm{Conv}^{3\times3}(A)))\ (r\,c\ \text{channels}),\quad
    Y = A + SN(BN(\mathrm{Conv}^{3\times3}(B)))\ (c\ \text{channels}).

Book's choices: downsampling by a stride-2 first convolution in the first :math:`\log_2 p` of the four
stages for patches of :math:`p \times p` pixels (all four at ImageNet's :math:`p = 16`, as the paper's
mask sizes 8x, 4x, 2x and 1x imply; the first two at CIFAR's :math:`p = 4`, where SPS pools in the last
two: early downsampling keeps the six extra convolutions cheap); expansion ratio :math:`r = 2`; a
residual around the expand-restore pair, :math:`Y = A + SN(BN(\mathrm{Conv}(B)))`, as around a
transformer's MLP (the stage's output is then a count in {0, 1, 2}, like SPS's after its position
embedding); the stage widths of SPS (D/8, D/4, D/2, D); and SPS's relative position embedding
:math:`X + SN(BN(\mathrm{Conv}(X)))` at the end.

Masked (submanifold-style) operation.  With a mask :math:`M` of visible positions at each stage's
resolution (the token mask upsampled, as MC-MAE and the paper do), every convolution reads only visible
inputs and writes only visible outputs, and BN takes its statistics over visible positions only:

.. math::
    \mathrm{Conv}_M(X) = M_{out} \odot \mathrm{Conv}(M_{in} \odot X),\qquad
    BN_M(X) = M \odot \Big(\gamma \frac{X - \mu_M}{\sqrt{\sigma^2_M + \epsilon}} + \beta\Big),

:math:`\mu_M, \sigma^2_M` the mean and (biased) variance over the visible positions of the batch.  A masked
pixel then never reaches a visible output: changing it leaves the stem's visible tokens unchanged, bit for
bit.  With every position visible, :math:`BN_M` is ``nn.BatchNorm2d``.
"""
from __future__ import annotations

import math
from typing import Literal, Optional

import torch
from torch import nn

from .spikformer import SPS, SpikformerBlock, parse_named, spikformer_lif

__all__ = ["masked_batch_norm", "upsample_mask", "SCS", "SpikformerV2", "PATCHES"]

#: the patch sizes SCS supports: 2 ** (number of stride-2 stages), at most 4 stages
PATCHES = (1, 2, 4, 8, 16)


def upsample_mask(visible: torch.Tensor, factor: int) -> torch.Tensor:
    """A token mask ``[N, h, w]`` (True = visible) at ``factor`` times the resolution: ``[N, h f, w f]``.

    Defined in chapter 05 (Spikformer V2), section "Masked convolution and BN over visible positions".
    """
    if factor == 1:
        return visible
    return visible.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)


def masked_batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    r""":math:`BN_M(x)` on ``x`` ``[B, C, H, W]`` with ``mask`` ``[B, 1, H, W]`` (True = visible).

    In training the statistics are the visible positions' (biased variance to normalise, unbiased for the
    running estimate, ``bn.momentum``, as ``nn.BatchNorm2d``); in evaluation the running ones.  Masked
    positions come out as exact zeros.  ``mask=None`` is ``bn(x)``.

    Defined in chapter 05 (Spikformer V2), section "Masked convolution and BN over visible positions".
    """
    if mask is None:
        return bn(x)
    if mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[0] != x.shape[0] or mask.shape[2:] != x.shape[2:]:
        raise ValueError(f"mask has shape {tuple(mask.shape)}; expected [B, 1, H, W] = "
                         f"[{x.shape[0]}, 1, {x.shape[2]}, {x.shape[3]}] for x of shape {tuple(x.shape)}")
    dtype, x = x.dtype, x.float()                              # statistics in float32, as BN under autocast
    if bn.training or bn.running_mean is None:
        vis = x.transpose(0, 1)[:, mask[:, 0]]                 # [C, visible positions]
        n = vis.shape[1]
        if n < 2:
            raise ValueError(f"mask has {n} visible position(s); BN needs at least 2")
        mean = vis.mean(1)
        var = vis.var(1, unbiased=False)
        if bn.training and bn.running_mean is not None:
            with torch.no_grad():
                bn.num_batches_tracked += 1
                m = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
                bn.running_mean.mul_(1 - m).add_(mean.detach().to(bn.running_mean.dtype), alpha=m)
                bn.running_var.mul_(1 - m).add_((var.detach() * n / (n - 1)).to(bn.running_var.dtype),
                                                alpha=m)
    else:
        mean, var = bn.running_mean, bn.running_var
    shape = (1, -1, 1, 1)
    y = (x - mean.view(shape).float()) * torch.rsqrt(var.view(shape).float() + bn.eps)
    if bn.affine:
        y = y * bn.weight.view(shape).float() + bn.bias.view(shape).float()
    return torch.where(mask, y, torch.zeros((), dtype=y.dtype, device=y.device)).to(dtype)


class _MaskedConvBNLIF(nn.Module):
    """``SN(BN_M(Conv_M(X)))`` on ``[T, N, C, H, W]``; ``mask_in``/``mask_out`` ``[T N, 1, H, W]`` or None."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.lif = spikformer_lif()

    def forward(self, x: torch.Tensor, mask_in: Optional[torch.Tensor] = None,
                mask_out: Optional[torch.Tensor] = None) -> torch.Tensor:
        T, N = x.shape[:2]
        x = x.flatten(0, 1)
        if mask_in is not None:
            x = torch.where(mask_in, x, torch.zeros((), dtype=x.dtype, device=x.device))
        y = self.conv(x)
        if mask_out is not None:
            y = torch.where(mask_out, y, torch.zeros((), dtype=y.dtype, device=y.device))
        y = masked_batch_norm(self.bn, y, mask_out)
        s = self.lif(y.view(T, N, *y.shape[1:]))
        if mask_out is not None:                                # zero input gives no spike; kept exact
            s = torch.where(mask_out.view(T, N, *mask_out.shape[1:]), s, torch.zeros((), dtype=s.dtype,
                                                                                    device=s.device))
        return s


class _SCSStage(nn.Module):
    """Conv (stride ``stride``) to ``c_out``, then the supplementary pair ``c_out -> hidden -> c_out``."""

    def __init__(self, c_in: int, c_out: int, hidden: int, stride: int):
        super().__init__()
        self.down = _MaskedConvBNLIF(c_in, c_out, stride)
        self.expand = _MaskedConvBNLIF(c_out, hidden)
        self.restore = _MaskedConvBNLIF(hidden, c_out)

    def forward(self, x: torch.Tensor, mask_in: Optional[torch.Tensor], mask_out: Optional[torch.Tensor]
                ) -> torch.Tensor:
        x = self.down(x, mask_in, mask_out)
        return x + self.restore(self.expand(x, mask_out, mask_out), mask_out, mask_out)


class SCS(nn.Module):
    r"""The spiking convolutional stem: images ``[T, N, C, H, W]`` to tokens ``[T, N, L, D]``,
    :math:`L = (H/p)(W/p)`.

    Four stages of widths D/8, D/4, D/2, D, each a conv3×3-BN-SN (stride 2 in the first
    :math:`\log_2 p` stages) followed by the supplementary expand-restore pair (``ratio`` × the stage's
    width, then back, with a residual), and SPS's relative position embedding.  ``patch=4`` is the
    CIFAR stem (32 × 32 → 8 × 8 tokens), ``patch=16`` the ImageNet one (224 × 224 → 14 × 14).

    ``forward(x_seq, visible)``: ``visible`` ``[N, H/p, W/p]`` (bool, True = visible) runs the stem masked
    (see the module docstring); tokens at masked positions are then zeros.

    Defined in chapter 05 (Spikformer V2), section "SPS against SCS: what max-pooling over spikes throws away".
    """

    def __init__(self, in_channels: int = 3, dim: int = 384, patch: int = 16, ratio: float = 2.0,
                 stages: int = 4):
        super().__init__()
        if patch not in PATCHES:
            raise ValueError(f"patch={patch!r}; expected one of {PATCHES} (a power of 2, one stride-2 stage "
                             "per factor of 2, at most 4)")
        if isinstance(stages, bool) or not isinstance(stages, int) or not 1 <= stages <= 4:
            raise ValueError(f"stages={stages!r}; expected 1 to 4 (the paper's stem has 4)")
        if 2 ** stages < patch:
            raise ValueError(f"stages={stages} cannot downsample by patch={patch}: one stride-2 stage per factor "
                             f"of 2 needs at least {int(math.log2(patch))} stages")
        if dim % 2 ** (stages - 1):
            raise ValueError(f"dim={dim!r} must be divisible by {2 ** (stages - 1)} (the stem's widths are "
                             f"D/{2 ** (stages - 1)}, ..., D)")
        if not ratio > 0:
            raise ValueError(f"ratio={ratio!r}; expected a positive expansion ratio")
        self.in_channels, self.dim, self.patch, self.ratio = in_channels, dim, patch, float(ratio)
        self.n_stages = stages
        widths = [dim // 2 ** (stages - 1 - i) for i in range(stages)]     # D/8, D/4, D/2, D for 4 stages
        chans = [in_channels] + widths
        n_down = int(math.log2(patch))
        self.strides = [2 if i < n_down else 1 for i in range(stages)]
        self.stages = nn.ModuleList(
            _SCSStage(chans[i], chans[i + 1], max(1, round(ratio * chans[i + 1])), self.strides[i])
            for i in range(stages))
        self.rpe = _MaskedConvBNLIF(dim, dim)

    def _masks(self, visible: Optional[torch.Tensor], T: int, H: int, W: int) -> list[Optional[torch.Tensor]]:
        """The masks at the input and after each stage, ``[T N, 1, h, w]``; Nones without ``visible``."""
        if visible is None:
            return [None] * (self.n_stages + 1)
        p = self.patch
        if visible.dim() != 3 or visible.dtype != torch.bool or visible.shape[1:] != (H // p, W // p):
            raise ValueError(f"visible has shape {tuple(visible.shape)} and dtype {visible.dtype}; expected a "
                             f"bool token mask [N, {H // p}, {W // p}] (images {H} x {W}, patch {p})")
        out, factor = [], p
        for i in range(self.n_stages + 1):
            m = upsample_mask(visible, factor)[:, None]          # [N, 1, h, w]
            out.append(m.repeat(T, 1, 1, 1))                     # [T N, 1, h, w], time-major as flatten(0, 1)
            if i < self.n_stages:
                factor //= self.strides[i]
        return out

    def feature_map(self, x_seq: torch.Tensor, visible: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The stem's output as a map ``[T, N, D, H/p, W/p]`` (before flattening into tokens)."""
        if x_seq.dim() != 5:
            raise ValueError(f"x_seq has shape {tuple(x_seq.shape)}; expected images [T, N, C, H, W]")
        T, N, C, H, W = x_seq.shape
        if C != self.in_channels or H % self.patch or W % self.patch:
            raise ValueError(f"x_seq has shape {tuple(x_seq.shape)}; expected {self.in_channels} channels and "
                             f"H, W divisible by patch={self.patch}")
        masks = self._masks(visible, T, H, W)
        for i, stage in enumerate(self.stages):
            x_seq = stage(x_seq, masks[i], masks[i + 1])
        return x_seq + self.rpe(x_seq, masks[-1], masks[-1])

    def forward(self, x_seq: torch.Tensor, visible: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.feature_map(x_seq, visible).flatten(3).transpose(2, 3)   # [T, N, L, D]

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, dim={self.dim}, patch={self.patch}, ratio={self.ratio}, "
                f"stages={self.n_stages}")


class SpikformerV2(nn.Module):
    r"""Spikformer V2 (reduced analogue): SCS, ``depth`` Spikformer blocks, the mean over tokens, a linear head.

    ``stem="sps"`` builds the same network with chapter 04's SPS instead (``patch`` must be 4 then): the
    stem comparison changes nothing else.  ``forward(x, T=None)`` takes images ``[N, C, H, W]`` (repeated
    over ``T`` steps, default ``self.T``) or ``[T, N, C, H, W]`` and returns ``[T, N, classes]``.

    :meth:`forward_features` with a token mask ``visible`` ``[N, h, w]`` (the same number of visible
    tokens in every sample) runs the stem masked and the blocks on the visible tokens only: ``[T, N, L_v, D]``.
    That is the encoder of :class:`snnlib.models.mae.SpikingMAE`, which pre-trains at ``T = 1``.
    """

    def __init__(self, depth: int = 8, dim: int = 512, heads: int = 8, T: int = 4, num_classes: int = 1000,
                 in_channels: int = 3, mlp_ratio: float = 4.0, patch: int = 16, ratio: float = 2.0,
                 stem: Literal["scs", "sps"] = "scs", stem_stages: int = 4):
        super().__init__()
        for name, value in (("depth", depth), ("T", T), ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r}; expected a positive integer")
        if stem not in ("scs", "sps"):
            raise ValueError(f"stem={stem!r}; expected 'scs' (Spikformer V2) or 'sps' (chapter 04's stem)")
        if stem == "sps" and patch != 4:
            raise ValueError(f"patch={patch!r} with stem='sps'; SPS makes patches of 4 x 4 pixels (patch=4)")
        self.T, self.depth, self.dim, self.patch, self.stem_kind = T, depth, dim, patch, stem
        self.stem = (SCS(in_channels, dim, patch, ratio, stem_stages) if stem == "scs"
                     else SPS(in_channels, dim, "paper"))
        self.blocks = nn.ModuleList(SpikformerBlock(dim, heads, mlp_ratio) for _ in range(depth))
        self.head = nn.Linear(dim, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    @classmethod
    def named(cls, name: str, **kwargs) -> "SpikformerV2":
        """``SpikformerV2.named("8-512")``: ``L-D``, ``L`` blocks of dimension ``D``."""
        depth, dim = parse_named(name)
        return cls(depth=depth, dim=dim, **kwargs)

    def _steps(self, x: torch.Tensor, T: Optional[int]) -> torch.Tensor:
        T = self.T if T is None else T
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T={T!r}; expected a positive integer")
        if x.dim() == 4:
            return x.unsqueeze(0).expand(T, *x.shape)
        if x.dim() != 5:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected images [N, C, H, W] or [T, N, C, H, W]")
        return x

    def forward_features(self, x: torch.Tensor, visible: Optional[torch.Tensor] = None,
                         T: Optional[int] = None) -> torch.Tensor:
        """Tokens after the blocks: ``[T, N, L, D]``, or ``[T, N, L_v, D]`` for the visible ones only."""
        x = self._steps(x, T)
        if visible is None:
            z = self.stem(x)
        else:
            if self.stem_kind != "scs":
                raise ValueError("visible= needs stem='scs': SPS max-pools over whole windows, so masked "
                                 "pixels would reach visible tokens")
            z = self.stem(x, visible)
            flat = visible.flatten(1)                           # [N, L]
            counts = flat.sum(1)
            if not bool((counts == counts[0]).all()) or int(counts[0]) < 1:
                raise ValueError(f"visible has {counts.tolist()} visible tokens per sample; expected the same "
                                 "positive number in every sample")
            Tn, N, L, D = z.shape
            z = z[:, flat].view(Tn, N, int(counts[0]), D)          # row-major: sample, then token
        for block in self.blocks:
            z = block(z)
        return z

    def forward(self, x: torch.Tensor, T: Optional[int] = None) -> torch.Tensor:
        return self.head(self.forward_features(x, None, T).mean(2))   # [T, N, classes]
