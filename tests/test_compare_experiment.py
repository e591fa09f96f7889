"""Chapter 08's comparison: the registry of neurons, the recipe, the measurements (saved bytes, causality,
speed), the decision guide, and the ``compare`` experiment end to end on tiny settings -- at ``ci`` and on
the ``gpu`` path (sequential CIFAR-10 and SHD) on CPU with tiny files in the real formats."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn as nn

from snnlib import bench, config, experiments, results
from snnlib.experiments import compare, compare_report
from snnlib.neurons import MaskedPSN

BOOK_NEURONS = ["lif", "lif_no_reset", "psn", "masked_psn", "sliding_psn", "psu", "ipsu", "rpsu",
                "paralif_d", "paralif_s", "paralif_r"]
#: chapter 09's two, in chapter 08's gpu (FPT) and full (both) comparisons
CH09 = ["lif_fixed_point", "fpt"]


def _tiny(scale=None):
    base = dict(_REAL_SETTINGS(scale))
    base.update({"hidden": 6, "layers": 1, "epochs": 2, "batch_size": 8, "train_size": 24, "seeds": 3,
                 "threads": 1, "delays": [2, 3], "recall_delays": [3], "energy_batch": 4, "shd_T": 6})
    return config.Settings(config.check_scale(scale), base)


_REAL_SETTINGS = compare.settings


def test_the_registry_holds_every_neuron_of_the_book_in_order():
    assert list(compare.NEURONS) == BOOK_NEURONS + CH09 and list(compare.BOOK_NEURONS) == BOOK_NEURONS
    assert len({s.label for s in compare.NEURONS.values()}) == len(BOOK_NEURONS) + len(CH09)
    # ci keeps chapter 08's eleven; gpu adds FPT; full compares all thirteen
    assert compare.settings("ci")["neurons"] == BOOK_NEURONS
    assert compare.settings("gpu")["neurons"] == BOOK_NEURONS + ["fpt"]
    assert compare.settings("full")["neurons"] == BOOK_NEURONS + CH09
    assert "compare" in experiments.CHAPTERS and experiments.get("compare").chapter == "compare"


@pytest.mark.parametrize("kind", BOOK_NEURONS + CH09)
def test_every_neuron_maps_t_n_f_to_binary_spikes_of_the_same_shape(kind):
    torch.manual_seed(0)
    neuron = compare.build_neuron(kind, 7, 5)
    x = (3 * torch.randn(7, 4, 5)).requires_grad_(True)
    s = neuron(x)
    assert s.shape == x.shape
    assert set(s.detach().unique().tolist()) <= {0.0, 1.0}
    s.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_one_decay_for_every_fixed_leak():
    beta = 1 - 1 / compare.TAU
    lif = compare.build_neuron("lif", 4, 2)
    rf = compare.build_neuron("lif_no_reset", 4, 2)
    pl = compare.build_neuron("paralif_d", 4, 2)
    assert lif.tau == rf.tau == compare.TAU == 2.0 and rf.beta == beta
    assert pl.beta == pytest.approx(beta) and pl.alpha == pytest.approx(beta)
    assert compare.build_neuron("sliding_psn", 4, 2).k == compare.build_neuron("masked_psn", 4, 2).k == 4


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="kind='nope'.*valid keys: lif, lif_no_reset"):
        compare.build_neuron("nope", 4, 2)
    with pytest.raises(ValueError, match="T=0 must be a positive int"):
        compare.build_neuron("psn", 0, 2)
    with pytest.raises(ValueError, match="readout_steps=9 must be in"):
        compare.compare_net("lif", 8, 3, 2, readout_steps=9)
    net = compare.compare_net("lif", 8, 3, 2)
    with pytest.raises(ValueError, match=r"x has shape \(4, 8, 3\); expected time-first \[T=8, N, \*\]"):
        net(torch.zeros(4, 8, 3))
    with pytest.raises(ValueError, match="neurons contains 'x'"):
        compare.run("ci", neurons=["x"])
    with pytest.raises(ValueError, match="neurons contains 'x'"):
        bench.compare_speed([4], neurons=["lif", "x"])
    with pytest.raises(ValueError, match="task='nope' is not in the record"):
        compare_report.summary_table({"metrics": {"table": {"pixels": {}}}}, "nope")


def test_after_training_closes_the_masked_psn_and_leaves_the_others_as_built():
    assert compare.build_neuron("masked_psn", 6, 3).lambda_ == 0.0
    assert compare.build_neuron("masked_psn", 6, 3, after_training=True).lambda_ == 1.0
    torch.manual_seed(0)
    a = compare.build_neuron("psn", 6, 3)
    torch.manual_seed(0)
    b = compare.build_neuron("psn", 6, 3, after_training=True)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_only_the_psn_is_not_causal():
    assert {k: compare.is_causal(k) for k in BOOK_NEURONS} == {k: k != "psn" for k in BOOK_NEURONS}


@pytest.mark.parametrize("kind", BOOK_NEURONS)
def test_fixed_t_is_what_the_neuron_does(kind):
    neuron = compare.build_neuron(kind, 6, 3, after_training=True)
    if compare.NEURONS[kind].fixed_T:
        with pytest.raises((ValueError, RuntimeError)):
            neuron(torch.randn(7, 2, 3))
    else:
        assert neuron(torch.randn(11, 2, 3)).shape == (11, 2, 3)


def test_the_network_reads_out_the_task_window_with_bn_before_each_neuron():
    net = compare.compare_net("psn", 10, 12, 4, hidden=5, layers=2, readout_steps=3)
    assert net(torch.randn(10, 2, 3, 4)).shape == (3, 2, 4)   # [T, N, 3, 4] flattened per step
    kinds = [type(m).__name__ for m in net.modules() if type(m).__name__ in ("BatchNorm1d", "PSN", "Linear")]
    assert kinds == ["Linear", "BatchNorm1d", "PSN", "Linear", "BatchNorm1d", "PSN", "Linear"]


def test_saved_bytes_counts_what_autograd_keeps_without_the_parameters():
    lin = nn.Linear(4, 3)
    x = torch.randn(5, 4)
    assert compare.saved_bytes(lin, x) == 5 * 4 * 4      # the input, kept for the weight's gradient
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    # the input [5, 4]; ReLU keeps its result [5, 3], which the second Linear keeps as its input: one storage
    assert compare.saved_bytes(net, x) == 5 * 4 * 4 + 5 * 3 * 4
    with torch.no_grad():
        assert compare.saved_bytes(net, x) == 0
    # a PSN keeps its input [T, N*F] for the weight's gradient: linear in T
    psn_bytes = [compare.saved_bytes(compare.build_neuron("psn", T, 8), torch.randn(T, 2, 8, requires_grad=True))
                 for T in (4, 8, 16)]
    assert psn_bytes[1] == 2 * psn_bytes[0] and psn_bytes[2] == 4 * psn_bytes[0]


def test_masked_psn_accuracy_counts_only_epochs_at_lambda_one():
    assert [MaskedPSN.lambda_at(i, 3) >= 1 for i in range(3)] == [False, True, True]


SEEDS = [0, 1, 2, 3, 4]


def _record(acc, chance=None, memory=None, energy=None, rate=None, epoch_s=None):
    """A ``compare`` record from per-seed accuracies (%): ``acc[task][kind] = [5 values]``."""
    from snnlib.records import Row

    tasks = list(acc)
    kinds = list(next(iter(acc.values())))
    chance = chance or {t: 10.0 for t in tasks}
    labels = {t: t for t in tasks}
    rows, table = [], {}
    for t in tasks:
        table[t] = {}
        for k in kinds:
            e = (energy or {}).get(k, 1e3)
            r = (rate or {}).get(k, [0.1] * 5)
            table[t][k] = {"acc": sum(acc[t][k]) / 500, "acc_std": 0.0, "per_seed_acc": [a / 100 for a in acc[t][k]],
                           "rate": sum(r) / 5, "per_seed_rate": r, "epoch_s": (epoch_s or {}).get(k, 1.0),
                           "sops": 10.0, "energy_pj": e, "per_seed_energy_pj": [e] * 5, "saved_bytes": 2048.0,
                           "seeds": 5}
            rows.append(compare.accuracy_row(k, t, table[t][k], SEEDS, round(100 / chance[t])).to_dict())
            rows.append(compare.rate_row(k, t, table[t][k], SEEDS).to_dict())
    mem = {}
    for d, by_kind in (memory or {}).items():
        labels[f"recall-{d}"] = f"recall, delay {d}"
        mem[d] = {}
        for k, vals in by_kind.items():
            mem[d][k] = {"acc": sum(vals) / 500, "per_seed_acc": [v / 100 for v in vals], "rate": 0.1}
            rows.append(Row(compare.row_label(k, labels[f"recall-{d}"]), "acc", "%", vals, SEEDS, chance=25.0,
                            expected_failure=compare.expected_failure(k, int(d))).to_dict())
    return {"metrics": {"table": table, "memory": mem, "neurons": kinds, "tasks": tasks, "task_labels": labels},
            "rows": rows, "seeds": SEEDS, "scale": "ci", "config": {}}


def test_expected_failures_are_declared_from_the_neurons_structure():
    at = {k: compare.expected_failure(k, 16) for k in BOOK_NEURONS}
    assert [k for k, why in at.items() if why] == ["lif", "lif_no_reset", "masked_psn", "sliding_psn", "psu",
                                                    "paralif_d", "paralif_s"]
    assert "0.5 per step" in at["lif"] and "6 steps back" in at["sliding_psn"]
    assert not any(compare.expected_failure(k, 4) for k in BOOK_NEURONS)      # the short delay: all should recall
    assert compare.expected_failure("sliding_psn", 5) is None and compare.expected_failure("sliding_psn", 5, layers=1)


def test_bn_scale_starts_at_the_recipes_gamma():
    net = compare.compare_net("lif", 8, 3, 2, bn_gamma=2.0)
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(bns) == 2 and all(torch.equal(b.weight, torch.full_like(b.weight, 2.0)) for b in bns)
    assert compare.settings("ci")["bn_gamma"] == 2.0
    with pytest.raises(ValueError, match="bn_gamma=0"):
        compare.compare_net("lif", 8, 3, 2, bn_gamma=0)


def test_the_decision_guide_recommends_only_a_margin_that_holds():
    acc = {"a": {"lif": [80, 82, 81, 79, 80], "psn": [90, 91, 92, 90, 91], "psu": [89, 93, 88, 92, 91]},
           "b": {"lif": [70, 71, 69, 70, 72], "psn": [80, 81, 79, 80, 82], "psu": [81, 78, 82, 79, 80]}}
    memory = {"4": {"lif": [60, 62, 58, 61, 60], "psn": [100] * 5, "psu": [55, 57, 56, 54, 58]},
              "16": {"lif": [25, 26, 24, 25, 25], "psn": [99, 100, 98, 100, 99], "psu": [26, 25, 24, 25, 26]}}
    rec = _record(acc, memory=memory, energy={"lif": 5e3, "psn": 9e3, "psu": 1e3},
                  epoch_s={"lif": 3.0, "psn": 1.0, "psu": 2.0})
    causal = {"lif": True, "psn": False, "psu": True}
    guide = {g["need"]: g for g in compare_report.recommend(rec, causal)}
    assert list(guide) == ["accuracy", "any length", "low latency", "streaming", "memory", "energy", "training time"]
    # PSN and PSU are within the seeds' spread of each other: no pick, a tier of two
    assert guide["accuracy"]["pick"] is None and guide["accuracy"]["tier"] == ["psn", "psu"]
    assert guide["accuracy"]["claims"]["lif"].verdict == "holds"
    assert guide["any length"]["pick"] == "psu"            # PSN has a fixed T; PSU beats the LIF on every seed
    assert guide["streaming"]["pick"] == "psu" and guide["streaming"]["candidates"] == ["lif", "psu"]
    # the LIF and PSU are declared expected failures at 16 steps, so PSN's margin is judged, and holds
    assert guide["memory"]["pick"] == "psn" and guide["memory"]["claims"]["psu"].verdict == "holds"
    assert guide["energy"]["pick"] == "psu"
    assert guide["training time"]["pick"] is None and guide["training time"]["order"][0] == "psn"
    text = compare_report.guide_markdown(list(guide.values()))
    assert "no single neuron" in text and "**PSU**" in text and "no verdict" in text
    with pytest.raises(ValueError, match="causal has no entry for psu"):
        compare_report.recommend(rec, {"lif": True, "psn": False})


def test_the_guide_statistic_is_accuracy_minus_chance_averaged_over_tasks():
    acc = {"a": {"lif": [60, 60, 60, 60, 60]}, "b": {"lif": [30, 40, 50, 60, 70]}}
    rec = _record(acc, chance={"a": 10.0, "b": 25.0})
    row = compare_report.score_row(rec, "lif")
    assert row.per_seed == pytest.approx([(50 + 5) / 2, (50 + 15) / 2, (50 + 25) / 2, (50 + 35) / 2, (50 + 45) / 2])
    assert row.chance == 0.0 and not row.at_chance


def test_pareto_front_keeps_what_nothing_beats_on_both():
    pts = {"a": (0.9, 3.0), "b": (0.8, 1.0), "c": (0.7, 2.0), "d": (0.9, 4.0), "e": (0.8, 1.0)}
    assert compare_report.pareto_front(pts) == ["a", "b", "e"]      # c is beaten by b; d by a; b and e tie


def test_order_checks_judge_each_claim_task_by_task_by_the_one_rule():
    from snnlib import records

    acc = {"a": {"psn": [90, 91, 92, 90, 91], "lif": [80, 81, 80, 79, 82], "psu": [85, 86, 84, 85, 86]},
           "b": {"psn": [10, 11, 10, 12, 10], "lif": [11, 10, 10, 10, 11], "psu": [10, 10, 11, 10, 10]}}
    rec = _record(acc, rate={"psn": [0.2] * 5, "psu": [0.1, 0.11, 0.09, 0.1, 0.1], "lif": [0.1] * 5},
                  epoch_s={"psu": 0.5, "lif": 1.0, "psn": 1.0})
    rows = compare_report.rows_by_label(rec)
    checks = compare.order_checks(rec["metrics"], rows)
    by = {(c["claim"], c["task"]): c for c in checks}
    assert by[("PSN is more accurate than the LIF", "a")]["verdict"] == "holds"
    assert by[("PSN is more accurate than the LIF", "b")]["verdict"] == "untestable at this scale"
    assert by[("PSN is more accurate than the LIF", "b")]["claim_obj"] is None     # not recorded
    assert by[("PSU fires less than PSN", "a")]["verdict"] == "holds"
    assert by[("PSU fires less than PSN", "b")]["verdict"] == "untestable at this scale"   # neither learned b
    speed = by[("PSU trains faster than the LIF", "a")]
    assert speed["verdict"] == "timing, no verdict" and speed["claim_obj"] is None
    for c in checks:   # every recorded claim recomputes from its rows
        if c["claim_obj"] is not None:
            d = c["claim_obj"].to_dict()
            assert records.rejudge(d, {r["label"]: r for r in rec["rows"]}) == d["verdict"]
    t = compare_report.order_table(rec)
    assert t.header == ["paper", "claim", "a", "b"]
    row = [r for r in t.rows if r[1] == "PSN is more accurate than the LIF"][0]
    assert row[2:] == ["holds: 90.8 vs 80.4", "untestable at this scale: 10.6 vs 10.4"]
    assert [r for r in t.rows if r[1] == "PSU trains faster than the LIF"][0][2] == "0.500 vs 1.000 s (timing, no verdict)"


def test_recall_findings_are_written_from_the_rows():
    acc = {"a": {"lif": [80] * 5, "psn": [90] * 5}}
    memory = {"4": {"lif": [60, 62, 58, 61, 60], "psn": [100, 25, 100, 26, 100]},
              "16": {"lif": [25, 26, 24, 25, 25], "psn": [99, 100, 98, 100, 99]}}
    text = compare_report.recall_findings(_record(acc, memory=memory))
    assert "**Delay 4** (chance 25%)" in text and "LIF 60%" in text
    assert "Seeds that split (each seed's value): PSN 100, 25, 100, 26, 100" in text
    assert "Declared expected failures: 1 of 1 at chance" in text


def test_speed_times_every_neuron_and_the_floor():
    sp = bench.compare_speed([4, 8], batch=2, features=3, reps=1, neurons=["lif", "psn"])
    assert sp["T"] == [4, 8] and sp["shape"] == [2, 3] and set(sp["seconds"]) == {"lif", "psn"}
    assert len(sp["floor"]) == 2 and all(t > 0 for v in sp["seconds"].values() for t in v)
    with pytest.raises(ValueError, match="neurons contains 'x'"):
        bench.compare_speed([4], neurons=["x"])


def test_bench_compare_saves_its_table(tmp_path, capsys):
    path = tmp_path / "bench" / "compare.json"
    assert bench.main(["compare", "--T", "4", "8", "--reps", "1", "--shape", "2", "3", "--save", str(path)]) == 0
    saved = json.loads(path.read_text())
    assert saved["T"] == [4, 8] and set(saved["seconds"]) == set(BOOK_NEURONS)
    assert saved["environment"]["threads"] == 1 and saved["command"].startswith("python -m snnlib.bench compare")
    assert saved["device"].startswith("cpu (") and saved["device"].endswith(", 1 thread)")   # what speed() ran on
    import datetime

    assert datetime.datetime.fromisoformat(saved["created"]).utcoffset() == datetime.timedelta(0)
    out = capsys.readouterr().out
    assert "time over the floor" in out and "time over the LIF" in out


def test_the_committed_bench_table_reaches_t_4096_on_the_chapters_shape():
    saved = json.loads((results.committed_dir() / "bench" / "compare.json").read_text())
    assert {1024, 4096} <= set(saved["T"]) and set(saved["seconds"]) == set(BOOK_NEURONS)
    recipe = compare.settings("ci")
    assert saved["shape"] == recipe["speed_shape"] and max(recipe["speed_T"]) == 1024   # 4096 is the bench's


def test_a_dataset_without_its_class_count_is_refused():
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(torch.zeros(4, 5, 2), torch.zeros(4, dtype=torch.long)), batch_size=2,
                        collate_fn=lambda b: (torch.stack([x for x, _ in b], 1), torch.stack([y for _, y in b])))
    with pytest.raises(ValueError, match="TensorDataset has n_classes=None; the comparison needs its number"):
        compare.train_one("lif", compare.recall_task(2), "ci", loaders=(loader, loader, loader))
    with pytest.raises(ValueError, match="expected \\(train, val, test\\)"):
        compare.train_one("lif", compare.recall_task(2), "ci", loaders=(loader, loader))


def test_ci_path_end_to_end_on_tiny_settings_is_deterministic(monkeypatch, tmp_path):
    from snnlib import records

    monkeypatch.setattr(compare, "settings", _tiny)
    kinds = ["lif", "psn", "masked_psn"]
    rec = compare.run("ci", neurons=kinds, only_tasks=["recall-3", "rows"], progress=False)
    again = compare.run("ci", neurons=kinds, only_tasks=["recall-3", "rows"], progress=False)
    m = rec["metrics"]
    assert m["tasks"] == ["rows", "recall-3"] and m["delays"] == [2, 3] and set(m["memory"]) == {"2", "3"}
    assert m["memory"]["3"] is m["table"]["recall-3"]            # the table's recall task is the sweep's delay 3
    assert m["runs"] == (2 + 2 - 1) * len(kinds) * 3              # rows, recall-3 (= delay 3), delay 2
    assert m["steps_per_run"]["rows"] % 2 == 0 and m["seconds_per_run"] > 0   # 2 epochs of whole batches
    for task in m["tasks"]:
        for k in kinds:
            r, r2 = m["table"][task][k], again["metrics"]["table"][task][k]
            assert r["per_seed_acc"] == r2["per_seed_acc"] and r["per_seed_rate"] == r2["per_seed_rate"]
            assert r["seeds"] == 3 and 0 <= r["rate"] <= 1 and r["saved_bytes"] > 0 and r["epoch_s"] > 0
            assert r["T"] == (8 if task == "rows" else 4 + 3 + 4)
            assert all(1 <= e <= 2 for e in r["selected_epochs"])
    # the masked PSN's epoch is chosen among those at lambda = 1 (the second of two)
    assert m["table"]["rows"]["masked_psn"]["selected_epochs"] == [2, 2, 2]
    # delayed recall is spikes in: every layer is spike-driven, no MAC-counted encoding layer
    assert m["spiking_input"] == {"rows": False, "recall-3": True}
    for k in kinds:   # 0/1 inputs everywhere: one accumulate (0.9 pJ) per SOP; the digits add their encoding MACs
        recall, m1d = m["table"]["recall-3"][k], m["table"]["rows"][k]
        assert recall["energy_pj"] == pytest.approx(0.9 * recall["sops"])
        assert m1d["energy_pj"] > 0.9 * m1d["sops"]
    labels = [r.label for r in rec["rows"]]
    assert labels[:3] == ["LIF, digits, row by row", "PSN, digits, row by row", "masked PSN, digits, row by row"]
    assert "PSN, digits, row by row, spikes" in labels
    first = rec["rows"][0]
    assert first.chance == 10.0 and first.selected_on == "validation (epoch)" and list(first.seeds) == [0, 1, 2]
    assert rec["rows"][2].selected_on == "validation (epoch, among those at lambda = 1)"
    by = {r.label: r.to_dict() for r in rec["rows"]}
    for c in rec["claims"]:
        assert records.rejudge(c.to_dict(), by) == c.verdict != "untestable at this scale"
    table = compare_report.summary_table(rec | {"scale": "ci", "seeds": rec["seeds"],
                                                "rows": [r.to_dict() for r in rec["rows"]]}, "recall-3")
    assert results.format_measured(by["PSN, recall, delay 3"]) in str(table) and "chance 25.0%" in table.caption


@pytest.mark.filterwarnings("ignore:scale 'gpu' is meant for CUDA")
def test_gpu_path_end_to_end_on_cpu_sequential_cifar_and_shd(monkeypatch, tmp_path):
    pytest.importorskip("torchvision")
    pytest.importorskip("tonic")
    pytest.importorskip("h5py")
    from test_data_real import write_cifar, write_shd

    write_cifar(tmp_path / "data", 10, per_batch=4)
    write_shd(tmp_path / "data", "train", n=24)   # labels i % 20: four classes with two samples, for the validation split
    write_shd(tmp_path / "data", "test", n=4, seed=1)
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SNNLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setattr(compare, "settings", _tiny)
    monkeypatch.setattr(compare, "NEURONS", {k: compare.NEURONS[k] for k in ("psn", "paralif_d")})
    monkeypatch.setattr(compare, "settings", lambda scale=None: config.Settings(
        config.check_scale(scale), {**_tiny(scale), "neurons": ["psn", "paralif_d"]}))
    rec = experiments.reproduce("compare", "gpu", progress=False, out_dir=tmp_path)
    m = rec["metrics"]
    assert m["tasks"] == ["scifar10", "shd"] and rec["dataset"] == "scifar10, shd"
    assert m["table"]["scifar10"]["psn"]["T"] == 32 and m["table"]["shd"]["psn"]["T"] == 6
    assert set(m["memory"]) == {"2", "3"} and rec["device_matches_scale"] is False
    assert m["runs"] == (2 + 2) * 2 * 3                          # no table task is a recall task at gpu
    assert (tmp_path / "compare-gpu.json").is_file()
    assert len(list((tmp_path / "runs").glob("compare-*-gpu/*/last.pt"))) == 2 * 4 * 3   # resumable runs
