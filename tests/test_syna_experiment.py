"""The chapter 07 experiment (syna-orrc): a tiny ci run is seeded and complete, its
claims are the one rule's with the registered margin, the pruned SynA nets equal the unpruned ones on the
test set, the gate masks are counted, and the gpu path runs end to end on CPU on tiny CIFAR-10 pickles,
under autocast."""
from __future__ import annotations

import pytest
import torch

from snnlib import experiments, records
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
        assert m["per_seed_selected_test_acc"] == b["metrics"][key]["per_seed_selected_test_acc"]
        assert len(m["per_seed_selected_test_acc"]) == 2 and m["spikes_per_neuron"] >= 0
        assert m["selected_epochs"] == [1, 1]
        assert m["energy_pj_mac"] >= m["energy_pj_ac"] > 0 and m["ann_pj_ac"] == m["ann_pj_mac"]
    for key in ("syna", "syna-open"):
        m = a["metrics"][key]
        assert m["pruned_equal"] and m["pruned_acc_change"] == 0 and m["branches"] == 3
        assert len(m["gate_history"]) == 2 and len(m["gate_history"][0]) == 1 + 1   # before epoch 1, end
        assert all(len(v) == 4 for v in m["gate_history"][0][-1].values())          # one rate per step
        assert len(m["masks"]) == 2 and all(len(v) == 4 for v in m["masks"][0].values())
    # bias 4 opens every gate at every step before training, on every seed
    assert all(r == 1.0 for h in a["metrics"]["syna-open"]["gate_history"] for v in h[0].values() for r in v)
    assert a["metrics"]["or"]["nonbinary_conv_macs_mac"] == 0
    assert a["seeds"] == [0, 1] and "claim" not in a
    rows = {r["label"]: r for r in a["rows"]}
    for c in a["claims"]:
        assert c["verdict"] == records.rejudge(c, rows)
    acc = [r for r in a["rows"] if r["unit"] == "%"]
    assert len(acc) == len(E.NETS) and all(r["chance"] == pytest.approx(10.0) for r in acc)
    assert all(r["selected_on"].startswith("validation") for r in acc)
    keys = [r["paper_key"] for r in a["rows"] if r["paper_key"]]
    assert keys == ["syna/spikes_per_neuron", "syna/energy_reduction"]
    assert any("open at initialisation" in c["statement"] and "pruning" in c["statement"].lower()
               for c in a["claims"])
    assert a["caveats"]


def test_mask_statistics_counts_fixed_and_input_dependent_steps():
    st = E.mask_statistics({"a": [1.0, 0.0, 1.0, 0.0], "b": [1.0, 0.5, 0.0, 0.0]})
    assert st["input_dependent"] == pytest.approx(1 / 8) and st["silent_steps"] == pytest.approx(4 / 8)
    assert st["open_steps"] == pytest.approx(3 / 8)
    assert st["masks"] == {"a": [1, 0, 1, 0], "b": [1, None, 0, 0]}
    with pytest.raises(ValueError, match="no gate rates"):
        E.mask_statistics({})


def test_the_claims_use_the_registered_margin_and_the_one_rule():
    from snnlib import registry
    from snnlib.records import Row

    m = registry.margin("syna/keeps_accuracy")
    seeds = [0, 1, 2, 3, 4]
    acc = lambda k, v: {"per_seed_selected_test_acc": v}  # noqa: E731,ARG005
    metrics = {k: {**acc(k, [0.9, 0.91, 0.92, 0.9, 0.9]), "per_seed_nonbinary_conv_macs_mac": [5.0] * 5}
               for k in ("add", "or")}
    metrics["or"]["per_seed_nonbinary_conv_macs_mac"] = [0.0] * 5
    s = {"nets": ["add", "or"], "T": 4}
    rows, claims = E._rows_and_claims(s, seeds, metrics, 10.0)
    close, driven = claims
    assert close.margin == m.value and close.margin_reason == m.reason and close.verdict == "holds"
    assert driven.verdict == "holds" and isinstance(rows[0], Row)


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
    assert all(0 <= m["selected_test_acc"] <= 1 for m in rec["metrics"].values())
    assert rec["metrics"]["syna"]["pruned_equal"]


def test_the_released_forward_evaluates_each_or_twice_with_stateful_neurons():
    pytest.importorskip("spikingjelly")
    torch.manual_seed(0)
    d = E.released_double_or(torch.rand(4, 8, 2, 6, 6), seed=0)
    a1, b1, a2, b2 = d["a1b1a2b2"]
    # Python's order: block, sample for the sum, then block, sample again for the product
    assert torch.equal(d["released"], a1 + b1 - a2 * b2)
    assert torch.equal(d["once"], a1 + b1 - a1 * b1)                 # a reset network's first call is A1, B1
    assert d["second_call_differs"] > 0                               # the membranes were kept between calls
    assert d["nonbinary"] > 0 and set(d["released"].unique().tolist()) <= {-1.0, 0.0, 1.0, 2.0}


def test_the_energy_counts_mas_element_wise_products():
    from snnlib import energy
    from snnlib.models.attention import MA, SynAResNet

    torch.manual_seed(0)
    net = SynAResNet(8, 4, in_channels=1, T=2)
    x = torch.rand(3, 1, 8, 8)
    e = E.syna_energy(net, x)
    sizes = []
    hooks = [m.register_forward_hook(lambda m, i, o: sizes.append(i[0].numel())) for m in net.modules()
             if isinstance(m, MA)]
    with torch.no_grad():
        net.eval()(x[:1])
    for h in hooks:
        h.remove()
    assert sizes and e["ma_products"] == sum(sizes)          # one product per element and step, one sample
    without = energy.energy_report(net, x, T=2).energy_pj
    assert e["energy_pj"] > without + energy.E_MULT_PJ * e["ma_products"] - 1e-6
