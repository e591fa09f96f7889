"""Write the Colab install cell of every chapter from ``_config.yml``'s repository URL.

The repository URL is set in one place, ``_config.yml``.  The Colab buttons read it there; the first
cell of each chapter, which installs snnlib on Colab, needs it too, so this script writes it in, and
``tests/test_notebooks_anatomy.py`` fails when a chapter's cell and ``_config.yml`` disagree.

    python3 -m tools.sync_notebooks          # rewrite the cells
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
TAG = "remove-cell"


def repository_url() -> str:
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    m = re.search(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*(\S+)", text, re.M)
    if not m:
        raise ValueError("_config.yml has no repository.url")
    return m.group(1).strip("'\"")


def install_cell_source(url: str | None = None) -> str:
    url = repository_url() if url is None else url
    return (
        "# Colab only: install snnlib from the book's repository. Elsewhere this cell does nothing.\n"
        "import sys\n"
        "\n"
        "if \"google.colab\" in sys.modules:\n"
        f"    %pip install -q \"snnlib[vision] @ git+{url}\"\n"
    )


def sync(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0] if nb.cells else None
    src = install_cell_source()
    if first is not None and first.cell_type == "code" and "google.colab" in first.source:
        changed = first.source != src or TAG not in first.metadata.get("tags", [])
        first.source = src
        first.metadata["tags"] = sorted(set(first.metadata.get("tags", [])) | {TAG})
    else:
        cell = nbformat.v4.new_code_cell(src)
        cell.metadata["tags"] = [TAG]
        nb.cells.insert(0, cell)
        changed = True
    if changed:
        nbformat.write(nb, path)
    return changed


if __name__ == "__main__":
    for p in sorted((ROOT / "notebooks").glob("*.ipynb")):
        print(p.name, "updated" if sync(p) else "up to date")
