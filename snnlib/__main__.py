"""The command line: ``python -m snnlib reproduce NAME --scale ci|gpu|full`` and ``python -m snnlib results``.

* ``reproduce NAME``: run an experiment of :mod:`snnlib.experiments` and write ``results/NAME-SCALE.json``;
  ``--download`` lets the loaders fetch a missing real dataset.  A bad scale, a scale the experiment
  does not run at, missing or unreadable data, and a download without a network each end in one message
  and exit code 2.
  Under ``torchrun --nproc_per_node=N -m snnlib reproduce ...`` the trainer uses every process.
* ``results``: print paper against measured from ``results/*.json`` and :mod:`snnlib.registry`
  (``--registry`` adds every paper number, ``--markdown`` prints the scoreboard page instead).  A record
  that is truncated or malformed ends in one message naming the file, and exit code 2.
* ``list``: the experiments and the datasets.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
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


def _not_run_yet() -> list[str]:
    """What ``python -m snnlib results`` prints before any run: every paper number, "not run yet", and the
    commands that fill it in (the experiments of that paper's chapter)."""
    from . import experiments, registry

    by_chapter: dict[str, list[str]] = {}
    for name in experiments.names():
        scales = list(experiments.get(name).datasets) or ["ci"]
        scale = "ci" if "ci" in scales else scales[0]
        by_chapter.setdefault(experiments.get(name).chapter, []).append(f"{name} --scale {scale}")
    lines = ["No results yet: the papers' numbers below are not run yet (snnlib.registry).",
             "Each paper's block names the commands that fill it in; --scale ci runs on this CPU in minutes, "
             "--scale gpu reproduces on a GPU.", ""]
    for paper in registry.PAPERS:
        numbers = registry.by_paper(paper)
        if not numbers:
            continue
        names = by_chapter.get(paper, [])
        lines.append(f"{registry.PAPERS[paper].citation} ({paper}):")
        for n in numbers:
            lines.append(f"  {n.key:<42} {registry.format_value(n):<26} not run yet   {n.metric}, {n.dataset}")
        if names:
            lines.append("  fill in with: " + "; ".join(f"python -m snnlib reproduce {e}" for e in names))
        else:
            lines.append("  no experiment of snnlib reproduces these yet")
        lines.append("")
    return lines



def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "reproduce":
        from . import experiments

        from .data import CorruptDataError, MissingDataError

        try:
            exp = experiments.get(args.name)
            scale = config.check_scale(args.scale)
        except ValueError as err:  # an unknown name, or a bad $SNNLIB_SCALE
            print(f"error: {err}", file=sys.stderr)
            if config.ENV_VAR in str(err):
                print(f"  (export {config.ENV_VAR}=ci, or pass --scale ci)", file=sys.stderr)
            return 2
        if exp.datasets and scale not in exp.datasets:
            print(f"error: --scale {scale}: {args.name} runs at {', '.join(exp.datasets)} only; expected "
                  f"--scale {' or '.join(exp.datasets)}{_sibling_hint(experiments, exp, scale)}", file=sys.stderr)
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
        except CorruptDataError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except Exception as err:  # URLError, socket and SSL errors of a download (maybe wrapped): one line
            net = _network_error(err) if args.download else None
            if net is None:
                raise
            data = exp.datasets.get(scale, "its dataset")
            print(f"error: --download could not fetch {data} for {args.name} --scale {scale}: "
                  f"{_reason(net)}; connect to the network and rerun, or rerun without --download to see where "
                  "to put the files by hand", file=sys.stderr)
            return 2
        for c in rec.get("claims") or []:
            print(f"{c['verdict']}: {c['statement']}")
        if "path" in rec:
            print(f"wrote {rec['path']} ({rec['wall_s']} s)")
        return 0
    if args.command == "results":
        from . import results

        bad = _bad_record(args.dir)
        if bad:
            print(f"error: {bad}", file=sys.stderr)
            return 2

        def render(folder: Optional[str]) -> str:
            if args.markdown:
                from . import scoreboard

                return scoreboard.scoreboard_markdown(folder)
            recs = results.load_results(folder)
            if not recs:  # a fresh clone: the papers' numbers, each with the command that fills it in
                return "\n".join(_not_run_yet()).rstrip() + "\n"
            return results.table(recs, include_registry=args.registry)

        try:
            text = render(args.dir)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
            where = _culprit(args.dir, render) or f"a record under {_results_folder(args.dir)}"
            print(f"error: {where} is malformed ({type(err).__name__}: {err}); rerun its experiment with "
                  "python -m snnlib reproduce NAME, or remove the file", file=sys.stderr)
            return 2
        print(text, end="")
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


def _sibling_hint(experiments, exp, scale: str) -> str:
    """``; at ci, try: python -m snnlib reproduce psu-neurons --scale ci`` (same chapter), or nothing."""
    others = [n for n in experiments.names() if n != exp.name and experiments.get(n).chapter == exp.chapter
              and scale in experiments.get(n).datasets]
    return f"; at {scale}, the chapter's check is: python -m snnlib reproduce {others[0]} --scale {scale}" if others \
        else ""


def _network_error(err: Optional[BaseException]) -> Optional[BaseException]:
    """The network error (urllib, socket, SSL) that ``err`` is or was raised from; None if none."""
    import socket
    import ssl
    import urllib.error

    seen = set()
    while err is not None and id(err) not in seen:  # the downloader may wrap the network error
        seen.add(id(err))
        if isinstance(err, (urllib.error.URLError, socket.timeout, socket.gaierror, ssl.SSLError,
                            ConnectionError, TimeoutError)):
            return err
        err = err.__cause__ or err.__context__
    return None


def _reason(err: BaseException) -> str:
    reason = getattr(err, "reason", None)
    return str(reason if reason is not None else err).strip() or type(err).__name__


def _results_folder(folder: Optional[str]) -> Path:
    if folder is not None:
        return Path(folder)
    from .records import results_dir

    return Path(results_dir())


_RECORD_KEYS = ("name", "scale", "rows", "dataset")
_ROW_KEYS = ("label", "metric")


def _culprit(folder: Optional[str], render) -> Optional[Path]:
    """The record that ``render`` fails on when it is alone in a folder (None if none fails alone)."""
    import shutil
    import tempfile

    root = _results_folder(folder)
    for path in sorted(root.glob("*.json")) if root.is_dir() else []:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(path, tmp)
            try:
                render(tmp)
            except Exception:
                return path
    return None


def _bad_record(folder: Optional[str]) -> Optional[str]:
    """The first ``*.json`` under the results folder that is not a readable record, described in one
    line (the file, what is wrong, what to do); None when every record reads."""
    root = _results_folder(folder)
    if folder is not None and not root.is_dir():
        return f"--dir {folder}: no such folder; expected a folder of result records (results/ by default)"
    fix = "rerun its experiment with python -m snnlib reproduce NAME, or remove the file"
    for path in sorted(root.glob("*.json")) if root.is_dir() else []:
        try:
            rec = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError) as err:
            return f"{path} cannot be read ({err}); {fix}"
        except json.JSONDecodeError as err:
            return f"{path} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}: truncated?); {fix}"
        if not isinstance(rec, dict):
            return (f"{path} holds a JSON {type(rec).__name__}; expected a record (an object with "
                    f"{', '.join(_RECORD_KEYS)}); {fix}")
        missing = [k for k in _RECORD_KEYS if k not in rec]
        if missing:
            return f"{path} is not a result of `python -m snnlib reproduce`: it lacks {', '.join(missing)}; {fix}"
        if rec["scale"] not in config.SCALES:
            return f"{path}: scale={rec['scale']!r}; expected one of {', '.join(config.SCALES)}; {fix}"
        for key in ("name", "dataset"):
            if not isinstance(rec[key], str):
                return f"{path}: {key}={rec[key]!r}; expected a string; {fix}"
        rows = rec["rows"]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            return f"{path}: rows is {type(rows).__name__}; expected a list of objects (one per number); {fix}"
        for i, r in enumerate(rows):
            lacks = [k for k in _ROW_KEYS if k not in r]
            if lacks:
                return f"{path}: rows[{i}] lacks {', '.join(lacks)}; {fix}"
        if rec.get("claims") is not None and not isinstance(rec["claims"], list):
            return f"{path}: claims is {type(rec['claims']).__name__}; expected a list; {fix}"
    return None


if __name__ == "__main__":
    sys.exit(main())
