"""``python -m snnlib``: user errors end in one clear message and exit code 2, never a traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import snnlib.data as D
from snnlib import __main__ as cli
from snnlib import experiments

ROOT = Path(__file__).resolve().parents[1]


def test_a_bad_scale_in_the_environment_is_one_message(monkeypatch, capsys):
    monkeypatch.setenv("SNNLIB_SCALE", "bogus")
    assert cli.main(["reproduce", "foundations-mlp", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "SNNLIB_SCALE='bogus' is not a scale; expected one of ci, gpu, full" in err and "--scale ci" in err


def test_a_bad_scale_on_the_command_line_is_one_message(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SNNLIB_SCALE": "bogus"}
    for args, message in ((["--scale", "huge"], "invalid choice: 'huge'"),
                          ([], "SNNLIB_SCALE='bogus' is not a scale; expected one of ci, gpu, full")):
        out = subprocess.run([sys.executable, "-m", "snnlib", "reproduce", "foundations-mlp", *args],
                             capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert message in out.stderr, out.stderr


def test_missing_real_data_is_one_message_that_offers_download(tmp_path):
    pytest.importorskip("torchvision")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SNNLIB_DATA": str(tmp_path / "data"),
           "SNNLIB_RUNS": str(tmp_path / "runs")}
    out = subprocess.run([sys.executable, "-W", "ignore", "-m", "snnlib", "reproduce", "psn-neurons", "--scale",
                          "gpu", "--out", str(tmp_path), "--quiet"], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert "CIFAR-10 was not found under" in out.stderr and str(tmp_path / "data") in out.stderr
    assert "python -m snnlib reproduce psn-neurons --scale gpu --download" in out.stderr
    assert not list(tmp_path.glob("*.json"))


def test_the_download_flag_reaches_the_loaders(monkeypatch, tmp_path, capsys):
    asked = []

    def build(root, download, **options):
        asked.append(download)
        if not download:
            raise D.MissingDataError("fake was not found under /nowhere.", downloadable=True)
        return D.DATASETS["digits-rows"].build(root, download)

    monkeypatch.setitem(D.DATASETS, "fake", D.DatasetSpec("fake", build, "a fake real dataset", False))

    def run(scale, *, seed=0, progress=True):
        D.loaders("fake", scale)
        return {"dataset": "fake", "config": {}, "metrics": {}, "rows": []}

    experiments.names()
    monkeypatch.setitem(experiments.EXPERIMENTS, "fake-exp", experiments.Experiment("fake-exp", "psn", "fake", run))
    assert cli.main(["reproduce", "fake-exp", "--scale", "ci", "--out", str(tmp_path), "--quiet"]) == 2
    assert "--download" in capsys.readouterr().err
    assert cli.main(["reproduce", "fake-exp", "--scale", "ci", "--out", str(tmp_path), "--quiet",
                     "--download"]) == 0
    assert asked == [False, True]
    D.loaders("fake", "ci", download=True)  # an explicit argument still wins, and the flag did not leak
    with pytest.raises(D.MissingDataError):
        D.loaders("fake", "ci")
