r"""Spikformer: spiking self-attention without softmax, and the spiking patch splitting stem.

Zhou et al., *Spikformer: When Spiking Neural Network Meets Transformer*, ICLR 2023
(https://arxiv.org/abs/2209.15425).  Every tensor is time-first; tokens are laid out ``[T, N, L, D]``
(``L`` tokens of dimension ``D``, as the paper writes :math:`X \in \mathbb{R}^{T \times N \times D}` per
sample), images ``[T, N, C, H, W]``.

Spiking self-attention (SSA), with :math:`SN` a LIF (:math:`\tau = 2`, hard reset, detached reset,
sigmoid surrogate with :math:`\alpha = 4`):

.. math::
    Q = SN(BN(X W_Q)),\quad K = SN(BN(X W_K)),\quad V = SN(BN(X W_V)),\\
    SSA'(Q, K, V) = SN_{\theta = 0.5}\big(Q K^\top V \cdot s\big),\quad s = 0.125,\\
    SSA(X) = SN(BN(\mathrm{Linear}(SSA'))).

There is no softmax: :math:`Q K^\top` of binary matrices is a non-negative integer matrix, so the
product needs no normalisation and its multiplications are additions.  The product is associative,
:math:`(Q K^\top) V = Q (K^\top V)`, at a cost of :math:`O(L^2 d)` against :math:`O(L d^2)` per head;
:func:`spiking_attention` picks the cheaper order for the shape (``order="auto"``).

VSA, the paper's softmax baseline, is :math:`\mathrm{softmax}(Q K^\top s) V` on the real-valued
:math:`Q, K, V` (the BN outputs, before the neuron).

Layouts against spikingjelly: its ``SpikingSelfAttention`` takes ``[T, N, C, L]`` (channels before
tokens, for ``Conv1d``) and fuses Q, K and V into one ``Conv1d(D, 3D)`` with one ``BatchNorm1d(3D)``;
:func:`ssa_state_from_spikingjelly` splits them into ours.  Its patch stem pools *before* the LIF of
stages 3 and 4; the paper (and the official code) pools *after* it, on spikes: ``SPS(pool="paper")``
or ``SPS(pool="spikingjelly")``.
"""
from __future__ import annotations

import math
import re
from typing import Literal, Optional

import torch
from torch import nn

from ..energy import E_AC_PJ, E_MAC_PJ
from ..neurons import LIF, Sigmoid

__all__ = ["spikformer_lif", "spiking_attention", "attention_order", "attention_ops", "SSA", "SpikformerMLP",
           "SpikformerBlock", "SPS", "Spikformer", "ssa_state_from_spikingjelly",
           "spikformer_state_from_spikingjelly", "lively_bn_", "ATTENTION_VARIANTS", "E_MAC_PJ", "E_AC_PJ"]

Order = Literal["auto", "qk_v", "q_kv"]
ORDERS = ("auto", "qk_v", "q_kv")
#: the attention variants of the paper's ablation (its Table 5)
ATTENTION_VARIANTS = ("A_I", "A_ReLU", "A_LeakyReLU", "A_softmax", "A_SSA")


def spikformer_lif(v_threshold: float = 1.0) -> LIF:
    """The LIF of Spikformer: tau = 2, hard reset to 0, detached reset, Sigmoid(alpha = 4) surrogate.

    Defined in chapter 04 (Spikformer), section "From scratch, then snnlib".
    """
    return LIF(tau=2.0, v_threshold=v_threshold, v_reset=0.0, decay_input=True,
               surrogate_function=Sigmoid(4.0), detach_reset=True)


def attention_order(L: int, d: int) -> str:
    """The cheaper association order for ``L`` tokens of ``d`` dimensions per head.

    ``(Q K^T) V`` costs :math:`2 L^2 d` multiply-adds and ``Q (K^T V)`` costs :math:`2 L d^2`: the first
    wins when :math:`L < d`.

    Defined in chapter 04 (Spikformer), section "Two association orders".
    """
    return "qk_v" if L < d else "q_kv"


def spiking_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, order: Order = "auto") -> torch.Tensor:
    r""":math:`Q K^\top V` over the last two dimensions (``[..., L, d]``), in the order asked for.

    ``order="qk_v"`` computes :math:`(Q K^\top) V`, ``"q_kv"`` computes :math:`Q (K^\top V)`, and
    ``"auto"`` the cheaper of the two for the shape (:func:`attention_order`).  The value is the same.

    Defined in chapter 04 (Spikformer), section "Two association orders".
    """
    if order not in ORDERS:
        raise ValueError(f"order={order!r}; expected one of {', '.join(ORDERS)}")
    if not (q.shape == k.shape and k.shape[:-1] == v.shape[:-1]):
        raise ValueError(f"q, k, v have shapes {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}; expected "
                         "q and k equal and v with the same [..., L] leading dimensions")
    if order == "auto":
        order = attention_order(q.shape[-2], q.shape[-1])
    if order == "qk_v":
        return (q @ k.transpose(-2, -1)) @ v
    return q @ (k.transpose(-2, -1) @ v)


def _real_ops(L: int, d: int, heads: int, order: str) -> int:
    return heads * (2 * L * L * d if order == "qk_v" else 2 * L * d * d)


def attention_ops(variant: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                  order: Order = "auto") -> dict[str, float]:
    r"""Operations and energy of one attention product on ``[..., heads, L, d]`` tensors, per sample.

    * real-valued variants (``A_I``, ``A_ReLU``, ``A_LeakyReLU``, ``A_softmax``): every product is a
      multiply-accumulate, :math:`2 L^2 d` (or :math:`2 L d^2`) per head; softmax adds :math:`L^2`
      exponentials and :math:`L^2` divisions per head, counted as multiplications;
    * ``A_SSA`` on binary ``q, k, v``: no multiplication at all; each non-zero product is one addition
      (an accumulate, AC), counted on the tensors themselves: the firing-rate-weighted synaptic
      operations (SOPs).  The scale :math:`s` folds into the neuron's threshold.

    Energies at 45 nm: :math:`E = 4.6\,\text{pJ} \times \text{MACs} + 0.9\,\text{pJ} \times \text{ACs}`.
    Counts are averaged over the leading (time and batch) dimensions: the figures of one time step and
    one sample.  Returns ``{"mults", "adds", "sops", "energy_pj"}``.

    Defined in chapter 04 (Spikformer), section "Multiplications become additions".
    """
    if variant not in ATTENTION_VARIANTS:
        raise ValueError(f"variant={variant!r}; expected one of {', '.join(ATTENTION_VARIANTS)}")
    if q.dim() < 3:
        raise ValueError(f"q has shape {tuple(q.shape)}; expected [..., heads, L, d]")
    heads, L, d = q.shape[-3:]
    lead = max(1, q[..., 0, 0, 0].numel())
    order = attention_order(L, d) if order == "auto" else order
    if variant != "A_SSA":
        macs = _real_ops(L, d, heads, order)
        extra = 2 * heads * L * L if variant == "A_softmax" else 0
        mults = macs + extra
        adds = macs + (heads * L * L if variant == "A_softmax" else 0)
        return {"mults": float(mults), "adds": float(adds), "sops": float(macs),
                "energy_pj": E_MAC_PJ * (macs + extra) + E_AC_PJ * (adds - macs)}
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not torch.all((t == 0) | (t == 1)):
            raise ValueError(f"{name} is not binary; A_SSA counts additions of spikes (0/1 tensors)")
    q, k, v = q.double(), k.double(), v.double()
    if order == "qk_v":
        a = q @ k.transpose(-2, -1)                       # integer, each unit one addition
        adds = a.sum() + ((a != 0).double() @ v).sum()
    else:
        m = k.transpose(-2, -1) @ v
        adds = m.sum() + (q @ (m != 0).double()).sum()
    adds = float(adds) / lead
    return {"mults": 0.0, "adds": adds, "sops": adds, "energy_pj": E_AC_PJ * adds}


def _bn_tokens(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """BatchNorm1d over the last (feature) dimension of ``[T, N, L, D]``."""
    return bn(x.flatten(0, -2)).view_as(x)


class _LinearBNLIF(nn.Module):
    """``SN(BN(X W))`` on tokens ``[T, N, L, D_in]``; ``real`` keeps the BN output (before the neuron)."""

    def __init__(self, d_in: int, d_out: int, v_threshold: float = 1.0):
        super().__init__()
        self.linear = nn.Linear(d_in, d_out, bias=False)
        self.bn = nn.BatchNorm1d(d_out)
        self.lif = spikformer_lif(v_threshold)

    def real(self, x: torch.Tensor) -> torch.Tensor:
        return _bn_tokens(self.bn, self.linear(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif(self.real(x))


def _check_tokens(x: torch.Tensor, dim: int, name: str = "x_seq") -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[-1] != dim:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} has shape {shape}; expected tokens [T, N, L, {dim}] (time first)")


class SSA(nn.Module):
    r"""Spiking self-attention (``attention="ssa"``), or the softmax baseline VSA (``attention="vsa"``).

    .. math::
        SSA(X) = SN(BN(\mathrm{Linear}(SN_{0.5}(Q K^\top V s)))),\qquad
        VSA(X) = SN(BN(\mathrm{Linear}(\mathrm{softmax}(Q_r K_r^\top s) V_r)))

    with :math:`Q = SN(Q_r)`, :math:`Q_r = BN(X W_Q)` (and so for K, V).  Input and output ``[T, N, L, D]``.
    ``order`` fixes the association order of :math:`Q K^\top V` (``"auto"``: the cheaper one).  With
    ``record=True`` the last forward keeps ``self.last`` (detached): the real and spiking Q, K, V per
    head ``[T, N, heads, L, d]``, the attention map and the output spikes of the attention neuron.

    Defined in chapter 04 (Spikformer), section "From scratch, then snnlib".
    """

    def __init__(self, dim: int, heads: int = 8, *, scale: float = 0.125, attn_threshold: float = 0.5,
                 attention: Literal["ssa", "vsa"] = "ssa", order: Order = "auto", record: bool = False):
        super().__init__()
        if not isinstance(dim, int) or not isinstance(heads, int) or dim <= 0 or heads <= 0 or dim % heads:
            raise ValueError(f"dim={dim!r}, heads={heads!r}: expected positive integers with dim divisible by heads")
        if attention not in ("ssa", "vsa"):
            raise ValueError(f"attention={attention!r}; expected 'ssa' or 'vsa'")
        if order not in ORDERS:
            raise ValueError(f"order={order!r}; expected one of {', '.join(ORDERS)}")
        self.dim, self.heads, self.scale, self.attention, self.order = dim, heads, float(scale), attention, order
        self.record = record
        self.last: Optional[dict[str, torch.Tensor]] = None
        self.q, self.k, self.v = (_LinearBNLIF(dim, dim) for _ in range(3))
        self.attn_lif = spikformer_lif(attn_threshold)
        self.proj = _LinearBNLIF(dim, dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:          # [T, N, L, D] -> [T, N, h, L, d]
        T, N, L, D = x.shape
        return x.view(T, N, L, self.heads, D // self.heads).transpose(2, 3)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        _check_tokens(x_seq, self.dim)
        T, N, L, D = x_seq.shape
        rq, rk, rv = self.q.real(x_seq), self.k.real(x_seq), self.v.real(x_seq)
        if self.attention == "ssa":
            q, k, v = (self._heads(lif(r)) for lif, r in ((self.q.lif, rq), (self.k.lif, rk), (self.v.lif, rv)))
            a = spiking_attention(q, k, v, self.order) * self.scale
            y = self.attn_lif(a)
        else:
            q, k, v = self._heads(rq), self._heads(rk), self._heads(rv)
            y = torch.softmax(q @ k.transpose(-2, -1) * self.scale, dim=-1) @ v
        if self.record:
            self.last = {"q_real": self._heads(rq).detach(), "k_real": self._heads(rk).detach(),
                         "v_real": self._heads(rv).detach(), "q": q.detach(), "k": k.detach(), "v": v.detach(),
                         "out": y.detach()}
        y = y.transpose(2, 3).reshape(T, N, L, D)
        return self.proj(y)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, heads={self.heads}, scale={self.scale}, attention={self.attention!r}, order={self.order!r}"


class SpikformerMLP(nn.Module):
    """``SN(BN(Linear(SN(BN(Linear(X))))))``, hidden width ``ratio * dim``; tokens ``[T, N, L, D]``."""

    def __init__(self, dim: int, ratio: float = 4.0):
        super().__init__()
        hidden = int(dim * ratio)
        self.fc1 = _LinearBNLIF(dim, hidden)
        self.fc2 = _LinearBNLIF(hidden, dim)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.fc1(x_seq))


class SpikformerBlock(nn.Module):
    r"""One encoder block: :math:`X' = X + SSA(X)`, :math:`X'' = X' + MLP(X')`, tokens ``[T, N, L, D]``.

    ``attention="none"`` removes the attention (``self.attn`` is ``None``, :math:`X' = X`): the ablation
    that asks what the attention adds to the same block, trained with the same recipe.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, **ssa_kwargs):
        super().__init__()
        if ssa_kwargs.get("attention") == "none":
            if dim % heads:
                raise ValueError(f"dim={dim!r}, heads={heads!r}: expected dim divisible by heads")
            self.attn: Optional[SSA] = None
        else:
            self.attn = SSA(dim, heads, **ssa_kwargs)
        self.mlp = SpikformerMLP(dim, mlp_ratio)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if self.attn is not None:
            x_seq = x_seq + self.attn(x_seq)
        return x_seq + self.mlp(x_seq)


class _ConvBNLIF(nn.Module):
    def __init__(self, c_in: int, c_out: int, pool: Optional[str]):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.lif = spikformer_lif()
        self.pool = pool
        self.maxpool = nn.MaxPool2d(3, 2, 1) if pool else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # [T, N, C, H, W]
        T, N = x.shape[:2]
        y = self.bn(self.conv(x.flatten(0, 1)))
        if self.pool == "spikingjelly":                          # pool the membrane input
            y = self.maxpool(y)
        y = self.lif(y.view(T, N, *y.shape[1:]))
        if self.pool == "paper":                                 # pool the spikes
            y = self.maxpool(y.flatten(0, 1))
            y = y.view(T, N, *y.shape[1:])
        return y


class SPS(nn.Module):
    r"""Spiking patch splitting: four conv3×3-BN-SN stages (widths D/8, D/4, D/2, D), then the relative
    position embedding :math:`X + SN(BN(\mathrm{Conv}(X)))`; ``[T, N, C, H, W]`` to tokens ``[T, N, L, D]``.

    A max-pool (3×3, stride 2) in stages 3 and 4 makes patches of 4×4 pixels.  ``pool="paper"`` pools the
    spikes, after the LIF, as the paper and the official code do; ``pool="spikingjelly"`` pools the BN
    output before the LIF, as spikingjelly's ``SpikformerPatchStem`` does.  Max-pooling a binary map is
    a logical OR over each window; pooling before the neuron keeps the largest membrane input instead.

    Defined in chapter 04 (Spikformer), section "04 · Spikformer: spiking self-attention without softmax".
    """

    def __init__(self, in_channels: int = 3, dim: int = 384, pool: Literal["paper", "spikingjelly"] = "paper"):
        super().__init__()
        if pool not in ("paper", "spikingjelly"):
            raise ValueError(f"pool={pool!r}; expected 'paper' (after the LIF) or 'spikingjelly' (before it)")
        if dim % 8:
            raise ValueError(f"dim={dim!r} must be divisible by 8 (the stem's widths are D/8, D/4, D/2, D)")
        widths = [dim // 8, dim // 4, dim // 2, dim]
        chans = [in_channels] + widths
        self.stages = nn.ModuleList(_ConvBNLIF(chans[i], chans[i + 1], pool if i >= 2 else None) for i in range(4))
        self.rpe = _ConvBNLIF(dim, dim, None)
        self.dim = dim

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if x_seq.dim() != 5:
            raise ValueError(f"x_seq has shape {tuple(x_seq.shape)}; expected images [T, N, C, H, W]")
        for stage in self.stages:
            x_seq = stage(x_seq)
        x_seq = x_seq + self.rpe(x_seq)
        return x_seq.flatten(3).transpose(2, 3)                 # [T, N, H*W, D]


class Spikformer(nn.Module):
    r"""Spikformer-``depth``-``dim``: SPS, ``depth`` blocks, the mean over tokens, a linear head.

    ``forward`` takes images ``[N, C, H, W]`` (repeated over ``T`` steps: the first convolution is the
    encoding layer) or ``[T, N, C, H, W]``, and returns ``[T, N, classes]``.  ``Spikformer.named("4-384")``
    builds the paper's ``L-D`` configuration.  ``attention="vsa"`` swaps SSA for the softmax baseline,
    ``attention="none"`` removes the attention from every block.

    Defined in chapter 04 (Spikformer), section "The same in spikingjelly".
    """

    def __init__(self, depth: int = 4, dim: int = 384, heads: int = 8, T: int = 4, num_classes: int = 10,
                 in_channels: int = 3, mlp_ratio: float = 4.0, pool: Literal["paper", "spikingjelly"] = "paper",
                 attention: Literal["ssa", "vsa", "none"] = "ssa", order: Order = "auto"):
        super().__init__()
        for name, value in (("depth", depth), ("T", T), ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r}; expected a positive integer")
        if attention not in ("ssa", "vsa", "none"):
            raise ValueError(f"attention={attention!r}; expected 'ssa', 'vsa' or 'none' (attention removed)")
        self.T, self.depth, self.dim = T, depth, dim
        self.sps = SPS(in_channels, dim, pool)
        self.blocks = nn.ModuleList(SpikformerBlock(dim, heads, mlp_ratio, attention=attention, order=order)
                                    for _ in range(depth))
        self.head = nn.Linear(dim, num_classes)
        for m in self.modules():           # as the official code: linear layers only (convs keep PyTorch's)
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    @classmethod
    def named(cls, name: str, **kwargs) -> "Spikformer":
        """``Spikformer.named("4-384", T=4, num_classes=10)``: the paper's ``L-D`` naming."""
        depth, dim = parse_named(name)
        return cls(depth=depth, dim=dim, **kwargs)

    def ssa_layers(self) -> list[SSA]:
        """The blocks' attention layers (none when ``attention="none"``)."""
        return [b.attn for b in self.blocks if b.attn is not None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.unsqueeze(0).expand(self.T, *x.shape)
        elif x.dim() != 5:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected images [N, C, H, W] or [T, N, C, H, W]")
        z = self.sps(x)
        for block in self.blocks:
            z = block(z)
        return self.head(z.mean(2))                              # [T, N, classes]


def parse_named(name: str) -> tuple[int, int]:
    """``(L, D)`` of the papers' ``L-D`` names: ``"4-384"`` is 4 blocks of dimension 384."""
    m = re.fullmatch(r"(\d+)-(\d+)", name) if isinstance(name, str) else None
    if not m:
        raise ValueError(f"name={name!r}; expected 'L-D', e.g. '4-384' (L blocks of dimension D)")
    return int(m.group(1)), int(m.group(2))


def _split_qkv(sd: dict, prefix: str, dim: int) -> dict[str, torch.Tensor]:
    out = {}
    w = sd[f"{prefix}qkv_conv_bn.0.weight"][:, :, 0]
    for i, name in enumerate("qkv"):
        out[f"{name}.linear.weight"] = w[i * dim:(i + 1) * dim]
        for key in ("weight", "bias", "running_mean", "running_var"):
            out[f"{name}.bn.{key}"] = sd[f"{prefix}qkv_conv_bn.1.{key}"][i * dim:(i + 1) * dim]
        out[f"{name}.bn.num_batches_tracked"] = sd[f"{prefix}qkv_conv_bn.1.num_batches_tracked"]
    out["proj.linear.weight"] = sd[f"{prefix}proj_conv_bn.0.weight"][:, :, 0]
    for key in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
        out[f"proj.bn.{key}"] = sd[f"{prefix}proj_conv_bn.1.{key}"]
    return out


def ssa_state_from_spikingjelly(sd: dict, dim: int, prefix: str = "") -> dict[str, torch.Tensor]:
    """Our :class:`SSA` state dict from spikingjelly's ``SpikingSelfAttention`` one.

    spikingjelly fuses Q, K and V: one ``Conv1d(D, 3D, 1)`` (weight ``[3D, D, 1]``) and one
    ``BatchNorm1d(3D)``; rows ``0:D`` are Q, ``D:2D`` K, ``2D:3D`` V.  A 1×1 ``Conv1d`` over ``[C, L]`` is a
    ``Linear`` over ``[L, C]``: the same weight without its last axis.

    Defined in chapter 04 (Spikformer), section "The same in spikingjelly".
    """
    return _split_qkv(sd, prefix, dim)


def spikformer_state_from_spikingjelly(sd: dict, depth: int, dim: int) -> dict[str, torch.Tensor]:
    """Our :class:`Spikformer` (built with ``pool="spikingjelly"``) state dict from spikingjelly's
    ``model.spikformer.Spikformer``, whose stem pools before the LIF.

    Defined in chapter 04 (Spikformer), section "The same in spikingjelly".
    """
    out: dict[str, torch.Tensor] = {}
    stems = [f"patch_embed.stages.{i}" for i in range(4)] + ["patch_embed.positional_encoding"]
    ours = [f"sps.stages.{i}" for i in range(4)] + ["sps.rpe"]
    for theirs, mine in zip(stems, ours):
        out[f"{mine}.conv.weight"] = sd[f"{theirs}.conv_bn.block.0.weight"]
        for key in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            out[f"{mine}.bn.{key}"] = sd[f"{theirs}.conv_bn.block.1.{key}"]
    for b in range(depth):
        for k, v in _split_qkv(sd, f"blocks.{b}.attn.", dim).items():
            out[f"blocks.{b}.attn.{k}"] = v
        for fc in ("fc1", "fc2"):
            out[f"blocks.{b}.mlp.{fc}.linear.weight"] = sd[f"blocks.{b}.mlp.{fc}.0.weight"][:, :, 0]
            for key in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                out[f"blocks.{b}.mlp.{fc}.bn.{key}"] = sd[f"blocks.{b}.mlp.{fc}.1.{key}"]
    out["head.weight"], out["head.bias"] = sd["head.weight"], sd["head.bias"]
    return out


def lively_bn_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Draw every BatchNorm's affine and running variance so that the neurons behind it fire; eval mode.

    A randomly initialised spiking network with PyTorch's BN (weight 1, bias 0) is nearly silent, and two
    silent networks agree trivially.  Cross-checks against a reference therefore draw, from ``seed``,
    weight in [1, 3], bias in [0.5, 1.5] and running variance in [0.5, 2] for every ``BatchNorm1d/2d``.
    Returns ``module``, in eval mode (so the running statistics are used).

    Defined in chapter 04 (Spikformer), section "The same in spikingjelly".
    """
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n, dt = m.num_features, m.weight.dtype
            with torch.no_grad():
                m.weight.copy_(1 + 2 * torch.rand(n, generator=gen, dtype=dt))
                m.bias.copy_(0.5 + torch.rand(n, generator=gen, dtype=dt))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=gen, dtype=dt))
    return module.eval()
