r"""Firing rates, synaptic operations and the energy estimate of the Spikformer and SynA papers.

A synaptic layer (``Linear``, ``Conv1d/2d/3d``) that an ANN runs once per sample costs FLOPs
multiply-accumulates (MACs).  In an SNN it runs at each of T steps, but its input is binary, so each
non-zero input costs one accumulate (AC) per synapse it reaches:

.. math::
    \mathrm{SOPs}^{l} = \mathrm{fr}^{l} \times T \times \mathrm{FLOPs}^{l},

with :math:`\mathrm{fr}^{l}` the firing rate of the layer's input.  The first (encoding) layer receives
real values, not spikes, and is counted as MACs.  At 45 nm (Horowitz, 2014), :math:`E_{MAC} = 4.6` pJ and
:math:`E_{AC} = 0.9` pJ:

.. math::
    E = E_{MAC} \cdot \mathrm{MACs}_{\text{encoding}} + E_{AC} \sum_{l \ne \text{encoding}} \mathrm{SOPs}^{l}.

Here every quantity is measured by forward hooks while the model runs on a batch: a layer's FLOPs are
the MACs it spent per sample divided by T (its per-step cost, the usual case of a layer that runs at
every step), fr as the fraction of non-zero inputs (for spikes, the firing rate), the
encoding layer's MACs as it actually ran (T times if the model repeats the image, once if it encodes
once).  BatchNorm is taken as folded into the preceding layer (not counted), as in Spikformer; SynA
counts it among the MACs of the first layer.  Products that are not layers (Spikformer's
:math:`QK^TV`) are added by the chapter that has them.

The papers count synapses only.  A neuron's own update costs too, and differently per neuron: a LIF
spends a couple of multiply-adds per step, a PSN a whole row of its :math:`T \times T` matrix.  With
``neuron_updates=True`` :func:`energy_report` also counts those, per :data:`NEURON_UPDATE_MACS`, as MACs
beside the synaptic energy (``neuron_macs``, ``neuron_energy_pj``; never added into ``energy_pj``).

First used in chapter 04 (Spikformer), section "Operations and energy"; chapter 07 adds the paper's
convention for non-binary inputs; chapter 08 the neurons' own updates.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Optional, Sequence

import torch
import torch.nn as nn

__all__ = [
    "E_MAC_PJ",
    "E_AC_PJ",
    "E_MULT_PJ",
    "NEURON_UPDATE_MACS",
    "script_energy",
    "is_neuron",
    "neuron_modules",
    "FiringRateMonitor",
    "layer_macs",
    "LayerEnergy",
    "EnergyReport",
    "energy_report",
]

E_MAC_PJ = 4.6  #: energy of a 32-bit float multiply-accumulate at 45 nm, pJ
E_AC_PJ = 0.9  #: energy of a 32-bit float accumulate at 45 nm, pJ

#: MACs one neuron spends on its own state per time step, by neuron class (the book's convention, stated
#: per neuron; the threshold comparison and the spike itself are not counted).  Leaky integrations count as
#: 2 MACs (decay, input scale) in their scan or loop form; a T x T matrix as its mean row length.
NEURON_UPDATE_MACS: dict[str, Callable[[nn.Module], float]] = {
    # H = beta V + (1 - beta) X; the reset is a select.  The exact fixed-point form (chapter 09) repeats
    # that charge once per pass: its last forward's pass count (LIF.iterations)
    "LIF": lambda m: 2.0 * (m.iterations or 1) if getattr(m, "method", "serial") == "fixed_point" else 2.0,
    "ResetFreeLIF": lambda m: 2.0,                  # the same charge, no reset
    "SynapticLIF": lambda m: 4.0,                   # a synaptic current, then the membrane
    "PSN": lambda m: float(m.T),                    # H = W X + B: a full row of W per step
    "MaskedPSN": lambda m: float(m.k),              # the causal band of width k
    "SlidingPSN": lambda m: float(m.k),             # k shared weights
    "PSU": lambda m: 4.0,                           # A X and B sigma(A X), two leaky integrations
    "PSUWithoutReset": lambda m: 2.0,               # A X only
    "IPSU": lambda m: (m.T + 1) / 2 + 2.0,          # a learned lower-triangular W X, then B sigma as a scan
    "RPSU": lambda m: 2.0 + (m.T + 1) / 2,          # A X as a scan, then a learned lower-triangular B
    "ParaLIF": lambda m: 4.0,                       # synaptic current and membrane, two leaky integrations
    "FPT": lambda m: 2.0 * (m.K + 1),               # the reset-free charge, then K relaxed updates: scans
}
#: energy of a 32-bit float multiply at 45 nm, pJ: SynA's E = 3.7 pJ x mult + 0.9 pJ x add (a MAC is both)
E_MULT_PJ = 3.7

SYNAPTIC = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NEURON_PACKAGES = ("snnlib.neurons", "spikingjelly.activation_based.neuron")


def is_neuron(module: nn.Module, extra: Sequence[type] = ()) -> bool:
    """Whether ``module`` is a spiking neuron: a class of :mod:`snnlib.neurons` or of spikingjelly's
    ``activation_based.neuron`` (surrogate functions excluded), or an instance of one of ``extra``."""
    if extra and isinstance(module, tuple(extra)):
        return True
    name = type(module).__module__
    return any(name == p or name.startswith(p + ".") for p in _NEURON_PACKAGES) and "surrogate" not in name


def neuron_modules(model: nn.Module, extra: Sequence[type] = ()) -> list[tuple[str, nn.Module]]:
    """The outermost neuron modules of ``model`` (a neuron inside a neuron is not listed twice)."""
    found: list[tuple[str, nn.Module]] = []
    for name, m in model.named_modules():
        if is_neuron(m, extra) and not any(name.startswith(p + ".") for p, _ in found):
            found.append((name, m))
    return found


class FiringRateMonitor:
    """Counts the spikes of every neuron module while the model runs (a context manager).

    ``rates()`` gives each neuron module's firing rate (spikes / (neurons x T x samples)), ``rate`` the
    rate of all neurons together, ``spikes_per_neuron(T)`` the mean number of spikes one neuron emits per
    sample over T steps (``rate x T``).  Counting happens inside forward hooks, detached, so it does not
    change the graph.  ``enabled`` can be switched off to skip the counting.

    >>> with FiringRateMonitor(model) as mon:   # doctest: +SKIP
    ...     model(x)
    >>> mon.rate                                  # doctest: +SKIP
    """

    def __init__(self, model: nn.Module, neuron_types: Sequence[type] = ()):
        self.modules = neuron_modules(model, neuron_types)
        self.spikes: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self.enabled = True
        self._handles: list = []

    def _hook(self, name: str):
        def hook(_module, _inputs, output):
            if not self.enabled:
                return
            out = output[0] if isinstance(output, (tuple, list)) else output
            if not isinstance(out, torch.Tensor):
                return
            total = out.detach().sum(dtype=torch.float64)  # stays on the device: no sync per forward
            self.spikes[name] = self.spikes[name] + total if name in self.spikes else total
            self.counts[name] = self.counts.get(name, 0) + out.numel()
        return hook

    def __enter__(self) -> "FiringRateMonitor":
        self.reset()
        self._handles = [m.register_forward_hook(self._hook(n)) for n, m in self.modules]
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def reset(self) -> None:
        self.spikes.clear()
        self.counts.clear()

    def rates(self) -> dict[str, float]:
        return {n: float(self.spikes[n]) / self.counts[n] for n in self.spikes if self.counts[n]}

    @property
    def rate(self) -> float:
        """Spikes over neuron-steps of all monitored neurons; NaN when nothing was seen."""
        total = sum(self.counts.values())
        return sum(float(v) for v in self.spikes.values()) / total if total else math.nan

    def spikes_per_neuron(self, T: int) -> float:
        """Mean spikes per neuron per sample over the T steps: ``rate x T`` (the SynA papers' measure)."""
        return self.rate * T


def layer_macs(module: nn.Module, inputs: torch.Tensor, output: torch.Tensor) -> int:
    """Multiply-accumulates that ``module`` (Linear or ConvNd) spent on this call, all samples and steps."""
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        per_output = (module.in_channels // module.groups) * math.prod(module.kernel_size)
        return output.numel() * per_output
    raise TypeError(f"module={type(module).__name__} is not a synaptic layer; expected Linear or Conv1d/2d/3d")


@dataclass
class LayerEnergy:
    """One synaptic layer: FLOPs per step and sample, input rate, SOPs or MACs per sample, energy (pJ)."""

    name: str
    kind: str
    flops: float  # MACs per sample divided by T: one step's cost when the layer runs at every step
    input_rate: float  # fraction of non-zero inputs (the firing rate for spikes)
    encoding: bool  # counted as MACs
    ops: float  # per sample: MACs as run if encoding, else SOPs = rate x T x FLOPs
    energy_pj: float
    mac_ops: float = 0.0  # of ``ops``, those from non-binary inputs counted as MACs (nonbinary="mac")


@dataclass
class EnergyReport:
    """Energy of one inference per sample, and the same network as an ANN (every layer MACs, once)."""

    T: int
    layers: list[LayerEnergy] = field(default_factory=list)
    firing_rate: float = math.nan
    spikes_per_neuron: float = math.nan
    #: per sample, the neurons' own updates (``energy_report(neuron_updates=True)``), beside the synapses'
    neuron_macs: float = 0.0
    e_mac_pj: float = E_MAC_PJ

    @property
    def neuron_energy_pj(self) -> float:
        """The neurons' own updates at ``E_MAC`` each (0 unless counted): reported beside ``energy_pj``."""
        return self.neuron_macs * self.e_mac_pj

    @property
    def encoding_macs(self) -> float:
        return sum(layer.ops for layer in self.layers if layer.encoding)

    @property
    def sops(self) -> float:
        return sum(layer.ops for layer in self.layers if not layer.encoding)

    @property
    def energy_pj(self) -> float:
        return sum(layer.energy_pj for layer in self.layers)

    @property
    def ann_energy_pj(self) -> float:
        """``E_MAC x FLOPs`` of the same layers run once as an ANN."""
        return E_MAC_PJ * sum(layer.flops for layer in self.layers)

    def to_dict(self) -> dict:
        return {"T": self.T, "energy_pj": self.energy_pj, "ann_energy_pj": self.ann_energy_pj,
                "encoding_macs": self.encoding_macs, "sops": self.sops, "firing_rate": self.firing_rate,
                "spikes_per_neuron": self.spikes_per_neuron, "neuron_macs": self.neuron_macs,
                "neuron_energy_pj": self.neuron_energy_pj, "layers": [asdict(la) for la in self.layers]}

    def table(self) -> str:
        """A plain-text table, one row per layer."""
        rows = [f"{'layer':<24}{'kind':<8}{'FLOPs/step':>12}{'rate':>8}{'ops':>14}{'energy uJ':>11}"]
        for la in self.layers:
            kind = "MAC" if la.encoding else ("AC+MAC" if la.mac_ops else "AC")
            rows.append(f"{la.name:<24}{kind:<8}{la.flops:>12,.0f}{la.input_rate:>8.3f}{la.ops:>14,.0f}"
                        f"{la.energy_pj * 1e-6:>11.4f}")
        rows.append(f"total {self.energy_pj * 1e-6:.4f} uJ per sample (ANN: {self.ann_energy_pj * 1e-6:.4f} uJ); "
                    f"firing rate {self.firing_rate:.3f}, {self.spikes_per_neuron:.2f} spikes per neuron")
        return "\n".join(rows)


def _infer_batch_size(x: torch.Tensor, T: int, first: Optional[nn.Module]) -> int:
    """``energy_report``'s rule for the number of samples in ``x`` (see its docstring)."""
    shape = tuple(x.shape)
    if x.dim() <= 2 or shape[0] != T:
        return shape[0]
    if x.dim() == 4:
        if isinstance(first, nn.Conv2d) and first.in_channels == shape[1]:
            return shape[0]  # static images [N, C, H, W] with N == T
        raise ValueError(
            f"x has shape {shape} and T={T}: it may be static images [N={shape[0]}, C, H, W] ({shape[0]} "
            f"samples) or time-first [T={T}, N={shape[1]}, *] ({shape[1]} samples); pass batch_size="
        )
    return shape[1]  # time-first [T, N, *]


@torch.no_grad()
def energy_report(model: nn.Module, x: torch.Tensor, *, T: int, batch_size: Optional[int] = None,
                  encoding: str | Iterable[str] = "first", neuron_types: Sequence[type] = (),
                  nonbinary: str = "ac", e_mac_pj: float = E_MAC_PJ, e_ac_pj: float = E_AC_PJ,
                  neuron_updates: bool = False) -> EnergyReport:
    r"""Run ``model(x)`` once and count FLOPs, firing rates, SOPs and energy per sample.

    ``T`` is the number of time steps the model runs; ``batch_size`` the number of samples in ``x``.
    Without ``batch_size`` it is read from ``x``'s shape by the book's layouts (static images are
    ``[N, C, H, W]``, event frames ``[T, N, C, H, W]``, sequences ``[T, N, F]``):

    * ``x.shape[0] != T``: ``x.shape[0]`` (static input, or batch-first ``[N, T, *]``);
    * ``x.shape[0] == T`` and ``x`` has 4 dimensions: static images ``[N, C, H, W]`` (N happens to equal
      T), so ``x.shape[0]``, when the first synaptic layer is a ``Conv2d`` with ``x.shape[1]`` input
      channels; otherwise the shape is ambiguous and a ``ValueError`` asks for ``batch_size``;
    * ``x.shape[0] == T`` and ``x`` has 3, 5 or more dimensions: time-first ``[T, N, *]``, ``x.shape[1]``;
    * ``x`` with 1 or 2 dimensions: ``x.shape[0]``.
    ``encoding`` names the layers counted as MACs: ``"first"`` (the first synaptic layer to run, the
    papers' rule) or an iterable of module names.

    ``nonbinary`` says what a non-zero input other than 1 costs in a non-encoding layer: ``"ac"`` one
    accumulate, like a spike (the default, the Spikformer convention); ``"mac"`` a multiply-accumulate,
    as SynA argues for the 0/1/2 inputs that SEW's ADD feeds the next convolution; ``"count"`` an
    integer input :math:`v` costs :math:`|v|` accumulates (a 2 as two spikes, as a chip with graded
    spikes could carry it), a non-integer one a MAC.  With ``"mac"`` a
    layer's ops split as :math:`r_1 \cdot \mathrm{MACs}` accumulates (inputs equal to 1) plus
    :math:`r_{\ne 0,1} \cdot \mathrm{MACs}` multiply-accumulates, ``mac_ops`` holding the second part.
    ``e_mac_pj`` and ``e_ac_pj`` are the costs (default 4.6 = 3.7 + 0.9 and 0.9 pJ).

    ``neuron_updates=True`` also counts each neuron's own state update per step (:data:`NEURON_UPDATE_MACS`)
    as MACs, in ``neuron_macs`` and ``neuron_energy_pj``, beside the synaptic ``energy_pj``; a neuron class
    without an entry is refused with its name.

    Defined in chapter 07 (SynA-ResNet), section "Energy: E = 3.7 pJ × mult + 0.9 pJ × add".
    """
    if nonbinary not in ("ac", "mac", "count"):
        raise ValueError(f"nonbinary={nonbinary!r}; expected 'ac', 'mac' or 'count'")
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"T={T!r} must be a positive int")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size < 1):
        raise ValueError(f"batch_size={batch_size!r} must be a positive int (the number of samples in x)")
    if not isinstance(x, torch.Tensor) or x.dim() == 0:
        raise ValueError(f"x={x!r:.60} must be a tensor with a batch dimension")
    seen: dict[str, list] = {}  # name -> [module, macs, nonzero, numel]
    order: list[str] = []

    def hook_for(name: str):
        def hook(module, inputs, output):
            inp = inputs[0]
            rec = seen.setdefault(name, [module, 0, 0, 0, 0, 0.0, 0])
            if name not in order:
                order.append(name)
            rec[1] += layer_macs(module, inp, output)
            rec[2] += int(torch.count_nonzero(inp))
            rec[3] += inp.numel()
            rec[4] += int(torch.count_nonzero((inp != 0) & (inp != 1)))
            if nonbinary == "count":
                whole = inp == torch.round(inp)
                rec[5] += float(torch.where(whole, inp.abs(), torch.zeros_like(inp)).sum())  # accumulates
                rec[6] += int(torch.count_nonzero(~whole))                                # MACs
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in model.named_modules() if isinstance(m, SYNAPTIC)]
    was_training = model.training
    model.eval()
    try:
        with FiringRateMonitor(model, neuron_types) as mon:
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if batch_size is None:
        batch_size = _infer_batch_size(x, T, seen[order[0]][0] if order else None)
    if isinstance(encoding, str):
        if encoding != "first":
            raise ValueError(f"encoding={encoding!r}; expected 'first' or an iterable of layer names")
        enc = set(order[:1])
    else:
        enc = set(encoding)
        unknown = enc - set(order)
        if unknown:
            raise ValueError(f"encoding names {sorted(unknown)} are not synaptic layers that ran; "
                             f"valid names: {', '.join(order)}")
    report = EnergyReport(T=T, firing_rate=mon.rate, spikes_per_neuron=mon.spikes_per_neuron(T), e_mac_pj=e_mac_pj)
    if neuron_updates:
        for name, module in mon.modules:
            cost = NEURON_UPDATE_MACS.get(type(module).__name__)
            if cost is None:
                raise ValueError(f"neuron_updates=True: no per-step cost for {name!r} ({type(module).__name__}); "
                                 f"known: {', '.join(NEURON_UPDATE_MACS)}")
            # the monitor counted every output element: neurons x steps x samples
            report.neuron_macs += cost(module) * mon.counts.get(name, 0) / batch_size
    for name in order:
        module, macs, nonzero, numel, other, acc_count, real_count = seen[name]
        macs_per_sample = macs / batch_size
        rate = nonzero / numel if numel else 0.0
        is_enc = name in enc
        ops = macs_per_sample if is_enc else rate * macs_per_sample  # = rate x T x FLOPs
        mac_ops = (other / numel) * macs_per_sample if (nonbinary == "mac" and not is_enc and numel) else 0.0
        if nonbinary == "count" and not is_enc and numel:
            # each input reaches macs / numel synapses: |v| accumulates per synapse for an integer v
            mac_ops = (real_count / numel) * macs_per_sample
            ops = (acc_count / numel) * macs_per_sample + mac_ops
        energy_pj = ops * e_mac_pj if is_enc else (ops - mac_ops) * e_ac_pj + mac_ops * e_mac_pj
        report.layers.append(LayerEnergy(name=name, kind=type(module).__name__, flops=macs_per_sample / T,
                                         input_rate=rate, encoding=is_enc, ops=ops,
                                         energy_pj=energy_pj, mac_ops=mac_ops))
    return report


#: SynA-ResNet's released evaluation script: 3.7 pJ per multiplication, 0.9 pJ per addition
SCRIPT_E_MULT_PJ, SCRIPT_E_ADD_PJ = 3.7, 0.9


@torch.no_grad()
def script_energy(model: nn.Module, x: torch.Tensor, *, batch_size: Optional[int] = None) -> dict[str, float]:
    r"""Energy per sample by the counting of SynA-ResNet's released evaluation script
    (``evaluation/*_Energy_consumption_and_firing_rate_calculation.py``), measured on ``model(x)``.

    The script's rules, reproduced as they are:

    * a convolution costs :math:`(C_{in} k^2 - 1)\,C_{out} H_{out} W_{out}` operations per step (the
      additions of each output's dot product); the first convolution's as MACs, every later one's as
      accumulates times its input's non-zero rate;
    * every BatchNorm costs one MAC per output element and step (:math:`C H W T`), not only the stem's;
    * the fully connected head costs :math:`C_{in} C_{out}` multiplications and :math:`C_{in}^2` additions
      per step (the script's formula, :math:`C_{in}^2`, as written);
    * :math:`E = 3.7\,\mathrm{pJ} \times \mathrm{mult} + 0.9\,\mathrm{pJ} \times \mathrm{add}`, a MAC
      being one of each;
    * the attention modules' MACs are added to the count *after* the energy is computed: the energy leaves
      them out.  They are not counted here either.

    Returns ``mac``, ``ac``, ``bn_mac``, ``linear_mult``, ``linear_add`` (per sample) and ``energy_pj``.
    ``batch_size`` defaults to ``x.shape[0]`` (static images ``[N, C, H, W]``) or ``x.shape[1]`` (time-first).

    Defined in chapter 07 (SynA-ResNet), section "What the open gates learned, step by step".
    """
    counts = {"mac": 0.0, "ac": 0.0, "bn_mac": 0.0, "linear_mult": 0.0, "linear_add": 0.0}
    first: list[nn.Module] = []

    def conv_hook(module, inputs, output):
        inp = inputs[0]
        ops = ((module.in_channels // module.groups) * math.prod(module.kernel_size) - 1) * output.numel()
        if not first:
            first.append(module)
        if module is first[0]:
            counts["mac"] += ops
        else:
            counts["ac"] += ops * float(torch.count_nonzero(inp)) / inp.numel()

    def bn_hook(module, inputs, output):
        counts["bn_mac"] += output.numel()

    def linear_hook(module, inputs, output):
        rows = inputs[0].numel() / module.in_features
        counts["linear_mult"] += rows * module.in_features * module.out_features
        counts["linear_add"] += rows * module.in_features * module.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            hooks.append(m.register_forward_hook(bn_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    n = batch_size if batch_size is not None else (x.shape[0] if x.dim() == 4 else x.shape[1])
    per = {k: v / n for k, v in counts.items()}
    mac = per["mac"] + per["bn_mac"]
    mult = mac + per["linear_mult"]
    add = mac + per["ac"] + per["linear_add"]
    return {**per, "energy_pj": SCRIPT_E_MULT_PJ * mult + SCRIPT_E_ADD_PJ * add}

