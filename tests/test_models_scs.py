"""Spikformer V2's spiking convolutional stem (chapter 05): shapes at CIFAR and ImageNet resolutions, the
masked (submanifold-style) convolution and BN, and the OR identity of max-pooling binary maps."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from snnlib.models.mae import pixel_mask, random_masking
from snnlib.models.scs import SCS, SpikformerV2, masked_batch_norm, upsample_mask
from snnlib.models.spikformer import SPS

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("size, patch, dim", [(32, 4, 32), (224, 16, 16)], ids=["cifar", "imagenet"])
def test_scs_shapes_at_cifar_and_imagenet_resolutions(size, patch, dim):
    torch.manual_seed(0)
    stem = SCS(3, dim, patch)
    x = torch.rand(2, 1, 3, size, size)
    fmap = stem.feature_map(x)
    assert fmap.shape == (2, 1, dim, size // patch, size // patch)
    tokens = stem(x)
    assert tokens.shape == (2, 1, (size // patch) ** 2, dim)
    assert torch.equal(tokens, fmap.flatten(3).transpose(2, 3))
    assert stem.strides == ([2, 2, 1, 1] if patch == 4 else [2, 2, 2, 2])
    assert not any(isinstance(m, nn.MaxPool2d) for m in stem.modules()), "SCS has no max-pooling"


def test_scs_stage_expands_then_restores_channels():
    stem = SCS(3, 64, 4, ratio=2.0)
    for stage, width in zip(stem.stages, (8, 16, 32, 64)):
        assert stage.down.conv.out_channels == width
        assert (stage.expand.conv.in_channels, stage.expand.conv.out_channels) == (width, 2 * width)
        assert (stage.restore.conv.in_channels, stage.restore.conv.out_channels) == (2 * width, width)
        assert stage.expand.conv.kernel_size == stage.restore.conv.kernel_size == (3, 3)


def test_scs_output_and_spikformer_v2_logits_shapes():
    torch.manual_seed(0)
    net = SpikformerV2(depth=1, dim=16, heads=2, T=3, num_classes=7, in_channels=1, patch=4)
    x = torch.rand(5, 1, 16, 16)
    assert net(x).shape == (3, 5, 7)
    assert net(x, T=1).shape == (1, 5, 7)
    assert net(x.unsqueeze(0).expand(2, *x.shape)).shape == (2, 5, 7)
    sps = SpikformerV2(depth=1, dim=16, heads=2, num_classes=7, in_channels=1, patch=4, stem="sps")
    assert isinstance(sps.stem, SPS) and sps(x).shape == (4, 5, 7)


def test_masked_bn_with_everything_visible_is_batchnorm2d():
    torch.manual_seed(0)
    x = torch.randn(6, 4, 5, 5) * 3 + 1
    ours, ref = nn.BatchNorm2d(4), nn.BatchNorm2d(4)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 2)
        ours.bias.uniform_(-1, 1)
    ref.load_state_dict(ours.state_dict())
    mask = torch.ones(6, 1, 5, 5, dtype=torch.bool)
    for _ in range(2):
        torch.testing.assert_close(masked_batch_norm(ours, x, mask), ref(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)
    assert int(ours.num_batches_tracked) == int(ref.num_batches_tracked) == 2
    ours.eval(), ref.eval()
    torch.testing.assert_close(masked_batch_norm(ours, x, mask), ref(x), rtol=1e-5, atol=1e-5)


def test_masked_bn_statistics_come_from_visible_positions_only():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 6, 6)
    mask = torch.rand(4, 1, 6, 6) > 0.5
    bn = nn.BatchNorm2d(3)
    y = masked_batch_norm(bn, x, mask)
    vis = x.transpose(0, 1)[:, mask[:, 0]]
    expected = (x - vis.mean(1).view(1, -1, 1, 1)) / (vis.var(1, unbiased=False).view(1, -1, 1, 1) + bn.eps).sqrt()
    torch.testing.assert_close(y, torch.where(mask, expected, torch.zeros(())), rtol=1e-5, atol=1e-5)
    assert torch.all(y[~mask.expand_as(y)] == 0)
    # changing the masked values changes neither the output nor the running statistics
    bn2 = nn.BatchNorm2d(3)
    x2 = torch.where(mask, x, torch.randn_like(x) * 100)
    assert torch.equal(masked_batch_norm(bn2, x2, mask), y)
    assert torch.equal(bn2.running_mean, bn.running_mean) and torch.equal(bn2.running_var, bn.running_var)


def test_masked_scs_never_reads_a_masked_pixel_bit_for_bit():
    torch.manual_seed(0)
    stem = SCS(1, 16, 4)
    x = torch.rand(2, 3, 1, 16, 16)
    visible = random_masking(3, 16, 0.75, generator=torch.Generator().manual_seed(1)).view(3, 4, 4)
    px = pixel_mask(visible.flatten(1), 4)                         # [N, 1, H, W]
    noisy = torch.where(px, x, torch.rand_like(x) * 50 - 25)
    assert not torch.equal(noisy, x)
    a, b = stem(x, visible), stem(noisy, visible)
    assert torch.equal(a, b)
    # masked tokens are exact zeros; visible ones carry spikes
    flat = visible.flatten(1)
    assert torch.all(a[:, ~flat] == 0) and a[:, flat].abs().sum() > 0
    # without the mask the same change does reach the tokens: the check above can fail
    assert not torch.equal(stem(x)[:, flat], stem(noisy)[:, flat])


def test_masked_scs_with_everything_visible_equals_the_dense_stem():
    torch.manual_seed(0)
    stem = SCS(1, 16, 4)
    x = torch.rand(2, 3, 1, 16, 16)
    torch.testing.assert_close(stem(x, torch.ones(3, 4, 4, dtype=torch.bool)), stem(x), rtol=0, atol=1e-5)


def test_upsample_mask():
    m = torch.tensor([[[True, False], [False, True]]])
    up = upsample_mask(m, 2)
    assert up.shape == (1, 4, 4) and up[0, :2, :2].all() and not up[0, :2, 2:].any()


def test_maxpool_of_binary_maps_is_a_logical_or():
    torch.manual_seed(0)
    s = (torch.rand(4, 3, 16, 16) < 0.2).float()
    pooled = nn.MaxPool2d(3, 2, 1)(s)
    windows = nn.functional.pad(s, (1, 1, 1, 1)).unfold(2, 3, 2).unfold(3, 3, 2)   # [N, C, 8, 8, 3, 3]
    assert torch.equal(pooled.bool(), windows.bool().flatten(-2).any(-1))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="patch=3"):
        SCS(3, 32, 3)
    with pytest.raises(ValueError, match="dim=12"):
        SCS(3, 12, 4)
    with pytest.raises(ValueError, match="ratio=0"):
        SCS(3, 16, 4, ratio=0)
    with pytest.raises(ValueError, match="visible"):
        SCS(1, 16, 4)(torch.rand(1, 2, 1, 16, 16), torch.ones(2, 2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="stem='sps'"):
        SpikformerV2(depth=1, dim=16, heads=2, patch=16, stem="sps")
    with pytest.raises(ValueError, match="stem="):
        SpikformerV2(depth=1, dim=16, heads=2, stem="conv")
    net = SpikformerV2(depth=1, dim=16, heads=2, patch=4, in_channels=1, stem="sps")
    with pytest.raises(ValueError, match="visible= needs stem='scs'"):
        net.forward_features(torch.rand(2, 1, 16, 16), torch.ones(2, 4, 4, dtype=torch.bool))
    net = SpikformerV2(depth=1, dim=16, heads=2, patch=4, in_channels=1)
    ragged = torch.ones(2, 4, 4, dtype=torch.bool)
    ragged[0, 0, 0] = False
    with pytest.raises(ValueError, match="same positive number"):
        net.forward_features(torch.rand(2, 1, 16, 16), ragged)
    with pytest.raises(ValueError, match="T=0"):
        net(torch.rand(2, 1, 16, 16), T=0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("stem", ["scs", "sps"])
def test_spikformer_v2_under_cpu_autocast(dtype, stem):
    torch.manual_seed(0)
    net = SpikformerV2(depth=1, dim=16, heads=2, T=2, num_classes=4, in_channels=1, patch=4, stem=stem)
    x = torch.rand(3, 1, 16, 16)
    with torch.autocast("cpu", dtype=dtype):
        y = net(x)
    assert y.shape == (2, 3, 4) and torch.isfinite(y).all()
    y.float().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_scs_with_fewer_stages_halves_the_widths_up_to_dim_and_masks_exactly():
    torch.manual_seed(0)
    stem = SCS(1, 32, 4, stages=2)
    assert stem.strides == [2, 2] and [st.down.conv.out_channels for st in stem.stages] == [16, 32]
    x = torch.rand(2, 3, 1, 16, 16)
    assert stem(x).shape == (2, 3, 16, 32)
    visible = random_masking(3, 16, 0.75, generator=torch.Generator().manual_seed(0)).view(3, 4, 4)
    hidden = ~pixel_mask(visible.flatten(1), 4)                 # [N, 1, H, W], True = masked pixel
    y = torch.where(hidden.unsqueeze(0), torch.rand_like(x), x)
    stem.train()
    a, b = stem(x, visible), stem(y, visible)
    assert torch.equal(a, b), "a masked pixel reached a visible token of the two-stage stem"
    net = SpikformerV2(depth=1, dim=32, heads=4, T=2, num_classes=10, in_channels=1, patch=4, stem_stages=2)
    assert net(torch.rand(3, 1, 16, 16)).shape == (2, 3, 10)
    with pytest.raises(ValueError, match="stages=1 cannot downsample by patch=4"):
        SCS(1, 32, 4, stages=1)
    with pytest.raises(ValueError, match="stages=5"):
        SCS(1, 32, 4, stages=5)
