r"""Other libraries' neurons, mapped onto snnlib's: snntorch's ``StateLeaky``.

snntorch 1.0's ``StateLeaky(beta, channels)`` is a reset-free leaky neuron computed in parallel, as a
causal depthwise ``conv1d`` of the input with the kernel :math:`h[n] = e^{-n/\tau}`, where
:math:`\tau = 1/(1 - \beta_{\rm snt})` (``snntorch/_neurons/stateleaky.py``: ``tau = 1 / (1 - beta +
1e-12)``, ``exp(-time_steps / tau)``), and no factor on the input:

.. math::
    m[t] = \sum_{s \le t} e^{-(t-s)/\tau} x[s] = \sum_{s \le t} \bigl(e^{-(1-\beta_{\rm snt})}\bigr)^{t-s} x[s].

That is :func:`snnlib.neurons.leaky_integrate` with ``scale_input=False`` and the decay

.. math::
    \beta = e^{-(1-\beta_{\rm snt})}, \qquad \beta_{\rm snt} = 1 + \ln\beta,

so the two decays share a name but not a value: ``StateLeaky(beta=0.5)`` forgets as our
:math:`\beta = e^{-1/2} \approx 0.607`, and our :math:`\beta = 0.5` (``tau = 2``) is
``StateLeaky(beta=1 + ln 0.5)`` :math:`\approx 0.307`.  With ``scale_input=True`` (our default, as
spikingjelly's ``decay_input``) our potential is :math:`(1-\beta)` times snntorch's, so a threshold
:math:`\theta` of ours is :math:`\theta / (1-\beta)` there.  (snntorch's :math:`10^{-12}` changes the
decay by that relative amount: below float64 rounding for any T a chapter uses.)

snntorch is optional (the ``peers`` extra); :func:`state_leaky_class` imports it when asked.

Defined in chapter 01 (Parallel Spiking Neurons), section "The same in snntorch".
"""
from __future__ import annotations

import math
from typing import Union

import torch

__all__ = ["beta_from_snntorch", "beta_to_snntorch", "state_leaky_class"]

Beta = Union[float, torch.Tensor]


def beta_from_snntorch(beta_snt: Beta) -> Beta:
    r"""Our decay per step for snntorch's ``StateLeaky(beta=beta_snt)``: :math:`\beta = e^{-(1-\beta_{\rm snt})}`.

    ``beta_snt`` is a float or a tensor (one per channel) below 1 (snntorch's :math:`\tau =
    1/(1-\beta_{\rm snt})` must be positive); the result, in (0, 1), has the same form.  The membrane
    ``StateLeaky(beta_snt, channels, output=False)(x)`` is ``leaky_integrate(x, beta_from_snntorch(beta_snt),
    scale_input=False)``.

    Defined in chapter 01 (Parallel Spiking Neurons), section "The same in snntorch".
    """
    if isinstance(beta_snt, torch.Tensor):
        with torch.no_grad():
            hi = float(beta_snt.max()) if beta_snt.numel() else 0.0
        if not hi < 1.0:
            raise ValueError(f"beta_snt has a value {hi:.6g}; expected every value < 1 (tau = 1/(1 - beta) > 0)")
        return torch.exp(beta_snt - 1.0)
    if isinstance(beta_snt, bool) or not isinstance(beta_snt, (int, float)):
        raise TypeError(f"beta_snt={beta_snt!r} must be a float or a tensor")
    if not beta_snt < 1.0:
        raise ValueError(f"beta_snt={beta_snt!r}; expected < 1 (snntorch's tau = 1/(1 - beta) must be > 0)")
    return math.exp(float(beta_snt) - 1.0)


def beta_to_snntorch(beta: Beta) -> Beta:
    r"""snntorch's ``StateLeaky`` beta for our decay ``beta`` in (0, 1): :math:`\beta_{\rm snt} = 1 + \ln\beta`.

    The inverse of :func:`beta_from_snntorch`.

    Defined in chapter 01 (Parallel Spiking Neurons), section "The same in snntorch".
    """
    if isinstance(beta, torch.Tensor):
        with torch.no_grad():
            lo, hi = (float(beta.min()), float(beta.max())) if beta.numel() else (0.5, 0.5)
        if not (0.0 < lo and hi < 1.0):
            raise ValueError(f"beta has values in [{lo:.6g}, {hi:.6g}]; expected 0 < beta < 1")
        return 1.0 + torch.log(beta)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)):
        raise TypeError(f"beta={beta!r} must be a float in (0, 1) or a tensor")
    if not 0.0 < beta < 1.0:
        raise ValueError(f"beta={beta!r} is outside (0, 1); expected 0 < beta < 1")
    return 1.0 + math.log(float(beta))


def state_leaky_class() -> type:
    """snntorch's ``StateLeaky``; ``ImportError`` naming the extra when snntorch (>= 1.0) is missing."""
    try:
        from snntorch import StateLeaky
    except ImportError as e:
        raise ImportError(
            "snntorch's StateLeaky needs snntorch >= 1.0: pip install 'snnlib[peers]' (or snntorch)"
        ) from e
    return StateLeaky
