"""Masked-image pre-training (chapter 05): patchify/unpatchify, seeded masking, the encoder never seeing a
masked patch (bit for bit), the loss ignoring visible patches, and the pre-train -> fine-tune hand-over."""
from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from snnlib.experiments.spikformer_v2 import handover, pretrain
from snnlib.models.mae import (MAEDecoder, SpikingMAE, masked_patch_loss, patchify, pixel_mask, random_masking,
                               sincos_position_embedding, unpatchify)
from snnlib.models.scs import SpikformerV2

pytestmark = pytest.mark.usefixtures("one_thread")


def _mae(**kw) -> SpikingMAE:
    torch.manual_seed(0)
    enc = SpikformerV2(depth=1, dim=16, heads=2, T=4, num_classes=10, in_channels=1, patch=4)
    return SpikingMAE(enc, 16, decoder_dim=16, decoder_heads=2, **kw)


def test_unpatchify_inverts_patchify_and_patchify_matches_a_loop():
    x = torch.randn(2, 3, 12, 8)
    p = patchify(x, 4)
    assert p.shape == (2, 6, 48)
    assert torch.equal(unpatchify(p, 4, 3, h=3), x)
    sq = torch.randn(2, 1, 16, 16)
    assert torch.equal(unpatchify(patchify(sq, 4), 4, 1), sq)
    for i in range(3):
        for j in range(2):
            patch = x[:, :, 4 * i:4 * i + 4, 4 * j:4 * j + 4].permute(0, 2, 3, 1).reshape(2, -1)
            assert torch.equal(p[:, 2 * i + j], patch)


def test_random_masking_is_seeded_and_keeps_the_right_count():
    a = random_masking(5, 64, 0.75, generator=torch.Generator().manual_seed(3))
    b = random_masking(5, 64, 0.75, generator=torch.Generator().manual_seed(3))
    c = random_masking(5, 64, 0.75, generator=torch.Generator().manual_seed(4))
    assert a.dtype == torch.bool and torch.equal(a, b) and not torch.equal(a, c)
    assert (a.sum(1) == 16).all()
    with pytest.raises(ValueError, match="ratio=1"):
        random_masking(1, 4, 1.0)


def test_encoder_never_sees_a_masked_patch_bit_for_bit():
    mae = _mae()
    x = torch.rand(4, 1, 16, 16)
    visible = random_masking(4, 16, 0.75, generator=torch.Generator().manual_seed(0))
    noisy = torch.where(pixel_mask(visible, 4), x, torch.rand_like(x) * 40 - 20)
    assert not torch.equal(noisy, x)
    for mode in ("train", "eval"):
        getattr(mae, mode)()
        z, z2 = mae.encode(x, visible), mae.encode(noisy, visible)
        assert z.shape == (4, 4, 16)                              # 4 visible tokens of 16 per sample
        assert torch.equal(z, z2), mode
        _, pred, _ = mae(x, visible)
        _, pred2, _ = mae(noisy, visible)
        assert torch.equal(pred, pred2), mode
    # a visible pixel does change the encoding: the identity above is not vacuous
    mae.train()
    moved = torch.where(pixel_mask(visible, 4), torch.rand_like(x) * 3, x)
    assert mae.encode(x, visible).abs().sum() > 0
    assert not torch.equal(mae.encode(moved, visible), mae.encode(x, visible))


def test_loss_ignores_the_visible_patches():
    torch.manual_seed(0)
    patches = torch.rand(3, 16, 16)
    pred = torch.randn(3, 16, 16)
    visible = random_masking(3, 16, 0.75, generator=torch.Generator().manual_seed(0))
    base = masked_patch_loss(pred, patches, visible)
    changed = pred.clone()
    changed[visible] = 1e3
    assert torch.equal(masked_patch_loss(changed, patches, visible), base)
    changed = pred.clone()
    changed[~visible] += 1.0
    assert not torch.equal(masked_patch_loss(changed, patches, visible), base)
    # the formula: per-patch normalised target, mean over pixels, mean over masked patches
    t = (patches - patches.mean(-1, keepdim=True)) / (patches.var(-1, keepdim=True) + 1e-6).sqrt()
    per = ((pred - t) ** 2).mean(-1)
    torch.testing.assert_close(base, per[~visible].mean())
    raw = masked_patch_loss(pred, patches, visible, norm_pix=False)
    torch.testing.assert_close(raw, ((pred - patches) ** 2).mean(-1)[~visible].mean())
    with pytest.raises(ValueError, match="no masked patch"):
        masked_patch_loss(pred, patches, torch.ones(3, 16, dtype=torch.bool))


def test_decoder_puts_mask_tokens_at_masked_positions():
    torch.manual_seed(0)
    dec = MAEDecoder(8, 12, (2, 2), dim=8, heads=2)
    visible = torch.tensor([[True, False, False, True]])
    tokens = torch.randn(1, 2, 8)
    out = dec(tokens, visible)
    assert out.shape == (1, 4, 12)
    with pytest.raises(ValueError, match="grid"):
        dec(tokens, torch.ones(1, 9, dtype=torch.bool))


def test_sincos_position_embedding():
    pe = sincos_position_embedding(8, 2, 3)
    assert pe.shape == (6, 8)
    assert torch.equal(pe[0, :2], torch.zeros(2)) and torch.equal(pe[0, 2:4], torch.ones(2))
    assert torch.allclose(pe[4, 0], torch.sin(torch.tensor(1.0)))        # row 1, first frequency


def test_pretrain_then_handover_keeps_the_encoder_weights_and_drops_the_decoder():
    mae = _mae()
    init = {k: v.clone() for k, v in mae.encoder.state_dict().items()}
    loader = DataLoader(TensorDataset(torch.rand(16, 1, 16, 16), torch.zeros(16, dtype=torch.long)), batch_size=8)
    out = pretrain(mae, loader, epochs=2, lr=1e-2, weight_decay=0.0, seed=0, device=torch.device("cpu"))
    assert len(out["loss"]) == 2 and all(torch.isfinite(torch.tensor(out["loss"])))
    trained = mae.encoder.state_dict()
    assert any(not torch.equal(init[k], trained[k]) for k in init), "pre-training changed no encoder weight"
    assert torch.equal(init["head.weight"], trained["head.weight"]), "the head is not pre-trained"
    net = handover(mae, T=4)
    assert isinstance(net, SpikformerV2) and net.T == 4 and mae.encoder.T == 4
    state = net.state_dict()
    assert state.keys() == trained.keys() and not any(k.startswith("decoder") for k in state)
    for k in state:
        assert torch.equal(state[k], trained[k]), k
    assert net(torch.rand(2, 1, 16, 16)).shape == (4, 2, 10)
    assert all(a.data_ptr() != b.data_ptr() for a, b in zip(net.parameters(), mae.encoder.parameters()))


def test_pretraining_is_reproducible_with_a_seed():
    losses = []
    for _ in range(2):
        mae = _mae()
        loader = DataLoader(TensorDataset(torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(1)),
                                          torch.zeros(8, dtype=torch.long)), batch_size=4)
        losses.append(pretrain(mae, loader, epochs=1, lr=1e-2, weight_decay=0.0, seed=5)["loss"])
    assert losses[0] == losses[1]


def test_reconstruct_and_errors():
    mae = _mae()
    x = torch.rand(2, 1, 16, 16)
    visible = random_masking(2, 16, 0.75, generator=torch.Generator().manual_seed(0))
    assert mae.reconstruct(x, visible).shape == x.shape
    with pytest.raises(ValueError, match="expected images"):
        mae(torch.rand(2, 1, 20, 20))
    with pytest.raises(ValueError, match="stem='scs'"):
        SpikingMAE(SpikformerV2(depth=1, dim=16, heads=2, patch=4, stem="sps"), 16)
    with pytest.raises(ValueError, match="mask_ratio"):
        SpikingMAE(SpikformerV2(depth=1, dim=16, heads=2, patch=4), 16, mask_ratio=1.0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
def test_mae_under_cpu_autocast(dtype):
    mae = _mae()
    x = torch.rand(3, 1, 16, 16)
    with torch.autocast("cpu", dtype=dtype):
        loss, pred, _ = mae(x, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in mae.parameters() if p.grad is not None)
