"""pytest plugin: keep what nbval executed, so the book is built from the same run.

nbval (``pytest --nbval-lax``) runs every cell of a chapter in one kernel and fails on the first
error, but throws the outputs away.  This plugin copies each cell's outputs back into the notebook and,
when every cell of a notebook passed, writes the executed copy to ``$SNNLIB_EXECUTED_DIR``.  The book
build reads those copies with execution switched off: one execution serves the tests and the site.

The chapters run two at a time (``dev.py``: pytest-xdist, ``-n 2 --dist loadfile``, so that all cells
of a notebook, which share one kernel, stay on one worker).  Each worker is its own process with its own
copy of this module's state, so nothing waits for the end of the session: a notebook's executed copy is
written, atomically, as soon as its last cell has run (:func:`pytest_runtest_teardown`), and so is its
timing, ``NAME.timing.json`` beside it, which ``dev.py`` prints after the run (a worker's stdout is not
shown under xdist).

nbval 0.11 waits at most 5 s for each message of a cell's output once the cell has finished
(``IPyNbCell.output_timeout``, set in its ``__init__``, with no option); :data:`OUTPUT_TIMEOUT` raises it.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import IPyNbCell

#: seconds nbval waits for the next output message of a finished cell (nbval 0.11: 5).  When that wait
#: runs out nbval stops the kernel and fails the cell ("Timeout of 5 seconds exceeded waiting for output"),
#: although the cell succeeded, and every later cell of the chapter with it.  With two chapters sharing
#: two cores (and whatever else runs beside them) 5 s leaves too little room; a wait that long only ever
#: costs time when the kernel is already lost.
OUTPUT_TIMEOUT = 60

_nbval_cell_init = IPyNbCell.__init__


def _cell_init(self, *args, **kwargs):
    _nbval_cell_init(self, *args, **kwargs)
    # nbval sets the attribute on each cell in __init__, so a class attribute would be overwritten
    self.output_timeout = max(getattr(self, "output_timeout", 0), OUTPUT_TIMEOUT)


if not getattr(IPyNbCell.__init__, "_snnlib_patched", False):  # once, however often the module is imported
    _cell_init._snnlib_patched = True
    IPyNbCell.__init__ = _cell_init

_notebooks: dict[str, dict] = {}


def _out_dir() -> Path | None:
    d = os.environ.get("SNNLIB_EXECUTED_DIR")
    return Path(d) if d else None


def _worker() -> str:
    """xdist's name for this worker (``gw0``, ``gw1``, ...), or ``main`` without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _write_atomic(path: Path, write) -> None:
    """``write(tmp)`` to a temporary file in ``path``'s folder, then rename it to ``path``: a reader (or a
    run interrupted half-way) never sees half a notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private (0600); the copy is an ordinary output
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    t0 = time.time()
    outcome = yield
    cell = getattr(item, "cell", None)
    if cell is None or not hasattr(item, "test_outputs"):
        return
    parent = item.parent
    key = str(parent.fspath)
    rec = _notebooks.setdefault(key, {"nb": parent.nb, "failed": False, "seconds": 0.0, "count": 0,
                                      "start": t0, "done": False})
    rec["count"] += 1
    rec["seconds"] += time.time() - t0
    cell.outputs = list(item.test_outputs or [])
    cell.execution_count = rec["count"]
    if outcome.excinfo is not None:
        rec["failed"] = True


def pytest_runtest_teardown(item, nextitem):
    """After a notebook's last cell (the next item, if any, is in another file): write it out now.

    With ``--dist loadfile`` a worker runs all cells of a notebook one after the other, so the item after
    the last cell belongs to another notebook, or there is none.
    """
    if getattr(item, "cell", None) is None:
        return
    if nextitem is not None and nextitem.parent is item.parent:
        return
    _finish(str(item.parent.fspath))


def _finish(key: str, interrupted: bool = False) -> None:
    rec = _notebooks.get(key)
    if rec is None or rec["done"]:
        return
    rec["done"] = True
    name = Path(key).name
    if interrupted and not rec["failed"]:
        # some cells never ran: a copy would look executed and build a page with outputs missing
        rec["failed"] = True
        print(f"\n[nbcapture] {name}: the run stopped after {rec['count']} cells; no executed copy written")
    elif rec["failed"]:
        print(f"\n[nbcapture] {name}: a cell failed; no executed copy written")
    else:
        print(f"\n[nbcapture] {name}: {rec['count']} cells executed in {rec['seconds']:.1f} s")
    out = _out_dir()
    if out is None:
        return
    if not rec["failed"]:
        rec["nb"].metadata.setdefault("snnlib", {})["execution_seconds"] = round(rec["seconds"], 1)
        _write_atomic(out / name, lambda tmp: nbformat.write(rec["nb"], tmp))
    timing = {"notebook": name, "cells": rec["count"], "seconds": round(rec["seconds"], 1),
              "failed": rec["failed"], "worker": _worker(), "start": rec["start"], "end": time.time()}
    _write_atomic(out / f"{Path(name).stem}.timing.json",
                  lambda tmp: Path(tmp).write_text(json.dumps(timing) + "\n"))


def pytest_sessionfinish(session, exitstatus):
    # a notebook whose last cell's teardown never came: the run was interrupted in its middle
    for key in list(_notebooks):
        _finish(key, interrupted=True)
