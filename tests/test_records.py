"""The one verdict rule, rows and claims (snnlib.records), the validation split and selection on it."""
from __future__ import annotations

import math

import pytest
import torch

from snnlib import data, records, results, train
from snnlib.records import FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE, Row, judge

SEEDS = [0, 1, 2, 3, 4]


def row(label, values, chance=10.0, **kw):
    return Row(label, "accuracy", "%", values, SEEDS[:len(values)], chance=chance, **kw)


def test_t_interval_matches_the_textbook_value():
    # mean 2, sd 1, n 5: t(0.975, 4) = 2.776445 -> half-width 2.776445 / sqrt(5)
    mean, low, high = records.t_interval([1, 2, 3, 2, 2])
    sd = math.sqrt(((1 - 2) ** 2 + (3 - 2) ** 2) / 4)
    half = 2.7764451051977987 * sd / math.sqrt(5)
    assert mean == 2 and low == pytest.approx(2 - half) and high == pytest.approx(2 + half)
    assert records.t_interval([3.0]) == (3.0, -math.inf, math.inf)


def test_verdicts_follow_the_interval():
    a = row("a", [80, 82, 85, 81, 83])
    b = row("b", [70, 75, 71, 74, 72])
    assert judge("a > b", a, b).verdict == HOLDS
    assert judge("b > a", b, a).verdict == FAILS
    assert judge("a < b", a, b, direction="less").verdict == FAILS
    noisy = row("c", [90, 70, 88, 72, 85])
    assert judge("c > a", noisy, a).verdict == INCONCLUSIVE
    c = judge("a > b", a, b)
    assert c.diffs == (10, 7, 14, 7, 11) and c.mean == pytest.approx(9.8)
    assert c.half_width == pytest.approx((c.high - c.low) / 2) and c.low > 0


def test_equivalence_needs_its_margin_and_reason():
    a, b = row("a", [80, 81, 80, 79, 80]), row("b", [80, 80, 81, 80, 79])
    with pytest.raises(ValueError, match="margin"):
        judge("a matches b", a, b, direction="equivalent")
    assert judge("a matches b", a, b, direction="equivalent", margin=3, margin_reason="r").verdict == HOLDS
    far = row("f", [60, 61, 60, 59, 60])
    assert judge("a matches f", a, far, direction="equivalent", margin=3, margin_reason="r").verdict == FAILS
    with pytest.raises(ValueError, match="only for direction='equivalent'"):
        judge("a > b", a, b, margin=2)


def test_rows_at_chance_are_untestable_unless_a_declared_expected_failure():
    good, dead = row("good", [80, 82, 85, 81, 83]), row("dead", [11, 10, 12, 10, 9])
    assert dead.at_chance and not good.at_chance
    assert judge("good > dead", good, dead).verdict == UNTESTABLE
    assert judge("dead > dead", dead, dead).verdict == UNTESTABLE
    declared = row("lif at delay 48", [11, 10, 12, 10, 9], expected_failure="fixed leak, delay 48")
    assert judge("good > lif", good, declared).verdict == HOLDS
    both = row("x", [11, 10, 12, 10, 9], expected_failure="y")
    assert judge("both at chance", both, declared).verdict == UNTESTABLE
    assert row("no chance level", [1, 2, 3], chance=None).at_chance is False


def test_pairing_is_enforced():
    a = Row("a", "acc", "%", [1, 2, 3], [0, 1, 2])
    b = Row("b", "acc", "%", [1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="same seeds"):
        judge("a > b", a, b)
    with pytest.raises(ValueError, match="one value per seed"):
        Row("a", "acc", "%", [1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="NaN"):
        Row("a", "acc", "%", [1, float("nan")], [0, 1])
    with pytest.raises(ValueError, match="either b"):
        judge("a", a)


def test_a_recorded_claim_is_recomputed_from_its_rows():
    a, b = row("a", [80, 82, 85, 81, 83]), row("b", [70, 75, 71, 74, 72])
    c = judge("a > b", a, b).to_dict()
    rows = {r.label: r.to_dict() for r in (a, b)}
    assert records.rejudge(c, rows) == c["verdict"] == HOLDS
    versus = judge("a above 50", a, value=50.0).to_dict()
    assert records.rejudge(versus, rows) == HOLDS and versus["value"] == 50.0


def test_what_we_found_writes_every_claim_and_the_caveats():
    a, b, dead = row("a", [80, 82, 85, 81, 83]), row("b", [70, 75, 71, 74, 72]), row("d", [10, 11, 9, 10, 10])
    rec = {"name": "x", "scale": "ci", "seeds": SEEDS, "caveats": ["lr ten times the paper's"],
           "claims": [judge("a beats b", a, b).to_dict(), judge("d beats b", dead, b).to_dict()]}
    md = results.what_we_found(rec)
    assert "**holds**: a beats b" in md and "+9.80 points" in md
    assert "**untestable at this scale**: d beats b" in md and "lr ten times the paper's" in md
    assert "5 seeds" in md


def test_validation_split_is_stratified_seeded_and_disjoint():
    y = torch.arange(100) % 4
    tr, va = data.stratified_indices(y, 0.2, seed=3)
    assert sorted(tr + va) == list(range(100)) and not set(tr) & set(va)
    assert [int((y[va] == c).sum()) for c in range(4)] == [5, 5, 5, 5]
    assert data.stratified_indices(y, 0.2, seed=3) == (tr, va)
    assert data.stratified_indices(y, 0.2, seed=4) != (tr, va)
    with pytest.raises(ValueError, match="fraction"):
        data.stratified_indices(y, 1.5, seed=0)


def test_split_loaders_keep_the_test_set_and_hold_out_validation():
    tr, va, te = data.split_loaders("digits-rows", "ci", batch_size=32, seed=0)
    tr0, te0 = data.loaders("digits-rows", "ci", batch_size=32, seed=0)
    assert torch.equal(te.dataset.x, te0.dataset.x)
    assert len(tr.dataset) + len(va.dataset) == len(tr0.dataset)
    assert len(va.dataset) == pytest.approx(0.2 * len(tr0.dataset), abs=10)
    assert tr.dataset.T == va.dataset.T == 8 and tr.dataset.n_classes == va.dataset.n_classes == 10


def test_fit_records_validation_and_selection_reads_it_not_the_test_set():
    torch.manual_seed(0)
    tr, va, te = data.split_loaders("digits-rows", "ci", batch_size=64, seed=0)
    model = torch.nn.Sequential(torch.nn.Flatten(1), torch.nn.Linear(8 * 8, 10))

    class First(torch.nn.Module):  # [T, N, F] -> [N, T*F]
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, x):
            return self.m(x.transpose(0, 1))

    h = train.fit(First(), tr, te, val_loader=va, epochs=3, lr=1e-2, progress=False)
    assert all("val_acc" in e and "test_acc" in e for e in h.epochs)
    sel = h.selected()
    best = max(range(3), key=lambda i: (h.epochs[i]["val_acc"], -i))
    assert sel["selected_epoch"] == best + 1 and sel["test_acc"] == h.epochs[best]["test_acc"]
    assert h.selected(among=[0])["selected_epoch"] == 1
    with pytest.raises(ValueError, match="val_loader"):
        train.History(epochs=[{"test_acc": 0.5}]).selected()


def test_over_seeds_reports_mean_std_and_each_seed():
    runs = [{"acc": 0.5, "rate": 1.0}, {"acc": 0.7, "rate": 3.0}]
    out = records.over_seeds(runs, ("acc", "rate"))
    assert out["acc"] == pytest.approx(0.6) and out["acc_std"] == pytest.approx(0.1414213562, rel=1e-9)
    assert out["per_seed_rate"] == [1.0, 3.0] and out["rate"] == 2.0
