"""Fixtures shared by the test modules."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    """Tiny tensors gain nothing from threads, and on a busy machine MKL's threaded FFT and batched
    matmul stall for a scheduler slice (~8 ms) per call; correctness tests run on one thread."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
