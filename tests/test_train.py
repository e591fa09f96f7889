"""snnlib.train: learning, history, determinism, interruption and resume, time budget, progress lines."""
from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

import snnlib.data as D
from snnlib.neurons import LIF
from snnlib.train import History, evaluate, fit
from snnlib.utils import seed_everything

TIME_KEYS = {"epoch_s", "elapsed_s"}


class SpikingMLP(nn.Module):
    """[T=8, N, 8] -> Linear -> LIF -> the spikes of all steps -> Linear -> [N, 10]."""

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.fc1 = nn.Linear(8, hidden)
        self.lif = LIF()
        self.fc2 = nn.Linear(8 * hidden, 10)

    def forward(self, x):
        return self.fc2(self.lif(self.fc1(x) * 3.0).transpose(0, 1).flatten(1))


def tiny_loaders(seed: int = 0, n_train: int = 96, n_test: int = 48, batch_size: int = 16):
    train, test = D.digits("rows")
    train = D.ArrayDataset(train.x[:n_train], train.y[:n_train], layout="sequence", n_classes=10)
    test = D.ArrayDataset(test.x[:n_test], test.y[:n_test], layout="sequence", n_classes=10)
    gen = torch.Generator().manual_seed(seed)
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=gen, collate_fn=D.time_first_collate),
            DataLoader(test, batch_size=batch_size, collate_fn=D.time_first_collate))


def run(epochs=3, seed=0, **kw) -> tuple[History, nn.Module]:
    seed_everything(seed)
    model = SpikingMLP()
    train, test = tiny_loaders(seed)
    kw = {"lr": 1e-2, "progress": False, **kw}
    return fit(model, train, test, epochs=epochs, seed=seed, **kw), model


def strip_times(h: History) -> list[dict]:
    return [{k: v for k, v in e.items() if k not in TIME_KEYS} for e in h.epochs]


def test_fit_learns_and_records_a_history(tmp_path):
    h, model = run(epochs=4, checkpoint_dir=tmp_path)
    assert [e["epoch"] for e in h.epochs] == [1, 2, 3, 4]
    assert set(h.last) >= {"train_loss", "train_acc", "train_rate", "test_loss", "test_acc", "test_rate", "lr",
                           "epoch_s", "elapsed_s"}
    assert h.epochs[-1]["train_loss"] < h.epochs[0]["train_loss"]
    assert h.best("test_acc") > 0.3
    assert 0 < h.last["train_rate"] < 1
    assert h.epochs[0]["lr"] == pytest.approx(1e-2) and h.last["lr"] < 1e-2  # cosine
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["epochs"][-1]["test_acc"] == h.last["test_acc"] and saved["meta"]["stopped"] == "completed"
    assert (tmp_path / "last.pt").is_file()
    train, test = tiny_loaders()
    assert evaluate(model, test)["acc"] == pytest.approx(h.last["test_acc"])


def test_same_seed_same_numbers():
    a, ma = run(epochs=2)
    b, mb = run(epochs=2)
    assert strip_times(a) == strip_times(b)
    assert all(torch.equal(p, q) for p, q in zip(ma.state_dict().values(), mb.state_dict().values()))


class Interrupt(Exception):
    pass


def test_resume_after_an_interruption_gives_the_uninterrupted_result(tmp_path):
    whole, whole_model = run(epochs=4, checkpoint_dir=tmp_path / "whole")

    def stop_after_second(epoch, record):
        if epoch == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        run(epochs=4, checkpoint_dir=tmp_path / "cut", on_epoch_end=stop_after_second)
    assert json.loads((tmp_path / "cut" / "history.json").read_text())["epochs"][-1]["epoch"] == 2

    # a new process would build a new model (other weights) and new loaders: resume must not care
    seed_everything(123)
    model = SpikingMLP()
    train, test = tiny_loaders(seed=0)
    resumed = fit(model, train, test, epochs=4, lr=1e-2, seed=0, progress=False, checkpoint_dir=tmp_path / "cut")
    assert resumed.meta["resumed_from_epoch"] == 2
    assert strip_times(resumed) == strip_times(whole)
    assert all(torch.equal(p, q) for p, q in zip(model.state_dict().values(), whole_model.state_dict().values()))
    with pytest.raises(ValueError, match="epochs=4, not 6"):
        fit(model, train, test, epochs=6, progress=False, checkpoint_dir=tmp_path / "cut")


def test_time_budget_stops_between_epochs():
    h, _ = run(epochs=5, time_budget_s=0.0)
    assert len(h.epochs) == 1 and h.meta["stopped"].startswith("time budget")


def test_sgd_label_smoothing_mse_and_soft_labels():
    h, _ = run(epochs=1, optimizer="sgd", lr=0.1, label_smoothing=0.1, schedule="none")
    assert h.last["lr"] == 0.1 and math.isfinite(h.last["train_loss"])
    h, _ = run(epochs=1, loss="mse")
    assert math.isfinite(h.last["train_loss"])
    x = torch.rand(8, 12, 8)
    soft = torch.softmax(torch.randn(12, 10), 1)
    loader = DataLoader(list(zip(x.transpose(0, 1), soft)), batch_size=6,
                        collate_fn=lambda b: (torch.stack([s[0] for s in b], 1), torch.stack([s[1] for s in b])))
    h = fit(SpikingMLP(), loader, epochs=1, progress=False)
    assert 0 <= h.last["train_acc"] <= 1 and "test_acc" not in h.last


def test_static_build_prints_one_line_per_epoch(monkeypatch, capsys):
    monkeypatch.setenv("SNNLIB_STATIC", "1")
    seed_everything(0)
    train, test = tiny_loaders()
    fit(SpikingMLP(), train, test, epochs=2, desc="mlp")
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert len(lines) == 2 and lines[0].startswith("mlp: epoch 1/2") and "test loss" in lines[1]
    assert "rate" in lines[0] and "\r" not in capsys.readouterr().err


@pytest.mark.parametrize("kw, message", [
    ({"optimizer": "adam"}, "optimizer='adam'; expected one of adamw, sgd"),
    ({"schedule": "step"}, "schedule='step'; expected one of cosine, none"),
    ({"loss": "nll"}, "loss='nll'; expected one of ce, mse"),
    ({"epochs": 0}, "epochs=0 must be a positive int"),
])
def test_bad_arguments_name_the_valid_values(kw, message):
    train, test = tiny_loaders()
    with pytest.raises(ValueError, match=message):
        fit(SpikingMLP(), train, test, **{"epochs": 1, **kw})


def test_model_output_shape_is_checked():
    train, _ = tiny_loaders()

    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return x.sum() * self.w

    with pytest.raises(ValueError, match=r"shape \(1,\).*\[N, classes\] or \[T, N, classes\]"):
        fit(Bad(), train, epochs=1, progress=False)


def test_progress_display_does_not_change_the_numbers(monkeypatch):
    monkeypatch.delenv("SNNLIB_STATIC", raising=False)
    quiet, _ = run(epochs=2)
    live, _ = run(epochs=2, progress=True)  # live tqdm bars (they must not touch the loader)
    monkeypatch.setenv("SNNLIB_STATIC", "1")
    static, _ = run(epochs=2, progress=True)  # one printed line per epoch
    assert strip_times(quiet) == strip_times(live) == strip_times(static)
