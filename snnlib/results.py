"""Paper against measured: the table of ``python -m snnlib results`` and the book's scoreboard page.

Both are made from the same two sources: the registry of the papers' numbers (:mod:`snnlib.registry`) and
the JSON files that ``python -m snnlib reproduce NAME --scale S`` writes to ``results/``.  Every row names
the dataset and the scale it was measured at and how it relates to the paper's number:

* ``ci``: offline data, not the paper's dataset: a *claim check*: only the claim's ordering or trend is
  compared, and the paper's number is shown with its own dataset, never as a target;
* ``gpu``: the paper's dataset, shorter training;
* ``full``: the paper's setting.

Numbers that are not verified carry their status ("secondary", "unverified").

Defined in chapter 00 (Foundations), "Reproductions".
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

from . import registry
from .config import SCALES
from .experiments import CHAPTERS as CHAPTER_ORDER

__all__ = ["load_results", "comparison_rows", "table", "scoreboard_markdown"]


def load_results(folder: Optional[os.PathLike | str] = None) -> list[dict[str, Any]]:
    """Every ``*.json`` result in ``folder`` (default :func:`snnlib.experiments.results_dir`), in book order.

    A file that is not a result (no ``name``/``scale``/``rows``) raises, naming the file.
    """
    if folder is None:
        from .experiments import results_dir

        folder = results_dir()
    folder = Path(folder)
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        rec = json.loads(path.read_text())
        missing = [k for k in ("name", "scale", "rows", "dataset") if k not in rec]
        if missing:
            raise ValueError(f"{path} is not a result of `python -m snnlib reproduce`: it lacks {', '.join(missing)}")
        rec["_file"] = path.name
        out.append(rec)

    def order(rec):
        ch = rec.get("chapter", "")
        return (CHAPTER_ORDER.index(ch) if ch in CHAPTER_ORDER else len(CHAPTER_ORDER), rec["name"],
                SCALES.index(rec["scale"]) if rec["scale"] in SCALES else len(SCALES))

    return sorted(out, key=order)


def _fmt(value: Optional[float], unit: str, std: Optional[float] = None, n: Optional[int] = None) -> str:
    if value is None:
        return "-"
    text = f"{value:.2f}%" if unit == "%" else f"{value:.3g} {unit}"
    if std is not None and n is not None and n > 1:
        text = (f"{value:.2f} ± {std:.2f}%" if unit == "%" else f"{value:.3g} ± {std:.2g} {unit}") + f" ({n} seeds)"
    return text


def comparison_rows(results: Optional[list[dict[str, Any]]] = None) -> list[dict[str, str]]:
    """One flat row per measured number: experiment, scale, our dataset, measured, the paper's number (with
    its dataset, source and status) and the kind of comparison."""
    results = load_results() if results is None else results
    rows = []
    for rec in results:
        for r in rec["rows"]:
            paper = registry.REGISTRY.get(r.get("paper_key") or "")
            kind = rec.get("comparison") or rec["scale"]
            if rec["scale"] == "ci" and paper is not None:
                kind = "claim check (not comparable: other dataset)"
            elif rec["scale"] == "gpu" and paper is not None:
                kind = "same dataset, shorter training"
            elif paper is None:
                kind = "book's check" if not (rec.get("claim") or {}).get("paper_keys") else "no paper number"
            rows.append({
                "chapter": rec.get("chapter", ""),
                "experiment": rec["name"],
                "scale": rec["scale"],
                "dataset": rec["dataset"],
                "what": r["label"],
                "metric": r["metric"],
                "measured": _fmt(r.get("measured"), r.get("unit", ""), r.get("std"), r.get("n")),
                "paper": registry.format_value(paper) if paper else "-",
                "paper_dataset": paper.dataset if paper else "-",
                "source": f"{paper.source}" if paper else "-",
                "status": paper.status if paper else "-",
                "comparison": kind,
            })
    return rows


def _claims(results: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for rec in results:
        c = rec.get("claim")
        if c:
            out.append({"experiment": rec["name"], "scale": rec["scale"], "dataset": rec["dataset"],
                        "claim": c["text"], "verdict": "holds" if c["holds"] else "does not hold",
                        "measured": c["measured"]})
    return out


def table(results: Optional[list[dict[str, Any]]] = None, *, include_registry: bool = False) -> str:
    """The plain-text report of ``python -m snnlib results``."""
    results = load_results() if results is None else results
    lines: list[str] = []
    if not results:
        lines.append("No results yet. Run for example: python -m snnlib reproduce foundations-mlp --scale ci")
    else:
        cols = [("experiment", "experiment"), ("scale", "scale"), ("dataset", "our dataset"), ("what", "what"),
                ("measured", "measured"), ("paper", "paper"), ("paper_dataset", "paper's dataset"),
                ("comparison", "comparison")]
        rows = comparison_rows(results)
        widths = {k: max(len(h), *(len(r[k]) for r in rows)) for k, h in cols}
        lines.append("  ".join(h.ljust(widths[k]) for k, h in cols))
        lines.append("  ".join("-" * widths[k] for k, _ in cols))
        lines += ["  ".join(r[k].ljust(widths[k]) for k, _ in cols) for r in rows]
        lines.append("")
        for c in _claims(results):
            lines.append(f"[{c['experiment']} @ {c['scale']}, {c['dataset']}] claim {c['verdict'].upper()}: {c['claim']}")
            lines.append(f"    measured: {c['measured']}")
        lines.append("")
        lines.append("ci rows check a claim on offline data; their paper column is the paper's number on the "
                     "paper's dataset, for reference, not a target.")
    if include_registry:
        lines.append("")
        lines.append("The papers' numbers (snnlib.registry):")
        for n in registry.REGISTRY.values():
            lines.append(f"  {n.key:<42} {registry.format_value(n):<26} {n.metric}, {n.dataset}; {n.source}")
    return "\n".join(lines).rstrip() + "\n"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def scoreboard_markdown(folder: Optional[os.PathLike | str] = None) -> str:
    """The book's "Reproduction scoreboard" page (MyST markdown), from the registry and ``results/*.json``."""
    results = load_results(folder)
    parts = [
        "# Reproduction scoreboard",
        "",
        "Every number the book measured, beside the paper's.  This page is generated from `results/*.json` "
        "(written by `python -m snnlib reproduce NAME --scale ci|gpu|full`) and from the registry of the "
        "papers' numbers, `snnlib.registry`; `python -m snnlib results` prints the same table.",
        "",
        "```{admonition} How to read it",
        ":class: note",
        "* **ci**: this book's offline runs on a CPU, on stand-in data (the scikit-learn digits, MNIST-1D, ...). "
        "They check a paper's *claim* (an ordering, a trend). The paper's number is shown with its own "
        "dataset for reference; it is not comparable with ours.",
        "* **gpu**: the paper's dataset on one GPU, with shorter training than the paper.",
        "* **full**: the paper's setting (several GPUs, through `torchrun`).",
        "* A paper's number is *verified* when it was read in the paper's code, training logs or abstract; "
        "numbers marked *(secondary)* come from a third party, *(unverified)* ones were not checked.",
        "```",
        "",
        "## Claims checked",
        "",
    ]
    claims = _claims(results)
    if claims:
        parts.append(_md_table(["Experiment", "Scale", "Our data", "The paper's claim", "Verdict", "Measured"],
                               [[f"`{c['experiment']}`", c["scale"], c["dataset"], c["claim"], f"**{c['verdict']}**",
                                 c["measured"]] for c in claims]))
    else:
        parts.append("No results yet: run `python -m snnlib reproduce foundations-mlp --scale ci`.")
    parts += ["", "## Paper against measured", ""]
    rows = comparison_rows(results)
    if rows:
        parts.append(_md_table(["Experiment", "Scale", "Our data", "What", "Measured", "Paper", "Paper's data",
                                "Source", "Comparison"],
                               [[f"`{r['experiment']}`", r["scale"], r["dataset"], r["what"], r["measured"],
                                 r["paper"], r["paper_dataset"], r["source"], r["comparison"]] for r in rows]))
    else:
        parts.append("Nothing measured yet.")
    if results:
        parts += ["", "Runs: " + "; ".join(
            f"`{r['_file']}` ({r.get('device', '?')}, {r.get('wall_s', '?')} s, seed {r.get('seed', '?')}, "
            f"snnlib {r.get('versions', {}).get('git', r.get('versions', {}).get('snnlib', '?'))})" for r in results) + "."]
    parts += ["", "## The papers' headline numbers", ""]
    scales_of: dict[str, list[str]] = {}
    for rec in results:
        for r in rec["rows"]:
            if r.get("paper_key") and rec["scale"] not in scales_of.setdefault(r["paper_key"], []):
                scales_of[r["paper_key"]].append(rec["scale"])

    def measured_at(key: str) -> str:
        scales = scales_of.get(key, [])
        return ", ".join(f"{s} (claim check)" if s == "ci" else s for s in scales) or "-"

    for paper, info in registry.PAPERS.items():
        nums = registry.by_paper(paper)
        if not nums:
            continue
        parts += [f"### {info['cite']}", ""]
        parts.append(_md_table(["What", "Value", "Metric", "Dataset", "Setting", "Source", "Status", "Run here at"],
                               [[n.what, registry.format_value(n, mark=False), n.metric, n.dataset, n.setting or "-",
                                 n.source, n.status, measured_at(n.key)] for n in nums]))
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"
