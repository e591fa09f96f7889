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
from snnlib.neurons import IPSU, LIF, PSN, PSU, RPSU

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
    assert shd.claim.paper_keys == ("psu/shd/rpsu",) and registry.get("psu/shd/rpsu").status == "secondary"
    assert psu.settings("ci")["dataset"] == "mnist1d" and psu.settings("ci")["T"] == 40
    assert psu.settings("gpu")["v_threshold"] == 0.5 and psu.settings("gpu")["T"] == 32
    assert psu.settings("gpu", "psu-shd")["T"] == 15 and psu.settings("gpu", "psu-shd")["v_threshold"] == 0.3


def test_psu_shd_at_ci_is_a_clear_error():
    with pytest.raises(ValueError, match="psu-shd runs at gpu and full scale only.*psu-neurons"):
        experiments.reproduce("psu-shd", "ci", progress=False, write=False)


@pytest.mark.parametrize("kind, cls", [("lif", LIF), ("psn", PSN), ("psu", PSU), ("ipsu", IPSU), ("rpsu", RPSU)])
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


def _metrics(acc, rate, wall):
    return {k: {"max_test_acc": acc[k], "firing_rate": rate[k], "wall_s_per_run": wall[k]} for k in psu.NEURONS}


def test_claim_checks_neuron_by_neuron():
    acc = {"lif": 0.40, "psn": 0.50, "psu": 0.46, "ipsu": 0.52, "rpsu": 0.44}
    rate = {"lif": 0.05, "psn": 0.14, "psu": 0.05, "ipsu": 0.13, "rpsu": 0.06}
    wall = {"lif": 3.0, "psn": 2.0, "psu": 2.0, "ipsu": 2.5, "rpsu": 2.9}
    c = psu.check_claims(_metrics(acc, rate, wall))
    assert c["close"] == {"psu": True, "ipsu": True, "rpsu": False} and not c["close_holds"]   # 6 points off
    assert c["faster_holds"]
    wall["ipsu"] = 3.5
    rate["rpsu"], acc["rpsu"] = 0.15, 0.49                                                      # fires more
    c = psu.check_claims(_metrics(acc, rate, wall))
    assert c["close"]["rpsu"] is False and c["faster"] == {"psu": True, "ipsu": False, "rpsu": True}
    holds, text = psu._check(_metrics(acc, rate, wall))
    assert not holds and "does not hold for RPSU" in text and "does not hold for IPSU" in text


def test_ci_path_end_to_end_on_tiny_settings(monkeypatch, tmp_path):
    monkeypatch.setattr(psu, "settings", _tiny)
    threads = torch.get_num_threads()
    rec = experiments.reproduce("psu-neurons", "ci", progress=False, out_dir=tmp_path)
    assert torch.get_num_threads() == threads and rec["config"]["threads"] == 1
    assert rec["dataset"] == "mnist1d" and rec["seeds"] == [0, 1]
    assert set(rec["metrics"]) == {*psu.NEURONS, "claims"} and isinstance(rec["claim"]["holds"], bool)
    for kind in psu.NEURONS:
        m = rec["metrics"][kind]
        per = m["per_seed_max_test_acc"]
        assert m["seeds"] == 2 and m["max_test_acc"] == pytest.approx(sum(per) / 2)
        assert m["max_test_acc_std"] == pytest.approx(abs(per[0] - per[1]) / 2 ** 0.5)
        assert 0.0 <= m["firing_rate"] <= 1.0 and m["wall_s_per_run"] > 0 and len(m["per_seed_wall_s"]) == 2
    assert [r["label"] for r in rec["rows"]] == ["LIF", "PSN", "PSU", "IPSU", "RPSU"]
    assert all(r["paper_key"] is None and r["n"] == 2 for r in rec["rows"])
    assert (tmp_path / "psu-neurons-ci.json").is_file()
    table = psu.summary_table(rec)
    assert [r[0] for r in table.rows] == ["LIF", "PSN", "PSU", "IPSU", "RPSU"] and "<table>" in table._repr_html_()
    assert table.rows[2][1].startswith(f"{100 * rec['metrics']['psu']['max_test_acc']:.2f} ± ")
    assert results.record_table(rec).rows[0][2] == ", ".join(f"{100 * a:.2f}" for a in
                                                             rec["metrics"]["lif"]["per_seed_max_test_acc"])
    again = experiments.reproduce("psu-neurons", "ci", progress=False, write=False)    # same seed, same numbers
    for kind in psu.NEURONS:
        for key in ("per_seed_max_test_acc", "per_seed_firing_rate", "curve"):
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
    assert set(rec["metrics"]) == {*psu.NEURONS, "claims"}
    assert len(list((tmp_path / "runs").glob("psu-neurons-scifar10-gpu/*/last.pt"))) == len(psu.NEURONS)


@pytest.mark.filterwarnings("ignore:scale 'gpu' is meant for CUDA")
def test_gpu_path_end_to_end_on_cpu_shd_through_tonic(monkeypatch, tmp_path):
    pytest.importorskip("tonic")
    pytest.importorskip("h5py")
    from test_data_real import write_shd

    write_shd(tmp_path / "data", "train", n=8)
    write_shd(tmp_path / "data", "test", n=4, seed=1)
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(psu, "settings", _tiny)
    rec = experiments.reproduce("psu-shd", "gpu", progress=False, out_dir=tmp_path)
    assert rec["dataset"] == "shd" and rec["config"]["T"] == 15
    assert [r["paper_key"] for r in rec["rows"]] == [None, None, None, None, "psu/shd/rpsu"]
    row = [r for r in results.comparison_rows([rec]) if r["what"] == "RPSU"][0]
    assert row["paper"] == "92.49% (secondary)" and row["paper_dataset"] == "SHD"
