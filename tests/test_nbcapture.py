"""One execution serves tests and book: nbval's outputs are kept, and a failing cell keeps nothing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def _run(tmp_path: Path, cells: list[str]) -> tuple[int, Path]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "executed"
    env = dict(os.environ, SNNLIB_EXECUTED_DIR=str(out), PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tools.nbcapture", "--nbval-lax", "--nbval-current-env",
         "-p", "no:cacheprovider", str(path)], cwd=tmp_path, env=env, capture_output=True, text=True)
    return proc.returncode, out / "chapter.ipynb"


def test_outputs_are_kept(tmp_path):
    code, executed = _run(tmp_path, ["print('hello')", "6 * 7"])
    assert code == 0
    nb = nbformat.read(executed, as_version=4)
    assert nb.cells[0].outputs[0]["text"] == "hello\n"
    assert nb.cells[1].outputs[0]["data"]["text/plain"] == "42"
    assert [c.execution_count for c in nb.cells] == [1, 2]


def test_a_failing_cell_fails_and_writes_nothing(tmp_path):
    code, executed = _run(tmp_path, ["x = 1", "raise RuntimeError('boom')"])
    assert code != 0
    assert not executed.exists()
