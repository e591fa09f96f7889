"""The real datasets of the ``gpu`` and ``full`` scales, read from their own on-disk formats.

==================  ====================================================  ==========================
dataset             files under the data root                             read by
==================  ====================================================  ==========================
SHD                 ``SHD/shd_{train,test}.h5``                           tonic ``SHD``
N-MNIST             ``NMNIST/{Train,Test}/<digit>/*.bin``                 tonic ``NMNIST``
DVS128 Gesture      ``DVSGesture/ibmGesture{Train,Test}/user*/<label>.npy``  tonic ``DVSGesture``
CIFAR10-DVS         ``CIFAR10DVS/<class>/*.aedat`` (original AEDAT 2.0)   :func:`read_aedat2_cifar10dvs`
CIFAR-10 / -100     ``cifar-10-batches-py/``, ``cifar-100-python/``       torchvision ``CIFAR10/100``
==================  ====================================================  ==========================

tonic's and torchvision's dataset classes do the parsing.  Their presence checks are replaced, because
tonic wants the downloaded archive to lie beside the extracted files (and thousands of them) and
torchvision checks the md5 of every batch; here a dataset counts as present when its files are, so the
same code reads the full sets and the tiny same-format files of the tests.  When the files are missing,
:class:`MissingDataError` says where to put them and where they come from; ``download=True`` hands over
to the library's own downloader (which checks the archive's md5) where one exists.

Event datasets become frames with tonic's ``ToFrame(n_time_bins=T)``: a sample is ``[T, P, H, W]``
(``[T, 700]`` for SHD), stacked time-first by the loaders.  Images are ``[3, 32, 32]``; sequential CIFAR
feeds an image column by column, a sample being ``[T=32, 3, 32]`` (one 96-value column per step, channels
by rows), as in the PSN paper's code.
"""
from __future__ import annotations

import functools
import os
import pickle
import re
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = [
    "MissingDataError",
    "CorruptDataError",
    "FramesDataset",
    "shd",
    "nmnist",
    "dvs_gesture",
    "cifar10_dvs",
    "read_aedat2_cifar10dvs",
    "cifar",
    "sequential_cifar",
    "CIFAR10DVS_CLASSES",
]

CIFAR10DVS_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class MissingDataError(FileNotFoundError):
    """A dataset's files are not where snnlib looks; the message says where to put them.

    ``downloadable``: whether ``download=True`` (``--download`` on the command line) can fetch them.
    """

    def __init__(self, message: str, downloadable: bool = False):
        super().__init__(message)
        self.downloadable = downloadable


class CorruptDataError(ValueError):
    """A dataset file is there but cannot be read (truncated, empty, or not in the dataset's format); the
    message names the file and says how to get it again.  ``path``: the file (or folder)."""

    def __init__(self, message: str, path: os.PathLike | str):
        super().__init__(message)
        self.path = Path(path)


def _corrupt(name: str, path: os.PathLike | str, problem: str, source: str, hint: str) -> CorruptDataError:
    return CorruptDataError(
        f"{name}: {path} {problem}.\n"
        f"  source:   {source}\n"
        f"  {hint}\n"
        f"  The data root is set by the environment variable SNNLIB_DATA (default ~/.cache/snnlib/data).",
        path)


#: where each dataset comes from and how to fetch it again, for :class:`CorruptDataError`
_REFETCH = {
    "SHD": ("https://zenkelab.org/datasets/shd_train.h5.zip and shd_test.h5.zip",
            "Delete the file and unzip it again, or delete it and pass download=True (--download on the command "
            "line) to fetch it with tonic."),
    "N-MNIST": ("https://www.garrickorchard.com/datasets/n-mnist (Train.zip, Test.zip)",
                "Delete the folder and unzip the archive again, or pass download=True (--download on the command "
                "line) to fetch it with tonic."),
    "DVS128 Gesture": ("tonic's preprocessed release, ibmGestureTrain.tar.gz and ibmGestureTest.tar.gz",
                       "Delete the folder and extract the archive again, or pass download=True (--download on the "
                       "command line) to fetch it with tonic."),
    "CIFAR10-DVS": ("the original release, 'CIFAR10-DVS' on figshare (article 4724671), one zip per class",
                    "Unzip that class's archive again (snnlib has no downloader for it)."),
}


def _refetch(name: str, path: os.PathLike | str, problem: str) -> CorruptDataError:
    source, hint = _REFETCH[name]
    return _corrupt(name, path, problem, source, hint)


_READ_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError, TypeError)


def _missing(name: str, where: Path, expected: str, source: str, download_hint: str,
             downloadable: bool = True) -> MissingDataError:
    return MissingDataError(
        f"{name} was not found under {where}.\n"
        f"  expected: {expected}\n"
        f"  source:   {source}\n"
        f"  {download_hint}\n"
        f"  The data root is {where.parent} (set the environment variable SNNLIB_DATA to use another folder).",
        downloadable=downloadable)


def _require(module: str, extra: str = "") -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        hint = f"pip install {module}" + (f"  (or: pip install 'snnlib[{extra}]')" if extra else "")
        raise ImportError(f"this dataset needs the optional package {module!r}, which is not installed: {hint}")


class FramesDataset(Dataset):
    """Wraps an event dataset (``ds[i] == (events, label)``) and bins each sample into ``[T, *]`` frames.

    ``shape`` reshapes each frame (SHD: ``(700,)``); ``layout`` is ``"sequence"``: batches are time-first.
    """

    layout = "sequence"

    def __init__(self, events: Dataset, sensor_size: tuple[int, int, int], T: int, n_classes: int,
                 shape: Optional[tuple[int, ...]] = None, pre: Optional[Callable] = None,
                 title: Optional[str] = None, file_of: Optional[Callable[[int], str]] = None):
        from tonic.transforms import ToFrame

        _check_T(T)
        self.events = events
        self.sensor_size = tuple(sensor_size)
        self.T = T
        self.n_classes = n_classes
        self.shape = shape
        self.pre = pre
        self.title = title  # the dataset's name in _REFETCH, to name a file that cannot be read
        self.file_of = file_of  # index -> the file that holds sample ``index``
        self.to_frame = ToFrame(sensor_size=self.sensor_size, n_time_bins=T)

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        try:
            events, label = self.events[index]
        except CorruptDataError:
            raise
        except _READ_ERRORS as e:
            if self.title is None or self.file_of is None:
                raise
            raise _refetch(self.title, self.file_of(index),
                           f"could not be read (sample {index}: {type(e).__name__}: {e}); the file is truncated "
                           "or damaged") from e
        if self.pre is not None:
            events = self.pre(events)
        frames = torch.from_numpy(np.asarray(self.to_frame(events), dtype=np.float32))
        if self.shape is not None:
            frames = frames.reshape(self.T, *self.shape)
        return frames, int(label)


def _const(path: Path, index: int) -> Path:
    return path


def _data_at(ds, index: int):
    return ds.data[index]


def _check_T(T) -> int:
    """The number of time bins: refused before tonic sees it (tonic fails on T = 0 with an UnboundLocalError)."""
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T={T!r} must be a positive int (the number of time bins)")
    return T


def _downsample(sensor_size: tuple[int, int, int], size: Optional[int]):
    """tonic ``Downsample`` to ``size`` x ``size`` pixels (``None``: keep), and the new sensor size."""
    if size is None or size == sensor_size[0]:
        return None, sensor_size
    from tonic.transforms import Downsample

    factor = size / sensor_size[0]
    return Downsample(spatial_factor=factor), (size, int(round(sensor_size[1] * factor)), sensor_size[2])


def _has(folder: Path, pattern: str) -> bool:
    return folder.is_dir() and next(folder.glob(pattern), None) is not None


# How each tonic dataset counts as present, and what to say when it is not: (present, expected, source, hint).
def _shd_present(self) -> bool:
    return (Path(self.location_on_system) / self.data_filename).is_file()


def _nmnist_present(self) -> bool:
    return _has(Path(self.location_on_system) / self.folder_name, "*/*.bin")


def _gesture_present(self) -> bool:
    return _has(Path(self.location_on_system) / self.folder_name, "*/*.npy")


_TONIC = {
    "SHD": ("SHD", _shd_present,
            lambda loc, self: f"{loc}/shd_train.h5 and {loc}/shd_test.h5 (this load wanted {self.data_filename})",
            "https://zenkelab.org/datasets/shd_train.h5.zip and shd_test.h5.zip",
            "Unzip both there, or pass download=True (--download on the command line) to fetch them with "
            "tonic."),
    "NMNIST": ("N-MNIST", _nmnist_present,
               lambda loc, self: f"{loc}/{self.folder_name}/<digit 0-9>/<sample>.bin",
               "https://www.garrickorchard.com/datasets/n-mnist (Train.zip, Test.zip)",
               "Unzip them there, or pass download=True (--download on the command line) to fetch them with "
               "tonic."),
    "DVSGesture": ("DVS128 Gesture", _gesture_present,
                   lambda loc, self: f"{loc}/{self.folder_name}/user<NN>_<lighting>/<label>.npy",
                   "tonic's preprocessed release, ibmGestureTrain.tar.gz and ibmGestureTest.tar.gz (figshare files "
                   "38022171 and 38020584); the raw AEDAT release of IBM needs a manual download and tonic's "
                   "preprocessing",
                   "Extract both archives there, or pass download=True (--download on the command line) to fetch "
                   "them with tonic."),
}


def _tonic_check_exists(self) -> bool:
    return _TONIC[type(self).__name__][1](self)


def _tonic_missing(self) -> None:
    title, _, expected, source, hint = _TONIC[type(self).__name__]
    loc = Path(self.location_on_system)
    raise _missing(title, loc, expected(loc, self), source, hint)


_CLASSES: dict[str, type] = {}


def _offline_class(name: str) -> type:
    """tonic's (or torchvision's) dataset class ``name`` with the presence check of this module and no
    download: same name, so tonic stores data under ``root/<name>`` as usual, and a module attribute, so
    that its instances pickle (DataLoader workers that spawn)."""
    if name not in _CLASSES:
        if name in _TONIC:
            import tonic.datasets

            base = getattr(tonic.datasets, name)
            attrs = {"_check_exists": _tonic_check_exists, "download": _tonic_missing}
        elif name in ("CIFAR10", "CIFAR100"):
            import torchvision.datasets as tvd

            base = getattr(tvd, name)
            attrs = {"_check_integrity": _cifar_check_integrity, "meta": {**base.meta, "md5": None}}
        else:
            raise AttributeError(name)
        _CLASSES[name] = type(name, (base,), {**attrs, "__module__": __name__, "__qualname__": name})
    return _CLASSES[name]


def __getattr__(name: str):  # PEP 562: SHD, NMNIST, DVSGesture, CIFAR10, CIFAR100 on first use
    if name in _TONIC or name in ("CIFAR10", "CIFAR100"):
        return _offline_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------------------------- SHD
def shd(root: Path, train: bool = True, *, T: int = 100, download: bool = False) -> FramesDataset:
    """Spiking Heidelberg Digits (Cramer et al., 2020): 700 channels, 20 classes; samples ``[T, 700]``.

    HDF5 files with ``spikes/times`` (seconds), ``spikes/units``, ``labels``, ``extra/keys`` and
    ``extra/speaker``, read by tonic's ``SHD``; the whole recording (about 1 s) is binned into T steps.
    """
    import tonic.datasets

    _check_T(T)
    cls = tonic.datasets.SHD if download else _offline_class("SHD")
    where = Path(root) / "SHD" / f"shd_{'train' if train else 'test'}.h5"
    try:
        ds = cls(str(root), train=train)
    except (OSError, KeyError, ValueError) as e:
        if isinstance(e, MissingDataError) or not where.is_file():
            raise
        raise _refetch("SHD", where, f"is not a readable HDF5 file of SHD ({type(e).__name__}: {e})") from e
    return FramesDataset(ds, tonic.datasets.SHD.sensor_size, T, n_classes=20, shape=(700,), title="SHD",
                         file_of=functools.partial(_const, where))


# ---------------------------------------------------------------------------------------------- N-MNIST
def nmnist(root: Path, train: bool = True, *, T: int = 10, download: bool = False,
           first_saccade_only: bool = False) -> FramesDataset:
    """N-MNIST (Orchard et al., 2015): 34 x 34 x 2 events of the MNIST digits; samples ``[T, 2, 34, 34]``.

    Binary ``.bin`` files of 40-bit events (x, y, polarity and a 23-bit time stamp), one folder per
    digit, read by tonic's ``NMNIST``.
    """
    import tonic.datasets

    _check_T(T)
    cls = tonic.datasets.NMNIST if download else _offline_class("NMNIST")
    ds = cls(str(root), train=train, first_saccade_only=first_saccade_only)
    return FramesDataset(ds, tonic.datasets.NMNIST.sensor_size, T, n_classes=10, title="N-MNIST",
                         file_of=functools.partial(_data_at, ds))


# --------------------------------------------------------------------------------------- DVS128 Gesture
def dvs_gesture(root: Path, train: bool = True, *, T: int = 16, size: Optional[int] = None,
                download: bool = False) -> FramesDataset:
    """DVS128 Gesture (Amir et al., 2017), 11 classes; samples ``[T, 2, size, size]`` (128 by default).

    tonic's preprocessed release: one ``<label>.npy`` per gesture (columns x, y, p, t in ms) in a folder
    per user and lighting, read by tonic's ``DVSGesture``.  ``size`` downsamples with tonic's
    ``Downsample``.
    """
    import tonic.datasets

    _check_T(T)
    cls = tonic.datasets.DVSGesture if download else _offline_class("DVSGesture")
    pre, sensor = _downsample(tonic.datasets.DVSGesture.sensor_size, size)
    ds = cls(str(root), train=train)
    return FramesDataset(ds, sensor, T, n_classes=11, pre=pre, title="DVS128 Gesture",
                         file_of=functools.partial(_data_at, ds))


# ------------------------------------------------------------------------------------------ CIFAR10-DVS
def read_aedat2_cifar10dvs(path: str | os.PathLike) -> np.ndarray:
    """Events of one original CIFAR10-DVS recording (jAER AEDAT 2.0), as a tonic structured array.

    After the ``#`` header lines, each event is two big-endian uint32: an address and a time stamp (us).
    The address holds polarity in bit 0, the sensor x in bits 1-7 and y in bits 8-14; as in spikingjelly's
    reader, the image coordinates are ``x' = 127 - y``, ``y' = 127 - x`` and ON is ``p' = 1 - bit0``.
    """
    with open(path, "rb") as fp:
        start = 0
        for line in iter(fp.readline, b""):
            if not line.startswith(b"#"):
                break
            start += len(line)
        fp.seek(start)
        body = fp.read()
    if len(body) % 8:
        raise _refetch("CIFAR10-DVS", path, f"is truncated: {len(body)} bytes of AEDAT 2.0 events after the "
                       "header, expected a multiple of 8 (a 32-bit address and a 32-bit time stamp per event)")
    raw = np.frombuffer(body, dtype=">u4")
    addr, ts = raw[0::2], raw[1::2]
    events = np.empty(addr.size, dtype=np.dtype([("t", np.int64), ("x", np.int16), ("y", np.int16), ("p", bool)]))
    events["t"] = ts
    events["x"] = 127 - ((addr & 0x7F00) >> 8)
    events["y"] = 127 - ((addr & 0xFE) >> 1)
    events["p"] = (addr & 1) == 0
    return events


def _trailing_int(path: Path) -> tuple[int, str]:
    m = re.search(r"(\d+)$", path.stem)
    return (int(m.group(1)) if m else -1, path.name)


class _CIFAR10DVSFiles(Dataset):
    """The ``.aedat`` files of CIFAR10-DVS; the first ``train_fraction`` of each class (in file-number
    order) is the training split, the rest the test split (the usual 9 : 1, as spikingjelly's
    ``split_to_train_test_set(0.9, ..., random_split=False)``)."""

    sensor_size = (128, 128, 2)

    def __init__(self, folder: Path, train: bool, train_fraction: float = 0.9):
        self.data: list[Path] = []
        self.targets: list[int] = []
        split = "training" if train else "test"
        for label, name in enumerate(CIFAR10DVS_CLASSES):
            files = sorted((folder / name).glob("*.aedat"), key=_trailing_int)
            cut = int(round(len(files) * train_fraction))
            chosen = files[:cut] if train else files[cut:]
            if not chosen:
                raise _refetch("CIFAR10-DVS", folder / name,
                               f"holds {len(files)} recording(s), which leaves the {split} split with none of "
                               f"class {name!r} (the first {train_fraction:.0%} of each class train, the rest "
                               f"test); expected at least {2 if train_fraction < 1 else 1} recordings per class")
            self.data += chosen
            self.targets += [label] * len(chosen)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        events = read_aedat2_cifar10dvs(self.data[index])
        if events.size == 0:
            raise _refetch("CIFAR10-DVS", self.data[index], "holds no events (an empty recording would become an "
                           "all-zero sample)")
        return events, self.targets[index]


def cifar10_dvs(root: Path, train: bool = True, *, T: int = 10, size: Optional[int] = None,
                download: bool = False) -> FramesDataset:
    """CIFAR10-DVS (Li et al., 2017), the original AEDAT 2.0 recordings; samples ``[T, 2, size, size]``.

    There is no official split: the first 90% of each class is used for training.
    """
    loc = Path(root) / "CIFAR10DVS"
    missing = [c for c in CIFAR10DVS_CLASSES if not _has(loc / c, "*.aedat")]
    if missing:
        raise _missing(
            "CIFAR10-DVS", loc, f"{loc}/<class>/cifar10_<class>_<n>.aedat for the ten classes "
            f"({', '.join(CIFAR10DVS_CLASSES)}); missing: {', '.join(missing)}",
            "the original release, 'CIFAR10-DVS' on figshare (article 4724671), one zip per class",
            "Unzip each class there; snnlib has no downloader for it" + (" (download=True cannot help)."
                                                                         if download else "."),
            downloadable=False)
    _check_T(T)
    pre, sensor = _downsample(_CIFAR10DVSFiles.sensor_size, size)
    files = _CIFAR10DVSFiles(loc, train)
    return FramesDataset(files, sensor, T, n_classes=10, pre=pre, title="CIFAR10-DVS",
                         file_of=functools.partial(_data_at, files))


# ------------------------------------------------------------------------------------------ CIFAR-10/100
_CIFAR_STATS = {
    10: ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    100: ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}


def _cifar_check_integrity(self) -> bool:
    """Present when this split's batches and the meta file are there (no md5: see the module docstring)."""
    from torchvision.datasets.utils import check_integrity

    files = [f for f, _ in (self.train_list if self.train else self.test_list)] + [self.meta["filename"]]
    return all(check_integrity(os.path.join(self.root, self.base_folder, f)) for f in files)


def _torchvision_cifar(n_classes: int, root: Path, train: bool, transform, download: bool):
    _require("torchvision", "vision")
    import torchvision.datasets as tvd

    if n_classes not in (10, 100):
        raise ValueError(f"n_classes={n_classes!r}; expected 10 or 100")
    base = tvd.CIFAR10 if n_classes == 10 else tvd.CIFAR100
    folder = Path(root) / base.base_folder
    files = [f for f, _ in (base.train_list if train else base.test_list)] + [base.meta["filename"]]
    if not download and not all((folder / f).is_file() for f in files):
        raise _missing(f"CIFAR-{n_classes}", folder, f"{folder}/ with {', '.join(files)} (python pickle batches)",
                       base.url, "Extract the archive into the data root, or pass download=True (--download on "
                       "the command line) to fetch it with torchvision.")
    try:
        return _offline_class(base.__name__)(str(root), train=train, transform=transform, download=download)
    except (EOFError, pickle.UnpicklingError, OSError, ValueError, KeyError, UnicodeDecodeError, AttributeError,
            IndexError, TypeError) as e:
        if isinstance(e, MissingDataError):
            raise
        bad = next((folder / f for f in files if not _unpickles(folder / f)), folder)
        raise _corrupt(f"CIFAR-{n_classes}", bad, f"could not be read ({type(e).__name__}: {e}); it is truncated "
                       "or not one of torchvision's pickle batches", base.url,
                       "Delete the folder and extract the archive again, or delete it and pass download=True "
                       "(--download on the command line) to fetch it with torchvision.") from e


def _unpickles(path: Path) -> bool:
    """Whether ``path`` looks like a whole pickle (protocol 2+ header, STOP opcode at the end), checked
    without unpickling it."""
    try:
        with open(path, "rb") as f:
            head = f.read(2)
            f.seek(-1, os.SEEK_END)
            return len(head) == 2 and head[0] == 0x80 and f.read(1) == b"."
    except OSError:
        return False


def cifar(root: Path, train: bool = True, *, n_classes: int = 10, augment: bool = True,
          download: bool = False) -> Dataset:
    """CIFAR-10 or CIFAR-100 (torchvision's reader) as normalised ``[3, 32, 32]`` images.

    Training augmentation (``augment``): random crop with 4-pixel padding and horizontal flip.
    """
    _require("torchvision", "vision")
    from torchvision import transforms as tr

    mean, std = _CIFAR_STATS[n_classes] if n_classes in _CIFAR_STATS else _CIFAR_STATS[10]
    steps = [tr.RandomCrop(32, padding=4), tr.RandomHorizontalFlip()] if (train and augment) else []
    ds = _torchvision_cifar(n_classes, root, train, tr.Compose(steps + [tr.ToTensor(), tr.Normalize(mean, std)]),
                            download)
    ds.layout, ds.n_classes = "image", n_classes
    return ds


class _ColumnsCollate:
    """Batch ``[3, 32, 32]`` images into the column sequence ``[T=32, N, 3, 32]``, optionally after a
    batch-level MixUp (alpha 0.2) or CutMix (alpha 1.0), chosen at random per batch (the PSN code)."""

    def __init__(self, n_classes: int, mix: bool):
        self.mix = None
        if mix:
            from torchvision.transforms import v2

            self.mix = v2.RandomChoice([v2.MixUp(alpha=0.2, num_classes=n_classes),
                                        v2.CutMix(alpha=1.0, num_classes=n_classes)])

    def __call__(self, batch):
        x = torch.stack([b[0] for b in batch])
        y = torch.as_tensor([int(b[1]) for b in batch])
        if self.mix is not None:
            x, y = self.mix(x, y)  # y becomes soft labels [N, classes]
        return x.permute(3, 0, 1, 2).contiguous(), y  # [N, C, H, W] -> [W, N, C, H]


def sequential_cifar(root: Path, train: bool = True, *, n_classes: int = 10, augment: bool = True,
                     download: bool = False) -> Dataset:
    """Sequential CIFAR: each image read column by column, T = 32 steps of ``[3, 32]`` (channels x rows).

    A batch is ``[32, N, 3, 32]``.  With ``augment`` the training split uses the PSN code's recipe:
    horizontal flip, TrivialAugmentWide, random erasing (p = 0.1) and, per batch, MixUp or CutMix (soft
    labels); the test split is only normalised.
    """
    _require("torchvision", "vision")
    from torchvision import transforms as tr

    mean, std = _CIFAR_STATS[n_classes] if n_classes in _CIFAR_STATS else _CIFAR_STATS[10]
    if train and augment:
        steps = [tr.RandomHorizontalFlip(), tr.TrivialAugmentWide(), tr.ToTensor(), tr.Normalize(mean, std),
                 tr.RandomErasing(p=0.1)]
    else:
        steps = [tr.ToTensor(), tr.Normalize(mean, std)]
    ds = _torchvision_cifar(n_classes, root, train, tr.Compose(steps), download)
    ds.layout, ds.n_classes, ds.T = "sequence", n_classes, 32
    ds.collate_fn = _ColumnsCollate(n_classes, mix=train and augment)
    return ds
