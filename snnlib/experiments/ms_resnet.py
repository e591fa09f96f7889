"""Chapter 06 (MS-ResNet): the degradation problem of deep spiking ResNets, and MS-ResNet without it.

The paper (Hu et al., IEEE TNNLS 2024, Table II) trains plain spiking networks, the vanilla spiking ResNet
and MS-ResNet at growing depth on CIFAR-10: the plain network and the vanilla ResNet stop improving (at
14 and 20 layers), MS-ResNet keeps improving up to 482 layers, with about one spike per neuron.
``ms-degradation`` repeats the comparison with :mod:`snnlib.models.resnet` (plain, vanilla, SEW and MS on
one skeleton, the same neuron everywhere):

* ``ci``: the five families (the paper's four and its W/O LIF ablation) at depths 8 and 32, width 8, T = 4, 3 epochs on 410 of the scikit-learn digits
  (8 x 8; 102 more are the validation split), 5 seeds.  In 21 optimiser steps this measures trainability
  in few steps, not the paper's degradation after 200 epochs;
* ``gpu``: CIFAR-10, vanilla and MS at depths 20 and 56, width 16, 3 epochs of the first 15,000 training
  images, one seed (sized to 20 minutes on a T4: :mod:`snnlib.gpu_budget`);
* ``full``: the five families at depths 20 to 110 for 200 epochs.

Each network picks its epoch on the validation split (:meth:`snnlib.train.History.selected`); the test
accuracy there is what the rows report.  Per family and depth the record also holds the final training
loss, the training-loss curve, the spikes per neuron of the trained network on the test images
(:class:`snnlib.energy.FiringRateMonitor`, rate x T), the SSIM of the firing maps of successive blocks
(:func:`snnlib.models.resnet.ssim`, blocks of one stage) and the gradient-norm ratio of stage 1 after
training.  Before any training it measures the gradient-norm ratio at initialisation of every family under
two initialisations (:data:`INITS`): each family's own recipe, and one initialisation for all (MS's
zero-gamma BN2), so that the isometry contrast between the families can be read apart from the
initialisation.
"""
from __future__ import annotations

import math
import time
from typing import Any, Optional

import torch
from torch.utils.data import DataLoader

from .. import config, data, energy, registry, train
from ..models.resnet import FAMILIES, SpikingResNet, block_gradient_norms, firing_maps, gradient_ratio, ssim
from ..records import Row, judge, over_seeds, seed_list
from ..utils import seed_everything
from . import Experiment, register, runs_dir, mean_std

__all__ = ["LABELS", "INITS", "EXPECTED_FAILURE", "settings", "build_model", "train_one", "trained_statistics",
           "isometry", "run_degradation"]

LABELS = {"plain": "plain (no shortcut)", "vanilla": "vanilla spiking ResNet", "sew": "SEW-ResNet (ADD)",
          "ms": "MS-ResNet", "wo_lif": "vanilla W/O LIF"}
#: the two initialisations of the isometry table: BN2's gamma per family (None: the family's own) and a name
INITS = {"own": None, "zero-gamma": 0.0}
#: the depth beyond which the paper's Table II shows a family degrading on CIFAR-10 (plain 14, vanilla 20):
#: deeper rows of these families are declared expected failures
PAPER_PEAK = {"plain": 14, "vanilla": 20}
EXPECTED_FAILURE = ("the paper's {family} peaks at {peak} layers on CIFAR-10 (Table II) and degrades beyond; "
                    "in few steps it may not train at all")


def settings(scale: str) -> dict[str, Any]:
    """What sizes the degradation comparison at ``scale``.

    At ``ci`` the training set is cut to ``train_size`` digits (of which ``val_fraction`` is the validation
    split): one epoch of the full 1437 took 2 to 5 s per network on this (loaded) CPU, and the page trains
    40 networks.  In those few steps Adam at 3e-3 left MS-8, MS-20 and vanilla-20 at chance (seeds 0 and 1:
    10 to 23% test accuracy); at 2e-2 they reached 78 to 91%, 85 to 91% and 43 to 63%.  Depth 32, not 20,
    is the deep end: the paper's vanilla ResNet peaks at 20, so depth 20 cannot show its degradation.

    Defined in chapter 06 (MS-ResNet), section "06 · MS-ResNet: membrane shortcuts and deep spiking ResNets that do not degrade".
    """
    return config.choose(
        ci={"dataset": "digits-images", "size": 8, "families": list(FAMILIES), "depths": [8, 32], "width": 8,
            "T": 4, "epochs": 3, "batch_size": 64, "train_size": 512, "val_fraction": 0.2, "optimizer": "adam",
            "lr": 2e-2, "weight_decay": 0.0, "seeds": 5, "stat_batch": 256, "isometry_depths": [8, 32, 110]},
        gpu={"dataset": "cifar10", "families": ["vanilla", "ms"], "depths": [20, 56], "width": 16, "T": 4,
             "epochs": 3, "batch_size": 128, "train_size": 15_000, "val_fraction": 0.1, "optimizer": "adam",
             "lr": 1e-3, "weight_decay": 0.0, "seeds": 1, "stat_batch": 256, "isometry_depths": [8, 32, 110]},
        full={"dataset": "cifar10", "families": list(FAMILIES), "depths": [20, 32, 44, 56, 110], "width": 16,
              "T": 4, "epochs": 200, "batch_size": 128, "train_size": None, "val_fraction": 0.1,
              "optimizer": "sgd", "lr": 0.1, "weight_decay": 1e-4, "seeds": 1, "stat_batch": 256,
              "isometry_depths": [8, 32, 110]},
        scale_name=scale)


def _loaders(scale: str, seed: int) -> tuple[DataLoader, DataLoader, DataLoader]:
    s = settings(scale)
    options = {"size": s["size"]} if "size" in s else {}
    return data.split_loaders(s["dataset"], scale, val_fraction=s["val_fraction"], batch_size=s["batch_size"],
                              seed=seed, train_size=s["train_size"], **options)


def build_model(family: str, depth: int, scale: str, in_channels: int, classes: int) -> SpikingResNet:
    """The experiment's network of ``family`` and ``depth`` at ``scale``."""
    s = settings(scale)
    return SpikingResNet(family, depth, s["width"], in_channels=in_channels, num_classes=classes, T=s["T"])


def train_one(family: str, depth: int, scale: str, *, seed: int = 0, progress: bool = True,
              loaders=None) -> tuple[train.History, SpikingResNet]:
    """Train one network at ``scale`` on the training split, evaluating the validation split and the test
    set after each epoch; returns its history and the trained model.  ``loaders``: ``(train, val, test)``."""
    s = settings(scale)
    seed_everything(seed)
    train_loader, val_loader, test_loader = loaders or _loaders(scale, seed)
    x0, _ = next(iter(test_loader))
    classes = getattr(train_loader.dataset, "n_classes", 10)
    model = build_model(family, depth, scale, x0.shape[-3], classes)
    ckpt = None if scale == "ci" else runs_dir() / f"ms-degradation-{scale}" / \
        f"{family}{depth}-seed{seed}-e{s['epochs']}-n{s.get('train_size') or 'all'}"
    h = train.fit(model, train_loader, test_loader, val_loader=val_loader, epochs=s["epochs"],
                  optimizer=s["optimizer"], lr=s["lr"], weight_decay=s["weight_decay"], seed=seed,
                  progress=progress, desc=f"{LABELS[family]}-{depth}", checkpoint_dir=ckpt)
    return h, model


def _stage_ratio(model: SpikingResNet, x: torch.Tensor, seed: int) -> float:
    """Stage 1's gradient-norm ratio of ``model`` on ``x`` (evaluation mode: BN's running statistics)."""
    was = model.training
    model.eval()
    try:
        n = block_gradient_norms(model, x, generator=torch.Generator().manual_seed(seed))
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was)
    return n[0] / n[-1] if n[-1] > 0 else math.nan


def trained_statistics(model: SpikingResNet, x: torch.Tensor, *, seed: int = 0) -> dict[str, Any]:
    """Spikes per neuron, firing rate, per-block mean firing, the SSIM of successive blocks' firing maps
    (blocks of the same stage) and stage 1's gradient-norm ratio (random linear loss drawn from ``seed``)
    of ``model`` on images ``x``, in evaluation mode."""
    model.eval()
    try:
        with torch.no_grad(), energy.FiringRateMonitor(model) as mon:
            model(x)
        with torch.no_grad():
            maps = firing_maps(model, x)
    finally:
        model.train()
    ssims = [ssim(a, b) if a.shape == b.shape else None for a, b in zip(maps, maps[1:])]
    return {"spikes_per_neuron": mon.spikes_per_neuron(model.T), "firing_rate": mon.rate,
            "block_rates": [float(m.mean()) for m in maps], "ssim": ssims,
            "ratio_after_training": _stage_ratio(model, x, seed)}


def isometry(scale: str, seeds: list[int]) -> dict[str, dict[str, Any]]:
    """Stage 1's gradient-norm ratio at initialisation (:func:`snnlib.models.resnet.gradient_ratio`, width
    and T of ``scale``, 4 random 8 x 8 one-channel inputs) of every family at ``isometry_depths``, under each
    of :data:`INITS`; keyed ``"init/family-depth"``.  NaN (a network that passes no gradient to its stage
    output) is kept as NaN (``None`` in the record)."""
    s = settings(scale)
    out = {}
    for init, gamma in INITS.items():
        for family in FAMILIES:
            for depth in s["isometry_depths"]:
                r = gradient_ratio(family, depth, width=8, seeds=seeds, batch=4, in_channels=1, T=s["T"],
                                   bn2_gamma=gamma)
                out[f"{init}/{family}-{depth}"] = {"init": init, "family": family, "depth": depth,
                                                   "per_seed": r["per_seed"], "ratio": r["ratio"]}
    return out


def run_degradation(scale: str, *, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """Train every family at every depth for each seed, measure the isometry table, and judge the claims.

    Metrics per ``"family-depth"``: the test accuracy at the epoch chosen on validation (``selected_test_acc``,
    mean, std and per seed, with ``selected_epochs``), the max test accuracy over epochs (shown, never
    judged), the final training loss, the statistics of :func:`trained_statistics`; and ``isometry``
    (:func:`isometry`).
    """
    s = settings(scale)
    seeds = seed_list(s["seeds"], seed)
    metrics: dict[str, Any] = {}
    classes = 10
    for family in s["families"]:
        for depth in s["depths"]:
            runs = []
            for sd in seeds:
                loaders = _loaders(scale, sd)
                classes = getattr(loaders[0].dataset, "n_classes", 10)
                t0 = time.perf_counter()
                h, model = train_one(family, depth, scale, seed=sd, progress=progress, loaders=loaders)
                wall = time.perf_counter() - t0
                x = torch.cat([b[0] for b in loaders[2]])[: s["stat_batch"]]
                st = trained_statistics(model, x.to(next(model.parameters()).device), seed=sd)
                chosen = h.selected()
                runs.append({"selected_test_acc": chosen["test_acc"], "selected_epoch": chosen["selected_epoch"],
                             "max_test_acc": h.best("test_acc"), "final_test_acc": h.last["test_acc"],
                             "train_loss": h.last["train_loss"], "curve": h.column("train_loss"),
                             "wall_s": wall, **st})
            n_pairs = len(runs[0]["ssim"])
            metrics[f"{family}-{depth}"] = {
                "family": family, "depth": depth,
                **over_seeds(runs, ("selected_test_acc", "max_test_acc", "train_loss", "spikes_per_neuron")),
                "selected_epochs": [r["selected_epoch"] for r in runs],
                "firing_rate": mean_std([r["firing_rate"] for r in runs])[0],
                "ratio_after_training": [r["ratio_after_training"] for r in runs],
                "curve": [round(sum(c) / len(c), 4) for c in zip(*(r["curve"] for r in runs))],
                "ssim": [None if runs[0]["ssim"][i] is None else mean_std([r["ssim"][i] for r in runs])[0]
                         for i in range(n_pairs)],
                "block_rates": [mean_std([r["block_rates"][i] for r in runs])[0]
                                for i in range(len(runs[0]["block_rates"]))],
                "wall_s": round(sum(r["wall_s"] for r in runs), 2), "seeds": len(runs), "epochs": s["epochs"],
            }
    iso = isometry(scale, seeds)
    out_metrics = {"networks": metrics, "isometry": iso, "isometry_depths": s["isometry_depths"]}
    rows, claims = _rows_and_claims(s, seeds, metrics, iso, 100 / classes)
    return {"dataset": s["dataset"] + (f" ({s['size']} x {s['size']})" if "size" in s else ""), "config": s,
            "metrics": out_metrics, "rows": rows, "claims": claims, "seeds": seeds}


def accuracy_label(family: str, depth: int) -> str:
    """The label of the accuracy row of ``family`` at ``depth``."""
    return f"{LABELS[family]}-{depth}"


def _rows_and_claims(s: dict[str, Any], seeds: list[int], metrics: dict[str, Any], iso: dict[str, Any],
                     chance: float) -> tuple[list[Row], list]:
    acc: dict[tuple[str, int], Row] = {}
    for f in s["families"]:
        for d in s["depths"]:
            peak = PAPER_PEAK.get(f)
            fail = EXPECTED_FAILURE.format(family=LABELS[f], peak=peak) if peak is not None and d > peak else None
            acc[f, d] = Row(accuracy_label(f, d), "test accuracy at the epoch chosen on validation", "%",
                            [100 * v for v in metrics[f"{f}-{d}"]["per_seed_selected_test_acc"]], seeds,
                            chance=chance, expected_failure=fail, selected_on="validation (epoch)")
    rows: list[Row] = list(acc.values())
    claims = []
    d0, d1 = min(s["depths"]), max(s["depths"])
    has = lambda f: f in s["families"]  # noqa: E731
    if has("ms") and has("vanilla"):
        claims.append(judge(f"MS-ResNet-{d1} is more accurate than the vanilla spiking ResNet-{d1}",
                            acc["ms", d1], acc["vanilla", d1], source="ms_resnet/cifar10/depth"))
    if d1 > d0:
        if has("vanilla"):
            claims.append(judge(f"The vanilla spiking ResNet is less accurate at depth {d1} than at depth {d0}",
                                acc["vanilla", d1], acc["vanilla", d0], direction="less",
                                source="ms_resnet/cifar10/depth"))
        if has("ms"):
            m = registry.margin("ms_resnet/no_degradation")
            claims.append(judge(f"MS-ResNet does not degrade: depth {d1} is within {m.value:g} points of depth {d0}",
                                acc["ms", d1], acc["ms", d0], direction="equivalent", margin=m.value,
                                margin_reason=m.reason, source="ms_resnet/cifar10/depth"))
        if has("sew"):
            claims.append(judge(f"SEW-ResNet is less accurate at depth {d1} than at depth {d0}",
                                acc["sew", d1], acc["sew", d0], direction="less", source="ours"))
        if has("wo_lif"):
            m = registry.margin("ms_resnet/no_degradation")
            claims.append(judge(f"The vanilla ResNet without the neuron after the sum (W/O LIF) does not degrade: "
                                f"depth {d1} is within {m.value:g} points of depth {d0}",
                                acc["wo_lif", d1], acc["wo_lif", d0], direction="equivalent", margin=m.value,
                                margin_reason=m.reason, source="ms_resnet/cifar10/depth"))
    if has("ms"):
        spn = Row(f"MS-ResNet-{d1}, spikes per neuron", f"spikes per neuron over T = {s['T']} (rate x T), test images",
                  "spikes", metrics[f"ms-{d1}"]["per_seed_spikes_per_neuron"], seeds,
                  paper_key="ms_resnet/spikes_per_neuron")
        rows.append(spn)
        m = registry.margin("ms_resnet/about_one_spike")
        claims.append(judge(f"MS-ResNet-{d1} fires about one spike per neuron", spn, value=1.0,
                            direction="equivalent", margin=m.value, margin_reason=m.reason,
                            source="ms_resnet/spikes_per_neuron"))
    deep = max(s["isometry_depths"])
    m = registry.margin("ms_resnet/isometry")
    metric = f"stage 1 gradient-norm ratio at initialisation, depth {deep}"
    ratio_row = lambda init, f, what: Row(f"{LABELS[f]}-{deep}, {what}", metric, "ratio",  # noqa: E731
                                          iso[f"{init}/{f}-{deep}"]["per_seed"], seeds)
    ms_own = ratio_row("own", "ms", "own initialisation (zero-gamma BN2)")
    sew_zero = ratio_row("zero-gamma", "sew", "zero-gamma BN2")
    sew_own = ratio_row("own", "sew", "own initialisation (tdBN)")
    van_own = ratio_row("own", "vanilla", "own initialisation (tdBN)")
    rows += [ms_own, sew_zero, sew_own, van_own]
    claims.append(judge(f"MS-ResNet keeps the gradient norm through a stage at initialisation (ratio 1, depth {deep})",
                        ms_own, value=1.0, direction="equivalent", margin=m.value, margin_reason=m.reason,
                        source="ms_resnet"))
    claims.append(judge(f"With MS's zero-gamma BN2, SEW-ResNet keeps it too (ratio 1, depth {deep})", sew_zero,
                        value=1.0, direction="equivalent", margin=m.value, margin_reason=m.reason, source="ours"))
    claims.append(judge(f"With tdBN's initialisation, the vanilla spiking ResNet loses gradient norm through a "
                        f"stage (ratio below 1, depth {deep})", van_own, value=1.0, direction="less",
                        source="ms_resnet"))
    return rows, claims


register(Experiment(
    name="ms-degradation", chapter="ms_resnet", title="Deep spiking ResNets: degradation against depth",
    run=run_degradation, datasets={"ci": "digits-images (8 x 8)", "gpu": "cifar10", "full": "cifar10"},
    caveats=(
        "At `ci` the networks see 8 x 8 digits for 3 epochs (21 optimiser steps), at depths 8 and 32: what "
        "is measured is trainability in few steps, not the paper's degradation after 200 epochs on CIFAR-10.",
        "Each family trains with its own initialisation (MS: zero-gamma BN2; the others tdBN's). The "
        "one-initialisation comparison is of gradient norms at initialisation only; no network is trained "
        "under it.",
        "Spikes per neuron, SSIM and the gradient ratio after training are of the network after its last "
        "epoch; accuracies are at the epoch chosen on validation.",
        "T = 4 time steps; the paper's spike counts are its firing rates times its own number of steps, so "
        "a count over 4 steps is not the paper's number.",
    )))
