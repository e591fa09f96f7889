"""The registry of the papers' numbers: complete, marked, keyword-built, and equal to the papers' digest."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from snnlib import registry

ROOT = Path(__file__).resolve().parents[1]


def test_registry_entries_are_complete_and_marked():
    for n in registry.REGISTRY.values():
        assert n.status in registry.STATUSES and n.source and n.dataset and n.metric
        shown = registry.format_value(n)
        assert shown.endswith(f"({n.status})") == (n.status != "verified"), n.key
    assert registry.get("psn/scifar10/psn").value == 88.45
    assert registry.format_value(registry.get("psn/scifar10/lif")) == "81.50%"
    assert registry.get("psu/shd/rpsu").status == "secondary"
    with pytest.raises(KeyError, match="psn/scifar10/psn"):
        registry.get("psn/scifar10/psm")


def test_registry_matches_the_papers_digest():
    digest = ROOT.parent / "shared" / "papers.md"
    if not digest.is_file():
        pytest.skip("shared/papers.md is not beside the repository")
    text = digest.read_text()
    for ds, label in (("scifar10", "Sequential CIFAR-10 (T=32)"), ("scifar100", "Sequential CIFAR-100 (T=32)")):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| {label}"))
        values = [float(v) for v in line.strip("|").split("|")[1:]]
        keys = ["psn", "masked_psn_k32", "sliding_psn_k32", "glif", "klif", "plif", "lif", "lif_no_reset"]
        assert [registry.get(f"psn/{ds}/{k}").value for k in keys] == values
    for kind, name in (("masked_psn", "masked PSN"), ("sliding_psn", "sliding PSN")):
        m = re.search(name + r": k=1 ([\d.]+), k=2 ([\d.]+), k=3 ([\d.]+), k=4 ([\d.]+)", text)
        assert [registry.get(f"psn/scifar100/order/{kind}/k{k}").value for k in range(1, 5)] == \
            [float(v) for v in m.groups()]
    for key, needle in (("spikformer/imagenet", "74.81%"), ("ms_resnet/imagenet/ms_resnet104", "76.02%"),
                        ("psu/shd/rpsu", "92.49%"), ("spikformer_v2/imagenet/8layer", "80.38%")):
        assert needle in text and registry.format_value(registry.get(key), mark=False) == needle


def test_numbers_are_added_by_keyword_only():
    """STYLE.md: no ten positional arguments ("secondary", "secondary"); a positional call is refused."""
    with pytest.raises(TypeError):
        registry._add("x/y", "psn", "PSN", 1.0, "%", "m", "d", "s", "secondary", "secondary")
    n = registry.get("psu/shd/rpsu")
    assert (n.source, n.status, n.setting) == ("secondary", "secondary", "T = 15, threshold 0.3")
    # a value given as text keeps the paper's digits
    assert registry.get("psn/scifar10/lif").value_text == "81.50" and registry.get("psn/scifar10/lif").value == 81.5


def _bib_entries() -> dict[str, dict[str, str]]:
    """``{key: {field: value}}`` of book/references.bib; values may span lines and hold nested braces."""
    text = (ROOT / "book" / "references.bib").read_text()
    out = {}
    for m in re.finditer(r"@\w+\{(\w+),", text):
        fields, i = {}, m.end()
        while True:
            f = re.compile(r"\s*(\w+)\s*=\s*").match(text, i)
            if not f:
                break
            i = f.end()
            if text[i] == "{":
                depth, j = 0, i
                while True:
                    depth += {"{": 1, "}": -1}.get(text[j], 0)
                    j += 1
                    if depth == 0:
                        break
                value, i = text[i + 1:j - 1], j
            else:
                v = re.compile(r"[^,\n}]+").match(text, i)
                value, i = v.group(0), v.end()
            fields[f.group(1).lower()] = " ".join(value.replace("{", "").replace("}", "").split())
            i = re.compile(r"\s*,?").match(text, i).end()
        out[m.group(1)] = fields
    return out


def test_papers_cite_author_year_as_the_bibliography():
    """Each paper names its bibliography entry; its year is the entry's, with the letter that the
    bibliography's author-year-title order gives when the same first author and year recur (2023a/2023b)."""
    bib = _bib_entries()
    for p in registry.PAPERS.values():
        assert p.bibkey in bib, p.key
        entry = bib[p.bibkey]
        first = entry["author"].split(" and ")[0].split(",")[0].strip()
        assert p.authors.split()[0] == first, (p.key, first)
        same = sorted((e["title"].lower(), k) for k, e in bib.items()
                      if e["author"].split(" and ")[0].split(",")[0].strip() == first and e["year"] == entry["year"])
        letter = "abcdefghijklmnopqrstuvwxyz"[[k for _, k in same].index(p.bibkey)] if len(same) > 1 else ""
        assert p.year == entry["year"] + letter, (p.key, p.year, entry["year"] + letter)
        assert p.citation == f"{p.authors}, {p.year}"
    assert registry.PAPERS["psn"].citation == "Fang et al., 2023a"


def test_an_entry_without_a_number_prints_no_unit():
    n = registry.PaperNumber(key="x", paper="paralif", what="w", value=None, value_text="not transcribed",
                             unit="test accuracy", metric="test accuracy", dataset="SHD", setting="",
                             source="the paper's tables, not read here", status="unverified")
    assert registry.format_value(n) == "not transcribed (unverified)"
    assert registry.format_value(n, mark=False) == "not transcribed"
    assert registry.format_value(registry.get("syna/spikes_per_neuron/range")) == "0.36-1.04 spikes per neuron"
