"""snnlib.energy: FLOPs, SOPs, firing rates and energy of a small conv net against a hand calculation."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from snnlib.energy import (E_AC_PJ, E_MAC_PJ, FiringRateMonitor, energy_report, is_neuron, layer_macs,
                           neuron_modules)
from snnlib.neurons import LIF


class Forced(nn.Module):
    """A stand-in neuron that fires exactly a fraction ``1/k`` of its outputs (every k-th element)."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idx = torch.arange(x.numel()).reshape(x.shape)
        return (idx % self.k == 0).to(x.dtype)


class ConvNet(nn.Module):
    """[T, N, 1, 8, 8] -> conv 1->4 -> spikes (1/4) -> conv 4->8 -> spikes (1/2) -> fc 512->10 -> [T, N, 10]."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.sn1 = Forced(4)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1, bias=False)
        self.sn2 = Forced(2)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        T, N = x.shape[:2]
        h = self.sn1(self.conv1(x.flatten(0, 1)))
        h = self.sn2(self.conv2(h))
        return self.fc(h.flatten(1)).view(T, N, 10)


def test_energy_of_a_small_conv_net_matches_the_hand_calculation():
    T, N = 4, 2
    x = torch.rand(T, N, 1, 8, 8) + 0.1  # real-valued input: conv1 is the encoding layer
    rep = energy_report(ConvNet(), x, T=T, neuron_types=(Forced,))
    by_name = {la.name: la for la in rep.layers}
    assert list(by_name) == ["conv1", "conv2", "fc"]

    # FLOPs per step and sample: outputs x (in_channels x kernel) for a conv, in x out for a linear
    flops = {"conv1": (4 * 8 * 8) * (1 * 3 * 3), "conv2": (8 * 8 * 8) * (4 * 3 * 3), "fc": 512 * 10}
    assert flops == {"conv1": 2304, "conv2": 18432, "fc": 5120}
    for name, f in flops.items():
        assert by_name[name].flops == pytest.approx(f)

    # the encoding layer runs T times on real values: MACs; the others: SOPs = rate x T x FLOPs
    assert by_name["conv1"].encoding and by_name["conv1"].ops == pytest.approx(4 * 2304)
    assert by_name["conv2"].input_rate == pytest.approx(0.25) and by_name["conv2"].ops == pytest.approx(0.25 * 4 * 18432)
    assert by_name["fc"].input_rate == pytest.approx(0.5) and by_name["fc"].ops == pytest.approx(0.5 * 4 * 5120)
    assert rep.encoding_macs == pytest.approx(9216) and rep.sops == pytest.approx(18432 + 10240)

    energy = 4.6 * 9216 + 0.9 * (18432 + 10240)  # pJ per sample
    assert energy == pytest.approx(68198.4)
    assert rep.energy_pj == pytest.approx(energy)
    assert rep.ann_energy_pj == pytest.approx(4.6 * (2304 + 18432 + 5120))
    assert (E_MAC_PJ, E_AC_PJ) == (4.6, 0.9)

    # firing: 256 neurons at 1/4 and 512 at 1/2 per step; spikes per neuron = rate x T
    rate = (256 * 0.25 + 512 * 0.5) / (256 + 512)
    assert rep.firing_rate == pytest.approx(rate)
    assert rep.spikes_per_neuron == pytest.approx(rate * T)
    assert "conv1" in rep.table() and rep.to_dict()["energy_pj"] == pytest.approx(energy)


def test_encoding_layers_can_be_named():
    x = torch.rand(4, 2, 1, 8, 8)
    rep = energy_report(ConvNet(), x, T=4, encoding=["conv1", "conv2"], neuron_types=(Forced,))
    assert rep.encoding_macs == pytest.approx(4 * (2304 + 18432))
    with pytest.raises(ValueError, match=r"\['conv9'\].*valid names: conv1, conv2, fc"):
        energy_report(ConvNet(), x, T=4, encoding=["conv9"])
    with pytest.raises(ValueError, match="encoding='last'"):
        energy_report(ConvNet(), x, T=4, encoding="last")


def test_layer_macs_counts_groups_and_linear_tokens():
    conv = nn.Conv2d(8, 8, 3, padding=1, groups=4)
    x = torch.zeros(2, 8, 5, 5)
    assert layer_macs(conv, x, conv(x)) == 2 * 8 * 5 * 5 * (2 * 3 * 3)
    lin = nn.Linear(6, 3)
    tokens = torch.zeros(4, 2, 7, 6)  # [T, N, tokens, features]
    assert layer_macs(lin, tokens, lin(tokens)) == 4 * 2 * 7 * 3 * 6
    with pytest.raises(TypeError, match="ReLU is not a synaptic layer"):
        layer_macs(nn.ReLU(), x, x)


def test_monitor_finds_library_neurons_but_not_their_surrogates():
    model = nn.Sequential(nn.Linear(3, 5), LIF(), nn.Linear(5, 2), LIF())
    names = [n for n, _ in neuron_modules(model)]
    assert names == ["1", "3"]
    assert not is_neuron(model[1].surrogate_function) and not is_neuron(model[0])
    x = torch.full((6, 4, 3), 2.0)
    with FiringRateMonitor(model) as mon, torch.no_grad():
        out = model(x)
        hidden = model[1](model[0](x))
    assert set(mon.rates()) == {"1", "3"}
    assert mon.rates()["3"] == pytest.approx(float(out.mean()))
    # module "1" ran twice (once inside the model, once by hand) on the same input
    assert mon.rates()["1"] == pytest.approx(float(hidden.mean()))
    assert mon.spikes_per_neuron(6) == pytest.approx(mon.rate * 6)
    with torch.no_grad():
        model(x)  # the hooks are gone after the with block
    assert mon.counts["3"] == out.numel()


def test_monitor_without_neurons_reports_nan():
    with FiringRateMonitor(nn.Linear(2, 2)) as mon:
        nn.Linear(2, 2)(torch.zeros(1, 2))
    assert math.isnan(mon.rate) and mon.rates() == {}


def test_neuron_updates_are_counted_beside_the_synapses_by_hand():
    from snnlib.energy import NEURON_UPDATE_MACS, energy_report
    from snnlib.neurons import LIF, PSN

    T, N, F = 8, 3, 5
    for neuron, per_step in ((LIF(), 2.0), (PSN(T), float(T))):
        net = nn.Sequential(nn.Linear(4, F), neuron)
        x = torch.rand(T, N, 4)
        plain = energy_report(net, x, T=T)
        rep = energy_report(net, x, T=T, neuron_updates=True)
        assert rep.energy_pj == plain.energy_pj and plain.neuron_macs == 0.0     # never added in
        # F neurons, T steps, per_step MACs each, per sample
        assert rep.neuron_macs == F * T * per_step
        assert rep.neuron_energy_pj == rep.neuron_macs * 4.6
        assert NEURON_UPDATE_MACS[type(neuron).__name__](neuron) == per_step


def test_a_neuron_without_a_known_update_cost_is_refused_by_name():
    from snnlib.energy import energy_report
    from snnlib.neurons import LIF

    class MyLIF(LIF):
        pass

    net = nn.Sequential(nn.Linear(4, 5), MyLIF())
    with pytest.raises(ValueError, match="no per-step cost for '1' \\(MyLIF\\)"):
        energy_report(net, torch.rand(4, 2, 4), T=4, neuron_updates=True, neuron_types=(MyLIF,))


def test_every_neuron_of_chapter_08_has_an_update_cost():
    from snnlib.energy import NEURON_UPDATE_MACS
    from snnlib.experiments import compare

    for key in compare.NEURONS:
        neuron = compare.NEURONS[key].build(16, 4)
        assert type(neuron).__name__ in NEURON_UPDATE_MACS, key


def test_the_synA_scripts_energy_convention_by_hand():
    """SynA-ResNet's evaluation script, on a two-conv network: (Cin k^2 - 1) per output, the first conv as
    MACs, the second as ACs times its input's rate, every BN as one MAC per output, the head as
    Cin Cout multiplications and Cin^2 additions; 3.7 pJ per multiplication, 0.9 per addition."""
    from snnlib.energy import script_energy

    class Step(nn.Module):
        def forward(self, v):
            return (v > 0).float()

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), Step(),
                        nn.Conv2d(2, 2, 3, padding=1), nn.BatchNorm2d(2), Step(), nn.Flatten(), nn.Linear(32, 3))
    x = torch.randn(2, 1, 4, 4)
    spikes = net[2](net[1].eval()(net[0](x)))
    rate = float(spikes.count_nonzero()) / spikes.numel()
    e = script_energy(net, x)
    assert e["mac"] == (1 * 9 - 1) * 2 * 4 * 4                       # 256
    assert e["bn_mac"] == 2 * (2 * 4 * 4)                             # two BNs, 32 outputs each
    assert abs(e["ac"] - (2 * 9 - 1) * 2 * 4 * 4 * rate) < 1e-9       # 544 x rate
    assert e["linear_mult"] == 32 * 3 and e["linear_add"] == 32 * 32
    mult = 256 + 64 + 96
    add = 256 + 64 + e["ac"] + 1024
    assert abs(e["energy_pj"] - (3.7 * mult + 0.9 * add)) < 1e-9


def test_the_count_convention_costs_an_integer_v_as_v_accumulates():
    """nonbinary='count': a 2 costs two ACs (a graded spike), a real value a MAC; binary inputs as 'ac'."""
    lin = nn.Linear(3, 4, bias=False)
    net = nn.Sequential(nn.Linear(2, 3), nn.Identity(), lin)
    T, N = 2, 1

    class Fixed(nn.Module):
        def forward(self, v):
            return torch.tensor([[[0.0, 1.0, 2.0]], [[2.0, 0.5, 0.0]]])   # [T, N, 3]: 0, 1, 2, 2, 0.5, 0

    net[1] = Fixed()
    x = torch.rand(T, N, 2)
    rep = energy_report(net, x, T=T, nonbinary="count")
    second = rep.layers[1]
    # per input element the layer reaches 4 synapses; integers: 0 + 1 + 2 + 2 + 0 = 5 ACs each, 0.5: one MAC
    assert second.ops == (5 + 1) * 4 and second.mac_ops == 1 * 4
    assert abs(second.energy_pj - (5 * 4 * 0.9 + 4 * 4.6)) < 1e-9
    ac = energy_report(net, x, T=T, nonbinary="ac").layers[1]
    assert ac.ops == 4 * 4 and ac.mac_ops == 0          # "ac": each of the 4 non-zero inputs one AC per synapse
    with pytest.raises(ValueError, match="'ac', 'mac' or 'count'"):
        energy_report(net, x, T=T, nonbinary="two")
