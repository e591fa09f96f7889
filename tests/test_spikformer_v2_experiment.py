"""The spikformer-v2 experiment (chapter 05): label subsets, the equal-size SPS width, the claim check, a
tiny ci run through reproduce, and the gpu path end to end on synthetic CIFAR-10 under autocast."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from snnlib import experiments, registry
from snnlib.data import digits_images
from snnlib.experiments import spikformer_v2 as v2

SETTINGS = v2.settings
pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny(scale: str) -> dict:
    s = dict(SETTINGS(scale))
    s.update(depth=1, dim=16, heads=2, decoder_dim=16, decoder_heads=2, pretrain_epochs=1, finetune_epochs=2,
             seeds=2 if scale == "ci" else 1, pretrain_batch_size=64, batch_size=32)
    if scale == "ci":
        s["label_fraction"] = 0.05
    return s


def test_label_subset_is_stratified_and_seeded():
    train, _ = digits_images(16)
    a = v2.label_subset(train, 0.1, 0)
    b = v2.label_subset(train, 0.1, 0)
    c = v2.label_subset(train, 0.1, 1)
    assert a.indices == b.indices and a.indices != c.indices
    y = train.y[a.indices]
    counts = torch.bincount(train.y, minlength=10)
    assert torch.equal(torch.bincount(y, minlength=10), torch.ceil(0.1 * counts).long())
    with pytest.raises(ValueError, match="fraction=0"):
        v2.label_subset(train, 0.0, 0)


def test_matched_sps_dim_is_the_closest_width():
    s = v2.settings("ci")
    dim, n_sps, n_scs = v2.matched_sps_dim(s, 1, 10)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n_scs == count(v2.build_encoder(s, 1, 10))
    assert n_sps == count(v2.build_encoder(s, 1, 10, stem="sps", dim=dim))
    for other in (dim - 8, dim + 8):
        assert abs(count(v2.build_encoder(s, 1, 10, stem="sps", dim=other)) - n_scs) >= abs(n_sps - n_scs)
    assert abs(n_sps - n_scs) / n_scs < 0.15


def test_epochs_to():
    assert v2.epochs_to([0.1, 0.5, 0.7], 0.5) == 2 and v2.epochs_to([0.1], 0.5) is None


def test_ci_run_through_reproduce(monkeypatch, tmp_path):
    monkeypatch.setattr(v2, "settings", _tiny)
    rec = experiments.reproduce("spikformer-v2", "ci", progress=False, out_dir=tmp_path)
    m = rec["metrics"]
    assert set(v2.RUNS) <= set(m) and rec["seeds"] == [0, 1]
    for run in v2.RUNS:
        assert len(m[run]["per_seed_max_test_acc"]) == 2 and m[run]["epochs"] == 2
        assert abs(m[run]["max_test_acc"] - sum(m[run]["per_seed_max_test_acc"]) / 2) < 1e-12
    assert len(m["pretrained"]["pretrain_loss"]) == 1
    assert m["sizes"]["sps_dim"] != m["sizes"]["scs_dim"]
    assert [r["paper_key"] for r in rec["rows"]] == ["spikformer_v2/imagenet/172m_ssl",
                                                     "spikformer_v2/imagenet/8layer", None]
    from snnlib import records

    rows = {r["label"]: r for r in rec["rows"]}
    assert [c["a"] for c in rec["claims"]] == [v2.LABELS["pretrained"], v2.LABELS["scratch"]]
    for c in rec["claims"]:
        assert c["verdict"] == records.rejudge(c, rows) and len(c["diffs"]) == 2
    assert all(r["chance"] == 10.0 and r["selected_on"].startswith("last epoch") for r in rec["rows"])
    assert (tmp_path / "spikformer-v2-ci.json").is_file()
    assert set(v2.LAST_NETWORKS) == {"mae", "pretrained", "scratch", "sps"}       # the chapter's demos
    assert v2.LAST_NETWORKS["pretrained"].T == 4 and v2.LAST_NETWORKS["mae"].pretrain_T == 1


def test_registry_marks_the_imagenet_figures_not_comparable():
    for key, value in (("spikformer_v2/imagenet/8layer", 80.38), ("spikformer_v2/imagenet/172m_ssl", 81.10)):
        n = registry.get(key)
        assert n.value == value and n.status == "verified" and "not comparable" in n.note


@pytest.mark.filterwarnings("ignore:scale 'gpu' is meant for CUDA")
def test_gpu_path_end_to_end_on_synthetic_cifar_under_autocast(monkeypatch, tmp_path):
    pytest.importorskip("torchvision")
    sys.path.insert(0, str(Path(__file__).parent))
    from test_data_real import write_cifar

    write_cifar(tmp_path / "data", 10, per_batch=8)
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(v2, "settings", _tiny)
    assert _tiny("gpu")["dataset"] == "cifar10" and _tiny("gpu")["budget"] == "time"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rec = experiments.reproduce("spikformer-v2", "gpu", progress=False, out_dir=tmp_path)
    assert rec["dataset"] == "cifar10" and rec["comparison"] == "same dataset, shorter training"
    assert rec["device_matches_scale"] is False
    m = rec["metrics"]
    assert "sps" not in m and m["unlabelled"] == 40 and m["labelled"] >= 10
    assert m["scratch"]["epochs"] >= 1
    runs = tmp_path / "runs" / "spikformer-v2-cifar10-gpu"
    assert (runs / "pretrain-seed0.pt").is_file() and (runs / "budget-seed0.json").is_file()
    assert len(list(runs.glob("*/last.pt"))) == 2
    # a second run resumes: no pre-training, the same budget, the same numbers
    again = experiments.reproduce("spikformer-v2", "gpu", progress=False, out_dir=tmp_path)
    for run in ("pretrained", "scratch"):
        assert again["metrics"][run]["per_seed_max_test_acc"] == m[run]["per_seed_max_test_acc"]


def test_ci_runs_on_one_thread_and_restores_the_count(monkeypatch):
    seen = []

    def fake_seed(scale, s, seed, progress):
        seen.append(torch.get_num_threads())
        raise RuntimeError("stop")

    monkeypatch.setattr(v2, "_one_seed", fake_seed)
    torch.set_num_threads(2)
    with pytest.raises(RuntimeError, match="stop"):
        v2.run_v2("ci")
    assert seen == [1] and torch.get_num_threads() == 2
