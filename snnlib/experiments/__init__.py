"""The book's reproductions: one module per chapter, run by the chapters and by ``python -m snnlib``.

An :class:`Experiment` has a name (``psn-neurons``), the chapter it belongs to, what it runs at each scale
(dataset and settings), the paper's claim it checks and the registry numbers it is measured against.
:func:`reproduce` runs one and writes ``results/NAME-SCALE.json``: config, versions, seed, device,
metrics, the claim's verdict, the comparison rows and the wall time.

At ``ci`` scale the data are offline stand-ins (the digits, MNIST-1D, ...), so a result there checks a
claim (an ordering, a trend) and is never set beside the paper's number as if it were comparable.  At
``gpu`` scale the dataset is the paper's but the training is shorter; at ``full`` the setting is the
paper's.
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .. import config
from ..records import (CHAPTERS, COMPARISONS, RESULTS_ENV_VAR, device_matches_scale, device_name,  # noqa: F401
                       environment, json_ready, mean_std, now_utc, results_dir, runs_dir, versions, write_json)
from ..records import Claim as ClaimRecord
from ..records import Row


__all__ = ["Experiment", "EXPERIMENTS", "CHAPTERS", "COMPARISONS", "get", "names", "not_run_yet", "reproduce",
           "results_dir",
           "runs_dir", "register", "versions", "environment", "device_matches_scale", "mean_std",
           "device_name", "now_utc"]

@dataclass(frozen=True)
class Experiment:
    """A named reproduction.

    ``run(scale, seed=, progress=)`` returns ``{"dataset", "config", "metrics", "rows", "claims", "seeds"}``:
    ``rows`` are :class:`snnlib.records.Row` (each seed's value, chance, expected failure, what the reported
    point was selected on) and ``claims`` :class:`snnlib.records.Claim`, each decided by the one rule
    (:func:`snnlib.records.judge`).  ``caveats``: the experiment's fixed departures from the paper's recipe,
    printed after its claims in "What we found" (:func:`snnlib.results.what_we_found`).
    """

    name: str
    chapter: str
    title: str
    run: Callable[..., dict[str, Any]]
    datasets: dict[str, str] = field(default_factory=dict)  # scale -> dataset name, for listings
    caveats: tuple[str, ...] = ()


EXPERIMENTS: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    if exp.name in EXPERIMENTS:
        raise ValueError(f"experiment {exp.name!r} is registered twice")
    EXPERIMENTS[exp.name] = exp
    return exp


def _load_chapters() -> None:
    from . import foundations, psn  # noqa: F401  (each module registers its experiments)
    from . import psu  # noqa: F401
    from . import paralif  # noqa: F401
    from . import spikformer  # noqa: F401
    from . import spikformer_v2  # noqa: F401
    from . import ms_resnet  # noqa: F401
    from . import syna  # noqa: F401
    from . import compare  # noqa: F401
    from . import reset_parallel  # noqa: F401


def names() -> list[str]:
    """The experiment names, in book order."""
    _load_chapters()

    def order(name: str):
        ch = EXPERIMENTS[name].chapter
        return (CHAPTERS.index(ch) if ch in CHAPTERS else len(CHAPTERS), list(EXPERIMENTS).index(name))

    return sorted(EXPERIMENTS, key=order)


def get(name: str) -> Experiment:
    """The experiment ``name``; an unknown name raises, listing the valid ones."""
    _load_chapters()
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; valid names: {', '.join(names())}")
    return EXPERIMENTS[name]


def not_run_yet(name: str, scale: str = "gpu") -> str:
    """Markdown for a page that shows ``name``'s ``scale`` record when one is committed: what the run is,
    the command that makes it, and where its record will appear (never a dead end on the static page).

    Defined in chapter 02 (Parallel Spiking Unit), section "Reproduction at gpu".
    """
    exp = get(name)
    if scale not in exp.datasets:
        raise ValueError(f"scale={scale!r}: {name} has no such scale; its scales: {', '.join(exp.datasets)}")
    pretty = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "shd": "SHD", "scifar10": "sequential CIFAR-10",
              "scifar100": "sequential CIFAR-100"}
    data_ = ", ".join(pretty.get(d.strip(), d.strip()) for d in exp.datasets[scale].split(","))
    return (f"**Not run yet at `{scale}` scale.** `python -m snnlib reproduce {name} --scale {scale}` runs "
            f"*{exp.title}* on {data_} (its estimated time on a Colab T4 is stated at the top of "
            "this chapter; the run keeps a checkpoint per epoch and resumes if interrupted). Its record then "
            "appears here, and on the scoreboard beside the paper's numbers on the same dataset.")


def _check_writable(folder: Path) -> None:
    """Raise, naming ``folder``, unless a record can be written there (it is made if missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".snnlib-write-check-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise OSError(f"results folder {folder} is not writable ({err.strerror or err}); the record of this run "
                      f"could not be saved. Set {RESULTS_ENV_VAR} or pass out_dir= to a writable folder.") from err


def reproduce(name: str, scale: Optional[str] = None, *, seed: int = 0, progress: bool = True,
              out_dir: Optional[os.PathLike | str] = None, write: bool = True, download: bool = False
              ) -> dict[str, Any]:
    """Run experiment ``name`` at ``scale`` (default: the current scale) and write its JSON.

    Returns the record that is written to ``out_dir / f"{name}-{scale}.json"`` (default
    :func:`results_dir`).  Under ``torchrun`` only the first process writes.  ``download``: the loaders
    may fetch missing real datasets (:func:`snnlib.data.downloads`).

    The record says where it ran (``device``, ``environment``: see :func:`environment`).  A ``gpu`` or
    ``full`` run on a machine without CUDA warns and is marked ``"device_matches_scale": false``, so that
    it is never shown as a result of that scale.

    Defined in chapter 00 (Foundations), section "Experiment: training a spiking network".
    """
    from .. import data

    exp = get(name)
    scale_name = config.check_scale(scale)
    matches = device_matches_scale(scale_name)
    if not matches:
        warnings.warn(f"scale {scale_name!r} is meant for CUDA, but there is no CUDA device: {name} runs on the "
                      "CPU and its record is marked device_matches_scale=false (not a result of that scale)",
                      UserWarning, stacklevel=2)
    folder = Path(out_dir) if out_dir is not None else results_dir()
    if write:
        _check_writable(folder)  # before training: a result found unwritable after hours of it is lost
    env = environment()  # before the run: the allocator mode is set then (fit would set it anyway)
    t0 = time.perf_counter()
    with data.downloads(download):
        out = exp.run(scale_name, seed=seed, progress=progress)
    wall = time.perf_counter() - t0
    record: dict[str, Any] = {
        "name": exp.name,
        "chapter": exp.chapter,
        "title": exp.title,
        "scale": scale_name,
        "comparison": COMPARISONS[scale_name],
        "dataset": out["dataset"],
        "seed": seed,
        "seeds": out.get("seeds", [seed]),
        "device": device_name(),
        "device_matches_scale": matches,
        "environment": env,
        "versions": versions(),
        "config": out["config"],
        "metrics": out["metrics"],
        "rows": [r.to_dict() if isinstance(r, Row) else r for r in out["rows"]],
        "claims": [c.to_dict() if isinstance(c, ClaimRecord) else c for c in out.get("claims", [])],
        "caveats": list(exp.caveats),
        "wall_s": round(wall, 2),
        "created": now_utc(),
        "command": f"python -m snnlib reproduce {exp.name} --scale {scale_name}",
    }
    from ..train import is_main_process

    record = json_ready(record)

    if write and is_main_process():
        path = write_json(folder / f"{exp.name}-{scale_name}.json", record)
        record["path"] = str(path)
    return record
