"""The first cell of every chapter (Colab's install cell): it does nothing off Colab or when snnlib is
installed, installs from the repository otherwise, and, when that fails (the repository is not published
yet, or there is no network), says how to install from a wheel or a clone instead; and dev.py wheel
builds that wheel."""
from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md"))


def first_cell(path: Path) -> str:
    text = path.read_text()
    start = text.index("```{code-cell}") + len("```{code-cell}")
    body = text[start:text.index("```", start)]
    return "\n".join(ln for ln in body.splitlines() if not ln.startswith(":tags:"))


def test_every_chapter_starts_with_the_same_install_cell():
    cells = {p.name: first_cell(p) for p in CHAPTERS}
    assert len(set(cells.values())) == 1, "the chapters' first cells differ"
    assert "google.colab" in next(iter(cells.values()))


def _run(cell: str, monkeypatch, *, colab: bool, installed: bool, pip_rc: int) -> list:
    calls = []
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    import importlib.util as iu

    real = iu.find_spec
    monkeypatch.setattr(iu, "find_spec", lambda name, *a: (object() if installed else None) if name == "snnlib"
                        else real(name, *a))

    def fake_run(cmd, **kw):
        calls.append(cmd)
        return types.SimpleNamespace(returncode=pip_rc, stderr="ERROR: could not reach the repository")
    monkeypatch.setattr(subprocess, "run", fake_run)
    exec(compile(cell, "<first cell>", "exec"), {})
    return calls


def test_the_install_cell_does_nothing_off_colab_or_when_installed(monkeypatch):
    cell = first_cell(CHAPTERS[0])
    assert _run(cell, monkeypatch, colab=False, installed=False, pip_rc=1) == []
    assert _run(cell, monkeypatch, colab=True, installed=True, pip_rc=1) == []
    assert len(_run(cell, monkeypatch, colab=True, installed=False, pip_rc=0)) == 1


def test_a_failed_install_says_what_to_do(monkeypatch):
    with pytest.raises(RuntimeError, match=r"python3 dev.py wheel.*%pip install /content/snnlib-\*\.whl"):
        _run(first_cell(CHAPTERS[0]), monkeypatch, colab=True, installed=False, pip_rc=1)


def test_dev_py_wheel_builds_an_installable_wheel(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "dev.py"), "wheel"], capture_output=True, text=True,
                         cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    wheels = list((ROOT / "dist").glob("snnlib-*-py3-none-any.whl"))
    assert wheels, out.stdout
    import zipfile

    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "snnlib/records.py" in names and "snnlib/neurons/fixed_point.py" in names
