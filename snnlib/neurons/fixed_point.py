r"""The LIF with its reset, computed in parallel over time: the reset as a fixed point (chapter 09).

Write :math:`\beta = 1 - 1/\tau`, the drive :math:`D[t] = X[t]/\tau` (``decay_input``) or :math:`X[t]`, and
measure potentials from the rest level :math:`v_r` (:math:`V_{reset}`, or 0 for the soft reset):
:math:`h = H - v_r`.  Given the spikes :math:`S`, the serial LIF of :mod:`snnlib.neurons.lif` is *linear*:

.. math::
    \text{soft reset:}\quad h[t] &= \beta\,h[t-1] + D[t] - \beta\theta S[t-1]
        \quad\text{(a scan with a constant coefficient)} \\
    \text{hard reset:}\quad h[t] &= \beta\,(1 - S[t-1])\,h[t-1] + D[t]
        = U[t] - \beta^{t-s}\,U[s]\ \ (s < t \text{ the last spike; } h = U \text{ without one})

with :math:`U` the reset-free integral of :math:`D` (one scan; the last spike index is a running maximum,
``cummax``, of :math:`t\,S[t]`).  The spikes are :math:`S = \Theta(h + v_r - \theta)`, elementwise.  So the
serial LIF is the fixed point of :math:`F(S) = \Theta(h_S + v_r - \theta)`, one scan and one threshold.

Because :math:`h_S[t]` depends on :math:`S[0..t-1]` only, iterating from :math:`S^0 = 0` makes
:math:`S^k` exact on steps :math:`0..k-1`: at most :math:`T` iterations reach the serial spikes, and one
more confirms them (:math:`T + 1` in all).  :func:`fixed_point_lif` iterates until nothing changes and
returns the number of iterations, the confirming one included.

Gradients.  The forward equals the serial LIF's, so the backward is the serial LIF's surrogate BPTT (the
adjoint recurrence of :mod:`snnlib.neurons.lif`, run on the fixed point's :math:`H` and :math:`S`): the
fixed-point form trains exactly as the serial LIF does, and only its forward is parallel.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch

from .integrate import leaky_integrate
from .lif import _LIFMultiStep, _check_lif_args
from .surrogate import check_surrogate, check_time_first, default_surrogate

__all__ = ["fixed_point_lif", "fixed_point_potential", "psu_as_one_step", "FPT"]


def _drive(x_seq: torch.Tensor, tau: float, decay_input: bool) -> torch.Tensor:
    return x_seq / tau if decay_input else x_seq


def fixed_point_potential(x_seq: torch.Tensor, spikes: torch.Tensor, tau: float = 2.0,
                          v_reset: Optional[float] = 0.0, v_threshold: float = 1.0, decay_input: bool = True,
                          method: str = "auto") -> torch.Tensor:
    r"""The pre-spike potential :math:`H` of the LIF driven by ``x_seq`` when its spikes are ``spikes``
    (both ``[T, N, *]``): one scan, linear in the input (see the module's equations).

    With the serial LIF's own spikes this is the serial LIF's :math:`H`, up to rounding.
    """
    beta = 1.0 - 1.0 / tau
    d = _drive(x_seq, tau, decay_input)
    s = spikes.to(d.dtype)
    prev = torch.cat([torch.zeros_like(s[:1]), s[:-1]])  # S[t-1], with S[-1] = 0
    if v_reset is None:  # soft: a scan of D - beta theta S[t-1]
        return leaky_integrate(d - (beta * v_threshold) * prev, beta, scale_input=False, method=method)
    u = leaky_integrate(d, beta, scale_input=False, method=method)
    T = x_seq.shape[0]
    t = torch.arange(T, device=x_seq.device).view(T, *([1] * (x_seq.dim() - 1)))
    marked = torch.where(prev > 0, t - 1, torch.full_like(t, -1)).expand_as(u)  # a spike at t-1 marks t-1
    last = torch.cummax(marked, dim=0).values                                 # the last spike before t
    u_last = torch.gather(u, 0, last.clamp(min=0))
    decay = torch.pow(torch.tensor(beta, dtype=torch.float64, device=u.device), (t - last).to(torch.float64))
    h = u - torch.where(last >= 0, decay.to(u.dtype) * u_last, torch.zeros_like(u))
    return h + v_reset


def _iterate(x_seq: torch.Tensor, tau: float, v_threshold: float, v_reset: Optional[float], decay_input: bool,
             max_iterations: int, method: str) -> tuple[torch.Tensor, torch.Tensor, int]:
    s = torch.zeros_like(x_seq)
    for k in range(1, max_iterations + 1):
        h = fixed_point_potential(x_seq, s, tau, v_reset, v_threshold, decay_input, method)
        s_new = (h >= v_threshold).to(x_seq.dtype)
        if torch.equal(s_new, s):
            return s, h, k
        s = s_new
    raise RuntimeError(f"the fixed point did not converge in {max_iterations} iterations (T = {x_seq.shape[0]});"
                       " it must within T + 1: is the input finite?")


def fixed_point_lif(x_seq: torch.Tensor, tau: float = 2.0, v_threshold: float = 1.0,
                    v_reset: Optional[float] = 0.0, decay_input: bool = True,
                    surrogate_function: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
                    detach_reset: bool = False, method: str = "auto"
                    ) -> tuple[torch.Tensor, torch.Tensor, int]:
    r"""The serial LIF's spikes, computed as a fixed point: ``(spike_seq, h_seq, iterations)``.

    ``spike_seq`` equals :func:`snnlib.neurons.lif_multi_step`'s (and backpropagates through the same
    surrogate BPTT); ``h_seq`` is the pre-spike potential (detached); ``iterations`` counts the passes
    of one scan and one threshold, the last (confirming) pass included, at most :math:`T + 1`.
    Arguments as :class:`snnlib.neurons.LIF`; ``method``: the scan's method (:func:`leaky_integrate`).
    """
    check_time_first(x_seq)
    tau = _check_lif_args(tau, v_threshold, v_reset)
    if surrogate_function is None:
        surrogate_function = default_surrogate()
    check_surrogate(surrogate_function)
    if not bool(torch.isfinite(x_seq).all()):
        raise ValueError("x_seq holds NaN or inf; the fixed point is defined for finite input "
                         "(use the serial LIF, method='serial', to propagate non-finite values causally)")
    v_reset = None if v_reset is None else float(v_reset)
    with torch.no_grad():
        s, h, k = _iterate(x_seq.detach(), tau, float(v_threshold), v_reset, bool(decay_input),
                           x_seq.shape[0] + 1, method)
    spikes = _FixedPointLIF.apply(x_seq, s, h, (tau, bool(decay_input), float(v_threshold), v_reset,
                                                bool(detach_reset), surrogate_function))
    return spikes, h, k


class _FixedPointLIF(torch.autograd.Function):
    """Spikes from the fixed point; the backward is the serial LIF's adjoint recurrence on the same H, S."""

    @staticmethod
    def forward(ctx, x_seq, spikes, h_seq, cfg):
        ctx.save_for_backward(h_seq, spikes)
        ctx.cfg = cfg
        return spikes.clone()

    @staticmethod
    def backward(ctx, grad_spike):
        grad_x = _LIFMultiStep.backward(ctx, grad_spike, None, None)[0]
        return grad_x, None, None, None


def psu_as_one_step(x_seq: torch.Tensor, tau: float = 2.0, v_threshold: float = 1.0,
                    relax: Optional[Callable[[torch.Tensor], torch.Tensor]] = None) -> torch.Tensor:
    r"""One fixed-point update of the soft-reset LIF (``decay_input``), started from the reset-free potential,
    with the spike relaxed: :math:`h^1 = \mathrm{scan}(D - \beta\theta\,\rho(h^0)[t-1])`, :math:`h^0 = U`.

    With ``relax = torch.sigmoid`` (the default: slope 1, no threshold shift) this is the PSU's membrane
    :math:`AX + \theta B\sigma(AX)` of chapter 02 at the same tau; FPT's first step relaxes the spike as
    :math:`\sigma(\alpha(h - \theta))` instead.
    """
    relax = torch.sigmoid if relax is None else relax
    beta = 1.0 - 1.0 / tau
    d = x_seq / tau
    h0 = leaky_integrate(d, beta, scale_input=False)
    r = relax(h0)
    prev = torch.cat([torch.zeros_like(r[:1]), r[:-1]])
    return leaky_integrate(d - beta * v_threshold * prev, beta, scale_input=False)


class FPT(torch.nn.Module):
    r"""Fixed-point parallel training (FPT, Feng et al., ICML 2025): K relaxed updates of the soft-reset LIF.

    Start from the reset-free potential :math:`h^0 = U` (one scan), relax the spike as
    :math:`s_0 = \sigma(\alpha_0 (h^0 - \theta))`, then update K times,
    :math:`h^k = U - \beta\theta\,(\mathrm{scan}\ s_{k-1})[t-1]` (the soft reset, given relaxed spikes) and
    :math:`s_k = \sigma(\alpha_k (h^k - \theta))`, with the slope :math:`\alpha_k` sharpening.  The released
    code (``WanjinVon/FPT``) writes the same update with a dense :math:`\Lambda_{ij} = \lambda^{i-j}` as
    :math:`\Lambda(x - s) + s - \theta` (:math:`\lambda = 0.5`, ``decay_input=False``), does K = 2 updates
    (3 sigmoids) with slopes 6, 18, 36 (learnable base) or 1, 3, 12, and Bernoulli-samples the output
    with a straight-through gradient.

    Output spikes: ``sample=False`` (the book's default) fires deterministically, :math:`\Theta(h^K - \theta)`,
    with the last sigmoid's gradient (straight-through), so that its spikes can be compared with the exact
    LIF's; ``sample=True`` draws them as the released code does.  Work :math:`O(K)` scans; depth :math:`O(K)`.

    Args:
        K: updates after the first relaxed spike (the released code: 2).
        alphas: the K + 1 slopes (default 6, 18, 36, ... : 6 x (1, 3, 6, 12, 12, ...)).
        tau, v_threshold, decay_input: as :class:`snnlib.neurons.LIF` (soft reset).
    """

    def __init__(self, K: int = 2, alphas: Optional[tuple[float, ...]] = None, tau: float = 2.0,
                 v_threshold: float = 1.0, decay_input: bool = False, sample: bool = False):
        super().__init__()
        if isinstance(K, bool) or not isinstance(K, int) or K < 0:
            raise ValueError(f"K={K!r} must be an int >= 0 (updates after the first relaxed spike)")
        base = (1.0, 3.0, 6.0) + (12.0,) * max(0, K - 2)
        alphas = tuple(6.0 * b for b in base[:K + 1]) if alphas is None else tuple(float(a) for a in alphas)
        if len(alphas) != K + 1 or not all(a > 0 for a in alphas):
            raise ValueError(f"alphas={alphas!r} must hold K + 1 = {K + 1} positive slopes")
        self.K, self.alphas, self.sample = K, alphas, bool(sample)
        self.tau = _check_lif_args(tau, v_threshold, None)
        self.v_threshold, self.decay_input = float(v_threshold), bool(decay_input)

    def relaxed(self, x_seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(h, s)``: the last potential :math:`h^K` and relaxed spike :math:`s_K`."""
        check_time_first(x_seq)
        beta, theta = 1.0 - 1.0 / self.tau, self.v_threshold
        d = _drive(x_seq, self.tau, self.decay_input)
        u = leaky_integrate(d, beta, scale_input=False)
        h = u
        s = torch.sigmoid(self.alphas[0] * (h - theta))
        for k in range(1, self.K + 1):
            carried = leaky_integrate(s, beta, scale_input=False)
            h = u - beta * theta * torch.cat([torch.zeros_like(carried[:1]), carried[:-1]])
            s = torch.sigmoid(self.alphas[k] * (h - theta))
        return h, s

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        h, s = self.relaxed(x_seq)
        hard = torch.bernoulli(s.detach()) if self.sample else (h.detach() >= self.v_threshold).to(s.dtype)
        return s + (hard - s).detach()  # the spikes forward, the last sigmoid's gradient backward

    def extra_repr(self) -> str:
        return (f"K={self.K}, alphas={self.alphas}, tau={self.tau}, v_threshold={self.v_threshold}, "
                f"decay_input={self.decay_input}, sample={self.sample}")
