"""Sphinx extension of the book: serve plotly.js and the widget renderer locally, in the right order.

* plotly.js comes from the installed ``plotly`` package (its version matches the figures' JSON) and is
  loaded before anything else, so that it defines the global ``Plotly`` that figures call.
* MathJax 3 and ``embed.js`` are vendored in ``assets/vendor`` (see its README).
* ``embed.js`` of ``@jupyter-widgets/html-manager`` renders saved widget state without require.js.
"""
from __future__ import annotations

import shutil
from pathlib import Path

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
    app.add_js_file(PLOTLY_TARGET, priority=100)
    app.add_js_file(None, body=MATHJAX2_SHIM, priority=105)
    app.add_js_file("vendor/widgets/embed.js", priority=110)
    app.connect("config-inited", _add_assets)
    app.connect("html-page-context", _dedupe_scripts, priority=1)
    app.connect("build-finished", _copy_plotly)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
