"""The one scale switch of the book.

``SNNLIB_SCALE`` chooses how big every reproduction is:

* ``ci``   -- this CPU, offline data, a chapter in about a minute (what CI runs);
* ``gpu``  -- one Colab-class GPU (a T4 with 15 GB), real datasets, minutes per model;
* ``full`` -- the paper's settings, several GPUs through ``torchrun``.

The default is ``gpu`` when CUDA is available and ``ci`` otherwise.  Chapters never hard-code epochs,
sizes or datasets: they ask :func:`choose` or :func:`settings`.
"""
from __future__ import annotations

import os
from typing import Any, Mapping, TypeVar

SCALES: tuple[str, ...] = ("ci", "gpu", "full")
ENV_VAR = "SNNLIB_SCALE"

T = TypeVar("T")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        return False
    return bool(torch.cuda.is_available())


def check_scale(value: str | None, name: str = "scale") -> str:
    """``value`` if it is a scale, the current :func:`scale` if it is ``None``.

    The one check of a scale name in the library.  ``name`` is the argument reported in the error.

    Raises:
        ValueError: ``value`` is not one of :data:`SCALES`.
    """
    if value is None:
        return scale()
    if value not in SCALES:
        raise ValueError(f"{name}={value!r} is not a scale; expected one of {', '.join(SCALES)}")
    return value


def scale() -> str:
    """The current scale, read from ``SNNLIB_SCALE`` each time it is asked (spaces and case ignored).

    Raises:
        ValueError: the variable holds something other than ``ci``, ``gpu`` or ``full``.

    Defined in chapter 00 (Foundations), section "Experiment: training a spiking network".
    """
    raw = os.environ.get(ENV_VAR)
    if raw is None or raw.strip() == "":
        return "gpu" if _cuda_available() else "ci"
    return check_scale(raw.strip().lower(), ENV_VAR)


def choose(*, ci: T, gpu: T, full: T, scale_name: str | None = None) -> T:
    """Pick the value that belongs to the current scale (or to ``scale_name``).

    >>> choose(ci=2, gpu=20, full=256, scale_name="ci")
    2
    """
    return {"ci": ci, "gpu": gpu, "full": full}[check_scale(scale_name, "scale_name")]


class Settings(dict):
    """A dict whose keys read as attributes (``cfg.epochs``), with the scale it was made for."""

    def __init__(self, scale_name: str, values: Mapping[str, Any]):
        super().__init__(values)
        self.scale = scale_name

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(
                f"no setting {key!r} at scale {self.scale!r}; known settings: {', '.join(sorted(self))}"
            ) from None


# Chapter 04's association-order measurement times Q K^T V on binary Q, K, V of this shape and spike rate
# at every scale; `snnlib.bench.attention` takes its defaults from here.
ORDER_SHAPE: dict[str, Any] = {"order_T": 4, "order_batch": 8, "order_heads": 8, "order_rate": 0.25}

# Per-chapter settings.  Each chapter reads its own block; nothing else sizes an experiment.
CHAPTERS: dict[str, dict[str, dict[str, Any]]] = {
    "foundations": {
        # serial-cost measurement: the T values timed, batch and features of the timed tensor
        "ci": {"timing_T": [8, 32, 128, 512], "timing_batch": 32, "timing_features": 256, "timing_reps": 3,
               "bptt_T": 32},
        "gpu": {"timing_T": [8, 32, 128, 512, 2048], "timing_batch": 64, "timing_features": 1024,
                "timing_reps": 5, "bptt_T": 64},
        "full": {"timing_T": [8, 32, 128, 512, 2048, 8192], "timing_batch": 128, "timing_features": 1024,
                 "timing_reps": 7, "bptt_T": 128},
    },
    "psn": {
        # speed measurement: T values timed, tensor size, repetitions, sliding/masked order
        "ci": {"timing_T": [16, 64, 256, 1024], "timing_batch": 32, "timing_features": 256, "timing_reps": 3,
               "timing_k": 32, "demo_T": 48},
        "gpu": {"timing_T": [16, 64, 256, 1024, 4096], "timing_batch": 64, "timing_features": 1024,
                "timing_reps": 5, "timing_k": 32, "demo_T": 48},
        "full": {"timing_T": [16, 64, 256, 1024, 4096], "timing_batch": 128, "timing_features": 1024,
                 "timing_reps": 7, "timing_k": 32, "demo_T": 48},
    },
    "psu": {
        # speed: T values timed (the dense forms stop at dense_max_T), tensor size, repetitions; demo length
        "ci": {"timing_T": [16, 64, 256, 1024], "timing_batch": 8, "timing_features": 256, "timing_reps": 2,
               "dense_max_T": 1024, "demo_T": 48},
        "gpu": {"timing_T": [16, 64, 256, 1024, 4096], "timing_batch": 32, "timing_features": 256,
                "timing_reps": 5, "dense_max_T": 4096, "demo_T": 48},
        "full": {"timing_T": [16, 64, 256, 1024, 4096], "timing_batch": 32, "timing_features": 256,
                 "timing_reps": 7, "dense_max_T": 4096, "demo_T": 48},
    },
    "paralif": {
        # aliasing curve (T values, float64); speed: T values, the paper's shape (1 x 128) and a training
        # shape (batch x features), repetitions; the firing-function gallery's length
        "ci": {"alias_T": [5, 10, 20, 50, 100, 200, 500, 1000], "timing_T": [10, 32, 100, 316, 1024],
               "paper_shape": [1, 128], "train_shape": [32, 256], "timing_reps": 3, "demo_T": 60},
        "gpu": {"alias_T": [5, 10, 20, 50, 100, 200, 500, 1000, 2000], "timing_T": [10, 32, 100, 316, 1024],
                "paper_shape": [1, 128], "train_shape": [64, 1024], "timing_reps": 5, "demo_T": 60},
        "full": {"alias_T": [5, 10, 20, 50, 100, 200, 500, 1000, 2000], "timing_T": [10, 32, 100, 316, 1024],
                 "paper_shape": [1, 128], "train_shape": [128, 1024], "timing_reps": 7, "demo_T": 60},
    },
    "spikformer": {
        # the association-order measurement: token counts, model dimensions, repetitions, and the shape
        # of Q, K, V ([order_T, order_batch, order_heads, L, D / order_heads], spikes at order_rate: the
        # defaults of `python -m snnlib.bench attention`); the attention explorer's steps
        "ci": {"order_N": [16, 64, 256], "order_d": [64, 384], "order_reps": 5, "demo_T": 4, **ORDER_SHAPE},
        "gpu": {"order_N": [16, 64, 256, 1024], "order_d": [64, 384], "order_reps": 7, "demo_T": 4,
                **ORDER_SHAPE},
        "full": {"order_N": [16, 64, 256, 1024], "order_d": [64, 384], "order_reps": 7, "demo_T": 4,
                 **ORDER_SHAPE},
    },
}


def settings(chapter: str, scale_name: str | None = None) -> Settings:
    """The settings of ``chapter`` at the current scale (or at ``scale_name``).

    Defined in chapter 00 (Foundations), section "00 · Foundations: the LIF neuron, its reset, and why it is serial".
    """
    if chapter not in CHAPTERS:
        raise ValueError(f"chapter={chapter!r} has no settings; expected one of {', '.join(sorted(CHAPTERS))}")
    name = check_scale(scale_name, "scale_name")
    return Settings(name, CHAPTERS[chapter][name])
