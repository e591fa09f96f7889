"""Spiking networks, time-first: the small sequence networks of the neuron chapters, and the models of the
network chapters (04 onwards).

* :mod:`snnlib.models.sequence` -- the networks of chapters 00-03 and 08, each built around a neuron
  factory (the experiments choose the neuron by name).

* :mod:`snnlib.models.spikformer` -- spiking self-attention (SSA, and the softmax baseline VSA), the
  spiking patch splitting stem (SPS) and the Spikformer; chapter 04.
* :mod:`snnlib.models.scs` -- Spikformer V2's spiking convolutional stem (SCS, maskable) and SpikformerV2;
  :mod:`snnlib.models.mae` -- its masked-image pre-training (SpikingMAE); chapter 05.
* :mod:`snnlib.models.resnet` -- deep spiking ResNets for CIFAR-sized images (depth 6n + 2): the plain
  network, the vanilla spiking ResNet, SEW-ResNet and MS-ResNet on one skeleton, the MS neuron, and the
  block-dynamical-isometry tools (gradient-norm ratio, Jacobian singular values, SSIM); chapter 06.
  Its connect functions ADD, AND, IAND and OR serve chapter 07 too.
* :mod:`snnlib.models.attention` -- SynA-ResNet: OR residual connections, the MA and IA attentions
  and natural pruning; chapter 07.

Each model takes ``[T, N, ...]`` (or a static ``[N, ...]`` input that it repeats over ``T``) and returns
``[T, N, classes]``; :func:`snnlib.train.fit` averages over time.
"""
from __future__ import annotations

from .spikformer import (SPS, SSA, Spikformer, SpikformerBlock, SpikformerMLP, attention_ops, spikformer_lif,
                         spikformer_state_from_spikingjelly, spiking_attention, ssa_state_from_spikingjelly)

from .resnet import FAMILIES, Block, SpikingResNet, ms_lif
from .scs import SCS, SpikformerV2
from .mae import MAEDecoder, SpikingMAE
from .attention import IA, MA, SynABlock, SynAResNet, natural_prune
from .sequence import CompareNet, LIReadout, ParaLIFNet, PerStep, SCIFARNet, SequenceNet, SHDNet, SpikingMLP

__all__ = ["SSA", "SPS", "Spikformer", "SpikformerBlock", "SpikformerMLP", "spikformer_lif", "spiking_attention",
           "attention_ops", "FAMILIES", "Block", "SpikingResNet", "ms_lif", "SCS", "SpikformerV2", "SpikingMAE",
           "MAEDecoder", "MA", "IA", "SynABlock", "SynAResNet", "natural_prune", "PerStep", "SpikingMLP",
           "SequenceNet", "SCIFARNet", "SHDNet", "LIReadout", "ParaLIFNet", "CompareNet"]
