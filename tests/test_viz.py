"""snnlib.viz: rasters, traces and the explorer in both its live and static forms."""
from __future__ import annotations

import json
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from snnlib import viz


def lif_like(current, reset):
    x = np.full(20, current)
    spikes = (np.arange(20) % (3 if reset == "soft" else 4) == 0).astype(float)
    return {"input": x, "membrane": np.cumsum(x) % 1.0, "spikes": spikes}


PARAMS = {"current": [0.5, 1.0, 2.0], "reset": ["hard", "soft"]}


def test_raster_and_traces_draw():
    s = torch.zeros(10, 3)
    s[2, 1] = s[5, 0] = 1
    ax = viz.raster(s)
    assert len(ax.collections[0].get_offsets()) == 2
    ax = viz.traces(torch.rand(10, 3), s, threshold=1.0)
    assert len(ax.lines) >= 3
    with pytest.raises(ValueError, match="spikes must have shape"):
        viz.raster(torch.zeros(2, 2, 2))
    with pytest.raises(ValueError, match="expected the shape of v"):
        viz.traces(torch.rand(10, 3), torch.zeros(10, 2))


def _html_outputs(capture):
    return [o.data for o in capture if hasattr(o, "data")]


def test_static_explorer_precomputes_every_combination(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    assert viz.explorer(lif_like, PARAMS, panels=[["input"], ["membrane"], ["spikes"]], static=True) is None
    html = shown[0].data
    fig = json.loads(re.search(r"var spec=(\{.*?\});var gd=", html).group(1))
    assert len(fig["layout"]["sliders"]) == 2
    assert [len(s["steps"]) for s in fig["layout"]["sliders"]] == [3, 2]
    table = json.loads(re.search(r"var table=(\[.*?\]);var radix", html).group(1))
    assert len(table) == 6 and all(len(row) == 3 for row in table)
    # combination index = current * 2 + reset, in the order of params; check one against the function
    row = table[2 * 2 + 1]                                   # current = 2.0, reset = soft
    ref = lif_like(2.0, "soft")
    assert np.allclose(row[0], ref["input"])
    assert [v is not None for v in row[2]] == list(ref["spikes"] > 0)
    # only the plotly twin: no saved ipywidgets controls, which would be drawn on the static page but dead
    assert len(shown) == 1
    assert "application/vnd.jupyter.widget" not in html and "SelectionSliderModel" not in html


def _spec(html):
    return json.loads(re.search(r"var spec=(\{.*?\});var gd=", html).group(1))


def test_static_layout_keeps_labels_and_legends_off_the_data(monkeypatch):
    """Raster rows are named without the shared "spikes" and get the margin they need; a legend sits
    in its own strip above its panel, only where a panel holds several lines."""
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))

    def demo(rate):
        t = np.arange(12)
        return {"input": t * 0.1, "charge H": t * 0.2, "membrane V": t * 0.3,
                "spikes masked PSN": (t % rate == 0).astype(float), "spikes LIF": (t % 3 == 0).astype(float)}

    viz.explorer(demo, {"rate": [2, 3]}, panels=[["input"], ["charge H", "membrane V"],
                                                 ["spikes masked PSN", "spikes LIF"]], static=True)
    fig = _spec(shown[0].data)
    lay = fig["layout"]
    assert lay["yaxis3"]["ticktext"] == ["masked PSN", "LIF"]
    assert all(lay[k]["automargin"] for k in ("yaxis", "yaxis2", "yaxis3"))
    shown_in_legend = [t["name"] for t in fig["data"] if t.get("showlegend")]
    assert shown_in_legend == ["charge H", "membrane V"]
    legends = [k for k in lay if k.startswith("legend")]
    assert legends == ["legend2"], legends
    assert all(t["legend"] == "legend2" for t in fig["data"] if t.get("showlegend"))
    # the legend strip lies between the panel above and the panel it names: over no data
    leg_y = lay["legend2"]["y"]
    assert lay["yaxis2"]["domain"][1] < leg_y < lay["yaxis"]["domain"][0]
    domains = [lay[k]["domain"] for k in ("yaxis", "yaxis2", "yaxis3")]
    assert all(a[0] > b[1] for a, b in zip(domains, domains[1:])), f"panels overlap: {domains}"


def test_live_explorer_builds_widgets_and_redraws(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    assert viz.explorer(lif_like, PARAMS, static=False, defaults={"current": 0.5, "reset": "hard"}) is None
    box = next(o for o in shown if hasattr(o, "children"))
    controls = box.children[0].children
    assert [c.description for c in controls] == ["current", "reset"]
    assert controls[0].value == 0.5
    controls[0].value = 2.0                                   # triggers a redraw without error
    box.close()


def test_explorer_rejects_bad_input():
    with pytest.raises(ValueError, match="params must name"):
        viz.explorer(lif_like, {}, static=True)
    with pytest.raises(ValueError, match=r"params\['current'\]"):
        viz.explorer(lif_like, {"current": 1.0, "reset": ["hard"]}, static=True)
    with pytest.raises(ValueError, match="defaults\\['reset'\\]='none'"):
        viz.explorer(lif_like, PARAMS, defaults={"reset": "none"}, static=True)
    with pytest.raises(KeyError, match="panel series 'voltage'"):
        viz.explorer(lif_like, PARAMS, panels=[["voltage"]], static=True)
    with pytest.raises(ValueError, match="combinations"):
        viz.explorer(lif_like, {"a": list(range(100)), "b": list(range(100))}, static=True)


def test_show_static_writes_html(monkeypatch):
    import plotly.graph_objects as go

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    monkeypatch.setenv("SNNLIB_STATIC", "1")
    viz.show(go.Figure(go.Scatter(y=[1, 2, 3])))
    assert "Plotly.newPlot" in shown[0].data and '"y":[1,2,3]' in shown[0].data


def band(k, lam):
    T = 6
    i = np.arange(T)
    mask = ((i[:, None] >= i[None, :]) & (i[:, None] - i[None, :] < k)).astype(float)
    return {"mask": lam * mask + (1 - lam) * np.ones((T, T)), "diag": np.diag(mask)}


def test_matrices_are_heatmaps(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    viz.explorer(band, {"k": [1, 2, 3], "lam": [0.0, 1.0]}, panels=[["mask"], ["diag"]], static=True)
    html = shown[0].data
    fig = json.loads(re.search(r"var spec=(\{.*?\});var gd=", html).group(1))
    assert fig["data"][0]["type"] == "heatmap" and fig["data"][1]["type"] == "scatter"
    assert json.loads(re.search(r"var kinds=(\[.*?\]);", html).group(1)) == ["z", "y"]
    table = json.loads(re.search(r"var table=(\[.*?\]);var radix", html).group(1))
    assert np.allclose(np.array(table[2 * 2 + 1][0], dtype=float), band(3, 1.0)["mask"])   # k = 3, lam = 1
    shown.clear()
    viz.explorer(band, {"k": [1, 2, 3], "lam": [0.0, 1.0]}, panels=[["mask"], ["diag"]], static=False)
    with pytest.raises(ValueError, match="panel of its own"):
        viz.explorer(band, {"k": [1, 2], "lam": [1.0]}, panels=[["mask", "diag"]], static=True)


def test_spike_series_sharing_a_panel_form_a_raster(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))

    def two(rate):
        t = np.arange(12)
        return {"spikes a": (t % rate == 0).astype(float), "spikes b": (t % (rate + 1) == 0).astype(float)}

    viz.explorer(two, {"rate": [2, 3]}, panels=[["spikes a", "spikes b"]], static=True)
    table = json.loads(re.search(r"var table=(\[.*?\]);var radix", shown[0].data).group(1))
    a, b = table[0]
    assert {v for v in a if v is not None} == {1.0} and {v for v in b if v is not None} == {2.0}


def test_legend_below_collects_each_label_once_and_refuses_an_unlabelled_figure():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2)
    ax[0].plot([0, 1], label="a")
    ax[1].plot([0, 1], label="a")
    ax[1].plot([1, 0], label="b")
    leg = viz.legend_below(fig)
    assert [t.get_text() for t in leg.get_texts()] == ["a", "b"]
    fig2, ax2 = plt.subplots()
    ax2.plot([0, 1])
    with pytest.raises(ValueError, match="no labelled artist"):
        viz.legend_below(fig2)
    plt.close("all")


def test_importing_viz_sets_the_book_style():
    import matplotlib
    assert matplotlib.rcParams["figure.dpi"] == viz.BOOK_STYLE["figure.dpi"]
    assert matplotlib.rcParams["legend.fontsize"] >= viz.MIN_FONT_PT


def test_every_neuron_of_the_book_has_its_own_colour_and_marker_pair():
    from snnlib.experiments import compare

    assert set(compare.NEURONS) <= set(viz.NEURON_STYLE)
    assert len(viz.NEURON_STYLE) >= 13                      # chapter 08's eleven and chapter 09's two
    colours = [s["color"] for s in viz.NEURON_STYLE.values()]
    assert len(set(colours)) == len(colours)
    pairs = {(s["marker"], s["ls"]) for s in viz.NEURON_STYLE.values()}
    assert len(pairs) == len(viz.NEURON_STYLE)              # told apart without colour too
    assert viz.neuron_style("psn", plotly=True) == {"color": "#1f77b4", "symbol": "square"}
    with pytest.raises(ValueError, match="no style for neuron 'nope'"):
        viz.neuron_style("nope")
