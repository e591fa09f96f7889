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
  input, a Linear readout averaged over the task's readout window (:class:`snnlib.models.CompareNet`), AdamW with a
  cosine schedule, the same epochs, batch, learning rate and seeds for every neuron;
* one task set, :data:`TASKS`: at ``ci`` the scikit-learn digits pixel by pixel (T = 64), MNIST-1D
  (T = 40), delayed recall of a cue over :math:`d` steps (:func:`snnlib.data.delayed_recall`, read out
  only at the last 4 steps, so that the cue must be carried over the delay) and the digits seen by a
  simulated DVS, through tonic (T = 10); at ``gpu`` and ``full`` sequential CIFAR-10 and SHD.  The
  delayed-recall task is also run for each delay of ``settings()["delays"]``: memory against delay.

For each neuron and task, over the seeds: max test accuracy; spikes per neuron per step on the test set;
synaptic operations and energy per sample by :func:`snnlib.energy.energy_report`; training time per epoch;
and memory, as the bytes that autograd saves for the backward pass of one training batch
(:func:`saved_bytes`).  :func:`speed` times forward plus backward of every neuron against T on one tensor,
with the elementwise floor.

Defined in chapter 08 (Side by side), section "The registry".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import torch
import torch.nn as nn

from .. import config, data, energy, train
from ..neurons import IPSU, LIF, PSN, PSU, RPSU, MaskedPSN, ParaLIF, ResetFreeLIF, SlidingPSN
from ..models.sequence import CompareNet
from ..utils import seed_everything, torch_threads
from . import Experiment, register, runs_dir, mean_std
from . import psn as psn_exp

__all__ = ["NeuronSpec", "Task", "NEURONS", "TASKS", "TAU", "THRESHOLD", "ORDER", "PARALIF_TAU", "compare_net",
           "build_neuron", "settings", "tasks", "seeds_of", "saved_bytes", "train_one", "run", "order_checks",
           "ORDER_CLAIMS", "is_causal", "accuracy_row", "recall_task"]

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
    ``parallel``: how the T steps are computed at once (``"serial"`` for the LIF with reset).

    Defined in chapter 08 (Side by side), section "Exercises".
    """

    key: str
    label: str
    chapter: str
    build: Callable[[int, int], nn.Module]
    fixed_T: bool
    parallel: str
    note: str = ""


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
    NeuronSpec("psn", "PSN", "01", lambda T, F: PSN(T), True, "T x T matrix", "learnable T x T weight"),
    NeuronSpec("masked_psn", "masked PSN", "01", lambda T, F: MaskedPSN(ORDER, T), True, "T x T matrix",
               f"band of order {ORDER}; lambda from 0 to 1 in the first eighth of training, accuracy "
               "counted at lambda = 1"),
    NeuronSpec("sliding_psn", "sliding PSN", "01", lambda T, F: SlidingPSN(ORDER, exp_init=False), False,
               "causal convolution", f"order {ORDER}, weights shared over time"),
    NeuronSpec("psu", "PSU", "02", lambda T, F: PSU(TAU, THRESHOLD), False, "leaky integration",
               "sigmoid estimate of the soft reset"),
    NeuronSpec("ipsu", "IPSU", "02", lambda T, F: IPSU(T, TAU, THRESHOLD), True, "T x T matrix",
               "learnable T x T input matrix"),
    NeuronSpec("rpsu", "RPSU", "02", lambda T, F: RPSU(T, TAU, THRESHOLD), True, "T x T matrix",
               "learnable T x T reset matrix"),
    NeuronSpec("paralif_d", "ParaLIF-T", "03", _paralif("T"), False, "leaky integration",
               "deterministic threshold firing"),
    NeuronSpec("paralif_s", "ParaLIF-SB", "03", _paralif("SB"), False, "leaky integration",
               "stochastic: Bernoulli of sigmoid(U)"),
    NeuronSpec("paralif_r", "ParaLIF-T rec.", "03", _paralif("T", recurrent=True), False,
               "leaky integration, twice", "recurrent: W_rec feeds the delayed potential back"),
]}


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


#: the task set of each scale (the delayed recall of the table has the delay ``settings()["recall_delay"]``)
TASKS: dict[str, tuple[str, ...]] = {"ci": ("pixels", "mnist1d", "recall", "events"),
                                     "gpu": ("scifar10", "shd"), "full": ("scifar10", "shd")}


def tasks(scale: Optional[str] = None) -> list[Task]:
    """The tasks of the table at ``scale``, in order.

    Defined in chapter 08 (Side by side), section "The recipe".
    """
    s = settings(scale)
    made = {
        "pixels": Task("pixels", "digits, pixel by pixel", "digits-pixels", {}, None, "T = 64, 1 pixel a step"),
        "mnist1d": Task("mnist1d", "MNIST-1D", "mnist1d", {}, None, "T = 40, 1 value a step"),
        "recall": recall_task(s["recall_delay"]),
        "events": Task("events", "DVS digits (tonic)", "dvs-digits", {"T": 10}, None,
                       "T = 10 frames of 2 x 22 x 22 events", spiking_input=True),
        "scifar10": Task("scifar10", "sequential CIFAR-10", "scifar10", {}, None, "T = 32 columns of 3 x 32"),
        "shd": Task("shd", "SHD (tonic)", "shd", {"T": s.get("shd_T", 100)}, None, "T bins of 700 channels",
                    spiking_input=True),
    }
    return [made[k] for k in TASKS[s.scale]]


def settings(scale: Optional[str] = None) -> config.Settings:
    """The recipe at ``scale``: network (``hidden``, ``layers``), optimiser, schedule, epochs, batch,
    ``train_size`` (training samples kept, ``None``: all), seeds, torch ``threads``, the delays of the
    memory sweep and of the table's recall task, and the speed figure's T values, tensor shape and
    repetitions (``speed_T``, ``speed_shape`` = [batch, features], ``speed_reps``).

    Defined in chapter 08 (Side by side), section "08 · Side by side: every parallel neuron on one recipe".
    """
    name = config.check_scale(scale)
    # the chapter's speed figure: T up to 1024 on [T, 16, 64] (T = 4096 is the bench's: python -m snnlib.bench compare)
    common = {"optimizer": "adamw", "schedule": "cosine", "weight_decay": 0.0, "label_smoothing": 0.0,
              "speed_T": [16, 64, 256, 1024], "speed_shape": [16, 64], "speed_reps": 3}
    values = config.choose(
        ci={**common, "hidden": 32, "layers": 2, "epochs": 3, "batch_size": 48, "train_size": 768, "lr": 1e-2,
            "seeds": 3, "threads": 1, "delays": [4, 16, 48], "recall_delay": 16, "energy_batch": 64},
        gpu={**common, "hidden": 128, "layers": 2, "epochs": 20, "batch_size": 128, "train_size": None,
             "lr": 3e-3, "seeds": 3, "threads": None, "delays": [16, 64, 256], "recall_delay": 64,
             "shd_T": 100, "energy_batch": 128},
        full={**common, "hidden": 256, "layers": 3, "epochs": 100, "batch_size": 128, "train_size": None,
              "lr": 1e-3, "seeds": 3, "threads": None, "delays": [16, 64, 256, 1024], "recall_delay": 64,
              "shd_T": 100, "energy_batch": 128},
        scale_name=name)
    return config.Settings(name, values)


def seeds_of(scale: Optional[str] = None, seed: int = 0) -> list[int]:
    """``seed``, ``seed + 1``, ... (``settings(scale)["seeds"]`` of them)."""
    return [seed + i for i in range(settings(scale)["seeds"])]


def compare_net(kind: str, T: int, features: int, classes: int, hidden: int = 32, layers: int = 2,
                readout_steps: Optional[int] = None) -> CompareNet:
    """:class:`snnlib.models.CompareNet` with neuron ``kind`` (:func:`build_neuron`) in every layer.

    Defined in chapter 08 (Side by side), section "The recipe".
    """
    return CompareNet(lambda: build_neuron(kind, T, hidden), T, features, classes, hidden=hidden, layers=layers,
                      readout_steps=readout_steps)


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


def train_one(kind: str, task: Task, scale: Optional[str] = None, *, seed: int = 0, loaders=None,
              progress: bool = False) -> dict[str, Any]:
    """Train :func:`compare_net` with neuron ``kind`` on ``task`` for one seed; the run's measurements:
    ``acc`` (max test accuracy over the epochs; for the masked PSN over those at lambda = 1, where it is
    the banded neuron and no longer a PSN), ``last_acc`` (the last epoch's), ``rate`` (spikes per neuron
    per step, test set, last epoch), ``epoch_s`` (mean training time of an epoch), ``sops`` and
    ``energy_pj`` (per sample, on the first test batch), ``saved_bytes`` (per sample, one training batch).

    Defined in chapter 08 (Side by side), section "Exercises".
    """
    s = settings(scale)
    if loaders is None:
        loaders = data.loaders(task.dataset, s.scale, batch_size=s["batch_size"], seed=seed,
                               train_size=s["train_size"], **task.options)
    train_loader, test_loader = loaders
    T, features, classes = _shape_of(test_loader)
    seed_everything(seed)
    model = compare_net(kind, T, features, classes, hidden=s["hidden"], layers=s["layers"],
                       readout_steps=task.readout_steps)
    ckpt = None if s.scale == "ci" else runs_dir() / f"compare-{task.key}-{s.scale}" / \
        f"{kind}-seed{seed}-e{s['epochs']}"
    masked = kind == "masked_psn"
    hist = train.fit(model, train_loader, test_loader, epochs=s["epochs"], optimizer=s["optimizer"], lr=s["lr"],
                     weight_decay=s["weight_decay"], schedule=s["schedule"], label_smoothing=s["label_smoothing"],
                     seed=seed, progress=progress, desc=NEURONS[kind].label, checkpoint_dir=ckpt,
                     on_epoch_start=psn_exp.lambda_schedule(s["epochs"]) if masked else None)
    # the masked PSN is a PSN until lambda reaches 1: its accuracy counts from the first epoch at lambda = 1
    counted = [e["test_acc"] for i, e in enumerate(hist.epochs)
               if not masked or s["epochs"] == 1 or MaskedPSN.lambda_at(i, s["epochs"]) >= 1.0]
    device = next(model.parameters()).device
    x_test = next(iter(test_loader))[0][:, :s["energy_batch"]].to(device)
    # real-valued input: the first layer's MACs (the papers' rule); events or spikes: every layer is
    # spike-driven, and an input bin holding more than one event costs a MAC (SynA's convention)
    rep = energy.energy_report(model, x_test, T=T, batch_size=x_test.shape[1],
                               encoding=() if task.spiking_input else "first",
                               nonbinary="mac" if task.spiking_input else "ac")
    train.reset_states(model)
    x_train = next(iter(train_loader))[0].to(device)
    saved = saved_bytes(model, x_train) / x_train.shape[1]
    epoch_s = [e["train_s"] for e in hist.epochs]
    return {"acc": max(counted), "last_acc": float(hist.last["test_acc"]),
            "rate": float(hist.last["test_rate"]),
            "epoch_s": sum(epoch_s) / len(epoch_s), "sops": rep.sops, "energy_pj": rep.energy_pj,
            "saved_bytes": saved, "T": T}


METRICS = ("acc", "last_acc", "rate", "epoch_s", "sops", "energy_pj", "saved_bytes")


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"seeds": len(runs), "T": runs[0]["T"]}
    for m in METRICS:
        mean, sd = mean_std([r[m] for r in runs])
        out[m], out[f"{m}_std"], out[f"per_seed_{m}"] = mean, sd, [r[m] for r in runs]
    return out


def run(scale: Optional[str] = None, *, seed: int = 0, progress: bool = True,
        neurons: Optional[Sequence[str]] = None, only_tasks: Optional[Sequence[str]] = None,
        delays: Optional[Sequence[int]] = None, root=None) -> dict[str, Any]:
    """``compare``: every neuron on every task of :func:`tasks`, for each seed of :func:`seeds_of`, and
    on delayed recall for each delay of the sweep.

    ``metrics["table"][task][kind]`` and ``metrics["memory"][delay][kind]`` hold, for each measurement of
    :func:`train_one`, the mean, the sample standard deviation and each seed's value; ``metrics["runs"]``
    counts the training runs (the table's recall task, when its delay is in the sweep, is trained once).
    ``neurons``, ``only_tasks`` and ``delays`` restrict the run (for tests); ``root`` is the data folder.

    Chapter 08 runs it through :func:`snnlib.experiments.reproduce` (section "The table").
    """
    s = settings(scale)
    kinds = _check_kinds("neurons", NEURONS if neurons is None else neurons)
    table_tasks = [t for t in tasks(s.scale) if only_tasks is None or t.key in only_tasks]
    sweep = list(s["delays"] if delays is None else delays)
    seeds = seeds_of(s.scale, seed)
    jobs: list[tuple[str, Task]] = [("table", t) for t in table_tasks]
    jobs += [("memory", recall_task(d)) for d in sweep if not any(t.key == f"recall-{d}" for _, t in jobs)]
    done: dict[str, dict[str, Any]] = {}
    with torch_threads(s["threads"]):
        for _, task in jobs:
            loaders = data.loaders(task.dataset, s.scale, batch_size=s["batch_size"], seed=seed, root=root,
                                   train_size=s["train_size"], **task.options)
            done[task.key] = {}
            for kind in kinds:
                runs = [train_one(kind, task, s.scale, seed=sd, loaders=loaders) for sd in seeds]
                done[task.key][kind] = _summarise(runs)
                if progress:
                    m = done[task.key][kind]
                    print(f"{task.label:>24} {NEURONS[kind].label:>15}: {100 * m['acc']:5.1f} ± "
                          f"{100 * m['acc_std']:4.1f}%  rate {m['rate']:.3f}  {m['epoch_s']:.2f} s/epoch")
    table = {t.key: done[t.key] for t in table_tasks}
    memory = {str(d): done[f"recall-{d}"] for d in sweep}
    metrics = {"table": table, "memory": memory, "neurons": kinds, "tasks": [t.key for t in table_tasks],
               "task_labels": {t.key: t.label for t in table_tasks}, "delays": sweep,
               "spiking_input": {t.key: t.spiking_input for t in table_tasks},
               "runs": len(jobs) * len(kinds) * len(seeds)}
    metrics["orders"] = order_checks(metrics)
    rows = [accuracy_row(k, t.label, table[t.key][k]) for t in table_tasks for k in kinds]
    config_out = {**s, "neurons": kinds, "tasks": [t.key for t in table_tasks], "tau": TAU, "threshold": THRESHOLD,
                  "order": ORDER}
    return {"dataset": ", ".join(t.dataset for t in table_tasks), "config": config_out, "metrics": metrics,
            "rows": rows, "seeds": seeds}


def accuracy_row(kind: str, task_label: str, summary: dict[str, Any]) -> dict[str, Any]:
    """The record row of neuron ``kind`` on a task: max test accuracy, mean ± std over the seeds (%)."""
    n = summary["seeds"]
    return {"label": f"{NEURONS[kind].label}, {task_label}", "metric": f"max test accuracy, mean of {n} seeds",
            "measured": 100 * summary["acc"], "std": 100 * summary["acc_std"], "n": n, "unit": "%",
            "per_seed": [100 * a for a in summary["per_seed_acc"]], "paper_key": None}


#: orders the papers claim, checked on every task of the table: (paper, text, better, worse, metric)
ORDER_CLAIMS: tuple[tuple[str, str, str, str, str], ...] = (
    ("PSN (Fang et al.)", "PSN is more accurate than the LIF", "psn", "lif", "acc"),
    ("PSN (Fang et al.)", "sliding PSN is more accurate than the LIF", "sliding_psn", "lif", "acc"),
    ("PSN (Fang et al.)", "the LIF is more accurate than the LIF without reset", "lif", "lif_no_reset", "acc"),
    ("PSN (Fang et al.)", "PSN is more accurate than masked PSN", "psn", "masked_psn", "acc"),
    ("PSN (Fang et al.)", "sliding PSN is more accurate than masked PSN", "sliding_psn", "masked_psn", "acc"),
    ("PSU (Li et al.)", "PSU fires less than PSN", "psu", "psn", "rate"),
    ("PSU (Li et al.)", "RPSU fires less than PSN", "rpsu", "psn", "rate"),
    ("PSU (Li et al.)", "PSU trains faster than the LIF", "psu", "lif", "epoch_s"),
    ("ParaLIF (Yarga & Wood)", "ParaLIF-T trains faster than the LIF", "paralif_d", "lif", "epoch_s"),
    ("ParaLIF (Yarga & Wood)", "ParaLIF-T is at least as accurate as the LIF", "paralif_d", "lif", "acc"),
    ("ParaLIF (Yarga & Wood)", "ParaLIF-SB is at least as accurate as the LIF", "paralif_s", "lif", "acc"),
)


def order_checks(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Each claim of :data:`ORDER_CLAIMS` on each task of ``metrics["table"]``: whether the measured order
    agrees (accuracy higher, rate or time lower).  Claims about neurons not in the run are skipped.

    Chapter 08 prints its result from the record (section "What we found").
    """
    out = []
    for paper, text, better, worse, metric in ORDER_CLAIMS:
        for task, by_kind in metrics["table"].items():
            if better not in by_kind or worse not in by_kind:
                continue
            a, b = by_kind[better][metric], by_kind[worse][metric]
            holds = a >= b if metric == "acc" else a < b
            out.append({"paper": paper, "claim": text, "task": task, "metric": metric, "better": better,
                        "worse": worse, "values": [a, b], "holds": bool(holds)})
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


register(Experiment(
    name="compare", chapter="compare", title="Every neuron side by side on one recipe",
    run=run, datasets={"ci": "digits-pixels, mnist1d, delayed-recall, dvs-digits", "gpu": "scifar10, shd",
                       "full": "scifar10, shd"}))
