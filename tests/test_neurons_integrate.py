"""leaky_integrate: every method equals the serial recurrence; gradients; the reset-free LIF; errors."""
from __future__ import annotations

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based import surrogate as sj_surrogate

from snnlib.neurons import METHODS, ResetFreeLIF, auto_method, leaky_integrate

F64 = torch.float64
CONCRETE = [m for m in METHODS if m != "auto"]


# correctness tests run on one thread (see conftest.one_thread)
pytestmark = pytest.mark.usefixtures("one_thread")


def reference(x, beta, alpha=None, scale_input=True):
    """The recurrence, written out: u[t] = beta u[t-1] + c x[t] (after I[t] = alpha I[t-1] + x[t])."""
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


coef = st.floats(0.001, 0.999)


def _coef(draw_value, per_neuron, shape, seed):
    if not per_neuron:
        return draw_value
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g, dtype=F64) * 0.998 + 0.001


def _check_all_methods(T, beta, alpha, per_beta, per_alpha, scale_input, seed, features=(3,)):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, 2, *features, generator=g, dtype=F64)
    b = _coef(beta, per_beta, features, seed + 1)
    a = None if alpha is None else _coef(alpha, per_alpha, features, seed + 2)
    ref = reference(x, b, a, scale_input)
    scale = ref.abs().max().item() + 1.0
    for method in METHODS:
        u = leaky_integrate(x, b, alpha=a, scale_input=scale_input, method=method)
        assert u.dtype == F64 and u.shape == x.shape
        torch.testing.assert_close(u, ref, rtol=1e-9, atol=1e-11 * scale, msg=lambda m: f"{method}: {m}")


@settings(max_examples=40, deadline=None, derandomize=True)
@given(T=st.integers(1, 300), beta=coef, alpha=st.none() | coef, per_beta=st.booleans(), per_alpha=st.booleans(),
       scale_input=st.booleans(), seed=st.integers(0, 2**16))
def test_every_method_equals_the_recurrence_short_T(T, beta, alpha, per_beta, per_alpha, scale_input, seed):
    _check_all_methods(T, beta, alpha, per_beta, per_alpha, scale_input, seed)


@settings(max_examples=5, deadline=None, derandomize=True)
@example(T=4096, beta=0.999, alpha=0.95, per_beta=True, scale_input=False, seed=1)
@example(T=4096, beta=0.3, alpha=None, per_beta=False, scale_input=True, seed=2)
@given(T=st.integers(1000, 4096), beta=coef, alpha=st.none() | coef, per_beta=st.booleans(),
       scale_input=st.booleans(), seed=st.integers(0, 2**16))
def test_every_method_equals_the_recurrence_long_T(T, beta, alpha, per_beta, scale_input, seed):
    _check_all_methods(T, beta, alpha, per_beta, False, scale_input, seed, features=(2,))


@pytest.mark.parametrize("T", [1, 2, 5, 10, 50])
def test_short_T_with_alpha_does_not_alias(T):
    # ParaLIF's defaults: tau_mem = tau_syn = 20 ms, dt = 1 ms; the official three-FFT product aliases here
    beta = alpha = float(torch.exp(torch.tensor(-1 / 20, dtype=F64)))
    x = torch.rand(T, 3, 4, dtype=F64, generator=torch.Generator().manual_seed(T))
    ref = reference(x, beta, alpha)
    u = leaky_integrate(x, beta, alpha=alpha, method="fft")
    torch.testing.assert_close(u, ref, rtol=1e-12, atol=1e-12)
    # what a circular product of three length-2T FFTs gives instead (the pitfall the test guards)
    n = torch.arange(T, dtype=F64)
    L = 2 * T
    aliased = torch.fft.irfft(torch.fft.rfft(x, L, dim=0) * torch.fft.rfft(alpha**n, L).view(-1, 1, 1)
                              * torch.fft.rfft((1 - beta) * beta**n, L).view(-1, 1, 1), L, dim=0)[:T]
    if T > 2:
        assert (aliased - ref).abs().max() > 1e-3


def test_float32_methods_agree():
    torch.manual_seed(0)
    x = torch.randn(1500, 4, 8)
    ref = reference(x.double(), 0.9).float()
    for method in METHODS:
        torch.testing.assert_close(leaky_integrate(x, 0.9, method=method), ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("method", CONCRETE)
@pytest.mark.parametrize("T", [1, 7, 20])
def test_gradcheck_x_beta_alpha(method, T):
    torch.manual_seed(T)
    for per_neuron in (False, True):
        for with_alpha in (False, True):
            for scale_input in (True, False):
                x = torch.randn(T, 1, 2, dtype=F64, requires_grad=True)
                shape = (2,) if per_neuron else ()
                beta = (torch.rand(shape, dtype=F64) * 0.9 + 0.05).requires_grad_(True)
                alpha = (torch.rand(shape, dtype=F64) * 0.9 + 0.05).requires_grad_(True)

                def f(x, beta, alpha):
                    return leaky_integrate(x, beta, alpha=alpha if with_alpha else None, scale_input=scale_input,
                                           method=method)

                assert torch.autograd.gradcheck(f, (x, beta, alpha))


def test_backward_saves_only_the_input():
    x = torch.randn(64, 2, 3, requires_grad=True)
    beta = torch.full((3,), 0.8, requires_grad=True)
    u = leaky_integrate(x, beta, alpha=0.5, method="scan")
    saved = [t for t in u.grad_fn.saved_tensors if t is not None]
    assert [t.shape for t in saved] == [x.shape, beta.shape]
    u = leaky_integrate(x, 0.8, alpha=0.5, method="scan")  # no coefficient gradient: nothing at all
    assert all(t is None for t in u.grad_fn.saved_tensors)


def test_auto_is_a_fixed_rule():
    assert auto_method(16) == "dense" and auto_method(32) == "dense"
    assert auto_method(33) == "scan" and auto_method(4096) == "scan"
    assert auto_method(64, per_neuron=True) == "serial" and auto_method(65, per_neuron=True) == "scan"
    torch.manual_seed(1)
    x = torch.randn(300, 3, 4)
    a, b = leaky_integrate(x, 0.7), leaky_integrate(x, 0.7)
    assert torch.equal(a, b)
    assert torch.equal(a, leaky_integrate(x, 0.7, method="scan"))


def test_reset_free_lif_three_ways_and_spikingjelly():
    torch.manual_seed(4)
    x = torch.randn(40, 3, 5, dtype=F64) + 0.5
    for decay_input in (True, False):
        n = ResetFreeLIF(2.0, decay_input=decay_input)
        serial, psn, fast = n.charge_serial(x), n.charge_psn(x), n.charge(x)
        torch.testing.assert_close(psn, serial, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(fast, serial, rtol=1e-12, atol=1e-12)
        W = n.toeplitz_weight(4, F64)
        assert torch.equal(n.weight(4, F64), W)  # the deprecated name, while chapter 01 uses it
        c = 0.5 if decay_input else 1.0
        torch.testing.assert_close(W, c * torch.tensor([[1, 0, 0, 0], [0.5, 1, 0, 0], [0.25, 0.5, 1, 0],
                                                        [0.125, 0.25, 0.5, 1]], dtype=F64))
    # a LIFNode that never fires has no reset: its potential is the reset-free one
    sj = sj_neuron.LIFNode(tau=2.0, v_threshold=1e9, surrogate_function=sj_surrogate.ATan(), step_mode="m",
                           store_v_seq=True)
    x32 = x.float()
    sj(x32)
    torch.testing.assert_close(ResetFreeLIF(2.0).charge(x32), sj.v_seq, rtol=0, atol=1e-5)
    # streaming equals the whole sequence
    n = ResetFreeLIF(2.0)
    xr = x32.clone().requires_grad_(True)
    s = n(xr)
    n.reset()
    s_steps = torch.stack([n.step(x_t) for x_t in xr])
    assert torch.equal(s, s_steps)
    g = torch.randn_like(s)
    torch.testing.assert_close(torch.autograd.grad(s_steps, xr, g)[0], torch.autograd.grad(s, xr, g)[0],
                               rtol=0, atol=1e-5)


def test_reset_free_lif_spikes_and_surrogate_equal_spikingjelly_composition():
    torch.manual_seed(6)
    x = (torch.randn(64, 4, 8) + 0.7).requires_grad_(True)
    n = ResetFreeLIF(2.0)
    s = n(x)
    h = n.charge_serial(x)
    s_ref = sj_surrogate.ATan(alpha=2.0)(h - 1.0)
    clear = (h - 1.0).abs() > 1e-5
    assert torch.equal(s[clear], s_ref[clear])
    g = torch.randn_like(s)
    torch.testing.assert_close(torch.autograd.grad(s, x, g)[0], torch.autograd.grad(s_ref, x, g)[0],
                               rtol=0, atol=1e-5)


def test_gradcheck_reset_free_lif_potential():
    x = torch.randn(12, 2, 3, dtype=F64, requires_grad=True)
    for method in CONCRETE:
        assert torch.autograd.gradcheck(ResetFreeLIF(3.0, method=method).charge, (x,))
    assert torch.autograd.gradcheck(ResetFreeLIF(3.0).charge_psn, (x,))


def test_clear_errors():
    x = torch.zeros(5, 2, 3)
    with pytest.raises(ValueError, match=r"beta=1.0 is outside \(0, 1\)"):
        leaky_integrate(x, 1.0)
    with pytest.raises(ValueError, match=r"beta=0.0 is outside \(0, 1\)"):
        leaky_integrate(x, 0.0)
    with pytest.raises(ValueError, match=r"alpha=1.5 is outside \(0, 1\)"):
        leaky_integrate(x, 0.5, alpha=1.5)
    with pytest.raises(ValueError, match=r"beta has values in \[0.5, 1\], outside \(0, 1\)"):
        leaky_integrate(x, torch.tensor([0.5, 1.0, 0.7]))
    with pytest.raises(ValueError, match=r"alpha has values in \[-0.1, -0.1\]"):
        leaky_integrate(x, 0.5, alpha=torch.tensor(-0.1))
    with pytest.raises(ValueError, match=r"beta has shape \(2,\); expected .* x.shape\[2:\] = \(3,\)"):
        leaky_integrate(x, torch.tensor([0.5, 0.5]))
    with pytest.raises(TypeError, match=r"beta is torch.float64 on cpu but x is torch.float32"):
        leaky_integrate(x, torch.tensor(0.5, dtype=F64))
    with pytest.raises(ValueError, match=r"x has shape \(5,\) \(1 dimension\(s\)\); expected at least 2"):
        leaky_integrate(torch.zeros(5), 0.5)
    with pytest.raises(ValueError, match=r"method='parallel' is not a method; expected one of 'auto', 'serial', "
                                         r"'dense', 'fft', 'scan'"):
        leaky_integrate(x, 0.5, method="parallel")
    with pytest.raises(ValueError, match=r"tau=1.0 must be a real number > 1"):
        ResetFreeLIF(1.0)


def test_dense_per_neuron_in_feature_groups(monkeypatch):
    import snnlib.neurons.integrate as integrate

    x = torch.randn(9, 2, 5, dtype=F64)
    beta = torch.rand(5, dtype=F64) * 0.9 + 0.05
    monkeypatch.setattr(integrate, "_DENSE_MAX_ELEMENTS", 2 * 9 * 9)  # two features per group: 2, 2, 1
    for scale_input in (True, False):
        u = leaky_integrate(x, beta, alpha=0.4, scale_input=scale_input, method="dense")
        torch.testing.assert_close(u, reference(x, beta, 0.4, scale_input), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_input_keeps_causality(method, bad):
    """A NaN or inf at step t0 leaves every output before t0 as it was (dense, fft and scan mix all steps
    in one product, where 0 * NaN = NaN, so for such an input they run the loop)."""
    g = torch.Generator().manual_seed(12)
    for T, t0 in ((20, 13), (100, 70)):  # auto: dense, then scan with several chunks
        for per_neuron, alpha in ((False, None), (True, None), (False, 0.5)):
            x = torch.randn(T, 2, 3, generator=g, dtype=F64)
            beta = torch.tensor([0.3, 0.8, 0.95], dtype=F64) if per_neuron else 0.9
            clean = leaky_integrate(x, beta, alpha=alpha, method=method)
            x[t0, 0, 1] = bad
            u = leaky_integrate(x, beta, alpha=alpha, method=method)
            what = f"{method} T={T} per_neuron={per_neuron} alpha={alpha}"
            assert torch.isfinite(u[:t0]).all(), what
            torch.testing.assert_close(u[:t0], clean[:t0], rtol=1e-12, atol=1e-12, msg=lambda m: f"{what}: {m}")
            other = torch.ones_like(u, dtype=torch.bool)
            other[t0:, 0, 1] = False
            torch.testing.assert_close(u[other], clean[other], rtol=1e-12, atol=1e-12)
            assert not torch.isfinite(u[t0, 0, 1])


@pytest.mark.parametrize("method", CONCRETE)
def test_non_finite_gradient_keeps_causality_backwards(method):
    """The adjoint runs backwards in time: a NaN in dL/du[t0] reaches dL/dx[s] only for s <= t0."""
    g = torch.Generator().manual_seed(13)
    T, t0 = 100, 30
    x = torch.randn(T, 2, 3, generator=g, dtype=F64, requires_grad=True)
    gy = torch.randn(T, 2, 3, generator=g, dtype=F64)
    (clean,) = torch.autograd.grad(leaky_integrate(x, 0.9, alpha=0.5, method=method), x, gy)
    gy[t0, 1, 2] = float("nan")
    (gx,) = torch.autograd.grad(leaky_integrate(x, 0.9, alpha=0.5, method=method), x, gy)
    assert torch.isfinite(gx[t0 + 1:]).all()
    torch.testing.assert_close(gx[t0 + 1:], clean[t0 + 1:], rtol=1e-12, atol=1e-12)
    assert not torch.isfinite(gx[t0, 1, 2])


def test_reset_free_lif_non_finite_input_keeps_causality():
    x = torch.randn(30, 2, 3)
    x[20] = float("nan")
    for method in METHODS:
        h = ResetFreeLIF(2.0, method=method).charge(x)
        assert torch.isfinite(h[:20]).all() and torch.isnan(h[20:]).all(), method
