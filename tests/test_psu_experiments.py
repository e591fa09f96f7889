"""Chapter 02's experiments: psu-neurons (ci: MNIST-1D; gpu: sequential CIFAR-10 with chapter 01's network)
and psu-shd (gpu: SHD through tonic), run end to end on tiny settings, the gpu paths on CPU on tiny files in
the real formats; the claim checks."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from snnlib import experiments, registry, results
from snnlib.experiments import psn as psn_exp
from snnlib.experiments import psu
from snnlib.neurons.psu import PSUWithoutReset
from snnlib.neurons import IPSU, LIF, PSN, PSU, RPSU, apply_a, psu_matrices
from snnlib.records import Row, rejudge

sys.path.insert(0, str(Path(__file__).parent))


def _tiny(scale, experiment="psu-neurons"):
    if experiment == "psu-shd":
        return None if scale == "ci" else {"dataset": "shd", "T": 15, "v_threshold": 0.3, "hidden": 8,
                                           "batch_size": 4, "optimizer": "adamw", "lr": 1e-3, "seeds": 1,
                                           "epochs": 1}
    if scale == "ci":
        return {"dataset": "mnist1d", "T": 40, "v_threshold": 1.0, "hidden": 8, "layers": 1, "epochs": 1,
                "batch_size": 256, "optimizer": "sgd", "lr": 0.1, "seeds": 2, "threads": 1}
    return {"dataset": "scifar10", "T": 32, "v_threshold": 0.5, "channels": 8, "batch_size": 4, "optimizer": "sgd",
            "lr": 0.1, "seeds": 1, "epochs": 1}


def test_registered_with_their_datasets_and_paper_keys():
    assert {"psu-neurons", "psu-shd"} <= set(experiments.names())
    e = experiments.get("psu-neurons")
    assert e.chapter == "psu" and e.datasets == {"ci": "mnist1d", "gpu": "scifar10", "full": "scifar10"}
    shd = experiments.get("psu-shd")
    assert e.caveats and shd.caveats
    assert registry.get("psu/shd/rpsu").status == "secondary"
    assert psu.settings("ci")["dataset"] == "mnist1d" and psu.settings("ci")["T"] == 40
    assert psu.settings("ci")["v_threshold"] == 0.5 and psu.settings("ci")["seeds"] == 5
    assert registry.margin("psu/close-to-psn").value == 5.0
    assert psu.settings("gpu")["v_threshold"] == 0.5 and psu.settings("gpu")["T"] == 32
    assert psu.settings("gpu", "psu-shd")["T"] == 15 and psu.settings("gpu", "psu-shd")["v_threshold"] == 0.3


def test_psu_shd_at_ci_is_a_clear_error():
    with pytest.raises(ValueError, match="psu-shd runs at gpu and full scale only.*psu-neurons"):
        experiments.reproduce("psu-shd", "ci", progress=False, write=False)


@pytest.mark.parametrize("kind, cls", [("lif", LIF), ("psn", PSN), ("psu", PSU), ("ipsu", IPSU), ("rpsu", RPSU),
                                       ("psu_noreset", PSUWithoutReset)])
def test_chapter_01_networks_get_the_neuron_of_the_run(kind, cls):
    net = psu.with_neuron(psn_exp.scifar_net("lif", 10, channels=8, T=32), kind, 32, 0.5)
    neurons = [m for m in net.modules() if isinstance(m, (LIF, PSN, PSU, IPSU, RPSU))]
    assert len(neurons) == 7 and all(type(m) is cls for m in neurons)
    assert all(m.v_threshold == 0.5 for m in neurons if hasattr(m, "v_threshold"))
    out = net(torch.randn(32, 2, 3, 32))
    assert out.shape == (32, 2, 10)
    out.mean().backward()
    seq = psu.with_neuron(psn_exp.sequence_net("lif", 40, 1, 10, hidden=8, layers=2), kind, 40, 1.0)
    assert seq(torch.randn(40, 3, 1)).shape == (40, 3, 10)
    with pytest.raises(ValueError, match="has no LIF layer"):
        psu.with_neuron(torch.nn.Linear(2, 2), kind, 4, 1.0)


def test_shd_network_is_the_official_fc_snn():
    net = psu.shd_net("rpsu", 15, 0.3)
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(700, 128), (128, 128), (128, 128), (128, 20)]
    assert sum(isinstance(m, RPSU) for m in net.modules()) == 3
    assert net(torch.randn(15, 2, 700)).shape == (15, 2, 20)


def test_the_psu_without_reset_is_the_psu_minus_its_reset_term():
    x = torch.randn(9, 3, 4, dtype=torch.float64)
    for method in ("scan", "dense"):
        full, off = PSU(tau=2.0, v_threshold=0.5, method=method), PSUWithoutReset(tau=2.0, v_threshold=0.5,
                                                                                   method=method)
        a = apply_a(x, 2.0)
        assert torch.allclose(off.charge(x), a, atol=1e-12)
        _, B = psu_matrices(9, 2.0, torch.float64)
        assert torch.allclose(full.charge(x) - off.charge(x),
                              0.5 * (B @ torch.sigmoid(a).flatten(1)).view(x.shape), atol=1e-12)
        assert torch.equal(off(x), (a >= 0.5).to(x.dtype))


def _rows(acc, rate, seeds=(0, 1, 2, 3, 4)):
    rows = {}
    for k in psu.KINDS:
        rows[k] = Row(psu.LABELS[k], "acc", "%", acc[k], seeds, chance=10.0)
        rows["rate/" + k] = Row(psu.rate_label(k), "rate", psu.RATE_UNIT, rate[k], seeds)
    return rows


def test_claims_are_the_one_rule_with_the_registered_margin():
    acc = {"lif": [40, 41, 39, 40, 42], "psn": [50, 51, 49, 50, 52], "psu": [48, 50, 47, 49, 51],
           "ipsu": [35, 36, 34, 35, 37], "rpsu": [44, 47, 43, 48, 45], "psu_noreset": [48, 51, 46, 50, 50]}
    rate = {k: [0.10, 0.11, 0.09, 0.10, 0.12] for k in psu.KINDS}
    rate["psn"] = [0.2, 0.21, 0.19, 0.2, 0.22]
    rate["psu_noreset"] = [0.3, 0.31, 0.29, 0.3, 0.32]
    claims = psu._claims(_rows(acc, rate))
    by = {c.statement: c for c in claims}
    close = {k: by[f"{psu.LABELS[k]} reaches accuracy close to PSN's (within ±5 points)"] for k in psu.FAMILY}
    assert close["psu"].verdict == "holds" and close["ipsu"].verdict == "fails"
    assert close["psu"].margin == 5.0 and "close" in close["psu"].margin_reason
    assert by["PSU fires less than PSN"].verdict == "holds"
    assert by["The PSU's reset term lowers its firing rate (PSU against the PSU without reset)"].verdict == "holds"
    assert by["The PSU's reset term raises its accuracy (PSU against the PSU without reset)"].verdict == "inconclusive"
    assert by["PSN is more accurate than LIF"].verdict == "holds"
    rows = {r.label: r.to_dict() for r in _rows(acc, rate).values()}
    for c in claims:
        assert rejudge(c.to_dict(), rows) == c.verdict
    # rows at chance decide nothing
    low = {k: [11, 12, 10, 11, 12] for k in psu.KINDS}
    assert all(c.verdict == "untestable at this scale" for c in psu._claims(_rows(low, rate))
               if c.unit == "%")


def test_ci_path_end_to_end_on_tiny_settings(monkeypatch, tmp_path):
    monkeypatch.setattr(psu, "settings", _tiny)
    threads = torch.get_num_threads()
    rec = experiments.reproduce("psu-neurons", "ci", progress=False, out_dir=tmp_path)
    assert torch.get_num_threads() == threads and rec["config"]["threads"] == 1
    assert rec["dataset"] == "mnist1d" and rec["seeds"] == [0, 1] and "claim" not in rec
    assert set(rec["metrics"]) == {*psu.KINDS, "reset_ablation"}
    for kind in psu.KINDS:
        m = rec["metrics"][kind]
        per = m["per_seed_test_acc"]
        assert m["seeds"] == 2 and m["test_acc"] == pytest.approx(sum(per) / 2)
        assert m["test_acc_std"] == pytest.approx(abs(per[0] - per[1]) / 2 ** 0.5)
        assert m["selected_epochs"] == [1, 1] and len(m["val_curve"]) == 1
        assert 0.0 <= m["firing_rate"] <= 1.0 and m["wall_s_per_run"] > 0 and len(m["per_seed_wall_s"]) == 2
    labels = [r["label"] for r in rec["rows"]]
    assert labels[:6] == ["LIF", "PSN", "PSU", "IPSU", "RPSU", "PSU without reset"]
    assert labels[6:] == [psu.rate_label(k) for k in psu.KINDS]
    assert all(r["paper_key"] is None and r["n"] == 2 and r["selected_on"] == "validation (epoch)"
               for r in rec["rows"])
    assert all(r["chance"] == 10.0 for r in rec["rows"][:6]) and all(r["chance"] is None for r in rec["rows"][6:])
    rows = {r["label"]: r for r in rec["rows"]}
    assert len(rec["claims"]) == 11
    for c in rec["claims"]:
        assert rejudge(c, rows) == c["verdict"]
    abl = rec["metrics"]["reset_ablation"]
    assert abl["accuracy_points"] == pytest.approx([a - b for a, b in zip(rows["PSU"]["per_seed"],
                                                                         rows["PSU without reset"]["per_seed"])])
    assert (tmp_path / "psu-neurons-ci.json").is_file()
    table = psu.summary_table(rec)
    assert [r[0] for r in table.rows] == [psu.LABELS[k] for k in psu.KINDS] and "<table>" in table._repr_html_()
    assert table.rows[2][1].startswith(f"{100 * rec['metrics']['psu']['test_acc']:.2f} ± ")
    assert table.rows[0][3] == "10%"
    assert results.record_table(rec).rows[0][2] == ", ".join(f"{100 * a:.2f}" for a in
                                                             rec["metrics"]["lif"]["per_seed_test_acc"])
    again = experiments.reproduce("psu-neurons", "ci", progress=False, write=False)    # same seed, same numbers
    for kind in psu.KINDS:
        for key in ("per_seed_test_acc", "per_seed_firing_rate", "curve", "val_curve"):
            assert again["metrics"][kind][key] == rec["metrics"][kind][key], (kind, key)


@pytest.mark.filterwarnings("ignore:scale 'gpu' is meant for CUDA")
def test_gpu_path_end_to_end_on_cpu_sequential_cifar(monkeypatch, tmp_path):
    pytest.importorskip("torchvision")
    from test_data_real import write_cifar

    write_cifar(tmp_path / "data", 10, per_batch=4)
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(psu, "settings", _tiny)
    rec = experiments.reproduce("psu-neurons", "gpu", progress=False, out_dir=tmp_path)
    assert rec["dataset"] == "scifar10" and rec["comparison"] == "same dataset, shorter training"
    assert set(rec["metrics"]) == {*psu.KINDS, "reset_ablation"} and rec["claims"]
    assert len(list((tmp_path / "runs").glob("psu-neurons-scifar10-gpu/*/last.pt"))) == len(psu.KINDS)


@pytest.mark.filterwarnings("ignore:scale 'gpu' is meant for CUDA")
def test_gpu_path_end_to_end_on_cpu_shd_through_tonic(monkeypatch, tmp_path):
    pytest.importorskip("tonic")
    pytest.importorskip("h5py")
    from test_data_real import write_shd

    write_shd(tmp_path / "data", "train", n=24)   # labels i % 20: four classes with two samples, for validation
    write_shd(tmp_path / "data", "test", n=4, seed=1)
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(psu, "settings", _tiny)
    rec = experiments.reproduce("psu-shd", "gpu", progress=False, out_dir=tmp_path)
    assert rec["dataset"] == "shd" and rec["config"]["T"] == 15
    assert [r["paper_key"] for r in rec["rows"]][:6] == [None, None, None, None, "psu/shd/rpsu", None]
    assert all(r["chance"] == 5.0 for r in rec["rows"][:6])
    row = [r for r in results.comparison_rows([rec]) if r["what"] == "RPSU"][0]
    assert row["paper"] == "92.49% (secondary)" and row["paper_dataset"] == "SHD"
