r"""ParaLIF: the leaky integrate-and-fire neuron split into a linear integrator and a firing function.

Yarga & Wood, *Accelerating Spiking Neural Networks with Parallelizable Leaky Integrate-and-Fire
Neurons*, Neuromorphic Computing and Engineering 2025 (https://doi.org/10.1088/2634-4386/adb7fe).

Without a reset, the LIF's two stages (synaptic current, then membrane) are linear in the input:

.. math::
    I[t] = \alpha I[t-1] + X[t], \qquad U[t] = \beta U[t-1] + (1-\beta) I[t], \qquad
    \alpha = e^{-\Delta t/\tau_{syn}},\ \beta = e^{-\Delta t/\tau_{mem}},

so :math:`U = k * l * X` with :math:`l[n] = \alpha^n` and :math:`k[n] = (1-\beta)\beta^n`, a causal
convolution that every time step can compute at once (:func:`~snnlib.neurons.leaky_integrate` with
``alpha``).  The spikes are a function of the whole sequence :math:`U`, applied at every step in
parallel: :math:`S = \phi(U)`, one of eleven firing functions (:data:`FIRING_MODES`, :func:`fire`).

The official code computes :math:`U` as ``irfft(rfft(X, 2T) rfft(l, 2T) rfft(k, 2T))[:T]``: a circular
convolution of length 2T, while the linear one is up to 3T - 2 long, so the tail wraps onto the first
steps (:func:`three_fft_charge` reproduces it; snnlib's methods do not alias).

Defined in chapter 03 (ParaLIF), section "The two-stage recurrence".
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .integrate import METHODS, _autocast_off, _work_dtype, leaky_integrate
from .surrogate import FastSigmoid, check_surrogate, check_time_first

__all__ = ["ParaLIF", "FIRING_MODES", "STOCHASTIC_MODES", "DELTA_MODES", "fire", "normalise",
           "three_fft_charge", "default_threshold"]

#: the firing modes of the official ``paralif.py``; the prefix is the normalisation (S sigmoid, T tanh,
#: TR relu(tanh)), the last letter the encoder (GS Gumbel-softmax, B Bernoulli, D delta, T threshold)
FIRING_MODES: tuple[str, ...] = ("GS", "SB", "TRB", "D", "SD", "TD", "TRD", "T", "ST", "TT", "TRT")
STOCHASTIC_MODES: tuple[str, ...] = ("GS", "SB", "TRB")
DELTA_MODES: tuple[str, ...] = ("D", "SD", "TD", "TRD")
_SIGMOID, _TANH, _TANH_RELU = ("SB", "SD", "ST"), ("TD", "TT"), ("TRB", "TRD", "TRT")


def _check_mode(firing: str) -> str:
    if not isinstance(firing, str) or firing not in FIRING_MODES:
        raise ValueError(f"firing={firing!r} is not a firing mode; expected one of "
                         f"{', '.join(map(repr, FIRING_MODES))}")
    return firing


def default_threshold(firing: str) -> float:
    """The official starting threshold: 0.1 for the delta modes (D, SD, TD, TRD), 1.0 otherwise."""
    return 0.1 if _check_mode(firing) in DELTA_MODES else 1.0


def normalise(u: torch.Tensor, firing: str) -> torch.Tensor:
    r"""The mode's normalisation of the potential: :math:`\sigma(u)` for SB, SD, ST; :math:`\tanh u` for
    TD, TT; :math:`\mathrm{relu}(\tanh u)` for TRB, TRD, TRT; :math:`u` itself for GS, D, T.

    Defined in chapter 03 (ParaLIF), section "Firing functions".
    """
    firing = _check_mode(firing)
    if firing in _SIGMOID:
        return torch.sigmoid(u)
    if firing in _TANH:
        return torch.tanh(u)
    if firing in _TANH_RELU:
        return torch.relu(torch.tanh(u))
    return u


class _BernoulliST(torch.autograd.Function):
    """``s ~ Bernoulli(p)``; backward ``g * p`` (the official straight-through estimate)."""

    @staticmethod
    def forward(ctx, p: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
        ctx.save_for_backward(p)
        return torch.bernoulli(p.detach(), generator=generator)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        (p,) = ctx.saved_tensors
        return g * p, None


def _uniform(like: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
    # open interval (0, 1): log(u) and log(1 - u) stay finite
    u = torch.rand(like.shape, generator=generator, dtype=like.dtype, device=like.device)
    tiny = torch.finfo(like.dtype).tiny
    return u.clamp_(tiny, 1.0 - torch.finfo(like.dtype).eps)


def _gumbel_softmax(v: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
    # two classes, logits (v, -v), temperature 1: y_soft = softmax(v + g0, -v + g1)[0] = sigmoid(2v + g0 - g1),
    # with g0, g1 independent Gumbel(0, 1); their difference is drawn from one uniform as logit(u).
    u = _uniform(v, generator)
    y_soft = torch.sigmoid(2 * v + (torch.log(u) - torch.log1p(-u)))
    y_hard = (y_soft > 0.5).to(v.dtype)
    return y_hard - y_soft.detach() + y_soft  # straight-through: the value of y_hard, the gradient of y_soft


class _FastSigmoidThreshold(torch.autograd.Function):
    """``H(v - theta)`` with the fast-sigmoid surrogate, fused: no ``[T, N, *]`` temporary for ``v - theta``
    in the forward pass, and the threshold's gradient ``-sum(dS/dv)`` from the same pass."""

    @staticmethod
    def forward(ctx, v: torch.Tensor, theta: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(v, theta)
        ctx.scale = scale
        return torch.gt(v, theta).to(v.dtype)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        v, theta = ctx.saved_tensors
        d = torch.sub(v, theta).abs_().mul_(ctx.scale).add_(1)  # the arithmetic of FastSigmoid
        d.mul_(d)
        gv = torch.div(g, d, out=d)
        g_theta = (-gv.sum()).reshape(theta.shape) if ctx.needs_input_grad[1] else None
        return (gv if ctx.needs_input_grad[0] else None), g_theta, None


def _previous(v: torch.Tensor, first: float = 0.0) -> torch.Tensor:
    """``v`` delayed by one step along time, ``first`` at t = 0: ``[first, v[0], ..., v[T-2]]``."""
    return F.pad(v, [0, 0] * (v.dim() - 1) + [1, 0], value=first)[:-1]


def fire(u: torch.Tensor, firing: str, threshold: torch.Tensor | float = 1.0, *,
         surrogate_function: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
         generator: Optional[torch.Generator] = None) -> torch.Tensor:
    r"""ParaLIF's firing function :math:`S = \phi(U)` on a whole sequence ``u`` ``[T, N, *]``.

    With :math:`v = \mathrm{norm}(u)` (:func:`normalise`) and :math:`H` the surrogate spike
    (default :class:`~snnlib.neurons.FastSigmoid`, :math:`H(x) = 1[x > 0]`, gradient
    :math:`1/(100|x|+1)^2`):

    * threshold (T, ST, TT, TRT): :math:`s[t] = H(v[t] - \theta)`;
    * delta (D, SD, TD, TRD): :math:`s[t] = H\bigl((v[t] - v[t-1]) - \theta\bigr)`, with
      :math:`v[-1] = \mathrm{norm}(0)` (the potential at rest: 1/2 for SD, 0 otherwise), as the official
      sequential forward; its parallel forward pads with 0 after normalising, so that its SD fires at
      t = 0 whenever :math:`\sigma(u[0]) > \theta`, whatever the input;
    * Bernoulli (SB, TRB): :math:`s[t] \sim \mathrm{Bernoulli}(v[t])`, gradient :math:`g\,v[t]`
      (:math:`v` is a probability: sigmoid or relu(tanh));
    * Gumbel-softmax (GS): the hard two-class Gumbel-softmax over the logits :math:`(v, -v)` at
      temperature 1, :math:`s = 1[\sigma(2v + g_0 - g_1) > 1/2]` with :math:`g_0, g_1` Gumbel noise, and
      the gradient of the soft sample (straight-through).  It fires with probability :math:`\sigma(2v)`.

    The stochastic modes ignore :math:`\theta`, as in the official code.  They draw from ``generator``
    when given, else from torch's global generator (so ``torch.manual_seed`` makes a run repeatable).

    Defined in chapter 03 (ParaLIF), section "Firing functions".
    """
    check_time_first(u, "u")
    firing = _check_mode(firing)
    v = normalise(u, firing)
    if firing == "GS":
        return _gumbel_softmax(v, generator)
    if firing in ("SB", "TRB"):
        return _BernoulliST.apply(v, generator)
    spike_fn = FastSigmoid() if surrogate_function is None else surrogate_function
    if firing in DELTA_MODES:
        v = v - _previous(v, float(normalise(torch.zeros(()), firing)))  # v[-1] = norm(0), at rest
    if type(spike_fn) is FastSigmoid:  # fused, same numbers
        theta = threshold if isinstance(threshold, torch.Tensor) else torch.tensor(float(threshold))
        return _FastSigmoidThreshold.apply(v, theta.to(dtype=v.dtype, device=v.device), spike_fn.scale)
    return spike_fn(v - threshold)


def three_fft_charge(x: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    r"""The official code's parallel charge, written from the paper's equation (15), *with its aliasing*:

    .. math::
        U = \mathrm{irfft}\bigl(\mathrm{rfft}(X, 2T)\,\mathrm{rfft}(l, 2T)\,\mathrm{rfft}(k, 2T)\bigr)[:T].

    A product of three length-2T transforms is a *circular* convolution of period 2T, but
    :math:`l * k * X` is up to 3T - 2 samples long: samples 2T ... 3T - 3 wrap onto steps 0 ... T - 3.  What
    wraps is the kernel at lags above T (the last input is at T - 1), so for :math:`|x| \le 1` and
    :math:`\alpha = \beta` the error is at most :math:`\beta^{T+1}(T + 2 + \beta/(1-\beta))`: of the order
    of the potential when T is not much longer than :math:`\tau/\Delta t`, vanishing as :math:`T\alpha^T`.  Kept to show the error; use
    :func:`~snnlib.neurons.leaky_integrate` (or :class:`ParaLIF`) to compute the charge.

    ``x`` is ``[T, N, *]``; ``alpha`` and ``beta`` are floats in (0, 1).

    Defined in chapter 03 (ParaLIF), section "The aliasing in the official code".
    """
    check_time_first(x, "x")
    for name, v in (("alpha", alpha), ("beta", beta)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 < v < 1.0:
            raise ValueError(f"{name}={v!r} must be a float in (0, 1)")
    T = x.shape[0]
    n = torch.arange(T, dtype=x.dtype, device=x.device)
    l, k = alpha**n, (1 - beta) * beta**n
    view = (-1,) + (1,) * (x.dim() - 1)
    prod = torch.fft.rfft(x, 2 * T, dim=0) * (torch.fft.rfft(l, 2 * T) * torch.fft.rfft(k, 2 * T)).view(view)
    return torch.fft.irfft(prod, 2 * T, dim=0)[:T]


def _decay(name: str, tau: Optional[float], dt: float) -> Optional[float]:
    if tau is None:
        return None
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not tau > 0 or not math.isfinite(tau):
        raise ValueError(f"{name}={tau!r} must be a positive time constant in seconds (or None)")
    decay = math.exp(-dt / tau)
    if not 0.0 < decay < 1.0:  # dt / tau so large that exp underflows to 0, or so small that it rounds to 1
        what = "forgets everything in one step" if decay == 0.0 else "never decays"
        raise ValueError(f"{name}={tau!r} with dt={dt!r} gives the decay exp(-dt/{name}) = {decay!r}: the neuron "
                         f"{what}; expected dt/{name} between about 1e-15 and 700 (for example dt=1e-3 with "
                         f"{name}=20e-3)")
    return decay


class ParaLIF(nn.Module):
    r"""The parallelisable LIF neuron, time-first: input ``[T, N, *]``, spikes ``[T, N, *]``.

    .. math::
        U = \mathrm{LI}(X):\quad I[t] = \alpha I[t-1] + X[t],\ U[t] = \beta U[t-1] + (1-\beta) I[t];
        \qquad S = \phi(U - \theta)

    with :math:`\phi` the firing function ``firing`` (:func:`fire`).  ``recurrent=True`` adds the
    parallel recurrent form: the potential delayed by one step gives a hidden state, which feeds back
    through :math:`W_{rec}` (``self.recurrent_weight``, a ``Linear(features, features)``):

    .. math::
        \tilde U[t] = U[t-1],\ \tilde U[0] = 0, \qquad h = \phi(\tilde U), \qquad
        U_{final} = U + \mathrm{LI}(X + W_{rec} h), \qquad S = \phi(U_{final}).

    Args:
        firing: one of :data:`FIRING_MODES`.
        tau_mem, tau_syn: time constants in seconds (20 ms each); ``tau_syn=None`` removes the synaptic
            stage (:math:`I = X`).  :math:`\beta = e^{-dt/\tau_{mem}}`, :math:`\alpha = e^{-dt/\tau_{syn}}`.
        dt: the time step in seconds (1 ms).
        threshold: the starting threshold :math:`\theta`; default 1.0, or 0.1 for the delta modes.
        learn_threshold: make :math:`\theta` a parameter (the official networks do); the threshold used
            is :math:`\mathrm{relu}(\theta)`, which keeps it non-negative.
        recurrent: the recurrent form; needs ``features``, the size of the last dimension.
        method: the :func:`~snnlib.neurons.leaky_integrate` method (all give the same numbers).
        surrogate_function: for the threshold and delta modes; default :class:`FastSigmoid` (scale 100).
        generator: the random stream of the stochastic modes (GS, SB, TRB); default torch's global one.

    ``charge(x)`` returns the membrane :math:`U` (:math:`U_{final}` when recurrent) before firing.
    Inputs in float16 or bfloat16 (with autocast or without) are computed in float32 and the result cast
    back: the output has the input's dtype (the recurrent form too).

    Defined in chapter 03 (ParaLIF), section "The two-stage recurrence".
    """

    def __init__(
        self,
        firing: str = "T",
        *,
        tau_mem: float = 20e-3,
        tau_syn: Optional[float] = 20e-3,
        dt: float = 1e-3,
        threshold: Optional[float] = None,
        learn_threshold: bool = True,
        recurrent: bool = False,
        features: Optional[int] = None,
        method: str = "auto",
        surrogate_function: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
        generator: Optional[torch.Generator] = None,
    ):
        super().__init__()
        self.firing = _check_mode(firing)
        if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not dt > 0 or not math.isfinite(dt):
            raise ValueError(f"dt={dt!r} must be a positive, finite time step in seconds")
        if tau_mem is None:
            raise ValueError("tau_mem=None: the membrane needs a time constant in seconds (default 20e-3)")
        self.tau_mem, self.tau_syn, self.dt = float(tau_mem), tau_syn, float(dt)
        self.beta: float = _decay("tau_mem", tau_mem, dt)  # type: ignore[assignment]
        self.alpha: Optional[float] = _decay("tau_syn", tau_syn, dt)
        if not isinstance(method, str) or method not in METHODS:
            raise ValueError(f"method={method!r} is not a method; expected one of {', '.join(map(repr, METHODS))}")
        self.method = method
        theta = default_threshold(firing) if threshold is None else threshold
        if isinstance(theta, bool) or not isinstance(theta, (int, float)) or not math.isfinite(theta):
            raise ValueError(f"threshold={threshold!r} must be a real number (or None for the mode's default)")
        t = torch.tensor(float(theta))
        self.learn_threshold = bool(learn_threshold)
        if self.learn_threshold:
            self.threshold = nn.Parameter(t)
        else:
            self.register_buffer("threshold", t)
        self.surrogate_function = FastSigmoid() if surrogate_function is None else surrogate_function
        check_surrogate(self.surrogate_function)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator={generator!r} must be a torch.Generator or None")
        self.generator = generator
        self.recurrent = bool(recurrent)
        if self.recurrent:
            if isinstance(features, bool) or not isinstance(features, int) or features < 1:
                raise ValueError(f"recurrent=True needs features=<size of the last dimension>, got {features!r}")
            self.recurrent_weight = nn.Linear(features, features)
            nn.init.kaiming_uniform_(self.recurrent_weight.weight, a=0, mode="fan_in", nonlinearity="linear")
            nn.init.zeros_(self.recurrent_weight.bias)
        elif features is not None:
            raise ValueError(f"features={features!r} is only used with recurrent=True")
        self.features = features

    # ------------------------------------------------------------------------------------------ pieces
    def theta(self) -> torch.Tensor:
        """The threshold in use: :math:`\\mathrm{relu}(\\theta)` when learnable, else :math:`\\theta`."""
        return torch.relu(self.threshold) if self.learn_threshold else self.threshold

    def integrate(self, x_seq: torch.Tensor) -> torch.Tensor:
        """:math:`\\mathrm{LI}(X)`: the two-stage leaky integration, by :func:`leaky_integrate`."""
        check_time_first(x_seq)
        if x_seq.dtype in (torch.float16, torch.bfloat16):
            with torch.autocast(x_seq.device.type, enabled=False):
                return self.integrate(x_seq.float()).to(x_seq.dtype)
        return leaky_integrate(x_seq, self.beta, alpha=self.alpha, method=self.method)

    def spike_fn(self, u: torch.Tensor) -> torch.Tensor:
        """:math:`\\phi(u)`: this neuron's firing function on a sequence ``[T, N, *]`` (:func:`fire`)."""
        return fire(u, self.firing, self.theta().to(u.dtype), surrogate_function=self.surrogate_function,
                    generator=self.generator)

    def charge(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The membrane before firing, ``[T, N, *]``: :math:`U`, or :math:`U_{final}` when recurrent."""
        if not self.recurrent:
            return self.integrate(x_seq)
        check_time_first(x_seq)
        if x_seq.shape[-1] != self.features:
            raise ValueError(f"x_seq has shape {tuple(x_seq.shape)}; the recurrent ParaLIF was built with "
                             f"features={self.features} (the size of the last dimension)")
        rec = self.recurrent_weight
        work = _work_dtype(x_seq, rec.weight)  # float16 / bfloat16 in float32; the result in x_seq's dtype
        with _autocast_off(x_seq.device.type):
            x = x_seq.to(work)
            u = self.integrate(x)
            h = self.spike_fn(_previous(u))
            u = u + self.integrate(x + rec(h.to(rec.weight.dtype)).to(work))
        return u.to(x_seq.dtype)

    def charge_serial(self, x_seq: torch.Tensor) -> torch.Tensor:
        """:math:`U` by the loop over time (not recurrent): slow and obviously right."""
        check_time_first(x_seq)
        i = torch.zeros_like(x_seq[0])
        u = torch.zeros_like(x_seq[0])
        out = []
        for x_t in x_seq:
            i = (self.alpha * i + x_t) if self.alpha is not None else x_t
            u = self.beta * u + (1 - self.beta) * i
            out.append(u)
        return torch.stack(out)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]``, values in {0, 1}."""
        return self.spike_fn(self.charge(x_seq))

    def extra_repr(self) -> str:
        return (f"firing={self.firing!r}, tau_mem={self.tau_mem}, tau_syn={self.tau_syn}, dt={self.dt}, "
                f"threshold={float(self.threshold):g}, learn_threshold={self.learn_threshold}, "
                f"recurrent={self.recurrent}, method={self.method!r}")
