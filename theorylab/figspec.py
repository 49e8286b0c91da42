"""Figures as data: capture a claim's matplotlib figure into a JSON-ready spec and redraw it.

The verify harness stores the spec of every claim's figure inside the claim's JSON record,
and ``theorylab report`` draws the PNG from that spec. A figure therefore never disagrees
with its record, and full-scale figures can be redrawn (restyled, resized) without
recomputing anything.

What is captured: the figure size and suptitle; per axes its grid position, title, labels,
scales, limits, explicit ticks, legend and grid; data lines (``plot``, ``step``),
horizontal/vertical reference lines (``axhline``/``axvline``), error bars (``errorbar``),
bars (``bar``/``hist``), scatter points, filled polygons (``fill_between``), images and
text. Anything else makes the spec *incomplete* (``spec["complete"] is False``, with the
reason in ``spec["unsupported"]``); the harness then keeps the PNG drawn from the live
figure and the report says so.

Examples
--------
>>> from theorylab.plotting import new_figure, plot_theory
>>> fig, ax = new_figure(1)
>>> _ = plot_theory(ax[0], [0, 1, 2], [0, 1, 4])
>>> spec = capture(fig)
>>> spec["complete"], len(spec["axes"][0]["lines"])
(True, 1)
>>> capture(render(spec))["axes"] == spec["axes"]
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["capture", "render", "SPEC_VERSION"]

SPEC_VERSION = 1
_SIG = 7  # significant digits kept for data values: far below what a figure can show


def _f(v: Any) -> Any:
    """A float rounded to _SIG significant digits (nan/inf as strings, for JSON)."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return 0.0
    return float(f"{v:.{_SIG}g}")


def _arr(a: Any) -> list:
    a = np.ma.filled(np.ma.asarray(a, dtype=float), np.nan)
    if a.ndim == 0:
        return _f(a)
    return [_arr(x) if np.ndim(x) else _f(x) for x in a]


def _unarr(a: Any) -> np.ndarray:
    def conv(x):
        if isinstance(x, list):
            return [conv(v) for v in x]
        return float(x)  # float("nan"), float("inf") parse the string forms
    return np.asarray(conv(a), dtype=float)


def _color(c: Any) -> Any:
    from matplotlib.colors import to_hex

    if c is None:
        return None
    c = np.asarray(c)
    if c.dtype.kind in "US":
        return str(c)
    if c.ndim == 2:
        if len(c) == 0:
            return "none"
        c = c[0]
    if c.ndim == 1 and len(c) == 4 and c[3] == 0:
        return "none"
    return to_hex(c, keep_alpha=True)


def _text_props(t: Any) -> dict[str, Any]:
    return {"text": t.get_text(), "fontsize": _f(t.get_fontsize()),
            "color": _color(t.get_color())}


def _line_props(ln: Any) -> dict[str, Any]:
    return {
        "color": _color(ln.get_color()), "ls": ln.get_linestyle(), "lw": _f(ln.get_linewidth()),
        "marker": str(ln.get_marker()), "ms": _f(ln.get_markersize()),
        "mfc": _color(ln.get_markerfacecolor()), "mec": _color(ln.get_markeredgecolor()),
        "alpha": ln.get_alpha(), "label": ln.get_label(), "drawstyle": ln.get_drawstyle(),
        "zorder": _f(ln.get_zorder()),
    }


def _handle(h: Any) -> dict[str, Any]:
    """A legend key as a style: a line (with marker) or a filled patch."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if isinstance(h, Line2D):
        return {"type": "line", "color": _color(h.get_color()), "ls": h.get_linestyle(),
                "lw": _f(h.get_linewidth()), "marker": str(h.get_marker()),
                "ms": _f(h.get_markersize())}
    if isinstance(h, Patch):
        return {"type": "patch", "color": _color(h.get_facecolor()),
                "edgecolor": _color(h.get_edgecolor())}
    get = getattr(h, "get_color", None) or getattr(h, "get_facecolor", None)
    return {"type": "line", "color": _color(get()) if get else "#000000", "ls": "-",
            "lw": 1.5, "marker": "None", "ms": 0.0}


def _subplot_pos(ax: Any) -> dict[str, Any] | None:
    ss = ax.get_subplotspec()
    if ss is None:
        return None
    gs = ss.get_gridspec()
    nrows, ncols = gs.get_geometry()
    return {"nrows": nrows, "ncols": ncols,
            "rows": [ss.rowspan.start, ss.rowspan.stop],
            "cols": [ss.colspan.start, ss.colspan.stop]}


def _fixed_ticks(axis: Any) -> dict[str, Any] | None:
    from matplotlib.ticker import FixedFormatter, FixedLocator, FuncFormatter

    loc = axis.get_major_locator()
    if not isinstance(loc, FixedLocator):
        return None
    fmt = axis.get_major_formatter()
    out: dict[str, Any] = {"ticks": _arr(loc.locs)}
    if isinstance(fmt, FixedFormatter):
        out["labels"] = [str(s) for s in fmt.seq]
    elif isinstance(fmt, FuncFormatter):  # set_ticks(ticks, labels) on matplotlib >= 3.10
        out["labels"] = [str(fmt(x, i)) for i, x in enumerate(loc.locs)]
    return out


def _capture_axes(ax: Any, unsupported: list[str]) -> dict[str, Any]:
    from matplotlib.collections import LineCollection, PathCollection, PolyCollection
    from matplotlib.container import BarContainer, ErrorbarContainer
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle
    from matplotlib.text import Annotation

    spec: dict[str, Any] = {
        "pos": _subplot_pos(ax),
        "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
        "xscale": ax.get_xscale(), "yscale": ax.get_yscale(),
        "xlim": _arr(ax.get_xlim()), "ylim": _arr(ax.get_ylim()),
        "xticks": _fixed_ticks(ax.xaxis), "yticks": _fixed_ticks(ax.yaxis),
        "grid": bool(ax.xaxis._major_tick_kw.get("gridOn", False)),
        "lines": [], "errorbars": [], "bars": [], "scatter": [], "polys": [], "images": [],
        "texts": [],
    }
    if spec["pos"] is None:
        unsupported.append("axes not on a subplot grid")
    seen: set[int] = set()
    for cont in ax.containers:
        if isinstance(cont, ErrorbarContainer):
            data_line, caplines, barcols = cont.lines
            x, y = data_line.get_xdata(), data_line.get_ydata()
            item = {"x": _arr(x), "y": _arr(y), "label": cont.get_label(),
                    "line": _line_props(data_line), "xerr": None, "yerr": None,
                    "capsize": 0.0, "elinewidth": None}
            k = 0
            for attr, idx in (("xerr", 0), ("yerr", 1)):
                has = cont.has_xerr if attr == "xerr" else cont.has_yerr
                if has:
                    segs = barcols[k].get_segments()
                    k += 1
                    lo = np.array([s[0][idx] for s in segs])
                    hi = np.array([s[1][idx] for s in segs])
                    c = np.asarray(x if attr == "xerr" else y, dtype=float)
                    item[attr] = [_arr(np.abs(c - lo)), _arr(np.abs(hi - c))]
            if barcols:
                item["elinewidth"] = _f(barcols[0].get_linewidth()[0])
                item["ecolor"] = _color(barcols[0].get_color())
            if caplines:
                item["capsize"] = _f(caplines[0].get_markersize() / 2)
            seen.update(id(a) for a in (data_line, *caplines, *barcols))
            spec["errorbars"].append(item)
        elif isinstance(cont, BarContainer):
            rects = list(cont.patches)
            if not rects:
                continue
            spec["bars"].append({
                "x": _arr([r.get_x() for r in rects]), "y": _arr([r.get_y() for r in rects]),
                "w": _arr([r.get_width() for r in rects]),
                "h": _arr([r.get_height() for r in rects]),
                "color": _color(rects[0].get_facecolor()),
                "edgecolor": _color(rects[0].get_edgecolor()), "alpha": rects[0].get_alpha(),
                "label": cont.get_label(), "orientation": cont.orientation or "vertical"})
            seen.update(id(r) for r in rects)
        else:
            unsupported.append(f"container {type(cont).__name__}")
    for ln in ax.lines:
        if id(ln) in seen:
            continue
        if not isinstance(ln, Line2D):
            unsupported.append(f"line {type(ln).__name__}")
            continue
        tr = ln.get_transform()
        if tr == ax.transData:
            kind = "data"
        elif tr == ax.get_yaxis_transform():
            kind = "hline"
        elif tr == ax.get_xaxis_transform():
            kind = "vline"
        else:
            unsupported.append("line in a non-data transform")
            continue
        spec["lines"].append({"kind": kind, "x": _arr(ln.get_xdata()),
                              "y": _arr(ln.get_ydata()), **_line_props(ln)})
    for col in ax.collections:
        if id(col) in seen:
            continue
        if isinstance(col, PathCollection):
            spec["scatter"].append({
                "offsets": _arr(col.get_offsets()), "sizes": _arr(col.get_sizes()),
                "color": _color(col.get_facecolor()), "edgecolor": _color(col.get_edgecolor()),
                "alpha": col.get_alpha(), "label": col.get_label()})
        elif isinstance(col, PolyCollection):
            spec["polys"].append({
                "verts": [_arr(p.vertices) for p in col.get_paths()],
                "color": _color(col.get_facecolor()), "edgecolor": _color(col.get_edgecolor()),
                "alpha": col.get_alpha(), "label": col.get_label()})
        elif isinstance(col, LineCollection):
            spec["polys"].append({
                "segments": [_arr(s) for s in col.get_segments()],
                "color": _color(col.get_color()), "alpha": col.get_alpha(),
                "label": col.get_label()})
        else:
            unsupported.append(f"collection {type(col).__name__}")
    for p in ax.patches:
        if id(p) in seen:
            continue
        if isinstance(p, Rectangle):
            spec["bars"].append({
                "x": [_f(p.get_x())], "y": [_f(p.get_y())], "w": [_f(p.get_width())],
                "h": [_f(p.get_height())], "color": _color(p.get_facecolor()),
                "edgecolor": _color(p.get_edgecolor()), "alpha": p.get_alpha(),
                "label": p.get_label(), "orientation": "vertical"})
        else:
            unsupported.append(f"patch {type(p).__name__}")
    for im in ax.images:
        spec["images"].append({"data": _arr(im.get_array()), "extent": _arr(im.get_extent()),
                               "cmap": im.get_cmap().name, "origin": im.origin,
                               "clim": _arr(im.get_clim())})
    for t in ax.texts:
        if isinstance(t, Annotation):
            unsupported.append("annotation")
            continue
        kind = "data" if t.get_transform() == ax.transData else (
            "axes" if t.get_transform() == ax.transAxes else None)
        if kind is None:
            unsupported.append("text in a non-data/axes transform")
            continue
        x, y = t.get_position()
        spec["texts"].append({"x": _f(x), "y": _f(y), "coords": kind, **_text_props(t),
                              "ha": t.get_horizontalalignment(),
                              "va": t.get_verticalalignment()})
    leg = ax.get_legend()
    spec["legend"] = None if leg is None else {
        "fontsize": _f(leg.get_texts()[0].get_fontsize()) if leg.get_texts() else 7.0,
        "frameon": bool(leg.get_frame_on()), "loc": int(getattr(leg, "_loc", 0) or 0),
        "entries": [{"text": t.get_text(), **_handle(h)}
                    for h, t in zip(leg.legend_handles, leg.get_texts(), strict=False)]}
    return spec


def capture(fig: Any) -> dict[str, Any]:
    """Describe ``fig`` as a JSON-ready dict (see the module docstring for what is kept)."""
    unsupported: list[str] = []
    w, h = fig.get_size_inches()
    st = fig._suptitle
    axes = []
    for ax in fig.axes:
        if getattr(ax, "_colorbar", None) is not None or ax.get_label() == "<colorbar>":
            unsupported.append("colorbar")
            continue
        axes.append(_capture_axes(ax, unsupported))
    return {"version": SPEC_VERSION, "size": [_f(w), _f(h)],
            "suptitle": None if st is None else _text_props(st),
            "axes": axes, "complete": not unsupported, "unsupported": sorted(set(unsupported))}


def _opt(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: d[k] for k in keys if d.get(k) is not None}


def render(spec: dict[str, Any]) -> Any:
    """Draw a :func:`capture` spec as a new ``matplotlib.figure.Figure``."""
    from matplotlib.figure import Figure

    if spec.get("version") != SPEC_VERSION:
        raise ValueError(f"spec version must be {SPEC_VERSION}, got {spec.get('version')!r}")
    fig = Figure(figsize=tuple(spec["size"]), layout="constrained")
    if spec.get("suptitle"):
        st = spec["suptitle"]
        fig.suptitle(st["text"], fontsize=st["fontsize"], color=st["color"])
    grids: dict[tuple[int, int], Any] = {}
    for a in spec["axes"]:
        pos = a["pos"]
        key = (pos["nrows"], pos["ncols"])
        if key not in grids:
            grids[key] = fig.add_gridspec(*key)
        gs = grids[key]
        ax = fig.add_subplot(gs[pos["rows"][0]:pos["rows"][1], pos["cols"][0]:pos["cols"][1]])
        _render_axes(ax, a)
    return fig


def _line_kw(d: dict[str, Any]) -> dict[str, Any]:
    kw = {"color": d["color"], "ls": d["ls"], "lw": d["lw"], "marker": d["marker"],
          "ms": d["ms"], "mfc": d["mfc"], "mec": d["mec"], "alpha": d["alpha"],
          "label": d["label"], "drawstyle": d["drawstyle"], "zorder": d["zorder"]}
    if kw["marker"] == "None":
        kw["marker"] = None
    return {k: v for k, v in kw.items() if v is not None}


def _render_axes(ax: Any, a: dict[str, Any]) -> None:
    if a.get("grid"):
        ax.grid(True, alpha=0.25, lw=0.6)
    for d in a["lines"]:
        kw = _line_kw(d)
        if d["kind"] == "hline":
            ax.axhline(_unarr(d["y"])[0], **kw)
        elif d["kind"] == "vline":
            ax.axvline(_unarr(d["x"])[0], **kw)
        else:
            ax.plot(_unarr(d["x"]), _unarr(d["y"]), **kw)
    for e in a["errorbars"]:
        kw = _line_kw(e["line"])
        kw.pop("drawstyle", None)
        kw["zorder"] = kw["zorder"] - 0.1  # errorbar raises its data line by 0.1
        kw["label"] = e["label"]
        kw["ls"] = "none" if e["line"]["ls"] in ("None", "none", "") else e["line"]["ls"]
        xerr = None if e["xerr"] is None else _unarr(e["xerr"])
        yerr = None if e["yerr"] is None else _unarr(e["yerr"])
        ax.errorbar(_unarr(e["x"]), _unarr(e["y"]), xerr=xerr, yerr=yerr,
                    capsize=e["capsize"], **_opt(e, "elinewidth", "ecolor"), **kw)
    for b in a["bars"]:
        kw = {"color": b["color"], "edgecolor": b["edgecolor"], "alpha": b["alpha"],
              "label": b["label"]}
        kw = {k: v for k, v in kw.items() if v is not None}
        if b["orientation"] == "horizontal":
            ax.barh(_unarr(b["y"]), _unarr(b["w"]), height=_unarr(b["h"]), left=_unarr(b["x"]),
                    align="edge", **kw)
        else:
            ax.bar(_unarr(b["x"]), _unarr(b["h"]), width=_unarr(b["w"]), bottom=_unarr(b["y"]),
                   align="edge", **kw)
    for s in a["scatter"]:
        off = _unarr(s["offsets"]).reshape(-1, 2)
        ax.scatter(off[:, 0], off[:, 1], s=_unarr(s["sizes"]),
                   **{k: v for k, v in (("c", s["color"]), ("edgecolors", s["edgecolor"]),
                                        ("alpha", s["alpha"]), ("label", s["label"]))
                      if v is not None})
    for p in a["polys"]:
        from matplotlib.collections import LineCollection, PolyCollection

        if "verts" in p:
            col = PolyCollection([_unarr(v) for v in p["verts"]], closed=False,
                                 facecolors=p["color"],
                                 edgecolors=p["edgecolor"], alpha=p["alpha"], label=p["label"])
        else:
            col = LineCollection([_unarr(v) for v in p["segments"]], colors=p["color"],
                                 alpha=p["alpha"], label=p["label"])
        ax.add_collection(col)
    for im in a["images"]:
        ax.imshow(_unarr(im["data"]), extent=tuple(_unarr(im["extent"])), cmap=im["cmap"],
                  origin=im["origin"], vmin=_unarr(im["clim"])[0], vmax=_unarr(im["clim"])[1],
                  aspect="auto")
    for t in a["texts"]:
        ax.text(t["x"], t["y"], t["text"], fontsize=t["fontsize"], color=t["color"],
                ha=t["ha"], va=t["va"], transform=ax.transAxes if t["coords"] == "axes"
                else ax.transData)
    if a["title"]:
        ax.set_title(a["title"], fontsize=9)
    ax.set_xlabel(a["xlabel"])
    ax.set_ylabel(a["ylabel"])
    ax.set_xscale(a["xscale"])
    ax.set_yscale(a["yscale"])
    for name, setter, lab in (("xticks", ax.set_xticks, ax.set_xticklabels),
                              ("yticks", ax.set_yticks, ax.set_yticklabels)):
        t = a.get(name)
        if t:
            setter(_unarr(t["ticks"]) if t["ticks"] != [] else [])
            if "labels" in t:
                lab(t["labels"])
    xl, yl = _unarr(a["xlim"]), _unarr(a["ylim"])
    if np.all(np.isfinite(xl)):
        ax.set_xlim(*xl)
    if np.all(np.isfinite(yl)):
        ax.set_ylim(*yl)
    if a.get("legend"):
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        lg = a["legend"]
        handles = []
        for e in lg["entries"]:
            if e["type"] == "patch":
                handles.append(Patch(facecolor=e["color"], edgecolor=e["edgecolor"]))
            else:
                handles.append(Line2D([], [], color=e["color"], ls=e["ls"], lw=e["lw"],
                                      marker=None if e["marker"] == "None" else e["marker"],
                                      ms=e["ms"]))
        ax.legend(handles, [e["text"] for e in lg["entries"]], fontsize=lg["fontsize"],
                  frameon=lg["frameon"], loc=lg["loc"])
