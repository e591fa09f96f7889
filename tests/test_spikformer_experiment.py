"""The spikformer-attention experiment (chapter 04): tiny ci runs, determinism, the gpu path on CPU."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from snnlib import experiments, registry
from snnlib.experiments import spikformer as sx

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny(scale):
    common = {"depth": 1, "dim": 16, "heads": 2, "T": 2, "epochs": 1, "lr": 5e-3, "weight_decay": 0.0,
              "seeds": 2 if scale == "ci" else 1, "val_fraction": 0.2}
    if scale == "ci":
        return {"dataset": "digits-images", "size": 16, "batch_size": 128, "energy_batch": 32, **common}
    return {"dataset": "cifar100", "batch_size": 4, "energy_batch": 4, **common}


def _no_time(m):
    return {a: {k: v for k, v in d.items() if k != "wall_s"} for a, d in m.items()}


def test_ci_run_has_three_variants_rows_claims_and_is_deterministic(monkeypatch, tmp_path):
    from snnlib.records import rejudge

    monkeypatch.setattr(sx, "settings", _tiny)
    rec = experiments.reproduce("spikformer-attention", "ci", progress=False, out_dir=tmp_path)
    assert set(rec["metrics"]) == set(sx.ATTENTIONS) == {"ssa", "vsa", "none"}
    for a, m in rec["metrics"].items():
        assert m["seeds"] == 2 and len(m["per_seed_selected_test_acc"]) == 2
        assert m["selected_test_acc"] == pytest.approx(sum(m["per_seed_selected_test_acc"]) / 2)
        assert all(1 <= e <= 1 for e in m["selected_epochs"])
        assert m["network_energy_uj"] > 0 and m["attention_energy_uj"] >= 0   # a silent SSA adds nothing
    # SSA's attention product is additions only; VSA's is multiply-accumulates with a softmax; none has none
    assert rec["metrics"]["ssa"]["attention_ops"]["A_SSA"]["mults"] == 0
    assert "A_SSA" not in rec["metrics"]["vsa"]["attention_ops"]
    assert rec["metrics"]["vsa"]["attention_ops"]["A_softmax"]["mults"] > 0
    assert rec["metrics"]["none"]["attention_energy_uj"] == 0
    rows = {r["label"]: r for r in rec["rows"]}
    acc = [r for r in rec["rows"] if r["unit"] == "%"]
    assert len(acc) == 3 and all(r["chance"] == pytest.approx(10.0) and r["selected_on"].startswith("validation")
                                 for r in acc)
    assert all(r["seeds"] == rec["seeds"] == [0, 1] for r in rec["rows"])
    for row in rec["rows"]:
        if row["paper_key"]:
            registry.get(row["paper_key"])
    assert len(rec["claims"]) == 4
    match = rec["claims"][0]
    assert match["direction"] == "equivalent" and match["margin"] == registry.margin(sx.MATCH_MARGIN).value
    for c in rec["claims"]:
        assert c["verdict"] == rejudge(c, rows)
    again = experiments.reproduce("spikformer-attention", "ci", progress=False, out_dir=tmp_path)
    assert _no_time(again["metrics"]) == _no_time(rec["metrics"])


def test_the_attention_removed_block_is_the_mlp_alone():
    from snnlib.models.spikformer import Spikformer, SpikformerBlock

    torch.manual_seed(0)
    block = SpikformerBlock(16, 2, attention="none")
    assert block.attn is None
    x = (torch.rand(2, 3, 4, 16) < 0.3).float()
    assert torch.equal(block(x), x + block.mlp(x))
    net = Spikformer(depth=1, dim=16, heads=2, T=2, in_channels=1, attention="none")
    assert net.ssa_layers() == [] and net(torch.rand(2, 1, 16, 16)).shape == (2, 2, 10)
    with pytest.raises(ValueError, match="attention='linear'"):
        Spikformer(depth=1, dim=16, heads=2, attention="linear")


def test_the_match_claim_is_an_equivalence_with_the_registered_margin():
    from snnlib.records import Row, judge

    m = registry.margin(sx.MATCH_MARGIN)
    assert m.unit == "%" and m.reason
    seeds = [0, 1, 2, 3, 4]
    ssa = Row("ssa", "acc", "%", [80.0, 81.0, 79.5, 80.5, 80.2], seeds, chance=10.0)
    close = Row("vsa", "acc", "%", [80.5, 80.6, 80.0, 80.9, 80.1], seeds, chance=10.0)
    far = Row("vsa", "acc", "%", [90.0, 91.0, 89.0, 90.5, 90.4], seeds, chance=10.0)
    assert judge("match", ssa, close, direction="equivalent", margin=m.value, margin_reason=m.reason).verdict == "holds"
    assert judge("match", ssa, far, direction="equivalent", margin=m.value, margin_reason=m.reason).verdict == "fails"


def test_the_energy_counts_vsas_projection_as_macs():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 16, 16)
    s = sx.build_model("ssa", "ci", 1, 10)
    v = sx.build_model("vsa", "ci", 1, 10)
    es, ev = sx.attention_energy(s, x), sx.attention_energy(v, x)
    assert es["encoding_macs"] < ev["encoding_macs"]          # VSA's proj input is real: MACs
    assert ev["attention"]["A_softmax"]["energy_pj"] > es["attention"]["A_SSA"]["energy_pj"]


@pytest.mark.filterwarnings("ignore:scale 'gpu' is meant for CUDA")
def test_gpu_path_on_tiny_cifar_files_and_under_autocast(monkeypatch, tmp_path):
    pytest.importorskip("torchvision")
    sys.path.insert(0, str(Path(__file__).parent))
    from test_data_real import write_cifar

    write_cifar(tmp_path / "data", 100, per_batch=20)   # CIFAR-100 has one training file
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(sx, "settings", _tiny)
    rec = experiments.reproduce("spikformer-attention", "gpu", progress=False, out_dir=tmp_path)
    assert rec["dataset"] == "cifar100" and rec["comparison"] == "same dataset, shorter training"
    assert len(list((tmp_path / "runs").glob("spikformer-cifar100-gpu/*/last.pt"))) == 3
    model = sx.build_model("ssa", "gpu", 3, 10)
    x = torch.rand(2, 3, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    out.float().mean().backward()
    assert torch.isfinite(out.float()).all()


def test_unknown_attention_is_named():
    with pytest.raises(ValueError, match="attention='linear'"):
        sx.build_model("linear", "ci", 1, 10)


def test_the_residual_sums_feed_integers_and_both_energy_conventions_are_given():
    torch.manual_seed(0)
    x = torch.rand(8, 1, 16, 16)
    s = sx.build_model("ssa", "ci", 1, 10)
    for m in s.modules():                     # a network that fires (untrained, it is silent after the stem)
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.weight.data.fill_(3.0)
    with torch.no_grad():
        for _ in range(20):                   # BN statistics of this input
            s.train()(x)
    e = sx.attention_energy(s, x)
    assert 0 < e["nonbinary_share"] < 1 and max(e["nonbinary_layers"].values()) > 0
    # a MAC costs more than an AC: counting the integers as MACs raises the energy, by the integers' share
    assert e["network_energy_mac_uj"] > e["network_energy_uj"]
    # the block's Q, K, V and first MLP layer read the residual sums; the stem's convolutions read spikes
    layers = e["nonbinary_layers"]
    assert layers["blocks.0.attn.q.linear"] > 0 and layers["blocks.0.mlp.fc1.linear"] > 0, layers
    assert layers["sps.stages.1.conv"] == 0, layers
