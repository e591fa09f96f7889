"""Results tables and the scoreboard: one number per experiment, real tables, figures, no gpu result from a CPU."""
from __future__ import annotations

import json
import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from snnlib.experiments import CHAPTERS
from snnlib import experiments, registry, results, scoreboard
from tools import build_site

ROOT = Path(__file__).resolve().parents[1]


def _row(label, measured, key, per_seed=None, std=None):
    per_seed = per_seed or [measured]
    return {"label": label, "metric": "max test accuracy", "measured": measured, "std": std, "n": len(per_seed),
            "unit": "%", "per_seed": per_seed, "paper_key": key}


def _record(scale="ci", dataset="digits-pixels", psn=92.78, device="cpu (x86_64, 2 threads)", **extra):
    rows = [_row("PSN", psn, "psn/scifar10/psn", [92.50, 93.89, 91.94], 1.0),
            _row("LIF", 21.02, "psn/scifar10/lif", [20.0, 24.0, 19.06], 3.24)]
    return {"name": "psn-neurons", "chapter": "psn", "title": "Neuron comparison", "scale": scale, "dataset": dataset,
            "comparison": experiments.COMPARISONS[scale], "seeds": [0, 1, 2], "seed": 0, "device": device,
            "config": {"T": 64, "epochs": 15}, "rows": rows, "wall_s": 1.0,
            "claims": [{"statement": "PSN beats LIF.", "source": "psn/scifar10/psn", "verdict": "holds",
                        "a": "PSN", "b": "LIF", "direction": "greater", "diffs": [72.5, 69.9, 72.9],
                        "mean": 71.8, "low": 68.0, "high": 75.5, "half_width": 3.8, "n": 3, "unit": "points",
                        "why": "", "value": None, "margin": None, "margin_reason": None}], **extra}


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.rows, self.cell = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self.cell = ""

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self.cell)
            self.cell = None


def test_record_table_displays_as_an_html_table_with_the_records_cells():
    t = results.record_table(_record(), headers={"what": "neuron"})
    p = _Cells()
    p.feed(t._repr_html_())
    assert "table" in p.tags and "thead" in p.tags and "caption" in p.tags
    header, psn, lif = p.rows
    assert header == ["neuron", "measured (mean ± std)", "per seed", "paper (Sequential CIFAR-10)"]
    assert psn == ["PSN", "92.78 ± 1.00%", "92.50, 93.89, 91.94", "88.45%"]
    assert lif == ["LIF", "21.02 ± 3.24%", "20.00, 24.00, 19.06", "81.50%"]
    html = t._repr_html_()
    assert "Fang et al., 2023a, official training logs" in html  # the paper's source, in a note
    assert "not on digits-pixels" in html  # ci: a claim check, said in words
    md = t._repr_markdown_()
    assert "| PSN | 92.78 ± 1.00% | 92.50, 93.89, 91.94 | 88.45% |" in md
    assert "PSN" in str(t) and "92.78 ± 1.00%" in repr(t)
    with_source = results.record_table(_record(), columns=("what", "measured", "source"))
    assert with_source.rows[0] == ["PSN", "92.78 ± 1.00%", "Fang et al., 2023a, official training logs"]


def test_record_table_names_a_bad_column():
    with pytest.raises(ValueError, match=r"unknown 'seeds'.*expected names from what, measured"):
        results.record_table(_record(), columns=("what", "seeds"))
    with pytest.raises(ValueError, match="rec is not a record.*rows"):
        results.record_table({"name": "x", "scale": "ci", "dataset": "d"})


def _write(folder: Path, rec: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{rec['name']}-{rec['scale']}.json").write_text(json.dumps(rec))


def _measured_cells(md: str) -> set[str]:
    return set(re.findall(r"\d+\.\d\d ± \d+\.\d\d%", md))


def test_the_book_shows_this_builds_records_and_never_a_committed_ci_file(tmp_path):
    fresh, committed = tmp_path / "build-results", tmp_path / "results"
    _write(fresh, _record(psn=92.30))
    _write(committed, _record(psn=99.00))  # a stale committed ci record
    _write(committed, _record("gpu", "scifar10", psn=80.00, device="cuda (Tesla T4)"))
    recs = results.book_records(fresh, committed)
    assert [(r["scale"], r["rows"][0]["measured"], r["_origin"]) for r in recs] == [
        ("ci", 92.30, "this build"), ("gpu", 80.00, "committed")]
    page = build_site.write_scoreboard(tmp_path / "stage", fresh, committed)
    md = page.read_text()
    shown = {results.format_measured(r) for rec in recs for r in rec["rows"]}
    assert _measured_cells(md) == shown  # exactly this build's numbers and the committed gpu ones
    assert "99.00" not in md and "PSN 99.0%" not in md
    # a gpu run that this build executed replaces the committed one
    _write(fresh, _record("gpu", "scifar10", psn=81.00, device="cuda (Tesla T4)"))
    assert [r["rows"][0]["measured"] for r in results.book_records(fresh, committed)] == [92.30, 81.00]


def test_the_repository_commits_no_ci_record():
    """The book runs the ci experiments itself; a committed ci record could only disagree with it."""
    listed = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    # the records are results/*.json; results/bench/ holds the bench's saved tables, which are no records
    tracked = [ROOT / f for f in listed.stdout.split() if f.endswith(".json") and f.count("/") == 1]
    assert not [p.name for p in tracked if p.is_file() and json.loads(p.read_text())["scale"] == "ci"]


def test_a_gpu_record_that_ran_on_a_cpu_is_never_shown_as_a_gpu_result(tmp_path):
    on_cpu = _record("gpu", "scifar10", psn=77.77)
    flagged = _record("gpu", "scifar10", psn=66.66, device="cuda (Tesla T4)", device_matches_scale=False)
    good = _record("gpu", "scifar10", psn=55.55, device="cuda (Tesla T4)")
    assert not results.device_matches_scale(on_cpu) and not results.device_matches_scale(flagged)
    assert results.device_matches_scale(good) and results.device_matches_scale(_record())
    for bad in (on_cpu, flagged):
        md = scoreboard.scoreboard_markdown(records=[bad])
        assert f"{bad['rows'][0]['measured']:.2f}" not in md and "## Not shown" in md and "not a gpu result" in md
        row = results.comparison_rows([bad])[0]
        assert row["scale"].startswith("gpu settings on") and row["comparison"].startswith("not a gpu result")
        assert "not a gpu result" in results.record_table(bad)._repr_html_()
    assert "55.55" in scoreboard.scoreboard_markdown(records=[good])


def test_scoreboard_is_narrow_states_the_setting_once_and_draws_paper_against_measured(tmp_path):
    recs = [_record(), _record("gpu", "scifar10", psn=80.0, device="cuda (Tesla T4)")]
    nothing_to_draw = _record("gpu", "shd", device="cuda (Tesla T4)")
    nothing_to_draw["name"] = "speed"
    for row in nothing_to_draw["rows"]:
        row["paper_key"] = "paralif/speedup"  # not a percentage: no bar against a measured accuracy
    figures = scoreboard.scoreboard_figures(recs + [nothing_to_draw], tmp_path)
    assert set(figures) == {("psn-neurons", "ci"), ("psn-neurons", "gpu")}
    import matplotlib.image

    from PIL import Image

    for name in figures.values():
        img = matplotlib.image.imread(tmp_path / name)
        dpi = Image.open(tmp_path / name).info["dpi"][0]
        # a real, non-blank figure within the 688 px column (7.17 in at 96 px per inch), drawn at high DPI
        assert img.shape[1] / dpi <= 688 / 96 and dpi >= 144 and img[..., :3].std() > 0.05
    md = scoreboard.scoreboard_markdown(records=recs, figures=figures, figure_dir="figs")
    assert "![psn-neurons at ci: measured against the paper](figs/psn-neurons-ci.png)" in md
    tables = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert tables and max(ln.count(" | ") + 1 for ln in tables) <= 4
    setting = registry.get("psn/scifar10/psn").setting
    assert not [ln for ln in tables if setting in ln]  # the long setting is never a column
    # stated once per task, and once above the paper's own numbers
    assert md.count(setting) == len(recs) + 1
    for p in registry.PAPERS.values():  # author-year through the bibliography's own style
        assert f"{{cite:t}}`{p.bibkey}`" in md
    for n in registry.REGISTRY.values():
        assert f"| {n.what} | {registry.format_value(n, mark=False)} |" in md, n.key


def test_scoreboard_from_a_real_run_shows_its_numbers(monkeypatch, tmp_path):
    from snnlib.experiments import psn

    def tiny(scale):
        return {"dataset": "digits-pixels", "T": 64, "hidden": 8, "layers": 1, "epochs": 1, "batch_size": 64, "k": 4,
                "orders": [1, 2], "order_kinds": ["masked_psn"], "seeds": 2}

    monkeypatch.setattr(psn, "settings", tiny)
    monkeypatch.setenv("SNNLIB_RESULTS", str(tmp_path / "fresh"))
    rec = experiments.reproduce("psn-neurons", "ci", progress=False)
    assert Path(rec["path"]).parent == tmp_path / "fresh"
    recs = results.book_records(tmp_path / "fresh", tmp_path / "none")
    md = scoreboard.scoreboard_markdown(records=recs)
    for row in rec["rows"]:
        assert f"| {row['label']} | {results.format_measured(row)} |" in md
    assert rec["claims"] and all(f"**{c['verdict']}**: {c['statement']}" in md for c in rec["claims"])


def test_the_site_build_names_a_missing_results_folder(tmp_path):
    with pytest.raises(SystemExit, match=r"--results=.*missing is not a folder.*SNNLIB_RESULTS="):
        build_site.write_scoreboard(tmp_path / "stage", tmp_path / "missing", tmp_path)
    args = build_site.parser().parse_args(["--executed", "e", "--stage", "s", "--out", "_build",
                                           "--results", "_build/results"])
    assert args.results == Path("_build/results")


# --- the book's own execution (marked built: run by dev.py test after the chapters are executed) --------

def _build_results() -> Path:
    raw = os.environ.get("SNNLIB_RESULTS", "").strip()
    return Path(raw) if raw else ROOT / "_build" / "results"


def _outputs_text(nb_path: Path) -> str:
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", ""))
            out += [v if isinstance(v, str) else "".join(v) for k, v in (o.get("data") or {}).items()
                    if k.startswith("text/")]
    return "\n".join(out)


@pytest.mark.built
def test_the_chapters_and_the_scoreboard_show_the_same_numbers():
    executed = Path(os.environ.get("SNNLIB_EXECUTED_DIR", "").strip() or ROOT / "_build" / "executed")
    if not executed.is_dir():
        pytest.skip("no executed chapters (run: python3 dev.py execute)")
    folder = _build_results()
    recs = results.load_results(folder)
    assert recs, (f"no records in {folder}: execute the chapters with SNNLIB_RESULTS={folder}, so that the "
                  f"scoreboard is built from the same run as the chapters")
    # notebook NN_name is chapter experiments.CHAPTERS[NN] (08_side_by_side and later: its own name)
    chapters = {}
    for p in executed.glob("[0-9][0-9]_*.ipynb"):
        n = int(p.stem[:2])
        chapters[CHAPTERS[n] if n < len(CHAPTERS) else p.stem.split("_", 1)[1]] = p
    site = Path(os.environ.get("SNNLIB_SITE", ROOT / "_build" / "html")) / "book" / "scoreboard.html"
    board = site.read_text(encoding="utf-8") if site.is_file() else None
    missing = []
    for rec in recs:
        page = _outputs_text(chapters[rec["chapter"]]) if rec["chapter"] in chapters else ""
        for row in rec["rows"]:
            shown = results.format_measured(row)
            if shown not in page:
                missing.append(f"{rec['name']} {row['label']}: {shown} not printed by chapter {rec['chapter']}")
            if board is not None and results.device_matches_scale(rec) and shown not in board:
                missing.append(f"{rec['name']} {row['label']}: {shown} not on the scoreboard")
    assert not missing, "\n".join(missing)
