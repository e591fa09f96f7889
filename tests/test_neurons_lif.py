"""snnlib.neurons.LIF equals spikingjelly's LIFNode: potentials, spikes and surrogate gradients."""
from __future__ import annotations

import pytest
import torch
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based import surrogate

from snnlib.neurons import LIF, lif_multi_step

TOL = 1e-5


# correctness tests run on one thread (see conftest.one_thread)
pytestmark = pytest.mark.usefixtures("one_thread")


def _pair(v_reset, decay_input, detach_reset, tau=2.0, v_threshold=1.0):
    sj = sj_neuron.LIFNode(
        tau=tau, decay_input=decay_input, v_threshold=v_threshold, v_reset=v_reset,
        surrogate_function=surrogate.ATan(alpha=2.0), detach_reset=detach_reset, step_mode="m",
        store_v_seq=True,
    )
    me = LIF(tau, v_threshold=v_threshold, v_reset=v_reset, decay_input=decay_input,
             detach_reset=detach_reset, store_v_seq=True)
    return sj, me


@pytest.mark.parametrize("v_reset", [0.0, None, -0.25], ids=["hard", "soft", "hard-0.25"])
@pytest.mark.parametrize("decay_input", [True, False])
@pytest.mark.parametrize("detach_reset", [False, True])
def test_lif_equals_spikingjelly_lifnode(v_reset, decay_input, detach_reset):
    torch.manual_seed(3)
    x = (torch.randn(48, 4, 24) * 1.5 + 0.6).requires_grad_(True)
    sj, me = _pair(v_reset, decay_input, detach_reset)
    s_sj = sj(x)
    s_me = me(x)
    assert 0.05 < s_me.mean().item() < 0.6  # the comparison exercises resets
    # potentials after reset
    torch.testing.assert_close(me.v_seq, sj.v_seq, rtol=0, atol=TOL)
    # pre-spike H, rebuilt from spikingjelly's own post-reset V
    v_prev = torch.cat([torch.full_like(x[:1], 0.0 if v_reset is None else v_reset), sj.v_seq[:-1]])
    rest = 0.0 if v_reset is None else v_reset
    h_sj = v_prev + (x - (v_prev - rest)) / 2.0 if decay_input else v_prev - (v_prev - rest) / 2.0 + x
    torch.testing.assert_close(me.h_seq, h_sj.detach(), rtol=0, atol=TOL)
    clear = (me.h_seq - 1.0).abs() > TOL
    assert torch.equal(s_me[clear], s_sj[clear])
    g = torch.randn_like(s_me)
    (gx_sj,) = torch.autograd.grad(s_sj, x, g)
    (gx_me,) = torch.autograd.grad(s_me, x, g)
    torch.testing.assert_close(gx_me, gx_sj, rtol=0, atol=TOL)


@pytest.mark.parametrize("v_reset", [0.0, None])
def test_lif_step_equals_forward_and_streams(v_reset):
    torch.manual_seed(4)
    x = (torch.randn(20, 3, 5) + 0.8).requires_grad_(True)
    me = LIF(2.0, v_reset=v_reset)
    s_seq = me(x)
    me.reset()
    s_steps = torch.stack([me.step(x_t) for x_t in x])
    assert torch.equal(s_steps, s_seq)
    g = torch.randn_like(s_seq)
    (g_seq,) = torch.autograd.grad(s_seq, x, g)
    (g_step,) = torch.autograd.grad(s_steps, x, g)
    torch.testing.assert_close(g_step, g_seq, rtol=0, atol=TOL)
    # the state carries over between step() calls and reset() clears it
    me.reset()
    first = me.step(torch.full((1,), 1.5))  # H = 0.75: silent
    second = me.step(torch.full((1,), 1.5))  # H = 0.75 + (1.5 - 0.75) / 2 = 1.125: fires
    assert first.item() == 0.0 and second.item() == 1.0
    assert me.v.item() == (0.0 if v_reset == 0.0 else 0.125)
    me.reset()
    assert me.v is None


def test_lif_recurrence_by_hand():
    # tau = 2, decay_input, hard reset at 0, threshold 1: H = V/2 + X/2
    x = torch.tensor([[1.5], [1.5], [1.5], [0.0]])
    spikes, h, _ = lif_multi_step(x, tau=2.0)
    torch.testing.assert_close(h[:, 0], torch.tensor([0.75, 1.125, 0.75, 0.375]))
    assert spikes[:, 0].tolist() == [0.0, 1.0, 0.0, 0.0]


def test_lif_forward_is_stateless():
    torch.manual_seed(5)
    x = torch.randn(10, 2, 3) + 1.0
    me = LIF(2.0)
    a = me(x)
    me.step(x[0] * 10)
    b = me(x)
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"tau": 1.0}, "tau=1.0"), ({"tau": 0.5}, "tau=0.5"), ({"tau": 2.0, "v_reset": "zero"}, "v_reset='zero'")],
)
def test_lif_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        LIF(**kwargs)


def test_lif_rejects_one_dimensional_input_and_non_spiking_surrogate():
    with pytest.raises(ValueError, match=r"shape \(5,\).*at least 2 dimensions"):
        LIF(2.0)(torch.zeros(5))
    with pytest.raises(ValueError, match="spiking=False"):
        LIF(2.0, surrogate_function=surrogate.ATan(spiking=False))
