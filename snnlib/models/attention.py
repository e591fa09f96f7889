r"""SynA-ResNet: OR residual connections, synergistic attention and natural pruning.

Shan et al., *SynA-ResNet: Spike-driven ResNet Achieved through OR Residual Connection*, arXiv 2311.06570
(official code ``Ym-Shan/ORRC-SynA-natural-pruning``).  The network is chapter 06's SEW skeleton
(:class:`snnlib.models.resnet.SpikingResNet`, family ``"sew"``) with the OR connect function

.. math::
    G(A, B) = A \lor B = A + B - A B

(:func:`snnlib.models.resnet.or_`), which keeps the block's output binary, and two attentions, both
temporal (Yao et al.'s MA, restricted to the time axis): for ``x`` of shape ``[T, N, C, H, W]``,

.. math::
    a = \mathrm{MLP}(\mathrm{AvgPool}_{C,H,W}(x)) + \mathrm{MLP}(\mathrm{MaxPool}_{C,H,W}(x)),\qquad
    \mathrm{MLP}: T \to \max(1, T/4) \to T,

* **MA** on the backbone (the residual path, before its last neuron):
  :math:`\mathrm{MA}(x) = \mathrm{relu}(\sigma(a) \cdot x)`;
* **IA** on the shortcut: the same, with the gate an LIF spike,
  :math:`\mathrm{IA}(x) = \mathrm{relu}(\Theta_{LIF}(a) \cdot x)`, one gate per time step and sample.

A SynA block is :math:`s^{l+1} = SN(\mathrm{MA}(F(s^l))) \lor D_{IA}(s^l)`, with the shortcut
:math:`D_{IA}(s) = SN(\mathrm{IA}(BN(C_{1\times 1}(s))))` where it downsamples (the released code's
order) and :math:`\mathrm{IA}(s)` where it is the identity.  A gate that never
fires makes its shortcut exactly 0 and :math:`A \lor 0 = A`: the branch can be removed with no change of
output (:func:`natural_prune`).

The IA gate's LIF runs along time, separately for each sample (``per_sample=True``).  The official script
feeds the pooled ``[N, T]`` tensor to a multi-step LIF, which takes the first axis as time: the gate then
runs along the **batch**, so one sample's gate depends on the samples before it (``per_sample=False``
reproduces that).
"""
from __future__ import annotations

import copy
import math
from typing import Any, Callable, Iterable, Literal, Optional

import torch
from torch import nn

from ..neurons import LIF
from .resnet import BN2_GAMMA, Block, Connect, SpikingResNet, ms_lif, or_

__all__ = ["TemporalMLP", "MA", "IA", "SynABlock", "SynAResNet", "gate_rates", "silent_blocks",
           "natural_prune", "PruneReport"]

Placement = Literal["every", "downsample"]


class TemporalMLP(nn.Module):
    r"""The shared MLP of MA and IA over the time axis: :math:`T \to \max(1, \lfloor T/4 \rfloor) \to T`,
    applied to the average and the maximum of ``x`` over C, H and W, and summed:

    .. math:: a[t, n] = W_2\,\mathrm{relu}(W_1\, \bar x_{n}) + W_2\,\mathrm{relu}(W_1\, \hat x_{n}),

    with :math:`\bar x_n, \hat x_n \in \mathbb R^T` the mean and max of sample ``n``.  Returns ``[T, N]``.
    The released code has no bias; ``bias`` (not None) adds a learnable one to the second layer,
    initialised so that :math:`a` starts near ``bias``.

    Defined in chapter 07 (SynA-ResNet), section "Synergistic attention".
    """

    def __init__(self, T: int, bias: Optional[float] = None):
        super().__init__()
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T={T!r}; expected a positive integer (the time steps)")
        self.T = T
        hidden = max(1, T // 4)
        self.fc1 = nn.Linear(T, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, T, bias=bias is not None)
        if bias is not None:  # counted twice (avg and max branches): a starts near 2 x bias
            nn.init.constant_(self.fc2.bias, float(bias) / 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3 or x.shape[0] != self.T:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected [T={self.T}, N, C, ...]")
        flat = x.flatten(2)  # [T, N, C*H*W]
        avg, mx = flat.mean(dim=2).t(), flat.amax(dim=2).t()  # [N, T]
        a = self.fc2(torch.relu(self.fc1(avg))) + self.fc2(torch.relu(self.fc1(mx)))
        return a.t()  # [T, N]


class MA(nn.Module):
    r"""Temporal attention on the backbone: :math:`\mathrm{relu}(\sigma(a) \cdot x)`, ``a`` from
    :class:`TemporalMLP`, one weight per time step and sample.  ``[T, N, C, H, W] -> same``.

    Defined in chapter 07 (SynA-ResNet), section "Synergistic attention".
    """

    def __init__(self, T: int):
        super().__init__()
        self.mlp = TemporalMLP(T)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\sigma(a)`, ``[T, N]``."""
        return torch.sigmoid(self.mlp(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weights(x)
        return torch.relu(w.reshape(*w.shape, *([1] * (x.dim() - 2))) * x)


class IA(nn.Module):
    r"""Temporal attention on the shortcut, with a spiking gate: :math:`\mathrm{relu}(g \cdot x)` with
    :math:`g = \Theta_{LIF}(a) \in \{0, 1\}`, ``a`` from :class:`TemporalMLP`.  The gate's LIF (``neuron``,
    default the paper's: :math:`\tau = 2`, :math:`\theta = 1`, hard reset, ATan) runs along time for
    each sample (``per_sample=True``), or along the batch as in the official script
    (``per_sample=False``).  ``last_gate`` keeps the last ``[T, N]`` gate (detached).  ``gate_bias``
    (default None: the released code's, no bias) starts :math:`a` near that value: 2 opens a gate of
    the paper's LIF at every step from the start.

    Defined in chapter 07 (SynA-ResNet), section "Synergistic attention".
    """

    def __init__(self, T: int, *, per_sample: bool = True, neuron: Optional[Callable[[], nn.Module]] = None,
                 gate_bias: Optional[float] = None):
        super().__init__()
        if not isinstance(per_sample, bool):
            raise TypeError(f"per_sample={per_sample!r}; expected True or False")
        self.mlp = TemporalMLP(T, gate_bias)
        self.gate_neuron = (neuron or LIF)()
        self.per_sample = per_sample
        self.last_gate: Optional[torch.Tensor] = None

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The spiking gate ``[T, N]`` of ``x``."""
        a = self.mlp(x)
        g = self.gate_neuron(a) if self.per_sample else self.gate_neuron(a.t().contiguous()).t()
        self.last_gate = g.detach()
        return g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.gate(x)
        return torch.relu(g.reshape(*g.shape, *([1] * (x.dim() - 2))) * x)

    def extra_repr(self) -> str:
        return f"per_sample={self.per_sample}"


class SynABlock(Block):
    r"""A SEW block with synergistic attention: :math:`G(SN(\mathrm{MA}(F(s))),\ D_{IA}(s))`,
    ``G`` the connect function (OR by default).  With ``shortcut=False`` (the blocks without a
    downsampling shortcut under ``placement="downsample"``, or a pruned branch) it is
    :math:`SN(\mathrm{MA}(F(s)))`.  ``attention=False`` drops MA and IA (an OR-ResNet block).

    Defined in chapter 07 (SynA-ResNet), section "Synergistic attention".
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, T: int,
                 connect: Connect = or_, neuron: Callable[[], nn.Module] = ms_lif, attention: bool = True,
                 per_sample: bool = True, shortcut: bool = True, gate_bias: Optional[float] = None):
        super().__init__("sew", in_channels, out_channels, stride, connect=connect, neuron=neuron)
        self.ma: Optional[MA] = MA(T) if attention else None
        if attention:  # MA's sigmoid starts near 0.5: BN2's gamma doubled keeps chapter 06's scale
            nn.init.constant_(self.bn2.weight, 2 * BN2_GAMMA["sew"])
        self.ia: Optional[IA] = (IA(T, per_sample=per_sample, gate_bias=gate_bias)
                                 if attention and shortcut else None)
        self.has_shortcut = bool(shortcut)
        if not shortcut:
            self.downsample = None

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        r = super().residual(x)
        return r if self.ma is None else self.ma(r)

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`D(s)` gated by IA: ``SN(IA(BN(C(s))))`` on a downsampling shortcut (the gate acts on the
        BN's output, before the shortcut's neuron, as in the released code), ``IA(s)`` on an identity."""
        if self.ia is None:
            return super().shortcut(x)
        if self.downsample is None:
            return self.ia(x)
        conv, bn, sn = self.downsample
        return sn(self.ia(bn(conv(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.spike2(self.residual(x))
        if not self.has_shortcut:
            return a
        return self.connect(a, self.shortcut(x))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", shortcut={self.has_shortcut}"


class SynAResNet(SpikingResNet):
    r"""SynA-ResNet (``attention=True``) or OR-ResNet (``attention=False``) on chapter 06's skeleton of
    depth :math:`6n + 2`: every block is a :class:`SynABlock`.

    Args:
        depth, width, in_channels, num_classes, T, neuron: as :class:`SpikingResNet`.
        connect: the blocks' :math:`G(A, B)` (default :func:`~snnlib.models.resnet.or_`).
        attention: MA on the backbone and IA on the shortcuts.
        per_sample: the IA gates run along time per sample (``False``: along the batch, the official
            script's behaviour).
        placement: ``"every"`` block has a shortcut, or only the blocks that ``"downsample"`` (a stride
            or a change of width), the others none, as in the released code (its ResNet-18 has OR
            shortcuts at the three downsampling blocks only).
        gate_bias: of every IA gate (:class:`IA`; default None, the released code's).

    Defined in chapter 07 (SynA-ResNet), section "The released script's gate runs along the batch".
    """

    def __init__(self, depth: int = 20, width: int = 16, *, in_channels: int = 3, num_classes: int = 10,
                 T: int = 4, connect: Connect = or_, neuron: Callable[[], nn.Module] = ms_lif,
                 attention: bool = True, per_sample: bool = True, placement: Placement = "every",
                 gate_bias: Optional[float] = None):
        super().__init__("sew", depth, width, in_channels=in_channels, num_classes=num_classes, T=T,
                         connect=connect, neuron=neuron)
        if placement not in ("every", "downsample"):
            raise ValueError(f"placement={placement!r}; expected 'every' or 'downsample'")
        self.attention, self.placement = bool(attention), placement
        n = (depth - 2) // 6
        stages, c_in = [], width
        for i, c in enumerate((width, 2 * width, 4 * width)):
            blocks = []
            for j in range(n):
                cin, stride = (c_in, 1 if i == 0 else 2) if j == 0 else (c, 1)
                down = stride != 1 or cin != c
                blocks.append(SynABlock(cin, c, stride, T=T, connect=connect, neuron=neuron,
                                        attention=attention, per_sample=per_sample, gate_bias=gate_bias,
                                        shortcut=placement == "every" or down))
            stages.append(nn.Sequential(*blocks))
            c_in = c
        self.stages = nn.ModuleList(stages)

    def blocks(self) -> list[SynABlock]:
        return [b for stage in self.stages for b in stage]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", attention={self.attention}, placement={self.placement!r}"


@torch.no_grad()
def gate_rates(model: SynAResNet, batches: Iterable, *, device: Optional[torch.device] = None,
               per_step: bool = False) -> dict[str, Any]:
    """The firing rate of each IA gate of ``model`` (evaluation mode) over ``batches`` of ``(x, y)`` or
    ``x``: ``{block name: spikes / (T x samples)}``.  A rate of exactly 0 is a gate that never fired.
    With ``per_step`` each value is a list of T rates, one per time step (spikes / samples).

    Defined in chapter 07 (SynA-ResNet), section "Natural pruning, demonstrated".
    """
    gates = {n: m for n, m in model.named_modules() if isinstance(m, IA)}
    if not gates:
        raise ValueError("model has no IA gates; expected a SynAResNet with attention=True")
    dev = device or next(model.parameters()).device
    spikes: dict[str, Any] = {n: 0.0 for n in gates}
    count = {n: 0 for n in gates}
    was = model.training
    model.eval()
    try:
        for b in batches:
            x = b[0] if isinstance(b, (tuple, list)) else b
            model(x.to(dev))
            for n, m in gates.items():
                g = m.last_gate.double()
                spikes[n] = spikes[n] + (g.sum(1) if per_step else float(g.sum()))
                count[n] += g.shape[1] if per_step else g.numel()
    finally:
        model.train(was)
    if per_step:
        return {n[: -len(".ia")]: (spikes[n] / count[n]).tolist() for n in gates}
    return {n[: -len(".ia")]: spikes[n] / count[n] for n in gates}


def silent_blocks(rates: dict[str, float]) -> list[str]:
    """The blocks whose IA gate never fired (rate exactly 0)."""
    return [n for n, r in rates.items() if r == 0.0]


class PruneReport(dict):
    """What :func:`natural_prune` removed: ``pruned`` (block names), ``params_removed``,
    ``params_before``, ``macs_removed`` (per sample and step, of the removed shortcut convolutions and
    MLPs) and ``branches`` (shortcuts before)."""


def natural_prune(model: SynAResNet, silent: Iterable[str], *, x: Optional[torch.Tensor] = None
                  ) -> tuple[SynAResNet, PruneReport]:
    r"""A copy of ``model`` without the shortcut branches of the blocks named in ``silent`` (their
    downsampling convolution, BN and neuron, and the IA gate): each such block becomes
    :math:`SN(\mathrm{MA}(F(s)))`, equal to the original whenever its gate does not fire, since
    :math:`A \lor 0 = A`.  ``x`` (one batch), when given, measures the multiply-accumulates removed.

    Defined in chapter 07 (SynA-ResNet), section "Exercises".
    """
    silent = list(silent)
    named = dict(model.named_modules())
    for n in silent:
        b = named.get(n)
        if not isinstance(b, SynABlock) or b.ia is None:
            raise ValueError(f"silent names {n!r}, which is not a SynA block with an IA gate; valid names: "
                             f"{', '.join(k for k, m in named.items() if isinstance(m, SynABlock) and m.ia)}")
    macs_per: dict[str, float] = {}
    if x is not None and silent:
        from ..energy import layer_macs
        hooks, acc = [], {}
        for n in silent:
            for sub_name, m in named[n].named_modules():
                if sub_name.startswith(("downsample", "ia")) and isinstance(m, (nn.Linear, nn.Conv2d)):
                    def hook(mod, inp, out, key=n):
                        acc[key] = acc.get(key, 0) + layer_macs(mod, inp[0], out)
                    hooks.append(m.register_forward_hook(hook))
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                model(x)
        finally:
            model.train(was)
            for h in hooks:
                h.remove()
        batch = x.shape[1] if x.dim() == 5 else x.shape[0]
        macs_per = {n: acc.get(n, 0) / batch / model.T for n in silent}
    pruned = copy.deepcopy(model)
    pnamed = dict(pruned.named_modules())
    before = sum(p.numel() for p in pruned.parameters())
    for n in silent:
        b = pnamed[n]
        b.downsample, b.ia, b.has_shortcut = None, None, False
    after = sum(p.numel() for p in pruned.parameters())
    branches = sum(1 for b in model.blocks() if b.has_shortcut)
    return pruned, PruneReport(pruned=silent, params_before=before, params_removed=before - after,
                               macs_removed=float(sum(macs_per.values())) if x is not None else math.nan,
                               branches=branches)

