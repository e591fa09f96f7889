"""The glossary is one sorted Sphinx glossary (an anchor per term), and the chapters link to it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "book" / "glossary.md"
TERM_ROLE = re.compile(r"\{term\}`([^`<]+?)(?:\s*<([^>]+)>)?`")


def glossary_terms() -> list[str]:
    text = GLOSSARY.read_text(encoding="utf-8")
    assert "```{glossary}" in text and ":sorted:" in text, "the glossary must be a sorted {glossary} directive"
    body = text.split("```{glossary}", 1)[1].split("\n```", 1)[0]
    return [line for line in body.splitlines() if line and not line.startswith((" ", ":"))]


def test_every_term_appears_once_with_a_chinese_name():
    terms = glossary_terms()
    assert len(terms) >= 90
    lowered = [t.lower() for t in terms]
    assert len(set(lowered)) == len(lowered), sorted({t for t in lowered if lowered.count(t) > 1})
    text = GLOSSARY.read_text(encoding="utf-8")
    for t in terms:
        definition = text.split(f"\n{t}\n", 1)[1].splitlines()[0]
        assert re.search(r"[\u4e00-\u9fff]", definition), f"{t}: no Chinese name"


@pytest.mark.parametrize("chapter", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md")), ids=lambda p: p.stem)
def test_each_chapter_links_its_terms_to_the_glossary(chapter):
    terms = {t.lower() for t in glossary_terms()}
    roles = TERM_ROLE.findall(chapter.read_text(encoding="utf-8"))
    assert roles, f"{chapter.name}: no {{term}} link to the glossary"
    for text, target in roles:
        assert (target or text).strip().lower() in terms, f"{chapter.name}: {{term}} {target or text!r} is not a term"
