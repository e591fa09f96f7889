"""snnlib.config (the scale switch) and snnlib.utils (seeds, device, report)."""
from __future__ import annotations

import logging
import random

import numpy as np
import pytest
import torch

from snnlib import config, utils


def test_scale_reads_the_environment(monkeypatch):
    for name in config.SCALES:
        monkeypatch.setenv("SNNLIB_SCALE", name)
        assert config.scale() == name
    monkeypatch.setenv("SNNLIB_SCALE", " GPU ")
    assert config.scale() == "gpu"


def test_scale_default_follows_cuda(monkeypatch):
    monkeypatch.delenv("SNNLIB_SCALE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.scale() == "gpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert config.scale() == "ci"


def test_unknown_scale_lists_the_valid_names(monkeypatch):
    monkeypatch.setenv("SNNLIB_SCALE", "huge")
    with pytest.raises(ValueError) as e:
        config.scale()
    msg = str(e.value)
    assert "'huge'" in msg and all(s in msg for s in config.SCALES)


def test_choose_and_settings(monkeypatch):
    monkeypatch.setenv("SNNLIB_SCALE", "ci")
    assert config.choose(ci=1, gpu=2, full=3) == 1
    assert config.choose(ci=1, gpu=2, full=3, scale_name="full") == 3
    cfg = config.settings("foundations")
    assert cfg.scale == "ci" and cfg.timing_T == config.CHAPTERS["foundations"]["ci"]["timing_T"]
    with pytest.raises(AttributeError, match="no setting 'epochs'"):
        cfg.epochs
    with pytest.raises(ValueError, match="chapter='nope'"):
        config.settings("nope")
    with pytest.raises(ValueError, match="scale_name='xl'"):
        config.choose(ci=1, gpu=2, full=3, scale_name="xl")


def test_every_chapter_has_every_scale_with_the_same_keys():
    for chapter, by_scale in config.CHAPTERS.items():
        assert set(by_scale) == set(config.SCALES), chapter
        keys = {s: set(v) for s, v in by_scale.items()}
        assert keys["ci"] == keys["gpu"] == keys["full"], chapter


def test_seed_everything_repeats_numbers():
    def draw():
        return random.random(), float(np.random.rand()), float(torch.rand(()))

    utils.seed_everything(7)
    a = draw()
    utils.seed_everything(7)
    assert draw() == a
    utils.seed_everything(8)
    assert draw() != a
    assert torch.are_deterministic_algorithms_enabled()
    with pytest.raises(TypeError, match="seed="):
        utils.seed_everything("7")


def test_device_choice(monkeypatch):
    assert utils.device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert utils.device() == torch.device("cpu")
    with pytest.raises(ValueError, match="prefer='cuda'"):
        utils.device("cuda")


def test_env_report_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("SNNLIB_SCALE", "ci")
    line = utils.env_report(3)
    assert capsys.readouterr().out.strip() == line
    assert "\n" not in line
    for part in ("snnlib", "torch", "spikingjelly", "device", "scale ci", "seed 3"):
        assert part in line


def test_triton_log_line_is_silenced():
    assert logging.getLogger("torch._library.triton").getEffectiveLevel() >= logging.ERROR


def test_progress_is_silent_in_static_builds(monkeypatch):
    monkeypatch.setenv("SNNLIB_STATIC", "1")
    assert utils.is_static_build()
    bar = utils.progress(range(3))
    assert bar.disable and list(bar) == [0, 1, 2]
    monkeypatch.setenv("SNNLIB_STATIC", "0")
    assert not utils.is_static_build()
