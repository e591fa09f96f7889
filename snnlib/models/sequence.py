"""The small sequence networks of the neuron chapters (00-03, 08), each built around a neuron factory.

Every network here takes a ``neuron`` callable that makes one fresh spiking layer, so that the network
knows nothing of which neuron it holds: the experiments (:mod:`snnlib.experiments`) choose the neuron by
name and pass a factory.  Layers are created in the order the factory is called, so a network built from
the same seed holds the same weights whatever neuron it carries in its other layers.

* :class:`PerStep` applies a stateless layer to every time step.
* :class:`SpikingMLP` (chapter 00): Linear, neuron, and a readout of the whole spike raster.
* :class:`SequenceNet` (chapters 01, 02): layers of (Linear, BatchNorm1d, neuron) on a vector per step.
* :class:`SCIFARNet` (chapters 01, 02 at ``gpu``): the PSN paper's sequential-CIFAR network.
* :class:`SHDNet` (chapter 02 at ``gpu``): the PSU code's SHD network.
* :class:`ParaLIFNet` and :class:`LIReadout` (chapter 03): the ParaLIF code's network and its
  non-firing leaky-integrator readout.
* :class:`CompareNet` (chapter 08): the side-by-side recipe's network, read over the last steps.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torch.nn as nn

from ..neurons import LIF, leaky_integrate

__all__ = ["PerStep", "SpikingMLP", "SequenceNet", "SCIFARNet", "SHDNet", "LIReadout", "ParaLIFNet", "CompareNet"]

#: makes one fresh spiking layer
NeuronFactory = Callable[[], nn.Module]


class PerStep(nn.Module):
    """Apply a stateless layer to every step: ``[T, N, *]`` -> ``[T*N, *]`` -> layer -> ``[T, N, *]``."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.layer(x.flatten(0, 1))
        return y.view(x.shape[0], x.shape[1], *y.shape[1:])


class SpikingMLP(nn.Module):
    """``[T, N, F]`` -> Linear(F, hidden) -> neuron -> readout -> ``[N, classes]``.

    Two synaptic layers.  With ``readout="raster"`` the readout sees the whole spike raster
    (``T * hidden`` inputs), so it knows at which step (which row) a neuron fired and the neuron needs no
    memory; with ``readout="mean"`` it sees only each neuron's mean over the T steps, so whatever depends
    on the order of the steps must be carried by the neuron's state (and learned through time).
    ``neuron`` makes the spiking layer from T (default: the library's LIF, tau = 2, hard reset); any
    neuron of :mod:`snnlib.neurons` fits.

    Defined in chapter 00 (Foundations), section "Experiment: training a spiking network".
    """

    def __init__(self, T: int, features: int, classes: int, hidden: int = 128,
                 neuron: Optional[Callable[[int], nn.Module]] = None, readout: str = "raster"):
        super().__init__()
        if readout not in ("raster", "mean"):
            raise ValueError(f"readout={readout!r}; expected 'raster' or 'mean'")
        self.readout = readout
        self.fc1 = nn.Linear(features, hidden)
        self.neuron = neuron(T) if neuron is not None else LIF()
        self.fc2 = nn.Linear(T * hidden if readout == "raster" else hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spikes = self.neuron(self.fc1(x))  # [T, N, hidden]
        if self.readout == "mean":
            return self.fc2(spikes.mean(0))
        return self.fc2(spikes.transpose(0, 1).flatten(1))


class SequenceNet(nn.Module):
    """``[T, N, F]`` -> ``layers`` x (Linear, BatchNorm1d, ``neuron()``) -> Linear -> ``[T, N, classes]``.

    The small network of the ``ci`` runs: the PSN paper's layer pattern (synapse, BN, neuron) on a vector
    per step.  The readout is averaged over T by the trainer, as in the paper; with ``readout_steps`` the
    output keeps only the last that many steps, so the trainer averages those (a causal neuron's early
    steps have seen few inputs: chapter 01's readout ablation).
    """

    def __init__(self, neuron: NeuronFactory, features: int, classes: int, hidden: int = 64, layers: int = 2,
                 readout_steps: Optional[int] = None):
        super().__init__()
        if readout_steps is not None and (isinstance(readout_steps, bool) or not isinstance(readout_steps, int)
                                          or readout_steps < 1):
            raise ValueError(f"readout_steps={readout_steps!r}; expected a positive int or None (every step)")
        self.readout_steps = readout_steps
        blocks: list[nn.Module] = []
        for i in range(layers):
            blocks += [PerStep(nn.Sequential(nn.Linear(features if i == 0 else hidden, hidden, bias=False),
                                             nn.BatchNorm1d(hidden))),
                       neuron()]
        self.features = nn.Sequential(*blocks)
        self.head = PerStep(nn.Linear(hidden, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.features(x))
        if self.readout_steps is None:
            return out
        if self.readout_steps > out.shape[0]:
            raise ValueError(f"readout_steps={self.readout_steps} exceeds the input's T={out.shape[0]}")
        return out[-self.readout_steps:]


class SCIFARNet(nn.Module):
    """The PSN paper's sequential-CIFAR network; input ``[T=32, N, 3, 32]`` (columns), output ``[T, N, classes]``.

    2 x (3 x (Conv1d k3 pad 1 no bias, BatchNorm1d, neuron), AvgPool1d(2)) over the 32 rows, then Flatten,
    Linear(C*8 -> C*8/4), neuron, Linear(-> classes).  The convolutions run on each step's column.
    """

    def __init__(self, neuron: NeuronFactory, classes: int, channels: int = 128):
        super().__init__()
        layers: list[nn.Module] = []
        for stage in range(2):
            for j in range(3):
                c_in = 3 if (stage == 0 and j == 0) else channels
                layers += [PerStep(nn.Sequential(nn.Conv1d(c_in, channels, 3, padding=1, bias=False),
                                                 nn.BatchNorm1d(channels))),
                           neuron()]
            layers.append(PerStep(nn.AvgPool1d(2)))
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Sequential(PerStep(nn.Sequential(nn.Flatten(), nn.Linear(channels * 8, channels * 8 // 4))),
                                neuron(), PerStep(nn.Linear(channels * 8 // 4, classes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x))


class SHDNet(nn.Module):
    """The official PSU code's SHD network (``FC_SNN``): ``[T, N, 700]`` -> 3 x (Linear 128, neuron) ->
    Linear 20 -> ``[T, N, 20]`` (the trainer averages over T)."""

    def __init__(self, neuron: NeuronFactory, features: int = 700, hidden: int = 128, classes: int = 20,
                 layers: int = 3):
        super().__init__()
        blocks: list[nn.Module] = []
        for i in range(layers):
            blocks += [nn.Linear(features if i == 0 else hidden, hidden), neuron()]
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # Linear acts on the last dimension: [T, N, F] stays time-first


class LIReadout(nn.Module):
    """The non-firing output layer: the two-stage leaky integration of its input (ParaLIF's charge)."""

    def __init__(self, tau_mem: float = 20e-3, tau_syn: float = 20e-3, dt: float = 1e-3):
        super().__init__()
        self.alpha, self.beta = math.exp(-dt / tau_syn), math.exp(-dt / tau_mem)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return leaky_integrate(x.float(), self.beta, alpha=self.alpha).to(x.dtype)


class ParaLIFNet(nn.Module):
    """``[T, N, F]`` -> ``len(hidden)`` x (Linear, ``neuron(width)``) -> Linear -> :class:`LIReadout` -> ``[T, N, C]``.

    ``hidden`` lists the layer widths (SHD: ``[128, 128, 128]`` or ``[256]`` with a recurrent neuron);
    ``neuron(width)`` makes the spiking layer of that width.  Linear weights Kaiming-uniform (fan in,
    linear), biases zero, as the official code.
    """

    def __init__(self, neuron: Callable[[int], nn.Module], features: int, classes: int, hidden: list[int], *,
                 dt: float):
        super().__init__()
        layers: list[nn.Module] = []
        width = features
        for h in hidden:
            layers += [nn.Linear(width, h), neuron(h)]
            width = h
        layers += [nn.Linear(width, classes), LIReadout(dt=dt)]
        self.net = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, a=0, mode="fan_in", nonlinearity="linear")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(2))


class CompareNet(nn.Module):
    """``[T, N, *]`` -> ``layers`` x (Linear without bias, BatchNorm1d, ``neuron()``) -> Linear -> ``[T', N, classes]``.

    Each step's input is flattened to a vector.  The output keeps the last ``readout_steps`` steps
    (``None``: all T), which the trainer averages into the logits.
    """

    def __init__(self, neuron: NeuronFactory, T: int, features: int, classes: int, hidden: int = 32,
                 layers: int = 2, readout_steps: Optional[int] = None):
        super().__init__()
        if readout_steps is not None and not 1 <= readout_steps <= T:
            raise ValueError(f"readout_steps={readout_steps!r} must be in [1, T={T}] or None")
        blocks: list[nn.Module] = []
        for i in range(layers):
            blocks += [PerStep(nn.Sequential(nn.Flatten(), nn.Linear(features if i == 0 else hidden, hidden,
                                                                     bias=False), nn.BatchNorm1d(hidden))),
                       neuron()]
        self.features = nn.Sequential(*blocks)
        self.head = PerStep(nn.Linear(hidden, classes))
        self.T, self.readout_steps = T, readout_steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3 or x.shape[0] != self.T:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected time-first [T={self.T}, N, *]")
        out = self.head(self.features(x))
        return out if self.readout_steps is None else out[-self.readout_steps:]
