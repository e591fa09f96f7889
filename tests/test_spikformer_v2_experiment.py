"""The spikformer-v2 experiment (chapter 05): label subsets, the equal-size SPS width, the linear probe (its
BN statistics, that it reads the encoder it is given, its penalty choice), a tiny ci run through reproduce,
and the gpu path end to end on synthetic CIFAR-10 under autocast."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from snnlib import experiments, registry
from snnlib.data import digits_images
from snnlib.experiments import spikformer_v2 as v2

SETTINGS = v2.settings
pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny(scale: str) -> dict:
    s = dict(SETTINGS(scale))
    s.update(depth=1, dim=16, heads=2, decoder_dim=16, decoder_heads=2, pretrain_epochs=1, finetune_epochs=2,
             seeds=2 if scale == "ci" else 1, pretrain_batch_size=64, batch_size=32)
    if scale == "ci":
        s["label_fraction"] = 0.05
    return s


def test_label_subset_is_stratified_and_seeded():
    train, _ = digits_images(16)
    a = v2.label_subset(train, 0.1, 0)
    b = v2.label_subset(train, 0.1, 0)
    c = v2.label_subset(train, 0.1, 1)
    assert a.indices == b.indices and a.indices != c.indices
    y = train.y[a.indices]
    counts = torch.bincount(train.y, minlength=10)
    assert torch.equal(torch.bincount(y, minlength=10), torch.ceil(0.1 * counts).long())
    with pytest.raises(ValueError, match="fraction=0"):
        v2.label_subset(train, 0.0, 0)


def test_matched_sps_dim_is_the_closest_width():
    s = v2.settings("ci")
    dim, n_sps, n_scs = v2.matched_sps_dim(s, 1, 10)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n_scs == count(v2.build_encoder(s, 1, 10))
    assert n_sps == count(v2.build_encoder(s, 1, 10, stem="sps", dim=dim))
    for other in (dim - 8, dim + 8):
        assert abs(count(v2.build_encoder(s, 1, 10, stem="sps", dim=other)) - n_scs) >= abs(n_sps - n_scs)
    assert abs(n_sps - n_scs) / n_scs < 0.15


def test_epochs_to():
    assert v2.epochs_to([0.1, 0.5, 0.7], 0.5) == 2 and v2.epochs_to([0.1], 0.5) is None


def test_ci_run_through_reproduce(monkeypatch, tmp_path):
    monkeypatch.setattr(v2, "settings", lambda scale: {**_tiny(scale), "finetune_seeds": 1})
    rec = experiments.reproduce("spikformer-v2", "ci", progress=False, out_dir=tmp_path)
    m = rec["metrics"]
    assert rec["seeds"] == [0, 1] and "sps" not in m
    for probe in v2.PROBES:                                   # every seed probes
        assert len(m[probe]["per_seed_test_acc"]) == 2 and len(m[probe]["penalties"]) == 2
    for run in ("pretrained", "scratch"):                     # fine-tuning on the first finetune_seeds
        assert len(m[run]["per_seed_test_acc"]) == 1 and m[run]["epochs"] == 2
        assert 1 <= m[run]["selected_epoch"][0] <= 2
    assert len(m["pretrain_loss"]) == 1
    from snnlib import records

    rows = {r["label"]: r for r in rec["rows"]}
    assert [c["a"] for c in rec["claims"]] == [v2.LABELS["probe_pretrained"]]
    assert rec["claims"][0]["b"] == v2.LABELS["probe_random"]
    for c in rec["claims"]:
        assert c["verdict"] == records.rejudge(c, rows) and len(c["diffs"]) == 2
    assert all(r["chance"] == 10.0 and r["selected_on"].startswith("validation") for r in rec["rows"])
    assert rows[v2.LABELS["pretrained"]]["seeds"] == [0] and rows[v2.LABELS["probe_random"]]["seeds"] == [0, 1]
    assert (tmp_path / "spikformer-v2-ci.json").is_file()
    assert set(v2.LAST_NETWORKS) == {"mae", "pretrained", "scratch"}       # the chapter's demos
    assert v2.LAST_NETWORKS["pretrained"].T == 4 and v2.LAST_NETWORKS["mae"].pretrain_T == 1


def _probe_setup():
    s = {**v2.settings("ci"), "dim": 16, "heads": 2}
    train, test = digits_images(16)
    loader = lambda ds: torch.utils.data.DataLoader(torch.utils.data.Subset(ds, range(96)), batch_size=48)  # noqa: E731
    return s, loader(train), loader(test)


def test_random_encoder_is_silent_until_its_bn_statistics_are_computed():
    """The bug the probe had: a never-run encoder read in evaluation mode has BN's default statistics, its
    stem does not fire, every feature is 0, and the probe is a constant."""
    s, tr, _ = _probe_setup()
    torch.manual_seed(0)
    enc = v2.build_encoder(s, 1, 10)
    silent, _ = v2.encoder_features(enc, tr, 4)
    assert torch.count_nonzero(silent) == 0
    v2.recalibrate_bn(enc, tr, 4)
    f, y = v2.encoder_features(enc, tr, 4)
    assert f.shape == (96, 16) and y.shape == (96,)
    assert float(f.std(0).max()) > 0, "after recalibration the features differ between images"
    assert not enc.training


def test_probe_features_follow_the_encoder_weights_and_leave_the_encoder_alone():
    s, tr, te = _probe_setup()
    torch.manual_seed(0)
    a = v2.build_encoder(s, 1, 10)
    before = {k: v.clone() for k, v in a.state_dict().items()}
    out_a = v2.linear_probe(a, tr, te, te, 4, 10)
    assert all(torch.equal(v, a.state_dict()[k]) for k, v in before.items()), "the probe changed the encoder"
    b = v2.build_encoder(s, 1, 10)
    b.load_state_dict(before)
    with torch.no_grad():
        b.stem.stages[0].down.conv.weight.mul_(-1.0)          # other weights: other features
    fa, fb = (copy_and_features(e, tr) for e in (a, b))
    assert not torch.equal(fa, fb)
    assert set(out_a) == {"val_acc", "test_acc", "penalty"} and 0.0 <= out_a["test_acc"] <= 1.0


def copy_and_features(enc, loader):
    import copy

    e = copy.deepcopy(enc)
    v2.recalibrate_bn(e, loader, 4)
    return v2.encoder_features(e, loader, 4)[0]


def test_pretraining_changes_the_encoder_that_the_probe_reads():
    s, tr, _ = _probe_setup()
    torch.manual_seed(0)
    enc = v2.build_encoder(s, 1, 10)
    init = {k: v.clone() for k, v in enc.state_dict().items()}
    mae = v2.build_mae(enc, s)
    v2.pretrain(mae, tr, epochs=1, lr=5e-3, weight_decay=0.05, seed=0)
    changed = [k for k, v in mae.encoder.state_dict().items() if not torch.equal(v, init[k])]
    assert mae.encoder is enc
    assert all(k in changed for k, p in enc.named_parameters() if not k.startswith("head."))
    fresh = v2.build_encoder(s, 1, 10)
    fresh.load_state_dict(init)
    assert not torch.equal(copy_and_features(enc, tr), copy_and_features(fresh, tr))


def test_ridge_probe_chooses_the_penalty_on_validation():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(60) % 3
    x = torch.nn.functional.one_hot(y, 3).float() * 3 + 0.1 * torch.randn(60, 3, generator=g)
    noise = torch.randn(60, 20, generator=g)
    out = v2.ridge_probe((torch.cat([x, noise], 1)[:40], y[:40]), (torch.cat([x, noise], 1)[40:50], y[40:50]),
                         (torch.cat([x, noise], 1)[50:], y[50:]), 3)
    assert out["val_acc"] == 1.0 and out["test_acc"] == 1.0 and out["penalty"] in v2.RIDGE_PENALTIES
    flipped = v2.ridge_probe((x[:40], y[:40]), (x[40:50], (y[40:50] + 1) % 3), (x[50:], y[50:]), 3,
                             penalties=(1e-3, 1e6))
    assert flipped["penalty"] == 1e6, "a penalty that fits the training labels loses on these validation labels"


def test_registry_marks_the_imagenet_figures_not_comparable():
    for key, value in (("spikformer_v2/imagenet/8layer", 80.38), ("spikformer_v2/imagenet/172m_ssl", 81.10)):
        n = registry.get(key)
        assert n.value == value and n.status == "verified" and "not comparable" in n.note


@pytest.mark.filterwarnings("ignore:scale 'gpu' is meant for CUDA")
def test_gpu_path_end_to_end_on_synthetic_cifar_under_autocast(monkeypatch, tmp_path):
    pytest.importorskip("torchvision")
    sys.path.insert(0, str(Path(__file__).parent))
    from test_data_real import write_cifar

    write_cifar(tmp_path / "data", 10, per_batch=8)
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(v2, "settings", _tiny)
    assert _tiny("gpu")["dataset"] == "cifar10" and _tiny("gpu")["budget"] == "time"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rec = experiments.reproduce("spikformer-v2", "gpu", progress=False, out_dir=tmp_path)
    assert rec["dataset"] == "cifar10" and rec["comparison"] == "same dataset, shorter training"
    assert rec["device_matches_scale"] is False
    m = rec["metrics"]
    assert "sps" not in m and m["unlabelled"] + m["validation"] == 40 and m["labelled"] >= 10
    assert m["scratch"]["epochs"] >= 1 and len(m["probe_pretrained"]["per_seed_test_acc"]) == 1
    runs = tmp_path / "runs" / "spikformer-v2-cifar10-gpu"
    assert (runs / "pretrain-seed0.pt").is_file() and (runs / "budget-seed0.json").is_file()
    assert len(list(runs.glob("*/last.pt"))) == 2
    # a second run resumes: no pre-training, the same budget, the same numbers
    again = experiments.reproduce("spikformer-v2", "gpu", progress=False, out_dir=tmp_path)
    for run in ("pretrained", "scratch"):
        assert again["metrics"][run]["per_seed_test_acc"] == m[run]["per_seed_test_acc"]


def test_ci_runs_on_one_thread_and_restores_the_count(monkeypatch):
    seen = []

    def fake_seed(scale, s, seed, progress, finetune=True):
        seen.append(torch.get_num_threads())
        raise RuntimeError("stop")

    monkeypatch.setattr(v2, "_one_seed", fake_seed)
    torch.set_num_threads(2)
    with pytest.raises(RuntimeError, match="stop"):
        v2.run_v2("ci")
    assert seen == [1] and torch.get_num_threads() == 2


def test_linear_reconstruction_error_reads_how_much_of_the_input_a_representation_keeps():
    gen = torch.Generator().manual_seed(0)
    x_train, x_test = torch.rand(300, 1, 4, 4, generator=gen), torch.rand(100, 1, 4, 4, generator=gen)
    err = lambda f_tr, f_te: v2.linear_reconstruction_error(f_tr, x_train, f_te, x_test, n_val=50)  # noqa: E731
    # the pixels themselves keep everything; features independent of the pixels keep nothing (about 1)
    assert err(x_train.flatten(1), x_test.flatten(1)) < 0.01
    noise = lambda n: torch.randn(n, 8, generator=gen)  # noqa: E731
    assert 0.9 < err(noise(300), noise(100)) < 1.2
    with pytest.raises(ValueError, match="n_val=300"):
        v2.linear_reconstruction_error(x_train.flatten(1), x_train, x_test.flatten(1), x_test, n_val=300)


def test_stem_features_average_the_tokens_over_time_in_either_bn_mode():
    from snnlib.models.scs import SCS

    torch.manual_seed(0)
    stem = SCS(1, 16, 4)
    x = torch.rand(3, 1, 16, 16)
    f = v2.stem_features(stem, x, T=2)
    assert f.shape == (3, 16 * 16) and stem.training
    v2.stem_features(stem, x, T=2, batch_stats=False)
    assert not stem.training
