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


def _executed(chapter: str):
    """The chapter's executed copy (skips when the chapters were not executed)."""
    folder = _executed_dir()
    if folder is None:
        pytest.skip("no executed chapters (run: python3 dev.py execute)")
    path = folder / f"{chapter}.ipynb"
    assert path.exists(), f"{chapter}: no executed copy in {folder} (a cell failed?)"
    return nbformat.read(path, as_version=4)


def _chapters() -> list[str]:
    return [p.stem for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md"))]


@pytest.mark.built
@pytest.mark.parametrize("chapter", _chapters())
def test_every_figure_cell_left_an_image(chapter):
    nb = _executed(chapter)
    assert figure_cells(nb), f"{chapter}: no cell draws a figure"
    missing = missing_figures(nb)
    assert not missing, (f"{chapter}: figure cells left no image: "
                         + "; ".join(f"cell {i}: {nb.cells[i].source.splitlines()[0][:60]!r}" for i in missing))


# --- one figure style: sized for the column, high-DPI, fonts a room can read ---

#: the text column is 688 CSS px (96 px per inch): a figure at most this wide is never shrunk below its size
COLUMN_IN = 688 / 96
#: high-DPI output: at least this many pixels per inch of figure
MIN_DPI = 144
SMALL_FONT = re.compile(r"(?:fontsize|labelsize)\s*=\s*(\d+(?:\.\d+)?)")


def figure_sizes(nb) -> list[tuple[int, float, float]]:
    """(cell index, width in inches, dpi) of every PNG an executed notebook holds, from the PNG itself."""
    import base64
    import io

    from PIL import Image

    out = []
    for i, c in enumerate(nb.cells):
        for o in c.get("outputs", []):
            data = (o.get("data") or {}).get("image/png")
            if data:
                img = Image.open(io.BytesIO(base64.b64decode(data)))
                dpi = float(img.info.get("dpi", (72, 72))[0])
                out.append((i, img.size[0] / dpi, dpi))
    return out


def oversized(nb) -> list[str]:
    return [f"cell {i}: {w:.2f} in at {dpi:.0f} dpi" for i, w, dpi in figure_sizes(nb)
            if w > COLUMN_IN or dpi < MIN_DPI]


def test_an_oversized_or_low_dpi_figure_is_reported():
    import base64
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def png(width_in, dpi):
        fig = plt.figure(figsize=(width_in, 2), dpi=dpi)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        plt.close(fig)
        cell = nbformat.v4.new_code_cell("plt.show()")
        cell.outputs = [nbformat.v4.new_output("display_data", data={
            "image/png": base64.b64encode(buf.getvalue()).decode()})]
        return cell

    nb = _nb(png(6.8, 150), png(11, 150), png(6, 72))
    assert [round(w, 1) for _, w, _ in figure_sizes(nb)] == [6.8, 11.0, 6.0]
    assert oversized(nb) == ["cell 1: 11.00 in at 150 dpi", "cell 2: 6.00 in at 72 dpi"]


def test_the_book_style_is_readable():
    from snnlib import viz
    assert viz.MAX_WIDTH_IN <= COLUMN_IN and viz.BOOK_STYLE["figure.dpi"] >= MIN_DPI
    sizes = [v for k, v in viz.BOOK_STYLE.items() if k.endswith(("size", "fontsize")) and not k.endswith("figsize")]
    assert sizes and min(sizes) >= viz.MIN_FONT_PT


@pytest.mark.parametrize("chapter", _chapters())
def test_no_chapter_sets_a_font_below_the_book_minimum(chapter):
    from snnlib import viz
    text = (ROOT / "notebooks" / f"{chapter}.md").read_text(encoding="utf-8")
    small = [m.group(0) for m in SMALL_FONT.finditer(text) if float(m.group(1)) < viz.MIN_FONT_PT]
    assert not small, f"{chapter}: fonts below {viz.MIN_FONT_PT} pt: {small}"


@pytest.mark.built
@pytest.mark.parametrize("chapter", _chapters())
def test_every_figure_fits_the_column_at_high_dpi(chapter):
    bad = oversized(_executed(chapter))
    assert not bad, (f"{chapter}: figures wider than the {COLUMN_IN:.2f} in column or below {MIN_DPI} dpi "
                     "(use snnlib.viz's style: figsize width at most viz.MAX_WIDTH_IN): " + "; ".join(bad))
