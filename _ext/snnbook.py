"""Sphinx extension of the book: local plotly.js and widget renderer, only where a page needs them;
author–year citations.

* plotly.js comes from the installed ``plotly`` package (its version matches the figures' JSON).  It is
  added, deferred, only to pages whose body holds a plotly figure; the figures' inline scripts wait for
  the window's load event when ``Plotly`` is not defined yet.
* MathJax 3 and ``embed.js`` are vendored in ``assets/vendor`` (see its README).
* ``assets/snn-mathfit.js`` fits display equations to a narrow column (stacked, then scaled down).
* ``embed.js`` of ``@jupyter-widgets/html-manager`` renders saved widget state without require.js.  It is
  added, deferred, only to pages whose body holds a saved widget view.
* Citations: one author–year style in the text and in the bibliography (``snn_author_year``).  Works by
  the same authors in the same year get the suffixes a, b, ... in both places.
"""
from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle
from pybtex.style.template import join, node
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle, GroupReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle, BasicAuthorYearTextualReferenceStyle)
from sphinxcontrib.bibtex.style.referencing.extra_author import ExtraAuthorReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_empty import ExtraEmptyReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_label import ExtraLabelReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_year import ExtraYearReferenceStyle
from sphinxcontrib.bibtex.style.template import join2, post_text, pre_text, reference

PLOTLY_TARGET = "vendor/plotly.min.js"


def _plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():
        raise FileNotFoundError(f"plotly.min.js not found in the plotly package at {path}")
    return path


def _copy_plotly(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / PLOTLY_TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_plotly_js(), target)


# What in a page's body needs plotly.js or the widget renderer.
PLOTLY_MARKERS = ("snn-plotly-graph", "Plotly.newPlot", "application/vnd.plotly")
WIDGET_MARKERS = ("application/vnd.jupyter.widget-view+json",)


def _page_scripts(app, pagename, templatename, context, doctree) -> None:
    """Add plotly.js and the widget renderer to this page only if its body uses them, deferred.

    ``app.add_js_file`` called during ``html-page-context`` adds the file to the current page only.
    """
    body = context.get("body") or ""
    if 'class="math' in body:
        app.add_js_file("snn-mathfit.js", priority=600, defer="defer")
    if any(m in body for m in PLOTLY_MARKERS):
        app.add_js_file(PLOTLY_TARGET, priority=100, defer="defer")
    if any(m in body for m in WIDGET_MARKERS):
        app.add_js_file(None, body=MATHJAX2_SHIM, priority=105)
        app.add_js_file("vendor/widgets/embed.js", priority=110, defer="defer")


# ---- citations: author–year, in the text and in the bibliography ---------------------------------

def _plain(rich) -> str:
    return rich.render_as("text") if hasattr(rich, "render_as") else str(rich)


def author_year(entry) -> tuple[str, str]:
    """("Fang et al.", "2023") for an entry: the surname of one author, both of two, the first of more."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    surnames = [" ".join(_plain(n) for n in p.rich_prelast_names + p.rich_last_names) for p in persons]
    if not surnames:
        who = _plain(Text.from_latex(entry.fields.get("title", entry.key)))
    elif len(surnames) == 1:
        who = surnames[0]
    elif len(surnames) == 2:
        who = f"{surnames[0]} and {surnames[1]}"
    else:
        who = f"{surnames[0]} et al."
    return who, entry.fields.get("year", "n.d.")


class AuthorYearLabels(BaseLabelStyle):
    """Labels "Fang et al., 2023a": author–year, with a, b, ... where the same authors and year recur.

    The suffixes follow the bibliography's sort order (label, then title).
    """

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        keys = [author_year(e) for e in entries]
        counts, seen = Counter(keys), Counter()
        for who, year in keys:
            suffix = ""
            if counts[(who, year)] > 1:
                suffix = "abcdefghijklmnopqrstuvwxyz"[seen[(who, year)]]
                seen[(who, year)] += 1
            yield f"{who}, {year}{suffix}"


class AuthorYearSort(BaseSortingStyle):
    """Sorted as the labels read: "Fang et al.", then year, then title."""

    def sorting_key(self, entry):
        who, year = author_year(entry)
        return who.lower(), year, _plain(Text.from_latex(entry.fields.get("title", ""))).lower()


class AuthorYearStyle(PlainStyle):
    """pybtex's plain entries, labelled and sorted author–year."""

    default_label_style = "snn_author_year"
    default_sorting_style = "snn_author_year"


def _label_parts(data) -> tuple[str, str]:
    label = data["formatted_entry"].label
    who, _, year = label.rpartition(", ")
    return who, year


@node
def label_authors(children, data):
    """The authors of the entry's label ("Fang et al.")."""
    return Text(_label_parts(data)[0])


@node
def label_year(children, data):
    """The year of the entry's label, with its suffix ("2023a")."""
    return Text(_label_parts(data)[1])


def _round() -> BracketStyle:
    return BracketStyle(left="(", right=")")


@dataclass
class _Parenthetical(BasicAuthorYearParentheticalReferenceStyle):
    def inner(self, role_name: str):
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text, reference[join(sep=self.author_year_sep)[label_authors, label_year]], post_text]


@dataclass
class _Textual(BasicAuthorYearTextualReferenceStyle):
    def inner(self, role_name: str):
        return join(sep=self.text_reference_sep)[
            label_authors,
            join[self.bracket.left,
                 join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[pre_text, reference[label_year], post_text],
                 self.bracket.right]]


@dataclass
class _Year(ExtraYearReferenceStyle):
    def inner(self, role_name: str):
        return reference[label_year]


@dataclass
class AuthorYearReferences(GroupReferenceStyle):
    """{cite:p} gives (Fang et al., 2023a), {cite:t} Fang et al. (2023a): the bibliography's labels."""

    bracket: BracketStyle = field(default_factory=_round)

    def __post_init__(self):
        self.styles.extend([
            _Parenthetical(bracket=self.bracket), _Textual(bracket=self.bracket),
            ExtraAuthorReferenceStyle(bracket=self.bracket), ExtraLabelReferenceStyle(bracket=self.bracket),
            _Year(bracket=self.bracket), ExtraEmptyReferenceStyle()])
        super().__post_init__()


def _register_citation_styles() -> None:
    pybtex.plugin.register_plugin("pybtex.style.labels", "snn_author_year", AuthorYearLabels, force=True)
    pybtex.plugin.register_plugin("pybtex.style.sorting", "snn_author_year", AuthorYearSort, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", "snn_author_year", AuthorYearStyle, force=True)
    register_plugin("sphinxcontrib.bibtex.style.referencing", "snn_author_year", AuthorYearReferences, force=True)


def _add_assets(app, config) -> None:
    # Added here rather than in _config.yml: Jupyter Book 1 puts a <script> tag on every page for each
    # .js file below html_static_path, which would load all of MathJax's components eagerly.
    assets = Path(app.confdir) / "assets"
    if not (assets / "vendor" / "mathjax" / "tex-chtml.js").exists():
        raise FileNotFoundError(f"vendored MathJax missing under {assets}/vendor (see assets/vendor/README.md)")
    config.html_static_path.append(str(assets))


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    # Jupyter Book 1 with sphinx-thebe 0.3 emits the same inline thebe configuration twice, and the
    # second `const THEBE_JS_URL` is a SyntaxError on every page.  Keep the first of identical scripts.
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        key = (getattr(js, "filename", str(js)) or "", tuple(sorted((getattr(js, "attributes", {}) or {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept


# The widget renderer typesets labels with MathJax 2's API (MathJax.Hub.Queue); the book serves MathJax 3.
# Give it a MathJax 2-shaped entry point that hands the element to MathJax 3.  Registered before
# embed.js, so it runs first on window load.
MATHJAX2_SHIM = (
    "window.addEventListener('load',function(){if(window.MathJax&&!window.MathJax.Hub){"
    "window.MathJax.Hub={Queue:function(job){var el=job&&job[2];"
    "if(window.MathJax.typesetPromise){window.MathJax.typesetPromise(el?[el]:undefined);}}};}});"
)


def setup(app):
    _plotly_js()  # fail early, with the path, if plotly is missing
    _register_citation_styles()
    app.connect("config-inited", _add_assets)
    app.connect("html-page-context", _page_scripts, priority=500)
    app.connect("html-page-context", _dedupe_scripts, priority=1)
    app.connect("build-finished", _copy_plotly)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
