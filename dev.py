#!/usr/bin/env python3
"""The book's two commands, with their own set-up.

    python3 dev.py book    # make .venv, install, execute every chapter at ci scale, build the HTML
    python3 dev.py test    # make .venv, install, run every test (unit, notebooks, book, browser)

Both create ``.venv`` in the repository on first use and reinstall only when ``pyproject.toml`` or
``constraints.txt`` change.  The chapters are executed once, two at a time, by nbval (``pytest --nbval-lax``
under pytest-xdist); the executed copies land in ``_build/executed`` and the book is built from them, so
nothing runs twice.

Other sub-commands: ``setup`` (only the environment), ``execute`` (only the chapters), ``site`` (only
the HTML, from chapters already executed), ``freeze`` (rewrite constraints.txt from .venv), ``gpu`` (the
prepared GPU check, :mod:`snnlib.gpucheck`; its tiny CPU mode without CUDA), ``stability`` (every ci
experiment on a second block of seeds, :mod:`tools.stability`; not part of CI).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BUILD = ROOT / "_build"
EXECUTED = BUILD / "executed"
RESULTS = BUILD / "results"  # the records the chapters' experiments write while they execute
STAGE = BUILD / "src"
HTML = BUILD / "html"
STAMP = VENV / ".snnlib-installed"
# spikingjelly 2.0.0 declares torchaudio (and tensorboard, SciencePlots) although its neurons need none
# of them; no torchaudio release installs beside the torch that this machine provides, so it is
# installed without its declared dependencies, and loguru, which it does import, is a core dependency.
NO_DEPS = ("spikingjelly",)


def log(msg: str) -> None:
    print(f"[dev] {msg}", flush=True)


def run(cmd: list[str], env: dict[str, str] | None = None, check: bool = True) -> int:
    log(" ".join(str(c) for c in cmd))
    proc = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env)
    if check and proc.returncode != 0:
        sys.exit(proc.returncode)
    return proc.returncode


def vpy() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements() -> tuple[list[str], list[str]]:
    """(with dependencies, without) from pyproject.toml: the core and the book, test, vision, peers extras."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in ("book", "test", "vision", "peers"):
        reqs += project["optional-dependencies"][extra]

    def name(req: str) -> str:
        for sep in "<>=!~[; ":
            req = req.split(sep)[0]
        return req.strip().lower()

    return [r for r in reqs if name(r) not in NO_DEPS], [r for r in reqs if name(r) in NO_DEPS]


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"dev.py needs Python >= 3.11 (found {sys.version.split()[0]}); the book itself runs on 3.10+")
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest and vpy().exists():
        log(f"environment up to date: {VENV}")
        return
    t0 = time.time()
    if not vpy().exists():
        run([sys.executable, "-m", "venv", VENV])
    with_deps, without = requirements()
    pip = [vpy(), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-c", ROOT / "constraints.txt"]
    run(pip + with_deps)
    run(pip + ["--no-deps", *without, "-e", ROOT])
    STAMP.write_text(digest)
    log(f"environment ready in {time.time() - t0:.0f} s: {VENV}")


# Chapters draw with the inline backend, so that plt.show() leaves a PNG in the executed notebook (with
# Agg it leaves nothing, and the book had no figures).  Everything else runs headless on Agg.
INLINE = "module://matplotlib_inline.backend_inline"


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ)
    e.setdefault("SNNLIB_SCALE", "ci")
    e["PYTHONHASHSEED"] = "0"
    e["MPLBACKEND"] = "Agg"
    e["PATH"] = f"{vpy().parent}{os.pathsep}{e.get('PATH', '')}"
    e.update(extra)
    return e


# The chapters are executed two at a time (pytest-xdist).  "--dist loadfile" keeps every cell of a notebook
# on one worker: the cells share one kernel, and a chapter's cells depend on the ones before.  No chapter
# reads a record that another chapter writes in the same run (chapter 03's paralif-events reads the
# paralif-firing record of its own earlier cell), so the order between chapters does not matter.
CHAPTER_WORKERS = 2
PARALLEL = ["-n", str(CHAPTER_WORKERS), "--dist", "loadfile"]


def chapter_threads() -> str:
    """torch threads per chapter: the cores shared out between the chapters that run at once.

    torch's CPU thread pool spins at every parallel op until all its threads arrive; with two chapters of
    two threads each on two cores, a thread that has lost its core keeps the others spinning.  Measured on
    the book's 2-core machine, with a unit-test run beside them (load 5-6): chapters 04 and 06, two threads
    each, sat on one training cell for over 9 minutes, both threads of each kernel busy, until the run was
    stopped; with one thread each all nine chapters took 419 s.  An OMP_NUM_THREADS already set is kept.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return str(max(1, cores // CHAPTER_WORKERS))


def execute() -> None:
    """Execute every chapter once, under nbval, and keep the executed copies for the book."""
    shutil.rmtree(EXECUTED, ignore_errors=True)
    shutil.rmtree(RESULTS, ignore_errors=True)
    t0 = time.time()
    code = run([vpy(), "-m", "pytest", *PARALLEL, "-p", "tools.nbcapture", "--nbval-lax", "--nbval-current-env",
                "--nbval-cell-timeout=600", "-p", "no:cacheprovider", "notebooks/"],
               env=env(SNNLIB_STATIC="1", SNNLIB_EXECUTED_DIR=str(EXECUTED), MPLBACKEND=INLINE,
                       SNNLIB_RESULTS=str(RESULTS),
                       OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", chapter_threads())), check=False)
    report_timings(time.time() - t0)
    if code != 0:
        sys.exit(code)


def report_timings(wall: float) -> None:
    """Each chapter's time, from the ``*.timing.json`` that tools/nbcapture.py wrote beside its executed
    copy: under xdist the workers' own prints are not shown."""
    rows = [json.loads(p.read_text()) for p in sorted(EXECUTED.glob("*.timing.json"))]
    for r in rows:
        state = "FAILED" if r["failed"] else "ok"
        log(f"  {r['notebook']:<24} {r['seconds']:7.1f} s  {r['cells']:3d} cells  {r['worker']}  {state}")
    busy = sum(r["seconds"] for r in rows)
    log(f"{len(rows)} chapters executed in {wall:.0f} s ({busy:.0f} s of cells, {CHAPTER_WORKERS} at a time)")


def site() -> Path:
    # the scoreboard shows the records of this execution (RESULTS) and the committed gpu/full ones
    run([vpy(), "-m", "tools.build_site", "--executed", EXECUTED, "--stage", STAGE, "--out", BUILD,
         "--results", RESULTS], env=env())
    index = HTML / "index.html"
    print(index)
    return index


def _has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    return bool(out.strip())


def browser_install() -> None:
    """Headless Chromium (and a CJK font, for the 中文 text in screenshots): Debian's packages, when root."""
    need = []
    if not (shutil.which("chromium") or os.environ.get("SNNLIB_CHROMIUM")):
        need.append("chromium")
    if not _has_cjk_font():
        need.append("fonts-wqy-zenhei")
    if not need:
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        run(["apt-get", "update", "-qq"], check=False)
        run(["apt-get", "install", "-y", "-qq", *need], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    elif "chromium" in need:
        log("no chromium on PATH: the browser check will be skipped (install Debian's chromium, "
            "or set SNNLIB_CHROMIUM to a Chromium binary)")


def test() -> None:
    t_all = time.time()
    setup()
    browser_install()
    t0 = time.time()
    # the unit tests two at a time too, a test file per worker (module fixtures are built once), with the
    # cores shared out as for the chapters
    run([vpy(), "-m", "pytest", *PARALLEL, "-m", "not browser and not built", "-p", "no:cacheprovider", "tests/"],
        env=env(OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", chapter_threads())))
    log(f"unit tests in {time.time() - t0:.0f} s ({CHAPTER_WORKERS} at a time)")
    execute()
    t0 = time.time()
    site()
    log(f"book built in {time.time() - t0:.0f} s")
    # the checks of what was built: figures in the executed chapters, then the site in Chromium
    run([vpy(), "-m", "pytest", "-m", "built or browser", "-p", "no:cacheprovider", "tests/"],
        env=env(SNNLIB_SITE=str(HTML), SNNLIB_EXECUTED_DIR=str(EXECUTED), SNNLIB_RESULTS=str(RESULTS)))
    log(f"all tests passed in {time.time() - t_all:.0f} s")


def book() -> None:
    setup()
    execute()
    site()


def freeze() -> None:
    out = subprocess.run([vpy(), "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True,
                         check=True).stdout
    lines = [ln for ln in out.splitlines() if ln and not ln.startswith("-e")]
    (ROOT / "constraints.txt").write_text(
        "# Exact versions for CI and the README's commands (pip -c).  Regenerate with: python3 dev.py freeze\n"
        + "\n".join(lines) + "\n")
    log(f"wrote constraints.txt ({len(lines)} packages)")


def gpu() -> None:
    """The prepared GPU check (snnlib.gpucheck): every neuron and model on CUDA against the CPU, the neuron
    bench with synchronisation, a slice of the gpu recipe; one JSON record in results/.  On a machine without
    CUDA it runs the tiny CPU mode (the unit tests run that mode too)."""
    setup()
    tiny = [] if subprocess.run([vpy(), "-c", "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"],
                                cwd=ROOT).returncode == 0 else ["--tiny"]
    if tiny:
        log("no CUDA device: running the GPU check's tiny CPU mode")
    run([vpy(), "-m", "snnlib.gpucheck", *tiny], env=env())


def stability() -> None:
    """Every ci experiment on seeds 10-14 (results/stability/), its claims beside the chapters' run (not part
    of CI: see tools/stability.py)."""
    setup()
    run([vpy(), "-m", "tools.stability"], env=env(OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1")))


def wheel() -> None:
    """Build snnlib's wheel into dist/ (the path a Colab reader installs from while the repository is not
    published: upload dist/snnlib-*.whl and %pip install it)."""
    setup()
    run([vpy(), "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", ROOT / "dist", ROOT])
    for w in sorted((ROOT / "dist").glob("snnlib-*.whl")):
        print(w)


COMMANDS = {"book": book, "test": test, "setup": setup, "execute": lambda: (setup(), execute()),
            "site": lambda: (setup(), site()), "freeze": freeze, "gpu": gpu, "stability": stability,
            "wheel": wheel}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python3 dev.py {{{'|'.join(COMMANDS)}}}")
    COMMANDS[sys.argv[1]]()
