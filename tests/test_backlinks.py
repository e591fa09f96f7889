"""snnlib's back-links to the book (``Defined in chapter NN (...), section "..."``) cannot drift.

See ``tools/backlinks.py``: each public symbol a chapter uses names the first chapter that uses it and
a heading that exists there; chapters not yet in ``_toc.yml`` are skipped.
"""
from __future__ import annotations

import inspect
import re

from tools import backlinks


def test_every_back_link_names_a_real_heading_of_the_first_chapter_that_uses_it():
    bad = backlinks.problems()
    assert not bad, "back-links missing or wrong (fix, or run python3 -m tools.backlinks --write):\n" + "\n".join(bad)


def test_module_docstrings_carry_no_unchecked_back_links():
    """Only the checked, per-symbol form is allowed; module docstrings used to drift (16 of 30 were wrong)."""
    import importlib

    seen = {m for m, _, _ in backlinks.public_symbols()}
    for module in sorted(seen):
        doc = inspect.getdoc(importlib.import_module(module)) or ""
        for line in re.findall(r"Defined in chapter[^\n]*", doc):
            assert backlinks.STAMP.search(line), f"{module}: unchecked back-link in the module docstring: {line!r}"


def test_use_detection():
    mod = "snnlib.neurons.psn"
    assert backlinks.uses("m = neurons.MaskedPSN(k=2, T=8)", mod, "MaskedPSN")
    assert backlinks.uses("x = snnlib.neurons.psn.MaskedPSN", mod, "MaskedPSN")
    assert not backlinks.uses("m = MaskedPSN(k=2, T=8)", mod, "MaskedPSN")            # not imported
    assert backlinks.uses("m = MaskedPSN(k=2, T=8)", mod, "MaskedPSN", imported=True)
    assert not backlinks.uses("from snnlib.neurons import MaskedPSN", mod, "MaskedPSN", imported=True)
    assert not backlinks.uses("y = other.MaskedPSN2()", mod, "MaskedPSN", imported=True)
    assert backlinks._imported("from snnlib.neurons import (\n    LIF,\n    MaskedPSN,\n)", mod, "MaskedPSN")
    # a module imported under another name: from snnlib.experiments import psn as psn_exp
    aliases = backlinks.module_aliases("from snnlib.experiments import psn as psn_exp\nimport snnlib.viz as v")
    assert aliases == {"snnlib.experiments.psn": {"psn_exp"}, "snnlib.viz": {"v"}}
    assert backlinks.uses("psn_exp.settings(scale)", "snnlib.experiments.psn", "settings",
                          aliases=frozenset({"psn_exp"}))


def test_every_chapter_in_the_toc_has_a_title_and_headings():
    book = backlinks.chapters()
    assert [ch.number for ch in book][:2] == ["00", "01"]
    for ch in book:
        assert ch.title and ch.headings, ch.path
