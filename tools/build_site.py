"""Build the HTML book from the chapters that nbval executed (see dev.py and tools/nbcapture.py).

The book's sources are staged in ``_build/src``: the prose pages, the configuration and the executed
copy of every chapter.  Generated pages (the reproduction scoreboard, from the records that the same
execution wrote to ``--results``, and its figures) are written there too.  Jupyter
Book then builds with warnings as errors, so a broken reference, a missing figure or a failing
generated page stops the build.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
COPY = ["_config.yml", "_toc.yml", "_ext", "_static", "assets", "book"]


def stage(executed: Path, stage_dir: Path, results_dir: Optional[Path] = None,
          committed: Path = ROOT / "results") -> None:
    shutil.rmtree(stage_dir, ignore_errors=True)
    stage_dir.mkdir(parents=True)
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, stage_dir / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, stage_dir / name)
    (stage_dir / "notebooks").mkdir()
    missing = []
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        done = executed / nb.name
        if not done.exists():
            missing.append(nb.name)
            continue
        shutil.copy2(done, stage_dir / "notebooks" / nb.name)
    if missing:
        sys.exit(f"no executed copy of {', '.join(missing)} in {executed}: a cell failed, or the chapters were "
                 f"not executed (run: python3 dev.py execute)")
    write_scoreboard(stage_dir, results_dir, committed)


#: the folder of the scoreboard's figures, beside book/scoreboard.md in the staged sources
FIGURES = "scoreboard-figures"


def write_scoreboard(stage_dir: Path, results_dir: Optional[Path], committed: Path = ROOT / "results") -> Path:
    """Write ``book/scoreboard.md`` and its figures into the staged sources.

    The records are those of this build's execution (``results_dir``: the folder the chapters wrote to,
    ``$SNNLIB_RESULTS`` during ``dev.py execute``) and the committed ``gpu``/``full`` records of
    ``committed``; committed ``ci`` records are not used (see :func:`snnlib.results.book_records`).
    """
    from snnlib import results, scoreboard

    if results_dir is not None and not results_dir.is_dir():
        sys.exit(f"--results={results_dir} is not a folder: execute the chapters with SNNLIB_RESULTS={results_dir} "
                 f"(python3 dev.py execute) so that the scoreboard shows this build's numbers")
    if results_dir is None:
        print("[build_site] no --results folder: the scoreboard shows only the committed gpu/full records", flush=True)
    records = results.book_records(results_dir, committed)
    book = stage_dir / "book"
    figures = scoreboard.scoreboard_figures(records, book / FIGURES)
    page = book / "scoreboard.md"
    page.write_text(scoreboard.scoreboard_markdown(records=records, figures=figures, figure_dir=FIGURES),
                    encoding="utf-8")
    return page


def build(stage_dir: Path, out: Path) -> None:
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(stage_dir), "--path-output", str(out.parent),
           "--all", "--warningiserror", "--keep-going", "--quiet"]
    # jupyter-book writes to <path-output>/_build/html
    print("[build_site]", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"book build failed (exit {proc.returncode}); warnings count as errors")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--executed", type=Path, required=True)
    ap.add_argument("--stage", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="the _build folder; HTML goes to OUT/html")
    ap.add_argument("--results", type=Path, default=None,
                    help="the records that this build's chapter execution wrote (its $SNNLIB_RESULTS, e.g. "
                         "_build/results); the scoreboard shows them and the committed gpu/full records")
    return ap


def main() -> None:
    args = parser().parse_args()
    if args.out.name != "_build":
        sys.exit(f"--out={args.out} must be a folder named _build (jupyter-book writes <parent>/_build/html)")
    stage(args.executed, args.stage, args.results)
    build(args.stage, args.out)


if __name__ == "__main__":
    main()
