"""The chapter 06 experiment (ms-degradation): a tiny ci run is seeded and complete, its claims are the one
rule's (deep plain and vanilla rows declared expected failures, registered margins), the isometry table holds
both initialisations, and the gpu path runs end to end on CPU on tiny CIFAR-10 pickles, under autocast."""
from __future__ import annotations

import pytest
import torch

from snnlib import experiments, records, registry
from snnlib.experiments import ms_resnet as E

pytestmark = pytest.mark.usefixtures("one_thread")
_settings = E.settings


def _tiny(scale):
    s = dict(_settings(scale))
    s.update(families=["vanilla", "ms"], depths=[8, 14], width=2, T=2, epochs=1, batch_size=32, seeds=2,
             stat_batch=16, isometry_depths=[8, 14])
    if scale == "ci":
        s["train_size"] = 64
    return s


def test_ci_run_is_seeded_and_complete(monkeypatch, tmp_path):
    monkeypatch.setattr(E, "settings", _tiny)
    a = experiments.reproduce("ms-degradation", "ci", progress=False, out_dir=tmp_path)
    b = E.run_degradation("ci", progress=False)
    nets = a["metrics"]["networks"]
    assert set(nets) == {"vanilla-8", "vanilla-14", "ms-8", "ms-14"}
    for key, m in nets.items():
        assert m["per_seed_selected_test_acc"] == b["metrics"]["networks"][key]["per_seed_selected_test_acc"]
        assert m["per_seed_train_loss"] == b["metrics"]["networks"][key]["per_seed_train_loss"]
        assert len(m["per_seed_selected_test_acc"]) == 2 and m["spikes_per_neuron"] >= 0
        assert m["selected_epochs"] == [1, 1] and len(m["ratio_after_training"]) == 2
        assert len(m["ssim"]) == len(m["block_rates"]) - 1 == 3 * ((m["depth"] - 2) // 6) - 1
    iso = a["metrics"]["isometry"]
    assert set(iso) == {f"{i}/{f}-{d}" for i in E.INITS for f in E.FAMILIES for d in (8, 14)}
    assert iso["own/ms-14"]["per_seed"] == [1.0, 1.0] and iso["zero-gamma/sew-14"]["per_seed"] == [1.0, 1.0]
    assert a["seeds"] == [0, 1] and "claim" not in a
    rows = {r["label"]: r for r in a["rows"]}
    for c in a["claims"]:
        assert c["verdict"] == records.rejudge(c, rows)
    acc = [r for r in a["rows"] if r["unit"] == "%"]
    assert all(r["chance"] == pytest.approx(10.0) and r["selected_on"].startswith("validation") for r in acc)
    assert [r["expected_failure"] is not None for r in acc] == [False, False, False, False]   # 14 <= 20
    assert [r["paper_key"] for r in a["rows"] if r["paper_key"]] == ["ms_resnet/spikes_per_neuron"]
    assert a["caveats"]


def test_deep_vanilla_and_plain_rows_are_declared_expected_failures():
    s = {"families": ["plain", "vanilla", "ms"], "depths": [8, 32], "T": 4, "isometry_depths": [8]}
    seeds = [0, 1, 2]
    net = lambda acc: {"per_seed_selected_test_acc": acc, "per_seed_spikes_per_neuron": [1.0, 1.1, 0.9]}  # noqa: E731
    metrics = {f"{f}-{d}": net([0.8, 0.85, 0.82] if f == "ms" or d == 8 else [0.1, 0.11, 0.1])
               for f in s["families"] for d in s["depths"]}
    iso = {f"{i}/{f}-8": {"per_seed": [1.0, 1.0, 1.0] if f in ("ms", "sew") else [0.5, 0.6, 0.55]}
           for i in E.INITS for f in E.FAMILIES}
    rows, claims = E._rows_and_claims(s, seeds, metrics, iso, 10.0)
    by = {r.label: r for r in rows}
    assert by["vanilla spiking ResNet-32"].expected_failure and by["plain (no shortcut)-32"].expected_failure
    assert by["vanilla spiking ResNet-8"].expected_failure is None and by["MS-ResNet-32"].expected_failure is None
    verdicts = {c.statement: c.verdict for c in claims}
    assert verdicts["MS-ResNet-32 is more accurate than the vanilla spiking ResNet-32"] == "holds"
    assert verdicts["The vanilla spiking ResNet is less accurate at depth 32 than at depth 8"] == "holds"
    no_deg, = [c for c in claims if c.statement.startswith("MS-ResNet does not degrade")]
    assert no_deg.margin == registry.margin("ms_resnet/no_degradation").value and no_deg.verdict == "holds"
    assert sum(c.verdict == "holds" for c in claims if "gradient norm" in c.statement or "keeps it" in c.statement) == 3


def test_the_models_docstrings_hold_no_control_characters():
    import inspect
    import re

    from snnlib.models import resnet

    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", inspect.getsource(resnet))
    assert r"\bigl(" in resnet.state_change_probability.__doc__


@pytest.mark.filterwarnings("ignore:scale 'gpu' is meant for CUDA")
def test_gpu_path_end_to_end_on_cpu_cifar10_under_autocast(monkeypatch, tmp_path):
    pytest.importorskip("torchvision")
    from test_data_real import write_cifar

    write_cifar(tmp_path / "data", 10, per_batch=8)
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(E, "settings", _tiny)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rec = experiments.reproduce("ms-degradation", "gpu", progress=False, out_dir=tmp_path)
    assert rec["dataset"] == "cifar10" and rec["comparison"] == "same dataset, shorter training"
    assert rec["config"]["width"] == 2 and _settings("gpu")["families"] == ["vanilla", "ms"]
    assert set(rec["metrics"]["networks"]) == {"vanilla-8", "vanilla-14", "ms-8", "ms-14"}
    assert len(list((tmp_path / "runs").glob("ms-degradation-gpu/*/last.pt"))) == 8
    assert all(0 <= m["selected_test_acc"] <= 1 for m in rec["metrics"]["networks"].values())
