"""What the chapters' one execution left behind: every figure a chapter draws is in its executed copy.

The book is built from the notebooks that nbval executed (``tools/nbcapture.py``).  A cell that draws a
matplotlib figure must leave an ``image/png`` output there, or the page shows prose about a plot that is
not on it (this happened while the chapters ran under the Agg backend).  ``dev.py test`` runs the tests
marked ``built`` after the chapters have been executed, with ``SNNLIB_EXECUTED_DIR`` set.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent

#: source patterns of a cell that draws a matplotlib figure
FIGURE = re.compile(r"\bplt\.(show|subplots|figure|subplot)\s*\(|\bviz\.(raster|traces)\s*\(")


def _code(cell) -> str:
    """The cell's code without comments (a commented-out plot draws nothing)."""
    return "\n".join(line.split("#", 1)[0] for line in cell.source.splitlines())


def figure_cells(nb) -> list[int]:
    """Indices of the visible code cells that draw a matplotlib figure."""
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", []) and FIGURE.search(_code(c))]


def images(cell) -> int:
    return sum("image/png" in (o.get("data") or {}) for o in cell.get("outputs", []))


def missing_figures(nb) -> list[int]:
    """The figure cells of an executed notebook that left no image."""
    return [i for i in figure_cells(nb) if images(nb.cells[i]) == 0]


# --- the check itself, on made-up notebooks (a unit test: runs everywhere) ---

def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _png_output():
    return nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})


def test_a_figure_cell_without_an_image_is_reported():
    drew = nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.plot([1, 2])\nplt.show()")
    drew.outputs = [_png_output()]
    lost = nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nplt.show()")          # Agg: no output
    hidden = nbformat.v4.new_code_cell("plt.figure()", metadata={"tags": ["remove-cell"]})
    commented = nbformat.v4.new_code_cell("x = 1  # plt.show() would draw")
    nb = _nb(nbformat.v4.new_markdown_cell("plt.show()"), drew, lost, hidden, commented)
    assert figure_cells(nb) == [1, 2]
    assert missing_figures(nb) == [2]


# --- the executed chapters ---

def _executed_dir() -> Path | None:
    raw = os.environ.get("SNNLIB_EXECUTED_DIR", "").strip()
    if raw:
        path = Path(raw)
        if not path.is_dir():
            pytest.fail(f"SNNLIB_EXECUTED_DIR={raw} is not a folder: the chapters were not executed")
        return path
    default = ROOT / "_build" / "executed"
    return default if default.is_dir() else None


def _chapters() -> list[str]:
    return [p.stem for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md"))]


@pytest.mark.built
@pytest.mark.parametrize("chapter", _chapters())
def test_every_figure_cell_left_an_image(chapter):
    folder = _executed_dir()
    if folder is None:
        pytest.skip("no executed chapters (run: python3 dev.py execute)")
    path = folder / f"{chapter}.ipynb"
    assert path.exists(), f"{chapter}: no executed copy in {folder} (a cell failed?)"
    nb = nbformat.read(path, as_version=4)
    assert figure_cells(nb), f"{chapter}: no cell draws a figure"
    missing = missing_figures(nb)
    assert not missing, (f"{chapter}: figure cells left no image: "
                         + "; ".join(f"cell {i}: {nb.cells[i].source.splitlines()[0][:60]!r}" for i in missing))
