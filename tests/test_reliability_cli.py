"""Issue 23, the command line: a scale the experiment lacks, a download without a network, a truncated or
malformed record, and the first ``results`` of a fresh clone.  Each ends in one line and exit code 2 (or,
for the fresh clone, in the papers' numbers marked "not run yet")."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

import snnlib.data as D
from snnlib import __main__ as cli
from snnlib import experiments, registry

ROOT = Path(__file__).resolve().parents[1]


def _one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_gpu_only_experiment_at_ci_is_one_line_naming_the_choice(capsys):
    # before: a ValueError traceback from inside the experiment
    assert cli.main(["reproduce", "psu-shd", "--scale", "ci", "--quiet"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "--scale ci" in line and "psu-shd runs at gpu, full only" in line
    assert "python -m snnlib reproduce psu-neurons --scale ci" in line


@pytest.mark.parametrize("wrapped", [False, True], ids=["URLError", "wrapped URLError"])
def test_a_download_without_a_network_is_one_line(monkeypatch, tmp_path, capsys, wrapped):
    # before: a 90-line URLError traceback from the downloader
    def build(root, download, **options):
        if not download:
            raise D.MissingDataError("fake was not found under /nowhere.", downloadable=True)
        err = urllib.error.URLError(OSError(-2, "Name or service not known"))
        if not wrapped:
            raise err
        raise RuntimeError("the downloader failed") from err

    monkeypatch.setitem(D.DATASETS, "fake", D.DatasetSpec("fake", build, "a fake real dataset", False))

    def run(scale, *, seed=0, progress=True):
        D.loaders("fake", scale)
        return {"dataset": "fake", "config": {}, "metrics": {}, "rows": []}

    experiments.names()
    monkeypatch.setitem(experiments.EXPERIMENTS, "fake-exp",
                        experiments.Experiment("fake-exp", "psn", "fake", run, datasets={"ci": "fake"}))
    assert cli.main(["reproduce", "fake-exp", "--scale", "ci", "--out", str(tmp_path), "--quiet",
                     "--download"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("error: --download could not fetch fake for fake-exp --scale ci")
    assert "Name or service not known" in line and not list(tmp_path.glob("*.json"))


def test_other_errors_of_a_run_still_raise(monkeypatch, tmp_path):
    def run(scale, *, seed=0, progress=True):
        raise RuntimeError("a bug")

    experiments.names()
    monkeypatch.setitem(experiments.EXPERIMENTS, "fake-exp", experiments.Experiment("fake-exp", "psn", "fake", run))
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["reproduce", "fake-exp", "--scale", "ci", "--out", str(tmp_path), "--quiet", "--download"])


def _record() -> dict:
    return {"name": "psn-neurons", "chapter": "psn", "title": "Neuron comparison", "scale": "ci",
            "dataset": "digits-pixels", "comparison": experiments.COMPARISONS["ci"], "seeds": [0], "seed": 0,
            "device": "cpu (x86_64, 2 threads)", "config": {}, "wall_s": 1.0,
            "rows": [{"label": "PSN", "metric": "max test accuracy", "measured": 92.5, "std": None, "n": 1,
                      "unit": "%", "per_seed": [92.5], "paper_key": "psn/scifar10/psn"}]}


@pytest.mark.parametrize("case, text, message", [
    ("truncated", json.dumps(_record())[:90], r"is not valid JSON \(.*truncated\?\)"),
    ("empty", "", r"is not valid JSON"),
    ("a list", "[1, 2]", r"holds a JSON list; expected a record"),
    ("no rows", json.dumps({k: v for k, v in _record().items() if k != "rows"}), r"it lacks rows"),
    ("rows not a list", json.dumps({**_record(), "rows": "x"}), r"rows is str; expected a list"),
    ("a row without a label", json.dumps({**_record(), "rows": [{"metric": "m"}]}), r"rows\[0\] lacks label"),
    ("a measured string", json.dumps({**_record(), "rows": [{**_record()["rows"][0], "measured": "abc"}]}),
     r"is malformed \(ValueError"),
    ("a bad scale", json.dumps({**_record(), "scale": 5}), r"scale=5; expected one of ci, gpu, full"),
])
@pytest.mark.parametrize("markdown", [False, True], ids=["table", "markdown"])
def test_results_on_a_bad_record_is_one_line_naming_the_file(tmp_path, capsys, case, text, message, markdown):
    # before: tracebacks (json's JSONDecodeError never named the file)
    path = tmp_path / "psn-neurons-ci.json"
    path.write_text(text)
    assert cli.main(["results", "--dir", str(tmp_path)] + (["--markdown"] if markdown else [])) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(path) in line, line
    assert __import__("re").search(message, line), line


def test_results_of_a_missing_folder_is_one_line(tmp_path, capsys):
    assert cli.main(["results", "--dir", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in _one_line(capsys.readouterr().err)


def test_results_in_a_fresh_clone_shows_the_papers_numbers_not_run_yet(tmp_path):
    # before: only "No results yet. Run for example: ..."
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-W", "ignore", "-m", "snnlib", "results", "--dir", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    numbers = list(registry.REGISTRY.values())
    assert sum(ln.startswith("  ") and "not run yet" in ln for ln in text.splitlines()) == len(numbers)
    for n in numbers:
        assert n.key in text
    assert "python -m snnlib reproduce psn-neurons --scale ci" in text
    assert "python -m snnlib reproduce psu-shd --scale gpu" in text  # a gpu-only experiment at its own scale
    # and a real record replaces the block
    (tmp_path / "psn-neurons-ci.json").write_text(json.dumps(_record()))
    out = subprocess.run([sys.executable, "-W", "ignore", "-m", "snnlib", "results", "--dir", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0 and "not run yet" not in out.stdout and "92.5" in out.stdout, out.stderr
