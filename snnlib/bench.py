"""Benchmarks that print ratios measured in the same run: ``python -m snnlib.bench neurons``.

Speed claims in the book come from here, never from timed tests.  ``neurons`` times, for each T, on one
tensor ``[T, 32, 256]`` float32, forward plus backward (gradient of a fixed random cotangent), after one
warm-up call:

* ``x*2``: the elementwise floor (one read, one write each way);
* ``serial``, ``dense``, ``fft``, ``scan``, ``auto``: :func:`snnlib.neurons.leaky_integrate`, beta = 0.5
  (tau = 2) -- a float, or with ``--beta-grad`` a tensor that requires grad: 0-dim (one learnable decay,
  as PLIF) or, with ``--per-neuron``, one per feature, ``[256]``;
* ``rfLIF``: a full reset-free LIF neuron, ``leaky_integrate`` (auto) then spikes with ATan(alpha=2);
* ``sPSN``, ``PSN``: snnlib's ``SlidingPSN(k=32)`` and ``PSN(T)``;
* ``sj:LIF``, ``sj:sPSN``, ``sj:PSN``: spikingjelly's ``LIFNode(tau=2.0, hard reset, ATan(2))``,
  ``SlidingPSN(32)`` and ``PSN(T)``, multi-step, on the same tensor.

By default glibc is told to keep freed memory (see ``_steady_allocator``), so that no entry's time
depends on the page faults that earlier entries did or did not leave behind; ``--system-malloc`` turns
that off.  Each entry is the minimum over 7 repetitions, interleaved (rep 1 of every entry, then rep 2,
..., in a seeded random order each time), so a burst of load hits all entries alike and no entry always
follows the same neighbour (whose buffers it would inherit, warm or cold, from the allocator); each
timed call starts with the input and the cotangent freshly read (warm in cache, as when the previous
layer has just written them), whatever ran before it.  An entry whose repetition takes over 10 s stops
repeating (its count is shown); an entry faster than 50 ms times several calls per repetition (as
many as fill 50 ms, at most 50) and takes their mean.  The load average is printed before and after:
on a shared machine, other processes on the second core stall every multi-threaded op.

Ratios: ``auto/floor``, ``auto/best`` (best single method), ``LIF/rf`` (spikingjelly's LIFNode over
snnlib's reset-free LIF), ``sPSN`` and ``PSN`` (spikingjelly's time over snnlib's: above 1 means snnlib
is faster).
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from typing import Callable, Optional, Sequence

import torch

BATCH, FEATURES = 32, 256
METHOD_NAMES = ("serial", "dense", "fft", "scan", "auto")


def _steady_allocator() -> str:
    """Make glibc keep freed memory (no mmap, no trimming), so every allocation after warm-up reuses
    pages that are already mapped.  Otherwise whether an entry pays page faults for its large tensors
    depends on what ran before it in the process (a heap grown by many small tensors serves large ones
    without faults), which shifts times by 2-3x.  Returns a description for the header."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
        ok = libc.mallopt(M_MMAP_MAX, 0) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 1 << 40) == 1
    except (OSError, AttributeError, TypeError):
        ok = False
    return "glibc: no mmap, no trim (allocations reuse mapped pages)" if ok else "system allocator"


def _load() -> str:
    try:
        return "load %.2f" % os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on every platform
        return "load ?"


def _neuron_entries(T: int, beta_grad: bool, per_neuron: bool,
                    ) -> tuple[dict[str, Callable[[], None]], Callable[[], None]]:
    from spikingjelly.activation_based import neuron as sj_neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate

    from .neurons import PSN, SlidingPSN, atan_spike, leaky_integrate

    torch.manual_seed(0)
    x = torch.randn(T, BATCH, FEATURES, requires_grad=True)
    g = torch.randn(T, BATCH, FEATURES)
    if beta_grad:
        beta = torch.full((FEATURES,) if per_neuron else (), 0.5, requires_grad=True)
    else:
        beta = 0.5
    params: list[torch.Tensor] = [x] + ([beta] if beta_grad else [])

    def run(fn: Callable[[], torch.Tensor], extra: Sequence[torch.nn.Parameter] = ()) -> Callable[[], None]:
        def step() -> None:
            y = fn()
            y.backward(g)
            for p in (*params, *extra):
                p.grad = None

        return step

    entries: dict[str, Callable[[], None]] = {"x*2": run(lambda: x * 2)}
    for m in METHOD_NAMES:
        entries[m] = run(lambda m=m: leaky_integrate(x, beta, method=m))
    entries["rfLIF"] = run(lambda: atan_spike(leaky_integrate(x, beta), 1.0, 2.0))
    s_psn, psn = SlidingPSN(32), PSN(T)
    entries["sPSN"] = run(lambda: s_psn(x), list(s_psn.parameters()))
    entries["PSN"] = run(lambda: psn(x), list(psn.parameters()))
    sj_lif = sj_neuron.LIFNode(tau=2.0, v_reset=0.0, surrogate_function=sj_surrogate.ATan(alpha=2.0), step_mode="m")

    def lif_fwd() -> torch.Tensor:
        sj_lif.reset()
        return sj_lif(x)

    entries["sj:LIF"] = run(lif_fwd)
    sj_s = sj_neuron.SlidingPSN(32, step_mode="m")
    sj_p = sj_neuron.PSN(T)
    entries["sj:sPSN"] = run(lambda: sj_s(x), list(sj_s.parameters()))
    entries["sj:PSN"] = run(lambda: sj_p(x), list(sj_p.parameters()))

    def warm_inputs() -> None:
        with torch.no_grad():
            float(x.sum()) + float(g.sum())

    return entries, warm_inputs


def _time_entries(entries: dict[str, Callable[[], None]], reps: int, cap_s: float,
                  skip_warmup: Sequence[str] = (), before: Optional[Callable[[], None]] = None,
                  min_rep_s: float = 0.0) -> dict[str, tuple[float, int]]:
    """Minimum time of each entry over ``reps`` interleaved repetitions, in a new (seeded) random order
    each repetition; an entry stops repeating once one repetition took over ``cap_s`` seconds.

    ``before`` runs, untimed, before every timed call (the neuron benchmark reads its input and
    cotangent there, so that every entry starts with them equally warm in cache, whichever entry ran
    before it).  With ``min_rep_s`` a repetition of an entry whose warm-up call was shorter is the mean
    of several calls (as many as fill ``min_rep_s``, at most 50), which steadies millisecond entries.
    """
    calls = {}
    for k, fn in entries.items():  # warm-up, which also sizes the repetitions
        if k in skip_warmup:
            calls[k] = 1
            continue
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        calls[k] = max(1, min(50, int(min_rep_s / dt))) if dt > 0 else 50
    rng = random.Random(0)  # the same orders in every run
    best = {k: float("inf") for k in entries}
    count = {k: 0 for k in entries}
    for _ in range(reps):
        order = list(entries)
        rng.shuffle(order)
        for k in order:
            if count[k] and best[k] > cap_s:
                continue
            total = 0.0
            for _ in range(calls[k]):
                if before is not None:
                    before()
                t0 = time.perf_counter()
                entries[k]()
                total += time.perf_counter() - t0
            best[k] = min(best[k], total / calls[k])
            count[k] += 1
    return {k: (best[k], count[k]) for k in entries}


def time_entries(entries: dict[str, Callable[[], None]], reps: int = 7,
                 cap_s: float = 10.0) -> dict[str, tuple[float, int]]:
    """``{name: (best seconds, repetitions)}`` for each callable: one warm-up call, then the minimum over
    ``reps`` interleaved repetitions (in a seeded random order), as in ``python -m snnlib.bench``.

    Chapters time their speed comparisons with this, so that the book's timings and the benchmark's are
    made the same way.  Defined in chapter 00 (Foundations), "Experiment".
    """
    return _time_entries(entries, reps, cap_s)


def neurons(Ts: Sequence[int], reps: int = 7, beta_grad: bool = False, per_neuron: bool = False,
            cap_s: float = 10.0, steady_allocator: bool = True, min_rep_s: float = 0.05,
            out=sys.stdout) -> list[dict[str, float]]:
    """Time the neuron entries for each T and print one table; returns the rows (seconds and ratios)."""
    from .neurons import auto_method

    alloc = _steady_allocator() if steady_allocator else "system allocator"

    beta_desc = ("a [256] tensor" if per_neuron else "a 0-dim tensor") + " requiring grad" if beta_grad else "a float"
    print(
        f"snnlib.bench neurons | torch {torch.__version__} | {platform.processor() or 'cpu'} | "
        f"{torch.get_num_threads()} threads | [T, {BATCH}, {FEATURES}] float32 | forward + backward | "
        f"beta = 0.5 as {beta_desc} | min of {reps} interleaved reps | {alloc} | {_load()}",
        file=out,
    )
    cols = ["x*2", *METHOD_NAMES, "rfLIF", "sPSN", "PSN", "sj:LIF", "sj:sPSN", "sj:PSN"]
    ratio_cols = ["auto/floor", "auto/best", "LIF/rf", "sPSN sj/us", "PSN sj/us"]
    head = f"{'T':>5} {'auto':>6} | " + " ".join(f"{c:>8}" for c in cols) + " | " + " ".join(
        f"{c:>10}" for c in ratio_cols)
    print("times in ms; ratios are plain numbers", file=out)
    print(head, file=out)
    print("-" * len(head), file=out)
    rows = []
    seen: dict[str, tuple[int, float]] = {}  # entry -> (T, seconds) at the previous row
    for T in Ts:
        # an entry already warmed up at a shorter T, and predicted (as T^2) to exceed the cap, is not
        # run an extra time just to warm up: its code paths are warm, and each call takes minutes
        skip = [k for k, (T0, s0) in seen.items() if s0 * (T / T0) ** 2 > cap_s]
        entries, warm_inputs = _neuron_entries(T, beta_grad, per_neuron)
        res = _time_entries(entries, reps, cap_s, skip, before=warm_inputs, min_rep_s=min_rep_s)
        seen = {k: (T, v[0]) for k, v in res.items()}
        t = {k: v[0] for k, v in res.items()}
        best_single = min(t[m] for m in METHOD_NAMES if m != "auto")
        ratios = {
            "auto/floor": t["auto"] / t["x*2"],
            "auto/best": t["auto"] / best_single,
            "LIF/rf": t["sj:LIF"] / t["rfLIF"],
            "sPSN sj/us": t["sj:sPSN"] / t["sPSN"],
            "PSN sj/us": t["sj:PSN"] / t["PSN"],
        }
        cells = []
        for c in cols:
            s, n = res[c]
            cells.append(f"{s * 1e3:8.2f}" if n == reps else f"{s * 1e3:6.0f}/{n}")
        auto = auto_method(T, per_neuron=beta_grad and per_neuron)
        print(f"{T:>5} {auto:>6} | " + " ".join(cells) + " | " + " ".join(
            f"{ratios[c]:>10.2f}" for c in ratio_cols), file=out, flush=True)
        rows.append({"T": T, **{k: v[0] for k, v in res.items()}, **ratios})
    print(f"(ms/n: the entry ran n reps only, one took over {cap_s:g} s; an entry predicted to exceed that "
          f"is warmed up by the previous row; a repetition of an entry under {min_rep_s * 1e3:g} ms is the "
          f"mean of as many calls as fill {min_rep_s * 1e3:g} ms, at most 50) | {_load()}", file=out)
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m snnlib.bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("neurons", help="leaky integration methods, reset-free LIF and PSNs against spikingjelly")
    p.add_argument("--T", type=int, nargs="+", default=[16, 64, 256, 1024, 4096], help="sequence lengths")
    p.add_argument("--reps", type=int, default=7, help="repetitions per entry (minimum taken)")
    p.add_argument("--beta-grad", action="store_true", help="beta is a tensor that requires grad")
    p.add_argument("--per-neuron", action="store_true", help="with --beta-grad: beta of shape [256], not 0-dim")
    p.add_argument("--system-malloc", action="store_true",
                   help="leave glibc's allocator as it is (large tensors may then pay page faults, or not, "
                        "depending on what ran before)")
    args = parser.parse_args(argv)
    if args.what == "neurons":
        if any(T < 1 for T in args.T):
            parser.error(f"--T {args.T}: every T must be >= 1")
        if args.reps < 1:
            parser.error(f"--reps {args.reps}: expected >= 1")
        if args.per_neuron and not args.beta_grad:
            parser.error("--per-neuron goes with --beta-grad")
        neurons(args.T, args.reps, args.beta_grad, args.per_neuron, steady_allocator=not args.system_malloc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
