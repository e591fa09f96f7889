"""The PSN chapter's experiment recipe (snnlib.experiments.psn): initialisation of the masked PSN."""
import math

import pytest
import torch

from snnlib.experiments import psn as psn_exp
from snnlib.neurons import MaskedPSN


def _first_layer_rate(model: torch.nn.Module, T: int) -> float:
    """Firing rate of the first masked PSN at lambda = 1 on unit-variance input (what BN feeds it)."""
    for m in model.modules():
        if isinstance(m, MaskedPSN):
            m.lambda_ = 1.0
    first = next(m for m in model.modules() if isinstance(m, MaskedPSN))
    x = torch.randn(T, 512, 8, generator=torch.Generator().manual_seed(0))  # [T, N, features]
    with torch.no_grad():
        return float(first(x).mean())


@pytest.mark.parametrize("k", [1, 2])
def test_ci_masked_psn_of_low_order_still_fires_once_the_mask_is_closed(k):
    # With the paper's nn.Linear(T, T) draw, |W| <= 1/sqrt(64) and bias -1: at lambda = 1 a neuron of
    # order 1 or 2 can never reach threshold on unit-variance input, and the ci run scores chance.
    torch.manual_seed(0)
    s = psn_exp.settings("ci")
    model = psn_exp.build_model("masked_psn", "ci", features=1, classes=10, k=k)
    rate = _first_layer_rate(model, s["T"])
    assert rate > 0.01, f"masked PSN k={k} at ci fires at rate {rate} once the mask closes"


def test_band_init_keeps_the_papers_weights_outside_the_band_and_at_k_equal_T():
    torch.manual_seed(0)
    m = MaskedPSN(3, 16)
    before = m.weight.detach().clone()
    psn_exp.band_init_(m)
    band = m.mask0.bool()
    assert torch.equal(m.weight[~band], before[~band])
    assert float(m.weight.detach()[band].abs().max()) <= 1 / math.sqrt(3)
    assert float(m.weight.detach()[band].abs().max()) > 1 / math.sqrt(16)
    full = MaskedPSN(16, 16)
    w_full = full.weight.detach().clone()
    psn_exp.band_init_(full)
    assert torch.equal(full.weight, w_full), "order k = T must keep the paper's initialisation"


def test_gpu_and_full_keep_the_papers_initialisation():
    assert not psn_exp.settings("gpu").get("masked_band_init", False)
    assert not psn_exp.settings("full").get("masked_band_init", False)


def test_the_masked_psn_is_selected_only_among_epochs_at_lambda_one():
    from snnlib import train

    assert psn_exp.lambda_one_epochs(12) == list(range(2, 12))      # 8 e / 11 >= 1 from e = 2
    assert psn_exp.lambda_one_epochs(8) == list(range(1, 8))
    h = train.History(epochs=[{"val_acc": v, "test_acc": t} for v, t in
                              [(0.9, 0.9), (0.5, 0.4), (0.6, 0.5), (0.55, 0.7)]])
    assert psn_exp._selected(h, "masked_psn")["selected_epoch"] == 3   # the open-mask epoch 1 is excluded
    assert psn_exp._selected(h, "psn")["selected_epoch"] == 1
    assert psn_exp._selected_on("masked_psn").startswith("validation")


def test_the_fair_lif_is_the_papers_lif_with_a_longer_time_constant_and_unscaled_input():
    from snnlib.neurons import LIF

    fair = psn_exp.make_neuron(psn_exp.FAIR, 64)
    paper = psn_exp.make_neuron("lif", 64)
    assert isinstance(fair, LIF) and fair.tau == psn_exp.FAIR_TAU == psn_exp.settings("ci")["fair_tau"]
    assert not fair.decay_input and paper.decay_input and paper.tau == 2.0
    assert fair.v_reset is None and fair.detach_reset == paper.detach_reset
    assert psn_exp.paper_key(psn_exp.FAIR, "digits-pixels") is None
    assert psn_exp.label(psn_exp.FAIR, tau=16.0) == "LIF, τ = 16" and psn_exp.label("lif") == "LIF, τ = 2"
    assert psn_exp.settings("gpu")["fair_tau"] is None        # sequential CIFAR keeps the paper's five


def test_ci_runs_five_seeds_and_claims_have_no_hand_tolerance():
    s = psn_exp.settings("ci")
    assert s["seeds"] == 5 and 0 < s["val_fraction"] < 1
    assert psn_exp.seeds_of("ci", 3) == [3, 4, 5, 6, 7]
    for name in ("psn-neurons", "psn-order"):
        from snnlib import experiments

        exp = experiments.get(name)
        assert not hasattr(exp, "claim") and exp.caveats       # claims come from records.judge, caveats are fixed


def test_the_paper_tau2_lifs_are_declared_expected_failures_only_at_ci(monkeypatch):
    from snnlib import train

    calls = []

    def fake_train(kind, scale, **kw):
        calls.append(kind)
        h = train.History(epochs=[{"val_acc": 0.5, "test_acc": 0.5 + 0.01 * len(calls) + 0.001 * kw["seed"]}
                                  for _ in range(3)])
        h.meta["wall_s"] = 0.0
        return h

    monkeypatch.setattr(psn_exp, "train_neuron", fake_train)
    monkeypatch.setattr(psn_exp, "_loaders", lambda *a: None)
    out = psn_exp.run_neurons("ci", progress=False)
    rows = {r.label: r for r in out["rows"]}
    assert set(calls) == set(psn_exp.KINDS)
    assert rows["LIF, τ = 2"].expected_failure and rows["LIF without reset, τ = 2"].expected_failure
    assert rows["PSN"].expected_failure is None and rows["LIF, τ = 16"].expected_failure is None
    # 10 claims of the neuron comparison, and 2 of the readout ablation (the masked PSN read at its last step)
    assert len(out["claims"]) == 12 and all(c.b in rows for c in out["claims"])
    last = rows["masked PSN, k = 64, last-step readout"]
    assert last.expected_failure is None and psn_exp.READOUT_LAST in out["metrics"]


def test_the_last_step_readout_keeps_the_last_step_of_the_same_network():
    torch.manual_seed(0)
    full = psn_exp.sequence_net("masked_psn", T=8, features=1, classes=3, hidden=4, k=8).eval()
    last = psn_exp.sequence_net("masked_psn", T=8, features=1, classes=3, hidden=4, k=8, readout_steps=1).eval()
    last.load_state_dict(full.state_dict())
    x = torch.rand(8, 5, 1)
    with torch.no_grad():
        assert last(x).shape == (1, 5, 3) and torch.equal(last(x)[0], full(x)[-1])
    with pytest.raises(ValueError, match="readout_steps=0"):
        psn_exp.sequence_net("psn", T=8, features=1, classes=3, readout_steps=0)
    with pytest.raises(ValueError, match="ci scale only"):
        psn_exp.build_model("psn", "gpu", 3, 10, readout_steps=1)
