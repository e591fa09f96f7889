r"""Event streams simulated from the digits: a moving DVS sensor looking at a still image.

A dynamic vision sensor (DVS) pixel keeps a reference log intensity and emits an event each time the log
intensity it sees has moved by a contrast threshold :math:`C` since the last event:

.. math::
    \log(\epsilon + I_{x,y}(t)) - \mathrm{ref}_{x,y} \ge C \;\Rightarrow\; \text{ON event},\quad
    \mathrm{ref}_{x,y} \mathrel{+}= C \qquad (\text{OFF events alike, downwards}).

A still digit seen by a still sensor gives no events, so N-MNIST moved the sensor in three saccades along
a triangle; :func:`simulate_dvs` does the same with sub-pixel (bilinear) shifts of the image.  The
events come out as tonic's structured arrays (fields ``x, y, t, p``; ``t`` in microseconds), so tonic's
transforms (``ToFrame``, ``Denoise``, ``Downsample``, ...) apply unchanged.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .offline import ArrayDataset, _digits_split

__all__ = ["EVENT_DTYPE", "simulate_dvs", "EventDataset", "dvs_digit_events", "dvs_digits", "events_to_frames"]

#: tonic's event layout (``tonic.io.events_struct``): x, y, t in microseconds, polarity.
EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])


def _saccade_path(n_steps: int, amplitude: float) -> np.ndarray:
    """``[n_steps, 2]`` offsets (dx, dy): three straight saccades around a triangle, back to the start."""
    corners = np.array([[0.0, 0.0], [amplitude / 2, amplitude], [amplitude, 0.0], [0.0, 0.0]])
    s = np.linspace(0.0, 3.0, n_steps + 1)[1:]  # the image at s = 0 is the reference
    leg = np.minimum(s.astype(int), 2)
    frac = (s - leg)[:, None]
    return corners[leg] * (1 - frac) + corners[leg + 1] * frac


def _shift_int(a: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``out[..., y, x] = a[..., y - dy, x - dx]``, zero where that falls outside."""
    out = np.zeros_like(a)
    H, W = a.shape[-2:]
    if abs(dx) >= W or abs(dy) >= H:
        return out
    out[..., max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        a[..., max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return out


def _shift(a: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Shift images ``[S, H, W]`` by (dx, dy) pixels with bilinear interpolation, zero outside."""
    ix, iy = int(np.floor(dx)), int(np.floor(dy))
    fx, fy = dx - ix, dy - iy
    out = (1 - fx) * (1 - fy) * _shift_int(a, ix, iy)
    if fx:
        out += fx * (1 - fy) * _shift_int(a, ix + 1, iy)
    if fy:
        out += (1 - fx) * fy * _shift_int(a, ix, iy + 1)
    if fx and fy:
        out += fx * fy * _shift_int(a, ix + 1, iy + 1)
    return out


def simulate_dvs(images: np.ndarray, *, scale: int = 2, margin: int = 3, duration_us: int = 300_000,
                 n_steps: int = 30, amplitude: float = 2.0, threshold: float = 0.3, eps: float = 0.1,
                 noise_rate_hz: float = 1.0, seed: int = 0) -> tuple[list[np.ndarray], tuple[int, int, int]]:
    """Events from a DVS sensor moving in three saccades over each image of ``images`` (``[S, h, w]``).

    The image (intensities in [0, 1]) is upscaled ``scale`` times (nearest neighbour) and centred on a
    sensor of ``(w*scale + 2*margin, h*scale + 2*margin)`` pixels; the sensor then moves along a triangle
    of side ``amplitude`` pixels in ``n_steps`` steps over ``duration_us``.  Per pixel and step, the
    change of ``log(eps + I)`` since the pixel's last event, divided by ``threshold``, gives the number of
    events; their times are spread uniformly inside the step.  Background noise adds events at
    ``noise_rate_hz`` per pixel and polarity.

    Returns ``(events, sensor_size)``: one structured array per image (:data:`EVENT_DTYPE`, sorted by
    time) and tonic's ``(W, H, 2)``.

    Defined in chapter 03 (ParaLIF), section "Reproduction: event data through tonic".
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3:
        raise ValueError(f"images must be [S, h, w], got shape {images.shape}")
    if threshold <= 0:
        raise ValueError(f"threshold={threshold!r} must be > 0")
    rng = np.random.default_rng(seed)
    S, h, w = images.shape
    up = np.kron(images, np.ones((scale, scale)))
    H, W = h * scale + 2 * margin, w * scale + 2 * margin
    canvas = np.zeros((S, H, W), dtype=np.float32)
    canvas[:, margin:margin + h * scale, margin:margin + w * scale] = up
    log_ref = np.log(eps + canvas)
    dt = duration_us / n_steps
    chunks = []  # per step: sample, x, y, t, p
    for k, (dx, dy) in enumerate(_saccade_path(n_steps, amplitude)):
        diff = np.log(eps + _shift(canvas, dx, dy)) - log_ref
        n = np.trunc(diff / threshold).astype(np.int32)  # signed number of events
        log_ref += n * np.float32(threshold)
        s, y, x = np.nonzero(n)
        n_sxy = n[s, y, x]
        counts = np.abs(n_sxy)
        s, y, x, p = (np.repeat(a, counts) for a in (s, y, x, n_sxy > 0))
        t = (k + rng.random(len(s))) * dt
        chunks.append((s, x, y, t, p))
    if noise_rate_hz > 0:
        n_noise = rng.poisson(noise_rate_hz * duration_us * 1e-6 * H * W * 2 * S)
        chunks.append((rng.integers(0, S, n_noise), rng.integers(0, W, n_noise), rng.integers(0, H, n_noise),
                       rng.random(n_noise) * duration_us, rng.random(n_noise) < 0.5))
    s, x, y, t, p = (np.concatenate(parts) for parts in zip(*chunks))
    order = np.lexsort((t, s))
    s, x, y, t, p = s[order], x[order], y[order], t[order], p[order]
    bounds = np.searchsorted(s, np.arange(S + 1))
    events = []
    for i in range(S):
        sl = slice(bounds[i], bounds[i + 1])
        ev = np.empty(sl.stop - sl.start, dtype=EVENT_DTYPE)
        ev["x"], ev["y"], ev["t"], ev["p"] = x[sl], y[sl], np.floor(t[sl]).astype(np.int64), p[sl]
        events.append(ev)
    return events, (W, H, 2)


class EventDataset(Dataset):
    """Event streams with labels, like a tonic dataset: ``ds[i] == (events, label)``.

    ``sensor_size`` is tonic's ``(W, H, P)``; ``transform`` (for example ``tonic.transforms.ToFrame``)
    is applied to the events of each sample.
    """

    dtype = EVENT_DTYPE
    ordering = EVENT_DTYPE.names

    def __init__(self, events: Sequence[np.ndarray], targets: Sequence[int], sensor_size: tuple[int, int, int],
                 transform: Optional[Callable] = None):
        if len(events) != len(targets):
            raise ValueError(f"{len(events)} event streams but {len(targets)} targets")
        self.data = list(events)
        self.targets = [int(t) for t in targets]
        self.sensor_size = tuple(sensor_size)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        events = self.data[index]
        if self.transform is not None:
            events = self.transform(events.copy())
        return events, self.targets[index]


def dvs_digit_events(train: bool = True, *, transform: Optional[Callable] = None, seed: int = 0,
                     **simulation) -> EventDataset:
    """The scikit-learn digits (same split as :func:`snnlib.data.offline.digits`) as simulated DVS events.

    ``simulation`` goes to :func:`simulate_dvs` (default sensor 22 x 22 x 2, 300 ms, 1 Hz noise).  The
    test split is simulated with ``seed + 1`` so that its noise differs from the training noise.
    """
    x_tr, x_te, y_tr, y_te = _digits_split()
    images, labels = (x_tr, y_tr) if train else (x_te, y_te)
    events, sensor_size = simulate_dvs(images, seed=seed if train else seed + 1, **simulation)
    return EventDataset(events, labels, sensor_size, transform=transform)


def events_to_frames(events: Sequence[np.ndarray], sensor_size: tuple[int, int, int], T: int) -> np.ndarray:
    """Stack event streams into frames ``[S, T, P, H, W]`` with ``tonic.transforms.ToFrame(n_time_bins=T)``.

    tonic's bins span a stream from its first to its last event, end excluded, so the last event (and any
    that share its time stamp) is left out.
    """
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"T={T!r} must be a positive int (the number of time bins)")
    from tonic.transforms import ToFrame

    to_frame = ToFrame(sensor_size=sensor_size, n_time_bins=T)
    return np.stack([to_frame(ev.copy()) for ev in events]).astype(np.float32)


def dvs_digits(T: int = 10, *, seed: int = 0, **simulation) -> tuple[ArrayDataset, ArrayDataset]:
    """The simulated DVS digits as event frames ``[T, 2, H, W]`` (event counts per bin), ten classes.

    The events of both splits (:func:`dvs_digit_events`) are binned once with tonic's ``ToFrame``.
    """
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:  # before the simulation, not after it
        raise ValueError(f"T={T!r} must be a positive int (the number of time bins)")
    out = []
    for train in (True, False):
        ds = dvs_digit_events(train, seed=seed, **simulation)
        frames = events_to_frames(ds.data, ds.sensor_size, T)
        out.append(ArrayDataset(torch.from_numpy(frames), torch.tensor(ds.targets), layout="sequence",
                                n_classes=10, name=f"dvs-digits/{'train' if train else 'test'}"))
    return out[0], out[1]
