"""Issue 23, the library's part: energy of static images, neuron state, values, dtypes and the data files.

Each test failed before its fix (the issue's probe found each case); the comment above it names the case.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

import snnlib.data as D
import snnlib.neurons as N
from snnlib.energy import energy_report
from snnlib.neurons import apply_a, apply_b

pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------------------------------------ energy
class _Forced(nn.Module):
    """A neuron (by class, see ``neuron_types``) that fires where its input is positive."""

    def forward(self, x):
        return (x > 0).to(x.dtype)


class _StaticConvNet(nn.Module):
    """Static images [N, C, H, W], repeated T times inside, as Spikformer and SynA do."""

    def __init__(self, T: int):
        super().__init__()
        self.T = T
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.sn = _Forced()
        self.fc = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        h = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1).flatten(0, 1)
        return self.fc(self.sn(self.conv(h)).flatten(1)).view(self.T, x.shape[0], 3).mean(0)


def test_energy_of_static_images_with_as_many_images_as_steps_is_per_sample():
    # before: N = T = 4 images [4, 1, 6, 6] were read as time-first [T, N=1, ...]: 4x the per-sample energy
    # (the probe: 84,787 against 127,181 pJ with C = 3)
    torch.manual_seed(0)
    model, image = _StaticConvNet(T=4), torch.rand(1, 1, 6, 6)
    per_sample = {n: energy_report(model, image.repeat(n, 1, 1, 1), T=4, neuron_types=(_Forced,)).energy_pj
                  for n in (3, 4, 5)}
    assert per_sample[4] == pytest.approx(per_sample[3]) and per_sample[5] == pytest.approx(per_sample[3])
    given = energy_report(model, image.repeat(4, 1, 1, 1), T=4, batch_size=4, neuron_types=(_Forced,))
    assert given.energy_pj == pytest.approx(per_sample[3])


def test_energy_time_first_input_keeps_its_reading_and_an_ambiguous_shape_is_refused():
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(4, 3, bias=False), _Forced(), nn.Linear(3, 2, bias=False))
    x = torch.rand(2, 5, 4)  # time-first [T=2, N=5, F]
    a = energy_report(seq, x, T=2, neuron_types=(_Forced,))
    b = energy_report(seq, x, T=2, batch_size=5, neuron_types=(_Forced,))
    assert a.energy_pj == pytest.approx(b.energy_pj)
    # [T=2, N=3, 4, 4] into a Linear: not static images for a Conv2d; the shape alone cannot say which
    flat = nn.Sequential(nn.Flatten(2), nn.Linear(16, 3))
    with pytest.raises(ValueError, match=r"x has shape \(2, 3, 4, 4\) and T=2: .*pass batch_size="):
        energy_report(flat, torch.rand(2, 3, 4, 4), T=2)
    assert energy_report(flat, torch.rand(2, 3, 4, 4), T=2, batch_size=3).layers[0].flops == pytest.approx(3 * 16)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match=rf"batch_size={bad!r} must be a positive int"):
            energy_report(seq, x, T=2, batch_size=bad)


# --------------------------------------------------------------------------------------- state and values
def test_masked_psn_refuses_a_state_dict_of_another_order():
    # before: k=3 weights loaded into k=2 without a word; forward (mask0 of k=3) and step (k=2) disagreed
    src, dst = N.MaskedPSN(3, 4, lambda_init=1.0), N.MaskedPSN(2, 4, lambda_init=1.0)
    with pytest.raises(ValueError, match=r"band of order k=3, but this MaskedPSN has k=2; build MaskedPSN\(k=3, T=4\)"):
        dst.load_state_dict(src.state_dict())
    sd = src.state_dict()
    sd["mask0"] = torch.ones(4, 4)
    with pytest.raises(ValueError, match=r"not the band of any order k; expected the band of order k=2"):
        dst.load_state_dict(sd)
    dst.load_state_dict(N.MaskedPSN(2, 4, lambda_init=1.0).state_dict())  # the same order loads
    # after a refused load, forward and step still agree
    x = torch.randn(4, 3)
    dst.reset()
    assert torch.equal(dst(x), torch.stack([dst.step(x_t) for x_t in x]))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_lif_refuses_a_non_finite_threshold_or_reset(bad):
    # before: LIF(v_threshold=nan) was accepted and never fired (the PSU refused it)
    with pytest.raises(ValueError, match=rf"v_threshold={bad!r} must be a finite real number"):
        N.LIF(v_threshold=bad)
    with pytest.raises(ValueError, match=rf"v_reset={bad!r} must be a finite real number"):
        N.LIF(v_reset=bad)
    with pytest.raises(ValueError, match=rf"v_threshold={bad!r} must be a finite"):
        N.lif_multi_step(torch.zeros(3, 2), v_threshold=bad)


@pytest.mark.parametrize("kw, name", [({"dt": math.inf}, "dt"), ({"tau_mem": 1e-300}, "tau_mem"),
                                      ({"tau_syn": 1e-300}, "tau_syn"), ({"dt": 1e300}, "tau_mem"),
                                      ({"tau_mem": 1e300}, "tau_mem")])
def test_paralif_checks_its_time_constants_at_construction(kw, name):
    # before: built fine, then forward failed naming beta or alpha, which the user never passed
    with pytest.raises(ValueError, match=rf"{name}=") as err:
        N.ParaLIF(**kw)
    assert "beta" not in str(err.value) and "alpha" not in str(err.value)
    N.ParaLIF(tau_mem=20e-3, tau_syn=5e-3, dt=1e-3)


@pytest.mark.parametrize("make", [lambda: N.SlidingPSN(3), lambda: N.MaskedPSN(2, 6, lambda_init=1.0)],
                         ids=["SlidingPSN", "MaskedPSN"])
def test_step_with_another_batch_shape_says_to_reset(make):
    # before: SlidingPSN.step raised torch.stack's "stack expects each tensor to be equal size"
    m = make()
    m.step(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"x has shape \(4, 3\).*queued inputs have shape \(2, 3\).*call reset\(\)"):
        m.step(torch.randn(4, 3))
    m.reset()
    assert m.step(torch.randn(4, 3)).shape == (4, 3)


# -------------------------------------------------------------------- causality for non-finite input
def _nan_at(T: int = 16, t: int = 10) -> torch.Tensor:
    x = torch.randn(T, 2, 3, generator=torch.Generator().manual_seed(0))
    x[t, 0, 1] = math.nan
    return x


@pytest.mark.parametrize("method", ["dense", "scan"])
def test_apply_a_and_b_are_causal_for_a_nan(method):
    # before: the dense product spread a NaN at t = 10 to steps 0-9 (0 * NaN = NaN)
    x = _nan_at()
    for out in (apply_a(x, 2.0, method), apply_b(x, 2.0, method)):
        assert torch.isfinite(out[:10]).all() and torch.isnan(out[11:, 0, 1]).all()
    finite = x.nan_to_num(0.0)
    torch.testing.assert_close(apply_a(finite, 2.0, method), apply_a(finite, 2.0, "scan"))


@pytest.mark.parametrize("method", ["dense", "scan"])
@pytest.mark.parametrize("cls", ["PSU", "IPSU", "RPSU"])
def test_the_psu_family_is_causal_for_a_nan(cls, method):
    # before: PSU dense, and IPSU / RPSU by their learned product with either method, were not causal
    torch.manual_seed(0)
    m = N.PSU(method=method) if cls == "PSU" else getattr(N, cls)(16, method=method)
    x = _nan_at()
    v = m.charge(x)
    assert torch.isfinite(v[:10]).all(), f"{cls} {method}: a NaN at t=10 reached earlier steps"
    ref = m.charge(x[:10])[:10] if cls == "PSU" else None
    if ref is not None:
        torch.testing.assert_close(v[:10], ref)


# ----------------------------------------------------------------------------------------------- dtypes
NEURONS = {
    "LIF": lambda T, F: N.LIF(),
    "ResetFreeLIF": lambda T, F: N.ResetFreeLIF(tau=2.0),
    "PSN": lambda T, F: N.PSN(T),
    "MaskedPSN": lambda T, F: N.MaskedPSN(2, T, lambda_init=0.5),
    "SlidingPSN": lambda T, F: N.SlidingPSN(3),
    "PSU scan": lambda T, F: N.PSU(),
    "PSU dense": lambda T, F: N.PSU(method="dense"),
    "IPSU": lambda T, F: N.IPSU(T),
    "RPSU dense": lambda T, F: N.RPSU(T, method="dense"),
    "ParaLIF": lambda T, F: N.ParaLIF(),
    "ParaLIF recurrent": lambda T, F: N.ParaLIF(recurrent=True, features=F),
    "SynapticLIF": lambda T, F: N.SynapticLIF(),
}


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64], ids=str)
@pytest.mark.parametrize("name", sorted(NEURONS))
def test_every_neuron_returns_its_inputs_dtype_without_autocast(name, dtype):
    # before: PSN, MaskedPSN, IPSU, RPSU and the recurrent ParaLIF raised torch's "mat1 and mat2 must have
    # the same dtype"; the PSU's scan returned float32 for half input where dense returned half
    torch.manual_seed(0)
    T, F = 12, 4
    m = NEURONS[name](T, F)
    x = (torch.randn(T, 2, F) * 3).to(dtype).requires_grad_(True)
    s = m(x)
    assert s.dtype == dtype and s.shape == x.shape, name
    s.float().sum().backward()
    assert x.grad is not None and x.grad.dtype == dtype
    # the same numbers as float32 input, up to rounding of the input (spikes of near-threshold values aside)
    if dtype != torch.float64:
        ref = NEURONS[name](T, F)
        ref.load_state_dict(m.state_dict())
        agree = (ref(x.detach().float()) == s.detach().float()).float().mean()
        assert agree > 0.9, f"{name}: {float(agree):.2f} of the spikes agree with float32"


@pytest.mark.parametrize("name", sorted(NEURONS))
def test_under_autocast_the_output_keeps_the_inputs_dtype(name):
    torch.manual_seed(0)
    m = NEURONS[name](12, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert m(torch.randn(12, 2, 4)).dtype == torch.float32, name
        assert m(torch.randn(12, 2, 4).bfloat16()).dtype == torch.bfloat16, name


def test_psu_methods_agree_on_the_dtype_and_the_charge():
    x = torch.randn(20, 3, 5).half()
    outs = {meth: N.PSU(method=meth).charge(x) for meth in ("scan", "dense")}
    assert outs["scan"].dtype == outs["dense"].dtype == torch.float16
    torch.testing.assert_close(outs["scan"].float(), outs["dense"].float(), rtol=2e-3, atol=2e-3)
    for f in (apply_a, apply_b):
        assert f(x, 2.0, "scan").dtype == f(x, 2.0, "dense").dtype == torch.float16


# ------------------------------------------------------------------------------------------ the loaders
@pytest.mark.parametrize("arg, bad", [("train_size", -5), ("train_size", 0), ("train_size", 2.5),
                                      ("train_size", True), ("batch_size", 2.5), ("batch_size", "4"),
                                      ("batch_size", 0), ("num_workers", -1)])
def test_loaders_refuse_bad_sizes_naming_argument_value_and_expectation(arg, bad):
    # before: train_size=-5 silently dropped five samples, batch_size=2.5 became 2
    with pytest.raises(ValueError, match=rf"{arg}={bad!r}; expected an? (positive )?int"):
        D.loaders("digits-rows", "ci", **{arg: bad})


def test_time_steps_of_zero_are_refused_before_tonic():
    # before: T = 0 reached tonic's ToFrame: UnboundLocalError 'event_slices'
    with pytest.raises(ValueError, match=r"T=0 must be a positive int \(the number of time bins\)"):
        D.loaders("dvs-digits", "ci", T=0)
    with pytest.raises(ValueError, match=r"T=0 must be a positive int"):
        D.events_to_frames([np.zeros(0, dtype=D.EVENT_DTYPE)], (4, 4, 2), 0)


# ------------------------------------------------------------------------------------- damaged data files
@pytest.fixture
def root(tmp_path, monkeypatch):
    r = tmp_path / "data"
    monkeypatch.setenv(D.DATA_ENV_VAR, str(r))
    return r


def test_a_corrupt_shd_file_is_named_with_how_to_get_it(root):
    pytest.importorskip("tonic")
    from test_data_real import write_shd

    write_shd(root, "train")
    write_shd(root, "test", n=3, seed=1)
    (root / "SHD" / "shd_train.h5").write_bytes(b"not an hdf5 file")
    with pytest.raises(D.CorruptDataError, match=r"(?s)SHD: .*shd_train\.h5 is not a readable HDF5.*zenkelab.*"
                                                 r"download=True") as err:
        D.loaders("shd", "ci")
    assert err.value.path == root / "SHD" / "shd_train.h5"


def test_a_corrupt_cifar_batch_is_named(root):
    pytest.importorskip("torchvision")
    from test_data_real import write_cifar

    write_cifar(root, 10)
    (root / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x04")
    with pytest.raises(D.CorruptDataError, match=r"(?s)CIFAR-10: .*data_batch_3 could not be read \(EOFError.*"
                                                 r"cifar-10-python\.tar\.gz.*download=True"):
        D.loaders("cifar10", "ci")


def test_damaged_cifar10_dvs_recordings_and_splits_are_named(root):
    pytest.importorskip("tonic")
    from test_data_real import write_cifar10_dvs

    write_cifar10_dvs(root, per_class=10)
    bad = root / "CIFAR10DVS" / "airplane" / "cifar10_airplane_3.aedat"
    bad.write_bytes(b"12345")  # before: numpy's "buffer size must be a multiple of element size"
    train, _ = D.datasets("cifar10-dvs", T=3)
    with pytest.raises(D.CorruptDataError, match=r"(?s)CIFAR10-DVS: .*cifar10_airplane_3\.aedat is truncated: 5 bytes"
                                                 r".*figshare"):
        train[3]
    bad.write_bytes(b"#!AER-DAT2.0\r\n")  # before: an all-zero sample
    with pytest.raises(D.CorruptDataError, match=r"cifar10_airplane_3\.aedat holds no events"):
        train[3]
    assert float(train[4][0].sum()) > 0  # the other recordings still read

    one = root.parent / "one"
    write_cifar10_dvs(one, per_class=1)  # before: an empty test set
    with pytest.raises(D.CorruptDataError, match=r"(?s)CIFAR10DVS/airplane holds 1 recording\(s\), which leaves "
                                                 r"the test split with none"):
        D.datasets("cifar10-dvs", root=one, T=3)
