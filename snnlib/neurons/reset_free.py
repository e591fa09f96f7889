r"""The LIF without its reset: a serial recurrence that is also a PSN with a fixed weight.

Drop the reset from the LIF (chapter 00) and the potential never depends on the spikes:

.. math::
    H[t] = \Bigl(1 - \frac{1}{\tau}\Bigr) H[t-1] + \frac{1}{\tau} X[t], \qquad H[-1] = 0, \qquad
    S[t] = \Theta(H[t] - \theta)

(``decay_input=False`` drops the :math:`1/\tau` on the input).  Unrolled, :math:`H = W X` with the
fixed lower-triangular

.. math::
    W[t, i] = \frac{1}{\tau}\Bigl(1 - \frac{1}{\tau}\Bigr)^{t-i} \quad (i \le t), \qquad 0 \text{ otherwise},

which is a PSN whose weight is not learned.  :class:`ResetFreeLIF` computes :math:`H` three ways --
:meth:`~ResetFreeLIF.charge_serial` (the loop), :meth:`~ResetFreeLIF.charge_psn` (:math:`WX`) and
:meth:`~ResetFreeLIF.charge` (:func:`~snnlib.neurons.leaky_integrate`, the fast one) -- so the
chapter can show that they agree.

Paper: https://arxiv.org/abs/2304.12760, section 3.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn as nn

from .integrate import METHODS, leaky_integrate
from .surrogate import check_surrogate, check_time_first, default_surrogate, spike

__all__ = ["ResetFreeLIF"]


class ResetFreeLIF(nn.Module):
    r"""The reset-free LIF: :math:`H = W X` with :math:`W[t,i] = \frac{1}{\tau}(1-\frac{1}{\tau})^{t-i}`,
    :math:`S = \Theta(H - \theta)`.  Input and output ``[T, N, *]``; causal, so it streams with ``step``.

    Args:
        tau: membrane time constant, > 1 (decay :math:`\beta = 1 - 1/\tau`).
        v_threshold: firing threshold :math:`\theta`.
        decay_input: scale the input by :math:`1/\tau` (as spikingjelly's ``LIFNode``).
        surrogate_function: a spiking surrogate; default :class:`~snnlib.neurons.ATan` (alpha 2).
        method: the :func:`~snnlib.neurons.leaky_integrate` method of :meth:`charge`.

    Defined in chapter 01 (Parallel Spiking Neurons), section "Removing the reset".
    """

    def __init__(
        self,
        tau: float = 2.0,
        v_threshold: float = 1.0,
        decay_input: bool = True,
        surrogate_function: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
        method: str = "auto",
    ):
        super().__init__()
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not tau > 1.0:
            raise ValueError(f"tau={tau!r} must be a real number > 1 (the decay per step is 1 - 1/tau)")
        if method not in METHODS:
            raise ValueError(f"method={method!r} is not a method; expected one of {', '.join(map(repr, METHODS))}")
        self.tau = float(tau)
        self.v_threshold = float(v_threshold)
        self.decay_input = bool(decay_input)
        self.method = method
        self.surrogate_function = default_surrogate() if surrogate_function is None else surrogate_function
        check_surrogate(self.surrogate_function)
        self.v: Optional[torch.Tensor] = None

    @property
    def beta(self) -> float:
        """The decay per step, :math:`1 - 1/\\tau`."""
        return 1.0 - 1.0 / self.tau

    def toeplitz_weight(self, T: int, dtype: torch.dtype = torch.float32,
                        device: Optional[torch.device | str] = None) -> torch.Tensor:
        """The fixed PSN weight ``[T, T]``: :math:`W[t, i] = c\\,\\beta^{t-i}` for i <= t, c = 1/tau or 1."""
        idx = torch.arange(T, device=device)
        lag = idx[:, None] - idx[None, :]
        f64 = torch.float64  # the powers of beta in float64, rounded once to dtype
        w = torch.pow(torch.tensor(self.beta, dtype=f64, device=device), lag.clamp(min=0).to(f64))
        w = torch.where(lag >= 0, w, torch.zeros((), dtype=f64, device=device))
        return (w / self.tau if self.decay_input else w).to(dtype)

    def weight(self, T: int, dtype: torch.dtype = torch.float32,
               device: Optional[torch.device | str] = None) -> torch.Tensor:
        """Deprecated name of :meth:`toeplitz_weight` (kept while chapter 01 calls it)."""
        return self.toeplitz_weight(T, dtype, device)

    def charge_serial(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``H`` by the loop, :math:`H[t] = H[t-1] + (X[t] - H[t-1])/\\tau`: slow and obviously right."""
        check_time_first(x_seq)
        h = torch.zeros_like(x_seq[0])
        out = []
        for x_t in x_seq:
            h = h + (x_t - h) / self.tau if self.decay_input else h - h / self.tau + x_t
            out.append(h)
        return torch.stack(out)

    def charge_psn(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``H = W X`` with the fixed weight: the same neuron written as a PSN (no bias)."""
        check_time_first(x_seq)
        W = self.toeplitz_weight(x_seq.shape[0], x_seq.dtype, x_seq.device)
        return torch.mm(W, x_seq.flatten(1)).view(x_seq.shape)

    def charge(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``H`` by :func:`~snnlib.neurons.leaky_integrate` (``self.method``): the fast way."""
        check_time_first(x_seq)
        return leaky_integrate(x_seq, self.beta, scale_input=self.decay_input, method=self.method)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]``."""
        return spike(self.charge(x_seq), self.v_threshold, self.surrogate_function)

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """One step: ``x`` is ``[N, *]``; carries ``self.v`` until ``reset()``."""
        if self.v is None:
            self.v = torch.zeros_like(x)
        elif self.v.shape != x.shape:
            raise ValueError(
                f"x has shape {tuple(x.shape)} but the state v has shape {tuple(self.v.shape)}; call reset() first"
            )
        v = self.v
        self.v = v + (x - v) / self.tau if self.decay_input else v - v / self.tau + x
        return spike(self.v, self.v_threshold, self.surrogate_function)

    def reset(self) -> None:
        """Forget the streaming state."""
        self.v = None

    def extra_repr(self) -> str:
        return (f"tau={self.tau}, v_threshold={self.v_threshold}, decay_input={self.decay_input}, "
                f"method={self.method!r}")
