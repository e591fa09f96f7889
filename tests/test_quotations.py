"""Every quotation of the reading notes is the notes' own words: each 「…」 span in the chapters and the prose
pages appears verbatim in ``../shared/seed-notes/`` (the notes the book grew from).

The notes live beside the repository, not in it: CI has them at ``../shared/seed-notes`` next to the clone
(or where ``SNNLIB_SEED_NOTES`` points).  In a clone without them the check says it skipped.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QUOTE = re.compile(r"「(.+?)」", re.S)


def _notes_dir() -> Path | None:
    raw = os.environ.get("SNNLIB_SEED_NOTES", "").strip()
    path = Path(raw) if raw else ROOT.parent / "shared" / "seed-notes"
    return path if path.is_dir() else None


def _squash(text: str) -> str:
    """Whitespace removed: a quotation may wrap across source lines (Chinese has no spaces to keep)."""
    return re.sub(r"\s+", "", text)


def quotations(text: str) -> list[str]:
    """The 「…」 spans of a page, each joined across its line breaks (and a list item's indentation)."""
    return [_squash(m.group(1)) for m in QUOTE.finditer(text)]


def _pages() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md")) + sorted((ROOT / "book").glob("*.md")) + \
        [ROOT / "README.md"]


def test_quotations_are_found_across_line_breaks():
    page = "the notes: 「加上重置机制可能\n   并不一定」 and 「短」."
    assert quotations(page) == ["加上重置机制可能并不一定", "短"]


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_every_quotation_of_the_reading_notes_is_verbatim(page):
    folder = _notes_dir()
    if folder is None:
        pytest.skip("the reading notes are not beside this clone (../shared/seed-notes); set SNNLIB_SEED_NOTES")
    notes = _squash("".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*")) if p.is_file()))
    missing = [q for q in quotations(page.read_text(encoding="utf-8")) if q not in notes]
    assert not missing, f"{page.name}: quoted as the reading notes' words but not in them: {missing}"
