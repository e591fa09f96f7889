"""snnlib: the tested core of *Parallel Spiking Neurons, annotated*.

Each paper's mechanism lives in one module; the book's chapters import it.  Layout is time-first,
``[T, N, *]``, everywhere.
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import config, utils  # noqa: E402,F401  (light modules; torch is imported by utils)

__all__ = ["__version__", "config", "utils"]
