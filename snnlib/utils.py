"""Seeds, device choice, the environment report, the static-build switch and the allocator setting.
"""
from __future__ import annotations

import contextlib
import logging
import os
import platform
import random
from typing import Any, Iterable, Iterator

import numpy as np
import torch

from . import config

# torch's CPU builds log "Triton not available, find_triton_kernels = []" the first time a custom op is
# registered; on a rendered page that line is noise.  Only that logger is quietened.
logging.getLogger("torch._library.triton").setLevel(logging.ERROR)

STATIC_ENV_VAR = "SNNLIB_STATIC"
SYSTEM_MALLOC_ENV_VAR = "SNNLIB_SYSTEM_MALLOC"
DEFAULT_SEED = 0


def is_static_build() -> bool:
    """True while the book is being executed for the static site (``SNNLIB_STATIC=1``).

    Then demos emit self-contained HTML (plotly figures with precomputed frames, saved widget state)
    and progress bars print plain text instead of live widgets.

    Defined in chapter 00 (Foundations), section "Experiment: training a spiking network".
    """
    return os.environ.get(STATIC_ENV_VAR, "") not in ("", "0", "false", "False")


# glibc's mallopt parameters (malloc.h); their values are C ints.
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_INT_MAX = 2**31 - 1
_allocator_mode: str | None = None  # set once this process's allocator has been changed


def steady_allocator() -> str:
    """Tell glibc to keep the memory it frees (no ``mmap``, no trimming) and return the mode, in words.

    By default glibc serves every allocation above its mmap threshold (128 KiB, rising to at most 32 MiB
    as such blocks are freed) with a fresh ``mmap``, gives it back with ``munmap`` when it is freed, and
    trims the heap whenever enough is free at its top.  A ``[1024, 32, 256]`` float32 tensor (32 MiB)
    then costs page faults -- the kernel zeroing 8192 pages -- every time it is allocated, which can cost
    more than the arithmetic on it: a forward and backward pass of a reset-free LIF creates several such
    tensors.  With ``M_MMAP_MAX = 0`` and ``M_TRIM_THRESHOLD = INT_MAX`` every allocation comes from
    the heap, and the heap never shrinks, so after the first step of a loop all its tensors reuse pages
    that are already mapped.  The price: the process keeps its peak heap until it exits.

    :func:`snnlib.train.fit`, :func:`seed_everything` and :func:`env_report` (so every chapter) call this
    first; ``python -m snnlib.bench neurons`` measures both modes.  Set ``SNNLIB_SYSTEM_MALLOC=1`` to
    leave the allocator alone (``0`` or unset: change it).  Idempotent: once changed, later calls only
    return the mode (mallopt cannot be undone in a process).  Elsewhere than Linux with glibc it does
    nothing.

    Returns ``"steady (glibc: no mmap, no trim)"``, or ``"system (...)"`` with the reason it was left
    alone.  No chapter calls it by name: each gets it through :func:`seed_everything`.
    """
    global _allocator_mode
    if _allocator_mode is not None:
        return _allocator_mode
    flag = os.environ.get(SYSTEM_MALLOC_ENV_VAR, "")
    if flag not in ("", "0", "1"):
        raise ValueError(f"{SYSTEM_MALLOC_ENV_VAR}={flag!r}; expected 1 (leave the allocator alone), 0 or unset")
    if flag == "1":
        return f"system ({SYSTEM_MALLOC_ENV_VAR}=1)"
    if platform.system() != "Linux":
        return f"system (not glibc: {platform.system()})"
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):
            return "system (not glibc)"
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "system (no mallopt)"
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # both values are C ints: a larger Python int would wrap around (1 << 40 becomes 0, "always trim")
    if mallopt(_M_MMAP_MAX, 0) != 1 or mallopt(_M_TRIM_THRESHOLD, _INT_MAX) != 1:
        return "system (mallopt refused)"
    _allocator_mode = "steady (glibc: no mmap, no trim)"
    return _allocator_mode


def seed_everything(seed: int = DEFAULT_SEED, *, deterministic: bool = True) -> int:
    """Seed ``random``, NumPy and torch (CPU and CUDA) and return the seed.

    With ``deterministic=True`` torch is asked for deterministic algorithms on CPU, so that a rerun at
    ``ci`` scale prints the same numbers.  On CUDA, deterministic kernels are requested where torch has
    them (``warn_only``), since some have none.  It also calls :func:`steady_allocator`.

    Defined in chapter 00 (Foundations), section "00 · Foundations: the LIF neuron, its reset, and why it is serial".
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed={seed!r} must be an int")
    steady_allocator()
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
    """The device to compute on: ``prefer`` if given, else CUDA when available, else CPU.

    Defined in chapter 00 (Foundations), section "00 · Foundations: the LIF neuron, its reset, and why it is serial".
    """
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
    """One line: versions, device, scale, seed and the allocator mode (:func:`steady_allocator`, which
    this calls).  Printed at the top of every chapter.

    Defined in chapter 00 (Foundations), section "00 · Foundations: the LIF neuron, its reset, and why it is serial".
    """
    from . import __version__

    malloc = steady_allocator()

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
        f"malloc {malloc}",
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


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch threads (``None``: unchanged), and restore the count after.

    The ``ci`` networks are small, so a second thread gains little; on a shared, loaded CPU every
    multi-threaded op waits for both threads to get a time slice.  Measured on the book's 2-core machine
    at load 9-13: chapter 01's ``ci`` experiments took about 4 minutes on one thread, and on two did not
    get past the neuron comparison in 37 minutes.
    """
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
