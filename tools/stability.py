"""Stability of the verdicts: every ``ci`` experiment rerun on another block of seeds, its claims set beside
the chapters' run.

    python3 dev.py stability      # runs the block (seeds 10-14), then prints the table

The chapters run each experiment on seeds 0-4 (``_build/results``, written by ``python3 dev.py test`` or
``book``); this reruns each on seeds 10-14 into ``results/stability/`` and lists every claim with its
verdict on both blocks.  No claim may go from ``holds`` to ``fails`` or back; a change between ``holds`` and
``inconclusive`` is listed, not a failure.  The book's pages do not show this; the closing notes do.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "stability"
FLIPS = {("holds", "fails"), ("fails", "holds")}


def run_block(seed: int, out: Path, names: Optional[Sequence[str]] = None) -> list[str]:
    """Reproduce every experiment that runs at ``ci`` with first seed ``seed`` into ``out``."""
    from snnlib import experiments

    done = []
    for name in names or experiments.names():
        if "ci" not in experiments.get(name).datasets:
            continue
        print(f"[stability] {name}, seeds from {seed}", flush=True)
        experiments.reproduce(name, "ci", seed=seed, out_dir=out, progress=False)
        done.append(name)
    return done


def compare(first: Path, second: Path) -> tuple[str, list[str]]:
    """The Markdown table of every claim's verdict in ``first`` and ``second``, and the claims that flipped
    between ``holds`` and ``fails``."""
    from snnlib import results

    a = {r["name"]: r for r in results.load_results(first) if r["scale"] == "ci"}
    b = {r["name"]: r for r in results.load_results(second) if r["scale"] == "ci"}
    lines = ["| experiment | claim | seeds " + "/".join(map(str, next(iter(a.values()), {}).get("seeds", [])[:1]))
             + "… | seeds " + "/".join(map(str, next(iter(b.values()), {}).get("seeds", [])[:1])) + "… | |",
             "|---|---|---|---|---|"]
    flips = []
    for name in a:
        if name not in b:
            continue
        vb = {c["statement"]: c["verdict"] for c in b[name].get("claims", [])}
        for c in a[name].get("claims", []):
            other = vb.get(c["statement"], "-")
            mark = "FLIP" if (c["verdict"], other) in FLIPS else ("changed" if other != c["verdict"] else "")
            if mark == "FLIP":
                flips.append(f"{name}: {c['statement']}")
            lines.append(f"| {name} | {c['statement']} | {c['verdict']} | {other} | {mark} |")
    return "\n".join(lines), flips


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.stability", description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=10, help="first seed of the second block (default 10)")
    p.add_argument("--first", default=str(ROOT / "_build" / "results"),
                   help="the chapters' records (default _build/results; run python3 dev.py test first)")
    p.add_argument("--out", default=str(OUT), help="where the second block's records go")
    p.add_argument("--only", nargs="*", default=None, help="experiment names (default: every ci experiment)")
    p.add_argument("--compare-only", action="store_true", help="do not run; compare the records already there")
    a = p.parse_args(argv)
    first, out = Path(a.first), Path(a.out)
    if not any(first.glob("*.json")):
        print(f"[stability] no records in {first}: running the first block (seeds 0-4) there too", flush=True)
        run_block(0, first, a.only)
    if not a.compare_only:
        run_block(a.seed, out, a.only)
    table, flips = compare(first, out)
    print(table)
    print(f"\n{len(flips)} claim(s) flipped between holds and fails" + (":\n" + "\n".join(flips) if flips else ""))
    return 1 if flips else 0


if __name__ == "__main__":
    sys.exit(main())
