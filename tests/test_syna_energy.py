"""snnlib.energy's conventions for non-binary inputs (chapter 07): a hand count on a two-layer example,
and the ADD, OR and SynA networks counted both ways."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from snnlib import energy
from snnlib.models import attention as A
from snnlib.models import resnet as R

pytestmark = pytest.mark.usefixtures("one_thread")


class _Fixed(nn.Module):
    """Stands in for a neuron layer: ignores its input and emits a fixed [T=2, N=1, 3] map of 0/1/2."""

    def forward(self, x):
        return torch.tensor([[[1.0, 0.0, 2.0]], [[2.0, 0.0, 0.0]]])


def _two_layer():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3, bias=False), _Fixed(), nn.Linear(3, 2, bias=False))


def test_energy_hand_count_two_layers_both_conventions():
    model, x = _two_layer(), torch.rand(2, 1, 4)  # T = 2, one sample
    # layer 1 (encoding): 2 steps x 3 outputs x 4 inputs = 24 MACs.  Layer 2 runs 2 x 2 x 3 = 12 MACs;
    # of its 6 inputs three are non-zero (rate 1/2), one equals 1 and two equal 2.
    enc = 24 * 4.6
    ac = energy.energy_report(model, x, T=2)
    assert ac.layers[0].ops == 24 and ac.layers[1].ops == 6 and ac.layers[1].mac_ops == 0
    assert ac.energy_pj == pytest.approx(enc + 6 * 0.9)          # every non-zero input one AC
    mac = energy.energy_report(model, x, T=2, nonbinary="mac")
    assert mac.layers[1].ops == 6 and mac.layers[1].mac_ops == pytest.approx(4)
    assert mac.energy_pj == pytest.approx(enc + 2 * 0.9 + 4 * 4.6)  # 2 ACs (the 1) + 4 MACs (the 2s)
    # the paper's E = 3.7 pJ x mult + 0.9 pJ x add: a MAC is one of each
    assert energy.E_MULT_PJ + energy.E_AC_PJ == pytest.approx(energy.E_MAC_PJ)
    other = energy.energy_report(model, x, T=2, nonbinary="mac", e_mac_pj=10.0, e_ac_pj=1.0)
    assert other.energy_pj == pytest.approx(24 * 10 + 2 * 1 + 4 * 10)
    assert "AC+MAC" in mac.table()


def test_nonbinary_is_checked():
    with pytest.raises(ValueError, match=r"nonbinary='multiply'; expected 'ac', 'mac' or 'count'"):
        energy.energy_report(_two_layer(), torch.rand(2, 1, 4), T=2, nonbinary="multiply")


def test_add_pays_for_its_twos_and_or_does_not():
    torch.manual_seed(0)
    x = torch.rand(8, 1, 8, 8) * 3
    add = R.SpikingResNet("sew", 8, 4, in_channels=1, T=2).train()
    orn = R.SpikingResNet("sew", 8, 4, in_channels=1, T=2, connect=R.or_).train()
    syna = A.SynAResNet(8, 4, in_channels=1, T=4, gate_bias=2.0).train()
    for m in (add, orn, syna):  # eval-mode BN with this batch's statistics, so that the networks fire
        for bn in m.modules():
            if isinstance(bn, nn.BatchNorm2d):
                bn.momentum = None
        with torch.no_grad():
            m(x)
    rep = {n: (energy.energy_report(m, x, T=m.T), energy.energy_report(m, x, T=m.T, nonbinary="mac"))
           for n, m in (("add", add), ("or", orn), ("syna", syna))}
    convs = lambda r: [la for la in r.layers if la.kind == "Conv2d" and not la.encoding]  # noqa: E731
    assert sum(la.mac_ops for la in convs(rep["add"][1])) > 0     # ADD's 0/1/2 reach a convolution
    assert rep["add"][1].energy_pj > rep["add"][0].energy_pj
    for n in ("or", "syna"):                                       # OR keeps every convolution's input binary
        assert all(la.mac_ops == 0 for la in convs(rep[n][1]))
