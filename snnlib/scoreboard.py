"""The scoreboard page: every record the book shows against the papers' numbers, with a figure per record.

Made by the book's build (``tools/build_site.py``) from :func:`snnlib.results.book_records`, and by
``python -m snnlib results --markdown``.  The tables and rows it lays out come from :mod:`snnlib.results`.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping, Optional

from . import registry
from .viz import MAX_WIDTH_IN
from .results import (_md_escape, _md_table, claim_sentence, _mismatch, _number, _paper, _scale_label, device_matches_scale,  # noqa: F401
                      load_results, record_table)

__all__ = ["scoreboard_figures", "scoreboard_markdown"]


# --- the scoreboard page ------------------------------------------------------------------------------

def _range(text: str) -> Optional[tuple[float, float]]:
    """``"59.5-61.3"`` / ``"about 60-62.6"`` -> (59.5, 61.3); None when the text is not a range."""
    m = re.search(r"(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)", text)
    return (float(m.group(1)), float(m.group(2))) if m else None


def _figure_name(rec: Mapping[str, Any]) -> str:
    return f"{rec['name']}-{rec['scale']}.png"


_MEASURED, _PAPER = "#1f77b4", "#ff7f0e"


def scoreboard_figures(records: list[dict[str, Any]], out_dir: os.PathLike | str) -> dict[tuple[str, str], str]:
    """One PNG per record with paper numbers: measured against the paper, row by row, written to
    ``out_dir``; returns ``{(name, scale): file name}``.

    For ``gpu``/``full`` runs both bars share one axis (same dataset).  For ``ci`` runs the paper is on
    another dataset, so measured and paper get a panel each, side by side with the same rows: compare
    the orderings, not the lengths.  Error bars are the standard deviation over seeds, black dots each
    seed; a paper range ("59.5-61.3", for orders 5 to 32) is drawn as a pale span; every bar is labelled.
    """
    from matplotlib.figure import Figure  # no pyplot: nothing global, any backend

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[tuple[str, str], str] = {}
    for rec in records:
        rows = [r for r in rec["rows"] if r.get("measured") is not None and r.get("unit") == "%"]
        papers = [_paper(r) for r in rows]
        papers = [n if n is not None and n.unit == "%" and (n.value is not None or _range(n.value_text)) else None
                  for n in papers]
        if not rows or not any(papers):  # nothing to draw against: the table says it all
            continue
        y = list(range(len(rows)))[::-1]
        same = rec["scale"] != "ci"
        # the book's figure style (snnlib.viz): the column's width, fonts of 10 pt or more, 150 dpi
        fig = Figure(figsize=(MAX_WIDTH_IN, 0.9 + 0.34 * len(rows) * (1.6 if same else 1)), dpi=150,
                     layout="constrained")
        axes = [fig.add_subplot(1, 1, 1)] if same else list(fig.subplots(1, 2, sharey=True))
        ax_m, ax_p = axes[0], axes[-1]
        bar = 0.4 if same else 0.62
        off = bar / 2 if same else 0.0
        paper_ds = ", ".join(sorted({n.dataset for n in papers if n}))
        for yy, r in zip(y, rows):
            std = r.get("std") or 0.0
            ax_m.barh(yy + off, r["measured"], height=bar, color=_MEASURED, xerr=std,
                      error_kw={"capsize": 2, "lw": 0.8})
            if r.get("per_seed"):
                ax_m.plot(r["per_seed"], [yy + off] * len(r["per_seed"]), "k.", ms=2.5)
            top = max([r["measured"] + std, *(r.get("per_seed") or [])])
            ax_m.text(top + 1, yy + off, _number(r["measured"], "%"), va="center", fontsize=10)
        for yy, n in zip(y, papers):
            if n is None:
                continue
            hatch = None if n.status == "verified" else "//"
            span = _range(n.value_text) if n.value is None else None
            if n.value is not None:
                ax_p.barh(yy - off, n.value, height=bar, color=_PAPER, hatch=hatch)
                ax_p.text(n.value + 1, yy - off, n.value_text or f"{n.value:g}", va="center", fontsize=10)
            elif span:
                ax_p.barh(yy - off, span[1] - span[0], left=span[0], height=bar, color=_PAPER, alpha=0.45, hatch=hatch)
                ax_p.text(span[1] + 1, yy - off, f"{n.value_text} ({n.what.split(', ')[-1]})", va="center",
                          fontsize=10)
        ax_m.set_yticks(y, [str(r["label"]) for r in rows], fontsize=10)
        if same:
            from matplotlib.patches import Patch

            ax_m.legend(handles=[Patch(color=_MEASURED, label=f"measured: {rec['dataset']} ({_scale_label(rec)})"),
                                 Patch(color=_PAPER, label=f"paper: {paper_ds}")], fontsize=10, ncol=2,
                        loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        else:
            ax_m.set_title(f"measured: {rec['dataset']} ({_scale_label(rec)})", fontsize=10, color=_MEASURED)
            ax_p.set_title(f"paper: {paper_ds}", fontsize=10, color=_PAPER)
        for a in axes:
            a.set_xlabel("accuracy (%)", fontsize=10)
            a.tick_params(labelsize=10)
            a.grid(axis="x", alpha=0.3)
            a.set_xlim(0, 118 if a is ax_p and not same and any(n and n.value is None for n in papers) else 108)
        fig.savefig(out_dir / _figure_name(rec))
        written[(rec["name"], rec["scale"])] = _figure_name(rec)
    return written


def _paper_of(rec: Mapping[str, Any]) -> Optional[str]:
    keys = [r.get("paper_key") for r in rec["rows"]] + [c.get("source") for c in rec.get("claims") or []]
    for key in keys:
        if key in registry.REGISTRY:
            return registry.REGISTRY[key].paper
    return None


def scoreboard_markdown(folder: Optional[os.PathLike | str] = None, *, records: Optional[list[dict[str, Any]]] = None,
                        figures: Optional[Mapping[tuple[str, str], str]] = None, figure_dir: str = "") -> str:
    """The book's "Reproduction scoreboard" page (MyST Markdown).

    ``records`` (default: every record in ``folder``, see :func:`load_results`; the book passes
    :func:`book_records`) are grouped by paper, then by experiment: the setting stated once, the claim and
    its verdict, the figure from :func:`scoreboard_figures` (``figures``, file names under ``figure_dir``)
    and a narrow table.  Then each paper's numbers from the registry, a short table per source.  Records
    of the ``gpu`` settings that ran on a CPU are listed as not shown, never as results.
    """
    records = load_results(folder) if records is None else records
    figures = figures or {}
    shown = [r for r in records if device_matches_scale(r)]
    hidden = [r for r in records if not device_matches_scale(r)]
    parts = [
        "# Reproduction scoreboard",
        "",
        "Every number the book measured, beside the paper's. The `ci` runs are those of the chapters in this "
        "very build, so each number here is the one printed on its chapter page; `gpu` and `full` runs come "
        "from the committed `results/*.json` of `python -m snnlib reproduce NAME --scale gpu|full`. "
        "`python -m snnlib results` prints the same comparison.",
        "",
        "```{admonition} How to read it",
        ":class: note",
        "* **ci**: offline stand-in data on a CPU. It checks a paper's *claim* (an ordering, a trend); "
        "the paper's number, on its own dataset, is a reference, not a target.",
        "* **gpu**: the paper's dataset on one GPU, shorter training. **full**: the paper's setting.",
        "* Paper numbers are *verified* (the paper's code, logs or abstract) unless marked *(secondary)* or "
        "*(unverified)*.",
        "```",
        "",
    ]
    by_paper: dict[Optional[str], list[dict[str, Any]]] = {}
    for rec in shown:
        by_paper.setdefault(_paper_of(rec), []).append(rec)
    if by_paper.get(None):
        parts += ["## The book's own checks", ""]
        for rec in by_paper[None]:
            parts += _task(rec, figures, figure_dir)
    for pid, paper in registry.PAPERS.items():
        recs = by_paper.get(pid, [])
        nums = registry.by_paper(pid)
        if not recs and not nums:
            continue
        # a repository (owner/name) becomes a link; "none released" or "not checked" is said in words
        code = (f"code: [{paper.code}](https://github.com/{paper.code})" if "/" in paper.code
                else "no code released" if paper.code == "none released" else f"code: {paper.code}")
        parts += [f"## {paper.title}", "",
                  f"{{cite:t}}`{paper.bibkey}`, {paper.venue}, {paper.ref}; {code}; chapter {paper.chapter}.", ""]
        for rec in recs:
            parts += _task(rec, figures, figure_dir)
        if nums:
            parts += _paper_numbers(nums, shown)
    if hidden:
        parts += ["## Not shown", ""]
        parts += [f"* `{r.get('_file', _figure_name(r).replace('.png', '.json'))}`: {_mismatch(r)}" for r in hidden]
        parts.append("")
    if shown:
        parts += ["## The runs", "",
                  _md_table(["Record", "Ran on", "Wall time", "snnlib"],
                            [[f"`{r.get('_file') or _figure_name(r).replace('.png', '.json')}` "
                              f"({r.get('_origin', 'file')})", str(r.get("device", "?")), f"{r.get('wall_s', '?')} s",
                              str((r.get("versions") or {}).get("git", (r.get("versions") or {}).get("snnlib", "?")))]
                             for r in shown]), ""]
    if not records:
        parts += ["No results yet: run `python -m snnlib reproduce foundations-mlp --scale ci`.", ""]
    return "\n".join(parts).rstrip() + "\n"


def _config_text(rec: Mapping[str, Any]) -> str:
    cfg = {k: v for k, v in (rec.get("config") or {}).items() if k != "dataset" and not isinstance(v, dict)}
    return ", ".join(f"{k}={v}" for k, v in cfg.items())


def _task(rec: Mapping[str, Any], figures: Mapping[tuple[str, str], str], figure_dir: str) -> list[str]:
    """One experiment: heading, the setting once (ours and the paper's), the verdict, the figure, a narrow table."""
    seeds = rec.get("seeds") or [rec.get("seed", "?")]
    papers = [n for n in (_paper(r) for r in rec["rows"]) if n]
    out = [f"### {rec.get('title') or rec['name']}", ""]
    here = (f"**Here** (`{rec['name']}`, scale `{_scale_label(rec)}`, {rec.get('comparison', rec['scale'])}): "
            f"{rec['dataset']}, seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}")
    cfg = _config_text(rec)
    out += [here + (f"; {cfg}." if cfg else "."), ""]
    shared = {(n.dataset, n.setting, n.source, n.status) for n in papers}
    if len(shared) == 1:
        ds, setting, src, status = shared.pop()
        out += [f"**Paper:** {ds}; {setting or 'setting not stated'}; {_provenance(src, status)}.", ""]
    if rec.get("claims"):
        out += ["**Claims**, by the book's one rule (95% interval of the paired differences over the seeds):", ""]
        out += [f"* {claim_sentence(c)}" for c in rec["claims"]] + [""]
    fig = figures.get((rec["name"], rec["scale"]))
    if fig:
        path = f"{figure_dir.rstrip('/')}/{fig}" if figure_dir else fig
        out += [f"![{rec['name']} at {rec['scale']}: measured against the paper]({path})", ""]
    cols = ["what", "measured"] + (["per_seed"] if any(r.get("per_seed") for r in rec["rows"]) else [])
    cols += ["paper"] if papers else []
    t = record_table(rec, columns=cols)
    table_md = [_md_table(t.header, t.rows, numeric=t.numeric), ""]
    if not fig:
        return out + table_md
    # the figure labels every bar; the exact numbers, with each seed's, are one click away
    return out + [f"````{{admonition}} The numbers ({len(t.rows)} rows)", ":class: dropdown", "", *table_md, "````", ""]


def _provenance(source: str, status: str) -> str:
    return status if source == status else f"{source} ({status})"


_LONG = 30  # a setting longer than this is stated once above its table, not in a column


def _paper_numbers(nums: list[registry.PaperNumber], records: list[dict[str, Any]]) -> list[str]:
    """A paper's numbers from the registry, in a dropdown: one short table per source (What, Value, Dataset,
    and Run here when the book ran any of them); long settings stated once above the table."""
    scales_of: dict[str, list[str]] = {}
    for rec in records:
        for r in rec["rows"]:
            key = r.get("paper_key")
            if key and rec["scale"] not in scales_of.setdefault(key, []):
                scales_of[key].append(rec["scale"])
    any_run = any(scales_of.get(n.key) for n in nums)
    groups: dict[tuple[str, str], list[registry.PaperNumber]] = {}
    for n in nums:
        groups.setdefault((n.source, n.status), []).append(n)
    body: list[str] = []
    for (src, status), group in groups.items():
        metrics = list(dict.fromkeys(n.metric for n in group))
        long = list(dict.fromkeys(n.setting for n in group if len(n.setting) > _LONG))
        marks = {s: "¹²³⁴⁵⁶⁷⁸⁹"[i] for i, s in enumerate(long)}
        head = f"Source: {_provenance(src, status)}" + (f"; {metrics[0]}" if len(metrics) == 1 else "") + "."
        body += [head, ""]
        body += [f"{marks[s]} {s}" + ("  " if i < len(long) - 1 else "") for i, s in enumerate(long)]
        body += [""] if long else []

        def where(n: registry.PaperNumber) -> str:
            text = n.dataset if n.dataset != "-" else ""
            if n.setting in marks:
                text += f" {marks[n.setting]}"
            elif n.setting:
                text += f", {n.setting}" if text else n.setting
            if len(metrics) > 1:
                text += f" ({n.metric})"
            return text.strip() or "-"

        header = ["What", "Value", "Dataset, setting"] + (["Run here"] if any_run else [])
        rows = [[n.what, registry.format_value(n, mark=False), where(n)]
                + ([", ".join(f"{s} (claim check)" if s == "ci" else s for s in scales_of.get(n.key, [])) or "-"]
                   if any_run else []) for n in group]
        body += [_md_table(header, rows, numeric=(1,)), ""]
    return [f"````{{admonition}} The paper's numbers ({len(nums)}, from the registry)", ":class: dropdown", "", *body,
            "````", ""]
