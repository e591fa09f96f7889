"""The chapters' source is MyST Markdown (jupytext); this writes the ``.ipynb`` beside each for Colab.

Each chapter is ``notebooks/NN_name.md``, a MyST-Markdown notebook that reviews as text.  The
``notebooks/NN_name.ipynb`` beside it is generated from it, without outputs, and committed so that the
book's Colab buttons open it.  ``tests/test_notebooks_anatomy.py`` fails when the two disagree.

The repository URL is set in one place, ``_config.yml``.  The Colab buttons read it there; the first
cell of each chapter, which installs snnlib on Colab, needs it too, so this script writes it into the
Markdown source before generating the notebook.

    python3 -m tools.sync_notebooks           # rewrite the install cells and every .ipynb
    python3 -m tools.sync_notebooks --check   # exit 1, naming the files, when any .ipynb is stale
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TAG = "remove-cell"
#: notebook metadata kept in the generated .ipynb (jupytext's own header is dropped)
KEEP_METADATA = ("kernelspec", "language_info")


def sources() -> list[Path]:
    """The chapters' Markdown sources, in book order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.md"))


def repository_url() -> str:
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    m = re.search(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*(\S+)", text, re.M)
    if not m:
        raise ValueError("_config.yml has no repository.url")
    return m.group(1).strip("'\"")


def install_cell_source(url: str | None = None) -> str:
    """The first cell of every chapter: on Colab, install snnlib from the repository unless it is installed
    already (from a wheel or an uploaded clone); when that install fails (the repository not published yet,
    no network), stop with what to do instead.  Elsewhere it does nothing."""
    url = repository_url() if url is None else url
    return (
        "# Colab only: install snnlib from the book's repository, unless it is installed already (from a wheel or\n"
        "# an uploaded clone). Elsewhere this cell does nothing.\n"
        "import importlib.util\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        "if \"google.colab\" in sys.modules and importlib.util.find_spec(\"snnlib\") is None:\n"
        f"    url = \"git+{url}\"\n"
        "    pip = subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", f\"snnlib[vision] @ {url}\"],\n"
        "                         capture_output=True, text=True)\n"
        "    if pip.returncode != 0:\n"
        "        raise RuntimeError(\n"
        "            f\"snnlib could not be installed from {url} ({pip.stderr.strip().splitlines()[-1:]}). \"\n"
        "            \"Install it from a copy instead: in a clone, run `python3 dev.py wheel` (it writes \"\n"
        "            \"dist/snnlib-*.whl), upload that file in Colab's Files panel and run \"\n"
        "            \"`%pip install /content/snnlib-*.whl`; or upload the clone and run \"\n"
        "            \"`%pip install '/content/<clone>[vision]'`. Then run this cell again.\")"
    )


def read_source(md: Path) -> nbformat.NotebookNode:
    """The chapter as a notebook, read from its Markdown source."""
    return jupytext.read(md, fmt="md:myst")


def _with_install_cell(nb: nbformat.NotebookNode) -> bool:
    first = nb.cells[0] if nb.cells else None
    src = install_cell_source()
    if first is not None and first.cell_type == "code" and "google.colab" in first.source:
        changed = first.source != src or TAG not in first.metadata.get("tags", [])
        first.source = src
        first.metadata["tags"] = sorted(set(first.metadata.get("tags", [])) | {TAG})
        return changed
    cell = nbformat.v4.new_code_cell(src)
    cell.metadata["tags"] = [TAG]
    nb.cells.insert(0, cell)
    return True


def colab_notebook(nb: nbformat.NotebookNode) -> str:
    """The committed ``.ipynb`` text for a chapter: no outputs, no execution counts, no cell ids."""
    out = nbformat.v4.new_notebook()
    out.metadata = {k: nb.metadata[k] for k in KEEP_METADATA if k in nb.metadata}
    out.metadata.setdefault("language_info", {"name": "python"})
    for c in nb.cells:
        meta = dict(c.metadata)
        if c.cell_type == "code":
            cell = nbformat.v4.new_code_cell(c.source, metadata=meta)
        elif c.cell_type == "markdown":
            cell = nbformat.v4.new_markdown_cell(c.source, metadata=meta)
        else:
            cell = nbformat.v4.new_raw_cell(c.source, metadata=meta)
        cell.pop("id", None)
        out.cells.append(cell)
    out.nbformat, out.nbformat_minor = 4, 4
    return nbformat.writes(out, version=4) + "\n"


def sync(md: Path) -> list[str]:
    """Rewrite ``md``'s install cell if needed and its ``.ipynb``; return what changed."""
    changed = []
    nb = read_source(md)
    if _with_install_cell(nb):
        jupytext.write(nb, md, fmt="md:myst")
        changed.append(md.name)
        nb = read_source(md)
    ipynb = md.with_suffix(".ipynb")
    text = colab_notebook(nb)
    if not ipynb.exists() or ipynb.read_text(encoding="utf-8") != text:
        ipynb.write_text(text, encoding="utf-8")
        changed.append(ipynb.name)
    return changed


def stale() -> list[str]:
    """The generated notebooks that do not match their source (or are missing), and orphans."""
    bad = []
    for md in sources():
        ipynb = md.with_suffix(".ipynb")
        if not ipynb.exists() or ipynb.read_text(encoding="utf-8") != colab_notebook(read_source(md)):
            bad.append(ipynb.name)
    for ipynb in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if not ipynb.with_suffix(".md").exists():
            bad.append(f"{ipynb.name} (no {ipynb.with_suffix('.md').name})")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only report stale notebooks (exit 1 if any)")
    args = ap.parse_args(argv)
    if args.check:
        bad = stale()
        for name in bad:
            print(f"stale: {name}  (run: python3 -m tools.sync_notebooks)")
        return 1 if bad else 0
    for md in sources():
        changed = sync(md)
        print(md.stem, ("updated: " + ", ".join(changed)) if changed else "up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
