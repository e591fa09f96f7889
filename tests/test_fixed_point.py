"""Chapter 09's library: the LIF with its reset as a fixed point, FPT, and the PSU as one fixed-point step."""
from __future__ import annotations

import itertools

import pytest
import torch

from snnlib.neurons import PSU
from snnlib.neurons.fixed_point import FPT, fixed_point_lif, fixed_point_potential, psu_as_one_step
from snnlib.neurons.lif import lif_multi_step

SETTINGS = list(itertools.product((1, 7, 33), (None, 0.0, -0.4), (True, False), (0.5, 1.0, 2.0), (1.5, 2.0, 10.0)))


@pytest.mark.parametrize("T,v_reset,decay_input,theta,tau", SETTINGS)
def test_the_fixed_point_is_the_serial_lif_in_float64(T, v_reset, decay_input, theta, tau):
    g = torch.Generator().manual_seed(T * 7 + int(10 * theta))
    scale = 2.5 * theta * (1.0 if decay_input else 1.0 / tau)
    x = (torch.rand(T, 3, 11, generator=g, dtype=torch.float64) * 2 - 0.3) * scale * (tau if decay_input else 1)
    s_ser, h_ser, _ = lif_multi_step(x, tau, theta, v_reset, decay_input)
    s_fp, h_fp, k = fixed_point_lif(x, tau, theta, v_reset, decay_input)
    assert torch.equal(s_ser, s_fp)
    assert (h_ser - h_fp).abs().max() <= 1e-10
    assert 1 <= k <= T + 1


def test_float32_equality_where_the_serial_run_keeps_away_from_the_threshold():
    g = torch.Generator().manual_seed(0)
    for v_reset in (None, 0.0):
        x = torch.rand(64, 8, 32, generator=g) * 3
        s_ser, h_ser, _ = lif_multi_step(x, 2.0, 1.0, v_reset)
        s_fp, h_fp, _ = fixed_point_lif(x, 2.0, 1.0, v_reset)
        far = ((h_ser - 1.0).abs() > 1e-4).all(0)  # neurons whose every step is clear of the threshold
        assert far.any()
        assert torch.equal(s_ser[:, far], s_fp[:, far])
        assert (h_ser[:, far] - h_fp[:, far]).abs().max() <= 1e-5


def test_the_iteration_count_is_the_longest_chain_and_never_exceeds_T_plus_1():
    x = torch.full((20, 1, 1), 0.0, dtype=torch.float64)
    assert fixed_point_lif(x, 2.0, 1.0)[2] == 1            # nothing fires: one pass confirms S = 0
    x = torch.full((20, 1, 1), 1.5, dtype=torch.float64)    # a regular spike train: each reset moves the next
    s, _, k = fixed_point_lif(x, 2.0, 1.0)
    assert 2 <= k <= 21 and torch.equal(s, lif_multi_step(x, 2.0, 1.0)[0])


def test_gradients_are_the_serial_lifs_surrogate_bptt():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(24, 4, 6, generator=g) * 3
    cot = torch.randn(24, 4, 6, generator=g)
    for v_reset, detach in itertools.product((None, 0.0), (False, True)):
        a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
        (lif_multi_step(a, 2.0, 1.0, v_reset, True, None, detach)[0] * cot).sum().backward()
        (fixed_point_lif(b, 2.0, 1.0, v_reset, True, None, detach)[0] * cot).sum().backward()
        assert torch.allclose(a.grad, b.grad, atol=1e-6)


def test_the_potential_given_spikes_is_linear_in_the_input():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(16, 2, 3, generator=g, dtype=torch.float64), torch.randn(16, 2, 3, generator=g, dtype=torch.float64)
    s = (torch.rand(16, 2, 3, generator=g) > 0.7).double()
    for v_reset in (None, 0.0):
        f = lambda z: fixed_point_potential(z, s, 2.0, v_reset, 1.0) - fixed_point_potential(0 * z, s, 2.0, v_reset, 1.0)
        assert torch.allclose(f(x + 2 * y), f(x) + 2 * f(y), atol=1e-12)


@pytest.mark.parametrize("theta", [0.3, 0.5, 1.0, 2.0])
def test_the_psu_is_one_fixed_point_step_with_a_sigmoid(theta):
    x = torch.randn(30, 3, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2
    assert torch.allclose(psu_as_one_step(x, 2.0, theta), PSU(tau=2.0, v_threshold=theta).charge(x), atol=1e-12)
    # FPT's first step relaxes the spike as sigma(alpha (h - theta)): another estimate
    fpt_one = psu_as_one_step(x, 2.0, theta, relax=lambda h: torch.sigmoid(6.0 * (h - theta)))
    assert (fpt_one - PSU(tau=2.0, v_threshold=theta).charge(x)).abs().max() > 1e-3


def test_fpt_with_hard_slopes_and_K_at_least_T_is_the_exact_lif():
    x = torch.rand(12, 4, 7, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 2.5
    exact = fixed_point_lif(x, 2.0, 1.0, None, False)[0]
    fpt = FPT(K=12, alphas=(1e9,) * 13, tau=2.0, v_threshold=1.0, decay_input=False)
    assert torch.equal(fpt(x), exact)
    assert not torch.equal(FPT(K=0, tau=2.0, decay_input=False)(x), exact)  # K = 0 is the reset-free neuron


def test_fpt_arguments_are_checked_and_gradients_flow():
    with pytest.raises(ValueError, match="K="):
        FPT(K=-1)
    with pytest.raises(ValueError, match="K \\+ 1 = 3"):
        FPT(K=2, alphas=(1.0, 2.0))
    x = torch.rand(8, 2, 3).requires_grad_()
    FPT(2)(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert set(FPT(K=2, sample=True)(torch.rand(8, 2, 3)).unique().tolist()) <= {0.0, 1.0}


def test_non_finite_input_is_refused_by_name():
    x = torch.rand(5, 2, 2)
    x[2, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="x_seq holds NaN"):
        fixed_point_lif(x)


@pytest.mark.parametrize("v_reset", [None, 0.0, 0.2])
def test_lif_method_fixed_point_equals_the_serial_lif_with_its_sequences(v_reset):
    from snnlib.neurons import LIF

    x = torch.rand(17, 3, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64) * 2.5
    serial = LIF(v_reset=v_reset, store_v_seq=True)
    fixed = LIF(v_reset=v_reset, store_v_seq=True, method="fixed_point")
    assert torch.equal(serial(x), fixed(x))
    assert (serial.h_seq - fixed.h_seq).abs().max() <= 1e-10 and (serial.v_seq - fixed.v_seq).abs().max() <= 1e-10
    assert 1 <= fixed.iterations <= 18 and serial.iterations is None
    with pytest.raises(ValueError, match="method='scan'"):
        LIF(method="scan")
