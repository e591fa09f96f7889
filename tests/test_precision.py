"""Every neuron and every model of the book under CPU autocast and in low precision; leaky_integrate's
stated float16 / bfloat16 tolerance; T = 0; importing the neurons without spikingjelly.

The two registries below, NEURONS and MODELS, are the lists later chapters extend: a chapter that adds a
neuron to ``snnlib.neurons`` or a network to ``snnlib.experiments`` adds one line here, and the
completeness tests fail until it does.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import subprocess
import sys
from typing import Callable

import pytest
import torch
import torch.nn as nn

import snnlib.experiments
import snnlib.neurons as neurons
from snnlib.models.sequence import LIReadout, PerStep, SpikingMLP
from snnlib.neurons import SynapticLIF
from snnlib.neurons import METHODS, leaky_integrate

F64 = torch.float64
LOW = [torch.bfloat16, torch.float16]  # CPU autocast has kernels for both in the torch this book pins
CONCRETE = [m for m in METHODS if m != "auto"]

pytestmark = pytest.mark.usefixtures("one_thread")

# ----------------------------------------------------------------------------------------------------
# the registries

# Every neuron class that snnlib.neurons exports, by class name: (T, F) -> a neuron for input [T, N, F].
# Several entries may build the same class (different methods or modes).  A class not yet in the tree
# (a chapter still being written) is skipped.
NEURONS: dict[str, tuple[str, Callable[[int, int], nn.Module]]] = {
    "LIF": ("LIF", lambda T, F: neurons.LIF()),
    "LIF soft reset": ("LIF", lambda T, F: neurons.LIF(v_reset=None, detach_reset=True)),
    **{f"ResetFreeLIF {m}": ("ResetFreeLIF", lambda T, F, m=m: neurons.ResetFreeLIF(tau=2.0, method=m))
       for m in METHODS},
    "PSN": ("PSN", lambda T, F: neurons.PSN(T)),
    "MaskedPSN lambda=0.5": ("MaskedPSN", lambda T, F: neurons.MaskedPSN(4, T, lambda_init=0.5)),
    "MaskedPSN lambda=1": ("MaskedPSN", lambda T, F: neurons.MaskedPSN(4, T, lambda_init=1.0)),
    "SlidingPSN": ("SlidingPSN", lambda T, F: neurons.SlidingPSN(4, exp_init=False)),
    "SlidingPSN k=T": ("SlidingPSN", lambda T, F: neurons.SlidingPSN(T)),
    # chapter 02 (PSU)
    "PSU": ("PSU", lambda T, F: neurons.PSU()),
    "IPSU": ("IPSU", lambda T, F: neurons.IPSU(T)),
    "RPSU": ("RPSU", lambda T, F: neurons.RPSU(T)),
    "PSU dense": ("PSU", lambda T, F: neurons.PSU(method="dense")),
    "RPSU dense": ("RPSU", lambda T, F: neurons.RPSU(T, method="dense")),
    # chapter 03 (ParaLIF)
    "ParaLIF": ("ParaLIF", lambda T, F: neurons.ParaLIF()),
    "ParaLIF recurrent": ("ParaLIF", lambda T, F: neurons.ParaLIF(recurrent=True, features=F)),
    "SynapticLIF": ("SynapticLIF", lambda T, F: neurons.SynapticLIF()),
    # chapter 09 (the reset in parallel)
    "FPT": ("FPT", lambda T, F: neurons.FPT(K=2)),
}


def _chapter(name: str):
    """``snnlib.experiments.<name>``, or None while that chapter is not in the tree."""
    if importlib.util.find_spec(f"snnlib.experiments.{name}") is None:
        return None
    return importlib.import_module(f"snnlib.experiments.{name}")


def _model_entries() -> dict[str, tuple[str, Callable[[], tuple[nn.Module, torch.Tensor]]]]:
    entries: dict[str, tuple[str, Callable[[], tuple[nn.Module, torch.Tensor]]]] = {}
    foundations, psn, paralif = _chapter("foundations"), _chapter("psn"), _chapter("paralif")
    # chapter 00
    entries["foundations SpikingMLP"] = ("SpikingMLP", lambda: (SpikingMLP(8, 8, 10, hidden=16),
                                                                torch.randn(8, 2, 8)))
    # chapter 01: the paper's network and the ci network, for every neuron kind
    for kind in psn.NEURONS:
        entries[f"psn SCIFARNet {kind}"] = ("SCIFARNet", lambda kind=kind: (
            psn.scifar_net(kind, 10, channels=8, T=32, k=4), torch.randn(32, 2, 3, 32)))
        entries[f"psn SequenceNet {kind}"] = ("SequenceNet", lambda kind=kind: (
            psn.sequence_net(kind, 40, 5, 3, hidden=8, layers=2, k=4), torch.randn(40, 2, 5)))
    # chapter 02 (PSU): chapter 01's networks with each neuron of the comparison, and the SHD network
    psu = _chapter("psu")
    if psu is not None:
        for kind in psu.NEURONS:
            entries[f"psu SCIFARNet {kind}"] = ("SCIFARNet", lambda kind=kind: (psu.with_neuron(
                psn.scifar_net("lif", 10, channels=8, T=32), kind, 32, 0.5), torch.randn(32, 2, 3, 32)))
            entries[f"psu SHDNet {kind}"] = ("SHDNet", lambda kind=kind: (
                psu.shd_net(kind, 15, 0.3, features=20, hidden=8), torch.randn(15, 2, 20)))
    # chapter 03: the network for every neuron kind, its recurrent form, and its two layers
    if paralif is not None:
        for kind in paralif.NEURONS:
            entries[f"paralif ParaLIFNet {kind}"] = ("ParaLIFNet", lambda kind=kind: (
                paralif.paralif_net(kind, 5, 3, [8, 8], dt=1e-3), torch.randn(40, 2, 5) * 3))
        entries["paralif ParaLIFNet T recurrent"] = ("ParaLIFNet", lambda: (
            paralif.paralif_net("T", 5, 3, [8], dt=1e-3, recurrent=True), torch.randn(40, 2, 5) * 3))
        entries["paralif SynapticLIF"] = ("SynapticLIF", lambda: (
            nn.Sequential(nn.Linear(5, 3), SynapticLIF()), torch.randn(40, 2, 5) * 3))
        entries["paralif LIReadout"] = ("LIReadout", lambda: (
            nn.Sequential(nn.Linear(5, 3), LIReadout()), torch.randn(40, 2, 5)))
    # chapter 04 (Spikformer): SSA and the softmax baseline, with either pooling of the stem
    if importlib.util.find_spec("snnlib.models.spikformer") is not None:
        from snnlib.models import spikformer
        for att in ("ssa", "vsa"):
            for pool in ("paper", "spikingjelly"):
                entries[f"spikformer Spikformer {att} {pool}"] = ("Spikformer", lambda att=att, pool=pool: (
                    spikformer.Spikformer(depth=1, dim=16, heads=2, T=2, in_channels=1, attention=att, pool=pool),
                    torch.rand(2, 2, 1, 16, 16)))
    # chapter 05 (Spikformer V2): SCS and SPS networks; the MAE's predicted patches (its own loss is in
    # tests/test_models_mae.py)
    if importlib.util.find_spec("snnlib.models.scs") is not None:
        from snnlib.models import mae, scs
        for stem in ("scs", "sps"):
            entries[f"spikformer_v2 SpikformerV2 {stem}"] = ("SpikformerV2", lambda stem=stem: (
                scs.SpikformerV2(depth=1, dim=16, heads=2, T=2, in_channels=1, patch=4, stem=stem),
                torch.rand(2, 2, 1, 16, 16)))

        class _MAEPatches(nn.Module):
            def __init__(self):
                super().__init__()
                self.mae = mae.SpikingMAE(scs.SpikformerV2(depth=1, dim=16, heads=2, in_channels=1, patch=4), 16,
                                          decoder_dim=16, decoder_heads=2)

            def forward(self, x):
                return self.mae(x, generator=torch.Generator().manual_seed(0))[1]

        entries["spikformer_v2 SpikingMAE"] = ("SpikingMAE", lambda: (_MAEPatches(), torch.rand(2, 1, 16, 16)))
    # chapter 06 (MS-ResNet): the four families of snnlib.models.resnet, time-first images
    if importlib.util.find_spec("snnlib.models.resnet") is not None:
        from snnlib.models import resnet
        for family in resnet.FAMILIES:
            entries[f"resnet SpikingResNet {family}"] = ("SpikingResNet", lambda family=family: (
                resnet.SpikingResNet(family, 8, 4, in_channels=3, T=3), torch.randn(3, 2, 3, 8, 8)))
    # chapter 07 (SynA-ResNet): the OR-ResNet and SynA-ResNet (gates open, per sample and as released)
    if importlib.util.find_spec("snnlib.models.attention") is not None:
        from snnlib.models import attention
        for label, kw in (("or", {"attention": False}), ("syna", {"gate_bias": 2.0}),
                          ("syna batch-axis gate", {"gate_bias": 2.0, "per_sample": False})):
            entries[f"attention SynAResNet {label}"] = ("SynAResNet", lambda kw=kw: (
                attention.SynAResNet(8, 4, in_channels=3, T=4, **kw), torch.randn(4, 2, 3, 8, 8)))
    # chapter 08 (side by side): the comparison's network with every neuron of its registry
    compare = _chapter("compare")
    if compare is not None:
        for kind in compare.NEURONS:
            entries[f"compare CompareNet {kind}"] = ("CompareNet", lambda kind=kind: (
                compare.compare_net(kind, 12, 5, 3, hidden=8, layers=2, readout_steps=4), torch.randn(12, 2, 5)))
    entries["sequence PerStep"] = ("PerStep", lambda: (PerStep(nn.Linear(5, 3)), torch.randn(4, 2, 5)))
    return entries


# Every network (and network layer) that snnlib.experiments builds: () -> (model, an input batch).
MODELS = _model_entries()


def _present(registry):
    """The neuron entries whose class exists in the tree now."""
    return {name: f for name, (cls, f) in registry.items() if hasattr(neurons, cls)}


def _exported_neuron_classes() -> set[str]:
    out = set()
    for name in neurons.__all__:
        obj = getattr(neurons, name)
        if inspect.isclass(obj) and issubclass(obj, nn.Module) and not obj.__module__.endswith(".surrogate"):
            out.add(name)
    return out


def _experiment_model_classes() -> set[str]:
    """The networks the experiments build: those of snnlib.models.sequence (the neuron chapters' networks)
    and any an experiment module still defines (none should: networks live in snnlib.models)."""
    out = set()
    mods = ["snnlib.models.sequence"] + [f"snnlib.experiments.{info.name}"
                                        for info in pkgutil.iter_modules(snnlib.experiments.__path__)]
    for mod_name in mods:
        mod = importlib.import_module(mod_name)
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name, None)
            if inspect.isclass(obj) and issubclass(obj, nn.Module) and obj.__module__ == mod.__name__:
                out.add(name)
    return out


def test_every_neuron_is_in_the_registry():
    missing = _exported_neuron_classes() - {cls for cls, _ in NEURONS.values()}
    assert not missing, f"add {sorted(missing)} to NEURONS in tests/test_precision.py"
    for name, make in _present(NEURONS).items():
        assert type(make(8, 3)).__name__ == NEURONS[name][0], name


def test_every_model_is_in_the_registry():
    missing = _experiment_model_classes() - {cls for cls, _ in MODELS.values()}
    assert not missing, f"add {sorted(missing)} to MODELS in tests/test_precision.py"


# ----------------------------------------------------------------------------------------------------
# autocast and low precision: forward + backward, finite


def _assert_finite_grads(module: nn.Module, *leaves: torch.Tensor, who: str) -> None:
    for t in leaves:
        assert t.grad is not None and torch.isfinite(t.grad).all(), f"{who}: input gradient"
    for pname, p in module.named_parameters():
        if p.requires_grad and p.grad is not None:
            assert torch.isfinite(p.grad).all(), f"{who}: gradient of {pname}"


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("name", sorted(_present(NEURONS)))
def test_every_neuron_under_cpu_autocast(name, dtype):
    """In a model the neuron receives what the layer before it returns under autocast: low precision."""
    torch.manual_seed(0)
    T, N, F = 40, 3, 6
    pre = nn.Linear(F, F)
    neuron = _present(NEURONS)[name](T, F)
    x = torch.randn(T, N, F, requires_grad=True)
    with torch.autocast("cpu", dtype=dtype):
        h = pre(x)
        assert h.dtype == dtype
        s = neuron(h * 3.0)
    assert s.shape == (T, N, F) and torch.isfinite(s).all(), name
    (s.float() * torch.randn(T, N, F)).sum().backward()
    _assert_finite_grads(neuron, x, who=name)


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("name", sorted(_present(NEURONS)))
def test_every_neuron_in_low_precision(name, dtype):
    """The whole neuron cast to bfloat16 / float16, outside autocast."""
    torch.manual_seed(0)
    T, N, F = 40, 3, 6
    neuron = _present(NEURONS)[name](T, F).to(dtype)
    x = (torch.randn(T, N, F) * 3.0).to(dtype).requires_grad_(True)
    s = neuron(x)
    assert s.shape == (T, N, F) and torch.isfinite(s).all(), name
    (s.float() * torch.randn(T, N, F)).sum().backward()
    _assert_finite_grads(neuron, x, who=name)


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_under_cpu_autocast(name, dtype):
    torch.manual_seed(0)
    model, x = MODELS[name][1]()
    model.train()
    with torch.autocast("cpu", dtype=dtype):
        y = model(x)
        loss = nn.functional.cross_entropy(y.float().reshape(-1, y.shape[-1]),
                                           torch.zeros(y.shape[:-1], dtype=torch.long).reshape(-1))
    assert torch.isfinite(y).all(), name
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads), name


# ----------------------------------------------------------------------------------------------------
# leaky_integrate in float16 / bfloat16: the stated tolerance


def _reference(x: torch.Tensor, beta, alpha=None, scale_input=True) -> torch.Tensor:
    u = torch.zeros_like(x[0])
    i = torch.zeros_like(x[0])
    out = []
    for x_t in x:
        if alpha is not None:
            i = alpha * i + x_t
            x_t = i
        u = beta * u + ((1 - beta) * x_t if scale_input else x_t)
        out.append(u)
    return torch.stack(out)


def _within_stated_tolerance(u: torch.Tensor, ref: torch.Tensor, dtype: torch.dtype, what: str) -> None:
    """The docstring's promise: |u - u32| <= eps(dtype) |u32| + 1e-5 max|u32| elementwise."""
    eps = torch.finfo(dtype).eps
    bound = eps * ref.abs() + 1e-5 * ref.abs().max()
    err = (u.to(F64) - ref).abs()
    worst = float((err / bound).max())
    assert worst <= 1.0, f"{what}: error {float(err.max()):.3g}, {worst:.3g} x the stated tolerance"


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("method", METHODS)
def test_low_precision_input_within_the_stated_tolerance(method, dtype):
    g = torch.Generator().manual_seed(3)
    for T in (32, 300):  # short (auto: dense) and long (auto: scan, several chunks)
        for beta in (0.5, 0.99, 0.999):
            for alpha, scale_input in ((None, True), (None, False), (0.9, True)):
                x = torch.randn(T, 4, 8, generator=g).to(dtype)
                ref = _reference(x.to(F64), beta, alpha, scale_input)
                u = leaky_integrate(x, beta, alpha=alpha, scale_input=scale_input, method=method)
                assert u.dtype == dtype and u.shape == x.shape
                _within_stated_tolerance(u, ref, dtype, f"{method} T={T} beta={beta} alpha={alpha} "
                                                        f"scale_input={scale_input}")
        # a beta per neuron, in x's dtype
        x = torch.randn(64, 4, 8, generator=g).to(dtype)
        b = (torch.rand(8, generator=g) * 0.5 + 0.49).to(dtype)
        ref = _reference(x.to(F64), b.to(F64))
        _within_stated_tolerance(leaky_integrate(x, b, method=method), ref, dtype, f"{method} per-neuron beta")


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("method", CONCRETE)
def test_low_precision_gradients_within_the_stated_tolerance(method, dtype):
    g = torch.Generator().manual_seed(5)
    x64 = torch.randn(100, 3, 4, generator=g, dtype=F64)
    gy = torch.randn(100, 3, 4, generator=g).to(dtype)
    x = x64.to(dtype).requires_grad_(True)
    b = torch.full((4,), 0.95).to(dtype).requires_grad_(True)
    leaky_integrate(x, b, method=method).backward(gy)
    xr = x.detach().to(F64).requires_grad_(True)
    br = b.detach().to(F64).requires_grad_(True)
    _reference(xr, br).backward(gy.to(F64))
    assert x.grad.dtype == dtype and b.grad.dtype == dtype
    _within_stated_tolerance(x.grad, xr.grad, dtype, f"{method} grad x")
    _within_stated_tolerance(b.grad, br.grad, dtype, f"{method} grad beta")


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("method", METHODS)
def test_reset_free_lif_spikes_in_low_precision_match_float32(method, dtype):
    """ResetFreeLIF(tau=10) at T = 32: in float16 'dense' used to flip 413 spikes (serial: 15)."""
    torch.manual_seed(0)
    x = (torch.randn(32, 64, 32) + 1.0).to(dtype)
    n = neurons.ResetFreeLIF(tau=10.0, method=method)
    h32 = n.charge_serial(x.to(F64))
    s = n(x)
    assert s.dtype == dtype
    ref = (h32 >= 1.0).to(dtype)
    clear = (h32 - 1.0).abs() > 2 * torch.finfo(dtype).eps * h32.abs() + 1e-5  # not within rounding of theta
    flips = int((s != ref)[clear].sum())
    assert flips == 0, f"{method} {dtype}: {flips} spikes differ from float64 away from the threshold"


# ----------------------------------------------------------------------------------------------------
# T = 0


@pytest.mark.parametrize("method", METHODS)
def test_leaky_integrate_T0_is_a_clear_error(method):
    for alpha in (None, 0.5):
        with pytest.raises(ValueError, match=r"x has shape \(0, 2, 3\).*T = 0.*expected T >= 1"):
            leaky_integrate(torch.zeros(0, 2, 3), 0.5, alpha=alpha, method=method)


@pytest.mark.parametrize("name", sorted(_present(NEURONS)))
def test_every_neuron_T0_is_a_clear_error(name):
    neuron = _present(NEURONS)[name](4, 3)
    with pytest.raises(ValueError, match=r"x_seq has shape \(0, 2, 3\).*T = 0.*expected T >= 1"):
        neuron(torch.zeros(0, 2, 3))


def test_causal_fir_T0_is_a_clear_error():
    w = torch.ones(3)
    with pytest.raises(ValueError, match=r"x_seq has shape \(0, 2\).*T = 0.*expected T >= 1"):
        neurons.causal_fir(torch.zeros(0, 2), w)


# ----------------------------------------------------------------------------------------------------
# beta near 1 in float64


@pytest.mark.parametrize("method", METHODS)
def test_beta_near_one_in_float64(method):
    """beta = 1 - 1e-8 must not be rounded (to float32 it is 1.0, and u would never leave u[0])."""
    g = torch.Generator().manual_seed(8)
    x = torch.randn(50, 3, 4, generator=g, dtype=F64)
    for beta in (1 - 1e-8, 1 - 1e-12):
        for scale_input in (True, False):
            ref = _reference(x, beta, scale_input=scale_input)
            u = leaky_integrate(x, beta, scale_input=scale_input, method=method)
            torch.testing.assert_close(u, ref, rtol=1e-9, atol=1e-12 * float(ref.abs().max()),
                                       msg=lambda m: f"{method} beta={beta} scale_input={scale_input}: {m}")
            bt = torch.tensor(beta, dtype=F64)
            torch.testing.assert_close(leaky_integrate(x, bt, scale_input=scale_input, method=method), ref,
                                       rtol=1e-9, atol=1e-12 * float(ref.abs().max()))


@pytest.mark.parametrize("method", METHODS)
def test_beta_near_one_in_float32(method):
    """A float beta is not rounded to x's dtype: float32(1 - 1e-8) is 1.0, with which serial's lerp left u
    at u[0] forever (99.8% error at T = 64)."""
    g = torch.Generator().manual_seed(9)
    x = torch.randn(64, 3, 4, generator=g)
    for beta in (1 - 1e-8, 1 - 1e-6):
        ref = _reference(x.to(F64), beta)
        u = leaky_integrate(x, beta, method=method)
        err = float((u.to(F64) - ref).abs().max() / ref.abs().max())
        assert err < 1e-5, f"{method} beta={beta}: error {err:.3g} of max|u|"


# ----------------------------------------------------------------------------------------------------
# importing without spikingjelly


def test_neurons_import_without_spikingjelly():
    code = (
        "import sys\n"
        "sys.modules['spikingjelly'] = None\n"  # any 'import spikingjelly...' now raises ImportError
        "import torch\n"
        "import snnlib.neurons as n\n"
        "x = torch.randn(8, 2, 3, requires_grad=True)\n"
        "for m in (n.LIF(), n.ResetFreeLIF(), n.PSN(8), n.MaskedPSN(2, 8), n.SlidingPSN(2)):\n"
        "    m(x).sum().backward()\n"
        "assert 'spikingjelly.activation_based' not in sys.modules\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
