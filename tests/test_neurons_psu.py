"""The PSU family (chapter 02): the scan form equals the paper's dense matrices, forward and backward; with
the true spikes the PSU is the soft-reset LIF at tau = 2 (and only there); errors are clear."""
from __future__ import annotations

import math

import pytest
import torch
from spikingjelly.activation_based import surrogate as sj_surrogate

from snnlib.neurons import IPSU, LIF, PSU, RPSU, LearnableATan, apply_a, apply_b, leaky_integrate, psu_matrices

pytestmark = pytest.mark.usefixtures("one_thread")

KINDS = (PSU, IPSU, RPSU)
TS = (1, 2, 15, 33, 65)          # 1, even, odd below and above the scan's chunk, odd long enough to chunk


def _make(cls, T, tau=2.0, method="scan", **kw):
    return cls(tau=tau, method=method, **kw) if cls is PSU else cls(T, tau=tau, method=method, **kw)


def _pair(cls, T, tau, seed=0):
    """The same neuron by scan and by dense matrices, float64, the same (randomised) parameters."""
    torch.manual_seed(seed)
    scan = _make(cls, T, tau, "scan", v_threshold=0.3).double()
    dense = _make(cls, T, tau, "dense", v_threshold=0.3).double()
    with torch.no_grad():
        for p in scan.parameters():
            p.add_(0.1 * torch.randn_like(p))
    dense.load_state_dict(scan.state_dict(), strict=True)
    return scan, dense


# ---------------------------------------------------------------------------------------------- matrices
def test_matrices_are_the_papers_entry_by_entry_and_B_is_I_minus_tau_A():
    for T, tau in ((1, 2.0), (6, 2.0), (7, 3.0)):
        A, B = psu_matrices(T, tau, torch.float64)
        for i in range(T):
            for j in range(T):
                assert A[i, j] == ((1 / tau) ** (i - j + 1) if i >= j else 0.0)
                assert B[i, j] == (-((1 / tau) ** (i - j)) if i > j else 0.0)
        torch.testing.assert_close(B, torch.eye(T, dtype=torch.float64) - tau * A, rtol=0, atol=1e-15)


@pytest.mark.parametrize("tau", [2.0, 3.0, 5.5])
@pytest.mark.parametrize("T", TS)
def test_A_and_B_are_leaky_integrations_with_decay_one_over_tau(T, tau):
    x = torch.randn(T, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(T))
    A, B = psu_matrices(T, tau, torch.float64)
    ax = (A @ x.flatten(1)).view(x.shape)
    bx = (B @ x.flatten(1)).view(x.shape)
    torch.testing.assert_close(apply_a(x, tau), ax, rtol=0, atol=1e-12)
    torch.testing.assert_close(apply_b(x, tau), bx, rtol=0, atol=1e-12)
    torch.testing.assert_close(apply_a(x, tau, "dense"), ax, rtol=0, atol=1e-12)
    torch.testing.assert_close(apply_b(x, tau, "dense"), bx, rtol=0, atol=1e-12)
    torch.testing.assert_close(leaky_integrate(x, 1 / tau, scale_input=False) / tau, ax, rtol=0, atol=1e-12)


def test_the_tempting_decay_one_minus_one_over_tau_agrees_only_at_tau_2():
    x = torch.randn(12, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for tau in (2.0, 3.0):
        A, _ = psu_matrices(12, tau, torch.float64)
        tempting = leaky_integrate(x, 1 - 1 / tau, scale_input=True)
        gap = float((tempting - (A @ x.flatten(1)).view(x.shape)).abs().max())
        assert (gap < 1e-12) == (tau == 2.0), (tau, gap)


# ---------------------------------------------------------------------------------------- scan == dense
@pytest.mark.parametrize("tau", [2.0, 3.0])
@pytest.mark.parametrize("T", TS)
@pytest.mark.parametrize("cls", KINDS, ids=lambda c: c.__name__)
def test_scan_equals_dense_forward_and_gradients(cls, T, tau):
    scan, dense = _pair(cls, T, tau, seed=T)
    gen = torch.Generator().manual_seed(100 + T)
    x = torch.randn(T, 4, 5, dtype=torch.float64, generator=gen)
    gv, gs = torch.randn(x.shape, dtype=torch.float64, generator=gen), torch.randn(x.shape, dtype=torch.float64,
                                                                                     generator=gen)
    outs = []
    for m in (scan, dense):
        xi = x.clone().requires_grad_(True)
        v, s = m.charge(xi), m(xi)
        loss = (v * gv).sum() + (s * gs).sum()
        grads = torch.autograd.grad(loss, [xi, *m.parameters()])
        outs.append((v.detach(), s.detach(), grads))
    (v1, s1, g1), (v2, s2, g2) = outs
    torch.testing.assert_close(v1, v2, rtol=0, atol=1e-12)
    clear = (v1 - scan.v_threshold).abs() > 1e-9                      # no value sits on the threshold here
    assert bool(clear.all()) and torch.equal(s1, s2)
    assert len(g1) == len(g2) == (1 if cls is PSU else 3) + 1         # x, (weight, bias,) surrogate alpha
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    if T > 1:
        assert 0.0 < float(s1.mean()) < 1.0                           # the test exercises both sides


@pytest.mark.parametrize("cls", KINDS, ids=lambda c: c.__name__)
def test_scan_equals_dense_in_float32(cls):
    scan, dense = _pair(cls, 64, 2.0)
    scan.float(), dense.float()
    x = torch.randn(64, 8, 16, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(scan.charge(x), dense.charge(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("method", ["scan", "dense"])
@pytest.mark.parametrize("cls", KINDS, ids=lambda c: c.__name__)
def test_gradcheck_on_the_charge(cls, method):
    T = 7
    m = _make(cls, T, 3.0, method, v_threshold=0.4).double()
    x = torch.randn(T, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(7), requires_grad=True)
    assert torch.autograd.gradcheck(m.charge, (x,))
    if cls is not PSU:
        class Charge(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x_seq):
                return self.inner.charge(x_seq)

        wrap = Charge(m)
        w = m.weight.detach().clone().requires_grad_(True)
        b = m.bias.detach().clone().requires_grad_(True)
        f = lambda x_, w_, b_: torch.func.functional_call(wrap, {"inner.weight": w_, "inner.bias": b_}, (x_,))
        assert torch.autograd.gradcheck(f, (x, w, b))


# ------------------------------------------------------------------------------- the reset put back
def _psu_true_spikes(x, tau, theta):
    """V = A X + theta B S with S = Theta(V - theta), one row at a time (B has a zero diagonal)."""
    T = x.shape[0]
    A, B = psu_matrices(T, tau, x.dtype)
    ax = (A @ x.flatten(1)).view(x.shape)
    v, s = torch.zeros_like(x), torch.zeros_like(x)
    for t in range(T):
        v[t] = ax[t] + theta * torch.tensordot(B[t, :t], s[:t], dims=1)
        s[t] = (v[t] >= theta).to(x.dtype)
    return v, s


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_psu_with_true_spikes_is_the_soft_reset_lif_at_tau_2(dtype):
    x = 1.5 * torch.rand(33, 6, 7, dtype=dtype, generator=torch.Generator().manual_seed(2))
    for theta in (0.3, 0.5, 1.0):
        lif = LIF(tau=2.0, v_threshold=theta, v_reset=None, store_v_seq=True)
        s_lif = lif(x)
        v, s = _psu_true_spikes(x, 2.0, theta)
        torch.testing.assert_close(v, lif.h_seq, rtol=0, atol=1e-12 if dtype == torch.float64 else 1e-6)
        assert torch.equal(s, s_lif) and 0.05 < float(s.mean()) < 0.95


def test_at_tau_3_the_matrices_are_not_the_lif_and_the_sigmoid_is_only_an_estimate():
    x = 1.5 * torch.rand(33, 6, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    lif = LIF(tau=3.0, v_threshold=0.3, v_reset=None, store_v_seq=True)
    lif(x)
    v, _ = _psu_true_spikes(x, 3.0, 0.3)
    assert float((v - lif.h_seq).abs().max()) > 0.05                  # decay 1/3 is not 1 - 1/3
    psu = PSU(tau=2.0, v_threshold=0.3).double()
    v2, _ = _psu_true_spikes(x, 2.0, 0.3)
    assert float((psu.charge(x).detach() - v2).abs().max()) > 0.01             # sigma(AX) is not S


# ------------------------------------------------------------------------------------- other properties
@pytest.mark.parametrize("method", ["scan", "dense"])
@pytest.mark.parametrize("cls", KINDS, ids=lambda c: c.__name__)
def test_causal(cls, method):
    T = 40
    m = _make(cls, T, 2.0, method).double()
    x = torch.randn(T, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    y = x.clone()
    y[20:] = torch.randn(y[20:].shape, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    torch.testing.assert_close(m.charge(x)[:20], m.charge(y)[:20], rtol=0, atol=1e-12)
    assert float((m.charge(x)[20:] - m.charge(y)[20:]).detach().abs().max()) > 1e-3


def test_initialisation_is_the_official_one():
    for cls in (IPSU, RPSU):
        torch.manual_seed(4)
        m = cls(64)
        torch.manual_seed(4)
        w = torch.empty(64, 64)
        torch.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
        assert torch.equal(m.weight.detach(), w) and m.bias.shape == (64, 1) and not m.bias.any()
        assert abs(float(m.weight.detach().std()) - math.sqrt(2 / 64)) < 0.01
        assert torch.equal(m.masked_weight(), torch.tril(m.weight))
    for m in (PSU(), IPSU(4), RPSU(4)):
        assert isinstance(m.surrogate_function, LearnableATan) and float(m.surrogate_function.alpha.detach()) == 2.0
        assert m.surrogate_function.alpha.requires_grad
    assert [n for n, _ in PSU().named_parameters()] == ["surrogate_function.alpha"]


def test_psu_takes_any_T_and_shape():
    m = PSU(v_threshold=0.5)
    for shape in ((1, 3), (5, 2, 3, 4), (100, 1)):
        assert m(torch.randn(shape)).shape == shape


def test_learnable_atan_matches_spikingjelly_and_its_alpha_gradient_is_the_primitives():
    x = torch.randn(500, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    for alpha in (2.0, 4.0):
        ours = LearnableATan(alpha).double()
        theirs = sj_surrogate.ATan(alpha=alpha)
        s1, s2 = ours(x), theirs(x)
        assert torch.equal(s1, s2)
        g = torch.randn_like(x)
        (g1,) = torch.autograd.grad(s1, x, g)
        (g2,) = torch.autograd.grad(s2, x, g)
        torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-12)
        (ga,) = torch.autograd.grad(ours(x), ours.alpha, g)
        a = torch.tensor(alpha, dtype=torch.float64, requires_grad=True)
        primitive = torch.atan(math.pi / 2 * a * x.detach()) / math.pi + 0.5
        (ga_ref,) = torch.autograd.grad(primitive, a, g)
        torch.testing.assert_close(ga, ga_ref, rtol=1e-10, atol=1e-12)
        th = torch.autograd.grad(ours.fire(x, 0.25), x, g)[0]
        torch.testing.assert_close(th, torch.autograd.grad(theirs(x - 0.25), x, g)[0], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="alpha=0"):
        LearnableATan(0)


def test_alpha_learns_through_the_network():
    m = PSU(v_threshold=0.5)
    x = torch.randn(20, 4, 8, requires_grad=True)
    m(x).sum().backward()
    assert m.surrogate_function.alpha.grad is not None and float(m.surrogate_function.alpha.grad) != 0.0


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("method", ["scan", "dense"])
@pytest.mark.parametrize("cls", KINDS, ids=lambda c: c.__name__)
def test_under_cpu_autocast(cls, method, dtype):
    torch.manual_seed(0)
    m = _make(cls, 40, 2.0, method, v_threshold=0.5)
    x = torch.randn(40, 8, 16)
    ref = m.charge(x).detach()
    xi = x.clone().requires_grad_(True)
    with torch.autocast("cpu", dtype=dtype):
        v, s = m.charge(xi), m(xi)
    (v.float().sum() + s.float().sum()).backward()
    assert torch.isfinite(xi.grad).all() and torch.isfinite(v.float()).all()
    tol = 0.1 if dtype == torch.bfloat16 else 0.02
    assert float((v.detach().float() - ref).abs().max()) < tol * (1 + float(ref.abs().max()))


# ----------------------------------------------------------------------------------------------- errors
def test_errors_name_the_argument_and_the_value():
    with pytest.raises(ValueError, match=r"x_seq has T=5 time steps .* built for T=4"):
        IPSU(4).charge(torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"x_seq has T=3 time steps .* built for T=4"):
        RPSU(4)(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"shape \(4,\).*expected at least 2 dimensions"):
        PSU()(torch.zeros(4))
    with pytest.raises(ValueError, match="T = 0 time steps"):
        PSU()(torch.zeros(0, 3))
    with pytest.raises(TypeError, match="dtype torch.int64"):
        PSU()(torch.zeros(4, 3, dtype=torch.long))
    for bad in (1.0, 0.5, True, "2", float("inf")):
        with pytest.raises(ValueError, match=rf"tau={bad!r} must be a real number > 1"):
            PSU(tau=bad)
    with pytest.raises(ValueError, match=r"method='fft' is not a method; expected one of 'scan', 'dense'"):
        IPSU(4, method="fft")
    with pytest.raises(TypeError, match="v_threshold=None must be a finite real number"):
        RPSU(4, v_threshold=None)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match=rf"T={bad!r} must be an integer >= 1"):
            IPSU(bad)
    with pytest.raises(ValueError, match="spiking=False"):
        PSU(surrogate_function=sj_surrogate.ATan(spiking=False))


def test_bench_psu_prints_the_ratios_the_chapter_reads():
    """Structure only (speed claims are ratios printed by the bench, never timed tests)."""
    import io

    from snnlib import bench

    out = io.StringIO()
    rows = bench.psu([3, 5], reps=1, min_rep_s=0.0, out=out)
    text = out.getvalue()
    assert [r["T"] for r in rows] == [3, 5] and "snnlib.bench psu" in text
    for col in (*bench.PSU_COLS, *bench.PSU_RATIOS):
        assert col in text and all(r[col] > 0 for r in rows), col
    assert rows[0]["dense/PSU"] == pytest.approx(rows[0]["PSU dense"] / rows[0]["PSU"])
