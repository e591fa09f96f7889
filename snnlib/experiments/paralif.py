"""Chapter 03 (ParaLIF): the firing functions against LIF, and ParaLIF on spiking data (Yarga & Wood, 2025).

The paper's claim checked here: ParaLIF, with deterministic or stochastic firing, reaches the accuracy of
the LIF neuron (with a reset) at a similar spike count, while training much faster.

* ``paralif-firing``: every one of the eleven firing modes, and LIF, in the same network on Yin-Yang
  (procedural); accuracy and spikes per neuron, several seeds.  At ``ci`` the four coordinates enter as
  constant input currents for T = 20 steps; at ``gpu`` and ``full`` they are rate-coded as Bernoulli
  spikes, as in the official example (at T = 20 and a few hundred training steps the rate code's noise,
  about 0.1 per coordinate, is more than the small runs can average out).
* ``paralif-events``: the best deterministic mode and the best stochastic mode of ``paralif-firing``,
  and LIF, on event streams: the scikit-learn digits seen by a simulated moving DVS
  (:func:`snnlib.data.dvs_digit_events`, tonic's event format), binned by tonic's transforms
  (``Downsample``, ``ToFrame``) -- the path a reader takes for N-MNIST.  At ``gpu`` and ``full`` scale it
  runs on SHD through tonic with the paper's two networks: 3 x 128 feed-forward and 1 x 256 recurrent.

The network is the official one: ``layers`` x (Linear, neuron), then a Linear into a non-firing leaky
integrator (:class:`snnlib.models.LIReadout`) whose membrane, averaged over T, gives the logits (cross-entropy);
Kaiming-uniform weights, zero biases; Adamax.  The LIF is the official one too: the same synaptic stage,
then a membrane with a hard reset to 0 (detached), threshold 1, fast-sigmoid surrogate.

Defined in chapter 03 (ParaLIF), section "Experiments".
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
import torch.nn as nn

from .. import config, data, train
from ..models.sequence import ParaLIFNet
from ..neurons import ParaLIF, SynapticLIF
from ..neurons.paralif import FIRING_MODES, STOCHASTIC_MODES
from ..utils import seed_everything, torch_threads
from . import Claim, Experiment, register, runs_dir

__all__ = ["NEURONS", "LABELS", "make_neuron", "paralif_net", "settings",
           "yin_yang_sequences", "event_digits", "train_neuron", "run_firing", "run_events", "best_modes"]

NEURONS: tuple[str, ...] = ("LIF", *FIRING_MODES)
LABELS = {"LIF": "LIF", **{m: f"ParaLIF-{m}" for m in FIRING_MODES}}


def make_neuron(kind: str, *, dt: float, features: int, recurrent: bool = False,
                generator: Optional[torch.Generator] = None) -> nn.Module:
    """``"LIF"`` (:class:`SynapticLIF`) or a ParaLIF firing mode; tau_mem = tau_syn = 20 ms, learnable
    threshold (1.0, or 0.1 for the delta modes), as the official networks."""
    if kind == "LIF":
        if recurrent:
            raise ValueError("the recurrent LIF is not part of these experiments; use a ParaLIF mode")
        return SynapticLIF(dt=dt)
    if kind not in FIRING_MODES:
        raise ValueError(f"kind={kind!r} is not a neuron of this chapter; expected one of {', '.join(NEURONS)}")
    return ParaLIF(kind, dt=dt, recurrent=recurrent, features=features if recurrent else None,
                   generator=generator)


def paralif_net(kind: str, features: int, classes: int, hidden: list[int], *, dt: float,
                recurrent: bool = False) -> ParaLIFNet:
    """:class:`snnlib.models.ParaLIFNet` with neuron ``kind`` (:func:`make_neuron`) in every hidden layer."""
    return ParaLIFNet(lambda width: make_neuron(kind, dt=dt, features=width, recurrent=recurrent), features, classes,
                      hidden, dt=dt)


def settings(scale: str) -> dict[str, Any]:
    """Everything that sizes the ParaLIF experiments at ``scale``.

    Defined in chapter 03 (ParaLIF), section "Reproduction: the firing functions against LIF".
    """
    return config.choose(
        ci={"firing": {"dataset": "yin-yang (currents)", "encoding": "current", "n_train": 800, "n_test": 300,
                       "T": 20, "dt": 1e-3, "hidden": [64], "epochs": 12, "batch_size": 100, "lr": 3e-2},
            "events": {"dataset": "dvs-digits events (tonic)", "T": 15, "downsample": 0.5, "hidden": [64],
                       "epochs": 5, "batch_size": 100, "lr": 1e-2},
            "seeds": 3, "threads": 1},
        gpu={"firing": {"dataset": "yin-yang (rate-coded)", "encoding": "rate", "n_train": 5000, "n_test": 1000,
                        "T": 100,
                        "dt": 1e-3, "hidden": [128, 128, 128], "epochs": 30, "batch_size": 64, "lr": 1e-3},
             "events": {"dataset": "shd", "T": 1000, "dt": 1e-3,
                        "networks": {"ff": {"hidden": [128, 128, 128], "recurrent": False},
                                     "rec": {"hidden": [256], "recurrent": True}},
                        "epochs": 30, "batch_size": 64, "lr": 1e-3},
             "seeds": 1},
        full={"firing": {"dataset": "yin-yang (rate-coded)", "encoding": "rate", "n_train": 5000, "n_test": 1000,
                         "T": 100,
                         "dt": 1e-3, "hidden": [128, 128, 128], "epochs": 200, "batch_size": 64, "lr": 1e-3},
              "events": {"dataset": "shd", "T": 1000, "dt": 1e-3,
                         "networks": {"ff": {"hidden": [128, 128, 128], "recurrent": False},
                                      "rec": {"hidden": [256], "recurrent": True}},
                         "epochs": 200, "batch_size": 64, "lr": 1e-3},
              "seeds": 3},
        scale_name=scale)


# ---------------------------------------------------------------------------------------------- data
def yin_yang_sequences(T: int, n_train: int, n_test: int, *, encoding: str = "rate", seed: int = 0
                       ) -> tuple[data.ArrayDataset, data.ArrayDataset]:
    """Yin-Yang (:func:`snnlib.data.yin_yang`, points drawn from ``42 + seed``) as sequences ``[T, 4]``.

    ``encoding="rate"``: Bernoulli spike trains, each feature firing at each step with probability
    equal to its value in [0, 1] (the official example; drawn once, from ``seed``).
    ``encoding="current"``: the values themselves at every step (a constant input current).
    """
    if encoding not in ("rate", "current"):
        raise ValueError(f"encoding={encoding!r}; expected 'rate' or 'current'")
    train_set, test_set = data.yin_yang(n_train, n_test, seed=42 + seed)
    g = torch.Generator().manual_seed(seed)
    out = []
    for ds in (train_set, test_set):
        p = ds.x.clamp(0, 1).unsqueeze(1).expand(-1, T, -1).contiguous()
        x = torch.bernoulli(p, generator=g) if encoding == "rate" else p
        out.append(data.ArrayDataset(x, ds.y, layout="sequence", n_classes=3, name=f"{ds.name} {encoding} T={T}"))
    return out[0], out[1]


def event_digits(T: int, downsample: float = 0.5, *, seed: int = 0
                 ) -> tuple[data.ArrayDataset, data.ArrayDataset, float]:
    """The simulated DVS digits through tonic's transforms: ``Downsample(spatial_factor)`` then
    ``ToFrame(n_time_bins=T)``; frames ``[T, 2, H, W]``.  Returns train, test and the bin width in
    seconds (the neurons' dt)."""
    from tonic.transforms import Compose, Downsample, ToFrame

    out = []
    width = []
    for is_train in (True, False):
        ev = data.dvs_digit_events(is_train, seed=seed)
        W, H, P = ev.sensor_size
        size = (int(W * downsample), int(H * downsample), P)
        to_frames = Compose([Downsample(spatial_factor=downsample), ToFrame(sensor_size=size, n_time_bins=T)])
        frames = np.stack([to_frames(e.copy()) for e in ev.data]).astype(np.float32)
        width += [(float(e["t"].max()) - float(e["t"].min())) / T * 1e-6 for e in ev.data if len(e)]
        out.append(data.ArrayDataset(torch.from_numpy(frames), torch.tensor(ev.targets), layout="sequence",
                                     n_classes=10, name=f"dvs-digits events {'train' if is_train else 'test'}"))
    return out[0], out[1], float(np.median(width))


def _loaders(train_set, test_set, batch_size: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    collate = data.time_first_collate
    return (torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=gen,
                                        collate_fn=collate),
            torch.utils.data.DataLoader(test_set, batch_size=batch_size, shuffle=False, collate_fn=collate))


# -------------------------------------------------------------------------------------------- training
def train_neuron(kind: str, loaders, *, features: int, classes: int, hidden: list[int], dt: float, epochs: int,
                 lr: float, seed: int, recurrent: bool = False, progress: bool = False,
                 checkpoint_dir=None) -> train.History:
    """Train :class:`ParaLIFNet` with neuron ``kind`` (Adamax at ``lr``, no schedule), seeded."""
    seed_everything(seed)
    model = paralif_net(kind, features, classes, hidden, dt=dt, recurrent=recurrent)
    return train.fit(model, loaders[0], loaders[1], epochs=epochs, optimizer="adamax", lr=lr, schedule="none",
                     seed=seed, progress=progress, desc=LABELS[kind] + (" rec" if recurrent else ""),
                     checkpoint_dir=checkpoint_dir)


def _summary(runs: list[train.History], T: int) -> dict[str, Any]:
    """Mean and sample std over seeds of the final test accuracy and of the spikes per neuron per sample
    (the hidden layers' firing rate x T, on the test set)."""
    acc = np.array([h.last["test_acc"] for h in runs], dtype=np.float64)
    spk = np.array([h.last["test_rate"] * T for h in runs], dtype=np.float64)
    sd = (lambda a: float(a.std(ddof=1)) if len(a) > 1 else 0.0)
    return {"acc": float(acc.mean()), "acc_std": sd(acc), "per_seed_acc": acc.tolist(),
            "spikes_per_neuron": float(spk.mean()), "spikes_per_neuron_std": sd(spk),
            "per_seed_spikes_per_neuron": spk.tolist(), "seeds": len(runs), "epochs": len(runs[0].epochs),
            "wall_s": round(sum(h.meta["wall_s"] for h in runs), 2)}


def _seeds(scale: str, seed: int) -> list[int]:
    return [seed + i for i in range(settings(scale)["seeds"])]


def _row(kind: str, m: dict[str, Any], suffix: str = "") -> dict[str, Any]:
    return {"label": LABELS[kind] + suffix, "metric": f"final test accuracy, mean of {m['seeds']} seeds",
            "measured": 100 * m["acc"], "std": 100 * m["acc_std"], "n": m["seeds"], "unit": "%",
            "per_seed": [100 * a for a in m["per_seed_acc"]], "spikes_per_neuron": m["spikes_per_neuron"],
            "spikes_per_neuron_std": m["spikes_per_neuron_std"], "paper_key": None}


def run_firing(scale: str, *, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """Every firing mode and LIF on rate-coded Yin-Yang, for each seed; metrics per neuron."""
    s = settings(scale)
    c = s["firing"]
    seeds = _seeds(scale, seed)
    loaders = {sd: _loaders(*yin_yang_sequences(c["T"], c["n_train"], c["n_test"], encoding=c["encoding"], seed=sd),
                            c["batch_size"], sd) for sd in seeds}
    metrics = {}
    with torch_threads(s.get("threads")):
        for kind in NEURONS:
            runs = [train_neuron(kind, loaders[sd], features=4, classes=3, hidden=c["hidden"], dt=c["dt"],
                                 epochs=c["epochs"], lr=c["lr"], seed=sd, progress=progress) for sd in seeds]
            metrics[kind] = _summary(runs, c["T"])
    return {"dataset": c["dataset"], "config": s, "metrics": metrics, "seeds": seeds,
            "rows": [_row(k, metrics[k]) for k in NEURONS]}


def best_modes(firing_metrics: dict[str, Any]) -> tuple[str, str]:
    """The most accurate deterministic and the most accurate stochastic mode (ties: the first in
    :data:`FIRING_MODES`).

    Defined in chapter 03 (ParaLIF), section "Reproduction: event data through tonic".
    """
    det = [m for m in FIRING_MODES if m not in STOCHASTIC_MODES]
    best = lambda modes: max(modes, key=lambda m: (firing_metrics[m]["acc"], -modes.index(m)))  # noqa: E731
    return best(det), best(list(STOCHASTIC_MODES))


def run_events(scale: str, *, seed: int = 0, progress: bool = True, modes: Optional[tuple[str, str]] = None,
               root=None, overrides: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The best deterministic and stochastic modes and LIF: simulated DVS digits at ``ci``, SHD at
    ``gpu``/``full``.

    ``modes``: (deterministic, stochastic); default: the best of the saved ``paralif-firing`` run at this
    scale (``results/``), else ("D", "TRB"), the best of the book's ``ci`` run; the record says which
    (``config["modes_from"]``).  ``root``: the data folder (default :func:`snnlib.data.data_root`);
    ``overrides`` replace entries of ``settings(scale)["events"]`` (the CPU test of the ``gpu`` path
    shrinks T, the networks and the epochs with it).

    Chapter 03 runs it through :func:`snnlib.experiments.reproduce` (section "Reproduction: event data
    through tonic").
    """
    s = settings(scale)
    c = {**s["events"], **(overrides or {})}
    seeds = _seeds(scale, seed)
    modes_from = "argument"
    if modes is None:
        modes, modes_from = _saved_best(scale)
    kinds = ["LIF", *modes]
    metrics: dict[str, Any] = {}
    rows = []
    if scale == "ci":
        # one simulation of the events (3 s); the seeds change the initial weights and the data order
        train_set, test_set, dt = event_digits(c["T"], c["downsample"], seed=seed)
        features = int(np.prod(train_set.sample_shape[1:]))
        with torch_threads(s.get("threads")):
            for kind in kinds:
                runs = [train_neuron(kind, _loaders(train_set, test_set, c["batch_size"], sd), features=features,
                                     classes=10, hidden=c["hidden"], dt=dt, epochs=c["epochs"], lr=c["lr"],
                                     seed=sd, progress=progress) for sd in seeds]
                metrics[kind] = _summary(runs, c["T"])
                rows.append(_row(kind, metrics[kind]))
        cfg = {**s, "events": c, "dt_s": dt, "modes": list(modes), "modes_from": modes_from}
        return {"dataset": c["dataset"], "config": cfg, "metrics": metrics, "seeds": seeds, "rows": rows}
    # gpu / full: SHD through tonic, the paper's two networks; ParaLIF modes only in the recurrent one
    loaders = {sd: data.loaders("shd", scale, batch_size=c["batch_size"], seed=sd, root=root, T=c["T"],
                                num_workers=c.get("num_workers")) for sd in seeds}
    for net, spec in c["networks"].items():
        for kind in kinds:
            if spec["recurrent"] and kind == "LIF":
                continue
            runs = [train_neuron(kind, loaders[sd], features=700, classes=20, hidden=spec["hidden"], dt=c["dt"],
                                 epochs=c["epochs"], lr=c["lr"], seed=sd, recurrent=spec["recurrent"],
                                 progress=progress,
                                 checkpoint_dir=runs_dir() / f"paralif-shd-{scale}" / f"{net}-{kind}-seed{sd}")
                    for sd in seeds]
            metrics[f"{net}/{kind}"] = _summary(runs, c["T"])
            row = _row(kind, metrics[f"{net}/{kind}"], f" ({net})")
            rows.append(row | ({"paper_key": f"paralif/shd/{net}"} if kind != "LIF" else {}))
    return {"dataset": "shd", "config": {**s, "events": c, "modes": list(modes), "modes_from": modes_from},
            "metrics": metrics, "seeds": seeds, "rows": rows}


def _saved_best(scale: str) -> tuple[tuple[str, str], str]:
    from ..results import load_results

    for r in load_results():
        if r.get("name") == "paralif-firing" and r.get("scale") == scale:
            return best_modes(r["metrics"]), f"results/paralif-firing-{scale}.json"
    return ("D", "TRB"), "default (the best of the book's ci run)"


def _check(m: dict[str, Any], kinds: Optional[list[str]] = None, margin: float = 0.02) -> tuple[bool, str]:
    """Holds when the best deterministic and the best stochastic mode each reach LIF's accuracy (within
    ``margin``, 2 points) -- the paper's "reach LIF's accuracy"; the spikes per neuron are reported."""
    lif_keys = [k for k in m if k.split("/")[-1] == "LIF"]
    if not lif_keys:
        return False, "no LIF run to compare with"
    lif = m[lif_keys[0]]
    det, sto = best_modes(m) if all(f in m for f in FIRING_MODES) else [k for k in m if k not in lif_keys][:2]
    parts, holds = [], True
    for k in (det, sto):
        ok = m[k]["acc"] >= lif["acc"] - margin
        holds &= ok
        parts.append(f"ParaLIF-{k.split('/')[-1]} {100 * m[k]['acc']:.1f}% ({m[k]['spikes_per_neuron']:.2f} spikes "
                     f"per neuron) {'reaches' if ok else 'does not reach'} LIF {100 * lif['acc']:.1f}% "
                     f"({lif['spikes_per_neuron']:.2f})")
    return holds, "; ".join(parts)


CLAIM_TEXT = ("ParaLIF with deterministic and with stochastic firing reaches the accuracy of the LIF neuron "
              "(checked: the best mode of each kind within 2 points of LIF; spikes per neuron reported beside)")

FIRING_CLAIM = Claim(CLAIM_TEXT + " (Yin-Yang; the paper's accuracies are unverified).", ("paralif/yinyang",),
                     _check)
EVENTS_CLAIM = Claim(CLAIM_TEXT + " (event data; SHD at gpu scale; the paper's accuracies are unverified).",
                     ("paralif/shd/ff", "paralif/shd/rec"), _check)

register(Experiment(
    name="paralif-firing", chapter="paralif", title="ParaLIF firing functions against LIF",
    run=run_firing, datasets={"ci": "yin-yang", "gpu": "yin-yang", "full": "yin-yang"}, claim=FIRING_CLAIM))

register(Experiment(
    name="paralif-events", chapter="paralif", title="ParaLIF on event data: best modes against LIF",
    run=run_events, datasets={"ci": "dvs-digits events", "gpu": "shd", "full": "shd"}, claim=EVENTS_CLAIM))
