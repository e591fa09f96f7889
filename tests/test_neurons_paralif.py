"""ParaLIF: every method equals the two-stage recurrence; the official 3-FFT form aliases; firing functions;
the recurrent form equals its step loop; stochastic modes are seeded; fast-sigmoid surrogate; autocast."""
from __future__ import annotations

import math

import pytest
import torch
from spikingjelly.activation_based import surrogate as sj_surrogate

from snnlib.neurons import FIRING_MODES, METHODS, FastSigmoid, ParaLIF, fast_sigmoid_spike, three_fft_charge
from snnlib.neurons.paralif import DELTA_MODES, STOCHASTIC_MODES, default_threshold, fire, normalise

F64 = torch.float64
pytestmark = pytest.mark.usefixtures("one_thread")
ALPHA = BETA = math.exp(-1e-3 / 20e-3)  # the paper's tau_syn = tau_mem = 20 ms, dt = 1 ms
DETERMINISTIC = [m for m in FIRING_MODES if m not in STOCHASTIC_MODES]


def two_stage(x: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """I[t] = alpha I[t-1] + x[t]; U[t] = beta U[t-1] + (1 - beta) I[t]; I[-1] = U[-1] = 0."""
    i = torch.zeros_like(x[0])
    u = torch.zeros_like(x[0])
    out = []
    for x_t in x:
        i = alpha * i + x_t
        u = beta * u + (1 - beta) * i
        out.append(u)
    return torch.stack(out)


def _x(T: int, dtype=F64, seed: int = 0, shape=(3, 5)) -> torch.Tensor:
    return torch.randn(T, *shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("T", [1, 3, 5, 10, 50, 1000])
@pytest.mark.parametrize("method", METHODS)
def test_every_method_equals_the_two_stage_recurrence(T, method):
    x = _x(T, seed=T)
    ref = two_stage(x, ALPHA, BETA)
    m = ParaLIF("T", method=method)
    u = m.charge(x)
    assert u.dtype == F64 and u.shape == x.shape
    assert float((u - ref).abs().max()) <= 1e-10
    assert float((m.charge_serial(x) - ref).abs().max()) <= 1e-12
    u32 = m.charge(x.float())
    assert u32.dtype == torch.float32
    assert float((u32.double() - ref).abs().max()) <= 1e-5 * float(ref.abs().max())


@pytest.mark.parametrize("method", METHODS)
def test_other_time_constants_and_no_synapse(method):
    x = _x(64, seed=1)
    m = ParaLIF("T", tau_mem=5e-3, tau_syn=2e-3, dt=1e-3, method=method)
    torch.testing.assert_close(m.charge(x), two_stage(x, math.exp(-1 / 2), math.exp(-1 / 5)), rtol=0, atol=1e-10)
    m0 = ParaLIF("T", tau_syn=None, method=method)  # I = X
    u0 = two_stage(x, 0.0, BETA)  # alpha = 0 is the same recurrence
    torch.testing.assert_close(m0.charge(x), u0, rtol=0, atol=1e-10)


def test_the_official_three_fft_charge_aliases_at_short_T():
    # float64, the paper's tau: the error at T = 50 is of order one; it vanishes by T = 1000
    for make in (torch.rand, torch.randn, torch.ones):
        x = make(50, 4, 8, dtype=F64) if make is torch.ones else make(
            50, 4, 8, dtype=F64, generator=torch.Generator().manual_seed(0))
        ref = two_stage(x, ALPHA, BETA)
        assert float((three_fft_charge(x, ALPHA, BETA) - ref).abs().max()) > 1.0, make.__name__
        assert float((ParaLIF("T", method="fft").charge(x) - ref).abs().max()) < 1e-10
    x = torch.rand(1000, 2, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    assert float((three_fft_charge(x, ALPHA, BETA) - two_stage(x, ALPHA, BETA)).abs().max()) < 1e-9
    # the error lies on the first steps only: what wraps is the tail beyond 2T
    x = torch.rand(50, 2, 3, dtype=F64, generator=torch.Generator().manual_seed(1))
    err = (three_fft_charge(x, ALPHA, BETA) - two_stage(x, ALPHA, BETA)).abs().amax(dim=(1, 2))
    assert float(err[-1]) < 1e-12 and float(err[0]) > 0.5


def test_linear_support_is_3T_minus_2():
    T = 6
    x = torch.rand(T, 1, dtype=F64, generator=torch.Generator().manual_seed(3)) + 0.1
    n = torch.arange(T, dtype=F64)
    full = torch.fft.irfft(torch.fft.rfft(x[:, 0], 3 * T) * torch.fft.rfft(ALPHA**n, 3 * T)
                           * torch.fft.rfft((1 - BETA) * BETA**n, 3 * T), 3 * T)
    assert float(full[3 * T - 3].abs()) > 1e-3 and float(full[3 * T - 2 :].abs().max()) < 1e-12


@pytest.mark.parametrize("method", [m for m in METHODS if m != "auto"])
def test_gradcheck_of_the_charge(method):
    x = _x(9, shape=(2, 3), seed=4).requires_grad_(True)
    m = ParaLIF("T", method=method)
    assert torch.autograd.gradcheck(m.charge, (x,), eps=1e-6, atol=1e-7)


def _recurrent_loop(m: ParaLIF, x: torch.Tensor):
    """The recurrent ParaLIF step by step: two integrators, the hidden state from the previous potential."""
    a, b = m.alpha, m.beta
    i1 = torch.zeros_like(x[0]); u1 = torch.zeros_like(x[0])
    i2 = torch.zeros_like(x[0]); u2 = torch.zeros_like(x[0])
    past_u1 = []  # U[0..t-1], what the hidden state reads
    finals = []
    for t in range(x.shape[0]):
        shifted = torch.stack([torch.zeros_like(x[0])] + past_u1)  # U shifted by one step, up to t
        h = m.spike_fn(shifted)[-1]
        i1 = a * i1 + x[t]; u1 = b * u1 + (1 - b) * i1
        i2 = a * i2 + x[t] + m.recurrent_weight(h); u2 = b * u2 + (1 - b) * i2
        past_u1.append(u1)
        finals.append(u1 + u2)
    u_final = torch.stack(finals)
    return u_final, m.spike_fn(u_final)


@pytest.mark.parametrize("firing", DETERMINISTIC)
def test_recurrent_form_equals_its_step_loop(firing):
    torch.manual_seed(0)
    # a threshold that sigmoid and tanh can reach (at 1.0 the ST, TT, TRT modes never fire)
    theta = 0.01 if firing in DELTA_MODES else 0.6
    m = ParaLIF(firing, recurrent=True, features=5, threshold=theta).double()
    x = 2 * _x(40, seed=5)
    with torch.no_grad():
        u_loop, s_loop = _recurrent_loop(m, x)
        u = m.charge(x)
        torch.testing.assert_close(u, u_loop, rtol=0, atol=1e-10)
        torch.testing.assert_close(m(x), s_loop, rtol=0, atol=0)
        h = m.spike_fn(torch.cat([torch.zeros_like(x[:1]), m.integrate(x)[:-1]]))
    assert float(s_loop.sum()) > 0 and float(h.sum()) > 0  # the hidden state is not all zero


def test_recurrent_feedback_changes_the_potential_and_needs_features():
    torch.manual_seed(0)
    m = ParaLIF("T", recurrent=True, features=5).double()
    x = 3 * _x(30, seed=6)
    with torch.no_grad():
        assert float((m.charge(x) - 2 * m.integrate(x)).abs().max()) > 1e-3  # W_rec h is not zero
    with torch.no_grad():
        m.recurrent_weight.weight.zero_()
    torch.testing.assert_close(m.charge(x), 2 * m.integrate(x))  # U + LI(X) when W_rec = 0, bias 0
    with pytest.raises(ValueError, match="features"):
        ParaLIF("T", recurrent=True)
    with pytest.raises(ValueError, match="features=5"):
        m.charge(_x(4, shape=(2, 3)))


@pytest.mark.parametrize("firing", FIRING_MODES)
def test_every_mode_gives_binary_spikes_and_nonzero_gradients(firing):
    torch.manual_seed(1)
    x = (2 * _x(30, seed=7) + 1).requires_grad_(True)
    m = ParaLIF(firing).double()
    s = m(x)
    assert s.shape == x.shape and s.dtype == F64
    assert set(s.detach().unique().tolist()) <= {0.0, 1.0}
    s.sum().backward()
    assert float(x.grad.abs().sum()) > 0 and torch.isfinite(x.grad).all()
    if firing not in STOCHASTIC_MODES:  # the threshold is learnt only where it is used
        assert m.threshold.grad is not None and float(m.threshold.grad.abs()) > 0


def test_firing_function_definitions():
    u = _x(20, seed=8) * 2
    th = 0.3
    for mode in ("T", "ST", "TT", "TRT"):
        v = normalise(u, mode)
        assert torch.equal(fire(u, mode, th), (v > th).to(F64))
    for mode in DELTA_MODES:
        v = normalise(u, mode)
        prev = torch.cat([normalise(torch.zeros_like(v[:1]), mode), v[:-1]])  # v[-1] = norm(0)
        assert torch.equal(fire(u, mode, th), ((v - prev) > th).to(F64))
    torch.testing.assert_close(normalise(u, "SB"), torch.sigmoid(u))
    torch.testing.assert_close(normalise(u, "TRB"), torch.relu(torch.tanh(u)))
    assert normalise(u, "GS") is u and normalise(u, "D") is u
    assert [default_threshold(m) for m in ("D", "SD", "TD", "TRD", "T", "GS")] == [0.1] * 4 + [1.0] * 2
    assert float(ParaLIF("SD").threshold) == pytest.approx(0.1) and float(ParaLIF("ST").threshold) == 1.0


def test_stochastic_modes_fire_with_their_probabilities():
    u = torch.linspace(-2, 2, 9, dtype=F64).view(1, 1, 9).expand(2000, 4, 9).contiguous()
    g = torch.Generator().manual_seed(0)
    for mode, p in (("SB", torch.sigmoid(u[0, 0])), ("TRB", torch.relu(torch.tanh(u[0, 0]))),
                    ("GS", torch.sigmoid(2 * u[0, 0]))):
        rate = fire(u, mode, generator=g).mean(dim=(0, 1))
        assert float((rate - p).abs().max()) < 0.02, mode


def test_bernoulli_gradient_is_scaled_by_p():
    u = _x(6, seed=9).requires_grad_(True)
    s = fire(u, "SB", generator=torch.Generator().manual_seed(0))
    s.sum().backward()
    p = torch.sigmoid(u.detach())
    torch.testing.assert_close(u.grad, p * p * (1 - p))  # g * p, then through the sigmoid


@pytest.mark.parametrize("firing", STOCHASTIC_MODES)
def test_seeded_stochastic_modes_are_reproducible(firing):
    x = _x(25, seed=10)
    runs = [ParaLIF(firing, generator=torch.Generator().manual_seed(s)).double()(x) for s in (3, 3, 4)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    torch.manual_seed(11)
    a = ParaLIF(firing).double()(x)
    torch.manual_seed(11)
    b = ParaLIF(firing).double()(x)
    assert torch.equal(a, b)


def test_fast_sigmoid_surrogate():
    x = torch.tensor([-0.5, -0.01, 0.0, 0.01, 0.2], dtype=F64, requires_grad=True)
    s = fast_sigmoid_spike(x)
    assert s.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # H(x) = 1[x > 0]
    s.sum().backward()
    torch.testing.assert_close(x.grad, 1 / (100 * x.detach().abs() + 1) ** 2)
    # spikingjelly's SoftSign(alpha) has derivative alpha / (2 (1 + alpha |x|)^2): ours is 2 / alpha of it
    for scale in (2.0, 100.0):
        z = x.detach().clone().requires_grad_(True)
        sj_surrogate.SoftSign(alpha=scale)(z).sum().backward()
        w = x.detach().clone().requires_grad_(True)
        FastSigmoid(scale)(w).sum().backward()
        torch.testing.assert_close(w.grad, z.grad * 2 / scale)
    with pytest.raises(ValueError, match="scale"):
        FastSigmoid(0.0)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="firing='X'.*'GS', 'SB', 'TRB', 'D', 'SD', 'TD', 'TRD', 'T', 'ST', 'TT', 'TRT'"):
        ParaLIF("X")
    with pytest.raises(ValueError, match="tau_mem=-1"):
        ParaLIF("T", tau_mem=-1)
    with pytest.raises(ValueError, match="method='nope'"):
        ParaLIF("T", method="nope")
    with pytest.raises(ValueError, match="threshold='a'"):
        ParaLIF("T", threshold="a")
    with pytest.raises(ValueError, match="features=4 is only used"):
        ParaLIF("T", features=4)
    with pytest.raises(ValueError, match="alpha=1.5"):
        three_fft_charge(_x(4), 1.5, 0.5)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        ParaLIF("T")(torch.zeros(5))


def test_learnable_threshold_is_relu_clamped_and_fixed_is_a_buffer():
    m = ParaLIF("T", threshold=0.5)
    assert isinstance(m.threshold, torch.nn.Parameter)
    with torch.no_grad():
        m.threshold.fill_(-1.0)
    assert float(m.theta()) == 0.0
    f = ParaLIF("T", learn_threshold=False)
    assert "threshold" in dict(f.named_buffers()) and not list(f.parameters())


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("recurrent", [False, True])
def test_autocast(dtype, recurrent):
    torch.manual_seed(0)
    lin = torch.nn.Linear(6, 5)
    neuron = ParaLIF("T", recurrent=recurrent, features=5 if recurrent else None)
    x = torch.randn(40, 3, 6) * 3
    with torch.autocast("cpu", dtype=dtype):
        h = lin(x)
        s = neuron(h)
        u = neuron.charge(h)
    assert h.dtype == dtype and s.dtype == dtype and u.dtype == dtype
    assert set(s.float().unique().tolist()) <= {0.0, 1.0}
    u_ref = neuron.charge(h.float())
    assert float((u.float() - u_ref).abs().max()) <= 2e-2 * float(u_ref.abs().max())
    s.float().sum().backward()
    assert lin.weight.grad is not None and torch.isfinite(lin.weight.grad).all()


@pytest.mark.parametrize("firing", DELTA_MODES)
def test_delta_modes_start_from_the_normalised_rest_potential(firing):
    # v[-1] = norm(U[-1]) with U[-1] = 0: a silent input gives no spike, also at t = 0 (SD: sigmoid(0) = 0.5;
    # the official parallel code pads with 0 after normalising, so its SD fires at t = 0 for any input
    # above -2.2; its sequential code starts from norm(0), as here)
    u = torch.zeros(5, 2, 3, dtype=F64)
    assert float(fire(u, firing, 0.1).sum()) == 0.0
    u[0] = 0.3
    v = normalise(u, firing)
    expected = ((v - torch.cat([normalise(torch.zeros_like(u[:1]), firing), v[:-1]])) > 0.1).to(F64)
    assert torch.equal(fire(u, firing, 0.1), expected)


def test_the_three_fft_error_is_within_the_tail_bound():
    # what wraps is l * k at lags above T: for |x| <= 1 and alpha = beta, at most b^(T+1) (T + 2 + b / (1 - b))
    for b in (ALPHA, math.exp(-1)):
        for T in (10, 20, 50, 100, 200):
            x = torch.ones(T, 1, 2, dtype=F64)
            err = float((three_fft_charge(x, b, b) - two_stage(x, b, b)).abs().max())
            bound = b ** (T + 1) * (T + 2 + b / (1 - b))
            assert err <= bound + 1e-13                      # rounding, once the tail is gone
            if T >= 50 and bound > 1e-10:
                assert err >= 0.3 * bound                    # and the bound is the right size


@pytest.mark.parametrize("firing", DETERMINISTIC)
def test_fused_fast_sigmoid_threshold_equals_the_composition(firing):
    # fire() fuses H(v - theta) with the fast sigmoid; a surrogate that is not FastSigmoid takes the plain path
    class Plain(FastSigmoid):
        pass

    u = (2 * _x(30, seed=12)).requires_grad_(True)
    th = torch.tensor(0.3 if firing not in DELTA_MODES else 0.05, dtype=F64, requires_grad=True)
    s = fire(u, firing, th)
    (s * torch.arange(30, dtype=F64).view(30, 1, 1)).sum().backward()
    gu, gth = u.grad.clone(), th.grad.clone()
    u.grad = th.grad = None
    s2 = fire(u, firing, th, surrogate_function=Plain())
    (s2 * torch.arange(30, dtype=F64).view(30, 1, 1)).sum().backward()
    assert torch.equal(s, s2) and float(s.sum()) > 0
    torch.testing.assert_close(gu, u.grad, rtol=1e-12, atol=0)
    torch.testing.assert_close(gth, th.grad, rtol=1e-12, atol=0)
