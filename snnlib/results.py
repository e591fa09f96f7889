"""Paper against measured: the chapters' results tables and ``python -m snnlib results`` (the scoreboard page is
:mod:`snnlib.scoreboard`).

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
The book's build calls :func:`book_records`, then :mod:`snnlib.scoreboard` draws the page;
``python -m snnlib results`` calls :func:`load_results` and :func:`table`.
"""
from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from . import registry
from .config import SCALES
from .records import CHAPTERS as CHAPTER_ORDER

__all__ = ["Table", "record_table", "format_measured", "device_matches_scale", "load_results", "book_records",
           "committed_dir",
           "comparison_rows", "table", "COLUMNS", "claim_sentence", "what_we_found", "claims_table"]

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

    Defined in chapter 01 (Parallel Spiking Neurons), section "Reproduction: the neuron comparison".
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

    Defined in chapter 05 (Spikformer V2), section "Reproduction at `ci`: the linear probe, and fine-tuning with few labels".
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
    """Every ``*.json`` record in ``folder`` (default :func:`snnlib.records.results_dir`), in book order.

    A file that is not a record (no ``name``/``scale``/``rows``/``dataset``) raises, naming the file.
    A missing folder holds no records.

    Defined in chapter 01 (Parallel Spiking Neurons), section "Reproduction: the order sweep".
    """
    if folder is None:
        from .records import results_dir

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
        return "no paper number" if _paper_sources(rec) else "book's check"
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


def _paper_sources(rec: Mapping[str, Any]) -> list[str]:
    """The registry keys of the papers whose claims the record checks (a claim's ``source``)."""
    return [c["source"] for c in rec.get("claims") or [] if c.get("source") in registry.REGISTRY]


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
        for rec in results:
            for c in rec.get("claims") or []:
                lines.append(f"[{rec['name']} @ {_scale_label(rec)}] {c['verdict'].upper()}: {c['statement']}")
        lines.append("")
        lines.append("ci rows check a claim on offline data; their paper column is the paper's number on the "
                     "paper's dataset, for reference, not a target.")
    if include_registry:
        lines.append("")
        lines.append("The papers' numbers (snnlib.registry):")
        for n in registry.REGISTRY.values():
            lines.append(f"  {n.key:<42} {registry.format_value(n):<26} {n.metric}, {n.dataset}; {_source(n)}")
    return "\n".join(lines).rstrip() + "\n"


# --- Markdown, for Table and the scoreboard ------------------------------------------------------------

def _md_escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    rule = ["---:" if i in numeric else "---" for i in range(len(header))]
    out = ["| " + " | ".join(_md_escape(h) for h in header) + " |", "|" + "|".join(rule) + "|"]
    out += ["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


# --- claims and "What we found" --------------------------------------------------------------------------

_VERDICT_WORDS = {"holds": "holds", "fails": "fails", "inconclusive": "inconclusive",
                  "untestable at this scale": "untestable at this scale"}


def _signed(x: Optional[float], unit: str) -> str:
    if x is None:
        return "unbounded"
    u = " points" if unit == "%" else (f" {unit}" if unit else "")
    return f"{x:+.2f}{u}"


def claim_sentence(c: Mapping[str, Any]) -> str:
    """One claim as a Markdown sentence: the verdict in bold, the statement, then the evidence (the mean
    paired difference, its 95% interval and the number of seeds), or why it could not be tested.

    Defined in chapter 01 (Parallel Spiking Neurons), section "Reproduction: the neuron comparison".
    """
    verdict = c["verdict"]
    head = f"**{_VERDICT_WORDS.get(verdict, verdict)}**: {c['statement']}"
    if verdict == "untestable at this scale":
        return f"{head} ({c['why']}; a result at chance decides nothing)."
    unit = c.get("unit", "")
    against = c["b"] if c.get("b") is not None else f"{c['value']:g}{unit if unit == '%' else ''}"
    margin = (f"; equivalence margin ±{c['margin']:g}{' points' if unit == '%' else ''} ({c['margin_reason']})"
              if c.get("margin") is not None else "")
    return (f"{head}. {c['a']} minus {against}: {_signed(c['mean'], unit)} on average over {c['n']} paired "
            f"seeds, 95% interval [{_signed(c.get('low'), unit)}, {_signed(c.get('high'), unit)}]{margin}.")


def what_we_found(rec: Mapping[str, Any], intro: Optional[str] = None) -> str:
    """A record's "What we found", as Markdown: each claim (:func:`claim_sentence`), in the record's order,
    then the experiment's fixed caveats (its departures from the paper's recipe), then the rule's own
    caveat.  Every chapter writes its findings with this function, so that words follow the numbers.

    Defined in chapter 00 (Foundations), section "Experiment: training a spiking network".
    """
    claims = list(rec.get("claims") or [])
    lines = [intro, ""] if intro else []
    if claims:
        lines += [f"* {claim_sentence(c)}" for c in claims]
    else:
        lines.append("* This run makes no claim.")
    caveats = list(rec.get("caveats") or [])
    if caveats:
        lines += ["", "Caveats of this run's recipe:", ""] + [f"* {c}" for c in caveats]
    if rec.get("rows"):
        lines += ["", *_rows_dropdown(rec["rows"])]
    n_seeds = len(rec.get("seeds") or [])
    lines += ["", f"Each verdict is the book's one rule: the 95% interval of the paired differences over "
                  f"{n_seeds} seeds ({_scale_label(rec)} scale). With many claims at 95%, a few verdicts in the "
                  "book are wrong by chance."]
    return "\n".join(lines)


def _rows_dropdown(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every row of a record as a Markdown table in a closed dropdown (MyST): the numbers each verdict
    stands on, printed exactly as the scoreboard prints them (:func:`format_measured`)."""
    def cell(row: Mapping[str, Any], key: str) -> str:
        v = row.get(key)
        if key == "per_seed":
            return ", ".join(f"{x:.3g}" for x in v) if v else "-"
        if key == "chance":
            return "-" if v is None else f"{v:g}{row.get('unit') if row.get('unit') == '%' else ''}"
        return "-" if v in (None, "") else str(v)

    body = _md_table(["row", "measured", "per seed", "chance", "chosen on", "expected failure"],
                     [[r["label"], format_measured(r), cell(r, "per_seed"), cell(r, "chance"),
                       cell(r, "selected_on"), cell(r, "expected_failure")] for r in rows], numeric=(1,))
    return [f"````{{admonition}} The {len(rows)} rows behind these verdicts", ":class: dropdown", "", body, "````"]


def claims_table(rec: Mapping[str, Any]) -> Table:
    """A record's claims as a table: statement, verdict, mean paired difference and its 95% interval.

    Defined in chapter 02 (Parallel Spiking Unit), section "Reproduction at ci".
    """
    rows = []
    for c in rec.get("claims") or []:
        unit = c.get("unit", "")
        rows.append([c["statement"], c["verdict"], _signed(c.get("mean"), unit),
                     f"[{_signed(c.get('low'), unit)}, {_signed(c.get('high'), unit)}]", str(c.get("n", "-"))])
    return Table(header=["claim", "verdict", "mean difference", "95% interval", "seeds"], rows=rows,
                 caption=f"{rec['name']}: the claims, by the book's one rule")
