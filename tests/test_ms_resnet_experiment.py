"""The chapter 06 experiment (ms-degradation): a tiny ci run is seeded, its claim check reads its metrics,
and the gpu path runs end to end on CPU on tiny CIFAR-10 pickles, under autocast."""
from __future__ import annotations

import pytest
import torch

from snnlib import experiments
from snnlib.experiments import ms_resnet as E

pytestmark = pytest.mark.usefixtures("one_thread")
_settings = E.settings


def _tiny(scale):
    s = dict(_settings(scale))
    s.update(families=["vanilla", "ms"], depths=[8, 14], width=2, T=2, epochs=1, batch_size=32, seeds=2,
             stat_batch=16)
    if scale == "ci":
        s["train_size"] = 64
    return s


def test_ci_run_is_seeded_and_complete(monkeypatch, tmp_path):
    monkeypatch.setattr(E, "settings", _tiny)
    a = experiments.reproduce("ms-degradation", "ci", progress=False, out_dir=tmp_path)
    b = E.run_degradation("ci", progress=False)
    assert set(a["metrics"]) == {"vanilla-8", "vanilla-14", "ms-8", "ms-14"}
    for key, m in a["metrics"].items():
        assert m["per_seed_max_test_acc"] == b["metrics"][key]["per_seed_max_test_acc"]
        assert m["per_seed_train_loss"] == b["metrics"][key]["per_seed_train_loss"]
        assert len(m["per_seed_max_test_acc"]) == 2 and m["spikes_per_neuron"] >= 0
        assert len(m["ssim"]) == len(m["block_rates"]) - 1 == 3 * ((m["depth"] - 2) // 6) - 1
    assert a["seeds"] == [0, 1]
    assert isinstance(a["claim"]["holds"], bool) and "spikes per neuron" in a["claim"]["measured"]
    assert [r["paper_key"] for r in a["rows"]][-2:] == [None, "ms_resnet/spikes_per_neuron"]


def test_claim_check_reads_the_metrics():
    def m(family, depth, acc, spn=1.0):
        return {f"{family}-{depth}": {"family": family, "depth": depth, "max_test_acc": acc,
                                      "spikes_per_neuron": spn}}

    good = {**m("vanilla", 8, 0.9), **m("vanilla", 20, 0.5), **m("ms", 8, 0.9), **m("ms", 20, 0.92)}
    holds, text = E._check(good)
    assert holds and "by +2.0 points" in text and "by -40.0" in text
    assert not E._check({**good, **m("ms", 20, 0.85)})[0]          # MS loses 5 points
    assert not E._check({**good, **m("ms", 20, 0.92, spn=0.2)})[0]  # far from one spike per neuron
    assert E.degradation(good, "sew") is None


@pytest.mark.filterwarnings("ignore:scale 'gpu' is meant for CUDA")
def test_gpu_path_end_to_end_on_cpu_cifar10_under_autocast(monkeypatch, tmp_path):
    pytest.importorskip("torchvision")
    from test_data_real import write_cifar

    write_cifar(tmp_path / "data", 10, per_batch=8)
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(E, "settings", _tiny)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rec = experiments.reproduce("ms-degradation", "gpu", progress=False, out_dir=tmp_path)
    assert rec["dataset"] == "cifar10" and rec["comparison"] == "same dataset, shorter training"
    assert rec["config"]["width"] == 2 and _settings("gpu")["families"] == ["vanilla", "ms"]
    assert set(rec["metrics"]) == {"vanilla-8", "vanilla-14", "ms-8", "ms-14"}
    assert len(list((tmp_path / "runs").glob("ms-degradation-gpu/*/last.pt"))) == 8
    assert all(0 <= m["max_test_acc"] <= 1 for m in rec["metrics"].values())
