"""Chapter 08's tables and decision guide, read from a ``compare`` record (:mod:`snnlib.experiments.compare`
runs it): the table per task, the papers' orders, the Pareto front, and "Which neuron should I use?".
"""
from __future__ import annotations

from typing import Any

from .compare import NEURONS, accuracy_row, order_checks

__all__ = ["summary_table", "order_table", "pareto_front", "recommend"]


def order_table(rec: dict[str, Any]) -> "results.Table":
    """The papers' orders (:data:`ORDER_CLAIMS`) on each task of a ``compare`` record, one row per claim:
    ``yes`` or ``no``, with the two measured values (accuracy in %, rate in spikes per neuron per step, time
    in seconds per epoch).

    Defined in chapter 08 (Side by side), section "What we found".
    """
    from .. import results

    m = rec["metrics"]
    checks = order_checks(m)
    claims = list(dict.fromkeys((c["paper"], c["claim"]) for c in checks))

    def shown(c: dict[str, Any]) -> str:
        a, b = c["values"]
        pair = f"{100 * a:.1f} vs {100 * b:.1f}" if c["metric"] == "acc" else f"{a:.3g} vs {b:.3g}"
        return f"{'yes' if c['holds'] else 'no'}: {pair}"

    rows = [[paper, claim] + [next((shown(c) for c in checks if c["claim"] == claim and c["task"] == t), "-")
                              for t in m["tasks"]] for paper, claim in claims]
    return results.Table(header=["paper", "claim", *(m["task_labels"][t] for t in m["tasks"])], rows=rows,
                         caption="The papers' orders, checked on this run (holds? measured: claimed better vs worse)")


def summary_table(rec: dict[str, Any], task: str) -> "results.Table":
    """One task of a ``compare`` record as a :class:`snnlib.results.Table`: per neuron, mean ± std over
    the seeds of accuracy, spikes per neuron per step, SOPs and energy per sample, training time per
    epoch and autograd's saved bytes per sample.

    Defined in chapter 08 (Side by side), section "The table".
    """
    from .. import results

    m = rec["metrics"]
    if task not in m["table"]:
        raise ValueError(f"task={task!r} is not in the record; its tasks: {', '.join(m['table'])}")
    spiking = bool(m.get("spiking_input", {}).get(task))
    rows = []
    for kind in m["neurons"]:
        r = m["table"][task][kind]
        shown = results.format_measured(accuracy_row(kind, m["task_labels"][task], r))
        rows.append([NEURONS[kind].label, shown, f"{r['rate']:.3f}", f"{r['sops'] / 1e3:,.1f}",
                     f"{r['energy_pj'] / 1e3:,.1f}", f"{r['epoch_s']:.3f}", f"{r['saved_bytes'] / 1024:,.1f}"])
    n = len(rec["seeds"])
    return results.Table(
        header=["neuron", "accuracy", "spikes", "kSOPs", "nJ", "s/epoch", "KiB saved"],
        rows=rows, numeric=(1, 2, 3, 4, 5, 6),
        caption=f"{m['task_labels'][task]}, scale {rec['scale']}, seeds {rec['seeds']} (mean over {n})",
        notes=["accuracy: max test accuracy over the epochs, mean ± std; spikes: per neuron per step, on the test "
               "set after the last epoch; kSOPs and nJ: synaptic operations and energy per sample (45 nm, "
               "E_MAC 4.6 pJ, E_AC 0.9 pJ), snnlib.energy on one test batch"
               + (", every layer spike-driven (the input is events or spikes)" if spiking else "")
               + "; s/epoch: the training pass of an epoch, on " + str(rec.get("device", "?"))
               + (f", {t} thread(s)" if (t := rec["config"].get("threads")) else "")
               + "; KiB saved: what autograd keeps for the backward pass of one training batch, per sample"])


def _mean_over_tasks(table: dict[str, Any], kind: str, metric: str) -> float:
    return sum(table[t][kind][metric] for t in table) / len(table)


def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """The keys of ``points`` (``key: (accuracy, cost)``) that no other key beats on both: higher accuracy
    and lower cost.  In the order of ``points``.

    Defined in chapter 08 (Side by side), section "Accuracy against training time, and against spikes".
    """
    return [k for k, (a, c) in points.items()
            if not any(a2 >= a and c2 <= c and (a2 > a or c2 < c) for a2, c2 in points.values())]


def recommend(rec: dict[str, Any], causal: dict[str, bool]) -> list[dict[str, Any]]:
    """The decision guide of chapter 08, drawn from a ``compare`` record: for each need, the neuron the
    measured table supports, the neurons it was chosen from, and the rows (task, neuron, metric, value)
    that support it.

    ``causal``: for each neuron, whether its spikes up to step t depend on the inputs up to t only
    (:func:`is_causal`).  Accuracies are means over the tasks of the table.  The needs:

    * ``accuracy``: the best accuracy, whatever it takes;
    * ``any length``: the best among the neurons without a fixed T (a model trained at one T runs at
      another);
    * ``low latency``: the best among the causal neurons (an answer at every step, none waits for the end
      of the sequence);
    * ``streaming``: the best among the causal neurons without a fixed T (step by step, on sequences of any
      length: a sensor, a chip);
    * ``memory``: the best accuracy at the longest delay of the memory sweep;
    * ``training time`` and ``energy``: the neuron with the lowest mean training epoch (energy per sample),
      with the Pareto front of accuracy against that cost.

    Defined in chapter 08 (Side by side), section "Which neuron should I use?".
    """
    m = rec["metrics"]
    table, kinds = m["table"], list(m["neurons"])
    missing = [k for k in kinds if k not in causal]
    if missing:
        raise ValueError(f"causal has no entry for {', '.join(missing)}; expected one per neuron of the record")
    acc = {k: _mean_over_tasks(table, k, "acc") for k in kinds}

    def cite(kind: str, metric: str) -> list[dict[str, Any]]:
        return [{"task": t, "neuron": kind, "metric": metric, "value": table[t][kind][metric]} for t in table]

    out = []
    for need, among, words in (
            ("accuracy", kinds, "among all the neurons"),
            ("any length", [k for k in kinds if not NEURONS[k].fixed_T], "among the neurons without a fixed T"),
            ("low latency", [k for k in kinds if causal[k]], "among the causal neurons"),
            ("streaming", [k for k in kinds if causal[k] and not NEURONS[k].fixed_T],
             "among the causal neurons without a fixed T")):
        if among:
            pick = max(among, key=acc.get)
            out.append({"need": need, "pick": pick, "candidates": among, "rows": cite(pick, "acc"),
                        "why": f"best mean accuracy {words} ({100 * acc[pick]:.1f}%)"})
    if m.get("memory"):
        longest = max(m["memory"], key=int)
        mem = m["memory"][longest]
        pick = max(kinds, key=lambda k: mem[k]["acc"])
        also = [NEURONS[k].label for k in kinds if k != pick and mem[k]["acc"] >= 0.9]
        out.append({"need": "memory", "pick": pick, "candidates": kinds,
                    "rows": [{"task": f"recall-{longest}", "neuron": pick, "metric": "acc",
                              "value": mem[pick]["acc"]}],
                    "why": f"best accuracy at the longest delay, {longest} steps ({100 * mem[pick]['acc']:.1f}%)"
                           + (f"; also at 90% or more: {', '.join(also)}" if also else "")})
    for need, metric, what, shown in (("training time", "epoch_s", "training epoch", lambda v: f"{v:.3f} s"),
                                      ("energy", "energy_pj", "energy per sample",
                                       lambda v: f"{v / 1e3:.1f} nJ")):
        cost = {k: _mean_over_tasks(table, k, metric) for k in kinds}
        pick = min(kinds, key=cost.get)
        front = pareto_front({k: (acc[k], cost[k]) for k in kinds})
        out.append({"need": need, "pick": pick, "candidates": kinds, "front": front, "rows": cite(pick, metric),
                    "why": f"lowest mean {what} ({shown(cost[pick])}, at {100 * acc[pick]:.1f}% accuracy); "
                           "no neuron is both more accurate and cheaper than: "
                           + ", ".join(NEURONS[k].label for k in front)})
    return out
