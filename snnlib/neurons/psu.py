r"""The Parallel Spiking Unit family: PSU, IPSU and RPSU (Li et al., IJCNN 2024, arXiv 2402.00449).

Unroll the soft-reset LIF (chapter 00) and the reset becomes a sum of earlier spikes, decayed.  The
paper writes the unrolled neuron with two fixed lower-triangular :math:`T \times T` matrices,

.. math::
    A[i, j] = (1/\tau)^{\,i-j+1} \quad (i \ge j), \qquad
    B[i, j] = -(1/\tau)^{\,i-j} \quad (i > j), \qquad 0 \text{ elsewhere},

so that :math:`V = A X + \theta B S` (``S`` enters one step late: ``B`` has a zero diagonal), which equals
the soft-reset LIF at :math:`\tau = 2`.  The spikes on the right are replaced by an estimate that needs
no loop, and every step is computed at once:

.. math::
    \text{PSU:}\quad  V &= A X + \theta\, B\, \sigma(A X) \\
    \text{IPSU:}\quad V &= (W \odot M) X + b + B X \\
    \text{RPSU:}\quad V &= A X + B\, \sigma\big((W \odot M) X + b\big) \\
    S &= \Theta(V - \theta)

with :math:`\sigma` the logistic sigmoid, :math:`M` the lower-triangular mask of ones and :math:`W`
(``[T, T]``), :math:`b` (``[T, 1]``) learnable.  IPSU and RPSU do not scale their reset term by
:math:`\theta` (as in the official code).

**A and B are leaky integrations.**  Let :math:`L` be the lower-triangular Toeplitz matrix
:math:`L[i, j] = (1/\tau)^{i-j}` (ones on the diagonal): :math:`L Y` is the leaky integration
:math:`u[t] = u[t-1]/\tau + Y[t]`, that is ``leaky_integrate(Y, 1/tau, scale_input=False)``.  Then

.. math::
    A = L / \tau, \qquad B = I - L, \qquad\text{so}\quad A X = \tfrac{1}{\tau} L X, \quad B Y = Y - L Y .

The decay per step is :math:`1/\tau`, not the LIF's :math:`1 - 1/\tau`; the two agree only at
:math:`\tau = 2`.  With ``method="scan"`` (the default) every product with A or B is a call of
:func:`~snnlib.neurons.leaky_integrate` (its fixed rule picks a small matrix product for T <= 32 and
the chunked O(T) scan above), so PSU costs O(T) work, against the O(T^2) of the official dense
matrices, which ``method="dense"`` keeps as the slow, obvious form.  IPSU and RPSU keep their
learnable :math:`T \times T` product, so only their A and B parts become O(T).

**Causal for any input.**  A NaN or inf in :math:`X[t]` reaches :math:`V[t:]` only, with either method:
a matrix product would spread it to the earlier steps too (:math:`0 \cdot \mathrm{NaN} = \mathrm{NaN}`
in the zero upper triangle), so for such input the dense and learned products run row by row over the
lower triangle, and the scans switch to their loop.

**Precision.**  The output (spikes, ``charge``, :func:`apply_a`, :func:`apply_b`) has the input's dtype,
whatever the method, with autocast or without.  float16 and bfloat16 input is computed in float32 (the
learned ``weight`` and ``bias`` too) and rounded once at the end; float64 input is computed in float64.

Defined in chapter 02 (PSU), section "Derivation".
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torch.nn as nn

from .integrate import _all_finite, _autocast_off, _scan1, _work_dtype, auto_method, leaky_integrate
from .surrogate import LearnableATan, check_surrogate, check_time_first, spike

__all__ = ["PSU", "PSUWithoutReset", "IPSU", "RPSU", "PSU_METHODS", "psu_matrices", "apply_a", "apply_b"]

PSU_METHODS: tuple[str, ...] = ("scan", "dense")

Surrogate = Callable[[torch.Tensor], torch.Tensor]


def _check_tau(tau: float) -> float:
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not (1.0 < tau < math.inf):
        raise ValueError(f"tau={tau!r} must be a real number > 1 (the decay per step is 1/tau)")
    return float(tau)


def _check_method(method: str) -> str:
    if not isinstance(method, str) or method not in PSU_METHODS:
        raise ValueError(f"method={method!r} is not a method; expected one of "
                         f"{', '.join(map(repr, PSU_METHODS))}")
    return method


def _check_threshold(v_threshold: float) -> float:
    if isinstance(v_threshold, bool) or not isinstance(v_threshold, (int, float)) \
            or not math.isfinite(v_threshold):
        raise TypeError(f"v_threshold={v_threshold!r} must be a finite real number")
    return float(v_threshold)


def _check_T_arg(T: int) -> int:
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T={T!r} must be an integer >= 1 (the number of time steps)")
    return T


def _check_x(x_seq: torch.Tensor, T: Optional[int], who: str) -> None:
    check_time_first(x_seq)
    if x_seq.shape[0] == 0:
        raise ValueError(f"x_seq has shape {tuple(x_seq.shape)}: T = 0 time steps; expected T >= 1")
    if T is not None and x_seq.shape[0] != T:
        raise ValueError(
            f"x_seq has T={x_seq.shape[0]} time steps (shape {tuple(x_seq.shape)}), but this {who} was "
            f"built for T={T}; build a {who} with T={x_seq.shape[0]} or feed [T={T}, N, *]"
        )


def psu_matrices(T: int, tau: float = 2.0, dtype: torch.dtype = torch.float32,
                 device: Optional[torch.device | str] = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The paper's fixed matrices ``(A, B)``, each ``[T, T]``:
    :math:`A[i, j] = (1/\tau)^{i-j+1}` for :math:`i \ge j`, :math:`B[i, j] = -(1/\tau)^{i-j}` for
    :math:`i > j`, zero elsewhere.

    Defined in chapter 02 (Parallel Spiking Unit), section "The soft-reset LIF, unrolled".
    """
    T, tau = _check_T_arg(T), _check_tau(tau)
    idx = torch.arange(T, device=device)
    lag = (idx[:, None] - idx[None, :]).to(dtype)
    d = torch.tensor(1.0 / tau, dtype=dtype, device=device)
    zero = torch.zeros((), dtype=dtype, device=device)
    A = torch.where(lag >= 0, torch.pow(d, lag.clamp(min=0) + 1), zero)
    B = torch.where(lag > 0, -torch.pow(d, lag.clamp(min=0)), zero)
    return A, B


def _dense_mm(M: torch.Tensor, y: torch.Tensor, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``M y (+ bias)`` for a lower-triangular ``M`` [T, T] and ``y`` [T, N, *]: one product for finite
    ``y``; row by row over the lower triangle when ``y`` holds a NaN or inf, so that it stays causal."""
    y2 = y.flatten(1)
    if _all_finite(y2):
        out = torch.matmul(M, y2) if bias is None else torch.addmm(bias, M, y2)
        return out.view(y.shape)
    rows = [M[t, : t + 1] @ y2[: t + 1] for t in range(y2.shape[0])]  # row t reads y[0..t] only
    out = torch.stack(rows)
    return (out if bias is None else out + bias).view(y.shape)


def _leak(y: torch.Tensor, tau: float) -> torch.Tensor:
    """:math:`L Y`: ``u[t] = u[t-1] / tau + Y[t]``, ``u[-1] = 0``."""
    return leaky_integrate(y, 1.0 / tau, scale_input=False)


def _apply(seq: torch.Tensor, tau: float, method: str, name: str, which: int,
           scan: Callable[[torch.Tensor, float], torch.Tensor]) -> torch.Tensor:
    """The one path of :func:`apply_a` and :func:`apply_b`: checks, the working dtype without autocast, then
    the dense product with :func:`psu_matrices`' matrix ``which`` (0: A, 1: B) or the scan ``scan``."""
    tau, method = _check_tau(tau), _check_method(method)
    _check_x(seq, None, name)
    work = _work_dtype(seq)
    with _autocast_off(seq.device.type):
        v = seq.to(work)
        if method == "dense":
            return _dense_mm(psu_matrices(v.shape[0], tau, work, v.device)[which], v).to(seq.dtype)
        return scan(v, tau).to(seq.dtype)


def apply_a(x_seq: torch.Tensor, tau: float = 2.0, method: str = "scan") -> torch.Tensor:
    r""":math:`A X` for ``x_seq`` ``[T, N, *]``: ``leaky_integrate(x, 1/tau, scale_input=False) / tau``
    (``method="scan"``) or the dense product with :func:`psu_matrices`' A (``"dense"``).

    Defined in chapter 02 (PSU), section "A and B as scans".
    """
    return _apply(x_seq, tau, method, "apply_a", 0, lambda x, t: _leak(x, t) / t)


def apply_b(y_seq: torch.Tensor, tau: float = 2.0, method: str = "scan") -> torch.Tensor:
    r""":math:`B Y` for ``y_seq`` ``[T, N, *]``: :math:`Y - L Y` with
    :math:`L Y` = ``leaky_integrate(y, 1/tau, scale_input=False)`` (``"scan"``), or the dense product
    (``"dense"``).  Row t sums the earlier steps only: :math:`(BY)[t] = -\sum_{j<t} \tau^{j-t} Y[j]`.

    Defined in chapter 02 (PSU), section "A and B as scans".
    """
    return _apply(y_seq, tau, method, "apply_b", 1, lambda y, t: y - _leak(y, t))


_LOW = (torch.float16, torch.bfloat16)


class _PSUCharge(torch.autograd.Function):
    r"""PSU's charge by two forward scans, fused, and its gradient by two reverse scans.

    With :math:`a = LX/\tau`, :math:`s = \sigma(a)`, :math:`V = a + \theta (s - L s)`:

    .. math::
        \bar s = \theta (\bar V - L^\top \bar V), \qquad
        \bar a = \bar V + s (1 - s) \bar s, \qquad \bar X = L^\top \bar a / \tau,

    where :math:`L^\top` is the same leaky integration run backwards in time.  Only :math:`s` is
    saved.  Half-precision input is computed in float32 (the result is float32; :meth:`PSU.charge`
    rounds it to the input's dtype).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, tau: float, theta: float) -> torch.Tensor:
        work = torch.float32 if x.dtype in _LOW else x.dtype
        x = x.to(work).contiguous()
        d = 1.0 / tau
        m = auto_method(x.shape[0], x.device, work)
        in_place = m in ("serial", "scan")
        a = _scan1(x, d, False, False, m).div_(tau)                 # A X = L X / tau
        s = torch.sigmoid(a)
        w = _scan1(s, d, False, False, m)                           # L s
        v = torch.add(a, s, alpha=theta).sub_(w, alpha=theta)        # a + theta (s - L s)
        del w
        ctx.save_for_backward(s)
        ctx.cfg = (tau, theta, m, in_place, x.dtype)
        return v

    @staticmethod
    def backward(ctx, gv: torch.Tensor):
        (s,) = ctx.saved_tensors
        tau, theta, m, in_place, work = ctx.cfg
        gv = gv.to(work).contiguous()
        d = 1.0 / tau
        r = _scan1(gv, d, False, True, m)                           # L^T gV
        torch.sub(gv, r, out=r)                                     # s-bar / theta = gV - L^T gV
        ga = torch.addcmul(s, s, s, value=-1.0)                     # sigma' = s (1 - s)
        torch.addcmul(gv, ga, r, value=theta, out=ga)               # a-bar = gV + sigma' s-bar
        del r
        gx = _scan1(ga, d, False, True, m, out=ga if in_place else None).div_(tau)
        return gx, None, None


def _default_surrogate(surrogate_function: Optional[Surrogate]) -> Surrogate:
    sf = LearnableATan(alpha=2.0) if surrogate_function is None else surrogate_function
    check_surrogate(sf)
    return sf


def _fire(v: torch.Tensor, v_threshold: float, sf: Surrogate) -> torch.Tensor:
    if isinstance(sf, LearnableATan):
        return sf.fire(v, v_threshold)
    return spike(v, v_threshold, sf)


class _PSUBase(nn.Module):
    def __init__(self, tau: float, v_threshold: float, surrogate_function: Optional[Surrogate],
                 method: str):
        super().__init__()
        self.tau = _check_tau(tau)
        self.v_threshold = _check_threshold(v_threshold)
        self.method = _check_method(method)
        self.surrogate_function = _default_surrogate(surrogate_function)

    def charge(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The potential :math:`V` before the threshold, ``[T, N, *]``, in ``x_seq``'s dtype."""
        _check_x(x_seq, getattr(self, "T", None), type(self).__name__)
        params = (self.weight, self.bias) if isinstance(self, _LearnedT) else ()
        work = _work_dtype(x_seq, *params)
        with _autocast_off(x_seq.device.type):
            v = self._charge(x_seq.to(work))
        return v.to(x_seq.dtype)

    def _charge(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes :math:`S = \\Theta(V - \\theta)`, ``[T, N, *]``, for the input ``x_seq`` ``[T, N, *]``."""
        return _fire(self.charge(x_seq), self.v_threshold, self.surrogate_function)

    def extra_repr(self) -> str:
        T = f"T={self.T}, " if hasattr(self, "T") else ""
        return f"{T}tau={self.tau}, v_threshold={self.v_threshold}, method={self.method!r}"


class PSU(_PSUBase):
    r"""Parallel Spiking Unit: :math:`V = A X + \theta B \sigma(A X)`, :math:`S = \Theta(V - \theta)`.

    The sigmoid of the reset-free potential :math:`A X` stands in for the spikes of the soft reset.
    No learnable weights (the surrogate's alpha is learnable) and no fixed T: any ``[T, N, *]``.
    Causal: :math:`V[t]` depends on :math:`X[0..t]` only.

    Args:
        tau: > 1; the decay per step is :math:`1/\tau` (the paper's A and B).
        v_threshold: :math:`\theta` (the paper: 0.5 on sequential CIFAR, 0.3 on SHD).
        surrogate_function: default :class:`~snnlib.neurons.LearnableATan` (alpha 2, learnable).
        method: ``"scan"`` (:func:`~snnlib.neurons.leaky_integrate`, O(T)) or ``"dense"`` (the
            official T x T matrices, O(T^2)).

    Paper: https://arxiv.org/abs/2402.00449.  Defined in chapter 02 (Parallel Spiking Unit), section "The estimate: $\sigma(AX)$".
    """

    def __init__(self, tau: float = 2.0, v_threshold: float = 1.0,
                 surrogate_function: Optional[Surrogate] = None, method: str = "scan"):
        super().__init__(tau, v_threshold, surrogate_function, method)

    def _charge(self, x: torch.Tensor) -> torch.Tensor:
        if self.method == "dense":
            A, B = psu_matrices(x.shape[0], self.tau, x.dtype, x.device)
            a = _dense_mm(A, x)
            return a + self.v_threshold * _dense_mm(B, torch.sigmoid(a))
        # A X = L X / tau, then + theta B sigma(A X) = theta (s - L s): four scans in all, fused
        return _PSUCharge.apply(x, self.tau, self.v_threshold)


class PSUWithoutReset(PSU):
    r"""The PSU without its reset term (chapter 02's reset ablation): :math:`V = A X`,
    :math:`S = \Theta(V - \theta)`.

    Everything else is :class:`PSU`'s (``tau``, ``v_threshold``, the learnable ATan surrogate, ``method``),
    so that a network built with it differs from the PSU's only by :math:`\theta B\sigma(AX)`.  At
    :math:`\tau = 2` it is a reset-free LIF (decay 1/2, decayed input).

    Defined in chapter 02 (Parallel Spiking Unit), section "Reproduction at ci".
    """

    def charge(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The potential :math:`V = AX` before the threshold, ``[T, N, *]``."""
        return apply_a(x_seq, self.tau, self.method)


class _LearnedT(_PSUBase):
    """IPSU and RPSU: a learnable lower-triangular ``weight`` [T, T] and ``bias`` [T, 1]."""

    def __init__(self, T: int, tau: float, v_threshold: float, surrogate_function: Optional[Surrogate],
                 method: str):
        super().__init__(tau, v_threshold, surrogate_function, method)
        self.T = _check_T_arg(T)
        self.weight = nn.Parameter(torch.empty(T, T))
        self.bias = nn.Parameter(torch.zeros(T, 1))
        # the official code: nn.init.kaiming_normal_(fc.weight, mode="fan_out", nonlinearity="relu"), bias 0
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")

    def masked_weight(self) -> torch.Tensor:
        """:math:`W \\odot M`: the lower triangle of ``weight`` (causal), ``[T, T]``."""
        return torch.tril(self.weight)

    def _learned(self, x_seq: torch.Tensor) -> torch.Tensor:
        """:math:`(W \\odot M) X + b`, ``[T, N, *]``."""
        return _dense_mm(self.masked_weight().to(x_seq.dtype), x_seq, self.bias.to(x_seq.dtype))


class IPSU(_LearnedT):
    r"""Input-aware PSU: :math:`V = (W \odot M) X + b + B X`, :math:`S = \Theta(V - \theta)`.

    The leaky integration :math:`A X` becomes learnable (:math:`W`, lower triangular, Kaiming-normal
    with fan-out; :math:`b = 0`), and the reset term is estimated from the input itself, :math:`B X`.
    For a fixed T; ``weight`` [T, T] and ``bias`` [T, 1].  Only the :math:`B X` part is O(T): the
    learned product stays O(T^2).

    Args: as :class:`PSU`, plus ``T``, the number of time steps.

    Paper: https://arxiv.org/abs/2402.00449.  Defined in chapter 02 (Parallel Spiking Unit), section "From scratch, then snnlib".
    """

    def __init__(self, T: int, tau: float = 2.0, v_threshold: float = 1.0,
                 surrogate_function: Optional[Surrogate] = None, method: str = "scan"):
        super().__init__(T, tau, v_threshold, surrogate_function, method)

    def _charge(self, x: torch.Tensor) -> torch.Tensor:
        return self._learned(x) + apply_b(x, self.tau, self.method)


class RPSU(_LearnedT):
    r"""Reset-aware PSU: :math:`V = A X + B \sigma((W \odot M) X + b)`, :math:`S = \Theta(V - \theta)`.

    The spike estimate of the reset term is learned (:math:`W`, lower triangular, Kaiming-normal with
    fan-out; :math:`b = 0`), the leaky integration :math:`A X` is the PSU's.  For a fixed T;
    ``weight`` [T, T] and ``bias`` [T, 1].  Only the A and B parts are O(T).

    Args: as :class:`PSU`, plus ``T``, the number of time steps.

    Paper: https://arxiv.org/abs/2402.00449.  Defined in chapter 02 (Parallel Spiking Unit), section "From scratch, then snnlib".
    """

    def __init__(self, T: int, tau: float = 2.0, v_threshold: float = 1.0,
                 surrogate_function: Optional[Surrogate] = None, method: str = "scan"):
        super().__init__(T, tau, v_threshold, surrogate_function, method)

    def _charge(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.sigmoid(self._learned(x))
        return apply_a(x, self.tau, self.method) + apply_b(r, self.tau, self.method)
