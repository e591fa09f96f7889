"""Chapter 02 (PSU): the neuron comparison of Li et al. (IJCNN 2024), LIF, PSN and the PSU family, and the
reset ablation.

The paper claims that PSU, IPSU and RPSU reach accuracy close to the best parallel neurons at a lower
firing rate (and that they train faster than the serial LIF: a speed claim, which the chapter's speed table
measures, never a training run).  The same network is trained with each neuron, for each seed; the epoch is
chosen on a validation split carved from the training data, and the test accuracy and firing rate (spikes
per neuron per step, on the test set) are read at that epoch.

* ``psu-neurons``: LIF (tau = 2, soft reset), PSN, PSU, IPSU, RPSU in the same network, and the PSU without
  its reset term :math:`\\theta B\\sigma(AX)` (:class:`snnlib.neurons.psu.PSUWithoutReset`: the reset
  ablation, same network and threshold).  At ``ci``: MNIST-1D (T = 40, one value per step), the small
  network of chapter 01 (Linear, BN, neuron) x 2, threshold 0.5 for every neuron (the paper's S-CIFAR
  value), 6 epochs, SGD 0.1, five seeds, 20% of the training data held out for validation, one thread
  (``threads``: the tensors are too small to gain from a second one), and the PSU family in the official
  dense form (``method``: at T = 40 it is faster on a CPU than the scans, with the same numbers up to
  rounding).  At ``gpu``/``full``: sequential CIFAR-10 with chapter 01's network (threshold 0.5, T = 32).
* ``psu-shd``: the same neurons on SHD through tonic (T = 15, threshold 0.3) with the official code's FC
  network (700-128-128-128-20).  ``gpu`` and ``full`` only: it needs the real data.

The networks are chapter 01's (:class:`snnlib.models.SequenceNet`, :class:`snnlib.models.SCIFARNet`), built
with the LIF and then given the neuron of the run in every spiking layer (:func:`with_neuron`).

Defined in chapter 02 (Parallel Spiking Unit), section "Reproduction at ci".
"""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from .. import config, data, registry, train
from ..models.sequence import SHDNet
from ..neurons import IPSU, LIF, PSN, PSU, RPSU
from ..neurons.psu import PSUWithoutReset
from ..records import Row, judge, seed_list
from ..utils import seed_everything, torch_threads
from . import Experiment, register, runs_dir, mean_std
from . import psn as psn_exp

__all__ = ["NEURONS", "KINDS", "LABELS", "FAMILY", "ABLATION", "make_neuron", "with_neuron", "shd_net", "settings",
           "seeds_of", "train_neuron", "run_neurons", "run_shd", "summary_table", "rate_label"]

NEURONS = ("lif", "psn", "psu", "ipsu", "rpsu")
FAMILY = ("psu", "ipsu", "rpsu")
#: the reset ablation: the PSU without its theta B sigma(AX) term
ABLATION = "psu_noreset"
KINDS = (*NEURONS, ABLATION)
LABELS = {"lif": "LIF", "psn": "PSN", "psu": "PSU", "ipsu": "IPSU", "rpsu": "RPSU",
          ABLATION: "PSU without reset"}
RATE_UNIT = "spikes per neuron per step"


def make_neuron(kind: str, T: int, v_threshold: float, method: str = "scan") -> nn.Module:
    """A neuron of the comparison: ``lif`` (tau 2, soft reset, detached reset, as in chapter 01),
    ``psn`` (PSN(T), its threshold in the bias, initialised to 1), ``psu``, ``ipsu``, ``rpsu`` (tau 2,
    threshold ``v_threshold``, learnable ATan alpha, ``method`` ``"scan"`` or ``"dense"``), and
    ``psu_noreset`` (:class:`snnlib.neurons.psu.PSUWithoutReset`, the PSU without its reset term).
    """
    if kind == "lif":
        return LIF(tau=2.0, v_threshold=v_threshold, v_reset=None, detach_reset=True)
    if kind == "psn":
        return PSN(T)
    if kind == "psu":
        return PSU(tau=2.0, v_threshold=v_threshold, method=method)
    if kind == ABLATION:
        return PSUWithoutReset(tau=2.0, v_threshold=v_threshold, method=method)
    if kind == "ipsu":
        return IPSU(T, tau=2.0, v_threshold=v_threshold, method=method)
    if kind == "rpsu":
        return RPSU(T, tau=2.0, v_threshold=v_threshold, method=method)
    raise ValueError(f"kind={kind!r} is not a neuron of the comparison; valid names: {', '.join(KINDS)}")


def with_neuron(model: nn.Module, kind: str, T: int, v_threshold: float, method: str = "scan") -> nn.Module:
    """``model`` with every :class:`~snnlib.neurons.LIF` replaced, in place, by a fresh
    :func:`make_neuron` (``kind``, ``T``, ``v_threshold``, ``method``); returns ``model``.  Raises if it has none.
    """
    swapped = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, LIF):
                setattr(module, name, make_neuron(kind, T, v_threshold, method))
                swapped += 1
    if not swapped:
        raise ValueError(f"{type(model).__name__} has no LIF layer to replace with {kind!r}")
    return model


def shd_net(kind: str, T: int, v_threshold: float, features: int = 700, hidden: int = 128, classes: int = 20,
            layers: int = 3, method: str = "scan") -> SHDNet:
    """:class:`snnlib.models.SHDNet` (the official code's ``FC_SNN``) with neuron ``kind`` (:func:`make_neuron`)
    in every layer.

    Defined in chapter 02 (Parallel Spiking Unit), section "Reproduction at gpu".
    """
    return SHDNet(lambda: make_neuron(kind, T, v_threshold, method), features=features, hidden=hidden,
                  classes=classes, layers=layers)


def settings(scale: str, experiment: str = "psu-neurons") -> dict[str, Any]:
    """Everything that sizes the chapter's experiments at ``scale`` (``psu-neurons`` or ``psu-shd``).

    Defined in chapter 02 (Parallel Spiking Unit), section "Reproduction at ci".
    """
    if experiment == "psu-shd":
        shd = {"dataset": "shd", "T": 15, "v_threshold": 0.3, "hidden": 128, "batch_size": 128,
               "optimizer": "adamw", "lr": 1e-3, "seeds": 1, "val_fraction": 0.2}
        return config.choose(ci=None, gpu={**shd, "epochs": 20}, full={**shd, "epochs": 100},
                             scale_name=scale)
    if experiment != "psu-neurons":
        raise ValueError(f"experiment={experiment!r}; expected 'psu-neurons' or 'psu-shd'")
    scifar = {"dataset": "scifar10", "T": 32, "v_threshold": 0.5, "channels": 128, "batch_size": 128,
              "optimizer": "sgd", "lr": 0.1, "seeds": 1, "val_fraction": 0.1}
    return config.choose(
        ci={"dataset": "mnist1d", "T": 40, "v_threshold": 0.5, "hidden": 64, "layers": 2, "epochs": 6,
            "batch_size": 64, "optimizer": "sgd", "lr": 0.1, "seeds": 5, "val_fraction": 0.2, "threads": 1,
            "method": "dense"},
        gpu={**scifar, "epochs": 5, "train_size": 10_000}, full={**scifar, "epochs": 256}, scale_name=scale)


def seeds_of(scale: str, seed: int = 0, experiment: str = "psu-neurons") -> list[int]:
    """The seeds of a run: ``seed``, ``seed + 1``, ... (``settings(scale)["seeds"]`` of them)."""
    return seed_list(settings(scale, experiment)["seeds"], seed)


def _model(kind: str, s: dict[str, Any], features: int, classes: int) -> nn.Module:
    method = s.get("method", "scan")
    if s["dataset"] == "shd":
        return shd_net(kind, s["T"], s["v_threshold"], features=features, hidden=s["hidden"], classes=classes,
                       method=method)
    if s["dataset"].startswith("scifar"):
        net = psn_exp.scifar_net("lif", classes, channels=s["channels"], T=s["T"])
    else:
        net = psn_exp.sequence_net("lif", s["T"], features, classes, hidden=s["hidden"], layers=s["layers"])
    return with_neuron(net, kind, s["T"], s["v_threshold"], method)


def _loaders(s: dict[str, Any], scale: str, seed: int):
    options = {"T": s["T"]} if s["dataset"] == "shd" else {}
    return data.split_loaders(s["dataset"], scale, val_fraction=s.get("val_fraction", 0.2), seed=seed,
                              batch_size=s["batch_size"], train_size=s.get("train_size"), **options)


def train_neuron(kind: str, scale: str, *, seed: int = 0, experiment: str = "psu-neurons", loaders=None,
                 progress: bool = True) -> train.History:
    """Train the experiment's network with neuron ``kind`` at ``scale`` for one seed on the training split,
    evaluating the validation split and the test set every epoch; the history.  ``loaders``: (train, val,
    test), default :func:`snnlib.data.split_loaders` for ``seed``.
    """
    s = settings(scale, experiment)
    if s is None:
        raise ValueError(f"{experiment} has no {scale!r} setting; it runs at gpu and full scale")
    seed_everything(seed)
    train_loader, val_loader, test_loader = loaders or _loaders(s, scale, seed)
    classes = {"shd": 20, "scifar100": 100}.get(s["dataset"], 10)
    features = getattr(train_loader.dataset, "sample_shape", (700,))[-1]   # 1 for MNIST-1D, 700 for SHD
    model = _model(kind, s, features, classes)
    ckpt = None if scale == "ci" else runs_dir() / f"{experiment}-{s['dataset']}-{scale}" / \
        f"{kind}-seed{seed}-e{s['epochs']}-n{s.get('train_size') or 'all'}"
    return train.fit(model, train_loader, test_loader, val_loader=val_loader, epochs=s["epochs"],
                     optimizer=s["optimizer"], lr=s["lr"], label_smoothing=0.1, seed=seed, progress=progress,
                     desc=LABELS[kind], checkpoint_dir=ckpt)


def _over_seeds(histories: list[train.History]) -> dict[str, Any]:
    """Per neuron, over the seeds: the test accuracy and firing rate at the epoch chosen on validation
    (mean, sample std, each seed's value, the chosen epochs), the max test accuracy over epochs (shown as a
    secondary metric, never used to decide), wall time per run, and the mean test and validation curves."""
    chosen = [h.selected() for h in histories]
    acc = [float(c["test_acc"]) for c in chosen]
    rate = [float(c["test_rate"]) for c in chosen]
    best = [h.best("test_acc") for h in histories]
    wall = [float(h.meta["wall_s"]) for h in histories]
    (a, a_sd), (r, r_sd), (w, w_sd), (b, b_sd) = mean_std(acc), mean_std(rate), mean_std(wall), mean_std(best)
    curves = [[round(x, 4) for x in h.column("test_acc")] for h in histories]
    vals = [[round(x, 4) for x in h.column("val_acc")] for h in histories]
    return {"test_acc": a, "test_acc_std": a_sd, "per_seed_test_acc": acc,
            "selected_epochs": [int(c["selected_epoch"]) for c in chosen],
            "max_test_acc": b, "max_test_acc_std": b_sd, "per_seed_max_test_acc": best,
            "firing_rate": r, "firing_rate_std": r_sd, "per_seed_firing_rate": rate,
            "wall_s_per_run": w, "wall_s_per_run_std": w_sd, "per_seed_wall_s": [round(x, 2) for x in wall],
            "seeds": len(histories), "epochs": len(histories[0].epochs),
            "curve": [round(sum(c) / len(c), 4) for c in zip(*curves)],
            "val_curve": [round(sum(c) / len(c), 4) for c in zip(*vals)]}


def rate_label(kind: str) -> str:
    """The label of neuron ``kind``'s firing-rate row (its accuracy row is ``LABELS[kind]``)."""
    return f"{LABELS[kind]} firing rate"


def _rows(metrics: dict[str, Any], seeds: list[int], classes: int, keys: dict[str, str]) -> dict[str, Row]:
    rows = {}
    for kind in KINDS:
        m = metrics[kind]
        rows[kind] = Row(LABELS[kind], "test accuracy at the epoch chosen on validation", "%",
                         [100 * a for a in m["per_seed_test_acc"]], seeds, chance=100 / classes,
                         selected_on="validation (epoch)", paper_key=keys.get(kind))
    for kind in KINDS:
        m = metrics[kind]
        rows["rate/" + kind] = Row(rate_label(kind), "firing rate on the test set at the epoch chosen on validation",
                                   RATE_UNIT, m["per_seed_firing_rate"], seeds, selected_on="validation (epoch)")
    return rows


def _claims(rows: dict[str, Row]) -> list:
    close = registry.margin("psu/close-to-psn")
    out = []
    for k in FAMILY:   # the paper's claim, member by member: accuracy close to PSN's, and fewer spikes
        out.append(judge(f"{LABELS[k]} reaches accuracy close to PSN's (within ±{close.value:g} points)",
                         rows[k], rows["psn"], direction="equivalent", margin=close.value,
                         margin_reason=close.reason, source="psu"))
        out.append(judge(f"{LABELS[k]} fires less than PSN", rows["rate/" + k], rows["rate/psn"], direction="less",
                         source="psu"))
    # the reset ablation: what the theta B sigma(AX) term buys (the reading notes doubt it buys accuracy)
    out.append(judge("The PSU's reset term raises its accuracy (PSU against the PSU without reset)",
                     rows["psu"], rows[ABLATION], source="ours"))
    out.append(judge("The PSU's reset term lowers its firing rate (PSU against the PSU without reset)",
                     rows["rate/psu"], rows["rate/" + ABLATION], direction="less", source="ours"))
    # our reading of why the numbers fall where they do
    out.append(judge("PSN is more accurate than PSU (the PSU keeps a LIF's short memory)", rows["psn"], rows["psu"],
                     source="ours"))
    out.append(judge("PSN is more accurate than LIF", rows["psn"], rows["lif"], source="ours"))
    out.append(judge("RPSU is more accurate than PSU (a learned spike estimate)", rows["rpsu"], rows["psu"],
                     source="ours"))
    return out


def summary_table(rec: dict[str, Any]) -> "results.Table":
    """Accuracy (at the epoch chosen on validation), firing rate and wall time of each neuron of a
    ``psu-neurons`` / ``psu-shd`` record, as a :class:`snnlib.results.Table` (mean ± standard deviation over
    the seeds, each seed's accuracy, chance).  Wall times are shown, never judged.

    Defined in chapter 02 (Parallel Spiking Unit), section "Reproduction at ci".
    """
    from .. import results

    rows = []
    chance = {r["label"]: r["chance"] for r in rec["rows"]}
    for kind in KINDS:
        if kind not in rec["metrics"]:
            continue
        m = rec["metrics"][kind]
        rows.append([LABELS[kind], f"{100 * m['test_acc']:.2f} ± {100 * m['test_acc_std']:.2f}%",
                     ", ".join(f"{100 * a:.1f}" for a in m["per_seed_test_acc"]),
                     f"{chance.get(LABELS[kind], float('nan')):g}%",
                     f"{m['firing_rate']:.3f} ± {m['firing_rate_std']:.3f}",
                     f"{m['wall_s_per_run']:.1f} ± {m['wall_s_per_run_std']:.1f}"])
    n = len(rec["seeds"])
    return results.Table(
        header=["neuron", "test accuracy", "per seed", "chance", "firing rate", "wall time per run (s)"],
        rows=rows, numeric=(1, 2, 3, 4, 5),
        caption=f"{rec['dataset']}, scale {rec['scale']}, seeds {rec['seeds']} (mean ± std over {n})",
        notes=["test accuracy and firing rate at the epoch with the best validation accuracy (a split of the "
               "training data); firing rate: spikes per neuron per time step, all spiking layers, on the test "
               "set; wall time: training and evaluation of one run, on " + str(rec.get("device", "?"))
               + (f", trained on {threads} thread(s)" if (threads := rec["config"].get("threads")) else "")
               + " (shown, not judged: speed is the speed table's question)"])


def _run(experiment: str, scale: str, seed: int, progress: bool) -> dict[str, Any]:
    s = settings(scale, experiment)
    if s is None:
        raise ValueError(f"{experiment} runs at gpu and full scale only (SHD through tonic); its ci check is "
                         "psu-neurons: python -m snnlib reproduce psu-neurons --scale ci")
    seeds = seeds_of(scale, seed, experiment)
    metrics: dict[str, Any] = {}
    # at ci the tensors are tiny ([40, 64, 64]): a second thread gains nothing, and on a busy machine every
    # multi-threaded op waits for a time slice, so the runs use the thread count of the settings
    with torch_threads(s.get("threads")):
        loaders = {sd: _loaders(s, scale, sd) for sd in seeds}   # a seed fixes the split and the batch order
        for kind in KINDS:
            runs = [train_neuron(kind, scale, seed=sd, experiment=experiment, loaders=loaders[sd],
                                 progress=progress) for sd in seeds]
            metrics[kind] = _over_seeds(runs)
    classes = {"shd": 20, "scifar100": 100}.get(s["dataset"], 10)
    keys = {"rpsu": "psu/shd/rpsu"} if s["dataset"] == "shd" else {}
    rows = _rows(metrics, seeds, classes, keys)
    psu, off = metrics["psu"], metrics[ABLATION]
    metrics["reset_ablation"] = {
        "accuracy_points": [100 * (a - b) for a, b in zip(psu["per_seed_test_acc"], off["per_seed_test_acc"])],
        "firing_rate_change": [a - b for a, b in zip(psu["per_seed_firing_rate"], off["per_seed_firing_rate"])],
        "firing_rate_ratio": psu["firing_rate"] / off["firing_rate"] if off["firing_rate"] > 0 else None}
    return {"dataset": s["dataset"], "config": s, "metrics": metrics, "rows": list(rows.values()),
            "claims": _claims(rows), "seeds": seeds}


def run_neurons(scale: str, *, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """``psu-neurons``: the five neurons and the reset ablation for each seed of :func:`seeds_of`; per neuron
    the summary of :func:`_over_seeds`, the rows (accuracy and firing rate per neuron) and the claims.
    """
    return _run("psu-neurons", scale, seed, progress)


def run_shd(scale: str, *, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """``psu-shd``: the five neurons and the reset ablation on SHD (T = 15, threshold 0.3), gpu and full scale.
    """
    return _run("psu-shd", scale, seed, progress)


_CAVEATS = (
    "The speed claim (the PSU family trains faster than the serial LIF) is not judged by training runs: in a "
    "whole run the neuron is a small part of a step, and at the T of these runs (40 at ci, 32 at gpu) the "
    "chapter's speed table finds the dense form ahead of the scans, with no speed-up over the LIF to look for. "
    "The wall times are shown, not judged.",
    "At ci the data are MNIST-1D, not the paper's sequential CIFAR-10 or SHD, trained for 6 epochs, with the "
    "PSU family in the official dense form (faster on a CPU at T = 40 than the scans, which compute the same "
    "numbers): the claims' order is checked, not the paper's numbers.",
)

register(Experiment(
    name="psu-neurons", chapter="psu", title="Neuron comparison: the PSU family against PSN and LIF, and the reset "
                                             "ablation",
    run=run_neurons, datasets={"ci": "mnist1d", "gpu": "scifar10", "full": "scifar10"}, caveats=_CAVEATS))

register(Experiment(
    name="psu-shd", chapter="psu", title="The PSU family on SHD (T = 15, threshold 0.3)",
    run=run_shd, datasets={"gpu": "shd", "full": "shd"},
    caveats=("The paper's RPSU on SHD, 92.49%, is from a secondary source.",
             "The speed claim is not judged by these runs; the wall times are shown, not judged.")))
