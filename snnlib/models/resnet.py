r"""Deep spiking ResNets for CIFAR-sized images: a plain network and three residual families, one skeleton.

Hu, Deng, Wu, Yao, Li, *Advancing Spiking Neural Networks towards Deep Residual Learning*, IEEE TNNLS 2024
(https://arxiv.org/abs/2112.08954).  Images are time-first, ``[T, N, C, H, W]`` (a static ``[N, C, H, W]``
image is repeated over T).  The network is He et al.'s CIFAR ResNet of depth :math:`6n + 2`: a 3 x 3 stem,
three stages of :math:`n` basic blocks with ``width``, ``2 width`` and ``4 width`` channels (the last two
halve the resolution), global average pooling and a linear classifier.  With :math:`SN` the spiking
neuron, :math:`F(s) = BN_2(C_2(SN(BN_1(C_1(s)))))` and :math:`G` the ``connect`` function (``add`` unless
given), the blocks are

.. math::
    \text{plain:}\quad   & s^{l+1} = SN(F(s^l)) \\
    \text{vanilla:}\quad & s^{l+1} = SN(F(s^l) + s^l) \\
    \text{SEW:}\quad     & s^{l+1} = G(SN(F(s^l)),\ s^l) \\
    \text{MS:}\quad      & x^{l+1} = BN_2(C_2(SN(BN_1(C_1(SN(x^l)))))) + x^l

(a block that changes the resolution or the width puts a 1 x 1 convolution and a BN on its shortcut, and
SEW a neuron after them).  In the MS block the neuron comes first and the sum is taken on real,
membrane-like values; the network's head fires once more before the pooling.  Its BN initialisation is
:math:`\gamma = 0.5` for the stem, BN1 and the shortcut and :math:`\gamma = 0` for BN2, so that at
initialisation every MS block is exactly the identity.  The other families start as the vanilla
spiking ResNet's threshold-dependent BN (tdBN, Zheng et al. 2021) does: :math:`\gamma = V_{th} = 0.5`
for a BN that feeds a neuron, :math:`V_{th}/\sqrt 2` for each of the two BNs that a vanilla block sums
before its neuron (BN2 and the shortcut's).

The MS neuron (:func:`ms_lif`) is

.. math::
    u[t] = 0.25\, u[t-1]\,(1 - s[t-1]) + x[t],\qquad s[t] = \Theta(u[t] - 0.5),

with a rectangle surrogate of gradient 1 on :math:`|u - 0.5| < 0.5`: snnlib's :class:`~snnlib.neurons.LIF`
with :math:`\tau = 4/3` (so :math:`1 - 1/\tau = 0.25`), no input scaling, a hard reset to 0 and a detached
reset.  Every family uses it, so the families differ in their wiring only.

The analysis tools of the chapter are here too: :func:`block_gradient_norms` (block dynamical isometry,
measured), :func:`jacobian_singular_values`, :func:`ssim` and :func:`firing_maps`.
"""
from __future__ import annotations

import math
from typing import Callable, Literal, Optional, Sequence

import torch
from torch import nn

from ..neurons import LIF, Rect

__all__ = ["FAMILIES", "BN2_GAMMA", "SHORTCUT_GAMMA", "ms_lif", "add", "and_", "iand", "or_", "CONNECTS", "Conv2d", "BatchNorm2d", "Block", "SpikingResNet", "stage_blocks",
           "block_gradient_norms", "gradient_ratio", "state_change_probability", "jacobian_singular_values", "ssim", "firing_maps",
           "ms_block_state_from_spikingjelly"]

Family = Literal["plain", "vanilla", "sew", "ms", "wo_lif"]
#: the four networks of the chapter: no shortcut, LIF after the sum, spike-element-wise sum, membrane sum
FAMILIES: tuple[str, ...] = ("plain", "vanilla", "sew", "ms", "wo_lif")
Connect = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: the initial BN gamma: 0.5 (V_th) for the stem and BN1 everywhere; BN2 and the shortcut's BN per family
#: (MS: its paper's; the others: tdBN's, V_th / sqrt(2) for each of two BNs summed before a neuron)
BN2_GAMMA = {"plain": 0.5, "vanilla": 0.5 / math.sqrt(2), "sew": 0.5, "ms": 0.0, "wo_lif": 0.5 / math.sqrt(2)}
SHORTCUT_GAMMA = {"plain": 0.5, "vanilla": 0.5 / math.sqrt(2), "sew": 0.5, "ms": 0.5, "wo_lif": 0.5 / math.sqrt(2)}


def ms_lif(alpha: float = 1.0) -> LIF:
    r"""The MS neuron: :math:`u[t] = 0.25\,u[t-1](1 - s[t-1]) + x[t]`, :math:`s = \Theta(u - 0.5)`.

    snnlib's LIF with ``tau = 4/3``, ``decay_input=False``, ``v_threshold=0.5``, ``v_reset=0`` and
    ``detach_reset=True``; the surrogate is :class:`~snnlib.neurons.Rect` of width ``1/alpha``: ``alpha=1``
    is the paper's (gradient 1 on :math:`|u - 0.5| < 0.5`), ``alpha=2`` spikingjelly's ``ms_resnet``.
    The paper fires at :math:`u > 0.5`, snnlib and spikingjelly at :math:`u \ge 0.5`.

    Defined in chapter 06 (MS-ResNet), section "The MS neuron".
    """
    return LIF(tau=4.0 / 3.0, v_threshold=0.5, v_reset=0.0, decay_input=False,
               surrogate_function=Rect(alpha), detach_reset=True)


def add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """SEW's ``ADD`` connect function, :math:`G(A, B) = A + B` (and the sum of the other residual blocks).

    Defined in chapter 06 (MS-ResNet), section "Exercises".
    """
    return a + b


def and_(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """SEW's ``AND`` connect function, :math:`G(A, B) = A B` (binary for binary inputs).

    Defined in chapter 07 (SynA-ResNet), section "OR as A + B - AB".
    """
    return a * b


def iand(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """SEW's ``IAND`` connect function, :math:`G(A, B) = (1 - A) B` (``A`` the residual spikes).

    Defined in chapter 07 (SynA-ResNet), section "OR as A + B - AB".
    """
    return (1.0 - a) * b


def or_(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""SynA-ResNet's ``OR`` connect function (ORRC), :math:`G(A, B) = A + B - A B`: the logical OR of
    binary spikes, so the block's output stays binary; differentiable in both arguments
    (:math:`\partial G / \partial A = 1 - B`).

    Defined in chapter 07 (SynA-ResNet), section "OR as A + B - AB".
    """
    return a + b - a * b


#: the connect functions by name: SEW's ADD, AND and IAND, and SynA-ResNet's OR
CONNECTS: dict[str, Connect] = {"add": add, "and": and_, "iand": iand, "or": or_}


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` over ``[T, N, C, H, W]``: time is folded into the batch (state dict unchanged)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x.flatten(0, 1))
        return y.unflatten(0, x.shape[:2])


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` over ``[T, N, C, H, W]``: statistics over T, N, H and W together, as
    spikingjelly's multi-step ``BatchNorm2d`` (and the threshold-dependent BN of the vanilla spiking
    ResNet, up to its scale)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x.flatten(0, 1))
        return y.unflatten(0, x.shape[:2])


def _conv(c_in: int, c_out: int, k: int, stride: int) -> Conv2d:
    return Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False)


def _bn(c: int, gamma: float) -> BatchNorm2d:
    bn = BatchNorm2d(c)
    nn.init.constant_(bn.weight, gamma)
    return bn


def _check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"family={family!r}; expected one of {', '.join(FAMILIES)}")
    return family


class Block(nn.Module):
    r"""One basic block of ``family`` (``"plain"``, ``"vanilla"``, ``"sew"``, ``"ms"`` or ``"wo_lif"``),
    ``[T, N, C, H, W]``.

    .. math::
        \text{plain: } SN(F(s)),\quad \text{vanilla: } SN(F(s) + D(s)),\quad
        \text{SEW: } G(SN(F(s)), D(s)),\quad \text{MS: } BN_2(C_2(SN(BN_1(C_1(SN(x)))))) + D(x),\quad
        \text{W/O LIF: } F(x) + D(x)

    W/O LIF is the paper's Table II ablation: the vanilla block without the neuron after the sum.  Its
    output is real-valued, so the next block's first convolution is not spike-driven, and that convolution
    and the previous block's second one, with only BN and a sum between them, are linear and fuse into one
    (a 5 x 5 on the residual path): the reason the paper gives for MS's extra neuron before each convolution.

    with :math:`F = BN_2 \circ C_2 \circ SN \circ BN_1 \circ C_1` and :math:`D` the shortcut: the identity,
    or ``downsample`` (1 x 1 convolution and BN, plus a neuron for SEW) when ``stride`` or the width
    changes.  The parameter names (``conv1``, ``bn1``, ``conv2``, ``bn2``, ``downsample.0/1``) are
    spikingjelly's.  In the MS block ``spike1`` fires on the block's input and ``spike2`` between the
    convolutions; in the others ``spike1`` fires after ``bn1`` and ``spike2`` after the sum.

    Args:
        family: the wiring.
        in_channels, out_channels, stride: of the first convolution (and the shortcut).
        connect: :math:`G(A, B)` of the SEW block, the residual spikes ``A`` and the shortcut ``B``
            (default :func:`add`); the vanilla and MS blocks sum with it too, the plain block has none.
        neuron: builds each spiking neuron (default :func:`ms_lif`).
        bn2_gamma: BN2's initial :math:`\gamma` (default None: the family's own, :data:`BN2_GAMMA`); 0 gives
            every family MS's zero-:math:`\gamma` initialisation, for a comparison under one initialisation.

    Defined in chapter 06 (MS-ResNet), section "Three residual blocks, and the ablation that motivates MS".
    """

    def __init__(self, family: Family, in_channels: int, out_channels: int, stride: int = 1, *,
                 connect: Connect = add, neuron: Callable[[], nn.Module] = ms_lif,
                 bn2_gamma: Optional[float] = None):
        super().__init__()
        self.family = _check_family(family)
        if not callable(connect):
            raise TypeError(f"connect={connect!r} must be a function G(A, B) of two tensors")
        self.connect = connect
        self.spike1 = neuron()
        self.conv1 = _conv(in_channels, out_channels, 3, stride)
        self.bn1 = _bn(out_channels, 0.5)
        self.spike2 = neuron()
        self.conv2 = _conv(out_channels, out_channels, 3, 1)
        self.bn2 = _bn(out_channels, BN2_GAMMA[family] if bn2_gamma is None else float(bn2_gamma))
        self.downsample: Optional[nn.Sequential] = None
        if family != "plain" and (stride != 1 or in_channels != out_channels):
            parts: list[nn.Module] = [_conv(in_channels, out_channels, 1, stride), _bn(out_channels, SHORTCUT_GAMMA[family])]
            if family == "sew":
                parts.append(neuron())
            self.downsample = nn.Sequential(*parts)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The residual path: :math:`BN_2(C_2(SN(BN_1(C_1(SN(x))))))` (MS) or :math:`F(s)` (the others)."""
        if self.family == "ms":
            return self.bn2(self.conv2(self.spike2(self.bn1(self.conv1(self.spike1(x))))))
        return self.bn2(self.conv2(self.spike1(self.bn1(self.conv1(x)))))

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.downsample is None else self.downsample(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.residual(x)
        if self.family == "plain":
            return self.spike2(r)
        if self.family == "vanilla":
            return self.spike2(self.connect(r, self.shortcut(x)))
        if self.family == "sew":
            return self.connect(self.spike2(r), self.shortcut(x))
        return self.connect(r, self.shortcut(x))          # MS, and W/O LIF: no neuron after the sum

    def extra_repr(self) -> str:
        return f"family={self.family!r}, connect={getattr(self.connect, '__name__', self.connect)}"


class SpikingResNet(nn.Module):
    r"""The CIFAR spiking ResNet of depth :math:`6n + 2` for one ``family`` (see the module docstring).

    Stem :math:`BN(C(x))` (followed by a neuron except for MS), three stages of :math:`n` :class:`Block`
    with ``width``, ``2 width``, ``4 width`` channels (strides 1, 2, 2), then (MS only) a neuron, global
    average pooling and a linear layer.  ``forward`` takes ``[T, N, C, H, W]``, or ``[N, C, H, W]``
    repeated over ``T``, and returns logits ``[T, N, num_classes]``.

    Args:
        family: ``"plain"``, ``"vanilla"``, ``"sew"`` or ``"ms"``.
        depth: :math:`6n + 2` with :math:`n \ge 1` (8, 14, 20, 32, 56, 110, ...).
        width: channels of the stem and the first stage (16 in the paper's CIFAR networks).
        in_channels, num_classes: of the data.
        T: time steps for a static image.
        connect: the blocks' :math:`G(A, B)` (default :func:`add`).
        neuron: builds each neuron (default :func:`ms_lif`).
        bn2_gamma: every block's initial BN2 :math:`\gamma` (default None: the family's own; see :class:`Block`).

    Defined in chapter 06 (MS-ResNet), section "Firing patterns through a network".
    """

    def __init__(self, family: Family, depth: int = 20, width: int = 16, *, in_channels: int = 3,
                 num_classes: int = 10, T: int = 4, connect: Connect = add,
                 neuron: Callable[[], nn.Module] = ms_lif, bn2_gamma: Optional[float] = None):
        super().__init__()
        self.family = _check_family(family)
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth={depth!r}; expected 6n + 2 with n >= 1 (8, 14, 20, 32, 56, 110, ...)")
        for name, v in (("width", width), ("in_channels", in_channels), ("num_classes", num_classes), ("T", T)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}={v!r}; expected a positive integer")
        self.depth, self.width, self.T = depth, width, T
        n = (depth - 2) // 6
        ms = family == "ms"
        stem: list[nn.Module] = [_conv(in_channels, width, 3, 1), _bn(width, 0.5)]
        if not ms:
            stem.append(neuron())
        self.stem = nn.Sequential(*stem)
        stages, c_in = [], width
        for i, c in enumerate((width, 2 * width, 4 * width)):
            blocks = [Block(family, c_in if j == 0 else c, c, (1 if i == 0 else 2) if j == 0 else 1,
                            connect=connect, neuron=neuron, bn2_gamma=bn2_gamma) for j in range(n)]
            stages.append(nn.Sequential(*blocks))
            c_in = c
        self.stages = nn.ModuleList(stages)
        self.head_spike = neuron() if ms else nn.Identity()
        self.fc = nn.Linear(4 * width, num_classes)

    def _sequence(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"x must be a floating torch.Tensor, got {x!r:.60}")
        if x.dim() == 4:
            return x.unsqueeze(0).expand(self.T, *x.shape)
        if x.dim() == 5:
            return x
        raise ValueError(f"x has shape {tuple(x.shape)}; expected [N, C, H, W] or [T, N, C, H, W]")

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """The last neuron (MS only), global average pooling and the classifier: ``[T, N, classes]``."""
        return self.fc(self.head_spike(x).mean(dim=(-2, -1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(self._sequence(x))
        for stage in self.stages:
            x = stage(x)
        return self.head(x)

    def extra_repr(self) -> str:
        return f"family={self.family!r}, depth={self.depth}, width={self.width}, T={self.T}"


def stage_blocks(model: SpikingResNet, stage: int = 0) -> list[Block]:
    """The blocks of stage ``stage`` (0, 1 or 2) of ``model``."""
    if stage not in (0, 1, 2):
        raise ValueError(f"stage={stage!r}; expected 0, 1 or 2")
    return list(model.stages[stage])


def block_gradient_norms(model: SpikingResNet, x: torch.Tensor, *, stage: int = 0,
                         generator: Optional[torch.Generator] = None) -> list[float]:
    r"""Norms of the loss gradient at the input of each block of ``stage`` and at the stage's output.

    The loss is random and linear, :math:`L = \langle R, \text{logits} \rangle` with :math:`R \sim N(0, 1)`
    drawn from ``generator``; the model runs as it is (in training mode: BN uses the batch's
    statistics, as in the first step of training).  Returns :math:`n + 1` norms
    :math:`\|\partial L / \partial x^{l}\|` for :math:`l = 1 \dots n + 1`, the last at the output of the
    last block.  Stage 0 has no downsampling, so the first norm over the last is the stage's
    gradient-norm ratio (:func:`gradient_ratio`): 1 for a network of norm-preserving blocks.

    Defined in chapter 06 (MS-ResNet), section "What we found".
    """
    blocks = stage_blocks(model, stage)
    h = model.stem(model._sequence(x))
    for s in range(stage):
        h = model.stages[s](h)
    taps = []
    for b in blocks:
        h = h.detach().requires_grad_(True) if not taps else h
        h.retain_grad()
        taps.append(h)
        h = b(h)
    h.retain_grad()
    taps.append(h)
    for s in range(stage + 1, 3):
        h = model.stages[s](h)
    out = model.head(h)
    r = torch.randn(out.shape, generator=generator, dtype=out.dtype).to(out.device)
    (out * r).sum().backward()
    return [float(t.grad.double().norm()) for t in taps]


def gradient_ratio(family: Family, depth: int, *, width: int = 8, seeds: Sequence[int] = (0, 1, 2, 3, 4),
                   batch: int = 8, size: int = 8, T: int = 4, in_channels: int = 3,
                   x: Optional[torch.Tensor] = None, bn2_gamma: Optional[float] = None) -> dict[str, object]:
    r"""The gradient-norm ratio of stage 0 at initialisation, averaged over ``seeds``.

    For each seed: a fresh :class:`SpikingResNet` (``family``, ``depth``, ``width``, ``T``), a random input
    (``x``, else :math:`N(0, 1)` of shape ``[batch, in_channels, size, size]``) and a random linear loss;
    the ratio :math:`\|\partial L/\partial x^{1}\| / \|\partial L/\partial x^{n+1}\|` of the first block's
    input over the last block's output (:func:`block_gradient_norms`).  Returns ``ratio`` (the mean),
    ``std``, ``per_seed`` and ``norms`` (the per-block norms of each seed, each divided by its last).
    ``bn2_gamma``: every block's initial BN2 :math:`\gamma` (default: the family's own; 0: one initialisation
    for every family, MS's).  A network whose stage output receives no gradient (the plain network with
    :math:`\gamma = 0` is silent) gives a ratio of NaN.

    Defined in chapter 06 (MS-ResNet), section "Block dynamical isometry, measured".
    """
    ratios, norms = [], []
    for sd in seeds:
        g = torch.Generator().manual_seed(int(sd))
        torch.manual_seed(int(sd))
        model = SpikingResNet(family, depth, width, in_channels=in_channels if x is None else x.shape[-3], T=T,
                              bn2_gamma=bn2_gamma)
        inp = torch.randn(batch, in_channels, size, size, generator=g) if x is None else x
        n = block_gradient_norms(model, inp, generator=g)
        last = n[-1] if n[-1] > 0 else math.nan
        ratios.append(n[0] / last)
        norms.append([v / last for v in n])
    t = torch.tensor(ratios, dtype=torch.float64)
    return {"family": family, "depth": depth, "ratio": float(t.mean()),
            "std": float(t.std()) if len(ratios) > 1 else 0.0, "per_seed": ratios, "norms": norms}


def state_change_probability(sigma: float = 0.5, v_threshold: float = 0.5, rate: float = 0.5) -> float:
    r"""The probability that a residual path :math:`F \sim N(0, \sigma^2)` changes the firing state of a neuron
    that would otherwise copy its spike :math:`s` (membrane decay ignored, as in the paper):

    .. math::
        P = (1 - r)\, P(F \ge V_{th}) + r\, P(1 + F < V_{th})
          = (1 - r)\bigl(1 - \Phi(V_{th}/\sigma)\bigr) + r\,\Phi\bigl((V_{th} - 1)/\sigma\bigr),

    with :math:`r` the input's firing rate.  At :math:`\sigma = V_{th} = 0.5` both terms are
    :math:`1 - \Phi(1) = 15.87\%`, whatever the rate: the paper's "about 16%".

    Defined in chapter 06 (MS-ResNet), section "The state-change probability".
    """
    if not sigma > 0:
        raise ValueError(f"sigma={sigma!r}; expected a positive standard deviation")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate={rate!r}; expected a firing rate in [0, 1]")
    phi = lambda z: 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))  # noqa: E731
    return (1 - rate) * (1 - phi(v_threshold / sigma)) + rate * phi((v_threshold - 1) / sigma)


def jacobian_singular_values(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    r"""The singular values of the Jacobian :math:`\partial\, \mathrm{block}(x) / \partial x` of one block at
    ``x`` (``[T, N, C, H, W]``, small: the Jacobian has ``x.numel()`` squared entries), in float64,
    descending.  Dynamical isometry means they all sit near 1.

    Defined in chapter 06 (MS-ResNet), section "Block dynamical isometry, measured".
    """
    shape = x.shape
    f = lambda v: block(v.reshape(shape)).reshape(-1)  # noqa: E731
    J = torch.autograd.functional.jacobian(f, x.reshape(-1))
    return torch.linalg.svdvals(J.double())


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> float:
    r"""The structural similarity of two firing-rate maps, in the paper's global form:

    .. math::
        \mathrm{SSIM}(x, y) = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
                                   {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)},\quad
        C_1 = (0.01 L)^2,\ C_2 = (0.03 L)^2

    with :math:`L` = ``data_range``; means, variances and the covariance over all entries.  1 when
    ``x == y``.

    Defined in chapter 06 (MS-ResNet), section "Firing patterns between blocks".
    """
    if x.shape != y.shape:
        raise ValueError(f"x has shape {tuple(x.shape)} and y {tuple(y.shape)}; expected equal shapes")
    x, y = x.double().flatten(), y.double().flatten()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = x.mean(), y.mean()
    vx, vy = ((x - mx) ** 2).mean(), ((y - my) ** 2).mean()
    cxy = ((x - mx) * (y - my)).mean()
    return float((2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2)))


@torch.no_grad()
def firing_maps(model: SpikingResNet, x: torch.Tensor) -> list[torch.Tensor]:
    """What each block's first convolution receives, averaged over time and samples: one ``[C, H, W]``
    map per block, in order.  For the plain, vanilla and SEW blocks that is the block's input (spikes;
    SEW's sums can reach 2 and more); for the MS block, the spikes of its first neuron on the block's
    membrane-like input.  Each map is a firing rate per neuron, except W/O LIF's: with no neuron after the
    sum, its blocks' convolutions read the real-valued sums.

    Defined in chapter 06 (MS-ResNet), section "Firing patterns through a network".
    """
    maps: list[torch.Tensor] = []
    blocks = [b for stage in model.stages for b in stage]
    hooks = [b.conv1.register_forward_hook(lambda m, inp, out: maps.append(inp[0].mean(dim=(0, 1))))
             for b in blocks]
    try:
        model(x)
    finally:
        for hk in hooks:
            hk.remove()
    return maps


def ms_block_state_from_spikingjelly(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict of spikingjelly's ``ms_resnet._MSBlock`` for our MS :class:`Block`: the names are the
    same (``conv1``, ``bn1``, ``conv2``, ``bn2``, ``downsample.0``, ``downsample.1``); the neurons hold no
    parameters.  Returned as a new dict, so that a later rename has one place to go.

    Defined in chapter 06 (MS-ResNet), section "The same in spikingjelly".
    """
    return {k: v for k, v in state.items() if not k.startswith(("spike1", "spike2"))}
