"""Chapter 08's tables and decision guide, read from a ``compare`` record (:mod:`snnlib.experiments.compare`
runs it): the table per task, the papers' orders, the Pareto front, the recall findings, and "Which neuron
should I use?".  Every verdict here is the book's one rule (:func:`snnlib.records.judge`) on the record's
per-seed rows.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from ..records import INCONCLUSIVE, Row, judge
from .compare import NEURONS, order_checks, row_label

__all__ = ["summary_table", "order_table", "pareto_front", "recommend", "guide_markdown", "recall_findings",
           "rows_by_label", "score_row", "BIMODAL_STD", "is_bimodal"]

#: a row whose seeds spread by this many points (sample std) or more shows each seed's value: its mean
#: stands for no seed (some seeds learn the task, others do not)
BIMODAL_STD = 10.0


def rows_by_label(rec: dict[str, Any]) -> dict[str, Row]:
    """The record's rows as :class:`snnlib.records.Row`, by label.

    Defined in chapter 08 (Side by side), section "What we found".
    """
    return {r["label"]: Row.from_dict(r) for r in rec["rows"]}


def is_bimodal(row: Row) -> bool:
    """Whether ``row``'s seeds spread by :data:`BIMODAL_STD` points or more (its per-seed values are shown)."""
    return row.n > 1 and row.std >= BIMODAL_STD


def _acc(rows: dict[str, Row], m: dict[str, Any], kind: str, task: str) -> Row:
    return rows[row_label(kind, m["task_labels"][task])]


def order_table(rec: dict[str, Any]) -> "results.Table":
    """The papers' orders (:data:`snnlib.experiments.compare.ORDER_CLAIMS`) on each task of a ``compare``
    record, one row per claim: the verdict of the one rule and the two means (accuracy in %, spikes per
    neuron per step), or, for a speed order, the two training times without a verdict.

    Defined in chapter 08 (Side by side), section "What we found".
    """
    from .. import results

    m = rec["metrics"]
    checks = order_checks(m, rows_by_label(rec))
    claims = list(dict.fromkeys((c["paper"], c["claim"]) for c in checks))

    def shown(c: dict[str, Any]) -> str:
        a, b = c["values"]
        if c["metric"] == "acc":
            return f"{c['verdict']}: {100 * a:.1f} vs {100 * b:.1f}"
        if c["metric"] == "rate":
            return f"{c['verdict']}: {a:.3f} vs {b:.3f}"
        return f"{a:.3f} vs {b:.3f} s (timing, no verdict)"

    rows = [[paper, claim] + [next((shown(c) for c in checks if c["claim"] == claim and c["task"] == t), "-")
                              for t in m["tasks"]] for paper, claim in claims]
    return results.Table(
        header=["paper", "claim", *(m["task_labels"][t] for t in m["tasks"])], rows=rows,
        caption="The papers' orders on this run, by the book's one rule (verdict: first neuron vs second, means)",
        notes=[f"holds / fails: the 95% interval of the paired differences over {len(rec['seeds'])} seeds lies on "
               "the claimed side / the other side; inconclusive: it straddles; untestable at this scale: a row at "
               "chance (or, for a rate, a neuron that did not learn the task). 'matches' is judged against the "
               "registry's equivalence margin. Timings get no verdict: the bench decides speed."])


def summary_table(rec: dict[str, Any], task: str) -> "results.Table":
    """One task of a ``compare`` record as a :class:`snnlib.results.Table`: per neuron, the test accuracy at
    the epoch chosen on validation (mean ± std over the seeds, each seed's value where the seeds spread
    by :data:`BIMODAL_STD` points or more, and the declared expected failure), spikes per neuron per step,
    SOPs and energy per sample, training time per epoch and autograd's saved bytes per sample; chance is in
    the caption.

    Defined in chapter 08 (Side by side), section "The table".
    """
    from .. import results

    m = rec["metrics"]
    if task not in m["table"]:
        raise ValueError(f"task={task!r} is not in the record; its tasks: {', '.join(m['table'])}")
    rows_ = rows_by_label(rec)
    spiking = bool(m.get("spiking_input", {}).get(task))
    rows, failures = [], []
    for kind in m["neurons"]:
        r = m["table"][task][kind]
        row = _acc(rows_, m, kind, task)
        per_seed = ", ".join(f"{v:.0f}" for v in row.per_seed) if is_bimodal(row) else ""
        mark = ""
        if row.expected_failure:
            failures.append(f"{NEURONS[kind].label}: {row.expected_failure}")
            mark = " (expected to fail)"
        rows.append([NEURONS[kind].label + mark, results.format_measured(row.to_dict()), per_seed,
                     f"{r['rate']:.3f}", f"{r['sops'] / 1e3:,.1f}",
                     f"{r['energy_pj'] / 1e3:,.1f} + {r['neuron_energy_pj'] / 1e3:,.1f}",
                     f"{r['epoch_s']:.3f}", f"{r['saved_bytes'] / 1024:,.1f}"])
    n = len(rec["seeds"])
    chance = _acc(rows_, m, m["neurons"][0], task).chance
    return results.Table(
        header=["neuron", "accuracy", "per seed (spread)", "spikes", "kSOPs", "nJ (+ neurons)", "s/epoch",
                "KiB saved"],
        rows=rows, numeric=(1, 3, 4, 5, 6, 7),
        caption=f"{m['task_labels'][task]} (chance {chance:.1f}%), scale {rec['scale']}, seeds {rec['seeds']} "
                f"(mean over {n})",
        notes=[f"accuracy: test accuracy at the epoch chosen on a validation split, mean ± std; per seed: each "
               f"seed's value where the seeds spread by {BIMODAL_STD:g} points or more; spikes: per neuron per "
               "step, on the test set after the last epoch; kSOPs and nJ: synaptic operations and energy per sample "
               "(45 nm, E_MAC 4.6 pJ, E_AC 0.9 pJ), snnlib.energy on one test batch; + neurons: the neurons' "
               "own updates as MACs (a LIF's charge, a PSN's row of W per step; snnlib.energy.NEURON_UPDATE_MACS), "
               "given beside the synaptic nJ, not added to it"
               + (", every layer spike-driven (the input is events or spikes)" if spiking else "")
               + "; s/epoch: the training pass of an epoch, on " + str(rec.get("device", "?"))
               + (f", {t} thread(s)" if (t := rec["config"].get("threads")) else "")
               + "; KiB saved: what autograd keeps for the backward pass of one training batch, per sample"]
        + [f"expected to fail (declared before the run): {f}" for f in failures])


def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """The keys of ``points`` (``key: (accuracy, cost)``) that no other key beats on both: higher accuracy
    and lower cost.  In the order of ``points``.

    Defined in chapter 08 (Side by side), section "Accuracy against training time, and against spikes".
    """
    return [k for k, (a, c) in points.items()
            if not any(a2 >= a and c2 <= c and (a2 > a or c2 < c) for a2, c2 in points.values())]


def score_row(rec: dict[str, Any], kind: str, tasks: Optional[Sequence[str]] = None) -> Row:
    """The decision guide's statistic for neuron ``kind``, one value per seed: the mean over ``tasks``
    (default: the table's) of accuracy minus chance, in points; chance 0, so that the row is at chance when
    the neuron averages less than 10 points above chance.

    Defined in chapter 08 (Side by side), section "Which neuron should I use?".
    """
    m, rows = rec["metrics"], rows_by_label(rec)
    tasks = list(m["tasks"] if tasks is None else tasks)
    accs = [_acc(rows, m, kind, t) for t in tasks]
    per_seed = [sum(r.per_seed[i] - r.chance for r in accs) / len(accs) for i in range(len(rec["seeds"]))]
    return Row(f"{NEURONS[kind].label}: accuracy minus chance, mean over {len(tasks)} tasks",
               "accuracy minus chance (points), mean over tasks", "%", per_seed, rec["seeds"], chance=0.0,
               selected_on="validation (epoch)")


def _tier(stat: dict[str, Row], direction: str) -> dict[str, Any]:
    """The best row of ``stat`` (highest mean for ``"greater"``, lowest for ``"less"``), its claims against
    every other, the tier it cannot be told apart from, and the pick (only when that tier is itself)."""
    order = sorted(stat, key=lambda k: stat[k].mean, reverse=direction == "greater")
    best = order[0]
    if stat[best].at_chance:
        return {"pick": None, "tier": [], "order": order, "claims": {}, "best": best}
    claims = {k: judge(f"{NEURONS[best].label} beats {NEURONS[k].label} on {stat[best].metric}", stat[best], stat[k],
                       direction=direction) for k in order[1:]}
    tier = [best] + [k for k in order[1:] if claims[k].verdict in (INCONCLUSIVE,)]
    # a rival at chance is untestable by the rule; it is below a best neuron that is not at chance
    return {"pick": best if tier == [best] else None, "tier": tier, "order": order, "claims": claims,
            "best": best}


def recommend(rec: dict[str, Any], causal: dict[str, bool]) -> list[dict[str, Any]]:
    """The decision guide of chapter 08, drawn from a ``compare`` record: for each need, the neurons it
    chooses from, the statistic, and either the one neuron whose margin over every other candidate
    ``holds`` by the one rule (``pick``), or the ``tier`` of neurons the seeds cannot tell apart from the
    best (``pick`` ``None``), with the claims that decide it.

    ``causal``: for each neuron, whether its spikes up to step t depend on the inputs up to t only
    (:func:`snnlib.experiments.compare.is_causal`).  The statistic (:func:`score_row`) is, per seed, the
    mean over the table's tasks of accuracy minus chance.  The needs:

    * ``accuracy``: the best statistic, whatever it takes;
    * ``any length``: among the neurons without a fixed T (a model trained at one T runs at another);
    * ``low latency``: among the causal neurons (an answer at every step, none waits for the end);
    * ``streaming``: among the causal neurons without a fixed T (step by step, on sequences of any length);
    * ``memory``: accuracy at the longest delay of the memory sweep;
    * ``energy``: the lowest mean energy per sample (the synapses, the papers' count), among the neurons
      whose statistic is not at chance; ``energy, neurons' updates included``: the same with each neuron's
      own update per step added (:data:`snnlib.energy.NEURON_UPDATE_MACS`);
    * ``training time``: the times only, with no verdict (speed is the bench's to decide).

    Defined in chapter 08 (Side by side), section "Which neuron should I use?".
    """
    m = rec["metrics"]
    kinds = list(m["neurons"])
    missing = [k for k in kinds if k not in causal]
    if missing:
        raise ValueError(f"causal has no entry for {', '.join(missing)}; expected one per neuron of the record")
    stat = {k: score_row(rec, k) for k in kinds}
    out = []
    for need, among, words in (
            ("accuracy", kinds, "all the neurons"),
            ("any length", [k for k in kinds if not NEURONS[k].fixed_T], "the neurons without a fixed T"),
            ("low latency", [k for k in kinds if causal[k]], "the causal neurons"),
            ("streaming", [k for k in kinds if causal[k] and not NEURONS[k].fixed_T],
             "the causal neurons without a fixed T")):
        if among:
            t = _tier({k: stat[k] for k in among}, "greater")
            out.append({"need": need, "among": words, "candidates": among, "statistic": "points above chance",
                        "values": {k: stat[k].mean for k in among}, **t})
    if m.get("memory"):
        longest = max(m["memory"], key=int)
        rows = rows_by_label(rec)
        label = m["task_labels"].get(f"recall-{longest}", f"recall, delay {longest}")
        mem = {k: rows[row_label(k, label)] for k in kinds}
        t = _tier(mem, "greater")
        out.append({"need": "memory", "among": f"all the neurons, at a delay of {longest} steps",
                    "candidates": kinds, "statistic": "accuracy (%)", "values": {k: mem[k].mean for k in kinds}, **t})
    learned = [k for k in kinds if not stat[k].at_chance]
    # energy twice: the synapses only (the papers' count), then with each neuron's own update added
    # (NEURON_UPDATE_MACS: a PSN's row of W per step weighs against it); records without it skip the second
    with_neurons = learned and all("per_seed_neuron_energy_pj" in m["table"][t][k] for t in m["tasks"] for k in learned)
    for need, keys in (("energy", ("per_seed_energy_pj",)),
                       ("energy, neurons' updates included", ("per_seed_energy_pj", "per_seed_neuron_energy_pj"))):
        if not learned or (len(keys) > 1 and not with_neurons):
            continue
        energy = {k: Row(f"{NEURONS[k].label}: {need} per sample, mean over tasks", "energy per sample (nJ)", "nJ",
                         [sum(m["table"][t][k][key][i] for t in m["tasks"] for key in keys) / len(m["tasks"]) / 1e3
                          for i in range(len(rec["seeds"]))], rec["seeds"]) for k in learned}
        t = _tier(energy, "less")
        out.append({"need": need, "among": "the neurons above chance on average", "candidates": learned,
                    "statistic": "nJ per sample", "values": {k: energy[k].mean for k in learned}, **t})
    times = {k: sum(m["table"][t][k]["epoch_s"] for t in m["tasks"]) / len(m["tasks"]) for k in kinds}
    out.append({"need": "training time", "among": "all the neurons", "candidates": kinds, "pick": None, "tier": [],
                "order": sorted(kinds, key=times.get), "claims": {}, "statistic": "s per training epoch",
                "values": times, "best": min(kinds, key=times.get), "timing": True})
    return out


def _num(v: float, statistic: str) -> str:
    if statistic == "nJ per sample":
        return f"{v:.1f} nJ"
    if statistic == "s per training epoch":
        return f"{v:.3f} s"
    if statistic == "accuracy (%)":
        return f"{v:.1f}%"
    return f"{v:+.1f} points"


def guide_markdown(guide: list[dict[str, Any]]) -> str:
    """The decision guide as Markdown, one line per need, every word from :func:`recommend`'s verdicts.

    Defined in chapter 08 (Side by side), section "Which neuron should I use?".
    """
    lines = []
    for g in guide:
        st, vals = g["statistic"], g["values"]
        if g.get("timing"):
            fastest = g["order"][:3]
            lines.append(f"- **{g['need']}**: no verdict (one run's timings; the bench decides speed). Fastest "
                         "epochs in this run: " + ", ".join(f"{NEURONS[k].label} {_num(vals[k], st)}" for k in fastest)
                         + f"; slowest: {NEURONS[g['order'][-1]].label} {_num(vals[g['order'][-1]], st)}.")
            continue
        if not g["tier"]:
            lines.append(f"- **{g['need']}** (among {g['among']}): no neuron is above chance on {st}.")
            continue
        best = g["best"]
        if g["pick"] is not None:
            runner = g["order"][1] if len(g["order"]) > 1 else None
            if runner is None:
                lines.append(f"- **{g['need']}**: {NEURONS[best].label}, the only candidate ({_num(vals[best], st)}).")
                continue
            c = g["claims"][runner]
            lines.append(f"- **{g['need']}** (among {g['among']}): **{NEURONS[best].label}** "
                         f"({_num(vals[best], st)}); its margin over the runner-up, {NEURONS[runner].label} "
                         f"({_num(vals[runner], st)}), holds: {c.mean:+.2f}, 95% interval [{c.low:+.2f}, "
                         f"{c.high:+.2f}] over {len(c.diffs)} paired seeds, and so does every other.")
        else:
            c = g["claims"][g["order"][1]] if len(g["order"]) > 1 else None
            lines.append(f"- **{g['need']}** (among {g['among']}): no single neuron. The seeds cannot tell apart "
                         + ", ".join(f"{NEURONS[k].label} ({_num(vals[k], st)})" for k in g["tier"])
                         + (f"; {NEURONS[best].label} minus {NEURONS[g['order'][1]].label}: {c.mean:+.2f}, 95% "
                            f"interval [{c.low:+.2f}, {c.high:+.2f}], {c.verdict}" if c is not None else "")
                         + ".")
    return "\n".join(lines)


def recall_findings(rec: dict[str, Any], at_least: float = 15.0) -> str:
    """What the record says about delayed recall, as Markdown: at each delay of the memory sweep, which
    neurons recall (at least ``at_least`` points above chance), which stay at chance, and whether each
    declared expected failure failed; the spikes per neuron per step of the neurons at chance at the
    shortest delay (a silent network cannot carry a cue).

    Defined in chapter 08 (Side by side), section "Memory against delay".
    """
    m, rows = rec["metrics"], rows_by_label(rec)
    kinds, delays = list(m["neurons"]), sorted(int(d) for d in m["memory"])
    out = []
    for d in delays:
        label = m["task_labels"].get(f"recall-{d}", f"recall, delay {d}")
        rs = {k: rows[row_label(k, label)] for k in kinds}
        chance = next(iter(rs.values())).chance
        good = [k for k in kinds if rs[k].mean - rs[k].chance >= at_least]
        dead = [k for k in kinds if rs[k].at_chance]
        mid = [k for k in kinds if k not in good and k not in dead]
        declared = [k for k in kinds if rs[k].expected_failure]
        fmt = lambda ks: ", ".join(f"{NEURONS[k].label} {rs[k].mean:.0f}%" for k in ks) or "none"  # noqa: E731
        text = (f"**Delay {d}** (chance {chance:.0f}%). At least {at_least:g} points above chance: {fmt(good)}. "
                f"At chance: {fmt(dead)}.")
        if mid:
            text += f" In between: {fmt(mid)}."
        bim = [k for k in kinds if is_bimodal(rs[k])]
        if bim:
            text += " Seeds that split (each seed's value): " + "; ".join(
                f"{NEURONS[k].label} " + ", ".join(f"{v:.0f}" for v in rs[k].per_seed) for k in bim) + "."
        if declared:
            held = [k for k in declared if rs[k].at_chance]
            missed = [k for k in declared if not rs[k].at_chance]
            text += (f" Declared expected failures: {len(held)} of {len(declared)} at chance"
                     + (f"; not at chance: {fmt(missed)}" if missed else "") + ".")
        if d == delays[0] and dead:
            text += (" Spikes per neuron per step of those at chance: "
                     + ", ".join(f"{NEURONS[k].label} {m['memory'][str(d)][k]['rate']:.3f}" for k in dead) + ".")
        out.append(text)
    return "\n\n".join(out)
