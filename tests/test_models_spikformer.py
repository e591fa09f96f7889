"""Spikformer (chapter 04): SSA's identities, the reference cross-check, operation counts, errors."""
from __future__ import annotations

import pytest
import torch
from spikingjelly.activation_based import functional
from spikingjelly.activation_based import surrogate as sj_surrogate
from spikingjelly.activation_based.layer.attention import SpikingSelfAttention
from spikingjelly.activation_based.model import spikformer as sj_spikformer

from snnlib.models.spikformer import (SPS, SSA, Spikformer, attention_ops, attention_order, spiking_attention,
                                      spikformer_state_from_spikingjelly, ssa_state_from_spikingjelly)
from snnlib.neurons import Sigmoid

pytestmark = pytest.mark.usefixtures("one_thread")


def _spikes(*shape, p=0.4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) < p).double()


def _lively_bn(module, seed=0):
    """BN affine and statistics drawn so that neurons fire (the default init leaves a random net silent)."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            n, dt = m.num_features, m.weight.dtype
            m.weight.data = 1 + 2 * torch.rand(n, generator=g, dtype=dt)
            m.bias.data = 0.5 + torch.rand(n, generator=g, dtype=dt)
            m.running_mean.copy_(0.4 * torch.rand(n, generator=g, dtype=dt) - 0.2)
            m.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=g, dtype=dt))


def test_sigmoid_surrogate_equals_spikingjellys():
    x = torch.randn(2000, dtype=torch.float64, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    ours, theirs = Sigmoid(4.0)(x), sj_surrogate.Sigmoid(alpha=4.0)(x2)
    assert torch.equal(ours, theirs)
    (ours * torch.arange(2000.0, dtype=torch.float64)).sum().backward()
    (theirs * torch.arange(2000.0, dtype=torch.float64)).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="alpha"):
        Sigmoid(0.0)


@pytest.mark.parametrize("L,d", [(3, 5), (16, 4), (4, 16), (7, 7)])
def test_association_orders_are_equal_and_auto_picks_the_cheaper(L, d):
    q, k, v = _spikes(2, 3, L, d, seed=1), _spikes(2, 3, L, d, seed=2), _spikes(2, 3, L, d, seed=3)
    a, b = spiking_attention(q, k, v, "qk_v"), spiking_attention(q, k, v, "q_kv")
    assert torch.equal(a, b)
    assert torch.equal(spiking_attention(q, k, v), a)
    assert attention_order(L, d) == ("qk_v" if L * L * d < L * d * d else "q_kv")


def test_ssa_product_is_a_non_negative_integer_matrix():
    q, k, v = _spikes(4, 2, 10, 6, seed=4), _spikes(4, 2, 10, 6, seed=5), _spikes(4, 2, 10, 6, seed=6)
    a = spiking_attention(q, k, v)
    assert (a >= 0).all() and torch.equal(a, a.round())
    # a real-valued Q K^T V can be negative: the reason softmax normalises
    r = spiking_attention(torch.randn(1, 5, 3), torch.randn(1, 5, 3), torch.randn(1, 5, 3))
    assert (r < 0).any()


def test_ssa_equals_spikingjellys_with_mapped_weights():
    torch.manual_seed(0)
    D, heads, T, N, L = 32, 4, 4, 3, 16
    theirs = SpikingSelfAttention(D, heads).double()
    _lively_bn(theirs)
    theirs.eval()
    ours = SSA(D, heads).double().eval()
    ours.load_state_dict(ssa_state_from_spikingjelly(theirs.state_dict(), D))
    x = _spikes(T, N, L, D, p=0.5, seed=7)
    ours.record = True
    y = ours(x)
    functional.reset_net(theirs)
    y_theirs = theirs(x.transpose(2, 3).contiguous()).transpose(2, 3)   # theirs is [T, N, C, L]
    assert 0.02 < float(y.detach().mean()) < 0.98, "the check must not pass on silent or saturated neurons"
    assert 0.02 < float(ours.last["out"].mean()), "the attention neuron must fire"
    assert torch.equal(y, y_theirs)


def test_whole_spikformer_equals_spikingjellys_with_their_pooling():
    torch.manual_seed(0)
    theirs = sj_spikformer.Spikformer(T=2, in_channels=1, img_size_h=32, img_size_w=32, patch_size=4,
                                      embed_dims=32, num_heads=4, depths=2, num_classes=10).double()
    _lively_bn(theirs)
    theirs.eval()
    ours = Spikformer(depth=2, dim=32, heads=4, T=2, num_classes=10, in_channels=1, pool="spikingjelly").double()
    ours.eval()
    ours.load_state_dict(spikformer_state_from_spikingjelly(theirs.state_dict(), depth=2, dim=32))
    img = torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    functional.reset_net(theirs)
    a, b = theirs(img), ours(img)
    assert a.std() > 0.05
    torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-10)


def test_pool_placement_agrees_at_one_step_and_differs_later():
    """Max-pool commutes with a threshold (monotone) at T = 1; over time the pooled membrane differs."""
    a = SPS(1, 32, "paper").double()
    _lively_bn(a)
    a.eval()
    b = SPS(1, 32, "spikingjelly").double().eval()
    b.load_state_dict(a.state_dict())
    g = torch.Generator().manual_seed(0)
    x1 = torch.rand(1, 3, 1, 32, 32, generator=g, dtype=torch.float64)
    assert torch.equal(a(x1), b(x1))
    x4 = torch.rand(4, 3, 1, 32, 32, generator=g, dtype=torch.float64)
    assert (a(x4) != b(x4)).any()


def test_maxpool_of_binary_maps_is_an_or():
    s = _spikes(6, 1, 8, 8, p=0.2, seed=8)
    pooled = torch.nn.functional.max_pool2d(s, 3, 2, 1)
    unfolded = torch.nn.functional.unfold(s, 3, padding=1, stride=2)      # [6, 9, 16]
    either = (unfolded > 0).any(1).double().view_as(pooled)
    assert torch.equal(pooled, either)


def test_shapes_and_the_papers_naming():
    m = Spikformer.named("2-64", T=2, num_classes=10, in_channels=1)
    assert (m.depth, m.dim, m.T) == (2, 64, 2)
    out = m(torch.rand(3, 1, 32, 32))
    assert out.shape == (2, 3, 10)
    assert SPS(3, 64)(torch.rand(2, 1, 3, 32, 32)).shape == (2, 1, 64, 64)   # 8 x 8 patches of 4 x 4
    with pytest.raises(ValueError, match="'L-D'"):
        Spikformer.named("4x384")


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"x_seq has shape \(4, 16, 32\)"):
        SSA(32, 4)(torch.rand(4, 16, 32))
    with pytest.raises(ValueError, match="divisible by heads"):
        SSA(30, 4)
    with pytest.raises(ValueError, match="order='fast'"):
        SSA(32, 4, order="fast")
    with pytest.raises(ValueError, match="pool='before'"):
        SPS(3, 64, pool="before")
    with pytest.raises(ValueError, match=r"expected images \[N, C, H, W\] or \[T, N, C, H, W\]"):
        Spikformer(depth=1, dim=32, heads=4)(torch.rand(3, 32, 32))


def test_vsa_is_softmax_attention_on_the_real_values():
    torch.manual_seed(0)
    m = SSA(16, 2, attention="vsa", record=True).double().eval()
    x = _spikes(2, 2, 5, 16, seed=9)
    y = m(x)
    q, k, v = m.last["q_real"], m.last["k_real"], m.last["v_real"]
    ref = torch.softmax(q @ k.transpose(-2, -1) * 0.125, -1) @ v
    torch.testing.assert_close(m.last["out"], ref)
    assert y.shape == x.shape


def test_operation_counts_by_hand_on_two_tokens():
    # one head, L = 2 tokens, d = 2: q = [[1, 0], [1, 1]], k = [[1, 1], [0, 1]], v = [[1, 0], [0, 1]]
    q = torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]])
    k = torch.tensor([[[[1.0, 1.0], [0.0, 1.0]]]])
    v = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    # (Q K^T) = [[1, 0], [2, 1]]: 1 + 0 + 2 + 1 = 4 additions; then A V: non-zero A entries (3) times the
    # ones of the matching row of V (1 each) = 3 additions.  Total 7 ACs, no multiplication.
    ssa = attention_ops("A_SSA", q, k, v, order="qk_v")
    assert ssa == {"mults": 0.0, "adds": 7.0, "sops": 7.0, "energy_pj": pytest.approx(7 * 0.9)}
    # K^T V = [[1, 0], [1, 1]] (3 additions); Q M: q row 1 hits M row 0 (1 non-zero), q row 2 hits rows
    # 0 and 1 (1 + 2): 4 additions.  Total 7 as well here.
    assert attention_ops("A_SSA", q, k, v, order="q_kv")["adds"] == 7.0
    # real-valued: two 2x2x2 matrix products = 16 multiply-accumulates
    ident = attention_ops("A_I", q, k, v, order="qk_v")
    assert ident["mults"] == 16 and ident["energy_pj"] == pytest.approx(16 * 4.6)
    soft = attention_ops("A_softmax", q, k, v, order="qk_v")
    assert soft["mults"] == 16 + 2 * 4 and soft["adds"] == 16 + 4
    with pytest.raises(ValueError, match="not binary"):
        attention_ops("A_SSA", q * 0.5, k, v)
    with pytest.raises(ValueError, match="variant='A_tanh'"):
        attention_ops("A_tanh", q, k, v)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("attention", ["ssa", "vsa"])
def test_spikformer_under_cpu_autocast(dtype, attention):
    torch.manual_seed(0)
    m = Spikformer(depth=1, dim=32, heads=4, T=2, num_classes=10, in_channels=1, attention=attention)
    x = torch.rand(2, 1, 32, 32)
    with torch.autocast("cpu", dtype=dtype):
        out = m(x)
    assert torch.isfinite(out.float()).all()
    out.float().mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


def test_digits_images_upsampled_for_the_image_chapters():
    from snnlib.data import digits_images

    tr8, te8 = digits_images()
    tr, te = digits_images(size=32)
    assert tr.x.shape[1:] == (1, 32, 32) and len(tr) == len(tr8) and torch.equal(tr.y, tr8.y)
    assert 0.0 <= float(tr.x.min()) and float(tr.x.max()) <= 1.0
    # bilinear upsampling by 4: each 4 x 4 block's mean stays near the pixel it came from, on average
    err = (torch.nn.functional.avg_pool2d(te.x, 4) - te8.x).abs()
    assert float(err.mean()) < 0.1
    with pytest.raises(ValueError, match="size=4"):
        digits_images(size=4)
