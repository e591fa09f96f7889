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
        e = experiments.get(name)
        assert not hasattr(e, "claim") and e.caveats
    assert registry.margin("paralif/matches-lif").value == 3.0


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


def test_best_modes_are_chosen_on_validation_never_on_test():
    m = {k: {"acc": 0.5, "val_acc": 0.5} for k in P.NEURONS}
    m["TD"]["val_acc"], m["TRB"]["val_acc"] = 0.9, 0.8
    m["D"]["acc"], m["SB"]["acc"] = 0.99, 0.99                # best on test: ignored
    assert P.best_modes(m) == ("TD", "TRB")
    m["TRD"]["val_acc"] = 0.9                                 # a tie: the first in FIRING_MODES
    assert P.best_modes(m) == ("TD", "TRB")


def _rows(values, spikes, seeds=(0, 1, 2, 3, 4)):
    metrics = {k: {"per_seed_acc": [v / 100 for v in values[k]], "per_seed_spikes_per_neuron": spikes[k]}
               for k in values}
    return P._rows(metrics, list(values), list(seeds), 3, {"D", "SB"}, {})


def test_the_claims_are_the_one_rule_with_the_registered_margin():
    from snnlib.records import rejudge

    acc = {"LIF": [80, 82, 81, 79, 83], "D": [81, 82, 80, 80, 83], "SB": [60, 65, 62, 61, 63]}
    spk = {"LIF": [2, 2, 2, 2, 2], "D": [6, 6.5, 5.5, 6, 6], "SB": [2, 2.1, 1.9, 2, 2]}
    rows = _rows(acc, spk)
    assert rows["D"].selected_on == "validation (mode and epoch)" and rows["LIF"].selected_on == "validation (epoch)"
    claims = P._claims(rows, "LIF", "D", "SB", ordered=True)
    verdicts = [c.verdict for c in claims]
    assert verdicts == ["holds", "fails", "inconclusive", "holds", "inconclusive"]
    assert claims[0].margin == 3.0 and claims[0].direction == "equivalent" and claims[0].margin_reason
    by_label = {r.label: r.to_dict() for r in rows.values()}
    for c in claims:
        assert rejudge(c.to_dict(), by_label) == c.verdict
    low = {"LIF": [34, 35, 33, 36, 34], "D": [35, 34, 36, 33, 35], "SB": [33, 34, 35, 36, 33]}
    assert all(c.verdict == "untestable at this scale" for c in P._claims(_rows(low, spk), "LIF", "D", "SB",
                                                                         ordered=False) if c.unit == "%")


def test_events_take_the_modes_passed_by_the_chapter(monkeypatch):
    seen = []
    monkeypatch.setattr(P, "train_neuron", lambda kind, *a, **k: seen.append(kind) or _FakeHistory())
    monkeypatch.setattr(P, "event_digits", lambda T, d, seed=0: (_tiny_set(10), _tiny_set(10), 0.02))
    monkeypatch.setattr(P, "settings", lambda scale: {**_CI, "seeds": 2})
    with P.events_modes("TD", "SB"):
        out = P.run_events("ci", progress=False)
    assert out["config"]["modes"] == ["TD", "SB"] and out["config"]["modes_from"].startswith("passed by the chapter")
    assert seen == ["LIF"] * 2 + ["TD"] * 2 + ["SB"] * 2
    out = P.run_events("ci", progress=False)
    assert out["config"]["modes"] == list(P.DEFAULT_MODES) and out["config"]["modes_from"].startswith("settings")
    with pytest.raises(ValueError, match="stochastic"):
        with P.events_modes("SB", "TD"):
            pass


_CI = {"events": {"dataset": "x", "T": 4, "downsample": 0.5, "hidden": [4], "epochs": 1, "batch_size": 4,
                  "lr": 1e-2, "modes": ["D", "TRB"]}, "seeds": 2, "val_fraction": 0.2, "threads": 1}


def _tiny_set(n):
    from snnlib import data

    return data.ArrayDataset(torch.rand(n, 4, 2, 2, 2), torch.arange(n) % 2, layout="sequence", n_classes=10)


class _FakeHistory:
    epochs = [{"test_acc": 0.5, "val_acc": 0.5, "test_rate": 0.1}]
    meta = {"wall_s": 0.1}
    last = epochs[0]

    def selected(self):
        return {**self.epochs[0], "selected_epoch": 1}


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
    write_shd(root, "train", n=24)     # labels i % 20: four classes with two samples, for validation
    write_shd(root, "test", n=4, seed=1)
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))
    small = {"T": 12, "epochs": 1, "batch_size": 4, "num_workers": 0,
             "networks": {"ff": {"hidden": [6, 6, 6], "recurrent": False},
                          "rec": {"hidden": [8], "recurrent": True}}}
    cfg = P.settings("gpu")["events"]
    assert cfg["dataset"] == "shd" and cfg["networks"]["ff"]["hidden"] == [128, 128, 128]
    assert cfg["networks"]["rec"] == {"hidden": [256], "recurrent": True} and cfg["lr"] == 1e-3
    out = P.run_events("gpu", modes=("T", "SB"), root=root, overrides=small, progress=False)
    assert out["dataset"] == "shd" and out["config"]["modes_from"] == "argument"
    assert set(out["metrics"]) == {"ff/LIF", "ff/T", "ff/SB", "rec/T", "rec/SB"}
    for m in out["metrics"].values():
        assert 0.0 <= m["acc"] <= 1.0 and m["spikes_per_neuron"] >= 0.0 and m["seeds"] == 1
    acc_rows = [r for r in out["rows"] if r.unit == "%"]
    assert [r.paper_key for r in acc_rows] == [None, "paralif/shd/ff", "paralif/shd/ff", "paralif/shd/rec",
                                               "paralif/shd/rec"]
    assert all(r.chance == 5.0 and r.selected_on == "validation (epoch)" for r in acc_rows)
    assert any((tmp_path / "runs").rglob("*.pt"))            # checkpoints, so a long run resumes
    assert [c.a for c in out["claims"]][:2] == ["ParaLIF-T (ff)", "ParaLIF-SB (ff)"]


def test_ci_settings_fit_the_chapter():
    s = P.settings("ci")
    assert s["seeds"] == 5 and s["firing"]["T"] <= 32 and s["val_fraction"] == 0.2 and s["events"]["T"] <= 32
    assert set(P.NEURONS) == {"LIF", *FIRING_MODES}


def test_ci_runs_on_one_thread_and_restores_the_count():
    from snnlib.utils import torch_threads

    assert P.torch_threads is torch_threads              # the book's one helper, not a copy
    n = torch.get_num_threads()
    with P.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == n
    assert P.settings("ci")["threads"] == 1 and P.settings("gpu").get("threads") is None
