"""Chapter 00 (Foundations): a two-layer spiking MLP learns the digits read row by row.

The first end-to-end run of the book: :class:`SpikingMLP` (Linear, spiking neuron, Linear readout of the
spikes of every step) trained by :func:`snnlib.train.fit` on the scikit-learn digits fed one row per step
(T = 8).  It is the check that data, neuron, surrogate gradient and trainer work together; it is not a
paper's claim, so its row on the scoreboard has no paper number.

Defined in chapter 00 (Foundations), section "Experiment: training a spiking network".
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import torch.nn as nn

from .. import config, data, train
from ..models.sequence import SpikingMLP
from ..utils import seed_everything, torch_threads
from . import Claim, Experiment, register, mean_std

__all__ = ["settings", "train_mlp", "run_mlp"]

TARGET_ACC = 0.90


def settings(scale: str) -> dict[str, Any]:
    """The MLP run at ``scale`` (the same offline data at every scale; larger runs train longer).

    ``seeds``: how many seeds (``seed``, ``seed + 1``, ...) :func:`run_mlp` trains; ``threads``: the
    torch threads it trains on (:func:`snnlib.utils.torch_threads`; absent: unchanged).

    Defined in chapter 00 (Foundations), section "Experiment: training a spiking network".
    """
    return config.choose(
        ci={"dataset": "digits-rows", "hidden": 128, "epochs": 20, "batch_size": 32, "lr": 1e-2,
            "seeds": 3, "threads": 1},
        gpu={"dataset": "digits-rows", "hidden": 256, "epochs": 40, "batch_size": 32, "lr": 1e-2,
             "seeds": 3},
        full={"dataset": "digits-rows", "hidden": 256, "epochs": 80, "batch_size": 32, "lr": 1e-2,
              "seeds": 3},
        scale_name=scale)


def train_mlp(scale: str, *, neuron: Optional[Callable[[int], nn.Module]] = None, seed: int = 0,
              progress: bool = True) -> tuple[train.History, SpikingMLP]:
    """Train :class:`SpikingMLP` at ``scale``; returns the history and the model."""
    s = settings(scale)
    seed_everything(seed)
    train_loader, test_loader = data.loaders(s["dataset"], scale, batch_size=s["batch_size"], seed=seed)
    ds = train_loader.dataset
    model = SpikingMLP(ds.T, ds.sample_shape[-1], ds.n_classes, hidden=s["hidden"], neuron=neuron)
    with torch_threads(s.get("threads")):
        h = train.fit(model, train_loader, test_loader, epochs=s["epochs"], optimizer="adamw", lr=s["lr"],
                      seed=seed, progress=progress, desc="spiking MLP")
    return h, model



def run_mlp(scale: str, *, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """Train :class:`SpikingMLP` once per seed (``seed``, ``seed + 1``, ...).

    Metrics: final and max test accuracy in [0, 1] (mean, sample std and each seed's value), the mean
    firing rate, and the learning curves: ``curves`` (test accuracy per epoch of each seed),
    ``curve`` and ``curve_std`` (their mean and std per epoch), ``loss_curve`` (mean training loss).
    """
    s = settings(scale)
    seeds = [seed + i for i in range(s["seeds"])]
    hists = [train_mlp(scale, seed=sd, progress=progress)[0] for sd in seeds]
    finals = [h.last["test_acc"] for h in hists]
    maxes = [h.best("test_acc") for h in hists]
    curves = [h.column("test_acc") for h in hists]
    per_epoch = [mean_std(list(accs)) for accs in zip(*curves)]
    rates = [h.last.get("test_rate") for h in hists]
    acc, acc_std = mean_std(finals)
    best, best_std = mean_std(maxes)
    metrics = {
        "final_test_acc": acc, "final_test_acc_std": acc_std,
        "per_seed_final_test_acc": [round(a, 4) for a in finals],
        "max_test_acc": best, "max_test_acc_std": best_std,
        "firing_rate": None if None in rates else mean_std(rates)[0],
        "train_wall_s": round(sum(h.meta["wall_s"] for h in hists), 2), "seeds": len(seeds),
        "epochs": len(hists[0].epochs),
        "curves": [[round(a, 4) for a in c] for c in curves],
        "curve": [round(m, 4) for m, _ in per_epoch], "curve_std": [round(sd, 4) for _, sd in per_epoch],
        "loss_curve": [round(sum(ls) / len(ls), 4)
                       for ls in zip(*(h.column("train_loss") for h in hists))],
    }
    rows = [{"label": "two-layer spiking MLP (LIF)",
             "metric": f"final test accuracy, mean of {len(seeds)} seeds" if len(seeds) > 1
             else "final test accuracy",
             "measured": 100 * acc, "std": 100 * acc_std, "n": len(seeds), "unit": "%",
             "per_seed": [100 * a for a in finals], "paper_key": None}]
    return {"dataset": s["dataset"], "config": s, "metrics": metrics, "rows": rows, "seeds": seeds}


def _check_mlp(m: dict[str, Any]) -> tuple[bool, str]:
    acc, sd = m["final_test_acc"], m["final_test_acc_std"]
    return acc >= TARGET_ACC, (f"final test accuracy {100 * acc:.1f} ± {100 * sd:.1f}% over {m['seeds']} "
                               f"seeds after {m['epochs']} epochs ({m['train_wall_s']} s)")


register(Experiment(
    name="foundations-mlp", chapter="foundations", title="A two-layer spiking MLP on the digits, row by row",
    run=run_mlp, datasets={s: "digits-rows" for s in config.SCALES},
    claim=Claim("The book's own check, not a paper's: a two-layer spiking MLP with LIF neurons reaches at "
                "least 90% test accuracy (mean over seeds) on the digits read row by row.", (), _check_mlp)))
