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
from ..records import Row, judge, seed_list
from . import Experiment, register, mean_std, runs_dir

__all__ = ["settings", "train_mlp", "logistic_baseline", "run_mlp", "LOGISTIC_C"]

TARGET_ACC = 0.90
#: the inverse regularisation strengths the logistic-regression baseline chooses from on validation
LOGISTIC_C = (0.01, 0.1, 1.0, 10.0)


def settings(scale: str) -> dict[str, Any]:
    """The MLP run at ``scale`` (the same offline data at every scale; larger runs train longer).

    ``seeds``: how many seeds (``seed``, ``seed + 1``, ...) :func:`run_mlp` trains; ``threads``: the
    torch threads it trains on (:func:`snnlib.utils.torch_threads`; absent: unchanged).

    Defined in chapter 00 (Foundations), section "Experiment: training a spiking network".
    """
    return config.choose(
        ci={"dataset": "digits-rows", "hidden": 128, "epochs": 20, "batch_size": 32, "lr": 1e-2,
            "seeds": 5, "threads": 1},
        gpu={"dataset": "digits-rows", "hidden": 256, "epochs": 40, "batch_size": 32, "lr": 1e-2,
             "seeds": 5},
        full={"dataset": "digits-rows", "hidden": 256, "epochs": 80, "batch_size": 32, "lr": 1e-2,
              "seeds": 5},
        scale_name=scale)


def train_mlp(scale: str, *, neuron: Optional[Callable[[int], nn.Module]] = None, seed: int = 0,
              progress: bool = True, readout: str = "raster") -> tuple[train.History, SpikingMLP]:
    """Train :class:`snnlib.models.SpikingMLP` (``readout`` ``"raster"`` or ``"mean"``) at ``scale`` on the
    training split, evaluating the validation split (:func:`snnlib.data.split_loaders`) and the test set
    each epoch; returns the history and the model."""
    s = settings(scale)
    seed_everything(seed)
    train_loader, val_loader, test_loader = data.split_loaders(s["dataset"], scale, batch_size=s["batch_size"],
                                                               seed=seed)
    ds = train_loader.dataset
    model = SpikingMLP(ds.T, ds.sample_shape[-1], ds.n_classes, hidden=s["hidden"], neuron=neuron,
                       readout=readout)
    # gpu and full: a checkpoint per epoch, so that a restarted runtime resumes (not for a neuron passed in)
    ckpt = None if scale == "ci" or neuron is not None else \
        runs_dir() / f"foundations-mlp-{scale}" / f"{readout}-seed{seed}-e{s['epochs']}"
    with torch_threads(s.get("threads")):
        h = train.fit(model, train_loader, test_loader, val_loader=val_loader, epochs=s["epochs"],
                      optimizer="adamw", lr=s["lr"], seed=seed, progress=progress,
                      desc="spiking MLP" + (", time-mean readout" if readout == "mean" else ""), checkpoint_dir=ckpt)
    return h, model


def logistic_baseline(scale: str, *, seed: int = 0) -> dict[str, Any]:
    """The non-spiking floor: multinomial logistic regression on the raw pixels of the same training split,
    its regularisation ``C`` chosen on the same validation split (among :data:`LOGISTIC_C`), read on the
    test set.  Returns ``{"C", "val_acc", "test_acc"}`` (accuracies in [0, 1])."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    s = settings(scale)
    loaders = data.split_loaders(s["dataset"], scale, batch_size=s["batch_size"], seed=seed)

    def arrays(loader):
        ds = loader.dataset
        return ds.x.flatten(1).numpy().astype(np.float64), ds.y.numpy()

    (xtr, ytr), (xva, yva), (xte, yte) = (arrays(ld) for ld in loaders)
    fits = []
    with threadpool_limits(1):  # BLAS on all cores of a busy machine is a hundred times slower here
        for C in LOGISTIC_C:
            clf = LogisticRegression(C=C, max_iter=5000).fit(xtr, ytr)
            fits.append((float(clf.score(xva, yva)), -LOGISTIC_C.index(C), C, clf))
    val_acc, _, C, clf = max(fits, key=lambda f: f[:2])  # the best on validation; the smaller C of equals
    return {"C": C, "val_acc": val_acc, "test_acc": float(clf.score(xte, yte))}



def run_mlp(scale: str, *, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """Train :class:`snnlib.models.SpikingMLP` once per seed (``seed``, ``seed + 1``, ...).

    Metrics: the test accuracy at the epoch chosen on the validation split (``selected_test_acc``, with the
    chosen epochs), the final and max test accuracy in [0, 1] (mean, sample std and each seed's value; the
    max is shown, never used to decide), the mean firing rate, and the learning curves: ``curves`` (test
    accuracy per epoch of each seed), ``curve`` and ``curve_std`` (their mean and std per epoch),
    ``loss_curve`` (mean training loss).  Beside it, on the same seeds and splits: the same network whose
    readout sees only the time-mean of the spikes (``mean_readout``), and logistic regression on the raw
    pixels (``logistic``: the non-spiking floor).  The claims, by the one rule: the selected test accuracy is
    above :data:`TARGET_ACC`; the spiking MLP against logistic regression; the raster readout against the
    time-mean readout.
    """
    s = settings(scale)
    seeds = seed_list(s["seeds"], seed)
    runs = [train_mlp(scale, seed=sd, progress=progress) for sd in seeds]
    mean_runs = [train_mlp(scale, seed=sd, progress=progress, readout="mean")[0] for sd in seeds]
    mean_chosen = [h.selected() for h in mean_runs]
    logistic = [logistic_baseline(scale, seed=sd) for sd in seeds]
    hists, classes = [h for h, _ in runs], runs[0][1].fc2.out_features
    chosen = [h.selected() for h in hists]
    selected = [c["test_acc"] for c in chosen]
    finals = [h.last["test_acc"] for h in hists]
    maxes = [h.best("test_acc") for h in hists]
    curves = [h.column("test_acc") for h in hists]
    per_epoch = [mean_std(list(accs)) for accs in zip(*curves)]
    rates = [h.last.get("test_rate") for h in hists]
    acc, acc_std = mean_std(finals)
    best, best_std = mean_std(maxes)
    metrics = {
        "selected_test_acc": mean_std(selected)[0], "selected_epochs": [c["selected_epoch"] for c in chosen],
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
        "mean_readout": {"per_seed_selected_test_acc": [c["test_acc"] for c in mean_chosen],
                         "selected_epochs": [c["selected_epoch"] for c in mean_chosen],
                         "curve": [round(sum(a) / len(a), 4) for a in zip(*(h.column("test_acc") for h in mean_runs))],
                         "train_wall_s": round(sum(h.meta["wall_s"] for h in mean_runs), 2)},
        "logistic": {"per_seed_test_acc": [r["test_acc"] for r in logistic], "C": [r["C"] for r in logistic]},
    }
    mlp = Row("two-layer spiking MLP (LIF)", "test accuracy at the epoch chosen on validation", "%",
              [100 * a for a in selected], seeds, chance=100 / classes, selected_on="validation (epoch)")
    mean_row = Row("spiking MLP, readout of the time-mean", "test accuracy at the epoch chosen on validation", "%",
                   [100 * c["test_acc"] for c in mean_chosen], seeds, chance=100 / classes,
                   selected_on="validation (epoch)")
    logistic_row = Row("logistic regression on the pixels (not spiking)", "test accuracy", "%",
                       [100 * r["test_acc"] for r in logistic], seeds, chance=100 / classes,
                       selected_on="validation (C)")
    claims = [judge(f"The spiking MLP reaches more than {100 * TARGET_ACC:.0f}% test accuracy", mlp,
                    value=100 * TARGET_ACC, source="ours"),
              judge("The spiking MLP is more accurate than logistic regression on the same pixels", mlp,
                    logistic_row, source="ours"),
              judge("The raster readout is more accurate than the readout of the time-mean", mlp, mean_row,
                    source="ours")]
    return {"dataset": s["dataset"], "config": s, "metrics": metrics, "rows": [mlp, mean_row, logistic_row],
            "claims": claims, "seeds": seeds}


register(Experiment(
    name="foundations-mlp", chapter="foundations", title="A two-layer spiking MLP on the digits, row by row",
    run=run_mlp, datasets={s: "digits-rows" for s in config.SCALES}))
