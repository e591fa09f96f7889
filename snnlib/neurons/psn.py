r"""The Parallel Spiking Neuron family: PSN, masked PSN and sliding PSN.

Remove the reset from the LIF and the potential becomes linear in the input, :math:`H = WX`; the PSN
makes :math:`W` learnable (Fang et al., NeurIPS 2023, https://arxiv.org/abs/2304.12760):

.. math::
    H &= W X + B, \qquad W \in \mathbb{R}^{T \times T},\ B \in \mathbb{R}^{T} \\
    S &= \Theta(H)

* **PSN**: :math:`W` dense -- not causal, :math:`S[t]` sees :math:`X` after :math:`t`.
* **Masked PSN** of order k: :math:`W \odot (\lambda M_k + (1-\lambda) J)`, with the band
  :math:`M_k[i, j] = 1[j \le i \le j + k - 1]` and :math:`J` all ones; :math:`\lambda` grows from 0 to 1
  during training (:meth:`MaskedPSN.lambda_at`).  At :math:`\lambda = 1` it is causal and can stream.
* **Sliding PSN** of order k: :math:`H[t] = \sum_{i=0}^{k-1} W_i X[t-k+1+i] + b`, weights shared over
  time: a causal FIR filter (a conv1d), any T.  spikingjelly 2.0.0 builds a T x T Toeplitz matrix in a
  Python loop on every call, O(T^2); here the filter runs as banded block matrix products, O(T k).

Parameter and buffer names, shapes and initialisation are spikingjelly 2.0.0's (``weight``, ``bias``,
``_lambda_``, ``mask0``, ``mask1``), so ``load_state_dict(strict=True)`` works in both directions.  Unlike
spikingjelly there is no ``step_mode``: ``forward`` always takes ``[T, N, *]`` and the causal neurons
stream one ``[N, *]`` step at a time through ``.step(x_t)`` and ``.reset()``.

Precision (the rule of every neuron in :mod:`snnlib.neurons`): the output has the input's dtype.
float16 and bfloat16 input, with autocast or without, is computed in float32 (the weights too) and
rounded once; float64 input with float32 weights is computed in float64.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torch.nn as nn

from .integrate import _all_finite, _autocast_off, _work_dtype
from .surrogate import check_surrogate, check_time_first, default_surrogate, spike

__all__ = ["PSN", "MaskedPSN", "SlidingPSN", "causal_fir", "lag_profile"]

Surrogate = Callable[[torch.Tensor], torch.Tensor]


def _check_int(name: str, value, lo: int, hi: Optional[int] = None, what: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name}={value!r} must be an integer {rng}{what}")
    return value


def _check_T(x_seq: torch.Tensor, T: int, who: str) -> None:
    check_time_first(x_seq)
    if x_seq.shape[0] != T:
        raise ValueError(
            f"x_seq has T={x_seq.shape[0]} time steps (shape {tuple(x_seq.shape)}), but this {who} was built "
            f"for T={T}; build a {who} with T={x_seq.shape[0]} or feed [T={T}, N, *]"
        )


def _check_step(x, queue: list) -> None:
    """``step``'s input: a floating tensor shaped like the inputs already queued since ``reset()``."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating torch.Tensor of shape [N, *], got {x!r:.60}")
    if queue and (queue[-1].shape != x.shape or queue[-1].device != x.device):
        raise ValueError(
            f"x has shape {tuple(x.shape)} on {x.device} but the queued inputs have shape "
            f"{tuple(queue[-1].shape)} on {queue[-1].device}; call reset() before feeding a differently "
            "shaped stream"
        )


def _surrogate(surrogate_function: Optional[Surrogate]) -> Surrogate:
    sf = default_surrogate() if surrogate_function is None else surrogate_function
    check_surrogate(sf)
    return sf


class PSN(nn.Module):
    r"""Parallel Spiking Neuron: :math:`H = WX + B`, :math:`S = \Theta(H)`, for a fixed T.

    ``weight`` is ``[T, T]`` (Kaiming-uniform, a = sqrt(5), like ``nn.Linear``), ``bias`` is ``[T, 1]``
    initialised to -1 (threshold +1).  Input and output ``[T, N, *]``; not causal, so no ``step``.

    Paper: https://arxiv.org/abs/2304.12760.  Defined in chapter 01 (Parallel Spiking Neurons), section "The Parallel Spiking Neuron".
    """

    def __init__(self, T: int, surrogate_function: Optional[Surrogate] = None):
        super().__init__()
        self.T = _check_int("T", T, 1)
        self.surrogate_function = _surrogate(surrogate_function)
        self.weight = nn.Parameter(torch.zeros(T, T))
        self.bias = nn.Parameter(torch.zeros(T, 1))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        nn.init.constant_(self.bias, -1.0)

    def charge(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The pre-spike potential ``H = W X + B``, ``[T, N, *]``."""
        _check_T(x_seq, self.T, "PSN")
        work = _work_dtype(x_seq, self.weight, self.bias)
        with _autocast_off(x_seq.device.type):
            h = torch.addmm(self.bias.to(work), self.weight.to(work), x_seq.flatten(1).to(work))
        return h.view(x_seq.shape).to(x_seq.dtype)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]``."""
        return spike(self.charge(x_seq), 0.0, self.surrogate_function)

    def extra_repr(self) -> str:
        return f"T={self.T}"


class MaskedPSN(nn.Module):
    r"""Masked PSN of order k: :math:`H = (W \odot M_k(\lambda)) X + B`, :math:`S = \Theta(H)`.

    :math:`M_k(\lambda) = \lambda M_k + (1 - \lambda) J`.  ``lambda_`` is settable (a buffer named
    ``_lambda_``, like spikingjelly, so it is saved with the model); :meth:`lambda_at` gives the paper's
    schedule.  At ``lambda_ == 1`` the neuron is causal and ``step(x_t)`` streams it.  Buffers
    ``mask0`` (the band :math:`M_k`) and ``mask1`` (:math:`J`) are spikingjelly's.

    Paper: https://arxiv.org/abs/2304.12760.

    Defined in chapter 01 (Parallel Spiking Neurons), section "The masked PSN".
    """

    def __init__(self, k: int, T: int, lambda_init: float = 0.0, surrogate_function: Optional[Surrogate] = None):
        super().__init__()
        self.T = _check_int("T", T, 1)
        self.k = _check_int("k", k, 1, T, f" (the order of a MaskedPSN cannot exceed T={T})")
        self.surrogate_function = _surrogate(surrogate_function)
        self.register_buffer("_lambda_", torch.as_tensor(self._check_lambda(lambda_init), dtype=torch.float32))
        self.weight = nn.Parameter(torch.zeros(T, T))
        self.bias = nn.Parameter(torch.zeros(T, 1))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        nn.init.constant_(self.bias, -1.0)
        mask1 = torch.ones(T, T)
        mask0 = torch.tril(mask1) * torch.triu(mask1, -(k - 1))
        self.register_buffer("mask0", mask0)
        self.register_buffer("mask1", mask1)
        self.reset()

    @staticmethod
    def _check_lambda(value) -> float:
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"lambda_={value!r} must be a number in [0, 1]")
        return float(value)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        key = prefix + "_lambda_"
        value = state_dict.get(key)
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            lam = float(value)
            if not 0.0 <= lam <= 1.0:
                raise ValueError(f"_lambda_={lam!r} in the state dict (key {key!r}) is outside [0, 1]; expected "
                                 "0 <= lambda_ <= 1")
        mkey = prefix + "mask0"
        mask0 = state_dict.get(mkey)
        if isinstance(mask0, torch.Tensor) and mask0.shape == self.mask0.shape \
                and not torch.equal(mask0.to(self.mask0.device, self.mask0.dtype), self.mask0):
            k = int((mask0[:, 0] != 0).sum())  # the band M_k has k ones in its first column
            ones = torch.ones(self.T, self.T)
            if torch.equal(mask0.detach().cpu().float(), torch.tril(ones) * torch.triu(ones, -(k - 1))):
                raise ValueError(f"mask0 in the state dict (key {mkey!r}) is the band of order k={k}, but this "
                                 f"MaskedPSN has k={self.k}; build MaskedPSN(k={k}, T={self.T}) to load it")
            raise ValueError(f"mask0 in the state dict (key {mkey!r}) is not the band of any order k; expected "
                             f"the band of order k={self.k} (T={self.T})")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    @property
    def lambda_(self) -> torch.Tensor:
        """The mask's progress :math:`\\lambda` in [0, 1] (a 0-dim tensor)."""
        return self._lambda_

    @lambda_.setter
    def lambda_(self, value: float) -> None:
        self._lambda_.fill_(self._check_lambda(value))

    @staticmethod
    def lambda_at(epoch: int, epochs: int) -> float:
        r"""The paper's schedule, :math:`\lambda = \min(8\,\text{epoch} / (\text{epochs} - 1), 1)`.

        ``epoch`` counts from 0; :math:`\lambda` reaches 1 after an eighth of training.
        """
        _check_int("epochs", epochs, 2, what=" (the schedule divides by epochs - 1)")
        _check_int("epoch", epoch, 0, epochs - 1, f" (epochs={epochs})")
        return min(8.0 * epoch / (epochs - 1), 1.0)

    def masked_weight(self) -> torch.Tensor:
        """:math:`W \\odot M_k(\\lambda)`, ``[T, T]`` (spikingjelly's arithmetic)."""
        if self._lambda_ >= 1.0:
            return self.weight * self.mask0
        lam = self._lambda_
        return (lam * self.mask0 + (1.0 - lam) * self.mask1) * self.weight

    def charge(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The pre-spike potential ``H``, ``[T, N, *]``.

        At ``lambda_ == 1`` it is causal also for a NaN or inf in ``x_seq``: then ``H`` is summed over
        the k diagonals of the band instead of one product, where 0 * NaN = NaN would reach every step.
        """
        _check_T(x_seq, self.T, "MaskedPSN")
        work = _work_dtype(x_seq, self.weight, self.bias)
        with _autocast_off(x_seq.device.type):
            W = self.masked_weight().to(work)
            bias = self.bias.to(work)
            x2 = x_seq.flatten(1).to(work)
            if float(self._lambda_) >= 1.0 and not _all_finite(x2):
                h = bias.expand(x2.shape)
                for d in range(self.k):  # H[t] += W[t, t - d] X[t - d]
                    h = h + nn.functional.pad(torch.diagonal(W, -d)[:, None] * x2[: self.T - d], (0, 0, d, 0))
            else:
                h = torch.addmm(bias, W, x2)
        return h.view(x_seq.shape).to(x_seq.dtype)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]``; all T steps at once."""
        return spike(self.charge(x_seq), 0.0, self.surrogate_function)

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """One step: ``x`` is ``[N, *]``; needs ``lambda_ == 1`` and at most T steps between resets."""
        if float(self._lambda_) < 1.0:
            raise ValueError(
                f"MaskedPSN.step needs lambda_ == 1 (causal), but lambda_={float(self._lambda_)}; with "
                "lambda_ < 1 the output at t depends on later inputs, so run forward() on [T, N, *]"
            )
        if self.t >= self.T:
            raise ValueError(f"MaskedPSN(T={self.T}) has already run {self.t} steps; call reset() first")
        _check_step(x, self.queue)
        self.queue.append(x)
        if len(self.queue) > self.k:
            self.queue.pop(0)
        t = self.t
        work = _work_dtype(x, self.weight, self.bias)
        with _autocast_off(x.device.type):
            w = self.masked_weight()[t, t + 1 - len(self.queue) : t + 1].to(work)
            h = torch.tensordot(w, torch.stack(self.queue).to(work), dims=1) + self.bias[t, 0].to(work)
        self.t += 1
        return spike(h.to(x.dtype), 0.0, self.surrogate_function)

    def reset(self) -> None:
        """Forget the streaming state (the time index and the last k inputs)."""
        self.t = 0
        self.queue: list[torch.Tensor] = []

    def extra_repr(self) -> str:
        return f"k={self.k}, T={self.T}, lambda_={float(self._lambda_)}"


# ----------------------------------------------------------------------------------------------------
# the causal FIR filter behind SlidingPSN: banded block matrix products


def _band(w: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, transposed: bool) -> torch.Tensor:
    """A[r, c] = w[cols[c] - rows[r] + k - 1] where that index is in [0, k) (A^T's entries if transposed)."""
    k = w.shape[0]
    lag = cols[None, :] - rows[:, None]
    idx = (-lag if transposed else lag) + k - 1
    valid = (idx >= 0) & (idx < k)
    return torch.where(valid, w[idx.clamp(0, k - 1)], torch.zeros((), dtype=w.dtype, device=w.device))


def _block(k: int) -> int:
    return max(32, k)


def _fir_loop(x2: torch.Tensor, w: torch.Tensor, transposed: bool) -> torch.Tensor:
    """:func:`_fir_apply` as k shifted sums: causal (anti-causal transposed) for any input, NaN included."""
    T = x2.shape[0]
    k = w.shape[0]
    y = torch.zeros_like(x2)
    for lag in range(min(k, T)):  # y[t] += w[k-1-lag] x[t-lag]  (y[s] += w[k-1-lag] x[s+lag])
        if transposed:
            y[: T - lag].addcmul_(x2[lag:], w[k - 1 - lag])
        else:
            y[lag:].addcmul_(x2[: T - lag], w[k - 1 - lag])
    return y


def _fir_apply(x2: torch.Tensor, w: torch.Tensor, transposed: bool) -> torch.Tensor:
    """y = A x2 (or A^T x2) for the T x T causal band A[t, s] = w[s - t + k - 1]; x2 is [T, M]."""
    if not _all_finite(x2):  # a block product would spread a NaN over its whole block (0 * NaN = NaN)
        return _fir_loop(x2, w, transposed)
    T, M = x2.shape
    k = w.shape[0]
    B = _block(k)
    dev = x2.device
    y = torch.empty_like(x2)
    # regular blocks j in [lo, hi): the window of inputs lies inside [0, T)
    if transposed:  # y[s] = sum_{t=s}^{s+k-1} w[s - t + k - 1] x[t]: window [jB, jB + B + k - 1)
        lo, hi, start = 0, max(0, (T - B - k + 1) // B + 1), 0
    else:  # y[t] = sum_{s=t-k+1}^{t} w[s - t + k - 1] x[s]: window [jB - k + 1, jB + B)
        lo, hi, start = -(-(k - 1) // B), T // B, -(k - 1)
    if hi > lo:
        rows = torch.arange(B, device=dev)
        cols = torch.arange(start, start + B + k - 1, device=dev)
        A = _band(w, rows, cols, transposed)
        win = x2.as_strided((hi - lo, B + k - 1, M), (B * M, M, 1), x2.storage_offset() + (lo * B + start) * M)
        torch.matmul(A, win, out=y[lo * B : hi * B].view(hi - lo, B, M))
        edges = [(0, lo * B), (hi * B, T)]
    else:
        edges = [(0, T)]
    for r0, r1 in edges:  # the rows whose window is cut by the ends of time
        if r1 <= r0:
            continue
        c0, c1 = (r0, min(T, r1 + k - 1)) if transposed else (max(0, r0 - k + 1), r1)
        A = _band(w, torch.arange(r0, r1, device=dev), torch.arange(c0, c1, device=dev), transposed)
        torch.matmul(A, x2[c0:c1], out=y[r0:r1])
    return y


def _fir_weight_grad(g2: torch.Tensor, x2: torch.Tensor, k: int) -> torch.Tensor:
    """dL/dw[i] = sum_t <g[t], x[t - k + 1 + i]>, by the same blocks."""
    T, M = x2.shape
    B = _block(k)
    dev = x2.device
    gw = torch.zeros(k, dtype=x2.dtype, device=dev)
    lo, hi = -(-(k - 1) // B), T // B
    if hi > lo:
        win = x2.as_strided((hi - lo, B + k - 1, M), (B * M, M, 1), x2.storage_offset() + (lo * B - k + 1) * M)
        gb = g2[lo * B : hi * B].view(hi - lo, B, M)
        P = torch.matmul(gb, win.transpose(1, 2)).sum(0)  # [B, B + k - 1]: P[r, c] pairs row r with lag c - r
        lag = torch.arange(B + k - 1, device=dev)[None, :] - torch.arange(B, device=dev)[:, None]
        valid = (lag >= 0) & (lag < k)
        gw.index_add_(0, lag[valid], P[valid])
        edges = [(0, lo * B), (hi * B, T)]
    else:
        edges = [(0, T)]
    for r0, r1 in edges:
        if r1 <= r0:
            continue
        c0 = max(0, r0 - k + 1)
        P = g2[r0:r1] @ x2[c0:r1].t()
        idx = torch.arange(c0, r1, device=dev)[None, :] - torch.arange(r0, r1, device=dev)[:, None] + k - 1
        valid = (idx >= 0) & (idx < k)
        gw.index_add_(0, idx[valid], P[valid])
    return gw


class _CausalFIR(torch.autograd.Function):
    # x2, weight and bias share one dtype (causal_fir casts them); autocast is off inside, so the
    # products run in that dtype and match their ``out=`` buffers
    @staticmethod
    def forward(ctx, x2, weight, bias):
        y = _fir_apply(x2, weight, transposed=False)
        if bias is not None:
            y.add_(bias)
        ctx.save_for_backward(x2, weight)
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, g):
        with _autocast_off(g.device.type):
            return _CausalFIR._backward(ctx, g)

    @staticmethod
    def _backward(ctx, g):
        x2, weight = ctx.saved_tensors
        g = g.to(x2.dtype).contiguous()
        gx = _fir_apply(g, weight, transposed=True) if ctx.needs_input_grad[0] else None
        gw = _fir_weight_grad(g, x2, weight.shape[0]) if ctx.needs_input_grad[1] else None
        gb = g.sum().reshape(()) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return gx, gw, gb


def causal_fir(x_seq: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    r""":math:`H[t] = \sum_{i=0}^{k-1} w_i X[t-k+1+i] (+ b)`, with :math:`X[t<0] = 0`; ``[T, N, *]``.

    Equal to a causal ``conv1d`` over time and to the T x T Toeplitz product, computed as banded block
    matrix products in O(T k) work; the backward pass stores only ``x_seq`` and ``weight``.  A NaN or inf
    in ``x_seq[t]`` reaches only ``H[t:t+k]``: for such input the k shifted sums run instead.  It runs in
    the promoted dtype of ``x_seq``, ``weight`` and ``bias``, also under autocast: a bfloat16 ``x_seq``
    from an autocast layer and float32 weights give a float32 result.
    """
    check_time_first(x_seq)
    if weight.dim() != 1:
        raise ValueError(f"weight has shape {tuple(weight.shape)}; expected [k]")
    dtype = torch.promote_types(x_seq.dtype, weight.dtype)
    if bias is not None:
        dtype = torch.promote_types(dtype, bias.dtype)
    x2 = x_seq.to(dtype).contiguous().view(x_seq.shape[0], -1)
    with _autocast_off(x2.device.type):
        y = _CausalFIR.apply(x2, weight.to(dtype), None if bias is None else bias.to(dtype))
    return y.view(x_seq.shape)


class SlidingPSN(nn.Module):
    r"""Sliding PSN of order k: :math:`H[t] = \sum_{i=0}^{k-1} W_i X[t-k+1+i] + b`, :math:`S = \Theta(H)`.

    ``weight`` is ``[k]``, ``bias`` a scalar (-1).  With ``exp_init`` (spikingjelly's default) the
    weights start as ``(..., 1/4, 1/2, 1)``; otherwise Kaiming-uniform as in the paper's code.  Works for
    any T; causal, so ``step(x_t)`` streams it.

    Paper: https://arxiv.org/abs/2304.12760.

    Defined in chapter 01 (Parallel Spiking Neurons), section "The sliding PSN".
    """

    def __init__(self, k: int, exp_init: bool = True, surrogate_function: Optional[Surrogate] = None):
        super().__init__()
        self.k = _check_int("k", k, 1)
        self.surrogate_function = _surrogate(surrogate_function)
        if exp_init:
            weight = torch.ones(k)
            for i in range(k - 2, -1, -1):
                weight[i] = weight[i + 1] / 2.0
        else:
            weight = torch.ones(1, k)
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
            weight = weight[0]
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(torch.as_tensor(-1.0))
        self.reset()

    def toeplitz_weight(self, T: int) -> torch.Tensor:
        """The equivalent T x T matrix (what spikingjelly multiplies by): ``H = W_T X + b``."""
        idx = torch.arange(T, device=self.weight.device)
        return _band(self.weight, idx, idx, transposed=False)

    def charge(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The pre-spike potential ``H``, ``[T, N, *]``, in ``x_seq``'s dtype (see the module's precision rule)."""
        check_time_first(x_seq)
        work = _work_dtype(x_seq, self.weight, self.bias)
        return causal_fir(x_seq.to(work), self.weight.to(work), self.bias.to(work)).to(x_seq.dtype)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]``."""
        return spike(self.charge(x_seq), 0.0, self.surrogate_function)

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """One step: ``x`` is ``[N, *]``; keeps the last k inputs until ``reset()``."""
        _check_step(x, self.queue)
        self.queue.append(x)
        if len(self.queue) > self.k:
            self.queue.pop(0)
        work = _work_dtype(x, self.weight, self.bias)
        with _autocast_off(x.device.type):
            w = self.weight[self.k - len(self.queue) :].to(work)
            h = torch.tensordot(w, torch.stack(self.queue).to(work), dims=1) + self.bias.to(work)
        return spike(h.to(x.dtype), 0.0, self.surrogate_function)

    def reset(self) -> None:
        """Forget the last k inputs."""
        self.queue: list[torch.Tensor] = []

    def extra_repr(self) -> str:
        return f"k={self.k}"


def lag_profile(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""How strongly a ``[T, T]`` time-mixing matrix (a PSN's :math:`W`) links an output step to an input
    ``lag`` steps earlier: for each lag :math:`k = t - i` from :math:`-(T-1)` to :math:`T-1`, the mean of
    :math:`|W[t, i]|` over the entries on that diagonal.  A PSN's gradient :math:`\partial H[t] / \partial
    X[i]` *is* :math:`W[t, i]`: no chain of steps and no decay stand between an input and a later output,
    where the LIF's :math:`\beta^k / \tau` decays with the lag (chapter 01, long-term dependencies).

    Returns ``(lags, mean_abs)``, both of length :math:`2T - 1`; negative lags are inputs from the future.

    Defined in chapter 01 (Parallel Spiking Neurons), section "Long-term dependencies: the gradient against lag".
    """
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or weight.shape[0] != weight.shape[1]:
        shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(f"weight must be a square [T, T] tensor; got {shape}")
    T = weight.shape[0]
    w = weight.detach().abs()
    lags = torch.arange(-(T - 1), T)
    # diagonal(offset=-k) holds the entries W[t, t - k]
    return lags, torch.stack([w.diagonal(offset=-int(k)).mean() for k in lags])
