"""Imports run one way through snnlib, and networks live in ``snnlib.models``.

The layers, lowest first (a module may import from its own layer and the layers below it, never above):

0. ``config``;
1. the leaves: ``utils``, ``records`` (paths, versions, environment, statistics, atomic JSON),
   ``timing``, ``registry``, ``energy`` (the models count their own operations with its constants),
   ``peers``, ``viz``;
2. ``neurons``;
3. ``models``;
4. ``data``, ``train``;
5. ``results``, ``scoreboard``;
6. ``experiments``;
7. ``bench`` and the command line (``__main__``).

Every import counts, the ones inside functions too: a lazy import is still a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "snnlib"

LAYERS = (
    ("config",),
    ("utils", "records", "timing", "registry", "energy", "peers", "viz"),
    ("neurons",),
    ("models",),
    ("data", "train"),
    ("results", "scoreboard"),
    ("experiments", "gpu_budget"),
    ("bench", "gpucheck", "__main__"),
)
LAYER = {unit: i for i, units in enumerate(LAYERS) for unit in units}


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path) -> set[str]:
    """The snnlib units (``snnlib.<unit>``) that the file at ``path`` imports, anywhere in it."""
    mod = _module_name(path)
    package = mod if path.name == "__init__.py" else mod[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[list[str]] = []
        if isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            base = base + (node.module.split(".") if node.module else [])
            names = [base + [a.name] for a in node.names] if not node.module and node.level else [base]
        for parts in names:
            if parts and parts[0] == "snnlib" and len(parts) > 1:
                out.add(parts[1])
    return out


def _unit(path: Path) -> str:
    return _module_name(path)[1] if len(_module_name(path)) > 1 else "__init__"


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        unit = _unit(path)
        if unit == "__init__":
            continue  # the package's own __init__ imports only config and utils (checked below)
        edges.setdefault(unit, set()).update(u for u in _imports(path) if u != unit)
    return edges


def test_every_unit_has_a_layer():
    units = {_unit(p) for p in ROOT.rglob("*.py")} - {"__init__"}
    assert units <= set(LAYER), f"give {sorted(units - set(LAYER))} a layer in tests/test_layers.py"


def test_imports_run_one_way():
    bad = [f"snnlib.{a} (layer {LAYER[a]}) imports snnlib.{b} (layer {LAYER[b]})"
           for a, targets in graph().items() for b in targets if b in LAYER and LAYER[b] > LAYER[a]]
    assert not bad, "imports against the layer order:\n" + "\n".join(sorted(bad))
    assert _imports(ROOT / "__init__.py") <= {"config", "utils"}


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}

    def visit(u: str, path: list[str]) -> None:
        state[u] = 1
        for v in sorted(edges.get(u, ())):
            if state.get(v) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path + [u, v]))
            if v not in state:
                visit(v, path + [u])
        state[u] = 2

    for u in sorted(edges):
        if u not in state:
            visit(u, [])


def test_the_detector_sees_lazy_and_relative_imports(tmp_path):
    """The check would fail on the import that the layer move removed (results importing experiments)."""
    f = ROOT / "results.py"
    assert "records" in _imports(f) and "experiments" not in _imports(f)
    assert "bench" not in graph()["experiments"] and "experiments" in graph()["bench"]


def test_networks_live_in_models():
    """No ``nn.Module`` subclass is defined in snnlib.experiments: it holds settings, runs, rows and claims."""
    found = []
    for path in (ROOT / "experiments").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b) for b in node.bases}
                if bases & {"nn.Module", "torch.nn.Module", "Module"}:
                    found.append(f"{path.name}: {node.name}")
    assert not found, "networks defined in snnlib/experiments (move them to snnlib/models): " + ", ".join(found)
