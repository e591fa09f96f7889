r"""Surrogate gradients for the Heaviside spike, and the checks every neuron shares.

A spiking neuron fires :math:`S = \Theta(H - \theta)` with :math:`\Theta(x) = 1[x \ge 0]`.  The step has
no useful derivative, so the backward pass uses a surrogate :math:`\sigma'(x)`; the book's default is
spikingjelly's ``ATan(alpha=2)``:

.. math::
    \sigma'(x) = \frac{\alpha / 2}{1 + (\frac{\pi}{2} \alpha x)^2}.

The neurons of :mod:`snnlib.neurons` take spikingjelly's surrogate objects unchanged (they hold no
parameters, so state dicts are unaffected).  :func:`surrogate_grad` evaluates :math:`\sigma'` on a whole
tensor at once, which lets a serial neuron precompute it for every time step before its backward loop.

Defined in chapter 00 (Foundations), "Surrogate gradients".
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from spikingjelly.activation_based import surrogate as sj_surrogate

__all__ = ["default_surrogate", "surrogate_grad", "check_surrogate", "check_time_first"]


def default_surrogate() -> sj_surrogate.SurrogateFunctionBase:
    """A fresh spikingjelly ``ATan(alpha=2.0)``: the surrogate of every neuron in the book."""
    return sj_surrogate.ATan(alpha=2.0)


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
    r"""The surrogate derivative :math:`\sigma'(x)`, elementwise, without touching ``x``'s graph.

    For spikingjelly's ``ATan`` the closed form is used (the same arithmetic as spikingjelly's
    ``atan_backward``); any other surrogate is differentiated by autograd on a detached copy of ``x``.
    """
    if type(surrogate_function) is sj_surrogate.ATan:
        a = surrogate_function.alpha / 2
        ax = math.pi * a * x
        return a / (1 + ax * ax)
    with torch.enable_grad():
        z = x.detach().requires_grad_(True)
        y = surrogate_function(z)
        (g,) = torch.autograd.grad(y, z, torch.ones_like(y))
    return g


def check_time_first(x: torch.Tensor, name: str = "x_seq") -> None:
    """Raise unless ``x`` is a floating tensor laid out ``[T, N, *]`` (at least 2 dimensions)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [T, N, *], got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)} ({x.dim()} dimension(s)); expected at least 2 dimensions, "
            "time first: [T, N, *]"
        )
    if not x.is_floating_point():
        raise TypeError(f"{name} has dtype {x.dtype}; expected a floating dtype")
