"""Regression tests of the reliability probe (issue: a planted checkpoint, shared folders, NaN, empty sets)."""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from snnlib import experiments, train

ROOT = Path(__file__).resolve().parents[1]


def _data(n=32, nan_at=None):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g)
    if nan_at is not None:
        x[nan_at, 0] = float("nan")
    return DataLoader(TensorDataset(x, y), batch_size=8, shuffle=False)


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


class _Payload:
    """Unpickling this runs code: it writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "ran"))


def test_a_planted_checkpoint_does_not_run_code(tmp_path):
    marker = tmp_path / "marker"
    with open(tmp_path / train.CHECKPOINT, "wb") as f:
        pickle.dump({"x": _Payload(marker)}, f)
    torch.save({"x": _Payload(marker)}, tmp_path / train.CHECKPOINT)
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / train.CHECKPOINT))):
        train.fit(_model(), _data(), epochs=1, progress=False, checkpoint_dir=tmp_path)
    assert not marker.exists(), "loading the checkpoint ran code"


def test_checkpoints_still_resume_and_load_as_weights_only(tmp_path):
    h1 = train.fit(_model(), _data(), epochs=2, progress=False, checkpoint_dir=tmp_path, seed=1)
    state = torch.load(tmp_path / train.CHECKPOINT, weights_only=True)
    assert state["epoch"] == 2
    again = train.fit(_model(), _data(), epochs=2, progress=False, checkpoint_dir=tmp_path, seed=1)
    assert again.meta["resumed_from_epoch"] == 2 and again.epochs == h1.to_dict()["epochs"]


def test_no_unsafe_load_anywhere_in_the_library():
    bad = []
    for path in (ROOT / "snnlib").rglob("*.py"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if "weights_only=False" in line or (re.search(r"\btorch\.load\(", line) and "weights_only=True" not in line):
                bad.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not bad, "torch.load without weights_only=True:\n" + "\n".join(bad)


def test_a_second_writer_of_one_checkpoint_folder_is_refused(tmp_path):
    (tmp_path / train.LOCK).write_text(str(os.getppid()))  # a live process holds the folder
    with pytest.raises(RuntimeError, match=r"in use by another training run \(process"):
        train.fit(_model(), _data(), epochs=1, progress=False, checkpoint_dir=tmp_path)
    (tmp_path / train.LOCK).write_text("999999999")          # a process that is gone: taken over
    train.fit(_model(), _data(), epochs=1, progress=False, checkpoint_dir=tmp_path)
    assert not (tmp_path / train.LOCK).exists(), "the lock is released after the run"
    assert not list(tmp_path.glob("*.tmp")), "no temporary file left behind"


def test_a_checkpoint_path_that_is_a_folder_is_refused_before_training(tmp_path):
    (tmp_path / train.CHECKPOINT).mkdir()
    with pytest.raises(ValueError, match="is not a file"):
        train.fit(_model(), _data(), epochs=1, progress=False, checkpoint_dir=tmp_path,
                  on_epoch_start=lambda e, m: pytest.fail("trained first"))


def test_training_stops_at_a_nan_naming_the_epoch_and_batch():
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch 2"):
        train.fit(_model(), _data(nan_at=9), epochs=2, progress=False)


def test_empty_loaders_are_refused_not_recorded_as_zero():
    empty = DataLoader(TensorDataset(torch.zeros(0, 6), torch.zeros(0, dtype=torch.long)), batch_size=4)
    with pytest.raises(ValueError, match="training loader gave no batch"):
        train.fit(_model(), empty, epochs=1, progress=False)
    with pytest.raises(ValueError, match="no sample"):
        train.fit(_model(), _data(), empty, epochs=1, progress=False)


def test_epochs_must_be_an_int_not_a_bool():
    with pytest.raises(ValueError, match="epochs=True"):
        train.fit(_model(), _data(), epochs=True, progress=False)


def test_an_unwritable_results_folder_is_found_before_training(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    ran = []
    exp = experiments.get("foundations-mlp")
    monkeypatch.setitem(experiments.EXPERIMENTS, "foundations-mlp",
                        experiments.Experiment(name=exp.name, chapter=exp.chapter, title=exp.title,
                                               run=lambda *a, **k: ran.append(1)))
    with pytest.raises(OSError, match="not writable"):
        experiments.reproduce("foundations-mlp", "ci", out_dir=blocked / "sub", progress=False)
    assert not ran
