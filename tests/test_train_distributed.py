"""snnlib.train under torchrun: 2 gloo processes on CPU train like one process with the same global batch.

The model has no batch norm (whose statistics would be per process), the loader does not shuffle, and
DDP averages the gradients of the two half-batches' mean losses: the mean over the global batch.  So one
epoch under ``torchrun --nproc_per_node=2`` must end at the single-process weights, to float rounding.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent('''
    import json, sys
    import torch, torch.nn as nn
    import torch.distributed as dist
    from torch.utils.data import DataLoader
    import snnlib.data as D
    from snnlib.neurons import LIF
    from snnlib.train import fit, is_main_process
    from snnlib.utils import seed_everything

    class MLP(nn.Module):  # no batch norm
        def __init__(self):
            super().__init__()
            self.fc1, self.lif, self.fc2 = nn.Linear(6, 16), LIF(), nn.Linear(16, 3)
        def forward(self, x):
            return self.fc2(self.lif(self.fc1(x) * 2.0))

    out = sys.argv[1]
    g = torch.Generator().manual_seed(7)
    x, y = torch.rand(48, 5, 6, generator=g), torch.randint(0, 3, (48,), generator=g)
    train = D.ArrayDataset(x[:32], y[:32], layout="sequence", n_classes=3)
    test = D.ArrayDataset(x[32:], y[32:], layout="sequence", n_classes=3)
    seed_everything(0)
    model = MLP()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    loader = DataLoader(train, batch_size=8, shuffle=False, collate_fn=D.time_first_collate)
    test_loader = DataLoader(test, batch_size=8, collate_fn=D.time_first_collate)
    h = fit(model, loader, test_loader, epochs=1, optimizer="sgd", lr=0.5, schedule="none", progress=False)
    if is_main_process():
        torch.save({"init": init, "final": model.state_dict()}, out + ".pt")
        json.dump(h.to_dict(), open(out + ".json", "w"))
    if dist.is_initialized():
        dist.destroy_process_group()
''')


def _run(args: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1", "SNNLIB_SCALE": "ci"}
    env.pop("WORLD_SIZE", None)
    proc = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not built")
def test_torchrun_two_gloo_processes_match_one_process(tmp_path):
    script = tmp_path / "train_ddp.py"
    script.write_text(SCRIPT)
    _run([sys.executable, str(script), str(tmp_path / "single")], tmp_path)
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
          str(tmp_path / "ddp")], tmp_path)

    single, ddp = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("single", "ddp"))
    assert single["meta"]["world_size"] == 1 and ddp["meta"]["world_size"] == 2
    assert single["meta"]["global_batch"] == ddp["meta"]["global_batch"] == 8
    for key in ("train_loss", "train_acc", "train_rate", "test_loss", "test_acc", "test_rate"):
        assert ddp["epochs"][0][key] == pytest.approx(single["epochs"][0][key], rel=1e-5, abs=1e-6), key
    s1, s2 = (torch.load(tmp_path / f"{n}.pt") for n in ("single", "ddp"))
    w1, w2 = s1["final"], s2["final"]
    assert w1.keys() == w2.keys()
    for k in w1:
        assert torch.allclose(w1[k], w2[k], atol=1e-6), k
        assert torch.equal(s1["init"][k], s2["init"][k])
        assert not torch.allclose(w1[k], s1["init"][k], atol=1e-4), f"{k} did not train"
