"""Every chapter follows the anatomy of shared/CHAPTER.md, in order; its Markdown source (jupytext MyST)
is what is read, and the committed ``.ipynb`` beside it is generated from it, clean."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tools.sync_notebooks import colab_notebook, install_cell_source, read_source, repository_url, sources, stale

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sources()                                   # notebooks/NN_name.md, the chapters' source

# (name, pattern matched against level-2 headings), in the order a chapter must have them.
SECTIONS = [
    ("reading questions", r"reading questions"),
    ("objectives", r"objectives"),
    ("background", r"background"),
    ("derivation", r"derivation"),
    ("from scratch, then snnlib", r"from scratch"),
    ("interactive demo", r"interactive demo"),
    ("experiment", r"experiment"),
    ("what we found", r"what we found"),
    ("think / discussion", r"think|discussion"),
    ("exercises", r"exercises"),
    ("session plan", r"session plan"),
    ("references", r"references"),
]


#: the one chapter that reads no paper: chapter 08 compares the neurons of chapters 00-03 on one recipe, so
#: it has no derivation of a paper's equations and no from-scratch version of a paper's mechanism
NO_PAPER = {"08_side_by_side.md": ("derivation", "from scratch, then snnlib")}


def sections_of(path: Path) -> list[tuple[str, str]]:
    """The sections ``path`` must have, in order: all of :data:`SECTIONS`, less a paperless chapter's."""
    skip = NO_PAPER.get(path.name, ())
    return [(name, pattern) for name, pattern in SECTIONS if name not in skip]


def _nb(path: Path) -> dict:
    """The chapter read from its Markdown source, as a plain dict (sources joined)."""
    return json.loads(colab_notebook(read_source(path)))


def _h2(nb: dict) -> list[str]:
    heads = []
    for c in nb["cells"]:
        if c["cell_type"] == "markdown":
            for line in "".join(c["source"]).splitlines():
                if line.startswith("## "):
                    heads.append(line[3:].strip().lower())
    return heads


def test_there_is_a_foundations_chapter():
    assert any(p.name.startswith("00_") for p in CHAPTERS)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_sections_in_order(path):
    heads = _h2(_nb(path))
    pos = -1
    for name, pattern in sections_of(path):
        hits = [i for i, h in enumerate(heads) if re.search(pattern, h) and i > pos]
        assert hits, f"{path.name}: missing section '{name}' after position {pos} (headings: {heads})"
        pos = hits[0]


def test_the_paperless_variant_is_the_side_by_side_chapter_and_has_no_paper_sections():
    names = {p.name for p in CHAPTERS}
    assert set(NO_PAPER) <= names, f"NO_PAPER names chapters that do not exist: {set(NO_PAPER) - names}"
    skipped = dict(SECTIONS)
    for name, skip in NO_PAPER.items():
        heads = _h2(_nb(ROOT / "notebooks" / name))
        for section in skip:
            found = [h for h in heads if re.search(skipped[section], h)]
            assert not found, f"{name} reads no paper, yet has a '{section}' section: {found}"
    assert [n for n, _ in sections_of(Path("01_psn.md"))] == [n for n, _ in SECTIONS]


def test_every_chapter_has_a_source_and_a_current_notebook():
    assert CHAPTERS, "no chapter sources notebooks/NN_name.md"
    assert not stale(), f"generated notebooks out of date: {stale()} (run: python3 -m tools.sync_notebooks)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_committed_clean(path):
    nb = json.loads(path.with_suffix(".ipynb").read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] == "code":
            assert not c.get("outputs"), f"{path.name}: cell {i} has stored outputs"
            assert c.get("execution_count") is None, f"{path.name}: cell {i} has an execution count"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_cells(path):
    nb = _nb(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    first = code[0]
    assert "".join(first["source"]) == install_cell_source(), (
        f"{path.name}: the Colab install cell differs from _config.yml's repository (run python -m tools.sync_notebooks)")
    assert "remove-cell" in first["metadata"].get("tags", []), f"{path.name}: install cell must be tagged remove-cell"
    assert nb["cells"][0] is first, f"{path.name}: the install cell must be the first cell"
    # the first visible code cell prints the environment report and takes its sizes from snnlib.config
    setup = "".join(code[1]["source"])
    assert "env_report" in setup and "seed_everything" in setup, f"{path.name}: no environment report / seed"
    assert "config." in setup, f"{path.name}: the set-up cell does not read snnlib.config"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_has_hidden_checks_and_hidden_solutions(path):
    nb = _nb(path)
    tags = [c["metadata"].get("tags", []) for c in nb["cells"] if c["cell_type"] == "code"]
    checks = sum("remove-cell" in t for t in tags) - 1         # minus the install cell
    assert checks >= 3, f"{path.name}: only {checks} hidden assertion cells"
    solutions = [c for c in nb["cells"] if c["cell_type"] == "code" and "Solution" in
                 ("".join(c["source"]).splitlines() or [""])[0]]
    assert 3 <= len(solutions) <= 6, f"{path.name}: {len(solutions)} exercise solutions (3 to 6 expected)"
    # hidden on the site (the whole cell), on Colab (a form: only its title shows) and in Jupyter (input
    # collapsed)
    for c in solutions:
        first = "".join(c["source"]).splitlines()[0]
        assert first.startswith("# @title Solution"), (
            f"{path.name}: a solution cell must open with '# @title Solution N' (Colab's form title): {first!r}")
        assert "hide-cell" in c["metadata"].get("tags", []), f"{path.name}: {first!r} is not tagged hide-cell"
        assert c["metadata"].get("cellView") == "form" and \
            c["metadata"].get("jupyter", {}).get("source_hidden") is True, (
                f"{path.name}: {first!r} is hidden on the site only; add cellView: form and "
                "jupyter.source_hidden: true")


def test_repository_url_is_set_once():
    """The chapters name the book's repository only through the generated install cell."""
    url = repository_url()
    assert url.startswith("https://github.com/")
    for path in CHAPTERS:
        for c in _nb(path)["cells"][1:]:
            assert url not in "".join(c["source"]), f"{path.name}: repository URL written by hand; use _config.yml"
