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

TIME_KEYS = {"epoch_s", "train_s", "elapsed_s"}


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
                           "epoch_s", "train_s", "elapsed_s"}
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


def stop_at(stop_epoch: int):
    """``on_epoch_start`` that interrupts the run before epoch ``stop_epoch`` (0-based): the checkpoint then
    holds ``stop_epoch`` finished epochs, as after a crash or a closed laptop."""
    def hook(epoch, model):
        if epoch == stop_epoch:
            raise Interrupt
    return hook


def test_resume_after_an_interruption_gives_the_uninterrupted_result(tmp_path):
    whole, whole_model = run(epochs=4, checkpoint_dir=tmp_path / "whole")

    with pytest.raises(Interrupt):
        run(epochs=4, checkpoint_dir=tmp_path / "cut", on_epoch_start=stop_at(2))
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
    ({"optimizer": "rmsprop"}, "optimizer='rmsprop'; expected one of adamw, adam, adamax, sgd"),
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


# ------------------------------------------------------------------------------ checkpoints that cannot be used
def _write_truncated(path):
    run(epochs=1, checkpoint_dir=path.parent)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _write_foreign(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": nn.Linear(2, 2).state_dict()}, path)  # another program's checkpoint


@pytest.mark.parametrize("kind", ["truncated", "empty", "foreign", "text"])
def test_an_unreadable_checkpoint_is_named_with_how_to_start_fresh(tmp_path, kind):
    path = tmp_path / "run" / "last.pt"
    path.parent.mkdir(parents=True)
    {"truncated": _write_truncated, "empty": lambda p: p.write_bytes(b""), "foreign": _write_foreign,
     "text": lambda p: p.write_text("not a checkpoint")}[kind](path)
    with pytest.raises(ValueError) as err:
        run(epochs=2, checkpoint_dir=path.parent)
    message = str(err.value)
    assert str(path) in message and "resume=False" in message and "delete" in message, message


def test_a_checkpoint_of_another_model_is_named(tmp_path):
    run(epochs=1, checkpoint_dir=tmp_path)

    class Wider(SpikingMLP):
        def __init__(self):
            super().__init__(hidden=48)

    train, test = tiny_loaders()
    with pytest.raises(ValueError, match=r"(?s)last\.pt does not fit this model.*size mismatch.*resume=False"):
        fit(Wider(), train, test, epochs=1, lr=1e-2, progress=False, checkpoint_dir=tmp_path)


@pytest.mark.parametrize("changed, message", [
    ({"lr": 1e-3}, "lr=0.01, not 0.001"),
    ({"loss": "mse"}, "loss='ce', not 'mse'"),
    ({"seed": 1}, "seed=0, not 1"),
    ({"optimizer": "sgd"}, "optimizer='adamw', not 'sgd'"),
    ({"lr": 1e-3, "label_smoothing": 0.1}, "lr=0.01, not 0.001; label_smoothing=0.0, not 0.1"),
])
def test_a_resume_with_other_arguments_is_refused_naming_them(tmp_path, changed, message):
    with pytest.raises(Interrupt):
        run(epochs=3, checkpoint_dir=tmp_path, on_epoch_start=stop_at(1))
    kw = {"seed": 0, **changed}
    seed_everything(0)
    train, test = tiny_loaders()
    with pytest.raises(ValueError) as err:
        fit(SpikingMLP(), train, test, epochs=3, progress=False, checkpoint_dir=tmp_path,
            **{"lr": 1e-2, **kw})
    text = str(err.value)
    assert message in text and str(tmp_path / "last.pt") in text and "resume=False" in text, text
    # the refused call changed nothing: the same arguments still resume
    h, _ = run(epochs=3, checkpoint_dir=tmp_path)
    assert h.meta["resumed_from_epoch"] == 1 and len(h.epochs) == 3


def test_resume_false_starts_fresh_over_a_checkpoint_of_other_arguments(tmp_path):
    run(epochs=2, checkpoint_dir=tmp_path)
    h, _ = run(epochs=2, checkpoint_dir=tmp_path, lr=1e-3, resume=False)
    assert "resumed_from_epoch" not in h.meta and h.meta["lr"] == 1e-3
    again, _ = run(epochs=2, checkpoint_dir=tmp_path, lr=1e-3)  # the new checkpoint holds the new arguments
    assert again.meta["resumed_from_epoch"] == 2


@pytest.mark.parametrize("name, cls", [("adam", torch.optim.Adam), ("adamax", torch.optim.Adamax)])
def test_adam_and_adamax_optimizers(tmp_path, monkeypatch, name, cls):
    made = []
    original = cls.__init__

    def spy(self, *args, **kwargs):
        made.append(type(self))
        original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "__init__", spy)
    h, _ = run(epochs=4, optimizer=name, checkpoint_dir=tmp_path)
    assert made == [cls] and h.meta["optimizer"] == name
    assert h.epochs[-1]["train_loss"] < 0.8 * h.epochs[0]["train_loss"] and h.best("test_acc") > 0.2  # chance: 0.1
    with pytest.raises(Interrupt):  # resumes with its own state
        run(epochs=4, optimizer=name, checkpoint_dir=tmp_path / "cut", on_epoch_start=stop_at(2))
    resumed, _ = run(epochs=4, optimizer=name, checkpoint_dir=tmp_path / "cut")
    assert strip_times(resumed) == strip_times(h)
