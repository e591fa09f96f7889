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
more confirms them (:math:`T + 1` in all).  More: if :math:`S^k` first differs from :math:`S^{k-1}` at step
:math:`f`, then :math:`S^k` is exact up to :math:`f` included, so the next pass need only start at
:math:`f + 1`, and only for the neurons that changed.  :func:`fixed_point_lif` has three forms, with the
same result bit for bit: the plain one (whole-tensor passes until nothing changes), the active set (each
pass recomputes only the neurons still changing, from the step after the earliest first change; the default)
and the chunked one (time cut into chunks solved one after another, a fixed point inside each: chunk 1
is the serial loop, chunk T fully parallel).  It returns the number of passes;
:func:`iteration_counts` gives them per neuron.

Gradients.  The forward equals the serial LIF's, so by default (``grad="bptt"``) the backward is the
serial LIF's surrogate BPTT (the adjoint recurrence of :mod:`snnlib.neurons.lif`, run on the fixed point's
:math:`H` and :math:`S`): the fixed-point form trains exactly as the serial LIF does, and only its forward
is parallel.  ``grad="last_step"`` differentiates only the last fixed-point update, one scan given the
(detached) spikes, as implicit-differentiation methods do: a parallel backward, equal to the serial
BPTT with ``detach_reset=True``.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch

from .integrate import leaky_integrate
from .lif import _LIFMultiStep, _check_lif_args
from .surrogate import check_surrogate, check_time_first, default_surrogate

__all__ = ["fixed_point_lif", "fixed_point_potential", "iteration_counts", "psu_as_one_step", "FPT", "GRADS"]


def _drive(x_seq: torch.Tensor, tau: float, decay_input: bool) -> torch.Tensor:
    return x_seq / tau if decay_input else x_seq


def fixed_point_potential(x_seq: torch.Tensor, spikes: torch.Tensor, tau: float = 2.0,
                          v_reset: Optional[float] = 0.0, v_threshold: float = 1.0, decay_input: bool = True,
                          method: str = "auto") -> torch.Tensor:
    r"""The pre-spike potential :math:`H` of the LIF driven by ``x_seq`` when its spikes are ``spikes``
    (both ``[T, N, *]``): one scan, linear in the input (see the module's equations).

    With the serial LIF's own spikes this is the serial LIF's :math:`H`, up to rounding.

    Defined in chapter 02 (Parallel Spiking Unit), section "Exercises".
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
             max_iterations: int, method: str, s: Optional[torch.Tensor] = None
             ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The plain form: whole-tensor passes from ``s`` (zeros by default) until nothing changes."""
    s = torch.zeros_like(x_seq) if s is None else s
    for k in range(1, max_iterations + 1):
        h = fixed_point_potential(x_seq, s, tau, v_reset, v_threshold, decay_input, method)
        s_new = (h >= v_threshold).to(x_seq.dtype)
        if torch.equal(s_new, s):
            return s, h, k
        s = s_new
    raise RuntimeError(f"the fixed point did not converge in {max_iterations} iterations (T = {x_seq.shape[0]});"
                       " it must within T + 1: is the input finite?")


GRADS = ("bptt", "last_step")


def _window_potential(d: torch.Tensor, s_prev: torch.Tensor, h_init: torch.Tensor, beta: float,
                      theta_rel: float, hard: bool, method: str) -> torch.Tensor:
    r"""The rest-relative potential :math:`h` on a window of steps :math:`t_0 .. t_1 - 1` (``[W, n]``), given
    the drive ``d`` there, ``s_prev[i]`` = :math:`S[t_0 + i - 1]` and ``h_init`` = :math:`h[t_0 - 1]` (zeros
    at :math:`t_0 = 0`, the rest): the module's equations, started from a carried state."""
    if not hard:  # h[t] = beta h[t-1] + D[t] - beta theta S[t-1]
        d = torch.add(d, s_prev, alpha=-beta * theta_rel)
        d[0].add_(h_init, alpha=beta)
        return leaky_integrate(d, beta, scale_input=False, method=method)
    # hard: h[t] = beta (1 - S[t-1]) h[t-1] + D[t] = U[t] - beta^(t-s) U[s], s the last spike in the window
    d = d.clone()
    d[0].addcmul_(h_init, 1 - s_prev[0], value=beta)
    u = leaky_integrate(d, beta, scale_input=False, method=method)
    W = d.shape[0]
    i = torch.arange(W, device=d.device).view(W, 1)
    marked = torch.where((s_prev > 0) & (i > 0), i - 1, torch.full_like(i, -1))  # S[t0-1] is in h_init
    last = torch.cummax(marked, dim=0).values
    if not bool((last[-1] >= 0).any()):
        return u
    u_last = torch.gather(u, 0, last.clamp(min=0))
    decay = torch.pow(torch.tensor(beta, dtype=torch.float64, device=d.device), (i - last).to(torch.float64))
    return u - torch.where(last >= 0, decay.to(u.dtype) * u_last, torch.zeros_like(u))


#: a pass compacts its working set of neurons when fewer than this fraction of them are still changing
_COMPACT = 0.5


def _solve(x: torch.Tensor, tau: float, v_threshold: float, v_reset: Optional[float], decay_input: bool,
           chunk: Optional[int], active_set: bool, method: str
           ) -> tuple[torch.Tensor, int, torch.Tensor]:
    """The fast forms' candidate spikes ``[T, N, *]``, their number of passes, and the passes per neuron.

    Time is cut into chunks of ``chunk`` steps (one chunk of T with ``None``), solved one after another,
    each from the state the previous one leaves.  Inside a chunk, with ``active_set``, every pass
    recomputes the potential from the step after the first change of the pass before (the spikes up to
    it are final) and thresholds it; a change on the chunk's last step is final.  The neurons (flattened
    over batch and features) are gathered into a working set, compacted to those still changing once
    they are fewer than half of it; a neuron counts a pass when it changed in the pass before.  Without
    ``active_set`` every pass recomputes the whole chunk until nothing changes.  The candidate is
    confirmed by :func:`fixed_point_lif`'s whole-tensor pass."""
    T = x.shape[0]
    d = _drive(x, tau, decay_input).reshape(T, -1)
    M = d.shape[1]
    beta = 1.0 - 1.0 / tau
    hard = v_reset is not None
    v_rest = 0.0 if v_reset is None else v_reset
    theta_rel = v_threshold - v_rest
    # row t + 1 holds step t; row 0 is the rest before step 0 (h = 0 from the rest level, no spike)
    s_all = torch.zeros((T + 1, M), dtype=d.dtype, device=d.device)
    h_all = torch.zeros_like(s_all)
    counts = torch.zeros(M, dtype=torch.long, device=d.device)
    C = T if chunk is None else min(int(chunk), T)
    ints = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[d.element_size()]
    passes = 0
    for c0 in range(0, T, C):
        c1 = min(c0 + C, T)
        W = c1 - c0
        cols: Optional[torch.Tensor] = None  # the working set; None: every neuron, worked on in place
        dw, hw, sw = d[c0:c1], h_all[c0:c1 + 1], s_all[c0:c1 + 1]  # hw, sw: row r + 1 is step c0 + r
        live = torch.ones(M, dtype=torch.bool, device=d.device)  # changed in the pass before
        r = 0
        for _ in range(2 * W + 2):  # at most W + 1 passes in exact arithmetic
            h_new = _window_potential(dw[r:], sw[r:W], hw[r], beta, theta_rel, hard, method)
            s_new = torch.ge(h_new + v_rest if hard and v_rest != 0.0 else h_new, v_threshold,
                             out=torch.empty_like(h_new))
            # which spikes changed, as bytes: the spikes are 0.0 or 1.0, so their bit patterns differ exactly
            # where they do (a byte reduction is much faster than a bool one on the CPU)
            flips = (s_new.view(ints) ^ sw[r + 1:].view(ints)).view(torch.uint8)
            hw[r + 1:], sw[r + 1:] = h_new, s_new
            if cols is None:
                counts += live
            else:
                counts.index_add_(0, cols, live.long())
            passes += 1
            if not active_set:
                if not bool(flips.amax()):
                    break
                continue
            early = flips[:-1]  # a change on the last step is final
            if early.numel() == 0:
                break
            rows = early.amax(1)
            if not bool(rows.amax()):
                break
            r += int(rows.nonzero()[0]) + 1
            live = early.amax(0).view(ints) != 0
            n_live = int(live.sum())
            if n_live < _COMPACT * live.numel():  # compact the working set to the neurons still changing
                if cols is not None:
                    h_all[c0:c1 + 1].index_copy_(1, cols, hw)
                    s_all[c0:c1 + 1].index_copy_(1, cols, sw)
                keep = live.nonzero().squeeze(1)
                cols = keep if cols is None else cols[keep]
                dw, hw, sw = (a.index_select(1, cols) for a in (d[c0:c1], h_all[c0:c1 + 1], s_all[c0:c1 + 1]))
                live = torch.ones(n_live, dtype=torch.bool, device=d.device)
        if cols is not None:
            h_all[c0:c1 + 1].index_copy_(1, cols, hw)
            s_all[c0:c1 + 1].index_copy_(1, cols, sw)
    return s_all[1:].view(x.shape), passes, counts.view(x.shape[1:])


def _repair(x: torch.Tensor, s: torch.Tensor, s_new: torch.Tensor, tau: float, v_threshold: float,
            v_reset: Optional[float], decay_input: bool, method: str) -> tuple[torch.Tensor, int]:
    """The plain iteration from ``s_new`` = F(``s``) on the neurons where the two differ, alone; the others
    are fixed points already.  Returns the spikes and the passes it took."""
    T = x.shape[0]
    flat_new = s_new.reshape(T, -1)
    cols = (flat_new != s.reshape(T, -1)).any(0).nonzero().squeeze(1)
    sub, _, passes = _iterate(x.reshape(T, -1).index_select(1, cols), tau, v_threshold, v_reset, decay_input,
                              T + 1, method, flat_new.index_select(1, cols))
    return flat_new.index_copy(1, cols, sub).view(x.shape), passes


def _check_form(chunk: Optional[int], active_set: bool, grad: str, prefix: str = "") -> None:
    """Errors that name the argument (``prefix`` + its name, as :class:`LIF` spells it)."""
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"{prefix}chunk={chunk!r} must be None (one chunk of T steps) or an int >= 1")
    if not isinstance(active_set, bool):
        raise TypeError(f"{prefix}{'active' if prefix else 'active_set'}={active_set!r} must be a bool")
    if not isinstance(grad, str) or grad not in GRADS:
        raise ValueError(f"{prefix}grad={grad!r}; expected one of {', '.join(map(repr, GRADS))}")


def fixed_point_lif(x_seq: torch.Tensor, tau: float = 2.0, v_threshold: float = 1.0,
                    v_reset: Optional[float] = 0.0, decay_input: bool = True,
                    surrogate_function: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
                    detach_reset: bool = False, method: str = "auto", *, active_set: bool = True,
                    chunk: Optional[int] = None, grad: str = "bptt"
                    ) -> tuple[torch.Tensor, torch.Tensor, int]:
    r"""The serial LIF's spikes, computed as a fixed point: ``(spike_seq, h_seq, iterations)``.

    ``spike_seq`` equals :func:`snnlib.neurons.lif_multi_step`'s; ``h_seq`` is the pre-spike potential
    (detached); ``iterations`` counts the passes of one scan and one threshold.
    Arguments as :class:`snnlib.neurons.LIF`; ``method``: the scan's method (:func:`leaky_integrate`).

    The form (every form returns the same spikes and ``h_seq``, bit for bit):

    * ``active_set=False, chunk=None``, the plain form: whole-tensor passes from :math:`S^0 = 0` until no
      spike changes, the confirming pass included: at most :math:`T + 1`.
    * ``active_set=True`` (default): a pass recomputes only from the step after the earliest first change
      of the pass before (the spikes up to it are final, see the module's docstring), and only the
      neurons (flattened over batch and features) still changing: the working set is compacted to them
      each time they are fewer than half of it.  A change on the last step is final and needs no
      confirming pass.  Same count as the plain form, or one less.
    * ``chunk=C``: time cut into chunks of C steps, solved one after another, each a fixed point started
      from the state the previous chunk leaves; ``iterations`` is then the sum of the chunks' passes (at
      most :math:`T + \lceil T/C \rceil`).  ``chunk=1`` is the serial loop (one pass per step), ``chunk=None``
      (or T) fully parallel.

    The fast forms find the spikes with scans over windows and subsets, whose rounding can differ from a
    whole-tensor scan's near the threshold; one whole-tensor pass (not counted) then computes ``h_seq``
    exactly as the plain form does and confirms the spikes as its fixed point.  In the rare case it does
    not (in float32, a potential within rounding of the threshold), the plain iteration continues on the
    neurons that moved, its passes counted (so the bounds above hold in exact arithmetic), and the
    whole-tensor pass confirms again.
    The fixed point of a causal map is unique, so the result is the plain form's.
    :func:`iteration_counts` gives the passes per neuron.

    Gradients, ``grad``:

    * ``"bptt"`` (default): the serial LIF's surrogate BPTT on the fixed point's :math:`H` and :math:`S`
      (its adjoint recurrence, serial in time; ``detach_reset`` as in :class:`LIF`):

      .. math::
          \frac{\partial L}{\partial H[t]} = \frac{\partial L}{\partial S[t]}\,\sigma'(H[t]-\theta)
              + \beta\,\frac{\partial V[t]}{\partial H[t]}\,\frac{\partial L}{\partial H[t+1]},
          \quad \frac{\partial V[t]}{\partial H[t]} = 1 - \theta\sigma'(H[t]-\theta)\ \text{(soft)},\ \
          1 - S[t] + (V_{reset} - H[t])\,\sigma'(H[t]-\theta)\ \text{(hard)}.

    * ``"last_step"``: through the last fixed-point update only, as implicit-differentiation methods do:
      the potential as one scan of the input given the spikes, detached,
      :math:`H = \mathrm{scan}_S(D)` (module equations), then the surrogate spike
      :math:`\sigma(H - \theta)`.  The spikes' dependence on the input through the reset is dropped:

      .. math::
          \frac{\partial L}{\partial H[t]} = \frac{\partial L}{\partial S[t]}\,\sigma'(H[t]-\theta)
              + \beta\,c[t]\,\frac{\partial L}{\partial H[t+1]},\qquad
          c[t] = 1\ \text{(soft)},\ 1 - S[t]\ \text{(hard)},

      a linear reverse scan, parallel in time, and the serial BPTT's gradient with ``detach_reset=True``
      (which ``detach_reset`` therefore does not change).

    Defined in chapter 09 (The reset, in parallel), section "From scratch, then snnlib".
    """
    check_time_first(x_seq)
    tau = _check_lif_args(tau, v_threshold, v_reset)
    _check_form(chunk, active_set, grad)
    if surrogate_function is None:
        surrogate_function = default_surrogate()
    check_surrogate(surrogate_function)
    if not bool(torch.isfinite(x_seq).all()):
        raise ValueError("x_seq holds NaN or inf; the fixed point is defined for finite input "
                         "(use the serial LIF, method='serial', to propagate non-finite values causally)")
    v_reset = None if v_reset is None else float(v_reset)
    v_threshold, decay_input = float(v_threshold), bool(decay_input)
    T = x_seq.shape[0]
    xd = x_seq.detach()
    plain = not active_set and chunk is None
    last_step = grad == "last_step" and torch.is_grad_enabled() and x_seq.requires_grad
    h_grad = None  # with last_step: the last update's potential, differentiable in x_seq
    with torch.no_grad():
        if plain:
            s, h, k = _iterate(xd, tau, v_threshold, v_reset, decay_input, T + 1, method)
        else:
            s, k, _ = _solve(xd, tau, v_threshold, v_reset, decay_input, chunk, active_set, method)
    if not plain:  # the whole-tensor pass: h as the plain form computes it, and the spikes confirmed
        for attempt in range(2):
            with torch.set_grad_enabled(last_step):
                h_grad = fixed_point_potential(x_seq if last_step else xd, s, tau, v_reset, v_threshold,
                                               decay_input, method)
            h = h_grad.detach()
            s_new = (h >= v_threshold).to(xd.dtype)
            if torch.equal(s_new, s):
                break
            # rounding moved a spike near the threshold (the windows' scans round differently from the whole
            # tensor's): finish those neurons alone with whole-length passes (neurons are independent),
            # then confirm again; should that fail too, finish every neuron plainly
            h_grad = None
            with torch.no_grad():
                if attempt == 0:
                    s, extra = _repair(xd, s, s_new, tau, v_threshold, v_reset, decay_input, method)
                else:
                    s, h, extra = _iterate(xd, tau, v_threshold, v_reset, decay_input, T + 1, method, s_new)
            k += extra
    if grad == "last_step":
        if not last_step:
            return s, h, k
        if h_grad is None:
            h_grad = fixed_point_potential(x_seq, s, tau, v_reset, v_threshold, decay_input, method)
        relaxed = surrogate_function(h_grad - v_threshold)
        return s + (relaxed - relaxed.detach()), h, k
    spikes = _FixedPointLIF.apply(x_seq, s, h, (tau, decay_input, v_threshold, v_reset,
                                                bool(detach_reset), surrogate_function))
    return spikes, h, k


def iteration_counts(x_seq: torch.Tensor, tau: float = 2.0, v_threshold: float = 1.0,
                     v_reset: Optional[float] = 0.0, decay_input: bool = True, chunk: Optional[int] = None,
                     method: str = "auto") -> torch.Tensor:
    """The passes each neuron takes in the active-set form (:func:`fixed_point_lif`), ``[N, *]`` (int64),
    summed over the chunks with ``chunk``: one plus the number of passes that changed one of its spikes
    before the chunk's last step (a change on that step is final).  Without chunks, its maximum over the
    neurons is ``fixed_point_lif``'s ``iterations`` (up to the rare float repair there); a neuron that
    never fires takes 1.  The forward only, no gradient.

    Defined in chapter 09 (The reset, in parallel), section "How many iterations, really".
    """
    check_time_first(x_seq)
    tau = _check_lif_args(tau, v_threshold, v_reset)
    _check_form(chunk, True, "bptt")
    if not bool(torch.isfinite(x_seq).all()):
        raise ValueError("x_seq holds NaN or inf; the fixed point is defined for finite input")
    with torch.no_grad():
        return _solve(x_seq.detach(), tau, float(v_threshold), None if v_reset is None else float(v_reset),
                      bool(decay_input), chunk, True, method)[2]


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

    Defined in chapter 09 (The reset, in parallel), section "The PSU is one fixed-point step".
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

    Defined in chapter 09 (The reset, in parallel), section "FPT: a fixed number of relaxed passes".
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
