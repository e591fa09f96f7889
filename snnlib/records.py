"""Records: where results go, what a record says about where it ran, and how it is written.

Rows and claims live here too, with the book's one verdict rule (:func:`judge`).

The leaf that every part of the book that writes or reads a result imports (:mod:`snnlib.results`,
:mod:`snnlib.experiments`, :mod:`snnlib.train`, :mod:`snnlib.bench`).  It imports nothing of snnlib but
:mod:`snnlib.config` and :mod:`snnlib.utils`, so that imports run one way: neurons, models, data,
training and energy, records and results, experiments, the bench and the command line.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from . import config

__all__ = ["RESULTS_ENV_VAR", "CHAPTERS", "COMPARISONS", "mean_std", "results_dir", "runs_dir", "versions",
           "device_name", "now_utc", "environment", "device_matches_scale", "json_ready", "write_json", "seed_list",
           "Row", "Claim", "judge", "rejudge", "t_interval", "VERDICTS", "HOLDS", "FAILS", "INCONCLUSIVE",
           "UNTESTABLE", "AT_CHANCE_POINTS", "over_seeds"]

RESULTS_ENV_VAR = "SNNLIB_RESULTS"
#: the chapters, in book order (the modules of :mod:`snnlib.experiments` are named after them)
CHAPTERS = ("foundations", "psn", "psu", "paralif", "spikformer", "spikformer_v2", "ms_resnet", "syna", "compare",
            "reset_in_parallel")

#: how a measured number relates to the paper's, by scale
COMPARISONS = {
    "ci": "claim check",  # another (offline) dataset: only the claim's ordering or trend is compared
    "gpu": "same dataset, shorter training",
    "full": "paper's setting",
}


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation of ``values`` in float64 (std 0 for a single value): the
    mean ± std over seeds that every record of the book reports."""
    import torch

    v = torch.tensor([float(a) for a in values], dtype=torch.float64)
    return float(v.mean()), (float(v.std(unbiased=True)) if len(v) > 1 else 0.0)


def results_dir() -> Path:
    """Where results are written and read: ``$SNNLIB_RESULTS``, else the repository's ``results/``
    (when snnlib runs from a clone), else ``./results``."""
    raw = os.environ.get(RESULTS_ENV_VAR, "").strip()
    if raw:
        return Path(raw).expanduser()
    repo = Path(__file__).resolve().parents[1]
    if (repo / "results").is_dir() and (repo / "snnlib").is_dir():
        return repo / "results"
    return Path.cwd() / "results"


def runs_dir() -> Path:
    """Where long runs keep their checkpoints (to resume after an interruption): ``$SNNLIB_RUNS``, else
    ``./runs`` (ignored by git)."""
    raw = os.environ.get("SNNLIB_RUNS", "").strip()
    return Path(raw).expanduser() if raw else Path.cwd() / "runs"


def versions() -> dict[str, str]:
    """Versions of the packages a result depends on, and the git commit when run from a clone."""
    from importlib.metadata import PackageNotFoundError, version

    import torch

    from . import __version__

    out = {"snnlib": __version__, "python": platform.python_version(), "torch": torch.__version__}
    for dist in ("spikingjelly", "numpy", "tonic", "torchvision", "mnist1d", "scikit-learn"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "-"
    try:
        repo = Path(__file__).resolve().parents[1]
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True,
                                timeout=10)
        if commit.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain", "--", "snnlib"], cwd=repo, capture_output=True,
                                   text=True, timeout=10).stdout.strip()
            out["git"] = commit.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def device_name() -> str:
    """Where a result is measured, as records and saved bench tables say it: ``cuda (NAME x N)``, or
    ``cpu (PROCESSOR, N threads)`` with torch's current thread count."""
    import torch

    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        return f"cuda ({torch.cuda.get_device_name(0)}{f' x {n}' if n > 1 else ''})"
    n = torch.get_num_threads()
    return f"cpu ({platform.processor() or platform.machine()}, {n} thread{'s' if n != 1 else ''})"


def now_utc() -> str:
    """The time a record or a saved bench table is written: UTC, ISO 8601, to the second."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def environment() -> dict[str, Any]:
    """What changes a run's numbers besides the code and the seed: the torch version, its CPU thread count,
    the CPU kernels torch dispatches to (``torch.backends.cpu.get_cpu_capability()``: ``AVX2``,
    ``AVX512``, ...) and the allocator mode (:func:`snnlib.utils.steady_allocator`)."""
    import torch

    from . import utils

    return {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "allocator": utils.steady_allocator()}


def device_matches_scale(scale: str) -> bool:
    """Whether this machine can run ``scale`` as meant: ``gpu`` and ``full`` need CUDA, ``ci`` runs anywhere."""
    import torch

    return config.check_scale(scale) == "ci" or torch.cuda.is_available()


def json_ready(obj: Any) -> Any:
    """``obj`` as plain JSON data: NaN becomes ``None``, tuples lists, dict keys strings."""
    if isinstance(obj, float):
        return None if math.isnan(obj) else obj
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    return obj


def write_json(path: os.PathLike | str, obj: Any) -> Path:
    """Write ``obj`` (made :func:`json_ready`) to ``path`` atomically: a temporary file named after this
    process in the same folder, then a rename, so that a reader never sees half a record and two
    processes never share a temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(json_ready(obj), indent=1) + "\n")
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# --- rows, claims and the one verdict rule ---------------------------------------------------------------
#
# Every experiment writes its results as Rows (one measured quantity over the seeds) and Claims (a
# comparison of two rows, or of a row with a number, decided by one rule).  The rule, used by every claim
# check, table, decision guide, the scoreboard and every generated sentence:
#
# * a row is *at chance* when its mean is less than AT_CHANCE_POINTS above its chance level;
# * a claim compares per-seed paired differences (both sides ran on the same seeds) with a 95% Student-t
#   interval over the seeds: ``holds`` when the interval lies wholly on the claimed side, ``fails`` when it
#   lies wholly on the other, ``inconclusive`` otherwise;
# * a claim between two rows at chance is ``untestable at this scale``; so is one with a single row at
#   chance, unless that row is a declared expected failure compared with a row that is not at chance;
# * an equivalence claim states its margin m (with its reason): ``holds`` when the interval lies inside
#   [-m, m], ``fails`` when it lies wholly outside, ``inconclusive`` otherwise.

HOLDS, FAILS, INCONCLUSIVE, UNTESTABLE = "holds", "fails", "inconclusive", "untestable at this scale"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, UNTESTABLE)
DIRECTIONS = ("greater", "less", "equivalent")
#: a row whose mean is less than this many points (of a "%" row; 0.10 of a fraction) above chance is at chance
AT_CHANCE_POINTS = 10.0
#: the confidence of every claim's interval
CONFIDENCE = 0.95


def _points(unit: str) -> float:
    return AT_CHANCE_POINTS if unit == "%" else AT_CHANCE_POINTS / 100


def _floats(arg: str, values: Sequence[float]) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{arg}={values!r} must be a sequence of numbers") from None
    if not out:
        raise ValueError(f"{arg} is empty; expected one value per seed")
    if any(math.isnan(v) for v in out):
        raise ValueError(f"{arg}={list(out)} holds NaN; expected one finite value per seed")
    return out


@dataclass(frozen=True)
class Row:
    """One measured quantity over the seeds: what, in which unit, each seed's value, and how it was chosen.

    ``chance``: the chance level of an accuracy (same unit), else ``None``.  ``expected_failure``: ``None``,
    or why this row is expected to fail (a fixed-leak neuron at a long delay, say); tables print it.
    ``selected_on``: how the reported point was chosen (``"validation"``: the epoch, mode or order with the
    best validation accuracy; ``"last epoch"``; ``None`` for a quantity that involves no choice).
    """

    label: str
    metric: str
    unit: str
    per_seed: tuple[float, ...]
    seeds: tuple[int, ...]
    chance: Optional[float] = None
    expected_failure: Optional[str] = None
    selected_on: Optional[str] = None
    paper_key: Optional[str] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_seed", _floats(f"per_seed of {self.label!r}", self.per_seed))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if len(self.seeds) != len(self.per_seed):
            raise ValueError(f"row {self.label!r} has {len(self.per_seed)} values for {len(self.seeds)} seeds "
                             f"{list(self.seeds)}; expected one value per seed")

    @property
    def mean(self) -> float:
        return mean_std(self.per_seed)[0]

    @property
    def std(self) -> float:
        return mean_std(self.per_seed)[1]

    @property
    def n(self) -> int:
        return len(self.per_seed)

    @property
    def at_chance(self) -> bool:
        """Whether the mean is less than :data:`AT_CHANCE_POINTS` above chance (never, without a chance level)."""
        return self.chance is not None and self.mean - self.chance < _points(self.unit)

    def to_dict(self) -> dict[str, Any]:
        """The record's form: every field, with ``mean`` (also as ``measured``, what tables print), ``std``,
        ``n`` and ``at_chance``."""
        return {"label": self.label, "metric": self.metric, "unit": self.unit, "measured": self.mean,
                "mean": self.mean, "std": self.std, "n": self.n, "per_seed": list(self.per_seed),
                "seeds": list(self.seeds), "chance": self.chance, "at_chance": self.at_chance,
                "expected_failure": self.expected_failure, "selected_on": self.selected_on,
                "paper_key": self.paper_key}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Row":
        return cls(label=d["label"], metric=d["metric"], unit=d["unit"], per_seed=d["per_seed"],
                   seeds=d["seeds"], chance=d.get("chance"), expected_failure=d.get("expected_failure"),
                   selected_on=d.get("selected_on"), paper_key=d.get("paper_key"))


def t_interval(diffs: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``diffs`` and its two-sided Student-t interval over the seeds.

    With one value the interval is unbounded (one seed cannot tell anything apart)."""
    from scipy import stats

    d = _floats("diffs", diffs)
    mean, sd = mean_std(d)
    if len(d) < 2:
        return mean, -math.inf, math.inf
    half = float(stats.t.ppf(0.5 + confidence / 2, len(d) - 1)) * sd / math.sqrt(len(d))
    return mean, mean - half, mean + half


@dataclass(frozen=True)
class Claim:
    """A claim about rows, with its evidence and its verdict by the one rule (see :func:`judge`).

    ``a`` is compared with ``b`` (another row's label) or with ``value`` (a number); ``direction``:
    ``"greater"`` (a above b), ``"less"`` or ``"equivalent"`` (within ``margin``, for the reason
    ``margin_reason``).  ``diffs`` are the per-seed paired differences a - b; ``low``, ``high`` their 95%
    interval and ``half_width`` its half-width: the smallest difference this run could detect.
    ``source``: who makes the claim (a paper's registry key, or ``"ours"`` for a check of our reading).
    """

    statement: str
    a: str
    direction: str
    diffs: tuple[float, ...]
    mean: float
    low: float
    high: float
    verdict: str
    why: str
    b: Optional[str] = None
    value: Optional[float] = None
    margin: Optional[float] = None
    margin_reason: Optional[str] = None
    unit: str = ""
    source: Optional[str] = None

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def to_dict(self) -> dict[str, Any]:
        return {"statement": self.statement, "a": self.a, "b": self.b, "value": self.value,
                "direction": self.direction, "margin": self.margin, "margin_reason": self.margin_reason,
                "unit": self.unit, "diffs": list(self.diffs), "mean": self.mean, "low": _finite(self.low),
                "high": _finite(self.high), "half_width": _finite(self.half_width), "n": len(self.diffs),
                "verdict": self.verdict, "why": self.why, "source": self.source}


def _finite(x: float) -> Optional[float]:
    return None if math.isinf(x) or math.isnan(x) else x


def _decide(direction: str, low: float, high: float, margin: Optional[float]) -> str:
    if direction == "greater":
        return HOLDS if low > 0 else FAILS if high < 0 else INCONCLUSIVE
    if direction == "less":
        return HOLDS if high < 0 else FAILS if low > 0 else INCONCLUSIVE
    m = float(margin)  # equivalent
    return HOLDS if -m <= low and high <= m else FAILS if high < -m or low > m else INCONCLUSIVE


def judge(statement: str, a: Row, b: Optional[Row] = None, *, value: Optional[float] = None,
          direction: str = "greater", margin: Optional[float] = None, margin_reason: Optional[str] = None,
          source: Optional[str] = None) -> Claim:
    """Decide ``statement`` (row ``a`` against row ``b``, or against the number ``value``) by the one rule.

    Both rows must have run on the same seeds, in the same unit (paired differences).  An equivalence
    claim needs its ``margin`` and ``margin_reason``; the other directions take none.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction={direction!r}; expected one of {', '.join(DIRECTIONS)}")
    if (b is None) == (value is None):
        raise ValueError(f"claim {statement!r}: give either b (a row) or value (a number), not both or neither")
    if direction == "equivalent":
        if margin is None or not margin_reason or not margin > 0:
            raise ValueError(f"claim {statement!r}: an equivalence claim needs margin > 0 and its margin_reason "
                             f"(got margin={margin!r}, margin_reason={margin_reason!r})")
    elif margin is not None:
        raise ValueError(f"claim {statement!r}: margin={margin!r} is only for direction='equivalent'")
    if b is not None:
        if tuple(a.seeds) != tuple(b.seeds):
            raise ValueError(f"claim {statement!r}: rows {a.label!r} (seeds {list(a.seeds)}) and {b.label!r} "
                             f"(seeds {list(b.seeds)}) did not run on the same seeds; a paired claim needs both")
        if a.unit != b.unit:
            raise ValueError(f"claim {statement!r}: rows {a.label!r} ({a.unit!r}) and {b.label!r} ({b.unit!r}) "
                             "have different units")
        diffs = tuple(x - y for x, y in zip(a.per_seed, b.per_seed))
    else:
        diffs = tuple(x - float(value) for x in a.per_seed)
    mean, low, high = t_interval(diffs)
    rows = [a] if b is None else [a, b]
    chance_rows = [r for r in rows if r.at_chance]
    verdict, why = None, ""
    if len(chance_rows) == len(rows):
        verdict = UNTESTABLE
        why = ("at chance: " + ", ".join(f"{r.label} ({r.mean:.1f} against chance {r.chance:g})" for r in rows))
    elif chance_rows:
        r = chance_rows[0]
        if r.expected_failure is None:
            verdict = UNTESTABLE
            why = f"{r.label} is at chance ({r.mean:.1f} against chance {r.chance:g}) and not a declared expected failure"
    if verdict is None:
        verdict = _decide(direction, low, high, margin)
        why = f"95% interval of the paired difference [{low:+.3g}, {high:+.3g}] over {len(diffs)} seeds"
    return Claim(statement=statement, a=a.label, b=None if b is None else b.label, value=value, direction=direction,
                 diffs=diffs, mean=mean, low=low, high=high, verdict=verdict, why=why, margin=margin,
                 margin_reason=margin_reason, unit=a.unit, source=source)


def rejudge(claim: Mapping[str, Any], rows: Mapping[str, Mapping[str, Any]]) -> str:
    """The verdict of a recorded claim, recomputed from its rows' per-seed values (a record's
    ``rows`` by label): what a test compares with the verdict the record states.

    Defined in chapter 00 (Foundations), section "Experiment: training a spiking network".
    """
    a = Row.from_dict(rows[claim["a"]])
    b = Row.from_dict(rows[claim["b"]]) if claim.get("b") is not None else None
    return judge(claim["statement"], a, b, value=claim.get("value"), direction=claim["direction"],
                 margin=claim.get("margin"), margin_reason=claim.get("margin_reason")).verdict


def over_seeds(runs: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """For each key, the mean over the runs (one per seed), its sample standard deviation and each seed's
    value: ``{key: mean, key_std: std, per_seed_key: [...]}``, the triplet every record reports."""
    out: dict[str, Any] = {}
    for k in keys:
        values = [r[k] for r in runs]
        out[k], out[f"{k}_std"] = mean_std(values)
        out[f"per_seed_{k}"] = values
    return out


def seed_list(n: int, seed: int = 0) -> list[int]:
    """The seeds of a run: ``seed, seed + 1, ..., seed + n - 1``.  Both sides of every claim run on this list,
    so that a seed fixes the data subset, the validation split, the batch order and the initialisation of
    every shared layer for both."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n={n!r} seeds; expected a positive int")
    return [int(seed) + i for i in range(n)]
