r"""Masked-image pre-training of a Spikformer V2 (a reduced analogue; the paper released no code).

Zhou et al., *Spikformer V2* (arXiv 2401.02020), after MAE (He et al., 2022).  Images ``[N, C, H, W]`` are
cut into :math:`L` patches of :math:`p \times p` pixels; a random subset is masked (ratio 75%, a secondary
figure); the spiking encoder (:class:`~snnlib.models.scs.SpikformerV2` with its masked SCS) sees the
visible patches only, at :math:`T = 1`; a light ANN transformer decoder takes the visible tokens and a
shared, learnable mask token at every masked position, with a position embedding over all :math:`L`
positions, and predicts every patch's pixels.  The loss is on the masked patches only, on pixels
normalised per patch:

.. math::
    \hat{x}_i = \frac{x_i - \mathrm{mean}(x_i)}{\sqrt{\mathrm{var}(x_i) + 10^{-6}}},\qquad
    \mathcal{L} = \frac{\sum_i m_i \,\frac{1}{P}\lVert y_i - \hat{x}_i \rVert^2}{\sum_i m_i},

:math:`m_i = 1` for a masked patch, :math:`P = p^2 C`.  After pre-training the decoder is discarded and
fine-tuning (at :math:`T = 4`) starts from the encoder's weights.

Book's choices where the paper is silent: the decoder's size (dimension, depth, heads), its fixed 2-D
sine-cosine position embedding (MAE's), the encoder's spikes averaged over time before the decoder (a
no-op at :math:`T = 1`), and the masking by MAE's argsort of uniform noise, drawn from a seeded generator.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from .scs import SpikformerV2

__all__ = ["patchify", "unpatchify", "random_masking", "pixel_mask", "masked_patch_loss",
           "sincos_position_embedding", "MAEDecoder", "SpikingMAE"]


def patchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """Images ``[N, C, H, W]`` to patches ``[N, L, p p C]``, row-major over patches, each patch ``(p, p, C)``.

    Defined in chapter 05 (Spikformer V2), section "Masked-image modelling, step by step".
    """
    if x.dim() != 4 or x.shape[2] % p or x.shape[3] % p:
        raise ValueError(f"x has shape {tuple(x.shape)}; expected images [N, C, H, W] with H, W divisible by p={p}")
    N, C, H, W = x.shape
    h, w = H // p, W // p
    return x.reshape(N, C, h, p, w, p).permute(0, 2, 4, 3, 5, 1).reshape(N, h * w, p * p * C)


def unpatchify(patches: torch.Tensor, p: int, channels: int, h: Optional[int] = None) -> torch.Tensor:
    """Patches ``[N, L, p p C]`` back to images ``[N, C, h p, w p]`` (``h`` patch rows; default square).

    Defined in chapter 05 (Spikformer V2), section "Masked-image modelling, step by step".
    """
    if patches.dim() != 3 or patches.shape[2] != p * p * channels:
        raise ValueError(f"patches has shape {tuple(patches.shape)}; expected [N, L, {p * p * channels}] "
                         f"(p={p}, channels={channels})")
    N, L, _ = patches.shape
    h = math.isqrt(L) if h is None else h
    if h < 1 or L % h:
        raise ValueError(f"{L} patches do not make {h} rows; pass h=")
    w = L // h
    x = patches.reshape(N, h, w, p, p, channels).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(N, channels, h * p, w * p)


def random_masking(N: int, L: int, ratio: float, *, generator: Optional[torch.Generator] = None,
                   device: Optional[torch.device | str] = None) -> torch.Tensor:
    """Which tokens stay visible: ``[N, L]`` bool, ``L - int(L ratio)`` True per sample, drawn by sorting
    uniform noise from ``generator`` (so a seeded generator gives the same mask).

    Defined in chapter 05 (Spikformer V2), section "Masked convolution and BN over visible positions".
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"ratio={ratio!r}; expected a mask ratio in [0, 1)")
    keep = L - int(L * ratio)
    noise = torch.rand(N, L, generator=generator, device=generator.device if generator is not None else device)
    order = noise.argsort(dim=1)
    visible = torch.zeros(N, L, dtype=torch.bool, device=noise.device)
    visible.scatter_(1, order[:, :keep], True)
    return visible.to(device) if device is not None else visible


def pixel_mask(visible: torch.Tensor, p: int, h: Optional[int] = None) -> torch.Tensor:
    """A token mask ``[N, L]`` as a pixel mask ``[N, 1, h p, w p]`` (True = visible pixel).

    Defined in chapter 05 (Spikformer V2), section "Masked-image modelling, step by step".
    """
    N, L = visible.shape
    h = math.isqrt(L) if h is None else h
    grid = visible.view(N, h, L // h)
    return grid.repeat_interleave(p, 1).repeat_interleave(p, 2)[:, None]


def masked_patch_loss(pred: torch.Tensor, patches: torch.Tensor, visible: torch.Tensor, *,
                      norm_pix: bool = True) -> torch.Tensor:
    r"""Mean squared error over the **masked** patches only (``visible`` False), on per-patch normalised
    pixels when ``norm_pix``: :math:`\sum_i m_i \lVert y_i - \hat x_i \rVert^2 / P / \sum_i m_i`.

    Defined in chapter 05 (Spikformer V2), section "Masked-image modelling, step by step".
    """
    if pred.shape != patches.shape or visible.shape != pred.shape[:2]:
        raise ValueError(f"pred {tuple(pred.shape)}, patches {tuple(patches.shape)}, visible "
                         f"{tuple(visible.shape)}: expected pred and patches [N, L, P] and visible [N, L]")
    target = patches
    if norm_pix:
        mean = target.mean(-1, keepdim=True)
        var = target.var(-1, unbiased=True, keepdim=True)
        target = (target - mean) / (var + 1e-6).sqrt()
    per_patch = ((pred.float() - target.float()) ** 2).mean(-1)   # [N, L]
    masked = (~visible).float()
    if masked.sum() == 0:
        raise ValueError("visible is all True: no masked patch to reconstruct")
    return (per_patch * masked).sum() / masked.sum()


def sincos_position_embedding(dim: int, h: int, w: int) -> torch.Tensor:
    """MAE's fixed 2-D sine-cosine embedding ``[h w, dim]``: half the channels encode the row, half the
    column, each as ``sin``/``cos`` of the position at frequencies :math:`10000^{-k/(dim/4)}`."""
    if dim % 4:
        raise ValueError(f"dim={dim!r}; expected a multiple of 4")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim // 4))
    rows, cols = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64),
                                indexing="ij")
    parts = []
    for pos in (rows.flatten(), cols.flatten()):
        a = pos[:, None] * omega[None]
        parts += [a.sin(), a.cos()]
    return torch.cat(parts, 1).float()


class MAEDecoder(nn.Module):
    """The light ANN transformer decoder: visible tokens ``[N, L_v, D]`` and their mask ``[N, L]`` to
    predicted patches ``[N, L, p p C]``.

    ``embed`` maps the encoder's dimension to ``dim``; a shared learnable ``mask_token`` fills every masked
    position; the fixed position embedding is added at all ``L`` positions; ``depth`` pre-norm transformer
    layers (GELU, MLP ratio 4); a LayerNorm and a linear prediction per patch.
    """

    def __init__(self, in_dim: int, patch_dim: int, grid: tuple[int, int], dim: int = 64, depth: int = 1,
                 heads: int = 4):
        super().__init__()
        self.grid = grid
        self.embed = nn.Linear(in_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(dim))
        self.register_buffer("pos", sincos_position_embedding(dim, *grid), persistent=False)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.layers = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.pred = nn.Linear(dim, patch_dim)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, tokens: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        N, L = visible.shape
        if L != self.grid[0] * self.grid[1]:
            raise ValueError(f"visible has {L} tokens; the decoder was built for a {self.grid} grid")
        e = self.embed(tokens)                                       # [N, L_v, dim]
        full = self.mask_token.to(e.dtype).expand(N, L, -1).clone()
        full[visible] = e.reshape(-1, e.shape[-1])
        z = self.layers(full + self.pos.to(e.dtype))
        return self.pred(self.norm(z))


class SpikingMAE(nn.Module):
    """The pre-training model: a :class:`SpikformerV2` encoder (SCS stem) and a :class:`MAEDecoder`.

    ``forward(x, visible=None, generator=None)`` on images ``[N, C, H, W]`` masks ``mask_ratio`` of the
    patches (``visible`` given, or drawn from ``generator``), encodes the visible ones at ``T = pretrain_T``
    and returns ``(loss, pred, visible)``: the masked-patch loss, the predicted patches ``[N, L, p p C]``
    and the mask ``[N, L]``.  ``encoder`` is the network that fine-tuning starts from.
    """

    def __init__(self, encoder: SpikformerV2, image_size: int, *, mask_ratio: float = 0.75,
                 decoder_dim: int = 64, decoder_depth: int = 1, decoder_heads: int = 4, norm_pix: bool = True,
                 pretrain_T: int = 1):
        super().__init__()
        if not isinstance(encoder, SpikformerV2) or encoder.stem_kind != "scs":
            raise ValueError("encoder must be a SpikformerV2 with stem='scs' (the masked stem)")
        p = encoder.patch
        if image_size % p:
            raise ValueError(f"image_size={image_size!r} is not divisible by the patch size {p}")
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"mask_ratio={mask_ratio!r}; expected a ratio in (0, 1)")
        self.encoder, self.mask_ratio, self.norm_pix, self.pretrain_T = encoder, float(mask_ratio), norm_pix, pretrain_T
        self.channels = encoder.stem.in_channels
        self.grid = (image_size // p, image_size // p)
        self.decoder = MAEDecoder(encoder.dim, p * p * self.channels, self.grid, decoder_dim, decoder_depth,
                                  decoder_heads)

    @property
    def num_patches(self) -> int:
        return self.grid[0] * self.grid[1]

    def encode(self, x: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """The encoder's visible tokens, spikes averaged over ``T``: ``[N, L_v, D]``."""
        z = self.encoder.forward_features(x, visible.view(-1, *self.grid), T=self.pretrain_T)
        return z.mean(0)

    def forward(self, x: torch.Tensor, visible: Optional[torch.Tensor] = None,
                generator: Optional[torch.Generator] = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if x.dim() != 4 or tuple(x.shape[2:]) != tuple(g * self.encoder.patch for g in self.grid):
            raise ValueError(f"x has shape {tuple(x.shape)}; expected images [N, {self.channels}, "
                             f"{self.grid[0] * self.encoder.patch}, {self.grid[1] * self.encoder.patch}]")
        if visible is None:
            visible = random_masking(x.shape[0], self.num_patches, self.mask_ratio, generator=generator,
                                     device=x.device)
        pred = self.decoder(self.encode(x, visible), visible)
        loss = masked_patch_loss(pred, patchify(x, self.encoder.patch), visible, norm_pix=self.norm_pix)
        return loss, pred, visible

    def reconstruct(self, x: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """The predicted images ``[N, C, H, W]``: predictions un-normalised with each true patch's mean and
        standard deviation when ``norm_pix`` (as MAE displays them)."""
        _, pred, _ = self.forward(x, visible)
        if self.norm_pix:
            patches = patchify(x, self.encoder.patch)
            mean = patches.mean(-1, keepdim=True)
            std = (patches.var(-1, unbiased=True, keepdim=True) + 1e-6).sqrt()
            pred = pred * std + mean
        return unpatchify(pred, self.encoder.patch, self.channels, self.grid[0])
