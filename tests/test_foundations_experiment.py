"""Chapter 00's training run (snnlib.experiments.foundations): seeds, mean ± std and the curves."""
import math

import pytest

from snnlib.experiments import foundations


@pytest.fixture
def tiny(monkeypatch):
    real = foundations.settings

    def settings(scale):
        return {**real(scale), "epochs": 2, "seeds": 2, "hidden": 16}
    monkeypatch.setattr(foundations, "settings", settings)


def test_run_mlp_reports_mean_and_std_over_its_seeds(tiny):
    out = foundations.run_mlp("ci", seed=5, progress=False)
    m = out["metrics"]
    assert out["seeds"] == [5, 6] and m["seeds"] == 2 and m["epochs"] == 2
    finals = m["per_seed_final_test_acc"]
    assert len(finals) == 2 and all(c[-1] == pytest.approx(f, abs=1e-4) for c, f in zip(m["curves"], finals))
    assert m["final_test_acc"] == pytest.approx(sum(finals) / 2, abs=1e-4)
    assert m["final_test_acc_std"] == pytest.approx(abs(finals[0] - finals[1]) / math.sqrt(2), abs=1e-4)
    assert m["curve"] == [pytest.approx((a + b) / 2, abs=1e-4) for a, b in zip(*m["curves"])]
    assert len(m["curve_std"]) == len(m["loss_curve"]) == 2
    row, mean_row, logistic_row = out["rows"]
    assert mean_row.seeds == logistic_row.seeds == row.seeds == (5, 6)
    assert mean_row.per_seed == tuple(pytest.approx(100 * a) for a in m["mean_readout"]["per_seed_selected_test_acc"])
    assert logistic_row.selected_on == "validation (C)" and logistic_row.chance == pytest.approx(10.0)
    assert [c.b for c in out["claims"]] == [None, logistic_row.label, mean_row.label]
    assert row.n == 2 and row.selected_on.startswith("validation") and row.chance == pytest.approx(10.0)
    assert row.mean == pytest.approx(100 * m["selected_test_acc"])
    curves = m["curves"]
    assert row.per_seed == tuple(pytest.approx(100 * c[e - 1], abs=1e-2) for c, e in zip(curves, m["selected_epochs"]))


def test_the_claim_is_the_one_rule_against_the_target():
    from snnlib.records import Row, judge

    above = Row("mlp", "acc", "%", [95.0, 96.0, 94.0, 95.5, 95.2], [0, 1, 2, 3, 4], chance=10.0)
    near = Row("mlp", "acc", "%", [91.0, 89.0, 90.5, 88.0, 92.0], [0, 1, 2, 3, 4], chance=10.0)
    assert judge("above", above, value=90.0).verdict == "holds"
    assert judge("above", near, value=90.0).verdict == "inconclusive"


def test_ci_runs_train_on_the_threads_their_settings_name_and_restore_the_count(tiny, monkeypatch):
    import torch

    from snnlib import train
    from snnlib.experiments import psn

    seen = []
    real_fit = train.fit

    def fit(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real_fit(*args, **{**kwargs, "epochs": 1})
    monkeypatch.setattr(train, "fit", fit)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        foundations.train_mlp("ci", seed=0, progress=False)
        psn.train_neuron("sliding_psn", "ci", k=2, seed=0, progress=False, epochs=1)
        assert seen == [1, 1], seen
        assert torch.get_num_threads() == 2
        assert foundations.settings("ci")["threads"] == 1 and psn.settings("ci")["threads"] == 1
        assert "threads" not in psn.settings("gpu")
    finally:
        torch.set_num_threads(before)


def test_the_time_mean_readout_sees_only_the_mean_of_the_spikes():
    import torch

    from snnlib.models import SpikingMLP

    net = SpikingMLP(8, 8, 10, hidden=16, readout="mean")
    assert net.fc2.in_features == 16
    x = torch.rand(8, 3, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        spikes = net.neuron(net.fc1(x))
        assert torch.allclose(net(x), net.fc2(spikes.mean(0)))
    with pytest.raises(ValueError, match="readout"):
        SpikingMLP(8, 8, 10, readout="last")


def test_the_logistic_baseline_chooses_C_on_validation_and_is_deterministic():
    a = foundations.logistic_baseline("ci", seed=3)
    b = foundations.logistic_baseline("ci", seed=3)
    assert a == b and a["C"] in foundations.LOGISTIC_C
    assert 0.8 < a["test_acc"] <= 1.0 and 0.8 < a["val_acc"] <= 1.0
