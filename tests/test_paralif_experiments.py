"""Chapter 03's experiments: the networks, the claim check, and the gpu path (SHD through tonic) end to end on
CPU, on a tiny file in SHD's HDF5 format."""
from __future__ import annotations

import math

import pytest
import torch

from snnlib import experiments, registry
from snnlib.experiments import paralif as P
from snnlib.neurons import LIF, FIRING_MODES, ParaLIF, SynapticLIF

from test_data_real import write_shd

pytestmark = pytest.mark.usefixtures("one_thread")


def test_registered_with_the_paper_numbers():
    assert {"paralif-firing", "paralif-events"} <= set(experiments.names())
    assert registry.get("paralif/speedup").status == "verified"
    for key in ("paralif/shd/ff", "paralif/shd/rec", "paralif/yinyang"):
        assert registry.get(key).status == "unverified"
    for name in ("paralif-firing", "paralif-events"):
        for key in experiments.get(name).claim.paper_keys:
            assert key in registry.REGISTRY


def test_synaptic_lif_is_the_official_two_stage_lif_with_reset():
    torch.manual_seed(0)
    x = torch.rand(30, 2, 3, dtype=torch.float64) * 3
    a = b = math.exp(-1 / 20)
    i = torch.zeros_like(x[0]); u = torch.zeros_like(x[0]); spikes = []
    for x_t in x:
        i = a * i + x_t
        u = b * u + (1 - b) * i
        s = (u >= 1.0).double()
        spikes.append(s)
        u = u * (1 - s)
    assert torch.equal(SynapticLIF()(x), torch.stack(spikes))


def test_network_shapes_and_that_only_hidden_layers_spike():
    net = P.paralif_net("T", 6, 4, [8, 8], dt=1e-3)
    x = torch.rand(12, 3, 2, 3)                      # [T, N, *] flattened to 6 features
    out = net(x)
    assert out.shape == (12, 3, 4)
    assert [type(m).__name__ for m in net.net] == ["Linear", "ParaLIF", "Linear", "ParaLIF", "Linear", "LIReadout"]
    rec = P.paralif_net("SB", 6, 4, [8], dt=1e-3, recurrent=True)
    assert rec.net[1].recurrent and rec(x).shape == (12, 3, 4)
    with pytest.raises(ValueError, match="kind='X'"):
        P.make_neuron("X", dt=1e-3, features=3)


def test_best_modes_and_the_claim_check():
    m = {k: {"acc": 0.5, "spikes_per_neuron": 1.0} for k in P.NEURONS}
    m["TD"]["acc"], m["TRB"]["acc"], m["LIF"]["acc"] = 0.9, 0.8, 0.81
    assert P.best_modes(m) == ("TD", "TRB")
    holds, text = P._check(m)
    assert holds and "ParaLIF-TD 90.0%" in text and "ParaLIF-TRB 80.0%" in text
    m["TRB"]["acc"] = 0.7
    holds, text = P._check(m)
    assert not holds and "ParaLIF-TRB 70.0% (1.00 spikes per neuron) does not reach LIF 81.0%" in text


def test_yin_yang_sequences_are_seeded():
    a, _ = P.yin_yang_sequences(10, 20, 5, encoding="rate", seed=1)
    b, _ = P.yin_yang_sequences(10, 20, 5, encoding="rate", seed=1)
    c, _ = P.yin_yang_sequences(10, 20, 5, encoding="current", seed=1)
    assert a.x.shape == (20, 10, 4) and torch.equal(a.x, b.x)
    assert set(a.x.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(c.x[:, 0], c.x[:, -1])
    with pytest.raises(ValueError, match="encoding='spikes'"):
        P.yin_yang_sequences(10, 20, 5, encoding="spikes")


def test_gpu_path_end_to_end_on_cpu_with_a_tiny_shd_file(tmp_path, monkeypatch):
    root = tmp_path / "data"
    write_shd(root, "train", n=8)
    write_shd(root, "test", n=4, seed=1)
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))
    small = {"T": 12, "epochs": 1, "batch_size": 4, "num_workers": 0,
             "networks": {"ff": {"hidden": [6, 6, 6], "recurrent": False},
                          "rec": {"hidden": [8], "recurrent": True}}}
    cfg = P.settings("gpu")["events"]
    assert cfg["dataset"] == "shd" and cfg["networks"]["ff"]["hidden"] == [128, 128, 128]
    assert cfg["networks"]["rec"] == {"hidden": [256], "recurrent": True} and cfg["lr"] == 1e-3
    out = P.run_events("gpu", modes=("T", "SB"), root=root, overrides=small, progress=False)
    assert out["dataset"] == "shd"
    assert set(out["metrics"]) == {"ff/LIF", "ff/T", "ff/SB", "rec/T", "rec/SB"}
    for m in out["metrics"].values():
        assert 0.0 <= m["acc"] <= 1.0 and m["spikes_per_neuron"] >= 0.0 and m["seeds"] == 1
    assert [r["paper_key"] for r in out["rows"]] == [None, "paralif/shd/ff", "paralif/shd/ff",
                                                      "paralif/shd/rec", "paralif/shd/rec"]
    assert any((tmp_path / "runs").rglob("*.pt"))            # checkpoints, so a long run resumes
    holds, text = P._check(out["metrics"])
    assert isinstance(holds, bool) and "LIF" in text


def test_ci_settings_fit_the_chapter():
    s = P.settings("ci")
    assert s["seeds"] == 3 and s["firing"]["T"] <= 32 and s["events"]["T"] <= 32
    assert set(P.NEURONS) == {"LIF", *FIRING_MODES}


def test_ci_runs_on_one_thread_and_restores_the_count():
    from snnlib.utils import torch_threads

    assert P.torch_threads is torch_threads              # the book's one helper, not a copy
    n = torch.get_num_threads()
    with P.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == n
    assert P.settings("ci")["threads"] == 1 and P.settings("gpu").get("threads") is None
