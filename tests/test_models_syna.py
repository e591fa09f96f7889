"""SynA-ResNet (chapter 07): the connect functions, the MA and IA attentions, natural pruning and the
per-sample IA gate (against the official script's batch-axis gate)."""
from __future__ import annotations

import itertools

import pytest
import torch

from snnlib.models import attention as A
from snnlib.models import resnet as R

pytestmark = pytest.mark.usefixtures("one_thread")


def _binary(*shape, seed=0, p=0.4):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) < p).float()


def test_connect_truth_tables():
    pairs = torch.tensor(list(itertools.product([0.0, 1.0], repeat=2)))
    a, b = pairs[:, 0], pairs[:, 1]
    assert R.or_(a, b).tolist() == [0.0, 1.0, 1.0, 1.0]
    assert R.and_(a, b).tolist() == [0.0, 0.0, 0.0, 1.0]
    assert R.iand(a, b).tolist() == [0.0, 1.0, 0.0, 0.0]   # (not A) and B
    assert R.add(a, b).tolist() == [0.0, 1.0, 1.0, 2.0]    # ADD leaves the binary set
    assert set(R.CONNECTS) == {"add", "and", "iand", "or"}


def test_or_of_binary_is_binary_and_equals_logical_or():
    a, b = _binary(4, 3, 5, 6, seed=1), _binary(4, 3, 5, 6, seed=2)
    out = R.or_(a, b)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(out.bool(), a.bool() | b.bool())


def test_surrogate_gradient_flows_through_or():
    a = _binary(10, seed=3).requires_grad_(True)
    b = _binary(10, seed=4).requires_grad_(True)
    R.or_(a, b).sum().backward()
    assert torch.equal(a.grad, 1 - b.detach()) and torch.equal(b.grad, 1 - a.detach())
    # and through the network's neurons: an OR-ResNet gives every parameter a gradient path
    torch.manual_seed(0)
    net = R.SpikingResNet("sew", 8, 4, in_channels=1, T=2, connect=R.or_)
    net(torch.rand(3, 1, 8, 8)).sum().backward()
    assert net.stem[0].weight.grad.abs().sum() > 0


def test_or_resnet_blocks_emit_binary_spikes():
    torch.manual_seed(0)
    for net in (R.SpikingResNet("sew", 8, 4, in_channels=1, T=2, connect=R.or_),
                A.SynAResNet(8, 4, in_channels=1, T=4),
                A.SynAResNet(8, 4, in_channels=1, T=4, gate_bias=2.0)):
        outs = []
        hooks = [b.register_forward_hook(lambda m, i, o: outs.append(o)) for s in net.stages for b in s]
        net(torch.rand(3, 1, 8, 8) * 3)
        for h in hooks:
            h.remove()
        assert len(outs) == 3
        for o in outs:
            assert set(o.unique().tolist()) <= {0.0, 1.0}
    # ADD does not: its outputs reach 2
    net = R.SpikingResNet("sew", 8, 4, in_channels=1, T=2)
    outs = []
    net.stages[0][0].register_forward_hook(lambda m, i, o: outs.append(o))
    net(torch.rand(8, 1, 8, 8) * 3)
    assert outs[0].max() == 2


def test_attention_shapes_and_ma_formula():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 5, 2, 2)
    ma = A.MA(4)
    mlp = ma.mlp
    avg, mx = x.flatten(2).mean(2).t(), x.flatten(2).amax(2).t()
    a = (mlp.fc2(torch.relu(mlp.fc1(avg))) + mlp.fc2(torch.relu(mlp.fc1(mx)))).t()
    assert a.shape == (4, 3) and mlp.fc1.out_features == 1
    expected = torch.relu(torch.sigmoid(a)[:, :, None, None, None] * x)
    assert torch.allclose(ma(x), expected)
    ia = A.IA(4, gate_bias=1.5)
    y = ia(x)
    assert y.shape == x.shape and set(ia.last_gate.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match=r"T=0"):
        A.TemporalMLP(0)
    with pytest.raises(ValueError, match=r"expected \[T=4"):
        ma(torch.randn(3, 3, 5, 2, 2))


def _silence(model: A.SynAResNet, names=None):
    """Force the IA gates of ``names`` (default all) never to fire: a = W2 relu(.) with W2 <= 0."""
    for n, b in model.named_modules():
        if isinstance(b, A.SynABlock) and b.ia is not None and (names is None or n in names):
            with torch.no_grad():
                b.ia.mlp.fc2.weight.fill_(-1.0)
                if b.ia.mlp.fc2.bias is not None:
                    b.ia.mlp.fc2.bias.fill_(-1.0)


@pytest.mark.parametrize("placement", ["every", "downsample"])
def test_pruned_network_equals_unpruned_with_silent_gates(placement):
    torch.manual_seed(0)
    model = A.SynAResNet(14, 4, in_channels=2, T=4, gate_bias=2.0, placement=placement)
    x = torch.rand(16, 2, 8, 8) * 2
    for m in model.modules():  # BN running statistics = this batch's, so that the eval net fires
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
    with torch.no_grad():
        model(x)
    model.eval()
    names = [n for n, b in model.named_modules() if isinstance(b, A.SynABlock) and b.ia is not None]
    assert len(names) == (6 if placement == "every" else 2)
    _silence(model, names[:-1])          # all but the last gate forced silent
    rates = A.gate_rates(model, [x[:8], x[8:]])
    silent = A.silent_blocks(rates)
    assert silent == names[:-1] and rates[names[-1]] > 0
    steps = A.gate_rates(model, [x[:8], x[8:]], per_step=True)
    assert all(len(v) == 4 and abs(sum(v) / 4 - rates[n]) < 1e-12 for n, v in steps.items())
    pruned, rep = A.natural_prune(model, silent, x=x[:4])
    with torch.no_grad():
        assert torch.equal(pruned(x), model(x))
    assert rep["params_removed"] > 0 and rep["params_before"] - rep["params_removed"] == sum(
        p.numel() for p in pruned.parameters())
    assert rep["branches"] == len(names) and rep["macs_removed"] > 0
    for n, b in pruned.named_modules():
        if n in silent:
            assert b.ia is None and b.downsample is None and not b.has_shortcut
    # the original is untouched, and pruning a gate that fires changes the output
    assert all(dict(model.named_modules())[n].ia is not None for n in names)
    wrong, _ = A.natural_prune(model, names[-1:])
    with torch.no_grad():
        assert not torch.equal(wrong(x), model(x))


def test_prune_and_gate_rate_errors():
    model = A.SynAResNet(8, 4, in_channels=1, T=4)
    with pytest.raises(ValueError, match=r"'stages.9.0'.*valid names: stages.0.0"):
        A.natural_prune(model, ["stages.9.0"])
    with pytest.raises(ValueError, match=r"no IA gates"):
        A.gate_rates(A.SynAResNet(8, 4, in_channels=1, T=4, attention=False), [torch.rand(2, 1, 8, 8)])
    with pytest.raises(ValueError, match=r"placement='all'"):
        A.SynAResNet(8, 4, placement="all")
    with pytest.raises(TypeError, match=r"per_sample=1"):
        A.IA(4, per_sample=1)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_ia_gate_is_per_sample_permuting_the_batch_permutes_the_outputs(mode):
    torch.manual_seed(0)
    model = A.SynAResNet(8, 4, in_channels=1, T=4, gate_bias=1.5)
    getattr(model, mode)()
    x = torch.rand(12, 1, 8, 8) * 2
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y, yp = model(x), model(x[perm])
        gates = [b.ia.last_gate for b in model.blocks()]
        model(x)
        gates0 = [b.ia.last_gate for b in model.blocks()]
    assert torch.allclose(yp, y[:, perm], atol=1e-5)
    assert any(g.sum() > 0 for g in gates)
    for g, g0 in zip(gates, gates0):
        assert torch.equal(g, g0[:, perm])
    # one sample alone gets the gate it had in the batch
    ia = model.stages[0][0].ia
    h = torch.rand(4, 12, 3, 2, 2) * 2
    full = ia.gate(h)
    assert all(torch.equal(ia.gate(h[:, n:n + 1])[:, 0], full[:, n]) for n in range(12))


def test_official_batch_axis_gate_depends_on_the_other_samples():
    torch.manual_seed(0)
    ia = A.IA(4, per_sample=False, gate_bias=1.5)
    h = torch.rand(4, 12, 3, 2, 2) * 0.01       # a ~ 1.5 for every sample
    g = ia.gate(h)
    alone = torch.stack([ia.gate(h[:, n:n + 1])[:, 0] for n in range(12)], 1)
    assert not torch.equal(g, alone)               # a sample's gate depends on its batch
    perm = torch.arange(11, -1, -1)
    assert not torch.equal(ia.gate(h[:, perm]), g[:, perm])
    ia.per_sample = True
    assert torch.equal(ia.gate(h[:, perm]), ia.gate(h)[:, perm])


def test_connects_and_released_gate_agree_with_spikingjelly():
    sj = pytest.importorskip("spikingjelly.activation_based.model.sew_resnet")
    from spikingjelly.activation_based import functional, neuron, surrogate

    a, b = _binary(3, 4, 5, seed=5), _binary(3, 4, 5, seed=6)
    for name, fn in (("ADD", R.add), ("AND", R.and_), ("IAND", R.iand)):
        assert torch.equal(fn(a, b), sj.sew_function(b, a, name))   # theirs: (identity, out)
    lif = neuron.LIFNode(tau=2.0, v_threshold=1.0, v_reset=0.0, detach_reset=True,
                         surrogate_function=surrogate.ATan(), step_mode="m")
    torch.manual_seed(0)
    ia = A.IA(4, per_sample=False, gate_bias=1.5)
    h = torch.rand(4, 12, 3, 2, 2)
    with torch.no_grad():
        a_ = ia.mlp(h)
        theirs = lif(a_.t().contiguous()[..., None]).squeeze(-1).t()
        functional.reset_net(lif)
        assert torch.equal(ia.gate(h), theirs)
        ia.per_sample = True
        assert torch.equal(ia.gate(h), lif(a_[..., None]).squeeze(-1))
