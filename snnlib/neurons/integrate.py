r"""Leaky integration without a reset: one linear recurrence, five ways to compute it.

.. math::
    u[t] = \beta\, u[t-1] + (1 - \beta)\, x[t], \qquad u[-1] = 0

(``scale_input=False`` drops the factor :math:`1-\beta`).  With ``alpha`` the input first passes a
synaptic stage, ParaLIF's two-stage form:

.. math::
    I[t] = \alpha\, I[t-1] + x[t], \qquad u[t] = \beta\, u[t-1] + (1 - \beta)\, I[t].

Because there is no reset, :math:`u = W x` with a fixed lower-triangular Toeplitz
:math:`W[t, s] = (1-\beta)\beta^{t-s}` -- the observation PSN starts from.  The methods:

* ``serial``: the loop over :math:`t`, one fused ``lerp`` per step;
* ``dense``: the :math:`T \times T` matrix product :math:`W x`;
* ``fft``: the convolution with the kernel :math:`k[n] = (1-\beta)\beta^n` through FFTs of length
  :math:`2T`.  Every stage is a *linear* convolution truncated to :math:`T` samples, so nothing wraps
  around, whatever T and ``alpha`` (the official ParaLIF code multiplies three length-2T FFTs, whose
  circular product aliases at short T);
* ``scan``: the chunked scan.  Time is cut into T/C chunks of C steps.  For a scalar beta (C = 16):
  (1) every chunk from a zero start, all at once, by one batched product with the C x C decay matrix
  :math:`L[i, j] = c\,\beta^{i-j}`; (2) the state carried into each chunk,
  :math:`h_k = \beta^C h_{k-1} + e_{k-1}` with :math:`e_k` the chunk's last value, a loop over small
  ``[N, *]`` vectors; (3) one pass adds :math:`\beta^{i+1} h_k` to row i of chunk k.  For a beta per
  neuron (C = 8) no single matrix serves every neuron, so (1) and (3) become C-step loops that advance
  all chunks together.  Work O(T C); few multi-threaded operations, which matters on a shared machine;
* ``auto``: a fixed rule, see :func:`auto_method`.  It never times anything.

Gradients.  The map is linear in :math:`x`, so the backward pass is the same recurrence run backwards
in time on the gradient (the adjoint :math:`\lambda[t] = g[t] + \beta\lambda[t+1]`), with the chosen
method.  For :math:`\beta` and :math:`\alpha`:

.. math::
    \frac{\partial L}{\partial\beta} = \sum_t \lambda[t]\,(u[t-1] - I[t]), \qquad
    \frac{\partial L}{\partial\alpha} = \sum_t \mu[t]\, I[t-1], \quad
    \mu[t] = (1-\beta)\lambda[t] + \alpha\,\mu[t+1].

Only the input (and beta, alpha) is saved; :math:`I` and :math:`u` are recomputed in the backward pass
when a gradient for beta or alpha is asked for.

Papers: PSN (https://arxiv.org/abs/2304.12760), ParaLIF (https://doi.org/10.1088/2634-4386/adb7fe).
"""
from __future__ import annotations

import contextlib
from typing import Optional, Union

import torch

from .surrogate import check_time_first

__all__ = ["leaky_integrate", "auto_method", "METHODS", "scan_chunk"]

METHODS: tuple[str, ...] = ("auto", "serial", "dense", "fft", "scan")

Coef = Union[float, torch.Tensor]  # a Python float, or a tensor broadcastable to x.shape[1:]


# ----------------------------------------------------------------------------------------------------
# the fixed rules


def auto_method(T: int, device: Union[str, torch.device] = "cpu", dtype: torch.dtype = torch.float32,
                per_neuron: bool = False) -> str:
    """The method that ``method="auto"`` uses: a fixed table, never a run-time measurement.

    * scalar beta (and alpha): ``dense`` for T <= 32 (one small matrix product), else ``scan``;
    * a beta or alpha per neuron: ``serial`` for T <= 64, else ``scan`` (a T x T matrix per neuron
      makes ``dense`` slow even at T = 16).

    Measured by ``python -m snnlib.bench neurons`` on the book's 2-core CPU (float32, ``[T, 32, 256]``,
    forward + backward): with a scalar beta, at T = 16 ``dense`` ties with the loop and at T = 64
    ``scan``, ``dense`` and ``serial`` are within 10% of each other; from T = 256 on ``scan`` is the
    fastest (about 2x ``serial`` at T = 256, 1024 and 4096), ``dense`` grows as T^2 and ``fft`` is
    10-40x slower.  With a beta per neuron, ``serial`` wins at T = 16, is within about 10% at 64,
    and ``scan`` wins from 256 on.  ``device`` and ``dtype`` are part of the rule's signature, but the table
    does not depend on them yet: float64 and GPUs have not been measured, and nothing here is tuned for
    them.  One caveat on a shared machine: ``scan`` and ``dense`` use multi-threaded kernels, ``serial``
    does not, so when other processes hold the cores every threaded call waits for a time slice and
    ``serial`` can come out ahead.
    """
    del device, dtype  # documented inputs of the rule; the table does not depend on them (yet)
    if per_neuron:
        return "serial" if T <= 64 else "scan"
    return "dense" if T <= 32 else "scan"


SCAN_CHUNK = {"scalar": 16, "per_neuron": 8}


def scan_chunk(T: int, per_neuron: bool = False) -> int:
    """The chunk length C of the ``scan`` method (a fixed table, see the module docstring)."""
    del T
    return SCAN_CHUNK["per_neuron" if per_neuron else "scalar"]


# ----------------------------------------------------------------------------------------------------
# first-order scans: out[t] = w * out[t -/+ 1] + c * x[t], c = (1 - w) if scaled else 1.
# No autograd inside; ``out`` may be ``x`` itself (in place) for serial and scan.


def _step(x_t: torch.Tensor, prev: torch.Tensor, w: Coef, scaled: bool, out_t: torch.Tensor) -> None:
    if scaled and isinstance(w, float):
        # prev + (1 - w)(x - prev), one fused op.  The scalar weight of lerp is rounded to x's dtype, so it
        # must be 1 - w (accurate) and not w: in float32, w = 1 - 1e-8 rounds to 1 and u would never move
        torch.lerp(prev, x_t, 1.0 - w, out=out_t)
    elif scaled:  # (1 - w) x + w prev, with w a tensor of x's dtype
        torch.lerp(x_t, prev, w, out=out_t)
    elif isinstance(w, float):
        torch.add(x_t, prev, alpha=w, out=out_t)
    else:
        torch.addcmul(x_t, prev, w, out=out_t)


def _first(x_t: torch.Tensor, w: Coef, scaled: bool, out_t: torch.Tensor) -> None:
    if scaled:
        torch.mul(x_t, 1 - w, out=out_t)
    elif out_t.data_ptr() != x_t.data_ptr():
        out_t.copy_(x_t)


def _serial(x, w, scaled, reverse, out, start=0, stop=None, prev=None):
    stop = x.shape[0] if stop is None else stop
    order = range(stop - 1, start - 1, -1) if reverse else range(start, stop)
    for t in order:
        if prev is None:
            _first(x[t], w, scaled, out[t])
        else:
            _step(x[t], prev, w, scaled, out[t])
        prev = out[t]
    return out


def _scan_gemm(x, w, scaled, reverse, out):
    """Scalar w: each chunk by one batched matrix product, carries by a short loop, one fix-up pass."""
    T = x.shape[0]
    C = scan_chunk(T, per_neuron=False)
    n = T // C
    if n < 2:
        return _serial(x, w, scaled, reverse, out)
    if out.data_ptr() == x.data_ptr():  # a matrix product cannot run in place
        out = torch.empty_like(x, memory_format=torch.contiguous_format)
    T0 = n * C
    a = T - T0 if reverse else 0  # chunks cover [a, a + T0); the remainder runs serially afterwards
    M = x[0].numel()
    xv = x[a : a + T0].reshape(n, C, M)
    ov = out[a : a + T0].view(n, C, M)
    # (1) every chunk from a zero start: u_k = L x_k, L[i, j] = c w^(i - j) for j <= i (L^T backwards)
    idx = torch.arange(C, device=x.device)
    lag = idx[:, None] - idx[None, :]
    L = torch.where(lag >= 0, _powers(w, lag.clamp(min=0), torch.float64) * ((1 - w) if scaled else 1.0), 0.0)
    L = _flush(L.to(x.dtype))
    torch.matmul(L.t() if reverse else L, xv, out=ov)
    # (2) carries: the state entering chunk k, from the chunk totals e (last row; first row backwards)
    e = ov[:, 0] if reverse else ov[:, C - 1]
    wC = w**C
    wC = 0.0 if wC < _tiny(x.dtype) else wC
    carry = torch.empty((n, M), dtype=x.dtype, device=x.device)
    chunks = range(n - 1, -1, -1) if reverse else range(n)
    k_prev = None
    for k in chunks:
        if k_prev is None:
            carry[k].zero_()
        else:
            torch.add(e[k_prev], carry[k_prev], alpha=wC, out=carry[k])
        k_prev = k
    # (3) one pass adds the carried state: u[k, i] += w^(i+1) carry[k] (w^(C-i) backwards)
    steps = torch.arange(C, device=x.device)
    pw = _flush(_powers(w, (C - steps) if reverse else (steps + 1), x.dtype))
    if reverse:
        ov[:-1].addcmul_(pw.view(1, C, 1), carry[:-1].unsqueeze(1))
    else:
        ov[1:].addcmul_(pw.view(1, C, 1), carry[1:].unsqueeze(1))
    # remainder, continuing from the chunked part
    if reverse and a > 0:
        _serial(x, w, scaled, True, out, 0, a, prev=out[a])
    elif not reverse and T0 < T:
        _serial(x, w, scaled, False, out, T0, T, prev=out[T0 - 1])
    return out


def _scan(x, w, scaled, reverse, out):
    if isinstance(w, float):
        return _scan_gemm(x, w, scaled, reverse, out)
    return _scan_slab(x, w, scaled, reverse, out)


def _scan_slab(x, w, scaled, reverse, out):
    """Per-neuron w: chunk ends by a C-step loop, carries, then all chunks advance together."""
    T = x.shape[0]
    C = scan_chunk(T, per_neuron=True)
    n = T // C
    if n < 2:
        return _serial(x, w, scaled, reverse, out)
    T0 = n * C
    a = T - T0 if reverse else 0  # chunks cover [a, a + T0); the remainder runs serially afterwards
    rest = x.shape[1:]
    xv = x[a : a + T0].view(n, C, *rest)
    ov = out[a : a + T0].view(n, C, *rest)
    inner = range(C - 1, -1, -1) if reverse else range(C)
    # (1) each chunk's end value from a zero start: C steps over all chunks at once
    e = torch.empty((n, *rest), dtype=x.dtype, device=x.device)
    it = iter(inner)
    _first(xv[:, next(it)], w, scaled, e)
    for i in it:
        _step(xv[:, i], e, w, scaled, e)
    # (2) carries into each chunk, a loop over [N, *] vectors
    wC = _flush(w**C)
    carry = torch.empty_like(e)
    chunks = range(n - 1, -1, -1) if reverse else range(n)
    k_prev = None
    for k in chunks:
        if k_prev is None:
            carry[k].zero_()
        else:
            torch.addcmul(e[k_prev], carry[k_prev], wC, out=carry[k])
        k_prev = k
    # (3) all chunks advance together
    prev = carry
    for i in inner:
        _step(xv[:, i], prev, w, scaled, ov[:, i])
        prev = ov[:, i]
    # remainder, continuing from the chunked part
    if reverse and a > 0:
        _serial(x, w, scaled, True, out, 0, a, prev=out[a])
    elif not reverse and T0 < T:
        _serial(x, w, scaled, False, out, T0, T, prev=out[T0 - 1])
    return out


def _tiny(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).tiny ** 0.5


def _flush(p: torch.Tensor) -> torch.Tensor:
    """Set decay powers below sqrt(smallest normal) (1e-19 in float32, 1e-154 in float64) to 0.

    Products with such weights go subnormal, and subnormal arithmetic is ~100x slower on CPUs; the
    terms dropped are far below rounding of any output that is not itself that small."""
    return p.masked_fill_(p.abs() < _tiny(p.dtype), 0.0)


def _powers(w: float, n: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``w ** n`` for a float w, computed in float64 and rounded once to ``dtype`` (``torch.pow(w, n)``
    would round w to n's dtype first: 1 - 1e-8 becomes 1 in float32)."""
    return torch.pow(torch.tensor(w, dtype=torch.float64, device=n.device), n.to(torch.float64)).to(dtype)


def _pow_table(w: torch.Tensor, T: int) -> torch.Tensor:
    """``w ** n`` for n = 0..T-1 and a tensor w, shape [T, *w.shape]; subnormals flushed to 0."""
    n = torch.arange(T, dtype=w.dtype, device=w.device)
    return _flush(torch.pow(w.unsqueeze(0), n.view(T, *([1] * w.dim()))))


_DENSE_MAX_ELEMENTS = 1 << 25  # per-neuron weights are built a few T x T matrices at a time


def _dense(x, w, scaled, reverse, out):
    T = x.shape[0]
    idx = torch.arange(T, device=x.device)
    lag = idx[:, None] - idx[None, :]  # t - s
    causal = lag >= 0
    lag = lag.clamp(min=0)
    c = (1 - w) if scaled else 1.0
    if isinstance(w, float):
        k = _powers(w, torch.arange(T, device=x.device), torch.float64) * c  # k[n] = c w^n
        W = _flush(torch.where(causal, k[lag], 0.0).to(x.dtype))
        if reverse:
            W = W.t()
        if out.data_ptr() == x.data_ptr():
            return out.copy_(torch.matmul(W, x.reshape(T, -1)).view_as(x))
        torch.matmul(W, x.reshape(T, -1), out=out.view(T, -1))
        return out
    F = w.numel()
    xf = x.reshape(T, -1, F)
    of = out.reshape(T, -1, F)
    group = max(1, _DENSE_MAX_ELEMENTS // (T * T))  # features per batch of T x T matrices: bounded memory
    for f0 in range(0, F, group):
        wf = w.reshape(F, 1, 1)[f0 : f0 + group]
        W = torch.where(causal, torch.pow(wf, lag.to(x.dtype)), 0.0)
        if scaled:
            W = W * (1 - wf)
        W = _flush(W)
        if reverse:
            W = W.transpose(1, 2)
        of[:, :, f0 : f0 + group] = torch.einsum("fts,snf->tnf", W, xf[:, :, f0 : f0 + group])
    return out


def _fft(x, w, scaled, reverse, out):
    T = x.shape[0]
    L = 2 * T  # a linear convolution of two length-T signals fits: no wrap-around
    if isinstance(w, float):
        n = torch.arange(T, device=x.device)
        k = _flush((_powers(w, n, torch.float64) * ((1 - w) if scaled else 1.0)).to(x.dtype))
    else:
        k = _pow_table(w, T)
        if scaled:
            k = _flush(k * (1 - w))
    K = torch.fft.rfft(k, n=L, dim=0)
    if not isinstance(w, float):
        K = K.unsqueeze(1)  # [L/2+1, 1, *F] against [L/2+1, N, *F]
    else:
        K = K.view(-1, *([1] * (x.dim() - 1)))
    X = torch.fft.rfft(x, n=L, dim=0)
    X.mul_(K.conj() if reverse else K)
    y = torch.fft.irfft(X, n=L, dim=0)[:T]
    return out.copy_(y)


_SCANS = {"serial": _serial, "scan": _scan, "dense": _dense, "fft": _fft}


def _all_finite(x: torch.Tensor) -> bool:
    """False if ``x`` holds a NaN or an infinity (then its sum is not finite either).  One reduction; a
    finite ``x`` whose sum overflows also gives False, which only costs the slower, exact loop."""
    return bool(torch.isfinite(x.sum()))


def _scan1(x: torch.Tensor, w: Coef, scaled: bool, reverse: bool, method: str,
           out: Optional[torch.Tensor] = None) -> torch.Tensor:
    if out is None:
        out = torch.empty_like(x, memory_format=torch.contiguous_format)
    if method != "serial" and not _all_finite(x):
        # dense, fft and scan mix all steps (of a chunk) in one product, where 0 * NaN = NaN would reach
        # the steps before a NaN; the loop reads x[t] only from step t on, so causality holds
        method = "serial"
    return _SCANS[method](x, w, scaled, reverse, out)


# ----------------------------------------------------------------------------------------------------
# autograd


def _sum_prod(a: torch.Tensor, b: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """sum over time and batch of a * b, reduced to coef's shape ([] or x.shape[2:])."""
    if a.numel() == 0:
        return torch.zeros_like(coef)
    if coef.dim() == 0:
        return torch.dot(a.reshape(-1), b.reshape(-1)).reshape(())
    F = coef.numel()
    a2, b2 = a.reshape(-1, F), b.reshape(-1, F)
    rows = max(1, (1 << 20) // F)  # blocks of about a million elements: no full-size temporary
    acc = torch.zeros(F, dtype=a.dtype, device=a.device)
    for r in range(0, a2.shape[0], rows):
        acc += (a2[r : r + rows] * b2[r : r + rows]).sum(0)
    return acc.view_as(coef)


def _as_coef(v):
    """A 0-dim tensor becomes a Python float for the kernels (they take either)."""
    if isinstance(v, torch.Tensor) and v.dim() == 0:
        return float(v.item())
    return v


class _LeakyIntegrate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, beta, alpha, scale_input, method):
        b, a = _as_coef(beta), _as_coef(alpha)
        in_place = method in ("serial", "scan")
        if alpha is None:
            u = _scan1(x, b, scale_input, False, method)
        else:
            i_seq = _scan1(x, a, False, False, method)
            u = _scan1(i_seq, b, scale_input, False, method, out=i_seq if in_place else None)
        coef_grad = any(ctx.needs_input_grad[1:3])  # x is read back only for the gradients of beta, alpha
        ctx.save_for_backward(
            x if coef_grad else None,
            beta if isinstance(beta, torch.Tensor) else None,
            alpha if isinstance(alpha, torch.Tensor) else None,
        )
        ctx.floats = tuple(None if isinstance(v, torch.Tensor) else v for v in (beta, alpha))
        ctx.cfg = (scale_input, method)
        return u

    @staticmethod
    def backward(ctx, g):
        with _autocast_off(g.device.type):
            return _LeakyIntegrate._backward(ctx, g)

    @staticmethod
    def _backward(ctx, g):
        x, beta_t, alpha_t = ctx.saved_tensors
        beta = ctx.floats[0] if beta_t is None else beta_t
        alpha = ctx.floats[1] if alpha_t is None else alpha_t
        scale_input, method = ctx.cfg
        b, a = _as_coef(beta), _as_coef(alpha)
        need_x, need_b, need_a = ctx.needs_input_grad[:3]
        g = g.contiguous()
        in_place = method in ("serial", "scan")
        gx = gb = ga = None
        if not (need_b or need_a):
            g_i = _scan1(g, b, scale_input, True, method)
            gx = g_i if alpha is None else _scan1(g_i, a, False, True, method, out=g_i if in_place else None)
            return gx, None, None, None, None
        # adjoint of u (unscaled), then recompute what the coefficient gradients read
        lam = _scan1(g, b, False, True, method)
        i_seq = x if alpha is None else _scan1(x, a, False, False, method)
        if need_b:
            u = _scan1(i_seq, b, scale_input, False, method)
            gb = _sum_prod(lam[1:], u[:-1], beta)
            del u
            if scale_input:
                gb = gb - _sum_prod(lam, i_seq, beta)
        g_i = lam.mul_(1 - b) if scale_input else lam
        if alpha is None:
            gx = g_i
        else:
            mu = _scan1(g_i, a, False, True, method, out=g_i if in_place else None)
            if need_a:
                ga = _sum_prod(mu[1:], i_seq[:-1], alpha)
            gx = mu
        return (gx if need_x else None), gb, ga, None, None


# ----------------------------------------------------------------------------------------------------
# the public function


LOW_PRECISION = (torch.float16, torch.bfloat16)


def _autocast_off(device_type: str):
    """Autocast would run the kernels' matrix products in low precision (and mismatch their ``out=``)."""
    if torch.is_autocast_enabled(device_type):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()


def _work_dtype(x: torch.Tensor, *tensors: Optional[torch.Tensor]) -> torch.dtype:
    """The dtype a neuron computes in: float16 / bfloat16 become float32, then the promotion of ``x``
    with the neuron's parameters (also raised to float32).  The neurons return ``x``'s dtype."""
    def up(dt: torch.dtype) -> torch.dtype:
        return torch.float32 if dt in LOW_PRECISION else dt
    work = up(x.dtype)
    for t in tensors:
        if t is not None:
            work = torch.promote_types(work, up(t.dtype))
    return work


def _check_coef(name: str, v, x: torch.Tensor) -> Coef:
    if isinstance(v, bool) or not isinstance(v, (int, float, torch.Tensor)):
        raise TypeError(f"{name}={v!r} must be a float in (0, 1) or a tensor of shape [] or {tuple(x.shape[2:])}")
    if not isinstance(v, torch.Tensor):
        v = float(v)
        if not 0.0 < v < 1.0:
            raise ValueError(f"{name}={v!r} is outside (0, 1); expected 0 < {name} < 1")
        return v
    if v.dim() != 0 and tuple(v.shape) != tuple(x.shape[2:]):
        raise ValueError(
            f"{name} has shape {tuple(v.shape)}; expected a scalar (shape ()) or one value per neuron, "
            f"x.shape[2:] = {tuple(x.shape[2:])} (x has shape {tuple(x.shape)})"
        )
    if v.dtype != x.dtype or v.device != x.device:
        raise TypeError(
            f"{name} is {v.dtype} on {v.device} but x is {x.dtype} on {x.device}; expected the same dtype and "
            "device (convert it explicitly)"
        )
    with torch.no_grad():
        lo, hi = float(v.min()), float(v.max())
    if not (0.0 < lo and hi < 1.0):
        raise ValueError(f"{name} has values in [{lo:.6g}, {hi:.6g}], outside (0, 1); expected 0 < {name} < 1")
    return v


def leaky_integrate(
    x: torch.Tensor,
    beta: Coef,
    *,
    alpha: Optional[Coef] = None,
    scale_input: bool = True,
    method: str = "auto",
) -> torch.Tensor:
    r"""The reset-free leaky integrator, :math:`u[t] = \beta u[t-1] + (1-\beta) x[t]`, :math:`u[-1]=0`.

    Args:
        x: input ``[T, N, *]``.
        beta: membrane decay in (0, 1): a float, a 0-dim tensor, or a tensor of shape ``x.shape[2:]``
            (one per neuron).  A tensor may require grad.
        alpha: synaptic decay in (0, 1), same forms as ``beta``; when given, the input first passes
            :math:`I[t] = \alpha I[t-1] + x[t]` (ParaLIF's two-stage form).
        scale_input: multiply the input term by :math:`1-\beta` (spikingjelly's ``decay_input``).
        method: ``"serial"``, ``"dense"``, ``"fft"``, ``"scan"`` or ``"auto"`` (:func:`auto_method`).
            All give the same numbers up to rounding.

    Returns:
        :math:`u`, shape ``[T, N, *]``, the dtype of ``x``.

    Precision.  float16 and bfloat16 input (with ``beta``, ``alpha`` in the same dtype, or floats) is
    integrated in float32 and the result rounded once to ``x``'s dtype, forward and backward, under
    autocast or not.  Each element of ``u`` (and of the gradients) is then within
    :math:`\epsilon\,|u_{32}| + 10^{-5} \max|u_{32}|` of the float32 result :math:`u_{32}` for the same
    input, with :math:`\epsilon` = ``torch.finfo(x.dtype).eps`` (:math:`2^{-10}` for float16,
    :math:`2^{-7}` for bfloat16).  A result beyond float16's range (65504; possible with
    ``scale_input=False`` and beta near 1) becomes inf.  A float ``beta`` or ``alpha`` is used in float64
    where the methods build decay powers, so beta = 1 - 1e-8 is not rounded to 1 in float32.

    Non-finite input.  Every method is causal for any input: a NaN or inf in ``x[t]`` changes nothing
    before step t (nor other neurons).  ``dense``, ``fft`` and ``scan`` mix all steps in one product,
    where :math:`0 \cdot \text{NaN} = \text{NaN}`, so when ``x`` (or, backwards, the incoming gradient)
    is not finite they run ``serial`` instead; one reduction over ``x`` decides.

    Defined in chapter 01 (Parallel Spiking Neurons), section "Removing the reset".
    """
    check_time_first(x, "x")
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method={method!r} is not a method; expected one of {', '.join(map(repr, METHODS))}")
    beta = _check_coef("beta", beta, x)
    if alpha is not None:
        alpha = _check_coef("alpha", alpha, x)
    if method == "auto":
        per_neuron = any(isinstance(v, torch.Tensor) and v.dim() > 0 for v in (beta, alpha))
        method = auto_method(x.shape[0], x.device, x.dtype, per_neuron)
    if x.dtype not in LOW_PRECISION:
        with _autocast_off(x.device.type):
            return _LeakyIntegrate.apply(x.contiguous(), beta, alpha, bool(scale_input), method)
    # float16 / bfloat16: accumulate in float32 and round once (the casts are differentiable)
    beta, alpha = (v.float() if isinstance(v, torch.Tensor) else v for v in (beta, alpha))
    with _autocast_off(x.device.type):
        u = _LeakyIntegrate.apply(x.float().contiguous(), beta, alpha, bool(scale_input), method)
    return u.to(x.dtype)
