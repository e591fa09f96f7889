"""The GPU check: one command that says whether the book's code is right and how fast it is on a CUDA device.

    python -m snnlib.gpucheck            # on a GPU machine: about 3-6 minutes; writes results/gpucheck-<device>.json
    python -m snnlib.gpucheck --tiny     # on a CPU: the same steps on tiny shapes (the test command runs this)
    python3 dev.py gpu                   # the same, from a clone

What it does, in order, and what each part of the record (``results/gpucheck-*.json``) holds:

* ``neurons``: every neuron of chapter 08's registry (:data:`snnlib.experiments.compare.NEURONS`), forward
  and backward on ``[T, N, F]``, on the device in float32 and under autocast float16 and bfloat16, each
  compared with the same neuron's float32 result on the CPU (same weights, same input): ``spike_mismatch``
  (share of spikes that differ), ``grad_rel_err`` (relative error of the input gradient, float32 only),
  ``finite`` (every output and gradient finite) and ``ok`` against :data:`TOLERANCES`.
* ``models``: the network chapters' models (Spikformer, Spikformer V2, the residual families, SynA-ResNet)
  on small shapes, the same comparison on their logits (``logit_rel_err``).
* ``bench``: forward plus backward time of every neuron against T on ``[T, 16, 64]``, with
  ``torch.cuda.synchronize()`` after every call (a CUDA call returns before the kernel ends; the ParaLIF
  paper's timing script omits the synchronisation), the minimum over interleaved repetitions, and each
  neuron's time over the LIF's.
* ``slices``: one short slice of training (10 timed steps after a warm-up) of every network that each
  experiment's ``gpu`` recipe trains (:func:`snnlib.gpu_budget.jobs`), at its ``gpu`` shapes and batch size, on
  synthetic data of the real datasets' shapes (the GPU machine has no network), keyed
  ``"<experiment>: <network>"``: ``experiment``, ``job``, ``batch``, ``s_per_step`` (seconds per training step,
  minimum over the timed steps, synchronised), ``timed_steps``, ``peak_mib`` (peak CUDA memory of the slice;
  ``None`` on a CPU), ``steps`` and ``eval_batches`` (the recipe's optimiser steps and evaluation batches, all
  runs), and the throughput model's ``model_train_step_s``, ``model_eval_batch_s`` and ``model_load_s`` for
  the same network (:mod:`snnlib.gpu_budget`).  Tiny mode slices the first network of each experiment at
  batch 2 and leaves the model's figures ``None``.
* ``chapter_estimates``: per experiment, its ``gpu`` time recomputed from the measured slices
  (:func:`chapter_estimates`): ``est_run_s_here`` (on this device), ``t4_factor`` (:data:`T4_FACTOR` of this
  device, stated, not measured: see its comment; ``None`` for another device), ``est_run_s_t4`` (the
  measured step times x ``t4_factor`` x the recipe's steps, evaluation and data loading added),
  ``model_t4_s`` (the throughput model's estimate that the chapters state, to compare) and ``jobs``.

Every tolerance is stated in :data:`TOLERANCES`; nothing is chosen inside a check.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import torch
from torch import nn

from . import records
from .train import reset_states
from .timing import time_entries

__all__ = ["TOLERANCES", "T4_FACTOR", "check_neurons", "check_models", "bench", "slices", "chapter_estimates", "run",
           "main"]

#: the stated tolerances: float32 on the device against float32 on the CPU, and autocast against float32
TOLERANCES = {
    "float32": {"spike_mismatch": 1e-3, "grad_rel_err": 1e-3, "logit_rel_err": 1e-3},
    # half precision moves potentials near the threshold across it: a few percent of spikes may flip
    # A model's logits under autocast: spikes near the threshold flip, and a flipped spike moves every logit
    # downstream, so an untrained network's logits differ by 15-55% under bfloat16 (measured on the CPU,
    # batch 1 and 2). For models the half-precision check is therefore a smoke test: finite, and within 1.0
    # (a wrong or missing kernel gives an error or garbage of any size); the record keeps the measured error.
    "float16": {"spike_mismatch": 0.05, "logit_rel_err": 1.0},
    "bfloat16": {"spike_mismatch": 0.10, "logit_rel_err": 1.0},
}
#: a Colab T4 against the device measured, for the chapter estimates: an assumption, stated with its basis.
#: The T4 has 8.1 TFLOP/s float32 and 320 GB/s; an H100 (PCIe/SXM) 51-67 TFLOP/s and 2-3.35 TB/s. The small
#: networks of the book are bound by memory traffic and kernel launches, so the factor is taken from memory
#: bandwidth (about 7-10x), rounded to 8 for an H100 and 10 for an H200; on another device it is 1 (no claim).
T4_FACTOR = {"H100": 8.0, "H200": 10.0}

_SIZES = {  # T, batch, features of the neuron checks; the bench's T list
    "full": {"neuron": (64, 16, 64), "bench_T": (64, 256, 1024), "bench_reps": 5, "slice_steps": 10},
    "tiny": {"neuron": (8, 2, 5), "bench_T": (8, 16), "bench_reps": 1, "slice_steps": 1},
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).norm() / b.norm().clamp_min(1e-12))


def _forward_backward(module: nn.Module, x: torch.Tensor, device: torch.device, dtype: Optional[torch.dtype]
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Output and input gradient of ``module`` on ``x`` (a CPU tensor), on ``device``; ``dtype``: autocast."""
    module = module.to(device)
    xd = x.detach().clone().to(device).requires_grad_(True)  # a fresh leaf: a CPU .to() would share x
    reset_states(module)
    torch.manual_seed(0)  # stochastic neurons draw the same noise on both sides where the generator allows
    with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
        y = module(xd)
    y = y if isinstance(y, torch.Tensor) else y[0]
    y.float().sum().backward()
    return y.detach().float().cpu().clone(), xd.grad.detach().float().cpu().clone()


def _compare(make: Callable[[], nn.Module], x: torch.Tensor, device: torch.device, spikes: bool
             ) -> dict[str, Any]:
    torch.manual_seed(0)
    ref_module = make()
    state = {k: v.clone() for k, v in ref_module.state_dict().items()}
    ref_y, ref_g = _forward_backward(ref_module, x, torch.device("cpu"), None)
    out: dict[str, Any] = {}
    for name, dtype in (("float32", None), ("float16", torch.float16), ("bfloat16", torch.bfloat16)):
        if dtype is torch.float16 and device.type == "cpu":
            continue  # CPU autocast to float16 is not what a reader's GPU runs; bfloat16 is checked instead
        torch.manual_seed(0)
        module = make()
        module.load_state_dict(state)
        try:
            y, g = _forward_backward(module, x, device, dtype)
        except Exception as err:  # noqa: BLE001 -- recorded, the check goes on
            out[name] = {"ok": False, "error": f"{type(err).__name__}: {err}"[:300]}
            continue
        tol = TOLERANCES[name]
        r: dict[str, Any] = {"finite": bool(torch.isfinite(y).all() and torch.isfinite(g).all())}
        if spikes:
            r["spike_mismatch"] = float((y != ref_y).float().mean())
            ok = r["spike_mismatch"] <= tol["spike_mismatch"]
        else:
            r["logit_rel_err"] = _rel(y, ref_y)
            ok = r["logit_rel_err"] <= tol["logit_rel_err"]
        if name == "float32":
            r["grad_rel_err"] = _rel(g, ref_g)
            ok = ok and r["grad_rel_err"] <= tol["grad_rel_err"]
        r["ok"] = bool(ok and r["finite"])
        out[name] = r
    return out


def check_neurons(device: torch.device, size: str = "full") -> dict[str, Any]:
    """Every neuron of chapter 08's registry on ``device`` against the CPU (see the module's docstring)."""
    from .experiments import compare

    T, N, F = _SIZES[size]["neuron"]
    x = 2 * torch.randn(T, N, F, generator=torch.Generator().manual_seed(1))
    return {k: _compare(lambda k=k: compare.build_neuron(k, T, F, after_training=True), x, device, spikes=True)
            for k in compare.NEURONS}


def _models(size: str) -> dict[str, tuple[Callable[[], nn.Module], torch.Tensor]]:
    from .models import SpikingResNet, SynAResNet
    from .models.resnet import FAMILIES
    from .models.scs import SpikformerV2
    from .models.spikformer import Spikformer

    px, T, n = (16, 2, 1) if size == "tiny" else (32, 4, 2)
    img = torch.rand(T, n, 3, px, px, generator=torch.Generator().manual_seed(2))
    small = img[..., :8, :8] if size == "tiny" else img  # the residual networks take any size
    out: dict[str, tuple[Callable[[], nn.Module], torch.Tensor]] = {
        "Spikformer (SSA)": (lambda: Spikformer(depth=1, dim=16, heads=2, T=T, in_channels=3, attention="ssa"), img),
        "Spikformer V2 (SCS)": (lambda: SpikformerV2(depth=1, dim=16, heads=2, T=T, in_channels=3, patch=4,
                                                     stem="scs"), img),
        "SynA-ResNet": (lambda: SynAResNet(8, 4, in_channels=3, T=T, gate_bias=2.0), small),
    }
    for family in FAMILIES:
        out[f"ResNet ({family})"] = (lambda family=family: SpikingResNet(family, 8, 4, in_channels=3, T=T), small)
    return out


def check_models(device: torch.device, size: str = "full") -> dict[str, Any]:
    """The network chapters' models on ``device`` against the CPU: logits and input gradients."""
    return {name: _compare(make, x, device, spikes=False) for name, (make, x) in _models(size).items()}


def bench(device: torch.device, size: str = "full") -> dict[str, Any]:
    """Forward + backward time of every neuron against T on ``[T, 16, 64]`` (tiny: ``[T, 2, 5]``), each call
    followed by ``torch.cuda.synchronize()``; seconds (minimum of interleaved repetitions) and time / LIF."""
    from .experiments import compare

    Ts, reps = _SIZES[size]["bench_T"], _SIZES[size]["bench_reps"]
    N, F = (16, 64) if size == "full" else (2, 5)
    out: dict[str, Any] = {"T": list(Ts), "shape": [N, F], "seconds": {k: [] for k in compare.NEURONS},
                           "over_lif": {k: [] for k in compare.NEURONS}, "synchronized": device.type == "cuda"}
    for T in Ts:
        gen = torch.Generator().manual_seed(T)
        x = torch.randn(T, N, F, generator=gen).to(device).requires_grad_(True)
        g = torch.randn(T, N, F, generator=gen).to(device)
        torch.manual_seed(0)
        mods = {k: compare.build_neuron(k, T, F, after_training=True).to(device) for k in compare.NEURONS}

        def entry(m: nn.Module) -> Callable[[], None]:
            def call() -> None:
                x.grad = None
                m(x).backward(g)
                _sync(device)
            return call

        times = time_entries({k: entry(m) for k, m in mods.items()}, reps=reps)
        for k in compare.NEURONS:
            out["seconds"][k].append(times[k][0])
            out["over_lif"][k].append(times[k][0] / times["lif"][0])
    return out


def _slice_jobs(size: str) -> list[Any]:
    """The training runs of every experiment's ``gpu`` recipe (:func:`snnlib.gpu_budget.jobs`): all of them
    (``full``), or the first of each experiment (``tiny``: the CPU mode, so that every experiment's slice path
    runs in the test command)."""
    from . import gpu_budget

    out = []
    for name in gpu_budget.EXPERIMENT_CHAPTERS:
        js = gpu_budget.jobs(name)
        out += js[:1] if size == "tiny" else js
    return out


def _slice_loss(out: Any) -> torch.Tensor:
    out = out[0] if isinstance(out, (tuple, list)) else out
    return out.float().square().mean()


def slices(device: torch.device, size: str = "full") -> dict[str, Any]:
    """A few training steps (SGD, a squared-output loss) of every :func:`_slice_jobs` network at its ``gpu``
    batch size (tiny: batch 2) on synthetic inputs of the real data's shape: ``s_per_step`` (minimum over the
    steps after one warm-up step, synchronised), ``peak_mib`` (CUDA only), the recipe's ``steps`` and
    ``eval_batches``, and the throughput model's ``model_train_step_s``, ``model_eval_batch_s`` and
    ``model_load_s`` (seconds per step to read the data: not on the device) of :mod:`snnlib.gpu_budget`."""
    from . import gpu_budget

    steps = _SIZES[size]["slice_steps"]
    out = {}
    for job in _slice_jobs(size):
        torch.manual_seed(0)
        model = job.make().to(device)
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)
        batch = 2 if size == "tiny" else job.batch_size
        args = tuple(a.to(device) for a in job.inputs(batch))
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        times = []
        for i in range(steps + 1):
            _sync(device)
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            reset_states(model)
            _slice_loss(model(*args)).backward()
            opt.step()
            _sync(device)
            if i:  # the first step warms up (allocation, cuDNN autotuning)
                times.append(time.perf_counter() - t0)
        model_s = gpu_budget.step_seconds(job) if size == "full" else {}
        out[f"{job.experiment}: {job.label}"] = {
            "experiment": job.experiment, "job": job.label, "batch": batch, "s_per_step": min(times),
            "timed_steps": steps,
            "peak_mib": (torch.cuda.max_memory_allocated(device) / 2**20) if device.type == "cuda" else None,
            "steps": job.steps, "eval_batches": job.eval_batches,
            "model_train_step_s": model_s.get("train_step_s"), "model_eval_batch_s": model_s.get("eval_batch_s"),
            "model_load_s": gpu_budget.LOAD_S_PER_SAMPLE[job.load] * job.batch_size}
        del model, opt, args
    return out


def chapter_estimates(slice_rec: dict[str, Any], factor: Optional[float]) -> dict[str, Any]:
    """Each experiment's ``gpu`` time recomputed from the measured slices: per run of a job,
    ``s_per_step x factor x (steps + eval_batches x model_eval_batch_s / model_train_step_s) + model_load_s x
    steps`` (the measured step on this device, times :data:`T4_FACTOR` for a T4; evaluation at the throughput
    model's ratio of an evaluation batch to a training step; data loading, a host cost, as the model has it),
    summed per experiment; ``est_run_s_here`` with a factor of 1.  ``model_t4_s``: the throughput model's
    estimate, for comparison.  Slices at tiny sizes (no model figures) give ``None``."""
    out: dict[str, Any] = {}
    for r in slice_rec.values():
        e = out.setdefault(r["experiment"], {"est_run_s_here": 0.0, "t4_factor": factor, "est_run_s_t4": 0.0,
                                             "model_t4_s": 0.0, "jobs": 0})
        e["jobs"] += 1
        if r["model_train_step_s"] is None:
            e["est_run_s_here"] = e["est_run_s_t4"] = e["model_t4_s"] = None
            continue
        ratio = r["model_eval_batch_s"] / r["model_train_step_s"]
        device_s = r["s_per_step"] * (r["steps"] + r["eval_batches"] * ratio)
        e["est_run_s_here"] += device_s + r["model_load_s"] * r["steps"]
        e["model_t4_s"] += r["model_train_step_s"] * r["steps"] + r["model_eval_batch_s"] * r["eval_batches"]
        if factor is None or e["est_run_s_t4"] is None:
            e["est_run_s_t4"] = None
        else:
            e["est_run_s_t4"] += factor * device_s + r["model_load_s"] * r["steps"]
    return out


def _t4_factor(device_name: str) -> Optional[float]:
    return next((f for key, f in T4_FACTOR.items() if key in device_name), None)


def run(device: Optional[str] = None, *, tiny: bool = False, out_dir: Optional[Path] = None,
        write: bool = True) -> dict[str, Any]:
    """Every part of the check on ``device`` (default CUDA if available, else CPU); returns the record and,
    with ``write``, writes it to ``out_dir`` (default :func:`snnlib.records.results_dir`)."""
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    size = "tiny" if tiny else "full"
    t0 = time.perf_counter()
    rec: dict[str, Any] = {"name": "gpucheck", "size": size, "device": records.device_name() if dev.type == "cuda"
                           else f"cpu ({torch.get_num_threads()} threads)", "versions": records.versions(),
                           "created": records.now_utc(), "tolerances": TOLERANCES}
    from .utils import torch_threads

    with torch_threads(1 if tiny else None):  # tiny shapes gain nothing from a second thread
        rec["neurons"] = check_neurons(dev, size)
        rec["models"] = check_models(dev, size)
        rec["bench"] = bench(dev, size)
        rec["slices"] = slices(dev, size)
    rec["chapter_estimates"] = chapter_estimates(rec["slices"], _t4_factor(rec["device"]))
    fails = [f"{part}/{name}/{prec}" for part in ("neurons", "models") for name, by in rec[part].items()
             for prec, r in by.items() if not r.get("ok")]
    rec["failures"] = fails
    rec["wall_s"] = round(time.perf_counter() - t0, 2)
    if write:
        folder = Path(out_dir) if out_dir is not None else records.results_dir()
        tag = "tiny" if tiny else (torch.cuda.get_device_name(dev).replace(" ", "-") if dev.type == "cuda" else "cpu")
        rec["path"] = str(records.write_json(folder / f"gpucheck-{tag}.json", rec))
    return rec


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m snnlib.gpucheck", description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="tiny shapes (the CPU mode the test command runs)")
    p.add_argument("--device", default=None, help="cuda, cuda:1, cpu (default: cuda when available)")
    p.add_argument("--out", default=None, help="folder of the record (default: results/)")
    a = p.parse_args(argv)
    rec = run(a.device, tiny=a.tiny, out_dir=Path(a.out) if a.out else None)
    n = sum(len(by) for part in ("neurons", "models") for by in rec[part].values())
    print(f"gpucheck on {rec['device']}: {n - len(rec['failures'])} of {n} comparisons within tolerance, "
          f"{rec['wall_s']} s; record {rec.get('path', '-')}")
    for f in rec["failures"]:
        print(f"  outside tolerance: {f}")
    for name, e in rec["chapter_estimates"].items():
        if e["est_run_s_here"] is None:
            continue  # tiny slices: timed, not scaled to the recipe
        t4 = ("no T4 factor for this device" if e["est_run_s_t4"] is None
              else f"T4 about {e['est_run_s_t4'] / 60:.0f} min")
        print(f"  {name}: {e['est_run_s_here'] / 60:.1f} min here; {t4} (throughput model: "
              f"{e['model_t4_s'] / 60:.0f} min)")
    return 1 if rec["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
