"""snnlib.peers: snntorch's StateLeaky is leaky_integrate with the mapped beta and no input scaling."""
from __future__ import annotations

import math

import pytest
import torch

from snnlib.neurons import leaky_integrate
from snnlib.peers import beta_from_snntorch, beta_to_snntorch, state_leaky_class

snntorch = pytest.importorskip("snntorch", reason="snntorch (the peers extra) is not installed")


@pytest.mark.parametrize("beta_snt", [0.5, 0.9, -1.0, 1 + math.log(0.5)])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 2e-5)])
def test_state_leaky_membrane_is_leaky_integrate(one_thread, beta_snt, dtype, tol):
    torch.manual_seed(0)
    x = torch.randn(200, 3, 5, dtype=dtype)
    # a float64 beta keeps snntorch's tau (computed from it) exact in the float64 case
    sl = state_leaky_class()(beta=torch.tensor(beta_snt, dtype=dtype), channels=5, output=False).to(dtype)
    mem = sl(x)
    ours = leaky_integrate(x, beta_from_snntorch(beta_snt), scale_input=False)
    scale = x.abs().max().item() / (1 - beta_from_snntorch(beta_snt))  # the membrane's magnitude bound
    assert (mem - ours).abs().max().item() <= tol * scale
    # and the decay is not snntorch's beta itself (the same name, a different value)
    if beta_snt > 0:
        assert (mem - leaky_integrate(x, beta_snt, scale_input=False)).abs().max().item() > 1e-3


def test_per_channel_beta_and_spikes(one_thread):
    torch.manual_seed(1)
    x = torch.randn(64, 2, 4)
    beta_snt = torch.tensor([0.2, 0.5, 0.8, 0.95])
    ours_beta = beta_from_snntorch(beta_snt)
    sl = state_leaky_class()(beta=beta_snt, channels=4, threshold=1.0, output=True)
    spk, mem = sl(x)
    ours = leaky_integrate(x, ours_beta, scale_input=False)
    assert torch.allclose(mem, ours, atol=1e-5, rtol=1e-5)
    # ours (scale_input=True) is (1 - beta) m: threshold 1 there is threshold (1 - beta) here, same spikes
    # (away from ties with the threshold, where rounding decides)
    scaled = leaky_integrate(x, ours_beta)
    clear = (mem - 1.0).abs() > 1e-4
    assert 0 < int(spk.sum()) < spk.numel()
    assert torch.equal(spk.bool()[clear], (scaled > 1 - ours_beta)[clear])


def test_our_beta_round_trips_and_validates():
    for b in (0.1, 0.5, 0.99):
        assert beta_from_snntorch(beta_to_snntorch(b)) == pytest.approx(b, rel=1e-12)
    assert beta_to_snntorch(0.5) == pytest.approx(1 + math.log(0.5))
    assert beta_from_snntorch(0.5) == pytest.approx(math.exp(-0.5))
    t = torch.tensor([0.3, 0.6])
    assert torch.allclose(beta_from_snntorch(beta_to_snntorch(t)), t)
    with pytest.raises(ValueError, match=r"beta_snt=1\.0.*expected < 1"):
        beta_from_snntorch(1.0)
    with pytest.raises(ValueError, match="beta_snt has a value 1.5"):
        beta_from_snntorch(torch.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match=r"beta=1\.0 is outside \(0, 1\)"):
        beta_to_snntorch(1.0)
    with pytest.raises(ValueError, match=r"beta has values in \[0, 0\.5\]"):
        beta_to_snntorch(torch.tensor([0.0, 0.5]))
    with pytest.raises(TypeError, match="beta_snt=True"):
        beta_from_snntorch(True)
