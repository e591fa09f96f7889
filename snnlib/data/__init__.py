"""Datasets and loaders: ``snnlib.data.loaders(name, scale)`` gives train and test DataLoaders.

Offline datasets (generated or shipped by a package, nothing to download) serve the ``ci`` scale; the real
datasets serve ``gpu`` and ``full``.  Batches are time-first for sequences, ``[T, N, *]``, and
``[N, *]`` for images and vectors.  All data lives under one root folder, ``$SNNLIB_DATA`` or
``~/.cache/snnlib/data`` (outside the repository).

>>> train, test = loaders("digits-rows", "ci")   # doctest: +SKIP
>>> x, y = next(iter(train)); x.shape             # doctest: +SKIP
torch.Size([8, 64, 8])
"""
from __future__ import annotations

import contextlib
import contextvars
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from .. import config
from . import events, offline, real
from .events import EVENT_DTYPE, EventDataset, dvs_digit_events, dvs_digits, events_to_frames, simulate_dvs
from .offline import ArrayDataset, delayed_recall, digits, digits_images, mnist1d, yin_yang
from .real import CorruptDataError, FramesDataset, MissingDataError

__all__ = [
    "split_loaders",
    "validation_split",
    "stratified_indices",
    "DATA_ENV_VAR",
    "DATASETS",
    "DatasetSpec",
    "data_root",
    "dataset_names",
    "datasets",
    "downloads",
    "loaders",
    "time_first_collate",
    "collate_for",
    "MissingDataError",
    "CorruptDataError",
    "ArrayDataset",
    "EventDataset",
    "FramesDataset",
    "EVENT_DTYPE",
    "mnist1d",
    "digits",
    "digits_images",
    "yin_yang",
    "delayed_recall",
    "simulate_dvs",
    "dvs_digit_events",
    "dvs_digits",
    "events_to_frames",
    "events",
    "offline",
    "real",
]

DATA_ENV_VAR = "SNNLIB_DATA"


def data_root() -> Path:
    """The folder that holds every dataset: ``$SNNLIB_DATA``, else ``~/.cache/snnlib/data``."""
    raw = os.environ.get(DATA_ENV_VAR, "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "snnlib" / "data"


@dataclass(frozen=True)
class DatasetSpec:
    """One named dataset: how to build its ``(train, test)`` pair and how to batch it per scale."""

    name: str
    build: Callable[..., tuple[Dataset, Dataset]]  # build(root, download, **options)
    description: str
    offline: bool
    batch_size: dict[str, int] = field(default_factory=lambda: {"ci": 64, "gpu": 128, "full": 128})


def _offline(fn: Callable[..., tuple[Dataset, Dataset]], **fixed: Any):
    def build(root: Path, download: bool, **options: Any):
        return fn(**fixed, **options)
    return build


def _mnist1d(root: Path, download: bool, **options: Any):
    return mnist1d(cache_dir=root / "mnist1d", **options)


def _real(fn: Callable[..., Dataset], **fixed: Any):
    def build(root: Path, download: bool, **options: Any):
        return (fn(root, True, download=download, **fixed, **options),
                fn(root, False, download=download, **fixed, **options))
    return build


DATASETS: dict[str, DatasetSpec] = {s.name: s for s in [
    DatasetSpec("mnist1d", _mnist1d, "MNIST-1D, 4000/1000 sequences [T=40, 1], 10 classes (generated)", True),
    DatasetSpec("digits-rows", _offline(digits, layout="rows"),
                "scikit-learn digits row by row, [T=8, 8], 1437/360, 10 classes", True,
                {"ci": 32, "gpu": 64, "full": 64}),
    DatasetSpec("digits-pixels", _offline(digits, layout="pixels"),
                "scikit-learn digits pixel by pixel, [T=64, 1], 10 classes", True,
                {"ci": 32, "gpu": 64, "full": 64}),
    DatasetSpec("digits-permuted", _offline(digits, layout="permuted"),
                "scikit-learn digits pixel by pixel in a fixed random order, [T=64, 1], 10 classes", True,
                {"ci": 32, "gpu": 64, "full": 64}),
    DatasetSpec("digits-images", _offline(digits_images), "scikit-learn digits as images [1, 8, 8], 10 classes",
                True, {"ci": 32, "gpu": 64, "full": 64}),
    DatasetSpec("yin-yang", _offline(yin_yang), "Yin-Yang, vectors [4], 5000/1000, 3 classes (generated)", True),
    DatasetSpec("delayed-recall", _offline(delayed_recall),
                "delayed recall of a cue over 32 steps, [T=40, 5], 2000/500, 4 classes (generated)", True),
    DatasetSpec("dvs-digits", _offline(dvs_digits),
                "digits seen by a simulated moving DVS, frames [T=10, 2, 22, 22], 10 classes", True,
                {"ci": 32, "gpu": 64, "full": 64}),
    DatasetSpec("shd", _real(real.shd), "Spiking Heidelberg Digits, [T=100, 700], 20 classes (tonic)", False,
                {"ci": 32, "gpu": 128, "full": 256}),
    DatasetSpec("nmnist", _real(real.nmnist), "N-MNIST, [T=10, 2, 34, 34], 10 classes (tonic)", False,
                {"ci": 32, "gpu": 128, "full": 128}),
    DatasetSpec("dvs-gesture", _real(real.dvs_gesture), "DVS128 Gesture, [T=16, 2, 128, 128], 11 classes (tonic)",
                False, {"ci": 4, "gpu": 16, "full": 16}),
    DatasetSpec("cifar10-dvs", _real(real.cifar10_dvs), "CIFAR10-DVS, [T=10, 2, 128, 128], 10 classes, 9:1 split",
                False, {"ci": 4, "gpu": 32, "full": 32}),
    DatasetSpec("cifar10", _real(real.cifar, n_classes=10), "CIFAR-10 images [3, 32, 32] (torchvision)", False),
    DatasetSpec("cifar100", _real(real.cifar, n_classes=100), "CIFAR-100 images [3, 32, 32] (torchvision)", False),
    DatasetSpec("scifar10", _real(real.sequential_cifar, n_classes=10),
                "sequential CIFAR-10, columns [T=32, 3, 32] (torchvision)", False),
    DatasetSpec("scifar100", _real(real.sequential_cifar, n_classes=100),
                "sequential CIFAR-100, columns [T=32, 3, 32] (torchvision)", False),
]}


def dataset_names(offline_only: bool = False) -> list[str]:
    """The names :func:`loaders` knows, in registry order."""
    return [n for n, s in DATASETS.items() if s.offline or not offline_only]


def _spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    return DATASETS[name]


_DOWNLOAD: contextvars.ContextVar[bool] = contextvars.ContextVar("snnlib_download", default=False)


@contextlib.contextmanager
def downloads(allowed: bool = True):
    """Within this block, :func:`datasets` and :func:`loaders` called without ``download=`` use ``allowed``.

    ``python -m snnlib reproduce NAME --download`` runs the experiment inside ``downloads()``, so the flag
    reaches every loader the experiment builds without each chapter passing it along.
    """
    token = _DOWNLOAD.set(bool(allowed))
    try:
        yield
    finally:
        _DOWNLOAD.reset(token)


def datasets(name: str, *, root: Optional[os.PathLike | str] = None, download: Optional[bool] = None,
             **options: Any) -> tuple[Dataset, Dataset]:
    """The ``(train, test)`` datasets called ``name``; ``options`` go to its builder (``T=``, ``delay=``...).

    ``download``: fetch a missing real dataset with its library's downloader; ``None`` (the default) means
    ``False`` unless inside :func:`downloads`.
    """
    spec = _spec(name)
    download = _DOWNLOAD.get() if download is None else bool(download)
    return spec.build(Path(root) if root is not None else data_root(), download, **options)


def time_first_collate(batch: list[tuple[torch.Tensor, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack samples ``[T, *]`` into a time-first batch ``[T, N, *]``, labels into ``[N]``."""
    x = torch.stack([torch.as_tensor(b[0]) for b in batch], dim=1)
    y = torch.as_tensor([int(b[1]) for b in batch])
    return x, y


def collate_for(dataset: Dataset) -> Callable:
    """The collate function of ``dataset``: its own ``collate_fn``, time-first for sequences, else default."""
    own = getattr(dataset, "collate_fn", None)
    if own is not None:
        return own
    return time_first_collate if getattr(dataset, "layout", None) == "sequence" else default_collate


def loaders(name: str, scale: Optional[str] = None, *, batch_size: Optional[int] = None,
            root: Optional[os.PathLike | str] = None, num_workers: Optional[int] = None, seed: int = 0,
            download: Optional[bool] = None, train_size: Optional[int] = None,
            **options: Any) -> tuple[DataLoader, DataLoader]:
    """Train and test DataLoaders for dataset ``name`` at ``scale`` (default: :func:`snnlib.config.scale`).

    The scale sets the batch size and the number of worker processes (none for offline data, which is in
    memory); ``batch_size`` and ``num_workers`` override them.  The training loader shuffles with a
    generator seeded by ``seed``.  ``options`` go to the dataset (for example ``T=16`` for an event set).
    A real dataset that is missing raises :class:`MissingDataError`, which says where to put it;
    ``download`` as in :func:`datasets`.  ``train_size`` keeps the first ``train_size`` training samples
    (an :class:`ArrayDataset` stays one; any other dataset becomes a subset that keeps its attributes): the
    smallest ``ci`` runs, and the ``gpu`` runs sized to a Colab session.

    Defined in chapter 01 (Parallel Spiking Neurons), section "Reproduction: the order sweep".
    """
    spec = _spec(name)
    scale_name = config.check_scale(scale)
    for arg, value, what in (("train_size", train_size, "the number of training samples to keep, or None for all"),
                             ("batch_size", batch_size, "samples per batch, or None for the scale's default")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1):
            raise ValueError(f"{arg}={value!r}; expected a positive int ({what})")
    if num_workers is not None and (isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral)
                                    or num_workers < 0):
        raise ValueError(f"num_workers={num_workers!r}; expected an int >= 0 (0: load in the main process)")
    train, test = datasets(name, root=root, download=download, **options)
    if train_size is not None and train_size < len(train):
        if isinstance(train, ArrayDataset):
            train = ArrayDataset(train.x[:train_size], train.y[:train_size], layout=train.layout,
                                 n_classes=train.n_classes, name=train.name)
        else:  # a real dataset read from disk: a subset of its first samples that keeps its attributes
            train = _Part(train, list(range(train_size)))
    bs = spec.batch_size[scale_name] if batch_size is None else int(batch_size)
    if num_workers is None:
        cpus = os.cpu_count() or 1
        num_workers = 0 if spec.offline else config.choose(ci=0, gpu=min(4, cpus), full=min(8, cpus),
                                                           scale_name=scale_name)
    common = dict(num_workers=num_workers, pin_memory=torch.cuda.is_available(),
                  persistent_workers=num_workers > 0)
    gen = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train, batch_size=bs, shuffle=True, generator=gen, collate_fn=collate_for(train),
                              **common)
    test_loader = DataLoader(test, batch_size=bs, shuffle=False, collate_fn=collate_for(test), **common)
    return train_loader, test_loader


# --- a validation split, carved from the training data --------------------------------------------------

#: the share of the training data held out for validation, unless an experiment says otherwise
VAL_FRACTION = 0.2


def _labels(ds: Dataset) -> torch.Tensor:
    if isinstance(ds, torch.utils.data.Subset):  # its own samples' labels, not its whole dataset's
        return _labels(ds.dataset)[torch.as_tensor(list(ds.indices), dtype=torch.long)]
    for attr in ("y", "targets", "labels"):
        y = getattr(ds, attr, None)
        if y is not None:
            return torch.as_tensor(y).long().reshape(-1)
    return torch.tensor([int(ds[i][1]) for i in range(len(ds))], dtype=torch.long)


def stratified_indices(labels: torch.Tensor, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(train, val)`` indices: from each class, a seeded random ``fraction`` of its samples (rounded, at
    least one of a class with two or more) goes to validation; both lists are sorted.

    Defined with the book's validation split: every experiment selects its epochs, modes and orders on
    the ``val`` part, never on the test set.
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ValueError(f"fraction={fraction!r}; expected a number strictly between 0 and 1")
    labels = torch.as_tensor(labels).long().reshape(-1)
    gen = torch.Generator().manual_seed(int(seed))
    train, val = [], []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).reshape(-1)
        idx = idx[torch.randperm(len(idx), generator=gen)]
        k = min(len(idx) - 1, max(1, round(fraction * len(idx)))) if len(idx) >= 2 else 0
        val += idx[:k].tolist()
        train += idx[k:].tolist()
    if not val:
        raise ValueError(f"a validation split of {fraction:g} of {len(labels)} samples is empty")
    return sorted(train), sorted(val)


class _Part(torch.utils.data.Subset):
    """A subset that keeps its dataset's attributes (``n_classes``, ``T``, ``sample_shape``, ...)."""

    def __getattr__(self, name: str):
        if name in ("dataset", "indices"):
            raise AttributeError(name)
        return getattr(self.dataset, name)


def validation_split(ds: Dataset, fraction: float = VAL_FRACTION, seed: int = 0) -> tuple[Dataset, Dataset]:
    """``(train, val)``: ``ds`` split by :func:`stratified_indices`.  An in-memory :class:`ArrayDataset`
    stays one; any other dataset becomes two subsets that keep its attributes."""
    tr, va = stratified_indices(_labels(ds), fraction, seed)
    if isinstance(ds, ArrayDataset):
        part = lambda ix: ArrayDataset(ds.x[ix], ds.y[ix], layout=ds.layout, n_classes=ds.n_classes,  # noqa: E731
                                       name=ds.name)
        return part(torch.tensor(tr)), part(torch.tensor(va))
    return _Part(ds, tr), _Part(ds, va)


def split_loaders(name: str, scale: Optional[str] = None, *, val_fraction: float = VAL_FRACTION, seed: int = 0,
                  **kwargs: Any) -> tuple[DataLoader, DataLoader, DataLoader]:
    """Train, validation and test DataLoaders: :func:`loaders` (same arguments), with a seeded, stratified
    ``val_fraction`` of the training data held out for validation (:func:`validation_split`).

    The seed fixes the data subset, the validation split and the batch order.  Experiments select epochs,
    modes and orders on the validation loader and report the test set at the selected point.
    """
    train_loader, test_loader = loaders(name, scale, seed=seed, **kwargs)
    train, val = validation_split(train_loader.dataset, val_fraction, seed)
    common = dict(num_workers=train_loader.num_workers, pin_memory=train_loader.pin_memory,
                  persistent_workers=train_loader.num_workers > 0)
    gen = torch.Generator().manual_seed(seed)
    bs = train_loader.batch_size
    return (DataLoader(train, batch_size=bs, shuffle=True, generator=gen, collate_fn=train_loader.collate_fn,
                       **common),
            DataLoader(val, batch_size=bs, shuffle=False, collate_fn=train_loader.collate_fn, **common),
            test_loader)
