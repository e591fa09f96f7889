"""Records: where results go, what a record says about where it ran, and how it is written.

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
from pathlib import Path
from typing import Any, Sequence

from . import config

__all__ = ["RESULTS_ENV_VAR", "CHAPTERS", "COMPARISONS", "mean_std", "results_dir", "runs_dir", "versions",
           "device_name", "now_utc", "environment", "device_matches_scale", "json_ready", "write_json"]

RESULTS_ENV_VAR = "SNNLIB_RESULTS"
#: the chapters, in book order (the modules of :mod:`snnlib.experiments` are named after them)
CHAPTERS = ("foundations", "psn", "psu", "paralif", "spikformer", "spikformer_v2", "ms_resnet", "syna", "compare")

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
