"""snnlib.data, offline datasets: shapes, time-first batches, determinism, the DVS simulation, bad names."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import snnlib.data as D
from snnlib.data.offline import _YinYang


@pytest.fixture(autouse=True)
def _data_root(tmp_path, monkeypatch):
    monkeypatch.setenv(D.DATA_ENV_VAR, str(tmp_path / "data"))


def test_data_root_follows_the_environment(tmp_path, monkeypatch):
    assert D.data_root() == tmp_path / "data"
    monkeypatch.delenv(D.DATA_ENV_VAR)
    assert D.data_root() == D.data_root().home() / ".cache" / "snnlib" / "data"


@pytest.mark.parametrize("name, batch_shape, n_classes", [
    ("digits-rows", (8, 16, 8), 10),
    ("digits-pixels", (64, 16, 1), 10),
    ("digits-permuted", (64, 16, 1), 10),
    ("digits-images", (16, 1, 8, 8), 10),
    ("yin-yang", (16, 4), 3),
    ("delayed-recall", (40, 16, 5), 4),
])
def test_offline_batches_are_time_first(name, batch_shape, n_classes):
    train, test = D.loaders(name, "ci", batch_size=16)
    x, y = next(iter(train))
    assert tuple(x.shape) == batch_shape and x.dtype == torch.float32
    assert y.shape == (16,) and y.dtype == torch.int64
    labels = torch.cat([b[1] for b in test])
    assert set(labels.tolist()) == set(range(n_classes))


def test_mnist1d_generates_once_then_reads_the_cache(tmp_path):
    train, test = D.datasets("mnist1d")
    assert (len(train), len(test)) == (4000, 1000) and train.sample_shape == (40, 1) and train.T == 40
    assert list((tmp_path / "data" / "mnist1d").glob("*.npz"))
    again, _ = D.datasets("mnist1d")
    assert torch.equal(train.x, again.x) and torch.equal(train.y, again.y)


def test_digit_layouts_hold_the_same_pixels():
    rows, _ = D.digits("rows")
    pixels, _ = D.digits("pixels")
    permuted, _ = D.digits("permuted")
    images, _ = D.digits_images()
    assert len(rows) == 1437
    assert torch.equal(rows.x.reshape(-1, 64, 1), pixels.x)
    assert torch.equal(images.x[:, 0], rows.x) and torch.equal(rows.y, images.y)
    assert torch.equal(permuted.x.sort(1).values, pixels.x.sort(1).values)
    assert not torch.equal(permuted.x, pixels.x)
    assert 0.0 <= float(rows.x.min()) and float(rows.x.max()) <= 1.0
    with pytest.raises(ValueError, match="layout='columns'.*rows, pixels, permuted"):
        D.digits("columns")


def test_train_order_follows_the_seed():
    first = [next(iter(D.loaders("digits-rows", "ci", seed=s)[0]))[1] for s in (0, 0, 1)]
    assert torch.equal(first[0], first[1]) and not torch.equal(first[0], first[2])


def test_yin_yang_features_and_classes():
    shape = _YinYang()
    # centre of the right dot, top half, bottom half
    assert shape.classes(np.array([0.75, 0.5, 0.5]), np.array([0.5, 0.9, 0.1])).tolist() == [2, 1, 0]
    train, test = D.yin_yang(600, 300, seed=1)
    x, y = train.x.numpy(), train.y.numpy()
    assert np.allclose(x[:, 2], 1 - x[:, 0]) and np.allclose(x[:, 3], 1 - x[:, 1])
    assert (np.hypot(x[:, 0] - 0.5, x[:, 1] - 0.5) <= 0.5 + 1e-6).all()
    assert (shape.classes(x[:, 0], x[:, 1]) == y).all()
    assert np.bincount(y, minlength=3).min() > 150  # classes drawn uniformly


def test_delayed_recall_puts_the_answer_only_at_the_start():
    train, _ = D.delayed_recall(50, 10, n_classes=3, delay=10, cue_steps=2, recall_steps=3, noise=0.2)
    x, y = train.x, train.y
    assert x.shape == (50, 15, 4)
    assert torch.equal(x[:, :2, :3].argmax(-1), y[:, None].expand(50, 2))
    assert torch.equal(x[:, :2, :3].sum(-1), torch.ones(50, 2))
    assert (x[:, -3:, 3] == 1).all() and (x[:, :-3, 3] == 0).all() and (x[:, -3:, :3] == 0).all()
    assert 0.1 < float(x[:, 2:12, :3].mean()) < 0.3  # distractors at about the noise rate
    with pytest.raises(ValueError, match="delay=-1"):
        D.delayed_recall(delay=-1)


def test_simulated_dvs_events_work_with_tonic_transforms():
    import tonic.transforms as tt

    images = np.zeros((2, 8, 8), dtype=np.float32)
    images[0, 2:6, 3:5] = 1.0
    events, sensor = D.simulate_dvs(images, noise_rate_hz=0.0)
    assert sensor == (22, 22, 2) and len(events) == 2
    ev = events[0]
    assert ev.dtype == D.EVENT_DTYPE and len(ev) > 50
    assert (np.diff(ev["t"]) >= 0).all() and ev["t"].max() < 300_000
    assert ev["x"].min() >= 0 and ev["x"].max() < 22 and ev["y"].max() < 22
    assert 0 < ev["p"].mean() < 1  # ON and OFF edges
    assert len(events[1]) == 0  # a blank image gives no events without noise
    frames = tt.ToFrame(sensor_size=sensor, n_time_bins=5)(ev.copy())
    # tonic's bins run from the first to the last event with an exclusive end: the last event is left out
    assert frames.shape == (5, 2, 22, 22) and 0 <= len(ev) - frames.sum() <= 2
    noisy, _ = D.simulate_dvs(images, noise_rate_hz=50.0, seed=3)
    assert len(noisy[1]) > 0
    assert len(tt.Denoise(filter_time=5000)(noisy[1].copy())) < len(noisy[1])


def test_still_sensor_sees_nothing():
    images = np.random.default_rng(0).random((3, 8, 8)).astype(np.float32)
    events, _ = D.simulate_dvs(images, amplitude=0.0, noise_rate_hz=0.0)
    assert all(len(e) == 0 for e in events)


def test_dvs_digits_frames_and_event_dataset():
    ds = D.dvs_digit_events(False, n_steps=10)
    ev, label = ds[0]
    assert ev.dtype == D.EVENT_DTYPE and 0 <= label < 10 and len(ds) == 360
    train, test = D.dvs_digits(T=4, n_steps=10)
    assert train.sample_shape == (4, 2, 22, 22) and len(test) == 360
    assert 0 <= len(ev) - float(test.x[0].sum()) <= 2


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'.*mnist1d.*digits-rows.*shd.*scifar10"):
        D.loaders("mnist", "ci")
    with pytest.raises(ValueError, match="scale='tpu'"):
        D.loaders("digits-rows", "tpu")



def test_loaders_train_size_keeps_the_first_samples():
    full, test_full = D.loaders("digits-images", "ci", batch_size=32, seed=0)
    small, test = D.loaders("digits-images", "ci", batch_size=32, seed=0, train_size=100)
    assert len(small.dataset) == 100 and torch.equal(small.dataset.x, full.dataset.x[:100])
    assert torch.equal(small.dataset.y, full.dataset.y[:100])
    assert len(test.dataset) == len(test_full.dataset)
