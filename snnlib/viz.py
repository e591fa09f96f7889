"""Pictures of spiking neurons: rasters, membrane traces, and explorers that stay live on a static page.

* :func:`raster` and :func:`traces` draw with matplotlib (static figures).
* :func:`show` displays a plotly figure in a way that survives the static book: Jupyter Book 1 drops
  plotly's own mimetype, so during a build the figure is written as HTML that calls the ``Plotly``
  served with the book.
* :func:`explorer` takes a function of named parameters and the values each may take.  With a live
  kernel it shows ipywidgets sliders that redraw a matplotlib figure.  While the book is being built
  (:func:`snnlib.utils.is_static_build`) it precomputes every combination and emits a plotly figure with
  one slider per parameter, so the demo stays interactive on the static site.  Only that figure: the
  live ipywidgets controls would be drawn there but could not drive anything.
"""
from __future__ import annotations

import html
import itertools
import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import utils

MAX_COMBINATIONS = 2000

#: the book's text column is 688 CSS px wide; a figure at most this many inches wide is shown at its own
#: size or larger, so a font of F points is displayed at F points or more (688 px / 96 px per inch = 7.17)
MAX_WIDTH_IN = 6.8
#: the smallest font, in points, any figure of the book uses (a room reads 10 pt on a projected page)
MIN_FONT_PT = 10
#: one figure style for the book: sized for the column, fonts of at least MIN_FONT_PT, drawn at 150 dpi
#: so that the picture stays sharp on high-DPI screens (the browser scales it to the column)
BOOK_STYLE: dict[str, Any] = {
    "figure.figsize": (MAX_WIDTH_IN, 3.2), "figure.dpi": 150, "savefig.dpi": "figure",
    "font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11, "xtick.labelsize": 10,
    "ytick.labelsize": 10, "legend.fontsize": 10, "legend.title_fontsize": 10, "figure.titlesize": 12,
    "axes.spines.top": False, "axes.spines.right": False,
}


def use_book_style() -> None:
    """Set :data:`BOOK_STYLE` in matplotlib's rcParams (done when :mod:`snnlib.viz` is imported)."""
    import matplotlib

    matplotlib.rcParams.update(BOOK_STYLE)


use_book_style()


#: one colour, marker and line style per neuron, the same on every page of the book: a family shares a
#: marker and a hue (LIF: circles, greys; PSN: squares, blues; PSU: triangles, greens; ParaLIF: diamonds,
#: reds; chapter 09's reset kept in parallel: down triangles, orange and brown), its members differ in
#: shade and line style, so that a neuron is told apart without colour too
NEURON_STYLE: dict[str, dict[str, str]] = {
    "lif": {"color": "#000000", "marker": "o", "ls": "-"},
    "lif_no_reset": {"color": "#8c8c8c", "marker": "o", "ls": "--"},
    "psn": {"color": "#1f77b4", "marker": "s", "ls": "-"},
    "masked_psn": {"color": "#6baed6", "marker": "s", "ls": "--"},
    "sliding_psn": {"color": "#08306b", "marker": "s", "ls": ":"},
    "psu": {"color": "#2ca02c", "marker": "^", "ls": "-"},
    "ipsu": {"color": "#74c476", "marker": "^", "ls": "--"},
    "rpsu": {"color": "#00441b", "marker": "^", "ls": ":"},
    "paralif_d": {"color": "#d62728", "marker": "D", "ls": "-"},
    "paralif_s": {"color": "#fc9272", "marker": "D", "ls": "--"},
    "paralif_r": {"color": "#67000d", "marker": "D", "ls": ":"},
    "lif_fixed_point": {"color": "#ff7f0e", "marker": "v", "ls": "-"},
    "fpt": {"color": "#8c510a", "marker": "v", "ls": "--"},
}
#: matplotlib markers as plotly symbols
_PLOTLY_SYMBOL = {"o": "circle", "s": "square", "^": "triangle-up", "D": "diamond", "v": "triangle-down"}


def neuron_style(key: str, *, plotly: bool = False) -> dict[str, str]:
    """The book's colour, marker and line style for neuron ``key`` (:data:`NEURON_STYLE`), as matplotlib
    keyword arguments, or with ``plotly=True`` as a plotly ``marker`` dict (``color``, ``symbol``)."""
    if key not in NEURON_STYLE:
        raise ValueError(f"neuron_style: no style for neuron {key!r}; known: {', '.join(NEURON_STYLE)}")
    st = NEURON_STYLE[key]
    if plotly:
        return {"color": st["color"], "symbol": _PLOTLY_SYMBOL[st["marker"]]}
    return dict(st)


def legend_below(fig, axes=None, *, ncol: int = 3):
    """One legend for the figure, under its panels, outside the data (the saved picture grows to hold it):
    the labelled lines of ``axes`` (all the figure's axes by default), each label once.  Lays the panels
    out first (``tight_layout``)."""
    axes = fig.axes if axes is None else list(np.atleast_1d(axes).ravel())
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels and not lab.startswith("_"):
                handles.append(h)
                labels.append(lab)
    if not labels:
        raise ValueError("legend_below: the axes have no labelled artist (pass label= when plotting)")
    fig.tight_layout()
    return fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                      ncol=min(ncol, len(labels)), frameon=False)


def _as_2d(name: str, a: Any) -> np.ndarray:
    arr = a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape [T] or [T, neurons]; got shape {tuple(arr.shape)}")
    return arr


def raster(spikes: Any, ax=None, *, dt: float = 1.0, title: str | None = None, color: str = "k"):
    """Spike raster of ``spikes`` with shape ``[T, neurons]`` (or ``[T]``): a dot per spike."""
    import matplotlib.pyplot as plt

    s = _as_2d("spikes", spikes)
    if ax is None:
        _, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 0.3 * s.shape[1] + 1.2))
    t, n = np.nonzero(s)
    ax.scatter(t * dt, n, marker="|", s=120, color=color, linewidths=1.5)
    ax.set_xlim(-0.5 * dt, s.shape[0] * dt)
    ax.set_ylim(-0.5, s.shape[1] - 0.5)
    ax.set_xlabel("time step" if dt == 1.0 else "time")
    ax.set_ylabel("neuron")
    if title:
        ax.set_title(title)
    return ax


def traces(v: Any, spikes: Any | None = None, ax=None, *, threshold: float | None = None,
           labels: Sequence[str] | None = None, title: str | None = None):
    """Membrane traces ``v`` with shape ``[T, neurons]`` (or ``[T]``); spikes marked with dots on top."""
    import matplotlib.pyplot as plt

    vv = _as_2d("v", v)
    if ax is None:
        _, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 2.6))
    steps = np.arange(vv.shape[0])
    for j in range(vv.shape[1]):
        label = labels[j] if labels is not None else (None if vv.shape[1] == 1 else f"neuron {j}")
        line, = ax.plot(steps, vv[:, j], lw=1.4, label=label)
        if spikes is not None:
            ss = _as_2d("spikes", spikes)
            if ss.shape != vv.shape:
                raise ValueError(f"spikes has shape {ss.shape}, expected the shape of v, {vv.shape}")
            hit = np.nonzero(ss[:, j])[0]
            ax.plot(hit, vv[hit, j], "o", color=line.get_color(), ms=4)
    if threshold is not None:
        ax.axhline(threshold, ls="--", color="gray", lw=1, label="threshold")
    ax.set_xlabel("time step")
    ax.set_ylabel("membrane")
    if title:
        ax.set_title(title)
    if labels is not None or vv.shape[1] > 1 or threshold is not None:
        ax.legend(loc="upper right")
    return ax


def _plotly_html(fig_json: dict, extra_js: str = "", div_class: str = "snn-plotly") -> str:
    uid = "snn-" + uuid.uuid4().hex[:10]
    payload = json.dumps(fig_json, separators=(",", ":"))
    return (
        f'<div class="{div_class}"><div id="{uid}" class="snn-plotly-graph"></div></div>\n'
        f"<script>(function(){{var spec={payload};var gd=document.getElementById('{uid}');"
        f"var go=function(){{Plotly.newPlot(gd,spec.data,spec.layout,{{responsive:true,displaylogo:false}})"
        f".then(function(){{{extra_js}}});}};"
        f"if(window.Plotly){{go();}}else{{window.addEventListener('load',go);}}}})();</script>"
    )


def show(fig) -> None:
    """Display a plotly figure: natively in a live kernel, as self-contained HTML in a book build.

    Defined in chapter 08 (Side by side), section "Accuracy against training time, and against spikes".
    """
    from IPython.display import HTML, display

    if utils.is_static_build():
        display(HTML(_plotly_html(json.loads(fig.to_json()))))
    else:
        fig.show()


@dataclass
class _Param:
    name: str
    values: list[Any]

    def label(self, v: Any) -> str:
        return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def _params(params: Mapping[str, Sequence[Any]], defaults: Mapping[str, Any] | None) -> tuple[list[_Param], dict]:
    if not params:
        raise ValueError("params must name at least one parameter, e.g. params={'tau': [2.0, 5.0, 10.0]}")
    out = []
    for name, values in params.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"params[{name!r}]={values!r}: expected a non-empty list of the values it may take")
        out.append(_Param(name, list(values)))
    n = int(np.prod([len(p.values) for p in out]))
    if n > MAX_COMBINATIONS:
        raise ValueError(f"params give {n} combinations; at most {MAX_COMBINATIONS} can be precomputed "
                         f"for the static page (use fewer values per parameter)")
    chosen = {}
    for p in out:
        d = (defaults or {}).get(p.name, p.values[len(p.values) // 2])
        if d not in p.values:
            raise ValueError(f"defaults[{p.name!r}]={d!r} is not one of params[{p.name!r}]={p.values!r}")
        chosen[p.name] = d
    return out, chosen


def _check_panels(result: Mapping[str, Any], panels: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
    if not isinstance(result, Mapping):
        raise TypeError(f"the explorer function must return a dict of named series; got {type(result).__name__}")
    series = {}
    for k, v in result.items():
        arr = v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v, dtype=float)
        if arr.ndim not in (1, 2):
            raise ValueError(f"series {k!r} must be 1-D (one value per time step) or a 2-D matrix (a heatmap); "
                             f"got shape {arr.shape}")
        series[k] = arr.astype(float)
    for row in panels:
        for name in row:
            if name not in series:
                raise KeyError(f"panel series {name!r} is not returned by the function; it returned {sorted(series)}")
            if series[name].ndim == 2 and len(row) > 1:
                raise ValueError(f"matrix {name!r} must have a panel of its own; its panel is {row}")
    return series


def _is_spike_series(name: str) -> bool:
    return name.lower().startswith("spike")


def _spike_level(row: Sequence[str], name: str) -> int:
    """Spike series sharing a panel are drawn as a raster: the j-th one on row j + 1."""
    return [n for n in row if _is_spike_series(n)].index(name) + 1


def _draw_matplotlib(series: dict[str, np.ndarray], panels, titles, title, x_label: str = "time step",
                     zrange: Mapping[str, tuple[float, float]] | None = None):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    matrices = any(series[r[0]].ndim == 2 for r in panels)
    if matrices:
        fig, axes = plt.subplots(1, len(panels), figsize=(MAX_WIDTH_IN, MAX_WIDTH_IN / len(panels) + 0.4),
                                 squeeze=False)
        axes = axes.T
    else:
        fig, axes = plt.subplots(len(panels), 1, figsize=(MAX_WIDTH_IN, 1.9 * len(panels) + 0.6), sharex=True, squeeze=False)
    for ax, row, ptitle in zip(axes[:, 0], panels, titles):
        for name in row:
            y = series[name]
            if y.ndim == 2:
                lo, hi = (zrange or {}).get(name, (None, None))
                im = ax.imshow(y, cmap="viridis", vmin=lo, vmax=hi, aspect="auto")
                fig.colorbar(im, ax=ax, shrink=0.8)
                ax.set_title(ptitle)
                break
            if _is_spike_series(name):
                t = np.nonzero(y)[0]
                level = _spike_level(row, name)
                ax.vlines(t, level - 0.4, level + 0.4, lw=2, label=name, color=f"C{level - 1}")
                names = [n for n in row if _is_spike_series(n)]
                ax.set_ylim(0.4, len(names) + 0.6)
                ax.set_yticks(range(1, len(names) + 1), _row_labels(names))
            else:
                ax.plot(np.arange(len(y)), y, lw=1.5, label=name)
        if series[row[0]].ndim == 2:
            continue
        ax.set_ylabel(ptitle)
        lines = [n for n in row if not _is_spike_series(n)]
        if len(lines) > 1:                       # above the panel, outside the data
            ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=min(len(lines), 3), frameon=False,
                      borderaxespad=0.2)
    if not matrices:
        axes[-1, 0].set_xlabel(x_label)
        axes[-1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _row_labels(names: Sequence[str]) -> list[str]:
    """Raster row labels: the series names without the leading "spike"/"spikes" word they share."""
    out = []
    for n in names:
        head, _, rest = n.partition(" ")
        out.append(rest if head.lower() in ("spike", "spikes") and rest else n)
    return out


def _round(arr: np.ndarray) -> list:
    if arr.ndim == 2:
        return [_round(row) for row in arr]
    return [None if not np.isfinite(x) else float(f"{x:.4g}") for x in arr]


def _colour_range(values: np.ndarray) -> tuple[float, float] | None:
    """One heatmap's colour scale over all its values (None when none is finite); a constant map gets a
    range of 1 rather than one stretched over its rounding noise."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    lo, hi = float(v.min()), float(v.max())
    return lo, hi if hi > lo else lo + 1.0


def _heatmap_ranges(fn, plist: list[_Param], panels) -> dict[str, tuple[float, float]]:
    """For each heatmap series, the (min, max) over every slider position: one colour scale for all."""
    maps: dict[str, list[np.ndarray]] = {}
    for combo in itertools.product(*[p.values for p in plist]):
        series = _check_panels(fn(**{p.name: v for p, v in zip(plist, combo)}), panels)
        for name, y in series.items():
            if y.ndim == 2:
                maps.setdefault(name, []).append(y.ravel())
    ranges = {k: _colour_range(np.concatenate(v)) for k, v in maps.items()}
    return {k: r for k, r in ranges.items() if r is not None}


def _static_figure(fn, plist: list[_Param], chosen: dict, panels, titles, title,
                   x_label: str = "time step") -> tuple[dict, str]:
    """The plotly twin: every combination precomputed, one slider per parameter."""
    combos = list(itertools.product(*[range(len(p.values)) for p in plist]))
    table = []
    for combo in combos:
        kwargs = {p.name: p.values[i] for p, i in zip(plist, combo)}
        series = _check_panels(fn(**kwargs), panels)
        row = []
        for r in panels:
            for name in r:
                y = series[name]
                if _is_spike_series(name) and y.ndim == 1:
                    y = np.where(y > 0, float(_spike_level(r, name)), np.nan)
                row.append(_round(y))
        table.append(row)
    start = tuple(p.values.index(chosen[p.name]) for p in plist)
    start_flat = combos.index(start)
    first = _check_panels(fn(**chosen), panels)
    kinds = ["z" if first[name].ndim == 2 else "y" for r in panels for name in r]
    zranges: dict[str, tuple[float, float]] = {}
    names = [name for r in panels for name in r]
    for j_z, name in enumerate(names):           # one colour scale per heatmap, over every position
        if kinds[j_z] == "z":
            r = _colour_range(np.array([v for row in table for line in row[j_z] for v in line if v is not None],
                                       dtype=float))
            if r is not None:
                zranges[name] = r
    data: list[dict[str, Any]] = []
    n_rows = len(panels)
    # Pixel layout, top to bottom: per panel an optional legend strip and the plot.  A panel
    # with several lines gets its own horizontal legend just above it (never over the data); a single
    # series is named by the panel's title, a raster by its row labels.  The y axes take the margin
    # their labels need (automargin), so row labels are not clipped at phone width; the x axes keep a fixed
    # bottom margin, which the sliders' positions below assume.
    legend_px, gap_px, title_px, slider_px = 28, 22, 16, 85
    lined = [sum(1 for n in r if kinds[j0 + r.index(n)] == "y" and not _is_spike_series(n)) > 1
             for r, j0 in zip(panels, itertools.accumulate([0] + [len(r) for r in panels[:-1]]))]
    panel_px = [300 if kinds[j0] == "z" else 180
                for j0 in itertools.accumulate([0] + [len(r) for r in panels[:-1]])]
    bottom_px = slider_px * len(plist) + 50
    plot_px = sum(panel_px) + sum(legend_px if lg else 0 for lg in lined) + gap_px * (n_rows - 1)
    layout: dict[str, Any] = {"margin": {"l": 10, "r": 10, "t": title_px, "b": bottom_px},
                              "height": title_px + plot_px + bottom_px,
                              "showlegend": any(lined)}
    j = 0
    first_line = None                                # the x axis of the first line panel
    y_px = 0                                         # from the top of the plotting area, downwards
    for r_i, (row, ptitle) in enumerate(zip(panels, titles)):
        suffix = "" if r_i == 0 else str(r_i + 1)
        legend_name = "legend" if r_i == 0 else f"legend{r_i + 1}"
        if lined[r_i]:
            layout[legend_name] = {"orientation": "h", "x": 0, "xanchor": "left", "y": 1 - y_px / plot_px,
                                   "yanchor": "top", "bgcolor": "rgba(0,0,0,0)", "font": {"size": 11}}
            y_px += legend_px
        top, bottom = 1 - y_px / plot_px, 1 - (y_px + panel_px[r_i]) / plot_px
        y_px += panel_px[r_i] + gap_px
        layout[f"yaxis{suffix}"] = {"domain": [max(bottom, 0.0), top], "title": {"text": ptitle},
                                    "anchor": f"x{suffix}", "automargin": True}
        n_x = len(first[row[0]]) if first[row[0]].ndim == 1 else 0
        # line panels share the x axis of the first line panel (a heatmap's columns are another axis)
        if kinds[j] == "y" and first_line is None:
            first_line = "x" + suffix
        layout[f"xaxis{suffix}"] = {"anchor": f"y{suffix}",
                                    "matches": first_line if kinds[j] == "y" and first_line != "x" + suffix else None,
                                    "showticklabels": r_i == n_rows - 1,
                                    "tick0": 0, "dtick": max(1, -(-n_x // 10)),      # whole numbers only
                                    "title": {"text": x_label if r_i == n_rows - 1 else ""}}
        if kinds[j] == "z":                      # a matrix: its own axes, row 0 on top, filling the panel
            layout[f"yaxis{suffix}"].update(autorange="reversed")
            layout[f"xaxis{suffix}"].update(matches=None, showticklabels=True, title={"text": ""},
                                            dtick=None, tick0=None)
        spikes_here = [n for n in row if _is_spike_series(n) and kinds[j + row.index(n)] == "y"]
        if spikes_here:                          # a raster: name its rows (without the shared "spikes")
            layout[f"yaxis{suffix}"].update(tickvals=list(range(1, len(spikes_here) + 1)),
                                            ticktext=_row_labels(spikes_here),
                                            range=[0.4, len(spikes_here) + 0.6])
        for name in row:
            y = table[start_flat][j]
            if kinds[j] == "z":
                lo, hi = zranges.get(name, (None, None))
                data.append({"type": "heatmap", "name": name, "z": y, "colorscale": "Viridis", "showscale": True,
                             "zmin": lo, "zmax": hi,
                             "colorbar": {"len": top - bottom, "y": (top + bottom) / 2, "thickness": 12},
                             "xaxis": f"x{suffix}", "yaxis": f"y{suffix}"})
                j += 1
                continue
            trace = {"type": "scatter", "name": name, "x": list(range(len(y))), "y": y,
                     "xaxis": f"x{suffix}", "yaxis": f"y{suffix}", "showlegend": lined[r_i], "legend": legend_name}
            if _is_spike_series(name):
                trace.update(mode="markers", marker={"symbol": "line-ns-open", "size": 16, "line": {"width": 2}})
            else:
                trace.update(mode="lines")
            data.append(trace)
            j += 1
    # sliders below the plots, a fixed number of pixels apart (plotly places them in plot-relative units)
    sliders = []
    for k, p in enumerate(plist):
        sliders.append({
            "active": start[k], "currentvalue": {"prefix": f"{p.name} = "}, "pad": {"t": 10},
            "yanchor": "top", "y": -(45 + slider_px * k) / plot_px, "len": 1.0,
            "steps": [{"label": p.label(v), "method": "skip", "args": []} for v in p.values],
        })
    layout["sliders"] = sliders
    radix = [len(p.values) for p in plist]
    js = (
        f"var table={json.dumps(table, separators=(',', ':'))};var radix={json.dumps(radix)};"
        f"var idx={json.dumps(list(start))};var kinds={json.dumps(kinds)};gd.snnTable=table;gd.dataset.combo='{start_flat}';"
        "gd.on('plotly_sliderchange',function(e){"
        "var k=e.slider._index;if(k===undefined){k=gd._fullLayout.sliders.indexOf(e.slider);}"
        "var s=e.step._index;if(s===undefined){s=e.slider.steps.indexOf(e.step);}"
        "idx[k]=s;var flat=0;for(var i=0;i<radix.length;i++){flat=flat*radix[i]+idx[i];}"
        "gd.dataset.combo=String(flat);"
        "var row=table[flat];var up={y:[],z:[]};var ids={y:[],z:[]};"
        "for(var t=0;t<row.length;t++){up[kinds[t]].push(row[t]);ids[kinds[t]].push(t);}"
        "if(ids.y.length){Plotly.restyle(gd,{y:up.y},ids.y);}"
        "if(ids.z.length){Plotly.restyle(gd,{z:up.z},ids.z);var ax={};"
        "for(var q=0;q<ids.z.length;q++){var tr=gd.data[ids.z[q]];"
        "ax[(tr.xaxis||'x').replace('x','xaxis')+'.autorange']=true;"
        "ax[(tr.yaxis||'y').replace('y','yaxis')+'.autorange']='reversed';}"
        "Plotly.relayout(gd,ax);}});"
    )
    return {"data": data, "layout": layout}, js


def _controls(plist: list[_Param], chosen: dict):
    import ipywidgets as W

    ctrls = {}
    for p in plist:
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in p.values):
            ctrls[p.name] = W.SelectionSlider(options=[(p.label(v), v) for v in p.values], value=chosen[p.name],
                                              description=p.name, continuous_update=False)
        else:
            ctrls[p.name] = W.ToggleButtons(options=[(p.label(v), v) for v in p.values], value=chosen[p.name],
                                            description=p.name)
    return ctrls


def explorer(fn: Callable[..., Mapping[str, Any]], params: Mapping[str, Sequence[Any]], *,
             panels: Sequence[Sequence[str]] | None = None, titles: Sequence[str] | None = None,
             defaults: Mapping[str, Any] | None = None, title: str | None = None,
             static: bool | None = None, x_label: str = "time step") -> None:
    """An interactive demo over the named parameters of ``fn``.

    Args:
        fn: called as ``fn(**{name: value})``; returns a dict of 1-D series over time, drawn as lines,
            or of 2-D matrices, drawn as heatmaps (one per panel).  A 1-D series whose name starts with
            ``spike`` is drawn as spike ticks.
        params: for each parameter, the values it may take (the same grid live and static).
        panels: which series share a panel, top to bottom (default: one panel per series).
        titles: the y-axis title of each panel.
        defaults: the starting value of each parameter (default: the middle value).
        static: force the static (``True``) or live (``False``) form; default: the book-build switch.
        x_label: what the line panels' x axis counts (its ticks are whole numbers): ``"time step"``, or
            ``"block"`` when a series runs over a network's blocks.

    A heatmap keeps one colour scale over every slider position (the range of all its values), so that
    positions compare and a constant map is not stretched over a colour bar of its rounding noise.

    The demo is displayed; nothing is returned, so the call can end a cell without echoing a value.

    Defined in chapter 00 (Foundations), section "Interactive demo".
    """
    from IPython.display import HTML, display

    plist, chosen = _params(params, defaults)
    first = fn(**chosen)
    if panels is None:
        panels = [[k] for k in first]
    panels = [list(r) for r in panels]
    _check_panels(first, panels)
    titles = list(titles) if titles is not None else [", ".join(r) for r in panels]
    if len(titles) != len(panels):
        raise ValueError(f"titles has {len(titles)} entries, expected one per panel ({len(panels)})")
    static = utils.is_static_build() if static is None else static

    if static:
        # The plotly twin only: saved ipywidgets controls would render on the page but drive nothing.  The
        # title is page text above the figure (it wraps at phone width; a plotly title would be cut).
        fig, js = _static_figure(fn, plist, chosen, panels, titles, title, x_label)
        note = ('<p class="snn-explorer-note">Static page: every slider position was computed when the book '
                'was built. Opened in Jupyter or Colab, the same call shows live controls.</p>')
        heading = f'<p class="snn-explorer-title">{html.escape(title)}</p>' if title else ""
        display(HTML(heading + note + _plotly_html(fig, js, div_class="snn-explorer")))
        return None

    import ipywidgets as W
    import matplotlib.pyplot as plt

    ctrls = _controls(plist, chosen)
    out = W.Output()
    zrange = _heatmap_ranges(fn, plist, panels) if any(v.ndim == 2 for v in _check_panels(first, panels).values()) \
        else {}

    def redraw(**kwargs):
        with out:
            out.clear_output(wait=True)
            fig = _draw_matplotlib(_check_panels(fn(**kwargs), panels), panels, titles, title, x_label, zrange)
            display(fig)
            plt.close(fig)

    W.interactive_output(redraw, ctrls)
    box = W.VBox([W.HBox(list(ctrls.values()), layout=W.Layout(flex_flow="row wrap")), out])
    display(box)
    return None


__all__ = ["raster", "traces", "show", "explorer", "MAX_COMBINATIONS"]
