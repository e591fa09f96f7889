"""Chapter 00 (Foundations): a two-layer spiking MLP learns the digits read row by row.

The first end-to-end run of the book: :class:`SpikingMLP` (Linear, spiking neuron, Linear readout of the
spikes of every step) trained by :func:`snnlib.train.fit` on the scikit-learn digits fed one row per step
(T = 8).  It is the check that data, neuron, surrogate gradient and trainer work together; it is not a
paper's claim, so its row on the scoreboard has no paper number.

Defined in chapter 00 (Foundations), "Training a spiking network".
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import torch
import torch.nn as nn

from .. import config, data, train
from ..neurons import LIF
from ..utils import seed_everything
from . import Claim, Experiment, register

__all__ = ["SpikingMLP", "settings", "train_mlp", "run_mlp"]

TARGET_ACC = 0.90


class SpikingMLP(nn.Module):
    """``[T, N, F]`` -> Linear(F, hidden) -> neuron -> the spikes of all T steps -> Linear -> ``[N, classes]``.

    Two synaptic layers.  The readout sees the whole spike raster (``T * hidden`` inputs), so it knows
    at which step (which row) a neuron fired.  ``neuron`` makes the spiking layer from T (default: the
    library's LIF, tau = 2, hard reset); any neuron of :mod:`snnlib.neurons` fits.
    """

    def __init__(self, T: int, features: int, classes: int, hidden: int = 128,
                 neuron: Optional[Callable[[int], nn.Module]] = None):
        super().__init__()
        self.fc1 = nn.Linear(features, hidden)
        self.neuron = neuron(T) if neuron is not None else LIF()
        self.fc2 = nn.Linear(T * hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spikes = self.neuron(self.fc1(x))  # [T, N, hidden]
        return self.fc2(spikes.transpose(0, 1).flatten(1))


def settings(scale: str) -> dict[str, Any]:
    """The MLP run at ``scale`` (the same offline data at every scale; larger runs train longer)."""
    return config.choose(
        ci={"dataset": "digits-rows", "hidden": 128, "epochs": 20, "batch_size": 32, "lr": 1e-2},
        gpu={"dataset": "digits-rows", "hidden": 256, "epochs": 40, "batch_size": 32, "lr": 1e-2},
        full={"dataset": "digits-rows", "hidden": 256, "epochs": 80, "batch_size": 32, "lr": 1e-2},
        scale_name=scale)


def train_mlp(scale: str, *, neuron: Optional[Callable[[int], nn.Module]] = None, seed: int = 0,
              progress: bool = True) -> tuple[train.History, SpikingMLP]:
    """Train :class:`SpikingMLP` at ``scale``; returns the history and the model."""
    s = settings(scale)
    seed_everything(seed)
    train_loader, test_loader = data.loaders(s["dataset"], scale, batch_size=s["batch_size"], seed=seed)
    ds = train_loader.dataset
    model = SpikingMLP(ds.T, ds.sample_shape[-1], ds.n_classes, hidden=s["hidden"], neuron=neuron)
    h = train.fit(model, train_loader, test_loader, epochs=s["epochs"], optimizer="adamw", lr=s["lr"], seed=seed,
                  progress=progress, desc="spiking MLP")
    return h, model


def run_mlp(scale: str, *, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    s = settings(scale)
    h, _ = train_mlp(scale, seed=seed, progress=progress)
    metrics = {"final_test_acc": h.last["test_acc"], "max_test_acc": h.best("test_acc"),
               "firing_rate": h.last.get("test_rate"), "train_wall_s": round(h.meta["wall_s"], 2),
               "epochs": len(h.epochs), "curve": [round(a, 4) for a in h.column("test_acc")]}
    rows = [{"label": "two-layer spiking MLP (LIF)", "metric": "final test accuracy",
             "measured": 100 * metrics["final_test_acc"], "unit": "%", "paper_key": None}]
    return {"dataset": s["dataset"], "config": s, "metrics": metrics, "rows": rows}


def _check_mlp(m: dict[str, Any]) -> tuple[bool, str]:
    acc = m["final_test_acc"]
    return acc >= TARGET_ACC, f"final test accuracy {100 * acc:.1f}% after {m['epochs']} epochs ({m['train_wall_s']} s)"


register(Experiment(
    name="foundations-mlp", chapter="foundations", title="A two-layer spiking MLP on the digits, row by row",
    run=run_mlp, datasets={s: "digits-rows" for s in config.SCALES},
    claim=Claim("The book's own check, not a paper's: a two-layer spiking MLP with LIF neurons reaches at least "
                "90% test accuracy on the digits read row by row.", (), _check_mlp)))
