"""The ParaLIF code's LIF: a synaptic current stage, then a membrane with a hard reset (chapter 03)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from .integrate import leaky_integrate
from .lif import LIF
from .surrogate import FastSigmoid, check_time_first

__all__ = ["SynapticLIF"]


class SynapticLIF(nn.Module):
    r"""The official LIF: :math:`I[t] = \alpha I[t-1] + X[t]`, then snnlib's serial :class:`LIF` with
    :math:`1/\tau = 1 - \beta` (so :math:`H[t] = \beta V[t-1] + (1-\beta) I[t]`), hard reset to 0,
    detached, threshold 1, fast-sigmoid surrogate.  ``[T, N, *]`` in and out."""

    def __init__(self, tau_mem: float = 20e-3, tau_syn: float = 20e-3, dt: float = 1e-3):
        super().__init__()
        self.alpha = math.exp(-dt / tau_syn)
        beta = math.exp(-dt / tau_mem)
        self.lif = LIF(tau=1.0 / (1.0 - beta), v_threshold=1.0, v_reset=0.0, decay_input=True,
                       surrogate_function=FastSigmoid(), detach_reset=True)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        check_time_first(x_seq)
        return self.lif(leaky_integrate(x_seq, self.alpha, scale_input=False))
