"""Spiking neurons, time-first ``[T, N, *]``: the serial LIF, the PSN family and leaky integration.

* :class:`LIF` -- the serial LIF with reset (spikingjelly's ``LIFNode``), chapter 00 (Foundations).
"""
from __future__ import annotations

from .lif import LIF, lif_multi_step
from .surrogate import default_surrogate, surrogate_grad

__all__ = ["LIF", "lif_multi_step", "default_surrogate", "surrogate_grad"]
