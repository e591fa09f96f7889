"""The prepared GPU check (``python -m snnlib.gpucheck``, ``python3 dev.py gpu``) runs in its tiny CPU mode in
every test run, so that it cannot rot before a GPU is lent; its record's fields are the ones documented."""
from __future__ import annotations

import json

import pytest

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
    from snnlib import gpu_budget

    # one slice of every experiment's gpu recipe, its fields documented; tiny slices are not scaled to a recipe
    assert {s["experiment"] for s in rec["slices"].values()} == set(gpu_budget.EXPERIMENT_CHAPTERS)
    assert set(rec["chapter_estimates"]) == set(gpu_budget.EXPERIMENT_CHAPTERS)
    for s in rec["slices"].values():
        for field in s:
            assert f"``{field}``" in gpucheck.__doc__, field
    assert all(e["est_run_s_t4"] is None for e in rec["chapter_estimates"].values())
    assert rec["failures"] == []


def test_the_t4_estimate_is_recomputed_from_the_measured_step():
    """est_run_s_t4 = s_per_step x T4_FACTOR x (steps + eval_batches x the model's eval/train ratio) + loading."""
    one = {"experiment": "x", "job": "a", "batch": 128, "s_per_step": 0.01, "timed_steps": 10, "peak_mib": 1.0,
           "steps": 1000, "eval_batches": 300, "model_train_step_s": 0.06, "model_eval_batch_s": 0.02,
           "model_load_s": 0.005}
    two = {**one, "job": "b", "s_per_step": 0.02}
    est = gpucheck.chapter_estimates({"x: a": one, "x: b": two}, gpucheck.T4_FACTOR["H100"])["x"]
    device_s = 0.01 * (1000 + 300 / 3) + 0.02 * (1000 + 300 / 3)
    assert est["jobs"] == 2
    assert est["est_run_s_here"] == pytest.approx(device_s + 2 * 0.005 * 1000)
    assert est["est_run_s_t4"] == pytest.approx(8.0 * device_s + 2 * 0.005 * 1000)
    assert est["model_t4_s"] == pytest.approx(2 * (0.06 * 1000 + 0.02 * 300))
    assert gpucheck.chapter_estimates({"x: a": one}, None)["x"]["est_run_s_t4"] is None


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
