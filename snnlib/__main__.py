"""The command line: ``python -m snnlib reproduce NAME --scale ci|gpu|full`` and ``python -m snnlib results``.

* ``reproduce NAME``: run an experiment of :mod:`snnlib.experiments` and write ``results/NAME-SCALE.json``;
  ``--download`` lets the loaders fetch a missing real dataset.  A bad scale or missing data ends in one
  message and exit code 2.
  Under ``torchrun --nproc_per_node=N -m snnlib reproduce ...`` the trainer uses every process.
* ``results``: print paper against measured from ``results/*.json`` and :mod:`snnlib.registry`
  (``--registry`` adds every paper number, ``--markdown`` prints the scoreboard page instead).
* ``list``: the experiments and the datasets.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from . import config


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m snnlib", description="Reproductions of Parallel Spiking Neurons, "
                                "annotated.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("reproduce", help="run a named experiment and write results/NAME-SCALE.json")
    r.add_argument("name", help="experiment name (see: python -m snnlib list)")
    r.add_argument("--scale", choices=config.SCALES, default=None,
                   help="ci (this CPU, offline), gpu (one GPU) or full (the paper's setting); default: $SNNLIB_SCALE")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", default=None, help="folder for the JSON (default: the repository's results/)")
    r.add_argument("--quiet", action="store_true", help="no progress bars or epoch lines")
    r.add_argument("--download", action="store_true",
                   help="fetch a missing real dataset with its library's downloader (tonic, torchvision) into "
                   "the data root ($SNNLIB_DATA)")
    s = sub.add_parser("results", help="print paper against measured")
    s.add_argument("--dir", default=None, help="folder of result JSON files (default: results/)")
    s.add_argument("--registry", action="store_true", help="also list every paper number of the registry")
    s.add_argument("--markdown", action="store_true", help="print the book's scoreboard page (MyST markdown)")
    sub.add_parser("list", help="list the experiments and datasets")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "reproduce":
        from . import experiments

        from .data import MissingDataError

        try:
            experiments.get(args.name)
            scale = config.check_scale(args.scale)
        except ValueError as err:  # an unknown name, or a bad $SNNLIB_SCALE
            print(f"error: {err}", file=sys.stderr)
            if config.ENV_VAR in str(err):
                print(f"  (export {config.ENV_VAR}=ci, or pass --scale ci)", file=sys.stderr)
            return 2
        try:
            rec = experiments.reproduce(args.name, scale, seed=args.seed, progress=not args.quiet, out_dir=args.out,
                                        download=args.download)
        except MissingDataError as err:
            print(f"error: {err}", file=sys.stderr)
            if err.downloadable and not args.download:
                print(f"To fetch it, rerun with --download:\n  python -m snnlib reproduce {args.name} --scale {scale} "
                      "--download", file=sys.stderr)
            return 2
        claim = rec.get("claim")
        if claim:
            print(f"claim {'holds' if claim['holds'] else 'does not hold'}: {claim['measured']}")
        if "path" in rec:
            print(f"wrote {rec['path']} ({rec['wall_s']} s)")
        return 0
    if args.command == "results":
        from . import results

        if args.markdown:
            from . import scoreboard

            print(scoreboard.scoreboard_markdown(args.dir), end="")
        else:
            print(results.table(results.load_results(args.dir), include_registry=args.registry), end="")
        return 0
    if args.command == "list":
        from . import data, experiments

        print("experiments:")
        for name in experiments.names():
            e = experiments.get(name)
            print(f"  {name:<18} chapter {e.chapter:<12} {e.title}  [" +
                  ", ".join(f"{s}: {d}" for s, d in e.datasets.items()) + "]")
        print("datasets:")
        for name, spec in data.DATASETS.items():
            print(f"  {name:<16} {'offline' if spec.offline else 'download'}  {spec.description}")
        return 0
    return 2  # pragma: no cover - argparse requires a command


if __name__ == "__main__":
    sys.exit(main())
