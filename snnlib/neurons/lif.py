r"""The serial leaky integrate-and-fire neuron with reset: the baseline of every speed comparison.

Charge, fire, reset, one time step after another (spikingjelly's ``LIFNode``, same arithmetic):

.. math::
    H[t] &= V[t-1] + \frac{1}{\tau}\bigl(X[t] - (V[t-1] - V_{reset})\bigr)
            \quad\text{(decay\_input)},\qquad
    H[t] = V[t-1] - \frac{1}{\tau}(V[t-1] - V_{reset}) + X[t] \quad\text{(otherwise)} \\
    S[t] &= \Theta(H[t] - \theta) \\
    V[t] &= H[t]\,(1 - S[t]) + V_{reset}\,S[t] \quad\text{(hard reset)},\qquad
    V[t] = H[t] - \theta S[t] \quad\text{(soft reset, } V_{reset} = \texttt{None}\text{)}

with :math:`V[-1] = V_{reset}` (0 for the soft reset, which also charges towards 0).  The reset makes
:math:`V[t]` depend on :math:`S[t]`, so the time loop cannot be parallelised; that is what chapter 01
removes.

The multi-step forward is a fused loop without autograd; it keeps :math:`H` for the backward pass, which
runs the adjoint recurrence in reverse:

.. math::
    \frac{\partial L}{\partial H[t]} = \frac{\partial L}{\partial S[t]}\,\sigma'(H[t]-\theta)
        + \Bigl(1 - \frac{1}{\tau}\Bigr)\frac{\partial L}{\partial H[t+1]}\,\frac{\partial V[t]}{\partial H[t]}.

Paper: the LIF is textbook; the PSN paper (https://arxiv.org/abs/2304.12760) uses it as its baseline.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torch.nn as nn

from .surrogate import check_surrogate, check_time_first, default_surrogate, surrogate_grad_

__all__ = ["LIF", "lif_multi_step", "LIF_METHODS"]

#: how :class:`LIF` computes its T steps: the serial loop, or the fixed point (chapter 09)
LIF_METHODS = ("serial", "fixed_point")


def _charge(x: torch.Tensor, v: torch.Tensor, tau: float, decay_input: bool, v_rest: float) -> torch.Tensor:
    if decay_input:
        return v + (x - (v - v_rest)) / tau
    return v - (v - v_rest) / tau + x


class _LIFMultiStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_seq, tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function, store_v):
        # spikingjelly's arithmetic, op for op (so that potentials agree to the last bit), written into
        # preallocated outputs: a handful of [N, *] operations per step
        v_rest = 0.0 if v_reset is None else v_reset
        h_seq = torch.empty_like(x_seq, memory_format=torch.contiguous_format)
        spike_seq = torch.empty_like(h_seq)
        v_seq = torch.empty_like(h_seq) if store_v else None
        v = torch.full_like(h_seq[0], v_rest)
        for t in range(x_seq.shape[0]):
            d = v if v_rest == 0.0 else v - v_rest
            if decay_input:  # v + (x - (v - v_rest)) / tau
                torch.add(v, torch.sub(x_seq[t], d).div_(tau), out=h_seq[t])
            else:  # v - (v - v_rest) / tau + x
                torch.add(torch.sub(v, d / tau), x_seq[t], out=h_seq[t])
            h, s = h_seq[t], spike_seq[t]
            torch.ge(h, v_threshold, out=s)  # heaviside(h - v_threshold)
            if v_reset is None:  # h - s * v_threshold
                v = torch.sub(h, s, alpha=v_threshold)
            else:  # s * v_reset + (1 - s) * h, exactly, for s in {0, 1}
                v = torch.addcmul(h, s, h, value=-1.0)
                if v_reset != 0.0:
                    v.add_(s, alpha=v_reset)
            if store_v:
                v_seq[t] = v
        ctx.save_for_backward(h_seq, spike_seq)
        ctx.cfg = (tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function)
        ctx.mark_non_differentiable(h_seq)
        if store_v:
            ctx.mark_non_differentiable(v_seq)
        return spike_seq, h_seq, v_seq

    @staticmethod
    def backward(ctx, grad_spike, _grad_h, _grad_v):
        h_seq, spike_seq = ctx.saved_tensors
        tau, decay_input, v_threshold, v_reset, detach_reset, surrogate_function = ctx.cfg
        if grad_spike is None:
            return (None,) * 8
        sg = surrogate_grad_(surrogate_function, torch.sub(h_seq, v_threshold))
        # dV[t]/dH[t] through the reset, times dH[t+1]/dV[t] = 1 - 1/tau
        if v_reset is None:
            carry_gain = torch.ones_like(h_seq) if detach_reset else torch.mul(sg, -v_threshold).add_(1)
        else:  # (1 - S) + (v_reset - H) sigma'
            carry_gain = torch.ones_like(h_seq) if detach_reset else torch.sub(v_reset, h_seq).mul_(sg).add_(1)
            carry_gain.sub_(spike_seq)
        carry_gain.mul_(1 - 1 / tau)
        grad_h = sg.mul_(grad_spike)  # dL/dS sigma', then the adjoint recurrence in place
        for t in range(h_seq.shape[0] - 2, -1, -1):
            torch.addcmul(grad_h[t], grad_h[t + 1], carry_gain[t], out=grad_h[t])
        grad_x = grad_h.div_(tau) if decay_input else grad_h
        return grad_x, None, None, None, None, None, None, None


def _check_lif_args(tau: float, v_threshold: float, v_reset: Optional[float]) -> float:
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not tau > 1.0:
        raise ValueError(f"tau={tau!r} must be a real number > 1 (the decay per step is 1 - 1/tau)")
    if isinstance(v_threshold, bool) or not isinstance(v_threshold, (int, float)):
        raise TypeError(f"v_threshold={v_threshold!r} must be a real number")
    if not math.isfinite(v_threshold):
        raise ValueError(f"v_threshold={v_threshold!r} must be a finite real number (a NaN or inf threshold "
                         "never lets the neuron fire, or always)")
    if v_reset is not None and (isinstance(v_reset, bool) or not isinstance(v_reset, (int, float))):
        raise TypeError(f"v_reset={v_reset!r} must be a real number, or None for a soft reset")
    if v_reset is not None and not math.isfinite(v_reset):
        raise ValueError(f"v_reset={v_reset!r} must be a finite real number, or None for a soft reset")
    if tau == math.inf:
        raise ValueError(f"tau={tau!r} must be a finite real number > 1 (the decay per step is 1 - 1/tau)")
    return float(tau)


def lif_multi_step(
    x_seq: torch.Tensor,
    tau: float = 2.0,
    v_threshold: float = 1.0,
    v_reset: Optional[float] = 0.0,
    decay_input: bool = True,
    surrogate_function: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    detach_reset: bool = False,
    store_v_seq: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """Run the serial LIF over ``x_seq`` (``[T, N, *]``) from rest.

    Returns ``(spike_seq, h_seq, v_seq)``: the spikes (differentiable through the surrogate), the
    pre-spike potentials ``H`` and, with ``store_v_seq``, the post-reset potentials ``V`` (else ``None``).
    ``h_seq`` and ``v_seq`` are records, detached from the graph.
    """
    check_time_first(x_seq)
    tau = _check_lif_args(tau, v_threshold, v_reset)
    if surrogate_function is None:
        surrogate_function = default_surrogate()
    check_surrogate(surrogate_function)
    v_reset = None if v_reset is None else float(v_reset)
    return _LIFMultiStep.apply(
        x_seq, tau, bool(decay_input), float(v_threshold), v_reset, bool(detach_reset), surrogate_function,
        bool(store_v_seq),
    )


class LIF(nn.Module):
    r"""The leaky integrate-and-fire neuron with reset (equal to spikingjelly's ``LIFNode``).

    .. math::
        H[t] = V[t-1] + \tfrac{1}{\tau}(X[t] - (V[t-1] - V_{reset})),\quad
        S[t] = \Theta(H[t] - \theta),\quad
        V[t] = \begin{cases} H[t](1 - S[t]) + V_{reset} S[t] & \text{hard reset} \\
                             H[t] - \theta S[t] & \text{soft reset (} V_{reset}=\texttt{None}\text{)} \end{cases}

    ``forward(x_seq)`` takes ``[T, N, *]`` and runs all T steps from rest; it neither reads nor changes
    the streaming state.  ``step(x_t)`` takes one ``[N, *]`` step and carries ``self.v`` between calls
    until ``reset()``.  With ``store_v_seq=True`` the last ``forward`` leaves ``self.h_seq`` (pre-spike)
    and ``self.v_seq`` (post-reset), both ``[T, N, *]`` and detached.

    Args:
        tau: membrane time constant, > 1.
        v_threshold: firing threshold :math:`\theta`.
        v_reset: reset potential for a hard reset, or ``None`` for a soft reset (subtract :math:`\theta`).
        decay_input: whether the input is scaled by :math:`1/\tau` too.
        surrogate_function: a spiking surrogate; default spikingjelly ``ATan(alpha=2)``.
        detach_reset: stop the gradient through the reset.
        store_v_seq: keep ``h_seq`` and ``v_seq`` of the last forward.
        method: ``"serial"`` (the loop, default) or ``"fixed_point"``: the same spikes computed in parallel
            over time as the fixed point of one scan and one threshold
            (:func:`snnlib.neurons.fixed_point_lif`, chapter 09), trained with the same surrogate BPTT (or see
            ``fixed_point_grad``); the last ``forward`` leaves its number of iterations (passes; at most T + 1
            without chunks) in ``self.iterations``.
        fixed_point_chunk: with ``method="fixed_point"``, solve time in chunks of this many steps, one after
            another (``None``, the default: one chunk of T; 1 is the serial loop); ``iterations`` is then
            the sum over the chunks.
        fixed_point_active: with ``method="fixed_point"``, recompute in each pass only the neurons still
            changing, from the step after the earliest first change (default ``True``; ``False``: whole
            passes).
            The spikes and potentials are the same either way, bit for bit.
        fixed_point_grad: with ``method="fixed_point"``, ``"bptt"`` (default: the serial LIF's surrogate
            BPTT) or ``"last_step"`` (through the last fixed-point update only, a parallel scan; the
            gradient of the serial BPTT with ``detach_reset=True``).  See
            :func:`snnlib.neurons.fixed_point_lif` for the equations.

    Defined in chapter 00 (Foundations), section "Why the reset makes the neuron serial".
    """

    def __init__(
        self,
        tau: float = 2.0,
        v_threshold: float = 1.0,
        v_reset: Optional[float] = 0.0,
        decay_input: bool = True,
        surrogate_function: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
        detach_reset: bool = False,
        store_v_seq: bool = False,
        method: str = "serial",
        fixed_point_chunk: Optional[int] = None,
        fixed_point_active: bool = True,
        fixed_point_grad: str = "bptt",
    ):
        super().__init__()
        if method not in LIF_METHODS:
            raise ValueError(f"method={method!r}; expected one of {', '.join(LIF_METHODS)}")
        if method != "fixed_point":
            for name, value, default in (("fixed_point_chunk", fixed_point_chunk, None),
                                         ("fixed_point_active", fixed_point_active, True),
                                         ("fixed_point_grad", fixed_point_grad, "bptt")):
                if value != default:
                    raise ValueError(f"{name}={value!r} goes with method='fixed_point', not method={method!r}")
        else:
            from .fixed_point import _check_form

            _check_form(fixed_point_chunk, fixed_point_active, fixed_point_grad, "fixed_point_")
        self.method = method
        self.fixed_point_chunk = fixed_point_chunk
        self.fixed_point_active = fixed_point_active
        self.fixed_point_grad = fixed_point_grad
        self.iterations: Optional[int] = None
        self.tau = _check_lif_args(tau, v_threshold, v_reset)
        self.v_threshold = float(v_threshold)
        self.v_reset = None if v_reset is None else float(v_reset)
        self.decay_input = bool(decay_input)
        self.surrogate_function = default_surrogate() if surrogate_function is None else surrogate_function
        check_surrogate(self.surrogate_function)
        self.detach_reset = bool(detach_reset)
        self.store_v_seq = bool(store_v_seq)
        self.v: Optional[torch.Tensor] = None
        self.h_seq: Optional[torch.Tensor] = None
        self.v_seq: Optional[torch.Tensor] = None

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]`` for the input ``x_seq`` (``[T, N, *]``), starting from rest."""
        if self.method == "fixed_point":
            from .fixed_point import fixed_point_lif

            spike_seq, h_seq, self.iterations = fixed_point_lif(
                x_seq, self.tau, self.v_threshold, self.v_reset, self.decay_input, self.surrogate_function,
                self.detach_reset, active_set=self.fixed_point_active, chunk=self.fixed_point_chunk,
                grad=self.fixed_point_grad)
            if self.store_v_seq:
                s = spike_seq.detach()
                self.h_seq = h_seq
                self.v_seq = (h_seq - self.v_threshold * s if self.v_reset is None
                              else h_seq * (1 - s) + self.v_reset * s)
            return spike_seq
        spike_seq, h_seq, v_seq = lif_multi_step(
            x_seq, self.tau, self.v_threshold, self.v_reset, self.decay_input, self.surrogate_function,
            self.detach_reset, self.store_v_seq,
        )
        if self.store_v_seq:
            self.h_seq, self.v_seq = h_seq, v_seq
        return spike_seq

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """One time step: ``x`` is ``[N, *]``; returns the spikes ``[N, *]`` and updates ``self.v``."""
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"x must be a floating torch.Tensor of shape [N, *], got {x!r:.60}")
        v_rest = 0.0 if self.v_reset is None else self.v_reset
        if self.v is None:
            self.v = torch.full_like(x, v_rest)
        elif self.v.shape != x.shape:
            raise ValueError(
                f"x has shape {tuple(x.shape)} but the state v has shape {tuple(self.v.shape)}; "
                "call reset() before feeding a differently shaped stream"
            )
        h = _charge(x, self.v, self.tau, self.decay_input, v_rest)
        spike = self.surrogate_function(h - self.v_threshold)
        reset_spike = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            self.v = h - reset_spike * self.v_threshold
        else:
            self.v = reset_spike * self.v_reset + (1 - reset_spike) * h
        return spike

    def reset(self) -> None:
        """Forget the streaming state (``self.v``) and the stored sequences."""
        self.v = None
        self.h_seq = None
        self.v_seq = None

    def extra_repr(self) -> str:
        return (
            f"tau={self.tau}, v_threshold={self.v_threshold}, v_reset={self.v_reset}, "
            f"decay_input={self.decay_input}, detach_reset={self.detach_reset}"
            + (f", method={self.method!r}" if self.method != "serial" else "")
            + (f", fixed_point_chunk={self.fixed_point_chunk}" if self.fixed_point_chunk is not None else "")
            + (", fixed_point_active=False" if not self.fixed_point_active else "")
            + (f", fixed_point_grad={self.fixed_point_grad!r}" if self.fixed_point_grad != "bptt" else "")
        )
