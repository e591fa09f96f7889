"""Chapter 09's library: the LIF with its reset as a fixed point, FPT, and the PSU as one fixed-point step."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from snnlib.neurons import PSU
from snnlib.neurons import fixed_point as fp
from snnlib.neurons.fixed_point import FPT, fixed_point_lif, fixed_point_potential, iteration_counts, psu_as_one_step
from snnlib.neurons.lif import lif_multi_step

SETTINGS = list(itertools.product((1, 7, 33), (None, 0.0, -0.4), (True, False), (0.5, 1.0, 2.0), (1.5, 2.0, 10.0)))
#: the forms: plain (whole passes), active set, chunked (with and without the active set), the serial loop
FORMS = [dict(active_set=False), dict(), dict(chunk=4), dict(chunk=5, active_set=False), dict(chunk=1)]


def _bound(T, form):
    """The most passes a form may take: T + 1, or T + ceil(T / C) with chunks (T at chunk 1)."""
    C = form.get("chunk")
    return T + 1 if C is None else (T if C == 1 else T + math.ceil(T / C))


@pytest.mark.parametrize("T,v_reset,decay_input,theta,tau", SETTINGS)
def test_the_fixed_point_is_the_serial_lif_in_float64(T, v_reset, decay_input, theta, tau):
    g = torch.Generator().manual_seed(T * 7 + int(10 * theta))
    scale = 2.5 * theta * (1.0 if decay_input else 1.0 / tau)
    x = (torch.rand(T, 3, 11, generator=g, dtype=torch.float64) * 2 - 0.3) * scale * (tau if decay_input else 1)
    s_ser, h_ser, _ = lif_multi_step(x, tau, theta, v_reset, decay_input)
    s_plain, h_plain, k_plain = fixed_point_lif(x, tau, theta, v_reset, decay_input, active_set=False)
    for form in FORMS:
        s_fp, h_fp, k = fixed_point_lif(x, tau, theta, v_reset, decay_input, **form)
        assert torch.equal(s_ser, s_fp), form
        assert (h_ser - h_fp).abs().max() <= 1e-10, form
        assert torch.equal(s_fp, s_plain) and torch.equal(h_fp, h_plain), form  # the plain form's, bit for bit
        assert 1 <= k <= _bound(T, form), form
    assert fixed_point_lif(x, tau, theta, v_reset, decay_input)[2] in (k_plain, k_plain - 1)


def test_float32_equality_where_the_serial_run_keeps_away_from_the_threshold():
    g = torch.Generator().manual_seed(0)
    for v_reset, decay_input in itertools.product((None, 0.0, 0.3), (True, False)):
        x = torch.rand(64, 8, 32, generator=g) * (3 if decay_input else 1.5)
        s_ser, h_ser, _ = lif_multi_step(x, 2.0, 1.0, v_reset, decay_input)
        far = ((h_ser - 1.0).abs() > 1e-4).all(0)  # neurons whose every step is clear of the threshold
        assert far.any()
        for form in FORMS:
            s_fp, h_fp, k = fixed_point_lif(x, 2.0, 1.0, v_reset, decay_input, **form)
            assert torch.equal(s_ser[:, far], s_fp[:, far]), (v_reset, decay_input, form)
            assert (h_ser[:, far] - h_fp[:, far]).abs().max() <= 1e-5, (v_reset, decay_input, form)
            assert k <= _bound(64, form)


def test_near_the_threshold_in_float32_every_form_is_the_plain_forms_bit_for_bit():
    """Input that holds the potential within rounding of the threshold: the windows' scans round differently
    from the whole tensor's, so a fast form's candidate can miss a spike (it does on the book's CPU, in
    one neuron); the confirming pass repairs it, and every form returns the plain form's result."""
    x = 1.0 + 1e-6 * torch.randn(64, 4, 64, generator=torch.Generator().manual_seed(0))
    x[::7] += 1.0
    for v_reset in (None, 0.0):
        s_plain, h_plain, k_plain = fixed_point_lif(x, 2.0, 1.0, v_reset, active_set=False)
        assert k_plain <= 65
        for form in FORMS[1:]:
            s, h, k = fixed_point_lif(x, 2.0, 1.0, v_reset, **form)
            assert torch.equal(s, s_plain) and torch.equal(h, h_plain), (v_reset, form)
            assert k <= 2 * _bound(64, form), (v_reset, form)


def test_the_fast_forms_confirm_their_candidate_and_repair_it(monkeypatch):
    """Whatever spikes the fast search proposes, the whole-tensor pass confirms or corrects them."""
    x = torch.rand(20, 3, 4, generator=torch.Generator().manual_seed(6), dtype=torch.float64) * 3
    s_plain, h_plain, _ = fixed_point_lif(x, active_set=False)
    monkeypatch.setattr(fp, "_solve", lambda x, *a: (torch.ones_like(x), 3, None))  # a wrong candidate
    s, h, k = fixed_point_lif(x)
    assert torch.equal(s, s_plain) and torch.equal(h, h_plain) and 3 < k <= 3 + 21


def test_the_iteration_count_is_the_longest_chain_and_never_exceeds_T_plus_1():
    x = torch.full((20, 1, 1), 0.0, dtype=torch.float64)
    assert fixed_point_lif(x, 2.0, 1.0)[2] == 1            # nothing fires: one pass confirms S = 0
    x = torch.full((20, 1, 1), 1.5, dtype=torch.float64)    # a regular spike train: each reset moves the next
    s, _, k = fixed_point_lif(x, 2.0, 1.0)
    assert 2 <= k <= 21 and torch.equal(s, lif_multi_step(x, 2.0, 1.0)[0])
    assert fixed_point_lif(x, 2.0, 1.0, chunk=1)[2] == 20  # chunk 1: one pass a step, the serial loop


def test_iteration_counts_per_neuron():
    g = torch.Generator().manual_seed(7)
    x = torch.rand(40, 5, 6, generator=g, dtype=torch.float64) * 3
    x[:, 0] = 0.0                                           # these never fire: one pass
    for v_reset in (None, 0.0):
        c = iteration_counts(x, 2.0, 1.0, v_reset)
        assert c.shape == (5, 6) and c.dtype == torch.long
        assert (c[0] == 1).all() and (c >= 1).all() and int(c.max()) <= 41
        assert int(c.max()) == fixed_point_lif(x, 2.0, 1.0, v_reset)[2]
        # each neuron alone takes as many passes as the plain form on it
        for n, f in ((1, 2), (3, 5), (4, 0)):
            assert int(c[n, f]) in (fixed_point_lif(x[:, n:n + 1, f:f + 1], 2.0, 1.0, v_reset, active_set=False)[2]
                                    - torch.tensor([0, 1])).tolist()
        cc = iteration_counts(x, 2.0, 1.0, v_reset, chunk=8)    # summed over 5 chunks
        assert (cc >= 5).all() and int(cc.max()) <= 40 + 5
    assert (iteration_counts(x, chunk=1) == 40).all()


def _grad(fn, x, cot):
    x = x.clone().requires_grad_()
    (fn(x) * cot).sum().backward()
    return x.grad


def test_gradients_are_the_serial_lifs_surrogate_bptt():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(24, 4, 6, generator=g) * 3
    cot = torch.randn(24, 4, 6, generator=g)
    for v_reset, detach, decay_input in itertools.product((None, 0.0, 0.2), (False, True), (True, False)):
        ref = _grad(lambda v: lif_multi_step(v, 2.0, 1.0, v_reset, decay_input, None, detach)[0], x, cot)
        for form in FORMS:
            got = _grad(lambda v: fixed_point_lif(v, 2.0, 1.0, v_reset, decay_input, None, detach, **form)[0], x, cot)
            assert torch.allclose(ref, got, atol=1e-6), (v_reset, detach, decay_input, form)


def test_the_last_step_gradient_is_bptt_with_the_reset_detached():
    """grad="last_step" differentiates one scan given the spikes: the serial BPTT with detach_reset=True."""
    g = torch.Generator().manual_seed(8)
    x = torch.rand(40, 3, 5, generator=g, dtype=torch.float64) * 3
    cot = torch.randn(40, 3, 5, generator=g, dtype=torch.float64)
    for v_reset, decay_input, tau in itertools.product((None, 0.0, -0.3), (True, False), (1.5, 4.0)):
        ref = _grad(lambda v: lif_multi_step(v, tau, 1.0, v_reset, decay_input, None, True)[0], x, cot)
        full = _grad(lambda v: lif_multi_step(v, tau, 1.0, v_reset, decay_input, None, False)[0], x, cot)
        for detach, form in [(True, {}), *((False, f) for f in FORMS[:3])]:
            out = fixed_point_lif(x, tau, 1.0, v_reset, decay_input, None, detach, grad="last_step", **form)[0]
            assert torch.equal(out, lif_multi_step(x, tau, 1.0, v_reset, decay_input)[0])
            got = _grad(lambda v: fixed_point_lif(v, tau, 1.0, v_reset, decay_input, None, detach,
                                                  grad="last_step", **form)[0], x, cot)
            assert torch.allclose(ref, got, atol=1e-10), (v_reset, decay_input, tau, detach, form)
        assert not torch.allclose(ref, full, atol=1e-3)  # the reset's path matters: the two gradients differ


def test_form_arguments_are_checked_by_name():
    x = torch.rand(5, 2, 2)
    with pytest.raises(ValueError, match="chunk=0"):
        fixed_point_lif(x, chunk=0)
    with pytest.raises(TypeError, match="active_set=1"):
        fixed_point_lif(x, active_set=1)
    with pytest.raises(ValueError, match="grad='implicit'"):
        fixed_point_lif(x, grad="implicit")


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
    chunked = LIF(v_reset=v_reset, store_v_seq=True, method="fixed_point", fixed_point_chunk=4,
                  fixed_point_active=False, fixed_point_grad="last_step")
    assert torch.equal(fixed(x), chunked(x)) and torch.equal(fixed.h_seq, chunked.h_seq)
    assert torch.equal(fixed.v_seq, chunked.v_seq) and 5 <= chunked.iterations <= 17 + 5
    assert "fixed_point_chunk=4" in repr(chunked) and "fixed_point_grad='last_step'" in repr(chunked)


def test_lif_fixed_point_options_are_checked_by_name():
    from snnlib.neurons import LIF

    with pytest.raises(ValueError, match="fixed_point_chunk=8 goes with method='fixed_point'"):
        LIF(fixed_point_chunk=8)
    with pytest.raises(ValueError, match="fixed_point_grad='bptt_'"):
        LIF(method="fixed_point", fixed_point_grad="bptt_")
    with pytest.raises(ValueError, match="fixed_point_chunk=-1"):
        LIF(method="fixed_point", fixed_point_chunk=-1)
    with pytest.raises(TypeError, match="fixed_point_active='yes'"):
        LIF(method="fixed_point", fixed_point_active="yes")
