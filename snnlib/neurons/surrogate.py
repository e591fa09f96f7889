r"""Surrogate gradients for the Heaviside spike, and the checks every neuron shares.

A spiking neuron fires :math:`S = \Theta(H - \theta)` with :math:`\Theta(x) = 1[x \ge 0]`.  The step has
no useful derivative, so the backward pass uses a surrogate :math:`\sigma'(x)`; the book's default is
spikingjelly's ``ATan(alpha=2)``:

.. math::
    \sigma'(x) = \frac{\alpha / 2}{1 + (\frac{\pi}{2} \alpha x)^2}.

The neurons of :mod:`snnlib.neurons` take spikingjelly's surrogate objects unchanged (they hold no
parameters, so state dicts are unaffected).  Their default is :class:`ATan`, a fused twin of
spikingjelly's ``ATan`` with the same forward pass and the same gradient arithmetic, which allocates one
temporary instead of five in the backward pass.  :func:`surrogate_grad` evaluates :math:`\sigma'` on a whole
tensor at once, which lets a serial neuron precompute it for every time step before its backward loop.
"""
from __future__ import annotations

import math
import sys
from typing import Callable

import torch

__all__ = [
    "ATan", "atan_spike", "spike", "default_surrogate", "surrogate_grad", "check_surrogate", "check_time_first",
    "FastSigmoid", "fast_sigmoid_spike", "LearnableATan", "Sigmoid", "Rect",
]


def default_surrogate() -> "ATan":
    """A fresh :class:`ATan` with ``alpha=2.0`` (fused; equal to spikingjelly's ``surrogate.ATan()``)."""
    return ATan(alpha=2.0)


def check_surrogate(surrogate_function: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Reject a surrogate whose forward pass is not the Heaviside step (``spiking=False``)."""
    if not callable(surrogate_function):
        raise TypeError(f"surrogate_function={surrogate_function!r} must be callable, e.g. surrogate.ATan()")
    if getattr(surrogate_function, "spiking", True) is not True:
        raise ValueError(
            f"surrogate_function={surrogate_function!r} has spiking=False, so its forward pass is not the "
            "Heaviside step; expected a spiking surrogate (spiking=True)"
        )


def surrogate_grad(
    surrogate_function: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> torch.Tensor:
    r"""The surrogate derivative :math:`\sigma'(x)`, elementwise, as a new tensor (``x`` untouched).

    For ATan (spikingjelly's or snnlib's) the closed form is used, with spikingjelly's arithmetic; any
    other surrogate is differentiated by autograd on a detached copy of ``x``.
    """
    return surrogate_grad_(surrogate_function, x.detach().clone())


def _is_atan(surrogate_function: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """snnlib's or spikingjelly's ATan.  spikingjelly is not imported for this: if it is not imported
    yet, no spikingjelly surrogate can exist."""
    if type(surrogate_function) is ATan:
        return True
    sj = sys.modules.get("spikingjelly.activation_based.surrogate")
    return sj is not None and type(surrogate_function) is getattr(sj, "ATan", None)


def _is_sigmoid(f) -> bool:
    """snnlib's :class:`Sigmoid`, or spikingjelly's ``surrogate.Sigmoid`` in spiking mode (not imported here)."""
    t = type(f)
    return t.__name__ == "Sigmoid" and (t.__module__ == __name__ or (
        t.__module__.startswith("spikingjelly.") and getattr(f, "spiking", False)))


def surrogate_grad_(surrogate_function: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """:func:`surrogate_grad` that may overwrite ``x`` (a temporary) with the result, to save memory."""
    if _is_atan(surrogate_function):
        a = surrogate_function.alpha / 2
        x.mul_(math.pi * a)  # ax = pi a x;  a / (1 + ax * ax)
        x.mul_(x).add_(1)
        return torch.div(torch.tensor(a, dtype=x.dtype, device=x.device), x, out=x)
    if _is_sigmoid(surrogate_function):
        alpha = float(surrogate_function.alpha)  # spikingjelly's arithmetic: (1 - s) s alpha, s = sigmoid(alpha x)
        s = x.mul_(alpha).sigmoid_()
        return torch.rsub(s, 1).mul_(s).mul_(alpha)
    with torch.enable_grad():
        z = x.detach().requires_grad_(True)
        y = surrogate_function(z)
        (g,) = torch.autograd.grad(y, z, torch.ones_like(y))
    return g


def check_time_first(x: torch.Tensor, name: str = "x_seq") -> None:
    """Raise unless ``x`` is a floating tensor laid out ``[T, N, *]`` (at least 2 dimensions, T >= 1)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [T, N, *], got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)} ({x.dim()} dimension(s)); expected at least 2 dimensions, "
            "time first: [T, N, *]"
        )
    if not x.is_floating_point():
        raise TypeError(f"{name} has dtype {x.dtype}; expected a floating dtype")
    if x.shape[0] == 0:
        raise ValueError(f"{name} has shape {tuple(x.shape)}: T = 0 time steps; expected T >= 1")


class _ATanSpike(torch.autograd.Function):
    """Heaviside forward, ATan surrogate backward; one temporary in the backward pass."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, alpha: float, threshold: float) -> torch.Tensor:
        ctx.save_for_backward(h)
        ctx.alpha, ctx.threshold = alpha, threshold
        out = torch.empty_like(h, memory_format=torch.contiguous_format)
        return torch.ge(h, threshold, out=out)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (h,) = ctx.saved_tensors
        a = ctx.alpha / 2
        # spikingjelly's arithmetic, in place: a / (1 + (pi a (h - threshold))^2) * grad
        t = torch.sub(h, ctx.threshold) if ctx.threshold != 0.0 else h.clone()
        t.mul_(math.pi * a)
        t.mul_(t).add_(1)
        torch.div(torch.tensor(a, dtype=t.dtype, device=t.device), t, out=t)
        return t.mul_(grad_output), None, None


def atan_spike(h: torch.Tensor, v_threshold: float = 0.0, alpha: float = 2.0) -> torch.Tensor:
    r"""Spikes :math:`\Theta(h - \theta)` with the ATan surrogate gradient, fused.

    Forward and gradient equal spikingjelly's ``ATan(alpha)(h - v_threshold)`` (same arithmetic); it
    allocates one tensor in each pass instead of five in the backward pass, which matters when
    ``h`` is large and memory-bound.

    Defined in chapter 02 (Parallel Spiking Unit), section "Exercises".
    """
    return _ATanSpike.apply(h, float(alpha), float(v_threshold))


class ATan(torch.nn.Module):
    r"""The ATan surrogate spike, :math:`\sigma'(x) = \frac{\alpha/2}{1 + (\frac{\pi}{2}\alpha x)^2}`, fused.

    A drop-in for spikingjelly's ``surrogate.ATan(alpha)`` in spiking mode: same forward, same
    gradient (to rounding), no parameters.  The default surrogate of every neuron in snnlib.

    Defined in chapter 00 (Foundations), section "Surrogate gradients".
    """

    spiking = True

    def __init__(self, alpha: float = 2.0):
        super().__init__()
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha={alpha!r} must be a positive real number")
        self.alpha = float(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ATanSpike.apply(x, self.alpha, 0.0)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, spiking=True"


class _FastSigmoidSpike(torch.autograd.Function):
    """Heaviside forward (``x > 0``), fast-sigmoid surrogate backward ``g / (scale |x| + 1)^2``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.scale = scale
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (x,) = ctx.saved_tensors
        d = x.abs().mul_(ctx.scale).add_(1)
        return grad_output / d.mul_(d), None


def fast_sigmoid_spike(x: torch.Tensor, scale: float = 100.0) -> torch.Tensor:
    r"""Spikes :math:`H(x) = 1[x > 0]` with the fast-sigmoid surrogate
    :math:`\partial S / \partial x = 1 / (\text{scale}\,|x| + 1)^2` (SuperSpike; ParaLIF's ``fastsig``).

    Defined in chapter 03 (ParaLIF), section "From scratch, then snnlib".
    """
    return _FastSigmoidSpike.apply(x, float(scale))


class FastSigmoid(torch.nn.Module):
    r"""The fast-sigmoid surrogate spike: forward :math:`H(x) = 1[x > 0]`, backward
    :math:`g / (\text{scale}\,|x| + 1)^2`, scale 100 by default (the ParaLIF code's ``fastsig``).

    spikingjelly's ``SoftSign(alpha)`` has the same shape with another height: its derivative is
    :math:`\alpha / (2 (1 + \alpha |x|)^2)`, so ours is ``2 / scale`` times ``SoftSign(alpha=scale)``'s
    (and its forward fires at ``x >= 0``, ours at ``x > 0``).  No parameters.

    Defined in chapter 03 (ParaLIF), section "From scratch, then snnlib".
    """

    spiking = True

    def __init__(self, scale: float = 100.0):
        super().__init__()
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise ValueError(f"scale={scale!r} must be a positive real number")
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _FastSigmoidSpike.apply(x, self.scale)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, spiking=True"


def spike(h: torch.Tensor, v_threshold: float, surrogate_function: Callable[[torch.Tensor], torch.Tensor]):
    """``surrogate_function(h - v_threshold)``, fused when it is snnlib's :class:`ATan`."""
    if type(surrogate_function) is ATan:
        return _ATanSpike.apply(h, surrogate_function.alpha, float(v_threshold))
    return surrogate_function(h - v_threshold if v_threshold != 0.0 else h)


class _LearnableATanSpike(torch.autograd.Function):
    """Heaviside forward (``h >= threshold``); ATan surrogate backward for ``h`` and for ``alpha``."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, alpha: torch.Tensor, threshold: float) -> torch.Tensor:
        ctx.save_for_backward(h, alpha)
        ctx.threshold = threshold
        out = torch.empty_like(h, memory_format=torch.contiguous_format)
        return torch.ge(h, threshold, out=out)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        h, alpha = ctx.saved_tensors
        x = torch.sub(h, ctx.threshold)
        a = float(alpha.detach())
        q = torch.mul(x, a * math.pi / 2).square_().add_(1)          # 1 + (pi/2 alpha x)^2
        torch.div(grad_output, q, out=q)                             # g / (1 + ...)
        ga = None
        if ctx.needs_input_grad[1]:  # sum of x/2 g / (1 + ...), accumulated in at least float32
            acc = torch.promote_types(x.dtype, torch.float32)
            ga = torch.sum(x.mul_(q), dtype=acc).div(2).to(alpha.dtype).reshape(alpha.shape)
        del x
        gx = q.mul_(a / 2) if ctx.needs_input_grad[0] else None
        return gx, ga, None


class LearnableATan(torch.nn.Module):
    r"""The ATan surrogate spike with a learnable width: ``alpha`` is a 0-dim Parameter.

    Forward :math:`\Theta(x)` (``x >= 0``); backward as :class:`ATan`,
    :math:`\partial S/\partial x = \frac{\alpha/2}{1 + (\frac{\pi}{2}\alpha x)^2}`, and for alpha the
    derivative of the same primitive :math:`g(x) = \frac{1}{\pi}\arctan(\frac{\pi}{2}\alpha x) + \frac12`:
    :math:`\partial S/\partial\alpha = \frac{x/2}{1 + (\frac{\pi}{2}\alpha x)^2}`, summed over the
    tensor (BrainCog's ``AtanGrad(requires_grad=True)``, which fires at ``x > 0``).  The default
    surrogate of the PSU family.

    Defined in chapter 02 (PSU), section "Background".
    """

    spiking = True

    def __init__(self, alpha: float = 2.0):
        super().__init__()
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha={alpha!r} must be a positive real number")
        self.alpha = torch.nn.Parameter(torch.tensor(float(alpha)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _LearnableATanSpike.apply(x, self.alpha, 0.0)

    def fire(self, h: torch.Tensor, v_threshold: float = 0.0) -> torch.Tensor:
        r"""Spikes :math:`\Theta(h - \theta)`, with the threshold fused into the surrogate."""
        return _LearnableATanSpike.apply(h, self.alpha, float(v_threshold))

    def extra_repr(self) -> str:
        return f"alpha={float(self.alpha.detach()):g} (learnable), spiking=True"


class _SigmoidSpike(torch.autograd.Function):
    """Heaviside forward (``x >= 0``), sigmoid surrogate backward ``alpha s (1 - s)``, ``s = sigmoid(alpha x)``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x * ctx.alpha)
        return grad_output * (1 - s) * s * ctx.alpha, None


class Sigmoid(torch.nn.Module):
    r"""The sigmoid surrogate spike: forward :math:`\Theta(x) = 1[x \ge 0]`, backward
    :math:`\sigma'(x) = \alpha\, s(\alpha x)(1 - s(\alpha x))` with :math:`s` the logistic function.

    A drop-in for spikingjelly's ``surrogate.Sigmoid(alpha)`` in spiking mode (its default, alpha = 4, is
    the surrogate of spikingjelly's ``LIFNode`` and of Spikformer).  No parameters.

    Defined in chapter 04 (Spikformer), section "04 · Spikformer: spiking self-attention without softmax".
    """

    spiking = True

    def __init__(self, alpha: float = 4.0):
        super().__init__()
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha={alpha!r} must be a positive real number")
        self.alpha = float(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SigmoidSpike.apply(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, spiking=True"


class _RectSpike(torch.autograd.Function):
    """Heaviside forward (``x >= 0``), rectangle surrogate backward ``alpha 1[|x| < 0.5 / alpha]``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (x,) = ctx.saved_tensors
        a = ctx.alpha
        return grad_output * (x.abs() < 0.5 / a).to(grad_output.dtype) * a, None


class Rect(torch.nn.Module):
    r"""The rectangle surrogate spike: forward :math:`\Theta(x) = 1[x \ge 0]`, backward
    :math:`\sigma'(x) = \alpha\, 1[|x| < \frac{0.5}{\alpha}]` (a window of width :math:`1/\alpha`, area 1).

    A drop-in for spikingjelly's ``surrogate.Rect(alpha)`` in spiking mode.  ``alpha = 1`` is MS-ResNet's
    paper and official code (gradient 1 on :math:`|u - 0.5| < 0.5`); spikingjelly's ``ms_resnet`` uses
    ``alpha = 2`` (gradient 2 on :math:`|u - 0.5| < 0.25`).  No parameters.

    Defined in chapter 06 (MS-ResNet), section "The same in spikingjelly".
    """

    spiking = True

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha={alpha!r} must be a positive real number")
        self.alpha = float(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _RectSpike.apply(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, spiking=True"
