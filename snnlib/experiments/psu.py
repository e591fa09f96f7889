"""Chapter 02 (PSU): the neuron comparison of Li et al. (IJCNN 2024), LIF, PSN and the PSU family.

The paper claims that PSU, IPSU and RPSU reach accuracy close to the best parallel neurons at a lower
firing rate, and that they train faster than the serial LIF.  The same network is trained with each
neuron, for each seed, and accuracy, firing rate (spikes per neuron per step, measured on the test set)
and wall time are recorded.

* ``psu-neurons``: LIF (tau = 2, soft reset), PSN, PSU, IPSU, RPSU in the same network.
  At ``ci``: MNIST-1D (T = 40, one value per step), the small network of chapter 01 (Linear, BN, neuron)
  x 2, threshold 1 for every neuron (as the LIF and the PSN's initial bias), 6 epochs (10 took the
  chapter to 79-83 s of its 75 s, and 8 took 64-87 s as this machine's speed varied), SGD 0.1, three
  seeds, one thread (``threads``: the tensors are too small to gain from a second one).  At ``gpu``/``full``:
  sequential CIFAR-10 with chapter 01's network (threshold 0.5, T = 32).
* ``psu-shd``: the same five neurons on SHD through tonic (T = 15, threshold 0.3) with the official
  code's FC network (700-128-128-128-20).  ``gpu`` and ``full`` only: it needs the real data.

The networks are chapter 01's (:class:`snnlib.models.SequenceNet`, :class:`snnlib.models.SCIFARNet`), built
with the LIF and then given the neuron of the run in every spiking layer (:func:`with_neuron`).

Defined in chapter 02 (Parallel Spiking Unit), section "Reproduction at ci".
"""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn as nn

from .. import config, data, train
from ..neurons import IPSU, LIF, PSN, PSU, RPSU
from ..models.sequence import SHDNet
from ..utils import seed_everything, torch_threads
from . import Claim, Experiment, register, runs_dir, mean_std
from . import psn as psn_exp

__all__ = ["NEURONS", "LABELS", "FAMILY", "make_neuron", "with_neuron", "shd_net", "settings", "seeds_of",
           "train_neuron", "run_neurons", "run_shd", "check_claims",
           "summary_table"]

NEURONS = ("lif", "psn", "psu", "ipsu", "rpsu")
FAMILY = ("psu", "ipsu", "rpsu")
LABELS = {"lif": "LIF", "psn": "PSN", "psu": "PSU", "ipsu": "IPSU", "rpsu": "RPSU"}
CLOSE_POINTS = 5.0   # "close to PSN": within this many percentage points of its accuracy


def make_neuron(kind: str, T: int, v_threshold: float) -> nn.Module:
    """A neuron of the comparison: ``lif`` (tau 2, soft reset, detached reset, as in chapter 01),
    ``psn`` (PSN(T), its threshold in the bias, initialised to 1), ``psu``, ``ipsu``, ``rpsu`` (tau 2,
    threshold ``v_threshold``, learnable ATan alpha).
    """
    if kind == "lif":
        return LIF(tau=2.0, v_threshold=v_threshold, v_reset=None, detach_reset=True)
    if kind == "psn":
        return PSN(T)
    if kind == "psu":
        return PSU(tau=2.0, v_threshold=v_threshold)
    if kind == "ipsu":
        return IPSU(T, tau=2.0, v_threshold=v_threshold)
    if kind == "rpsu":
        return RPSU(T, tau=2.0, v_threshold=v_threshold)
    raise ValueError(f"kind={kind!r} is not a neuron of the comparison; valid names: {', '.join(NEURONS)}")


def with_neuron(model: nn.Module, kind: str, T: int, v_threshold: float) -> nn.Module:
    """``model`` with every :class:`~snnlib.neurons.LIF` replaced, in place, by a fresh
    :func:`make_neuron` (``kind``, ``T``, ``v_threshold``); returns ``model``.  Raises if it has none.
    """
    swapped = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, LIF):
                setattr(module, name, make_neuron(kind, T, v_threshold))
                swapped += 1
    if not swapped:
        raise ValueError(f"{type(model).__name__} has no LIF layer to replace with {kind!r}")
    return model


def shd_net(kind: str, T: int, v_threshold: float, features: int = 700, hidden: int = 128, classes: int = 20,
            layers: int = 3) -> SHDNet:
    """:class:`snnlib.models.SHDNet` (the official code's ``FC_SNN``) with neuron ``kind`` (:func:`make_neuron`)
    in every layer.

    Defined in chapter 02 (Parallel Spiking Unit), section "Reproduction at gpu".
    """
    return SHDNet(lambda: make_neuron(kind, T, v_threshold), features=features, hidden=hidden, classes=classes,
                  layers=layers)


def settings(scale: str, experiment: str = "psu-neurons") -> dict[str, Any]:
    """Everything that sizes the chapter's experiments at ``scale`` (``psu-neurons`` or ``psu-shd``).

    Defined in chapter 02 (Parallel Spiking Unit), section "Reproduction at ci".
    """
    if experiment == "psu-shd":
        shd = {"dataset": "shd", "T": 15, "v_threshold": 0.3, "hidden": 128, "batch_size": 128,
               "optimizer": "adamw", "lr": 1e-3, "seeds": 1}
        return config.choose(ci=None, gpu={**shd, "epochs": 40}, full={**shd, "epochs": 100},
                             scale_name=scale)
    if experiment != "psu-neurons":
        raise ValueError(f"experiment={experiment!r}; expected 'psu-neurons' or 'psu-shd'")
    scifar = {"dataset": "scifar10", "T": 32, "v_threshold": 0.5, "channels": 128, "batch_size": 128,
              "optimizer": "sgd", "lr": 0.1, "seeds": 1}
    return config.choose(
        ci={"dataset": "mnist1d", "T": 40, "v_threshold": 1.0, "hidden": 64, "layers": 2, "epochs": 6,
            "batch_size": 64, "optimizer": "sgd", "lr": 0.1, "seeds": 3, "threads": 1},
        gpu={**scifar, "epochs": 24}, full={**scifar, "epochs": 256}, scale_name=scale)


def seeds_of(scale: str, seed: int = 0, experiment: str = "psu-neurons") -> list[int]:
    """The seeds of a run: ``seed``, ``seed + 1``, ... (``settings(scale)["seeds"]`` of them)."""
    return [seed + i for i in range(settings(scale, experiment)["seeds"])]


def _model(kind: str, s: dict[str, Any], features: int, classes: int) -> nn.Module:
    if s["dataset"] == "shd":
        return shd_net(kind, s["T"], s["v_threshold"], features=features, hidden=s["hidden"], classes=classes)
    if s["dataset"].startswith("scifar"):
        net = psn_exp.scifar_net("lif", classes, channels=s["channels"], T=s["T"])
    else:
        net = psn_exp.sequence_net("lif", s["T"], features, classes, hidden=s["hidden"], layers=s["layers"])
    return with_neuron(net, kind, s["T"], s["v_threshold"])


def train_neuron(kind: str, scale: str, *, seed: int = 0, experiment: str = "psu-neurons", loaders=None,
                 progress: bool = True) -> train.History:
    """Train the experiment's network with neuron ``kind`` at ``scale`` for one seed; the history.
    """
    s = settings(scale, experiment)
    if s is None:
        raise ValueError(f"{experiment} has no {scale!r} setting; it runs at gpu and full scale")
    seed_everything(seed)
    options = {"T": s["T"]} if s["dataset"] == "shd" else {}
    train_loader, test_loader = loaders or data.loaders(s["dataset"], scale, batch_size=s["batch_size"], seed=seed,
                                                        **options)
    classes = {"shd": 20, "scifar100": 100}.get(s["dataset"], 10)
    features = getattr(train_loader.dataset, "sample_shape", (700,))[-1]   # 1 for MNIST-1D, 700 for SHD
    model = _model(kind, s, features, classes)
    ckpt = None if scale == "ci" else runs_dir() / f"{experiment}-{s['dataset']}-{scale}" / \
        f"{kind}-seed{seed}-e{s['epochs']}"
    return train.fit(model, train_loader, test_loader, epochs=s["epochs"], optimizer=s["optimizer"], lr=s["lr"],
                     label_smoothing=0.1, seed=seed, progress=progress, desc=LABELS[kind], checkpoint_dir=ckpt)



def _over_seeds(histories: list[train.History]) -> dict[str, Any]:
    """Mean and sample standard deviation over seeds of max test accuracy, firing rate and wall time."""
    acc = [h.best("test_acc") for h in histories]
    rate = [float(h.last["test_rate"]) for h in histories]
    wall = [float(h.meta["wall_s"]) for h in histories]
    (a, a_sd), (r, r_sd), (w, w_sd) = mean_std(acc), mean_std(rate), mean_std(wall)
    curves = [[round(x, 4) for x in h.column("test_acc")] for h in histories]
    return {"max_test_acc": a, "max_test_acc_std": a_sd, "per_seed_max_test_acc": acc,
            "firing_rate": r, "firing_rate_std": r_sd, "per_seed_firing_rate": rate,
            "wall_s_per_run": w, "wall_s_per_run_std": w_sd, "per_seed_wall_s": [round(x, 2) for x in wall],
            "seeds": len(histories), "epochs": len(histories[0].epochs),
            "curve": [round(sum(c) / len(c), 4) for c in zip(*curves)]}


def check_claims(m: dict[str, Any]) -> dict[str, Any]:
    """The paper's two claims against the metrics of a run, neuron by neuron.

    * ``close``: each of PSU, IPSU, RPSU is within ``CLOSE_POINTS`` percentage points of PSN's accuracy
      **and** fires less than PSN (spikes per neuron per step);
    * ``faster``: each trains faster than the serial LIF (mean wall time per run).

    Returns ``{"close": {kind: bool}, "faster": {kind: bool}, "close_holds", "faster_holds"}``.
    """
    psn, lif = m["psn"], m["lif"]
    close = {k: bool(100 * (psn["max_test_acc"] - m[k]["max_test_acc"]) <= CLOSE_POINTS
                     and m[k]["firing_rate"] < psn["firing_rate"]) for k in FAMILY}
    faster = {k: bool(m[k]["wall_s_per_run"] < lif["wall_s_per_run"]) for k in FAMILY}
    return {"close": close, "faster": faster, "close_holds": all(close.values()),
            "faster_holds": all(faster.values())}


def _check(m: dict[str, Any]) -> tuple[bool, str]:
    c = check_claims(m)
    psn, lif = m["psn"], m["lif"]

    def part(k: str) -> str:
        return (f"{LABELS[k]} {100 * m[k]['max_test_acc']:.1f}% at rate {m[k]['firing_rate']:.3f}, "
                f"{m[k]['wall_s_per_run']:.1f} s/run")

    text = (f"PSN {100 * psn['max_test_acc']:.1f}% at rate {psn['firing_rate']:.3f}; LIF "
            f"{100 * lif['max_test_acc']:.1f}%, {lif['wall_s_per_run']:.1f} s/run; " + "; ".join(map(part, FAMILY))
            + f". Close to PSN (within {CLOSE_POINTS:g} points) at a lower rate: "
            + ("holds" if c["close_holds"] else "does not hold for "
               + ", ".join(LABELS[k] for k, ok in c["close"].items() if not ok))
            + ". Faster than the serial LIF: "
            + ("holds" if c["faster_holds"] else "does not hold for "
               + ", ".join(LABELS[k] for k, ok in c["faster"].items() if not ok)))
    return c["close_holds"] and c["faster_holds"], text


def _row(kind: str, m: dict[str, Any], paper_key: Optional[str]) -> dict[str, Any]:
    return {"label": LABELS[kind], "metric": "max test accuracy" + (f", mean of {m['seeds']} seeds"
                                                                   if m["seeds"] > 1 else ""),
            "measured": 100 * m["max_test_acc"], "std": 100 * m["max_test_acc_std"], "n": m["seeds"], "unit": "%",
            "per_seed": [100 * a for a in m["per_seed_max_test_acc"]], "paper_key": paper_key}


def summary_table(rec: dict[str, Any]) -> "results.Table":
    """Accuracy, firing rate and wall time of each neuron of a ``psu-neurons`` / ``psu-shd`` record, as
    a :class:`snnlib.results.Table` (mean ± standard deviation over the seeds, each seed's accuracy).

    Defined in chapter 02 (Parallel Spiking Unit), section "Reproduction at ci".
    """
    from .. import results

    rows = []
    for kind in NEURONS:
        m = rec["metrics"][kind]
        rows.append([LABELS[kind], f"{100 * m['max_test_acc']:.2f} ± {100 * m['max_test_acc_std']:.2f}%",
                     ", ".join(f"{100 * a:.1f}" for a in m["per_seed_max_test_acc"]),
                     f"{m['firing_rate']:.3f} ± {m['firing_rate_std']:.3f}",
                     f"{m['wall_s_per_run']:.1f} ± {m['wall_s_per_run_std']:.1f}"])
    n = len(rec["seeds"])
    return results.Table(
        header=["neuron", "max test accuracy", "per seed", "firing rate", "wall time per run (s)"],
        rows=rows, numeric=(1, 2, 3, 4),
        caption=f"{rec['dataset']}, scale {rec['scale']}, seeds {rec['seeds']} (mean ± std over {n})",
        notes=["firing rate: spikes per neuron per time step, all spiking layers, on the test set after the "
               "last epoch; wall time: training and evaluation of one run, on " + str(rec.get("device", "?"))
               + (f", trained on {threads} thread(s)" if (threads := rec["config"].get("threads")) else "")])


def _run(experiment: str, scale: str, seed: int, progress: bool) -> dict[str, Any]:
    s = settings(scale, experiment)
    if s is None:
        raise ValueError(f"{experiment} runs at gpu and full scale only (SHD through tonic); its ci check is "
                         "psu-neurons: python -m snnlib reproduce psu-neurons --scale ci")
    seeds = seeds_of(scale, seed, experiment)
    options = {"T": s["T"]} if s["dataset"] == "shd" else {}
    metrics = {}
    # at ci the tensors are tiny ([40, 64, 64]): a second thread gains nothing, and on a busy machine every
    # multi-threaded op waits for a time slice, so the runs use the thread count of the settings
    with torch_threads(s.get("threads")):
        for kind in NEURONS:
            runs = []
            for sd in seeds:
                loaders = data.loaders(s["dataset"], scale, batch_size=s["batch_size"], seed=sd, **options)
                runs.append(train_neuron(kind, scale, seed=sd, experiment=experiment, loaders=loaders,
                                         progress=progress))
            metrics[kind] = _over_seeds(runs)
    metrics["claims"] = check_claims(metrics)
    keys = {"rpsu": "psu/shd/rpsu"} if s["dataset"] == "shd" else {}
    rows = [_row(kind, metrics[kind], keys.get(kind)) for kind in NEURONS]
    return {"dataset": s["dataset"], "config": s, "metrics": metrics, "rows": rows, "seeds": seeds}


def run_neurons(scale: str, *, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """``psu-neurons``: the five neurons for each seed of :func:`seeds_of`; per neuron the summary of
    :func:`_over_seeds`, and ``metrics["claims"]`` from :func:`check_claims`.
    """
    return _run("psu-neurons", scale, seed, progress)


def run_shd(scale: str, *, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """``psu-shd``: the five neurons on SHD (T = 15, threshold 0.3), gpu and full scale.
    """
    return _run("psu-shd", scale, seed, progress)


_CLAIM = ("The PSU family (PSU, IPSU, RPSU) reaches accuracy close to PSN's (here: within "
          f"{CLOSE_POINTS:g} points) at a lower firing rate, and trains faster than the serial LIF "
          "(wall time per run).")

register(Experiment(
    name="psu-neurons", chapter="psu", title="Neuron comparison: the PSU family against PSN and LIF",
    run=run_neurons, datasets={"ci": "mnist1d", "gpu": "scifar10", "full": "scifar10"},
    claim=Claim(_CLAIM, (), _check)))

register(Experiment(
    name="psu-shd", chapter="psu", title="The PSU family on SHD (T = 15, threshold 0.3)",
    run=run_shd, datasets={"gpu": "shd", "full": "shd"},
    claim=Claim(_CLAIM + " On SHD the paper reports RPSU at 92.49% (secondary).", ("psu/shd/rpsu",), _check)))
