"""Paper against measured: the chapters' results tables, ``python -m snnlib results`` and the scoreboard page.

Everything here is made from two sources: the registry of the papers' numbers (:mod:`snnlib.registry`) and
the records that :func:`snnlib.experiments.reproduce` returns and writes (``NAME-SCALE.json``).  Every row
names the dataset and the scale it was measured at and how it relates to the paper's number:

* ``ci``: offline data, not the paper's dataset: a *claim check*: only the claim's ordering or trend is
  compared, and the paper's number is shown with its own dataset, never as a target;
* ``gpu``: the paper's dataset, shorter training;
* ``full``: the paper's setting.

Numbers that are not verified carry their status ("secondary", "unverified").  A record of the ``gpu``
settings that ran on a CPU is never shown as a ``gpu`` result (:func:`device_matches_scale`).

**One experiment, one number.**  The book's scoreboard is built from the records of the same execution
that built the chapters (the chapters run their experiments with ``$SNNLIB_RESULTS`` pointing at a build
folder), plus the committed ``results/*.json`` of the runs the book does not execute (``gpu``, ``full``):
:func:`book_records`.  Committed ``ci`` records are never used by the book.

The functions a chapter calls:

* ``record_table(rec, columns=("what", "measured", "per_seed", "paper"), headers=None) -> Table``:
  a record's rows as a table: mean ± std, the value of each seed, the paper's number from the registry
  and (in a note, or a ``"source"`` column) its source; ``headers={"what": "neuron"}`` renames a column.
  ``Table`` displays as an HTML ``<table>`` in Jupyter, Colab and the book (``_repr_html_``), as
  Markdown (``_repr_markdown_``) and as aligned text (``str``).
* ``format_measured(row) -> str``: a row's measured value as every table prints it (``92.78 ± 1.00%``).

A chapter that shows a committed ``gpu``/``full`` run reads ``load_results(committed_dir())``.
The book's build calls :func:`book_records`, :func:`scoreboard_figures` and :func:`scoreboard_markdown`;
``python -m snnlib results`` calls :func:`load_results` and :func:`table`.
"""
from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from . import registry
from .config import SCALES
from .experiments import CHAPTERS as CHAPTER_ORDER

__all__ = ["Table", "record_table", "format_measured", "device_matches_scale", "load_results", "book_records",
           "committed_dir",
           "comparison_rows", "table", "scoreboard_figures", "scoreboard_markdown", "COLUMNS"]

#: the columns :func:`record_table` can show, with their default headers
COLUMNS = {
    "what": "what",
    "measured": "measured",
    "per_seed": "per seed",
    "paper": "paper",
    "paper_dataset": "paper's dataset",
    "source": "paper's source",
    "comparison": "comparison",
}
_NUMERIC = {"measured", "per_seed", "paper"}
#: the scales whose name promises an accelerator; a record of one of them that ran on a CPU is not shown as one
_DEVICE_SCALES = ("gpu",)


# --- the displayable table ---------------------------------------------------------------------------

@dataclass
class Table:
    """A small results table that displays itself: HTML in notebooks and the book, Markdown, or text.

    ``header`` names the columns, ``rows`` holds strings; ``numeric`` lists the indices of right-aligned
    columns; ``caption`` is shown above, ``notes`` below.

    Defined in chapter 00 (Foundations), section "Experiment: the serial cost grows with $T$".
    """

    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    numeric: tuple[int, ...] = ()

    def __post_init__(self):
        for i, row in enumerate(self.rows):
            if len(row) != len(self.header):
                raise ValueError(f"rows[{i}] has {len(row)} cells; expected {len(self.header)} (one per header: "
                                 f"{', '.join(self.header)})")

    def _repr_html_(self) -> str:
        def cell(tag: str, i: int, text: str) -> str:
            style = ' style="text-align: right"' if i in self.numeric else ""
            return f"<{tag}{style}>{html.escape(text)}</{tag}>"

        out = ['<div class="snnlib-results">', "<table>"]
        if self.caption:
            out.append(f"<caption>{html.escape(self.caption)}</caption>")
        out.append("<thead><tr>" + "".join(cell("th", i, h) for i, h in enumerate(self.header)) + "</tr></thead>")
        out.append("<tbody>")
        out += ["<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in self.rows]
        out += ["</tbody>", "</table>"]
        out += [f'<p class="snnlib-results-note">{html.escape(n)}</p>' for n in self.notes]
        out.append("</div>")
        return "\n".join(out)

    def _repr_markdown_(self) -> str:
        parts = [f"**{_md_escape(self.caption)}**", ""] if self.caption else []
        parts.append(_md_table(self.header, self.rows, numeric=self.numeric))
        parts += ["", *(_md_escape(n) for n in self.notes)] if self.notes else []
        return "\n".join(parts)

    def __str__(self) -> str:
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
                  for i, h in enumerate(self.header)]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.rjust(w) if i in self.numeric else c.ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        out = [self.caption] if self.caption else []
        out += [line(self.header), line(["-" * w for w in widths]), *(line(r) for r in self.rows), *self.notes]
        return "\n".join(out)

    def __repr__(self) -> str:  # the text fallback of a notebook without HTML
        return str(self)


def _number(value: Optional[float], unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if unit == "%" else f"{value:.3g}"


def format_measured(row: Mapping[str, Any]) -> str:
    """A record row's measured value, as every table of the book prints it: ``92.78 ± 1.00%`` (mean ± sample
    standard deviation when the row has ``n`` > 1 seeds), ``97.50%``, ``3.1 ms``; ``-`` when not measured.

    Defined in chapter 03 (ParaLIF), section "Reproduction: the firing functions against LIF".
    """
    unit = row.get("unit", "")
    value, std, n = row.get("measured"), row.get("std"), row.get("n")
    if value is None:
        return "-"
    text = _number(value, unit)
    if std is not None and n is not None and n > 1:
        text += f" ± {_number(std, unit)}"
    return text + ("%" if unit == "%" else f" {unit}" if unit else "")


def _per_seed(row: Mapping[str, Any]) -> str:
    vals = row.get("per_seed")
    if not vals:
        return "-"
    return ", ".join(_number(v, row.get("unit", "")) for v in vals)


def _paper(row: Mapping[str, Any]) -> Optional[registry.PaperNumber]:
    return registry.REGISTRY.get(row.get("paper_key") or "")


def _source(n: Optional[registry.PaperNumber]) -> str:
    if n is None:
        return "-"
    return f"{registry.PAPERS[n.paper].citation}, {n.source}" + ("" if n.status == "verified" else f" ({n.status})")


def record_table(rec: Mapping[str, Any], columns: Sequence[str] = ("what", "measured", "per_seed", "paper"),
                 headers: Optional[Mapping[str, str]] = None) -> Table:
    """The rows of one experiment record as a :class:`Table`: what, mean ± std, each seed's value, the
    paper's number (from :mod:`snnlib.registry`); its source in a note below (or in a ``"source"`` column).

    ``columns`` is a sequence of names of :data:`COLUMNS`; ``headers`` overrides their headers
    (``{"what": "neuron"}``).  The caption names the dataset, the scale, the kind of comparison and the
    seeds; at ``ci`` scale a note says that the paper's numbers are on another dataset.

    Defined in chapter 00 (Foundations), section "Experiment: training a spiking network".
    """
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"columns={list(columns)!r}: unknown {', '.join(map(repr, unknown))}; "
                         f"expected names from {', '.join(COLUMNS)}")
    bad_headers = [h for h in (headers or {}) if h not in columns]
    if bad_headers:
        raise ValueError(f"headers={dict(headers or {})!r}: {', '.join(map(repr, bad_headers))} not in "
                         f"columns={list(columns)!r}")
    missing = [k for k in ("name", "scale", "dataset", "rows") if k not in rec]
    if missing:
        raise ValueError(f"rec is not a record of snnlib.experiments.reproduce: it lacks {', '.join(missing)}")
    papers = [_paper(r) for r in rec["rows"]]
    paper_datasets = sorted({n.dataset for n in papers if n is not None})
    head = dict(COLUMNS)
    if "paper_dataset" not in columns and len(paper_datasets) == 1:
        head["paper"] = f"paper ({paper_datasets[0]})"
    if any((r.get("n") or 1) > 1 for r in rec["rows"]):
        head["measured"] = "measured (mean ± std)"
    head.update(headers or {})
    metrics = sorted({str(r.get("metric", "")).split(",")[0] for r in rec["rows"]} - {""})
    cells = {
        "what": lambda r, n: str(r.get("label", "")),
        "measured": lambda r, n: format_measured(r),
        "per_seed": lambda r, n: _per_seed(r),
        "paper": lambda r, n: registry.format_value(n) if n else "-",
        "paper_dataset": lambda r, n: n.dataset if n else "-",
        "source": lambda r, n: _source(n),
        "comparison": lambda r, n: _comparison(rec, n),
    }
    rows = [[cells[c](r, n) for c in columns] for r, n in zip(rec["rows"], papers)]
    seeds = rec.get("seeds") or [rec.get("seed", "?")]
    caption = (f"{rec.get('title', rec['name'])}: {' / '.join(metrics) + ' on ' if metrics else ''}"
               f"{rec['dataset']}, scale {_scale_label(rec)} "
               f"({rec.get('comparison', rec['scale'])}), seed{'s' if len(seeds) > 1 else ''} "
               f"{', '.join(map(str, seeds))}")
    notes = []
    if "source" not in columns:
        sources = list(dict.fromkeys(_source(n) for n in papers if n is not None))
        if sources:
            notes.append(f"The paper's numbers: {'; '.join(sources)}.")
    if rec["scale"] == "ci" and paper_datasets:
        notes.append(f"The paper's numbers are on {', '.join(paper_datasets)}, not on {rec['dataset']}: this run "
                     f"checks the claim's ordering, not the values.")
    if not device_matches_scale(rec):
        notes.append(_mismatch(rec))
    return Table(header=[head[c] for c in columns], rows=rows, caption=caption, notes=notes,
                 numeric=tuple(i for i, c in enumerate(columns) if c in _NUMERIC))


# --- records -----------------------------------------------------------------------------------------

def device_matches_scale(rec: Mapping[str, Any]) -> bool:
    """False when a record ran on the wrong device for its scale: the ``gpu`` settings on a CPU.

    The record's own ``device_matches_scale`` field decides when it has one; older records are judged by
    their ``scale`` and ``device`` (``"cpu (...)"``).

    Defined in chapter 06 (MS-ResNet), section "At `gpu` scale".
    """
    flag = rec.get("device_matches_scale")
    if flag is not None:
        return bool(flag)
    return not (rec.get("scale") in _DEVICE_SCALES and str(rec.get("device", "")).lower().startswith("cpu"))


def _mismatch(rec: Mapping[str, Any]) -> str:
    return (f"{rec['name']} ran the {rec['scale']} settings on {rec.get('device', 'an unknown device')}: "
            f"not a {rec['scale']} result.")


def _scale_label(rec: Mapping[str, Any]) -> str:
    if device_matches_scale(rec):
        return str(rec["scale"])
    return f"{rec['scale']} settings on {str(rec.get('device', '?')).split(' ')[0]}"


def load_results(folder: Optional[os.PathLike | str] = None) -> list[dict[str, Any]]:
    """Every ``*.json`` record in ``folder`` (default :func:`snnlib.experiments.results_dir`), in book order.

    A file that is not a record (no ``name``/``scale``/``rows``/``dataset``) raises, naming the file.
    A missing folder holds no records.

    Defined in chapter 01 (Parallel Spiking Neurons), section "Reproduction: the order sweep".
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
    return _book_order(out)


def _book_order(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def order(rec):
        ch = rec.get("chapter", "")
        return (CHAPTER_ORDER.index(ch) if ch in CHAPTER_ORDER else len(CHAPTER_ORDER), rec["name"],
                SCALES.index(rec["scale"]) if rec["scale"] in SCALES else len(SCALES))

    return sorted(records, key=order)


#: the scales whose committed records the book shows: the runs that the book's command does not execute
COMMITTED_SCALES = ("gpu", "full")


def committed_dir() -> Path:
    """The repository's ``results/``: the committed ``gpu``/``full`` records (whatever ``$SNNLIB_RESULTS`` says).

    Defined in chapter 06 (MS-ResNet), section "At `gpu` scale".
    """
    return Path(__file__).resolve().parents[1] / "results"


def book_records(executed: Optional[os.PathLike | str], committed: Optional[os.PathLike | str] = None
                 ) -> list[dict[str, Any]]:
    """The records the book shows: every record of this build's execution (``executed``, the folder the
    chapters wrote to through ``$SNNLIB_RESULTS``), and the committed records (``committed``, default the
    repository's ``results/``) of the ``gpu`` and ``full`` runs that this execution did not make.

    Committed ``ci`` records are never used: the chapters ran those experiments in this build, so the
    scoreboard shows the numbers printed on the chapter pages.  Each record gets ``_origin``
    (``"this build"`` or ``"committed"``).
    """
    committed = committed_dir() if committed is None else committed
    ran = load_results(executed) if executed is not None else []
    for rec in ran:
        rec["_origin"] = "this build"
    made = {(r["name"], r["scale"]) for r in ran}
    kept = [r for r in load_results(committed)
            if r["scale"] in COMMITTED_SCALES and (r["name"], r["scale"]) not in made]
    for rec in kept:
        rec["_origin"] = "committed"
    return _book_order(ran + kept)


# --- the flat comparison (CLI) ------------------------------------------------------------------------

def _comparison(rec: Mapping[str, Any], paper: Optional[registry.PaperNumber]) -> str:
    if not device_matches_scale(rec):
        return f"not a {rec['scale']} result (ran on {str(rec.get('device', '?')).split(' ')[0]})"
    if paper is None:
        return "book's check" if not (rec.get("claim") or {}).get("paper_keys") else "no paper number"
    if rec["scale"] == "ci":
        return "claim check (not comparable: other dataset)"
    if rec["scale"] == "gpu":
        return "same dataset, shorter training"
    return str(rec.get("comparison") or rec["scale"])


def comparison_rows(results: Optional[list[dict[str, Any]]] = None) -> list[dict[str, str]]:
    """One flat row per measured number: experiment, scale, our dataset, measured, the paper's number (with
    its dataset, source and status) and the kind of comparison."""
    results = load_results() if results is None else results
    rows = []
    for rec in results:
        for r in rec["rows"]:
            paper = _paper(r)
            rows.append({
                "chapter": rec.get("chapter", ""),
                "experiment": rec["name"],
                "scale": _scale_label(rec),
                "dataset": rec["dataset"],
                "what": r["label"],
                "metric": r["metric"],
                "measured": format_measured(r) + (f" ({r['n']} seeds)" if (r.get("n") or 1) > 1 else ""),
                "paper": registry.format_value(paper) if paper else "-",
                "paper_dataset": paper.dataset if paper else "-",
                "source": _source(paper),
                "status": paper.status if paper else "-",
                "comparison": _comparison(rec, paper),
            })
    return rows


def _claims(results: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for rec in results:
        c = rec.get("claim")
        if c:
            out.append({"experiment": rec["name"], "scale": _scale_label(rec), "dataset": rec["dataset"],
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
        lines.append(str(Table(header=[h for _, h in cols], rows=[[r[k] for k, _ in cols] for r in rows])))
        lines.append("")
        for c in _claims(results):
            lines.append(f"[{c['experiment']} @ {c['scale']}, {c['dataset']}] claim {c['verdict'].upper()}: "
                         f"{c['claim']}")
            lines.append(f"    measured: {c['measured']}")
        lines.append("")
        lines.append("ci rows check a claim on offline data; their paper column is the paper's number on the "
                     "paper's dataset, for reference, not a target.")
    if include_registry:
        lines.append("")
        lines.append("The papers' numbers (snnlib.registry):")
        for n in registry.REGISTRY.values():
            lines.append(f"  {n.key:<42} {registry.format_value(n):<26} {n.metric}, {n.dataset}; {_source(n)}")
    return "\n".join(lines).rstrip() + "\n"


# --- the scoreboard page ------------------------------------------------------------------------------

def _md_escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    rule = ["---:" if i in numeric else "---" for i in range(len(header))]
    out = ["| " + " | ".join(_md_escape(h) for h in header) + " |", "|" + "|".join(rule) + "|"]
    out += ["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


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
        fig = Figure(figsize=(7.2, 0.7 + 0.27 * len(rows) * (1.6 if same else 1)), dpi=110, layout="constrained")
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
            ax_m.text(top + 1, yy + off, _number(r["measured"], "%"), va="center", fontsize=6.5)
        for yy, n in zip(y, papers):
            if n is None:
                continue
            hatch = None if n.status == "verified" else "//"
            span = _range(n.value_text) if n.value is None else None
            if n.value is not None:
                ax_p.barh(yy - off, n.value, height=bar, color=_PAPER, hatch=hatch)
                ax_p.text(n.value + 1, yy - off, n.value_text or f"{n.value:g}", va="center", fontsize=6.5)
            elif span:
                ax_p.barh(yy - off, span[1] - span[0], left=span[0], height=bar, color=_PAPER, alpha=0.45, hatch=hatch)
                ax_p.text(span[1] + 1, yy - off, f"{n.value_text} ({n.what.split(', ')[-1]})", va="center",
                          fontsize=6.5)
        ax_m.set_yticks(y, [str(r["label"]) for r in rows], fontsize=7.5)
        if same:
            from matplotlib.patches import Patch

            ax_m.legend(handles=[Patch(color=_MEASURED, label=f"measured: {rec['dataset']} ({_scale_label(rec)})"),
                                 Patch(color=_PAPER, label=f"paper: {paper_ds}")], fontsize=7, ncol=2,
                        loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        else:
            ax_m.set_title(f"measured: {rec['dataset']} ({_scale_label(rec)})", fontsize=8, color=_MEASURED)
            ax_p.set_title(f"paper: {paper_ds}", fontsize=8, color=_PAPER)
        for a in axes:
            a.set_xlabel("accuracy (%)", fontsize=7.5)
            a.tick_params(labelsize=7)
            a.grid(axis="x", alpha=0.3)
            a.set_xlim(0, 118 if a is ax_p and not same and any(n and n.value is None for n in papers) else 108)
        fig.savefig(out_dir / _figure_name(rec))
        written[(rec["name"], rec["scale"])] = _figure_name(rec)
    return written


def _paper_of(rec: Mapping[str, Any]) -> Optional[str]:
    keys = [r.get("paper_key") for r in rec["rows"]] + list((rec.get("claim") or {}).get("paper_keys") or [])
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
        code = (f"code: [{paper.code}](https://github.com/{paper.code})" if paper.code != "none released"
                else "no code released")
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
    claim = rec.get("claim")
    if claim:
        verdict = "holds" if claim["holds"] else "does not hold"
        out += [f"**Claim:** {claim['text']}", "", f"**Verdict: {verdict}.** {claim['measured']}.", ""]
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
