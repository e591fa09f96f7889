"""Chapter 01 (PSN): the neuron comparison and the order sweep of Fang et al. (NeurIPS 2023).

The paper trains one network with different neurons on sequential CIFAR (an image read column by column,
T = 32) and reports (max test accuracy, official logs) PSN > sliding PSN > masked PSN > LIF > LIF without
reset, and, for masked and sliding PSN, accuracy that rises with the order k up to about k = 4 and then
levels off.

* ``psn-neurons``: PSN, masked PSN, sliding PSN, LIF and LIF without reset in the same network, and at
  ``ci`` a LIF whose time constant suits the task (:data:`FAIR`), so that "PSN family above LIF" is tested
  rather than settled by the paper's tau = 2 on a task of 64 steps.
* ``psn-order``: masked and sliding PSN for several orders k.

Every run trains on a seeded, stratified 80% of the training data; the epoch is chosen on the other 20%
(the validation split), among the epochs at lambda = 1 for the masked PSN, and the test set is read at
that epoch.  Claims are paired over the seeds and decided by the book's one rule
(:func:`snnlib.records.judge`).

At ``gpu`` and ``full`` scale both run on sequential CIFAR with the paper's network (:class:`snnlib.models.SCIFARNet`:
6 x (Conv1d k3, BN, neuron), 128 channels, AvgPool after every 3, FC 1024 -> 256, neuron, FC) and its
recipe (SGD lr 0.1, AdamW lr 1e-3 for sliding PSN, cosine, label smoothing 0.1, batch 128, the PSN code's
augmentation, 256 epochs at ``full``).  At ``ci`` scale, offline, they run on the scikit-learn digits read
pixel by pixel (T = 64, one pixel per step: a long dependency) with :class:`snnlib.models.SequenceNet`, a small
network of the same kind, masked and sliding PSN of order k = T as in the paper's comparison (k = T = 32
there); that checks the claims' orderings, not the paper's numbers.

Defined in chapter 01 (Parallel Spiking Neurons), section "Reproduction: the neuron comparison".
"""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
import torch.nn as nn

from .. import config, data, train
from ..neurons import LIF, PSN, MaskedPSN, ResetFreeLIF, SlidingPSN
from ..models.sequence import SCIFARNet, SequenceNet
from ..records import Row, judge, seed_list
from ..utils import seed_everything, torch_threads
from . import Experiment, register, runs_dir, mean_std

__all__ = ["NEURONS", "FAIR", "READOUT_LAST", "KINDS", "LABELS", "make_neuron", "lambda_schedule", "lambda_one_epochs",
           "band_init_", "sequence_net", "scifar_net", "settings", "build_model", "train_neuron", "fit_neuron", "paper_key",
           "label", "run_neurons", "run_order", "seeds_of", "NEURON_CAVEATS", "ORDER_CAVEATS"]

#: the paper's five neurons, in the order of its table
NEURONS = ("psn", "masked_psn", "sliding_psn", "lif", "lif_no_reset")
#: ours (ci): the masked PSN at k = T trained and read at its last step only (chapter 01's readout ablation)
READOUT_LAST = "masked_psn_last"
#: ours: a LIF whose time constant suits the task (``settings(scale)["fair_tau"]``), beside the paper's tau = 2
FAIR = "lif_fair"
#: every neuron the comparison can train
KINDS = NEURONS + (FAIR,)
LABELS = {"psn": "PSN", "masked_psn": "masked PSN", "sliding_psn": "sliding PSN", "lif": "LIF",
          "lif_no_reset": "LIF without reset", FAIR: "LIF, long time constant"}
#: the ``ci`` fair LIF's time constant: chosen on the validation split of seed 0 when the recipe was set
#: (10 epochs, validation accuracy: tau = 4 28.9%, tau = 16 40.8%, tau = 64 38.3%)
FAIR_TAU = 16.0


def make_neuron(kind: str, T: int, k: Optional[int] = None, tau: Optional[float] = None) -> nn.Module:
    """A neuron of the comparison, as the paper's code makes it.

    ``psn``: PSN(T); ``masked_psn``: MaskedPSN(k, T) (lambda scheduled by :func:`lambda_schedule`);
    ``sliding_psn``: SlidingPSN(k) with Kaiming initialisation (the paper's runs); ``lif``: LIF tau = 2 with
    soft reset and detached reset; ``lif_no_reset``: the LIF without reset, tau = 2; ``lif_fair`` (ours,
    not the paper's): the same LIF with time constant ``tau`` (default :data:`FAIR_TAU`) and without the
    1/tau input scale (``decay_input=False``: with it, a tau = 16 LIF on unit-variance input never fires).
    """
    if kind == "psn":
        return PSN(T)
    if kind in ("masked_psn", "sliding_psn"):
        if k is None:
            raise ValueError(f"kind={kind!r} needs an order k")
        return MaskedPSN(k, T) if kind == "masked_psn" else SlidingPSN(k, exp_init=False)
    if kind == "lif":
        return LIF(tau=2.0, v_reset=None, detach_reset=True)
    if kind == "lif_no_reset":
        return ResetFreeLIF(tau=2.0)
    if kind == FAIR:
        return LIF(tau=FAIR_TAU if tau is None else tau, v_reset=None, detach_reset=True, decay_input=False)
    raise ValueError(f"unknown neuron {kind!r}; valid names: {', '.join(KINDS)}")


def label(kind: str, k: Optional[int] = None, tau: Optional[float] = None) -> str:
    """A row's label: ``"masked PSN, k = 64"``, ``"LIF, τ = 2"``, ``"LIF, τ = 16"``.

    Defined in chapter 01 (Parallel Spiking Neurons), section "Reproduction: the neuron comparison".
    """
    if kind in ("masked_psn", "sliding_psn") and k is not None:
        return f"{LABELS[kind]}, k = {k}"
    if kind in ("lif", "lif_no_reset"):
        return f"{LABELS[kind]}, τ = 2"
    if kind == FAIR:
        return f"LIF, τ = {FAIR_TAU if tau is None else tau:g}"
    return LABELS[kind]


def _named(text: str) -> str:
    """A row label as a claim names it: ``"masked PSN, k = 64"`` -> ``"masked PSN (k = 64)"``."""
    head, _, tail = text.partition(", ")
    return f"{head} ({tail})" if tail else head


def lambda_schedule(epochs: int):
    """``on_epoch_start`` for :func:`snnlib.train.fit`: the masked PSN's lambda, min(8 e / (E - 1), 1)."""
    def set_lambda(epoch: int, model: nn.Module) -> None:
        lam = MaskedPSN.lambda_at(epoch, epochs) if epochs > 1 else 1.0
        for m in model.modules():
            if isinstance(m, MaskedPSN):
                m.lambda_ = lam
    return set_lambda


def lambda_one_epochs(epochs: int) -> list[int]:
    """The 0-based epochs that :func:`lambda_schedule` trains at lambda = 1 (the causal neuron): the only
    epochs a masked PSN may be selected from, since an earlier epoch's network still looks ahead.

    Defined in chapter 01 (Parallel Spiking Neurons), section "Reproduction: the neuron comparison".
    """
    return [e for e in range(epochs) if epochs < 2 or MaskedPSN.lambda_at(e, epochs) >= 1.0]


def band_init_(model: nn.Module) -> nn.Module:
    r"""Redraw the band of every masked PSN of order k < T in ``model`` with the Kaiming bound of its order.

    spikingjelly and the paper's code draw the whole ``[T, T]`` weight like ``nn.Linear(T, T)``:
    :math:`W_{ij} \sim U(-1/\sqrt{T}, 1/\sqrt{T})`.  Once :math:`\lambda = 1` only the band
    :math:`M_k` is left, k entries per row, so the charge :math:`H[t] = \sum_{j} W_{tj} X[j] - 1` of a
    unit-variance input has standard deviation :math:`\sqrt{k / (3T)}` (0.07 at k = 1, T = 64) and the
    neuron never reaches its threshold.  Here the band entries are drawn from
    :math:`U(-1/\sqrt{k}, 1/\sqrt{k})`, so the closed neuron's charge has the spread the open one had
    (:math:`1/\sqrt{3}`); the entries outside the band (gone at :math:`\lambda = 1`) keep the paper's
    draw, and order k = T keeps the paper's weights untouched.  Returns ``model``.

    Defined in chapter 01 (Parallel Spiking Neurons), section "Reproduction: the order sweep".
    """
    for m in model.modules():
        if isinstance(m, MaskedPSN) and m.k < m.T:
            bound = 1.0 / math.sqrt(m.k)
            with torch.no_grad():
                band = torch.empty_like(m.weight).uniform_(-bound, bound)
                m.weight.copy_(torch.where(m.mask0.bool(), band, m.weight))
    return model


def sequence_net(kind: str, T: int, features: int, classes: int, hidden: int = 64, layers: int = 2,
                 k: Optional[int] = None, tau: Optional[float] = None,
                 readout_steps: Optional[int] = None) -> SequenceNet:
    """:class:`snnlib.models.SequenceNet` with neuron ``kind`` (:func:`make_neuron`) in every layer.

    Defined in chapter 01 (Parallel Spiking Neurons), section "Reproduction: the order sweep".
    """
    return SequenceNet(lambda: make_neuron(kind, T, k, tau), features, classes, hidden=hidden, layers=layers,
                       readout_steps=readout_steps)


def scifar_net(kind: str, classes: int, channels: int = 128, T: int = 32, k: Optional[int] = None,
               tau: Optional[float] = None) -> SCIFARNet:
    """:class:`snnlib.models.SCIFARNet` with neuron ``kind`` (:func:`make_neuron`) in every layer."""
    return SCIFARNet(lambda: make_neuron(kind, T, k, tau), classes, channels=channels)


def settings(scale: str) -> dict[str, Any]:
    """Everything that sizes the PSN experiments at ``scale``.

    ``seeds``: how many (``seed``, ``seed + 1``, ...); ``val_fraction``: the share of the training data held
    out to choose the epoch.  ``fair_tau``: the time constant of the fair LIF (:data:`FAIR`), or ``None``
    where the comparison keeps the paper's five neurons (``gpu``, ``full``: sequential CIFAR, where the
    paper's tau = 2 LIF reaches 81.5%).  ``threads`` (``ci``): the torch threads the runs train on (see
    :func:`snnlib.utils.torch_threads`).  ``masked_band_init`` (``ci`` only) applies :func:`band_init_`.
    The paper's schedule closes the mask after an eighth of training: about 12,500 optimiser steps in the
    paper, about 45 at ``gpu`` (five epochs of 9,000 samples) and 18 to 36 at ``ci`` (one or two epochs of
    18 batches).  With the paper's weights the masked PSN of order k = 1 or 2 then stops firing for good and
    scores chance (measured at ``ci``, seed 0, k = 1: firing rate 0 in both layers from epoch 1 on, layer-2 weight
    gradient 2e-6, test accuracy 10%; with :func:`band_init_`: firing rates 5% and 3%, test accuracy
    28%).  ``gpu`` and ``full`` keep the paper's initialisation.

    Defined in chapter 01 (Parallel Spiking Neurons), section "Reproduction: the neuron comparison".
    """
    return config.choose(
        ci={"dataset": "digits-pixels", "T": 64, "hidden": 48, "layers": 2, "epochs": 12, "order_epochs": 8,
            "batch_size": 64, "k": 64, "orders": [1, 4, 16], "order_kinds": ["masked_psn", "sliding_psn"],
            "seeds": 5, "val_fraction": 0.2, "fair_tau": FAIR_TAU, "masked_band_init": True, "threads": 1,
            "readout_ablation": True},
        gpu={"dataset": "scifar10", "order_dataset": "scifar100", "T": 32, "channels": 128, "epochs": 5,
             "order_epochs": 4, "train_size": 10_000, "batch_size": 128, "k": 32, "orders": [1, 4, 32],
             "order_kinds": ["masked_psn", "sliding_psn"], "seeds": 1, "val_fraction": 0.1, "fair_tau": None},
        full={"dataset": "scifar10", "order_dataset": "scifar100", "T": 32, "channels": 128, "epochs": 256,
              "batch_size": 128, "k": 32, "orders": [1, 2, 3, 4, 8, 16, 32],
              "order_kinds": ["masked_psn", "sliding_psn"], "seeds": 1, "val_fraction": 0.1, "fair_tau": None},
        scale_name=scale)


def build_model(kind: str, scale: str, features: int, classes: int, k: Optional[int] = None,
                tau: Optional[float] = None, readout_steps: Optional[int] = None) -> nn.Module:
    """The network of the experiments at ``scale`` with neuron ``kind`` (order ``k``, time constant ``tau``
    for the fair LIF), initialised.

    ``ci``: :class:`SequenceNet` on ``features`` inputs per step; ``gpu``/``full``: :class:`SCIFARNet`
    (3 input channels; ``features`` is not used).  ``readout_steps`` (``ci`` only): the trainer averages
    the last that many steps' outputs instead of all T.
    """
    s = settings(scale)
    if scale == "ci":
        model: nn.Module = sequence_net(kind, s["T"], features, classes, hidden=s["hidden"],
                                       layers=s["layers"], k=k, tau=tau, readout_steps=readout_steps)
    elif readout_steps is not None:
        raise ValueError(f"readout_steps={readout_steps!r}: the readout ablation runs at ci scale only")
    else:
        model = scifar_net(kind, classes, channels=s["channels"], T=s["T"], k=k, tau=tau)
    if s.get("masked_band_init", False):
        band_init_(model)
    return model


def _recipe(kind: str, scale: str = "full") -> dict[str, Any]:
    """The paper's optimiser per neuron: AdamW lr 1e-3 for sliding PSN, SGD lr 0.1 otherwise.

    At ``ci`` scale, with 8-12 epochs instead of 256, AdamW at 1e-3 leaves the sliding PSN near chance on
    the pixel-by-pixel digits (measured: 19% at k = 8 after 12 epochs, against 61% at 1e-2), so its
    learning rate is raised to 1e-2 there; SGD at 0.1 is kept for the others.
    """
    if kind == "sliding_psn":
        return {"optimizer": "adamw", "lr": 1e-2 if scale == "ci" else 1e-3}
    return {"optimizer": "sgd", "lr": 0.1}


def _loaders(name: str, scale: str, seed: int):
    s = settings(scale)
    return data.split_loaders(name, scale, val_fraction=s.get("val_fraction", data.VAL_FRACTION), seed=seed,
                              batch_size=s["batch_size"], train_size=s.get("train_size"))


def train_neuron(kind: str, scale: str, *, k: Optional[int] = None, dataset: Optional[str] = None, seed: int = 0,
                 progress: bool = True, loaders=None, epochs: Optional[int] = None,
                 tau: Optional[float] = None, readout_steps: Optional[int] = None) -> train.History:
    """Train the experiment's network with neuron ``kind`` (order ``k``) at ``scale``; returns the history,
    with the validation split's accuracy per epoch (``val_acc``) beside the test set's.

    ``loaders`` (train, validation, test; :func:`snnlib.data.split_loaders`) may be shared between runs;
    ``epochs`` defaults to the scale's setting.
    """
    return fit_neuron(kind, scale, k=k, dataset=dataset, seed=seed, progress=progress, loaders=loaders,
                      epochs=epochs, tau=tau, readout_steps=readout_steps)[0]


def fit_neuron(kind: str, scale: str, *, k: Optional[int] = None, dataset: Optional[str] = None, seed: int = 0,
               progress: bool = True, loaders=None, epochs: Optional[int] = None,
               tau: Optional[float] = None, readout_steps: Optional[int] = None) -> tuple[train.History, nn.Module]:
    """:func:`train_neuron`, returning the trained network too (chapter 01 reads its PSN's weights).

    Defined in chapter 01 (Parallel Spiking Neurons), section "Long-term dependencies: the gradient against lag".
    """
    s = settings(scale)
    name = dataset or s["dataset"]
    seed_everything(seed)
    train_loader, val_loader, test_loader = loaders or _loaders(name, scale, seed)
    classes = 100 if name.endswith("100") else 10
    features = train_loader.dataset.sample_shape[-1] if scale == "ci" else 3  # S-CIFAR: RGB per row
    model = build_model(kind, scale, features, classes, k=k, tau=tau, readout_steps=readout_steps)
    epochs = s["epochs"] if epochs is None else epochs
    desc = label(kind, k if kind != "psn" else None, tau)
    # gpu and full runs take hours: a checkpoint per epoch lets a rerun of the same command resume
    ckpt = None if scale == "ci" else runs_dir() / f"psn-{name}-{scale}" / \
        f"{kind}-k{k}-seed{seed}-e{epochs}-n{s.get('train_size') or 'all'}"
    with torch_threads(s.get("threads")):
        h = train.fit(model, train_loader, test_loader, val_loader=val_loader, epochs=epochs,
                      label_smoothing=0.1, seed=seed,
                      on_epoch_start=lambda_schedule(epochs) if kind == "masked_psn" else None,
                      progress=progress, desc=desc, checkpoint_dir=ckpt, **_recipe(kind, scale))
    return h, model


def paper_key(kind: str, dataset: str) -> Optional[str]:
    """The registry key of the paper's number for neuron ``kind`` (k = 32 for masked and sliding PSN) on
    sequential CIFAR-100 when ``dataset`` is ``scifar100``, else sequential CIFAR-10; ``None`` for the fair
    LIF, which the paper does not run.  Tables of a ``ci`` run do not show these numbers (another dataset):
    the chapter states the paper's ordering instead, and the scoreboard labels them with their dataset."""
    if kind not in NEURONS:
        return None
    ds = "scifar100" if dataset == "scifar100" else "scifar10"
    return f"psn/{ds}/{kind}" + ("_k32" if kind in ("masked_psn", "sliding_psn") else "")


def _selected(h: train.History, kind: str) -> dict[str, Any]:
    """The epoch chosen on validation: among the epochs at lambda = 1 for the masked PSN, else all."""
    return h.selected(among=lambda_one_epochs(len(h.epochs)) if kind == "masked_psn" else None)


def _selected_on(kind: str) -> str:
    return "validation (epoch, among those at λ = 1)" if kind == "masked_psn" else "validation (epoch)"


def _over_seeds(histories: list[train.History], kind: str) -> dict[str, Any]:
    """Each seed's selected epoch and test accuracy there (in [0, 1]), their mean and sample std; the max
    test accuracy over epochs (secondary, never used to decide); the firing rate at the selected epoch;
    the validation and test curves (mean over seeds)."""
    chosen = [_selected(h, kind) for h in histories]
    acc = [c["test_acc"] for c in chosen]
    mean, std = mean_std(acc)
    rates = [c.get("test_rate") for c in chosen if c.get("test_rate") is not None]

    def curve(key: str) -> list[float]:
        cols = [h.column(key) for h in histories]
        return [round(sum(c) / len(c), 4) for c in zip(*cols)]

    return {"selected_test_acc": mean, "selected_test_acc_std": std, "per_seed_selected_test_acc": acc,
            "selected_epochs": [c["selected_epoch"] for c in chosen],
            "per_seed_max_test_acc": [h.best("test_acc") for h in histories],
            "firing_rate": sum(rates) / len(rates) if rates else None, "seeds": len(histories),
            "epochs": len(histories[0].epochs), "wall_s": round(sum(h.meta["wall_s"] for h in histories), 2),
            "curve": curve("test_acc"), "val_curve": curve("val_acc")}


def seeds_of(scale: str, seed: int = 0) -> list[int]:
    """The seeds a run at ``scale`` trains with: ``seed``, ``seed + 1``, ... (``settings(scale)["seeds"]`` of them)."""
    return seed_list(settings(scale)["seeds"], seed)


def _row(text: str, kind: str, m: dict[str, Any], seeds: list[int], classes: int, paper: Optional[str],
         expected_failure: Optional[str] = None) -> Row:
    return Row(text, "test accuracy at the epoch chosen on validation", "%",
               [100 * a for a in m["per_seed_selected_test_acc"]], seeds, chance=100 / classes,
               expected_failure=expected_failure, selected_on=_selected_on(kind), paper_key=paper)


#: why the paper's tau = 2 LIFs are expected to fail on the ``ci`` task, stated before running it
SHORT_MEMORY = ("tau = 2 keeps half its charge per step, a memory of about two pixels, on a task whose "
                "class depends on pixels up to 63 steps apart")

#: why a sliding PSN of order 1 is expected to fail on the ``ci`` task (chapter 01, exercise 4)
NO_MEMORY = ("order 1 has no memory: each step sees one pixel alone and every layer is shared over time, so "
             "the network sees only the histogram of the 64 pixel values, not where they are")

NEURON_CAVEATS = (
    "At ci the task is the 8 x 8 digits read one pixel per step (T = 64), not sequential CIFAR: the claims "
    "check the paper's ordering, and the paper's numbers are not comparable with ours.",
    "At ci the masked PSN's band is initialised with the Kaiming bound of its order (band_init_), not the "
    "paper's nn.Linear(T, T) draw (which leaves orders 1 and 2 silent once the mask closes); at k = T, the "
    "comparison's order, the weights are the paper's.",
    "At ci the sliding PSN trains with AdamW at lr 1e-2, ten times the paper's 1e-3 (with 1e-3 it stayed "
    "near chance within this budget: 19% at k = 8 after 12 epochs).",
    "The LIF with τ = 16 is ours, not the paper's: τ was chosen on the validation split of seed 0 among "
    "4, 16 and 64 when the recipe was set, and it adds its input unscaled (decay_input=False; with the 1/τ "
    "scale a τ = 16 neuron never reached its threshold).",
    "The masked PSN's epoch is chosen only among epochs at λ = 1, where the trained neuron is causal.",
    "At ci every neuron trains for the same 12 epochs: a row whose validation accuracy is still rising at the last "
    "epoch (see the curves) has not converged, and its distance to the PSN may shrink with longer training.",
)

ORDER_CAVEATS = (
    "At ci the task is the 8 x 8 digits read one pixel per step (T = 64), not sequential CIFAR-100, where a "
    "step is a whole column of 32 pixels: an order k covers k pixels here, so the paper's levelling off after "
    "k = 4 is not expected at these orders.",
    NEURON_CAVEATS[1].replace("; at k = T, the comparison's order, the weights are the paper's", ""),
    NEURON_CAVEATS[2],
    "Shorter training than the comparison (8 epochs instead of 12) so that the sweep fits the chapter's time.",
)


def run_neurons(scale: str, *, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """Train the neurons in the same network, for each seed of :func:`seeds_of`: the paper's five, and the
    fair LIF where ``settings(scale)["fair_tau"]`` is set.  Rows: the test accuracy at the epoch chosen on
    validation; claims: each PSN above each LIF, and the LIF above the LIF without reset, by the one rule."""
    s = settings(scale)
    seeds = seeds_of(scale, seed)
    classes = 100 if s["dataset"].endswith("100") else 10
    kinds = NEURONS + ((FAIR,) if s.get("fair_tau") else ())
    loaders = {sd: _loaders(s["dataset"], scale, sd) for sd in seeds}
    metrics, rows = {}, {}
    for kind in kinds:
        k = s["k"] if kind in ("masked_psn", "sliding_psn") else None
        tau = s.get("fair_tau") if kind == FAIR else None
        runs = [train_neuron(kind, scale, k=k, seed=sd, progress=progress, loaders=loaders[sd], tau=tau)
                for sd in seeds]
        metrics[kind] = _over_seeds(runs, kind)
        failure = SHORT_MEMORY if (kind in ("lif", "lif_no_reset") and scale == "ci") else None
        rows[kind] = _row(label(kind, k, tau), kind, metrics[kind], seeds, classes,
                          paper_key(kind, s["dataset"]), failure)
    psns, source = ("psn", "masked_psn", "sliding_psn"), "psn/scifar10/psn"
    name = {kind: _named(row.label) for kind, row in rows.items()}
    claims = [judge(f"The {name[p]} is more accurate than the {name[lif]}", rows[p], rows[lif], source=source)
              for lif in ("lif", "lif_no_reset") for p in psns]
    claims.append(judge(f"The {name['lif']} is more accurate than the {name['lif_no_reset']}", rows["lif"],
                        rows["lif_no_reset"], source="psn/scifar10/lif"))
    if FAIR in rows:
        claims += [judge(f"The {name[p]} is more accurate than the {name[FAIR]}, a LIF whose time constant "
                         "suits the task", rows[p], rows[FAIR], source="ours")
                   for p in psns]
    if s.get("readout_ablation"):
        # the causal masked PSN at k = T against the full PSN: is the gap the readout's?  The trainer averages
        # the output over the T steps, and a causal neuron's early steps have seen few pixels
        k = s["k"]
        runs = [train_neuron("masked_psn", scale, k=k, seed=sd, progress=progress, loaders=loaders[sd],
                             readout_steps=1) for sd in seeds]
        metrics[READOUT_LAST] = _over_seeds(runs, "masked_psn")
        rows[READOUT_LAST] = _row(f"{label('masked_psn', k)}, last-step readout", "masked_psn",
                                  metrics[READOUT_LAST], seeds, classes, None)
        claims.append(judge(f"The {name['masked_psn']} read at its last step is more accurate than read as the "
                            "mean over the T steps", rows[READOUT_LAST], rows["masked_psn"], source="ours"))
        claims.append(judge(f"The {name['psn']} is more accurate than the {name['masked_psn']} read at its last "
                            "step", rows["psn"], rows[READOUT_LAST], source="ours"))
    return {"dataset": s["dataset"], "config": {**s, "seed_list": seeds}, "metrics": metrics,
            "rows": list(rows.values()), "claims": claims, "seeds": seeds}


def run_order(scale: str, *, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """Train masked and sliding PSN for each order k and each seed; metrics ``{kind: {k: summary}}``.

    Claims: for each kind, each order above the one before it (one rule, paired over the seeds)."""
    s = settings(scale)
    ds = s.get("order_dataset", s["dataset"])
    classes = 100 if ds.endswith("100") else 10
    seeds = seeds_of(scale, seed)
    loaders = {sd: _loaders(ds, scale, sd) for sd in seeds}
    metrics: dict[str, dict[str, Any]] = {}
    rows, claims = [], []
    for kind in s["order_kinds"]:
        metrics[kind] = {}
        by_k = {}
        for k in s["orders"]:
            runs = [train_neuron(kind, scale, k=k, dataset=ds, seed=sd, progress=progress, loaders=loaders[sd],
                                 epochs=s.get("order_epochs", s["epochs"])) for sd in seeds]
            metrics[kind][str(k)] = _over_seeds(runs, kind)
            key = (f"psn/scifar100/order/{kind}/" + (f"k{k}" if k <= 4 else "k5-32")) if k <= 32 else None
            failure = NO_MEMORY if (kind == "sliding_psn" and k == 1 and scale == "ci") else None
            by_k[k] = _row(label(kind, k), kind, metrics[kind][str(k)], seeds, classes, key, failure)
            rows.append(by_k[k])
        ks = sorted(by_k)
        for k1, k2 in zip(ks, ks[1:]):
            source = f"psn/scifar100/order/{kind}/k{k2}" if k2 <= 4 else "ours"
            claims.append(judge(f"The {LABELS[kind]} of order {k2} is more accurate than order {k1}",
                                by_k[k2], by_k[k1], source=source))
    return {"dataset": ds, "config": {**s, "seed_list": seeds}, "metrics": metrics, "rows": rows,
            "claims": claims, "seeds": seeds}


register(Experiment(
    name="psn-neurons", chapter="psn", title="Neuron comparison: PSN family against LIF",
    run=run_neurons, datasets={"ci": "digits-pixels", "gpu": "scifar10", "full": "scifar10"},
    caveats=NEURON_CAVEATS))

register(Experiment(
    name="psn-order", chapter="psn", title="Order sweep of masked and sliding PSN",
    run=run_order, datasets={"ci": "digits-pixels", "gpu": "scifar100", "full": "scifar100"},
    caveats=ORDER_CAVEATS))
