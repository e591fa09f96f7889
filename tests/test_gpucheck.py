"""The prepared GPU check (``python -m snnlib.gpucheck``, ``python3 dev.py gpu``) runs in its tiny CPU mode in
every test run, so that it cannot rot before a GPU is lent; its record's fields are the ones documented."""
from __future__ import annotations

import json

from snnlib import gpucheck


def test_tiny_mode_runs_every_part_and_writes_the_documented_record(tmp_path):
    assert gpucheck.main(["--tiny", "--device", "cpu", "--out", str(tmp_path)]) == 0
    rec = json.loads((tmp_path / "gpucheck-tiny.json").read_text())
    for field in ("neurons", "models", "bench", "slices", "chapter_estimates", "tolerances", "failures", "device",
                  "versions", "wall_s"):
        assert field in rec and field in gpucheck.__doc__ + "tolerances failures device versions wall_s", field
    from snnlib.experiments import compare

    assert set(rec["neurons"]) == set(compare.NEURONS)
    assert all(r["float32"]["ok"] and r["float32"]["spike_mismatch"] == 0.0 for r in rec["neurons"].values())
    assert set(rec["bench"]["seconds"]) == set(compare.NEURONS) and rec["bench"]["synchronized"] is False
    assert all(s["s_per_step"] > 0 for s in rec["slices"].values())
    assert rec["failures"] == []


def test_a_comparison_outside_tolerance_is_reported():
    import torch

    class Wrong(torch.nn.Module):  # differs between calls: the second (device) run disagrees with the reference
        calls = 0

        def forward(self, x):
            Wrong.calls += 1
            return x * (1.0 if Wrong.calls == 1 else -1.0)

    out = gpucheck._compare(Wrong, torch.randn(4, 2, 3), torch.device("cpu"), spikes=True)
    assert out["float32"]["ok"] is False and out["float32"]["spike_mismatch"] == 1.0
    assert out["float32"]["grad_rel_err"] > gpucheck.TOLERANCES["float32"]["grad_rel_err"]
