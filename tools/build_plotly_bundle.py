"""Build the book's partial plotly.js bundle: plotly.js core (scatter included) and heatmap, nothing else.

The book draws only line/scatter charts and heatmaps, so it serves this bundle (about 1.1 MB) instead of
the full ``plotly.min.js`` of the ``plotly`` Python package (4.8 MB).  The bundle is committed under
``assets/vendor/plotly/``; rebuild it whenever the ``plotly`` pin moves to another plotly.js version (the
book build stops with a message when the two differ, see ``_ext/snnbook.py``) or a chapter starts drawing
another trace type (add it to ``TRACES``; until then the build serves the full bundle on that page).

Needs node and npm (the npm registry).  Usage::

    python -m tools.build_plotly_bundle            # version = that of the installed plotly package
    python -m tools.build_plotly_bundle --work /tmp/plotly-bundle
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "vendor" / "plotly"
BUNDLE = "plotly-snn.min.js"
#: the trace types in the bundle besides scatter, which plotly.js core always holds
TRACES = ("heatmap",)
ESBUILD = "0.28.2"


def installed_plotly_js_version() -> str:
    """The plotly.js version inside the installed ``plotly`` package (its plotly.min.js header)."""
    import plotly

    head = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text(encoding="utf-8")[:400]
    m = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", head)
    if not m:
        raise RuntimeError("cannot read the plotly.js version from the plotly package's plotly.min.js")
    return m.group(1)


def bundle_version(path: Path) -> str | None:
    m = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", path.read_text(encoding="utf-8")[:400]) if path.exists() else None
    return m.group(1) if m else None


def build(version: str, work: Path) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    (work / "package.json").write_text('{"name": "snn-plotly-bundle", "private": true}\n', encoding="utf-8")
    subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund",
                    f"plotly.js@{version}", f"esbuild@{ESBUILD}"], cwd=work, check=True)
    entry = work / "entry.js"
    entry.write_text("'use strict';\nvar Plotly = require('plotly.js/lib/core');\nPlotly.register([\n"
                     + "".join(f"    require('plotly.js/lib/{t}'),\n" for t in TRACES)
                     + "]);\nmodule.exports = Plotly;\n", encoding="utf-8")
    out = work / BUNDLE
    # the options of plotly.js's own esbuild-config.js; CSS imports (maplibre's, for map traces) dropped
    subprocess.run([str(work / "node_modules" / ".bin" / "esbuild"), str(entry), "--bundle", "--minify",
                    "--format=iife", "--global-name=Plotly", "--target=es2016", "--define:global=window",
                    "--define:define.amd=false", "--alias:stream=stream-browserify", "--loader:.css=empty",
                    f"--outfile={out}"], cwd=work, check=True)
    banner = (f"/**\n* plotly.js v{version}, partial bundle of the book: core (scatter) + {', '.join(TRACES)}\n"
              f"* built by tools/build_plotly_bundle.py with esbuild {ESBUILD}\n"
              "* Copyright 2012-2026, Plotly, Inc.\n* All rights reserved.\n* Licensed under the MIT license\n*/\n")
    text = out.read_text(encoding="utf-8")
    out.write_text(banner + text, encoding="utf-8")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", default=None, help="plotly.js version (default: the installed plotly package's)")
    ap.add_argument("--work", type=Path, default=None, help="npm working folder (default: a temporary one)")
    args = ap.parse_args()
    version = args.version or installed_plotly_js_version()
    if args.work is None:
        with tempfile.TemporaryDirectory() as tmp:
            built = build(version, Path(tmp))
            OUT.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(built, OUT / BUNDLE)
            shutil.copyfile(Path(tmp) / "node_modules" / "plotly.js" / "LICENSE", OUT / "LICENSE")
    else:
        built = build(version, args.work)
        OUT.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, OUT / BUNDLE)
        shutil.copyfile(args.work / "node_modules" / "plotly.js" / "LICENSE", OUT / "LICENSE")
    print(f"wrote {OUT / BUNDLE} (plotly.js v{version}, {(OUT / BUNDLE).stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
