"""Spiking networks, time-first: the models of the network chapters (04 onwards).

* :mod:`snnlib.models.spikformer` -- spiking self-attention (SSA, and the softmax baseline VSA), the
  spiking patch splitting stem (SPS) and the Spikformer; chapter 04.

Each model takes ``[T, N, ...]`` (or a static ``[N, ...]`` input that it repeats over ``T``) and returns
``[T, N, classes]``; :func:`snnlib.train.fit` averages over time.
"""
from __future__ import annotations

from .spikformer import (SPS, SSA, Spikformer, SpikformerBlock, SpikformerMLP, attention_ops, spikformer_lif,
                         spikformer_state_from_spikingjelly, spiking_attention, ssa_state_from_spikingjelly)

__all__ = ["SSA", "SPS", "Spikformer", "SpikformerBlock", "SpikformerMLP", "spikformer_lif", "spiking_attention",
           "attention_ops"]
