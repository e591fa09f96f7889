"""Seeds, device choice, the environment report, and the static-build switch.

Defined in chapter 00 (Foundations), "Set-up".
"""
from __future__ import annotations

import logging
import os
import platform
import random
from typing import Any, Iterable

import numpy as np
import torch

from . import config

# torch's CPU builds log "Triton not available, find_triton_kernels = []" the first time a custom op is
# registered; on a rendered page that line is noise.  Only that logger is quietened.
logging.getLogger("torch._library.triton").setLevel(logging.ERROR)

STATIC_ENV_VAR = "SNNLIB_STATIC"
DEFAULT_SEED = 0


def is_static_build() -> bool:
    """True while the book is being executed for the static site (``SNNLIB_STATIC=1``).

    Then demos emit self-contained HTML (plotly figures with precomputed frames, saved widget state)
    and progress bars print plain text instead of live widgets.
    """
    return os.environ.get(STATIC_ENV_VAR, "") not in ("", "0", "false", "False")


def seed_everything(seed: int = DEFAULT_SEED, *, deterministic: bool = True) -> int:
    """Seed ``random``, NumPy and torch (CPU and CUDA) and return the seed.

    With ``deterministic=True`` torch is asked for deterministic algorithms on CPU, so that a rerun at
    ``ci`` scale prints the same numbers.  On CUDA, deterministic kernels are requested where torch has
    them (``warn_only``), since some have none.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed={seed!r} must be an int")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        if torch.cuda.is_available():
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        else:
            torch.use_deterministic_algorithms(True)
    return seed


def device(prefer: str | None = None) -> torch.device:
    """The device to compute on: ``prefer`` if given, else CUDA when available, else CPU."""
    if prefer is not None:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"prefer={prefer!r} asks for CUDA, but torch.cuda.is_available() is False")
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:  # optional packages may be missing
        return "-"


def env_report(seed: int | None = DEFAULT_SEED, *, print_it: bool = True) -> str:
    """One line: versions, device, scale and seed.  Printed at the top of every chapter."""
    from . import __version__

    dev = device()
    dev_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu"
    parts = [
        f"snnlib {__version__}",
        f"torch {torch.__version__}",
        f"spikingjelly {_version('spikingjelly')}",
        f"python {platform.python_version()}",
        f"device {dev.type} ({dev_name}, {torch.get_num_threads()} threads)",
        f"scale {config.scale()}",
        f"seed {seed}",
    ]
    line = " | ".join(parts)
    if print_it:
        print(line)
    return line


def progress(iterable: Iterable[Any] | None = None, **kwargs: Any):
    """A tqdm progress bar: a live widget in a kernel, nothing on the static site.

    On the static site a bar's redraws would leave a wall of carriage returns, so it is disabled and
    callers print one summary line per epoch instead.
    """
    if is_static_build():
        from tqdm.std import tqdm as _tqdm

        kwargs["disable"] = True
        return _tqdm(iterable, **kwargs)
    # tqdm.autonotebook, not tqdm.auto: the latter's asyncio bar calls iter() on what it wraps, which for a
    # shuffling DataLoader draws an extra seed and changes the data order of a live run.
    from tqdm.autonotebook import tqdm as _tqdm

    return _tqdm(iterable, **kwargs)
