"""pytest plugin: keep what nbval executed, so the book is built from the same run.

nbval (``pytest --nbval-lax``) runs every cell of a chapter in one kernel and fails on the first
error, but throws the outputs away.  This plugin copies each cell's outputs back into the notebook and,
when every cell of a notebook passed, writes the executed copy to ``$SNNLIB_EXECUTED_DIR``.  The book
build reads those copies with execution switched off: one execution serves the tests and the site.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest

_notebooks: dict[str, dict] = {}


def _out_dir() -> Path | None:
    d = os.environ.get("SNNLIB_EXECUTED_DIR")
    return Path(d) if d else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    t0 = time.time()
    outcome = yield
    cell = getattr(item, "cell", None)
    if cell is None or not hasattr(item, "test_outputs"):
        return
    parent = item.parent
    key = str(parent.fspath)
    rec = _notebooks.setdefault(key, {"nb": parent.nb, "failed": False, "seconds": 0.0, "count": 0})
    rec["count"] += 1
    rec["seconds"] += time.time() - t0
    cell.outputs = list(item.test_outputs or [])
    cell.execution_count = rec["count"]
    if outcome.excinfo is not None:
        rec["failed"] = True


def pytest_sessionfinish(session, exitstatus):
    out = _out_dir()
    for path, rec in _notebooks.items():
        name = Path(path).name
        if rec["failed"]:
            print(f"\n[nbcapture] {name}: a cell failed; no executed copy written")
            continue
        print(f"\n[nbcapture] {name}: {rec['count']} cells executed in {rec['seconds']:.1f} s")
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            rec["nb"].metadata.setdefault("snnlib", {})["execution_seconds"] = round(rec["seconds"], 1)
            nbformat.write(rec["nb"], str(out / name))
