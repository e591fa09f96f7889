"""Back-links from snnlib to the book, in the d2l manner, written by a tool so that they cannot drift.

Every public function or class of snnlib that a chapter uses carries, in its docstring, the line

    Defined in chapter 01 (Parallel Spiking Neurons), section "The masked PSN".

naming the **first** chapter (in ``_toc.yml`` order) whose code uses it and the heading above that first
use.  ``tests/test_backlinks.py`` checks every such line against the chapters' sources: the chapter is
the first to use the symbol, the heading exists there, and nothing a chapter uses lacks a line.  A
symbol that no chapter in the book uses yet may name the chapter that will (for example
``snnlib.energy`` and chapter 04); the test skips chapters that are not in ``_toc.yml`` yet.

    python3 -m tools.backlinks            # list what is missing or wrong
    python3 -m tools.backlinks --write    # (re)write the lines from the chapters' sources
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAMP = re.compile(r'Defined in chapter (\d\d) \(([^)]*)\), section "([^"]+)"\.')


@dataclass(frozen=True)
class Chapter:
    number: str          # "01"
    title: str           # "Parallel Spiking Neurons"
    path: Path
    code: tuple[str, ...]                     # code of each code cell, comments removed
    headings_before: tuple[str, ...]          # the heading above each code cell
    headings: frozenset[str]


def _toc_files() -> list[str]:
    text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return re.findall(r"file:\s*(notebooks/\d\d_[\w-]+)", text)


def _short_title(h1: str) -> str:
    # "00 · Foundations: the LIF neuron, ..." -> "Foundations"
    text = re.sub(r"^\d\d\s*·\s*", "", h1.strip())
    return re.split(r"[:(]", text, maxsplit=1)[0].strip()


def read_chapter(path: Path) -> Chapter:
    import jupytext

    nb = jupytext.read(path, fmt="md:myst")
    title, current, code, before, heads = "", "", [], [], set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            in_fence = False
            for line in cell.source.splitlines():
                if line.startswith("```"):
                    in_fence = not in_fence
                m = None if in_fence else re.match(r"^(#{1,4})\s+(.*\S)\s*$", line)
                if m:
                    text = m.group(2)
                    if m.group(1) == "#" and not title:
                        title = _short_title(text)
                    heads.add(text)
                    current = text
        elif cell.cell_type == "code":
            code.append("\n".join(line.split("#", 1)[0] for line in cell.source.splitlines()))
            before.append(current)
    return Chapter(path.stem[:2], title, path, tuple(code), tuple(before), frozenset(heads))


def chapters() -> list[Chapter]:
    """The chapters in the book, in ``_toc.yml`` order."""
    return [read_chapter(ROOT / f"{f}.md") for f in _toc_files() if (ROOT / f"{f}.md").exists()]


def public_symbols() -> list[tuple[str, str, object]]:
    """(module, name, object) for each public function and class defined in an snnlib module."""
    import snnlib

    out = []
    for info in sorted(pkgutil.walk_packages(snnlib.__path__, "snnlib."), key=lambda i: i.name):
        if info.name.endswith("__main__"):
            continue
        mod = importlib.import_module(info.name)
        names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
        for name in names:
            obj = getattr(mod, name, None)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == info.name:
                out.append((info.name, name, obj))
    return out


def _aliases(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts) + 1)]     # snnlib.neurons, snnlib.neurons.lif


def _imported(code: str, module: str, name: str) -> bool:
    for full in _aliases(module):
        for m in re.finditer(rf"from\s+{re.escape(full)}\s+import\s+(\([^)]*\)|[^\n]*)", code):
            if re.search(rf"\b{re.escape(name)}\b", m.group(1)):
                return True
    return False


def _without_imports(code: str) -> str:
    code = re.sub(r"from\s+[\w.]+\s+import\s+\([^)]*\)", "", code)
    return re.sub(r"^\s*(from\s+[\w.]+\s+)?import\s+[^\n]*$", "", code, flags=re.M)


def module_aliases(code: str) -> dict[str, set[str]]:
    """``{module: {alias}}`` for ``from a.b import c as d`` and ``import a.b.c as d`` in this code."""
    out: dict[str, set[str]] = {}
    for m in re.finditer(r"from\s+([\w.]+)\s+import\s+(\w+)\s+as\s+(\w+)", code):
        out.setdefault(f"{m.group(1)}.{m.group(2)}", set()).add(m.group(3))
    for m in re.finditer(r"^\s*import\s+([\w.]+)\s+as\s+(\w+)", code, re.M):
        out.setdefault(m.group(1), set()).add(m.group(2))
    return out


def uses(code: str, module: str, name: str, imported: bool = False, aliases: frozenset[str] = frozenset()) -> bool:
    """Does this code use ``module.name``: as ``alias.name`` (the module's own name, a parent's, or an
    ``import ... as`` alias of the chapter), or by name once the chapter imported it?"""
    for full in _aliases(module):
        last = full.rsplit(".", 1)[1]
        if re.search(rf"(?<![\w.]){re.escape(last)}\.{re.escape(name)}\b", code) or \
                re.search(rf"\b{re.escape(full)}\.{re.escape(name)}\b", code):
            return True
    for alias in aliases:
        if re.search(rf"(?<![\w.]){re.escape(alias)}\.{re.escape(name)}\b", code):
            return True
    return imported and bool(re.search(rf"(?<![\w.]){re.escape(name)}\b", _without_imports(code)))


def first_use(module: str, name: str, book: list[Chapter]) -> tuple[Chapter, str] | None:
    """The first chapter that imports or uses ``module.name``, and the heading above its first use."""
    for ch in book:
        imported = any(_imported(code, module, name) for code in ch.code)
        aliases = frozenset(a for code in ch.code for a in module_aliases(code).get(module, ()))
        for code, heading in zip(ch.code, ch.headings_before):
            if uses(code, module, name, imported, aliases):
                return ch, heading
        if imported:                                    # imported, never used: the import is the use
            return ch, next(h for code, h in zip(ch.code, ch.headings_before) if _imported(code, module, name))
    return None


def stamp_of(obj: object) -> tuple[str, str, str] | None:
    m = STAMP.search(inspect.getdoc(obj) or "")
    return (m.group(1), m.group(2), m.group(3)) if m else None


def problems() -> list[str]:
    """What is missing or wrong, one line each."""
    book = chapters()
    in_toc = {ch.number: ch for ch in book}
    out = []
    for module, name, obj in public_symbols():
        where = f"{module}.{name}"
        found = first_use(module, name, book)
        st = stamp_of(obj)
        if st is None:
            if found is not None:
                out.append(f"{where}: used in chapter {found[0].number} ({found[1]!r}) but has no back-link")
            continue
        number, _title, section = st
        if number not in in_toc:
            continue                           # a chapter still to be written
        ch = in_toc[number]
        if section not in ch.headings:
            out.append(f"{where}: chapter {number} has no heading {section!r}")
        if found is None:
            out.append(f"{where}: names chapter {number}, which does not use it")
        elif found[0].number != number:
            out.append(f"{where}: names chapter {number}, but chapter {found[0].number} uses it first")
    return out


def _rewrite(path: Path, start: int, length: int, line: str) -> bool:
    """Put ``line`` in the docstring of the definition at ``start`` (1-based, ``length`` lines) of ``path``,
    replacing an old back-link.  False when the definition has no docstring."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    body_from = start - 1
    i = body_from
    while i < len(lines) and i < body_from + length and '"""' not in lines[i]:
        i += 1
    if i >= len(lines) or i >= body_from + length or i > body_from + 12:   # no docstring at the top
        return False
    indent = re.match(r"\s*", lines[i]).group(0)
    j = i if lines[i].count('"""') >= 2 else i + 1
    while j < len(lines) and '"""' not in lines[j]:
        j += 1
    doc = "".join(lines[i:j + 1])
    old = re.search(r'Defined in chapter \d\d \([^)]*\)(, section)? "[^"]+"\.', doc) or \
        re.search(r"Defined in chapter \d\d \([^)]*\)\.", doc)
    if old:
        new_doc = doc[:old.start()] + line + doc[old.end():]
    elif i == j:                                               # one-line docstring
        head = doc.rstrip()[:-3].rstrip()
        new_doc = f"{head}\n\n{indent}{line}\n{indent}\"\"\"\n"
    else:
        close = doc.rstrip().rfind('"""')
        head = doc[:close].rstrip()
        new_doc = f"{head}\n\n{indent}{line}\n{indent}\"\"\"\n"
    if new_doc == doc:
        return True
    lines[i:j + 1] = [new_doc]
    path.write_text("".join(lines), encoding="utf-8")
    return True


def write() -> list[str]:
    """Write the back-link of every public symbol a chapter uses.  All positions are read before the
    first write, and each file is edited from its last definition up, so no edit moves another's lines."""
    book = chapters()
    todo = []
    for module, name, obj in public_symbols():
        found = first_use(module, name, book)
        if found is None:
            continue
        ch, heading = found
        line = f'Defined in chapter {ch.number} ({ch.title}), section "{heading}".'
        st = stamp_of(obj)
        if st and st[0] == ch.number and st[2] == heading:
            continue
        target = inspect.unwrap(obj)                 # a decorated function: its own source, not the wrapper's
        path = Path(inspect.getsourcefile(target)).resolve()
        if ROOT / "snnlib" not in path.parents:      # never write outside the library
            raise RuntimeError(f"{module}.{name}: its source is {path}, outside {ROOT / 'snnlib'}")
        src, start = inspect.getsourcelines(target)
        todo.append((path, start, len(src), f"{module}.{name}", line))
    changed = []
    for path, start, length, where, line in sorted(todo, key=lambda t: (str(t[0]), -t[1])):
        ok = _rewrite(path, start, length, line)
        changed.append(f"{where}: {line}" if ok else f"{where}: NO DOCSTRING, add by hand: {line}")
    return changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    if args.write:
        for line in write():
            print(line)
        return 0
    bad = problems()
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
