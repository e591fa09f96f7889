"""How long each experiment's ``gpu`` run takes on a Colab T4: an estimate made on the CPU, and its method.

No line of the book has been timed on a T4, so the time each chapter states for its ``gpu`` scale is
computed here, from the work the run does and one stated throughput model:

1. **The work.**  For every training run of the experiment's ``gpu`` recipe (read from its ``settings``:
   neurons, seeds, depths, orders...) a :class:`Job` gives the network at its ``gpu`` size, an input batch
   of the real dataset's shape, the batch size, the samples trained on per epoch (after the validation
   split and any ``train_size`` subset), the samples evaluated per epoch (validation and test sets), the
   epochs and the number of runs.  Optimiser steps = epochs x ceil(train samples / batch) x runs.
2. **The cost of one step.**  One forward pass of the network, in training mode, on the CPU, on batches of
   :data:`PROBE_BATCHES` samples: :class:`torch.utils.flop_counter.FlopCounterMode` counts its FLOPs, and a
   dispatch counter counts the kernels it launches (every ATen call that is not a view) and the bytes
   they read and write.  Two batch sizes give each quantity as a fixed part plus a part per sample, so the
   step at the recipe's batch size is exact for these counts.  A training step is the forward plus a
   backward of :data:`BACKWARD_FACTOR` times the forward (FLOPs, bytes and kernels); an evaluation batch is
   one forward.
3. **The T4's time for it**: FLOPs at :data:`T4_FLOPS` x :data:`FLOP_UTILISATION`, plus bytes at
   :data:`T4_BANDWIDTH` x :data:`BANDWIDTH_UTILISATION`, plus :data:`KERNEL_S` per kernel launch (the time
   loops of spiking neurons launch many small kernels), plus :data:`STEP_OVERHEAD_S` per optimiser step
   (optimiser, loss, host-to-device copy), plus :data:`LOAD_S_PER_SAMPLE` per sample of a real dataset
   read from disk and augmented on Colab's two CPU cores.  The three device terms are added, not
   overlapped: the model is meant to overestimate.

:func:`estimate` returns one experiment's estimate, :func:`chapter_minutes` the minutes of what each
chapter starts (the sum over its experiments, rounded up), :func:`stated_minutes` every number of minutes
a chapter's time paragraph states, :func:`over_budget` the experiments and chapters over
:data:`BUDGET_MIN`.  ``python -m snnlib.gpu_budget`` prints the table.  The GPU check
(:mod:`snnlib.gpucheck`) times a short slice of every :class:`Job` on a real GPU and recomputes each
estimate from the measured time per step; until it has run on a GPU, the chapters state this estimate.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["T4_FLOPS", "FLOP_UTILISATION", "T4_BANDWIDTH", "BANDWIDTH_UTILISATION", "KERNEL_S", "STEP_OVERHEAD_S",
           "LOAD_S_PER_SAMPLE", "BACKWARD_FACTOR", "BUDGET_MIN", "PROBE_BATCHES", "SIZES", "EXPERIMENT_CHAPTERS",
           "COMMAND_LINE", "Job", "jobs", "probe", "step_seconds", "estimate", "estimates", "chapter_minutes",
           "stated_minutes", "over_budget", "main"]

# --------------------------------------------------------------------------------- the stated assumptions
#: a T4's float32 peak (NVIDIA T4 datasheet: 8.1 TFLOP/s single precision)
T4_FLOPS = 8.1e12
#: the share of that peak the book's networks reach: small convolutions, matrices of 128-384 columns and
#: batch 64-128 keep a T4 far from its peak; a quarter is an assumption, chosen low on purpose
FLOP_UTILISATION = 0.25
#: a T4's memory bandwidth (datasheet: 320 GB/s)
T4_BANDWIDTH = 320e9
#: the share of it that elementwise kernels (the neurons, BatchNorm) reach: an assumption, chosen low
BANDWIDTH_UTILISATION = 0.5
#: seconds per kernel launch in PyTorch's eager mode on a Colab host (launch plus Python dispatch; 5-10 us
#: on a fast host, more on Colab's 2.2 GHz cores): an assumption, chosen high
KERNEL_S = 20e-6
#: seconds per optimiser step for what the forward pass does not count: the optimiser's update, the loss,
#: the copy of the batch to the GPU, the trainer's bookkeeping (an assumption)
STEP_OVERHEAD_S = 3e-3
#: seconds per sample to read and augment a real dataset on Colab's 2 CPU cores (random crop and flip of a
#: CIFAR image, a few hundred microseconds on one core; SHD frames from tonic's cache): an assumption;
#: in-memory datasets (the digits, Yin-Yang, delayed recall) cost nothing
LOAD_S_PER_SAMPLE = {"cifar": 1.5e-4, "shd": 1e-4, "memory": 0.0}
#: a backward pass costs twice the forward (the usual rule: a gradient for the input and one for the weights)
BACKWARD_FACTOR = 2.0
#: the most minutes a chapter's ``gpu`` run may take on a T4
BUDGET_MIN = 20.0
#: the two batch sizes the forward pass is counted at (two give the fixed part and the part per sample)
PROBE_BATCHES = (2, 4)

#: (training, test) samples of each dataset the ``gpu`` runs use
SIZES = {"cifar10": (50_000, 10_000), "cifar100": (50_000, 10_000), "scifar10": (50_000, 10_000),
         "scifar100": (50_000, 10_000), "shd": (8_156, 2_264), "digits-rows": (1_437, 360),
         "delayed-recall": (2_000, 500)}

#: the chapter of each experiment (the book's order)
EXPERIMENT_CHAPTERS = {"foundations-mlp": "00", "psn-neurons": "01", "psn-order": "01", "psu-neurons": "02",
                       "psu-shd": "02", "paralif-firing": "03", "paralif-events": "03",
                       "spikformer-attention": "04", "spikformer-v2": "05", "ms-degradation": "06",
                       "syna-orrc": "07", "compare": "08", "reset-parallel": "09"}
#: the experiments a chapter does not start at ``gpu`` scale (it shows their record once
#: ``python -m snnlib reproduce NAME --scale gpu`` has made it): their time is stated apart
COMMAND_LINE = ("psu-shd", "paralif-events")


@dataclass(frozen=True)
class Job:
    """Identical training runs of one network in an experiment's ``gpu`` recipe.

    ``make()`` builds the network; ``inputs(n)`` a batch of ``n`` samples (a tuple of the forward's
    arguments); ``loss(out)`` a scalar from its output (default: the mean over time of the logits, summed).
    ``train_samples`` / ``eval_samples``: samples trained on / evaluated per epoch; ``runs``: how many such
    runs (seeds, repeats); ``load``: a key of :data:`LOAD_S_PER_SAMPLE`.
    """

    experiment: str
    label: str
    make: Callable[[], nn.Module]
    inputs: Callable[[int], tuple]
    batch_size: int
    train_samples: int
    eval_samples: int
    epochs: int
    runs: int = 1
    load: str = "memory"
    eval_batch_size: Optional[int] = None

    @property
    def steps_per_run(self) -> int:
        return self.epochs * math.ceil(self.train_samples / self.batch_size)

    @property
    def steps(self) -> int:
        """Optimiser steps of all the job's runs."""
        return self.steps_per_run * self.runs

    @property
    def eval_batches(self) -> int:
        return self.runs * self.epochs * math.ceil(self.eval_samples / (self.eval_batch_size or self.batch_size))


# --------------------------------------------------------------------------------- counting one forward
class _Kernels(TorchDispatchMode):
    """Counts the ATen calls that launch a kernel (every call that is not a view) and the bytes they touch."""

    def __init__(self) -> None:
        super().__init__()
        self.kernels = 0
        self.bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if not getattr(func, "is_view", False) and func.overloadpacket not in _FREE:
            self.kernels += 1
            flat = torch.utils._pytree.tree_leaves((args, kwargs, out))
            self.bytes += sum(t.numel() * t.element_size() for t in flat if isinstance(t, torch.Tensor))
        return out


#: ATen calls that launch no kernel of their own (allocation, autograd bookkeeping)
_FREE = {torch.ops.aten.detach, torch.ops.aten.empty, torch.ops.aten.empty_like, torch.ops.aten.lift_fresh,
         torch.ops.aten.empty_strided}


def _loss(out: Any) -> torch.Tensor:
    if isinstance(out, (tuple, list)):
        out = out[0]
    return out.float().sum()


def _count(job: Job, n: int) -> dict[str, float]:
    from .train import reset_states

    torch.manual_seed(0)
    model = job.make()
    model.train()
    args = job.inputs(n)
    with torch.no_grad():  # the forward pass alone; the backward is BACKWARD_FACTOR of it
        reset_states(model)
        with FlopCounterMode(display=False) as fc, _Kernels() as k:  # one pass, both counts
            model(*args)
    reset_states(model)
    return {"flops": float(fc.get_total_flops()), "bytes": float(k.bytes), "kernels": float(k.kernels)}


_PROBES: dict[tuple, dict[str, float]] = {}


def probe(job: Job) -> dict[str, float]:
    """The forward pass of ``job``'s network: ``{flops, bytes, kernels}`` at its batch size and at its
    evaluation batch size (``*_eval``), from counts at the two :data:`PROBE_BATCHES` (cached per network)."""
    key = (job.experiment, job.label)
    if key not in _PROBES:
        from .utils import torch_threads

        with torch_threads(1):
            a, b = (_count(job, n) for n in PROBE_BATCHES)
        (na, nb) = PROBE_BATCHES
        per = {q: (b[q] - a[q]) / (nb - na) for q in a}
        fixed = {q: max(0.0, a[q] - per[q] * na) for q in a}
        _PROBES[key] = {"per_sample": per, "fixed": fixed}
    p = _PROBES[key]
    out = {}
    for suffix, n in (("", job.batch_size), ("_eval", job.eval_batch_size or job.batch_size)):
        for q in ("flops", "bytes"):
            out[q + suffix] = p["fixed"][q] + p["per_sample"][q] * n
        out["kernels" + suffix] = p["fixed"]["kernels"] + p["per_sample"]["kernels"] * n  # ~ constant in n
    return out


def _device_s(flops: float, nbytes: float, kernels: float) -> float:
    return (flops / (T4_FLOPS * FLOP_UTILISATION) + nbytes / (T4_BANDWIDTH * BANDWIDTH_UTILISATION)
            + kernels * KERNEL_S)


def step_seconds(job: Job) -> dict[str, float]:
    """A training step's and an evaluation batch's estimated seconds on a T4 (see the module's docstring)."""
    p = probe(job)
    f = 1.0 + BACKWARD_FACTOR
    load = LOAD_S_PER_SAMPLE[job.load]
    train_s = (_device_s(f * p["flops"], f * p["bytes"], f * p["kernels"]) + STEP_OVERHEAD_S
               + load * job.batch_size)
    eb = job.eval_batch_size or job.batch_size
    eval_s = _device_s(p["flops_eval"], p["bytes_eval"], p["kernels_eval"]) + load * eb
    return {"train_step_s": train_s, "eval_batch_s": eval_s, **p}


# --------------------------------------------------------------------------------- each experiment's jobs
def _split(n: int, val_fraction: float, train_size: Optional[int] = None) -> tuple[int, int]:
    """(train, validation) samples of ``n`` training samples (first ``train_size`` kept) after the split."""
    n = min(n, train_size) if train_size else n
    val = round(val_fraction * n)
    return n - val, val


def _foundations() -> list[Job]:
    from .experiments import foundations
    from .models import SpikingMLP

    s = foundations.settings("gpu")
    tr, va = _split(SIZES["digits-rows"][0], 0.2)
    return [Job("foundations-mlp", f"spiking MLP, {readout} readout",
                lambda readout=readout: SpikingMLP(8, 8, 10, hidden=s["hidden"], readout=readout),
                lambda n: (torch.rand(8, n, 8),), s["batch_size"], tr, va + SIZES["digits-rows"][1], s["epochs"],
                runs=s["seeds"]) for readout in ("raster", "mean")]


def _psn_neurons() -> list[Job]:
    from .experiments import psn

    s = psn.settings("gpu")
    tr, va = _split(SIZES[s["dataset"]][0], s["val_fraction"], s.get("train_size"))
    kinds = psn.NEURONS + ((psn.FAIR,) if s.get("fair_tau") else ())
    classes = 100 if s["dataset"].endswith("100") else 10
    out = []
    for kind in kinds:
        k = s["k"] if kind in ("masked_psn", "sliding_psn") else None
        out.append(Job("psn-neurons", psn.label(kind, k), lambda kind=kind, k=k: psn.build_model(
            kind, "gpu", 3, classes, k=k), lambda n: (torch.rand(s["T"], n, 3, 32),), s["batch_size"], tr,
            va + SIZES[s["dataset"]][1], s["epochs"], runs=s["seeds"], load="cifar"))
    return out


def _psn_order() -> list[Job]:
    from .experiments import psn

    s = psn.settings("gpu")
    ds = s.get("order_dataset", s["dataset"])
    tr, va = _split(SIZES[ds][0], s["val_fraction"], s.get("train_size"))
    classes = 100 if ds.endswith("100") else 10
    return [Job("psn-order", psn.label(kind, k), lambda kind=kind, k=k: psn.build_model(kind, "gpu", 3, classes, k=k),
                lambda n: (torch.rand(s["T"], n, 3, 32),), s["batch_size"], tr, va + SIZES[ds][1],
                s.get("order_epochs", s["epochs"]), runs=s["seeds"], load="cifar")
            for kind in s["order_kinds"] for k in s["orders"]]


def _psu(experiment: str) -> list[Job]:
    from .experiments import psu

    s = psu.settings("gpu", experiment)
    shd = s["dataset"] == "shd"
    tr, va = _split(SIZES[s["dataset"]][0], s["val_fraction"], s.get("train_size"))
    classes = 20 if shd else (100 if s["dataset"].endswith("100") else 10)
    shape = (700,) if shd else (3, 32)
    features = 700 if shd else 3
    return [Job(experiment, psu.LABELS[kind], lambda kind=kind: psu._model(kind, s, features, classes),
                lambda n: (torch.rand(s["T"], n, *shape),), s["batch_size"], tr, va + SIZES[s["dataset"]][1],
                s["epochs"], runs=s["seeds"], load="shd" if shd else "cifar") for kind in psu.KINDS]


def _paralif_firing() -> list[Job]:
    from .experiments import paralif

    s = paralif.settings("gpu")
    c = s["firing"]
    tr, va = _split(c["n_train"], s["val_fraction"])
    return [Job("paralif-firing", paralif.LABELS[kind], lambda kind=kind: paralif.paralif_net(
        kind, 4, 3, c["hidden"], dt=c["dt"]), lambda n: (torch.rand(c["T"], n, 4),), c["batch_size"], tr,
        va + c["n_test"], c["epochs"], runs=s["seeds"]) for kind in paralif.NEURONS]


def _paralif_events() -> list[Job]:
    from .experiments import paralif

    s = paralif.settings("gpu")
    c = s["events"]
    tr, va = _split(SIZES["shd"][0], s["val_fraction"], c.get("train_size"))
    det, sto = c["modes"]
    out = []
    for net, spec in c["networks"].items():
        for kind in ("LIF", det, sto):
            if spec["recurrent"] and kind == "LIF":
                continue
            out.append(Job("paralif-events", f"{net}/{paralif.LABELS[kind]}",
                           lambda kind=kind, spec=spec: paralif.paralif_net(kind, 700, 20, spec["hidden"], dt=c["dt"],
                                                                            recurrent=spec["recurrent"]),
                           lambda n: (torch.rand(c["T"], n, 700),), c["batch_size"], tr, va + SIZES["shd"][1],
                           c["epochs"], runs=s["seeds"], load="shd"))
    return out


def _image_jobs(experiment: str, s: dict[str, Any], labels: dict[str, Callable[[], nn.Module]]) -> list[Job]:
    tr, va = _split(SIZES[s["dataset"]][0], s.get("val_fraction", 0.2), s.get("train_size"))
    return [Job(experiment, label, make, lambda n: (torch.rand(n, 3, 32, 32),), s["batch_size"], tr,
                va + SIZES[s["dataset"]][1], s["epochs"], runs=s["seeds"], load="cifar")
            for label, make in labels.items()]


def _spikformer() -> list[Job]:
    from .experiments import spikformer

    s = spikformer.settings("gpu")
    return _image_jobs("spikformer-attention", s, {
        spikformer.LABELS[a]: (lambda a=a: spikformer.build_model(a, "gpu", 3, 100)) for a in spikformer.ATTENTIONS})


def _spikformer_v2() -> list[Job]:
    """Pre-training (masked patches at ``pretrain_T``) on the training split, the two linear probes (a forward
    pass of the pre-trained and of the random encoder over the training split, the validation split and the
    test set), fine-tuning on ``label_fraction`` of the training split's labels, and the from-scratch
    network(s): with ``budget="time"`` each trains for the wall time of pre-training and fine-tuning (so it
    counts as both again); with ``budget="epochs"`` for the fine-tuning's epochs."""
    from .experiments import spikformer_v2 as v2
    from .models.mae import random_masking

    s = v2.settings("gpu")
    n_train, test = SIZES[s["dataset"]]
    tr, va = _split(n_train, s.get("val_fraction", 0.1), s.get("train_size"))
    labelled = math.ceil(s["label_fraction"] * tr)
    px = s["size"]
    fine_runs = s.get("finetune_seeds", s["seeds"])

    def mae() -> nn.Module:
        return v2.build_mae(v2.build_encoder(s, 3, 10), s)

    def mae_inputs(n: int) -> tuple:
        return torch.rand(n, 3, px, px), random_masking(n, (px // s["patch"]) ** 2, s["mask_ratio"])

    class _Features(nn.Module):  # what a probe runs: the encoder's features, no head
        def __init__(self) -> None:
            super().__init__()
            self.encoder = v2.build_encoder(s, 3, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.encoder.forward_features(x, None, s["T"])

    images = lambda n: (torch.rand(n, 3, px, px),)  # noqa: E731
    eval_bs = max(s["batch_size"], 256)
    pre = Job("spikformer-v2", "MAE pre-training", mae, mae_inputs, s["pretrain_batch_size"], tr, 0,
              s["pretrain_epochs"], runs=s["seeds"], load="cifar")
    probes = Job("spikformer-v2", "linear probes (features of two encoders)", _Features, images, eval_bs, 0,
                 tr + va + test, 1, runs=2 * s["seeds"], load="cifar", eval_batch_size=eval_bs)
    fine = Job("spikformer-v2", "fine-tuning (SCS)", lambda: v2.build_encoder(s, 3, 10), images, s["batch_size"],
               labelled, va + test, s["finetune_epochs"], runs=fine_runs, load="cifar", eval_batch_size=eval_bs)
    out = [pre, probes, fine]
    repeats = 1 + int(bool(s["compare_stems"]))
    if s["budget"] == "time":   # scratch (and SPS) train for the wall time of pre-training + fine-tuning
        out += [Job(j.experiment, f"from scratch, same time as: {j.label}", j.make, j.inputs, j.batch_size,
                    j.train_samples, j.eval_samples, j.epochs, runs=fine_runs * repeats, load=j.load,
                    eval_batch_size=j.eval_batch_size) for j in (pre, fine)]
    else:
        out.append(Job("spikformer-v2", "from scratch (and SPS)", fine.make, images, s["batch_size"], labelled,
                       va + test, s["finetune_epochs"], runs=fine_runs * repeats, load="cifar",
                       eval_batch_size=eval_bs))
    return out


def _ms_resnet() -> list[Job]:
    from .experiments import ms_resnet

    s = ms_resnet.settings("gpu")
    return _image_jobs("ms-degradation", s, {
        f"{ms_resnet.LABELS[f]}-{d}": (lambda f=f, d=d: ms_resnet.build_model(f, d, "gpu", 3, 10))
        for f in s["families"] for d in s["depths"]})


def _syna() -> list[Job]:
    from .experiments import syna

    s = syna.settings("gpu")
    return _image_jobs("syna-orrc", s, {syna.LABELS[n]: (lambda n=n: syna.build_model(n, "gpu", 3, 10))
                                        for n in s["nets"]})


def _compare() -> list[Job]:
    from .experiments import compare

    s = compare.settings("gpu")
    table = compare.tasks("gpu")
    jobs_ = table + [compare.recall_task(d) for d in s["delays"] if not any(t.key == f"recall-{d}" for t in table)]
    return _sequence_jobs("compare", s, jobs_, {
        kind: (lambda T, features, classes, task, kind=kind: compare.compare_net(
            kind, T, features, classes, hidden=s["hidden"], layers=s["layers"],
            readout_steps=task.readout_steps, bn_gamma=s["bn_gamma"])) for kind in s["neurons"]})


def _reset_parallel() -> list[Job]:
    from .experiments import reset_parallel as rp

    s = rp.settings("gpu")
    return _sequence_jobs("reset-parallel", s, rp.tasks("gpu"), {
        kind: (lambda T, features, classes, task, kind=kind: rp.build(kind, T, features, classes,
                                                                      task.readout_steps, "gpu"))
        for kind in rp.FORMS})


def _sequence_jobs(experiment: str, s, tasks_, makers: dict[str, Callable[..., nn.Module]]) -> list[Job]:
    """Chapter 08's recipe (and chapter 09's on it): one job per task and neuron, ``makers[kind](T, features,
    classes, task)`` building the network."""
    out = []
    for task in tasks_:
        if task.dataset.startswith("scifar"):
            T, shape, classes, load = 32, (3, 32), 10, "cifar"
        elif task.dataset == "shd":
            T, shape, classes, load = task.options["T"], (700,), 20, "shd"
        else:  # delayed recall: a 4-step cue, the delay, a 4-step question; 5 channels, 4 classes
            T, shape, classes, load = 8 + task.options["delay"], (5,), 4, "memory"
        n_train, n_test = SIZES[task.dataset]
        tr, va = _split(n_train, s["val_fraction"], s["train_size"])
        for kind, maker in makers.items():
            def make(maker=maker, T=T, shape=shape, classes=classes, task=task) -> nn.Module:
                return maker(T, math.prod(shape), classes, task)

            out.append(Job(experiment, f"{task.key}/{kind}", make,
                           lambda n, T=T, shape=shape: (torch.rand(T, n, *shape),), s["batch_size"], tr,
                           va + n_test, s["epochs"], runs=s["seeds"], load=load))
    return out


_BUILDERS: dict[str, Callable[[], list[Job]]] = {
    "foundations-mlp": _foundations, "psn-neurons": _psn_neurons, "psn-order": _psn_order,
    "psu-neurons": lambda: _psu("psu-neurons"), "psu-shd": lambda: _psu("psu-shd"),
    "paralif-firing": _paralif_firing, "paralif-events": _paralif_events, "spikformer-attention": _spikformer,
    "spikformer-v2": _spikformer_v2, "ms-degradation": _ms_resnet, "syna-orrc": _syna, "compare": _compare,
    "reset-parallel": _reset_parallel}


def jobs(experiment: str) -> list[Job]:
    """The training runs of ``experiment``'s ``gpu`` recipe, read from its ``settings("gpu")``."""
    if experiment not in _BUILDERS:
        raise ValueError(f"experiment={experiment!r}; expected one of {', '.join(_BUILDERS)}")
    return _BUILDERS[experiment]()


# --------------------------------------------------------------------------------- the estimate
def estimate(experiment: str) -> dict[str, Any]:
    """``experiment``'s ``gpu`` run on a T4: per job its steps and seconds, and the total (``t4_s``,
    ``t4_min``, ``steps``)."""
    rows = []
    for job in jobs(experiment):
        st = step_seconds(job)
        seconds = job.steps * st["train_step_s"] + job.eval_batches * st["eval_batch_s"]
        rows.append({"label": job.label, "runs": job.runs, "epochs": job.epochs, "batch_size": job.batch_size,
                     "train_samples": job.train_samples, "steps": job.steps, "eval_batches": job.eval_batches,
                     "gflop_per_step": (1 + BACKWARD_FACTOR) * st["flops"] / 1e9,
                     "kernels_per_step": (1 + BACKWARD_FACTOR) * st["kernels"],
                     "train_step_s": st["train_step_s"], "eval_batch_s": st["eval_batch_s"], "t4_s": seconds})
    total = sum(r["t4_s"] for r in rows)
    return {"experiment": experiment, "chapter": EXPERIMENT_CHAPTERS[experiment], "jobs": rows,
            "steps": sum(r["steps"] for r in rows), "t4_s": total, "t4_min": total / 60}


def estimates(names: Optional[Sequence[str]] = None) -> dict[str, dict[str, Any]]:
    """:func:`estimate` of every experiment with a ``gpu`` setting (or of ``names``)."""
    return {n: estimate(n) for n in (names or list(_BUILDERS))}


def _minutes(m: float) -> int:
    return max(1, math.ceil(m))


def chapter_minutes(est: Optional[dict[str, dict[str, Any]]] = None) -> dict[str, int]:
    """The minutes of what each chapter starts at ``gpu`` scale: the sum of the estimates of its experiments
    not in :data:`COMMAND_LINE`, rounded up."""
    est = est if est is not None else estimates()
    out: dict[str, float] = {}
    for name, e in est.items():
        if name not in COMMAND_LINE:
            out[e["chapter"]] = out.get(e["chapter"], 0.0) + e["t4_min"]
    return {ch: _minutes(m) for ch, m in out.items()}


def stated_minutes(est: Optional[dict[str, dict[str, Any]]] = None) -> dict[str, list[int]]:
    """The minutes each chapter's time paragraph states, in order: its own run (:func:`chapter_minutes`),
    then each of its :data:`COMMAND_LINE` experiments, rounded up."""
    est = est if est is not None else estimates()
    out = {ch: [m] for ch, m in chapter_minutes(est).items()}
    for name in COMMAND_LINE:
        if name in est:
            out.setdefault(est[name]["chapter"], []).append(_minutes(est[name]["t4_min"]))
    return out


def over_budget(limit: float = BUDGET_MIN, est: Optional[dict[str, dict[str, Any]]] = None) -> list[str]:
    """The experiments, and the chapters (``chapter NN``), whose ``gpu`` run is estimated over ``limit`` minutes."""
    est = est if est is not None else estimates()
    bad = [n for n, e in est.items() if e["t4_min"] > limit]
    return bad + [f"chapter {ch}" for ch, m in chapter_minutes(est).items() if m > limit]


def main(argv: Optional[Sequence[str]] = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or None
    est = estimates(names)
    for name, e in est.items():
        print(f"{name} (chapter {e['chapter']}): {e['t4_min']:.1f} min on a T4, {e['steps']} steps")
        for r in e["jobs"]:
            print(f"    {r['label']}: {r['runs']} x {r['epochs']} epochs, {r['steps']} steps of "
                  f"{1e3 * r['train_step_s']:.1f} ms ({r['gflop_per_step']:.2f} GFLOP, {r['kernels_per_step']:.0f} "
                  f"kernels), {r['t4_s'] / 60:.1f} min")
    print("minutes each chapter states (its own run, then its command-line runs):", stated_minutes(est))
    bad = over_budget(est=est)
    print("over", BUDGET_MIN, "minutes:", ", ".join(bad) if bad else "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
