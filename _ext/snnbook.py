"""Sphinx extension of the book: light pages (plotly.js, MathJax, icons and search only where needed),
the widget renderer, author–year citations.

* plotly.js: a partial bundle (core with scatter, and heatmap: the only trace types the book draws),
  vendored in ``assets/vendor/plotly`` by ``tools/build_plotly_bundle.py`` at the plotly.js version of the
  installed ``plotly`` package (the build stops when the two differ).  It is added, deferred, only to pages
  whose body holds a plotly figure; a page whose figures use another trace type gets the full
  ``plotly.min.js`` of the ``plotly`` package instead.  The figures' inline scripts wait for the window's
  load event when ``Plotly`` is not defined yet.
* MathJax 3 and ``embed.js`` are vendored in ``assets/vendor`` (see its README).  MathJax is loaded as
  its components (startup, TeX input, CHTML output, assistive MathML) without the 0.4 MB context menu.
* Icons: the theme's Font Awesome web fonts, cut down at build time to the icons the pages use (the
  theme's 1.5 MB ``fontawesome.js`` is not loaded: see ``templates/layout.html``); the search index only
  on the search page.
* ``assets/snn-mathfit.js`` fits display equations to a narrow column (stacked, then scaled down).
* ``embed.js`` of ``@jupyter-widgets/html-manager`` renders saved widget state without require.js.  It is
  added, deferred, only to pages whose body holds a saved widget view.
* Citations: one author–year style in the text and in the bibliography (``snn_author_year``).  Works by
  the same authors in the same year get the suffixes a, b, ... in both places.
"""
from __future__ import annotations

import json
import re
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
from sphinx.errors import ExtensionError
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle, GroupReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle, BasicAuthorYearTextualReferenceStyle)
from sphinxcontrib.bibtex.style.referencing.extra_author import ExtraAuthorReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_empty import ExtraEmptyReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_label import ExtraLabelReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_year import ExtraYearReferenceStyle
from sphinxcontrib.bibtex.style.template import join2, post_text, pre_text, reference

HERE = Path(__file__).resolve().parent
#: the partial bundle (assets/vendor/plotly, made by tools/build_plotly_bundle.py) and its trace types
PLOTLY_PARTIAL = "vendor/plotly/plotly-snn.min.js"
PLOTLY_PARTIAL_TRACES = frozenset({"scatter", "heatmap"})
#: the full bundle, copied from the plotly package for a page that draws another trace type
PLOTLY_TARGET = "vendor/plotly.min.js"
_VERSION = re.compile(r"plotly\.js v(\d+\.\d+\.\d+)")


def _plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():
        raise FileNotFoundError(f"plotly.min.js not found in the plotly package at {path}")
    return path


def _js_version(path: Path) -> str | None:
    m = _VERSION.search(path.read_text(encoding="utf-8", errors="replace")[:600])
    return m.group(1) if m else None


def _check_plotly_partial(app, config) -> None:
    """The vendored partial bundle must be the plotly.js version that the plotly package writes figures for."""
    partial = Path(app.confdir) / "assets" / PLOTLY_PARTIAL
    full = _js_version(_plotly_js())
    if not partial.exists() or _js_version(partial) != full:
        raise ExtensionError(
            f"{partial} is missing or not plotly.js v{full} (the installed plotly package's): rebuild it "
            f"with `python -m tools.build_plotly_bundle` (needs node and npm)")


def _copy_plotly(app, exception) -> None:
    # always copied (pages are written in parallel, so which page needs it is not known here); served
    # only to a page whose figures use a trace type outside the partial bundle
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / PLOTLY_TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_plotly_js(), target)


# What in a page's body needs plotly.js or the widget renderer.
PLOTLY_MARKERS = ("snn-plotly-graph", "Plotly.newPlot", "application/vnd.plotly")
WIDGET_MARKERS = ("application/vnd.jupyter.widget-view+json",)
_SPEC = re.compile(r"var spec=(\{.*?\});var gd=document\.getElementById", re.S)


def plotly_trace_types(body: str) -> set[str] | None:
    """The trace types of the page's plotly figures (snnlib.viz's inline specs), None if unreadable."""
    specs = _SPEC.findall(body)
    if len(specs) != body.count("Plotly.newPlot(") or "application/vnd.plotly" in body:
        return None
    types: set[str] = set()
    for spec in specs:
        try:
            data = json.loads(spec).get("data", [])
        except ValueError:
            return None
        types |= {t.get("type", "scatter") for t in data}
    return types


def _page_scripts(app, pagename, templatename, context, doctree) -> None:
    """Add plotly.js and the widget renderer to this page only if its body uses them, deferred.

    ``app.add_js_file`` called during ``html-page-context`` adds the file to the current page only.
    """
    body = context.get("body") or ""
    if 'class="math' in body:
        app.add_js_file("snn-mathfit.js", priority=600, defer="defer")
    if any(m in body for m in PLOTLY_MARKERS):
        types = plotly_trace_types(body)
        if types is not None and types <= PLOTLY_PARTIAL_TRACES:
            app.add_js_file(PLOTLY_PARTIAL, priority=100, defer="defer")
        else:
            app.add_js_file(PLOTLY_TARGET, priority=100, defer="defer")
    if any(m in body for m in WIDGET_MARKERS):
        app.add_js_file(None, body=MATHJAX2_SHIM, priority=105)
        app.add_js_file("vendor/widgets/embed.js", priority=110, defer="defer")


# Stylesheets and scripts that every page gets from an extension but that only some pages use: each is
# dropped from a page whose body has none of its markers (a prose page carries no notebook cell and,
# today, no sphinx-design component).
PAGE_ONLY_ASSETS = {
    "sphinx-design.min.css": re.compile(r'class="[^"]*\bsd-'),
    "design-tabs.js": re.compile(r'class="[^"]*\bsd-tab'),
    "mystnb.": re.compile(r'class="[^"]*\b(cell|cell_input|cell_output|pasted-[a-z]+)\b'),
}


def _drop_unused_assets(app, pagename, templatename, context, doctree) -> None:
    """Leave out of this page the extensions' stylesheets and scripts that nothing in its body uses.

    ``css_files`` and ``script_files`` are the builder's lists, restored after each page by Sphinx.
    """
    body = context.get("body") or ""
    unused = [name for name, marker in PAGE_ONLY_ASSETS.items() if not marker.search(body)]
    if not unused:
        return
    for key in ("css_files", "script_files"):
        assets = context.get(key)
        if assets:
            assets[:] = [a for a in assets
                         if not any(Path(str(getattr(a, "filename", a) or "")).name.startswith(u) for u in unused)]


# ---- icons: the theme's Font Awesome web fonts, cut down to the icons the site uses ------------------

FA_FONTS = {  # the theme's web font -> the cut-down font the book serves (see _static/snnbook.css)
    "fa-solid-900.ttf": "fa-solid-900.woff",
    "fa-regular-400.ttf": "fa-regular-400.woff",
    "fa-brands-400.ttf": "fa-brands-400.woff",
}
FA_SUBSET_DIR = "vendor/fa-subset"
_FA_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:(?:before|after),?)+)\{content:"\\([0-9a-f]{4,5})"\}')
_FA_NAME = re.compile(r"\bfa-[a-z0-9-]+")
_PUA = re.compile(r'\\([ef][0-9a-f]{3})(?![0-9a-f])|([\ue000-\uf8ff])')


def icon_codepoints(outdir: Path) -> set[int]:
    """Every Font Awesome code point the site can show.

    The ``fa-*`` class names in the pages and in the scripts under ``_static``, looked up in the theme's
    stylesheet; and every private-use character that a stylesheet names outside those class rules (the
    theme's admonition and navigation icons, ``--pst-icon-*``).
    """
    static = outdir / "_static"
    by_name: dict[str, int] = {}
    loose: set[int] = set()
    for css in static.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        for names, cp in _FA_RULE.findall(text):
            for name in re.findall(r"fa-[a-z0-9-]+", names):
                by_name[name] = int(cp, 16)
        rest = _FA_RULE.sub("", text)
        for esc, lit in _PUA.findall(rest):
            loose.add(int(esc, 16) if esc else ord(lit))
    used: set[str] = set()
    for path in list(outdir.rglob("*.html")) + list(static.rglob("*.js")):
        if "vendor" in path.relative_to(outdir).parts or path.name == "fontawesome.js":   # not loaded
            continue
        used |= set(_FA_NAME.findall(path.read_text(encoding="utf-8", errors="replace")))
    return loose | {by_name[n] for n in used if n in by_name}


def _subset_icon_fonts(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from fontTools import subset

    outdir = Path(app.outdir)
    webfonts = outdir / "_static" / "vendor" / "fontawesome" / "webfonts"
    target = outdir / "_static" / FA_SUBSET_DIR
    target.mkdir(parents=True, exist_ok=True)
    codepoints = icon_codepoints(outdir)
    for src, dst in FA_FONTS.items():
        if not (webfonts / src).exists():
            raise ExtensionError(f"Font Awesome font {src} not found under {webfonts} (pydata-sphinx-theme changed?)")
        options = subset.Options()
        options.flavor = "woff"
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        font = subset.load_font(str(webfonts / src), options)
        sub = subset.Subsetter(options)
        sub.populate(unicodes=codepoints)
        sub.subset(font)
        subset.save_font(font, str(target / dst), options)


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
    if not (assets / "vendor" / "mathjax" / "startup.js").exists():
        raise FileNotFoundError(f"vendored MathJax missing under {assets}/vendor (see assets/vendor/README.md)")
    config.html_static_path.append(str(assets))
    # templates/layout.html: no fontawesome.js, and the search index only on the search page
    config.templates_path.insert(0, str(HERE / "templates"))


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
    app.connect("config-inited", _check_plotly_partial)
    app.connect("html-page-context", _page_scripts, priority=500)
    app.connect("html-page-context", _dedupe_scripts, priority=1)
    app.connect("html-page-context", _drop_unused_assets, priority=2)
    app.connect("build-finished", _copy_plotly)
    app.connect("build-finished", _subset_icon_fonts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
