"""Spiking neurons, time-first ``[T, N, *]``: the serial LIF, the PSN family and leaky integration.

* :class:`LIF` -- the serial LIF with reset (equal to spikingjelly's ``LIFNode``); chapter 00.
* :class:`ATan` -- the fused ATan surrogate (equal to spikingjelly's); chapter 00.  :class:`Sigmoid`,
  spikingjelly's default surrogate, for Spikformer; chapter 04.  :class:`Rect`, the rectangle surrogate of
  MS-ResNet; chapter 06.
* :func:`leaky_integrate` -- the reset-free leaky integrator, five methods; chapters 01 and 03.
* :class:`ParaLIF` -- the parallelisable LIF, eleven firing functions, recurrent form; chapter 03.
* :class:`ResetFreeLIF` -- the LIF without reset, as a loop and as a PSN; chapter 01.
* :class:`PSU`, :class:`IPSU`, :class:`RPSU` -- the Parallel Spiking Unit family, A and B as leaky
  integrations; :class:`LearnableATan`, the ATan surrogate with a learnable alpha; chapter 02.
* :class:`PSN`, :class:`MaskedPSN`, :class:`SlidingPSN` -- the PSN family (state dicts load to and from
  spikingjelly's); chapter 01.
"""
from __future__ import annotations

from .integrate import METHODS, auto_method, leaky_integrate
from .lif import LIF, lif_multi_step
from .paralif import FIRING_MODES, ParaLIF, three_fft_charge
from .psn import PSN, MaskedPSN, SlidingPSN, causal_fir
from .psu import IPSU, PSU, PSU_METHODS, RPSU, apply_a, apply_b, psu_matrices
from .reset_free import ResetFreeLIF
from .synaptic import SynapticLIF
from .fixed_point import FPT, fixed_point_lif, iteration_counts
from .surrogate import ATan, FastSigmoid, Rect, Sigmoid, LearnableATan, atan_spike, default_surrogate, fast_sigmoid_spike, surrogate_grad

__all__ = [
    "LIF", "lif_multi_step",
    "PSN", "MaskedPSN", "SlidingPSN", "causal_fir",
    "ResetFreeLIF", "SynapticLIF", "FPT", "fixed_point_lif", "iteration_counts",
    "PSU", "IPSU", "RPSU", "PSU_METHODS", "psu_matrices", "apply_a", "apply_b", "LearnableATan",
    "ParaLIF", "FIRING_MODES", "three_fft_charge",
    "leaky_integrate", "auto_method", "METHODS",
    "ATan", "atan_spike", "default_surrogate", "surrogate_grad", "FastSigmoid", "fast_sigmoid_spike", "Sigmoid",
    "Rect",
]
