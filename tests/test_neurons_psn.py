"""The PSN family equals spikingjelly's (random weights loaded across), streams, and fails clearly."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based import surrogate as sj_surrogate

from snnlib.neurons import ATan, MaskedPSN, PSN, SlidingPSN, atan_spike, causal_fir

TOL = 1e-5
T, N, C = 16, 4, 6


# correctness tests run on one thread (see conftest.one_thread)
pytestmark = pytest.mark.usefixtures("one_thread")


def _randomise(module: torch.nn.Module) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.5)


def _pairs(kind: str, lam: float = 0.0):
    """(spikingjelly neuron, snnlib neuron) with the same random weights, loaded across both ways."""
    if kind == "PSN":
        sj, me = sj_neuron.PSN(T, surrogate_function=sj_surrogate.ATan()), PSN(T)
    elif kind == "MaskedPSN":
        sj = sj_neuron.MaskedPSN(5, T, lambda_init=lam, surrogate_function=sj_surrogate.ATan(), step_mode="m")
        me = MaskedPSN(5, T)
    else:
        sj = sj_neuron.SlidingPSN(5, surrogate_function=sj_surrogate.ATan(), step_mode="m")
        me = SlidingPSN(5)
    _randomise(sj)
    me.load_state_dict(sj.state_dict(), strict=True)  # spikingjelly -> snnlib
    back = type(sj)(*([T] if kind == "PSN" else [5, T] if kind == "MaskedPSN" else [5]),
                    **({"step_mode": "m"} if kind != "PSN" else {}))
    back.load_state_dict(me.state_dict(), strict=True)  # snnlib -> spikingjelly
    for (n1, t1), (n2, t2) in zip(sorted(back.state_dict().items()), sorted(sj.state_dict().items())):
        assert n1 == n2 and torch.equal(t1, t2)
    return sj, me


def _sj_charge(sj, kind: str, x: torch.Tensor) -> torch.Tensor:
    if kind == "PSN":
        w = sj.weight
    elif kind == "MaskedPSN":
        w = sj.masked_weight()
    else:
        w = sj.gen_gemm_weight(x.shape[0])
    return torch.addmm(sj.bias, w, x.flatten(1)).view(x.shape)


@pytest.mark.parametrize("kind, lam", [("PSN", 0.0), ("MaskedPSN", 0.0), ("MaskedPSN", 0.5), ("MaskedPSN", 1.0),
                                       ("SlidingPSN", 0.0)])
def test_psn_family_equals_spikingjelly(kind, lam):
    torch.manual_seed(11)
    sj, me = _pairs(kind, lam)
    if kind == "MaskedPSN":
        me.lambda_ = lam
        assert float(me.lambda_) == lam
    x = torch.randn(T, N, C, requires_grad=True)
    h_sj, h_me = _sj_charge(sj, kind, x), me.charge(x)
    torch.testing.assert_close(h_me, h_sj, rtol=0, atol=TOL)
    s_sj, s_me = sj(x), me(x)
    assert 0.05 < s_me.mean().item() < 0.95
    clear = (h_me.detach()).abs() > TOL  # the threshold is inside the bias: S = Theta(H)
    assert torch.equal(s_me[clear], s_sj[clear])
    g = torch.randn_like(s_me)
    grads_sj = torch.autograd.grad(s_sj, [x, *sj.parameters()], g)
    grads_me = torch.autograd.grad(s_me, [x, *me.parameters()], g)
    for a, b in zip(grads_me, grads_sj):
        torch.testing.assert_close(a, b, rtol=0, atol=TOL)


def test_same_seed_same_initial_weights_as_spikingjelly():
    for make_sj, make_me in [
        (lambda: sj_neuron.PSN(7), lambda: PSN(7)),
        (lambda: sj_neuron.MaskedPSN(3, 7, step_mode="m"), lambda: MaskedPSN(3, 7)),
        (lambda: sj_neuron.SlidingPSN(4, step_mode="m"), lambda: SlidingPSN(4)),
        (lambda: sj_neuron.SlidingPSN(4, exp_init=False, step_mode="m"), lambda: SlidingPSN(4, exp_init=False)),
    ]:
        torch.manual_seed(5)
        a = make_sj().state_dict()
        torch.manual_seed(5)
        b = make_me().state_dict()
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].shape == b[key].shape and a[key].dtype == b[key].dtype
            assert torch.equal(a[key], b[key]), key
    psn = PSN(7)
    assert psn.bias.shape == (7, 1) and torch.all(psn.bias == -1)
    assert SlidingPSN(4).weight.tolist() == [0.125, 0.25, 0.5, 1.0]


def test_fused_atan_equals_spikingjelly():
    torch.manual_seed(2)
    for dtype in (torch.float32, torch.float64):
        h = torch.randn(300, 7, dtype=dtype, requires_grad=True)
        g = torch.randn(300, 7, dtype=dtype)
        for theta, alpha in [(0.0, 2.0), (1.0, 2.0), (0.5, 4.0)]:
            ref = sj_surrogate.ATan(alpha=alpha)(h - theta)
            ours = atan_spike(h, theta, alpha) if theta else ATan(alpha)(h)
            assert torch.equal(ours, ref)
            (g_ref,) = torch.autograd.grad(ref, h, g)
            (g_ours,) = torch.autograd.grad(ours, h, g)
            torch.testing.assert_close(g_ours, g_ref, rtol=0, atol=1e-6)


def test_masked_psn_at_lambda_one_is_causal_and_streams():
    torch.manual_seed(3)
    me = MaskedPSN(4, T, lambda_init=1.0)
    _randomise(me)
    x = torch.randn(T, N, C)
    h = me.charge(x)
    for t in range(T):
        y = x.clone()
        y[t + 1 :] = torch.randn_like(y[t + 1 :]) * 10
        torch.testing.assert_close(me.charge(y)[: t + 1], h[: t + 1], rtol=0, atol=1e-6)
    # zero outside the band: an input at s reaches only t in [s, s + k - 1]
    assert torch.all(me.masked_weight()[torch.tril(torch.ones(T, T), -4) == 1] == 0)
    assert torch.all(me.masked_weight()[torch.triu(torch.ones(T, T), 1) == 1] == 0)
    x.requires_grad_(True)
    s_seq = me(x)
    me.reset()
    s_steps = torch.stack([me.step(x_t) for x_t in x])
    h_ok = h.abs() > TOL
    assert torch.equal(s_steps[h_ok], s_seq[h_ok])
    g = torch.randn_like(s_seq)
    torch.testing.assert_close(torch.autograd.grad(s_steps, x, g)[0], torch.autograd.grad(s_seq, x, g)[0],
                               rtol=0, atol=TOL)
    with pytest.raises(ValueError, match=r"MaskedPSN\(T=16\) has already run 16 steps"):
        me.step(x[0])
    me.lambda_ = 0.5
    me.reset()
    with pytest.raises(ValueError, match=r"needs lambda_ == 1.*lambda_=0.5"):
        me.step(x[0])


def test_masked_psn_schedule():
    assert MaskedPSN.lambda_at(0, 17) == 0.0
    assert MaskedPSN.lambda_at(1, 17) == 0.5
    assert MaskedPSN.lambda_at(2, 17) == 1.0 and MaskedPSN.lambda_at(16, 17) == 1.0
    with pytest.raises(ValueError, match="epochs=1"):
        MaskedPSN.lambda_at(0, 1)
    with pytest.raises(ValueError, match="epoch=17"):
        MaskedPSN.lambda_at(17, 17)
    me = MaskedPSN(2, 4)
    with pytest.raises(ValueError, match=r"lambda_=1.5 must be a number in \[0, 1\]"):
        me.lambda_ = 1.5


@pytest.mark.parametrize("T_", [1, 3, 31, 32, 33, 70, 130])
@pytest.mark.parametrize("k", [1, 5, 32, 40])
def test_sliding_psn_equals_causal_conv1d_and_toeplitz(T_, k):
    torch.manual_seed(T_ * 100 + k)
    me = SlidingPSN(k, exp_init=False).double()
    x = torch.randn(T_, 3, 5, dtype=torch.float64)
    h = me.charge(x)
    # conv1d over time, left-padded with k - 1 zeros (cross-correlation: weight as is)
    xc = x.reshape(T_, -1).t().unsqueeze(1)  # [N*C, 1, T]
    conv = F.conv1d(F.pad(xc, (k - 1, 0)), me.weight.view(1, 1, k)).squeeze(1).t().reshape(x.shape) + me.bias
    torch.testing.assert_close(h, conv, rtol=1e-12, atol=1e-12)
    toeplitz = (me.toeplitz_weight(T_) @ x.reshape(T_, -1)).view(x.shape) + me.bias
    torch.testing.assert_close(h, toeplitz, rtol=1e-12, atol=1e-12)
    me.reset()
    s_steps = torch.stack([me.step(x_t) for x_t in x])
    assert torch.equal(s_steps, me(x))


def test_sliding_psn_works_for_any_T_with_a_window_of_k():
    me = SlidingPSN(3)
    for T_ in (1, 2, 3, 50):
        assert me(torch.randn(T_, 2, 2)).shape == (T_, 2, 2)
    me.reset()
    x = torch.ones(6, 1)
    h = [me.charge(x[: t + 1])[-1].item() for t in range(6)]
    assert h == [0.0, 0.5, 0.75, 0.75, 0.75, 0.75]  # weights 1/4, 1/2, 1 and bias -1


def test_gradcheck_pre_spike_potentials():
    torch.manual_seed(7)
    x = torch.randn(6, 2, 3, dtype=torch.float64, requires_grad=True)
    psn = PSN(6).double()
    assert torch.autograd.gradcheck(lambda x, w, b: torch.addmm(b, w, x.flatten(1)),
                                    (x, psn.weight, psn.bias))
    assert torch.autograd.gradcheck(lambda x: psn.charge(x), (x,))
    masked = MaskedPSN(3, 6, lambda_init=0.5).double()
    assert torch.autograd.gradcheck(lambda x: masked.charge(x), (x,))
    for T_ in (5, 40, 75):  # short, and long enough for the banded blocks
        xs = torch.randn(T_, 2, 2, dtype=torch.float64, requires_grad=True)
        sl = SlidingPSN(7, exp_init=False).double()
        assert torch.autograd.gradcheck(causal_fir, (xs, sl.weight, sl.bias))


def test_clear_errors():
    with pytest.raises(ValueError, match=r"T=8 time steps.*built for T=16"):
        PSN(16)(torch.zeros(8, 2))
    with pytest.raises(ValueError, match=r"T=8 time steps.*built for T=16"):
        MaskedPSN(2, 16)(torch.zeros(8, 2))
    with pytest.raises(ValueError, match=r"k=0 must be an integer in \[1, 16\]"):
        MaskedPSN(0, 16)
    with pytest.raises(ValueError, match=r"k=17 must be an integer in \[1, 16\].*cannot exceed T=16"):
        MaskedPSN(17, 16)
    with pytest.raises(ValueError, match=r"k=0 must be an integer >= 1"):
        SlidingPSN(0)
    with pytest.raises(ValueError, match=r"T=0 must be an integer >= 1"):
        PSN(0)
    with pytest.raises(ValueError, match=r"shape \(16,\).*at least 2 dimensions"):
        PSN(16)(torch.zeros(16))
    with pytest.raises(ValueError, match=r"shape \(4,\).*at least 2 dimensions"):
        SlidingPSN(2)(torch.zeros(4))
    with pytest.raises(ValueError, match="spiking=False"):
        PSN(4, surrogate_function=sj_surrogate.ATan(spiking=False))


@pytest.mark.parametrize("bad", [-5.0, 1.5, float("nan"), float("inf")])
def test_masked_psn_load_state_dict_rejects_lambda_out_of_range(bad):
    m = MaskedPSN(2, 8, lambda_init=0.25)
    sd = m.state_dict()
    sd["_lambda_"] = torch.tensor(bad)
    with pytest.raises(ValueError, match=r"_lambda_=.* in the state dict \(key '_lambda_'\) is outside "
                                         r"\[0, 1\]; expected 0 <= lambda_ <= 1"):
        m.load_state_dict(sd)
    assert float(m.lambda_) == 0.25  # nothing loaded
    with pytest.raises(ValueError, match=r"lambda_=.* must be a number in \[0, 1\]"):
        m.lambda_ = bad
    ok = dict(sd, _lambda_=torch.tensor(1.0))
    m.load_state_dict(ok)
    assert float(m.lambda_) == 1.0


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_causal_neurons_keep_causality_for_non_finite_input(bad):
    """A NaN or inf at step t0 reaches the sliding PSN's H only in [t0, t0 + k) and the masked PSN's
    (lambda = 1) only from t0 on; the banded block products mixed it into whole blocks (0 * NaN = NaN)."""
    torch.manual_seed(21)
    T_, k, t0 = 100, 4, 40
    x = torch.randn(T_, 2, 3, dtype=torch.float64)
    sl = SlidingPSN(k, exp_init=False).double()
    ma = MaskedPSN(k, T_, lambda_init=1.0).double()
    _randomise(ma)
    clean_sl, clean_ma = sl.charge(x), ma.charge(x)
    x[t0, 1, 2] = bad
    xr = x.clone().requires_grad_(True)
    h_sl, h_ma = sl.charge(xr), ma.charge(xr)
    reached = torch.zeros_like(x, dtype=torch.bool)
    reached[t0 : t0 + k, 1, 2] = True
    assert not torch.isfinite(h_sl[reached]).any()
    torch.testing.assert_close(h_sl[~reached], clean_sl[~reached], rtol=1e-12, atol=1e-12)
    reached[t0:, 1, 2] = True
    torch.testing.assert_close(h_ma[~reached], clean_ma[~reached], rtol=1e-12, atol=1e-12)
    # backwards: a NaN in dL/dH[t0] reaches dL/dX[s] only for s in (t0 - k, t0]
    x = torch.randn(T_, 2, 3, dtype=torch.float64, requires_grad=True)
    g = torch.randn(T_, 2, 3, dtype=torch.float64)
    (clean,) = torch.autograd.grad(sl.charge(x), x, g)
    g[t0, 0, 0] = float("nan")
    (gx,) = torch.autograd.grad(sl.charge(x), x, g)
    reached = torch.zeros_like(x, dtype=torch.bool)
    reached[t0 - k + 1 : t0 + 1, 0, 0] = True
    torch.testing.assert_close(gx[~reached], clean[~reached], rtol=1e-12, atol=1e-12)


def test_lag_profile_reads_each_diagonal_and_gives_the_lifs_beta_k_over_tau():
    from snnlib.neurons import ResetFreeLIF
    from snnlib.neurons.psn import lag_profile

    w = torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, 6.0], [-7.0, 8.0, 9.0]])
    lags, prof = lag_profile(w)
    assert lags.tolist() == [-2, -1, 0, 1, 2]
    # lag 0: the diagonal; lag 1: W[1, 0], W[2, 1]; lag -1: W[0, 1], W[1, 2] (inputs from the future)
    assert prof.tolist() == [3.0, 4.0, 5.0, 6.0, 7.0]
    tau, T = 4.0, 12
    lags, prof = lag_profile(ResetFreeLIF(tau=tau).toeplitz_weight(T, torch.float64))
    k = torch.arange(T).double()
    assert torch.allclose(prof[lags >= 0], (1 - 1 / tau) ** k / tau, atol=1e-15)
    assert float(prof[lags < 0].abs().max()) == 0.0
    with pytest.raises(ValueError, match="square"):
        lag_profile(torch.zeros(3, 4))
