"""nbval waits 60 s, not its hard-coded 5 s, for a finished cell's output (tools/nbcapture.py).

nbval 0.11 sets ``output_timeout = 5`` on every cell in ``IPyNbCell.__init__`` and has no option for it.
With two chapters executing on two cores, 5 s can pass before a finished cell's last messages arrive, and
nbval then kills the kernel and fails a cell that succeeded.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

# a second plugin that records what each collected cell will wait for
_PROBE = '''
import json, os

def pytest_collection_modifyitems(items):
    waits = [getattr(item, "output_timeout", None) for item in items]
    with open(os.environ["PROBE_OUT"], "w") as f:
        json.dump(waits, f)
'''


def test_the_constant_is_60():
    from tools import nbcapture

    assert nbcapture.OUTPUT_TIMEOUT == 60


def test_every_collected_cell_waits_60_s(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1 + 1"), nbformat.v4.new_markdown_cell("text"),
                nbformat.v4.new_code_cell("print('x')")]
    nbformat.write(nb, tmp_path / "chapter.ipynb")
    (tmp_path / "waitprobe.py").write_text(_PROBE)
    out = tmp_path / "waits.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]), PROBE_OUT=str(out))
    env.pop("SNNLIB_EXECUTED_DIR", None)
    # --collect-only: the cells are made (that is where nbval sets the wait) but no kernel is started
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "tools.nbcapture", "-p", "waitprobe",
         "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "chapter.ipynb"],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(out.read_text()) == [60, 60]
