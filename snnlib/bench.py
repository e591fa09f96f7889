"""Benchmarks that print ratios measured in the same run: ``python -m snnlib.bench neurons`` (and
``psu``, chapter 02's table: see :func:`psu`; ``paralif``, chapter 03's: see :func:`paralif`; ``attention``,
chapter 04's; ``compare``, chapter 08's: see :func:`compare`; ``reset``, chapter 09's: the LIF with its reset
computed exactly by fixed point, FPT and the reset-free scan against the serial loop, see :func:`reset`).

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
  ``SlidingPSN(32)`` and ``PSN(T)``, multi-step, on the same tensor;
* ``snt:SL``: snntorch's ``StateLeaky`` (a causal depthwise ``conv1d`` with the kernel
  ``exp(-n/tau)``) computing the same spikes as ``rfLIF``: beta mapped by
  :func:`snnlib.peers.beta_to_snntorch` (1 + ln 0.5), threshold 1/(1 - 0.5) since it does not scale its
  input, learnable (``learn_beta``) with ``--beta-grad``.  Shown only when snntorch (the ``peers``
  extra) is installed.

Both allocator modes, measured in the same run: each runs in its own worker process (glibc's
``mallopt`` cannot be undone in a process), and for each T the two workers measure one after the other
(their order alternating from row to row), so that load from other processes hits both alike.
``steady`` is what :func:`snnlib.utils.steady_allocator` sets -- what ``fit()`` and the chapters get:
glibc keeps freed memory, so no entry's time depends on the page faults that earlier entries did or did
not leave behind; ``system`` is glibc's defaults, a plain process (as with ``SNNLIB_SYSTEM_MALLOC=1``).
``--malloc steady`` or ``system`` measures one.  Each entry is the minimum over 7 repetitions,
interleaved (rep 1 of every entry, then rep 2, ..., in a seeded random order each time), so a burst of
load hits all entries alike and no entry always follows the same neighbour (whose buffers it would
inherit, warm or cold, from the allocator); each timed call starts with the input and the cotangent
freshly read (warm in cache, as when the previous layer has just written them), whatever ran before it.
An entry whose repetition takes over 10 s stops repeating (its count is shown); an entry faster than
50 ms times several calls per repetition (as many as fill 50 ms, at most 50) and takes their mean.  The
load average is printed before and after: on a shared machine, other processes on the second core stall
every multi-threaded op.

Ratios: ``auto/floor``, ``auto/best`` (best single method), ``LIF/rf`` (spikingjelly's LIFNode over
snnlib's reset-free LIF), ``SL/rf`` (snntorch's StateLeaky over the same), ``sPSN`` and ``PSN``
(spikingjelly's time over snnlib's: above 1 means snnlib is faster); with both modes, a last table gives
each entry's ``system`` time over its ``steady`` time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, TextIO

import torch

from . import config
from .timing import _time_entries, time_entries  # noqa: F401  (snnlib.bench.time_entries, as before)

BATCH, FEATURES = 32, 256
METHOD_NAMES = ("serial", "dense", "fft", "scan", "auto")
MALLOC_MODES = ("steady", "system")
BETA = 0.5
_REPLY = "@snnlib.bench "  # marks a worker's replies on its stdout


def _load() -> str:
    try:
        return "load %.2f" % os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on every platform
        return "load ?"


def _state_leaky(beta_grad: bool, per_neuron: bool) -> Optional[torch.nn.Module]:
    """snntorch's StateLeaky computing rfLIF's spikes (None without snntorch): its beta is
    ``beta_to_snntorch(BETA)`` and, as it does not scale its input by 1 - beta, its threshold 1 / (1 - BETA)."""
    from .peers import beta_to_snntorch, state_leaky_class

    try:
        cls = state_leaky_class()
    except ImportError:
        return None
    beta_snt = torch.full((FEATURES,) if beta_grad and per_neuron else (), beta_to_snntorch(BETA))
    return cls(beta=beta_snt, channels=FEATURES, threshold=1.0 / (1.0 - BETA), learn_beta=beta_grad, output=True)


def _neuron_entries(T: int, beta_grad: bool, per_neuron: bool,
                    ) -> tuple[dict[str, Callable[[], None]], Callable[[], None]]:
    from spikingjelly.activation_based import neuron as sj_neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate

    from .neurons import PSN, SlidingPSN, atan_spike, leaky_integrate

    torch.manual_seed(0)
    x = torch.randn(T, BATCH, FEATURES, requires_grad=True)
    g = torch.randn(T, BATCH, FEATURES)
    if beta_grad:
        beta = torch.full((FEATURES,) if per_neuron else (), BETA, requires_grad=True)
    else:
        beta = BETA
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
    state_leaky = _state_leaky(beta_grad, per_neuron)
    if state_leaky is not None:
        entries["snt:SL"] = run(lambda: state_leaky(x)[0], list(state_leaky.parameters()))

    def warm_inputs() -> None:
        with torch.no_grad():
            float(x.sum()) + float(g.sum())

    return entries, warm_inputs


def _ratios(t: dict[str, float]) -> dict[str, float]:
    best_single = min(t[m] for m in METHOD_NAMES if m != "auto")
    ratios = {
        "auto/floor": t["auto"] / t["x*2"],
        "auto/best": t["auto"] / best_single,
        "LIF/rf": t["sj:LIF"] / t["rfLIF"],
        "SL/rf": t["snt:SL"] / t["rfLIF"] if "snt:SL" in t else float("nan"),
        "sPSN sj/us": t["sj:sPSN"] / t["sPSN"],
        "PSN sj/us": t["sj:PSN"] / t["PSN"],
    }
    return ratios


def _worker(mode: str, threads: int, reps: int, beta_grad: bool, per_neuron: bool, cap_s: float,
            min_rep_s: float) -> int:
    """A measuring process for one allocator mode: after a hello line, reads one T per line on stdin
    and answers, on stdout, ``{name: [seconds, repetitions]}`` for that T (lines marked ``_REPLY``)."""
    from .utils import SYSTEM_MALLOC_ENV_VAR, steady_allocator

    if mode == "steady":
        alloc = steady_allocator()
    else:  # the parent also sets SNNLIB_SYSTEM_MALLOC=1, so nothing imported here changes it either
        alloc = f"system (glibc defaults, {SYSTEM_MALLOC_ENV_VAR}={os.environ.get(SYSTEM_MALLOC_ENV_VAR, '')})"
    torch.set_num_threads(threads)
    peers = ["snt:SL"] if _state_leaky(False, False) is not None else []

    def reply(obj: dict[str, Any]) -> None:
        sys.stdout.write(_REPLY + json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply({"mode": mode, "alloc": alloc, "threads": torch.get_num_threads(), "peers": peers})
    seen: dict[str, tuple[int, float]] = {}  # entry -> (T, seconds) at the previous row
    for line in sys.stdin:
        T = int(line)
        # an entry already warmed up at a shorter T, and predicted (as T^2) to exceed the cap, is not
        # run an extra time just to warm up: its code paths are warm, and each call takes minutes
        skip = [k for k, (T0, s0) in seen.items() if s0 * (T / T0) ** 2 > cap_s]
        entries, warm_inputs = _neuron_entries(T, beta_grad, per_neuron)
        res = _time_entries(entries, reps, cap_s, skip, before=warm_inputs, min_rep_s=min_rep_s)
        seen = {k: (T, v[0]) for k, v in res.items()}
        del entries, warm_inputs
        reply({"T": T, "res": {k: [v[0], v[1]] for k, v in res.items()}})
    return 0


class _Worker:
    """The parent's handle on one worker process."""

    def __init__(self, mode: str, reps: int, beta_grad: bool, per_neuron: bool, cap_s: float, min_rep_s: float):
        from .utils import SYSTEM_MALLOC_ENV_VAR

        env = dict(os.environ)
        env.pop(SYSTEM_MALLOC_ENV_VAR, None)
        if mode == "system":
            env[SYSTEM_MALLOC_ENV_VAR] = "1"
        root = str(Path(__file__).resolve().parents[1])  # this snnlib, whatever the working directory
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
        cmd = [sys.executable, "-m", "snnlib.bench", "neurons", "--_worker", mode,
               "--_threads", str(torch.get_num_threads()), "--reps", str(reps), "--_cap-s", repr(cap_s),
               "--_min-rep-s", repr(min_rep_s)] + (["--beta-grad"] if beta_grad else []) + (
               ["--per-neuron"] if per_neuron else [])
        self.mode = mode
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.hello = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(_REPLY):
                return json.loads(line[len(_REPLY):])
            sys.stderr.write(line)  # whatever else an import printed
        code = self.proc.wait()
        raise RuntimeError(f"the {self.mode!r} benchmark worker exited with code {code} before answering")

    def measure(self, T: int) -> dict[str, tuple[float, int]]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{T}\n")
        self.proc.stdin.flush()
        reply = self._read()
        return {k: (float(v[0]), int(v[1])) for k, v in reply["res"].items()}

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck worker
            self.proc.kill()
            self.proc.wait()


def neurons(Ts: Sequence[int], reps: int = 7, beta_grad: bool = False, per_neuron: bool = False,
            cap_s: float = 10.0, malloc: str = "both", min_rep_s: float = 0.05,
            out: TextIO = sys.stdout) -> list[dict[str, Any]]:
    """Time the neuron entries for each T, in a worker process per allocator mode (``malloc``: ``"both"``,
    ``"steady"`` or ``"system"``), and print one table, one row per T and mode; with both modes, a second
    table of system/steady times.  Returns the rows: ``T``, ``malloc``, seconds per entry and the ratios.
    """
    if malloc not in ("both", *MALLOC_MODES):
        raise ValueError(f"malloc={malloc!r}; expected 'both', 'steady' or 'system'")
    modes = MALLOC_MODES if malloc == "both" else (malloc,)
    load0 = _load()
    workers = [_Worker(m, reps, beta_grad, per_neuron, cap_s, min_rep_s) for m in modes]
    try:
        return _neurons_table(Ts, reps, beta_grad, per_neuron, cap_s, min_rep_s, workers, load0, out)
    finally:
        for w in workers:
            w.close()


def _neurons_table(Ts: Sequence[int], reps: int, beta_grad: bool, per_neuron: bool, cap_s: float, min_rep_s: float,
                   workers: list[_Worker], load0: str, out: TextIO) -> list[dict[str, Any]]:
    from .neurons import auto_method

    beta_desc = ("a [256] tensor" if per_neuron else "a 0-dim tensor") + " requiring grad" if beta_grad else "a float"
    threads = workers[0].hello["threads"]
    print(
        f"snnlib.bench neurons | torch {torch.__version__} | {platform.processor() or 'cpu'} | "
        f"{threads} threads | [T, {BATCH}, {FEATURES}] float32 | forward + backward | "
        f"beta = {BETA} as {beta_desc} | min of {reps} interleaved reps | {load0}",
        file=out,
    )
    for w in workers:
        print(f"malloc {w.mode}: {w.hello['alloc']} (a worker process of its own)", file=out)
    has_sl = all("snt:SL" in w.hello["peers"] for w in workers)
    if not has_sl:
        print("snt:SL: snntorch is not installed (pip install 'snnlib[peers]'): no StateLeaky column", file=out)
    cols = ["x*2", *METHOD_NAMES, "rfLIF", "sPSN", "PSN", "sj:LIF", "sj:sPSN", "sj:PSN"] + (
        ["snt:SL"] if has_sl else [])
    ratio_cols = ["auto/floor", "auto/best", "LIF/rf"] + (["SL/rf"] if has_sl else []) + ["sPSN sj/us", "PSN sj/us"]
    head = f"{'T':>5} {'auto':>6} {'malloc':>6} | " + " ".join(f"{c:>8}" for c in cols) + " | " + " ".join(
        f"{c:>10}" for c in ratio_cols)
    print("times in ms; ratios are plain numbers", file=out)
    print(head, file=out)
    print("-" * len(head), file=out)
    rows: list[dict[str, Any]] = []
    by_T: dict[int, dict[str, dict[str, float]]] = {}
    for i, T in enumerate(Ts):
        order = workers if i % 2 == 0 else workers[::-1]  # neither mode always measures first
        results = {w.mode: w.measure(T) for w in order}
        auto = auto_method(T, per_neuron=beta_grad and per_neuron)
        for w in workers:
            res = results[w.mode]
            t = {k: v[0] for k, v in res.items()}
            ratios = _ratios(t)
            cells = []
            for c in cols:
                sec, n = res[c]
                cells.append(f"{sec * 1e3:8.2f}" if n == reps else f"{sec * 1e3:6.0f}/{n}")
            print(f"{T:>5} {auto:>6} {w.mode:>6} | " + " ".join(cells) + " | " + " ".join(
                f"{ratios[c]:>10.2f}" for c in ratio_cols), file=out, flush=True)
            rows.append({"T": T, "malloc": w.mode, **t, **{c: ratios[c] for c in ratio_cols}})
            by_T.setdefault(T, {})[w.mode] = t
    print(f"(ms/n: the entry ran n reps only, one took over {cap_s:g} s; an entry predicted to exceed that "
          f"is warmed up by the previous row; a repetition of an entry under {min_rep_s * 1e3:g} ms is the "
          f"mean of as many calls as fill {min_rep_s * 1e3:g} ms, at most 50) | {_load()}", file=out)
    if len(workers) == 2:
        print("system / steady: each entry's time with glibc's default allocator over its time with "
              "steady_allocator()", file=out)
        head2 = f"{'T':>5} | " + " ".join(f"{c:>8}" for c in cols)
        print(head2, file=out)
        print("-" * len(head2), file=out)
        for T, t in by_T.items():
            print(f"{T:>5} | " + " ".join(f"{t['system'][c] / t['steady'][c]:>8.2f}" for c in cols), file=out)
    return rows


# ----------------------------------------------------------------------------------------------------
# chapter 02: the PSU family


PSU_COLS = ("PSU", "PSU dense", "IPSU", "RPSU", "LIF", "sj:LIF", "PSN")
PSU_RATIOS = ("dense/PSU", "sj:LIF/PSU", "LIF/PSU")


def _psu_entries(T: int) -> tuple[dict[str, Callable[[], None]], Callable[[], None]]:
    from spikingjelly.activation_based import neuron as sj_neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate

    from .neurons import IPSU, LIF, PSN, PSU, RPSU

    torch.manual_seed(0)
    x = torch.randn(T, BATCH, FEATURES, requires_grad=True)
    g = torch.randn(T, BATCH, FEATURES)

    def run(module: torch.nn.Module, reset: bool = False) -> Callable[[], None]:
        params = list(module.parameters())

        def step() -> None:
            if reset:
                module.reset()
            module(x).backward(g)
            for p in (x, *params):
                p.grad = None

        return step

    sj_lif = sj_neuron.LIFNode(tau=2.0, v_reset=None, surrogate_function=sj_surrogate.ATan(alpha=2.0),
                               step_mode="m")
    entries = {
        "PSU": run(PSU(tau=2.0, v_threshold=1.0)),
        "PSU dense": run(PSU(tau=2.0, v_threshold=1.0, method="dense")),
        "IPSU": run(IPSU(T)),
        "RPSU": run(RPSU(T)),
        "LIF": run(LIF(tau=2.0, v_reset=None)),
        "sj:LIF": run(sj_lif, reset=True),
        "PSN": run(PSN(T)),
    }

    def warm_inputs() -> None:
        with torch.no_grad():
            float(x.sum()) + float(g.sum())

    return entries, warm_inputs


def psu(Ts: Sequence[int], reps: int = 7, cap_s: float = 10.0, min_rep_s: float = 0.05,
        out: TextIO = sys.stdout) -> list[dict[str, Any]]:
    """``python -m snnlib.bench psu``: the PSU family (chapter 02) against the serial soft-reset LIF.

    For each T, forward + backward on ``[T, 32, 256]`` float32, in this process with
    :func:`snnlib.utils.steady_allocator` (the mode of ``fit()`` and the chapters), timed as the
    ``neurons`` table: ``PSU`` (scan, O(T)), ``PSU dense`` (the official T x T matrices, O(T^2)),
    ``IPSU`` and ``RPSU`` (scan for A and B, a learned T x T product), snnlib's ``LIF`` and
    spikingjelly's ``LIFNode`` (tau 2, soft reset, ATan(2)), ``PSN(T)``.  Ratios: dense over scan,
    spikingjelly's LIF over PSU, snnlib's LIF over PSU (above 1: PSU is faster).  Returns the rows.
    """
    from .utils import steady_allocator

    alloc = steady_allocator()
    print(f"snnlib.bench psu | torch {torch.__version__} | {platform.processor() or 'cpu'} | "
          f"{torch.get_num_threads()} threads | [T, {BATCH}, {FEATURES}] float32 | forward + backward | "
          f"tau = 2, soft reset | min of {reps} interleaved reps | malloc {alloc} | {_load()}", file=out)
    head = f"{'T':>5} | " + " ".join(f"{c:>9}" for c in PSU_COLS) + " | " + " ".join(
        f"{c:>10}" for c in PSU_RATIOS)
    print("times in ms; ratios are plain numbers", file=out)
    print(head, file=out)
    print("-" * len(head), file=out)
    rows: list[dict[str, Any]] = []
    seen: dict[str, tuple[int, float]] = {}
    for T in Ts:
        skip = [k for k, (T0, s0) in seen.items() if s0 * (T / T0) ** 2 > cap_s]
        entries, warm_inputs = _psu_entries(T)
        res = _time_entries(entries, reps, cap_s, skip, before=warm_inputs, min_rep_s=min_rep_s)
        seen = {k: (T, v[0]) for k, v in res.items()}
        t = {k: v[0] for k, v in res.items()}
        ratios = {"dense/PSU": t["PSU dense"] / t["PSU"], "sj:LIF/PSU": t["sj:LIF"] / t["PSU"],
                  "LIF/PSU": t["LIF"] / t["PSU"]}
        cells = [f"{res[c][0] * 1e3:9.2f}" if res[c][1] == reps else f"{res[c][0] * 1e3:7.0f}/{res[c][1]}"
                 for c in PSU_COLS]
        print(f"{T:>5} | " + " ".join(cells) + " | " + " ".join(f"{ratios[c]:>10.2f}" for c in PSU_RATIOS),
              file=out, flush=True)
        rows.append({"T": T, **t, **ratios})
        del entries, warm_inputs
    print(f"(ms/n: the entry ran n reps only, one took over {cap_s:g} s) | {_load()}", file=out)
    return rows


PARALIF_COLS = ("PL auto", "PL serial", "PL scan", "PL fft", "PL dense", "LIF", "sj:LIF")
PARALIF_RATIOS = ("sj:LIF/PL", "LIF/PL", "auto/best")
PARALIF_DENSE_MAX_T = 1024  # the dense method is O(T^2): above this it only adds minutes to the run


def _paralif_entries(T: int, batch: int, features: int, backward: bool
                     ) -> tuple[dict[str, Callable[[], None]], Callable[[], None]]:
    from spikingjelly.activation_based import neuron as sj_neuron
    from spikingjelly.activation_based import surrogate as sj_surrogate

    from .neurons import LIF, ParaLIF

    torch.manual_seed(0)
    x = torch.randn(T, batch, features, requires_grad=backward)
    g = torch.randn(T, batch, features)

    def run(module: torch.nn.Module, reset: bool = False) -> Callable[[], None]:
        params = list(module.parameters())

        def step() -> None:
            if reset:
                module.reset()
            if not backward:
                with torch.no_grad():
                    module(x)
                return
            module(x).backward(g)
            for p in (x, *params):
                p.grad = None

        return step

    entries = {f"PL {m}": run(ParaLIF("T", method=m)) for m in ("auto", "serial", "scan", "fft", "dense")
               if m != "dense" or T <= PARALIF_DENSE_MAX_T}
    entries["LIF"] = run(LIF(tau=2.0, v_reset=0.0))
    entries["sj:LIF"] = run(sj_neuron.LIFNode(tau=2.0, v_reset=0.0, surrogate_function=sj_surrogate.ATan(alpha=2.0),
                                              step_mode="m"), reset=True)

    def warm_inputs() -> None:
        with torch.no_grad():
            float(x.sum()) + float(g.sum())

    return entries, warm_inputs


def paralif(Ts: Sequence[int], reps: int = 7, batch: int = BATCH, features: int = FEATURES, backward: bool = True,
            cap_s: float = 10.0, min_rep_s: float = 0.05, out: TextIO = sys.stdout) -> list[dict[str, Any]]:
    """``python -m snnlib.bench paralif``: ParaLIF (chapter 03) against the serial LIF with hard reset.

    For each T, on ``[T, batch, features]`` float32 (default ``[T, 32, 256]``), forward + backward (or,
    with ``backward=False``, the forward pass alone under ``no_grad``, as the official timing script
    measures), in this process with :func:`snnlib.utils.steady_allocator` (the mode of ``fit()`` and the
    chapters), timed as the ``neurons`` table: ``ParaLIF("T")`` (tau_mem = tau_syn = 20 ms, dt = 1 ms,
    learnable threshold) with each :func:`~snnlib.neurons.leaky_integrate` method (``dense`` up to
    T = 1024), snnlib's serial ``LIF`` and spikingjelly's ``LIFNode`` (both tau 2, hard reset to 0, ATan(2);
    their time does not depend on tau).  Ratios: spikingjelly's LIF over ParaLIF auto, snnlib's LIF over
    ParaLIF auto (above 1: ParaLIF is faster), auto over the best single method.  Returns the rows.
    """
    from .utils import steady_allocator

    alloc = steady_allocator()
    print(f"snnlib.bench paralif | torch {torch.__version__} | {platform.processor() or 'cpu'} | "
          f"{torch.get_num_threads()} threads | [T, {batch}, {features}] float32 | "
          f"{'forward + backward' if backward else 'forward only (no_grad)'} | ParaLIF firing T, tau 20 ms; "
          f"LIF tau 2, hard reset | min of {reps} interleaved reps | malloc {alloc} | {_load()}", file=out)
    head = f"{'T':>5} | " + " ".join(f"{c:>9}" for c in PARALIF_COLS) + " | " + " ".join(
        f"{c:>10}" for c in PARALIF_RATIOS)
    print("times in ms; ratios are plain numbers", file=out)
    print(head, file=out)
    print("-" * len(head), file=out)
    rows: list[dict[str, Any]] = []
    seen: dict[str, tuple[int, float]] = {}
    for T in Ts:
        skip = [k for k, (T0, s0) in seen.items() if s0 * (T / T0) ** 2 > cap_s]
        entries, warm_inputs = _paralif_entries(T, batch, features, backward)
        res = _time_entries(entries, reps, cap_s, skip, before=warm_inputs, min_rep_s=min_rep_s)
        seen = {k: (T, v[0]) for k, v in res.items()}
        t = {k: v[0] for k, v in res.items()}
        best = min(v for k, v in t.items() if k.startswith("PL ") and k != "PL auto")
        ratios = {"sj:LIF/PL": t["sj:LIF"] / t["PL auto"], "LIF/PL": t["LIF"] / t["PL auto"],
                  "auto/best": t["PL auto"] / best}
        cells = [("-" if c not in res else f"{res[c][0] * 1e3:.2f}" if res[c][1] == reps
                  else f"{res[c][0] * 1e3:.0f}/{res[c][1]}").rjust(9) for c in PARALIF_COLS]
        print(f"{T:>5} | " + " ".join(cells) + " | " + " ".join(f"{ratios[c]:>10.2f}" for c in PARALIF_RATIOS),
              file=out, flush=True)
        rows.append({"T": T, **t, **ratios})
        del entries, warm_inputs
    print(f"(ms/n: the entry ran n reps only, one took over {cap_s:g} s; -: not run, dense above "
          f"T = {PARALIF_DENSE_MAX_T}) | {_load()}", file=out)
    return rows


def attention(Ns: Sequence[int] = (16, 64, 256, 1024), dims: Sequence[int] = (64, 384),
              T: int = config.ORDER_SHAPE["order_T"], batch: int = config.ORDER_SHAPE["order_batch"],
              heads: int = config.ORDER_SHAPE["order_heads"], rate: float = config.ORDER_SHAPE["order_rate"],
              reps: int = 7, cap_s: float = 10.0, min_rep_s: float = 0.05,
              out: TextIO = sys.stdout) -> list[dict[str, Any]]:
    """``python -m snnlib.bench attention``: the two association orders of SSA's :math:`Q K^T V` (chapter 04).

    For each token count N and model dimension d, binary Q, K, V of shape ``[T, batch, heads, N, d/heads]``
    (spike rate ``rate``; the shape and rate default to chapter 04's, ``config.settings("spikformer")``),
    forward + backward of :func:`snnlib.models.spikformer.spiking_attention` with
    ``order="qk_v"``, ``"q_kv"`` and ``"auto"``.  Ratios: auto over the faster order (at most 1.1 is the
    chapter's bar), and ``(QK)V`` over ``Q(KV)`` (the crossover is where it passes 1).  Returns the rows.
    """
    from .models.spikformer import attention_order, spiking_attention
    from .utils import steady_allocator

    alloc = steady_allocator()
    print(f"snnlib.bench attention | torch {torch.__version__} | {torch.get_num_threads()} threads | "
          f"[T={T}, N={batch}, heads={heads}, L, d/heads] float32, spike rate {rate} | forward + backward | "
          f"min of {reps} interleaved reps | malloc {alloc} | {_load()}", file=out)
    head = f"{'L':>5} {'d':>4} | {'(QK)V ms':>9} {'Q(KV) ms':>9} {'auto ms':>9} | {'auto picks':>10} " \
           f"{'auto/best':>9} {'(QK)V/Q(KV)':>11}"
    print(head, file=out)
    print("-" * len(head), file=out)
    rows: list[dict[str, Any]] = []
    g = torch.Generator().manual_seed(0)
    for d in dims:
        for L in Ns:
            qkv = [(torch.rand(T, batch, heads, L, d // heads, generator=g) < rate).float().requires_grad_(True)
                   for _ in range(3)]
            cot = torch.randn(T, batch, heads, L, d // heads, generator=g)

            def run(order: str) -> Callable[[], None]:
                def step() -> None:
                    for t in qkv:
                        t.grad = None
                    spiking_attention(*qkv, order=order).backward(cot)
                return step

            res = _time_entries({o: run(o) for o in ("qk_v", "q_kv", "auto")}, reps, cap_s, min_rep_s=min_rep_s)
            t = {k: v[0] for k, v in res.items()}
            row = {"L": L, "d": d, **t, "picks": attention_order(L, d // heads),
                   "auto/best": t["auto"] / min(t["qk_v"], t["q_kv"]), "qk_v/q_kv": t["qk_v"] / t["q_kv"]}
            print(f"{L:>5} {d:>4} | {t['qk_v'] * 1e3:>9.3f} {t['q_kv'] * 1e3:>9.3f} {t['auto'] * 1e3:>9.3f} | "
                  f"{row['picks']:>10} {row['auto/best']:>9.2f} {row['qk_v/q_kv']:>11.2f}", file=out, flush=True)
            rows.append(row)
    print(f"auto/best at most {max(r['auto/best'] for r in rows):.2f} | {_load()}", file=out)
    return rows


def compare_speed(Ts: Sequence[int], *, batch: int = 16, features: int = 64, reps: int = 3,
          neurons: Optional[Sequence[str]] = None, cap_s: float = 10.0, threads: Optional[int] = 1
          ) -> dict[str, Any]:
    """Forward plus backward time of every neuron at each T, on one tensor ``[T, batch, features]``, in
    one run, with the physical floor: an elementwise pass (``x * 2``, forward and backward).

    Returns ``{"T": [...], "shape": [batch, features], "seconds": {kind: [...]}, "floor": [...]}``; each
    time is the minimum over ``reps`` interleaved repetitions (:func:`snnlib.timing.time_entries`), on
    ``threads`` torch threads (default 1: a load-independent measure on a shared machine; ``None``: as set).

    Defined in chapter 08 (Side by side), section "Speed against T".
    """
    from .experiments import compare as cmp
    from .utils import torch_threads

    kinds = cmp._check_kinds("neurons", cmp.BOOK_NEURONS if neurons is None else neurons)
    out: dict[str, Any] = {"T": list(Ts), "shape": [batch, features], "seconds": {k: [] for k in kinds},
                           "floor": [], "reps": reps}
    with torch_threads(threads):
        for T in Ts:
            _compare_one(T, batch, features, reps, cap_s, kinds, out)
    return out


def _compare_one(T: int, batch: int, features: int, reps: int, cap_s: float, kinds: list[str],
              out: dict[str, Any]) -> None:
    """One T of :func:`compare_speed`: every neuron and the floor on one input and cotangent, interleaved."""
    from .experiments import compare as cmp

    gen = torch.Generator().manual_seed(T)
    x = torch.randn(T, batch, features, generator=gen).requires_grad_(True)
    g = torch.randn(T, batch, features, generator=gen)
    torch.manual_seed(0)
    models = {k: cmp.build_neuron(k, T, features, after_training=True) for k in kinds}

    def entry(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[], None]:
        def call() -> None:
            x.grad = None
            fn(x).backward(g)
        return call

    entries = {"floor": entry(lambda v: v * 2), **{k: entry(models[k]) for k in kinds}}
    times = time_entries(entries, reps=reps, cap_s=cap_s)
    out["floor"].append(times["floor"][0])
    for k in kinds:
        out["seconds"][k].append(times[k][0])


def compare(Ts: Sequence[int] = (16, 64, 256, 1024, 4096), reps: int = 3, batch: int = 16, features: int = 64,
            save: Optional[str | os.PathLike] = None, out: Optional[TextIO] = None) -> dict[str, Any]:
    """``python -m snnlib.bench compare``: every neuron of chapter 08's table (:data:`snnlib.experiments.compare.BOOK_NEURONS`),
    forward + backward on ``[T, batch, features]`` against T, with the elementwise floor, one thread, by
    :func:`compare_speed`.  Prints milliseconds, then each neuron's time over the floor
    and over the serial LIF's; with ``save``, writes the table as JSON (``T``, ``shape``, ``seconds``,
    ``floor``, the environment and the command) for the chapter to show.
    """
    from .experiments import compare as cmp
    from .records import device_name, environment, now_utc, versions
    from .utils import torch_threads

    out = sys.stdout if out is None else out
    with torch_threads(1):  # what speed() runs on
        env, device = environment(), device_name()
    print(f"snnlib.bench compare | torch {torch.__version__} | 1 thread | [T, {batch}, {features}] float32 | "
          f"forward + backward | min of {reps} interleaved reps | malloc {env['allocator']} | {_load()}", file=out)
    table = compare_speed(Ts, batch=batch, features=features, reps=reps, threads=1)
    kinds = list(table["seconds"])
    width = max(len(cmp.NEURONS[k].label) for k in kinds) + 1
    print(f"{'ms':<{width}}" + "".join(f"{T:>10}" for T in table["T"]), file=out)
    print(f"{'floor (x*2)':<{width}}" + "".join(f"{t * 1e3:>10.3f}" for t in table["floor"]), file=out)
    for k in kinds:
        print(f"{cmp.NEURONS[k].label:<{width}}" + "".join(f"{t * 1e3:>10.3f}" for t in table["seconds"][k]),
              file=out)
    for name, ref in (("over the floor", table["floor"]), ("over the LIF", table["seconds"].get("lif"))):
        if ref is None:
            continue
        print(f"\ntime {name}", file=out)
        for k in kinds:
            print(f"{cmp.NEURONS[k].label:<{width}}" + "".join(f"{t / r:>10.2f}" for t, r in
                                                              zip(table["seconds"][k], ref)), file=out)
    print(_load(), file=out)
    table.update({"labels": {k: cmp.NEURONS[k].label for k in kinds}, "environment": env, "versions": versions(),
                  "device": device, "created": now_utc(),
                  "command": "python -m snnlib.bench compare --T " + " ".join(map(str, Ts))
                             + f" --reps {reps} --shape {batch} {features}"})
    if save is not None:
        path = Path(save)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(table, indent=1) + "\n")
        print(f"saved {path}", file=out)
    return table


#: the chunk length of the chunked fixed point in ``python -m snnlib.bench reset`` (see :func:`reset`)
RESET_CHUNK = 64

#: the forms ``python -m snnlib.bench reset`` times, in its table's order
RESET_FORMS = ("serial", "fixed point", "active set", "chunked", "active, last step", "FPT K=3", "no reset")


def reset(Ts: Sequence[int] = (64, 256, 1024, 4096), reps: int = 3, batch: int = 32, features: int = 256,
          out: Optional[TextIO] = None, chunk: int = RESET_CHUNK, amplitude: float = 1.5,
          save: Optional[str | os.PathLike] = None) -> list[dict[str, Any]]:
    """``python -m snnlib.bench reset`` (chapter 09): the LIF with its reset, forward + backward on
    ``[T, batch, features]`` float32 (uniform input in [0, ``amplitude``), soft reset, tau 2, threshold 1,
    ``decay_input``), one thread, each the minimum of ``reps`` interleaved repetitions in one run:

    * ``serial``: the serial LIF (:class:`snnlib.neurons.LIF`), loop forward and BPTT backward;
    * ``fixed point``: :func:`snnlib.neurons.fixed_point_lif`'s plain form (whole-tensor passes);
    * ``active set``: its default form (only the neurons still changing, from their first change);
    * ``chunked``: the active set inside chunks of ``chunk`` steps, solved one after another;
    * ``active, last step``: the active set trained through the last fixed-point update (a scan backward)
      instead of the serial BPTT the three above share;
    * ``FPT K=3``: :class:`snnlib.neurons.FPT` (relaxed, not exact); ``no reset``: the reset-free LIF.

    Prints milliseconds, each over the serial LIF's, the passes of each exact form (``iters``: the plain
    form's; ``chunked`` sums its chunks'), the mean passes per neuron (:func:`snnlib.neurons.iteration_counts`),
    the firing rate, and how many spikes of the fixed point differ from the serial loop's (float32
    rounding near the threshold: the fixed point's potential is a scan, the loop's a recurrence).  Returns a
    row per T; with ``save``, writes them as JSON (``rows``, ``T``, ``shape``, ``chunk``, the environment
    and the command) for the chapter to show."""
    from .neurons import FPT, LIF, ResetFreeLIF, fixed_point_lif, iteration_counts
    from .neurons.lif import lif_multi_step
    from .records import device_name, environment, now_utc, versions
    from .utils import torch_threads

    out = sys.stdout if out is None else out
    rows: list[dict[str, Any]] = []
    with torch_threads(1):
        env, device = environment(), device_name()
    load_before = _load()
    print(f"snnlib.bench reset | torch {torch.__version__} | 1 thread | [T, {batch}, {features}] float32 | "
          f"input U[0, {amplitude:g}) | tau 2, soft reset | fwd+bwd | min of {reps} | chunk {chunk} | {load_before}",
          file=out)
    head = ("serial", "fixed pt", "active", f"chunk {chunk}", "act+last", "FPT K=3", "no reset")
    print(f"{'T':>6} {'iters':>5} {'act':>4} {'chunk':>5} {'mean':>5} {'rate':>5} {'diff':>5} | "
          + " ".join(f"{h:>9}" for h in head) + " | ratios over serial: "
          + " ".join(f"{h:>9}" for h in ("fp/serial", *head[2:])), file=out, flush=True)
    with torch_threads(1):
        for T in Ts:
            gen = torch.Generator().manual_seed(T)
            x = (amplitude * torch.rand(T, batch, features, generator=gen)).requires_grad_(True)
            g = torch.randn(T, batch, features, generator=gen)
            lif, fpt, free = LIF(v_reset=None), FPT(K=3, decay_input=True), ResetFreeLIF(tau=2.0)
            xd = x.detach()
            s_serial = lif_multi_step(xd, 2.0, 1.0, None)[0]
            s_fp, _, iters = fixed_point_lif(xd, v_reset=None, active_set=False)
            iters_active = fixed_point_lif(xd, v_reset=None)[2]
            iters_chunked = fixed_point_lif(xd, v_reset=None, chunk=chunk)[2]
            per_neuron = iteration_counts(xd, v_reset=None).double()

            def entry(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[], None]:
                def call() -> None:
                    x.grad = None
                    fn(x).backward(g)
                return call

            forms = {
                "serial": lif,
                "fixed point": lambda v: fixed_point_lif(v, v_reset=None, active_set=False)[0],
                "active set": lambda v: fixed_point_lif(v, v_reset=None)[0],
                "chunked": lambda v: fixed_point_lif(v, v_reset=None, chunk=chunk)[0],
                "active, last step": lambda v: fixed_point_lif(v, v_reset=None, grad="last_step")[0],
                "FPT K=3": fpt, "no reset": free}
            t = {k: v[0] for k, v in time_entries({k: entry(f) for k, f in forms.items()}, reps=reps).items()}
            row: dict[str, Any] = {
                "T": T, "iterations": iters, "iterations active set": iters_active,
                "iterations chunked": iters_chunked, "mean passes per neuron": float(per_neuron.mean()),
                "max passes per neuron": int(per_neuron.max()), "firing rate": float(s_serial.mean()),
                "spikes differing from serial": int((s_fp != s_serial).sum()), **t,
                "fixed point/serial": t["fixed point"] / t["serial"],
                "active set/serial": t["active set"] / t["serial"], "chunked/serial": t["chunked"] / t["serial"],
                "active, last step/serial": t["active, last step"] / t["serial"],
                "FPT/serial": t["FPT K=3"] / t["serial"], "no reset/serial": t["no reset"] / t["serial"]}
            rows.append(row)
            ratios = [row[k] for k in ("fixed point/serial", "active set/serial", "chunked/serial",
                                       "active, last step/serial", "FPT/serial", "no reset/serial")]
            print(f"{T:>6} {iters:>5} {iters_active:>4} {iters_chunked:>5} {row['mean passes per neuron']:>5.1f} "
                  f"{row['firing rate']:>5.2f} {row['spikes differing from serial']:>5} | "
                  + " ".join(f"{t[k] * 1e3:>9.2f}" for k in forms) + " | " + " " * 20
                  + " ".join(f"{r:>9.2f}" for r in ratios), file=out, flush=True)
    load_after = _load()
    print("ms; ratios over the serial LIF (below 1: faster); iters: passes of the plain form, act: of the "
          "active set, chunk: summed over the chunks; mean: passes per neuron (active set); diff: spikes of "
          "the fixed point that differ from the serial loop's | " + load_after, file=out)
    if save is not None:
        table = {"rows": rows, "T": list(Ts), "shape": [batch, features], "chunk": chunk, "amplitude": amplitude,
                 "reps": reps, "forms": list(RESET_FORMS), "load": [load_before, load_after],
                 "environment": env, "versions": versions(),
                 "device": device, "created": now_utc(),
                 "command": "python -m snnlib.bench reset --T " + " ".join(map(str, Ts))
                            + f" --reps {reps} --shape {batch} {features} --chunk {chunk} --amplitude {amplitude:g}"
                            + f" --save {save}"}
        path = Path(save)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(table, indent=1) + "\n")
        print(f"saved {path}", file=out)
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m snnlib.bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("neurons", help="leaky integration methods, reset-free LIF and PSNs against spikingjelly "
                                       "and snntorch, with both allocator modes")
    p.add_argument("--T", type=int, nargs="+", default=[16, 64, 256, 1024, 4096], help="sequence lengths")
    p.add_argument("--reps", type=int, default=7, help="repetitions per entry (minimum taken)")
    p.add_argument("--beta-grad", action="store_true", help="beta is a tensor that requires grad")
    p.add_argument("--per-neuron", action="store_true", help="with --beta-grad: beta of shape [256], not 0-dim")
    p.add_argument("--malloc", choices=["both", *MALLOC_MODES], default="both",
                   help="allocator modes to measure, each in a worker process: steady (what fit() and the "
                        "chapters set, snnlib.utils.steady_allocator), system (glibc's defaults, a plain "
                        "process), or both (default)")
    p.add_argument("--system-malloc", action="store_true", help="the same as --malloc system")
    # the worker processes' own arguments
    p.add_argument("--_worker", choices=MALLOC_MODES, help=argparse.SUPPRESS)
    p.add_argument("--_threads", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--_cap-s", type=float, default=10.0, help=argparse.SUPPRESS)
    p.add_argument("--_min-rep-s", type=float, default=0.05, help=argparse.SUPPRESS)
    q = sub.add_parser("psu", help="the PSU family (chapter 02): scan against the dense matrices and the serial "
                                   "soft-reset LIF")
    q.add_argument("--T", type=int, nargs="+", default=[16, 64, 256, 1024, 4096], help="sequence lengths")
    q.add_argument("--reps", type=int, default=7, help="repetitions per entry (minimum taken)")
    r = sub.add_parser("paralif", help="ParaLIF (chapter 03): its methods against the serial LIF and "
                                       "spikingjelly's LIFNode, both with a hard reset")
    r.add_argument("--T", type=int, nargs="+", default=[16, 64, 256, 1024, 4096], help="sequence lengths")
    r.add_argument("--reps", type=int, default=7, help="repetitions per entry (minimum taken)")
    r.add_argument("--shape", type=int, nargs=2, default=[BATCH, FEATURES], metavar=("BATCH", "FEATURES"),
                   help="batch and features of the input [T, BATCH, FEATURES] (the paper's script: 1 128)")
    r.add_argument("--forward-only", action="store_true", help="time the forward pass alone, under no_grad")
    a = sub.add_parser("attention", help="Spikformer's attention (chapter 04): (QK)V against Q(KV) and auto")
    a.add_argument("--N", type=int, nargs="+", default=[16, 64, 256, 1024], help="token counts")
    a.add_argument("--d", type=int, nargs="+", default=[64, 384], help="model dimensions (8 heads)")
    a.add_argument("--reps", type=int, default=7, help="repetitions per entry (minimum taken)")
    c = sub.add_parser("compare", help="every neuron of chapter 08 against T, with the elementwise floor")
    c.add_argument("--T", type=int, nargs="+", default=[16, 64, 256, 1024, 4096], help="sequence lengths")
    c.add_argument("--reps", type=int, default=3, help="repetitions per entry (minimum taken)")
    c.add_argument("--shape", type=int, nargs=2, default=[16, 64], metavar=("BATCH", "FEATURES"),
                   help="batch and features of the input [T, BATCH, FEATURES]")
    c.add_argument("--save", default=None, help="write the table as JSON here (the chapter shows "
                                                "results/bench/compare.json)")
    e = sub.add_parser("reset", help="the LIF with its reset in parallel (chapter 09): exact fixed point, FPT, "
                                     "the serial LIF and the reset-free scan")
    e.add_argument("--T", type=int, nargs="+", default=[64, 256, 1024, 4096], help="sequence lengths")
    e.add_argument("--reps", type=int, default=3, help="repetitions per entry (minimum taken)")
    e.add_argument("--shape", type=int, nargs=2, default=[32, 256], metavar=("BATCH", "FEATURES"),
                   help="batch and features of the input [T, BATCH, FEATURES]")
    e.add_argument("--chunk", type=int, default=RESET_CHUNK, help="chunk length of the chunked fixed point")
    e.add_argument("--amplitude", type=float, default=1.5, help="the input is uniform on [0, AMPLITUDE)")
    e.add_argument("--save", default=None, help="write the table as JSON here (the chapter shows "
                                                "results/bench/reset.json)")
    args = parser.parse_args(argv)
    if args.what == "reset":
        if args.reps < 1 or any(T < 1 for T in args.T) or min(args.shape) < 1 or args.chunk < 1:
            parser.error(f"--reps {args.reps} --T {args.T} --shape {args.shape} --chunk {args.chunk}: expected "
                         "every value >= 1")
        if not args.amplitude > 0:
            parser.error(f"--amplitude {args.amplitude}: expected > 0")
        reset(args.T, args.reps, args.shape[0], args.shape[1], chunk=args.chunk, amplitude=args.amplitude,
              save=args.save)
        return 0
    if args.what == "compare":
        if args.reps < 1 or any(T < 1 for T in args.T) or min(args.shape) < 1:
            parser.error(f"--reps {args.reps} --T {args.T} --shape {args.shape}: expected every value >= 1")
        compare(args.T, args.reps, args.shape[0], args.shape[1], save=args.save)
        return 0
    if args.what == "attention":
        if args.reps < 5 or any(n < 1 for n in args.N) or any(d < 8 or d % 8 for d in args.d):
            parser.error(f"--reps {args.reps} --N {args.N} --d {args.d}: expected reps >= 5, N >= 1 and d a "
                         "multiple of the 8 heads")
        attention(args.N, args.d, reps=args.reps)
        return 0
    if args.what == "paralif":
        if args.reps < 1 or any(T < 1 for T in args.T) or min(args.shape) < 1:
            parser.error(f"--reps {args.reps} --T {args.T} --shape {args.shape}: expected every value >= 1")
        paralif(args.T, args.reps, args.shape[0], args.shape[1], backward=not args.forward_only)
        return 0
    if args.what == "psu":
        if args.reps < 1 or any(T < 1 for T in args.T):
            parser.error(f"--reps {args.reps} --T {args.T}: expected reps >= 1 and every T >= 1")
        psu(args.T, args.reps)
        return 0
    if args.what == "neurons":
        if args.per_neuron and not args.beta_grad:
            parser.error("--per-neuron goes with --beta-grad")
        if args.reps < 1:
            parser.error(f"--reps {args.reps}: expected >= 1")
        if args._worker:
            return _worker(args._worker, args._threads or torch.get_num_threads(), args.reps, args.beta_grad,
                           args.per_neuron, args._cap_s, args._min_rep_s)
        if any(T < 1 for T in args.T):
            parser.error(f"--T {args.T}: every T must be >= 1")
        if args.system_malloc and args.malloc not in ("both", "system"):
            parser.error(f"--system-malloc with --malloc {args.malloc}: choose one")
        neurons(args.T, args.reps, args.beta_grad, args.per_neuron,
                malloc="system" if args.system_malloc else args.malloc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
