"""The papers' headline numbers, each with its dataset, setting, source and whether it is verified.

One entry per number, taken from the book's digest of the seven papers (``shared/papers.md``).  The
``status`` says how far it can be trusted:

* ``verified``: read in the paper's own code, its training logs or its abstract (``source`` says which);
* ``secondary``: a third party restates it; printed with the mark "(secondary)";
* ``unverified``: not checked; printed with the mark "(unverified)", never as the paper's number.

Chapters and the scoreboard look numbers up here by key (:func:`get`), so that a number is written down
once.  Accuracies are in percent.

Defined in chapter 00 (Foundations), "Reproductions".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

__all__ = ["PAPERS", "PaperNumber", "REGISTRY", "STATUSES", "get", "by_paper", "format_value"]

STATUSES = ("verified", "secondary", "unverified")

#: paper id -> (short citation, where it comes from)
PAPERS: dict[str, dict[str, str]] = {
    "psn": {"cite": "Fang et al., Parallel Spiking Neurons, NeurIPS 2023 (arXiv 2304.12760)",
            "code": "fangwei123456/Parallel-Spiking-Neuron", "chapter": "01"},
    "psu": {"cite": "Li et al., PSU / IPSU / RPSU, IJCNN 2024 (arXiv 2402.00449)", "code": "Brain-Cog-Lab/PSU",
            "chapter": "02"},
    "paralif": {"cite": "Yarga & Wood, ParaLIF, Neuromorphic Computing and Engineering 2025 "
                        "(doi 10.1088/2634-4386/adb7fe)",
                "code": "NECOTIS/Parallelizable-Leaky-Integrate-and-Fire-Neuron", "chapter": "03"},
    "spikformer": {"cite": "Zhou et al., Spikformer, ICLR 2023 (arXiv 2209.15425)", "code": "ZK-Zhou/spikformer",
                   "chapter": "04"},
    "spikformer_v2": {"cite": "Zhou et al., Spikformer V2 (arXiv 2401.02020)", "code": "none released",
                      "chapter": "05"},
    "ms_resnet": {"cite": "Hu et al., MS-ResNet, IEEE TNNLS 2024 (arXiv 2112.08954)", "code": "Ariande1/MS-ResNet",
                  "chapter": "06"},
    "syna": {"cite": "Shan et al., SynA-ResNet / ORRC (arXiv 2311.06570)",
             "code": "Ym-Shan/ORRC-SynA-natural-pruning", "chapter": "07"},
}


@dataclass(frozen=True)
class PaperNumber:
    """One number of one paper."""

    key: str
    paper: str  # a key of PAPERS
    what: str  # what was measured, in words ("PSN", "masked PSN, k = 1", ...)
    value: Optional[float]  # None when the number is a range or a bound, given in value_text
    unit: str  # "%", "x", "layers", "spikes per neuron"
    metric: str
    dataset: str
    setting: str
    source: str
    status: str
    value_text: str = ""  # how to print it when it is not one number ("0.36-1.04", "up to 200")
    note: str = ""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"{self.key}: status={self.status!r}; expected one of {', '.join(STATUSES)}")
        if self.paper not in PAPERS:
            raise ValueError(f"{self.key}: paper={self.paper!r}; expected one of {', '.join(PAPERS)}")
        if self.value is None and not self.value_text:
            raise ValueError(f"{self.key}: give a value or a value_text")

    def to_dict(self) -> dict:
        return asdict(self)


def format_value(n: PaperNumber, *, mark: bool = True) -> str:
    """The number as printed: ``88.45%``, ``up to 200x``; marked ``(secondary)`` / ``(unverified)``."""
    text = n.value_text or (f"{n.value:g}" if n.value is not None else "")
    text = f"{text}%" if n.unit == "%" else (f"{text}x" if n.unit == "x" else f"{text} {n.unit}")
    if mark and n.status != "verified":
        text += f" ({n.status})"
    return text


_LOGS = "official training logs"
_SCIFAR = "T = 32 (column by column), 6 x (Conv1d-BN-neuron) 128 channels, 256 epochs, batch 128, label smoothing 0.1"

_entries: list[PaperNumber] = []


def _add(key, paper, what, value, *args, **kw) -> None:
    if isinstance(value, str):  # keep the digits as the paper prints them ("81.50")
        kw.setdefault("value_text", value)
        value = float(value)
    _entries.append(PaperNumber(key, paper, what, value, *args, **kw))


# --- PSN: sequential CIFAR, the neuron comparison (max test accuracy) --------------------------------
for _ds, _vals in (("scifar10", (88.45, 85.81, 86.70, 83.66, 83.26, 83.49, 81.50, 79.50)),
                   ("scifar100", (62.21, 60.69, 62.11, 58.92, 57.37, 57.55, 55.45, 53.33))):
    _name = "Sequential CIFAR-10" if _ds == "scifar10" else "Sequential CIFAR-100"
    for _neuron, _what, _v in zip(
            ("psn", "masked_psn_k32", "sliding_psn_k32", "glif", "klif", "plif", "lif", "lif_no_reset"),
            ("PSN", "masked PSN, k = 32", "sliding PSN, k = 32", "GLIF", "KLIF", "PLIF", "LIF", "LIF without reset"),
            _vals):
        _add(f"psn/{_ds}/{_neuron}", "psn", _what, f"{_v:.2f}", "%", "max test accuracy", _name, _SCIFAR, _LOGS, "verified")

# --- PSN: the order sweep on sequential CIFAR-100 ----------------------------------------------------
for _kind, _what, _vals in (("masked_psn", "masked PSN", (49.30, 57.46, 59.03, 60.36)),
                            ("sliding_psn", "sliding PSN", (49.70, 55.91, 59.13, 59.96))):
    for _k, _v in enumerate(_vals, start=1):
        _add(f"psn/scifar100/order/{_kind}/k{_k}", "psn", f"{_what}, k = {_k}", f"{_v:.2f}", "%", "max test accuracy",
             "Sequential CIFAR-100", _SCIFAR, _LOGS, "verified")
_add("psn/scifar100/order/masked_psn/k5-32", "psn", "masked PSN, k = 5 ... 32", None, "%", "max test accuracy",
     "Sequential CIFAR-100", _SCIFAR, _LOGS, "verified", value_text="59.5-61.3")
_add("psn/scifar100/order/sliding_psn/k5-32", "psn", "sliding PSN, k = 5 ... 32", None, "%", "max test accuracy",
     "Sequential CIFAR-100", _SCIFAR, _LOGS, "verified", value_text="about 60-62.6")

# --- PSN: static and neuromorphic images, ImageNet ----------------------------------------------------
_add("psn/cifar10/psn_T4", "psn", "PSN", 95.32, "%", "max test accuracy", "CIFAR-10", "T = 4", _LOGS, "verified")
for _T, _v in ((4, 82.3), (8, 85.3), (10, 85.9)):
    _add(f"psn/cifar10dvs/psn_T{_T}", "psn", f"PSN, T = {_T}", _v, "%", "max test accuracy", "CIFAR10-DVS",
         f"T = {_T}", _LOGS, "verified")
_add("psn/imagenet/sew_resnet18", "psn", "SEW-ResNet18 + PSN", 67.63, "%", "max test accuracy", "ImageNet",
     "T = 4", _LOGS, "verified")
_add("psn/imagenet/sew_resnet34", "psn", "SEW-ResNet34 + PSN", 70.54, "%", "max test accuracy", "ImageNet",
     "T = 4", _LOGS, "verified")

# --- PSU ----------------------------------------------------------------------------------------------
_add("psu/shd/rpsu", "psu", "RPSU", 92.49, "%", "test accuracy", "SHD", "T = 15, threshold 0.3", "secondary",
     "secondary", note="the abstract gives no number")

# --- ParaLIF -----------------------------------------------------------------------------------------
_add("paralif/speedup", "paralif", "ParaLIF against the serial LIF", None, "x", "training speed-up",
     "spiking datasets of the paper", "", "abstract", "verified", value_text="up to 200",
     note="per-dataset accuracies are unverified")

# --- Spikformer ----------------------------------------------------------------------------------------
_add("spikformer/imagenet", "spikformer", "Spikformer, 66.3M parameters", 74.81, "%", "top-1 accuracy", "ImageNet",
     "T = 4", "abstract", "verified")
_add("spikformer/cifar10", "spikformer", "Spikformer-4-384", 95.19, "%", "test accuracy", "CIFAR-10", "T = 4",
     "secondary", "secondary")
_add("spikformer/cifar100", "spikformer", "Spikformer-4-384", 77.86, "%", "test accuracy", "CIFAR-100", "T = 4",
     "secondary", "secondary")
_add("spikformer/cifar10dvs", "spikformer", "Spikformer", 80.9, "%", "test accuracy", "CIFAR10-DVS", "T = 16",
     "secondary", "secondary")
_add("spikformer/dvs128", "spikformer", "Spikformer", 98.3, "%", "test accuracy", "DVS128 Gesture", "T = 16",
     "secondary", "secondary")
_add("spikformer/cifar100/ssa", "spikformer", "spiking self-attention (SSA)", 77.86, "%", "test accuracy",
     "CIFAR-100", "ablation, SSA against softmax attention", "secondary", "secondary")
_add("spikformer/cifar100/vsa", "spikformer", "softmax attention (VSA)", 77.92, "%", "test accuracy", "CIFAR-100",
     "ablation, SSA against softmax attention", "secondary", "secondary")

# --- Spikformer V2 -------------------------------------------------------------------------------------
_add("spikformer_v2/imagenet/8layer", "spikformer_v2", "8-layer Spikformer V2", 80.38, "%", "top-1 accuracy",
     "ImageNet", "T = 4", "abstract", "verified")
_add("spikformer_v2/imagenet/172m_ssl", "spikformer_v2", "16-layer Spikformer V2 (172M) after self-supervised "
     "pre-training", "81.10", "%", "top-1 accuracy", "ImageNet", "T = 1", "abstract", "verified")
_add("spikformer_v2/mask_ratio", "spikformer_v2", "mask ratio of the MAE-style pre-training", 75, "%",
     "setting", "ImageNet", "pre-training", "secondary", "secondary")

# --- MS-ResNet -----------------------------------------------------------------------------------------
_add("ms_resnet/cifar10/depth", "ms_resnet", "deepest MS-ResNet trained without degradation", 482, "layers",
     "depth", "CIFAR-10", "", "abstract", "verified")
_add("ms_resnet/imagenet/depth", "ms_resnet", "deepest MS-ResNet trained without degradation", 104, "layers",
     "depth", "ImageNet", "", "abstract", "verified")
_add("ms_resnet/imagenet/ms_resnet104", "ms_resnet", "MS-ResNet104", 76.02, "%", "top-1 accuracy", "ImageNet", "",
     "abstract", "verified")
_add("ms_resnet/spikes_per_neuron", "ms_resnet", "MS-ResNet", 1, "spikes per neuron", "spikes per neuron",
     "ImageNet", "", "abstract", "verified", value_text="about 1")
_add("ms_resnet/cifar10/ms_resnet482", "ms_resnet", "MS-ResNet482", 91.9, "%", "test accuracy", "CIFAR-10", "",
     "reading notes, not checked", "unverified")
_add("ms_resnet/flip_probability", "ms_resnet", "probability that a residual path changes a neuron's firing "
     "state", 16, "%", "analysis", "-", "F ~ N(0, sigma^2), sigma = V_th = 0.5", "reading notes, not checked",
     "unverified", value_text="about 16")

# --- SynA-ResNet / ORRC ------------------------------------------------------------------------------
_add("syna/spikes_per_neuron", "syna", "SynA-ResNet", 0.8, "spikes per neuron", "spikes per neuron", "-", "",
     "abstract", "verified", value_text="as little as 0.8")
_add("syna/energy_reduction", "syna", "SynA-ResNet against its ANN", 28, "x", "energy reduction", "-", "",
     "abstract", "verified", value_text="up to 28")
_add("syna/spikes_per_neuron/range", "syna", "SynA-ResNet, per dataset", None, "spikes per neuron",
     "spikes per neuron", "the paper's datasets", "", "official evaluation scripts", "verified",
     value_text="0.36-1.04")

REGISTRY: dict[str, PaperNumber] = {}
for _n in _entries:
    if _n.key in REGISTRY:
        raise ValueError(f"duplicate registry key {_n.key!r}")
    REGISTRY[_n.key] = _n


def get(key: str) -> PaperNumber:
    """The registry entry ``key``; an unknown key raises, naming keys that start alike."""
    if key not in REGISTRY:
        prefix = key.split("/")[0]
        near = [k for k in REGISTRY if k.startswith(prefix)] or list(REGISTRY)
        raise KeyError(f"no paper number {key!r}; known keys: {', '.join(near)}")
    return REGISTRY[key]


def by_paper(paper: str) -> list[PaperNumber]:
    """All numbers of one paper, in registry order."""
    if paper not in PAPERS:
        raise ValueError(f"paper={paper!r}; expected one of {', '.join(PAPERS)}")
    return [n for n in REGISTRY.values() if n.paper == paper]
