"""snnlib.models.resnet (chapter 06, MS-ResNet): the MS neuron, the Rect surrogate, the blocks' identities at
initialisation, the state-change probability, the gradient-norm ratio, spikingjelly's MS block."""
from __future__ import annotations

import math

import pytest
import torch

from snnlib.models import resnet as R
from snnlib.neurons import Rect

pytestmark = pytest.mark.usefixtures("one_thread")
sj_surrogate = pytest.importorskip("spikingjelly.activation_based.surrogate")


# ------------------------------------------------------------------------------- surrogate and neuron
@pytest.mark.parametrize("alpha", [1.0, 2.0, 0.7])
def test_rect_equals_spikingjelly(alpha):
    x = torch.linspace(-1.2, 1.2, 241, dtype=torch.float64)
    x = torch.cat([x, torch.tensor([0.5 / alpha, -0.5 / alpha, 0.0], dtype=torch.float64)])
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = Rect(alpha)(a), sj_surrogate.Rect(alpha=alpha)(b)
    assert torch.equal(ya, yb)
    g = torch.randn_like(x)
    ya.backward(g)
    yb.backward(g)
    assert torch.equal(a.grad, b.grad)
    inside = x.abs() < 0.5 / alpha
    assert torch.equal(a.grad, torch.where(inside, alpha * g, torch.zeros_like(g)))


def test_rect_rejects_bad_alpha():
    with pytest.raises(ValueError, match="alpha=0"):
        Rect(0)


def test_ms_lif_is_the_papers_recurrence():
    torch.manual_seed(0)
    x = torch.randn(12, 3, 5, dtype=torch.float64)
    s = R.ms_lif()(x)
    u = torch.zeros_like(x[0])
    prev = torch.zeros_like(x[0])
    for t in range(x.shape[0]):  # u[t] = 0.25 u[t-1] (1 - s[t-1]) + x[t],  s = 1[u >= 0.5]
        u = 0.25 * u * (1 - prev) + x[t]
        prev = (u >= 0.5).to(x.dtype)
        assert torch.equal(s[t], prev)


def test_ms_lif_gradient_is_the_papers_rectangle():
    # one step: ds/dx = 1 on |x - 0.5| < 0.5 (the paper) against 2 on |x - 0.5| < 0.25 (spikingjelly)
    x = torch.tensor([[-0.1], [0.05], [0.3], [0.6], [0.8], [0.99], [1.2]], dtype=torch.float64)
    for alpha, expected in ((1.0, [0, 1, 1, 1, 1, 1, 0]), (2.0, [0, 0, 2, 2, 0, 0, 0])):
        xi = x.clone().unsqueeze(0).requires_grad_(True)
        R.ms_lif(alpha)(xi).sum().backward()
        assert xi.grad.flatten().tolist() == expected


def test_ms_lif_equals_spikingjellys_ms_neuron():
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    torch.manual_seed(1)
    x = torch.randn(10, 4, 6)
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    theirs = neuron.LIFNode(tau=4.0 / 3.0, v_threshold=0.5, detach_reset=True, decay_input=False,
                            surrogate_function=sj_surrogate.Rect(alpha=2.0), step_mode="m")
    ya, yb = R.ms_lif(2.0)(a), theirs(b)
    assert torch.equal(ya, yb)
    g = torch.randn_like(x)
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------- identities at init
def test_ms_block_is_the_identity_at_initialisation():
    torch.manual_seed(0)
    block = R.Block("ms", 8, 8)
    x = torch.randn(4, 3, 8, 5, 5)
    assert torch.equal(block(x), x)
    assert float(block.bn2.weight.detach().abs().max()) == 0.0
    assert block.bn1.weight.detach().eq(0.5).all()


def test_ms_network_stage_blocks_are_identities_at_initialisation():
    torch.manual_seed(0)
    model = R.SpikingResNet("ms", 20, 8, in_channels=1)
    h = model.stem(model._sequence(torch.randn(2, 1, 8, 8)))
    for block in R.stage_blocks(model, 0):
        assert torch.equal(block(h), h)


def test_vanilla_block_identity_needs_the_previous_membrane_at_zero():
    # with a zero residual the vanilla block is SN(0 + s): from rest it copies binary spikes ...
    torch.manual_seed(0)
    s = (torch.rand(6, 2, 4, 3, 3) < 0.4).float()
    block = R.Block("vanilla", 4, 4)
    torch.nn.init.zeros_(block.bn2.weight)
    assert torch.equal(block(s), s)
    # ... but from a non-zero membrane the same neuron does not: v = 2 makes u[0] = 0.5 fire on s = 0,
    # and v = -4 keeps s = 1 below threshold (u[0] = 1 - 1 = 0)
    lif = R.ms_lif()
    for v0, expect in ((2.0, 1.0), (-4.0, 0.0)):
        lif.reset()
        lif.v = torch.full_like(s[0], v0)
        out0 = lif.step(torch.full_like(s[0], 1.0 - expect))
        assert torch.all(out0 == expect)


def test_vanilla_block_output_is_binary_a_choice_not_a_sum():
    torch.manual_seed(0)
    s = (torch.rand(4, 2, 4, 3, 3) < 0.5).float()
    out = R.Block("vanilla", 4, 4)(s)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    sew = R.Block("sew", 4, 4)(s)
    assert sew.max() > 1  # SEW's ADD: 0, 1 or 2


# ------------------------------------------------------------------------------- the 16 %
def test_state_change_probability_is_one_minus_phi_one():
    assert R.state_change_probability() == pytest.approx(1 - 0.5 * (1 + math.erf(1 / math.sqrt(2))), abs=1e-12)
    assert R.state_change_probability(rate=0.1) == pytest.approx(0.15865525, abs=1e-7)


def test_state_change_probability_monte_carlo():
    g = torch.Generator().manual_seed(0)
    n = 400_000
    s = (torch.rand(n, generator=g, dtype=torch.float64) < 0.3).double()
    f = 0.5 * torch.randn(n, generator=g, dtype=torch.float64)
    changed = ((s + f) >= 0.5).double() != s
    mc = float(changed.double().mean())
    assert abs(mc - R.state_change_probability(0.5, 0.5, 0.3)) < 0.005
    assert abs(mc - 0.1587) < 0.005


# ------------------------------------------------------------------------------- gradient-norm ratio
@pytest.mark.parametrize("depth", [8, 32])
def test_ms_gradient_norm_ratio_is_one(depth):
    r = R.gradient_ratio("ms", depth, in_channels=1)
    assert abs(r["ratio"] - 1.0) < 1e-5
    assert all(abs(v - 1.0) < 1e-5 for v in r["per_seed"])


def test_vanilla_gradient_norm_ratio_is_below_one_and_falls_with_depth():
    r8, r32 = (R.gradient_ratio("vanilla", d, in_channels=1)["ratio"] for d in (8, 32))
    assert r8 < 1.0
    assert r32 < r8


def test_gradient_norms_are_seeded():
    a = R.gradient_ratio("sew", 14, in_channels=1, seeds=(3,))
    b = R.gradient_ratio("sew", 14, in_channels=1, seeds=(3,))
    assert a["per_seed"] == b["per_seed"]


def test_ms_block_jacobian_is_orthogonal_at_initialisation():
    torch.manual_seed(0)
    sv = R.jacobian_singular_values(R.Block("ms", 2, 2), torch.randn(2, 2, 2, 3, 3))
    torch.testing.assert_close(sv, torch.ones_like(sv))
    torch.manual_seed(0)
    sv = R.jacobian_singular_values(R.Block("vanilla", 2, 2), (torch.rand(2, 2, 2, 3, 3) < 0.5).float())
    assert float(sv.min()) < 0.5  # the LIF after the sum zeroes directions


# ------------------------------------------------------------------------------- network, SSIM, errors
@pytest.mark.parametrize("family", R.FAMILIES)
def test_network_shapes_and_firing_maps(family):
    torch.manual_seed(0)
    model = R.SpikingResNet(family, 14, 4, in_channels=1, num_classes=10, T=3)
    x = torch.rand(5, 1, 8, 8)
    assert model(x).shape == (3, 5, 10)
    assert model(x.unsqueeze(0).expand(3, *x.shape)).shape == (3, 5, 10)
    maps = R.firing_maps(model, x)
    assert len(maps) == 6 and maps[0].shape == (4, 8, 8) and maps[-1].shape == (16, 2, 2)
    if family not in ("sew", "wo_lif"):
        assert all(float(m.min()) >= 0 and float(m.max()) <= 1 for m in maps)
    if family == "wo_lif":      # no neuron after the sum: the next block's convolution reads real values
        assert any(float(m.min()) < 0 for m in maps[1:])


def test_connect_is_pluggable():
    calls = []

    def logical_or(a, b):
        calls.append(1)
        return a + b - a * b

    torch.manual_seed(0)
    s = (torch.rand(3, 2, 4, 3, 3) < 0.5).float()
    out = R.Block("sew", 4, 4, connect=logical_or)(s)
    assert calls and set(out.unique().tolist()) <= {0.0, 1.0}


def test_ssim():
    torch.manual_seed(0)
    x = torch.rand(4, 5, 5)
    assert R.ssim(x, x) == pytest.approx(1.0)
    assert R.ssim(x, 1 - x) < 0
    with pytest.raises(ValueError, match="equal shapes"):
        R.ssim(x, x[:2])


@pytest.mark.parametrize("kw, match", [({"family": "dense"}, "family='dense'"), ({"depth": 10}, "depth=10"),
                                       ({"width": 0}, "width=0")])
def test_errors_name_the_argument(kw, match):
    args = {"family": "ms", "depth": 8, "width": 4, **kw}
    with pytest.raises(ValueError, match=match):
        R.SpikingResNet(**args)


def test_bad_input_shape():
    with pytest.raises(ValueError, match=r"\[N, C, H, W\] or \[T, N, C, H, W\]"):
        R.SpikingResNet("ms", 8, 4)(torch.zeros(2, 3, 8))


# ------------------------------------------------------------------------------- spikingjelly
@pytest.mark.parametrize("stride, c_in", [(1, 4), (2, 3)])
def test_ms_block_equals_spikingjellys(stride, c_in):
    ms = pytest.importorskip("spikingjelly.activation_based.model.ms_resnet")
    functional = pytest.importorskip("spikingjelly.activation_based.functional")
    torch.manual_seed(0)
    down = None
    if stride != 1 or c_in != 4:
        layer = pytest.importorskip("spikingjelly.activation_based.layer")
        down = torch.nn.Sequential(layer.Conv2d(c_in, 4, 1, stride=stride, bias=False, step_mode="m"),
                                   layer.BatchNorm2d(4, step_mode="m"))
    theirs = ms._MSBlock(c_in, 4, stride, down)
    for p in theirs.parameters():  # leave the zero/0.5 initialisation: random weights test more
        torch.nn.init.normal_(p, 0.0, 0.7)
    for alpha in (2.0, 1.0):
        ours = R.Block("ms", c_in, 4, stride, neuron=lambda: R.ms_lif(alpha))
        ours.load_state_dict(R.ms_block_state_from_spikingjelly(theirs.state_dict()))
        x = torch.randn(4, 3, c_in, 6, 6)
        a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        functional.reset_net(theirs)
        ya, yb = ours(a), theirs(b)
        torch.testing.assert_close(ya, yb, rtol=1e-5, atol=1e-5)
        g = torch.randn_like(ya)
        ya.backward(g)
        yb.backward(g)
        close = torch.allclose(a.grad, b.grad, rtol=1e-4, atol=1e-5)
        assert close == (alpha == 2.0)  # the same surrogate agrees; the paper's Rect(1) does not


def test_wo_lif_is_the_vanilla_block_without_the_neuron_after_the_sum():
    torch.manual_seed(0)
    van, wo = R.Block("vanilla", 3, 3), R.Block("wo_lif", 3, 3)
    wo.load_state_dict(van.state_dict())
    x = (torch.rand(2, 4, 3, 5, 5) < 0.4).float()
    with torch.no_grad():
        total = van.residual(x) + van.shortcut(x)
        assert torch.equal(wo(x), total)                    # the sum itself, real-valued
        van.spike2.reset()
        assert torch.equal(van(x), van.spike2(total))       # the vanilla block fires on it
