"""``python -m snnlib.bench paralif``: the table's structure (no timing is asserted: speed claims are the
bench's printed ratios, never a timed test)."""
from __future__ import annotations

import io

from snnlib import bench


def test_paralif_bench_table_structure():
    out = io.StringIO()
    rows = bench.paralif([3, 5], reps=1, batch=2, features=3, out=out, min_rep_s=0.0)
    text = out.getvalue()
    assert "snnlib.bench paralif" in text and "forward + backward" in text
    for col in (*bench.PARALIF_COLS, *bench.PARALIF_RATIOS):
        assert col in text
    assert [r["T"] for r in rows] == [3, 5]
    for r in rows:
        assert r["sj:LIF/PL"] == r["sj:LIF"] / r["PL auto"] and r["LIF/PL"] == r["LIF"] / r["PL auto"]
    fwd = io.StringIO()
    bench.paralif([4], reps=1, batch=1, features=4, backward=False, out=fwd, min_rep_s=0.0)
    assert "forward only" in fwd.getvalue()


def test_paralif_bench_cli_rejects_bad_values(capsys):
    import pytest

    with pytest.raises(SystemExit):
        bench.main(["paralif", "--T", "0"])
    assert "--T [0]" in capsys.readouterr().err
