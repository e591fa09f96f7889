"""One execution serves tests and book: nbval's outputs are kept, and a failing cell keeps nothing.

dev.py executes the chapters two at a time (pytest-xdist, ``--dist loadfile``); each worker writes the
copies of the notebooks it ran, and their timings, as each notebook finishes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def _notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _pytest(tmp_path: Path, paths: list[Path], *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SNNLIB_EXECUTED_DIR=str(tmp_path / "executed"), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *extra, "-p", "tools.nbcapture", "--nbval-lax", "--nbval-current-env",
         "-p", "no:cacheprovider", *map(str, paths)], cwd=tmp_path, env=env, capture_output=True, text=True)


def _run(tmp_path: Path, cells: list[str]) -> tuple[int, Path]:
    proc = _pytest(tmp_path, [_notebook(tmp_path / "chapter.ipynb", cells)])
    return proc.returncode, tmp_path / "executed" / "chapter.ipynb"


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


def test_two_workers_write_each_notebook_and_its_timing(tmp_path):
    """As dev.py runs the chapters: two workers, a notebook's cells on one of them (--dist loadfile)."""
    paths = [_notebook(tmp_path / "a.ipynb", ["x = 6", "print(x * 7)"]),
             _notebook(tmp_path / "b.ipynb", ["print('b')"]),
             _notebook(tmp_path / "c.ipynb", ["raise RuntimeError('boom')", "print('after')"])]
    proc = _pytest(tmp_path, paths, "-n", "2", "--dist", "loadfile")
    assert proc.returncode != 0, proc.stdout  # c failed
    out = tmp_path / "executed"
    a = nbformat.read(out / "a.ipynb", as_version=4)
    assert a.cells[1].outputs[0]["text"] == "42\n"  # the second cell saw the first's x: one kernel
    assert (out / "b.ipynb").exists() and not (out / "c.ipynb").exists()
    timings = {t["notebook"]: t for t in (json.loads(p.read_text()) for p in out.glob("*.timing.json"))}
    assert sorted(timings) == ["a.ipynb", "b.ipynb", "c.ipynb"]
    assert [timings[n]["failed"] for n in sorted(timings)] == [False, False, True]
    assert timings["a.ipynb"]["cells"] == 2 and timings["a.ipynb"]["worker"].startswith("gw")
    assert not list(out.glob(".*.tmp")), "a temporary file was left behind"
