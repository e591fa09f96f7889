"""Reproductions: the experiment registry, `python -m snnlib reproduce / results`, the paper registry and
the scoreboard page."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from snnlib import __main__ as cli
from snnlib import experiments, records, registry, results, scoreboard
from snnlib.experiments import psn

ROOT = Path(__file__).resolve().parents[1]


def test_reproduce_writes_json_and_results_prints_the_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path / "data"))
    assert cli.main(["reproduce", "foundations-mlp", "--scale", "ci", "--out", str(tmp_path), "--quiet"]) == 0
    rec = json.loads((tmp_path / "foundations-mlp-ci.json").read_text())
    assert {"config", "versions", "seed", "device", "metrics", "wall_s", "dataset", "scale", "claims"} <= set(rec)
    assert rec["scale"] == "ci" and rec["dataset"] == "digits-rows" and rec["seed"] == 0
    assert rec["versions"]["torch"] == torch.__version__
    assert rec["metrics"]["selected_test_acc"] >= 0.9 and rec["claims"][0]["verdict"] == "holds"
    assert "wrote" in capsys.readouterr().out

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "snnlib", "results", "--dir", str(tmp_path)], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("foundations-mlp"))
    assert "ci" in line.split() and "digits-rows" in line and "book's check" in line
    assert re.search(r"\d+\.\d\d%", line)
    assert "[foundations-mlp @ ci] HOLDS: The spiking MLP reaches more than 90% test accuracy" in out.stdout


def test_unknown_experiment_lists_the_valid_names(capsys):
    assert cli.main(["reproduce", "psn-speed", "--scale", "ci"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'psn-speed'" in err and "foundations-mlp" in err and "psn-neurons" in err
    with pytest.raises(ValueError, match="valid names: foundations-mlp, psn-neurons, psn-order"):
        experiments.get("nope")


def _fake(name, scale, dataset, rows, chapter="psn"):
    return {"name": name, "chapter": chapter, "scale": scale, "dataset": dataset, "rows": rows,
            "comparison": experiments.COMPARISONS[scale], "claims": [{
                "statement": "a claim", "source": None, "verdict": "fails", "a": "PSN", "b": None, "value": 90.0,
                "direction": "greater", "diffs": [-34.5], "mean": -34.5, "low": None, "high": None,
                "half_width": None, "n": 1, "unit": "points", "why": "", "margin": None, "margin_reason": None}]}


def test_rows_name_dataset_and_scale_and_never_compare_ci_with_the_paper(tmp_path):
    row = {"label": "PSN", "metric": "max test accuracy", "measured": 55.5, "unit": "%",
           "paper_key": "psn/scifar10/psn"}
    for scale, ds in (("ci", "digits-pixels"), ("gpu", "scifar10"), ("full", "scifar10")):
        (tmp_path / f"psn-neurons-{scale}.json").write_text(json.dumps(_fake("psn-neurons", scale, ds, [row])))
    unverified = {"label": "MS-ResNet482", "metric": "test accuracy", "measured": 90.0, "unit": "%",
                  "paper_key": "ms_resnet/cifar10/ms_resnet482"}
    (tmp_path / "ms-depth-full.json").write_text(json.dumps(_fake("ms-depth", "full", "cifar10", [unverified],
                                                                  "ms_resnet")))
    rows = results.comparison_rows(results.load_results(tmp_path))
    assert [(r["experiment"], r["scale"]) for r in rows] == [
        ("psn-neurons", "ci"), ("psn-neurons", "gpu"), ("psn-neurons", "full"), ("ms-depth", "full")]
    ci, gpu, full, ms = rows
    assert ci["dataset"] == "digits-pixels" and ci["paper_dataset"] == "Sequential CIFAR-10"
    assert ci["comparison"].startswith("claim check") and "not comparable" in ci["comparison"]
    assert gpu["comparison"] == "same dataset, shorter training" and full["comparison"] == "paper's setting"
    assert ci["paper"] == "88.45%" and ci["measured"] == "55.50%"
    assert ms["paper"] == "91.9% (unverified)" and ms["status"] == "unverified"
    text = results.table(results.load_results(tmp_path))
    assert "digits-pixels" in text and "FAILS: a claim" in text
    md = scoreboard.scoreboard_markdown(tmp_path)  # the page's layout: tests/test_results.py
    assert md.startswith("# Reproduction scoreboard") and "| PSN | 55.50% | 88.45% |" in md
    assert "91.9% (unverified)" in md


def test_a_file_that_is_not_a_result_is_named(tmp_path):
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(ValueError, match="notes.json is not a result"):
        results.load_results(tmp_path)


# the registry's own tests (complete, marked, equal to shared/papers.md): tests/test_registry.py


def test_every_paper_key_an_experiment_can_write_exists():
    # the claims name their paper by the registry key in their source (tests/test_verdicts.py reads them)
    assert all(not hasattr(experiments.get(name), "claim") for name in experiments.names())
    for ds in ("digits-pixels", "scifar10", "scifar100"):
        for kind in psn.NEURONS:
            registry.get(psn.paper_key(kind, ds))


def _tiny(scale):
    return {"dataset": "digits-pixels" if scale == "ci" else "scifar10", "T": 64 if
            scale == "ci" else 32, "hidden": 8, "layers": 1, "channels": 8, "epochs": 1, "batch_size": 64 if
            scale == "ci" else 4, "k": 4, "orders": [1, 2], "order_kinds": ["masked_psn", "sliding_psn"],
            "seeds": 2 if scale == "ci" else 1}


def test_psn_experiments_run_end_to_end_on_tiny_settings(monkeypatch, tmp_path):
    monkeypatch.setattr(psn, "settings", _tiny)
    rec = experiments.reproduce("psn-neurons", "ci", progress=False, out_dir=tmp_path)
    assert set(rec["metrics"]) == set(psn.NEURONS) and "claim" not in rec
    assert [r["paper_key"] for r in rec["rows"]][0] == "psn/scifar10/psn"
    rows = {r["label"]: r for r in rec["rows"]}
    for c in rec["claims"]:                                  # every verdict is the one rule's
        assert c["verdict"] == records.rejudge(c, rows)
    for kind, m in rec["metrics"].items():                   # two seeds: mean, std and both values
        per = m["per_seed_selected_test_acc"]
        assert m["seeds"] == 2 and len(per) == 2
        assert m["selected_test_acc"] == pytest.approx(sum(per) / 2)
        assert m["selected_test_acc_std"] == pytest.approx(abs(per[0] - per[1]) / 2 ** 0.5)
    assert rec["rows"][0]["n"] == 2 and "±" in results.comparison_rows([rec])[0]["measured"]
    assert rec["caveats"] and all(r["selected_on"].startswith("validation") for r in rec["rows"])
    rec = experiments.reproduce("psn-order", "ci", progress=False, out_dir=tmp_path)
    assert set(rec["metrics"]["sliding_psn"]) == {"1", "2"} and rec["seeds"] == [0, 1]
    assert [c["statement"] for c in rec["claims"]] == [
        "The masked PSN of order 2 is more accurate than order 1",
        "The sliding PSN of order 2 is more accurate than order 1"]
    assert (tmp_path / "psn-order-ci.json").is_file()


@pytest.mark.filterwarnings("ignore:scale 'gpu' is meant for CUDA")
def test_psn_experiment_at_gpu_scale_uses_the_papers_network_on_sequential_cifar(monkeypatch, tmp_path):
    pytest.importorskip("torchvision")
    sys.path.insert(0, str(Path(__file__).parent))
    from test_data_real import write_cifar

    write_cifar(tmp_path / "data", 10, per_batch=4)
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(psn, "settings", _tiny)
    rec = experiments.reproduce("psn-neurons", "gpu", progress=False, out_dir=tmp_path)
    assert rec["dataset"] == "scifar10" and rec["comparison"] == "same dataset, shorter training"
    assert rec["rows"][2]["paper_key"] == "psn/scifar10/sliding_psn_k32"
    assert len(list((tmp_path / "runs").glob("psn-scifar10-gpu/*/last.pt"))) == len(psn.NEURONS)
    again = experiments.reproduce("psn-neurons", "gpu", progress=False, out_dir=tmp_path)  # resumes: no training
    def no_time(m):
        return {kind: {k: v for k, v in d.items() if k != "wall_s"} for kind, d in m.items()}

    assert no_time(again["metrics"]) == no_time(rec["metrics"])


@pytest.mark.parametrize("kind", psn.NEURONS)
def test_scifar_network_shapes(kind):
    net = psn.scifar_net(kind, classes=10, channels=8, T=32, k=4)
    x = torch.randn(32, 2, 3, 32)
    out = net(x)
    assert out.shape == (32, 2, 10)
    out.mean().backward()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv1d)]
    assert len(convs) == 6 and all(c.bias is None for c in convs)
    assert net.fc[0].layer[1].in_features == 8 * 8 and net.fc[0].layer[1].out_features == 16


# ----------------------------------------------------------------- records say where they ran; gpu on a CPU
def _tiny_run(scale, *, seed=0, progress=True):
    """A two-epoch spiking MLP on 96 digits: a real training run that takes about a second."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_train import run

    h, _ = run(epochs=2, seed=seed)
    return {"dataset": "digits-rows", "config": {"epochs": 2}, "metrics": {"curve": h.column("test_acc"),
            "losses": h.column("train_loss"), "rate": h.last["test_rate"]}, "rows": []}


@pytest.fixture
def tiny_experiment(monkeypatch):
    experiments.names()  # load the chapters first
    exp = experiments.Experiment("tiny-mlp", "foundations", "a tiny spiking MLP", _tiny_run)
    monkeypatch.setitem(experiments.EXPERIMENTS, exp.name, exp)
    return exp.name


def test_a_record_says_where_it_ran_and_a_rerun_gives_identical_metrics(tiny_experiment, tmp_path):
    a = experiments.reproduce(tiny_experiment, "ci", progress=False, out_dir=tmp_path)
    b = experiments.reproduce(tiny_experiment, "ci", progress=False, out_dir=tmp_path)
    assert a["metrics"] == b["metrics"] and len(a["metrics"]["curve"]) == 2
    env = json.loads((tmp_path / "tiny-mlp-ci.json").read_text())["environment"]
    assert env["torch"] == torch.__version__ and env["threads"] == torch.get_num_threads()
    assert env["cpu_capability"] == torch.backends.cpu.get_cpu_capability() and "allocator" in env
    assert a["device_matches_scale"] is True


def test_gpu_scale_on_a_cpu_warns_and_marks_the_record(tiny_experiment, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match=r"scale 'gpu'.*no CUDA device.*device_matches_scale"):
        rec = experiments.reproduce(tiny_experiment, "gpu", progress=False, out_dir=tmp_path)
    assert rec["device_matches_scale"] is False and rec["device"].startswith("cpu")
    assert json.loads((tmp_path / "tiny-mlp-gpu.json").read_text())["device_matches_scale"] is False


def test_a_page_without_a_gpu_record_says_what_the_run_is_and_how_to_make_it():
    md = experiments.not_run_yet("psu-shd")
    assert "python -m snnlib reproduce psu-shd --scale gpu" in md and "SHD" in md and "resumes" in md
    assert "CIFAR-10" in experiments.not_run_yet("syna-orrc")
    with pytest.raises(ValueError, match="scale='ci': psu-shd has no such scale"):
        experiments.not_run_yet("psu-shd", "ci")
