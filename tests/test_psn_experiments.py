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
