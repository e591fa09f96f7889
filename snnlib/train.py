"""The one trainer of the book: ``fit(model, train_loader, test_loader, epochs=...)`` for ``[T, N, *]`` models.

* A model takes a batch as the loaders give it (time-first ``[T, N, *]`` for sequences, ``[N, *]`` for
  images it encodes itself) and returns logits ``[N, classes]`` or ``[T, N, classes]`` (averaged over T).
* Cross-entropy with label smoothing (or the MSE to one-hot of the SynA paper); soft labels from MixUp or
  CutMix are accepted.  AdamW, Adam, Adamax or SGD (momentum 0.9), cosine schedule per epoch.  AMP on CUDA.
* Progress: tqdm bars for epochs and batches with loss, accuracy and firing rate; on the static book
  build (``snnlib.utils.is_static_build()``) one plain line per epoch instead.
* Deterministic: ``seed`` seeds everything; a checkpoint after every epoch (model, optimizer, schedule,
  AMP scaler, the RNG states of Python, NumPy, torch and the loader's generator, the history) lets an
  interrupted run resume to the same numbers as an uninterrupted one.  The checkpoint stores the run's
  arguments; a resume with other arguments, or from a file that is not such a checkpoint, is refused with
  a message that names the file and says how to start fresh.
* An optional time budget stops before an epoch that would overrun it.
* On CPU, subnormal floats are flushed to zero during training (they can slow an epoch tenfold).
* Multi-GPU: run the same script under ``torchrun --nproc_per_node=N``; ``fit`` joins the process group
  (NCCL on GPUs, gloo on CPU), wraps the model in DistributedDataParallel and splits each batch of the
  loaders over the processes (``batch_size / N`` each, so the global batch stays the same).

The history (per epoch: losses, accuracies, firing rates, learning rate, wall time) is returned and, with
``checkpoint_dir``, saved as ``history.json``.
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from . import utils
from .records import json_ready  # noqa: F401  (snnlib.train.json_ready, as before)
from .energy import FiringRateMonitor

__all__ = ["History", "fit", "evaluate", "reset_states", "distributed_setup", "is_main_process"]

OPTIMIZERS = ("adamw", "adam", "adamax", "sgd")
SGD_MOMENTUM = 0.9
SCHEDULES = ("cosine", "none")
LOSSES = ("ce", "mse")
CHECKPOINT = "last.pt"
CHECKPOINT_KEYS = ("epoch", "args", "elapsed_s", "model", "optimizer", "scheduler", "scaler", "rng", "history")
HISTORY = "history.json"


@dataclass
class History:
    """Per-epoch records and facts about the run (``meta``: seed, world size, why it stopped, ...)."""

    epochs: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def last(self) -> dict[str, Any]:
        if not self.epochs:
            raise ValueError("the history is empty: no epoch has finished")
        return self.epochs[-1]

    def best(self, key: str = "test_acc") -> float:
        """The largest value of ``key`` over the epochs (the papers report the maximum test accuracy)."""
        values = [e[key] for e in self.epochs if e.get(key) is not None and not math.isnan(e[key])]
        if not values:
            raise ValueError(f"no epoch has a value for {key!r}; keys: {', '.join(self.epochs[0]) if self.epochs else '-'}")
        return max(values)

    def selected(self, key: str = "val_acc", among: Optional[Sequence[int]] = None) -> dict[str, Any]:
        """The epoch record chosen on validation: the epoch with the largest ``key`` (the first of equals),
        among the 0-based epoch indices ``among`` (default: all).  Its ``test_acc`` is what an experiment
        reports: the test set is read at the point the validation split chose, never used to choose it.
        """
        idx = range(len(self.epochs)) if among is None else list(among)
        scored = [(self.epochs[i][key], -i) for i in idx
                  if 0 <= i < len(self.epochs) and self.epochs[i].get(key) is not None
                  and not math.isnan(self.epochs[i][key])]
        if not scored:
            raise ValueError(f"no epoch{'' if among is None else f' among {list(among)}'} has a value for {key!r}: "
                             "pass a val_loader to fit() to select on validation")
        _, neg_i = max(scored)
        return {**self.epochs[-neg_i], "selected_epoch": -neg_i + 1, "selected_on": key}

    def column(self, key: str) -> list[Any]:
        return [e.get(key) for e in self.epochs]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data; NaN (a rate of a model without neurons) becomes ``None``."""
        return json_ready({"epochs": self.epochs, "meta": self.meta})

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "History":
        d = json.loads(Path(path).read_text())
        return cls(epochs=d["epochs"], meta=d.get("meta", {}))


# ----------------------------------------------------------------------------------------- distributed
def is_main_process() -> bool:
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def distributed_setup() -> tuple[int, int, Optional[int]]:
    """Join the process group that ``torchrun`` describes in the environment, if any.

    Returns ``(rank, world_size, local_rank)``; ``(0, 1, None)`` outside torchrun.  The backend is NCCL
    when CUDA is available and gloo otherwise.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available():
        return 0, 1, None
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size(), local_rank


def _distributed_loader(loader: DataLoader, world: int, rank: int, seed: int) -> DataLoader:
    """The same loader with each batch split over ``world`` processes (DistributedSampler)."""
    if isinstance(loader.sampler, DistributedSampler):
        return loader
    bs = loader.batch_size
    if bs is None or bs % world:
        raise ValueError(f"batch_size={bs} must be divisible by the number of processes ({world}) to keep the "
                         "global batch")
    shuffle = isinstance(loader.sampler, RandomSampler)
    sampler = DistributedSampler(loader.dataset, num_replicas=world, rank=rank, shuffle=shuffle, seed=seed,
                                 drop_last=False)
    return DataLoader(loader.dataset, batch_size=bs // world, sampler=sampler, num_workers=loader.num_workers,
                      collate_fn=loader.collate_fn, pin_memory=loader.pin_memory, drop_last=loader.drop_last,
                      persistent_workers=loader.num_workers > 0)


def _all_sum(values: list[float], device: torch.device) -> list[float]:
    if not (dist.is_available() and dist.is_initialized()):
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


# --------------------------------------------------------------------------------------------- helpers
def reset_states(model: nn.Module) -> None:
    """Call ``reset()`` on every submodule that has one (stateful neurons, as spikingjelly's ``reset_net``)."""
    for m in model.modules():
        reset = getattr(m, "reset", None)
        if callable(reset):
            reset()


def _logits(out: torch.Tensor) -> torch.Tensor:
    if out.dim() == 3:  # [T, N, classes]: the mean over time
        return out.mean(0)
    if out.dim() != 2:
        raise ValueError(f"the model returned shape {tuple(out.shape)}; expected [N, classes] or [T, N, classes]")
    return out


def _loss(logits: torch.Tensor, y: torch.Tensor, loss: str, label_smoothing: float) -> torch.Tensor:
    if loss == "ce":
        return F.cross_entropy(logits, y, label_smoothing=label_smoothing)
    target = y if y.dim() == 2 else F.one_hot(y, logits.shape[1]).to(logits.dtype)
    return F.mse_loss(logits, target)


def _hits(logits: torch.Tensor, y: torch.Tensor) -> float:
    labels = y.argmax(1) if y.dim() == 2 else y
    return float((logits.argmax(1) == labels).sum())


def _rng_state(loader: DataLoader) -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    # plain data only (a tensor, ints, floats, strings), so that the checkpoint loads with weights_only=True
    state = {"python": random.getstate(), "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                                                    int(pos), int(has_gauss), float(gauss)],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if loader.generator is not None:
        state["loader"] = loader.generator.get_state()
    return state


def _set_rng_state(state: dict[str, Any], loader: DataLoader) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "loader" in state and loader.generator is not None:
        loader.generator.set_state(state["loader"])


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, *, device: Optional[torch.device] = None,
             monitor: Optional[FiringRateMonitor] = None, amp: bool = False) -> dict[str, float]:
    """Loss (plain cross-entropy), accuracy and firing rate of ``model`` on ``loader``."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    own = monitor is None
    monitor = monitor or FiringRateMonitor(model)
    if own:
        monitor.__enter__()
    monitor.reset()
    loss_sum = hits = n = 0.0
    try:
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
                logits = _logits(model(x)).float()
            labels = y.argmax(1) if y.dim() == 2 else y
            loss_sum += float(F.cross_entropy(logits, labels, reduction="sum"))
            hits += _hits(logits, y)
            n += len(labels)
            reset_states(model)
    finally:
        if own:
            monitor.close()
        model.train(was_training)
    spikes = sum(float(v) for v in monitor.spikes.values())
    count = float(sum(monitor.counts.values()))
    loss_sum, hits, n, spikes, count = _all_sum([loss_sum, hits, n, spikes, count], device)
    if n == 0:
        raise ValueError(f"the evaluation loader gave no sample (its dataset holds {len(loader.dataset)}): an "
                         "empty test or validation set has no accuracy; refusing to record 0.0 as one")
    return {"loss": loss_sum / n, "acc": hits / n, "rate": spikes / count if count else math.nan}


def _bar(live: bool, **kwargs):
    """A tqdm bar that is advanced by hand (``update``): live (:func:`snnlib.utils.progress`) or disabled.

    The bar never wraps the DataLoader: some tqdm classes call ``iter()`` on what they wrap when they are
    made, which draws the loader's shuffling seed once more and changes the data order.  Advanced by hand,
    a run gives the same numbers with live bars, on the static build and with ``progress=False``.
    """
    if live:
        return utils.progress(None, **kwargs)
    from tqdm.std import tqdm

    return tqdm(disable=True, **kwargs)


def _say(line: str, bar) -> None:
    if bar is not None and not getattr(bar, "disable", True):
        bar.write(line)
    else:
        print(line, flush=True)


# ------------------------------------------------------------------------------------------------- fit
def fit(
    model: nn.Module,
    train_loader: DataLoader,
    test_loader: Optional[DataLoader] = None,
    *,
    epochs: int,
    val_loader: Optional[DataLoader] = None,
    optimizer: str = "adamw",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    schedule: str = "cosine",
    label_smoothing: float = 0.0,
    loss: str = "ce",
    amp: Optional[bool] = None,
    seed: int = utils.DEFAULT_SEED,
    time_budget_s: Optional[float] = None,
    checkpoint_dir: Optional[str | os.PathLike] = None,
    resume: bool = True,
    on_epoch_start: Optional[Callable[[int, nn.Module], None]] = None,
    device: Optional[str | torch.device] = None,
    progress: bool = True,
    desc: str = "train",
) -> History:
    """Train ``model`` for ``epochs`` epochs and return its :class:`History`.

    Args:
        model: takes a batch ``x`` and returns ``[N, classes]`` or ``[T, N, classes]`` logits.
        train_loader, test_loader: from :func:`snnlib.data.loaders` or any DataLoader of ``(x, y)``.
        val_loader: the validation split (:func:`snnlib.data.split_loaders`), evaluated after every epoch
            (``val_loss``, ``val_acc``, ``val_rate``) so that :meth:`History.selected` can choose an epoch.
        epochs: number of epochs; the cosine schedule spans them.
        optimizer: ``"adamw"``, ``"adam"``, ``"adamax"`` or ``"sgd"`` (momentum 0.9); ``lr``, ``weight_decay``
            (decoupled for AdamW, an L2 term in the gradient for the others).
        schedule: ``"cosine"`` (per epoch, to 0 at the end) or ``"none"``.
        label_smoothing: of the cross-entropy.  ``loss``: ``"ce"`` or ``"mse"`` (to one-hot).
        amp: mixed precision; default on for CUDA, always off on CPU.
        seed: seeds Python, NumPy and torch, and the training loader's generator if it has one (so the data
            order does not depend on what ran before).
        time_budget_s: stop before an epoch that the last epoch's duration says would overrun it.
        checkpoint_dir: where ``last.pt`` and ``history.json`` go after each epoch.  With ``resume`` an
            existing ``last.pt`` is loaded and training continues after its epoch.  A checkpoint made with
            other arguments (epochs, optimizer, lr, weight_decay, schedule, label_smoothing, loss, seed, amp,
            world size, global batch) is refused, naming them; ``resume=False`` starts afresh.
        on_epoch_start: ``f(epoch, model)`` before each epoch (0-based), e.g. a masked PSN's lambda.
        device: default CUDA (this process's GPU under torchrun) when available, else CPU.
        progress: bars (or, on the static build, one line per epoch); ``False`` prints nothing.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r} must be a positive int")
    for arg, val, valid in (("optimizer", optimizer, OPTIMIZERS), ("schedule", schedule, SCHEDULES),
                            ("loss", loss, LOSSES)):
        if val not in valid:
            raise ValueError(f"{arg}={val!r}; expected one of {', '.join(valid)}")

    # one process or one of torchrun's: seeds, device, DDP wrapper, loaders split over the processes
    run, train_loader, test_loader, val_loader = _prepare(model, train_loader, test_loader, val_loader, device, amp, {
        "epochs": epochs, "optimizer": optimizer, "lr": lr, "weight_decay": weight_decay, "schedule": schedule,
        "label_smoothing": label_smoothing, "loss": loss, "seed": seed})
    history = History(meta={**run.args, "device": str(run.device), "stopped": "completed"})
    start_epoch, elapsed_before = 0, 0.0
    ckpt = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir is not None else None
    lock = _lock(ckpt.parent) if ckpt is not None and run.rank == 0 else None
    try:
        if ckpt is not None and ckpt.exists() and not ckpt.is_file():
            raise ValueError(f"{ckpt} exists but is not a file (a {'folder' if ckpt.is_dir() else 'special file'}); "
                             f"fit() writes its checkpoint there. {_fresh(ckpt)}")
        if ckpt is not None and resume and ckpt.is_file():
            history, start_epoch, elapsed_before = _resume(ckpt, run, train_loader)
        return _fit_epochs(run, model, train_loader, test_loader, val_loader, history, start_epoch,
                           elapsed_before, ckpt, epochs=epochs, time_budget_s=time_budget_s,
                           on_epoch_start=on_epoch_start, progress=progress, desc=desc)
    finally:
        if lock is not None:
            lock.unlink(missing_ok=True)


def _fit_epochs(run: "_Run", model: nn.Module, train_loader: DataLoader, test_loader: Optional[DataLoader],
                val_loader: Optional[DataLoader], history: History, start_epoch: int, elapsed_before: float,
                ckpt: Optional[Path], *, epochs: int, time_budget_s: Optional[float],
                on_epoch_start: Optional[Callable[[int, nn.Module], None]], progress: bool, desc: str) -> History:
    """The epochs of :func:`fit`, from ``start_epoch`` on (after a resume)."""

    monitor = FiringRateMonitor(model)
    main = run.rank == 0
    bars = progress and main and not utils.is_static_build()
    epoch_bar = _bar(bars, desc=desc, total=epochs, initial=start_epoch, leave=True)
    t_start = time.perf_counter()
    last_epoch_s = 0.0
    # Subnormal floats (tiny optimizer moments and surrogate gradients late in training) slow CPU arithmetic
    # about tenfold; they are flushed to zero while training on CPU, and flushing is switched off after.
    flush = run.device.type == "cpu" and torch.set_flush_denormal(True)
    try:
        monitor.__enter__()
        for epoch in range(start_epoch, epochs):
            elapsed = elapsed_before + time.perf_counter() - t_start
            if epoch > start_epoch and _over_budget(time_budget_s, elapsed + last_epoch_s, run):
                history.meta["stopped"] = f"time budget of {time_budget_s:g} s after {epoch} epochs"
                if progress and main:
                    _say(f"{desc}: stopping, the time budget of {time_budget_s:g} s would be exceeded", epoch_bar)
                break
            t_epoch = time.perf_counter()
            if on_epoch_start is not None:
                on_epoch_start(epoch, model)
            batch_bar = _bar(bars, desc=f"epoch {epoch + 1}/{epochs}", total=_n_batches(train_loader), leave=False)
            record = {"epoch": epoch + 1, **_train_epoch(run, train_loader, epoch, monitor, batch_bar)}
            record["train_s"] = time.perf_counter() - t_epoch  # the training pass alone, before evaluation
            if run.sched is not None:
                run.sched.step()
            if val_loader is not None:
                record.update(_evaluate(run, val_loader, monitor, "val"))
            if test_loader is not None:
                record.update(_evaluate(run, test_loader, monitor))
            last_epoch_s = time.perf_counter() - t_epoch
            record["epoch_s"] = last_epoch_s
            record["elapsed_s"] = elapsed_before + time.perf_counter() - t_start
            history.epochs.append(record)
            history.meta["wall_s"] = record["elapsed_s"]
            if ckpt is not None:
                _save(ckpt, run, train_loader, history)
            if progress and main:
                _report(desc, record, epochs, epoch_bar if bars else None)
    finally:
        monitor.close()
        epoch_bar.close()
        if flush:
            torch.set_flush_denormal(False)
    history.meta["wall_s"] = elapsed_before + time.perf_counter() - t_start
    if ckpt is not None and main:
        history.save(ckpt.parent / HISTORY)
    return history


@dataclass
class _Run:
    """What the phases of one :func:`fit` call share: the model, its optimizer and the run's arguments."""

    model: nn.Module
    net: nn.Module  # the model, or its DistributedDataParallel wrapper
    opt: torch.optim.Optimizer
    sched: Optional[torch.optim.lr_scheduler.LRScheduler]
    scaler: torch.amp.GradScaler
    device: torch.device
    amp: bool
    loss: str
    label_smoothing: float
    rank: int
    world: int
    args: dict[str, Any]  # the arguments that a resumed run must share, stored in the checkpoint


def _prepare(model: nn.Module, train_loader: DataLoader, test_loader: Optional[DataLoader],
             val_loader: Optional[DataLoader], device: Optional[str | torch.device], amp: Optional[bool],
             args: dict[str, Any]) -> tuple[_Run, DataLoader, Optional[DataLoader], Optional[DataLoader]]:
    """Seed, choose the device, join torchrun's process group if any (DDP, each batch split over the
    processes), build optimizer, schedule and AMP scaler.  ``args`` gains ``amp``, ``world_size`` and
    ``global_batch``."""
    rank, world, local_rank = distributed_setup()
    if device is None:
        device = torch.device(f"cuda:{local_rank or 0}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(device)
    use_amp = (device.type == "cuda") if amp is None else (bool(amp) and device.type == "cuda")
    seed = args["seed"]
    utils.seed_everything(seed)
    if train_loader.generator is not None:  # the data order, too, is a function of the seed alone
        train_loader.generator.manual_seed(seed)
    model.to(device)
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        train_loader = _distributed_loader(train_loader, world, rank, seed)
        if test_loader is not None:
            test_loader = _distributed_loader(test_loader, world, rank, seed)
        if val_loader is not None:
            val_loader = _distributed_loader(val_loader, world, rank, seed)
    opt = _optimizer(args["optimizer"], [p for p in model.parameters() if p.requires_grad], args["lr"],
                     args["weight_decay"])
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args["epochs"]) if args["schedule"] == "cosine"
             else None)
    run = _Run(model=model, net=net, opt=opt, sched=sched, scaler=torch.amp.GradScaler("cuda", enabled=use_amp),
               device=device, amp=use_amp, loss=args["loss"], label_smoothing=args["label_smoothing"], rank=rank,
               world=world, args={**args, "amp": use_amp, "world_size": world,
                                  "global_batch": (train_loader.batch_size or 0) * world})
    return run, train_loader, test_loader, val_loader


def _optimizer(name: str, params: list[nn.Parameter], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=SGD_MOMENTUM, weight_decay=weight_decay)
    cls = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "adamax": torch.optim.Adamax}[name]
    return cls(params, lr=lr, weight_decay=weight_decay)


def _n_batches(loader: DataLoader) -> Optional[int]:
    try:
        return len(loader)
    except TypeError:  # an iterable-style dataset
        return None


def _over_budget(time_budget_s: Optional[float], expected_s: float, run: _Run) -> bool:
    """Whether the next epoch would end after the budget (``expected_s``: the time spent plus the last epoch's);
    under torchrun every process takes the same decision, or the others would wait forever for the one
    that stopped."""
    if time_budget_s is None:
        return False
    over = expected_s > time_budget_s
    if run.world > 1:
        over = _all_sum([float(over)], run.device)[0] > 0
    return over


def _train_epoch(run: _Run, loader: DataLoader, epoch: int, monitor: FiringRateMonitor, bar) -> dict[str, Any]:
    """One pass over ``loader``: the epoch's learning rate and mean training loss, accuracy and firing rate."""
    if isinstance(loader.sampler, DistributedSampler):
        loader.sampler.set_epoch(epoch)
    run.net.train()
    monitor.reset()
    loss_sum = hits = n = 0.0
    try:
        for batch, (x, y) in enumerate(loader):
            x, y = x.to(run.device, non_blocking=True), y.to(run.device, non_blocking=True)
            run.opt.zero_grad(set_to_none=True)
            with torch.autocast(run.device.type, dtype=torch.float16, enabled=run.amp):
                logits = _logits(run.net(x)).float()
                batch_loss = _loss(logits, y, run.loss, run.label_smoothing)
            run.scaler.scale(batch_loss).backward()
            if not run.amp:  # under AMP the scaler skips a step with inf/NaN gradients, by design
                _check_finite(run.model, batch_loss, epoch, batch)
            run.scaler.step(run.opt)
            run.scaler.update()
            reset_states(run.model)
            loss_sum += float(batch_loss.detach()) * len(y)
            hits += _hits(logits.detach(), y)
            n += len(y)
            if not bar.disable:
                bar.set_postfix(loss=f"{loss_sum / n:.3f}", acc=f"{hits / n:.3f}", rate=f"{monitor.rate:.3f}",
                                refresh=False)
                bar.update(1)
    finally:
        bar.close()  # also when an epoch raises: a live bar left open redraws after the cell has ended
    if n == 0 and run.world == 1:
        raise ValueError(f"the training loader gave no batch in epoch {epoch + 1}: its dataset is empty "
                         f"({len(loader.dataset)} samples) or drop_last dropped them all; nothing to train on")
    spikes = sum(float(v) for v in monitor.spikes.values())
    count = float(sum(monitor.counts.values()))
    loss_sum, hits, n, spikes, count = _all_sum([loss_sum, hits, n, spikes, count], run.device)
    return {"lr": run.opt.param_groups[0]["lr"], "train_loss": loss_sum / max(n, 1), "train_acc": hits / max(n, 1),
            "train_rate": spikes / count if count else math.nan}


def _check_finite(model: nn.Module, loss: torch.Tensor, epoch: int, batch: int) -> None:
    """Raise, naming the epoch and the batch, when the loss or a gradient is not finite: a NaN in one sample
    turns every weight NaN at the next step, while the loss history can stay finite (a LIF reads a NaN
    potential as "no spike")."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    ok = torch.isfinite(loss).all() & torch.stack([torch.isfinite(g).all() for g in grads]).all() if grads \
        else torch.isfinite(loss).all()
    if not bool(ok):
        what = "the loss" if not bool(torch.isfinite(loss).all()) else "a gradient"
        raise FloatingPointError(f"{what} is not finite in epoch {epoch + 1}, batch {batch + 1} (1-based): a NaN or "
                                 "inf in the input or the model; training stopped before the weights were "
                                 "overwritten")


def _evaluate(run: _Run, loader: DataLoader, monitor: FiringRateMonitor, split: str = "test") -> dict[str, float]:
    ev = evaluate(run.net, loader, device=run.device, monitor=monitor, amp=run.amp)
    return {f"{split}_loss": ev["loss"], f"{split}_acc": ev["acc"], f"{split}_rate": ev["rate"]}


def _report(desc: str, record: dict[str, Any], epochs: int, epoch_bar) -> None:
    """The epoch's summary: on the live bar, or one printed line (static build)."""
    line = _summary(desc, record, epochs)
    if epoch_bar is not None:
        epoch_bar.set_postfix_str(line.split(": ", 1)[1], refresh=False)
        epoch_bar.update(1)
    else:
        print(line, flush=True)


def _summary(desc: str, r: dict[str, Any], epochs: int) -> str:
    line = (f"{desc}: epoch {r['epoch']}/{epochs}  loss {r['train_loss']:.4f}  acc {100 * r['train_acc']:.1f}%  "
            f"rate {r['train_rate']:.3f}")
    if "val_acc" in r:
        line += f"  | val acc {100 * r['val_acc']:.1f}%"
    if "test_acc" in r:
        line += f"  | test loss {r['test_loss']:.4f}  acc {100 * r['test_acc']:.1f}%"
    return line + f"  ({r['epoch_s']:.1f} s)"


# ------------------------------------------------------------------------------------------ checkpoints
LOCK = ".fit.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock(folder: Path) -> Path:
    """Claim ``folder`` for this process's checkpoints (``.fit.lock`` holding the pid), or raise naming the
    process that holds it.  A lock left by a process that no longer runs is taken over."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                holder = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                holder = 0
            if holder and holder != os.getpid() and _alive(holder):
                raise RuntimeError(f"{folder} is in use by another training run (process {holder}, see {path}); two "
                                   "runs in one checkpoint folder would overwrite each other. Give this run "
                                   "another checkpoint_dir, or wait for that one to finish.") from None
            path.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return path
    raise RuntimeError(f"could not claim {path} for this run's checkpoints")

def _fresh(path: Path) -> str:
    return (f"To start fresh, delete {path.parent} (or pass resume=False, or another checkpoint_dir, to "
            "fit()).")


def _read_checkpoint(path: Path, device: torch.device) -> dict[str, Any]:
    """The checkpoint at ``path``, or a ValueError that names the file and says how to start fresh."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)  # weights and plain data only: no code runs
    except Exception as err:  # a truncated zip, an empty file, text, another program's pickle...
        raise ValueError(f"{path} cannot be read as a checkpoint ({type(err).__name__}: {err}); it may be "
                         f"truncated by an interrupted copy or not be a checkpoint of snnlib.train.fit. "
                         f"{_fresh(path)}") from err
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        what = (f"a {type(state).__name__}" if not isinstance(state, dict)
                else f"a dict without {', '.join(missing)}")
        raise ValueError(f"{path} is not a checkpoint of snnlib.train.fit: it holds {what}"
                         + (" (checkpoints of older snnlib versions did not store their arguments)"
                            if isinstance(state, dict) and missing == ["args"] else "") + f". {_fresh(path)}")
    return state


def _resume(path: Path, run: _Run, loader: DataLoader) -> tuple[History, int, float]:
    """Load model, optimizer, schedule, scaler and RNG states from ``path``; returns the history so far, the
    epoch to continue at and the time already spent.  Refuses a checkpoint made with other arguments."""
    state = _read_checkpoint(path, run.device)
    differ = [f"{k}={state['args'].get(k)!r}, not {v!r}" for k, v in run.args.items() if state["args"].get(k) != v]
    if differ:
        raise ValueError(f"{path} was made with {'; '.join(differ)} (checkpoint, not this call), so this call "
                         f"cannot resume it. To resume, call fit() with the checkpoint's arguments. {_fresh(path)}")
    try:
        run.model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise ValueError(f"the model in {path} does not fit this model: {str(err).strip().rstrip('.')}.\n"
                         f"{_fresh(path)}") from err
    run.opt.load_state_dict(state["optimizer"])
    if run.sched is not None and state["scheduler"] is not None:
        run.sched.load_state_dict(state["scheduler"])
    run.scaler.load_state_dict(state["scaler"])
    _set_rng_state(state["rng"][run.rank] if isinstance(state["rng"], list) else state["rng"], loader)
    history = History(epochs=state["history"]["epochs"], meta=state["history"]["meta"])
    history.meta["resumed_from_epoch"] = state["epoch"]
    return history, state["epoch"], state["elapsed_s"]


def _save(path: Path, run: _Run, loader: DataLoader, history: History) -> None:
    """Write ``last.pt`` (atomically) and ``history.json`` after an epoch; every process's RNG state goes in,
    so that each resumes its own stream."""
    rng = _rng_state(loader)
    if run.world > 1:
        gathered: list[Any] = [None] * run.world
        dist.all_gather_object(gathered, rng)
        rng = gathered
    if run.rank != 0:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"epoch": history.last["epoch"], "args": run.args, "elapsed_s": history.last["elapsed_s"],
             "model": run.model.state_dict(), "optimizer": run.opt.state_dict(),
             "scheduler": run.sched.state_dict() if run.sched is not None else None,
             "scaler": run.scaler.state_dict(), "rng": rng, "history": history.to_dict()}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # per process: two writers never share one
    torch.save(state, tmp)
    tmp.replace(path)
    history.save(path.parent / HISTORY)
