r"""Chapter 08: every neuron of the book side by side, on one recipe and one task set.

No paper compares the parallel neurons with each other on the same footing: each compares its neuron with
its own baselines, on its own tasks, with its own recipe.  This module does, with

* one registry of neurons, :data:`NEURONS`: the LIF with reset and the reset-free LIF (chapters 00, 01),
  PSN, masked PSN and sliding PSN (chapter 01), PSU, IPSU and RPSU (chapter 02), and ParaLIF with
  deterministic, stochastic and recurrent firing (chapter 03).  Every neuron with a fixed leak decays by
  the same factor per step, :math:`\beta = 1 - 1/\tau = 0.5` (:data:`TAU` = 2; ParaLIF's
  :math:`e^{-dt/\tau} = 0.5` for both of its stages), fires at threshold 1 (the PSNs learn theirs, as a
  bias starting at -1), and masked and sliding PSN have order :data:`ORDER` = 4, the order at which the
  PSN paper's accuracy stops rising;
* one recipe, :func:`settings`: ``layers`` x (Linear without bias, BatchNorm1d, neuron) on each step's
  input, a Linear readout averaged over the task's readout window (:class:`snnlib.models.CompareNet`), every
  BatchNorm's scale starting at ``bn_gamma`` = 2 (so that a neuron of threshold 1, which takes half of
  its input per step, fires from the first step), AdamW with a cosine schedule, the same epochs, batch,
  learning rate, training samples and seeds for every neuron;
* one task set, :data:`TASKS`: at ``ci`` the scikit-learn digits row by row (T = 8), delayed recall of a cue
  (:func:`snnlib.data.delayed_recall`, read out only at the last 4 steps, so that the cue must be carried
  over the delay) at a short and a long delay (``settings()["recall_delays"]``), and the digits seen by a
  simulated DVS, through tonic (T = 10); at ``gpu`` and ``full`` sequential CIFAR-10 and SHD, with a
  memory sweep of delayed recall over ``settings()["delays"]``.  The digits pixel by pixel (T = 64,
  ``"pixels"``) and MNIST-1D (T = 40, ``"mnist1d"``) are defined but left out at ``ci``: with five seeds and
  enough steps for the LIF to learn them (it stayed 14 points above chance on MNIST-1D after 120 steps)
  they did not fit the chapter's time.

Every run holds out a seeded, stratified fifth of its training samples for validation
(:func:`snnlib.data.split_loaders`); the reported test accuracy is the one at the epoch with the best
validation accuracy (for the masked PSN, among the epochs at lambda = 1).  For each neuron and task, over
the seeds: that accuracy; spikes per neuron per step on the test set after training; synaptic operations
and energy per sample by :func:`snnlib.energy.energy_report`; training time per epoch; and memory, as the
bytes that autograd saves for the backward pass of one training batch (:func:`saved_bytes`).  The papers'
orders (:data:`ORDER_CLAIMS`) are judged task by task by :func:`snnlib.records.judge`.  Speed against T
is :func:`snnlib.bench.compare_speed`.

Defined in chapter 08 (Side by side), section "The registry".
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn as nn

from .. import config, data, energy, registry, train
from ..neurons import FPT, IPSU, LIF, PSN, PSU, RPSU, MaskedPSN, ParaLIF, ResetFreeLIF, SlidingPSN
from ..models.sequence import CompareNet
from ..records import UNTESTABLE, Row, judge, over_seeds, seed_list
from ..utils import seed_everything, torch_threads
from . import Experiment, register, runs_dir, mean_std
from . import psn as psn_exp

__all__ = ["NeuronSpec", "Task", "NEURONS", "BOOK_NEURONS", "TASKS", "TAU", "THRESHOLD", "ORDER", "PARALIF_TAU", "compare_net",
           "build_neuron", "settings", "tasks", "seeds_of", "saved_bytes", "train_one", "run", "order_checks",
           "ORDER_CLAIMS", "is_causal", "accuracy_row", "rate_row", "recall_task", "expected_failure",
           "row_label", "CAVEATS"]

TAU = 2.0  #: membrane time constant of every neuron with a fixed leak: decay 1 - 1/tau = 0.5 per step
THRESHOLD = 1.0  #: firing threshold of every neuron with a fixed threshold (the PSNs' bias starts at -1)
ORDER = 4  #: order k of masked and sliding PSN
DT = 1e-3  #: ParaLIF's time step (s)
PARALIF_TAU = DT / math.log(2.0)  #: ParaLIF's tau_mem = tau_syn: exp(-dt / tau) = 0.5, the decay of TAU = 2


@dataclass(frozen=True)
class NeuronSpec:
    """A neuron of the comparison: its key, label, chapter, how to build it, and what it needs.

    ``build(T, features)`` returns a fresh module for inputs ``[T, N, features]``.  ``fixed_T``: its
    parameters are sized by T (a T x T weight), so a model trained at one T cannot run at another.
    ``parallel``: how the T steps are computed at once (``"serial"`` for the LIF with reset).  ``memory``:
    how far back a layer's output can reach: ``"decay"`` (a fixed leak of 0.5 per step), ``"window"``
    (the last :data:`ORDER` steps), ``"learned"`` (a learned T x T matrix) or ``"recurrent"`` (learned
    feedback); :func:`expected_failure` reads it.

    Defined in chapter 08 (Side by side), section "Exercises".
    """

    key: str
    label: str
    chapter: str
    build: Callable[[int, int], nn.Module]
    fixed_T: bool
    parallel: str
    note: str = ""
    memory: str = "decay"


def _paralif(firing: str, recurrent: bool = False) -> Callable[[int, int], nn.Module]:
    def build(T: int, features: int) -> nn.Module:
        return ParaLIF(firing, tau_mem=PARALIF_TAU, tau_syn=PARALIF_TAU, dt=DT, threshold=THRESHOLD,
                       recurrent=recurrent, features=features if recurrent else None)
    return build


#: every neuron of the book, in book order
NEURONS: dict[str, NeuronSpec] = {s.key: s for s in [
    NeuronSpec("lif", "LIF", "00", lambda T, F: LIF(TAU, THRESHOLD, v_reset=None, detach_reset=True),
               False, "serial", "soft reset, detached"),
    NeuronSpec("lif_no_reset", "LIF w/o reset", "01", lambda T, F: ResetFreeLIF(TAU, THRESHOLD), False,
               "leaky integration", "the LIF without its reset"),
    NeuronSpec("psn", "PSN", "01", lambda T, F: PSN(T), True, "T x T matrix", "learnable T x T weight", "learned"),
    NeuronSpec("masked_psn", "masked PSN", "01", lambda T, F: MaskedPSN(ORDER, T), True, "T x T matrix",
               f"band of order {ORDER}; lambda from 0 to 1 in the first eighth of training, epochs "
               "selected at lambda = 1", "window"),
    NeuronSpec("sliding_psn", "sliding PSN", "01", lambda T, F: SlidingPSN(ORDER, exp_init=False), False,
               "causal convolution", f"order {ORDER}, weights shared over time", "window"),
    NeuronSpec("psu", "PSU", "02", lambda T, F: PSU(TAU, THRESHOLD), False, "leaky integration",
               "sigmoid estimate of the soft reset"),
    NeuronSpec("ipsu", "IPSU", "02", lambda T, F: IPSU(T, TAU, THRESHOLD), True, "T x T matrix",
               "learnable T x T input matrix", "learned"),
    NeuronSpec("rpsu", "RPSU", "02", lambda T, F: RPSU(T, TAU, THRESHOLD), True, "T x T matrix",
               "learnable T x T reset matrix", "learned"),
    NeuronSpec("paralif_d", "ParaLIF-T", "03", _paralif("T"), False, "leaky integration",
               "deterministic threshold firing"),
    NeuronSpec("paralif_s", "ParaLIF-SB", "03", _paralif("SB"), False, "leaky integration",
               "stochastic: Bernoulli of sigmoid(U)"),
    NeuronSpec("paralif_r", "ParaLIF-T rec.", "03", _paralif("T", recurrent=True), False,
               "leaky integration, twice", "recurrent: W_rec feeds the delayed potential back", "recurrent"),
    NeuronSpec("lif_fixed_point", "LIF, exact fixed point", "09",
               lambda T, F: LIF(TAU, THRESHOLD, v_reset=None, detach_reset=True, method="fixed_point"), False,
               "fixed point of scans", "the LIF's own spikes, computed in parallel (chapter 09)"),
    NeuronSpec("fpt", "FPT, K = 3", "09", lambda T, F: FPT(3, tau=TAU, v_threshold=THRESHOLD, decay_input=True),
               False, "K relaxed scans", "three relaxed fixed-point updates (chapter 09)"),
]}
#: the neurons of chapters 00-03, the table of chapter 08 at every scale
BOOK_NEURONS = tuple(k for k, spec in NEURONS.items() if spec.chapter <= "03")


def _check_kinds(arg: str, kinds: Sequence[str]) -> list[str]:
    kinds = list(kinds)
    for k in kinds:
        if k not in NEURONS:
            raise ValueError(f"{arg} contains {k!r}; valid keys: {', '.join(NEURONS)}")
    return kinds


def build_neuron(kind: str, T: int, features: int, *, after_training: bool = False) -> nn.Module:
    """A fresh neuron ``kind`` (a key of :data:`NEURONS`) for inputs ``[T, N, features]``.

    ``after_training``: in the state that training leaves it in, for the measurements made on the
    neuron alone (causality, speed, fixed T): the masked PSN at lambda = 1, its band only (it starts at
    lambda = 0, where it is a full PSN).

    Defined in chapter 08 (Side by side), section "The registry".
    """
    if kind not in NEURONS:
        raise ValueError(f"kind={kind!r} is not a neuron of the comparison; valid keys: {', '.join(NEURONS)}")
    for arg, val in (("T", T), ("features", features)):
        if isinstance(val, bool) or not isinstance(val, int) or val < 1:
            raise ValueError(f"{arg}={val!r} must be a positive int")
    neuron = NEURONS[kind].build(T, features)
    if after_training and isinstance(neuron, MaskedPSN):
        neuron.lambda_ = 1.0
    return neuron


@dataclass(frozen=True)
class Task:
    """A task of the comparison: a dataset of :func:`snnlib.data.loaders`, its options, and where the
    answer is read: the mean of the readout over the last ``readout_steps`` steps (``None``: all)."""

    key: str
    label: str
    dataset: str
    options: dict[str, Any] = field(default_factory=dict)
    readout_steps: Optional[int] = None
    about: str = ""
    spiking_input: bool = False  # events or spikes in: the first layer is spike-driven too (no MAC encoding)


RECALL_STEPS = 4  #: the delayed-recall question lasts 4 steps, and the answer is read there


def recall_task(delay: int) -> Task:
    """Delayed recall over ``delay`` steps: a 4-step cue, ``delay`` steps of distractors, a 4-step question.

    Defined in chapter 08 (Side by side), section "Exercises".
    """
    return Task(f"recall-{delay}", f"recall, delay {delay}", "delayed-recall", {"delay": int(delay)},
                RECALL_STEPS, f"T = {8 + delay}, 5 channels, 4 classes", spiking_input=True)


#: the task set of each scale; ``"recall"`` stands for delayed recall at each of ``settings()["recall_delays"]``
TASKS: dict[str, tuple[str, ...]] = {"ci": ("rows", "recall", "events"),
                                     "gpu": ("scifar10", "shd"), "full": ("scifar10", "shd")}


def tasks(scale: Optional[str] = None) -> list[Task]:
    """The tasks of the table at ``scale``, in order (delayed recall once per delay of
    ``settings(scale)["recall_delays"]``).

    Defined in chapter 08 (Side by side), section "The recipe".
    """
    s = settings(scale)
    made = {
        "pixels": [Task("pixels", "digits, pixel by pixel", "digits-pixels", {}, None, "T = 64, 1 pixel a step")],
        "rows": [Task("rows", "digits, row by row", "digits-rows", {}, None, "T = 8, 8 pixels a step")],
        "mnist1d": [Task("mnist1d", "MNIST-1D", "mnist1d", {}, None, "T = 40, 1 value a step")],
        "recall": [recall_task(d) for d in s["recall_delays"]],
        "events": [Task("events", "DVS digits (tonic)", "dvs-digits", {"T": 10}, None,
                        "T = 10 frames of 2 x 22 x 22 events", spiking_input=True)],
        "scifar10": [Task("scifar10", "sequential CIFAR-10", "scifar10", {}, None, "T = 32 columns of 3 x 32")],
        "shd": [Task("shd", "SHD (tonic)", "shd", {"T": s.get("shd_T", 100)}, None, "T bins of 700 channels",
                     spiking_input=True)],
    }
    return [t for k in TASKS[s.scale] for t in made[k]]


def settings(scale: Optional[str] = None) -> config.Settings:
    """The recipe at ``scale``: network (``hidden``, ``layers``, ``bn_gamma``: the starting scale of every
    BatchNorm), optimiser, schedule, epochs, batch, ``train_size`` (training samples kept before the
    validation split takes ``val_fraction`` of them; ``None``: all), seeds (``seeds_note`` says why, where
    fewer than 5), torch ``threads``, the delays of the table's recall tasks (``recall_delays``: a short one,
    where every neuron should recall, and a long one) and of the memory sweep (``delays``), and the speed
    figure's T values, tensor shape and repetitions (``speed_T``, ``speed_shape`` = [batch, features],
    ``speed_reps``).

    Defined in chapter 08 (Side by side), section "08 · Side by side: every parallel neuron on one recipe".
    """
    name = config.check_scale(scale)
    # the chapter's speed figure: T up to 1024 on [T, 16, 64] (T = 4096 is the bench's: python -m snnlib.bench compare)
    common = {"optimizer": "adamw", "schedule": "cosine", "weight_decay": 0.0, "label_smoothing": 0.0,
              "bn_gamma": 2.0, "val_fraction": 0.2,
              "speed_T": [16, 64, 256, 1024], "speed_shape": [16, 64], "speed_reps": 3}
    values = config.choose(
        ci={**common, "neurons": list(BOOK_NEURONS),
            "hidden": 32, "layers": 2, "epochs": 6, "batch_size": 48, "train_size": 1200, "lr": 1e-2,
            "seeds": 5, "seeds_note": "", "threads": 1, "recall_delays": [4, 16], "delays": [4, 16],
            "energy_batch": 64},
        # gpu adds chapter 09's FPT; its exact fixed-point LIF joins at full only (its passes would take the
        # gpu run past 20 T4 minutes: snnlib.gpu_budget; chapter 09's own gpu run has it)
        gpu={**common, "neurons": [*BOOK_NEURONS, "fpt"],
             "hidden": 128, "layers": 2, "epochs": 5, "batch_size": 128, "train_size": 5_000,
             "lr": 3e-3, "seeds": 3,
             "seeds_note": "3 seeds: 5 would not fit 20 minutes on a T4 (estimated by snnlib.gpu_budget)",
             "threads": None, "recall_delays": [], "delays": [16, 64, 256], "shd_T": 100, "energy_batch": 128},
        full={**common, "neurons": list(NEURONS),
              "hidden": 256, "layers": 3, "epochs": 100, "batch_size": 128, "train_size": None,
              "lr": 1e-3, "seeds": 3, "seeds_note": "3 seeds: 5 would double a run of days (not yet measured)",
              "threads": None, "recall_delays": [], "delays": [16, 64, 256, 1024], "shd_T": 100,
              "energy_batch": 128},
        scale_name=name)
    return config.Settings(name, values)


def seeds_of(scale: Optional[str] = None, seed: int = 0) -> list[int]:
    """``seed``, ``seed + 1``, ... (``settings(scale)["seeds"]`` of them)."""
    return seed_list(settings(scale)["seeds"], seed)


def compare_net(kind: str, T: int, features: int, classes: int, hidden: int = 32, layers: int = 2,
                readout_steps: Optional[int] = None, bn_gamma: float = 1.0) -> CompareNet:
    """:class:`snnlib.models.CompareNet` with neuron ``kind`` (:func:`build_neuron`) in every layer, every
    BatchNorm's scale starting at ``bn_gamma`` (the recipe's is 2: a LIF of threshold 1 and tau 2 takes
    half of its input per step, so an input of standard deviation 1 would leave it nearly silent).

    Defined in chapter 08 (Side by side), section "The recipe".
    """
    if not bn_gamma > 0:
        raise ValueError(f"bn_gamma={bn_gamma!r} must be > 0")
    net = CompareNet(lambda: build_neuron(kind, T, hidden), T, features, classes, hidden=hidden, layers=layers,
                     readout_steps=readout_steps)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm1d):
            nn.init.constant_(m.weight, float(bn_gamma))
    return net


def saved_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes that autograd saves for the backward pass of ``model(x)``, counted with
    :func:`torch.autograd.graph.saved_tensors_hooks`: each storage once, the model's parameters left out
    (they are in memory anyway).  The model runs in training mode; its state is reset after.

    Chapter 08 reads its counts in the table (section "The table").
    """
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in params:
            seen[ptr] = max(seen.get(ptr, 0), storage.nbytes())
        return t

    was_training = model.training
    model.train()
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = model(x)
        del out
    finally:
        train.reset_states(model)
        model.train(was_training)
    return sum(seen.values())


def _shape_of(loader) -> tuple[int, int, int]:
    """T, features per step and classes of a time-first loader."""
    x, _ = next(iter(loader))
    if x.dim() < 3:
        raise ValueError(f"the comparison needs time-first sequences [T, N, *]; the loader gives {tuple(x.shape)}")
    classes = getattr(loader.dataset, "n_classes", None)
    if not isinstance(classes, int) or classes < 2:
        raise ValueError(f"the dataset {type(loader.dataset).__name__} has n_classes={classes!r}; the comparison "
                         "needs its number of classes (an int >= 2)")
    return int(x.shape[0]), int(math.prod(x.shape[2:])), classes


def expected_failure(kind: str, delay: int, layers: int = 2) -> Optional[str]:
    """Why neuron ``kind`` is expected to fail delayed recall over ``delay`` steps with ``layers`` layers
    (``None``: it is not).  Read from its structure (:attr:`NeuronSpec.memory`): a fixed decay of 0.5
    per step fails when less than a thousandth of the cue is left by the question (0.5 ** (delay + 1) <
    0.001, delay 9 and longer); a window of :data:`ORDER` steps fails when ``layers`` windows cannot reach
    from the question back to the cue.  Learned T x T matrices and recurrent weights are not expected to fail.

    Defined in chapter 08 (Side by side), section "Memory against delay".
    """
    memory = NEURONS[kind].memory
    gap = int(delay) + 1   # from the cue's last step to the question's first
    if memory == "decay":
        kept = (1 - 1 / TAU) ** gap
        if kept < 1e-3:
            return (f"a fixed decay of {1 - 1 / TAU:g} per step keeps {kept:.0e} of the cue by the question, "
                    f"{gap} steps later")
    elif memory == "window":
        reach = layers * (ORDER - 1)
        if reach < gap:
            return (f"{layers} layers of a {ORDER}-step window reach {reach} steps back; the question comes "
                    f"{gap} steps after the cue")
    return None


def train_one(kind: str, task: Task, scale: Optional[str] = None, *, seed: int = 0, loaders=None,
              progress: bool = False) -> dict[str, Any]:
    """Train :func:`compare_net` with neuron ``kind`` on ``task`` for one seed, on the training split,
    evaluating the validation split and the test set after each epoch; the run's measurements:
    ``acc`` (test accuracy at the epoch with the best validation accuracy, ``selected_epoch``; for the
    masked PSN among the epochs at lambda = 1, where it is the banded neuron and no longer a PSN),
    ``val_acc`` (there), ``max_acc`` (max test accuracy over the epochs: shown, never used to decide),
    ``last_acc`` (the last epoch's), ``rate`` (spikes per neuron per step, test set, last epoch),
    ``epoch_s`` (mean training time of an epoch), ``run_s`` (the whole run), ``steps`` (optimiser steps),
    ``sops`` and ``energy_pj`` (per sample, on the first test batch: the synapses, the papers' count),
    ``neuron_energy_pj`` (the neurons' own updates, :data:`snnlib.energy.NEURON_UPDATE_MACS`, reported beside:
    a PSN's row of W per step, a LIF's few multiply-adds), ``saved_bytes`` (per sample, one training batch).  ``loaders``: ``(train, val, test)`` of :func:`snnlib.data.split_loaders`.

    Defined in chapter 08 (Side by side), section "Exercises".
    """
    start = time.perf_counter()
    s = settings(scale)
    if loaders is None:
        loaders = data.split_loaders(task.dataset, s.scale, val_fraction=s["val_fraction"], seed=seed,
                                     batch_size=s["batch_size"], train_size=s["train_size"], **task.options)
    if len(loaders) != 3:
        raise ValueError(f"loaders has {len(loaders)} loaders; expected (train, val, test) of data.split_loaders")
    train_loader, val_loader, test_loader = loaders
    T, features, classes = _shape_of(test_loader)
    seed_everything(seed)
    model = compare_net(kind, T, features, classes, hidden=s["hidden"], layers=s["layers"],
                        readout_steps=task.readout_steps, bn_gamma=s["bn_gamma"])
    ckpt = None if s.scale == "ci" else runs_dir() / f"compare-{task.key}-{s.scale}" / \
        f"{kind}-seed{seed}-e{s['epochs']}-n{s.get('train_size') or 'all'}"
    masked = kind == "masked_psn"
    hist = train.fit(model, train_loader, test_loader, val_loader=val_loader, epochs=s["epochs"],
                     optimizer=s["optimizer"], lr=s["lr"], weight_decay=s["weight_decay"], schedule=s["schedule"],
                     label_smoothing=s["label_smoothing"], seed=seed, progress=progress, desc=NEURONS[kind].label,
                     checkpoint_dir=ckpt, on_epoch_start=psn_exp.lambda_schedule(s["epochs"]) if masked else None)
    # the masked PSN is a PSN until lambda reaches 1: its epoch is chosen among those at lambda = 1
    among = ([i for i in range(len(hist.epochs)) if MaskedPSN.lambda_at(i, s["epochs"]) >= 1.0]
             if masked and s["epochs"] > 1 else None)
    chosen = hist.selected("val_acc", among=among)
    device = next(model.parameters()).device
    x_test = next(iter(test_loader))[0][:, :s["energy_batch"]].to(device)
    # real-valued input: the first layer's MACs (the papers' rule); events or spikes: every layer is
    # spike-driven, and an input bin holding more than one event costs a MAC (SynA's convention)
    rep = energy.energy_report(model, x_test, T=T, batch_size=x_test.shape[1],
                               encoding=() if task.spiking_input else "first",
                               nonbinary="mac" if task.spiking_input else "ac", neuron_updates=True)
    train.reset_states(model)
    x_train = next(iter(train_loader))[0].to(device)
    saved = saved_bytes(model, x_train) / x_train.shape[1]
    epoch_s = [e["train_s"] for e in hist.epochs]
    return {"acc": float(chosen["test_acc"]), "val_acc": float(chosen["val_acc"]),
            "selected_epoch": int(chosen["selected_epoch"]), "max_acc": max(e["test_acc"] for e in hist.epochs),
            "last_acc": float(hist.last["test_acc"]), "rate": float(hist.last["test_rate"]),
            "epoch_s": sum(epoch_s) / len(epoch_s), "steps": len(train_loader) * len(hist.epochs),
            "sops": rep.sops, "energy_pj": rep.energy_pj, "neuron_energy_pj": rep.neuron_energy_pj,
            "saved_bytes": saved, "T": T,
            "run_s": time.perf_counter() - start}


METRICS = ("acc", "val_acc", "max_acc", "last_acc", "rate", "epoch_s", "run_s", "sops", "energy_pj",
           "neuron_energy_pj", "saved_bytes")


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"seeds": len(runs), "T": runs[0]["T"], "steps": runs[0]["steps"],
            "selected_epochs": [r["selected_epoch"] for r in runs], **over_seeds(runs, METRICS)}


def row_label(kind: str, task_label: str, metric: str = "acc") -> str:
    """The record label of neuron ``kind``'s row on a task: ``"PSN, MNIST-1D"`` (accuracy) or
    ``"PSN, MNIST-1D, spikes"`` (spikes per neuron per step).

    Defined in chapter 08 (Side by side), section "The table".
    """
    return f"{NEURONS[kind].label}, {task_label}" + ("" if metric == "acc" else ", spikes")


def accuracy_row(kind: str, task: Task | str, summary: dict[str, Any], seeds: Sequence[int], classes: int,
                 layers: int = 2) -> Row:
    """The record row of neuron ``kind`` on ``task``: test accuracy (%) at the epoch chosen on validation,
    one value per seed, with chance (100 / ``classes``) and, for delayed recall beyond the neuron's reach,
    its declared expected failure (:func:`expected_failure`)."""
    label = task.label if isinstance(task, Task) else str(task)
    delay = task.options.get("delay") if isinstance(task, Task) and task.dataset == "delayed-recall" else None
    masked = kind == "masked_psn"
    return Row(row_label(kind, label), "test accuracy at the epoch chosen on validation", "%",
               [100 * a for a in summary["per_seed_acc"]], seeds, chance=100 / classes,
               expected_failure=None if delay is None else expected_failure(kind, delay, layers),
               selected_on="validation (epoch" + (", among those at lambda = 1)" if masked else ")"))


def rate_row(kind: str, task_label: str, summary: dict[str, Any], seeds: Sequence[int]) -> Row:
    """The record row of neuron ``kind``'s spikes per neuron per step on a task (test set, after training)."""
    return Row(row_label(kind, task_label, "rate"), "spikes per neuron per step, test set, last epoch",
               "spikes/neuron/step", summary["per_seed_rate"], seeds, selected_on="last epoch")


def run(scale: Optional[str] = None, *, seed: int = 0, progress: bool = True,
        neurons: Optional[Sequence[str]] = None, only_tasks: Optional[Sequence[str]] = None,
        delays: Optional[Sequence[int]] = None, root=None) -> dict[str, Any]:
    """``compare``: every neuron on every task of :func:`tasks`, for each seed of :func:`seeds_of`, and
    on delayed recall for each delay of the sweep (a delay of the table's recall tasks is trained once).

    Each seed fixes its task's data subset, validation split and batch order, shared by every neuron
    (:func:`snnlib.data.split_loaders`), so that the papers' orders are judged on paired seeds.
    ``metrics["table"][task][kind]`` and ``metrics["memory"][delay][kind]`` hold, for each measurement of
    :func:`train_one`, the mean, the sample standard deviation and each seed's value; ``metrics["runs"]``
    counts the training runs, ``metrics["steps_per_run"]`` and ``metrics["seconds_per_run"]`` their size.
    ``rows``: each neuron's accuracy on each task (:func:`accuracy_row`) and the spikes of the neurons that
    a rate claim names (:func:`rate_row`); ``claims``: the papers' orders that this run can test
    (:func:`order_checks`).  ``neurons``, ``only_tasks`` and ``delays`` restrict the run (for tests);
    ``root`` is the data folder.

    Chapter 08 runs it through :func:`snnlib.experiments.reproduce` (section "The table").
    """
    s = settings(scale)
    kinds = _check_kinds("neurons", s["neurons"] if neurons is None else neurons)
    table_tasks = [t for t in tasks(s.scale) if only_tasks is None or t.key in only_tasks]
    sweep = list(s["delays"] if delays is None else delays)
    seeds = seeds_of(s.scale, seed)
    jobs: list[Task] = list(table_tasks)
    jobs += [recall_task(d) for d in sweep if not any(t.key == f"recall-{d}" for t in jobs)]
    done: dict[str, dict[str, Any]] = {}
    classes: dict[str, int] = {}
    with torch_threads(s["threads"]):
        for task in jobs:
            per_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
            for sd in seeds:
                loaders = data.split_loaders(task.dataset, s.scale, val_fraction=s["val_fraction"], seed=sd,
                                             batch_size=s["batch_size"], root=root, train_size=s["train_size"],
                                             **task.options)
                classes[task.key] = _shape_of(loaders[2])[2]
                for kind in kinds:
                    per_kind[kind].append(train_one(kind, task, s.scale, seed=sd, loaders=loaders))
            done[task.key] = {k: _summarise(v) for k, v in per_kind.items()}
            if progress:
                for kind in kinds:
                    m = done[task.key][kind]
                    print(f"{task.label:>24} {NEURONS[kind].label:>15}: {100 * m['acc']:5.1f} ± "
                          f"{100 * m['acc_std']:4.1f}%  rate {m['rate']:.3f}  {m['run_s']:.2f} s/run")
    table = {t.key: done[t.key] for t in table_tasks}
    memory = {str(d): done[f"recall-{d}"] for d in sweep}
    all_runs = [r for t in done.values() for r in t.values()]
    metrics = {"table": table, "memory": memory, "neurons": kinds, "tasks": [t.key for t in table_tasks],
               "task_labels": {t.key: t.label for t in jobs}, "delays": sweep,
               "chance": {t.key: 100 / classes[t.key] for t in jobs},
               "spiking_input": {t.key: t.spiking_input for t in table_tasks},
               "runs": len(jobs) * len(kinds) * len(seeds),
               "steps_per_run": {t.key: done[t.key][kinds[0]]["steps"] for t in jobs},
               "seconds_per_run": mean_std([x for r in all_runs for x in r["per_seed_run_s"]])[0]}
    rate_kinds = {k for c in ORDER_CLAIMS if c[4] == "rate" for k in c[2:4]}
    rows = [accuracy_row(k, t, done[t.key][k], seeds, classes[t.key], s["layers"]) for t in jobs for k in kinds]
    rows += [rate_row(k, t.label, done[t.key][k], seeds) for t in table_tasks for k in kinds if k in rate_kinds]
    checks = order_checks(metrics, {r.label: r for r in rows})
    metrics["orders"] = [{k: v for k, v in c.items() if k != "claim_obj"} for c in checks]
    claims = [c["claim_obj"] for c in checks if c["claim_obj"] is not None]
    config_out = {**s, "neurons": kinds, "tasks": [t.key for t in table_tasks], "tau": TAU, "threshold": THRESHOLD,
                  "order": ORDER}
    return {"dataset": ", ".join(dict.fromkeys(t.dataset for t in table_tasks)), "config": config_out,
            "metrics": metrics, "rows": rows, "claims": claims, "seeds": seeds}


#: orders the papers claim, judged on every task of the table: (paper, statement, a, b, metric, direction,
#: margin key).  ``direction`` ``None``: a timing, shown without a verdict (speed is the bench's to decide).
ORDER_CLAIMS: tuple[tuple[str, str, str, str, str, Optional[str], Optional[str]], ...] = (
    ("PSN (Fang et al.)", "PSN is more accurate than the LIF", "psn", "lif", "acc", "greater", None),
    ("PSN (Fang et al.)", "sliding PSN is more accurate than the LIF", "sliding_psn", "lif", "acc", "greater", None),
    ("PSN (Fang et al.)", "the LIF is more accurate than the LIF without reset", "lif", "lif_no_reset", "acc",
     "greater", None),
    ("PSN (Fang et al.)", "PSN is more accurate than masked PSN", "psn", "masked_psn", "acc", "greater", None),
    ("PSN (Fang et al.)", "sliding PSN is more accurate than masked PSN", "sliding_psn", "masked_psn", "acc",
     "greater", None),
    ("PSU (Li et al.)", "PSU fires less than PSN", "psu", "psn", "rate", "less", None),
    ("PSU (Li et al.)", "RPSU fires less than PSN", "rpsu", "psn", "rate", "less", None),
    ("PSU (Li et al.)", "PSU trains faster than the LIF", "psu", "lif", "epoch_s", None, None),
    ("ParaLIF (Yarga & Wood)", "ParaLIF-T trains faster than the LIF", "paralif_d", "lif", "epoch_s", None, None),
    ("ParaLIF (Yarga & Wood)", "ParaLIF-T matches the LIF's accuracy", "paralif_d", "lif", "acc", "equivalent",
     "paralif/matches-lif"),
    ("ParaLIF (Yarga & Wood)", "ParaLIF-SB matches the LIF's accuracy", "paralif_s", "lif", "acc", "equivalent",
     "paralif/matches-lif"),
)


def order_checks(metrics: dict[str, Any], rows: dict[str, Row]) -> list[dict[str, Any]]:
    """Each claim of :data:`ORDER_CLAIMS` on each task of ``metrics["table"]``, judged by
    :func:`snnlib.records.judge` on the paired per-seed rows (``rows`` by label): ``verdict``, the two
    means (``values``) and ``claim_obj`` (the :class:`snnlib.records.Claim`, or ``None`` where there is
    none to record: a timing, which gets no verdict, or a claim the rule calls untestable).  A rate claim
    is untestable on a task where either neuron's accuracy is at chance (the paper compares rates at
    similar accuracy).  Claims about neurons not in the run are skipped.

    Defined in chapter 08 (Side by side), section "What we found".
    """
    out = []
    for paper, text, a, b, metric, direction, margin_key in ORDER_CLAIMS:
        for task, by_kind in metrics["table"].items():
            if a not in by_kind or b not in by_kind:
                continue
            tl = metrics["task_labels"][task]
            entry = {"paper": paper, "claim": text, "task": task, "metric": metric, "a": a, "b": b,
                     "values": [by_kind[a][metric], by_kind[b][metric]], "claim_obj": None}
            if direction is None:
                entry["verdict"] = "timing, no verdict"
                out.append(entry)
                continue
            acc_a, acc_b = rows[row_label(a, tl)], rows[row_label(b, tl)]
            if metric == "rate" and (acc_a.at_chance or acc_b.at_chance):
                entry["verdict"] = UNTESTABLE
                out.append(entry)
                continue
            ra, rb = rows[row_label(a, tl, metric)], rows[row_label(b, tl, metric)]
            kw = {}
            if margin_key is not None:
                mg = registry.margin(margin_key)
                kw = {"margin": mg.value, "margin_reason": mg.reason}
            claim = judge(f"{text} ({tl})", ra, rb, direction=direction, source=paper, **kw)
            entry["verdict"] = claim.verdict
            entry["claim_obj"] = None if claim.verdict == UNTESTABLE else claim
            out.append(entry)
    return out


def is_causal(kind: str, T: int = 12, features: int = 3, seed: int = 0) -> bool:
    """Whether neuron ``kind``'s spikes up to step t are unchanged when the inputs after t change (for
    every t): the property that lets a neuron stream.  Checked on random inputs.

    Defined in chapter 08 (Side by side), section "The registry".
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    neuron = build_neuron(kind, T, features, after_training=True).eval()
    x = 2 * torch.randn(T, 4, features, generator=gen)
    with torch.no_grad():
        for t in range(T - 1):
            y = x.clone()
            y[t + 1:] = 2 * torch.randn(T - t - 1, 4, features, generator=gen)
            state = torch.random.get_rng_state()
            a = neuron(x)
            torch.random.set_rng_state(state)
            b = neuron(y)
            if not torch.equal(a[:t + 1], b[:t + 1]):
                return False
    return True


#: the fixed departures of the comparison from the papers' recipes, printed after its claims
CAVEATS = (
    "One recipe for every neuron (AdamW, BatchNorm whose scale starts at 2, two layers, the same epochs and "
    "learning rate): no neuron gets its paper's recipe (SGD and label smoothing for the PSN, BrainCog's pipeline "
    "for PSU, Adamax and a leaky readout for ParaLIF), and a learned T x T matrix or threshold may need more "
    "steps than a small run gives it.",
    "The tasks are small stand-ins (the digits row by row, delayed recall, simulated DVS digits) for the papers' sequential "
    "CIFAR, SHD and event data; an order that holds or fails here is about this recipe and these tasks.",
    "Speed orders ('trains faster') get no verdict: training time is shown, and speed is decided by the bench's "
    "interleaved repetitions, not by one run's epochs.",
    "A rate order ('fires less') is judged only where both neurons learn the task (accuracy not at chance), as "
    "the paper compares rates at similar accuracy.",
    "The energy column counts synaptic operations (accumulates and the first layer's multiply-accumulates) "
    "only, not a neuron's own update: a T x T neuron's T multiply-adds per neuron per step are not in it.",
)


register(Experiment(
    name="compare", chapter="compare", title="Every neuron side by side on one recipe",
    run=run, datasets={"ci": "digits-rows, delayed-recall, dvs-digits", "gpu": "scifar10, shd",
                       "full": "scifar10, shd"}, caveats=CAVEATS))
