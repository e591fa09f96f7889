"""Timing: the minimum of interleaved repetitions, the one way the book times code.

A leaf module, so that the experiments and the chapters time their speed comparisons exactly as
``python -m snnlib.bench`` does without importing the bench (which sits above the experiments).
"""
from __future__ import annotations

import random
import time
from typing import Callable, Optional, Sequence

__all__ = ["time_entries"]


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
    made the same way.

    Defined in chapter 00 (Foundations), section "Experiment: the serial cost grows with $T$".
    """
    return _time_entries(entries, reps, cap_s)
