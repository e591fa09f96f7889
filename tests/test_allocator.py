"""snnlib.utils.steady_allocator: it changes glibc's allocator, the opt-out leaves it alone, it is
idempotent, and the chapters' and fit()'s entry points call it.

glibc's state is read back with ``mallinfo2`` in a fresh interpreter per case (mallopt cannot be undone in
a process): a 64 MiB ``malloc`` served by ``mmap`` adds one to ``hblks``; a freed 64 MiB block at the top
of the heap (served from it once mmap is off) stays in ``arena`` unless the heap is trimmed.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from snnlib import utils

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's allocator only"
)

PROBE = r"""
import ctypes, json, sys
from snnlib import utils

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
how = sys.argv[1]
modes = []
if how == "direct":
    modes = [utils.steady_allocator(), utils.steady_allocator()]
elif how == "seed":
    utils.seed_everything(0)
elif how == "env_report":
    modes = [utils.env_report(0, print_it=False)]
SIZE = 64 << 20
before = libc.mallinfo2().hblks
p = libc.malloc(SIZE)
mmapped = libc.mallinfo2().hblks - before
peak = libc.mallinfo2().arena
libc.free(p)
kept = peak - libc.mallinfo2().arena < SIZE // 2  # the heap did not give the block back
print(json.dumps({"modes": modes, "mmapped": mmapped, "kept": kept, "after": utils.steady_allocator()}))
"""


def probe(how: str, **env: str) -> dict:
    full_env = {k: v for k, v in os.environ.items() if k != utils.SYSTEM_MALLOC_ENV_VAR}
    full_env.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE, how], env=full_env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_steady_allocator_applies_and_is_idempotent():
    r = probe("direct")
    assert r["modes"] == ["steady (glibc: no mmap, no trim)"] * 2
    assert r["mmapped"] == 0, "a 64 MiB malloc still went to mmap"
    # the trim threshold is really large: a value over INT_MAX would wrap around (1 << 40 -> 0, trim always)
    assert r["kept"], "the heap was trimmed after a 64 MiB free"
    assert r["after"] == r["modes"][0]


def test_untouched_process_uses_the_system_allocator():
    """The probe's own measurement tells the two modes apart (so the test above can fail)."""
    r = probe("none", **{utils.SYSTEM_MALLOC_ENV_VAR: "1"})
    assert r["mmapped"] == 1


@pytest.mark.parametrize("how", ["direct", "seed"])
def test_opt_out_leaves_glibc_alone(how):
    r = probe(how, **{utils.SYSTEM_MALLOC_ENV_VAR: "1"})
    assert r["mmapped"] == 1
    assert r["after"] == "system (SNNLIB_SYSTEM_MALLOC=1)"
    assert all(m == r["after"] for m in r["modes"])


def test_opt_out_zero_means_apply():
    r = probe("direct", **{utils.SYSTEM_MALLOC_ENV_VAR: "0"})
    assert r["mmapped"] == 0 and r["kept"]


def test_seed_everything_and_env_report_apply_it():
    r = probe("seed")
    assert r["mmapped"] == 0 and r["kept"]
    r = probe("env_report")
    assert r["mmapped"] == 0 and r["kept"]
    assert "malloc steady (glibc: no mmap, no trim)" in r["modes"][0]


def test_bad_opt_out_value_is_an_error(monkeypatch):
    monkeypatch.setattr(utils, "_allocator_mode", None)  # as in a process that has not changed it yet
    monkeypatch.setenv(utils.SYSTEM_MALLOC_ENV_VAR, "yes")
    with pytest.raises(ValueError, match="SNNLIB_SYSTEM_MALLOC='yes'.*expected 1"):
        utils.steady_allocator()


def test_fit_calls_it(monkeypatch):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from snnlib import train

    calls = []
    monkeypatch.setattr(utils, "steady_allocator", lambda: calls.append(1) or "steady (test)")
    data = TensorDataset(torch.randn(8, 4), torch.randint(0, 2, (8,)))
    train.fit(torch.nn.Linear(4, 2), DataLoader(data, batch_size=4), epochs=1, progress=False, device="cpu")
    assert calls
