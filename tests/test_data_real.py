"""snnlib.data, real datasets: each loader reads a tiny file written in that dataset's own on-disk format.

The writers below produce the formats the real downloads have (HDF5 of SHD, 40-bit .bin events of N-MNIST,
tonic's .npy release of DVS128 Gesture, AEDAT 2.0 of CIFAR10-DVS, torchvision's pickle batches of
CIFAR-10/100); the loaders then go through tonic's and torchvision's parsing code, as on the full sets.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import snnlib.data as D
from snnlib.data.real import CIFAR10DVS_CLASSES, read_aedat2_cifar10dvs


# ------------------------------------------------------------------------------ same-format writers
def write_shd(root: Path, split: str, n: int = 6, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray, int]]:
    import h5py

    rng = np.random.default_rng(seed)
    folder = root / "SHD"
    folder.mkdir(parents=True, exist_ok=True)
    samples = []
    for i in range(n):
        k = int(rng.integers(20, 60))
        times = np.sort(rng.random(k) * 0.9).astype(np.float32)  # seconds
        units = rng.integers(0, 700, k).astype(np.uint16)
        samples.append((times, units, i % 20))
    with h5py.File(folder / f"shd_{split}.h5", "w") as f:
        t = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.float32))
        u = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16))
        for i, (times, units, _) in enumerate(samples):
            t[i], u[i] = times, units
        f.create_dataset("labels", data=np.array([s[2] for s in samples], dtype=np.uint16))
        f.create_dataset("extra/keys", data=np.array([f"word-{i}".encode() for i in range(20)]))
        f.create_dataset("extra/speaker", data=np.arange(n, dtype=np.uint16))
    return samples


def nmnist_bytes(x, y, p, t) -> bytes:
    """N-MNIST's 40-bit events: x, y, then polarity (bit 7) and a 23-bit time stamp (us)."""
    x, y, p, t = (np.asarray(a, dtype=np.int64) for a in (x, y, p, t))
    raw = np.stack([x, y, (p << 7) | ((t >> 16) & 0x7F), (t >> 8) & 0xFF, t & 0xFF], axis=1)
    return raw.astype(np.uint8).tobytes()


def write_nmnist(root: Path, folder: str, per_digit: int = 1, seed: int = 0) -> dict[Path, tuple]:
    rng = np.random.default_rng(seed)
    written = {}
    for digit in range(10):
        for j in range(per_digit):
            k = 30
            ev = (rng.integers(0, 34, k), rng.integers(0, 34, k), rng.integers(0, 2, k),
                  np.sort(rng.integers(0, 300_000, k)))
            path = root / "NMNIST" / folder / str(digit) / f"{j:05d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(nmnist_bytes(*ev))
            written[path] = ev
    return written


def write_dvs_gesture(root: Path, folder: str, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for user, lighting in ((1, "fluorescent"), (2, "lab")):
        d = root / "DVSGesture" / folder / f"user{user:02d}_{lighting}"
        d.mkdir(parents=True, exist_ok=True)
        for label in (0, 4, 10):
            k = 50
            ev = np.stack([rng.integers(0, 128, k), rng.integers(0, 128, k), rng.integers(0, 2, k),
                           np.sort(rng.integers(0, 6000, k))], axis=1)  # x, y, p, t in ms
            np.save(d / f"{label}.npy", ev)


def aedat2_bytes(x, y, p, t) -> bytes:
    """One CIFAR10-DVS recording in AEDAT 2.0 (inverse of the reader's mapping)."""
    x, y, p, t = (np.asarray(a, dtype=np.uint32) for a in (x, y, p, t))
    addr = ((127 - x) << 8) | ((127 - y) << 1) | (1 - p)
    header = b"#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n# Data format is int32 address, int32 timestamp\r\n"
    return header + np.stack([addr, t], axis=1).astype(">u4").tobytes()


def write_cifar10_dvs(root: Path, per_class: int = 10, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for name in CIFAR10DVS_CLASSES:
        d = root / "CIFAR10DVS" / name
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            k = 40
            (d / f"cifar10_{name}_{i}.aedat").write_bytes(aedat2_bytes(
                rng.integers(0, 128, k), rng.integers(0, 128, k), rng.integers(0, 2, k),
                np.sort(rng.integers(0, 1_000_000, k))))


def write_cifar(root: Path, n_classes: int = 10, per_batch: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    """torchvision's python pickle batches: uint8 data [n, 3072] (channel-major), labels."""
    rng = np.random.default_rng(seed)
    if n_classes == 10:
        folder, batches, key, meta, meta_key = root / "cifar-10-batches-py", \
            [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"], "labels", "batches.meta", "label_names"
    else:
        folder, batches, key, meta, meta_key = root / "cifar-100-python", ["train", "test"], "fine_labels", \
            "meta", "fine_label_names"
    folder.mkdir(parents=True, exist_ok=True)
    data = {}
    for b in batches:
        arr = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        entry = {"data": arr, key: [int(v) for v in rng.integers(0, n_classes, per_batch)], "batch_label": b}
        if n_classes == 100:
            entry["coarse_labels"] = [0] * per_batch
        with open(folder / b, "wb") as f:
            pickle.dump(entry, f)
        data[b] = arr
    with open(folder / meta, "wb") as f:
        pickle.dump({meta_key: [f"class{i}" for i in range(n_classes)]}, f)
    return data


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    r = tmp_path / "data"
    monkeypatch.setenv(D.DATA_ENV_VAR, str(r))
    return r


# ----------------------------------------------------------------------------------------------- tests
def test_shd_reads_hdf5_through_tonic(root):
    samples = write_shd(root, "train")
    write_shd(root, "test", n=3, seed=1)
    train, test = D.loaders("shd", "ci", batch_size=2, T=20)
    assert len(train.dataset) == 6 and len(test.dataset) == 3
    x, y = next(iter(test))
    assert x.shape == (20, 2, 700) and y.tolist() == [0, 1]
    events, label = train.dataset.events[0]
    times, units, lab = samples[0]
    assert label == lab and np.array_equal(events["x"], units)
    assert np.allclose(events["t"], (times.astype(np.float64) * 1e6).astype(np.int64), atol=1)
    frames, _ = train.dataset[0]
    assert len(units) - 2 <= float(frames.sum()) <= len(units)  # tonic leaves out the last event(s)


def test_nmnist_reads_40_bit_events_through_tonic(root):
    written = write_nmnist(root, "Train")
    write_nmnist(root, "Test", seed=1)
    train, test = D.loaders("nmnist", "ci", batch_size=5, T=6)
    assert len(train.dataset) == 10 and len(test.dataset) == 10
    x, y = next(iter(test))
    assert x.shape == (6, 5, 2, 34, 34) and y.tolist() == [0, 1, 2, 3, 4]
    events, label = train.dataset.events[3]
    x_, y_, p_, t_ = written[root / "NMNIST" / "Train" / "3" / "00000.bin"]
    assert label == 3
    assert np.array_equal(events["x"], x_) and np.array_equal(events["y"], y_)
    assert np.array_equal(events["p"], p_) and np.array_equal(events["t"], t_)


def test_dvs_gesture_reads_tonic_npy_release(root):
    write_dvs_gesture(root, "ibmGestureTrain")
    write_dvs_gesture(root, "ibmGestureTest", seed=1)
    train, test = D.loaders("dvs-gesture", "ci", batch_size=3, T=4, size=32)
    assert len(train.dataset) == 6
    x, y = next(iter(test))
    assert x.shape == (4, 3, 2, 32, 32) and sorted(y.tolist()) == [0, 4, 10]
    assert sorted(train.dataset.events.users) == [1, 1, 1, 2, 2, 2]  # tonic walks folders unsorted
    full, _ = D.datasets("dvs-gesture", T=4)
    assert full[0][0].shape == (4, 2, 128, 128)


def test_cifar10_dvs_reads_aedat2(root, tmp_path):
    rng = np.random.default_rng(5)
    x, y, p, t = rng.integers(0, 128, 9), rng.integers(0, 128, 9), rng.integers(0, 2, 9), np.arange(9) * 7
    (tmp_path / "one.aedat").write_bytes(aedat2_bytes(x, y, p, t))
    ev = read_aedat2_cifar10dvs(tmp_path / "one.aedat")
    assert ev.dtype.names == ("t", "x", "y", "p")
    assert np.array_equal(ev["x"], x) and np.array_equal(ev["y"], y)
    assert np.array_equal(ev["p"], p.astype(bool)) and np.array_equal(ev["t"], t)
    # the raw address of one event, by hand: x' = 127 - bits 8-14, y' = 127 - bits 1-7, ON = bit 0 clear
    (tmp_path / "two.aedat").write_bytes(b"#!AER-DAT2.0\r\n" + np.array([(5 << 8) | (9 << 1) | 1, 42], ">u4").tobytes())
    one = read_aedat2_cifar10dvs(tmp_path / "two.aedat")[0]
    assert (one["x"], one["y"], one["p"], one["t"]) == (122, 118, False, 42)

    write_cifar10_dvs(root)
    train, test = D.loaders("cifar10-dvs", "ci", batch_size=10, T=3, size=64)
    assert len(train.dataset) == 90 and len(test.dataset) == 10  # 9 : 1 per class
    assert [p.name for p in test.dataset.events.data[:2]] == ["cifar10_airplane_9.aedat", "cifar10_automobile_9.aedat"]
    xb, yb = next(iter(test))
    assert xb.shape == (3, 10, 2, 64, 64) and yb.tolist() == list(range(10))


@pytest.mark.parametrize("n_classes", [10, 100])
def test_cifar_reads_torchvision_pickle_batches(root, n_classes):
    pytest.importorskip("torchvision")
    data = write_cifar(root, n_classes)
    name = f"cifar{n_classes}"
    train, test = D.loaders(name, "ci", batch_size=4, augment=False)
    assert len(train.dataset) == (20 if n_classes == 10 else 4) and len(test.dataset) == 4
    x, y = next(iter(test))
    assert x.shape == (4, 3, 32, 32) and y.dtype == torch.int64
    mean, std = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
    if n_classes == 100:
        mean, std = (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)
    raw = data["test_batch" if n_classes == 10 else "test"][0].reshape(3, 32, 32) / 255.0
    expected = (torch.tensor(raw, dtype=torch.float32) - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]
    assert torch.allclose(x[0], expected, atol=1e-5)


def test_sequential_cifar_feeds_columns(root):
    pytest.importorskip("torchvision")
    write_cifar(root, 10)
    train, test = D.loaders("scifar10", "ci", batch_size=4)
    x, y = next(iter(test))
    assert x.shape == (32, 4, 3, 32) and y.shape == (4,)
    images, _ = next(iter(D.loaders("cifar10", "ci", batch_size=4, augment=False)[1]))
    # step t of sample n is column t of the image: channels x rows
    assert torch.equal(x[5, 2], images[2, :, :, 5])
    xt, yt = next(iter(train))  # the paper's training recipe: MixUp or CutMix gives soft labels
    assert xt.shape == (32, 4, 3, 32) and yt.shape == (4, 10)
    assert torch.allclose(yt.sum(1), torch.ones(4))


def test_real_datasets_pickle_for_spawned_workers(root):
    write_shd(root, "train")
    write_shd(root, "test", n=3, seed=1)
    write_nmnist(root, "Train")
    write_nmnist(root, "Test", seed=1)
    for name, opts in (("shd", {"T": 5}), ("nmnist", {"T": 3})):
        train, _ = D.datasets(name, **opts)
        clone = pickle.loads(pickle.dumps(train))
        assert torch.equal(clone[1][0], train[1][0]) and clone[1][1] == train[1][1]
    if __import__("importlib").util.find_spec("torchvision") is not None:
        write_cifar(root, 10)
        train, _ = D.datasets("scifar10")
        clone = pickle.loads(pickle.dumps(train))
        assert len(clone) == len(train) and type(clone).__name__ == "CIFAR10"


@pytest.mark.parametrize("name, message", [
    ("shd", r"SHD was not found.*shd_train\.h5.*zenkelab.*download=True.*SNNLIB_DATA"),
    ("nmnist", r"N-MNIST was not found.*Train/<digit 0-9>/<sample>\.bin.*download=True"),
    ("dvs-gesture", r"DVS128 Gesture was not found.*ibmGestureTrain.*download=True"),
    ("cifar10-dvs", r"CIFAR10-DVS was not found.*airplane.*figshare"),
    ("cifar10", r"CIFAR-10 was not found.*cifar-10-batches-py.*data_batch_1.*cifar-10-python\.tar\.gz"),
    ("scifar100", r"CIFAR-100 was not found.*cifar-100-python"),
])
def test_missing_dataset_says_where_to_put_it(root, name, message):
    if "cifar1" in name and "dvs" not in name:
        pytest.importorskip("torchvision")
    with pytest.raises(D.MissingDataError, match=f"(?s){message}") as err:
        D.loaders(name, "ci")
    assert str(root) in str(err.value)


def test_missing_torchvision_is_named(root, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torchvision" else real_find_spec(name, *a))
    with pytest.raises(ImportError, match=r"torchvision.*pip install torchvision.*snnlib\[vision\]"):
        D.loaders("cifar10", "ci")
