"""python -m snnlib.bench: the structure of what it prints and returns.  No timed assertion: what the
numbers are is the benchmark's business, only that every column and mode is there is the test's."""
from __future__ import annotations

import io
import math

import pytest

from snnlib import bench

COLS = ["x*2", *bench.METHOD_NAMES, "rfLIF", "sPSN", "PSN", "sj:LIF", "sj:sPSN", "sj:PSN"]
RATIOS = ["auto/floor", "auto/best", "LIF/rf", "sPSN sj/us", "PSN sj/us"]


def test_neurons_prints_both_allocator_modes_and_the_snntorch_column():
    pytest.importorskip("snntorch")
    out = io.StringIO()
    rows = bench.neurons([4, 8], reps=1, min_rep_s=0.0, out=out)
    text = out.getvalue()
    assert [(r["T"], r["malloc"]) for r in rows] == [(4, "steady"), (4, "system"), (8, "steady"), (8, "system")]
    for r in rows:
        for k in [*COLS, "snt:SL", *RATIOS, "SL/rf"]:
            assert math.isfinite(r[k]) and r[k] > 0, (r["T"], r["malloc"], k)
    # each worker reports the mode it really ran in
    assert "malloc steady: steady (glibc: no mmap, no trim)" in text
    assert "malloc system: system (glibc defaults, SNNLIB_SYSTEM_MALLOC=1)" in text
    lines = text.splitlines()
    head = next(line for line in lines if line.lstrip().startswith("T ") and "malloc" in line)
    for c in [*COLS, "snt:SL", *RATIOS, "SL/rf"]:
        assert c in head
    table = [line for line in lines if line.split("|")[0].split()[-1:] in (["steady"], ["system"])]
    assert len(table) == 4
    n_cells = len(COLS) + 1 + len(RATIOS) + 1
    assert all(len(line.split("|")[1].split()) + len(line.split("|")[2].split()) == n_cells for line in table)
    # the second table: system over steady for every entry and T
    i = next(i for i, line in enumerate(lines) if line.startswith("system / steady"))
    assert "snt:SL" in lines[i + 1]
    assert [line.split("|")[0].strip() for line in lines[i + 3:i + 5]] == ["4", "8"]
    assert len(lines[i + 3].split("|")[1].split()) == len(COLS) + 1


def test_without_snntorch_the_column_is_dropped_with_a_message(tmp_path, monkeypatch):
    fake = tmp_path / "snntorch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('snntorch hidden by the test')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    out = io.StringIO()
    rows = bench.neurons([4], reps=1, min_rep_s=0.0, malloc="system", out=out)
    text = out.getvalue()
    assert "snntorch is not installed (pip install 'snnlib[peers]'): no StateLeaky column" in text
    assert "snt:SL" not in text.split("no StateLeaky column")[1] and "SL/rf" not in text
    assert [r["malloc"] for r in rows] == ["system"] and "snt:SL" not in rows[0] and "SL/rf" not in rows[0]
    assert "system / steady" not in text  # one mode: no comparison table
    for k in [*COLS, *RATIOS]:
        assert math.isfinite(rows[0][k])


def test_neurons_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="malloc='glibc'; expected 'both', 'steady' or 'system'"):
        bench.neurons([4], malloc="glibc")


@pytest.mark.parametrize("argv, message", [
    (["neurons", "--per-neuron"], "--per-neuron goes with --beta-grad"),
    (["neurons", "--T", "0", "4"], "every T must be >= 1"),
    (["neurons", "--reps", "0"], "--reps 0: expected >= 1"),
    (["neurons", "--system-malloc", "--malloc", "steady"], "choose one"),
])
def test_cli_errors_name_the_argument(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench.main(argv)
    assert message in capsys.readouterr().err


def test_time_entries_runs_each_entry_once_then_reps_times():
    calls = {"a": 0, "b": 0}

    def make(k):
        def f():
            calls[k] += 1
        return f

    res = bench.time_entries({"a": make("a"), "b": make("b")}, reps=3)
    assert set(res) == {"a", "b"}
    assert all(n == 3 and s >= 0 for s, n in res.values())
    assert calls == {"a": 4, "b": 4}  # one warm-up call, then one per repetition


def test_attention_bench_times_chapter_04s_shape_at_every_scale():
    """`python -m snnlib.bench attention` runs the chapter's measurement: same shape, heads and spike rate."""
    import inspect

    from snnlib import config

    defaults = {k: p.default for k, p in inspect.signature(bench.attention).parameters.items()}
    for scale in ("ci", "gpu", "full"):
        cfg = config.settings("spikformer", scale)
        assert (defaults["T"], defaults["batch"], defaults["heads"], defaults["rate"]) == \
            (cfg.order_T, cfg.order_batch, cfg.order_heads, cfg.order_rate), scale
        assert all(d % cfg.order_heads == 0 for d in cfg.order_d), f"{scale}: order_d not divisible by heads"
    out = io.StringIO()
    rows = bench.attention(Ns=(8,), dims=(16,), T=2, batch=1, heads=2, rate=0.5, reps=1, min_rep_s=0.0, out=out)
    assert len(rows) == 1 and rows[0]["picks"] in ("qk_v", "q_kv")
    assert "spike rate 0.5" in out.getvalue() and "[T=2, N=1, heads=2" in out.getvalue()


def test_reset_bench_times_every_form_counts_iterations_and_saves(tmp_path):
    import io
    import json

    out = io.StringIO()
    rows = bench.reset([8, 5], reps=1, batch=2, features=3, out=out, chunk=4, amplitude=3.0,
                       save=tmp_path / "bench_reset.json")
    r = rows[0]
    assert [row["T"] for row in rows] == [8, 5] and 1 <= r["iterations"] <= 9
    assert 1 <= r["iterations active set"] <= 9 and 2 <= r["iterations chunked"] <= 8 + 2
    assert set(bench.RESET_FORMS) <= set(r) and r["fixed point/serial"] > 0 and r["chunked/serial"] > 0
    assert 1 <= r["mean passes per neuron"] <= r["max passes per neuron"] <= 9 and 0 < r["firing rate"] < 1
    assert r["spikes differing from serial"] >= 0
    text = out.getvalue()
    assert "fp/serial" in text and "chunk 4" in text and "saved" in text
    saved = json.loads((tmp_path / "bench_reset.json").read_text())
    assert saved["T"] == [8, 5] and saved["shape"] == [2, 3] and saved["chunk"] == 4
    assert saved["rows"][1]["T"] == 5 and saved["forms"] == list(bench.RESET_FORMS)
    assert saved["command"].startswith("python -m snnlib.bench reset --T 8 5")


def test_reset_cli_errors_name_the_argument(capsys):
    for argv, message in ((["reset", "--chunk", "0"], "--chunk 0"), (["reset", "--amplitude", "0"], "--amplitude 0")):
        with pytest.raises(SystemExit):
            bench.main(argv)
        assert message in capsys.readouterr().err
