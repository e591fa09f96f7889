"""The chapter 07 experiment (syna-orrc): a tiny ci run is seeded and complete, its claim check reads its
metrics, the pruned SynA nets equal the unpruned ones on the test set, and the gpu path runs end to end
on CPU on tiny CIFAR-10 pickles, under autocast."""
from __future__ import annotations

import pytest
import torch

from snnlib import experiments
from snnlib.experiments import syna as E

pytestmark = pytest.mark.usefixtures("one_thread")
_settings = E.settings


def _tiny(scale):
    s = dict(_settings(scale))
    s.update(depth=8, width=2, T=4, epochs=1, batch_size=32, seeds=2)
    if scale == "ci":
        s["train_size"] = 64
    return s


def test_ci_run_is_seeded_and_complete(monkeypatch, tmp_path):
    monkeypatch.setattr(E, "settings", _tiny)
    a = experiments.reproduce("syna-orrc", "ci", progress=False, out_dir=tmp_path)
    b = E.run_syna("ci", progress=False)
    assert set(a["metrics"]) == set(E.NETS)
    for key, m in a["metrics"].items():
        assert m["per_seed_max_test_acc"] == b["metrics"][key]["per_seed_max_test_acc"]
        assert len(m["per_seed_max_test_acc"]) == 2 and m["spikes_per_neuron"] >= 0
        assert m["energy_pj_mac"] >= m["energy_pj_ac"] > 0 and m["ann_pj_ac"] == m["ann_pj_mac"]
    for key in ("syna", "syna-open"):
        m = a["metrics"][key]
        assert m["pruned_equal"] and m["pruned_acc_change"] == 0 and m["branches"] == 3
        assert len(m["gate_history"]) == 2 and len(m["gate_history"][0]) == 1 + 1   # before epoch 1, end
        assert all(len(v) == 4 for v in m["gate_history"][0][-1].values())          # one rate per step
    assert a["metrics"]["or"]["nonbinary_conv_macs_mac"] == 0
    assert a["seeds"] == [0, 1] and isinstance(a["claim"]["holds"], bool)
    assert [r["paper_key"] for r in a["rows"]][-2:] == ["syna/spikes_per_neuron", "syna/energy_reduction"]


def test_claim_check_reads_the_metrics():
    def m(acc, nb=0.0, frac=None, equal=True):
        d = {"max_test_acc": acc, "nonbinary_conv_macs_mac": nb}
        if frac is not None:
            d.update(pruned_fraction=frac, pruned_equal=equal)
        return d

    good = {"add": m(0.90, nb=1e4), "or": m(0.89), "syna": m(0.88, frac=0.5)}
    holds, text = E._check(good)
    assert holds and "OR 89.0% against ADD 90.0%" in text and "prunes 50%" in text
    assert not E._check({**good, "or": m(0.80)})[0]                       # OR far below ADD
    assert not E._check({**good, "or": m(0.89, nb=5.0)})[0]               # OR not spike-driven
    assert not E._check({**good, "syna": m(0.88, frac=0.0)})[0]           # nothing pruned
    assert not E._check({**good, "syna": m(0.88, frac=0.5, equal=False)})[0]
    assert not E._check({**good, "syna": m(0.70, frac=0.5)})[0]           # SynA far below OR


def test_batch_axis_gate_breaks_permutation_equivariance():
    torch.manual_seed(0)
    model = E.SynAResNet(8, 4, in_channels=1, T=4, gate_bias=1.5)
    for bn in model.modules():
        if isinstance(bn, torch.nn.BatchNorm2d):
            bn.momentum = None
    x = torch.rand(16, 1, 8, 8) * 2
    with torch.no_grad():
        model(x)
    d = E.batch_axis_difference(model, x)
    assert d["perm_deviation_per_sample"] < 1e-5 < d["perm_deviation_batch_axis"]
    assert d["gates_differ"] > 0
    assert all(m.per_sample for m in model.modules() if isinstance(m, E.IA))   # restored


@pytest.mark.filterwarnings("ignore:scale 'gpu' is meant for CUDA")
def test_gpu_path_end_to_end_on_cpu_cifar10_under_autocast(monkeypatch, tmp_path):
    pytest.importorskip("torchvision")
    from test_data_real import write_cifar

    write_cifar(tmp_path / "data", 10, per_batch=8)
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))

    def tiny_gpu(scale):
        s = _tiny(scale)
        s["seeds"] = 1
        return s

    monkeypatch.setattr(E, "settings", tiny_gpu)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rec = experiments.reproduce("syna-orrc", "gpu", progress=False, out_dir=tmp_path)
    assert rec["dataset"] == "cifar10" and rec["comparison"] == "same dataset, shorter training"
    assert rec["config"]["width"] == 2 and _settings("gpu")["lr"] == 1e-3 and _settings("gpu")["loss"] == "mse"
    assert set(rec["metrics"]) == set(E.NETS)
    assert len(list((tmp_path / "runs").glob("syna-orrc-gpu/*/last.pt"))) == len(E.NETS)
    assert all(0 <= m["max_test_acc"] <= 1 for m in rec["metrics"].values())
    assert rec["metrics"]["syna"]["pruned_equal"]
